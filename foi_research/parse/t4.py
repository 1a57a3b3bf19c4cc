"""Table 4 (政府信息公开行政复议、行政诉讼情况) read against its template.

Fifteen cells: three proceedings (行政复议; 行政诉讼 未经复议直接起诉; 行政诉讼 复议后起诉) x five
outcomes (结果维持, 结果纠正, 其他结果, 尚未审结, 总计). Copies print them as one row of fifteen,
one value per line, three separate five-column tables (each under its own heading), two tables
(复议, then 诉讼 with ten columns), with a header repeated between the parts, or as one string of
digits. The reader takes the values of the table's region in order, assigns each run of values
to the proceedings its heading names (or to the next ones in template order), and where a run
can be read several ways (blank cells lost or dropped at the ends, digits without separators)
keeps a reading only when the identities (each 总计 = the sum of its four outcomes) single it
out. The outcome order is the template's unless the printed header names all fifteen columns in
another order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from foi_research.model import Problem, Val
from foi_research.parse.layout import Item, blank_ends, label_places, windows
from foi_research.parse.cells import cell_value, ends_section, placements
from foi_research.parse.t3 import is_t4_start
from foi_research.reference import identities
from foi_research.reference.codes import APPEAL_OUTCOMES, PROCEEDINGS, V, match_appeal_outcome, match_proceeding
from foi_research.reference.normalize import Value, compact

W = len(APPEAL_OUTCOMES)  # 5 outcomes
TOTAL = len(PROCEEDINGS) * W  # 15 cells


@dataclass
class T4:
    found: bool = False
    start: int = -1
    end: int = -1
    cells: dict[tuple[str, str], Val] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    complete: bool = False


def find_start(items: list[Item], start: int = 0) -> int:
    for j in range(max(0, start), len(items)):
        if is_t4_start(items, j):
            window = items[j + 1 : j + 40]
            outcomes = {match_appeal_outcome(w.key) for w in window if w.is_text and w.label and len(w.key) <= 8}
            split_litigation = any(w.is_text and ("复议后起诉" in w.norm or "未经复议" in w.norm) for w in window[:12])
            if len(outcomes - {None}) >= 2 or split_litigation or "复议后起诉" in items[j].key:
                return j
    return -1


@dataclass
class _Run:
    vals: list[Item]
    head: str  # compacted text since the previous run
    line: int
    multi: bool
    i0: int = 0  # index of the run's first item


def _runs(items: list[Item], j0: int) -> tuple[list[_Run], list[str], int]:
    """Runs of values after the table's start, the outcome labels printed before the first run,
    and the end of the region."""
    runs: list[_Run] = []
    order: list[str] = []
    text: list[str] = []
    j = j0
    n = len(items)
    while j < n:
        it = items[j]
        if it.is_text:
            if j > j0 and ends_section(it):
                break
            if runs and sum(len(r.vals) for r in runs) >= TOTAL and not (it.label and _header_word(it.key)):
                break  # text after the fifteen values: the table is over
            if it.label:
                if not runs:
                    o = match_appeal_outcome(it.key)
                    if o and len(it.key) <= 8:
                        order.append(o)
                text.append(compact(it.norm))
            j += 1
            continue
        vals = []
        i0 = j
        if it.multi:
            row = it.row
            while j < n and items[j].row == row and not items[j].is_text:
                vals.append(items[j])
                j += 1
            if j < n and items[j].row == row and all(v.value.kind == "blank" for v in vals):
                continue  # empty cells before a label of the row
        else:
            while j < n and not items[j].is_text and not items[j].multi:
                vals.append(items[j])
                j += 1
        if it.multi and all(v.value.kind == "blank" for v in vals) and (
            len(vals) < W
            or (i0 > 0 and items[i0 - 1].row == it.row and items[i0 - 1].is_text)
            or (not runs and len(vals) < TOTAL and not _after_outcome_header(items, i0))
        ):
            continue  # a row of blank cells inside the header, or empty cells after a heading's text
        runs.append(_Run(vals, "".join(text), vals[0].line, it.multi, i0))
        text = []
    return runs, order, j


def _after_outcome_header(items: list[Item], i0: int) -> bool:
    """Whether the nearest text before items[i0] is an outcome label (总计 …): the header is
    over, and a row of blank cells there is a row of values, all blank."""
    for j in range(i0 - 1, -1, -1):
        if items[j].is_text:
            return match_appeal_outcome(items[j].key) is not None
    return False


def _header_word(key: str) -> bool:
    return bool(match_appeal_outcome(key) or match_proceeding(key) or key in ("行政诉讼", "结果", "其他", "尚未", "审结", "总计"))


def _proceeding_named(head: str) -> str | None:
    """The proceeding a heading names (the last one named, nearest the values)."""
    best, at = None, -1
    for code, words in (("litigation_after_reconsideration", ("复议后起诉",)), ("litigation_direct", ("未经复议", "直接起诉")), ("reconsideration", ("行政复议",))):
        for w in words:
            k = head.rfind(w)
            if k > at:
                best, at = code, k
    return best


def _positional(items: list[Item], j0: int, run: _Run, width: int = TOTAL) -> tuple | None:
    """The fifteen cells of a run printed with spaces for blank cells (pdftotext -layout, pandoc):
    each value stands under one of the fifteen outcome labels of the header, found by where they
    are printed (counted in characters or in display width, whichever lines up). None when the
    positions are not printed or do not line up."""
    if not run.vals or any(v.pos is None for v in run.vals):
        return None
    words = [o.zh for o in V("appeal_outcomes")]
    heads = [it for it in items[j0 : run.i0] if it.is_text and it.pos is not None]
    found = []  # (average distance, cells) of every way of counting and aligning that works
    for m in (0, 1):
        places = []
        for it in heads:
            for w in words:
                places.extend(place for _, place in label_places(it, w, m))
        places.sort()
        if len(places) != width:
            continue
        gap = min(q[1] - p[1] for p, q in zip(places, places[1:])) if width > 1 else 99
        if gap <= 0:
            continue
        for h in range(3):  # values and labels aligned left, centred or right (one way for all)
            cells: list = [None] * width
            last = -1
            cost = 0.0
            for v in run.vals:
                e = (v.pos[m], v.pos[m] + len(v.raw) / 2, v.pos[m] + len(v.raw))[h]
                d = [abs(e - pl[h]) for pl in places]
                k = min(range(width), key=d.__getitem__)
                if k <= last or d[k] > gap / 2:
                    break
                cells[k] = v
                last = k
                cost += d[k]
            else:
                if cost <= 1.5 * len(run.vals):  # within a character and a half on average
                    found.append((cost, tuple(cells)))
    # every way that works must agree
    if not found or len({tuple(id(c) if c is not None else None for c in f[1]) for f in found}) != 1:
        return None
    return found[0][1]


def _blocks(r: _Run) -> int | None:
    """How many five-column blocks a run holds: its cells without blank cells at its ends (empty
    cells outside a Markdown row's pipes, padding) fill whole blocks, or None."""
    vals = r.vals
    k = len(vals)
    if k % W == 0:
        return k // W
    if 0 < k < W and all(v.pos is not None for v in vals):
        return 1  # one block whose blank cells are spaces (placed by their positions)
    lead, trail = blank_ends(vals)
    core = max(0, k - lead - trail)
    for nb in range(max(1, -(-core // W)), k // W + 1):
        if core <= nb * W <= k:
            return nb
    return None


def _outcomes_after_name(head: str) -> int:
    """How many outcome labels the text prints after the last proceeding it names."""
    at = max((head.rfind(w) for w in ("复议后起诉", "未经复议", "直接起诉", "行政复议")), default=-1)
    if at < 0:
        return -1
    rest = head[at:]
    return sum(rest.count(o.zh) for o in V("appeal_outcomes"))


def _num(c) -> int | float | None:
    if c is None:
        return None
    return c.value.value if c.value.kind == "number" else None


class _Cut:
    __slots__ = ("raw", "norm", "line", "value")

    def __init__(self, v: int, src: Item):
        self.raw = self.norm = str(v)
        self.line = src.line
        self.value = Value("number", v, None)


def _blocks_ok(reading: tuple) -> list[bool | None]:
    """_block_ok of each five-cell block of a reading."""
    return [_block_ok(reading[i : i + W]) for i in range(0, len(reading), W)]


def _block_ok(cells) -> bool | None:
    tot = _num(cells[-1])
    if tot is None:
        if all(_num(c) in (None, 0) for c in cells):
            return True
        return None
    return sum(_num(c) or 0 for c in cells[:-1]) == tot


def _split_blocks(s: str, blocks: int) -> list[list[int]]:
    """Cut a digit string into `blocks` x 5 numbers without leading zeros, each block's last the
    sum of its first four."""
    out: list[list[int]] = []

    def rec(pos: int, b: int, got: list[int]):
        if len(out) > 16:
            return
        if b == 0:
            if pos == len(s):
                out.append(got)
            return
        # the four parts, then the total
        def parts(p: int, k: int, acc: list[int]):
            if k == 0:
                tot = sum(acc)
                t = str(tot)
                if s.startswith(t, p):
                    rec(p + len(t), b - 1, got + acc + [tot])
                return
            for ln in range(1, min(7, len(s) - p) + 1):
                piece = s[p : p + ln]
                if len(piece) > 1 and piece[0] == "0":
                    break
                parts(p + ln, k - 1, acc + [int(piece)])

        parts(pos, W - 1, [])

    rec(0, blocks, [])
    return out


def _readings(run: _Run, width: int, allow_sparse: bool) -> list[tuple]:
    """Readings of a run as `width` cells (None: a blank not printed)."""
    vals = run.vals
    k = len(vals)
    if k == width:
        return [tuple(vals)]
    if k > width:
        return [tuple(w) for w in windows(vals, width)]
    if k == 1 and vals[0].value.kind == "number" and compact(vals[0].raw).isdigit() and len(compact(vals[0].raw)) >= width // W * W and width % W == 0:
        s = compact(vals[0].raw)
        if len(s) >= width:
            return [tuple(_Cut(v, vals[0]) for v in sp) for sp in _split_blocks(s, width // W)]
    if k == 0:
        return []
    if run.multi and all(v.pos is not None for v in vals):
        return []  # laid out with spaces: blank cells anywhere are spaces (see _positional)
    if run.multi:
        # a row of cells whose blank cells at an end were dropped (pipe copies)
        pad = [None] * (width - k)
        return [tuple(list(vals) + pad), tuple(pad + list(vals))]
    if allow_sparse:
        return placements(vals, width)
    return []


def read_t4(items: list[Item], start: int = 0) -> T4:
    t = T4()
    j0 = find_start(items, start)
    if j0 < 0:
        return t
    t.found, t.start = True, j0
    runs, order, end = _runs(items, j0)
    t.end = end
    if not runs:
        if end < len(items) and ends_section(items[end]):
            # the header, then the next section: a table whose every cell is blank (empty rows
            # are not printed in this copy)
            for p in PROCEEDINGS:
                for o in APPEAL_OUTCOMES:
                    t.cells[(p, o)] = Val(None, "", items[j0].line)
            t.complete = True
            t.problems.append(Problem("t4_blank", "info", "table 4 printed without any value: every cell blank", line=items[j0].line))
            return t
        t.problems.append(Problem("t4_truncated", "warning", "table 4 header printed but its values are cut off", line=items[j0].line))
        return t
    cols = _columns(order)
    # Which proceedings each run holds: named by its heading, else the next in order
    plan: list[tuple[_Run, list[str]]] = []
    pieced = False
    blocks = [_blocks(r) for r in runs]
    # one run of one block under a heading of its own (the other parts printed empty and dropped):
    # its heading names it when the outcome labels printed after that heading are one block's
    one_named = len(runs) == 1 and blocks[0] == 1 and _outcomes_after_name(runs[0].head) == W
    if len(runs) == 1 and not one_named:
        plan = [(runs[0], list(PROCEEDINGS))]
    elif all(b is not None for b in blocks) and sum(blocks) <= len(PROCEEDINGS):
        # each run holds whole blocks: a run of one block belongs to the proceeding its heading
        # names (parts may be printed in another order), else to the next one not yet read
        taken: set[str] = set()
        for r, nb in zip(runs, blocks):
            free = [p for p in PROCEEDINGS if p not in taken]
            if not free:
                break
            named = _proceeding_named(r.head) if r.head else None
            nblocks = max(1, min(len(free), nb))
            if named and nblocks == 1 and named in free:
                procs = [named]
            elif named and named != "reconsideration" and nblocks == 2 and {"litigation_direct", "litigation_after_reconsideration"} <= set(free):
                procs = ["litigation_direct", "litigation_after_reconsideration"]
            else:
                procs = free[:nblocks]
            plan.append((r, procs))
            taken.update(procs)
    else:
        # runs that are not whole blocks: values cut apart by stray text (one value per line,
        # a page break) or printed out of order; read them in order, but keep the reading only
        # when every total adds up
        merged = _Run([v for r in runs for v in r.vals], runs[0].head, runs[0].line, all(r.multi for r in runs))
        plan = [(merged, list(PROCEEDINGS))]
        pieced = True
    # Readings and the choice among them
    options: list[tuple[list[str], list[tuple]]] = []
    unconfirmed: set[int] = set()
    for r, procs in plan:
        width = W * len(procs)
        at_end = bool(r.vals) and r.vals[-1] is items[-1]
        # a run the document ends in, with fewer cells than columns, was cut off
        # (values read in order from pieces: only as printed, never spread over blank cells)
        rs = [] if (at_end or pieced) and len(r.vals) < width else _readings(r, width, allow_sparse=True)
        placed_as_printed = False
        if len(r.vals) < width and not at_end and not pieced:
            # the labels printed above this run (since the run before it)
            before = [x for x in runs if x.i0 < r.i0]
            lo = (before[-1].i0 + len(before[-1].vals)) if before else j0
            by_place = _positional(items, lo, r, width)
            if by_place is not None:
                rs = [by_place]  # blank cells printed as spaces: the values stand under their labels
                placed_as_printed = True
        if len(rs) > 1:
            ok = [x for x in rs if False not in _blocks_ok(x)]
            full = [x for x in ok if all(_blocks_ok(x))]
            rs = full if len(full) == 1 else ok
            if len(rs) > 1 and _equivalent(rs):
                rs = [_merge(rs)]
        if pieced:
            rs = [x for x in rs if all(_blocks_ok(x))]
        elif (
            len(r.vals) != width
            and len(rs) == 1
            and not placed_as_printed
            and list(rs[0]) != list(r.vals[:width])
            and False in _blocks_ok(rs[0])
        ):
            # cells were placed, or cells before the last columns dropped, to read the run, and
            # a total then does not add up: the placement is not confirmed (a source whose
            # totals do not add up is kept as printed when only blank cells after its last
            # column were dropped: separators and merged-cell artefacts of scraped pages)
            rs = []
            unconfirmed.add(id(r))
        options.append((procs, rs))
    placed = False
    for (r, _), (procs, rs) in zip(plan, options):
        printed = " | ".join(v.raw for v in r.vals)
        if len(rs) != 1:
            why = "cannot be placed in the columns" if not rs else f"can be read {len(rs)} ways and the totals do not single one out"
            if pieced and not rs:
                why = "printed in pieces whose totals do not add up when read in order (out of order in this copy?)"
            elif id(r) in unconfirmed:
                why = "and placed in the columns a total does not add up (a blank cell lost or added in this copy?)"
            if r.vals and len(r.vals) < W * len(procs) and r.vals[-1] is items[-1]:
                t.problems.append(Problem("t4_truncated", "warning", f"only {len(r.vals)} of the {W * len(procs)} table-4 values are visible; cells left null", line=r.line))
            else:
                t.problems.append(
                    Problem("t4_row_unreadable", "warning", f"table 4 values of {', '.join(procs)}: printed as {len(r.vals)} cells for {W * len(procs)} columns, {why}; cells left null (printed: {printed})", {"proceeding": procs[0]}, r.line)
                )
            continue
        reading = rs[0]
        if len(r.vals) > W * len(procs) and list(reading) == list(r.vals[: W * len(procs)]):
            how = "read from the first cells (blank cells after the last column dropped)"
            t.problems.append(Problem("t4_alignment", "info", f"table 4 values of {', '.join(procs)} {how} (printed: {printed})", {"proceeding": procs[0]}, r.line))
        elif len(r.vals) != W * len(procs):
            t.problems.append(Problem("t4_alignment", "info", f"table 4 values of {', '.join(procs)} placed by the totals (printed: {printed})", {"proceeding": procs[0]}, r.line))
        for i, p in enumerate(procs):
            for o, cell in zip(cols[p], reading[i * W : (i + 1) * W]):
                if cell is None:
                    t.cells[(p, o)] = Val(None, "", r.line)
                    continue
                val, err = cell_value(cell)
                t.cells[(p, o)] = val
                if err:
                    t.problems.append(Problem("t4_bad_cell", "warning", f"table 4 {p}/{o}: {err}", {"proceeding": p}, cell.line))
        placed = True
    t.complete = placed and all((p, o) in t.cells for p in PROCEEDINGS for o in APPEAL_OUTCOMES)
    if placed and not t.complete and not any(p.check in ("t4_row_unreadable", "t4_truncated") for p in t.problems):
        missing = [p for p in PROCEEDINGS if (p, "total") not in t.cells]
        t.problems.append(Problem("t4_truncated", "warning", f"table 4: no values for {', '.join(missing)}", line=runs[-1].line))
    return t


def _equivalent(rs: list[tuple]) -> bool:
    """Readings that give every cell the same number (a blank counting as 0)."""
    first = [_num(c) or 0 for c in rs[0]]
    return all([_num(c) or 0 for c in r] == first for r in rs[1:])


def _merge(rs: list[tuple]) -> tuple:
    """One reading standing for equivalent ones: a cell printed in all of them is kept, a cell
    some of them leave blank is blank."""
    out = []
    for cells in zip(*rs):
        out.append(cells[0] if all(c is not None for c in cells) else None)
    return tuple(out)


def _columns(order: list[str]) -> dict[str, list[str]]:
    """Outcome order per proceeding: from the printed header when it names all fifteen columns,
    else the template's."""
    default = {p: list(APPEAL_OUTCOMES) for p in PROCEEDINGS}
    if len(order) != TOTAL:
        return default
    out = {}
    for i, p in enumerate(PROCEEDINGS):
        grp = order[i * W : i * W + W]
        if sorted(grp) != sorted(APPEAL_OUTCOMES):
            return default
        out[p] = grp
    return out


def identities_hold(cells: dict) -> bool:
    vals = {k: v.value for k, v in cells.items()}
    bad, _ = identities.violations(identities.t4_identities(), vals)
    return bad == 0
