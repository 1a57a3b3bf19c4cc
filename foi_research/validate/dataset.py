"""Write the contract's tables as parquet, streaming and atomically.

Rows arrive file by file; they are validated with the pandera schemas in batches and appended to
parquet files in a staging folder next to the destination. Only when everything is written is
the staging folder swapped in for the destination, in one atomic rename, so a crash leaves
either the previous dataset or none, never a half-written one; a folder that is not a
foi-research dataset is never replaced (see foi_research.atomic: ownership marker, lock, stale
staging clean-up, swap). A report whose rows break the schema (a parser bug) is turned into a
failed report with a quality row instead of stopping the run.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from foi_research import __version__
from foi_research.atomic import DATASET, MANIFEST, OutputError, Staging, contents, is_ours, recover, resolve_out
from foi_research.reference import codes
from foi_research.model import TABLES, PackedParsed, Parsed, Problem, quality_row

if TYPE_CHECKING:
    import polars as pl

def _import_heavy() -> None:
    """polars, pyarrow, pandera and the schemas: about a second to import, so this module imports
    them when first needed. A DatasetWriter starts importing them in a background thread, which
    lets a parse start its worker processes at once instead of after the imports, and joins that
    thread before it uses them (two threads importing the same packages at once may see a module
    half initialised)."""
    import pandera.errors  # noqa: F401
    import polars  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from foi_research.validate import schemas  # noqa: F401


class DatasetError(OutputError):
    pass


class DatasetWriter:
    """Stream Parsed results into the dataset at `out`. Rows are validated and written every
    `batch_files` files or every `batch_rows` pending rows, whichever comes first (listings of
    many reports per file would otherwise hold hundreds of thousands of rows in memory).

    By default the writer stages the dataset and swaps it in on close (`out` must be new, empty
    or a foi-research dataset; raises DatasetError otherwise, or when another run holds it).
    With stage=False it writes straight into `out`, a folder the caller owns and swaps itself
    (`foi-research build` stages the whole build)."""

    def __init__(self, out: str | Path, batch_files: int = 2000, meta: dict | None = None, batch_rows: int = 250_000, *, stage: bool = True):
        self.out = Path(out)
        self._staging: Staging | None = None
        if stage:
            try:
                self._staging = Staging(self.out, DATASET)
            except DatasetError:
                raise
            except OutputError as e:
                raise DatasetError(str(e)) from None
            self.tmp = self._staging.path
        else:
            self.tmp = self.out
            self.tmp.mkdir(parents=True, exist_ok=True)
        self.batch_files = batch_files
        self.batch_rows = batch_rows
        self.pending: list[Parsed] = []
        self.pending_rows = 0
        self.writers: dict = {}  # table -> pyarrow.parquet.ParquetWriter
        self.counts = {t: 0 for t in TABLES}
        self.ids: set[str] = set()
        self.meta = meta or {}
        self.status_counts: dict[str, int] = {}
        self._imports = threading.Thread(target=_import_heavy, name="foi-research-imports", daemon=True)
        self._imports.start()

    # -- intake
    def add(self, parsed: Parsed) -> None:
        self._dedupe_ids(parsed)
        self.pending.append(parsed)
        self.pending_rows += sum(_row_count(parsed, t) for t in TABLES)
        if len(self.pending) >= self.batch_files or self.pending_rows >= self.batch_rows:
            self.flush()

    def _dedupe_ids(self, parsed: Parsed) -> None:
        packed = parsed.packed_columns("reports") if isinstance(parsed, PackedParsed) else None
        if packed is not None and packed[1]:
            ids = packed[1]["report_id"]
            if self.ids.isdisjoint(ids) and len(set(ids)) == len(ids):
                self.ids.update(ids)  # nothing to rename: the columns stay as they are
                return
        ren = {}
        for r in parsed.reports:
            rid = r["report_id"]
            if rid in self.ids:
                h = hashlib.sha1(r["source_file"].encode("utf-8")).hexdigest()[:6]
                new = f"{rid}~{h}"
                k = 1
                while new in self.ids:
                    new = f"{rid}~{h}{k}"
                    k += 1
                ren[rid] = new
                r["report_id"] = new
            self.ids.add(r["report_id"])
        if ren:
            for t in TABLES:
                if t == "reports":
                    continue
                for row in parsed.rows(t):
                    if row["report_id"] in ren:
                        row["report_id"] = ren[row["report_id"]]

    # -- output
    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        self.pending_rows = 0
        self._imports.join()
        self._write(batch)

    def _write(self, batch: list[Parsed]) -> None:
        import pyarrow.parquet as pq

        frames = self._frames(batch)
        bad = self._invalid(frames)
        if bad:
            # isolate the reports that break the schema, keep the rest
            for p in batch:
                ids = {r["report_id"] for r in p.reports}
                if ids & bad:
                    _quarantine(p, self._reasons.get(next(iter(ids & bad)), "schema validation failed"))
            frames = self._frames(batch)
            still = self._invalid(frames)
            if still:
                raise DatasetError(f"schema validation failed even after quarantining reports: {sorted(still)[:5]}")
        for t, df in frames.items():
            if df.height == 0:
                continue
            tbl = df.to_arrow()
            w = self.writers.get(t)
            if w is None:
                w = self.writers[t] = pq.ParquetWriter(self.tmp / f"{t}.parquet", tbl.schema, compression="zstd")
            else:
                tbl = tbl.cast(w.schema)
            w.write_table(tbl)
            self.counts[t] += df.height
        for s in frames["reports"]["status"].to_list():
            self.status_counts[s] = self.status_counts.get(s, 0) + 1

    def _frames(self, batch: list[Parsed]) -> dict[str, pl.DataFrame]:
        return {t: _frame(t, batch) for t in TABLES}

    def _invalid(self, frames: dict[str, pl.DataFrame]) -> set[str]:
        import pandera.errors

        from foi_research.validate.schemas import schema

        bad: set[str] = set()
        self._reasons: dict[str, str] = {}
        for t, df in frames.items():
            try:
                schema(t).validate(df, lazy=True)
            except pandera.errors.SchemaErrors as e:
                fc = e.failure_cases
                for row in fc.iter_rows(named=True):
                    idx = row.get("index")
                    if idx is not None and idx < df.height:
                        rid = df["report_id"][idx]
                        bad.add(rid)
                        self._reasons.setdefault(rid, f"{t}.{row['column']}: {row['check']} failed for {row['failure_case']!r}")
                    else:
                        # a table-level failure (e.g. duplicate keys): find duplicates directly
                        key = schema(t).unique
                        if key:
                            dup = df.filter(df.select(key).is_duplicated())
                            bad.update(dup["report_id"].to_list())
                            for rid in dup["report_id"].to_list():
                                self._reasons.setdefault(rid, f"{t}: duplicate {key}")
        return bad

    def close(self) -> dict:
        """Finish: write everything, then swap the new dataset in."""
        try:
            self.flush()
            self._imports.join()
            from foi_research.validate.schemas import frame

            for t in TABLES:
                if t not in self.writers:
                    # an empty table still gets a file with the right columns
                    frame(t, []).write_parquet(self.tmp / f"{t}.parquet")
                else:
                    self.writers[t].close()
            manifest = {
                "tool": "foi-research",
                "format": DATASET,
                "version": __version__,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "rows": self.counts,
                "status": self.status_counts,
                **self.meta,
            }
            manifest["contents"] = contents(self.tmp)
            (self.tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
            if self._staging is not None:
                try:
                    self._staging.commit()
                except OutputError as e:
                    raise DatasetError(str(e)) from None
            return manifest
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        for w in self.writers.values():
            try:
                w.close()
            except Exception:
                pass
        if self._staging is not None:
            self._staging.abort()
        self._imports.join()  # (an import cut off at interpreter exit can crash the exit)

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.manifest = self.close()
        else:
            self.abort()
        return False


def _row_count(p: Parsed, table: str) -> int:
    return p.row_count(table) if isinstance(p, PackedParsed) else len(p.rows(table))


def _frame(table: str, batch: list[Parsed]) -> pl.DataFrame:
    """frame(table, every row of the batch), built from columns: those of packed results as
    they came, the row dicts of the others read column by column. Whatever does not go through
    strictly (a value of an unexpected type) is built by frame() from the rows, as always."""
    import polars as pl

    from foi_research.validate.schemas import frame, polars_schema

    sch = polars_schema(table)
    data: dict[str, list] = {k: [] for k in sch}
    for p in batch:
        packed = p.packed_columns(table) if isinstance(p, PackedParsed) else None
        if packed is not None:
            n, cols = packed
            for k, vals in data.items():
                v = cols.get(k)
                vals.extend(v if v is not None else [None] * n)
        else:
            rows = p.rows(table)
            for k, vals in data.items():
                vals.extend([r.get(k) for r in rows])
    if not data or not next(iter(data.values())):
        return frame(table, [])
    try:
        return pl.DataFrame(data, schema=sch, strict=True)
    except Exception:
        return frame(table, [row for p in batch for row in p.rows(table)])


def _quarantine(p: Parsed, reason: str) -> None:
    """Replace the rows of reports that broke the schema by a failed report and an error."""
    for r in p.reports:
        rid = r["report_id"]
        r["status"] = "failed"
        for k in ("year",):
            if r.get(k) is not None and not (1990 <= r[k] <= 2100):
                r[k] = None
        if r.get("division_code") and not (len(r["division_code"]) == 6 and r["division_code"].isdigit()):
            r["division_code"] = None
        # the columns that may not be null get a neutral value, so the failed row itself is valid
        if not isinstance(r.get("source_line"), int) or r["source_line"] < 0:
            r["source_line"] = 0
        if r.get("template") not in codes.TEMPLATES:
            r["template"] = "unknown"
        if not r.get("source_format"):
            r["source_format"] = Path(str(r.get("source_file") or "")).suffix.lstrip(".") or "txt"
        if not r.get("source_file"):
            r["source_file"] = "?"
        for t in ("requests", "appeals", "proactive", "legacy", "quality"):
            setattr(p, t, [x for x in p.rows(t) if x["report_id"] != rid])
        msg = f"the values read from this report broke the data contract ({reason}); its tables were dropped. Please report this file."
        p.quality.append(quality_row(rid, Problem("internal_error", "error", msg)))


def read_dataset(path: str | Path, *, panel: bool = True, pandas: bool = False) -> dict:
    """The tables of a dataset folder: reports, requests, appeals, proactive, legacy, quality, and
    panel when the folder holds one (`foi-research build` writes it; `parse` does not), as polars
    DataFrames, or with pandas=True as pandas DataFrames with nullable dtypes (Int64, Float64,
    boolean, string; nulls stay <NA>, dates become datetime64). panel=False leaves the panel out."""
    import polars as pl

    path = Path(path)
    recover(resolve_out(path))  # a swap killed between its two renames (file systems without an atomic exchange)
    if not is_ours(path, DATASET):
        raise DatasetError(f"{path} is not a foi-research dataset (no {MANIFEST} written by foi-research); build it with `foi-research parse` or `foi-research build`")
    names = list(TABLES) + (["panel"] if panel and (path / "panel.parquet").exists() else [])
    out = {t: pl.read_parquet(path / f"{t}.parquet") for t in names}
    if pandas:
        out = {t: _to_pandas(df) for t, df in out.items()}
    return out


def _to_pandas(df: "pl.DataFrame"):
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    types = {
        pa.int64(): pd.Int64Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.string(): pd.StringDtype(),
        pa.large_string(): pd.StringDtype(),
        pa.string_view(): pd.StringDtype(),
    }
    pdf = df.to_arrow().to_pandas(types_mapper=types.get)
    for name, dtype in df.schema.items():
        if dtype == pl.Date:
            pdf[name] = pd.to_datetime(pdf[name])
    return pdf
