"""Output folders (issue 17, item 1: data loss outside the dataset; item 6: the swap, staging
left behind, concurrent runs): a folder is replaced only when it is a foi-research output or
empty, in one atomic rename, one run at a time; a missing input is exit 2 and writes nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import DATA, ROOT
from foi_research import atomic
from foi_research.build import BuildError, build_dataset
from foi_research.pipeline import parse_file
from foi_research.validate.dataset import DatasetError, DatasetWriter, read_dataset

SEED = DATA / "seeds" / "001_37d8ade0c0ec5d8b.txt"


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "foi_research.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _write(out, *files):
    with DatasetWriter(out) as w:
        for f in files:
            w.add(parse_file(f))


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_web_folder_with_a_manifest_json_is_never_replaced(tmp_path):
    """Issue 17.1: `build --out W` where W holds any manifest.json deleted W's other files."""
    web = tmp_path / "site"
    web.mkdir()
    (web / "manifest.json").write_text('{"name": "my app", "start_url": "/"}', encoding="utf-8")
    (web / "index.html").write_text("<h1>hello</h1>", encoding="utf-8")
    before = _snapshot(web)
    with pytest.raises(DatasetError, match="not a foi-research dataset"):
        DatasetWriter(web)
    with pytest.raises(BuildError, match="not a foi-research dataset"):
        build_dataset([SEED], web, workers=1)
    r = _cli("build", str(SEED), "--out", str(web), "--workers", "1", "-q")
    assert r.returncode == 2 and "not a foi-research dataset" in r.stderr and "Traceback" not in r.stderr
    r = _cli("parse", str(SEED), "--out", str(web), "-q")
    assert r.returncode == 2 and "not a foi-research dataset" in r.stderr
    assert _snapshot(web) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging, no lock left


def test_a_dataset_holding_the_researchers_own_files_is_not_replaced(tmp_path):
    out = tmp_path / "ds"
    _write(out, SEED)
    (out / "my_notes.txt").write_text("do not lose me", encoding="utf-8")
    with pytest.raises(DatasetError, match="holds files it did not write.*my_notes.txt"):
        DatasetWriter(out)
    assert (out / "my_notes.txt").read_text(encoding="utf-8") == "do not lose me"
    (out / "my_notes.txt").unlink()
    _write(out, SEED)  # without them it is replaced as before


def test_only_hidden_files_is_not_empty(tmp_path):
    """A folder holding only a .git is not empty (the old check ignored hidden names)."""
    out = tmp_path / "repo"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    with pytest.raises(DatasetError):
        DatasetWriter(out)
    assert (out / ".git" / "HEAD").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"\0")  # what a file browser drops: still empty
    _write(empty, SEED)
    assert read_dataset(empty)["reports"].height == 1


def test_the_manifest_carries_the_format_marker_and_contents(tmp_path):
    out = tmp_path / "ds"
    _write(out, SEED)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["format"] == atomic.DATASET
    assert set(m["contents"]) == {p.name for p in out.iterdir()}
    b = build_dataset([SEED], tmp_path / "b", workers=1, csv=True)
    assert b["format"] == atomic.DATASET and set(b["contents"]) == {p.name for p in (tmp_path / "b").iterdir()}


def test_a_dataset_written_before_the_marker_is_still_replaced(tmp_path):
    out = tmp_path / "ds"
    _write(out, SEED)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for k in ("format", "contents"):
        m.pop(k)
    (out / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    _write(out, SEED, DATA / "seeds" / "002_fd629941e7a907e0.txt")
    assert read_dataset(out)["reports"].height == 2


def test_missing_input_is_exit_2_and_the_dataset_is_kept(tmp_path):
    """Issue 17.1: `parse /no/such/dir --out X` replaced a good dataset with one failed row."""
    out = tmp_path / "ds"
    _write(out, SEED)
    before = _snapshot(out)
    for cmd in (["parse", str(tmp_path / "no" / "such"), "--out", str(out)], ["parse", str(SEED), str(tmp_path / "nope.txt"), "--out", str(out)],
                ["build", str(tmp_path / "no"), "--out", str(out)]):
        r = _cli(*cmd, "-q")
        assert r.returncode == 2, (cmd, r.stderr)
        assert "not found" in r.stderr and "Traceback" not in r.stderr
    r = _cli("evaluate", "--truth", str(tmp_path / "nonexistent"), "--min-t3", "0.99")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = _cli("run", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = _cli("batch", str(tmp_path / "nope"))
    assert r.returncode == 2
    assert _snapshot(out) == before


def test_a_study_file_named_dot_dot_yaml_cannot_move_the_studies_folder(tmp_path):
    """Issue 17.1: a params file named `..yaml` moved the whole studies folder to a hidden .old."""
    from foi_research.present import studies

    out = tmp_path / "studies"
    (out / "other").mkdir(parents=True)
    (out / "other" / "keep.txt").write_text("x")
    for name in ("..yaml", ".yaml", "_x.yaml", "a b.yaml"):
        pf = tmp_path / name
        pf.write_text("notebook: region_profile.ipynb\nparameters:\n  region: 淄博市\n", encoding="utf-8")
        with pytest.raises(studies.StudyError, match="cannot name a study"):
            studies.load_study(pf)
        r = studies.run_study(pf, out)
        assert not r.ok and "cannot name a study" in r.error
    assert (out / "other" / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["studies", "..yaml", ".yaml", "_x.yaml", "a b.yaml"])


def test_a_study_folder_that_is_not_a_study_is_not_replaced(tmp_path):
    from foi_research.present import studies

    out = tmp_path / "studies"
    (out / "zibo").mkdir(parents=True)
    (out / "zibo" / "thesis.docx").write_bytes(b"precious")
    pf = tmp_path / "zibo.yaml"
    pf.write_text("notebook: region_profile.ipynb\nparameters:\n  region: 淄博市\n", encoding="utf-8")
    r = studies.run_study(pf, out, dataset="")
    assert not r.ok and "not a foi-research study folder" in r.error
    assert (out / "zibo" / "thesis.docx").read_bytes() == b"precious"


def test_yaml_alias_bomb_fails_fast(tmp_path):
    """Issue 17.5: a 316-byte YAML alias bomb as params ran for more than 5 minutes."""
    from foi_research.present import studies

    lines = ["notebook: region_profile.ipynb", "parameters:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, (x, y) in enumerate(zip("bcdefgh", "abcdefg")):
        lines.append(f"  {x}: &{x} [" + ",".join([f"*{y}"] * 9) + "]")
    lines.append("  region: *h")
    pf = tmp_path / "bomb.yaml"
    pf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(pf.read_bytes()) < 400
    with pytest.raises(studies.StudyError, match="aliases"):
        studies.load_study(pf)
    r = _cli("run", str(pf), "--out", str(tmp_path / "out"))
    assert r.returncode != 0 and "aliases" in (r.stdout + r.stderr) and "Traceback" not in r.stderr
    deep = tmp_path / "deep.yaml"
    deep.write_text("notebook: region_profile.ipynb\nparameters:\n  x: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(studies.StudyError):
        studies.load_study(deep)


def test_swap_is_one_atomic_exchange(tmp_path, monkeypatch):
    """Issue 17.6: the swap was two renames (a kill between them left no dataset at the path).
    Now one renameat2(RENAME_EXCHANGE): at no moment is the path missing or half-written."""
    out = tmp_path / "ds"
    _write(out, SEED)
    renames = []
    real = os.rename
    monkeypatch.setattr(atomic.os, "rename", lambda a, b: (renames.append((a, b)), real(a, b))[1])
    _write(out, SEED, DATA / "seeds" / "002_fd629941e7a907e0.txt")
    assert renames == []  # no rename of the old dataset out of the way
    assert read_dataset(out)["reports"].height == 2


def test_fallback_swap_killed_between_its_renames_is_recovered(tmp_path, monkeypatch):
    """Where the file system cannot exchange, a kill between the two renames leaves the previous
    dataset beside the path; the next run (or read_dataset) puts it back."""
    out = tmp_path / "ds"
    _write(out, SEED)
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    real = os.rename
    calls = []

    def killed_after_first(a, b):
        calls.append(a)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a kill between the renames
        return real(a, b)

    monkeypatch.setattr(atomic.os, "rename", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        _write(out, SEED, DATA / "seeds" / "002_fd629941e7a907e0.txt")
    monkeypatch.setattr(atomic.os, "rename", real)
    assert not out.exists()
    assert read_dataset(out)["reports"].height == 1  # the previous dataset, put back
    _write(out, SEED, DATA / "seeds" / "002_fd629941e7a907e0.txt")
    assert read_dataset(out)["reports"].height == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_staging_of_a_killed_run_is_cleaned_and_a_concurrent_run_is_refused(tmp_path):
    out = tmp_path / "ds"
    # a run killed with SIGKILL while writing: its staging folder stays
    code = (
        "import os, sys\n"
        "from foi_research.validate.dataset import DatasetWriter\n"
        "from foi_research.pipeline import parse_file\n"
        f"w = DatasetWriter({str(out)!r}, batch_files=1)\n"
        f"w.add(parse_file({str(SEED)!r}))\n"
        "os.kill(os.getpid(), 9)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == -9
    left = [p.name for p in tmp_path.iterdir()]
    assert any(".staging-" in n for n in left), left
    # a run holding the folder: a second one is refused with a message naming it
    holder = atomic.Staging(out)
    try:
        with pytest.raises(DatasetError, match="another foi-research run .*process"):
            DatasetWriter(out)
        r = _cli("parse", str(SEED), "--out", str(out), "-q")
        assert r.returncode == 2 and "another foi-research run" in r.stderr
    finally:
        holder.abort()
    _write(out, SEED)  # the next run cleans what the killed one left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_out_on_a_mount_point_or_a_file_is_a_clear_error(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(DatasetError, match="is a file"):
        DatasetWriter(f)
    with pytest.raises(atomic.OutputError, match="mount point"):
        atomic.Staging("/")
    if os.path.ismount("/proc"):
        with pytest.raises(atomic.OutputError, match="mount point"):
            atomic.Staging("/proc")
