"""Edit-to-reload time of ``build.py serve``: from saving a file to the reloaded page in Chromium.

Usage: ``python benchmarks/rebuild.py [--repetitions N] [--root PROJECT]``.

Starts ``build.py serve`` on an ephemeral port of 127.0.0.1 for a throwaway
copy of the project (content, data, templates, theme, essay.toml), opens the
page in headless Chromium and waits until the live-reload client is listening.
Then, for each kind of edit, it writes the file and measures the time from the
end of the write to the end of the reloaded page's ``load`` event. The end of
``load`` comes from the browser's navigation timing (``performance.timeOrigin``
plus ``loadEventEnd``) and is compared with the wall clock of this process.
Figures embed lazily after ``load``, so the number is the time until the new
text is shown.

The edits:

- ``markdown``: append a sentence to a section in the middle of the essay; the
  figure cache serves every figure.
- ``data-models``: append a blank line to ``data/models.tsv`` (the reader skips
  blank lines); only figures that declare ``models`` in ``data=`` rebuild.
- ``data-coefficients``: the same for ``data/coefficients.tsv``, which every
  figure depends on through the model, so every figure rebuilds.

:func:`measure` returns the samples for the benchmark harness; run as a
script it prints each sample and the median.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from essaygen.snapshots import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 (needs the repository on sys.path)

PROJECT_INPUTS = ("content", "data", "templates", "theme")
CONFIG_FILE = "essay.toml"
# Guards against a hung server; they bound the wait and are no performance limit.
STARTUP_TIMEOUT_S = 300
RELOAD_TIMEOUT_MS = 300_000
LOAD_END_JS = """() => {
  const entry = performance.getEntriesByType("navigation")[0];
  return entry && entry.loadEventEnd > 0 ? performance.timeOrigin + entry.loadEventEnd : null;
}"""


def copy_project(source: Path, dest: Path) -> Path:
    """Copy the project inputs of ``source`` into ``dest`` and return ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_INPUTS:
        shutil.copytree(source / name, dest / name)
    if (source / CONFIG_FILE).is_file():
        shutil.copy2(source / CONFIG_FILE, dest / CONFIG_FILE)
    return dest


@contextmanager
def serving(root: Path, log_dir: Path) -> Iterator[str]:
    """Run ``build.py serve`` for ``root`` and yield its URL; stop it by PID afterwards."""
    stdout_path, stderr_path = log_dir / "serve.out", log_dir / "serve.err"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "build.py", "serve", "-q", "--root", str(root), "--port", "0"],
            cwd=REPO, stdout=stdout, stderr=stderr,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        url = None
        while url is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"Serving (http://127\.0\.0\.1:\d+/\S*)", stdout_path.read_text(encoding="utf-8"))
            url = found.group(1) if found else None
            time.sleep(0.05)
        if url is None:
            raise RuntimeError(f"serve did not start:\n{stderr_path.read_text(encoding='utf-8')}")
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def browser_page() -> Iterator[object]:
    """Yield a page of headless Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="rebuild-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
            )
            try:
                yield context.new_page()
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def time_reload(page, edit: Callable[[], None]) -> float:
    """Apply ``edit`` and return the seconds until the reloaded page finished loading."""
    page.wait_for_function("() => document.documentElement.dataset.liveReload === 'connected'")
    with page.expect_event("load", timeout=RELOAD_TIMEOUT_MS):
        edit()
        saved_ms = time.time() * 1000
    loaded_ms = page.wait_for_function(LOAD_END_JS).json_value()
    return (loaded_ms - saved_ms) / 1000


def edits(root: Path) -> dict[str, Callable[[int], None]]:
    """Return the named edits, each taking the repetition number."""
    sections = sorted((root / "content").glob("*.md"))
    middle = sections[len(sections) // 2]

    def markdown(number: int) -> None:
        with middle.open("a", encoding="utf-8") as file:
            file.write(f"\nA sentence added by the rebuild benchmark, number {number}.\n")

    def blank_line(name: str) -> Callable[[int], None]:
        def append(number: int) -> None:
            with (root / "data" / name).open("a", encoding="utf-8") as file:
                file.write("\n")
        return append

    return {
        "markdown": markdown,
        "data-models": blank_line("models.tsv"),
        "data-coefficients": blank_line("coefficients.tsv"),
    }


def measure(root: Path | None = None, repetitions: int = 5) -> dict[str, list[float]]:
    """Return edit-to-reload seconds per kind of edit, measured on a copy of ``root`` (default: the repository)."""
    with tempfile.TemporaryDirectory(prefix="rebuild-benchmark-") as folder:
        project = copy_project(root or REPO, Path(folder) / "project")
        samples: dict[str, list[float]] = {}
        with serving(project, Path(folder)) as url, browser_page() as page:
            page.goto(url)
            for name, edit in edits(project).items():
                samples[name] = [time_reload(page, lambda: edit(number)) for number in range(repetitions)]
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5, help="edits of each kind (default: 5)")
    parser.add_argument("--root", type=Path, default=REPO, help="project to copy (default: the repository)")
    args = parser.parse_args()
    for name, values in measure(args.root, args.repetitions).items():
        shown = ", ".join(f"{value * 1000:.0f}" for value in values)
        print(f"{name:18} median {statistics.median(values) * 1000:6.0f} ms   samples (ms): {shown}")


if __name__ == "__main__":
    main()
