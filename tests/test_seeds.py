"""The bundled seeds, parsed through the public API, compared cell for cell with the hand-checked
ground truth in tests/fixtures/truth/seeds; and every inconsistency the truth documents in the
sources has its row in `quality`."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from conftest import load_truth
from foi_research.validate.evaluate import score

TRUTH = load_truth("seeds")


def _report(ds, tid):
    t = next(x for x in TRUTH if x["id"] == tid)
    r = ds["reports"].filter(pl.col("source_file").str.ends_with(t["file"]) & (pl.col("year") == t["year"]))
    assert r.height == 1, f"{tid}: expected one report, found {r.height}"
    return r.row(0, named=True)


def _quality(ds, rid):
    return ds["quality"].filter(pl.col("report_id") == rid)


def test_every_seed_report_is_found_once(seeds_dataset):
    card = score(TRUTH, seeds_dataset)
    assert card.counts["found"] == len(TRUTH) == 20
    # 16 reports in the Linzi listing (the guide before them is not a report) + 4 single reports
    assert seeds_dataset["reports"].height == 20


@pytest.mark.parametrize("truth", TRUTH, ids=[t["id"] for t in TRUTH])
def test_seed_report_matches_truth_cell_for_cell(seeds_dataset, truth):
    card = score([truth], seeds_dataset)
    rs = card.reports[0]
    assert not rs.problems, f"{truth['id']}: " + "; ".join(rs.problems)
    assert not rs.missing, f"{truth['id']}: " + "; ".join(rs.missing)
    c = card.counts
    # the comparison really ran over the expected cells
    assert c["t3"] == sum(len(v) for v in (truth.get("t3") or {}).values())
    assert c["t4"] == 5 * len(truth.get("t4") or {})


def test_seed_scores(seeds_dataset):
    card = score(TRUTH, seeds_dataset)
    assert card.counts["t3"] == 1358 and card.acc("t3") == 1.0
    assert card.counts["t4"] == 120 and card.acc("t4") == 1.0
    assert card.acc("lg") == 1.0 and card.counts["lg"] > 0
    assert card.counts["year_ok"] == 20 and card.counts["agency_ok"] == card.counts["agency_n"] == 20
    assert card.counts["wrong"] == 0 and card.silent == 0


def test_published_dates_and_placement(seeds_dataset):
    for t in TRUTH:
        r = _report(seeds_dataset, t["id"])
        assert (r["province"], r["city"]) == (t["province"], t["city"]), t["id"]
        if t["county"]:
            assert r["county"] == t["county"], t["id"]
        pub = t.get("published")
        if pub and len(pub) == 10:
            assert r["published"] == dt.date.fromisoformat(pub), t["id"]
        elif pub:  # month only, e.g. the signature 2021年2月
            assert r["published"] is None and r["published_raw"] == "2021年2月"
        assert r["template"] == t["template"], t["id"]
    assert _report(seeds_dataset, "linzi-govoffice-2023")["division_code"] == "370305"


def test_reports_without_body_are_no_tables(seeds_dataset):
    for tid in ("linzi-govoffice-2019", "linzi-govoffice-2015", "linzi-govoffice-2014"):
        r = _report(seeds_dataset, tid)
        assert r["status"] == "no_tables"
        q = _quality(seeds_dataset, r["report_id"])
        assert "body_missing" in q["check"].to_list()
        assert seeds_dataset["requests"].filter(pl.col("report_id") == r["report_id"]).height == 0


def test_complete_reports_are_ok(seeds_dataset):
    for t in TRUTH:
        r = _report(seeds_dataset, t["id"])
        comp = t["complete"]
        if comp.get("t3") and comp.get("t4") and comp.get("t2"):
            assert r["status"] == "ok", t["id"]


def test_zhangdian_reconsideration_total_is_flagged_and_kept(seeds_dataset):
    r = _report(seeds_dataset, "zhangdian-gov-2020")
    q = _quality(seeds_dataset, r["report_id"]).filter(pl.col("check") == "t4_total")
    assert q.height == 1
    assert q["proceeding"][0] == "reconsideration"
    assert "9" in q["message"][0] and "18" in q["message"][0]
    # the printed value is kept as printed
    a = seeds_dataset["appeals"].filter((pl.col("report_id") == r["report_id"]) & (pl.col("proceeding") == "reconsideration"))
    vals = dict(zip(a["outcome"], a["value"]))
    assert vals == {"upheld": 14, "corrected": 4, "other": 0, "pending": 0, "total": 9}


@pytest.mark.parametrize("tid", ["linzi-govoffice-2016", "linzi-govoffice-2017", "linzi-govoffice-2018"])
def test_legacy_sub_items_that_do_not_add_up_are_flagged(seeds_dataset, tid):
    r = _report(seeds_dataset, tid)
    q = _quality(seeds_dataset, r["report_id"])
    ans = q.filter(pl.col("check") == "legacy_sum_answered")
    assert ans.height == 1 and ans["severity"][0] == "warning"
    if tid != "linzi-govoffice-2016":
        # the overlap of 告知通过其他途径办理 inside 不属于本行政机关
        t = next(x for x in TRUTH if x["id"] == tid)
        assert "told_other_channel" in t["source_inconsistencies"][0]


def test_linzi_2016_narrative_contradicting_its_table_is_flagged(seeds_dataset):
    r = _report(seeds_dataset, "linzi-govoffice-2016")
    q = _quality(seeds_dataset, r["report_id"]).filter(pl.col("check") == "narrative_vs_table")
    assert sorted(q["indicator"].to_list()) == ["granted", "not_this_agency"]
    msgs = " ".join(q["message"].to_list())
    assert "9" in msgs and "17" in msgs
    # the unrelated 35 in-person requests of a subordinate unit (区志办) are not mistaken for the office's
    lg = seeds_dataset["legacy"].filter((pl.col("report_id") == r["report_id"]) & (pl.col("printed_in") == "prose"))
    assert dict(zip(lg["indicator"], lg["value"]))["received_in_person"] == 1


def test_linzi_2018_narrative_granted_is_flagged(seeds_dataset):
    r = _report(seeds_dataset, "linzi-govoffice-2018")
    q = _quality(seeds_dataset, r["report_id"]).filter(pl.col("check") == "narrative_vs_table")
    assert q["indicator"].to_list() == ["granted"]


def test_consistent_reports_carry_no_warnings(seeds_dataset):
    """No false alarms: reports whose sources the truth calls consistent get no identity warnings."""
    for t in TRUTH:
        if t["source_inconsistencies"]:
            continue
        r = _report(seeds_dataset, t["id"])
        q = _quality(seeds_dataset, r["report_id"]).filter(pl.col("severity") == "warning")
        bad = q.filter(~pl.col("check").is_in(["body_missing", "tables_missing"]))
        assert bad.height == 0, f"{t['id']}: {bad['message'].to_list()}"


def test_every_value_is_traceable_to_its_line(seeds_dataset):
    req = seeds_dataset["requests"].filter(~pl.col("derived"))
    assert req["line"].null_count() == 0 and req["raw"].null_count() == 0
    src = (pl.read_parquet if False else None)
    from conftest import DATA

    lines = (DATA / "seeds" / "003_da27b6d9f425ca71.txt").read_text(encoding="utf-8").split("\n")
    z = _report(seeds_dataset, "zhangdian-gov-2020")
    for row in req.filter(pl.col("report_id") == z["report_id"]).iter_rows(named=True):
        assert row["raw"] in lines[row["line"] - 1], row
    assert lines[z["source_line"] - 1].strip() in ("张店区人民政府", "2020年政府信息公开工作年度报告")


def test_values_with_signs_and_units(seeds_dataset):
    z = _report(seeds_dataset, "zhangdian-gov-2020")
    p = seeds_dataset["proactive"].filter(pl.col("report_id") == z["report_id"])
    got = {(r["item"], r["measure"]): (r["value"], r["unit"], r["raw"]) for r in p.iter_rows(named=True)}
    assert got[("licensing", "change")] == (-309.0, "count", "-309")
    assert got[("enforcement", "change")] == (1.0, "count", "+1")
    assert got[("procurement", "proj_count")] == (182.0, "count", "182个")
    assert got[("procurement", "amount")] == (60516.0, "wan_yuan", "60516万元")
    e = _report(seeds_dataset, "zibo-edz-office-2019")
    p = seeds_dataset["proactive"].filter((pl.col("report_id") == e["report_id"]) & (pl.col("item") == "procurement"))
    assert dict(zip(p["measure"], p["value"])) == {"proj_count": 1.0, "amount": 19.7}
    assert p.filter(pl.col("measure") == "amount")["unit"][0] == "wan_yuan"


def test_table2_matches_truth(seeds_dataset):
    for t in TRUTH:
        if not t.get("t2"):
            continue
        r = _report(seeds_dataset, t["id"])
        p = seeds_dataset["proactive"].filter(pl.col("report_id") == r["report_id"])
        got = {(x["item"], x["measure"]): (x["value"], x["unit"]) for x in p.iter_rows(named=True)}
        for cell in t["t2"]:
            key = (cell["item"], cell["measure"])
            assert key in got, f"{t['id']}: missing {key}"
            v, u = got[key]
            assert (v == cell["value"]) or (cell["value"] is None and v in (None, 0)), f"{t['id']} {key}: {v} != {cell['value']}"
            assert u == cell["unit"], f"{t['id']} {key}: unit {u} != {cell['unit']}"


def test_2021_other_total_is_derived(seeds_dataset):
    r = _report(seeds_dataset, "linzi-govoffice-2023")
    req = seeds_dataset["requests"].filter((pl.col("report_id") == r["report_id"]) & (pl.col("row_code") == "other_total"))
    assert req.height == 7 and req["derived"].all() and req["raw"].null_count() == 7
    assert dict(zip(req["applicant"], req["value"]))["natural_person"] == 1  # 1 + 0 + 0
