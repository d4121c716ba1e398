"""docs/authoring.md: the walkthrough's code, copied into a fresh checkout, builds and passes check."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

DOC = REPO / "docs" / "authoring.md"
# A walkthrough file is an HTML comment naming its path, then a fenced code block.
WALKTHROUGH_BLOCK = re.compile(r"<!-- walkthrough: (?P<path>\S+) -->\n```[a-z]*\n(?P<code>.*?)\n```\n", re.S)
PROJECT_INPUTS = ("content", "data", "templates", "theme", "essay.toml")


def walkthrough_files() -> dict[str, str]:
    """Return the walkthrough's files from the doc, keyed by their path in the repository."""
    return {
        match.group("path"): match.group("code") + "\n"
        for match in WALKTHROUGH_BLOCK.finditer(DOC.read_text(encoding="utf-8"))
    }


def test_walkthrough_names_a_figure_and_a_section():
    files = walkthrough_files()

    assert sorted(files) == ["content/05a-weight-budget.md", "essaygen/figures/weight_budget.py"]
    assert "::figure[weight-budget]" in files["content/05a-weight-budget.md"]
    assert '"weight-budget"' in files["essaygen/figures/weight_budget.py"]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the repository's package and project inputs with the walkthrough's files added."""
    root = tmp_path_factory.mktemp("authoring") / "checkout"
    shutil.copytree(REPO / "essaygen", root / "essaygen", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "build.py", root / "build.py")
    for name in PROJECT_INPUTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    for relative, code in walkthrough_files().items():
        target = root / relative
        assert not target.exists(), f"the walkthrough would overwrite {relative}"
        target.write_text(code, encoding="utf-8")
    return root


def run(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``build.py`` in the checkout, as an author does, with the checkout's package."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return subprocess.run(
        [sys.executable, "build.py", *args], cwd=checkout, env=env, capture_output=True, text=True, check=False,
    )


def test_walkthrough_builds(checkout):
    result = run(checkout, "-q")

    assert result.returncode == 0, result.stderr
    html = (checkout / "site" / "index.html").read_text(encoding="utf-8")
    assert 'id="figure-weight-budget"' in html
    assert re.search(r'<section [^>]*id="weight-budget"', html)
    assert '<output id="weight-budget-int4">4.0 GB</output>' in html
    assert '<output id="weight-budget-fp16">16.0 GB</output>' in html
    assert html.index('id="weight-budget"') < html.index('id="composer"')  # 05a sorts before 06


def test_walkthrough_passes_check(checkout):
    result = run(checkout, "check", "-q")

    assert result.returncode == 0, result.stderr


@pytest.mark.browser
def test_walkthrough_slider_updates_readouts(checkout):
    from browser import PageWatcher, chromium_context, serve_site

    assert run(checkout, "-q").returncode == 0
    with serve_site(checkout / "site", "/essay/") as url, chromium_context(viewport={"width": 1280, "height": 900}) as context:
        page = context.new_page()
        watcher = PageWatcher(page, allowed_origin=url.split("/essay/")[0])
        page.goto(url + "#weight-budget")
        page.evaluate("() => window.essay.embedAll()")
        page.wait_for_function(
            "() => document.querySelector('script.bokeh-item[data-target=\"weight-budget-root\"]').dataset.state === 'ready'"
        )
        handle = page.locator("#figure-weight-budget .noUi-handle")
        handle.focus()
        page.keyboard.press("End")  # 70 billion parameters

        page.wait_for_function("() => document.getElementById('weight-budget-int4').textContent === '35.0 GB'")
        assert page.locator("#weight-budget-fp16").text_content() == "140.0 GB"
        page.close()
        watcher.assert_clean()
