"""``python build.py serve``: build, serve on 127.0.0.1, rebuild on every change and reload the page.

The preview builds into a temporary folder, never into ``site/``, and serves
the last good build. Files are watched with ``watchfiles``:

- a change under ``content/``, ``templates/``, ``theme/``, ``data/`` or to
  ``essay.toml`` rebuilds the site in this process, reusing every figure whose
  inputs are unchanged (:mod:`essaygen.cache`);
- a change to a ``.py`` file of the ``essaygen`` package restarts the process,
  because Python keeps the modules it has imported. A fresh interpreter avoids
  half-reloaded modules and stale figure registrations. Before restarting, a
  child process imports the changed package. If that fails, the page shows the
  error and the server keeps running the old code until the next save.

Each served HTML page gets one ``<script>`` tag that loads the live-reload
client from the server and listens for Server-Sent Events. After a good build
the page reloads. After a failed build the terminal prints each problem with
file, line and hint, the page shows the same list as an overlay, and the next
good build reloads the page.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit

import watchfiles

from .cache import CACHE_DIR, FigureCache
from .config import CONFIG_FILE, SiteConfig, load_config
from .errors import BuildError, BuildErrors
from .pipeline import ProjectPaths, build

log = logging.getLogger("essaygen")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LIVE_PREFIX = "/__essaygen__/"
EVENTS_URL = LIVE_PREFIX + "events"
CLIENT_URL = LIVE_PREFIX + "live-reload.js"
CLIENT_SOURCE = Path(__file__).with_name("serve_client.js")
PACKAGE_DIR = Path(__file__).resolve().parent
# Seconds between keep-alive comments on an idle event stream; a closed browser
# tab is noticed when writing one fails.
KEEP_ALIVE_SECONDS = 15
# Milliseconds the browser waits before reconnecting a dropped event stream.
RECONNECT_MS = 300
# Milliseconds without further changes before watchfiles reports a batch.
WATCH_STEP_MS = 50
# Keep this many earlier builds on disk, so a request that began before a
# rebuild can still read its files.
KEEP_OLD_BUILDS = 2


@dataclass(frozen=True)
class BuildState:
    """The outcome of the latest build attempt, as sent to the browser."""

    attempt: int
    site_token: str  # names the last good build; "" before the first one
    errors: tuple[dict, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_event(self) -> str:
        payload = {"ok": self.ok, "site": self.site_token, "errors": list(self.errors)}
        return f"event: build\ndata: {json.dumps(payload)}\n\n"


@dataclass
class LivePreview:
    """Rebuilds the site into numbered folders and tracks the one to serve."""

    paths: ProjectPaths
    work_dir: Path
    cache: FigureCache = field(init=False)
    site_dir: Path | None = None
    config: SiteConfig = field(default_factory=SiteConfig)
    state: BuildState = field(default_factory=lambda: BuildState(0, ""))
    closing: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _session: str = field(default_factory=lambda: f"{time.time_ns():x}")

    def __post_init__(self) -> None:
        self.cache = FigureCache(self.paths.data, self.paths.root / CACHE_DIR)

    def rebuild(self) -> BuildState:
        """Build into a new folder; serve it if the build succeeds, else record its errors."""
        attempt = self.state.attempt + 1
        out = self.work_dir / f"site-{attempt}"
        started = time.perf_counter()
        try:
            config = load_config(self.paths.root)
            build(_with_out(self.paths, out), config, self.cache, preview=True)
        except BuildError as error:
            log.error("%s", error)
            state = BuildState(attempt, self.state.site_token, tuple(describe_build_error(error, self.paths.root)))
        except Exception as error:  # a figure or template bug: keep serving and show it
            log.error("%s", "".join(traceback.format_exception(error)).rstrip())
            state = BuildState(attempt, self.state.site_token, (describe_exception(error, self.paths.root),))
        else:
            self.config = config
            self.site_dir = out
            self._remove_old_builds(attempt)
            state = BuildState(attempt, f"{self._session}-{attempt}")
            stats = self.cache.stats
            log.info(
                "rebuilt in %.0f ms (%d of %d figures from the cache)",
                (time.perf_counter() - started) * 1000, stats.hits, stats.hits + stats.misses,
            )
        if not state.ok:
            log.error("build failed; serving the last good build. Fix the file and save to rebuild.")
        self.publish_state(state)
        return state

    def publish_state(self, state: BuildState) -> None:
        """Record ``state`` and wake every open event stream."""
        with self._changed:
            self.state = state
            self._changed.notify_all()

    def wait_for_change(self, seen: BuildState | None, timeout: float) -> BuildState:
        """Return the current state once it differs from ``seen``, or after ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self.state is not seen or self.closing, timeout)
            return self.state

    def close(self) -> None:
        """End every event stream and delete the builds."""
        with self._changed:
            self.closing = True
            self._changed.notify_all()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _remove_old_builds(self, attempt: int) -> None:
        for folder in self.work_dir.glob("site-*"):
            number = folder.name.removeprefix("site-")
            if number.isdigit() and int(number) < attempt - KEEP_OLD_BUILDS:
                shutil.rmtree(folder, ignore_errors=True)


def _with_out(paths: ProjectPaths, out: Path) -> ProjectPaths:
    return replace(paths, out=out)


def describe_build_error(error: BuildError, root: Path) -> list[dict]:
    """Return one ``{file, line, message, hint}`` entry per problem in ``error``."""
    errors = error.errors if isinstance(error, BuildErrors) else [error]
    return [
        {
            "file": _relative(item.path, root) if item.path is not None else "",
            "line": item.line,
            "message": item.message,
            "hint": item.hint or "",
        }
        for item in errors
    ]


def describe_exception(error: BaseException, root: Path) -> dict:
    """Describe an unexpected exception by the deepest traceback frame in the project or package."""
    if isinstance(error, SyntaxError) and error.filename:
        path, line = Path(error.filename), error.lineno
    else:
        frames = traceback.extract_tb(error.__traceback__)
        ours = [frame for frame in frames if _is_project_file(Path(frame.filename), root)]
        frame = (ours or frames or [None])[-1]
        path = Path(frame.filename) if frame else None
        line = frame.lineno if frame else None
    return {
        "file": _relative(path, root) if path else "",
        "line": line,
        "message": f"{type(error).__name__}: {error}",
        "hint": "the terminal running serve shows the full traceback",
    }


def _is_project_file(path: Path, root: Path) -> bool:
    resolved = path.resolve()
    return resolved.is_relative_to(PACKAGE_DIR) or resolved.is_relative_to(Path(root).resolve())


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


class PreviewHandler(SimpleHTTPRequestHandler):
    """Serves the last good build under the configured base path, plus the live-reload routes."""

    server: "PreviewServer"

    def __init__(self, request, client_address, server: "PreviewServer") -> None:
        # Read the folder once per request, so one response never mixes two builds.
        site = server.preview.site_dir
        super().__init__(request, client_address, server, directory=str(site) if site else os.devnull)

    @property
    def preview(self) -> LivePreview:
        return self.server.preview

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        route = urlsplit(self.path).path
        if route == EVENTS_URL and self.command == "GET":
            self.send_events()
        elif route == CLIENT_URL:
            self.send_bytes(CLIENT_SOURCE.read_bytes(), "text/javascript; charset=utf-8")
        elif not self.preview.site_dir:
            self.send_html(placeholder_page(), HTTPStatus.SERVICE_UNAVAILABLE)
        else:
            self.send_site_file(route)

    do_HEAD = do_GET  # noqa: N815 (http.server's name); send_bytes omits the body

    def send_site_file(self, route: str) -> None:
        """Send a file of the site, adding the live-reload script to HTML pages."""
        base = base_path(self.preview.config)
        if route == base.rstrip("/") or (route == "/" and base != "/"):
            self.redirect(base)
            return
        if not route.startswith(base):
            self.send_not_found()
            return
        local = Path(self.translate_path("/" + route[len(base):]))
        if local.is_dir():
            if not route.endswith("/"):
                self.redirect(route + "/")
                return
            local = local / "index.html"
        if local.suffix == ".html" and local.is_file():
            self.send_html(local.read_text(encoding="utf-8"))
        elif local.is_file():
            self.path = "/" + route[len(base):]
            super().do_HEAD() if self.command == "HEAD" else super().do_GET()
        else:
            self.send_not_found()

    def send_not_found(self) -> None:
        page = Path(self.directory) / "404.html"
        if page.is_file():
            self.send_html(page.read_text(encoding="utf-8"), HTTPStatus.NOT_FOUND)
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def send_html(self, html: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        state = self.preview.state
        self.send_bytes(inject_client(html, state.site_token).encode("utf-8"), "text/html; charset=utf-8", status)

    def send_bytes(self, body: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        # Static files too: a preview must never show a cached old file.
        if not any(line.startswith(b"Cache-Control") for line in self._headers_buffer):
            self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def send_events(self) -> None:
        """Stream a ``build`` event now and after every build attempt, until the client goes."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen: BuildState | None = None
        try:
            self.wfile.write(f"retry: {RECONNECT_MS}\n\n".encode())
            while not self.preview.closing:
                state = self.preview.wait_for_change(seen, KEEP_ALIVE_SECONDS)
                if self.preview.closing:
                    break
                self.wfile.write(state.to_event().encode() if state is not seen else b": keep-alive\n\n")
                self.wfile.flush()
                seen = state
        except (BrokenPipeError, ConnectionResetError) as error:
            # The tab was closed or reloaded.
            log.debug("event stream to %s closed: %s", self.address_string(), error)
        self.close_connection = True

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        log.debug("%s %s", self.address_string(), format % args)


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server, holding the preview its handlers read."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], preview: LivePreview) -> None:
        self.preview = preview
        super().__init__(address, PreviewHandler)


def base_path(config: SiteConfig) -> str:
    """Return the URL path the preview serves the site under, such as ``/`` or ``/essay/``."""
    return getattr(config, "resolved_base_path", "/")


CSP_META = re.compile(
    r'(<meta\s+http-equiv="Content-Security-Policy"\s+content=")([^"]*)(")', re.IGNORECASE
)


def allow_event_stream(html: str) -> str:
    """Add ``connect-src 'self'`` to the page's Content-Security-Policy, so the client can listen."""

    def widen(match: re.Match) -> str:
        directives = [part.strip() for part in match.group(2).split(";") if part.strip()]
        for index, directive in enumerate(directives):
            name, *sources = directive.split()
            if name.lower() == "connect-src":
                kept = [source for source in sources if source.lower() != "'none'"]
                directives[index] = " ".join([name, *kept, *([] if "'self'" in kept else ["'self'"])])
                break
        else:
            directives.append("connect-src 'self'")
        return match.group(1) + "; ".join(directives) + match.group(3)

    return CSP_META.sub(widen, html)


def inject_client(html: str, site_token: str) -> str:
    """Add the live-reload script before ``</body>`` (or at the end when there is none).

    The page's Content-Security-Policy already allows scripts from its own
    origin; it is widened to allow the event stream too, in served pages only.
    """
    html = allow_event_stream(html)
    tag = (
        f'<script src="{CLIENT_URL}" data-site="{site_token}" '
        f'data-events="{EVENTS_URL}"></script>\n'
    )
    index = html.lower().rfind("</body>")
    if index == -1:
        return html + tag
    return html[:index] + tag + html[index:]


def placeholder_page() -> str:
    """Return the page served while no build has succeeded yet; the overlay shows why."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Build failed</title></head><body>"
        "<p>No build has succeeded yet. The errors are listed in the terminal running serve.</p>"
        "</body></html>\n"
    )


# Watching -------------------------------------------------------------------


def watched_folders(paths) -> list[Path]:
    """Return the existing input folders to watch, plus the package's own code."""
    folders = [paths.content, paths.templates, paths.theme, paths.data, PACKAGE_DIR]
    present = []
    for folder in folders:
        if Path(folder).is_dir():
            present.append(Path(folder).resolve())
        else:
            log.warning("not watching %s: folder not found", folder)
    return present


def needs_restart(changed: Iterable[Path]) -> bool:
    """Return whether any changed file is Python code of the package."""
    return any(path.suffix == ".py" and path.resolve().is_relative_to(PACKAGE_DIR) for path in changed)


def start_watchers(paths, changes: "queue.Queue[set[Path]]", stop: threading.Event) -> list[threading.Thread]:
    """Start threads that put each batch of changed files into ``changes``."""
    config_file = (Path(paths.root) / CONFIG_FILE).resolve()
    jobs: list[tuple[list[Path], bool, Callable | None]] = [
        (watched_folders(paths), True, watchfiles.DefaultFilter()),
        # The project root is watched on its own without recursion, so that a
        # large .venv or site/ below it costs nothing.
        ([config_file.parent], False, lambda change, path: Path(path).name == CONFIG_FILE),
    ]
    threads = []
    for folders, recursive, watch_filter in jobs:
        thread = threading.Thread(
            target=_watch,
            args=(folders, recursive, watch_filter, changes, stop),
            name="essaygen-watch",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads


def _watch(folders, recursive, watch_filter, changes, stop) -> None:
    for batch in watchfiles.watch(
        *folders,
        watch_filter=watch_filter,
        recursive=recursive,
        step=WATCH_STEP_MS,
        stop_event=stop,
        raise_interrupt=False,
    ):
        changes.put({Path(path) for _, path in batch})


def check_package_imports() -> BuildError | None:
    """Import the package in a child process; return the error if the changed code does not load."""
    probe = "import essaygen.serve, essaygen.pipeline, essaygen.figures as f; f.load_registry()"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PACKAGE_DIR.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return None
    return BuildError(
        f"the changed essaygen code does not import:\n{result.stderr.strip()}",
        path=_last_traceback_file(result.stderr),
        hint="fix the error and save; the server restarts once the package imports",
    )


def _last_traceback_file(stderr: str) -> Path | None:
    files = [line.split('"')[1] for line in stderr.splitlines() if line.strip().startswith('File "')]
    return Path(files[-1]) if files else None


# The command ----------------------------------------------------------------


def serve(
    paths,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    restart_argv: list[str] | None = None,
) -> int:
    """Build, serve and rebuild on change until interrupted; return the exit code.

    ``restart_argv`` is the command line that starts this process again after
    a change to the package's Python code (the ``--port`` in use is appended).
    Without it the server logs that the author must restart it by hand.
    """
    if not is_loopback(host):
        log.warning("serving on %s makes the preview reachable from other machines", host)
    preview = LivePreview(paths, Path(tempfile.mkdtemp(prefix="essaygen-serve-")))
    try:
        server = PreviewServer((host, port), preview)
    except OSError as error:
        preview.close()
        log.error(
            "error: cannot listen on %s:%d: %s\n  hint: choose another port with --port N",
            host, port, error.strerror or error,
        )
        return 1

    port = server.server_address[1]
    server_thread = threading.Thread(target=server.serve_forever, name="essaygen-http", daemon=True)
    stop = threading.Event()
    previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
    restart = False
    # Everything after the socket is open runs inside this try, so Ctrl+C at
    # any moment stops the server cleanly and deletes the builds.
    try:
        preview.rebuild()
        server_thread.start()
        print(f"Serving http://{host}:{port}{base_path(preview.config)} (press Ctrl+C to stop)", flush=True)
        changes: queue.Queue[set[Path]] = queue.Queue()
        start_watchers(paths, changes, stop)
        restart = watch_loop(preview, changes, can_restart=restart_argv is not None)
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
        stop.set()
        preview.close()
        if server_thread.is_alive():
            server.shutdown()  # waits for serve_forever, so only once it runs
            server_thread.join()
        server.server_close()
    if restart and restart_argv is not None:
        argv = [*without_option(restart_argv, "--port"), "--port", str(port)]
        log.info("essaygen code changed: restarting")
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)
    return 0


def watch_loop(preview: LivePreview, changes: "queue.Queue[set[Path]]", *, can_restart: bool) -> bool:
    """Rebuild after each batch of changes; return True when the process must restart."""
    while True:
        batch = changes.get()
        while not changes.empty():  # changes made during the last build
            batch |= changes.get_nowait()
        names = ", ".join(sorted(_relative(path, preview.paths.root) for path in batch))
        log.info("changed: %s", names)
        if not needs_restart(batch):
            preview.rebuild()
            continue
        if not can_restart:
            log.warning("essaygen code changed: stop and start serve again to use it")
            continue
        error = check_package_imports()
        if error is None:
            return True
        log.error("%s", error)
        preview.publish_state(
            BuildState(preview.state.attempt + 1, preview.state.site_token, tuple(describe_build_error(error, preview.paths.root)))
        )


def without_option(argv: list[str], option: str) -> list[str]:
    """Return ``argv`` without ``option VALUE`` or ``option=VALUE``."""
    result = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            result.append(arg)
    return result


def is_loopback(host: str) -> bool:
    """Return whether ``host`` is this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
