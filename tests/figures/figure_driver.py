"""Helpers for the tests of the quantisation, arithmetic, two-routes and low-rank figures.

They build a figure in Python, and in the browser set a control by its Bokeh
``name``, let its CustomJS run, and read back readouts, data sources and other
models. Shared browser plumbing (screenshots, phone pages, readout checks)
comes from :mod:`bokeh_widgets`.
"""

from __future__ import annotations

from contextlib import contextmanager

import re

import html5lib
from bokeh.models import CustomJS
from bokeh.model import Model

from bokeh_widgets import FIND_MODEL_JS, FRAGMENT_WRITTEN_JS, PHONE, python_callbacks
from browser import PageWatcher, wait_for_figures
from essaygen.figures import FigureParts, load_registry

XHTML = "{http://www.w3.org/1999/xhtml}"


def build_figure(model, name: str) -> FigureParts:
    """Run the registered figure function NAME on ``model``."""
    return load_registry()[name].build(model)


def assert_custom_js_only(root: Model) -> None:
    """Assert that no model under ``root`` has a Python callback and every JS callback is CustomJS."""
    assert python_callbacks(root) == []
    for model in root.references():
        for prop, callbacks in model.js_property_callbacks.items():
            for callback in callbacks:
                assert isinstance(callback, CustomJS), f"{model} {prop}: {type(callback).__name__}"


def readouts_by_id(fragment: str) -> dict[str, str]:
    """Return the text of every element with an id in an HTML fragment."""
    document = html5lib.parse(f"<div>{fragment}</div>")
    return {
        element.get("id"): "".join(element.itertext())
        for element in document.iter()
        if element.get("id")
    }


# A negative number as the formatters print it: a minus sign directly before a digit.
# "1 − 0.30", a subtraction in a worked example, has a space after its sign.
BAD_TEXT = re.compile(r"NaN|Infinity|undefined|null|[-\u2212]\d")


def assert_readable(values: dict[str, str]) -> None:
    """Assert that every readout is present and shows no NaN, Infinity, undefined or negative number."""
    for key, text in values.items():
        assert text, f"readout {key} is missing or empty"
        assert not BAD_TEXT.search(text), f"readout {key} shows {text!r}"


def set_control(page, name: str, value) -> None:
    """Set the value of the Bokeh model NAME and wait until its callbacks have run.

    CustomJS callbacks run in a promise chain started by the change, so one
    macrotask later they are done.
    """
    found = page.evaluate(
        f"""([name, value]) => {{
          const model = ({FIND_MODEL_JS})(name);
          if (model === null) return false;
          model.value = value;
          return true;
        }}""",
        [name, value],
    )
    assert found, f"no Bokeh model named {name!r} on the page"
    settle(page)


def settle(page) -> None:
    """Wait for pending callbacks, then for two animation frames so that plots have redrawn."""
    page.evaluate(
        """() => new Promise((resolve) => setTimeout(() =>
             requestAnimationFrame(() => requestAnimationFrame(resolve)), 0))"""
    )


def model_value(page, name: str, expression: str):
    """Evaluate ``expression`` with ``model`` bound to the Bokeh model NAME (``model.glyph.y``)."""
    return page.evaluate(
        f"""([name, expression]) => {{
          const model = ({FIND_MODEL_JS})(name);
          if (model === null) throw new Error("no Bokeh model named " + name);
          return new Function("model", "return " + expression)(model);
        }}""",
        [name, expression],
    )


def columns(page, name: str) -> dict[str, list]:
    """Return the columns of the ColumnDataSource NAME as plain lists."""
    return model_value(
        page,
        name,
        "Object.fromEntries(Object.entries(model.data).map(([key, column]) => [key, Array.from(column)]))",
    )


def readout_texts(page, figure_name: str) -> dict[str, str]:
    """Return the text of every element with an id inside the figure's readout region."""
    return page.evaluate(
        """(name) => Object.fromEntries(
             Array.from(document.querySelectorAll("#" + name + "-readouts [id]"))
               .map((element) => [element.id, element.textContent]))""",
        figure_name,
    )


def slider_value_text(page, figure_name: str, title: str) -> str:
    """Return the value text that the slider titled ``title`` shows after its title."""
    title_element = page.locator(f"#figure-{figure_name} .bk-slider-title").filter(has_text=f"{title}:")
    return title_element.locator(".bk-slider-value").text_content()


def slider_handle(page, figure_name: str, title: str):
    """Return the Playwright locator of the handle of the slider titled ``title`` in a figure."""
    return page.locator(f'#figure-{figure_name} .noUi-handle[aria-label="{title}"]')


def run_formatters(page, prelude: str, calls: list[tuple[str, list]]) -> list[str]:
    """Run JavaScript formatters from ``prelude`` in the page on each (function name, arguments) call."""
    return page.evaluate(
        """([prelude, calls]) => {
             const names = [...new Set(calls.map(([name]) => name))];
             const table = new Function(prelude + "; return {" + names.join(", ") + "};")();
             return calls.map(([name, args]) => table[name](...args));
           }""",
        [prelude, calls],
    )


@contextmanager
def narrow_page(context, site_url: str, viewport: dict = PHONE):
    """Yield the essay in a new page of ``context`` at phone size, every figure rendered.

    Playwright's sync API runs one browser per test session here, so a phone-sized
    page is a page of the desktop context with its own viewport.
    """
    page = context.new_page()
    page.set_viewport_size(viewport)
    watcher = PageWatcher(page, allowed_origin=site_url.split("/essay/")[0])
    page.goto(site_url)
    wait_for_figures(page)
    try:
        yield page
    finally:
        page.close()
    watcher.assert_clean()


@contextmanager
def page_at_fragment(context, site_url: str, fragment_text: str):
    """Yield the essay opened at ``fragment_text`` once every figure has rendered and read it."""
    page = context.new_page()
    watcher = PageWatcher(page, allowed_origin=site_url.split("/essay/")[0])
    page.goto(site_url + fragment_text)
    wait_for_figures(page)
    try:
        yield page
    finally:
        page.close()
    watcher.assert_clean()


def fragment_verdict(page, figure_name: str) -> str:
    """Wait until the figure has read the fragment and return its verdict: restored, ignored or none."""
    page.wait_for_function(
        "(name) => document.getElementById('figure-' + name)?.dataset.fragment !== undefined", arg=figure_name
    )
    settle(page)
    return page.evaluate("(name) => document.getElementById('figure-' + name).dataset.fragment", figure_name)


def current_fragment(page) -> str:
    """Return the decoded fragment once no deferred fragment write is pending."""
    page.wait_for_function(FRAGMENT_WRITTEN_JS)
    return page.evaluate("() => decodeURIComponent(window.location.hash)")
