"""Build the naive Bokeh page: the essay's text around one figure, saved with ``file_html``.

Usage: ``python benchmarks/naive_bokeh.py TEXT.md OUT_DIR FIGURE``, where TEXT.md
marks the figure's place with a paragraph reading FIGURE-PLACEHOLDER.

This is how a Bokeh user would publish the page without a generator: render
the Markdown, build the figure, and call ``bokeh.embed.file_html`` with the
default resources, which put BokehJS in ``<head>`` as render-blocking
``<script src>`` tags. The default resources point at cdn.bokeh.org, which this
machine cannot reach, so the same script tags are made relative
(``Resources(mode="server", root_url="./")``) and the bundles copied beside
the page: byte for byte what the CDN would send, from 127.0.0.1.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import markdown  # noqa: E402 (needs the repository on sys.path)
from bokeh.embed import file_html  # noqa: E402
from bokeh.resources import Resources  # noqa: E402
from bokeh.util.paths import bokehjs_path  # noqa: E402
from jinja2 import Template  # noqa: E402

from essaygen.figures import FigureParts, load_registry  # noqa: E402
from essaygen.model import load_model  # noqa: E402

MARKER = "<p>FIGURE-PLACEHOLDER</p>"
MARKDOWN_EXTENSIONS = ["footnotes", "tables", "attr_list", "md_in_html", "toc", "fenced_code", "smarty"]
# The text needs a readable measure and nothing more; the page's look is not what is measured.
PAGE_TEMPLATE = Template(
    """{% extends base %}
{% block postamble %}<style>body { max-width: 40rem; margin: 0 auto; padding: 0 1rem; font: 18px/1.6 Georgia, serif; display: block; height: auto; }</style>{% endblock %}
{% block contents %}{{ before }}{{ figure_html }}{{ super() }}{{ readouts }}{{ after }}{% endblock %}"""
)


def main(markdown_path: Path, out: Path, figure_name: str) -> None:
    text = markdown_path.read_text(encoding="utf-8")
    html = markdown.markdown(text, extensions=MARKDOWN_EXTENSIONS)
    before, _, after = html.partition(MARKER)

    model = load_model(Path(__file__).resolve().parent.parent / "data")
    spec = load_registry()[figure_name]
    result = spec.build(model)
    parts = result if isinstance(result, FigureParts) else FigureParts(root=result)

    resources = Resources(mode="server", root_url="./")
    page = file_html(
        parts.root,
        resources,
        title="Model compression",
        template=PAGE_TEMPLATE,
        template_variables={
            "before": before,
            "after": after,
            "figure_html": parts.html,
            "readouts": f'<div role="status" aria-live="polite">{parts.readouts}</div>' if parts.readouts else "",
        },
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(page, encoding="utf-8")
    static = out / "static" / "js"
    static.mkdir(parents=True, exist_ok=True)
    for url in resources.js_files:
        name = url.split("/")[-1].split("?")[0]
        if f"static/js/{name}" in page:
            shutil.copy2(Path(bokehjs_path()) / "js" / name, static / name)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python benchmarks/naive_bokeh.py TEXT.md OUT_DIR FIGURE")
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
