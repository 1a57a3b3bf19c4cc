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


def test_designs_recover_a_known_effect_without_common_shocks():
    panel = _synthetic_panel()
    eff = analysis.regulation_effects(panel, designs=("its", "fe_before_after"))
    fe = eff.filter((pl.col("design") == "fe_before_after") & (pl.col("weights") == "requests")).row(0, named=True)
    assert fe["agencies_identifying"] == 40 and fe["inference"].startswith("Clustered by agency (CRV1)")
    assert fe["estimate"] == pytest.approx(0.10, abs=0.02) and fe["ci_low"] < 0.10 < fe["ci_high"]
    lv = eff.filter(pl.col("recommended")).row(0, named=True)
    # one draw with four years before: the extrapolated pre-trend is noisy (coverage is checked by
    # the Monte Carlo of test_designs.py)
    assert (lv["design"], lv["term"]) == ("its", "level_change") and 0.05 < lv["estimate"] < 0.15
    ev = analysis.event_study(analysis.assign_period(panel), "rejection_rate_strict")
    assert ev.filter(pl.col("year") >= 2020)["estimate"].mean() == pytest.approx(0.10, abs=0.02)
    assert ev.filter(pl.col("year") <= 2017)["estimate"].abs().max() < 0.03  # no pre-trend in the synthetic data
    assert ev.filter(pl.col("reference"))["estimate"].to_list() == [0.0]
    assert ev.filter(~pl.col("reference"))["ci_low"].null_count() == 0


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
    eff = analysis.regulation_effects(panel)
    assert not eff["recommended"].any()
    fe = eff.filter(pl.col("design") == "fe_before_after").row(0, named=True)
    assert fe["agencies_identifying"] == 1 and fe["ci_low"] is None and "one identifying agency" in fe["note"]
    assert "1 agency observed before and after (at least 10 needed)" in analysis.effects_summary(eff)[0]


def test_select_fails_loudly_on_an_unknown_region(seeds_dataset):
    panel = metrics.build_panel(seeds_dataset)
    with pytest.raises(analysis.AnalysisError, match="火星市"):
        analysis.select(panel, "火星市")
    assert analysis.select(panel, "淄博市", [2019, 2021])["year"].is_between(2019, 2021).all()


# ---------------------------------------------------------------------------------------------
# Regression tests of the bugs of issue 15


def _two_agencies(rename=True, extra=None):
    rows = []
    for a in range(2):
        for y in (2016, 2017, 2018, 2020, 2021):
            name = f"机关{a}" + ("（原名）" if rename and y < 2019 else "")
            rows.append({"report_id": f"a{a}-{y}", "agency_id": f"a{a}", "agency": name, "province": "山东省", "city": "淄博市", "county": None,
                         "year": y, "withheld": 1 + a + (y > 2019), "denominator_value": 10, "handled": 10, "received": 10, "source": "table3"})
    rows += extra or []
    return pl.DataFrame(rows).with_columns((pl.col("withheld") / pl.col("denominator_value")).alias("rejection_rate_strict"))


def test_an_agency_that_prints_its_name_differently_is_one_agency():
    """agency_periods grouped by (agency_id, printed name): a renamed agency was split in two and
    'not identified'. It is one agency, shown by its latest name, every spelling listed."""
    panel = analysis.assign_period(_two_agencies())
    a = analysis.agency_periods(panel, "rejection_rate_strict")
    assert a.height == 2 and a["has_pre"].all() and a["has_post"].all()
    assert a["agency"].to_list() == ["机关0", "机关1"] and a["names"][0] == "机关0 | 机关0（原名）"
    assert analysis.caveats(panel, "rejection_rate_strict").agencies_both == 2


def test_a_report_without_an_agency_is_not_an_agency():
    extra = [{"report_id": "x", "agency_id": None, "agency": None, "province": "山东省", "city": "淄博市", "county": None, "year": 2020,
              "withheld": 1, "denominator_value": 10, "handled": 10, "received": 10, "source": "table3"}]
    panel = analysis.assign_period(_two_agencies(extra=extra))
    assert analysis.overview(panel)["agencies"][0] == 2
    assert analysis.period_rates(panel, "rejection_rate_strict").filter(pl.col("period") == "period_post")["agencies"][0] == 2
    assert analysis.compare_units(panel, "city", "rejection_rate_strict")["agencies"][0] == 2


@pytest.mark.parametrize("withheld, den, problem", [(15, 10, "rate_above_one"), (-2, 10, "negative_count")])
def test_a_rate_outside_0_1_is_a_finding_not_a_crash(withheld, den, problem):
    """Printed parts above the printed total (rate > 1) or a negative count crashed wilson,
    compare_units, period_rates and event_study with a math-domain error. They are left out with
    a count and listed as findings."""
    extra = [{"report_id": "bad", "agency_id": "a0", "agency": "机关0", "province": "山东省", "city": "淄博市", "county": None, "year": 2022,
              "withheld": withheld, "denominator_value": den, "handled": den, "received": den, "source": "table3"}]
    panel = analysis.assign_period(_two_agencies(extra=extra))
    assert analysis.wilson(15, 10) == (None, None) and analysis.wilson(-1, 10) == (None, None)
    f = analysis.rate_findings(panel, "rejection_rate_strict")
    assert f["report_id"].to_list() == ["bad"] and f["rate_problem"].to_list() == [problem]
    cu = analysis.compare_units(panel, "agency", "rejection_rate_strict")
    assert cu["reports"].sum() == 10  # the bad report is not pooled
    pr = analysis.period_rates(panel, "rejection_rate_strict")
    assert pr.filter(pl.col("period") == "period_post")["reports"][0] == 4
    ev = analysis.event_study(panel, "rejection_rate_strict")
    assert ev.filter(pl.col("year") == 2022).height == 0
    eff = analysis.regulation_effects(panel)
    assert eff.height > 0
    assert analysis.study_frame(panel, "rejection_rate_strict").excluded["out_of_range"] == 1
    assert "1 report(s) left out of every analysis" in analysis.caveats(panel, "rejection_rate_strict").text()


def test_pooled_rate_intervals_treat_agencies_as_the_units():
    """Two agencies with very different rates: the pooled interval reflects the disagreement of
    the agencies (t with 1 degree of freedom), not the thousands of requests behind them, which a
    Wilson interval would take as independent draws."""
    rows = [{"report_id": f"r{a}", "agency_id": f"a{a}", "year": 2020, "period": "period_post", "numerator": k, "denominator": 1000} for a, k in ((0, 100), (1, 300))]
    got = analysis.clustered_rates(pl.DataFrame(rows), ["period"]).row(0, named=True)
    wl, wh = analysis.wilson(400, 2000)
    assert got["rate"] == pytest.approx(0.2) and got["agencies"] == 2
    assert got["ci_high"] - got["ci_low"] > 10 * (wh - wl)
    # by hand: e_g = k_g - 0.2 n_g = -100, +100; var = 2/1 x 20000 / 2000^2; se = 0.1; t(1) = 12.706
    assert got["se"] == pytest.approx(0.1) and got["ci_high"] == 1.0
