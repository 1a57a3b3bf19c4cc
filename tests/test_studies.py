"""`foi-research run` and `batch`: the outputs of a study, atomic replacement, a failing notebook
reported without stopping the others, the summary and the exit code."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import polars as pl
import pytest

from conftest import ROOT
from foi_research.present import studies

REGION_CHARTS = {"coverage", "requests_per_agency_year", "outcome_mix", "applicant_mix", "appeals", "quality"}


def _study(dirpath: Path, name: str, region: str, years=(2019, 2021), **extra) -> Path:
    p = dirpath / f"{name}.yaml"
    lines = ["notebook: region_profile.ipynb", "parameters:", f"  region: {region}", f"  years: [{years[0]}, {years[1]}]"]
    lines += [f"  {k}: {v}" for k, v in extra.items()]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _cli(*args, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if k != "FOI_CHARTS"}
    return subprocess.run([sys.executable, "-m", "foi_research.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _no_temporaries(out: Path):
    left = [p.name for p in out.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert not left, f"temporary folders left behind: {left}"


def test_run_writes_notebook_html_charts_and_tables(tmp_path):
    params = _study(tmp_path, "zone", "淄博经济开发区")
    out = tmp_path / "studies"
    r = _cli("run", str(params), "--out", str(out), "--dataset", "")  # "": parse the bundled corpus
    assert r.returncode == 0, r.stdout + r.stderr
    assert "zone" in r.stderr and "1 ok, 0 failed" in r.stderr  # the summary table
    d = out / "zone"
    assert (d / "zone.ipynb").exists() and (d / "zone.html").exists() and (d / "params.yaml").exists()
    charts = {p.stem for p in (d / "charts").glob("*.png")}
    assert charts == REGION_CHARTS == {p.stem for p in (d / "charts").glob("*.svg")}
    for c in REGION_CHARTS:
        assert (d / "charts" / f"{c}.png").read_bytes()[:4] == b"\x89PNG"
        assert (d / "tables" / f"{c}.csv").exists()
    assert (d / "tables" / "quality_findings.csv").exists()
    # the data behind the requests chart is the region's one report of 2019
    req = pl.read_csv(d / "tables" / "requests_per_agency_year.csv")
    assert req["year"].to_list() == [2019] and req["agency"].to_list() == ["淄博经济开发区管理委员会办公室"]
    # executed notebook: parameters injected, final output folder recorded (not the staging one)
    nb = nbformat.read(d / "zone.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(injected.source, values)  # papermill writes plain assignments
    assert values["region"] == "淄博经济开发区" and values["years"] == [2019, 2021]
    assert values["output_dir"] == str(d)  # the final folder, not the staging one
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    html = (d / "zone.html").read_text(encoding="utf-8")
    inline = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(inline) == len(REGION_CHARTS)  # every chart inline: the HTML needs no network
    assert not re.search(r'<script[^>]+src="https?://', html)
    assert any("各机关逐年收到申请数" in base64.b64decode(x).decode("utf-8") for x in inline)
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and manifest["parameters"]["region"] == "淄博经济开发区"
    assert "charts/coverage.png" in manifest["files"]
    _no_temporaries(out)


def test_batch_reports_a_failing_notebook_and_runs_the_others(tmp_path):
    pdir = tmp_path / "params"
    pdir.mkdir()
    _study(pdir, "good", "平阴县", years=(2021, 2021))
    _study(pdir, "mars", "火星市")  # no such region: the notebook raises in its data cell
    (pdir / "typo.yaml").write_text("notebook: region_profile.ipynb\nparameters:\n  regoin: 淄博市\n", encoding="utf-8")
    out = tmp_path / "studies"
    summary = studies.batch(pdir, out_dir=out, workers=2, dataset="", progress=False)
    by = {r.study: r for r in summary.results}
    assert [r.study for r in summary.results] == ["good", "mars", "typo"]
    assert not summary.ok and [r.study for r in summary.failed] == ["mars", "typo"]
    assert by["good"].ok and by["good"].files["charts"] == len(REGION_CHARTS)
    assert "AnalysisError" in by["mars"].error and "火星市" in by["mars"].error
    assert by["mars"].failed_notebook and Path(by["mars"].failed_notebook).exists()  # executed copy, with the error
    assert "not a parameter" in by["typo"].error
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("_")) == ["good"]  # no half-written study
    _no_temporaries(out)
    good_manifest = (out / "good" / "manifest.json").read_text(encoding="utf-8")

    # a failing re-run of a study leaves its previous outputs untouched
    _study(pdir, "good", "火星市")
    r = studies.run(pdir / "good.yaml", out, dataset="")
    assert not r.ok
    assert (out / "good" / "manifest.json").read_text(encoding="utf-8") == good_manifest
    _no_temporaries(out)


def test_batch_cli_prints_a_summary_and_exits_non_zero_on_failure(tmp_path):
    pdir = tmp_path / "params"
    pdir.mkdir()
    (pdir / "typo.yaml").write_text("notebook: region_profile.ipynb\nparameters:\n  regoin: 淄博市\n", encoding="utf-8")
    r = _cli("batch", str(pdir), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet")
    assert r.returncode == 1
    assert "typo" in r.stderr and "0 ok, 1 failed" in r.stderr and "regoin" in r.stderr
    r = _cli("batch", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_batch_runs_on_a_dask_scheduler(tmp_path):
    """--dask ADDRESS sends the studies to a Dask scheduler (here a local one)."""
    from dask.distributed import LocalCluster

    pdir = tmp_path / "params"
    pdir.mkdir()
    for n in ("a", "b"):
        (pdir / f"{n}.yaml").write_text("notebook: region_profile.ipynb\nparameters:\n  regoin: x\n", encoding="utf-8")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        summary = studies.batch(pdir, out_dir=tmp_path / "out", address=cluster.scheduler_address, progress=False)
    assert [r.study for r in summary.results] == ["a", "b"]
    assert all("not a parameter" in r.error for r in summary.results)


def test_cli_has_the_study_commands():
    r = _cli("--help")
    assert r.returncode == 0
    for cmd in ("run", "batch", "lab"):
        assert cmd in r.stdout
    r = _cli("batch", "--help")
    assert "--workers" in r.stdout and "--dask" in r.stdout


def test_lab_command_line(monkeypatch):
    argv = studies.lab_argv(port=8899, browser=False, token="t0k")
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--no-browser" in argv and "--port=8899" in argv and "--IdentityProvider.token=t0k" in argv
    assert f"--ServerApp.root_dir={studies.project_root()}" in argv
    if os.geteuid() == 0:
        assert "--allow-root" in argv
    monkeypatch.delenv("FOI_CHARTS", raising=False)
    assert studies.lab_env()["FOI_CHARTS"] == "interactive"
    assert "FOI_CHARTS" not in studies.lab_env(static=True)


def test_load_study_data_reads_a_built_dataset(tmp_path, seeds_dataset):
    """With `dataset`, the notebooks read a dataset folder instead of parsing the corpus."""
    from foi_research.validate.dataset import DatasetWriter
    from foi_research.pipeline import parse_paths

    ds_dir = tmp_path / "ds"
    with DatasetWriter(ds_dir) as w:
        for p in parse_paths([ROOT / "data" / "corpus" / "seeds"], workers=1):
            w.add(p)
    data = studies.load_study_data(str(ds_dir))
    assert data.origin.startswith("dataset ")
    assert data.panel.height == seeds_dataset["reports"].height
    assert data.panel["report_id"].is_unique().all()
    # the tables are read lazily; the analyses give what they give on eager tables
    assert isinstance(data.tables["requests"], pl.LazyFrame) and data["requests"].equals(seeds_dataset["requests"])
    from foi_research.present import analysis

    ids = data.panel["report_id"]
    assert analysis.applicant_mix(data.tables, ids).equals(analysis.applicant_mix(seeds_dataset, ids))
    assert analysis.applicant_mix(data.tables, ids)["count"].sum() > 0
    assert analysis.quality_summary(data.tables, ids).equals(analysis.quality_summary(seeds_dataset, ids))
    assert analysis.quality_findings(data.tables, data.panel).equals(analysis.quality_findings(seeds_dataset, data.panel))
    # a folder that is not a dataset says so
    with pytest.raises(studies.StudyError, match="not a foi-research dataset"):
        studies.load_study_data(str(tmp_path))


def test_main_job_builds_the_dataset_then_runs_the_studies(tmp_path):
    """`python3 tasks.py main` runs `foi-research all`: dataset first, then every study of a params
    folder on that dataset. Here on the seeds and one small study."""
    assert '"all"' in (ROOT / "tasks.py").read_text()  # the README's main command calls this
    pdir = tmp_path / "params"
    pdir.mkdir()
    _study(pdir, "zone", "淄博经济开发区")
    ds, st = tmp_path / "dataset", tmp_path / "studies"
    r = _cli("all", str(ROOT / "data" / "corpus" / "seeds"), "--out", str(ds), "--params", str(pdir), "--studies-out", str(st), "--jobs", "1", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    for f in ("reports.parquet", "panel.parquet", "datapackage.json", "codebook.md", "csv/panel.csv", "stata/panel.dta"):
        assert (ds / f).exists(), f
    assert pl.read_parquet(ds / "reports.parquet").height == 20  # the seeds hold 20 reports
    assert (st / "zone" / "zone.ipynb").exists() and "1 ok, 0 failed" in r.stderr
    # the study read the dataset just built, not the bundled corpus
    nb = nbformat.read(st / "zone" / "zone.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(injected.source, values)
    assert Path(values["dataset"]) == ds
    # a bad params folder is a clear error, exit 2, and the dataset stays
    r = _cli("all", str(ROOT / "data" / "corpus" / "seeds"), "--out", str(ds), "--params", str(tmp_path / "none"), "--quiet")
    assert r.returncode == 2 and "no .yaml parameter files" in r.stderr and (ds / "panel.parquet").exists()
