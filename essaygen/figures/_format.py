"""Number formatting for readouts, in Python and in the equivalent JavaScript.

Readouts are rendered twice: at build time in Python, so the page reads right
without JavaScript, and in the browser by ``CustomJS`` as the reader moves a
control. Both sides must print the same text for the same number, so each
Python function below has a JavaScript twin in :data:`FORMAT_JS`, and the
browser tests run both over the same values.

Rounding is half away from zero on the exact binary value of the float, which
is what JavaScript's ``Number.prototype.toFixed`` does; Python's own ``format``
rounds ties to even and would disagree on values such as 0.125. Thousands are
separated with commas and decimals with a point, as in en-GB. Non-finite
numbers print as an em dash so that a reader never sees NaN or Infinity.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

MISSING = "\u2014"


def format_number(x: float, decimals: int = 0) -> str:
    """Format ``x`` with a fixed number of decimals and comma thousands separators."""
    if not math.isfinite(x):
        return MISSING
    rounded = Decimal(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{abs(rounded):f}"
    whole, _, fraction = text.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    body = ",".join(groups) + (f".{fraction}" if fraction else "")
    # A negative number that rounds to zero prints without its sign.
    negative = rounded < 0
    return f"-{body}" if negative else body


def format_gb(gigabytes: float) -> str:
    """Format a size in decimal gigabytes with about three significant figures.

    Sizes under 1 GB are shown in MB so a tiny model does not read as 0.00 GB.
    """
    if not math.isfinite(gigabytes):
        return MISSING
    if gigabytes == 0:
        return "0 GB"
    if abs(gigabytes) >= 1:
        value, unit = gigabytes, "GB"
    else:
        value, unit = gigabytes * 1000, "MB"
    return f"{format_number(value, three_figure_decimals(value))} {unit}"


def three_figure_decimals(value: float) -> int:
    """Return the decimals that show ``value`` (from 1 to 999) with about three significant figures."""
    if abs(value) >= 100:
        return 0
    if abs(value) >= 10:
        return 1
    return 2


def format_percent(fraction: float, decimals: int = 0) -> str:
    """Format a fraction (0.3) as a percentage ("30%")."""
    if not math.isfinite(fraction):
        return MISSING
    return f"{format_number(fraction * 100, decimals)}%"


def format_params(count: float) -> str:
    """Format a parameter count in words with about three significant figures ("8.03 billion")."""
    if not math.isfinite(count):
        return MISSING
    for scale, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(count) >= scale:
            value = count / scale
            return f"{format_number(value, three_figure_decimals(value))} {word}"
    return format_number(count, 0)


def format_quality(index: float) -> str:
    """Format a quality index (Llama-3.1-8B at 16 bits = 100) with one decimal."""
    return format_number(index, 1)


# The JavaScript twins of the functions above, prepended to every CustomJS
# that writes a readout. ``toFixed`` rounds half away from zero on the exact
# value, which the Python side reproduces with Decimal.
FORMAT_JS = r"""
const MISSING = "\u2014";
function format_number(x, decimals = 0) {
  if (!Number.isFinite(x)) return MISSING;
  const text = Math.abs(x).toFixed(decimals);
  const [whole, fraction] = text.split(".");
  const body = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (fraction ? "." + fraction : "");
  const negative = x < 0 && /[1-9]/.test(text);
  return negative ? "-" + body : body;
}
function format_gb(gigabytes) {
  if (!Number.isFinite(gigabytes)) return MISSING;
  if (gigabytes === 0) return "0 GB";
  const [value, unit] = Math.abs(gigabytes) >= 1 ? [gigabytes, "GB"] : [gigabytes * 1000, "MB"];
  return format_number(value, three_figure_decimals(value)) + " " + unit;
}
function three_figure_decimals(value) {
  if (Math.abs(value) >= 100) return 0;
  if (Math.abs(value) >= 10) return 1;
  return 2;
}
function format_percent(fraction, decimals = 0) {
  if (!Number.isFinite(fraction)) return MISSING;
  return format_number(fraction * 100, decimals) + "%";
}
function format_params(count) {
  if (!Number.isFinite(count)) return MISSING;
  for (const [scale, word] of [[1e12, "trillion"], [1e9, "billion"], [1e6, "million"]]) {
    if (Math.abs(count) >= scale) {
      const value = count / scale;
      return format_number(value, three_figure_decimals(value)) + " " + word;
    }
  }
  return format_number(count, 0);
}
function format_quality(index) {
  return format_number(index, 1);
}
"""
