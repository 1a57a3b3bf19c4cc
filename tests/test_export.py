"""datapackage.json (validated with the frictionless library, descriptor and CSV data), the
codebook (generated from the single definitions), CSV and Stata exports of a build of the bundled
corpus."""
from __future__ import annotations

import json

import pandas as pd
import polars as pl
import pytest

from conftest import DATA
from foi_research.reference import codes
from foi_research.present import export
from foi_research.harmonise import metrics
from foi_research.validate import schemas
from foi_research.build import build_dataset

TABLES = ["reports", "requests", "appeals", "proactive", "legacy", "quality", "panel"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "dataset"
    build_dataset([DATA], out, csv=True, stata=True, workers=1)
    return out


def _descriptor(built):
    return json.loads((built / "datapackage.json").read_text(encoding="utf-8"))


def test_datapackage_is_a_valid_frictionless_descriptor(built):
    from frictionless import Package

    d = _descriptor(built)
    report = Package.validate_descriptor(d, basepath=str(built))
    assert report.valid, report.flatten(["type", "note"])
    assert d["profile"] == "tabular-data-package"
    assert [r["name"] for r in d["resources"]] == TABLES + [f"{t}-csv" for t in TABLES]
    # the validator does catch a broken descriptor
    bad = json.loads(json.dumps(d))
    bad["resources"][0]["schema"]["fields"][0]["type"] = "text"
    assert not Package.validate_descriptor(bad, basepath=str(built)).valid


def test_csv_data_validates_against_the_datapackage(built):
    """frictionless reads every CSV and checks types, required fields, code lists (enum),
    primary keys and the foreign key to reports."""
    from frictionless import Package, system

    d = _descriptor(built)
    d["resources"] = [r for r in d["resources"] if r["format"] == "csv"]
    with system.use_context(trusted=True):
        report = Package(d, basepath=str(built)).validate()
    assert report.valid, [(t.name, [e.note for e in t.errors][:3]) for t in report.tasks if not t.valid]
    assert [t.stats["rows"] for t in report.tasks] == [pl.read_parquet(built / f"{t}.parquet").height for t in TABLES]


def test_every_field_is_described(built):
    d = _descriptor(built)
    for r in d["resources"]:
        t = r["name"].removesuffix("-csv")
        cols = schemas.columns(t)
        assert [f["name"] for f in r["schema"]["fields"]] == [c.name for c in cols]
        assert [f["name"] for f in r["schema"]["fields"]] == pl.read_parquet_schema(built / f"{t}.parquet").names()
        for f, c in zip(r["schema"]["fields"], cols):
            assert f["description"] == c.description and f["type"] in ("string", "integer", "number", "boolean", "date")
            if c.vocab:
                assert f["constraints"]["enum"] == codes.V(c.vocab).codes
                assert f["categories"][0]["label"] == codes.V(c.vocab).items[0].label
            if c.unit:
                assert f["unit"] == c.unit
        assert r["schema"].get("primaryKey") == schemas.TABLES[t]["key"]  # quality has none
    panel = next(r for r in d["resources"] if r["name"] == "panel")
    assert panel["schema"]["primaryKey"] == ["report_id"]
    assert panel["schema"]["foreignKeys"][0]["reference"] == {"resource": "reports", "fields": ["report_id"]}
    rate = next(f for f in panel["schema"]["fields"] if f["name"] == "disclosure_rate")
    assert rate["type"] == "number" and rate["unit"] == "share (0-1)"
    assert d["foi_research"]["crosswalk"] == "default" and d["foi_research"]["denominator"] == "handled"


def test_codebook_is_generated_from_the_definitions(built):
    text = (built / "codebook.md").read_text(encoding="utf-8")
    for t in TABLES:
        assert f"### {t}: {schemas.TABLES[t]['title']}" in text
        for c in schemas.columns(t):
            assert f"| {c.name} |" in text, (t, c.name)
    for v in export.vocabularies_used(TABLES) + ["outcome_classes", "agency_kinds", "crosswalks", "quality_checks"]:
        for c in codes.V(v):
            assert c.zh.replace("|", "\\|") in text and c.en.replace("|", "\\|") in text, (v, c.code)
    for m in metrics.METRICS:
        assert f"`{m.formula()}`" in text
    for r in metrics.load_crosswalk("default").table.iter_rows(named=True):
        assert r["rationale"] in text
    for key in ("overlap", "denominator", "nulls", "sources", "reasons", "grouping"):
        assert metrics.RULES[key] in text
    assert "crossyear_carry" in text and "crossyear_in_force" in text
    # checks found in this dataset, parser's and ours, each with an example
    q = pl.read_parquet(built / "quality.parquet")
    for check in q["check"].unique().to_list():
        assert f"| {check} |" in text


def test_csv_is_utf8_with_bom_and_round_trips(built):
    raw = (built / "csv" / "panel.csv").read_bytes()
    assert raw[:3] == b"\xef\xbb\xbf"
    assert "临淄区人民政府办公室" in raw.decode("utf-8-sig")
    back = pl.read_csv(built / "csv" / "panel.csv", schema=schemas.polars_schema("panel"))
    assert back.equals(pl.read_parquet(built / "panel.parquet"))


def test_stata_files_have_value_labels_and_round_trip(built):
    panel = pl.read_parquet(built / "panel.parquet")
    df = pd.read_stata(built / "stata" / "panel.dta")  # categoricals from the value labels
    assert len(df) == panel.height and list(df.columns) == panel.columns
    kinds = codes.V("agency_kinds")
    assert "人民政府办公室（厅） / Government office" in set(df["agency_kind"].dropna())
    spec = {c.name: c for c in schemas.columns("panel")}
    for col in ("agency_kind", "template", "status", "source", "era", "admin_level", "denominator"):
        voc = codes.V(spec[col].vocab)
        assert df[col].notna().sum() == panel[col].drop_nulls().len() > 0
        for a, b in zip(df[col], panel[col].to_list()):
            assert (pd.isna(a) and b is None) or a == voc[b].label, (col, a, b)
    for col in ("received", "handled", "disclosed_full", "withheld"):
        for a, b in zip(df[col], panel[col].to_list()):
            assert (pd.isna(a) and b is None) or a == b, (col, a, b)
    for a, b in zip(df["disclosure_rate"], panel["disclosure_rate"].to_list()):
        assert (pd.isna(a) and b is None) or a == pytest.approx(b)
    assert df["report_id"].tolist() == panel["report_id"].to_list()
    with pd.io.stata.StataReader(built / "stata" / "panel.dta") as rd:
        labels = rd.value_labels()
        var = rd.variable_labels()
        assert rd.data_label.startswith("Panel")
    assert labels["agency_kind"] == {i: c.label for i, c in enumerate(kinds, start=1)}
    assert all(0 < len(v) <= 80 for v in var.values())
    assert var["received"].startswith("New requests received")


def test_stata_reports_dates_and_long_strings(built):
    rep = pl.read_parquet(built / "reports.parquet")
    df = pd.read_stata(built / "stata" / "reports.dta")
    got = {r: (d.date() if not pd.isna(d) else None) for r, d in zip(df["report_id"], df["published"])}
    assert got == dict(zip(rep["report_id"].to_list(), rep["published"].to_list()))
    q = pd.read_stata(built / "stata" / "quality.dta")
    assert q["message"].tolist() == pl.read_parquet(built / "quality.parquet")["message"].to_list()


def test_stata_rejects_codes_outside_the_code_list():
    df = schemas.frame("appeals", [{"report_id": "x", "proceeding": "appeal", "outcome": "total", "value": 1, "raw": "1", "line": 1}])
    with pytest.raises(ValueError, match="outside the code list proceedings"):
        export.stata_frame(df, "appeals")
