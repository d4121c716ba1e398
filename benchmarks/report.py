"""Write BENCHMARKS.md from one run's results: the targets first, then every measurement."""

from __future__ import annotations

from typing import Any

from pageload import median
from sizes import BEFORE_PAINT, LATER, NOT_LOADED

KB = 1000

# Targets, on a 2-core machine.
LIGHTHOUSE_MOBILE_MIN = 95
LIGHTHOUSE_DESKTOP_MIN = 100
MOBILE_TBT_MAX_MS = 150
BEFORE_PAINT_MAX_GZIP = 60 * KB
PAGE_OVER_BOKEHJS_MAX_GZIP = 100 * KB
CALLBACK_MEDIAN_MAX_MS = 1.0
NEXT_FRAME_MIN_SHARE = 0.95
FULL_BUILD_MAX_S = 1.5
REBUILD_MAX_S = 0.150


def fmt(value: Any, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = round(value, digits) if digits else round(value)
        text = f"{value:,.{digits}f}" if digits else f"{value:,}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip()


def kb(value: int | None) -> str:
    return "–" if value is None else f"{value / KB:,.1f} KB"


def ms(value: float | None) -> str:
    return fmt(value, "ms")


def verdict(met: bool | None) -> str:
    if met is None:
        return "n/a"
    return "**met**" if met else "**not met**"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def build_medians(runs: list) -> dict:
    good = [run for run in runs if run.returncode == 0]
    if not good:
        return {"seconds": None, "max_rss_mb": None, "cpu_seconds": None, "failed": len(runs)}
    return {
        "seconds": median([run.seconds for run in good]),
        "min": min(run.seconds for run in good),
        "max": max(run.seconds for run in good),
        "max_rss_mb": median([run.max_rss_mb for run in good]),
        "cpu_seconds": median([run.cpu_seconds for run in good]),
        "failed": len(runs) - len(good),
        "runs": len(good),
    }


def bokeh_gzip(sizes: list) -> int:
    return sum(size.gzip for size in sizes if size.phase != NOT_LOADED and "bokeh" in size.path.rsplit("/", 1)[-1])


def targets(results: dict) -> list[list[str]]:
    """Return one row per target: the target, the value this run measured, and whether it is met."""
    essay = results["essay"]
    rows = []
    lh = essay.get("lighthouse", {})
    mobile, desktop = lh.get("mobile", {}), lh.get("desktop", {})

    score = mobile.get("score")
    rows.append(["Lighthouse performance, mobile preset", f"≥ {LIGHTHOUSE_MOBILE_MIN}", fmt(score),
                 verdict(None if score is None else score >= LIGHTHOUSE_MOBILE_MIN)])
    score = desktop.get("score")
    rows.append(["Lighthouse performance, desktop preset", f"{LIGHTHOUSE_DESKTOP_MIN}", fmt(score),
                 verdict(None if score is None else score >= LIGHTHOUSE_DESKTOP_MIN)])
    # The reader-experience goal: 100 in each of these, on the mobile preset.
    for key, label in (("accessibility", "accessibility"), ("best_practices", "best practices"), ("seo", "SEO")):
        score = mobile.get(key)
        rows.append([f"Lighthouse {label}, mobile preset", "100", fmt(score),
                     verdict(None if score is None else score >= 100)])

    shifts = {
        "load 1280 px": essay["load"]["desktop"]["cls_max"],
        "load 390 px": essay["load"]["phone"]["cls_max"],
        "scroll 1280 px": essay["scroll"]["desktop"]["cls"],
        "scroll 390 px": essay["scroll"]["phone"]["cls"],
    }
    for preset in ("mobile", "desktop"):
        if lh.get(preset, {}).get("cls") is not None:
            shifts[f"Lighthouse {preset}"] = lh[preset]["cls"]
    worst = max(shifts.values())
    rows.append(["Layout shift", "0", ", ".join(f"{k}: {v:.3f}" for k, v in shifts.items()), verdict(worst == 0)])

    tbt = mobile.get("tbt_ms")
    rows.append(["Total blocking time, Lighthouse mobile", f"< {MOBILE_TBT_MAX_MS} ms", ms(tbt),
                 verdict(None if tbt is None else tbt < MOBILE_TBT_MAX_MS)])

    before = essay["bytes"]["totals"][BEFORE_PAINT]["gzip"]
    rows.append(["Downloaded before first paint", f"≤ {kb(BEFORE_PAINT_MAX_GZIP)} gzip", kb(before) + " gzip",
                 verdict(before <= BEFORE_PAINT_MAX_GZIP)])

    page = essay["bytes"]["totals"]["page"]["gzip"]
    bokeh = bokeh_gzip(essay["bytes"]["files"])
    rows.append(["Whole page with every figure", f"≤ BokehJS + {kb(PAGE_OVER_BOKEHJS_MAX_GZIP)} gzip",
                 f"{kb(page)} = BokehJS {kb(bokeh)} + {kb(page - bokeh)}",
                 verdict(page - bokeh <= PAGE_OVER_BOKEHJS_MAX_GZIP)])

    controls = [row for row in essay["controls"] if "changes" in row]
    if controls:
        slowest = max(controls, key=lambda row: row["callback_median_ms"] or 0)
        rows.append(["CustomJS time, every control", f"median < {CALLBACK_MEDIAN_MAX_MS:g} ms",
                     f"slowest median: {slowest['control']} {fmt(slowest['callback_median_ms'], 'ms', 3)}",
                     verdict(all((row["callback_median_ms"] or 0) < CALLBACK_MEDIAN_MAX_MS for row in controls))])
        shares = [row["next_frame_share"] for row in controls if row["next_frame_share"] is not None]
        rows.append(["Repaint in the next frame, every control",
                     f"≥ {NEXT_FRAME_MIN_SHARE:.0%} of changes",
                     f"lowest: {min(shares):.0%} of changes" if shares else "no repaints seen",
                     verdict(bool(shares) and min(shares) >= NEXT_FRAME_MIN_SHARE)])
    else:
        reasons = "; ".join(row.get("skipped", "") for row in essay["controls"]) or "no controls on the page"
        rows.append(["Every control", "CustomJS < 1 ms, next frame", f"not measured: {reasons}", "n/a"])

    for label, runs in (("every cache empty", results["builds"]["cold"]),
                        ("every cache empty, no pictures for readers without JavaScript",
                         results["builds"].get("cold_no_pictures", [])),
                        ("caches from an earlier build", results["builds"]["warm"])):
        if not runs:
            continue
        data = build_medians(runs)
        rows.append([f"Full build of the essay, {label}", f"median < {FULL_BUILD_MAX_S} s",
                     f"{fmt(data['seconds'], 's', 2)} wall, {fmt(data['cpu_seconds'], 's', 2)} CPU",
                     verdict(None if data["seconds"] is None else data["seconds"] < FULL_BUILD_MAX_S)])
    rebuild = median(results["incremental"].get("markdown_s", []))
    rows.append(["Markdown-only rebuild while serving", f"median < {REBUILD_MAX_S * 1000:.0f} ms",
                 ms(None if rebuild is None else rebuild * 1000),
                 verdict(None if rebuild is None else rebuild < REBUILD_MAX_S)])

    behind = peer_comparison(results)
    rows.append(["Ahead of every working peer on first paint and bytes before first paint", "ahead",
                 "; ".join(behind["ahead_failures"]) or "ahead of all", verdict(not behind["ahead_failures"])])
    rows.append(["No worse than the naive Bokeh page on anything", "no worse",
                 "; ".join(behind["naive_failures"]) or "no worse on any measure", verdict(not behind["naive_failures"])])
    return rows


def peer_metrics(peer: dict) -> dict[str, float | None]:
    """Return the numbers compared across peers; smaller is better for all but the Lighthouse scores."""
    load = peer.get("load", {})
    totals = peer.get("bytes", {}).get("totals", {})
    lh = peer.get("lighthouse", {})
    builds = build_medians(peer.get("builds", []))
    return {
        "build s": builds["seconds"],
        "build peak MB": builds["max_rss_mb"],
        "FCP ms": load.get("fcp_ms"),
        "interactive ms": load.get("interactive_ms"),
        "TBT ms": load.get("tbt_ms"),
        "CLS": load.get("cls"),
        "before paint gzip KB": totals.get(BEFORE_PAINT, {}).get("gzip", 0) / KB if totals else None,
        "page gzip KB": totals.get("page", {}).get("gzip", 0) / KB if totals else None,
        "LH mobile": lh.get("mobile", {}).get("score"),
        "LH desktop": lh.get("desktop", {}).get("score"),
        "LH mobile FCP ms": lh.get("mobile", {}).get("fcp_ms"),
    }


HIGHER_IS_BETTER = {"LH mobile", "LH desktop"}


def warm_build_medians(peer: dict) -> dict[str, float | None]:
    """Return essaygen's build time and memory when it reuses .cache/ from the build before."""
    runs = peer.get("warm_builds") or []
    if not runs:
        return {}
    builds = build_medians(runs)
    return {"build s": builds["seconds"], "build peak MB": builds["max_rss_mb"]}


def peer_comparison(results: dict) -> dict[str, list[str]]:
    peers = results.get("peers", [])
    ours = next((peer for peer in peers if peer["name"] == "essaygen"), None)
    ahead_failures, naive_failures = [], []
    if ours is None:
        return {"ahead_failures": ["peers were not run"], "naive_failures": ["peers were not run"]}
    mine = peer_metrics(ours)
    warm_builds = warm_build_medians(ours)
    for peer in peers:
        if peer is ours or peer.get("error"):
            continue
        theirs = peer_metrics(peer)
        for key in ("FCP ms", "before paint gzip KB", "LH mobile FCP ms"):
            if mine[key] is not None and theirs[key] is not None and mine[key] >= theirs[key]:
                ahead_failures.append(f"{key}: {fmt(mine[key], digits=1)} vs {peer['name']} {fmt(theirs[key], digits=1)}")
        if peer["kind"] == "bokeh":
            for key, value in mine.items():
                other = theirs[key]
                if value is None or other is None:
                    continue
                worse = value < other if key in HIGHER_IS_BETTER else value > other
                if worse:
                    warm = warm_builds.get(key)
                    again = f" (with the caches of an earlier build {fmt(warm, digits=2)})" if warm is not None else ""
                    naive_failures.append(f"{key}: {fmt(value, digits=2)}{again} vs {fmt(other, digits=2)}")
    return {"ahead_failures": ahead_failures, "naive_failures": naive_failures}


def render(results: dict) -> str:
    lines: list[str] = []
    add = lines.append
    meta = results["meta"]
    add("# Benchmarks")
    add("")
    add("Every number on this page comes from one run of the harness, on the machine and versions listed below.")
    add("Times are medians over the repetitions shown; nothing here is a pass/fail test.")
    add("")
    add("```sh")
    add(meta["command"])
    add("```")
    add("")
    add(f"Run finished {meta['finished']}.")
    add("")
    add("## Machine and versions")
    add("")
    lines += table(["", ""], [[key, value] for key, value in meta["machine"].items()] +
                   [[key, value] for key, value in meta["versions"].items()])
    add("")
    essay = results["essay"]
    if essay["workload"]["dropped_figures"] or essay["workload"]["replaced_values"]:
        add("**The essay was incomplete when this ran.** To make it build, the harness left out the "
            f"figures not registered yet ({', '.join(essay['workload']['dropped_figures']) or 'none'}) and printed "
            f"unknown `:num` keys as their names ({', '.join(sorted(set(essay['workload']['replaced_values']))) or 'none'}).")
        add("")
    add(f"The essay as measured places {len(essay['workload']['figures'])} figures: "
        f"{', '.join(essay['workload']['figures']) or 'none'}.")
    add("")

    add("## Targets")
    add("")
    lines += table(["Target", "Asked", "Measured", "Verdict"], targets(results))
    add("")
    lines += results.get("explanations", [])
    add("")

    lines += render_builds(results)
    lines += render_bytes(essay)
    lines += render_browser(essay)
    lines += render_controls(essay)
    lines += render_lighthouse(essay)
    lines += render_peers(results)
    if results.get("profile"):
        add("## Where the build time goes")
        add("")
        for profile in results["profile"]:
            add(f"One build of the essay, {profile['label']} ({profile['tool']}, first 60 lines):")
            add("")
            add("```")
            lines += profile["text"]
            add("```")
            add("")
    return "\n".join(lines).rstrip() + "\n"


def render_builds(results: dict) -> list[str]:
    lines = ["## Build", ""]
    cold = build_medians(results["builds"]["cold"])
    cold_no_pictures = build_medians(results["builds"].get("cold_no_pictures", []))
    warm = build_medians(results["builds"]["warm"])
    imports = build_medians(results["builds"]["import"])
    rows = []
    for label, data in (
        ("full build, every cache empty", cold),
        ("full build, every cache empty, `ESSAYGEN_SNAPSHOTS=0` (no pictures)", cold_no_pictures),
        ("full build, caches filled by an earlier build", warm),
        ("Python start-up and imports alone", imports),
    ):
        if data["seconds"] is None and not data.get("failed"):
            continue
        rows.append([label, fmt(data["seconds"], "s", 3), fmt(data.get("min"), "s", 3), fmt(data.get("max"), "s", 3),
                     fmt(data["cpu_seconds"], "s", 3), fmt(data["max_rss_mb"], "MB", 1), data.get("runs", 0)])
    lines += table(["What", "Median wall", "Min", "Max", "Median CPU (user + sys)", "Peak RSS", "Runs"], rows)
    lines += ["", "Each build is `python build.py build --root COPY --out COPY/site` in a child process; "
              "wall time includes interpreter start-up, CPU time and peak RSS are the child's `ru_utime + ru_stime` "
              "and `ru_maxrss` from `wait4`. \"Every cache empty\" deletes `.cache/` (built figures and the figure "
              "pictures captured in Chromium for readers without JavaScript) before each build.", ""]
    stages = {}
    for run in results["builds"]["cold"]:
        for stage, seconds in run.stages.items():
            stages.setdefault(stage, []).append(seconds)
    if stages:
        lines += ["Stage times logged by the cold builds (medians):", ""]
        lines += table(["Stage", "Median"], [[stage, ms(median(values) * 1000)] for stage, values in stages.items()])
        lines.append("")
    incremental = results["incremental"]
    if "markdown_s" in incremental:
        values = incremental["markdown_s"]
        lines.append(f"Markdown-only rebuild in a warm process (`benchmarks/incremental.py`: one section edited, "
                     f"figures from the in-memory cache), {len(values)} edits: median "
                     f"{ms(median(values) * 1000)}, max {ms(max(values) * 1000)}.")
    else:
        lines.append(f"Markdown-only rebuild failed: {' '.join(incremental.get('error', []))}")
    rebuild = incremental.get("rebuild_py")
    if rebuild:
        lines += ["", f"Edit-to-reload times from `{rebuild['command']}` (exit {rebuild['returncode']}):", "", "```",
                  rebuild["stdout"] or " ".join(rebuild["stderr"]), "```"]
    else:
        lines += ["", "`benchmarks/rebuild.py` (edit-to-reload through `serve`) was not present in this run."]
    lines.append("")
    return lines


def render_bytes(essay: dict) -> list[str]:
    data = essay["bytes"]
    totals = data["totals"]
    lines = ["## Bytes per file", "",
             "Served by `benchmarks/gzserve.py` (gzip level 6 for text types, an estimate of GitHub Pages). "
             "\"Before first paint\" is the HTML plus its render-blocking stylesheets and scripts; \"later\" is "
             "everything else the page requested while rendering every figure.", ""]
    rows = [[f"`{size.path}`", fmt(size.raw), fmt(size.gzip), size.phase] for size in data["files"]]
    lines += table(["File", "Raw bytes", "Gzip bytes", "Loaded"], rows)
    lines.append("")
    rows = [[phase, totals[phase]["files"], kb(totals[phase]["raw"]), kb(totals[phase]["gzip"])]
            for phase in (BEFORE_PAINT, LATER, "page", NOT_LOADED)]
    lines += table(["Total", "Files", "Raw", "Gzip"], rows)
    lines.append("")
    return lines


def render_browser(essay: dict) -> list[str]:
    lines = ["## Loading in Chromium", "",
             "Headless Chromium on 127.0.0.1, a fresh browser context per load, no network or CPU throttling. "
             "FCP, TBT and CLS come from loads without scrolling, where figures render only when they near the "
             "viewport. \"All figures interactive\" comes from separate loads that render every figure at "
             "DOMContentLoaded (`essay.embedAll()`), as if the reader went straight to them; it is measured from "
             "navigation start, and \"TBT, all figures\" is the blocking time of those loads. TBT sums the part "
             "over 50 ms of each long task from first contentful paint until 1 s after the load event (or after "
             "every figure is interactive). Layout shift sums every shift without recent input.", ""]
    rows = []
    for device, label in (("desktop", "1280×900"), ("phone", "390×844, DPR 2, touch")):
        load = essay["load"][device]
        rows.append([label, load["runs"], ms(load["fcp_ms"]), ms(load["tbt_ms"]), fmt(load["cls"], digits=3),
                     ms(load["interactive_ms"]), ms(load.get("tbt_forced_ms")),
                     fmt(essay["scroll"][device]["cls"], digits=3)])
    lines += table(["Viewport", "Loads", "FCP", "TBT", "CLS on load", "All figures interactive",
                    "TBT, all figures", "CLS scrolling to each figure"], rows)
    lines.append("")
    latency_rows = []
    for device in ("desktop", "phone"):
        for figure, value in essay["scroll"][device].get("scroll_to_ready_ms", {}).items():
            latency_rows.append([figure, device, ms(value)])
    if latency_rows:
        lines += ["Scrolling to each figure in turn right after the page loads: time from the scroll until the "
                  "figure is interactive (the first one includes running BokehJS).", ""]
        lines += table(["Figure", "Viewport", "Scroll to interactive"], latency_rows)
        lines.append("")
    timing = essay.get("timing", {})
    if timing:
        lines += [f"BokehJS requested at {ms(timing.get('bokeh_start_ms'))} after navigation start, "
                  f"first contentful paint at {ms(timing.get('fcp_ms'))}; "
                  f"`essay.js` arrived at {ms(timing.get('essay_js_end_ms'))} (desktop, median).", ""]
    heights = []
    for device in ("desktop", "phone"):
        for row in essay["scroll"][device]["heights"]:
            heights.append([row["figure"], device, fmt(row["reserved"]), fmt(row["rendered"], digits=0),
                            fmt(row["rendered"] - row["reserved"], digits=0)])
    if heights:
        lines += ["Reserved (`min-height`) and rendered heights of each Bokeh root, in CSS pixels. A positive "
                  "difference pushes the text below down when the figure renders; a negative one leaves a gap.", ""]
        lines += table(["Figure", "Viewport", "Reserved", "Rendered", "Difference"], heights)
        lines.append("")
    errors = sorted(set(essay["load"]["desktop"]["errors"] + essay["load"]["phone"]["errors"]))
    if errors:
        lines += ["Console errors seen while loading:", ""] + [f"- `{error}`" for error in errors] + [""]
    return lines


def render_controls(essay: dict) -> list[str]:
    lines = ["## Controls", "",
             "Every control with a CustomJS callback, driven through its Bokeh model at desktop width, two frames "
             "between changes (`benchmarks/controls.js`). CustomJS = time inside the callback function. "
             "Output = from the setter call until the callback returned (BokehJS runs CustomJS after the setter "
             "returns). Repaint = until the end of the next Bokeh canvas repaint. Next frame = share of changes "
             "whose repaint ran in the first animation frame after the change.", ""]
    rows = []
    for row in essay["controls"]:
        if "changes" not in row:
            rows.append([row["control"], row.get("type", ""), "–", row.get("skipped", ""), "", "", "", ""])
            continue
        rows.append([
            row["control"], row["type"], row["changes"],
            f"{fmt(row['callback_median_ms'], digits=3)} / {fmt(row['callback_p95_ms'], digits=3)}",
            f"{fmt(row['output_median_ms'], digits=2)} / {fmt(row['output_p95_ms'], digits=2)}",
            f"{fmt(row['repaint_median_ms'], digits=1)} / {fmt(row['repaint_p95_ms'], digits=1)}",
            "–" if row["next_frame_share"] is None else f"{row['next_frame_share']:.0%}",
            row["no_callback"],
        ])
    if rows:
        lines += table(["Control", "Type", "Changes", "CustomJS ms median / p95", "Output ms median / p95",
                        "Repaint ms median / p95", "Next frame", "Changes without a callback"], rows)
    else:
        lines.append("No controls with CustomJS callbacks on the page in this run.")
    lines.append("")
    return lines


def render_lighthouse(essay: dict) -> list[str]:
    lh = essay.get("lighthouse")
    lines = ["## Lighthouse (the essay)", ""]
    if not lh:
        return lines + ["Not run (`--skip-lighthouse`).", ""]
    lines += ["`lighthouse` 12.2.3 on Node, `CHROME_PATH=/usr/bin/chromium`, categories performance, accessibility, "
              "best practices and SEO in each run, page served "
              "by `benchmarks/gzserve.py`. The mobile preset is Lighthouse's default (simulated slow 4G and 4× CPU "
              "slowdown); the desktop preset is `--preset=desktop`.", ""]
    rows = []
    for preset in ("mobile", "desktop"):
        result = lh.get(preset, {})
        rows.append([preset, result.get("runs", 0), fmt(result.get("score")),
                     ", ".join(str(score) for score in result.get("scores", [])), ms(result.get("fcp_ms")),
                     ms(result.get("lcp_ms")), ms(result.get("tbt_ms")), fmt(result.get("cls"), digits=3),
                     ms(result.get("speed_index_ms")), fmt(result.get("accessibility")),
                     fmt(result.get("best_practices")), fmt(result.get("seo")), "; ".join(result.get("errors", []))])
    lines += table(["Preset", "Runs", "Performance (median)", "Performance scores", "FCP", "LCP", "TBT", "CLS",
                    "Speed index", "Accessibility", "Best practices", "SEO", "Errors"], rows)
    lines.append("")
    return lines


def render_peers(results: dict) -> list[str]:
    peers = results.get("peers")
    lines = ["## Peers, same run", ""]
    if not peers:
        return lines + ["Not run (`--skip-peers`).", ""]
    lines += ["The workload is the essay's text and its quantisation figure, built by each tool from the same "
              "Markdown. Loads are desktop (1280×900), same method as above. Ratio = peer ÷ essaygen (for "
              "Lighthouse scores, essaygen ÷ peer), so above 1 means essaygen is ahead.", ""]
    ours = next((peer for peer in peers if peer["name"] == "essaygen"), None)
    mine = peer_metrics(ours) if ours else {}
    keys = list(mine)
    rows = []
    for peer in peers:
        if peer.get("error"):
            continue
        theirs = peer_metrics(peer)
        cells = [peer["name"]]
        for key in keys:
            value = theirs[key]
            cell = fmt(value, digits=1 if key in ("build s", "CLS") else 0)
            if key == "build s":
                cell = fmt(value, digits=2)
            if key == "CLS":
                cell = fmt(value, digits=3)
            if peer is not ours and value not in (None, 0) and mine.get(key) not in (None, 0):
                ratio = mine[key] / value if key in HIGHER_IS_BETTER else value / mine[key]
                cell += f" ({ratio:.2f}×)"
            cells.append(cell)
        rows.append(cells)
    lines += table(["Peer"] + keys, rows)
    lines.append("")
    warm = warm_build_medians(ours) if ours else {}
    if warm:
        lines += [f"essaygen's builds above start with an empty `.cache/`, so they include capturing the figure's "
                  f"pictures in Chromium. Built again with the caches of the build before: "
                  f"{fmt(warm['build s'], digits=2)} s and {fmt(warm['build peak MB'], digits=0)} MB peak "
                  f"(median of {len(ours['warm_builds'])}).", ""]
    lines += ["What each peer built:", ""]
    for peer in peers:
        status = f"**failed**: {peer['error']}" if peer.get("error") else peer.get("note", "")
        errors = peer.get("load", {}).get("errors", [])
        if errors:
            status += "; console errors while loading (requests to other hosts cannot succeed here): " + "; ".join(
                f"`{error[:120]}`" for error in errors
            )
        lines.append(f"- {peer['name']}: {status}")
    lines.append("")
    return lines
