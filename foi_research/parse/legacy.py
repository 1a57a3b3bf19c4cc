"""The pre-2019 statistics table (统计表: 统计指标 / 单位 / 统计数): request counts by channel,
completion, answers by category and reason, reconsideration, litigation and complaints. Labels
repeated across sections (维持具体行政行为数, 其他情形数) resolve through the section they sit in."""
from __future__ import annotations

from dataclasses import dataclass, field

from foi_research.model import Problem, Val
from foi_research.parse.cells import PAGE_NUMBER, UNIT_LABELS, cell_value, flags, skip_continuations
from foi_research.parse.layout import Item, collect
from foi_research.reference import codes
from foi_research.reference.codes import legacy_family, match_legacy_label


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
        top = flags(it.norm)[1]
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
            items, j, same=lambda k, c=code, sec=sec: match_legacy_label(k, sec) == c, unknown=lambda k, sec=sec: match_legacy_label(k, sec) is None and k not in UNIT_LABELS
        )
        col = collect(items, jl, 1, skip_units=True)
        if code not in lg.values:
            if col.items:
                val, err = cell_value(col.items[0])
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
        tail_text = [x for x in items if x.line > last_line and x.is_text and x.label and not PAGE_NUMBER.match(x.norm.strip())]
        fam = legacy_family(max(lg.values, key=lambda c: lg.values[c].line))
        kids = [c for c, par in codes.legacy_parents().items() if par == fam]
        if not tail_text and kids and not all(k in lg.values for k in kids):
            missing = [k for k in kids if k not in lg.values]
            lg.problems.append(
                Problem("legacy_truncated", "warning", f"statistics table ends inside its {fam} rows (missing {', '.join(missing)}): cut off?", {"indicator": fam}, last_line)
            )
    return lg
