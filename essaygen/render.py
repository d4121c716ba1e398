"""Stage 4: render the sections' Markdown and the page templates into HTML.

Markdown runs with the extensions an essay needs (footnotes, tables, heading
anchors, attribute lists, fenced code, Markdown inside HTML blocks and
typographic punctuation) plus :class:`EssayExtension`, which turns
``::figure[NAME]`` lines into figure elements and ``:num[KEY]`` into the
model's formatted values.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import jinja2
import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.util import AtomicString
from markupsafe import Markup

from .content import FIGURE_DIRECTIVE, NUM_DIRECTIVE, Section
from .errors import BuildError


@dataclass
class PageState:
    """State shared by the sections of one page: the element ids in use and the footnote count."""

    used_ids: set[str]
    footnotes: int = 0


FOOTNOTE_REF = re.compile(r'(<a class="footnote-ref" href="#fn-[^"]+">)(\d+)(</a>)')
FOOTNOTE_LIST = '<div class="footnote">\n<hr>\n<ol>'
FOOTNOTE_ITEM = re.compile(r'<li id="fn-')


@dataclass(frozen=True)
class RenderedSection:
    """A section with its body rendered to HTML."""

    id: str
    title: str
    kicker: str
    description: str
    html: Markup
    source: Path


class FigurePreprocessor(Preprocessor):
    """Replace each ``::figure[NAME]`` line with the figure's stashed HTML."""

    def __init__(self, md: markdown.Markdown, render_figure: Callable[[str], str]) -> None:
        super().__init__(md)
        self.render_figure = render_figure

    def run(self, lines: list[str]) -> list[str]:
        result = []
        for line in lines:
            match = FIGURE_DIRECTIVE.match(line)
            if match:
                html = self.render_figure(match.group("name").strip())
                # Blank lines around the placeholder keep it a block of its own.
                result.extend(["", self.md.htmlStash.store(html), ""])
            else:
                result.append(line)
        return result


class NumInlineProcessor(InlineProcessor):
    """Replace ``:num[KEY]`` with the model's value for KEY, as plain escaped text."""

    def __init__(self, pattern: str, values: Mapping[str, str]) -> None:
        super().__init__(pattern)
        self.values = values

    def handleMatch(self, m: re.Match, data: str):  # noqa: N802 (Markdown's API name)
        key = m.group("key").strip()
        element = etree.Element("span", {"class": "model-value", "data-key": key})
        # AtomicString stops later inline patterns from reading the value as Markdown or HTML.
        element.text = AtomicString(self.values[key])
        return element, m.start(0), m.end(0)


class EssayExtension(Extension):
    """The figure and value directives of the essay's Markdown."""

    def __init__(self, render_figure: Callable[[str], str], values: Mapping[str, str]) -> None:
        super().__init__()
        self.render_figure = render_figure
        self.values = values

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        # Priority 20 runs after fenced code blocks (25) are stashed, so a
        # directive shown inside a code block stays literal.
        md.preprocessors.register(FigurePreprocessor(md, self.render_figure), "essay_figure", 20)
        md.inlinePatterns.register(
            NumInlineProcessor(NUM_DIRECTIVE.pattern, self.values), "essay_num", 175
        )


def make_slugify(used_ids: set[str]) -> Callable[[str, str], str]:
    """Return a slugify function that keeps heading ids unique across the whole page."""

    def slugify(value: str, separator: str) -> str:
        base = slugify_unicode(value, separator) or "section"
        slug = base
        counter = 2
        while slug in used_ids:
            slug = f"{base}{separator}{counter}"
            counter += 1
        used_ids.add(slug)
        return slug

    return slugify


def render_markdown(
    section: Section,
    render_figure: Callable[[str], str],
    values: Mapping[str, str],
    state: PageState,
) -> Markup:
    """Render one section's Markdown body to HTML, numbering footnotes on from earlier sections."""
    md = markdown.Markdown(
        extensions=[
            "footnotes",
            "tables",
            "attr_list",
            "fenced_code",
            "md_in_html",
            "smarty",
            "toc",
            EssayExtension(render_figure, values),
        ],
        extension_configs={
            # Footnote ids such as "fn-pruning-1" stay unique across sections.
            "footnotes": {"SEPARATOR": f"-{section.id}-", "BACKLINK_TITLE": "Back to the text"},
            "toc": {"slugify": make_slugify(state.used_ids), "permalink": False},
            "smarty": {"smart_angled_quotes": False},
        },
        output_format="html",
    )
    return Markup(continue_footnote_numbers(md.convert(section.body), state))


def continue_footnote_numbers(html: str, state: PageState) -> str:
    """Renumber a section's footnotes so the page counts 1, 2, 3… across sections.

    The footnotes extension numbers each Markdown document from 1; a reader
    sees one page, so the markers and the list continue from earlier sections.
    """
    offset = state.footnotes
    if offset:
        html = FOOTNOTE_REF.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + offset}{m.group(3)}", html)
        html = html.replace(FOOTNOTE_LIST, FOOTNOTE_LIST[:-1] + f' start="{offset + 1}">', 1)
    state.footnotes += len(FOOTNOTE_ITEM.findall(html))
    return html


# One environment per templates folder for the life of the process, so that
# `serve` compiles each template once. Jinja reloads a template whose file
# changed (auto_reload), so edits still show on the next build.
_ENVIRONMENTS: dict[Path, jinja2.Environment] = {}


def make_environment(templates_dir: Path) -> jinja2.Environment:
    """Return the Jinja environment for ``templates_dir``: autoescaping, strict undefined names."""
    if not templates_dir.is_dir():
        raise BuildError(
            "templates folder not found",
            path=templates_dir,
            hint="restore templates/ from the repository or pass --templates DIR",
        )
    key = Path(templates_dir).resolve()
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = new_environment(key)
    return _ENVIRONMENTS[key]


def new_environment(templates_dir: Path) -> jinja2.Environment:
    """Create a Jinja environment: autoescaping, strict undefined names."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def get_template(env: jinja2.Environment, name: str, templates_dir: Path) -> jinja2.Template:
    """Load a template, turning Jinja's errors into a BuildError with file and line."""
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound as error:
        raise BuildError(
            f"template {error.name!r} not found",
            path=templates_dir / name,
            hint="restore it from the repository, or check the name in {% include %} / {% extends %}",
        ) from None
    except jinja2.TemplateSyntaxError as error:
        raise template_error(error, templates_dir) from None


def template_error(error: jinja2.TemplateSyntaxError, templates_dir: Path) -> BuildError:
    """Describe a Jinja syntax error with its template file and line."""
    path = Path(error.filename) if error.filename else templates_dir / (error.name or "?")
    return BuildError(
        f"template syntax error: {error.message}",
        path=path,
        line=error.lineno,
        hint="fix the Jinja tag on that line",
    )


def render_template(
    env: jinja2.Environment, name: str, templates_dir: Path, context: Mapping[str, object]
) -> str:
    """Render a template, reporting a missing name or a syntax error with its file and line."""
    template = get_template(env, name, templates_dir)
    try:
        return template.render(**context)
    except jinja2.TemplateSyntaxError as error:
        raise template_error(error, templates_dir) from None
    except jinja2.TemplateNotFound as error:
        raise BuildError(
            f"template {error.name!r} not found",
            path=templates_dir / name,
            hint="check the name in {% include %} / {% extends %}",
        ) from None
    except jinja2.UndefinedError as error:
        raise BuildError(
            f"template uses an undefined value: {error.message}",
            path=templates_dir / name,
            line=_template_line(error, template),
            hint="check the variable name against what the build passes to templates",
        ) from None


def _template_line(error: Exception, template: jinja2.Template) -> int | None:
    """Find the template line of an error raised while rendering, from its traceback."""
    traceback = error.__traceback__
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == template.filename:
            line = template.get_corresponding_lineno(traceback.tb_lineno)
        traceback = traceback.tb_next
    return line
