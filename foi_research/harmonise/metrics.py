"""The harmonised agency-by-year panel, its metrics, the crosswalks, and the cross-year checks.

    ds = dataset.read_dataset("outputs/dataset")
    panel = metrics.build_panel(ds, crosswalk="default", denominator="handled")
    by_year = metrics.rates(panel, by=["year"])            # pooled rates of any grouping

A crosswalk (reference/crosswalks/<name>.csv, or a user's CSV of the same form) maps every
table-3 outcome row of the 2019 and 2021 templates and every answer category of the pre-2019
statistics table onto the harmonised outcome classes of codes.yaml `outcome_classes`. The
decisions behind the counts (where they come from, when they are null, the overlap rule, the
denominators) are stated once, in RULES, and the codebook prints them from there.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

import polars as pl

from foi_research.reference import codes
from foi_research.harmonise import agencies as harmonise
from foi_research.reference.codes import PROACTIVE_LAYOUT
from foi_research.validate.schemas import columns as _table_columns
from foi_research.validate.schemas import frame as _frame
from foi_research.validate.schemas import polars_schema

CLASSES: list[str] = codes.V("outcome_classes").codes
NOT_COUNTED: str = codes.V("crosswalk_special").codes[0]
SCHEMES = ("2019", "2021", "legacy")
CROSSWALK_COLUMNS = ("scheme", "code", "outcome_class", "overlap_with", "rationale", "within")
# `within` is optional (older crosswalk files have only the first five columns)
CROSSWALK_REQUIRED = CROSSWALK_COLUMNS[:5]
DENOMINATORS: list[str] = codes.V("denominators").codes
TABLE_SOURCES = ("table3", "legacy_table")
ORG_APPLICANTS = [a for a in codes.APPLICANTS if a not in ("natural_person", "total")]

# Table-3 rows and statistics-table indicators behind the intake and total columns of the panel.
INTAKE = {
    "table3": {"received": ["new_received"], "carried_over": ["carried_over"], "handled": ["total_handled"], "carried_forward": ["carried_forward"]},
    "legacy": {"received": ["received"], "carried_over": [], "handled": ["answered", "completed"], "carried_forward": []},
}
# Legacy indicators of the appeals families (table 4 has its own long table).
APPEALS_LEGACY = {
    "reconsideration": "reconsideration",
    "reconsideration_corrected": "reconsideration_corrected",
    "litigation": "litigation",
    "litigation_corrected": "litigation_corrected",
}

RULES: dict[str, str] = {
    "sources": (
        "The request counts of a report come from one source, the first that has figures: table 3 "
        "(2019 and 2021 templates; column `source` = table3), else the pre-2019 statistics table "
        "(legacy_table), else figures stated in prose (narrative), else none. Sources are never mixed "
        "within a report. Reconsideration and litigation counts are chosen the same way from table 4, "
        "the statistics table, or prose (column `appeals_source`)."
    ),
    "row_totals": (
        "A table-3 row counts with its 总计 (total) cell. Where that cell is blank but the applicant "
        "cells of the row are printed (the parser flags this as t3_row_total), the row counts with the "
        "sum of its applicant cells. The 2021 template's (六)其他处理 total is derived by the parser "
        "(requests.derived = true) and is never counted next to its rows 1-3."
    ),
    "nulls": (
        "A count is null when the source does not state it: carried_over and carried_forward before "
        "2019 (the statistics table has no carry-over); natural_person_requests and org_requests "
        "outside table 3; an outcome class none of whose source rows has a value (for example "
        "not_processed before 2019, when the category did not exist, and not_this_agency in the 2019 "
        "and 2021 templates under the default crosswalk; or rows a truncated copy cut off); every "
        "class of a prose report that does not state it. A narrative report that says no request was "
        "received has received = 0 and the other counts null. In a sum of classes (a metric's "
        "numerator), a null class counts as 0; the sum is null only when every part is null."
    ),
    "overlap": (
        "A crosswalk row with `overlap_with` (by default 告知通过其他途径办理, "
        "told_other_channel, overlapping 不属于本行政机关, not_this_agency) may count requests that "
        "another row already counts: many agencies put every referral in both lines. Per report, such "
        "a row is counted only when the answer categories add up to the source total (申请答复数, or "
        "the table-3 总计) with it. Otherwise (they add up without it, they add up neither way, or the "
        "total is not stated) it is treated as already inside the row it overlaps and not counted; "
        "the panel column overlap_excluded holds the number left out and the quality table a "
        "crosswalk_overlap row. Example: Linzi 2017, 申请答复数 21 = 不属于本行政机关 20 + "
        "申请信息不存在 1, so 告知通过其他途径办理 20 is not counted again."
    ),
    "reasons": (
        "The reasons of 不同意公开 (涉及国家秘密 ... 法律法规规定的其他情形) are a breakdown of "
        "不同意公开, which is counted as withheld; the reasons are mapped to not_counted."
    ),
    "within": (
        "A crosswalk row with `within` names its parent row (parent minus child): the row is counted in "
        "its own class and taken out of its parent's class, per report. Example (crosswalk "
        "ngi_as_not_processed): 不是《条例》所指政府信息 inside 不同意公开 goes to not_processed and "
        "withheld counts 不同意公开 minus it. Where the parent is not printed the row is still counted "
        "in its class; where the row prints more than its parent nothing is moved for that report and "
        "the quality table gets a crosswalk_within warning."
    ),
    "range": (
        "A rate above 1 (the printed parts exceed the printed total used as denominator) or built on a "
        "negative count is kept in the panel as computed from the printed figures and flagged in the "
        "quality table (rate_out_of_range); the study analyses leave such a report out of that rate and "
        "say how many they left out."
    ),
    "denominator": (
        "The request-based rates divide by D, an explicit setting (`denominator`): `handled` (the "
        "default) is table 3 三(七)总计, or 申请答复数 (else 申请办结数) before 2019; "
        "`new_plus_carried` is table 3 一 + 二, or 收到申请数 alone before 2019 (no carry-over "
        "then, so it is not like for like across the revision); `received` is table 3 一 or 收到申请数 "
        "(the same quantity in every era). The value used is in denominator_value. A rate is null, never an error or infinity, "
        "when its denominator is 0 or unknown."
    ),
    "grouping": (
        "metrics.rates(panel, by=...) pools reports: for each metric it adds up the numerators and "
        "the denominators of the reports where the numerator is known and the denominator is known "
        "and positive (the reports whose own rate is not null), and divides the sums: a "
        "request-weighted rate, not a mean of rates. `reports` says how many reports were pooled."
    ),
}


class CrosswalkError(ValueError):
    """A crosswalk name that is not shipped, or a crosswalk file that is not usable."""


# ---------------------------------------------------------------------------------------------
# Crosswalks


def _crosswalk_dir():
    return resources.files("foi_research").joinpath("reference/crosswalks")


def crosswalk_names() -> list[str]:
    """Names of the crosswalks shipped in reference/crosswalks (default first)."""
    names = sorted(p.name[:-4] for p in _crosswalk_dir().iterdir() if p.name.endswith(".csv"))
    return sorted(names, key=lambda n: (n != "default", n))


def scheme_rows(scheme: str) -> tuple[list[str], list[str]]:
    """(codes a crosswalk must map, codes it may map) for a scheme: the outcome rows of the 2019
    or 2021 table 3, or the answer categories of the pre-2019 statistics table."""
    if scheme in ("2019", "2021"):
        required = codes.outcome_rows(scheme)
        allowed = [c.code for c in codes.V("request_rows") if c.extra.get("role") in ("outcome", "outcome_total")]
        return required, allowed
    if scheme == "legacy":
        fam = [c for c in codes.LEGACY_INDICATORS if c != "answered" and codes.legacy_family(c) == "answered"]
        return fam, fam
    raise CrosswalkError(f"unknown scheme {scheme!r}; schemes are {', '.join(SCHEMES)}")


@dataclass(frozen=True)
class Crosswalk:
    """A validated crosswalk: `table` has the columns scheme, code, outcome_class, overlap_with,
    rationale (one row per scheme and code)."""

    name: str
    path: str
    table: pl.DataFrame
    description: str | None = None

    def mapping(self, scheme: str) -> dict[str, str]:
        t = self.table.filter(pl.col("scheme") == scheme)
        return dict(zip(t["code"].to_list(), t["outcome_class"].to_list()))


def load_crosswalk(crosswalk: "str | Path | Crosswalk" = "default") -> Crosswalk:
    """Load and check a crosswalk: a shipped name (see crosswalk_names()) or the path of a CSV
    file with the columns scheme, code, outcome_class, overlap_with, rationale. Every outcome row
    of the 2019 and 2021 templates and every answer category of the pre-2019 table must be mapped
    exactly once, to an outcome class or to not_counted, with a rationale. Raises CrosswalkError
    naming the file and line of the first problems found."""
    if isinstance(crosswalk, Crosswalk):
        return crosswalk
    name = str(crosswalk)
    shipped = crosswalk_names()
    if name in shipped:
        path = _crosswalk_dir().joinpath(f"{name}.csv")
        text = path.read_text(encoding="utf-8")
        desc = codes.V("crosswalks").by_code.get(name)
        return _parse_crosswalk(text, name, f"reference/crosswalks/{name}.csv", desc.extra.get("description") if desc else None)
    p = Path(name).expanduser()
    if not p.is_file():
        raise CrosswalkError(
            f"unknown crosswalk {name!r}: give one of {', '.join(shipped)} or the path of a CSV file with the columns "
            f"{', '.join(CROSSWALK_COLUMNS)} (copy reference/crosswalks/default.csv and edit it)"
        )
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise CrosswalkError(f"{p}: not UTF-8 text ({e}); save the crosswalk as UTF-8 CSV") from None
    return _parse_crosswalk(text, str(p), str(p), None)


def _parse_crosswalk(text: str, name: str, where: str, description: str | None) -> Crosswalk:
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    missing_cols = [c for c in CROSSWALK_REQUIRED if c not in (reader.fieldnames or [])]
    if missing_cols:
        raise CrosswalkError(
            f"{where}: missing column(s) {', '.join(missing_cols)}; the header must be {','.join(CROSSWALK_REQUIRED)} "
            f"(optionally followed by `within`)"
        )
    problems: list[str] = []
    rows: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    classes = set(CLASSES) | {NOT_COUNTED}
    for i, r in enumerate(reader, start=2):
        r = {k: (r.get(k) or "").strip() for k in CROSSWALK_COLUMNS}
        if not any(r.values()):
            continue
        sch, code, cls, ov, wi = r["scheme"], r["code"], r["outcome_class"], r["overlap_with"], r["within"]
        if sch not in SCHEMES:
            problems.append(f"line {i}: scheme {sch!r} is not one of {', '.join(SCHEMES)}")
            continue
        _, allowed = scheme_rows(sch)
        if code not in allowed:
            problems.append(f"line {i}: {code!r} is not a source row of scheme {sch} (allowed: {', '.join(allowed)})")
        if cls not in classes:
            problems.append(f"line {i}: outcome_class {cls!r} is not one of {', '.join(sorted(classes))}")
        if ov and ov not in allowed:
            problems.append(f"line {i}: overlap_with {ov!r} is not a source row of scheme {sch}")
        if ov and cls == NOT_COUNTED:
            problems.append(f"line {i}: a row that is not counted cannot overlap another (leave overlap_with empty)")
        if wi and wi not in allowed:
            problems.append(f"line {i}: within {wi!r} is not a source row of scheme {sch}")
        if wi and cls == NOT_COUNTED:
            problems.append(f"line {i}: a row that is not counted stays inside its parent; `within` moves a counted row out of it (leave within empty)")
        if wi and ov:
            problems.append(f"line {i}: a row cannot both overlap another and be within one")
        if wi and wi == code:
            problems.append(f"line {i}: a row cannot be within itself")
        if not r["rationale"]:
            problems.append(f"line {i}: the rationale is empty; say in one line why {code} goes to {cls}")
        if (sch, code) in seen:
            problems.append(f"line {i}: {sch}/{code} is mapped twice (first on line {seen[(sch, code)]})")
        seen[(sch, code)] = i
        rows.append(r)
    for sch in SCHEMES:
        required, _ = scheme_rows(sch)
        miss = [c for c in required if (sch, c) not in seen]
        if miss:
            problems.append(f"scheme {sch}: no mapping for {', '.join(miss)}")
    for r in rows:
        if r["within"] and (r["scheme"], r["within"]) in seen:
            par = next(x for x in rows if (x["scheme"], x["code"]) == (r["scheme"], r["within"]))
            if par["outcome_class"] == NOT_COUNTED:
                problems.append(f"line {seen[(r['scheme'], r['code'])]}: within {r['within']}, which is not counted: nothing to take it out of")
            elif par["within"]:
                problems.append(f"line {seen[(r['scheme'], r['code'])]}: within {r['within']}, which is itself within another row (one level only)")
        elif r["within"]:
            problems.append(f"line {seen[(r['scheme'], r['code'])]}: within {r['within']}, which this crosswalk does not map")
        if r["overlap_with"] and (r["scheme"], r["overlap_with"]) in seen:
            tgt = next(x for x in rows if (x["scheme"], x["code"]) == (r["scheme"], r["overlap_with"]))
            if tgt["outcome_class"] == NOT_COUNTED:
                problems.append(f"line {seen[(r['scheme'], r['code'])]}: overlap_with {r['overlap_with']} is itself not counted")
    if problems:
        more = f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""
        raise CrosswalkError(f"{where}: " + "; ".join(problems[:8]) + more)
    table = pl.DataFrame(rows, schema={c: pl.String for c in CROSSWALK_COLUMNS}, orient="row").with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in ("overlap_with", "within")
    )
    order = {s: i for i, s in enumerate(SCHEMES)}
    table = table.with_columns(pl.col("scheme").replace_strict(order, return_dtype=pl.Int32).alias("_o")).sort("_o", maintain_order=True).drop("_o")
    return Crosswalk(name=name, path=where, table=table, description=description)


# ---------------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True)
class Metric:
    """A metric of codes.yaml `metrics`. denominator is 'requests' (the panel's chosen
    denominator, column denominator_value), 'reports', or a tuple of count columns."""

    code: str
    zh: str
    en: str
    numerator: tuple[str, ...]
    denominator: "str | tuple[str, ...]"
    description: str
    panel: bool = True

    @property
    def label(self) -> str:
        return f"{self.zh} / {self.en}"

    def formula(self) -> str:
        """The exact formula, as the codebook prints it."""
        num = " + ".join(self.numerator)
        num = f"({num})" if len(self.numerator) > 1 else num
        if self.denominator == "requests":
            den = "D"
        elif self.denominator == "reports":
            den = "number of reports"
        else:
            den = " + ".join(self.denominator)
            den = f"({den})" if len(self.denominator) > 1 else den
        return f"{self.code} = {num} / {den}"


@functools.lru_cache(maxsize=1)
def _metrics() -> tuple[Metric, ...]:
    out = []
    for m in codes.raw()["metrics"]:
        den = m["denominator"]
        out.append(
            Metric(
                code=m["code"],
                zh=m["zh"],
                en=m["en"],
                numerator=tuple(m["numerator"]),
                denominator=den if isinstance(den, str) else tuple(den),
                description=m["description"],
                panel=bool(m.get("panel", True)),
            )
        )
    return tuple(out)


METRICS: tuple[Metric, ...] = _metrics()
METRIC_BY_CODE: dict[str, Metric] = {m.code: m for m in METRICS}
PANEL_METRICS: list[str] = [m.code for m in METRICS if m.panel]


def _sum_known(cols: Sequence[str]) -> pl.Expr:
    """Sum of columns where a null counts as 0; null when every part is null."""
    exprs = [pl.col(c) for c in cols]
    if len(exprs) == 1:
        return exprs[0]
    return pl.when(pl.any_horizontal([e.is_not_null() for e in exprs])).then(pl.sum_horizontal(exprs)).otherwise(None)


def safe_ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den as Float64; null when den is 0, negative or null (never an error or infinity)."""
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(None).cast(pl.Float64)


def _numerator(m: Metric) -> pl.Expr:
    return _sum_known(m.numerator)


def _denominator(m: Metric) -> pl.Expr:
    if m.denominator == "requests":
        return pl.col("denominator_value")
    if m.denominator == "reports":
        return pl.when(_numerator(m).is_not_null()).then(pl.lit(1, pl.Int64)).otherwise(None)
    return _sum_known(m.denominator)


def denominator_expr(denominator: str) -> pl.Expr:
    """The value of the request-based denominator D for a panel row (see RULES['denominator'])."""
    if denominator == "handled":
        return pl.col("handled")
    if denominator == "new_plus_carried":
        legacy = pl.col("source").is_in(["legacy_table", "narrative"])
        return pl.when(legacy).then(pl.col("received")).otherwise(pl.col("received") + pl.col("carried_over"))
    if denominator == "received":
        return pl.col("received")
    raise ValueError(f"unknown denominator {denominator!r}: use one of {', '.join(DENOMINATORS)}")


def add_rates(panel: pl.DataFrame, denominator: str = "handled") -> pl.DataFrame:
    """(Re)compute denominator_value and every rate column of a panel for a denominator choice."""
    out = panel.with_columns(denominator_expr(denominator).cast(pl.Int64).alias("denominator_value"), pl.lit(denominator).alias("denominator"))
    return out.with_columns([safe_ratio(_numerator(METRIC_BY_CODE[c]), _denominator(METRIC_BY_CODE[c])).alias(c) for c in PANEL_METRICS])


def rates(panel: pl.DataFrame, by: "str | Sequence[str]" = (), metrics: Iterable[str] | None = None) -> pl.DataFrame:
    """Pooled metrics for any grouping of panel rows (agency, region, year, period...).

    For each metric, over the rows of a group where its numerator is known and its denominator
    known and positive, the numerators and the denominators are added up and divided (see
    RULES['grouping']). Returns a long frame: the `by` columns, metric, numerator, denominator,
    reports (rows pooled), rate (null where nothing was pooled), sorted by the `by` columns and
    the order of METRICS."""
    by = [by] if isinstance(by, str) else list(by)
    wanted = list(metrics) if metrics is not None else [m.code for m in METRICS]
    unknown = [w for w in wanted if w not in METRIC_BY_CODE]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; metrics are {', '.join(METRIC_BY_CODE)}")
    parts = []
    for i, code in enumerate(wanted):
        m = METRIC_BY_CODE[code]
        df = panel.select(*[pl.col(b) for b in by], _numerator(m).cast(pl.Float64).alias("numerator"), _denominator(m).cast(pl.Float64).alias("denominator"))
        df = df.filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0))
        aggs = [pl.col("numerator").sum(), pl.col("denominator").sum(), pl.len().cast(pl.Int64).alias("reports")]
        g = df.group_by(by).agg(aggs) if by else df.select(aggs)
        g = g.with_columns(pl.lit(code).alias("metric"), pl.lit(i, pl.Int32).alias("_order"))
        parts.append(g)
    schema = {**{b: panel.schema[b] for b in by}, "numerator": pl.Float64, "denominator": pl.Float64, "reports": pl.Int64, "metric": pl.String, "_order": pl.Int32}
    out = pl.concat([p.cast(schema) for p in parts], how="vertical") if parts else pl.DataFrame(schema=schema)
    out = out.with_columns(safe_ratio(pl.col("numerator"), pl.col("denominator")).alias("rate"))
    out = out.sort([*by, "_order"], nulls_last=True).drop("_order")
    return out.select(*by, "metric", "numerator", "denominator", "reports", "rate")


# ---------------------------------------------------------------------------------------------
# The panel


def _t3_rows(requests: pl.DataFrame) -> pl.DataFrame:
    """One row per (report_id, row_code) of table 3: value (total, or the sum of the applicant
    cells when the total is blank), natural person and organisation cells."""
    req = requests
    if "derived" in req.columns:
        req = req.filter(~pl.col("derived").fill_null(False))
    app = pl.col("applicant")
    v = pl.col("value")
    parts = v.filter(app != "total")
    orgs = v.filter(app.is_in(ORG_APPLICANTS))
    g = req.group_by("report_id", "row_code").agg(
        v.filter(app == "total").first().alias("tot"),
        parts.sum().alias("parts"),
        parts.count().alias("nparts"),
        v.filter(app == "natural_person").first().alias("natural_person"),
        orgs.sum().alias("org"),
        orgs.count().alias("norg"),
    )
    return g.select(
        "report_id",
        pl.col("row_code").alias("code"),
        pl.coalesce(pl.col("tot"), pl.when(pl.col("nparts") > 0).then(pl.col("parts"))).cast(pl.Int64).alias("value"),
        pl.col("natural_person").cast(pl.Int64),
        pl.when(pl.col("norg") > 0).then(pl.col("org")).otherwise(None).cast(pl.Int64).alias("org"),
    )


def report_counts(ds: dict[str, pl.DataFrame], crosswalk: "str | Path | Crosswalk" = "default") -> pl.DataFrame:
    """The count columns of the panel for every report of ds (no identity, no rates): source,
    appeals_source, received ... litigation_corrected, classes_total, overlap_excluded."""
    cw = load_crosswalk(crosswalk)
    reports = ds["reports"].select("report_id", "template")
    ids = reports.select("report_id")

    # --- candidate sources, long: report_id, scheme, code, value, source
    t3 = _t3_rows(ds["requests"]).join(reports, on="report_id", how="inner")
    t3 = t3.with_columns(pl.when(pl.col("template").is_in(["2019", "2021"])).then(pl.col("template")).otherwise(pl.lit("2021")).alias("scheme"))
    leg = _with_printed_in(ds["legacy"])
    # the statistics-table indicators the panel uses: intake, totals and the crosswalk's rows
    fam = sorted({c for v in INTAKE["legacy"].values() for c in v} | set(cw.table.filter(pl.col("scheme") == "legacy")["code"].to_list()))
    legt = leg.filter(pl.col("printed_in") == "statistics_table").select("report_id", pl.col("indicator").alias("code"), pl.col("value").cast(pl.Int64))
    legn = leg.filter(pl.col("printed_in") == "prose").select("report_id", pl.col("indicator").alias("code"), pl.col("value").cast(pl.Int64))

    has_t3 = set(t3["report_id"].to_list())
    has_lt = set(legt.filter(pl.col("code").is_in(fam))["report_id"].to_list())
    has_ln = set(legn.filter(pl.col("code").is_in(fam))["report_id"].to_list())
    src_rows = []
    for rid in ids["report_id"].to_list():
        src_rows.append((rid, "table3" if rid in has_t3 else "legacy_table" if rid in has_lt else "narrative" if rid in has_ln else "none"))
    src = pl.DataFrame(src_rows, schema={"report_id": pl.String, "source": pl.String}, orient="row")

    long = pl.concat(
        [
            t3.select("report_id", "scheme", "code", "value").join(src.filter(pl.col("source") == "table3"), on="report_id"),
            legt.with_columns(pl.lit("legacy").alias("scheme")).select("report_id", "scheme", "code", "value").join(src.filter(pl.col("source") == "legacy_table"), on="report_id"),
            legn.with_columns(pl.lit("legacy").alias("scheme")).select("report_id", "scheme", "code", "value").join(src.filter(pl.col("source") == "narrative"), on="report_id"),
        ],
        how="vertical",
    )

    # --- intake and totals
    def pick(name: str) -> pl.DataFrame:
        """The first of INTAKE's source rows for `name` that has a value, per report."""
        frames = []
        for fam_name, schemes in (("table3", ("2019", "2021")), ("legacy", ("legacy",))):
            wanted = INTAKE[fam_name][name]
            if not wanted:
                continue
            rank = {c: i for i, c in enumerate(wanted)}
            f = long.filter(pl.col("scheme").is_in(schemes) & pl.col("code").is_in(wanted) & pl.col("value").is_not_null())
            f = f.with_columns(pl.col("code").replace_strict(rank, return_dtype=pl.Int32).alias("_r")).sort("report_id", "_r")
            frames.append(f.group_by("report_id").agg(pl.col("value").first().alias(name)))
        return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema={"report_id": pl.String, name: pl.Int64})

    intake = ids
    for name in ("received", "carried_over", "handled", "carried_forward"):
        intake = intake.join(pick(name), on="report_id", how="left")

    # requests refused as 不是《条例》所指政府信息 (pre-2019 statistics table or prose): exposure measure
    ngi = long.filter((pl.col("scheme") == "legacy") & (pl.col("code") == "denied_not_government_info") & pl.col("value").is_not_null()).group_by("report_id").agg(
        pl.col("value").first().cast(pl.Int64).alias("not_government_info")
    )

    applicants = t3.filter(pl.col("code") == "new_received").join(src.filter(pl.col("source") == "table3"), on="report_id").select(
        "report_id", pl.col("natural_person").alias("natural_person_requests"), pl.col("org").alias("org_requests")
    )

    # --- outcome classes through the crosswalk, with the overlap rule and parent-minus-child rows
    mapped = long.join(cw.table.select("scheme", "code", "outcome_class", "overlap_with", "within"), on=["scheme", "code"], how="inner")
    mapped = mapped.filter(pl.col("outcome_class") != NOT_COUNTED)
    mapped, within_bad = _apply_within(mapped)
    is_ov = pl.col("overlap_with").is_not_null()
    ov = (
        mapped.group_by("report_id")
        .agg(
            pl.col("value").filter(~is_ov).sum().alias("s_without"),
            pl.col("value").filter(is_ov).sum().alias("s_overlap"),
            pl.col("value").filter(is_ov).count().alias("n_overlap"),
        )
        .join(intake.select("report_id", "handled"), on="report_id", how="left")
        .with_columns(
            (pl.col("handled").is_not_null() & ((pl.col("s_without") + pl.col("s_overlap")) == pl.col("handled"))).alias("overlap_counted"),
        )
        .with_columns(
            pl.when((pl.col("n_overlap") > 0) & (pl.col("s_overlap") > 0))
            .then(pl.when(pl.col("overlap_counted")).then(pl.lit(0, pl.Int64)).otherwise(pl.col("s_overlap")))
            .otherwise(None)
            .cast(pl.Int64)
            .alias("overlap_excluded")
        )
    )
    mapped = mapped.join(ov.select("report_id", "overlap_counted"), on="report_id", how="left").filter(~is_ov | pl.col("overlap_counted"))
    mapped = mapped.drop("within")
    cls = mapped.group_by("report_id", "outcome_class").agg(
        pl.when(pl.col("value").count() > 0).then(pl.col("value").sum()).otherwise(None).cast(pl.Int64).alias("value")
    )
    wide = ids.join(
        cls.pivot(on="outcome_class", index="report_id", values="value") if cls.height else pl.DataFrame(schema={"report_id": pl.String}),
        on="report_id",
        how="left",
    )
    for c in CLASSES:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Int64).alias(c))
    wide = wide.select("report_id", *[pl.col(c).cast(pl.Int64) for c in CLASSES])

    # --- appeals
    appeals = _appeals(ds, ids)

    out = (
        ids.join(src, on="report_id", how="left")
        .join(appeals, on="report_id", how="left")
        .join(intake, on="report_id", how="left")
        .join(wide, on="report_id", how="left")
        .join(applicants, on="report_id", how="left")
        .join(ov.select("report_id", "overlap_excluded"), on="report_id", how="left")
        .join(ngi, on="report_id", how="left")
        .join(within_bad, on="report_id", how="left")
        .with_columns(_sum_known(CLASSES).cast(pl.Int64).alias("classes_total"))
    )
    return out


def _apply_within(mapped: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parent minus child: a mapped row with `within` = P is counted in its own class and its value
    is taken out of P's value, per report (RULES['within']). Where the children print more than
    their parent, nothing is moved for that report: the children are dropped (they stay inside the
    parent, as when they are not counted) and the report is listed in the second frame
    (report_id, within_not_moved: the requests of the sub-items left inside the parent)."""
    empty = pl.DataFrame(schema={"report_id": pl.String, "within_not_moved": pl.Int64})
    kids = mapped.filter(pl.col("within").is_not_null() & pl.col("value").is_not_null())
    if kids.height == 0:
        return mapped, empty
    moved = kids.group_by("report_id", "scheme", "within").agg(
        pl.col("value").sum().alias("_minus"), pl.col("code").sort().str.join(", ").alias("_kids")
    )
    parents = mapped.join(moved, left_on=["report_id", "scheme", "code"], right_on=["report_id", "scheme", "within"], how="inner")
    bad = parents.filter(pl.col("value").is_not_null() & (pl.col("_minus") > pl.col("value")))
    bad_keys = bad.select("report_id", "scheme", pl.col("code").alias("within"))
    problems = bad.group_by("report_id").agg(pl.col("_minus").sum().cast(pl.Int64).alias("within_not_moved"))
    # children of a parent that is smaller than them stay inside it (not counted on their own)
    mapped = mapped.join(bad_keys.with_columns(pl.lit(True).alias("_bad")), on=["report_id", "scheme", "within"], how="left").filter(pl.col("_bad").is_null()).drop("_bad")
    ok = moved.join(bad_keys, on=["report_id", "scheme", "within"], how="anti")
    mapped = (
        mapped.join(ok.select("report_id", "scheme", pl.col("within").alias("code"), "_minus"), on=["report_id", "scheme", "code"], how="left")
        .with_columns(pl.when(pl.col("_minus").is_not_null() & pl.col("value").is_not_null()).then(pl.col("value") - pl.col("_minus")).otherwise(pl.col("value")).alias("value"))
        .drop("_minus")
    )
    return mapped, problems


def _appeals(ds: dict[str, pl.DataFrame], ids: pl.DataFrame) -> pl.DataFrame:
    ap = ds["appeals"]
    v, o = pl.col("value"), pl.col("outcome")
    per = ap.group_by("report_id", "proceeding").agg(
        v.filter(o == "total").first().alias("tot"),
        v.filter(o != "total").sum().alias("parts"),
        v.filter(o != "total").count().alias("nparts"),
        v.filter(o == "corrected").first().alias("corr"),
    ).with_columns(pl.coalesce(pl.col("tot"), pl.when(pl.col("nparts") > 0).then(pl.col("parts"))).alias("cases"))
    rec = per.filter(pl.col("proceeding") == "reconsideration").select("report_id", pl.col("cases").alias("reconsideration"), pl.col("corr").alias("reconsideration_corrected"))
    lit = (
        per.filter(pl.col("proceeding") != "reconsideration")
        .group_by("report_id")
        .agg(
            pl.when(pl.col("cases").count() > 0).then(pl.col("cases").sum()).alias("litigation"),
            pl.when(pl.col("corr").count() > 0).then(pl.col("corr").sum()).alias("litigation_corrected"),
        )
    )
    t4 = per.select("report_id").unique().join(rec, on="report_id", how="left").join(lit, on="report_id", how="left").with_columns(pl.lit("table4").alias("appeals_source"))
    cols = list(APPEALS_LEGACY)
    leg = _with_printed_in(ds["legacy"]).filter(pl.col("indicator").is_in(list(APPEALS_LEGACY.values())))

    def from_legacy(printed_in: str, label: str) -> pl.DataFrame:
        f = leg.filter(pl.col("printed_in") == printed_in)
        if f.height == 0:
            return pl.DataFrame(schema={"report_id": pl.String, **{c: pl.Int64 for c in cols}, "appeals_source": pl.String})
        w = f.pivot(on="indicator", index="report_id", values="value", aggregate_function="first")
        for c in cols:
            if c not in w.columns:
                w = w.with_columns(pl.lit(None, pl.Int64).alias(c))
        return w.select("report_id", *cols).with_columns(pl.lit(label).alias("appeals_source"))

    frames = [t4.select("report_id", *cols, "appeals_source"), from_legacy("statistics_table", "legacy_table"), from_legacy("prose", "narrative")]
    sch = {"report_id": pl.String, **{c: pl.Int64 for c in cols}, "appeals_source": pl.String}
    rank = {"table4": 0, "legacy_table": 1, "narrative": 2}
    allf = pl.concat([f.cast(sch) for f in frames], how="vertical").with_columns(pl.col("appeals_source").replace_strict(rank, return_dtype=pl.Int32).alias("_r"))
    best = allf.sort("report_id", "_r").group_by("report_id").first().drop("_r")
    return ids.join(best, on="report_id", how="left").with_columns(pl.col("appeals_source").fill_null("none"))


# the columns of each contract table that the panel reads
PANEL_INPUTS = {
    "requests": ["report_id", "row_code", "applicant", "value", "derived"],
    "legacy": ["report_id", "indicator", "value", "origin", "printed_in"],
    "appeals": ["report_id", "proceeding", "outcome", "value"],
}


def _with_printed_in(leg: pl.DataFrame) -> pl.DataFrame:
    """The legacy rows with printed_in, which the panel reads to tell the statistics table from
    prose. A dataset written before printed_in existed has only origin, which then meant exactly
    that (table = statistics table, narrative = prose)."""
    if "printed_in" in leg.columns:
        return leg
    return leg.with_columns(
        pl.when(pl.col("origin") == "table").then(pl.lit("statistics_table")).otherwise(pl.lit("prose")).alias("printed_in")
    )


def _collect(frame: "pl.DataFrame | pl.LazyFrame", where: pl.Expr | None = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """An eager frame from a DataFrame or a LazyFrame (e.g. pl.scan_parquet), filtered and
    projected before anything is read."""
    lf = frame.lazy()
    if columns is not None:
        have = lf.collect_schema().names()
        lf = lf.select([c for c in columns if c in have])
    if where is not None:
        lf = lf.filter(where)
    return lf.collect()


def build_panel(
    ds: "dict[str, pl.DataFrame | pl.LazyFrame]",
    crosswalk: "str | Path | Crosswalk" = "default",
    denominator: str = "handled",
    chunk_reports: int | None = None,
) -> pl.DataFrame:
    """The harmonised panel: one row per report of ds (report_id unique), with the columns of
    schemas.TABLES['panel'] in that order: identity (agency_id, kind, level, place, year, era,
    template, status, source), counts (Int64, null when unknown), rates (Float64, null when the
    denominator is 0 or unknown) and the settings (crosswalk, denominator). Sorted by agency_id,
    year and report_id. `ds` is dataset.read_dataset() output, or the same tables as LazyFrames
    (dataset.scan_dataset()).

    Every panel row depends on its own report's rows only, so with `chunk_reports` the panel is
    built `chunk_reports` reports at a time, reading only those reports' rows (and only the
    columns it needs) from lazy tables: memory stays bounded whatever the corpus size."""
    if denominator not in DENOMINATORS:
        raise ValueError(f"unknown denominator {denominator!r}: use one of {', '.join(DENOMINATORS)}")
    cw = load_crosswalk(crosswalk)
    rep = _collect(ds["reports"])
    step = chunk_reports if chunk_reports and rep.height > chunk_reports else max(rep.height, 1)
    parts = []
    for i in range(0, max(rep.height, 1), step):
        sub_rep = rep.slice(i, step)
        where = pl.col("report_id").is_in(sub_rep["report_id"].implode()) if step < rep.height else None
        sub = {"reports": sub_rep, **{t: _collect(ds[t], where, cols) for t, cols in PANEL_INPUTS.items()}}
        parts.append(_panel_rows(sub, cw, denominator))
    panel = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
    return panel.sort(["agency_id", "year", "report_id"], nulls_last=True)


def _panel_rows(ds: dict[str, pl.DataFrame], cw: Crosswalk, denominator: str) -> pl.DataFrame:
    rep = ds["reports"]
    ident = harmonise.agencies(rep)
    counts = report_counts(ds, cw)
    base = rep.select("report_id", "agency", "province", "city", "county", "division_code", "year", "template", "status")
    panel = (
        base.join(ident, on="report_id", how="left")
        .join(counts, on="report_id", how="left")
        .with_columns(harmonise.era_expr("year").alias("era"), pl.lit(cw.name).alias("crosswalk"))
    )
    panel = add_rates(panel, denominator)
    sch = polars_schema("panel")
    return panel.select([pl.col(c).cast(t) for c, t in sch.items()])


def read_panel(path: "str | Path") -> pl.DataFrame:
    """The panel a `foi-research build` wrote (DIR/panel.parquet)."""
    p = Path(path)
    f = p / "panel.parquet" if p.is_dir() else p
    if not f.exists():
        raise FileNotFoundError(f"{f} not found: run `foi-research build --out {p}` first")
    return pl.read_parquet(f)


# ---------------------------------------------------------------------------------------------
# Quality: crosswalk totals and cross-year checks


def _qrow(report_id: str, check: str, message: str, **ctx) -> dict:
    sev = codes.V("quality_checks")[check].extra["severity"]
    d = {c.name: None for c in _table_columns("quality")}
    d.update(report_id=report_id, check=check, severity=sev, message=message)
    d.update({k: v for k, v in ctx.items() if k in d})
    return d


def crosswalk_quality(panel: pl.DataFrame) -> pl.DataFrame:
    """crosswalk_total warnings (table sources whose harmonised classes do not add up to the
    printed total) and crosswalk_overlap notes (the overlap rule left requests out)."""
    rows = []
    f = panel.filter(pl.col("source").is_in(TABLE_SOURCES) & pl.col("handled").is_not_null() & pl.col("classes_total").is_not_null())
    for r in f.filter(pl.col("classes_total") != pl.col("handled")).iter_rows(named=True):
        what = "table 3 三(七) 总计" if r["source"] == "table3" else "申请答复数 (answered)"
        parts = ", ".join(f"{c} {r[c]}" for c in CLASSES if r[c] is not None)
        ov = f"; {r['overlap_excluded']} left out by the overlap rule" if r["overlap_excluded"] else ""
        rows.append(
            _qrow(
                r["report_id"],
                "crosswalk_total",
                f"harmonised classes add up to {r['classes_total']} ({parts}{ov}) but the source prints {what} = {r['handled']} "
                f"(crosswalk {r['crosswalk']}); the source is inconsistent: rates use {what} as printed",
                **({"row_code": "total_handled"} if r["source"] == "table3" else {"indicator": "answered"}),
            )
        )
    if "within_not_moved" in panel.columns:
        for r in panel.filter(pl.col("within_not_moved").is_not_null()).sort("report_id").iter_rows(named=True):
            t = load_crosswalk(r["crosswalk"]).table.filter(pl.col("within").is_not_null())
            what = ", ".join(f"{x['code']} inside {x['within']}" for x in t.iter_rows(named=True))
            rows.append(_qrow(r["report_id"], "crosswalk_within", f"{r['within_not_moved']} request(s) of {what} were printed as more than their parent: nothing moved, the parent counted as printed (crosswalk {r['crosswalk']})"))
    rows += range_quality(panel)
    over = panel.filter(pl.col("overlap_excluded") > 0)
    for name in over["crosswalk"].unique().sort().to_list():
        t = load_crosswalk(name).table.filter(pl.col("overlap_with").is_not_null())
        leg = codes.V("legacy_indicators").by_code
        what = ", ".join(f"{r['code']} ({leg[r['code']].zh if r['code'] in leg else r['code']}) inside {r['overlap_with']}" for r in t.iter_rows(named=True))
        only = t["code"].to_list()
        for r in over.filter(pl.col("crosswalk") == name).iter_rows(named=True):
            total = r["classes_total"]
            rows.append(
                _qrow(
                    r["report_id"],
                    "crosswalk_overlap",
                    f"{r['overlap_excluded']} request(s) of {what} not counted (overlap rule): the answer categories add up to "
                    f"{total} without it and {(total or 0) + r['overlap_excluded']} with it, the total printed is {r['handled']}",
                    indicator=only[0] if len(only) == 1 else None,
                )
            )
    return _frame("quality", rows)


def rate_problems(panel: pl.DataFrame, metrics: Iterable[str] | None = None) -> pl.DataFrame:
    """Reports whose request-based rate is outside 0-1 or built on a negative count (RULES['range']):
    report_id, metric, numerator, denominator, problem (rate_above_one | negative_count)."""
    out = []
    for code in metrics if metrics is not None else PANEL_METRICS:
        m = METRIC_BY_CODE[code]
        cols = [c for c in (*m.numerator, *(m.denominator if isinstance(m.denominator, tuple) else ())) if c in panel.columns]
        num, den = _numerator(m), _denominator(m)
        neg = pl.any_horizontal(*(pl.col(c) < 0 for c in cols), den < 0) if cols else den < 0
        f = panel.select(
            "report_id",
            pl.lit(code).alias("metric"),
            num.cast(pl.Int64).alias("numerator"),
            den.cast(pl.Int64).alias("denominator"),
            pl.when(neg.fill_null(False)).then(pl.lit("negative_count")).when((den > 0) & (num > den)).then(pl.lit("rate_above_one")).otherwise(None).alias("problem"),
        ).filter(pl.col("problem").is_not_null())
        out.append(f)
    schema = {"report_id": pl.String, "metric": pl.String, "numerator": pl.Int64, "denominator": pl.Int64, "problem": pl.String}
    return pl.concat([f.cast(schema) for f in out], how="vertical") if out else pl.DataFrame(schema=schema)


def range_quality(panel: pl.DataFrame) -> list[dict]:
    """rate_out_of_range quality rows: one per report, naming every rate concerned."""
    p = rate_problems(panel)
    rows = []
    den_name = {r["report_id"]: r["denominator"] for r in panel.select("report_id", "denominator").iter_rows(named=True)} if "denominator" in panel.columns else {}
    for rid, g in sorted(p.group_by("report_id"), key=lambda kv: str(kv[0][0])):
        parts = []
        for r in g.sort("metric").iter_rows(named=True):
            what = "a negative count" if r["problem"] == "negative_count" else "above 1"
            parts.append(f"{r['metric']} = {r['numerator']} / {r['denominator']} ({what})")
        rows.append(
            _qrow(
                rid[0],
                "rate_out_of_range",
                "rate outside 0-1: " + "; ".join(parts) + f" (denominator {den_name.get(rid[0], '?')}); kept as printed, left out of the study's analyses of these rates",
            )
        )
    return rows


def crossyear_checks(ds: dict[str, pl.DataFrame], panel: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every cross-year comparison that can be made, whether it holds or not. Columns: check,
    report_id (year Y), prev_report_id (year Y-1, same agency_id), agency_id, year, item
    (applicant column, or table-2 item), expected, observed, holds.

    crossyear_carry: carried_forward(Y-1) = carried_over(Y), per applicant column of table 3.
    crossyear_in_force: in_force(Y) = in_force(Y-1) + issued(Y) - repealed(Y), 2021 template,
    per table-2 item of 第二十条第(一)项."""
    if panel is not None:
        ident = panel.select("report_id", "agency_id", "year")
    else:
        reports = _collect(ds["reports"])
        ident = harmonise.agencies(reports).join(reports.select("report_id", "year"), on="report_id")
    ident = ident.filter(pl.col("agency_id").is_not_null() & pl.col("year").is_not_null())
    out_schema = {
        "check": pl.String,
        "report_id": pl.String,
        "prev_report_id": pl.String,
        "agency_id": pl.String,
        "year": pl.Int64,
        "item": pl.String,
        "expected": pl.Int64,
        "observed": pl.Int64,
        "holds": pl.Boolean,
    }
    frames = []

    carry = _collect(
        ds["requests"], pl.col("row_code").is_in(["carried_over", "carried_forward"]) & pl.col("value").is_not_null(), PANEL_INPUTS["requests"]
    )
    if "derived" in carry.columns:
        carry = carry.filter(~pl.col("derived").fill_null(False))
    carry = carry.pivot(on="row_code", index=["report_id", "applicant"], values="value", aggregate_function="first") if carry.height else None
    if carry is not None and {"carried_over", "carried_forward"} <= set(carry.columns):
        c = carry.join(ident, on="report_id")
        cur = c.filter(pl.col("carried_over").is_not_null()).select("report_id", "agency_id", "year", "applicant", "carried_over")
        prev = c.filter(pl.col("carried_forward").is_not_null()).select(
            pl.col("report_id").alias("prev_report_id"), "agency_id", (pl.col("year") + 1).alias("year"), "applicant", "carried_forward"
        )
        j = cur.join(prev, on=["agency_id", "year", "applicant"], how="inner")
        frames.append(
            j.select(
                pl.lit("crossyear_carry").alias("check"),
                "report_id",
                "prev_report_id",
                "agency_id",
                "year",
                pl.col("applicant").alias("item"),
                pl.col("carried_forward").alias("expected"),
                pl.col("carried_over").alias("observed"),
            )
        )

    sections = [s for s, ms in PROACTIVE_LAYOUT.get("2021", {}).items() if "in_force" in ms]
    items = [c.code for c in codes.V("proactive_items") if c.extra.get("section") in sections]
    rep21 = _collect(ds["reports"], pl.col("template") == "2021", ["report_id", "template"]).select("report_id")
    pro = _collect(
        ds["proactive"],
        pl.col("item").is_in(items) & pl.col("measure").is_in(["issued", "repealed", "in_force"]) & pl.col("value").is_not_null(),
        ["report_id", "item", "measure", "value"],
    ).join(rep21, on="report_id")
    if pro.height:
        w = pro.pivot(on="measure", index=["report_id", "item"], values="value", aggregate_function="first")
        for m in ("issued", "repealed", "in_force"):
            if m not in w.columns:
                w = w.with_columns(pl.lit(None, pl.Float64).alias(m))
        w = w.join(ident, on="report_id")
        cur = w.filter(pl.all_horizontal(pl.col("issued", "repealed", "in_force").is_not_null()))
        prev = w.filter(pl.col("in_force").is_not_null()).select(
            pl.col("report_id").alias("prev_report_id"), "agency_id", (pl.col("year") + 1).alias("year"), "item", pl.col("in_force").alias("prev_in_force")
        )
        j = cur.join(prev, on=["agency_id", "year", "item"], how="inner")
        frames.append(
            j.select(
                pl.lit("crossyear_in_force").alias("check"),
                "report_id",
                "prev_report_id",
                "agency_id",
                "year",
                "item",
                (pl.col("prev_in_force") + pl.col("issued") - pl.col("repealed")).round(0).cast(pl.Int64).alias("expected"),
                pl.col("in_force").round(0).cast(pl.Int64).alias("observed"),
            )
        )
    if not frames:
        return pl.DataFrame(schema=out_schema)
    out = pl.concat([f.with_columns(pl.col("expected").cast(pl.Int64), pl.col("observed").cast(pl.Int64)) for f in frames], how="vertical_relaxed")
    out = out.with_columns((pl.col("expected") == pl.col("observed")).alias("holds"))
    return out.select([pl.col(k).cast(t) for k, t in out_schema.items()]).sort("check", "agency_id", "year", "report_id", "prev_report_id", "item")


def crossyear_quality(checks: pl.DataFrame) -> pl.DataFrame:
    """Quality rows (warnings) for the cross-year comparisons that do not hold, attached to year
    Y's report."""
    rows = []
    app = codes.V("applicants")
    items = codes.V("proactive_items")
    for r in checks.filter(~pl.col("holds")).iter_rows(named=True):
        if r["check"] == "crossyear_carry":
            col = app.by_code[r["item"]].zh if r["item"] in app.by_code else r["item"]
            msg = (
                f"table 3 row 二 上年结转 ({col}) is {r['observed']} but the {r['year'] - 1} report of the same agency "
                f"({r['prev_report_id']}) carried forward {r['expected']} (row 四 结转下年度继续办理)"
            )
            rows.append(_qrow(r["report_id"], r["check"], msg, applicant=r["item"] if r["item"] in app.by_code else None))
        else:
            name = items.by_code[r["item"]].zh if r["item"] in items.by_code else r["item"]
            msg = (
                f"table 2 {name} 现行有效件数 is {r['observed']} but the {r['year'] - 1} report ({r['prev_report_id']}) "
                f"in force + issued - repealed of this year = {r['expected']}"
            )
            rows.append(_qrow(r["report_id"], r["check"], msg, item=r["item"], measure="in_force"))
    return _frame("quality", rows)


HARMONISE_CHECKS: list[str] = codes.V("quality_checks").codes


def quality_rows(ds: dict[str, pl.DataFrame], panel: pl.DataFrame) -> pl.DataFrame:
    """All quality rows of the harmonise stage for a panel built from ds, sorted."""
    q = pl.concat([crosswalk_quality(panel), crossyear_quality(crossyear_checks(ds, panel))], how="vertical")
    return q.sort("report_id", "check", "message")
