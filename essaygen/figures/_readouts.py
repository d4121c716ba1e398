"""Readout markup, a responsive row of controls and JavaScript helpers shared by several figures.

A readout is a labelled value in the page's own DOM, inside the figure's
``aria-live`` region, so a screen reader announces it when a control moves.
Its element id is ``<figure>-<key>``. The build renders each value with the
Python formatters in :mod:`._format` and ``CustomJS`` rewrites it with their
JavaScript twins; :data:`READOUT_JS` bundles those twins with a setter.

The markup is a ``<dl class="readout-list">``; the "Readouts" rules
in theme/essay.css lays it out.
"""

from __future__ import annotations

import math
from typing import Iterable

from bokeh.models import Row

from ._format import FORMAT_JS, MISSING, format_gb, format_number


def readout_list(figure_name: str, items: Iterable[tuple[str, str, str]], *, css_class: str = "") -> str:
    """Return a ``<dl>`` of readouts from ``(key, label, value)`` rows.

    ``label`` and ``value`` are trusted HTML. Each value sits in an ``<output>``
    with the id ``<figure_name>-<key>`` so that CustomJS can find it.
    """
    rows = "".join(
        f'<div class="readout"><dt>{label}</dt>'
        f'<dd><output id="{figure_name}-{key}">{value}</output></dd></div>'
        for key, label, value in items
    )
    classes = f"readout-list {css_class}".strip()
    return f'<dl class="{classes}">{rows}</dl>'


def format_significant(x: float, figures: int = 2) -> str:
    """Format a positive ``x`` to ``figures`` significant figures in fixed notation (0.00044).

    Zero prints as "0" and a negative or non-finite value as an em dash, because a
    readout built on this formatter measures a size or an error. At most 12 decimals
    are shown.
    """
    if not math.isfinite(x) or x < 0:
        return MISSING
    if x == 0:
        return "0"
    decimals = min(12, max(0, figures - 1 - math.floor(math.log10(x))))
    return format_number(x, decimals)


def format_size(gigabytes: float) -> str:
    """Format decimal GB like :func:`format_gb` but without trailing zeros ("16 GB", "4.9 GB", "250 MB")."""
    text = format_gb(gigabytes)
    if text == MISSING:
        return text
    number, unit = text.rsplit(" ", 1)
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return f"{number} {unit}"


# NOTE: ECMAScript lets Math.log10 be approximate, so for an x within a rounding error of
# a power of 10 the JavaScript format_significant could choose one decimal more or fewer.
READOUT_JS = FORMAT_JS + r"""
function format_significant(x, figures = 2) {
  if (!Number.isFinite(x) || x < 0) return MISSING;
  if (x === 0) return "0";
  const decimals = Math.min(12, Math.max(0, figures - 1 - Math.floor(Math.log10(x))));
  return format_number(x, decimals);
}
function format_size(gigabytes) {
  const text = format_gb(gigabytes);
  if (text === MISSING) return text;
  let [number, unit] = text.split(" ");
  if (number.includes(".")) number = number.replace(/0+$/, "").replace(/\.$/, "");
  return number + " " + unit;
}
function set_readout(id, text) {
  const element = document.getElementById(id);
  if (element !== null && element.textContent !== text) element.textContent = text;
}
"""

# Controls sit side by side while each keeps at least CONTROL_MIN_WIDTH pixels,
# and wrap onto further lines on a narrow screen instead of squeezing.
CONTROL_MIN_WIDTH = 220
WRAPPING_ROW_CSS = """
:host { flex-wrap: wrap; column-gap: 24px; row-gap: 4px; }
:host > * { flex: 1 1 %dpx !important; min-width: 0; }
""" % CONTROL_MIN_WIDTH


def control_row(*controls) -> Row:
    """Return a full-width row of controls that wraps on narrow screens."""
    return Row(*controls, sizing_mode="stretch_width", stylesheets=[WRAPPING_ROW_CSS])
