"""Charts: labels come from the code list in both languages, PNGs show Chinese glyphs (not boxes),
static output is byte-stable, the interactive renderer works offline."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import altair as alt
import polars as pl
import pytest

from foi_research.reference import codes
from foi_research.present import viz


@pytest.fixture(autouse=True)
def _static():
    viz.setup(interactive=False)
    yield
    viz.setup(interactive=False)


def _requests():
    return pl.DataFrame(
        {
            "agency": ["临淄区人民政府办公室", "临淄区人民政府办公室", "张店区人民政府"],
            "year": [2018, 2020, 2020],
            "received": [48, 19, 131],
            "source": ["legacy_table", "table3", "table3"],
        }
    )


def _main(spec: dict) -> dict:
    """The encoding of the layer that draws the data (the one with a colour or the most channels)."""
    if "encoding" in spec:
        return spec["encoding"]
    layers = [l for l in spec["layer"] if "encoding" in l]
    return max(layers, key=lambda l: ("color" in l["encoding"], len(l["encoding"])))["encoding"]


def _axis_titles(spec: dict) -> dict:
    enc = _main(spec)
    return {ch: enc[ch].get("title") for ch in ("x", "y", "color") if ch in enc}


def test_axis_titles_are_bilingual_and_from_the_code_list():
    fig = viz.requests_per_agency_year(_requests())
    spec = fig.to_dict()
    titles = _axis_titles(spec)
    year = next(c for c in codes.raw()["chart_labels"] if c["code"] == "year")
    assert titles["x"] == f"{year['zh']} / {year['en']}" == "年度 / Year"
    recv = next(c for c in codes.raw()["chart_labels"] if c["code"] == "requests_received")
    assert recv["zh"] in titles["y"] and recv["en"] in titles["y"]
    assert spec["title"]["text"] == ["各机关逐年收到申请数", "Requests received per agency and year"]


def test_category_labels_come_from_their_vocabulary():
    df = pl.DataFrame({"year": [2020, 2020, 2021], "applicant": ["natural_person", "commercial", "natural_person"], "count": [10, 3, 7]})
    fig = viz.stacked_shares(df, category="applicant", vocab="applicants", name="applicant_mix", title_code="applicant_mix")
    np_ = codes.V("applicants")["natural_person"]
    assert f"{np_.zh} / {np_.en}" in fig.data["applicant_label"].to_list()
    spec = fig.to_dict()
    legend_order = _main(spec)["color"]["sort"]
    assert legend_order == ["自然人 / Natural persons", "商业企业 / Commercial enterprises"]  # code-list order
    assert _main(spec)["color"]["title"] == "申请人类型 / Applicant type"


def test_unknown_codes_have_no_invented_labels():
    with pytest.raises(KeyError):
        viz.L("no_such_label")
    with pytest.raises(KeyError):
        viz.with_labels(pl.DataFrame({"applicant": ["martians"]}), "applicant", "applicants")


def test_save_figure_writes_png_svg_and_the_table(tmp_path):
    fig = viz.requests_per_agency_year(_requests())
    paths = viz.save_figure(fig, tmp_path)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths["svg"].read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "年度 / Year" in svg
    back = pl.read_csv(paths["csv"])
    assert back.sort("agency", "year")["received"].to_list() == [48, 19, 131]


def test_static_svg_is_byte_stable():
    a = viz.requests_per_agency_year(_requests())._repr_mimebundle_()
    b = viz.requests_per_agency_year(_requests())._repr_mimebundle_()
    assert list(a) == ["image/svg+xml"]
    assert a == b


# -- Chinese glyphs in PNG --------------------------------------------------------------------

_RENDER = textwrap.dedent(
    """
    import hashlib, json, sys
    import altair as alt, polars as pl
    from foi_research.present import viz
    out = {}
    for text in sys.argv[1:]:
        ch = alt.Chart(pl.DataFrame({"t": [text]})).mark_text(fontSize=40).encode(text="t:N").properties(width=300, height=60)
        out[text] = hashlib.sha1(viz.png_bytes(ch)).hexdigest()
    out["font_dir"] = str(viz.font_dir())
    print(json.dumps(out))
    """
)

A, B = "自然人申请", "商业企业法"  # same length, no character in common


def _render(env_extra: dict) -> dict:
    env = dict(os.environ, **env_extra)
    r = subprocess.run([sys.executable, "-c", _RENDER, A, B], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _system_has_cjk_font() -> bool:
    try:
        r = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(r.stdout.strip())


def test_png_shows_chinese_glyphs_not_boxes(tmp_path):
    """With the bundled Noto Sans SC registered, two different Chinese strings render to different
    images. Without it (on a machine with no CJK font) every glyph is the same box, so the two
    strings render identically: that is what the font fixes."""
    assert viz.font_dir() is not None, "no CJK font: install the dependencies (pylopdf-fonts-zh-cn ships Noto Sans SC)"
    with_font = _render({})
    assert with_font[A] != with_font[B], "Chinese text renders as boxes even with the font registered"
    if not _system_has_cjk_font():
        empty = tmp_path / "no-fonts"
        empty.mkdir()
        without = _render({viz.ENV_FONT_DIR: str(empty)})
        assert without[A] == without[B], "expected boxes without a CJK font (control of the test)"
        assert without[A] != with_font[A]


# -- interactive, offline ---------------------------------------------------------------------


def test_interactive_renderer_is_offline(monkeypatch):
    monkeypatch.setenv(viz.ENV_CHARTS, "interactive")
    assert viz.setup() == "jupyter (offline)"
    bundle = viz.requests_per_agency_year(_requests())._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    esm = alt.JupyterChart._esm
    assert len(esm) > 100_000  # vega, vega-lite and vega-embed bundled by vl-convert
    assert "cdn.jsdelivr" not in esm and "https://esm.sh" not in esm
    monkeypatch.delenv(viz.ENV_CHARTS)
    assert viz.setup() == "svg"


# -- publication fixes -------------------------------------------------------------------------


def _png_dpi(data: bytes) -> float:
    import struct

    i = data.find(b"pHYs")
    ppm_x, ppm_y, unit = struct.unpack(">IIB", data[i + 4 : i + 13])
    assert unit == 1 and ppm_x == ppm_y
    return ppm_x * 0.0254


def test_files_are_print_ready_png_300dpi_svg_and_pdf_with_embedded_fonts(tmp_path):
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    paths = viz.save_figure(viz.requests_per_agency_year(_requests()), tmp_path)
    png = paths["png"].read_bytes()
    assert round(_png_dpi(png)) == viz.PNG_PPI == 300
    svg = paths["svg"].read_text(encoding="utf-8")
    m = re.search(r'@font-face\{font-family:"Noto Sans SC";src:url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)', svg)
    assert m, "no font embedded in the SVG"
    font = TTFont(io.BytesIO(base64.b64decode(m.group(1))))
    cmap = font.getBestCmap()
    import html

    text = html.unescape("".join(re.findall(r"<text\b[^>]*>([^<]*)<", svg)))
    missing = {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}
    assert "临" in text and not missing, f"glyphs not embedded: {missing}"
    assert 'role="img" aria-label="Line chart' in svg and "<title>" in svg  # alt text
    pdf = paths["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and b"/FontFile" in pdf
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    assert "各机关逐年收到申请数" in "".join(doc[0].get_textpage().get_text_range().split())  # real text, a CJK font inside
    assert pl.read_csv(paths["csv"]).height == 3 and paths["csv"].read_bytes()[:3] == b"\xef\xbb\xbf"


def _layers(spec):
    return spec.get("layer", [spec])


def test_year_axes_show_gaps_and_the_template_changes():
    df = pl.DataFrame({"agency": ["a", "a", "a"], "year": [2013, 2016, 2021], "received": [3, 5, 8], "source": ["x"] * 3})
    fig = viz.requests_per_agency_year(df)
    spec = fig.to_dict()
    line = next(l for l in _layers(spec) if l["mark"]["type"] == "line")
    assert line["mark"]["invalid"] == "break-paths-show-domains" and line["encoding"]["x"]["type"] == "quantitative"
    drawn = pl.DataFrame(spec["datasets"][line["data"]["name"]])
    assert drawn["year"].to_list() == list(range(2013, 2022))  # the missing years are there, as nulls: the line breaks
    assert drawn.filter(pl.col("received").is_null())["year"].to_list() == [2014, 2015, 2017, 2018, 2019, 2020]
    rules = [l for l in _layers(spec) if l["mark"]["type"] == "rule"]
    assert rules, "no rule marks the template changes"
    eras = pl.DataFrame(spec["datasets"][rules[0]["data"]["name"]])
    assert eras["year"].to_list() == [2019, 2021] and eras["label"].to_list() == ["2019年格式 / 2019 template", "2021年格式 / 2021 template"]
    # bars by year: every year of the span is a band
    mix = pl.DataFrame({"year": [2013, 2016], "outcome": ["disclosed_full", "withheld"], "count": [3, 300]})
    s = viz.stacked_shares(mix, category="outcome", vocab="outcome_classes", name="m", title_code="outcome_mix").to_dict()
    bars = next(l for l in _layers(s) if l["mark"]["type"] == "bar")
    assert bars["encoding"]["x"]["scale"]["domain"] == [2013, 2014, 2015, 2016]


def test_proportions_show_the_counts_they_rest_on():
    mix = pl.DataFrame({"year": [2020, 2021, 2021], "outcome": ["disclosed_full", "disclosed_full", "withheld"], "count": [3, 200, 100]})
    fig = viz.stacked_shares(mix, category="outcome", vocab="outcome_classes", name="m", title_code="outcome_mix")
    spec = fig.to_dict()
    text = next(l for l in _layers(spec) if l["mark"]["type"] == "text")
    n = pl.DataFrame(spec["datasets"][text["data"]["name"]]).sort("year")
    assert n["n_total"].to_list() == [3, 300] and text["encoding"]["text"]["field"] == "n_total"
    bars = next(l for l in _layers(spec) if l["mark"]["type"] == "bar")
    assert bars["encoding"]["opacity"]["condition"]["test"] == f"(datum.n_total < {viz.SMALL_N})"
    assert viz.L("n_note") in spec["title"]["subtitle"]
    assert "1 resting on fewer than 30 requests" in spec["description"]
    # and the comparison prints each unit's denominator
    cmp = pl.DataFrame({"unit": ["x"], "rate": [1.0], "ci_low": [0.3], "ci_high": [1.0], "numerator": [3], "denominator": [3]})
    spec = viz.rate_intervals(cmp, rate_label="r").to_dict()
    t = next(l for l in spec["layer"] if l["mark"]["type"] == "text")
    assert pl.DataFrame(spec["datasets"][spec["data"]["name"]] if "data" in spec else spec["datasets"][t["data"]["name"]])["n_label"].to_list() == ["n=3"]


def test_layout_titles_clear_of_labels_legends_whole_no_empty_charts(tmp_path):
    theme = viz._theme()["config"]
    assert theme["axis"]["labelLimit"] == viz.LABEL_LIMIT <= 190  # Vega places the title by labels up to ~190 px
    assert theme["legend"]["labelLimit"] == 0  # legend labels never cut
    spec = viz.requests_per_agency_year(_requests()).to_dict()
    assert _main(spec)["y"]["title"] == ["收到申请数", "Requests received"]  # two short lines beside the axis
    empty = viz.quality(pl.DataFrame(schema={"check": pl.String, "severity": pl.String, "findings": pl.Int64}))
    assert empty.empty and "text/markdown" in empty._repr_mimebundle_() and "image/svg+xml" not in empty._repr_mimebundle_()
    paths = viz.save_figure(empty, tmp_path)
    assert set(paths) == {"csv"} and not (tmp_path / "charts").exists()
    assert pl.read_csv(paths["csv"]).columns == ["check", "severity", "findings"]
