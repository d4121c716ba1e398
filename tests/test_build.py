"""The whole build: the real essay, bad input, reproducibility and the site folder's safety."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib
import pytest

from conftest import MINIMAL_SECTION, REPO, snapshot
from essaygen.figures import FIGURES, figure


def test_real_essay_builds_every_figure(built_site):
    html = (built_site / "index.html").read_text(encoding="utf-8")
    placed = {
        match.group(1)
        for path in sorted((REPO / "content").glob("*.md"))
        for match in re.finditer(r"^::figure\[([^\]]+)\]\s*$", path.read_text(encoding="utf-8"), re.M)
    }

    assert placed, "the essay places no figures"
    for name in placed:
        assert f'id="figure-{name}"' in html, name
        spec = FIGURES[name]
        if f'data-target="{name}-root"' not in html:
            # Figures without a Bokeh root are static HTML and say so in their element.
            assert 'class="figure-static"' in html, name
        assert spec.caption.split("<")[0].strip()[:20] in html


def local_references(document_path: Path) -> list[str]:
    """Return every src/href/srcset URL of one HTML file, parsed with a real HTML5 parser."""
    tree = html5lib.parse(document_path.read_bytes(), namespaceHTMLElements=False)
    urls = []
    for element in tree.iter():
        for attribute in ("src", "href"):
            value = element.get(attribute)
            if value:
                urls.append(value)
    return urls


def test_real_essay_assets_exist_and_urls_are_relative(built_site):
    for page in ("index.html", "404.html"):
        for url in local_references(built_site / page):
            parts = urlsplit(url)
            if parts.scheme in ("http", "https"):
                # Links to sources are fine; loaded resources never leave the site.
                continue
            assert not url.startswith("/"), f"{page}: root-absolute URL {url} breaks under a sub-path"
            if parts.scheme or not parts.path:
                continue
            target = built_site / unquote(parts.path)
            assert target.exists(), f"{page}: {url} does not exist in the site"


def test_real_essay_loads_nothing_from_other_hosts(built_site):
    tree = html5lib.parse((built_site / "index.html").read_bytes(), namespaceHTMLElements=False)
    for element in tree.iter():
        if element.tag in ("script", "img", "iframe", "source", "video", "audio"):
            src = element.get("src") or ""
            assert not urlsplit(src).scheme, f"<{element.tag} src={src}> loads from another host"
        if element.tag == "link" and element.get("rel") in ("stylesheet", "icon", "preload", "modulepreload"):
            href = element.get("href") or ""
            assert not urlsplit(href).scheme, f"<link href={href}> loads from another host"


def test_build_is_byte_identical_across_processes(tmp_path):
    outputs = []
    for run, seed in enumerate(("1", "2")):
        out = tmp_path / f"site{run}"
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "build.py", "-q", "--out", str(out)],
            cwd=REPO, env=environment, check=True,
        )
        outputs.append(snapshot(out))

    assert sorted(outputs[0]) == sorted(outputs[1])
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], f"{name} differs between two builds"


# Bad input: each case breaks a project that built once, then checks the exit
# code, the message and that the previous site is left exactly as it was.


def break_missing_content(project):
    for path in project.content.iterdir():
        path.unlink()
    project.content.rmdir()


def break_empty_content(project):
    for path in project.content.iterdir():
        path.unlink()


def break_no_title(project):
    project.write("02-second.md", '+++\nkicker = "2"\n+++\nText\n')


def break_malformed_header(project):
    project.write("02-second.md", '+++\ntitle = "Second\n+++\nText\n')


def break_unknown_figure(project):
    project.write("02-second.md", '+++\ntitle = "Second"\n+++\n\n::figure[no-such-figure]\n')


def break_duplicate_ids(project):
    project.write("02-second.md", '+++\ntitle = "Second"\nid = "opening"\n+++\nText\n')


def break_not_utf8(project):
    project.write("02-second.md", b'+++\ntitle = "Second"\n+++\nna\xefve\n')


def break_missing_template(project):
    (project.root / "templates" / "page.html").unlink()


def break_template_syntax(project):
    path = project.root / "templates" / "page.html"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(4, "{% if config.title %}")  # never closed
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def break_unknown_value(project):
    project.write("02-second.md", '+++\ntitle = "Second"\n+++\n\nIt needs :num[no_such_value].\n')


BAD_INPUT = [
    (break_missing_content, r"content: content folder not found\n  hint: create it"),
    (break_empty_content, r"content: content folder has no \.md sections"),
    (break_no_title, r"02-second\.md:1: section has no title"),
    (break_malformed_header, r"02-second\.md:2: malformed front matter: .*"),
    (break_unknown_figure, r"02-second\.md:5: unknown figure 'no-such-figure'\n  hint: known figures: .*quantisation"),
    (break_duplicate_ids, r"02-second\.md:1: duplicate section id 'opening', already used by 01-opening\.md"),
    (break_not_utf8, r"02-second\.md:4: file is not valid UTF-8 \(byte 0xef"),
    (break_missing_template, r"templates/page\.html: template 'page\.html' not found"),
    (break_template_syntax, r"templates/page\.html:\d+: template syntax error: .*'endif'"),
    (break_unknown_value, r"02-second\.md:5: unknown model value 'no_such_value' in :num\[\.\.\.\]\n  hint: known values: .*fp16_8b_gb"),
]


@pytest.mark.parametrize(("breaker", "expected"), BAD_INPUT, ids=lambda value: getattr(value, "__name__", ""))
def test_bad_input_fails_and_keeps_site(project, capsys, breaker, expected):
    project.write("01-opening.md", '+++\ntitle = "Opening"\n+++\n\nText :num[fp16_8b_gb].\n')
    project.write("02-second.md", '+++\ntitle = "Second"\n+++\nMore text.\n')
    assert project.build("-q") == 0
    before = snapshot(project.site)
    capsys.readouterr()

    breaker(project)
    code = project.build()
    error = capsys.readouterr().err

    assert code == 1
    assert re.search(expected, error), error
    assert "Traceback" not in error
    assert "site was left unchanged" in error or "was left unchanged" in error
    assert snapshot(project.site) == before
    leftovers = [path.name for path in project.root.iterdir() if path.name.startswith(".site-")]
    assert leftovers == []


@pytest.fixture
def raising_figure():
    @figure("test-raises", caption="Raises.", summary="A figure that raises.")
    def raises(model):
        raise ZeroDivisionError("division by zero in the test figure")

    yield "test-raises"
    del FIGURES["test-raises"]


def test_figure_error_names_figure_and_section(project, capsys, raising_figure):
    project.write("01-opening.md", MINIMAL_SECTION)
    assert project.build("-q") == 0
    before = snapshot(project.site)
    project.write("02-broken.md", '+++\ntitle = "Broken"\n+++\n\nIntro.\n\n::figure[test-raises]\n')
    capsys.readouterr()

    code = project.build()
    error = capsys.readouterr().err

    assert code == 1
    assert "02-broken.md:7: figure 'test-raises' failed: ZeroDivisionError: division by zero" in error
    assert "Traceback" not in error
    assert snapshot(project.site) == before


def test_figure_error_traceback_with_verbose(project, capsys, raising_figure):
    project.write("01-opening.md", '+++\ntitle = "Broken"\n+++\n\n::figure[test-raises]\n')

    assert project.build("-v") == 1
    assert "Traceback" in capsys.readouterr().err


def test_figure_placed_twice_is_an_error(project, capsys):
    project.write("01-opening.md", '+++\ntitle = "A"\n+++\n\n::figure[quantisation]\n\n::figure[quantisation]\n')

    assert project.build() == 1
    error = capsys.readouterr().err
    assert "01-opening.md:7: figure 'quantisation' is placed twice; it was first placed at" in error
    assert "01-opening.md:5" in error


def test_unwritable_output_folder(project, capsys, tmp_path):
    project.write("01-opening.md", MINIMAL_SECTION)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    assert project.build("--out", str(blocker / "site")) == 1
    error = capsys.readouterr().err
    assert f"{blocker / 'site'}: cannot write the output folder" in error
    assert blocker.read_text() == "not a folder"


def test_errors_in_several_files_are_reported_together(project, capsys):
    project.write("01-a.md", "no front matter\n")
    project.write("02-b.md", '+++\ntitle = ""\n+++\n')

    assert project.build() == 1
    error = capsys.readouterr().err
    assert "01-a.md:1: missing front matter" in error
    assert "02-b.md:1: section has no title" in error


def test_author_html_passes_through_and_values_are_escaped(project):
    project.write("01-opening.md", '+++\ntitle = "A"\n+++\n\n<aside class="note">Raw <em>HTML</em></aside>\n\nIt is :num[fp16_8b_gb].\n')

    assert project.build("-q") == 0
    html = (project.site / "index.html").read_text(encoding="utf-8")
    assert '<aside class="note">Raw <em>HTML</em></aside>' in html
    assert '<span class="model-value" data-key="fp16_8b_gb">16 GB</span>' in html


def test_progress_lines_per_stage(project, capsys):
    project.write("01-opening.md", MINIMAL_SECTION)

    assert project.build() == 0
    error = capsys.readouterr().err
    for stage in ("load content", "compute the model", "build figures", "render pages", "write site"):
        assert re.search(rf"^{stage} +.*\(\d+ ms\)$", error, re.M), stage
    assert re.search(r"^built .* in \d+\.\d\d s$", error, re.M)


def test_quiet_build_prints_nothing(project, capsys):
    project.write("01-opening.md", MINIMAL_SECTION)

    assert project.build("-q") == 0
    assert capsys.readouterr().err == ""


def test_page_ships_only_the_styles_of_placed_figures(project, monkeypatch):
    monkeypatch.setenv("ESSAYGEN_SNAPSHOTS", "0")

    def stylesheet() -> str:
        html = (project.site / "index.html").read_text(encoding="utf-8")
        return re.search(r"<style>(.*?)</style>", html, re.S).group(1)

    project.write("01-opening.md", '+++\ntitle = "Opening"\n+++\nText.\n')
    assert project.build("-q") == 0
    without = stylesheet()
    assert ".essay-figure" in without
    assert ".fm-umbrella" not in without

    project.write("01-opening.md", '+++\ntitle = "Opening"\n+++\nText.\n\n::figure[family-map]\n')
    assert project.build("-q") == 0
    assert ".fm-umbrella" in stylesheet()
    assert ".composer-link" not in stylesheet()
