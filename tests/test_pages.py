"""Stage 4: pages assembled from the model, such as the calibration report."""

from __future__ import annotations

import shutil

from conftest import REPO
from essaygen import pages
from essaygen.model import load_model


def test_calibration_report_reused_until_data_changes(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data)
    model = load_model(data)
    calls = []
    monkeypatch.setattr(pages, "render_report", lambda m: calls.append(m) or "# Report\n")
    monkeypatch.setattr(pages, "_REPORTS", {})

    first = pages.calibration_context(model, data)
    second = pages.calibration_context(model, data)
    (data / "models.tsv").write_text((data / "models.tsv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    third = pages.calibration_context(model, data)

    assert len(calls) == 2
    assert first["report"] is second["report"]
    assert "<h1" in str(third["report"])
