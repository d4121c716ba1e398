"""The pruning-cliff figure: curves, published points, the slider's readouts and its shared state."""

from __future__ import annotations


import html5lib
import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.models import BoxAnnotation, ColumnDataSource, HoverTool, Select, Slider, TapTool

from browser import chromium_context, wait_for_figures
from bokeh_widgets import (
    assert_close,
    assert_readable,
    fragment,
    get_property,
    horizontal_overflow,
    open_essay,
    phone_page,
    point_position,
    wait_for_text,
    python_callbacks,
    screenshot_figure,
    set_value,
    source_data,
    texts,
    wait_for_fragment,
    wait_for_restore,
)
from essaygen.figures.pruning_cliff import POINT_PROMPT, DEFAULT_P, model_slug, point_text, pruning_cliff, readout_texts
from essaygen.model import PRUNE_GRID

NAME = "pruning-cliff"


@pytest.fixture(scope="module")
def parts(model):
    return pruning_cliff(model)


def readouts_in(html: str) -> dict[str, str]:
    """Return the text of every element with an id in a readouts fragment."""
    tree = html5lib.parse(f"<div>{html}</div>", namespaceHTMLElements=False)
    return {element.get("id"): "".join(element.itertext()) for element in tree.iter() if element.get("id")}


def sources(root) -> list[ColumnDataSource]:
    return [model for model in root.references() if isinstance(model, ColumnDataSource)]


# --- builder ---------------------------------------------------------------


def test_pruning_cliff_has_no_python_callbacks(parts):
    assert python_callbacks(parts.root) == []


def test_curves_are_float32_and_match_model(parts, model):
    curves = next(source for source in sources(parts.root) if "p" in source.data and "one_shot" in source.data)
    assert curves.data["p"].dtype == np.float32
    for key in model.pruning_methods:
        column = curves.data[key]
        assert column.dtype == np.float32, key
        assert len(column) == len(PRUNE_GRID), key
        np.testing.assert_allclose(column, model.q_prune(PRUNE_GRID, key), rtol=1e-6, atol=1e-7)


def test_every_published_pruning_point_is_plotted(parts, model):
    plotted = sum(len(source.data["observed"]) for source in sources(parts.root) if "observed" in source.data)
    assert plotted == len(model.calibration_points("pruning"))


def test_hover_names_method_model_value_source(parts):
    hovers = [tool for tool in parts.root.references() if isinstance(tool, HoverTool)]
    assert len(hovers) == 1
    template = hovers[0].tooltips
    for expected in ("Method:</b> @algorithm", "Model:</b> @model", "Published:</b> @published", "Source:</b> @source"):
        assert expected in template


def test_tap_reaches_every_hovered_point(parts):
    hovers = [tool for tool in parts.root.references() if isinstance(tool, HoverTool)]
    taps = [tool for tool in parts.root.references() if isinstance(tool, TapTool)]
    assert len(taps) == 1
    assert set(taps[0].renderers) == set(hovers[0].renderers)
    for renderer in taps[0].renderers:
        callbacks = renderer.data_source.selected.js_property_callbacks.get("change:indices", [])
        assert len(callbacks) == 1
        assert callbacks[0].args["figure_name"] == NAME
        assert "${figure_name}-point" in callbacks[0].code


def test_point_readout_prompts_before_tap(parts):
    shown = readouts_in(parts.readouts)
    assert shown[f"{NAME}-point"] == POINT_PROMPT


def test_point_text_describes_published_row(parts, model):
    published = [source for source in sources(parts.root) if (source.name or "").startswith(f"{NAME}-published-")]
    assert published
    data = published[0].data
    text = point_text(data, 0)
    assert text.startswith(f"{data['algorithm'][0]} on {data['model'][0]}, ")
    assert f"Source: {data['source'][0]}" in text


def test_readouts_at_default_match_model(parts, model):
    base = model.real_model("Llama-3.1-8B")
    shown = readouts_in(parts.readouts)
    assert shown[f"{NAME}-p"] == "50%"
    assert shown[f"{NAME}-size-dense"] == f"{base.params * 16 / 8 / 1e9:.1f} GB"
    assert shown[f"{NAME}-effective"] == f"{base.params * (1 - DEFAULT_P) / 1e9:.2f} billion"
    # Unstructured methods keep their zeros in the stored file; structured pruning removes them.
    assert shown[f"{NAME}-size-magnitude"] == f"{base.params * 16 / 8 / 1e9:.1f} GB"
    assert shown[f"{NAME}-size-one_shot"] == f"{base.params * 16 / 8 / 1e9:.1f} GB"
    assert shown[f"{NAME}-size-structured"] == f"{base.params * (1 - DEFAULT_P) * 16 / 8 / 1e9:.2f} GB"
    assert "still take space in a dense runtime" in parts.readouts
    for key in model.pruning_methods:
        kept = model.q_prune(DEFAULT_P, key)
        assert shown[f"{NAME}-kept-{key}"] == f"{100 * kept:.0f}%"
        assert shown[f"{NAME}-index-{key}"] == f"{base.quality_index * kept:.1f}"


def test_bands_follow_the_default_curve(parts, model):
    curve = model.pruning_methods["one_shot"]
    boxes = sorted((box.left, box.right) for box in parts.root.select({"type": BoxAnnotation}))
    free_end = (0.02 / curve.gentle_cost) ** 0.5
    edges = [edge for box in boxes for edge in box]
    expected = [0.0, free_end, free_end, curve.cliff_start, curve.cliff_start, curve.cliff_start + curve.cliff_width]
    assert edges == pytest.approx(expected)
    assert model.q_prune(free_end, "one_shot") == pytest.approx(0.98)
    assert model.q_prune(curve.cliff_start + curve.cliff_width, "one_shot") == pytest.approx(0.0)


def test_controls_are_named_for_the_figure(parts):
    controls = [model for model in parts.root.references() if isinstance(model, (Slider, Select))]
    assert sorted(control.name for control in controls) == [f"{NAME}-model", f"{NAME}-p"]


def test_item_json_stays_small(parts):
    # The figure's JSON ships inside the page: 96 grid points per curve and ~30 published points.
    size = len(str(json_item(parts.root)))
    assert size < 60_000, f"pruning-cliff JSON is {size:,} characters"


# --- browser ---------------------------------------------------------------

POSITIONS = [0.0, 0.01, 0.29, 0.3, 0.5, 0.6, 0.61, 0.77, 0.9, 0.94, 0.95]


def check_state(page, model, p: float, base) -> None:
    """Assert readouts, the marker and the span equal numpy at fraction p for the base model."""
    expected = readout_texts(model, p, base)
    shown = texts(page, expected)
    assert_readable(shown)
    assert shown == expected
    marker = source_data(page, f"{NAME}-marker")
    assert_close(marker["p"], [p] * len(model.pruning_methods), label="marker p")
    assert_close(marker["q"], [model.q_prune(p, key) for key in model.pruning_methods], label="marker q")
    assert_close(get_property(page, f"{NAME}-span", "location"), p, label="span location")


def move_to(page, p: float, base) -> None:
    """Set both controls and wait for the update; an unchanged control fires no update."""
    moved = set_value(page, f"{NAME}-p", p)
    chosen = set_value(page, f"{NAME}-model", base.name)
    if moved or chosen:
        wait_for_fragment(page, fragment(NAME, {"p": f"{p:.2f}", "model": model_slug(base.name)}))


@pytest.mark.browser
@pytest.mark.parametrize("base_name", ["Llama-3.1-8B", "Qwen2.5-0.5B", "Llama-3.1-70B"])
def test_slider_positions_match_numpy(essay_page, model, base_name):
    base = model.real_model(base_name)
    for p in POSITIONS:
        move_to(essay_page, p, base)
        check_state(essay_page, model, p, base)


@pytest.mark.browser
def test_every_base_model_reads_out(essay_page, model):
    for base in model.real_models:
        move_to(essay_page, 0.6, base)
        check_state(essay_page, model, 0.6, base)


@pytest.mark.browser
def test_slider_works_by_keyboard(essay_page, model):
    base = model.real_model("Llama-3.1-8B")
    move_to(essay_page, 0.5, base)
    handle = essay_page.locator(f"#figure-{NAME} .noUi-handle").first
    handle.focus()
    for key, p in (("Home", 0.0), ("ArrowRight", 0.01), ("ArrowRight", 0.02), ("End", 0.95), ("ArrowLeft", 0.94)):
        handle.press(key)
        wait_for_fragment(essay_page, fragment(NAME, {"p": f"{p:.2f}", "model": model_slug(base.name)}))
        assert get_property(essay_page, f"{NAME}-p", "value") == pytest.approx(p)
        check_state(essay_page, model, p, base)


@pytest.mark.browser
def test_fragment_round_trip(desktop_context, site_url, model):
    base = model.real_model("Gemma-2-9B")
    page, watcher = open_essay(desktop_context, site_url)
    move_to(page, 0.67, base)
    url = page.url
    assert url.endswith("#pruning-cliff:p=0.67&model=gemma-2-9b")
    page.reload()
    wait_for_figures(page)
    assert wait_for_restore(page, NAME) == "restored"
    page.wait_for_function(
        "() => document.getElementById('pruning-cliff-model').textContent === 'Gemma-2-9B'"
    )
    wait_for_fragment(page, "#pruning-cliff:p=0.67&model=gemma-2-9b")
    assert get_property(page, f"{NAME}-p", "value") == pytest.approx(0.67)
    assert get_property(page, f"{NAME}-model", "value") == "Gemma-2-9B"
    check_state(page, model, 0.67, base)
    page.close()
    watcher.assert_clean()


JUNK = [
    "#pruning-cliff:p=2&model=gpt-5",
    "#pruning-cliff:p=-0.3",
    "#pruning-cliff:p=NaN&model=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "#pruning-cliff:p=0.305",
    "#pruning-cliff:p=1e400&model=__proto__",
    "#pruning-cliff:%E0%A4%A",
    "#pruning-cliff:" + "p=0.3&" * 200,
    "#pruning-cliff",
    "#cliff",
]


@pytest.mark.browser
@pytest.mark.parametrize("junk", JUNK)
def test_junk_fragment_keeps_defaults(desktop_context, site_url, model, junk):
    page, watcher = open_essay(desktop_context, site_url, junk)
    assert wait_for_restore(page, NAME) in ("ignored", "none")
    assert get_property(page, f"{NAME}-p", "value") == pytest.approx(DEFAULT_P)
    assert get_property(page, f"{NAME}-model", "value") == "Llama-3.1-8B"
    check_state(page, model, DEFAULT_P, model.real_model("Llama-3.1-8B"))
    page.close()
    watcher.assert_clean()


@pytest.mark.browser
@pytest.mark.parametrize("which", ["first", "last"])
def test_tap_writes_point_readout(site_url, parts, artifacts, which):
    # One tap per page: Bokeh takes a second tap within about 300 ms for part of a double tap.
    published = [source for source in sources(parts.root) if (source.name or "").startswith(f"{NAME}-published-")]
    source = published[0] if which == "first" else published[-1]
    i = 0 if which == "first" else len(source.data["p"]) - 1
    with phone_page(site_url, has_touch=True, is_mobile=True, color_scheme="dark") as page:
        page.locator(f"#figure-{NAME} .bk-Figure").first.evaluate(
            "(plot) => plot.scrollIntoView({block: 'center', behavior: 'instant'})"
        )
        page.touchscreen.tap(*point_position(page, source.name, i))
        wait_for_text(page, f"{NAME}-point", point_text(source.data, i))
        screenshot_figure(page, NAME, artifacts / f"{NAME}-390-tapped-{which}.png")
        assert horizontal_overflow(page, NAME) <= 0


@pytest.mark.browser
def test_tooltip_narrow_and_dark(site_url, parts):
    source = next(source for source in sources(parts.root) if (source.name or "").startswith(f"{NAME}-published-"))
    with chromium_context(viewport={"width": 360, "height": 740}, color_scheme="dark") as context:
        page, watcher = open_essay(context, site_url)
        page.locator(f"#figure-{NAME} .bk-Figure").first.evaluate("(plot) => plot.scrollIntoView({block: 'center', behavior: 'instant'})")
        page.mouse.move(*point_position(page, source.name, 0))
        tooltip = page.locator(".bk-Tooltip").filter(visible=True).first
        tooltip.wait_for()
        box = tooltip.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 360
        colours = tooltip.evaluate(
            "(element) => [getComputedStyle(element).backgroundColor, getComputedStyle(document.body).backgroundColor]"
        )
        assert brightness(colours[1]) < 0.3, f"the page is not dark: body background {colours[1]}"
        assert brightness(colours[0]) < 0.3, f"tooltip background {colours[0]} on a dark page"
        page.close()
        watcher.assert_clean()


def brightness(css_colour: str) -> float:
    """Return the mean of an rgb()/rgba() colour's channels on a 0–1 scale."""
    channels = [float(part) for part in css_colour[css_colour.index("(") + 1 : -1].split(",")[:3]]
    return sum(channels) / (3 * 255)


@pytest.mark.browser
def test_screenshots_desktop_and_phone(essay_page, site_url, artifacts):
    screenshot_figure(essay_page, NAME, artifacts / f"{NAME}-1280.png")
    assert horizontal_overflow(essay_page, NAME) <= 0
    with phone_page(site_url) as page:
        screenshot_figure(page, NAME, artifacts / f"{NAME}-390.png")
        assert horizontal_overflow(page, NAME) <= 0
