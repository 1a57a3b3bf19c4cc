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
    F = _fast()
    raw = ctypes.cast(page.raw, ctypes.c_void_p).value
    get_object, get_type = F.get_object, F.obj_type
    for k in range(F.count_objects(raw)):
        obj = get_object(raw, k)
        kind = get_type(obj)
        if kind == _PATH or kind == _FORM:  # (text and images: nothing to draw tables with)
            _visit(F, obj, identity, top, lines, rects, curves)
    edges = [_line_edge(x) for x in lines]
    for r in rects:
        edges.extend(_rect_edges(r))
    for c in curves:
        edges.extend(_curve_edges(c))
    del height
    return chars, edges, (0, 0, right - left, top - bottom)


_FAST = None


def _fast():
    """PDFium's per-character functions declared with plain pointer and integer types: ctypes
    then converts nothing (about 3x cheaper per call than pypdfium2's typed declarations, and
    these run for every character)."""
    global _FAST
    if _FAST is None:
        from types import SimpleNamespace

        from pypdfium2_raw.bindings import _libs

        lib = _libs["pdfium"]
        vp, i, d = ctypes.c_void_p, ctypes.c_int, ctypes.c_double

        def fn(name, restype, *argtypes):
            f = lib[name]
            f.argtypes, f.restype = argtypes, restype
            return f

        _FAST = SimpleNamespace(
            text_object=fn("FPDFText_GetTextObject", vp, vp, i),
            loose_box=fn("FPDFText_GetLooseCharBox", i, vp, i, vp),
            matrix=fn("FPDFText_GetMatrix", i, vp, i, vp),
            font_size=fn("FPDFText_GetFontSize", d, vp, i),
            unicode=fn("FPDFText_GetUnicode", ctypes.c_uint, vp, i),
            count_objects=fn("FPDFPage_CountObjects", i, vp),
            get_object=fn("FPDFPage_GetObject", vp, vp, i),
            obj_type=fn("FPDFPageObj_GetType", i, vp),
            obj_matrix=fn("FPDFPageObj_GetMatrix", i, vp, vp),
            form_count=fn("FPDFFormObj_CountObjects", i, vp),
            form_object=fn("FPDFFormObj_GetObject", vp, vp, ctypes.c_ulong),
            draw_mode=fn("FPDFPath_GetDrawMode", i, vp, vp, vp),
            count_segments=fn("FPDFPath_CountSegments", i, vp),
            segment=fn("FPDFPath_GetPathSegment", vp, vp, i),
            segment_point=fn("FPDFPathSegment_GetPoint", i, vp, vp, vp),
            segment_type=fn("FPDFPathSegment_GetType", i, vp),
            segment_close=fn("FPDFPathSegment_GetClose", i, vp),
        )
    return _FAST


def _chars(R, tp, top: float) -> list[dict]:
    n = R.FPDFText_CountChars(tp)
    if n <= 0:
        return []
    buf = ctypes.create_string_buffer((n + 1) * 2)
    got = R.FPDFText_GetText(tp, 0, n, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
    text = buf.raw[: max(0, got - 1) * 2].decode("utf-16-le", errors="replace")
    F = _fast()
    tpv = ctypes.cast(tp, ctypes.c_void_p).value
    if len(text) != n:  # characters outside the BMP: read one by one
        text = "".join(chr(F.unicode(tpv, i)) for i in range(n))
    rect = R.FS_RECTF()
    m = R.FS_MATRIX()
    prect, pm = ctypes.addressof(rect), ctypes.addressof(m)
    text_object, loose_box = F.text_object, F.loose_box
    per_object: dict = {}  # a text object's matrix and font size hold for all its characters
    out = []
    append = out.append
    for i in range(n):
        obj = text_object(tpv, i)
        if not obj:  # a space or line break PDFium inferred (no text object behind it)
            continue
        ch = text[i]
        if ch in "\r\n\ufffe\x00":
            continue
        shape = per_object.get(obj)
        if shape is None:
            F.matrix(tpv, i, pm)
            a, b, c, d = m.a, m.b, m.c, m.d
            upright = a * d > 0 and b * c <= 0
            shape = per_object[obj] = (upright, upright and b == 0 and c == 0, F.font_size(tpv, i) * d)
        upright, plain, height = shape
        loose_box(tpv, i, prect)
        x0, x1, y0 = rect.left, rect.right, rect.bottom
        # pdfminer's box: from the baseline's descent up by the font size (PDFium's loose box
        # goes up to the font's ascent instead)
        y1 = y0 + height if plain else rect.top
        if x1 < x0:
            x0, x1 = x1, x0
        if y1 < y0:
            y0, y1 = y1, y0
        t = top - y1
        # (no "size": pdfplumber reads it only for tolerances relative to it, not used here)
        append({"text": ch, "x0": x0, "x1": x1, "top": t, "doctop": t, "bottom": top - y0, "upright": upright})
    return out


def _mul(m1, m2):
    """m1 then m2 (PDF matrices as (a, b, c, d, e, f))."""
    a1, b1, c1, d1, e1, f1 = m1
    a2, b2, c2, d2, e2, f2 = m2
    return (a1 * a2 + b1 * c2, a1 * b2 + b1 * d2, c1 * a2 + d1 * c2, c1 * b2 + d1 * d2, e1 * a2 + f1 * c2 + e2, e1 * b2 + f1 * d2 + f2)


def _visit(F, obj, outer, top, lines, rects, curves) -> None:
    """A path object (or a form's objects) as pdfminer sees it: subpaths in page coordinates."""
    import pypdfium2.raw as R

    kind = F.obj_type(obj)
    if kind not in (_PATH, _FORM):
        return
    m = R.FS_MATRIX()
    F.obj_matrix(obj, ctypes.addressof(m))
    mat = _mul((m.a, m.b, m.c, m.d, m.e, m.f), outer)
    if kind == _FORM:
        for k in range(F.form_count(obj)):
            _visit(F, F.form_object(obj, k), mat, top, lines, rects, curves)
        return
    fill = ctypes.c_int()
    stroke = ctypes.c_int()
    F.draw_mode(obj, ctypes.addressof(fill), ctypes.addressof(stroke))
    if not fill.value and not stroke.value:
        return  # a clipping path or an unpainted one ('n'): pdfminer never sees it
    a, b, c, d, e, f = mat
    x = ctypes.c_float()
    y = ctypes.c_float()
    px, py = ctypes.addressof(x), ctypes.addressof(y)
    segment, point, seg_type, seg_close = F.segment, F.segment_point, F.segment_type, F.segment_close
    subpaths: list[tuple[str, list]] = []
    shape: list[str] = []
    pts: list = []
    nbez = 0
    for k in range(F.count_segments(obj)):
        seg = segment(obj, k)
        point(seg, px, py)
        t = seg_type(seg)
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
        if seg_close(seg) and shape:
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
    page = _Page(chars, edges, bbox)
    tables = _find_tables(page) if edges else []
    boxes = [t.bbox for t in tables]
    placed: list[tuple[float, int, str, list | None]] = []
    if boxes:  # the characters not inside a table (with pdfplumber's 1-point margin)
        grown = [(bx[0] - 1, bx[1] - 1, bx[2] + 1, bx[3] + 1) for bx in boxes]
        rest = []
        for c in chars:
            x0, t, x1, b = c["x0"], c["top"], c["x1"], c["bottom"]
            for gx0, gt, gx1, gb in grown:
                if gx0 <= x0 and x1 <= gx1 and gt <= t and b <= gb:
                    break
            else:
                rest.append(c)
    else:
        rest = chars
    if rest:
        for k, (top, text) in enumerate(_text_lines(rest)):
            placed.append((top, k, text, None))
    for k, t in enumerate(tables):
        for j, r in enumerate(_extract(t, chars)):
            cells = [((c or "").replace("\n", ""), c is None) for c in r]
            placed.append((t.bbox[1] + j * 0.001, 10_000 + k * 1000 + j, "", cells))
    placed.sort(key=lambda x: (x[0], x[1]))
    items.extend((txt, cells) for _, _, txt, cells in placed)


def _text_lines(chars: list[dict]) -> list[tuple[float, str]]:
    """(top, text) of each line, as pdfplumber's page.extract_text_lines(layout=False) gives them
    (utils.chars_to_textmap(...).extract_text_lines()): characters clustered into lines by top
    (3 points), sorted by x0 and cut into words as WordExtractor cuts them (a blank, a step back,
    a gap of more than 3 points, a top 3 points away), the words clustered into lines again by
    their top in their order, as its TextMap does, and joined with single spaces; without the
    word dictionaries, the character map and the regular-expression search. Pages with rotated
    characters go through pdfplumber itself."""
    from pdfplumber.utils.clustering import cluster_objects
    from pdfplumber.utils.text import LIGATURES, WordExtractor

    if not all(c["upright"] for c in chars):
        words = [(w["top"], w["text"]) for w, _ in WordExtractor().iter_extract_tuples(chars)]
    else:
        words = []
        for line in cluster_objects(chars, _top, 3):
            line.sort(key=_x0)
            cur: list[str] = []
            cur_top = 0.0
            prev = None
            for c in line:
                t = c["text"]
                if t.isspace():
                    if cur:
                        words.append((cur_top, "".join(cur)))
                    cur, prev = [], None
                    continue
                if prev is not None and (c["x0"] < prev["x0"] or c["x0"] > prev["x1"] + 3 or abs(c["top"] - prev["top"]) > 3):
                    words.append((cur_top, "".join(cur)))
                    cur = []
                if not cur:
                    cur_top = c["top"]
                elif c["top"] < cur_top:
                    cur_top = c["top"]
                cur.append(LIGATURES.get(t, t))
                prev = c
            if cur:
                words.append((cur_top, "".join(cur)))
    out = []
    for line in cluster_objects(words, _first, 3, preserve_order=True):
        text = " ".join(w[1] for w in line).strip(" ")
        if text.strip():
            out.append((min(w[0] for w in line), text))
    return out


def _first(t: tuple) -> float:
    return t[0]


def _top(o: dict) -> float:
    return o["top"]


def _find_tables(page: _Page) -> list:
    """pdfplumber's TableFinder(page).tables (default settings: ruling lines), with its
    intersections_to_cells done by _cells (the same cells, without rebuilding the sets of edges
    at every comparison)."""
    from pdfplumber import table as pt

    finder = pt.TableFinder.__new__(pt.TableFinder)
    finder.page = page
    finder.settings = pt.TableSettings.resolve(None)
    edges = finder.get_edges()
    inter = pt.edges_to_intersections(edges, finder.settings.intersection_x_tolerance, finder.settings.intersection_y_tolerance)
    return [pt.Table(page, group) for group in pt.cells_to_tables(_cells(inter))]


def _cells(intersections: dict) -> list[tuple]:
    """pdfplumber.table.intersections_to_cells, with each point's edges as sets made once."""
    vset = {p: {(e["x0"], e["top"], e["x1"], e["bottom"]) for e in d["v"]} for p, d in intersections.items()}
    hset = {p: {(e["x0"], e["top"], e["x1"], e["bottom"]) for e in d["h"]} for p, d in intersections.items()}

    def connects(p1, p2) -> bool:
        if p1[0] == p2[0] and not vset[p1].isdisjoint(vset[p2]):
            return True
        return p1[1] == p2[1] and not hset[p1].isdisjoint(hset[p2])

    points = sorted(intersections)
    n = len(points)
    by_x: dict = {}
    by_y: dict = {}
    for i, pt_ in enumerate(points):  # points after i with the same x (below) / same y (right)
        by_x.setdefault(pt_[0], []).append(i)
        by_y.setdefault(pt_[1], []).append(i)
    out = []
    for i in range(n - 1):
        pt_ = points[i]
        below = [points[j] for j in by_x[pt_[0]] if j > i]
        right = [points[j] for j in by_y[pt_[1]] if j > i]
        found = None
        for b in below:
            if not connects(pt_, b):
                continue
            for r in right:
                if not connects(pt_, r):
                    continue
                br = (r[0], b[1])
                if br in intersections and connects(br, r) and connects(br, b):
                    found = (pt_[0], pt_[1], br[0], br[1])
                    break
            if found:
                break
        if found:
            out.append(found)
    return out


def _extract(table, chars: list[dict]) -> list[list[str | None]]:
    """pdfplumber's Table.extract() (default settings): the text of the characters whose centre
    lies in each cell (x0 <= x < x1, top <= y < bottom), in page order. A character in a cell is
    in that cell's row, so each character is placed straight into its cell, found by bisection
    on the grid the cells' edges make, instead of testing it against every row and cell."""
    from pdfplumber import utils
    from pdfplumber.utils.text import LIGATURES

    rows = table.rows
    if not rows:
        return []
    cells = [(ri, ci, c) for ri, row in enumerate(rows) for ci, c in enumerate(row.cells) if c is not None]
    xs = sorted({c[0] for _, _, c in cells} | {c[2] for _, _, c in cells})
    ys = sorted({c[1] for _, _, c in cells} | {c[3] for _, _, c in cells})
    xi = {x: i for i, x in enumerate(xs)}
    yi = {y: i for i, y in enumerate(ys)}
    cover: dict[tuple[int, int], list[int]] = {}  # grid box -> the cells over it
    for k, (_, _, (x0, t, x1, b)) in enumerate(cells):
        for ix in range(xi[x0], xi[x1]):
            for iy in range(yi[t], yi[b]):
                cover.setdefault((ix, iy), []).append(k)
    got: list[list[dict]] = [[] for _ in cells]
    lo_x, hi_x, lo_y, hi_y = xs[0], xs[-1], ys[0], ys[-1]
    for ch in chars:
        h = (ch["x0"] + ch["x1"]) / 2
        if h < lo_x or h >= hi_x:
            continue
        v = (ch["top"] + ch["bottom"]) / 2
        if v < lo_y or v >= hi_y:
            continue
        for k in cover.get((bisect_right(xs, h) - 1, bisect_right(ys, v) - 1), ()):
            got[k].append(ch)
    out: list[list[str | None]] = [[None] * len(row.cells) for row in rows]
    for (ri, ci, _), cc in zip(cells, got):
        if not cc:
            out[ri][ci] = ""
        else:
            t = _one_line(cc, LIGATURES)
            out[ri][ci] = utils.extract_text(cc) if t is None else t
    return out


def _one_line(cc: list[dict], ligatures: dict) -> str | None:
    """What pdfplumber's utils.extract_text gives (default settings) for the characters of a cell
    that all stand on one line (the same top, upright: most cells), without its general
    machinery; None for any other cell. Words are split as WordExtractor splits them (a gap of
    more than 3 points, a step back, a blank character) and joined with one space."""
    t0 = cc[0]["top"]
    for c in cc:
        if c["top"] != t0 or not c["upright"]:
            return None
    words: list[str] = []
    cur: list[str] = []
    prev = None
    for c in sorted(cc, key=_x0):
        t = c["text"]
        if t.isspace():
            if cur:
                words.append("".join(cur))
            cur, prev = [], None
            continue
        if prev is not None and (c["x0"] < prev["x0"] or c["x0"] > prev["x1"] + 3):
            words.append("".join(cur))
            cur = []
        cur.append(ligatures.get(t, t))
        prev = c
    if cur:
        words.append("".join(cur))
    return " ".join(words)


def _x0(c: dict) -> float:
    return c["x0"]
