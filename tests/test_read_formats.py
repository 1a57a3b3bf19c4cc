"""Formats beyond text and HTML: generated PDFs and Word files against their truth, Excel
statistics tables, .doc/.wps with and without a converter, scanned PDFs with and without the OCR
extra (OCR with the network blocked), files that are not reports, and the reader limits."""
from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import polars as pl
import pytest

import formats
from conftest import DATA, ROOT
from foi_research import synth
from foi_research.pipeline import iter_files, parse_file, parse_paths
from foi_research.read import Limits, read
from foi_research.read import ocr as ocr_mod
from foi_research.synth_files import write_report
from foi_research.validate.dataset import DatasetWriter, read_dataset

FIX = ROOT / "tests" / "fixtures" / "read"
HUAIAN = DATA / "real" / "huaian-gov-2024.pdf"


def _tables(parsed) -> dict:
    return {
        "t3": {(r["row_code"], r["applicant"]): r["value"] for r in parsed.requests},
        "t4": {(r["proceeding"], r["outcome"]): r["value"] for r in parsed.appeals},
        "t2": {(r["item"], r["measure"]): r["value"] for r in parsed.proactive},
        "legacy": {r["indicator"]: r["value"] for r in parsed.legacy},
    }


# --- generated PDF and Word files against synth's truth ---------------------------------------


@pytest.mark.parametrize(
    "name,seed,template,style,pages",
    [
        ("r.pdf", 31, "2021", "ruled", 7),  # 7 pages, tables over two pages, wrapped labels
        ("r.pdf", 32, "2019", "ruled", None),
        ("r.pdf", 33, "legacy-stats", "ruled", None),
        ("r.docx", 34, "2021", "ruled", 6),
        ("r.docx", 35, "legacy-stats", "ruled", None),
    ],
)
def test_generated_pdf_and_word_files_read_as_their_truth(tmp_path, name, seed, template, style, pages):
    path, truth = write_report(tmp_path / name, seed, template, style=style, pages=pages)
    res = parse_file(path)
    assert synth.verify(res, truth) == []
    assert res.reports[0]["status"] == "ok"
    if pages:
        from foi_research.read.pdf import pdfium

        if name.endswith(".pdf"):
            assert len(pdfium().PdfDocument(str(path))) >= pages - 1


def test_merged_word_cells_are_span_placeholders(tmp_path):
    path, _ = write_report(tmp_path / "r.docx", 36, "2021")
    doc = read(path)
    rows = [r for r in doc.rows if r.kind == "table"]
    head = next(r for r in rows if "申请人情况" in r.raw)
    # the caption spans 3 columns x 3 rows; 申请人情况 spans the 7 applicant columns
    assert [c.span for c in head.cells] == [False, True, True, False, True, True, True, True, True, True]
    nxt = rows[rows.index(head) + 1]
    assert [c.span for c in nxt.cells[:3]] == [True, True, True] and nxt.cells[3].raw == "自然人"


# --- Excel -------------------------------------------------------------------------------------


def test_xlsx_statistics_tables(tmp_path):
    path, truth = write_report(tmp_path / "stats.xlsx", 37, "2021")
    res = parse_file(path)
    rep = truth.reports[0]
    got = _tables(res)
    assert res.reports[0]["source_format"] == "xlsx" and res.reports[0]["year"] == rep.year
    want_t3 = {(row, col): v for row, cols in rep.t3.items() for col, v in cols.items()}
    assert {k: got["t3"].get(k) for k in want_t3} == want_t3
    want_t4 = {(p, o): v for p, outs in rep.t4.items() for o, v in outs.items()}
    assert {k: got["t4"].get(k) for k in want_t4} == want_t4


def test_legacy_xls_statistics_table():
    want = json.loads((FIX / "statistics-seed21.json").read_text(encoding="utf-8"))
    res = parse_file(FIX / "statistics-seed21.xls")
    assert res.reports[0]["status"] == "ok" and res.reports[0]["encoding"] == "xls"
    assert _tables(res)["legacy"] == want["legacy"]


# --- .doc / .wps -------------------------------------------------------------------------------


def _ole(path: Path) -> Path:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    return path


def test_doc_and_wps_without_a_converter_get_a_row_saying_how_to_convert(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    for name in ("old.doc", "old.wps"):
        res = parse_file(_ole(tmp_path / name))
        assert res.reports[0]["status"] == "failed"
        msg = res.quality[0]["message"]
        assert name in msg and "soffice --headless --convert-to docx" in msg and "save as .docx" in msg


def test_doc_converted_when_libreoffice_is_installed(tmp_path, monkeypatch):
    """The conversion path, with a stand-in `soffice` on the PATH that writes the .docx
    LibreOffice would (a real LibreOffice is used instead when installed)."""
    docx_src, truth = write_report(tmp_path / "src.docx", 38, "2019")
    if not (os.environ.get("FOI_REAL_SOFFICE") and __import__("shutil").which("soffice")):
        bindir = tmp_path / "bin"
        bindir.mkdir()
        fake = bindir / "soffice"
        fake.write_text(
            "#!/bin/sh\n# stand-in for LibreOffice: --convert-to docx --outdir DIR FILE\n"
            'for a; do last="$a"; done\n'
            'while [ "$1" != "--outdir" ]; do shift; done; out="$2"\n'
            f'base=$(basename "$last"); cp "{docx_src}" "$out/${{base%.*}}.docx"\n'
        )
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    res = parse_file(_ole(tmp_path / "report.doc"))
    assert res.reports[0]["status"] == "ok", res.quality
    assert "LibreOffice" in res.reports[0]["encoding"]
    assert synth.verify(res, truth) == []


def test_doc_that_is_really_html_is_read_as_html(tmp_path):
    src = formats.to_html(tmp_path / "p.html")
    f = tmp_path / "report.doc"
    f.write_bytes(src.read_bytes())
    res = parse_file(f)
    assert res.reports[0]["status"] == "ok" and res.reports[0]["source_format"] == "html"


# --- every file in a folder gets a row ----------------------------------------------------------


def test_no_file_in_a_folder_is_skipped_silently(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    formats.text_in("utf-8", d / "a.txt")
    (d / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (d / "sub" / "bundle.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    _ole(d / "sub" / "old.doc")
    (d / "notes.xyz").write_bytes(bytes(range(256)) * 8)
    files = list(iter_files([d]))
    assert len(files) == 5
    out = tmp_path / "ds"
    with DatasetWriter(out) as w:
        for p in parse_paths([d], workers=1):
            w.add(p)
    ds = read_dataset(out)
    rep = ds["reports"].with_columns(pl.col("source_file").str.split("/").list.last().alias("f"))
    assert sorted(rep["f"].to_list()) == ["a.txt", "bundle.zip", "notes.xyz", "old.doc", "scan.jpg"]
    st = dict(zip(rep["f"], rep["status"]))
    assert st["a.txt"] == "ok" and all(st[f] == "failed" for f in ("bundle.zip", "notes.xyz", "old.doc", "scan.jpg"))
    q = ds["quality"].join(rep.select("report_id", "f"), on="report_id")
    msg = dict(zip(q["f"], q["message"]))
    assert "not a report format" in msg["scan.jpg"] and "img2pdf" in msg["scan.jpg"]
    assert "not a report format" in msg["bundle.zip"] and "unpack" in msg["bundle.zip"]
    assert "binary" in msg["notes.xyz"]
    assert "convert" in msg["old.doc"]


# --- scanned PDFs --------------------------------------------------------------------------------


def _no_ocr(monkeypatch):
    real = ocr_mod.importlib.util.find_spec
    monkeypatch.setattr(ocr_mod.importlib.util, "find_spec", lambda name, *a: None if name in ("rapidocr", "onnxruntime") else real(name, *a))


def test_scanned_pdf_without_the_ocr_extra_says_how_to_get_it(tmp_path, monkeypatch):
    _no_ocr(monkeypatch)
    res = parse_file(formats.image_only_pdf(tmp_path / "scan.pdf"))
    assert res.reports[0]["status"] == "failed"
    msg = res.quality[0]["message"]
    assert "scan.pdf" in msg and "no text layer" in msg and 'pip install "foi-research[ocr]"' in msg


def test_partly_scanned_pdf_without_the_extra_reads_the_text_pages_and_names_the_others(tmp_path, monkeypatch):
    _no_ocr(monkeypatch)
    f = formats.scanned_copy(HUAIAN, tmp_path / "mixed.pdf", [6], dpi=50)
    res = parse_file(f)
    assert res.reports[0]["status"] == "ok"
    warn = [q for q in res.quality if q["check"] == "read_warning"]
    assert len(warn) == 1 and "pages 6 have no text layer" in warn[0]["message"] and "foi-research[ocr]" in warn[0]["message"]


@pytest.mark.skipif(not ocr_mod.available(), reason='the OCR extra is not installed (pip install "foi-research[ocr]")')
def test_scanned_page_is_read_by_ocr_offline(tmp_path, monkeypatch):
    """Page 5 of the real Huai'an PDF (the end of table 3 and all of table 4) as an image: OCR
    gives the same table-3 and table-4 cells as the text layer, the report is marked, and nothing
    connects or resolves a name on the way (the engine is created under the guard: a model
    download would show). Creating a socket is allowed: urllib3, imported by rapidocr, probes
    IPv6 support by binding ::1 at import, which sends nothing."""
    f = formats.scanned_copy(HUAIAN, tmp_path / "scan5.pdf", [5])
    want = _tables(parse_file(HUAIAN))
    opened = []

    def refuse(what):
        def f(*a, **k):
            opened.append((what, a[1:] if what.startswith("socket.") else a))
            raise OSError(f"network access during OCR ({what})")

        return f

    for name in ("connect", "connect_ex", "sendto", "sendmsg"):
        monkeypatch.setattr(socket.socket, name, refuse(f"socket.{name}"))
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection"):
        monkeypatch.setattr(socket, name, refuse(name))
    monkeypatch.setattr(ocr_mod, "_engine", None)  # created (and its models found) under the guard
    res = parse_file(f)
    assert opened == []
    got = _tables(res)
    assert got["t3"] == want["t3"] and got["t4"] == want["t4"]
    assert res.reports[0]["status"] == "ok" and res.reports[0]["encoding"] == "pdf+ocr"
    ocr_rows = [q for q in res.quality if q["check"] == "ocr"]
    assert len(ocr_rows) == 1 and "page(s) 5 " in ocr_rows[0]["message"]
    assert not [q for q in res.quality if q["severity"] == "error"]


# --- limits --------------------------------------------------------------------------------------


def test_limits_name_the_limit_and_how_to_raise_it(tmp_path):
    docx, _ = write_report(tmp_path / "r.docx", 39, "2021")
    cases = [
        (HUAIAN, Limits(max_file_bytes=10_000), "max_file_bytes"),
        (HUAIAN, Limits(max_pdf_pages=5), "max_pdf_pages"),
        (HUAIAN, Limits(max_text_chars=1000), "max_text_chars"),
        (docx, Limits(max_unzipped_bytes=20_000), "max_unzipped_bytes"),
        (docx, Limits(max_table_cells=100), "max_table_cells"),
        (DATA / "real" / "shanghai-govoffice-2019.html", Limits(max_table_cells=100), "max_table_cells"),
    ]
    for path, limits, name in cases:
        doc = read(path, limits)
        assert doc.fatal and f"Limits.{name}" in doc.fatal and f"Limits({name}=" in doc.fatal, (name, doc.fatal)
        assert read(path).fatal is None
    res = parse_file(HUAIAN, limits=Limits(max_pdf_pages=5))
    assert res.reports[0]["status"] == "failed" and "max_pdf_pages" in res.quality[0]["message"]


def test_a_deflate_bomb_is_stopped_while_inflating(tmp_path):
    import zipfile

    f = tmp_path / "bomb.docx"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as w:  # 300 MB of zeros, about 300 KB zipped
            chunk = bytes(1 << 20)
            for _ in range(300):
                w.write(chunk)
    assert f.stat().st_size < 2_000_000
    doc = read(f, Limits(max_unzipped_bytes=50 << 20))
    assert doc.fatal and "max_unzipped_bytes" in doc.fatal
