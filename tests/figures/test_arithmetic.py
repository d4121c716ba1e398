"""The arithmetic figure: three equations in MathML and their worked examples."""

from __future__ import annotations

import math

import html5lib
import pytest
from bokeh.models import CategoricalSlider, Select, Slider

from bokeh_widgets import horizontal_overflow, screenshot_figure
from essaygen.embedding import required_bundles
from essaygen.figures._format import format_gb, format_number, format_params, format_percent, format_quality
from essaygen.figures._readouts import READOUT_JS, format_size
from essaygen.figures.arithmetic import PARAMS
from essaygen.model import DEFAULT_METHOD
from figure_driver import (
    assert_readable,
    assert_custom_js_only,
    build_figure,
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
)

NAME = "arithmetic"
MATHML = "{http://www.w3.org/1998/Math/MathML}"
DEFAULTS = {"params": "8B", "precision": "FP16", "prune": 0.3, "distil": 2.0}


@pytest.fixture(scope="module")
def parts(model):
    return build_figure(model, NAME)


def expected_readouts(model, params: str, precision: str, prune: float, distil: float) -> dict[str, str]:
    """Compute the three worked examples from the model for one setting of the controls."""
    n = PARAMS[params]
    bits = model.bits_per_weight(precision)
    bits_text = format_number(bits, 0 if bits.is_integer() else 2)
    factors = model.factors(precision, prune, DEFAULT_METHOD, distil, 1.0)
    terms = " × ".join(format_number(factors[k], 3) for k in ("q_bits", "q_prune", "q_distil", "q_rank"))
    quality = model.quality(100.0, precision, prune, DEFAULT_METHOD, distil, 1.0)
    stored = params if distil == 1 else f"({params} ÷ {format_number(distil, 1)})"
    return {
        # The default method is unstructured, so p leaves the stored count at N / k.
        "arithmetic-footprint": f"{stored} × {bits_text} bits ÷ 8 = {format_size(model.weight_gb(n / distil, precision))}",
        "arithmetic-effective": (
            f"{params} × (1 − {format_number(prune, 2)}) ÷ {format_number(distil, 1)} = "
            f"{format_params(model.effective_params(n, prune, distil))}"
        ),
        "arithmetic-quality": f"100 × {terms} = {format_number(quality, 1)}",
    }


# --- the figure as built ------------------------------------------------------------


def test_arithmetic_equations_are_mathml(parts):
    document = html5lib.parse(parts.html)
    maths = list(document.iter(f"{MATHML}math"))
    assert len(maths) == 3
    footprint = maths[0]
    assert footprint.find(f".//{MATHML}mfrac") is not None
    names = "".join("".join(mi.itertext()) for mi in footprint.iter(f"{MATHML}mi"))
    assert names == "MNstoredb"
    quality_text = "".join(maths[2].itertext())
    for word in ("bits", "prune", "distil", "rank"):
        assert word in quality_text


def test_arithmetic_needs_no_mathjax(parts):
    assert "bokeh-mathjax" not in required_bundles(parts.root)


def test_arithmetic_readouts_at_default(parts, model):
    shown = readouts_by_id(parts.readouts)
    for key, text in expected_readouts(model, **DEFAULTS).items():
        assert shown[key] == text


def test_arithmetic_footprint_examples(model):
    # The essay's anchor values: 8 billion weights take 16 GB at 16 bits and 4 GB at 4 bits.
    assert expected_readouts(model, "8B", "FP16", 0.0, 1.0)["arithmetic-footprint"] == "8B × 16 bits ÷ 8 = 16 GB"
    assert expected_readouts(model, "8B", "INT4", 0.0, 1.0)["arithmetic-footprint"] == "8B × 4 bits ÷ 8 = 4 GB"
    assert expected_readouts(model, "8B", "Q4_K_M", 0.0, 1.0)["arithmetic-footprint"] == "8B × 4.90 bits ÷ 8 = 4.9 GB"


def test_arithmetic_footprint_keeps_pruned_zeros(parts, model):
    # Pruning 30% with the unstructured default leaves 8B ÷ 2 stored: 8 GB at 16 bits, not 5.6 GB.
    shown = readouts_by_id(parts.readouts)
    assert shown["arithmetic-footprint"] == "(8B ÷ 2.0) × 16 bits ÷ 8 = 8 GB"
    assert shown["arithmetic-effective"] == "8B × (1 − 0.30) ÷ 2.0 = 2.80 billion"
    assert "still take space in a dense runtime" in parts.readouts


def test_arithmetic_has_no_python_callbacks(parts):
    assert_custom_js_only(parts.root)


def test_arithmetic_controls(parts, model):
    controls = {c.name: c for c in parts.root.select({"type": (Slider, Select, CategoricalSlider)})}
    assert set(controls) == {"arithmetic-params", "arithmetic-precision", "arithmetic-prune", "arithmetic-distil"}
    offered = [value for options in controls["arithmetic-precision"].options.values() for value, _ in options]
    assert sorted(offered) == sorted(model.precisions)
    assert controls["arithmetic-params"].categories == list(PARAMS)
    for name, default in DEFAULTS.items():
        assert controls[f"arithmetic-{name}"].value == default


# --- in the browser ----------------------------------------------------------------


def positions(model) -> list[tuple[str, object]]:
    """Return every (control, value) the browser test visits: all choices and both ends of each slider."""
    table = [("params", label) for label in reversed(PARAMS)]
    table += [("precision", name) for name in model.precisions]
    table += [("prune", p) for p in (0.0, 0.01, 0.3, 0.48, 0.5, 0.78, 0.95)]
    table += [("distil", k) for k in (1.0, 1.1, 2.0, 4.5, 10.0)]
    return table


@pytest.mark.browser
def test_arithmetic_examples_follow_every_control(essay_page, model):
    for control, value in positions(model):
        state = {**DEFAULTS, control: value}
        # Put the other controls back to their defaults before moving this one.
        for other, default in DEFAULTS.items():
            if other != control:
                set_control(essay_page, f"arithmetic-{other}", default)
        set_control(essay_page, f"arithmetic-{control}", value)

        shown = readout_texts(essay_page, NAME)
        assert_readable(shown)
        for key, text in expected_readouts(model, **state).items():
            assert shown[key] == text, f"{key} with {control} = {value}"


@pytest.mark.browser
def test_arithmetic_prune_slider_by_keyboard(essay_page, model):
    handle = slider_handle(essay_page, NAME, "Fraction pruned p")
    handle.focus()
    for key, prune in (("Home", 0.0), ("ArrowRight", 0.01), ("End", 0.95), ("ArrowLeft", 0.94)):
        essay_page.keyboard.press(key)
        settle(essay_page)
        shown = readout_texts(essay_page, NAME)
        expected = expected_readouts(model, "8B", "FP16", prune, 2.0)
        assert shown["arithmetic-effective"] == expected["arithmetic-effective"], f"after {key}"
        assert shown["arithmetic-quality"] == expected["arithmetic-quality"], f"after {key}"


FORMAT_CASES = [
    ("format_number", [value, decimals])
    for value in (0.0, 0.125, 0.5, 1.005, 2.5, 12.345, 999.95, 1234567.891, -0.0001, -2.5)
    for decimals in (0, 1, 2, 3)
]
FORMAT_CASES += [
    ("format_gb", [value]) for value in (0.0005, 0.25, 0.9995, 1.0, 4.0, 9.995, 16.06, 99.95, 100.0, 810.0)
]
FORMAT_CASES += [
    ("format_size", [value]) for value in (0.0005, 0.25, 0.9995, 1.0, 4.0, 4.899, 9.995, 16.0, 16.06, 810.0)
]
FORMAT_CASES += [
    ("format_params", [value]) for value in (999_999.0, 1e6, 5e8, 2.8e9, 4.015e9, 8.03e9, 99.95e9, 405e9, 1.2e12)
]
FORMAT_CASES += [("format_percent", [value, decimals]) for value in (0.0, 0.3, 0.555, 0.0049, 1.0) for decimals in (0, 1)]
FORMAT_CASES += [("format_quality", [value]) for value in (0.0, 0.05, 82.55, 99.95, 100.0)]

PYTHON_FORMATTERS = {
    "format_number": format_number,
    "format_gb": format_gb,
    "format_size": format_size,
    "format_params": format_params,
    "format_percent": format_percent,
    "format_quality": format_quality,
}


@pytest.mark.browser
def test_readout_formatters_match_python(essay_page):
    expected = [PYTHON_FORMATTERS[name](*args) for name, args in FORMAT_CASES]
    actual = run_formatters(essay_page, READOUT_JS, FORMAT_CASES)
    mismatches = [(case, a, e) for case, a, e in zip(FORMAT_CASES, actual, expected) if a != e]
    assert mismatches == []


@pytest.mark.browser
def test_readout_formatters_hide_non_finite(essay_page):
    calls = [(name, [value]) for name in PYTHON_FORMATTERS for value in (math.inf, -math.inf)]
    # JSON has no NaN, so the page makes its own.
    actual = run_formatters(essay_page, READOUT_JS, calls)
    nan_actual = essay_page.evaluate(
        "(prelude) => new Function(prelude + '; return [format_number(NaN), format_gb(NaN), format_size(NaN)];')()",
        READOUT_JS,
    )
    assert set(actual) == {"\u2014"}
    assert set(nan_actual) == {"\u2014"}


@pytest.mark.browser
def test_arithmetic_screenshots(essay_page, desktop_context, site_url, artifacts):
    set_control(essay_page, "arithmetic-precision", "Q4_K_M")
    screenshot_figure(essay_page, NAME, artifacts / "arithmetic-1280.png")
    with narrow_page(desktop_context, site_url) as page:
        assert horizontal_overflow(page, NAME) <= 0
        overflowing = page.evaluate(
            "() => Array.from(document.querySelectorAll('.arith-equation math'))"
            ".filter((m) => m.scrollWidth > m.clientWidth + 1).length"
        )
        assert overflowing == 0
        screenshot_figure(page, NAME, artifacts / "arithmetic-390.png")


@pytest.mark.browser
def test_arithmetic_fragment_round_trip(essay_page, desktop_context, site_url, model):
    set_control(essay_page, "arithmetic-precision", "INT4")
    assert current_fragment(essay_page) == "#arithmetic:n=8B&format=INT4&p=0.30&k=2.0"
    with page_at_fragment(desktop_context, site_url, "#arithmetic:n=70B&format=Q4_K_M&p=0.55&k=3.5") as page:
        assert fragment_verdict(page, NAME) == "restored"
        shown = readout_texts(page, NAME)
        for key, text in expected_readouts(model, "70B", "Q4_K_M", 0.55, 3.5).items():
            assert shown[key] == text


@pytest.mark.browser
@pytest.mark.parametrize(
    "junk", ["n=9B", "format=INT5", "p=0.96", "p=0.305", "k=0.5", "k=11", "n=__proto__", "format=constructor"]
)
def test_arithmetic_junk_fragment_is_ignored(desktop_context, site_url, model, junk):
    with page_at_fragment(desktop_context, site_url, f"#arithmetic:{junk}") as page:
        assert fragment_verdict(page, NAME) == "ignored"
        shown = readout_texts(page, NAME)
        for key, text in expected_readouts(model, **DEFAULTS).items():
            assert shown[key] == text
