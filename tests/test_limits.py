"""Every input file ends in a reports row and a quality row, whatever its bytes, name, kind, size
or nesting, within per-file limits (issue 17, items 2, 4 and 5): unreadable subfolders, FIFOs,
names that are not UTF-8, numbers beyond int64, files past the time or memory limit, dead
workers. (Signals during a parse or a batch, kill -9, a worker killed by the out-of-memory
killer and a file stuck in C code are cases of the reliability battery: test_reliability.py.)"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import polars as pl
import pytest

import faults
from conftest import DATA, ROOT
from foi_research.executor import run_tasks
from foi_research.pipeline import MAX_COUNT, FileLimits, parse_file, parse_paths
from foi_research.validate.dataset import read_dataset

SEED = DATA / "seeds" / "004_c04978ea7ee6ff4b.txt"


def _cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "foi_research.cli", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def _rows(parsed):
    return [(r["status"], [q["check"] for q in parsed.quality if q["report_id"] == r["report_id"]]) for r in parsed.reports]


def _big(tmp_path, copies=200):
    f = tmp_path / "big.txt"
    f.write_text((DATA / "seeds" / "003_da27b6d9f425ca71.txt").read_text(encoding="utf-8") * copies, encoding="utf-8")
    return f


def test_a_fifo_is_reported_never_opened(tmp_path):
    """Issue 17.5: a FIFO named as input blocked forever."""
    d = tmp_path / "in"
    d.mkdir()
    os.mkfifo(d / "pipe.txt")
    (d / "a.txt").write_bytes(SEED.read_bytes())
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "sock.txt"))
    try:
        got = {os.path.basename(p.reports[0]["source_file"]): _rows(p) for p in parse_paths([d, d / "pipe.txt"], workers=1)}
    finally:
        s.close()
    assert got["pipe.txt"] == [("failed", ["not_a_file"])]
    assert got["sock.txt"] == [("failed", ["not_a_file"])]
    assert got["a.txt"][0][0] == "ok"


def test_an_unreadable_subfolder_gets_a_row(tmp_path, monkeypatch):
    """Issue 17.2: files in an unreadable subfolder were skipped without a row. (The test runs as
    root in CI, where permissions do not stop reading: the folder's listing is made to fail.)"""
    d = tmp_path / "in"
    (d / "locked").mkdir(parents=True)
    (d / "locked" / "x.txt").write_bytes(SEED.read_bytes())
    (d / "a.txt").write_bytes(SEED.read_bytes())
    real = os.scandir

    def scandir(p="."):
        if os.path.basename(os.fspath(p)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(p))
        return real(p)

    monkeypatch.setattr(os, "scandir", scandir)
    out = list(parse_paths([d], workers=1))
    assert len(out) == 2
    locked = next(p for p in out if p.reports[0]["source_file"].endswith("locked"))
    assert _rows(locked) == [("failed", ["not_a_file"])]
    assert "cannot be read (Permission denied)" in locked.quality[0]["message"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_an_unreadable_subfolder_for_a_real_user():
    """The same with real permissions: the parse runs as 'nobody' on a folder it cannot list."""
    import shutil
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp(prefix="foi-perm-", dir="/tmp"))
    request_cleanup = lambda: shutil.rmtree(base, ignore_errors=True)  # noqa: E731
    (base / "in" / "locked").mkdir(parents=True)
    (base / "in" / "a.txt").write_bytes(SEED.read_bytes())
    (base / "in" / "locked" / "x.txt").write_bytes(SEED.read_bytes())
    for p in (base, base / "in"):
        os.chmod(p, 0o755)
    os.chmod(base / "in" / "a.txt", 0o644)
    os.chmod(base / "in" / "locked", 0o000)
    code = (  # (everything is imported before dropping root: the Python install is root's)
        "import os\n"
        "from foi_research.pipeline import parse_paths\n"
        f"list(parse_paths([{str(SEED)!r}], workers=1))\n"
        "os.setgid(65534); os.setuid(65534)\n"
        f"for p in parse_paths([{str(base / 'in')!r}], workers=1):\n"
        "    print(p.reports[0]['source_file'], p.reports[0]['status'], [q['check'] for q in p.quality][:1])\n"
    )
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    finally:
        os.chmod(base / "in" / "locked", 0o755)
        request_cleanup()
    assert r.returncode == 0, r.stderr
    assert "locked failed ['not_a_file']" in r.stdout and "a.txt ok" in r.stdout


def test_a_file_name_that_is_not_utf8(tmp_path):
    """Issue 17.4: a file name that is not valid UTF-8 (GBK names from a Chinese Windows zip)
    stopped the whole run with a traceback."""
    d = tmp_path / "in"
    d.mkdir()
    gbk = "平阴县2021年报告.txt".encode("gbk")
    with open(os.path.join(os.fsencode(d), gbk), "wb") as f:
        f.write(SEED.read_bytes())
    with open(os.path.join(os.fsencode(d), b"\xff\xfe\xfa.txt"), "wb") as f:
        f.write(SEED.read_bytes())
    out = tmp_path / "ds"
    r = _cli("parse", str(d), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    ds = read_dataset(out)
    names = sorted(os.path.basename(s) for s in ds["reports"]["source_file"])
    assert names == sorted(["平阴县2021年报告.txt", "\\xff\\xfe\\xfa.txt"])
    assert set(ds["reports"]["status"]) == {"ok"}
    assert ds["quality"].filter(pl.col("check") == "file_name").height == 2


def test_numbers_beyond_int64_become_null_with_a_row(tmp_path):
    """Issue 17.4: a cell above int64 (9223372036854775808) stopped the run; 2^63-1 + 5 summed to a
    negative number. Counts beyond MAX_COUNT are null with a quality row, so no sum overflows."""
    text = SEED.read_text(encoding="utf-8")
    assert "| 3 | 0 | 0 | 0 | 0 | 0 | 3 |" in text
    big = text.replace("| 3 | 0 | 0 | 0 | 0 | 0 | 3 |", "| 9223372036854775808 | 0 | 0 | 0 | 0 | 0 | 9223372036854775807 |", 1)
    f = tmp_path / "in" / "big.txt"
    f.parent.mkdir()
    f.write_text(big, encoding="utf-8")
    p = parse_file(f)
    assert all(r["value"] is None or abs(r["value"]) <= MAX_COUNT for r in p.requests)
    q = [x for x in p.quality if x["check"] == "value_out_of_range"]
    assert len(q) == 2 and "9223372036854775808" in q[0]["message"]
    from foi_research.build import build_dataset

    m = build_dataset([f.parent], tmp_path / "ds", workers=1, csv=True)
    panel = pl.read_parquet(tmp_path / "ds" / "panel.parquet")
    for c in panel.select(pl.col(pl.Int64)).columns:
        assert (panel[c].drop_nulls() >= 0).all(), c
    assert m["rows"]["reports"] == 1


def test_the_time_limit_stops_one_file_and_the_others_go_on(tmp_path):
    """Issue 17.5: no per-file limits. A file past --max-seconds gets a failed row naming the
    limit; the batch goes on (in this process and on worker processes)."""
    big = _big(tmp_path)
    fl = FileLimits(max_seconds=0.3)
    for backend in ("serial", "processes"):
        out = {os.path.basename(p.reports[0]["source_file"]): _rows(p) for p in parse_paths([big, SEED], file_limits=fl, backend=backend, workers=2)}
        assert out["big.txt"] == [("failed", ["limit_time"])], backend
        assert out[SEED.name][0][0] == "ok", backend


def test_the_memory_limit_stops_one_file(tmp_path):
    """(In a fresh process: memory this test process freed earlier would be reused unseen.)"""
    big = _big(tmp_path, 600)  # about 40 MB while parsed; the seed (parsed first) about 9 MB
    r = _cli("parse", str(SEED), str(big), "--out", str(tmp_path / "ds"), "-q", "--max-memory-mb", "20")
    assert r.returncode == 0, r.stderr
    ds = read_dataset(tmp_path / "ds")
    q = ds["quality"].filter(pl.col("check") == "limit_memory")
    assert q.height == 1 and "per-file memory limit of 20 MB" in q["message"][0]
    assert sorted(ds["reports"]["status"]) == ["failed", "ok"]


def test_limits_from_the_command_line(tmp_path):
    big = _big(tmp_path)
    r = _cli("parse", str(big), str(SEED), "--out", str(tmp_path / "ds"), "-q", "--max-seconds", "0.3")
    assert r.returncode == 0, r.stderr
    ds = read_dataset(tmp_path / "ds")
    assert sorted(ds["reports"]["status"]) == ["failed", "ok"]
    assert "limit_time" in ds["quality"]["check"].to_list()
    r = _cli("parse", str(SEED), "--out", str(tmp_path / "ds2"), "--max-memory-mb", "-1")
    assert r.returncode == 2 and "must be positive" in r.stderr + r.stdout


def test_a_dead_worker_costs_only_its_file():
    """Issue 17.4: a worker killed for memory (BrokenProcessPool) stopped the whole run."""
    items = list(range(40))
    items[13] = ("kill", 13)
    got = list(run_tasks(faults.killed_at, items, backend="processes", workers=2, chunksize=4, on_lost=lambda i, c: ("lost", i, c)))
    assert got[13] == ("lost", ("kill", 13), -signal.SIGKILL)
    assert got[:13] + got[14:] == [i * 2 for i in range(40) if i != 13]


def test_the_limit_options_show_the_real_defaults():
    """The help of --max-* states the defaults of FileLimits and read.limits.Limits."""
    import re

    from foi_research import cli
    from foi_research.read.limits import OPTIONS, Limits

    helps = {}
    for name in ("MaxSeconds", "MaxMemoryMb", "MaxFileMb", "MaxPages", "MaxUnzippedMb", "MaxCells", "MaxTextChars"):
        opt = getattr(cli, name).__metadata__[0]
        helps[opt.default] = int(re.search(r"\(default (\d+)\)", opt.help).group(1))  # (Typer keeps the option name in .default)
    fl, lim, mb = FileLimits(), Limits(), 1 << 20
    assert helps["--max-seconds"] == fl.max_seconds and helps["--max-memory-mb"] * mb == fl.max_memory
    want = {"max_file_bytes": lim.max_file_bytes // mb, "max_pdf_pages": lim.max_pdf_pages, "max_unzipped_bytes": lim.max_unzipped_bytes // mb,
            "max_table_cells": lim.max_table_cells, "max_text_chars": lim.max_text_chars}
    assert {OPTIONS[k]: v for k, v in want.items()} == {k: v for k, v in helps.items() if k in OPTIONS.values()}
