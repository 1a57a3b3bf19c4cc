"""Table 3 (收到和处理政府信息公开申请情况) read against its template.

The template fixes the rows (their order, per era, from reference/codes.yaml) and the seven
applicant columns. A document prints some of those rows, in that order, as label text followed
by values; but the labels may lose or change characters, wrap around their numbers, print a
group header one character per line, or sit apart from their values, and the values may lose
blank cells or lose the spaces between them. So the reader does not require each label to match
on its own:

1. The table's region is cut into *groups* (runs of value cells: one table row, or one value per
   line) and the label text around each group.
2. The groups are aligned to the template's row sequence as a whole (a dynamic-programming
   alignment, as for two sequences): a group matched to a row scores the similarity of its label
   text to the row's printed labels (tolerating dropped, substituted and extra characters: a
   longest common subsequence) and keeps the order; groups that are not data, and rows not
   printed, are skipped at a cost. Both templates (2019, 2021) are tried; the better wins.
3. Each matched group offers one or more *readings* of its seven cells (blank cells at the ends
   of a wide row, blank cells lost from a one-cell-per-line copy, a row of digits printed without
   separators). One reading is kept only when it is the only one, or when the accounting
   identities of the table (reference/identities.py) single it out; otherwise the row's cells
   are left null and a quality finding says why and what was printed. A row placed by its
   position alone (its label is unreadable) is kept only when the identities confirm it or it
   sits between label-matched rows with nothing else to take its place.

Values are never changed: a table whose totals do not add up is read as printed and flagged by
validate.checks.
"""
from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field

from rapidfuzz.distance import LCSseq

from foi_research.model import Problem, Val
from foi_research.parse.cells import cell_value, ends_section, placements
from foi_research.parse.layout import SENTENCE_KEY, Item, label_places, windows
from foi_research.reference import codes, identities
from foi_research.reference.codes import APPLICANTS, match_request_row
from foi_research.reference.normalize import Value, compact, label_key

N = len(APPLICANTS)  # 7 columns
_ORG = [a for a in APPLICANTS if a not in ("natural_person", "total")]


# ---------------------------------------------------------------------------------------------
# The template's rows and how their labels are recognised


@dataclass(frozen=True)
class RowSpec:
    code: str
    keys: tuple[str, ...]  # label keys scored by similarity (the printed label, distinctive parts)
    exact: tuple[str, ...]  # short labels that must be the whole label ('其他', '总计')
    veto: tuple[str, ...]
    group: str | None


@functools.lru_cache(maxsize=None)
def template_rows(template: str) -> tuple[RowSpec, ...]:
    out = []
    for c in codes.V("request_rows"):
        if template not in c.extra.get("templates", []):
            continue
        main = label_key(c.zh)
        keys = [k for k in dict.fromkeys([main, *c.match]) if len(k) >= 3]
        exact = tuple(dict.fromkeys([*(c.exact or ()), *([main] if len(main) <= 2 else [])]))
        out.append(RowSpec(c.code, tuple(keys), exact, c.veto, c.extra.get("group")))
    return tuple(out)


def _veto_free(text: str, veto: tuple[str, ...]) -> str:
    for v in veto:
        if v in text:
            text = text.replace(v, "")
    return text


def label_score(spec: RowSpec, before: str, last_label: str, after: str, last_text: str | None = None) -> float:
    """How well the label text around a group names this row, from 0 to 1. The label nearest the
    values counts first (earlier text between two groups may be the label of a row printed
    without values, or a group header); the whole text since the previous group counts when the
    nearest label alone is weak (a label wrapped over lines, a group label printed one character
    per line). 1 when a distinctive label of the row is printed whole (or a short label is the
    whole last label), else the share of the row's printed label found in order, squared (chance
    overlaps of common characters such as 政府信息公开申请 count little). `after` is the text after
    the values (a label wrapped around its numbers ends there)."""
    if last_label and last_label in spec.exact:
        return 1.0
    if not spec.keys:
        return 0.0
    last_text = last_label if last_text is None else last_text
    # the nearest label: its key (no notes in parentheses, ordinal or Markdown marks), or its text
    near = max(_score(spec, last_label, after, cut=False), _score(spec, last_text, after))
    if near >= STRONG or before == last_text:
        return near
    return max(near, 0.95 * _score(spec, before, after))


def _score(spec: RowSpec, text: str, after: str, cut: bool = True) -> float:
    longest = max(len(k) for k in spec.keys)
    near = _veto_free(text[-(2 * longest + 12) :] if cut else text, spec.veto)
    for k in spec.keys:
        if k in near:
            return 1.0
    # the printed label with characters lost, changed or added: the share of it found in order
    k = spec.keys[0]
    n = len(k)
    s = LCSseq.similarity(k, near) / n
    if s < 1.0 and after and n >= 8:
        # a long label wrapped around its values: its end is printed after them
        s = max(s, LCSseq.similarity(k, near + _veto_free(after[: n + 4], spec.veto)) / n - 0.05)
    return s * s


# ---------------------------------------------------------------------------------------------
# Groups of values and the label text around them


@dataclass
class Group:
    vals: list[Item]
    i0: int  # items[i0:i1] holds the group
    i1: int
    before: str = ""  # compacted label text since the previous group
    last_label: str = ""  # label_key of the last label cell before the group
    last_text: str = ""  # its compacted text
    label_raw: str = ""  # the printed label, for messages
    header: list = field(default_factory=list)  # the first group: the text cells above it
    after: str = ""
    line: int = 0


_GLUE_MIN = 7  # a digit string this long in table 3 holds several cells printed without separators


def _is_value(it: Item) -> bool:
    return not it.is_text


def find_start(items: list[Item], start: int = 0) -> int:
    """Index where table 3 starts: the header block (申请人情况 …) or its first row label; for
    an excerpt that starts mid-table, its first row label followed by seven values."""
    from foi_research.parse.layout import collect

    first = -1
    for j in range(start, len(items)):
        it = items[j]
        if it.label and match_request_row(it.key, None) == "new_received":
            first = j
            break
    if first < 0:
        for j in range(start, len(items)):
            it = items[j]
            if not it.label or _t3_candidate(it.key) is None:
                continue
            col = collect(items, j, N)
            if col.items is not None and all(v.value.kind == "number" for v in col.items):
                first = j
                break
    if first < 0:
        # no row label legible on its own: the header of the table (申请人情况, the identity
        # note) starts it when value rows follow it
        for j in range(start, len(items)):
            it = items[j]
            if it.is_text and it.label and ("申请人情况" in it.key or "勾稽关系" in it.key):
                if any(not x.is_text for x in items[j + 1 : j + 40]):
                    first = j
                break
    if first < 0:
        return -1
    # the header (applicant columns, the identity note) above the first row recognised: the
    # table starts there (its first row may have a label no longer legible on its own). Above
    # a first row found by its label, the header is near; above one found as the first row
    # printed whole (the rows before it lost labels or cells), it may be far
    k = first
    reach = 60 if match_request_row(items[first].key, None) == "new_received" else len(items)
    for j in range(first - 1, max(start, first - reach) - 1, -1):
        it = items[j]
        if not it.is_text:
            continue
        key = it.key
        if "第二十条" in key or "行政许可" in key or "政府集中采购" in key or "事业性收费" in key:
            break  # table 2 above
        if "申请人情况" in key or "勾稽关系" in key or "自然人" in key or "收到和处理政府信息公开申请" in key:
            k = j
    return k


@functools.lru_cache(maxsize=16384)
def _t3_candidate(key: str) -> str | None:
    """A table-3 row label an excerpt of table 3 may start with: not a label of the pre-2019
    statistics table, not a bare 总计/合计."""
    if codes.match_legacy_label(key, None) is not None:
        return None
    code = match_request_row(key, None) or (match_request_row(key, "other") if key == "其他" else None)
    if code is None or code == "total_handled" and key in ("总计", "合计"):
        return None
    return code


_ORDINAL_ONLY = re.compile(r"\d{1,2}\.?")
def is_t4_start(items: list[Item], j: int) -> bool:
    it = items[j]
    if not it.is_text:
        return False
    if codes.match_proceeding(it.key) != "reconsideration":
        return False
    if "数量" in it.key:  # legacy 行政复议数量
        return False
    if len(it.key) <= 12:
        return True
    return "诉讼" in it.key and len(it.key) <= 40 and not SENTENCE_KEY.search(it.key)


def groups_in(items: list[Item], s: int) -> tuple[list[Group], int]:
    """The value groups from items[s] to the end of table 3's region, and that end."""
    out: list[Group] = []
    labels: list[Item] = []
    j = s
    n = len(items)
    end = n
    while j < n:
        it = items[j]
        if it.is_text:
            if j > s and (is_t4_start(items, j) or ends_section(it)):
                end = j
                break
            if not it.label:
                if SENTENCE_KEY.search(it.key) and out:
                    end = j
                    break  # prose after the table
                j += 1
                continue
            labels.append(it)
            j += 1
            continue
        # a run of values: the rest of a table row, or one value per line
        i0 = j
        vals = []
        if it.multi:
            row = it.row
            while j < n and items[j].row == row and not items[j].is_text:
                vals.append(items[j])
                j += 1
            if all(v.value.kind == "blank" for v in vals) and (
                (j < n and items[j].row == row) or (i0 > 0 and items[i0 - 1].row == row and items[i0 - 1].is_text and len(vals) < N)
            ):
                continue  # empty cells around the text of a row (indentation, merged cells, pipes)
        else:
            while j < n and not items[j].is_text and not items[j].multi:
                vals.append(items[j])
                j += 1
        if j >= n and not it.multi and len(vals) > N and _ORDINAL_ONLY.fullmatch(vals[-1].raw.strip()):
            vals.pop()  # the document ends with the ordinal of the next label, cut off ('2' of '2.其他…')
        # several whole rows printed one after another with their labels elsewhere (PDF text in
        # reading order: '二、上年结转… 34 0 0 0 0 0 34 1288 21 0 0 50 3 1362 447 …' with (一)予以公开
        # printed further down): a run of m x 7 values in which every seven end with their sum
        # is m rows, the rows after the first placed by their position
        m = len(vals) // N
        rows = [vals]
        if m >= 2 and len(vals) == m * N and all(_row_ok(tuple(vals[k * N : (k + 1) * N])) for k in range(m)):
            rows = [vals[k * N : (k + 1) * N] for k in range(m)]
        for k, part in enumerate(rows):
            g = Group(part, i0 + k * N if len(rows) > 1 else i0, i0 + (k + 1) * N if len(rows) > 1 else j, line=part[0].line)
            g.before = "".join(compact(x.norm) for x in labels)
            g.last_label = labels[-1].key if labels else ""
            g.last_text = compact(labels[-1].norm) if labels else ""
            g.label_raw = " ".join(x.raw.strip() for x in labels[-3:])
            if not out:
                g.header = list(labels)
            if out:
                out[-1].after = _continuation(labels)
            labels = []
            out.append(g)
    if out and labels:
        out[-1].after = _continuation(labels)
    return out, end


_NEW_LABEL = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.,]|\(?[一二三四五六七八九十\d]{1,3}\)|\d{1,2}[、.,](?!\d))")


def _continuation(labels: list[Item]) -> str:
    """The text after a group that may end its wrapped label: the first label cell after it,
    unless that cell starts a new row (an ordinal of its own)."""
    if not labels:
        return ""
    first = compact(labels[0].norm)
    return "" if _NEW_LABEL.match(first) else first


# ---------------------------------------------------------------------------------------------
# Readings of a group


Reading = tuple  # seven Items or None (a blank cell not printed)


def _glued(it: Item) -> bool:
    if it.value.kind != "number":
        return False
    r = compact(it.raw)
    return r.isdigit() and (len(r) >= _GLUE_MIN or (len(r) >= 2 and r[0] == "0"))


def split_digits(s: str, parts: int, limit: int = 64) -> list[list[int]]:
    """Ways to cut a digit string into `parts` numbers (no leading zeros) whose last equals the
    sum of the others (a table-3 row: six applicant columns and their total)."""
    out: list[list[int]] = []
    L = len(s)
    for tl in range(1, L - parts + 2):
        t = s[L - tl :]
        if len(t) > 1 and t[0] == "0":
            continue
        total = int(t)
        prefix = s[: L - tl]

        def rec(pos: int, k: int, acc: int, got: list[int]):
            if len(out) >= limit:
                return
            if k == 1:
                rest = prefix[pos:]
                if rest and (len(rest) == 1 or rest[0] != "0") and acc + int(rest) == total:
                    out.append(got + [int(rest), total])
                return
            for ln in range(1, len(prefix) - pos - k + 2):
                piece = prefix[pos : pos + ln]
                if len(piece) > 1 and piece[0] == "0":
                    break
                v = int(piece)
                if acc + v > total:
                    break
                rec(pos + ln, k - 1, acc + v, got + [v])

        rec(0, parts - 1, 0, [])
    return out


class _Glued:
    """A cell cut out of a digit string printed without separators."""

    __slots__ = ("raw", "line", "value", "norm")

    def __init__(self, v: int, src: Item):
        self.raw = str(v)
        self.norm = str(v)
        self.line = src.line
        self.value = Value("number", v, None)


def readings(g: Group, allow_sparse: bool) -> tuple[list[Reading], str]:
    """The readings of a group as seven cells (None for a cell not printed), and how they were
    found: 'exact' (one cell per column), 'ends' (blank cells dropped at the ends of a wide row),
    'glued' (digits printed without separators), 'sparse' (blank cells lost: the printed values
    placed in order among the seven columns; only when `allow_sparse`)."""
    vals = g.vals
    k = len(vals)
    if k == N:
        return [tuple(vals)], "exact"
    if k > N:
        w = windows(vals, N)
        return [tuple(x) for x in w], "ends"
    glued = [i for i, v in enumerate(vals) if _glued(v)]
    if glued and k == 1:
        s = compact(vals[0].raw)
        return [tuple(_Glued(v, vals[0]) for v in sp) for sp in split_digits(s, N)], "glued"
    if glued:
        # some cells glued, some not: cut each glued string into enough parts
        need = N - (k - len(glued))
        if len(glued) == 1 and need >= 2:
            i = glued[0]
            s = compact(vals[i].raw)
            out = []
            for sp in _free_splits(s, need):
                cells = list(vals[:i]) + [_Glued(v, vals[i]) for v in sp] + list(vals[i + 1 :])
                out.append(tuple(cells))
            return out, "glued"
    if not allow_sparse or k == 0:
        if k == 0 and allow_sparse:
            return [tuple([None] * N)], "sparse"
        return [], "sparse"
    return placements(vals, N), "sparse"


def _free_splits(s: str, parts: int, limit: int = 200) -> list[list[int]]:
    """Ways to cut a digit string into `parts` numbers without leading zeros (no sum known)."""
    out: list[list[int]] = []

    def rec(pos, k, got):
        if len(out) >= limit:
            return
        if k == 1:
            rest = s[pos:]
            if rest and (len(rest) == 1 or rest[0] != "0"):
                out.append(got + [int(rest)])
            return
        for ln in range(1, len(s) - pos - k + 2):
            piece = s[pos : pos + ln]
            if len(piece) > 1 and piece[0] == "0":
                break
            rec(pos + ln, k - 1, got + [int(piece)])

    rec(0, parts, [])
    return out


def _num(cell) -> int | float | None:
    if cell is None:
        return None
    v = cell.value
    if v.kind == "number":
        return v.value
    return None  # blank marks, text


def _prefer_row_total(rs: list[Reading]) -> list[Reading]:
    """The readings whose row total is the sum of their parts, when some are; else all of them
    (a blank total, or a source whose total does not add up, leaves the table's identities to
    decide)."""
    good = [r for r in rs if _row_ok(r)]
    return good or rs


def _row_ok(reading: Reading) -> bool | None:
    """The row identity on a reading: True/False, None when the total is blank."""
    tot = _num(reading[-1])
    if tot is None:
        return None
    return sum(_num(c) or 0 for c in reading[:-1]) == tot


# ---------------------------------------------------------------------------------------------
# Alignment


SKIP_GROUP = 0.35  # a group of values that is not a row of the table (cost)
SKIP_ROW = 0.02  # a template row not printed (cost: rows printed without values are common)
POSITION = 0.3  # reward for placing a group at its place in the sequence
STRONG = 0.5  # a label score from which a match is 'named by its label'


@dataclass
class Alignment:
    template: str
    score: float
    pairs: list[tuple[int, int]]  # (group index, template row index)
    label: dict[tuple[int, int], float]

    @property
    def matched(self) -> float:
        """What the matched groups score (labels and places), without the costs of skips."""
        return sum(self.label.values()) + POSITION * len(self.pairs)


@functools.lru_cache(maxsize=1 << 15)
def _similarities(template: str, before: str, last_label: str, after: str, last_text: str) -> tuple[float, ...]:
    """label_score of the text around a group for each row of the template. Cached: the labels
    of the official templates are printed the same way in most reports, and this is the
    parser's largest single cost (about a quarter of reading a report)."""
    specs = template_rows(template)
    near = tuple(label_score(sp, last_text, last_label, after, last_text) for sp in specs)
    if max(near, default=0) >= STRONG:
        return near  # the nearest label names a row: earlier text is another row's
    return tuple(label_score(sp, before, last_label, after, last_text) for sp in specs)


def align(gs: list[Group], template: str) -> Alignment:
    specs = template_rows(template)
    G, R = len(gs), len(specs)
    sim = [_similarities(template, g.before, g.last_label, g.after, g.last_text) for g in gs]
    shape = [len(g.vals) for g in gs]
    NEG = float("-inf")
    f = [[NEG] * (R + 1) for _ in range(G + 1)]
    back: list[list[tuple[int, int, int] | None]] = [[None] * (R + 1) for _ in range(G + 1)]
    for j in range(R + 1):
        f[0][j] = 0.0  # rows before the first group printed: a copy may start mid-table
    for i in range(G + 1):
        for j in range(R + 1):
            cur = f[i][j]
            if cur == NEG:
                continue
            if i < G and cur - SKIP_GROUP > f[i + 1][j]:
                f[i + 1][j] = cur - SKIP_GROUP
                back[i + 1][j] = (i, j, 0)
            if j < R and cur - SKIP_ROW > f[i][j + 1]:
                f[i][j + 1] = cur - SKIP_ROW
                back[i][j + 1] = (i, j, 1)
            if i < G and j < R:
                s = sim[i][j]
                k = shape[i]
                # a group that cannot hold seven cells is only taken when its label names the row
                feasible = k == N or (k > N) or _has_glue(gs[i]) or s >= STRONG
                if not feasible:
                    continue
                v = cur + s + POSITION
                if v > f[i + 1][j + 1]:
                    f[i + 1][j + 1] = v
                    back[i + 1][j + 1] = (i, j, 2)
    # best end: every group consumed (trailing ones skipped), any row
    best_j = max(range(R + 1), key=lambda j: f[G][j])
    pairs = []
    i, j = G, best_j
    while i > 0 or j > 0:
        b = back[i][j]
        if b is None:
            break
        pi, pj, kind = b
        if kind == 2:
            pairs.append((pi, pj))
        i, j = pi, pj
    pairs.reverse()
    return Alignment(template, f[G][best_j], pairs, {(gi, rj): sim[gi][rj] for gi, rj in pairs})


def _has_glue(g: Group) -> bool:
    return any(_glued(v) for v in g.vals)


# ---------------------------------------------------------------------------------------------
# The result


@dataclass
class T3:
    found: bool = False
    start: int = -1
    end: int = -1
    columns: list[str] = field(default_factory=lambda: list(APPLICANTS))
    cells: dict[tuple[str, str], Val] = field(default_factory=dict)
    rows: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    template: str | None = None  # the template whose rows the table follows
    other_as_group: bool = False
    other_total_row: bool = False
    finished: bool = False  # reached carried_forward

    @property
    def template_votes(self) -> str | None:
        return self.template

    def missing_rows(self, template: str) -> list[str]:
        return [r for r in codes.rows_for_template(template) if r not in self.rows]


def read_t3(items: list[Item], template_hint: str | None = None) -> T3:
    t = T3()
    s = find_start(items)
    if s < 0:
        for j, it in enumerate(items):
            if it.is_text and ("勾稽关系" in it.key or it.key == "申请人情况"):
                t.found, t.start, t.end = True, j, len(items)
                t.problems.append(Problem("t3_truncated", "warning", "table 3 header printed but no row of it is visible (document cut off)", line=it.line))
                return t
        return t
    gs, end = groups_in(items, s)
    t.found, t.start, t.end = True, s, end
    if not gs:
        t.problems.append(Problem("t3_truncated", "warning", "table 3 header printed but no row of it is visible (document cut off)", line=items[s].line))
        return t
    cands = [align(gs, tp) for tp in ("2021", "2019")]
    # the templates compared by what their rows match (their lengths differ: not by skips)
    if abs(cands[0].matched - cands[1].matched) < 1e-9:
        # the values do not tell the templates apart (the rows only one of them prints have no
        # values here): the labels printed in the table do, else the report's notice or year
        body = items[gs[0].i0 : end]  # below the header (whose 其他 is a column)
        ev = {a.template: _template_evidence(body, a.template) for a in cands}
        key = lambda a: (ev[a.template], a.template == template_hint)  # noqa: E731
    else:
        key = lambda a: (a.matched, a.template == template_hint)  # noqa: E731
    al = max(cands, key=key)
    _settle(t, items, gs, al, end)
    return t


# ---------------------------------------------------------------------------------------------
# Columns from printed positions (text laid out with spaces: pdftotext -layout, pandoc, copies
# of PDF pages): a blank cell is a gap, and a value's column is where it is printed


def _center(v: Item, m: int) -> float:
    return v.pos[m] + len(v.raw) / 2


def _positional(gs: list[Group], al: Alignment, codes_: list[str]) -> dict[int, Reading]:
    """For matched groups printed with fewer values than columns, the reading their printed
    positions give, when the table's layout shows its columns: the rows printed whole (seven
    values) give each column's place, else the places where values are printed, mapped onto the
    columns in order (the mapping the table's identities single out). Positions are counted in
    characters and in display width (converters differ); the count whose columns line up best is
    used. {} when positions are not printed or do not line up."""
    cand = [gi for gi, _ in al.pairs if gs[gi].vals and all(v.pos is not None for v in gs[gi].vals) and not _has_glue(gs[gi])]
    sparse = [gi for gi in cand if len(gs[gi].vals) < N]
    if not sparse:
        return {}
    best: tuple[float, dict[int, Reading]] | None = None
    for m in (0, 1):
        got = _positional_by(gs, cand, sparse, m, al, codes_)
        if got is not None and (best is None or got[0] < best[0]):
            best = got
    return best[1] if best else {}


def _clusters(xs: list[float], tol: float) -> list[list[float]]:
    out: list[list[float]] = []
    for x in sorted(xs):
        if out and x - out[-1][-1] <= tol:
            out[-1].append(x)
        else:
            out.append([x])
    return out


def _positional_by(gs, cand, sparse, m, al, codes_):
    full = [gi for gi in cand if len(gs[gi].vals) == N]
    if full:
        centers = [sorted(_center(gs[gi].vals[k], m) for gi in full)[len(full) // 2] for k in range(N)]
        spread = sum(abs(_center(gs[gi].vals[k], m) - centers[k]) for gi in full for k in range(N)) / (N * len(full))
        mapping_options = [list(range(N))]
    else:
        xs = [_center(v, m) for gi in cand for v in gs[gi].vals]
        cl = _clusters(xs, 2.5)
        if not (2 <= len(cl) <= N):
            return None
        centers = [sum(c) / len(c) for c in cl]
        spread = sum(max(c) - min(c) for c in cl) / len(cl)
        mapping_options = [list(comb) for comb in itertools.combinations(range(N), len(cl))]
    gaps = [b - a for a, b in zip(centers, centers[1:])]
    if not gaps or min(gaps) < 3:
        return None
    tol = min(gaps) * 0.45
    # each value to its nearest column place
    place: dict[int, list[int]] = {}
    for gi in cand:
        ks = []
        for v in gs[gi].vals:
            c = _center(v, m)
            k = min(range(len(centers)), key=lambda i: abs(centers[i] - c))
            if abs(centers[k] - c) > tol or (ks and k <= ks[-1]):
                return None  # a value between columns, or two in one: no column layout
            ks.append(k)
        place[gi] = ks
    # the columns the places stand for: given by full rows, else the mapping the identities pick
    readings_by_map = []  # (mapping, readings), in the order of mapping_options
    for mp in mapping_options:
        rs = {}
        for gi in sparse:
            cells: list = [None] * N
            for v, k in zip(gs[gi].vals, place[gi]):
                cells[mp[k]] = v
            rs[gi] = tuple(cells)
        readings_by_map.append((mp, rs))
    if len(readings_by_map) == 1:
        return spread, readings_by_map[0][1]
    idents = identities.t3_identities(al.template)
    scored = []
    for mp, rs in readings_by_map:
        vals = {}
        for gi, rj in al.pairs:
            if gi in rs:
                reading = rs[gi]
            elif len(gs[gi].vals) == N:
                reading = tuple(gs[gi].vals)
            else:
                continue
            for a, c in zip(APPLICANTS, reading):
                vals[(codes_[rj], a)] = _num(c) if c is not None else None
        bad, known = identities.violations(idents, vals)
        # (the same mapping moves every row: the column sums hold under any of them, and a
        # mapping that leaves the total column empty leaves the row totals unchecked; the
        # mapping under which the most identities hold is the table's)
        scored.append((-(known - bad), bad, rs, mp))
    scored.sort(key=lambda s: (s[0], s[1]))
    if scored[0][0] == 0:
        return None
    top = [s for s in scored if s[:2] == scored[0][:2]]
    if len(top) > 1:
        # the identities hold under several mappings (they cannot tell the organisation columns
        # apart): the header's printed labels say which column each place is under
        heads = _header_places(gs, m)
        if len(heads) < len(centers):
            return None
        # each place's values and each label: left edge, centre, right edge. Converters align
        # cells left, centred or right, the same way for values and labels: the mapping is taken
        # under the alignment whose edges meet (within a character and a half on average), and
        # only when the next mapping is clearly farther
        edges = []
        for k in range(len(centers)):
            vs = [v for gi in cand for v, kk in zip(gs[gi].vals, place[gi]) if kk == k]
            lo = sum(v.pos[m] for v in vs) / len(vs)
            hi = sum(v.pos[m] + len(v.raw) for v in vs) / len(vs)
            edges.append((lo, (lo + hi) / 2, hi))
        best = None
        for h in range(3):
            dist = sorted(
                (sum(abs(edges[k][h] - heads[s[3][k]][h]) for k in range(len(centers))) / len(centers), n)
                for n, s in enumerate(top)
            )
            if dist[0][0] <= 1.5 and (len(dist) == 1 or dist[1][0] - dist[0][0] >= 2) and (best is None or dist[0][0] < best[0]):
                best = (dist[0][0], top[dist[0][1]][2])
        if best is None:
            return None
        return spread, best[1]
    return spread, scored[0][2]


def _header_places(gs: list[Group], m: int) -> dict[int, tuple[float, float, float]]:
    """Where the header prints each applicant column's label (column index -> left edge, centre,
    right edge), from the
    text lines before the table's first values that carry their positions."""
    from foi_research.reference.codes import V

    out: dict[int, float] = {}
    labels = [(i, c.zh) for i, c in enumerate(V("applicants"))]
    for it in gs[0].header if gs else []:
        if it.pos is None:
            continue
        for i, zh in labels:
            if i in out:
                continue
            for e, place in label_places(it, zh, m):
                if zh == "其他" and it.norm[e : e + 2] == "组织":
                    continue  # 法人或其他组织
                out[i] = place
                break
    return out


def _template_evidence(region: list[Item], template: str) -> int:
    """Labels in the table that only this template prints (the 2021 template's three rows of
    (六), the 2019 template's (六)其他处理 printed with values)."""
    own = set(codes.rows_for_template(template)) - set(codes.rows_for_template("2019" if template == "2021" else "2021"))
    specs = [sp for sp in template_rows(template) if sp.code in own]
    n = 0
    for j, it in enumerate(region):
        if not (it.is_text and it.label):
            continue
        for sp in specs:
            if sp.code == "other_total":
                # (六)其他处理 is a group header in the 2021 template: evidence only with values after it
                nxt = region[j + 1] if j + 1 < len(region) else None
                if nxt is None or nxt.is_text:
                    continue
            if it.key in sp.exact and not _NEW_LABEL.match(compact(it.norm)):
                continue  # 其他 without an ordinal: the applicant column of a repeated header
            if label_score(sp, compact(it.norm), it.key, "") >= 0.8:
                n += 1
    return n


def _label_text(g: Group) -> str:
    return g.label_raw or "(no label)"


def _settle(t: T3, items: list[Item], gs: list[Group], al: Alignment, end: int) -> None:
    specs = template_rows(al.template)
    codes_ = [sp.code for sp in specs]
    matched = {rj: gi for gi, rj in al.pairs}
    t.template = al.template if al.pairs else None
    # Readings of every matched row
    options: dict[str, list[Reading]] = {}
    how: dict[str, str] = {}
    weak: set[str] = set()
    undecided_end: dict[str, str] = {}
    cut: dict[str, Group] = {}
    placed = _positional(gs, al, codes_)
    for gi, rj in al.pairs:
        code = codes_[rj]
        g = gs[gi]
        strong = al.label[(gi, rj)] >= STRONG
        # (at the document's end a row printed by positions is whole when its total is printed)
        if gi in placed and not (g.i1 >= len(items) and placed[gi][-1] is None):
            options[code] = [placed[gi]]
            how[code] = "position"
            if not strong:
                weak.add(code)
            continue
        if g.i1 >= len(items) and len(g.vals) < N and not _has_glue(g):
            cut[code] = g  # the document ends inside this row: it is not complete
            continue
        rs, kind = readings(g, allow_sparse=strong)
        if g.i1 >= len(items) and (kind != "exact" or (g.vals[0].multi and g.vals[0].value.kind == "blank")):
            # the document ends inside this row: leading empty cells may be padding of the label
            # and the row may have lost its last cells; a reading must prove itself (its total is
            # the sum of its parts)
            first = tuple(g.vals[:N])
            if kind == "ends" and g.vals[0].value.kind != "blank" and first in rs and all(v.value.kind == "blank" for v in g.vals[N:]):
                rs = [first]  # its first cell is a value and all its columns are printed: only blank cells follow
            else:
                rs = [r for r in rs if _row_ok(r)]
            if not rs:
                undecided_end[code] = "the document ends in this row, which may be cut off"
        if kind == "ends" and len(rs) > 1:
            # blank cells at the ends of a wide row: a reading whose total is the sum of its
            # parts is preferred (the others stay candidates when none is)
            rs = _prefer_row_total(rs)
            if len(rs) == 1:
                how[code] = "ends-total"
                options[code] = rs
                if not strong:
                    weak.add(code)
                continue
        options[code] = rs
        how[code] = kind
        if not strong:
            weak.add(code)
    # Choose among readings with the identities
    chosen, undecided = _choose(options, al.template)
    undecided.update(undecided_end)
    # Rows placed by position only: kept when the identities confirm them, or when they sit
    # between rows named by their labels with nothing else to take their place
    for code in list(chosen):
        if code in weak and not _confirmed(code, chosen, al, codes_, matched, gs):
            undecided[code] = "its label is not legible and its place in the table is not certain"
            del chosen[code]
    # Result
    last_group_end = t.start
    for rj, code in enumerate(codes_):
        if rj not in matched:
            continue
        g = gs[matched[rj]]
        last_group_end = max(last_group_end, g.i1)
        if code in cut:
            t.problems.append(
                Problem("t3_truncated", "warning", f"table 3 is cut off in row '{_label_text(g)}' (printed: {' | '.join(v.raw for v in g.vals)})", {"row_code": code}, g.line)
            )
            continue
        t.rows.append(code)
        printed = " | ".join(v.raw for v in g.vals) or "(nothing)"
        if code in chosen:
            reading = chosen[code]
            if how[code] in ("glued", "sparse", "ends-total", "position") or (how[code] == "ends" and len(options[code]) > 1):
                why = {
                    "position": "blank cells printed as spaces; values placed in the columns where they are printed",
                    "ends-total": "blank cells at both ends; columns placed where the row's total is the sum of its parts",
                    "glued": "its values were printed without separators; the cut kept is the only one the table's totals allow",
                    "sparse": "fewer values than columns were printed (blank cells lost in this copy); they were placed where the table's totals allow",
                    "ends": "blank cells at both ends; columns placed by the table's totals",
                }[how[code]]
                t.problems.append(Problem("t3_alignment", "info", f"table 3 row '{_label_text(g)}': {why} (printed: {printed})", {"row_code": code}, g.line))
            if code in weak:
                t.problems.append(
                    Problem("t3_alignment", "info", f"table 3 row {code} recognised by its place in the table " + (f"(label printed as '{_label_text(g)}')" if g.label_raw else "(its values follow the previous row's without a label: the label is printed elsewhere or not at all)"), {"row_code": code}, g.line)
                )
            for a, cell in zip(t.columns, reading):
                if cell is None:
                    t.cells[(code, a)] = Val(None, "", g.line)
                    continue
                val, err = cell_value(cell)
                t.cells[(code, a)] = val
                if err:
                    t.problems.append(Problem("t3_bad_cell", "warning", f"table 3 {code}/{a}: {err}", {"row_code": code, "applicant": a}, cell.line))
                elif val.value is not None and val.value < 0:
                    t.problems.append(Problem("t3_negative", "warning", f"table 3 {code}/{a} is negative ({cell.raw})", {"row_code": code, "applicant": a}, cell.line))
        else:
            why = undecided.get(code) or "its values cannot be placed in the seven columns"
            at_end = g.i1 >= len(items)
            if at_end and len(g.vals) < N:
                t.rows.pop()
                t.problems.append(Problem("t3_truncated", "warning", f"table 3 is cut off in row '{_label_text(g)}' (printed: {printed})", {"row_code": code}, g.line))
                continue
            t.problems.append(
                Problem("t3_row_unreadable", "warning", f"table 3 row '{_label_text(g)}': {why}; cells left null (printed: {printed})", {"row_code": code}, g.line)
            )
    # Rows printed with a label and no values at all
    _empty_rows(t, items, gs, al, codes_, matched)
    # Groups inside the table left out
    used = {gi for gi, _ in al.pairs}
    if al.pairs:
        first_g = min(used)
        last_g = max(used)
        for gi, g in enumerate(gs):
            if gi in used or len(g.vals) < 3 or all(v.value.kind == "blank" for v in g.vals):
                continue
            if first_g < gi < last_g or (gi > last_g and len(g.vals) >= N):
                t.problems.append(
                    Problem(
                        "t3_unplaced_values",
                        "warning",
                        f"{len(g.vals)} value(s) in table 3 that follow no recognised row label ({', '.join(v.raw for v in g.vals[:8])}); left out",
                        line=g.line,
                    )
                )
    t.rows.sort(key=codes_.index)
    t.finished = "carried_forward" in t.rows
    t.other_total_row = "other_total" in t.rows
    t.other_as_group = al.template == "2021" and any(r in t.rows for r in ("other_no_correction", "other_no_fee", "other_other"))
    if not t.finished and t.rows:
        last = max(matched[codes_.index(r)] for r in t.rows if codes_.index(r) in matched) if any(codes_.index(r) in matched for r in t.rows) else None
        if last is not None and gs[last].i1 >= len(items):
            if not any(p.check == "t3_truncated" for p in t.problems):
                t.problems.append(Problem("t3_truncated", "warning", "table 3 is cut off after row " + t.rows[-1], {"row_code": t.rows[-1]}, gs[last].line))
    t.end = max(last_group_end, t.end if t.end <= len(items) else len(items))


def _confirmed(code: str, chosen: dict, al: Alignment, codes_: list[str], matched: dict, gs: list[Group]) -> bool:
    """A row matched by position: confirmed when the identities that involve it can be checked
    and hold, or when the nearest matched rows on both sides are named by their labels and the
    groups between them are exactly the rows between them."""
    vals = _values(chosen)
    idents = [i for i in identities.t3_identities(al.template) if any(c[0] == code for c in i.cells) and not i.name.startswith("row:")]
    checked = [identities.residual(i, vals) for i in idents]
    checked = [r for r in checked if r is not None]
    if checked and all(r == 0 for r in checked):
        return True
    rj = codes_.index(code)
    lo = [(r, g) for r, g in matched.items() if r < rj]
    hi = [(r, g) for r, g in matched.items() if r > rj]
    if not lo or not hi:
        return False
    (rl, gl), (rh, gh) = max(lo), min(hi)
    if al.label.get((gl, rl), 0) < STRONG or al.label.get((gh, rh), 0) < STRONG:
        return False
    return (gh - gl) == (rh - rl) and not checked


def _values(chosen: dict) -> dict:
    out = {}
    for code, reading in chosen.items():
        for a, cell in zip(APPLICANTS, reading):
            out[(code, a)] = _num(cell) if cell is not None else None
    return out


def _choose(options: dict[str, list[Reading]], template: str) -> tuple[dict[str, Reading], dict[str, str]]:
    """One reading per row: the only one, or the one the identities single out. A row with
    several readings keeps one only when every way of reading the whole table that satisfies
    its identities reads that row the same way."""
    chosen = {c: rs[0] for c, rs in options.items() if len(rs) == 1}
    undecided: dict[str, str] = {}
    open_: dict[str, list[Reading]] = {}
    for c, rs in options.items():
        if len(rs) == 1:
            continue
        if not rs:
            undecided[c] = "its values cannot be placed in the seven columns"
            continue
        classes = _classes(_prefer_row_total(rs))
        if len(classes) == 1:
            chosen[c] = classes[0]
            continue
        open_[c] = classes
    if not open_:
        return chosen, undecided
    best = _solve(open_, chosen, template)
    for c, rs in open_.items():
        if best is None:
            undecided[c] = f"{len(rs)} ways to read its values into the seven columns; too many combinations to check against the table's totals"
        elif len(best[c]) == 1:
            chosen[c] = best[c][0]
        else:
            undecided[c] = f"{len(rs)} ways to read its values into the seven columns and the table's totals do not single one out"
    return chosen, undecided


def _vector(reading: Reading) -> tuple:
    return tuple(_num(c) or 0 for c in reading)


def _classes(rs: list[Reading]) -> list[Reading]:
    """Readings that give every cell the same number (a blank counting as 0) are one reading:
    a cell printed in all of them is kept, a cell some leave blank is blank."""
    by: dict[tuple, list[Reading]] = {}
    for r in rs:
        by.setdefault(_vector(r), []).append(r)
    out = []
    for group in by.values():
        if len(group) == 1:
            out.append(group[0])
        else:
            out.append(tuple(cells[0] if all(c is not None for c in cells) else None for cells in zip(*group)))
    return out


def _solve(open_: dict[str, list[Reading]], fixed: dict[str, Reading], template: str, budget: int = 5_000):
    """For each open row, the readings it has in the ways of reading the whole table that break
    the fewest identities (a source whose totals do not add up breaks some whatever the
    reading); None when the search exceeds its budget. A branch-and-bound search: an identity
    whose reachable range no longer holds 0 counts as broken. The range of each identity is kept
    up to date as rows are chosen."""
    idents = identities.t3_identities(template)
    rows = sorted(open_, key=lambda c: len(open_[c]))
    known = _values(fixed)
    col = {a: i for i, a in enumerate(APPLICANTS)}
    vecs = {r: [_vector(x) for x in open_[r]] for r in rows}
    lo = {r: [min(v[k] for v in vecs[r]) for k in range(N)] for r in rows}
    hi = {r: [max(v[k] for v in vecs[r]) for k in range(N)] for r in rows}
    A: list[float] = []  # lower end of each identity's reachable residual
    B: list[float] = []  # upper end
    touch: dict[str, list[tuple[int, int, int]]] = {r: [] for r in rows}  # row -> (identity, column, sign)
    for ident in idents:
        if ident.name.startswith("row:"):
            continue  # applied to each reading already
        a = b = 0
        terms = []
        unknown = False
        for (row, app), sign in ident.terms:
            if row in open_:
                terms.append((row, col[app], sign))
                l, h = lo[row][col[app]] * sign, hi[row][col[app]] * sign
                a += min(l, h)
                b += max(l, h)
            elif (row, app) in known:
                a += sign * (known[(row, app)] or 0)
                b += sign * (known[(row, app)] or 0)
            else:
                unknown = True
                break
        if unknown or not terms:
            continue
        idx = len(A)
        A.append(a)
        B.append(b)
        for row, k, sign in terms:
            touch[row].append((idx, k, sign))
    if not A:
        return {r: list(open_[r]) for r in rows}  # nothing to check the readings against
    seen: dict[str, set[int]] = {r: set() for r in rows}  # readings of each row in the best ways
    best = [len(A) + 1]
    pick: dict[str, int] = {}
    nodes = 0
    done = [False]

    def broken() -> int:
        return sum(1 for a, b in zip(A, B) if not (a <= 0 <= b))

    def rec(i: int) -> None:
        nonlocal nodes
        nodes += 1
        if nodes > budget or done[0]:
            return
        if i == len(rows):
            n = broken()
            if n < best[0]:
                best[0] = n
                for s in seen.values():
                    s.clear()
            if n == best[0]:
                for r in rows:
                    seen[r].add(pick[r])
                # nothing left to decide: every row already has two readings as good, or all
                # of its readings
                done[0] = n == 0 and all(len(seen[r]) >= min(2, len(vecs[r])) for r in rows)
            return
        r = rows[i]
        for k, vec in enumerate(vecs[r]):
            pick[r] = k
            # narrow each identity the row takes part in to the chosen reading
            saved = []
            for idx, c, sign in touch[r]:
                saved.append((idx, A[idx], B[idx]))
                l, h = lo[r][c] * sign, hi[r][c] * sign
                x = vec[c] * sign
                A[idx] += x - min(l, h)
                B[idx] += x - max(l, h)
            if broken() <= best[0]:
                rec(i + 1)
            for idx, a, b in saved:
                A[idx], B[idx] = a, b
            if nodes > budget or done[0]:
                break
        del pick[r]

    rec(0)
    if nodes > budget:
        return None
    return {r: [open_[r][k] for k in sorted(s)] for r, s in seen.items()}


def _empty_rows(t: T3, items: list[Item], gs: list[Group], al: Alignment, codes_: list[str], matched: dict) -> None:
    """A row whose label is printed with no value after it (before the next row's label):
    every cell blank, flagged."""
    specs = template_rows(al.template)
    lab_items = [(j, it) for j, it in enumerate(items[t.start : t.end], start=t.start) if it.is_text and it.label]
    for rj, sp in enumerate(specs):
        if rj in matched:
            continue
        lo = max((gs[g].i1 for r, g in matched.items() if r < rj), default=t.start)
        hi = min((gs[g].i0 for r, g in matched.items() if r > rj), default=t.end)
        if not any(r > rj for r in matched):
            continue  # after the last row found: cut off, not blank
        for j, it in lab_items:
            if not (lo <= j < hi):
                continue
            sc = label_score(sp, it.key, it.key, "")
            if sc < 0.8:
                continue
            # the label must be followed by another label (no value of its own)
            nxt = items[j + 1] if j + 1 < len(items) else None
            if nxt is not None and not nxt.is_text:
                continue
            t.rows.append(sp.code)
            t.problems.append(Problem("t3_row_empty", "warning", f"table 3 row '{it.raw}' has no values printed; cells left null", {"row_code": sp.code}, it.line))
            for a in t.columns:
                t.cells[(sp.code, a)] = Val(None, "", it.line)
            break
