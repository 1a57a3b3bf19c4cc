"""Outputs safe to open (issue 17, items 3 and 4): text from the documents is inert in the study
HTML (Markdown without raw HTML or unsafe links), the charts, the codebook; CSV cells never run
as spreadsheet formulas; exports never fail for one column."""
from __future__ import annotations

import csv
import datetime as dt
import io

import nbformat
import polars as pl
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from conftest import DATA
from foi_research.pipeline import parse_file
from foi_research.present import export, studies, viz
from foi_research.reference import codes
from foi_research.validate.schemas import TABLES, polars_schema

EVIL = "[x](javascript:alert(1)) <script>alert(2)</script> <img src=x onerror=alert(3)>"


def test_a_title_with_a_javascript_link_is_inert_in_the_study_html(tmp_path):
    """Issue 17.3: a report titled with Markdown [x](javascript:...) became the agency name, and
    the study HTML rendered it as a live javascript: link (raw HTML and unsafe schemes allowed)."""
    f = tmp_path / "t.txt"
    f.write_text(
        "临淄区[x](javascript:alert(1))人民政府2021年政府信息公开工作年度报告\n时间:2022-01-10\n一、总体情况\n2021年，本机关认真贯彻落实条例。\n",
        encoding="utf-8",
    )
    agency = parse_file(f).reports[0]["agency"]
    assert "javascript:alert(1)" in agency  # the document's text is kept as printed ...
    nb = new_notebook(cells=[
        new_markdown_cell("# A study of `outputs/studies/<study>/`"),
        new_code_cell("Markdown(caveats)", outputs=[new_output("display_data", data={
            "text/markdown": f"Only one agency ({agency}) is observed both before and after. {EVIL} [source](https://example.org)",
            "text/plain": "<IPython.core.display.Markdown object>",
        })]),
    ])
    nbformat.write(nb, tmp_path / "s.ipynb")
    studies._html(tmp_path / "s.ipynb", tmp_path / "s.html")
    html = (tmp_path / "s.html").read_text(encoding="utf-8")
    body = html[html.find("<main"):]
    assert 'href="javascript:' not in body and "javascript:alert" not in body.replace("](javascript:alert", "")  # ... but no link
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body
    assert 'href="#harmful-link"' in body and 'href="https://example.org"' in body
    assert "&lt;study&gt;" in body  # the notebook's own Markdown shows '<study>' instead of hiding it


def test_chart_text_from_documents_is_escaped(tmp_path):
    df = pl.DataFrame({"agency": [EVIL, "临淄区"], "year": [2020, 2021], "received": [3, 4]})
    fig = viz.requests_per_agency_year(df)
    paths = viz.save_figure(fig, tmp_path)
    svg = paths["svg"].read_text(encoding="utf-8")
    assert "<script" not in svg and "<img" not in svg
    assert "&lt;script&gt;" in svg
    rows = list(csv.reader(io.StringIO(paths["csv"].read_text(encoding="utf-8"))))
    assert rows[1][0].startswith("'[x]") is False and rows[1][0].startswith("[x]")  # not formula-like: unchanged


def test_codebook_shows_document_text_as_printed_never_as_markup(tmp_path):
    from foi_research.harmonise import metrics

    q = pl.DataFrame({"report_id": ["a:1"], "check": ["read_error"], "severity": ["error"], "message": [f"{EVIL}.txt: cannot be read"]})
    md = export.codebook(metrics.load_crosswalk("default"), quality=q, settings={"inputs": [f"data/{EVIL}"]})
    import re

    assert not re.search(r"(?<!\\)\]\(javascript:", md)  # no link: every ']' before it is escaped
    assert "<script>" not in md and "<img" not in md
    assert "\\[x\\]" in md and "&lt;script&gt;" in md


CELLS = ["=cmd|' /C calc'!A0", "+SUM(A1:A9)", "-2+3", "@SUM(1)", "\tx", "\r=1", "-309", "+5", "1,234.5", "12%", "普通文本", "", None, "=" * 40_000]


def test_csv_cells_never_run_as_formulas_and_numbers_stay_numbers(tmp_path):
    """Issue 17.3: CSV cells starting with = + - @ were not neutralised for spreadsheets."""
    df = pl.DataFrame({"raw": CELLS, "value": list(range(-3, len(CELLS) - 3)), "share": [0.5] * len(CELLS)})
    for frame in (df, df.lazy()):
        export.write_csv({"t": frame}, tmp_path / "csv")
        with open(tmp_path / "csv" / "t.csv", encoding="utf-8-sig", newline="") as fh:
            got = list(csv.reader(fh))[1:]
        raw = [r[0] for r in got]
        assert raw[:6] == ["'=cmd|' /C calc'!A0", "'+SUM(A1:A9)", "'-2+3", "'@SUM(1)", "'\tx", "'\r=1"]
        assert raw[6:13] == ["-309", "+5", "1,234.5", "12%", "普通文本", "", ""]
        assert len(raw[13]) == export.SPREADSHEET_CELL_MAX and raw[13].endswith(export.CUT_NOTE)
        assert [int(r[1]) for r in got] == df["value"].to_list()  # numeric columns as they were
        assert all(r[2] == "0.5" for r in got)


def _hostile(table: str) -> list[pl.DataFrame]:
    """Frames of a table: values at the edges of every type, every column null, no row."""
    sch = polars_schema(table)
    cols = {c.name: c for c in TABLES[table]["columns"]}
    data = {}
    for k, t in sch.items():
        c = cols[k]
        if c.vocab:
            data[k] = [codes.V(c.vocab).codes[0], None, codes.V(c.vocab).codes[-1]]
        elif t == pl.String:
            data[k] = [CELLS[0], "😀\x01" + "长" * 40_000, None]
        elif t == pl.Int64:
            data[k] = [10**15, -(10**15), None]
        elif t == pl.Float64:
            data[k] = [1e300, -0.0, None]
        elif t == pl.Boolean:
            data[k] = [True, None, False]
        elif t == pl.Date:
            data[k] = [dt.date(1900, 1, 1), dt.date(2100, 12, 31), None]
        else:
            data[k] = [None] * 3
    return [pl.DataFrame(data, schema=sch), pl.DataFrame({k: [None] * 3 for k in sch}, schema=sch), pl.DataFrame(schema=sch)]


@pytest.mark.parametrize("table", list(TABLES))
def test_exports_never_fail_for_one_column(tmp_path, table):
    """Issue 17.4: build --stata crashed when a text column was entirely empty (16 of 20 real
    reports built alone). Every table, with edge values, every column null, or no row, exports to
    CSV and Stata."""
    import pandas as pd

    for k, df in enumerate(_hostile(table)):
        export.write_stata({table: df}, tmp_path / f"s{k}")
        export.write_csv({table: df}, tmp_path / f"c{k}")
        back = pd.read_stata(tmp_path / f"s{k}" / f"{table}.dta", convert_categoricals=False)
        assert len(back) == df.height


def test_build_with_stata_on_one_real_report(tmp_path):
    """Issue 17.4: `foi-research all` on one seed file crashed in the Stata export."""
    from foi_research.build import build_dataset

    m = build_dataset([DATA / "seeds" / "002_fd629941e7a907e0.txt"], tmp_path / "ds", workers=1, stata=True, csv=True)
    assert m["rows"]["reports"] == 1
    assert (tmp_path / "ds" / "stata" / "reports.dta").exists()
