"""The README's two set-up commands stay the commands that CI runs."""

from __future__ import annotations

import re

from conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text, re.S)


def test_readme_has_exactly_two_commands():
    commands = readme_commands()

    assert len(commands) == 2
    assert commands[0].endswith("build.py")
    assert commands[1].endswith("-m pytest")


def test_readme_commands_start_from_plain_python3():
    # python3.12 and the like are missing or pyenv shims on some machines; the
    # virtual environment's own python is always there once created.
    for command in readme_commands():
        system_pythons = re.findall(r"(?<!bin/)\bpython[\d.]*\b", command)
        assert system_pythons == ["python3"], command


def test_ci_runs_the_readme_test_command():
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()

    assert readme_commands()[1] in ci_lines
