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


def resolve_region(region):
    """The division (reference.gazetteer.Division) a `region` parameter means: a GB/T 2260 code
    (370305), a name (临淄区, 淄博市, 淄博, 临淄 when only one name starts so), a path
    (山东省/济南市/市中区) or a development zone; None for '' (everything). A name shared by several
    divisions (市中区) raises AnalysisError listing them with their codes."""
    from foi_research.reference.gazetteer import Division, RegionError, resolve

    if not region:
        return None
    if isinstance(region, Division):
        return region
    try:
        return resolve(str(region))
    except RegionError as e:
        raise AnalysisError(str(e)) from None


def region_filter(region) -> pl.Expr:
    """Reports of a region, matched by division code (never by name: 济南市市中区 and 枣庄市市中区
    are two places). `region` as for resolve_region; '' or None selects everything."""
    d = resolve_region(region)
    if d is None:
        return pl.lit(True)
    code = pl.col("division_code")
    if d.level == "zone":
        return (code == d.code) & (pl.col("county") == d.name)
    if d.level == "county":
        return code == d.code
    return code.str.starts_with(d.prefix)


def select(panel: pl.DataFrame, region=None, years: list[int] | tuple[int, int] | None = None) -> pl.DataFrame:
    """Panel rows of a region and an inclusive year range [first, last]; raises when empty so a
    typo in a params file fails loudly instead of producing empty charts."""
    d = resolve_region(region)
    out = _ensure_codes(panel).filter(region_filter(d)).select(panel.columns) if d is not None else panel
    if d is not None and out.height == 0:
        known = regions_in(panel)
        listed = ", ".join(f"{r['label']} ({r['code']})" for r in known.head(40).iter_rows(named=True))
        raise AnalysisError(f"no reports for region {region!r} ({d.describe()}) in the data; regions in the data: {listed}")
    if years:
        lo, hi = _years(years)
        out = out.filter(pl.col("year").is_between(lo, hi))
        if out.height == 0:
            raise AnalysisError(f"no reports for {d.label if d else 'the data'} between {lo} and {hi}")
    return out.sort("agency", "year", "report_id", nulls_last=True)


def regions_in(panel: "pl.DataFrame | pl.LazyFrame", level: str | None = None) -> pl.DataFrame:
    """The divisions the data's reports are placed in: code, level, label, path, reports; every
    level (province, city, county and zone) unless `level` is given. What `region` can be."""
    from foi_research.reference.gazetteer import RegionError, division

    rep = panel.lazy().select("division_code", "county").collect()
    counts: dict[tuple[str, str, str, str], int] = {}
    for code, county in rep.filter(pl.col("division_code").is_not_null()).iter_rows():
        try:
            d = division(code)
        except RegionError:
            continue
        chain = []
        for c in {d.code[:2].ljust(6, "0"), d.code[:4].ljust(6, "0"), d.code}:
            try:
                chain.append(division(c))
            except RegionError:
                pass
        for x in chain:
            k = (x.code, x.level, x.label, x.path)
            counts[k] = counts.get(k, 0) + 1
        if county and d.level != "county":  # a development zone placed in its city
            from foi_research.reference.gazetteer import Division

            z = Division(d.code, "zone", county, d.province if d.level != "province" else d.name, d.name if d.level == "city" else None, zone=county)
            k = (z.code, "zone", z.label, z.path)
            counts[k] = counts.get(k, 0) + 1
    order = {"province": 0, "city": 1, "county": 2, "zone": 3}
    rows = sorted(counts.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2]))
    df = pl.DataFrame(
        [(c, lv, lab, path, n) for (c, lv, lab, path), n in rows],
        schema={"code": pl.String, "level": pl.String, "label": pl.String, "path": pl.String, "reports": pl.Int64},
        orient="row",
    )
    return df.filter(pl.col("level") == level) if level else df


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
            "agencies": [n_agencies(panel)],
            "first_year": [panel["year"].min()],
            "last_year": [panel["year"].max()],
            "with_request_counts": [panel.filter(pl.col("received").is_not_null()).height],
            "with_outcomes": [panel.filter(pl.col("handled").is_not_null()).height],
        }
    )


def n_agencies(df: pl.DataFrame) -> int:
    """Distinct identified agencies of a frame (a report whose agency could not be identified has a
    null agency_id: it is not an agency)."""
    return int(df["agency_id"].drop_nulls().n_unique()) if "agency_id" in df.columns else 0


AGENCIES = pl.col("agency_id").drop_nulls().n_unique().cast(pl.Int64).alias("agencies")


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
    """unit_code, unit, outcome, count: outcome classes summed per unit (county, agency...;
    see with_units)."""
    cols = [c for c in OUTCOME_GROUPS if c in panel.columns]
    order = {c: i for i, c in enumerate(OUTCOME_GROUPS)}
    return (
        panel.filter(pl.col("handled").is_not_null())
        .pipe(with_units, level)
        .select("unit_code", "unit", *cols)
        .unpivot(index=["unit_code", "unit"], on=cols, variable_name="outcome", value_name="count")
        .filter(pl.col("count").is_not_null())
        .group_by("unit_code", "unit", "outcome")
        .agg(pl.col("count").sum())
        .with_columns(pl.col("outcome").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("unit", "unit_code", "_o")
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
    Rows where the panel's rate is null get null parts (the panel is the authority).

    Also `rate_problem`: 'rate_above_one' where the printed parts exceed the printed total used as
    denominator, 'negative_count' where a count is negative (metrics.RULES['range']). Such rows
    get null parts too, so every analysis leaves them out; `rate_findings` lists them and the
    caveats count them. Nothing here raises on them."""
    spec = metric_spec(rate)
    den = spec["denominator"]
    if den == "requests":
        den_expr = pl.col("denominator_value")
    elif den == "reports":
        den_expr = pl.lit(1)
    else:
        den_expr = _sum_or_null(list(den))
    num_cols = list(spec["numerator"])
    num_expr = _sum_or_null(num_cols)
    ok = pl.col(rate).is_not_null() if rate in panel.columns else pl.lit(True)
    parts = [pl.col(c) for c in num_cols if c in panel.columns] + ([pl.col(c) for c in den if c in panel.columns] if not isinstance(den, str) else [])
    negative = pl.any_horizontal(*(c < 0 for c in parts), den_expr < 0).fill_null(False) if parts else (den_expr < 0).fill_null(False)
    problem = (
        pl.when(ok & negative).then(pl.lit("negative_count"))
        .when(ok & (den_expr > 0) & (num_expr > den_expr)).then(pl.lit("rate_above_one"))
        .otherwise(pl.lit(None, pl.String))
    )
    out = panel.with_columns(problem.alias("rate_problem"))
    good = ok & pl.col("rate_problem").is_null()
    return out.with_columns(
        pl.when(good).then(num_expr).otherwise(None).cast(pl.Int64).alias("numerator"),
        pl.when(good).then(den_expr).otherwise(None).cast(pl.Int64).alias("denominator"),
    )


def rate_findings(panel: pl.DataFrame, rate: str) -> pl.DataFrame:
    """The reports a rate's analyses leave out because the rate is outside 0-1 or rests on a
    negative count: report_id, agency, year, numerator, denominator, rate, rate_problem (quality
    findings: the values are kept as printed, see the quality table's rate_out_of_range rows)."""
    spec = metric_spec(rate)
    den = spec["denominator"]
    den_expr = pl.col("denominator_value") if den == "requests" else pl.lit(1) if den == "reports" else _sum_or_null(list(den))
    p = rate_parts(panel, rate).filter(pl.col("rate_problem").is_not_null())
    return p.select(
        "report_id", "agency", "year",
        _sum_or_null(list(spec["numerator"])).cast(pl.Int64).alias("numerator"), den_expr.cast(pl.Int64).alias("denominator"),
        pl.col(rate).alias("rate") if rate in p.columns else pl.lit(None, pl.Float64).alias("rate"), "rate_problem",
    ).sort("agency", "year", "report_id", nulls_last=True)


def wilson(k: float, n: float, z: float = 1.959964) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes out of n: sensible for small n and for rates of
    0 or 1, where the normal approximation gives nonsense."""
    if n is None or k is None or n <= 0 or k < 0 or k > n:
        return None, None  # no interval for a rate outside 0-1 (a quality finding, never a crash)
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


def _ensure_codes(panel: pl.DataFrame) -> pl.DataFrame:
    """A panel without division_code (made by hand, or by an older version) gets it from its
    province, city and county names, where the gazetteer reads them as one division."""
    if "division_code" in panel.columns:
        return panel
    from foi_research.reference.gazetteer import RegionError, resolve

    cols = [c for c in ("province", "city", "county") if c in panel.columns]
    panel = panel.with_columns(pl.col(c).cast(pl.String) for c in cols)
    combos = panel.select(cols).unique()
    codes = []
    for row in combos.iter_rows():
        path = "/".join(x for x in row if x)
        try:
            codes.append(resolve(path).code if path else None)
        except RegionError:
            codes.append(None)
    m = combos.with_columns(pl.Series("division_code", codes, dtype=pl.String))
    return panel.join(m, on=cols, how="left", nulls_equal=True, maintain_order="left")


def with_units(panel: pl.DataFrame, level: str) -> pl.DataFrame:
    """Add `unit_code` (what units are grouped by) and `unit` (its label) at a level.

    Units are divisions by code, labelled by full name, so that two counties of the same name
    stay two units (济南市市中区 370103, 枣庄市市中区 370402). A report placed only at a higher
    level gets that division's code and label with （本级） (city level), a development zone its
    own unit; an unplaced report （未知）. Agencies are units by agency_id (their name, with
    their place when two agencies print the same name)."""
    from foi_research.reference.gazetteer import RegionError, division

    if level not in LEVELS:
        raise AnalysisError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    panel = _ensure_codes(panel)
    panel = panel.with_columns(pl.col(c).cast(pl.String) for c in ("division_code", "county", "agency", "agency_id") if panel.schema[c] != pl.String)
    keys = panel.select("division_code", "county", "agency", "agency_id").unique()
    cut = {"province": 2, "city": 4, "county": 6}
    rows = []
    for code, county, agency, aid in keys.iter_rows():
        try:
            d = division(code) if code else None
        except RegionError:
            d = None
        if level == "agency":
            ucode = aid or (f"{code or 'unplaced'}/{agency}" if agency else None)
            where = d.label if d is not None else None
            rows.append((code, county, agency, aid, ucode or "(unknown)", agency or aid or "（未知）", where))
            continue
        if d is None:
            rows.append((code, county, agency, aid, "(unknown)", "（未知）", None))
            continue
        order = {"province": 0, "city": 1, "county": 2}
        if level == "county" and d.level != "county" and county:
            from foi_research.reference.gazetteer import Division

            z = Division(d.code, "zone", county, d.province if d.level != "province" else d.name, d.name if d.level == "city" else None, zone=county)
            rows.append((code, county, agency, aid, f"{d.code}/{county}", z.label, None))
        elif order[d.level] >= order[level]:
            top = division(d.code[: cut[level]].ljust(6, "0")) if d.level != level else d
            rows.append((code, county, agency, aid, top.code, top.label, None))
        else:
            rows.append((code, county, agency, aid, f"{d.code}/self", f"{d.label}（本级）", None))
    schema = {"division_code": pl.String, "county": pl.String, "agency": pl.String, "agency_id": pl.String, "unit_code": pl.String, "unit": pl.String, "_where": pl.String}
    m = pl.DataFrame(rows, schema=schema, orient="row")
    # one label per unit code; a label shared by two codes gets the place (agencies) or the code
    m = m.with_columns(pl.col("unit").first().over("unit_code"))
    dup = m.select("unit_code", "unit", "_where").unique("unit_code").filter(pl.col("unit").is_duplicated())
    if dup.height:
        fix = dup.with_columns(
            pl.when(pl.col("_where").is_not_null()).then(pl.col("unit") + "（" + pl.col("_where") + "）").otherwise(pl.col("unit") + " [" + pl.col("unit_code") + "]").alias("_new")
        ).select("unit_code", "_new")
        m = m.join(fix, on="unit_code", how="left").with_columns(pl.coalesce("_new", "unit").alias("unit")).drop("_new")
    m = m.drop("_where")
    return panel.join(m, on=["division_code", "county", "agency", "agency_id"], how="left", nulls_equal=True, maintain_order="left")


def compare_units(panel: pl.DataFrame, level: str, rate: str, min_denominator: int = 1) -> pl.DataFrame:
    """Pool a rate per unit (county, agency...) over the selected years: unit, reports, agencies,
    numerator, denominator, rate, Wilson interval, rank and rank interval. Units whose pooled
    denominator is below min_denominator are left out (listed by `excluded_units`)."""
    p = rate_parts(panel, rate).filter(pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null() & (pl.col("denominator") > 0))
    g = (
        with_units(p, level)
        .group_by("unit_code", "unit")
        .agg(
            pl.len().cast(pl.Int64).alias("reports"),
            AGENCIES,
            pl.col("numerator").sum(),
            pl.col("denominator").sum(),
            pl.col("year").min().alias("first_year"),
            pl.col("year").max().alias("last_year"),
        )
        .filter(pl.col("denominator") >= min_denominator)
        .sort("unit", "unit_code")
    )
    if g.height == 0:
        return g.with_columns(*(pl.lit(None, dtype=pl.Float64).alias(c) for c in ("ci_low", "ci_high", "rate")), *(pl.lit(None, dtype=pl.Int64).alias(c) for c in ("rank", "rank_low", "rank_high")))
    return rank_intervals(with_wilson(g)).sort("rank")


def excluded_units(panel: pl.DataFrame, level: str, rate: str, min_denominator: int = 1) -> pl.DataFrame:
    """Units of the selection that compare_units leaves out, and why."""
    p = with_units(rate_parts(panel, rate), level)
    g = p.group_by("unit_code", "unit").agg(
        pl.len().cast(pl.Int64).alias("reports"),
        pl.col("denominator").filter(pl.col("numerator").is_not_null()).sum().alias("denominator"),
    )
    return g.filter(pl.col("denominator") < min_denominator).sort("unit", "unit_code")


def yearly_by_unit(panel: pl.DataFrame, level: str, value: str = "received") -> pl.DataFrame:
    """unit_code, unit, year, <value>: a count summed per unit and year (for small multiples)."""
    return (
        with_units(panel.filter(pl.col(value).is_not_null()), level)
        .group_by("unit_code", "unit", "year")
        .agg(pl.col(value).sum())
        .sort("unit", "unit_code", "year")
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
    """Pooled rate by period: period, reports, agencies, numerator, denominator, rate, ci_low,
    ci_high. The interval treats agencies as the sampling units (see `clustered_rates`), not
    requests: requests of one agency are not independent draws, and a Wilson interval over
    thousands of requests would suggest a precision that the few agencies behind them do not
    give."""
    p = rate_parts(panel, rate).filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0))
    g = clustered_rates(p, ["period"])
    order = {c: i for i, c in enumerate(PERIODS)}
    return g.with_columns(pl.col("period").replace_strict(order, return_dtype=pl.Int64).alias("_o")).sort("_o").drop("_o")


def clustered_rates(p: pl.DataFrame, by: list[str], cluster: str = "agency_id", z: float | None = None) -> pl.DataFrame:
    """Pooled rates (sum of numerators / sum of denominators) per group of `by`, with a 95%
    interval that treats the agencies (`cluster`) as the sampling units: the linearised
    (delta-method) variance of a ratio estimator, G/(G-1) x sum over agencies of
    (k_g - rate x n_g)^2 / (sum n)^2, and a t distribution with G-1 degrees of freedom, clipped
    to 0-1. Null with fewer than two agencies (no interval can be given). A report without an
    identified agency counts as an agency of its own. `p` needs numerator and denominator
    (rate_parts). Columns: by..., reports, agencies, numerator, denominator, rate, ci_low,
    ci_high, se."""
    from scipy import stats

    q = p.filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0)).with_columns(
        pl.coalesce(pl.col(cluster), pl.lit("report:") + pl.col("report_id")).alias("_g")
    )
    per = q.group_by([*by, "_g"]).agg(pl.col("numerator").sum().alias("_k"), pl.col("denominator").sum().alias("_n"), pl.len().alias("_r"))
    tot = per.group_by(by).agg(
        pl.col("_r").sum().cast(pl.Int64).alias("reports"),
        pl.len().cast(pl.Int64).alias("_G"),
        pl.col("_k").sum().cast(pl.Int64).alias("numerator"),
        pl.col("_n").sum().cast(pl.Int64).alias("denominator"),
    )
    agencies = q.group_by(by).agg(AGENCIES)
    per = per.join(tot.select(*by, "numerator", "denominator"), on=by, how="left").with_columns(
        (pl.col("_k") - pl.col("numerator") / pl.col("denominator") * pl.col("_n")).pow(2).alias("_e2")
    )
    var = per.group_by(by).agg(pl.col("_e2").sum().alias("_s"))
    out = tot.join(var, on=by, how="left").join(agencies, on=by, how="left").with_columns(
        (pl.col("numerator") / pl.col("denominator")).cast(pl.Float64).alias("rate"),
        pl.when(pl.col("_G") >= 2).then((pl.col("_G") / (pl.col("_G") - 1) * pl.col("_s")).sqrt() / pl.col("denominator")).otherwise(None).cast(pl.Float64).alias("se"),
    )
    crit = [float(stats.t.ppf(0.975, g - 1)) if g >= 2 else None for g in out["_G"].to_list()]
    out = out.with_columns(pl.Series("_t", crit, dtype=pl.Float64)).with_columns(
        pl.max_horizontal(pl.lit(0.0), pl.col("rate") - pl.col("_t") * pl.col("se")).alias("ci_low"),
        pl.min_horizontal(pl.lit(1.0), pl.col("rate") + pl.col("_t") * pl.col("se")).alias("ci_high"),
    )
    out = out.with_columns(
        *(pl.col(c).map_elements(_clean, return_dtype=pl.Float64) for c in ("rate", "se", "ci_low", "ci_high"))
    )
    return out.select(*by, "reports", "agencies", "numerator", "denominator", "rate", "ci_low", "ci_high", "se").sort(by)


def rates_by_year(panel: pl.DataFrame, rate: str) -> pl.DataFrame:
    """The pooled rate of each year, for all agencies (series rate_pooled_all) and for the agencies
    reporting both before and after the revision (rate_pooled_bridging), with agency-clustered
    intervals (clustered_rates): year, series, reports, agencies, numerator, denominator, rate,
    ci_low, ci_high. A rise of the first series that the second does not show is composition
    (agencies entering the sample), not change within agencies."""
    p = rate_parts(panel, rate).filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0) & pl.col("year").is_not_null())
    both = agency_periods(panel, rate).filter(pl.col("has_pre") & pl.col("has_post"))["agency_id"].to_list()
    a = clustered_rates(p, ["year"]).with_columns(pl.lit("rate_pooled_all").alias("series"))
    b = clustered_rates(p.filter(pl.col("agency_id").is_in(both)), ["year"]).with_columns(pl.lit("rate_pooled_bridging").alias("series"))
    cols = ["year", "series", "reports", "agencies", "numerator", "denominator", "rate", "ci_low", "ci_high"]
    return pl.concat([a.select(cols), b.select(cols)], how="vertical").sort("series", "year")


def agency_periods(panel: pl.DataFrame, rate: str) -> pl.DataFrame:
    """Per agency: years with a usable rate before and after, pooled rate before and after."""
    p = rate_parts(panel, rate).filter(
        pl.col("numerator").is_not_null() & (pl.col("denominator") > 0) & pl.col("post").is_not_null() & pl.col("agency_id").is_not_null()
    )
    # one row per agency_id: an agency that prints its name differently in different years is still
    # one agency (its latest printed name is shown, every spelling in `names`)
    g = p.group_by("agency_id").agg(
        pl.col("agency").sort_by("year").drop_nulls().last().alias("agency"),
        pl.col("agency").drop_nulls().unique().sort().str.join(" | ").alias("names"),
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
    reports_out_of_range: int = 0
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
        reports_out_of_range=rate_parts(panel, rate)["rate_problem"].is_not_null().sum(),
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
    if c.reports_out_of_range:
        L.append(
            f"{c.reports_out_of_range} report(s) left out of every analysis of {rate}: the printed parts exceed the printed total "
            "(rate above 1) or a count is negative (quality findings, listed by analysis.rate_findings; the values are kept as printed)."
        )
    if c.reports_no_agency:
        L.append(f"{c.reports_no_agency} report(s) with a usable rate have no agency the parser could identify: they count in the pooled rates but not in the agency-level model.")
    L.append("Before/after differences also reflect the change of report template in 2019 (different categories), which the crosswalk can only approximate: see the sensitivity section.")
    return c


def _clean(x):
    """Round away floating-point noise (1e-17 instead of 0) so outputs are identical on every
    machine and run; -0.0 becomes 0.0; NaN and infinity become None."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return None
    return round(x, 10) + 0.0


# The designs of the 2019 study live in designs.py; they are part of this module's API
# (analysis.regulation_effects, analysis.event_study, ...), resolved on first use so that either
# module can be imported first.
_DESIGN_NAMES = (
    "EFFECT_COLUMNS", "codebook_lines", "effects_summary", "event_study", "regression_table", "regulation_effects",
    "sensitivity", "sensitivity_summary", "study_frame",
)


def __getattr__(name: str):
    if name in _DESIGN_NAMES:
        from foi_research.present import designs

        return getattr(designs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
