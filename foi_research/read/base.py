"""The document model every reader produces and the parser consumes: a Document is a sequence of
rows, each with its source line; a table row holds cells, merged cells as span placeholders so
that a value keeps its column. Every row keeps the raw text as printed and a normalised copy
(reference/normalize.py) used for matching."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from foi_research.reference.normalize import clean_text


@dataclass(slots=True)
class Cell:
    raw: str
    norm: str
    line: int
    span: bool = False  # placeholder for a merged (colspan/rowspan) cell


@dataclass(slots=True)
class Row:
    line: int
    raw: str
    norm: str
    cells: list[Cell] | None = None  # set for table rows; text rows are split on demand
    kind: str = "text"  # 'text' or 'table'


@dataclass
class Document:
    path: Path
    fmt: str
    rows: list[Row] = field(default_factory=list)
    encoding: str | None = None
    traditional: bool = False
    sha1: str = ""
    problems: list[str] = field(default_factory=list)
    fatal: str | None = None
    ocr_pages: list[int] = field(default_factory=list)  # 1-based pages whose text was read by OCR


Item = tuple[str, "list[tuple[str, bool]] | None"]
"""What a layout reader (Word, PDF, Excel, OCR) collects: (text, None) for a text line, ('', cells)
for a table row with cells as (text, is_span_placeholder)."""


def rows_from_items(items: list[Item], traditional: bool, split_lines: bool = False) -> list[Row]:
    """Rows numbered by item (line = the item's 1-based position); text items split on newlines
    when split_lines (Word paragraphs with line breaks)."""
    rows = []
    for i, (txt, cells) in enumerate(items, start=1):
        if cells is None:
            for part in txt.split("\n") if split_lines else (txt,):
                rows.append(Row(i, part, clean_text(part, traditional)))
        else:
            cs = [Cell(r, clean_text(r, traditional).strip(), i, span) for r, span in cells]
            rows.append(Row(i, "\t".join(c.raw for c in cs), "\t".join(c.norm for c in cs), cs, "table"))
    return rows
