"""The two-routes figure: quality along the pruning and the distillation route to a target size."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, Select, Slider

from bokeh_widgets import horizontal_overflow, screenshot_figure
from essaygen.figures._format import format_number, format_params, format_percent, format_quality
from essaygen.figures.two_routes import crossover_fraction
from essaygen.model import DEFAULT_METHOD, PRUNE_GRID
from figure_driver import (
    assert_custom_js_only,
    assert_readable,
    build_figure,
    columns,
    current_fragment,
    fragment_verdict,
    page_at_fragment,
    model_value,
    narrow_page,
    readout_texts,
    readouts_by_id,
    set_control,
    settle,
    slider_handle,
    slider_value_text,
)

NAME = "two-routes"
DEFAULT_PERCENT = 50
TARGETS = (100, 99, 70, 50, 36, 35, 34, 21, 20, 10, 6, 5)


@pytest.fixture(scope="module")
def parts(model):
    return build_figure(model, NAME)


@pytest.fixture(scope="module")
def base_params(model) -> float:
    return float(model.real_model("Llama-3.1-8B").params)


def curves_source(parts) -> ColumnDataSource:
    (source,) = [s for s in parts.root.select({"type": ColumnDataSource}) if s.name == "two-routes-curves"]
    return source


def expected_state(model, base_params: float, percent: int, method: str) -> dict:
    """Compute the readouts and the marker for a target of ``percent`` of the base model, from numpy."""
    p = 1 - percent / 100
    k = 100 / percent
    prune_q = 100 * model.q_prune(p, method)
    distil_q = 100 * model.q_distil(k)
    gap = prune_q - distil_q
    points = format_number(abs(gap), 1)
    if points == "0.0":
        verdict = "both routes keep the same"
    else:
        verdict = f"{'pruning' if gap > 0 else 'distillation'} keeps {points} points more"
    crossing = crossover_fraction(model, method)
    if crossing is None:
        crossover = "Pruning keeps more at every size on this chart."
    else:
        crossover = (
            f"Distillation keeps more below about {format_params(base_params * (1 - crossing))} parameters "
            f"({format_percent(crossing)} pruned)."
        )
    return {
        "readouts": {
            "two-routes-target": f"{format_params(base_params * percent / 100)} ({percent}% of Llama 3.1 8B)",
            "two-routes-prune": f"{format_quality(prune_q)} (remove {format_percent(p)})",
            "two-routes-distil": f"{format_quality(distil_q)} (a student {format_number(k, 1)}× smaller)",
            "two-routes-verdict": verdict,
            "two-routes-crossover": crossover,
        },
        "x": base_params * percent / 100 / 1e9,
        "y": [prune_q, distil_q],
        "crossing": crossing,
    }


# --- the figure as built ------------------------------------------------------------


def test_two_routes_says_distillation_curve_is_pessimistic(parts, model):
    assert "pessimistic for modern students" in parts.readouts
    # The claim holds in the data: every Minitron student keeps more than the fitted curve predicts.
    minitron = [point for point in model.calibration_points("distillation") if "Minitron" in point.model]
    assert minitron
    for point in minitron:
        assert point.observed > model.q_distil(point.settings["k"]), point.model


def test_two_routes_data_is_float32(parts, model):
    data = curves_source(parts).data
    assert set(data) == {"x", "distil", *model.pruning_methods}
    for key, column in data.items():
        assert column.dtype == np.float32, key
        assert column.shape == (len(PRUNE_GRID),), key


def test_two_routes_float32_keeps_display_precision(parts, model, base_params):
    # The readouts show the float32 columns to one decimal; they must print as the float64 values do.
    data = curves_source(parts).data
    exact = {"distil": 100 * model.q_distil(1 / (1 - PRUNE_GRID))}
    exact.update({key: 100 * model.q_prune(PRUNE_GRID, key) for key in model.pruning_methods})
    for key, values in exact.items():
        shown = [format_quality(float(v)) for v in data[key]]
        assert shown == [format_quality(v) for v in values], key
    np.testing.assert_allclose(data["x"], base_params * (1 - PRUNE_GRID) / 1e9, rtol=1e-6)


def test_two_routes_readouts_at_default(parts, model, base_params):
    shown = readouts_by_id(parts.readouts)
    for key, text in expected_state(model, base_params, DEFAULT_PERCENT, DEFAULT_METHOD)["readouts"].items():
        assert shown[key] == text


@pytest.mark.parametrize("method", ["magnitude", "one_shot", "structured"])
def test_two_routes_crossover_is_where_routes_meet(model, method):
    p = crossover_fraction(model, method)
    assert p is not None and 0.3 < p < 0.95
    prune_q = model.q_prune(p, method)
    distil_q = model.q_distil(1 / (1 - p))
    assert abs(prune_q - distil_q) < 1e-3
    assert model.q_prune(p + 0.01, method) < model.q_distil(1 / (1 - p - 0.01))
    assert model.q_prune(p - 0.01, method) > model.q_distil(1 / (1 - p + 0.01))


def test_two_routes_has_no_python_callbacks(parts):
    assert_custom_js_only(parts.root)


def test_two_routes_controls(parts, model):
    (slider,) = parts.root.select({"type": Slider})
    assert (slider.name, slider.start, slider.end, slider.value) == ("two-routes-target", 5, 100, DEFAULT_PERCENT)
    (select,) = parts.root.select({"type": Select})
    assert select.name == "two-routes-method"
    assert [key for key, _ in select.options] == list(model.pruning_methods)


def test_two_routes_item_is_small(parts):
    size = len(json.dumps(json_item(parts.root)))
    assert size < 40_000, f"the figure's JSON is {size} bytes"


# --- in the browser ----------------------------------------------------------------


def assert_page_state(page, expected: dict, setting: str) -> None:
    shown = readout_texts(page, NAME)
    assert_readable(shown)
    for key, text in expected["readouts"].items():
        assert shown[key] == text, f"{key} at {setting}"
    marker = columns(page, "two-routes-marker")
    assert marker["x"] == pytest.approx([expected["x"]] * 2, rel=1e-12), setting
    assert marker["y"] == pytest.approx(expected["y"], rel=1e-6, abs=1e-5), setting
    assert model_value(page, "two-routes-target-line", "model.location") == pytest.approx(expected["x"], rel=1e-12)


@pytest.mark.browser
def test_two_routes_follow_target_and_method(essay_page, model, base_params):
    curves = columns(essay_page, "two-routes-curves")
    np.testing.assert_allclose(curves["x"], base_params * (1 - PRUNE_GRID) / 1e9, rtol=1e-6)

    for method in ("magnitude", "structured", "one_shot"):
        set_control(essay_page, "two-routes-method", method)
        assert model_value(essay_page, "two-routes-prune-line", "model.glyph.y.field") == method
        crossing = crossover_fraction(model, method)
        line_x = model_value(essay_page, "two-routes-crossover-line", "model.location")
        assert line_x == pytest.approx(base_params * (1 - crossing) / 1e9, rel=1e-12)
        for percent in TARGETS:
            set_control(essay_page, "two-routes-target", percent)
            expected = expected_state(model, base_params, percent, method)
            assert_page_state(essay_page, expected, f"{percent}% with {method}")
            assert slider_value_text(essay_page, NAME, "Target size") == (
                f"{format_params(base_params * percent / 100)} ({percent}%)"
            )
        set_control(essay_page, "two-routes-target", DEFAULT_PERCENT)


@pytest.mark.browser
def test_two_routes_target_by_keyboard(essay_page, model, base_params):
    handle = slider_handle(essay_page, NAME, "Target size")
    handle.focus()
    for key, percent in (("Home", 5), ("ArrowRight", 6), ("End", 100), ("ArrowLeft", 99)):
        essay_page.keyboard.press(key)
        settle(essay_page)
        assert_page_state(essay_page, expected_state(model, base_params, percent, DEFAULT_METHOD), f"after {key}")


@pytest.mark.browser
def test_two_routes_screenshots(essay_page, desktop_context, site_url, artifacts):
    set_control(essay_page, "two-routes-target", 30)
    screenshot_figure(essay_page, NAME, artifacts / "two-routes-1280.png")
    with narrow_page(desktop_context, site_url) as page:
        set_control(page, "two-routes-target", 30)
        assert horizontal_overflow(page, NAME) <= 0
        screenshot_figure(page, NAME, artifacts / "two-routes-390.png")


@pytest.mark.browser
def test_two_routes_fragment_round_trip(essay_page, desktop_context, site_url, model, base_params):
    set_control(essay_page, "two-routes-target", 40)
    assert current_fragment(essay_page) == "#two-routes:size=40&method=one-shot"
    with page_at_fragment(desktop_context, site_url, "#two-routes:size=25&method=structured") as page:
        assert fragment_verdict(page, NAME) == "restored"
        assert_page_state(page, expected_state(model, base_params, 25, "structured"), "restored")


@pytest.mark.browser
@pytest.mark.parametrize("junk", ["size=4", "size=101", "size=50.5", "method=one_shot", "method=x&size=", "size=NaN"])
def test_two_routes_junk_fragment_is_ignored(desktop_context, site_url, model, base_params, junk):
    with page_at_fragment(desktop_context, site_url, f"#two-routes:{junk}") as page:
        assert fragment_verdict(page, NAME) == "ignored"
        assert_page_state(page, expected_state(model, base_params, DEFAULT_PERCENT, DEFAULT_METHOD), "default")
