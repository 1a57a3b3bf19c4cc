"""Excel workbooks (.xlsx, .xlsm, .xls, .ods): the statistics tables some agencies publish as
attachments, read with python-calamine (Rust's calamine: one maintained library for the OOXML and
the legacy BIFF formats, several times faster than openpyxl; xlrd reads only .xls). Each sheet
gives its leading lines (titles, 单位：件) as text rows and the rest as table rows, merged cells as
span placeholders; numbers are printed as a person reads them (12.0 -> 12)."""
from __future__ import annotations

import datetime as dt
import io

from foi_research.read.base import Document, Item, rows_from_items
from foi_research.read.limits import DEFAULT, Limits, check
from foi_research.read.zipped import Unzipper
from foi_research.reference.normalize import looks_traditional


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    return " ".join(str(v).split())


def read_xlsx(doc: Document, data: bytes, limits: Limits = DEFAULT) -> None:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        raise ValueError("reading Excel files needs python-calamine: pip install python-calamine") from None
    if data.startswith(b"PK\x03\x04"):
        Unzipper(data, limits, "Excel").read_all()  # inflate once with a cap (deflate bombs)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as e:
        raise ValueError(f"the Excel file is damaged or not a workbook ({type(e).__name__}: {e}); open it in Excel/WPS and save it again") from None
    items: list[Item] = []
    for name in wb.sheet_names:
        sh = wb.get_sheet_by_name(name)
        grid = sh.to_python()
        if not grid:
            continue
        width = max(len(r) for r in grid)
        check(limits, "max_table_cells", len(grid) * width, f"sheet {name!r} has {len(grid):,} x {width:,} cells")
        r0, c0 = sh.start or (0, 0)
        covered: set[tuple[int, int]] = set()
        for (ra, ca), (rb, cb) in sh.merged_cell_ranges or ():
            if (rb - ra + 1) * (cb - ca + 1) > limits.max_table_cells:
                check(limits, "max_table_cells", (rb - ra + 1) * (cb - ca + 1), f"a merged cell of sheet {name!r} covers {(rb - ra + 1) * (cb - ca + 1):,} cells")
            for r in range(ra, rb + 1):
                for c in range(ca, cb + 1):
                    if (r, c) != (ra, ca):
                        covered.add((r - r0, c - c0))
        texts = [[_text(v) for v in row] for row in grid]
        used = max((j for row in texts for j, t in enumerate(row) if t), default=-1) + 1
        in_table = False
        for i, row in enumerate(texts):
            row = row[:used] + [""] * (used - len(row))
            filled = [t for t in row if t]
            if not filled:
                continue
            if not in_table and len(filled) < 2:
                items.append((filled[0], None))  # a title, a date, a unit line above the table
                continue
            in_table = True
            items.append(("", [(t, (i, j) in covered) for j, t in enumerate(row)]))
    sample = "".join(t for t, c in items if c is None)[:4000] + "".join(x[0] for _, c in items if c for x in c[:3])
    doc.traditional = looks_traditional(sample)
    doc.encoding = "xlsx" if data.startswith(b"PK") else "xls"
    doc.rows = rows_from_items(items, doc.traditional)
