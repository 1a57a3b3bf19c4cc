"""Parse documents into the contract's tables.

parse_file(path) reads one file and returns the rows of every table for the reports it holds; it
never raises for bad input (the report gets status failed and a quality row saying why).
parse_paths(paths) walks files and folders and yields those results, in parallel when asked.
"""
from __future__ import annotations

import re
from pathlib import Path

from foi_research.model import Parsed, Problem, Val, quality_row
from foi_research.parse import layout, legacy, narrative, t2 as t2reader, t3 as t3reader, t4 as t4reader
from foi_research.parse.meta import read_meta
from foi_research.parse.segment import bodyless, same_report, split
from foi_research.read.readers import Document
from foi_research.reference import codes
from foi_research.reference.codes import PROACTIVE_LAYOUT
from foi_research.reference.gazetteer import doubts, gazetteer
from foi_research.reference.normalize import WS_CLASS, compact
from foi_research.validate import checks



# The template's reference (国办公开办函〔2021〕…) and the pre-2019 table's title and header
# (…统计表 统计指标), searched in text that is not compacted: whitespace (what compact() removes)
# may sit between any two characters, so a search finds a match exactly when the compacted text
# has one ('国办公开办函[〔\[(]?2021' there).
_W = WS_CLASS + "*"


def _mark(year: str) -> re.Pattern:
    return re.compile(_W.join("国办公开办函") + _W + r"(?:[〔\[(]" + _W + r")?" + _W.join(year))


_MARK_2021_WS = _mark("2021")
_MARK_2019_WS = _mark("2019")
_STATS_HEADER_WS = re.compile(_W.join("统计表统计指标"))
# the statistics table's own title line ('附件:2018年度…工作情况统计表'), not an attachment file name
_STATS_TITLE = re.compile(r"^(?:附件\d?[::])?[^,。:;]{0,30}工作情况统计表$")
_ATTACHMENT = re.compile(r"[^\s,。]{0,40}统计表\.(?:docx?|xlsx?|pdf|wps|et)")


def _year_template(year: int | None) -> str:
    if year is None:
        return "unknown"
    if year >= 2021:
        return "2021"
    if year >= 2019:
        return "2019"
    return "narrative"


# template -> legacy.origin of its reports' figures (reference/codes.yaml, templates)
_LEGACY_ORIGIN = {str(c.code): c.extra["legacy_origin"] for c in codes.V("templates")}


def legacy_origin(template: str) -> str:
    """legacy.origin of every figure of a report of this template: `table` for a report of a
    table template (its prose restates its tables), `narrative` for a report whose figures are
    only in prose. This is how the shared evaluator reads the contract's origin; where a figure
    was printed (statistics table or prose) is legacy.printed_in."""
    return _LEGACY_ORIGIN.get(template, "narrative")


def report_id_for(path: Path, line: int) -> str:
    return f"{path.stem}:{line}"


def parse_document(doc: Document, display_path: str | None = None) -> Parsed:
    out = Parsed()
    src = display_path or str(doc.path)
    base = {
        "source_file": src,
        "source_format": doc.fmt,
        "encoding": doc.encoding,
        "script": "traditional" if doc.traditional else "simplified",
        "file_sha1": doc.sha1 or None,
    }
    if doc.fatal:
        rid = report_id_for(doc.path, 0)
        out.reports.append(_report_row(rid, base, 0, None, "unknown", "failed"))
        out.quality.append(quality_row(rid, Problem("read_error", "error", f"{src}: {doc.fatal}")))
        return out
    metas: dict[int, object] = {}
    segs = _merge_repeats([s for s in split(doc) if s.kind == "report"], metas)
    if not segs:
        rid = report_id_for(doc.path, 0)
        out.reports.append(_report_row(rid, base, 0, None, "unknown", "no_tables"))
        out.quality.append(quality_row(rid, Problem("no_report", "error", f"{src}: no annual report found in the file (only a guide or other page)")))
        return out
    seen_ids: set[str] = set()
    first_report = len(out.reports)
    for seg in segs:
        try:
            _parse_segment(doc, seg, base, out, seen_ids, metas.get(id(seg)))
        except Exception as e:  # one broken report never stops the others
            first = next((r.line for r in seg.rows if r.norm.strip()), seg.rows[0].line if seg.rows else 0)
            rid = report_id_for(doc.path, first)
            out.reports.append(_report_row(rid, base, first, None, "unknown", "failed"))
            out.quality.append(
                quality_row(rid, Problem("parse_error", "error", f"{src} line {first}: the parser failed on this report ({type(e).__name__}: {e}); please report it with the file"))
            )
    notes = _read_notes(doc, src)
    if notes:  # what the reader said about the file, on every report it holds
        for r in out.reports[first_report:]:
            out.quality.extend(quality_row(r["report_id"], p) for p in notes)
    return out


def _read_notes(doc: Document, src: str) -> list[Problem]:
    """The reader's remarks: pages read by OCR (check `ocr`: filter on it to leave out, or to
    review, figures read from images), pages not read, anything else it noticed."""
    out = []
    if doc.ocr_pages:
        pages = ", ".join(map(str, doc.ocr_pages))
        out.append(Problem("ocr", "warning", f"{src}: page(s) {pages} have no text layer and were read by OCR (rapidocr): check the figures against the page images; the identities checks flag sums that do not hold"))
    out.extend(Problem("read_warning", "warning", f"{src}: {m}") for m in doc.problems)
    return out


def _merge_repeats(segs: list, metas: dict | None = None) -> list:
    """A report printed with a page title + date and then again with its own title + date is one
    report: merge a segment that has no body (segment.bodyless) into the next when they may name
    the same report (segment.same_report: same year and agency, or one unknown). A report with a
    body is never merged: repeated reports are each a report. `metas` receives id(segment) ->
    read_meta of each returned segment that was read here (not a merged one)."""
    if len(segs) < 2:
        return segs
    out = [segs[0]]
    prev = read_meta(segs[0].rows, segs[0].date_idx)
    found = {id(segs[0]): prev}
    for s in segs[1:]:
        m = read_meta(s.rows, s.date_idx)
        last = out[-1]
        if bodyless(last) and same_report(prev.year, prev.agency, m.year, m.agency):
            found.pop(id(last), None)
            out[-1] = type(last)(last.rows + s.rows, last.kind, last.title_idx, last.date_idx)
            continue
        out.append(s)
        found[id(s)] = m
        prev = m
    if metas is not None:
        metas.update(found)
    return out


def _report_row(rid, base, line, meta, template, status, place=None) -> dict:
    d = {
        "report_id": rid,
        "source_file": base["source_file"],
        "source_line": line,
        "agency": None,
        "year": None,
        "published": None,
        "province": None,
        "city": None,
        "county": None,
        "division_code": None,
        "template": template,
        "status": status,
        "title": None,
        "published_raw": None,
        "division_level": None,
        "agency_source": None,
        "year_source": None,
        "source_format": base["source_format"],
        "encoding": base["encoding"],
        "script": base["script"],
        "file_sha1": base["file_sha1"],
    }
    if meta is not None:
        d.update(
            agency=meta.agency,
            year=meta.year,
            published=meta.published,
            title=meta.title,
            published_raw=meta.published_raw,
            agency_source=meta.agency_source,
            year_source=meta.year_source,
        )
    if place is not None:
        d.update(province=place.province, city=place.city, county=place.county, division_code=place.code, division_level=place.level)
    return d


def _parse_segment(doc: Document, seg, base: dict, out: Parsed, seen_ids: set[str], meta=None) -> None:
    """Parse one report; `meta` is read_meta of the segment when already known."""
    rows = seg.rows
    first = next((r.line for r in rows if r.norm.strip()), rows[0].line if rows else 0)
    if seg.title_idx is not None:
        first = rows[seg.title_idx].line
    rid = report_id_for(doc.path, first)
    if rid in seen_ids:
        rid = f"{rid}.{len(seen_ids)}"
    seen_ids.add(rid)
    text = "\n".join([r.norm for r in rows if r.kind == "text"])
    if meta is None:
        meta = read_meta(rows, seg.date_idx, text)
    problems: list[Problem] = []

    items = layout.stream(rows)
    marker = "2021" if _MARK_2021_WS.search(text) else "2019" if _MARK_2019_WS.search(text) else None
    by_year = _year_template(meta.year) if meta.year and meta.year >= 2019 else None
    lg = legacy.read_legacy(items)
    t3 = t3reader.read_t3(items, marker or by_year)
    t4 = t4reader.read_t4(items, t3.end if t3.found else 0) if not (lg.found and not t3.found) else t4reader.T4()

    hint = t3.template_votes or by_year or marker
    t2_end = t3.start if t3.found else (t4.start if t4.found else len(items))
    t2 = t2reader.read_t2(items, 0, t2_end, hint)

    # template
    stats_header = not lg.found and not t3.found and (
        bool(_STATS_HEADER_WS.search("".join([r.norm for r in rows])))
        or any(_STATS_TITLE.match(compact(r.norm)) for r in rows if r.kind == "text" and "表" in r.norm)
    )
    if stats_header:
        lg = legacy.read_legacy(items, min_rows=1)
    if (lg.found or stats_header) and not t3.found:
        template = "legacy-stats"
    elif t3.found or t2.found or t4.found:
        template = t3.template_votes or t2.template_vote or marker or _year_template(meta.year)
        if template not in ("2019", "2021"):
            template = "2019" if t3.other_total_row else "2021"
    else:
        template = marker or _year_template(meta.year)

    place = gazetteer().place(meta.agency, text)
    problems.extend(Problem("place_doubtful", "warning", m) for m in doubts(meta.agency, place, text))

    # ---- table 3
    t3_rows = []
    if t3.found:
        problems += t3.problems
        again = t3reader.find_start(items, t3.end) if t3.finished else -1
        if again >= 0:
            problems.append(
                Problem("t3_second_table", "warning", f"a second table 3 starts at line {items[again].line}; only the first was read (two reports in one?)", line=items[again].line)
            )
        t3_rows = list(t3.cells.items())
        if template == "2021" and all((r, a) in t3.cells for r in ("other_no_correction", "other_no_fee", "other_other") for a in t3.columns) and "other_total" not in t3.rows:
            for a in t3.columns:
                parts = [t3.cells[(r, a)] for r in ("other_no_correction", "other_no_fee", "other_other")]
                if any(p.value is not None for p in parts):
                    v = Val(sum(p.value or 0 for p in parts), None, None)
                else:
                    v = Val(None, None, None)
                out.requests.append(
                    {"report_id": rid, "row_code": "other_total", "applicant": a, "value": v.value, "raw": None, "line": None, "derived": True}
                )
        problems += checks.check_t3(t3.cells, template, t3.columns)
    out.requests.extend(
        [{"report_id": rid, "row_code": row, "applicant": app, "value": v.value, "raw": v.raw, "line": v.line, "derived": False} for (row, app), v in t3_rows]
    )

    # ---- table 4
    if t4.found:
        problems += t4.problems
        for (p, o), v in t4.cells.items():
            out.appeals.append({"report_id": rid, "proceeding": p, "outcome": o, "value": v.value, "raw": v.raw, "line": v.line})
        problems += checks.check_t4(t4.cells)

    # ---- table 2
    if t2.found:
        problems += t2.problems
        for item, meas, v in t2.cells:
            out.proactive.append(
                {"report_id": rid, "item": item, "measure": meas, "value": None if v.value is None else float(v.value), "unit": v.unit, "raw": v.raw, "line": v.line}
            )

    # ---- legacy table and prose
    origin = legacy_origin(template)
    if lg.found:
        problems += lg.problems
        for ind, v in lg.values.items():
            out.legacy.append(
                {"report_id": rid, "indicator": ind, "value": v.value, "origin": origin, "printed_in": "statistics_table", "raw": v.raw, "line": v.line}
            )
        problems += checks.check_legacy(lg.values, "statistics_table")
    figs = narrative.extract(rows)
    narr = {f.indicator: Val(f.value, f.raw, f.line) for f in figs}
    for f in figs:
        out.legacy.append({"report_id": rid, "indicator": f.indicator, "value": f.value, "origin": origin, "printed_in": "prose", "raw": f.raw, "line": f.line})
    problems += checks.check_legacy(narr, "prose", skip=("received",) if "结转" in text else ())
    problems += checks.check_narrative(narr, lg.values if lg.found else {}, t3.cells, t4.cells, template)

    # ---- status
    status, why = _status(template, t2, t3, t4, lg, rows, text)
    problems += why
    if meta.year is None:
        problems.append(Problem("year_unknown", "warning", "the document does not say which year it reports on"))
    elif meta.year_source not in ("title",):
        problems.append(Problem("year_inferred", "info", f"year {meta.year} read from the {meta.year_source} (no year in a title)"))
    if meta.agency is None:
        problems.append(Problem("agency_unknown", "warning", "the issuing agency is not named in the document (no title, no name in the text)"))
    elif meta.agency_source != "title":
        problems.append(Problem("agency_inferred", "info", f"agency '{meta.agency}' read from the text (no title line)"))
    out.reports.append(_report_row(rid, base, first, meta, template, status, place))
    out.quality.extend(quality_row(rid, p) for p in problems)


def _body_chars(rows, enough: int) -> int:
    """Characters (without whitespace) of the text rows after the first two, counted up to
    `enough` (only whether the body reaches it matters)."""
    body = 0
    for r in rows[2:]:
        if r.kind == "text":
            body += len(compact(r.norm))
            if body >= enough:
                break
    return body


def _status(template, t2, t3, t4, lg, rows, text) -> tuple[str, list[Problem]]:
    """`text`: the report's text rows, joined by line breaks."""
    why: list[Problem] = []
    body = _body_chars(rows, 40)
    if template in ("2019", "2021"):
        if not (t2.found or t3.found or t4.found):
            if body < 40:
                why.append(Problem("body_missing", "warning", "the report body is missing from the document: only its title and date are present"))
            else:
                why.append(Problem("tables_missing", "warning", f"no table of the {template} template is in the document (prose only: the copy is cut off or the tables were images or attachments)"))
            return "no_tables", why
        gaps = []
        if not t3.found:
            gaps.append("table 3 not found")
        else:
            miss = t3.missing_rows(template)
            unread = [p for p in t3.problems if p.check in ("t3_row_unreadable", "t3_truncated")]
            if miss:
                gaps.append(f"table 3 rows not found: {', '.join(miss)}")
            if unread:
                gaps.append(f"{len(unread)} table-3 row(s) unreadable")
        if not t4.found:
            gaps.append("table 4 not found")
        elif not t4.complete:
            gaps.append("table 4 values unreadable")
        if not t2.found:
            gaps.append("table 2 not found")
        else:
            expected = [c.code for c in codes.V("proactive_items") if c.extra.get("section") in PROACTIVE_LAYOUT[template]]
            expected = [e for e in expected if e != "other_docs"]
            if template == "2021":
                expected = [e for e in expected if e not in ("other_services", "procurement")]
            miss2 = [e for e in expected if e not in t2.items_seen]
            if miss2:
                gaps.append(f"table 2 items not found: {', '.join(miss2)}")
        if gaps:
            why.append(Problem("incomplete", "warning", "; ".join(gaps)))
            return "partial", why
        return "ok", why
    if template == "legacy-stats":
        need = ["received", "completed", "answered", "reconsideration", "litigation", "complaint"]
        miss = [n for n in need if n not in lg.values]
        if miss:
            why.append(
                Problem("incomplete", "warning", f"statistics table: rows not found (cut off, or not in this version of the table): {', '.join(miss)}")
            )
            return "partial", why
        return "ok", why
    # narrative or unknown
    # the pattern holds 统计表. (compacting only removes whitespace)
    att = _ATTACHMENT.search(compact(text)) if "统" in text and "." in text else None
    if body < 40:
        why.append(Problem("body_missing", "warning", "the report body is missing from the document: only its title and date are present"))
    elif att:
        why.append(Problem("table_attachment", "info", f"the statistics table was a separate attachment ({att.group(0)}) that is not in this copy; only prose figures are available"))
    else:
        why.append(Problem("narrative_only", "info", "narrative report: no statistics table in the document"))
    return "no_tables", why
