"""HTML pages (any encoding, declared or not): text blocks become text rows; data tables become
rows of cells, colspan/rowspan expanded into span placeholders; layout tables (one cell, or a few
cells of which one holds a whole paragraph) are read as text."""
from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

from foi_research.read.base import Cell, Document, Row
from foi_research.read.limits import DEFAULT, Limits, check
from foi_research.read.text import decode
from foi_research.reference.normalize import clean_lines, looks_traditional

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)

_BLOCK = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dd", "dt", "section",
    "article", "header", "footer", "blockquote", "pre", "center", "nav", "aside", "main", "figure",
    "figcaption", "address", "hr", "form", "fieldset", "tr", "td", "th", "caption", "tbody", "thead",
}
_HTML_WS = re.compile(r"[ \t\r\n]+")
_SKIP = {"script", "style", "noscript", "head", "template", "svg", "iframe", "select", "option", "button", "textarea"}


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_CELL_WS = re.compile(r"[ \t\r\n\u00a0\u3000]+")


class _Lxml(NamedTuple):
    etree: Any
    parser: Any  # lxml.html's parser without its per-element Python class lookup
    tables: Any  # XPath: the tables inside an element
    cells: Any  # XPath: the cells of a table
    rows: Any  # XPath: the rows of a table


@functools.lru_cache(maxsize=1)
def _lxml() -> _Lxml:
    """lxml's etree, an HTML parser and the compiled XPath expressions the reader uses (only the
    plain element API is used here; lxml.html.document_fromstring is reproduced in _read_html)."""
    from lxml import etree

    return _Lxml(
        etree,
        etree.HTMLParser(collect_ids=False),  # (no id table: ids are never looked up)
        etree.XPath(".//table"),
        etree.XPath(".//td|.//th"),
        etree.XPath("./tr|./thead/tr|./tbody/tr|./tfoot/tr"),
    )


def read_html(doc: Document, data: bytes, limits: Limits = DEFAULT) -> None:
    lx = _lxml()
    etree, parser, has_table = lx.etree, lx.parser, lx.tables

    m = _META_CHARSET.search(data[:8192])
    text, enc = decode(data, m.group(1).decode("ascii", "ignore") if m else None)
    doc.encoding = enc
    check(limits, "max_text_chars", len(text), f"the page has {len(text):,} characters")
    text = _XML_DECL.sub("", text)
    root = etree.fromstring(text, parser)  # as lxml.html.document_fromstring
    if root is None:
        raise etree.ParserError("Document is empty")
    out: list[tuple[int, str, list[tuple[str, int, bool]] | None]] = []
    buf: list[str] = []
    buf_line = [0]

    def flush():
        s = "".join(buf).strip()
        if s:
            for part in s.split("\n"):
                if part.strip():
                    out.append((buf_line[0], part.strip(), None))
        buf.clear()

    def add(s: str | None, line: int):
        if s:
            if s != "\n":
                s = _HTML_WS.sub(" ", s)
            if not buf:
                buf_line[0] = line
            buf.append(s)

    def walk(el):
        tag = el.tag if isinstance(el.tag, str) else None
        line = el.sourceline or 0
        if tag is None:  # comment or processing instruction
            add(el.tail, line)
            return
        tag = tag.lower()
        if tag in _SKIP:
            add(el.tail, line)
            return
        if tag == "table" and not has_table(el) and _is_data_table(el, texts := {}):
            flush()
            for cells in _html_table(el, texts, limits):
                out.append((cells[0][1] if cells else line, "", cells))
            add(el.tail, line)
            return
        if tag == "br":
            add("\n", line)
            add(el.tail, line)
            return
        block = tag in _BLOCK or tag == "table"
        if block:
            flush()
        add(el.text, line)
        for ch in el:
            walk(ch)
        if block:
            flush()
        add(el.tail, line)

    body = root.find("body")
    walk(body if body is not None else root)
    flush()
    sample = "".join(t for _, t, c in out if c is None)[:4000] + "".join(
        c[0] for _, _, cs in out if cs for c in cs[:3]
    )
    doc.traditional = looks_traditional(sample)
    texts = []
    cols = []  # each table row's cells as columns: raw texts, lines, span flags
    for _, txt, cells in out:
        if cells is None:
            texts.append(txt)
        elif cells:
            c = tuple(zip(*cells))
            cols.append(c)
            texts.extend(c[0])
    norms = clean_lines(texts, doc.traditional)
    rows = []
    k = 0
    next_cols = iter(cols).__next__
    for line, txt, cells in out:
        if cells is None:
            rows.append(Row(line, txt, norms[k]))
            k += 1
        elif cells:
            raws, lns, spans = next_cols()
            m = k + len(raws)
            ns = list(map(str.strip, norms[k:m]))
            k = m
            rows.append(Row(line, "\t".join(raws), "\t".join(ns), list(map(Cell, raws, ns, lns, spans)), "table"))
        else:  # a table row without cells
            rows.append(Row(line, "", "", [], "table"))
    doc.rows = rows


def _is_data_table(table, texts: dict | None = None) -> bool:
    """A table used for page layout (one cell, or a few cells of which one holds a whole
    paragraph) is read as blocks of text, not as a grid; a table of more than 20 cells is always
    a grid. `texts` receives the text of every cell read here (for _html_table)."""
    cells = _lxml().cells(table)
    if len(cells) < 2:
        return False
    if len(cells) > 20:
        return True  # whatever its cells hold (their texts are read by _html_table)
    if texts is None:
        texts = {}
    longest = 0
    for c in cells:
        t = texts[c] = _cell_text(c)
        if len(t) > longest:
            longest = len(t)
    return longest <= 400


def _cell_text(td) -> str:
    if len(td):  # markup or comments inside: "".join(td.itertext()), serialised in C
        text = _lxml().etree.tostring(td, method="text", encoding="unicode", with_tail=False)
    else:  # text only (most cells): the same string, without a serialisation
        text = td.text or ""
    if " " not in text and text.isprintable():
        return text  # no whitespace at all (any other is not printable): nothing to change
    return _CELL_WS.sub(" ", text).strip()


def _span(a: str | None, cap: int) -> int:
    """A colspan/rowspan attribute as a count from 1 to cap (1 when absent or not a number)."""
    try:
        n = max(1, int(a or 1))
    except ValueError:
        n = 1
    return min(n, cap)


def _fill_carried(carry: dict[int, int], col: int, line: int, append) -> int:
    """Append a blank spanned cell for every column from `col` on that a rowspan from above still
    covers, counting the carry down; returns the next free column."""
    while col in carry:
        append(("", line, True))
        left = carry[col] - 1
        if left:
            carry[col] = left
        else:
            del carry[col]
        col += 1
    return col


def _html_table(table, texts: dict | None = None, limits: Limits = DEFAULT) -> list[list[tuple[str, int, bool]]]:
    """Expand a table into a grid; merged cells become span placeholders. `texts`: cell texts
    already read (by _is_data_table). A colspan counts at most 50 columns and a rowspan 200 rows;
    a table past Limits.max_table_cells stops the reading."""
    if texts is None:
        texts = {}
    text_of = texts.get
    trs = _lxml().rows(table)
    grid: list[list[tuple[str, int, bool]]] = []
    carry: dict[int, int] = {}  # column -> rows still covered by a rowspan from above (>= 1)
    ncells = 0
    for tr in trs:
        row: list[tuple[str, int, bool]] = []
        append = row.append
        col = 0
        line = tr.sourceline or 0
        for td in tr.iterchildren("td", "th"):  # (the HTML parser gives tags in lower case)
            if col in carry:  # columns covered from above come first
                col = _fill_carried(carry, col, line, append)
            a = td.get("colspan")
            cs = 1 if a is None else _span(a, 50)
            a = td.get("rowspan")
            rs = 1 if a is None else _span(a, 200)
            txt = text_of(td)
            tdline = td.sourceline or line
            append((_cell_text(td) if txt is None else txt, tdline, False))
            for k in range(cs):
                if k:
                    append(("", tdline, True))
                if rs > 1:
                    carry[col + k] = rs - 1
            col += cs
        if col in carry:
            col = _fill_carried(carry, col, line, append)
        grid.append(row)
        ncells += len(row)
        if ncells > limits.max_table_cells:
            check(limits, "max_table_cells", ncells, f"a table on line {tr.sourceline or 0} has more than {ncells:,} cells")
    return grid
