"""Shared fixtures: small project folders built from the real templates, theme and data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
