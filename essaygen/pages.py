"""Stage 4 continued: assemble the rendered sections and figures into the site's pages."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import bokeh
import jinja2
import markdown
from markupsafe import Markup

from .assets import AssetMap
from .calibration import render_report
from .config import SiteConfig
from .content import Section
from .embedding import BuiltFigure
from .publishing import render_with_policy
from .render import PageState, RenderedSection, make_environment, render_markdown, render_template
from .write import SiteWriter

if TYPE_CHECKING:
    from .model import CompressionModel
    from .pipeline import ProjectPaths


def render_site(
    paths: "ProjectPaths",
    config: SiteConfig,
    sections: list[Section],
    figures: list[BuiltFigure],
    values: Mapping[str, str],
    model: "CompressionModel",
    assets: AssetMap,
    bokeh_urls: list[str],
    writer: SiteWriter,
) -> int:
    """Render every page into ``writer`` and return how many pages were written."""
    env = make_environment(paths.templates)
    rendered = render_sections(env, paths, sections, figures, values)
    common = {
        "config": config,
        "assets": assets,
        "bokeh_urls": bokeh_urls,
        "bokeh_version": bokeh.__version__,
        "model": model,
    }
    pages = {
        "index.html": ("page.html", {"sections": rendered, "figures": figures}),
        "404.html": ("404.html", {}),
        "calibration.html": ("report.html", calibration_context(model, paths.data)),
    }
    for output, (template, context) in pages.items():

        def render(extra: Mapping[str, str], template: str = template, context: dict = context) -> str:
            return render_template(env, template, paths.templates, {**common, **context, **extra})

        # 404.html is served at any missing path, so it carries no scripts and only its own styles.
        html = render_with_policy(render, output, config.site_url, standalone=output == "404.html")
        writer.write_text(output, html)
    writer.write_bytes(".nojekyll", b"")
    return len(pages)


# Rendered calibration reports by a hash of the data files they come from. The
# report refits curves on a grid, so `serve` would otherwise redo that work on
# every Markdown edit. A change to the Python code restarts `serve`.
_REPORTS: dict[str, Markup] = {}


def calibration_context(model: "CompressionModel", data_dir: Path) -> dict[str, object]:
    """Return the calibration report, rendered from the model, for ``report.html``."""
    digest = hashlib.sha256()
    for path in sorted(Path(data_dir).glob("*.tsv")):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    key = digest.hexdigest()
    if key not in _REPORTS:
        report = markdown.markdown(render_report(model), extensions=["tables", "toc"], output_format="html")
        _REPORTS[key] = Markup(report)
    return {"report_title": "Calibration of the compression model", "report": _REPORTS[key]}


def render_sections(
    env: jinja2.Environment,
    paths: "ProjectPaths",
    sections: list[Section],
    figures: list[BuiltFigure],
    values: Mapping[str, str],
) -> list[RenderedSection]:
    """Render every section's Markdown, with its figures, to HTML."""
    by_name = {figure.name: figure for figure in figures}

    def render_figure(name: str) -> str:
        return render_template(env, "figure.html", paths.templates, {"figure": by_name[name]})

    state = PageState(used_ids={section.id for section in sections} | {figure.element_id for figure in figures})
    return [
        RenderedSection(
            id=section.id,
            title=section.title,
            kicker=section.kicker,
            description=section.description,
            html=render_markdown(section, render_figure, values, state),
            source=section.path,
        )
        for section in sections
    ]
