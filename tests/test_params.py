"""Parameter files: every key is a parameter of its notebook (papermill only warns about unknown
names, so a typo would silently run the default), with a value of the right kind."""
from __future__ import annotations

import ast

import nbformat
import papermill
import pytest
import yaml

from conftest import ROOT
from foi_research.present import studies

PARAMS = sorted((ROOT / "params").glob("*.yaml"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "str"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, dict):
        return "dict"
    return "none" if v is None else type(v).__name__


def _parameters_cell(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    return next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))


def test_there_is_a_study_per_notebook():
    assert PARAMS, "params/ holds no study"
    used = {yaml.safe_load(p.read_text(encoding="utf-8"))["notebook"] for p in PARAMS}
    assert used == {p.name for p in NOTEBOOKS}, "every notebook is run by at least one params file, and only stored notebooks are referenced"


@pytest.mark.parametrize("path", PARAMS, ids=lambda p: p.stem)
def test_params_keys_are_notebook_parameters(path):
    study = studies.load_study(path)
    declared = papermill.inspect_notebook(str(study.notebook))
    assert study.parameters, f"{path.name} sets no parameter"
    for key, value in study.parameters.items():
        assert key in declared, f"{path.name}: {key!r} is not a parameter of {study.notebook.name} ({', '.join(declared)})"
        assert key not in studies.RESERVED_PARAMETERS, f"{path.name}: {key} is set by the runner"
        default = ast.literal_eval(declared[key]["default"])
        assert _kind(value) == _kind(default), f"{path.name}: {key} = {value!r} is a {_kind(value)}, the notebook's default {default!r} a {_kind(default)}"
    assert studies.check_study(study) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_sees_every_assignment_of_the_parameters_cell(path):
    """papermill's parser skips lines it cannot read (a quote inside a comment, for example); then
    the runner's check would let a params key through that papermill cannot set."""
    tree = ast.parse(_parameters_cell(path).source)
    assigned = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets]
    declared = list(papermill.inspect_notebook(str(path)))
    assert assigned == declared
    assert {"output_dir", "dataset"} <= set(declared), "the runner injects output_dir and dataset"


def test_a_misspelt_key_is_reported_before_running(tmp_path):
    p = tmp_path / "typo.yaml"
    p.write_text("notebook: region_profile.ipynb\nparameters:\n  regoin: 淄博市\n", encoding="utf-8")
    problems = studies.check_study(studies.load_study(p))
    assert [x.key for x in problems] == ["regoin"]
    r = studies.run_study(p, tmp_path / "out")
    assert r.status == "failed" and "regoin" in r.error and "not a parameter" in r.error
    assert not (tmp_path / "out" / "typo").exists()


def test_malformed_study_files_are_reported(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("notebook: region_profile.ipynb\nregion: 淄博市\n", encoding="utf-8")
    with pytest.raises(studies.StudyError, match="under 'parameters:'"):
        studies.load_study(p)
    p.write_text("notebook: nowhere.ipynb\n", encoding="utf-8")
    with pytest.raises(studies.StudyError, match="not found"):
        studies.load_study(p)
