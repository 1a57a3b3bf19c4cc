"""Agency identity across years and spellings: one stable agency_id, a kind and a level.

The printed name of an agency changes between reports (临淄区政府办公室 / 临淄区人民政府办公室,
办公厅 / 办公室, spaces, Traditional script, a place prefix one year and not the next). The
rules that reduce the variants to one spelling are data: `agency_name_rules` in
reference/codes.yaml. The kinds (people's government, government office, department,
development zone, township) and their patterns are `agency_kinds` there; the levels
`admin_levels`. Division codes and names come from the gazetteer (reference/divisions, see
gazetteer.py), never from a hand-typed list.

agency_id = "<division_code>/<key>", where key is the normalised name without the names of the
divisions it sits in (淄博市临淄区人民政府办公室 and 临淄区政府办公室 -> 370305/办公室) and without
a leading 人民政府 when something follows (a government's office or department). An agency
whose division is unknown gets "unplaced/<key>" when its name names its own place (唐村镇), and
no id when it does not (政府, 县乡村振兴局: the same name exists in every county).
"""
from __future__ import annotations

import functools
import re
import unicodedata

import polars as pl

from foi_research.reference import codes
from foi_research.reference.gazetteer import ZONE, gazetteer
from foi_research.reference.normalize import clean_text, compact

UNPLACED = "unplaced"


@functools.lru_cache(maxsize=1)
def _rules() -> tuple[list[tuple[re.Pattern, str]], list[tuple[re.Pattern, str]]]:
    """(display rules, key-only rules) from codes.yaml agency_name_rules."""
    disp, key = [], []
    for r in codes.raw()["agency_name_rules"]:
        (key if r.get("key_only") else disp).append((re.compile(r["pattern"]), r["replace"]))
    return disp, key


@functools.lru_cache(maxsize=1)
def _kinds() -> list[tuple[str, re.Pattern, bool]]:
    return [(k["code"], re.compile(k["pattern"]), bool(k.get("zone"))) for k in codes.raw()["agency_kinds"]]


@functools.lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s"), opencc.OpenCC("s2t")


def _simplified(name: str) -> str:
    """Traditional -> Simplified, only when the name is written in Traditional script: every
    character already in Traditional form, or at least a third of them changed by t2s. A name
    in Simplified script is left alone (t2s would turn e.g. 乾县 into 干县)."""
    t2s, s2t = _opencc()
    simp = t2s.convert(name)
    if simp == name:
        return name
    changed = sum(a != b for a, b in zip(name, simp))
    if s2t.convert(name) == name or changed * 3 >= len(name):
        return simp
    return name


@functools.lru_cache(maxsize=65536)
def normalize_agency(name: str | None) -> str | None:
    """The normalised spelling of an agency name: NFKC, converter junk and whitespace removed,
    Traditional -> Simplified, then the display rules of codes.yaml agency_name_rules
    (区政府 -> 区人民政府, 政府办 -> 政府办公室, 管委会 -> 管理委员会, a trailing note in
    parentheses dropped). None for an empty name."""
    if name is None:
        return None
    s = compact(clean_text(unicodedata.normalize("NFKC", name)))
    s = _simplified(s)
    s = unicodedata.normalize("NFKC", s)
    for rx, rep in _rules()[0]:
        s = rx.sub(rep, s)
    return s or None


def _ancestors(division_code: str | None) -> set[str]:
    """Gazetteer codes (2, 4 and 6 digits) of the division and the divisions above it."""
    if not division_code or len(division_code) != 6:
        return set()
    out = {division_code[:2]}
    if division_code[2:4] != "00":
        out.add(division_code[:4])
    if division_code[4:] != "00":
        out.add(division_code)
    return out


def agency_key(name: str | None, division_code: str | None = None) -> str | None:
    """The part of agency_id after the slash: the normalised name, key-only rules applied
    (办公厅 = 办公室), without the leading names of the divisions the agency sits in (full or short
    form, as the gazetteer knows them) and without a leading 人民政府 when something follows."""
    s = normalize_agency(name)
    if s is None:
        return None
    for rx, rep in _rules()[1]:
        s = rx.sub(rep, s)
    gov = "人民政府"
    anc = _ancestors(division_code)
    if anc:
        g = gazetteer()
        while s:
            n = next((k for k in range(min(len(s), 16), 1, -1) if any(c in anc for _, c in g.names.get(s[:k], ()))), 0)
            if not n:
                break
            if n == len(s):  # a name that is only its place (孝感市) stands for the place's government
                s = gov
                break
            s = s[n:]
    if s.startswith(gov) and len(s) > len(gov):
        s = s[len(gov):]
    return s or None


# An unplaced name must name its own place: a proper name, then a division word (唐村镇, 民治街道).
_OWN_PLACE = re.compile(r"^[^省市区县镇乡旗]{2,}?(?:省|市|区|县|旗|镇|乡|街道|苏木)")


def agency_id(name: str | None, division_code: str | None = None) -> str | None:
    """Stable identifier of an agency: '<division_code>/<key>', or 'unplaced/<key>' without a
    division code when the name names its own place (唐村镇人民政府 -> unplaced/唐村镇). None when
    the agency is unknown, or unplaced and generic (政府, 县乡村振兴局, 高新区管委会): such a name
    cannot be told apart from the same office of another place."""
    key = agency_key(name, division_code)
    if key is None:
        return None
    if not division_code and (not _OWN_PLACE.match(key) or ZONE.match(key)):
        return None
    return f"{division_code or UNPLACED}/{key}"


def agency_kind(name: str | None) -> str | None:
    """Kind of agency (codes.yaml agency_kinds: township, development_zone, government_office,
    government, department), from its normalised name; None when the name is unknown."""
    s = normalize_agency(name)
    if s is None:
        return None
    if s in gazetteer().names and not _kinds()[0][1].search(s):
        return "government"  # named by its place alone (孝感市): the place's people's government
    for code, rx, zone in _kinds():
        if rx.search(s) or (zone and ZONE.search(s)):
            return code
    return None


def admin_level(kind: str | None, division_level: str | None) -> str | None:
    """Administrative level (codes.yaml admin_levels): township for township-kind agencies,
    else the level of the most specific division found in the agency's name."""
    if kind == "township":
        return "township"
    return division_level if division_level in codes.V("admin_levels").codes else None


def agencies(reports: "pl.DataFrame | pl.LazyFrame") -> pl.DataFrame:
    """Identity columns for every report: report_id, agency_id, agency_name_norm, agency_kind,
    admin_level. `reports` is the contract's reports table, eager or lazy (division_level may be
    missing: the level is then taken from the length of division_code). Rows come out in the
    order of `reports`.

    The names are worked out once per distinct (agency, division_code, division_level): a
    national corpus has many reports per agency, and the name rules are Python."""
    lf = reports.lazy()
    names = lf.collect_schema().names()
    lvl = pl.col("division_level") if "division_level" in names else pl.lit(None, pl.String)
    rep = lf.select("report_id", "agency", "division_code", lvl.cast(pl.String).alias("division_level")).collect()
    keys = ["agency", "division_code", "division_level"]
    uniq = rep.select(keys).unique().sort(keys, nulls_last=True)
    rows = []
    for name, code, dl in uniq.iter_rows():
        if dl is None and code:
            dl = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
        kind = agency_kind(name)
        rows.append((agency_id(name, code), normalize_agency(name), kind, admin_level(kind, dl) if name is not None else None))
    schema = {"agency_id": pl.String, "agency_name_norm": pl.String, "agency_kind": pl.String, "admin_level": pl.String}
    ident = pl.concat([uniq, pl.DataFrame(rows, schema=schema, orient="row")], how="horizontal")
    out = rep.join(ident, on=keys, how="left", nulls_equal=True, maintain_order="left")
    return out.select("report_id", *schema)


def era(year: int | None) -> str | None:
    """Era of the regulation by the year reported on (codes.yaml eras)."""
    if year is None:
        return None
    return "pre2019" if year <= 2018 else "t2019" if year <= 2020 else "t2021"


def era_expr(col: str = "year") -> pl.Expr:
    """era() as a polars expression."""
    y = pl.col(col)
    return (
        pl.when(y.is_null())
        .then(pl.lit(None, pl.String))
        .when(y <= 2018)
        .then(pl.lit("pre2019"))
        .when(y <= 2020)
        .then(pl.lit("t2019"))
        .otherwise(pl.lit("t2021"))
    )
