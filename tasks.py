#!/usr/bin/env python3
"""The two commands of the README, runnable on a fresh machine with nothing but Python >= 3.11.

    python3 tasks.py main    # build the dataset from data/ and run every study in params/
    python3 tasks.py test    # run the whole test suite

Both create the virtual environment .venv (pip install -e ".[test]") on first use and register
the Jupyter kernel. Inside an activated conda environment made from environment.yml (or any
environment where foi_research is already installed) they use that environment instead.
Extra arguments are passed on: `python3 tasks.py test -k seeds`, `python3 tasks.py main --jobs 1`.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def _in_ready_env() -> bool:
    """True when this interpreter already has the package and the test tools (conda users)."""
    if os.environ.get("FOI_USE_CURRENT_PYTHON") == "1":
        return True
    if os.environ.get("CONDA_PREFIX") and Path(sys.prefix) == Path(os.environ["CONDA_PREFIX"]):
        try:
            import foi_research  # noqa: F401
            import pytest  # noqa: F401

            return True
        except ImportError:
            return False
    return False


def python() -> str:
    if _in_ready_env():
        return sys.executable
    py = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = VENV / ".installed"
    pyproject = ROOT / "pyproject.toml"
    if not py.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not stamp.exists() or stamp.stat().st_mtime < pyproject.stat().st_mtime:
        print("installing foi-research and its dependencies (first run only) ...", flush=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"], check=True)
        stamp.write_text("ok\n")
    return str(py)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("main", "test", "lab", "setup"):
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    py = python()
    env = dict(os.environ, PYTHONHASHSEED="0")
    if cmd == "setup":
        return 0
    if cmd == "main":
        return subprocess.run([py, "-m", "foi_research.cli", "all", *rest], cwd=ROOT, env=env).returncode
    if cmd == "lab":
        return subprocess.run([py, "-m", "foi_research.cli", "lab", *rest], cwd=ROOT, env=env).returncode
    return subprocess.run([py, "-m", "pytest", *rest], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
