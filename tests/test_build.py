"""`foi-research build`: what it writes, atomic replacement, reuse of a parsed dataset, options and
error messages."""
from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
import pytest

from conftest import DATA, ROOT
from foi_research import build
from foi_research.present import export
from foi_research.harmonise import metrics
from foi_research.build import BuildError, build_dataset
from foi_research.validate.dataset import DatasetWriter, read_dataset
from foi_research.pipeline import parse_paths

SEEDS = DATA / "seeds"


def _leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_cli_build_writes_the_dataset(tmp_path):
    out = tmp_path / "ds"
    r = subprocess.run(
        [sys.executable, "-m", "foi_research.cli", "build", str(SEEDS), "--out", str(out), "--crosswalk", "nta_as_cannot_provide", "--denominator", "new_plus_carried", "--workers", "1", "--csv", "--quiet"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{t}.parquet" for t in ("reports", "requests", "appeals", "proactive", "legacy", "quality", "panel")] + ["datapackage.json", "codebook.md", "manifest.json", "csv", "load.R", "load.do"])
    ds = read_dataset(out)  # a build output is a dataset the other stages can read
    panel = metrics.read_panel(out)
    assert panel.height == ds["reports"].height == 20
    assert set(panel["crosswalk"]) == {"nta_as_cannot_provide"} and set(panel["denominator"]) == {"new_plus_carried"}
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["command"] == "build" and m["rows"]["panel"] == 20 and m["sources"]["table3"] == 8
    assert m["harmonise_findings"] == {"crosswalk_overlap": 2, "crosswalk_total": 2}
    # the harmonise-stage rows are in quality, attached to existing reports
    q = ds["quality"]
    assert q.filter(pl.col("check") == "crosswalk_total").height == 2
    assert set(q["report_id"]) <= set(ds["reports"]["report_id"])
    assert "nta_as_cannot_provide" in (out / "codebook.md").read_text(encoding="utf-8")
    assert _leftovers(tmp_path) == []


def test_build_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    first = build_dataset([SEEDS], out, workers=1)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "write_codebook", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        build_dataset([SEEDS], out, workers=1, stata=True)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before and not (out / "stata").exists()
    assert _leftovers(tmp_path) == []  # no staging folder left behind
    assert json.loads((out / "manifest.json").read_text())["created"] == first["created"]


def test_build_from_a_parsed_dataset_and_rebuild(tmp_path):
    parsed = tmp_path / "parsed"
    with DatasetWriter(parsed) as w:
        for p in parse_paths([SEEDS], workers=1):
            w.add(p)
    n_quality = read_dataset(parsed)["quality"].height
    out = tmp_path / "built"
    m = build_dataset([parsed], out)
    q1 = read_dataset(out)["quality"]
    assert q1.height == n_quality + sum(m["harmonise_findings"].values())
    # building again from the built dataset itself does not add the harmonise rows twice
    build_dataset([out], out, crosswalk="default")
    q2 = read_dataset(out)["quality"]
    assert q2.sort(pl.all()).equals(q1.sort(pl.all()))
    assert read_dataset(out)["requests"].equals(read_dataset(parsed)["requests"])
    assert _leftovers(tmp_path) == []


def test_build_errors_say_what_to_do(tmp_path):
    with pytest.raises(BuildError, match="input not found: .*nowhere"):
        build_dataset([tmp_path / "nowhere"], tmp_path / "out")
    with pytest.raises(BuildError, match="unknown crosswalk 'strict'.*default"):
        build_dataset([SEEDS], tmp_path / "out", crosswalk="strict")
    with pytest.raises(BuildError, match="unknown denominator"):
        build_dataset([SEEDS], tmp_path / "out", denominator="submitted")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(BuildError, match="not a foi-research dataset"):
        build_dataset([SEEDS], mine)
    assert (mine / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BuildError, match="no report files"):
        build_dataset([empty], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []


def test_cli_errors_exit_2_with_the_message(tmp_path):
    bad = tmp_path / "cw.csv"
    bad.write_text("scheme,code,outcome_class,overlap_with,rationale\n2019,granted,disclosed_full,,ok\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "foi_research.cli", "build", str(SEEDS), "--out", str(tmp_path / "o"), "--crosswalk", str(bad), "-q"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert r.returncode == 2
    assert "error:" in r.stderr and "cw.csv" in r.stderr and "no mapping for" in r.stderr
    assert not (tmp_path / "o").exists()


def test_build_command_is_registered():
    r = subprocess.run([sys.executable, "-m", "foi_research.cli", "build", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0
    for opt in ("--out", "--crosswalk", "--denominator", "--csv", "--stata", "--workers", "--dask"):
        assert opt in r.stdout
    assert build.DEFAULT_OUT == "outputs/dataset" and build.DEFAULT_INPUTS == ("data/corpus",)
