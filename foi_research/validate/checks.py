"""Accounting identities and consistency checks. They read extracted values and report findings;
they never change a printed value.

Table 3 (per applicant column): 一 + 二 = 三(七) + 四, and (七) = the sum of the outcome rows;
per row: 总计 = 自然人 + the five organisation columns. Table 4: each 总计 = the sum of its four
outcomes. Statistics table: channels add up to 收到申请数, 按时 + 延期 = 办结, the answer categories
add up to 申请答复数 (many reports count 告知通过其他途径办理 inside 不属于本行政机关, which the
message then says), reasons add up to 不同意公开, outcomes add up to 复议/诉讼. Prose figures are
compared with the table that states the same quantity.
"""
from __future__ import annotations

from foi_research.reference import codes
from foi_research.reference.codes import APPEAL_OUTCOMES, APPLICANTS, PROCEEDINGS
from foi_research.model import Problem, Val
from foi_research.reference import identities

_ORG = [a for a in APPLICANTS if a not in ("natural_person", "total")]


def _n(v: Val | None) -> int | float:
    return v.value if v is not None and v.value is not None else 0


def _printed(v: Val | None) -> bool:
    return v is not None and v.value is not None


_NEED = ("new_received", "carried_over", "total_handled", "carried_forward")
_ROW_ORDER = {r: i for i, r in enumerate(codes.REQUEST_ROWS)}  # codes are unique


def check_t3(cells: dict[tuple[str, str], Val], template: str, columns: list[str]) -> list[Problem]:
    out: list[Problem] = []
    rows_present = sorted({r for r, _ in cells}, key=_ROW_ORDER.__getitem__)
    get = cells.get
    # row totals
    if "total" in columns:
        parts = [a for a in columns if a != "total"]
        blank_totals = []
        for r in rows_present:
            tot = get((r, "total"))
            tv = None if tot is None else tot.value
            vs = [None if p is None else p.value for p in [get((r, a)) for a in parts]]
            if tv is None and all(v is None for v in vs):
                continue
            ns = [0 if v is None else v for v in vs]
            s = sum(ns)
            if tv is None:
                if s:
                    blank_totals.append((r, s, tot.line if tot else None))
            elif tv != s:
                out.append(
                    Problem(
                        "t3_row_total",
                        "warning",
                        f"table 3 row {r}: total {tv} != sum of applicant columns {s} (" + " + ".join(str(x) for x in ns) + ")",
                        {"row_code": r, "applicant": "total"},
                        tot.line,
                    )
                )
        if blank_totals:
            out.append(
                Problem(
                    "t3_row_total",
                    "warning",
                    f"table 3: the total cell is blank in {len(blank_totals)} row(s) whose applicant columns are filled: "
                    + ", ".join(f"{r} (parts add up to {s})" for r, s, _ in blank_totals),
                    {"applicant": "total", "row_code": blank_totals[0][0]},
                    blank_totals[0][2],
                )
            )
    outcomes = codes.outcome_rows(template) if template in ("2019", "2021") else []
    for a in columns:
        # 一 + 二 = 三(七) + 四
        nv = [get((r, a)) for r in _NEED]
        if all(v is not None for v in nv) and any(v.value is not None for v in nv):
            n_new, n_over, n_handled, n_fwd = (0 if v.value is None else v.value for v in nv)
            lhs = n_new + n_over
            rhs = n_handled + n_fwd
            if lhs != rhs:
                th = nv[2]
                out.append(
                    Problem(
                        "t3_balance",
                        "warning",
                        f"table 3 column {a}: new {n_new} + carried over {n_over} = {lhs} but handled {n_handled} + carried forward {n_fwd} = {rhs}",
                        {"applicant": a},
                        th.line if th else None,
                    )
                )
        # (七) = sum of outcome rows
        if outcomes:
            th = get(("total_handled", a))
            if th is None:
                continue
            ov = [get((r, a)) for r in outcomes]
            if any(v is None for v in ov):
                continue
            if all(v.value is None for v in ov):
                continue  # the whole column is blank in the outcome rows: reported above
            s = sum([0 if v.value is None else v.value for v in ov])
            thv = th.value
            if thv is not None or s:
                n_th = 0 if thv is None else thv
                if n_th != s:
                    out.append(
                        Problem(
                            "t3_outcome_sum",
                            "warning",
                            f"table 3 column {a}: total handled {n_th} != sum of outcome rows {s}",
                            {"row_code": "total_handled", "applicant": a},
                            th.line if th else None,
                        )
                    )
    if out and template in ("2019", "2021"):
        out += suggest_fix(cells, identities.t3_identities(template), "table 3")
    return out


def suggest_fix(cells: dict[tuple[str, str], Val], idents, table: str) -> list[Problem]:
    """When the identities of a table fail and one typing slip in one printed cell (a digit
    changed, two digits transposed, one dropped or doubled) would make every one of them hold,
    and only one such slip does: an info finding naming the cell and the value that would fit.
    The printed value is kept."""
    values = {k: v.value for k, v in cells.items()}
    fix = identities.single_fix(idents, values)
    if fix is None:
        return []
    (a, b), new = fix
    v = cells[(a, b)]
    ctx = {"row_code": a, "applicant": b} if table == "table 3" else {"proceeding": a}
    return [
        Problem(
            "suggested_fix",
            "info",
            f"{table} {a}/{b} is printed as {v.raw or v.value}; {new} would make every total of the table add up (a typing slip?). The printed value is kept",
            ctx,
            v.line,
        )
    ]


def check_t4(cells: dict[tuple[str, str], Val]) -> list[Problem]:
    out = []
    for p in PROCEEDINGS:
        if not all((p, o) in cells for o in APPEAL_OUTCOMES):
            continue
        parts = [cells[(p, o)] for o in APPEAL_OUTCOMES if o != "total"]
        tot = cells[(p, "total")]
        if not any(_printed(x) for x in parts) and not _printed(tot):
            continue
        s = sum(_n(x) for x in parts)
        if _n(tot) != s:
            out.append(
                Problem(
                    "t4_total",
                    "warning",
                    f"table 4 {p}: total {_n(tot)} != upheld {_n(parts[0])} + corrected {_n(parts[1])} + other {_n(parts[2])} + pending {_n(parts[3])} = {s}",
                    {"proceeding": p},
                    tot.line,
                )
            )
    if out:
        out += suggest_fix(cells, identities.t4_identities(), "table 4")
    return out


_LEGACY_SUMS = [
    ("received", ["received_in_person", "received_fax", "received_online", "received_letter", "received_other"]),
    ("completed", ["completed_on_time", "completed_extended"]),
    (
        "answered",
        ["already_public", "granted", "partially_granted", "denied", "not_this_agency", "not_exist", "told_to_amend", "told_other_channel"],
    ),
    (
        "denied",
        ["denied_state_secret", "denied_commercial_secret", "denied_privacy", "denied_security_stability", "denied_not_government_info", "denied_other_law"],
    ),
    ("reconsideration", ["reconsideration_upheld", "reconsideration_corrected", "reconsideration_other"]),
    ("litigation", ["litigation_upheld", "litigation_corrected", "litigation_other"]),
    ("complaint", ["complaint_upheld", "complaint_corrected", "complaint_other"]),
]


def check_legacy(values: dict[str, Val], printed_in: str, skip: tuple[str, ...] = ()) -> list[Problem]:
    """Sums of the statistics table (printed_in statistics_table) or of figures stated in prose
    (printed_in prose; only when the stated parts overshoot the total). `skip` names totals not to
    check (post-2019 prose breaks down received + carried-over requests by channel)."""
    out = []
    prose = printed_in == "prose"
    where = "prose" if prose else "statistics table"
    for total, parts in _LEGACY_SUMS:
        if total in skip:
            continue
        t = values.get(total)
        if not _printed(t):
            continue
        present = [p for p in parts if p in values]
        if prose:
            # prose rarely lists every category; compare only when the parts overshoot the total
            if len(present) < 2:
                continue
        elif len(present) < len(parts) - 1:
            continue
        s = sum(_n(values.get(p)) for p in present)
        if prose and s <= _n(t):
            continue
        if s == _n(t):
            continue
        msg = f"{where}: {total} {_n(t)} != sum of its parts {s} (" + ", ".join(f"{p} {_n(values.get(p))}" for p in present) + ")"
        if total == "answered" and _printed(values.get("told_other_channel")):
            toc, nta = _n(values.get("told_other_channel")), _n(values.get("not_this_agency"))
            if toc and toc <= nta and s - toc == _n(t):
                msg += "; it adds up if told_other_channel (告知通过其他途径办理) is counted inside not_this_agency (不属于本行政机关), as many agencies did"
        out.append(Problem(f"legacy_sum_{total}", "warning", msg, {"indicator": total}, t.line))
    return out


# prose indicator -> how the same quantity is read from the tables of each template
def _t3(cells, row):
    v = cells.get((row, "total"))
    return v if _printed(v) else None


def _t4(cells, procs):
    vs = [cells.get((p, "total")) for p in procs]
    if not all(_printed(v) for v in vs):
        return None
    return Val(sum(v.value for v in vs), "+".join(v.raw for v in vs), vs[0].line)


def _t4_outcome(cells, proc, outcome):
    v = cells.get((proc, outcome))
    return v if _printed(v) else None


def check_narrative(
    narr: dict[str, Val], legacy_table: dict[str, Val], t3: dict, t4: dict, template: str
) -> list[Problem]:
    """Figures stated in prose that the report's own tables contradict: every indicator the
    statistics table also prints; for the 2019 and 2021 templates, the prose figures that map
    one to one onto table 3 (new requests, requests handled) and table 4 (reconsideration and
    litigation counts and their outcomes). Prose outcome words of the old template (同意公开,
    不同意公开) do not map one to one onto the 2019/2021 outcome rows and are not compared.
    Values are kept as printed; the finding names both."""
    out = []
    if legacy_table:
        for ind, nv in narr.items():
            tv = legacy_table.get(ind)
            if _printed(tv) and _printed(nv) and tv.value != nv.value:
                extra = ""
                if ind == "granted" and _printed(legacy_table.get("already_public")) and nv.value == tv.value + legacy_table["already_public"].value:
                    extra = " (the prose counts already_public inside granted)"
                out.append(
                    Problem(
                        "narrative_vs_table",
                        "warning",
                        f"prose says {ind} {nv.value} ('{nv.raw}', line {nv.line}) but the statistics table says {tv.value}{extra}",
                        {"indicator": ind},
                        nv.line,
                    )
                )
    if template in ("2019", "2021"):
        pairs = {
            "received": _t3(t3, "new_received"),
            "completed": _t3(t3, "total_handled"),
            "reconsideration": _t4(t4, ["reconsideration"]),
            "litigation": _t4(t4, ["litigation_direct", "litigation_after_reconsideration"]),
        }
        for proc, procs in (("reconsideration", ["reconsideration"]), ("litigation", ["litigation_direct", "litigation_after_reconsideration"])):
            for o in ("upheld", "corrected", "other"):
                vs = [_t4_outcome(t4, p, o) for p in procs]
                if all(v is not None for v in vs):
                    pairs[f"{proc}_{o}"] = Val(sum(v.value for v in vs), "+".join(v.raw for v in vs), vs[0].line)
        for ind, tv in pairs.items():
            nv = narr.get(ind)
            if tv is not None and _printed(nv) and tv.value != nv.value:
                out.append(
                    Problem(
                        "narrative_vs_table",
                        "warning",
                        f"prose says {ind} {nv.value} ('{nv.raw}', line {nv.line}) but the table says {tv.value}",
                        {"indicator": ind},
                        nv.line,
                    )
                )
    return out
