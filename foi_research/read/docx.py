"""Word (.docx) files, read from the document XML with lxml: paragraphs become text rows (one per
line break), tables rows of cells with merged cells (w:gridSpan across, w:vMerge down) as span
placeholders. The text of a paragraph and of a cell is what python-docx gives (runs and
hyperlinks; w:t, w:tab, w:br, w:cr, w:noBreakHyphen, w:ptab), read in one pass instead of
python-docx's per-cell look-ups (about ten times faster; tests/test_read_golden.py checks that
the rows are the same)."""
from __future__ import annotations

from foi_research.read.base import Document, Item, rows_from_items
from foi_research.read.limits import DEFAULT, Limits, check
from foi_research.read.zipped import Unzipper
from foi_research.reference.normalize import looks_traditional

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _TBL, _SDT, _SDTC, _TR, _TC = W + "p", W + "tbl", W + "sdt", W + "sdtContent", W + "tr", W + "tc"
_R, _HYPERLINK, _T, _TAB, _BR, _CR, _NBH, _PTAB = (W + x for x in ("r", "hyperlink", "t", "tab", "br", "cr", "noBreakHyphen", "ptab"))
_TCPR, _TRPR, _VMERGE, _GRIDSPAN, _GRIDBEFORE, _VAL, _TYPE = (W + x for x in ("tcPr", "trPr", "vMerge", "gridSpan", "gridBefore", "val", "type"))
_OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def _run_text(r) -> str:
    out = []
    for e in r:
        tag = e.tag
        if tag == _T:
            out.append(e.text or "")
        elif tag == _TAB or tag == _PTAB:
            out.append("\t")
        elif tag == _BR:
            if e.get(_TYPE, "textWrapping") == "textWrapping":
                out.append("\n")
        elif tag == _CR:
            out.append("\n")
        elif tag == _NBH:
            out.append("-")
    return "".join(out)


def _para_text(p) -> str:
    out = []
    for e in p:
        if e.tag == _R:
            out.append(_run_text(e))
        elif e.tag == _HYPERLINK:
            out.extend(_run_text(r) for r in e.iterchildren(_R))
    return "".join(out)


def _int_val(el, default: int) -> int:
    try:
        return int(el.get(_VAL)) if el is not None else default
    except (TypeError, ValueError):
        return default


def _table(tbl, items: list[Item], limits: Limits) -> None:
    above: list = []  # the previous row's cells (their root w:tc, repeated over a gridSpan)
    above_at: dict[int, object] = {}  # grid offset -> root w:tc of the previous row
    texts: dict = {}
    ncells = 0
    for tr in tbl.iterchildren(_TR):
        trpr = tr.find(_TRPR)
        offset = _int_val(trpr.find(_GRIDBEFORE), 0) if trpr is not None else 0
        tcs: list = []
        at: dict[int, object] = {}
        for tc in tr.iterchildren(_TC):
            tcpr = tc.find(_TCPR)
            span, merge = 1, None
            if tcpr is not None:
                span = _span_of(tc)
                vm = tcpr.find(_VMERGE)
                if vm is not None:
                    merge = vm.get(_VAL, "continue")
            root = tc
            if merge == "continue":  # the cell continues the one above it (python-docx: _tc_above)
                root = above_at.get(offset, tc)
            at[offset] = root
            # a continued cell repeats its root over the root's own width (as python-docx does)
            tcs.extend([root] * (span if root is tc else _span_of(root)))
            offset += span
        ncells += len(tcs)
        check(limits, "max_table_cells", ncells, f"a Word table has more than {ncells:,} cells")
        cells = []
        for j, root in enumerate(tcs):
            is_span = (j > 0 and tcs[j - 1] is root) or (j < len(above) and above[j] is root)
            t = texts.get(root)
            if t is None:
                t = texts[root] = " ".join("\n".join(_para_text(p) for p in root.iterchildren(_P)).split())
            cells.append((t, is_span))
        items.append(("", cells))
        above, above_at = tcs, at


def _span_of(tc) -> int:
    tcpr = tc.find(_TCPR)
    if tcpr is None:
        return 1
    return max(1, min(_int_val(tcpr.find(_GRIDSPAN), 1), 64))


def _main_part(z: Unzipper) -> str:
    """The document part named by the package relationships (usually word/document.xml)."""
    from lxml import etree

    names = set(z.names())
    if "_rels/.rels" in names:
        rels = etree.fromstring(z.read("_rels/.rels"), _parser())
        for rel in rels:
            if rel.get("Type") == _OFFICE_DOC:
                target = rel.get("Target", "").lstrip("/")
                if target in names:
                    return target
    if "word/document.xml" in names:
        return "word/document.xml"
    raise ValueError("this zip file holds no Word document (no word/document.xml); is it a .docx saved by Word or WPS?")


_PARSER = None


def _parser():
    global _PARSER
    if _PARSER is None:
        from lxml import etree

        # no entities, no network, no DTDs: a document is data, never instructions
        _PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
    return _PARSER


def read_docx(doc: Document, data: bytes, limits: Limits = DEFAULT) -> None:
    from lxml import etree

    z = Unzipper(data, limits, "Word")
    root = etree.fromstring(z.read(_main_part(z)), _parser())
    body = root.find(W + "body")
    if body is None:
        raise ValueError("the Word document has no body")
    items: list[Item] = []
    nchars = 0

    def visit(container):
        nonlocal nchars
        for child in container:
            tag = child.tag
            if tag == _P:
                t = _para_text(child)
                nchars += len(t)
                items.append((t, None))
            elif tag == _TBL:
                _table(child, items, limits)
            elif tag == _SDT:
                content = child.find(_SDTC)
                if content is not None:
                    visit(content)
        check(limits, "max_text_chars", nchars, f"the document has more than {nchars:,} characters")

    visit(body)
    sample = "".join(t for t, c in items if c is None)[:4000] + "".join(x[0] for _, c in items if c for x in c[:3])
    doc.traditional = looks_traditional(sample)
    doc.encoding = "docx"
    doc.rows = rows_from_items(items, doc.traditional, split_lines=True)
