"""Synthetic annual reports rendered from known tables.

`generate(seed, ...)` draws the tables of one or several reports (internally consistent by
default: 一 + 二 = 三(七) + 四 per column, (七) = the sum of the outcome rows, 总计 = the sum of the
applicant columns, every table-4 总计 = the sum of its four outcomes, the statistics-table sums),
renders them in one of the layouts real copies have and adds the noise real copies carry (see
../shared/DOMAIN.md), and returns the document text together with its `Truth`: what a careful
reader finds in the rendered document.

    text, truth = generate(7, template="2021", layout="tab", noise={"blank", "chrome"})
    text, truth = generate(8, template="2019", layout="html", truncate=True)
    text, truth = generate(9, n_reports=3, layout="lines", inconsistent="row_total")

Templates: 2021, 2019, legacy-stats (pre-2019 statistics table), narrative (prose only).
Layouts: lines (one cell per line), tab (tab-separated rows), pipe (pipe-separated rows),
pipe-lines (one cell per line ending in '|'), spaces (label followed by space-separated numbers,
as PDF text copies print it), html (tables with rowspan/colspan), markdown (a pdf-to-markdown
conversion: each row's label as a '###' heading above a one-row pipe table), pdftext (text
extracted from a PDF page: long labels wrapped around their numbers, group labels printed one
character per line or split across rows, page numbers inside the table), columns (text laid out
with spaces, as pdftotext -layout or pandoc print a table: every cell at its column's place,
counted in characters or in display width, blank cells printed as spaces).
Noise: see NOISES.

The truth is rigorous about what the rendering lost: a row cut off by truncation is left out of
`t3`/`t2`/`t4`/`legacy` (but kept in the `full_*` tables, so that a test can tell a wrong number
from a missing one); a row whose columns cannot be told apart any more (a blank cell printed as an
empty line in a one-cell-per-line layout, where blank lines are separators; blank cells at both
ends of a row padded with empty cells) is listed in `ambiguous`: a parser may leave its cells
null, with a warning, instead of reading them. Labels come from the code list
(reference/codes.yaml) and agencies from the gazetteer (reference/divisions).

`verify(parsed, truth)` compares what the parser produced with the truth and returns the
discrepancies (an empty list when the round trip holds); the property tests, the benchmark and
`write_corpus` (ground-truth JSON for `foi-research evaluate`) build on it.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import html as _html
import json
import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from foi_research.reference import codes
from foi_research.reference.codes import APPEAL_OUTCOMES, APPLICANTS, PROACTIVE_LAYOUT, PROCEEDINGS

TEMPLATES = ("2021", "2019", "legacy-stats", "narrative")
LAYOUTS = ("lines", "tab", "pipe", "pipe-lines", "spaces", "html", "markdown", "pdftext", "columns")
NOISES = (
    "traditional",  # the whole document in Traditional script (OpenCC s2t)
    "traditional-file",  # ... with 文件 -> 檔案 as some converters do (implies traditional)
    "spaced",  # spaced characters in labels: 自 然 人, 结 果 维 持
    "fullwidth",  # full-width digits and signs in value cells: ２３, ＋５
    "units",  # units in table-2 cells: 182个, 60516万元, 19.7 万, 80618元
    "blank",  # blank cells (&nbsp;, empty, / or —) where zero was meant
    "chrome",  # page chrome: breadcrumbs, 字号: 大 中 小, 扫码使用手机浏览本页内容
    "residue",  # [image: ...] and [bookmark: _GoBack] residue of Word conversions
    "split-header",  # header cells split over two lines or cut (本年新 / 公开数量, 结果 / 纠正)
    "variants",  # printed variants: (一) vs （一）, 1、 vs 1., 规范性文件 vs 行政规范性文件, notes
    "marker-cut",  # dropped characters in the template notice: 〔202130
    "glued",  # a table-3 row's values printed without separators (3001530061 ...) in text layouts
    "dropped-chars",  # a character of a table-3 row label lost or changed (其他法律行政止公开)
    "t4-split",  # table 4 printed as three five-column tables, each under its own heading
    "repeat-header",  # the table-3 header printed again mid-table (a page break)
)
INCONSISTENCIES = ("row_total", "outcome_sum", "balance", "t4_total", "legacy_sum", "narrative")

# Printed text of the templates that is not a code (captions, group headers).
_T3_CAPTION = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
_T3_APPLICANTS_HDR = "申请人情况"
_T3_ORG_HDR = "法人或其他组织"
_T2_CONTENT = "信息内容"
_LITIGATION = "行政诉讼"
_SECTION_NUM = {"1": "一", "5": "五", "6": "六", "8": "八", "9": "九"}
_FULLWIDTH = str.maketrans("0123456789+-.", "０１２３４５６７８９＋－．")
_BLANK_TEXT = frozenset({"", "/", "—", "-", "－", "--", "——"})

ERA = {"2021": (2021, 2025), "2019": (2019, 2020), "legacy-stats": (2008, 2018), "narrative": (2008, 2018)}


# ---------------------------------------------------------------------------------------------
# Truth


@dataclass
class ReportTruth:
    """What a careful reader finds in one report of the document."""

    agency: str
    year: int
    template: str
    published: str | None  # ISO date of the date line under the title, None when not printed
    line: int  # line of the title in the file (1-based)
    t3: dict[str, dict[str, int | None]] = field(default_factory=dict)  # row -> applicant -> value
    t4: dict[str, dict[str, int | None]] = field(default_factory=dict)  # proceeding -> outcome -> value
    t2: list[dict] = field(default_factory=list)  # {item, measure, value, unit}
    legacy: dict[str, int | None] = field(default_factory=dict)  # statistics table
    narrative: dict[str, int] = field(default_factory=dict)  # figures stated in prose
    truncated: bool = False  # the document was cut off inside this report's tables
    complete: dict[str, bool] = field(default_factory=dict)  # t2, t3, t4 (legacy) fully visible
    ambiguous: dict[str, list] = field(default_factory=lambda: {"t3": [], "t4": False, "t2": [], "legacy": []})
    inconsistent: list[str] = field(default_factory=list)  # identities broken on purpose
    expect_checks: list[list[str]] = field(default_factory=list)  # one of these checks per break
    expect_needs: list[list[list]] = field(default_factory=list)  # per break: alternatives of the rows it can be seen from
    full_t3: dict[str, dict[str, int | None]] = field(default_factory=dict)  # before truncation
    full_t4: dict[str, dict[str, int | None]] = field(default_factory=dict)
    full_t2: list[dict] = field(default_factory=list)
    full_legacy: dict[str, int | None] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """Nothing lost, nothing contradictory: the parser owes every number and no warning."""
        a = self.ambiguous
        return not (self.truncated or self.inconsistent or a["t3"] or a["t4"] or a["t2"] or a["legacy"])

    def ground_truth(self, file: str, doc: "Truth") -> dict:
        """This report in the format of tests/fixtures/truth/GROUND_TRUTH_FORMAT.md."""
        return {
            "id": f"{Path(file).stem}-{self.year}",
            "file": file,
            "source": f"synthetic:foi_research.synth.generate(seed={doc.seed})",
            "agency": self.agency,
            "agency_in_text": True,
            "year": self.year,
            "province": None,
            "city": None,
            "county": None,
            "template": self.template,
            "script": "traditional" if doc.traditional else "simplified",
            "layout": _GT_LAYOUT.get(doc.layout, "mixed"),
            "complete": dict(self.complete),
            "t3": self.t3,
            "t4": self.t4,
            "t2": self.t2,
            "legacy": self.legacy if self.template == "legacy-stats" else dict(self.narrative),
            "source_inconsistencies": list(self.inconsistent),
            "notes": "synthetic",
        }


_GT_LAYOUT = {"lines": "one-cell-per-line", "tab": "tab", "pipe": "pipe", "pipe-lines": "pipe-one-cell-per-line", "html": "html-table", "markdown": "pipe"}


@dataclass
class Truth:
    """The truth of a generated document: one ReportTruth per report, in file order."""

    seed: int
    layout: str
    noise: list[str]
    fmt: str  # txt or html
    reports: list[ReportTruth]
    guide: bool = False
    traditional: bool = False
    features: list[str] = field(default_factory=list)  # constructs used that tests may single out

    @property
    def suffix(self) -> str:
        return ".html" if self.fmt == "html" else ".txt"

    def __getattr__(self, name):
        # single-report documents: truth.t3, truth.year ... read the one report
        if name in ReportTruth.__dataclass_fields__ or name == "clean":
            reps = self.__dict__.get("reports") or []
            if len(reps) == 1:
                return getattr(reps[0], name)
            raise AttributeError(f"{name}: this document holds {len(reps)} reports; use truth.reports[i].{name}")
        raise AttributeError(name)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)


# ---------------------------------------------------------------------------------------------
# Reference data: labels from the code list, places from the gazetteer


def _zh(vocab: str, code: str) -> str:
    return codes.V(vocab)[code].zh


def _alts(zh: str) -> list[str]:
    return [s.strip() for s in zh.split(" / ")]


@functools.lru_cache(maxsize=1)
def _places() -> tuple[list[tuple[str, str, str]], list[tuple[str, str]], list[str]]:
    """(province, city-or-'', county) for every county; (province, city) for every prefecture
    city; province names."""
    base = resources.files("foi_research").joinpath("reference/divisions")

    def rows(name):
        with base.joinpath(name).open(encoding="utf-8") as f:
            return list(csv.DictReader(f))

    provs = {r["code"]: r["name"] for r in rows("provinces.csv")}
    placeholder = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
    cities = {r["code"]: ("" if r["name"] in placeholder else r["name"], r["provinceCode"]) for r in rows("cities.csv")}
    counties = []
    for r in rows("areas.csv"):
        if r["name"] in placeholder:
            continue
        cname, pc = cities.get(r["cityCode"], ("", r["provinceCode"]))
        counties.append((provs[r["provinceCode"]], cname, r["name"]))
    city_list = [(provs[pc], n) for c, (n, pc) in cities.items() if n]
    return counties, city_list, list(provs.values())


_COUNTY_DEPTS = (
    "发展和改革局", "教育局", "科学技术局", "工业和信息化局", "公安局", "民政局", "司法局", "财政局",
    "人力资源和社会保障局", "自然资源局", "住房和城乡建设局", "交通运输局", "水利局", "农业农村局",
    "商务局", "文化和旅游局", "卫生健康局", "退役军人事务局", "应急管理局", "审计局",
    "市场监督管理局", "统计局", "医疗保障局", "林业局", "城市管理局", "信访局", "行政审批服务局",
    "生态环境分局", "税务局",
)
_CITY_DEPTS = _COUNTY_DEPTS + ("发展和改革委员会", "卫生健康委员会", "住房和城乡建设委员会", "规划和自然资源局", "人民政府外事办公室")
_PROV_DEPTS = (
    "教育厅", "公安厅", "民政厅", "司法厅", "财政厅", "自然资源厅", "生态环境厅", "住房和城乡建设厅",
    "交通运输厅", "水利厅", "农业农村厅", "商务厅", "文化和旅游厅", "卫生健康委员会", "审计厅",
    "市场监督管理局", "统计局", "人民政府办公厅",
)
_TOWNS = ("城关", "新华", "东风", "太平", "河东", "南关", "北关", "青山", "石桥", "永安", "长乐", "龙泉", "白云", "凤凰", "金山")


def _agency(rng: random.Random) -> str:
    counties, cities, provs = _places()
    k = rng.random()
    if k < 0.55:
        prov, city, county = rng.choice(counties)
        prefix = county if (not city or rng.random() < 0.6) else city + county
        if not city and rng.random() < 0.4:
            prefix = prov + county  # municipality district: 北京市东城区
        r = rng.random()
        if r < 0.18:
            return prefix + "人民政府办公室"
        if r < 0.28:
            return prefix + "人民政府"
        if r < 0.36:
            return prefix + rng.choice(_TOWNS) + rng.choice(("镇人民政府", "街道办事处", "乡人民政府"))
        return prefix + rng.choice(_COUNTY_DEPTS)
    if k < 0.85:
        prov, city = rng.choice(cities)
        r = rng.random()
        if r < 0.15:
            return city + "人民政府办公室"
        if r < 0.25:
            return city + rng.choice(("经济技术开发区管理委员会", "高新技术产业开发区管理委员会办公室"))
        return city + rng.choice(_CITY_DEPTS)
    return rng.choice(provs) + rng.choice(_PROV_DEPTS)


# ---------------------------------------------------------------------------------------------
# Tables


def _split(rng: random.Random, n: int, keys: list[str], weights: list[float]) -> dict[str, int]:
    out = dict.fromkeys(keys, 0)
    if n <= 0:
        return out
    if n > 400:  # proportional split plus a random remainder: fast for large counts
        tot = sum(weights)
        for k, w in zip(keys, weights):
            out[k] = int(n * w / tot * rng.uniform(0.6, 1.2))
        rest = n - sum(out.values())
        while rest < 0:
            k = max(out, key=out.get)
            d = min(out[k], -rest)
            out[k] -= d
            rest += d
        for k, c in Counter(rng.choices(keys, weights, k=rest)).items():
            out[k] += c
        return out
    for k, c in Counter(rng.choices(keys, weights, k=n)).items():
        out[k] += c
    return out


_OUTCOME_WEIGHTS = {
    "granted": 30, "partially_granted": 5, "withheld_state_secret": 0.5, "withheld_law_prohibited": 0.5,
    "withheld_security_stability": 0.3, "withheld_third_party": 1.5, "withheld_internal_affairs": 1,
    "withheld_process_info": 1.5, "withheld_enforcement_file": 0.5, "withheld_admin_query": 1,
    "unavailable_not_held": 20, "unavailable_needs_creation": 3, "unavailable_unclear": 2,
    "not_processed_complaint": 3, "not_processed_duplicate": 3, "not_processed_publication": 0.5,
    "not_processed_excessive": 1, "not_processed_confirmation": 0.5,
    "other_no_correction": 3, "other_no_fee": 0.3, "other_other": 5, "other_total": 8,
}


def _scale(rng: random.Random) -> int:
    return rng.choices([0, 2, 5, 20, 60, 200, 900], [0.12, 0.2, 0.2, 0.2, 0.13, 0.1, 0.05])[0]


def make_t3(rng: random.Random, template: str) -> dict[str, dict[str, int]]:
    """Table 3 where every identity of the template holds."""
    rows = codes.rows_for_template(template)
    outcomes = codes.outcome_rows(template)
    cols = APPLICANTS[:-1]
    t = {r: dict.fromkeys(APPLICANTS, 0) for r in rows}
    scale = _scale(rng)
    for a in cols:
        if a != "natural_person" and rng.random() > 0.3:
            continue
        s = scale if a == "natural_person" else max(1, scale // 6)
        new = rng.randint(0, s)
        carried = rng.randint(0, max(0, s // 8)) if rng.random() < 0.4 else 0
        fwd = rng.randint(0, (new + carried) // 6) if rng.random() < 0.4 else 0
        handled = new + carried - fwd
        t["new_received"][a], t["carried_over"][a], t["carried_forward"][a], t["total_handled"][a] = new, carried, fwd, handled
        for r, v in _split(rng, handled, outcomes, [_OUTCOME_WEIGHTS[o] for o in outcomes]).items():
            t[r][a] = v
    for r in rows:
        t[r]["total"] = sum(t[r][a] for a in cols)
    return t


def make_t4(rng: random.Random) -> dict[str, dict[str, int]]:
    t = {}
    busy = rng.random() < 0.45
    for p in PROCEEDINGS:
        row = dict.fromkeys(APPEAL_OUTCOMES, 0)
        if busy and rng.random() < 0.7:
            for o in ("upheld", "corrected", "other", "pending"):
                row[o] = rng.choice((0, 0, 0, 1, 1, 2, 3, 5, 12))
        row["total"] = sum(row[o] for o in ("upheld", "corrected", "other", "pending"))
        t[p] = row
    return t


def make_t2(rng: random.Random, template: str, units: bool) -> list[dict]:
    """Table 2 cells: {item, measure, value, unit, text} (text: the cell as printed)."""
    out = []
    items_by_section = {"1": ["regulations", "normative_docs"], "5": ["licensing", "other_services"], "6": ["penalty", "enforcement"], "8": ["fees"], "9": ["procurement"]}
    if template == "2021":
        items_by_section["5"] = ["licensing"]
    for sec, measures in PROACTIVE_LAYOUT[template].items():
        for item in items_by_section[sec]:
            big = item in ("licensing", "penalty", "other_services")
            for m in measures:
                unit = "count"
                if m in ("new_made", "new_published", "issued", "repealed"):
                    v = rng.choice((0, 0, 1, 2, 4, 7, 10, 23, 60)) if item != "regulations" else rng.choice((0, 0, 0, 1, 13))
                elif m in ("total_public", "in_force", "prev_count"):
                    v = rng.choice((0, 3, 16, 26, 47, 139, 633, 4020)) if item != "regulations" else rng.choice((0, 0, 5, 524))
                elif m == "change":
                    v = rng.choice((0, 0, 1, 5, -17, -206, -309, 3))
                elif m == "decisions":
                    v = rng.choice((0, 0, 187, 861, 8288, 71664, 253227)) if big else rng.choice((0, 0, 2, 15))
                elif m == "proj_count":
                    v = rng.choice((0, 1, 5, 6, 182))
                else:  # amount
                    v = rng.choice((0, 405.8, 19.7, 60516, 251000, 80618, 12.35, 3))
                    unit = None
                text = _num(v)
                if m == "change" and v > 0 and rng.random() < 0.6:
                    text = "+" + text
                if m == "amount":
                    if item == "fees":  # 本年收费金额（单位：万元） or 上一年/本年增减 in 2019
                        unit = "wan_yuan"
                    elif units and v:
                        suffix, unit = rng.choice((("万元", "wan_yuan"), (" 万", "wan_yuan"), ("万", "wan_yuan"), ("元", "yuan")))
                        text += suffix
                    else:
                        unit = None
                elif units and m == "proj_count" and v and rng.random() < 0.6:
                    text += "个"
                out.append({"item": item, "measure": m, "value": float(v), "unit": unit, "text": text})
    return out


def _num(v: float | int) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


_LEGACY_CHILDREN = {
    "received": ["received_in_person", "received_fax", "received_online", "received_letter", "received_other"],
    "completed": ["completed_on_time", "completed_extended"],
    "answered": ["already_public", "granted", "partially_granted", "denied", "not_this_agency", "not_exist", "told_to_amend", "told_other_channel"],
    "denied": ["denied_state_secret", "denied_commercial_secret", "denied_privacy", "denied_security_stability", "denied_not_government_info", "denied_other_law"],
    "reconsideration": ["reconsideration_upheld", "reconsideration_corrected", "reconsideration_other"],
    "litigation": ["litigation_upheld", "litigation_corrected", "litigation_other"],
    "complaint": ["complaint_upheld", "complaint_corrected", "complaint_other"],
}


def make_legacy(rng: random.Random) -> dict[str, int]:
    v: dict[str, int] = {}
    r = _scale(rng)
    v["received"] = r
    v.update(_split(rng, r, _LEGACY_CHILDREN["received"], [3, 0.3, 4, 3, 0.5]))
    done = r - (rng.randint(0, r // 8) if r and rng.random() < 0.3 else 0)
    v["completed"] = done
    v.update(_split(rng, done, _LEGACY_CHILDREN["completed"], [10, 1]))
    v["answered"] = done
    v.update(_split(rng, done, _LEGACY_CHILDREN["answered"], [2, 10, 2, 2, 5, 4, 1, 1]))
    v.update(_split(rng, v["denied"], _LEGACY_CHILDREN["denied"], [1, 1, 2, 1, 2, 2]))
    for fam in ("reconsideration", "litigation", "complaint"):
        n = rng.choice((0, 0, 0, 1, 2, 3))
        v[fam] = n
        v.update(_split(rng, n, _LEGACY_CHILDREN[fam], [3, 1, 1]))
    return v


# ---------------------------------------------------------------------------------------------
# Layout model: a table is a list of rows of cells with spans, as an HTML table has them


@dataclass
class TCell:
    text: str
    role: str = "label"  # caption, header, label, value
    ref: tuple | None = None  # (table, a, b) for value cells
    colspan: int = 1
    rowspan: int = 1
    tag: str = ""  # 'applicant' for the applicant headers of table 3


@dataclass
class TRow:
    cells: list[TCell]
    indent: int = 0  # leading grid columns covered by a rowspan from above
    key: tuple | None = None  # ('t3', row) / ('t4',) / ('t2', item) / ('legacy', indicator)
    nvals: int = 0


Piece = tuple  # (text, ref or None)


@dataclass
class Style:
    """How one document prints its tables (drawn once per document)."""

    layout: str
    noise: frozenset
    lead_tab: bool = False
    blank_lines: bool = False
    fill_covered: bool = False
    pad_label: bool = False
    pad_values: bool = True
    trailing: str = ""
    blank_rate: float = 0.0
    blank_mark: str = ""
    spaced_rate: float = 0.0
    units_in_lines: float = 0.0
    paren: str = "full"
    ordinal: str = "."
    notes: bool = True
    features: set = field(default_factory=set)  # constructs used (see Truth.features)

    @classmethod
    def draw(cls, rng: random.Random, layout: str, noise: frozenset) -> "Style":
        st = cls(layout, noise)
        st.lead_tab = layout == "lines" and rng.random() < 0.4
        st.blank_lines = layout == "lines" and rng.random() < 0.5
        st.fill_covered = rng.random() < 0.5
        st.pad_label = rng.random() < 0.5
        st.pad_values = rng.random() < 0.7
        if layout == "tab":
            st.trailing = rng.choice(("", "", "\t"))
        elif layout == "pipe":
            st.trailing = rng.choice((" |", " |", " | ||", "|"))
        if "blank" in noise and layout not in ("spaces", "pdftext"):
            st.blank_rate = rng.choice((0.3, 0.7, 1.0))
            st.blank_mark = rng.choice(("", "", "/", "—")) if layout in ("lines", "pipe-lines", "tab", "pipe") else ""
        if "spaced" in noise:
            st.spaced_rate = rng.choice((0.2, 0.6, 1.0))
        st.units_in_lines = rng.choice((0.0, 0.2, 1.0))
        if "variants" in noise:
            st.paren = rng.choice(("full", "half", "mixed"))
            st.ordinal = rng.choice((".", "．", "、", ". "))
            st.notes = rng.random() < 0.5
        return st


_SUBSTITUTES = "止之的于其为"


def _drop_char(rng: random.Random, s: str, st: "Style") -> str:
    """A label with one character lost or changed, as PDF text layers and OCR print them: never
    the ordinal, never a label shorter than six characters (those are told apart by few)."""
    m = re.match(r"^((?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|\d+[.．、]\s?)?)(.*)$", s)
    head, body = m.group(1), m.group(2)
    core = re.sub(r"（[^）]*）$", "", body)
    if len(core.replace(" ", "")) < 6:
        return s
    i = rng.randrange(1, len(core) - 1)
    if core[i] in " “”":
        return s
    new = core[:i] + (rng.choice(_SUBSTITUTES) if rng.random() < 0.4 else "") + core[i + 1 :]
    st.features.add("dropped-chars")
    return head + new + body[len(core) :]


def glued_splits(digits: str, parts: int = 7) -> int:
    """How many ways a row of `parts` numbers printed without separators can be cut back into
    numbers (no leading zeros) whose last is the sum of the others (a careful reader's count)."""
    n = 0
    for tl in range(1, len(digits) - parts + 2):
        tot = digits[len(digits) - tl :]
        if len(tot) > 1 and tot[0] == "0":
            continue
        target = int(tot)
        prefix = digits[: len(digits) - tl]
        stack = [(0, parts - 1, 0)]
        while stack:
            pos, k, acc = stack.pop()
            if k == 0:
                n += pos == len(prefix) and acc == target
                continue
            for ln in range(1, len(prefix) - pos - k + 2):
                piece = prefix[pos : pos + ln]
                if len(piece) > 1 and piece[0] == "0":
                    break
                if acc + int(piece) > target:
                    break
                stack.append((pos + ln, k - 1, acc + int(piece)))
    return n


def _spaced(s: str) -> str:
    """自然人 -> 自 然 人 (the ordinal prefix stays as printed)."""
    m = re.match(r"^((?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|\d+[.．、]\s?)?)(.*)$", s)
    head, body = m.group(1), m.group(2)
    return head + " ".join(body)


def _label(st: Style, rng: random.Random, s: str, header: bool = False) -> str:
    if st.paren == "half" or (st.paren == "mixed" and rng.random() < 0.5):
        s = s.replace("（", "(").replace("）", ")")
    if st.ordinal != ".":
        s = re.sub(r"^(\d+)\.", lambda m: m.group(1) + st.ordinal, s)
    if st.spaced_rate and rng.random() < st.spaced_rate and len(s) <= 24 and "“" not in s:
        s = _spaced(s)
    return s


# --- table builders --------------------------------------------------------------------------


def _val_cell(st: Style, rng: random.Random, v: int | None, ref: tuple, printed: bool, text: str | None = None) -> tuple[TCell, int | None]:
    """A value cell; zero may be printed blank (noise 'blank') unless `printed` forces a number.
    Returns the cell and the value a careful reader reads (None for a blank)."""
    if text is None:
        text = _num(v) if v is not None else ""
    if v == 0 and not printed and st.blank_rate and rng.random() < st.blank_rate:
        return TCell("", "value", ref), None
    if "fullwidth" in st.noise and rng.random() < 0.5:
        text = text.translate(_FULLWIDTH)
    return TCell(text, "value", ref), v


def build_t3(st: Style, rng: random.Random, template: str, t: dict, forced: set) -> tuple[list[TRow], dict]:
    """Rows of table 3 as an HTML table lays them out; returns the rows and what is read."""
    read: dict[str, dict[str, int | None]] = {}
    rows: list[TRow] = []
    org = [a for a in APPLICANTS if a not in ("natural_person", "total")]
    app_lbl = {a: _label(st, rng, _zh("applicants", a), True) for a in APPLICANTS}
    if "variants" in st.noise and rng.random() < 0.4:
        app_lbl["commercial"], app_lbl["research"] = "商业 企业", "科研 机构"
    rows.append(TRow([TCell(_T3_CAPTION, "caption", colspan=3, rowspan=3), TCell(_T3_APPLICANTS_HDR, "header", colspan=7)]))
    rows.append(
        TRow(
            [TCell(app_lbl["natural_person"], "header", rowspan=2, tag="applicant"), TCell(_T3_ORG_HDR, "header", colspan=5), TCell(app_lbl["total"], "header", rowspan=2, tag="applicant")],
            indent=3,
        )
    )
    rows.append(TRow([TCell(app_lbl[a], "header", tag="applicant") for a in org], indent=4))
    header = list(rows)
    row_codes = codes.rows_for_template(template)
    repeat_after = rng.choice(row_codes[3:-3])
    groups = {g.code: g.zh for g in codes.V("request_groups")}
    group_size = Counter(codes.V("request_rows")[r].extra.get("group") for r in row_codes)
    n_outcome_rows = sum(1 for r in row_codes if r not in ("new_received", "carried_over", "carried_forward"))
    seen_groups: set[str] = set()
    for r in row_codes:
        c = codes.V("request_rows")[r]
        lbl = c.zh
        if r == "partially_granted" and st.notes:
            lbl += "（区分处理的，只计这一情形，不计其他情形）"
        if r == "other_no_fee" and "variants" in st.noise and rng.random() < 0.5:
            lbl = lbl.replace("收费通知要求", "收费通知 要求")
        lbl = _label(st, rng, lbl)
        if "dropped-chars" in st.noise and rng.random() < 0.3:
            lbl = _drop_char(rng, lbl, st)
        cells: list[TCell] = []
        indent = 0
        g = c.extra.get("group")
        if r in ("new_received", "carried_over", "carried_forward"):
            cells.append(TCell(lbl, colspan=3))
        else:
            if r == "granted":
                cells.append(TCell(_label(st, rng, groups["outcomes"]), rowspan=n_outcome_rows))
            else:
                indent = 1
            if g:
                if g not in seen_groups:
                    seen_groups.add(g)
                    cells.append(TCell(_label(st, rng, groups[g]), rowspan=group_size[g]))
                else:
                    indent = 2
                cells.append(TCell(lbl))
            else:
                cells.append(TCell(lbl, colspan=2))
        got = {}
        for a in APPLICANTS:
            cell, v = _val_cell(st, rng, t[r][a], ("t3", r, a), (r, a) in forced)
            cells.append(cell)
            got[a] = v
        read[r] = got
        rows.append(TRow(cells, indent, ("t3", r), len(APPLICANTS)))
        if "repeat-header" in st.noise and st.layout != "html" and r == repeat_after:
            # a page break: the header printed again above the rest of the table
            rows.extend(TRow([TCell(c.text, c.role, c.ref, c.colspan, c.rowspan, c.tag) for c in h.cells], h.indent) for h in header)
            st.features.add("repeat-header")
    return rows, read


def build_t4(st: Style, rng: random.Random, t: dict, forced: set) -> tuple[list[TRow], dict]:
    outs = [_label(st, rng, _zh("appeal_outcomes", o), True) for o in APPEAL_OUTCOMES]
    lit = [_zh("proceedings", p) for p in PROCEEDINGS[1:]]
    lit = [re.sub(r"^.*[（(](.*)[）)]$", r"\1", s) for s in lit]  # 行政诉讼（未经复议直接起诉） -> 未经复议直接起诉
    read: dict[str, dict[str, int | None]] = {}
    if "t4-split" in st.noise:
        # three tables, each under its own heading: 行政复议 / 行政诉讼（未经复议直接起诉） / …（复议后起诉）
        rows = []
        order = list(PROCEEDINGS)
        for p in order:
            rows.append(TRow([TCell(_zh("proceedings", p), "header", colspan=5)]))
            rows.append(TRow([TCell(o, "header") for o in outs]))
            rows.append(TRow(_t4_values(st, rng, t, forced, p, read), 0, ("t4",), 5))
        st.features.add("t4-split")
        return rows, read
    rows = [
        TRow([TCell(_zh("proceedings", "reconsideration"), "header", colspan=5), TCell(_LITIGATION, "header", colspan=10)]),
        TRow([TCell(o, "header", rowspan=2) for o in outs] + [TCell(lit[0], "header", colspan=5), TCell(lit[1], "header", colspan=5)]),
        TRow([TCell(o, "header") for o in outs] * 2, indent=5),
    ]
    cells = [c for p in PROCEEDINGS for c in _t4_values(st, rng, t, forced, p, read)]
    rows.append(TRow(cells, 0, ("t4",), 15))
    if all(c.text == "" for c in cells):
        st.features.add("t4-all-blank")
    return rows, read


def _t4_values(st: Style, rng: random.Random, t: dict, forced: set, p: str, read: dict) -> list[TCell]:
    """The five value cells of one proceeding; what a careful reader reads from them goes to read[p]."""
    read[p] = {}
    cells = []
    for o in APPEAL_OUTCOMES:
        cell, v = _val_cell(st, rng, t[p][o], ("t4", p, o), (p, o) in forced)
        cells.append(cell)
        read[p][o] = v
    return cells


def _caption(st: Style, rng: random.Random, sec: str) -> str:
    num = _SECTION_NUM[sec]
    if "variants" in st.noise:
        return rng.choice((f"第二十条第（{num}）项", f"第二十条第({num})项", f"第二十条 ({num} ", f"第二十条第（{num}）项"))
    return f"第二十条第（{num}）项"


def build_t2(st: Style, rng: random.Random, template: str, cells2: list[dict], units_hdr: bool) -> tuple[list[TRow], list[dict]]:
    rows: list[TRow] = []
    read: list[dict] = []
    by_item: dict[str, list[dict]] = {}
    for c in cells2:
        by_item.setdefault(c["item"], []).append(c)
    width = 4
    sec_items = {}
    for c in cells2:
        sec = codes.V("proactive_items")[c["item"]].extra["section"]
        sec_items.setdefault(sec, [])
        if c["item"] not in sec_items[sec]:
            sec_items[sec].append(c["item"])
    for sec, measures in PROACTIVE_LAYOUT[template].items():
        rows.append(TRow([TCell(_caption(st, rng, sec), "caption", colspan=width)]))
        hdr = [TCell(_T2_CONTENT, "header")]
        header_unit = None
        for i, m in enumerate(measures):
            alts = _alts(_zh("proactive_measures", m))
            if m == "decisions":
                txt = alts[1] if template == "2021" else alts[0]
            elif m == "amount":
                txt = alts[1] + "（单位：万元）" if template == "2021" else alts[0]
                if template == "2019" and sec == "9" and units_hdr:
                    txt += "（万元）"
                    header_unit = "wan_yuan"
            else:
                txt = alts[0]
            if m == "change" and "variants" in st.noise and rng.random() < 0.3:
                txt = "本年增/"
            span = width - len(measures) if i == len(measures) - 1 else 0
            hdr.append(TCell(txt, "header", colspan=1 + span))
        rows.append(TRow(hdr))
        for item in sec_items.get(sec, []):
            alts = _alts(_zh("proactive_items", item))
            name = alts[0]
            if item == "normative_docs":
                name = alts[1] if template == "2021" else alts[0]
                if "variants" in st.noise and rng.random() < 0.3:
                    name = alts[0] if template == "2021" else alts[1]
            if item == "other_services" and "spaced" in st.noise and rng.random() < 0.3:
                name = name[:-1] + " " + name[-1]  # 其他对外管理服务事 项
            cells = [TCell(_label(st, rng, name))]
            for i, c in enumerate(by_item[item]):
                span = width - len(measures) if i == len(measures) - 1 else 0
                cell, v = _val_cell(st, rng, c["value"], ("t2", item, c["measure"]), False, c["text"])
                cell.colspan = 1 + span
                unit = c["unit"]
                if c["measure"] == "amount" and unit is None and header_unit:
                    unit = header_unit
                if v is None:
                    unit = "count" if c["measure"] != "amount" else unit
                read.append({"item": item, "measure": c["measure"], "value": None if v is None else float(v), "unit": unit})
                cells.append(cell)
            rows.append(TRow(cells, 0, ("t2", item), len(measures)))
    return rows, read


_LEGACY_OTHER_TOP = [
    ("一、主动公开情况", None, "条"),
    ("（一）主动公开政府信息数", None, "条"),
    ("其中：主动公开规范性文件数", None, "条"),
    ("（二）通过不同渠道和方式公开政府信息的情况", None, None),
    ("1.政府公报公开政府信息数", None, "条"),
    ("2.政府网站公开政府信息数", None, "条"),
    ("3.政务微博公开政府信息数", None, "条"),
    ("4.政务微信公开政府信息数", None, "条"),
    ("5.其他方式公开政府信息数", None, "条"),
    ("二、回应解读情况", None, None),
    ("（一）回应公众关注热点或重大舆情数", None, "次"),
    ("（二）通过不同渠道和方式回应解读的情况", None, None),
    ("1.参加或举办新闻发布会总次数", None, "次"),
    ("2.政府网站在线访谈次数", None, "次"),
    ("3.政策解读稿件发布数", None, "篇"),
]
_LEGACY_OTHER_BOTTOM = [
    ("七、向图书馆、档案馆等查阅场所报送信息数", None, "条"),
    ("八、开通政府信息公开网站（或设立门户网站信息公开专栏）数", None, "个"),
    ("九、政府公报发行量", None, "份"),
    ("十、设置政府信息查阅点数", None, "个"),
    ("十一、查阅点接待人数", None, "人次"),
    ("十二、依申请公开信息收取的费用", None, "万元"),
    ("十三、机构建设和保障经费情况", None, None),
    ("（一）政府信息公开工作专门机构数", None, "个"),
    ("（二）从事政府信息公开工作人员数", None, "人"),
    ("十四、政府信息公开会议和培训情况", None, None),
    ("（一）召开政府信息公开工作会议或专题会议数", None, "次"),
    ("（二）举办各类培训班数", None, "次"),
]


def _legacy_label(code: str, ordinal: str) -> str:
    zh = _zh("legacy_indicators", code)
    zh = re.sub(r"（[^（）]*）$", "", zh)  # 维持具体行政行为数（举报投诉） -> 维持具体行政行为数
    return ordinal + zh


def build_legacy(st: Style, rng: random.Random, v: dict, forced: set) -> tuple[list[TRow], dict]:
    rows = [TRow([TCell("统 计 指 标" if rng.random() < 0.5 else "统计指标", "header"), TCell("单位", "header"), TCell("统计数", "header")])]
    read: dict[str, int | None] = {}

    def other(lbl, unit):
        val = rng.choice((0, 1, 12, 47, 179, 677, 1185)) if unit else None
        rows.append(TRow([TCell(lbl), TCell(unit or "", "unit"), TCell("" if val is None else str(val), "value")]))

    def ind(code, ordinal, unit="件"):
        cell, x = _val_cell(st, rng, v[code], ("legacy", code, None), code in forced)
        read[code] = x
        rows.append(TRow([TCell(_label(st, rng, _legacy_label(code, ordinal))), TCell(unit, "unit"), cell], 0, ("legacy", code), 1))

    for lbl, _, unit in _LEGACY_OTHER_TOP:
        other(lbl, unit)
    rows.append(TRow([TCell("三、依申请公开情况"), TCell("", "unit"), TCell("", "value")]))
    cn = ["（一）", "（二）", "（三）"]
    for i, fam in enumerate(("received", "completed", "answered")):
        ind(fam, cn[i])
        for k, ch in enumerate(_LEGACY_CHILDREN[fam], start=1):
            ind(ch, f"{k}.")
            if ch == "denied":
                for m, dd in enumerate(_LEGACY_CHILDREN["denied"]):
                    ind(dd, "其中：" if m == 0 else "")
    for fam, head in (("reconsideration", "四、"), ("litigation", "五、"), ("complaint", "六、")):
        ind(fam, head)
        for k, ch in enumerate(_LEGACY_CHILDREN[fam]):
            ind(ch, cn[k])
    for lbl, _, unit in _LEGACY_OTHER_BOTTOM:
        other(lbl, unit)
    return rows, read


# --- renderers -------------------------------------------------------------------------------


def _windows(vals: list[str], n: int) -> int:
    """How many ways n columns can be read from a row of cells when blank cells at the ends may be
    separators or merged-cell padding (what a careful reader cannot tell apart)."""
    k = 0
    for a in range(len(vals) - n + 1):
        if all(x.strip() in _BLANK_TEXT for x in vals[:a] + vals[a + n :]):
            k += 1
    return k


def _cell_text(st: Style, c: TCell) -> str:
    if c.role == "value" and c.text == "":
        return st.blank_mark
    return c.text


def _split_header(rng: random.Random, s: str) -> tuple[str, str] | None:
    body = s.replace(" ", "")
    if len(body) < 4 or re.search(r"[（(]", body):
        return None
    cut = rng.choice((2, 3)) if len(body) >= 5 else 2
    return body[:cut], body[cut:]


def render_rows(st: Style, rng: random.Random, rows: list[TRow], meta: dict | None = None) -> tuple[list[list[Piece]], set]:
    """Physical lines for table rows, and the keys of rows whose columns can no longer be told
    apart in this rendering. `meta` receives, for multi-cell text rows, line index -> (index of
    the first piece after the row label, number of values)."""
    ambiguous: set = set()
    meta = {} if meta is None else meta
    lines: list[list[Piece]] = []
    lay = st.layout
    if lay == "html":
        lines.append([('<table border="1" cellspacing="0" cellpadding="0">', None)])
        lines.append([("<tbody>", None)])
        for row in rows:
            pieces: list[Piece] = [("<tr>", None)]
            for c in row.cells:
                attrs = ""
                if c.colspan > 1:
                    attrs += f' colspan="{c.colspan}"'
                if c.rowspan > 1:
                    attrs += f' rowspan="{c.rowspan}"'
                if c.text == "":
                    inner = "&nbsp;"
                elif c.role == "header" and "split-header" in st.noise and rng.random() < 0.3 and (sp := _split_header(rng, c.text)):
                    inner = _html.escape(sp[0]) + "<br />" + _html.escape(sp[1])
                else:
                    inner = _html.escape(c.text)
                pieces.append((f"<td{attrs}><p>{inner}</p></td>", c.ref))
            pieces.append(("</tr>", None))
            lines.append(pieces)
        lines.append([("</tbody>", None)])
        lines.append([("</table>", None)])
        return lines, ambiguous
    if lay in ("tab", "pipe"):
        sep = "\t" if lay == "tab" else " | "
        for row in rows:
            cells: list[tuple[str, tuple | None, str]] = []  # text, ref, role
            if st.fill_covered:
                cells += [("", None, "pad")] * row.indent
            tail = 0
            for c in row.cells:
                txt = _cell_text(st, c)
                if c.role == "header" and c.tag != "applicant" and "split-header" in st.noise and lay == "pipe" and rng.random() < 0.3:
                    sp = _split_header(rng, txt)
                    if sp:
                        txt = sp[0]  # a cut header cell: 结果 for 结果纠正
                cells.append((txt, c.ref, c.role))
                if c.colspan > 1:
                    if c.role == "value":
                        tail += (c.colspan - 1) if st.pad_values else 0
                    elif st.pad_label:
                        cells += [("", None, "pad")] * (c.colspan - 1)
            cells += [("", None, "pad")] * tail
            pieces = [((sep if i else "") + txt, ref) for i, (txt, ref, _) in enumerate(cells)]
            if st.trailing:
                pieces.append((st.trailing, None))
            lines.append(pieces)
            if row.key and row.nvals and st.fill_covered and row.indent and all(c.text == "" for c in row.cells if c.role == "value"):
                st.features.add("blank-row-covered")
            if row.key and row.nvals:
                labels = [i for i, (_, _, role) in enumerate(cells) if role in ("label", "caption")]
                meta[len(lines) - 1] = ((labels[-1] + 1) if labels else 0, row.nvals)
                after = cells[labels[-1] + 1 :] if labels else cells
                # what a reader sees after the label: units printed in their own column are
                # recognisable, blank cells are not
                vals = [t for t, _, role in after if not (role == "unit" and t.strip())]
                vals += [""] * (st.trailing.count("|") if lay == "pipe" else len(st.trailing))
                if _windows(vals, row.nvals) != 1:
                    ambiguous.add(row.key)
        return lines, ambiguous
    if lay == "spaces":
        for row in rows:
            labels = [c for c in row.cells if c.role == "label"]
            values = [c for c in row.cells if c.role == "value"]
            if labels and values and any(c.text for c in values):
                for c in labels[:-1]:
                    lines.append([(c.text, None)])
                unit = [c.text for c in row.cells if c.role == "unit" and c.text]
                label = labels[-1].text + (" " + unit[0] if unit and rng.random() < 0.5 else "")
                if row.key:
                    if len(re.findall(r"[,，]", label)) >= 2:
                        st.features.add("spaces-comma-label")
                    if len(values) == 1 and len(label) > 20:
                        st.features.add("spaces-long-label")
                pieces = [(label, None)]
                glued = _glue(st, rng, row, values, ambiguous)
                for c in values:
                    pieces.append(((" " if not glued or c is values[0] else "") + (c.text or "0"), c.ref))
                lines.append(pieces)
                continue
            for c in row.cells:
                if c.text:
                    lines.append([(c.text, c.ref)])
        return lines, ambiguous
    if lay == "markdown":
        return _render_markdown(st, rng, rows), ambiguous_md(rows)
    if lay == "columns":
        return _render_columns(st, rng, rows)
    if lay == "pdftext":
        return _render_pdftext(st, rng, rows, ambiguous), ambiguous
    # one cell per line: lines / pipe-lines
    lead = "\t" if st.lead_tab else ""
    end = " |" if lay == "pipe-lines" else ""
    for row in rows:
        row_amb = False
        values = [c for c in row.cells if c.role == "value"]
        if row.key and row.key[0] == "t3" and lay == "lines" and _glue(st, rng, row, values, ambiguous):
            for c in row.cells:
                if c.role != "value" and c.text:
                    lines.append([(lead + _cell_text(st, c) + end, c.ref)])
            lines.append([(lead + values[0].text, values[0].ref)] + [(c.text, c.ref) for c in values[1:]])
            if st.blank_lines:
                lines.append([("", None)])
            continue
        for c in row.cells:
            if c.role == "unit":
                if not c.text or rng.random() >= st.units_in_lines:
                    continue
            if c.role == "value" and not c.text and row.key is None:
                continue  # an empty cell of a heading row
            txt = _cell_text(st, c)
            if c.role in ("label", "caption", "header") and not txt:
                continue
            if c.role == "value" and txt.strip() in ("",):
                row_amb = True
            if row.key == ("t4",) and c is row.cells[0] and c.text == "" and txt.strip():
                st.features.add("t4-first-blank-mark")
            if c.role == "header" and "split-header" in st.noise and rng.random() < 0.3 and (sp := _split_header(rng, txt)):
                if c.tag == "applicant":
                    st.features.add("split-applicant-header")
                lines.append([(lead + sp[0] + end, None)])
                lines.append([(sp[1] + end, None)])  # a continuation line: no leading tab
            else:
                lines.append([(lead + txt + end, c.ref)])
            if st.blank_lines:
                lines.append([("", None)])
        if lay == "pipe-lines" and rng.random() < 0.3:
            lines.append([("|" * rng.randint(2, 9), None)])
        if row_amb and row.key:
            ambiguous.add(row.key)
            if row.key == ("t3", "other_total") and all(_cell_text(st, c).strip() == "" for c in row.cells if c.role == "value"):
                st.features.add("blank-other-row-lines")
    return lines, ambiguous


def _glue(st: Style, rng: random.Random, row: TRow, values: list[TCell], ambiguous: set) -> bool:
    """Whether this table-3 row prints its values without separators (noise 'glued'); a row
    whose digits can be cut back more than one way is then ambiguous to a careful reader."""
    if "glued" not in st.noise or not row.key or row.key[0] != "t3" or rng.random() >= 0.4:
        return False
    texts = [c.text for c in values]
    if len(texts) != len(APPLICANTS) or not all(x.isdigit() for x in texts):
        return False
    st.features.add("glued")
    if glued_splits("".join(texts)) != 1:
        ambiguous.add(row.key)
    return True


def ambiguous_md(rows: list[TRow]) -> set:
    """Markdown rows print their values between outer pipes: a blank first or last value cannot
    be told from the empty cell outside the pipes."""
    out = set()
    for row in rows:
        vals = [c for c in row.cells if c.role == "value"]
        if row.key and row.key[0] in ("t3", "t2", "t4") and vals and (vals[0].text == "" or vals[-1].text == ""):
            out.add(row.key)
    return out


def _render_markdown(st: Style, rng: random.Random, rows: list[TRow]) -> list[list[Piece]]:
    """A pdf-to-markdown conversion: headings and captions as text or headings, each data row's
    labels as '###' headings above a one-row pipe table of its values (a separator row under it
    sometimes), the statistics table as an ordinary pipe table."""
    lines: list[list[Piece]] = []
    for row in rows:
        labels = [c for c in row.cells if c.role in ("label", "caption") and c.text]
        values = [c for c in row.cells if c.role == "value"]
        if row.key and row.key[0] == "legacy":
            unit = [c.text for c in row.cells if c.role == "unit"]
            lines.append([("| " + " | ".join([c.text for c in labels] + unit) + " | ", None), (_cell_text(st, values[0]) if values else "", values[0].ref if values else None), (" |", None)])
            continue
        if row.key and values:
            for c in labels:
                lines.append([("### " + c.text if rng.random() < 0.7 else "**" + c.text + "**", None)])
            pieces: list[Piece] = [("|", None)]
            for c in values:
                pieces.append((" " + _cell_text(st, c) + " |", c.ref))
            lines.append(pieces)
            if rng.random() < 0.5:
                lines.append([("|" + "---|" * len(values), None)])
            lines.append([("", None)])
            continue
        texts = [c.text for c in row.cells if c.text]
        if not texts:
            continue
        if len(texts) == 1 and row.cells[0].role == "caption":
            lines.append([("**" + texts[0] + "**", None)])
        else:
            lines.append([("| " + " | ".join(texts) + " |", None)])
    return lines


def _grid(rows: list[TRow]) -> list[list[tuple[int, TCell]]]:
    """Each row's cells with the grid column each starts at (rowspans from above are the row's
    indent, as the table builders lay them out)."""
    out = []
    for row in rows:
        col = row.indent
        cells = []
        for c in row.cells:
            cells.append((col, c))
            col += c.colspan
        out.append(cells)
    return out


def _render_columns(st: Style, rng: random.Random, rows: list[TRow]) -> tuple[list[list[Piece]], set]:
    """A table laid out with spaces: the label area first, then every cell at its column's place
    (left or right aligned in the column), blank cells as spaces. Places are counted in
    characters or in display width (CJK two), as different converters do. A row with a blank cell
    is ambiguous to a careful reader only through the table readers that do not use positions
    (table 2, the statistics table); table-3/4 rows are read by their positions."""
    ambiguous: set = set()
    grid = _grid(rows)
    first_val = min((col for cells in grid for col, c in cells if c.role in ("value", "unit")), default=1)
    display = "columns-display" in st.features or ("columns-chars" not in st.features and rng.random() < 0.5)
    st.features.add("columns-display" if display else "columns-chars")
    width = (lambda s: sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)) if display else len
    lab_w = max([width(" ".join(c.text for col, c in cells if col < first_val and c.text)) for cells in grid] + [8]) + 3
    step = max([width(c.text) for cells in grid for col, c in cells if col >= first_val] + [4]) + 3
    right = rng.random() < 0.5
    lines: list[list[Piece]] = []
    for row, cells in zip(rows, grid):
        labels = " ".join(c.text for col, c in cells if col < first_val and c.text)
        pieces: list[Piece] = []
        text = labels
        if labels:
            pieces.append((labels, None))
        for col, c in cells:
            if col < first_val:
                continue
            x = lab_w + (col - first_val) * step
            body = _cell_text(st, c) if c.role == "value" else c.text
            if c.role == "value" and not c.text:
                pieces.append(("", c.ref))  # a blank cell: only spaces (printed, and visible)
                continue
            if not body:
                continue
            if right and c.role == "value":
                x += step - 3 - width(body)
            pad = max(1, x - width(text))
            pieces.append((" " * pad + body, c.ref))
            text += " " * pad + body
        blank = [c for _, c in cells if c.role == "value" and not c.text]
        if row.key and blank:
            # table 2 and the statistics table are read without positions; table 3 and 4 values
            # set right in their columns under labels set left meet no label edge
            if row.key[0] in ("t2", "legacy") or right or len(blank) == len([c for _, c in cells if c.role == "value"]):
                ambiguous.add(row.key)
        if pieces:
            lines.append(pieces)
    return lines, ambiguous


def _render_pdftext(st: Style, rng: random.Random, rows: list[TRow], ambiguous: set) -> list[list[Piece]]:
    """Text extracted from a PDF page: a row's label and values on one line, long labels wrapped
    around their numbers or above them, group labels (rowspan cells) printed one character per line
    or split with their second half in front of the next row's label, header cells one per line
    and cut, page numbers inside the table. Blank cells print as 0 (a PDF text layer loses empty
    cells; copies that keep their positions are another layout)."""
    lines: list[list[Piece]] = []
    carry = ""  # the rest of a split group label, printed before the next row's label
    page = rng.randint(2, 9)
    for row in rows:
        labels = [c for c in row.cells if c.role in ("label", "caption") and c.text]
        values = [c for c in row.cells if c.role == "value"]
        if not (row.key and values):
            for c in row.cells:
                if not c.text:
                    continue
                if c.role == "header" and len(c.text) >= 4 and rng.random() < 0.4:
                    cut = rng.randint(2, len(c.text) - 1)
                    lines.append([(c.text[:cut], None)])
                    lines.append([(c.text[cut:], None)])
                else:
                    lines.append([(c.text, None)])
            continue
        for g in labels[:-1]:  # group labels of rowspan cells
            style = rng.random()
            if style < 0.3 and len(g.text) <= 10:
                for ch in g.text.replace("、", "、\n").split("\n"):
                    for x in ([ch] if ch.endswith("、") else list(ch)):
                        lines.append([(x, None)])
                st.features.add("vertical-label")
            elif style < 0.6 and len(g.text) >= 5:
                cut = rng.randint(3, len(g.text) - 2)
                lines.append([(g.text[:cut], None)])
                carry = g.text[cut:]
                st.features.add("split-group-label")
            else:
                lines.append([(g.text, None)])
        main = labels[-1].text if labels else ""
        unit = [c.text for c in row.cells if c.role == "unit" and c.text]
        if carry:
            main = carry + " " + main
            carry = ""
        glued = _glue(st, rng, row, values, ambiguous)
        vals: list[Piece] = []
        for c in values:
            vals.append(((" " if vals and not glued else "") + (c.text or "0"), c.ref))
        if unit and row.key[0] == "legacy":
            main = main + " " + unit[0]
        if len(main) > 16 and rng.random() < 0.6 and row.key[0] != "legacy":
            cut = rng.randint(8, len(main) - 4)
            a, b = main[:cut], main[cut:]
            if rng.random() < 0.5:  # wrapped around its numbers
                lines.append([(a, None)])
                lines.append(vals)
                lines.append([(b, None)])
            else:  # wrapped above its numbers
                lines.append([(a, None)])
                lines.append([(b, None)])
                lines.append(vals)
            st.features.add("wrapped-label")
        else:
            lines.append([(main + " ", None)] + vals)
        if rng.random() < 0.06:
            lines.append([(f"- {page} -", None)])
            page += 1
            st.features.add("page-number-in-table")
    return lines


# ---------------------------------------------------------------------------------------------
# Prose

_OVERVIEW = [
    "{year}年，{short}认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、不公开为例外，不断提升政务公开质量和实效。",
    "{year}年，在上级政务公开工作机构的指导下，{short}扎实推进决策、执行、管理、服务、结果公开，政府工作透明度进一步提高。",
    "（一）主动公开情况。通过门户网站、政务新媒体等渠道及时发布工作动态、通知公告、政策文件等信息，全年主动公开政府信息{k}条。",
    "（三）政府信息管理情况。严格落实信息发布审查制度，对拟公开的政府信息依法依规做好保密审查，动态更新政府信息主动公开目录。",
    "（四）政府信息公开平台建设情况。以群众需求为中心，持续优化门户网站栏目设置，方便公众查询、获取政府信息。",
    "（五）监督保障情况。成立政务公开工作领导小组，明确专人负责，将政务公开工作纳入年度考核，切实提升工作质效。",
]
_PROBLEMS = [
    "（一）存在问题。一是政策解读形式还不够丰富，二是信息公开的及时性和规范性有待进一步提高。",
    "（二）改进措施。一是加强业务培训，提升工作人员业务能力；二是拓宽公开渠道，丰富解读形式，回应社会关切。",
]
_OTHER = [
    "（一）依据《政府信息公开信息处理费管理办法》，本年度未收取信息处理费。",
    "（二）其他需要报告的事项：无。",
]


_REQ_HEADING = "（二）依申请公开情况"


def _request_sentence(year: int, t3: dict) -> tuple[str, dict[str, int]]:
    n = t3["new_received"]["total"]
    if n == 0:
        return f"{year}年，本机关未收到政府信息公开申请。", {"received": 0}
    c = t3["carried_over"]["total"]
    h = t3["total_handled"]["total"]
    f = t3["carried_forward"]["total"]
    s = f"{year}年，共收到政府信息公开申请{n}件，上年结转{c}件，办结{h}件，结转下年度继续办理{f}件。"
    return s, {"received": n, "completed": h}


def _legacy_prose(year: int, v: dict) -> tuple[list[str], dict[str, int]]:
    out, got = [], {}
    r = v["received"]
    if r == 0:
        out.append(f"{year}年，本机关没有收到政府信息公开申请。")
        got["received"] = 0
    else:
        out.append(
            f"{year}年，共受理政府信息公开申请{r}件，其中当面申请{v['received_in_person']}件、网上申请{v['received_online']}件、信函申请{v['received_letter']}件。"
        )
        got.update(received=r, received_in_person=v["received_in_person"], received_online=v["received_online"], received_letter=v["received_letter"])
    rc, lt = v["reconsideration"], v["litigation"]
    if rc == 0 and lt == 0:
        out.append(f"{year}年，本机关未发生因政府信息公开申请提起行政复议、行政诉讼的情况。")
        got.update(reconsideration=0, litigation=0)
    else:
        out.append(f"{year}年，因政府信息公开申请提起行政复议{rc}件、行政诉讼{lt}件。")
        got.update(reconsideration=rc, litigation=lt)
    return out, got


def _narrative_prose(year: int, v: dict) -> tuple[list[str], dict[str, int]]:
    lines, got = _legacy_prose(year, v)
    if v["received"]:
        g, p, d, ne, nta = v["granted"] + v["already_public"], v["partially_granted"], v["denied"], v["not_exist"], v["not_this_agency"]
        lines.insert(
            1,
            f"对上述申请，同意公开{g}件，同意部分公开{p}件，不予公开{d}件，信息不存在{ne}件，不属于本机关公开范围{nta}件。",
        )
        got.update(granted=g, partially_granted=p, denied=d, not_exist=ne, not_this_agency=nta)
    return lines, got


# ---------------------------------------------------------------------------------------------
# Documents


class _Doc:
    def __init__(self, st: Style, rng: random.Random):
        self.st, self.rng = st, rng
        self.lines: list[list[Piece]] = []
        self.report = 0  # index of the report being rendered: cell refs are scoped by it
        self.row_meta: dict[int, tuple[int, int]] = {}  # line -> (first piece after the label, values)

    def text(self, s: str, blank_after: bool | None = None) -> None:
        if self.st.layout == "html":
            self.lines.append([(f"<p>{_html.escape(s)}</p>", None)])
            return
        self.lines.append([(s, None)])
        if blank_after if blank_after is not None else self.st.blank_lines:
            self.lines.append([("", None)])

    def raw(self, s: str) -> None:
        self.lines.append([(s, None)])

    def table(self, rows: list[TRow]) -> tuple[int, int, set]:
        start = len(self.lines)
        meta: dict = {}
        lines, amb = render_rows(self.st, self.rng, rows, meta)
        self.row_meta.update({start + i: m for i, m in meta.items()})
        k = self.report
        self.lines.extend([[(t, None if ref is None else (k, *ref)) for t, ref in line] for line in lines])
        return start, len(self.lines), amb


def _title(rng: random.Random, agency: str, year: int, legacy: bool, multi: bool) -> list[str]:
    word = "年度政府信息公开年度报告" if legacy and rng.random() < 0.5 else rng.choice(("年政府信息公开工作年度报告", "年度政府信息公开工作年度报告"))
    k = rng.random()
    if not multi and k < 0.15:
        return [agency, f"{year}{word}"]
    if k < 0.3:
        return [f"{year}年{agency}政府信息公开工作年度报告"]
    if k < 0.4:
        return [f"{agency} {year} {word}"]
    return [f"{agency}{year}{word}"]


def _date_line(rng: random.Random, d: dt.date, agency: str) -> str:
    k = rng.random()
    if k < 0.4:
        return f"时间:{d.isoformat()}"
    if k < 0.6:
        return f"发布日期：{d.isoformat()} {rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    if k < 0.75:
        return f"日期:{d.isoformat()}"
    return f"来源：{agency} 发布时间：{d.isoformat()}"


def _template_for(year: int, legacy_kind: str) -> str:
    if year >= 2021:
        return "2021"
    if year >= 2019:
        return "2019"
    return legacy_kind


def _noise_set(rng: random.Random, noise) -> frozenset:
    if noise is None or noise == "none":
        return frozenset()
    if noise == "random":
        return frozenset(n for n in NOISES if rng.random() < 0.3)
    if isinstance(noise, str):
        noise = {noise}
    bad = set(noise) - set(NOISES)
    if bad:
        raise ValueError(f"unknown noise {sorted(bad)}; choose from {', '.join(NOISES)}")
    return frozenset(noise)


def generate(
    seed: int,
    template: str | None = None,
    layout: str | None = None,
    noise: Iterable[str] | str | None = None,
    n_reports: int = 1,
    *,
    truncate: bool = False,
    inconsistent: str | Iterable[str] | None = None,
    guide: bool | None = None,
    year: int | None = None,
    agency: str | None = None,
) -> tuple[str, Truth]:
    """Generate one document (text, or HTML for layout 'html') and its truth.

    template: 2021, 2019, legacy-stats, narrative, or None for one drawn at random. With
      n_reports > 1 the reports are consecutive years going back from the first one (a listing
      scraped page by page, each report with its title and 时间: line); each uses `template` when its
      year allows it and the template of its year otherwise.
    layout: one of LAYOUTS, or None for one drawn at random.
    noise: a set of NOISES, 'random' for a random subset, or None.
    truncate: cut the document off inside a table of its last report (the careful reader's truth
      then holds only the rows still complete, and `truncated` is set).
    inconsistent: identities to break on purpose (INCONSISTENCIES, or True for one fitting the
      template); the broken value is printed and the truth expects it back with a quality flag.
    guide: put a 信息公开指南 (guide, not a report) before the reports (default: sometimes, when
      there are several reports).
    year, agency: fix the (first) report's year or agency.
    """
    rng = random.Random(seed)
    if template is None:
        template = rng.choice(TEMPLATES)
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}; choose from {', '.join(TEMPLATES)}")
    if layout is None:
        layout = rng.choice(LAYOUTS)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    nz = _noise_set(rng, noise)
    if "traditional-file" in nz:
        nz = nz | {"traditional"}
    st = Style.draw(rng, layout, nz)
    agency = agency or _agency(rng)
    if "traditional" in nz:
        agency = _roundtrip_safe(rng, agency)
    if agency[0] in "我本各全该其":
        st.features.add("agency-bad-prefix")
    lo, hi = ERA[template]
    first_year = year if year is not None else rng.randint(lo, hi)
    legacy_kind = template if template in ("legacy-stats", "narrative") else rng.choice(("legacy-stats", "narrative"))
    if truncate:
        if template == "narrative":
            raise ValueError("truncate cuts a table off; narrative reports have none")
        legacy_kind = "legacy-stats"  # the last report of a listing must have a table to cut
    if guide is None:
        guide = n_reports > 1 and rng.random() < 0.4
    if isinstance(inconsistent, str):
        inconsistent = [inconsistent]
    elif inconsistent is True:
        inconsistent = ["auto"]
    inconsistent = list(inconsistent or [])
    multi = n_reports > 1

    doc = _Doc(st, rng)
    if layout == "html":
        doc.raw('<!DOCTYPE html>')
        doc.raw('<html><head><meta charset="utf-8"><title>政府信息公开年度报告</title></head><body>')
    if "chrome" in nz:
        for s in rng.sample(["您当前所在的位置：首页 > 政务公开 > 政府信息公开年报 > 部门", "字号：", "大 中 小", "分享到：", "打印"], 3):
            doc.text(s, False)
    if guide:
        doc.text(f"{agency}信息公开指南")
        doc.text(_date_line(rng, dt.date(first_year + 1, rng.randint(1, 12), rng.randint(1, 28)), agency))
        doc.text("根据《中华人民共和国政府信息公开条例》，本机关编制了信息公开指南。需要获得本机关政府信息公开服务的公民、法人或者其他组织，建议阅读本指南。")
        doc.text("一、信息公开分类。本机关在职责范围内，负责主动或依申请公开下列各类政府信息：机构职能、法规公文、财政信息等。")
    reports: list[ReportTruth] = []
    regions: list[dict] = []
    for i in range(n_reports):
        y = first_year - i
        tmpl = template if ERA[template][0] <= y <= ERA[template][1] else _template_for(y, legacy_kind)
        if y < 2008:
            break
        doc.report = i
        rep, reg = _report(doc, rng, st, agency, y, tmpl, multi, inconsistent if i == 0 else [])
        reports.append(rep)
        regions.append(reg)
    cut = None
    if truncate:
        cut = _truncate(rng, doc, reports[-1], regions[-1])
    if "chrome" in nz and cut is None:
        doc.text("扫码使用手机浏览本页内容", False)
        doc.text("【打印本页】 【关闭窗口】", False)
    if layout == "html" and cut is None:
        doc.raw("</body></html>")
    # visible cells
    visible: set = set()
    for line in doc.lines:
        for _, ref in line:
            if ref is not None:
                visible.add(ref)
    for i, rep in enumerate(reports):
        _apply_visibility(rep, {ref[1:] for ref in visible if ref[0] == i})
        _settle_expectations(rep)
        if rep.truncated and rep.template == "legacy-stats":
            st.features.add("legacy-cut")
            if "completed" not in rep.legacy:
                st.features.add("legacy-cut-early")
    text = "\n".join("".join(p for p, _ in line) for line in doc.lines) + ("\n" if cut is None else "")
    if "traditional" in nz:
        text = _to_traditional(text, "traditional-file" in nz)
    truth = Truth(seed=seed, layout=layout, noise=sorted(nz), fmt="html" if layout == "html" else "txt", reports=reports, guide=bool(guide), traditional="traditional" in nz, features=sorted(st.features))
    return text, truth


def _roundtrip_safe(rng: random.Random, agency: str) -> str:
    """An agency whose name survives Simplified -> Traditional -> Simplified (the parser reads
    Traditional documents through OpenCC t2s)."""
    for _ in range(20):
        if _t2s().convert(_s2t().convert(agency)) == agency:
            return agency
        agency = _agency(rng)
    return agency


@functools.lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def _to_traditional(text: str, file_junk: bool) -> str:
    out = _s2t().convert(text)
    if file_junk:
        out = out.replace("文件", "檔案")
    return out


def _report(doc: _Doc, rng: random.Random, st: Style, agency: str, year: int, template: str, multi: bool, inconsistent: list[str]):
    """Render one report into doc; return its truth and the line ranges of its tables."""
    pub = dt.date(year + 1, rng.randint(1, 3), rng.randint(1, 28))
    title = _title(rng, agency, year, template in ("legacy-stats", "narrative"), multi)
    title_line = len(doc.lines) + 1  # every entry of doc.lines is one physical line (HTML too)
    for t in title:
        doc.text(t)
    dated = multi or rng.random() < 0.7
    if dated and len(title) == 2:
        st.features.add("title-two-lines-dated")
    if dated:
        doc.text(_date_line(rng, pub, agency))
    if "chrome" in st.noise and rng.random() < 0.5:
        doc.text("字号：大 中 小", False)
    rep = ReportTruth(agency=agency, year=year, template=template, published=pub.isoformat() if dated else None, line=title_line)
    regions: dict[str, tuple[int, int]] = {}
    kinds = list(inconsistent)
    if "auto" in kinds:
        pool = {"2021": ["row_total", "outcome_sum", "balance", "t4_total", "narrative"], "2019": ["row_total", "outcome_sum", "balance", "t4_total", "narrative"], "legacy-stats": ["legacy_sum", "narrative"], "narrative": []}[template]
        kinds = [rng.choice(pool)] if pool else []
    if template in ("2019", "2021"):
        _modern(doc, rng, st, rep, regions, year, template, kinds)
    elif template == "legacy-stats":
        _legacy_report(doc, rng, st, rep, regions, year, kinds)
    else:
        _narrative_report(doc, rng, st, rep, year)
    return rep, regions


def _residue(rng: random.Random, st: Style, s: str) -> str:
    if "residue" in st.noise and rng.random() < 0.3:
        return rng.choice(("[image: ]", "[bookmark: _GoBack]", "[image: 微信图片_20210220154837]")) + s
    return s


def _modern(doc, rng, st, rep, regions, year, template, kinds):
    t3 = make_t3(rng, template)
    t4 = make_t4(rng)
    t2 = make_t2(rng, template, "units" in st.noise)
    forced3: set = set()
    forced4: set = set()
    narr_delta = 0
    for kind in kinds:
        d = rng.randint(1, 5)
        cols = [a for a in APPLICANTS if a != "total"]
        balance_rows = [("t3", r) for r in ("new_received", "carried_over", "total_handled", "carried_forward")]
        outcome_rows = [("t3", r) for r in codes.outcome_rows(template) + ["total_handled"]]
        if kind == "row_total":
            r = rng.choice(codes.rows_for_template(template))
            t3[r]["total"] += d
            forced3.add((r, "total"))
            rep.expect_checks.append(["t3_row_total", "t3_balance", "t3_outcome_sum"])
            rep.expect_needs.append([[("t3", r)]])
        elif kind == "outcome_sum":
            a = rng.choice(cols)
            t3["total_handled"][a] += d
            t3["total_handled"]["total"] += d
            forced3 |= {("total_handled", a), ("total_handled", "total")}
            rep.expect_checks.append(["t3_outcome_sum", "t3_balance"])
            rep.expect_needs.append([outcome_rows, balance_rows])
        elif kind == "balance":
            a = rng.choice(cols)
            t3["carried_forward"][a] += d
            t3["carried_forward"]["total"] += d
            forced3 |= {("carried_forward", a), ("carried_forward", "total")}
            rep.expect_checks.append(["t3_balance"])
            rep.expect_needs.append([balance_rows])
        elif kind == "t4_total":
            p = rng.choice(PROCEEDINGS)
            t4[p]["total"] += d
            forced4.add((p, "total"))
            rep.expect_checks.append(["t4_total"])
            rep.expect_needs.append([[("t4",)]])
        elif kind == "narrative":
            narr_delta = d
            forced3.add(("new_received", "total"))  # the table figure the prose contradicts is printed
            rep.expect_checks.append(["narrative_vs_table"])
            rep.expect_needs.append([[("t3", "new_received")]])
        else:
            raise ValueError(f"inconsistency {kind!r} does not apply to the {template} template")
        rep.inconsistent.append(kind)
    marker = "国办公开办函〔2021〕30号" if template == "2021" else "国办公开办函〔2019〕60号"
    if "marker-cut" in st.noise:
        marker = marker.replace("〕", "").replace("号", "")[:-1] if rng.random() < 0.7 else marker
    doc.text(
        f"本报告按照《中华人民共和国政府信息公开条例》和《中华人民共和国政府信息公开工作年度报告格式》（{marker}）要求编制，"
        f"所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。"
    )
    doc.text("一、总体情况")
    short = rng.choice(("本机关", "我局", "我单位"))
    ov = [s.format(year=year, short=short, k=rng.randint(20, 900)) for s in _OVERVIEW]
    req, narr = _request_sentence(year, t3)
    if narr_delta:
        n = t3["new_received"]["total"]
        if n:
            req = req.replace(f"申请{n}件", f"申请{n + narr_delta}件", 1)
        else:
            req = f"{year}年，共收到政府信息公开申请{narr_delta}件，均已按时答复。"
            narr["completed"] = narr_delta  # 'all answered': completed = received
        narr = {"received": n + narr_delta} | ({"completed": narr["completed"]} if "completed" in narr else {})
    for s in ov[: rng.randint(1, 3)]:
        doc.text(_residue(rng, st, s))
    if rng.random() < 0.5:
        doc.text(_REQ_HEADING)
        doc.text(req)
    else:  # heading and sentence in one paragraph: （二）依申请公开情况。2021年，…
        req = f"{_REQ_HEADING}。{req}"
        if len(req) <= 40:
            st.features.add("heading-inline-short")
        doc.text(req)
    for s in ov[3 : 3 + rng.randint(0, 3)]:
        doc.text(_residue(rng, st, s))
    rep.narrative = narr
    doc.text("二、主动公开政府信息情况")
    units_hdr = rng.random() < 0.3
    rows2, read2 = build_t2(st, rng, template, t2, units_hdr)
    a, b, amb = doc.table(rows2)
    regions["t2"] = (a, b)
    doc.text("三、收到和处理政府信息公开申请情况")
    rows3, read3 = build_t3(st, rng, template, t3, forced3)
    a, b, amb3 = doc.table(rows3)
    regions["t3"] = (a, b)
    doc.text("四、政府信息公开行政复议、行政诉讼情况")
    rows4, read4 = build_t4(st, rng, t4, forced4)
    a, b, amb4 = doc.table(rows4)
    regions["t4"] = (a, b)
    doc.text("五、存在的主要问题及改进情况")
    for s in _PROBLEMS:
        doc.text(_residue(rng, st, s))
    doc.text("六、其他需要报告的事项")
    for s in _OTHER[: rng.randint(1, 2)]:
        doc.text(s)
    rep.full_t3, rep.full_t4, rep.full_t2 = read3, read4, read2
    amb = amb | amb3 | amb4
    rep.ambiguous = {
        "t3": sorted(k[1] for k in amb if k[0] == "t3"),
        "t4": ("t4",) in amb,
        "t2": sorted(k[1] for k in amb if k[0] == "t2"),
        "legacy": [],
    }


def _legacy_report(doc, rng, st, rep, regions, year, kinds):
    v = make_legacy(rng)
    forced: set = set()
    narr_delta = 0
    for kind in kinds:
        d = rng.randint(1, 5)
        if kind == "legacy_sum":
            v["received"] += d
            forced.add("received")
            rep.expect_checks.append(["legacy_sum_received"])
            rep.expect_needs.append([[("legacy", k) for k in ["received"] + _LEGACY_CHILDREN["received"]]])
        elif kind == "narrative":
            narr_delta = d
            forced.add("received")
            rep.expect_checks.append(["narrative_vs_table"])
            rep.expect_needs.append([[("legacy", "received")]])
        else:
            raise ValueError(f"inconsistency {kind!r} does not apply to the legacy-stats template")
        rep.inconsistent.append(kind)
    doc.text(f"根据《中华人民共和国政府信息公开条例》（以下简称《条例》）有关规定，现公布{rep.agency}{year}年政府信息公开工作年度报告。")
    doc.text("一、概述")
    doc.text(_residue(rng, st, f"{year}年，本机关认真贯彻落实《条例》，进一步完善政府信息公开工作机制，切实保障人民群众的知情权、参与权和监督权。"))
    doc.text("二、主动公开政府信息情况")
    doc.text(f"{year}年，在门户网站政府信息公开专栏公开信息{rng.randint(30, 900)}条，全文电子化率达100%。")
    doc.text("三、政府信息公开申请办理情况")
    prose, narr = _legacy_prose(year, v)
    if narr_delta:
        if v["received"]:
            prose[0] = prose[0].replace(f"申请{v['received']}件", f"申请{v['received'] + narr_delta}件", 1)
        else:
            prose[0] = f"{year}年，共受理政府信息公开申请{narr_delta}件。"
            narr = {k: x for k, x in narr.items() if not k.startswith("received")}
        narr["received"] = v["received"] + narr_delta
    for s in prose:
        doc.text(s)
    rep.narrative = narr
    doc.text("四、存在的主要问题及改进情况")
    doc.text(_PROBLEMS[1])
    doc.text(f"附件：{year}年度政府信息公开工作情况统计表" if rng.random() < 0.5 else f"{year}年度政府信息公开工作情况统计表")
    rows, read = build_legacy(st, rng, v, forced)
    a, b, amb = doc.table(rows)
    regions["legacy"] = (a, b)
    rep.full_legacy = read
    rep.ambiguous = {"t3": [], "t4": False, "t2": [], "legacy": sorted(k[1] for k in amb if k[0] == "legacy")}
    doc.text("（注：各子栏目数总数要等于总栏目数量）")


def _narrative_report(doc, rng, st, rep, year):
    v = make_legacy(rng)
    doc.text(f"根据《中华人民共和国政府信息公开条例》（以下简称《条例》）要求，现公布{rep.agency}{year}年度政府信息公开工作年度报告。")
    doc.text("一、概述")
    doc.text(_residue(rng, st, f"{year}年，本机关高度重视政府信息公开工作，明确分管领导和工作人员，建立健全工作制度，推动政府信息公开工作规范开展。"))
    doc.text("二、主动公开政府信息的情况")
    doc.text(f"{year}年，本机关通过门户网站等渠道主动公开政府信息{rng.randint(5, 900)}条，其中规范性文件{rng.randint(0, 20)}条。")
    doc.text("三、依申请公开政府信息的情况")
    prose, narr = _narrative_prose(year, v)
    for s in prose[:-1]:
        doc.text(s)
    doc.text("四、政府信息公开的收费及减免情况")
    doc.text(f"{year}年，本机关在政府信息公开工作中没有收取任何费用。")
    doc.text("五、因政府信息公开申请提起行政复议、行政诉讼的情况")
    doc.text(prose[-1])
    doc.text("六、存在的主要问题及改进措施")
    doc.text(_PROBLEMS[1])
    rep.narrative = narr
    doc.text(rep.agency)
    doc.text(f"{year + 1}年{rng.randint(1, 3)}月{rng.randint(1, 28)}日")


def _truncate(rng: random.Random, doc: _Doc, rep: ReportTruth, regions: dict) -> tuple[int, int] | None:
    """Cut the document inside one table of the last report (at a line or cell boundary, after at
    least one line of the table and before its last value)."""
    cands = [k for k in ("t3", "t2", "t4", "legacy") if k in regions]
    if not cands:
        return None
    k = rng.choices(cands, [{"t3": 5, "t2": 2, "t4": 2, "legacy": 5}[c] for c in cands])[0]
    a, b = regions[k]
    # positions (line, piece) where the cut keeps lines[:line] + line[:piece]
    positions = []
    last_val = None
    for li in range(a, b):
        for pi, (_, ref) in enumerate(doc.lines[li]):
            if ref is not None:
                last_val = (li, pi)
    for li in range(a + 1, b):
        n = len(doc.lines[li])
        for pi in range(0, n):
            if (li, pi) <= last_val:
                positions.append((li, pi))
    if not positions:
        return None
    li, pi = rng.choice(positions)
    m = doc.row_meta.get(li)
    if pi and m and pi - m[0] >= m[1]:
        # the cut row still shows at least as many cells after its label as it has columns (label
        # padding included): only the end of the document tells that the row is incomplete
        doc.st.features.add("cut-row-padded")
    keep = doc.lines[:li]
    if pi:
        keep.append(doc.lines[li][:pi])
    doc.lines = keep
    rep.truncated = True
    return li, pi


def _settle_expectations(rep: ReportTruth) -> None:
    """Keep the expected quality checks a careful reader can still see: the broken identity must
    be readable from rows that are neither cut off nor ambiguous."""

    def readable(key) -> bool:
        if key[0] == "t3":
            return key[1] in rep.t3 and key[1] not in rep.ambiguous["t3"]
        if key[0] == "t4":
            return bool(rep.t4) and not rep.ambiguous["t4"]
        return key[1] in rep.legacy and key[1] not in rep.ambiguous["legacy"]

    keep = [(c, n) for c, n in zip(rep.expect_checks, rep.expect_needs) if any(all(readable(k) for k in alt) for alt in n)]
    rep.expect_checks = [c for c, _ in keep]
    rep.expect_needs = [n for _, n in keep]


def _apply_visibility(rep: ReportTruth, visible: set) -> None:
    if rep.template in ("2019", "2021"):
        rep.t3 = {r: dict(v) for r, v in rep.full_t3.items() if all(("t3", r, a) in visible for a in v)}
        rep.t4 = {p: dict(v) for p, v in rep.full_t4.items()} if all(("t4", p, o) in visible for p in rep.full_t4 for o in rep.full_t4[p]) else {}
        items = {c["item"] for c in rep.full_t2}
        ok_items = {i for i in items if all(("t2", c["item"], c["measure"]) in visible for c in rep.full_t2 if c["item"] == i)}
        rep.t2 = [dict(c) for c in rep.full_t2 if c["item"] in ok_items]
        rep.complete = {"t2": ok_items == items, "t3": len(rep.t3) == len(rep.full_t3), "t4": bool(rep.t4)}
        # an ambiguous row that is cut off is simply missing
        rep.ambiguous["t3"] = [r for r in rep.ambiguous["t3"] if r in rep.t3]
        rep.ambiguous["t2"] = [i for i in rep.ambiguous["t2"] if i in ok_items]
        rep.ambiguous["t4"] = bool(rep.ambiguous["t4"] and rep.t4)
    elif rep.template == "legacy-stats":
        rep.legacy = {k: v for k, v in rep.full_legacy.items() if ("legacy", k, None) in visible}
        rep.complete = {"legacy": len(rep.legacy) == len(rep.full_legacy)}
        rep.ambiguous["legacy"] = [k for k in rep.ambiguous["legacy"] if k in rep.legacy]
    else:
        rep.complete = {}


# ---------------------------------------------------------------------------------------------
# Round trip: what the parser produced against the truth


def _same(parsed, truth) -> bool:
    if truth is None:
        return parsed is None or parsed == 0
    if parsed is None:
        return False
    return abs(float(parsed) - float(truth)) < 1e-9


def verify(parsed, truth: Truth) -> list[str]:
    """Compare a parse result (foi_research.parse.Parsed of the generated document) with the
    truth. Returns human-readable discrepancies; empty when the round trip holds:

    - one report per generated report, with the right year, agency, template and date;
    - every table-3/table-4/table-2/statistics-table cell the rendering left readable comes back
      exactly (a blank cell as null or 0); a cell the rendering made ambiguous may come back null,
      provided a quality row flags its row;
    - no number is ever placed wrongly: any value for a cell the truncation removed equals the
      value generated for it, and rows the document does not print get none;
    - figures stated in prose come back, and no others;
    - a deliberately broken identity keeps the printed value and raises its quality check;
    - a truncated report is not `ok`, or carries a warning; a clean report (nothing cut,
      ambiguous or contradictory) is `ok` (no_tables for narrative reports) with no warning.
    """
    out: list[str] = []
    reps = list(parsed.reports)
    if len(reps) != len(truth.reports):
        out.append(f"{len(reps)} report(s) found, {len(truth.reports)} generated (years {[r.year for r in truth.reports]}; found {[r.get('year') for r in reps]})")
        by_year = {r.get("year"): r for r in reps}
        pairs = [(t, by_year.get(t.year)) for t in truth.reports]
    else:
        pairs = list(zip(truth.reports, reps))
    idx: dict[str, dict[str, list[dict]]] = {}
    for table in ("requests", "appeals", "proactive", "legacy", "quality"):
        for row in getattr(parsed, table):
            idx.setdefault(row["report_id"], {}).setdefault(table, []).append(row)
    for t, r in pairs:
        where = f"report {t.year} ({t.template})"
        if r is None:
            out.append(f"{where}: not found")
            continue
        rows = idx.get(r["report_id"], {})
        out += [f"{where}: {m}" for m in _verify_report(t, r, rows)]
    return out


def _verify_report(t: ReportTruth, r: dict, rows: dict) -> list[str]:
    out: list[str] = []
    q = rows.get("quality", [])
    warnings = [x for x in q if x["severity"] in ("warning", "error")]
    if r.get("year") != t.year:
        out.append(f"year {r.get('year')} != {t.year}")
    if r.get("agency") != t.agency:
        out.append(f"agency {r.get('agency')!r} != {t.agency!r}")
    want_template = t.template
    if r.get("template") != want_template and not (t.truncated and r.get("template") in ("2019", "2021", "unknown")):
        out.append(f"template {r.get('template')} != {want_template}")
    if t.published and str(r.get("published")) != t.published:
        out.append(f"published {r.get('published')} != {t.published}")

    def flagged(**ctx) -> bool:
        for x in q:
            if all(x.get(k) == v for k, v in ctx.items()):
                return True
        return False

    # table 3
    got3 = {(x["row_code"], x["applicant"]): x["value"] for x in rows.get("requests", []) if not x.get("derived")}
    for row, cells in t.t3.items():
        amb = row in t.ambiguous["t3"]
        for a, v in cells.items():
            if (row, a) not in got3:
                if v is not None and not (amb and flagged(row_code=row)):  # a blank may be absent
                    out.append(f"t3 {row}/{a}: missing (expected {v})")
                continue
            p = got3[(row, a)]
            if not _same(p, v) and not (amb and p is None and flagged(row_code=row)):
                out.append(f"t3 {row}/{a}: {p} != {v}" + (" (ambiguous row, not flagged)" if amb else ""))
    for (row, a), p in got3.items():
        if row in t.t3 or p is None:
            continue
        full = t.full_t3.get(row)
        if full is None:
            out.append(f"t3 {row}/{a}: value {p} for a row that is not printed")
        elif not _same(p, full.get(a)):
            out.append(f"t3 {row}/{a}: {p} placed in a cut-off row (printed {full.get(a)})")
    # table 4
    got4 = {(x["proceeding"], x["outcome"]): x["value"] for x in rows.get("appeals", [])}
    t4_flag = any(x["check"].startswith("t4_") for x in q)
    for p_, cells in t.t4.items():
        for o, v in cells.items():
            p = got4.get((p_, o))
            if (p_, o) not in got4 and v is not None and not (t.ambiguous["t4"] and t4_flag):
                out.append(f"t4 {p_}/{o}: missing (expected {v})")
            elif (p_, o) in got4 and not _same(p, v) and not (t.ambiguous["t4"] and p is None and t4_flag):
                out.append(f"t4 {p_}/{o}: {p} != {v}")
    if not t.t4:
        for (p_, o), p in got4.items():
            if p is not None and not _same(p, t.full_t4.get(p_, {}).get(o)):
                out.append(f"t4 {p_}/{o}: {p} placed but the table is cut off (printed {t.full_t4.get(p_, {}).get(o)})")
    # table 2
    got2 = {(x["item"], x["measure"]): (x["value"], x["unit"]) for x in rows.get("proactive", [])}
    for c in t.t2:
        k = (c["item"], c["measure"])
        amb = c["item"] in t.ambiguous["t2"]
        if k not in got2:
            if c["value"] is not None and not (amb and flagged(item=c["item"])):
                out.append(f"t2 {k[0]}/{k[1]}: missing (expected {c['value']})")
            continue
        v, unit = got2[k]
        if not _same(v, c["value"]):
            if not (amb and v is None and flagged(item=c["item"])):
                out.append(f"t2 {k[0]}/{k[1]}: {v} != {c['value']}")
        elif v is not None and unit != c["unit"]:
            out.append(f"t2 {k[0]}/{k[1]}: unit {unit} != {c['unit']}")
    seen2 = {(c["item"], c["measure"]) for c in t.t2}
    full2 = {(c["item"], c["measure"]): c["value"] for c in t.full_t2}
    for k, (v, _) in got2.items():
        if k in seen2 or v is None:
            continue
        if k not in full2:
            out.append(f"t2 {k[0]}/{k[1]}: value {v} for a cell that is not printed")
        elif not _same(v, full2[k]):
            out.append(f"t2 {k[0]}/{k[1]}: {v} placed in a cut-off row (printed {full2[k]})")
    # statistics table and prose
    lg = {x["indicator"]: x["value"] for x in rows.get("legacy", []) if x["printed_in"] == "statistics_table"}
    for k, v in t.legacy.items():
        amb = k in t.ambiguous["legacy"]
        if k not in lg:
            if v is not None and not (amb and flagged(indicator=k)):
                out.append(f"legacy {k}: missing (expected {v})")
        elif not _same(lg[k], v) and not (amb and lg[k] is None and flagged(indicator=k)):
            out.append(f"legacy {k}: {lg[k]} != {v}")
    for k, v in lg.items():
        if k in t.legacy or v is None:
            continue
        if k not in t.full_legacy:
            out.append(f"legacy {k}: value {v} for an indicator that is not printed")
        elif not _same(v, t.full_legacy[k]):
            out.append(f"legacy {k}: {v} placed in a cut-off row (printed {t.full_legacy[k]})")
    nv = {x["indicator"]: x["value"] for x in rows.get("legacy", []) if x["printed_in"] == "prose"}
    for k, v in t.narrative.items():
        if nv.get(k) != v:
            out.append(f"prose {k}: {nv.get(k)} != {v}")
    for k, v in nv.items():
        if k not in t.narrative:
            out.append(f"prose {k}: {v} read from prose that does not state it")
    # flags
    for alts in t.expect_checks:
        if not any(x["check"] in alts for x in warnings):
            out.append(f"expected a quality warning {' or '.join(alts)}; got {sorted({x['check'] for x in q})}")
    status = r.get("status")
    if t.truncated:
        if status == "ok" and not warnings:
            out.append("truncated report is 'ok' without any warning")
    elif t.clean:
        want = "no_tables" if t.template == "narrative" else "ok"
        if status != want:
            out.append(f"status {status} != {want} ({'; '.join(x['message'] for x in warnings)[:300]})")
        if warnings:
            out.append("warnings on a clean report: " + "; ".join(f"{x['check']}: {x['message']}" for x in warnings)[:600])
    return out


# ---------------------------------------------------------------------------------------------
# Files and corpora


def write(path: str | Path, text: str, truth: Truth | None = None, encoding: str = "utf-8") -> Path:
    """Write a generated document (HTML documents declare their encoding)."""
    path = Path(path)
    if truth is not None and path.suffix == "":
        path = path.with_suffix(truth.suffix)
    if encoding.lower() not in ("utf-8", "utf8") and path.suffix in (".html", ".htm"):
        text = text.replace('<meta charset="utf-8">', f'<meta charset="{encoding}">', 1)
    path.write_bytes(text.encode(encoding, errors="strict"))
    return path


def write_corpus(
    out: str | Path,
    n_reports: int,
    seed: int = 0,
    reports_per_file: int = 1,
    truth: bool = False,
    **kw,
) -> list[Path]:
    """Write `n_reports` generated reports into `out` as files of `reports_per_file` reports each
    (random template, layout and noise unless given in kw). With truth=True a ground-truth JSON
    per report (GROUND_TRUTH_FORMAT.md) goes to out/truth, for `foi-research evaluate`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if truth:
        (out / "truth").mkdir(exist_ok=True)
    paths = []
    done = 0
    k = 0
    while done < n_reports:
        n = min(reports_per_file, n_reports - done)
        s = seed * 1_000_003 + k
        text, tr = generate(s, n_reports=n, noise=kw.pop("noise", "random") if "noise" in kw else "random", **kw)
        p = write(out / f"syn{k:07d}{tr.suffix}", text)
        paths.append(p)
        if truth:
            for rep in tr.reports:
                gt = rep.ground_truth(p.name, tr)
                (out / "truth" / f"{gt['id']}.json").write_text(json.dumps(gt, ensure_ascii=False, indent=1), encoding="utf-8")
        done += len(tr.reports)
        k += 1
    return paths
