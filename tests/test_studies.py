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
import yaml

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


@pytest.fixture(scope="module")
def seeds_built(tmp_path_factory):
    """The seeds built into a dataset (20 reports of 淄博市 and 济南市): what the studies read."""
    from foi_research.build import build_dataset

    out = tmp_path_factory.mktemp("seeds-built") / "dataset"
    build_dataset([ROOT / "data" / "corpus" / "seeds"], out, workers=1)
    return out


def test_run_writes_notebook_html_charts_and_tables(tmp_path, seeds_built):
    """`run NOTEBOOK -p key=value`: parameters given on the command line (a partial region name),
    progress while it runs, and every output of the study."""
    out = tmp_path / "studies"
    r = _cli("run", "region_profile", "-p", "region=淄博经济开发区", "-p", "years=[2019, 2021]", "--name", "zone", "--out", str(out), "--dataset", str(seeds_built))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "running zone: region_profile.ipynb with region=\"淄博经济开发区\", years=[2019, 2021]" in r.stderr
    assert "Executing" in r.stderr  # the bar over the notebook's cells
    assert "zone" in r.stderr and "1 ok, 0 failed" in r.stderr  # the summary table
    d = out / "zone"
    assert (d / "zone.ipynb").exists() and (d / "zone.html").exists() and (d / "params.yaml").exists()
    charts = {p.stem for p in (d / "charts").glob("*.png")}
    # the zone's reports have no quality finding: no empty chart, a sentence instead, the (empty) table kept
    assert charts == REGION_CHARTS - {"quality"} == {p.stem for p in (d / "charts").glob("*.svg")}
    assert pl.read_csv(d / "tables" / "quality.csv").height == 0
    for c in REGION_CHARTS:
        assert (d / "tables" / f"{c}.csv").exists()
    for c in charts:
        assert (d / "charts" / f"{c}.png").read_bytes()[:4] == b"\x89PNG"
    assert (d / "tables" / "quality_findings.csv").exists()
    # the data behind the requests chart is the region's one report of 2019
    req = pl.read_csv(d / "tables" / "requests_per_agency_year.csv")
    assert req["year"].to_list() == [2019] and req["agency"].to_list() == ["淄博经济开发区管理委员会办公室"]
    # executed notebook: parameters injected
    nb = nbformat.read(d / "zone.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(injected.source, values)  # papermill writes plain assignments
    assert values["region"] == "淄博经济开发区" and values["years"] == [2019, 2021]
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    # the injected parameters are readable and hold no machine path
    assert "\\u" not in injected.source and values["output_dir"] == "."
    # the HTML report: results without code, parameters as text, tables and charts readable
    html = (d / "zone.html").read_text(encoding="utf-8")
    assert "analysis.select(" not in html and "studies.Outputs(" not in html  # no code by default
    assert "<td>region</td>" in html.replace(" ", "") or "region</td>" in html
    assert "淄博经济开发区" in html and "\\u6dc4" not in html
    for p in (str(tmp_path), str(seeds_built), str(ROOT), "/tmp/"):
        assert p not in html, f"a machine path in the report: {p}"
    imgs = re.findall(r'<img alt="([^"]+)" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == len(charts) and all(a.strip() for a, _ in imgs)  # every chart has alt text
    assert "No data for this selection" in html
    assert all("@font-face" in base64.b64decode(x).decode("utf-8") for _, x in imgs)  # and its glyphs
    assert 'class="gt_table"' in html and "shape: (" not in html  # tables whole (great_tables), no polars preview
    assert not re.search(r'<script[^>]+src="https?://', html)
    with_code = tmp_path / "code.html"
    studies._html(d / "zone.ipynb", with_code, code=True)
    code_html = with_code.read_text(encoding="utf-8")
    assert "resolve_region" in code_html and "resolve_region" not in html  # --code shows the code
    # files for a paper: 300 dpi PNG, PDF and SVG with fonts, CSV with BOM, one workbook
    import struct
    import zipfile

    png = (d / "charts" / "coverage.png").read_bytes()
    i = png.find(b"pHYs")
    assert round(struct.unpack(">I", png[i + 4 : i + 8])[0] * 0.0254) == 300
    assert {p.stem for p in (d / "charts").glob("*.pdf")} == charts
    assert "@font-face" in (d / "charts" / "coverage.svg").read_text(encoding="utf-8")
    assert all(p.read_bytes()[:3] == b"\xef\xbb\xbf" for p in (d / "tables").glob("*.csv"))
    with zipfile.ZipFile(d / "zone.xlsx") as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
    assert sorted(re.findall(r'<sheet name="([^"]+)"', book)) == sorted(p.stem[:31] for p in (d / "tables").glob("*.csv"))
    params = yaml.safe_load((d / "params.yaml").read_text(encoding="utf-8"))
    assert params["notebook"] == "region_profile.ipynb" and params["parameters"] == {"region": "淄博经济开发区", "years": [2019, 2021]}
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and manifest["parameters"]["region"] == "淄博经济开发区"
    assert "charts/coverage.png" in manifest["files"]
    _no_temporaries(out)


def test_parameters_are_checked_before_a_kernel_starts(tmp_path, seeds_built):
    """A wrong value is a command error (exit 2) saying what to write, found before any kernel
    starts; a region is a code, a name, a path or the start of a name."""
    out = tmp_path / "studies"
    r = _cli("run", "region_profile", "-p", "years=2024", "--out", str(out), "--dataset", str(seeds_built))
    assert r.returncode == 2 and "years: 2024 is a whole number" in r.stderr and "years: [2024, 2024]" in r.stderr
    assert "running" not in r.stderr and not out.exists()  # no kernel was started, nothing written

    def problems(notebook, dataset=seeds_built, **params):
        st = studies.study_from(notebook, params)
        return {p.key: p.problem for p in studies.validate_parameters(st, dataset)}, st

    got, st = problems("region_profile", region="临淄", years=[2019, 2021])
    assert got == {}
    got, st = problems("region_profile", region=370305)  # YAML reads a code as a number: taken as text
    assert got == {} and st.parameters["region"] == "370305"
    got, _ = problems("region_profile", region="市中区", years=[2023, 2019])
    assert "370103 山东省/济南市/市中区; 370402 山东省/枣庄市/市中区" in got["region"]
    assert "the first year comes first, years: [2019, 2023]" in got["years"]
    got, _ = problems("region_profile", region="淮安")  # known to the gazetteer, not in these data
    assert "no report of 320800 江苏省/淮安市 is in the data" in got["region"] and "淄博市临淄区 (370305)" in got["region"]
    assert problems("region_profile", dataset=None, region="淮安")[0] == {}  # without a dataset only the gazetteer is asked
    got, _ = problems("region_profile", years=[2030, 2031])
    assert "the data holds reports for 2008–2023 only" in got["years"]
    got, _ = problems("county_comparison", level="town", rate="refusal_rate", min_denominator=-1, crosswalk="strict")
    assert "write one of province, city, county, agency" in got["level"] and "not a metric" in got["rate"]
    assert "0 or more" in got["min_denominator"] and "not a crosswalk" in got["crosswalk"]
    got, _ = problems("region_profile", regoin="淄博市")
    assert "not a parameter of region_profile.ipynb" in got["regoin"]


def test_new_study_writes_a_parameter_file_from_the_notebook(tmp_path):
    dest = tmp_path / "params" / "huaian.yaml"
    r = _cli("new-study", "county_comparison", "--out", str(dest), "-p", "region=淮安", "-p", "years=[2019,2024]", "--title", "淮安市县区")
    assert r.returncode == 0, r.stderr
    text = dest.read_text(encoding="utf-8")
    assert "# a GB/T 2260 code (370000), a name or a path to compare within" in text  # the notebook's comments
    st = studies.load_study(dest)
    declared = studies.notebook_parameters(st.notebook)
    assert set(st.parameters) == set(declared) - set(studies.RESERVED_PARAMETERS)
    assert st.parameters["region"] == "淮安" and st.parameters["years"] == [2019, 2024] and st.parameters["level"] == "county"
    assert st.title == "淮安市县区" and studies.validate_parameters(st) == []
    r = _cli("new-study", "county_comparison", "--out", str(dest))
    assert r.returncode == 2 and "exists" in r.stderr
    r = _cli("new-study", "county_comparison", "--out", str(tmp_path / "bad.yaml"), "-p", "years=2024")
    assert r.returncode == 2 and "years: [2024, 2024]" in r.stderr and not (tmp_path / "bad.yaml").exists()


def test_batch_each_county_runs_a_study_per_unit_of_the_data(tmp_path, seeds_built):
    """`batch NOTEBOOK --each county` inside the study's region: one study per county of 淄博市
    with reports (临淄区, 张店区), named by code, titled by full name (the README walkthrough runs
    the command: tests/test_walkthrough.py)."""
    st = studies.study_from("region_profile", {"region": "淄博市", "years": [2008, 2023]})
    units = studies.each_unit(st, "county", str(seeds_built))
    assert [(u.name, u.parameters["region"], u.title) for u in units] == [
        ("region_profile-370303", "370303", "region_profile: 淄博市张店区"),
        ("region_profile-370305", "370305", "region_profile: 淄博市临淄区"),
    ]
    assert [u.parameters["region"] for u in studies.each_unit(studies.study_from("region_profile"), "city", str(seeds_built))] == ["370100", "370300"]
    r = _cli("batch", "region_profile", "--each", "town", "--dataset", str(seeds_built))
    assert r.returncode == 2 and "--each county" in r.stderr


def test_all_runs_the_bundled_studies_only_on_the_bundled_corpus(tmp_path):
    run, skip = studies.studies_for(ROOT / "params", bundled=False)
    assert {p.stem for p in skip} == {"zibo_profile", "linzi_profile", "jinan_profile", "shandong_counties"}
    assert {p.stem for p in run} == {"regulation_2019", "counties_all"}
    assert studies.studies_for(ROOT / "params", bundled=True)[1] == []
    for p in skip:  # a bundled study names a region of the bundled corpus
        assert studies.load_study(p).scope == "bundled"
    # a researcher's corpus: the bundled studies are left out, and the run says so
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.txt").write_text((ROOT / "data" / "corpus" / "seeds" / "004_c04978ea7ee6ff4b.txt").read_text(encoding="utf-8"), encoding="utf-8")
    pdir = tmp_path / "params"
    pdir.mkdir()
    (pdir / "zibo.yaml").write_text((ROOT / "params" / "zibo_profile.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    r = _cli("all", str(mine), "--out", str(tmp_path / "ds"), "--params", str(pdir), "--studies-out", str(tmp_path / "st"), "--jobs", "1", "--quiet", "--no-stata")
    assert r.returncode == 0, r.stderr
    assert "left out: zibo" in r.stderr and "running 0 studies" in r.stderr


def test_version():
    from foi_research import __version__

    r = _cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"foi-research {__version__}"


def test_batch_reports_a_failing_notebook_and_runs_the_others(tmp_path, seeds_built):
    pdir = tmp_path / "params"
    pdir.mkdir()
    _study(pdir, "good", "平阴县", years=(2021, 2021))
    _study(pdir, "empty", "平阴县", years=(2019, 2019))  # no report of the region in those years: the notebook raises
    _study(pdir, "mars", "火星市")  # no such region: refused before a kernel starts
    (pdir / "typo.yaml").write_text("notebook: region_profile.ipynb\nparameters:\n  regoin: 淄博市\n", encoding="utf-8")
    out = tmp_path / "studies"
    summary = studies.batch(pdir, out_dir=out, workers=2, dataset=str(seeds_built), progress=False)
    by = {r.study: r for r in summary.results}
    assert [r.study for r in summary.results] == ["empty", "good", "mars", "typo"]
    assert not summary.ok and [r.study for r in summary.failed] == ["empty", "mars", "typo"]
    assert by["good"].ok and by["good"].files["charts"] >= len(REGION_CHARTS) - 1
    assert "AnalysisError" in by["empty"].error and "济南市平阴县 between 2019 and 2019" in by["empty"].error
    assert by["empty"].failed_notebook and Path(by["empty"].failed_notebook).exists()  # executed copy, with the error
    assert "no division is called '火星市'" in by["mars"].error and by["mars"].failed_notebook is None
    assert "not a parameter" in by["typo"].error
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("_")) == ["good"]  # no half-written study
    _no_temporaries(out)
    good_manifest = (out / "good" / "manifest.json").read_text(encoding="utf-8")

    # a failing re-run of a study leaves its previous outputs untouched
    _study(pdir, "good", "火星市")  # refused before a kernel starts
    r = studies.run(pdir / "good.yaml", out, dataset=str(seeds_built))
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
    for cmd in ("run", "batch", "lab", "new-study", "regions"):
        assert cmd in r.stdout
    r = _cli("batch", "--help")
    assert "--workers" in r.stdout and "--dask" in r.stdout


def test_lab_command_line(monkeypatch, tmp_path):
    argv = studies.lab_argv(port=8899, browser=False, token="t0k")
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--no-browser" in argv and "--port=8899" in argv and "--IdentityProvider.token=t0k" in argv
    assert f"--ServerApp.root_dir={studies.project_root()}" in argv
    assert "--ServerApp.contents_manager_class=foi_research.present.labguard.StoredNotebooksReadOnly" in argv
    # the copies a lab session works on, made once (an edited copy is never replaced)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "a.ipynb").write_text("{}", encoding="utf-8")
    assert [p.name for p in studies.prepare_work(tmp_path)] == ["a.ipynb"]
    (tmp_path / "work" / "a.ipynb").write_text("mine", encoding="utf-8")
    assert studies.prepare_work(tmp_path) == [] and (tmp_path / "work" / "a.ipynb").read_text() == "mine"
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
    assert (st / "zone" / values["dataset"]).resolve() == ds.resolve()  # relative to the study's folder
    # a bad params folder is a clear error, exit 2, and the dataset stays
    r = _cli("all", str(ROOT / "data" / "corpus" / "seeds"), "--out", str(ds), "--params", str(tmp_path / "none"), "--quiet")
    assert r.returncode == 2 and "no .yaml parameter files" in r.stderr and (ds / "panel.parquet").exists()
