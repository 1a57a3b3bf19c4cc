"""Agency identity, kind and level: spellings that name the same agency get one agency_id; kinds
and levels of the bundled agencies; division names from the gazetteer."""
from __future__ import annotations

import polars as pl
import pytest

from conftest import load_truth
from foi_research.harmonise import agencies as harmonise, metrics
from foi_research.reference.gazetteer import gazetteer

LINZI_OFFICE = "370305/办公室"


@pytest.mark.parametrize(
    "name",
    [
        "临淄区人民政府办公室",
        "临淄区政府办公室",  # 区政府 = 区人民政府
        "临淄区人民政府办公厅",  # 办公厅 = 办公室
        "临淄区政府办",  # short form
        "淄博市临淄区人民政府办公室",  # city prefix
        "山东省淄博市临淄区人民政府办公室",
        "临 淄 区 人 民 政 府 办 公 室",  # spaced characters
        "临淄区人民政府办公室\u3000",
        "臨淄區人民政府辦公室",  # Traditional script
        "臨淄區政府辦公廳",
        "临淄区人民政府办公室（本级）",  # trailing note
    ],
)
def test_spellings_of_one_agency_get_one_id(name):
    assert harmonise.agency_id(name, "370305") == LINZI_OFFICE
    assert harmonise.agency_kind(name) == "government_office"


def test_normalised_display_name_and_distinct_agencies():
    assert harmonise.normalize_agency("臨淄區政府辦公室") == "临淄区人民政府办公室"
    assert harmonise.normalize_agency("张店区政府") == "张店区人民政府"
    assert harmonise.normalize_agency("淄博经济开发区管委会办公室") == "淄博经济开发区管理委员会办公室"
    # Simplified names are not run through t2s (which would turn 乾县 into 干县)
    assert harmonise.normalize_agency("乾县人民政府") == "乾县人民政府"
    assert harmonise.normalize_agency(None) is None and harmonise.agency_id(None, "370305") is None
    # different agencies stay apart
    ids = {
        harmonise.agency_id("临淄区人民政府", "370305"),
        harmonise.agency_id("临淄区人民政府办公室", "370305"),
        harmonise.agency_id("临淄区工业和信息化局", "370305"),
        harmonise.agency_id("张店区人民政府办公室", "370303"),
    }
    assert len(ids) == 4
    assert harmonise.agency_id("临淄区人民政府", "370305") == harmonise.agency_id("临淄区政府", "370305") == "370305/人民政府"
    # a name that is only its place stands for the place's government
    assert harmonise.agency_id("孝感市", "420900") == harmonise.agency_id("孝感市人民政府（全市汇总）", "420900") == "420900/人民政府"
    assert harmonise.agency_id("唐村镇人民政府", None) == harmonise.agency_id("唐村镇", None) == "unplaced/唐村镇"
    assert harmonise.agency_id("南山区蛇口街道办事处", "440305") == harmonise.agency_id("蛇口街道", "440305")
    # without a division, a generic name gets no id rather than one shared by every place
    for generic in ("政府", "县乡村振兴局", "高新区管委会", "办公室"):
        assert harmonise.agency_id(generic, None) is None, generic
    assert harmonise.agency_id("县乡村振兴局", "510822") == "510822/县乡村振兴局"


@pytest.mark.parametrize(
    "name, kind",
    [
        ("张店区人民政府", "government"),
        ("孝感市人民政府", "government"),
        ("临淄区人民政府办公室", "government_office"),
        ("湖南省人民政府办公厅", "government_office"),
        ("上海市人民政府办公厅", "government_office"),
        ("淄博经济开发区管理委员会办公室", "development_zone"),
        ("西部科学城重庆高新区规划和自然资源局", "development_zone"),
        ("临淄区工业和信息化局", "department"),
        ("北京市东城区人民政府外事办公室", "department"),  # an office of a sector, not the general office
        ("深圳市公安局龙华分局", "department"),
        ("广州市海珠区住房和建设局", "department"),  # 城乡 inside a name is not a township
        ("深圳市龙华区民治街道办事处", "township"),
        ("邹城市唐村镇人民政府", "township"),
        ("唐村镇", "township"),
    ],
)
def test_agency_kinds(name, kind):
    assert harmonise.agency_kind(name) == kind


def test_panel_identity_of_the_bundled_reports(seeds_dataset, real_dataset):
    seeds = metrics.build_panel(seeds_dataset)
    real = metrics.build_panel(real_dataset)
    # the 16 reports of the Linzi office (2008-2023) are one agency; the seeds hold 5 agencies
    linzi = seeds.filter(pl.col("agency_id") == LINZI_OFFICE)
    assert sorted(linzi["year"].to_list()) == list(range(2008, 2024))
    assert seeds["agency_id"].n_unique() == 5
    levels = {r["agency_id"]: (r["agency_kind"], r["admin_level"]) for r in pl.concat([seeds, real]).iter_rows(named=True)}
    assert levels[LINZI_OFFICE] == ("government_office", "county")
    assert levels["370303/人民政府"] == ("government", "county")
    assert levels["430000/办公室"] == ("government_office", "province")  # 湖南省人民政府办公厅
    assert levels["420900/人民政府"] == ("government", "city")  # 孝感市
    assert levels["150300/工业和信息化局"] == ("department", "city")  # 乌海市
    assert levels["440305/蛇口街道"] == ("township", "township")
    # every report whose agency is known has an id, a kind and (if placed) a level
    known = pl.concat([seeds, real]).filter(pl.col("agency").is_not_null())
    assert known["agency_id"].null_count() == 0 and known["agency_kind"].null_count() == 0
    unknown = pl.concat([seeds, real]).filter(pl.col("agency").is_null())
    assert unknown["agency_id"].null_count() == unknown.height


def test_division_names_come_from_the_gazetteer(seeds_dataset, real_dataset):
    g = gazetteer()
    p = pl.concat([metrics.build_panel(seeds_dataset), metrics.build_panel(real_dataset)]).filter(pl.col("division_code").is_not_null())
    assert p.height >= 25
    for r in p.iter_rows(named=True):
        code = r["division_code"]
        assert r["province"] == g.provinces[code[:2]]
        assert r["agency_id"].startswith(code + "/")
        if r["admin_level"] == "county" and code in g.areas:
            assert r["county"] == g.areas[code][0]


def test_identity_agrees_with_the_truth_agency_names(seeds_dataset):
    """The printed agency of every seed report and the annotator's name give the same id."""
    panel = metrics.build_panel(seeds_dataset)
    for t in load_truth("seeds"):
        rid = seeds_dataset["reports"].filter(pl.col("source_file").str.ends_with(t["file"]) & (pl.col("year") == t["year"]))["report_id"].to_list()
        r = panel.filter(pl.col("report_id").is_in(rid)).row(0, named=True)
        assert harmonise.agency_id(t["agency"], r["division_code"]) == r["agency_id"], t["id"]


def test_eras():
    assert [harmonise.era(y) for y in (2008, 2018, 2019, 2020, 2021, 2025, None)] == ["pre2019", "pre2019", "t2019", "t2019", "t2021", "t2021", None]
