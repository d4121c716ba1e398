"""Copy the theme and the BokehJS bundles into the site under content-hashed names.

BokehJS is taken from the installed ``bokeh`` package, so the JavaScript always
matches the Python that serialised the figures. Hashed names let a host cache
each file for as long as it likes, and every URL is relative to the page so the
site works at a domain root, under a sub-path and from ``file://``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import bokeh
import rcssmin
import rjsmin
from bokeh.util.paths import bokehjs_path
from markupsafe import Markup

from .embedding import BUNDLE_ORDER, BuiltFigure, items_script
from .errors import BuildError
from .write import SiteWriter

ASSETS_DIR = "assets"
# Theme files that the page refers to by a fixed logical name; anything else in
# theme/ (fonts, images) is copied as well, hashed, and listed in AssetMap.urls.
THEME_SUFFIXES = {".css", ".js", ".svg", ".png", ".woff2", ".ico", ".webmanifest"}


@dataclass
class AssetMap:
    """Logical asset names (``essay.css``, ``bokeh-widgets``) mapped to their URLs in the site."""

    urls: dict[str, str] = field(default_factory=dict)
    # Minified text of the files a page may inline (the stylesheet, theme-init.js).
    texts: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        try:
            return self.urls[name]
        except KeyError:
            raise BuildError(
                f"asset {name!r} not found",
                hint=f"add it to theme/ or use one of: {', '.join(sorted(self.urls))}",
            ) from None

    def inline(self, name: str) -> Markup:
        """Return a stylesheet's or script's text to place inside ``<style>`` or ``<script>``."""
        if name not in self.texts:
            raise BuildError(
                f"asset {name!r} cannot be inlined",
                hint=f"inline one of: {', '.join(sorted(self.texts))}, or link it with assets[{name!r}]",
            )
        text = self.texts[name]
        closing = "</style" if name.endswith(".css") else "</script"
        if closing in text.lower():
            raise BuildError(
                f"asset {name!r} contains {closing}, which would end the inline element early",
                hint="link the file instead of inlining it",
            )
        return Markup(text)


# The page's stylesheet: theme/essay.css, then the styles of each placed figure
# that has its own (theme/figures/NAME.css), so a page ships no CSS for figures
# it does not show.
STYLESHEET = "essay.css"
FIGURE_STYLES_DIR = "figures"


def copy_theme(theme_dir: Path, writer: SiteWriter, assets: AssetMap, figure_names: Iterable[str] = ()) -> None:
    """Copy every theme file into ``assets/`` under a hashed name, and write the page's stylesheet."""
    if not theme_dir.is_dir():
        raise BuildError(
            "theme folder not found",
            path=theme_dir,
            hint="restore theme/ from the repository or pass --theme DIR",
        )
    for path in sorted(theme_dir.rglob("*")):
        if path.is_file() and path.suffix in THEME_SUFFIXES:
            relative = path.relative_to(theme_dir).as_posix()
            if relative == STYLESHEET or (relative.startswith(f"{FIGURE_STYLES_DIR}/") and path.suffix == ".css"):
                continue
            data = minified(path)
            assets.urls[relative] = writer.write_hashed(f"{ASSETS_DIR}/{relative}", data)
            if path.suffix in (".css", ".js"):
                assets.texts[relative] = data.decode("utf-8")
    stylesheet = rcssmin.cssmin(stylesheet_source(theme_dir, figure_names))
    assets.urls[STYLESHEET] = writer.write_hashed(f"{ASSETS_DIR}/{STYLESHEET}", stylesheet.encode("utf-8"))
    assets.texts[STYLESHEET] = stylesheet


def stylesheet_source(theme_dir: Path, figure_names: Iterable[str]) -> str:
    """Return theme/essay.css followed by theme/figures/NAME.css for each figure name that has one."""
    main = theme_dir / STYLESHEET
    if not main.is_file():
        raise BuildError("theme stylesheet not found", path=main, hint=f"restore theme/{STYLESHEET} from the repository")
    parts = [main.read_text(encoding="utf-8")]
    for name in figure_names:
        path = theme_dir / FIGURE_STYLES_DIR / f"{name}.css"
        if path.is_file():
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def minified(path: Path) -> bytes:
    """Return a theme file's bytes, without comments and spacing for scripts and stylesheets.

    theme/ stays readable; the site ships the minified copy.
    """
    data = path.read_bytes()
    if path.suffix == ".js":
        return rjsmin.jsmin(data)
    if path.suffix == ".css":
        return rcssmin.cssmin(data)
    return data


def write_figure_items(figures: list[BuiltFigure], writer: SiteWriter) -> list[BuiltFigure]:
    """Write the figures' Bokeh items into ``assets/figures.HASH.js``; return the figures with its URL.

    The page then carries only the figures' text; essay.js loads the items when
    the first figure comes near the viewport.
    """
    items = {f"{figure.name}-root": figure.item_json for figure in figures if figure.item_json is not None}
    if not items:
        return figures
    url = writer.write_hashed(f"{ASSETS_DIR}/figures.js", items_script(items).encode("utf-8"))
    return [dataclasses.replace(figure, item_url=url) if figure.item_json is not None else figure for figure in figures]


def copy_bokehjs(bundles: set[str], writer: SiteWriter, assets: AssetMap) -> list[str]:
    """Copy the minified BokehJS bundles the figures need; return their URLs in load order."""
    source = Path(bokehjs_path()) / "js"
    urls = []
    for bundle in BUNDLE_ORDER:
        if bundle not in bundles:
            continue
        path = source / f"{bundle}.min.js"
        if not path.is_file():
            raise BuildError(
                f"BokehJS bundle missing from the installed bokeh {bokeh.__version__}",
                path=path,
                hint="reinstall bokeh: pip install --force-reinstall bokeh",
            )
        name = f"{ASSETS_DIR}/{bundle}-{bokeh.__version__}.min.js"
        assets.urls[bundle] = writer.write_hashed(name, path.read_bytes())
        urls.append(assets.urls[bundle])
    return urls
