"""The low-rank figure: d² against 2dr, the break-even at r = d/2 and the picture of the factors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.models import CategoricalSlider, ColumnDataSource, Slider

from bokeh_widgets import horizontal_overflow, screenshot_figure
from essaygen.figures._format import format_number, format_percent
from essaygen.model import factorised_matrix_params
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
)

NAME = "low-rank"
SIZES = (512, 1024, 2048, 4096, 8192, 16384)
DEFAULT_D, DEFAULT_R = 4096, 512


@pytest.fixture(scope="module")
def parts(model):
    return build_figure(model, NAME)


def expected_readouts(d: int, r: int) -> dict[str, str]:
    """Compute the readouts for matrix size d and rank r with the model's parameter count."""
    dense = d * d
    factored = factorised_matrix_params(d, r)
    ratio = factored / dense
    if factored < dense:
        change = f"saves {format_percent(1 - ratio, 1)}"
    elif factored > dense:
        change = f"costs {format_percent(ratio - 1, 1)} more"
    else:
        change = "no saving"
    return {
        "low-rank-dense": format_number(dense),
        "low-rank-factored": format_number(factored),
        "low-rank-ratio": f"{format_percent(ratio, 1)} of d² ({change})",
        "low-rank-break-even": f"r = d/2 = {format_number(d // 2)}",
    }


def snapped_rank(r: int, d: int) -> int:
    """Return where the rank lands when d changes: the nearest multiple of d/64, halves up, within [d/64, d]."""
    step = d // 64
    return int(min(d, max(step, np.floor(r / step + 0.5) * step)))


def assert_picture(page, d: int, r: int, setting: str) -> None:
    rho = r / d
    matrices = columns(page, "low-rank-matrices")
    widths = np.subtract(matrices["right"], matrices["left"])
    heights = np.subtract(matrices["top"], matrices["bottom"])
    assert widths == pytest.approx([1, rho, 1], rel=1e-12), setting
    assert heights == pytest.approx([1, 1, rho], rel=1e-12), setting
    assert np.all(widths > 0), setting
    assert np.all(heights > 0), setting
    # The factors sit side by side, left to right, without overlapping.
    assert matrices["left"][1] > matrices["right"][0], setting
    assert matrices["left"][2] > matrices["right"][1], setting
    point = columns(page, "low-rank-point")
    assert point == {"x": pytest.approx([rho]), "y": pytest.approx([2 * rho])}, setting
    assert model_value(page, "low-rank-rank-line", "model.location") == pytest.approx(rho), setting


# --- the figure as built ------------------------------------------------------------


def test_low_rank_readouts_at_default(parts):
    shown = readouts_by_id(parts.readouts)
    for key, text in expected_readouts(DEFAULT_D, DEFAULT_R).items():
        assert shown[key] == text


def test_low_rank_picture_at_default(parts):
    sources = {s.name: s for s in parts.root.select({"type": ColumnDataSource})}
    data = sources["low-rank-matrices"].data
    rho = DEFAULT_R / DEFAULT_D
    assert np.subtract(data["right"], data["left"]).tolist() == pytest.approx([1, rho, 1])
    assert np.subtract(data["top"], data["bottom"]).tolist() == pytest.approx([1, 1, rho])


def test_low_rank_controls(parts):
    (size,) = parts.root.select({"type": CategoricalSlider})
    (rank,) = parts.root.select({"type": Slider})
    assert size.name == "low-rank-d"
    assert rank.name == "low-rank-r"
    assert size.categories == [format_number(d) for d in SIZES]
    assert size.value == "4,096"
    assert (rank.start, rank.end, rank.step, rank.value) == (64, 4096, 64, 512)


def test_low_rank_has_no_python_callbacks(parts):
    assert_custom_js_only(parts.root)


def test_low_rank_item_is_small(parts):
    size = len(json.dumps(json_item(parts.root)))
    assert size < 40_000, f"the figure's JSON is {size} bytes"


def test_low_rank_break_even_is_half_of_d():
    for d in SIZES:
        assert expected_readouts(d, d // 2)["low-rank-ratio"] == "100.0% of d² (no saving)"
        assert "saves" in expected_readouts(d, d // 2 - d // 64)["low-rank-ratio"]
        assert "more" in expected_readouts(d, d // 2 + d // 64)["low-rank-ratio"]


# --- in the browser ----------------------------------------------------------------


@pytest.mark.browser
def test_low_rank_follows_d_and_r(essay_page):
    r = DEFAULT_R
    for d in (16384, 8192, 2048, 512, 1024, 4096):
        set_control(essay_page, "low-rank-d", format_number(d))
        r = snapped_rank(r, d)
        step = d // 64
        slider = model_value(essay_page, "low-rank-r", "[model.start, model.end, model.step, model.value]")
        assert slider == [step, d, step, r], f"rank slider at d = {d}"
        for rank in (step, d // 4, d // 2 - step, d // 2, d // 2 + step, d, r):
            set_control(essay_page, "low-rank-r", rank)
            shown = readout_texts(essay_page, NAME)
            assert_readable(shown)
            for key, text in expected_readouts(d, rank).items():
                assert shown[key] == text, f"{key} at d = {d}, r = {rank}"
            assert_picture(essay_page, d, rank, f"d = {d}, r = {rank}")


@pytest.mark.browser
def test_low_rank_keeps_r_when_d_grows(essay_page):
    set_control(essay_page, "low-rank-d", "512")
    set_control(essay_page, "low-rank-r", 200)  # on the grid for d = 512 but not for d = 16,384
    set_control(essay_page, "low-rank-d", "16,384")
    assert model_value(essay_page, "low-rank-r", "model.value") == snapped_rank(200, 16384)
    shown = readout_texts(essay_page, NAME)
    assert shown["low-rank-dense"] == format_number(16384**2)


@pytest.mark.browser
def test_low_rank_rank_slider_by_keyboard(essay_page):
    handle = slider_handle(essay_page, NAME, "Rank r")
    handle.focus()
    for key, rank in (("Home", 64), ("ArrowRight", 128), ("End", 4096), ("ArrowLeft", 4032)):
        essay_page.keyboard.press(key)
        settle(essay_page)
        shown = readout_texts(essay_page, NAME)
        assert shown == {**shown, **expected_readouts(DEFAULT_D, rank)}, f"after {key}"
        assert_picture(essay_page, DEFAULT_D, rank, f"after {key}")


@pytest.mark.browser
def test_rank_home_after_size_change(essay_page):
    # The size callback moves the rank slider's start to d/64; Home must land there, not on the old start.
    set_control(essay_page, "low-rank-d", format_number(1024))
    settle(essay_page)
    handle = slider_handle(essay_page, NAME, "Rank r")
    handle.focus()
    try:
        for key, rank in (("Home", 16), ("End", 1024), ("Home", 16)):
            essay_page.keyboard.press(key)
            settle(essay_page)
            assert model_value(essay_page, "low-rank-r", "model.value") == rank, f"after {key}"
            assert float(handle.get_attribute("aria-valuenow")) == rank, f"after {key}"
            assert readout_texts(essay_page, NAME) == {
                **readout_texts(essay_page, NAME), **expected_readouts(1024, rank)
            }, f"after {key}"
    finally:
        set_control(essay_page, "low-rank-d", format_number(DEFAULT_D))
        settle(essay_page)


@pytest.mark.browser
def test_low_rank_screenshots(essay_page, desktop_context, site_url, artifacts):
    screenshot_figure(essay_page, NAME, artifacts / "low-rank-1280.png")
    with narrow_page(desktop_context, site_url) as page:
        assert horizontal_overflow(page, NAME) <= 0
        screenshot_figure(page, NAME, artifacts / "low-rank-390.png")


@pytest.mark.browser
def test_low_rank_fragment_round_trip(essay_page, desktop_context, site_url):
    set_control(essay_page, "low-rank-r", 1024)
    assert current_fragment(essay_page) == "#low-rank:d=4096&r=1024"
    with page_at_fragment(desktop_context, site_url, "#low-rank:d=512&r=200") as page:
        assert fragment_verdict(page, NAME) == "restored"
        assert model_value(page, "low-rank-r", "[model.start, model.end, model.value]") == [8, 512, 200]
        shown = readout_texts(page, NAME)
        assert shown == {**shown, **expected_readouts(512, 200)}
        assert_picture(page, 512, 200, "restored")


@pytest.mark.browser
@pytest.mark.parametrize("junk", ["d=4000", "d=32768", "r=100", "r=0", "r=8192", "d=1e3", "r=-64"])
def test_low_rank_junk_fragment_is_ignored(desktop_context, site_url, junk):
    with page_at_fragment(desktop_context, site_url, f"#low-rank:{junk}") as page:
        assert fragment_verdict(page, NAME) == "ignored"
        shown = readout_texts(page, NAME)
        assert shown == {**shown, **expected_readouts(DEFAULT_D, DEFAULT_R)}
        assert_picture(page, DEFAULT_D, DEFAULT_R, "default")
