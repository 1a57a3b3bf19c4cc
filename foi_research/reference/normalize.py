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
import itertools
import operator
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
# the high byte of a UTF-16 code unit of U+4E00..U+9FFF (surrogates, D8..DF, are not in it)
_CJK_HIGH_BYTES = bytes(range(0x4E, 0xA0))


def _count_cjk(s: str) -> int:
    """The number of characters of s in U+4E00..U+9FFF, counted in C: the high bytes of its
    UTF-16 code units that fall in 4E..9F (a character outside the BMP is two surrogates, whose
    high bytes are D8..DF; a lone surrogate is passed through as one)."""
    hi = s.encode("utf-16-le", "surrogatepass")[1::2]
    return len(hi) - len(hi.translate(None, _CJK_HIGH_BYTES))


def looks_traditional(text: str, sample: int = 4000) -> bool:
    """True when converting to Simplified script changes a noticeable share of the characters."""
    s = text[:sample]
    cjk = _count_cjk(s)
    if cjk < 20:
        return False
    need = max(8, cjk * 0.04)
    convert = _t2s().convert
    # OpenCC converts the text on either side of a line break independently (no dictionary
    # entry holds one: see the line memo below), so the sample is converted in two parts, cut at
    # a line break; a Traditional text has changed enough already in the first part, when that
    # part keeps its length (then its positions are those of the whole)
    k = s.find("\n", 400)
    if 0 < k < len(s) - 400:
        head = s[:k]
        conv = convert(head)
        if conv != head and len(conv) == k and _changed_at_least(head, conv, need):
            return True
        conv += convert(s[k:])
    else:
        conv = convert(s)
    if conv == s:  # a Simplified document: nothing changes (the usual case, decided in C)
        return False
    return _changed_at_least(s, conv, need)


def _changed_at_least(s: str, conv: str, need: float) -> bool:
    """sum(1 for a, b in zip(s, conv) if a != b) >= need, counted in C a chunk at a time and
    stopping once enough have changed (a Traditional text gets there in a few chunks)."""
    changed = 0
    ne = operator.ne
    for i in range(0, min(len(s), len(conv)), 128):
        changed += sum(map(ne, s[i : i + 128], conv[i : i + 128]))
        if changed >= need:
            return True
    return False


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


# Line memo. NFKC leaves a line break alone, OpenCC converts by longest dictionary match and no
# dictionary entry holds a line break, and the junk patterns of clean_text only cross a line
# break when they remove it; so a text cleaned as a whole equals its lines cleaned one by one
# (when the number of lines is kept). Repeated lines (the template's labels and boilerplate) are
# then done once per process. (looks_traditional converts its sample whole: OpenCC on a few
# thousand characters is cheaper than looking its lines up in a memo.)
_MEMO_MAX = 20_000
_CLEAN_MEMO: dict[bool, dict[str, str]] = {False: {}, True: {}}


def clean_lines(lines: list[str], traditional: bool = False) -> list[str]:
    """[clean_text(x, traditional) for x in lines]: lines not seen before are cleaned together
    in one pass, the others come from a memo."""
    memo = _CLEAN_MEMO[bool(traditional)]
    got = list(map(memo.get, lines))  # (the loops over every line run in C)
    if None not in got:
        return got
    miss = list(dict.fromkeys(itertools.compress(lines, map(operator.is_, got, itertools.repeat(None)))))
    batch = [x for x in miss if "\n" not in x and "\x00" not in x]
    new: dict[str, str] = {}
    if batch:
        try:
            parts = _clean_text("\n".join(batch), traditional).split("\n")
        except Exception:
            parts = []
        if len(parts) == len(batch):  # else junk spanning lines was removed: clean one by one
            new = dict(zip(batch, parts))
    for x in miss:
        if x not in new:
            new[x] = _clean_text(x, traditional)
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    for x, c in new.items():
        if len(x) <= _CACHE_MAX_LEN:
            memo[x] = c
    # a line either missed (it is in new) or was found (it is not: new holds only misses)
    return list(map(new.get, lines, got))


def clean_text(text: str, traditional: bool = False) -> str:
    """Normalise a whole document (or line) for matching; keeps line structure intact."""
    if len(text) <= _CACHE_MAX_LEN:
        return _clean_text_cached(text, traditional)
    return _clean_text(text, traditional)


@functools.lru_cache(maxsize=1)
def _nfkc_chars():
    """Every BMP character that NFKC changes, with what it becomes, and a pattern finding them."""
    table = {}
    for o in range(0x80, 0x10000):
        if 0xD800 <= o <= 0xDFFF:
            continue
        c = chr(o)
        k = unicodedata.normalize("NFKC", c)
        if k != c:
            table[c] = k
    # replacing one character after another equals replacing them all at once only when no
    # replacement holds a replaced character (true: NFKC output never holds one)
    if any(ch in table for k in table.values() for ch in k):  # pragma: no cover - defensive
        raise RuntimeError("NFKC table: a replacement holds a replaced character")
    return table, re.compile("[" + "".join(re.escape(c) for c in table) + "]")


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), faster on Chinese text: each character that NFKC
    changes is replaced by its own NFKC form (full-width punctuation and digits mostly). That
    keeps the compatibility decomposition of the text, so when the result is already normalised
    it is the NFKC form of the text; otherwise the text is normalised as a whole."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    table, rx = _nfkc_chars()
    # (each replacement is itself normalised: it holds none of the characters replaced)
    t = text
    for c in set(rx.findall(text)):
        t = t.replace(c, table[c])
    if unicodedata.is_normalized("NFKC", t):
        return t
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
    if " " not in s and s.isprintable():
        # every character _WS removes is a space or not printable (str.isprintable() is False
        # for the other whitespace, \u200b and \ufeff): nothing to remove
        return s
    if len(s) <= _CACHE_MAX_LEN:
        return _compact_cached(s)
    # a whole report's text is compacted by several readers: the last few are kept
    for k, v in _LONG:
        if k is s or k == s:
            return v
    v = _WS_SUB("", s)
    _LONG.insert(0, (s, v))
    del _LONG[4:]
    return v


_LONG: list[tuple[str, str]] = []

_WS_SUB = _WS.sub
_compact_cached = functools.lru_cache(maxsize=16384)(lambda s: _WS_SUB("", s))


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
