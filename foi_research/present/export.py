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
  (YYYY-MM-DD); booleans true/false. Safe to open in a spreadsheet (spreadsheet_safe): a text
  cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
  return, and not a plain number such as -309 or +5) is written with a leading apostrophe
  ('=cmd|…), which spreadsheets show as text; a text cell longer than a spreadsheet cell holds
  (32,767 characters) is cut, with a note saying so (the parquet table has the full text).
  Numeric columns are written as they are.
- Stata (stata/<table>.dta): format 118 (Stata 14+, Unicode). Coded string columns become
  labelled integers numbered in code-list order from 1, with value labels in two label languages:
  zh (current: 自然人) and en (`label language en`: Natural persons; the label sets <column>_en);
  boolean columns 0/1, dates Stata dates; variable labels are the column descriptions cut to 80
  characters; strings over 2045 bytes are stored as strL. load.do and load.R beside the tables
  show how to read them.
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
PARQUET_MISSING = ["", "nan"]
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
            # frictionless reads parquet through pandas, where a null integer becomes NaN: "nan" is
            # listed as a missing value so that the standard validator accepts the files as shipped
            "schema": table_schema(t, missing_values=PARQUET_MISSING),
        }
        if p.exists():
            # not `bytes`/`hash`: frictionless cannot count the bytes of a parquet source and
            # fails them; the size and checksum are kept under this package's own key
            r["foi_research"] = {"bytes": p.stat().st_size, "sha256": _sha256(p)}
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
                "description": (
                    f"{spec['description']} Same table as {t}.parquet, as UTF-8 CSV with a byte-order mark (for Excel). "
                    "Safe to open in a spreadsheet: a text cell that would run as a formula (starting with = + - @, tab or "
                    "carriage return, other than a plain number) starts with an apostrophe; a text cell over 32,767 characters "
                    "is cut with a note (the parquet table has it whole)."
                ),
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


def _text(s) -> str:
    """Text from outside this code (a document, a file name, a user's crosswalk) as inert
    Markdown: HTML special characters as entities, Markdown link and code syntax escaped, so that
    a title '[x](javascript:…)' or '<script>' shows as printed in any Markdown viewer."""
    if s is None:
        return ""
    import html

    t = html.escape(str(s), quote=False)
    for ch in "\\`[]":
        t = t.replace(ch, "\\" + ch)
    return t


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
            set_rows.append([k, _text(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v)])
    out += _table(["setting", "value"], set_rows)
    if rows:
        out += _table(["table", "rows", "file"], [[t, rows.get(t, ""), f"{t}.parquet"] for t in tables])
    out += [
        "Files: `<table>.parquet` (all tables), `datapackage.json` (Frictionless Data Package describing every field), "
        "this codebook; with `--csv` also `csv/<table>.csv` (UTF-8 with BOM, empty cell = null; safe to open in a spreadsheet: "
        "a text cell that would run as a formula, starting with = + - @ (other than a plain number such as -309), starts "
        "with an apostrophe, and a text cell over 32,767 characters is cut with a note), with `--stata` also "
        f"`stata/<table>.dta` (Stata {STATA_VERSION} format, coded columns as labelled integers with label languages zh and en: `label language en`). "
        "`load.R` and `load.do` read the tables in R and Stata (see *Loading the data* below).",
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
    out += ["## Crosswalk", "", f"Crosswalk of this build: **{_text(cw.name)}** ({_text(cw.path)}).", ""]
    if cw.description:
        out += [_text(cw.description), ""]
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
            [[r["code"], _source_label(sch, r["code"]), r["outcome_class"], r["overlap_with"] or "", _text(r["rationale"])] for r in t.iter_rows(named=True)],
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
        out += _table(["check", "severity", "rows", "example"], [[r["check"], r["severity"], r["n"], _text(r["example"])] for r in found.iter_rows(named=True)])

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

    # --- loading
    out += [
        "## Loading the data",
        "",
        "Python: `foi_research.validate.dataset.read_dataset(folder)` (polars; `pandas=True` for pandas), or any parquet reader. "
        "R: `source(\"load.R\")` in this folder (below). Stata: `do load.do` in this folder (below). "
        "Frictionless: `frictionless validate datapackage.json` checks every file against its schema.",
        "",
        "```r",
        r_script(tables).rstrip(),
        "```",
        "",
        "```stata",
        stata_script(tables).rstrip(),
        "```",
        "",
    ]

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


SPREADSHEET_CELL_MAX = 32_767  # characters a spreadsheet cell holds (Excel, LibreOffice)
CUT_NOTE = " …[cut for spreadsheets: the full text is in the parquet table]"
# a text cell a spreadsheet runs as a formula (OWASP's list: = + - @ tab CR) unless it is a plain
# number ('-309', '+5', '1,234.5', '12%'), which a spreadsheet reads as a number
_FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+\-]?(?:[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)%?$"


def spreadsheet_safe(df: "pl.DataFrame | pl.LazyFrame") -> "pl.DataFrame | pl.LazyFrame":
    """The frame with its text columns made safe to open in a spreadsheet: formula-like cells
    prefixed with an apostrophe, cells over SPREADSHEET_CELL_MAX characters cut with CUT_NOTE.
    Other columns unchanged (numbers stay numbers)."""
    schema = df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema
    exprs = []
    keep = SPREADSHEET_CELL_MAX - len(CUT_NOTE)
    for name, dtype in schema.items():
        if dtype != pl.String:
            continue
        c = pl.col(name)
        c = pl.when(c.str.contains(_FORMULA_START) & ~c.str.contains(_PLAIN_NUMBER)).then(pl.lit("'") + c).otherwise(c)
        c = pl.when(c.str.len_chars() > SPREADSHEET_CELL_MAX).then(c.str.slice(0, keep) + pl.lit(CUT_NOTE)).otherwise(c)
        exprs.append(c.alias(name))
    return df.with_columns(exprs) if exprs else df


def write_csv(frames: "dict[str, pl.DataFrame | pl.LazyFrame]", folder: Path) -> list[Path]:
    """One UTF-8-with-BOM CSV per table (see the module docstring for the choice), safe to open
    in a spreadsheet (spreadsheet_safe)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for t, df in frames.items():
        p = folder / f"{t}.csv"
        df = spreadsheet_safe(df)
        if isinstance(df, pl.LazyFrame):  # streamed from parquet to CSV, never whole in memory
            df.sink_csv(p, include_bom=True, null_value="", date_format="%Y-%m-%d")
        else:
            df.write_csv(p, include_bom=True, null_value="", date_format="%Y-%m-%d")
        out.append(p)
    return out


def _cut(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


STATA_LANGUAGES = ("zh", "en")  # label languages: zh current, `label language en` switches


def stata_frame(df: pl.DataFrame, table: str):
    """(pandas frame, value_labels, variable_labels, strL columns, English value labels) ready for
    a .dta file: coded columns as integers 1..n in code-list order with value labels in Chinese
    (the current label language) and in English (label sets named <column>_en), booleans 0/1."""
    specs = {c.name: c for c in columns(table)} if table in TABLES else {}
    value_labels: dict[str, dict[int, str]] = {}
    value_labels_en: dict[str, dict[int, str]] = {}
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
            value_labels[name] = {i: c.zh for i, c in enumerate(voc.items, start=1)}
            value_labels_en[name] = {i: c.en for i, c in enumerate(voc.items, start=1)}
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
    return pdf, value_labels, variable_labels, strl, value_labels_en


def _en_label_name(col: str) -> str:
    return f"{col[: STATA_NAME_MAX - 3]}_en"


def _stata_writer_class():
    """pandas' format-118 writer, with the English value label sets and the characteristics of
    Stata's label languages (as `label language` stores them: _dta[_lang_list], _dta[_lang_c],
    <var>[_lang_l_<lang>] naming the value label of <var> in <lang>, <var>[_lang_v_<lang>] its
    variable label)."""
    import struct
    from io import BytesIO

    from pandas.io.stata import StataNonCatValueLabel, StataWriterUTF8, _pad_bytes_new

    class LabelLanguageWriter(StataWriterUTF8):
        def __init__(self, *a, extra_value_labels=None, characteristics=(), **k):
            self._extra_value_labels = extra_value_labels or {}
            self._characteristics = list(characteristics)
            super().__init__(*a, **k)

        def _write_value_labels(self) -> None:
            for name, labels in self._extra_value_labels.items():
                self._value_labels.append(StataNonCatValueLabel(name, labels, self._encoding))
            super()._write_value_labels()

        def _write_characteristics(self) -> None:
            self._update_map("characteristics")
            bio = BytesIO()
            for var, charname, contents in self._characteristics:
                body = _pad_bytes_new(var.encode("utf-8"), 129) + _pad_bytes_new(charname.encode("utf-8"), 129) + contents.encode("utf-8") + b"\x00"
                bio.write(self._tag(struct.pack(self._byteorder + "I", len(body)) + body, "ch"))
            self._write_bytes(self._tag(bio.getvalue(), "characteristics"))

    return LabelLanguageWriter


def write_stata(frames: "dict[str, pl.DataFrame | pl.LazyFrame]", folder: Path, time_stamp: dt.datetime | None = None) -> list[Path]:
    """One Stata .dta (format 118) per table, with value and variable labels."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for t, df in frames.items():
        df = df.collect() if isinstance(df, pl.LazyFrame) else df  # one table at a time
        pdf, vl, var, strl, vl_en = stata_frame(df, t)
        dates = {n: "td" for n in df.columns if df.schema[n] == pl.Date}
        p = folder / f"{t}.dta"
        title = TABLES[t]["title"] if t in TABLES else t
        extra = {_en_label_name(c): labels for c, labels in vl_en.items()}
        chars = [("_dta", "_lang_list", " ".join(STATA_LANGUAGES)), ("_dta", "_lang_c", STATA_LANGUAGES[0])]
        for c in df.columns:
            if c in vl_en:
                chars.append((c, "_lang_l_en", _en_label_name(c)))
            if c in var:
                chars.append((c, "_lang_v_en", var[c]))
        writer = _stata_writer_class()(
            p,
            pdf,
            write_index=False,
            version=STATA_VERSION,
            value_labels=vl or None,
            variable_labels=var or None,
            convert_strl=strl or None,
            convert_dates=dates or None,
            data_label=_cut(title, STATA_LABEL_MAX),
            time_stamp=time_stamp,
            extra_value_labels=extra,
            characteristics=chars,
        )
        writer.write_file()
        out.append(p)
    return out


# ---------------------------------------------------------------------------------------------
# Loading scripts for R and Stata (written beside the tables, shown in the codebook)

_R_TYPES = {"string": "c", "integer": "i", "number": "d", "boolean": "l", "date": "D"}


def r_script(tables: list[str]) -> str:
    """load.R: every table as a data frame in the list `ds`, from parquet (package arrow) or
    else from the CSV copies (package readr), coded columns as factors in code-list order."""
    out = [
        "# Load the foi-research dataset in R. Run it from the dataset folder, e.g.",
        '#   setwd("outputs/dataset"); source("load.R")',
        "# Parquet needs the arrow package and keeps every type; without it the CSV copies in csv/",
        "# (foi-research build --csv) are read with readr, typed by the column specs below.",
        "# Codes and their labels (中文 / English) are in codebook.md.",
        "",
        f"tables <- c({', '.join(repr(t).replace(chr(39), chr(34)) for t in tables)})",
        "col_types <- list(",
    ]
    specs = []
    for t in tables:
        spec = "".join(_R_TYPES.get(_type(c), "c") for c in columns(t))
        specs.append(f'  {t} = "{spec}"')
    out.append(",\n".join(specs))
    out += [
        ")",
        "read_table <- function(t) {",
        '  if (requireNamespace("arrow", quietly = TRUE) && file.exists(paste0(t, ".parquet"))) {',
        '    as.data.frame(arrow::read_parquet(paste0(t, ".parquet")))',
        "  } else {",
        '    as.data.frame(readr::read_csv(file.path("csv", paste0(t, ".csv")), col_types = col_types[[t]], na = "",',
        '                                  locale = readr::locale(encoding = "UTF-8")))',
        "  }",
        "}",
        "ds <- setNames(lapply(tables, read_table), tables)",
        "",
        "# coded columns as factors, levels in code-list order",
    ]
    for t in tables:
        for c in columns(t):
            if c.vocab:
                levels = ", ".join(f'"{x}"' for x in codes.V(c.vocab).codes)
                out.append(f"ds${t}${c.name} <- factor(ds${t}${c.name}, levels = c({levels}))")
    out += ["", "str(ds$panel)", ""]
    return "\n".join(out)


def stata_script(tables: list[str]) -> str:
    """load.do: open a table, switch between the label languages zh and en."""
    out = [
        "* Load the foi-research dataset in Stata 14 or later. Run it from the dataset folder, e.g.",
        '*   cd "outputs/dataset"',
        "*   do load.do",
        "* Every table is stata/<table>.dta; coded columns are labelled integers with two label",
        "* languages, zh (current) and en. The tables join on report_id (reports: one row per report).",
        "",
        "capture program drop foi_language",
        "program define foi_language",
        "    * foi_language en | zh: the value and variable labels in English or Chinese",
        "    args lang",
        "    capture label language `lang'",
        "    if _rc {",
        "        * a file that lost its label languages: rebuild them from the <variable>_en label sets",
        "        quietly label language",
        '        if "`r(language)\'" != "zh" label language zh, rename',
        "        label language en, new",
        "        foreach v of varlist _all {",
        "            capture label list `v'_en",
        "            if !_rc label values `v' `v'_en",
        "        }",
        "        label language `lang'",
        "    }",
        "end",
        "",
        'use "stata/panel.dta", clear',
        "label language      // the languages of the file: zh, en",
        "foi_language en",
        "describe",
        "tabulate agency_kind",
        "",
        "* another table, joined to the reports it belongs to:",
        '* use "stata/requests.dta", clear',
        '* merge m:1 report_id using "stata/reports.dta", keep(match) nogenerate',
        "",
        f"* tables: {', '.join(tables)}",
        "",
    ]
    return "\n".join(out)


def write_load_scripts(root: Path, tables: list[str]) -> list[Path]:
    paths = [root / "load.R", root / "load.do"]
    paths[0].write_text(r_script(tables), encoding="utf-8")
    paths[1].write_text(stata_script(tables), encoding="utf-8")
    return paths
