"""The harmonised panel on the bundled reports, checked against figures computed by hand from the
documents in data/corpus and the truth JSON in tests/fixtures/truth (never copied from output).

Hand computations (table 3 三(七) 总计 is `handled`; D = handled unless said otherwise):
- 张店区人民政府 2020 (seed 003): 131 handled = 57 granted + 13 + 10 withheld + 3 + 5 cannot
  provide + 43 other; new requests 108 natural persons + 15 commercial + 8 research; table 4
  reconsideration total printed 9 (the source's parts add up to 18), corrected 4; litigation
  direct 2, after reconsideration 0, corrected 0.
- 临淄区人民政府办公室 2023 (seed 000): 31 handled = 7 + 1 partial + 21 not held + 1 duplicate
  + 1 other (逾期不补正); new 27 (26 natural, 1 commercial), carried over 6, forward 2;
  reconsideration 2 (pending), litigation 3 direct, none corrected.
- same office 2022: 15 = 1 + 1 + (1 third party + 1 internal) + (7 + 1) + 1 duplicate + 2 other.
- same office 2018, statistics table: 收到 48, 答复 48; 已主动公开 1 + 同意 2, 不属于本机关 42,
  不存在 2, 其他途径 40 (overlapping: 1+2+42+2 = 47 without it, 87 with it, neither is 48).
- same office 2017: 答复 21 = 不属于本机关 20 + 不存在 1 (其他途径 20 overlaps); 复议 4, 纠错 1;
  诉讼 4, 纠错 0.
- same office 2016: 答复 28 but the categories add up to 3+3+2+2 = 10 (inconsistent source).
- 平阴县人民政府办公室 2021 (seed 004): 3 = 1 partial + 1 not held + 1 (六)3 其他; the derived
  (六) total (1) must not be counted again.
- 临淄区工业和信息化局 2021 (seed 002): every cell 0.
"""
from __future__ import annotations


import polars as pl
import pytest

from foi_research.reference import codes
from foi_research.harmonise import metrics
from foi_research.validate import schemas
from foi_research.harmonise.metrics import CrosswalkError

SEED_FILES = {
    "zhangdian": "003_da27b6d9f425ca71.txt",
    "linzi": "000_ed6d48b603b61876.txt",
    "pingyin": "004_c04978ea7ee6ff4b.txt",
    "iit": "002_fd629941e7a907e0.txt",
    "edz": "001_37d8ade0c0ec5d8b.txt",
}


@pytest.fixture(scope="module")
def panel(seeds_dataset):
    return metrics.build_panel(seeds_dataset)


@pytest.fixture(scope="module")
def real_panel(real_dataset):
    return metrics.build_panel(real_dataset)


def row(ds, panel, key, year):
    rid = ds["reports"].filter(pl.col("source_file").str.ends_with(SEED_FILES[key]) & (pl.col("year") == year))["report_id"]
    assert rid.len() == 1, (key, year)
    r = panel.filter(pl.col("report_id") == rid[0])
    assert r.height == 1
    return r.row(0, named=True)


def approx(x):
    return pytest.approx(x, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Panel shape and contract


def test_panel_built_in_chunks_from_lazy_tables_is_the_same_panel(seeds_dataset, panel, real_dataset, real_panel):
    """The build reads the dataset lazily and builds the panel a chunk of reports at a time (bounded
    memory at scale): same rows, same values as the panel built at once from eager tables."""
    for ds, whole in ((seeds_dataset, panel), (real_dataset, real_panel)):
        lazy = {t: df.lazy() for t, df in ds.items()}
        chunked = metrics.build_panel(lazy, chunk_reports=3)
        assert chunked.height == whole.height > 3
        assert chunked.equals(whole)
    q = metrics.quality_rows({t: df.lazy() for t, df in seeds_dataset.items()}, panel)
    assert q.equals(metrics.quality_rows(seeds_dataset, panel)) and q.height > 0


def test_panel_one_row_per_report_with_the_documented_columns(seeds_dataset, panel):
    assert panel.height == seeds_dataset["reports"].height == 20
    assert panel["report_id"].n_unique() == panel.height
    assert panel.columns == [c.name for c in schemas.columns("panel")]
    schemas.validate("panel", panel)  # types, codes, key
    arch = [
        "report_id", "agency_id", "agency", "agency_kind", "admin_level", "province", "city", "county", "division_code",
        "year", "template", "status", "source", "received", "carried_over", "handled", "carried_forward",
        "disclosed_full", "disclosed_part", "withheld", "cannot_provide", "not_processed", "not_this_agency", "other",
        "natural_person_requests", "org_requests", "reconsideration", "reconsideration_corrected", "litigation",
        "litigation_corrected", "disclosure_rate", "rejection_rate_strict", "rejection_rate_broad", "cannot_provide_rate",
        "not_processed_rate", "reconsideration_correction_rate", "litigation_correction_rate", "org_share",
        "crosswalk", "denominator",
    ]  # docs/ARCHITECTURE.md, "The panel"
    assert [c for c in panel.columns if c in arch] == arch
    # deterministic: same input, same frame, sorted by agency_id, year, report_id
    again = metrics.build_panel(seeds_dataset)
    assert again.equals(panel)
    assert panel.select("agency_id", "year", "report_id").equals(panel.select("agency_id", "year", "report_id").sort(pl.all(), nulls_last=True))


def test_metric_definitions_match_the_panel():
    for m in metrics.METRICS:
        assert m.code in codes.V("metrics").codes
        assert (m.code in schemas.polars_schema("panel")) == m.panel
        for c in m.numerator + (m.denominator if isinstance(m.denominator, tuple) else ()):
            assert c in schemas.polars_schema("panel"), (m.code, c)
        assert m.formula().startswith(f"{m.code} = ")
    assert metrics.METRIC_BY_CODE["rejection_rate_broad"].formula() == "rejection_rate_broad = (withheld + cannot_provide + not_processed) / D"
    assert metrics.METRIC_BY_CODE["org_share"].formula() == "org_share = org_requests / (natural_person_requests + org_requests)"


# ---------------------------------------------------------------------------------------------
# Hand-computed reports


def test_zhangdian_2020(seeds_dataset, panel):
    r = row(seeds_dataset, panel, "zhangdian", 2020)
    assert (r["source"], r["appeals_source"], r["template"]) == ("table3", "table4", "2019")
    assert (r["received"], r["carried_over"], r["handled"], r["carried_forward"]) == (131, 0, 131, 0)
    assert (r["disclosed_full"], r["disclosed_part"], r["withheld"], r["cannot_provide"], r["not_processed"], r["other"]) == (57, 0, 23, 8, 0, 43)
    assert r["not_this_agency"] is None  # no such row in the 2019 template
    assert r["classes_total"] == 131
    assert (r["natural_person_requests"], r["org_requests"]) == (108, 23)
    assert (r["reconsideration"], r["reconsideration_corrected"], r["litigation"], r["litigation_corrected"]) == (9, 4, 2, 0)
    assert r["denominator_value"] == 131
    assert r["disclosure_rate"] == approx(57 / 131)
    assert r["full_disclosure_rate"] == approx(57 / 131)
    assert r["rejection_rate_strict"] == approx(23 / 131)
    assert r["rejection_rate_broad"] == approx((23 + 8 + 0) / 131)
    assert r["cannot_provide_rate"] == approx(8 / 131)
    assert r["not_processed_rate"] == 0.0
    assert r["not_this_agency_rate"] is None
    assert r["reconsideration_correction_rate"] == approx(4 / 9)
    assert r["litigation_correction_rate"] == 0.0
    assert r["org_share"] == approx(23 / 131)
    assert (r["agency_kind"], r["admin_level"], r["era"]) == ("government", "county", "t2019")


def test_linzi_office_2023_and_2022(seeds_dataset, panel):
    r = row(seeds_dataset, panel, "linzi", 2023)
    assert (r["received"], r["carried_over"], r["handled"], r["carried_forward"]) == (27, 6, 31, 2)
    assert (r["disclosed_full"], r["disclosed_part"], r["withheld"], r["cannot_provide"], r["not_processed"], r["other"]) == (7, 1, 0, 21, 1, 1)
    assert (r["natural_person_requests"], r["org_requests"]) == (26, 1)
    assert (r["reconsideration"], r["reconsideration_corrected"], r["litigation"], r["litigation_corrected"]) == (2, 0, 3, 0)
    assert r["disclosure_rate"] == approx(8 / 31)
    assert r["rejection_rate_strict"] == 0.0
    assert r["rejection_rate_broad"] == approx(22 / 31)
    assert r["cannot_provide_rate"] == approx(21 / 31)
    assert r["not_processed_rate"] == approx(1 / 31)
    assert r["reconsideration_correction_rate"] == 0.0 and r["litigation_correction_rate"] == 0.0
    assert r["org_share"] == approx(1 / 27)
    assert (r["template"], r["era"], r["agency_kind"]) == ("2021", "t2021", "government_office")

    r = row(seeds_dataset, panel, "linzi", 2022)
    assert (r["disclosed_full"], r["disclosed_part"], r["withheld"], r["cannot_provide"], r["not_processed"], r["other"]) == (1, 1, 2, 8, 1, 2)
    assert (r["handled"], r["received"], r["carried_over"], r["carried_forward"]) == (15, 20, 1, 6)
    assert r["reconsideration"] == 0 and r["reconsideration_correction_rate"] is None  # 0 cases: null, not an error
    assert (r["litigation"], r["litigation_correction_rate"]) == (1, 0.0)


def test_new_plus_carried_denominator(seeds_dataset):
    p = metrics.build_panel(seeds_dataset, denominator="new_plus_carried")
    assert set(p["denominator"].to_list()) == {"new_plus_carried"}
    r = row(seeds_dataset, p, "linzi", 2023)
    assert r["denominator_value"] == 27 + 6
    assert r["disclosure_rate"] == approx(8 / 33)
    assert r["rejection_rate_broad"] == approx(22 / 33)
    r = row(seeds_dataset, p, "linzi", 2018)  # no carry-over before 2019: received alone
    assert r["denominator_value"] == 48 and r["disclosure_rate"] == approx(3 / 48)
    r = row(seeds_dataset, p, "zhangdian", 2020)
    assert r["denominator_value"] == 131
    with pytest.raises(ValueError, match="new_plus_carried"):
        metrics.build_panel(seeds_dataset, denominator="submitted")


def test_received_denominator_is_like_for_like_across_eras(seeds_dataset):
    """`received` is row 一 本年新收 after 2019 and 收到申请数 before: the same quantity in both eras
    (new_plus_carried adds carry-over only after 2019)."""
    p = metrics.build_panel(seeds_dataset, denominator="received")
    r = row(seeds_dataset, p, "linzi", 2023)
    assert r["denominator_value"] == 27 and r["disclosure_rate"] == approx(8 / 27)
    r = row(seeds_dataset, p, "linzi", 2018)
    assert r["denominator_value"] == 48


def test_linzi_2018_legacy_table_with_overlap(seeds_dataset, panel):
    r = row(seeds_dataset, panel, "linzi", 2018)
    assert (r["source"], r["template"], r["era"]) == ("legacy_table", "legacy-stats", "pre2019")
    assert (r["received"], r["handled"], r["carried_over"], r["carried_forward"]) == (48, 48, None, None)
    # already_public 1 + granted 2; 不属于本机关 42; 不存在 2; 其他途径 40 not counted again
    assert (r["disclosed_full"], r["disclosed_part"], r["withheld"], r["cannot_provide"], r["not_this_agency"]) == (3, 0, 0, 2, 42)
    assert r["not_processed"] is None and r["other"] is None  # no such category before 2019
    assert (r["overlap_excluded"], r["classes_total"]) == (40, 47)
    assert r["disclosure_rate"] == approx(3 / 48)
    assert r["rejection_rate_broad"] == approx(2 / 48)  # null not_processed counts as 0 in the sum
    assert r["not_this_agency_rate"] == approx(42 / 48)
    assert r["not_processed_rate"] is None
    assert r["natural_person_requests"] is None and r["org_share"] is None
    assert (r["reconsideration"], r["reconsideration_correction_rate"]) == (0, None)
    assert (r["litigation"], r["litigation_corrected"], r["litigation_correction_rate"]) == (3, 0, 0.0)


def test_linzi_2017_overlap_rule_reconciles(seeds_dataset, panel):
    r = row(seeds_dataset, panel, "linzi", 2017)
    assert (r["handled"], r["not_this_agency"], r["cannot_provide"], r["disclosed_full"]) == (21, 20, 1, 0)
    assert (r["overlap_excluded"], r["classes_total"]) == (20, 21)
    assert r["reconsideration_correction_rate"] == approx(1 / 4)
    assert r["litigation_correction_rate"] == 0.0


def test_overlap_counted_when_it_is_a_separate_answer(seeds_dataset):
    """Where the categories add up to 申请答复数 only WITH 告知通过其他途径办理, it is counted."""
    ds = dict(seeds_dataset)
    rid = ds["reports"].filter(pl.col("source_file").str.ends_with(SEED_FILES["linzi"]) & (pl.col("year") == 2017))["report_id"][0]
    lg = ds["legacy"]
    edit = (pl.col("report_id") == rid) & (pl.col("printed_in") == "statistics_table")
    # a variant of the 2017 table where 不属于本行政机关 excludes the referrals: 0 + 1 + 20 = 21
    ds["legacy"] = lg.with_columns(pl.when(edit & (pl.col("indicator") == "not_this_agency")).then(0).otherwise(pl.col("value")).alias("value"))
    r = metrics.build_panel(ds).filter(pl.col("report_id") == rid).row(0, named=True)
    assert (r["not_this_agency"], r["overlap_excluded"], r["classes_total"]) == (20, 0, 21)


def test_pingyin_derived_other_total_not_double_counted(seeds_dataset, panel):
    assert seeds_dataset["requests"].filter(pl.col("derived") & pl.col("report_id").str.starts_with("004_")).height > 0
    r = row(seeds_dataset, panel, "pingyin", 2021)
    assert (r["handled"], r["disclosed_part"], r["cannot_provide"], r["other"], r["classes_total"]) == (3, 1, 1, 1, 3)
    assert r["rejection_rate_broad"] == approx(1 / 3)


def test_all_zero_report_gives_null_rates(seeds_dataset, panel):
    r = row(seeds_dataset, panel, "iit", 2021)
    assert (r["received"], r["handled"], r["classes_total"], r["reconsideration"], r["litigation"]) == (0, 0, 0, 0, 0)
    for m in metrics.PANEL_METRICS:
        assert r[m] is None, m


def test_narrative_and_missing_reports(seeds_dataset, panel):
    r = row(seeds_dataset, panel, "linzi", 2008)  # prose: no request received
    assert (r["source"], r["received"], r["handled"], r["disclosed_full"]) == ("narrative", 0, None, None)
    assert (r["appeals_source"], r["reconsideration"], r["litigation"]) == ("narrative", 0, 0)
    assert all(r[m] is None for m in metrics.PANEL_METRICS)
    r = row(seeds_dataset, panel, "linzi", 2012)  # prose: 受理…申请3项
    assert (r["source"], r["received"]) == ("narrative", 3)
    r = row(seeds_dataset, panel, "linzi", 2019)  # body missing
    assert (r["source"], r["appeals_source"], r["received"], r["status"]) == ("none", "none", None, "no_tables")
    r = row(seeds_dataset, panel, "edz", 2019)  # table 4 reconsideration cells blank
    assert (r["reconsideration"], r["litigation"], r["disclosure_rate"]) == (None, 0, 1.0)


def test_shanghai_blank_row_totals_use_the_applicant_cells(real_dataset, real_panel):
    """shanghai-govoffice-2019: 总计 blank in every outcome row; parts: 予以公开 272, 部分公开 3,
    不予公开 35, 无法提供 265+47+25 = 337, 不予处理 158 (truth notes); 805 handled."""
    r = real_panel.filter(pl.col("report_id").str.starts_with("shanghai-govoffice-2019")).row(0, named=True)
    assert (r["disclosed_full"], r["disclosed_part"], r["withheld"], r["cannot_provide"], r["not_processed"]) == (272, 3, 35, 337, 158)
    assert r["handled"] == r["classes_total"] == 805
    assert (r["received"], r["carried_over"], r["carried_forward"]) == (859, 18, 72)


# ---------------------------------------------------------------------------------------------
# Crosswalks


def test_crosswalk_totals_match_source_totals_for_every_bundled_report(seeds_dataset, real_dataset):
    """For every bundled report whose table is complete, the harmonised classes add up to the
    source total; where they cannot (inconsistent source), the report has a quality warning."""
    checked, mismatched = 0, set()
    for ds in (seeds_dataset, real_dataset):
        for name in metrics.crosswalk_names():
            p = metrics.build_panel(ds, crosswalk=name)
            q = pl.concat([ds["quality"], metrics.quality_rows(ds, p)])
            full = p.filter(pl.col("source").is_in(["table3", "legacy_table"]) & (pl.col("status") == "ok"))
            for r in full.iter_rows(named=True):
                checked += 1
                assert r["handled"] is not None and r["classes_total"] is not None, r["report_id"]
                if r["classes_total"] != r["handled"]:
                    mismatched.add((r["report_id"], r["year"]))
                    w = q.filter((pl.col("report_id") == r["report_id"]) & (pl.col("check") == "crosswalk_total") & (pl.col("severity") == "warning"))
                    assert w.height == 1 and str(r["handled"]) in w["message"][0], r["report_id"]
                    # the parser flagged the source itself too
                    assert q.filter((pl.col("report_id") == r["report_id"]) & (pl.col("check") == "legacy_sum_answered")).height == 1
    assert checked == len(metrics.crosswalk_names()) * 13  # 13 complete tables (see the next test), every shipped crosswalk
    # Linzi 2016 (10 of 28) and 2018 (47 of 48) are the only inconsistent sources
    assert {y for _, y in mismatched} == {2016, 2018}


def test_crosswalk_checked_report_count(seeds_dataset, real_dataset):
    p = pl.concat([metrics.build_panel(seeds_dataset), metrics.build_panel(real_dataset)])
    full = p.filter(pl.col("source").is_in(["table3", "legacy_table"]) & (pl.col("status") == "ok"))
    # seeds: Linzi 2016-2018 (legacy) + Linzi 2020-2023, Zhangdian, Zibo EDZ, IIT, Pingyin; real: Shanghai 2019, Huai'an 2024
    assert sorted(full["source"].to_list()) == ["legacy_table"] * 3 + ["table3"] * 10


def test_crosswalks_shipped_and_documented():
    names = metrics.crosswalk_names()
    assert names[0] == "default"
    assert sorted(names) == sorted(codes.V("crosswalks").codes)
    for n in names:
        cw = metrics.load_crosswalk(n)
        assert cw.description and cw.table.height > 0
        assert cw.table["rationale"].str.len_chars().min() > 10
        for scheme in metrics.SCHEMES:
            required, _ = metrics.scheme_rows(scheme)
            assert set(required) <= set(cw.mapping(scheme)), (n, scheme)
    d = metrics.load_crosswalk("default")
    assert d.mapping("legacy")["denied_privacy"] == "not_counted"
    assert d.mapping("2021")["other_total"] == "not_counted" and d.mapping("2019")["other_total"] == "other"
    assert d.table.filter(pl.col("overlap_with").is_not_null())["code"].to_list() == ["told_other_channel"]


def test_sensitivity_crosswalks_move_not_this_agency(seeds_dataset):
    a = metrics.build_panel(seeds_dataset, crosswalk="nta_as_cannot_provide")
    r = row(seeds_dataset, a, "linzi", 2018)
    assert (r["cannot_provide"], r["not_this_agency"], r["crosswalk"]) == (2 + 42, None, "nta_as_cannot_provide")
    assert r["rejection_rate_broad"] == approx(44 / 48)
    r = row(seeds_dataset, a, "linzi", 2017)  # 其他途径 still not counted twice
    assert (r["cannot_provide"], r["overlap_excluded"], r["classes_total"]) == (21, 20, 21)
    b = metrics.build_panel(seeds_dataset, crosswalk="not_held_as_not_this_agency")
    r = row(seeds_dataset, b, "linzi", 2023)
    assert (r["cannot_provide"], r["not_this_agency"], r["rejection_rate_broad"]) == (0, 21, approx(1 / 31))
    r = row(seeds_dataset, b, "zhangdian", 2020)
    assert (r["cannot_provide"], r["not_this_agency"]) == (5, 3)


def test_user_crosswalk_file(tmp_path, seeds_dataset):
    src = metrics.load_crosswalk("default")
    f = tmp_path / "mine.csv"
    t = src.table.with_columns(
        pl.when((pl.col("scheme") == "legacy") & (pl.col("code") == "already_public")).then(pl.lit("other")).otherwise(pl.col("outcome_class")).alias("outcome_class")
    )
    t.write_csv(f, include_bom=True)  # Excel-style UTF-8 with BOM is accepted
    p = metrics.build_panel(seeds_dataset, crosswalk=f)
    r = row(seeds_dataset, p, "linzi", 2018)
    assert (r["disclosed_full"], r["other"], r["crosswalk"]) == (2, 1, str(f))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.filter(pl.col("code") != "not_exist"), "scheme legacy: no mapping for not_exist"),
        (lambda t: t.with_columns(pl.when(pl.col("code") == "granted").then(pl.lit("released")).otherwise(pl.col("outcome_class")).alias("outcome_class")), "line 2: outcome_class 'released'"),
        (lambda t: pl.concat([t, t.head(1)]), "mapped twice"),
        (lambda t: t.with_columns(pl.when(pl.col("code") == "granted").then(pl.lit("")).otherwise(pl.col("rationale")).alias("rationale")), "the rationale is empty"),
        (lambda t: t.with_columns(pl.when(pl.col("code") == "granted").then(pl.lit("approved")).otherwise(pl.col("code")).alias("code")), "'approved' is not a source row of scheme 2019"),
        (lambda t: t.drop("overlap_with"), "missing column(s) overlap_with"),
    ],
)
def test_bad_crosswalk_files_are_refused_with_file_and_line(tmp_path, edit, message):
    f = tmp_path / "bad.csv"
    edit(metrics.load_crosswalk("default").table).write_csv(f)
    with pytest.raises(CrosswalkError) as e:
        metrics.load_crosswalk(f)
    assert str(f) in str(e.value) and message in str(e.value)


def test_unknown_crosswalk_name_lists_the_shipped_ones():
    with pytest.raises(CrosswalkError, match="default, core_exemptions, ngi_as_not_processed, not_held_as_not_this_agency, nta_as_cannot_provide"):
        metrics.load_crosswalk("nonexistent")


# ---------------------------------------------------------------------------------------------
# Rates


def test_zero_and_unknown_denominators_give_null():
    df = pl.DataFrame(
        {"source": ["table3"] * 4, "handled": [0, None, 4, 2], "received": [0, 1, 4, 2], "carried_over": [0, None, 0, 0]},
        schema_overrides={"handled": pl.Int64, "received": pl.Int64, "carried_over": pl.Int64},
    )
    for c in [c.name for c in schemas.columns("panel") if c.dtype == pl.Int64 and c.name not in df.columns]:
        df = df.with_columns(pl.lit(None, pl.Int64).alias(c))
    df = df.with_columns(disclosed_full=pl.Series([0, 1, 3, None]), withheld=pl.Series([0, 0, 1, None]), reconsideration=pl.Series([0, 0, 2, None]), reconsideration_corrected=pl.Series([0, 0, 3, None]))
    out = metrics.add_rates(df, "handled")
    assert out["disclosure_rate"].to_list() == [None, None, 0.75, None]
    assert out["rejection_rate_broad"].to_list() == [None, None, 0.25, None]
    assert out["reconsideration_correction_rate"].to_list() == [None, None, 1.5, None]  # as printed, flagged elsewhere
    assert out["org_share"].to_list() == [None] * 4
    for m in metrics.PANEL_METRICS:
        assert out[m].dtype == pl.Float64 and not out[m].is_infinite().any() and not out[m].is_nan().any()


def test_grouped_rates_pool_counts(seeds_dataset, panel):
    linzi = panel.filter(pl.col("agency_id") == "370305/办公室")
    assert linzi.height == 16  # one agency across 2008-2023
    g = metrics.rates(linzi, by="era", metrics=["disclosure_rate", "requests_per_year", "rejection_rate_strict"])
    assert g.columns == ["era", "metric", "numerator", "denominator", "reports", "rate"]
    assert g["era"].to_list() == ["pre2019"] * 3 + ["t2019"] * 3 + ["t2021"] * 3  # sorted
    d = {(r["era"], r["metric"]): r for r in g.iter_rows(named=True)}
    # 2021-2023: (4+0) + (1+1) + (7+1) disclosed of 21 + 15 + 31 handled
    assert (d["t2021", "disclosure_rate"]["numerator"], d["t2021", "disclosure_rate"]["denominator"]) == (14, 67)
    assert d["t2021", "disclosure_rate"]["rate"] == approx(14 / 67)
    assert d["t2021", "requests_per_year"]["rate"] == approx((20 + 20 + 27) / 3)
    # 2016-2018 tables: (3+3) + 0 + (1+2) of 28 + 21 + 48; prose-only years have no numerator
    assert d["pre2019", "disclosure_rate"]["rate"] == approx(9 / 97) and d["pre2019", "disclosure_rate"]["reports"] == 3
    # received known 2008-2013 (0,0,0,0,3,1) and 2016-2018 (28,21,48)
    assert d["pre2019", "requests_per_year"]["numerator"] == 101 and d["pre2019", "requests_per_year"]["reports"] == 9
    assert d["t2019", "disclosure_rate"]["rate"] == approx((1 + 3) / 25)
    overall = metrics.rates(panel, metrics=["disclosure_rate"])
    assert overall.height == 1 and overall["reports"][0] == panel.filter(pl.col("disclosure_rate").is_not_null()).height
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.rates(panel, metrics=["nope"])


# ---------------------------------------------------------------------------------------------
# Cross-year checks


def test_crossyear_checks_on_the_linzi_office_reports(seeds_dataset, panel):
    """By hand from the document: 2020 carries forward 2 (1 natural + 1 commercial), 2021 carries
    over 2 (1 + 1) and forward 1; 2022 over 1, forward 6; 2023 over 6. The 2019 report has no
    body, so 2020's carry-over (8) cannot be checked. In force (行政规范性文件): 2021 22;
    2022 22 + 2 - 4 = 20; 2023 20 + 0 - 4 = 16; 规章 0 throughout."""
    c = metrics.crossyear_checks(seeds_dataset, panel)
    carry = c.filter((pl.col("check") == "crossyear_carry") & (pl.col("item") == "total"))
    assert carry.select("year", "expected", "observed").rows() == [(2021, 2, 2), (2022, 1, 1), (2023, 6, 6)]
    assert c.filter(pl.col("check") == "crossyear_carry").height == 3 * 7  # every applicant column
    nat = c.filter((pl.col("check") == "crossyear_carry") & (pl.col("item").is_in(["natural_person", "commercial"])) & (pl.col("year") == 2021))
    assert nat.select("item", "expected").sort("item").rows() == [("commercial", 1), ("natural_person", 1)]
    inf = c.filter(pl.col("check") == "crossyear_in_force").select("year", "item", "expected", "observed").sort("year", "item")
    assert inf.rows() == [(2022, "normative_docs", 20, 20), (2022, "regulations", 0, 0), (2023, "normative_docs", 16, 16), (2023, "regulations", 0, 0)]
    assert c["holds"].all()
    q = metrics.quality_rows(seeds_dataset, panel)
    assert q.filter(pl.col("check").str.starts_with("crossyear")).height == 0


def test_crossyear_mismatch_becomes_a_quality_warning(seeds_dataset, panel):
    ds = dict(seeds_dataset)
    r22 = row(seeds_dataset, panel, "linzi", 2022)["report_id"]
    r23 = row(seeds_dataset, panel, "linzi", 2023)["report_id"]
    ds["requests"] = ds["requests"].with_columns(
        pl.when((pl.col("report_id") == r23) & (pl.col("row_code") == "carried_over") & (pl.col("applicant") == "total")).then(5).otherwise(pl.col("value")).alias("value")
    )
    ds["proactive"] = ds["proactive"].with_columns(
        pl.when((pl.col("report_id") == r22) & (pl.col("item") == "normative_docs") & (pl.col("measure") == "in_force")).then(21.0).otherwise(pl.col("value")).alias("value")
    )
    p = metrics.build_panel(ds)
    q = metrics.quality_rows(ds, p).filter(pl.col("check").str.starts_with("crossyear"))
    schemas.validate("quality", q)
    got = sorted(q.select("report_id", "check", "severity", "applicant", "item").rows(), key=str)
    assert got == sorted(
        [
            (r23, "crossyear_carry", "warning", "total", None),  # forward 6 in 2022, over 5 in 2023
            (r22, "crossyear_in_force", "warning", None, "normative_docs"),  # 22 + 2 - 4 = 20, printed 21
            (r23, "crossyear_in_force", "warning", None, "normative_docs"),  # 21 + 0 - 4 = 17, printed 16
        ],
        key=str,
    )
    msg = q.filter(pl.col("check") == "crossyear_carry")["message"][0]
    assert "5" in msg and "6" in msg and r22 in msg


def test_read_panel_error_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="foi-research build"):
        metrics.read_panel(tmp_path)


# ---------------------------------------------------------------------------------------------
# Parent minus child (`within`) and rates outside 0-1, on small tables built by hand


def _tiny_dataset():
    """Four reports of one agency, written as the parser writes them:
    A 2017 statistics table: 答复 10 = 同意 5 + 不同意 4 (of which 不是《条例》所指政府信息 3) + 不存在 1.
    B 2018 statistics table: 答复 5 = 同意 1 + 不同意 1 + 不存在 3, but 不是政府信息 printed as 3 (> 不同意 1).
    C 2020 table 3 (2019 template): 3 handled = 1 state secret + 2 internal affairs.
    D 2016 statistics table: 答复 2, 不同意 5 (parts exceed the total: strict rate 2.5)."""
    def rep(rid, year, template):
        return {"report_id": rid, "source_file": "x.txt", "source_line": 1, "agency": "某县人民政府办公室", "year": year, "template": template, "status": "ok"}

    def leg(rid, ind, v):
        return {"report_id": rid, "indicator": ind, "value": v, "origin": "table", "printed_in": "statistics_table", "raw": str(v), "line": 1}

    def t3(rid, code, v):
        return {"report_id": rid, "row_code": code, "applicant": "total", "value": v, "raw": str(v), "line": 1}

    reports = schemas.frame("reports", [rep("A", 2017, "legacy-stats"), rep("B", 2018, "legacy-stats"), rep("C", 2020, "2019"), rep("D", 2016, "legacy-stats")])
    legacy = schemas.frame(
        "legacy",
        [leg("A", "received", 10), leg("A", "answered", 10), leg("A", "granted", 5), leg("A", "denied", 4), leg("A", "denied_not_government_info", 3), leg("A", "not_exist", 1),
         leg("B", "received", 5), leg("B", "answered", 5), leg("B", "granted", 1), leg("B", "denied", 1), leg("B", "denied_not_government_info", 3), leg("B", "not_exist", 3),
         leg("D", "received", 2), leg("D", "answered", 2), leg("D", "denied", 5)],
    )
    requests = schemas.frame("requests", [t3("C", "new_received", 3), t3("C", "total_handled", 3), t3("C", "withheld_state_secret", 1), t3("C", "withheld_internal_affairs", 2)])
    return {"reports": reports, "legacy": legacy, "requests": requests, "appeals": schemas.frame("appeals", []), "proactive": schemas.frame("proactive", []), "quality": schemas.frame("quality", [])}


def test_parent_minus_child_moves_the_strict_rate_and_not_the_broad_one():
    ds = _tiny_dataset()
    by = {}
    for cw in ("default", "ngi_as_not_processed", "core_exemptions"):
        p = metrics.build_panel(ds, crosswalk=cw)
        by[cw] = {r["report_id"]: r for r in p.iter_rows(named=True)}
    a = {cw: by[cw]["A"] for cw in by}
    assert a["default"]["withheld"] == 4 and a["default"]["not_processed"] is None
    assert a["default"]["not_government_info"] == 3  # the exposure measure, whatever the crosswalk
    assert a["ngi_as_not_processed"]["withheld"] == 4 - 3 and a["ngi_as_not_processed"]["not_processed"] == 3
    assert a["default"]["rejection_rate_strict"] == approx(0.4) and a["ngi_as_not_processed"]["rejection_rate_strict"] == approx(0.1)
    for cw in by:  # moved within the broad rate, and nothing counted twice
        assert a[cw]["rejection_rate_broad"] == approx(0.5) and a[cw]["classes_total"] == 10
    # from 2019 the new exemptions leave withheld only under core_exemptions
    c = {cw: by[cw]["C"] for cw in by}
    assert c["default"]["withheld"] == 3 and c["ngi_as_not_processed"]["withheld"] == 3
    assert c["core_exemptions"]["withheld"] == 1 and c["core_exemptions"]["not_processed"] == 2


def test_child_larger_than_parent_is_not_moved_and_is_flagged():
    ds = _tiny_dataset()
    p = metrics.build_panel(ds, crosswalk="ngi_as_not_processed")
    b = p.filter(pl.col("report_id") == "B").row(0, named=True)
    assert b["withheld"] == 1 and b["not_processed"] is None  # as printed: nothing moved
    assert b["within_not_moved"] == 3
    q = metrics.quality_rows(ds, p)
    w = q.filter((pl.col("report_id") == "B") & (pl.col("check") == "crosswalk_within"))
    assert w.height == 1 and w["severity"][0] == "warning" and "ngi_as_not_processed" in w["message"][0]
    assert "denied_not_government_info inside denied" in w["message"][0]
    assert p.filter(pl.col("report_id") == "A")["within_not_moved"][0] is None


def test_rate_above_one_is_kept_and_flagged():
    ds = _tiny_dataset()
    p = metrics.build_panel(ds)
    d = p.filter(pl.col("report_id") == "D").row(0, named=True)
    assert d["rejection_rate_strict"] == approx(2.5)  # kept as printed
    probs = metrics.rate_problems(p)
    assert ("D", "rejection_rate_strict", "rate_above_one") in set(probs.select("report_id", "metric", "problem").iter_rows())
    q = metrics.quality_rows(ds, p).filter(pl.col("check") == "rate_out_of_range")
    assert q["report_id"].to_list() == ["D"] and "rejection_rate_strict = 5 / 2" in q["message"][0]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("legacy,denied_not_government_info,not_counted,,", "legacy,denied_not_government_info,not_counted,,").replace("(counted there).\n", "(counted there).,denied\n", 1), "not counted stays inside its parent"),
        (lambda t: t.replace("legacy,not_exist,cannot_provide,,申请信息不存在: the information does not exist; the 2019 templates call this 无法提供.", "legacy,not_exist,cannot_provide,,申请信息不存在: the information does not exist; the 2019 templates call this 无法提供.,denied_privacy"), "which is not counted"),
    ],
)
def test_bad_within_rows_are_refused(tmp_path, edit, message):
    text = (metrics._crosswalk_dir() / "default.csv").read_text(encoding="utf-8").replace("rationale\n", "rationale,within\n", 1)
    f = tmp_path / "cw.csv"
    f.write_text(edit(text), encoding="utf-8")
    with pytest.raises(CrosswalkError) as e:
        metrics.load_crosswalk(f)
    assert message in str(e.value)
