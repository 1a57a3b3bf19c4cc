"""A researcher's own corpus: source_file relative to the input root (recorded in the manifest),
the sidecar metadata file applied at build and recorded in quality, duplicate reports kept once
with their conflicts flagged."""
from __future__ import annotations

import json

import polars as pl
import pytest

from foi_research import corpus, synth
from foi_research.build import BuildError, build_dataset

METADATA = """\ufefffile,report,source_url,retrieved,agency,year,division,field,value,by,reason
site/linzi-2022.txt,,http://www.linzi.gov.cn/a.html,2024-05-01,,,,,,,
notitle.txt,,http://example.org/b.html,2024-05-02,临淄区人民政府办公室,,370305,,,,
site/linzi-2022.txt,,,,,,,requests.new_received.natural_person,999,Li Wei,PDF page 3 reads 999
site/zhangdian-2021.txt,,,,,2020,,,,,
nowhere.txt,,,,,2020,,,,,
site/linzi-2022.txt,,,,,20x,,,,,
site/linzi-2022.txt,,,,,,,requests.new_received.total,5,,
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Four files: a report scraped twice (one copy corrected by hand), a report whose copy lost
    its title, a report whose year the site gives otherwise; and a foi-metadata.csv."""
    root = tmp_path_factory.mktemp("mine")
    (root / "reports" / "site").mkdir(parents=True)
    src = root / "reports"
    text, _ = synth.generate(201, template="2021", layout="tab", agency="淄博市临淄区人民政府办公室", year=2022)
    (src / "site" / "linzi-2022.txt").write_text(text, encoding="utf-8")
    (src / "site" / "linzi-2022-again.txt").write_text(text.replace("\n", "\r\n"), encoding="utf-8")  # same report, other bytes
    other, _ = synth.generate(203, template="2021", layout="tab", agency="淄博市张店区人民政府", year=2021)
    (src / "site" / "zhangdian-2021.txt").write_text(other, encoding="utf-8")
    body, _ = synth.generate(202, template="2021", layout="tab", agency="临淄区人民政府办公室", year=2021)
    (src / "notitle.txt").write_text("\n".join(l for l in body.splitlines() if "年度报告" not in l and "临淄区" not in l), encoding="utf-8")
    (src / corpus.METADATA_FILE).write_text(METADATA, encoding="utf-8")
    manifest = build_dataset([src], root / "dataset", workers=1)
    ds = {t: pl.read_parquet(root / "dataset" / f"{t}.parquet") for t in ("reports", "requests", "quality", "panel")}
    return src, root / "dataset", manifest, ds


def _q(ds, rid, check):
    return ds["quality"].filter((pl.col("report_id") == rid) & (pl.col("check") == check))


def _report(ds, file):
    return ds["reports"].filter(pl.col("source_file") == file).row(0, named=True)


def test_source_file_is_relative_to_the_input_root(built):
    src, out, manifest, ds = built
    assert sorted(ds["reports"]["source_file"]) == ["notitle.txt", "site/linzi-2022-again.txt", "site/linzi-2022.txt", "site/zhangdian-2021.txt"]
    saved = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert saved["input_root"] == str(src.absolute()) == manifest["input_root"]
    assert corpus.input_root([src / "site" / "linzi-2022.txt", src / "notitle.txt"]) == src.absolute()


def test_sidecar_metadata_is_applied_and_recorded(built):
    src, out, manifest, ds = built
    linzi = _report(ds, "site/linzi-2022.txt")
    assert linzi["source_url"] == "http://www.linzi.gov.cn/a.html" and str(linzi["retrieved"]) == "2024-05-01"
    # the document without a title: agency from the metadata, placed by the division given
    nt = _report(ds, "notitle.txt")
    assert (nt["agency"], nt["agency_source"], nt["division_code"], nt["county"]) == ("临淄区人民政府办公室", "metadata", "370305", "临淄区")
    assert "from foi-metadata.csv line 3 (the document gives none)" in _q(ds, nt["report_id"], "metadata_applied")["message"][0]
    # a year that differs from the document's: used, and the warning names both
    zd = _report(ds, "site/zhangdian-2021.txt")
    assert zd["year"] == 2020 and zd["year_source"] == "metadata"
    w = _q(ds, zd["report_id"], "metadata_differs").row(0, named=True)
    assert w["severity"] == "warning" and "the document gives 2021, foi-metadata.csv line 5 gives 2020" in w["message"]
    # a hand correction: value changed, raw as printed, who and why recorded
    cell = ds["requests"].filter((pl.col("report_id") == linzi["report_id"]) & (pl.col("row_code") == "new_received") & (pl.col("applicant") == "natural_person")).row(0, named=True)
    assert cell["value"] == 999 and cell["raw"] != "999"
    fix = _q(ds, linzi["report_id"], "hand_correction").row(0, named=True)
    assert fix["row_code"] == "new_received" and fix["applicant"] == "natural_person"
    assert f"printed '{cell['raw']}') corrected to 999 by Li Wei (PDF page 3 reads 999)" in fix["message"]
    # rows that cannot be applied are listed, never silently dropped, and the build goes on
    probs = manifest["metadata"]["problems"]
    assert any("line 7: year must be a year" in p for p in probs)
    assert any("line 8: a correction needs 'by'" in p for p in probs)
    assert any("line 6: no report of file 'nowhere.txt'" in p for p in probs)
    assert manifest["metadata"]["rows"] == 5 and manifest["metadata"]["rows_applied"] == 4


def test_bad_metadata_files_are_clear_errors(tmp_path):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / corpus.METADATA_FILE).write_text("path,year\na.txt,2020\n", encoding="utf-8")
    with pytest.raises(BuildError, match="no 'file' column"):
        build_dataset([tmp_path], tmp_path / "out")
    (tmp_path / corpus.METADATA_FILE).write_text("file,yaer\na.txt,2020\n", encoding="utf-8")
    with pytest.raises(BuildError, match="unknown column\\(s\\) yaer"):
        build_dataset([tmp_path], tmp_path / "out")
    with pytest.raises(BuildError, match="metadata file not found"):
        build_dataset([tmp_path], tmp_path / "out", metadata=tmp_path / "none.csv")
    assert not (tmp_path / "out").exists()


def test_a_report_scraped_twice_is_kept_once_and_its_conflicts_flagged(built):
    src, out, manifest, ds = built
    a, b = _report(ds, "site/linzi-2022.txt"), _report(ds, "site/linzi-2022-again.txt")
    # the copy corrected by hand is kept; the other names it
    assert a["duplicate_of"] is None and b["duplicate_of"] == a["report_id"]
    assert manifest["duplicates"] == 1
    panel = ds["panel"]
    assert a["report_id"] in panel["report_id"].to_list() and b["report_id"] not in panel["report_id"].to_list()
    assert panel.filter((pl.col("agency_id") == "370305/办公室") & (pl.col("year") == 2022)).height == 1
    d = _q(ds, b["report_id"], "duplicate_report").row(0, named=True)
    assert d["severity"] == "warning" and "requests.new_received.natural_person" in d["message"] and "999" in d["message"]
    assert "value(s) corrected by hand" in d["message"]  # the choice is said
    assert _q(ds, a["report_id"], "duplicate_conflict").height == 1
    # rebuilding from the built dataset finds them again, without doubling the rows
    again = build_dataset([out], out.parent / "rebuilt")
    q2 = pl.read_parquet(out.parent / "rebuilt" / "quality.parquet")
    assert again["duplicates"] == 1 and q2.filter(pl.col("check") == "duplicate_report").height == 1
    assert pl.read_parquet(out.parent / "rebuilt" / "reports.parquet")["duplicate_of"].drop_nulls().to_list() == [a["report_id"]]


def test_identical_copies_agree(tmp_path):
    text, _ = synth.generate(205, template="2019", layout="lines", agency="淄博市张店区人民政府", year=2020)
    (tmp_path / "in").mkdir()
    for n in ("a.txt", "b.txt"):
        (tmp_path / "in" / n).write_text(text, encoding="utf-8")
    m = build_dataset([tmp_path / "in"], tmp_path / "ds", workers=1)
    q = pl.read_parquet(tmp_path / "ds" / "quality.parquet").filter(pl.col("check").is_in(corpus.DUPLICATE_CHECKS))
    assert m["duplicates"] == 1 and q["severity"].to_list() == ["info"] and "the table values agree" in q["message"][0]
    assert pl.read_parquet(tmp_path / "ds" / "panel.parquet").height == 1
