"""Peers built from the same workload: the essay's text and its quantisation figure.

Each peer is built into its own folder and timed the same way as essaygen.
A peer that cannot show a Bokeh figure gets the text only, and says so.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from builds import Run, essaygen_command, run_timed
from tools import NODE_DIR, Tool, venv_bin
from workload import REPO, Workload, plain_sections

PEER_FIGURE = "quantisation"
PLACEHOLDER = "FIGURE-PLACEHOLDER"


@dataclass
class Peer:
    """A peer's built page and how long its build took."""

    name: str
    kind: str  # "essaygen", "bokeh" or "text": what the browser waits for
    site: Path | None = None
    page: str = "index.html"
    builds: list[Run] = field(default_factory=list)
    # essaygen only: builds that reuse .cache/ from the build before
    warm_builds: list[Run] = field(default_factory=list)
    note: str = ""
    error: str = ""


def essay_markdown(workload: Workload, values: dict[str, str], figure_marker: str | None) -> str:
    """Return the whole essay as one Markdown document, with ``figure_marker`` where the figure goes."""
    parts = []
    for number, section in enumerate(plain_sections(workload.content, values)):
        heading = "#" if number == 0 else "##"
        kicker = f"{section.kicker} " if section.kicker and number else ""
        lines = section.body.splitlines()
        for index, name in reversed(section.figures):
            if figure_marker and name == PEER_FIGURE:
                lines[index:index] = ["", figure_marker, ""]
        parts.append(f"{heading} {kicker}{section.title}\n\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n"


def timed_builds(peer: Peer, command: list[str], cwd: Path, repetitions: int, clean: list[Path]) -> Peer:
    for _ in range(repetitions):
        for path in clean:
            shutil.rmtree(path, ignore_errors=True)
        run = run_timed(command, cwd)
        peer.builds.append(run)
        if run.returncode != 0 or (peer.site and not (peer.site / peer.page).is_file()):
            peer.error = f"build exited {run.returncode}"
            if run.returncode == 0:
                peer.error += f" but wrote no {peer.page}"
            peer.error += ": " + error_lines(run.stderr)
            peer.site = None
            break
    return peer


def error_lines(stderr: str, count: int = 4) -> str:
    """Return the lines of a failed command's output that name an error, else its last lines."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.strip().startswith("at ")]
    errors = [line for line in lines if "rror" in line]
    return " | ".join(dict.fromkeys((errors or lines)[-count:]))


def build_essaygen(workload: Workload, repetitions: int) -> Peer:
    peer = Peer("essaygen", "essaygen", note="text and the quantisation figure")
    out = workload.root / "site"
    peer.site = out
    timed_builds(peer, essaygen_command(workload, out), REPO, repetitions, [workload.root / ".cache"])
    if not peer.error:
        warm = timed_builds(Peer("essaygen", "essaygen", site=out), essaygen_command(workload, out), REPO, repetitions, [])
        peer.warm_builds = warm.builds
    return peer


def build_naive_bokeh(workload: Workload, values: dict[str, str], work: Path, repetitions: int) -> Peer:
    peer = Peer(
        "naive Bokeh (file_html)",
        "bokeh",
        note="text and the quantisation figure; BokehJS as blocking scripts in <head>, "
        "served from 127.0.0.1 instead of cdn.bokeh.org (unreachable here)",
    )
    text = work / "naive.md"
    text.write_text(essay_markdown(workload, values, PLACEHOLDER), encoding="utf-8")
    out = work / "naive-site"
    peer.site = out
    command = [sys.executable, str(Path(__file__).with_name("naive_bokeh.py")), str(text), str(out), PEER_FIGURE]
    return timed_builds(peer, command, REPO, repetitions, [out])


def build_mkdocs(workload: Workload, values: dict[str, str], work: Path, repetitions: int, tool: Tool) -> Peer:
    peer = Peer("MkDocs", "text", note="text only (the floor), default mkdocs theme")
    if not tool.ok:
        peer.error = tool.error
        return peer
    project = work / "mkdocs"
    (project / "docs").mkdir(parents=True, exist_ok=True)
    (project / "docs" / "index.md").write_text(essay_markdown(workload, values, None), encoding="utf-8")
    (project / "mkdocs.yml").write_text(
        "site_name: Model compression\n"
        "nav:\n  - index.md\n"
        "markdown_extensions:\n  - footnotes\n  - tables\n  - attr_list\n  - md_in_html\n  - toc\n  - smarty\n",
        encoding="utf-8",
    )
    peer.site = project / "site"
    command = [str(venv_bin("mkdocs") / "mkdocs"), "build", "-q"]
    return timed_builds(peer, command, project, repetitions, [project / "site"])


def build_observable(workload: Workload, values: dict[str, str], work: Path, repetitions: int, tool: Tool) -> Peer:
    peer = Peer("Observable Framework", "text", note="text only (the figure would need rewriting in JavaScript)")
    if not tool.ok:
        peer.error = tool.error
        return peer
    project = work / "observable"
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "src" / "index.md").write_text(essay_markdown(workload, values, None), encoding="utf-8")
    (project / "observablehq.config.js").write_text(
        'export default {root: "src", title: "Model compression", pager: false};\n', encoding="utf-8"
    )
    peer.site = project / "dist"
    command = ["node", str(NODE_DIR / "node_modules" / "@observablehq" / "framework" / "dist" / "bin" / "observable.js"), "build"]
    return timed_builds(peer, command, project, repetitions, [project / "dist", project / "src" / ".observablehq"])


def build_idyll(workload: Workload, values: dict[str, str], work: Path, repetitions: int, tool: Tool) -> Peer:
    peer = Peer("Idyll", "text", note="text only (Idyll markup accepts Markdown text)")
    if not tool.ok:
        peer.error = tool.error
        return peer
    project = work / "idyll"
    project.mkdir(parents=True, exist_ok=True)
    (project / "index.idyll").write_text(essay_markdown(workload, values, None), encoding="utf-8")
    peer.site = project / "build"
    command = [
        "node", str(NODE_DIR / "node_modules" / "idyll" / "bin" / "idyll.js"), "build",
        "-i", "index.idyll", "-o", "build",
    ]
    return timed_builds(peer, command, project, repetitions, [project / "build", project / ".idyll"])


def quarto_peer(tool: Tool) -> Peer:
    return Peer("Quarto", "text", error=tool.error or "not built: quarto-cli is installed but no workload is set up for it")


def build_peers(
    peer_workload: Workload, values: dict[str, str], work: Path, repetitions: int, tools: dict[str, Tool]
) -> list[Peer]:
    """Build every peer from ``peer_workload``; failures are returned with their error, not raised."""
    work.mkdir(parents=True, exist_ok=True)
    peers = [build_essaygen(peer_workload, repetitions)]
    builders = [
        lambda: build_naive_bokeh(peer_workload, values, work, repetitions),
        lambda: build_mkdocs(peer_workload, values, work, repetitions, tools["mkdocs"]),
        lambda: build_observable(peer_workload, values, work, repetitions, tools["observable"]),
        lambda: build_idyll(peer_workload, values, work, repetitions, tools["idyll"]),
        lambda: quarto_peer(tools["quarto"]),
    ]
    for builder in builders:
        peers.append(builder())
    return peers
