"""Plain text in any common Chinese encoding (UTF-8/16, GB18030, Big5, ...): one row per physical
line (split into cells later by the parser: tabs, pipes or trailing numbers)."""
from __future__ import annotations

import re

from foi_research.read.base import Document, Row
from foi_research.read.limits import DEFAULT, Limits, check
from foi_research.reference.normalize import clean_lines, clean_text, looks_traditional



_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs"}


_NOT_CTRL = bytes(b for b in range(256) if not (b < 9 or (13 < b < 32 and b != 27)))
# the characters _plausible() rejects
_IMPLAUSIBLE = re.compile("[^\u4e00-\u9fff\x20-\x7e\n\r\t\u3000\xa0\u3000-\u303f\uff00-\uffef\u2000-\u206f\xb7\xd7]+")


def _looks_binary(data: bytes) -> bool:
    head = data[:4096]
    if not head:
        return False
    if head.startswith((b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return True
    ctrl = len(head.translate(None, _NOT_CTRL))  # bytes < 9 or 14..31 except 27
    return ctrl > len(head) * 0.05


def _plausible(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0x20 <= o < 0x7F
        or ch in "\n\r\t\u3000\xa0"
        or 0x3000 <= o <= 0x303F  # CJK punctuation
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
        or 0x2000 <= o <= 0x206F  # general punctuation (quotes, dashes)
        or o in (0xB7, 0xD7)
    )


def decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes of a Chinese document. Returns (text, encoding). Raises ValueError with a
    readable reason when no encoding fits."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if declared:
        enc = _ALIASES.get(declared.lower(), declared.lower())
        try:
            return data.decode(enc), enc
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few bad bytes (a download cut mid-character, a damaged copy): the text is kept,
    # the bad bytes shown as U+FFFD (read_text adds a warning saying how many)
    t = data.decode("utf-8", errors="replace")
    bad = t.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    if 0 < bad <= max(4, len(t) // 1000):
        return t, "utf-8"
    # UTF-16 without BOM: the decoded text must look like Chinese prose (CJK, ASCII, punctuation)
    if len(data) % 2 == 0:
        best = None
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                t = data.decode(enc)
            except UnicodeDecodeError:
                continue
            sample = t[:4000]
            good = len(_IMPLAUSIBLE.sub("", sample))  # characters that are _plausible()
            if sample and good / len(sample) > 0.97 and (best is None or good > best[0]):
                best = (good, t, enc)
        if best:
            return best[1], best[2]
    if _looks_binary(data):
        raise ValueError("this looks like a binary file, not text")
    from charset_normalizer import from_bytes

    best = from_bytes(
        data, cp_isolation=["gb18030", "big5hkscs", "utf_8", "utf_16", "hz", "cp950", "euc_jp"]
    ).best()
    if best is None:
        for enc in ("gb18030", "big5hkscs"):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                continue
        raise ValueError("no text encoding fits (tried UTF-8, UTF-16, GB18030, Big5)")
    enc = _ALIASES.get(best.encoding, best.encoding)
    return str(best), enc


def read_text(doc: Document, data: bytes, limits: Limits = DEFAULT) -> None:
    text, enc = decode(data)
    check(limits, "max_text_chars", len(text), f"the text has {len(text):,} characters")
    doc.encoding = enc
    if enc == "utf-8" and "\ufffd" in text:
        bad = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
        if bad > 0:
            doc.problems.append(f"{bad} byte(s) are not valid UTF-8 (a file cut mid-character, or damaged); they are shown as \ufffd")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise ValueError("the text contains NUL bytes: it is binary or a mis-detected encoding")
    doc.traditional = looks_traditional(text)
    raw_lines = text.split("\n")
    try:
        # the document cleaned line by line: what cleaning it whole and splitting it gives
        norm_lines = clean_lines(raw_lines, doc.traditional)
    except Exception:
        norm = clean_text(text, doc.traditional)
        norm_lines = norm.split("\n")
        if len(raw_lines) != len(norm_lines):  # normalisation never adds or removes newlines
            norm_lines = [clean_text(x, doc.traditional) for x in raw_lines]
    doc.rows = list(map(Row, range(1, len(raw_lines) + 1), raw_lines, norm_lines))
