"""Who reported, for which year, published when: read from the title block, or, when a copy has
lost its title, from the body (统计期限 …, 现公布…年度报告, the agency named in the overview, the
signature at the end)."""
from __future__ import annotations

import collections
import datetime as dt
import functools
import re
from dataclasses import dataclass

from foi_research.reference.normalize import compact
from foi_research.read.readers import Row
from foi_research.reference.gazetteer import gazetteer
from foi_research.parse.segment import DATE_LINE, date_of, is_title, strip_meta_prefix

_REPORT_WORDS = re.compile(
    r"(?:(?<!人民)政府信息公开|政务公开|信息公开)?(?:工作)?(?:情况)?(?:的)?(?:年度报告|年度工作报告|工作报告|年报|报告)$|(?:(?<!人民)政府信息公开|信息公开)(?:工作)?$"
)
_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年\s*度?")
_AGENCY_SUFFIX = (
    r"(?:人民政府办公厅|人民政府办公室|人民政府|管理委员会办公室|管理委员会|管委会|办公厅|办公室|街道办事处|办事处|"
    r"分局|局|委员会|厅|委|署|中心|院|镇|乡|街道)"
)
_PLACE_START = r"[\u4e00-\u9fff]{1,12}?(?:省|市|区|县|州|盟|旗|镇|乡|街道|自治区|新区|开发区|高新区|[局委厅])"
_BODY_TITLE = re.compile(
    r"(?:公布|发布|公开)?[《“]?(?:(?P<y1>(?:19|20)\d{2})年度?)?(?P<agency>[\u4e00-\u9fff]{4,40}?)(?:(?P<y2>(?:19|20)\d{2})年度?)?政府信息公开(?:工作)?年度报告"
)
_OVERVIEW_AGENCY = re.compile(
    r"(?:^|[,。;]|(?:19|20)\d{2}年(?:度)?[,]?)(?P<agency>" + _PLACE_START + r"[\u4e00-\u9fff]{0,24}?" + _AGENCY_SUFFIX + r")"
    r"(?=政府信息公开|政务公开|信息公开|认真|坚持|深入|严格|紧紧|紧扣|始终|进一步|全面|围绕|按照|根据|在|以|持续|着力|积极|高度|不断|扎实|共)"
)
_COMPILED_BY = re.compile(
    r"由(?P<agency>[\u4e00-\u9fff]{3,40}?" + _AGENCY_SUFFIX + r")(?:[^。]{0,80}?)(?:汇总)?编制"
)
_THIS_REPORT_BY = re.compile(
    r"本(?:年度)?报告(?:是)?(?:由)?(?P<agency>" + _PLACE_START + r"[\u4e00-\u9fff]{0,24}?" + _AGENCY_SUFFIX + r")(?=根据|依据|按照|编制|对|就)"
)
# '如需咨询,请与柞水县凤凰镇人民政府党政办公室联系': the office answering for the report
_CONTACT = re.compile(
    r"(?:请|可)(?:与|向|致电|联系)(?P<agency>" + _PLACE_START + r"[\u4e00-\u9fff]{0,24}?" + _AGENCY_SUFFIX + r")(?:联系|咨询|查询|反映)"
)
_DEPT_OFFICE = re.compile(r"^(?P<dept>.+?(?:局|委员会|委|厅|中心))(?:综合)?办公室$")
_INTERNAL_OFFICE = re.compile(r"^(?P<gov>.+?人民政府)(?:党政综合办公室|党政办公室|综合办公室|办公室|办公厅|党政办)$")
_PERIOD = re.compile(r"(?:统计期限|统计时限|统计时间|统计数据|数据统计)[^。]{0,12}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日")
_PERIOD2 = re.compile(r"自((?:19|20)\d{2})年1月1日(?:起)?至")
_YEAR_ANY = re.compile(r"((?:19|20)\d{2})\s*年")
_SIGNATURE = re.compile(r"^((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?$")
_YEAR_REPORT = re.compile(r"((?:19|20)\d{2})年度?(?:政府|政务)?信息公开(?:工作)?(?:年度|情况)?(?:工作)?报告")
_YEAR_THIS_REPORT = re.compile(r"(?:本报告|本年度报告|本年报)[^。]{0,60}?((?:19|20)\d{2})年度")
_QUOTED = re.compile(r"《[^》]{0,60}》")
_PARA_START = re.compile(r"(?:[一二三四五六七八九十]{1,3}[、.]|\([一二三四五六七八九十\d]{1,3}\)|\d{1,2}[.、])?(?:[^,。;]{0,20}[。:])?(?:截至|截止|至)?")
_BAD_AGENCY = re.compile(r"^(?:年|度|市政府|区政府|县政府|中华人民共和国)|关于|印发|通知|条例|办法|工作要点|意见|格式")


@dataclass
class Meta:
    title: str | None = None
    title_line: int | None = None
    agency: str | None = None
    agency_source: str | None = None  # title, body, signature
    year: int | None = None
    year_source: str | None = None
    published: dt.date | None = None
    published_raw: str | None = None


def _clean_agency(s: str | None) -> str | None:
    if not s:
        return None
    s = strip_meta_prefix(compact(s))
    s = _CHROME.sub("", s)  # page chrome such as 'Page8-'
    s = s.strip("《》“”\"'()[]【】:：,，。 ")
    s = _LEAD_VERB.sub("", s)
    if len(s) < 2 or _BAD_AGENCY.search(s):
        return None
    if _PRONOUN_START.match(s) and not _starts_with_place(s):
        return None  # 本局, 我办, 全区 …; but 本溪市, 全椒县 are places
    return s


_PRONOUN_START = re.compile(r"^(?:我|本|各|全|该|其)")
_CHROME = re.compile(r"^[^\u4e00-\u9fff]+|[^\u4e00-\u9fff)）]+$")
_LEAD_VERB = re.compile(r"^(?:关于|现将|现公布|现发布|公布|发布)")
_TITLE_TAIL = re.compile(r"(?:政府信息公开|信息公开|政务公开)(?:工作)?$")
_NOT_AGENCY_LINE = re.compile(r"[。;,:>|]")


def _starts_with_place(s: str) -> bool:
    names = gazetteer().names
    return any(s[:k] in names for k in range(2, min(len(s), 8) + 1))


@functools.lru_cache(maxsize=4096)
def parse_title(title: str) -> tuple[str | None, int | None]:
    """'临淄区人民政府办公室2023年政府信息公开工作年度报告' -> (临淄区人民政府办公室, 2023)."""
    s = compact(title)
    year = None
    m = _YEAR_IN_TITLE.search(s)
    if m:
        year = int(m.group(1))
        s = s[: m.start()] + s[m.end() :]
    s = _REPORT_WORDS.sub("", s)
    s = _TITLE_TAIL.sub("", s)
    return _clean_agency(s), year


def _find_title(rows: list[Row], limit: int = 30) -> tuple[int | None, str | None]:
    """The title line among the first rows; a title cut over two lines ('临淄区工业和信息化局' /
    '2021年政府信息公开工作年度报告') is joined. A title that names its agency is preferred to
    an earlier one that does not (a page header '2012年政府信息公开工作年度报告' above the document's
    own '南坑乡人民政府' / '2012年…')."""
    seen = 0
    first: tuple[int, str] | None = None
    for i, r in enumerate(rows):
        if r.kind != "text" or not r.norm.strip():
            continue
        seen += 1
        if seen > limit:
            break
        s = strip_meta_prefix(compact(r.norm))
        if is_title(r.norm) or (s in ("年度报告", "工作年度报告") and i > 0):
            agency, year = parse_title(s)
            cand = (i, s)
            if agency is None:
                # agency on the previous non-empty line
                for k in range(i - 1, max(-1, i - 4), -1):
                    p = compact(rows[k].norm)
                    if not p:
                        continue
                    if len(p) <= 40 and not _NOT_AGENCY_LINE.search(p) and not DATE_LINE.search(p) and _ENDS_AGENCY_SUFFIX.search(p) and _clean_agency(p):
                        cand = (k, p + s)
                        agency = parse_title(p + s)[0]
                    break
            if agency:
                return cand
            first = first or cand
    return first if first else (None, None)


def read_meta(rows: list[Row], date_idx: int | None = None, body: str | None = None) -> Meta:
    """`body`: "\\n".join of the norm of the text rows, when the caller has it already."""
    m = Meta()
    ti, title = _find_title(rows)
    if title:
        m.title, m.title_line = title, rows[ti].line
        m.agency, m.year = parse_title(title)
        if m.agency:
            m.agency_source = "title"
        if m.year:
            m.year_source = "title"
    # published date: the date line under the title, else a 发布日期 line near the top
    cands = [date_idx] if date_idx is not None else []
    cands += list(range(0, min(len(rows), 40)))
    for i in cands:
        if i is None or i >= len(rows):
            continue
        r = rows[i]
        if r.kind != "text":
            continue
        d = date_of(r.norm)
        if d and (i == date_idx or DATE_LINE.search(r.norm) or len(compact(r.norm)) <= 60):
            if i != date_idx and not DATE_LINE.search(r.norm) and ti is not None and abs(i - ti) > 4:
                continue
            try:
                m.published = dt.date(*d)
                m.published_raw = compact(r.norm)[:60]
            except ValueError:
                pass
            break

    def text_body() -> str:  # (built when first needed: most reports never need it)
        nonlocal body
        if body is None:
            body = "\n".join(r.norm for r in rows if r.kind == "text")
        return body

    if m.published is None:
        # signature at the end: '2021年2月' or '2014年3月25日'; the last non-empty text row of the
        # last 120 rows that matches
        for r in reversed(rows[-120:]):
            if r.kind != "text" or not r.norm.strip():
                continue
            sm = _SIGNATURE.match(compact(r.norm)) if "月" in r.norm else None  # the pattern needs 月
            if sm:
                m.published_raw = compact(r.norm)
                y, mo, d = sm.group(1), sm.group(2), sm.group(3)
                if d:
                    try:
                        m.published = dt.date(int(y), int(mo), int(d))
                    except ValueError:
                        pass
                break
    if m.agency is None:
        m.agency, m.agency_source = _agency_from_body(text_body(), rows)
    if m.agency and _completable(m.agency):
        full = _full_name(m.agency, text_body())
        if full != m.agency:
            m.agency = full
            m.agency_source = (m.agency_source or "") + "+full_name"
    if m.year is None:
        m.year, m.year_source = _year_from_body(text_body(), m.published)
    return m


_GOV_SUFFIX = ("人民政府", "街道办事处", "办事处")
_TOWNSHIP = re.compile(r"(?:镇|乡|街道)(?:人民政府|办事处|街道办事处)?$")


def _full_name(agency: str, body: str) -> str:
    """Complete a township or suffix-less agency name from the text: '建新镇' -> '遂溪县建新镇人民政府'
    when the signature prints it so; '五常市民意乡' -> '五常市民意乡人民政府'. Only names of
    townships or names without an agency suffix are completed, with a county or city prefix
    found in the gazetteer and/or a government suffix. The caller checks _completable(agency)
    first (read_meta: so that it only builds the body text when needed)."""
    text = compact(body)
    best = agency
    g = gazetteer()
    for mt in _full_name_rx(agency).finditer(text):
        prefix, suffix = mt.group(1), mt.group(2) or ""
        if agency.endswith(_GOV_SUFFIX):
            suffix = ""
        # keep only a prefix made of division names (县, 市, 区 …), read right to left
        good = ""
        for k in range(len(prefix)):
            cand = prefix[k:]
            found = g.find(cand)
            if found and "".join(n for n, _, _ in _dedupe(found)) == cand:
                good = cand
                break
        full = good + agency + suffix
        if len(full) > len(best) and len(full) <= 32:
            best = full
    return best


_ENDS_AGENCY_SUFFIX = re.compile(_AGENCY_SUFFIX + r"$")


def _completable(agency: str) -> bool:
    """Whether _full_name may complete the name: a township's, or one without agency suffix."""
    return bool(_TOWNSHIP.search(agency) or not _ENDS_AGENCY_SUFFIX.search(agency)) and len(agency) >= 2


@functools.lru_cache(maxsize=2048)
def _full_name_rx(agency: str) -> re.Pattern:
    """Up to ten CJK characters, the agency, and optionally a government suffix. Memoised:
    compiling it costs about a millisecond (its CJK character class), and the same names recur
    over a corpus (a few dozen distinct ones per thousand reports)."""
    return re.compile(r"([\u4e00-\u9fff]{0,10})" + re.escape(agency) + r"(" + "|".join(_GOV_SUFFIX) + r")?")


def _dedupe(found):
    seen, out = set(), []
    for n, lv, c in found:
        if n not in seen:
            seen.add(n)
            out.append((n, lv, c))
    return out


def _agency_from_body(body: str, rows: list[Row]) -> tuple[str | None, str | None]:
    """Agency of a report without title: '现公布X2020年…年度报告', the agency opening the overview
    ('2020年,湖南省人民政府办公厅认真…'), the signature above the closing date, and last the
    office that compiled the report ('由…编制')."""
    head = body[:6000]
    for mt in _BODY_TITLE.finditer(head):
        a = _clean_agency(mt.group("agency"))
        if a and not a.startswith(("本", "我")) and len(a) >= 3:
            return a, "body"
    for line in head.split("\n")[:40]:
        cl = compact(line)
        for mt in _OVERVIEW_AGENCY.finditer(cl):
            a = _clean_agency(mt.group("agency"))
            if a and cl.startswith(("政务公开", "信息公开"), mt.end()) and not _starts_with_place(a):
                continue  # '…的镇政务公开工作': a phrase, not an agency named by its place
            if a:
                return a, "body"
    chead = compact(head)
    mt = _THIS_REPORT_BY.search(chead)
    if mt:
        a = _clean_agency(mt.group("agency"))
        if a:
            return a, "body"
    sig = _agency_from_signature(rows)
    if sig:
        return sig, "signature"
    mt = _COMPILED_BY.search(chead)
    if mt:
        a = _clean_agency(mt.group("agency"))
        if a:
            # an office compiling the report of its government ('由X人民政府办公室(汇总)编制')
            # reports for the government
            io = _INTERNAL_OFFICE.match(a)
            return (io.group("gov") if io else a), "compiled_by"
    mt = _CONTACT.search(chead)
    if mt:
        # the office named as the contact for the report answers for its government or
        # department (its own office, '…人民政府党政办公室', '…局办公室'); a contact that is not
        # named by its place is no evidence
        a = _clean_agency(mt.group("agency"))
        if a and _starts_with_place(a):
            io = _INTERNAL_OFFICE.match(a) or _DEPT_OFFICE.match(a)
            return (io.group(1) if io else a), "contact"
    return None, None


_SIG_AGENCY = re.compile(r"^[\u4e00-\u9fff]{2,30}" + _AGENCY_SUFFIX + r"$")


def _agency_from_signature(rows: list[Row]) -> str | None:
    """The agency signing the report: a name line right above the closing date."""
    tail = [r for r in rows[-120:] if r.kind == "text" and r.norm.strip()]
    for i in range(len(tail) - 1, 0, -1):
        if "月" in tail[i].norm and _SIGNATURE.match(compact(tail[i].norm)):
            name = compact(tail[i - 1].norm)
            if _SIG_AGENCY.match(name):
                return _clean_agency(name)
            break
    return None


def _year_from_body(body: str, published: dt.date | None) -> tuple[int | None, str | None]:
    head = body[:8000]
    chead = compact(head)
    for rx in (_PERIOD, _PERIOD2):
        mt = rx.search(chead)
        if mt:
            return int(mt.group(1)), "period"
    for rx in (_YEAR_REPORT, _YEAR_THIS_REPORT):
        mt = rx.search(chead)
        if mt:
            return int(mt.group(1)), "body"
    # the year the prose talks about: mentions at the start of a paragraph weigh more; years in
    # titles of other documents (《2021年政务公开工作要点》) do not count
    cnt: collections.Counter = collections.Counter()
    this_year = dt.date.today().year
    for line in head.split("\n"):
        s = compact(line)
        s_wo_titles = _QUOTED.sub("", s)
        for m in _YEAR_ANY.finditer(s_wo_titles):
            y = int(m.group(1))
            if not (2000 <= y <= this_year):
                continue
            lead = s_wo_titles[: m.start()]
            cnt[y] += 3 if _PARA_START.fullmatch(lead) else 1
    if cnt:
        (top, n), *rest = cnt.most_common(2) + [(None, 0)]
        if n >= 2 or len(cnt) == 1:
            if not rest or rest[0][1] < n:
                return top, "body"
    if published:
        return published.year - 1 if published.month <= 6 else published.year, "published"
    return None, None
