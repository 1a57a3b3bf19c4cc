"""Splitting files into reports (issue 17, item 2: reports silently lost or misattributed). A
report starts at its title and the structure that follows, not only at a title followed by a
date line; concatenated, repeated and listed reports each come back with their own values."""
from __future__ import annotations

import bisect
import json

import pytest

from conftest import DATA, TRUTH
from foi_research.parse.segment import _INTRO, _OVERVIEW, is_title
from foi_research.pipeline import parse_file
from foi_research.read.readers import read
from foi_research.reference.normalize import compact


def _text(path) -> str:
    """A bundled document as text: its lines as read, table rows as tab-separated cells."""
    doc = read(path)
    return "\n".join("\t".join(c.raw for c in r.cells) if r.kind == "table" else r.raw for r in doc.rows)


def _truth_titles() -> dict[str, str]:
    out = {}
    for p in TRUTH.rglob("*.json"):
        t = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(t, dict) and "file" in t:
            year = f"{t['year']}年" if t.get("year") else ""
            out.setdefault(t["file"], f"{t.get('agency') or '某机关'}{year}政府信息公开工作年度报告")
    return out


def _has_start(path) -> bool:
    """The document has a title line, or begins with an overview heading or an opening sentence
    (本报告根据…), that can tell where it starts."""
    norms = [r.norm for r in read(path).rows if r.kind == "text" and r.norm.strip()]
    if any(is_title(n) for n in norms):
        return True
    return any(_OVERVIEW.match(compact(n)[:40]) or _INTRO.search(compact(n)[:120]) for n in norms[:20])


def _values(p, rid, base=0):
    """Everything read for one report, its lines counted from line `base` of the file (where its
    document starts in a concatenation)."""
    rep = next(r for r in p.reports if r["report_id"] == rid)
    keep = lambda r: {k: (v - base if k == "line" and v is not None else v) for k, v in r.items() if k != "report_id"}  # noqa: E731
    tables = {}
    for t in ("requests", "appeals", "proactive", "legacy", "quality"):
        rows = [keep(r) for r in p.rows(t) if r["report_id"] == rid]
        if t == "quality":  # (messages name the file and absolute lines)
            # whether a table cut off at the very end of a fragment is seen as cut off depends on
            # what follows it (the end of the file, or the next document's page chrome)
            rows = [(r["check"], r["severity"]) for r in rows if not r["check"].endswith("_truncated")]
        tables[t] = sorted(map(repr, rows))
    meta = {k: rep[k] for k in ("agency", "year", "published", "template", "status", "province", "city", "county", "division_code", "title")}
    if rep["title"]:  # (a report without a title starts at its page header or opening, in a concatenation)
        meta["source_line"] = rep["source_line"] - base
    return meta, tables


def test_every_bundled_report_concatenated_in_one_file_comes_back(tmp_path):
    """Every bundled document (seeds, real, dev; HTML and PDF as the text their readers give) in
    one file: every report comes back, each with the values read when its text is parsed alone.
    A fragment that begins mid-report with no title and no overview heading has nothing that
    says where it begins once concatenated; it gets a title line, as a listing prints one, in
    both runs."""
    titles = _truth_titles()
    files = sorted(p for p in DATA.rglob("*") if p.is_file())
    assert len(files) >= 60
    texts, titled = [], 0
    for f in files:
        t = _text(f)
        if not _has_start(f):
            t = titles[f.name] + "\n" + t
            titled += 1
        texts.append((f, t))
    assert titled <= 8, titled  # only the few fragments cut before their overview
    alone = []
    for f, t in texts:
        p = tmp_path / "alone" / f"{f.stem}.txt"
        p.parent.mkdir(exist_ok=True)
        p.write_text(t, encoding="utf-8")
        parsed = parse_file(p)
        alone.append([_values(parsed, r["report_id"]) for r in parsed.reports])
    allf = tmp_path / "all.txt"
    allf.write_text("\n".join(t for _, t in texts), encoding="utf-8")
    together = parse_file(allf)
    starts, n = [], 0
    for _, t in texts:
        starts.append(n + 1)
        n += t.count("\n") + 1
    got: list[list] = [[] for _ in texts]
    for r in together.reports:
        k = bisect.bisect_right(starts, r["source_line"]) - 1
        got[k].append(_values(together, r["report_id"], starts[k] - 1))
    assert sum(map(len, alone)) >= 80
    lost = [(f.name, len(a), len(g)) for (f, _), a, g in zip(texts, alone, got) if len(a) != len(g)]
    assert not lost and len(together.reports) == sum(map(len, alone)), lost
    for (f, _), a, g in zip(texts, alone, got):
        assert [m for m, _ in g] == [m for m, _ in a], f.name
        assert g == a, f.name


def _seed_text(name: str) -> str:
    return (DATA / "seeds" / name).read_text(encoding="utf-8")


def test_four_well_formed_reports_concatenated_are_four(tmp_path):
    """Issue 17.2: four reports in one file came out as one (a date line had to follow a title
    within three lines)."""
    names = ["001_37d8ade0c0ec5d8b.txt", "002_fd629941e7a907e0.txt", "003_da27b6d9f425ca71.txt", "004_c04978ea7ee6ff4b.txt"]
    f = tmp_path / "four.txt"
    f.write_text("\n".join(_seed_text(n) for n in names), encoding="utf-8")
    together = parse_file(f)
    assert [(r["agency"], r["year"]) for r in together.reports] == [
        ("淄博经济开发区管理委员会办公室", 2019), ("临淄区工业和信息化局", 2021), ("张店区人民政府", 2020), ("平阴县人民政府办公室", 2021),
    ]
    for n, r in zip(names, together.reports):
        alone = parse_file(DATA / "seeds" / n)
        assert len(_values(together, r["report_id"])[1]["requests"]) == len(_values(alone, alone.reports[0]["report_id"])[1]["requests"])


def test_a_report_repeated_is_a_report_each_time(tmp_path):
    """Issue 17.2: a report repeated 10,000 times in a file was one report."""
    small = "临淄区人民政府办公室2015年度政府信息公开工作年度报告\n根据《中华人民共和国政府信息公开条例》的规定，现公布本年度报告。\n一、概述\n本年度主动公开信息120条。\n"
    f = tmp_path / "rep.txt"
    f.write_text(small * 10_000, encoding="utf-8")
    p = parse_file(f)
    assert len(p.reports) == 10_000
    assert {(r["agency"], r["year"]) for r in p.reports} == {("临淄区人民政府办公室", 2015)}
    # a full report with its tables, three times: three reports with the same values
    one = _seed_text("004_c04978ea7ee6ff4b.txt")
    f3 = tmp_path / "rep3.txt"
    f3.write_text("\n".join([one] * 3), encoding="utf-8")
    p3 = parse_file(f3)
    assert len(p3.reports) == 3
    vals = [_values(p3, r["report_id"], r["source_line"]) for r in p3.reports]
    assert vals[0] == vals[1] == vals[2] and len(vals[0][1]["requests"]) > 100


def test_a_table_3_is_never_given_to_the_report_before_it(tmp_path):
    """Issue 17.2: one office's 2019 table 3 was attributed to another agency's 2010 report with
    status ok. Here a prose-only 2010 report is followed by a 2019 report that lost its title:
    the 2019 body (opening sentence, overview, tables) starts a report of its own."""
    first = (DATA / "real" / "zoucheng-tangcun-2010.txt").read_text(encoding="utf-8")
    second = _seed_text("001_37d8ade0c0ec5d8b.txt").split("\n")
    k = next(i for i, line in enumerate(second) if "一、总体情况" in line or line.strip().startswith("本报告"))
    f = tmp_path / "two.txt"
    f.write_text(first + "\n" + "\n".join(second[k:]), encoding="utf-8")
    p = parse_file(f)
    assert len(p.reports) == 2
    old, new = p.reports
    assert (old["agency"], old["year"]) == ("唐村镇", 2010)
    assert not [r for r in p.requests if r["report_id"] == old["report_id"]]
    assert len([r for r in p.requests if r["report_id"] == new["report_id"]]) > 100 and new["year"] == 2019


def test_reports_without_titles_are_told_apart_by_their_structure(tmp_path):
    """Two real reports that lost their titles, one after the other: the second's overview
    heading (一、总体情况, after the first one's tables and later sections) starts a report."""
    a = (DATA / "dev" / "weishan-liangcheng-2020.txt").read_text(encoding="utf-8")
    b = (DATA / "real" / "shenzhen-longhua-gafj-2024.txt").read_text(encoding="utf-8")
    f = tmp_path / "ab.txt"
    f.write_text(a + "\n" + b, encoding="utf-8")
    p = parse_file(f)
    assert [r["agency"] for r in p.reports] == ["微山县两城镇人民政府", "深圳市公安局龙华分局"]


def test_a_listing_keeps_its_guide_and_page_titles():
    """The seeds' listing: a 信息公开指南 before the reports is not a report; a page title + date
    followed by the report's own title is one report; a report with no body is still a report."""
    p = parse_file(DATA / "seeds" / "000_ed6d48b603b61876.txt")
    assert [r["year"] for r in p.reports] == list(range(2023, 2007, -1))
    assert {r["agency"] for r in p.reports} == {"临淄区人民政府办公室"}


@pytest.mark.parametrize("lines", [
    ["相关链接", "临淄区2019年政府信息公开工作年度报告", "临淄区2018年政府信息公开工作年度报告", "临淄区2017年政府信息公开工作年度报告"],
    ["(七)政府信息公开年报", "1、主动公开"],
])
def test_titles_followed_by_nothing_of_a_report_start_nothing(tmp_path, lines):
    """A list of links to reports, or a numbered heading in a guide, is not a report."""
    body = "临淄区人民政府办公室2020年政府信息公开工作年度报告\n时间:2021-01-29\n" + "一、总体情况\n2020年，我办认真贯彻落实条例。\n" * 3
    f = tmp_path / "links.txt"
    f.write_text(body + "\n".join(lines) + "\n", encoding="utf-8")
    assert len(parse_file(f).reports) == 1
