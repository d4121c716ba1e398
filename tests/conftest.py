"""Shared fixtures: small project folders built from the real templates, theme and data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from browser import PageWatcher, chromium_context, serve_site, wait_for_figures
from essaygen import cli

REPO = Path(__file__).resolve().parent.parent

MINIMAL_SECTION = """+++
title = "Opening"
+++

Some text.
"""


class Project:
    """A throwaway project folder with the real templates, theme and data files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.content = root / "content"
        self.site = root / "site"
        for name in ("templates", "theme", "data"):
            shutil.copytree(REPO / name, root / name)
        self.content.mkdir()

    def write(self, name: str, text: str | bytes) -> Path:
        """Write a content file (a section such as ``01-opening.md``)."""
        path = self.content / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def build(self, *args: str) -> int:
        """Run the build command in-process and return its exit code; read messages with capsys."""
        return cli.main(["build", "--root", str(self.root), *args])


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Return every file under ``folder`` with its bytes, keyed by relative path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# Browser fixtures: the real essay is built once per test session into a
# temporary folder, served on 127.0.0.1 under a sub-path as on GitHub Pages,
# and opened in headless Chromium.

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """Build the real essay (content/, data/, templates/, theme/) once and return the site folder."""
    out = tmp_path_factory.mktemp("essay") / "site"
    code = cli.main(["build", "-q", "--root", str(REPO), "--out", str(out)])
    assert code == 0, "building the real essay failed; run `python build.py` to see why"
    return out


@pytest.fixture(scope="session")
def site_url(built_site: Path):
    with serve_site(built_site, "/essay/") as url:
        yield url


@pytest.fixture(scope="session")
def desktop_context():
    with chromium_context(viewport=DESKTOP) as context:
        yield context


@pytest.fixture
def essay_page(desktop_context, site_url):
    """The essay opened at desktop width with every figure rendered; fails on console errors."""
    page = desktop_context.new_page()
    watcher = PageWatcher(page, allowed_origin=site_url.split("/essay/")[0])
    page.goto(site_url)
    wait_for_figures(page)
    yield page
    page.close()
    watcher.assert_clean()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots that tests keep for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def model():
    """The model loaded from the repository's data files, once per test session."""
    from essaygen.model import load_model

    return load_model(REPO / "data")
