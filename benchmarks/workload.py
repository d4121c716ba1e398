"""Project copies that the benchmarks build: the full essay, or its text with chosen figures.

Every build runs in its own copy of the project inputs (content, data,
templates, theme, essay.toml), so the figure cache under ``ROOT/.cache`` starts
empty and a "cold" build is really cold.
"""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROJECT_INPUTS = ("data", "templates", "theme")
CONFIG_FILE = "essay.toml"
FIGURE_DIRECTIVE = re.compile(r"^::figure\[([^\]]+)\]\s*$")
VALUE_DIRECTIVE = re.compile(r":num\[([^\]]+)\]")
FRONT_MATTER = re.compile(r"\A\+\+\+\n(.*?)\n\+\+\+\n", re.S)


@dataclass
class Workload:
    """A project folder ready to build, and what was left out to make it build."""

    root: Path
    figures: list[str]
    dropped_figures: list[str] = field(default_factory=list)
    replaced_values: list[str] = field(default_factory=list)

    @property
    def content(self) -> Path:
        return self.root / "content"


def known_figures() -> set[str]:
    """Return the names of the figures registered in essaygen/figures/."""
    from essaygen.figures import load_registry

    return set(load_registry())


def known_values(data_dir: Path) -> dict[str, str]:
    """Return the model's prose values, or an empty dict when the model cannot load."""
    try:
        from essaygen.model import load_model

        return load_model(data_dir).prose_values()
    except Exception as error:  # the model is someone else's work in progress
        print(f"warning: the model did not load ({error}); :num values left as keys", file=sys.stderr)
        return {}


def make_workload(
    dest: Path,
    source_content: Path,
    keep_figures: set[str] | None = None,
    make_buildable: bool = True,
) -> Workload:
    """Copy the project inputs to ``dest`` with the sections from ``source_content``.

    ``keep_figures`` limits the figures placed (None keeps all). With
    ``make_buildable`` a figure that is not registered is dropped, and a
    ``:num[KEY]`` the model does not know is replaced by the text ``KEY``, so
    that the essay builds while other people are still writing it; both are
    listed in the result so the report can say so.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in PROJECT_INPUTS:
        shutil.copytree(REPO / name, dest / name)
    if (REPO / CONFIG_FILE).is_file():
        shutil.copy2(REPO / CONFIG_FILE, dest / CONFIG_FILE)

    registered = known_figures() if make_buildable else None
    values = known_values(dest / "data") if make_buildable else None
    workload = Workload(root=dest, figures=[])
    (dest / "content").mkdir()
    for path in sorted(source_content.glob("*.md")):
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            match = FIGURE_DIRECTIVE.match(line.strip())
            if match:
                name = match.group(1)
                if keep_figures is not None and name not in keep_figures:
                    continue
                if registered is not None and name not in registered:
                    workload.dropped_figures.append(name)
                    continue
                workload.figures.append(name)
            if values is not None:
                line = replace_unknown_values(line, values, workload.replaced_values)
            lines.append(line)
        (dest / "content" / path.name).write_text("".join(lines), encoding="utf-8")
    return workload


def replace_unknown_values(line: str, values: dict[str, str], replaced: list[str]) -> str:
    def substitute(match: re.Match) -> str:
        key = match.group(1)
        if key in values:
            return match.group(0)
        replaced.append(key)
        return key

    return VALUE_DIRECTIVE.sub(substitute, line)


@dataclass
class PlainSection:
    """A section as plain Markdown: title and body with figure directives removed."""

    title: str
    kicker: str
    body: str
    figures: list[tuple[int, str]]  # (index into body lines, figure name)


def plain_sections(content: Path, values: dict[str, str]) -> list[PlainSection]:
    """Read the sections for peers that know nothing of directives.

    ``:num[KEY]`` becomes the model's value and figure directives are removed,
    remembering where they stood so a peer can put its own figure there.
    """
    sections = []
    for path in sorted(content.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        match = FRONT_MATTER.match(text)
        meta = tomllib.loads(match.group(1)) if match else {}
        body = text[match.end():] if match else text
        body = VALUE_DIRECTIVE.sub(lambda m: values.get(m.group(1), m.group(1)), body)
        lines, figures = [], []
        for line in body.splitlines():
            directive = FIGURE_DIRECTIVE.match(line.strip())
            if directive:
                figures.append((len(lines), directive.group(1)))
                continue
            lines.append(line)
        sections.append(
            PlainSection(
                title=str(meta.get("title", path.stem)),
                kicker=str(meta.get("kicker", "")),
                body="\n".join(lines) + "\n",
                figures=figures,
            )
        )
    return sections
