"""Text normalisation used for matching. Raw text is always kept as printed; these functions
produce the keys that labels and numbers are recognised from.

Steps, in order: NFKC (full-width digits and punctuation to half-width), Traditional ->
Simplified script with OpenCC when a document is written in Traditional characters, removal of
converter junk (pinyin inserted after characters such as 報(bào), [image: ...] and
[bookmark: ...] residue), and, for labels, removal of whitespace (spaced characters 自 然 人)
and of leading ordinals (一、 (三) 1.).
"""
from __future__ import annotations

import functools
import re
import unicodedata

# ---------------------------------------------------------------------------------------------
# Script

_TONE = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
# pinyin with at least one tone mark, in parentheses right after a CJK character: 報(bào)
# (the "(" comes first so that a search jumps from one "(" to the next; the look-behind then
# checks the character before it: the same matches as (?<=[\u3400-\u9fff])\(…)
_PINYIN_JUNK = re.compile(r"\((?<=[\u3400-\u9fff]\()(?=[a-z" + _TONE + r"]*[" + _TONE + r"])[a-z" + _TONE + r"]{1,7}\)")
_RESIDUE = re.compile(r"\[(?:image|bookmark|img|图片)[^\]]*\]", re.I)


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


_CACHE_MAX_LEN = 256  # strings up to this length (labels, cells, lines) are memoised
_CJK = re.compile("[\u4e00-\u9fff]")


def looks_traditional(text: str, sample: int = 4000) -> bool:
    """True when converting to Simplified script changes a noticeable share of the characters."""
    s = text[:sample]
    cjk = len(_CJK.findall(s))
    if cjk < 20:
        return False
    conv = _t2s().convert(s)
    if len(conv) != len(s):
        return True  # a conversion that changed the text's length changed much of it
    changed = sum(1 for a, b in zip(s, conv) if a != b)
    return changed >= max(8, cjk * 0.04)


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def clean_lines(lines: list[str], traditional: bool = False) -> list[str]:
    """[clean_text(x, traditional) for x in lines]."""
    return [clean_text(x, traditional) for x in lines]


def clean_text(text: str, traditional: bool = False) -> str:
    """Normalise a whole document (or line) for matching; keeps line structure intact."""
    if len(text) <= _CACHE_MAX_LEN:
        return _clean_text_cached(text, traditional)
    return _clean_text(text, traditional)


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# the vertical rules of text-drawn tables (w3m, lynx, box-drawing copies) separate cells as '|' does
_BOX_BARS = str.maketrans({"│": "|", "┃": "|", "║": "|", "┆": "|", "┊": "|"})


def _clean_text(text: str, traditional: bool = False) -> str:
    text = nfkc(text)
    if "│" in text or "┃" in text or "║" in text or "┆" in text or "┊" in text:
        text = text.translate(_BOX_BARS)
    if traditional:
        text = to_simplified(text)
    if "(" in text:
        text = _PINYIN_JUNK.sub("", text)
    if "[" in text:
        text = _RESIDUE.sub("", text)
    return text


_clean_text_cached = functools.lru_cache(maxsize=8192)(_clean_text)


# ---------------------------------------------------------------------------------------------
# Labels

WS_CLASS = r"[\s\u00a0\u3000\u200b\ufeff]"  # the whitespace compact() removes
_WS = re.compile(WS_CLASS + "+")
_ORDINAL = re.compile(
    r"^(?:"
    r"[一二三四五六七八九十]{1,3}[、.,:]"  # 一、
    r"|\([一二三四五六七八九十\d]{1,3}\)?"  # (一) or a cut '(一'
    r"|[一二三四五六七八九十]{1,3}\)"  # 一)
    r"|\d{1,2}(?:[、.,)](?!\d)|\s)"  # 1. 1、 1)
    r"|其中[:,]?"  # 其中:
    r")+"
)
_PAREN_NOTE = re.compile(r"\([^()]{2,}\)?$|\([^()]{2,}\)")
_QUOTES = str.maketrans({"“": "", "”": "", '"': "", "‘": "", "’": "", "'": "", "「": "", "」": "", "《": "《", "》": "》"})


def compact(s: str) -> str:
    """Remove all whitespace (spaced characters such as 自 然 人 become 自然人)."""
    if len(s) <= _CACHE_MAX_LEN:
        return _compact_cached(s)
    return _WS.sub("", s)


_compact_cached = functools.lru_cache(maxsize=16384)(lambda s: _WS.sub("", s))


# Markdown marks around a label ('### 一、本年新收…', '**总计**', '> …')
_MARKDOWN = re.compile(r"^[#>*_]+|[*_]+$")


@functools.lru_cache(maxsize=16384)
def _label_key(norm: str) -> str:
    s = compact(norm).translate(_QUOTES)
    if s[:1] in "#>*_" or s[-1:] in "*_":
        s = _MARKDOWN.sub("", s)
    s = _ORDINAL.sub("", s)
    stripped = _PAREN_NOTE.sub("", s)
    return stripped if stripped else s


def label_key(norm: str) -> str:
    """The key a printed label is matched by: no whitespace, no quotes, no leading ordinal, no
    trailing explanatory note in parentheses (kept when the note is all there is)."""
    if len(norm) <= _CACHE_MAX_LEN:
        return _label_key(norm)
    return _label_key.__wrapped__(norm)


# ---------------------------------------------------------------------------------------------
# Numbers

BLANK_MARKS = frozenset({"", "-", "--", "—", "——", "–", "/", "\\", "、", "空", "null", "NULL", "N/A", "n/a", "——/"})
ZERO_MARKS = frozenset({"无", "0件", "零", "〇"})

_UNIT_WORDS = {
    "万元": "wan_yuan",
    "万": "wan_yuan",
    "元": "yuan",
    "亿元": "yi_yuan",
    "件": "count",
    "个": "count",
    "项": "count",
    "条": "count",
    "宗": "count",
    "次": "count",
    "人次": "count",
    "份": "count",
    "篇": "count",
    "家": "count",
    "人": "count",
    "期": "count",
}
_NUM = re.compile(
    r"^(?P<sign>[+\-])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\(?(?P<unit>万元|亿元|人次|万|元|件|个|项|条|宗|次|份|篇|家|人|期)\)?)?$"
)


class Value:
    """A parsed table cell. kind is 'number', 'blank' or 'text'."""

    __slots__ = ("kind", "value", "unit")

    def __init__(self, kind: str, value: float | int | None = None, unit: str | None = None):
        self.kind = kind
        self.value = value
        self.unit = unit

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Value({self.kind!r}, {self.value!r}, {self.unit!r})"


_TEXT = Value("text")
_BLANK = Value("blank")


@functools.lru_cache(maxsize=4096)
def parse_value(norm: str) -> Value:
    """Parse a (normalised) cell: '182个' -> 182 count, '+5' -> 5, '19.7 万' -> 19.7 wan_yuan,
    '-309' -> -309, '/' or '' -> blank, '无' -> 0, anything else -> text."""
    s = compact(norm).replace("，", ",")
    if s in BLANK_MARKS:
        return _BLANK
    if s in ZERO_MARKS:
        return Value("number", 0, None)
    m = _NUM.match(s)
    if not m:
        return _TEXT
    num = m.group("num").replace(",", "")
    v: float | int = float(num) if "." in num else int(num)
    if m.group("sign") == "-":
        v = -v
    unit = m.group("unit")
    return Value("number", v, _UNIT_WORDS.get(unit) if unit else None)


UNIT_ONLY = frozenset(_UNIT_WORDS) | {"单位", "个数", "人数"}


def is_unit_cell(norm: str) -> bool:
    return compact(norm) in UNIT_ONLY
