"""Files and folders -> the rows of every contract table: read (foi_research.read), parse
(foi_research.parse), check (foi_research.validate.checks), one file at a time, in parallel when
asked (foi_research.executor)."""
from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from foi_research.model import PackedParsed, Parsed, Problem, quality_row
from foi_research.parse.report import _report_row, parse_document, report_id_for
from foi_research.read import kind_of, not_report_reason, read
from foi_research.read.limits import Limits



def iter_files(inputs: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Expand files and folders (recursively) into files, sorted for stable output. Every file
    in a folder is kept, whatever its suffix: one that is not a report format gets a failed row
    saying so (read.kind_of / read.not_report_reason), none is skipped silently."""
    for inp in inputs:
        p = Path(inp)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    yield f
        else:
            yield p


def parse_file(path: str | os.PathLike, display_path: str | None = None, limits: Limits | None = None) -> Parsed:
    # Parsing a file allocates many small objects (rows, cells, items) that die with it and
    # creates no reference cycles worth chasing, so the cyclic garbage collector, which would
    # otherwise run every few hundred allocations, is paused for the file.
    if gc.isenabled():
        gc.disable()
        try:
            return _parse_file(path, display_path, limits)
        finally:
            gc.enable()
    return _parse_file(path, display_path, limits)


def _not_a_report(path: Path, display_path: str | None) -> Parsed:
    """The row of a file that is not a report format (an image, an archive, ...)."""
    out = Parsed()
    rid = report_id_for(path, 0)
    src = display_path or str(path)
    out.reports.append(_report_row(rid, {"source_file": src, "source_format": path.suffix.lstrip(".").lower() or "unknown", "encoding": None, "script": None, "file_sha1": None}, 0, None, "unknown", "failed"))
    out.quality.append(quality_row(rid, Problem("not_a_report", "error", f"{src}: {not_report_reason(path)}")))
    return out


def _parse_file(path: str | os.PathLike, display_path: str | None = None, limits: Limits | None = None) -> Parsed:
    path = Path(path)
    try:
        if kind_of(path) == "not_report":
            return _not_a_report(path, display_path)
        doc = read(path, limits)
        return parse_document(doc, display_path)
    except Exception as e:  # pragma: no cover - read() already guards; last line of defence
        out = Parsed()
        rid = report_id_for(path, 0)
        out.reports.append(
            _report_row(
                rid,
                {"source_file": display_path or str(path), "source_format": path.suffix.lstrip(".") or "txt", "encoding": None, "script": None, "file_sha1": None},
                0,
                None,
                "unknown",
                "failed",
            )
        )
        out.quality.append(quality_row(rid, Problem("parse_error", "error", f"{path}: {type(e).__name__}: {e}")))
        return out


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
    root: str | os.PathLike | None = None,
) -> Iterator[Parsed]:
    """Parse every file; yields one Parsed per file, in input order. By default all cores are
    used when there are enough files to pay for the processes; backend='dask' (or an `address`)
    runs on a Dask cluster (see executor.run_tasks). `limits`: the reader limits
    (read/limits.py; default Limits()). source_file is each file's path relative to `root`
    (default: corpus.input_root(paths), the folder given)."""
    from foi_research.executor import run_tasks

    from foi_research.corpus import input_root, relative_name

    paths = list(paths)
    files = list(iter_files(paths))
    base = input_root(paths) if root is None else Path(root).absolute()
    # source_file: relative to the input root (the folder given), recorded by the caller
    jobs = [(str(f), relative_name(f, base)) if limits is None else (str(f), relative_name(f, base), limits) for f in files]
    yield from run_tasks(
        _parse_one, jobs, backend=backend, workers=workers, address=address, progress=progress, desc="parsing", unit="file", chunksize=chunksize
    )
