"""Shared look of the essay's Bokeh figures: palette, plot defaults and legends.

Plot backgrounds are transparent so the page colour (light or dark) shows
through; theme/essay.js recolours axes, grids and text when the reader
switches theme. Series colours are chosen to read on both backgrounds.
"""

from __future__ import annotations

from typing import Any

from bokeh.models import ColumnDataSource, GlyphRenderer, Legend, LegendItem
from bokeh.plotting import figure as bokeh_figure

# One colour per technique, used in every figure so a reader learns them once.
TECHNIQUE_COLOURS = {
    "quantisation": "#2f7fc1",
    "pruning": "#d1603d",
    "distillation": "#3a9a6b",
    "low-rank": "#8a62c9",
}
NEUTRAL = "#7d8794"
HIGHLIGHT = "#e0a100"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'


def new_plot(**options: Any):
    """Create a Bokeh figure with the essay's defaults: full width, no toolbar, transparent fill."""
    settings: dict[str, Any] = {
        "sizing_mode": "stretch_width",
        "height": 320,
        "toolbar_location": None,
        "tools": "",
        "background_fill_color": None,
        "border_fill_color": None,
        "outline_line_color": None,
        "min_border_left": 48,
        "min_border_right": 16,
    }
    settings.update(options)
    plot = bokeh_figure(**settings)
    plot.toolbar.logo = None
    for axis in (*plot.xaxis, *plot.yaxis):
        axis.axis_label_text_font = FONT
        axis.axis_label_text_font_style = "normal"
        axis.major_label_text_font = FONT
    plot.title.text_font = FONT
    plot.grid.grid_line_alpha = 0.4
    return plot


def add_top_legend(plot, entries: list[tuple[str, Any]]) -> Legend:
    """Place a one-row legend above the plot, where it never covers data on a phone.

    ``entries`` are (label, renderer) pairs in reading order. Each item draws a
    :func:`legend_stand_in` of its renderer, so that a callback that changes the
    renderer's data does not rebuild the legend.
    """
    legend = Legend(
        items=[LegendItem(label=label, renderers=[legend_stand_in(plot, renderer)]) for label, renderer in entries],
        orientation="horizontal",
        location="top_left",
        background_fill_alpha=0,
        border_line_alpha=0,
        label_text_font_size="13px",
        padding=0,
        margin=4,
        spacing=16,
    )
    plot.add_layout(legend, "above")
    return legend


def legend_stand_in(plot, renderer: GlyphRenderer) -> GlyphRenderer:
    """Add to ``plot`` a hidden copy of ``renderer`` with the first row of its data, for a legend item.

    BokehJS 3.9 rebuilds a legend's DOM and canvases whenever any model that its
    items reference changes, which includes the data source of each item's
    renderer. A CustomJS that assigns that source's ``data`` would pay for the
    rebuild on every change. The copy draws the same legend glyph from a source
    that never changes, and is not drawn in the plot because it is hidden.
    """
    data = {key: list(column[:1]) for key, column in renderer.data_source.data.items()}
    stand_in = GlyphRenderer(
        data_source=ColumnDataSource(data), glyph=renderer.glyph.clone(), visible=False
    )
    plot.renderers.append(stand_in)
    return stand_in
