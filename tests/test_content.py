"""Stage 1: loading Markdown sections, their front matter and directives."""

from __future__ import annotations

from pathlib import Path

import pytest

from essaygen.content import load_section, load_sections
from essaygen.errors import BuildError, BuildErrors


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sections_load_in_file_name_order(tmp_path):
    write(tmp_path, "02-second.md", '+++\ntitle = "Second"\n+++\nB\n')
    write(tmp_path, "01-first.md", '+++\ntitle = "First"\n+++\nA\n')
    write(tmp_path, "10-tenth.md", '+++\ntitle = "Tenth"\n+++\nC\n')

    sections = load_sections(tmp_path)

    assert [section.title for section in sections] == ["First", "Second", "Tenth"]


def test_front_matter_fields_and_default_id(tmp_path):
    path = write(tmp_path, "03-What_Quantisation Does.md", '+++\ntitle = "Q"\nkicker = "3"\n+++\n\nBody\n')

    section = load_section(path)

    assert section.id == "what-quantisation-does"
    assert section.kicker == "3"
    assert section.body == "\nBody\n"
    assert section.body_line == 5


def test_explicit_id_overrides_file_name(tmp_path):
    path = write(tmp_path, "01-x.md", '+++\ntitle = "X"\nid = "opening"\n+++\n')

    assert load_section(path).id == "opening"


def test_directives_have_line_numbers(tmp_path):
    text = '+++\ntitle = "X"\n+++\nIntro :num[fp16_8b_gb] here.\n\n::figure[quantisation]\n'
    path = write(tmp_path, "01-x.md", text)

    section = load_section(path)

    assert [(d.name, d.line) for d in section.figures] == [("quantisation", 6)]
    assert [(d.name, d.line) for d in section.values] == [("fp16_8b_gb", 4)]


def test_directives_inside_code_fences_are_ignored(tmp_path):
    text = '+++\ntitle = "X"\n+++\n```\n::figure[quantisation]\n:num[x]\n```\n'
    section = load_section(write(tmp_path, "01-x.md", text))

    assert section.figures == ()
    assert section.values == ()


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("No front matter\n", "missing front matter", 1),
        ('+++\ntitle = "X"\n', "front matter is not closed", 1),
        ('+++\nkicker = "1"\n+++\n', "section has no title", 1),
        ('+++\ntitle = ""\n+++\n', "section has no title", 1),
        ('+++\ntitle = "X"\ntitle "Y"\n+++\n', "malformed front matter", 3),
        ('+++\ntitle = "X"\ncolour = "red"\n+++\n', "unknown front matter key 'colour'", 3),
        ('+++\ntitle = "X"\nid = "Bad Id"\n+++\n', "invalid section id 'Bad Id'", 1),
        ('+++\ntitle = "X"\n+++\n\n::figure quantisation\n', "malformed directive '::figure quantisation'", 5),
        ('+++\ntitle = "X"\n+++\n::figure[Not A Name]\n', "invalid figure name 'Not A Name'", 4),
    ],
)
def test_bad_section_reports_file_line_and_value(tmp_path, text, message, line):
    path = write(tmp_path, "01-x.md", text)

    with pytest.raises(BuildError) as raised:
        load_section(path)

    assert message in raised.value.message
    assert raised.value.path == path
    assert raised.value.line == line
    assert raised.value.hint


def test_invalid_utf8_names_line_and_byte(tmp_path):
    path = tmp_path / "01-x.md"
    path.write_bytes(b'+++\ntitle = "X"\n+++\ncaf\xe9\n')

    with pytest.raises(BuildError, match=r"not valid UTF-8 \(byte 0xe9") as raised:
        load_section(path)

    assert raised.value.line == 4


def test_missing_and_empty_content_folder(tmp_path):
    with pytest.raises(BuildError, match="content folder not found"):
        load_sections(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError, match="content folder has no .md sections"):
        load_sections(tmp_path / "empty")


def test_duplicate_ids_and_other_errors_are_collected(tmp_path):
    write(tmp_path, "01-a.md", '+++\ntitle = "A"\nid = "same"\n+++\n')
    write(tmp_path, "02-b.md", '+++\ntitle = "B"\nid = "same"\n+++\n')
    write(tmp_path, "03-c.md", "no front matter\n")

    with pytest.raises(BuildErrors) as raised:
        load_sections(tmp_path)

    messages = [str(error) for error in raised.value.errors]
    assert len(messages) == 2
    assert any("03-c.md:1: missing front matter" in message for message in messages)
    assert any("02-b.md:1: duplicate section id 'same', already used by 01-a.md" in m for m in messages)
