"""Serve a static site on 127.0.0.1 with gzip, under a sub-path, the way GitHub Pages does.

GitHub Pages compresses text responses (HTML, CSS, JavaScript, JSON, SVG) with
gzip when the browser sends ``Accept-Encoding: gzip``, serves a site under
``/<repository>/``, and sends ``Cache-Control: max-age=600``. This server does
the same so that byte counts and load timings match what a reader gets. The
compression level GitHub uses is not published; level 6 (zlib's default) is
an estimate.

Run it on its own with ``python benchmarks/gzserve.py SITE_DIR --prefix /essay/``;
it prints the base URL on its first line of output and serves until killed.
"""

from __future__ import annotations

import argparse
import gzip
import mimetypes
import sys
import threading
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

GZIP_LEVEL = 6
COMPRESSED_TYPES = {
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
    "text/plain",
    "text/xml",
    "application/xml",
}
CACHE_CONTROL = "max-age=600"


def content_type(path: Path) -> str:
    """Return the MIME type GitHub Pages would send for ``path``."""
    if path.suffix == ".js" or path.suffix == ".mjs":
        return "application/javascript"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def is_compressed(path: Path) -> bool:
    """Return True when the server sends ``path`` gzip-compressed."""
    return content_type(path) in COMPRESSED_TYPES


@lru_cache(maxsize=512)
def gzip_bytes(path: Path, mtime_ns: int) -> bytes:
    """Return ``path`` compressed at GZIP_LEVEL; ``mtime_ns`` keys the cache to the file's version."""
    return gzip.compress(path.read_bytes(), compresslevel=GZIP_LEVEL, mtime=0)


class GzipSiteHandler(BaseHTTPRequestHandler):
    """Serves files from ``root`` under ``prefix``; every other path is a 404."""

    protocol_version = "HTTP/1.1"
    root = Path(".")
    prefix = "/"

    def do_HEAD(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        self.respond(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self.respond(send_body=True)

    def respond(self, send_body: bool) -> None:
        route = unquote(urlsplit(self.path).path)
        if route + "/" == self.prefix:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", self.prefix)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self.resolve(route)
        if path is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if accepts_gzip and is_compressed(path):
            body = gzip_bytes(path, path.stat().st_mtime_ns)
            encoding = "gzip"
        else:
            body = path.read_bytes()
            encoding = None
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type(path))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", CACHE_CONTROL)
        self.send_header("Vary", "Accept-Encoding")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def resolve(self, route: str) -> Path | None:
        """Map a URL path to a file under ``root``, or None when there is none."""
        if not route.startswith(self.prefix):
            return None
        relative = route[len(self.prefix):]
        candidate = (self.root / relative).resolve()
        if self.root.resolve() not in (candidate, *candidate.parents):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


def make_server(root: Path, prefix: str = "/", port: int = 0) -> ThreadingHTTPServer:
    """Create (but do not start) a server for ``root`` at ``prefix`` on 127.0.0.1."""
    if not prefix.endswith("/"):
        prefix += "/"
    handler = type("Handler", (GzipSiteHandler,), {"root": Path(root), "prefix": prefix})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server


def base_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}{server.RequestHandlerClass.prefix}"


class BackgroundServer:
    """A server in a daemon thread of this process, for quick byte checks."""

    def __init__(self, root: Path, prefix: str = "/") -> None:
        self.server = make_server(root, prefix)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return base_url(self.server)

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a static site with gzip on 127.0.0.1.")
    parser.add_argument("root", type=Path, help="folder to serve")
    parser.add_argument("--prefix", default="/", help="URL path the site lives under (default: /)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"error: {args.root} is not a folder; pass the built site folder", file=sys.stderr)
        return 2
    server = make_server(args.root, args.prefix, args.port)
    print(base_url(server), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
