"""Describe and export a built dataset: Frictionless datapackage.json, the codebook, CSV, Stata.

Everything here is generated from the single definitions: the column specs `schemas.TABLES`
(types, meanings, units, vocabularies), the code list `reference/codes.yaml` (bilingual labels,
outcome classes, metrics, agency kinds, quality checks), the crosswalk in use (its rows and
rationales) and `metrics.RULES` (how counts are chosen, nulls, the overlap rule, denominators).

- datapackage.json: a Frictionless Data Package (profile tabular-data-package, Data Package v1
  with Table Schema): one tabular-data-resource per parquet file (and per CSV file when
  exported), every field with its type, description, unit, `constraints` (required, enum of the
  codes, minimum/maximum, pattern) and `categories` (code and bilingual label), primaryKey and a
  foreignKey to reports.report_id.
- codebook.md: a page for people: tables and fields, every code in Chinese and English, every
  metric formula, the crosswalk with its rationales, the overlap rule, the denominator choice,
  the cross-year checks and the quality checks found.
- CSV (csv/<table>.csv): UTF-8 with a byte-order mark, because Excel (the usual tool of
  researchers in China) opens BOM-less UTF-8 as GBK and garbles every Chinese character; R
  (readr, data.table) and pandas read the BOM transparently. Empty cell = null; dates ISO
  (YYYY-MM-DD); booleans true/false.
- Stata (stata/<table>.dta): format 118 (Stata 14+, Unicode). Coded string columns become
  labelled integers (value labels "中文 / English", numbered in code-list order from 1), boolean
  columns 0/1, dates Stata dates; variable labels are the column descriptions cut to 80
  characters; strings over 2045 bytes are stored as strL.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Iterable

import polars as pl

from foi_research import __version__
from foi_research.reference import codes
from foi_research.validate.schemas import TABLES, Col, columns

PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
CSV_ENCODING = "utf-8-sig"
STATA_VERSION = 118
STATA_LABEL_MAX = 80
STATA_NAME_MAX = 32
STATA_STR_MAX = 2045

_TYPES = {pl.String: "string", pl.Int64: "integer", pl.Float64: "number", pl.Boolean: "boolean", pl.Date: "date"}


def _type(col: Col) -> str:
    for k, v in _TYPES.items():
        if col.dtype == k:
            return v
    return "any"


def vocabularies_used(tables: Iterable[str]) -> list[str]:
    """Names of the code lists the columns of these tables use, in first-use order."""
    seen: list[str] = []
    for t in tables:
        for c in columns(t):
            if c.vocab and c.vocab not in seen:
                seen.append(c.vocab)
    return seen


# ---------------------------------------------------------------------------------------------
# datapackage.json


def field_descriptor(col: Col) -> dict:
    """Table Schema field for one column spec."""
    f: dict = {"name": col.name, "type": _type(col), "description": col.description}
    if col.dtype == pl.Date:
        f["format"] = "default"
    if col.unit:
        f["unit"] = col.unit
    cons: dict = {}
    if not col.nullable:
        cons["required"] = True
    if col.vocab:
        voc = codes.V(col.vocab)
        cons["enum"] = voc.codes
        f["categories"] = [{"value": c.code, "label": c.label} for c in voc]
    if col.ge is not None:
        cons["minimum"] = int(col.ge) if col.dtype == pl.Int64 else col.ge
    if col.le is not None:
        cons["maximum"] = int(col.le) if col.dtype == pl.Int64 else col.le
    if col.name == "division_code":
        cons["pattern"] = r"\d{6}"
    if cons:
        f["constraints"] = cons
    return f


def table_schema(table: str, missing_values: list[str] | None = None, reports_resource: str = "reports") -> dict:
    """Table Schema of a table of schemas.TABLES (fields, primaryKey, and a foreignKey
    report_id -> `reports_resource`.report_id)."""
    spec = TABLES[table]
    s: dict = {"fields": [field_descriptor(c) for c in spec["columns"]]}
    if missing_values is not None:
        s["missingValues"] = missing_values
    if spec.get("key"):
        s["primaryKey"] = list(spec["key"])
    if table != "reports" and any(c.name == "report_id" for c in spec["columns"]):
        s["foreignKeys"] = [{"fields": ["report_id"], "reference": {"resource": reports_resource, "fields": ["report_id"]}}]
    return s


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def datapackage(root: Path, tables: list[str], csv: bool = False, settings: dict | None = None, created: str | None = None) -> dict:
    """The datapackage.json descriptor for the files under root (paths relative to root)."""
    resources = []
    for t in tables:
        spec = TABLES[t]
        p = root / f"{t}.parquet"
        r = {
            "name": t,
            "path": f"{t}.parquet",
            "profile": "tabular-data-resource",
            "title": spec["title"],
            "description": spec["description"],
            "format": "parquet",
            "mediatype": PARQUET_MEDIATYPE,
            "schema": table_schema(t),
        }
        if p.exists():
            r["bytes"] = p.stat().st_size
            r["hash"] = f"sha256:{_sha256(p)}"
        resources.append(r)
    if csv:
        for t in tables:
            spec = TABLES[t]
            p = root / "csv" / f"{t}.csv"
            r = {
                "name": f"{t}-csv",
                "path": f"csv/{t}.csv",
                "profile": "tabular-data-resource",
                "title": f"{spec['title']} (CSV)",
                "description": f"{spec['description']} Same table as {t}.parquet, as UTF-8 CSV with a byte-order mark (for Excel).",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": CSV_ENCODING,
                "dialect": {"delimiter": ",", "header": True, "doubleQuote": True},
                "schema": table_schema(t, missing_values=[""], reports_resource="reports-csv"),
            }
            if p.exists():
                r["bytes"] = p.stat().st_size
                r["hash"] = f"sha256:{_sha256(p)}"
            resources.append(r)
    desc = {
        "profile": "tabular-data-package",
        "name": "foi-research-dataset",
        "title": "China's open-government-information annual reports (政府信息公开工作年度报告) as research data",
        "description": (
            "Tables read from the annual reports (reports, requests = table 3, appeals = table 4, proactive = table 2, "
            "legacy = the pre-2019 statistics table and prose figures, quality = findings) and the harmonised "
            "agency-by-year panel. Field meanings, codes, metric formulas and the crosswalk are in codebook.md."
        ),
        "version": __version__,
        "created": created or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "keywords": ["open government information", "政府信息公开", "annual reports", "China", "panel data"],
        "contributors": [{"title": "foi-research", "role": "author"}],
        "resources": resources,
    }
    if settings:
        desc["foi_research"] = settings
    return desc


def write_datapackage(root: Path, tables: list[str], csv: bool = False, settings: dict | None = None, created: str | None = None) -> Path:
    d = datapackage(root, tables, csv=csv, settings=settings, created=created)
    path = root / "datapackage.json"
    path.write_text(json.dumps(d, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Codebook


def _md(s) -> str:
    return "" if s is None else str(s).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_md(x) for x in r) + " |" for r in rows]
    return out + [""]


def _source_label(scheme: str, code: str) -> str:
    if scheme == "legacy":
        voc = codes.V("legacy_indicators")
    else:
        voc = codes.V("request_rows")
    c = voc.by_code.get(code)
    return c.zh if c else ""


def codebook(
    crosswalk,
    denominator: str = "handled",
    tables: list[str] | None = None,
    quality: pl.DataFrame | None = None,
    rows: dict | None = None,
    settings: dict | None = None,
) -> str:
    """The codebook as markdown. crosswalk: a metrics.Crosswalk (or its name); quality: the
    quality table written (for the list of checks found); rows: row count per table."""
    from foi_research.harmonise import metrics

    cw = metrics.load_crosswalk(crosswalk)
    tables = tables or list(TABLES)
    out: list[str] = []
    out += [
        "# Codebook: foi-research dataset",
        "",
        f"Generated by foi-research {__version__} from the column specs (schemas.TABLES), the code list "
        "(reference/codes.yaml), the crosswalk and the metric definitions. Do not edit by hand: run `foi-research build`.",
        "",
    ]
    out += ["## Settings of this build", ""]
    set_rows = [["crosswalk", cw.name], ["denominator", f"{denominator}: {codes.V('denominators')[denominator].en}"]]
    for k, v in (settings or {}).items():
        if k not in ("crosswalk", "denominator"):
            set_rows.append([k, json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v])
    out += _table(["setting", "value"], set_rows)
    if rows:
        out += _table(["table", "rows", "file"], [[t, rows.get(t, ""), f"{t}.parquet"] for t in tables])
    out += [
        "Files: `<table>.parquet` (all tables), `datapackage.json` (Frictionless Data Package describing every field), "
        "this codebook; with `--csv` also `csv/<table>.csv` (UTF-8 with BOM, empty cell = null), with `--stata` also "
        f"`stata/<table>.dta` (Stata {STATA_VERSION} format, coded columns as labelled integers \"中文 / English\").",
        "",
    ]

    # --- panel rules
    out += ["## How the panel is built", ""]
    for key, title in (("sources", "Sources of the counts"), ("row_totals", "Row totals"), ("nulls", "Null counts")):
        out += [f"**{title}.** {metrics.RULES[key]}", ""]
    out += ["Intake and totals by source:", ""]
    out += _table(
        ["panel column", "table 3 (2019, 2021)", "pre-2019 table and prose"],
        [[k, ", ".join(metrics.INTAKE["table3"][k]) or "null", ", ".join(metrics.INTAKE["legacy"][k]) or "null (not reported)"] for k in metrics.INTAKE["table3"]],
    )

    # --- metrics
    out += ["## Metrics", "", f"**Denominator.** {metrics.RULES['denominator']}", ""]
    out += _table(
        ["denominator", "中文", "English", "definition", "this build"],
        [[c.code, c.zh, c.en, c.extra.get("description", ""), "yes" if c.code == denominator else ""] for c in codes.V("denominators")],
    )
    out += _table(
        ["metric", "中文", "English", "formula", "meaning", "panel column"],
        [[m.code, m.zh, m.en, f"`{m.formula()}`", m.description, "yes" if m.panel else "no (grouped results only)"] for m in metrics.METRICS],
    )
    out += [
        "D is the denominator above (column denominator_value). In a numerator or denominator that adds several "
        "columns, a null column counts as 0 and the sum is null only when every column is null. Every metric is null "
        "when its denominator is 0 or unknown.",
        "",
        f"**Grouped results.** {metrics.RULES['grouping']}",
        "",
    ]

    # --- crosswalk
    out += ["## Crosswalk", "", f"Crosswalk of this build: **{cw.name}** ({cw.path}).", ""]
    if cw.description:
        out += [cw.description, ""]
    out += ["Outcome classes:", ""]
    out += _table(["class", "中文", "English", "meaning"], [[c.code, c.zh, c.en, c.extra.get("description", "")] for c in codes.V("outcome_classes")])
    sp = codes.V("crosswalk_special")
    out += [f"`{sp.codes[0]}` ({sp.items[0].zh} / {sp.items[0].en}): {sp.items[0].extra.get('description', '')}", ""]
    out += [f"**Overlap rule.** {metrics.RULES['overlap']}", "", f"**Reasons of 不同意公开.** {metrics.RULES['reasons']}", ""]
    scheme_title = {"2019": "Table 3, 2019 template", "2021": "Table 3, 2021 template", "legacy": "Pre-2019 statistics table and prose figures"}
    for sch in metrics.SCHEMES:
        t = cw.table.filter(pl.col("scheme") == sch)
        out += [f"### {scheme_title[sch]}", ""]
        out += _table(
            ["source row", "printed label", "class", "overlaps", "rationale"],
            [[r["code"], _source_label(sch, r["code"]), r["outcome_class"], r["overlap_with"] or "", r["rationale"]] for r in t.iter_rows(named=True)],
        )
    out += ["Crosswalks shipped (pass another with `--crosswalk NAME` or `--crosswalk path/to/file.csv`):", ""]
    out += _table(["name", "中文", "English", "description"], [[c.code, c.zh, c.en, c.extra.get("description", "")] for c in codes.V("crosswalks")])

    # --- the 2019 regulation study (designs, estimands, weights, inference: codes.yaml)
    from foi_research.present.designs import codebook_lines

    out += codebook_lines()

    # --- agencies
    out += ["## Agency identity, kind and level", ""]
    from foi_research.harmonise import agencies as harmonise

    for para in (harmonise.__doc__ or "").strip().split("\n\n")[1:]:
        out += [" ".join(para.split()), ""]
    out += ["Name rules (in order; key-only rules change only the agency_id key):", ""]
    out += _table(["rule", "中文", "English", "pattern", "replacement", "key only"], [[c.code, c.zh, c.en, f"`{c.extra['pattern']}`", c.extra["replace"] or "(removed)", "yes" if c.extra.get("key_only") else ""] for c in codes.V("agency_name_rules")])
    out += ["Agency kinds (the first that matches the normalised name wins):", ""]
    out += _table(["kind", "中文", "English", "pattern", "meaning"], [[c.code, c.zh, c.en, f"`{c.extra['pattern']}`" + (" or a development-zone word" if c.extra.get("zone") else ""), c.extra.get("description", "")] for c in codes.V("agency_kinds")])

    # --- quality
    out += ["## Quality checks", "", "Checks of the harmonise stage (added to `quality` by `foi-research build`):", ""]
    out += _table(["check", "severity", "中文", "English", "what it checks"], [[c.code, c.extra.get("severity", ""), c.zh, c.en, c.extra.get("description", "")] for c in codes.V("quality_checks")])
    if quality is not None and quality.height:
        found = quality.group_by("check", "severity").agg(pl.len().alias("n"), pl.col("message").sort().first().alias("example")).sort("check", "severity")
        out += ["Checks found in this dataset (parser and harmonise stage), with one example message each:", ""]
        out += _table(["check", "severity", "rows", "example"], [[r["check"], r["severity"], r["n"], r["example"]] for r in found.iter_rows(named=True)])

    # --- tables
    out += ["## Tables and fields", ""]
    for t in tables:
        spec = TABLES[t]
        out += [f"### {t}: {spec['title']}", "", spec["description"], ""]
        if spec.get("key"):
            out += [f"Primary key: {', '.join(spec['key'])}.", ""]
        out += _table(
            ["field", "type", "unit", "required", "codes", "description"],
            [[c.name, _type(c), c.unit or "", "yes" if not c.nullable else "", f"[{c.vocab}](#codes-{c.vocab})" if c.vocab else "", c.description] for c in spec["columns"]],
        )

    # --- code lists
    out += ["## Code lists", ""]
    for v in vocabularies_used(tables):
        out += [f'<a id="codes-{v}"></a>', f"### {v}", ""]
        out += _table(["code", "中文", "English"], [[c.code, c.zh, c.en] for c in codes.V(v)])
    return "\n".join(out).rstrip() + "\n"


def write_codebook(root: Path, crosswalk, denominator: str, tables: list[str], quality: pl.DataFrame | None = None, rows: dict | None = None, settings: dict | None = None) -> Path:
    path = root / "codebook.md"
    path.write_text(codebook(crosswalk, denominator, tables, quality, rows, settings), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# CSV and Stata


def write_csv(frames: "dict[str, pl.DataFrame | pl.LazyFrame]", folder: Path) -> list[Path]:
    """One UTF-8-with-BOM CSV per table (see the module docstring for the choice)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for t, df in frames.items():
        p = folder / f"{t}.csv"
        if isinstance(df, pl.LazyFrame):  # streamed from parquet to CSV, never whole in memory
            df.sink_csv(p, include_bom=True, null_value="", date_format="%Y-%m-%d")
        else:
            df.write_csv(p, include_bom=True, null_value="", date_format="%Y-%m-%d")
        out.append(p)
    return out


def _cut(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def stata_frame(df: pl.DataFrame, table: str):
    """(pandas frame, value_labels, variable_labels, strL columns) ready for DataFrame.to_stata:
    coded columns as integers 1..n in code-list order, booleans 0/1."""
    specs = {c.name: c for c in columns(table)} if table in TABLES else {}
    value_labels: dict[str, dict[int, str]] = {}
    variable_labels: dict[str, str] = {}
    exprs = []
    for name in df.columns:
        if len(name) > STATA_NAME_MAX or not name.isidentifier():
            raise ValueError(f"column {name!r} of {table} is not a valid Stata variable name (at most {STATA_NAME_MAX} characters)")
        col = specs.get(name)
        s = pl.col(name)
        if col is not None and col.vocab:
            voc = codes.V(col.vocab)
            mapping = {c: i for i, c in enumerate(voc.codes, start=1)}
            bad = sorted(set(df[name].drop_nulls().unique().to_list()) - set(mapping))
            if bad:
                raise ValueError(f"{table}.{name} holds values outside the code list {col.vocab}: {bad[:5]}")
            exprs.append(s.replace_strict(mapping, default=None, return_dtype=pl.Int32).alias(name))
            value_labels[name] = {i: c.label for i, c in enumerate(voc.items, start=1)}
        elif df.schema[name] == pl.Boolean:
            exprs.append(s.cast(pl.Int8))
        else:
            exprs.append(s)
        if col is not None:
            variable_labels[name] = _cut(col.description, STATA_LABEL_MAX)
    pdf = df.select(exprs).to_pandas(use_pyarrow_extension_array=False)
    for name in df.columns:
        if df.schema[name] == pl.Int64 and name not in value_labels and df[name].null_count() == 0:
            pdf[name] = pdf[name].astype("int64")
        if df.schema[name] == pl.Date:
            import pandas as pd

            pdf[name] = pd.to_datetime(pdf[name])
    for name in df.columns:
        if df.schema[name] == pl.String and name not in value_labels and df[name].null_count() == df.height:
            pdf[name] = pdf[name].astype(object).where(pdf[name].notna(), "")  # Stata has no all-missing string type: empty strings
    strl = [n for n in df.columns if df.schema[n] == pl.String and (df[n].str.len_bytes().max() or 0) > STATA_STR_MAX]
    return pdf, value_labels, variable_labels, strl


def write_stata(frames: "dict[str, pl.DataFrame | pl.LazyFrame]", folder: Path, time_stamp: dt.datetime | None = None) -> list[Path]:
    """One Stata .dta (format 118) per table, with value and variable labels."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for t, df in frames.items():
        df = df.collect() if isinstance(df, pl.LazyFrame) else df  # one table at a time
        pdf, vl, var, strl = stata_frame(df, t)
        dates = {n: "td" for n in df.columns if df.schema[n] == pl.Date}
        p = folder / f"{t}.dta"
        title = TABLES[t]["title"] if t in TABLES else t
        pdf.to_stata(
            p,
            write_index=False,
            version=STATA_VERSION,
            value_labels=vl or None,
            variable_labels=var or None,
            convert_strl=strl or None,
            convert_dates=dates or None,
            data_label=_cut(title, STATA_LABEL_MAX),
            time_stamp=time_stamp,
        )
        out.append(p)
    return out
