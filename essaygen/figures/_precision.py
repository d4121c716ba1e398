"""Precision menus shared by the arithmetic and the composer, so both show the same labels.

The formats fall into two groups because their quality factors come from different
evidence: the plain formats carry the essay's rule of thumb on the MMLU scale, and the
llama.cpp k-quants and INT4 with group-128 scales come from perplexities mapped with γ,
which reads more leniently than task accuracy.
"""

from __future__ import annotations

from ._format import format_number

RULE_OF_THUMB_GROUP = "Rule of thumb (MMLU scale)"
PERPLEXITY_GROUP = "llama.cpp files, Llama 3 8B (from perplexity; more lenient)"


def format_bits(bits: float) -> str:
    """Format bits per weight: whole widths plainly ("4"), measured ones with two decimals ("4.90")."""
    return format_number(bits, 0 if float(bits).is_integer() else 2)


# The JavaScript twin of format_bits. It calls format_number from FORMAT_JS.
FORMAT_BITS_JS = """
function format_bits(bits) {
  return format_number(bits, Number.isInteger(bits) ? 0 : 2);
}
"""


def precision_label(precision) -> str:
    """Return a format's menu label: its name and width ("Q4_K_M (4.90 bits)")."""
    return f"{precision.label} ({format_bits(precision.bits)} bits)"


def precision_group(precision) -> str:
    """Return the menu group of a format: plain formats use the rule of thumb, the rest perplexity."""
    return RULE_OF_THUMB_GROUP if precision.kind == "plain" else PERPLEXITY_GROUP


def precision_options(model) -> dict[str, list[tuple[str, str]]]:
    """Return Bokeh ``Select`` options grouped by the evidence behind each format's quality factor."""
    groups: dict[str, list[tuple[str, str]]] = {RULE_OF_THUMB_GROUP: [], PERPLEXITY_GROUP: []}
    for name, precision in model.precisions.items():
        groups[precision_group(precision)].append((name, precision_label(precision)))
    return {group: options for group, options in groups.items() if options}
