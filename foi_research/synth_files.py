"""Generated reports as the files government sites publish: PDF and Word (and Excel statistics
tables), rendered from `synth.generate`'s HTML layout so that each file has a known truth.

    path, truth = write_report(tmp / "r.pdf", seed=3, template="2021", style="ruled")
    path, truth = write_report(tmp / "r.docx", seed=4, template="2019")

PDF styles (reportlab, a test dependency): `ruled` (every cell boxed, as WPS and Word print the
templates), `unruled` (no lines at all: what text-only exports look like), `rules-h` (horizontal
rules only), each with wrapped labels (narrow label columns, labels on two or three lines) and tables
that run over pages. `pages` pads the report with prose to about that many A4 pages (real reports
run 5-8). Word files carry merged cells as Word writes them (w:gridSpan, w:vMerge).

Used by the reader tests (tests/test_read_*.py) and the benchmarks (benchmarks/formats.py).
"""
from __future__ import annotations

import random
from pathlib import Path

from foi_research import synth

PDF_STYLES = ("ruled", "unruled", "rules-h")
_SPAN_ROWS = 5


def html_blocks(html: str) -> list[tuple]:
    """The paragraphs and tables of a generated HTML report in order: ('p', text) or
    ('table', cells, n_rows, n_cols) with cells as (row, col, rowspan, colspan, text), merged
    cells placed on the grid (rows padded to the widest row)."""
    from lxml import etree

    root = etree.fromstring(html, etree.HTMLParser())
    body = root.find("body")
    out: list[tuple] = []
    for el in body if body is not None else root:
        if el.tag == "table":
            cells = []
            taken: set[tuple[int, int]] = set()
            rows = el.findall(".//tr")
            for r, tr in enumerate(rows):
                c = 0
                for td in tr.findall("td"):
                    while (r, c) in taken:
                        c += 1
                    rs = int(td.get("rowspan", 1))
                    cs = int(td.get("colspan", 1))
                    rs = min(rs, len(rows) - r)
                    text = " ".join("".join(td.itertext()).split())
                    cells.append((r, c, rs, cs, text))
                    for i in range(rs):
                        for j in range(cs):
                            taken.add((r + i, c + j))
                    c += cs
            ncols = max(c for _, c in taken) + 1 if taken else 0
            out.append(("table", cells, len(rows), ncols))
        elif isinstance(el.tag, str):
            text = " ".join("".join(el.itertext()).split())
            if text:
                out.append(("p", text))
    return out


_FILLER = (
    "本机关坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻落实党中央、国务院关于全面推进政务公开工作的决策部署，"
    "围绕中心工作，聚焦群众关切，持续深化决策、执行、管理、服务、结果公开，不断提升政务公开的标准化规范化水平。"
)


def _padding(blocks: list[tuple], pages: int | None, seed: int) -> list[tuple]:
    """Prose paragraphs added after the first section so that the report runs to about `pages`
    A4 pages (a page holds about 40 lines of 35 characters)."""
    if not pages:
        return blocks
    have = sum(len(b[1]) for b in blocks if b[0] == "p") + sum(len(b[1]) * 12 for b in blocks if b[0] == "table")
    want = pages * 1300
    rng = random.Random(seed)
    extra = []
    while have < want:
        s = _FILLER[rng.randrange(20) :] + f"全年共开展专题培训{rng.randint(2, 30)}次。"
        extra.append(("p", s))
        have += len(s) + 35
    k = next((i for i, b in enumerate(blocks) if b[0] == "p" and b[1].startswith("二、")), len(blocks))
    return blocks[:k] + extra + blocks[k:]


def write_pdf(blocks: list[tuple], path: str | Path, style: str = "ruled", font_size: float = 9, font: str | Path | None = None) -> Path:
    """Render blocks (html_blocks) as an A4 PDF with reportlab: Chinese text in the standard CID
    font STSong-Light (not embedded, as some government PDFs) or, with `font` (a TrueType file,
    see embeddable_font), in that font embedded as a subset (as WPS and Word export); merged cells
    as spans, long labels wrapped inside narrow columns, tables split over pages."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if style not in PDF_STYLES:
        raise ValueError(f"unknown PDF style {style!r}; choose from {', '.join(PDF_STYLES)}")
    fname = "STSong-Light"
    if font is not None:
        from reportlab.pdfbase.ttfonts import TTFont

        fname = "Embedded-" + Path(font).stem
        pdfmetrics.registerFont(TTFont(fname, str(font)))
    else:
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    para = ParagraphStyle("zh", fontName=fname, fontSize=font_size + 1, leading=font_size * 1.8, wordWrap="CJK")
    cell_style = ParagraphStyle("cell", fontName=fname, fontSize=font_size, leading=font_size * 1.25, wordWrap="CJK")
    width = A4[0] - 2 * 56
    flow = []
    for b in blocks:
        if b[0] == "p":
            flow.append(Paragraph(b[1], para))
            continue
        _, cells, nrows, ncols = b
        grid = [[""] * ncols for _ in range(nrows)]
        spans = []
        for r, c, rs, cs, text in cells:
            grid[r][c] = Paragraph(text, cell_style) if len(text) > 4 else text
            # reportlab cannot split a merged cell over two pages: a tall one is drawn as merged
            # cells of at most _SPAN_ROWS rows (the first holds the text), as a page break shows it
            for top in range(r, r + rs, _SPAN_ROWS):
                bottom = min(r + rs, top + _SPAN_ROWS) - 1
                if bottom > top or cs > 1:
                    spans.append(("SPAN", (c, top), (c + cs - 1, bottom)))
        # label columns (text below the header rows) share 45 % of the width, so that long labels
        # wrap over two to five lines; number columns share the rest
        label = {c for r, c, rs, cs, text in cells if cs == 1 and r >= 1 and text and not text.replace(",", "").isdigit()}
        nl = len(label) if 0 < len(label) < ncols else 0
        lw = width * (0.45 if nl > 1 else 0.3) / nl if nl else 0
        nw = (width - lw * nl) / (ncols - nl)
        widths = [lw if c in label and nl else nw for c in range(ncols)]
        cmds = [("FONTNAME", (0, 0), (-1, -1), fname), ("FONTSIZE", (0, 0), (-1, -1), font_size), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), *spans]
        if style == "ruled":
            cmds.append(("GRID", (0, 0), (-1, -1), 0.5, colors.black))
        elif style == "rules-h":
            cmds.append(("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.black))
            cmds.append(("LINEABOVE", (0, 0), (-1, 0), 0.5, colors.black))
        t = Table(grid, colWidths=widths, repeatRows=0, splitByRow=1)
        t.setStyle(TableStyle(cmds))
        flow.append(t)
        flow.append(Spacer(1, 6))
    SimpleDocTemplate(str(path), pagesize=A4, leftMargin=56, rightMargin=56, topMargin=56, bottomMargin=56, invariant=1).build(flow)
    return Path(path)


def embeddable_font(out: str | Path, text: str) -> Path | None:
    """A TrueType font holding the characters of `text`, made from Noto Sans SC (the
    pylopdf-fonts-zh-cn dependency; OpenType/CFF, which reportlab cannot embed) by subsetting it
    and converting its outlines to TrueType with fontTools (installed with matplotlib). None when
    fontTools is missing. Government PDFs embed their fonts; PDFs made with it do too."""
    out = Path(out)
    if out.exists():
        return out
    try:
        import os

        import pylopdf_fonts_zh_cn
        from fontTools import subset
        from fontTools.pens.cu2quPen import Cu2QuPen
        from fontTools.pens.ttGlyphPen import TTGlyphPen
        from fontTools.ttLib import TTFont, newTable
        from fontTools.ttLib.tables._m_a_x_p import table__m_a_x_p
    except ImportError:
        return None
    font = TTFont(os.path.join(os.path.dirname(pylopdf_fonts_zh_cn.__file__), "NotoSansSC-Regular.otf"))
    opts = subset.Options()
    opts.layout_features = []
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(text="".join(sorted(set(text) | set("0123456789（）()、，。：；“”《》%-—/ ."))))
    sub.subset(font)
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for t in ("CFF ", "VORG"):
        if t in font:
            del font[t]
    m = table__m_a_x_p()
    m.tableVersion, m.numGlyphs = 0x00010000, len(order)
    for a in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours", "maxComponentDepth"):
        setattr(m, a, 0)
    m.maxZones = 1
    font["maxp"] = m
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\0\1\0\0"
    post = font["post"]
    post.formatType, post.extraNames, post.mapping, post.glyphOrder = 2.0, [], {}, order
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(out))
    return out


def write_docx(blocks: list[tuple], path: str | Path) -> Path:
    """Render blocks as a Word file (python-docx); merged cells become w:gridSpan / w:vMerge."""
    import docx

    d = docx.Document()
    for b in blocks:
        if b[0] == "p":
            d.add_paragraph(b[1])
            continue
        _, cells, nrows, ncols = b
        t = d.add_table(rows=nrows, cols=ncols)
        t.style = "Table Grid"
        for r, c, rs, cs, text in cells:
            cell = t.cell(r, c)
            if rs > 1 or cs > 1:
                cell = cell.merge(t.cell(r + rs - 1, c + cs - 1))
            cell.text = text
    import datetime as dt

    d.core_properties.created = dt.datetime(2025, 1, 1)
    d.save(str(path))
    return Path(path)


def write_xlsx(blocks: list[tuple], path: str | Path) -> Path:
    """The tables of a report as an Excel workbook, one sheet per table (openpyxl), merged cells
    merged, numbers as numbers; the report's first paragraph (its title) above the first table."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    title = next((b[1] for b in blocks if b[0] == "p"), "")
    k = 0
    for b in blocks:
        if b[0] != "table":
            continue
        k += 1
        ws = wb.create_sheet(f"表{k}")
        off = 1
        if k == 1 and title:
            ws.cell(1, 1, title)
            off = 2
        _, cells, nrows, ncols = b
        for r, c, rs, cs, text in cells:
            v: object = text
            if text.isdigit():
                v = int(text)
            ws.cell(r + off, c + 1, v)
            if rs > 1 or cs > 1:
                ws.merge_cells(start_row=r + off, start_column=c + 1, end_row=r + off + rs - 1, end_column=c + cs)
    wb.save(str(path))
    return Path(path)


def write_report(
    path: str | Path, seed: int, template: str | None = "2021", style: str = "ruled", pages: int | None = None, font: str | Path | None = None, **kw
) -> tuple[Path, synth.Truth]:
    """Generate one report (synth.generate with the HTML layout) and write it as `path`, whose
    suffix (.pdf, .docx, .xlsx, .html) chooses the format. Returns the path and the truth."""
    path = Path(path)
    html, truth = synth.generate(seed, template=template, layout="html", **kw)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(html, encoding="utf-8")
        return path, truth
    blocks = _padding(html_blocks(html), pages, seed)
    if suffix == ".pdf":
        write_pdf(blocks, path, style=style, font=font)
    elif suffix == ".docx":
        write_docx(blocks, path)
    elif suffix == ".xlsx":
        write_xlsx(blocks, path)
    else:
        raise ValueError(f"cannot write {suffix} files; use .pdf, .docx, .xlsx or .html")
    return path, truth
