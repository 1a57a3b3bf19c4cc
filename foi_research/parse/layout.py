"""Layout reading: turn a report's rows into a stream of cells that the table readers consume.

Real copies print one table cell per line (with or without a leading tab, with or without blank
lines between), tab-separated rows, pipe-separated rows (also one cell per line ending in '|'),
HTML/Word/PDF table rows, and text lines of a label followed by space-separated numbers. All of
them become `Item`s: one per cell, each knowing its physical row and whether that row holds
several cells (a real table row, where position matters and blank cells count) or one cell (a
cell-per-line layout, where blank lines are separators and carry no information).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from foi_research.reference.normalize import Value, compact, label_key, parse_value
from foi_research.read.readers import Cell, Row

_TRAILING_NUMS = re.compile(
    r"^(?P<label>.*?[^\d\s+\-.,%])\s+(?P<nums>(?:[+\-]?\d[\d,.]*\s*(?:万元|万|元|件|个|项|条)?\s+)*[+\-]?\d[\d,.]*\s*(?:万元|万|元|件|个|项|条)?)\s*$"
)
_ONLY_NUMS = re.compile(r"^\s*[+\-]?\d[\d,.]*(?:\s+[+\-]?\d[\d,.]*)+\s*$")
_NOTES = re.compile(r"\([^()]*\)")
# a line of table rules only: pipes, box-drawing and Markdown separator rows ('|---|:--:|')
_PIPE_ONLY = re.compile(r"^[\s|｜\-:=+─━┄┈═┼┿╂╋╪╫╬├┤┌┐└┘┬┴┝┥┠┨┯┷╞╡╟╢╔╗╚╝╠╣╦╩]*$")
_RULE_CHARS = frozenset("|｜-─━═┼├┤┌┐└┘┬┴╪╋")
# a label followed by a row of digits printed without separators ('1.属于国家秘密0000000')
_GLUED_TAIL = re.compile(r"^(?P<label>.*[^\d\s.,+\-%])\s*(?P<digits>\d{7,})$")
_SENTENCE = re.compile(r"[。;；!?！？]|[,，].*[,，]")
_STOP = re.compile(r"[。;；!?！？]")
_PIPES = re.compile(r"[|｜]")
_NUM_START = re.compile(r"[+\-]?\d")
_COMMA = re.compile(r"[,，]")
# a key that reads as a sentence; a label (Item.label) is a text cell whose key is short and not
# a sentence
SENTENCE_KEY = re.compile(r"[。;!?]|,.*,.*,")


@dataclass(slots=True)
class Item:
    """One cell of the stream. It carries its cell's raw text, normalised text and source line
    itself (`item.cell` is the item), so a text line's cells need no Cell objects of their own."""

    raw: str
    norm: str
    value: Value
    key: str  # label key for text cells ('' for values)
    # derived from value and key (see _info)
    is_text: bool = field(compare=False, repr=False)
    is_number: bool = field(compare=False, repr=False)
    label: bool = field(compare=False, repr=False)  # a label cell: short text, not a sentence
    line: int
    row: int  # index of the logical row in the stream
    multi: bool  # True when the row holds several cells (positions matter)
    # where the cell starts in its printed line, for text laid out with spaces: (column counted in
    # characters, column counted in display width, CJK and full-width characters being two)
    pos: tuple[int, int] | None = field(default=None, compare=False, repr=False)

    @property
    def cell(self) -> "Item":
        return self


def _starts_number(norm: str) -> bool:
    """What _ONLY_NUMS needs first: optional whitespace, then a sign or a digit."""
    s = norm.lstrip()
    return bool(s) and (s[0] in "+-" or s[0].isdecimal())


def _split_text(raw: str, norm: str) -> tuple[tuple[str, str], ...] | None:
    """Cells of a text line as (raw, norm) pairs; None when the line is one cell."""
    if "\t" in raw:
        rs, ns = raw.split("\t"), norm.split("\t")
    elif "|" in norm:
        rs = _PIPES.split(raw)
        ns = norm.split("|")
        # the pipes that open and close a row ('| a | b |', Markdown; '规章 | 0 | 0 | 0 |', scraped
        # pages) are not cells of their own; a line that starts with blanks before its first
        # pipe (' | 5 | 1') starts with a blank cell
        if len(rs) == len(ns):
            if len(ns) > 2 and not ns[0] and norm.startswith("|"):
                rs, ns = rs[1:], ns[1:]
            if len(ns) > 2 and not ns[-1].strip() and norm.rstrip().endswith("|"):
                rs, ns = rs[:-1], ns[:-1]
    elif _starts_number(norm) and _ONLY_NUMS.match(norm):
        # a row of values only, as PDF text prints it: '0 0 0 0 0 0 0'
        return tuple([(t, t) for t in norm.split()])
    else:
        s = norm.strip()
        g = _GLUED_TAIL.match(s) if s and s[-1].isdecimal() else None
        if g and len(compact(g.group("label"))) <= 40 and not _SENTENCE.search(g.group("label")):
            lab = g.group("label").strip()
            return ((lab, lab), (g.group("digits"), g.group("digits")))
        # the pattern ends in a digit, ',', '.' or a unit (万元 万 元 件 个 项 条)
        m = _TRAILING_NUMS.match(s) if s and (s[-1].isdecimal() or s[-1] in ",.元万件个项条") else None
        if m:
            # the label without its explanatory notes ('(区分处理的,只计这一情形,不计其他情形)')
            core = _NOTES.sub("", m.group("label"))
            # (a label followed by a row of values may keep the commas of a note whose opening
            # parenthesis a copy lost: '部分公开区分处理的，只计这一情形，不计其他情形)  0  0  0 …')
            sentence = _SENTENCE if len(m.group("nums").split()) < 3 else _STOP
            if len(compact(core)) <= 40 and not sentence.search(core):
                nums = m.group("nums").split()
                # glue units printed apart from their number ('19.7 万')
                merged: list[str] = []
                for t in nums:
                    if merged and not _NUM_START.match(t):
                        merged[-1] += t
                    else:
                        merged.append(t)
                if len(merged) >= 2 or (len(merged) == 1 and not _COMMA.search(core)):
                    lab = m.group("label").strip()
                    return tuple([(lab, lab)] + [(t, t) for t in merged])
        return None
    if len(rs) != len(ns):
        rs = ns
    return tuple([(r.strip(), n.strip()) for r, n in zip(rs, ns)])


def split_text_row(row: Row) -> list[Cell]:
    """Split a text line into cells: tabs, then pipes, then 'label 1 2 3' trailing numbers."""
    parts = _split_text(row.raw, row.norm)
    if parts is None:
        return [Cell(row.raw.strip(), row.norm.strip(), row.line)]
    return [Cell(r, n, row.line) for r, n in parts]


@functools.lru_cache(maxsize=16384)
def _info(norm: str) -> tuple[Value, str, bool, bool, bool]:
    """(value, key, is_text, is_number, label) of a cell's normalised text."""
    v = parse_value(norm)
    if v.kind == "text":
        k = label_key(norm)
        return v, k, True, False, 0 < len(k) <= 48 and not SENTENCE_KEY.search(k)
    return v, "", False, v.kind == "number", False


def _item(raw: str, norm: str, line: int, row: int, multi: bool, pos: tuple[int, int] | None = None) -> Item:
    return Item(raw, norm, *_info(norm), line, row, multi, pos)


def _width(s: str) -> int:
    """Display width: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


@functools.lru_cache(maxsize=256)
def _spaced(word: str) -> re.Pattern:
    return re.compile(r"\s*".join(map(re.escape, word)))


def label_places(it: "Item", word: str, m: int) -> list[tuple[int, tuple[float, float, float]]]:
    """Where a text cell laid out with spaces prints a label (spaced characters allowed, 结 果 维
    持): for each occurrence, where it ends in the cell's text, and its (left edge, centre, right
    edge) in the line, counted as Item.pos[m] counts (m = 0: characters, 1: display width)."""
    out = []
    for mt in _spaced(word).finditer(it.norm):
        k, e = mt.start(), mt.end()
        a = it.pos[m] + (k if m == 0 else _width(it.raw[:k]))
        b = it.pos[m] + (e if m == 0 else _width(it.raw[:e]))
        out.append((e, (a, (a + b) / 2, b)))
    return out


def _positions(raw: str, norm: str, cells: list[tuple[str, str]]) -> list[tuple[int, int] | None]:
    """Where each cell of a line cut at spaces starts in the line (see Item.pos), found in order
    in the normalised line (NFKC keeps one character per full-width character, so the display
    width is counted on the printed line); None for all when a cell cannot be found, or when the
    line was cut at tabs or pipes (positions are not printed)."""
    if "\t" in raw or "|" in norm or len(raw) != len(norm):
        return [None] * len(cells)
    out: list[tuple[int, int] | None] = []
    at = 0
    for _, cn in cells:
        k = norm.find(cn, at) if cn else -1
        if k < 0:
            return [None] * len(cells)
        out.append((k, _width(raw[:k])))
        at = k + len(cn)
    return out


def _text_cells(raw: str, norm: str) -> tuple[list[tuple[str, str]], bool] | None:
    """The cells of a text line as (raw, norm) pairs and whether they form a row of several
    cells (positions matter); None when the line is skipped (blank, only table rules, no filled
    cell). A one-cell line yields its text alone."""
    if (not norm.strip() and raw.count("\t") < 4) or (not _RULE_CHARS.isdisjoint(norm) and _PIPE_ONLY.match(norm)):
        return None
    parts = _split_text(raw, norm)
    if parts is None:
        return [(raw.strip(), norm.strip())], False
    filled = [p for p in parts if p[1]]
    if not filled:
        # a tab-separated row whose every cell is blank is a row of blank cells (a table export);
        # a line of pipes or spaces only is a rule, dropped above
        return (list(parts), True) if "\t" in raw and len(parts) >= 5 else None
    first = filled[0][1]
    first_text = parse_value(first).kind == "text"
    # a row of several cells of which only the label is filled is a real table row of blank
    # cells (' |  | 3.危及… |  |  | …'), not a label on a line of its own
    multi = len(filled) > 1 or len(parts) >= 4 or (first_text and len(parts) >= 3 and parts[0][1] == first)
    return (list(parts), True) if multi else ([filled[0]], False)


def _tab_led(rows: list[Row]) -> bool:
    """Whether the report prints its cells on tab-led lines (then a line below a one-cell tab
    line may continue that cell)."""
    tab_lines = nonempty = 0
    for r in rows:
        if r.norm.strip():
            nonempty += 1
        if r.kind == "text" and r.raw.startswith("\t"):
            tab_lines += 1
    return nonempty > 0 and tab_lines >= max(5, 0.2 * nonempty)


def stream(rows: list[Row]) -> list[Item]:
    """Flatten rows into items. Text lines that continue a tab-led cell (a line without a leading
    tab directly below a one-cell tab line, both non-numeric) are joined to that cell, as in
    '\\t本年新' / '公开数量'."""
    tab_led = _tab_led(rows)
    items: list[Item] = []
    rowno = 0
    prev_single_tab: Item | None = None  # last item if it came from a one-cell tab-led line
    for r in rows:
        if r.kind == "table":
            cells = [c for c in (r.cells or []) if not c.span]
            prev_single_tab = None
            if len(cells) < 5 and not any(c.norm for c in cells):
                continue  # an empty spacer row (a wide row of blank cells is data: kept)
            items.extend(_item(c.raw, c.norm, c.line, rowno, len(cells) > 1) for c in cells)
            rowno += 1
            continue
        got = _text_cells(r.raw, r.norm)
        if got is None:
            prev_single_tab = None
            continue
        cells, multi = got
        if multi:
            pos = _positions(r.raw, r.norm, cells)
            items.extend(_item(cr, cn, r.line, rowno, True, p) for (cr, cn), p in zip(cells, pos))
            prev_single_tab = None
            rowno += 1
            continue
        cr, cn = cells[0]
        it = _item(cr, cn, r.line, rowno, False, _positions(r.raw, r.norm, cells)[0])
        if (
            tab_led
            and prev_single_tab is not None
            and prev_single_tab.is_text
            and it.is_text
            and len(compact(cn)) <= 30
            and not r.raw.startswith("\t")
        ):
            # continuation of the previous tab-led cell
            joined = _item(prev_single_tab.raw + cr, prev_single_tab.norm + cn, prev_single_tab.line, prev_single_tab.row, False)
            items[-1] = prev_single_tab = joined
            continue
        items.append(it)
        prev_single_tab = it if r.raw.startswith("\t") else None
        rowno += 1
    return items


# ---------------------------------------------------------------------------------------------
# Collecting the values that belong to a label


@dataclass(slots=True)
class Collected:
    items: list[Item] | None  # exactly n items (values or blanks) in column order, or None
    end: int  # index of the first item after what was consumed
    seen: list[Item]  # every value item looked at (for messages)
    problem: str | None = None  # why the values could not be placed
    ambiguous: bool = False


def windows(vals: list[Item], n: int) -> list[list[Item]]:
    """Ways to read n columns out of a row holding more cells than columns: only blank cells may
    be dropped, and only at the ends (they are separators or merged-cell artefacts)."""
    # window a (vals[a:a+n]) drops vals[:a] and vals[a+n:]: all blank when a <= the number of
    # leading blanks and len(vals) - a - n <= the number of trailing blanks
    m = len(vals)
    lead, trail = blank_ends(vals)
    return [vals[a : a + n] for a in range(max(0, m - n - trail), min(lead, m - n) + 1)]


def blank_ends(vals: list[Item]) -> tuple[int, int]:
    """How many blank cells a row of values starts with, and ends with (a row of blank cells only:
    all of them, either way)."""
    m = len(vals)
    lead = 0
    while lead < m and vals[lead].value.kind == "blank":
        lead += 1
    trail = 0
    while trail < m and vals[m - 1 - trail].value.kind == "blank":
        trail += 1
    return lead, trail


def collect(items: list[Item], j: int, n: int, verify=None, skip_units: bool = False) -> Collected:
    """Collect the n values that follow the label at items[j].

    In a multi-cell row the values are the cells after the label in the same row, aligned by
    position (blank cells count). Otherwise the values are the value items that follow, up to the
    next text item. `verify(list_of_items) -> bool` breaks ties between alignments (e.g. the row
    total must equal the sum of its parts)."""
    lab = items[j]
    k = j + 1
    n_items = len(items)
    if lab.multi:
        row = lab.row
        same = []
        while k < n_items and items[k].row == row:
            same.append(items[k])
            k += 1
        if skip_units:
            same = [x for x in same if not (x.is_text and x.key in _UNIT_KEYS)]
        if same:
            for cut, x in enumerate(same):
                if x.is_text:
                    # a label cell among the values: keep only what precedes it
                    if cut == 0:
                        return Collected(None, j + 1, [], None)
                    return Collected(None, j + 1 + cut, same[:cut], f"text cell '{x.raw}' among the values")
            if len(same) == n:
                return Collected(same, k, same)  # as _align: one cell per column
            return _align(same, n, k, verify, at_end=k >= n_items)
        # label alone in its row: the values are on the following rows
    vals: list[Item] = []
    while k < n_items:
        x = items[k]
        if x.is_text:
            if skip_units and x.key in _UNIT_KEYS:
                k += 1
                continue
            break
        if x.multi:
            # a whole row of values
            row = x.row
            block = []
            while k < n_items and items[k].row == row:
                block.append(items[k])
                k += 1
            if any(b.is_text for b in block):
                vals.extend(b for b in block if not b.is_text)
                break
            vals.extend(block)
            if len([v for v in vals if v.value.kind != "blank"]) >= n or len(vals) >= n:
                break
            continue
        vals.append(x)
        k += 1
        if len(vals) >= n and not (k < n_items and not items[k].is_text and not items[k].multi):
            break
        if len(vals) > n:
            break
    if not vals:
        return Collected(None, k, [], None)
    if len(vals) == n:
        return Collected(vals, k, vals)
    if len(vals) > n:
        blanks_ok = windows(vals, n)
        if len(blanks_ok) == 1:
            return Collected(blanks_ok[0], k, vals)
        last = vals[-1]
        if len(vals) == n + 1 and k >= n_items and re.fullmatch(r"\d{1,2}\.?", last.raw.strip()):
            # the document ends with the ordinal of the next label, cut off ('2' of '2.其他…')
            return Collected(vals[:n], k, vals)
        # more numbers than columns: a label was probably not recognised
        return Collected(None, k, vals, f"{len(vals)} values where {n} were expected")
    return Collected(None, k, vals, f"{len(vals)} of {n} values visible")


def _align(vals: list[Item], n: int, end: int, verify, at_end: bool = False) -> Collected:
    if len(vals) == n:
        return Collected(vals, end, vals)
    if len(vals) > n and all(v.value.kind == "blank" for v in vals):
        return Collected(vals[:n], end, vals)  # a row of blank cells: every column blank
    if at_end and len(vals) > n and vals[-1].value.kind != "blank" and vals[0].value.kind == "blank":
        # the document ends inside this row: leading empty cells may be padding of the label or
        # blank columns, and the row may have lost its last cells. Accept it only when the row
        # proves itself (its total equals the sum of its parts).
        cands = windows(vals, n)
        if not (len(cands) == 1 and verify is not None and verify(cands[0])):
            return Collected(None, end, vals, "the document ends in this row, which may be cut off")
    if len(vals) < n:
        filled = [v for v in vals if v.value.kind != "blank"]
        if not filled:
            return Collected(None, end, vals, "no values printed")
        return Collected(None, end, vals, f"row has {len(vals)} cells for {n} columns (blank cells collapsed?)")
    cands = windows(vals, n)
    if len(cands) == 1:
        return Collected(cands[0], end, vals)
    if not cands:
        return Collected(None, end, vals, f"row has {len(vals)} filled cells for {n} columns")
    if verify is not None:
        good = [c for c in cands if verify(c)]
        if len(good) == 1:
            return Collected(good[0], end, vals, ambiguous=True)
    return Collected(None, end, vals, "blank cells at both ends: cannot tell which column is empty", ambiguous=True)


_UNIT_KEYS = frozenset({"件", "条", "次", "个", "人", "人次", "万元", "元", "项", "篇", "期", "份", "单位", "家", "宗"})
