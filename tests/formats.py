"""Re-render a real bundled report in other formats and encodings, for reader tests.

The source is the Pingyin 2021 seed (data/corpus/seeds/004_…txt): prose lines become paragraphs
and its pipe rows ('a | b | c |') become table rows, cell for cell, so every rendering holds
exactly the numbers of the original and can be checked against its ground truth.
"""
from __future__ import annotations

import re
from pathlib import Path

from conftest import DATA

PINGYIN = DATA / "seeds" / "004_c04978ea7ee6ff4b.txt"
PINGYIN_TRUTH_ID = "pingyin-govoffice-2021"


def blocks(path: Path = PINGYIN) -> list[tuple[str, object]]:
    """[('p', text) | ('table', [[cell, ...], ...])] in document order."""
    out: list[tuple[str, object]] = []
    rows: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if "|" in line:
            cells = [c.strip() for c in line.split("|")]
            while cells and cells[-1] == "":
                cells.pop()
            rows.append(cells)
            continue
        if rows:
            out.append(("table", rows))
            rows = []
        if line.strip():
            out.append(("p", line.strip()))
    if rows:
        out.append(("table", rows))
    return out


def _pad(rows):
    width = max(len(r) for r in rows)
    return [r + [""] * (width - len(r)) for r in rows]


def to_html(path: Path, charset: str = "utf-8", declare: bool = True) -> Path:
    from html import escape

    parts = [
        "<!DOCTYPE html><html><head>",
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if declare else "",
        "<title>年度报告</title><style>td{border:1px solid #000}</style>",
        "<script>var x = '本年新收政府信息公开申请数量 99 99 99';</script></head><body>",
        '<div class="nav">首页 &gt; 政务公开 &gt; <span>年报</span></div><div id="content"><div class="article">',
    ]
    for kind, val in blocks():
        if kind == "p":
            parts.append(f"<p><span style='font-family:宋体'>{escape(val)}</span></p>")
        else:
            parts.append("<table border='1'><tbody>")
            for r in val:
                parts.append("<tr>" + "".join(f"<td><p>{escape(c) if c else '&nbsp;'}</p></td>" for c in r) + "</tr>")
            parts.append("</tbody></table>")
    parts.append("</div></div><noscript>请开启脚本</noscript></body></html>")
    path.write_bytes("\n".join(parts).encode(charset))
    return path


def to_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    for kind, val in blocks():
        if kind == "p":
            d.add_paragraph(val)
        else:
            rows = _pad(val)
            t = d.add_table(rows=len(rows), cols=len(rows[0]))
            for i, r in enumerate(rows):
                for j, c in enumerate(r):
                    t.cell(i, j).text = c
    d.save(str(path))
    return path


def to_pdf(path: Path) -> Path:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A3, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    st = ParagraphStyle("zh", fontName="STSong-Light", fontSize=9, leading=12, wordWrap="CJK")
    cell = ParagraphStyle("cell", fontName="STSong-Light", fontSize=6, leading=7, wordWrap="CJK")
    flow = []
    for kind, val in blocks():
        if kind == "p":
            flow.append(Paragraph(val, st))
        else:
            rows = _pad(val)
            data = [[Paragraph(c, cell) if len(c) > 8 else c for c in r] for r in rows]
            width = 1100 / len(rows[0])
            t = Table(data, colWidths=[width] * len(rows[0]))
            t.setStyle(
                TableStyle([("FONTNAME", (0, 0), (-1, -1), "STSong-Light"), ("FONTSIZE", (0, 0), (-1, -1), 6), ("GRID", (0, 0), (-1, -1), 0.5, colors.black)])
            )
            flow.append(t)
    SimpleDocTemplate(str(path), pagesize=landscape(A3)).build(flow)
    return path


def image_only_pdf(path: Path) -> Path:
    """A PDF with drawings but no text layer (what a scanned report looks like to a parser)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for i in range(20):
        c.rect(50 + i * 10, 500, 8, 200 - i * 5, fill=1)
    c.showPage()
    c.save()
    return path


def text_in(encoding: str, path: Path, bom: bool = False, source: Path = PINGYIN) -> Path:
    text = source.read_text(encoding="utf-8")
    data = text.encode(encoding)
    if bom and encoding.startswith("utf-16"):
        data = ("\ufeff" + text).encode(encoding)
    path.write_bytes(data)
    return path


def strip_pipes_collapsing(text: str) -> str:
    """Collapse runs of empty pipes as some scrapers do ('0 |  | 3' -> '0 | 3')."""
    return re.sub(r"(\|\s*){2,}", "| ", text)


def scanned_copy(src: Path, path: Path, pages: list[int], dpi: int = 200) -> Path:
    """A copy of a PDF whose given pages (1-based) are replaced by images of themselves (rendered
    by PDFium at `dpi`): pages without a text layer, as a scanner makes them."""
    from foi_research.read.pdf import pdfium

    pdfium = pdfium()
    s = pdfium.PdfDocument(str(src))
    d = pdfium.PdfDocument.new()
    d.import_pages(s)
    for n in pages:
        w, h = s[n - 1].get_size()
        pil = s[n - 1].render(scale=dpi / 72, grayscale=True).to_pil()
        d.del_page(n - 1)
        page = d.new_page(w, h, index=n - 1)
        img = pdfium.PdfImage.new(d)
        img.set_bitmap(pdfium.PdfBitmap.from_pil(pil))
        img.set_matrix(pdfium.PdfMatrix().scale(w, h))
        page.insert_obj(img)
        page.gen_content()
    d.save(str(path))
    return path
