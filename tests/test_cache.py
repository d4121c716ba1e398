"""The figure cache: keys change exactly when an input changes, and builds reuse unchanged figures."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

import essaygen.cache
from conftest import REPO, snapshot
from essaygen.cache import FigureCache, figure_sources
from essaygen.errors import BuildError
from essaygen.figures import FIGURES
from essaygen.pipeline import ProjectPaths, build

FIGURE_MODULE = '''
from bokeh.plotting import figure as new_figure

from essaygen.figures import figure
from essaygen.figures._style import new_plot

CALLS = []


@figure("cache-one", caption="One.", summary="A line that reads the coefficients only.")
def cache_one(model):
    CALLS.append("cache-one")
    plot = new_plot(height=120)
    plot.line([0, 1], [0, 1])
    return plot


@figure("cache-two", caption="Two.", summary="A line that also reads the models table.",
        data=("coefficients", "models"))
def cache_two(model):
    CALLS.append("cache-two")
    plot = new_figure(height=120)
    plot.line([0, 1], [1, 0])
    return plot
'''

SECTION = """+++
title = "Opening"
+++

First paragraph.

::figure[cache-one]

::figure[cache-two]
"""


@pytest.fixture
def figure_module(tmp_path):
    """Import FIGURE_MODULE from a file, as a figure module of its own; unregister it afterwards."""
    path = tmp_path / "cache_figures.py"
    path.write_text(FIGURE_MODULE, encoding="utf-8")
    name = f"cache_figures_{tmp_path.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    for figure_name in ("cache-one", "cache-two"):
        FIGURES.pop(figure_name, None)
    del sys.modules[name]


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(REPO / "data", folder)
    return folder


def append_blank_line(path: Path) -> None:
    """Change a file's bytes without changing its meaning (data readers skip blank lines)."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n")


class TestKey:
    def test_same_inputs_same_key(self, figure_module, data_dir):
        spec = FIGURES["cache-two"]

        assert FigureCache(data_dir).key(spec) == FigureCache(data_dir).key(spec)

    def test_declared_data_file_changes_key(self, figure_module, data_dir):
        spec = FIGURES["cache-two"]
        before = FigureCache(data_dir).key(spec)

        append_blank_line(data_dir / "models.tsv")

        assert FigureCache(data_dir).key(spec) != before

    def test_undeclared_data_file_keeps_key(self, figure_module, data_dir):
        spec = FIGURES["cache-one"]
        before = FigureCache(data_dir).key(spec)

        append_blank_line(data_dir / "models.tsv")
        append_blank_line(data_dir / "calibration.tsv")

        assert FigureCache(data_dir).key(spec) == before

    def test_coefficients_change_every_key(self, figure_module, data_dir):
        specs = [FIGURES["cache-one"], FIGURES["cache-two"]]
        before = [FigureCache(data_dir).key(spec) for spec in specs]

        append_blank_line(data_dir / "coefficients.tsv")

        after = [FigureCache(data_dir).key(spec) for spec in specs]
        assert after[0] != before[0]
        assert after[1] != before[1]

    def test_module_source_changes_key(self, figure_module, data_dir):
        spec = FIGURES["cache-one"]
        before = FigureCache(data_dir).key(spec)

        Path(figure_module.__file__).write_text(FIGURE_MODULE + "\n# edited\n", encoding="utf-8")

        assert FigureCache(data_dir).key(spec) != before

    def test_bokeh_version_changes_key(self, figure_module, data_dir, monkeypatch):
        spec = FIGURES["cache-one"]
        before = FigureCache(data_dir).key(spec)

        monkeypatch.setattr(essaygen.cache.bokeh, "__version__", "0.0.0-test")

        assert FigureCache(data_dir).key(spec) != before

    def test_essaygen_version_changes_key(self, figure_module, data_dir, monkeypatch):
        spec = FIGURES["cache-one"]
        before = FigureCache(data_dir).key(spec)

        monkeypatch.setattr(essaygen.cache, "__version__", "0.0.0-test")

        assert FigureCache(data_dir).key(spec) != before

    def test_missing_declared_data_file(self, figure_module, data_dir):
        (data_dir / "models.tsv").unlink()

        with pytest.raises(BuildError, match="figure 'cache-two' declares data file 'models', but it was not found"):
            FigureCache(data_dir).key(FIGURES["cache-two"])


class TestFigureSources:
    def test_shared_code_the_figure_uses(self, figure_module):
        sources = {path.name for path in figure_sources(FIGURES["cache-one"])}

        assert Path(figure_module.__file__).name in sources
        assert "_style.py" in sources  # new_plot, used through the module's globals
        assert "embedding.py" in sources  # serialises every figure

    def test_other_figure_modules_are_not_sources(self, figure_module):
        sources = {path.name for path in figure_sources(FIGURES["cache-one"])}

        assert "quantisation.py" not in sources
        assert "cli.py" not in sources


class TestBuild:
    def test_second_build_reuses_every_figure(self, project, figure_module):
        project.write("01-opening.md", SECTION)
        paths = ProjectPaths.under(project.root)
        first = build(paths, cache=FigureCache(paths.data))
        first_files = snapshot(project.site)
        figure_module.CALLS.clear()

        cache = FigureCache(paths.data, project.root / ".cache")
        build(paths, cache=cache)

        assert cache.stats.reused == []  # a fresh cache without the disk entries of the first build
        assert sorted(cache.stats.built) == ["cache-one", "cache-two"]

        figure_module.CALLS.clear()
        build(paths, cache=cache)
        assert figure_module.CALLS == []
        assert sorted(cache.stats.reused) == ["cache-one", "cache-two"]
        assert snapshot(project.site) == first_files
        assert [figure.name for figure in first.figures] == ["cache-one", "cache-two"]

    def test_markdown_edit_rebuilds_no_figure(self, project, figure_module):
        project.write("01-opening.md", SECTION)
        paths = ProjectPaths.under(project.root)
        cache = FigureCache(paths.data)
        build(paths, cache=cache)
        figure_module.CALLS.clear()

        project.write("01-opening.md", SECTION.replace("First paragraph.", "An edited paragraph."))
        build(paths, cache=cache)

        assert figure_module.CALLS == []
        assert "An edited paragraph." in (project.site / "index.html").read_text(encoding="utf-8")

    def test_data_edit_rebuilds_only_dependent_figure(self, project, figure_module):
        project.write("01-opening.md", SECTION)
        paths = ProjectPaths.under(project.root)
        cache = FigureCache(paths.data)
        build(paths, cache=cache)
        figure_module.CALLS.clear()

        append_blank_line(paths.data / "models.tsv")
        build(paths, cache=cache)

        assert figure_module.CALLS == ["cache-two"]
        assert cache.stats.reused == ["cache-one"]

    def test_disk_cache_between_builds(self, project, figure_module):
        project.write("01-opening.md", SECTION)
        paths = ProjectPaths.under(project.root)
        build(paths)  # the default cache lives under ROOT/.cache
        figure_module.CALLS.clear()

        cache = FigureCache(paths.data, project.root / ".cache")
        build(paths, cache=cache)

        assert figure_module.CALLS == []
        assert sorted(cache.stats.reused) == ["cache-one", "cache-two"]
        leftovers = [path.name for path in (project.root / ".cache" / "figures").iterdir() if path.suffix != ".json"]
        assert leftovers == []

    def test_corrupt_disk_entry_is_rebuilt(self, project, figure_module):
        project.write("01-opening.md", SECTION)
        paths = ProjectPaths.under(project.root)
        build(paths)
        (project.root / ".cache" / "figures" / "cache-one.json").write_text("{not json", encoding="utf-8")
        figure_module.CALLS.clear()

        build(paths)

        assert figure_module.CALLS == ["cache-one"]
        assert (project.root / ".cache" / "figures" / "cache-one.json").read_text(encoding="utf-8").startswith("{")


def test_new_capture_replaces_the_old_one(tmp_path):
    from types import SimpleNamespace

    from essaygen import snapshots

    variant = snapshots.VARIANTS[0]
    old = tmp_path / f"two-routes-{variant.name}-{'a' * 16}.png"
    new = tmp_path / f"two-routes-{variant.name}-{'b' * 16}.png"
    other_variant = tmp_path / f"two-routes-{snapshots.VARIANTS[1].name}-{'a' * 16}.png"
    prefix_figure = tmp_path / f"two-{variant.name}-{'a' * 16}.png"
    for path in (old, new, other_variant, prefix_figure):
        path.write_bytes(b"png")

    snapshots.remove_replaced([snapshots.CaptureJob(SimpleNamespace(name="two-routes"), variant, new)])

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        path.name for path in (new, other_variant, prefix_figure)
    )
