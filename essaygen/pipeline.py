"""The build: load content, compute the model, build the figures, render the pages, write the site.

:func:`build` reads as that list of stages. Each stage lives in its own module
and logs one line with its counts and time.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .assets import AssetMap, copy_bokehjs, copy_theme, write_figure_items
from .config import SiteConfig, load_config
from .content import Section, load_sections
from .cache import CACHE_DIR, FigureCache
from .embedding import BuiltFigure, build_figures, placed_figures
from .errors import BuildError, raise_collected
from .figures import load_registry
from .model import CompressionModel, load_model
from .fragment import FragmentOptions, render_fragment
from .pages import render_site
from .snapshots import capture_fallbacks
from .publishing import config_with_environment
from .write import SiteWriter

log = logging.getLogger("essaygen")


@dataclass(frozen=True)
class ProjectPaths:
    """Folders of the build's inputs and of the site it writes."""

    root: Path
    content: Path
    templates: Path
    theme: Path
    data: Path
    out: Path

    @classmethod
    def under(cls, root: Path, *, content: Path | None = None, out: Path | None = None) -> "ProjectPaths":
        """Return the standard layout under ``root``, with optional content and output folders."""
        root = Path(root)
        return cls(
            root=root,
            content=Path(content) if content else root / "content",
            templates=root / "templates",
            theme=root / "theme",
            data=root / "data",
            out=Path(out) if out else root / "site",
        )


@dataclass
class BuildResult:
    """Output of one build, for logging, tests and benchmarks."""

    out_dir: Path
    sections: list[Section]
    figures: list[BuiltFigure]
    files: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def stage(name: str, timings: dict[str, float]) -> Iterator[dict[str, str]]:
    """Time a stage and log one line with the counts it reports."""
    counts: dict[str, str] = {}
    started = time.perf_counter()
    yield counts
    elapsed = time.perf_counter() - started
    timings[name] = elapsed
    detail = ", ".join(f"{value} {key}" for key, value in counts.items())
    log.info("%-18s %s (%.0f ms)", name, detail, elapsed * 1000)


def build(
    paths: ProjectPaths,
    config: SiteConfig | None = None,
    cache: FigureCache | None = None,
    fragment: FragmentOptions | None = None,
    preview: bool = False,
) -> BuildResult:
    """Build the essay from ``paths`` into ``paths.out``; raise BuildError on any problem.

    Figures come from ``cache`` while their inputs are unchanged; without one,
    the build uses a cache on disk under ``ROOT/.cache/``. With ``fragment``
    the output is the embeddable ``essay.html`` fragment instead of a site.
    ``preview`` (used by ``serve``) skips capturing figure pictures for readers
    without JavaScript, which a live preview never shows.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    config = config_with_environment(config or load_config(paths.root))

    with stage("load content", timings) as counts:
        sections = load_sections(paths.content)
        counts["sections"] = str(len(sections))

    with stage("compute the model", timings) as counts:
        model = load_model(paths.data)
        values = model.prose_values()
        check_value_keys(sections, values)
        counts["values"] = str(len(values))

    with stage("build figures", timings) as counts:
        registry = load_registry()
        cache = cache or FigureCache(paths.data, paths.root / CACHE_DIR)
        cache.start_build()
        figures = build_figures(placed_figures(sections, registry), registry, model, cache=cache)
        counts["figures"] = str(len(figures))
        counts["from cache"] = str(cache.stats.hits)

    writer = SiteWriter(paths.out)
    try:
        assets = AssetMap()
        copy_theme(paths.theme, writer, assets, [figure.name for figure in figures])
        bundles = set().union(*(figure.bundles for figure in figures))
        bokeh_urls = copy_bokehjs(bundles, writer, assets)
        if not preview:
            # Logs its own "figure pictures" line with cache hits and captures.
            figures = capture_fallbacks(figures, config, paths.root / CACHE_DIR, writer, assets, bokeh_urls)
        figures = write_figure_items(figures, writer)

        with stage("render pages", timings) as counts:
            if fragment is None:
                pages = render_site(paths, config, sections, figures, values, model, assets, bokeh_urls, writer)
            else:
                pages = render_fragment(paths, config, sections, figures, values, assets, bokeh_urls, writer, fragment)
            counts["pages"] = str(pages)

        with stage("write site", timings) as counts:
            writer.publish()
            counts["files"] = str(len(writer.files))
            counts["KB"] = f"{sum(writer.files.values()) / 1000:.0f}"
    except BaseException:
        writer.discard()
        raise

    total = time.perf_counter() - started
    timings["total"] = total
    log.info("built %s in %.2f s", paths.out, total)
    return BuildResult(paths.out, sections, figures, dict(writer.files), timings)


def check_value_keys(sections: list[Section], values: dict[str, str]) -> None:
    """Raise for every ``:num[KEY]`` whose KEY the model does not provide."""
    known = ", ".join(sorted(values))
    errors = [
        BuildError(
            f"unknown model value {use.name!r} in :num[...]",
            path=use.path,
            line=use.line,
            hint=f"known values: {known}",
        )
        for section in sections
        for use in section.values
        if use.name not in values
    ]
    raise_collected(errors)


__all__ = ["BuildResult", "CompressionModel", "ProjectPaths", "build"]
