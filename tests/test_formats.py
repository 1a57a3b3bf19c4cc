"""Every input format and encoding researchers bring gives the same numbers, and bad input gives
a clear status and message, never a traceback."""
from __future__ import annotations

import polars as pl
import pytest

import formats
from conftest import DATA, load_truth
from foi_research.validate.dataset import DatasetWriter, read_dataset
from foi_research.validate.evaluate import score
from foi_research.pipeline import parse_file, parse_paths

PINGYIN = next(t for t in load_truth("seeds") if t["id"] == formats.PINGYIN_TRUTH_ID)


def _ds(tmp_path, *paths):
    out = tmp_path / "ds"
    with DatasetWriter(out) as w:
        for p in parse_paths(list(paths), workers=1):
            w.add(p)
    return read_dataset(out)


def _assert_pingyin(ds, fname):
    truth = dict(PINGYIN, file=fname)
    card = score([truth], ds)
    rs = card.reports[0]
    assert not rs.problems and not rs.missing, rs.problems + rs.missing
    assert card.counts["t3"] == 175 and card.counts["t4"] == 15
    r = ds["reports"].row(0, named=True)
    assert (r["agency"], r["year"], r["template"]) == ("平阴县人民政府办公室", 2021, "2021")
    assert r["status"] == "ok", ds["quality"]["message"].to_list()
    p = ds["proactive"]
    assert dict(zip(p["item"] + "/" + p["measure"], p["value"]))["normative_docs/repealed"] == 23


@pytest.mark.parametrize(
    "encoding,bom",
    [("utf-8", False), ("gb18030", False), ("gbk", False), ("utf-16-le", True), ("utf-16-be", True), ("utf-16-le", False), ("utf-16-be", False)],
)
def test_text_encodings(tmp_path, encoding, bom):
    f = formats.text_in(encoding, tmp_path / "pingyin.txt", bom=bom)
    ds = _ds(tmp_path, f)
    _assert_pingyin(ds, "pingyin.txt")
    assert ds["reports"]["encoding"][0].replace("-sig", "") in (encoding.replace("gbk", "gb18030"), "utf-16", encoding)


def test_big5_traditional(tmp_path):
    src = DATA / "real" / "shenzhen-shekou-2021.txt"
    f = tmp_path / "shekou.txt"
    f.write_bytes(src.read_text(encoding="utf-8").encode("big5hkscs"))
    ds = _ds(tmp_path, f)
    r = ds["reports"].row(0, named=True)
    assert r["script"] == "traditional" and r["year"] == 2021 and r["agency"] == "南山区蛇口街道办事处"
    p = ds["proactive"]
    got = dict(zip(p["item"] + "/" + p["measure"], p["value"]))
    assert got["penalty/decisions"] == 61 and got["normative_docs/issued"] is None  # 行政規範性檔案 '/'


@pytest.mark.parametrize("charset,declare", [("utf-8", True), ("gb2312", True), ("gbk", False)])
def test_html_with_meta_charset_scripts_and_nested_markup(tmp_path, charset, declare):
    f = formats.to_html(tmp_path / "pingyin.html", charset=charset, declare=declare)
    ds = _ds(tmp_path, f)
    _assert_pingyin(ds, "pingyin.html")
    # the number inside <script> is not read
    assert 99 not in ds["requests"]["value"].to_list()


def test_docx_tables_are_read_as_tables(tmp_path):
    f = formats.to_docx(tmp_path / "pingyin.docx")
    ds = _ds(tmp_path, f)
    _assert_pingyin(ds, "pingyin.docx")
    assert ds["reports"]["source_format"][0] == "docx"
    # values come from table rows, each its own line, not from flattened text
    lines = ds["requests"].filter(pl.col("row_code") == "new_received")["line"].unique().to_list()
    assert len(lines) == 1


def test_pdf_with_text_layer(tmp_path):
    f = formats.to_pdf(tmp_path / "pingyin.pdf")
    ds = _ds(tmp_path, f)
    _assert_pingyin(ds, "pingyin.pdf")
    assert ds["reports"]["source_format"][0] == "pdf"


def _failed(tmp_path, path, status="failed"):
    ds = _ds(tmp_path, path)
    r = ds["reports"].row(0, named=True)
    q = ds["quality"].filter(pl.col("report_id") == r["report_id"])
    assert r["status"] == status, (r, q["message"].to_list())
    assert q.filter(pl.col("severity") == "error").height >= 1
    return r, q["message"].to_list()


def test_pdf_without_text_layer(tmp_path, monkeypatch):
    monkeypatch.setenv("FOI_NO_OCR", "1")  # (with the OCR extra: tests/test_read_formats.py)
    r, msgs = _failed(tmp_path, formats.image_only_pdf(tmp_path / "scan.pdf"))
    assert any("no text layer" in m and "OCR" in m and "scan.pdf" in m for m in msgs)


def test_empty_file(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_bytes(b"")
    r, msgs = _failed(tmp_path, f)
    assert any("empty" in m and "empty.txt" in m for m in msgs)


def test_binary_file(tmp_path):
    f = tmp_path / "blob.txt"
    f.write_bytes(bytes(range(256)) * 40)
    r, msgs = _failed(tmp_path, f)
    assert any("binary" in m for m in msgs)


def test_corrupt_docx_and_pdf(tmp_path):
    for name, data in (("broken.docx", b"PK\x03\x04 not really a zip"), ("broken.pdf", b"%PDF-1.4\n garbage")):
        f = tmp_path / name
        f.write_bytes(data)
        r, msgs = _failed(tmp_path / name.replace(".", "_"), f)
        assert any(name in m for m in msgs)


def test_file_with_no_report(tmp_path):
    f = tmp_path / "guide.txt"
    f.write_text("临淄区人民政府办公室信息公开指南\n\n时间:2024-02-19\n\n本机关在职责范围内,负责主动或依申请公开下列各类政府信息。\n", encoding="utf-8")
    ds = _ds(tmp_path, f)
    r = ds["reports"].row(0, named=True)
    assert r["status"] == "no_tables"
    assert "no annual report" in ds["quality"]["message"][0]


def test_missing_file_named_explicitly(tmp_path):
    res = parse_file(tmp_path / "nope.txt")
    assert res.reports[0]["status"] == "failed"
    assert "cannot open" in res.quality[0]["message"]


def test_one_bad_file_never_stops_the_others(tmp_path):
    bad = tmp_path / "in" / "a_bad.pdf"
    bad.parent.mkdir()
    bad.write_bytes(b"%PDF-1.4 broken")
    good = formats.text_in("gb18030", tmp_path / "in" / "b_good.txt")
    ds = _ds(tmp_path, tmp_path / "in")
    st = dict(zip(ds["reports"]["source_file"].map_elements(lambda s: s.rsplit("/", 1)[-1], return_dtype=pl.String), ds["reports"]["status"]))
    assert st == {"a_bad.pdf": "failed", "b_good.txt": "ok"}
    assert ds["requests"].height == 7 * 25 + 7  # pingyin's 25 rows + the derived other_total


def test_collapsed_pipes_never_misplace_numbers(tmp_path):
    """Scrapers that collapse runs of empty pipes destroy column positions in rows with blank
    cells. The row '1 | 1' (natural person 1, total 1, blank between) can be read seven ways;
    the table's identities single out one, which is kept and said so (info)."""
    src = (DATA / "seeds" / "004_c04978ea7ee6ff4b.txt").read_text(encoding="utf-8")
    src = src.replace("| 1 | 0 | 0 | 0 | 0 | 0 | 1 |", "| 1 |  |  |  |  |  | 1 |", 1)
    f = tmp_path / "collapsed.txt"
    f.write_text(formats.strip_pipes_collapsing(src), encoding="utf-8")
    ds = _ds(tmp_path, f)
    truth = dict(PINGYIN, file="collapsed.txt")
    card = score([truth], ds)
    assert card.counts["wrong"] == 0  # nothing misplaced
    # the collapsed row placed by the identities: natural person 1, total 1, the rest blank
    row = ds["requests"].filter(pl.col("row_code") == "partially_granted")
    got = dict(zip(row["applicant"], row["value"]))
    assert got["natural_person"] == 1 and got["total"] == 1
    assert all(got[a] is None for a in ("commercial", "research", "social_org", "legal_service", "other_org"))
    missing_t3 = [m for r in card.reports for m in r.missing if m.startswith("missing t3")]
    assert len(missing_t3) == 5, missing_t3  # the five cells blanked in this copy (0 in the truth)
    q = ds["quality"]
    placed = q.filter((pl.col("check") == "t3_alignment") & pl.col("message").str.contains("blank cells lost"))
    assert placed.height >= 1 and set(placed["severity"]) == {"info"}
