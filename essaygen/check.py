"""``python build.py check``: build into a temporary folder and report every problem at once.

The checks, each reported with the file and line an author should edit:

- broken internal links and anchors (``href``, ``src`` and ARIA id references);
- footnotes defined but never referenced, and references without a definition;
- images without alt text;
- figures without a caption or a summary;
- links to external sites that the references section (id ``references``) does not list;
- HTML that does not parse, as reported by html5lib, an HTML5 parser;
- assets (scripts, styles, images, fonts, frames) fetched from another host.

A build error is reported the same way, since nothing else can be checked then.
Findings in the built HTML are traced back to the Markdown section, figure
module or template that produced them. Where that fails, the finding names the
built page and its line instead.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote, urljoin, urlsplit

import html5lib
from html5lib.constants import E as HTML5LIB_MESSAGES

from .content import lines_outside_code
from .embedding import items_from_script
from .errors import BuildError, BuildErrors
from .html_index import Element, PageIndex, index_page
from .pipeline import build

log = logging.getLogger("essaygen")

REFERENCES_ID = "references"
ESSAY_PAGE = "index.html"
# Fragments that need no element: the HTML standard scrolls "#" and "#top" to the top.
TOP_FRAGMENTS = {"", "top"}
ID_REFERENCE_ATTRIBUTES = ("aria-labelledby", "aria-describedby", "aria-controls", "for", "headers")
# link rel values whose href the browser fetches.
FETCHED_LINK_RELS = {
    "stylesheet", "icon", "shortcut", "apple-touch-icon", "mask-icon", "manifest",
    "preload", "modulepreload", "prefetch",
}
FETCHED_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""", re.IGNORECASE)
FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:")
FOOTNOTE_REFERENCE = re.compile(r"\[\^([^\]\s]+)\](?!:)")
INLINE_CODE = re.compile(r"(`+).+?\1")


@dataclass(frozen=True, order=True)
class Finding:
    """One problem, with the file and line to edit and what to do."""

    path: str
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def run_check(paths) -> int:
    """Check the project at ``paths``, log every finding and return the exit code (1 on problems)."""
    findings = check_project(paths)
    for finding in findings:
        log.error("%s", finding)
    if findings:
        files = len({finding.path for finding in findings})
        log.error("check found %d problem%s in %d file%s", len(findings), _plural(findings),
                  files, "" if files == 1 else "s")
        return 1
    log.info("check passed: no problems found")
    return 0


def check_project(paths) -> list[Finding]:
    """Build the project into a temporary folder and return every finding, sorted by file and line."""
    with tempfile.TemporaryDirectory(prefix="essaygen-check-") as folder:
        try:
            result = build(replace(paths, out=Path(folder) / "site"))
        except BuildError as error:
            return sorted(findings_from_build_error(error, paths.root))
        site = Checker(paths, result)
        return sorted(set(site.run()))


def findings_from_build_error(error: BuildError, root: Path) -> list[Finding]:
    """Turn a failed build's errors into findings."""
    errors = error.errors if isinstance(error, BuildErrors) else [error]
    return [
        Finding(_relative(item.path, root) if item.path else "(build)", item.line or 0, item.message, item.hint or "")
        for item in errors
    ]


class Checker:
    """Runs every check over one built site."""

    def __init__(self, paths, result) -> None:
        self.paths = paths
        self.result = result
        self.site = Path(result.out_dir)
        self.sections = {section.id: section for section in result.sections}
        self.figures = {figure.name: figure for figure in result.figures}
        self.pages: dict[str, PageIndex] = {
            path.relative_to(self.site).as_posix(): index_page(path.read_text(encoding="utf-8"), set(self.sections))
            for path in sorted(self.site.rglob("*.html"))
        }
        # Pages inline the site's stylesheet, whose theme files check_stylesheets reports by line.
        self.site_stylesheets = {path.read_text(encoding="utf-8").strip() for path in self.site.rglob("*.css")}

    def run(self) -> Iterator[Finding]:
        for name, page in self.pages.items():
            yield from self.check_parses(name, page)
            yield from self.check_links(name, page)
            yield from self.check_images(name, page)
            yield from self.check_figures(name, page)
            yield from self.check_foreign_assets(name, page)
        if ESSAY_PAGE in self.pages:
            yield from self.check_references(self.pages[ESSAY_PAGE])
        yield from self.check_footnotes()
        yield from self.check_stylesheets()

    # -- each check -----------------------------------------------------------

    def check_parses(self, name: str, page: PageIndex) -> Iterator[Finding]:
        """Report every parse error html5lib finds (strict mode stops at the first of these)."""
        parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
        parser.parse(page.text)
        for (line, column), code, details in parser.errors:
            text = page.line_text(line).strip()
            element = page.element_at_line(line)
            yield self.finding(
                name, element, needles=[text] if text else [], built_line=line,
                message=f"HTML does not parse: {describe_parse_error(code, details)} "
                f"(built {name}, line {line}, column {column})",
                hint="close every element you open, in order, and quote attribute values",
            )

    def check_links(self, name: str, page: PageIndex) -> Iterator[Finding]:
        """Report internal links, asset URLs and id references whose target does not exist."""
        for element in page.elements:
            if "footnote-backref" in element.attrs.get("class", "").split():
                continue  # an unused footnote's link back, which check_footnotes reports at its source
            for attribute, url in internal_urls(element):
                problem = self.missing_target(name, url)
                if problem:
                    yield self.finding(
                        name, element, needles=[f"]({url})", f'{attribute}="{url}"', url],
                        message=f"broken link {url!r}: {problem}",
                        hint="link to a section id such as #quantisation, or to a file in the site",
                    )
            for attribute in ID_REFERENCE_ATTRIBUTES:
                for target in element.attrs.get(attribute, "").split():
                    if target not in page.ids:
                        yield self.finding(
                            name, element, needles=[f'{attribute}="{element.attrs[attribute]}"', target],
                            message=f"{attribute}={target!r} on <{element.tag}> names no element in {name}",
                            hint=f'give the target element id="{target}", or fix the id',
                        )

    def check_images(self, name: str, page: PageIndex) -> Iterator[Finding]:
        """Report images without alt text, unless they are marked decorative for assistive technology."""
        for element in page.elements:
            is_image = element.tag in ("img", "area") or (
                element.tag == "input" and element.attrs.get("type", "").lower() == "image"
            )
            if not is_image or element.attrs.get("alt", "").strip():
                continue
            if element.attrs.get("role") in ("presentation", "none") or element.attrs.get("aria-hidden") == "true":
                continue
            source = element.attrs.get("src", "") or element.attrs.get("href", "")
            yield self.finding(
                name, element, needles=[f"]({source})", source] if source else [],
                message=f"image {source!r} has no alt text",
                hint="describe the image in the brackets: ![what it shows](file.png)",
            )

    def check_figures(self, name: str, page: PageIndex) -> Iterator[Finding]:
        """Report figures without a caption, and essay figures without a caption and a summary."""
        for element in page.elements:
            if element.tag != "figure":
                continue
            figure_name = element.attrs.get("data-figure")
            if figure_name:
                yield from self._check_essay_figure(name, element, figure_name)
            elif not element.parts.get("figcaption", "").strip():
                yield self.finding(
                    name, element, needles=["<figure"],
                    message="figure has no caption",
                    hint="add a <figcaption> with one sentence saying what the figure shows",
                )

    def _check_essay_figure(self, name: str, element: Element, figure_name: str) -> Iterator[Finding]:
        built = self.figures.get(figure_name)
        for part, argument in (("figure-caption", "caption"), ("figure-summary", "summary")):
            if element.parts.get(part, "").strip():
                continue
            if built is None:
                yield self.finding(name, element, needles=[figure_name], message=f"figure {figure_name!r} has no {argument}")
                continue
            written = getattr(built.spec, argument)
            if _strip_tags(written).strip():
                hint = f'templates/figure.html must show figure.spec.{argument} in an element with class="{part}"'
            else:
                hint = f'pass {argument}="..." with visible text to @figure in {built.spec.module}'

            yield Finding(
                _relative(built.directive.path, self.paths.root), built.directive.line,
                f"figure {figure_name!r} has no {argument}", hint,
            )

    def check_references(self, page: PageIndex) -> Iterator[Finding]:
        """Report external links outside the references section that the section does not list."""
        listed = {
            normalise_url(element.attrs["href"])
            for element in page.elements
            if element.section == REFERENCES_ID and element.tag == "a" and is_external(element.attrs.get("href", ""))
        }
        has_references = REFERENCES_ID in self.sections
        for element in page.elements:
            url = element.attrs.get("href", "")
            if element.tag != "a" or not is_external(url) or element.section == REFERENCES_ID:
                continue
            if normalise_url(url) in listed:
                continue
            where = self.sections[REFERENCES_ID].path.name if has_references else None
            yield self.finding(
                ESSAY_PAGE, element, needles=[f"]({url})", url],
                message=f"external link {url} is not listed in the references section",
                hint=f"add it to the list in {where}" if where
                else 'add a last section with id = "references" that lists every external source',
            )

    def check_footnotes(self) -> Iterator[Finding]:
        """Report footnotes defined but never referenced, and references to undefined footnotes."""
        for section in self.result.sections:
            definitions, references = scan_footnotes(section.body, section.body_line)
            path = _relative(section.path, self.paths.root)
            for label, line in definitions.items():
                if label not in references:
                    yield Finding(path, line, f"footnote [^{label}] is defined but never used",
                                  f"cite it in the text with [^{label}], or delete the definition")
            for label, lines in references.items():
                if label not in definitions:
                    for line in lines:
                        yield Finding(path, line, f"footnote [^{label}] is used but not defined",
                                      f"add a line [^{label}]: ... below the paragraph")

    def check_foreign_assets(self, name: str, page: PageIndex) -> Iterator[Finding]:
        """Report every URL on another host that the page would fetch while loading."""
        for element in page.elements:
            if element.tag == "style" and element.text.strip() in self.site_stylesheets:
                continue
            for url in fetched_urls(element):
                if is_external(url):
                    yield self.finding(
                        name, element, needles=[url],
                        message=f"<{element.tag}> fetches {url} from another host",
                        hint="copy the file into theme/ so the site serves it itself",
                    )
            if element.tag == "script" and element.attrs.get("class") == "bokeh-item":
                figure = self.figures.get(element.attrs.get("data-target", "").removesuffix("-root"))
                item_json, problem = self.item_json(name, element)
                if problem:
                    yield self._figure_finding(figure, name, element, None, message=problem,
                                               hint="rebuild the site; if it persists, report a bug in essaygen")
                for url in bokeh_item_fetches(item_json):
                    yield self._figure_finding(figure, name, element, url)

    def check_stylesheets(self) -> Iterator[Finding]:
        """Report url() and @import in the theme's CSS, and in built CSS made from no theme file, that point to another host."""
        sources = sorted(self.paths.theme.rglob("*.css"))
        # The site's copies are minified onto one line; report lines of the files the author edits.
        generated = [path for path in sorted(self.site.rglob("*.css"))
                     if not (self.paths.root / self._theme_source(path)).is_file()]
        for path in [*sources, *generated]:
            label = _relative(path, self.paths.root) if path in sources else self._theme_source(path)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for match in CSS_URL.finditer(line):
                    url = match.group(2) or match.group(4)
                    if is_external(url):
                        yield Finding(label, number, f"stylesheet fetches {url} from another host",
                                      "copy the file into theme/ and refer to it with a relative url()")

    # -- helpers ----------------------------------------------------------------

    def item_json(self, page_name: str, element: Element) -> tuple[str, str | None]:
        """Return a figure's serialised item, inline or from its script file, and what is wrong with it."""
        source = element.attrs.get("data-src")
        if not source:
            return element.text, None
        if is_external(source):
            return "", f"the figure's item script {source} is on another host"
        problem = self.missing_target(page_name, source)
        if problem:
            return "", f"the figure's item script is missing: {problem}"
        target = self.site_target(page_name, source)
        items = items_from_script((self.site / target).read_text(encoding="utf-8"))
        if items is None:
            return "", f"{target} is not a figure item script made by essaygen"
        if element.attrs.get("data-target") not in items:
            return "", f"{target} has no item for {element.attrs.get('data-target')!r}"
        return items[element.attrs["data-target"]], None

    def site_target(self, page_name: str, url: str) -> str:
        """Return the site path that ``url`` (relative to ``page_name``) points to, with folders as their index.html."""
        target = unquote(urlsplit(urljoin("/" + page_name, url)).path).lstrip("/")
        if target == "" or target.endswith("/"):
            target += "index.html"
        if (self.site / target).is_dir():
            target += "/index.html"
        return target

    def missing_target(self, page_name: str, url: str) -> str | None:
        """Return why ``url`` (relative to ``page_name``) has no target in the site, or None."""
        target = self.site_target(page_name, url)
        fragment = unquote(urlsplit(url).fragment)
        if not (self.site / target).is_file():
            return f"{target} is not in the site"
        if fragment.lower() in TOP_FRAGMENTS or not target.endswith(".html"):
            return None
        page = self.pages.get(target)
        if page is not None and fragment not in page.ids:
            return f'no element has id="{fragment}"' + (f" in {target}" if target != page_name else "")
        return None

    def finding(self, page_name: str, element: Element | None, *, needles: Iterable[str], message: str,
                hint: str = "", built_line: int | None = None) -> Finding:
        """Place a finding at the source line that produced ``element``, as far as it can be traced."""
        needles = [needle for needle in needles if needle]
        section = self.sections.get(element.section) if element and element.section else None
        if section is not None:
            line = _find_line(section.path, needles, start=section.body_line)
            if line:
                return Finding(_relative(section.path, self.paths.root), line, message, hint)
        else:
            for path in sorted(self.paths.templates.rglob("*.html")):
                line = _find_line(path, needles)
                if line:
                    return Finding(_relative(path, self.paths.root), line, message, hint)
        figure = self.figures.get(element.figure) if element and element.figure else None
        if figure is not None:
            return self._figure_finding(figure, page_name, element, None, message, hint, needles)
        line = built_line or (element.line if element else 0)
        if section is not None:
            if "(built " not in message:
                message += f" (built {page_name}, line {line})"
            return Finding(_relative(section.path, self.paths.root), section.body_line, message, hint)
        return Finding(f"{page_name} (built)", line, message, hint)

    def _figure_finding(self, figure, page_name, element, url, message=None, hint=None, needles=()) -> Finding:
        message = message or f"figure fetches {url} from another host"
        hint = hint or "serve the file from theme/ instead, or draw it with Bokeh"
        if figure is None:
            return Finding(f"{page_name} (built)", element.line, message, hint)
        module = Path(figure.spec.build.__code__.co_filename)
        line = _find_line(module, [*needles, url] if url else needles) or figure.spec.build.__code__.co_firstlineno
        return Finding(_relative(module, self.paths.root), line, message, hint)

    def _theme_source(self, built: Path) -> str:
        relative = built.relative_to(self.site).as_posix()
        unhashed = re.sub(r"\.[0-9a-f]{10}(\.[a-z0-9]+)$", r"\1", relative).removeprefix("assets/")
        source = self.paths.theme / unhashed
        return _relative(source, self.paths.root) if source.is_file() else f"{relative} (built)"


# -- URL and HTML helpers --------------------------------------------------------


def is_external(url: str) -> bool:
    """Return whether ``url`` points to another host (http, https or protocol-relative)."""
    url = url.strip()
    return url.startswith("//") or urlsplit(url).scheme.lower() in ("http", "https")


def normalise_url(url: str) -> str:
    """Return ``url`` in a form where trivially different spellings of one address compare equal."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower()}{path}{query}"


def internal_urls(element: Element) -> Iterator[tuple[str, str]]:
    """Yield (attribute, URL) for each URL in the site that ``element`` links to or loads."""
    candidates = []
    if element.tag in ("a", "area", "link") and "href" in element.attrs:
        candidates.append(("href", element.attrs["href"]))
    for attribute in FETCHED_ATTRIBUTES.get(element.tag, ()):
        if attribute in element.attrs and attribute != "srcset":
            candidates.append((attribute, element.attrs[attribute]))
    for attribute, url in candidates:
        url = url.strip()
        scheme = urlsplit(url).scheme.lower()
        if url and not is_external(url) and scheme in ("", "file"):
            if element.tag == "link" and "canonical" in element.attrs.get("rel", ""):
                continue
            yield attribute, url


def fetched_urls(element: Element) -> Iterator[str]:
    """Yield every URL the browser fetches for ``element`` when the page loads."""
    if element.tag == "link":
        rels = set(element.attrs.get("rel", "").lower().split())
        if rels & FETCHED_LINK_RELS:
            yield element.attrs.get("href", "")
    for attribute in FETCHED_ATTRIBUTES.get(element.tag, ()):
        value = element.attrs.get(attribute, "")
        if attribute == "srcset":
            yield from (candidate.split()[0] for candidate in value.split(",") if candidate.strip())
        elif value:
            yield value
    if element.tag == "meta" and element.attrs.get("http-equiv", "").lower() == "refresh":
        yield element.attrs.get("content", "").partition("url=")[2]
    for match in CSS_URL.finditer(element.attrs.get("style", "")):
        yield match.group(2) or match.group(4)
    if element.tag == "style":
        for match in CSS_URL.finditer(element.text):
            yield match.group(2) or match.group(4)


def bokeh_item_fetches(item_json: str) -> list[str]:
    """Return the external URLs a serialised Bokeh item loads: ImageURL glyphs and HTML in widgets."""
    try:
        item = json.loads(item_json)
    except ValueError:
        return []
    found: list[str] = []

    def walk(node, model_name: str = "") -> None:
        if isinstance(node, dict):
            name = node.get("name", model_name) if node.get("type") == "object" else model_name
            for key, value in node.items():
                if name == "ImageURL" and key == "url":
                    found.extend(_strings(value))
                walk(value, name)
        elif isinstance(node, list):
            for value in node:
                walk(value, model_name)
        elif isinstance(node, str) and "<" in node:
            found.extend(url for element in index_page(node, set()).elements for url in fetched_urls(element))

    walk(item)
    return [url for url in found if is_external(url)]


def _strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in _strings(value)]
    return []


def scan_footnotes(body: str, first_line: int) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Return footnote definitions (label to line) and references (label to lines), skipping code."""
    definitions: dict[str, int] = {}
    references: dict[str, list[int]] = {}
    for number, line in lines_outside_code(body, first_line):
        text = INLINE_CODE.sub("", line)
        definition = FOOTNOTE_DEFINITION.match(text)
        if definition:
            definitions.setdefault(definition.group(1), number)
            text = text[definition.end():]
        for match in FOOTNOTE_REFERENCE.finditer(text):
            references.setdefault(match.group(1), []).append(number)
    return definitions, references


def describe_parse_error(code: str, details: dict | None) -> str:
    """Return html5lib's message for a parse error ``code``, or the code itself."""
    template = HTML5LIB_MESSAGES.get(code)
    if template is None:
        return code
    try:
        return template % (details or {})
    except (KeyError, TypeError, ValueError):
        return template


def _find_line(path: Path, needles: list[str], start: int = 1) -> int | None:
    """Return the first line at or after ``start`` of ``path`` containing any needle, trying them in order."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for needle in needles:
        for number in range(max(start, 1), len(lines) + 1):
            if needle in lines[number - 1]:
                return number
    return None


def _strip_tags(html: str) -> str:
    return re.sub(r"<[^>]*>", "", html)


def _relative(path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def _plural(items: list) -> str:
    return "" if len(items) == 1 else "s"


__all__ = ["Finding", "check_project", "run_check"]
