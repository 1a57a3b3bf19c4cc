"""The dataset writer: atomic, validated, never loses other files' results."""
from __future__ import annotations

import polars as pl
import pytest

from conftest import DATA
from foi_research.validate.dataset import MANIFEST, DatasetError, DatasetWriter, read_dataset
from foi_research.pipeline import parse_file


def _files():
    return sorted((DATA / "seeds").glob("*.txt"))


def test_crash_mid_write_leaves_previous_dataset_intact(tmp_path):
    out = tmp_path / "ds"
    with DatasetWriter(out) as w:
        w.add(parse_file(_files()[1]))
    before = read_dataset(out)["reports"]
    with pytest.raises(RuntimeError):
        with DatasetWriter(out, batch_files=1) as w:
            w.add(parse_file(_files()[2]))  # flushed to the temporary folder
            w.add(parse_file(_files()[3]))
            raise RuntimeError("simulated crash")
    after = read_dataset(out)["reports"]
    assert after.equals(before)
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]  # no temporary folders left


def test_crash_before_first_dataset_leaves_nothing(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(KeyError):
        with DatasetWriter(out, batch_files=1) as w:
            w.add(parse_file(_files()[1]))
            raise KeyError("boom")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_refuses_to_replace_a_folder_that_is_not_a_dataset(tmp_path):
    out = tmp_path / "mywork"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(DatasetError, match="not a foi-research dataset"):
        DatasetWriter(out)
    assert (out / "thesis.docx").read_bytes() == b"precious"


def test_rows_breaking_the_contract_are_quarantined_not_fatal(tmp_path):
    good = parse_file(_files()[1])
    bad = parse_file(_files()[4])
    bad.requests[0]["row_code"] = "not_a_code"  # as a parser bug would produce
    with DatasetWriter(tmp_path / "ds") as w:
        w.add(bad)
        w.add(good)
    ds = read_dataset(tmp_path / "ds")
    st = dict(zip(ds["reports"]["report_id"], ds["reports"]["status"]))
    bad_id = bad.reports[0]["report_id"]
    assert st[bad_id] == "failed"
    assert st[good.reports[0]["report_id"]] == "ok"
    q = ds["quality"].filter(pl.col("report_id") == bad_id)
    assert q["check"].to_list() == ["internal_error"] and "not_a_code" in q["message"][0]
    assert ds["requests"].filter(pl.col("report_id") == bad_id).height == 0
    assert ds["requests"].filter(pl.col("report_id") == good.reports[0]["report_id"]).height > 0


def test_a_report_row_with_a_required_field_missing_is_quarantined(tmp_path):
    good = parse_file(_files()[1])
    bad = parse_file(_files()[4])
    bad.reports[0]["template"] = None  # a required column left empty, as a parser bug would
    bad.reports[0]["source_line"] = -3
    with DatasetWriter(tmp_path / "ds") as w:
        w.add(bad)
        w.add(good)
    ds = read_dataset(tmp_path / "ds")
    row = ds["reports"].filter(pl.col("report_id") == bad.reports[0]["report_id"]).row(0, named=True)
    assert (row["status"], row["template"], row["source_line"]) == ("failed", "unknown", 0)
    assert ds["quality"].filter(pl.col("report_id") == row["report_id"])["check"].to_list() == ["internal_error"]
    assert ds["reports"].filter(pl.col("report_id") == good.reports[0]["report_id"])["status"].to_list() == ["ok"]


def test_same_file_name_in_two_folders_gets_distinct_ids(tmp_path):
    src = _files()[1].read_bytes()
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "report.txt").write_bytes(src)
    with DatasetWriter(tmp_path / "ds") as w:
        w.add(parse_file(tmp_path / "a" / "report.txt"))
        w.add(parse_file(tmp_path / "b" / "report.txt"))
    ds = read_dataset(tmp_path / "ds")
    ids = ds["reports"]["report_id"].to_list()
    assert len(set(ids)) == 2
    # every table follows the renamed id; identical content is visible through file_sha1
    assert set(ds["requests"]["report_id"].unique().to_list()) == set(ids)
    assert ds["reports"]["file_sha1"].n_unique() == 1


def test_manifest_and_schema_of_every_table(tmp_path):
    from foi_research.validate.schemas import TABLES, schema

    with DatasetWriter(tmp_path / "ds") as w:
        for f in _files():
            w.add(parse_file(f))
    assert (tmp_path / "ds" / MANIFEST).exists()
    ds = read_dataset(tmp_path / "ds")
    for name, df in ds.items():
        assert df.columns == [c.name for c in TABLES[name]["columns"]]
        schema(name).validate(df, lazy=True)
    assert ds["reports"].height == 20
