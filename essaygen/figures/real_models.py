"""Where real models sit: on-disk weight size (log scale) against the quality index.

Each model from data/models.tsv appears at 16 bits and at INT4 with an arrow
between. The INT4 point applies the essay's rule-of-thumb factor. Where the
makers published an INT4 score for the same model, that retention is drawn as a
separate marker, placed at the published file size where the makers give one
and at the nominal INT4 size (params × 4 bits) otherwise. The frontier is the staircase of the best
quality available at each size or less. A memory budget slider marks a size and
reads out the best configuration that fits; it is shared through the fragment
``#real-models:budget=24``.
"""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import (
    Arrow,
    BoxAnnotation,
    ColumnDataSource,
    CustomJS,
    CustomJSTickFormatter,
    FixedTicker,
    HoverTool,
    LabelSet,
    NormalHead,
    Range1d,
    Slider,
    Span,
    TapTool,
)
from markupsafe import Markup, escape

from . import FigureParts, figure
from ._format import FORMAT_JS, format_gb, format_number, format_params, format_percent, format_quality
from ._fragment import FRAGMENT_JS, restore_on_ready
from ._readouts import control_row
from ._style import HIGHLIGHT, NEUTRAL, TECHNIQUE_COLOURS, new_plot
from .pruning_cliff import short_source

NAME = "real-models"
HIGH_PRECISION = "BF16"
LOW_PRECISION = "INT4"
BUDGETS_GB = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 80, 96, 128, 160)
DEFAULT_BUDGET = 16
PUBLISHED_METRICS = {"mmlu": "MMLU", "open_llm_v1_avg": "Open LLM Leaderboard v1 average (not MMLU)"}
# Who published each INT4 release, by the owner in its source URL.
PUBLISHERS = {"meta-llama": "Meta", "qwen": "Qwen", "neuralmagic": "Neural Magic"}
BYTES_PER_UNIT = {"GB": 1e9, "GiB": 2**30, "MiB": 2**20}
# Models named on the chart, with the text alignment of each name: "left" puts
# the name right of its point. The rest are named on hover, so that a
# phone-sized chart stays readable.
LABELLED = {"Qwen2.5-0.5B": "left", "Llama-3.2-1B": "left", "Llama-3.1-8B": "left", "Llama-3.1-70B": "right", "Qwen2.5-72B": "right"}
ARROW_LENGTH = 0.86  # arrows stop short of the INT4 point so the head stays visible
INT4_COLOUR = TECHNIQUE_COLOURS["quantisation"]
PUBLISHED_COLOUR = "#c0398b"  # reads on the light and the dark page


def configurations(model) -> dict[str, np.ndarray | list]:
    """Return every model at 16 bits and at INT4 (rule of thumb): size in GB, quality and hover text."""
    rows: dict[str, list] = {key: [] for key in ("name", "precision", "gb", "quality", "params", "bytes", "score", "source")}
    for precision in (HIGH_PRECISION, LOW_PRECISION):
        factor = model.q_bits(precision)
        label = "16 bits" if precision == HIGH_PRECISION else f"INT4 (rule of thumb, × {factor:g})"
        for real in model.real_models:
            gb = model.weight_gb(real.params, precision)
            rows["name"].append(real.name)
            rows["precision"].append(label)
            rows["gb"].append(gb)
            rows["quality"].append(real.quality_index * factor)
            rows["params"].append(format_params(real.params))
            rows["bytes"].append(f"{format_gb(gb)} ({format_number(gb * 1e9)} bytes)")
            rows["score"].append(f"MMLU {real.mmlu:g}, {real.mmlu_setting}".rstrip(", "))
            rows["source"].append(short_source(real.mmlu_source))
    rows["gb"] = np.asarray(rows["gb"], dtype=np.float64)
    rows["quality"] = np.asarray(rows["quality"], dtype=np.float64)
    return rows


def frontier(gb: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the staircase of the best quality at each size or less, as step vertices."""
    order = np.lexsort((-quality, gb))
    xs, ys = [], []
    best = -np.inf
    for i in order:
        if quality[i] > best:
            best = quality[i]
            xs.append(gb[i])
            ys.append(quality[i])
    return np.asarray(xs), np.asarray(ys)


def published_int4(model) -> dict[str, list]:
    """Return the makers' own INT4 results for models on the chart, as retention of their 16-bit score.

    Published results are for instruction-tuned variants. Their retention is
    applied to the base model's index, so the point shows how far the rule of
    thumb is from what the makers measured. It is not a score of the base model.
    A point sits at the published file size when a footprint row of calibration.tsv
    has the same model and algorithm, and at the nominal INT4 size otherwise.
    """
    by_name = {real.name: real for real in model.real_models}
    file_sizes = {
        (point.model, point.algorithm): point.value * BYTES_PER_UNIT[point.unit] / 1e9
        for point in model.calibration_points("footprint", LOW_PRECISION)
    }
    rows: dict[str, list] = {key: [] for key in ("name", "gb", "quality", "published", "size", "source", "publisher")}
    for point in model.calibration_points("quantisation", LOW_PRECISION):
        base = by_name.get(point.model.removesuffix("-Instruct"))
        if base is None or point.metric not in PUBLISHED_METRICS:
            continue
        rows["name"].append(f"{point.model}, {point.algorithm}")
        published_gb = file_sizes.get((point.model, point.algorithm))
        if published_gb is None:
            gb = model.weight_gb(base.params, LOW_PRECISION)
            rows["size"].append(f"{format_gb(gb)}, nominal (params × 4 bits); no published file size")
        else:
            gb = published_gb
            rows["size"].append(f"{format_gb(gb)}, published file size")
        rows["gb"].append(gb)
        rows["quality"].append(base.quality_index * point.observed)
        rows["published"].append(
            f"{PUBLISHED_METRICS[point.metric]} {point.value:g} against {point.baseline:g} "
            f"at 16 bits: keeps {format_percent(point.observed, 1)}"
        )
        rows["source"].append(short_source(point.source))
        rows["publisher"].append(publisher(point.source))
    return rows


def publisher(url: str) -> str:
    """Return who published a release: the owner on GitHub or Hugging Face, else the site's name."""
    host, _, path = short_source(url).lower().partition("/")
    owner = path.split("/")[0] if host in ("github.com", "huggingface.co") else host.split(".")[0]
    return PUBLISHERS.get(owner, owner)


def published_label(published: dict) -> str:
    """Return the key's label for the published INT4 points, naming the publishers on the chart."""
    publishers = list(dict.fromkeys(published["publisher"]))
    return f"INT4, published ({', '.join(publishers)})" if publishers else "INT4, published"


def best_within(rows: dict, budget_gb: float) -> int:
    """Return the index of the highest-quality configuration whose weights fit the budget, or -1."""
    best = -1
    for i, (gb, quality) in enumerate(zip(rows["gb"], rows["quality"])):
        if gb <= budget_gb and (best < 0 or quality > rows["quality"][best]):
            best = i
    return best


def budget_text(budget_gb: float) -> str:
    return f"{format_number(budget_gb)} GB"


def readout_texts(rows: dict, budget_gb: float) -> dict[str, str]:
    """Return the text of every readout element at a budget, keyed by element id."""
    best = best_within(rows, budget_gb)
    fits = int(np.sum(rows["gb"] <= budget_gb))
    texts = {
        f"{NAME}-budget": budget_text(budget_gb),
        f"{NAME}-fits": f"{fits} of {len(rows['gb'])}",
    }
    if best < 0:
        texts[f"{NAME}-best"] = "no configuration on the chart"
        texts[f"{NAME}-best-detail"] = ""
    else:
        texts[f"{NAME}-best"] = f"{rows['name'][best]} at {short_precision(rows['precision'][best])}"
        texts[f"{NAME}-best-detail"] = f"{format_gb(rows['gb'][best])}, quality index {format_quality(rows['quality'][best])}"
    return texts


POINT_PROMPT = "Tap or click a point to read its details here."
# Flowing text rather than Bokeh's label/value table, so that the tooltips wrap
# within the narrow width that theme/essay.css gives them on phones. Bokeh
# HTML-escapes every @field value in a string template.
POINT_TOOLTIP = (
    "<div><b>Model:</b> @name<br><b>Precision:</b> @precision<br><b>Parameters:</b> @params<br>"
    "<b>Weights:</b> @bytes<br><b>Score:</b> @score<br><b>Quality index:</b> @quality{0.0}<br>"
    "<b>Source:</b> @source</div>"
)
PUBLISHED_TOOLTIP = (
    "<div><b>Published INT4:</b> @name<br><b>Result:</b> @published<br><b>Size:</b> @size<br>"
    "<b>Quality index:</b> @quality{0.0}<br><b>Source:</b> @source</div>"
)


def point_text(data: dict, i: int) -> str:
    """Describe row i of the 16-bit and INT4 points, as the tap readout shows it."""
    return (
        f"{data['name'][i]} at {data['precision'][i]}: {data['params'][i]} parameters, weights {data['bytes'][i]}, "
        f"{data['score'][i]}, quality index {format_quality(float(data['quality'][i]))}. Source: {data['source'][i]}"
    )


def published_point_text(data: dict, i: int) -> str:
    """Describe row i of the published INT4 points, as the tap readout shows it."""
    return (
        f"Published INT4, {data['name'][i]}: {data['published'][i]}. Size {data['size'][i]}. "
        f"Quality index {format_quality(float(data['quality'][i]))}. Source: {data['source'][i]}"
    )


def short_precision(label: str) -> str:
    """Return a precision label without its note in brackets ("INT4 (rule of thumb, × 0.94)" → "INT4")."""
    return label.split(" (")[0]


def readouts_html(rows: dict, budget_gb: float) -> str:
    """Return the budget readout as rendered before JavaScript runs."""
    text = {key: escape(value) for key, value in readout_texts(rows, budget_gb).items()}
    return Markup(
        f'<p>Within <strong id="{NAME}-budget">{text[f"{NAME}-budget"]}</strong> of weights, the best '
        f'configuration on the chart is <strong id="{NAME}-best">{text[f"{NAME}-best"]}</strong> '
        f'(<span id="{NAME}-best-detail">{text[f"{NAME}-best-detail"]}</span>). '
        f'<span id="{NAME}-fits">{text[f"{NAME}-fits"]}</span> configurations fit.</p>'
        f'<p id="{NAME}-point" class="readout-point">{escape(POINT_PROMPT)}</p>'
    )


def key_html(published: dict) -> str:
    return Markup(
        '<ul class="figure-key" aria-label="Key">'
        f'<li><span class="key-point" style="--swatch: {NEUTRAL}"></span>16 bits</li>'
        f'<li><span class="key-point" style="--swatch: {INT4_COLOUR}"></span>INT4, rule of thumb</li>'
        f'<li><span class="key-point key-diamond key-open" style="--swatch: {PUBLISHED_COLOUR}"></span>{escape(published_label(published))}</li>'
        f'<li><span class="key-line" style="--swatch: {HIGHLIGHT}"></span>frontier</li>'
        "</ul>"
    )


UPDATE_JS = """
const i = Math.min(budgets.length - 1, Math.max(0, Math.round(slider.value)));
const budget = budgets[i];
const data = points.data;
let best = -1;
let fits = 0;
for (let j = 0; j < data.gb.length; j++) {
  if (data.gb[j] <= budget) {
    fits += 1;
    if (best < 0 || data.quality[j] > data.quality[best]) best = j;
  }
}
span.location = budget;
shade.left = budget;
document.getElementById("real-models-budget").textContent = `${format_number(budget)} GB`;
document.getElementById("real-models-fits").textContent = `${fits} of ${data.gb.length}`;
const best_element = document.getElementById("real-models-best");
const detail = document.getElementById("real-models-best-detail");
if (best < 0) {
  best_element.textContent = "no configuration on the chart";
  detail.textContent = "";
} else {
  best_element.textContent = `${data.name[best]} at ${data.precision[best].split(" (")[0]}`;
  detail.textContent = `${format_gb(data.gb[best])}, quality index ${format_quality(data.quality[best])}`;
}
write_fragment(figure_name, {budget: String(budget)});
"""

# Write the tapped point into the page's readouts, so that touch and
# screen-reader users get what the hover tooltip shows. The twins are
# point_text() and published_point_text().
POINT_JS = """
const i = source.selected.indices[0];
if (i === undefined) return;
const d = source.data;
document.getElementById(`${figure_name}-point`).textContent = published
  ? `Published INT4, ${d.name[i]}: ${d.published[i]}. Size ${d.size[i]}. ` +
    `Quality index ${format_quality(d.quality[i])}. Source: ${d.source[i]}`
  : `${d.name[i]} at ${d.precision[i]}: ${d.params[i]} parameters, weights ${d.bytes[i]}, ` +
    `${d.score[i]}, quality index ${format_quality(d.quality[i])}. Source: ${d.source[i]}`;
"""

RESTORE_JS = """
const state = read_fragment(figure_name);
if (state === null) { mark_restored(figure_name, "none"); return; }
const i = grid_index(budgets, state.get("budget"));
if (i >= 0) slider.value = i;
mark_restored(figure_name, i >= 0 ? "restored" : "ignored");
"""


def real_models_plot(rows: dict, published: dict, budget_gb: float):
    """Return the plot with arrows, both point sets, the published INT4 points, the frontier and the budget."""
    plot = new_plot(
        height=420,
        x_axis_type="log",
        x_range=Range1d(0.2, 250),
        y_range=Range1d(40, 136),
        x_axis_label="Weights on disk (decimal GB, log scale)",
        y_axis_label="Quality index (Llama-3.1-8B at 16 bits = 100)",
        min_border_right=24,
    )
    ticks = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128]
    plot.xaxis.ticker = FixedTicker(ticks=ticks)
    plot.xaxis.major_label_overrides = {tick: f"{tick:g}" for tick in ticks}
    plot.xaxis.minor_tick_line_color = None

    shade = BoxAnnotation(left=budget_gb, name=f"{NAME}-shade", fill_color=NEUTRAL, fill_alpha=0.12, line_alpha=0, level="underlay")
    plot.add_layout(shade)
    span = Span(location=budget_gb, dimension="height", name=f"{NAME}-span", line_color=NEUTRAL, line_width=1.5, line_dash="dashed")
    plot.add_layout(span)

    count = len(rows["gb"]) // 2
    x0, y0 = rows["gb"][:count], rows["quality"][:count]
    x1, y1 = rows["gb"][count:], rows["quality"][count:]
    arrows = ColumnDataSource({
        "x0": x0.astype(np.float32), "y0": y0.astype(np.float32),
        "x1": (x0 * (x1 / x0) ** ARROW_LENGTH).astype(np.float32),
        "y1": (y0 + (y1 - y0) * ARROW_LENGTH).astype(np.float32),
    })
    plot.add_layout(Arrow(
        source=arrows, x_start="x0", y_start="y0", x_end="x1", y_end="y1",
        line_color=INT4_COLOUR, line_alpha=0.45, line_width=1.5,
        end=NormalHead(size=7, fill_color=INT4_COLOUR, fill_alpha=0.6, line_alpha=0),
    ))

    xs, ys = frontier(rows["gb"], rows["quality"])
    plot.step(
        np.append(xs, 250).astype(np.float32), np.append(ys, ys[-1]).astype(np.float32),
        mode="after", line_color=HIGHLIGHT, line_width=2, line_alpha=0.9,
    )

    points = ColumnDataSource({key: value for key, value in rows.items()}, name=f"{NAME}-points")
    colours = [NEUTRAL] * count + [INT4_COLOUR] * count
    points.data["colour"] = colours
    rendered = plot.scatter("gb", "quality", source=points, size=9, fill_color="colour", line_color="colour", fill_alpha=0.8)
    marks = ColumnDataSource(published, name=f"{NAME}-published")
    published_points = plot.scatter(
        "gb", "quality", source=marks, marker="diamond", size=12, fill_alpha=0, line_color=PUBLISHED_COLOUR, line_width=2,
    )

    sides = [LABELLED.get(name, "") for name in rows["name"][:count]]
    points.data["label"] = [name if side else "" for name, side in zip(rows["name"][:count], sides)] + [""] * count
    points.data["align"] = [side or "left" for side in sides] + ["left"] * count
    points.data["offset"] = np.array([-8 if side == "right" else 8 for side in sides] + [0] * count, dtype=np.int8)
    labels = LabelSet(
        x="gb", y="quality", text="label", source=points, x_offset="offset", y_offset=-4, text_align="align",
        text_baseline="middle", text_font_size="11px",
        text_color=NEUTRAL, name=f"{NAME}-labels",
    )
    plot.add_layout(labels)

    plot.add_tools(HoverTool(renderers=[rendered], tooltips=POINT_TOOLTIP))
    plot.add_tools(HoverTool(renderers=[published_points], tooltips=PUBLISHED_TOOLTIP))
    plot.add_tools(TapTool(renderers=[rendered, published_points]))
    for source, is_published in ((points, False), (marks, True)):
        source.selected.js_on_change(
            "indices",
            CustomJS(args=dict(source=source, published=is_published, figure_name=NAME), code=FORMAT_JS + POINT_JS),
        )
    return plot, points, span, shade, labels


@figure(
    NAME,
    caption=(
        "Weight size on disk against the quality index for popular open-weight models, each at 16 bits "
        "and at INT4, with the frontier of the best quality at each size."
    ),
    summary=(
        "Every model appears twice, joined by an arrow that runs a long way left and only a little down: "
        "INT4 takes a quarter of the 16-bit size and, by the rule of thumb, 94% of the quality. The makers' "
        "own INT4 results (Meta, Neural Magic), drawn as open diamonds at the published file size where "
        "there is one and at the nominal INT4 size otherwise, sit at or above the "
        "rule of thumb, except plain post-training quantisation of the 1B model, which sits below it. The "
        "frontier rises steeply up to about 10 GB and flattens beyond, and most of it is made of INT4 points."
    ),
    height=485,
    data=("coefficients", "calibration", "models"),
)
def real_models(model) -> FigureParts:
    rows = configurations(model)
    published = published_int4(model)
    budget_index = BUDGETS_GB.index(DEFAULT_BUDGET)
    plot, points, span, shade, _labels = real_models_plot(rows, published, DEFAULT_BUDGET)

    slider = Slider(
        start=0, end=len(BUDGETS_GB) - 1, step=1, value=budget_index,
        format=CustomJSTickFormatter(args=dict(budgets=list(BUDGETS_GB)), code="return budgets[Math.round(tick)] + ' GB';"),
        title="Memory budget for the weights",
        name=f"{NAME}-budget", sizing_mode="stretch_width", margin=(5, 18, 5, 18),
    )
    shared = dict(figure_name=NAME, slider=slider, budgets=list(map(float, BUDGETS_GB)))
    update = CustomJS(
        args=dict(shared, points=points, span=span, shade=shade),
        code=FORMAT_JS + FRAGMENT_JS + UPDATE_JS,
    )
    slider.js_on_change("value", update)

    layout = column(plot, control_row(slider), sizing_mode="stretch_width")
    restore_on_ready(layout, CustomJS(args=shared, code=FRAGMENT_JS + RESTORE_JS))
    best = best_within(rows, DEFAULT_BUDGET)
    return FigureParts(
        root=layout,
        html=key_html(published),
        readouts=readouts_html(rows, DEFAULT_BUDGET),
        facts=(
            ("Models on the chart", str(len(model.real_models))),
            (f"Best within {budget_text(DEFAULT_BUDGET)}", f"{rows['name'][best]} at {short_precision(rows['precision'][best])}"),
            ("INT4 quality factor (rule of thumb)", f"{model.q_bits(LOW_PRECISION):g}"),
        ),
    )
