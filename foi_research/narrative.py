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

from . import codes
from .normalize import compact
from .readers import Row

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


@dataclass
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
    for r in rows:
        if r.kind != "text":
            continue
        s = compact(r.norm)
        if not s:
            continue
        if "|" in s or "\t" in r.raw:
            continue  # a table row, not prose
        if _HEADING.match(s):
            parts = re.split(r"[。:]", s, maxsplit=1)
            heading = parts[0][:40]
            excluded = bool(_EXCLUDE_HEADING.search(heading))
            if len(parts) < 2 or not parts[1].strip("。:;, "):
                continue  # a heading and nothing else
        if excluded:
            continue
        if len(s) < 8 or not (re.search(r"[,。;,:]", s) or _FIGURE.search(s)):
            continue
        yield r.line, s, heading


_FIGURE = re.compile(r"\d+\s*[件宗项条次个起例]")
_RELEVANT = re.compile(r"申请|复议|诉讼|办结|答复|公开|存在|机关|明确|维持|纠错|办理|收到|受理|接到|补充|途径")
_HAS_FIGURE = re.compile(r"\d|没有|未|无")


@functools.lru_cache(maxsize=1)
def _rules():
    rules, zeros = codes.narrative_rules()
    parents = codes.legacy_parents()
    tail_only = {c for c, p in parents.items() if p in ("reconsideration", "litigation", "complaint")}
    general = [(ind, rx, codes.legacy_family(ind) in _REQUEST_FAMILIES) for ind, rx in rules if ind not in tail_only]
    return general, zeros


def extract(rows: list[Row]) -> list[Figure]:
    rules, zeros = _rules()
    found: dict[str, Figure] = {}
    for line, text, heading in _prose_lines(rows):
        if not _RELEVANT.search(text) or not _HAS_FIGURE.search(text):
            continue
        for sent in _SENTENCES.findall(text):
            if not _HAS_FIGURE.search(sent) or not _RELEVANT.search(sent):
                continue
            numeric_hits: set[str] = set()
            about_requests = "申请" in sent or "申请" in heading
            for ind, rx, request_family in rules:
                if request_family and not about_requests:
                    continue
                for m in rx.finditer(sent):
                    numeric_hits.add(ind)
                    if ind in found:
                        break
                    clause = _clause(sent, m.start(), m.end())
                    if ind == "received" and ("结转" in clause and "含" in clause):
                        continue  # a count that includes last year's carry-over is not 'received'
                    found[ind] = Figure(ind, int(m.group("n")), m.group(0), line)
                    if ind in _PROCEEDING:
                        _tail(sent, m, ind, found, line)
                    break
            for rx, inds in zeros:
                if not rx.search(sent):
                    continue
                for ind in inds:
                    if ind not in found and ind not in numeric_hits:
                        found[ind] = Figure(ind, 0, rx.search(sent).group(0), line)
    return sorted(found.values(), key=lambda f: (f.line, codes.LEGACY_INDICATORS.index(f.indicator)))


def _clause(sent: str, a: int, b: int) -> str:
    lo = max(sent.rfind(",", 0, a), sent.rfind(",", 0, a)) + 1
    hi_c = [i for i in (sent.find(",", b), sent.find(",", b)) if i >= 0]
    hi = min(hi_c) if hi_c else len(sent)
    return sent[lo:hi]


def _tail(sent: str, m: re.Match, ind: str, found: dict, line: int) -> None:
    """Outcomes that break down a review/litigation count: '行政复议4件,其中3件维持,1件尚未审结'."""
    total = int(m.group("n"))
    before = sent[max(0, m.start() - 3) : m.start()]
    if re.search(r"[、和及与]$", before):
        return  # the count is the second of a list: sub-counts cannot be attributed
    rest = sent[m.end() :]
    other_proc = [p for p in _PROCEEDING.values() if p.search(rest)]
    cut = min((p.search(rest).start() for p in other_proc), default=len(rest))
    tail = rest[:cut]
    if re.match(r"^\s*[、和及与]", tail):
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
