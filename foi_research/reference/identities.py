"""The accounting identities the templates state, as data and arithmetic.

The 2019 and 2021 templates print their own identities (DOMAIN.md): in table 3, per applicant
column, 一 + 二 = 三(七) + 四 and (七) = the sum of the outcome rows; in every row, 总计 = 自然人 +
the five organisation columns; in table 4, each 总计 = the sum of its four outcomes. The parser
uses them to choose among readings of a table it cannot read with certainty (parse.t3, parse.t4),
the checks report where a printed table breaks them (validate.checks), and the typo finder
suggests the single-digit edit that would restore them. The row roles come from the code list
(request_rows[].role in codes.yaml).

An identity is a list of (cell, sign) terms that must add up to zero. A blank cell counts as 0,
except a blank row total, which leaves that row's identity unknown (some agencies print no
totals in the outcome rows).
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from foi_research.reference import codes

Cell = tuple[str, str]  # (row or proceeding, applicant or outcome)


@dataclass(frozen=True)
class Identity:
    name: str  # e.g. 'balance:natural_person', 'handled:total', 'row:granted', 't4:reconsideration'
    terms: tuple[tuple[Cell, int], ...]
    unknown_if_blank: tuple[Cell, ...] = ()  # cells whose blank makes the identity unknown

    @property
    def cells(self) -> tuple[Cell, ...]:
        return tuple(c for c, _ in self.terms)


def _roles() -> dict[str, str]:
    return {c.code: c.extra.get("role") for c in codes.V("request_rows")}


@functools.lru_cache(maxsize=None)
def t3_identities(template: str) -> tuple[Identity, ...]:
    """Every identity of table 3 of a template ('2019' or '2021')."""
    roles = _roles()
    rows = codes.rows_for_template(template)
    outcomes = codes.outcome_rows(template)
    apps = codes.APPLICANTS
    parts = [a for a in apps if a != "total"]
    out: list[Identity] = []
    for r in rows:
        out.append(Identity(f"row:{r}", tuple([((r, "total"), 1)] + [((r, a), -1) for a in parts]), ((r, "total"),)))
    intake = [r for r in rows if roles.get(r) == "intake"]
    handled = [r for r in rows if roles.get(r) == "handled"]
    forward = [r for r in rows if roles.get(r) == "forward"]
    for a in apps:
        out.append(
            Identity(
                f"balance:{a}",
                tuple([((r, a), 1) for r in intake] + [((r, a), -1) for r in handled + forward]),
            )
        )
        out.append(Identity(f"handled:{a}", tuple([((r, a), 1) for r in handled] + [((r, a), -1) for r in outcomes])))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def t4_identities() -> tuple[Identity, ...]:
    outs = [o for o in codes.APPEAL_OUTCOMES if o != "total"]
    return tuple(
        Identity(f"t4:{p}", tuple([((p, "total"), 1)] + [((p, o), -1) for o in outs]), ())
        for p in codes.PROCEEDINGS
    )


_MISSING = object()


def residual(ident: Identity, values: Mapping[Cell, int | float | None]) -> int | float | None:
    """The identity's left side minus right side, or None when a cell is not known (absent from
    `values`, or a blank cell that makes the identity unknown). A blank (None) cell counts as 0."""
    s = 0
    for cell, sign in ident.terms:
        v = values.get(cell, _MISSING)
        if v is _MISSING:
            return None
        if v is None:
            if cell in ident.unknown_if_blank:
                return None
            continue
        s += sign * v
    return s


def violations(idents, values: Mapping[Cell, int | float | None]) -> tuple[int, int]:
    """(identities that fail, identities that can be checked)."""
    bad = known = 0
    for ident in idents:
        r = residual(ident, values)
        if r is None:
            continue
        known += 1
        if r != 0:
            bad += 1
    return bad, known


# ---------------------------------------------------------------------------------------------
# Typos: the single-digit edits of a printed number


def typo_variants(n: int) -> set[int]:
    """Numbers one typing slip away from n: one digit changed, two adjacent digits transposed, a
    digit dropped, a digit doubled or inserted. (n itself is not included.)"""
    if n < 0:
        return {-v for v in typo_variants(-n)}
    s = str(n)
    out: set[str] = set()
    for i in range(len(s)):
        for d in "0123456789":
            out.add(s[:i] + d + s[i + 1 :])  # changed
        out.add(s[:i] + s[i + 1 :])  # dropped
        out.add(s[:i] + s[i] + s[i:])  # doubled
        if i + 1 < len(s):
            out.add(s[:i] + s[i + 1] + s[i] + s[i + 2 :])  # transposed
    for i in range(len(s) + 1):
        for d in "0123456789":
            out.add(s[:i] + d + s[i:])  # inserted
    vals = set()
    for t in out:
        if t and (t == "0" or not t.startswith("0")):
            vals.add(int(t))
    vals.discard(n)
    return vals


def single_fix(idents, values: Mapping[Cell, int | float | None]) -> tuple[Cell, int] | None:
    """When some identities fail and changing one printed cell by one typing slip (typo_variants)
    would make every checkable identity hold, and exactly one such change exists: (cell, value).
    Blank cells are not edited (a blank is not a typo of a number)."""
    failing = []
    ok = []
    for ident in idents:
        r = residual(ident, values)
        if r is None:
            continue
        (failing if r != 0 else ok).append((ident, r))
    if not failing:
        return None
    # the cell must be in every failing identity and, changed by d, zero each residual
    common = set(failing[0][0].cells)
    for ident, _ in failing[1:]:
        common &= set(ident.cells)
    fixes: list[tuple[Cell, int]] = []
    for cell in sorted(common):
        v = values.get(cell)
        if not isinstance(v, int):
            continue
        need = set()
        for ident, r in failing:
            sign = dict(ident.terms)[cell]
            need.add(v - r * sign)  # residual r + sign*(new - v) = 0
        if len(need) != 1:
            continue
        new = need.pop()
        if new < 0 or new not in typo_variants(v):
            continue
        # the identities that hold must still hold
        trial = dict(values)
        trial[cell] = new
        if all(residual(i, trial) in (0, None) for i, _ in ok):
            fixes.append((cell, new))
    return fixes[0] if len(fixes) == 1 else None
