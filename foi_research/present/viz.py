"""Altair charts with bilingual (Chinese / English) labels taken from the code list.

Every title, axis title and category label of a chart comes from `reference/codes.yaml`: the
general terms from its `chart_labels` vocabulary, the categories (applicants, table-3 rows,
proceedings, severities...) from their own vocabularies. A chart is returned as a `Figure`: the
altair chart together with the polars table it draws, so that `save_figure` can write the chart
as PNG and SVG and the table behind it as CSV.

Rendering
- `setup()` registers the Chinese font with vl-convert, enables the `foi` theme and picks the
  renderer. The default is altair's `svg` renderer: static, offline and byte-stable, which is
  what the stored notebooks need (nbval compares their outputs). With `interactive=True`, or the
  environment variable FOI_CHARTS=interactive (which `foi-research lab` sets), it enables the
  `jupyter` renderer with `offline=True`: interactive charts (tooltips, legend selection) whose
  JavaScript comes from vl-convert, not from a CDN.
- PNG output needs a CJK font. `font_dir()` finds Noto Sans SC (SIL OFL 1.1) shipped by the
  PyPI package `pylopdf-fonts-zh-cn` (a dependency), or a directory given in FOI_FONT_DIR, and
  `register_fonts()` hands it to `vl_convert.register_font_directory`.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import altair as alt
import polars as pl

from foi_research.reference import codes

THEME = "foi"
ENV_CHARTS = "FOI_CHARTS"  # "svg" (default) or "interactive"
ENV_FONT_DIR = "FOI_FONT_DIR"
FONT_FAMILY = "Noto Sans SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
WIDTH = 460
HEIGHT = 240
PNG_PPI = 300  # print resolution of the PNG files (pHYs chunk says so)
LABEL_LIMIT = 180  # px: longer axis labels are cut (with …); keeps axis titles clear of the labels
SMALL_N = 30  # a share resting on fewer requests than this is drawn paler, its n printed
FONT_NAME = "Noto Sans SC"  # the font embedded in SVG files (first of FONT_FAMILY)
ERA_STARTS = (2019, 2021)  # first years reported on in the 2019 and 2021 templates (codes.yaml eras)


# ---------------------------------------------------------------------------------------------
# Labels (all from codes.yaml)


@functools.lru_cache(maxsize=1)
def _chart_labels():
    return codes._Vocab(codes._codes(codes.raw()["chart_labels"]))


def _fmt(zh: str, en: str, lang: str) -> str:
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    return f"{zh} / {en}"


def vocab(name: str):
    """A vocabulary of codes.yaml by name (also the sections other stages append)."""
    if name == "chart_labels":
        return _chart_labels()
    try:
        return codes.V(name)
    except KeyError:
        return _extra_vocab(name)


@functools.lru_cache(maxsize=None)
def _extra_vocab(name: str):
    return codes._Vocab(codes._codes(codes.raw()[name]))


def L(code: str, vocab_name: str = "chart_labels", lang: str = "both") -> str:
    """Label of `code` in a vocabulary (default: the chart labels): '中文 / English'.
    Raises KeyError for a code the code list does not know, so no label is invented here."""
    c = vocab(vocab_name)[code]
    return _fmt(c.zh, c.en, lang)


def title(code: str, subtitle: str | Sequence[str] | None = None, vocab_name: str = "chart_labels") -> alt.Title:
    """A chart title: the Chinese label on the first line, the English one on the second."""
    return alt.Title(
        text=[L(code, vocab_name, "zh"), L(code, vocab_name, "en")],
        subtitle=subtitle if subtitle is not None else alt.Undefined,
        anchor="start",
    )


def T2(code: str, vocab_name: str = "chart_labels") -> list[str]:
    """An axis title on two lines, Chinese then English: half as long as '中文 / English', so
    it fits beside the axis without running over its labels."""
    return [L(code, vocab_name, "zh"), L(code, vocab_name, "en")]


def with_labels(df: pl.DataFrame, column: str, vocab_name: str, lang: str = "both", order: bool = True) -> pl.DataFrame:
    """Add `<column>_label` (bilingual label of each code) and `<column>_order` (the position of
    the code in the code list) so that charts show labels and keep the printed order."""
    v = vocab(vocab_name)
    mapping = {c.code: _fmt(c.zh, c.en, lang) for c in v}
    pos = {c.code: i for i, c in enumerate(v)}
    out = df.with_columns(pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String).alias(f"{column}_label"))
    missing = out.filter(pl.col(f"{column}_label").is_null() & pl.col(column).is_not_null())[column].unique().to_list()
    if missing:
        raise KeyError(f"codes without a label in vocabulary {vocab_name!r}: {sorted(missing)}")
    if order:
        out = out.with_columns(pl.col(column).replace_strict(pos, default=None, return_dtype=pl.Int64).alias(f"{column}_order"))
    return out


def label_order(vocab_name: str, codes_present: Iterable[str] | None = None, lang: str = "both") -> list[str]:
    """Labels of a vocabulary in code-list order (optionally only those of codes_present)."""
    v = vocab(vocab_name)
    keep = set(codes_present) if codes_present is not None else None
    return [_fmt(c.zh, c.en, lang) for c in v if keep is None or c.code in keep]


# ---------------------------------------------------------------------------------------------
# Fonts, theme, renderer


def font_dir() -> Path | None:
    """Directory holding a CJK font for PNG output: FOI_FONT_DIR, else the Noto Sans SC of the
    pylopdf-fonts-zh-cn package, else None (vl-convert then falls back to system fonts)."""
    env = os.environ.get(ENV_FONT_DIR)
    if env and Path(env).is_dir():
        return Path(env)
    try:
        import pylopdf_fonts_zh_cn as f
    except ImportError:
        return None
    p = Path(f.sans_path())
    return p.parent if p.exists() else None


_registered: set[str] = set()


def register_fonts() -> Path | None:
    """Register the CJK font directory with vl-convert (once per process)."""
    d = font_dir()
    if d is None:
        return None
    if str(d) not in _registered:
        import vl_convert as vlc

        vlc.register_font_directory(str(d))
        _registered.add(str(d))
    return d


def _theme() -> dict:
    return {
        "config": {
            "font": FONT_FAMILY,
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
            "title": {"fontSize": 14, "subtitleFontSize": 11, "subtitleColor": "#555"},
            # labels cut at LABEL_LIMIT px: Vega places an axis title by the labels' width up to
            # about 190 px, so longer labels ran under the title
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "labelLimit": LABEL_LIMIT, "titlePadding": 8},
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "labelLimit": 0},  # legend labels whole, never cut
            "header": {"labelFontSize": 11, "titleFontSize": 12},
            "range": {"category": {"scheme": "tableau10"}},
        }
    }


def _register_theme() -> None:
    if THEME not in alt.theme.names():
        alt.theme.register(THEME, enable=False)(_theme)


def interactive_requested() -> bool:
    return os.environ.get(ENV_CHARTS, "").strip().lower() in ("interactive", "jupyter", "1", "true")


def setup(interactive: bool | None = None) -> str:
    """Prepare altair for this project: fonts, theme, renderer. Returns the renderer's name.

    interactive None reads FOI_CHARTS. The stored notebooks run with the static svg renderer so
    that their outputs are byte-stable; `foi-research lab` sets FOI_CHARTS=interactive so a
    researcher who re-runs a notebook in JupyterLab gets interactive charts that work offline."""
    register_fonts()
    _register_theme()
    alt.theme.enable(THEME)
    if interactive is None:
        interactive = interactive_requested()
    if interactive:
        alt.renderers.enable("jupyter", offline=True)
        return "jupyter (offline)"
    alt.renderers.enable("svg")
    return "svg"


# ---------------------------------------------------------------------------------------------
# Figures


@dataclass(repr=False)
class Figure:
    """An altair chart and the table it draws. Displays as the chart in a notebook (an empty
    figure as a sentence, never as an empty chart)."""

    name: str
    chart: alt.TopLevelMixin
    data: pl.DataFrame
    empty: bool = False

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self.empty:
            note = f"*{L('no_data')}* ({self.name})"
            return {"text/markdown": note, "text/plain": note}
        bundle = self.chart._repr_mimebundle_(include, exclude)
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        if "image/svg+xml" in data:
            data = dict(data, **{"image/svg+xml": _accessible(data["image/svg+xml"], self.description)})
        return (data, meta) if isinstance(bundle, tuple) else data

    @property
    def description(self) -> str:
        d = self.chart.to_dict().get("description")
        return d if isinstance(d, str) else self.name

    def to_dict(self) -> dict:
        return self.chart.to_dict()

    def __repr__(self) -> str:  # the notebook's text form: no table preview
        return f"<chart {self.name}: {self.description}>"


def _accessible(svg: str, description: str) -> str:
    """The SVG with its alt text: role=img, aria-label and a <title> (screen readers, and the
    HTML report's alt attribute)."""
    import html as _h

    if "aria-label=" in svg[: svg.find(">")]:
        return svg
    esc = _h.escape(description, quote=True)
    head_end = svg.find(">")
    return svg[:head_end] + f' role="img" aria-label="{esc}"' + svg[head_end:head_end + 1] + f"<title>{esc}</title>" + svg[head_end + 1 :]


@functools.lru_cache(maxsize=1)
def _font_path() -> Path | None:
    d = font_dir()
    if d is None:
        return None
    for pat in ("NotoSansSC*.otf", "NotoSansSC*.ttf", "*.otf", "*.ttf"):
        hits = sorted(d.glob(pat))
        if hits:
            return hits[0]
    return None


def embed_fonts(svg: str, description: str | None = None) -> str:
    """The SVG with the glyphs it uses embedded: a subset of Noto Sans SC (every character of
    its text) as an @font-face data URL, so that Chinese shows on a machine without a CJK font.
    Deterministic (no time stamp in the subset). Also adds the alt text (see _accessible)."""
    import base64
    import html as _h
    import io
    import re

    if description:
        svg = _accessible(svg, description)
    path = _font_path()
    if path is None or "@font-face" in svg:
        return svg
    from fontTools import subset
    from fontTools.ttLib import TTFont

    texts = re.findall(r"<(?:text|tspan)\b[^>]*>([^<]*)<", svg) + re.findall(r"<title>([^<]*)</title>", svg)
    chars = "".join(sorted(set(_h.unescape("".join(texts))) | set("0123456789.,%-–")))
    font = TTFont(str(path), lazy=False, recalcTimestamp=False)
    opts = subset.Options()
    opts.name_IDs = [1, 2]  # family and style names only
    sub = subset.Subsetter(opts)
    sub.populate(text=chars)
    sub.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    style = f'<defs><style>@font-face{{font-family:"{FONT_NAME}";src:url(data:font/otf;base64,{b64}) format("opentype");}}</style></defs>'
    i = svg.find(">", svg.find("<svg")) + 1
    return svg[:i] + style + svg[i:]


def save_figure(fig: Figure, out_dir: str | Path) -> dict[str, Path]:
    """Write charts/<name>.png (300 dpi), .svg (fonts embedded, alt text) and .pdf (fonts
    embedded), and tables/<name>.csv (UTF-8 with BOM, as the dataset's CSV) under out_dir. An
    empty figure writes only its (empty) table: no empty chart."""
    import vl_convert as vlc
    from altair.utils._importers import vl_version_for_vl_convert

    out = Path(out_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "tables" / f"{fig.name}.csv"}
    from foi_research.present.export import spreadsheet_safe

    spreadsheet_safe(fig.data).write_csv(paths["csv"], include_bom=True)  # (text from the documents: no formula cells)
    if fig.empty:
        return paths
    (out / "charts").mkdir(parents=True, exist_ok=True)
    register_fonts()
    _register_theme()
    with alt.theme.enable(THEME):
        spec = fig.chart.to_dict()
    v = vl_version_for_vl_convert()
    paths["svg"] = out / "charts" / f"{fig.name}.svg"
    paths["png"] = out / "charts" / f"{fig.name}.png"
    paths["pdf"] = out / "charts" / f"{fig.name}.pdf"
    paths["svg"].write_text(embed_fonts(vlc.vegalite_to_svg(spec, vl_version=v), fig.description), encoding="utf-8")
    paths["png"].write_bytes(vlc.vegalite_to_png(spec, vl_version=v, ppi=PNG_PPI))
    paths["pdf"].write_bytes(vlc.vegalite_to_pdf(spec, vl_version=v))
    return paths


def png_bytes(chart: alt.TopLevelMixin, scale: float = 1) -> bytes:
    """Render a chart to PNG in memory (fonts registered, project theme)."""
    import vl_convert as vlc
    from altair.utils._importers import vl_version_for_vl_convert

    register_fonts()
    _register_theme()
    with alt.theme.enable(THEME):
        spec = chart.to_dict()
    return vlc.vegalite_to_png(spec, vl_version=vl_version_for_vl_convert(), scale=scale)


def _require(df: pl.DataFrame, cols: Iterable[str]) -> None:
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise ValueError(f"the chart needs columns {miss}; the table has {df.columns}")


def _empty_note(name: str, code: str, note: str = "", data: pl.DataFrame | None = None) -> Figure:
    """A figure with nothing to draw: shown as a sentence, saved as its table only."""
    df = data if data is not None else pl.DataFrame({"note": [note or L("no_data")]})
    ch = alt.Chart(pl.DataFrame({"note": [note or L("no_data")]}), title=title(code)).mark_text().encode(text="note:N")
    return Figure(name, ch, df, empty=True)


def _years(df: pl.DataFrame, col: str = "year") -> list[int]:
    """Every year from the first to the last of the data: a year axis that shows the gaps."""
    ys = [y for y in df[col].to_list() if y is not None]
    return list(range(min(ys), max(ys) + 1)) if ys else []


def _year_axis(years: list[int], title_code: str = "year", angle: int = 0) -> alt.X:
    """Years as bands, every year of the span present (a year without data is an empty band)."""
    return alt.X("year:O", title=L(title_code), scale=alt.Scale(domain=years), axis=alt.Axis(labelAngle=angle, labelOverlap=True))


def _year_scale_q(years: list[int], title_code: str = "year") -> alt.X:
    """Years on a quantitative axis (lines and points): distances are time, a missing year is a
    gap, ticks on whole years."""
    return alt.X(
        "year:Q",
        title=L(title_code),
        scale=alt.Scale(domain=[years[0] - 0.5, years[-1] + 0.5], nice=False, zero=False),
        axis=alt.Axis(format="d", tickMinStep=1, labelOverlap=True, grid=False),
    )


def _eras(years: list[int], quantitative: bool = False) -> list:
    """Dashed rules where the 2019 and 2021 templates begin (before their first year), with the
    template's name written along the rule: a change of template changes what the categories
    mean."""
    rows = [{"year": y, "x": y - 0.5, "label": L(f"era_{y}")} for y in ERA_STARTS if years and years[0] < y <= years[-1]]
    if not rows:
        return []
    df = pl.DataFrame(rows)
    if quantitative:
        x = alt.X("x:Q", scale=alt.Scale(domain=[years[0] - 0.5, years[-1] + 0.5], nice=False, zero=False))
    else:
        x = alt.X("year:O", scale=alt.Scale(domain=years), bandPosition=0)
    rule = alt.Chart(df).mark_rule(color="#888", strokeDash=[4, 3]).encode(x=x)
    text = alt.Chart(df).mark_text(angle=270, align="right", baseline="top", dx=-4, dy=3, fontSize=9, color="#555").encode(x=x, y=alt.value(0), text="label:N")
    return [rule, text]


def _describe(kind: str, code: str, df: pl.DataFrame, extra: str = "") -> str:
    """Alt text: what the chart is and what it covers."""
    bits = [f"{kind}: {L(code, 'chart_labels', 'en')} ({L(code, 'chart_labels', 'zh')})"]
    if "year" in df.columns and df.height:
        ys = df["year"].drop_nulls()
        if len(ys):
            bits.append(f"years {ys.min()}–{ys.max()}")
    if extra:
        bits.append(extra)
    return "; ".join(bits) + "."


# ---------------------------------------------------------------------------------------------
# Chart builders. Each takes a tidy polars frame whose columns are documented in the docstring
# (the functions of foi_research.present.analysis produce them) and returns a Figure.


def requests_per_agency_year(df: pl.DataFrame, name: str = "requests_per_agency_year", subtitle=None) -> Figure:
    """df: agency, year, received (requests received in the year), source. Years on a full axis:
    a year without a figure leaves a gap in the agency's line (never a line across it); dashed
    rules mark where the 2019 and 2021 templates begin."""
    _require(df, ["agency", "year", "received"])
    df = df.sort("agency", "year")
    if df.height == 0:
        return _empty_note(name, "requests_per_agency_year", data=df)
    years = _years(df)
    # the missing years inside each agency's span, as nulls: the line breaks there
    span = df.group_by("agency").agg(pl.col("year").min().alias("lo"), pl.col("year").max().alias("hi"))
    grid = span.with_columns(pl.int_ranges("lo", pl.col("hi") + 1).alias("year")).explode("year").select("agency", pl.col("year").cast(df.schema["year"]))
    drawn = grid.join(df, on=["agency", "year"], how="left").sort("agency", "year")
    sel = alt.selection_point(fields=["agency"], bind="legend")
    base = alt.Chart(drawn)
    enc = dict(
        x=_year_scale_q(years),
        y=alt.Y("received:Q", title=T2("requests_received")),
        color=alt.Color("agency:N", title=L("agency"), sort=sorted(df["agency"].unique().to_list())),
        opacity=alt.condition(sel, alt.value(1), alt.value(0.2)),
        tooltip=[
            alt.Tooltip("agency:N", title=L("agency")),
            alt.Tooltip("year:Q", title=L("year"), format="d"),
            alt.Tooltip("received:Q", title=L("requests_received")),
        ]
        + ([alt.Tooltip("source:N", title=L("source"))] if "source" in df.columns else []),
    )
    lines = base.mark_line(point=True, invalid="break-paths-show-domains").encode(**enc).add_params(sel)
    ch = alt.layer(lines, *_eras(years, quantitative=True)).properties(
        width=WIDTH, height=HEIGHT, title=title("requests_per_agency_year", subtitle),
        description=_describe("Line chart, one line per agency, gaps where a year has no figure", "requests_per_agency_year", df, f"{df['agency'].n_unique()} agencies"),
    )
    return Figure(name, ch, df)


def stacked_shares(
    df: pl.DataFrame,
    *,
    category: str,
    vocab: str,
    name: str,
    title_code: str,
    value: str = "count",
    x: str = "year",
    x_title: str = "year",
    y_title: str = "share",
    subtitle=None,
) -> Figure:
    """Stacked bars normalised to 100% per x: df has x, category (codes of `vocab`), value. The
    number each bar rests on is printed above it, and a bar resting on fewer than SMALL_N is
    paler: 100% of 3 requests is not 100% of 300. By year: every year on the axis (gaps show),
    template changes marked."""
    _require(df, [x, category, value])
    if df.height == 0:
        return _empty_note(name, title_code, data=df)
    df = with_labels(df, category, vocab).sort(x, f"{category}_order")
    order = label_order(vocab, df[category].unique().to_list())
    totals = df.group_by(x).agg(pl.col(value).sum().alias("n_total"))
    drawn = df.join(totals, on=x, how="left")
    xsort = df[x].unique(maintain_order=True).to_list()
    if x == "year":
        years = _years(df)
        xenc, layers = _year_axis(years, x_title), _eras(years)
    else:
        xenc = alt.X(f"{x}:N", title=L(x_title), sort=xsort, axis=alt.Axis(labelAngle=-40))
        layers = []
    bars = (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=xenc,
            y=alt.Y(f"sum({value}):Q", stack="normalize", title=T2(y_title), axis=alt.Axis(format="%")),
            color=alt.Color(f"{category}_label:N", title=L(_legend_code(category)), sort=order),
            order=alt.Order(f"{category}_order:Q"),
            opacity=alt.condition(alt.datum.n_total < SMALL_N, alt.value(0.45), alt.value(1.0)),
            tooltip=[
                alt.Tooltip(f"{x}:O", title=L(x_title)),
                alt.Tooltip(f"{category}_label:N", title=L(_legend_code(category))),
                alt.Tooltip(f"{value}:Q", title=L("count")),
                alt.Tooltip("n_total:Q", title=L("requests")),
            ],
        )
    )
    counts = alt.Chart(totals).mark_text(baseline="bottom", dy=-2, fontSize=9, color="#333").encode(
        x=alt.X(f"{x}:O", scale=alt.Scale(domain=years)) if x == "year" else alt.X(f"{x}:N", sort=xsort), y=alt.datum(1), text=alt.Text("n_total:Q", format="d")
    )
    sub = [*([subtitle] if isinstance(subtitle, str) else list(subtitle or [])), L("n_note")]
    small = totals.filter(pl.col("n_total") < SMALL_N).height
    ch = alt.layer(bars, counts, *layers).properties(
        width=WIDTH, height=HEIGHT, title=title(title_code, sub),
        description=_describe("Stacked bars of shares, 100% per bar, the number of requests above each bar", title_code, df, f"{totals.height} bars, {small} resting on fewer than {SMALL_N} requests"),
    )
    return Figure(name, ch, df)


def _legend_code(category: str) -> str:
    return {"outcome": "outcome", "applicant": "applicant", "proceeding": "proceeding", "severity": "severity"}.get(category, category)


def grouped_counts(
    df: pl.DataFrame,
    *,
    category: str,
    vocab: str,
    name: str,
    title_code: str,
    value: str = "count",
    x: str = "year",
    y_title: str = "cases",
    subtitle=None,
) -> Figure:
    """Bars of counts per x, coloured (stacked) by category: df has x, category, value. By year:
    every year on the axis (a year without cases is an empty slot), template changes marked."""
    _require(df, [x, category, value])
    if df.height == 0:
        return _empty_note(name, title_code, data=df)
    df = with_labels(df, category, vocab).sort(x, f"{category}_order")
    order = label_order(vocab, df[category].unique().to_list())
    if x == "year":
        years = _years(df)
        xenc, layers = _year_axis(years, x), _eras(years)
    else:
        xenc, layers = alt.X(f"{x}:N", title=L(x), axis=alt.Axis(labelAngle=-40)), []
    bars = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=xenc,
            y=alt.Y(f"sum({value}):Q", title=T2(y_title), axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color(f"{category}_label:N", title=L(_legend_code(category)), sort=order),
            order=alt.Order(f"{category}_order:Q"),
            tooltip=[
                alt.Tooltip(f"{x}:O", title=L(x)),
                alt.Tooltip(f"{category}_label:N", title=L(_legend_code(category))),
                alt.Tooltip(f"{value}:Q", title=L(y_title)),
            ],
        )
    )
    ch = alt.layer(bars, *layers).properties(
        width=WIDTH, height=HEIGHT, title=title(title_code, subtitle), description=_describe("Stacked bars of counts", title_code, df)
    )
    return Figure(name, ch, df)


def coverage(df: pl.DataFrame, name: str = "coverage", subtitle=None) -> Figure:
    """Heat map of which agency reported which year and in which template:
    df: agency, year, template, status. Every year is a column, so a missing report is a gap."""
    _require(df, ["agency", "year", "template", "status"])
    if df.height == 0:
        return _empty_note(name, "coverage", data=df)
    df = with_labels(with_labels(df, "template", "templates"), "status", "statuses").sort("agency", "year")
    years = _years(df)
    cells = (
        alt.Chart(df)
        .mark_rect(stroke="white")
        .encode(
            x=_year_axis(years, angle=-90 if len(years) > 12 else 0),
            y=alt.Y("agency:N", title=T2("agency"), sort=sorted(df["agency"].unique().to_list())),
            color=alt.Color("template_label:N", title=L("template"), sort=label_order("templates", df["template"].unique().to_list())),
            opacity=alt.Opacity("status_order:O", legend=None, scale=alt.Scale(domain=[0, 1, 2, 3], range=[1, 0.75, 0.45, 0.2])),
            tooltip=[
                alt.Tooltip("agency:N", title=L("agency")),
                alt.Tooltip("year:O", title=L("year")),
                alt.Tooltip("template_label:N", title=L("template")),
                alt.Tooltip("status_label:N", title=L("status")),
            ],
        )
    )
    ch = alt.layer(cells).properties(
        width=max(WIDTH, 26 * len(years)), height=alt.Step(18), title=title("coverage", subtitle),
        description=_describe("Heat map, one row per agency and one column per year, coloured by report template", "coverage", df, f"{df['agency'].n_unique()} agencies"),
    )
    return Figure(name, ch, df)


def quality(df: pl.DataFrame, name: str = "quality", subtitle=None) -> Figure:
    """Horizontal bars: number of findings per check, coloured by severity.
    df: check, severity, findings."""
    _require(df, ["check", "severity", "findings"])
    if df.height == 0:
        return _empty_note(name, "quality", data=df)
    df = with_labels(df, "severity", "severities").sort("severity_order", "check")
    ch = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("check:N", title=T2("check"), sort=alt.EncodingSortField("findings", op="sum", order="descending")),
            x=alt.X("sum(findings):Q", title=L("findings"), axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color(
                "severity_label:N",
                title=L("severity"),
                sort=label_order("severities"),
                scale=alt.Scale(domain=label_order("severities"), range=["#c0392b", "#e67e22", "#7f8c8d"]),
            ),
            order=alt.Order("severity_order:Q"),
            tooltip=[
                alt.Tooltip("check:N", title=L("check")),
                alt.Tooltip("severity_label:N", title=L("severity")),
                alt.Tooltip("findings:Q", title=L("findings")),
            ],
        )
        .properties(
            width=WIDTH, height=alt.Step(18), title=title("quality", subtitle),
            description=_describe("Horizontal bars, findings per check coloured by severity", "quality", df, f"{int(df['findings'].sum())} findings of {df['check'].n_unique()} checks"),
        )
    )
    return Figure(name, ch, df)


def rate_intervals(
    df: pl.DataFrame,
    *,
    rate_label: str,
    name: str = "comparison",
    unit_title: str = "unit",
    subtitle=None,
) -> Figure:
    """Dot-and-interval plot of a rate per unit, sorted by the estimate, the denominator (n)
    printed beside each interval. df: unit, rate, ci_low, ci_high, numerator, denominator, rank,
    rank_low, rank_high (unit_code when units are divisions)."""
    _require(df, ["unit", "rate", "ci_low", "ci_high", "numerator", "denominator"])
    if df.height == 0:
        return _empty_note(name, "comparison", data=df)
    df = df.sort("rate", "unit", descending=[True, False], nulls_last=True)
    order = df["unit"].to_list()
    tips = [
        alt.Tooltip("unit:N", title=L(unit_title)),
        alt.Tooltip("rate:Q", title=rate_label, format=".1%"),
        alt.Tooltip("ci_low:Q", title=L("ci95") + " (low)", format=".1%"),
        alt.Tooltip("ci_high:Q", title=L("ci95") + " (high)", format=".1%"),
        alt.Tooltip("numerator:Q", title=L("count")),
        alt.Tooltip("denominator:Q", title=L("denominator")),
    ]
    if "unit_code" in df.columns:
        tips.insert(1, alt.Tooltip("unit_code:N", title="GB/T 2260"))
    if "rank_low" in df.columns:
        tips += [alt.Tooltip("rank_low:Q", title=L("rank_interval") + " ↑"), alt.Tooltip("rank_high:Q", title=L("rank_interval") + " ↓")]
    drawn = df.with_columns(pl.format("n={}", pl.col("denominator")).alias("n_label"))
    base = alt.Chart(drawn).encode(y=alt.Y("unit:N", title=T2(unit_title), sort=order))
    xs = alt.Scale(domain=[0, 1])
    rule = base.mark_rule(color="#555").encode(
        x=alt.X("ci_low:Q", title=f"{rate_label} ({L('ci95')})", axis=alt.Axis(format="%"), scale=xs),
        x2="ci_high:Q",
    )
    pts = base.mark_point(filled=True, size=60, color="#1f77b4").encode(x=alt.X("rate:Q", scale=xs), tooltip=tips)
    n = base.mark_text(align="left", dx=5, fontSize=9, color="#555").encode(x=alt.X("ci_high:Q", scale=xs), text="n_label:N")
    ch = alt.layer(rule, pts, n).properties(
        width=WIDTH, height=alt.Step(22), title=title("comparison", subtitle),
        description=_describe("Dot-and-interval plot, one row per unit: the pooled rate and its 95% Wilson interval, n = the denominator", "comparison", df, f"{df.height} units, {rate_label}"),
    )
    return Figure(name, ch, df)


def small_multiples(
    df: pl.DataFrame,
    *,
    value: str,
    value_title: str,
    name: str = "small_multiples",
    facet: str = "unit",
    facet_title: str = "unit",
    columns: int = 4,
    subtitle=None,
) -> Figure:
    """One small panel per unit with value by year: df has facet, year, value. The same full year
    axis in every panel; a year without a figure is a gap in the line."""
    _require(df, [facet, "year", value])
    if df.height == 0:
        return _empty_note(name, "small_multiples", data=df)
    df = df.sort(facet, "year")
    years = _years(df)
    span = df.group_by(facet).agg(pl.col("year").min().alias("lo"), pl.col("year").max().alias("hi"))
    grid = span.with_columns(pl.int_ranges("lo", pl.col("hi") + 1).alias("year")).explode("year").select(facet, pl.col("year").cast(df.schema["year"]))
    drawn = grid.join(df, on=[facet, "year"], how="left").sort(facet, "year")
    vt = value_title if isinstance(value_title, list) else value_title.split(" / ") if " / " in value_title else value_title
    ch = (
        alt.Chart(drawn)
        .mark_line(point=True, invalid="break-paths-show-domains")
        .encode(
            x=alt.X(
                "year:Q", title=L("year"), scale=alt.Scale(domain=[years[0] - 0.5, years[-1] + 0.5], nice=False, zero=False),
                axis=alt.Axis(format="d", tickMinStep=1, labelAngle=-90, labelFontSize=9, labelOverlap=True, grid=False),
            ),
            y=alt.Y(f"{value}:Q", title=vt),
            tooltip=[alt.Tooltip(f"{facet}:N", title=L(facet_title)), alt.Tooltip("year:Q", title=L("year"), format="d"), alt.Tooltip(f"{value}:Q", title=" / ".join(vt) if isinstance(vt, list) else vt)],
        )
        .properties(width=150, height=110)
        .facet(facet=alt.Facet(f"{facet}:N", title=L(facet_title), sort=sorted(df[facet].unique().to_list())), columns=columns, title=title("small_multiples", subtitle))
        .properties(description=_describe("Small multiples, one line chart per unit on the same year axis", "small_multiples", df, f"{df[facet].n_unique()} units"))
    )
    return Figure(name, ch, df)


def period_rates(df: pl.DataFrame, *, rate_label: str, name: str = "period_rates", subtitle=None) -> Figure:
    """Pooled rate by period with Wilson intervals. df: period (period_pre / period_transition /
    period_post codes of chart_labels), rate, ci_low, ci_high, numerator, denominator, reports."""
    _require(df, ["period", "rate", "ci_low", "ci_high"])
    if df.height == 0:
        return _empty_note(name, "period", data=df)
    df = with_labels(df, "period", "chart_labels").sort("period_order")
    order = df["period_label"].to_list()
    base = alt.Chart(df, title=title("period", subtitle)).encode(x=alt.X("period_label:N", title=L("period"), sort=order, axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(opacity=0.7, size=40).encode(y=alt.Y("rate:Q", title=rate_label, axis=alt.Axis(format="%")), tooltip=_rate_tips(rate_label, df))
    err = base.mark_rule(color="#222").encode(y="ci_low:Q", y2="ci_high:Q")
    ch = (bars + err).properties(width=320, height=HEIGHT)
    return Figure(name, ch, df)


def _rate_tips(rate_label: str, df: pl.DataFrame) -> list:
    t = [alt.Tooltip("rate:Q", title=rate_label, format=".1%"), alt.Tooltip("ci_low:Q", format=".1%", title=L("ci95") + " (low)"), alt.Tooltip("ci_high:Q", format=".1%", title=L("ci95") + " (high)")]
    for c, code in (("numerator", "count"), ("denominator", "denominator"), ("reports", "reports")):
        if c in df.columns:
            t.append(alt.Tooltip(f"{c}:Q", title=L(code)))
    return t


def coefficients(
    df: pl.DataFrame,
    *,
    x: str,
    x_title: str,
    name: str,
    title_code: str,
    y_title: str = "estimate",
    ref_x: float | None = None,
    subtitle=None,
    y_format: str = ".0%",
) -> Figure:
    """Point estimates with 95% intervals along an integer axis (years, years relative to 2019);
    null bounds draw no interval. df has x, estimate, ci_low, ci_high. A dashed line marks 0, a
    green one ref_x (the revision)."""
    _require(df, [x, "estimate", "ci_low", "ci_high"])
    if df.height == 0:
        return _empty_note(name, title_code, data=df)
    df = df.sort(x)
    xs = [v for v in df[x].to_list() if v is not None] + ([ref_x] if ref_x is not None else [])
    xscale = alt.Scale(domain=[min(xs) - 0.5, max(xs) + 0.5], nice=False)
    xaxis = alt.Axis(format="d", tickMinStep=1, labelAngle=0)
    base = alt.Chart(df, title=title(title_code, subtitle)).encode(x=alt.X(f"{x}:Q", title=L(x_title), scale=xscale, axis=xaxis))
    zero = alt.Chart(pl.DataFrame({"zero": [0.0]})).mark_rule(color="#999", strokeDash=[4, 3]).encode(y="zero:Q")
    rule = base.mark_rule(color="#444").encode(y=alt.Y("ci_low:Q", title=L(y_title), axis=alt.Axis(format=y_format)), y2="ci_high:Q")
    tips = [alt.Tooltip(f"{x}:Q", title=L(x_title), format="d"), alt.Tooltip("estimate:Q", title=L(y_title), format=".3f"), alt.Tooltip("ci_low:Q", format=".3f", title=L("ci95") + " (low)"), alt.Tooltip("ci_high:Q", format=".3f", title=L("ci95") + " (high)")]
    pts = base.mark_point(filled=True, size=70, color="#d62728").encode(y="estimate:Q", tooltip=tips)
    layers = [zero, rule, pts]
    if ref_x is not None:
        layers.append(alt.Chart(pl.DataFrame({"ref": [ref_x]})).mark_rule(color="#2ca02c", strokeDash=[2, 2]).encode(x=alt.X("ref:Q", scale=xscale)))
    ch = alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)
    return Figure(name, ch, df)


def setting_estimates(
    df: pl.DataFrame,
    *,
    name: str = "sensitivity",
    title_code: str = "sensitivity",
    x_title: str = "effect_2019",
    subtitle=None,
    x_format: str = ".0%",
) -> Figure:
    """One row per setting (in the order given): estimate with its 95% interval, a line at 0.
    df: setting, estimate, ci_low, ci_high (nulls draw nothing)."""
    _require(df, ["setting", "estimate", "ci_low", "ci_high"])
    if df.height == 0:
        return _empty_note(name, title_code, data=df)
    order = df["setting"].to_list()
    base = alt.Chart(df, title=title(title_code, subtitle)).encode(y=alt.Y("setting:N", title=L("setting"), sort=order))
    zero = alt.Chart(pl.DataFrame({"zero": [0.0]})).mark_rule(color="#999", strokeDash=[4, 3]).encode(x="zero:Q")
    rule = base.mark_rule(color="#444").encode(x=alt.X("ci_low:Q", title=L(x_title), axis=alt.Axis(format=x_format)), x2="ci_high:Q")
    tips = [alt.Tooltip("setting:N", title=L("setting")), alt.Tooltip("estimate:Q", title=L("estimate"), format=".3f"), alt.Tooltip("ci_low:Q", format=".3f", title=L("ci95") + " (low)"), alt.Tooltip("ci_high:Q", format=".3f", title=L("ci95") + " (high)")]
    pts = base.mark_point(filled=True, size=70, color="#d62728").encode(x="estimate:Q", tooltip=tips)
    ch = alt.layer(zero, rule, pts).properties(width=WIDTH, height=alt.Step(22))
    return Figure(name, ch, df)


# ---------------------------------------------------------------------------------------------
# Charts of the 2019 regulation study (owned by the study; general layout lives above)


def _few_note(n_min: int | None, min_agencies: int) -> str | None:
    if n_min is None or n_min >= min_agencies:
        return None
    return f"{L('few_agencies', lang='zh')} {min_agencies} / {L('few_agencies', lang='en')} {min_agencies}: {n_min}"


def study_rates_by_year(df: pl.DataFrame, *, rate_label: str, min_agencies: int = 10, name: str = "rate_by_year", reform_year: int = 2019, subtitle=None) -> Figure:
    """The pooled rate by year for all agencies and for the agencies reporting before and after,
    with intervals that treat agencies as the units (none with fewer than two agencies) and the
    number of agencies behind each point. df: year, series (rate_pooled_all |
    rate_pooled_bridging), rate, ci_low, ci_high, agencies (analysis.rates_by_year)."""
    _require(df, ["year", "series", "rate", "ci_low", "ci_high", "agencies"])
    if df.height == 0:
        return _empty_note(name, "rate_by_year", "—")
    df = with_labels(df, "series", "chart_labels").sort("series_order", "year")
    order = label_order("chart_labels", df["series"].unique().to_list())
    note = _few_note(int(df["agencies"].min()), min_agencies)
    sub = [s for s in ([rate_label] + ([subtitle] if subtitle else []) + ([note] if note else []))]
    x = alt.X("year:O", title=L("year"), axis=alt.Axis(labelAngle=0))
    color = alt.Color("series_label:N", title=None, sort=order, legend=alt.Legend(orient="bottom", labelLimit=0))
    off = alt.XOffset("series_label:N", sort=order)
    base = alt.Chart(df, title=title("rate_by_year", sub)).encode(x=x, color=color, xOffset=off)
    tips = [alt.Tooltip("year:O", title=L("year")), alt.Tooltip("series_label:N", title=L("comparison")), alt.Tooltip("rate:Q", title=rate_label, format=".1%"),
            alt.Tooltip("ci_low:Q", title=L("ci95") + " (low)", format=".1%"), alt.Tooltip("ci_high:Q", title=L("ci95") + " (high)", format=".1%"), alt.Tooltip("agencies:Q", title=L("agencies"))]
    pts = base.mark_point(filled=True, size=60).encode(y=alt.Y("rate:Q", title=rate_label, axis=alt.Axis(format="%")), tooltip=tips)
    err = base.mark_rule().encode(y="ci_low:Q", y2="ci_high:Q")
    txt = base.mark_text(dy=-10, fontSize=9).encode(y="rate:Q", text="agencies:Q")
    ref = alt.Chart(pl.DataFrame({"year": [reform_year]})).mark_rule(color="#2ca02c", strokeDash=[2, 2]).encode(x=alt.X("year:O"))
    ch = alt.layer(err, pts, txt, ref).properties(width=WIDTH, height=HEIGHT)
    return Figure(name, ch, df)


def study_event_study(df: pl.DataFrame, *, rate_label: str, min_agencies: int = 10, name: str = "event_study", subtitle=None) -> Figure:
    """Year effects with their intervals, the reference year marked (hollow point, fixed at 0),
    the number of agencies of each year printed above the axis, years with fewer than
    min_agencies agencies in grey. df: year, estimate, ci_low, ci_high, agencies, reference,
    few_agencies (analysis.event_study)."""
    _require(df, ["year", "estimate", "ci_low", "ci_high", "agencies", "reference", "few_agencies"])
    if df.height == 0:
        return _empty_note(name, "event_study", "—")
    df = df.sort("year").with_columns(
        pl.when(pl.col("reference")).then(pl.lit(L("reference_year"))).when(pl.col("few_agencies")).then(pl.lit(f"< {min_agencies} {L('agencies')}")).otherwise(pl.lit(f"≥ {min_agencies} {L('agencies')}")).alias("marker")
    )
    ref_year = df.filter(pl.col("reference"))["year"].to_list()
    note = _few_note(int(df["agencies"].min()), min_agencies)
    inf = df["inference"][0] if "inference" in df.columns else None
    sub = [rate_label] + ([f"{L('reference_year')}: {ref_year[0]}"] if ref_year else []) + ([inf] if inf else []) + ([note] if note else []) + ([subtitle] if subtitle else [])
    x = alt.X("year:O", title=L("year"), axis=alt.Axis(labelAngle=0))
    dom = [L("reference_year"), f"≥ {min_agencies} {L('agencies')}", f"< {min_agencies} {L('agencies')}"]
    color = alt.Color("marker:N", title=None, scale=alt.Scale(domain=dom, range=["#2ca02c", "#d62728", "#999999"]), legend=alt.Legend(orient="bottom", labelLimit=0))
    base = alt.Chart(df, title=title("event_study", sub)).encode(x=x)
    zero = alt.Chart(pl.DataFrame({"zero": [0.0]})).mark_rule(color="#999", strokeDash=[4, 3]).encode(y="zero:Q")
    rule = base.mark_rule().encode(y=alt.Y("ci_low:Q", title=L("change_in_rate"), axis=alt.Axis(format=".0%")), y2="ci_high:Q", color=color)
    tips = [alt.Tooltip("year:O", title=L("year")), alt.Tooltip("estimate:Q", title=L("estimate"), format=".3f"), alt.Tooltip("ci_low:Q", format=".3f", title=L("ci95") + " (low)"),
            alt.Tooltip("ci_high:Q", format=".3f", title=L("ci95") + " (high)"), alt.Tooltip("agencies:Q", title=L("agencies_in_year"))]
    pts = base.transform_filter("!datum.reference").mark_point(size=70, filled=True).encode(y="estimate:Q", color=color, tooltip=tips)
    refpt = base.transform_filter("datum.reference").mark_point(size=140, filled=False, shape="diamond", strokeWidth=2).encode(y="estimate:Q", color=color, tooltip=tips)
    counts = base.mark_text(fontSize=9, color="#555", baseline="bottom").encode(y=alt.value(HEIGHT - 2), text="agencies:Q")
    ch = alt.layer(zero, rule, pts, refpt, counts).properties(width=WIDTH, height=HEIGHT)
    return Figure(name, ch, df.drop("marker"))


def study_estimates(effects: pl.DataFrame, *, min_agencies: int = 10, name: str = "regulation_effects", subtitle=None) -> Figure:
    """Forest plot of the designs' estimates (joint tests left out), agencies and requests
    weights side by side, the recommended one marked, rows resting on fewer than min_agencies
    identifying agencies in grey. Labels from codes.yaml (study_designs, study_estimands,
    study_weights)."""
    _require(effects, ["design", "term", "weights", "estimate", "ci_low", "ci_high", "agencies_identifying", "recommended"])
    df = effects.filter(~pl.col("design").str.starts_with("pretest") & (pl.col("design") != "placebo"))
    if df.height == 0:
        return _empty_note(name, "regulation_effects", "—")
    dv, ev = vocab("study_designs"), vocab("study_estimands")

    def row_label(d, t):
        lab = dv[d].en
        if d == "its":
            lab += ": " + ev[t].en
        elif d in ("did_kind", "did_level"):
            lab += ": " + vocab("agency_kinds" if d == "did_kind" else "admin_levels")[t].en
        return lab

    df = df.with_columns(
        pl.struct("design", "term").map_elements(lambda s: row_label(s["design"], s["term"]), return_dtype=pl.String).alias("row"),
        pl.col("weights").replace_strict({c.code: _fmt(c.zh, c.en, "both") for c in vocab("study_weights")}, return_dtype=pl.String).alias("weights_label"),
        pl.when(pl.col("recommended")).then(pl.lit("†")).when(pl.col("agencies_identifying").fill_null(0) < min_agencies).then(pl.lit(f"< {min_agencies}")).otherwise(pl.lit("")).alias("flag"),
    )
    order = list(dict.fromkeys(df["row"].to_list()))
    note = _few_note(int(df["agencies_identifying"].fill_null(0).min()), min_agencies)
    sub = ([note] if note else []) + ([subtitle] if subtitle else [])
    y = alt.Y("row:N", title=None, sort=order, axis=alt.Axis(labelLimit=0))
    color = alt.Color("weights_label:N", title=L("weights"), legend=alt.Legend(orient="bottom", labelLimit=0))
    base = alt.Chart(df, title=title("regulation_effects", sub or None)).encode(y=y, yOffset=alt.YOffset("weights_label:N"), color=color)
    zero = alt.Chart(pl.DataFrame({"zero": [0.0]})).mark_rule(color="#999", strokeDash=[4, 3]).encode(x="zero:Q")
    rule = base.mark_rule().encode(x=alt.X("ci_low:Q", title=L("change_in_rate"), axis=alt.Axis(format=".0%")), x2="ci_high:Q")
    tips = [alt.Tooltip("row:N", title=L("design")), alt.Tooltip("weights_label:N", title=L("weights")), alt.Tooltip("estimate:Q", title=L("estimate"), format=".3f"),
            alt.Tooltip("ci_low:Q", format=".3f", title=L("ci95") + " (low)"), alt.Tooltip("ci_high:Q", format=".3f", title=L("ci95") + " (high)"),
            alt.Tooltip("agencies_identifying:Q", title=L("agencies_identifying"))]
    pts = base.mark_point(filled=True, size=60).encode(x="estimate:Q", opacity=alt.condition(f"datum.agencies_identifying < {min_agencies}", alt.value(0.35), alt.value(1.0)), tooltip=tips)
    flags = base.mark_text(align="left", dx=6, fontSize=10).encode(x="estimate:Q", text="flag:N")
    ch = alt.layer(zero, rule, pts, flags).properties(width=WIDTH, height=alt.Step(14))
    return Figure(name, ch, df.select("design", "term", "weights", "estimate", "ci_low", "ci_high", "p_value", "agencies_identifying", "recommended"))


def study_sensitivity(df: pl.DataFrame, *, min_agencies: int = 10, name: str = "sensitivity", subtitle=None) -> Figure:
    """The level change (interrupted time series) under the baseline and with one choice changed
    at a time, with its interval; the baseline highlighted; settings resting on fewer than
    min_agencies agencies observed before and after drawn faint; full labels (never cut). The
    axis says what it is: a change in the rate, not an 'effect'. df: setting, estimate, ci_low,
    ci_high, agencies_identifying, baseline (analysis.sensitivity)."""
    _require(df, ["setting", "estimate", "ci_low", "ci_high", "agencies_identifying", "baseline"])
    if df.height == 0:
        return _empty_note(name, "sensitivity", "—")
    order = df["setting"].to_list()
    note = _few_note(int(df["agencies_identifying"].fill_null(0).min()), min_agencies)
    sub = [f"{L('estimate')}: {vocab('study_designs')['its'].en}, {vocab('study_estimands')['level_change'].en.lower()}"] + ([note] if note else []) + ([subtitle] if subtitle else [])
    y = alt.Y("setting:N", title=L("setting"), sort=order, axis=alt.Axis(labelLimit=0))
    base = alt.Chart(df, title=title("sensitivity", sub)).encode(y=y)
    zero = alt.Chart(pl.DataFrame({"zero": [0.0]})).mark_rule(color="#999", strokeDash=[4, 3]).encode(x="zero:Q")
    faint = alt.condition(f"datum.agencies_identifying < {min_agencies}", alt.value(0.35), alt.value(1.0))
    rule = base.mark_rule(color="#444").encode(x=alt.X("ci_low:Q", title=L("change_in_rate"), axis=alt.Axis(format=".0%")), x2="ci_high:Q", opacity=faint)
    tips = [alt.Tooltip("setting:N", title=L("setting")), alt.Tooltip("estimate:Q", title=L("estimate"), format=".3f"), alt.Tooltip("ci_low:Q", format=".3f", title=L("ci95") + " (low)"),
            alt.Tooltip("ci_high:Q", format=".3f", title=L("ci95") + " (high)"), alt.Tooltip("agencies_identifying:Q", title=L("agencies_identifying"))]
    pts = base.mark_point(filled=True, size=70).encode(
        x="estimate:Q", opacity=faint, tooltip=tips,
        color=alt.Color("baseline:N", title=None, scale=alt.Scale(domain=[True, False], range=["#d62728", "#1f77b4"]), legend=None),
    )
    ch = alt.layer(zero, rule, pts).properties(width=WIDTH, height=alt.Step(20))
    return Figure(name, ch, df)
