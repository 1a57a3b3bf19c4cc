"""Place an agency in province / city / county with its division code.

The divisions come from the National Bureau of Statistics list shipped in
reference/divisions (source, edition and licence in reference/divisions/SOURCE.md); nothing
here is typed by hand. Names are matched in full (临淄区, 淄博市) and, for provinces and
prefecture cities, also in short form (淄博, 湖南). Where a county name exists in several
places (南山区, 龙华区), the city or province named in the agency or elsewhere in the report
decides; if nothing does, the county is left empty rather than guessed.
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

_PROV_SUFFIX = re.compile(r"(?:壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区|省|市)$")
_CITY_SUFFIX = re.compile(r"(?:自治州|地区|盟|市)$")
_PLACEHOLDER = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
ZONE = re.compile(r"(?:高新技术产业开发区|经济技术开发区|经济开发区|高新区|开发区|新区|工业园区|产业园区|保税区|管理区|试验区)")


@dataclass(frozen=True)
class Place:
    province: str | None = None
    city: str | None = None
    county: str | None = None
    code: str | None = None  # most specific division found in the gazetteer
    level: str | None = None  # province, city or county
    zone: str | None = None  # development zone named in the agency (no division code of its own)


class Gazetteer:
    def __init__(self):
        base = resources.files("foi_research").joinpath("reference/divisions")

        def rows(name):
            with base.joinpath(name).open(encoding="utf-8") as f:
                return list(csv.DictReader(f))

        self.provinces = {r["code"]: r["name"] for r in rows("provinces.csv")}
        self.cities = {r["code"]: (r["name"], r["provinceCode"]) for r in rows("cities.csv")}
        self.areas = {r["code"]: (r["name"], r["cityCode"], r["provinceCode"]) for r in rows("areas.csv")}
        names: dict[str, list[tuple[str, str]]] = {}

        def add(n, level, code):
            if n and len(n) >= 2 and n not in _PLACEHOLDER:
                names.setdefault(n, []).append((level, code))

        for c, n in self.provinces.items():
            add(n, "province", c)
            short = _PROV_SUFFIX.sub("", n)
            if short != n:
                add(short, "province", c)
        for c, (n, _) in self.cities.items():
            add(n, "city", c)
            short = _CITY_SUFFIX.sub("", n)
            if short != n and len(short) >= 2:
                add(short, "city", c)
        for c, (n, _, _) in self.areas.items():
            add(n, "county", c)
        self.names = names
        alts = sorted(names, key=len, reverse=True)
        self._rx = re.compile("|".join(re.escape(a) for a in alts))
        # first character -> lengths of the names that start with it, longest first (for _find)
        by_first: dict[str, set[int]] = {}
        for name in names:
            by_first.setdefault(name[0], set()).add(len(name))
        self._first_index = {c: tuple(sorted(ls, reverse=True)) for c, ls in by_first.items()}
        # city code -> [(county code, county name without its last character)] for the counties
        # of that city whose name ends in 区, 县, 市 or 旗 (and has at least three characters)
        self._county_shorts: dict[str, list[tuple[str, str]]] = {}
        for c, (n, cc, _) in self.areas.items():
            if len(n) >= 3 and n[-1] in "区县市旗":
                self._county_shorts.setdefault(cc, []).append((c, n[:-1]))
        # bounded memos (cleared when full) of find() on short texts and of place() when the
        # place does not depend on the context
        self._find_memo: dict[str, tuple] = {}
        self._place_memo: dict[str, Place] = {}

    def find(self, text: str) -> list[tuple[str, str, str]]:
        """All division names in text, leftmost-longest: (name, level, code)."""
        if len(text) <= 64:  # agency names: memoised
            memo = self._find_memo
            hit = memo.get(text)
            if hit is None:
                if len(memo) >= 8192:
                    memo.clear()
                hit = memo[text] = tuple(self._find(text))
            return list(hit)
        return self._find(text)

    def _find(self, text: str) -> list[tuple[str, str, str]]:
        out = []
        # the same scan as self._rx (alternatives longest first): at each position the longest
        # name that starts there, then on after it; names are looked up by their first character
        names = self.names
        first = self._first_index
        i, n = 0, len(text)
        while i < n:
            for k in first.get(text[i], ()):
                name = text[i : i + k]
                if len(name) == k and name in names:
                    for level, code in names[name]:
                        out.append((name, level, code))
                    i += k
                    break
            else:
                i += 1
        return out

    def chain(self, level: str, code: str) -> tuple[str | None, str | None, str | None]:
        if level == "province":
            return code, None, None
        if level == "city":
            return self.cities[code][1], code, None
        _, city, prov = self.areas[code]
        return prov, city, code

    def place(self, agency: str | None, context: str = "") -> Place:
        if not agency:
            return Place()
        # a place found without looking at the context depends on the agency alone: memoised
        # (Place is frozen; the same agency recurs over the years and the reports of a file)
        memo = self._place_memo
        got = memo.get(agency)
        if got is not None:
            return got
        hits = self.find(agency)
        ambiguous = len({self.areas[c][0] for _, lv, c in hits if lv == "county"}) < len([1 for _, lv, _ in hits if lv == "county"])
        # the rest of the report only matters to tell apart places that share a name
        if ambiguous or not hits:
            return self._place(agency, hits, self.find(context[:4000]) if context else [])
        got = self._place(agency, hits, [])
        if len(memo) >= 8192:
            memo.clear()
        memo[agency] = got
        return got

    def _place(self, agency: str, hits: list[tuple[str, str, str]], ctx_hits: list[tuple[str, str, str]]) -> Place:
        ctx_codes = {c for _, _, c in ctx_hits}
        named = {c for _, _, c in hits}
        best = None
        for name, level, code in hits:
            prov, city, county = self.chain(level, code)
            score = {"county": 3, "city": 2, "province": 1}[level] * 10
            score += 20 * ((city in named) + (prov in named))
            score += 2 * ((city in ctx_codes) + (prov in ctx_codes))
            score += len(name)
            if best is None or score > best[0]:
                best = (score, level, code, name)
        zone = None
        zm = ZONE.search(agency)
        if zm:
            before = agency[: zm.start()]
            starts = [m for m in self._rx.finditer(before)]
            s0 = starts[-1].start() if starts else max(0, zm.start() - 6)
            zone = agency[s0 : zm.end()]
        if best is None:
            return Place(zone=zone, county=zone)
        _, level, code, _ = best
        # a county name shared by several places with no evidence for this one: keep the city
        if level == "county":
            same = [c for n, lv, c in hits if lv == "county" and self.areas[c][0] == self.areas[code][0]]
            if len(same) > 1:
                city_ev = [c for c in same if self.areas[c][1] in named or self.areas[c][2] in named or self.areas[c][1] in ctx_codes]
                if len(city_ev) == 1:
                    code = city_ev[0]
                else:
                    cities = {self.areas[c][1] for c in same}
                    provs = {self.areas[c][2] for c in same}
                    if len(cities) == 1:
                        level, code = "city", cities.pop()
                    elif len(provs) == 1:
                        level, code = "province", provs.pop()
                    else:
                        return Place(zone=zone, county=zone)
        prov, city, county = self.chain(level, code)
        if county is None and city is not None:
            # a county named in short form inside a city's agency: 深圳市公安局龙华分局 -> 龙华区
            shorts = self._county_shorts.get(city, ())
            rest = agency
            for nm in (self.cities[city][0], _CITY_SUFFIX.sub("", self.cities[city][0])):
                rest = rest.replace(nm, "|")
            found = [c for c, sh in shorts if sh in rest]
            if len(found) == 1:
                county, level = found[0], "county"
        pname = self.provinces.get(prov) if prov else None
        cname = self.cities[city][0] if city else None
        if cname in _PLACEHOLDER:
            cname = None
        aname = self.areas[county][0] if county else None
        if aname is None and zone:
            aname = zone
        return Place(pname, cname, aname, (county or city or prov) + "0" * (6 - len(county or city or prov)), "county" if county else level, zone)


_TOWN_AFTER = "街镇乡路村"  # a division name followed by one of these names a street or town (北京街道, 南京路)
_CLAIMED_COUNTY = re.compile(r"([^省市区县州旗盟\s]{2,12}[区县])人民政府")


def doubts(agency: str | None, place: Place, text: str = "") -> list[str]:
    """Reasons to doubt where an agency was placed, from its name and the report's own text
    (empty when nothing contradicts it). The placement is kept; these become `place_doubtful`
    quality warnings so that a wrong place (an agency name stuffed with spam placed in 北京市)
    does not pass unnoticed.

    - the division name that placed it is the start of a street or town name (北京 in 北京街道);
    - the name claims a people's government of a district or county the gazetteer does not know
      (新葡京博彩官网区人民政府);
    - the report's text names divisions of another province at least twice and never the
      province, city or county it was placed in."""
    if not agency or not place.code:
        return []
    g = gazetteer()
    out: list[str] = []
    prov, city, county = place.code[:2], place.code[:4], place.code
    own: list[str] = []
    if prov in g.provinces:
        own += [g.provinces[prov], _PROV_SUFFIX.sub("", g.provinces[prov])]
    if city in g.cities and g.cities[city][0] not in _PLACEHOLDER:
        own += [g.cities[city][0], _CITY_SUFFIX.sub("", g.cities[city][0])]
    if county in g.areas:
        own.append(g.areas[county][0])
    own = [n for n in dict.fromkeys(own) if len(n) >= 2]
    where = "/".join(x for x in (place.province, place.city, place.county) if x)
    hits = [n for n in own if n in agency]
    if hits and all(
        all(agency[i + len(n) : i + len(n) + 1] in _TOWN_AFTER and agency[i + len(n) : i + len(n) + 1] for i in _positions(agency, n)) for n in hits
    ):
        n = hits[0]
        i = agency.index(n)
        out.append(f"placed in {where} from '{n}' in the agency name '{agency}', but there '{agency[i:i + len(n) + 2]}' names a street or town, not the division")
    m = _CLAIMED_COUNTY.search(agency)
    head = agency[: m.end(1)] if m else ""
    if m and not ZONE.search(m.group(1)) and not any(head[i:] in g.names for i in range(len(head) - 1)):
        out.append(f"the agency name '{agency}' claims a district or county '{m.group(1)}' that no division of the gazetteer is called (placed in {where})")
    if text and not any(n in text for n in own):
        seen: dict[str, int] = {}
        for name, level, code in g.find(text[:6000]):
            if len(g.names.get(name, ())) > 1:
                continue  # a shared name says nothing about the province
            seen[code[:2]] = seen.get(code[:2], 0) + 1
        others = sorted(((n, p) for p, n in seen.items() if p != prov), reverse=True)
        if others and others[0][0] >= 2:
            n, p = others[0]
            out.append(f"placed in {where} from the agency name '{agency}', but the report's text never names it and names places in {g.provinces.get(p, p)} {n} times")
    return out


def _positions(s: str, sub: str) -> list[int]:
    out, i = [], s.find(sub)
    while i >= 0:
        out.append(i)
        i = s.find(sub, i + 1)
    return out


@functools.lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer()


# ---------------------------------------------------------------------------------------------
# Divisions by code, name or path (what a researcher writes as `region`)


class RegionError(ValueError):
    """A region that names no division, or several: the message lists the candidates with their
    codes and says what to write instead."""


@dataclass(frozen=True)
class Division:
    """One division of the gazetteer, or a development zone (level 'zone', no code of its own:
    `code` is then the code of the division it lies in)."""

    code: str  # 6 digits (GB/T 2260 / NBS)
    level: str  # province, city, county or zone
    name: str  # its own name (市中区)
    province: str | None = None
    city: str | None = None  # None for municipalities' districts and directly administered counties
    zone: str | None = None

    @property
    def prefix(self) -> str:
        """The leading digits every division inside this one shares (37, 3701, 370103)."""
        return {"province": self.code[:2], "city": self.code[:4]}.get(self.level, self.code)

    @property
    def path(self) -> str:
        """山东省/济南市/市中区: what `resolve` reads back."""
        parts = [self.province, self.city, self.name if self.level in ("county", "zone") else None]
        if self.level == "province":
            parts = [self.name]
        elif self.level == "city":
            parts = [self.province, self.name]
        return "/".join(p for p in parts if p)

    @property
    def full_name(self) -> str:
        """山东省济南市市中区 (the path without separators)."""
        return self.path.replace("/", "")

    @property
    def label(self) -> str:
        """The shortest name that tells this division apart from every other of its level: a
        county with its city (济南市市中区; 北京市朝阳区 for a municipality's district), a city or a
        province by its own name, a zone with its city unless its name starts with it."""
        if self.level == "county":
            return f"{self.city or self.province or ''}{self.name}"
        if self.level == "zone":
            parent = self.city or self.province or ""
            short = _CITY_SUFFIX.sub("", parent) if self.city else _PROV_SUFFIX.sub("", parent)
            return self.name if not parent or self.name.startswith(short) else f"{parent}{self.name}"
        return self.name

    def contains(self, code: str | None) -> bool:
        return bool(code) and code.startswith(self.prefix) and (self.level != "county" or code == self.code)

    def describe(self) -> str:
        return f"{self.code} {self.path}" if self.level != "zone" else f"{self.path} (zone in {self.code})"


_SEP = re.compile(r"[/／>＞|｜]")  # (spaces around the parts are stripped after the split: a pattern with \s* on both sides is quadratic on a long run of spaces)
_CODE = re.compile(r"\d{2}(?:\d{2}(?:\d{2})?)?")


def _level_of(code: str) -> str:
    return "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"


def _division(g: "Gazetteer", level: str, code: str) -> Division:
    """The Division of a gazetteer entry (code of 2, 4 or 6 digits)."""
    if level == "province":
        return Division(code.ljust(6, "0"), "province", g.provinces[code])
    if level == "city":
        name, prov = g.cities[code]
        return Division(code.ljust(6, "0"), "city", name, g.provinces.get(prov))
    name, city, prov = g.areas[code]
    cname = g.cities[city][0] if city in g.cities else None
    return Division(code, "county", name, g.provinces.get(prov), None if cname in _PLACEHOLDER else cname)


def division(code: str) -> Division:
    """The division of a 2-, 4- or 6-digit code (370000, 3703, 370305). Raises RegionError."""
    g = gazetteer()
    c = code.strip()
    if not _CODE.fullmatch(c):
        raise RegionError(f"{code!r} is not a division code (2, 4 or 6 digits, e.g. 37, 3703, 370305)")
    c6 = c.ljust(6, "0")
    if c6.endswith("0000") and c6[:2] in g.provinces:
        return _division(g, "province", c6[:2])
    if c6.endswith("00") and c6[:4] in g.cities and g.cities[c6[:4]][0] not in _PLACEHOLDER:
        return _division(g, "city", c6[:4])
    if c6 in g.areas:
        return _division(g, "county", c6)
    raise RegionError(f"no division has the code {code}; codes are those of GB/T 2260 (e.g. 370305 山东省/淄博市/临淄区)")


def _candidates(g: "Gazetteer", name: str) -> list[Division]:
    """Divisions called `name`: in full or short form (淄博, 山东), else the only ones whose full
    name starts with it (临淄 -> 临淄区)."""
    hits = g.names.get(name, [])
    if not hits and len(name) >= 2:
        full = {n for n in g.names if n.startswith(name)}
        hits = [h for n in sorted(full) for h in g.names[n] if n != name]
    out: list[Division] = []
    for level, code in hits:
        d = _division(g, level, code)
        if d not in out:
            out.append(d)
    return out


def _ambiguous(text: str, cands: list[Division]) -> RegionError:
    shown = "; ".join(d.describe() for d in cands[:12]) + ("; …" if len(cands) > 12 else "")
    ex = cands[0]
    return RegionError(
        f"region {text!r} names {len(cands)} divisions: {shown}. "
        f"Write the code (e.g. {ex.code}) or the path (e.g. {ex.path}) of the one you mean"
    )


def _within(parent: Division, d: Division) -> bool:
    return d.code.startswith(parent.prefix) and d.code != parent.code


def resolve(region: str) -> Division:
    """The division a researcher means by `region`: a GB/T 2260 code (370305, 3703, 37), a name
    in full or short form (临淄区, 淄博市, 淄博, 山东), the start of a name when only one division
    starts so (临淄 -> 临淄区), a path (山东省/济南市/市中区) or full name (济南市市中区), or a
    development zone (淄博经济开发区). A name shared by several divisions (市中区) is an error
    listing them with their codes. Raises RegionError."""
    text = (region or "").strip()
    if not text:
        raise RegionError("empty region; write a division code or name (e.g. 370305 or 临淄区), or leave region empty for all the data")
    if text.isdigit():
        return division(text)
    g = gazetteer()
    parts = [p.strip() for p in _SEP.split(text) if p.strip()]
    if len(parts) > 1:
        return _resolve_path(g, text, parts)
    cands = _candidates(g, text)
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        # a province and its own city of the same short name cannot both be meant (吉林: 吉林省, 吉林市)
        raise _ambiguous(text, cands)
    # a full name written without separators: 济南市市中区, 山东省淄博市
    hits = g.find(text)
    if hits and "".join(n for n, _, _ in _dedupe(hits)) == text:
        return _resolve_path(g, text, [n for n, _, _ in _dedupe(hits)])
    zm = ZONE.search(text)
    if zm:
        place = g.place(text)
        if place.code:
            return Division(place.code, "zone", text, place.province, place.city, zone=text)
    near = _close_names(g, text)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise RegionError(f"no division is called {text!r}{hint} Write a GB/T 2260 code or a name as the gazetteer has it (e.g. 370305 or 临淄区)")


def _dedupe(hits):
    """One (name, level, code) per name found: find() lists every division of a shared name."""
    out = []
    for h in hits:
        if not out or out[-1][0] != h[0]:
            out.append(h)
    return out


def _resolve_path(g: "Gazetteer", text: str, parts: list[str]) -> Division:
    cur: list[Division] = _candidates(g, parts[0]) or [resolve(parts[0])]
    for part in parts[1:]:
        nxt: list[Division] = []
        for d in _candidates(g, part):
            if any(_within(p, d) for p in cur) and d not in nxt:
                nxt.append(d)
        if not nxt:
            where = " or ".join(p.path for p in cur)
            raise RegionError(f"no division called {part!r} lies in {where} (region {text!r})")
        cur = nxt
    if len(cur) > 1:
        raise _ambiguous(text, cur)
    return cur[0]


def _close_names(g: "Gazetteer", text: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(text, list(g.names), n=4, cutoff=0.6)


def label_of(code: str | None) -> str | None:
    """The label (Division.label) of a 6-digit code, None when unknown."""
    if not code:
        return None
    try:
        return division(code).label
    except RegionError:
        return None
