"""Figures stated in prose (foi_research/parse/narrative.py): sentences of real reports, the scope
of negations, round trips through generated prose reports (foi_research/synth_prose.py), the
check against the report's own tables, and linear work on unbounded lines."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foi_research import synth_prose
from foi_research.parse import narrative
from foi_research.pipeline import parse_file
from foi_research.read.readers import Row
from foi_research.reference import codes
from foi_research.reference.normalize import clean_text


def read(*lines: str, traditional: bool = False) -> dict[str, int]:
    rows = [Row(i + 1, s, clean_text(s, traditional)) for i, s in enumerate(lines)]
    return {f.indicator: f.value for f in narrative.extract(rows)}


# Sentences as printed in real reports (data/corpus, shared/corpus/real and the pages corpus),
# with what a careful reader finds in each.
REAL = [
    # requests, every common phrasing
    ("2017年共受理信息公开申请10件,其中当面申请1宗,占10%;网上申请9宗,占90%;信函申请0宗,占0%。",
     dict(received=10, received_in_person=1, received_online=9, received_letter=0)),
    ("2014年,我局收到12起政府信息依申请公开,均严格按程序和时限办理。", dict(received=12)),
    ("截至2012年,共受理公民、法人或其他组织申请3项,办结、转交处理3项。", dict(received=3)),  # 办结、转交 share 3: neither
    ("我局共受理政府信息公开申请0", dict(received=0)),
    ("全年共受理政府信息依申请公开81件,其中当面申请37件,网络申请44件。", dict(received=81, received_in_person=37, received_online=44)),
    ("2017年,受理区政府、区政府办公室依申请公开信息21件,其中当面申请1件、信函申请17、网上申请3件,申请办结数21件,全部按时办结。",
     dict(received=21, received_in_person=1, received_letter=17, received_online=3, completed=21)),
    ("在已经答复的9件申请中,“同意公开”的7件,占总数的70%。", dict(answered=9, granted=7)),
    ("“不予公开”的1件,占总数的10%;“非本机关政府信息”的1件;“申请内容不明确”的1件。", dict(denied=1, not_this_agency=1, told_to_amend=1)),
    ("年内受理并办结依申请公开23件。", dict(received=23, completed=23)),
    ("2020年收到政府信息公开申请190件,结转上年度政府信息公开申请10件,共办理完成198件,结转下年度继续办理2件。", dict(received=190, completed=198)),
    ("今年以来我办接到依申请公开1件,已答复完成,上年结转政府信息公开申请数量0件。", dict(received=1, completed=1)),
    ("全年收到依申请公开信息3条,答复率100%。", dict(received=3, completed=3)),
    ("2022年,全区共收到政府信息公开申请130件,申请量同比增长103%。办复率100%,其中予以公开或部分公开59件、占45.3%;不予公开32件、占24.6%;无法提供26件、占20%。",
     dict(received=130, denied=32)),  # 予以公开或部分公开 59: a list, neither
    ("2021年共办理依申请公开事项3件。其中所申请信息内容不属于本机关政府信息1件,所申请信息内容已部分公开1件。",
     dict(received=3, not_this_agency=1, partially_granted=1)),
    ("截至目前,全区收到依申请公开131件,其中政府层面22件(有效答复1件,撤回21件),部门层面109件。", dict(received=131)),  # 有效答复1件 is the government level's
    ("答复政府信息公开申请805件(含上年度结转申请18件,另有72件申请按照《条例》顺延到下年度答复)。", dict(answered=805)),
    ("本年度共收到并处理政府信息公开申请52件(含上年结转3件)。", {}),  # includes the carry-over: not the new requests
    ("全年共受理政府信息公开申请23件,比上年增加5件,已全部按期答复。", dict(received=23, completed=23)),
    ("全年共受理政府信息公开申请23件。其中,同意公开的14件,同意部分公开的3件,不予公开的2件(其中涉及商业秘密1件、个人隐私1件),信息不存在的4件。",
     dict(received=23, granted=14, partially_granted=3, denied=2, not_exist=4)),
    ("全年共受理政府信息公开申请25件,申请人通过网上申请的有20件,占总数的80%。", dict(received=25, received_online=20)),
    ("本年度收到政府信息公开申请共计32件。", dict(received=32)),
    ("2022年,收到申请公开21条,办结21条。", dict(received=21, completed=21)),  # 条 counts requests once a receipt says so
    ("政府信息公开申请受理数为5件。", dict(received=5)),
    ("共受理政府信息公开申请32件,其中,自然人申请30件,法人或其他组织申请2件。", dict(received=32)),  # by applicant: no indicator
    ("本年度收到的申请中,有3件属于已主动公开的信息,告知申请人通过其他途径获取2件,不属于本机关职责范围的3件。",
     dict(already_public=3, told_other_channel=2, not_this_agency=3)),
    ("我局因政府信息公开被申请行政复议1次,维持原具体行政行为。", dict(reconsideration=1)),
    # numbers that are not request figures
    ("2018年,共制作政府信息3021条,其中主动公开信息1027条,依申请公开信息459条,不予公开信息1535条。", {}),
    ("其中“公共服务”栏目设置了面向公众、企业、涉外服务信息、公开事项、依申请公开5个二级类目。", {}),
    ("以组织名义提交的政府信息申请有2件,主要是投资类公司。", {}),
    ("网上共受理市民来信280件,在线咨询168件。", {}),
    ("2008年以来累计受理政府信息公开申请120件。", {}),
    # review and litigation
    ("发生行政复议4件,其中3件维持,1件尚未审结;发生行政诉讼4件,其中3件维持,1件尚未审结。", {}),  # no 公开 anywhere: not about disclosure
    ("(二)依法办理依申请公开。发生行政复议4件,其中3件维持,1件尚未审结;发生行政诉讼4件,其中3件维持,1件尚未审结。",
     dict(reconsideration=4, reconsideration_upheld=3, litigation=4, litigation_upheld=3)),
    ("政府信息公开行政复议351件,其中结果维持72件,结果纠正64件,其他结果178件,尚未审结37件。",
     dict(reconsideration=351, reconsideration_upheld=72, reconsideration_corrected=64, reconsideration_other=178)),
    ("信息公开类行政复议7件,诉讼9件,均获维持。",
     dict(reconsideration=7, reconsideration_upheld=7, litigation=9, litigation_upheld=9)),
    ("政府信息公开行政复议2宗、行政诉讼1宗,其中2宗维持。", dict(reconsideration=2, litigation=1)),  # shared breakdown
    ("受理有关政府信息公开事务的行政复议申请0件。", dict(reconsideration=0)),  # not received 0
    ("全年发生因政府信息公开而被申请行政复议、提起行政诉讼的案件0件。", dict(reconsideration=0, litigation=0)),
    ("2017年区政府办公室因政府信息公开申请提起行政复议件4件, 维持具体行政行为1件,被依法纠错1件,其他情形2件。",
     dict(reconsideration=4, reconsideration_upheld=1, reconsideration_corrected=1, reconsideration_other=2)),
    ("2014年政府信息公开方面行政复议案0件,行政诉讼案1件。", dict(reconsideration=0, litigation=1)),
    # Chinese numerals
    ("全年共受理政府信息公开申请十二件,其中同意公开十件,信息不存在两件。", dict(received=12, granted=10, not_exist=2)),
    ("因政府信息公开引起行政诉讼两起,行政复议一件。", dict(litigation=2, reconsideration=1)),
]

# Negations: what is negated is the head of the scope, and only received / reconsideration /
# litigation are ever set to 0.
NEGATIONS = [
    ("2010年度我镇没有接到群众主动要求公开政府信息的申请。", dict(received=0)),
    ("截至2011年,未接到公民、法人或其他组织来办理依申请公开申请。", dict(received=0)),
    ("三、依申请公开政府信息:无依申请公开的政府信息。", dict(received=0)),
    ("2012年度,本单位未收到申请公开政府信息件。", dict(received=0)),
    ("2012年度全区没有发生有关政府信息公开事务的行政复议、诉讼和申诉情况。", dict(reconsideration=0, litigation=0)),
    ("2013年没有针对我镇政府信息公开申请而提起行政复议和行政诉讼的情况发生。", dict(reconsideration=0, litigation=0)),
    ("全年未发生因政府信息公开产生申请行政复议或者提起行政诉讼的情况。", dict(reconsideration=0, litigation=0)),
    ("没有发生因政府信息公开引起的行政复议、行政诉讼。", dict(reconsideration=0, litigation=0)),
    ("全年无政府信息公开申请行政复议、提起行政诉讼的案件。", dict(reconsideration=0, litigation=0)),
    ("全年未发生针对民意乡有关政府信息公开事务的行政复议案件、行政诉讼案件和举报申诉件。", dict(reconsideration=0, litigation=0)),
    ("五、因政府信息公开申请行政复议、提起行政诉讼的情况:无。", dict(reconsideration=0, litigation=0)),
    ("2010年,未产生针对我局政府信息公开的行政复议与行政诉讼。", dict(reconsideration=0, litigation=0)),
    # the negation is about something else: no zero
    ("本年度共受理政府信息公开申请5件,未发生被行政复议纠错的情况。", dict(received=5)),
    ("本年度政府信息公开工作未发生被行政复议纠错的情况。", {}),
    ("本年度未向申请人收取任何政府信息公开费用。", {}),
    ("2010年度,全镇没有向依申请公开对象收取复印、传真、递送等任何费用,也无减免情况。", {}),
    ("我镇无依申请公开信息情况,未发生依申请公开信息收费和费用减免情况。", dict(received=0)),
    ("本年度没有因政府信息公开工作被举报投诉的情况。", {}),
    ("目前尚无发现应主动公开政府信息而未予公开的情况。", {}),
    ("2013年,我镇政府未收到信息公开的申请,也无不予公开信息的情况发生。", dict(received=0)),
    ("除上述申请外,未收到其他政府信息公开申请。", {}),
    ("四、收费及减免情况:无。", {}),
    ("五、政府信息公开行政复议和行政诉讼情况:本年度未发生。", dict(reconsideration=0, litigation=0)),
    ("2015年,本单位没有收到任何政府信息公开申请,也没有发生相关行政复议和诉讼。", dict(received=0, reconsideration=0, litigation=0)),
    ("全年零申请。", dict(received=0)),
    # a subset is negated, not all of them
    ("本年度未出现超期答复的政府信息公开申请。", {}),
    ("全年未发生被纠错的政府信息公开行政复议。", {}),
    # a count in the negation's clause is not a 'no such case' statement; a numeric statement wins
    ("未发生行政复议,发生政府信息公开行政诉讼1件。", dict(reconsideration=0, litigation=1)),
]


@pytest.mark.parametrize("sentence,want", REAL + NEGATIONS, ids=[s[:24] for s, _ in REAL + NEGATIONS])
def test_real_sentences(sentence, want):
    assert read(sentence) == want


def test_traditional_script_negation():
    # qqqwwww.cn copy of a 2012 report: complaints, litigation and appeals all negated at once
    got = read("2012年,我局未收到政府信息公開投訴及因政府信息公開提起行政訴訟和行政申訴情況。", traditional=True)
    assert got == {"litigation": 0}


def test_first_statement_wins_and_numeric_beats_zero():
    got = read(
        "一、概述",
        "2012年,本机关认真贯彻《条例》,未发生被行政复议纠错的情况。",
        "三、依申请公开情况",
        "2012年共受理政府信息公开申请6件,全部办结。",
        "五、行政复议和行政诉讼情况",
        "2012年因政府信息公开申请提起行政复议1件,维持原答复1件。",
    )
    assert got == dict(received=6, completed=6, reconsideration=1, reconsideration_upheld=1)


def test_wrapped_pdf_rows_are_one_sentence():
    got = read(
        "答复),均在法定期限内予以答复。政府信息公开行政复议 351",
        "件,其中结果维持 72 件,结果纠正 64 件,其他结果 178 件,尚",
        "未审结 37 件;政府信息公开行政诉讼 46 件,其中结果维持 25",
        "件,结果纠正 5 件,其他结果 9 件,尚未审结 7 件。",
    )
    assert got == dict(
        reconsideration=351, reconsideration_upheld=72, reconsideration_corrected=64, reconsideration_other=178,
        litigation=46, litigation_upheld=25, litigation_corrected=5, litigation_other=9,
    )


def test_breakdown_that_overshoots_its_count_is_dropped():
    got = read("政府信息公开行政复议2件,其中3件维持。")
    assert got == dict(reconsideration=2)


def test_figures_keep_their_source_line_and_text():
    rows = [Row(1, "三、依申请公开", "三、依申请公开"), Row(7, "全年共收到申请8件。", "全年共收到申请8件。")]
    (f,) = narrative.extract(rows)
    assert (f.indicator, f.value, f.line, f.raw) == ("received", 8, 7, "申请8件")


# ---------------------------------------------------------------------------------------------
# Round trips


def _prose_figures(path: Path) -> tuple[dict, list]:
    out = parse_file(path)
    return {r["indicator"]: r["value"] for r in out.legacy if r["printed_in"] == "prose"}, out.reports


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_generated_prose_reads_back_exactly(tmp_path, seed):
    text, want = synth_prose.generate(seed)
    p = tmp_path / f"prose-{seed}.txt"
    p.write_text(text, encoding="utf-8")
    got, reports = _prose_figures(p)
    assert len(reports) == 1 and reports[0]["template"] == "narrative", text
    assert got == want, f"synth_prose.generate({seed}):\n{text}"


def test_generator_covers_the_phrasings():
    """The generated reports use Chinese numerals, negated zeros, lists, breakdowns and
    'all completed' statements (so that the round trip above tests them)."""
    texts = [synth_prose.generate(s)[0] for s in range(300)]
    joined = "\n".join(texts)
    for needle in ("两", "十", "没有发生", "未收到", "各0", "尚未审结", "已全部办结", "办结率100%", "被行政复议纠错", "人次", "（其中"):
        assert needle in joined, needle


def test_contradicting_prose_is_kept_and_flagged(tmp_path):
    """A statistics table and prose that disagree: both kept as printed, a warning names both."""
    text = textwrap.dedent(
        """\
        某某县统计局2015年政府信息公开工作年度报告
        发布时间：2016-02-14
        三、依申请公开政府信息情况
        2015年，共受理政府信息公开申请9件，已全部办结。
        附表
        统计指标\t单位\t统计数
        收到申请数\t件\t7
        申请办结数\t件\t7
        行政复议数量\t件\t0
        行政诉讼数量\t件\t0
        """
    )
    p = tmp_path / "contradiction.txt"
    p.write_text(text, encoding="utf-8")
    out = parse_file(p)
    prose = {r["indicator"]: r["value"] for r in out.legacy if r["printed_in"] == "prose"}
    table = {r["indicator"]: r["value"] for r in out.legacy if r["printed_in"] == "statistics_table"}
    assert prose["received"] == 9 and table["received"] == 7
    msgs = [q["message"] for q in out.quality if q["check"] == "narrative_vs_table"]
    assert any("received 9" in m and "says 7" in m for m in msgs), out.quality


# ---------------------------------------------------------------------------------------------
# Linear work


def _max_width(rx: re.Pattern) -> int:
    from re import _parser

    return _parser.parse(rx.pattern, rx.flags).getwidth()[1]


def _module_patterns():
    return [v for v in vars(narrative).values() if isinstance(v, re.Pattern)]


def test_every_prose_pattern_is_bounded():
    """Every pattern the prose reader runs has a bounded match length, so that matching at each
    position of a line costs a bounded amount of work: linear in the line, whatever it holds
    (an unbounded repeat such as \\d+ on a 100 KB run of digits is quadratic)."""
    from re import _constants

    unbounded = _constants.MAXREPEAT
    vocab = codes.narrative_vocabulary()
    pats = [re.compile(p) for _, _, p in vocab["phrases"]]
    pats += [re.compile(p) for k in ("not_this_year", "all_done", "each") for p in vocab[k]]
    pats += _module_patterns()
    assert len(pats) > 60
    for rx in pats:
        w = _max_width(rx)
        assert w < unbounded, rx.pattern
        assert w <= 100_001, rx.pattern  # the sentence splitter is the only long one


_PATHOLOGICAL = r"""
import sys, time
from pathlib import Path
from foi_research.pipeline import parse_file
n = 200_000
lines = {
    "digits": " ".join(str(i % 10) for i in range(n // 2)),
    "digit-run": "7" * n,
    "cjk-requests": "申请" * (n // 2),
    "cjk-mixed": "收到申请1件未发生行政复议、" * (n // 14),
    "negations": "没有无未" * (n // 4),
    "units": "1件" * (n // 2),
    "chinese-numerals": "十二件两起" * (n // 5),
    "brackets": "(" * (n // 2) + ")" * (n // 2),
}
out = Path(sys.argv[1])
for name, line in lines.items():
    p = out / f"{name}.txt"
    p.write_text("某某局2012年政府信息公开工作年度报告\n依申请公开" + line + "\n", encoding="utf-8")
    parse_file(p)
    print(name, "ok", flush=True)
"""


def test_pathological_lines_parse_in_bounded_time(tmp_path):
    """Lines of 200 KB of digits, spaces, CJK, negations and brackets: each document parses (a
    subprocess killed after 20 s counts as a failure: quadratic matching took 22 s on 32 KB)."""
    try:
        r = subprocess.run([sys.executable, "-c", _PATHOLOGICAL, str(tmp_path)], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"pathological lines did not parse within 20 s; done: {e.stdout}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count(" ok") == 8, r.stdout
