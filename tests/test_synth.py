"""The synthetic report generator: deterministic, internally consistent unless asked otherwise,
printing the code list's labels in every layout and noise of ../shared/DOMAIN.md, and honest about
what a rendering loses (truncation, ambiguous blank cells)."""
from __future__ import annotations

import json
import re
import unicodedata

import pytest

from foi_research.reference import codes
from foi_research import synth
from foi_research.reference.codes import APPEAL_OUTCOMES, APPLICANTS, PROCEEDINGS
from foi_research.reference.gazetteer import gazetteer
from foi_research.reference.normalize import looks_traditional, to_simplified
from foi_research.synth import LAYOUTS, NOISES, TEMPLATES, generate

ORG = [a for a in APPLICANTS if a != "total"]


def _t3_identities(t3: dict, template: str) -> list[str]:
    broken = []
    for r, row in t3.items():
        if (row["total"] or 0) != sum(row[a] or 0 for a in ORG):
            broken.append(f"row_total:{r}")
    for a in APPLICANTS:
        g = lambda r: t3[r][a] or 0  # noqa: E731
        if g("new_received") + g("carried_over") != g("total_handled") + g("carried_forward"):
            broken.append(f"balance:{a}")
        if sum(g(r) for r in codes.outcome_rows(template)) != g("total_handled"):
            broken.append(f"outcome_sum:{a}")
    return broken


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_template_and_layout_renders(template, layout):
    text, truth = generate(11, template=template, layout=layout, noise="random")
    rep = truth.reports[0]
    assert rep.template == template and synth.ERA[template][0] <= rep.year <= synth.ERA[template][1]
    assert truth.fmt == ("html" if layout == "html" else "txt")
    plain = to_simplified(text) if truth.traditional else text
    assert rep.agency in plain.replace(" ", "")
    json.loads(truth.to_json())  # the truth is plain data
    if template in ("2019", "2021"):
        assert set(rep.t3) == set(codes.rows_for_template(template))
        assert set(rep.t4) == set(PROCEEDINGS) and all(set(v) == set(APPEAL_OUTCOMES) for v in rep.t4.values())
        assert {c["item"] for c in rep.t2} >= {"regulations", "normative_docs", "licensing", "penalty", "enforcement", "fees"}
    elif template == "legacy-stats":
        assert {"received", "completed", "answered", "reconsideration", "litigation"} <= set(rep.legacy)
    else:
        assert not rep.t3 and not rep.legacy and rep.narrative


def test_deterministic():
    a = generate(123, noise="random", n_reports=3, truncate=True)
    b = generate(123, noise="random", n_reports=3, truncate=True)
    assert a[0] == b[0] and a[1].to_dict() == b[1].to_dict()
    assert generate(124, noise="random")[0] != a[0]


@pytest.mark.parametrize("seed", range(40))
def test_consistent_tables_satisfy_the_template_identities(seed):
    _, truth = generate(seed, template=("2019", "2021", "legacy-stats")[seed % 3], noise="random", n_reports=2)
    for rep in truth.reports:
        if rep.full_t3:
            assert _t3_identities(rep.full_t3, rep.template) == []
            for p, row in rep.full_t4.items():
                assert (row["total"] or 0) == sum(row[o] or 0 for o in APPEAL_OUTCOMES if o != "total")
        if rep.full_legacy:
            v = {k: x or 0 for k, x in rep.full_legacy.items()}
            for total, parts in synth._LEGACY_CHILDREN.items():
                assert v[total] == sum(v[p] for p in parts), total


@pytest.mark.parametrize("kind", ["row_total", "outcome_sum", "balance", "t4_total", "narrative"])
def test_inconsistent_breaks_the_chosen_identity(kind):
    _, truth = generate(5, template="2021", layout="html", inconsistent=kind)
    rep = truth.reports[0]
    assert rep.inconsistent == [kind] and rep.expect_checks
    broken = _t3_identities(rep.t3, "2021")
    t4_broken = [p for p, row in rep.t4.items() if row["total"] != sum(row[o] or 0 for o in APPEAL_OUTCOMES if o != "total")]
    if kind == "row_total":
        assert any(b.startswith("row_total") for b in broken)
    elif kind == "outcome_sum":
        assert any(b.startswith("outcome_sum") for b in broken) and not any(b.startswith("row_total") for b in broken)
    elif kind == "balance":
        assert broken and all(b.startswith("balance") for b in broken)
    elif kind == "t4_total":
        assert t4_broken and not broken
    else:
        assert not broken and not t4_broken
        assert rep.narrative["received"] != rep.t3["new_received"]["total"]


def test_legacy_inconsistency():
    _, truth = generate(3, template="legacy-stats", layout="tab", inconsistent="legacy_sum")
    v = truth.legacy
    assert v["received"] != sum(v[k] or 0 for k in synth._LEGACY_CHILDREN["received"])
    with pytest.raises(ValueError):
        generate(3, template="legacy-stats", inconsistent="t4_total")


def test_labels_come_from_the_code_list():
    text, _ = generate(2, template="2021", layout="lines")
    for c in codes.V("request_rows"):
        if "2021" in c.extra["templates"]:
            assert c.zh in text, c.zh
    for c in codes.V("applicants"):
        assert c.zh in text
    assert "（六）其他处理" in text and "行政规范性文件" in text and "本年制发件数" in text
    text19, _ = generate(2, template="2019", layout="lines")
    assert "规范性文件" in text19 and "本年增/减" in text19 and "第二十条第（九）项" in text19
    assert "逾期不补正" not in text19  # the 2019 template prints (六) as one row


def test_html_tables_have_spans_and_nbsp_blanks():
    text, truth = generate(8, template="2019", layout="html", noise={"blank"})
    assert 'rowspan="' in text and 'colspan="' in text and "&nbsp;" in text
    assert truth.reports[0].ambiguous == {"t3": [], "t4": False, "t2": [], "legacy": []}
    assert any(v is None for row in truth.t3.values() for v in row.values())


def test_blank_cells_in_one_cell_per_line_layouts_are_ambiguous():
    """An empty line cannot be told from the blank lines that separate cells: the row is marked
    ambiguous unless blanks are printed with a mark (/ or —)."""
    empty_seen = False
    for seed in range(40):
        text, truth = generate(seed, template="2021", layout="lines", noise={"blank"})
        rep = truth.reports[0]
        blank_rows = {r for r, row in rep.t3.items() if any(v is None for v in row.values())}
        marked = re.search(r"^\t?(?:/|—)$", text, re.M)
        if marked:
            assert not rep.ambiguous["t3"]
        else:
            assert blank_rows <= set(rep.ambiguous["t3"])
            empty_seen |= bool(blank_rows)
    assert empty_seen


@pytest.mark.parametrize("noise", NOISES)
def test_each_noise_shows(noise):
    text, truth = generate(21, template="2019", layout="tab", noise={noise} | ({"units"} if noise == "fullwidth" else set()))
    plain = to_simplified(text)
    if noise in ("traditional", "traditional-file"):
        assert looks_traditional(text) and truth.traditional
        assert "政府信息公開" in text
        if noise == "traditional-file":
            assert "檔案" in text and "規範性檔案" in text
    elif noise == "spaced":
        assert re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff] [\u4e00-\u9fff]", text)
    elif noise == "fullwidth":
        assert re.search(r"[０-９]", text) and unicodedata.normalize("NFKC", "１２") == "12"
    elif noise == "units":
        assert re.search(r"\d(?:万元| 万|万|元|个)", plain)
    elif noise == "blank":
        assert re.search(r"\t\t|\t\n|\t/|\t—", text)
    elif noise == "chrome":
        assert "扫码使用手机浏览本页内容" in plain
    elif noise == "residue":
        assert "[image:" in text or "[bookmark:" in text
    elif noise == "split-header":
        assert "split-header" in truth.noise
    elif noise == "variants":
        assert "variants" in truth.noise
    elif noise == "marker-cut":
        assert "国办公开办函" in plain


def test_signs_and_units_in_table_2():
    seen = set()
    for seed in range(40):
        _, truth = generate(seed, template="2019", layout="tab", noise={"units"})
        for c in truth.t2:
            if c["measure"] == "change" and c["value"] and c["value"] < 0:
                seen.add("negative")
            if c["measure"] == "amount" and c["unit"] in ("wan_yuan", "yuan"):
                seen.add(c["unit"])
    assert {"negative", "wan_yuan", "yuan"} <= seen


def test_several_reports_per_file():
    text, truth = generate(4, template="2021", layout="lines", n_reports=4, guide=True)
    years = [r.year for r in truth.reports]
    assert years == sorted(years, reverse=True) and len(set(years)) == 4
    assert "信息公开指南" in text
    assert len(re.findall(r"^(?:时间|发布日期|日期|来源)", text, re.M)) >= 5  # the guide's and one per report
    for r in truth.reports:
        assert r.template == synth._template_for(r.year, "narrative") or r.template == "2021"
        assert text.splitlines()[r.line - 1].replace(" ", "").endswith("报告")


def test_truncation_keeps_only_complete_rows():
    for seed in range(60):
        text, truth = generate(seed, template="2021", layout="lines", truncate=True)
        rep = truth.reports[0]
        assert rep.truncated
        assert not all(rep.complete.values())
        assert set(rep.t3) <= set(rep.full_t3)
        for r in rep.t3:
            assert rep.t3[r] == rep.full_t3[r]
        assert "六、其他需要报告的事项" not in text


def test_agencies_are_placed_by_the_gazetteer():
    placed = 0
    for seed in range(50):
        _, truth = generate(seed, template="2021")
        p = gazetteer().place(truth.agency)
        placed += p.province is not None
    assert placed >= 45


def test_write_corpus_and_ground_truth(tmp_path):
    paths = synth.write_corpus(tmp_path / "c", 7, seed=1, reports_per_file=3, truth=True)
    assert len(paths) == 3
    gts = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((tmp_path / "c" / "truth").glob("*.json"))]
    assert len(gts) == 7
    for gt in gts:
        assert {"id", "file", "agency", "year", "template", "t3", "t4", "t2", "legacy", "complete"} <= set(gt)
        assert (tmp_path / "c" / gt["file"]).exists()


def test_write_encodings(tmp_path):
    text, truth = generate(9, layout="html", noise={"traditional"})
    p = synth.write(tmp_path / "doc", text, truth, encoding="gb18030")
    assert p.suffix == ".html" and b'charset="gb18030"' in p.read_bytes()
    assert p.read_bytes().decode("gb18030") == text.replace('charset="utf-8"', 'charset="gb18030"')


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate(1, template="2030")
    with pytest.raises(ValueError):
        generate(1, layout="pdf")
    with pytest.raises(ValueError):
        generate(1, noise={"smudges"})
