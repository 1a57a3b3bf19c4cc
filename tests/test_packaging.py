"""The conda environment and pyproject list the same dependencies; the console script exists."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

import yaml

from conftest import ROOT


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = py["project"]["dependencies"] + py["project"]["optional-dependencies"]["test"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = [x for x in pip if not x.startswith("-e")]
    assert sorted(listed) == sorted(wanted), (
        "environment.yml and pyproject.toml differ: only in pyproject: "
        f"{sorted(set(wanted) - set(listed))}; only in environment.yml: {sorted(set(listed) - set(wanted))}"
    )
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str))
    assert "-e ." in pip


def test_console_script_and_module_entry_point():
    exe = shutil.which("foi-research", path=str(ROOT / ".venv" / "bin")) or shutil.which("foi-research")
    assert exe, "the foi-research command is not installed (pip install -e .)"
    r = subprocess.run([sys.executable, "-m", "foi_research.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "parse" in r.stdout


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "python3 tasks.py test" in ci
    assert "python3 tasks.py test" in readme and "python3 tasks.py main" in readme
