"""An index of a built HTML page for the checks: every element with its line and context.

The standard library's tokenising parser is used here because it reports the
line of each tag; :mod:`essaygen.check` validates the same HTML separately
with html5lib.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "source", "track", "wbr",
}
# Text collected per figure: the whole caption and the essay's two caption parts.
FIGURE_PARTS = ("figure-caption", "figure-summary")


@dataclass
class Element:
    """One start tag: its attributes, line and the section and figure it sits in."""

    tag: str
    attrs: dict[str, str]
    line: int
    section: str | None  # id of the enclosing essay section, if any
    figure: str | None  # name of the enclosing essay figure (data-figure), if any
    text: str = ""  # raw text, kept for <script> and <style> only
    parts: dict[str, str] = field(default_factory=dict)  # figures only: caption texts


@dataclass
class PageIndex:
    """Every element of one page, the ids it defines and its source text."""

    text: str
    elements: list[Element]
    ids: set[str]
    _lines: list[str] = field(default_factory=list)

    def line_text(self, line: int) -> str:
        if not self._lines:
            self._lines = self.text.splitlines()
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""

    def element_at_line(self, line: int) -> Element | None:
        """Return the last element that starts at or before ``line``."""
        found = None
        for element in self.elements:
            if element.line > line:
                break
            found = element
        return found


class _Indexer(HTMLParser):
    def __init__(self, section_ids: set[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.section_ids = section_ids
        self.elements: list[Element] = []
        self.ids: set[str] = set()
        # Open elements: (tag, element, caption parts this element opens).
        self.stack: list[tuple[str, Element, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value if value is not None else "" for name, value in attrs}
        parent = self.stack[-1][1] if self.stack else None
        section = parent.section if parent else None
        if tag == "section" and values.get("id") in self.section_ids:
            section = values["id"]
        figure = parent.figure if parent else None
        if tag == "figure":
            figure = values.get("data-figure")
        element = Element(tag, values, self.getpos()[0], section, figure)
        self.elements.append(element)
        for name in ("id", "name" if tag == "a" else None):
            if name and values.get(name):
                self.ids.add(values[name])
        if tag in VOID_ELEMENTS:
            return
        classes = values.get("class", "").split()
        opened = tuple(part for part in FIGURE_PARTS if part in classes)
        if tag == "figcaption":
            opened += ("figcaption",)
        self.stack.append((tag, element, opened))

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not self.stack:
            return
        tag, element, _ = self.stack[-1]
        if tag in ("script", "style"):
            element.text += data
            return
        figure = next((entry[1] for entry in reversed(self.stack) if entry[0] == "figure"), None)
        if figure is None:
            return
        for _, _, opened in self.stack:
            for part in opened:
                figure.parts[part] = figure.parts.get(part, "") + data


def index_page(html: str, section_ids: set[str]) -> PageIndex:
    """Index every element of ``html``; ``section_ids`` are the ids of the essay's sections."""
    indexer = _Indexer(section_ids)
    indexer.feed(html)
    indexer.close()
    return PageIndex(html, indexer.elements, indexer.ids)
