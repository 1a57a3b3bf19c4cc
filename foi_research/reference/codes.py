"""Load the one code list (reference/codes.yaml) and match printed labels against it.

Everything else (parser, pandera schemas, codebook, chart labels) imports its vocabularies from
here, so a code or synonym is added in exactly one place.
"""
from __future__ import annotations

import functools
import marshal
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Iterable

from foi_research.reference.normalize import label_key


@dataclass(frozen=True)
class Code:
    code: str
    zh: str
    en: str
    match: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    veto: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def matches(self, key: str) -> bool:
        if key in self.exact:
            return True
        if any(v in key for v in self.veto):
            return False
        return any(m in key for m in self.match)

    @property
    def label(self) -> str:
        """Bilingual label for charts and codebooks."""
        return f"{self.zh} / {self.en}"


def _codes(items: Iterable[dict]) -> tuple[Code, ...]:
    out = []
    for d in items:
        d = dict(d)
        out.append(
            Code(
                code=str(d.pop("code")),
                zh=d.pop("zh"),
                en=d.pop("en"),
                match=tuple(d.pop("match", ()) or ()),
                exact=tuple(d.pop("exact", ()) or ()),
                veto=tuple(d.pop("not", ()) or ()),
                extra=d,
            )
        )
    return tuple(out)


@functools.lru_cache(maxsize=1)
def raw() -> dict:
    """codes.yaml as data. Parsing the YAML costs ~0.1 s per process (0.03 s with libyaml's C
    loader), so a copy in Python's marshal format is kept in the user's cache folder, keyed by
    the SHA-1 of codes.yaml and the Python version (codes.yaml stays the one source: an edit
    changes the key, and the copy is rebuilt on first use). FOI_CODES_CACHE=0 turns it off."""
    data = resources.files("foi_research").joinpath("reference/codes.yaml").read_bytes()
    cache = _cache_path(data)
    if cache is not None:
        try:
            return marshal.loads(cache.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            pass
    out = _load_yaml(data.decode("utf-8"))
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(out))
            os.replace(tmp, cache)  # atomic: a reader sees the old file or the whole new one
        except (OSError, ValueError):  # read-only home, or data marshal cannot hold: no cache
            pass
    return out


def _load_yaml(text: str) -> dict:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it
    return yaml.load(text, Loader=loader)


def _cache_path(data: bytes):
    if os.environ.get("FOI_CODES_CACHE", "1") == "0":
        return None
    import hashlib
    import sys
    from pathlib import Path

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.sha1(data).hexdigest()[:16]
    return Path(base) / "foi-research" / f"codes-{key}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"


class _Vocab:
    def __init__(self, codes: tuple[Code, ...]):
        self.items = codes
        self.by_code = {c.code: c for c in codes}

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.items]

    def __getitem__(self, code: str) -> Code:
        return self.by_code[code]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def labels(self, lang: str = "both") -> dict[str, str]:
        if lang == "zh":
            return {c.code: c.zh for c in self.items}
        if lang == "en":
            return {c.code: c.en for c in self.items}
        return {c.code: c.label for c in self.items}


@functools.lru_cache(maxsize=1)
def vocab() -> dict[str, _Vocab]:
    """Every vocabulary of codes.yaml: each top-level list of entries with code, zh and en."""
    return {
        k: _Vocab(_codes(v))
        for k, v in raw().items()
        if isinstance(v, list) and v and all(isinstance(d, dict) and {"code", "zh", "en"} <= set(d) for d in v)
    }


def V(name: str) -> _Vocab:
    return vocab()[name]


@functools.lru_cache(maxsize=None)
def _could_match(name: str):
    """A test that is False only when no code of vocabulary `name` can match a key (the key is no
    code's exact label and holds none of their match strings): the matchers below skip their loop."""
    items = V(name).items
    exact = frozenset(e for c in items for e in c.exact)
    subs = sorted({m for c in items for m in c.match}, key=len, reverse=True)
    if not subs:
        return exact.__contains__
    rx = re.compile("|".join(re.escape(m) for m in subs)).search
    return lambda key: key in exact or rx(key) is not None


APPLICANTS = [c["code"] for c in raw()["applicants"]]
REQUEST_ROWS = [c["code"] for c in raw()["request_rows"]]
PROCEEDINGS = [c["code"] for c in raw()["proceedings"]]
APPEAL_OUTCOMES = [c["code"] for c in raw()["appeal_outcomes"]]
PROACTIVE_ITEMS = [c["code"] for c in raw()["proactive_items"]]
PROACTIVE_MEASURES = [c["code"] for c in raw()["proactive_measures"]]
UNITS = [c["code"] for c in raw()["units"]]
LEGACY_INDICATORS = [c["code"] for c in raw()["legacy_indicators"]]
TEMPLATES = [str(c["code"]) for c in raw()["templates"]]
STATUSES = [c["code"] for c in raw()["statuses"]]
SEVERITIES = [c["code"] for c in raw()["severities"]]
ORIGINS = [c["code"] for c in raw()["origins"]]
PROACTIVE_LAYOUT: dict[str, dict[str, list[str]]] = {
    str(t): {str(s): list(m) for s, m in secs.items()} for t, secs in raw()["proactive_layout"].items()
}


def rows_for_template(template: str) -> list[str]:
    return list(_rows_for_template(template))


@functools.lru_cache(maxsize=None)
def _rows_for_template(template: str) -> tuple[str, ...]:
    return tuple(c.code for c in V("request_rows") if template in c.extra.get("templates", []))


def outcome_rows(template: str) -> list[str]:
    """Rows whose sum is total_handled in this template (the 2019 template prints (六) as one row,
    the 2021 template splits it into three)."""
    return list(_outcome_rows(template))


@functools.lru_cache(maxsize=None)
def _outcome_rows(template: str) -> tuple[str, ...]:
    return tuple(
        c.code
        for c in V("request_rows")
        if template in c.extra.get("templates", []) and c.extra.get("role") in ("outcome", "outcome_total")
    )


# ---------------------------------------------------------------------------------------------
# Label matching


@functools.lru_cache(maxsize=8192)
def match_applicant(key: str) -> str | None:
    if not _could_match("applicants")(key):
        return None
    for c in V("applicants"):
        if c.matches(key):
            return c.code
    return None


@functools.lru_cache(maxsize=8192)
def match_request_group(key: str) -> str | None:
    if not _could_match("request_groups")(key):
        return None
    for c in V("request_groups"):
        if c.matches(key):
            return c.code
    return None


@functools.lru_cache(maxsize=8192)
def match_request_row(key: str, group: str | None) -> str | None:
    """Match a table-3 row label. Rows that belong to a group (不予公开 1-8, 无法提供 1-3, 不予处理
    1-5, 其他处理 1-3) are preferred when that group is the current one, so that '3.其他' under
    (六) becomes other_other and nothing else."""
    if not _could_match("request_rows")(key):
        return None
    rows = V("request_rows")
    if group:
        for c in rows:
            if c.extra.get("group") == group and c.matches(key):
                return c.code
    for c in rows:
        g = c.extra.get("group")
        if g == "other" and group != "other":
            continue  # 3.其他 only means other_other inside (六)
        if c.matches(key):
            return c.code
    return None


@functools.lru_cache(maxsize=8192)
def match_proceeding(key: str) -> str | None:
    if not _could_match("proceedings")(key):
        return None
    for c in V("proceedings"):
        if c.matches(key):
            return c.code
    return None


@functools.lru_cache(maxsize=8192)
def match_appeal_outcome(key: str) -> str | None:
    if not _could_match("appeal_outcomes")(key):
        return None
    for c in V("appeal_outcomes"):
        if c.matches(key):
            return c.code
    return None


@functools.lru_cache(maxsize=8192)
def match_proactive_item(key: str, section: str | None = None) -> str | None:
    if not _could_match("proactive_items")(key):
        return None
    for c in V("proactive_items"):
        if section and c.extra.get("section") != section:
            continue
        if c.matches(key):
            return c.code
    return None


@functools.lru_cache(maxsize=8192)
def match_proactive_measure(key: str) -> str | None:
    if not _could_match("proactive_measures")(key):
        return None
    for c in V("proactive_measures"):
        if c.matches(key):
            return c.code
    return None


@functools.lru_cache(maxsize=1)
def _legacy_table_index():
    out = []
    for d in raw()["legacy_indicators"]:
        out.append((d["code"], tuple(d.get("table") or ()), tuple(d.get("not") or ()), d.get("parent")))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _legacy_label_search():
    labels = sorted({lbl for _, lbls, _, _ in _legacy_table_index() for lbl in lbls}, key=len, reverse=True)
    if any(not lbl for lbl in labels):
        return lambda key: True
    if not labels:
        return lambda key: False
    rx = re.compile("|".join(re.escape(lbl) for lbl in labels)).search
    return lambda key: rx(key) is not None


LEGACY_TOP = [d["code"] for d in raw()["legacy_indicators"] if not d.get("parent")]


@functools.lru_cache(maxsize=1)
def legacy_parents() -> dict[str, str | None]:
    return {d["code"]: d.get("parent") for d in raw()["legacy_indicators"]}


@functools.lru_cache(maxsize=None)
def legacy_family(code: str) -> str:
    """The top-level indicator a legacy indicator belongs to (received_online -> received)."""
    parents = legacy_parents()
    while parents.get(code):
        code = parents[code]
    return code


@functools.lru_cache(maxsize=8192)
def match_legacy_label(key: str, section: str | None) -> str | None:
    """Match a label of the pre-2019 statistics table. `section` is the top-level indicator whose
    block the label sits in (received, completed, answered, reconsideration, litigation,
    complaint); labels that repeat across blocks (维持具体行政行为数, 其他情形数) resolve through it."""
    if not _legacy_label_search()(key):
        return None  # no label of the table is in the key: every hit is 0
    best = None
    for code, labels, veto, parent in _legacy_table_index():
        if any(v in key for v in veto):
            continue
        hit = max((len(lbl) for lbl in labels if lbl in key), default=0)
        if not hit:
            continue
        fam = legacy_family(code)
        if parent and section and fam != section:
            continue
        if parent is None and code in ("reconsideration", "litigation", "complaint") and "数量" not in key and hit < 4:
            continue
        # prefer the longest matching label; on ties prefer the indicator of the current section
        score = (hit, fam == section)
        if best is None or score > best[0]:
            best = (score, code)
    return best[1] if best else None


@functools.lru_cache(maxsize=1)
def narrative_vocabulary() -> dict:
    """The prose vocabulary of the code list, uncompiled: `phrases` is a list of (kind, value,
    pattern) with kind `indicator` (value: the indicator code), `request`, `receipt`, `other`,
    `light`, `pending`, `negation` (value None); plus the lists `not_this_year`, `all_done`,
    `each`, `joiners`, `zero` and the string `items_unit` (see narrative_words in codes.yaml)."""
    words = raw()["narrative_words"]
    phrases = []
    for d in raw()["legacy_indicators"]:
        for pat in d.get("narrative") or ():
            phrases.append(("indicator", d["code"], pat))
    for kind in ("request", "receipt", "other", "light", "pending", "negation"):
        phrases.extend((kind, None, pat) for pat in words.get(kind) or ())
    out = {k: list(words.get(k) or ()) for k in ("not_this_year", "all_done", "each", "joiners", "zero")}
    out["items_unit"] = words.get("items_unit", "条")
    out["phrases"] = phrases
    return out


def key(label: str) -> str:
    """Shortcut used by the parser: normalised label -> matching key."""
    return label_key(label)
