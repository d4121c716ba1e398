"""Capture each figure as an image at build time, for readers without JavaScript.

Every figure with a Bokeh root is rendered in headless Chromium (driven by the
``playwright`` package) from the files already staged for the site, once per
theme at a wide and at a phone width. The page shows the pictures inside
``<noscript>``, so readers with JavaScript never download them. When
``config.site_url`` is set, the first figure is also captured as a 1200×630
preview card for Open Graph and Twitter.

Captures are cached under ``ROOT/.cache/snapshots/``, keyed by a hash of
everything that affects the pixels. That is the figure's item JSON, the
hashed names of the CSS, JavaScript and BokehJS files (the names contain
their content hashes), the viewport and the theme. A repeated build with
unchanged inputs starts no browser.

Without Chromium or Playwright, or with ``ESSAYGEN_SNAPSHOTS=0`` in the
environment, the build logs one line and the figures fall back to their
caption, summary and table of key values. It never fails for that.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import html
import json
import logging
import os
import re
import shutil
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from .assets import AssetMap
    from .config import SiteConfig
    from .embedding import BuiltFigure
    from .write import SiteWriter

log = logging.getLogger("essaygen")

# Bump when the capture page or the capture steps change, to invalidate the cache.
SNAPSHOT_VERSION = "2"
CACHE_SUBDIR = "snapshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RENDER_TIMEOUT_MS = 30_000
# Viewports up to this width (CSS pixels) are shown the phone capture.
NARROW_BREAKPOINT = 640
PREVIEW_SIZE = (1200, 630)


@dataclass(frozen=True)
class Variant:
    """One way of capturing a figure: viewport, pixel density and theme."""

    name: str
    width: int
    height: int
    scale: int
    theme: str


VARIANTS = (
    Variant("wide-light", 1280, 900, 1, "light"),
    Variant("wide-dark", 1280, 900, 1, "dark"),
    Variant("narrow-light", 360, 740, 2, "light"),
    Variant("narrow-dark", 360, 740, 2, "dark"),
)
PREVIEW = Variant("preview", PREVIEW_SIZE[0], PREVIEW_SIZE[1], 1, "light")


@dataclass(frozen=True)
class Fallback:
    """URLs (relative to the page) and CSS pixel sizes of a figure's captured images."""

    wide_light: str
    wide_dark: str
    narrow_light: str
    narrow_dark: str
    wide_size: tuple[int, int]
    narrow_size: tuple[int, int]
    narrow_breakpoint: int = NARROW_BREAKPOINT
    preview_url: str | None = None
    preview_size: tuple[int, int] = PREVIEW_SIZE
    preview_alt: str = ""


@dataclass(frozen=True)
class CaptureJob:
    """One image to produce: which figure, how, and where its cached copy lives."""

    figure: "BuiltFigure"
    variant: Variant
    cache_path: Path


def capture_fallbacks(
    figures: list["BuiltFigure"],
    config: "SiteConfig",
    cache_root: Path,
    writer: "SiteWriter",
    assets: "AssetMap",
    bokeh_urls: list[str],
) -> list["BuiltFigure"]:
    """Return ``figures`` with their fallback images attached, capturing what the cache lacks.

    The theme and BokehJS must already be written into ``writer``'s staging
    folder, because the capture pages load them from there.
    """
    started = time.perf_counter()
    plotted = [figure for figure in figures if figure.item_json and figure.spec.picture]
    if not plotted:
        return figures
    cache_dir = Path(cache_root) / CACHE_SUBDIR
    page_files = [assets["essay.css"], assets["essay.js"], *bokeh_urls]
    jobs = [
        CaptureJob(figure, variant, cache_dir / f"{figure.name}-{variant.name}-{capture_key(figure, variant, page_files)}.png")
        for figure in plotted
        for variant in VARIANTS
    ]
    if config.site_url:
        first = plotted[0]
        preview_key = capture_key(first, PREVIEW, page_files, f"{config.title}\n{config.description}")
        jobs.append(CaptureJob(first, PREVIEW, cache_dir / f"{first.name}-preview-{preview_key}.png"))

    missing = [job for job in jobs if not job.cache_path.is_file()]
    captured = 0
    if missing:
        problem = browser_problem()
        if problem:
            log.info("figure pictures    skipped: %s; pages without JavaScript show each figure's caption and key values", problem)
            return figures
        captured = run_captures(missing, config, writer.staging, assets, bokeh_urls)
        remove_replaced(missing)

    images: dict[tuple[str, str], tuple[str, tuple[int, int]]] = {}
    for job in jobs:
        if job.cache_path.is_file():
            data = job.cache_path.read_bytes()
            url = writer.write_hashed(f"assets/figures/{job.figure.name}-{job.variant.name}.png", data)
            width, height = png_dimensions(data)
            css_size = (width // job.variant.scale, height // job.variant.scale)
            images[(job.figure.name, job.variant.name)] = (url, css_size)

    result = [attach_fallback(figure, images, config) for figure in figures]
    elapsed = (time.perf_counter() - started) * 1000
    log.info(
        "figure pictures    %d from cache, %d captured (%.0f ms)",
        len(jobs) - len(missing), captured, elapsed,
    )
    return result


def remove_replaced(jobs: Iterable[CaptureJob]) -> None:
    """Delete the cached captures that the new captures of ``jobs`` replace, so the cache stays small."""
    for job in jobs:
        if not job.cache_path.is_file():
            continue
        stale = re.compile(re.escape(f"{job.figure.name}-{job.variant.name}-") + r"[0-9a-f]{16}\.png")
        for path in job.cache_path.parent.iterdir():
            if path != job.cache_path and stale.fullmatch(path.name):
                path.unlink(missing_ok=True)


def capture_key(figure: "BuiltFigure", variant: Variant, page_files: Iterable[str], extra: str = "") -> str:
    """Return a short hash of everything that decides a capture's pixels."""
    digest = hashlib.sha256()
    for part in (SNAPSHOT_VERSION, figure.item_json or "", str(figure.spec.height), *page_files,
                 json.dumps(dataclasses.asdict(variant), sort_keys=True), extra):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def attach_fallback(
    figure: "BuiltFigure", images: dict[tuple[str, str], tuple[str, tuple[int, int]]], config: "SiteConfig"
) -> "BuiltFigure":
    """Return ``figure`` with a Fallback when all four of its captures exist."""
    captured = {variant.name: images.get((figure.name, variant.name)) for variant in VARIANTS}
    if not all(captured.values()):
        return figure
    preview = images.get((figure.name, PREVIEW.name))
    fallback = Fallback(
        wide_light=captured["wide-light"][0],
        wide_dark=captured["wide-dark"][0],
        narrow_light=captured["narrow-light"][0],
        narrow_dark=captured["narrow-dark"][0],
        wide_size=captured["wide-light"][1],
        narrow_size=captured["narrow-light"][1],
        preview_url=preview[0] if preview else None,
        preview_alt=f"{config.title}: {figure.spec.summary}" if preview else "",
    )
    return dataclasses.replace(figure, fallback=fallback)


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Return a PNG's width and height in pixels, read from its IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def browser_problem() -> str | None:
    """Return why figures cannot be captured here, or None when they can."""
    if os.environ.get("ESSAYGEN_SNAPSHOTS", "1") == "0":
        return "turned off by ESSAYGEN_SNAPSHOTS=0"
    try:
        import playwright.sync_api  # noqa: F401 (only checks that it is installed)
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not Path(CHROMIUM).is_file():
        return f"Chromium not found at {CHROMIUM} (install it, or set CHROMIUM to its path)"
    return None


def run_captures(
    jobs: list[CaptureJob], config: "SiteConfig", staging: Path, assets: "AssetMap", bokeh_urls: list[str]
) -> int:
    """Capture ``jobs`` into the cache and return how many succeeded.

    The captures run on an asyncio loop in a thread of their own, because the
    calling thread may already run a loop (as in a test that drives a browser
    itself).
    """
    outcome: dict[str, object] = {"count": 0}

    def work() -> None:
        try:
            outcome["count"] = asyncio.run(capture_in_browser(jobs, config, staging, assets, bokeh_urls))
        except Exception as error:  # a browser failure must not fail the build
            outcome["error"] = error

    thread = threading.Thread(target=work, name="essay-snapshots")
    thread.start()
    thread.join()
    if "error" in outcome:
        error = outcome["error"]
        log.warning("figure pictures    capture failed: %s: %s; pages without JavaScript show key values",
                    type(error).__name__, error)
    return int(outcome["count"])  # type: ignore[arg-type]


async def capture_in_browser(
    jobs: list[CaptureJob], config: "SiteConfig", staging: Path, assets: "AssetMap", bokeh_urls: list[str]
) -> int:
    """Render the jobs' figures in Chromium, one page per variant, and store a PNG of each in the cache.

    The variants' pages load and render at the same time, in one browser:
    most of the work is BokehJS running in each page's own renderer process.
    """
    from playwright.async_api import async_playwright

    pages_dir = Path(tempfile.mkdtemp(prefix=".capture-", dir=staging))
    variants = sorted({job.variant for job in jobs}, key=lambda variant: variant.name)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                counts = await asyncio.gather(*(
                    capture_variant(browser, [job for job in jobs if job.variant == variant], variant, config,
                                    pages_dir, assets, bokeh_urls)
                    for variant in variants
                ))
            finally:
                await browser.close()
    finally:
        shutil.rmtree(pages_dir, ignore_errors=True)
    return sum(counts)


async def capture_variant(
    browser, jobs: list[CaptureJob], variant: Variant, config: "SiteConfig", pages_dir: Path,
    assets: "AssetMap", bokeh_urls: list[str],
) -> int:
    """Render all of ``jobs``' figures on one page and screenshot each; return how many were stored.

    A failure is logged with the figure's name and leaves that figure without
    its picture; the other figures are still captured.
    """
    figures = [job.figure for job in jobs]
    page_path = pages_dir / f"{variant.name}.html"
    page_path.write_text(capture_page(figures, variant, config, assets, bokeh_urls), encoding="utf-8")
    context = await browser.new_context(
        viewport={"width": variant.width, "height": variant.height},
        device_scale_factor=variant.scale,
        color_scheme=variant.theme,
        reduced_motion="reduce",
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    stored = 0
    try:
        await page.goto(page_path.as_uri())
        await page.wait_for_function("() => window.essay !== undefined", timeout=RENDER_TIMEOUT_MS)
        await page.evaluate("() => window.essay.embedAll()")
        # Every Bokeh document reports idle once its first layout and paint are done.
        await page.wait_for_function(
            "() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents.every((document) => document.is_idle)",
            timeout=RENDER_TIMEOUT_MS,
        )
        # Two frames let Bokeh finish painting after the embed promise resolves.
        await page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        if errors:
            raise RuntimeError(errors[0])
        for job in jobs:
            if variant is PREVIEW:
                data = await page.screenshot(animations="disabled")
            else:
                data = await page.locator(f"#{job.figure.name}-root").screenshot(animations="disabled")
            store(job.cache_path, data)
            stored += 1
    except Exception as error:  # report the variant and keep the build going
        names = ", ".join(figure.name for figure in figures[stored:])
        log.warning("figure pictures    %s (%s) not captured: %s", names, variant.name, error)
    finally:
        await context.close()
    return stored


def store(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a crash leaves no half image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def capture_page(
    figures: list["BuiltFigure"], variant: Variant, config: "SiteConfig", assets: "AssetMap", bokeh_urls: list[str]
) -> str:
    """Return a page that shows ``figures`` as the essay does, loading the staged assets.

    The page sits one folder below the staging root, so asset URLs get ``../``.
    With the ``capture`` class, essay.js hides the figures' controls.
    """
    def url(path: str) -> str:
        return html.escape("../" + path, quote=True)

    bundles = json.dumps(["../" + path for path in bokeh_urls]).replace("<", "\\u003c")
    title = ""
    preview_style = ""
    if variant is PREVIEW:
        title = f'<p class="capture-title">{html.escape(config.title)}</p>'
        if config.description:
            title += f'<p class="capture-dek">{html.escape(config.description)}</p>'
        preview_style = (
            "<style>body{margin:0;padding:36px 56px;overflow:hidden;height:630px}"
            ".essay{padding:0}.capture-title{margin:0 0 8px;font:750 44px/1.1 var(--font-ui);letter-spacing:-0.02em}"
            ".capture-dek{margin:0 0 20px;max-width:none;font-size:22px;line-height:1.35;color:var(--muted)}"
            ".essay-section>.essay-figure{border:0;margin:0;padding:0;max-width:none}</style>"
        )
    blocks = "\n".join(
        f'''<figure class="essay-figure has-plot" id="{figure.element_id}" data-figure="{figure.name}">
<div class="figure-root" id="{figure.name}-root"></div>
<script type="application/json" class="bokeh-item" data-target="{figure.name}-root">{figure.item_json}</script>
</figure>'''
        for figure in figures
    )
    return f"""<!DOCTYPE html>
<html lang="{html.escape(config.language, quote=True)}" class="js capture" data-theme="{variant.theme}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{url(assets['essay.css'])}">
{preview_style}
</head>
<body>
<main class="essay">
<section class="essay-section">
{title}
{blocks}
</section>
</main>
<script type="application/json" id="bokeh-bundles">{bundles}</script>
<script src="{url(assets['essay.js'])}"></script>
</body>
</html>
"""
