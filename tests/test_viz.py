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


def _axis_titles(spec: dict) -> dict:
    enc = spec.get("encoding") or spec["layer"][0]["encoding"]
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
    legend_order = spec["encoding"]["color"]["sort"]
    assert legend_order == ["自然人 / Natural persons", "商业企业 / Commercial enterprises"]  # code-list order
    assert spec["encoding"]["color"]["title"] == "申请人类型 / Applicant type"


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
