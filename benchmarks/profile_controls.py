"""Profile every figure control's CustomJS callback in headless Chromium.

Usage::

    /work/main/.venv/bin/python benchmarks/profile_controls.py [--figure NAME] [--changes N]
        [--top K] [--interval-us US] [--minified] [--no-timing] [--site DIR]

The script builds the essay (``build.py build --out TMPDIR``, or uses ``--site``),
serves it on 127.0.0.1 with benchmarks/gzserve.py, renders every figure with
``essay.embedAll()`` and then does two things:

1. Times each control with benchmarks/controls.js, the loop behind
   :func:`benchmarks.pageload.measure_controls`, and prints the median and
   95th percentile of the time spent inside the CustomJS functions per change.
2. Drives each control ``--changes`` times again with the V8 sampling profiler
   running (Chrome DevTools Protocol ``Profiler`` domain, sampling every
   ``--interval-us`` microseconds). For each control it prints the functions
   with the most self time in samples taken inside the CustomJS call, and the
   functions with the most self time outside it (the repaint in the following
   animation frames, and garbage collection).

By default the page loads the unminified BokehJS bundles that ship with the
``bokeh`` package in place of the minified ones, so that each line number in
the report points at readable source in ``bokeh/server/static/js/bokeh.js``
(or ``bokeh-widgets.js``). The report still shows the minified file names,
because the page requested those URLs. ``--minified`` keeps the minified
bundles. Compare the timings in step 1 only with runs that loaded the same
bundles.

Timings on a shared machine are noisy: compare medians of many changes.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bokeh  # noqa: E402

from benchmarks.pageload import (  # noqa: E402
    CONTROLS_JS,
    DESKTOP,
    chromium,
    serve,
    summarise_controls,
)

BOKEH_JS = Path(bokeh.__file__).parent / "server" / "static" / "js"

# Lists the controls that run CustomJS on a property change, as controls.js
# finds them, with the values each one cycles through.
LIST_CONTROLS_JS = """
(figureName) => {
  const controls = [];
  Bokeh.documents.forEach((doc, docIndex) => {
    const root = doc.roots()[0];
    const figure = root && root.id ? root.id.replace(/-\\d+$/, "") : "";
    if (figureName && figure !== figureName) return;
    for (const model of doc.all_models) {
      const callbacks = model.js_property_callbacks;
      const count = callbacks instanceof Map ? callbacks.size : Object.keys(callbacks || {}).length;
      if (count === 0) continue;
      let attribute = null, values = [];
      if ("start" in model && "end" in model && "step" in model && typeof model.value === "number") {
        const n = Math.round((model.end - model.start) / model.step);
        for (let i = 0; i <= n; i++) values.push(model.start + i * model.step);
        attribute = "value";
      } else if ("categories" in model && "value" in model) {
        values = [...model.categories];
        attribute = "value";
      } else if ("options" in model && "value" in model && !Array.isArray(model.value)) {
        const options = Array.isArray(model.options) ? model.options
          : (model.options instanceof Map ? [...model.options.values()] : Object.values(model.options)).flat();
        values = options.map((option) => (Array.isArray(option) ? option[0] : option));
        attribute = "value";
      } else if ("labels" in model && typeof model.active === "number") {
        values = model.labels.map((_, i) => i);
        attribute = "active";
      } else if (typeof model.active === "boolean") {
        values = [true, false];
        attribute = "active";
      }
      if (attribute && values.length > 1) {
        controls.push({ docIndex, id: model.id, name: model.name || model.id, figure, attribute, values });
      }
    }
  });
  return controls;
}
"""

# Wraps the control's CustomJS functions in a function named
# profiled_customjs, so that samples taken inside a callback can be
# identified, then makes `changes` changes two animation frames apart.
DRIVE_JS = """
async ({ docIndex, id, attribute, values, changes }) => {
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const model = Bokeh.documents[docIndex].get_model_by_id(id);
  const callbacks = model.js_property_callbacks instanceof Map
    ? [...model.js_property_callbacks.values()].flat() : Object.values(model.js_property_callbacks).flat();
  // Several controls can share one CustomJS, so the call count is kept on window.
  window.__profiledCalls = window.__profiledCalls || 0;
  for (const callback of callbacks) {
    if (callback.__profiled) continue;
    await callback.compile();
    const func = callback._state.func;
    callback._state.func = function profiled_customjs(...args) {
      window.__profiledCalls += 1;
      return func.apply(this, args);
    };
    callback.__profiled = true;
  }
  const start = window.__profiledCalls;
  const original = model[attribute];
  // The nearest value, because a slider's value need not be exactly on its grid.
  const distance = (v) => (typeof v === "number" ? Math.abs(v - original) : (v === original ? 0 : 1));
  let index = values.reduce((best, v, i) => (distance(v) < distance(values[best]) ? i : best), 0);
  let stalled = 0;
  for (let change = 0; change < changes; change++) {
    index = (index + 1) % values.length;
    const before = window.__profiledCalls;
    model[attribute] = values[index];
    // A change that runs no callback (the same value again) moves on after 10 frames.
    for (let frame = 0; window.__profiledCalls === before && frame < 10; frame++) await nextFrame();
    if (window.__profiledCalls === before) stalled += 1;
    await nextFrame();
    await nextFrame();
  }
  model[attribute] = original;
  await nextFrame();
  await nextFrame();
  return { calls: window.__profiledCalls - start, stalled };
}
"""

IGNORED_FRAMES = {"(idle)", "(program)", "(root)"}


def build_site(out: Path) -> None:
    """Build the essay into ``out`` with build.py, raising if the build fails."""
    command = [sys.executable, str(ROOT / "build.py"), "build", "--root", str(ROOT), "--out", str(out), "-q"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"build.py failed with exit code {result.returncode}:\n{result.stderr}")


def use_unminified_bokeh(page) -> None:
    """Serve BokehJS's unminified bundles in place of the minified ones the page requests."""

    def fulfil(route) -> None:
        name = route.request.url.rsplit("/", 1)[-1]
        bundle = "bokeh-widgets.js" if name.startswith("bokeh-widgets-") else "bokeh.js"
        route.fulfill(path=str(BOKEH_JS / bundle), content_type="text/javascript")

    page.route(re.compile(r"/assets/bokeh-(widgets-)?[0-9.]+\.min\.[0-9a-f]+\.js$"), fulfil)


def open_essay(browser, url: str, minified: bool):
    """Open the essay at desktop size, render every figure and return (context, page)."""
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    if not minified:
        use_unminified_bokeh(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.essay !== undefined")
    page.evaluate("() => window.essay.embedAll()")
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll("script.bokeh-item"))
                 .every((item) => item.dataset.state === "ready")""",
        timeout=60_000,
    )
    if errors:
        raise SystemExit(f"the essay page raised errors while rendering: {errors}")
    page.set_default_timeout(600_000)
    return context, page


def time_controls(page, changes: int, figure: str | None) -> list[dict]:
    """Run controls.js over the figure's documents (all when ``figure`` is None)."""
    # controls.js walks Bokeh.documents, so the other figures' documents are
    # taken out of that array for the run and put back afterwards.
    page.evaluate(
        """(figure) => {
             window.__allDocuments = [...Bokeh.documents];
             if (!figure) return;
             const keep = Bokeh.documents.filter((doc) => doc.roots()[0].id.replace(/-\\d+$/, "") === figure);
             Bokeh.documents.splice(0, Bokeh.documents.length, ...keep);
           }""",
        figure,
    )
    try:
        return summarise_controls(page.evaluate(CONTROLS_JS, {"changes": changes, "gapFrames": 2}))
    finally:
        page.evaluate("() => Bokeh.documents.splice(0, Bokeh.documents.length, ...window.__allDocuments)")


def self_times(profile: dict) -> tuple:
    """Split a CPU profile's self time (ms) by function, inside and outside profiled_customjs.

    Returns (inside, outside, inside_total_ms, callers), where callers maps each
    function to its self time per caller chain. A sample's duration is the gap
    to the next sample.
    """
    nodes = {node["id"]: node for node in profile["nodes"]}
    parents = {}
    for node in profile["nodes"]:
        for child in node.get("children", []):
            parents[child] = node["id"]
    inside_cache: dict[int, bool] = {}

    def is_inside(node_id: int) -> bool:
        if node_id not in inside_cache:
            name = nodes[node_id]["callFrame"]["functionName"]
            parent = parents.get(node_id)
            inside_cache[node_id] = name == "profiled_customjs" or (parent is not None and is_inside(parent))
        return inside_cache[node_id]

    samples = profile.get("samples", [])
    deltas = profile.get("timeDeltas", [])
    inside: collections.Counter = collections.Counter()
    outside: collections.Counter = collections.Counter()
    callers: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for index, node_id in enumerate(samples):
        duration_us = deltas[index + 1] if index + 1 < len(deltas) else 0
        frame = nodes[node_id]["callFrame"]
        name = frame["functionName"] or "(anonymous)"
        if name in IGNORED_FRAMES:
            continue
        url = frame["url"].rsplit("/", 1)[-1] or "(page)"
        key = (name, url, frame["lineNumber"] + 1)
        (inside if is_inside(node_id) else outside)[key] += duration_us / 1000
        callers[key][caller_chain(nodes, parents, node_id)] += duration_us / 1000
    return inside, outside, sum(inside.values()), callers


def caller_chain(nodes: dict, parents: dict, node_id: int, depth: int = 3) -> str:
    """Return the names of the ``depth`` named functions that called the node's function."""
    names = []
    parent = parents.get(node_id)
    while parent is not None and len(names) < depth:
        name = nodes[parent]["callFrame"]["functionName"]
        if name and name not in IGNORED_FRAMES:
            names.append(name)
        parent = parents.get(parent)
    return " < ".join(names)


def profile_control(page, cdp, control: dict, changes: int, interval_us: int) -> dict:
    """Drive one control under the sampling profiler and return its CPU profile."""
    cdp.send("Profiler.setSamplingInterval", {"interval": interval_us})
    cdp.send("Profiler.start")
    try:
        driven = page.evaluate(DRIVE_JS, {**control, "changes": changes})
    finally:
        profile = cdp.send("Profiler.stop")["profile"]
    return {**driven, "profile": profile}


def print_top(title: str, times: collections.Counter, callers: dict, per: int, top: int) -> None:
    print(f"    {title}")
    for key, ms in times.most_common(top):
        name, url, line = key
        chain, _ = callers[key].most_common(1)[0]
        print(f"      {ms / per:7.3f} ms/change  {name}  {url}:{line}  < {chain}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figure", help="profile only this figure's controls (for example composer)")
    parser.add_argument("--changes", type=int, default=100, help="changes per control (default: 100)")
    parser.add_argument("--top", type=int, default=12, help="functions listed per control (default: 12)")
    parser.add_argument("--interval-us", type=int, default=50, help="profiler sampling interval in microseconds")
    parser.add_argument("--minified", action="store_true", help="keep the minified BokehJS bundles")
    parser.add_argument("--no-timing", action="store_true", help="skip the controls.js timing pass")
    parser.add_argument("--site", type=Path, help="profile this built site instead of building one")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="profile-controls-") as temporary:
        site = args.site
        if site is None:
            site = Path(temporary) / "site"
            print(f"building the essay into {site}", file=sys.stderr)
            build_site(site)
        with serve(site, "/essay/") as url, chromium() as browser:
            context, page = open_essay(browser, url, args.minified)
            try:
                if not args.no_timing:
                    print(f"controls.js timing, {args.changes} changes per control (ms inside CustomJS):")
                    for row in time_controls(page, args.changes, args.figure):
                        if "changes" not in row:
                            print(f"  {row.get('control')}: skipped ({row.get('skipped')})")
                            continue
                        print(
                            f"  {row['control']:<28} median {row['callback_median_ms']:6.2f}"
                            f"  p95 {row['callback_p95_ms']:6.2f}"
                            f"  repaint median {row['repaint_median_ms'] or 0:6.1f}"
                            f"  next frame {row['next_frame_share'] or 0:4.0%}"
                        )
                controls = page.evaluate(LIST_CONTROLS_JS, args.figure)
                if not controls:
                    raise SystemExit(f"no controls found for figure {args.figure!r}")
                cdp = page.context.new_cdp_session(page)
                cdp.send("Profiler.enable")
                print(f"\nCPU profile, {args.changes} changes per control, sampling every {args.interval_us} us:")
                for control in controls:
                    run = profile_control(page, cdp, control, args.changes, args.interval_us)
                    inside, outside, inside_ms, callers = self_times(run["profile"])
                    per = max(1, args.changes - run["stalled"])
                    print(f"\n  {control['name']} ({control['figure']}): {run['calls']} callbacks,"
                          f" {inside_ms / per:.3f} ms sampled inside CustomJS per change"
                          + (f", {run['stalled']} changes ran no callback" if run["stalled"] else ""))
                    print_top("self time inside the callback:", inside, callers, per, args.top)
                    print_top("self time outside it (repaint, GC, ...):", outside, callers, per, args.top // 2)
                cdp.send("Profiler.disable")
            finally:
                context.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
