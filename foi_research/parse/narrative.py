"""Figures stated in prose: '共受理申请15件，其中当面申请3件', '同意公开10件', '行政复议4件，其中3件维持',
and statements that a count is zero ('没有收到…申请', '未发生…行政复议、行政诉讼').

The vocabulary lives in the code list (legacy_indicators[].narrative: the phrases that name each
indicator; narrative_words: requests, receipt words, other countable things, light heads,
negation cues …). This module reads a sentence as a sequence of those phrases and of numbers,
and decides which phrase a number belongs to:

- Lexing: every phrase of the vocabulary is found (the longest one wins where several overlap);
  numbers are Arabic (15) or Chinese (十二件, 两起, 零) followed by a unit of count; a number
  followed by %, 年, 元, 人次, 工作日 … is not a count.
- A number belongs to the phrase right before it in its clause, when only filler separates them
  ('同意公开”的7件', '申请总数为15件'), or, when there is none, to the phrase right after it
  ('3件予以公开', '收到12起政府信息依申请公开'). A bare request ('申请15件') is `received` only
  after a receipt word of the clause (收到, 受理 …): '其中自然人申请10件' is not. A clause that
  speaks of another year or of a carry-over (上年, 结转, 累计 …) gives no request figure.
- A number shared by a list of phrases ('予以公开及部分公开258件') is attributed to none of
  them, unless it is 0 or the text says each ('行政复议、行政诉讼各0件').
- Outcomes of review and litigation (其中3件维持) are read only after the count they break down
  (a count that is not part of a list), and kept only when they add up to at most that count;
  '均获维持' after the counts of a sentence makes every one of them upheld.
- Negation: a cue (没有, 未, 无 …, with the look-alikes 无法, 未经, 尚未审结 … excluded) scopes the
  rest of its clause; what it negates is the head of the scope (its last phrase, light heads such
  as 情况 skipped) together with the phrases joined to it by a list ('行政复议、诉讼和申诉'). Only
  `received`, `reconsideration` and `litigation` are ever set to 0 this way, and only when the
  head names them: '未发生…被行政复议纠错' negates a correction, '未向申请人收取费用' a fee, and
  neither gives a zero. '四、…行政复议情况：无' negates the topic before it.
- 'All completed' statements ('已全部办结', '均已按时答复', '办结率100%') give completed =
  received when they follow the received figure of the same line, nothing but its breakdown lies
  between, and no carried-over requests are mentioned.

Where it looks: prose lines (not table cells) of the report, outside sections about subordinate
units (所属事业单位 …), whose figures belong to someone else. Request figures are read only in
sentences about requests (a 申请 in the sentence or its section heading), review and litigation
figures only in lines or sections about disclosure (公开). The first statement of an indicator
wins; a numeric statement wins over a zero of the same sentence.

Every pattern is bounded (no unbounded repeat), and every window the reading looks at is
bounded, so the work is linear in the length of a line.
"""
from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from foi_research.reference import codes
from foi_research.reference.normalize import compact
from foi_research.read.readers import Row

_HEADING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.]|\([一二三四五六七八九十]{1,3}\)|\d{1,2}[.、])")
_EXCLUDE_HEADING = re.compile(r"事业单位|所属单位|下属单位|二级单位|直属单位|所属部门")
_HEADING_SPLIT = re.compile(r"[。:]")
_PUNCT = re.compile(r"[,。;:]")
_SENTENCE = re.compile(r"[^。;!?]{1,100000}[。;!?]?")
_BOUNDARY = ",:()[]<>《》"

# a count: Arabic digits (not part of a longer number, a decimal or a date) or Chinese numerals,
# then an optional unit; what follows the unit must not make it a share, a date or an amount
_UNITS = "件宗项起例份次个条"
_ARABIC = re.compile(r"(?<![\d.])(\d{1,7})(?![\d.])\s{0,2}([" + _UNITS + r"]?)")
_CHINESE = re.compile(r"(?<![零〇一二两三四五六七八九十百千万第])([零〇一二两三四五六七八九十百千]{1,8})([" + _UNITS + r"])")
_NOT_COUNT_AFTER = re.compile(r"-|%|‰|年|月|日|号|时|分|元|万|亿|人|名|天|周|岁|个(?:工作日|月|百分点|小时)|工作日|小时|百分点|倍|性|期|批|家|类|届|米|平方|公里|户|\.\d")
_FILLER = re.compile(r"[的之数为是达共计有了总量约合:“”\"'‘’「」『』\s]{0,8}")
_RIGHT_FILLER = re.compile(r"[的之为是被获予已经均\s“”\"']{0,4}")
_JOINED = re.compile(r"\s{0,2}(?:、|和|及|与|或者|或|以及|及其|并|/)[^,]{0,12}")
_NUMBER_JOINED = re.compile(r"\s{0,2}(?:、|和|及|与|或者|或|以及|并|/)(?:提起|申请|提出)?\s{0,2}")
_AFTER_SUBSET = re.compile(r"[^,]{0,12}?中")
_INCLUDES_CARRY = re.compile(r"[(,]?(?:其中)?(?:含|包括|包含)[^,)]{0,16}?结转")
_CARRY = re.compile(r"结转[^,;。]{0,20}?(?<![\d.])([1-9]\d{0,6}|[一二两三四五六七八九十百]{1,6})\s{0,2}[件宗项个起份]")
_UNITLESS_END = re.compile(r"\s{0,2}(?:$|[,;。:、)!?]|占)")
_AFTER_GE = re.compile(r"\s{0,2}(?:$|[^\u3400-\u9fff]|其中|均|全部|都|已|共|合计)")
_EMPTY_SCOPE = re.compile(r"[。;!?\s]{0,3}|(?:发生|出现|产生|收到|接到|有|涉及)(?:过)?(?:此类|相关|该类|上述)?[。;!?\s]{0,3}")
_COMPARISON = re.compile(r"比|较|同比|环比|上年|去年|增加|减少|增长|下降")
_OTHER_THAN = re.compile(r"(?:其他|其它)(?!组织)|另外|别的|除[^,]{0,30}?外")
_ALL_UPHELD = re.compile(r"(?:均|全部|都)(?:获|被|予以|已)?$")
_GAP_LIMIT = 24  # characters between a phrase and its number (filler, light heads, a request noun)
_SCOPE_LIMIT = 60  # characters a negation scopes
_RECEIPT_LIMIT = 40  # characters between a receipt word and the request noun it makes `received`

_REQUEST_FAMILIES = {"received", "completed", "answered"}
_PROCEEDINGS = ("reconsideration", "litigation")


@dataclass(slots=True)
class Figure:
    indicator: str
    value: int
    raw: str
    line: int


@dataclass(slots=True)
class _Tok:
    kind: str  # indicator, outcome, request, receipt, other, light, pending, negation, num
    value: object  # indicator code, outcome key, or the number
    start: int
    end: int
    unit: str = ""


# ---------------------------------------------------------------------------------------------
# Vocabulary


@functools.lru_cache(maxsize=1)
def _vocab():
    v = codes.narrative_vocabulary()
    parents = codes.legacy_parents()
    outcome_of = {c: c.split("_", 1)[1] for c, p in parents.items() if p in ("reconsideration", "litigation", "complaint")}
    seen = set()
    phrases = []
    for kind, value, pat in v["phrases"]:
        if kind == "indicator" and value in outcome_of:
            kind, value = "outcome", outcome_of[value]
        if (kind, value, pat) in seen:
            continue
        seen.add((kind, value, pat))
        phrases.append((kind, value, re.compile(pat)))
    alt = lambda xs: re.compile("|".join(f"(?:{x})" for x in xs)) if xs else re.compile(r"(?!)")
    return {
        "phrases": phrases,
        "not_this_year": alt(v["not_this_year"]),
        "all_done": alt(v["all_done"]),
        "each": re.compile("(?:" + "|".join(v["each"]) + ")") if v["each"] else None,
        "zero": frozenset(v["zero"]),
        "items_unit": v["items_unit"],
        "family": {c: codes.legacy_family(c) for c in parents},
    }


_ANY_COUNT = re.compile(r"\d|[零〇一二两三四五六七八九十百千][" + _UNITS + r"]")
_COUNT_OR_NEGATION = re.compile(r"\d|[零〇一二两三四五六七八九十百千][" + _UNITS + r"]|没有|未|无|不存在|零")


@functools.lru_cache(maxsize=1)
def _any_phrase() -> re.Pattern:
    """One pattern for every phrase that can own a figure or head a negation (indicators,
    requests): a sentence without one states no figure."""
    pats = [rx.pattern for kind, _, rx in _vocab()["phrases"] if kind in ("indicator", "outcome", "request")]
    return re.compile("|".join(f"(?:{x})" for x in pats))


def _worth_reading(sent: str) -> bool:
    return _COUNT_OR_NEGATION.search(sent) is not None and _any_phrase().search(sent) is not None


def _chinese_value(s: str) -> int | None:
    import cn2an  # only documents that write counts in Chinese numerals pay for the import

    try:
        v = cn2an.cn2an(s, "normal")
    except (ValueError, KeyError, IndexError):
        return None
    return int(v) if float(v).is_integer() else None


def _lex(sent: str) -> list[_Tok]:
    """Phrases and numbers of a sentence, in order; where phrases overlap the leftmost, then the
    longest, wins."""
    voc = _vocab()
    found = []
    for kind, value, rx in voc["phrases"]:
        for m in rx.finditer(sent):
            if m.end() > m.start():
                found.append((m.start(), -(m.end() - m.start()), kind, value, m.end()))
    for m in _ARABIC.finditer(sent):
        if _NOT_COUNT_AFTER.match(sent, m.end()):
            continue
        if m.group(2) == "个" and not _AFTER_GE.match(sent, m.end()):
            continue  # '5个二级类目': 个 classifies the noun that follows
        if not m.group(2) and (not _UNITLESS_END.match(sent, m.end()) or (len(m.group(1)) > 1 and m.group(1)[0] == "0")):
            continue  # a bare number is a count only at the end of its clause ('部分公开67,')
        found.append((m.start(), -(m.end() - m.start()), "num", int(m.group(1)), m.end(), m.group(2)))
    for m in _CHINESE.finditer(sent):
        if _NOT_COUNT_AFTER.match(sent, m.end()) or (m.group(2) == "个" and not _AFTER_GE.match(sent, m.end())):
            continue
        v = _chinese_value(m.group(1))
        if v is not None:
            found.append((m.start(), -(m.end() - m.start()), "num", v, m.end(), m.group(2)))
    found.sort(key=lambda x: (x[0], x[1]))
    toks: list[_Tok] = []
    last = 0
    for f in found:
        if f[0] < last:
            continue
        toks.append(_Tok(f[2], f[3], f[0], f[4], f[5] if len(f) > 5 else ""))
        last = f[4]
    return toks


# ---------------------------------------------------------------------------------------------
# Prose lines


def _prose_lines(rows: list[Row]):
    """(lines, text, heading) of prose paragraphs, skipping sections about subordinate units:
    `lines` maps positions of the text to source lines as [(offset, line)]. A row that stops
    mid-sentence (a PDF's text wrapped at the page width: '…政府信息公开行政复议 351' /
    '件,其中结果维持 72 件…') is joined with the next one. The heading is the last section heading
    seen (inline headings such as '(二)依申请公开情况。…' count)."""
    excluded = False
    heading = ""
    para: list[tuple[int, int]] = []
    parts: list[str] = []
    para_heading = ""
    for r in rows:
        if r.kind != "text" or "\t" in r.raw:
            if parts:
                yield para, "".join(parts), para_heading
                para, parts = [], []
            continue  # a table row, not prose
        if "|" in r.norm:  # a pipe table row, or a page laid out in a table
            s = _prose_cell(compact(r.norm)) if len(r.norm) >= 30 else ""
        else:
            s = compact(r.norm)
        if not s:
            if parts:
                yield para, "".join(parts), para_heading
                para, parts = [], []
            continue
        is_heading = _HEADING.match(s) is not None
        if parts and (is_heading or not _continues(parts[-1])):
            yield para, "".join(parts), para_heading
            para, parts = [], []
        if is_heading:
            hp = _HEADING_SPLIT.split(s, maxsplit=1)
            heading = hp[0][:40]
            excluded = bool(_EXCLUDE_HEADING.search(heading))
            if len(hp) < 2 or not hp[1].strip("。:;, "):
                continue  # a heading and nothing else
        if excluded or len(s) < 4:
            continue
        if not parts:
            para_heading = heading
            para_len = 0
        para.append((para_len, r.line))
        para_len += len(s)
        parts.append(s)
    if parts:
        yield para, "".join(parts), para_heading


def _prose_cell(s: str) -> str:
    """The prose of a row with pipes: the longest cell when it is a paragraph (a page whose body
    sits in one cell of a layout table: '…工作年度报告 | ||' / '2013年,我镇…。 |'), else nothing
    (a row of a pipe table)."""
    cell = max(s.split("|"), key=len)
    return cell if len(cell) >= 30 and "。" in cell else ""


_WRAPPED = re.compile(r"[\u3400-\u9fff\d,、(“]$")


def _continues(row_text: str) -> bool:
    """Whether a prose row stops mid-sentence, as the wrapped lines of a PDF do: a long row that
    ends in a character, a digit or a comma."""
    return len(row_text) >= 20 and _WRAPPED.search(row_text) is not None


# ---------------------------------------------------------------------------------------------
# Reading a sentence


class _Sentence:
    def __init__(self, text: str, about_requests: bool, about_disclosure: bool):
        self.text = text
        self.toks = _lex(text)
        self.starts = [t.start for t in self.toks]
        self.bounds = [i for i, ch in enumerate(text) if ch in _BOUNDARY]
        self.about_requests = about_requests
        self.about_disclosure = about_disclosure
        # opening position of the parenthesis each position is in (-1: none), innermost
        self.opens: list[int] = []
        self.closes: list[int] = []
        stack: list[int] = []
        for i, ch in enumerate(text):
            if ch == "(":
                stack.append(i)
            elif ch == ")" and stack:
                self.opens.append(stack.pop())
                self.closes.append(i)
        order = sorted(range(len(self.opens)), key=lambda k: self.opens[k])
        self.opens = [self.opens[k] for k in order]
        self.closes = [self.closes[k] for k in order]

    def paren(self, pos: int) -> int:
        """The opening '(' of the parenthesis around pos (the last opened that still encloses it,
        among the few before it), or -1."""
        k = bisect.bisect_left(self.opens, pos) - 1
        for j in range(k, max(-1, k - 4), -1):
            if self.opens[j] < pos < self.closes[j]:
                return self.opens[j]
        return -1

    def clause(self, pos: int) -> int:
        return bisect.bisect_right(self.bounds, pos - 1) if pos else 0

    def clause_start(self, pos: int) -> int:
        k = bisect.bisect_left(self.bounds, pos) - 1
        return self.bounds[k] + 1 if k >= 0 else 0

    def clause_end(self, pos: int) -> int:
        k = bisect.bisect_left(self.bounds, pos)
        return self.bounds[k] if k < len(self.bounds) else len(self.text)

    def gap(self, a: int, b: int, skip: list[_Tok]) -> str:
        """The text between positions a and b without the tokens `skip` (transparent ones)."""
        out, pos = [], a
        for t in skip:
            out.append(self.text[pos : t.start])
            pos = t.end
        out.append(self.text[pos:b])
        return "".join(out)


def _owner(s: _Sentence, i: int):
    """The phrase number token i belongs to: (index, kind, value, each) or None; `each` is True
    when a word such as 各 says the figure applies to every phrase of a list."""
    toks, num = s.toks, s.toks[i]
    cl = s.clause(num.start)
    lo = max(s.clause_start(num.start), num.start - 2 * _GAP_LIMIT)
    transparent: list[_Tok] = []
    request = None
    receipt = None
    j = i - 1
    while j >= 0 and toks[j].start >= lo and s.clause(toks[j].start) == cl:
        t = toks[j]
        if t.kind in ("light",):
            transparent.insert(0, t)
        elif t.kind == "request":
            request = request if request is not None else j
            transparent.insert(0, t)
        elif t.kind == "receipt":
            receipt = j if receipt is None else receipt  # '收到申请共计32件': 共计 and 收到 both
            transparent.insert(0, t)
        elif t.kind in ("num", "negation"):
            break
        else:  # indicator, outcome, other, pending
            gap = s.gap(t.end, num.start, transparent)
            if len(gap) > _GAP_LIMIT:
                break
            each = False
            m = _FILLER.fullmatch(gap)
            if m is None and _vocab()["each"] is not None:
                e = _vocab()["each"].search(gap)
                if e and _FILLER.fullmatch(gap[: e.start()]) and _FILLER.fullmatch(gap[e.end() :]):
                    each, m = True, e
            if m is None:
                break
            return j, t.kind, t.value, each
        j -= 1
    if request is not None:
        r = toks[request]
        gap = s.gap(r.end, num.start, [t for t in transparent if t.start >= r.end])
        if _FILLER.fullmatch(gap) and _has_receipt(s, request, receipt):
            return request, "indicator", "received", False
        return None
    # nothing before: the phrase right after ('3件予以公开', '收到12起…依申请公开')
    j = i + 1
    transparent = []
    hi = min(s.clause_end(num.end), num.end + _GAP_LIMIT)
    while j < len(toks) and toks[j].end <= hi:
        t = toks[j]
        if t.kind == "light":
            transparent.append(t)
        elif t.kind == "request":
            if _AFTER_SUBSET.match(s.text, t.end) and not receipt:
                return None  # '12件申请中': a subset of requests named elsewhere
            gap = s.gap(num.end, t.start, transparent)
            if receipt is not None and _RIGHT_FILLER.fullmatch(gap):
                return j, "indicator", "received", False  # '共收到15件申请'
            transparent.append(t)
        elif t.kind in ("indicator", "outcome", "pending"):
            gap = s.gap(num.end, t.start, transparent)
            if _RIGHT_FILLER.fullmatch(gap):
                return j, t.kind, t.value, False
            return None
        else:
            return None
        j += 1
    return None


def _has_receipt(s: _Sentence, request: int, receipt: int | None) -> bool:
    if receipt is not None:
        return True
    r = s.toks[request]
    cl = s.clause(r.start)
    j = request - 1
    while j >= 0 and s.clause(s.toks[j].start) == cl and r.start - s.toks[j].end <= _RECEIPT_LIMIT:
        if s.toks[j].kind == "receipt":
            return True
        j -= 1
    return False


def _list_before(s: _Sentence, j: int) -> list[int]:
    """Indices of the phrases joined to phrase j by a list before it ('予以公开及部分公开')."""
    out = []
    toks = s.toks
    cl = s.clause(toks[j].start)
    k = j - 1
    while k >= 0 and s.clause(toks[k].start) == cl:
        t = toks[k]
        if t.kind == "light":
            k -= 1
            continue
        if t.kind not in ("indicator", "outcome", "request", "other"):
            break
        gap = s.text[t.end : toks[j].start]
        if not _NUMBER_JOINED.fullmatch(gap):
            break
        if k > 0 and toks[k - 1].kind == "num" and _RIGHT_FILLER.fullmatch(s.text[toks[k - 1].end : t.start]):
            break  # '131宗同意公开、信息不存在的两宗': that phrase has its own number
        out.append(k)
        j = k
        k -= 1
    return out


def _read_sentence(s: _Sentence) -> tuple[list[tuple[str, int, str, int]], list[tuple[str, str]], list[int]]:
    """(numeric figures as (indicator, value, raw, number position), zeros as (indicator, raw),
    positions of numbers that no phrase owns)."""
    voc = _vocab()
    fam = voc["family"]
    figs: list[tuple[str, int, str, int]] = []
    unowned: list[int] = []
    ctx = None  # the review/litigation count a breakdown refers to: [proc, total, {key: value}, raw, {key: raw}]
    breakdowns = []
    proc_figs: list[list] = []
    text = s.text
    owned_by: dict[int, str | None] = {}  # number position -> the indicator it was read as
    items_are_requests = False
    for i, t in enumerate(s.toks):
        if t.kind == "indicator" and t.value in _PROCEEDINGS and ctx is not None and ctx[0] != t.value:
            ctx = None  # another proceeding is spoken of: the breakdown is over
        if t.kind == "outcome" and t.value == "upheld":
            before = text[max(s.clause_start(t.start), t.start - 6) : t.start]
            nxt = s.toks[i + 1] if i + 1 < len(s.toks) else None
            if _ALL_UPHELD.search(before) and not (nxt and nxt.kind == "num" and s.clause(nxt.start) == s.clause(t.start)):
                for pf in proc_figs:  # '行政复议7件,诉讼9件,均获维持'
                    if not pf[2]:
                        pf[2]["upheld"] = pf[1]
                        pf[4]["upheld"] = text[max(0, t.start - 3) : t.end]
        if t.kind != "num":
            continue
        owner = _owner(s, i)
        parent = _parent_count(s, i, owned_by)
        if owner is None or parent is False:
            if not _COMPARISON.search(text, max(s.clause_start(t.start), t.start - _GAP_LIMIT), t.start):
                unowned.append(t.start)  # a count of something else ('比上年增加5件' is not)
            owned_by[t.start] = None
            continue
        j, kind, value, each = owner
        o = s.toks[j]
        raw = text[min(o.start, t.start) : max(o.end, t.end)]
        if kind == "outcome":
            if ctx is not None:
                ctx[2][value] = ctx[2].get(value, 0) + t.value
                ctx[4][value] = raw
            continue
        if kind == "pending":
            if ctx is not None:
                ctx[2]["pending"] = ctx[2].get("pending", 0) + t.value
            continue
        if kind != "indicator":
            continue  # a count of something else (咨询, 费用 …)
        members = [value]
        if value in ("received", "completed"):
            members += _shared_verbs(s, j, value)
        listed = _list_before(s, j)
        if listed:
            members = [s.toks[k].value if s.toks[k].kind == "indicator" else ("received" if s.toks[k].kind == "request" else None) for k in listed] + [value]
            if not (t.value == 0 or each):
                continue  # one figure for a list of things: it belongs to none of them
            raw = text[s.toks[listed[-1]].start : t.end]
        for ind in members:
            if ind is None:
                continue
            f = fam.get(ind, ind)
            if f in _REQUEST_FAMILIES:
                if not s.about_requests:
                    continue
                if t.unit == voc["items_unit"] and not items_are_requests:
                    if not (ind == "received" and _receipt_in_clause(s, t.start)):
                        continue  # items of information, not requests
                    items_are_requests = True  # '收到申请公开21条,办结21条': 条 counts requests here
                if voc["not_this_year"].search(text, max(s.clause_start(o.start), o.start - _GAP_LIMIT), t.start):
                    continue  # last year's, carried over, cumulative …
                if ind == "received" and _INCLUDES_CARRY.match(text, t.end):
                    continue  # includes last year's carry-over: not the new requests
            elif f in _PROCEEDINGS:
                if not s.about_disclosure:
                    continue
                if t.unit == voc["items_unit"]:
                    continue
            else:
                continue
            if parent is not None and fam.get(ind, ind) != fam.get(parent, parent):
                continue  # inside the parenthesis of another count: it breaks that one down
            figs.append((ind, t.value, raw, t.start))
            owned_by[t.start] = ind
            if ind in _PROCEEDINGS:
                if len(members) == 1 and not _in_list(s, o, t):
                    ctx = [ind, t.value, {}, raw, {}]
                    proc_figs.append([ind, t.value, ctx[2], raw, ctx[4]])
                    breakdowns.append(ctx)
                else:
                    ctx = None
    for pf in proc_figs:
        ind, total, parts = pf[0], pf[1], pf[2]
        if not parts or sum(parts.values()) > total:
            continue
        for key, v in parts.items():
            if key in ("upheld", "corrected", "other"):
                figs.append((f"{ind}_{key}", v, pf[4].get(key, pf[3]), -1))
    zeros = _zeros(s)
    return figs, zeros, unowned


_VERB_JOIN = re.compile(r"\s{0,2}(?:并|和|及|与|、|且)\s{0,2}")


def _shared_verbs(s: _Sentence, j: int, value: str) -> list[str]:
    """'受理并办结依申请公开23件', '受理并办结申请23件': a receipt word and 办结 joined before one
    object share its count: received and completed."""
    toks = s.toks
    k = j
    if value == "received":  # the phrase of the requests; 办结 must stand right before it
        k = j - 1
        while k >= 0 and toks[k].kind == "light":
            k -= 1
        if k < 0 or toks[k].kind != "indicator" or toks[k].value != "completed" or toks[k].end != toks[k + 1].start:
            return []
    r = k - 1
    if r < 0 or toks[r].kind != "receipt" or not _VERB_JOIN.fullmatch(s.text[toks[r].end : toks[k].start]):
        return []
    return ["completed" if value == "received" else "received"]


def _parent_count(s: _Sentence, i: int, owned_by: dict):
    """For a number inside a parenthesis that follows a count ('政府层面22件(有效答复1件…)'): the
    indicator that count was read as, False when it was read as none (then nothing inside is a
    figure of the report), None when the number is not in such a parenthesis."""
    o = s.paren(s.toks[i].start)
    if o < 0:
        return None
    k = bisect.bisect_left(s.starts, o) - 1
    if k < 0 or s.toks[k].kind != "num" or o - s.toks[k].end > 1:
        return None
    ind = owned_by.get(s.toks[k].start)
    return False if ind is None else ind


def _in_list(s: _Sentence, phrase: _Tok, num: _Tok) -> bool:
    """Whether a review/litigation count is one of a list ('行政复议2宗、行政诉讼1宗'): its
    breakdown ('其中2宗维持') is then shared and cannot be attributed."""
    after = s.text[num.end : num.end + 2]
    before = s.text[max(0, min(phrase.start, num.start) - 2) : min(phrase.start, num.start)]
    return bool(after) and after[0] in "、和及与" or bool(before) and before[-1] in "、和及与"


def _receipt_in_clause(s: _Sentence, pos: int) -> bool:
    lo = max(s.clause_start(pos), pos - _RECEIPT_LIMIT - _GAP_LIMIT)
    k = bisect.bisect_left(s.starts, pos) - 1
    while k >= 0 and s.toks[k].start >= lo:
        if s.toks[k].kind == "receipt":
            return True
        k -= 1
    return False


def _zeros(s: _Sentence) -> list[tuple[str, str]]:
    voc = _vocab()
    out = []
    toks = s.toks
    for i, t in enumerate(toks):
        if t.kind != "negation":
            continue
        end = min(s.clause_end(t.end), t.end + _SCOPE_LIMIT)
        scope = []
        j = i + 1
        stop = False
        while j < len(toks) and toks[j].start < end:
            u = toks[j]
            if u.kind == "negation":
                break
            if u.kind == "num":
                stop = True  # a count inside the scope: not a 'no such case' statement
                break
            scope.append(j)
            j += 1
        if stop:
            continue
        terms = [k for k in scope if toks[k].kind in ("indicator", "request", "other", "outcome", "pending")]
        raw_lo, raw_hi = t.start, end
        rest = s.gap(t.end, s.clause_end(t.end), [toks[k] for k in scope if toks[k].kind == "light"])
        if not terms and _EMPTY_SCOPE.fullmatch(rest):
            # '…行政复议情况:无' / '行政复议、诉讼均无': the topic before the cue
            k = i - 1
            lo = s.clause_start(t.start)
            if lo > 0 and s.text[lo - 1] == ":":
                lo = s.clause_start(lo - 1)
            lo = max(lo, t.start - _SCOPE_LIMIT)
            while k >= 0 and toks[k].start >= lo:
                if toks[k].kind in ("indicator", "request", "other", "outcome", "pending"):
                    terms.insert(0, k)
                elif toks[k].kind in ("num", "negation"):
                    break
                k -= 1
            raw_lo, raw_hi = lo, t.end
        if not terms:
            continue
        head = terms[-1]
        group = [head]
        for k in reversed(terms[:-1]):
            skip = [toks[x] for x in range(k + 1, group[0]) if toks[x].kind == "light"]
            gap = s.gap(toks[k].end, toks[group[0]].start, skip)
            if _JOINED.fullmatch(gap) or (not gap and toks[k].kind == toks[group[0]].kind == "other"):
                group.insert(0, k)
            else:
                break
        raw = s.text[raw_lo:raw_hi]
        before = [toks[k] for k in terms if toks[k].start < toks[group[0]].start]
        if any(u.kind in ("outcome", "other", "pending") or (u.kind == "indicator" and u.value != "received") for u in before):
            continue  # '未出现超期答复的申请', '未发生被纠错的行政复议': a subset is negated, not all
        other_than = _OTHER_THAN.search(s.text, max(0, t.start - 30), raw_hi)
        for k in group:
            u = toks[k]
            ind = u.value if u.kind == "indicator" else "received" if u.kind == "request" else None
            if ind not in voc["zero"]:
                continue
            if other_than and ind == "received":
                continue  # '除上述申请外,未收到其他申请': no other requests, not none
            fam = voc["family"].get(ind, ind)
            if fam in _REQUEST_FAMILIES and not s.about_requests:
                continue
            if fam in _PROCEEDINGS and not s.about_disclosure:
                continue
            out.append((ind, raw))
    return out


# ---------------------------------------------------------------------------------------------
# Reports


def extract(rows: list[Row]) -> list[Figure]:
    found: dict[str, Figure] = {}
    for lines, text, heading in _prose_lines(rows):
        offsets = [o for o, _ in lines]
        line_at = lambda pos: lines[max(0, bisect.bisect_right(offsets, pos) - 1)][1]
        about_requests = "申请" in heading or "申请" in text
        about_disclosure = "公开" in text or any(w in heading for w in ("公开", "复议", "诉讼"))
        read = _read_paragraph if len(text) <= 2048 else _read_paragraph.__wrapped__
        figs, zeros, done = read(text, about_requests, about_disclosure)
        new_received = "received" not in found
        for ind, value, raw, pos in figs:
            if ind not in found:
                found[ind] = Figure(ind, value, raw, line_at(pos))
        for ind, raw, pos in zeros:
            if ind not in found:
                found[ind] = Figure(ind, 0, raw, line_at(pos))
        if done is not None and new_received and "completed" not in found and found.get("received") is not None:
            raw, pos = done
            found["completed"] = Figure("completed", found["received"].value, raw, line_at(pos))
    return sorted(found.values(), key=lambda f: (f.line, codes.LEGACY_INDICATORS.index(f.indicator)))


@functools.lru_cache(maxsize=4096)
def _read_paragraph(text: str, about_requests: bool, about_disclosure: bool):
    """What a paragraph states, independent of the rest of the report (so boilerplate paragraphs
    repeated across reports are read once): numeric figures (indicator, value, raw, position) in
    order, zeros (indicator, raw, position) that no numeric figure of their sentence contradicts,
    and the 'all completed' statement (raw, position) that applies to the first received figure
    of the paragraph, or None."""
    voc = _vocab()
    figs: list[tuple[str, int, str, int]] = []
    zeros_out: list[tuple[str, str, int]] = []
    owned_after: list[tuple[int, str | None]] = []
    received_at = None
    for m in _SENTENCE.finditer(text):
        sent = m.group(0)
        base = m.start()
        if not _worth_reading(sent):
            if received_at is not None and _ANY_COUNT.search(sent):
                owned_after.append((base, None))  # a count of something else
            continue
        s = _Sentence(sent, about_requests, about_disclosure)
        sfigs, zeros, unowned = _read_sentence(s)
        numeric = set()
        for ind, value, raw, pos in sfigs:
            numeric.add(ind)
            at = base + max(pos, 0)
            if pos >= 0:
                owned_after.append((at, ind))
            figs.append((ind, value, raw, at))
            if ind == "received" and received_at is None:
                received_at = at
        owned_after.extend((base + p, None) for p in unowned)
        zeros_out.extend((ind, raw, base) for ind, raw in zeros if ind not in numeric)
    done = None
    if received_at is not None and not any(ind == "completed" for ind, *_ in figs):
        done = _all_done(text, received_at, owned_after, voc)
    return tuple(figs), tuple(zeros_out), done


def _all_done(text: str, at: int, owned: list, voc):
    """The statement that every request was completed ('已全部办结') as (raw, position), when it
    follows the received figure at `at` with nothing but its breakdown between, and the
    paragraph mentions no carried-over requests; else None."""
    if _CARRY.search(text):
        return None
    m = voc["all_done"].search(text, at)
    if m is None:
        return None
    for pos, ind in owned:
        if at < pos < m.start() and (ind is None or voc["family"].get(ind) != "received"):
            return None  # another count lies between: the statement may be about it
    return m.group(0), m.start()
