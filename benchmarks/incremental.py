"""Time Markdown-only rebuilds in one warm process, as ``build.py serve`` does after a save.

Usage: ``python benchmarks/incremental.py PROJECT_ROOT REPETITIONS``. Builds
the project once, then appends a sentence to the last section and rebuilds,
REPETITIONS times, keeping one figure cache in memory between builds and
skipping the figure pictures for readers without JavaScript, as ``serve``
does (``preview=True``). Prints
each rebuild's wall time in seconds, one per line. Edits a copy: pass a
throwaway project folder (benchmarks/run.py makes one).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from essaygen.cache import CACHE_DIR, FigureCache  # noqa: E402 (needs the repository on sys.path)
from essaygen.pipeline import ProjectPaths, build  # noqa: E402


def main(root: Path, repetitions: int) -> None:
    logging.getLogger("essaygen").setLevel(logging.WARNING)
    paths = ProjectPaths.under(root, out=root / "site-incremental")
    cache = FigureCache(paths.data, root / CACHE_DIR)
    build(paths, cache=cache, preview=True)
    section = sorted(paths.content.glob("*.md"))[-1]
    for number in range(repetitions):
        with section.open("a", encoding="utf-8") as file:
            file.write(f"\nAn edited sentence, number {number}.\n")
        started = time.perf_counter()
        build(paths, cache=cache, preview=True)
        print(f"{time.perf_counter() - started:.6f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/incremental.py PROJECT_ROOT REPETITIONS")
    main(Path(sys.argv[1]), int(sys.argv[2]))
