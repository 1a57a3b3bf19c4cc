"""The designs of the 2019-revision study, as a methods referee would have them.

The revision reached every agency in the same year, so a before/after comparison within agencies
(`rate ~ post | agency`) loads every shock common to a year, and every national trend, onto
`post`; clustering by agency cannot repair that, because the identifying variation is the years.
The designs here, each a function returning tidy rows (EFFECT_COLUMNS):

- `its`: interrupted time series. Step 1, year effects of the rate with agency and year fixed
  effects (only within-agency changes count); step 2, a year-level OLS of those year effects on
  a pre-trend, a level change and a slope change; inference at the year level (t with years minus
  parameters degrees of freedom). Vectorised: `rate` may name many outcome columns of one panel
  (the Monte Carlo of the test suite runs 200 draws in one call).
- `fe_before_after`: the agency fixed-effects before/after, kept as a descriptive baseline.
- `did`: difference in differences between groups more and less exposed (pre-2019 share of
  requests refused as not government information or referred), and by agency kind and level;
  agency and year fixed effects absorb common shocks.
- `placebo`: the interrupted time series at false reform years on pre-period data.
- `event_study` and its joint pre-test; the exposure pre-test.

Agency-clustered inference counts only the agencies that identify the estimate (observed before
and after): the sample is restricted to them, so degrees of freedom and the small-sample
correction are theirs. With fewer than `few_clusters` of them a wild cluster bootstrap
(package wildboottest) replaces the clustered t: p-value with the null imposed (WCR-11), interval
from the unrestricted bootstrap-t (WCU-11). Every estimate comes with weights 'agencies' (each
agency-year counts once: the average agency) and 'requests' (weighted by the denominator: the
average request) side by side, and the estimand in words (codes.yaml `study_estimands`,
`study_weights`). `regulation_effects` runs them all and marks `recommended` the one row whose
inference is valid for the data at hand (or none, saying why).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from foi_research.present import analysis as A

FEW_CLUSTERS = 30  # below this many identifying agencies: wild cluster bootstrap instead of CRV1 t
MIN_AGENCIES = 10  # a result resting on fewer agencies is flagged (charts and `recommended`)
MIN_YEARS_DF = 3  # year-level degrees of freedom the interrupted time series needs to be recommended
BOOT_REPS = 1999
SEED = 20190403  # promulgation date of the revision: fixed seed, reproducible bootstraps
WEIGHTS = ("agencies", "requests")
ITS_TERMS = ("level_change", "slope_change", "pre_trend")

EFFECT_SCHEMA: dict[str, pl.DataType] = {
    "design": pl.String,
    "term": pl.String,
    "estimand": pl.String,
    "weights": pl.String,
    "estimate": pl.Float64,
    "se": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "p_value": pl.Float64,
    "statistic": pl.Float64,
    "df": pl.String,
    "inference": pl.String,
    "small_sample": pl.String,
    "fixed_effects": pl.String,
    "reports": pl.Int64,
    "agencies": pl.Int64,
    "agencies_identifying": pl.Int64,
    "years": pl.Int64,
    "first_year": pl.Int64,
    "last_year": pl.Int64,
    "recommended": pl.Boolean,
    "note": pl.String,
}
EFFECT_COLUMNS = list(EFFECT_SCHEMA)


# ---------------------------------------------------------------------------------------------
# Words (codes.yaml)


@functools.lru_cache(maxsize=None)
def _vocab(name: str) -> dict[str, dict]:
    from foi_research.reference import codes

    return {c["code"]: c for c in codes.raw()[name]}


def estimand_text(estimand: str, weights: str, term: str | None = None, design: str | None = None) -> str:
    """The estimand in words, from codes.yaml: what is estimated, over what (weights)."""
    e = _vocab("study_estimands")[estimand]
    w = _vocab("study_weights")[weights]
    what = e["description"]
    if design in ("did_kind", "did_level") and term:
        vocab = "agency_kinds" if design == "did_kind" else "admin_levels"
        what += f" (group: {_vocab(vocab)[term]['en']})"
    elif design == "did_exposure":
        what += " (group: the more exposed agencies)"
    elif design == "placebo" and term:
        what += f" (false reform year {term})"
    return f"{e['en']}: {what}; {w['en'].lower()}: {w['description']}"


def inference_text(code: str, **kw) -> str:
    d = _vocab("study_inference")[code]["en"]
    extra = ", ".join(f"{k} {v}" for k, v in kw.items() if v is not None)
    return f"{d} ({extra})" if extra else d


SSC = {
    "year_ols": "none beyond t(years - parameters)",
    "crv1_agency": "G/(G-1) x (N-1)/(N-K), K = coefficients + fixed-effect levels not nested in agencies + 1; t(G-1)",
    "crv3_agency": "(G-1)/G jackknife, t(G-1)",
    "wild_bootstrap": "G/(G-1) x (N-1)/(N-K) in the bootstrap t",
    "wald_f": "as the covariance; F(q, G-1)",
    "none": "",
}


def _row(**kw) -> dict:
    r = {c: None for c in EFFECT_COLUMNS}
    r.update(kw)
    for c in ("estimate", "se", "ci_low", "ci_high", "p_value", "statistic"):
        r[c] = A._clean(r[c])
    r["recommended"] = bool(r["recommended"]) if r["recommended"] is not None else False
    return r


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=EFFECT_SCHEMA, orient="row") if rows else pl.DataFrame(schema=EFFECT_SCHEMA)


# ---------------------------------------------------------------------------------------------
# The study sample


@dataclass
class Sample:
    """The rows a design can use: one per report with a usable rate, an identified agency and a
    year. frame columns: report_id, agency_id, agency, agency_kind, admin_level, year, post
    (0/1/null for transition years), y (the rate), n (its denominator), plus any extra outcome
    columns. `excluded` counts what was left out and why."""

    frame: pl.DataFrame
    rate: str
    excluded: dict[str, int]


def study_frame(panel: pl.DataFrame, rate: str, outcomes: list[str] | None = None) -> Sample:
    """The sample of a rate: reports whose rate is usable (numerator known, denominator positive,
    not outside 0-1: rate_parts), with an identified agency and a year. `post` must be there
    (analysis.assign_period). `outcomes`: other columns to carry as outcomes (simulations)."""
    p = A.rate_parts(panel, rate)
    excluded = {
        "out_of_range": int(p["rate_problem"].is_not_null().sum()),
        "no_agency": int(p.filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0) & pl.col("agency_id").is_null()).height),
    }
    p = p.filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0) & pl.col("agency_id").is_not_null() & pl.col("year").is_not_null())
    keep = ["report_id", "agency_id", "agency", "agency_kind", "admin_level", "year", "post"]
    extra = [c for c in (outcomes or []) if c not in keep]
    for c in keep:
        if c not in p.columns:
            p = p.with_columns(pl.lit(None, pl.String).alias(c))
    f = p.select(
        *keep,
        (pl.col("numerator") / pl.col("denominator")).cast(pl.Float64).alias("y"),
        pl.col("denominator").cast(pl.Float64).alias("n"),
        *[pl.col(c).cast(pl.Float64) for c in extra],
        *[pl.col(c) for c in ("not_government_info", "not_this_agency") if c in p.columns],
    ).sort("agency_id", "year", "report_id")
    excluded["transition"] = int(f["post"].is_null().sum())
    return Sample(f, rate, excluded)


def _bridging(f: pl.DataFrame) -> pl.DataFrame:
    """agency_id of the agencies observed both before (post 0) and after (post 1)."""
    g = f.filter(pl.col("post").is_not_null()).group_by("agency_id").agg(pl.col("post").min().alias("lo"), pl.col("post").max().alias("hi"))
    return g.filter((pl.col("lo") == 0) & (pl.col("hi") == 1)).select("agency_id").sort("agency_id")


def _weights(f: pl.DataFrame, weights: str) -> np.ndarray:
    return f["n"].to_numpy().astype(float) if weights == "requests" else np.ones(f.height)


# ---------------------------------------------------------------------------------------------
# Interrupted time series (vectorised over outcome columns)


def _connected(f: pl.DataFrame) -> pl.DataFrame:
    """Rows of the largest set of years connected through agencies observed in more than one of
    them (year effects with agency fixed effects are identified only within such a set); agencies
    seen in one year only are dropped (they carry no within-agency change)."""
    multi = f.group_by("agency_id").agg(pl.col("year").n_unique().alias("_ny")).filter(pl.col("_ny") > 1)
    f = f.join(multi.select("agency_id"), on="agency_id", how="semi")
    if f.height == 0:
        return f
    years = sorted(set(f["year"].to_list()))
    parent = {y: y for y in years}

    def find(y):
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        return y

    for ys in f.group_by("agency_id").agg(pl.col("year").unique().sort())["year"].to_list():
        for a, b in zip(ys, ys[1:]):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    comp = {y: find(y) for y in years}
    sizes: dict[int, int] = {}
    for y, c in zip(f["year"].to_list(), [comp[y] for y in f["year"].to_list()]):
        sizes[c] = sizes.get(c, 0) + 1
    best = max(sorted(sizes), key=lambda c: sizes[c])
    keep = [y for y in years if comp[y] == best]
    return f.filter(pl.col("year").is_in(keep))


def year_effects(f: pl.DataFrame, outcomes: list[str], weights: str) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: year effects of each outcome column with agency fixed effects (weighted least
    squares by the within transformation: outcome and year indicators demeaned within agency,
    Frisch-Waugh-Lovell). Returns (years, effects[years x outcomes]), the first year fixed at 0
    (any normalisation: step 2 has an intercept). `f` must be connected (see _connected)."""
    years = np.array(sorted(set(f["year"].to_list())))
    yi = np.searchsorted(years, f["year"].to_numpy())
    ag = f["agency_id"].to_numpy()
    _, ai = np.unique(ag, return_inverse=True)
    w = _weights(f, weights)
    Y = np.column_stack([f[c].to_numpy().astype(float) for c in outcomes])
    D = np.zeros((f.height, len(years)))
    D[np.arange(f.height), yi] = 1.0
    D = D[:, 1:]
    sw = np.bincount(ai, weights=w)

    def demean(M):
        sums = np.zeros((sw.size, M.shape[1]))
        np.add.at(sums, ai, M * w[:, None])
        return M - sums[ai] / sw[ai][:, None]

    Dt, Yt = demean(D), demean(Y)
    lhs = Dt.T @ (Dt * w[:, None])
    rhs = Dt.T @ (Yt * w[:, None])
    g = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    return years, np.vstack([np.zeros((1, Y.shape[1])), g])


def its_fit(years: np.ndarray, gamma: np.ndarray, post: np.ndarray) -> dict:
    """Step 2: OLS of year effects (years x outcomes) on [1, t, post, post x t], t = year - first
    post year; without the slope change when only one post year. Classical standard errors, t with
    years - parameters degrees of freedom. Returns arrays per term (estimate, se, p, lo, hi) and df."""
    from scipy import stats

    t0 = years[post == 1].min()
    t = (years - t0).astype(float)
    cols = {"intercept": np.ones_like(t), "pre_trend": t, "level_change": post.astype(float)}
    if int(post.sum()) >= 2:
        cols["slope_change"] = post * t
    X = np.column_stack(list(cols.values()))
    k = X.shape[1]
    df = len(years) - k
    XtX_inv = np.linalg.pinv(X.T @ X)
    beta = XtX_inv @ X.T @ gamma
    out = {"df": df, "terms": {}}
    resid = gamma - X @ beta
    s2 = (resid**2).sum(axis=0) / df if df > 0 else np.full(gamma.shape[1], np.nan)
    crit = stats.t.ppf(0.975, df) if df > 0 else np.nan
    for j, name in enumerate(cols):
        if name == "intercept":
            continue
        est = beta[j]
        se = np.sqrt(s2 * XtX_inv[j, j])
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = est / se
        p = 2 * stats.t.sf(np.abs(tstat), df) if df > 0 else np.full_like(est, np.nan)
        out["terms"][name] = {"estimate": est, "se": se, "p": p, "lo": est - crit * se, "hi": est + crit * se}
    return out


def its(
    sample: Sample,
    *,
    weights: str = "agencies",
    outcomes: list[str] | None = None,
    min_agencies: int = MIN_AGENCIES,
    design: str = "its",
    terms: tuple[str, ...] = ITS_TERMS,
    term_label: str | None = None,
) -> pl.DataFrame:
    """The interrupted time series (see the module docstring) on a sample whose `post` is set.
    One row per outcome and term (level_change, slope_change, pre_trend); `outcomes` defaults to
    the sample's rate (column y). Null estimates, with a note, when the years cannot identify the
    model: no agency links the years before and after, fewer than two years before, or no
    degree of freedom left at the year level."""
    f = sample.frame.filter(pl.col("post").is_not_null())
    outcomes = outcomes or ["y"]
    c = _connected(f)
    bridging = _bridging(c).height if c.height else 0
    base = dict(design=design, weights=weights, fixed_effects="agency + year (step 1); none (step 2, year level)", reports=c.height, agencies=A.n_agencies(c), agencies_identifying=bridging)
    posts = c.group_by("year").agg(pl.col("post").first()).sort("year") if c.height else None
    note = None
    if c.height == 0 or bridging == 0:
        note = "not identified: no agency is observed both before and after (the years before and after are not linked)"
    else:
        n_pre = int((posts["post"] == 0).sum())
        n_post = int((posts["post"] == 1).sum())
        if n_pre < 2 or n_post < 1 or n_pre + n_post - (4 if n_post >= 2 else 3) < 1:
            note = f"not identified: {n_pre} year(s) before and {n_post} after; a pre-trend, a level and a slope need more years"
    rows = []
    if note:
        for o in outcomes:
            for term in terms:
                rows.append(_row(**base, term=term_label or term, estimand=estimand_text(term if design != "placebo" else "placebo_level", weights, term_label, design), inference=inference_text("none"), small_sample="", note=note, outcome=o))
        return _with_outcome(rows, outcomes)
    years, gamma = year_effects(c, outcomes, weights)
    post = posts["post"].to_numpy()
    fit = its_fit(years, gamma, post)
    df = fit["df"]
    inf = inference_text("year_ols", df=f"t({df})")
    few = bridging < min_agencies
    for j, o in enumerate(outcomes):
        for term in terms:
            r = fit["terms"].get(term)
            est = None if r is None else r["estimate"][j]
            rows.append(
                _row(
                    **base,
                    term=term_label or term,
                    estimand=estimand_text(term if design != "placebo" else "placebo_level", weights, term_label, design),
                    estimate=est,
                    se=None if r is None else r["se"][j],
                    ci_low=None if r is None else r["lo"][j],
                    ci_high=None if r is None else r["hi"][j],
                    p_value=None if r is None else r["p"][j],
                    df=str(df),
                    inference=inf,
                    small_sample=SSC["year_ols"],
                    years=len(years),
                    first_year=int(years.min()),
                    last_year=int(years.max()),
                    note=("only one year after: no slope change" if r is None else (f"rests on {bridging} agenc{'y' if bridging == 1 else 'ies'} observed before and after (fewer than {min_agencies})" if few else None)),
                    outcome=o,
                )
            )
    return _with_outcome(rows, outcomes)


def _with_outcome(rows: list[dict], outcomes: list[str]) -> pl.DataFrame:
    out = pl.DataFrame([{k: v for k, v in r.items() if k != "outcome"} for r in rows], schema=EFFECT_SCHEMA, orient="row")
    if outcomes != ["y"]:
        out = out.with_columns(pl.Series("outcome", [r["outcome"] for r in rows], dtype=pl.String))
    return out


def placebo(sample: Sample, *, weights: str = "agencies", min_agencies: int = MIN_AGENCIES) -> pl.DataFrame:
    """The interrupted time series at every false reform year of the pre-revision years that
    leaves at least three years before it and two from it on (pre-revision rows only)."""
    pre = sample.frame.filter(pl.col("post") == 0)
    years = sorted(set(pre["year"].to_list()))
    rows = []
    for p in years[3:-1]:
        s = Sample(pre.with_columns((pl.col("year") >= p).cast(pl.Int64).alias("post")), sample.rate, {})
        rows.append(its(s, weights=weights, min_agencies=min_agencies, design="placebo", terms=("level_change",), term_label=str(p)))
    return pl.concat(rows) if rows else _frame([])


# ---------------------------------------------------------------------------------------------
# Agency-clustered designs: fixed effects before/after, difference in differences


def _within(f: pl.DataFrame, cols: list[str], w: np.ndarray) -> np.ndarray:
    """Columns demeaned within agency (weighted)."""
    _, ai = np.unique(f["agency_id"].to_numpy(), return_inverse=True)
    M = np.column_stack([f[c].to_numpy().astype(float) for c in cols])
    sw = np.bincount(ai, weights=w)
    sums = np.zeros((sw.size, M.shape[1]))
    np.add.at(sums, ai, M * w[:, None])
    return M - sums[ai] / sw[ai][:, None]


def wild_bootstrap(f: pl.DataFrame, y: str, x: list[str], weights: str, reps: int = BOOT_REPS, seed: int = SEED) -> dict:
    """Wild cluster bootstrap by agency (package wildboottest) of the first coefficient of x, with
    agency fixed effects projected out (they are nested in the clusters) and weights applied by
    scaling the demeaned data with sqrt(weight), as weighted least squares is least squares on
    such data. p-value with the null imposed (WCR-11); 95% interval from the unrestricted
    bootstrap-t (WCU-11): estimate +- the 95% quantile of |t*| x the CRV1 standard error. Webb
    weights with 12 clusters or fewer, Rademacher otherwise."""
    from wildboottest.wildboottest import WildboottestCL

    w = _weights(f, weights)
    sw = np.sqrt(w)
    M = _within(f, [y, *x], w) * sw[:, None]
    Y, X = M[:, 0], M[:, 1:]
    keep = np.abs(X).sum(axis=0) > 1e-12
    X = X[:, keep]
    cluster = np.unique(f["agency_id"].to_numpy(), return_inverse=True)[1]
    G = int(cluster.max()) + 1
    wt = "webb" if G <= 12 else "rademacher"
    R = np.zeros(X.shape[1])
    R[0] = 1.0
    res = {}
    for impose in (True, False):
        wb = WildboottestCL(X=X, Y=Y, cluster=cluster, R=R, B=reps, seed=seed, parallel=False)
        wb.get_scores(bootstrap_type="11", impose_null=impose, adj=True, cluster_adj=True)
        wb.get_weights(weights_type=wt)
        wb.get_numer()
        wb.get_denom()
        wb.get_tboot()
        wb.get_vcov()
        wb.get_tstat()
        wb.get_pvalue(pval_type="two-tailed")
        res[impose] = wb
    r, u = res[True], res[False]
    beta = float(u.beta_hat[0])
    se = float(np.sqrt(u.ssc * (R @ u.vcov @ R)))
    q = float(np.quantile(np.abs(np.asarray(u.t_boot).ravel()), 0.95))
    return {"estimate": beta, "se": se, "p": float(np.asarray(r.pvalue)), "lo": beta - q * se, "hi": beta + q * se, "G": G, "weights_type": wt, "reps": int(u.B)}


def _feols(fml: str, f: pl.DataFrame, weights: str, vcov):
    import pyfixest as pf

    pdf = f.with_columns(pl.col("n").alias("_w")).to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=pdf, vcov=vcov, weights="_w" if weights == "requests" else None)


def _clustered(f: pl.DataFrame, fml: str, term: str, x: list[str], weights: str, few_clusters: int, reps: int, seed: int) -> dict:
    """Estimate, interval and p-value of `term` with agency-clustered inference on the sample f
    (already restricted to the identifying agencies): CRV1 t(G-1) (pyfixest, fixest's small-sample
    correction) with at least `few_clusters` agencies, else the wild cluster bootstrap."""
    G = A.n_agencies(f)
    fit = _feols(fml, f, weights, {"CRV1": "agency_id"}) if G >= 2 else None
    if fit is None:
        est = _point(f, x, weights)
        return {"estimate": est, "inference": inference_text("none", G=G), "small_sample": "", "note": "one identifying agency: no agency-clustered inference; the estimate is that agency's change"}
    est = float(fit.coef()[term])
    if G >= few_clusters:
        ci = fit.confint().loc[term]
        return {
            "estimate": est, "se": float(fit.se()[term]), "lo": float(ci.iloc[0]), "hi": float(ci.iloc[1]), "p": float(fit.pvalue()[term]),
            "df": f"t({G - 1})", "inference": inference_text("crv1_agency", G=G), "small_sample": SSC["crv1_agency"],
        }
    b = wild_bootstrap(f, "y", x, weights, reps=reps, seed=seed)
    return {
        "estimate": est, "se": b["se"], "lo": b["lo"], "hi": b["hi"], "p": b["p"], "df": f"G = {G}",
        "inference": inference_text("wild_bootstrap", G=G, weights=b["weights_type"], B=b["reps"]), "small_sample": SSC["wild_bootstrap"],
        "note": f"few identifying agencies ({G} < {few_clusters}): wild cluster bootstrap" + (" (with so few clusters no test can reject at 5%)" if G < 5 else ""),
    }


def _point(f: pl.DataFrame, x: list[str], weights: str) -> float | None:
    w = _weights(f, weights)
    M = _within(f, ["y", *x], w) * np.sqrt(w)[:, None]
    if np.abs(M[:, 1]).sum() < 1e-12:
        return None
    return float(np.linalg.lstsq(M[:, 1:], M[:, 0], rcond=None)[0][0])


def fe_before_after(sample: Sample, *, weights: str = "agencies", few_clusters: int = FEW_CLUSTERS, min_agencies: int = MIN_AGENCIES, reps: int = BOOT_REPS, seed: int = SEED) -> pl.DataFrame:
    """rate ~ post | agency on the agencies observed before and after (descriptive baseline)."""
    f = sample.frame.filter(pl.col("post").is_not_null())
    ids = _bridging(f)
    f = f.join(ids, on="agency_id", how="semi").with_columns(pl.col("post").cast(pl.Float64))
    G = ids.height
    base = dict(design="fe_before_after", term="post", estimand=estimand_text("before_after", weights), weights=weights, fixed_effects="agency", reports=f.height, agencies=G, agencies_identifying=G,
                years=f["year"].n_unique() if f.height else 0, first_year=f["year"].min(), last_year=f["year"].max())
    if G == 0:
        return _frame([_row(**base, inference=inference_text("none"), note="not identified: no agency observed before and after")])
    r = _clustered(f, "y ~ post | agency_id", "post", ["post"], weights, few_clusters, reps, seed)
    note = "descriptive: every shock common to the years and every trend loads on post" + (f"; {r['note']}" if r.get("note") else "")
    return _frame([_row(**base, estimate=r["estimate"], se=r.get("se"), ci_low=r.get("lo"), ci_high=r.get("hi"), p_value=r.get("p"), df=r.get("df"), inference=r["inference"], small_sample=r.get("small_sample"), note=note)])


def exposure(sample: Sample) -> pl.DataFrame:
    """Per agency with pre-revision rows: exposure = (requests refused as not government
    information + answered as not this agency / referred) / the rate's denominator, pooled over
    its pre-revision years (null parts count as 0; null when both are unknown in every year)."""
    f = sample.frame.filter(pl.col("post") == 0)
    cols = [c for c in ("not_government_info", "not_this_agency") if c in f.columns]
    if not cols or f.height == 0:
        return pl.DataFrame(schema={"agency_id": pl.String, "exposure": pl.Float64})
    known = pl.any_horizontal(*(pl.col(c).is_not_null() for c in cols))
    f = f.filter(known).with_columns(pl.sum_horizontal(*(pl.col(c).fill_null(0) for c in cols)).cast(pl.Float64).alias("_x"))
    return f.group_by("agency_id").agg((pl.col("_x").sum() / pl.col("n").sum()).alias("exposure")).sort("agency_id")


def did(sample: Sample, group: pl.DataFrame, *, design: str, term: str, weights: str = "agencies", few_clusters: int = FEW_CLUSTERS, reps: int = BOOT_REPS, seed: int = SEED) -> pl.DataFrame:
    """rate ~ post x g | agency + year on the identifying agencies with a group (group: agency_id,
    g in {0, 1}); the coefficient is how much more the group's rate changed."""
    f = sample.frame.filter(pl.col("post").is_not_null())
    ids = _bridging(f).join(group, on="agency_id", how="inner")
    f = f.join(ids, on="agency_id", how="inner").with_columns((pl.col("post") * pl.col("g")).cast(pl.Float64).alias("treat"))
    G = ids.height
    n1 = int(ids["g"].sum()) if G else 0
    base = dict(design=design, term=term, estimand=estimand_text("did", weights, term, design), weights=weights, fixed_effects="agency + year", reports=f.height, agencies=G, agencies_identifying=G,
                years=f["year"].n_unique() if f.height else 0, first_year=f["year"].min(), last_year=f["year"].max())
    if n1 == 0 or n1 == G:
        return _frame([_row(**base, inference=inference_text("none"), note=f"not identified: {n1} of {G} identifying agencies in the group (both groups are needed)")])
    years = sorted(set(f["year"].to_list()))
    f = f.with_columns(*(pl.col("year").eq(y).cast(pl.Float64).alias(f"_y{y}") for y in years[1:]))
    r = _clustered(f, "y ~ treat | agency_id + year", "treat", ["treat", *[f"_y{y}" for y in years[1:]]], weights, few_clusters, reps, seed)
    note = f"{n1} agencies in the group, {G - n1} in the comparison" + (f"; {r['note']}" if r.get("note") else "")
    if design == "did_exposure":
        note += "; exposure is measured on the pre-period outcome: regression to the mean can mimic an effect"
    return _frame([_row(**base, estimate=r["estimate"], se=r.get("se"), ci_low=r.get("lo"), ci_high=r.get("hi"), p_value=r.get("p"), df=r.get("df"), inference=r["inference"], small_sample=r.get("small_sample"), note=note)])


def heterogeneity(sample: Sample, *, weights: str = "agencies", few_clusters: int = FEW_CLUSTERS, reps: int = BOOT_REPS, seed: int = SEED) -> pl.DataFrame:
    """The differences in differences: by exposure (above the median of the identifying
    agencies), by agency kind and by administrative level (each group against all others)."""
    f = sample.frame.filter(pl.col("post").is_not_null())
    ids = _bridging(f)
    rows = []
    ex = exposure(sample).join(ids, on="agency_id", how="semi")
    if ex.height:
        med = float(ex["exposure"].median())
        rows.append(did(sample, ex.select("agency_id", (pl.col("exposure") > med).cast(pl.Int64).alias("g")), design="did_exposure", term="more_exposed", weights=weights, few_clusters=few_clusters, reps=reps, seed=seed))
    else:
        rows.append(_frame([_row(design="did_exposure", term="more_exposed", estimand=estimand_text("did", weights, None, "did_exposure"), weights=weights, agencies_identifying=ids.height, inference=inference_text("none"),
                                 note="not identified: no identifying agency has a pre-revision share refused as not government information or referred")]))
    attrs = f.join(ids, on="agency_id", how="semi").group_by("agency_id").agg(pl.col("agency_kind").drop_nulls().last(), pl.col("admin_level").drop_nulls().last())
    for design, col in (("did_kind", "agency_kind"), ("did_level", "admin_level")):
        for value in sorted(v for v in attrs[col].unique().to_list() if v is not None):
            g = attrs.select("agency_id", (pl.col(col) == value).fill_null(False).cast(pl.Int64).alias("g"))
            rows.append(did(sample, g, design=design, term=value, weights=weights, few_clusters=few_clusters, reps=reps, seed=seed))
    return pl.concat(rows)


# ---------------------------------------------------------------------------------------------
# Event study and the joint pre-tests


def event_study(
    panel_or_sample,
    rate: str | None = None,
    *,
    weights: str = "agencies",
    ref_year: int | None = None,
    few_clusters: int = FEW_CLUSTERS,
    min_agencies: int = MIN_AGENCIES,
) -> pl.DataFrame:
    """Year effects with agency fixed effects, relative to `ref_year` (default: the last year
    before the revision in the data), on the agencies connected across years; every year of the
    sample (transition years too). Columns: year, rel_year, estimate, se, ci_low, ci_high,
    reports, agencies (in that year), reference (the reference year, fixed at 0), few_agencies
    (fewer than min_agencies in that year), period, inference. Intervals: CRV1 by agency,
    t(G-1), or the jackknife CRV3 when fewer than few_clusters agencies; none with one agency."""
    s = panel_or_sample if isinstance(panel_or_sample, Sample) else study_frame(panel_or_sample, rate)
    f = _connected(s.frame)
    schema = {"year": pl.Int64, "rel_year": pl.Int64, "estimate": pl.Float64, "se": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "reports": pl.Int64, "agencies": pl.Int64,
              "reference": pl.Boolean, "few_agencies": pl.Boolean, "period": pl.String, "inference": pl.String}
    if f.height == 0:
        return pl.DataFrame(schema=schema)
    pre_years = sorted(set(f.filter(pl.col("post") == 0)["year"].to_list()))
    if ref_year is None or ref_year not in set(f["year"].to_list()):
        ref_year = pre_years[-1] if pre_years else int(f["year"].min())
    G = A.n_agencies(f)
    counts = f.group_by("year").agg(pl.len().cast(pl.Int64).alias("reports"), A.AGENCIES, pl.col("post").first().alias("post"))
    est: dict[int, tuple] = {ref_year: (0.0, None, None, None)}
    inf = inference_text("none", G=G)
    fit = None
    if G >= 2:
        kind = "CRV1" if G >= few_clusters or G < 3 else "CRV3"  # the jackknife needs three agencies
        try:
            fit = _feols(f"y ~ i(year, ref={ref_year}) | agency_id", f, weights, {kind: "agency_id"})
            ci = fit.confint()
            for name, v in fit.coef().items():
                y = int(str(name).split("::")[-1].rstrip("]").replace("T.", ""))
                est[y] = (float(v), float(fit.se()[name]), float(ci.loc[name].iloc[0]), float(ci.loc[name].iloc[1]))
            inf = inference_text("crv1_agency" if kind == "CRV1" else "crv3_agency", G=G, df=f"t({G - 1})")
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):  # degenerate sample: points only
            fit = None
    if fit is None:
        years, gam = year_effects(f, ["y"], weights)
        base = gam[list(years).index(ref_year), 0]
        for y, g in zip(years, gam[:, 0]):
            est[int(y)] = (float(g - base), None, None, None)
    rows = []
    for r in counts.sort("year").iter_rows(named=True):
        e, se, lo, hi = est.get(r["year"], (None, None, None, None))
        period = "period_pre" if r["post"] == 0 else "period_post" if r["post"] == 1 else "period_transition"
        rows.append({"year": r["year"], "rel_year": r["year"] - 2019, "estimate": A._clean(e), "se": A._clean(se), "ci_low": A._clean(lo), "ci_high": A._clean(hi), "reports": r["reports"], "agencies": r["agencies"],
                     "reference": r["year"] == ref_year, "few_agencies": r["agencies"] < min_agencies, "period": period, "inference": inf})
    return pl.DataFrame(rows, schema=schema)


def _wald(coef, vcov, names: list[str], G: int) -> tuple[float | None, float | None, int]:
    from scipy import stats

    idx = [list(coef.index).index(n) for n in names]
    q = len(idx)
    if q == 0 or q > G - 1:
        return None, None, q
    b = coef.to_numpy()[idx]
    V = np.asarray(vcov)[np.ix_(idx, idx)]
    try:
        W = float(b @ np.linalg.solve(V, b)) / q
    except np.linalg.LinAlgError:
        return None, None, q
    return W, float(stats.f.sf(W, q, G - 1)), q


def pretests(sample: Sample, *, weights: str = "agencies", few_clusters: int = FEW_CLUSTERS) -> pl.DataFrame:
    """Joint Wald tests: (1) every pre-revision year effect of the event study is zero (agency
    fixed effects; rejects with pre-trends and with year shocks); (2) the more and the less
    exposed agencies moved in parallel before the revision (year x more_exposed coefficients of the
    pre-revision years, agency and year fixed effects). F(q, G-1) with the agency-clustered
    covariance (CRV1, or CRV3 with fewer than few_clusters agencies)."""
    rows = []
    f = _connected(sample.frame)
    G = A.n_agencies(f)
    pre_years = sorted(set(f.filter(pl.col("post") == 0)["year"].to_list())) if f.height else []
    base = dict(weights=weights, term="joint", fixed_effects="agency", reports=f.height, agencies=G, agencies_identifying=G, years=len(pre_years))
    kind = "CRV1" if G >= few_clusters else "CRV3"
    if G >= 4 and len(pre_years) >= 2:
        ref = pre_years[-1]
        fit = _feols(f"y ~ i(year, ref={ref}) | agency_id", f, weights, {kind: "agency_id"})
        names = [n for n in fit.coef().index if int(str(n).split("::")[-1]) in pre_years]
        W, p, q = _wald(fit.coef(), fit._vcov, names, G)
        rows.append(_row(**base, design="pretest_event_study", estimand=estimand_text("joint_pretest", weights), statistic=W, p_value=p, df=f"F({q}, {G - 1})",
                         inference=inference_text("wald_f", vcov=kind), small_sample=SSC["wald_f"], first_year=pre_years[0], last_year=pre_years[-1],
                         note=None if W is not None else f"{q} coefficients but only {G} agencies: the clustered covariance cannot support the test"))
    else:
        rows.append(_row(**base, design="pretest_event_study", estimand=estimand_text("joint_pretest", weights), inference=inference_text("none"), note=f"{G} agencies linked across {len(pre_years)} pre-revision years: no test"))
    # exposure pre-trends
    ex = exposure(sample)
    fpre = sample.frame.filter(pl.col("post") == 0).join(ex, on="agency_id", how="inner")
    fpre = _connected(fpre)
    Gp = A.n_agencies(fpre)
    yrs = sorted(set(fpre["year"].to_list())) if fpre.height else []
    base2 = dict(weights=weights, term="joint", fixed_effects="agency + year", reports=fpre.height, agencies=Gp, agencies_identifying=Gp, years=len(yrs))
    if Gp >= 4 and len(yrs) >= 3:
        med = float(fpre.group_by("agency_id").agg(pl.col("exposure").first())["exposure"].median())
        fpre = fpre.with_columns((pl.col("exposure") > med).cast(pl.Float64).alias("g"))
        if 0 < fpre.group_by("agency_id").agg(pl.col("g").first())["g"].sum() < Gp:
            fpre = fpre.with_columns(*(((pl.col("year") == y) * pl.col("g")).cast(pl.Float64).alias(f"h{y}") for y in yrs[:-1]))
            kind2 = "CRV1" if Gp >= few_clusters else "CRV3"
            fit = _feols("y ~ " + " + ".join(f"h{y}" for y in yrs[:-1]) + " | agency_id + year", fpre, weights, {kind2: "agency_id"})
            names = [n for n in fit.coef().index if str(n).startswith("h")]
            W, p, q = _wald(fit.coef(), fit._vcov, names, Gp)
            rows.append(_row(**base2, design="pretest_exposure", estimand=estimand_text("joint_pretest", weights), statistic=W, p_value=p, df=f"F({q}, {Gp - 1})",
                             inference=inference_text("wald_f", vcov=kind2), small_sample=SSC["wald_f"], first_year=yrs[0], last_year=yrs[-1],
                             note=None if W is not None else f"{q} coefficients but only {Gp} agencies: the clustered covariance cannot support the test"))
            return _frame(rows)
    rows.append(_row(**base2, design="pretest_exposure", estimand=estimand_text("joint_pretest", weights), inference=inference_text("none"),
                     note=f"{Gp} agencies with an exposure linked across {len(yrs)} pre-revision years, or one exposure group only: no test"))
    return _frame(rows)


# ---------------------------------------------------------------------------------------------
# The entry point


def regulation_effects(
    panel: pl.DataFrame,
    rate: str = "rejection_rate_strict",
    *,
    pre_end: int = 2018,
    post_start: int = 2020,
    transition: str = "exclude",
    weights: str = "agencies",
    min_agencies: int = MIN_AGENCIES,
    few_clusters: int = FEW_CLUSTERS,
    reps: int = BOOT_REPS,
    seed: int = SEED,
    designs: tuple[str, ...] = ("its", "fe_before_after", "heterogeneity", "placebo", "pretests"),
) -> pl.DataFrame:
    """Every design of the study on a panel, weighted by agencies and by requests side by side,
    in one tidy frame (EFFECT_COLUMNS). `recommended` is true on at most one row: the interrupted
    time series' level change with the `weights` asked for, when its inference is valid for the
    data at hand (identified; at least MIN_YEARS_DF year-level degrees of freedom and three years
    before; at least `min_agencies` agencies observed before and after, so that the result is not
    a few offices' story). Otherwise no row is recommended and the level-change row's note says
    why. Periods are (re)assigned from pre_end, post_start and transition."""
    if weights not in WEIGHTS:
        raise A.AnalysisError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    p = A.assign_period(panel, pre_end, post_start, transition)
    s = study_frame(p, rate)
    parts = []
    for w in WEIGHTS:
        if "its" in designs:
            parts.append(its(s, weights=w, min_agencies=min_agencies))
        if "fe_before_after" in designs:
            parts.append(fe_before_after(s, weights=w, few_clusters=few_clusters, min_agencies=min_agencies, reps=reps, seed=seed))
        if "heterogeneity" in designs:
            parts.append(heterogeneity(s, weights=w, few_clusters=few_clusters, reps=reps, seed=seed))
        if "placebo" in designs:
            parts.append(placebo(s, weights=w, min_agencies=min_agencies))
        if "pretests" in designs:
            parts.append(pretests(s, weights=w, few_clusters=few_clusters))
    out = pl.concat([x for x in parts if x.height], how="vertical") if parts else _frame([])
    return _recommend(out, weights, min_agencies)


def _recommend(out: pl.DataFrame, weights: str, min_agencies: int) -> pl.DataFrame:
    key = (pl.col("design") == "its") & (pl.col("term") == "level_change") & (pl.col("weights") == weights)
    cand = out.filter(key)
    if cand.height == 0:
        return out
    r = cand.row(0, named=True)
    why = []
    if r["estimate"] is None:
        why.append(r["note"] or "not identified")
    else:
        df = int(r["df"]) if r["df"] and r["df"].lstrip("-").isdigit() else 0
        if df < MIN_YEARS_DF:
            why.append(f"{df} year-level degree(s) of freedom (at least {MIN_YEARS_DF} needed)")
        if (r["agencies_identifying"] or 0) < min_agencies:
            why.append(f"{r['agencies_identifying']} agenc{'y' if r['agencies_identifying'] == 1 else 'ies'} observed before and after (at least {min_agencies} needed)")
    ok = not why
    note = "recommended: inference at the year level, where the variation that identifies the revision lies" if ok else "not recommended: " + "; ".join(why)
    return out.with_columns(
        pl.when(key).then(pl.lit(ok)).otherwise(pl.lit(False)).alias("recommended"),
        pl.when(key).then(pl.lit(note)).otherwise(pl.col("note")).alias("note"),
    )


# ---------------------------------------------------------------------------------------------
# Tables and plain words


MAIN = [("its", "level_change"), ("its", "slope_change"), ("its", "pre_trend"), ("fe_before_after", "post"), ("did_exposure", "more_exposed")]


def regression_table(effects: pl.DataFrame, fmt: str = "markdown", digits: int = 3) -> str:
    """The main designs side by side (interrupted time series, fixed-effects baseline, exposure
    difference in differences; weights by agencies and by requests) as a Markdown or LaTeX
    (booktabs) table: estimate, 95% interval, p-value per estimand, then N (reports), agencies,
    identifying agencies, years, fixed effects, weights, inference and small-sample correction."""
    from tabulate import tabulate

    if fmt not in ("markdown", "latex"):
        raise A.AnalysisError(f"fmt must be markdown or latex, got {fmt!r}")
    models = []
    for design in ("its", "fe_before_after", "did_exposure"):
        for w in WEIGHTS:
            sub = effects.filter((pl.col("design") == design) & (pl.col("weights") == w))
            if sub.height:
                models.append((design, w, sub))
    lab = lambda code, voc: _vocab(voc)[code]["en"]  # noqa: E731
    header = [""] + [f"({i + 1})" for i in range(len(models))]
    f = f"{{:.{digits}f}}"
    body = [["Design"] + [lab(d, "study_designs") for d, _, _ in models]]
    for design, term in MAIN:
        est, ci, pv = [lab(term if design != "did_exposure" else "did", "study_estimands") if design != "fe_before_after" else lab("before_after", "study_estimands")], ["  95% CI"], ["  p"]
        for d, _, sub in models:
            r = sub.filter(pl.col("term") == term).row(0, named=True) if d == design and sub.filter(pl.col("term") == term).height else None
            est.append("" if r is None else ("n.i." if r["estimate"] is None else f.format(r["estimate"]) + (" †" if r["recommended"] else "")))
            ci.append("" if r is None or r["ci_low"] is None else f"[{f.format(r['ci_low'])}, {f.format(r['ci_high'])}]")
            pv.append("" if r is None or r["p_value"] is None else f.format(r["p_value"]))
        body += [est, ci, pv]
    first = [sub.row(0, named=True) for _, _, sub in models]
    for label, key in (("N (reports)", "reports"), ("Agencies", "agencies"), ("Agencies identifying", "agencies_identifying"), ("Years", "years"), ("Fixed effects", "fixed_effects"),
                       ("Weights", "weights"), ("Inference", "inference"), ("Small-sample correction", "small_sample")):
        body.append([label] + ["" if r[key] is None else (lab(r[key], "study_weights") if key == "weights" else str(r[key])) for r in first])
    note = "n.i.: not identified on these data. † recommended (valid inference for these data). Rate in shares (0.05 = 5 points)."
    if fmt == "markdown":
        return tabulate(body, headers=header, tablefmt="pipe", disable_numparse=True) + "\n\n" + note + "\n"
    return tabulate(body, headers=header, tablefmt="latex_booktabs", disable_numparse=True) + "\n% " + note + "\n"


def effects_summary(effects: pl.DataFrame, min_agencies: int = MIN_AGENCIES) -> list[str]:
    """What the designs can and cannot show on these data, in plain sentences computed from the
    rows of regulation_effects."""
    L = []
    rec = effects.filter(pl.col("recommended"))
    lvl = effects.filter((pl.col("design") == "its") & (pl.col("term") == "level_change"))
    if rec.height:
        r = rec.row(0, named=True)
        L.append(
            f"Recommended: the interrupted time series ({r['weights']}): level change {r['estimate']:+.3f} (95% CI {r['ci_low']:+.3f} to {r['ci_high']:+.3f}, p = {r['p_value']:.3f}), "
            f"{r['years']} years, {r['agencies_identifying']} agencies observed before and after."
        )
    else:
        why = lvl.filter(pl.col("note").str.starts_with("not recommended"))["note"].to_list()
        L.append("No design has valid inference on these data" + (f" ({why[0][len('not recommended: '):]})" if why else "") + ": the estimates below describe, they do not test the revision.")
    for r in lvl.iter_rows(named=True):
        if r["estimate"] is not None and not r["recommended"]:
            few = (r["agencies_identifying"] or 0) < min_agencies
            tail = "; too few agencies for a finding." if few else (f" (95% CI {r['ci_low']:+.3f} to {r['ci_high']:+.3f}): the same design for the other estimand." if r["ci_low"] is not None else ".")
            L.append(f"Interrupted time series ({r['weights']}): level change {r['estimate']:+.3f} on {r['agencies_identifying']} agenc{'y' if r['agencies_identifying'] == 1 else 'ies'} observed before and after and {r['years']} years{tail}")
    fe = effects.filter(pl.col("design") == "fe_before_after")
    for r in fe.iter_rows(named=True):
        if r["estimate"] is not None:
            L.append(f"Fixed-effects before/after ({r['weights']}): {r['estimate']:+.3f} on {r['agencies_identifying']} agenc{'y' if r['agencies_identifying'] == 1 else 'ies'}: descriptive only (common shocks load on it).")
    pl_rows = effects.filter((pl.col("design") == "placebo") & pl.col("p_value").is_not_null())
    if pl_rows.height:
        k = int((pl_rows["p_value"] < 0.05).sum())
        L.append(f"Placebo reform years: {k} of {pl_rows.height} level changes reject at 5% (about {0.05 * pl_rows.height:.1f} expected by chance).")
    else:
        L.append("Placebo reform years: too few pre-revision years with agencies observed in several of them to run any.")
    for d, what in (("pretest_event_study", "pre-revision year effects jointly zero"), ("pretest_exposure", "parallel pre-trends by exposure")):
        t = effects.filter((pl.col("design") == d) & (pl.col("weights") == "agencies"))
        if t.height:
            r = t.row(0, named=True)
            L.append(f"Joint test, {what}: " + (f"F = {r['statistic']:.2f}, {r['df']}, p = {r['p_value']:.3f}." if r["p_value"] is not None else f"not possible ({r['note']})."))
    het = effects.filter(pl.col("design").str.starts_with("did_") & pl.col("estimate").is_not_null())
    n_het = effects.filter(pl.col("design").str.starts_with("did_")).height
    L.append(f"Differences in differences (exposure, kind, level): {het.height} of {n_het} identified" + ("." if het.height else ": no group comparison is possible with these agencies."))
    return L


# ---------------------------------------------------------------------------------------------
# Sensitivity


def sensitivity(
    tables: dict,
    *,
    rate: str = "rejection_rate_strict",
    region: str | None = None,
    years=None,
    crosswalk: str = "default",
    denominator: str = "handled",
    pre_end: int = 2018,
    post_start: int = 2020,
    transition: str = "exclude",
    weights: str = "agencies",
    crosswalks: list[str] | None = None,
    denominators: list[str] | None = None,
    transitions: list[str] | None = None,
    pre_ends: list[int] | None = None,
    exclusions: list[str] | None = None,
    min_agencies: int = MIN_AGENCIES,
    build=None,
) -> pl.DataFrame:
    """The interrupted time series' level change (the design that would be recommended) and the
    fixed-effects baseline under the baseline settings and with one choice changed at a time:
    crosswalk, denominator, transition years, pre_end (anticipation: the revision was promulgated
    on 2019-04-03 and its draft published for comment in 2017), excluding reports with quality
    warnings or errors, excluding figures from prose, weights. Columns: dimension, value, setting
    (a short label), baseline (bool), estimate, ci_low, ci_high, p_value, agencies_identifying,
    years, reports, fe_estimate, fe_agencies, recommended, note."""
    if build is None:
        from foi_research.present.studies import build_panel as build
    from foi_research.harmonise import metrics

    crosswalks = crosswalks if crosswalks is not None else [crosswalk]
    denominators = denominators if denominators is not None else [denominator]
    transitions = transitions if transitions is not None else [transition]
    pre_ends = pre_ends if pre_ends is not None else [pre_end]
    exclusions = exclusions if exclusions is not None else []
    panels: dict[str, pl.DataFrame] = {}

    def panel_for(cw: str, den: str) -> pl.DataFrame:
        if cw not in panels:
            panels[cw] = A.select(build(tables, crosswalk=cw, denominator=denominator), region, years)
        return panels[cw] if den == denominator else metrics.add_rates(panels[cw], den)

    bad_ids: set[str] = set()
    if "quality_warnings" in exclusions:
        q = metrics._collect(tables["quality"], pl.col("severity").is_in(["error", "warning"]), ["report_id", "severity"])
        bad_ids = set(q["report_id"].to_list())
    settings = [("baseline", "baseline", dict())]
    settings += [("crosswalk", c, dict(crosswalk=c)) for c in crosswalks if c != crosswalk]
    settings += [("denominator", d, dict(denominator=d)) for d in denominators if d != denominator]
    settings += [("transition", t, dict(transition=t)) for t in transitions if t != transition]
    settings += [("pre_end", str(e), dict(pre_end=e)) for e in pre_ends if e != pre_end]
    settings += [("exclude", e, dict(exclude=e)) for e in exclusions]
    settings += [("weights", w, dict(weights=w)) for w in WEIGHTS if w != weights]
    rows = []
    for dim, value, ch in settings:
        cfg = dict(crosswalk=crosswalk, denominator=denominator, transition=transition, pre_end=pre_end, weights=weights, exclude=None)
        cfg.update(ch)
        p = panel_for(cfg["crosswalk"], cfg["denominator"])
        if cfg["exclude"] == "quality_warnings":
            p = p.filter(~pl.col("report_id").is_in(sorted(bad_ids)))
        elif cfg["exclude"] == "prose_figures":
            p = p.filter(pl.col("source") != "narrative")
        eff = regulation_effects(p, rate, pre_end=cfg["pre_end"], post_start=post_start, transition=cfg["transition"], weights=cfg["weights"], min_agencies=min_agencies, designs=("its", "fe_before_after"))
        lv = eff.filter((pl.col("design") == "its") & (pl.col("term") == "level_change") & (pl.col("weights") == cfg["weights"])).row(0, named=True)
        fe = eff.filter((pl.col("design") == "fe_before_after") & (pl.col("weights") == cfg["weights"])).row(0, named=True)
        label = "baseline" if dim == "baseline" else f"{_vocab('chart_labels').get(dim, {}).get('en', dim) if dim in ('crosswalk', 'denominator', 'weights') else dim}: {value}"
        rows.append({
            "dimension": dim, "value": value, "setting": label, "baseline": dim == "baseline",
            "estimate": lv["estimate"], "ci_low": lv["ci_low"], "ci_high": lv["ci_high"], "p_value": lv["p_value"], "se": lv["se"],
            "agencies_identifying": lv["agencies_identifying"], "years": lv["years"], "reports": lv["reports"],
            "fe_estimate": fe["estimate"], "fe_agencies": fe["agencies_identifying"], "recommended": lv["recommended"], "note": lv["note"],
        })
    schema = {"dimension": pl.String, "value": pl.String, "setting": pl.String, "baseline": pl.Boolean, "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64, "se": pl.Float64,
              "agencies_identifying": pl.Int64, "years": pl.Int64, "reports": pl.Int64, "fe_estimate": pl.Float64, "fe_agencies": pl.Int64, "recommended": pl.Boolean, "note": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def sensitivity_summary(sens: pl.DataFrame, min_agencies: int = MIN_AGENCIES) -> pl.DataFrame:
    """Which choices move the result: per dimension, the largest shift of the level change from
    the baseline and whether it moves the result (a shift of more than half the baseline's
    standard error, a change of sign, or a change of significance at 5%). Columns: dimension,
    settings, max_shift, moves (null when the baseline or every variant is not identified),
    verdict (a sentence). When the baseline rests on fewer than min_agencies agencies observed
    before and after, `moves` is null: there is no result to move."""
    b = sens.filter(pl.col("baseline"))
    rows = []
    base = b.row(0, named=True) if b.height else None
    for dim in [d for d in sens["dimension"].unique(maintain_order=True).to_list() if d != "baseline"]:
        sub = sens.filter(pl.col("dimension") == dim)
        vals = [r for r in sub.iter_rows(named=True) if r["estimate"] is not None]
        if base is None or base["estimate"] is None:
            rows.append({"dimension": dim, "settings": ", ".join(sub["value"].to_list()), "max_shift": None, "moves": None,
                         "verdict": "cannot tell: the baseline estimate is not identified" + (f" (identified under {', '.join(r['value'] for r in vals)})" if vals else "")})
            continue
        if not vals:
            rows.append({"dimension": dim, "settings": ", ".join(sub["value"].to_list()), "max_shift": None, "moves": True, "verdict": "moves it: no estimate is identified under " + ", ".join(sub["value"].to_list())})
            continue
        shifts = [abs(r["estimate"] - base["estimate"]) for r in vals]
        if (base["agencies_identifying"] or 0) < min_agencies:
            rows.append({"dimension": dim, "settings": ", ".join(sub["value"].to_list()), "max_shift": A._clean(max(shifts)), "moves": None,
                         "verdict": f"cannot tell: the baseline rests on {base['agencies_identifying']} agenc{'y' if base['agencies_identifying'] == 1 else 'ies'} observed before and after "
                                    f"(fewer than {min_agencies}), so no choice can move a result there is not (largest shift {max(shifts):.3f})"})
            continue
        sig = lambda r: r["p_value"] is not None and r["p_value"] < 0.05  # noqa: E731
        flips = [r["value"] for r in vals if (r["estimate"] > 0) != (base["estimate"] > 0) or sig(r) != sig(base)]
        big = base["se"] is not None and max(shifts) > 0.5 * base["se"]
        moves = bool(flips) or big
        verdict = (f"moves it (largest shift {max(shifts):.3f}" + (f"; sign or significance changes under {', '.join(flips)}" if flips else "") + ")") if moves else f"does not move it (largest shift {max(shifts):.3f})"
        rows.append({"dimension": dim, "settings": ", ".join(sub["value"].to_list()), "max_shift": A._clean(max(shifts)), "moves": moves, "verdict": verdict})
    return pl.DataFrame(rows, schema={"dimension": pl.String, "settings": pl.String, "max_shift": pl.Float64, "moves": pl.Boolean, "verdict": pl.String}, orient="row")


def codebook_lines() -> list[str]:
    """The codebook's section on the 2019 study: every design, estimand, weighting and inference
    method, from codes.yaml, and the rules of the designs (for present/export.codebook)."""
    from foi_research.present.export import _table

    out = ["## The 2019 regulation study: designs and estimands", ""]
    out += [
        "`analysis.regulation_effects(panel, rate, ...)` runs every design below on a panel and returns one row per design, "
        "term and weighting (columns: " + ", ".join(EFFECT_COLUMNS) + "). Rates outside 0-1 and reports without an "
        f"identified agency are left out and counted. Agency-clustered designs use only the agencies observed before and "
        f"after (the identifying agencies), so degrees of freedom and corrections are theirs; with fewer than {FEW_CLUSTERS} "
        f"of them the wild cluster bootstrap replaces the clustered t ({BOOT_REPS} draws, seed {SEED}). `recommended` marks "
        f"at most one row: the interrupted time series' level change, when identified with at least {MIN_YEARS_DF} "
        f"year-level degrees of freedom and at least `min_agencies` (default {MIN_AGENCIES}) agencies observed before and after.",
        "",
    ]
    out += ["Designs:", ""]
    out += _table(["design", "中文", "English", "what it does"], [[c["code"], c["zh"], c["en"], c["description"]] for c in _vocab("study_designs").values()])
    out += ["Estimands (column `term`; the column `estimand` says it in words with the weighting):", ""]
    out += _table(["estimand", "中文", "English", "what is estimated"], [[c["code"], c["zh"], c["en"], c["description"]] for c in _vocab("study_estimands").values()])
    out += ["Weights (every design is run with both, side by side):", ""]
    out += _table(["weights", "中文", "English", "meaning"], [[c["code"], c["zh"], c["en"], c["description"]] for c in _vocab("study_weights").values()])
    out += ["Inference (column `inference`; the small-sample correction is in `small_sample`):", ""]
    out += _table(["inference", "中文", "English", "method"], [[c["code"], c["zh"], c["en"], c["description"]] for c in _vocab("study_inference").values()])
    from foi_research.harmonise import metrics

    out += [f"**Rates outside 0-1.** {metrics.RULES['range']}", "", f"**Parent minus child.** {metrics.RULES['within']}", ""]
    return out
