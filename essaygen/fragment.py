"""Fragment build mode: the essay as an HTML fragment plus its assets folder,
for inclusion in a post of a static blog (Jekyll, Hugo, Pelican).

``python build.py --fragment`` writes ``site-fragment/essay.html`` and
``site-fragment/assets/``. Everything in the fragment sits inside one
``<div class="essaygen">``. The theme's CSS is rewritten so that every rule
applies only inside that element, so the essay's styles do not leak into the
host page. Two reset rules (:data:`GUARD_CSS`) and a shadow root per Bokeh
figure (made by theme/essay.js) keep the host's element rules (``div``,
``canvas``, ``input``) away from the essay. docs/publishing.md describes how
to include the fragment.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping
from urllib.parse import urlsplit

import bokeh
import tinycss2

from .assets import ASSETS_DIR, STYLESHEET, AssetMap, stylesheet_source
from .config import SiteConfig
from .content import Section
from .embedding import BuiltFigure
from .errors import BuildError
from .pages import render_sections
from .publishing import add_noopener, check_no_inline_handlers, scan_page
from .render import make_environment, render_template
from .write import SiteWriter

if TYPE_CHECKING:
    from .pipeline import ProjectPaths

FRAGMENT_FILE = "essay.html"
FRAGMENT_OUT_DIR = "site-fragment"
SCOPE_CLASS = "essaygen"
SCOPED_CSS_NAME = "essay-fragment.css"
PRINT_CSS = "print.css"

# Rules whose contents are themselves rules to scope; other at-rules
# (@font-face, @keyframes, @import, @property) apply to the whole document
# and are copied unchanged.
NESTING_AT_RULES = {"media", "supports", "container", "layer", "scope", "document"}
ROOT_SELECTOR = re.compile(r"^(?P<element>:root|html|body)(?![-\w])(?P<qualifiers>[^\s>+~]*)(?P<rest>.*)$", re.DOTALL)

# Host pages often style bare elements (div { padding: 2em }, canvas { … }).
# These rules come first in the fragment's stylesheet. The container starts
# from the initial value of every property, so nothing the host page sets on
# its ancestors (letter-spacing, text-transform, font) is inherited, and every
# element inside goes back to the browser's defaults. The scoped theme rules
# after them, equally or more specific, then apply as on the full site. One
# class beats the host's element selectors but not its class or id selectors,
# nor !important. The Bokeh views sit in shadow roots that essay.js attaches
# to each .figure-root, which host rules cannot enter at all.
GUARD_CSS = f"""\
.{SCOPE_CLASS} {{ all: initial; display: block; }}
.{SCOPE_CLASS} * {{ all: revert; }}
"""


@dataclass(frozen=True)
class FragmentOptions:
    """Settings of a fragment build."""

    asset_base: str = f"{ASSETS_DIR}/"
    """URL of the assets folder on the host site, ending with /: relative to the
    post (the default, ``assets/``) or absolute, such as ``/essay-assets/``."""

    def __post_init__(self) -> None:
        check_asset_base(self.asset_base)


def check_asset_base(value: str) -> None:
    """Raise when ``value`` cannot prefix asset file names."""
    url = urlsplit(value)
    problems = []
    if not value.endswith("/"):
        problems.append("must end with /")
    if url.scheme and url.scheme not in ("http", "https"):
        problems.append("must be a path or an http(s) URL")
    if url.query or url.fragment or any(character in value for character in "\"'<> \\"):
        problems.append("must not contain a query, a fragment, quotes, spaces or angle brackets")
    if problems:
        raise BuildError(
            f"invalid --asset-base {value!r}: {'; '.join(problems)}",
            hint="pass the folder the assets are served from, such as --asset-base /essay-assets/",
        )


def scope_css(css: str, scope: str, source: Path | str = "<css>") -> str:
    """Rewrite a stylesheet so that each rule applies only inside ``scope``.

    ``:root``, ``html`` and ``body`` become the scope element itself, so the
    theme's custom properties and page colours land on the container. A root
    selector with qualifiers (``html.js .x``) stays on the real root element
    and the scope is inserted after it.
    """
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    return "\n".join(_scope_rule(rule, scope, source) for rule in rules) + "\n"


def _scope_rule(rule, scope: str, source: Path | str) -> str:
    if rule.type == "error":
        raise BuildError(
            f"invalid CSS: {rule.message}",
            path=source,
            line=rule.source_line,
            hint="fix the stylesheet's syntax on that line",
        )
    if rule.type == "at-rule":
        if rule.lower_at_keyword in NESTING_AT_RULES and rule.content is not None:
            inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
            body = "\n".join(_scope_rule(child, scope, source) for child in inner)
            return f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{\n{body}\n}}"
        return rule.serialize()
    selectors = [
        scope_selector(tinycss2.serialize(part).strip(), scope) for part in _split_on_commas(rule.prelude)
    ]
    return f"{', '.join(selectors)} {{{tinycss2.serialize(rule.content)}}}"


def _split_on_commas(tokens) -> list[list]:
    """Split a selector list at its top-level commas (commas inside :is() stay)."""
    parts: list[list] = [[]]
    for token in tokens:
        if token.type == "literal" and token.value == ",":
            parts.append([])
        else:
            parts[-1].append(token)
    return [part for part in parts if tinycss2.serialize(part).strip()]


def scope_selector(selector: str, scope: str) -> str:
    """Return ``selector`` limited to descendants of ``scope`` (see :func:`scope_css`)."""
    match = ROOT_SELECTOR.match(selector)
    if match is None:
        return f"{scope} {selector}"
    qualifiers, rest = match.group("qualifiers"), match.group("rest")
    if qualifiers:
        return f"{match.group('element')}{qualifiers} {scope}{rest}"
    inner = rest.lstrip()
    # "html body .x": both root elements become the scope.
    if inner.startswith(("body", ":root")) and ROOT_SELECTOR.match(inner):
        return scope_selector(inner, scope)
    return f"{scope}{rest}"


def fragment_assets(assets: AssetMap, bokeh_urls: list[str], asset_base: str) -> tuple[AssetMap, list[str]]:
    """Return the asset map and BokehJS URLs rewritten to start with ``asset_base``."""
    prefix = f"{ASSETS_DIR}/"

    def rebase(url: str) -> str:
        return asset_base + url[len(prefix):] if url.startswith(prefix) else url

    return AssetMap({name: rebase(url) for name, url in assets.urls.items()}), [rebase(url) for url in bokeh_urls]


def rebase_figure(figure: BuiltFigure, asset_base: str) -> BuiltFigure:
    """Return ``figure`` with the URLs of its item script and fallback images under ``asset_base``."""
    prefix = f"{ASSETS_DIR}/"
    if figure.item_url and figure.item_url.startswith(prefix):
        figure = dataclasses.replace(figure, item_url=asset_base + figure.item_url[len(prefix):])
    fallback = figure.fallback
    if fallback is None or not dataclasses.is_dataclass(fallback):
        return figure
    changes = {
        field.name: asset_base + value[len(prefix):]
        for field in dataclasses.fields(fallback)
        if isinstance(value := getattr(fallback, field.name), str) and value.startswith(prefix)
    }
    return dataclasses.replace(figure, fallback=dataclasses.replace(fallback, **changes))


def render_fragment(
    paths: "ProjectPaths",
    config: SiteConfig,
    sections: list[Section],
    figures: list[BuiltFigure],
    values: Mapping[str, str],
    assets: AssetMap,
    bokeh_urls: list[str],
    writer: SiteWriter,
    options: FragmentOptions,
) -> int:
    """Write the fragment and its scoped stylesheet into ``writer``; return the page count (1)."""
    theme_css = paths.theme / STYLESHEET
    # One stylesheet for the host page: the theme, the placed figures' styles and the print rules.
    source = stylesheet_source(paths.theme, [figure.name for figure in figures])
    print_css = paths.theme / PRINT_CSS
    if print_css.is_file():
        source += "\n" + print_css.read_text(encoding="utf-8")
    scoped = GUARD_CSS + scope_css(source, f".{SCOPE_CLASS}", theme_css)
    assets.urls[SCOPED_CSS_NAME] = writer.write_hashed(f"{ASSETS_DIR}/{SCOPED_CSS_NAME}", scoped.encode("utf-8"))

    env = make_environment(paths.templates)
    figures = [rebase_figure(figure, options.asset_base) for figure in figures]
    rendered = render_sections(env, paths, sections, figures, values)
    rebased_assets, rebased_bundles = fragment_assets(assets, bokeh_urls, options.asset_base)
    context = {
        "config": config,
        "assets": rebased_assets,
        "bokeh_urls": rebased_bundles,
        "bokeh_version": bokeh.__version__,
        "sections": rendered,
        "figures": figures,
        "scope_class": SCOPE_CLASS,
    }
    html = render_template(env, "fragment.html", paths.templates, context)
    check_no_inline_handlers(html, FRAGMENT_FILE)
    if scan_page(html).scripts:
        raise BuildError(
            f"{FRAGMENT_FILE} contains an inline script, which a host page's Content Security Policy may block",
            path=paths.templates / "fragment.html",
            hint="move the script into theme/essay.js",
        )
    writer.write_text(FRAGMENT_FILE, add_noopener(html, config.site_url))
    return 1
