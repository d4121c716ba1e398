"""Quantisation: a smooth signal snapped to a grid of 2^b evenly spaced levels.

The signal stands for weight values across a network. The browser snaps it
with the same arithmetic as :func:`essaygen.model.quantise_signal` (min–max
grid, half-up rounding) and on the same float32 samples. The snapped curve and
the RMS readout therefore agree with numpy, which the browser tests check at
every bit width.
The bit width is shared through the URL fragment as ``#quantisation:b=3``.
"""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import (
    ColumnDataSource,
    CustomJS,
    CustomJSTickFormatter,
    FixedTicker,
    Slider,
)

from ..model import quantise_signal, rms_error
from . import FigureParts, figure
from ._format import format_number
from ._fragment import FRAGMENT_JS, restore_on_ready
from ._readouts import READOUT_JS, format_significant, readout_list
from ._style import NEUTRAL, TECHNIQUE_COLOURS, add_top_legend, new_plot

NAME = "quantisation"
SAMPLES = 480
MIN_BITS, MAX_BITS = 2, 16
# The page opens at 4 bits (16 levels), where the steps are visible without JavaScript.
DEFAULT_BITS = 4
# Grid lines are drawn only while they are few enough to tell apart.
MAX_DRAWN_LEVELS = 32
FP32_PATTERNS = 2**32


def make_signal(samples: int = SAMPLES) -> np.ndarray:
    """Return the figure's smooth stand-in for weights: a sum of slow sines, as float32."""
    t = np.linspace(0.0, 1.0, samples)
    signal = (
        0.62 * np.sin(2 * np.pi * 1.15 * t + 0.35)
        + 0.28 * np.sin(2 * np.pi * 2.9 * t + 1.2)
        + 0.11 * np.sin(2 * np.pi * 6.7 * t + 0.4)
    )
    return signal.astype(np.float32)


def grid_levels(signal: np.ndarray, bits: int) -> np.ndarray:
    """Return the levels of the min–max grid, or none when there are too many to draw."""
    levels = 2**bits
    if levels > MAX_DRAWN_LEVELS:
        return np.zeros(0)
    lo, hi = float(signal.min()), float(signal.max())
    return lo + np.arange(levels) * ((hi - lo) / (levels - 1))


def rms_percent(signal: np.ndarray, bits: int) -> float:
    """Return the RMS reconstruction error as a percentage of the signal's range."""
    values = signal.astype(float)
    return 100.0 * rms_error(values, bits) / (float(values.max()) - float(values.min()))


def format_bits(bits: int) -> str:
    return f"{bits} bits"


def format_rms(percent: float) -> str:
    return f"{format_significant(percent, 2)}% of range"


# Mirrors quantise_signal and rms_percent above, then rewrites the readouts.
SNAP_JS = READOUT_JS + FRAGMENT_JS + """
const b = slider.value;
const x = source.data.signal;
let lo = Infinity, hi = -Infinity;
for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
const L = 2 ** b;
const step = (hi - lo) / (L - 1);
const snapped = new Float64Array(x.length);
let squares = 0;
for (let i = 0; i < x.length; i++) {
  snapped[i] = lo + Math.floor((x[i] - lo) / step + 0.5) * step;
  squares += (x[i] - snapped[i]) ** 2;
}
source.data = {...source.data, snapped};
const y = [];
if (L <= max_drawn_levels) {
  for (let i = 0; i < L; i++) y.push(lo + i * step);
}
levels.data = {y};
const rms_percent = 100 * Math.sqrt(squares / x.length) / (hi - lo);
set_readout(prefix + "bits", b + " bits");
set_readout(prefix + "levels", format_number(L));
set_readout(prefix + "rms", format_significant(rms_percent, 2) + "% of range");
write_fragment(figure_name, {b: String(b)});
"""

RESTORE_JS = """
const state = read_fragment(figure_name);
if (state === null) { mark_restored(figure_name, "none"); return; }
const i = grid_index(bit_widths, state.get("b"));
if (i >= 0) slider.value = bit_widths[i];
mark_restored(figure_name, i >= 0 ? "restored" : "ignored");
"""

SLIDER_FORMAT_JS = READOUT_JS + """
return tick + " bits \\u00b7 " + format_number(2 ** tick) + " levels";
"""


@figure(
    NAME,
    caption="A smooth curve standing for weights, snapped to a grid of 2<sup><i>b</i></sup> levels.",
    summary=(
        "A smooth wavy curve and its quantised copy, shown first at 4 bits (16 levels), where small "
        "steps appear. At 16 and 8 bits the snapped copy lies on the curve, and at 3 and 2 bits it is "
        "a coarse staircase of "
        "8 or 4 levels. The RMS error roughly doubles with each bit removed."
    ),
    height=400,
)
def quantisation(model) -> FigureParts:
    signal = make_signal()
    snapped = quantise_signal(signal.astype(float), DEFAULT_BITS).astype(np.float32)
    source = ColumnDataSource(
        name=f"{NAME}-signal",
        data={"t": np.arange(SAMPLES, dtype=np.float32), "signal": signal, "snapped": snapped},
    )
    levels = ColumnDataSource(name=f"{NAME}-levels", data={"y": grid_levels(signal, DEFAULT_BITS)})

    margin = 0.12 * float(signal.max() - signal.min())
    plot = new_plot(
        height=340,
        x_range=(0, SAMPLES - 1),
        y_range=(float(signal.min()) - margin, float(signal.max()) + margin),
        min_border_left=40,
    )
    colour = TECHNIQUE_COLOURS["quantisation"]
    plot.hspan(y="y", source=levels, line_color=NEUTRAL, line_alpha=0.45, line_dash="dotted")
    error = plot.varea(x="t", y1="signal", y2="snapped", source=source, fill_color=colour, fill_alpha=0.22)
    full = plot.line("t", "signal", source=source, line_color=NEUTRAL, line_width=5, line_alpha=0.55)
    stepped = plot.step("t", "snapped", source=source, mode="center", line_color=colour, line_width=2)
    plot.xaxis.ticker = FixedTicker(ticks=[])
    plot.xaxis.axis_line_alpha = 0
    plot.xaxis.axis_label = "weights along the network"
    plot.xgrid.visible = False
    plot.yaxis.axis_label = "weight value"
    plot.yaxis.ticker.desired_num_ticks = 5
    plot.yaxis.minor_tick_line_color = None
    add_top_legend(plot, [("original", full), ("snapped", stepped), ("error", error)])

    slider = Slider(
        title="Precision",
        name=f"{NAME}-bits",
        start=MIN_BITS,
        end=MAX_BITS,
        step=1,
        value=DEFAULT_BITS,
        format=CustomJSTickFormatter(code=SLIDER_FORMAT_JS),
        sizing_mode="stretch_width",
        bar_color=colour,
    )
    slider.js_on_change(
        "value",
        CustomJS(
            args=dict(
                slider=slider,
                source=source,
                levels=levels,
                max_drawn_levels=MAX_DRAWN_LEVELS,
                prefix=f"{NAME}-",
                figure_name=NAME,
            ),
            code=SNAP_JS,
        ),
    )

    readouts = readout_list(
        NAME,
        [
            ("bits", "Bit width", format_bits(DEFAULT_BITS)),
            ("levels", "Levels", format_number(2**DEFAULT_BITS)),
            ("rms", "RMS error", format_rms(rms_percent(signal, DEFAULT_BITS))),
        ],
    )
    note = (
        f'<p class="readout-note">For comparison, a 32-bit float has '
        f"{format_number(FP32_PATTERNS)} bit patterns: about "
        f"{format_number(FP32_PATTERNS / 1e9, 1)} billion.</p>"
    )
    facts = tuple(
        (f"RMS error at {bits} bits ({format_number(2**bits)} levels)", format_rms(rms_percent(signal, bits)))
        for bits in (16, 8, 4, 3, 2)
    )
    root = column(plot, slider, sizing_mode="stretch_width")
    restore_on_ready(
        root,
        CustomJS(
            args=dict(slider=slider, bit_widths=list(range(MIN_BITS, MAX_BITS + 1)), figure_name=NAME),
            code=FRAGMENT_JS + RESTORE_JS,
        ),
    )
    return FigureParts(
        root=root,
        readouts=readouts + note,
        facts=facts,
    )
