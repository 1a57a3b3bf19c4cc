"""Regions and comparison units by GB/T 2260 division code: a region is a code, a name or a path;
a name shared by several divisions is an error listing them; two counties of the same name are two
units; a placement the report's own text contradicts is flagged."""
from __future__ import annotations

import polars as pl
import pytest

from conftest import DATA
from foi_research import synth
from foi_research.build import build_dataset
from foi_research.pipeline import parse_file
from foi_research.present import analysis
from foi_research.reference.gazetteer import RegionError, gazetteer, resolve

SAME_NAME = [("济南市市中区人民政府办公室", 2021, 370103), ("枣庄市市中区人民政府办公室", 2021, 370402), ("济南市市中区人民政府办公室", 2022, 370103)]


@pytest.fixture(scope="module")
def two_counties(tmp_path_factory):
    """A corpus of reports of 济南市市中区 and 枣庄市市中区 (both 市中区, both in Shandong), built."""
    root = tmp_path_factory.mktemp("two-counties")
    corpus = root / "reports"
    corpus.mkdir()
    for i, (agency, year, _) in enumerate(SAME_NAME):
        text, _ = synth.generate(100 + i, template="2021", layout="tab", agency=agency, year=year)
        (corpus / f"r{i}.txt").write_text(text, encoding="utf-8")
    build_dataset([corpus], root / "dataset", workers=1)
    return root / "dataset"


@pytest.mark.parametrize(
    "text, code, path",
    [
        ("370305", "370305", "山东省/淄博市/临淄区"),
        ("3703", "370300", "山东省/淄博市"),
        ("37", "370000", "山东省"),
        ("淄博市", "370300", "山东省/淄博市"),
        ("淄博", "370300", "山东省/淄博市"),  # short form
        ("淮安", "320800", "江苏省/淮安市"),  # short form of 淮安市 (not 淮安区, a county of it)
        ("临淄", "370305", "山东省/淄博市/临淄区"),  # the only name starting so
        ("山东省/济南市/市中区", "370103", "山东省/济南市/市中区"),
        ("枣庄/市中区", "370402", "山东省/枣庄市/市中区"),
        ("济南市市中区", "370103", "山东省/济南市/市中区"),  # a full name without separators
        ("北京市/朝阳区", "110105", "北京市/朝阳区"),
    ],
)
def test_a_region_is_a_code_a_name_or_a_path(text, code, path):
    d = resolve(text)
    assert (d.code, d.path) == (code, path)
    assert resolve(d.code) == d and resolve(d.path) == d  # what a division prints reads back


def test_shared_names_are_errors_that_list_the_candidates_with_codes():
    with pytest.raises(RegionError) as e:
        resolve("市中区")
    msg = str(e.value)
    for code, path in (("370103", "山东省/济南市/市中区"), ("370402", "山东省/枣庄市/市中区"), ("511002", "四川省/内江市/市中区")):
        assert f"{code} {path}" in msg
    assert "Write the code" in msg
    # the gazetteer has 28 county names used more than once; each is refused alone
    from collections import Counter

    shared = [n for n, k in Counter(n for n, _, _ in gazetteer().areas.values()).items() if k > 1]
    assert len(shared) == 28
    for n in shared:
        with pytest.raises(RegionError, match="names [2-9] divisions"):
            resolve(n)
    with pytest.raises(RegionError, match="no division is called '火星市'"):
        resolve("火星市")
    with pytest.raises(RegionError, match="no division has the code 379999"):
        resolve("379999")


def test_two_counties_of_the_same_name_are_two_units(two_counties):
    panel = pl.read_parquet(two_counties / "panel.parquet")
    assert sorted(panel["division_code"].to_list()) == sorted(str(c) for _, _, c in SAME_NAME)
    assert set(panel["county"]) == {"市中区"}  # the printed names are the same
    units = analysis.compare_units(panel, "county", "disclosure_rate")
    assert sorted(zip(units["unit_code"], units["unit"], units["reports"])) == [("370103", "济南市市中区", 2), ("370402", "枣庄市市中区", 1)]
    assert analysis.yearly_by_unit(panel, "county")["unit"].n_unique() == 2
    assert analysis.outcome_mix_by_unit(panel, "county")["unit_code"].unique().sort().to_list() == ["370103", "370402"]
    # agencies are units by agency_id, which holds the division code
    ag = analysis.compare_units(panel, "agency", "disclosure_rate")
    assert sorted(ag["unit_code"]) == ["370103/办公室", "370402/办公室"]
    # selecting by code, path or full name; the bare name is refused with both candidates
    assert analysis.select(panel, "370402").height == 1
    assert analysis.select(panel, "山东省/济南市/市中区").height == 2
    assert analysis.select(panel, "济南市市中区", [2022, 2022])["year"].to_list() == [2022]
    with pytest.raises(analysis.AnalysisError, match="370103 山东省/济南市/市中区; 370402 山东省/枣庄市/市中区"):
        analysis.select(panel, "市中区")
    assert analysis.select(panel, "济南").height == 2 and analysis.select(panel, "山东").height == 3
    with pytest.raises(analysis.AnalysisError, match="no reports for region '淄博市'.*济南市市中区 \\(370103\\)"):
        analysis.select(panel, "淄博市")
    regions = analysis.regions_in(panel, "county")
    assert regions["code"].to_list() == ["370103", "370402"] and regions["reports"].to_list() == [2, 1]


def test_a_placement_the_agency_name_contradicts_is_flagged():
    """An agency name stuffed with spam ('新葡京博彩官网区人民政府北京街道办事处', a 街道 of
    广州市越秀区) is placed in 北京市 by the '北京' of 北京街道: the placement is kept and flagged."""
    p = parse_file(DATA / "dev" / "guangzhou-yuexiu-beijingjie-2020.txt")
    rep = p.reports[0]
    assert rep["province"] == "北京市"
    msgs = [q["message"] for q in p.quality if q["check"] == "place_doubtful"]
    assert any("'北京街道' names a street or town" in m for m in msgs)
    assert any("'新葡京博彩官网区'" in m for m in msgs)
    assert all(q["severity"] == "warning" for q in p.quality if q["check"] == "place_doubtful")
    # a report whose text names places of another province, never its own, is flagged too
    from foi_research.reference.gazetteer import doubts

    g = gazetteer()
    text = "济南市历下区人民政府办公室认真贯彻落实。山东省济南市历下区。"
    assert any("names places in 山东省 5 times" in m for m in doubts("北京市朝阳区人民政府", g.place("北京市朝阳区人民政府"), text))
    # and nothing is flagged on the bundled reports whose placement is right
    for f in ("seeds/000_ed6d48b603b61876.txt", "real/xiaogan-city-2024.txt", "real/shenzhen-longhua-gafj-2024.txt"):
        assert not [q for q in parse_file(DATA / f).quality if q["check"] == "place_doubtful"], f
