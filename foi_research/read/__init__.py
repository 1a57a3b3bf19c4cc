"""Stage 1, reading documents: any file researchers bring (text in any common Chinese encoding,
HTML, Word .docx, PDF with a text layer or scanned, Excel .xlsx/.xls statistics tables; .doc/.wps
through a converter) becomes a Document: rows of text and table cells, each with its source line.

    from foi_research.read import read, kind_of
    doc = read(path)                   # never raises for bad input: doc.fatal says why
    doc = read(path, Limits(...))      # reader limits (read/limits.py)

One module per format: text.py (and decode), html.py, docx.py, pdf.py (PDFium), xlsx.py, ocr.py
(scanned pages, optional extra), convert.py (.doc/.wps); base.py holds the model, limits.py the
limits. Heavy libraries are imported when a file of their format is read.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from foi_research.read.base import Cell, Document, Row
from foi_research.read.limits import DEFAULT, LimitExceeded, Limits, check

TEXT_EXT = {".txt", ".text", ".md", ".markdown"}
HTML_EXT = {".html", ".htm", ".shtml", ".xhtml", ".jhtml", ".asp", ".aspx", ".jsp", ".php"}
DOCX_EXT = {".docx", ".docm"}
PDF_EXT = {".pdf"}
XLSX_EXT = {".xlsx", ".xlsm", ".xls", ".ods"}
CONVERT_EXT = {".doc", ".wps", ".rtf", ".odt", ".wpt", ".dot"}
SUPPORTED = TEXT_EXT | HTML_EXT | DOCX_EXT | PDF_EXT | XLSX_EXT | CONVERT_EXT
"""Suffixes read as reports (.doc/.wps/.rtf/.odt through a converter when one is installed)."""

NOT_REPORTS = {
    ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".svg", ".ico",
    ".zip", ".rar", ".7z", ".gz", ".tar", ".bz2", ".xz",
    ".mp3", ".mp4", ".avi", ".mov", ".wav", ".exe", ".dll", ".so", ".bin",
    ".css", ".js", ".json", ".xml", ".csv", ".ppt", ".pptx", ".ofd", ".ceb",
}
"""Suffixes that are never an annual report as such; a file in a folder with one of them gets a
row saying so (images: OCR them into a PDF first; archives: unpack them)."""


def kind_of(path: str | os.PathLike) -> str:
    """'report' for a format the readers take, 'not_report' for a known non-report suffix,
    'unknown' otherwise (tried as text; it fails with a reason if it is not)."""
    s = Path(path).suffix.lower()
    if s in SUPPORTED:
        return "report"
    if s in NOT_REPORTS:
        return "not_report"
    return "unknown"


def not_report_reason(path: str | os.PathLike) -> str:
    """Why a file of this suffix is not read, and what to do (for its failed row)."""
    s = Path(path).suffix.lower()
    if s in {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}:
        return f"not a report format: a {s} image; if it is a scanned report page, put the pages in one PDF (e.g. `img2pdf *{s} -o report.pdf`) and parse that (scanned PDFs need the OCR extra)"
    if s in {".zip", ".rar", ".7z", ".gz", ".tar", ".bz2", ".xz"}:
        return f"not a report format: a {s} archive; unpack it and parse the folder"
    if s in {".ofd", ".ceb"}:
        return f"not a report format the readers take: {s} (a Chinese e-document format); export it to PDF and parse that"
    if s in {".ppt", ".pptx"}:
        return f"not a report format: a {s} presentation; save it as PDF if it holds a report"
    return f"not a report format: {s or 'no suffix'} files are not read"


_HTML_SNIFF = re.compile(rb"<(?:html|body|table|p|div)[\s>]", re.I)


def sniff(data: bytes, suffix_fmt: str) -> str:
    """The format a file's first bytes show (a PDF named .txt, a .docx saved as .doc, ...)."""
    if data.startswith(b"%PDF") or data[:1024].lstrip().startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        if suffix_fmt in ("xlsx",):
            return "xlsx"
        head = data[:65536]
        if b"xl/" in head and b"word/" not in head:
            return "xlsx"
        return "docx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: .doc, .xls, .wps (older), ...
        return "xlsx" if suffix_fmt == "xlsx" else "ole"
    if suffix_fmt == "txt" and data.lstrip()[:1] == b"<" and _HTML_SNIFF.search(data[:20000]):
        return "html"
    return suffix_fmt


def _suffix_fmt(suffix: str) -> str:
    if suffix in HTML_EXT:
        return "html"
    if suffix in DOCX_EXT:
        return "docx"
    if suffix in PDF_EXT:
        return "pdf"
    if suffix in XLSX_EXT:
        return "xlsx"
    if suffix in CONVERT_EXT:
        return "ole"
    return "txt"  # anything else is tried as text (and detected as HTML/PDF/Word by its content)


def read(path: str | os.PathLike, limits: Limits | None = None) -> Document:
    """Read one file. Never raises for bad input: a document that cannot be read has no rows and
    `fatal` set to a message saying why and what to do."""
    limits = limits or DEFAULT
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = _suffix_fmt(suffix)
    doc = Document(path=path, fmt=fmt if fmt != "ole" else suffix.lstrip("."))
    try:
        with open(path, "rb", buffering=0) as f:  # unbuffered: fewer system calls
            size = os.fstat(f.fileno()).st_size
            check(limits, "max_file_bytes", size, f"the file is {size:,} bytes")
            data = f.readall()
    except LimitExceeded as e:
        doc.fatal = str(e)
        return doc
    except OSError as e:
        doc.fatal = f"cannot open the file ({e.strerror or e}); check the path and permissions"
        return doc
    doc.sha1 = hashlib.sha1(data).hexdigest()
    if not data.strip():
        doc.fatal = "the file is empty; re-download or re-scrape it"
        return doc
    real = sniff(data, fmt)
    if real != fmt:
        fmt = real
        doc.fmt = real if real != "ole" else (suffix.lstrip(".") or "doc")
    try:
        if fmt == "html":
            from foi_research.read.html import read_html

            read_html(doc, data, limits)
        elif fmt == "docx":
            from foi_research.read.docx import read_docx

            read_docx(doc, data, limits)
        elif fmt == "pdf":
            from foi_research.read.pdf import read_pdf

            read_pdf(doc, data, limits)
        elif fmt == "xlsx":
            from foi_research.read.xlsx import read_xlsx

            read_xlsx(doc, data, limits)
        elif fmt == "ole":
            from foi_research.read.convert import read_converted

            read_converted(doc, data, limits)
        else:
            from foi_research.read.text import read_text

            read_text(doc, data, limits)
    except ValueError as e:  # includes LimitExceeded: the reader's own message
        doc.fatal = str(e)
    except MemoryError:
        doc.fatal = f"ran out of memory reading the {fmt.upper()} file; lower the number of workers or split the file"
    except Exception as e:  # a broken file must never stop the run
        doc.fatal = f"could not read the {fmt.upper()} file ({type(e).__name__}: {e})"
    if doc.fatal:
        doc.rows = []
    elif not any(r.norm.strip() for r in doc.rows):
        doc.fatal = doc.fatal or "the file holds no text"
    return doc


def decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes of a Chinese document (see read/text.py)."""
    from foi_research.read.text import decode as _decode

    return _decode(data, declared)


__all__ = [
    "Cell", "Row", "Document", "Limits", "LimitExceeded", "read", "decode", "kind_of", "not_report_reason",
    "SUPPORTED", "NOT_REPORTS", "TEXT_EXT", "HTML_EXT", "DOCX_EXT", "PDF_EXT", "XLSX_EXT", "CONVERT_EXT",
]
