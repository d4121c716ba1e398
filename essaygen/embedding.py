"""Stage 3: build every placed figure into an embeddable Bokeh item.

Each figure function runs once, its Bokeh layout is serialised with
:func:`bokeh.embed.json_item`, and the model ids in that JSON are renamed to
``<figure>-<n>`` in order of appearance. Bokeh numbers models with a counter
that depends on how many models the process made before, so without the
renaming two builds of the same essay would differ.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import rjsmin

from bokeh.embed import json_item
from bokeh.model import Model
from bokeh.models import Markup, MathText, Plot, TableWidget, Widget

from .content import Directive, Section
from .errors import BuildError, raise_collected
from .figures import FigureParts, FigureSpec

# BokehJS bundles, in load order. "bokeh" is always needed when a figure has a root.
BUNDLE_ORDER = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables", "bokeh-mathjax")
BOKEH_ID = re.compile(r"^p\d+$")


@dataclass(frozen=True)
class BuiltFigure:
    """A figure ready to render: its spec, where it was placed and its Bokeh item."""

    spec: FigureSpec
    directive: Directive
    html: str
    readouts: str
    facts: tuple[tuple[str, str], ...]
    item_json: str | None  # None for figures made of static HTML only
    bundles: frozenset[str]
    # Images captured at build time for readers without JavaScript
    # (an essaygen.snapshots.Fallback); None when no browser was available.
    fallback: Any = None
    # URL of the script that carries item_json in the site (see items_script);
    # None while building and for pages that inline the item.
    item_url: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def element_id(self) -> str:
        return f"figure-{self.spec.name}"


def placed_figures(sections: Iterable[Section], registry: dict[str, FigureSpec]) -> list[Directive]:
    """Return every figure directive in page order, checking names and duplicates."""
    errors: list[BuildError] = []
    first_use: dict[str, Directive] = {}
    placed: list[Directive] = []
    known = ", ".join(sorted(registry)) or "(none registered)"
    for section in sections:
        for directive in section.figures:
            if directive.name not in registry:
                errors.append(
                    BuildError(
                        f"unknown figure {directive.name!r}",
                        path=directive.path,
                        line=directive.line,
                        hint=f"known figures: {known}",
                    )
                )
                continue
            earlier = first_use.setdefault(directive.name, directive)
            if earlier is not directive:
                errors.append(
                    BuildError(
                        f"figure {directive.name!r} is placed twice; "
                        f"it was first placed at {earlier.path}:{earlier.line}",
                        path=directive.path,
                        line=directive.line,
                        hint="place each figure once and link to it with [text](#figure-NAME)",
                    )
                )
                continue
            placed.append(directive)
    raise_collected(errors)
    return placed


def build_figures(
    directives: list[Directive],
    registry: dict[str, FigureSpec],
    model: Any,
    theme: Any = None,
    cache: Any = None,
) -> list[BuiltFigure]:
    """Run each placed figure's function and serialise its Bokeh root.

    ``cache`` is an :class:`essaygen.cache.FigureCache` that reuses a figure's
    output while its inputs are unchanged; without one every figure is built.
    """
    built: list[BuiltFigure] = []
    errors: list[BuildError] = []
    make = cache.build_figure if cache is not None else build_figure
    for directive in directives:
        spec = registry[directive.name]
        try:
            built.append(make(spec, directive, model, theme))
        except BuildError as error:
            errors.append(error)
    raise_collected(errors)
    return built


def build_figure(spec: FigureSpec, directive: Directive, model: Any, theme: Any = None) -> BuiltFigure:
    """Build one figure, wrapping any exception with the figure and the section that placed it."""
    try:
        result = spec.build(model)
        parts = result if isinstance(result, FigureParts) else FigureParts(root=result)
        item_json = None
        bundles: frozenset[str] = frozenset()
        if parts.root is not None:
            if not isinstance(parts.root, Model):
                raise TypeError(
                    f"expected a Bokeh layout or FigureParts, got {type(parts.root).__name__}"
                )
            bundles = required_bundles(parts.root)
            item = json_item(parts.root, target=f"{spec.name}-root", theme=theme)
            item_json = serialise_item(minify_callbacks(pin_ids(item, prefix=spec.name)))
    except BuildError:
        raise
    except Exception as error:  # a figure is arbitrary author code: report any failure
        raise BuildError(
            f"figure {spec.name!r} failed: {type(error).__name__}: {error}",
            path=directive.path,
            line=directive.line,
            hint=f"fix the figure function {spec.module}.{spec.build.__name__} "
            "(run with -v for the traceback)",
        ) from error
    return BuiltFigure(
        spec=spec,
        directive=directive,
        html=parts.html,
        readouts=parts.readouts,
        facts=parts.facts,
        item_json=item_json,
        bundles=bundles,
    )


def required_bundles(root: Model) -> frozenset[str]:
    """Return the BokehJS bundles the models under ``root`` need."""
    needed = {"bokeh"}
    for obj in root.references():
        if isinstance(obj, (Widget, Markup)):
            needed.add("bokeh-widgets")
        if isinstance(obj, TableWidget):
            needed.add("bokeh-tables")
        if isinstance(obj, MathText):
            needed.add("bokeh-mathjax")
        if isinstance(obj, Plot) and obj.output_backend == "webgl":
            needed.add("bokeh-gl")
    return frozenset(needed)


def pin_ids(item: dict, prefix: str) -> dict:
    """Rename Bokeh's counter-based model ids to ``prefix-1``, ``prefix-2``… in order of appearance."""
    mapping: dict[str, str] = {}

    def rename(value: str) -> str:
        if value not in mapping:
            mapping[value] = f"{prefix}-{len(mapping) + 1}"
        return mapping[value]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            result = {}
            for key, value in node.items():
                if key in ("id", "root_id") and isinstance(value, str) and BOKEH_ID.match(value):
                    result[key] = rename(value)
                else:
                    result[key] = walk(value)
            return result
        if isinstance(node, (list, tuple)):  # Bokeh's map entries are tuples
            return [walk(value) for value in node]
        return node

    return walk(item)


# The figures' items ship as one script beside BokehJS instead of inside the
# page, so the text arrives without them. They share one file because they
# share most of their structure and compress far better together. It is a
# script rather than JSON because fetch() cannot read files from file://.
# Each item is one line, since compact JSON has no raw line breaks.
ITEM_SCRIPT_PREFIX = "(window.essayItems=window.essayItems||{})["
ITEM_SCRIPT_MIDDLE = "]="
ITEM_SCRIPT_SUFFIX = ";"


def items_script(items: dict[str, str]) -> str:
    """Return the script that stores each item JSON as ``window.essayItems[target]``."""
    return "".join(
        f"{ITEM_SCRIPT_PREFIX}{json.dumps(target)}{ITEM_SCRIPT_MIDDLE}{item_json}{ITEM_SCRIPT_SUFFIX}\n"
        for target, item_json in items.items()
    )


def items_from_script(text: str) -> dict[str, str] | None:
    """Return the item JSON by target inside a script made by :func:`items_script`, or None."""
    items = {}
    for line in text.splitlines():
        if not (line.startswith(ITEM_SCRIPT_PREFIX) and line.endswith(ITEM_SCRIPT_SUFFIX)):
            return None
        target, separator, item_json = line[len(ITEM_SCRIPT_PREFIX): -len(ITEM_SCRIPT_SUFFIX)].partition(
            ITEM_SCRIPT_MIDDLE
        )
        if not separator:
            return None
        items[json.loads(target)] = item_json
    return items


def minify_callbacks(item: dict) -> dict:
    """Strip comments and spacing from the code of every CustomJS in ``item``, in place.

    The figure modules keep their callbacks readable; readers download them
    without the comments.
    """

    for node in nested_dicts(item):
        attributes = node.get("attributes")
        if node.get("name") == "CustomJS" and isinstance(attributes, dict) and isinstance(attributes.get("code"), str):
            attributes["code"] = rjsmin.jsmin(attributes["code"])
    return item


def nested_dicts(node: Any) -> Iterator[dict]:
    """Yield every dict inside ``node`` (itself included), parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            yield current
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))


def serialise_item(item: dict) -> str:
    """Dump an item as compact JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(item, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # "<" cannot end the script element or open a comment once escaped.
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
