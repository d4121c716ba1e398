"""The family map: compression as one umbrella over its four families.

Static HTML and CSS with no Bokeh root, so it costs the page no JavaScript.
Each family is a card in its technique colour with a small glyph of a weight
matrix showing what that family makes smaller. The layout and colours come
from theme/figures/family-map.css,
which reads the theme's custom properties so the map follows dark mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from . import FigureParts, figure
from ._style import TECHNIQUE_COLOURS

GRID = 5  # cells per side of the glyph's weight matrix
CELL = 7  # glyph cell size in SVG units
GAP = 1.5


@dataclass(frozen=True)
class Family:
    """One compression family as the map shows it."""

    key: str
    name: str
    shrinks: str
    description: str


FAMILIES = (
    Family(
        "quantisation",
        "Quantisation",
        "bits per weight",
        "Stores every weight with fewer bits, for example 4 in place of 16.",
    ),
    Family(
        "pruning",
        "Pruning",
        "number of weights",
        "Removes the weights, neurons, heads or layers the model can best spare.",
    ),
    Family(
        "distillation",
        "Distillation",
        "the whole model (a smaller student, trained anew)",
        "Trains a smaller student model to imitate a larger teacher.",
    ),
    Family(
        "low-rank",
        "Low-rank factorisation",
        "numbers per matrix",
        "Replaces a d\u202f\u00d7\u202fd matrix with two thin ones: d\u00b2 numbers become 2dr.",
    ),
)

# Levels of the quantisation glyph: each cell snaps to one of three opacities.
QUANTISED_LEVELS = (
    (2, 0, 1, 2, 1),
    (1, 2, 2, 0, 1),
    (0, 1, 2, 1, 2),
    (2, 1, 0, 1, 0),
    (1, 2, 1, 2, 1),
)
# Cells the pruning glyph keeps (1) and removes (0): about 40% removed.
PRUNED_CELLS = (
    (1, 0, 1, 1, 0),
    (0, 1, 1, 0, 1),
    (1, 1, 0, 1, 0),
    (0, 1, 1, 0, 1),
    (1, 0, 1, 1, 0),
)


def cell(row: int, column: int, css_class: str, opacity: float | None = None, x_offset: float = 0) -> str:
    """Return one glyph cell as an SVG rect."""
    x = x_offset + column * (CELL + GAP)
    y = row * (CELL + GAP)
    style = f' fill-opacity="{opacity:g}"' if opacity is not None else ""
    return f'<rect class="{css_class}" x="{x:g}" y="{y:g}" width="{CELL}" height="{CELL}" rx="1"{style}/>'


def matrix_cells(filled: tuple[tuple[int, ...], ...] | None = None, size: int = GRID) -> list[str]:
    """Return a size × size block of cells, filled where ``filled`` is 1 (all when None)."""
    cells = []
    for row in range(size):
        for column in range(size):
            kept = filled is None or filled[row][column]
            cells.append(cell(row, column, "fm-cell" if kept else "fm-cell-empty"))
    return cells


def glyph(key: str) -> str:
    """Return the inline SVG glyph of one family's weight matrix."""
    side = GRID * (CELL + GAP) - GAP
    if key == "quantisation":
        opacities = (0.25, 0.6, 1.0)
        cells = [
            cell(row, column, "fm-cell", opacities[QUANTISED_LEVELS[row][column]])
            for row in range(GRID)
            for column in range(GRID)
        ]
    elif key == "pruning":
        cells = matrix_cells(PRUNED_CELLS)
    elif key == "distillation":
        # The teacher's full matrix in outline, the student's smaller one filled.
        cells = [cell(row, column, "fm-cell-empty") for row in range(GRID) for column in range(GRID)]
        cells += [cell(row + 1, column + 1, "fm-cell") for row in range(3) for column in range(3)]
    elif key == "low-rank":
        # One thin column times one thin row, drawn side by side: 2 × 5 cells for 25.
        row_start = CELL + 4 * GAP
        cells = [cell(row, 0, "fm-cell") for row in range(GRID)]
        cells += [cell(0, column, "fm-cell", x_offset=row_start) for column in range(GRID)]
        width = row_start + side
        return svg(cells, width, side)
    else:
        raise ValueError(f"no glyph for family {key!r}; add one to glyph() in {__name__}")
    return svg(cells, side, side)


def svg(cells: list[str], width: float, height: float) -> str:
    """Wrap glyph cells in an SVG element 44 px high, hidden from screen readers."""
    pixels = 44 * (width + 2) / (height + 2)
    return (
        f'<svg class="fm-glyph" viewBox="-1 -1 {width + 2:g} {height + 2:g}" '
        f'width="{pixels:.0f}" height="44" aria-hidden="true" focusable="false">{"".join(cells)}</svg>'
    )


def family_map_html() -> str:
    """Return the map as HTML: the umbrella and one card per family."""
    cards = []
    for family in FAMILIES:
        colour = TECHNIQUE_COLOURS[family.key]
        cards.append(
            f'<li class="fm-family" style="--technique: {escape(colour)}" data-technique="{escape(family.key)}">'
            f"{glyph(family.key)}"
            f'<p class="fm-name">{escape(family.name)}</p>'
            f'<p class="fm-shrinks">makes smaller: <strong>{escape(family.shrinks)}</strong></p>'
            f'<p class="fm-description">{escape(family.description)}</p>'
            "</li>"
        )
    return Markup(
        '<div class="family-map">'
        '<div class="fm-umbrella">'
        '<p class="fm-umbrella-name">Compression</p>'
        '<p class="fm-umbrella-description">'
        "Less memory or less arithmetic per token, with behaviour kept close to the original."
        "</p></div>"
        f'<ul class="fm-families" aria-label="The four families of compression">{"".join(cards)}</ul>'
        "</div>"
    )


@figure(
    "family-map",
    caption="The four families of compression, and the quantity each one makes smaller.",
    summary=(
        "A map with compression at the top and four families below it. Quantisation makes the bits "
        "per weight smaller, pruning the number of weights, distillation the whole model (a smaller "
        "student, trained anew), and low-rank factorisation the numbers in each matrix."
    ),
    height=0,
)
def family_map(model) -> FigureParts:
    return FigureParts(html=family_map_html())
