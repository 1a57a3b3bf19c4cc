"""Parameterised research notebooks: run one, run a folder of them in parallel, open JupyterLab.

A study is a YAML file in params/:

    notebook: region_profile.ipynb     # a notebook in notebooks/
    title: 淄博市 region profile         # optional, for the summary
    parameters:                        # every key must be a parameter of the notebook
      region: 淄博市
      years: [2008, 2023]

`run(params_file)` executes the notebook with papermill and writes, under
outputs/studies/<study>/ (the study is the file's stem):

    <study>.ipynb        the executed notebook
    <study>.html         its HTML rendering (charts are inline SVG: readable offline)
    charts/<name>.png    every chart as PNG (Chinese glyphs from the bundled Noto Sans SC)
    charts/<name>.svg    ... and as SVG
    tables/<name>.csv    the table behind each chart (and the model tables)
    params.yaml          the parameters used
    manifest.json        study, notebook, parameters, status, seconds, files

Everything is written into a temporary folder beside the destination and swapped in only when
the notebook ran through, so a crash or an error never leaves a half-written study folder. A
notebook that fails leaves its executed copy (with the error) in outputs/studies/_failed/.

`batch(params_dir)` runs every study of a folder through `executor.run_tasks` (serial, local
processes or a Dask cluster) with a progress bar; one failing notebook is reported and does not
stop the others. `load_study_data` is what the notebooks call to get the data.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterable, Optional

import typer
import yaml

from foi_research.atomic import STUDY, Staging, contents

STUDY_KEYS = {"notebook", "title", "description", "parameters", "scope"}
SCOPES = ("any", "bundled")  # scope: bundled = a study of the bundled corpus's regions (foi-research all)
RESERVED_PARAMETERS = ("output_dir", "dataset")  # injected by the runner
FAILED_DIR = "_failed"
DEFAULT_KERNEL = "python3"


# ---------------------------------------------------------------------------------------------
# Where things are


def project_root() -> Path:
    """The project folder (holding notebooks/ and params/): FOI_PROJECT_ROOT, else the checkout
    this package is installed from (editable install), else the current directory."""
    env = os.environ.get("FOI_PROJECT_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "notebooks").is_dir() and (here / "pyproject.toml").exists():
        return here
    return Path.cwd().resolve()


def project_path(p: str | os.PathLike) -> Path:
    """A path from a parameter: absolute as given; relative to the current directory when it
    exists there, else relative to the project folder (so notebooks find data/ and outputs/
    whether they run from notebooks/, from the project folder or from papermill)."""
    p = Path(p)
    if p.is_absolute():
        return p
    if p.exists():
        return p.resolve()
    return project_root() / p


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def default_out_dir() -> Path:
    return project_root() / "outputs" / "studies"


def default_dataset() -> Path | None:
    """outputs/dataset when `foi-research build` has written it."""
    for base in (Path.cwd(), project_root()):
        d = base / "outputs" / "dataset"
        if (d / "manifest.json").exists():
            return d.resolve()
    return None


# ---------------------------------------------------------------------------------------------
# Study files


class StudyError(Exception):
    pass


@dataclass
class Study:
    name: str
    params_file: Path
    notebook: Path
    parameters: dict
    title: str | None = None
    scope: str = "any"


PARAMS_MAX_BYTES = 1 << 20  # a parameter file is a few lines; anything bigger is not one
_STUDY_NAME = re.compile(r"[^\W_][\w.\-]{0,99}")


class _NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader without aliases (*name, and merge keys <<: *name): a parameter file has no
    use for them, and a few hundred bytes of nested aliases expand to billions of nodes (an
    "alias bomb") once anything walks the result (papermill, json, printing)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            ev = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"YAML aliases (*{ev.anchor}) are not allowed in a parameter file: write the values out", ev.start_mark
            )
        return super().compose_node(parent, index)


def load_yaml(path: str | os.PathLike) -> Any:
    """A parameter file read safely: at most PARAMS_MAX_BYTES, UTF-8, no aliases, no Python
    objects (safe loader). Raises StudyError with a message naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(PARAMS_MAX_BYTES + 1)
    except OSError as e:
        raise StudyError(f"{path}: cannot be read ({e.strerror or e})") from None
    if len(raw) > PARAMS_MAX_BYTES:
        raise StudyError(f"{path}: larger than {PARAMS_MAX_BYTES // 1024} KB; a parameter file holds a notebook name and a few parameters")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StudyError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise StudyError(f"{path}: not valid YAML ({e})") from None
    except RecursionError:
        raise StudyError(f"{path}: nested too deeply to be a parameter file") from None


def check_study_name(path: Path) -> str:
    """The study's name (the file's stem), which names its output folder: letters, digits, '_',
    '-', '.', not starting with '.' or '_' (so '..yaml' or '.yaml' can never name the output
    folder itself or its parent)."""
    name = path.stem
    if not _STUDY_NAME.fullmatch(name):
        raise StudyError(
            f"{path}: '{name}' cannot name a study (its output folder): use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit, e.g. zibo_profile.yaml"
        )
    return name


def load_study(params_file: str | os.PathLike) -> Study:
    path = Path(params_file)
    if not path.exists():
        raise StudyError(f"{path}: no such parameter file")
    name = check_study_name(path)
    data = load_yaml(path)
    if not isinstance(data, dict) or "notebook" not in data:
        raise StudyError(f"{path}: expected a mapping with 'notebook' and 'parameters' (see params/README or foi_research/studies.py)")
    extra = set(data) - STUDY_KEYS
    if extra:
        raise StudyError(f"{path}: unknown top-level keys {sorted(extra)}; notebook parameters go under 'parameters:'")
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise StudyError(f"{path}: 'parameters' must be a mapping")
    nb = Path(str(data["notebook"]))
    if not nb.is_absolute():
        nb = notebooks_dir() / nb
    if not nb.exists():
        raise StudyError(f"{path}: notebook {data['notebook']} not found in {notebooks_dir()}")
    if nb.suffix != ".ipynb" or not nb.is_file():
        raise StudyError(f"{path}: notebook {data['notebook']} is not a .ipynb file")
    scope = data.get("scope") or "any"
    if scope not in SCOPES:
        raise StudyError(f"{path}: scope must be one of {', '.join(SCOPES)} (bundled: only for the bundled corpus), not {scope!r}")
    return Study(name=name, params_file=path, notebook=nb, parameters=params, title=data.get("title"), scope=scope)


@dataclass
class ParamProblem:
    params_file: str
    key: str
    problem: str


def notebook_parameters(notebook: str | os.PathLike) -> dict[str, dict]:
    """The parameters a notebook declares in its `parameters` cell (papermill.inspect_notebook)."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def check_study(study: Study) -> list[ParamProblem]:
    """Every key of the study's parameters must be a parameter of its notebook (papermill only
    warns about unknown names, so a typo would silently run the default)."""
    declared = notebook_parameters(study.notebook)
    problems = []
    if not declared:
        problems.append(ParamProblem(str(study.params_file), "-", f"{study.notebook.name} has no cell tagged 'parameters'"))
    for k in study.parameters:
        if k not in declared:
            problems.append(ParamProblem(str(study.params_file), k, f"not a parameter of {study.notebook.name} (it has: {', '.join(declared)})"))
        elif k in RESERVED_PARAMETERS:
            problems.append(ParamProblem(str(study.params_file), k, "set by the runner (use --out / --dataset), not in a params file"))
    return problems


def study_files(params_dir: str | os.PathLike) -> list[Path]:
    d = Path(params_dir)
    if d.is_file():
        return [d]
    return sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith((".", "_")))


def find_notebook(target: str | os.PathLike) -> Path | None:
    """A notebook named by a path (x.ipynb) or by its name in notebooks/ (region_profile,
    region_profile.ipynb); None when `target` names none (then it is a parameter file)."""
    t = Path(target)
    if t.suffix == ".ipynb":
        for c in (t, notebooks_dir() / t.name):
            if c.is_file():
                return c.resolve()
        raise StudyError(f"notebook {target} not found (notebooks: {', '.join(p.stem for p in sorted(notebooks_dir().glob('*.ipynb')))})")
    if t.suffix in (".yaml", ".yml") or t.exists():
        return None
    c = notebooks_dir() / f"{t.name}.ipynb"
    if c.is_file():
        return c
    raise StudyError(
        f"{target}: neither a parameter file nor a notebook; give params/<study>.yaml or one of "
        f"{', '.join(p.stem for p in sorted(notebooks_dir().glob('*.ipynb')))}"
    )


def parse_overrides(items: Iterable[str]) -> dict:
    """-p key=value pairs; each value is read as YAML (years=[2019,2023], min_denominator=5,
    region=临淄区)."""
    out: dict = {}
    for it in items or ():
        key, sep, value = str(it).partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise StudyError(f"-p {it!r}: write -p name=value, e.g. -p region=临淄区 or -p years=[2019,2023]")
        try:
            out[key] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            out[key] = value
    return out


def study_from(target: str | os.PathLike, overrides: dict | None = None, name: str | None = None, title: str | None = None) -> Study:
    """The study a command names: a parameter file, or a notebook (run with its defaults), with
    parameters overridden by `overrides` (-p key=value)."""
    nb = find_notebook(target)
    if nb is None:
        st = load_study(target)
        st.parameters = {**st.parameters, **(overrides or {})}
    else:
        st = Study(name=nb.stem, params_file=None, notebook=nb, parameters=dict(overrides or {}))
    if name:
        if not re.fullmatch(r"[^\W_][\w.\-]{0,99}", name):
            raise StudyError(f"--name {name!r}: use letters, digits, '_', '-' or '.' (it names the output folder)")
        st.name = name
    if title:
        st.title = title
    return st


# ---------------------------------------------------------------------------------------------
# Parameters: checked before a kernel starts


def _kind(v) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, int):
        return "whole number"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, dict):
        return "mapping"
    return "nothing" if v is None else type(v).__name__


_A = {"true/false": "true or false", "whole number": "a whole number", "number": "a number", "list": "a list", "mapping": "a mapping"}


def _literal(v) -> str:
    """A value as it is written in a parameter file (JSON is valid YAML)."""
    return json.dumps(v, ensure_ascii=False)


def _fits(value, default) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            return False
        kinds = {_kind(x) for x in default}
        return not kinds or all(_kind(x) in kinds or (kinds == {"number"} and _kind(x) == "whole number") for x in value)
    return True


def _coerce(value, default):
    """Values YAML reads as numbers where the notebook wants text: region: 370305."""
    if isinstance(default, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _years_problem(key: str, v, data_years: tuple[int, int] | None) -> str | None:
    ok = isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(y, int) and not isinstance(y, bool) for y in v)
    if not ok:
        example = f"[{v}, {v}]" if isinstance(v, int) and not isinstance(v, bool) else "[2019, 2023]"
        return f"{_literal(v)} is not a pair of years: write the first and last year reported on, e.g. {key}: {example}"
    lo, hi = v
    if not (1990 <= lo <= 2100 and 1990 <= hi <= 2100):
        return f"{_literal(v)}: years between 1990 and 2100, e.g. {key}: [2019, 2023]"
    if lo > hi:
        return f"{_literal(v)}: the first year comes first, {key}: [{hi}, {lo}]"
    if data_years and (hi < data_years[0] or lo > data_years[1]):
        return f"{_literal(v)}: the data holds reports for {data_years[0]}–{data_years[1]} only"
    return None


def _region_problem(key: str, v, regions) -> str | None:
    from foi_research.present.analysis import AnalysisError, resolve_region

    if not v:
        return None
    try:
        d = resolve_region(v)
    except AnalysisError as e:
        return str(e)
    if regions is not None:
        codes = set(regions["code"].to_list())
        inside = any(d.contains(c) or (d.level == "zone" and c == d.code) for c in codes)
        if d.level == "zone":
            inside = d.name in set(regions.filter(regions["level"] == "zone")["path"].str.split("/").list.last().to_list())
        if not inside:
            sample = ", ".join(f"{r['label']} ({r['code']})" for r in regions.filter(regions["level"].is_in(["city", "county"])).head(12).iter_rows(named=True))
            return f"no report of {d.describe()} is in the data; regions with reports include {sample} (foi-research regions DATASET lists them all)"
    return None


def _choice(options_fn, what: str):
    def check(key, v, _ctx):
        opts = list(options_fn())
        vals = v if isinstance(v, (list, tuple)) else [v]
        bad = [x for x in vals if x not in opts and not (what == "crosswalk" and isinstance(x, str) and x.endswith(".csv") and project_path(x).is_file())]
        if bad:
            return f"{', '.join(map(_literal, bad))}: not a {what}; write one of {', '.join(opts)}"
        return None

    return check


def _metrics():
    from foi_research.reference import codes

    return [m["code"] for m in codes.raw().get("metrics", [])]


def _crosswalks():
    from foi_research.harmonise import metrics

    return metrics.crosswalk_names()


def _denominators():
    from foi_research.harmonise import metrics

    return list(metrics.DENOMINATORS)


def _levels():
    from foi_research.present.analysis import LEVELS

    return list(LEVELS)


def _transitions():
    from foi_research.present.analysis import TRANSITION_CHOICES

    return list(TRANSITION_CHOICES)


def _year_problem(key, v, ctx):
    if not (1990 <= v <= 2100):
        return f"{v}: a year between 1990 and 2100"
    return None


def _window_problem(key, v, ctx):
    if len(v) != 2 or v[0] >= v[1]:
        return f"{_literal(v)}: write the first and last year relative to 2019, first below last, e.g. {key}: [-5, 4]"
    return None


def _nonneg(key, v, ctx):
    return None if v >= 0 else f"{v}: a count of requests, 0 or more"


# checks of parameters by name, whatever the notebook (after the type check against its default)
PARAMETER_RULES = {
    "region": lambda k, v, ctx: _region_problem(k, v, ctx.get("regions")),
    "years": lambda k, v, ctx: _years_problem(k, v, ctx.get("years")),
    "level": _choice(_levels, "level"),
    "rate": _choice(_metrics, "metric"),
    "sensitivity_rates": _choice(_metrics, "metric"),
    "crosswalk": _choice(_crosswalks, "crosswalk"),
    "sensitivity_crosswalks": _choice(_crosswalks, "crosswalk"),
    "denominator": _choice(_denominators, "denominator"),
    "sensitivity_denominators": _choice(_denominators, "denominator"),
    "transition": _choice(_transitions, "transition choice"),
    "pre_end": _year_problem,
    "post_start": _year_problem,
    "event_window": _window_problem,
    "min_denominator": _nonneg,
}


def _data_context(dataset) -> dict:
    """What the checks need to know of the data: its regions and years (a built dataset only:
    reading it costs a fraction of a second; a corpus would have to be parsed)."""
    import polars as pl

    from foi_research.present.analysis import regions_in

    if not dataset:
        return {}
    d = project_path(dataset)
    if not (d / "reports.parquet").exists():
        return {}
    rep = pl.read_parquet(d / "reports.parquet", columns=["division_code", "county", "year"])
    ys = rep["year"].drop_nulls()
    return {"regions": regions_in(rep), "years": (int(ys.min()), int(ys.max())) if len(ys) else None}


def validate_parameters(study: Study, dataset=None) -> list[ParamProblem]:
    """Every problem of a study's parameters, found before a kernel starts: names the notebook
    does not declare, values of another kind than the notebook's default, regions the gazetteer
    does not know (or the data does not hold), year ranges, unknown metrics, crosswalks, levels.
    Each message says what to write. Values YAML reads as numbers where text is expected
    (region: 370305) are turned into text in study.parameters."""
    import ast

    problems = check_study(study)
    if problems:
        return problems
    declared = notebook_parameters(study.notebook)
    where = str(study.params_file or study.notebook.name)
    ctx = _data_context(dataset)
    for k, v in list(study.parameters.items()):
        try:
            default = ast.literal_eval(declared[k]["default"])
        except (ValueError, SyntaxError):
            default = None
        v = study.parameters[k] = _coerce(v, default)
        if default is not None and not _fits(v, default):
            problems.append(ParamProblem(where, k, f"{_literal(v)} is {_A.get(_kind(v), _kind(v))}, the notebook expects {_A.get(_kind(default), _kind(default))} like its default: {k}: {_literal(default)}" + (f"; {_years_problem(k, v, None)}" if k == "years" else "")))
            continue
        rule = PARAMETER_RULES.get(k)
        msg = rule(k, v, ctx) if rule else None
        if msg:
            problems.append(ParamProblem(where, k, msg))
    p = study.parameters
    if isinstance(p.get("pre_end"), int) and isinstance(p.get("post_start"), int) and p["pre_end"] >= p["post_start"]:
        problems.append(ParamProblem(where, "pre_end", f"pre_end ({p['pre_end']}) must come before post_start ({p['post_start']})"))
    return problems


def format_problems(problems: list[ParamProblem]) -> str:
    return "; ".join(f"{p.key}: {p.problem}" for p in problems)


def new_study(notebook: str | os.PathLike, out: str | os.PathLike, overrides: dict | None = None, title: str | None = None, scope: str = "any") -> Path:
    """Write a parameter file for a notebook: every parameter the runner does not set, with its
    default (or the value of `overrides`) and the notebook's comment. Raises StudyError for an
    unknown notebook, a value that fails validate_parameters, or an existing file."""
    nb = find_notebook(notebook if str(notebook).endswith(".ipynb") else f"{Path(notebook).name}.ipynb")
    out = Path(out)
    if out.suffix not in (".yaml", ".yml"):
        raise StudyError(f"{out}: a parameter file ends in .yaml")
    if out.exists():
        raise StudyError(f"{out} exists; choose another name (or delete it first)")
    st = Study(name=out.stem, params_file=out, notebook=nb, parameters=dict(overrides or {}), title=title, scope=scope)
    problems = validate_parameters(st)
    if problems:
        raise StudyError(format_problems(problems))
    import ast

    declared = notebook_parameters(nb)
    rel = nb.name if nb.parent == notebooks_dir() else str(nb)
    lines = [f"# Study of notebooks/{nb.name} (foi-research new-study); run it with: foi-research run {out.name}", f"notebook: {rel}"]
    if title:
        lines.append(f"title: {_literal(title)}")
    if scope != "any":
        lines.append(f"scope: {scope}")
    lines.append("parameters:")
    for k, spec in declared.items():
        if k in RESERVED_PARAMETERS:
            continue
        v = st.parameters[k] if k in st.parameters else ast.literal_eval(spec["default"])
        help_ = (spec.get("help") or "").strip()
        lines.append(f"  {k}: {_literal(v)}" + (f"  # {help_}" if help_ else ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_study(out)  # what was written reads back
    return out


def each_unit(study: Study, level: str, dataset) -> list[Study]:
    """One study per division of `level` (county or city) holding reports in the dataset (inside
    the study's own region when it sets one): region = the division's code, name
    <study>-<code>, title with the division's full name."""
    import polars as pl

    from foi_research.present.analysis import regions_in, resolve_region

    if level not in ("county", "city", "province"):
        raise StudyError(f"--each {level}: write --each county, --each city or --each province")
    if "region" not in notebook_parameters(study.notebook):
        raise StudyError(f"--each needs a notebook with a region parameter; {study.notebook.name} has none")
    if not dataset or not (project_path(dataset) / "reports.parquet").exists():
        raise StudyError("--each needs a built dataset to find the units in: give --dataset DIR (foi-research build writes one)")
    rep = pl.read_parquet(project_path(dataset) / "reports.parquet", columns=["division_code", "county"])
    units = regions_in(rep, level)
    within = resolve_region(study.parameters.get("region")) if study.parameters.get("region") else None
    out = []
    for r in units.iter_rows(named=True):
        if within is not None and not within.contains(r["code"]):
            continue
        out.append(
            Study(
                name=f"{study.name}-{r['code']}",
                params_file=None,
                notebook=study.notebook,
                parameters={**study.parameters, "region": r["code"]},
                title=f"{study.title or study.notebook.stem}: {r['label']}",
                scope=study.scope,
            )
        )
    if not out:
        raise StudyError(f"no {level} with reports in {dataset}" + (f" inside {within.describe()}" if within else ""))
    return out


def studies_for(params_dir: str | os.PathLike, bundled: bool) -> tuple[list[Path], list[Path]]:
    """(studies to run, studies left out) of a params folder for `foi-research all`: on the
    bundled corpus every study; on a researcher's own corpus only those not marked
    `scope: bundled` (the bundled studies name regions of the bundled reports)."""
    run, skip = [], []
    for f in study_files(params_dir):
        try:
            scope = (load_study(f).scope) if not bundled else "any"
        except StudyError:
            scope = "any"  # reported when it runs
        (skip if scope == "bundled" else run).append(f)
    return run, skip


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class StudyResult:
    study: str
    notebook: str
    status: str  # ok | failed
    seconds: float
    out: str | None = None
    error: str | None = None
    failed_notebook: str | None = None
    files: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Summary:
    results: list[StudyResult]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[StudyResult]:
        return [r for r in self.results if not r.ok]

    def rows(self) -> list[dict]:
        return [asdict(r) for r in self.results]

    def table(self):
        from rich.table import Table

        t = Table(title="foi-research: studies", show_header=True)
        for c, j in (("study", "left"), ("notebook", "left"), ("status", "left"), ("seconds", "right"), ("charts", "right"), ("tables", "right"), ("output / error", "left")):
            t.add_column(c, justify=j)
        for r in self.results:
            st = "[green]ok[/]" if r.ok else "[red]failed[/]"
            detail = r.out if r.ok else f"{r.error}" + (f"\n(executed copy: {r.failed_notebook})" if r.failed_notebook else "")
            t.add_row(r.study, r.notebook, st, f"{r.seconds:.1f}", str(r.files.get("charts", "")), str(r.files.get("tables", "")), detail or "")
        n_ok = sum(r.ok for r in self.results)
        t.caption = f"{n_ok} ok, {len(self.results) - n_ok} failed, {self.seconds:.1f} s"
        return t


def _error_text(e: BaseException) -> str:
    try:
        from papermill.exceptions import PapermillExecutionError
    except ImportError:  # pragma: no cover
        PapermillExecutionError = ()  # type: ignore
    if isinstance(e, PapermillExecutionError):
        return f"{e.ename}: {e.evalue} (cell {e.exec_count})"
    return f"{type(e).__name__}: {e}"


def _count(d: Path, sub: str, ext: str) -> int:
    p = d / sub
    return len(list(p.glob(f"*.{ext}"))) if p.is_dir() else 0


def _rewrite_paths(nb_path: Path, tmp: Path, final: Path, study: "Study | None" = None) -> None:
    """The notebook ran with output_dir = the temporary folder and an absolute dataset path: the
    executed notebook records them relative to the study's folder instead (output_dir '.', the
    dataset as ../../dataset), in the injected-parameters cell and papermill's metadata, and the
    injected cell is written readably (临淄区, not \\u4e34\\u6dc4\\u533a)."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)

    def rel(v):
        if isinstance(v, str) and v.startswith(str(tmp)):
            return os.path.relpath(v.replace(str(tmp), str(final), 1), final)
        if isinstance(v, str) and os.path.isabs(v) and Path(v).exists():
            return os.path.relpath(v, final)
        return v

    pm = nb.metadata.get("papermill", {})
    params = {k: rel(v) for k, v in pm.get("parameters", {}).items()}
    if params:
        pm["parameters"] = params
    for k in ("output_path", "input_path"):
        if isinstance(pm.get(k), str):
            pm[k] = Path(pm[k]).name
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = "# Parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items()) + "\n"
        elif str(tmp) in cell.source:
            cell.source = cell.source.replace(str(tmp), ".")
    nbformat.write(nb, nb_path)


def _safe_html_exporter(**kw):
    """nbconvert's HTMLExporter whose Markdown (cells and the Markdown that notebooks display,
    which holds agency names and other text from the documents) is rendered with raw HTML
    escaped and links and images to unsafe schemes (javascript:, vbscript:, file:, data: other
    than images) replaced by '#harmful-link'. nbconvert's default renders raw HTML and allows
    every scheme, so a report titled '[x](javascript:...)' became a live link. Tables come from
    polars, which escapes its cells; charts are SVG shown as images (no script runs in them)."""
    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class SafeHTMLExporter(HTMLExporter):
        @jinja2.pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = IPythonRenderer(
                escape=True,
                allow_harmful_protocols=False,
                attachments=cell.get("attachments", {}),
                embed_images=self.embed_images,
                path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )
            return MarkdownWithMath(renderer=renderer).render(source)

    return SafeHTMLExporter(template_name="lab", **kw)


def _parameters_markdown(study: "Study", dataset: str | None) -> str:
    """The parameters of a study as a table, for the top of its HTML report. (The report's
    Markdown is rendered with raw HTML escaped (_safe_html_exporter): only Markdown's own syntax
    is escaped here.)"""

    def md(v) -> str:
        t = str(v).replace("\n", " ")
        for ch in "\\`*_[]|<#":
            t = t.replace(ch, "\\" + ch)
        return t

    rows = [("notebook", study.notebook.name)] + [(k, _literal(v)) for k, v in study.parameters.items()]
    if dataset:
        rows.append(("dataset", Path(dataset).name))
    head = f"# {md(study.title or study.name)}\n\n"
    return head + "| parameter | value |\n|---|---|\n" + "\n".join(f"| {md(k)} | {md(v)} |" for k, v in rows) + "\n"


def _html(nb_path: Path, html_path: Path, code: bool = False, header: str | None = None) -> None:
    """The HTML report of an executed notebook: results only (code cells hidden unless `code`),
    the parameters as a table at the top, every chart with its alt text and its fonts embedded
    (Chinese shows without a CJK font), no script or file from the network."""
    import base64
    import html as _h

    import nbformat

    from foi_research.present.viz import embed_fonts

    nb = nbformat.read(nb_path, as_version=4)
    if header:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(header))
    exp = _safe_html_exporter(exclude_input=not code, exclude_input_prompt=not code, exclude_output_prompt=True)
    exp.mathjax_url = ""  # no CDN: the notebooks hold no formulas that need MathJax
    body, _ = exp.from_notebook_node(nb)
    # the charts are inline SVG and the notebooks emit no JavaScript: drop the template's
    # require.js from a CDN, so the page makes no network request at all
    body = re.sub(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>', "", body)

    def chart(m):
        svg = base64.b64decode(m.group(1)).decode("utf-8")
        alt_m = re.search(r'aria-label="([^"]*)"', svg[: svg.find(">") + 1])
        alt_text = _h.unescape(alt_m.group(1)) if alt_m else "chart"
        svg = embed_fonts(svg)
        b64 = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f'<img alt="{_h.escape(alt_text, quote=True)}" src="data:image/svg+xml;base64,{b64}">'

    body = re.sub(r'<img(?: alt="[^"]*")? src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"\s*/?>', chart, body)
    html_path.write_text(body, encoding="utf-8")


def _workbook(tmp: Path, name: str) -> Path | None:
    """<study>.xlsx: every table of the study (tables/*.csv) as a sheet, text never read as a
    formula or a link."""
    import polars as pl
    import xlsxwriter

    csvs = sorted((tmp / "tables").glob("*.csv")) if (tmp / "tables").is_dir() else []
    if not csvs:
        return None
    path = tmp / f"{name}.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
    try:
        used: set[str] = set()
        for f in csvs:
            sheet = re.sub(r"[\[\]:*?/\\]", "_", f.stem)[:31]
            k = 1
            while sheet.lower() in used:
                sheet = f"{f.stem[:28]}_{k}"
                k += 1
            used.add(sheet.lower())
            df = pl.read_csv(f, encoding="utf8-lossy", infer_schema_length=10000)
            df.write_excel(wb, worksheet=sheet, autofit=True, float_precision=6)
    finally:
        wb.close()
    return path


@contextlib.contextmanager
def _static_charts():
    """Kernels started inside get static svg charts (FOI_CHARTS unset): executed notebooks and
    their HTML must show the charts without a live widget frontend."""
    saved = os.environ.pop("FOI_CHARTS", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["FOI_CHARTS"] = saved


def run_study(
    study: Study | str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    *,
    dataset: str | os.PathLike | None = None,
    kernel_name: str | None = None,
    timeout: int | None = 1800,
    progress: bool = False,
    code: bool = False,
) -> StudyResult:
    """Execute one study. Never raises for a failing notebook: the result says what went wrong.
    progress: a bar over the notebook's cells on stderr; code: the HTML shows the code cells."""
    t0 = time.perf_counter()
    name, nbname = (Path(study).stem if not isinstance(study, Study) else study.name), "?"
    tmp = stage = None
    try:
        if not isinstance(study, Study):
            study = load_study(study)
        name, nbname = study.name, study.notebook.name
        # parameters checked before a kernel starts (types, regions, years...), against the data
        problems = validate_parameters(study, Path(dataset) if dataset else (default_dataset() if dataset is None else None))
        if problems:
            raise StudyError(format_problems(problems))
        import papermill

        out = Path(out_dir) if out_dir is not None else default_out_dir()
        out = out.resolve()
        out.mkdir(parents=True, exist_ok=True)
        final = out / name
        # staged beside the study's folder, swapped in atomically; a folder of that name that is
        # not a study written here is never replaced; one run per study at a time
        stage = Staging(final, STUDY)
        tmp = stage.path
        params = dict(study.parameters)
        params["output_dir"] = str(tmp)
        # dataset: a folder; "" = none (the notebook parses its corpus); None = outputs/dataset if built
        ds = Path(dataset) if dataset else (default_dataset() if dataset is None else None)
        if ds is not None and "dataset" in notebook_parameters(study.notebook):
            params["dataset"] = str(Path(ds).resolve())
        nb_out = tmp / f"{name}.ipynb"
        try:
            with _static_charts():
                papermill.execute_notebook(
                    str(study.notebook),
                    str(nb_out),
                    parameters=params,
                    kernel_name=kernel_name,
                    progress_bar=progress,
                    log_output=False,
                    cwd=str(study.notebook.parent),
                    execution_timeout=timeout,
                    config=_kernel_config(),
                )
        except BaseException as e:
            failed = None
            if nb_out.exists():
                fdir = out / FAILED_DIR
                fdir.mkdir(exist_ok=True)
                failed = fdir / f"{name}.ipynb"
                shutil.copyfile(nb_out, failed)
            return StudyResult(name, nbname, "failed", time.perf_counter() - t0, error=_error_text(e), failed_notebook=str(failed) if failed else None)
        _rewrite_paths(nb_out, tmp, final, study)
        _html(nb_out, tmp / f"{name}.html", code=code, header=_parameters_markdown(study, params.get("dataset")))
        _workbook(tmp, name)
        (tmp / "params.yaml").write_text(_params_yaml(study), encoding="utf-8")
        files = {"charts": _count(tmp, "charts", "png"), "svg": _count(tmp, "charts", "svg"), "tables": _count(tmp, "tables", "csv")}
        seconds = time.perf_counter() - t0
        manifest = {
            "format": STUDY,
            "study": name,
            "title": study.title,
            "notebook": f"notebooks/{nbname}",
            "parameters": study.parameters,
            "dataset": os.path.relpath(params["dataset"], final) if params.get("dataset") else None,
            "status": "ok",
            "seconds": round(seconds, 2),
            "files": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()) + ["manifest.json"],
        }
        manifest["contents"] = contents(tmp)
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        stage.commit()
        tmp = stage = None
        stale = out / FAILED_DIR / f"{name}.ipynb"
        if stale.exists():
            stale.unlink()
        return StudyResult(name, nbname, "ok", time.perf_counter() - t0, out=str(final), files=files)
    except BaseException as e:  # noqa: BLE001 - a batch must survive any one study
        if isinstance(e, KeyboardInterrupt):
            raise
        return StudyResult(name, nbname, "failed", time.perf_counter() - t0, error=_error_text(e))
    finally:
        if stage is not None:
            stage.abort()


def _params_yaml(study: Study) -> str:
    """params.yaml of a study's outputs: the parameters it ran with (overrides included)."""
    lines = [f"# parameters of study {study.name}" + (f" (from {study.params_file.name})" if study.params_file else "")]
    lines.append(f"notebook: {study.notebook.name}")
    if study.title:
        lines.append(f"title: {_literal(study.title)}")
    lines.append("parameters:")
    lines += [f"  {k}: {_literal(v)}" for k, v in study.parameters.items()]
    return "\n".join(lines) + "\n"


def _kernel_config():
    """Kernels started for a study talk to it over CurveZMQ when the kernel supports it
    (ipykernel >= 7.3 warns on every start over plain TCP); 'auto' falls back to plain TCP."""
    from traitlets.config import Config

    return Config({"KernelManager": {"transport_encryption": "auto"}})


def _run_task(task: tuple) -> StudyResult:
    """Top-level (picklable) task for executor.run_tasks."""
    params_file, out_dir, dataset, kernel_name, timeout = task[:5]
    code = task[5] if len(task) > 5 else False
    return run_study(params_file, out_dir, dataset=dataset, kernel_name=kernel_name, timeout=timeout, code=code)


def run(params_file: str | os.PathLike, out_dir: str | os.PathLike | None = None, **kw) -> StudyResult:
    """Run one study (one params file)."""
    return run_study(params_file, out_dir, **kw)


def batch(
    params_dir: str | os.PathLike = "params",
    out_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    address: str | None = None,
    *,
    dataset: str | os.PathLike | None = None,
    kernel_name: str | None = None,
    timeout: int | None = 1800,
    progress: bool = True,
    code: bool = False,
) -> Summary:
    """Run every study of params_dir (one params file per study). Studies run in parallel on
    `workers` local processes (default: up to the number of cores), or on the Dask scheduler
    at `address`. params_dir may also be a list of studies (Study objects or parameter files, as
    each_unit gives). Returns a Summary (results in order); never raises for a failing study."""
    from foi_research.executor import default_workers, run_tasks

    t0 = time.perf_counter()
    if isinstance(params_dir, (list, tuple)):  # studies (Study objects or parameter files)
        files = list(params_dir)
    else:
        pdir = project_path(params_dir) if not Path(params_dir).exists() else Path(params_dir)
        files = study_files(pdir)
    out = Path(out_dir) if out_dir is not None else default_out_dir()
    if dataset is None:
        found = default_dataset()
        ds = str(found) if found else ""
    else:
        ds = str(Path(dataset).resolve()) if dataset else ""
    tasks = [(f if isinstance(f, Study) else str(f), str(out), ds, kernel_name, timeout, code) for f in files]
    n_workers = workers if workers else min(len(tasks), default_workers()) or 1
    if address:
        backend = "dask"
    elif n_workers > 1 and len(tasks) > 1:
        backend = "processes"
    else:
        backend = "serial"
    try:
        results = list(
            run_tasks(
                _run_task, tasks, backend=backend, workers=n_workers, address=address, progress=progress, desc="studies", unit="study", chunksize=1,
                on_lost=_lost_study,
            )
        )
    except BaseException:  # (Ctrl-C, SIGTERM: the workers were ended; remove what they staged)
        from foi_research.atomic import clean_stale

        for f in files:
            name = f.name if isinstance(f, Study) else Path(f).stem
            if _STUDY_NAME.fullmatch(name):
                clean_stale(out.resolve() / name)
        raise
    return Summary(results, time.perf_counter() - t0)


def _lost_study(task: tuple, exitcode: int | None) -> StudyResult:
    """The result of a study whose worker process died (executor.run_tasks on_lost)."""
    f = task[0]
    name = f.name if isinstance(f, Study) else Path(f).stem
    return StudyResult(name, "?", "failed", 0.0, error=f"the worker process running this study died (exit code {exitcode}: out of memory, or a crash)")


# ---------------------------------------------------------------------------------------------
# Data for the notebooks


@dataclass
class StudyData:
    """What a notebook works on: the contract tables, the harmonised panel, and a sentence saying
    where they came from (no temporary paths, so notebook outputs stay stable).

    `tables` holds the contract tables as read: LazyFrames over the parquet files of a built
    dataset (a national dataset is never loaded whole; the analysis functions read only the rows
    they need), DataFrames when the corpus was parsed for the notebook. `data["requests"]` always
    gives a DataFrame (read on first use, then kept)."""

    tables: dict
    panel: Any
    origin: str
    crosswalk: str
    denominator: str
    _eager: dict = field(default_factory=dict, repr=False)

    def __getitem__(self, k):
        if k not in self._eager:
            t = self.tables[k]
            self._eager[k] = t.collect() if hasattr(t, "collect") and not hasattr(t, "height") else t
        return self._eager[k]


def _parse_to_tables(corpus: Path) -> dict:
    import tempfile

    from foi_research.validate.dataset import DatasetWriter, read_dataset
    from foi_research.pipeline import parse_paths

    with tempfile.TemporaryDirectory(prefix="foi-study-") as td:
        out = Path(td) / "ds"
        with DatasetWriter(out) as w:
            for p in parse_paths([corpus], workers=1, backend="serial"):
                w.add(p)
        return read_dataset(out)


def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(project_root()))
    except ValueError:
        return p.name


def build_panel(tables: dict, crosswalk: str = "default", denominator: str = "handled"):
    """The harmonised panel (metrics.build_panel of the harmonise stage)."""
    from foi_research.harmonise import metrics
    from foi_research.build import PANEL_CHUNK

    return metrics.build_panel(tables, crosswalk=crosswalk, denominator=denominator, chunk_reports=PANEL_CHUNK)


def load_study_data(
    dataset: str | os.PathLike | None = "",
    corpus: str | os.PathLike = "data/corpus",
    *,
    crosswalk: str = "default",
    denominator: str = "handled",
    panel: bool = True,
) -> StudyData:
    """Load a built dataset (`foi-research build` / `parse` output) when `dataset` names one,
    else parse `corpus` (default: the bundled corpus) in a temporary folder. The panel is read
    from the dataset's panel.parquet when its settings match, else built with
    metrics.build_panel(tables, crosswalk=..., denominator=...)."""
    import polars as pl

    from foi_research.build import PANEL_CHUNK, scan_dataset  # noqa: F401

    if dataset:
        d = project_path(dataset)
        if not (d / "manifest.json").exists():
            raise StudyError(f"{d} is not a foi-research dataset (no manifest.json); build one with `foi-research build` or leave `dataset` empty to parse `corpus`")
        tables = scan_dataset(d)  # LazyFrames: a national dataset is not loaded whole
        origin = f"dataset {_rel(d)}"
    else:
        c = project_path(corpus)
        if not c.exists():
            raise StudyError(f"corpus {corpus} not found (looked in {c})")
        tables = _parse_to_tables(c)
        origin = f"parsed from {_rel(c)}"
    pnl = None
    if panel:
        ppath = project_path(dataset) / "panel.parquet" if dataset else None
        if ppath is not None and ppath.exists():
            p = pl.read_parquet(ppath)
            if (
                "crosswalk" in p.columns
                and p["crosswalk"].unique().to_list() == [crosswalk]
                and p["denominator"].unique().to_list() == [denominator]
            ):
                pnl = p
        if pnl is None:
            pnl = build_panel(tables, crosswalk=crosswalk, denominator=denominator)
        pnl = pnl.sort("report_id")
        if not dataset:
            # a built dataset already holds the harmonise stage's findings; add them here too
            from foi_research.harmonise import metrics

            extra = metrics.quality_rows(tables, pnl)
            if extra.height:
                tables = dict(tables, quality=pl.concat([tables["quality"], extra.select(tables["quality"].columns)], how="vertical_relaxed"))
    tables = {k: v for k, v in tables.items()}
    return StudyData(tables=tables, panel=pnl, origin=origin, crosswalk=crosswalk, denominator=denominator)


def setup_notebook(interactive: bool | None = None) -> str:
    """First call of every notebook: chart renderer and fonts (viz.setup), and table display
    settings. Returns the renderer's name."""
    import polars as pl

    from foi_research.present import viz

    pl.Config.set_tbl_rows(200)
    pl.Config.set_tbl_cols(40)
    pl.Config.set_fmt_str_lengths(400)
    pl.Config.set_tbl_width_chars(240)
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:  # pragma: no cover
        ip = None
    if ip is not None:  # tables as readable HTML tables (great_tables), whole, in the notebook and its report
        ip.display_formatter.formatters["text/html"].for_type(pl.DataFrame, table_html)
    return viz.setup(interactive)


TABLE_MAX_ROWS = 500


def table_html(df) -> str:
    """A polars table as a static HTML table (great_tables): every column, strings whole, nulls
    as —, up to TABLE_MAX_ROWS rows (the study's tables/*.csv hold all). The element id is a hash
    of the content, so the output is the same run after run."""
    import hashlib

    import polars as pl
    from great_tables import GT

    shown = df.head(TABLE_MAX_ROWS)
    key = hashlib.sha1(shown.write_csv().encode("utf-8") + ",".join(df.columns).encode("utf-8")).hexdigest()[:12]
    gt = GT(shown, id=f"t{key}").sub_missing(missing_text="—")
    floats = [c for c, t in shown.schema.items() if t in (pl.Float32, pl.Float64)]
    if floats:
        gt = gt.fmt_number(columns=floats, decimals=3)
    if df.height > TABLE_MAX_ROWS:
        gt = gt.tab_source_note(f"first {TABLE_MAX_ROWS} of {df.height} rows; all rows in the study's tables/ folder")
    gt = gt.tab_source_note(f"{df.height} rows × {df.width} columns")
    return gt.as_raw_html()


class Outputs:
    """Where a notebook writes its charts and tables. output_dir '' writes nothing (the stored
    notebooks and nbval run that way); the runner passes a folder."""

    def __init__(self, output_dir: str | os.PathLike | None):
        self.dir = Path(output_dir) if output_dir else None
        self.saved: list[str] = []

    def save(self, fig):
        """Write charts/<name>.png|svg and tables/<name>.csv; return the figure for display."""
        from foi_research.present.viz import save_figure

        if self.dir is not None:
            save_figure(fig, self.dir)
        self.saved.append(fig.name)
        return fig

    def text(self, filename: str, content: str) -> str:
        """Write tables/<filename> (a regression table as Markdown or LaTeX); return the text."""
        if self.dir is not None:
            (self.dir / "tables").mkdir(parents=True, exist_ok=True)
            (self.dir / "tables" / filename).write_text(content, encoding="utf-8")
        self.saved.append(filename)
        return content

    def table(self, name: str, df):
        """Write tables/<name>.csv (a table without a chart, e.g. model estimates); return df."""
        if self.dir is not None:
            (self.dir / "tables").mkdir(parents=True, exist_ok=True)
            from foi_research.present.export import spreadsheet_safe

            spreadsheet_safe(df).write_csv(self.dir / "tables" / f"{name}.csv", include_bom=True)
        self.saved.append(name)
        return df


# ---------------------------------------------------------------------------------------------
# Stored notebooks


def refresh_notebooks(paths: Iterable[str | os.PathLike] | None = None, kernel_name: str = DEFAULT_KERNEL, timeout: int = 1800) -> list[Path]:
    """Execute the stored notebooks in place with their default parameters (static svg charts,
    no timing metadata), so that nbval compares them with real outputs. Run after changing a
    notebook, the parser or the panel: `python -m foi_research.present.studies refresh`."""
    import nbformat
    from nbclient import NotebookClient

    nbs = [Path(p) for p in paths] if paths else sorted(notebooks_dir().glob("*.ipynb"))
    with _static_charts():
        for p in nbs:
            nb = nbformat.read(p, as_version=4)
            for c in nb.cells:
                if c.cell_type == "code":
                    c.outputs = []
                    c.execution_count = None
                c.metadata.pop("execution", None)
                c.metadata.pop("papermill", None)
            nb.metadata.pop("papermill", None)
            client = NotebookClient(
                nb, kernel_name=kernel_name, timeout=timeout, record_timing=False, resources={"metadata": {"path": str(p.parent)}}, config=_kernel_config()
            )
            client.execute()
            for c in nb.cells:
                c.metadata.pop("execution", None)
            nb.metadata.kernelspec = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": kernel_name}
            nbformat.validate(nb)
            nbformat.write(nb, p)
    return nbs


# ---------------------------------------------------------------------------------------------
# JupyterLab


def prepare_work(root: Path | None = None) -> list[Path]:
    """Copies of the stored notebooks in work/ (git-ignored), made when missing: what a lab
    session works on, while the stored ones stay read-only (present/labguard.py)."""
    from foi_research.present.labguard import WORK_DIR

    root = root or project_root()
    work = root / WORK_DIR
    made = []
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        dst = work / nb.name
        if not dst.exists():
            work.mkdir(exist_ok=True)
            shutil.copyfile(nb, dst)
            made.append(dst)
    return made


def lab_argv(port: int | None = None, ip: str = "127.0.0.1", browser: bool = True, token: str | None = None, extra: Iterable[str] = ()) -> list[str]:
    argv = [
        sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={project_root()}", f"--ip={ip}", f"--MappingKernelManager.default_kernel_name={DEFAULT_KERNEL}",
        # the stored notebooks read-only (never autosaved); the session opens on the copies in work/
        "--ServerApp.contents_manager_class=foi_research.present.labguard.StoredNotebooksReadOnly",
        "--LabApp.default_url=/lab/tree/work",
    ]
    if port:
        argv.append(f"--port={port}")
    if not browser:
        argv.append("--no-browser")
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    argv += list(extra)
    return argv


def lab_env(static: bool = False) -> dict:
    env = dict(os.environ)
    if not static:
        env.setdefault("FOI_CHARTS", "interactive")
    env["JUPYTER_PREFER_ENV_PATH"] = "1"  # this environment's python3 kernel before a user-level one
    env.setdefault("FOI_PROJECT_ROOT", str(project_root()))
    return env


# ---------------------------------------------------------------------------------------------
# CLI


def register(app) -> None:
    from rich.console import Console

    err = Console(stderr=True, soft_wrap=True)

    def _print_summary(summary: Summary) -> None:
        Console(stderr=True, width=max(120, Console(stderr=True).width)).print(summary.table())
        for r in summary.failed:
            err.print(f"[red]failed:[/] {r.study}: {r.error}")

    def _fail(msg: str) -> None:
        err.print(f"[red]error:[/] {msg}")
        raise typer.Exit(2)

    def _study(target, params, name=None, title=None) -> Study:
        try:
            return study_from(target, parse_overrides(params), name=name, title=title)
        except StudyError as e:
            _fail(str(e))

    def _check(st: Study, dataset) -> None:
        """Parameters checked before a kernel starts: a bad value is a command error (exit 2)
        with what to write."""
        ds = Path(dataset) if dataset else (default_dataset() if dataset is None else None)
        problems = validate_parameters(st, ds)
        if problems:
            where = st.params_file or st.notebook.name
            _fail(f"{where}: " + "; ".join(f"{p.key}: {p.problem}" for p in problems))

    @app.command("run")
    def run_cmd(
        target: Annotated[str, typer.Argument(help="A study's parameter file (params/<study>.yaml) or a notebook (region_profile, notebooks/x.ipynb)")],
        param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Set a parameter: -p region=临淄区 -p years=[2019,2023] (values read as YAML)")] = None,
        name: Annotated[Optional[str], typer.Option(help="Name of the study (its output folder); default: the file's name")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for the study outputs (default outputs/studies)")] = None,
        dataset: Annotated[Optional[str], typer.Option(help="A built dataset folder (default: outputs/dataset when it exists); '' = let the notebook parse its corpus")] = None,
        kernel: Annotated[Optional[str], typer.Option(help="Jupyter kernel (default: the notebook's, python3)")] = None,
        timeout: Annotated[int, typer.Option(help="Seconds a cell may run")] = 1800,
        code: Annotated[bool, typer.Option("--code", help="Show the code cells in the HTML report (default: results only)")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
    ):
        """Run one study (a parameter file, or a notebook with -p parameters); write notebook, HTML, charts and tables."""
        st = _study(target, param, name=name)
        _check(st, dataset)
        if not quiet:
            shown = ", ".join(f"{k}={_literal(v)}" for k, v in st.parameters.items()) or "the notebook's defaults"
            err.print(f"running {st.name}: {st.notebook.name} with {shown}")
            err.print("[dim]starting the kernel, then one step per cell[/]")
        r = run_study(st, out, dataset=dataset, kernel_name=kernel, timeout=timeout, progress=not quiet, code=code)
        _print_summary(Summary([r], r.seconds))
        raise typer.Exit(0 if r.ok else 1)

    @app.command("batch")
    def batch_cmd(
        target: Annotated[Path, typer.Argument(help="Folder of parameter files (one study each); with --each, one study or notebook")] = Path("params"),
        each: Annotated[Optional[str], typer.Option(help="Run the study once per county (or city, province) with reports in the dataset")] = None,
        param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Set a parameter of the study run --each: -p years=[2019,2023]")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for the study outputs (default outputs/studies)")] = None,
        workers: Annotated[Optional[int], typer.Option(help="Studies to run at once (default: number of cores)")] = None,
        dask: Annotated[Optional[str], typer.Option("--dask", help="Address of a Dask scheduler (tcp://host:8786) to run the studies on")] = None,
        dataset: Annotated[Optional[str], typer.Option(help="A built dataset folder (default: outputs/dataset when it exists); '' = let each notebook parse its corpus")] = None,
        kernel: Annotated[Optional[str], typer.Option(help="Jupyter kernel (default: the notebook's, python3)")] = None,
        timeout: Annotated[int, typer.Option(help="Seconds a cell may run")] = 1800,
        code: Annotated[bool, typer.Option("--code", help="Show the code cells in the HTML reports")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
    ):
        """Run every study in a folder in parallel (or one study --each county|city); print a summary; exit 1 if any failed."""
        if each:
            st = _study(target, param)
            ds = dataset if dataset is not None else (str(default_dataset()) if default_dataset() else "")
            try:
                todo = each_unit(st, each, ds)
            except StudyError as e:
                _fail(str(e))
            for one in todo:
                _check(one, ds)
            err.print(f"{len(todo)} {each} unit(s) with reports: {', '.join(s.parameters['region'] for s in todo)}")
            summary = batch(todo, out, workers=workers, address=dask, dataset=ds, kernel_name=kernel, timeout=timeout, progress=not quiet, code=code)
        else:
            if param:
                _fail("-p sets the parameters of one study: use it with --each or with `foi-research run`")
            if not target.exists():
                _fail(f"{target} does not exist")
            if not study_files(target):
                _fail(f"no .yaml parameter files in {target}")
            summary = batch(target, out, workers=workers, address=dask, dataset=dataset, kernel_name=kernel, timeout=timeout, progress=not quiet, code=code)
        _print_summary(summary)
        raise typer.Exit(0 if summary.ok else 1)

    @app.command("new-study")
    def new_study_cmd(
        notebook: Annotated[str, typer.Argument(help="The notebook: region_profile, county_comparison, regulation_2019 (or a path)")],
        out: Annotated[Path, typer.Option("--out", "-o", help="The parameter file to write (e.g. params/my_study.yaml)")],
        param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Set a parameter instead of the notebook's default: -p region=淮安")] = None,
        title: Annotated[Optional[str], typer.Option(help="Title of the study")] = None,
    ):
        """Write a parameter file from a notebook's parameters (defaults, comments, your -p values)."""
        try:
            path = new_study(notebook, out, parse_overrides(param), title=title)
        except StudyError as e:
            _fail(str(e))
        err.print(f"wrote {path}; edit it, then: foi-research run {path}")

    @app.command("regions")
    def regions_cmd(
        dataset: Annotated[Path, typer.Argument(help="A built dataset folder")] = Path("outputs/dataset"),
        level: Annotated[Optional[str], typer.Option(help="Only this level: province, city, county or zone")] = None,
    ):
        """List the divisions the dataset's reports are placed in, with their GB/T 2260 codes (what `region` can be)."""
        import polars as pl

        from foi_research.present.analysis import regions_in

        d = project_path(dataset)
        if not (d / "reports.parquet").exists():
            _fail(f"{d} is not a built dataset (no reports.parquet); build one with foi-research build")
        rows = regions_in(pl.read_parquet(d / "reports.parquet", columns=["division_code", "county"]), level)
        from rich.table import Table

        t = Table(title=f"regions of {d}")
        for c in ("code", "level", "label", "path", "reports"):
            t.add_column(c, justify="right" if c == "reports" else "left")
        for r in rows.iter_rows():
            t.add_row(*[str(x) for x in r])
        Console(width=max(100, Console().width)).print(t)

    @app.command("lab", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def lab_cmd(
        ctx: typer.Context,
        port: Annotated[Optional[int], typer.Option(help="Port (default: Jupyter's, 8888 or the next free one)")] = None,
        ip: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
        no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser (headless)")] = False,
        token: Annotated[Optional[str], typer.Option(help="Access token (default: a random one, printed)")] = None,
        static: Annotated[bool, typer.Option("--static", help="Static svg charts instead of interactive ones")] = False,
    ):
        """Open JupyterLab on the project with its Python kernel; charts interactive and offline.
        Extra arguments go to jupyter lab."""
        argv = lab_argv(port=port, ip=ip, browser=not no_browser, token=token, extra=ctx.args)
        env = lab_env(static=static)
        made = prepare_work()
        err.print(
            "the stored notebooks (notebooks/) open read-only, so that a Run All is never autosaved into them; "
            f"work in work/ ({len(made)} cop{'y' if len(made) == 1 else 'ies'} made now)" if made else
            "the stored notebooks (notebooks/) open read-only; your working copies are in work/"
        )
        os.chdir(project_root())
        sys.stdout.flush()
        sys.stderr.flush()
        os.execvpe(argv[0], argv, env)  # replace this process: its PID is the server's


def _main(argv: list[str]) -> int:
    if argv[:1] == ["refresh"]:
        for p in refresh_notebooks(argv[1:] or None):
            print(f"executed {p}")
        return 0
    print("usage: python -m foi_research.present.studies refresh [notebook.ipynb ...]")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
