"""The benchmark harness's own logic: the gzip server, byte accounting and statistics.

Nothing here times anything; the harness's numbers live in BENCHMARKS.md.
"""

from __future__ import annotations

import gzip
import http.client
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from pageload import blocking_time, percentile  # noqa: E402 (benchmarks/ is not a package)
from gzserve import BackgroundServer  # noqa: E402
from sizes import BEFORE_PAINT, LATER, NOT_LOADED, blocking_urls, site_sizes, totals  # noqa: E402

PAGE = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="assets/a.css">
<link rel="stylesheet" href="assets/print.css" media="print">
<script src="assets/blocking.js"></script>
<script src="assets/deferred.js" defer></script>
<script src="assets/module.js" type="module"></script>
</head><body><p>Text</p><script src="assets/late.js" async></script></body></html>
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    for name in ("a.css", "print.css", "blocking.js", "deferred.js", "module.js", "late.js"):
        (tmp_path / "assets" / name).write_text("/* filler */\n" * 200, encoding="utf-8")
    (tmp_path / "assets" / "picture.png").write_bytes(bytes(range(256)) * 4)
    return tmp_path


def fetch(url: str, encoding: str | None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding} if encoding else {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def raw_status(url: str, path: str) -> int:
    """GET ``path`` exactly as written (http.client does not normalise "..")."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port))
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_gzserve_compresses_text(site: Path):
    with BackgroundServer(site, "/essay/") as url:
        status, headers, body = fetch(url + "assets/a.css", "gzip, br")
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(body)
    assert gzip.decompress(body) == (site / "assets" / "a.css").read_bytes()


def test_gzserve_plain_without_accept_encoding(site: Path):
    with BackgroundServer(site, "/essay/") as url:
        status, headers, body = fetch(url, None)
    assert status == 200
    assert "Content-Encoding" not in headers
    assert body == (site / "index.html").read_bytes()


def test_gzserve_leaves_images_uncompressed(site: Path):
    with BackgroundServer(site, "/essay/") as url:
        _, headers, body = fetch(url + "assets/picture.png", "gzip")
    assert "Content-Encoding" not in headers
    assert body == (site / "assets" / "picture.png").read_bytes()


def test_gzserve_rejects_paths_outside_prefix_and_root(site: Path):
    with BackgroundServer(site, "/essay/") as url:
        origin = url.removesuffix("/essay/")
        assert fetch(origin + "/index.html", "gzip")[0] == 404
        assert raw_status(url, "/essay/../../etc/hostname") == 404
        assert fetch(url + "assets/missing.js", "gzip")[0] == 404
        status, headers, _ = fetch(origin + "/essay", "gzip")
    assert status in (200, 301)  # urllib follows the redirect to /essay/


def test_blocking_urls_follow_browser_rules():
    assert blocking_urls(PAGE) == ["assets/a.css", "assets/blocking.js"]


def test_site_sizes_split_by_phase(site: Path):
    base = "http://127.0.0.1:1/essay/"
    requested = [base, base + "assets/a.css", base + "assets/blocking.js", base + "assets/late.js"]
    sizes = {size.path: size for size in site_sizes(site, "index.html", base, requested)}

    assert sizes["index.html"].phase == BEFORE_PAINT
    assert sizes["assets/a.css"].phase == BEFORE_PAINT
    assert sizes["assets/blocking.js"].phase == BEFORE_PAINT
    assert sizes["assets/late.js"].phase == LATER
    assert sizes["assets/deferred.js"].phase == NOT_LOADED
    assert sizes["assets/a.css"].gzip < sizes["assets/a.css"].raw
    assert sizes["assets/picture.png"].gzip == sizes["assets/picture.png"].raw

    summary = totals(list(sizes.values()))
    assert summary[BEFORE_PAINT]["files"] == 3
    assert summary["page"]["raw"] == summary[BEFORE_PAINT]["raw"] + summary[LATER]["raw"]


def test_blocking_time_counts_after_first_paint():
    perf = {
        "fcp": 100.0,
        "longtasks": [
            {"start": 20.0, "duration": 200.0},  # 120 ms of it after FCP: counts 70
            {"start": 300.0, "duration": 40.0},  # short: counts 0
            {"start": 400.0, "duration": 150.0},  # counts 100
            {"start": 5000.0, "duration": 500.0},  # after the window: counts 0
        ],
    }
    assert blocking_time(perf, end_ms=1000.0) == pytest.approx(170.0)


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.5) == 50
    assert percentile([None, 3.0], 0.95) == 3.0
    assert percentile([], 0.5) is None
