"""Low-rank factorisation: a d × d matrix replaced by a d × r and an r × d matrix.

The dense matrix stores d² numbers and the pair stores 2dr, so the swap saves
something only below the break-even rank r = d/2. Both the picture and the
chart are drawn in units of d (the rank as r/d, the counts as multiples of d²),
because the ratio 2dr / d² = 2r/d depends on r/d alone; the readouts give the
absolute counts for the chosen d. Both controls are shared through the URL
fragment as ``#low-rank:d=4096&r=512``.
"""

from __future__ import annotations

from bokeh.layouts import column
from bokeh.models import (
    BoxAnnotation,
    CategoricalSlider,
    ColumnDataSource,
    CustomJS,
    CustomJSTickFormatter,
    DataRange1d,
    FixedTicker,
    Label,
    Slider,
    Span,
)

from ..model import factorised_matrix_params
from . import FigureParts, figure
from ._format import format_number, format_percent
from ._fragment import FRAGMENT_JS, restore_on_ready
from ._readouts import READOUT_JS, control_row, readout_list
from ._style import NEUTRAL, TECHNIQUE_COLOURS, new_plot

NAME = "low-rank"
SIZES = (512, 1024, 2048, 4096, 8192, 16384)
DEFAULT_SIZE = 4096
DEFAULT_RANK = 512
# The rank slider moves in steps of d / RANK_STEPS, from one step up to d.
RANK_STEPS = 64

# Picture layout in units of d: the square, then the d × r factor, then the r × d factor.
FACTOR_LEFT = 1.42
GAP = 0.26
PICTURE_WIDTH = FACTOR_LEFT + 1 + GAP + 1 + 0.06
LABEL_Y = -0.13
PICTURE_HEIGHT = 190


def size_label(d: int) -> str:
    return format_number(d)


def rank_step(d: int) -> int:
    return d // RANK_STEPS


def picture_data(rho: float) -> dict[str, list]:
    """Return the three rectangles of the picture for kept-rank ratio ρ = r/d."""
    b_left = FACTOR_LEFT + rho + GAP
    return {
        "left": [0.0, FACTOR_LEFT, b_left],
        "right": [1.0, FACTOR_LEFT + rho, b_left + 1.0],
        "bottom": [0.0, 0.0, 1.0 - rho],
        "top": [1.0, 1.0, 1.0],
    }


def label_data(rho: float) -> dict[str, list]:
    b_left = FACTOR_LEFT + rho + GAP
    return {
        "x": [0.5, FACTOR_LEFT + rho / 2, b_left + 0.5, (1.0 + FACTOR_LEFT) / 2, FACTOR_LEFT + rho + GAP / 2],
        "y": [LABEL_Y, LABEL_Y, LABEL_Y, 0.5, 0.5],
        "text": ["d × d", "d × r", "r × d", "≈", "×"],
        "size": ["15px", "15px", "15px", "24px", "22px"],
    }


def format_ratio(dense: int, factored: int) -> str:
    """Return how 2dr compares with d²: the ratio, then the saving or the extra cost."""
    ratio = factored / dense
    if factored < dense:
        change = f"saves {format_percent(1 - ratio, 1)}"
    elif factored > dense:
        change = f"costs {format_percent(ratio - 1, 1)} more"
    else:
        change = "no saving"
    return f"{format_percent(ratio, 1)} of d² ({change})"


# The d control first moves the rank onto the new size's grid, keeping r where it can.
SIZE_JS = """
const d = sizes[size_slider.value];
const step = d / rank_steps;
const r = Math.min(d, Math.max(step, Math.floor(rank_slider.value / step + 0.5) * step));
rank_slider.setv({start: step, end: d, step: step, value: r});
"""

UPDATE_JS = READOUT_JS + FRAGMENT_JS + """
const d = sizes[size_slider.value];
const r = rank_slider.value;
const rho = r / d;
const b_left = factor_left + rho + gap;
matrices.data = {
  left: [0, factor_left, b_left], right: [1, factor_left + rho, b_left + 1],
  bottom: [0, 0, 1 - rho], top: [1, 1, 1], colour: matrices.data.colour,
};
labels.data = {
  x: [0.5, factor_left + rho / 2, b_left + 0.5, labels.data.x[3], factor_left + rho + gap / 2],
  y: labels.data.y, text: labels.data.text, size: labels.data.size,
};
rank_span.location = rho;
point.data = {x: [rho], y: [2 * rho]};
const dense = d * d, factored = 2 * d * r, ratio = factored / dense;
const change = factored < dense ? "saves " + format_percent(1 - ratio, 1)
  : factored > dense ? "costs " + format_percent(ratio - 1, 1) + " more" : "no saving";
set_readout(prefix + "dense", format_number(dense));
set_readout(prefix + "factored", format_number(factored));
set_readout(prefix + "ratio", format_percent(ratio, 1) + " of d\\u00b2 (" + change + ")");
set_readout(prefix + "break-even", "r = d/2 = " + format_number(d / 2));
write_fragment(figure_name, {d: String(d), r: String(r)});
"""

# The size is restored first, so that the rank is checked against its own grid.
RESTORE_JS = """
const state = read_fragment(figure_name);
if (state === null) { mark_restored(figure_name, "none"); return; }
const labels = Object.keys(sizes);
const i = grid_index(labels.map((label) => sizes[label]), state.get("d"));
if (i >= 0) size_slider.value = labels[i];
const d = sizes[size_slider.value];
const step = d / rank_steps;
const ranks = Array.from({length: rank_steps}, (_, n) => (n + 1) * step);
const j = grid_index(ranks, state.get("r"));
if (j >= 0) rank_slider.value = ranks[j];
mark_restored(figure_name, i >= 0 || j >= 0 ? "restored" : "ignored");
"""


def matrix_picture(matrices: ColumnDataSource, labels: ColumnDataSource):
    """Return the picture of the square matrix and its two factors, drawn in units of d."""
    # match_aspect keeps squares square at any width; the invisible frame fixes the
    # data bounds that the aspect is matched around, so the picture never zooms.
    picture = new_plot(
        height=PICTURE_HEIGHT,
        x_range=DataRange1d(range_padding=0),
        y_range=DataRange1d(range_padding=0),
        match_aspect=True,
        min_border=0,
        min_border_left=0,
        min_border_right=0,
    )
    picture.quad(left=[-0.03], right=[PICTURE_WIDTH], bottom=[-0.3], top=[1.06], fill_alpha=0, line_alpha=0)
    picture.quad(
        left="left", right="right", bottom="bottom", top="top", source=matrices,
        fill_color="colour", fill_alpha=0.35, line_color="colour", line_width=2,
    )
    picture.text(
        x="x", y="y", text="text", source=labels, text_align="center", text_baseline="middle",
        text_font_size="size", text_color=NEUTRAL,
    )
    picture.axis.visible = False
    picture.grid.visible = False
    return picture


def break_even_chart(rho: float):
    """Return the chart of d² and 2dr against r/d, its rank line and its marker source."""
    colour = TECHNIQUE_COLOURS["low-rank"]
    chart = new_plot(height=230, x_range=(0, 1), y_range=(0, 2.08), min_border_left=44)
    chart.add_layout(BoxAnnotation(right=0.5, fill_color=colour, fill_alpha=0.08, line_alpha=0))
    chart.add_layout(
        Label(x=0.48, y=1.96, text="factorising saves", text_align="right", text_baseline="top",
              text_color=colour, text_font_size="12px")
    )
    chart.line([0, 1], [1, 1], line_color=NEUTRAL, line_width=3, legend_label="d² (dense)")
    chart.line([0, 1], [0, 2], line_color=colour, line_width=3, legend_label="2dr (factorised)")
    chart.scatter([0.5], [1], size=9, fill_color="white", line_color=NEUTRAL, line_width=2)
    chart.add_layout(
        Label(x=0.5, y=1, x_offset=8, y_offset=-6, text="break-even", text_baseline="top",
              text_color=NEUTRAL, text_font_size="12px")
    )
    rank_span = Span(
        name=f"{NAME}-rank-line", location=rho, dimension="height", line_color=colour, line_width=1.5,
        line_dash="dashed",
    )
    chart.add_layout(rank_span)
    point = ColumnDataSource(name=f"{NAME}-point", data={"x": [rho], "y": [2 * rho]})
    chart.scatter("x", "y", source=point, size=11, fill_color=colour, line_color="white", line_width=2)

    # The axes are in units of d and d², so their labels are symbols.
    chart.xaxis.ticker = FixedTicker(ticks=[0, 0.25, 0.5, 0.75, 1])
    chart.xaxis.formatter = CustomJSTickFormatter(
        code='return {0: "0", 0.25: "d/4", 0.5: "d/2", 0.75: "3d/4", 1: "d"}[tick] ?? "";'
    )
    chart.yaxis.ticker = FixedTicker(ticks=[0, 1, 2])
    chart.yaxis.formatter = CustomJSTickFormatter(
        code='return {0: "0", 1: "d\\u00b2", 2: "2d\\u00b2"}[tick] ?? "";'
    )
    chart.xaxis.axis_label = "rank r"
    chart.yaxis.axis_label = "numbers stored"
    legend = chart.legend[0]
    legend.orientation = "horizontal"
    legend.location = "top_left"
    legend.background_fill_alpha = 0
    legend.border_line_alpha = 0
    legend.label_text_font_size = "13px"
    legend.padding = 0
    legend.spacing = 16
    chart.add_layout(legend, "above")
    return chart, rank_span, point


@figure(
    NAME,
    caption=(
        "Factorising a <i>d</i>\u202f×\u202f<i>d</i> matrix into two thin ones saves numbers only "
        "below <i>r</i> = <i>d</i>/2."
    ),
    summary=(
        "A square standing for a d by d weight matrix beside two thin rectangles, d by r and r by d, "
        "that replace it. Below, a chart of numbers stored against the rank r: the square's d squared "
        "is a flat line, the pair's 2dr a rising line that crosses it at r = d/2, the break-even point. "
        "Controls set d and r, and the readouts give both counts and their ratio."
    ),
    height=480,
    phone_height=547,
)
def low_rank(model) -> FigureParts:
    rho = DEFAULT_RANK / DEFAULT_SIZE
    colour = TECHNIQUE_COLOURS["low-rank"]

    matrices = ColumnDataSource(
        name=f"{NAME}-matrices", data={**picture_data(rho), "colour": [NEUTRAL, colour, colour]}
    )
    labels = ColumnDataSource(name=f"{NAME}-labels", data=label_data(rho))
    picture = matrix_picture(matrices, labels)
    chart, rank_span, point = break_even_chart(rho)

    size_slider = CategoricalSlider(
        title="Matrix size d",
        name=f"{NAME}-d",
        categories=[size_label(d) for d in SIZES],
        value=size_label(DEFAULT_SIZE),
        sizing_mode="stretch_width",
        bar_color=NEUTRAL,
    )
    step = rank_step(DEFAULT_SIZE)
    rank_slider = Slider(
        title="Rank r",
        name=f"{NAME}-r",
        start=step,
        end=DEFAULT_SIZE,
        step=step,
        value=DEFAULT_RANK,
        format="0,0",
        sizing_mode="stretch_width",
        bar_color=colour,
    )
    sizes = {size_label(d): d for d in SIZES}
    update = CustomJS(
        args=dict(
            size_slider=size_slider,
            rank_slider=rank_slider,
            sizes=sizes,
            matrices=matrices,
            labels=labels,
            rank_span=rank_span,
            point=point,
            factor_left=FACTOR_LEFT,
            gap=GAP,
            prefix=f"{NAME}-",
            figure_name=NAME,
        ),
        code=UPDATE_JS,
    )
    size_slider.js_on_change(
        "value",
        CustomJS(
            args=dict(size_slider=size_slider, rank_slider=rank_slider, sizes=sizes, rank_steps=RANK_STEPS),
            code=SIZE_JS,
        ),
        update,
    )
    rank_slider.js_on_change("value", update)

    dense = DEFAULT_SIZE**2
    factored = factorised_matrix_params(DEFAULT_SIZE, DEFAULT_RANK)
    readouts = readout_list(
        NAME,
        [
            ("dense", "Dense d²", format_number(dense)),
            ("factored", "Factorised 2dr", format_number(factored)),
            ("ratio", "Ratio", format_ratio(dense, factored)),
            ("break-even", "Break-even", f"r = d/2 = {format_number(DEFAULT_SIZE // 2)}"),
        ],
    )
    facts = tuple(
        (f"d = {format_number(DEFAULT_SIZE)}, r = {format_number(r)}",
         format_ratio(dense, factorised_matrix_params(DEFAULT_SIZE, r)))
        for r in (256, 512, 1024, 2048, 3072)
    )
    root = column(picture, chart, control_row(size_slider, rank_slider), sizing_mode="stretch_width")
    restore = CustomJS(
        args=dict(
            size_slider=size_slider,
            rank_slider=rank_slider,
            sizes=sizes,
            rank_steps=RANK_STEPS,
            figure_name=NAME,
        ),
        code=FRAGMENT_JS + RESTORE_JS,
    )
    restore_on_ready(root, restore)
    return FigureParts(root=root, readouts=readouts, facts=facts)
