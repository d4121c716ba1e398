"""Read and validate the model's TSV data files.

Each file is tab-separated with a header row. Every row carries a ``source`` column
with the URL its numbers come from. A problem raises :class:`DataError` naming the
file, the line (the header is line 1), the column and the fix.

The three files:

- ``coefficients.tsv``: one number a row, addressed by group, key and parameter.
- ``calibration.tsv``: published results the model is compared against.
- ``models.tsv``: real open-weight models with parameter count and MMLU.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError

COEFFICIENT_COLUMNS = ("group", "kind", "key", "parameter", "value", "label", "source", "note")
CALIBRATION_COLUMNS = (
    "technique", "method", "algorithm", "model", "setting", "metric",
    "value", "baseline", "role", "confidence", "source", "note",
)
MODEL_COLUMNS = (
    "name", "family", "variant", "params", "params_source", "mmlu", "mmlu_setting",
    "mmlu_source", "mmlu_reference", "released", "released_source", "confidence", "note",
)

TECHNIQUES = ("quantisation", "pruning", "distillation", "lowrank", "mapping", "footprint")
ROLES = ("fit", "check")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
URL_PATTERN = re.compile(r"https?://[^\s;,)]+")


def source_url(source: str) -> str:
    """Return the first URL in a source cell such as ``derived from https://…``, or "" if none."""
    found = URL_PATTERN.search(source)
    return found.group(0) if found else ""


@dataclass(frozen=True)
class Row:
    """One data row: its cells by column name and its line number in the file."""

    path: Path
    line: int
    cells: dict[str, str]

    def text(self, column: str) -> str:
        return self.cells[column].strip()

    def number(self, column: str, *, blank: float | None = None) -> float:
        """Return the cell as a finite float, or ``blank`` for an empty cell when ``blank`` is given."""
        raw = self.text(column)
        if raw == "" and blank is not None:
            return blank
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise self.error(
                column,
                f"{raw!r} is not a number",
                "write a plain decimal number such as 0.94 or 8.03e9, without units or thousands separators",
            )
        return value

    def source(self, column: str = "source") -> str:
        """Return the cell as a source that must contain an http(s) URL."""
        raw = self.text(column)
        if not source_url(raw):
            found = repr(raw) if raw else "empty"
            raise self.error(column, f"source is {found}", "add the URL of the page the number was read from")
        return raw

    def error(self, column: str, problem: str, fix: str) -> DataError:
        return DataError(f"column {column!r}: {problem}", path=self.path, line=self.line, hint=fix)


def read_rows(path: Path, columns: tuple[str, ...]) -> list[Row]:
    """Read a TSV file and check its header has ``columns`` and each row has as many cells.

    Blank lines are skipped. Extra columns are allowed and ignored by the model.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("data file not found", path=path, hint=f"create it with the columns {', '.join(columns)}")

    with path.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not lines:
        raise DataError("data file is empty", path=path, line=1, hint=f"write a header row: {', '.join(columns)}")

    header = [name.strip() for name in lines[0]]
    for column in columns:
        if column not in header:
            raise DataError(
                f"column {column!r}: missing from the header",
                path=path,
                line=1,
                hint=f"add a {column!r} column; the file needs {', '.join(columns)}",
            )

    rows = []
    for index, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise DataError(
                f"row has {len(cells)} cells but the header has {len(header)}",
                path=path,
                line=index,
                hint="check for a missing or extra tab in this row",
            )
        rows.append(Row(path, index, dict(zip(header, cells))))
    return rows


@dataclass(frozen=True)
class Coefficient:
    """One model coefficient: its value, display label, source URL and the line it came from."""

    group: str
    kind: str
    key: str
    parameter: str
    value: float
    label: str
    source: str
    note: str
    line: int


def read_coefficients(path: Path) -> dict[tuple[str, str, str], Coefficient]:
    """Return the coefficients keyed by (group, key, parameter), in file order."""
    coefficients: dict[tuple[str, str, str], Coefficient] = {}
    for row in read_rows(path, COEFFICIENT_COLUMNS):
        address = (row.text("group"), row.text("key"), row.text("parameter"))
        for column, part in zip(("group", "key", "parameter"), address):
            if not part:
                raise row.error(column, "empty", "fill in the group, key and parameter of every row")
        if address in coefficients:
            first = coefficients[address].line
            raise row.error("parameter", f"{'/'.join(address)} repeats line {first}", "delete one of the two rows")
        coefficients[address] = Coefficient(
            group=address[0],
            kind=row.text("kind"),
            key=address[1],
            parameter=address[2],
            value=row.number("value"),
            label=row.text("label"),
            source=row.source(),
            note=row.text("note"),
            line=row.line,
        )
    return coefficients


@dataclass(frozen=True)
class CalibrationRow:
    """One published result as written in calibration.tsv.

    ``settings`` contains the parsed ``key=value`` pairs of the setting column, for
    example ``{"p": 0.5}`` or ``{"ppl": 19.09, "ppl_dense": 12.62}``.
    """

    technique: str
    method: str
    algorithm: str
    model: str
    setting: str
    settings: dict[str, float]
    metric: str
    value: float
    baseline: float
    role: str
    confidence: str
    source: str
    note: str
    line: int


def parse_setting(row: Row) -> dict[str, float]:
    """Parse ``a=1;b=2`` from the setting column into numbers."""
    settings: dict[str, float] = {}
    for part in row.text("setting").split(";"):
        name, equals, raw = part.partition("=")
        name = name.strip()
        try:
            value = float(raw) if equals and name else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise row.error("setting", f"{part.strip()!r} is not name=number", "write settings as p=0.5 or k=1.78, and separate several with ;")
        settings[name] = value
    return settings


def read_calibration(path: Path) -> list[CalibrationRow]:
    """Return the calibration rows in file order."""
    points = []
    for row in read_rows(path, CALIBRATION_COLUMNS):
        technique = row.text("technique")
        if technique not in TECHNIQUES:
            raise row.error("technique", f"unknown technique {technique!r}", f"use one of {', '.join(TECHNIQUES)}")
        role = row.text("role")
        if role not in ROLES:
            raise row.error("role", f"unknown role {role!r}", "use fit (used to set a coefficient) or check (shown only)")
        baseline = row.number("baseline", blank=1.0)
        if baseline <= 0:
            raise row.error("baseline", f"{baseline!r} is not positive", "write the uncompressed model's score or perplexity")
        points.append(CalibrationRow(
            technique=technique,
            method=row.text("method"),
            algorithm=row.text("algorithm"),
            model=row.text("model"),
            setting=row.text("setting"),
            settings=parse_setting(row),
            metric=row.text("metric"),
            value=row.number("value"),
            baseline=baseline,
            role=role,
            confidence=row.text("confidence"),
            source=row.source(),
            note=row.text("note"),
            line=row.line,
        ))
    return points


@dataclass(frozen=True)
class RealModel:
    """A published open-weight model placed on the essay's size/quality chart.

    ``quality_index`` is 100 × mmlu / mmlu_reference, where ``mmlu_reference`` is
    Llama-3.1-8B's MMLU in the same source as ``mmlu`` (Meta's 66.7 where that
    source has no Llama-3.1-8B figure). Llama-3.1-8B itself scores 100.
    """

    name: str
    family: str
    variant: str
    params: float
    params_source: str
    mmlu: float
    mmlu_setting: str
    mmlu_source: str
    mmlu_reference: float
    released: str
    released_source: str
    confidence: str
    note: str
    line: int
    quality_index: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "quality_index", 100.0 * self.mmlu / self.mmlu_reference)


def read_models(path: Path) -> list[RealModel]:
    """Return the real models in file order."""
    models = []
    for row in read_rows(path, MODEL_COLUMNS):
        params = row.number("params")
        if params < 0:
            raise row.error("params", f"{row.text('params')} is negative", "write the parameter count as a positive number such as 8.03e9")
        mmlu = row.number("mmlu")
        if not 0 <= mmlu <= 100:
            raise row.error("mmlu", f"{mmlu!r} is outside 0-100", "write MMLU accuracy in percent")
        reference = row.number("mmlu_reference")
        if reference <= 0:
            raise row.error("mmlu_reference", f"{reference!r} is not positive", "write Llama-3.1-8B's MMLU from the same source, or 66.7")
        released = row.text("released")
        released_source = ""
        if released:
            if not DATE_PATTERN.match(released):
                raise row.error("released", f"{released!r} is not a date", "write YYYY-MM-DD or YYYY-MM, or leave it empty")
            released_source = row.source("released_source")
        models.append(RealModel(
            name=row.text("name"),
            family=row.text("family"),
            variant=row.text("variant"),
            params=params,
            params_source=row.source("params_source"),
            mmlu=mmlu,
            mmlu_setting=row.text("mmlu_setting"),
            mmlu_source=row.source("mmlu_source"),
            mmlu_reference=reference,
            released=released,
            released_source=released_source,
            confidence=row.text("confidence"),
            note=row.text("note"),
            line=row.line,
        ))
    return models
