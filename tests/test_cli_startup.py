"""Start-up: `--help`, `--version` and `parse` import only what they need (no polars, pyarrow,
pandera, pandas, PDF or OCR engine before a file is read); the stage commands listed by `--help`
from their source are the ones Typer builds; the cached code list is codes.yaml's. Timings are
measured by benchmarks/formats.py, not asserted here."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import typer
import yaml

from conftest import ROOT

HEAVY = ("polars", "pyarrow", "pandera", "pandas", "numpy", "pdfplumber", "pypdfium2", "rapidocr", "onnxruntime", "docx", "python_calamine")


def _imported_after(argv: list[str], cwd=ROOT) -> tuple[list[str], str]:
    code = (
        "import sys, json\n"
        f"sys.argv = ['foi-research', *{argv!r}]\n"
        "from foi_research import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        f"print('\\nMODULES=' + json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=dict(os.environ, COLUMNS="200"))
    line = next(x for x in r.stdout.splitlines() if x.startswith("MODULES="))
    return json.loads(line[len("MODULES="):]), r.stdout + r.stderr


def test_help_and_version_import_nothing_heavy():
    for argv in (["--help"], ["--version"], ["parse", "--help"], ["evaluate", "--help"]):
        mods, out = _imported_after(argv)
        assert mods == [], (argv, mods)
    mods, out = _imported_after(["--version"])
    assert "foi-research 0.1.0" in out
    mods, out = _imported_after(["--help"])
    for name in ("parse", "build", "run", "batch", "lab", "all", "evaluate"):
        assert f" {name} " in out, name


def test_parse_imports_no_dataframe_library_before_reading(tmp_path):
    """What `parse` imports up to the first read: the pipeline and the text reader."""
    code = (
        "import sys, json\n"
        "from foi_research import cli, pipeline\n"
        "from foi_research.read import read\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert json.loads(r.stdout) == [], r.stderr


def test_stage_commands_listed_from_source_are_the_real_ones():
    from foi_research import cli

    sub = typer.Typer()
    cli._register_commands(sub)
    real = {n: c.get_short_help_str(limit=10_000) for n, c in typer.main.get_group(sub).commands.items()}
    listed = cli._stage_commands()
    assert set(listed) == set(real)
    for name, short in listed.items():
        assert real[name].startswith(short.split(".")[0]), (name, short, real[name])


def test_a_stage_command_runs_when_called(tmp_path):
    r = subprocess.run([sys.executable, "-m", "foi_research.cli", "build", "--help"], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, COLUMNS="200"))
    assert r.returncode == 0 and "--out" in r.stdout


def test_cached_code_list_is_codes_yaml(tmp_path, monkeypatch):
    from foi_research.reference import codes

    text = (ROOT / "foi_research" / "reference" / "codes.yaml").read_text(encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    codes.raw.cache_clear()
    try:
        first = codes.raw()  # builds the cache
        assert list((tmp_path / "foi-research").glob("codes-*.marshal"))
        codes.raw.cache_clear()
        assert codes.raw() == first == yaml.safe_load(text)  # read back from the cache
        # a changed codes.yaml has another key: never the stale copy
        assert codes._cache_path(text.encode() + b"\n# edit\n") != codes._cache_path(text.encode())
    finally:
        codes.raw.cache_clear()
