"""Generated prose reports with known figures, for the round-trip tests of the prose reader
(foi_research/parse/narrative.py).

`generate(seed)` writes a pre-2019 narrative report (title, date line, the usual six sections)
whose request, review and litigation figures are stated in one of the common phrasings of real
reports (Arabic or Chinese numerals, phrase before or after the number, breakdowns in
parentheses, lists, 'all completed' statements), whose zeros are often said as negations ('未收到…
申请', '没有发生…行政复议、诉讼和申诉情况'), and which carries distractors a reader must not take
for figures: negations of something else (未发生…被行政复议纠错, 未收取费用, 没有被举报投诉),
counts of other things (咨询, 主动公开信息 …条, 人大建议 … 已全部办结), shares (办结率, 占%),
other years. It returns the text and the figures a careful reader finds in it (indicator -> value).
"""
from __future__ import annotations

import random

import cn2an

_AGENCIES = ("某某县农业局", "某某镇人民政府", "某某区民政局", "某某市统计局", "某某乡人民政府", "某某县审计局")


def _num(rng: random.Random, n: int, chinese_ok: bool = True) -> str:
    """A count as printed: Arabic, or (small counts) Chinese numerals, 两 for 2 half the time."""
    if chinese_ok and n <= 99 and rng.random() < 0.25:
        if n == 2 and rng.random() < 0.5:
            return "两"
        return cn2an.an2cn(n, "low")
    return str(n)


def _unit(rng: random.Random) -> str:
    return rng.choice(("件", "件", "件", "宗", "项", "起"))


def _figures(rng: random.Random) -> dict[str, int]:
    """The true figures of a report: some reports get none, many get small counts."""
    v: dict[str, int] = {}
    received = rng.choice((0, 0, rng.randint(1, 9), rng.randint(1, 60), rng.randint(10, 400)))
    v["received"] = received
    if received:
        a = rng.randint(0, received)
        b = rng.randint(0, received - a)
        v["received_in_person"], v["received_online"], v["received_letter"] = a, b, received - a - b
        g = rng.randint(0, received)
        p = rng.randint(0, received - g)
        d = rng.randint(0, received - g - p)
        ne = rng.randint(0, received - g - p - d)
        nta = received - g - p - d - ne
        v.update(granted=g, partially_granted=p, denied=d, not_exist=ne, not_this_agency=nta)
        v["completed"] = received if rng.random() < 0.7 else rng.randint(0, received)
    for proc in ("reconsideration", "litigation"):
        n = rng.choice((0, 0, 0, rng.randint(1, 5)))
        v[proc] = n
        if n:
            u = rng.randint(0, n)
            c = rng.randint(0, n - u)
            v[f"{proc}_upheld"], v[f"{proc}_corrected"] = u, c
    return v


def _requests(rng: random.Random, year: int, v: dict, out: list[str], got: dict) -> None:
    n = v["received"]
    if n == 0:
        out.append(
            rng.choice(
                (
                    f"{year}年，本机关未收到政府信息公开申请。",
                    f"{year}年度我单位没有接到群众主动要求公开政府信息的申请。",
                    f"截至{year}年底，未接到公民、法人或其他组织来办理依申请公开申请。",
                    "三、依申请公开政府信息情况：无依申请公开的政府信息。",
                    f"{year}年，本单位未收到申请公开政府信息件。",
                )
            )
        )
        got["received"] = 0
        return
    u = _unit(rng)
    a, b, c = v["received_in_person"], v["received_online"], v["received_letter"]
    channels = [("当面申请", a), ("网上申请", b), ("信函申请", c)]
    rng.shuffle(channels)
    style = rng.randrange(6)
    if style == 0:
        s = f"{year}年，共受理政府信息公开申请{_num(rng, n)}{u}，其中" + "、".join(f"{k}{_num(rng, x)}{u}" for k, x in channels) + "。"
    elif style == 1:
        s = f"全年共收到政府信息公开申请{_num(rng, n)}{u}（其中" + "，".join(f"{k}{_num(rng, x)}{u}" for k, x in channels) + "）。"
    elif style == 2:
        s = f"{year}年，我局收到{_num(rng, n)}{u}政府信息依申请公开，其中通过" + "、通过".join(f"{k[:2]}{'提交' if rng.random() < 0.5 else '申请'}{_num(rng, x)}{u}" for k, x in channels) + "。"
    elif style == 3:
        s = f"本年度共受理公民、法人或其他组织申请{_num(rng, n)}{u}。其中" + "，".join(f"{k}{_num(rng, x)}{u}，占{round(100 * x / n)}%" for k, x in channels) + "。"
    elif style == 4:
        s = f"{year}年共接到依申请公开{_num(rng, n)}{u}，" + "，".join(f"{k}{_num(rng, x)}{u}" for k, x in channels) + "。"
    else:
        s = f"本年度政府信息公开申请总数为{_num(rng, n)}{u}，较上年增长{rng.randint(1, 90)}%；其中" + "、".join(f"{k}{_num(rng, x)}{u}" for k, x in channels) + "。"
    got.update(received=n, received_in_person=a, received_online=b, received_letter=c)
    # completed
    done = v["completed"]
    if done == n and rng.random() < 0.6:
        s += rng.choice(("上述申请已全部办结。", "所有申请均已按时答复。", "办结率100%。", "均在法定期限内予以答复。"))
        got["completed"] = n
    else:
        s += rng.choice((f"已办结{_num(rng, done)}{u}。", f"办结{_num(rng, done)}{u}，其余正在办理。", f"共办理完成{_num(rng, done)}{u}。"))
        got["completed"] = done
    out.append(s)
    # outcomes
    parts = [
        ("granted", ("同意公开", "予以公开", "“同意公开”的")),
        ("partially_granted", ("部分公开", "同意部分公开", "“同意部分公开”的")),
        ("denied", ("不予公开", "不同意公开", "“不予公开”的")),
        ("not_exist", ("信息不存在", "“信息不存在”的", "申请信息不存在")),
        ("not_this_agency", ("不属于本机关公开范围", "非本机关政府信息", "“非本机关政府信息”的")),
    ]
    rng.shuffle(parts)
    k = rng.randint(2, len(parts))
    style = rng.randrange(3)
    items = []
    for ind, words in parts[:k]:
        x = v[ind]
        if style == 2:
            items.append(f"{_num(rng, x)}{u}{words[0] if ind != 'not_this_agency' else '为非本机关政府信息'}" if ind not in ("not_exist",) else f"{words[0]}的{_num(rng, x)}{u}")
        else:
            items.append(f"{rng.choice(words)}{_num(rng, x)}{u}")
        got[ind] = x
    lead = rng.choice(("对上述申请，", "在已经办理的申请中，", "从答复情况看，", "其中，"))
    out.append(lead + rng.choice(("，", "；", "、")).join(items) + "。")


def _appeals(rng: random.Random, year: int, v: dict, out: list[str], got: dict) -> None:
    rc, lt = v["reconsideration"], v["litigation"]
    if rc == 0 and lt == 0:
        out.append(
            rng.choice(
                (
                    f"{year}年度，本机关没有发生因政府信息公开引起的行政复议、行政诉讼。",
                    f"{year}年度全区没有发生有关政府信息公开事务的行政复议、诉讼和申诉情况。",
                    f"全年发生因政府信息公开而被申请行政复议、提起行政诉讼的案件0{_unit(rng)}。",
                    f"{year}年没有针对本机关政府信息公开申请而提起行政复议和行政诉讼的情况发生。",
                    f"因政府信息公开引起的行政复议、行政诉讼各0{_unit(rng)}。",
                    "五、因政府信息公开申请行政复议、提起行政诉讼的情况：无。",
                    f"{year}年，未产生针对本机关政府信息公开的行政复议与行政诉讼。",
                )
            )
        )
        got.update(reconsideration=0, litigation=0)
        return
    sents = []
    for proc, word in (("reconsideration", "行政复议"), ("litigation", "行政诉讼")):
        n = v[proc]
        if n == 0:
            sents.append(rng.choice((f"未发生因政府信息公开引起的{word}。", f"没有发生政府信息公开{word}案件。", f"政府信息公开{word}0{_unit(rng)}。")))
            got[proc] = 0
            continue
        u = _unit(rng)
        s = f"因政府信息公开申请提起{word}{_num(rng, n)}{u}"
        got[proc] = n
        up, co = v[f"{proc}_upheld"], v[f"{proc}_corrected"]
        if rng.random() < 0.7:
            bits = [f"{_num(rng, up)}{u}维持" if rng.random() < 0.5 else f"维持原答复{_num(rng, up)}{u}"]
            bits.append(f"被依法纠错{_num(rng, co)}{u}" if rng.random() < 0.5 else f"{_num(rng, co)}{u}被纠正")
            pend = n - up - co
            if pend:
                bits.append(f"{_num(rng, pend)}{u}尚未审结")
            s += "，其中" + "，".join(bits)
            got[f"{proc}_upheld"], got[f"{proc}_corrected"] = up, co
        sents.append(s + "。")
    out.extend(sents)


def _distractors(rng: random.Random, year: int, v: dict) -> list[str]:
    pool = [
        f"全年共接受群众咨询{rng.randint(0, 300)}人次，其中电话咨询{rng.randint(0, 50)}人次。",
        f"{year}年，共制作政府信息{rng.randint(500, 900)}条，其中主动公开信息{rng.randint(100, 400)}条，依申请公开信息{rng.randint(1, 90)}条，不予公开信息{rng.randint(1, 90)}条。",
        "本年度依申请公开未收取任何费用，也未向申请人收取检索、复制、邮寄等费用。",
        "本年度没有因政府信息公开工作被举报投诉的情况。",
        "本年度未发生被行政复议纠错的情况。",
        f"办理人大代表建议{rng.randint(1, 20)}件、政协委员提案{rng.randint(1, 20)}件，已全部办结，满意率100%。",
        f"网站全年发布信息{rng.randint(100, 999)}条，访问量{rng.randint(1000, 99999)}人次，网站公开信息占{rng.randint(10, 90)}%。",
        f"2008年以来累计受理政府信息公开申请{rng.randint(100, 500)}件。",
        "对于咨询均已答复。",
        "尚无发现应主动公开政府信息而未予公开的情况。",
    ]
    rng.shuffle(pool)
    return pool[: rng.randint(1, 4)]


def generate(seed: int) -> tuple[str, dict[str, int]]:
    """A narrative report and the figures it states (indicator -> value)."""
    rng = random.Random(seed)
    year = rng.randint(2008, 2018)
    agency = rng.choice(_AGENCIES)
    v = _figures(rng)
    got: dict[str, int] = {}
    body: list[str] = []
    _requests(rng, year, v, body, got)
    appeals: list[str] = []
    _appeals(rng, year, v, appeals, got)
    dis = _distractors(rng, year, v)
    lines = [
        f"{agency}{year}年政府信息公开工作年度报告",
        f"发布时间：{year + 1}-0{rng.randint(1, 3)}-1{rng.randint(0, 9)}",
        f"根据《中华人民共和国政府信息公开条例》要求，现公布{agency}{year}年政府信息公开工作年度报告。",
        "一、概述",
        f"{year}年，{agency[2:]}认真贯彻落实《条例》，扎实推进政府信息公开工作。" + (dis[0] if dis else ""),
        "二、主动公开政府信息情况",
        f"{year}年，主动公开政府信息{rng.randint(20, 400)}条，全文电子化率达100%。",
        "三、依申请公开政府信息情况",
        *body,
        *dis[1:2],
        "四、政府信息公开的收费及减免情况",
        rng.choice(("本年度未收取任何费用。", "无。", f"{year}年度没有向申请人收取任何费用，也无减免情况。")),
        "五、因政府信息公开申请行政复议、提起行政诉讼的情况",
        *appeals,
        *dis[2:],
        "六、存在的主要问题及改进措施",
        "一是公开内容有待进一步丰富；二是工作人员业务水平有待提高。",
    ]
    return "\n".join(lines) + "\n", got
