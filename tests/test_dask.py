"""Parsing and batch runs on a Dask distributed cluster give what the serial path gives.

One LocalCluster of two worker processes serves the tests that pass a scheduler address (the way
a real cluster is used: `foi-research parse --dask tcp://host:8786`); one CLI run uses
`--backend dask` without an address, which starts and stops its own LocalCluster. The local
process pool (the default for large inputs) is checked against the serial path too.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("dask.distributed")

from foi_research import synth  # noqa: E402
from foi_research.validate.dataset import DatasetWriter, read_dataset  # noqa: E402
from foi_research.executor import run_tasks  # noqa: E402
from foi_research.model import TABLES  # noqa: E402
from foi_research.pipeline import parse_paths

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dask-corpus")
    synth.write_corpus(d, 30, seed=3, reports_per_file=3)  # 10 files of 3 reports, all templates
    synth.write_corpus(d / "single", 6, seed=4, reports_per_file=1)
    (d / "empty.txt").write_bytes(b"")  # unreadable input: a failed report, never a crash
    (d / "binary.txt").write_bytes(bytes(range(256)) * 8)
    return d


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def serial(corpus, tmp_path_factory) -> dict[str, pl.DataFrame]:
    return _dataset([corpus], tmp_path_factory.mktemp("serial") / "ds", backend="serial")


def _dataset(inputs, out: Path, **kw) -> dict[str, pl.DataFrame]:
    with DatasetWriter(out, batch_files=4) as w:
        for p in parse_paths(inputs, **kw):
            w.add(p)
    return read_dataset(out)


def _assert_same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    for t in TABLES:
        x, y = a[t], b[t]
        assert x.columns == y.columns and x.schema == y.schema, t
        assert x.height == y.height, t
        # same rows in the same order: parse_paths yields results in input order on every backend
        assert x.equals(y, null_equal=True), t


def test_serial_dataset_is_not_trivial(serial):
    assert serial["reports"].height >= 36
    assert set(serial["reports"]["status"]) >= {"ok", "failed"}
    assert serial["requests"].height > 500


def test_dask_cluster_address_matches_serial(corpus, tmp_path, cluster, serial):
    got = _dataset([corpus], tmp_path / "ds", backend="dask", address=cluster.scheduler_address)
    _assert_same(serial, got)


def test_address_alone_selects_dask(corpus, tmp_path, cluster, serial):
    got = _dataset([corpus], tmp_path / "ds", address=cluster.scheduler_address)  # backend 'auto'
    _assert_same(serial, got)


def test_local_processes_match_serial(corpus, tmp_path, serial):
    got = _dataset([corpus], tmp_path / "ds", backend="processes", workers=2)
    _assert_same(serial, got)


def test_run_tasks_on_dask_keeps_input_order(cluster):
    items = list(range(-60, 60))
    got = list(run_tasks(abs, items, backend="dask", address=cluster.scheduler_address))
    assert got == [abs(x) for x in items]


def test_cli_parse_with_dask_address(corpus, tmp_path, cluster, serial):
    from typer.testing import CliRunner

    from foi_research.cli import app

    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["parse", str(corpus), "--out", str(out), "--dask", cluster.scheduler_address, "-q"])
    assert res.exit_code == 0, res.output
    _assert_same(serial, read_dataset(out))


def test_cli_parse_backend_dask_starts_a_local_cluster(corpus, tmp_path, serial):
    """The console script, as a user runs it: `--backend dask` without an address."""
    out = tmp_path / "cli-local"
    exe = Path(sys.executable).with_name("foi-research")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "foi_research.cli"]
    res = subprocess.run(
        [*cmd, "parse", str(corpus), "--out", str(out), "--backend", "dask", "--workers", "2", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    _assert_same(serial, read_dataset(out))


def test_process_pool_is_bounded_and_can_stop_early():
    """The local pool pulls items lazily (at most 16 chunks per worker ahead of the consumer)
    and a consumer that stops early does not hang the pool."""
    import time

    pulled: list[int] = []

    def items():
        for i in range(1_000_000):
            pulled.append(i)
            yield -i

    gen = run_tasks(abs, items(), total=1_000_000, backend="processes", workers=2, chunksize=4)
    first = [next(gen) for _ in range(10)]
    time.sleep(0.5)  # give the feeder every chance to run ahead
    assert first == list(range(10))
    assert len(pulled) <= 10 + 2 * 16 * 4 + 4  # consumed + (workers x 16) chunks of 4 + one being cut
    # close() must return (a deadlock would hang here; the thread only turns that into a failure,
    # its generous limit is not a speed requirement) and the feeder must stop pulling items
    import threading

    closer = threading.Thread(target=gen.close, daemon=True)
    closer.start()
    closer.join(timeout=120)
    assert not closer.is_alive(), "closing the pool early hung"
    n = len(pulled)
    time.sleep(0.5)
    assert len(pulled) == n, "the feeder kept pulling items after the pool was closed"


def test_writer_flushes_by_rows_and_stays_atomic(corpus, tmp_path, serial):
    """Listings of many reports per file: the writer flushes every `batch_rows` pending rows, not
    only every `batch_files` files, and nothing appears at the destination before close()."""
    out = tmp_path / "ds"
    w = DatasetWriter(out, batch_files=10**6, batch_rows=300)
    flushed_early = False
    for p in parse_paths([corpus], backend="serial"):
        w.add(p)
        assert w.pending_rows < 300 + 2000
        flushed_early |= sum(w.counts.values()) > 0
        assert not out.exists()
    assert flushed_early
    w.close()
    _assert_same(serial, read_dataset(out))


def test_benchmark_stages_run(tmp_path):
    """benchmarks/bench.py's stage runner on a tiny corpus (no timing is asserted)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    src = tmp_path / "c"
    synth.write_corpus(src, 6, seed=9, reports_per_file=2)
    res = bench.measure([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "_stage", "parse", str(src), str(tmp_path / "o"), "1"])
    assert res["returncode"] == 0, res["stderr"]
    assert res["stage"]["reports"] == 6 and res["peak_rss"] > 0 and res["cpu"] > 0
    row = {"reports": 6, "files": 3, "per_file": 2, "floor_s": 0.1, "parse_s": res["stage"]["seconds"], "parse_cpu": res["cpu"], "parse_rss": res["peak_rss"]}
    assert bench.table([row]).count("\n") == 2 and bench.verdict([row])
