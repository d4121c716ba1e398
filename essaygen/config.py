"""Site-wide settings, read from ``essay.toml`` at the project root.

Every setting, its type and its default is declared once in :class:`SiteConfig`.
Unknown keys and wrong types are rejected with the key and the expected type.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import BuildError, raise_collected

CONFIG_FILE = "essay.toml"


@dataclass(frozen=True)
class SiteConfig:
    """Settings of the published essay."""

    title: str = "Model Compression"
    """Page title, also used in sharing cards."""
    description: str = ""
    """One-sentence summary for search results and sharing cards."""
    author: str = ""
    """Author name shown in the byline and the page metadata."""
    language: str = "en-GB"
    """BCP 47 language tag of the prose, written to ``<html lang>``."""
    site_url: str = ""
    """Absolute URL where the site is published, such as https://user.github.io/repo/.
    Used only where a standard needs an absolute URL (canonical and Open Graph); empty omits them."""


def load_config(root: Path) -> SiteConfig:
    """Read ``essay.toml`` under ``root``; a missing file gives the defaults."""
    path = Path(root) / CONFIG_FILE
    if not path.exists():
        return SiteConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BuildError("file is not valid UTF-8", path=path, hint="save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise BuildError(f"invalid TOML: {error}", path=path, hint="fix the syntax on that line") from None
    return parse_config(raw, path)


def parse_config(raw: dict, path: Path) -> SiteConfig:
    """Check keys and types of the ``[site]`` table and build the config."""
    unknown_tables = sorted(set(raw) - {"site"})
    errors: list[BuildError] = [
        BuildError(f"unknown table or key {name!r}", path=path, hint="put settings under [site]")
        for name in unknown_tables
    ]
    site = raw.get("site", {})
    known = {field.name: field for field in fields(SiteConfig)}
    values: dict[str, object] = {}
    for key, value in site.items():
        if key not in known:
            errors.append(
                BuildError(
                    f"unknown setting site.{key}",
                    path=path,
                    hint=f"known settings: {', '.join(sorted(known))}",
                )
            )
            continue
        if not isinstance(value, str):
            errors.append(
                BuildError(
                    f"setting site.{key} must be a string, got {type(value).__name__} {value!r}",
                    path=path,
                    hint=f'write it in quotes, such as {key} = "..."',
                )
            )
            continue
        values[key] = value
    raise_collected(errors)
    return SiteConfig(**values)
