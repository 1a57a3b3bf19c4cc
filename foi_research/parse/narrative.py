"""Figures stated in prose: 收到申请N件, 同意公开N件, 行政复议N件 …, and sentences that say a
count is zero (没有收到…申请). The patterns live in the code list (legacy_indicators.narrative
and narrative_zero); this module decides where to look and how to attach sub-counts.

Where it looks: prose lines (not table cells) of the report, outside sections about subordinate
units (所属事业单位 …), whose figures belong to someone else. The first statement of an indicator
wins. Outcomes of review and litigation (其中3件维持) are only read right after the count they
break down, and only when that count stands alone in its clause, so that '行政复议2宗、行政诉讼1宗,
其中2宗维持' attributes nothing.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from foi_research.reference import codes
from foi_research.reference.normalize import compact
from foi_research.read.readers import Row

_HEADING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.]|\([一二三四五六七八九十]{1,3}\)|\d{1,2}[.、])")
_EXCLUDE_HEADING = re.compile(r"事业单位|所属单位|下属单位|二级单位|直属单位|所属部门")
_SENTENCES = re.compile(r"[^。;!?]+[。;!?]?")
_PROCEEDING = {"reconsideration": re.compile(r"行政复议"), "litigation": re.compile(r"行政诉讼")}
_SUBS = {
    "upheld": re.compile(r"(?:维持(?:具体行政行为|原答复|原决定|原行政行为)?\s*(?P<a>\d{1,6})\s*[件宗项起例]|(?P<b>\d{1,6})\s*[件宗项起例](?:被)?维持)"),
    "corrected": re.compile(r"(?:(?:被依法)?纠(?:错|正)\s*(?P<a>\d{1,6})\s*[件宗项起例]|(?P<b>\d{1,6})\s*[件宗项起例](?:被)?(?:依法)?纠(?:错|正))"),
    "other": re.compile(r"(?:其他(?:情形|结果)\s*(?P<a>\d{1,6})\s*[件宗项起例]|(?P<b>\d{1,6})\s*[件宗项起例]其他(?:情形|结果))"),
}


_REQUEST_FAMILIES = {"received", "completed", "answered"}


@dataclass(slots=True)
class Figure:
    indicator: str
    value: int
    raw: str
    line: int


def _prose_lines(rows: list[Row]):
    """(line, text, heading) of prose rows, skipping sections about subordinate units. The
    heading is the last section heading seen (inline headings such as '(二)依申请公开情况。…'
    count)."""
    excluded = False
    heading = ""
    memo = _PROSE_ROWS
    for r in rows:
        if r.kind != "text" or "\t" in r.raw:
            continue  # a table row, not prose
        norm = r.norm
        info = memo.get(norm, memo)
        if info is memo:
            info = _prose_row(norm)
            if len(norm) <= 1024:
                if len(memo) >= 16384:
                    memo.clear()
                memo[norm] = info
        if info is None:
            continue  # empty, or a pipe table row
        s, head, excl, head_only, ok = info
        if head is not None:
            heading = head
            excluded = excl
            if head_only:
                continue  # a heading and nothing else
        if excluded or not ok:
            continue
        yield r.line, s, heading


def _prose_row(norm: str):
    """What _prose_lines needs of a row's text: None for an empty row or a pipe table row, else
    (compacted text, the heading it opens or None, heading excluded, heading and nothing else,
    long enough and with punctuation or a figure)."""
    s = compact(norm)
    if not s or "|" in s:
        return None
    head = excl = head_only = None
    if _HEADING.match(s):
        parts = _HEADING_SPLIT.split(s, maxsplit=1)
        head = parts[0][:40]
        excl = bool(_EXCLUDE_HEADING.search(head))
        head_only = len(parts) < 2 or not parts[1].strip("。:;, ")
    ok = not (len(s) < 8 or not (_PUNCT.search(s) or _FIGURE.search(s)))
    return s, head, excl, head_only, ok


_PROSE_ROWS: dict = {}  # norm -> _prose_row(norm)


_FIGURE = re.compile(r"\d+\s*[件宗项条次个起例]")
_HEADING_SPLIT = re.compile(r"[。:]")
_PUNCT = re.compile(r"[,。;,:]")
_LIST_BEFORE = re.compile(r"[、和及与]$")
_LIST_AFTER = re.compile(r"^\s*[、和及与]")
_RELEVANT = re.compile(r"申请|复议|诉讼|办结|答复|公开|存在|机关|明确|维持|纠错|办理|收到|受理|接到|补充|途径")
_HAS_FIGURE = re.compile(r"\d|没有|未|无")
_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=1)
def _rules():
    rules, zeros = codes.narrative_rules()
    parents = codes.legacy_parents()
    tail_only = {c for c, p in parents.items() if p in ("reconsideration", "litigation", "complaint")}
    general = [(ind, rx, codes.legacy_family(ind) in _REQUEST_FAMILIES, _required(rx)) for ind, rx in rules if ind not in tail_only]
    return general, [(rx, inds, _required(rx)) for rx, inds in zeros]


def _required(rx: re.Pattern) -> tuple[frozenset[str], ...]:
    """Necessary conditions for `rx` to match somewhere in a text, read from its parsed form:
    for each element that every match contains (a literal, or a group or a branch of them), the
    strings one of which the text must then hold. () when nothing is known (the rule is then
    always tried)."""
    try:
        from re import _constants as C
        from re import _parser as P

        if rx.flags & re.IGNORECASE:
            return ()
        tree = P.parse(rx.pattern, rx.flags)
        if tree.state.flags & re.IGNORECASE:
            return ()
        return tuple(frozenset(alts) for alts in _required_seq(list(tree), C))
    except Exception:
        return ()


def _required_seq(seq: list, C) -> list[tuple[str, ...]]:
    out = []
    i = 0
    while i < len(seq):
        op, av = seq[i]
        if op is C.LITERAL:
            j, lit = i, ""
            while j < len(seq) and seq[j][0] is C.LITERAL:
                lit += chr(seq[j][1])
                j += 1
            out.append((lit,))
            i = j
            continue
        alts = _required_one(op, av, C)
        if alts:
            out.append(alts)
        i += 1
    return out


def _required_one(op, av, C) -> tuple[str, ...] | None:
    """Strings one of which every match of the element (op, av) contains, or None."""
    if op is C.SUBPATTERN:
        if av[1] & re.IGNORECASE:
            return None
        req = _required_seq(list(av[3]), C)
        return req[0] if req else None
    if op is C.BRANCH:
        out: list[str] = []
        for alt in av[1]:
            req = _required_seq(list(alt), C)
            if not req:
                return None
            out.extend(req[0])
        return tuple(dict.fromkeys(out))
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
        req = _required_seq(list(av[2]), C)
        return req[0] if req else None
    return None


def _may_match(req: tuple[frozenset[str], ...], present: set[str]) -> bool:
    """Whether a sentence holding the literals `present` (of _literals()) meets `req`."""
    for alts in req:
        if present.isdisjoint(alts):
            return False
    return True


@functools.lru_cache(maxsize=1)
def _literals() -> tuple[str, ...]:
    """Every literal a rule requires (see _required)."""
    rules, zeros = _rules()
    reqs = [req for *_, req in rules] + [req for *_, req in zeros]
    return tuple(sorted({lit for req in reqs for alts in req for lit in alts}))


def _sentences(text: str, heading_requests: bool) -> tuple:
    """What the rules find in a prose line, independent of the rest of the report: for each
    sentence that may state a figure, (sentence, numeric hits, zero hits); numeric hits are
    (indicator, every match as (start, end, number, text)) in rule order, zero hits are
    (indicators, text) of the zero patterns that match."""
    if not _RELEVANT.search(text) or not _HAS_FIGURE.search(text):
        return ()
    literals = _literals()
    out = []
    for sent in _SENTENCES.findall(text):
        if not _HAS_FIGURE.search(sent) or not _RELEVANT.search(sent):
            continue
        about_requests = "申请" in sent or heading_requests
        present = frozenset([lit for lit in literals if lit in sent])
        # every rule needs a number (N): a sentence without a digit can only state a zero
        general, zeros = _candidates(present, about_requests, _DIGIT.search(sent) is not None)
        hits = []
        for ind, rx in general:
            ms = tuple((m.start(), m.end(), m.group("n"), m.group(0)) for m in rx.finditer(sent))
            if ms:
                hits.append((ind, ms))
        zs = []
        for rx, inds in zeros:
            m = rx.search(sent)
            if m:
                zs.append((inds, m.group(0)))
        out.append((sent, tuple(hits), tuple(zs)))
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def _candidates(present: frozenset[str], about_requests: bool, digit: bool) -> tuple[tuple, tuple]:
    """The rules worth trying on a sentence holding the literals `present` (of _literals()), in
    rule order: (indicator, regex) of the numeric rules (none without a digit; request rules
    only about requests), (regex, indicators) of the zero rules. Sentences share few literal
    sets, so this is decided once per set."""
    rules, zeros = _rules()
    general = ()
    if digit:
        general = tuple(
            [
                (ind, rx)
                for ind, rx, request_family, req in rules
                if not (request_family and not about_requests) and _may_match(req, present)
            ]
        )
    return general, tuple([(rx, inds) for rx, inds, req in zeros if _may_match(req, present)])


_sentences_cached = functools.lru_cache(maxsize=4096)(_sentences)


def extract(rows: list[Row]) -> list[Figure]:
    found: dict[str, Figure] = {}
    for line, text, heading in _prose_lines(rows):
        hr = "申请" in heading
        plan = _sentences_cached(text, hr) if len(text) <= 1024 else _sentences(text, hr)
        for sent, hits, zs in plan:
            numeric_hits: set[str] = set()
            for ind, ms in hits:
                for a, b, n, raw in ms:
                    numeric_hits.add(ind)
                    if ind in found:
                        break
                    clause = _clause(sent, a, b)
                    if ind == "received" and ("结转" in clause and "含" in clause):
                        continue  # a count that includes last year's carry-over is not 'received'
                    found[ind] = Figure(ind, int(n), raw, line)
                    if ind in _PROCEEDING:
                        _tail(sent, a, b, n, ind, found, line)
                    break
            for inds, raw in zs:
                for ind in inds:
                    if ind not in found and ind not in numeric_hits:
                        found[ind] = Figure(ind, 0, raw, line)
    return sorted(found.values(), key=lambda f: (f.line, codes.LEGACY_INDICATORS.index(f.indicator)))


def _clause(sent: str, a: int, b: int) -> str:
    lo = max(sent.rfind(",", 0, a), sent.rfind(",", 0, a)) + 1
    hi_c = [i for i in (sent.find(",", b), sent.find(",", b)) if i >= 0]
    hi = min(hi_c) if hi_c else len(sent)
    return sent[lo:hi]


def _tail(sent: str, start: int, end: int, n: str, ind: str, found: dict, line: int) -> None:
    """Outcomes that break down a review/litigation count: '行政复议4件,其中3件维持,1件尚未审结'
    (the count is sent[start:end], its number n)."""
    total = int(n)
    before = sent[max(0, start - 3) : start]
    if _LIST_BEFORE.search(before):
        return  # the count is the second of a list: sub-counts cannot be attributed
    rest = sent[end:]
    other_proc = [p for p in _PROCEEDING.values() if p.search(rest)]
    cut = min((p.search(rest).start() for p in other_proc), default=len(rest))
    tail = rest[:cut]
    if _LIST_AFTER.match(tail):
        return  # '行政复议2宗、行政诉讼1宗,其中…': the breakdown is shared
    got = {}
    for key, rx in _SUBS.items():
        mm = rx.search(tail)
        if mm:
            got[key] = int(mm.group("a") or mm.group("b"))
    if not got or sum(got.values()) > total:
        return
    for key, v in got.items():
        code = f"{ind}_{key}"
        if code not in found:
            found[code] = Figure(code, v, tail.strip(",,")[:80], line)
