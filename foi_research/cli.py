"""The foi-research command line."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

# Start-up: a command imports what it needs when it runs. The commands that live with their stage
# (build, studies) are loaded only when one of them is called; `--help` lists them from their
# source (no import of polars, pyarrow, pandera, ...). `python -X importtime -m foi_research.cli
# --help` shows what start-up costs; benchmarks/formats.py measures it.


class _LazyGroup(TyperGroup):
    """A command group whose stage commands (_COMMAND_MODULES) are imported on first use."""

    _loaded = False
    _listing = False

    def list_commands(self, ctx):
        names = list(super().list_commands(ctx))
        if not self._loaded:
            names += [n for n in _stage_commands() if n not in names]
        return names

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None or self._loaded:
            return cmd
        if self._listing:  # help listing: name and first docstring line, read from the source
            short = _stage_commands().get(name)
            return None if short is None else _Listed(name, help=short)
        _load_stage_commands(self)
        return super().get_command(ctx, name)

    def format_help(self, ctx, formatter):
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _listed_cls():
    import click

    class Listed(click.Command):
        """Stands for a stage command in the help listing."""

    return Listed


def _Listed(name, help):  # noqa: N802 - a constructor
    return _listed_cls()(name, help=help)


app = typer.Typer(
    cls=_LazyGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Turn China's open-government-information annual reports (政府信息公开工作年度报告) into validated research datasets.",
)


class _LazyConsole:
    """rich's stderr Console, created on first use (rich costs ~0.1 s to import)."""

    def __getattr__(self, name):
        from rich.console import Console

        c = Console(stderr=True, soft_wrap=True)
        globals()["err"] = c
        return getattr(c, name)


err = _LazyConsole()


def _version(value: bool) -> None:
    if value:
        from foi_research import __version__

        typer.echo(f"foi-research {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")] = None,
):
    """Turn China's open-government-information annual reports (政府信息公开工作年度报告) into validated research datasets."""


# ---- per-file limits: options shared by parse, build and all (pipeline.FileLimits, read/limits.py)
_LIMITS = "Per-file limits (a file past one is stopped and gets a failed row; the others go on)"
MaxSeconds = Annotated[Optional[float], typer.Option("--max-seconds", help="Seconds one file may take (default 600)", rich_help_panel=_LIMITS)]
MaxMemoryMb = Annotated[Optional[int], typer.Option("--max-memory-mb", help="Memory one file may take, in MB (default 2048)", rich_help_panel=_LIMITS)]
MaxFileMb = Annotated[Optional[int], typer.Option("--max-file-mb", help="Size of a file on disk, in MB (default 200)", rich_help_panel=_LIMITS)]
MaxPages = Annotated[Optional[int], typer.Option("--max-pages", help="Pages of a PDF (default 1000)", rich_help_panel=_LIMITS)]
MaxUnzippedMb = Annotated[Optional[int], typer.Option("--max-unzipped-mb", help="Decompressed size of a .docx/.xlsx, in MB (default 500)", rich_help_panel=_LIMITS)]
MaxCells = Annotated[Optional[int], typer.Option("--max-cells", help="Cells of one table, merged cells expanded (default 200000)", rich_help_panel=_LIMITS)]
MaxTextChars = Annotated[Optional[int], typer.Option("--max-text-chars", help="Characters of text in one document (default 50000000)", rich_help_panel=_LIMITS)]


def file_limits(max_seconds=None, max_memory_mb=None, max_file_mb=None, max_pages=None, max_unzipped_mb=None, max_cells=None, max_text_chars=None):
    """(read.limits.Limits or None, pipeline.FileLimits or None) from the limit options; None
    where every option of the kind is left at its default. Raises typer.BadParameter for a value
    that is not positive."""
    given = {k: v for k, v in locals().items() if v is not None}
    for k, v in given.items():
        if v <= 0:
            raise typer.BadParameter(f"--{k.replace('_', '-')} must be positive (got {v})")
    reader = file = None
    mb = 1 << 20
    rk = {"max_file_bytes": max_file_mb and max_file_mb * mb, "max_pdf_pages": max_pages, "max_unzipped_bytes": max_unzipped_mb and max_unzipped_mb * mb,
          "max_table_cells": max_cells, "max_text_chars": max_text_chars}
    rk = {k: v for k, v in rk.items() if v is not None}
    if rk:
        from foi_research.read.limits import Limits

        reader = Limits(**rk)
    fk = {"max_seconds": max_seconds, "max_memory": max_memory_mb and max_memory_mb * mb}
    fk = {k: v for k, v in fk.items() if v is not None}
    if fk:
        from foi_research.pipeline import FileLimits

        file = FileLimits(**fk)
    return reader, file


def check_run_options(backend: str, dask: str | None, workers: int | None) -> None:
    """Options of a parse that cannot work: exit 2 with a message, before anything is read."""
    from foi_research.executor import BACKENDS

    if backend not in BACKENDS:
        err.print(f"[red]error:[/] --backend {backend!r} is not a backend; choose one of {', '.join(BACKENDS)}")
        raise typer.Exit(2)
    if workers is not None and workers < 1:
        err.print(f"[red]error:[/] --workers must be 1 or more (got {workers})")
        raise typer.Exit(2)


def _summary(manifest: dict, out: Path, seconds: float) -> None:
    from rich.table import Table

    t = Table(title=f"foi-research: dataset written to {out}", show_header=True)
    t.add_column("table")
    t.add_column("rows", justify="right")
    for k, v in manifest["rows"].items():
        t.add_row(k, str(v))
    err.print(t)
    st = ", ".join(f"{k} {v}" for k, v in sorted(manifest.get("status", {}).items()))
    err.print(f"reports by status: {st}  ({seconds:.1f} s)")


@app.command()
def parse(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders (txt, html/htm, docx, pdf; any common Chinese encoding)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the parquet tables into (replaced atomically)")],
    workers: Annotated[Optional[int], typer.Option(help="Processes to use (default: all cores for large inputs)")] = None,
    backend: Annotated[str, typer.Option(help="auto, serial, processes or dask")] = "auto",
    dask: Annotated[Optional[str], typer.Option(help="Address of a Dask scheduler (tcp://host:8786); implies --backend dask")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary")] = False,
    max_seconds: MaxSeconds = None,
    max_memory_mb: MaxMemoryMb = None,
    max_file_mb: MaxFileMb = None,
    max_pages: MaxPages = None,
    max_unzipped_mb: MaxUnzippedMb = None,
    max_cells: MaxCells = None,
    max_text_chars: MaxTextChars = None,
):
    """Parse reports into reports, requests, appeals, proactive, legacy and quality tables."""
    from foi_research.validate.dataset import DatasetError, DatasetWriter
    from foi_research.pipeline import iter_files, parse_paths

    check_run_options(backend, dask, workers)
    limits, flimits = file_limits(max_seconds, max_memory_mb, max_file_mb, max_pages, max_unzipped_mb, max_cells, max_text_chars)
    missing = [str(p) for p in inputs if not os.path.lexists(p)]
    if missing:
        err.print(f"[red]error:[/] input not found: {', '.join(missing)}; nothing was written. Give existing files or folders of reports")
        raise typer.Exit(2)
    files = list(iter_files(inputs))
    if not files:
        err.print("[red]error:[/] no input files found; give files or folders holding .txt, .html, .docx or .pdf reports")
        raise typer.Exit(2)
    t0 = time.perf_counter()
    try:
        writer = DatasetWriter(out, meta={"inputs": [str(p) for p in inputs]})
    except DatasetError as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    try:
        for parsed in parse_paths(
            files, workers=workers, progress=not quiet, backend="dask" if dask else backend, address=dask, limits=limits, file_limits=flimits
        ):
            writer.add(parsed)
        manifest = writer.close()
    except BaseException:  # (Ctrl-C, SIGTERM, disk full, ...: main() says what happened)
        writer.abort()
        raise
    if not quiet:
        _summary(manifest, out, time.perf_counter() - t0)


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Option(help="Folder of ground-truth JSON files (GROUND_TRUTH_FORMAT.md)")],
    docs: Annotated[Optional[Path], typer.Option(help="Folder of the documents (default: the truth folder)")] = None,
    min_t3: Annotated[Optional[float], typer.Option(help="Fail (exit 1) when table-3 cell accuracy is below this")] = None,
    min_t4: Annotated[Optional[float], typer.Option(help="Fail when table-4 cell accuracy is below this")] = None,
    max_silent: Annotated[Optional[int], typer.Option(help="Fail when more wrong cells than this carry no quality warning")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every problem")] = False,
):
    """Parse documents with known answers and print a scorecard."""
    from foi_research.validate.evaluate import EvaluateError, evaluate as run_eval

    for what, folder in (("--truth", truth), ("--docs", docs)):
        if folder is not None and not folder.is_dir():
            err.print(f"[red]error:[/] {what} {folder}: no such folder; give the folder of ground-truth JSON files (and of the documents)")
            raise typer.Exit(2)
    try:
        card = run_eval(truth, docs)
    except EvaluateError as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    card.print(None, verbose=verbose)  # plain print: one unwrapped line per report, summary last
    fail = []
    for kind, floor in (("t3", min_t3), ("t4", min_t4)):
        if floor is None:
            continue
        if card.counts[kind] == 0:  # no cell to score: a threshold cannot be met by nothing
            fail.append(f"--min-{kind} {floor}: no {kind} cells were scored")
        elif card.acc(kind) < floor:
            fail.append(f"{kind} accuracy {card.acc(kind):.4f} < {floor}")
    if max_silent is not None and card.silent > max_silent:
        fail.append(f"{card.silent} silent wrong cells > {max_silent}")
    for f in fail:
        err.print(f"[red]failed:[/] {f}")
    raise typer.Exit(1 if fail else 0)


@app.command("all")
def all_cmd(
    inputs: Annotated[Optional[list[Path]], typer.Argument(help="Reports to parse (default: the bundled corpus data/corpus)")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset folder (replaced atomically)")] = Path("outputs/dataset"),
    params: Annotated[Path, typer.Option(help="Folder of study parameter files")] = Path("params"),
    studies_out: Annotated[Optional[Path], typer.Option("--studies-out", help="Folder for the study outputs (default outputs/studies)")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", help="Processes for parsing and for the studies (default: all cores)")] = None,
    csv: Annotated[bool, typer.Option("--csv/--no-csv", help="Also export the dataset as CSV")] = True,
    stata: Annotated[bool, typer.Option("--stata/--no-stata", help="Also export the dataset as Stata .dta")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars")] = False,
    max_seconds: MaxSeconds = None,
    max_memory_mb: MaxMemoryMb = None,
    max_file_mb: MaxFileMb = None,
    max_pages: MaxPages = None,
    max_unzipped_mb: MaxUnzippedMb = None,
    max_cells: MaxCells = None,
    max_text_chars: MaxTextChars = None,
):
    """The main job: build the dataset (parse, panel, datapackage, codebook, CSV, Stata), then run every study in params/."""
    from foi_research.build import BuildError, build_dataset
    from foi_research.validate.dataset import DatasetError
    from foi_research.present.studies import batch, default_out_dir, project_path, project_root, study_files, studies_for

    limits, flimits = file_limits(max_seconds, max_memory_mb, max_file_mb, max_pages, max_unzipped_mb, max_cells, max_text_chars)
    root_inputs = [project_path(p) for p in (inputs or [Path("data/corpus")])]
    # the bundled studies name regions of the bundled corpus: on a researcher's own reports only
    # the studies that are not marked `scope: bundled` run
    bundled_corpus = (project_root() / "data" / "corpus").resolve()
    bundled = all(p.resolve() == bundled_corpus or bundled_corpus in p.resolve().parents for p in root_inputs)
    out, pdir = project_path(out), project_path(params)
    if not pdir.is_dir() or not study_files(pdir):
        err.print(f"[red]error:[/] no .yaml parameter files in {pdir}; give --params FOLDER (one file per study, see params/)")
        raise typer.Exit(2)
    err.print(f"[bold]1/2[/] building the dataset from {', '.join(map(str, root_inputs))} into {out}")
    t0 = time.perf_counter()
    try:
        manifest = build_dataset(
            root_inputs, out, csv=csv, stata=stata, workers=jobs, progress=not quiet, log=None if quiet else (lambda m: err.print(f"[dim]  {m}[/]")),
            limits=limits, file_limits=flimits,
        )
    except (BuildError, DatasetError) as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    _summary(manifest, out, time.perf_counter() - t0)
    for prob in (manifest.get("metadata") or {}).get("problems", []):
        err.print(f"[yellow]metadata not applied:[/] {prob}")
    todo, skipped = studies_for(pdir, bundled)
    if skipped:
        err.print(f"[dim]  not your corpus's regions, left out: {', '.join(p.stem for p in skipped)} (scope: bundled); "
                  "run a study on yours with foi-research run NOTEBOOK -p region=... or batch NOTEBOOK --each county[/]")
    err.print(f"[bold]2/2[/] running {len(todo)} stud{'y' if len(todo) == 1 else 'ies'} of {pdir} on that dataset")
    summary = batch(todo, studies_out, workers=jobs, dataset=str(out), progress=not quiet)
    from rich.console import Console

    Console(stderr=True, width=max(120, err.width)).print(summary.table())
    for r in summary.failed:
        err.print(f"[red]failed:[/] {r.study}: {r.error}")
    where = studies_out or default_out_dir()
    err.print(f"dataset: {out} (codebook.md, datapackage.json, csv/, stata/); studies: {where}")
    raise typer.Exit(0 if summary.ok else 1)


_COMMAND_MODULES: list[str] = ["build", "present.studies"]


def _register_commands(target=None) -> None:
    """Commands that live with their stage register themselves here (one import per module)."""
    # each module defines register(app: typer.Typer) -> None
    from importlib import import_module

    for mod in _COMMAND_MODULES:
        import_module(f"foi_research.{mod}").register(target or app)


def _load_stage_commands(group: _LazyGroup) -> None:
    """Import the stage modules and add their commands to the running group."""
    if group._loaded:
        return
    group._loaded = True
    sub = typer.Typer()
    _register_commands(sub)
    for name, cmd in typer.main.get_group(sub).commands.items():
        if name not in group.commands:
            group.add_command(cmd, name)


_STAGE_COMMANDS: dict[str, str] | None = None


def _stage_commands() -> dict[str, str]:
    """{command name: short help} of the stage modules, read from their source with ast (the
    `@app.command(...)` functions inside register(); the help is the docstring's first line, as
    Typer shows it). tests/test_cli_startup.py checks it against the commands Typer builds."""
    global _STAGE_COMMANDS
    if _STAGE_COMMANDS is not None:
        return _STAGE_COMMANDS
    import ast
    from importlib.util import find_spec

    out: dict[str, str] = {}
    for mod in _COMMAND_MODULES:
        spec = find_spec(f"foi_research.{mod}")
        if spec is None or not spec.origin:
            continue
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "command":
                    name = node.name.replace("_", "-")
                    if dec.args and isinstance(dec.args[0], ast.Constant):
                        name = dec.args[0].value
                    kw = {k.arg: k.value for k in dec.keywords}
                    if "name" in kw and isinstance(kw["name"], ast.Constant):
                        name = kw["name"].value
                    doc = ast.get_docstring(node) or ""
                    if "help" in kw and isinstance(kw["help"], ast.Constant):
                        doc = kw["help"].value
                    out[name] = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    _STAGE_COMMANDS = out
    return out


_ERRNO_ADVICE = {
    "ENOSPC": "no space left on the device: free some space, or write elsewhere (--out)",
    "EDQUOT": "disk quota exceeded: free some space, or write elsewhere (--out)",
    "EROFS": "the file system is read-only: choose an output folder on a writable disk (--out)",
    "EACCES": "permission denied: check the folder's permissions, or choose another folder",
    "EPERM": "operation not permitted: check the folder's permissions, or choose another folder",
    "EBUSY": "the folder is busy (a mount point, or open elsewhere): give a folder inside it",
    "EXDEV": "the output folder and its staging folder are on different file systems: choose another folder",
    "ENAMETOOLONG": "a path is too long: choose a shorter output folder",
    "EMFILE": "too many open files: raise the limit (ulimit -n) or use fewer --workers",
    "ENOMEM": "out of memory: use fewer --workers or lower --max-memory-mb",
}


def _environment_error(e: OSError) -> str:
    import errno

    name = errno.errorcode.get(e.errno or 0, "")
    where = " ".join(str(x) for x in (e.filename, e.filename2) if x)
    advice = _ERRNO_ADVICE.get(name, "check the path and the disk, then run again")
    return f"{e.strerror or e}{': ' + where if where else ''}; {advice}. The previous output, if any, is as it was"


def run(args: list[str] | None = None) -> int:
    """Run the command line and return its exit code: 0 ok, 1 a study failed or a threshold was
    missed, 2 a command error (bad option, missing input, an output folder that may not be
    replaced, a full or read-only disk, an unreachable Dask scheduler: the message says what to
    do), 130 / 143 interrupted by Ctrl-C / SIGTERM (the workers, kernels and helper processes are
    ended; the previous output is kept)."""
    import signal

    from foi_research.atomic import OutputError
    from foi_research.executor import ExecutorError, Terminated, end_children, interrupted_by, signals_as_exceptions

    def interrupted(signum: int) -> int:
        end_children()
        what = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}.get(signum, f"signal {signum}")
        err.print(f"[red]interrupted ({what}):[/] stopped; nothing was written, the previous output is as it was")
        return 128 + signum

    # (Typer carries its own copy of click: its exception classes are reached through Typer's)
    click_exception = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    with signals_as_exceptions():
        try:
            rc = app(args=args, standalone_mode=False)
            if interrupted_by() is not None:  # (Typer turns KeyboardInterrupt into exit code 130)
                return interrupted(interrupted_by())
            return rc if isinstance(rc, int) else 0
        except typer.Exit as e:
            return e.exit_code
        except click_exception as e:
            e.show()
            return e.exit_code
        except (typer.Abort, KeyboardInterrupt) as e:
            return interrupted(interrupted_by() or (e.signum if isinstance(e, Terminated) else signal.SIGINT))
        except BrokenPipeError:  # pragma: no cover
            return 0
        except (OutputError, ExecutorError) as e:
            err.print(f"[red]error:[/] {e}")
            return 2
        except OSError as e:
            err.print(f"[red]error:[/] {_environment_error(e)}")
            return 2
        except MemoryError:
            end_children()
            err.print("[red]error:[/] out of memory; use fewer --workers or lower --max-memory-mb. The previous output, if any, is as it was")
            return 2


def main() -> None:  # console-script entry point
    sys.exit(run())


if __name__ == "__main__":
    main()
