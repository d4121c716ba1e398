"""Drive the essay's Bokeh figures from Playwright: controls, data sources, readouts and screenshots.

Controls and data sources are found by their Bokeh ``name`` in any of the
page's Bokeh documents. A CustomJS callback runs asynchronously after a value
changes. The figures tested with these helpers record the URL fragment as the
last step of their update and write it shortly after the last change, so a
test waits for the expected fragment before it reads readouts or data.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from bokeh.model import Model

from browser import PageWatcher, chromium_context, wait_for_figures

FIND_MODEL_JS = """
(name) => {
  for (const doc of Bokeh.documents) {
    const model = doc.get_model_by_name(name);
    if (model) return model;
  }
  return null;
}
"""

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def set_value(page, name: str, value) -> bool:
    """Set the ``value`` of the Bokeh model called ``name``; return whether it changed."""
    result = page.evaluate(
        f"""([name, value]) => {{
          const model = ({FIND_MODEL_JS})(name);
          if (model === null) return "missing";
          if (model.value === value) return "same";
          model.value = value;
          return "changed";
        }}""",
        [name, value],
    )
    assert result != "missing", f"no Bokeh model named {name!r} on the page"
    return result == "changed"


def get_property(page, name: str, attribute: str):
    """Return one property of the Bokeh model called ``name``."""
    return page.evaluate(
        f"([name, attribute]) => {{ const m = ({FIND_MODEL_JS})(name); return m === null ? undefined : m[attribute]; }}",
        [name, attribute],
    )


def source_data(page, name: str) -> dict[str, list]:
    """Return the columns of the ColumnDataSource called ``name`` as plain lists."""
    return page.evaluate(
        f"""(name) => {{
          const source = ({FIND_MODEL_JS})(name);
          const data = {{}};
          const entries = source.data instanceof Map ? source.data.entries() : Object.entries(source.data);
          for (const [key, column] of entries) data[key] = Array.from(column);
          return data;
        }}""",
        name,
    )


def fragment(figure_name: str, state: dict[str, str]) -> str:
    """Return the fragment a figure writes for ``state``, as URLSearchParams would encode it."""
    return f"#{figure_name}:{urlencode(state)}"


# True once the figures' deferred fragment writer (essaygen/figures/_fragment.py)
# has no URL left to write, or has never been used on the page.
FRAGMENT_WRITTEN_JS = "() => window.essay_fragment_writer === undefined || window.essay_fragment_writer.url === null"


def wait_for_fragment(page, expected: str) -> None:
    """Wait until the page's fragment is ``expected``, the sign that the figure's update has run."""
    page.wait_for_function("(expected) => window.location.hash === expected", arg=expected)


def texts(page, ids) -> dict[str, str]:
    """Return the text content of each element id."""
    return page.evaluate(
        "(ids) => Object.fromEntries(ids.map((id) => [id, document.getElementById(id)?.textContent ?? null]))",
        list(ids),
    )


BAD_NUMBER = re.compile(r"NaN|Infinity|undefined|(?<![\w.])[-\u2212]\s?\d")


def assert_readable(values: dict[str, str]) -> None:
    """Assert that no readout shows NaN, Infinity, undefined or a negative number."""
    for key, text in values.items():
        assert text is not None, f"readout {key} is missing from the page"
        assert not BAD_NUMBER.search(text), f"readout {key} shows {text!r}"


def assert_close(actual, expected, rel: float = 1e-6, label: str = "value") -> None:
    """Assert two numbers or sequences agree to ``rel`` (float32 data agrees to about 1e-7)."""
    if isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{label}: {len(actual)} values, expected {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rel, f"{label}[{index}]")
        return
    assert math.isfinite(actual), f"{label} is {actual!r}"
    assert actual == pytest.approx(expected, rel=rel, abs=1e-9), f"{label}: {actual!r}, expected {expected!r}"


def python_callbacks(root: Model) -> list[str]:
    """Return a description of every Python callback attached to a model under ``root``."""
    found = []
    for model in root.references():
        if model._callbacks:
            found.append(f"{type(model).__name__} {model.name!r}: on_change {sorted(model._callbacks)}")
        if model._event_callbacks:
            found.append(f"{type(model).__name__} {model.name!r}: on_event {sorted(model._event_callbacks)}")
    return found


def open_essay(context, site_url: str, fragment_text: str = ""):
    """Open the essay (optionally at a fragment) in a fresh page and wait for every figure."""
    page = context.new_page()
    watcher = PageWatcher(page, allowed_origin=site_url.split("/essay/")[0])
    page.goto(site_url + fragment_text)
    wait_for_figures(page)
    return page, watcher


def wait_for_restore(page, figure_name: str) -> str:
    """Wait until the figure has read the fragment on load and return its verdict (restored, ignored, none)."""
    page.wait_for_function(
        "(name) => document.getElementById('figure-' + name)?.dataset.fragment !== undefined", arg=figure_name
    )
    return page.evaluate("(name) => document.getElementById('figure-' + name).dataset.fragment", figure_name)


HIDE_FIXED_JS = """
(hide) => {
  for (const element of document.querySelectorAll("body *")) {
    if (hide) {
      const position = getComputedStyle(element).position;
      if (position === "fixed" || position === "sticky") {
        element.dataset.hiddenForShot = element.style.visibility;
        element.style.visibility = "hidden";
      }
    } else if (element.dataset.hiddenForShot !== undefined) {
      element.style.visibility = element.dataset.hiddenForShot;
      delete element.dataset.hiddenForShot;
    }
  }
}
"""


def screenshot_figure(page, figure_name: str, path: Path) -> None:
    """Save a screenshot of one figure, with sticky page chrome (header, buttons) hidden."""
    page.locator(f"#figure-{figure_name}").scroll_into_view_if_needed()
    page.evaluate(HIDE_FIXED_JS, True)
    try:
        page.locator(f"#figure-{figure_name}").screenshot(path=str(path))
    finally:
        page.evaluate(HIDE_FIXED_JS, False)


def horizontal_overflow(page, figure_name: str) -> int:
    """Return how many pixels the figure or the page is wider than the viewport."""
    return page.evaluate(
        """(name) => {
          const figure = document.getElementById('figure-' + name);
          const page = document.documentElement.scrollWidth - window.innerWidth;
          return Math.max(page, Math.ceil(figure.getBoundingClientRect().right - window.innerWidth));
        }""",
        figure_name,
    )


@contextmanager
def phone_page(site_url: str, **options):
    """Yield the essay opened at phone width (390 × 844) with every figure rendered."""
    with chromium_context(viewport=PHONE, **options) as context:
        page, watcher = open_essay(context, site_url)
        yield page
        page.close()
        watcher.assert_clean()


POINT_POSITION_JS = """
([name, i]) => {
  for (const view of Bokeh.index.all_views()) {
    if (!view.frame || !view.model.renderers) continue;
    for (const renderer of view.model.renderers) {
      const source = renderer.data_source;
      if (!source || source.name !== name) continue;
      const x = source.data[renderer.glyph.x.field][i];
      const y = source.data[renderer.glyph.y.field][i];
      const box = view.canvas_view.el.getBoundingClientRect();
      return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
    }
  }
  return null;
}
"""


def point_position(page, source_name: str, index: int) -> tuple[float, float]:
    """Return the viewport position of row ``index`` of a plotted data source, found by its Bokeh name.

    Scroll the plot clear of the sticky header first: the position is only valid until the page scrolls.
    """
    position = page.evaluate(POINT_POSITION_JS, [source_name, index])
    assert position is not None, f"no plotted renderer uses the data source {source_name!r}"
    return position[0], position[1]


def wait_for_text(page, element_id: str, expected: str, timeout_ms: int = 5_000) -> None:
    """Wait until an element's text equals ``expected``; on timeout, fail with the text it has."""
    try:
        page.wait_for_function(
            "([id, text]) => document.getElementById(id)?.textContent === text", arg=[element_id, expected], timeout=timeout_ms
        )
    except Exception:
        actual = page.evaluate("(id) => document.getElementById(id)?.textContent ?? null", element_id)
        pytest.fail(f"#{element_id} reads {actual!r}, expected {expected!r}")
