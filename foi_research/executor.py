"""Run independent tasks serially, on local processes, or on a Dask cluster, with a progress bar.

Used by parsing (one task per file) and by notebook batches (one task per study). Task functions
must be top-level (picklable) and must not raise for bad input: they return a result describing
the failure instead, so that one bad task never stops the others. Results are yielded in input
order while at most `window` tasks are in flight, so memory stays bounded on huge inputs.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

BACKENDS = ("auto", "serial", "processes", "dask")


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_tasks(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    total: int | None = None,
    backend: str = "auto",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = False,
    desc: str = "",
    unit: str = "task",
    chunksize: int = 8,
    min_parallel: int = 64,
) -> Iterator[Any]:
    """Yield fn(item) for every item, in order.

    backend: 'serial' (this process), 'processes' (a local pool of `workers`, default all
    cores), 'dask' (the Dask scheduler at `address`, or a LocalCluster of `workers` processes when
    no address is given), 'auto' (processes when there are at least `min_parallel` items and more
    than one core, else serial; dask when an address is given)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    items = list(items) if total is None else items
    n = total if total is not None else len(items)  # type: ignore[arg-type]
    if backend == "auto":
        if address:
            backend = "dask"
        elif n >= min_parallel and (workers or default_workers()) > 1:
            backend = "processes"
        else:
            backend = "serial"
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc=desc or None, unit=unit, disable=n < 2, dynamic_ncols=True)
    try:
        if backend == "serial":
            gen = (fn(x) for x in items)
        elif backend == "processes":
            gen = _processes(fn, items, workers or default_workers(), chunksize)
        else:
            gen = _dask(fn, items, workers, address)
        for r in gen:
            if bar is not None:
                bar.update(1)
            yield r
    finally:
        if bar is not None:
            bar.close()


def _processes(fn, items, workers: int, chunksize: int) -> Iterator[Any]:
    import multiprocessing as mp

    ctx = mp.get_context("forkserver") if "forkserver" in mp.get_all_start_methods() else mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        yield from pool.imap(fn, items, chunksize=chunksize)


def _dask(fn, items, workers: int | None, address: str | None) -> Iterator[Any]:
    from dask.distributed import Client, LocalCluster

    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(
            n_workers=workers or default_workers(), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        nworkers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
        window = max(8, nworkers * 16)
        inflight: deque = deque()
        it = iter(items)
        for x in it:
            inflight.append(client.submit(fn, x, pure=False))
            if len(inflight) >= window:
                yield inflight.popleft().result()
        while inflight:
            yield inflight.popleft().result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
