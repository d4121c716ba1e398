"""Stage 4: Markdown rendering with figures, values, footnotes and heading anchors."""

from __future__ import annotations

from pathlib import Path

from essaygen.content import load_section
from essaygen.render import PageState, render_markdown


def section_from(tmp_path: Path, name: str, body: str, section_id: str):
    path = tmp_path / name
    path.write_text(f'+++\ntitle = "T"\nid = "{section_id}"\n+++\n{body}', encoding="utf-8")
    return load_section(path)


def render(section, state=None, values=None):
    return str(
        render_markdown(
            section,
            render_figure=lambda name: f'<figure id="figure-{name}"></figure>',
            values=values or {"gb": "16 GB"},
            state=state if state is not None else PageState(used_ids=set()),
        )
    )


def test_footnote_ids_are_unique_across_sections(tmp_path):
    first = section_from(tmp_path, "01.md", "A[^1].\n\n[^1]: One.\n", "first")
    second = section_from(tmp_path, "02.md", "B[^1].\n\n[^1]: Two.\n", "second")

    state = PageState(used_ids=set())
    html = render(first, state) + render(second, state)

    assert 'id="fn-first-1"' in html
    assert 'id="fn-second-1"' in html
    assert 'href="#fn-second-1"' in html


def test_footnote_numbers_continue_across_sections(tmp_path):
    first = section_from(tmp_path, "01.md", "A[^a] and B[^b].\n\n[^a]: One.\n[^b]: Two.\n", "first")
    second = section_from(tmp_path, "02.md", "C[^c].\n\n[^c]: Three.\n", "second")
    state = PageState(used_ids=set())

    html = render(first, state) + render(second, state)

    assert '<a class="footnote-ref" href="#fn-first-b">2</a>' in html
    assert '<a class="footnote-ref" href="#fn-second-c">3</a>' in html
    assert '<ol start="3">' in html
    assert state.footnotes == 3


def test_heading_ids_are_unique_across_the_page(tmp_path):
    state = PageState(used_ids={"first", "second"})
    first = section_from(tmp_path, "01.md", "### Method\n", "first")
    second = section_from(tmp_path, "02.md", "### Method\n\n### First\n", "second")

    html = render(first, state) + render(second, state)

    assert '<h3 id="method">' in html
    assert '<h3 id="method-2">' in html
    assert '<h3 id="first-2">' in html


def test_figure_directive_becomes_block_html(tmp_path):
    section = section_from(tmp_path, "01.md", "Before.\n::figure[quantisation]\nAfter.\n", "s")

    html = render(section)

    assert '<figure id="figure-quantisation"></figure>' in html
    assert "<p><figure" not in html


def test_directive_inside_code_block_stays_literal(tmp_path):
    section = section_from(tmp_path, "01.md", "```\n::figure[quantisation]\n:num[gb]\n```\n", "s")

    html = render(section)

    assert "::figure[quantisation]" in html
    assert ":num[gb]" in html


def test_num_value_is_escaped_text(tmp_path):
    section = section_from(tmp_path, "01.md", "It is :num[gb], really.\n", "s")

    html = render(section, values={"gb": "<b>16 GB</b>"})

    assert '<span class="model-value" data-key="gb">&lt;b&gt;16 GB&lt;/b&gt;</span>' in html


def test_typography_tables_and_attributes(tmp_path):
    body = 'A "quote" -- and --- dashes.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nPara.\n{: .lead }\n'
    section = section_from(tmp_path, "01.md", body, "s")

    html = render(section)

    assert "&ldquo;quote&rdquo;" in html
    assert "&ndash;" in html
    assert "&mdash;" in html
    assert "<table>" in html
    assert '<p class="lead">Para.</p>' in html


def test_markdown_inside_html_blocks(tmp_path):
    section = section_from(tmp_path, "01.md", '<div class="card" markdown="1">\n**Bold**\n</div>\n', "s")

    assert "<strong>Bold</strong>" in render(section)
