"""What the readers give for every real PDF, Word and HTML file of data/corpus and for generated
files (tests/fixtures/read/docs): the Document rows and cells the parser sees and the table-3 and
table-4 cells parsed from them. tests/fixtures/read/golden.json holds what the readers gave before
the PDF and Word readers were rebuilt (pdfplumber, python-docx); test_read_golden.py checks that
today's readers give exactly the same.

    python tests/read_golden.py --docs     # (re)generate the generated files (reportlab, python-docx)
    python tests/read_golden.py --write    # capture the golden outputs (only on purpose!)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCS = HERE / "fixtures" / "read" / "docs"
GOLDEN = HERE / "fixtures" / "read" / "golden.json"
CORPUS = ROOT / "data" / "corpus"
FORMATS = {".pdf", ".docx", ".html", ".htm"}

# generated files: name -> (seed, template, PDF style, pages, synth.generate options)
GENERATED = {
    "gen-2021-ruled.pdf": (101, "2021", "ruled", 6, {}),
    "gen-2019-ruled-traditional.pdf": (102, "2019", "ruled", None, {"noise": {"traditional"}}),
    "gen-2021-unruled.pdf": (103, "2021", "unruled", None, {}),
    "gen-2019-rules-h.pdf": (104, "2019", "rules-h", 5, {}),
    "gen-legacy-ruled.pdf": (105, "legacy-stats", "ruled", None, {}),
    "gen-2021.docx": (111, "2021", "ruled", 6, {}),
    "gen-2019-spaced.docx": (112, "2019", "ruled", None, {"noise": {"spaced", "blank"}}),
    "gen-legacy.docx": (113, "legacy-stats", "ruled", None, {}),
}


def files() -> list[Path]:
    """Every real PDF/Word/HTML file of data/corpus, then the generated files."""
    real = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in FORMATS)
    return real + sorted(DOCS.iterdir())


def key(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return path.name


def tables_of(parsed) -> dict:
    """The parsed table-3 and table-4 cells and report statuses of a Parsed."""
    t3 = sorted([r["report_id"].rsplit(":", 1)[-1], r["row_code"], r["applicant"], r["value"], r["raw"], r["line"]] for r in parsed.requests if not r.get("derived"))
    t4 = sorted([r["report_id"].rsplit(":", 1)[-1], r["proceeding"], r["outcome"], r["value"], r["raw"], r["line"]] for r in parsed.appeals)
    return {"t3": t3, "t4": t4, "status": [r["status"] for r in parsed.reports]}


def document_of(path: Path, record: dict):
    """The Document a golden record describes (what the old readers gave), for the parser."""
    from foi_research.read.base import Cell, Document, Row

    rows = [Row(line, raw, norm, None if cells is None else [Cell(*c) for c in cells], kind) for line, kind, raw, norm, cells in record["rows"]]
    return Document(path=path, fmt=record["fmt"], rows=rows, encoding=record["encoding"], traditional=record["traditional"], fatal=record["fatal"])


def snapshot(path: Path) -> dict:
    from foi_research.pipeline import parse_file
    try:
        from foi_research.read import read
    except ImportError:  # before read/ exported it
        from foi_research.read.readers import read

    doc = read(path)
    rows = [[r.line, r.kind, r.raw, r.norm, None if r.cells is None else [[c.raw, c.norm, c.line, c.span] for c in r.cells]] for r in doc.rows]
    parsed = parse_file(path)
    t3 = sorted([r["report_id"].rsplit(":", 1)[-1], r["row_code"], r["applicant"], r["value"], r["raw"], r["line"]] for r in parsed.requests if not r.get("derived"))
    t4 = sorted([r["report_id"].rsplit(":", 1)[-1], r["proceeding"], r["outcome"], r["value"], r["raw"], r["line"]] for r in parsed.appeals)
    return {
        "fmt": doc.fmt,
        "encoding": doc.encoding,
        "traditional": doc.traditional,
        "fatal": doc.fatal,
        "rows": rows,
        "t3": t3,
        "t4": t4,
        "status": [r["status"] for r in parsed.reports],
    }


def make_docs() -> None:
    sys.path.insert(0, str(HERE))
    import formats
    from foi_research.synth_files import write_report

    DOCS.mkdir(parents=True, exist_ok=True)
    formats.to_pdf(DOCS / "pingyin.pdf")
    formats.to_docx(DOCS / "pingyin.docx")
    formats.to_html(DOCS / "pingyin.html")
    for name, (seed, template, style, pages, kw) in GENERATED.items():
        write_report(DOCS / name, seed, template, style=style, pages=pages, **kw)


if __name__ == "__main__":
    if "--docs" in sys.argv:
        make_docs()
    if "--write" in sys.argv:
        GOLDEN.write_text(json.dumps({key(p): snapshot(p) for p in files()}, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        print(f"wrote {GOLDEN} ({len(files())} files)")
