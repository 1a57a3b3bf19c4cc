"""The README's walkthrough "Bring your own reports", run as written (from `foi-research build` to
`frictionless validate`) on a small corpus of a researcher's own: reports of two counties that share
a name (济南市市中区, 枣庄市市中区) and a foi-metadata.csv beside them."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from conftest import ROOT
from foi_research import synth


def walkthrough() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- walkthrough:begin -->")[1].split("<!-- walkthrough:end -->")[0]
    lines = [l.split("  #")[0].strip() for l in block.strip().strip("`").splitlines()]
    return [l for l in lines if l and not l.startswith(("bash", "```", "#"))]


def test_the_readme_walkthrough_runs_as_written(tmp_path):
    steps = walkthrough()
    assert steps[0].startswith("python3 tasks.py setup")  # a fresh clone starts there (the suite runs in it)
    mine = tmp_path / "myreports"
    (mine / "site").mkdir(parents=True)
    for i, (agency, year) in enumerate([("济南市市中区人民政府办公室", 2021), ("济南市市中区人民政府办公室", 2022), ("枣庄市市中区人民政府办公室", 2021)]):
        text, _ = synth.generate(300 + i, template="2021", layout="tab", agency=agency, year=year)
        (mine / "site" / f"r{i}.txt").write_text(text, encoding="utf-8")
    (mine / "foi-metadata.csv").write_text(
        "file,source_url,retrieved\nsite/r0.txt,http://www.example.gov.cn/r0.html,2024-05-01\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if k != "FOI_CHARTS"}
    exe = {"foi-research": [sys.executable, "-m", "foi_research.cli"], "frictionless": [shutil.which("frictionless", path=str(Path(sys.executable).parent)) or "frictionless"]}
    outputs = {}
    for line in steps[1:]:
        argv = shlex.split(line)
        assert argv[0] in exe, f"the walkthrough runs {argv[0]}: add it to this test"
        r = subprocess.run(exe[argv[0]] + argv[1:], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"{line}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        outputs[" ".join(argv[:2])] = r.stdout + r.stderr
    ds = tmp_path / "mydata" / "dataset"
    rep = pl.read_parquet(ds / "reports.parquet")
    assert sorted(rep["source_file"]) == ["site/r0.txt", "site/r1.txt", "site/r2.txt"]
    assert rep.filter(pl.col("source_file") == "site/r0.txt")["source_url"].to_list() == ["http://www.example.gov.cn/r0.html"]
    assert "370103" in outputs["foi-research regions"] and "370402" in outputs["foi-research regions"]
    st = tmp_path / "mydata" / "studies"
    m = json.loads((st / "region_profile" / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"] == {"region": "济南市/市中区", "years": [2019, 2023]}
    assert (tmp_path / "mydata" / "params" / "counties.yaml").exists() and (st / "counties" / "counties.html").exists()
    ranks = pl.read_csv(st / "counties" / "tables" / "comparison_ranks.csv")
    assert sorted(zip(ranks["unit_code"].cast(pl.String), ranks["unit"])) == [("370103", "济南市市中区"), ("370402", "枣庄市市中区")]
    assert {p.name for p in st.iterdir() if p.name.startswith("region_profile-")} == {"region_profile-370103", "region_profile-370402"}
    assert (st / "region_profile-370402" / "region_profile-370402.xlsx").exists()
