"""The tables of the data contract: columns, types, meanings and allowed codes, and the pandera
schemas that validate them.

TABLES is the single description of every column; the pandera schemas, the arrow schemas used
to write parquet, the Frictionless datapackage.json and the codebook are all generated from it,
and the allowed codes come from the code list (codes.py).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from foi_research.reference import codes


@dataclass(frozen=True)
class Col:
    name: str
    dtype: type
    nullable: bool
    description: str
    vocab: str | None = None  # name of a vocabulary in codes.yaml
    unit: str | None = None
    ge: float | None = None
    le: float | None = None
    contract: bool = True  # named in ../shared/CONTRACT.md (False: our addition)


S, I, F, B, D = pl.String, pl.Int64, pl.Float64, pl.Boolean, pl.Date

_QUALITY_CONTEXT = [
    Col("row_code", S, True, "Table-3 row the finding is about", "request_rows"),
    Col("applicant", S, True, "Table-3 applicant column the finding is about", "applicants"),
    Col("proceeding", S, True, "Table-4 proceeding the finding is about", "proceedings"),
    Col("indicator", S, True, "Legacy indicator the finding is about", "legacy_indicators", contract=False),
    Col("item", S, True, "Table-2 item the finding is about", "proactive_items", contract=False),
    Col("measure", S, True, "Table-2 measure the finding is about", "proactive_measures", contract=False),
    Col("line", I, True, "Source line the finding points at", ge=0, contract=False),
]

TABLES: dict[str, dict] = {
    "reports": {
        "title": "Reports / 年度报告",
        "description": "One row per report found; a file may hold several reports.",
        "key": ["report_id"],
        "columns": [
            Col("report_id", S, False, "Identifier of the report: file name stem, ':' and the first line of the report in its file"),
            Col("source_file", S, False, "Path of the file the report was read from, relative to the input root (manifest.json input_root)"),
            Col("source_line", I, False, "First line of the report in its file (0 when the file could not be read)", ge=0),
            Col("agency", S, True, "Issuing agency as printed (whitespace removed, Traditional script converted)"),
            Col("year", I, True, "The year reported on", ge=1990, le=2100),
            Col("published", D, True, "Publication date when the document gives a full date"),
            Col("province", S, True, "Province-level division of the agency"),
            Col("city", S, True, "Prefecture-level division of the agency (null for municipalities)"),
            Col("county", S, True, "County-level division of the agency, or the development zone it belongs to"),
            Col("division_code", S, True, "GB/T 2260 code of the most specific division found (6 digits)"),
            Col("template", S, False, "Report template recognised", "templates"),
            Col("status", S, False, "How completely the report's tables could be read", "statuses"),
            Col("title", S, True, "Title line as found", contract=False),
            Col("published_raw", S, True, "Publication date text as printed (also month-only dates such as 2021年2月)", contract=False),
            Col("division_level", S, True, "Level of division_code: province, city or county", contract=False),
            Col("agency_source", S, True, "Where the agency was read: title, body", contract=False),
            Col("year_source", S, True, "Where the year was read: title, period (统计期限), body, published", contract=False),
            Col("source_format", S, False, "txt, html, docx or pdf", contract=False),
            Col("encoding", S, True, "Text encoding detected", contract=False),
            Col("script", S, True, "simplified or traditional", contract=False),
            Col("file_sha1", S, True, "SHA-1 of the source file, to find duplicate copies", contract=False),
            Col("source_url", S, True, "Where the document was found (foi-metadata.csv beside the corpus)", contract=False),
            Col("retrieved", D, True, "When the document was downloaded (foi-metadata.csv beside the corpus)", contract=False),
            Col("duplicate_of", S, True, "report_id of the copy of the same report (same agency and year, or same file) kept in the panel; null for the copy kept and for reports found once", contract=False),
        ],
    },
    "requests": {
        "title": "Table 3: requests / 收到和处理政府信息公开申请情况",
        "description": "Table 3 in long form: one row per printed cell (row x applicant column).",
        "key": ["report_id", "row_code", "applicant"],
        "columns": [
            Col("report_id", S, False, "Report the cell belongs to"),
            Col("row_code", S, False, "Table-3 row", "request_rows"),
            Col("applicant", S, False, "Applicant column", "applicants"),
            Col("value", I, True, "The number as printed (null where the cell is blank or unreadable)", unit="requests"),
            Col("raw", S, True, "The cell text exactly as printed (null for derived rows)"),
            Col("line", I, True, "Source line of the cell", ge=0),
            Col("derived", B, False, "True for other_total in the 2021 template, which is not printed but derived as the sum of (六)1-3", contract=False),
        ],
    },
    "appeals": {
        "title": "Table 4: review and litigation / 行政复议、行政诉讼情况",
        "description": "Table 4 in long form: 3 proceedings x 5 outcomes.",
        "key": ["report_id", "proceeding", "outcome"],
        "columns": [
            Col("report_id", S, False, "Report the cell belongs to"),
            Col("proceeding", S, False, "Proceeding", "proceedings"),
            Col("outcome", S, False, "Outcome", "appeal_outcomes"),
            Col("value", I, True, "Number of cases as printed (null where blank)", unit="cases"),
            Col("raw", S, True, "The cell text exactly as printed"),
            Col("line", I, True, "Source line of the cell", ge=0),
        ],
    },
    "proactive": {
        "title": "Table 2: proactive disclosure / 主动公开政府信息情况",
        "description": "Table 2 in long form: item x measure.",
        "key": ["report_id", "item", "measure"],
        "columns": [
            Col("report_id", S, False, "Report the cell belongs to"),
            Col("item", S, False, "Item of article 20 of the regulation", "proactive_items"),
            Col("measure", S, False, "Measure (column) of table 2", "proactive_measures"),
            Col("value", F, True, "The number as printed, sign kept (本年增/减 -309); null where blank or '/'"),
            Col("unit", S, True, "Unit: count, yuan or wan_yuan (10,000 yuan); null when an amount is printed without unit", "units"),
            Col("raw", S, True, "The cell text exactly as printed"),
            Col("line", I, True, "Source line of the cell", ge=0),
        ],
    },
    "legacy": {
        "title": "Pre-2019 statistics and figures in prose / 统计表与正文数字",
        "description": (
            "The request and review figures of the 2008-2018 statistics table (printed_in statistics_table) and "
            "figures stated in prose (printed_in prose). origin is the kind of report: table for a report of a "
            "table template (2019, 2021, pre-2019 statistics table), narrative for a report with figures in prose only."
        ),
        "key": ["report_id", "indicator", "printed_in"],
        "columns": [
            Col("report_id", S, False, "Report the figure belongs to"),
            Col("indicator", S, False, "Indicator", "legacy_indicators"),
            Col("value", I, True, "The number as printed (null where blank)"),
            Col("origin", S, False, "table (a report of a table template: 2019, 2021, pre-2019 statistics table) or narrative (a report with figures in prose only)", "origins"),
            Col("printed_in", S, False, "Where the figure was printed: statistics_table or prose", "printed_in", contract=False),
            Col("raw", S, True, "The cell text, or the phrase of prose the figure was read from"),
            Col("line", I, True, "Source line", ge=0),
        ],
    },
    "quality": {
        "title": "Quality findings / 数据质量",
        "description": "Everything the parser noticed: identities of the templates that do not hold, prose that contradicts a table, cells that could not be placed, truncated or unreadable documents. Printed values are never altered; they are flagged here.",
        "key": None,
        "columns": [
            Col("report_id", S, False, "Report the finding is about"),
            Col("check", S, False, "Name of the check (see the codebook)"),
            Col("severity", S, False, "error, warning or info", "severities"),
            Col("message", S, False, "What is wrong, with the figures involved, and what to do where something can be done"),
        ]
        + _QUALITY_CONTEXT,
    },
}

TABLE_NAMES = list(TABLES)


def columns(table: str) -> list[Col]:
    return TABLES[table]["columns"]


def polars_schema(table: str) -> dict[str, pl.DataType]:
    return {c.name: c.dtype for c in columns(table)}


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(table))


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    """Build a table from row dicts with the contract's column order and types."""
    sch = polars_schema(table)
    if not rows:
        return pl.DataFrame(schema=sch)
    return pl.DataFrame(rows, schema=sch, orient="row", strict=False).select(list(sch))


@functools.lru_cache(maxsize=None)
def schema(table: str) -> pa.DataFrameSchema:
    cols = {}
    for c in columns(table):
        checks = []
        if c.vocab:
            checks.append(pa.Check.isin(codes.V(c.vocab).codes))
        if c.ge is not None:
            checks.append(pa.Check.ge(c.ge))
        if c.le is not None:
            checks.append(pa.Check.le(c.le))
        if c.name == "division_code":
            checks.append(pa.Check.str_matches(r"^\d{6}$"))
        cols[c.name] = pa.Column(c.dtype, checks=checks, nullable=c.nullable, description=c.description)
    key = TABLES[table]["key"]
    return pa.DataFrameSchema(cols, strict=True, unique=key, name=table, description=TABLES[table]["description"])


def validate(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """Validate eagerly and fully (data, not only names and types)."""
    return schema(table).validate(df, lazy=True)


# ---------------------------------------------------------------------------------------------
# The panel (harmonise stage: foi_research/metrics.py). One row per report. Its vocabularies are
# appended sections of codes.yaml; the outcome-class and metric columns are generated from the
# `outcome_classes` and `metrics` sections so that no label or definition is typed twice.

PANEL_VOCABULARIES = (
    "outcome_classes",
    "crosswalk_special",
    "crosswalks",
    "agency_kinds",
    "admin_levels",
    "agency_name_rules",
    "count_sources",
    "denominators",
    "eras",
    "metrics",
    "quality_checks",
)



def _panel_columns() -> list[Col]:
    raw = codes.raw()
    classes = [
        Col(c["code"], I, True, f"{c['en']} ({c['zh']}): requests in this harmonised outcome class, by the crosswalk; null when no source row of the class has a value", unit="requests", contract=False)
        for c in raw["outcome_classes"]
    ]
    rates = [
        Col(m["code"], F, True, f"{m['en']} ({m['zh']}): {m['description']} Null when the denominator is 0 or unknown; formula in the codebook", unit="share (0-1)", contract=False)
        for m in raw["metrics"]
        if m.get("panel", True)
    ]
    return (
        [
            Col("report_id", S, False, "Report (reports.report_id)"),
            Col("agency_id", S, True, "Stable agency identifier across years and spellings: division code of the agency, '/', its normalised name without place prefix ('unplaced/...' without division)"),
            Col("agency", S, True, "Issuing agency as printed (reports.agency)"),
            Col("agency_name_norm", S, True, "Agency name normalised (script, whitespace, short forms such as 区政府 -> 区人民政府)", contract=False),
            Col("agency_kind", S, True, "Kind of agency", "agency_kinds"),
            Col("admin_level", S, True, "Administrative level of the agency", "admin_levels"),
            Col("province", S, True, "Province-level division (reports.province)"),
            Col("city", S, True, "Prefecture-level division (reports.city)"),
            Col("county", S, True, "County-level division or development zone (reports.county)"),
            Col("division_code", S, True, "GB/T 2260 code of the most specific division found (reports.division_code)"),
            Col("year", I, True, "The year reported on", ge=1990, le=2100),
            Col("era", S, True, "Era of the regulation by the year reported on", "eras", contract=False),
            Col("template", S, False, "Report template recognised", "templates"),
            Col("status", S, False, "How completely the report's tables could be read", "statuses"),
            Col("source", S, False, "Where the request counts come from", "count_sources"),
            Col("appeals_source", S, False, "Where the reconsideration and litigation counts come from", "count_sources", contract=False),
            Col("received", I, True, "New requests received in the year: table 3 row 一 (本年新收); pre-2019 收到申请数", unit="requests"),
            Col("carried_over", I, True, "Requests carried over from last year: table 3 row 二 (上年结转); not reported before 2019 (null)", unit="requests"),
            Col("handled", I, True, "Requests handled: table 3 row 三(七) 总计; pre-2019 申请答复数, or 申请办结数 where answered is not stated", unit="requests"),
            Col("carried_forward", I, True, "Requests carried forward to next year: table 3 row 四 (结转下年度继续办理); not reported before 2019 (null)", unit="requests"),
        ]
        + classes
        + [
            Col("natural_person_requests", I, True, "New requests from natural persons (table 3 row 一, column 自然人)", unit="requests"),
            Col("org_requests", I, True, "New requests from legal persons and other organisations (table 3 row 一, the five organisation columns added up)", unit="requests"),
            Col("not_government_info", I, True, "Requests refused as 不是《条例》所指政府信息 (not government information), a reason inside 不同意公开: pre-2019 statistics table or prose, as printed; null from 2019 on (no such row) and where not stated", unit="requests", contract=False),
            Col("reconsideration", I, True, "Administrative reconsideration cases: table 4 总计; pre-2019 行政复议数量", unit="cases"),
            Col("reconsideration_corrected", I, True, "Reconsideration cases whose result corrected the agency: table 4 结果纠正; pre-2019 被依法纠错数", unit="cases"),
            Col("litigation", I, True, "Administrative litigation cases: table 4 总计 of direct suits plus suits after reconsideration; pre-2019 行政诉讼数量", unit="cases"),
            Col("litigation_corrected", I, True, "Litigation cases whose result corrected the agency: table 4 结果纠正 (both kinds); pre-2019 被依法纠错数", unit="cases"),
            Col("classes_total", I, True, "Sum of the seven outcome classes (null when all are null); compare with handled", unit="requests", contract=False),
            Col("overlap_excluded", I, True, "Requests of an overlapping sub-item left out by the overlap rule (告知通过其他途径办理 inside 不属于本行政机关); null where the rule did not apply", unit="requests", contract=False),
            Col("within_not_moved", I, True, "Requests of a crosswalk sub-item marked `within` its parent (parent minus child) that were not moved out of the parent because the sub-item prints more than the parent (quality check crosswalk_within); null where nothing was wrong", unit="requests", contract=False),
            Col("denominator_value", I, True, "The denominator of the request-based rates under the `denominator` setting", unit="requests", contract=False),
        ]
        + rates
        + [
            Col("crosswalk", S, False, "Crosswalk used: the name of a shipped crosswalk, or the path of a user file"),
            Col("denominator", S, False, "Denominator of the request-based rates", "denominators"),
        ]
    )


TABLES["panel"] = {
    "title": "Panel / 机关年度面板",
    "description": "One row per report: agency identity, counts harmonised across the three eras of templates by a crosswalk, and the rates computed from them (foi_research.harmonise.metrics.build_panel).",
    "key": ["report_id"],
    "columns": _panel_columns(),
}
TABLE_NAMES = list(TABLES)
