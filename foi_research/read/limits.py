"""Reader-level limits: how big a document the readers accept before they refuse it with a
failed row that names the limit and how to raise it. They guard against files that would take
all the memory or time of a run (a decompression bomb inside a .docx, a 10,000-page PDF, an HTML
table of a billion cells), not against ordinary large reports, which are far below them.

    from foi_research.read import read
    from foi_research.read.limits import Limits
    doc = read(path, Limits(max_pdf_pages=2000))

Time and memory limits per file (a worker that hangs or grows) live in executor.py.
"""
from __future__ import annotations

from dataclasses import dataclass

MB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 200 * MB
    """Size of the file on disk. Real annual reports are 20 KB-20 MB (scanned PDFs the largest)."""
    max_pdf_pages: int = 1000
    """Pages of a PDF. Reports run 3-30 pages; yearbooks bundling every agency a few hundred."""
    max_unzipped_bytes: int = 500 * MB
    """Decompressed bytes of all the parts of a .docx/.xlsx (zip) file, counted while they are
    inflated (the sizes a zip declares are not trusted): a deflate bomb stops here."""
    max_table_cells: int = 200_000
    """Cells of one table once merged cells are expanded (a 2021 table 3 has about 280)."""
    max_text_chars: int = 50_000_000
    """Characters of text in one document (a 300-page report has about a million)."""

    def describe(self, name: str) -> str:
        return f"Limits.{name} = {getattr(self, name):,}"


DEFAULT = Limits()


# the command-line option of each limit (parse, build, all; cli.file_limits)
OPTIONS = {
    "max_file_bytes": "--max-file-mb",
    "max_pdf_pages": "--max-pages",
    "max_unzipped_bytes": "--max-unzipped-mb",
    "max_table_cells": "--max-cells",
    "max_text_chars": "--max-text-chars",
}


class LimitExceeded(ValueError):
    """A document is past one of the Limits; the message says which and how to raise it."""

    def __init__(self, name: str, what: str, limits: Limits):
        self.limit = name
        super().__init__(
            f"{what}, over the reader limit {limits.describe(name)}; if the file is genuine, raise it: "
            f"{OPTIONS.get(name, '')} on the command line, or read(path, Limits({name}=...)) from Python (foi_research.read.limits)"
        )


def check(limits: Limits, name: str, value: int, what: str) -> None:
    """Raise LimitExceeded when value is past limits.<name>; `what` describes the value."""
    if value > getattr(limits, name):
        raise LimitExceeded(name, what, limits)


__all__ = ["Limits", "LimitExceeded", "DEFAULT", "check", "MB"]
