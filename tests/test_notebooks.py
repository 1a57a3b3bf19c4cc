"""The stored notebooks: executed with their default parameters, static and offline, and nbval
re-executes them and finds the same outputs (run after run).

nbval runs in a subprocess on notebooks/ (not collected by the default `pytest`, whose testpaths
is tests/, so nothing runs twice). When the parser, the panel or a notebook changes, re-execute the
stored notebooks with `python -m foi_research.present.studies refresh` and commit them.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT

NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
REFRESH = "python -m foi_research.present.studies refresh"


def test_the_research_notebooks_are_there():
    assert {p.stem for p in NOTEBOOKS} >= {"region_profile", "county_comparison", "regulation_2019"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebook_is_executed_static_and_offline(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3", "use ipykernel's python3 kernel (exists on every machine)"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    # executed in order, every cell, with outputs nbval can compare
    counts = [c.execution_count for c in code]
    assert None not in counts, f"{path.name} has unexecuted cells: run `{REFRESH}`"
    assert counts == sorted(counts)
    outs = [o for c in code for o in c.outputs]
    assert not [o for o in outs if o.output_type == "error"], f"{path.name} stored with an error"
    mimes = {m for o in outs for m in o.get("data", {})}
    assert "image/svg+xml" in mimes, "charts must be stored as static svg"
    assert "application/vnd.jupyter.widget-view+json" not in mimes, f"{path.name} was saved with interactive widgets: run `{REFRESH}`"
    text = json.dumps([o for o in outs])
    assert not re.search(r"<script[^>]+src=\"https?://", text), "outputs load scripts from the network"
    assert not re.search(r"0x[0-9a-f]{8,}", text), "a memory address in the outputs"
    assert "/tmp/" not in text and str(ROOT) not in text, "a machine-specific path in the outputs"
    # no timing metadata or papermill residue that would churn on every run
    for c in nb.cells:
        assert "execution" not in c.metadata and "papermill" not in c.metadata
    assert "papermill" not in nb.metadata


def test_nbval_reproduces_every_stored_notebook():
    """Execute every stored notebook again and compare with its stored outputs (nbval)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FOI_CHARTS", "PYTEST_ADDOPTS")}
    env["PYTHONHASHSEED"] = "0"
    cmd = [
        sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE),
        "-p", "no:cacheprovider", "-q", "-W", "ignore::DeprecationWarning", str(NB_DIR),
    ]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    tail = "\n".join((r.stdout + r.stderr).splitlines()[-60:])
    assert r.returncode == 0, f"nbval found differences (if intended, run `{REFRESH}`):\n{tail}"
    m = re.search(r"(\d+) passed", r.stdout)
    n_cells = sum(1 for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
    assert m and int(m.group(1)) == n_cells, f"nbval did not check every code cell:\n{tail}"
