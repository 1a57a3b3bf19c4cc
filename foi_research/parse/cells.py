"""What the table readers share: a cell's value as printed (Val), whether a cell starts a new
labelled item or ends the table's section, and labels printed over several cells."""
from __future__ import annotations

import functools
import itertools
import re

from foi_research.model import Val
from foi_research.parse.layout import Item
from foi_research.reference.normalize import compact

_TOP_HEADING = re.compile(r"^[一二三四五六七八九十]{1,3}[、.]")
_SECTION_END = re.compile(r"^[五六七]、")
_ORD = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.,:]|\([一二三四五六七八九十\d]{1,3}\)|\d{1,2}[、.,)](?!\d)|第[一二三四五六七八九十]+)")
# a page number printed inside a table by a PDF's text layer ('- 7 -', '-7-', '第7页', '7/12')
PAGE_NUMBER = re.compile(r"^(?:[-—–]\s*\d{1,4}\s*[-—–]|第\s*\d{1,4}\s*页(?:\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4}|Page\s*\d{1,4})$", re.I)
UNIT_LABELS = frozenset({"件", "条", "次", "个", "人", "人次", "万元", "元", "项", "篇", "期", "份", "单位", "家", "宗"})


def skip_continuations(items: list[Item], j: int, same, unknown) -> int:
    """Index of the last label cell that continues the label at items[j]: a label printed over
    two lines or cells ('一、本年新收政府信息' / '公开申请数量'). A continuation has no leading
    ordinal of its own and either matches nothing (`unknown(key)`) or matches the same code
    (`same(key)`)."""
    k = j
    while k + 1 < len(items):
        nxt = items[k + 1]
        if not (nxt.is_text and nxt.label):
            break
        if not items[j].multi and nxt.multi:
            break
        if items[j].multi and nxt.row != items[j].row:
            break
        if flags(nxt.norm)[2] or len(nxt.key) > 30:
            break
        if not (same(nxt.key) or unknown(nxt.key)):
            break
        k += 1
    return k


def cell_value(it: Item, integer: bool = True) -> tuple[Val, str | None]:
    v = it.value
    kind = v.kind
    if kind == "number":
        x = v.value
        if integer and isinstance(x, float):
            if not x.is_integer():
                return Val(None, it.raw, it.line, v.unit), f"cell '{it.raw}' is not a whole number"
            x = int(x)
        return Val(x, it.raw, it.line, v.unit), None
    if kind == "blank":
        return Val(None, it.raw, it.line, v.unit), None
    return Val(None, it.raw, it.line), f"cell '{it.raw}' is not a number"


@functools.lru_cache(maxsize=16384)
def flags(norm: str) -> tuple[bool, bool, bool]:
    """Of a cell's compacted text: (it ends the tables' section (五、, 存在的主要问题 …), it is a
    top-level heading 一、, it starts with an ordinal (_ORD))."""
    k = compact(norm)
    return (
        bool(_SECTION_END.match(k)) or "存在的主要问题" in k or "其他需要报告" in k,
        bool(_TOP_HEADING.match(k)),
        bool(_ORD.match(k)),
    )


def ends_section(it: Item) -> bool:
    return flags(it.norm)[0]


def placements(vals: list, width: int, limit: int = 5000) -> list[tuple]:
    """The ways to lay printed values, in their order, over `width` columns whose other cells are
    blank (None): a row that lost its blank cells, read every way it can be (at most `limit`)."""
    out = []
    for pos in itertools.combinations(range(width), len(vals)):
        cells: list = [None] * width
        for p, v in zip(pos, vals):
            cells[p] = v
        out.append(tuple(cells))
        if len(out) >= limit:
            break
    return out
