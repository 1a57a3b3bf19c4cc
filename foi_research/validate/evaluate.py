"""Score the parser against hand-checked ground truth (GROUND_TRUTH_FORMAT.md).

The measure is the one of ../shared/tools/evaluate.py: reports found (one report per truth file,
matched by file name and year), year and agency right, cell accuracy of table 3, table 4 and the
legacy figures (a blank source cell is null in the truth; 0 or null are both right for it), wrong
cells, and "silent" wrong cells: wrong values in a report that carries no quality warning and
has status ok. Legacy figures are compared with origin `narrative` for narrative reports and
`table` otherwise, as in the shared evaluator; `Scorecard.prose` also scores, on their own, the
figures stated in prose (printed_in `prose`) against the truth's legacy block: all of them for a
narrative report, and for a post-2019 report (whose legacy block holds what its prose states).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from foi_research.reference.codes import APPEAL_OUTCOMES


def _norm(s):
    return "".join((s or "").split())


@dataclass
class ReportScore:
    id: str
    report_id: str | None
    flagged: bool = False
    problems: list[str] = field(default_factory=list)  # wrong values
    missing: list[str] = field(default_factory=list)  # expected but not produced


@dataclass
class Scorecard:
    counts: dict = field(default_factory=lambda: dict(reports=0, found=0, year_ok=0, agency_ok=0, agency_n=0, t3=0, t3_ok=0, t4=0, t4_ok=0, lg=0, lg_ok=0, prose=0, prose_ok=0, wrong=0, silent=0, missing=0))
    reports: list[ReportScore] = field(default_factory=list)

    def acc(self, kind: str) -> float:
        c = self.counts
        return c[kind + "_ok"] / c[kind] if c[kind] else 1.0

    @property
    def silent(self) -> int:
        return self.counts["silent"]

    def summary(self) -> str:
        c = self.counts
        return (
            f"reports {c['found']}/{c['reports']} year_ok {c['year_ok']} agency_ok {c['agency_ok']}/{c['agency_n']} "
            f"t3_acc {self.acc('t3'):.4f} ({c['t3']} cells) t4_acc {self.acc('t4'):.4f} ({c['t4']} cells) "
            f"legacy_acc {self.acc('lg'):.4f} ({c['lg']}) prose_acc {self.acc('prose'):.4f} ({c['prose']}) "
            f"wrong {c['wrong']} silent_wrong {c['silent']} missing {c['missing']}"
        )

    def print(self, console=None, verbose: bool = False) -> None:
        out = console.print if console is not None else print
        for r in self.reports:
            if r.problems or (verbose and r.missing):
                shown = r.problems + (r.missing if verbose else [])
                out(f"{r.id}: {len(r.problems)} wrong{' (flagged)' if r.flagged else ''}: " + "; ".join(shown[: 999 if verbose else 6]))
        out(self.summary())


def _agrees(expected, got) -> bool:
    """A value agrees with the truth when equal; a blank source cell (null in the truth) may be
    read as null or 0."""
    return got == expected or (expected is None and got in (None, 0))


def score(truths: list[dict], ds: dict[str, pl.DataFrame]) -> Scorecard:
    card = Scorecard()
    c = card.counts
    reports = ds["reports"].with_columns(
        pl.col("source_file").map_elements(lambda s: Path(s).name, return_dtype=pl.String).alias("_file")
    )
    q = ds["quality"]
    for t in truths:
        c["reports"] += 1
        cand = reports.filter(pl.col("_file") == t["file"])
        if cand.height > 1 and t.get("year") is not None:
            cand = cand.filter(pl.col("year") == t["year"])
        rs = ReportScore(t["id"], None)
        card.reports.append(rs)
        if cand.height != 1:
            n3 = sum(len(v) for v in (t.get("t3") or {}).values())
            c["t3"] += n3
            c["missing"] += n3
            rs.problems.append(f"no single report matched ({cand.height} candidates)")
            continue
        rep = cand.row(0, named=True)
        rid = rs.report_id = rep["report_id"]
        c["found"] += 1
        if t.get("year") is None or rep["year"] == t["year"]:
            c["year_ok"] += 1
        else:
            rs.problems.append(f"year {rep['year']} != {t['year']}")
        if t.get("agency_in_text", True) and t.get("agency"):
            c["agency_n"] += 1
            if _norm(rep["agency"]) == _norm(t["agency"]):
                c["agency_ok"] += 1
            else:
                rs.problems.append(f"agency {rep['agency']!r} != {t['agency']!r}")
        else:
            c["agency_ok"] += 0
        flagged = q.filter((pl.col("report_id") == rid) & pl.col("severity").is_in(["error", "warning"])).height > 0
        rs.flagged = flagged or rep["status"] != "ok"

        def check(kind, label, expected, got):
            c[kind] += 1
            ok = _agrees(expected, got)
            if ok:
                c[kind + "_ok"] += 1
            elif got is None:
                c["missing"] += 1
                rs.missing.append(f"missing {label} (expected {expected})")
            else:
                c["wrong"] += 1
                if not rs.flagged:
                    c["silent"] += 1
                rs.problems.append(f"{label}: expected {expected} got {got}")

        req = ds["requests"].filter(pl.col("report_id") == rid)
        got3 = {(x["row_code"], x["applicant"]): x["value"] for x in req.iter_rows(named=True)}
        for row, cells in (t.get("t3") or {}).items():
            for appl, exp in cells.items():
                check("t3", f"t3 {row}/{appl}", exp, got3.get((row, appl)))
        ap = ds["appeals"].filter(pl.col("report_id") == rid)
        got4 = {(x["proceeding"], x["outcome"]): x["value"] for x in ap.iter_rows(named=True)}
        for proc, cells in (t.get("t4") or {}).items():
            for o in APPEAL_OUTCOMES:
                check("t4", f"t4 {proc}/{o}", cells.get(o), got4.get((proc, o)))
        lg = ds["legacy"].filter(pl.col("report_id") == rid)
        want = "narrative" if t.get("template") == "narrative" else "table"
        gotl: dict = {}
        prose: dict = {}
        for x in lg.iter_rows(named=True):
            if x["origin"] == want:
                gotl.setdefault(x["indicator"], x["value"])
            if x.get("printed_in") == "prose":
                prose.setdefault(x["indicator"], x["value"])
        # the truth's legacy block of a narrative report, and of a post-2019 report, holds the
        # figures its prose states
        in_prose = t.get("template") == "narrative" or (t.get("template") in ("2019", "2021") and not (t.get("complete") or {}).get("legacy"))
        for ind, exp in (t.get("legacy") or {}).items():
            check("lg", f"legacy {ind}", exp, gotl.get(ind))
            if in_prose:  # also scored on their own, from the rows printed in prose
                got = prose.get(ind)
                c["prose"] += 1
                c["prose_ok"] += _agrees(exp, got)
    return card


class EvaluateError(Exception):
    """The truth or document folder cannot be used; the message says why."""


def load_truths(truth_dir: str | Path) -> list[dict]:
    out = []
    for p in sorted(Path(truth_dir).glob("*.json")):
        try:
            t = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise EvaluateError(f"{p}: not a readable ground-truth JSON file ({e})") from None
        f = t.get("file") if isinstance(t, dict) else None
        if not isinstance(f, str) or not f or Path(f).name != f or f in (".", ".."):
            raise EvaluateError(f"{p}: 'file' must be the plain name of a document in the documents folder, not {f!r}")
        out.append(t)
    if not out:
        raise EvaluateError(f"{truth_dir}: no ground-truth JSON files (GROUND_TRUTH_FORMAT.md)")
    return out


def evaluate(truth_dir: str | Path, docs_dir: str | Path | None = None, workers: int | None = 1) -> Scorecard:
    """Parse the documents named by the truth files (copied to a scratch folder, as the shared
    evaluator does) and score them."""
    from foi_research.validate.dataset import DatasetWriter, read_dataset
    from foi_research.pipeline import parse_paths

    truths = load_truths(truth_dir)
    docs = Path(docs_dir) if docs_dir else Path(truth_dir)
    tmp = Path(tempfile.mkdtemp(prefix="foi-eval-"))
    try:
        work = tmp / "docs"
        work.mkdir()
        for f in sorted({t["file"] for t in truths}):
            if not (docs / f).is_file():
                raise EvaluateError(f"{docs / f}: the document named by the ground truth is missing; give --docs FOLDER")
            shutil.copy(docs / f, work / f)
        out = tmp / "out"
        with DatasetWriter(out) as w:
            for p in parse_paths([work], workers=workers):
                w.add(p)
        return score(truths, read_dataset(out))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
