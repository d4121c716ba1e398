"""Two routes to a smaller model: pruning subtracts, distillation divides.

Both routes start from Llama-3.1-8B (quality index 100). To keep a fraction f
of its parameters, pruning removes p = 1 − f of the weights and keeps
100 × q_prune(p). Distillation trains a student k = 1/f times smaller and keeps
100 × q_distil(k). Both curves are sampled on the pruning slider's grid, so the
target-size control is an index into the plotted columns and the browser only
looks values up. The target and the method are shared through the URL fragment
as ``#two-routes:size=50&method=one-shot``.
"""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import (
    BoxAnnotation,
    ColumnDataSource,
    CustomJS,
    CustomJSTickFormatter,
    FixedTicker,
    Label,
    Select,
    Slider,
    Span,
)

from ..model import DEFAULT_METHOD, PRUNE_GRID
from . import FigureParts, figure
from ._format import format_number, format_params, format_percent, format_quality
from ._fragment import FRAGMENT_JS, restore_on_ready
from ._readouts import READOUT_JS, control_row, readout_list
from ._style import NEUTRAL, TECHNIQUE_COLOURS, add_top_legend, new_plot

NAME = "two-routes"
BASE_MODEL = "Llama-3.1-8B"
BASE_LABEL = "Llama 3.1 8B"
Q0 = 100.0
DEFAULT_KEPT_PERCENT = 50
# The crossover is searched on a grid 100 times finer than the slider's.
CROSSOVER_STEP = 1e-4
# Region labels sit this factor inside the ends of the log axis.
LABEL_OFFSET = 1.04


def route_curves(model, method_keys) -> dict[str, np.ndarray]:
    """Return quality along both routes at each kept fraction f = 1 − p of the pruning grid."""
    kept_fraction = 1.0 - PRUNE_GRID
    curves = {"distil": Q0 * model.q_distil(1.0 / kept_fraction)}
    for key in method_keys:
        curves[key] = Q0 * model.q_prune(PRUNE_GRID, key)
    return curves


def crossover_fraction(model, method: str) -> float | None:
    """Return the pruned fraction beyond which distillation keeps more quality, or None if it never does.

    At p = 0 both routes keep everything, so the search starts one step above it and
    returns the linearly interpolated point where pruning first falls behind.
    """
    p = np.arange(CROSSOVER_STEP, PRUNE_GRID[-1] + CROSSOVER_STEP / 2, CROSSOVER_STEP)
    gap = model.q_prune(p, method) - model.q_distil(1.0 / (1.0 - p))
    behind = np.flatnonzero(gap < 0)
    if behind.size == 0:
        return None
    i = int(behind[0])
    if i == 0:
        return float(p[0])
    return float(p[i - 1] + (p[i] - p[i - 1]) * gap[i - 1] / (gap[i - 1] - gap[i]))


def format_verdict(prune_quality: float, distil_quality: float) -> str:
    """Return a phrase naming the route that keeps more quality and by how many index points."""
    gap = prune_quality - distil_quality
    points = format_number(abs(gap), 1)
    if points == "0.0":
        return "both routes keep the same"
    route = "pruning" if gap > 0 else "distillation"
    return f"{route} keeps {points} points more"


def method_slug(key: str) -> str:
    """Return the fragment spelling of a pruning method key ("one_shot" → "one-shot")."""
    return key.replace("_", "-")


def format_crossover(base_params: float, p: float | None) -> str:
    """Return the sentence giving the size below which distillation keeps more, from the crossover p."""
    if p is None:
        return "Pruning keeps more at every size on this chart."
    return (
        f"Distillation keeps more below about {format_params(base_params * (1 - p))} parameters "
        f"({format_percent(p)} pruned)."
    )


# Look the target up in the plotted columns, move the marker and rewrite the readouts.
UPDATE_JS = READOUT_JS + FRAGMENT_JS + """
const percent = slider.value;
const i = 100 - percent;
const f = percent / 100;
const key = method_select.value;
const prune_q = source.data[key][i];
const distil_q = source.data.distil[i];
const x = N0 * f / 1e9;
marker.data = {x: [x, x], y: [prune_q, distil_q], colour: marker.data.colour};
target_span.location = x;
set_readout(prefix + "target", format_params(N0 * f) + " (" + percent + "% of " + base_label + ")");
set_readout(prefix + "prune", format_quality(prune_q) + " (remove " + format_percent(1 - f) + ")");
set_readout(prefix + "distil",
  format_quality(distil_q) + " (a student " + format_number(1 / f, 1) + "\\u00d7 smaller)");
const gap = prune_q - distil_q;
const points = format_number(Math.abs(gap), 1);
set_readout(prefix + "verdict", points === "0.0" ? "both routes keep the same"
  : (gap > 0 ? "pruning" : "distillation") + " keeps " + points + " points more");
write_fragment(figure_name, {size: String(percent), method: method_slugs[key]});
"""

RESTORE_JS = """
const state = read_fragment(figure_name);
if (state === null) { mark_restored(figure_name, "none"); return; }
const i = grid_index(sizes, state.get("size"));
if (i >= 0) slider.value = sizes[i];
const key = Object.keys(method_slugs).find((k) => method_slugs[k] === state.get("method"));
if (key !== undefined) method_select.value = key;
mark_restored(figure_name, i >= 0 || key !== undefined ? "restored" : "ignored");
"""

# Mirrors place_crossover for the chosen method.
METHOD_JS = """
const key = method_select.value;
prune_line.glyph.y = {field: key};
const visible = crossover_x[key] !== null;
const x = visible ? crossover_x[key] : x_low;
distil_box.right = x;
prune_box.left = x;
cross_span.location = x;
for (const item of [distil_box, prune_box, cross_span, distil_label, prune_label]) item.visible = visible;
document.getElementById(prefix + "crossover").textContent = crossover_text[key];
"""


def routes_plot(source: ColumnDataSource, x_low: float, x_high: float):
    """Return the plot of both routes, its pruning line and the crossover annotations by name.

    The annotations mark where each route is ahead: a tint on either side of the
    crossing, a dashed line at it and a label in each region.
    """
    plot = new_plot(
        height=330, x_axis_type="log", x_range=(x_low, x_high), y_range=(0, 105), min_border_left=44
    )
    prune_colour = TECHNIQUE_COLOURS["pruning"]
    distil_colour = TECHNIQUE_COLOURS["distillation"]
    # Each box leaves its outer edge unset, so that it reaches the edge of the frame.
    annotations = {
        "distil_box": BoxAnnotation(fill_color=distil_colour, fill_alpha=0.07, line_alpha=0),
        "prune_box": BoxAnnotation(fill_color=prune_colour, fill_alpha=0.07, line_alpha=0),
        "cross_span": Span(
            name=f"{NAME}-crossover-line", dimension="height", line_color=NEUTRAL, line_dash="dashed",
            line_width=1,
        ),
        # The labels sit in corners that the curves leave empty.
        "distil_label": Label(
            x=x_low * LABEL_OFFSET, y=96, text="distillation ahead", text_align="left", text_baseline="top",
            text_color=distil_colour, text_font_size="12px",
        ),
        "prune_label": Label(
            x=x_high / LABEL_OFFSET, y=4, text="pruning ahead", text_align="right", text_baseline="bottom",
            text_color=prune_colour, text_font_size="12px",
        ),
    }
    for annotation in annotations.values():
        plot.add_layout(annotation)

    prune_line = plot.line(
        "x", DEFAULT_METHOD, source=source, line_color=prune_colour, line_width=3, name=f"{NAME}-prune-line"
    )
    distil_line = plot.line("x", "distil", source=source, line_color=distil_colour, line_width=3)

    plot.xaxis.ticker = FixedTicker(ticks=[0.5, 1, 2, 4, 8])
    plot.xaxis.formatter = CustomJSTickFormatter(code='return tick + "B";')
    plot.xaxis.axis_label = "effective parameters (log scale)"
    plot.yaxis.axis_label = "quality index"
    plot.yaxis.ticker = FixedTicker(ticks=[0, 25, 50, 75, 100])
    add_top_legend(plot, [("pruning", prune_line), ("distillation", distil_line)])
    return plot, prune_line, annotations


def place_crossover(annotations: dict, x: float | None, x_low: float) -> None:
    """Move the crossover annotations to x (billions of parameters), or hide them if x is None."""
    visible = x is not None
    # Hidden annotations still need a valid position on the log axis.
    x = x if visible else x_low
    annotations["distil_box"].right = x
    annotations["prune_box"].left = x
    annotations["cross_span"].location = x
    for annotation in annotations.values():
        annotation.visible = visible


def readouts_html(base_params: float, percent: int, prune_q: float, distil_q: float, crossover: str) -> str:
    f = percent / 100
    rows = [
        ("target", "Target size", f"{format_params(base_params * f)} ({percent}% of {BASE_LABEL})"),
        ("prune", "Pruning route", f"{format_quality(prune_q)} (remove {format_percent(1 - f)})"),
        (
            "distil",
            "Distillation route",
            f"{format_quality(distil_q)} (a student {format_number(1 / f, 1)}× smaller)",
        ),
        ("verdict", "Difference", format_verdict(prune_q, distil_q)),
    ]
    note = f'<p class="readout-note" id="{NAME}-crossover">{crossover}</p>'
    return readout_list(NAME, rows) + note + CAVEAT_HTML


# β stays as fitted because Llama 3.2 1B is a real data point, so the figure says where the curve errs.
CAVEAT_HTML = (
    '<p class="readout-note two-routes-caveat">The distillation curve is pessimistic for modern students: '
    "it is fitted through Llama 3.2 1B as well as Minitron, and Minitron 4B sits above it. The comparison "
    "also sets a pruned full-size model, which loses knowledge as weights go, against a smaller model "
    "retrained by distillation. Unstructured pruning keeps the full stored size as well.</p>"
)


@figure(
    NAME,
    caption="Pruning and distillation reach the same size by different routes, at different costs in quality.",
    summary=(
        "Quality against effective parameters for two ways of shrinking Llama 3.1 8B. The pruning "
        "curve stays near 100 down to about half the size, then falls steeply to zero. The "
        "distillation curve falls steadily, the same amount for every halving, and never reaches "
        "zero on the chart. The curves cross, and below the crossing size distillation keeps more "
        "quality. The distillation curve is pessimistic for modern students such as Minitron, which sit "
        "above it. A control sets a target size and reads out both routes' quality there."
    ),
    height=405,
    phone_height=471,
)
def two_routes(model) -> FigureParts:
    base_params = float(model.real_model(BASE_MODEL).params)
    methods = model.pruning_methods
    kept_fraction = 1.0 - PRUNE_GRID
    data = {"x": (base_params * kept_fraction / 1e9).astype(np.float32)}
    data.update({key: values.astype(np.float32) for key, values in route_curves(model, methods).items()})
    source = ColumnDataSource(name=f"{NAME}-curves", data=data)

    crossovers = {key: crossover_fraction(model, key) for key in methods}
    crossover_text = {key: format_crossover(base_params, p) for key, p in crossovers.items()}
    crossover_x = {key: None if p is None else base_params * (1 - p) / 1e9 for key, p in crossovers.items()}

    x_low = float(data["x"].min()) * 0.92
    x_high = base_params / 1e9 * 1.08
    plot, prune_line, annotations = routes_plot(source, x_low, x_high)
    place_crossover(annotations, crossover_x[DEFAULT_METHOD], x_low)

    # The target: a vertical line with a dot on each route. Readouts use the same float32 values.
    i = 100 - DEFAULT_KEPT_PERCENT
    target_x = base_params * DEFAULT_KEPT_PERCENT / 100 / 1e9
    prune_q = float(data[DEFAULT_METHOD][i])
    distil_q = float(data["distil"][i])
    target_span = Span(
        name=f"{NAME}-target-line", location=target_x, dimension="height", line_color=NEUTRAL, line_width=2,
        line_alpha=0.8,
    )
    plot.add_layout(target_span)
    colours = [TECHNIQUE_COLOURS["pruning"], TECHNIQUE_COLOURS["distillation"]]
    marker = ColumnDataSource(
        name=f"{NAME}-marker", data={"x": [target_x, target_x], "y": [prune_q, distil_q], "colour": colours}
    )
    plot.scatter("x", "y", source=marker, size=11, fill_color="colour", line_color="white", line_width=2)

    slider = Slider(
        title="Target size",
        name=f"{NAME}-target",
        start=int(round(100 * kept_fraction.min())),
        end=100,
        step=1,
        value=DEFAULT_KEPT_PERCENT,
        format=CustomJSTickFormatter(
            code=READOUT_JS + "return format_params(N0 * tick / 100) + ' (' + tick + '%)';",
            args=dict(N0=base_params),
        ),
        sizing_mode="stretch_width",
        bar_color=NEUTRAL,
    )
    method_select = Select(
        title="Pruning method",
        name=f"{NAME}-method",
        options=[(key, method.label) for key, method in methods.items()],
        value=DEFAULT_METHOD,
        sizing_mode="stretch_width",
    )
    method_slugs = {key: method_slug(key) for key in methods}
    update = CustomJS(
        args=dict(
            slider=slider,
            method_select=method_select,
            source=source,
            marker=marker,
            target_span=target_span,
            N0=base_params,
            base_label=BASE_LABEL,
            method_slugs=method_slugs,
            prefix=f"{NAME}-",
            figure_name=NAME,
        ),
        code=UPDATE_JS,
    )
    switch_method = CustomJS(
        args=dict(
            method_select=method_select,
            prune_line=prune_line,
            crossover_x=crossover_x,
            crossover_text=crossover_text,
            x_low=x_low,
            prefix=f"{NAME}-",
            **annotations,
        ),
        code=METHOD_JS,
    )
    slider.js_on_change("value", update)
    method_select.js_on_change("value", switch_method, update)

    root = column(plot, control_row(slider, method_select), sizing_mode="stretch_width")
    restore = CustomJS(
        args=dict(
            slider=slider,
            method_select=method_select,
            sizes=list(range(slider.start, slider.end + 1)),
            method_slugs=method_slugs,
            figure_name=NAME,
        ),
        code=FRAGMENT_JS + RESTORE_JS,
    )
    restore_on_ready(root, restore)

    facts = tuple(
        (
            f"Quality at {format_params(base_params * (1 - p))} ({format_percent(p)} smaller)",
            f"pruning {format_quality(float(data[DEFAULT_METHOD][round(p * 100)]))}, "
            f"distillation {format_quality(float(data['distil'][round(p * 100)]))}",
        )
        for p in (0.25, 0.5, 0.75, 0.9)
    )
    return FigureParts(
        root=root,
        readouts=readouts_html(
            base_params, DEFAULT_KEPT_PERCENT, prune_q, distil_q, crossover_text[DEFAULT_METHOD]
        ),
        facts=facts + (("Crossover", crossover_text[DEFAULT_METHOD]),),
    )
