"""The analyses behind the notebooks: Wilson intervals, rank intervals, pooled rates that agree
with the panel's own pooling, the fixed-effects model on data with a known effect, and caveats
that say what the bundled corpus can and cannot show."""
from __future__ import annotations

import math
import random

import polars as pl
import pytest

from foi_research.present import analysis
from foi_research.harmonise import metrics


def test_wilson_interval_known_values():
    lo, hi = analysis.wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = analysis.wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    lo, hi = analysis.wilson(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-4) and hi == 1.0
    assert analysis.wilson(0, 0) == (None, None)
    # narrower with more requests
    assert analysis.wilson(50, 100)[1] - analysis.wilson(50, 100)[0] < analysis.wilson(5, 10)[1] - analysis.wilson(5, 10)[0]


def test_rank_intervals_widen_with_small_counts():
    df = analysis.with_wilson(pl.DataFrame({"unit": ["big_high", "big_low", "tiny"], "numerator": [400, 100, 1], "denominator": [1000, 1000, 3]}))
    r = analysis.rank_intervals(df).sort("unit")
    got = {u: (k, lo, hi) for u, k, lo, hi in r.select("unit", "rank", "rank_low", "rank_high").iter_rows()}
    assert got["big_high"] == (1, 1, 2)  # clearly above big_low; tiny's interval overlaps it
    assert got["big_low"] == (3, 2, 3)
    assert got["tiny"][1:] == (1, 3)  # three requests: could be anywhere


def _synthetic_panel(n_agencies=40, effect=0.10, seed=7) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for a in range(n_agencies):
        base = rng.uniform(0.05, 0.3)
        for year in range(2015, 2024):
            if year == 2019:
                continue
            n = rng.randint(80, 200)
            p = min(0.95, base + (effect if year >= 2020 else 0.0) + rng.gauss(0, 0.01))
            k = sum(rng.random() < p for _ in range(n))
            rows.append({"report_id": f"a{a}-{year}", "agency_id": f"a{a}", "agency": f"机关{a}", "province": "山东省", "city": "淄博市", "county": f"县{a % 5}",
                         "year": year, "withheld": k, "denominator_value": n, "handled": n, "received": n})
    df = pl.DataFrame(rows).with_columns((pl.col("withheld") / pl.col("denominator_value")).alias("rejection_rate_strict"))
    return df


def test_fixed_effects_recovers_a_known_effect():
    panel = analysis.assign_period(_synthetic_panel(), 2018, 2020, "exclude")
    fe = analysis.fe_model(panel, "rejection_rate_strict").row(0, named=True)
    assert fe["identifying_agencies"] == 40 and fe["vcov"] == "CRV1 by agency"
    assert fe["estimate"] == pytest.approx(0.10, abs=0.02)
    assert fe["ci_low"] < 0.10 < fe["ci_high"] and fe["ci_high"] - fe["ci_low"] < 0.05
    ev = analysis.event_study(panel, "rejection_rate_strict", window=(-4, 4))
    post = ev.filter(pl.col("rel_year") >= 1)
    assert post["estimate"].mean() == pytest.approx(0.10, abs=0.02)
    pre = ev.filter(pl.col("rel_year") <= -2)
    assert pre["estimate"].abs().max() < 0.03  # no pre-trend in the synthetic data
    assert ev.filter(pl.col("rel_year") == -1)["estimate"].to_list() == [0.0]


def test_within_estimator_equals_the_dummy_regression():
    """The fallback point estimator (within transformation) gives the coefficients of the weighted
    regression with one dummy per agency, without building that rows x agencies matrix."""
    import numpy as np

    rng = random.Random(3)
    rows = [
        {"agency_id": f"a{a}", "y": rng.random(), "x1": float(rng.random() < 0.5), "x2": rng.random(), "w": rng.randint(1, 9)}
        for a in range(30)
        for _ in range(rng.randint(1, 6))
    ]
    d = pl.DataFrame(rows)
    got = analysis._wls_point(d, "y", ["x1", "x2"], "agency_id", "w")
    groups = sorted(set(d["agency_id"]))
    D = np.array([[1.0 if g == r else 0.0 for g in groups] for r in d["agency_id"]])
    X = np.column_stack([d["x1"].to_numpy(), d["x2"].to_numpy(), D])
    sw = np.sqrt(d["w"].to_numpy().astype(float))
    beta = np.linalg.lstsq(X * sw[:, None], d["y"].to_numpy() * sw, rcond=None)[0]
    assert got["x1"] == pytest.approx(beta[0], abs=1e-9) and got["x2"] == pytest.approx(beta[1], abs=1e-9)


def test_pooled_rates_agree_with_the_panel_pooling(seeds_dataset):
    panel = analysis.assign_period(metrics.build_panel(seeds_dataset), 2018, 2020, "exclude")
    mine = analysis.period_rates(panel, "rejection_rate_broad").select("period", "numerator", "denominator", "rate")
    theirs = metrics.rates(panel, by="period", metrics=["rejection_rate_broad"]).filter(pl.col("rate").is_not_null())
    joined = mine.join(theirs, on="period", suffix="_panel")
    assert joined.height == mine.height > 0
    for r in joined.iter_rows(named=True):
        assert r["numerator"] == r["numerator_panel"] and r["denominator"] == r["denominator_panel"]
        assert math.isclose(r["rate"], r["rate_panel"])


def test_caveats_of_the_bundled_corpus_name_the_one_office(seeds_dataset, real_dataset):
    tables = {k: pl.concat([seeds_dataset[k], real_dataset[k]], how="vertical_relaxed") for k in seeds_dataset}
    panel = analysis.assign_period(metrics.build_panel(tables), 2018, 2020, "exclude")
    c = analysis.caveats(panel, "rejection_rate_strict")
    assert c.agencies_both == 1 and c.both_names == ["临淄区人民政府办公室"]
    assert "Only one agency (临淄区人民政府办公室)" in c.text()
    fe = analysis.fe_model(panel, "rejection_rate_strict").row(0, named=True)
    assert fe["identifying_agencies"] == 1 and fe["ci_low"] is None and "one identifying agency" in fe["note"]


def test_select_fails_loudly_on_an_unknown_region(seeds_dataset):
    panel = metrics.build_panel(seeds_dataset)
    with pytest.raises(analysis.AnalysisError, match="火星市"):
        analysis.select(panel, "火星市")
    assert analysis.select(panel, "淄博市", [2019, 2021])["year"].is_between(2019, 2021).all()
