"""Split a document into the reports it holds.

A scraped listing concatenates several reports of one agency, each starting with a title line
(…年度报告) and, within a few lines, a date line (时间: / 发布日期 …). A 信息公开指南 (guide) may
precede them and is not a report. A document without such title-and-date pairs is one report.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from itertools import islice

from foi_research.reference.normalize import compact
from foi_research.read.readers import Document, Row

DATE_LINE = re.compile(
    r"(?:时间|发布时间|发布日期|日期|发文日期|成文日期|更新时间|公开日期)\s*[::]?\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"
)
BARE_DATE = re.compile(r"(?:^|\s)(20\d{2}|19\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s|$)")
_TITLE_WORD = re.compile(r"(?:报告|年报)$")
# the labels a scraped page puts before a document's title ('标题:…')
_META_WORDS = ("标题", "题名", "名称", "文件名称", "文章标题", "主题", "title")
META_PREFIX = re.compile(r"^(?:" + "|".join(_META_WORDS) + r")\s*[::]\s*", re.I)
# the characters META_PREFIX can start with (either case: re.I)
_META_FIRST = frozenset(c for w in _META_WORDS for c in (w[0].lower(), w[0].upper()))


def strip_meta_prefix(s: str) -> str:
    """META_PREFIX.sub("", s), the pattern only tried when s starts as it must (most lines)."""
    return META_PREFIX.sub("", s) if s[:1] in _META_FIRST else s


_NOT_TITLE = re.compile(
    r"^(?:本报告|本年度报告|根据|依据|按照|现将|现公布|本年报|报告|》|<|[·•●◆■□▪>\-*])|[。;]|当前位置|您当前|>|上一篇|下一篇|相关|链接|推荐|阅读|附件"
)


@dataclass
class Segment:
    rows: list[Row]
    kind: str  # 'report' or 'guide'
    title_idx: int | None  # index (within rows) of the title line, if found
    date_idx: int | None


def is_title(norm: str) -> bool:
    if "报" not in norm:  # every title ends in 报告 or 年报
        return False
    s = strip_meta_prefix(compact(norm))
    if not (4 <= len(s) <= 90):
        return False
    if _NOT_TITLE.search(s):
        return False
    return bool(_TITLE_WORD.search(s)) and ("公开" in s or "年度" in s or "年报" in s)


def is_guide_title(norm: str) -> bool:
    if "南" not in norm:  # 指南, possibly spaced
        return False
    s = compact(norm)
    return len(s) <= 60 and "指南" in s and "报告" not in s and not _NOT_TITLE.search(s)


def date_of(norm: str) -> tuple[int, int, int] | None:
    if len(norm) <= 256:
        return _date_of_cached(norm)
    return _date_of(norm)


def _date_of(norm: str) -> tuple[int, int, int] | None:
    m = DATE_LINE.search(norm)
    if not m:
        m = BARE_DATE.search(norm)
        if not m or len(compact(norm)) > 60:
            return None
    y, mo, d = (int(x) for x in m.groups())
    if 1990 <= y <= 2100 and 1 <= mo <= 12 and 1 <= d <= 31:
        return y, mo, d
    return None


_date_of_cached = functools.lru_cache(maxsize=8192)(_date_of)


def _next_nonempty(rows: list[Row], i: int, k: int) -> list[int]:
    out = []
    j = i + 1
    while j < len(rows) and len(out) < k:
        if rows[j].norm.strip():
            out.append(j)
        j += 1
    return out


_YEAR_TITLE = re.compile(r"^(?:(?:19|20)\d{2}年度?)?(?:政府|政务)?信息公开")
_AGENCY_LINE = re.compile(r"^[\u4e00-\u9fff()]{2,40}$")


def _title_start(rows: list[Row], i: int) -> int:
    """A title cut over two lines ('荆门市沙洋县统计局' / '2019年度政府信息公开工作年度报告')
    starts at the agency line."""
    s = strip_meta_prefix(compact(rows[i].norm))
    if not _YEAR_TITLE.match(s):
        return i
    for k in range(i - 1, max(-1, i - 4), -1):
        p = compact(rows[k].norm)
        if not p:
            continue
        if rows[k].kind == "text" and _AGENCY_LINE.match(p) and not is_title(p) and not date_of(p):
            return k
        break
    return i


def split(doc: Document) -> list[Segment]:
    rows = doc.rows
    starts: list[tuple[int, str, int]] = []  # (row index, kind, date row index)
    for i, r in enumerate(rows):
        norm = r.norm
        # a title holds 报 (报告, 年报), a guide's title 南 (指南): most lines are neither
        if ("报" not in norm and "南" not in norm) or r.kind != "text" or not norm.strip():
            continue
        kind = "report" if is_title(norm) else "guide" if is_guide_title(norm) else None
        if kind is None:
            continue
        for j in _next_nonempty(rows, i, 3):
            if rows[j].kind == "text" and date_of(rows[j].norm) and len(compact(rows[j].norm)) <= 60:
                starts.append((_title_start(rows, i), kind, j))
                break
    if len([s for s in starts if s[1] == "report"]) == 0:
        guides = [s for s in starts if s[1] == "guide"]
        if not guides:
            head_lines = list(islice((r for r in rows if r.kind == "text" and r.norm.strip()), 5))
            if any(is_guide_title(r.norm) for r in head_lines) and not any(is_title(r.norm) for r in head_lines):
                return [Segment(rows, "guide", 0, None)]
            return [Segment(rows, "report", None, None)]
        g0 = guides[0][0]
        head = rows[:g0]
        segs = [Segment(rows[g0:], "guide", 0, guides[0][2] - g0)]
        if sum(len(r.norm.strip()) for r in head) > 400:
            segs.insert(0, Segment(head, "report", None, None))
        return segs
    segs: list[Segment] = []
    bounds = [s[0] for s in starts] + [len(rows)]
    head = rows[: starts[0][0]]
    for (i, kind, dj), end in zip(starts, bounds[1:]):
        segs.append(Segment(rows[i:end], kind, 0, dj - i))
    if starts[0][1] == "report" and any(r.norm.strip() for r in head):
        # text before the first title: page chrome or an untitled report; keep it only when it
        # holds tables or substantial prose
        body = sum(len(r.norm.strip()) for r in head)
        if body > 400:
            segs.insert(0, Segment(head, "report", None, None))
    return segs
