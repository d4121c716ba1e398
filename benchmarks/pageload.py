"""Page-load and control timings in headless Chromium, against a site served on 127.0.0.1.

Each load runs in a new browser context (empty cache, fresh storage) and
reads the browser's own performance entries: ``paint`` for first contentful
paint, ``layout-shift`` for layout shift, ``longtask`` for total blocking time.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from essaygen.snapshots import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 (needs the repository on sys.path)

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# Long tasks are collected until this long after every figure is interactive.
SETTLE_MS = 1000
CONTROLS_JS = Path(__file__).with_name("controls.js").read_text(encoding="utf-8")

# Installed before any page script: records paint, layout-shift and long-task
# entries, when each essay figure became ready, and the first animation frame
# at which the page counts as interactive. With "force", every essay figure is
# rendered at DOMContentLoaded, as if the reader went straight to the figures;
# without it the page loads as a reader who does not scroll sees it. "essaygen"
# pages are interactive when every figure's item has data-state="ready";
# "bokeh" pages when every Bokeh root view has finished rendering; "text" pages
# have nothing to wait for.
OBSERVE_JS = """
(() => {
  const perf = window.__perf = {
    fcp: null, shifts: [], longtasks: [], ready: null, readyAt: {}, kind: %(kind)s, force: %(force)s,
  };
  const observe = (type, handle) => {
    try { new PerformanceObserver((list) => list.getEntries().forEach(handle)).observe({ type, buffered: true }); }
    catch (error) { perf[type + "_error"] = String(error); }
  };
  observe("paint", (e) => { if (e.name === "first-contentful-paint") perf.fcp = e.startTime; });
  observe("layout-shift", (e) => perf.shifts.push({
    value: e.value, start: e.startTime, recent_input: e.hadRecentInput,
    sources: (e.sources || []).map((s) => {
      if (!s.node) return "?";
      const name = s.node.id ? "#" + s.node.id : s.node.nodeName.toLowerCase();
      const parent = s.node.parentElement;
      return parent && parent.className ? `${name} in .${String(parent.className).split(" ")[0]}` : name;
    }),
  }));
  observe("longtask", (e) => perf.longtasks.push({ start: e.startTime, duration: e.duration }));
  new MutationObserver((records) => records.forEach((record) => {
    const item = record.target;
    if (item.matches("script.bokeh-item") && item.dataset.state === "ready" && !(item.dataset.target in perf.readyAt)) {
      perf.readyAt[item.dataset.target] = performance.now();
    }
  })).observe(document, { attributes: true, attributeFilter: ["data-state"], subtree: true });
  if (perf.force) {
    document.addEventListener("DOMContentLoaded", () => window.essay && window.essay.embedAll());
  }
  const isReady = () => {
    if (perf.kind === "text") return true;
    if (perf.kind === "essaygen") {
      const items = document.querySelectorAll("script.bokeh-item");
      return document.readyState !== "loading" &&
        Array.from(items).every((item) => item.dataset.state === "ready");
    }
    const roots = window.Bokeh && Bokeh.index ? Bokeh.index.roots : [];
    return roots.length > 0 && roots.every((view) => view.has_finished());
  };
  const poll = () => { if (isReady()) perf.ready = performance.now(); else requestAnimationFrame(poll); };
  requestAnimationFrame(poll);
})();
"""

HEIGHTS_JS = """
() => Array.from(document.querySelectorAll(".figure-root")).map((root) => {
  const child = root.firstElementChild;
  return {
    figure: root.id.replace(/-root$/, ""),
    reserved: parseFloat(getComputedStyle(root).minHeight) || 0,
    rendered: child ? child.getBoundingClientRect().height : 0,
    slot: root.getBoundingClientRect().height,
  };
})
"""


@contextmanager
def serve(site: Path, prefix: str) -> Iterator[str]:
    """Run benchmarks/gzserve.py for ``site`` in a child process and yield its base URL."""
    command = [sys.executable, str(Path(__file__).with_name("gzserve.py")), str(site), "--prefix", prefix]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"gzserve.py did not start for {site}: {url!r}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def chromium() -> Iterator[object]:
    """Launch Debian's Chromium through Playwright (Playwright gives it a temporary profile)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def blocking_time(perf: dict, end_ms: float) -> float:
    """Total blocking time: the part over 50 ms of each long task between FCP and ``end_ms``."""
    fcp = perf["fcp"] or 0.0
    total = 0.0
    for task in perf["longtasks"]:
        start = max(task["start"], fcp)
        end = min(task["start"] + task["duration"], end_ms)
        if end - start > 50:
            total += end - start - 50
    return total


def layout_shift(perf: dict) -> float:
    return sum(shift["value"] for shift in perf["shifts"] if not shift["recent_input"])


def waits_for_figures(kind: str, force: bool) -> bool:
    return kind == "bokeh" or (kind == "essaygen" and force)


def load_once(browser, url: str, kind: str, device: dict, force: bool = False, timeout_ms: int = 30_000) -> dict:
    """Open ``url`` in a fresh context and return its load metrics, without scrolling.

    Long tasks count towards blocking time from first contentful paint until
    SETTLE_MS after the load event, or after every figure is interactive when
    the load waits for figures.
    """
    context = browser.new_context(**device)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.add_init_script(OBSERVE_JS % {"kind": repr(kind), "force": "true" if force else "false"})
        page.goto(url, wait_until="load")
        condition = "window.__perf.fcp !== null"
        if waits_for_figures(kind, force):
            condition += " && window.__perf.ready !== null"
        page.wait_for_function(f"() => {condition}", timeout=timeout_ms)
        page.wait_for_timeout(SETTLE_MS)
        perf = page.evaluate("() => window.__perf")
        load_end = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
        resources = page.evaluate(
            """() => performance.getEntriesByType("resource").map((e) => ({
                 name: e.name, start: e.startTime, end: e.responseEnd, transfer: e.transferSize }))"""
        )
        ready = perf["ready"] if waits_for_figures(kind, force) else None
        window_end = max(load_end, ready or 0) + SETTLE_MS
        return {
            "fcp_ms": perf["fcp"],
            "interactive_ms": ready,
            "tbt_ms": blocking_time(perf, window_end),
            "cls": layout_shift(perf),
            "shifts": perf["shifts"],
            "resources": resources,
            "requested": requested,
            "heights": page.evaluate(HEIGHTS_JS),
            "errors": errors,
        }
    finally:
        context.close()


def scroll_through(browser, url: str, device: dict, timeout_ms: int = 30_000) -> dict:
    """Scroll to each figure as soon as the page loads, waiting for it to render in view.

    Returns the layout shift this causes, how long each figure took from the
    scroll to being interactive, and each figure's reserved and rendered
    heights, so a wrong reserved height shows at this width.
    """
    context = browser.new_context(**device)
    try:
        page = context.new_page()
        page.add_init_script(OBSERVE_JS % {"kind": repr("essaygen"), "force": "false"})
        page.goto(url, wait_until="domcontentloaded")
        count = page.locator("script.bokeh-item").count()
        latencies = {}
        for index in range(count):
            target, scrolled = page.evaluate(
                """(index) => {
                     const item = document.querySelectorAll("script.bokeh-item")[index];
                     document.getElementById(item.dataset.target).scrollIntoView({ block: "center" });
                     return [item.dataset.target, performance.now()];
                   }""",
                index,
            )
            page.wait_for_function(
                "(target) => target in window.__perf.readyAt", arg=target, timeout=timeout_ms
            )
            ready = page.evaluate("(target) => window.__perf.readyAt[target]", target)
            latencies[target.removesuffix("-root")] = max(0.0, ready - scrolled)
            page.wait_for_timeout(300)
        perf = page.evaluate("() => window.__perf")
        return {
            "cls": layout_shift(perf),
            "shifts": perf["shifts"],
            "heights": page.evaluate(HEIGHTS_JS),
            "scroll_to_ready_ms": latencies,
        }
    finally:
        context.close()


def measure_controls(browser, url: str, changes: int, timeout_ms: int = 60_000) -> list[dict]:
    """Render every figure at desktop width and time every control (see controls.js)."""
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_function("() => window.essay !== undefined", timeout=timeout_ms)
        page.evaluate("() => window.essay.embedAll()")
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll("script.bokeh-item"))
                     .every((item) => item.dataset.state === "ready")""",
            timeout=timeout_ms,
        )
        page.set_default_timeout(600_000)
        return page.evaluate(CONTROLS_JS, {"changes": changes, "gapFrames": 2})
    finally:
        context.close()


# Figures that share their settings write them into the URL fragment with
# history.replaceState from inside their callbacks, so its own cost is a floor
# under those callbacks' times.
REPLACE_STATE_JS = """
async (count) => {
  const start = location.href;
  const times = [];
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const started = performance.now();
    history.replaceState(history.state, "", start.split("#")[0] + "#benchmark:i=" + i);
    times.push(performance.now() - started);
  }
  history.replaceState(history.state, "", start);
  return times;
}
"""


def measure_replace_state(browser, url: str, count: int = 50) -> list[float]:
    """Time ``history.replaceState`` calls on the essay page (in milliseconds)."""
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        return page.evaluate(REPLACE_STATE_JS, count)
    finally:
        context.close()


def median(values: list[float]) -> float | None:
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` in 0..1) of the values that are not None."""
    values = sorted(value for value in values if value is not None)
    if not values:
        return None
    rank = max(1, int(-(-fraction * len(values) // 1)))
    return values[rank - 1]


def summarise_loads(loads: list[dict], forced: list[dict] | None = None) -> dict:
    """Median of each load metric over repeated loads; ``forced`` loads give the interactive time."""
    interactive = forced if forced else loads
    return {
        "runs": len(loads),
        "fcp_ms": median([load["fcp_ms"] for load in loads]),
        "interactive_ms": median([load["interactive_ms"] for load in interactive]),
        "tbt_ms": median([load["tbt_ms"] for load in loads]),
        "tbt_forced_ms": median([load["tbt_ms"] for load in forced]) if forced else None,
        "cls": median([load["cls"] for load in loads]),
        "cls_max": max([load["cls"] for load in loads + (forced or [])]),
        "errors": sorted({error for load in loads + (forced or []) for error in load["errors"]}),
    }


def summarise_controls(results: list[dict]) -> list[dict]:
    rows = []
    for result in results:
        if "samples" not in result:
            rows.append(result)
            continue
        samples = result["samples"]
        frames = [sample["frames"] for sample in samples if sample["frames"] is not None]
        rows.append(
            {
                "control": result["control"],
                "figure": result["figure"],
                "type": result["type"],
                "changes": len(samples),
                "callback_median_ms": median([s["callback_ms"] for s in samples]),
                "callback_p95_ms": percentile([s["callback_ms"] for s in samples], 0.95),
                "output_median_ms": median([s["output_ms"] for s in samples]),
                "output_p95_ms": percentile([s["output_ms"] for s in samples], 0.95),
                "repaint_median_ms": median([s["repaint_ms"] for s in samples]),
                "repaint_p95_ms": percentile([s["repaint_ms"] for s in samples], 0.95),
                "next_frame_share": (sum(1 for f in frames if f <= 1) / len(frames)) if frames else None,
                "repaints": len(frames),
                "no_callback": sum(1 for s in samples if s["callbacks"] == 0),
            }
        )
    return rows
