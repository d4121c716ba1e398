"""The quantisation figure: the signal snapped to 2^b levels, in Python and in the browser."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, Slider

from bokeh_widgets import horizontal_overflow, screenshot_figure
from essaygen.figures._format import format_number
from essaygen.figures._readouts import READOUT_JS, format_significant
from essaygen.model import quantise_signal
from figure_driver import (
    assert_readable,
    assert_custom_js_only,
    build_figure,
    columns,
    current_fragment,
    fragment_verdict,
    page_at_fragment,
    narrow_page,
    readout_texts,
    readouts_by_id,
    run_formatters,
    set_control,
    settle,
    slider_handle,
    slider_value_text,
)

NAME = "quantisation"
ALL_BITS = list(range(2, 17))


@pytest.fixture(scope="module")
def parts(model):
    return build_figure(model, NAME)


def sources(parts) -> dict[str, ColumnDataSource]:
    return {s.name: s for s in parts.root.select({"type": ColumnDataSource})}


def expected_state(signal: np.ndarray, bits: int) -> dict:
    """Compute what the figure should show at ``bits``, from the model's quantiser."""
    x = signal.astype(float)
    snapped = quantise_signal(x, bits)
    levels = 2**bits
    lo, hi = x.min(), x.max()
    grid = lo + np.arange(levels) * ((hi - lo) / (levels - 1)) if levels <= 32 else np.zeros(0)
    rms = math.sqrt(float(np.mean((x - snapped) ** 2)))
    return {
        "snapped": snapped,
        "levels": grid,
        "readouts": {
            "quantisation-bits": f"{bits} bits",
            "quantisation-levels": format_number(levels),
            "quantisation-rms": f"{format_significant(100 * rms / (hi - lo), 2)}% of range",
        },
        "slider": f"{bits} bits · {format_number(levels)} levels",
    }


# --- the figure as built ------------------------------------------------------------


def test_quantisation_data_is_float32(parts):
    data = sources(parts)["quantisation-signal"].data
    assert set(data) == {"t", "signal", "snapped"}
    for key, column in data.items():
        assert column.dtype == np.float32, key
        assert column.shape == (480,), key


def test_quantisation_default_snapped_matches_numpy(parts):
    data = sources(parts)["quantisation-signal"].data
    expected = quantise_signal(data["signal"].astype(float), 4)
    np.testing.assert_allclose(data["snapped"], expected, rtol=0, atol=1e-6)
    # The page opens at 4 bits, so the 16 levels are drawn before any JavaScript runs.
    assert len(np.unique(expected)) <= 16
    assert len(sources(parts)["quantisation-levels"].data["y"]) == 16


def test_quantisation_readouts_at_default(parts):
    signal = sources(parts)["quantisation-signal"].data["signal"]
    shown = readouts_by_id(parts.readouts)
    for key, text in expected_state(signal, 4)["readouts"].items():
        assert shown[key] == text


def test_quantisation_notes_fp32_values(parts):
    assert "4,294,967,296" in parts.readouts
    assert "bit patterns: about 4.3 billion" in parts.readouts
    assert "distinct values" not in parts.readouts


def test_quantisation_has_no_python_callbacks(parts):
    assert_custom_js_only(parts.root)


def test_quantisation_slider_spans_2_to_16_from_4(parts):
    (slider,) = parts.root.select({"type": Slider})
    assert (slider.start, slider.end, slider.step, slider.value) == (2, 16, 1, 4)
    assert slider.name == "quantisation-bits"


def test_quantisation_item_is_small(parts):
    size = len(json.dumps(json_item(parts.root)))
    assert size < 40_000, f"the figure's JSON is {size} bytes"


def test_format_significant_cases():
    assert format_significant(0.000444, 2) == "0.00044"
    assert format_significant(9.6, 2) == "9.6"
    assert format_significant(12.34, 2) == "12"
    assert format_significant(0.0, 2) == "0"
    assert format_significant(-1.0, 2) == "\u2014"
    assert format_significant(math.nan, 2) == "\u2014"


# --- in the browser ----------------------------------------------------------------


@pytest.mark.browser
def test_quantisation_snaps_like_numpy_for_every_b(essay_page, parts):
    signal = sources(parts)["quantisation-signal"].data["signal"]
    # From the default 4 bits up to 15, down to 2 and back up to 16, so that every position is a change.
    for bits in [*reversed(ALL_BITS[:-1]), *ALL_BITS[1:]]:
        set_control(essay_page, "quantisation-bits", bits)
        expected = expected_state(signal, bits)

        data = columns(essay_page, "quantisation-signal")
        np.testing.assert_array_equal(np.array(data["signal"]), signal.astype(float))
        snapped = np.array(data["snapped"])
        assert np.all(np.isfinite(snapped)), bits
        np.testing.assert_allclose(snapped, expected["snapped"], rtol=0, atol=1e-12, err_msg=f"{bits} bits")
        assert len(np.unique(snapped)) <= 2**bits
        levels = np.array(columns(essay_page, "quantisation-levels")["y"])
        np.testing.assert_allclose(levels, expected["levels"], rtol=0, atol=1e-12, err_msg=f"{bits} bits")

        shown = readout_texts(essay_page, NAME)
        assert_readable(shown)
        for key, text in expected["readouts"].items():
            assert shown[key] == text, f"{key} at {bits} bits"
        assert slider_value_text(essay_page, NAME, "Precision") == expected["slider"]


@pytest.mark.browser
def test_quantisation_renders_default_state(essay_page, parts):
    signal = sources(parts)["quantisation-signal"].data["signal"]
    expected = expected_state(signal, 4)
    snapped = np.array(columns(essay_page, "quantisation-signal")["snapped"])
    np.testing.assert_allclose(snapped, expected["snapped"], rtol=0, atol=1e-6)
    assert readout_texts(essay_page, NAME) == {**readout_texts(essay_page, NAME), **expected["readouts"]}
    assert slider_value_text(essay_page, NAME, "Precision") == expected["slider"]


@pytest.mark.browser
def test_quantisation_slider_works_by_keyboard(essay_page, parts):
    signal = sources(parts)["quantisation-signal"].data["signal"]
    handle = slider_handle(essay_page, NAME, "Precision")
    handle.focus()
    for key, bits in (("Home", 2), ("ArrowRight", 3), ("ArrowRight", 4), ("End", 16), ("ArrowLeft", 15)):
        essay_page.keyboard.press(key)
        settle(essay_page)
        shown = readout_texts(essay_page, NAME)
        assert shown == {**shown, **expected_state(signal, bits)["readouts"]}, f"after {key}"


@pytest.mark.browser
def test_significant_formatter_matches_python(essay_page):
    values = [0.000444, 0.00044449, 0.0995, 0.125, 0.25, 1.0, 2.5, 9.95, 9.96, 12.5, 99.5, 123456.0, 0.0, 3e-9]
    calls = [("format_significant", [value, figures]) for value in values for figures in (1, 2, 3)]
    expected = [format_significant(value, figures) for value in values for figures in (1, 2, 3)]
    assert run_formatters(essay_page, READOUT_JS, calls) == expected


@pytest.mark.browser
def test_quantisation_screenshots(essay_page, desktop_context, site_url, artifacts):
    set_control(essay_page, "quantisation-bits", 3)
    screenshot_figure(essay_page, NAME, artifacts / "quantisation-1280.png")
    with narrow_page(desktop_context, site_url) as page:
        set_control(page, "quantisation-bits", 3)
        assert horizontal_overflow(page, NAME) <= 0
        screenshot_figure(page, NAME, artifacts / "quantisation-390.png")


@pytest.mark.browser
def test_quantisation_fragment_round_trip(essay_page, desktop_context, site_url, parts):
    set_control(essay_page, "quantisation-bits", 5)
    assert current_fragment(essay_page) == "#quantisation:b=5"
    signal = sources(parts)["quantisation-signal"].data["signal"]
    with page_at_fragment(desktop_context, site_url, "#quantisation:b=3") as page:
        assert fragment_verdict(page, NAME) == "restored"
        shown = readout_texts(page, NAME)
        assert shown == {**shown, **expected_state(signal, 3)["readouts"]}


@pytest.mark.browser
@pytest.mark.parametrize("junk", ["b=17", "b=1", "b=2.5", "b=abc", "b=%3Cscript%3E", "bits=3"])
def test_quantisation_junk_fragment_is_ignored(desktop_context, site_url, parts, junk):
    signal = sources(parts)["quantisation-signal"].data["signal"]
    with page_at_fragment(desktop_context, site_url, f"#quantisation:{junk}") as page:
        assert fragment_verdict(page, NAME) == "ignored"
        shown = readout_texts(page, NAME)
        assert shown == {**shown, **expected_state(signal, 4)["readouts"]}
