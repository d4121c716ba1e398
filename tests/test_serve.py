"""The serve command: a real server on 127.0.0.1 that rebuilds on change and reports errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO
from essaygen.config import SiteConfig
from essaygen.errors import BuildError
from essaygen.serve import (
    CLIENT_URL,
    EVENTS_URL,
    PACKAGE_DIR,
    base_path,
    describe_build_error,
    describe_exception,
    inject_client,
    is_loopback,
    needs_restart,
    without_option,
)

# Guards against a hung server, not performance limits: a build on a loaded
# machine can take several seconds.
STARTUP_TIMEOUT = 120
EVENT_TIMEOUT = 120

OPENING = """+++
title = "Opening"
+++

{text}

::figure[family-map]
"""


class ServeProcess:
    """``python -m essaygen serve`` in a child process, on an ephemeral port of 127.0.0.1.

    ``cwd`` contains the ``essaygen`` package to run. Tests pass a copy, so that
    an edit to the working tree during the run does not restart the server.
    """

    def __init__(self, root: Path, logs: Path, *, cwd: Path, extra: tuple[str, ...] = ()) -> None:
        self.stdout_path = logs / "serve.out"
        self.stderr_path = logs / "serve.err"
        env = {**os.environ, "PYTHONPATH": str(cwd), "PYTHONUNBUFFERED": "1"}
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "essaygen", "serve", "--root", str(root), "--port", "0", *extra],
                cwd=cwd, env=env, stdout=stdout, stderr=stderr,
            )
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            found = re.search(r"Serving (http://127\.0\.0\.1:\d+/\S*)", self.stdout())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"serve did not start:\n{self.stdout()}\n{self.stderr()}")

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str = "") -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=EVENT_TIMEOUT) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")

    def events(self) -> "EventStream":
        origin = "/".join(self.url.split("/", 3)[:3])
        return EventStream(origin + EVENTS_URL)

    def stop(self) -> int:
        """Stop the server as Ctrl+C does and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class EventStream:
    """A Server-Sent Events client that returns each ``build`` event's data."""

    def __init__(self, url: str) -> None:
        self.response = urllib.request.urlopen(url, timeout=EVENT_TIMEOUT)

    def next_build(self) -> dict:
        event = None
        while True:
            line = self.response.readline().decode("utf-8")
            if not line:
                raise AssertionError("the event stream closed")
            line = line.rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: ") and event == "build":
                return json.loads(line[len("data: "):])

    def close(self) -> None:
        self.response.close()


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    """A copy of the essaygen package, for servers that must not restart during a test."""
    root = tmp_path_factory.mktemp("serve") / "checkout"
    shutil.copytree(PACKAGE_DIR, root / "essaygen", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture
def server(project, tmp_path, checkout):
    project.write("01-opening.md", OPENING.format(text="First version of the text."))
    process = ServeProcess(project.root, tmp_path, cwd=checkout)
    yield process
    process.stop()


def test_serve_rebuild_and_error_recovery(server, project):
    status, page = server.get()
    assert status == 200
    assert "First version of the text." in page
    assert f'<script src="{CLIENT_URL}"' in page

    events = server.events()
    first = events.next_build()
    assert first["ok"] is True

    project.write("01-opening.md", OPENING.format(text="Second version of the text."))
    second = events.next_build()
    assert second["ok"] is True
    assert second["site"] != first["site"]
    assert "Second version of the text." in server.get()[1]

    project.write("01-opening.md", OPENING.format(text="Broken.").replace("family-map", "no-such-figure"))
    broken = events.next_build()
    assert broken["ok"] is False
    assert broken["site"] == second["site"]
    assert broken["errors"][0]["file"] == "content/01-opening.md"
    assert broken["errors"][0]["line"] == 7
    assert broken["errors"][0]["message"] == "unknown figure 'no-such-figure'"
    assert broken["errors"][0]["hint"].startswith("known figures:")
    assert "Second version of the text." in server.get()[1]  # the last good build
    assert "content/01-opening.md:7: unknown figure 'no-such-figure'" in server.stderr()

    project.write("01-opening.md", OPENING.format(text="Third version, fixed."))
    fixed = events.next_build()
    assert fixed["ok"] is True
    assert "Third version, fixed." in server.get()[1]
    events.close()

    assert server.stop() == 0
    assert "Stopped." in server.stdout()
    assert not project.site.exists()  # serve never writes the publishable site


def test_serve_first_build_failing(project, tmp_path, checkout):
    project.write("01-opening.md", OPENING.format(text="Broken.").replace("family-map", "no-such-figure"))
    process = ServeProcess(project.root, tmp_path, cwd=checkout)
    try:
        status, page = process.get()
        assert status == 503
        assert "No build has succeeded yet." in page
        assert f'<script src="{CLIENT_URL}"' in page

        events = process.events()
        broken = events.next_build()
        assert broken["ok"] is False
        assert broken["site"] == ""

        project.write("01-opening.md", OPENING.format(text="Now it builds."))
        fixed = events.next_build()
        events.close()
        assert fixed["ok"] is True
        assert fixed["site"] != ""
        status, page = process.get()
        assert status == 200
        assert "Now it builds." in page
    finally:
        assert process.stop() == 0


def test_serve_reports_unknown_path_as_404(server):
    status, page = server.get("no-such-page.html")

    assert status == 404
    assert "Page not found" in page
    assert f'<script src="{CLIENT_URL}"' in page


def test_serve_serves_assets_without_client(server):
    _, page = server.get()
    stylesheet = re.search(r'href="(assets/print\.[0-9a-f]+\.css)"', page).group(1)

    status, css = server.get(stylesheet)

    assert status == 200
    assert CLIENT_URL not in css


def test_serve_under_base_path(project, tmp_path, checkout):
    (project.root / "essay.toml").write_text('[site]\nbase_path = "/essay/"\n', encoding="utf-8")
    project.write("01-opening.md", OPENING.format(text="Under a sub-path."))
    process = ServeProcess(project.root, tmp_path, cwd=checkout)
    try:
        assert process.url.endswith("/essay/")
        assert "Under a sub-path." in process.get()[1]
        root = process.url.removesuffix("essay/")
        with urllib.request.urlopen(root, timeout=EVENT_TIMEOUT) as response:
            assert response.url == process.url  # "/" redirects to the base path
    finally:
        assert process.stop() == 0


def test_serve_port_in_use(project, tmp_path, capsys, checkout):
    from essaygen import cli

    project.write("01-opening.md", OPENING.format(text="Text."))
    process = ServeProcess(project.root, tmp_path, cwd=checkout)
    try:
        port = process.url.split(":")[2].split("/")[0]
        code = cli.main(["serve", "-q", "--root", str(project.root), "--port", port])
    finally:
        process.stop()

    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_restart_on_code_change(project, tmp_path):
    """A change to the package's Python code restarts the process with the new code."""
    copy = tmp_path / "checkout"
    shutil.copytree(PACKAGE_DIR, copy / "essaygen", ignore=shutil.ignore_patterns("__pycache__"))
    module = copy / "essaygen" / "figures" / "family_map.py"
    project.write("01-opening.md", OPENING.format(text="Text."))
    logs = tmp_path / "logs"
    logs.mkdir()
    process = ServeProcess(project.root, logs, cwd=copy)
    try:
        events = process.events()
        first = events.next_build()
        source = module.read_text(encoding="utf-8")
        caption = "The four families of compression, and the quantity each one makes smaller."
        assert caption in source

        module.write_text(source + "\nthis line is not Python (\n", encoding="utf-8")
        broken = events.next_build()
        assert broken["ok"] is False
        assert broken["errors"][0]["file"].endswith("family_map.py")
        assert "does not import" in broken["errors"][0]["message"]
        assert process.process.poll() is None  # still serving the old code

        module.write_text(source.replace(caption, "A caption changed in the code."), encoding="utf-8")
        events.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        page = ""
        while "A caption changed in the code." not in page and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                page = process.get()[1]
            except (urllib.error.URLError, ConnectionError):
                page = ""  # the process is between exec and listening
        assert "A caption changed in the code." in page
        assert first["site"] not in page
        assert "restarting" in process.stderr()
    finally:
        assert process.stop() == 0


class TestHelpers:
    def test_inject_client_before_body_end(self):
        html = "<html><body><p>x</p></body></html>"

        result = inject_client(html, "token-1")

        assert result.startswith("<html><body><p>x</p><script ")
        assert result.endswith("</body></html>")
        assert 'data-site="token-1"' in result

    def test_inject_client_without_body(self):
        assert inject_client("<p>x</p>", "t").startswith("<p>x</p><script ")

    @pytest.mark.parametrize(
        "changed, expected",
        [
            ([PACKAGE_DIR / "render.py"], True),
            ([PACKAGE_DIR / "figures" / "quantisation.py"], True),
            ([PACKAGE_DIR / "serve_client.js"], False),
            ([REPO / "content" / "01-opening.md"], False),
            ([REPO / "data" / "models.tsv", PACKAGE_DIR / "cache.py"], True),
        ],
    )
    def test_needs_restart(self, changed, expected):
        assert needs_restart(changed) is expected

    @pytest.mark.parametrize(
        "argv, expected",
        [
            (["python", "build.py", "serve", "--port", "0"], ["python", "build.py", "serve"]),
            (["python", "build.py", "serve", "--port=8001", "-q"], ["python", "build.py", "serve", "-q"]),
            (["python", "build.py", "serve"], ["python", "build.py", "serve"]),
        ],
    )
    def test_without_option(self, argv, expected):
        assert without_option(argv, "--port") == expected

    @pytest.mark.parametrize(
        "host, expected",
        [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
         ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False)],
    )
    def test_is_loopback(self, host, expected):
        assert is_loopback(host) is expected

    @pytest.mark.parametrize(
        "config, expected",
        [
            (SiteConfig(), "/"),
            (SiteConfig(site_url="https://user.github.io/repo/"), "/repo/"),
            (SiteConfig(site_url="https://user.github.io/repo"), "/repo/"),
            (SiteConfig(site_url="https://example.org/", base_path="/preview/"), "/preview/"),
        ],
    )
    def test_base_path(self, config, expected):
        assert base_path(config) == expected

    def test_describe_build_error_relative_path(self):
        error = BuildError("bad value", path=REPO / "content" / "01-opening.md", line=3, hint="fix it")

        assert describe_build_error(error, REPO) == [
            {"file": "content/01-opening.md", "line": 3, "message": "bad value", "hint": "fix it"}
        ]

    def test_describe_exception_syntax_error(self):
        try:
            compile("x = (", str(PACKAGE_DIR / "figures" / "broken.py"), "exec")
        except SyntaxError as error:
            described = describe_exception(error, REPO)

        assert described["file"] == "essaygen/figures/broken.py"
        assert described["line"] == 1
        assert described["message"].startswith("SyntaxError: ")


@pytest.mark.parametrize(
    "policy, expected",
    [
        ("default-src 'none'; script-src 'self'", "default-src 'none'; script-src 'self'; connect-src 'self'"),
        ("default-src 'none'; connect-src 'none'", "default-src 'none'; connect-src 'self'"),
        ("connect-src 'self'", "connect-src 'self'"),
        ("connect-src https://example.org", "connect-src https://example.org 'self'"),
    ],
)
def test_served_policy_allows_event_stream(policy, expected):
    html = f'<head><meta http-equiv="Content-Security-Policy" content="{policy}"></head><body></body>'

    assert f'content="{expected}"' in inject_client(html, "t")


@pytest.mark.browser
def test_browser_reload_and_overlay(project, tmp_path, artifacts, checkout):
    from browser import PageWatcher, chromium_context

    filler = "\n\n".join(f"Paragraph {number} of filler, so the page scrolls." for number in range(60))
    project.write("01-opening.md", OPENING.format(text="Before the edit.\n\n" + filler))
    process = ServeProcess(project.root, tmp_path, cwd=checkout)
    origin = "/".join(process.url.split("/", 3)[:3])
    try:
        with chromium_context(viewport={"width": 1000, "height": 700}) as context:
            page = context.new_page()
            watcher = PageWatcher(page, allowed_origin=origin)
            aborted = []  # a reload cancels requests still in flight, such as the event stream
            page.on("requestfailed", lambda request: aborted.append(request.url)
                    if request.failure == "net::ERR_ABORTED" else None)
            page.goto(process.url)
            page.wait_for_function("() => document.documentElement.dataset.liveReload === 'connected'")
            page.evaluate("() => window.scrollTo(0, 1500)")

            project.write("01-opening.md", OPENING.format(text="After the edit.\n\n" + filler))
            page.wait_for_function("() => document.body.textContent.includes('After the edit.')", timeout=120_000)
            page.wait_for_function("() => document.documentElement.dataset.liveReload === 'connected'")
            assert page.evaluate("() => window.scrollY") > 1000

            project.write("01-opening.md", OPENING.format(text="Broken.").replace("family-map", "no-such-figure"))
            overlay = page.locator("#essaygen-serve-errors")
            overlay.wait_for(state="visible", timeout=120_000)
            assert "content/01-opening.md:7: unknown figure 'no-such-figure'" in overlay.text_content()
            assert overlay.get_attribute("role") == "alert"
            page.screenshot(path=str(artifacts / "serve-error-overlay.png"))

            project.write("01-opening.md", OPENING.format(text="Fixed again."))
            page.wait_for_function("() => document.body.textContent.includes('Fixed again.')", timeout=120_000)
            assert page.locator("#essaygen-serve-errors").count() == 0
            page.close()
            assert any(url.endswith(EVENTS_URL) for url in aborted)
            watcher.failed_requests = [url for url in watcher.failed_requests if url not in aborted]
            watcher.assert_clean()
    finally:
        assert process.stop() == 0
