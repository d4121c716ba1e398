"""The registry of named figures that authors place with ``::figure[NAME]``.

A figure is a Python function decorated with :func:`figure`. It receives the
loaded :class:`~essaygen.model.CompressionModel` and returns either a Bokeh
layout or a :class:`FigureParts` (static HTML, a Bokeh layout, or both)::

    @figure("low-rank", caption="...", summary="...", height=420, data=("coefficients",))
    def low_rank(model):
        ...
        return column(plot, slider, sizing_mode="stretch_width")

Every module in this package is imported by :func:`load_registry`, so adding a
figure means adding one file here. Interactivity must use ``CustomJS`` only,
because a Python callback does nothing in a static page.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

FIGURES: dict[str, "FigureSpec"] = {}


@dataclass(frozen=True)
class FigureParts:
    """What a figure function returns when it is more than one Bokeh layout.

    ``html`` is trusted static HTML placed before the Bokeh root (equations,
    diagrams). ``readouts`` is trusted HTML placed after the root inside an
    ``aria-live`` region. ``CustomJS`` callbacks update these values in the
    page's own DOM. The build renders them with the numpy values of the default
    control positions, so they read correctly without JavaScript.
    ``facts`` are (label, value) rows shown as a small table when the page is
    read without JavaScript and no captured image exists.
    """

    root: Any = None
    html: str = ""
    readouts: str = ""
    facts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure: its function and the text that accompanies it."""

    name: str
    build: Callable[[Any], Any]
    caption: str
    summary: str
    height: int
    data: tuple[str, ...] = field(default_factory=tuple)
    phone_height: int | None = None
    module: str = ""
    picture: bool = True


def figure(
    name: str,
    *,
    caption: str,
    summary: str,
    height: int = 400,
    phone_height: int | None = None,
    data: tuple[str, ...] = (),
    picture: bool = True,
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Register the decorated function as the figure NAME.

    ``caption`` is one sentence of trusted inline HTML shown under the figure.
    ``summary`` is a plain-text description of what the figure shows, printed
    under the caption and relied on by readers who cannot see the plot.
    ``height`` is the pixels reserved for the Bokeh root, so that the page does
    not shift when it renders; ``phone_height`` is the same on screens up to
    640 px wide, where the controls wrap (default: ``height``). A browser test
    compares both with the rendered heights. ``data`` names the data files (without
    ``.tsv``) the figure reads, which key its cache entry.
    ``picture=False`` skips the build-time picture for readers without
    JavaScript, for a root made only of controls, whose picture would look
    like a control that does nothing; such a figure relies on its readouts.
    """

    def register(build: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if name in FIGURES and FIGURES[name].build is not build:
            raise ValueError(
                f"figure name {name!r} is registered twice: "
                f"{FIGURES[name].module} and {build.__module__}"
            )
        if not caption.strip() or not summary.strip():
            raise ValueError(f"figure {name!r} needs a non-empty caption and summary")
        FIGURES[name] = FigureSpec(
            name=name,
            build=build,
            caption=caption,
            summary=summary,
            height=height,
            phone_height=phone_height,
            data=tuple(data),
            module=build.__module__,
            picture=picture,
        )
        return build

    return register


def load_registry() -> dict[str, FigureSpec]:
    """Import every figure module in this package and return the registry."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return FIGURES
