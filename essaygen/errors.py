"""Errors that the build reports to the author without a traceback.

Every error carries where it happened (file and, where known, line), the value at
fault and what to do about it, so that the command line can print one readable
line per problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable


class BuildError(Exception):
    """A problem in the author's input or environment that stops the build."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.hint = hint

    def location(self) -> str:
        """Return "path:line" (or just the path) for the start of the message."""
        if self.path is None:
            return ""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
        return where

    def __str__(self) -> str:
        text = self.message
        where = self.location()
        if where:
            text = f"{where}: {text}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class DataError(BuildError):
    """An invalid data file: a missing column, a bad value or a row without a source."""


class BuildErrors(BuildError):
    """Several problems found in one stage, reported together."""

    def __init__(self, errors: Iterable[BuildError]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found")

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


def raise_collected(errors: list[BuildError]) -> None:
    """Raise the collected errors: one as itself, several as BuildErrors."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BuildErrors(errors)
