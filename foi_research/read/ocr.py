"""Scanned pages (a PDF page without a text layer), read by OCR: the optional extra
`pip install "foi-research[ocr]"` (rapidocr 3.x on onnxruntime; its Chinese PP-OCR models ship
inside the wheel, nothing is downloaded at run time).

A page is rendered with PDFium at 200 dpi (every digit of tables 3 and 4 read right in trials; about
10-15 s of CPU per page). The table's ruling lines are found in the image (OpenCV morphology, which
rapidocr brings) and the text boxes OCR returns become characters spread over each box, so that the
page goes through the same table finder and text-line grouping as a PDF with a text layer
(read/pdf.py): table rows of cells, merged cells as span placeholders, text lines outside tables.
Which pages were read so is in Document.ocr_pages; the parser adds a quality row (check `ocr`)
to every report of the file, and the identities (validate/checks.py) verify the figures.

No network: onnxruntime's telemetry is switched off before a model is loaded, rapidocr is given
its packaged models, and the test suite runs OCR with sockets blocked.
"""
from __future__ import annotations

import importlib.util
import os
import threading

from foi_research.read.base import Item

DPI = 200
INSTALL_HINT = 'pip install "foi-research[ocr]" (in a conda environment: pip install "rapidocr>=3,<4" onnxruntime)'

_engine = None
_lock = threading.Lock()


def available() -> bool:
    """True when the OCR extra is installed (FOI_NO_OCR=1 pretends it is not)."""
    if os.environ.get("FOI_NO_OCR") == "1":
        return False
    return importlib.util.find_spec("rapidocr") is not None and importlib.util.find_spec("onnxruntime") is not None


def engine():
    """The OCR engine, created once per process, offline."""
    global _engine
    with _lock:
        if _engine is None:
            import onnxruntime as ort

            ort.disable_telemetry_events()  # it would otherwise report usage events
            try:
                ort.set_default_logger_severity(3)
            except Exception:  # pragma: no cover
                pass
            from rapidocr import RapidOCR

            _engine = RapidOCR(params={"Global.log_level": "error"})
        return _engine


def read_page(pdf, index: int) -> list[Item]:
    """The rows of one page of an open pypdfium2 document, read by OCR."""
    import numpy as np

    from foi_research.read.pdf import _page_items

    page = pdf[index]
    try:
        left, bottom, right, top = page.get_mediabox()
        scale = DPI / 72
        img = page.render(scale=scale, grayscale=True).to_numpy()
    finally:
        page.close()
    if img.ndim == 3:
        img = img[..., 0]
    img = np.ascontiguousarray(img)
    result = engine()(img)
    chars = boxes_to_chars(result.boxes, result.txts, scale)
    edges = ruling_edges(img, scale)
    items: list[Item] = []
    if chars:
        _page_items(chars, edges, (0, 0, right - left, top - bottom), items)
    return items


def boxes_to_chars(boxes, texts, scale: float) -> list[dict]:
    """OCR text boxes (pixel quadrilaterals) as pdfplumber characters in points: each box's text
    spread evenly over its width, in reading order."""
    out = []
    if boxes is None or texts is None:
        return out
    for box, text in zip(boxes, texts):
        text = (text or "").strip()
        if not text:
            continue
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        x0, x1, t, b = min(xs) / scale, max(xs) / scale, min(ys) / scale, max(ys) / scale
        w = (x1 - x0) / len(text)
        for k, ch in enumerate(text):
            out.append({"text": ch, "x0": x0 + k * w, "x1": x0 + (k + 1) * w, "top": t, "doctop": t, "bottom": b, "upright": True, "size": b - t})
    out.sort(key=lambda c: (round(c["top"]), c["x0"]))
    return out


def ruling_edges(img, scale: float) -> list[dict]:
    """Horizontal and vertical ruling lines of a page image, as pdfplumber edges in points:
    dark runs at least 1/25 of the page wide (or 1/60 high) kept by a morphological opening."""
    import cv2

    h, w = img.shape[:2]
    _, bw = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    edges: list[dict] = []
    for orient, kernel in (("h", (max(10, w // 25), 1)), ("v", (1, max(10, h // 60)))):
        mask = cv2.morphologyEx(bw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for x, y, ww, hh, _area in stats[1:n]:
            if orient == "h":
                yc = (y + hh / 2) / scale
                x0, x1 = x / scale, (x + ww) / scale
                edges.append({"object_type": "line", "x0": x0, "x1": x1, "top": yc, "doctop": yc, "bottom": yc, "width": x1 - x0, "height": 0, "orientation": "h"})
            else:
                xc = (x + ww / 2) / scale
                t, b = y / scale, (y + hh) / scale
                edges.append({"object_type": "line", "x0": xc, "x1": xc, "top": t, "doctop": t, "bottom": b, "width": 0, "height": b - t, "orientation": "v"})
    return edges
