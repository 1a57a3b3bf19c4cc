"""Split a document into the reports it holds.

A report starts at its title line (…年度报告, …年报) followed by what opens a report: a date
line (时间: / 发布日期 …) within three lines, or within the next dozen lines the report's own
structure (the opening sentence 本报告根据…编制 / 根据《中华人民共和国政府信息公开条例》…, the
overview heading 一、总体情况 / 一、概述, a numbered section heading, a table, a paragraph of
prose). So concatenated reports, repeated reports and scraped listings each give one report per
title, whether or not a date follows it; a title followed by nothing of a report (a list of
links, a page footer) starts nothing. A page title that starts nothing, just above a report's
own title, belongs to that report; a title with a date but no body, followed by another title of
the same year and agency, is the page title of that report (report._merge_repeats, using
`bodyless` and `same_report` here). A 信息公开指南 (guide, starting with its title and a date) is
not a report.

Reports without any title line (copies that lost it) are told apart by their structure: a
second report body opening (the overview heading 一、总体情况 / 一、概述, or 本报告…编制) after the
first report has shown tables or later sections starts a new report.

Every pattern here is applied to one line at a time, is anchored or has bounded repeats, and
runs in time linear in the line (no nested quantifiers).
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
# (the Chinese labels also without a colon: a metadata table prints '标   题 县政府办2022年度…'; no
# agency or title starts with these words)
META_PREFIX = re.compile(r"^(?:(?:" + "|".join(_META_WORDS) + r")\s*[::]|(?:" + "|".join(w for w in _META_WORDS if "题" in w or w == "文件名称") + r")(?=\s|[\u4e00-\u9fff]))\s*", re.I)
# the characters META_PREFIX can start with (either case: re.I)
_META_FIRST = frozenset(c for w in _META_WORDS for c in (w[0].lower(), w[0].upper()))


def strip_meta_prefix(s: str) -> str:
    """META_PREFIX.sub("", s), the pattern only tried when s starts as it must (most lines)."""
    return META_PREFIX.sub("", s) if s[:1] in _META_FIRST else s


_NOT_TITLE = re.compile(
    r"^(?:本报告|本年度报告|根据|依据|按照|现将|现公布|本年报|报告|》|<|[·•●◆■□▪>\-*])|[。;]|当前位置|您当前|>|上一篇|下一篇|相关|链接|推荐|阅读|附件"
)
# a numbered heading inside a document ('(七)政府信息公开年报' in a guide, '1.…'), never a title
_ENUMERATED = re.compile(r"^(?:[(\[【]?[一二三四五六七八九十\d]{1,3}[)\]】、.,]|第[一二三四五六七八九十\d]{1,3}[章节部分条])")


@dataclass
class Segment:
    rows: list[Row]
    kind: str  # 'report' or 'guide'
    title_idx: int | None  # index (within rows) of the first line of the title block, if found
    date_idx: int | None
    head: int = 0  # rows up to and including the title line that started the segment


def is_title(norm: str) -> bool:
    if "报" not in norm:  # every title ends in 报告 or 年报
        return False
    s = strip_meta_prefix(compact(norm))
    if not (4 <= len(s) <= 90):
        return False
    if _NOT_TITLE.search(s) or _ENUMERATED.match(s):
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
    return _date_of(norm[:256])


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


# ---- what opens a report's body (applied to the compacted line)
# the overview heading of every template: 一、总体情况 (2019, 2021), 一、概述 (2008-2018)
_OVERVIEW = re.compile(r"^[一1][、.,:]?(?:工作)?(?:总体情况|概述|基本情况|概况|总体概况|总述)")
_FIRST_SECTION = re.compile(r"^[一1][、.]")
# the opening sentence: 本报告根据/依据/按照…, 本年度报告是根据…, …编制本报告
_INTRO = re.compile(r"^(?:本(?:年度)?报告|本年报)(?:是|由)?[^。]{0,40}?(?:根据|依据|按照|依照)|编制本(?:年度)?(?:报告|年报)")
# … or a first sentence citing the regulation by its full name
_INTRO_REGULATION = re.compile(r"^(?:根据|依据|按照|依照|为(?:有效)?(?:施行|贯彻|落实))[^。]{0,6}《(?:中华人民共和国)?政府信息公开条例》")
_SECTION = re.compile(r"^[一二三四五六七八九十]{1,2}[、.]")
_LATER_SECTION = re.compile(r"^(?:[二三四五六七八九]|十[一二]?)[、.]")
# the first character an opening line (_OVERVIEW, _INTRO, _INTRO_REGULATION) can start with
_OPEN_FIRST = frozenset("一1本根依按为")
_WINDOW = 12  # non-empty lines after a title searched for the structure of a report
_PROSE = 50  # characters of a line of prose (with 。) that count as a report's body


def _opening(s: str) -> bool:
    """s (compacted) opens a report body: overview heading or opening sentence."""
    if not s or s[0] not in _OPEN_FIRST:
        return s.find("编制本", 0, 80) >= 0 and bool(_INTRO.search(s[:120]))
    s = s[:200]
    return bool(_OVERVIEW.match(s) or _INTRO.search(s) or _INTRO_REGULATION.match(s))


def _structure_after(rows: list[Row], i: int, stop: int) -> tuple[int | None, bool]:
    """(index of a date line within 3 non-empty lines after row i, whether the rows after i and
    before `stop` (the next title) look like a report: a date, an opening, a section heading, a
    table row or a paragraph of prose within _WINDOW non-empty lines)."""
    seen = 0
    date_j = None
    found = False
    cell_lines = 0  # table rows printed as text ('a | b | c', tab-separated)
    j = i + 1
    while j < stop and seen < _WINDOW:
        r = rows[j]
        if r.kind != "text":
            if r.cells:
                found = True
                if date_j is None:
                    break
            j += 1
            continue
        norm = r.norm
        if not norm.strip():
            j += 1
            continue
        seen += 1
        s = compact(norm)
        if seen <= 3 and date_j is None and len(s) <= 60 and date_of(norm):
            date_j = j
            found = True
            break
        if "|" in norm or "\t" in norm.strip():
            cell_lines += 1
        if not found and (
            _opening(s)
            or (_SECTION.match(s) is not None and len(s) <= 40)
            or (len(s) >= _PROSE and "。" in s)
            or cell_lines >= 2
        ):
            found = True
            if seen >= 3:
                break
        j += 1
    return date_j, found


def _body_len(rows: list[Row], skip: set[int], enough: int) -> int:
    """Characters (whitespace removed) of the text rows not in `skip`, counted up to `enough`;
    any table row counts as `enough`."""
    n = 0
    for k, r in enumerate(rows):
        if k in skip:
            continue
        if r.kind != "text":
            if r.cells:
                return enough
            continue
        n += len(compact(r.norm))
        if n >= enough:
            break
    return n


def bodyless(seg: "Segment") -> bool:
    """The segment is a title (and date) with at most a line of page chrome: no report body."""
    skip = set(range(seg.head))  # the title block (page titles, chrome, agency line, title)
    skip.add(seg.date_idx)
    if _body_len(seg.rows, skip, 80) >= 80:
        return False
    for k, r in enumerate(seg.rows):  # a short body is still a body when it opens like one
        if k not in skip and r.kind == "text" and r.norm.strip():
            c = compact(r.norm)
            if _opening(c) or (_SECTION.match(c) and len(c) <= 40):
                return False
    return True


def _agency_key(a: str) -> str:
    return a.replace("人民", "")


def same_report(a_year, a_agency, b_year, b_agency) -> bool:
    """Two title blocks may be the same report's: same year (or one unknown) and agencies equal
    or one the short form of the other ('区政府办公室' of '临淄区人民政府办公室'), or one unknown."""
    if a_year is not None and b_year is not None and a_year != b_year:
        return False
    if not a_agency or not b_agency:
        return True
    x, y = _agency_key(a_agency), _agency_key(b_agency)
    return x.endswith(y) or y.endswith(x)


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


_TITLE_TAIL_ONLY = re.compile(r"^(?:工作)?(?:年度报告|年报)$")
_TITLE_HEAD_LINE = re.compile(r"^[\u4e00-\u9fff()\d]{2,60}(?:公开|工作|情况)$")


def _title_start(rows: list[Row], i: int) -> int:
    """A title cut over two lines starts at its first line: the agency line above
    '2019年度政府信息公开工作年度报告' ('荆门市沙洋县统计局'), or the line above a bare '年度报告'
    ('道县文广新局2013年度信息公开工作')."""
    s = strip_meta_prefix(compact(rows[i].norm))
    tail_only = bool(_TITLE_TAIL_ONLY.match(s))
    if not tail_only and not _YEAR_TITLE.match(s):
        return i
    for k in range(i - 1, max(-1, i - 4), -1):
        p = compact(rows[k].norm)
        if not p:
            continue
        if rows[k].kind == "text" and not is_title(p) and not date_of(p):
            if _AGENCY_LINE.match(p) or (tail_only and _TITLE_HEAD_LINE.match(p)):
                return k
        break
    return i


# the labelled lines of a page's document header (索引号: … 发布机构: … 公开日期: …), printed
# above a report's title on government sites
_HEADER_LABEL = re.compile(
    r"^[•·*\-]?\s*(?:(?:索\s*引\s*号|发布机构|发文机关|生成日期|公文生成日期|公开日期|发布日期|发文日期|成文日期|公开方式|公开范围|"
    r"公开时限|备注/文号|发文字号|文号|主题分类|体裁分类|所属机构|所属主题|有效性|公文时效|信息来源|来源|信息分类|分类|标\s*题)\s*(?:[:：]|\s)"
    r"|当前位置|您当前的位置|您现在的位置|今天是|简体|繁体|字号|(?:网站)?首\s*页\s*[>›»/|])"
)


def _page_header_above(rows: list[Row], a: int, lo: int) -> int:
    """A report starting at row a keeps the document header its page prints just above its
    title (labelled lines: 索引号:, 发布机构:, 公开日期: …), not the report before it."""
    k = a - 1
    start = a
    while k >= lo:
        r = rows[k]
        if r.kind != "text":
            break
        norm = r.norm.strip()
        if norm:
            if len(norm) > 120 or not _HEADER_LABEL.match(norm):
                break
            start = k
        k -= 1
    return start


def _candidates(rows: list[Row]) -> list[tuple[int, str]]:
    out = []
    for i, r in enumerate(rows):
        norm = r.norm
        # a title holds 报 (报告, 年报), a guide's title 南 (指南): most lines are neither
        if ("报" not in norm and "南" not in norm) or r.kind != "text" or not norm.strip():
            continue
        kind = "report" if is_title(norm) else "guide" if is_guide_title(norm) else None
        if kind is not None:
            out.append((i, kind))
    return out


def split(doc: Document) -> list[Segment]:
    rows = doc.rows
    cands = _candidates(rows)
    # (start row, kind, title row, date row, first row of the title block)
    starts: list[tuple[int, str, int, int | None, int]] = []
    for n, (i, kind) in enumerate(cands):
        stop = cands[n + 1][0] if n + 1 < len(cands) else len(rows)
        date_j, structured = _structure_after(rows, i, stop)
        if kind == "guide":
            if date_j is not None:
                a = _title_start(rows, i)
                starts.append((a, kind, i, date_j, a))
        elif structured:
            # page titles just above that started nothing (only chrome between) belong to it
            a = _title_start(rows, i)
            for c, ck in reversed(cands[:n]):
                if ck != "report" or (starts and c <= starts[-1][2]):
                    break
                if _body_len(rows[c + 1 : a], set(), 120) >= 120:
                    break
                a = _title_start(rows, c)
            h = _page_header_above(rows, a, starts[-1][2] + 1 if starts else 0)
            if starts and h <= starts[-1][0]:
                h = a = i
            starts.append((h, kind, i, date_j, a))
    if not any(s[1] == "report" for s in starts):
        guides = [s for s in starts if s[1] == "guide"]
        if not guides:
            head_lines = list(islice((r for r in rows if r.kind == "text" and r.norm.strip()), 5))
            if any(is_guide_title(r.norm) for r in head_lines) and not any(is_title(r.norm) for r in head_lines):
                return [Segment(rows, "guide", 0, None)]
            return _split_untitled(Segment(rows, "report", None, None))
        g0, _, gt, gd, _ = guides[0]
        head = rows[:g0]
        segs = [Segment(rows[g0:], "guide", 0, gd - g0, gt - g0 + 1)]
        if sum(len(r.norm.strip()) for r in head) > 400:
            segs[:0] = _split_untitled(Segment(head, "report", None, None))
        return segs
    segs: list[Segment] = []
    bounds = [s[0] for s in starts] + [len(rows)]
    for (h, kind, t, d, a), end in zip(starts, bounds[1:]):
        segs.append(Segment(rows[h:end], kind, a - h, None if d is None else d - h, t - h + 1))
    head = rows[: starts[0][0]]
    if any(r.norm.strip() for r in head):
        # text before the first title: page chrome, or an untitled report when it holds tables or
        # substantial prose
        if _body_len(head, set(), 400) >= 400:
            segs[:0] = _split_untitled(Segment(head, "report", None, None))
        elif segs[0].kind == "report":
            # chrome above the first report is part of it (the title block may start there)
            first = segs[0]
            k = len(head)
            segs[0] = Segment(head + first.rows, "report", first.title_idx + k, None if first.date_idx is None else first.date_idx + k, first.head + k)
    out: list[Segment] = []
    for seg in segs:
        out.extend(_split_untitled(seg) if seg.kind == "report" else [seg])
    return out


_CELLISH = re.compile(r"^[-+]?\d[\d,.]*[^\d]{0,3}$")


def _split_untitled(seg: Segment) -> list[Segment]:
    """Split a report segment where a second report without a title line begins. A report body
    opens with its overview heading (一、总体情况 / 一、概述), or with an opening sentence
    (本报告根据… / 按照《中华人民共和国政府信息公开条例》…) followed by its first section heading
    (一、…). Such an opening starts a new report when the current one already had its own
    overview followed by some text, or has shown tables or later sections (二、…) since its start;
    an opening sentence 本报告…根据 / 编制本报告 alone does too, after tables or later sections."""
    rows = seg.rows
    # most reports open once, at their start: find the lines that may open a report (cheap
    # checks) and only look closer when one comes after some content
    opens = []
    for j, r in enumerate(rows):
        norm = r.norm
        # every opening holds 况 or 述 (the overview heading) or 报 or 例 (报告, 条例)
        if ("况" in norm or "述" in norm or "报" in norm or "例" in norm) and r.kind == "text":
            c = compact(norm[:200])
            if (c[:1] in _OPEN_FIRST or "编制本" in c[:80]) and (
                _OVERVIEW.match(c[:40]) or _INTRO.search(c[:120]) or _INTRO_REGULATION.match(c[:60])
            ):
                if not opens or j - opens[-1] > 6:  # (an opening sentence and its heading: one opening)
                    opens.append(j)
    if not opens or (len(opens) == 1 and opens[0] < 12):
        return [seg]
    cuts: list[int] = []
    overview = False  # the current report had its overview heading
    cells = 0  # table cells or rows seen since the current report's start (or overview)
    later = False  # a section heading after the first (二、…) seen since then
    body = 0
    intro = -1  # row of the last opening sentence, while no paragraph follows it
    t0 = seg.head - 1  # the title line (-1: none)

    def progressed() -> bool:
        return cells >= 8 or (later and body >= 300)

    for j, r in enumerate(rows):
        if r.kind != "text":
            if r.cells:
                cells += 1
                intro = -1
            continue
        norm = r.norm
        if not norm.strip():
            continue
        s = compact(norm)
        if s[:1] in _OPEN_FIRST or "编制本" in s[:80]:
            head = s[:40]
            if len(s) <= 40 and _FIRST_SECTION.match(head) and (intro >= 0 or _OVERVIEW.match(head)):
                at = intro if intro >= 0 and (not cuts or intro > cuts[-1]) else j
                if at > t0 and ((overview and body >= 200) or progressed()):
                    cuts.append(at)
                overview, cells, later, body, intro = True, 0, False, 0, -1
                continue
            if _INTRO.search(s[:120]) or _INTRO_REGULATION.match(s[:60]):
                if j > t0 and _INTRO.search(s[:120]) and progressed():
                    cuts.append(j)
                    overview, cells, later, body = False, 0, False, 0
                intro = j
                body += len(s)
                continue
        if _LATER_SECTION.match(s) and len(s) <= 40:
            later = True
            intro = -1
        elif "|" in norm or "\t" in norm.strip() or _CELLISH.match(s):
            cells += 1
            intro = -1
        body += len(s)
        if intro >= 0 and (len(s) > 60 or j - intro > 4):
            intro = -1  # a paragraph between the opening sentence and the heading: not one opening
    if not cuts:
        return [seg]
    cuts = [_header_above(rows, c, lo) for c, lo in zip(cuts, [t0 + 1, *cuts])]
    bounds = [0, *cuts, len(rows)]
    t, d, first = seg.title_idx, seg.date_idx, cuts[0]
    out = [Segment(rows[:first], "report", t if t is not None and t < first else None, d if d is not None and d < first else None, min(seg.head, first))]
    out += [Segment(rows[a:b], "report", None, None) for a, b in zip(bounds[1:], bounds[2:])]
    return out


def _header_above(rows: list[Row], cut: int, lo: int) -> int:
    """A report without a title may keep its page header: a labelled date line (时间: /
    发布日期: …, never a report's closing date) within four lines above its opening, and the
    lines just above that name it (…政府信息公开…, …年度报…, a garbled title). Returns where the
    report starts (not before `lo`)."""
    seen = 0
    k = cut - 1
    date_k = -1
    while k >= lo and seen < 4:
        r = rows[k]
        if r.kind == "text" and r.norm.strip():
            seen += 1
            if DATE_LINE.search(r.norm[:200]):
                date_k = k
                break
        elif r.kind != "text":
            break
        k -= 1
    if date_k < 0:
        return cut
    start = date_k
    k = date_k - 1
    seen = 0
    while k >= lo and seen < 3:
        r = rows[k]
        if r.kind == "text" and r.norm.strip():
            c = compact(r.norm)
            if len(c) > 60 or not ("政府信息公开" in c or "年度报" in c or "年报" in c):
                break
            seen += 1
            start = k
        k -= 1
    return start
