"""`foi-research build`: the research dataset in one command.

    foi-research build [INPUTS...] --out DIR [--crosswalk NAME|FILE] [--denominator handled|received|new_plus_carried]
                       [--csv] [--stata] [--workers N] [--dask ADDRESS]

INPUTS are documents and folders to parse (default data/corpus), or one folder that already holds
a parsed dataset (the output of `foi-research parse` or of an earlier build), which is then read
instead of parsed again. DIR (default outputs/dataset) receives the six contract tables as
parquet (quality with the harmonise-stage findings added), panel.parquet, datapackage.json,
codebook.md, manifest.json, and with --csv / --stata the folders csv/ and stata/.

The dataset is written atomically: everything goes into a hidden staging folder next to DIR,
which replaces DIR in one atomic rename only when complete. A crash or Ctrl-C leaves the previous
DIR (or none), never a half-written one. DIR must be new, empty, or a dataset written by
foi-research and holding nothing else; one run at a time (foi_research.atomic).
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Annotated, Callable, Optional, Sequence

import polars as pl
import typer

from foi_research import cli  # (the limit options, shared with parse)

from foi_research import __version__
from foi_research.present import export
from foi_research.harmonise import metrics
from foi_research.validate import schemas
from foi_research.atomic import DATASET, MANIFEST, OutputError, Staging, contents, is_ours
from foi_research.validate.dataset import DatasetError, DatasetWriter
from foi_research.model import TABLES as CONTRACT_TABLES

DEFAULT_INPUTS = ("data/corpus",)
DEFAULT_OUT = "outputs/dataset"
PANEL = "panel"


PANEL_CHUNK = 20_000  # reports per panel chunk: bounds the memory of the harmonise stage


def scan_dataset(path: Path) -> dict[str, pl.LazyFrame]:
    """The contract tables of a dataset folder as LazyFrames (nothing is read yet)."""
    return {t: pl.scan_parquet(path / f"{t}.parquet") for t in CONTRACT_TABLES}


def _height(df: "pl.DataFrame | pl.LazyFrame") -> int:
    return df.height if isinstance(df, pl.DataFrame) else int(df.select(pl.len()).collect().item())


class BuildError(Exception):
    """A build that cannot start or finish; the message says what to do."""


def _is_dataset(p: Path) -> bool:
    return p.is_dir() and is_ours(p, DATASET) and (p / "reports.parquet").exists()


def build_dataset(
    inputs: Sequence[str | Path] | None = None,
    out: str | Path = DEFAULT_OUT,
    crosswalk: str | Path = "default",
    denominator: str = "handled",
    csv: bool = False,
    stata: bool = False,
    workers: int | None = None,
    backend: str = "auto",
    address: str | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    metadata: str | Path | None = None,
    limits=None,
    file_limits=None,
) -> dict:
    """Parse (or read) the inputs, build the panel and the cross-year quality rows, and write the
    dataset to `out` atomically. Returns the manifest written (rows per table, settings).
    `metadata`: a foi-metadata.csv to apply (default: the one in the input root, if any; see
    foi_research.corpus). Raises BuildError (bad inputs, unusable crosswalk or metadata file,
    `out` not a dataset folder)."""
    say = log or (lambda msg: None)
    out = Path(out)
    paths = [Path(p) for p in (inputs or DEFAULT_INPUTS)]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BuildError(f"input not found: {', '.join(missing)}; give files or folders of reports (txt, html, docx, pdf) or a parsed dataset folder")
    if denominator not in metrics.DENOMINATORS:
        raise BuildError(f"unknown denominator {denominator!r}: use one of {', '.join(metrics.DENOMINATORS)}")
    try:
        cw = metrics.load_crosswalk(crosswalk)
    except metrics.CrosswalkError as e:
        raise BuildError(str(e)) from None
    reuse = len(paths) == 1 and _is_dataset(paths[0])
    if not reuse and any(_is_dataset(p) for p in paths):
        raise BuildError("a parsed dataset folder can only be given alone as input (it is read, not parsed)")
    from foi_research import corpus

    root = corpus.input_root(paths)
    sidecar = None
    if not reuse:
        mpath = Path(metadata) if metadata else corpus.find_sidecar(paths, root)
        if metadata and not mpath.is_file():
            raise BuildError(f"metadata file not found: {mpath}; give a CSV in the format of foi_research/corpus.py (README: bring your own reports)")
        if mpath is not None:
            try:
                sidecar = corpus.load_sidecar(mpath, root)
            except corpus.MetadataError as e:
                raise BuildError(str(e)) from None
    elif metadata:
        raise BuildError("--metadata applies when documents are parsed; this input is an already parsed dataset")

    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        stage = Staging(out, DATASET)  # checks that out may be replaced, locks it
    except OutputError as e:
        raise BuildError(str(e)) from None
    staging = stage.path
    t0 = time.perf_counter()
    try:
        # 1. the contract tables
        if reuse:
            say(f"reading the parsed dataset in {paths[0]}")
            parse_meta = json.loads((paths[0] / MANIFEST).read_text(encoding="utf-8"))
            src = paths[0]
        else:
            from foi_research.pipeline import iter_files, parse_paths

            files = list(iter_files(paths))
            if sidecar is not None:  # the metadata file is read as metadata (manifest.json), not as a report
                files = [f for f in files if f.resolve() != sidecar.path.resolve()]
            if not files:
                raise BuildError(f"no report files in {', '.join(map(str, paths))}; give files or folders holding .txt, .html, .docx or .pdf reports")
            say(f"parsing {len(files)} file(s)" + (f" with the metadata of {sidecar.path}" if sidecar else ""))
            writer = DatasetWriter(staging, meta={"inputs": [str(p) for p in paths], "input_root": str(root)}, stage=False)
            try:
                for parsed in parse_paths(
                    files, workers=workers, progress=progress, backend="dask" if address else backend, address=address, root=root,
                    limits=limits, file_limits=file_limits,
                ):
                    corpus.apply_sidecar(parsed, sidecar)
                    writer.add(parsed)
                parse_meta = writer.close()
            except BaseException:
                writer.abort()
                raise
            src = staging
        # read lazily: the panel reads what it needs, a chunk of reports at a time
        ds = scan_dataset(src)

        # 2. duplicate reports (one copy kept), the panel and the harmonise-stage quality rows
        keep_of, dup_rows = corpus.find_duplicates(ds)
        reports = ds["reports"].collect().with_columns(
            pl.col("report_id").replace_strict(keep_of, default=None, return_dtype=pl.String).alias("duplicate_of")
        )
        # the columns of the current schema, also for a dataset written before some existed
        reports = reports.select(
            (pl.col(c).cast(t) if c in reports.columns else pl.lit(None, t).alias(c)) for c, t in schemas.polars_schema("reports").items()
        )
        if keep_of:
            say(f"{len(keep_of)} duplicate report(s): one copy of each kept in the panel (reports.duplicate_of)")
        panel_ds = dict(ds, reports=reports.lazy().filter(pl.col("duplicate_of").is_null()))
        say(f"building the panel (crosswalk {cw.name}, denominator {denominator})")
        panel = metrics.build_panel(panel_ds, cw, denominator, chunk_reports=PANEL_CHUNK)
        schemas.validate(PANEL, panel)
        kept = ds["quality"].filter(~pl.col("check").is_in([*metrics.HARMONISE_CHECKS, *corpus.DUPLICATE_CHECKS])).collect()
        added = metrics.quality_rows(panel_ds, panel)
        quality = pl.concat([kept, schemas.frame("quality", dup_rows), added.select(kept.columns)], how="vertical")
        schemas.validate("quality", quality)
        schemas.validate("reports", reports)
        del ds, panel_ds
        for t in CONTRACT_TABLES:
            if reuse and t not in ("quality", "reports"):
                shutil.copyfile(src / f"{t}.parquet", staging / f"{t}.parquet")
        reports.write_parquet(staging / "reports.parquet", compression="zstd")
        quality.write_parquet(staging / "quality.parquet", compression="zstd")
        panel.write_parquet(staging / f"{PANEL}.parquet", compression="zstd")
        frames: dict = scan_dataset(staging)
        frames["quality"], frames[PANEL] = quality, panel

        # 3. exports and descriptions
        tables = list(frames)
        if csv:
            say("writing CSV (UTF-8 with BOM)")
            export.write_csv(frames, staging / "csv")
        if stata:
            say("writing Stata .dta files")
            export.write_stata(frames, staging / "stata", time_stamp=created.replace(tzinfo=None))
        settings = {
            "crosswalk": cw.name,
            "crosswalk_path": cw.path,
            "denominator": denominator,
            "inputs": [str(p) for p in paths],
            "input_root": parse_meta.get("input_root") if reuse else str(root),
            "csv": csv,
            "stata": stata,
        }
        rows = {t: _height(df) for t, df in frames.items()}
        created_s = created.isoformat().replace("+00:00", "Z")
        say("writing datapackage.json and codebook.md")
        export.write_datapackage(staging, tables, csv=csv, settings=settings, created=created_s)
        export.write_codebook(staging, cw, denominator, tables, quality=quality, rows=rows, settings=settings)
        export.write_load_scripts(staging, tables)
        manifest = {
            "tool": "foi-research",
            "format": DATASET,
            "version": __version__,
            "created": created_s,
            "command": "build",
            "rows": rows,
            "status": parse_meta.get("status", {}),
            "sources": dict(sorted(panel.group_by("source").len().iter_rows())),
            "harmonise_findings": dict(sorted(added.group_by("check").len().iter_rows())),
            "duplicates": len(keep_of),
            "metadata": sidecar.summary() if sidecar else parse_meta.get("metadata"),
            **settings,
        }
        manifest["contents"] = contents(staging)
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")

        # 4. swap in
        stage.commit()
    except OutputError as e:
        stage.abort()
        raise BuildError(str(e)) from None
    except BaseException:
        stage.abort()
        raise
    manifest["seconds"] = round(time.perf_counter() - t0, 2)
    return manifest


def register(app) -> None:
    """Add the `build` command to the foi-research CLI."""
    from rich.console import Console
    from rich.table import Table

    err = Console(stderr=True, soft_wrap=True)

    @app.command()
    def build(
        inputs: Annotated[
            Optional[list[Path]],
            typer.Argument(help="Files or folders of reports to parse (default data/corpus), or one folder holding a parsed dataset"),
        ] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the dataset into (replaced atomically)")] = Path(DEFAULT_OUT),
        crosswalk: Annotated[str, typer.Option(help=f"Crosswalk: {', '.join(metrics.crosswalk_names())}, or the path of a CSV of the same form")] = "default",
        denominator: Annotated[str, typer.Option(help="Denominator of the request rates: handled, received or new_plus_carried")] = "handled",
        csv: Annotated[bool, typer.Option("--csv", help="Also write csv/<table>.csv (UTF-8 with BOM, for Excel and R)")] = False,
        stata: Annotated[bool, typer.Option("--stata", help="Also write stata/<table>.dta (Stata 14+, value labels in label languages zh and en)")] = False,
        metadata: Annotated[Optional[Path], typer.Option(help="A metadata CSV for the documents (default: foi-metadata.csv in the input folder); format in README")] = None,
        workers: Annotated[Optional[int], typer.Option(help="Processes to use for parsing (default: all cores for large inputs)")] = None,
        backend: Annotated[str, typer.Option(help="auto, serial, processes or dask")] = "auto",
        dask: Annotated[Optional[str], typer.Option(help="Address of a Dask scheduler (tcp://host:8786); implies --backend dask")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary")] = False,
        max_seconds: cli.MaxSeconds = None,
        max_memory_mb: cli.MaxMemoryMb = None,
        max_file_mb: cli.MaxFileMb = None,
        max_pages: cli.MaxPages = None,
        max_unzipped_mb: cli.MaxUnzippedMb = None,
        max_cells: cli.MaxCells = None,
        max_text_chars: cli.MaxTextChars = None,
    ):
        """Build the research dataset: parsed tables, the harmonised panel, datapackage.json, codebook (+ CSV, Stata)."""
        cli.check_run_options(backend, dask, workers)
        limits, flimits = cli.file_limits(max_seconds, max_memory_mb, max_file_mb, max_pages, max_unzipped_mb, max_cells, max_text_chars)
        log = None if quiet else (lambda m: err.print(f"[dim]{m}[/]"))
        try:
            manifest = build_dataset(
                inputs, out, crosswalk=crosswalk, denominator=denominator, csv=csv, stata=stata,
                workers=workers, backend=backend, address=dask, progress=not quiet, log=log, metadata=metadata,
                limits=limits, file_limits=flimits,
            )
        except (BuildError, DatasetError) as e:
            err.print(f"[red]error:[/] {e}")
            raise typer.Exit(2)
        if not quiet:
            t = Table(title=f"foi-research: dataset built in {out}")
            t.add_column("table")
            t.add_column("rows", justify="right")
            for k, v in manifest["rows"].items():
                t.add_row(k, str(v))
            err.print(t)
            src = ", ".join(f"{k} {v}" for k, v in manifest["sources"].items())
            err.print(f"panel rows by source of the counts: {src}; crosswalk {manifest['crosswalk']}, denominator {manifest['denominator']} ({manifest['seconds']:.1f} s)")
        for prob in (manifest.get("metadata") or {}).get("problems", []):
            err.print(f"[yellow]metadata not applied:[/] {prob}")
