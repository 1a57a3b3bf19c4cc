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


@functools.lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer()
