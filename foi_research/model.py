"""The data carried from stage to stage: a value as printed (Val), a finding (Problem), and the
rows of every contract table for one file (Parsed)."""
from __future__ import annotations

from dataclasses import dataclass, field

TABLES = ("reports", "requests", "appeals", "proactive", "legacy", "quality")


@dataclass(slots=True)
class Val:
    value: int | float | None
    raw: str
    line: int
    unit: str | None = None


@dataclass
class Problem:
    check: str
    severity: str
    message: str
    context: dict = field(default_factory=dict)
    line: int | None = None


@dataclass
class Parsed:
    """Rows of every table for one file."""

    reports: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    appeals: list[dict] = field(default_factory=list)
    proactive: list[dict] = field(default_factory=list)
    legacy: list[dict] = field(default_factory=list)
    quality: list[dict] = field(default_factory=list)

    def extend(self, other: "Parsed") -> None:
        for t in TABLES:
            getattr(self, t).extend(getattr(other, t))

    def rows(self, table: str) -> list[dict]:
        return getattr(self, table)


class PackedParsed(Parsed):
    """A Parsed held as columns: what parse_paths yields (and a worker process sends back: its
    pickle is a fraction of that of the row dicts). The row lists (reports, requests, ...) are
    rebuilt on first access, so it is used like any Parsed; DatasetWriter reads the columns
    directly (packed_columns)."""

    def __init__(self, parsed: Parsed):
        self._cols: dict[str, tuple[int, dict[str, list]]] = {}
        self._rows: dict[str, list[dict]] = {}
        for t in TABLES:
            rows = getattr(parsed, t)
            packed = _pack(rows)
            if packed is None:
                self._rows[t] = rows
            else:
                self._cols[t] = packed

    def packed_columns(self, table: str) -> tuple[int, dict[str, list]] | None:
        """(number of rows, column -> values) while the table has not been turned into rows."""
        return self._cols.get(table)

    def row_count(self, table: str) -> int:
        c = self._cols.get(table)
        return c[0] if c is not None else len(self._rows[table])

    def __eq__(self, other):
        if not isinstance(other, Parsed):
            return NotImplemented
        return all(getattr(self, t) == getattr(other, t) for t in TABLES)

    __hash__ = None  # type: ignore[assignment]


def _pack(rows: list[dict]) -> tuple[int, dict[str, list]] | None:
    """Columns of row dicts that all have the same keys (else None: kept as rows)."""
    if not rows:
        return 0, {}
    keys = tuple(rows[0])
    nk = len(keys)
    for r in rows:
        if len(r) != nk:
            return None
    try:
        return len(rows), {k: [r[k] for r in rows] for k in keys}
    except KeyError:
        return None


def _unpack(packed: tuple[int, dict[str, list]]) -> list[dict]:
    n, cols = packed
    if not cols:
        return [{} for _ in range(n)]
    keys = list(cols)
    return [dict(zip(keys, vals)) for vals in zip(*cols.values())]


def _table_property(table: str) -> property:
    def get(self):
        rows = self._rows.get(table)
        if rows is None:
            rows = self._rows[table] = _unpack(self._cols.pop(table))
        return rows

    def put(self, rows):
        self._cols.pop(table, None)
        self._rows[table] = rows

    return property(get, put, doc=f"{table} rows (row dicts)")


for _t in TABLES:
    setattr(PackedParsed, _t, _table_property(_t))
del _t


def quality_row(report_id: str, p: Problem) -> dict:
    d = {
        "report_id": report_id,
        "check": p.check,
        "severity": p.severity,
        "message": p.message,
        "row_code": None,
        "applicant": None,
        "proceeding": None,
        "indicator": None,
        "item": None,
        "measure": None,
        "line": p.line,
    }
    for k, v in (p.context or {}).items():
        if k in d:
            d[k] = v
    return d


