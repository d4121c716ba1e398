"""Site-wide settings, read from the ``[site]`` table of ``essay.toml`` at the project root.

Every setting, its type and its default is declared once in :class:`SiteConfig`,
with a docstring under each field. A missing file gives the defaults. Unknown
keys, wrong types and invalid values are all collected and reported together,
each with the file, the line, the key and the expected type or form::

    [site]
    title = "Model Compression"
    description = "How quantisation, pruning, distillation and low-rank factorisation shrink models."
    language = "en-GB"
    site_url = "https://example.github.io/essay/"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from .errors import BuildError, raise_collected

CONFIG_FILE = "essay.toml"
TABLE = "site"

# BCP 47 in the simple form essays use: a language, then optional script,
# region or variant subtags, such as en, en-GB or sr-Latn-RS.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class SiteConfig:
    """Settings of the published essay."""

    title: str = "Model Compression"
    """Page title, also used in sharing cards. Must not be empty."""
    description: str = ""
    """One-sentence summary for search results and sharing cards. Empty uses the opening section's."""
    author: str = ""
    """Author name shown in the byline and the page metadata. Empty omits both."""
    language: str = "en-GB"
    """BCP 47 language tag of the prose, written to ``<html lang>``, such as en-GB."""
    site_url: str = ""
    """Absolute http(s) URL where the site is published, such as https://user.github.io/repo/.
    Used only where a standard needs an absolute URL (canonical and Open Graph). Empty omits them."""
    base_path: str = ""
    """URL path the site is published under, starting and ending with /, such as /repo/.
    Empty means the path of ``site_url``, or / without one. Built pages use relative URLs
    and work under any path, and ``serve`` serves the preview under this path to match publishing."""

    @property
    def resolved_base_path(self) -> str:
        """Return ``base_path``, or else the path of ``site_url``, or else ``/``."""
        if self.base_path:
            return self.base_path
        if self.site_url:
            path = urlsplit(self.site_url).path or "/"
            return path if path.endswith("/") else path + "/"
        return "/"


def load_config(root: Path) -> SiteConfig:
    """Read ``essay.toml`` under ``root``. A missing file gives the defaults."""
    path = Path(root) / CONFIG_FILE
    if not path.exists():
        return SiteConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BuildError("file is not valid UTF-8", path=path, hint="save it as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        raise BuildError(
            f"invalid TOML: {error}",
            path=path,
            line=int(found.group(1)) if found else None,
            hint='fix the syntax on that line; a setting looks like title = "Model Compression"',
        ) from None
    return parse_config(raw, path, text)


def parse_config(raw: dict, path: Path, text: str = "") -> SiteConfig:
    """Check the keys, types and values of the ``[site]`` table and build the config.

    ``text`` is the file's source, used only to find the line of each problem.
    """
    lines = text.splitlines()
    errors: list[BuildError] = [
        BuildError(
            f"unknown table or key {name!r}",
            path=path,
            line=_line_of_table(lines, name) or _line_of_key(lines, None, name),
            hint=f"put every setting under [{TABLE}]",
        )
        for name in sorted(set(raw) - {TABLE})
    ]
    site = raw.get(TABLE, {})
    if not isinstance(site, dict):
        errors.append(
            BuildError(
                f"{TABLE!r} must be a table, got {type(site).__name__} {site!r}",
                path=path,
                line=_line_of_key(lines, None, TABLE),
                hint=f"write [{TABLE}] on its own line and the settings below it",
            )
        )
        site = {}

    known = {field.name: field for field in fields(SiteConfig)}
    values: dict[str, str] = {}
    for key, value in site.items():
        line = _line_of_key(lines, TABLE, key)
        if key not in known:
            errors.append(
                BuildError(
                    f"unknown setting {TABLE}.{key}",
                    path=path,
                    line=line,
                    hint=f"known settings: {', '.join(known)}",
                )
            )
        elif not isinstance(value, str):
            errors.append(
                BuildError(
                    f"setting {TABLE}.{key} must be a string, got {_toml_type(value)} {value!r}",
                    path=path,
                    line=line,
                    hint=f'write it in quotes, such as {key} = "..."',
                )
            )
        else:
            problem = validate_value(key, value)
            if problem:
                message, hint = problem
                errors.append(BuildError(message, path=path, line=line, hint=hint))
            else:
                values[key] = value
    raise_collected(errors)
    return SiteConfig(**values)


def validate_value(key: str, value: str) -> tuple[str, str] | None:
    """Return (message, hint) when ``value`` is not valid for the setting ``key``, else None."""
    setting = f"{TABLE}.{key}"
    if key == "title" and not value.strip():
        return f"setting {setting} is empty", 'give the essay a title, such as title = "Model Compression"'
    if key == "language" and not LANGUAGE_TAG.match(value):
        return (
            f"setting {setting} is not a BCP 47 language tag: {value!r}",
            'use a tag such as "en-GB" or "en"',
        )
    if key == "site_url" and value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return (
                f"setting {setting} must be an absolute http(s) URL, got {value!r}",
                'write the full address, such as site_url = "https://user.github.io/repo/"',
            )
        if parts.query or parts.fragment:
            return (
                f"setting {setting} must not have a query or fragment, got {value!r}",
                "remove the part from ? or # onwards",
            )
    if key == "base_path" and value and not (value.startswith("/") and value.endswith("/")):
        return (
            f"setting {setting} must start and end with /, got {value!r}",
            'write it like base_path = "/repo/", or "/" for a domain root',
        )
    return None


def _toml_type(value: object) -> str:
    """Name the TOML type of a parsed value, as the author wrote it."""
    names = {bool: "boolean", int: "integer", float: "float", list: "array", dict: "table"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), type(value).__name__)


def _line_of_table(lines: list[str], table: str) -> int | None:
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
    return next((number for number, line in enumerate(lines, 1) if header.match(line)), None)


def _line_of_key(lines: list[str], table: str | None, key: str) -> int | None:
    """Return the line of ``key = ...`` inside ``[table]`` (or before any table when None)."""
    assignment = re.compile(rf'^\s*("?){re.escape(key)}\1\s*=')
    current: str | None = None
    for number, line in enumerate(lines, 1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1)
        elif current == table and assignment.match(line):
            return number
    return None
