"""datapackage.json (validated with the frictionless library, descriptor and CSV data), the
codebook (generated from the single definitions), CSV and Stata exports of a build of the bundled
corpus."""
from __future__ import annotations

import json
from pathlib import Path

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
    assert "人民政府办公室（厅）" in set(df["agency_kind"].dropna())  # zh, the current label language
    spec = {c.name: c for c in schemas.columns("panel")}
    for col in ("agency_kind", "template", "status", "source", "era", "admin_level", "denominator"):
        voc = codes.V(spec[col].vocab)
        assert df[col].notna().sum() == panel[col].drop_nulls().len() > 0
        for a, b in zip(df[col], panel[col].to_list()):
            assert (pd.isna(a) and b is None) or a == voc[b].zh, (col, a, b)
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
    assert labels["agency_kind"] == {i: c.zh for i, c in enumerate(kinds, start=1)}
    assert labels["agency_kind_en"] == {i: c.en for i, c in enumerate(kinds, start=1)}
    assert not any(" / " in v for v in labels["agency_kind"].values())  # one language per label
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


def _characteristics(path) -> dict[tuple[str, str], str]:
    """The characteristics of a format-118 .dta file: (variable, name) -> contents."""
    import struct

    raw = path.read_bytes()
    order = "<" if b"<byteorder>LSF</byteorder>" in raw[:200] else ">"
    start = raw.index(b"<characteristics>") + len(b"<characteristics>")
    end = raw.index(b"</characteristics>", start)
    out, i = {}, start
    while i < end:
        assert raw[i : i + 4] == b"<ch>"
        (n,) = struct.unpack(order + "I", raw[i + 4 : i + 8])
        body = raw[i + 8 : i + 8 + n]
        var, name = (body[k : k + 129].split(b"\x00")[0].decode() for k in (0, 129))
        out[(var, name)] = body[258:].rstrip(b"\x00").decode("utf-8")
        i += 8 + n
        assert raw[i : i + 5] == b"</ch>"
        i += 5
    return out


def test_stata_label_languages_zh_and_en(built):
    """Stata's label languages: zh current, en with its own value label sets (<column>_en) and
    variable labels, declared in the characteristics `label language` reads."""
    ch = _characteristics(built / "stata" / "panel.dta")
    assert ch[("_dta", "_lang_list")] == "zh en" and ch[("_dta", "_lang_c")] == "zh"
    assert ch[("agency_kind", "_lang_l_en")] == "agency_kind_en"
    assert ch[("received", "_lang_v_en")].startswith("New requests received")
    with pd.io.stata.StataReader(built / "stata" / "requests.dta") as rd:
        labels = rd.value_labels()
    assert labels["applicant"][1] == "自然人" and labels["applicant_en"][1] == "Natural persons"
    do = (built / "load.do").read_text(encoding="utf-8")
    assert "label language en" in do.replace("`lang'", "en") and 'use "stata/panel.dta"' in do


def test_frictionless_validate_passes_on_the_dataset_as_shipped(built):
    """The standard validator, run as a user runs it, on every resource (parquet and CSV)."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("frictionless", path=str(Path(sys.executable).parent)) or shutil.which("frictionless")
    assert exe, "the frictionless command is not installed"
    r = subprocess.run([exe, "validate", "--json", "datapackage.json"], cwd=built, capture_output=True, text=True, timeout=600)
    report = json.loads(r.stdout)
    bad = [(t["name"], [e["note"] for e in t["errors"]][:3]) for t in report["tasks"] if not t["valid"]]
    assert r.returncode == 0 and report["valid"], bad
    assert sorted(t["name"] for t in report["tasks"]) == sorted(TABLES + [f"{t}-csv" for t in TABLES])
    rows = {t["name"]: t["stats"]["rows"] for t in report["tasks"]}
    for t in TABLES:
        assert rows[t] == rows[f"{t}-csv"] == pl.read_parquet(built / f"{t}.parquet").height


def test_read_dataset_has_the_panel_and_a_pandas_option(built):
    from foi_research.validate.dataset import read_dataset

    ds = read_dataset(built)
    assert list(ds) == TABLES and ds["panel"].equals(pl.read_parquet(built / "panel.parquet"))
    assert "panel" not in read_dataset(built, panel=False)
    pdf = read_dataset(built, pandas=True)
    assert isinstance(pdf["panel"], pd.DataFrame) and len(pdf["panel"]) == ds["panel"].height
    assert str(pdf["panel"]["received"].dtype) == "Int64" and pdf["panel"]["received"].isna().sum() == ds["panel"]["received"].null_count()
    assert str(pdf["reports"]["published"].dtype).startswith("datetime64")


def test_load_scripts_for_r_and_stata(built):
    r = (built / "load.R").read_text(encoding="utf-8")
    for t in TABLES:
        assert f"  {t} = \"" in r  # a readr column spec per table, generated from the schemas
    assert 'ds$requests$applicant <- factor(ds$requests$applicant, levels = c("natural_person", "commercial"' in r
    spec = dict(line.strip().split(" = ") for line in r.split("col_types <- list(")[1].split(")")[0].strip().splitlines())
    assert spec["panel"].strip('",') == "".join({"string": "c", "integer": "i", "number": "d", "boolean": "l", "date": "D"}[f["type"]] for f in _descriptor(built)["resources"][6]["schema"]["fields"])
    book = (built / "codebook.md").read_text(encoding="utf-8")
    assert "## Loading the data" in book and "```stata" in book and "```r" in book
