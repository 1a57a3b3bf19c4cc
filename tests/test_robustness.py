"""Layout noise that real copies carry, applied to real bundled reports: the numbers read must
not change, or the parser must say what it could not read."""
from __future__ import annotations

import re

import polars as pl

import formats
from conftest import DATA, load_truth
from foi_research.validate.dataset import DatasetWriter, read_dataset
from foi_research.validate.evaluate import score
from foi_research.pipeline import parse_paths

SEEDS = {t["id"]: t for t in load_truth("seeds")}


def _ds(tmp_path, *paths):
    out = tmp_path / "ds"
    with DatasetWriter(out) as w:
        for p in parse_paths(list(paths), workers=1):
            w.add(p)
    return read_dataset(out)


def _linzi_2023() -> str:
    text = (DATA / "seeds" / "000_ed6d48b603b61876.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("临淄区人民政府办公室2023年"))
    end = next(i for i, l in enumerate(lines) if l.startswith("临淄区人民政府办公室2022年"))
    return "\n".join(lines[start:end])


def _check(ds, tid, fname, allow_flags=()):
    truth = dict(SEEDS[tid], file=fname)
    card = score([truth], ds)
    rs = card.reports[0]
    assert not rs.problems and not rs.missing, rs.problems + rs.missing[:5]
    q = ds["quality"].filter(pl.col("severity") != "info")
    assert q.filter(~pl.col("check").is_in(list(allow_flags))).height == 0, q["message"].to_list()


def test_labels_split_over_two_lines(tmp_path):
    """'一、本年新收政府信息' / '公开申请数量': every table-3 row label cut in two lines."""
    out = []
    for line in _linzi_2023().split("\n"):
        s = line.strip()
        if re.match(r"^(?:[一二三四]、|\([一二三四五六七]\)|\d\.)", s) and len(s) >= 6 and "情况" not in s:
            cut = len(s) // 2 + 1
            out += [s[:cut], "", s[cut:]]
        else:
            out.append(line)
    f = tmp_path / "split.txt"
    f.write_text("\n".join(out), encoding="utf-8")
    _check(_ds(tmp_path, f), "linzi-govoffice-2023", "split.txt")


def test_labels_split_over_two_cells_in_a_row(tmp_path):
    """Pipe rows where the label is printed over two cells ('本年新收 | 政府信息公开申请数量 | 3 | ...')."""
    src = formats.PINGYIN.read_text(encoding="utf-8")
    src = src.replace("一、本年新收政府信息公开申请数量 |", "一、本年新收 | 政府信息公开申请数量 |")
    src = src.replace("2.其他法律行政法规禁止公开 |", "2.其他法律行政 | 法规禁止公开 |")
    f = tmp_path / "cells.txt"
    f.write_text(src, encoding="utf-8")
    _check(_ds(tmp_path, f), "pingyin-govoffice-2021", "cells.txt")


def test_spaced_characters_full_width_digits_and_traditional(tmp_path):
    import opencc

    text = _linzi_2023()
    conv = opencc.OpenCC("s2t").convert(text)
    conv = conv.replace("自然人", "自 然 人").replace("總計", "總 計")
    conv = conv.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    f = tmp_path / "trad.txt"
    f.write_text(conv, encoding="utf-8")
    ds = _ds(tmp_path, f)
    _check(ds, "linzi-govoffice-2023", "trad.txt")
    assert ds["reports"]["script"][0] == "traditional"
    assert ds["reports"]["agency"][0] == "临淄区人民政府办公室"  # normalised to Simplified
    raw = ds["requests"].filter(pl.col("row_code") == "new_received")["raw"].to_list()
    assert "２６" in raw  # raw text kept as printed


def test_page_chrome_and_layout_table_in_html(tmp_path):
    """A whole report inside a one-cell layout table, with breadcrumbs and a share bar."""
    html = formats.to_html(tmp_path / "a.html").read_text(encoding="utf-8")
    html = html.replace('<div id="content">', '<table class="layout"><tr><td><div id="content">').replace(
        "</div></div><noscript>", "</div></td></tr></table></div><div>分享到: 微信 微博</div><noscript>"
    )
    f = tmp_path / "layout.html"
    f.write_text(html, encoding="utf-8")
    _check(_ds(tmp_path, f), "pingyin-govoffice-2021", "layout.html")


def test_truncation_mid_table_keeps_complete_rows_only(tmp_path):
    text = _linzi_2023()
    lines = text.split("\n")
    # cut inside the row 4.保护第三方合法权益, after two of its seven cells
    k = next(i for i, l in enumerate(lines) if l.startswith("4.保护第三方合法权益"))
    f = tmp_path / "cut.txt"
    f.write_text("\n".join(lines[: k + 4]), encoding="utf-8")
    ds = _ds(tmp_path, f)
    r = ds["reports"].row(0, named=True)
    assert r["status"] == "partial"
    rows = set(ds["requests"]["row_code"].to_list())
    assert "withheld_security_stability" in rows and "withheld_third_party" not in rows
    truth = dict(SEEDS["linzi-govoffice-2023"], file="cut.txt")
    truth["t3"] = {k2: v for k2, v in truth["t3"].items() if k2 in rows}
    card = score([truth], ds)
    assert card.counts["wrong"] == 0 and card.counts["t3"] == 7 * 7


def _without_title(tmp_path, seed: str, drop: int, name: str):
    lines = (DATA / "seeds" / seed).read_text(encoding="utf-8").split("\n")
    tmp_path.mkdir(parents=True, exist_ok=True)
    f = tmp_path / name
    f.write_text("\n".join(lines[drop:]), encoding="utf-8")
    return _ds(tmp_path, f).get("reports").row(0, named=True)


def test_year_and_agency_without_title(tmp_path):
    # Zhangdian 2020 without its two title lines: year from 统计期限, agency from the signature
    r = _without_title(tmp_path, "003_da27b6d9f425ca71.txt", 3, "zd.txt")
    assert (r["year"], r["year_source"]) == (2020, "period")
    assert (r["agency"], r["agency_source"]) == ("张店区人民政府", "signature")
    # Zibo development zone 2019 without its title: year from the prose of the overview
    r = _without_title(tmp_path / "b", "001_37d8ade0c0ec5d8b.txt", 3, "edz.txt")
    assert r["year"] == 2019 and r["year_source"] == "body"


def _legacy_2017_pairs():
    """(label, value) rows of the Linzi office 2017 statistics table, read from the seed."""
    lines = (DATA / "seeds" / "000_ed6d48b603b61876.txt").read_text(encoding="utf-8").split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("2017年度政府信息公开工作情况统计表"))
    end = next(i for i, l in enumerate(lines) if i > start and l.startswith("临淄区人民政府办公室2016年"))
    cells = [l.strip() for l in lines[start + 1 : end] if l.strip() and l.strip() != "\xa0"]
    pairs, k = [], 0
    while k < len(cells):
        lab = cells[k]
        if k + 1 < len(cells) and re.fullmatch(r"\d+", cells[k + 1]):
            pairs.append((lab, cells[k + 1]))
            k += 2
        else:
            pairs.append((lab, ""))
            k += 1
    return pairs


def _legacy_doc(rows_text: str) -> str:
    return "临淄区人民政府办公室2017年度政府信息公开工作年度报告\n时间:2018-03-26\n一、概述\n2017年,区政府办公室做好政府信息公开工作。\n2017年度政府信息公开工作情况统计表\n" + rows_text


def _check_legacy(ds):
    truth = SEEDS["linzi-govoffice-2017"]
    lg = ds["legacy"].filter(pl.col("printed_in") == "statistics_table")
    got = dict(zip(lg["indicator"], lg["value"]))
    for k, v in truth["legacy"].items():
        assert got.get(k) == v, (k, got.get(k), v)
    assert ds["reports"]["template"][0] == "legacy-stats"


def test_legacy_statistics_table_in_pipe_rows_with_unit_column(tmp_path):
    rows = "统计指标 | 单位 | 统计数 |\n" + "\n".join(f"{a} | {'件' if b else ''} | {b} |" for a, b in _legacy_2017_pairs())
    f = tmp_path / "legacy_pipe.txt"
    f.write_text(_legacy_doc(rows), encoding="utf-8")
    _check_legacy(_ds(tmp_path, f))


def test_legacy_statistics_table_in_html(tmp_path):
    from html import escape

    body = "".join(f"<tr><td>{escape(a)}</td><td>{'件' if b else '&nbsp;'}</td><td>{b or '&nbsp;'}</td></tr>" for a, b in _legacy_2017_pairs())
    html = _legacy_doc("").replace("\n", "<br>") + f"<table><tr><th>统计指标</th><th>单位</th><th>统计数</th></tr>{body}</table>"
    f = tmp_path / "legacy.html"
    f.write_text(f"<html><body><p>{html}</p></body></html>", encoding="utf-8")
    _check_legacy(_ds(tmp_path, f))
