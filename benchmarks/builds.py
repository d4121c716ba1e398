"""Build timings: wall time and peak memory of whole build commands, run as child processes.

A build is timed as an author runs it, ``python build.py``, so the figures
include interpreter start-up and imports. Peak memory is the child's maximum
resident set size from ``os.wait4`` (kilobytes on Linux).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from workload import REPO, Workload

STAGE_LINE = re.compile(r"^(?P<stage>[a-z][a-z ]+?)\s{2,}.*\((?P<ms>\d+) ms\)$")


@dataclass
class Run:
    """One timed child process."""

    seconds: float
    max_rss_mb: float
    returncode: int
    cpu_seconds: float = 0.0  # user + system time of the child and its waited-for children
    stderr: str = ""
    stages: dict[str, float] = field(default_factory=dict)


def run_timed(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
    """Run ``command`` and return its wall time, peak RSS and exit code."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, env=env)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    stages = {}
    for line in stderr.splitlines():
        match = STAGE_LINE.match(line.strip())
        if match:
            stages[match["stage"].strip()] = int(match["ms"]) / 1000
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, usage.ru_maxrss / 1024, process.returncode, cpu, stderr, stages)


def essaygen_command(workload: Workload, out: Path, quiet: bool = False) -> list[str]:
    command = [sys.executable, str(REPO / "build.py"), "build", "--root", str(workload.root), "--out", str(out)]
    return command + (["-q"] if quiet else [])


def time_builds(workload: Workload, repetitions: int) -> dict[str, list[Run]]:
    """Time cold builds (empty .cache/), cold builds without the figure pictures, and warm builds."""
    cache = workload.root / ".cache"
    out = workload.root / "site"
    no_pictures = {**os.environ, "ESSAYGEN_SNAPSHOTS": "0"}
    cold, cold_no_pictures, warm = [], [], []
    for _ in range(repetitions):
        shutil.rmtree(cache, ignore_errors=True)
        cold_no_pictures.append(run_timed(essaygen_command(workload, out), REPO, env=no_pictures))
    for _ in range(repetitions):
        shutil.rmtree(cache, ignore_errors=True)
        cold.append(run_timed(essaygen_command(workload, out), REPO))
    for _ in range(repetitions):
        warm.append(run_timed(essaygen_command(workload, out), REPO))
    return {"cold": cold, "cold_no_pictures": cold_no_pictures, "warm": warm}


def time_import(repetitions: int) -> list[Run]:
    """Time starting Python and importing the build pipeline (and with it Bokeh and numpy)."""
    command = [sys.executable, "-c", "import essaygen.pipeline, essaygen.figures; essaygen.figures.load_registry()"]
    return [run_timed(command, REPO) for _ in range(repetitions)]


def time_incremental(workload: Workload, repetitions: int) -> dict:
    """Time a Markdown-only rebuild in a warm process, as ``serve`` does after a save.

    Runs benchmarks/incremental.py in a child process: it builds once, then
    appends a sentence to one section and rebuilds, ``repetitions`` times.
    When the author-workflow helper's benchmarks/rebuild.py exists, it is run
    as well and its output is kept verbatim.
    """
    result: dict = {}
    command = [sys.executable, str(Path(__file__).with_name("incremental.py")), str(workload.root), str(repetitions)]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    if completed.returncode == 0:
        result["markdown_s"] = [float(value) for value in completed.stdout.split()]
    else:
        result["error"] = completed.stderr.strip().splitlines()[-5:]
    rebuild = Path(__file__).with_name("rebuild.py")
    if rebuild.is_file():
        completed = subprocess.run(
            [sys.executable, str(rebuild)], cwd=REPO, capture_output=True, text=True, timeout=900
        )
        result["rebuild_py"] = {
            "command": f".venv/bin/python benchmarks/{rebuild.name}",
            "returncode": completed.returncode,
            "stdout": completed.stdout.strip(),
            "stderr": completed.stderr.strip().splitlines()[-5:],
        }
    return result
