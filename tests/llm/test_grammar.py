"""The whitespace-free grammar the local engine decodes JSON with."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from dissensus.llm import EngineOptions
from dissensus.llm._grammar import _literal, compact_grammar
from dissensus.llm.local import LocalLLM, open_local

pytestmark = pytest.mark.anyio


class Inner(BaseModel):
    verdict: Literal["ok", "wrong"]
    note: str = Field(max_length=5)


class Outer(BaseModel):
    brand: Literal['8" Chef', "back\\slash", "n/a"]
    flag: bool
    count: int
    inner: Inner
    maybe: str | None = Field(max_length=3)


def test_grammar_covers_our_output_shapes_with_no_free_whitespace() -> None:
    grammar = compact_grammar(Outer.model_json_schema())
    assert grammar is not None
    assert grammar.startswith("root ::= root-value\n")
    # Keys are fixed literals with the comma glued on; no rule admits spaces or newlines.
    assert '",\\"flag\\":"' in grammar
    assert '"\\"8\\\\\\" Chef\\""' in grammar  # JSON "8\" Chef" as a GBNF literal
    assert "char{0,5}" in grammar and "char{0,3}" in grammar
    assert "space" not in grammar and "[ \\t\\n]" not in grammar


def test_unsupported_shapes_fall_back_to_llama_cpp() -> None:
    assert compact_grammar({"type": "string", "pattern": "^a+$"}) is None
    assert compact_grammar({"type": "object"}) is None  # free-form object
    assert compact_grammar({"$ref": "#/definitions/X"}) is None


@given(st.text(max_size=30))
def test_literal_escapes_round_trip(text: str) -> None:
    literal = _literal(text)
    assert literal.startswith('"') and literal.endswith('"')
    body = literal[1:-1]
    # Every quote and backslash in the text is escaped, so the literal cannot end early.
    unescaped = body.replace("\\\\", "").replace('\\"', "")
    assert '"' not in unescaped


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLLM]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DISSENSUS_HOME", str(tmp_path_factory.mktemp("home")))
        llm = open_local("gemma3-270m", options=EngineOptions(parallel=1))
    yield llm
    asyncio.run(llm.aclose())


@pytest.mark.embedded
async def test_gemma_decodes_tricky_enum_values_through_the_grammar(gemma: LocalLLM) -> None:
    answer = await gemma.structured(
        Outer,
        system="Fill the JSON fields for this product.",
        prompt='Product: 8" Chef knife, back\\slash edition, 3 pieces',
        max_tokens=80,
    )
    assert answer.error is None, answer.error
    assert isinstance(answer.output, Outer)
    assert answer.output.brand in {'8" Chef', "back\\slash", "n/a"}
    # No whitespace to spend tokens on: the answer fits well within the cap.
    assert answer.usage.output_tokens <= 60
