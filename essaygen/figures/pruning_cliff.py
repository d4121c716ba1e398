"""Where the cliff lives: quality against the fraction of weights pruned.

The figure draws one curve per pruning method from the model's lookup table
and the published calibration points beside them (hover for method, model,
value and source). A slider places a marker and reads out, per method, quality
and stored size for a chosen base model: unstructured pruning leaves zeros that a
dense runtime still stores, so only structured pruning shrinks the file. The
shaded bands follow the default method's curve. The slider and the model choice are shared through the URL fragment
``#pruning-cliff:p=0.5&model=llama-3.1-8b``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
from bokeh.layouts import column
from bokeh.models import (
    BoxAnnotation,
    ColumnDataSource,
    CustomJS,
    HoverTool,
    Label,
    NumeralTickFormatter,
    Range1d,
    Select,
    Slider,
    Span,
    TapTool,
)
from markupsafe import Markup, escape

from ..model import DEFAULT_METHOD, PRUNE_GRID
from . import FigureParts, figure
from ._format import FORMAT_JS, format_gb, format_params, format_percent, format_quality
from ._fragment import FRAGMENT_JS, restore_on_ready
from ._readouts import control_row
from ._style import HIGHLIGHT, NEUTRAL, TECHNIQUE_COLOURS, new_plot

NAME = "pruning-cliff"
DEFAULT_P = 0.5
DEFAULT_BASE = "Llama-3.1-8B"
SIZE_PRECISION = "BF16"  # sizes are read out at 16 bits, before any quantisation

NEARLY_FREE_COST = 0.02  # quality lost where the "nearly free" band ends


def bands(model) -> tuple[tuple[float, float, str], ...]:
    """Return the three regions of the default method's curve: (start, end, label).

    "Nearly free" ends where the gentle term costs 2% of quality, the cliff starts
    at the method's cliff_start and ends where quality reaches zero.
    """
    curve = model.pruning_methods[DEFAULT_METHOD]
    free_end = curve.nearly_free_end(NEARLY_FREE_COST)
    return (
        (0.0, free_end, "nearly free"),
        (free_end, curve.cliff_start, "gentle cost"),
        (curve.cliff_start, curve.zero_point, "the cliff"),
    )


@dataclass(frozen=True)
class MethodStyle:
    """Drawing style of one pruning method: colour, line dash and the marker of its published points."""

    colour: str
    dash: str
    marker: str


METHOD_STYLES = {
    "magnitude": MethodStyle(NEUTRAL, "dashed", "square"),
    "one_shot": MethodStyle(TECHNIQUE_COLOURS["pruning"], "solid", "circle"),
    "structured": MethodStyle("#a3376b", "dashdot", "triangle"),
}
FALLBACK_STYLE = MethodStyle("#5f6b7a", "dotted", "diamond")

METRIC_NAMES = {
    "wikitext2_ppl": "WikiText-2 perplexity",
    "mmlu": "MMLU",
    "zero_shot_avg": "zero-shot average",
}


def model_slug(name: str) -> str:
    """Return the fragment spelling of a real model's name ("Llama-3.1-8B" → "llama-3.1-8b")."""
    return name.lower()


def short_source(url: str) -> str:
    """Return a URL without its scheme and "www.", short enough for a tooltip."""
    parts = urlsplit(url)
    return (parts.netloc.removeprefix("www.") + parts.path).rstrip("/")


def published_text(point) -> str:
    """Describe a published result as its authors reported it."""
    if point.metric == "retention":
        return f"keeps {format_percent(point.value)} of the unpruned score"
    metric = METRIC_NAMES.get(point.metric, point.metric.replace("_", " "))
    reference = "dense" if point.metric.endswith("_ppl") else "unpruned"
    return f"{metric} {point.value:,g} ({reference} {point.baseline:,g})"


def calibration_source(model, method: str) -> ColumnDataSource:
    """Return the published pruning points of one method, on the quality scale."""
    points = model.calibration_points("pruning", method)
    return ColumnDataSource(
        name=f"{NAME}-published-{method}",
        data={
            "p": np.array([point.settings["p"] for point in points], dtype=np.float32),
            "observed": np.array([point.observed for point in points], dtype=np.float32),
            "algorithm": [point.algorithm for point in points],
            "model": [point.model for point in points],
            "published": [published_text(point) for point in points],
            "source": [short_source(point.source) for point in points],
        },
    )


POINT_PROMPT = "Tap or click a published point to read its details here."
# Flowing text rather than Bokeh's label/value table, so that the tooltip wraps
# within the narrow width that theme/essay.css gives it on phones. Bokeh
# HTML-escapes every @field value in a string template.
TOOLTIP = (
    "<div><b>Method:</b> @algorithm<br><b>Model:</b> @model<br><b>Pruned:</b> @p{0%}<br>"
    "<b>Published:</b> @published<br><b>On the quality scale:</b> @observed{0%}<br>"
    "<b>Source:</b> @source</div>"
)


def point_text(data: dict, i: int) -> str:
    """Describe row i of a published-points source, as the tap readout shows it."""
    return (
        f"{data['algorithm'][i]} on {data['model'][i]}, {format_percent(float(data['p'][i]))} pruned: "
        f"{data['published'][i]}, {format_percent(float(data['observed'][i]))} on the quality scale. "
        f"Source: {data['source'][i]}"
    )


def quality_at(model, p: float, base) -> dict[str, dict[str, float]]:
    """Return, per method, the quality kept and the base model's quality index at fraction p."""
    return {
        key: {
            "kept": model.q_prune(p, key),
            "index": base.quality_index * model.q_prune(p, key),
        }
        for key in model.pruning_methods
    }


def sizes_at(model, p: float, base) -> tuple[float, dict[str, float]]:
    """Return the base model's stored size in GB before pruning, and per method after pruning a fraction p."""
    dense = model.weight_gb(base.params, SIZE_PRECISION)
    stored = {key: model.stored_gb(base.params, SIZE_PRECISION, p, key) for key in model.pruning_methods}
    return dense, stored


def readout_texts(model, p: float, base) -> dict[str, str]:
    """Return the text of every readout element at fraction p for the base model, keyed by element id."""
    dense, stored = sizes_at(model, p, base)
    texts = {
        f"{NAME}-p": format_percent(p),
        f"{NAME}-model": base.name,
        f"{NAME}-size-dense": format_gb(dense),
        f"{NAME}-effective": format_params(model.effective_params(base.params, prune=p)),
    }
    for key, values in quality_at(model, p, base).items():
        texts[f"{NAME}-kept-{key}"] = format_percent(values["kept"])
        texts[f"{NAME}-index-{key}"] = format_quality(values["index"])
        texts[f"{NAME}-size-{key}"] = format_gb(stored[key])
    return texts


def readouts_html(model, p: float, base) -> str:
    """Return the readouts at fraction p for the base model, as rendered before JavaScript runs."""
    text = {key: escape(value) for key, value in readout_texts(model, p, base).items()}
    rows = []
    for key, method in model.pruning_methods.items():
        colour = METHOD_STYLES.get(key, FALLBACK_STYLE).colour
        rows.append(
            f'<tr><th scope="row"><span class="key-swatch" style="--swatch: {colour}"></span>{escape(method.label)}</th>'
            f'<td id="{NAME}-kept-{key}">{text[f"{NAME}-kept-{key}"]}</td>'
            f'<td id="{NAME}-index-{key}">{text[f"{NAME}-index-{key}"]}</td>'
            f'<td id="{NAME}-size-{key}">{text[f"{NAME}-size-{key}"]}</td></tr>'
        )
    return Markup(
        f'<p>With <strong id="{NAME}-p">{text[f"{NAME}-p"]}</strong> of the weights removed, '
        f'<span id="{NAME}-model">{text[f"{NAME}-model"]}</span> keeps '
        f'<strong id="{NAME}-effective">{text[f"{NAME}-effective"]}</strong> non-zero parameters. '
        f'At 16 bits its file is <span id="{NAME}-size-dense">{text[f"{NAME}-size-dense"]}</span> unpruned. '
        "Zeroed weights still take space in a dense runtime such as llama.cpp, so only structured "
        "pruning shrinks the stored size.</p>"
        '<table class="readout-table"><thead><tr><th scope="col">Method</th>'
        '<th scope="col">Quality kept</th><th scope="col">Quality index</th>'
        '<th scope="col">Stored at 16 bits</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p id="{NAME}-point" class="readout-point">{escape(POINT_PROMPT)}</p>'
    )


def key_html(model) -> str:
    """Return the figure's key: one line style per method and the published-point marker."""
    items = [
        f'<li><span class="key-line key-{style.dash}" style="--swatch: {style.colour}"></span>'
        f"{escape(method.label)}</li>"
        for key, method in model.pruning_methods.items()
        for style in [METHOD_STYLES.get(key, FALLBACK_STYLE)]
    ]
    items.append('<li><span class="key-point"></span>published result (hover or tap for details)</li>')
    return Markup(f'<ul class="figure-key" aria-label="Key">{"".join(items)}</ul>')


# Recompute the marker and readouts from the lookup table at the slider's grid
# index; the fragment records the state after each change.
UPDATE_JS = """
const i = Math.min(prune_grid.length - 1, Math.max(0, Math.round(slider.value * 100)));
const p = prune_grid[i];
const j = Math.max(0, bases.name.indexOf(select.value));
const params = bases.params[j];
const q0 = bases.index[j];
const kept_all_weights = rank_param_fraction_full;
const dense_gb = params * bits / 8.0 / 1e9;
const effective = params * (1.0 - p) / 1.0 * kept_all_weights;
const stored_gb = methods.map((key) => params * (1.0 - (shrinks_storage[key] ? p : 0.0)) / 1.0 * kept_all_weights * bits / 8.0 / 1e9);
const q = methods.map((key) => prune[key][i]);
marker.data = {p: methods.map(() => p), q: q};
span.location = p;
document.getElementById(`${figure_name}-p`).textContent = format_percent(p);
document.getElementById(`${figure_name}-model`).textContent = bases.name[j];
document.getElementById(`${figure_name}-size-dense`).textContent = format_gb(dense_gb);
document.getElementById(`${figure_name}-effective`).textContent = format_params(effective);
methods.forEach((key, m) => {
  document.getElementById(`${figure_name}-kept-${key}`).textContent = format_percent(q[m]);
  document.getElementById(`${figure_name}-index-${key}`).textContent = format_quality(q0 * q[m]);
  document.getElementById(`${figure_name}-size-${key}`).textContent = format_gb(stored_gb[m]);
});
write_fragment(figure_name, {p: p.toFixed(2), model: bases.slug[j]});
"""

# Write the tapped published point into the page's readouts, so that touch and
# screen-reader users get what the hover tooltip shows. The twin is point_text().
POINT_JS = """
const i = source.selected.indices[0];
if (i === undefined) return;
const d = source.data;
document.getElementById(`${figure_name}-point`).textContent =
  `${d.algorithm[i]} on ${d.model[i]}, ${format_percent(d.p[i])} pruned: ` +
  `${d.published[i]}, ${format_percent(d.observed[i])} on the quality scale. Source: ${d.source[i]}`;
"""

RESTORE_JS = """
const state = read_fragment(figure_name);
if (state === null) { mark_restored(figure_name, "none"); return; }
const i = grid_index(prune_grid, state.get("p"));
const j = bases.slug.indexOf(state.get("model") ?? "");
if (i >= 0) slider.value = prune_grid[i];
if (j >= 0) select.value = bases.name[j];
mark_restored(figure_name, i >= 0 || j >= 0 ? "restored" : "ignored");
"""


def cliff_plot(model, curves: ColumnDataSource, marker: ColumnDataSource):
    """Return the plot: bands, one curve per method, the published points and the marker."""
    plot = new_plot(
        height=360,
        x_range=Range1d(0, 0.95),
        y_range=Range1d(-0.03, 1.12),
        x_axis_label="Fraction of weights pruned",
        y_axis_label="Quality kept",
        min_border_right=20,
    )
    plot.xaxis.formatter = NumeralTickFormatter(format="0%")
    plot.yaxis.formatter = NumeralTickFormatter(format="0%")
    band_edges = bands(model)
    plot.xaxis.ticker = [0.0] + [round(end, 2) for _start, end, _label in band_edges]
    plot.yaxis.ticker = [0, 0.25, 0.5, 0.75, 1.0]

    for number, (start, end, label) in enumerate(band_edges):
        plot.add_layout(
            BoxAnnotation(left=start, right=end, fill_color=TECHNIQUE_COLOURS["pruning"],
                          fill_alpha=0.04 + 0.05 * number, line_alpha=0, level="underlay")
        )
        plot.add_layout(
            Label(x=(start + end) / 2, y=1.06, text=label, text_align="center", text_baseline="middle",
                  text_font_size="11px", text_color=NEUTRAL, name=f"{NAME}-band-label")
        )

    hover_renderers = []
    for key in model.pruning_methods:
        style = METHOD_STYLES.get(key, FALLBACK_STYLE)
        plot.line("p", key, source=curves, line_color=style.colour, line_dash=style.dash, line_width=2.5)
        published = calibration_source(model, key)
        points = plot.scatter(
            "p", "observed", source=published, marker=style.marker, size=9,
            fill_color=style.colour, fill_alpha=0.55, line_color=style.colour, line_width=1.2,
        )
        published.selected.js_on_change(
            "indices", CustomJS(args=dict(source=published, figure_name=NAME), code=FORMAT_JS + POINT_JS)
        )
        hover_renderers.append(points)

    span = Span(location=DEFAULT_P, dimension="height", name=f"{NAME}-span", line_color=HIGHLIGHT, line_width=2, line_dash="dotted")
    plot.add_layout(span)
    plot.scatter("p", "q", source=marker, size=11, fill_color=HIGHLIGHT, line_color="#1d232b", line_width=1.5)
    plot.add_tools(
        HoverTool(
            renderers=hover_renderers,
            tooltips=TOOLTIP,
        ),
        TapTool(renderers=hover_renderers),
    )
    return plot, span


@figure(
    NAME,
    caption=(
        "Quality kept against the fraction of weights pruned, for three pruning methods, "
        "with published results beside the curves."
    ),
    summary=(
        "Three curves fall from full quality as more weights are removed. Magnitude pruning drops "
        "first, from about 40% pruned. One-shot pruning (SparseGPT, Wanda) holds until about 50% "
        "and then falls steeply between 60 and 70%. Structured pruning with recovery training "
        "declines gently at first and then falls away past about 60%. Shaded bands mark where the one-shot "
        "curve is nearly free, where it costs a little and where its cliff runs down to zero. Most published "
        "results sit near their curves, and those from 13B and 70B models sit on or above them. A table reads "
        "out quality and stored size per method: only structured pruning shrinks the file."
    ),
    height=440,
    phone_height=501,
    data=("coefficients", "calibration", "models"),
)
def pruning_cliff(model) -> FigureParts:
    tables = model.lookup_tables()
    methods = list(model.pruning_methods)
    base = model.real_model(DEFAULT_BASE)
    default_index = int(round(DEFAULT_P * 100))

    # Plotted curves are float32; the readouts use the float64 lookup table so
    # that they agree with numpy to the last displayed digit.
    curves = ColumnDataSource(
        {"p": PRUNE_GRID.astype(np.float32), **{key: np.asarray(tables["prune"][key], dtype=np.float32) for key in methods}}
    )
    marker = ColumnDataSource(
        {"p": [DEFAULT_P] * len(methods), "q": [tables["prune"][key][default_index] for key in methods]},
        name=f"{NAME}-marker",
    )
    plot, span = cliff_plot(model, curves, marker)

    bases = {
        "name": [m.name for m in model.real_models],
        "slug": [model_slug(m.name) for m in model.real_models],
        "params": [m.params for m in model.real_models],
        "index": [m.quality_index for m in model.real_models],
    }
    slider = Slider(
        start=0, end=0.95, step=0.01, value=DEFAULT_P, format="0%", title="Fraction pruned",
        name=f"{NAME}-p", sizing_mode="stretch_width", margin=(5, 18, 5, 18),
    )
    select = Select(
        title="Base model", value=base.name,
        options=bases["name"], name=f"{NAME}-model", sizing_mode="stretch_width",
    )
    shared = dict(
        figure_name=NAME,
        slider=slider,
        select=select,
        prune_grid=np.asarray(tables["prune_grid"], dtype=np.float64),
        prune={key: np.asarray(tables["prune"][key], dtype=np.float64) for key in methods},
        methods=methods,
        bases=bases,
    )
    update = CustomJS(
        args=dict(
            shared,
            marker=marker,
            span=span,
            bits=model.bits_per_weight(SIZE_PRECISION),
            rank_param_fraction_full=tables["rank_param_fraction"][-1],
            shrinks_storage=tables["prune_shrinks_storage"],
        ),
        code=FORMAT_JS + FRAGMENT_JS + UPDATE_JS,
    )
    slider.js_on_change("value", update)
    select.js_on_change("value", update)

    layout = column(plot, control_row(slider, select), sizing_mode="stretch_width")
    restore_on_ready(layout, CustomJS(args=shared, code=FRAGMENT_JS + RESTORE_JS))
    return FigureParts(
        root=layout,
        html=key_html(model),
        readouts=readouts_html(model, DEFAULT_P, base),
        facts=tuple(
            (f"{method.label}, quality kept at {format_percent(p)} pruned", format_percent(model.q_prune(p, key)))
            for p in (0.3, 0.6, 0.9)
            for key, method in model.pruning_methods.items()
        ),
    )
