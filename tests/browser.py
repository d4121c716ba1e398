"""Headless Chromium and a static file server on 127.0.0.1 for the browser tests.

Chromium is Debian's ``/usr/bin/chromium`` driven through the ``playwright``
package; Playwright's own browser downloads are never used. Outside CI a
missing Chromium skips the browser tests; in CI (``CI`` set) it fails them.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from essaygen.snapshots import CHROMIUM, CHROMIUM_ARGS



def require_chromium() -> str:
    """Return the Chromium path, or skip (fail in CI) when it is not installed."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM}; install it with: sudo apt-get install -y chromium"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


_playwright = None


def shared_playwright():
    """Return the one Playwright driver of this test process, starting it on first use.

    Playwright's synchronous API cannot be started while another instance runs
    in the same thread, so contexts opened inside a test while a session-scoped
    context is alive must share the driver.
    """
    global _playwright
    if _playwright is None:
        from playwright.sync_api import sync_playwright

        _playwright = sync_playwright().start()
        atexit.register(_playwright.stop)
    return _playwright


@contextlib.contextmanager
def chromium_context(**context_options) -> Iterator[object]:
    """Start Chromium with a fresh profile and yield a Playwright browser context."""
    executable = require_chromium()
    profile = tempfile.mkdtemp(prefix="essay-chromium-")
    try:
        context = shared_playwright().chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            **context_options,
        )
        try:
            yield context
        finally:
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves ``directory`` under ``prefix`` (such as ``/sub/path/``) and 404s elsewhere."""

    prefix = "/"
    redirect_folders = True

    def __init__(self, *args, directory: str, prefix: str, redirect_folders: bool = True, **kwargs) -> None:
        self.prefix = prefix
        self.redirect_folders = redirect_folders
        super().__init__(*args, directory=directory, **kwargs)

    def translate_path(self, path: str) -> str:
        route = urlsplit(path).path
        if not route.startswith(self.prefix):
            return str(Path(self.directory) / "__outside_prefix__")
        return super().translate_path("/" + route[len(self.prefix):])

    def send_head(self):
        route = urlsplit(self.path).path
        # A folder URL without its trailing slash redirects, as GitHub Pages does,
        # or (redirect_folders=False) gets the folder's index.html as some hosts serve it.
        if route + "/" == self.prefix and not self.redirect_folders:
            self.path = self.prefix + "index.html"
        elif route + "/" == self.prefix:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", self.prefix)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return super().send_head()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve_site(directory: Path, prefix: str = "/", redirect_folders: bool = True) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at ``prefix`` and yield the base URL.

    With ``redirect_folders=False`` the prefix without its trailing slash
    answers with the index page itself instead of a redirect.
    """
    if not prefix.endswith("/"):
        prefix += "/"
    handler = functools.partial(
        _SiteHandler, directory=str(directory), prefix=prefix, redirect_folders=redirect_folders
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class PageWatcher:
    """Records console errors, page errors, failed requests and requests to other hosts."""

    def __init__(self, page, allowed_origin: str) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.foreign_requests: list[str] = []
        self.allowed_origin = allowed_origin
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", lambda request: self.failed_requests.append(request.url))
        page.on("request", self._on_request)
        page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_request(self, request) -> None:
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        if not url.startswith(self.allowed_origin):
            self.foreign_requests.append(url)

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.failed_requests.append(f"{response.status} {response.url}")

    def assert_clean(self) -> None:
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.failed_requests == [], f"failed requests: {self.failed_requests}"
        assert self.foreign_requests == [], f"requests to other hosts: {self.foreign_requests}"


def wait_for_figures(page, timeout_ms: int = 30_000) -> int:
    """Force every figure to embed and wait until each Bokeh root has rendered; return the count."""
    page.wait_for_function("() => window.essay !== undefined", timeout=timeout_ms)
    page.evaluate("() => window.essay.embedAll()")
    count = page.locator("script.bokeh-item").count()
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('script.bokeh-item'))
                 .every(item => item.dataset.state === 'ready')""",
        timeout=timeout_ms,
    )
    return count
