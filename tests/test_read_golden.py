"""The tables read from every real PDF, Word and HTML file of data/corpus, and from generated PDF
and Word files (ruled tables, tables without rulings, horizontal rules only, wrapped labels, tables
over several pages, merged cells), are exactly what the readers gave before they were rebuilt on
PDFium and lxml (tests/fixtures/read/golden.json, captured with pdfplumber and python-docx): the
Document rows and cells the parser sees and the table-3 and table-4 cells parsed from them."""
from __future__ import annotations

import json

import pytest

import read_golden

GOLDEN = json.loads(read_golden.GOLDEN.read_text(encoding="utf-8"))
FILES = read_golden.files()


def test_every_real_pdf_word_and_html_file_is_covered():
    names = {read_golden.key(p) for p in FILES}
    real = {k for k in names if k.startswith("data/")}
    assert "data/corpus/real/huaian-gov-2024.pdf" in real and "data/corpus/real/shanghai-govoffice-2019.html" in real
    assert names == set(GOLDEN), f"files without a golden record: {sorted(names - set(GOLDEN))}; records without a file: {sorted(set(GOLDEN) - names)}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_same_rows_cells_and_tables_as_before(path):
    want = GOLDEN[read_golden.key(path)]
    got = json.loads(json.dumps(read_golden.snapshot(path), ensure_ascii=False))
    assert got["fatal"] is None and want["fatal"] is None
    for field in ("fmt", "traditional", "encoding"):
        assert got[field] == want[field], field
    assert len(got["rows"]) == len(want["rows"])
    for g, w in zip(got["rows"], want["rows"]):
        assert g == w
    # the parsed tables: today's parser on the old readers' rows and on today's readers' rows (the
    # golden's own t3/t4 were parsed by the parser of its day, which has changed since)
    from foi_research.parse.report import parse_document
    from foi_research.pipeline import parse_file

    before = read_golden.tables_of(parse_document(read_golden.document_of(path, want)))
    after = read_golden.tables_of(parse_file(path))
    assert after == before
    assert after["t3"] and after["t4"] or "legacy" in path.name
