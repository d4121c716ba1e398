"""The check command: one broken fixture per finding, and a clean twin that passes."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from conftest import REPO
from essaygen.check import Finding, check_project, normalise_url, scan_footnotes
from essaygen.pipeline import ProjectPaths

BUILT_SUFFIX = re.compile(r" \(built index\.html, line \d+(, column \d+)?\)$")
GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACw="

REFERENCES = """+++
title = "References"
id = "references"
+++

- [GPTQ](https://arxiv.org/abs/2210.17323)
"""


def section(body: str, title: str = "Opening", section_id: str = "opening") -> str:
    return f'+++\ntitle = "{title}"\nid = "{section_id}"\n+++\n\n{body}\n'


def findings_for(project, body: str) -> list[Finding]:
    """Check a project whose opening section has ``body`` (it starts on line 6) and a references section."""
    project.write("01-opening.md", section(body))
    project.write("99-references.md", REFERENCES)
    return check_project(ProjectPaths.under(project.root))


# Each case: (name, broken body, clean body, expected finding in the broken one).
# Line 6 is the first body line of the section.
CASES = [
    (
        "broken anchor",
        "See [the end](#nowhere).",
        "See [the end](#references).",
        Finding("content/01-opening.md", 6, "broken link '#nowhere': no element has id=\"nowhere\"",
                "link to a section id such as #quantisation, or to a file in the site"),
    ),
    (
        "broken file link",
        "Read [the notes](notes.html).",
        "Read [the missing page](404.html).",
        Finding("content/01-opening.md", 6, "broken link 'notes.html': notes.html is not in the site",
                "link to a section id such as #quantisation, or to a file in the site"),
    ),
    (
        "anchor on another page",
        "Back to [the start](index.html#missing-heading).",
        "Back to [the start](index.html#opening).",
        Finding("content/01-opening.md", 6,
                "broken link 'index.html#missing-heading': no element has id=\"missing-heading\"",
                "link to a section id such as #quantisation, or to a file in the site"),
    ),
    (
        "aria id reference",
        '<p aria-describedby="nobody">Text.</p>',
        '<p aria-describedby="opening-title">Text.</p>',
        Finding("content/01-opening.md", 6, "aria-describedby='nobody' on <p> names no element in index.html",
                'give the target element id="nobody", or fix the id'),
    ),
    (
        "unused footnote",
        "Plain text.\n\n[^spare]: Never cited.",
        "Cited.[^spare]\n\n[^spare]: Now cited.",
        Finding("content/01-opening.md", 8, "footnote [^spare] is defined but never used",
                "cite it in the text with [^spare], or delete the definition"),
    ),
    (
        "undefined footnote",
        "A claim.[^ghost]",
        "A claim.[^ghost]\n\n[^ghost]: Its source.",
        Finding("content/01-opening.md", 6, "footnote [^ghost] is used but not defined",
                "add a line [^ghost]: ... below the paragraph"),
    ),
    (
        "image without alt",
        f"![]({GIF})",
        f"![A single grey pixel]({GIF})",
        Finding("content/01-opening.md", 6, f"image {GIF!r} has no alt text",
                "describe the image in the brackets: ![what it shows](file.png)"),
    ),
    (
        "figure without caption",
        f'<figure><img src="{GIF}" alt="A pixel"></figure>',
        f'<figure><img src="{GIF}" alt="A pixel"><figcaption>One pixel.</figcaption></figure>',
        Finding("content/01-opening.md", 6, "figure has no caption",
                "add a <figcaption> with one sentence saying what the figure shows"),
    ),
    (
        "unlisted external link",
        "As [AWQ](https://arxiv.org/abs/2306.00978) shows.",
        "As [GPTQ](http://arxiv.org/abs/2210.17323/) shows.",
        Finding("content/01-opening.md", 6,
                "external link https://arxiv.org/abs/2306.00978 is not listed in the references section",
                "add it to the list in 99-references.md"),
    ),
    (
        "html that does not parse",
        "<div><p>Open paragraph</div></p>",
        "<div><p>Closed paragraph</p></div>",
        Finding("content/01-opening.md", 6,
                "HTML does not parse: Unexpected end tag (p). Ignored.",
                "close every element you open, in order, and quote attribute values"),
    ),
    (
        "asset from another host",
        '<img src="https://cdn.example.org/chart.png" alt="A chart">',
        f'<img src="{GIF}" alt="A chart">',
        Finding("content/01-opening.md", 6, "<img> fetches https://cdn.example.org/chart.png from another host",
                "copy the file into theme/ so the site serves it itself"),
    ),
]


@pytest.mark.parametrize("broken, clean, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_check_finding(project, broken, clean, expected):
    found = findings_for(project, broken)

    # Where the built page puts a line depends on the templates, so that suffix is not compared.
    assert [replace(finding, message=BUILT_SUFFIX.sub("", finding.message)) for finding in found] == [expected]
    assert findings_for(project, clean) == []


def test_check_clean_project_has_no_findings(project):
    assert findings_for(project, "Text with a [link](#references) and a note.[^n]\n\n[^n]: The note.") == []


def test_check_reports_all_at_once(project):
    body = "See [x](#nowhere).\n\n![](" + GIF + ")\n\nA claim.[^ghost]"
    found = findings_for(project, body)

    assert [(finding.line, finding.message.split(":")[0]) for finding in found] == [
        (6, "broken link '#nowhere'"),
        (8, f"image {GIF!r} has no alt text".split(":")[0]),
        (10, "footnote [^ghost] is used but not defined"),
    ]


def test_check_stylesheet_foreign_import(project):
    css = project.root / "theme" / "essay.css"
    lines = css.read_text(encoding="utf-8").splitlines()
    lines.append('@import "https://fonts.example.org/css?family=Serif";')
    css.write_text("\n".join(lines) + "\n", encoding="utf-8")

    found = findings_for(project, "Text.")

    assert found == [
        Finding("theme/essay.css", len(lines), "stylesheet fetches https://fonts.example.org/css?family=Serif "
                "from another host", "copy the file into theme/ and refer to it with a relative url()")
    ]


def test_check_figure_missing_summary(project):
    template = project.root / "templates" / "figure.html"
    text = template.read_text(encoding="utf-8")
    assert '<span class="figure-summary">' in text
    template.write_text(text.replace('class="figure-summary"', 'class="summary-removed"'), encoding="utf-8")

    found = findings_for(project, "Intro.\n\n::figure[family-map]")

    assert found == [
        Finding("content/01-opening.md", 8, "figure 'family-map' has no summary",
                'templates/figure.html must show figure.spec.summary in an element with class="figure-summary"')
    ]


def test_check_build_error_is_a_finding(project):
    found = findings_for(project, "::figure[no-such-figure]")

    assert len(found) == 1
    assert found[0].path == "content/01-opening.md"
    assert found[0].line == 6
    assert found[0].message == "unknown figure 'no-such-figure'"


def test_check_command_exit_codes_and_output(project, capsys):
    from essaygen import cli

    project.write("01-opening.md", section("See [x](#nowhere)."))
    project.write("99-references.md", REFERENCES)
    assert cli.main(["check", "-q", "--root", str(project.root)]) == 1
    err = capsys.readouterr().err
    assert "content/01-opening.md:6: broken link '#nowhere'" in err
    assert "check found 1 problem in 1 file" in err

    project.write("01-opening.md", section("See [x](#references)."))
    assert cli.main(["check", "--root", str(project.root)]) == 0
    assert "check passed: no problems found" in capsys.readouterr().err


def test_check_leaves_site_folder_alone(project):
    findings_for(project, "Text.")

    assert not project.site.exists()


def test_footnote_scan_ignores_code():
    body = "```\n[^in-fence]\n```\nInline `[^in-code]` and real[^real].\n\n[^real]: Defined."

    definitions, references = scan_footnotes(body, first_line=1)

    assert definitions == {"real": 6}
    assert references == {"real": [4]}


@pytest.mark.parametrize(
    "first, second",
    [
        ("https://arxiv.org/abs/1", "http://arxiv.org/abs/1/"),
        ("https://ArXiv.org/abs/1#section-2", "https://arxiv.org/abs/1"),
    ],
)
def test_normalise_url_equal_spellings(first, second):
    assert normalise_url(first) == normalise_url(second)


def test_normalise_url_keeps_query():
    assert normalise_url("https://example.org/page?id=1") != normalise_url("https://example.org/page?id=2")


def test_real_essay_passes_check():
    assert check_project(ProjectPaths.under(REPO)) == []
