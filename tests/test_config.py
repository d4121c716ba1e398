"""essay.toml: defaults, valid settings and a table of rejected files with their exact messages."""

from __future__ import annotations

from dataclasses import fields

import pytest

from conftest import REPO
from essaygen.config import CONFIG_FILE, SiteConfig, load_config
from essaygen.errors import BuildError, BuildErrors


def write_config(tmp_path, text: str):
    (tmp_path / CONFIG_FILE).write_text(text, encoding="utf-8")
    return tmp_path / CONFIG_FILE


def test_missing_file_gives_defaults(tmp_path):
    assert load_config(tmp_path) == SiteConfig()


def test_defaults_are_documented():
    source = (REPO / "essaygen" / "config.py").read_text(encoding="utf-8")
    for field in fields(SiteConfig):
        declaration = f"    {field.name}: {field.type} = "
        assert declaration in source, field.name
        after = source.split(declaration, 1)[1].splitlines()
        assert after[1].strip().startswith('"""'), f"{field.name} has no docstring"


def test_real_essay_config():
    config = load_config(REPO)

    assert config.title == "Model Compression"
    assert config.language == "en-GB"
    assert config.description.endswith(".")
    assert config.description.count(". ") == 0  # one sentence


def test_every_setting_read(tmp_path):
    write_config(
        tmp_path,
        "[site]\n"
        'title = "An essay"\n'
        'description = "One sentence."\n'
        'author = "A. Author"\n'
        'language = "en"\n'
        'site_url = "https://user.github.io/repo/"\n'
        'base_path = "/repo/"\n',
    )

    assert load_config(tmp_path) == SiteConfig(
        title="An essay",
        description="One sentence.",
        author="A. Author",
        language="en",
        site_url="https://user.github.io/repo/",
        base_path="/repo/",
    )


# (case id, file text, [(line, message, hint)]) for each rejected file.
ERRORS = [
    (
        "unknown setting",
        '[site]\ntitle = "T"\ncolour = "red"\n',
        [(3, "unknown setting site.colour",
          "known settings: title, description, author, language, site_url, base_path")],
    ),
    (
        "unknown table",
        '[site]\ntitle = "T"\n\n[theme]\ndark = true\n',
        [(4, "unknown table or key 'theme'", "put every setting under [site]")],
    ),
    (
        "key outside the table",
        'title = "T"\n',
        [(1, "unknown table or key 'title'", "put every setting under [site]")],
    ),
    (
        "integer for a string",
        "[site]\ntitle = 42\n",
        [(2, "setting site.title must be a string, got integer 42", 'write it in quotes, such as title = "..."')],
    ),
    (
        "boolean for a string",
        "[site]\nauthor = true\n",
        [(2, "setting site.author must be a string, got boolean True", 'write it in quotes, such as author = "..."')],
    ),
    (
        "array for a string",
        '[site]\nlanguage = ["en-GB"]\n',
        [(2, "setting site.language must be a string, got array ['en-GB']",
          'write it in quotes, such as language = "..."')],
    ),
    (
        "site is not a table",
        'site = "Model Compression"\n',
        [(1, "'site' must be a table, got str 'Model Compression'",
          "write [site] on its own line and the settings below it")],
    ),
    (
        "empty title",
        '[site]\ntitle = "  "\n',
        [(2, "setting site.title is empty", 'give the essay a title, such as title = "Model Compression"')],
    ),
    (
        "language with underscore",
        '[site]\nlanguage = "en_GB"\n',
        [(2, "setting site.language is not a BCP 47 language tag: 'en_GB'", 'use a tag such as "en-GB" or "en"')],
    ),
    (
        "relative site url",
        '[site]\nsite_url = "user.github.io/repo/"\n',
        [(2, "setting site.site_url must be an absolute http(s) URL, got 'user.github.io/repo/'",
          'write the full address, such as site_url = "https://user.github.io/repo/"')],
    ),
    (
        "site url with fragment",
        '[site]\nsite_url = "https://example.org/#top"\n',
        [(2, "setting site.site_url must not have a query or fragment, got 'https://example.org/#top'",
          "remove the part from ? or # onwards")],
    ),
    (
        "base path without slashes",
        '[site]\nbase_path = "repo"\n',
        [(2, "setting site.base_path must start and end with /, got 'repo'",
          'write it like base_path = "/repo/", or "/" for a domain root')],
    ),
    (
        "several problems at once",
        '[site]\ntitle = 1\nauthor = 2\nlanguage = "english language"\n',
        [
            (2, "setting site.title must be a string, got integer 1", 'write it in quotes, such as title = "..."'),
            (3, "setting site.author must be a string, got integer 2", 'write it in quotes, such as author = "..."'),
            (4, "setting site.language is not a BCP 47 language tag: 'english language'",
             'use a tag such as "en-GB" or "en"'),
        ],
    ),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_config_error(tmp_path, text, expected):
    path = write_config(tmp_path, text)

    with pytest.raises(BuildError) as raised:
        load_config(tmp_path)

    errors = raised.value.errors if isinstance(raised.value, BuildErrors) else [raised.value]
    assert [(error.path, error.line, error.message, error.hint) for error in errors] == [
        (path, line, message, hint) for line, message, hint in expected
    ]


def test_invalid_toml_names_line(tmp_path):
    path = write_config(tmp_path, '[site]\ntitle = "T"\nauthor = \n')

    with pytest.raises(BuildError) as raised:
        load_config(tmp_path)

    assert raised.value.path == path
    assert raised.value.line == 3
    assert raised.value.message.startswith("invalid TOML: ")


def test_config_not_utf8(tmp_path):
    (tmp_path / CONFIG_FILE).write_bytes(b'[site]\ntitle = "Caf\xe9"\n')

    with pytest.raises(BuildError, match="file is not valid UTF-8"):
        load_config(tmp_path)


def test_build_reports_config_error(project, capsys):
    (project.root / CONFIG_FILE).write_text("[site]\ntitel = \"Typo\"\n", encoding="utf-8")
    project.write("01-opening.md", "+++\ntitle = \"Opening\"\n+++\n\nText.\n")

    assert project.build() == 1
    assert f"{project.root / CONFIG_FILE}:2: unknown setting site.titel" in capsys.readouterr().err
