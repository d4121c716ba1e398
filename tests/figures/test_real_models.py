"""The real-models figure: sizes and quality at 16 bits and INT4, published INT4 points, the frontier and the budget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.models import Arrow, ColumnDataSource, HoverTool, Slider, TapTool

from browser import wait_for_figures
from figure_driver import readouts_by_id
from bokeh_widgets import (
    assert_close,
    assert_readable,
    get_property,
    horizontal_overflow,
    open_essay,
    phone_page,
    point_position,
    wait_for_text,
    python_callbacks,
    screenshot_figure,
    set_value,
    texts,
    wait_for_fragment,
    wait_for_restore,
)
from essaygen.figures.real_models import (
    BUDGETS_GB,
    DEFAULT_BUDGET,
    POINT_PROMPT,
    configurations,
    frontier,
    published_int4,
    published_label,
    published_point_text,
    point_text,
    readout_texts,
    real_models,
)

NAME = "real-models"


@pytest.fixture(scope="module")
def parts(model):
    return real_models(model)


@pytest.fixture(scope="module")
def rows(model):
    return configurations(model)


def points_source(root) -> ColumnDataSource:
    return next(m for m in root.references() if isinstance(m, ColumnDataSource) and "precision" in m.data)


# --- builder ---------------------------------------------------------------


def test_real_models_has_no_python_callbacks(parts):
    assert python_callbacks(parts.root) == []


def test_each_model_at_16_bits_and_int4(parts, model):
    data = points_source(parts.root).data
    count = len(model.real_models)
    assert len(data["gb"]) == 2 * count
    for i, real in enumerate(model.real_models):
        assert data["name"][i] == data["name"][count + i] == real.name
        assert data["gb"][i] == pytest.approx(real.params * 16 / 8 / 1e9)
        assert data["gb"][count + i] == pytest.approx(real.params * 4 / 8 / 1e9)
        assert data["quality"][i] == pytest.approx(100 * real.mmlu / real.mmlu_reference)
        assert data["quality"][count + i] == pytest.approx(100 * real.mmlu / real.mmlu_reference * model.q_bits("INT4"))


def test_reference_model_scores_100(rows):
    index = rows["name"].index("Llama-3.1-8B")
    assert rows["quality"][index] == pytest.approx(100.0)


def test_one_arrow_per_model(parts, model):
    arrows = [m for m in parts.root.references() if isinstance(m, Arrow)]
    assert len(arrows) == 1
    assert len(arrows[0].source.data["x0"]) == len(model.real_models)
    assert arrows[0].source.data["x0"].dtype == np.float32


def test_hover_names_name_params_bytes_score_source(parts):
    hovers = [tool for tool in parts.root.references() if isinstance(tool, HoverTool)]
    templates = "".join(tool.tooltips for tool in hovers)
    for expected in ("Model:</b> @name", "Parameters:</b> @params", "Weights:</b> @bytes", "Score:</b> @score", "Source:</b> @source"):
        assert expected in templates


def test_tap_reaches_every_hovered_point(parts):
    hovered = {renderer for tool in parts.root.references() if isinstance(tool, HoverTool) for renderer in tool.renderers}
    taps = [tool for tool in parts.root.references() if isinstance(tool, TapTool)]
    assert len(taps) == 1
    assert set(taps[0].renderers) == hovered
    for renderer in taps[0].renderers:
        callbacks = renderer.data_source.selected.js_property_callbacks.get("change:indices", [])
        assert len(callbacks) == 1
        assert callbacks[0].args["figure_name"] == NAME
        assert "${figure_name}-point" in callbacks[0].code


def test_point_readout_prompts_before_tap(parts):
    assert readouts_by_id(parts.readouts)[f"{NAME}-point"] == POINT_PROMPT


def named_source(parts, name: str) -> ColumnDataSource:
    return next(model for model in parts.root.references() if isinstance(model, ColumnDataSource) and model.name == name)


def isolated_rows(page, names_and_counts) -> dict[str, tuple[int, float]]:
    """Return, per source, the row whose point lies farthest from every other point, with that distance in px."""
    positions = {(name, i): point_position(page, name, i) for name, count in names_and_counts for i in range(count)}
    chosen: dict[str, tuple[int, float]] = {}
    for (name, i), (x, y) in positions.items():
        nearest = min(math.hypot(x - ox, y - oy) for key, (ox, oy) in positions.items() if key != (name, i))
        if name not in chosen or nearest > chosen[name][1]:
            chosen[name] = (i, nearest)
    return chosen


@pytest.mark.browser
@pytest.mark.parametrize("source_name", [f"{NAME}-points", f"{NAME}-published"])
def test_tap_writes_point_readout(site_url, parts, artifacts, source_name):
    # One tap per page: Bokeh takes a second tap within about 300 ms for part of a double tap.
    points = named_source(parts, f"{NAME}-points")
    published = named_source(parts, f"{NAME}-published")
    source = named_source(parts, source_name)
    describe = published_point_text if source_name == published.name else point_text
    with phone_page(site_url, has_touch=True, is_mobile=True, color_scheme="dark") as page:
        page.locator(f"#figure-{NAME} .bk-Figure").first.evaluate(
            "(plot) => plot.scrollIntoView({block: 'center', behavior: 'instant'})"
        )
        rows = isolated_rows(page, [(points.name, len(points.data["name"])), (published.name, len(published.data["name"]))])
        i, nearest = rows[source_name]
        # A tap hits every marker within its radius (about 6 px here), so the tapped point needs room.
        assert nearest >= 8, f"row {i} of {source_name} is only {nearest:.1f} px from another point"
        page.touchscreen.tap(*point_position(page, source_name, i))
        wait_for_text(page, f"{NAME}-point", describe(source.data, i))
        screenshot_figure(page, NAME, artifacts / f"{NAME}-390-tapped-{source_name.removeprefix(NAME + '-')}.png")
        assert horizontal_overflow(page, NAME) <= 0


def test_published_int4_points_are_separate(model):
    published = published_int4(model)
    assert len(published["gb"]) >= 4
    by_name = {real.name: real for real in model.real_models}
    for name, quality in zip(published["name"], published["quality"]):
        base = by_name[name.split(",")[0].removesuffix("-Instruct")]
        rule = base.quality_index * model.q_bits("INT4")
        assert quality != pytest.approx(rule), f"{name} sits exactly on the rule of thumb"


def test_published_int4_sits_at_published_file_size(model):
    published = published_int4(model)
    by_name = dict(zip(published["name"], zip(published["gb"], published["size"])))
    # Neural Magic's w4a16 safetensors file is 5.74 GB; Meta's SpinQuant .pte files are 1083 and 2435 MiB.
    assert by_name["Llama-3.1-8B-Instruct, GPTQ w4a16"][0] == pytest.approx(5.74)
    assert by_name["Llama-3.2-1B-Instruct, SpinQuant"][0] == pytest.approx(1083 * 2**20 / 1e9)
    assert by_name["Llama-3.2-3B-Instruct, SpinQuant"][0] == pytest.approx(2435 * 2**20 / 1e9)
    assert "published file size" in by_name["Llama-3.2-1B-Instruct, SpinQuant"][1]
    # No file size is published for the 70B w4a16 release, so it sits at params × 4 bits.
    gb, size = by_name["Llama-3.1-70B-Instruct, GPTQ w4a16"]
    assert gb == pytest.approx(model.weight_gb(model.real_model("Llama-3.1-70B").params, "INT4"))
    assert "nominal" in size


def test_published_int4_marks_open_llm_average(model):
    published = published_int4(model)
    for name, result in zip(published["name"], published["published"]):
        if "w4a16" in name:
            assert result.startswith("Open LLM Leaderboard v1 average (not MMLU)"), name
        else:
            assert result.startswith("MMLU"), name


def test_key_names_published_sources(parts, model):
    # Qwen's INT4 releases are of Qwen2, which is not on the chart, so only Meta and Neural Magic are named.
    assert published_label(published_int4(model)) == "INT4, published (Meta, Neural Magic)"
    assert "INT4, published (Meta, Neural Magic)" in parts.html


def test_frontier_is_the_best_quality_at_each_size(rows):
    xs, ys = frontier(rows["gb"], rows["quality"])
    assert np.all(np.diff(xs) >= 0)
    assert np.all(np.diff(ys) > 0)
    for gb, quality in zip(rows["gb"], rows["quality"]):
        reachable = ys[xs <= gb]
        assert reachable.size and reachable.max() >= quality - 1e-9


def test_budget_slider_is_named_for_the_figure(parts):
    sliders = [m for m in parts.root.references() if isinstance(m, Slider)]
    assert [slider.name for slider in sliders] == [f"{NAME}-budget"]
    assert sliders[0].value == BUDGETS_GB.index(DEFAULT_BUDGET)


def test_readouts_at_default_match_model(parts, rows):
    fits = [i for i, gb in enumerate(rows["gb"]) if gb <= DEFAULT_BUDGET]
    best = max(fits, key=lambda i: rows["quality"][i])
    assert f">{DEFAULT_BUDGET} GB<" in parts.readouts
    assert f"{rows['name'][best]} at INT4" in parts.readouts
    assert f"{len(fits)} of {len(rows['gb'])}" in parts.readouts


def test_item_json_stays_small(parts):
    size = len(str(json_item(parts.root)))
    assert size < 40_000, f"real-models JSON is {size:,} characters"


# --- browser ---------------------------------------------------------------


def check_budget(page, rows, budget: float) -> None:
    expected = readout_texts(rows, budget)
    shown = texts(page, expected)
    assert_readable(shown)
    assert shown == expected
    assert_close(get_property(page, f"{NAME}-span", "location"), budget, label="budget line")
    assert_close(get_property(page, f"{NAME}-shade", "left"), budget, label="shaded region")


def move_to(page, budget: float) -> None:
    if set_value(page, f"{NAME}-budget", BUDGETS_GB.index(budget)):
        wait_for_fragment(page, f"#{NAME}:budget={budget:g}")


@pytest.mark.browser
def test_every_budget_matches_numpy(essay_page, rows):
    for budget in (BUDGETS_GB[0], *BUDGETS_GB[1:-1], BUDGETS_GB[-1], BUDGETS_GB[0]):
        move_to(essay_page, budget)
        check_budget(essay_page, rows, budget)


@pytest.mark.browser
def test_budget_slider_works_by_keyboard(essay_page, rows):
    handle = essay_page.locator(f"#figure-{NAME} .noUi-handle").first
    handle.focus()
    index = BUDGETS_GB.index(DEFAULT_BUDGET)
    for key, expected in (("ArrowRight", index + 1), ("End", len(BUDGETS_GB) - 1), ("Home", 0), ("ArrowRight", 1)):
        handle.press(key)
        wait_for_fragment(essay_page, f"#{NAME}:budget={BUDGETS_GB[expected]:g}")
        assert get_property(essay_page, f"{NAME}-budget", "value") == expected
        check_budget(essay_page, rows, BUDGETS_GB[expected])


@pytest.mark.browser
def test_fragment_round_trip(desktop_context, site_url, rows):
    page, watcher = open_essay(desktop_context, site_url)
    move_to(page, 48)
    assert page.url.endswith(f"#{NAME}:budget=48")
    page.reload()
    wait_for_figures(page)
    assert wait_for_restore(page, NAME) == "restored"
    wait_for_fragment(page, f"#{NAME}:budget=48")
    page.wait_for_function("() => document.getElementById('real-models-budget').textContent === '48 GB'")
    assert get_property(page, f"{NAME}-budget", "value") == BUDGETS_GB.index(48)
    check_budget(page, rows, 48)
    page.close()
    watcher.assert_clean()


JUNK = [
    "#real-models:budget=0",
    "#real-models:budget=23",
    "#real-models:budget=-8",
    "#real-models:budget=Infinity",
    "#real-models:budget=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "#real-models:budget=16e0x",
    "#real-models:toString=1&__proto__=2",
]


@pytest.mark.browser
@pytest.mark.parametrize("junk", JUNK)
def test_junk_fragment_keeps_defaults(desktop_context, site_url, rows, junk):
    page, watcher = open_essay(desktop_context, site_url, junk)
    assert wait_for_restore(page, NAME) in ("ignored", "none")
    assert get_property(page, f"{NAME}-budget", "value") == BUDGETS_GB.index(DEFAULT_BUDGET)
    check_budget(page, rows, DEFAULT_BUDGET)
    page.close()
    watcher.assert_clean()


@pytest.mark.browser
def test_screenshots_desktop_and_phone(essay_page, site_url, artifacts):
    screenshot_figure(essay_page, NAME, artifacts / f"{NAME}-1280.png")
    assert horizontal_overflow(essay_page, NAME) <= 0
    with phone_page(site_url) as page:
        screenshot_figure(page, NAME, artifacts / f"{NAME}-390.png")
        assert horizontal_overflow(page, NAME) <= 0
