"""Readers for the statistical tables of a report: table 2 (proactive disclosure), table 3
(requests), table 4 (review and litigation) and the pre-2019 statistics table.

They work on the item stream of layout.py and recognise labels only through codes.py. Each
reader returns what it read, where it read it, and the problems it met; a value is only placed
in a column when its position proves it belongs there, otherwise the cell stays null and a
problem says why.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from foi_research.reference import codes
from foi_research.reference.codes import APPEAL_OUTCOMES, APPLICANTS, PROACTIVE_LAYOUT, PROCEEDINGS, legacy_family, match_appeal_outcome, match_applicant, match_legacy_label, match_proactive_item, match_proactive_measure, match_proceeding, match_request_group, match_request_row, rows_for_template
from foi_research.parse.layout import SENTENCE_KEY as _SENT
from foi_research.parse.layout import Item, collect
from foi_research.model import Problem, Val
from foi_research.reference.normalize import compact, label_key

_CN_NUM = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "十": "10"}
_SECTION = re.compile(r"第二十条第?\(?([一二三四五六七八九十]{1,2})")
_TOP_HEADING = re.compile(r"^[一二三四五六七八九十]{1,3}[、.]")
_SECTION_END = re.compile(r"^[五六七]、")
_UNIT_LABELS = frozenset({"件", "条", "次", "个", "人", "人次", "万元", "元", "项", "篇", "期", "份", "单位", "家", "宗"})


_ORD = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.,:]|\([一二三四五六七八九十\d]{1,3}\)|\d{1,2}[、.,)](?!\d)|第[一二三四五六七八九十]+)")


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
        if _flags(nxt.norm)[2] or len(nxt.key) > 30:
            break
        if not (same(nxt.key) or unknown(nxt.key)):
            break
        k += 1
    return k


def _val_of(it: Item, integer: bool = True) -> tuple[Val, str | None]:
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


# ---------------------------------------------------------------------------------------------
# Table 3


@dataclass
class T3:
    found: bool = False
    start: int = -1
    end: int = -1
    columns: list[str] = field(default_factory=lambda: list(APPLICANTS))
    cells: dict[tuple[str, str], Val] = field(default_factory=dict)
    rows: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    other_as_group: bool = False
    other_total_row: bool = False
    finished: bool = False  # reached carried_forward

    @property
    def template_votes(self) -> str | None:
        if self.other_as_group or any(r in self.rows for r in ("other_no_correction", "other_no_fee", "other_other")):
            return "2021"
        if self.other_total_row:
            return "2019"
        return None

    def missing_rows(self, template: str) -> list[str]:
        return [r for r in rows_for_template(template) if r not in self.rows]


def _row_total_ok(vals: list[Item]) -> bool:
    nums = [v.value.value if v.value.kind == "number" else 0 for v in vals]
    if vals[-1].value.kind != "number":
        return False
    return sum(nums[:-1]) == nums[-1]


def find_t3(items: list[Item], start: int = 0) -> int:
    """Index of the first table-3 row label. Normally 一、本年新收…; an excerpt that starts in the
    middle of table 3 starts at its first row label that is followed by seven values."""
    for j in range(start, len(items)):
        it = items[j]
        if it.label and match_request_row(it.key, None) == "new_received":
            return j
    candidate = _t3_candidate
    for j in range(start, len(items)):
        it = items[j]
        if not it.label or candidate(it.key) is None:
            continue
        col = collect(items, j, len(APPLICANTS))
        if col.items is not None and all(v.value.kind == "number" for v in col.items):
            return j
    return -1


@functools.lru_cache(maxsize=None)  # one entry per table-3 row code
def _row_group(code: str) -> str | None:
    """The group of a table-3 row (不予公开 …), from the code list."""
    return codes.V("request_rows")[code].extra.get("group")


@functools.lru_cache(maxsize=16384)
def _t3_candidate(key: str) -> str | None:
    """The table-3 row a label may start an excerpt of table 3 with (find_t3): not a label of
    the pre-2019 table, a table-3 row (其他 as the row of (六)), not a bare 总计/合计."""
    if match_legacy_label(key, None) is not None:
        return None
    code = match_request_row(key, None) or (match_request_row(key, "other") if key == "其他" else None)
    if code is None or code == "total_handled" and key in ("总计", "合计"):
        return None
    return code


def _is_t4_start(items: list[Item], j: int) -> bool:
    it = items[j]
    if not it.is_text:
        return False
    if match_proceeding(it.key) != "reconsideration":
        return False
    if "数量" in it.key:  # legacy 行政复议数量
        return False
    if len(it.key) <= 12:
        return True
    return "诉讼" in it.key and len(it.key) <= 40 and not _SENT.search(it.key)


def _ends_section(it: Item) -> bool:
    return _flags(it.norm)[0]


def _norm_flags(norm: str) -> tuple[bool, bool, bool]:
    """Of a cell's compacted text: (it ends table 3's section, it is a top-level heading 一、,
    it starts with an ordinal (_ORD))."""
    k = compact(norm)
    return (
        bool(_SECTION_END.match(k)) or "存在的主要问题" in k or "其他需要报告" in k,
        bool(_TOP_HEADING.match(k)),
        bool(_ORD.match(k)),
    )


_norm_flags_cached = functools.lru_cache(maxsize=16384)(_norm_flags)


def _flags(norm: str) -> tuple[bool, bool, bool]:
    return _norm_flags_cached(norm) if len(norm) <= 256 else _norm_flags(norm)


def read_t3(items: list[Item]) -> T3:
    t = T3()
    first = find_t3(items)
    if first < 0:
        # a table-3 header without any row (cut off right after the header)
        for j, it in enumerate(items):
            if it.is_text and ("勾稽关系" in it.key or it.key == "申请人情况"):
                t.found, t.start, t.end = True, j, len(items)
                t.problems.append(Problem("t3_truncated", "warning", "table 3 header printed but no row of it is visible (document cut off)", line=it.line))
                return t
        return t
    t.found, t.start = True, first
    # header: applicant labels among the ~25 items before the first row
    hdr = []
    for it in items[max(0, first - 25) : first]:
        if it.is_text:
            a = match_applicant(it.key)
            if a and a not in hdr:
                hdr.append(a)
    # The columns are the template's seven; header cells are often split over lines ('商业' /
    # '企业'), so the header is not trusted to say otherwise. Rows with another number of
    # values are reported, not guessed.
    n = len(t.columns)
    group: str | None = None
    j = first
    orphan: list[Item] = []
    while j < len(items):
        it = items[j]
        if not it.is_text:
            if it.is_number:
                orphan.append(it)
            j += 1
            continue
        if not it.label:
            if _SENT.search(it.key) and t.rows:
                break  # prose after the table
            j += 1
            continue
        if _is_t4_start(items, j) or _ends_section(it):
            break
        code = match_request_row(it.key, group)
        grp = match_request_group(it.key)
        if code is None and grp is None:
            # a label cut in two ('(一)予' / '以公开'): try it joined with the next label cell
            nxt = items[j + 1] if j + 1 < len(items) else None
            if nxt is not None and nxt.label and nxt.multi == it.multi and not _flags(nxt.norm)[2]:
                joined = label_key(it.norm + nxt.norm)
                code, grp = match_request_row(joined, group), match_request_group(joined)
                if code is not None or grp is not None:
                    j += 1
                    it = items[j]
        if code == "other_total":
            nxt = items[j + 1] if j + 1 < len(items) else None
            values_follow = nxt is not None and not nxt.is_text
            subrows_follow = (
                nxt is not None
                and nxt.is_text
                and match_request_row(nxt.key, "other") in ("other_no_correction", "other_no_fee", "other_other")
            )
            if not values_follow and subrows_follow:
                code, grp = None, "other"
                t.other_as_group = True
            # else: the 2019 template's single (六) row (its cells may all be blank)
        if code is None:
            if grp:
                group = grp
            elif orphan and t.rows:
                pass
            j += 1
            continue
        if orphan:
            t.problems.append(
                Problem(
                    "t3_unplaced_values",
                    "warning",
                    f"{len(orphan)} value(s) in table 3 that follow no recognised row label ({', '.join(o.raw for o in orphan[:8])}); left out",
                    line=orphan[0].line,
                )
            )
            orphan = []
        if code in t.rows:
            if t.finished:
                break
            t.problems.append(Problem("t3_duplicate_row", "warning", f"row {code} printed twice in table 3; the first is kept", {"row_code": code}, it.line))
            j += 1
            continue
        row_group = _row_group(code)
        if row_group:
            group = row_group
        elif code in ("new_received", "carried_over", "granted", "partially_granted", "total_handled", "carried_forward"):
            group = None
        if code == "other_total":
            t.other_total_row = True
        g0 = group
        jl = skip_continuations(
            items,
            j,
            same=lambda k, c=code: match_request_row(k, g0) == c,
            unknown=lambda k: match_request_row(k, g0) is None and match_request_group(k) is None and match_applicant(k) is None and match_proceeding(k) is None,
        )
        col = collect(items, jl, n, verify=_row_total_ok)
        t.rows.append(code)
        if col.items is None:
            if col.problem:
                raw = " | ".join(x.raw for x in col.seen) or "(nothing)"
                t.problems.append(
                    Problem(
                        "t3_row_unreadable",
                        "warning",
                        f"table 3 row '{it.raw}': {col.problem}; cells left null (printed: {raw})",
                        {"row_code": code},
                        it.line,
                    )
                )
                if col.end >= len(items):
                    t.rows.pop()  # the document ends inside this row: it is not complete
            elif col.end >= len(items):
                t.rows.pop()  # the document ends at this label: cut off, not a blank row
                t.problems.append(Problem("t3_truncated", "warning", f"table 3 is cut off at row '{it.raw}'", {"row_code": code}, it.line))
            else:
                t.problems.append(Problem("t3_row_empty", "warning", f"table 3 row '{it.raw}' has no values printed; cells left null", {"row_code": code}, it.line))
                for a in t.columns:
                    t.cells[(code, a)] = Val(None, "", it.line)
        else:
            if col.ambiguous:
                t.problems.append(
                    Problem("t3_alignment", "info", f"table 3 row '{it.raw}': blank cells at both ends, columns placed by the row total", {"row_code": code}, it.line)
                )
            for a, v in zip(t.columns, col.items):
                val, err = _val_of(v)
                t.cells[(code, a)] = val
                if err:
                    t.problems.append(Problem("t3_bad_cell", "warning", f"table 3 {code}/{a}: {err}", {"row_code": code, "applicant": a}, v.line))
                elif val.value is not None and val.value < 0:
                    t.problems.append(Problem("t3_negative", "warning", f"table 3 {code}/{a} is negative ({v.raw})", {"row_code": code, "applicant": a}, v.line))
        j = max(col.end, j + 1)
        if code == "carried_forward":
            t.finished = True
            break
    t.end = j
    if orphan and not t.finished:
        t.problems.append(
            Problem("t3_unplaced_values", "warning", f"{len(orphan)} value(s) after the last recognised table-3 row were left out", line=orphan[0].line)
        )
    return t


# ---------------------------------------------------------------------------------------------
# Table 4


@dataclass
class T4:
    found: bool = False
    start: int = -1
    end: int = -1
    cells: dict[tuple[str, str], Val] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    complete: bool = False


def read_t4(items: list[Item], start: int = 0) -> T4:
    t = T4()
    j0 = -1
    for j in range(max(0, start), len(items)):
        if _is_t4_start(items, j):
            # a header of outcome labels must follow
            window = items[j + 1 : j + 40]
            outcomes = {match_appeal_outcome(w.key) for w in window if w.is_text and w.label and len(w.key) <= 8}
            split_litigation = any(w.is_text and ("复议后起诉" in w.key or "未经复议" in w.key) for w in window[:12])
            if len(outcomes - {None}) >= 2 or split_litigation or "复议后起诉" in items[j].key:
                j0 = j
                break
    if j0 < 0:
        return t
    t.found, t.start = True, j0
    # header rows: every row holding a label; the values start at the first row without one
    k = j0
    order: list[str] = []
    while k < len(items) and k - j0 <= 120:
        r = items[k].row
        grp_end = k
        while grp_end < len(items) and items[grp_end].row == r:
            grp_end += 1
        grp = items[k:grp_end]
        if any(g.is_text for g in grp):
            for g in grp:
                o = match_appeal_outcome(g.key) if g.is_text and g.label else None
                if o:
                    order.append(o)
            k = grp_end
            continue
        if not any(g.is_number for g in grp):
            if not grp[0].multi:
                break  # one cell per line: a blank mark ('—', '/') is the first value
            nxt = grp_end < len(items) and not items[grp_end].is_text
            if len(grp) >= 15 and not nxt:
                break  # the values row itself, every cell blank
            k = grp_end  # a row of blank cells inside the header
            continue
        break
    if k >= len(items):
        t.problems.append(Problem("t4_truncated", "warning", "table 4 header printed but its values are cut off", line=items[j0].line))
        t.end = k
        return t
    vals: list[Item] = []
    first = items[k]
    if first.multi:
        rows: list[list[Item]] = []
        while k < len(items) and not items[k].is_text and items[k].multi:
            r = items[k].row
            block = []
            while k < len(items) and items[k].row == r:
                block.append(items[k])
                k += 1
            if any(b.is_text for b in block):
                break
            rows.append(block)
            if sum(len(b) for b in rows) >= 15:
                break
        if len(rows) == 1 and len(rows[0]) >= 15:
            from foi_research.parse.layout import windows

            cands = windows(rows[0], 15)
            if len(cands) == 1:
                vals = cands[0]
            else:
                t.problems.append(
                    Problem("t4_row_unreadable", "warning", f"table 4 values row has {len(rows[0])} cells for 15 columns; cells left null", line=first.line)
                )
        elif rows and all(len([x for x in b]) == 5 for b in rows) and len(rows) == 3:
            vals = [x for b in rows for x in b]
        elif rows:
            flat = [x for b in rows for x in b]
            from foi_research.parse.layout import windows

            cands = windows(flat, 15) if len(flat) >= 15 else []
            if len(cands) == 1:
                vals = cands[0]
            else:
                t.problems.append(
                    Problem(
                        "t4_row_unreadable",
                        "warning",
                        f"table 4 values printed as {len(flat)} cells for 15 columns; cells left null (printed: {' | '.join(x.raw for x in flat[:20])})",
                        line=first.line,
                    )
                )
    else:
        while k < len(items) and not items[k].is_text and len(vals) < 15:
            if items[k].multi:
                break
            vals.append(items[k])
            k += 1
        if len(vals) < 15:
            t.problems.append(
                Problem(
                    "t4_truncated",
                    "warning",
                    f"only {len(vals)} of the 15 table-4 values are visible; cells left null",
                    line=first.line,
                )
            )
            vals = []
    t.end = k
    if not vals:
        return t
    cols = _t4_columns(order)
    if cols is None:
        cols = [(p, o) for p in PROCEEDINGS for o in APPEAL_OUTCOMES]
    for (p, o), v in zip(cols, vals):
        val, err = _val_of(v)
        t.cells[(p, o)] = val
        if err:
            t.problems.append(Problem("t4_bad_cell", "warning", f"table 4 {p}/{o}: {err}", {"proceeding": p}, v.line))
    t.complete = True
    return t


def _t4_columns(order: list[str]) -> list[tuple[str, str]] | None:
    """Column order from the printed header when it names all 15 outcome columns."""
    if len(order) != 15:
        return None
    cols = []
    for i, p in enumerate(PROCEEDINGS):
        grp = order[i * 5 : i * 5 + 5]
        if sorted(grp) != sorted(APPEAL_OUTCOMES):
            return None
        cols += [(p, o) for o in grp]
    return cols


# ---------------------------------------------------------------------------------------------
# Table 2


@dataclass
class T2:
    found: bool = False
    start: int = -1
    cells: list[tuple[str, str, Val]] = field(default_factory=list)  # item, measure, value
    items_seen: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)  # section -> template it was read with
    problems: list[Problem] = field(default_factory=list)
    votes: dict[str, int] = field(default_factory=dict)

    @property
    def template_vote(self) -> str | None:
        if not self.votes:
            return None
        return max(self.votes, key=self.votes.get)


_V2019 = {"new_made", "new_published", "total_public", "prev_count", "change", "proj_count"}
_V2021 = {"issued", "repealed", "in_force"}


def read_t2(items: list[Item], start: int, end: int, template_hint: str | None) -> T2:
    t = T2()
    section: str | None = None
    measures: list[str] = []
    header_unit: str | None = None
    sec_template: str | None = None
    j = start
    while j < end:
        it = items[j]
        if not it.is_text:
            j += 1
            continue
        norm = it.norm
        keyc = compact(norm) if "条" in norm else None
        if keyc is not None and "第二十条" in keyc:
            # the section numeral may sit in the next cell of the same row
            txt = keyc
            k = j + 1
            while k < end and items[k].row == it.row and items[k].is_text:
                txt += compact(items[k].norm)
                k += 1
            m = _SECTION.search(txt)
            if m:
                section = _CN_NUM.get(m.group(1), m.group(1))
                measures, header_unit, sec_template = [], None, None
                t.found = True
                if t.start < 0:
                    t.start = j
            j += 1
            continue
        if section is None or not it.label:
            j += 1
            continue
        item = match_proactive_item(it.key, section)
        if item is None:
            m = match_proactive_measure(it.key)
            if m:
                if keyc is None:
                    keyc = compact(norm)
                measures.append(m)
                if "万元" in keyc:
                    header_unit = "wan_yuan"
                elif "元" in keyc and m == "amount":
                    header_unit = "yuan"
                ms = set(measures)
                if ms & _V2019:
                    sec_template = "2019"
                elif ms & _V2021:
                    sec_template = "2021"
                elif section in ("5", "6", "8") and len(ms) == 1 and "本年" in keyc:
                    sec_template = "2021"  # 本年处理决定数量 / 本年收费金额 alone
            j += 1
            continue
        tmpl = sec_template or t.template_vote or template_hint
        if tmpl not in PROACTIVE_LAYOUT:
            tmpl = "2021" if {"decisions", "amount"} >= set(measures) and measures else (template_hint or "2021")
        layout = PROACTIVE_LAYOUT[tmpl].get(section)
        if layout is None:
            # a section this template does not print (e.g. (九) in the 2021 template)
            other = "2019" if tmpl == "2021" else "2021"
            layout = PROACTIVE_LAYOUT[other].get(section)
            tmpl = other
            if layout is None:
                j += 1
                continue
        if sec_template:
            t.votes[sec_template] = t.votes.get(sec_template, 0) + 1
        t.sections[section] = tmpl
        sec = section
        jl = skip_continuations(
            items,
            j,
            same=lambda k, c=item, sec=sec: match_proactive_item(k, sec) == c,
            unknown=lambda k, sec=sec: match_proactive_item(k, sec) is None and match_proactive_measure(k) is None and "第二十条" not in k,
        )
        col = collect(items, jl, len(layout))
        if item in t.items_seen:
            j = max(col.end, j + 1)
            continue
        t.items_seen.append(item)
        if col.items is None:
            if col.problem:
                t.problems.append(
                    Problem(
                        "t2_row_unreadable",
                        "warning",
                        f"table 2 row '{it.raw}': {col.problem}; cells left null",
                        {"item": item},
                        it.line,
                    )
                )
        else:
            for meas, v in zip(layout, col.items):
                val, err = _val_of(v, integer=False)
                unit = _t2_unit(meas, val, header_unit, tmpl, item)
                val.unit = unit
                if isinstance(val.value, float) and val.value.is_integer():
                    val.value = val.value
                t.cells.append((item, meas, val))
                if err:
                    t.problems.append(Problem("t2_bad_cell", "warning", f"table 2 {item}/{meas}: {err}", {"item": item, "measure": meas}, v.line))
                elif meas == "amount" and val.value is not None and unit is None:
                    t.problems.append(
                        Problem("t2_unit_missing", "info", f"table 2 {item}/{meas} printed without a unit ('{val.raw}'); unit left null", {"item": item, "measure": meas}, v.line)
                    )
        j = max(col.end, j + 1)
    return t


def _t2_unit(measure: str, val: Val, header_unit: str | None, tmpl: str, item: str) -> str | None:
    if measure != "amount":
        return "count"
    if val.unit in ("wan_yuan", "yuan"):
        return val.unit
    if header_unit:
        return header_unit
    if item == "fees" and tmpl == "2021":
        return "wan_yuan"  # the 2021 template prints 本年收费金额(单位:万元)
    return None


# ---------------------------------------------------------------------------------------------
# Pre-2019 statistics table


@dataclass
class Legacy:
    found: bool = False
    start: int = -1
    values: dict[str, Val] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def find_legacy(items: list[Item], min_rows: int = 2) -> int:
    """Start of the pre-2019 statistics table: its 收到申请数 row, when at least one more row of
    the table's request section follows (a table cut off early still counts)."""
    first = -1
    seen: set[str] = set()
    for j, it in enumerate(items):
        if it.label and len(it.key) <= 16:
            c = match_legacy_label(it.key, "received" if first >= 0 else None)
            if c is None:
                continue
            if c == "received" and first < 0:
                first = j
            if first >= 0:
                seen.add(c)
                if len(seen) >= min_rows:
                    return first
    return -1


def read_legacy(items: list[Item], min_rows: int = 2) -> Legacy:
    """The pre-2019 statistics table. Its start must be confirmed by `min_rows` request rows
    (1 when the table's title or header is known to be printed)."""
    lg = Legacy()
    first = find_legacy(items, min_rows)
    if first < 0:
        return lg
    lg.found, lg.start = True, first
    section: str | None = None
    j = first
    while j < len(items):
        it = items[j]
        if not it.label:
            j += 1
            continue
        top = _flags(it.norm)[1]
        code = match_legacy_label(it.key, section)
        if code is None:
            if top:
                section = None
            j += 1
            continue
        fam = legacy_family(code)
        if codes.legacy_parents().get(code) is None:
            section = fam
        sec = section
        jl = skip_continuations(
            items, j, same=lambda k, c=code, sec=sec: match_legacy_label(k, sec) == c, unknown=lambda k, sec=sec: match_legacy_label(k, sec) is None and k not in _UNIT_LABELS
        )
        col = collect(items, jl, 1, skip_units=True)
        if code not in lg.values:
            if col.items:
                val, err = _val_of(col.items[0])
                lg.values[code] = val
                if err:
                    lg.problems.append(Problem("legacy_bad_cell", "warning", f"statistics table {code}: {err}", {"indicator": code}, it.line))
            elif col.problem:
                lg.problems.append(
                    Problem("legacy_unreadable", "warning", f"statistics table '{it.raw}': {col.problem}; left null", {"indicator": code}, it.line)
                )
            elif col.end >= len(items):
                lg.problems.append(Problem("legacy_truncated", "warning", f"statistics table cut off at '{it.raw}'", {"indicator": code}, it.line))
            else:
                lg.values[code] = Val(None, "", it.line)
        j = max(col.end, j + 1)
    # a table that ends the document inside a section whose rows are incomplete was cut off
    if lg.values and not any(p.check == "legacy_truncated" for p in lg.problems):
        last_line = max(v.line for v in lg.values.values())
        tail_text = [x for x in items if x.line > last_line and x.is_text and x.label]
        fam = legacy_family(max(lg.values, key=lambda c: lg.values[c].line))
        kids = [c for c, par in codes.legacy_parents().items() if par == fam]
        if not tail_text and kids and not all(k in lg.values for k in kids):
            missing = [k for k in kids if k not in lg.values]
            lg.problems.append(
                Problem("legacy_truncated", "warning", f"statistics table ends inside its {fam} rows (missing {', '.join(missing)}): cut off?", {"indicator": fam}, last_line)
            )
    return lg
