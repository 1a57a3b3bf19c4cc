"""The analyses behind the research notebooks: region selection, descriptive tables, intervals
that respect small counts, ranks with intervals, and the 2019-revision panel models.

Everything here takes the contract tables (dict from `dataset.read_dataset`, eager, or of
LazyFrames as `studies.load_study_data` gives for a built dataset: only the rows needed are read)
and/or the harmonised panel (`metrics.build_panel`) and returns tidy polars frames, sorted explicitly so
that notebook outputs are identical run after run. The notebooks only call these functions,
chart the results with `viz` and explain them.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import polars as pl

from foi_research.harmonise.metrics import _collect


def _outcome_classes() -> list[str]:
    from foi_research.reference import codes

    return [c["code"] for c in codes.raw()["outcome_classes"]]


# Harmonised outcome classes of the panel, in table-3 order (codes.yaml `outcome_classes`).
OUTCOME_GROUPS = _outcome_classes()
LEVELS = ("province", "city", "county", "agency")
PERIODS = ["period_pre", "period_transition", "period_post"]
TRANSITION_CHOICES = ("exclude", "pre", "post")


class AnalysisError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------
# Selection


def region_filter(region: str | None) -> pl.Expr:
    """Reports of a region: `region` is a province, city or county name as printed in the
    reports table (山东省, 淄博市, 临淄区); '' or None selects everything."""
    if not region:
        return pl.lit(True)
    return (pl.col("province") == region) | (pl.col("city") == region) | (pl.col("county") == region)


def select(panel: pl.DataFrame, region: str | None = None, years: list[int] | tuple[int, int] | None = None) -> pl.DataFrame:
    """Panel rows of a region and an inclusive year range [first, last]; raises when empty so a
    typo in a params file fails loudly instead of producing empty charts."""
    out = panel.filter(region_filter(region))
    if region and out.height == 0:
        known = sorted(set(panel["province"].drop_nulls()) | set(panel["city"].drop_nulls()) | set(panel["county"].drop_nulls()))
        raise AnalysisError(f"no reports for region {region!r}; regions in the data: {', '.join(known)}")
    if years:
        lo, hi = _years(years)
        out = out.filter(pl.col("year").is_between(lo, hi))
        if out.height == 0:
            raise AnalysisError(f"no reports for {region or 'the data'} between {lo} and {hi}")
    return out.sort("agency", "year", "report_id", nulls_last=True)


def _years(years) -> tuple[int, int]:
    ys = [int(y) for y in years]
    if len(ys) != 2 or ys[0] > ys[1]:
        raise AnalysisError(f"years must be [first, last], got {years!r}")
    return ys[0], ys[1]


def overview(panel: pl.DataFrame) -> pl.DataFrame:
    """One row: reports, agencies, first and last year, reports with request counts."""
    return pl.DataFrame(
        {
            "reports": [panel.height],
            "agencies": [panel["agency_id"].n_unique()],
            "first_year": [panel["year"].min()],
            "last_year": [panel["year"].max()],
            "with_request_counts": [panel.filter(pl.col("received").is_not_null()).height],
            "with_outcomes": [panel.filter(pl.col("handled").is_not_null()).height],
        }
    )


def coverage(panel: pl.DataFrame) -> pl.DataFrame:
    """Which agency reported which year, in which template, how completely, and where the
    request counts come from."""
    return panel.select("agency", "year", "template", "status", "source").sort("agency", "year", "template")


# ---------------------------------------------------------------------------------------------
# Region profile tables


def requests_per_agency_year(panel: pl.DataFrame) -> pl.DataFrame:
    """agency, year, received, source: requests received, where the report gives them."""
    return (
        panel.filter(pl.col("received").is_not_null())
        .group_by("agency", "year")
        .agg(pl.col("received").sum(), pl.col("source").sort().str.join(","))
        .sort("agency", "year")
    )


def outcome_mix(panel: pl.DataFrame) -> pl.DataFrame:
    """year, outcome, count: how the requests handled in the region were answered, summed over
    agencies (reports without outcome counts are left out)."""
    cols = [c for c in OUTCOME_GROUPS if c in panel.columns]
    long = (
        panel.filter(pl.col("handled").is_not_null())
        .select("year", *cols)
        .unpivot(index="year", on=cols, variable_name="outcome", value_name="count")
        .filter(pl.col("count").is_not_null())
        .group_by("year", "outcome")
        .agg(pl.col("count").sum())
    )
    order = {c: i for i, c in enumerate(OUTCOME_GROUPS)}
    return long.with_columns(pl.col("outcome").replace_strict(order, return_dtype=pl.Int64).alias("_o")).sort("year", "_o").drop("_o")


def outcome_mix_by_unit(panel: pl.DataFrame, level: str) -> pl.DataFrame:
    """unit, outcome, count: outcome classes summed per unit (county, agency...)."""
    cols = [c for c in OUTCOME_GROUPS if c in panel.columns]
    order = {c: i for i, c in enumerate(OUTCOME_GROUPS)}
    return (
        panel.filter(pl.col("handled").is_not_null())
        .with_columns(unit_expr(level).alias("unit"))
        .select("unit", *cols)
        .unpivot(index="unit", on=cols, variable_name="outcome", value_name="count")
        .filter(pl.col("count").is_not_null())
        .group_by("unit", "outcome")
        .agg(pl.col("count").sum())
        .with_columns(pl.col("outcome").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("unit", "_o")
        .drop("_o")
    )


def applicant_mix(tables: dict, report_ids: list[str] | pl.Series, reports: pl.DataFrame | None = None) -> pl.DataFrame:
    """year, applicant, count: new requests by applicant type (table 3, 2019 and 2021 templates;
    earlier reports do not split applicants)."""
    from foi_research.reference.codes import APPLICANTS

    ids = list(report_ids)
    reports = _collect(reports if reports is not None else tables["reports"], pl.col("report_id").is_in(ids), ["report_id", "year"])
    req = _collect(
        tables["requests"],
        pl.col("report_id").is_in(ids) & (pl.col("row_code") == "new_received") & (pl.col("applicant") != "total"),
        ["report_id", "row_code", "applicant", "value"],
    )
    order = {c: i for i, c in enumerate(APPLICANTS)}
    return (
        req.join(reports.select("report_id", "year"), on="report_id", how="left")
        .filter(pl.col("value").is_not_null())
        .group_by("year", "applicant")
        .agg(pl.col("value").sum().alias("count"))
        .with_columns(pl.col("applicant").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("year", "_o")
        .drop("_o")
    )


def appeals_by_year(panel: pl.DataFrame) -> pl.DataFrame:
    """year, proceeding (reconsideration / litigation), count: appeals against the region's
    disclosure decisions, from table 4 or the pre-2019 statistics table."""
    long = (
        panel.select("year", "reconsideration", "litigation")
        .unpivot(index="year", on=["reconsideration", "litigation"], variable_name="proceeding", value_name="count")
        .filter(pl.col("count").is_not_null())
        .group_by("year", "proceeding")
        .agg(pl.col("count").sum())
    )
    return long.with_columns((pl.col("proceeding") == "litigation").cast(pl.Int64).alias("_o")).sort("year", "_o").drop("_o")


def quality_summary(tables: dict, report_ids) -> pl.DataFrame:
    """check, severity, findings, reports: what the parser flagged in the region's reports."""
    from foi_research.reference.codes import SEVERITIES

    q = _collect(tables["quality"], pl.col("report_id").is_in(list(report_ids)))
    order = {c: i for i, c in enumerate(SEVERITIES)}
    return (
        q.group_by("check", "severity")
        .agg(pl.len().cast(pl.Int64).alias("findings"), pl.col("report_id").n_unique().cast(pl.Int64).alias("reports"))
        .with_columns(pl.col("severity").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("_o", "findings", "check", descending=[False, True, False])
        .drop("_o")
    )


def quality_findings(tables: dict, panel: pl.DataFrame, severities=("error", "warning")) -> pl.DataFrame:
    """agency, year, check, severity, message: the region's findings of the given severities,
    for reading (the values printed in the reports are never altered; they are flagged)."""
    q = _collect(tables["quality"], pl.col("report_id").is_in(panel["report_id"].to_list()) & pl.col("severity").is_in(list(severities)))
    return (
        q.join(panel.select("report_id", "agency", "year"), on="report_id", how="left")
        .select("agency", "year", "check", "severity", "message")
        .sort("agency", "year", "check", "message", nulls_last=True)
    )


# ---------------------------------------------------------------------------------------------
# Rates and intervals


def metric_spec(rate: str) -> dict:
    """The definition of a panel metric in codes.yaml (`metrics`): numerator columns and
    denominator ('requests' = the panel's chosen denominator, or a list of count columns)."""
    from foi_research.reference import codes

    for m in codes.raw().get("metrics", []):
        if m["code"] == rate:
            return m
    raise AnalysisError(f"unknown metric {rate!r}; metrics: {', '.join(m['code'] for m in codes.raw().get('metrics', []))}")


def _sum_or_null(cols: list[str]) -> pl.Expr:
    """Add up count columns, a null part counting as 0; null when every part is null."""
    return pl.when(pl.any_horizontal(*(pl.col(c).is_not_null() for c in cols))).then(
        pl.sum_horizontal(*(pl.col(c).fill_null(0) for c in cols))
    ).otherwise(None)


def rate_parts(panel: pl.DataFrame, rate: str) -> pl.DataFrame:
    """Add `numerator` and `denominator` (counts, Int64) for a metric of the panel, from its
    definition in codes.yaml, so that rates can be pooled over reports and given intervals.
    Rows where the panel's rate is null get null parts (the panel is the authority)."""
    spec = metric_spec(rate)
    den = spec["denominator"]
    if den == "requests":
        den_expr = pl.col("denominator_value")
    elif den == "reports":
        den_expr = pl.lit(1)
    else:
        den_expr = _sum_or_null(list(den))
    num_expr = _sum_or_null(list(spec["numerator"]))
    ok = pl.col(rate).is_not_null() if rate in panel.columns else pl.lit(True)
    return panel.with_columns(
        pl.when(ok).then(num_expr).otherwise(None).cast(pl.Int64).alias("numerator"),
        pl.when(ok).then(den_expr).otherwise(None).cast(pl.Int64).alias("denominator"),
    )


def wilson(k: float, n: float, z: float = 1.959964) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes out of n: sensible for small n and for rates of
    0 or 1, where the normal approximation gives nonsense."""
    if n is None or k is None or n <= 0:
        return None, None
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return round(max(0.0, c - h), 12) + 0.0, round(min(1.0, c + h), 12) + 0.0


def with_wilson(df: pl.DataFrame, k: str = "numerator", n: str = "denominator") -> pl.DataFrame:
    lo, hi = [], []
    for kk, nn in zip(df[k].to_list(), df[n].to_list()):
        a, b = wilson(kk, nn)
        lo.append(a)
        hi.append(b)
    return df.with_columns(
        pl.Series("ci_low", lo, dtype=pl.Float64),
        pl.Series("ci_high", hi, dtype=pl.Float64),
        pl.when(pl.col(n) > 0).then(pl.col(k) / pl.col(n)).otherwise(None).cast(pl.Float64).alias("rate"),
    )


def rank_intervals(df: pl.DataFrame) -> pl.DataFrame:
    """rank (1 = highest rate) and a rank interval from the Wilson intervals: a unit can rank no
    better than 1 + the number of units whose whole interval lies above its interval, and no worse
    than n - the number whose whole interval lies below. Wide for small counts, as it should be."""
    rows = df.to_dicts()
    n = len(rows)
    ranked = sorted(range(n), key=lambda i: (-(rows[i]["rate"] if rows[i]["rate"] is not None else -1), str(rows[i]["unit"])))
    rank = [0] * n
    for r, i in enumerate(ranked, 1):
        rank[i] = r
    lo, hi = [], []
    for i, a in enumerate(rows):
        if a["ci_low"] is None:
            lo.append(None)
            hi.append(None)
            continue
        above = sum(1 for b in rows if b["ci_low"] is not None and b["ci_low"] > a["ci_high"])
        below = sum(1 for b in rows if b["ci_high"] is not None and b["ci_high"] < a["ci_low"])
        lo.append(1 + above)
        hi.append(sum(1 for b in rows if b["ci_low"] is not None) - below)
    return df.with_columns(
        pl.Series("rank", rank, dtype=pl.Int64), pl.Series("rank_low", lo, dtype=pl.Int64), pl.Series("rank_high", hi, dtype=pl.Int64)
    )


def unit_expr(level: str) -> pl.Expr:
    """The name of the unit a report belongs to at a level; reports without that level get
    '(城市本级 / city level)' style labels from the level above so nothing silently disappears."""
    if level not in LEVELS:
        raise AnalysisError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if level == "agency":
        return pl.col("agency").fill_null(pl.col("agency_id"))
    if level == "county":
        return pl.coalesce(pl.col("county"), pl.col("city") + "（本级）", pl.col("province") + "（本级）", pl.lit("（未知）"))
    if level == "city":
        return pl.coalesce(pl.col("city"), pl.col("province") + "（本级）", pl.lit("（未知）"))
    return pl.coalesce(pl.col("province"), pl.lit("（未知）"))


def compare_units(panel: pl.DataFrame, level: str, rate: str, min_denominator: int = 1) -> pl.DataFrame:
    """Pool a rate per unit (county, agency...) over the selected years: unit, reports, agencies,
    numerator, denominator, rate, Wilson interval, rank and rank interval. Units whose pooled
    denominator is below min_denominator are left out (listed by `excluded_units`)."""
    p = rate_parts(panel, rate).filter(pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null() & (pl.col("denominator") > 0))
    g = (
        p.with_columns(unit_expr(level).alias("unit"))
        .group_by("unit")
        .agg(
            pl.len().cast(pl.Int64).alias("reports"),
            pl.col("agency_id").n_unique().cast(pl.Int64).alias("agencies"),
            pl.col("numerator").sum(),
            pl.col("denominator").sum(),
            pl.col("year").min().alias("first_year"),
            pl.col("year").max().alias("last_year"),
        )
        .filter(pl.col("denominator") >= min_denominator)
        .sort("unit")
    )
    if g.height == 0:
        return g.with_columns(*(pl.lit(None, dtype=pl.Float64).alias(c) for c in ("ci_low", "ci_high", "rate")), *(pl.lit(None, dtype=pl.Int64).alias(c) for c in ("rank", "rank_low", "rank_high")))
    return rank_intervals(with_wilson(g)).sort("rank")


def excluded_units(panel: pl.DataFrame, level: str, rate: str, min_denominator: int = 1) -> pl.DataFrame:
    """Units of the selection that compare_units leaves out, and why."""
    p = rate_parts(panel, rate).with_columns(unit_expr(level).alias("unit"))
    g = p.group_by("unit").agg(
        pl.len().cast(pl.Int64).alias("reports"),
        pl.col("denominator").filter(pl.col("numerator").is_not_null()).sum().alias("denominator"),
    )
    return g.filter(pl.col("denominator") < min_denominator).sort("unit")


def yearly_by_unit(panel: pl.DataFrame, level: str, value: str = "received") -> pl.DataFrame:
    """unit, year, <value>: a count summed per unit and year (for small multiples)."""
    return (
        panel.filter(pl.col(value).is_not_null())
        .with_columns(unit_expr(level).alias("unit"))
        .group_by("unit", "year")
        .agg(pl.col(value).sum())
        .sort("unit", "year")
    )


# ---------------------------------------------------------------------------------------------
# The 2019 revision


def assign_period(panel: pl.DataFrame, pre_end: int = 2018, post_start: int = 2020, transition: str = "exclude", reform_year: int = 2019) -> pl.DataFrame:
    """Add `period` (period_pre / period_transition / period_post), `post` (0/1, null for the
    transition years when excluded) and `rel_year` (year - reform_year). Years between pre_end
    and post_start are transition years: excluded from the before/after comparison by default,
    or counted as 'pre' or 'post'."""
    if transition not in TRANSITION_CHOICES:
        raise AnalysisError(f"transition must be one of {TRANSITION_CHOICES}, got {transition!r}")
    if pre_end >= post_start:
        raise AnalysisError(f"pre_end ({pre_end}) must be before post_start ({post_start})")
    period = (
        pl.when(pl.col("year") <= pre_end)
        .then(pl.lit("period_pre"))
        .when(pl.col("year") >= post_start)
        .then(pl.lit("period_post"))
        .otherwise(pl.lit("period_transition"))
    )
    post = (
        pl.when(pl.col("period") == "period_pre")
        .then(0)
        .when(pl.col("period") == "period_post")
        .then(1)
        .otherwise(None if transition == "exclude" else (0 if transition == "pre" else 1))
    )
    return panel.with_columns(period.alias("period")).with_columns(
        post.cast(pl.Int64).alias("post"), (pl.col("year") - reform_year).cast(pl.Int64).alias("rel_year")
    )


def period_rates(panel: pl.DataFrame, rate: str) -> pl.DataFrame:
    """Pooled rate by period with Wilson intervals: period, reports, agencies, numerator,
    denominator, rate, ci_low, ci_high."""
    p = rate_parts(panel, rate).filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0))
    g = p.group_by("period").agg(
        pl.len().cast(pl.Int64).alias("reports"),
        pl.col("agency_id").n_unique().cast(pl.Int64).alias("agencies"),
        pl.col("numerator").sum(),
        pl.col("denominator").sum(),
    )
    order = {c: i for i, c in enumerate(PERIODS)}
    return with_wilson(g).with_columns(pl.col("period").replace_strict(order, return_dtype=pl.Int64).alias("_o")).sort("_o").drop("_o")


def agency_periods(panel: pl.DataFrame, rate: str) -> pl.DataFrame:
    """Per agency: years with a usable rate before and after, pooled rate before and after."""
    p = rate_parts(panel, rate).filter(
        pl.col("numerator").is_not_null() & (pl.col("denominator") > 0) & pl.col("post").is_not_null() & pl.col("agency_id").is_not_null()
    )
    g = p.group_by("agency_id", "agency").agg(
        pl.col("year").filter(pl.col("post") == 0).sort().alias("years_pre"),
        pl.col("year").filter(pl.col("post") == 1).sort().alias("years_post"),
        pl.col("numerator").filter(pl.col("post") == 0).sum().alias("num_pre"),
        pl.col("denominator").filter(pl.col("post") == 0).sum().alias("den_pre"),
        pl.col("numerator").filter(pl.col("post") == 1).sum().alias("num_post"),
        pl.col("denominator").filter(pl.col("post") == 1).sum().alias("den_post"),
    )
    return g.with_columns(
        (pl.col("years_pre").list.len() > 0).alias("has_pre"),
        (pl.col("years_post").list.len() > 0).alias("has_post"),
        pl.when(pl.col("den_pre") > 0).then(pl.col("num_pre") / pl.col("den_pre")).alias("rate_pre"),
        pl.when(pl.col("den_post") > 0).then(pl.col("num_post") / pl.col("den_post")).alias("rate_post"),
        pl.col("years_pre").list.eval(pl.element().cast(pl.String)).list.join(",").alias("years_pre"),
        pl.col("years_post").list.eval(pl.element().cast(pl.String)).list.join(",").alias("years_post"),
    ).sort("agency", "agency_id")


@dataclass
class Caveats:
    agencies: int
    agencies_pre: int
    agencies_post: int
    agencies_both: int
    both_names: list[str]
    reports_pre: int
    reports_post: int
    reports_transition_excluded: int
    reports_no_agency: int = 0
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(f"- {s}" for s in self.lines)

    def _repr_markdown_(self) -> str:
        return self.text()


def caveats(panel: pl.DataFrame, rate: str, min_clusters: int = 20) -> Caveats:
    """What the data can and cannot say about the revision, computed from the data."""
    a = agency_periods(panel, rate)
    both = a.filter(pl.col("has_pre") & pl.col("has_post"))
    p = rate_parts(panel, rate).filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0))
    c = Caveats(
        agencies=a.height,
        agencies_pre=a.filter("has_pre").height,
        agencies_post=a.filter("has_post").height,
        agencies_both=both.height,
        both_names=both["agency"].to_list(),
        reports_pre=p.filter(pl.col("post") == 0).height,
        reports_post=p.filter(pl.col("post") == 1).height,
        reports_transition_excluded=p.filter(pl.col("post").is_null()).height,
        reports_no_agency=p.filter(pl.col("agency_id").is_null()).height,
    )
    L = c.lines
    L.append(
        f"{c.agencies} agencies have a usable {rate}: {c.agencies_pre} with years before the revision, "
        f"{c.agencies_post} with years after, {c.agencies_both} with both."
    )
    if c.agencies_both == 0:
        L.append("No agency is observed both before and after: the agency fixed-effects estimate is not identified, and any before/after difference compares different agencies.")
    elif c.agencies_both == 1:
        L.append(
            f"Only one agency ({c.both_names[0]}) is observed both before and after. The fixed-effects estimate is that one office's change, "
            "not an effect of the regulation on agencies in general; it cannot be separated from anything else that changed in that office, "
            "and a standard error clustered by agency cannot be computed from one cluster."
        )
    elif c.agencies_both < min_clusters:
        L.append(
            f"Only {c.agencies_both} agencies are observed both before and after; standard errors clustered by agency are unreliable "
            f"with fewer than about {min_clusters} clusters (treat the intervals as indicative)."
        )
    L.append(f"{c.reports_pre} reports before, {c.reports_post} after" + (f", {c.reports_transition_excluded} transition-year reports left out." if c.reports_transition_excluded else "."))
    if c.reports_no_agency:
        L.append(f"{c.reports_no_agency} report(s) with a usable rate have no agency the parser could identify: they count in the pooled rates but not in the agency-level model.")
    L.append("Before/after differences also reflect the change of report template in 2019 (different categories), which the crosswalk can only approximate: see the sensitivity section.")
    return c


def fe_model(panel: pl.DataFrame, rate: str, weights: str | None = "denominator", min_clusters: int = 20) -> pl.DataFrame:
    """rate ~ post | agency fixed effects, standard errors clustered by agency (pyfixest).

    Returns one row: term, estimate, se, ci_low, ci_high, p_value, observations, agencies,
    identifying_agencies (observed before and after), vcov, note. The estimate is null when
    no agency is observed on both sides; the interval is null when fewer than two agencies
    identify it (one cluster gives no clustered standard error)."""
    p = rate_parts(panel, rate).filter(
        pl.col(rate).is_not_null() & pl.col("post").is_not_null() & (pl.col("denominator") > 0) & pl.col("agency_id").is_not_null()
    )
    a = agency_periods(panel, rate)
    ident = a.filter(pl.col("has_pre") & pl.col("has_post")).height
    row = {
        "term": "post",
        "estimate": None,
        "se": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "observations": p.height,
        "agencies": p["agency_id"].n_unique(),
        "identifying_agencies": ident,
        "vcov": "CRV1 by agency",
        "note": "",
    }
    if ident == 0:
        row["note"] = "not identified: no agency observed before and after"
        return _one_row(row)
    point = _wls_point(p.with_columns(pl.col("post").cast(pl.Float64)), rate, ["post"], "agency_id", weights)["post"]
    if ident < 2:
        row.update(estimate=point, vcov="none (one cluster)")
        row["note"] = "one identifying agency: no clustered standard error; the estimate is that agency's before/after change"
        return _one_row(row)
    try:
        fit = _feols(f"{rate} ~ post | agency_id", p, weights, {"CRV1": "agency_id"})
        ci = fit.confint()
        row.update(
            estimate=float(fit.coef()["post"]),
            se=float(fit.se()["post"]),
            ci_low=float(ci.loc["post"].iloc[0]),
            ci_high=float(ci.loc["post"].iloc[1]),
            p_value=float(fit.pvalue()["post"]),
        )
        row["note"] = "" if ident >= min_clusters else f"few clusters ({ident}): interval indicative only"
    except Exception as e:  # noqa: BLE001 - degenerate samples: keep the point estimate
        row.update(estimate=point, vcov="none")
        row["note"] = f"no standard error could be computed ({type(e).__name__})"
    return _one_row(row)


def _clean(x):
    """Round away floating-point noise (1e-17 instead of 0) so outputs are identical on every
    machine and run; -0.0 becomes 0.0."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), 10) + 0.0


def _one_row(row: dict) -> pl.DataFrame:
    for k in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        row[k] = _clean(row[k])
    schema = {
        "term": pl.String, "estimate": pl.Float64, "se": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
        "p_value": pl.Float64, "observations": pl.Int64, "agencies": pl.Int64, "identifying_agencies": pl.Int64,
        "vcov": pl.String, "note": pl.String,
    }
    return pl.DataFrame([row], schema=schema)


def _feols(fml: str, p: pl.DataFrame, weights: str | None, vcov):
    import pyfixest as pf

    cols = sorted({c for c in p.columns if c in fml} | {"agency_id"} | ({weights} if weights else set()))
    pdf = p.select(cols).to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=pdf, vcov=vcov, weights=weights if weights else None)


def _wls_point(p: pl.DataFrame, y: str, x: list[str], fe: str, weights: str | None) -> dict[str, float]:
    """Point estimates of y ~ x + fixed effects of `fe` by weighted least squares, used when the
    sample is too small for pyfixest's inference (zero residual degrees of freedom).

    Computed by the within transformation (Frisch-Waugh-Lovell): y and x are demeaned by their
    weighted mean within each fixed-effect group, then regressed without the group dummies.
    Same estimates as the dummy regression, in O(rows) memory whatever the number of agencies."""
    import numpy as np

    d = p.select(y, fe, *x, *([weights] if weights else [])).drop_nulls()
    w = pl.col(weights).cast(pl.Float64) if weights else pl.lit(1.0)
    d = d.with_columns(w.alias("_w"))
    cols = [y, *x]
    demeaned = d.with_columns(
        (pl.col(c).cast(pl.Float64) - (pl.col(c).cast(pl.Float64) * pl.col("_w")).sum().over(fe) / pl.col("_w").sum().over(fe)).alias(c) for c in cols
    )
    sw = np.sqrt(demeaned["_w"].to_numpy())
    X = np.column_stack([demeaned[c].to_numpy() for c in x]) * sw[:, None]
    Y = demeaned[y].to_numpy() * sw
    beta, *_ = np.linalg.lstsq(X, Y, rcond=None)
    return {c: float(beta[i]) for i, c in enumerate(x)}


def event_study(panel: pl.DataFrame, rate: str, ref: int = -1, window: tuple[int, int] = (-5, 4), weights: str | None = "denominator") -> pl.DataFrame:
    """Coefficients of year-relative-to-2019 dummies (reference: `ref`, i.e. 2018) with agency
    fixed effects: rel_year, estimate, ci_low, ci_high, reports, agencies. Also the pooled rate per
    relative year with its Wilson interval (columns pooled_rate, pooled_low, pooled_high), which
    needs no model. Coefficients that the data cannot identify are null; intervals are null when
    fewer than two agencies are observed in that year and the reference year."""
    lo, hi = window
    p = rate_parts(panel, rate).filter(pl.col(rate).is_not_null() & (pl.col("denominator") > 0) & pl.col("rel_year").is_between(lo, hi))
    pooled = with_wilson(
        p.group_by("rel_year").agg(
            pl.len().cast(pl.Int64).alias("reports"),
            pl.col("agency_id").n_unique().cast(pl.Int64).alias("agencies"),
            pl.col("numerator").sum(),
            pl.col("denominator").sum(),
        )
    ).rename({"rate": "pooled_rate", "ci_low": "pooled_low", "ci_high": "pooled_high"})
    ref_agencies = set(p.filter((pl.col("rel_year") == ref) & pl.col("agency_id").is_not_null())["agency_id"].to_list())
    both = (
        p.filter(pl.col("agency_id").is_in(list(ref_agencies)))
        .group_by("rel_year")
        .agg(pl.col("agency_id").n_unique().cast(pl.Int64).alias("agencies_with_ref"))
    )
    est: dict[int, tuple] = {ref: (0.0, None, None)}
    if ref_agencies and p.filter(pl.col("agency_id").is_in(list(ref_agencies)))["rel_year"].n_unique() > 1:
        q = p.filter(pl.col("agency_id").is_in(list(ref_agencies)))
        try:
            if len(ref_agencies) < 2:
                raise ValueError("one agency: no clustered inference")
            fit = _feols(f"{rate} ~ i(rel_year, ref={ref}) | agency_id", q, weights, {"CRV1": "agency_id"})
            coefs, ci = fit.coef(), fit.confint()
            for name, v in coefs.items():
                k = int(str(name).split("::")[-1].rstrip("]").replace("T.", ""))
                est[k] = (float(v), float(ci.loc[name].iloc[0]), float(ci.loc[name].iloc[1]))
        except Exception:  # noqa: BLE001 - too few agencies or observations for inference
            years = sorted(set(q["rel_year"].to_list()) - {ref})
            dummies = q.with_columns(*(pl.col("rel_year").eq(r).cast(pl.Float64).alias(f"_r{r}") for r in years))
            pts = _wls_point(dummies, rate, [f"_r{r}" for r in years], "agency_id", weights)
            for r in years:
                est[r] = (pts[f"_r{r}"], None, None)
    rows = []
    n_with_ref = dict(zip(both["rel_year"].to_list(), both["agencies_with_ref"].to_list()))
    for r in sorted(set(pooled["rel_year"].to_list()) | {ref}):
        e, a, b = est.get(r, (None, None, None))
        if n_with_ref.get(r, 0) < 2 or r == ref:
            a = b = None
        rows.append({"rel_year": r, "estimate": _clean(e), "ci_low": _clean(a), "ci_high": _clean(b), "agencies_with_ref": n_with_ref.get(r, 0)})
    out = pl.DataFrame(rows, schema={"rel_year": pl.Int64, "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "agencies_with_ref": pl.Int64})
    return out.join(pooled.select("rel_year", "reports", "agencies", "pooled_rate", "pooled_low", "pooled_high"), on="rel_year", how="left").sort("rel_year")


def sensitivity(
    tables: dict,
    *,
    crosswalks: list[str],
    denominators: list[str],
    rates: list[str],
    region: str | None,
    years,
    pre_end: int,
    post_start: int,
    transition: str,
    build=None,
) -> pl.DataFrame:
    """The before/after comparison under every rate x crosswalk x denominator: setting, rate,
    crosswalk, denominator, rate_pre, rate_post, difference, estimate (fixed effects), ci_low,
    ci_high, identifying_agencies, reports."""
    if build is None:
        from foi_research.present.studies import build_panel as build
    rows = []
    panels = {}
    for cw in crosswalks:
        for den in denominators:
            panels[(cw, den)] = assign_period(select(build(tables, crosswalk=cw, denominator=den), region, years), pre_end, post_start, transition)
    for rate in rates:
        for (cw, den), pnl in panels.items():
            pr = period_rates(pnl, rate)
            pre = pr.filter(pl.col("period") == "period_pre")["rate"]
            post = pr.filter(pl.col("period") == "period_post")["rate"]
            fe = fe_model(pnl, rate)
            rp = pre[0] if len(pre) else None
            rq = post[0] if len(post) else None
            rows.append(
                {
                    "setting": f"{rate} | {cw} | {den}",
                    "rate": rate,
                    "crosswalk": cw,
                    "denominator": den,
                    "rate_pre": rp,
                    "rate_post": rq,
                    "difference": (rq - rp) if rp is not None and rq is not None else None,
                    "estimate": fe["estimate"][0],
                    "ci_low": fe["ci_low"][0],
                    "ci_high": fe["ci_high"][0],
                    "identifying_agencies": fe["identifying_agencies"][0],
                    "reports": int(pr["reports"].sum()) if pr.height else 0,
                }
            )
    schema = {
        "setting": pl.String, "rate": pl.String, "crosswalk": pl.String, "denominator": pl.String, "rate_pre": pl.Float64, "rate_post": pl.Float64,
        "difference": pl.Float64, "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
        "identifying_agencies": pl.Int64, "reports": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)
