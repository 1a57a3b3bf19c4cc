"""Files and folders -> the rows of every contract table: read (foi_research.read), parse
(foi_research.parse), check (foi_research.validate.checks), one file at a time, in parallel when
asked (foi_research.executor).

Whatever a researcher's folder holds, every file ends in a `reports` row and a `quality` row:
- folders are walked with every error kept: a subfolder that cannot be listed gets a failed row
  naming it; links to folders are followed once (no loops); FIFOs, sockets and devices get a
  row and are never opened (opening a FIFO blocks);
- a file name that is not valid UTF-8 (GBK names from zips made on Chinese Windows) is shown
  decoded as GB18030 (or with its bad bytes escaped), with a row saying so;
- per-file limits (FileLimits: time and memory; the reader limits of read/limits.py: file size,
  PDF pages, unzipped bytes, table cells, text size) stop a file that goes past them, with a
  failed row naming the limit; the other files go on. In worker processes a file stuck inside a
  library call past its time limit, or whose memory keeps growing, ends its worker, and only its
  own row says so (executor.py);
- numbers that cannot be counts (beyond MAX_COUNT, far inside 64-bit integers, so that sums over
  any number of reports cannot overflow) are left null with a quality row.
"""
from __future__ import annotations

import os
import signal
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from foi_research.model import PackedParsed, Parsed, Problem, quality_row
from foi_research.parse.report import _report_row, parse_document, report_id_for
from foi_research.read import kind_of, not_report_reason, read
from foi_research.read.limits import Limits

GB = 1 << 30
MAX_COUNT = 10**15
"""Largest count kept (requests, appeals, legacy figures): about 2**50. A larger figure is a
misread (digits of several cells glued together); it is left null with a `value_out_of_range`
row. Bounding values this far inside int64 (9.2e18) keeps every sum of the panel and of grouped
rates exact however many reports are added (up to 9,000 reports of the maximum)."""


@dataclass(frozen=True, slots=True)
class FileLimits:
    """Per-file limits of a parse run, beside the reader limits (read/limits.py). CLI:
    --max-seconds, --max-memory-mb."""

    max_seconds: float = 600.0
    """Seconds one file may take (reading and parsing). Ordinary reports take milliseconds; a
    1,000-page PDF read by OCR is the slowest legitimate file."""
    max_memory: int = 2 * GB
    """Bytes of memory one file may add to the process parsing it (resident set size)."""
    grace_seconds: float = 5.0
    """In a worker process, a file still running this long after it was told to stop (stuck in
    a library call that cannot be interrupted) ends its worker; its row says so."""


DEFAULT_FILE_LIMITS = FileLimits()
EXIT_TIME = 70  # a worker that ended itself: a file past its time limit inside a library call
EXIT_MEMORY = 71  # ... a file whose memory kept growing past its limit


# ---------------------------------------------------------------------------------------------
# Walking folders


def iter_files(inputs: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Expand files and folders (recursively) into files, sorted for stable output. Every entry
    in a folder is kept, whatever its suffix or kind: one that is not a report format gets a
    failed row saying so (read.kind_of / read.not_report_reason), a FIFO or device a row saying
    it is not a regular file, a subfolder that cannot be read a row naming it (it is yielded
    itself); none is skipped silently. Links to folders are followed, each folder once."""
    for inp in inputs:
        p = Path(inp)
        try:
            is_dir = p.is_dir()
        except OSError:  # (a folder above it cannot be entered: its row says so)
            is_dir = False
        if is_dir:
            yield from sorted(_walk(p))
        else:
            yield p


def _walk(root: Path) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            st = d.stat()
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue  # a link back to a folder already walked
            seen.add(key)
            entries = list(os.scandir(d))
        except OSError:
            yield d  # its row says it cannot be read
            continue
        for e in entries:
            try:
                is_dir = e.is_dir()  # (follows links)
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(Path(e.path))
            else:
                yield Path(e.path)


# ---------------------------------------------------------------------------------------------
# One file


def parse_file(path: str | os.PathLike, display_path: str | None = None, limits: Limits | None = None, file_limits: FileLimits | None = None) -> Parsed:
    """Every table's rows for the reports one file holds; never raises for bad input."""
    return _guarded(path, display_path, limits, file_limits)


def _failed(path: Path, display: str, check: str, message: str, fmt: str | None = None) -> Parsed:
    out = Parsed()
    rid = report_id_for(Path(display), 0)
    base = {"source_file": display, "source_format": fmt or path.suffix.lstrip(".").lower() or "unknown", "encoding": None, "script": None, "file_sha1": None}
    out.reports.append(_report_row(rid, base, 0, None, "unknown", "failed"))
    out.quality.append(quality_row(rid, Problem(check, "error", f"{display}: {message}")))
    return out


def _not_a_report(path: Path, display_path: str | None) -> Parsed:
    """The row of a file that is not a report format (an image, an archive, ...)."""
    return _failed(path, display_path or str(path), "not_a_report", not_report_reason(path))


def _display_name(path: Path | str) -> tuple[str, str | None]:
    """(a name that is valid text, a note when the file's own name is not valid UTF-8: its
    undecodable bytes arrive as surrogate escapes, which no table can store)."""
    s = str(path)
    try:
        s.encode("utf-8")
        return s, None
    except UnicodeEncodeError:
        pass
    raw = os.fsencode(s)
    for enc in ("gb18030", "big5"):
        try:
            shown = raw.decode(enc)
            return shown, f"the file name is not valid UTF-8; it is shown decoded as {enc.upper()} (rename the file to fix it)"
        except UnicodeDecodeError:
            continue
    shown = raw.decode("utf-8", "backslashreplace")
    return shown, "the file name is not valid UTF-8 nor GB18030; its undecodable bytes are shown as \\xNN (rename the file to fix it)"


def _special(path: Path) -> str | None:
    """Why a path that is not a regular file cannot be read (None for a regular file). Never
    opens it: opening a FIFO blocks until a writer comes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None if not os.path.lexists(path) else "a broken link (its target does not exist)"
    except OSError as e:
        return f"cannot be examined ({e.strerror or e})"
    m = st.st_mode
    if stat.S_ISREG(m):
        return None
    if stat.S_ISDIR(m):
        try:
            with os.scandir(path):
                pass
            return "a folder, not a file"
        except OSError as e:
            return f"a folder that cannot be read ({e.strerror or e}): its files were not parsed; fix its permissions (e.g. chmod) and run again"
    kind = "a FIFO (named pipe)" if stat.S_ISFIFO(m) else "a socket" if stat.S_ISSOCK(m) else "a device" if (stat.S_ISCHR(m) or stat.S_ISBLK(m)) else "not a regular file"
    return f"{kind}, not a document: not read"


def _guarded(path, display_path, limits, file_limits) -> Parsed:
    path = Path(path)
    display, note = _display_name(display_path or path)
    why = _special(path)
    if why is not None:
        out = _failed(path, display, "not_a_file", why)
    else:
        fl = file_limits or DEFAULT_FILE_LIMITS
        token = _GUARD.start(fl)
        try:
            try:
                out = _parse_file(path, display, limits, renamed=note is not None)
            finally:
                _GUARD.stop(token)
        except FileStopped as e:
            out = _failed(path, display, e.check, e.message)
    if note:
        for r in out.reports:
            out.quality.append(quality_row(r["report_id"], Problem("file_name", "warning", f"{display}: {note}")))
    _check_values(out)
    return out


def _parse_file(path: Path, display: str, limits: Limits | None = None, renamed: bool = False) -> Parsed:
    try:
        if kind_of(path) == "not_report":
            return _not_a_report(path, display)
        doc = read(path, limits)
        if renamed:
            doc.path = Path(display)  # (report ids are made from the name: it must be valid text)
        return parse_document(doc, display)
    except Exception as e:  # pragma: no cover - read() already guards; last line of defence
        return _failed(path, display, "parse_error", f"{type(e).__name__}: {e}")


def _check_values(out: Parsed) -> None:
    """Counts beyond MAX_COUNT become null with a quality row (see MAX_COUNT)."""
    for table in ("requests", "appeals", "legacy"):
        for r in out.rows(table):
            v = r.get("value")
            if type(v) is int and not -MAX_COUNT <= v <= MAX_COUNT:
                r["value"] = None
                ctx = {k: r.get(k) for k in ("row_code", "applicant", "proceeding", "indicator")}
                where = "/".join(str(x) for x in ctx.values() if x)
                raw = r.get("raw")
                out.quality.append(quality_row(r["report_id"], Problem(
                    "value_out_of_range", "error",
                    f"{table} {where}: {raw if raw is not None else v} (line {r.get('line')}) is not a plausible count "
                    f"(more than {MAX_COUNT:,}; digits of several cells run together?); left null",
                    context={k: v2 for k, v2 in ctx.items() if v2 is not None}, line=r.get("line"),
                )))
    for r in out.proactive:
        v = r.get("value")
        if isinstance(v, float) and not (-1e300 < v < 1e300):  # inf, nan
            r["value"] = None


# ---------------------------------------------------------------------------------------------
# Per-file time and memory limits


class FileStopped(BaseException):
    """A file went past a FileLimits limit and was stopped. A BaseException, so that the
    per-report `except Exception` of the parser does not swallow it."""

    def __init__(self, check: str = "limit_time", message: str = ""):
        super().__init__(message)
        self.check = check
        self.message = message


def _rss() -> int | None:
    """Resident set size of this process, in bytes (None when it cannot be read)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except Exception:
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class _Guard:
    """Stops the file being parsed in this process when it goes past its FileLimits. A watchdog
    thread samples time and memory every 50 ms while a file is being parsed (and sleeps
    otherwise): past a limit it raises FileStopped in the parsing thread (a signal to the main
    thread, which also interrupts a blocking system call and the regular-expression engine; an
    asynchronous exception in another thread). In a worker process of the pool (executor.py), a
    file still running `grace` seconds later (stuck in a library call) or still growing ends the
    worker with EXIT_TIME / EXIT_MEMORY: the pool then gives that file its failed row."""

    POLL = 0.05

    def __init__(self):
        self.cond = threading.Condition()
        self.token = 0
        self.active: tuple | None = None  # (token, t0, limits, thread id)
        self.pending: tuple[int, str, str] | None = None  # (token, check, message) to raise
        self.thread: threading.Thread | None = None
        self.handler_installed = False

    def start(self, limits: FileLimits) -> int:
        from foi_research import executor

        with self.cond:
            self.token += 1
            self.active = (self.token, time.monotonic(), limits, threading.get_ident())
            self.pending = None
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._watch, name="foi-research-file-limits", daemon=True)
                self.thread.start()
            self.cond.notify()
            if threading.current_thread() is threading.main_thread() and not self.handler_installed:
                self._install()
            if executor._IN_WORKER:
                _kernel_limits(limits)
            return self.token

    def stop(self, token: int) -> None:
        from foi_research import executor

        with self.cond:
            if self.active is not None and self.active[0] == token:
                self.active = None
            self.pending = None
        if executor._IN_WORKER:
            _kernel_limits(None)

    def _install(self) -> None:
        try:
            prev = signal.getsignal(signal.SIGALRM)

            def on_alarm(signum, frame):
                p = self.pending
                if p is not None and self.active is not None and self.active[0] == p[0]:
                    self.pending = None
                    raise FileStopped(p[1], p[2])
                if callable(prev):
                    prev(signum, frame)

            signal.signal(signal.SIGALRM, on_alarm)
            self.handler_installed = True
        except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGALRM
            pass

    def _watch(self) -> None:
        from foi_research import executor

        while True:
            with self.cond:
                while self.active is None:
                    self.cond.wait()
                token, t0, lim, tid = self.active
            base = _rss()
            stopped_at = None
            check = ""
            while True:
                time.sleep(self.POLL)
                with self.cond:
                    if self.active is None or self.active[0] != token:
                        break
                now = time.monotonic()
                rss = _rss() if base is not None else None
                grown = (rss - base) if rss is not None else 0
                if stopped_at is None:
                    if now - t0 > lim.max_seconds:
                        check, msg = "limit_time", f"stopped after {lim.max_seconds:g} s, the per-file time limit (--max-seconds); the other files were parsed"
                    elif grown > lim.max_memory:
                        check, msg = "limit_memory", f"stopped when it had taken {grown / (1 << 20):,.0f} MB, over the per-file memory limit of {lim.max_memory / (1 << 20):,.0f} MB (--max-memory-mb); the other files were parsed"
                    else:
                        continue
                    stopped_at = now
                    self._interrupt(token, tid, check, msg)
                elif executor._IN_WORKER and (now - stopped_at > lim.grace_seconds or grown > 2 * lim.max_memory):
                    # the file did not stop (a library call that does not return): end this
                    # worker; the pool gives the file its row
                    os._exit(EXIT_TIME if check == "limit_time" else EXIT_MEMORY)

    def _interrupt(self, token: int, tid: int, check: str, msg: str) -> None:
        with self.cond:
            if self.active is None or self.active[0] != token:
                return
            self.pending = (token, check, msg)
        if tid == threading.main_thread().ident and self.handler_installed:
            signal.pthread_kill(tid, signal.SIGALRM)
        else:
            import ctypes

            # FileStopped() without arguments: the parse's handler reads pending for the message
            _STOP_MESSAGES[token] = (check, msg)
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(_AsyncStop))


def _kernel_limits(limits: FileLimits | None) -> None:
    """In a worker process of the pool: limits the kernel enforces, for a file stuck in C code
    that holds the interpreter (where neither an exception nor the watchdog thread can run). CPU
    time: the soft RLIMIT_CPU is set to the CPU used so far + max_seconds + grace_seconds; past
    it the kernel ends the worker with SIGXCPU. Address space: the soft RLIMIT_AS is set to the
    current size + 4 x max_memory, so that an allocation past it fails (MemoryError) instead of
    taking the machine's memory. limits None: both lifted again (up to the hard limits)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    try:
        cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        as_hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if limits is None:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_hard, cpu_hard))
            resource.setrlimit(resource.RLIMIT_AS, (as_hard, as_hard))
            return
        ru = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(ru.ru_utime + ru.ru_stime + limits.max_seconds + limits.grace_seconds) + 1
        if cpu_hard == resource.RLIM_INFINITY or soft < cpu_hard:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))
        vm = _vm_size()
        if vm is not None:
            cap = vm + 4 * limits.max_memory
            if as_hard == resource.RLIM_INFINITY or cap < as_hard:
                resource.setrlimit(resource.RLIMIT_AS, (cap, as_hard))
    except (ValueError, OSError):
        pass


def _vm_size() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


_STOP_MESSAGES: dict[int, tuple[str, str]] = {}


class _AsyncStop(FileStopped):
    """FileStopped raised in a thread that is not the main thread (no message can be passed)."""

    def __init__(self):
        check, msg = _STOP_MESSAGES.popitem()[1] if _STOP_MESSAGES else ("limit_time", "stopped at a per-file limit")
        super().__init__(check, msg)


_GUARD = _Guard()


def lost_file_row(job: tuple, exitcode: int | None) -> Parsed:
    """The result of a file whose worker process died while parsing it alone (executor.run_tasks
    on_lost): the reason from the worker's exit code."""
    path = Path(job[0])
    display = job[1] or _display_name(path)[0]
    fl = job[3] if len(job) > 3 and job[3] is not None else DEFAULT_FILE_LIMITS
    if exitcode == EXIT_TIME:
        why = f"stopped: still running {fl.max_seconds:g} s (the per-file time limit, --max-seconds) inside a library call; its worker process was ended"
        check = "limit_time"
    elif exitcode == EXIT_MEMORY:
        why = f"stopped: its memory kept growing past the per-file limit of {fl.max_memory / (1 << 20):,.0f} MB (--max-memory-mb); its worker process was ended"
        check = "limit_memory"
    elif exitcode is not None and exitcode == -getattr(signal, "SIGXCPU", 24):
        why = f"stopped: still running {fl.max_seconds:g} s (the per-file time limit, --max-seconds) inside a library call; its worker process was ended"
        check = "limit_time"
    elif exitcode is not None and exitcode == -signal.SIGKILL:
        why = "the worker process parsing this file was killed (SIGKILL: most often the system ran out of memory); the other files were parsed"
        check = "worker_died"
    elif exitcode is not None and exitcode < 0:
        why = f"the worker process parsing this file crashed (signal {-exitcode}, inside a library); the other files were parsed; please report the file"
        check = "worker_died"
    else:
        why = f"the worker process parsing this file died (exit code {exitcode}); the other files were parsed; please report the file"
        check = "worker_died"
    out = _failed(path, display, check, why)
    return PackedParsed(out)


# ---------------------------------------------------------------------------------------------
# Many files


_MIN_PARALLEL = 64  # (executor.run_tasks: files from which 'auto' uses worker processes)
_ISOLATE_SUFFIXES = frozenset({".pdf", ".docx", ".docm", ".xlsx", ".xlsm", ".xls", ".ods", ".doc", ".wps", ".rtf", ".odt", ".wpt", ".dot"})
_ISOLATE_BYTES = 20 << 20


def _needs_isolation(path: Path) -> bool:
    """A file read by C libraries (PDF, Word, Excel, converted formats) or a large one."""
    if path.suffix.lower() in _ISOLATE_SUFFIXES:
        return True
    try:
        return path.stat().st_size > _ISOLATE_BYTES
    except OSError:
        return False


def _parse_one(args: tuple) -> Parsed:
    return PackedParsed(parse_file(*args))


def parse_paths(
    paths: Iterable[str | os.PathLike],
    workers: int | None = None,
    progress: bool = False,
    backend: str = "auto",
    address: str | None = None,
    chunksize: int = 8,
    limits: Limits | None = None,
    file_limits: FileLimits | None = None,
    root: str | os.PathLike | None = None,
) -> Iterator[Parsed]:
    """Parse every file; yields one Parsed per file, in input order. By default all cores are
    used when there are enough files to pay for the processes; backend='dask' (or an `address`)
    runs on a Dask cluster (see executor.run_tasks). `limits`: the reader limits
    (read/limits.py; default Limits()); `file_limits`: time and memory per file (FileLimits).
    A worker process that dies costs only the file it was parsing (its row says why).
    source_file is each file's path relative to `root` (default: corpus.input_root(paths), the
    folder given)."""
    from foi_research.executor import default_workers, run_tasks

    from foi_research.corpus import input_root, relative_name

    paths = list(paths)
    files = list(iter_files(paths))
    base = input_root(paths) if root is None else Path(root).absolute()
    # source_file: relative to the input root (the folder given), recorded by the caller
    jobs = [(str(f), relative_name(f, base), limits, file_limits) for f in files]
    if backend == "auto" and not address and len(files) < _MIN_PARALLEL and any(map(_needs_isolation, files)):
        # few files, so the run would stay in this process; but a PDF, Word or Excel file is read
        # by C libraries, where a file that hangs can only be stopped by ending its process
        backend, workers = "processes", min(workers or default_workers(), len(files))
    yield from run_tasks(
        _parse_one, jobs, backend=backend, workers=workers, address=address, progress=progress, desc="parsing", unit="file",
        chunksize=chunksize, on_lost=lost_file_row, min_parallel=_MIN_PARALLEL,
    )
