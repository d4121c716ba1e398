"""Compose the techniques: the simulator.

The reader picks a base model (a real model or another parameter count), a
precision, a fraction pruned and its method, a distillation factor and a
low-rank ratio. A moving bar shows the stored weight footprint against common
memory budgets in GiB (cards are sold in GiB), and a waterfall shows each factor's share of the quality product. A
chart places the composed point beside the real models, and a plain-language
verdict says which budgets the weights fit.

Every number comes from :class:`~essaygen.model.CompressionModel`: numpy
computes the lookup tables and the build-time readouts, and the browser only
looks values up by grid index and multiplies them in the same order numpy does.
The footprint uses the stored parameter count: weights zeroed by unstructured
pruning still take space in a dense runtime, so only structured pruning shrinks it.
The state is shared through the fragment
``#composer:model=llama-3.1-8b&bits=INT4&p=0.30&method=one-shot&k=1.0&rank=1.00``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from bokeh.layouts import column
from bokeh.models import (
    Arrow,
    Button,
    ColumnDataSource,
    CustomJS,
    CustomJSTickFormatter,
    FactorRange,
    FixedTicker,
    HoverTool,
    LabelSet,
    Legend,
    LegendItem,
    NormalHead,
    Range1d,
    Row,
    Select,
    Slider,
    Span,
)
from markupsafe import Markup, escape

from ..model import DISTIL_GRID, GIB, PRUNE_GRID, RANK_GRID
from . import FigureParts, figure
from ._format import FORMAT_JS, format_gb, format_number, format_params, format_quality
from ._fragment import FRAGMENT_JS, restore_on_ready
from ._precision import precision_options
from ._readouts import control_row
from ._style import HIGHLIGHT, NEUTRAL, TECHNIQUE_COLOURS, legend_stand_in, new_plot

NAME = "composer"
SLIDER_MARGIN = (5, 18, 5, 18)  # room for the slider handle at either end
CUSTOM = "custom"
BUDGETS_GIB = (8, 12, 16, 24, 32, 48, 80)
GB_PER_GIB = GIB / 1e9
# Budgets whose lines carry a label. 12 GiB sits too close to 8 and 16 GiB on a
# 360 px phone, so its line is drawn unlabelled.
LABELLED_BUDGETS_GIB = (8, 16, 24, 32, 48, 80)
BUDGET_ROW = " "  # an empty category above the bars that carries the budget labels
STORAGE_NOTE = (
    "Zeroed weights still take space in a dense runtime, so this pruning method lowers the effective "
    "parameters but not the stored size. Only structured pruning shrinks the file."
)
DOUBLE_COUNT_NOTE = (
    "Structured pruning and distillation share calibration models (Minitron, Llama 3.2), "
    "so setting both may count the same loss twice."
)
TIGHT_SHARE = 0.8  # above this share of a budget, the verdict warns that little room is left
# Parameter counts, in billions, offered for a base model that is not on the list.
PARAMS_GRID_B = (0.5, 1, 1.5, 2, 3, 4, 5, 7, 8, 9, 12, 14, 20, 27, 32, 40, 50, 70, 100, 140, 180, 235, 405)
# The quality index runs from chance on MMLU's four options (25 %) to a perfect
# score (100 %), both relative to Llama-3.1-8B's 66.7.
DEFAULT_STATE = {"model": "llama-3.1-8b", "bits": "BF16", "p": 0.0, "method": "one_shot", "k": 1.0, "rank": 1.0, "params": 8.0}
STEP_COLOURS = {
    "bits": TECHNIQUE_COLOURS["quantisation"],
    "prune": TECHNIQUE_COLOURS["pruning"],
    "distil": TECHNIQUE_COLOURS["distillation"],
    "rank": TECHNIQUE_COLOURS["low-rank"],
}
STEP_LABELS = {"base": "Base model", "bits": "Precision", "prune": "Pruning", "distil": "Distillation", "rank": "Low rank", "result": "Result"}


def model_slug(name: str) -> str:
    """Return the fragment spelling of a real model's name ("Llama-3.1-8B" → "llama-3.1-8b")."""
    return name.lower()


def method_slug(key: str) -> str:
    """Return the fragment spelling of a pruning method key ("one_shot" → "one-shot")."""
    return key.replace("_", "-")


def quality_trend(model, params: np.ndarray) -> np.ndarray:
    """Return the base quality index expected of a model with ``params`` parameters.

    A straight line through the real models' indices against log10(params),
    clipped to the range from MMLU chance (25 %) to a perfect score. It is Q0
    when the reader picks a parameter count rather than a real model.
    """
    # NOTE: a trend across families, instruction-tuned and base models; a single
    # real model can sit 15 points off it.
    x = np.log10([real.params / 1e9 for real in model.real_models])
    y = np.array([real.quality_index for real in model.real_models])
    slope, intercept = np.polyfit(x, y, 1)
    low = 100.0 * 25.0 / model.reference_mmlu
    high = 100.0 * 100.0 / model.reference_mmlu
    return np.clip(intercept + slope * np.log10(np.asarray(params) / 1e9), low, high)


@dataclass(frozen=True)
class Composition:
    """The simulator's outputs for one setting of its controls, computed in numpy."""

    params: float
    q0: float
    bits: float
    effective_params: float
    stored_params: float
    gb: float  # stored weights in decimal GB
    base_gb: float
    factors: dict[str, float]
    quality: float
    steps: list[float]  # quality after the base, each factor in turn, and the result
    notes: tuple[str, ...] = ()


def compose(model, state: dict) -> Composition:
    """Compute the simulator's outputs for ``state`` (keys as in :data:`DEFAULT_STATE`)."""
    if state["model"] == CUSTOM:
        params = float(state["params"]) * 1e9
        q0 = float(quality_trend(model, params))
    else:
        real = next(real for real in model.real_models if model_slug(real.name) == state["model"])
        params, q0 = real.params, real.quality_index
    factors = model.factors(state["bits"], state["p"], state["method"], state["k"], state["rank"])
    effective = model.effective_params(params, state["p"], state["k"], state["rank"])
    stored = model.stored_params(params, state["p"], state["method"], state["k"], state["rank"])
    steps = [q0]
    for key in ("q_bits", "q_prune", "q_distil", "q_rank"):
        steps.append(steps[-1] * factors[key])
    quality = model.quality(q0, state["bits"], state["p"], state["method"], state["k"], state["rank"])
    return Composition(
        params=params,
        q0=q0,
        bits=model.bits_per_weight(state["bits"]),
        effective_params=effective,
        stored_params=stored,
        gb=model.weight_gb(stored, state["bits"]),
        base_gb=model.weight_gb(params, "BF16"),
        factors=factors,
        quality=quality,
        steps=steps + [quality],
        notes=composition_notes(model, state),
    )


def nearest_index(grid, value: float) -> int:
    """Return the index of the grid value nearest ``value`` (the first of two equally near)."""
    return min(range(len(grid)), key=lambda i: (abs(grid[i] - value), i))


def join_words(items: list[str], conjunction: str) -> str:
    """Join ["8", "16", "24"] as "8, 16 and 24"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def verdict(gb: float) -> str:
    """Say in plain words which of the memory budgets (GiB) the stored weights (decimal GB) fit."""
    gib = gb / GB_PER_GIB
    fits = [budget for budget in BUDGETS_GIB if gib <= budget]
    misses = [budget for budget in BUDGETS_GIB if gib > budget]
    if not fits:
        cards = math.ceil(gib / BUDGETS_GIB[-1])
        text = (
            f"The weights fit none of these budgets: they alone would fill {cards} "
            f"accelerators with {BUDGETS_GIB[-1]} GiB each."
        )
    elif not misses:
        text = f"The weights fit every budget here: {join_words([str(b) for b in fits], 'and')} GiB."
    else:
        text = (
            f"The weights fit in {join_words([str(b) for b in fits], 'and')} GiB, "
            f"but not in {join_words([str(b) for b in misses], 'or')} GiB."
        )
    if fits and gib > TIGHT_SHARE * fits[0]:
        text += f" In {fits[0]} GiB they leave little room."
    return text + " This counts weights only: the KV cache and activations need room on top."


def composition_notes(model, state: dict) -> tuple[str, ...]:
    """Return the warnings that apply to a state: zeroed weights kept in storage, and double counting."""
    shrinks = model.pruning_methods[state["method"]].shrinks_storage
    found = []
    if state["p"] > 0 and not shrinks:
        found.append(STORAGE_NOTE)
    if state["p"] > 0 and shrinks and state["k"] > 1:
        found.append(DOUBLE_COUNT_NOTE)
    return tuple(found)


VERDICT_JS = """
function join_words(items, conjunction) {
  return items.length === 1 ? items[0] : items.slice(0, -1).join(", ") + " " + conjunction + " " + items[items.length - 1];
}
function verdict(gb) {
  const gib = gb / gb_per_gib;
  const fits = budgets.filter((b) => gib <= b);
  const misses = budgets.filter((b) => gib > b);
  const largest = budgets[budgets.length - 1];
  let text;
  if (fits.length === 0) {
    const cards = Math.ceil(gib / largest);
    text = `The weights fit none of these budgets: they alone would fill ${cards} accelerators with ${largest} GiB each.`;
  } else if (misses.length === 0) {
    text = `The weights fit every budget here: ${join_words(fits.map(String), "and")} GiB.`;
  } else {
    text = `The weights fit in ${join_words(fits.map(String), "and")} GiB, but not in ${join_words(misses.map(String), "or")} GiB.`;
  }
  if (fits.length > 0 && gib > tight_share * fits[0]) text += ` In ${fits[0]} GiB they leave little room.`;
  return text + " This counts weights only: the KV cache and activations need room on top.";
}
function notes(p, k, method) {
  const found = [];
  if (p > 0 && !tables.prune_shrinks_storage[method]) found.push(storage_note);
  if (p > 0 && tables.prune_shrinks_storage[method] && k > 1) found.push(double_count_note);
  return found;
}
"""

# Read the controls into the fragment's state and find each lookup-table index.
STATE_JS = """
function grid_position(grid, value) {
  let best = 0;
  for (let i = 1; i < grid.length; i++) if (Math.abs(grid[i] - value) < Math.abs(grid[best] - value)) best = i;
  return best;
}
function current_state() {
  const state = {model: controls.model.value};
  if (controls.model.value === custom) state.params = String(params_grid[Math.round(controls.params.value)]);
  state.bits = controls.bits.value;
  state.p = tables.prune_grid[grid_position(tables.prune_grid, controls.p.value)].toFixed(2);
  state.method = controls.method.value.replace(/_/g, "-");
  state.k = tables.distil_grid[grid_position(tables.distil_grid, controls.k.value)].toFixed(1);
  state.rank = tables.rank_grid[grid_position(tables.rank_grid, controls.rank.value)].toFixed(2);
  return state;
}
"""

# Recompute every output from the lookup tables, in numpy's order of operations.
# With a real base model the size slider is disabled and only shows the nearest
# grid size, so the change this callback makes to it needs no second update.
UPDATE_JS = """
if (cb_obj === controls.params && controls.model.value !== custom) return;
const s = current_state();
const custom_size = s.model === custom;
controls.params.disabled = !custom_size;
const m = custom_size ? -1 : bases.slug.indexOf(s.model);
const i_params = Math.round(controls.params.value);
const params = custom_size ? params_grid[i_params] * 1e9 : bases.params[m];
const q0 = custom_size ? params_q0[i_params] : bases.index[m];
if (!custom_size) {
  // The disabled slider shows the grid size nearest the chosen model.
  const nearest = grid_position(params_grid, params / 1e9);
  if (controls.params.value !== nearest) controls.params.value = nearest;
}
const precision = tables.precisions.find((entry) => entry.name === s.bits);
const i_p = grid_position(tables.prune_grid, controls.p.value);
const i_k = grid_position(tables.distil_grid, controls.k.value);
const i_r = grid_position(tables.rank_grid, controls.rank.value);
const p = tables.prune_grid[i_p];
const k = tables.distil_grid[i_k];
const q = {
  bits: precision.quality,
  prune: tables.prune[controls.method.value][i_p],
  distil: tables.distil[i_k],
  rank: tables.rank[i_r],
};
const effective = params * (1.0 - p) / k * tables.rank_param_fraction[i_r];
const stored_p = tables.prune_shrinks_storage[controls.method.value] ? p : 0.0;
const stored = params * (1.0 - stored_p) / k * tables.rank_param_fraction[i_r];
const gb = stored * precision.bits / 8.0 / 1e9;
const base_gb = params * 16 / 8.0 / 1e9;
const product = q.bits * q.prune * q.distil * q.rank;
const quality = Math.min(q0, Math.max(0, q0 * product));
const steps = [q0];
for (const key of ["bits", "prune", "distil", "rank"]) steps.push(steps[steps.length - 1] * q[key]);
steps.push(quality);

// Patching only the changed cells spares BokehJS the deep comparison of old and
// new columns that an assignment to data makes.
patch_if_changed(footprint, {gb: [[0, base_gb], [1, gb]]});
footprint_range.end = Math.max(95, 1.1 * Math.max(base_gb, gb));
patch_if_changed(waterfall, waterfall_patches(steps, q));
patch_if_changed(composed, {gb: [[0, gb]], quality: [[0, quality]], base_gb: [[0, base_gb]], q0: [[0, q0]]});
scatter_range.start = Math.min(0.2, gb / 2);

set_text("gb", format_gb(gb));
set_text("base-gb", format_gb(base_gb));
set_text("effective", format_params(effective));
set_text("quality", format_quality(quality));
set_text("q0", format_quality(q0));
set_text("verdict", verdict(gb));
set_text("notes", notes(p, k, controls.method.value).join(" "));
for (const key of ["bits", "prune", "distil", "rank"]) set_text(`q-${key}`, format_number(q[key], 3));
write_fragment(figure_name, s);
"""

WATERFALL_JS = """
function set_text(key, text) {
  const element = document.getElementById(`${figure_name}-${key}`);
  if (element !== null) element.textContent = text;
}
function patch_if_changed(source, patches) {
  // A patch repaints even when every value is equal, so patch only when one differs.
  for (const [column, edits] of Object.entries(patches)) {
    const data = source.data[column];
    for (const [where, value] of edits) {
      const changed = typeof where === "number" ? data[where] !== value
        : value.some((item, offset) => data[where.start + offset] !== item);
      if (changed) {
        source.patch(patches);
        return;
      }
    }
  }
}
function waterfall_patches(steps, q) {
  // Each technique row spans from the quality after it to the quality before it.
  const left = [0, steps[1], steps[2], steps[3], steps[4], 0];
  const right = [steps[0], steps[0], steps[1], steps[2], steps[3], steps[5]];
  const text = [format_quality(steps[0]), "× " + format_number(q.bits, 3), "× " + format_number(q.prune, 3),
                "× " + format_number(q.distil, 3), "× " + format_number(q.rank, 3), format_quality(steps[5])];
  const rows = {start: 0, stop: left.length};
  return {left: [[rows, left]], right: [[rows, right]], text: [[rows, text]],
          text_x: [[rows, right.map((x) => Math.max(x, 0))]]};
}
"""

RESTORE_JS = """
const state = read_fragment(figure_name);
if (state === null) { mark_restored(figure_name, "none"); return; }
let accepted = 0;
const model = state.get("model");
if (model === custom || bases.slug.includes(model)) { controls.model.value = model; accepted++; }
if (model === custom) {
  const i = grid_index(params_grid, state.get("params"));
  if (i >= 0) { controls.params.value = i; accepted++; }
}
const precision = state.get("bits");
if (tables.precisions.some((entry) => entry.name === precision)) { controls.bits.value = precision; accepted++; }
const method = (state.get("method") ?? "").replace(/-/g, "_");
if (Object.prototype.hasOwnProperty.call(tables.prune, method)) { controls.method.value = method; accepted++; }
for (const [key, grid] of [["p", tables.prune_grid], ["k", tables.distil_grid], ["rank", tables.rank_grid]]) {
  const i = grid_index(grid, state.get(key));
  if (i >= 0) { controls[key].value = grid[i]; accepted++; }
}
mark_restored(figure_name, accepted > 0 ? "restored" : "ignored");
"""

COPY_JS = """
const url = fragment_url(figure_name, current_state());
const status = document.getElementById(`${figure_name}-copy-status`);
const fallback = document.getElementById(`${figure_name}-link`);
function offer_fallback() {
  fallback.value = url;
  fallback.hidden = false;
  fallback.focus();
  fallback.select();
  status.textContent = "Copying is not available here: the link is selected in the box below.";
}
write_fragment(figure_name, current_state());
fragment_writer().flush();
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(url).then(() => {
    fallback.hidden = true;
    status.textContent = "Link copied. Paste it anywhere to come back to this configuration.";
  }, offer_fallback);
} else {
  offer_fallback();
}
"""


def waterfall_rows(composition: Composition) -> dict[str, list]:
    """Return the waterfall's bars: the base, the loss of each factor, and the result."""
    steps = composition.steps
    factors = composition.factors
    return {
        "step": [STEP_LABELS[key] for key in ("base", "bits", "prune", "distil", "rank", "result")],
        "left": [0.0, steps[1], steps[2], steps[3], steps[4], 0.0],
        "right": [steps[0], steps[0], steps[1], steps[2], steps[3], steps[5]],
        "colour": [NEUTRAL, *STEP_COLOURS.values(), HIGHLIGHT],
        "text": [
            format_quality(steps[0]),
            *[f"× {format_number(factors[key], 3)}" for key in ("q_bits", "q_prune", "q_distil", "q_rank")],
            format_quality(steps[5]),
        ],
        "text_x": [max(x, 0.0) for x in (steps[0], steps[0], steps[1], steps[2], steps[3], steps[5])],
    }


def footprint_plot(composition: Composition):
    """Return the moving footprint bar against the memory budgets."""
    source = ColumnDataSource(name=f"{NAME}-footprint", data={
        "y": ["At 16 bits", "Composed"],
        "gb": [composition.base_gb, composition.gb],
        "colour": [NEUTRAL, HIGHLIGHT],
    })
    x_range = Range1d(0, max(95, 1.1 * max(composition.base_gb, composition.gb)))
    plot = new_plot(
        height=165, x_range=x_range, y_range=FactorRange("Composed", "At 16 bits", BUDGET_ROW),
        x_axis_label="Stored weights (GB); budgets (GiB)", min_border_left=84,
    )
    plot.hbar(y="y", right="gb", left=0, height=0.62, source=source, fill_color="colour", line_alpha=0, fill_alpha=0.9)
    for budget in BUDGETS_GIB:
        plot.add_layout(Span(location=budget * GB_PER_GIB, dimension="height", line_color=NEUTRAL, line_dash="dashed", line_width=1.2))
    last = LABELLED_BUDGETS_GIB[-1]
    plot.add_layout(LabelSet(
        x="x", y="y", text="text", source=ColumnDataSource(name=f"{NAME}-budget-labels", data={
            "x": [b * GB_PER_GIB for b in LABELLED_BUDGETS_GIB], "y": [BUDGET_ROW] * len(LABELLED_BUDGETS_GIB),
            "text": [f"{b} GiB" if b == last else str(b) for b in LABELLED_BUDGETS_GIB],
            # Alternate rows keep neighbouring labels apart when a large model squeezes them together.
            "offset": [6 if i % 2 == 0 else -6 for i in range(len(LABELLED_BUDGETS_GIB))],
            # The last label sits left of its line, so that it stays inside the plot.
            "align": ["right" if b == last else "left" for b in LABELLED_BUDGETS_GIB],
            "dx": [-3 if b == last else 3 for b in LABELLED_BUDGETS_GIB],
        }), text_font_size="11px", text_color=NEUTRAL, x_offset="dx", y_offset="offset", text_align="align",
        text_baseline="middle",
    ))
    plot.ygrid.grid_line_color = None
    plot.xaxis.ticker.desired_num_ticks = 4
    return plot, source, x_range


def waterfall_plot(composition: Composition):
    """Return the waterfall of the quality product: each technique's row spans what it costs."""
    source = ColumnDataSource(waterfall_rows(composition), name=f"{NAME}-waterfall")
    plot = new_plot(
        height=250, x_range=Range1d(0, 172), y_range=FactorRange(*reversed(source.data["step"])),
        x_axis_label="Quality index", min_border_left=100, title="What each factor costs",
    )
    plot.hbar(y="step", left="left", right="right", height=0.62, source=source, fill_color="colour", line_alpha=0)
    plot.add_layout(LabelSet(
        x="text_x", y="step", text="text", source=source, x_offset=5, text_baseline="middle", text_font_size="12px",
        text_color=NEUTRAL,
    ))
    plot.ygrid.grid_line_color = None
    plot.xaxis.ticker = FixedTicker(ticks=[0, 25, 50, 75, 100, 125, 150])
    return plot, source


def scatter_plot(model, composition: Composition):
    """Return the size–quality chart: the real models at 16 bits and INT4, and the composed point."""
    names, gbs, qualities, precisions = [], [], [], []
    for precision, label in (("BF16", "16 bits"), ("INT4", "INT4")):
        for real in model.real_models:
            names.append(real.name)
            precisions.append(label)
            gbs.append(model.weight_gb(real.params, precision))
            qualities.append(real.quality_index * model.q_bits(precision))
    count = len(model.real_models)

    reals = ColumnDataSource({
        "gb": np.asarray(gbs, dtype=np.float32),
        "quality": np.asarray(qualities, dtype=np.float32),
        "name": names,
        "precision": precisions,
        "colour": [NEUTRAL] * count + [TECHNIQUE_COLOURS["quantisation"]] * count,
    })
    x_range = Range1d(min(0.2, composition.gb / 2), 400)
    plot = new_plot(
        height=300, x_axis_type="log", x_range=x_range, y_range=Range1d(0, 160),
        x_axis_label="Weights (decimal GB, log scale)", y_axis_label="Quality index",
        title="Beside the real models",
    )
    ticks = [0.001, 0.01, 0.1, 1, 10, 100]
    plot.xaxis.ticker = FixedTicker(ticks=ticks)
    plot.xaxis.major_label_overrides = {tick: f"{tick:g}" for tick in ticks}

    dots = plot.scatter("gb", "quality", source=reals, size=7, fill_color="colour", line_color="colour", fill_alpha=0.45, line_alpha=0.7)
    composed = ColumnDataSource(name=f"{NAME}-composed", data={
        "gb": [composition.gb], "quality": [composition.quality], "base_gb": [composition.base_gb], "q0": [composition.q0],
    })
    plot.add_layout(Arrow(
        source=composed, x_start="base_gb", y_start="q0", x_end="gb", y_end="quality",
        line_color=HIGHLIGHT, line_width=2, end=NormalHead(size=9, fill_color=HIGHLIGHT, line_alpha=0),
    ))
    start = plot.scatter("base_gb", "q0", source=composed, size=11, fill_alpha=0, line_color=HIGHLIGHT, line_width=2)
    star = plot.scatter("gb", "quality", source=composed, marker="star", size=18, fill_color=HIGHLIGHT, line_color="#1d232b", line_width=1)
    # The grey and blue dots share one renderer, so each legend item points at its first row.
    plot.add_layout(Legend(
        items=[
            LegendItem(label="real models, 16 bits", renderers=[dots], index=0),
            LegendItem(label="real models, INT4 (rule of thumb)", renderers=[dots], index=count),
            # The composed source changes with every control, so these items draw stand-ins.
            LegendItem(label="your base model", renderers=[legend_stand_in(plot, start)]),
            LegendItem(label="composed", renderers=[legend_stand_in(plot, star)]),
        ],
        location="top_left", orientation="vertical", background_fill_alpha=0, border_line_alpha=0,
        label_text_font_size="11px", glyph_height=14, glyph_width=14, padding=2, spacing=0, margin=4,
        name=f"{NAME}-legend",
    ))
    plot.add_tools(HoverTool(renderers=[dots], tooltips=[("Model", "@name"), ("Precision", "@precision"), ("Weights", "@gb{0.0} GB"), ("Quality index", "@quality{0.0}")]))
    return plot, composed, x_range


FACTOR_ROWS = (("bits", "Precision"), ("prune", "Pruning"), ("distil", "Distillation"), ("rank", "Low rank"))


def readout_texts(composition: Composition) -> dict[str, str]:
    """Return the text of every readout element, keyed by element id."""
    texts = {
        f"{NAME}-gb": format_gb(composition.gb),
        f"{NAME}-base-gb": format_gb(composition.base_gb),
        f"{NAME}-effective": format_params(composition.effective_params),
        f"{NAME}-quality": format_quality(composition.quality),
        f"{NAME}-q0": format_quality(composition.q0),
        f"{NAME}-verdict": verdict(composition.gb),
        f"{NAME}-notes": " ".join(composition.notes),
    }
    for key, _label in FACTOR_ROWS:
        texts[f"{NAME}-q-{key}"] = format_number(composition.factors["q_" + key], 3)
    return texts


def readouts_html(composition: Composition) -> str:
    """Return the readouts as rendered before JavaScript runs."""
    text = {key.removeprefix(f"{NAME}-"): escape(value) for key, value in readout_texts(composition).items()}
    factor_rows = "".join(
        f'<tr><th scope="row"><span class="key-swatch" style="--swatch: {STEP_COLOURS[key]}"></span>{label}</th>'
        f'<td><output id="{NAME}-q-{key}">{text["q-" + key]}</output></td></tr>'
        for key, label in FACTOR_ROWS
    )
    return Markup(
        '<dl class="readout-list composer-readouts">'
        f'<div class="readout"><dt>Stored weights</dt><dd><output id="{NAME}-gb">{text["gb"]}</output>'
        f' <span class="readout-note">from <output id="{NAME}-base-gb">{text["base-gb"]}</output> at 16 bits</span></dd></div>'
        f'<div class="readout"><dt>Effective (non-zero) parameters</dt><dd><output id="{NAME}-effective">{text["effective"]}</output></dd></div>'
        f'<div class="readout"><dt>Quality index</dt><dd><output id="{NAME}-quality">{text["quality"]}</output>'
        f' <span class="readout-note">from <output id="{NAME}-q0">{text["q0"]}</output></span></dd></div>'
        "</dl>"
        f'<p class="composer-verdict" id="{NAME}-verdict">{text["verdict"]}</p>'
        f'<p class="composer-notes readout-note" id="{NAME}-notes">{text["notes"]}</p>'
        f'<table class="readout-table composer-factors"><caption>Quality factors, multiplied</caption><tbody>{factor_rows}</tbody></table>'
        f'<p class="composer-copy"><span id="{NAME}-copy-status"></span>'
        f'<input id="{NAME}-link" class="composer-link" type="text" readonly hidden aria-label="Link to this configuration"></p>'
    )


def caveat_html() -> str:
    return Markup(
        '<p class="composer-caveat"><strong>First-order estimates for intuition, not a benchmark.</strong> '
        "The memory counts stored weights only; the KV cache, activations and the runtime come on top. "
        "Budgets are in GiB, as cards are sold; file sizes are in decimal GB. "
        "Quality is a product of rules of thumb calibrated on published results.</p>"
    )


@figure(
    NAME,
    caption="The simulator: stack the four techniques on a base model and read off memory, size and quality.",
    summary=(
        "Controls choose a base model, a precision, a fraction pruned and its method, a distillation factor "
        "and a low-rank ratio. A bar shows the stored weight footprint against memory budgets of 8, 12, 16, 24, 32, "
        "48 and 80 GiB, "
        "a waterfall shows how each factor multiplies the quality index down, and a chart places the composed "
        "model beside the real models. At the start, Llama-3.1-8B at 16 bits takes 16.1 GB and scores 100."
    ),
    height=720,
    phone_height=1269,
    data=("coefficients", "calibration", "models"),
)
def composer(model) -> FigureParts:
    tables = model.lookup_tables()
    composition = compose(model, DEFAULT_STATE)
    params_grid = list(map(float, PARAMS_GRID_B))
    bases = {
        "slug": [model_slug(real.name) for real in model.real_models],
        "params": [real.params for real in model.real_models],
        "index": [real.quality_index for real in model.real_models],
    }

    controls = {
        "model": Select(
            title="Base model", value=DEFAULT_STATE["model"], name=f"{NAME}-model",
            options=[(slug, real.name) for slug, real in zip(bases["slug"], model.real_models)] + [(CUSTOM, "Other size (set below)")],
        ),
        "params": Slider(
            title="Parameters (for another size)", start=0, end=len(params_grid) - 1, step=1,
            value=nearest_index(params_grid, composition.params / 1e9), disabled=True, name=f"{NAME}-params",
            format=CustomJSTickFormatter(args=dict(grid=params_grid), code="return grid[Math.round(tick)] + ' billion';"),
        ),
        "bits": Select(
            title="Precision", value=DEFAULT_STATE["bits"], name=f"{NAME}-bits",
            options=precision_options(model),
        ),
        "p": Slider(title="Fraction pruned", start=0, end=0.95, step=0.01, value=DEFAULT_STATE["p"], format="0%", name=f"{NAME}-p"),
        "method": Select(
            title="Pruning method", value=DEFAULT_STATE["method"], name=f"{NAME}-method",
            options=[(key, method.label) for key, method in model.pruning_methods.items()],
        ),
        "k": Slider(
            title="Distillation: teacher / student size", start=1, end=10, step=0.1, value=DEFAULT_STATE["k"],
            format="0.0", name=f"{NAME}-k",
        ),
        "rank": Slider(
            title="Low rank: kept rank r / d", start=0.05, end=1, step=0.05, value=DEFAULT_STATE["rank"],
            format="0.00", name=f"{NAME}-rank",
        ),
    }
    for control in controls.values():
        control.sizing_mode = "stretch_width"
        if isinstance(control, Slider):
            control.margin = SLIDER_MARGIN

    footprint, footprint_source, footprint_range = footprint_plot(composition)
    waterfall, waterfall_source = waterfall_plot(composition)
    scatter, composed, scatter_range = scatter_plot(model, composition)

    shared = dict(
        figure_name=NAME,
        controls=controls,
        custom=CUSTOM,
        params_grid=params_grid,
        bases=bases,
        tables={
            "prune_grid": np.asarray(tables["prune_grid"], dtype=np.float64),
            "prune": {key: np.asarray(values, dtype=np.float64) for key, values in tables["prune"].items()},
            "distil_grid": np.asarray(tables["distil_grid"], dtype=np.float64),
            "distil": np.asarray(tables["distil"], dtype=np.float64),
            "rank_grid": np.asarray(tables["rank_grid"], dtype=np.float64),
            "rank": np.asarray(tables["rank"], dtype=np.float64),
            "rank_param_fraction": np.asarray(tables["rank_param_fraction"], dtype=np.float64),
            "prune_shrinks_storage": tables["prune_shrinks_storage"],
            "precisions": [{"name": p["name"], "bits": p["bits"], "quality": p["quality"]} for p in tables["precisions"]],
        },
    )
    update = CustomJS(
        args=dict(
            shared,
            params_q0=quality_trend(model, np.asarray(params_grid) * 1e9).tolist(),
            budgets=list(BUDGETS_GIB),
            gb_per_gib=GB_PER_GIB,
            tight_share=TIGHT_SHARE,
            storage_note=STORAGE_NOTE,
            double_count_note=DOUBLE_COUNT_NOTE,
            footprint=footprint_source,
            footprint_range=footprint_range,
            waterfall=waterfall_source,
            composed=composed,
            scatter_range=scatter_range,
        ),
        code=FORMAT_JS + FRAGMENT_JS + VERDICT_JS + STATE_JS + WATERFALL_JS + UPDATE_JS,
    )
    for control in controls.values():
        control.js_on_change("value", update)

    copy = Button(label="Copy link", name=f"{NAME}-copy", button_type="default", width=140)
    copy.js_on_event("button_click", CustomJS(args=shared, code=FRAGMENT_JS + STATE_JS + COPY_JS))

    plots = Row(waterfall, scatter, sizing_mode="stretch_width", stylesheets=[PLOT_ROW_CSS])
    layout = column(
        control_row(controls["model"], controls["params"]),
        control_row(controls["bits"], controls["p"], controls["method"]),
        control_row(controls["k"], controls["rank"]),
        footprint,
        plots,
        copy,
        sizing_mode="stretch_width",
    )
    restore_on_ready(layout, CustomJS(args=shared, code=FRAGMENT_JS + RESTORE_JS))
    return FigureParts(
        root=layout,
        html=caveat_html(),
        readouts=readouts_html(composition),
        facts=(
            ("Base model", "Llama-3.1-8B at 16 bits"),
            ("Weights", format_gb(composition.gb)),
            ("Quality index", format_quality(composition.quality)),
            ("INT4 weights of the same model", format_gb(model.weight_gb(composition.params, "INT4"))),
        ),
    )


# The waterfall and the scatter sit side by side, and stack below 360 px each.
PLOT_ROW_CSS = """
:host { flex-wrap: wrap; column-gap: 24px; row-gap: 12px; }
:host > * { flex: 1 1 360px !important; min-width: 0; }
"""
