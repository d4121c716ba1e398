"""Stage 1: load the essay's Markdown sections from the content folder.

A section is one ``.md`` file. Files are read in file-name order, so authors
number them (``01-opening.md``, ``02-map.md``). Each file starts with a TOML
front-matter block between ``+++`` lines::

    +++
    title = "What quantisation does"
    id = "quantisation"
    kicker = "3"
    +++

The body is Markdown. Two directives extend it:

- ``::figure[NAME]`` alone on a line places the registered figure NAME.
- ``:num[KEY]`` inside text is replaced by the model's formatted value KEY.

Both follow the generic-directive syntax proposed for CommonMark (leaf and
text directives), which ordinary prose does not produce by accident.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import BuildError, raise_collected

FRONT_MATTER_FENCE = "+++"
FRONT_MATTER_KEYS = {"title", "id", "kicker", "description"}

FIGURE_DIRECTIVE = re.compile(r"^::figure\[(?P<name>[^\]\n]*)\]\s*$")
# A line that starts like a leaf directive but does not match the form above.
DIRECTIVE_LIKE = re.compile(r"^::[A-Za-z]")
NUM_DIRECTIVE = re.compile(r"(?<![\w:]):num\[(?P<key>[^\]\n]*)\]")
CODE_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
SECTION_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FIGURE_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Directive:
    """A ``::figure[...]`` or ``:num[...]`` use, with where it was written."""

    name: str
    path: Path
    line: int


@dataclass(frozen=True)
class Section:
    """One Markdown file of the essay, with its front matter parsed."""

    path: Path
    id: str
    title: str
    kicker: str
    description: str
    body: str
    body_line: int  # line number in the file of the body's first line
    figures: tuple[Directive, ...]
    values: tuple[Directive, ...]


def load_sections(content_dir: Path) -> list[Section]:
    """Read every section in file-name order, collecting all problems before raising."""
    content_dir = Path(content_dir)
    if not content_dir.is_dir():
        raise BuildError(
            "content folder not found",
            path=content_dir,
            hint="create it and add numbered Markdown sections such as 01-opening.md, "
            "or pass --content DIR",
        )
    paths = sorted(content_dir.glob("*.md"))
    if not paths:
        raise BuildError(
            "content folder has no .md sections",
            path=content_dir,
            hint="add at least one section such as 01-opening.md",
        )

    sections: list[Section] = []
    errors: list[BuildError] = []
    for path in paths:
        try:
            sections.append(load_section(path))
        except BuildError as error:
            errors.append(error)
    errors.extend(_duplicate_id_errors(sections))
    raise_collected(errors)
    return sections


def load_section(path: Path) -> Section:
    """Parse one section file: front matter, body and directives."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise BuildError(
            f"file is not valid UTF-8 (byte 0x{path.read_bytes()[error.start]:02x} "
            f"at offset {error.start})",
            path=path,
            line=line,
            hint="save the file as UTF-8",
        ) from None
    meta, body, body_line = _split_front_matter(path, text)
    title = meta.get("title", "")
    if not isinstance(title, str) or not title.strip():
        raise BuildError(
            "section has no title",
            path=path,
            line=1,
            hint='add title = "..." to the front matter between the +++ lines',
        )
    section_id = meta.get("id", _id_from_file_name(path))
    if not isinstance(section_id, str) or not SECTION_ID.match(section_id):
        raise BuildError(
            f"invalid section id {section_id!r}",
            path=path,
            line=1,
            hint="use lower-case letters, digits and single hyphens, such as 'pruning-cliff'",
        )
    figures, values = _scan_directives(path, body, body_line)
    return Section(
        path=path,
        id=section_id,
        title=title.strip(),
        kicker=str(meta.get("kicker", "")),
        description=str(meta.get("description", "")),
        body=body,
        body_line=body_line,
        figures=figures,
        values=values,
    )


def _split_front_matter(path: Path, text: str) -> tuple[dict, str, int]:
    """Return the parsed front matter, the body and the body's first line number."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        raise BuildError(
            "missing front matter",
            path=path,
            line=1,
            hint='start the file with a +++ line, title = "...", and a closing +++ line',
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == FRONT_MATTER_FENCE:
            break
    else:
        raise BuildError(
            "front matter is not closed",
            path=path,
            line=1,
            hint="end the front matter with a line containing only +++",
        )
    header = "".join(lines[1:index])
    try:
        meta = tomllib.loads(header)
    except tomllib.TOMLDecodeError as error:
        # tomllib reports "(at line N, column M)" relative to the header.
        found = re.search(r"line (\d+)", str(error))
        line = int(found.group(1)) + 1 if found else 2
        raise BuildError(
            f"malformed front matter: {error}",
            path=path,
            line=line,
            hint='write one TOML key per line, such as title = "Opening"',
        ) from None
    unknown = sorted(set(meta) - FRONT_MATTER_KEYS)
    if unknown:
        raise BuildError(
            f"unknown front matter key {unknown[0]!r}",
            path=path,
            line=_line_of_key(lines, unknown[0]),
            hint=f"allowed keys: {', '.join(sorted(FRONT_MATTER_KEYS))}",
        )
    body = "".join(lines[index + 1 :])
    return meta, body, index + 2


def _line_of_key(lines: list[str], key: str) -> int:
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith(key):
            return number
    return 1


def _id_from_file_name(path: Path) -> str:
    """Derive an id from a file name: ``03-What_Quantisation.md`` gives ``what-quantisation``."""
    stem = re.sub(r"^\d+[-_.\s]*", "", path.stem) or path.stem
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "section"


def lines_outside_code(body: str, first_line: int) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) for every body line outside fenced code blocks and their fences."""
    fence: str | None = None
    for offset, line in enumerate(body.splitlines()):
        fence_match = CODE_FENCE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is None:
            yield first_line + offset, line


def _scan_directives(
    path: Path, body: str, body_line: int
) -> tuple[tuple[Directive, ...], tuple[Directive, ...]]:
    """Find figure and value directives outside fenced code blocks."""
    figures: list[Directive] = []
    values: list[Directive] = []
    for number, line in lines_outside_code(body, body_line):
        figure = FIGURE_DIRECTIVE.match(line)
        if figure:
            name = figure.group("name").strip()
            if not FIGURE_NAME.match(name):
                raise BuildError(
                    f"invalid figure name {name!r} in ::figure[...]",
                    path=path,
                    line=number,
                    hint="use a registered name such as ::figure[quantisation]",
                )
            figures.append(Directive(name, path, number))
            continue
        if DIRECTIVE_LIKE.match(line):
            raise BuildError(
                f"malformed directive {line.strip()!r}",
                path=path,
                line=number,
                hint="place a figure with ::figure[NAME] alone on its own line",
            )
        for match in NUM_DIRECTIVE.finditer(line):
            values.append(Directive(match.group("key").strip(), path, number))
    return tuple(figures), tuple(values)


def _duplicate_id_errors(sections: list[Section]) -> list[BuildError]:
    seen: dict[str, Section] = {}
    errors: list[BuildError] = []
    for section in sections:
        first = seen.setdefault(section.id, section)
        if first is not section:
            errors.append(
                BuildError(
                    f"duplicate section id {section.id!r}, already used by {first.path.name}",
                    path=section.path,
                    line=1,
                    hint='give one of them another id = "..." in its front matter',
                )
            )
    return errors
