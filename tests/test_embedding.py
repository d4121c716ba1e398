"""Stage 3: serialising Bokeh figures with pinned ids and the bundles they need."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bokeh.embed import json_item
from bokeh.layouts import column
from bokeh.models import CustomJS, DataTable, Div, Slider, TableColumn
from bokeh.plotting import figure as bokeh_figure

from essaygen.content import Directive
from essaygen.embedding import pin_ids, placed_figures, required_bundles, serialise_item
from essaygen.errors import BuildError, BuildErrors


def make_layout(label: str = "x"):
    plot = bokeh_figure(height=200, toolbar_location=None)
    plot.line([1, 2, 3], [3, 1, 2])
    slider = Slider(start=0, end=1, value=0.5, step=0.1, title=label)
    slider.js_on_change("value", CustomJS(args=dict(plot=plot), code="plot.title.text = String(cb_obj.value)"))
    return column(plot, slider)


def test_pinned_ids_do_not_depend_on_earlier_models():
    first = serialise_item(pin_ids(json_item(make_layout()), "demo"))
    for _ in range(3):
        make_layout("other")  # advances Bokeh's id counter
    second = serialise_item(pin_ids(json_item(make_layout()), "demo"))

    assert first == second
    assert '"id":"p' not in first


def test_pinned_ids_keep_references_consistent():
    item = pin_ids(json_item(make_layout()), "demo")
    text = json.dumps(item)
    defined = set()
    referenced = set()

    def walk(node):
        if isinstance(node, dict):
            if "id" in node:
                (defined if "type" in node else referenced).add(node["id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(item)
    assert item["root_id"] in defined
    assert referenced <= defined, referenced - defined
    assert "demo-1" in text


def test_serialised_item_cannot_close_its_script_element():
    item = json_item(column(Div(text="</script><script>alert(1)</script><!--")))

    text = serialise_item(item)

    assert "</" not in text
    assert "<!--" not in text
    assert json.loads(text)["doc"]["roots"][0]["attributes"]["children"][0]["attributes"]["text"].startswith("</script>")


def test_bundles_follow_the_models_used():
    plot = bokeh_figure(height=200)
    plot.line([1, 2], [1, 2])
    assert required_bundles(plot) == {"bokeh"}
    assert required_bundles(column(plot, Slider(start=0, end=1, value=0, step=1))) == {"bokeh", "bokeh-widgets"}
    table = DataTable(columns=[TableColumn(field="a")])
    assert "bokeh-tables" in required_bundles(table)
    webgl = bokeh_figure(output_backend="webgl")
    assert "bokeh-gl" in required_bundles(webgl)


class _Section:
    def __init__(self, *directives):
        self.figures = directives


def test_unknown_and_duplicate_figures_are_collected():
    path = Path("content/01-a.md")
    sections = [
        _Section(Directive("known", path, 3), Directive("missing", path, 5)),
        _Section(Directive("known", path, 9)),
    ]

    with pytest.raises(BuildErrors) as raised:
        placed_figures(sections, {"known": object()})

    messages = [str(error) for error in raised.value.errors]
    assert messages[0] == "content/01-a.md:5: unknown figure 'missing'\n  hint: known figures: known"
    assert messages[1].startswith("content/01-a.md:9: figure 'known' is placed twice; it was first placed at content/01-a.md:3")


def test_single_error_is_raised_as_itself():
    with pytest.raises(BuildError) as raised:
        placed_figures([_Section(Directive("missing", Path("a.md"), 1))], {})
    assert not isinstance(raised.value, BuildErrors)
