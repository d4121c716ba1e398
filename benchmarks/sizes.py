"""Bytes a reader downloads: every file of a built site, raw and gzip, and when it loads.

"Before first paint" is what the browser must have before it can paint the
page's text: the HTML and the render-blocking resources it names (stylesheets
without a non-screen ``media`` and classic scripts in ``<head>`` without
``async`` or ``defer``). These are found by parsing the page, the same rule
Chromium follows. Every other file the page requested while loading and
rendering every figure is "later"; files never requested are listed as such.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from gzserve import GZIP_LEVEL, is_compressed

BEFORE_PAINT = "before first paint"
LATER = "later"
NOT_LOADED = "not loaded"


@dataclass
class FileSize:
    path: str
    raw: int
    gzip: int
    phase: str


class BlockingResources(HTMLParser):
    """Collects the URLs of render-blocking stylesheets and scripts in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.in_head = True
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self.in_head = False
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "").split():
            media = (attributes.get("media") or "all").strip()
            if media in ("all", "screen", "") and attributes.get("href"):
                self.urls.append(attributes["href"])
        if tag == "script" and attributes.get("src"):
            if attributes.get("type") == "module" or "async" in attributes or "defer" in attributes:
                return
            # A parser-blocking script in the body still blocks painting what follows it.
            self.urls.append(attributes["src"])


def blocking_urls(html: str) -> list[str]:
    parser = BlockingResources()
    parser.feed(html)
    return parser.urls


def gzip_size(path: Path) -> int:
    data = path.read_bytes()
    if not is_compressed(path):
        return len(data)
    return len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def site_sizes(site: Path, page: str, base_url: str, requested_urls: list[str]) -> list[FileSize]:
    """Return every file under ``site`` with its sizes and loading phase for ``page``.

    ``page`` is the page's path in the site (``index.html``), ``base_url`` the
    URL the site was served at, and ``requested_urls`` what the browser fetched.
    """
    page_url = urljoin(base_url, page if page != "index.html" else "")
    blocking = {page}
    for url in blocking_urls((site / page).read_text(encoding="utf-8")):
        blocking.add(site_path(urljoin(page_url, url), base_url))
    requested = {site_path(url, base_url) for url in requested_urls}
    sizes = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        relative = path.relative_to(site).as_posix()
        phase = BEFORE_PAINT if relative in blocking else LATER if relative in requested else NOT_LOADED
        sizes.append(FileSize(relative, path.stat().st_size, gzip_size(path), phase))
    return sizes


def site_path(url: str, base_url: str) -> str:
    """Map a URL under ``base_url`` to the file path it serves."""
    path = urlsplit(url).path
    base = urlsplit(base_url).path
    relative = path[len(base):] if path.startswith(base) else path.lstrip("/")
    if not relative or relative.endswith("/"):
        return relative + "index.html"
    return relative


def totals(sizes: list[FileSize]) -> dict[str, dict[str, int]]:
    """Sum raw and gzip bytes per phase, plus "page" (everything loaded)."""
    result = {phase: {"raw": 0, "gzip": 0, "files": 0} for phase in (BEFORE_PAINT, LATER, NOT_LOADED)}
    for size in sizes:
        result[size.phase]["raw"] += size.raw
        result[size.phase]["gzip"] += size.gzip
        result[size.phase]["files"] += 1
    result["page"] = {
        key: result[BEFORE_PAINT][key] + result[LATER][key] for key in ("raw", "gzip", "files")
    }
    return result
