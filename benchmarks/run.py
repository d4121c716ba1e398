"""Measure the essay's build, downloads, page load and controls beside its peers; write BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py

One run measures everything, so every ratio compares numbers taken minutes
apart on the same machine. Tools (Lighthouse, MkDocs, Observable Framework,
Idyll, Quarto) are installed on first use under benchmarks/.tools/, which git
ignores. A full run takes about ten minutes on 2 cores; ``--quick`` cuts the
repetitions for trying the harness out.
"""

from __future__ import annotations

import argparse
import os
import gzip
import pickle
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bokeh  # noqa: E402 (needs the repository on sys.path)

from pageload import (  # noqa: E402
    DESKTOP,
    PHONE,
    chromium,
    load_once,
    measure_controls,
    measure_replace_state,
    median,
    percentile,
    scroll_through,
    serve,
    summarise_controls,
    summarise_loads,
)
from builds import time_builds, time_import, time_incremental  # noqa: E402
from lighthouse import lighthouse_medians  # noqa: E402
from peers import build_peers  # noqa: E402
from report import render  # noqa: E402
from gzserve import GZIP_LEVEL  # noqa: E402
from sizes import site_sizes, totals  # noqa: E402
from tools import command_version, ensure_tools  # noqa: E402
from workload import REPO, known_values, make_workload  # noqa: E402

PREFIX = "/essay/"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="builds per measurement (default: 5)")
    parser.add_argument("--page-runs", type=int, default=5, help="page loads per viewport (default: 5)")
    parser.add_argument("--changes", type=int, default=100, help="changes per control (default: 100)")
    parser.add_argument("--rebuilds", type=int, default=20, help="Markdown-only rebuilds (default: 20)")
    parser.add_argument("--lighthouse-runs", type=int, default=3, help="Lighthouse runs per preset and page (default: 3)")
    parser.add_argument("--peer-lighthouse-runs", type=int, help="Lighthouse runs per preset for each peer "
                        "(default: --lighthouse-runs)")
    parser.add_argument("--quick", action="store_true", help="2 runs of everything and 20 changes per control")
    parser.add_argument("--skip-lighthouse", action="store_true", help="leave Lighthouse out")
    parser.add_argument("--skip-peers", action="store_true", help="leave the peers out")
    parser.add_argument("--no-profile", action="store_true", help="skip profiling one build with pyinstrument")
    parser.add_argument("--retry-installs", action="store_true", help="retry tools whose install failed before")
    parser.add_argument("--content", type=Path, default=REPO / "content", help="sections to build (default: content/)")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md", help="report file (default: BENCHMARKS.md)")
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary build folders and results")
    parser.add_argument("--from-results", type=Path, help="rewrite the report from a kept results.pickle, measuring nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = args.page_runs = args.lighthouse_runs = 2
        args.changes = 20
        args.rebuilds = 5
    if args.peer_lighthouse_runs is None:
        args.peer_lighthouse_runs = args.lighthouse_runs
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "?",
    )
    memory_kb = next(
        (int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")),
        0,
    )
    load = os.getloadavg()
    return {
        "load average at the end (1, 5, 15 min)": ", ".join(f"{value:.1f}" for value in load),
        "CPU": cpu,
        "nproc": str(os.cpu_count()),
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "OS": platform.platform(),
    }


def versions(tools: dict) -> dict[str, str]:
    import markdown
    import playwright

    result = {
        "Python": platform.python_version(),
        "Bokeh": bokeh.__version__,
        "Markdown": markdown.__version__,
        "Playwright (Python)": getattr(playwright, "__version__", "?"),
        "Chromium": command_version(["/usr/bin/chromium", "--version"]),
        "Node": command_version(["node", "--version"]),
    }
    for name, tool in tools.items():
        result[name] = tool.version if tool.ok else "install failed"
    return result


def page_timing(load: dict) -> dict[str, float | None]:
    """When BokehJS was requested and essay.js arrived, relative to navigation start."""
    def file_name(resource: dict) -> str:
        return resource["name"].split("?")[0].rsplit("/", 1)[-1]

    bokeh_starts = [r["start"] for r in load["resources"] if file_name(r).startswith("bokeh")]
    essay_js = [r["end"] for r in load["resources"] if file_name(r).startswith("essay.") and file_name(r).endswith(".js")]
    return {
        "bokeh_start_ms": min(bokeh_starts) if bokeh_starts else None,
        "essay_js_end_ms": min(essay_js) if essay_js else None,
        "fcp_ms": load["fcp_ms"],
    }


def measure_page(browser, site: Path, url: str, kind: str, page_runs: int, devices: dict) -> dict:
    """Load the page ``page_runs`` times per device; return medians, bytes and raw loads."""
    result: dict = {"load": {}, "raw_loads": {}}
    for name, device in devices.items():
        loads = [load_once(browser, url, kind, device) for _ in range(page_runs)]
        forced = None
        if kind == "essaygen":
            forced = [load_once(browser, url, kind, device, force=True) for _ in range(page_runs)]
        result["load"][name] = summarise_loads(loads, forced)
        result["raw_loads"][name] = loads + (forced or [])
    first = next(iter(result["raw_loads"].values()))
    # The forced loads request every figure's files, so the union is the whole page.
    requested = sorted({url for load in first for url in load["requested"]})
    files = site_sizes(site, "index.html", url, requested)
    result["bytes"] = {"files": files, "totals": totals(files)}
    timings = [page_timing(load) for load in first]
    result["timing"] = {key: median([t[key] for t in timings]) for key in timings[0]} if timings else {}
    return result


def lighthouse_both(url: str, runs: int) -> dict:
    return {preset: lighthouse_medians(url, preset, runs) for preset in ("mobile", "desktop")}


def profile_build(workload, work: Path) -> list[dict] | None:
    """Profile one cold and one warm build with pyinstrument, if installed; return the trimmed text of each."""
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        return None
    profiles = []
    shutil.rmtree(workload.root / ".cache", ignore_errors=True)
    for label in ("every cache empty", "caches from the build before"):
        command = [
            sys.executable, "-m", "pyinstrument", "--renderer", "text", "-p", "short_mode=true",
            str(REPO / "build.py"), "build", "-q", "--root", str(workload.root), "--out", str(work / "profile-site"),
        ]
        completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
        lines = [line for line in completed.stdout.splitlines() if line.strip(". ")]
        profiles.append({"label": label, "tool": "pyinstrument " + pyinstrument_version(), "text": lines[:60]})
    return profiles


def pyinstrument_version() -> str:
    import pyinstrument

    return pyinstrument.__version__


def item_bytes(site: Path) -> tuple[int, int]:
    """Return the gzip bytes of index.html and of the script that carries the figures' Bokeh items."""
    html = (site / "index.html").read_bytes()
    items = b"".join(path.read_bytes() for path in sorted((site / "assets").glob("figures.*.js")))
    return len(gzip.compress(html, GZIP_LEVEL)), len(gzip.compress(items, GZIP_LEVEL))


def explanations(results: dict, site: Path) -> list[str]:
    """Return plain statements, computed from this run, of where the time and bytes go."""
    lines = ["Where the numbers come from (computed from this run):", ""]
    load = results["meta_load"]
    lines.append(
        f"- Machine load: the 1-minute load average was {load[0]:.1f} at the start and {load[1]:.1f} at the end, "
        f"on {os.cpu_count()} cores. Other work on the machine competes for the CPU and inflates wall times; "
        "the CPU times in the build table are less affected."
    )

    cold = [run for run in results["builds"]["cold"] if run.returncode == 0]
    warm = [run for run in results["builds"]["warm"] if run.returncode == 0]
    imports = [run.seconds for run in results["builds"]["import"] if run.returncode == 0]
    if cold and imports:
        stages: dict[str, list[float]] = {}
        for run in cold:
            for stage, seconds in run.stages.items():
                stages.setdefault(stage, []).append(seconds)
        stage_text = ", ".join(f"{stage} {median(values) * 1000:.0f} ms" for stage, values in stages.items())
        lines.append(
            f"- Full build with every cache empty: {median([run.seconds for run in cold]):.2f} s wall. Starting "
            f"Python and importing the pipeline (Bokeh, numpy, Jinja, Markdown) takes {median(imports):.2f} s; the "
            f"stages log {stage_text}. \"figure pictures\" (before \"render pages\") screenshots every figure in "
            "Chromium for readers without JavaScript, four pictures each (wide and phone, light and dark), in "
            "four pages that render at the same time. They are cached under `.cache/snapshots/`, and the Pages "
            "workflow keeps that cache between deployments, so only a first build or a changed figure pays "
            "for them. Without them (`ESSAYGEN_SNAPSHOTS=0`) the same build is in the table below."
        )
    if warm:
        lines.append(
            f"- Full build with the caches of an earlier build: {median([run.seconds for run in warm]):.2f} s wall, "
            f"{median([run.cpu_seconds for run in warm]):.2f} s CPU. The profiles at the end of this page show "
            "which functions take that time."
        )

    essay = results["essay"]
    html_gzip, items_gzip = item_bytes(site)
    lines.append(
        f"- Bytes before first paint: `index.html` is {html_gzip / 1000:.1f} KB gzip with the whole text. The "
        f"figures' serialised Bokeh items are one script of {items_gzip / 1000:.1f} KB gzip "
        "(`assets/figures.*.js`), loaded with BokehJS after first paint."
    )
    files = essay["bytes"]["files"]
    bokeh_files = [size for size in files if size.path.rsplit("/", 1)[-1].startswith("bokeh") and size.phase != "not loaded"]
    if bokeh_files:
        lines.append(
            "- Whole page: BokehJS is " + ", ".join(f"`{size.path}` {size.gzip / 1000:.0f} KB gzip" for size in bokeh_files)
            + f", of {essay['bytes']['totals']['page']['gzip'] / 1000:.0f} KB gzip for the page with every figure; "
            "it loads after first paint."
        )

    slow = [row for row in essay["controls"] if "changes" in row and (row["callback_median_ms"] or 0) >= 1.0]
    if slow:
        lines.append(
            "- Controls whose CustomJS median is 1 ms or more: "
            + ", ".join(f"{row['control']} {row['callback_median_ms']:.2f} ms" for row in slow)
            + ". The time is inside the figures' own callback code."
        )
    replace_state = essay.get("replace_state_ms")
    if replace_state:
        lines.append(
            f"- One `history.replaceState` call takes {median(replace_state):.2f} ms median on this page "
            f"({len(replace_state)} calls, one per frame, p95 {percentile(replace_state, 0.95):.2f} ms). The figures "
            "that share their settings in the URL fragment therefore write it once, 100 ms after the last change "
            "(`essaygen/figures/_fragment.py`), not inside each callback."
        )

    taller = [
        f"{row['figure']} ({row['rendered'] - row['reserved']:.0f} px taller)"
        for row in essay["scroll"]["phone"]["heights"]
        if row["rendered"] - row["reserved"] > 2
    ]
    if taller:
        lines.append(
            "- At 390 px the Bokeh layout wraps its controls, so these figures render taller than the height they "
            "reserve and push the text below them down when they render while in view: " + ", ".join(taller) + "."
        )

    for device in ("desktop", "phone"):
        sources = sorted({source for shift in essay["scroll"][device]["shifts"] for source in shift["sources"]})
        if sources:
            lines.append(
                f"- Layout shift while scrolling at {device} width moved: " + ", ".join(f"`{s}`" for s in sources) + "."
            )

    lines += peer_explanations(results.get("peers") or [])

    lh = essay.get("lighthouse", {}).get("mobile", {})
    if lh.get("score") is not None:
        lines.append(
            f"- Lighthouse mobile: FCP {lh['fcp_ms']:.0f} ms, LCP {lh['lcp_ms']:.0f} ms, TBT {lh['tbt_ms']:.0f} ms "
            f"and CLS {lh['cls']:.3f} under simulated slow 4G with 4× CPU slowdown. Lighthouse does not scroll, "
            "so no figure renders during its run."
        )
    return lines


def peer_explanations(peers: list[dict]) -> list[str]:
    """Return why essaygen differs from the naive Bokeh page and Observable Framework in this run."""
    by_name = {peer["name"]: peer for peer in peers if not peer.get("error") and peer.get("bytes")}
    ours = by_name.get("essaygen")
    if ours is None:
        return []
    lines = []

    naive = next((peer for peer in by_name.values() if peer["kind"] == "bokeh"), None)
    if naive is not None:
        own = [size for size in ours["bytes"]["files"]
               if size.phase != "not loaded" and not size.path.rsplit("/", 1)[-1].startswith("bokeh")]
        lines.append(
            "- Peers, whole page: essaygen and the naive page load the same two BokehJS bundles. Beside them "
            "essaygen loads " + ", ".join(f"`{size.path}` {size.gzip / 1000:.1f} KB" for size in own)
            + " (gzip); `index.html` includes the inline stylesheet, and `essay.js` holds the reader features "
            "(lazy loading, contents, dark theme, accessible names for Bokeh's controls, links to a view)."
        )

        mine, theirs = ours.get("load", {}), naive.get("load", {})
        if None not in (mine.get("interactive_ms"), theirs.get("interactive_ms"), mine.get("fcp_ms"), theirs.get("fcp_ms")):
            lines.append(
                f"- Peers, figure interactive: {mine['interactive_ms']:.0f} ms for essaygen against "
                f"{theirs['interactive_ms']:.0f} ms for the naive page, which runs BokehJS as blocking scripts while "
                "the HTML loads. essaygen requests BokehJS only after the text has painted (first contentful paint "
                f"{mine['fcp_ms']:.0f} ms against {theirs['fcp_ms']:.0f} ms), and the harness asks for the figure "
                "at once rather than when a reader scrolls to it."
            )

        if any(run.returncode == 0 for run in ours.get("builds", [])) and ours.get("warm_builds"):
            lines.append(
                "- Peers, build: essaygen's first build captures the figure's pictures for readers without "
                "JavaScript in Chromium, which takes most of its time and memory (Chromium's peak RSS counts as "
                "the build's); the naive page has no such pictures. Later builds reuse them from `.cache/`."
            )

    if "Observable Framework" in by_name:
        lines.append(
            "- Peers, before first paint: Observable Framework built the text only, while essaygen's page also "
            "carries the quantisation figure's caption, summary, readouts and the markup of its picture for "
            "readers without JavaScript."
        )
    return lines


def measure_peer(browser, peer, entry: dict, args: argparse.Namespace) -> None:
    with serve(peer.site, PREFIX) as peer_url:
        log(f"loading peer {peer.name}")
        measured = measure_page(browser, peer.site, peer_url, peer.kind, args.page_runs, {"desktop": DESKTOP})
        entry["load"] = measured["load"]["desktop"]
        entry["bytes"] = measured["bytes"]
        if not args.skip_lighthouse and entry.get("lighthouse_ok", True):
            log(f"running Lighthouse on peer {peer.name}")
            entry["lighthouse"] = lighthouse_both(peer_url, args.peer_lighthouse_runs)


def write_report(results: dict, output: Path) -> None:
    results["explanations"] = explanations(results, results["site"])
    output.write_text(render(results), encoding="utf-8")
    log(f"wrote {output}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_results:
        with args.from_results.open("rb") as file:
            write_report(pickle.load(file), args.output)
        return 0
    options = sys.argv[1:] if argv is None else argv
    command = ".venv/bin/python benchmarks/run.py" + (" " + shlex.join(options) if options else "")
    load_at_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="essay-benchmarks-"))
    log(f"working in {work}")

    tools = ensure_tools(retry=args.retry_installs)
    for tool in tools.values():
        log(f"tool {tool.name}: {tool.version if tool.ok else 'FAILED: ' + tool.error}")

    essay = make_workload(work / "essay", args.content)
    log(f"essay: {len(essay.figures)} figures; dropped {essay.dropped_figures}; replaced values {essay.replaced_values}")

    results: dict = {"essay": {"workload": asdict(essay) | {"root": str(essay.root)}}}
    log("timing builds")
    results["builds"] = time_builds(essay, args.runs)
    results["builds"]["import"] = time_import(args.runs)
    failed = [run for run in results["builds"]["cold"] if run.returncode != 0]
    if failed:
        log("the essay build failed:\n" + failed[0].stderr)
        return 1
    log("timing Markdown-only rebuilds")
    results["incremental"] = time_incremental(essay, args.rebuilds)
    if not args.no_profile:
        log("profiling one build")
        results["profile"] = profile_build(essay, work)

    site = essay.root / "site"
    with chromium() as browser, serve(site, PREFIX) as url:
        log(f"loading the essay at {url}")
        results["essay"].update(measure_page(browser, site, url, "essaygen", args.page_runs,
                                             {"desktop": DESKTOP, "phone": PHONE}))
        results["essay"]["scroll"] = {
            "desktop": scroll_through(browser, url, DESKTOP),
            "phone": scroll_through(browser, url, PHONE),
        }
        log("timing controls")
        try:
            results["essay"]["controls"] = summarise_controls(measure_controls(browser, url, args.changes))
        except Exception as error:  # keep the rest of the run; the report says the controls were not measured
            log(f"timing controls failed: {type(error).__name__}: {error}")
            results["essay"]["controls"] = [{"control": "(all)", "skipped": f"measuring failed: {error}"}]
        results["essay"]["replace_state_ms"] = measure_replace_state(browser, url)
        if not args.skip_lighthouse and tools["lighthouse"].ok:
            log("running Lighthouse on the essay")
            results["essay"]["lighthouse"] = lighthouse_both(url, args.lighthouse_runs)

        if not args.skip_peers:
            log("building peers")
            peer_workload = make_workload(work / "peer-essaygen", args.content, keep_figures={"quantisation"})
            values = known_values(peer_workload.root / "data")
            results["peers"] = []
            for peer in build_peers(peer_workload, values, work / "peers", args.runs, tools):
                entry = {"name": peer.name, "kind": peer.kind, "note": peer.note, "error": peer.error,
                         "builds": peer.builds, "warm_builds": peer.warm_builds, "lighthouse_ok": tools["lighthouse"].ok}
                if peer.site is not None and not peer.error:
                    try:
                        measure_peer(browser, peer, entry, args)
                    except Exception as error:  # a peer's page is outside this project: report, do not stop
                        entry["error"] = f"measuring failed: {type(error).__name__}: {error}"
                        log(f"peer {peer.name}: {entry['error']}")
                else:
                    log(f"peer {peer.name} failed: {peer.error}")
                results["peers"].append(entry)

    results["meta_load"] = (load_at_start, os.getloadavg()[0])
    results["site"] = site
    results["meta"] = {
        "command": command,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "versions": versions(tools),
    }
    with (work / "results.pickle").open("wb") as file:
        pickle.dump(results, file)
    write_report(results, args.output)
    if args.keep_work:
        log(f"kept {work}; rewrite the report with --from-results {work / 'results.pickle'}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
