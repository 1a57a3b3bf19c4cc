"""PDF files, read with PDFium (pypdfium2): characters with their boxes and the page's ruling
lines come from PDFium's compiled parser (about 20x faster than pdfminer's pure-Python one);
tables are found and text lines formed by pdfplumber's algorithms (TableFinder: ruling lines ->
intersections -> cells -> tables; WordExtractor/TextMap: characters -> words -> lines), fed with
PDFium's objects in the form pdfminer gives them, so that the tables are the ones pdfplumber
finds (tests/test_read_golden.py checks it on the real and generated PDFs).

Text lines outside tables become text rows; each table row becomes a row of cells (a merged
cell's covered positions are span placeholders), in reading order (top to bottom) page by page.
Pages without a text layer (scans) are read by OCR when the `ocr` extra is installed (read/ocr.py).
"""
from __future__ import annotations

import ctypes
from bisect import bisect_right

from foi_research.read.base import Document, Item, rows_from_items
from foi_research.read.limits import DEFAULT, Limits, check
from foi_research.reference.normalize import looks_traditional

_PATH, _FORM, _IMAGE = 2, 5, 3  # FPDF_PAGEOBJ_*
_LINETO, _BEZIERTO, _MOVETO = 0, 1, 2  # FPDF_SEGMENT_*


_FONT_DIRS = ("/usr/share/fonts", "/usr/share/X11/fonts/Type1", "/usr/share/X11/fonts/TTF", "/usr/local/share/fonts")
_ready = False


def pdfium():
    """pypdfium2, with PDFium given a Chinese font (Noto Sans SC of the pylopdf-fonts-zh-cn
    dependency) beside the system fonts. PDFium drops a text object that repeats the previous one
    at the same place when it cannot measure its glyphs (a CJK font that is not embedded and not
    installed, e.g. STSong-Light or SimSun): a table's repeated unit cells (条, 件) or labels
    vanished. With a font to measure them, every character is kept."""
    global _ready
    import pypdfium2

    if _ready:
        return pypdfium2
    _ready = True
    try:
        import os

        import pylopdf_fonts_zh_cn
        import pypdfium2.raw as R
        from pypdfium2 import _library_scope
        from pypdfium2.internal import bases

        if any(bases.ObjectTracker.values()) if isinstance(getattr(bases, "ObjectTracker", None), dict) else False:
            return pypdfium2  # documents are open: leave the library as it is
        dirs = [os.path.dirname(pylopdf_fonts_zh_cn.__file__), *_FONT_DIRS]
        _library_scope.destroy_lib()
        T = ctypes.POINTER(ctypes.c_char)
        global _font_bufs
        _font_bufs = [ctypes.create_string_buffer(os.fsencode(d)) for d in dirs]
        paths = (T * (len(dirs) + 1))(*[ctypes.cast(b, T) for b in _font_bufs], None)
        _font_bufs.append(paths)
        cfg = R.FPDF_LIBRARY_CONFIG(version=2, m_pUserFontPaths=ctypes.cast(paths, ctypes.POINTER(T)), m_pIsolate=None, m_v8EmbedderSlot=0)
        R.FPDF_InitLibraryWithConfig(cfg)
        bases.LIBRARY_AVAILABLE = True
    except Exception:  # pragma: no cover - an older or newer pypdfium2: keep its own set-up
        from pypdfium2.internal import bases

        if not bases.LIBRARY_AVAILABLE:
            from pypdfium2 import _library_scope

            _library_scope.init_lib()
    return pypdfium2


def read_pdf(doc: Document, data: bytes, limits: Limits = DEFAULT) -> None:
    pdfium_ = pdfium()

    try:
        pdf = pdfium_.PdfDocument(data)
    except pdfium_.PdfiumError as e:
        msg = str(e)
        if "password" in msg.lower():
            raise ValueError("the PDF is encrypted with a password; open it and save an unprotected copy") from None
        raise ValueError(f"the PDF is damaged or not a PDF ({msg}); re-download it") from None
    try:
        n = len(pdf)
        check(limits, "max_pdf_pages", n, f"the PDF has {n:,} pages")
        items: list[Item] = []
        scanned: list[int] = []  # 0-based pages without a text layer
        nchars = 0
        for i in range(n):
            page = pdf[i]
            try:
                chars, edges, bbox = _page_objects(page)
                if not chars:
                    scanned.append(i)
                    items.append(("\x00page", None))  # where OCR'd rows go, if any
                    continue
                nchars += len(chars)
                check(limits, "max_text_chars", nchars, f"the PDF has more than {nchars:,} characters")
                _page_items(chars, edges, bbox, items)
            finally:
                page.close()
        if scanned:
            _ocr_pages(doc, pdf, scanned, items, nchars == 0)
    finally:
        pdf.close()
    items = [it for it in items if it[0] != "\x00page" or it[1] is not None]
    sample = "".join(t for t, c in items if c is None)[:4000]
    doc.traditional = looks_traditional(sample)
    doc.encoding = "pdf" if not doc.ocr_pages else "pdf+ocr"
    doc.rows = rows_from_items(items, doc.traditional)


def _ocr_pages(doc: Document, pdf, scanned: list[int], items: list[Item], no_text: bool) -> None:
    """Read the pages without a text layer by OCR (the `ocr` extra), in place of their markers."""
    from foi_research.read import ocr

    pages = ", ".join(str(i + 1) for i in scanned)
    if not ocr.available():
        if no_text:
            raise ValueError(
                "the PDF has no text layer (it is a scanned image); install the OCR extra to read it: "
                f"{ocr.INSTALL_HINT}; or run OCR first (e.g. `ocrmypdf in.pdf out.pdf`) and parse the OCR'd file"
            )
        doc.problems.append(f"pages {pages} have no text layer (scanned) and were not read; install the OCR extra to read them: {ocr.INSTALL_HINT}")
        return
    out: list[Item] = []
    k = 0
    for it in items:
        if it[0] == "\x00page" and it[1] is None:
            page_no = scanned[k]
            k += 1
            got = ocr.read_page(pdf, page_no)
            if got:
                out.extend(got)
                doc.ocr_pages.append(page_no + 1)
        else:
            out.append(it)
    if no_text and not out:
        raise ValueError("the PDF has no text layer (it is a scanned image) and OCR read no text from it; check that its pages show a report")
    items[:] = out


# --- PDFium objects in pdfminer/pdfplumber's form -----------------------------------------------


class _Page:
    """What pdfplumber's TableFinder and Table read from a page."""

    __slots__ = ("chars", "edges", "bbox")

    def __init__(self, chars, edges, bbox):
        self.chars, self.edges, self.bbox = chars, edges, bbox


def _page_objects(page) -> tuple[list[dict], list[dict], tuple]:
    import pypdfium2.raw as R

    left, bottom, right, top = page.get_mediabox()
    height = top - bottom
    bbox = (left, bottom, right, top)  # as pdfplumber's page.bbox for an unrotated page
    tp = R.FPDFText_LoadPage(page.raw)
    try:
        chars = _chars(R, tp, top)
    finally:
        R.FPDFText_ClosePage(tp)
    if not chars:
        return chars, [], bbox
    lines: list[dict] = []
    rects: list[dict] = []
    curves: list[dict] = []
    identity = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    n = R.FPDFPage_CountObjects(page.raw)
    for k in range(n):
        _visit(R, R.FPDFPage_GetObject(page.raw, k), identity, top, lines, rects, curves)
    edges = [_line_edge(x) for x in lines]
    for r in rects:
        edges.extend(_rect_edges(r))
    for c in curves:
        edges.extend(_curve_edges(c))
    del height
    return chars, edges, (0, 0, right - left, top - bottom)


def _chars(R, tp, top: float) -> list[dict]:
    n = R.FPDFText_CountChars(tp)
    if n <= 0:
        return []
    buf = ctypes.create_string_buffer((n + 1) * 2)
    got = R.FPDFText_GetText(tp, 0, n, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
    text = buf.raw[: max(0, got - 1) * 2].decode("utf-16-le", errors="replace")
    if len(text) != n:  # characters outside the BMP: read one by one
        text = None
    rect = R.FS_RECTF()
    m = R.FS_MATRIX()
    prect, pm = ctypes.byref(rect), ctypes.byref(m)
    out = []
    for i in range(n):
        if R.FPDFText_IsGenerated(tp, i) == 1:  # spaces and line breaks PDFium inferred
            continue
        ch = text[i] if text is not None else chr(R.FPDFText_GetUnicode(tp, i))
        if ch in "\r\n" or ch == "\ufffe" or ch == "\x00":
            continue
        R.FPDFText_GetLooseCharBox(tp, i, prect)
        R.FPDFText_GetMatrix(tp, i, pm)
        size = R.FPDFText_GetFontSize(tp, i)
        a, b, c, d = m.a, m.b, m.c, m.d
        upright = a * d > 0 and b * c <= 0
        x0, x1, y0 = rect.left, rect.right, rect.bottom
        if upright and b == 0 and c == 0:
            # pdfminer's box: from the baseline's descent up by the font size (PDFium's loose
            # box goes up to the font's ascent instead)
            y1 = y0 + size * d
        else:
            y1 = rect.top
        if x1 < x0:
            x0, x1 = x1, x0
        if y1 < y0:
            y0, y1 = y1, y0
        t = top - y1
        out.append({"text": ch, "x0": x0, "x1": x1, "top": t, "doctop": t, "bottom": top - y0, "upright": upright, "size": (y1 - y0) if upright else (x1 - x0)})
    return out


def _mul(m1, m2):
    """m1 then m2 (PDF matrices as (a, b, c, d, e, f))."""
    a1, b1, c1, d1, e1, f1 = m1
    a2, b2, c2, d2, e2, f2 = m2
    return (a1 * a2 + b1 * c2, a1 * b2 + b1 * d2, c1 * a2 + d1 * c2, c1 * b2 + d1 * d2, e1 * a2 + f1 * c2 + e2, e1 * b2 + f1 * d2 + f2)


def _visit(R, obj, outer, top, lines, rects, curves) -> None:
    kind = R.FPDFPageObj_GetType(obj)
    if kind not in (_PATH, _FORM):
        return
    m = R.FS_MATRIX()
    R.FPDFPageObj_GetMatrix(obj, ctypes.byref(m))
    mat = _mul((m.a, m.b, m.c, m.d, m.e, m.f), outer)
    if kind == _FORM:
        for k in range(R.FPDFFormObj_CountObjects(obj)):
            _visit(R, R.FPDFFormObj_GetObject(obj, k), mat, top, lines, rects, curves)
        return
    fill = ctypes.c_int()
    stroke = ctypes.c_int()
    R.FPDFPath_GetDrawMode(obj, ctypes.byref(fill), ctypes.byref(stroke))
    if not fill.value and not stroke.value:
        return  # a clipping path or an unpainted one ('n'): pdfminer never sees it
    a, b, c, d, e, f = mat
    x = ctypes.c_float()
    y = ctypes.c_float()
    px, py = ctypes.byref(x), ctypes.byref(y)
    subpaths: list[tuple[str, list]] = []
    shape: list[str] = []
    pts: list = []
    nbez = 0
    for k in range(R.FPDFPath_CountSegments(obj)):
        seg = R.FPDFPath_GetPathSegment(obj, k)
        R.FPDFPathSegment_GetPoint(seg, px, py)
        t = R.FPDFPathSegment_GetType(seg)
        pt = (a * x.value + c * y.value + e, top - (b * x.value + d * y.value + f))
        if t == _MOVETO:
            if shape:
                subpaths.append(("".join(shape), pts))
            shape, pts, nbez = ["m"], [pt], 0
        else:
            if not shape:
                shape, pts = ["m"], [pt]
            if t == _BEZIERTO:  # three points per curve; pdfminer keeps the end point
                nbez += 1
                if nbez % 3:
                    continue
                shape.append("c")
            else:
                shape.append("l")
            pts.append(pt)
        if R.FPDFPathSegment_GetClose(seg) and shape:
            shape.append("h")
            pts.append(pts[0])
    if shape:
        subpaths.append(("".join(shape), pts))
    for shape_s, p in subpaths:
        _paint(shape_s, p, lines, rects, curves)


def _paint(shape: str, pts: list, lines, rects, curves) -> None:
    """pdfminer's PDFLayoutAnalyzer.paint_path for one subpath: a line, a rectangle or a curve."""
    if len(shape) > 3 and shape[-2:] == "lh" and pts[-2] == pts[0]:
        shape = shape[:-2] + "h"
        pts = pts[:-2] + pts[-1:]
    if shape in ("mlh", "ml"):
        lines.append(pts[:2])
    elif shape in ("mlllh", "mllll"):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = pts
        if pts[0] == pts[4] and ((x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0)):
            rects.append((min(x0, x2), min(y0, y2), max(x0, x2), max(y0, y2)))
        else:
            curves.append(pts)
    elif len(pts) > 1:
        curves.append(pts)


def _line_edge(p) -> dict:
    (xa, ya), (xb, yb) = p
    x0, x1 = min(xa, xb), max(xa, xb)
    t, btm = min(ya, yb), max(ya, yb)
    return {"object_type": "line", "x0": x0, "x1": x1, "top": t, "doctop": t, "bottom": btm, "width": x1 - x0, "height": btm - t, "orientation": "h" if t == btm else "v"}


def _rect_edges(r) -> list[dict]:
    x0, t, x1, btm = r
    w, h = x1 - x0, btm - t
    return [
        {"object_type": "rect_edge", "x0": x0, "x1": x1, "top": t, "doctop": t, "bottom": t, "width": w, "height": 0, "orientation": "h"},
        {"object_type": "rect_edge", "x0": x0, "x1": x1, "top": t + h, "doctop": t + h, "bottom": btm, "width": w, "height": 0, "orientation": "h"},
        {"object_type": "rect_edge", "x0": x0, "x1": x0, "top": t, "doctop": t, "bottom": btm, "width": 0, "height": h, "orientation": "v"},
        {"object_type": "rect_edge", "x0": x1, "x1": x1, "top": t, "doctop": t, "bottom": btm, "width": 0, "height": h, "orientation": "v"},
    ]


def _curve_edges(pts) -> list[dict]:
    out = []
    for p0, p1 in zip(pts, pts[1:]):
        t = min(p0[1], p1[1])
        out.append(
            {
                "object_type": "curve_edge",
                "x0": min(p0[0], p1[0]),
                "x1": max(p0[0], p1[0]),
                "top": t,
                "doctop": t,
                "bottom": max(p0[1], p1[1]),
                "width": abs(p0[0] - p1[0]),
                "height": abs(p0[1] - p1[1]),
                "orientation": "v" if p0[0] == p1[0] else ("h" if p0[1] == p1[1] else None),
            }
        )
    return out


# --- tables and text lines (pdfplumber's algorithms) ---------------------------------------------


def _page_items(chars: list[dict], edges: list[dict], bbox: tuple, items: list[Item]) -> None:
    from pdfplumber import table as pt
    from pdfplumber import utils

    page = _Page(chars, edges, bbox)
    tables = pt.TableFinder(page).tables if edges else []
    boxes = [t.bbox for t in tables]
    placed: list[tuple[float, int, str, list | None]] = []
    if boxes:
        def outside(o):
            x0, t, x1, b = o["x0"], o["top"], o["x1"], o["bottom"]
            return not any(bx[0] - 1 <= x0 and x1 <= bx[2] + 1 and bx[1] - 1 <= t and b <= bx[3] + 1 for bx in boxes)

        rest = [c for c in chars if outside(c)]
    else:
        rest = chars
    if rest:
        tm = utils.chars_to_textmap(rest, layout=False, layout_bbox=bbox, layout_width=bbox[2] - bbox[0], layout_height=bbox[3] - bbox[1])
        for k, ln in enumerate(tm.extract_text_lines(strip=True, return_chars=False)):
            placed.append((ln["top"], k, ln["text"], None))
    for k, t in enumerate(tables):
        for j, r in enumerate(_extract(t, chars)):
            cells = [((c or "").replace("\n", ""), c is None) for c in r]
            placed.append((t.bbox[1] + j * 0.001, 10_000 + k * 1000 + j, "", cells))
    placed.sort(key=lambda x: (x[0], x[1]))
    items.extend((txt, cells) for _, _, txt, cells in placed)


def _extract(table, chars: list[dict]) -> list[list[str | None]]:
    """pdfplumber's Table.extract() (default settings), with each character placed in its row by
    bisection instead of testing every character against every row."""
    from pdfplumber import utils

    rows = table.rows
    if not rows:
        return []
    bounds = [r.bbox for r in rows]
    tops = [b[1] for b in bounds]
    x_lo = min(b[0] for b in bounds)
    x_hi = max(b[2] for b in bounds)
    reach = []  # the lowest bottom of the rows up to each one (a merged cell reaches down)
    low = float("-inf")
    for b in bounds:
        low = max(low, b[3])
        reach.append(low)
    per_row: list[list[dict]] = [[] for _ in rows]
    for ch in chars:
        v = (ch["top"] + ch["bottom"]) / 2
        h = (ch["x0"] + ch["x1"]) / 2
        if h < x_lo or h >= x_hi:
            continue
        i = bisect_right(tops, v) - 1
        while i >= 0 and reach[i] > v:  # every row whose box holds the character's centre
            b = bounds[i]
            if b[1] <= v < b[3] and b[0] <= h < b[2]:
                per_row[i].append(ch)
            i -= 1
    out = []
    for row, row_chars in zip(rows, per_row):
        arr = []
        for cell in row.cells:
            if cell is None:
                arr.append(None)
                continue
            x0, t, x1, b = cell
            cc = [c for c in row_chars if x0 <= (c["x0"] + c["x1"]) / 2 < x1 and t <= (c["top"] + c["bottom"]) / 2 < b]
            arr.append(utils.extract_text(cc) if cc else "")
        out.append(arr)
    return out
