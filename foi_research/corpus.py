"""A researcher's own corpus: where its files are, what the researcher knows about them, and the
same report found twice.

Input root. `source_file` in the reports table is the path of the file relative to the input
root: the folder given (or the common folder of everything given), so that a dataset does not
carry the paths of the machine that parsed it. The root itself is recorded in manifest.json
(`input_root`).

Sidecar metadata. A file named `foi-metadata.csv` in the input root (or given with
`foi-research build --metadata FILE`) tells what a scrape knew about each document and corrects
single values by hand. UTF-8 (a BOM is fine), one row per file or per report, columns (all but
`file` optional, any order, unknown columns refused):

    file          path of the document relative to the folder of foi-metadata.csv (a/b.pdf)
    report        first line of the report in its file (reports.source_line); empty = every
                  report of the file
    source_url    where the document was found
    retrieved     when it was downloaded, YYYY-MM-DD
    agency        the issuing agency as the site names it
    year          the year reported on
    division      where the agency is: a GB/T 2260 code (370305), a name or a path
                  (山东省/淄博市/临淄区), as a study's `region`
    field, value  a correction of one value: field is agency, year, published (YYYY-MM-DD),
                  division, or a table cell: requests.<row_code>.<applicant>,
                  appeals.<proceeding>.<outcome>, legacy.<indicator> (the statistics table's
                  figure), proactive.<item>.<measure>; value the right value (empty = null)
    by, reason    who made the correction and why: required with `field`

Everything is applied when the dataset is built and recorded, never silently: source_url and
retrieved fill their columns of `reports`; agency, year and division fill what the document does
not say (agency_source / year_source `metadata`, a `metadata_applied` info row) or replace what
the parser read when they differ (a `metadata_differs` warning naming both values); a correction
changes `value` (the printed `raw` stays as printed) with a `hand_correction` info row saying
what was printed, what it became, by whom and why. A metadata row that cannot be applied (no
such file or report, a bad year, an unknown field) is listed in manifest.json
(`metadata.problems`) and printed by the build; it never stops the build.

Duplicate reports. The same report scraped twice (two files, one agency and year; or the same
bytes twice) is kept once: the panel uses one copy, `reports.duplicate_of` names it on the
others. The copy kept is the one read most completely: best status (ok, partial, no_tables,
failed), then most values corrected by hand in foi-metadata.csv, then most table cells with a
value, then the first by source_file and source_line.
Each other copy gets a `duplicate_report` row (info when its table values agree with the copy
kept, warning with the cells that differ when they do not), and the copy kept a
`duplicate_conflict` warning when any copy disagrees with it.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

METADATA_FILE = "foi-metadata.csv"
COLUMNS = ("file", "report", "source_url", "retrieved", "agency", "year", "division", "field", "value", "by", "reason")
DUPLICATE_CHECKS = ("duplicate_report", "duplicate_conflict")  # recomputed at every build
STATUS_RANK = {"ok": 0, "partial": 1, "no_tables": 2, "failed": 3}


# ---------------------------------------------------------------------------------------------
# Input root


def input_root(inputs: Iterable[str | os.PathLike]) -> Path:
    """The folder source_file is relative to: the folder given, or the common folder of all the
    inputs (a file's own folder when a file is given)."""
    dirs = []
    for p in inputs:
        p = Path(p).absolute()
        dirs.append(p if p.is_dir() else p.parent)
    if not dirs:
        return Path.cwd().absolute()
    return Path(os.path.commonpath([str(d) for d in dirs]))


def relative_name(path: str | os.PathLike, root: Path) -> str:
    """source_file of a file: its path relative to the input root, with forward slashes."""
    try:
        return Path(path).absolute().relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(Path(path).absolute(), root)).as_posix()


# ---------------------------------------------------------------------------------------------
# Sidecar metadata


class MetadataError(ValueError):
    """A metadata file that cannot be read at all (its rows' problems are collected instead)."""


@dataclass
class MetaRow:
    line: int  # line of the CSV (header = 1)
    file: str  # relative to the input root
    report: int | None
    values: dict  # source_url, retrieved, agency, year, division (only those given)
    field: str | None = None
    value: str | None = None
    by: str | None = None
    reason: str | None = None


@dataclass
class Sidecar:
    path: Path
    rows: list[MetaRow]
    problems: list[str] = field(default_factory=list)
    applied: int = 0
    _used: set = field(default_factory=set)

    def summary(self) -> dict:
        missing = [f"{self.path.name} line {r.line}: no report of file {r.file!r}" + (f" starts at line {r.report}" if r.report is not None else " was parsed") for r in self.rows if r.line not in self._used]
        return {
            "file": str(self.path),
            "sha256": hashlib.sha256(self.path.read_bytes()).hexdigest(),
            "rows": len(self.rows),
            "rows_applied": len(self._used),
            "values_applied": self.applied,
            "problems": self.problems + missing,
        }

    def for_file(self, source_file: str) -> list[MetaRow]:
        return self._by_file.get(source_file, [])

    def __post_init__(self):
        self._by_file: dict[str, list[MetaRow]] = {}
        for r in self.rows:
            self._by_file.setdefault(r.file, []).append(r)


def find_sidecar(inputs: Iterable[str | os.PathLike], root: Path) -> Path | None:
    """foi-metadata.csv of the input root or of a folder given as input."""
    for d in [root, *[Path(p) for p in inputs if Path(p).is_dir()]]:
        f = Path(d) / METADATA_FILE
        if f.is_file():
            return f
    return None


def load_sidecar(path: str | os.PathLike, root: Path) -> Sidecar:
    """Read a metadata file. Raises MetadataError when it is not a CSV with a `file` column (or
    names unknown columns); problems of single rows are collected in Sidecar.problems."""
    from foi_research.reference.gazetteer import RegionError, resolve

    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise MetadataError(f"{path}: cannot be read as UTF-8 CSV ({e})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "file" not in header:
        raise MetadataError(f"{path}: no 'file' column; the first line must name the columns ({', '.join(COLUMNS)})")
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise MetadataError(f"{path}: unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}")
    base = path.parent.absolute()
    rows, problems = [], []
    for i, raw in enumerate(reader, start=2):
        r = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        where = f"{path.name} line {i}"
        if not r.get("file"):
            if any(r.values()):
                problems.append(f"{where}: no file named")
            continue
        rel = relative_name(base / r["file"], root)
        report = None
        if r.get("report"):
            if not r["report"].isdigit():
                problems.append(f"{where}: report must be the first line of the report in its file (a number), not {r['report']!r}")
                continue
            report = int(r["report"])
        values: dict = {}
        bad = False
        for k in ("source_url", "agency"):
            if r.get(k):
                values[k] = r[k]
        if r.get("retrieved"):
            try:
                values["retrieved"] = dt.date.fromisoformat(r["retrieved"])
            except ValueError:
                problems.append(f"{where}: retrieved must be a date YYYY-MM-DD, not {r['retrieved']!r}")
                bad = True
        if r.get("year"):
            y = _year(r["year"])
            if y is None:
                problems.append(f"{where}: year must be a year such as 2021, not {r['year']!r}")
                bad = True
            else:
                values["year"] = y
        if r.get("division"):
            try:
                values["division"] = resolve(r["division"])
            except RegionError as e:
                problems.append(f"{where}: division: {e}")
                bad = True
        fld = r.get("field") or None
        if fld:
            msg = _check_field(fld, r.get("value", ""))
            if msg is None and not (r.get("by") and r.get("reason")):
                msg = "a correction needs 'by' (who) and 'reason' (why)"
            if msg:
                problems.append(f"{where}: {msg}")
                bad = True
        if bad:
            continue
        rows.append(MetaRow(i, rel, report, values, fld, r.get("value") or None if fld else None, r.get("by") or None, r.get("reason") or None))
    return Sidecar(path, rows, problems)


def _year(s: str) -> int | None:
    s = s.strip().removesuffix("年")
    return int(s) if s.isdigit() and 1990 <= int(s) <= 2100 else None


_FIELD_TABLES = {"requests": ("request_rows", "applicants"), "appeals": ("proceedings", "appeal_outcomes"), "legacy": ("legacy_indicators",), "proactive": ("proactive_items", "proactive_measures")}


def _check_field(fld: str, value: str) -> str | None:
    from foi_research.reference import codes
    from foi_research.reference.gazetteer import RegionError, resolve

    if fld in ("agency",):
        return None if value else "agency cannot be corrected to nothing"
    if fld == "year":
        return None if _year(value) is not None else f"year must be a year such as 2021, not {value!r}"
    if fld == "published":
        try:
            dt.date.fromisoformat(value)
            return None
        except ValueError:
            return f"published must be a date YYYY-MM-DD, not {value!r}"
    if fld == "division":
        try:
            resolve(value)
            return None
        except RegionError as e:
            return f"division: {e}"
    parts = fld.split(".")
    if parts[0] not in _FIELD_TABLES or len(parts) != len(_FIELD_TABLES[parts[0]]) + 1:
        return (
            f"unknown field {fld!r}: write agency, year, published, division, requests.<row_code>.<applicant>, "
            "appeals.<proceeding>.<outcome>, legacy.<indicator> or proactive.<item>.<measure> (codes as in codebook.md)"
        )
    for code, voc in zip(parts[1:], _FIELD_TABLES[parts[0]]):
        if code not in codes.V(voc).codes:
            return f"{fld}: {code!r} is not a code of {voc} ({', '.join(codes.V(voc).codes[:8])}, …)"
    if value:
        try:
            float(value) if parts[0] == "proactive" else int(value)
        except ValueError:
            return f"{fld}: the value must be a {'number' if parts[0] == 'proactive' else 'whole number'}, not {value!r}"
    return None


def apply_sidecar(parsed, sidecar: Sidecar | None) -> None:
    """Apply the metadata rows of the parsed file's reports (in place) and add the quality rows
    that record it."""
    if sidecar is None or not parsed.reports:
        return
    rows = sidecar.for_file(parsed.reports[0]["source_file"])
    if not rows:
        return
    from foi_research.model import Problem, quality_row

    for rep in parsed.reports:
        rid = rep["report_id"]
        mine = [r for r in rows if r.report is None or r.report == rep["source_line"]]
        for m in mine:
            sidecar._used.add(m.line)
            where = f"{sidecar.path.name} line {m.line}"
            notes: list[Problem] = []
            for k in ("source_url", "retrieved"):
                if k in m.values:
                    rep[k] = m.values[k]
                    sidecar.applied += 1
            for k in ("agency", "year", "division"):
                if k in m.values:
                    notes += _set(rep, k, m.values[k], where, None)
                    sidecar.applied += 1
            if m.field:
                notes += _correct(parsed, rep, m, where)
                sidecar.applied += 1
            parsed.quality.extend(quality_row(rid, p) for p in notes)


def _set(rep: dict, key: str, new, where: str, correction: MetaRow | None) -> list:
    """Set agency, year or division of a report from metadata; the quality rows that say so."""
    from foi_research.model import Problem
    from foi_research.reference.gazetteer import gazetteer, resolve

    if key == "division":
        d = new if not isinstance(new, str) else resolve(new)
        old = rep.get("division_code")
        rep.update(
            province=d.province if d.level != "province" else d.name,
            city=d.city if d.level != "city" else d.name,
            county=d.name if d.level in ("county", "zone") else None,
            division_code=d.code,
            division_level="county" if d.level == "zone" else d.level,
        )
        if d.level == "province":
            rep["city"] = None
        shown_old, shown_new = old, f"{d.code} ({d.path})"
    else:
        old = rep.get(key)
        if key == "year":
            new = int(new)
        rep[key] = new
        rep[f"{key}_source"] = "metadata"
        if key == "agency":  # placed again from the new name (a `division` given too is applied after)
            p = gazetteer().place(new)
            rep.update(province=p.province, city=p.city, county=p.county, division_code=p.code, division_level=p.level)
        shown_old, shown_new = old, new
    if correction is not None:
        return [Problem("hand_correction", "info", f"{key}: {shown_old if shown_old is not None else 'none'} corrected to {shown_new} by {correction.by} ({correction.reason}); {where}")]
    if old is None:
        return [Problem("metadata_applied", "info", f"{key} {shown_new} from {where} (the document gives none)")]
    if str(old) != str(new if key != "division" else d.code):
        return [Problem("metadata_differs", "warning", f"{key}: the document gives {shown_old}, {where} gives {shown_new}; {shown_new} is used")]
    return []


def _correct(parsed, rep: dict, m: MetaRow, where: str) -> list:
    from foi_research.model import Problem

    rid = rep["report_id"]
    if m.field in ("agency", "year", "published", "division"):
        if m.field == "published":
            old = rep.get("published")
            rep["published"] = dt.date.fromisoformat(m.value)
            return [Problem("hand_correction", "info", f"published: {old or 'none'} corrected to {m.value} by {m.by} ({m.reason}); {where}")]
        return _set(rep, m.field, m.value, where, m)
    parts = m.field.split(".")
    table = parts[0]
    keys = {"requests": ("row_code", "applicant"), "appeals": ("proceeding", "outcome"), "legacy": ("indicator",), "proactive": ("item", "measure")}[table]
    want = dict(zip(keys, parts[1:]))
    rows = getattr(parsed, table)
    cell = next((r for r in rows if r["report_id"] == rid and all(r.get(k) == v for k, v in want.items()) and (table != "legacy" or r.get("printed_in") == "statistics_table")), None)
    new = None if not m.value else (float(m.value) if table == "proactive" else int(m.value))
    if cell is None:
        cell = {"report_id": rid, **want, "value": None, "raw": None, "line": None}
        if table == "requests":
            cell["derived"] = False
        if table == "legacy":
            from foi_research.parse.report import legacy_origin

            cell.update(origin=legacy_origin(rep.get("template") or "unknown"), printed_in="statistics_table")
        if table == "proactive":
            cell["unit"] = None
        rows.append(cell)
        printed = "not in the document"
    else:
        printed = f"{cell['value']} (printed {cell['raw']!r})" if cell.get("raw") is not None else str(cell["value"])
    cell["value"] = new
    ctx = {k: v for k, v in want.items() if k in ("row_code", "applicant", "proceeding", "indicator", "item", "measure")}
    return [Problem("hand_correction", "info", f"{m.field}: {printed} corrected to {new if new is not None else 'null'} by {m.by} ({m.reason}); {where}", context=ctx, line=cell.get("line"))]


# ---------------------------------------------------------------------------------------------
# Duplicate reports


def find_duplicates(tables: dict) -> tuple[dict[str, str], list[dict]]:
    """(report_id -> report_id of the copy kept, for every copy not kept; quality rows) for the
    contract tables of a dataset (DataFrames or LazyFrames). See the module docstring."""
    import polars as pl

    from foi_research.harmonise.agencies import agencies
    from foi_research.model import Problem, quality_row

    def eager(t):
        return t.collect() if isinstance(t, pl.LazyFrame) else t

    rep = eager(tables["reports"].lazy().select("report_id", "source_file", "source_line", "agency", "division_code", "year", "status", "file_sha1"))
    if rep.height < 2:
        return {}, []
    ids = agencies(rep)
    rep = rep.join(ids.select("report_id", "agency_id"), on="report_id", how="left")
    key = (
        pl.when(pl.col("agency_id").is_not_null() & pl.col("year").is_not_null())
        .then(pl.lit("a|") + pl.col("agency_id") + "|" + pl.col("year").cast(pl.String))
        .when(pl.col("file_sha1").is_not_null())
        .then(pl.lit("f|") + pl.col("file_sha1") + "|" + pl.col("source_line").cast(pl.String))
        .otherwise(None)
    )
    rep = rep.with_columns(key.alias("_key")).filter(pl.col("_key").is_not_null() & pl.col("_key").is_duplicated())
    if rep.height == 0:
        return {}, []
    dup_ids = rep["report_id"].to_list()
    cells = pl.concat(
        [
            eager(tables["requests"].lazy().filter(pl.col("report_id").is_in(dup_ids)).select("report_id", (pl.lit("requests.") + pl.col("row_code") + "." + pl.col("applicant")).alias("cell"), "value")),
            eager(tables["appeals"].lazy().filter(pl.col("report_id").is_in(dup_ids)).select("report_id", (pl.lit("appeals.") + pl.col("proceeding") + "." + pl.col("outcome")).alias("cell"), "value")),
            eager(
                tables["legacy"].lazy().filter(pl.col("report_id").is_in(dup_ids) & (pl.col("printed_in") == "statistics_table")).select("report_id", (pl.lit("legacy.") + pl.col("indicator")).alias("cell"), "value")
            ),
        ]
    )
    values: dict[str, dict[str, int | None]] = {}
    for rid, cell, v in cells.iter_rows():
        values.setdefault(rid, {})[cell] = v
    fixed = eager(tables["quality"].lazy().filter(pl.col("report_id").is_in(dup_ids) & (pl.col("check") == "hand_correction")).group_by("report_id").len())
    rep = rep.with_columns(
        pl.col("status").replace_strict(STATUS_RANK, default=9, return_dtype=pl.Int64).alias("_rank"),
        pl.col("report_id").replace_strict(dict(fixed.iter_rows()), default=0, return_dtype=pl.Int64).alias("_fixed"),
        pl.col("report_id").replace_strict({r: sum(v is not None for v in d.values()) for r, d in values.items()}, default=0, return_dtype=pl.Int64).alias("_cells"),
    ).sort("_key", "_rank", "_fixed", "_cells", "source_file", "source_line", descending=[False, False, True, True, False, False])
    keep_of: dict[str, str] = {}
    quality: list[dict] = []
    for _, grp in rep.group_by("_key", maintain_order=True):
        rows = grp.to_dicts()
        kept = rows[0]
        kv = values.get(kept["report_id"], {})
        conflicts = []
        for other in rows[1:]:
            keep_of[other["report_id"]] = kept["report_id"]
            ov = values.get(other["report_id"], {})
            diff = sorted(c for c in set(kv) & set(ov) if kv[c] is not None and ov[c] is not None and kv[c] != ov[c])
            why = _why(kept, other)
            what = f"{kept['agency'] or 'same file'}, {kept['year'] or 'year unknown'}"
            if diff:
                shown = "; ".join(f"{c} {ov[c]} here, {kv[c]} there" for c in diff[:5]) + ("; …" if len(diff) > 5 else "")
                msg = f"duplicate of {kept['report_id']} ({kept['source_file']}, {what}), which is kept ({why}); {len(diff)} table value(s) differ: {shown}"
                quality.append(quality_row(other["report_id"], Problem("duplicate_report", "warning", msg)))
                conflicts.append(f"{other['report_id']} ({other['source_file']}: {len(diff)} value(s))")
            else:
                msg = f"duplicate of {kept['report_id']} ({kept['source_file']}, {what}), which is kept ({why}); the table values agree"
                quality.append(quality_row(other["report_id"], Problem("duplicate_report", "info", msg)))
        if conflicts:
            quality.append(
                quality_row(kept["report_id"], Problem("duplicate_conflict", "warning", f"kept in the panel over other copies whose table values differ: {', '.join(conflicts)}"))
            )
    return keep_of, quality


def _why(kept: dict, other: dict) -> str:
    if kept["_rank"] != other["_rank"]:
        return f"status {kept['status']} against {other['status']}"
    if kept["_fixed"] != other["_fixed"]:
        return f"{kept['_fixed']} value(s) corrected by hand in foi-metadata.csv against {other['_fixed']}"
    if kept["_cells"] != other["_cells"]:
        return f"{kept['_cells']} table values read against {other['_cells']}"
    return "same status and values read; first by file name"
