"""Cache of built figures, keyed by a hash of everything a figure's output depends on.

A figure's key covers:

- the source of its module and of every ``essaygen`` module it reaches through
  its globals (shared plot style, the model code, the data readers), plus
  ``embedding.py``, which serialises the result;
- the bytes of the data files it declares with ``data=(...)`` and of
  ``coefficients.tsv``, which every figure reads through the model;
- the Bokeh version and the essaygen version.

So editing Markdown reuses every figure, and editing one data file rebuilds
exactly the figures that declare it. Entries live in memory (for ``serve``)
and, when a folder is given, on disk as one JSON file per figure (for repeated
``build`` runs), each written to a temporary file and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import bokeh

from . import __version__
from .errors import BuildError

log = logging.getLogger("essaygen")

CACHE_DIR = ".cache"
FIGURES_SUBDIR = "figures"
# Every figure reads the model, and the model reads its constants from this file.
MODEL_DATA = "coefficients"
DATA_SUFFIX = ".tsv"
# Bumped when the layout of a cache entry changes, so old entries are ignored.
ENTRY_FORMAT = 2


@dataclass(frozen=True)
class CachedOutput:
    """The part of a built figure that depends only on the cache key."""

    html: str
    readouts: str
    facts: tuple[tuple[str, str], ...]
    item_json: str | None
    bundles: frozenset[str]

    def to_json(self) -> dict:
        return {
            "html": self.html,
            "readouts": self.readouts,
            "facts": [list(row) for row in self.facts],
            "item_json": self.item_json,
            "bundles": sorted(self.bundles),
        }

    @classmethod
    def from_json(cls, raw: dict) -> "CachedOutput":
        return cls(
            html=raw["html"],
            readouts=raw["readouts"],
            facts=tuple((str(label), str(value)) for label, value in raw["facts"]),
            item_json=raw["item_json"],
            bundles=frozenset(raw["bundles"]),
        )


@dataclass
class CacheStats:
    """The figures one build took from the cache and the figures it built."""

    reused: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)

    @property
    def hits(self) -> int:
        return len(self.reused)

    @property
    def misses(self) -> int:
        return len(self.built)


class FigureCache:
    """Built figure output in memory and, optionally, on disk under ``folder``."""

    def __init__(self, data_dir: Path, folder: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.folder = Path(folder) / FIGURES_SUBDIR if folder is not None else None
        self.memory: dict[str, tuple[str, CachedOutput]] = {}
        self.stats = CacheStats()
        self._source_hashes: dict[str, str] = {}

    def start_build(self) -> None:
        """Reset the hit and miss counts and forget file hashes read by the previous build."""
        self.stats = CacheStats()
        # Sources and data files may have changed since the last build in a
        # long-running serve process, so hash them afresh once per build.
        self._source_hashes.clear()

    def build_figure(self, spec, directive, model, theme=None):
        """Build one figure as :func:`essaygen.embedding.build_figure` does, reusing cached output."""
        from .embedding import BuiltFigure, build_figure

        if theme is not None:
            return build_figure(spec, directive, model, theme)  # a theme is not part of the key

        def build() -> CachedOutput:
            built = build_figure(spec, directive, model)
            return CachedOutput(built.html, built.readouts, built.facts, built.item_json, built.bundles)

        output = self.get_or_build(spec, build)
        return BuiltFigure(
            spec=spec,
            directive=directive,
            html=output.html,
            readouts=output.readouts,
            facts=output.facts,
            item_json=output.item_json,
            bundles=output.bundles,
        )

    def get_or_build(self, spec, build: Callable[[], CachedOutput]) -> CachedOutput:
        """Return the cached output for ``spec`` if its key still matches, else build and store it."""
        key = self.key(spec)
        cached = self._lookup(spec.name, key)
        if cached is not None:
            self.stats.reused.append(spec.name)
            log.debug("figure %s: cached (%s)", spec.name, key[:12])
            return cached
        self.stats.built.append(spec.name)
        log.debug("figure %s: building (%s)", spec.name, key[:12])
        output = build()
        self._store(spec.name, key, output)
        return output

    def key(self, spec) -> str:
        """Return the hex digest of every input of the figure ``spec``."""
        digest = hashlib.sha256()
        digest.update(f"format {ENTRY_FORMAT}\nbokeh {bokeh.__version__}\nessaygen {__version__}\n".encode())
        for path in figure_sources(spec):
            digest.update(f"source {path.name}\n".encode())
            digest.update(self._hash_file(path).encode())
        for path in self.data_files(spec):
            digest.update(f"data {path.name}\n".encode())
            digest.update(self._hash_file(path).encode())
        return digest.hexdigest()

    def data_files(self, spec) -> list[Path]:
        """Return the data files ``spec`` declares plus the model's coefficients, checking they exist."""
        names = [MODEL_DATA, *(name for name in spec.data if name != MODEL_DATA)]
        paths = []
        for name in names:
            path = self.data_dir / f"{name}{DATA_SUFFIX}"
            if not path.is_file():
                raise BuildError(
                    f"figure {spec.name!r} declares data file {name!r}, but it was not found",
                    path=path,
                    hint=f"add the file, or fix data=(...) in the @figure of {spec.module}",
                )
            paths.append(path)
        return paths

    def _hash_file(self, path: Path) -> str:
        name = str(path)
        if name not in self._source_hashes:
            self._source_hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self._source_hashes[name]

    def _lookup(self, name: str, key: str) -> CachedOutput | None:
        entry = self.memory.get(name)
        if entry is not None and entry[0] == key:
            return entry[1]
        if self.folder is None:
            return None
        output = self._read_entry(name, key)
        if output is not None:
            self.memory[name] = (key, output)
        return output

    def _read_entry(self, name: str, key: str) -> CachedOutput | None:
        path = self.folder / f"{name}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.debug("ignoring unreadable cache entry %s: %s", path, error)
            return None
        if not isinstance(raw, dict) or raw.get("key") != key:
            return None
        try:
            return CachedOutput.from_json(raw["output"])
        except (KeyError, TypeError, ValueError) as error:
            log.debug("ignoring malformed cache entry %s: %s", path, error)
            return None

    def _store(self, name: str, key: str, output: CachedOutput) -> None:
        self.memory[name] = (key, output)
        if self.folder is None:
            return
        text = json.dumps({"key": key, "output": output.to_json()}, ensure_ascii=False)
        try:
            write_atomically(self.folder / f"{name}.json", text)
        except OSError as error:
            # The cache only saves time, so a read-only checkout still builds.
            log.warning("failed to write the figure cache %s: %s", self.folder, error)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def figure_sources(spec) -> list[Path]:
    """Return the source files of the figure's module and the essaygen modules it reaches, sorted."""
    package = __name__.rpartition(".")[0]
    seen: set[str] = set()
    pending = [spec.module]
    while pending:
        name = pending.pop()
        if name in seen or name not in sys.modules:
            continue
        seen.add(name)
        module = sys.modules[name]
        pending.extend(_package_modules_used_by(module, package))
    files = {Path(sys.modules[name].__file__) for name in seen if getattr(sys.modules[name], "__file__", None)}
    # embedding.py serialises every figure, so its code is an input too.
    files.add(Path(__file__).with_name("embedding.py"))
    return sorted(files)


def _package_modules_used_by(module: types.ModuleType, package: str) -> list[str]:
    """Return the names of the package's modules that ``module`` refers to in its globals."""
    names = []
    parent = module.__name__.rpartition(".")[0]
    if parent.startswith(package):
        names.append(parent)  # the package's __init__ may define helpers the figure uses
    for value in vars(module).values():
        if isinstance(value, types.ModuleType):
            name = value.__name__
            if name.startswith(module.__name__ + "."):
                continue  # importing a submodule sets it on its package, which is no dependency
        else:
            name = getattr(value, "__module__", None)
        if isinstance(name, str) and (name == package or name.startswith(package + ".")):
            names.append(name)
    return names
