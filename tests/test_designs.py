"""The designs of the 2019 study (foi_research/present/designs.py).

- A Monte Carlo on simulated agency-by-year panels shaped like panel.parquet (unbalanced, with
  shocks common to every agency in a year and a national trend): the recommended design rejects a
  true null in at most 10% of 200 draws and its interval covers a known effect near 95% of the
  time, where the agency fixed-effects before/after rejects the null far too often. The draws
  are vectorised: one panel holds the 200 outcomes, the design runs once over all of them.
- Each design against an independent computation (statsmodels with explicit dummies; pyfixest's
  own wild bootstrap integration).
- What request weights estimate, when effects differ by agency size.
"""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from foi_research.present import analysis, designs

DRAWS = 200
YEARS = list(range(2012, 2024))


def _panel(n_agencies=40, seed=1, draws=DRAWS, effect=0.0, shock_sd=0.01, trend=0.003, effect_by_size=None, miss=0.15, noise=True):
    """An unbalanced panel (each agency-year missing with probability `miss`) with `draws`
    outcome columns y0..y{draws-1}: rate = agency level + trend x (year - 2019) + a shock common
    to all agencies in the year + the effect from 2020 on + binomial sampling noise. The first
    outcome is also the panel's rejection_rate_strict (withheld / handled)."""
    rng = np.random.default_rng(seed)
    ag = np.arange(n_agencies)
    base = rng.uniform(0.1, 0.3, n_agencies)
    size = rng.integers(30, 400, n_agencies)
    rows = [(a, y) for a in ag for y in YEARS if rng.random() > miss]
    a_idx = np.array([a for a, _ in rows])
    yr = np.array([y for _, y in rows])
    n = rng.poisson(size[a_idx]) + 5
    shocks = rng.normal(0, shock_sd, (len(YEARS), draws))
    eff = np.full(n_agencies, effect) if effect_by_size is None else np.where(size >= np.median(size), effect_by_size[0], effect_by_size[1])
    p = base[a_idx, None] + trend * (yr - 2019)[:, None] + shocks[yr - YEARS[0]] + (eff[a_idx] * (yr >= 2020))[:, None]
    p = np.clip(p, 0.001, 0.999)
    k = rng.binomial(n[:, None], p) if noise else np.round(p * n[:, None])
    y = k / n[:, None]
    df = pl.DataFrame(
        {
            "report_id": [f"a{a}-{y_}" for a, y_ in rows],
            "agency_id": [f"a{a}" for a in a_idx],
            "agency": [f"机关{a}" for a in a_idx],
            "agency_kind": ["township" if a % 2 else "department" for a in a_idx],
            "admin_level": ["county" if a % 3 else "city" for a in a_idx],
            "province": "山东省",
            "city": "淄博市",
            "county": None,
            "year": yr,
            "source": "table3",
            "withheld": k[:, 0],
            "handled": n,
            "received": n,
            "denominator_value": n,
            "not_this_agency": rng.integers(0, 8, len(rows)),
        }
    ).with_columns((pl.col("withheld") / pl.col("denominator_value")).alias("rejection_rate_strict"))
    return df.with_columns(*(pl.Series(f"y{d}", y[:, d]) for d in range(draws))), size


def _its_all(panel, draws=DRAWS, weights="agencies"):
    s = designs.study_frame(analysis.assign_period(panel, 2018, 2020, "exclude"), "rejection_rate_strict", outcomes=[f"y{d}" for d in range(draws)])
    return designs.its(s, weights=weights, outcomes=[f"y{d}" for d in range(draws)]).filter(pl.col("term") == "level_change")


def test_the_recommended_design_is_the_interrupted_time_series_on_a_large_panel():
    panel, _ = _panel(draws=1)
    eff = analysis.regulation_effects(panel, designs=("its", "fe_before_after"))
    rec = eff.filter(pl.col("recommended"))
    assert rec.height == 1
    r = rec.row(0, named=True)
    assert (r["design"], r["term"], r["weights"]) == ("its", "level_change", "agencies")
    assert r["agencies_identifying"] >= designs.MIN_AGENCIES and r["inference"].startswith("Year-level OLS")


def test_monte_carlo_null_effect_with_common_shocks_and_a_trend():
    """200 draws, no effect, year shocks (sd 0.01) and a trend of +0.003 a year: the recommended
    design (interrupted time series, year-level inference) rejects at 5% in at most 10% of draws.
    The agency fixed-effects before/after, on the same draws, rejects far more often (it loads
    the shocks and the trend on `post`): that is why it is only descriptive."""
    panel, _ = _panel(effect=0.0, seed=11)
    lv = _its_all(panel)
    assert lv.height == DRAWS and lv["estimate"].null_count() == 0
    rej = float((lv["p_value"] < 0.05).mean())
    assert rej <= 0.10, f"false rejections {rej:.1%}"
    # the baseline on the first 20 draws: clustered by agency, it rejects a true null most of the time
    fe_rej = []
    for d in range(20):
        p = panel.with_columns(pl.col(f"y{d}").alias("rejection_rate_strict"), (pl.col(f"y{d}") * pl.col("handled")).round(0).cast(pl.Int64).alias("withheld"))
        fe = designs.fe_before_after(designs.study_frame(analysis.assign_period(p), "rejection_rate_strict"), few_clusters=5)
        fe_rej.append(fe["p_value"][0] < 0.05)
    assert np.mean(fe_rej) >= 0.5


def test_monte_carlo_interval_covers_a_known_effect():
    """Effect +0.08 from 2020: the recommended design's 95% interval covers it in about 95% of
    200 draws, and the estimates centre on it."""
    panel, _ = _panel(effect=0.08, seed=12)
    lv = _its_all(panel)
    cover = float(((lv["ci_low"] <= 0.08) & (lv["ci_high"] >= 0.08)).mean())
    assert 0.90 <= cover <= 0.99, f"coverage {cover:.1%}"
    assert lv["estimate"].mean() == pytest.approx(0.08, abs=0.005)


def test_request_weights_estimate_the_average_request_not_the_average_agency():
    """Effects differ by size (+0.02 in the larger half of the agencies, +0.10 in the smaller):
    weighting by agencies recovers the agency average (0.06), weighting by requests the request
    average, which is much smaller. The estimands say so."""
    panel, size = _panel(n_agencies=60, draws=1, effect_by_size=(0.02, 0.10), shock_sd=0.0, trend=0.0, miss=0.0, seed=5, noise=False)
    big = size >= np.median(size)
    req_truth = float((0.02 * size[big].sum() + 0.10 * size[~big].sum()) / size.sum())
    eff = analysis.regulation_effects(panel, designs=("its",))
    lv = {r["weights"]: r for r in eff.filter(pl.col("term") == "level_change").iter_rows(named=True)}
    assert lv["agencies"]["estimate"] == pytest.approx(0.06, abs=0.004)
    assert lv["requests"]["estimate"] == pytest.approx(req_truth, abs=0.006) and req_truth < 0.045
    assert "average over agencies" in lv["agencies"]["estimand"] and "average over requests" in lv["requests"]["estimand"]


# ---------------------------------------------------------------------------------------------
# Each design against an independent computation


def _sm_frame(panel):
    s = designs.study_frame(analysis.assign_period(panel, 2018, 2020, "exclude"), "rejection_rate_strict")
    return s, s.frame.filter(pl.col("post").is_not_null()).to_pandas()


@pytest.mark.parametrize("weights", ["agencies", "requests"])
def test_interrupted_time_series_matches_statsmodels(weights):
    import statsmodels.formula.api as smf

    panel, _ = _panel(n_agencies=15, draws=1, seed=3)
    s, d = _sm_frame(panel)
    got = designs.its(s, weights=weights)
    w = d["n"] if weights == "requests" else np.ones(len(d))
    step1 = smf.wls("y ~ C(agency_id) + C(year)", data=d, weights=w).fit()
    years = sorted(d["year"].unique())
    gam = [0.0] + [step1.params[f"C(year)[T.{y}]"] for y in years[1:]]
    yd = pl.DataFrame({"year": years, "g": gam}).with_columns(
        (pl.col("year") >= 2020).cast(pl.Float64).alias("post"), (pl.col("year") - 2020).cast(pl.Float64).alias("t")
    ).with_columns((pl.col("post") * pl.col("t")).alias("pt")).to_pandas()
    step2 = smf.ols("g ~ t + post + pt", data=yd).fit()
    ci = step2.conf_int()
    for term, name in (("level_change", "post"), ("slope_change", "pt"), ("pre_trend", "t")):
        r = got.filter(pl.col("term") == term).row(0, named=True)
        assert r["estimate"] == pytest.approx(step2.params[name], abs=1e-9)
        assert r["se"] == pytest.approx(step2.bse[name], abs=1e-9)
        assert r["p_value"] == pytest.approx(step2.pvalues[name], abs=1e-8)
        assert (r["ci_low"], r["ci_high"]) == (pytest.approx(ci.loc[name, 0], abs=1e-9), pytest.approx(ci.loc[name, 1], abs=1e-9))
        assert r["df"] == str(int(step2.df_resid))


def _fixest_se(res, n, k_fixest):
    """statsmodels' cluster correction counts every dummy in K; fixest leaves out the fixed
    effects nested in the clusters (the agency dummies) but one level (K = coefficients +
    fixed-effect levels not nested + 1). Same covariance otherwise."""
    return res.bse * np.sqrt((n - res.df_model - 1) / (n - k_fixest))


@pytest.mark.parametrize("weights", ["agencies", "requests"])
def test_fixed_effects_baseline_matches_statsmodels_with_fixest_correction(weights):
    import statsmodels.formula.api as smf
    from scipy import stats

    panel, _ = _panel(n_agencies=40, draws=1, seed=4)
    s, d = _sm_frame(panel)
    got = designs.fe_before_after(s, weights=weights).row(0, named=True)
    assert got["inference"].startswith("Clustered by agency (CRV1)") and got["agencies_identifying"] == d["agency_id"].nunique()
    w = d["n"] if weights == "requests" else np.ones(len(d))
    res = smf.wls("y ~ post + C(agency_id)", data=d, weights=w).fit(cov_type="cluster", cov_kwds={"groups": d["agency_id"]})
    se = _fixest_se(res, len(d), 1 + 1)["post"]
    G = d["agency_id"].nunique()
    assert got["estimate"] == pytest.approx(res.params["post"], abs=1e-9)
    assert got["se"] == pytest.approx(se, rel=1e-6)
    crit = stats.t.ppf(0.975, G - 1)
    assert got["ci_low"] == pytest.approx(res.params["post"] - crit * se, abs=1e-8)


def test_difference_in_differences_matches_statsmodels():
    import statsmodels.formula.api as smf

    panel, _ = _panel(n_agencies=40, draws=1, seed=6)
    s, d = _sm_frame(panel)
    got = designs.heterogeneity(s).filter(pl.col("design") == "did_kind").filter(pl.col("term") == "township").row(0, named=True)
    d["treat"] = d["post"] * (d["agency_kind"] == "township")
    res = smf.ols("y ~ treat + C(agency_id) + C(year)", data=d).fit(cov_type="cluster", cov_kwds={"groups": d["agency_id"]})
    k_fixest = 1 + (d["year"].nunique() - 1) + 1  # year effects are not nested in the agency clusters
    assert got["estimate"] == pytest.approx(res.params["treat"], abs=1e-9)
    assert got["se"] == pytest.approx(_fixest_se(res, len(d), k_fixest)["treat"], rel=1e-6)
    assert got["fixed_effects"] == "agency + year"


def test_wild_bootstrap_matches_pyfixests_own_integration():
    """With few identifying agencies the design switches to the wild cluster bootstrap; its
    p-value (agency effects projected out, data scaled for weights) equals the one pyfixest's
    own wildboottest integration gives on the model with agency dummies (same draws)."""
    import pyfixest as pf

    panel, _ = _panel(n_agencies=8, draws=1, seed=8)
    s, d = _sm_frame(panel)
    row = designs.fe_before_after(s).row(0, named=True)
    assert row["inference"].startswith("Wild cluster bootstrap") and "few identifying agencies (8 < 30)" in row["note"]
    d["cl"] = d["agency_id"].factorize()[0]  # integer cluster codes: wildboottest's numba kernel does not take strings
    fit = pf.feols("y ~ post | agency_id", data=d, vcov={"CRV1": "cl"})
    theirs = fit.wildboottest(param="post", reps=designs.BOOT_REPS, seed=designs.SEED, weights_type="webb")
    assert row["p_value"] == pytest.approx(float(theirs["Pr(>|t|)"]), abs=1e-9)
    assert row["ci_low"] < row["estimate"] < row["ci_high"]


def test_event_study_and_its_first_step_agree_with_statsmodels():
    import statsmodels.formula.api as smf

    panel, _ = _panel(n_agencies=40, draws=1, seed=9)
    s, _ = _sm_frame(panel)
    ev = designs.event_study(s)
    d = designs._connected(s.frame).to_pandas()
    res = smf.ols("y ~ C(agency_id) + C(year, Treatment(2018))", data=d).fit()
    for r in ev.iter_rows(named=True):
        want = 0.0 if r["year"] == 2018 else res.params[f"C(year, Treatment(2018))[T.{r['year']}]"]
        assert r["estimate"] == pytest.approx(want, abs=1e-9)
    assert ev.filter(pl.col("reference"))["year"].to_list() == [2018]
    assert set(ev["period"]) == {"period_pre", "period_post", "period_transition"}  # 2019 shown, marked
    assert ev["agencies"].min() > 20 and not ev["few_agencies"].any()


def test_joint_pretest_is_the_clustered_wald_test():
    import statsmodels.formula.api as smf
    from scipy import stats

    panel, _ = _panel(n_agencies=40, draws=1, seed=10, shock_sd=0.0)
    s, _ = _sm_frame(panel)
    t = designs.pretests(s).filter(pl.col("design") == "pretest_event_study").row(0, named=True)
    d = designs._connected(s.frame).to_pandas()
    res = smf.ols("y ~ C(agency_id) + C(year, Treatment(2018))", data=d).fit(cov_type="cluster", cov_kwds={"groups": d["agency_id"]})
    names = [f"C(year, Treatment(2018))[T.{y}]" for y in range(2012, 2018)]
    K_sm, G = res.df_model + 1, d["agency_id"].nunique()
    V = res.cov_params().loc[names, names].to_numpy() * (len(d) - K_sm) / (len(d) - (d["year"].nunique() - 1) - 1)
    b = res.params[names].to_numpy()
    F = float(b @ np.linalg.solve(V, b)) / len(names)
    assert t["statistic"] == pytest.approx(F, rel=1e-6)
    assert t["p_value"] == pytest.approx(stats.f.sf(F, len(names), G - 1), rel=1e-6)
    assert t["df"] == f"F(6, {G - 1})"


def test_placebo_years_use_only_the_pre_revision_years():
    panel, _ = _panel(n_agencies=40, draws=1, seed=13)
    s, _ = _sm_frame(panel)
    pb = designs.placebo(s)
    assert pb["term"].to_list() == ["2015", "2016", "2017"]
    assert pb["last_year"].max() == 2018 and pb["estimand"][0].startswith("Placebo level change")


def test_regression_tables_state_n_agencies_fixed_effects_weights_and_correction():
    panel, _ = _panel(n_agencies=40, draws=1, seed=14)
    eff = analysis.regulation_effects(panel, designs=("its", "fe_before_after", "heterogeneity"))
    md = analysis.regression_table(eff, "markdown")
    tex = analysis.regression_table(eff, "latex")
    for label in ("N (reports)", "Agencies identifying", "Fixed effects", "Weights", "Small-sample correction", "Inference"):
        assert label in md and label in tex
    assert "\\toprule" in tex and "|:--" in md
    assert "†" in md  # the recommended estimate is marked
