"""The arithmetic: the three first-order equations, each with a live worked example.

The equations are MathML made at build time with latex2mathml, so they need no
JavaScript. Four controls feed the examples: the parameter count N, the number
format (bits per weight b and its quality factor), the fraction pruned p and the
distillation factor k. The footprint reads N, k and b: the pruning here is the
default unstructured method, whose zeroed weights still take space in a dense
runtime, so p does not shrink the stored file. Effective (non-zero) parameters
read N, p and k, and quality reads b, p and k. The browser looks the factors up in the
model's tables and multiplies, in the same order as numpy. The controls are
shared through the URL fragment as ``#arithmetic:n=8B&format=FP16&p=0.30&k=2.0``.
"""

from __future__ import annotations

from bokeh.layouts import column
from bokeh.models import CategoricalSlider, CustomJS, Select, Slider
from latex2mathml.converter import convert
from markupsafe import escape

from ..model import DEFAULT_METHOD, DISTIL_GRID, PRUNE_GRID
from . import FigureParts, figure
from ._format import format_number, format_params
from ._precision import FORMAT_BITS_JS, format_bits, precision_options
from ._fragment import FRAGMENT_JS, restore_on_ready
from ._readouts import READOUT_JS, control_row, format_size, readout_list
from ._style import TECHNIQUE_COLOURS

NAME = "arithmetic"
PARAMS = {
    "0.5B": 0.5e9,
    "1B": 1e9,
    "3B": 3e9,
    "7B": 7e9,
    "8B": 8e9,
    "14B": 14e9,
    "32B": 32e9,
    "70B": 70e9,
    "405B": 405e9,
}
DEFAULTS = {"params": "8B", "precision": "FP16", "prune": 0.3, "distil": 2.0}
Q0 = 100.0
# Low-rank factorisation has its own figure, so here the rank is kept whole (r/d = 1).
RANK_RATIO = 1.0

EQUATIONS = (
    (
        "Footprint",
        r"M = \frac{N_{\mathrm{stored}} \times b}{8}",
        "<i>M</i> bytes of weights for <i>N</i><sub>stored</sub> parameters stored at <i>b</i> bits each. "
        "A distilled student stores <i>N</i>/<i>k</i>; weights zeroed by unstructured pruning still take "
        "space in a dense runtime.",
    ),
    (
        "Effective parameters",
        r"N_{\mathrm{eff}} = \frac{N\,(1 - p)}{k}",
        "Pruning removes a fraction <i>p</i> of the weights; distillation trains a student "
        "<i>k</i> times smaller.",
    ),
    (
        "Quality",
        r"Q = Q_0 \cdot q_{\mathrm{bits}} \cdot q_{\mathrm{prune}}(p) \cdot q_{\mathrm{distil}}(k)"
        r" \cdot q_{\mathrm{rank}}(r/d)",
        "Each technique keeps a fraction of the base quality <i>Q</i><sub>0</sub> = 100, and the "
        "fractions multiply. <i>q</i><sub>bits</sub> depends on the number format.",
    ),
)


def footprint_example(label: str, k: float, bits: float, gigabytes: float) -> str:
    """Write the stored footprint as (N ÷ k) × b ÷ 8, leaving out ÷ k when nothing is distilled."""
    stored = label if k == 1 else f"({label} ÷ {format_number(k, 1)})"
    return f"{stored} × {format_bits(bits)} bits ÷ 8 = {format_size(gigabytes)}"


def effective_example(label: str, p: float, k: float, n_eff: float) -> str:
    return f"{label} × (1 − {format_number(p, 2)}) ÷ {format_number(k, 1)} = {format_params(n_eff)}"


def quality_example(factors: dict[str, float], quality: float) -> str:
    terms = " × ".join(format_number(factors[name], 3) for name in ("q_bits", "q_prune", "q_distil", "q_rank"))
    return f"{format_number(Q0, 0)} × {terms} = {format_number(quality, 1)}"


def equations_html() -> str:
    items = "".join(
        f'<li class="arith-equation"><span class="arith-name">{name}</span>'
        f'{convert(latex, display="block")}<span class="arith-where">{where}</span></li>'
        for name, latex, where in EQUATIONS
    )
    return f'<ol class="arith-equations">{items}</ol>'


# Mirrors CompressionModel.stored_gb, effective_params and quality.
EXAMPLES_JS = READOUT_JS + FORMAT_BITS_JS + FRAGMENT_JS + """
const label = params_slider.value;
const N = params[label];
const format = precisions[precision_select.value];
const i = Math.round(prune_slider.value * 100);
const j = Math.round((distil_slider.value - 1) * 10);
const p = prune_grid[i], k = distil_grid[j];
const b = format.bits;
const N_eff = N * (1 - p) / k * rank_param_fraction;
const N_stored = N * (1 - (shrinks_storage ? p : 0)) / k * rank_param_fraction;
const M = N_stored * b / 8 / 1e9;
const q_bits = format.quality, q_prune = prune_factor[i], q_distil = distil_factor[j];
const Q = Math.min(Q0, Math.max(0, Q0 * (q_bits * q_prune * q_distil * q_rank)));
const stored_text = k === 1 ? label : "(" + label + " \\u00f7 " + format_number(k, 1) + ")";
set_readout(prefix + "footprint", stored_text + " \\u00d7 " + format_bits(b) + " bits \\u00f7 8 = " + format_size(M));
set_readout(prefix + "effective", label + " \\u00d7 (1 \\u2212 " + format_number(p, 2) + ") \\u00f7 "
  + format_number(k, 1) + " = " + format_params(N_eff));
const terms = [q_bits, q_prune, q_distil, q_rank].map(q => format_number(q, 3)).join(" \\u00d7 ");
set_readout(prefix + "quality", format_number(Q0, 0) + " \\u00d7 " + terms + " = " + format_number(Q, 1));
write_fragment(figure_name, {n: label, format: precision_select.value, p: p.toFixed(2), k: k.toFixed(1)});
"""

# Each value from the fragment is used only if it names an option or lies on its slider's grid.
RESTORE_JS = """
const state = read_fragment(figure_name);
if (state === null) { mark_restored(figure_name, "none"); return; }
let restored = false;
const n = state.get("n");
if (n !== undefined && Object.hasOwn(params, n)) { params_slider.value = n; restored = true; }
const format = state.get("format");
if (format !== undefined && Object.hasOwn(precisions, format)) {
  precision_select.value = format;
  restored = true;
}
const i = grid_index(prune_grid, state.get("p"));
if (i >= 0) { prune_slider.value = prune_grid[i]; restored = true; }
const j = grid_index(distil_grid, state.get("k"));
if (j >= 0) { distil_slider.value = distil_grid[j]; restored = true; }
mark_restored(figure_name, restored ? "restored" : "ignored");
"""


@figure(
    NAME,
    caption="The three equations of the essay, each with a worked example you can change.",
    summary=(
        "Three equations: memory equals parameters times bits divided by eight; effective parameters "
        "equal parameters times one minus the pruned fraction, divided by the distillation factor; "
        "quality equals the base quality times one factor per technique. Under them, controls for "
        "the parameter count, the number format, the fraction pruned and the distillation factor, "
        "and a worked example of each equation with the chosen values."
    ),
    height=136,
    phone_height=268,
    # The root holds only the controls; without JavaScript the equations and the
    # worked examples at their starting values say everything.
    picture=False,
)
def arithmetic(model) -> FigureParts:
    prune_factor = model.q_prune(PRUNE_GRID, DEFAULT_METHOD)
    distil_factor = model.q_distil(DISTIL_GRID)
    rank_param_fraction = model.rank_param_fraction(RANK_RATIO)
    q_rank = model.q_rank(RANK_RATIO)
    method_label = model.pruning_methods[DEFAULT_METHOD].label

    params_slider = CategoricalSlider(
        title="Parameters N",
        name=f"{NAME}-params",
        categories=list(PARAMS),
        value=DEFAULTS["params"],
        sizing_mode="stretch_width",
        bar_color=TECHNIQUE_COLOURS["distillation"],
    )
    precision_select = Select(
        title="Number format b",
        name=f"{NAME}-precision",
        options=precision_options(model),
        value=DEFAULTS["precision"],
        sizing_mode="stretch_width",
    )
    prune_slider = Slider(
        title="Fraction pruned p",
        name=f"{NAME}-prune",
        start=float(PRUNE_GRID[0]),
        end=float(PRUNE_GRID[-1]),
        step=0.01,
        value=DEFAULTS["prune"],
        format="0%",
        sizing_mode="stretch_width",
        bar_color=TECHNIQUE_COLOURS["pruning"],
    )
    distil_slider = Slider(
        title="Distillation factor k",
        name=f"{NAME}-distil",
        start=float(DISTIL_GRID[0]),
        end=float(DISTIL_GRID[-1]),
        step=0.1,
        value=DEFAULTS["distil"],
        format="0.0",
        sizing_mode="stretch_width",
        bar_color=TECHNIQUE_COLOURS["distillation"],
    )
    shared = dict(
        params_slider=params_slider,
        precision_select=precision_select,
        prune_slider=prune_slider,
        distil_slider=distil_slider,
        params=PARAMS,
        precisions={name: {"bits": p.bits, "quality": p.quality} for name, p in model.precisions.items()},
        prune_grid=PRUNE_GRID.tolist(),
        distil_grid=DISTIL_GRID.tolist(),
        figure_name=NAME,
    )
    callback = CustomJS(
        args=dict(
            shared,
            # The factors feed readouts shown to three decimals, so they ship as float64.
            prune_factor=prune_factor.tolist(),
            distil_factor=distil_factor.tolist(),
            rank_param_fraction=rank_param_fraction,
            shrinks_storage=model.pruning_methods[DEFAULT_METHOD].shrinks_storage,
            q_rank=q_rank,
            Q0=Q0,
            prefix=f"{NAME}-",
        ),
        code=EXAMPLES_JS,
    )
    for control in (params_slider, precision_select, prune_slider, distil_slider):
        control.js_on_change("value", callback)

    n = PARAMS[DEFAULTS["params"]]
    precision = DEFAULTS["precision"]
    p, k = DEFAULTS["prune"], DEFAULTS["distil"]
    factors = model.factors(precision, p, DEFAULT_METHOD, k, RANK_RATIO)
    readouts = readout_list(
        NAME,
        [
            (
                "footprint",
                "1 · Stored footprint <i>M</i>",
                footprint_example(
                    DEFAULTS["params"], k, model.bits_per_weight(precision),
                    model.stored_gb(n, precision, p, DEFAULT_METHOD, k, RANK_RATIO),
                ),
            ),
            (
                "effective",
                "2 · Effective (non-zero) parameters <i>N</i><sub>eff</sub>",
                effective_example(DEFAULTS["params"], p, k, model.effective_params(n, p, k, RANK_RATIO)),
            ),
            (
                "quality",
                "3 · Quality <i>Q</i> = <i>Q</i><sub>0</sub> × <i>q</i><sub>bits</sub> × "
                "<i>q</i><sub>prune</sub> × <i>q</i><sub>distil</sub> × <i>q</i><sub>rank</sub>",
                quality_example(
                    factors,
                    model.quality(Q0, precision, p, DEFAULT_METHOD, k, RANK_RATIO),
                ),
            ),
        ],
        css_class="readout-list--stacked",
    )
    storage = (
        "Pruning here is unstructured, so the zeroed weights still take space in a dense runtime "
        "(llama.cpp, Ollama): <i>p</i> lowers <i>N</i><sub>eff</sub> but not <i>M</i>. "
        if not model.pruning_methods[DEFAULT_METHOD].shrinks_storage
        else ""
    )
    note = (
        f'<p class="readout-note">{storage}<i>q</i><sub>prune</sub> follows the {escape(method_label)} curve, '
        "and the rank is kept whole here (<i>r</i>/<i>d</i> = 1); the low-rank figure varies it.</p>"
    )
    facts = (
        ("8B at FP16", footprint_example("8B", 1.0, 16, model.weight_gb(8e9, 16))),
        ("8B at INT4", footprint_example("8B", 1.0, 4, model.weight_gb(8e9, 4))),
        ("8B, 30% pruned, k = 2", effective_example("8B", 0.3, 2.0, model.effective_params(8e9, 0.3, 2.0))),
    )
    controls = column(
        control_row(params_slider, precision_select),
        control_row(prune_slider, distil_slider),
        sizing_mode="stretch_width",
    )
    restore_on_ready(controls, CustomJS(args=shared, code=FRAGMENT_JS + RESTORE_JS))
    return FigureParts(root=controls, html=equations_html(), readouts=readouts + note, facts=facts)
