"""The composer: every control against numpy, the verdict, the shared link and its fragment."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.models import Button, Select, Slider

from browser import chromium_context, wait_for_figures
from bokeh_widgets import (
    DESKTOP,
    assert_close,
    assert_readable,
    get_property,
    horizontal_overflow,
    open_essay,
    phone_page,
    python_callbacks,
    screenshot_figure,
    set_value,
    source_data,
    texts,
    wait_for_fragment,
    wait_for_restore,
)
from essaygen.figures._format import FORMAT_JS
from essaygen.figures._precision import PERPLEXITY_GROUP, RULE_OF_THUMB_GROUP
from essaygen.figures.arithmetic import arithmetic
from essaygen.figures.composer import (
    BUDGETS_GIB,
    CUSTOM,
    DEFAULT_STATE,
    DOUBLE_COUNT_NOTE,
    GB_PER_GIB,
    STORAGE_NOTE,
    PARAMS_GRID_B,
    VERDICT_JS,
    compose,
    composer,
    method_slug,
    model_slug,
    nearest_index,
    quality_trend,
    readout_texts,
    verdict,
)

NAME = "composer"


@pytest.fixture(scope="module")
def parts(model):
    return composer(model)


def state(**changes) -> dict:
    return {**DEFAULT_STATE, **changes}


# --- builder ---------------------------------------------------------------


def test_composer_has_no_python_callbacks(parts):
    assert python_callbacks(parts.root) == []


def test_controls_are_named_for_the_figure(parts):
    names = sorted(m.name for m in parts.root.references() if isinstance(m, (Slider, Select, Button)))
    expected = ["bits", "copy", "k", "method", "model", "p", "params", "rank"]
    assert names == [f"{NAME}-{key}" for key in expected]


def named(root, name):
    return next(m for m in root.references() if getattr(m, "name", "") == name)


def test_every_precision_is_offered(parts, model):
    bits = named(parts.root, f"{NAME}-bits")
    offered = [value for options in bits.options.values() for value, _label in options]
    assert sorted(offered) == sorted(model.precisions)


def test_precisions_grouped_by_evidence(parts, model):
    groups = {group: [value for value, _label in options] for group, options in named(parts.root, f"{NAME}-bits").options.items()}
    assert list(groups) == [RULE_OF_THUMB_GROUP, PERPLEXITY_GROUP]
    assert groups[RULE_OF_THUMB_GROUP] == ["FP32", "BF16", "FP16", "FP8", "INT8", "INT4", "INT3", "INT2"]
    assert groups[PERPLEXITY_GROUP] == ["INT4-g128", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K"]


def test_precision_labels_match_arithmetic(parts, model):
    composer_options = named(parts.root, f"{NAME}-bits").options
    arithmetic_options = named(arithmetic(model).root, "arithmetic-precision").options
    assert composer_options == arithmetic_options
    labels = dict(option for options in composer_options.values() for option in options)
    assert labels["Q4_K_M"] == "Q4_K_M (4.90 bits)"
    assert labels["INT4-g128"] == "INT4, group 128 (4.13 bits)"
    assert labels["INT4"] == "INT4 (4 bits)"


def test_compose_default_is_llama_at_16_bits(model):
    result = compose(model, DEFAULT_STATE)
    real = model.real_model("Llama-3.1-8B")
    assert result.gb == pytest.approx(real.params * 16 / 8 / 1e9)
    assert result.quality == pytest.approx(100.0)
    assert result.effective_params == pytest.approx(real.params)


def test_compose_multiplies_each_factor(model):
    chosen = state(bits="INT4", p=0.5, method="magnitude", k=2.0, rank=0.5)
    result = compose(model, chosen)
    product = model.q_bits("INT4") * model.q_prune(0.5, "magnitude") * model.q_distil(2.0) * model.q_rank(0.5)
    assert result.quality == pytest.approx(100.0 * product)
    assert result.steps[-1] == pytest.approx(result.steps[-2])
    # Magnitude pruning is unstructured: the zeros stay in the stored file, so only k and the rank shrink it.
    assert result.gb == pytest.approx(model.weight_gb(model.effective_params(result.params, 0.0, 2.0, 0.5), "INT4"))
    assert result.effective_params == pytest.approx(model.effective_params(result.params, 0.5, 2.0, 0.5))


@pytest.mark.parametrize(("method", "shrinks"), [("magnitude", False), ("one_shot", False), ("structured", True)])
def test_compose_stores_per_method(model, method, shrinks):
    result = compose(model, state(p=0.5, method=method))
    dense = model.weight_gb(result.params, "BF16")
    assert result.gb == pytest.approx(dense / 2 if shrinks else dense)
    assert result.effective_params == pytest.approx(result.params / 2)
    assert (STORAGE_NOTE in result.notes) is (not shrinks)


def test_compose_warns_of_double_counting(model):
    assert DOUBLE_COUNT_NOTE in compose(model, state(p=0.3, method="structured", k=2.0)).notes
    assert DOUBLE_COUNT_NOTE not in compose(model, state(p=0.3, method="structured", k=1.0)).notes
    assert DOUBLE_COUNT_NOTE not in compose(model, state(p=0.0, method="structured", k=2.0)).notes
    assert compose(model, DEFAULT_STATE).notes == ()


def test_budgets_are_gib(parts):
    assert BUDGETS_GIB == (8, 12, 16, 24, 32, 48, 80)
    spans = sorted(m.location for m in parts.root.references() if type(m).__name__ == "Span")
    assert spans == pytest.approx([b * 2**30 / 1e9 for b in BUDGETS_GIB])


def test_quality_trend_stays_between_chance_and_perfect(model):
    q0 = quality_trend(model, np.array([1e6, 1e9, 1e12, 1e15]))
    assert np.all(q0 >= 100 * 25 / model.reference_mmlu - 1e-9)
    assert np.all(q0 <= 100 * 100 / model.reference_mmlu + 1e-9)
    assert np.all(np.diff(q0) >= 0)


@pytest.mark.parametrize(
    ("gb", "expected"),
    [
        (4.0, "The weights fit every budget here: 8, 12, 16, 24, 32, 48 and 80 GiB."),
        # 7.5 GB is 6.98 GiB, more than 80% of 8 GiB.
        (7.5, "The weights fit every budget here: 8, 12, 16, 24, 32, 48 and 80 GiB. In 8 GiB they leave little room."),
        # 16.06 GB (Llama-3.1-8B at 16 bits) is 14.96 GiB: it fits a 16 GiB card, tightly.
        (16.06, "The weights fit in 16, 24, 32, 48 and 80 GiB, but not in 8 or 12 GiB. In 16 GiB they leave little room."),
        (17.5, "The weights fit in 24, 32, 48 and 80 GiB, but not in 8, 12 or 16 GiB."),
        (80.0, "The weights fit in 80 GiB, but not in 8, 12, 16, 24, 32 or 48 GiB. In 80 GiB they leave little room."),
        (86.0, "The weights fit none of these budgets: they alone would fill 2 accelerators with 80 GiB each."),
        (141.1, "The weights fit none of these budgets: they alone would fill 2 accelerators with 80 GiB each."),
    ],
)
def test_verdict_names_the_budgets(gb, expected):
    assert verdict(gb) == expected + " This counts weights only: the KV cache and activations need room on top."


def test_readouts_at_default_match_model(parts, model):
    real = model.real_model("Llama-3.1-8B")
    assert f'id="{NAME}-gb">{real.params * 16 / 8 / 1e9:.1f} GB<' in parts.readouts
    assert f'id="{NAME}-quality">100.0<' in parts.readouts
    assert f'id="{NAME}-effective">{real.params / 1e9:.2f} billion<' in parts.readouts
    assert "but not in 8 or 12 GiB" in parts.readouts
    assert "KV cache and activations need room on top" in parts.readouts
    assert f'id="{NAME}-notes"></p>' in parts.readouts


def test_caveat_says_estimates_not_benchmark(parts):
    assert "not a benchmark" in parts.html


def test_lookup_tables_ship_as_float64_arrays(parts):
    update = next(m for m in parts.root.references() if type(m).__name__ == "CustomJS" and "tables" in m.args and "footprint" in m.args)
    tables = update.args["tables"]
    for key in ("prune_grid", "distil_grid", "distil", "rank_grid", "rank", "rank_param_fraction"):
        assert tables[key].dtype == np.float64, key


def test_item_json_stays_small(parts):
    size = len(str(json_item(parts.root)))
    assert size < 90_000, f"composer JSON is {size:,} characters"


# --- browser ---------------------------------------------------------------

CONTROL_ORDER = ("model", "params", "bits", "p", "method", "k", "rank")


def expected_fragment(chosen: dict) -> str:
    """Return the fragment the composer writes for ``chosen``, in its key order."""
    pairs = {"model": chosen["model"]}
    if chosen["model"] == CUSTOM:
        pairs["params"] = f"{chosen['params']:g}"
    pairs.update(
        bits=chosen["bits"],
        p=f"{chosen['p']:.2f}",
        method=method_slug(chosen["method"]),
        k=f"{chosen['k']:.1f}",
        rank=f"{chosen['rank']:.2f}",
    )
    return f"#{NAME}:{urlencode(pairs)}"


def apply(page, chosen: dict) -> None:
    """Set every control to ``chosen`` and wait for the composer's update."""
    changed = False
    for key in CONTROL_ORDER:
        if key == "params" and chosen["model"] != CUSTOM:
            continue  # the composer sets the disabled size slider itself
        value = PARAMS_GRID_B.index(chosen[key]) if key == "params" else chosen[key]
        changed = set_value(page, f"{NAME}-{key}", value) or changed
    if changed:
        wait_for_fragment(page, expected_fragment(chosen))


def check(page, model, chosen: dict) -> None:
    """Assert every readout and plotted value equals numpy for ``chosen``."""
    result = compose(model, chosen)
    expected = readout_texts(result)
    shown = texts(page, expected)
    assert_readable(shown)
    assert shown == expected, f"readouts differ for {chosen}"

    footprint = source_data(page, f"{NAME}-footprint")
    assert_close(footprint["gb"], [result.base_gb, result.gb], label="footprint bars")
    composed = source_data(page, f"{NAME}-composed")
    assert_close(composed["gb"], [result.gb], label="composed size")
    assert_close(composed["quality"], [result.quality], label="composed quality")
    assert_close(composed["base_gb"], [result.base_gb], label="base size")
    assert_close(composed["q0"], [result.q0], label="base quality")
    waterfall = source_data(page, f"{NAME}-waterfall")
    steps = result.steps
    assert_close(waterfall["left"], [0.0, steps[1], steps[2], steps[3], steps[4], 0.0], label="waterfall left")
    assert_close(waterfall["right"], [steps[0], steps[0], steps[1], steps[2], steps[3], steps[5]], label="waterfall right")
    for gb in (result.gb, result.base_gb):
        assert math.isfinite(gb)
        assert gb > 0
    if chosen["model"] != CUSTOM:
        nearest = nearest_index(PARAMS_GRID_B, result.params / 1e9)
        page.wait_for_function(
            "([name, index]) => Bokeh.documents.some((d) => d.get_model_by_name(name)?.value === index)",
            arg=[f"{NAME}-params", nearest],
        )


def positions(model) -> list[dict]:
    """Return the table of positions: each control through its range, both ends included, others at default."""
    table = [state(model=model_slug(real.name)) for real in model.real_models]
    table += [state(model=CUSTOM, params=params) for params in (PARAMS_GRID_B[0], PARAMS_GRID_B[1], 8, 70, PARAMS_GRID_B[-1])]
    table += [state(bits=name) for name in model.precisions]
    table += [state(p=p, method=method) for method in model.pruning_methods for p in (0.0, 0.01, 0.3, 0.6, 0.77, 0.95)]
    table += [state(k=k) for k in (1.0, 1.1, 2.0, 5.5, 9.9, 10.0)]
    table += [state(rank=rank) for rank in (0.05, 0.1, 0.45, 0.5, 0.95, 1.0)]
    # Both corners of the whole space: the smallest and the largest footprint.
    table.append(state(model=CUSTOM, params=PARAMS_GRID_B[0], bits="INT2", p=0.95, method="magnitude", k=10.0, rank=0.05))
    table.append(state(model=CUSTOM, params=PARAMS_GRID_B[-1], bits="FP32", p=0.0, k=1.0, rank=1.0))
    table.append(state(model="llama-3.1-70b", bits="INT4", p=0.3, method="structured", k=1.5, rank=0.9))
    table.append(DEFAULT_STATE)
    return table


@pytest.mark.browser
def test_every_control_position_matches_numpy(essay_page, model):
    for chosen in positions(model):
        apply(essay_page, chosen)
        check(essay_page, model, chosen)


@pytest.mark.browser
def test_params_slider_only_for_other_size(essay_page, model):
    apply(essay_page, state(model="qwen2.5-7b"))
    assert get_property(essay_page, f"{NAME}-params", "disabled") is True
    apply(essay_page, state(model=CUSTOM, params=14))
    assert get_property(essay_page, f"{NAME}-params", "disabled") is False


@pytest.mark.browser
def test_params_slider_ignores_keyboard_for_real_model(essay_page, model):
    apply(essay_page, state(model="qwen2.5-7b"))
    nearest = nearest_index(PARAMS_GRID_B, model.real_model("Qwen2.5-7B").params / 1e9)
    handle = essay_page.locator(f"#figure-{NAME} .noUi-handle").nth(0)
    handle.focus()
    handle.press("End")
    assert get_property(essay_page, f"{NAME}-params", "value") == nearest
    assert get_property(essay_page, f"{NAME}-model", "value") == "qwen2.5-7b"


@pytest.mark.browser
def test_precision_menu_shows_two_groups(essay_page):
    groups = essay_page.locator(f"#figure-{NAME} select optgroup")
    labels = [groups.nth(i).get_attribute("label") for i in range(groups.count())]
    assert labels == [RULE_OF_THUMB_GROUP, PERPLEXITY_GROUP]
    options = essay_page.locator(f"#figure-{NAME} select optgroup").nth(1).locator("option")
    assert "Q4_K_M (4.90 bits)" in [options.nth(i).inner_text() for i in range(options.count())]


@pytest.mark.browser
def test_notes_follow_method_and_distillation(essay_page, model):
    for chosen, expected in (
        (state(p=0.4, method="one_shot"), STORAGE_NOTE),
        (state(p=0.4, method="structured", k=2.0), DOUBLE_COUNT_NOTE),
        (state(p=0.4, method="structured", k=1.0), ""),
    ):
        apply(essay_page, chosen)
        assert texts(essay_page, {f"{NAME}-notes": ""})[f"{NAME}-notes"] == expected, chosen


@pytest.mark.browser
def test_pruning_slider_works_by_keyboard(essay_page, model):
    apply(essay_page, state(bits="INT4", p=0.5))
    handle = essay_page.locator(f"#figure-{NAME} .noUi-handle").nth(1)
    handle.focus()
    for key, p in (("Home", 0.0), ("ArrowRight", 0.01), ("End", 0.95), ("ArrowLeft", 0.94)):
        handle.press(key)
        chosen = state(bits="INT4", p=p)
        wait_for_fragment(essay_page, expected_fragment(chosen))
        check(essay_page, model, chosen)


@pytest.mark.browser
def test_formatters_and_verdict_agree_with_python(essay_page):
    from essaygen.figures._format import format_gb, format_number, format_params, format_percent, format_quality

    values = [0.0, 0.0004, 0.125, 0.5, 0.9995, 1.0, 2.675, 9.995, 16.06, 99.95, 141.1, 1234.5, 1620.0, 8.03e9, 4.5e8, -0.001, -2.5]
    script = FORMAT_JS + VERDICT_JS + """
      return values.map((x) => [format_number(x, 2), format_number(x, 0), format_gb(x), format_percent(x),
                                format_params(x), format_quality(x), x >= 0 ? verdict(x) : ""]);
    """
    shown = essay_page.evaluate(
        "([code, values, budgets, gb_per_gib]) => new Function('values', 'budgets', 'gb_per_gib', 'tight_share', code)"
        "(values, budgets, gb_per_gib, 0.8)",
        [script, values + [17.18, 17.19, 85.89, 85.9], list(BUDGETS_GIB), GB_PER_GIB],
    )
    for x, row in zip(values + [17.18, 17.19, 85.89, 85.9], shown):
        expected = [format_number(x, 2), format_number(x, 0), format_gb(x), format_percent(x),
                    format_params(x), format_quality(x), verdict(x) if x >= 0 else ""]
        assert row == expected, f"formatting of {x!r}"


@pytest.mark.browser
def test_fragment_round_trip(desktop_context, site_url, model):
    chosen = state(model=CUSTOM, params=27, bits="Q4_K_M", p=0.35, method="structured", k=2.5, rank=0.85)
    page, watcher = open_essay(desktop_context, site_url)
    apply(page, chosen)
    assert page.url.endswith(expected_fragment(chosen))
    page.reload()
    wait_for_figures(page)
    assert wait_for_restore(page, NAME) == "restored"
    expected_quality = readout_texts(compose(model, chosen))[f"{NAME}-quality"]
    page.wait_for_function(
        "(text) => document.getElementById('composer-quality').textContent === text", arg=expected_quality
    )
    for key in CONTROL_ORDER:
        value = PARAMS_GRID_B.index(chosen[key]) if key == "params" else chosen[key]
        assert get_property(page, f"{NAME}-{key}", "value") == pytest.approx(value), key
    check(page, model, chosen)
    page.close()
    watcher.assert_clean()


JUNK = [
    "#composer:model=gpt-5&bits=INT99&p=1.5&method=lobotomy&k=0&rank=2",
    "#composer:model=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&bits=%3Cb%3E",
    "#composer:model=custom&params=7.5",
    "#composer:p=NaN&k=Infinity&rank=-1e-9",
    "#composer:method=__proto__&bits=constructor&model=toString",
    "#composer:%E0%A4%A&&&==",
    "#composer:" + "k=2.0&" * 100,
    "#composer",
]


@pytest.mark.browser
@pytest.mark.parametrize("junk", JUNK)
def test_junk_fragment_keeps_defaults(desktop_context, site_url, model, junk):
    page, watcher = open_essay(desktop_context, site_url, junk)
    outcome = wait_for_restore(page, NAME)
    assert outcome in ("ignored", "none") or junk == "#composer:model=custom&params=7.5"
    if outcome == "restored":
        # "custom" is valid on its own; the off-grid size is not, so the slider keeps its default.
        page.wait_for_function("() => document.getElementById('composer-q0').textContent !== '100.0'")
        assert get_property(page, f"{NAME}-params", "value") == PARAMS_GRID_B.index(DEFAULT_STATE["params"])
        check(page, model, state(model=CUSTOM))
    else:
        for key in CONTROL_ORDER:
            value = nearest_index(PARAMS_GRID_B, 8.03) if key == "params" else DEFAULT_STATE[key]
            assert get_property(page, f"{NAME}-{key}", "value") == value, key
        check(page, model, DEFAULT_STATE)
    page.close()
    watcher.assert_clean()


@pytest.mark.browser
def test_copy_link_puts_the_configuration_on_the_clipboard(site_url, model):
    chosen = state(model="qwen2.5-14b", bits="INT4", p=0.2)
    with chromium_context(viewport=DESKTOP) as context:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.split("/essay/")[0])
        page, watcher = open_essay(context, site_url)
        apply(page, chosen)
        page.get_by_role("button", name="Copy link", exact=True).click()
        page.wait_for_function("() => document.getElementById('composer-copy-status').textContent.startsWith('Link copied')")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == site_url + expected_fragment(chosen)
        assert page.locator(f"#{NAME}-link").is_hidden()
        page.close()
        watcher.assert_clean()


@pytest.mark.browser
def test_copy_link_without_clipboard_shows_the_link(site_url, model):
    chosen = state(bits="Q5_K_M", k=3.0)
    with chromium_context(viewport=DESKTOP) as context:
        context.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined });")
        page, watcher = open_essay(context, site_url)
        apply(page, chosen)
        page.get_by_role("button", name="Copy link", exact=True).click()
        link = page.locator(f"#{NAME}-link")
        link.wait_for(state="visible")
        assert link.input_value() == site_url + expected_fragment(chosen)
        assert "selected in the box below" in page.locator(f"#{NAME}-copy-status").text_content()
        page.close()
        watcher.assert_clean()


SHOWCASE = state(model="llama-3.1-70b", bits="INT4", p=0.3, method="one_shot", k=1.0, rank=1.0)


BUDGET_LABEL_BOXES_JS = """
(name) => {
  for (const view of Bokeh.index.all_views()) {
    const source = view.model.source;
    if (!source || source.name !== name) continue;
    const plot = view.parent;
    const context = document.createElement("canvas").getContext("2d");
    context.font = `${view.model.text_font_size.value} ${view.model.text_font.value}`;
    const d = source.data;
    const boxes = d.text.map((text, i) => {
      const x = plot.frame.x_scale.compute(d.x[i]) + d.dx[i];
      const width = context.measureText(text).width;
      const left = d.align[i] === "right" ? x - width : x;
      return {text, row: d.offset[i], left, right: left + width};
    });
    return {boxes, width: plot.canvas_view.bbox.width};
  }
  return null;
}
"""


@pytest.mark.browser
@pytest.mark.parametrize("chosen", [DEFAULT_STATE, state(model="llama-3.1-70b")], ids=["8b", "70b"])
def test_budget_labels_apart_at_360(site_url, chosen):
    with chromium_context(viewport={"width": 360, "height": 740}) as context:
        page, watcher = open_essay(context, site_url)
        apply(page, chosen)
        measured = page.evaluate(BUDGET_LABEL_BOXES_JS, f"{NAME}-budget-labels")
        assert measured is not None, "no LabelSet uses the budget-label source"
        for box in measured["boxes"]:
            assert box["left"] >= 0, f"{box['text']!r} starts {box['left']:.1f} px left of the plot"
            assert box["right"] <= measured["width"], f"{box['text']!r} ends past the plot's {measured['width']} px"
        for row in {box["row"] for box in measured["boxes"]}:
            boxes = sorted((box for box in measured["boxes"] if box["row"] == row), key=lambda box: box["left"])
            for before, after in zip(boxes, boxes[1:]):
                assert after["left"] - before["right"] >= 2, f"{before['text']!r} and {after['text']!r} touch"
        page.close()
        watcher.assert_clean()


@pytest.mark.browser
def test_screenshots_desktop_and_phone(desktop_context, site_url, model, artifacts):
    page, watcher = open_essay(desktop_context, site_url, expected_fragment(SHOWCASE))
    assert wait_for_restore(page, NAME) == "restored"
    expected = readout_texts(compose(model, SHOWCASE))[f"{NAME}-quality"]
    page.wait_for_function("(text) => document.getElementById('composer-quality').textContent === text", arg=expected)
    screenshot_figure(page, NAME, artifacts / f"{NAME}-1280.png")
    assert horizontal_overflow(page, NAME) <= 0
    page.close()
    watcher.assert_clean()
    with phone_page(site_url) as phone:
        apply(phone, SHOWCASE)
        screenshot_figure(phone, NAME, artifacts / f"{NAME}-390.png")
        assert horizontal_overflow(phone, NAME) <= 0
