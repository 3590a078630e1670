"""The command line: a thin front over the library.

Owns argument parsing, progress display and printing. It calls ``pipeline``, ``knowledge`` and
``llm``; it must hold no business rules (no prompts, no consensus logic, no SQL).
"""

from dissensus.cli.main import app

__all__ = ["app"]
