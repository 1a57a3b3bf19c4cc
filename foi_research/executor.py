"""Run independent tasks serially, on local processes, or on a Dask cluster, with a progress bar.

Used by parsing (one task per file) and by notebook batches (one task per study). Task functions
must be top-level (picklable) and must not raise for bad input: they return a result describing
the failure instead, so that one bad task never stops the others. Results are yielded in input
order while at most `window` tasks are in flight, so memory stays bounded on huge inputs.

Faults:
- A worker process that dies (killed for memory by the kernel, a crash inside a C library, a
  per-file limit that had to end it: see pipeline.py) costs only its own task: the tasks it and
  the other workers had in hand are run again, one at a time on a fresh pool, and the one that
  kills its worker again gets `on_lost(item, exitcode)` as its result. On Dask, a task that
  kills its workers (dask.distributed.KilledWorker) is treated the same way.
- SIGTERM and SIGHUP raise `Terminated` in the main thread while `signals_as_exceptions()` is
  active (the CLI); with SIGINT's KeyboardInterrupt it unwinds the run: the workers, their
  children (Jupyter kernels) and the helper processes of multiprocessing are ended, not waited
  for. Workers watch the process that started them and end themselves (and their children)
  when it is gone, so a `kill -9` of the command leaves no process behind either.
"""
from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

BACKENDS = ("auto", "serial", "processes", "dask")


class ExecutorError(ValueError):
    """The run cannot start (unknown backend, unreachable Dask scheduler); the message says what to
    do. A command error: exit 2."""


class Terminated(KeyboardInterrupt):
    """The process was asked to end (SIGTERM, SIGHUP)."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signum)
        self.signum = signum


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def check_backend(backend: str, address: str | None = None) -> None:
    if backend not in BACKENDS:
        raise ExecutorError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


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
    on_lost: Callable[[Any, int | None], Any] | None = None,
) -> Iterator[Any]:
    """Yield fn(item) for every item, in order.

    backend: 'serial' (this process), 'processes' (a local pool of `workers`, default all
    cores), 'dask' (the Dask scheduler at `address`, or a LocalCluster of `workers` processes when
    no address is given), 'auto' (processes when there are at least `min_parallel` items and more
    than one core, else serial; dask when an address is given).

    `chunksize` items travel together to a worker (process pool and Dask); on every backend at
    most a bounded number of chunks per worker are in flight and not yet consumed (16 on the
    process pool, 4 on Dask), so memory stays bounded however many items there are and however
    slowly the consumer takes the results.

    `on_lost(item, exitcode)`: the result of an item whose worker died while running it alone
    (exitcode of the worker process, None when unknown); without it a dead worker raises."""
    check_backend(backend, address)
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
            gen = _processes(fn, items, workers or default_workers(), chunksize, on_lost=on_lost)
        else:
            gen = _dask(fn, items, workers, address, chunksize, on_lost=on_lost)
        for r in gen:
            if bar is not None:
                bar.update(1)
            yield r
    finally:
        if bar is not None:
            bar.close()


# ---------------------------------------------------------------------------------------------
# Local processes


def _processes(fn, items, workers: int, chunksize: int, window: int | None = None, on_lost=None) -> Iterator[Any]:
    """Chunks of `chunksize` items run on a ProcessPoolExecutor; at most `window` chunks (default
    16 per worker) are submitted and not yet consumed, so memory stays bounded however many items
    there are, while the workers keep busy when the consumer pauses (the dataset writer
    validating a batch). Items are pulled from `items` only as chunks are submitted.

    (multiprocessing.Pool is not used: its worker-handler thread wakes up whenever a result waits
    in the queue and spins until the result thread takes it, which cost the main process about
    1.4 s of CPU per 10,000 files parsed.)"""
    from concurrent.futures.process import BrokenProcessPool

    pool = _Pool(workers)
    window = max(window or workers * 16, 2)
    inflight: deque = deque()  # (future, chunk)
    chunks = _chunks(items, max(1, chunksize))
    ok = False
    try:
        while True:
            for chunk in chunks:
                inflight.append((pool.submit(_call_chunk, fn, chunk), chunk))
                if len(inflight) >= window:
                    break
            if not inflight:
                break
            fut, chunk = inflight.popleft()
            try:
                results = fut.result()
            except BrokenProcessPool:
                if on_lost is None:
                    raise
                # a worker died: every chunk not finished is run again, one item at a time, so
                # that only the item that kills its worker is lost
                lost = [(fut, chunk), *inflight]
                inflight.clear()
                pool.restart()
                for f, c in lost:
                    done = f.done() and not f.cancelled() and f.exception() is None
                    if done:
                        yield from f.result()
                    else:
                        for item in c:
                            yield pool.run_alone(fn, item, on_lost)
                continue
            yield from results
        ok = True
    except GeneratorExit:  # the consumer stopped early, or is unwinding after a signal
        ok = not _INTERRUPTED
        raise
    finally:
        # normal end or a consumer that stops early: let the running chunks end; anything else
        # (Ctrl-C, SIGTERM, an error): end the workers and their children now
        pool.close(wait=ok)


class _Pool:
    """A ProcessPoolExecutor (forkserver) whose workers watch this process, that can be rebuilt
    after a worker died and ended with the workers' process trees."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None
        self.seen: dict = {}  # pid -> multiprocessing.Process (exit codes after a break)
        self._start()

    def _start(self) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("forkserver") if "forkserver" in mp.get_all_start_methods() else mp.get_context("spawn")
        self.pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(), _create_time(os.getpid())))
        self.seen = {}

    def submit(self, *a):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        try:
            f = self.pool.submit(*a)
        except BrokenProcessPool as e:  # (a worker died since the last result: the caller recovers)
            f = Future()
            f.set_exception(e)
            return f
        procs = getattr(self.pool, "_processes", None)
        if procs and len(procs) != len(self.seen):
            self.seen.update(procs)
        return f

    def exitcode(self) -> int | None:
        """Exit code of the worker that died (not one the pool terminated after it)."""
        codes = [p.exitcode for p in self.seen.values() if p.exitcode not in (None, 0)]
        own = [c for c in codes if c != -signal.SIGTERM]
        return (own or codes or [None])[0]

    def restart(self) -> None:
        self.close(wait=False)
        self._start()

    def run_alone(self, fn, item, on_lost):
        """fn(item) on the pool with nothing else running; on_lost(item, exitcode) if its worker
        dies, twice (a worker killed from outside, by chance while it ran this item, gets a
        second chance)."""
        from concurrent.futures.process import BrokenProcessPool

        code = None
        for _ in range(2):
            try:
                return self.submit(_call_chunk, fn, [item]).result()[0]
            except BrokenProcessPool:
                code = self.exitcode()
                self.restart()
                if code is not None and (code > 0 or code == -getattr(signal, "SIGXCPU", 0)):
                    break  # the worker ended itself over this item, or hit its CPU limit (pipeline.py)
        return on_lost(item, code)

    def close(self, wait: bool) -> None:
        pool, self.pool = self.pool, None
        if pool is None:
            return
        if wait:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        procs = list((getattr(pool, "_processes", None) or {}).values()) or list(self.seen.values())
        end_process_trees([p.pid for p in procs if p.pid])
        pool.shutdown(wait=False, cancel_futures=True)


_IN_TASK = False  # a worker is running a chunk (SIGTERM then ends it through its clean-up)


def _call_chunk(fn, chunk: list) -> list:
    """Top-level task for the process pool and Dask: run fn over a chunk of items (one round trip
    per chunk instead of per item)."""
    global _IN_TASK
    _IN_TASK = True
    try:
        return [fn(x) for x in chunk]
    finally:
        _IN_TASK = False


def _chunks(items, size: int) -> Iterator[list]:
    buf: list = []
    for x in items:
        buf.append(x)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


# ---------------------------------------------------------------------------------------------
# Workers: watch the parent, end with it


def _create_time(pid: int) -> float | None:
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:
        return None


def _alive(pid: int, ctime: float | None) -> bool:
    """The process that started this worker still runs (not a zombie, not a reused pid)."""
    try:
        import psutil

        p = psutil.Process(pid)
        return p.status() != psutil.STATUS_ZOMBIE and (ctime is None or abs(p.create_time() - ctime) < 1)
    except ImportError:
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False
    except Exception:  # NoSuchProcess, AccessDenied
        return False


_IN_WORKER = False  # this process is a worker of a _Pool (it may end itself: pipeline.py)


def _worker_init(parent: int, ctime: float | None) -> None:
    """In each worker: Ctrl-C is the parent's to handle (the terminal sends it to the whole
    process group); a thread ends the worker and its children when the parent is gone."""
    global _IN_WORKER
    _IN_WORKER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_term(signum, frame):  # a task ends through its clean-up (staging, kernels); an idle worker just ends
        if _IN_TASK:
            raise Terminated(signum)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)

    def watch():
        while True:
            time.sleep(0.5)
            if not _alive(parent, ctime):
                end_process_trees([os.getpid()], include_roots=False, grace=1.0)
                os._exit(1)

    threading.Thread(target=watch, name="foi-research-lifeline", daemon=True).start()


def end_process_trees(pids: list[int], include_roots: bool = True, grace: float = 2.0) -> None:
    """End processes and all their descendants: SIGTERM, then SIGKILL after `grace` seconds for
    those still running. Kernels started by a notebook run are descendants of its worker."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return
    procs = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            procs += p.children(recursive=True)
            if include_roots:
                procs.append(p)
        except psutil.Error:
            continue
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=grace)


def end_children() -> None:
    """End every process this process started (workers, kernels, the forkserver and resource
    tracker of multiprocessing): what a command does before it exits on a signal."""
    try:
        import psutil

        kids = [p.pid for p in psutil.Process().children()]
    except Exception:
        return
    end_process_trees(kids, grace=1.0)


_INTERRUPTED = False  # a signal asked this process to end: do not wait for running tasks
_SIGNAL: int | None = None  # ... which one


def interrupted_by() -> int | None:
    """The signal that asked this process to end while signals_as_exceptions() was active."""
    return _SIGNAL


@contextlib.contextmanager
def signals_as_exceptions():
    """SIGTERM and SIGHUP raise Terminated in the main thread, SIGINT KeyboardInterrupt (as
    always), so that a run ends through its clean-up, without waiting for running tasks. No
    effect outside the main thread."""
    global _INTERRUPTED
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        global _INTERRUPTED, _SIGNAL
        _INTERRUPTED = True
        _SIGNAL = signum
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    sigs = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    old = {}
    for s in sigs:
        with contextlib.suppress(ValueError, OSError):
            old[s] = signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in old.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(s, h)
        _INTERRUPTED = False


# ---------------------------------------------------------------------------------------------
# Dask


DASK_CONNECT_TIMEOUT = "10s"  # how long to try to reach a --dask scheduler before giving up


def _dask_client(workers: int | None, address: str | None):
    from dask.distributed import Client, LocalCluster

    if address:
        try:
            return Client(address, timeout=DASK_CONNECT_TIMEOUT), None
        except (OSError, TimeoutError) as e:
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {address} ({type(e).__name__}: {e}); start it "
                "(`dask scheduler`) or check the address, or run without --dask"
            ) from None
    cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cluster


def _dask(fn, items, workers: int | None, address: str | None, chunksize: int = 1, on_lost=None) -> Iterator[Any]:
    client, cluster = _dask_client(workers, address)
    try:
        nworkers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
        submit = functools.partial(client.submit, pure=False)
        window = max(8, nworkers * 4)
        inflight: deque = deque()
        for chunk in _chunks(items, max(1, chunksize)):
            inflight.append((submit(_call_chunk, fn, chunk), chunk))
            if len(inflight) >= window:
                yield from _dask_result(submit, fn, *inflight.popleft(), on_lost)
        while inflight:
            yield from _dask_result(submit, fn, *inflight.popleft(), on_lost)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_result(submit, fn, fut, chunk, on_lost) -> list:
    try:
        return fut.result()
    except Exception:
        if on_lost is None:
            raise
    out = []
    for item in chunk:  # the chunk's items alone: only the one that fails is lost
        try:
            out.append(submit(_call_chunk, fn, [item]).result()[0])
        except Exception:
            out.append(on_lost(item, None))
    return out
