"""Read any supported file into a Document: a sequence of rows, each with its source line.

Plain text becomes one row per physical line (split into cells later, by tabs, pipes or trailing
numbers). HTML, Word and PDF tables become rows of cells with merged cells expanded into
placeholders, so that a value keeps its column. Every row keeps the raw text as printed and a
normalised copy (see normalize.py) used for matching.

Reading never raises for bad input: problems are returned in Document.problems, and a document
that cannot be read at all has no rows and `fatal` set to a message saying why and what to do.
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from foi_research.reference.normalize import clean_lines, clean_text, looks_traditional

TEXT_EXT = {".txt", ".text"}
HTML_EXT = {".html", ".htm", ".shtml", ".xhtml", ".jhtml", ".asp", ".aspx", ".jsp", ".php"}
DOCX_EXT = {".docx"}
PDF_EXT = {".pdf"}
SUPPORTED = TEXT_EXT | HTML_EXT | DOCX_EXT | PDF_EXT


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


# ---------------------------------------------------------------------------------------------
# Bytes -> str


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs"}


_NOT_CTRL = bytes(b for b in range(256) if not (b < 9 or (13 < b < 32 and b != 27)))
# the characters _plausible() rejects
_IMPLAUSIBLE = re.compile("[^\u4e00-\u9fff\x20-\x7e\n\r\t\u3000\xa0\u3000-\u303f\uff00-\uffef\u2000-\u206f\xb7\xd7]+")


def _looks_binary(data: bytes) -> bool:
    head = data[:4096]
    if not head:
        return False
    if head.startswith((b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return True
    ctrl = len(head.translate(None, _NOT_CTRL))  # bytes < 9 or 14..31 except 27
    return ctrl > len(head) * 0.05


def _plausible(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0x20 <= o < 0x7F
        or ch in "\n\r\t\u3000\xa0"
        or 0x3000 <= o <= 0x303F  # CJK punctuation
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
        or 0x2000 <= o <= 0x206F  # general punctuation (quotes, dashes)
        or o in (0xB7, 0xD7)
    )


def decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes of a Chinese document. Returns (text, encoding). Raises ValueError with a
    readable reason when no encoding fits."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if declared:
        enc = _ALIASES.get(declared.lower(), declared.lower())
        try:
            return data.decode(enc), enc
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-16 without BOM: the decoded text must look like Chinese prose (CJK, ASCII, punctuation)
    if len(data) % 2 == 0:
        best = None
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                t = data.decode(enc)
            except UnicodeDecodeError:
                continue
            sample = t[:4000]
            good = len(_IMPLAUSIBLE.sub("", sample))  # characters that are _plausible()
            if sample and good / len(sample) > 0.97 and (best is None or good > best[0]):
                best = (good, t, enc)
        if best:
            return best[1], best[2]
    if _looks_binary(data):
        raise ValueError("this looks like a binary file, not text")
    from charset_normalizer import from_bytes

    best = from_bytes(
        data, cp_isolation=["gb18030", "big5hkscs", "utf_8", "utf_16", "hz", "cp950", "euc_jp"]
    ).best()
    if best is None:
        for enc in ("gb18030", "big5hkscs"):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                continue
        raise ValueError("no text encoding fits (tried UTF-8, UTF-16, GB18030, Big5)")
    enc = _ALIASES.get(best.encoding, best.encoding)
    return str(best), enc


# ---------------------------------------------------------------------------------------------
# Readers


def read(path: str | Path) -> Document:
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = (
        "html" if suffix in HTML_EXT else "docx" if suffix in DOCX_EXT else "pdf" if suffix in PDF_EXT else "txt"
    )  # anything else is tried as text (and detected as HTML/PDF/Word by its content)
    doc = Document(path=path, fmt=fmt)
    try:
        with open(path, "rb", buffering=0) as f:  # path.read_bytes(), unbuffered: fewer system calls
            data = f.readall()
    except OSError as e:
        doc.fatal = f"cannot open the file ({e.strerror or e}); check the path and permissions"
        return doc
    doc.sha1 = hashlib.sha1(data).hexdigest()
    if not data.strip():
        doc.fatal = "the file is empty; re-download or re-scrape it"
        return doc
    if fmt == "txt" and data.lstrip()[:1] == b"<" and re.search(rb"<(?:html|body|table|p|div)[\s>]", data[:20000], re.I):
        fmt = doc.fmt = "html"
    if fmt == "txt" and data.startswith(b"%PDF"):
        fmt = doc.fmt = "pdf"
    if fmt == "txt" and data.startswith(b"PK\x03\x04"):
        fmt = doc.fmt = "docx"
    try:
        if fmt == "html":
            _read_html(doc, data)
        elif fmt == "docx":
            _read_docx(doc)
        elif fmt == "pdf":
            _read_pdf(doc)
        else:
            _read_text(doc, data)
    except ValueError as e:
        doc.fatal = str(e)
    except Exception as e:  # a broken file must never stop the run
        doc.fatal = f"could not read the {fmt.upper()} file ({type(e).__name__}: {e})"
    if doc.fatal:
        doc.rows = []
    elif not any(r.norm.strip() for r in doc.rows):
        doc.fatal = doc.fatal or "the file holds no text"
    return doc


def _read_text(doc: Document, data: bytes) -> None:
    text, enc = decode(data)
    doc.encoding = enc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise ValueError("the text contains NUL bytes: it is binary or a mis-detected encoding")
    doc.traditional = looks_traditional(text)
    raw_lines = text.split("\n")
    try:
        # the document cleaned line by line: what cleaning it whole and splitting it gives
        norm_lines = clean_lines(raw_lines, doc.traditional)
    except Exception:
        norm = clean_text(text, doc.traditional)
        norm_lines = norm.split("\n")
        if len(raw_lines) != len(norm_lines):  # normalisation never adds or removes newlines
            norm_lines = [clean_text(x, doc.traditional) for x in raw_lines]
    doc.rows = list(map(Row, range(1, len(raw_lines) + 1), raw_lines, norm_lines))


# --- HTML -------------------------------------------------------------------------------------

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


def _read_html(doc: Document, data: bytes) -> None:
    lx = _lxml()
    etree, parser, has_table = lx.etree, lx.parser, lx.tables

    m = _META_CHARSET.search(data[:8192])
    text, enc = decode(data, m.group(1).decode("ascii", "ignore") if m else None)
    doc.encoding = enc
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
            for cells in _html_table(el, texts):
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
    # walk refers to itself through its closure: a reference cycle that would keep `out` and
    # every row in it alive until the cyclic collector runs. Emptying the cell breaks it.
    del walk
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


def _html_table(table, texts: dict | None = None) -> list[list[tuple[str, int, bool]]]:
    """Expand a table into a grid; merged cells become span placeholders. `texts`: cell texts
    already read (by _is_data_table)."""
    if texts is None:
        texts = {}
    text_of = texts.get
    trs = _lxml().rows(table)
    grid: list[list[tuple[str, int, bool]]] = []
    carry: dict[int, int] = {}  # column -> rows still covered by a rowspan from above (>= 1)
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
    return grid


# --- DOCX -------------------------------------------------------------------------------------


def _read_docx(doc: Document) -> None:
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    d = docx.Document(str(doc.path))
    items: list[tuple[str, list[tuple[str, bool]] | None]] = []

    def visit(container):
        for child in container.iterchildren():
            if child.tag == qn("w:p"):
                items.append((Paragraph(child, d).text, None))
            elif child.tag == qn("w:tbl"):
                t = Table(child, d)
                above: list = []
                for r in t.rows:
                    tcs = [c._tc for c in r.cells]
                    cells = []
                    for j, c in enumerate(r.cells):
                        span = (j > 0 and tcs[j] is tcs[j - 1]) or (j < len(above) and above[j] is tcs[j])
                        cells.append((" ".join(c.text.split()), span))
                    above = tcs
                    items.append(("", cells))
            elif child.tag == qn("w:sdt"):
                content = child.find(qn("w:sdtContent"))
                if content is not None:
                    visit(content)

    visit(d.element.body)
    sample = "".join(t for t, c in items if c is None)[:4000] + "".join(
        x[0] for _, c in items if c for x in c[:3]
    )
    doc.traditional = looks_traditional(sample)
    rows = []
    for i, (txt, cells) in enumerate(items, start=1):
        if cells is None:
            for part in txt.split("\n"):
                rows.append(Row(i, part, clean_text(part, doc.traditional)))
        else:
            cs = [Cell(r, clean_text(r, doc.traditional).strip(), i, span) for r, span in cells]
            rows.append(Row(i, "\t".join(c.raw for c in cs), "\t".join(c.norm for c in cs), cs, "table"))
    doc.encoding = "docx"
    doc.rows = rows


# --- PDF --------------------------------------------------------------------------------------


def _read_pdf(doc: Document) -> None:
    import logging

    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    items: list[tuple[str, list[tuple[str, bool]] | None]] = []
    nchars = 0
    with pdfplumber.open(str(doc.path)) as pdf:
        for page in pdf.pages:
            nchars += len(page.chars)
            if not page.chars:
                continue
            tables = page.find_tables()
            boxes = [t.bbox for t in tables]

            def outside(obj, boxes=boxes):
                x0, top, x1, bottom = obj.get("x0", 0), obj.get("top", 0), obj.get("x1", 0), obj.get("bottom", 0)
                return not any(b[0] - 1 <= x0 and x1 <= b[2] + 1 and b[1] - 1 <= top and bottom <= b[3] + 1 for b in boxes)

            rest = page.filter(outside) if boxes else page
            placed: list[tuple[float, int, str, list | None]] = []
            for k, ln in enumerate(rest.extract_text_lines(layout=False)):
                placed.append((ln["top"], k, ln["text"], None))
            for k, t in enumerate(tables):
                rows = t.extract()
                for j, r in enumerate(rows):
                    cells = [((c or "").replace("\n", ""), c is None) for c in r]
                    placed.append((t.bbox[1] + j * 0.001, 10_000 + k * 1000 + j, "", cells))
            placed.sort(key=lambda x: (x[0], x[1]))
            for _, _, txt, cells in placed:
                items.append((txt, cells))
    if nchars == 0:
        raise ValueError(
            "the PDF has no text layer (it is a scanned image); run OCR first, e.g. `ocrmypdf in.pdf out.pdf`, then parse the OCR'd file"
        )
    sample = "".join(t for t, c in items if c is None)[:4000]
    doc.traditional = looks_traditional(sample)
    rows = []
    for i, (txt, cells) in enumerate(items, start=1):
        if cells is None:
            rows.append(Row(i, txt, clean_text(txt, doc.traditional)))
        else:
            cs = [Cell(r, clean_text(r, doc.traditional).strip(), i, span) for r, span in cells]
            rows.append(Row(i, "\t".join(c.raw for c in cs), "\t".join(c.norm for c in cs), cs, "table"))
    doc.encoding = "pdf"
    doc.rows = rows
