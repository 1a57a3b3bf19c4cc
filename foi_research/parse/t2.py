"""Table 2 (主动公开政府信息情况): the items of 第二十条 of the regulation, each with the measures
its template prints (reference/codes.yaml proactive_layout), units from the cell or the header."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from foi_research.model import Problem, Val
from foi_research.parse.cells import cell_value, skip_continuations
from foi_research.parse.layout import Item, collect
from foi_research.reference.codes import PROACTIVE_LAYOUT, match_proactive_item, match_proactive_measure
from foi_research.reference.normalize import compact, label_key

_CN_NUM = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "十": "10"}
_SECTION = re.compile(r"第二十条第?\(?([一二三四五六七八九十]{1,2})")


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
    frag = ""  # the last header fragment that matched nothing
    last_measure = ""  # the text of the last measure header
    j = start
    while j < end:
        it = items[j]
        if not it.is_text:
            frag = ""
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
            wrapped = _wrapped_item(items, j, end, section)
            if wrapped is not None:
                item = wrapped
        if item is None:
            m = match_proactive_measure(it.key)
            if m is None and frag:
                # a header cell cut over two lines ('采购总金' / '额（万元）')
                joined = frag + compact(norm)
                m = match_proactive_measure(label_key(joined))
                if m is not None:
                    keyc = joined
            if m is None:
                frag = compact(norm) if len(it.key) <= 12 else ""
                if measures and measures[-1] == "amount" and "元" in frag and len(frag) <= 10:
                    # the unit of the amount header printed on a line of its own ('（万元）',
                    # or the end of '…（单位：万' / '元）')
                    header_unit = "wan_yuan" if "万元" in last_measure + frag else "yuan"
            else:
                frag = ""
            if m:
                if keyc is None:
                    keyc = compact(norm)
                measures.append(m)
                last_measure = keyc
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
                val, err = cell_value(v, integer=False)
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


def _wrapped_item(items: list[Item], j: int, end: int, section: str) -> str | None:
    """An item whose label wrapped around its values ('其 他 对 外 管' / '3 0 8288' / '理 服 务 事 项'):
    the label's end is the text right after the values."""
    first = items[j]
    if match_proactive_measure(first.key) is not None:
        return None
    # wrapped above its values: '其 他 对 外 管' / '理 服 务 事 项' / '3 -309 71664'
    if j + 2 < end and items[j + 1].is_text and items[j + 1].label and not items[j + 2].is_text:
        second = items[j + 1]
        if match_proactive_item(second.key, section) is None and match_proactive_measure(second.key) is None:
            got = match_proactive_item(label_key(first.norm + second.norm), section)
            if got is not None:
                return got
    k = j + 1
    while k < end and not items[k].is_text:
        k += 1
    if k >= end or not items[k].label or not any(x.value.kind == "number" for x in items[j + 1 : k]):
        return None
    second = items[k]
    if match_proactive_item(second.key, section) is not None or match_proactive_measure(second.key) is not None:
        return None
    return match_proactive_item(label_key(first.norm + second.norm), section)


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


