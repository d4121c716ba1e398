"""The calibration report and the agreement between coefficients.tsv and the published points."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from essaygen import calibration
from essaygen.model import load_model

REPO = Path(__file__).resolve().parent.parent
MODEL = load_model(REPO / "data")


def test_committed_report_up_to_date() -> None:
    committed = (REPO / "docs" / "calibration.md").read_text(encoding="utf-8")
    assert committed == calibration.render_report(MODEL), "run: .venv/bin/python -m essaygen.calibration"


def test_check_flag_detects_stale_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "calibration.md"
    assert calibration.main(["--out", str(report)]) == 0
    assert calibration.main(["--out", str(report), "--check"]) == 0
    report.write_text(report.read_text(encoding="utf-8") + "\nedited by hand\n", encoding="utf-8")
    assert calibration.main(["--out", str(report), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


@pytest.mark.parametrize("row", calibration.derived_coefficients(MODEL), ids=lambda row: row.name)
def test_stored_coefficient_matches_data(row: calibration.Derived) -> None:
    assert row.stored == pytest.approx(row.derived, abs=5e-4)


@pytest.mark.parametrize("fit", calibration.curve_fits(MODEL), ids=lambda fit: fit.name)
def test_stored_curve_as_good_as_grid_fit(fit: calibration.CurveFit) -> None:
    assert fit.points >= 3
    assert fit.stored_rms <= fit.best_rms + 0.002


def test_every_point_compared() -> None:
    techniques = {point.technique for point in MODEL.calibration}
    assert techniques == {"quantisation", "footprint", "pruning", "distillation", "lowrank", "mapping"}
    for point in MODEL.calibration:
        assert math.isfinite(point.model_value)
        assert point.residual == pytest.approx(point.observed - point.model_value)
        assert point.source.startswith("https://")


def test_no_unverified_numbers() -> None:
    allowed = {"seen-in-source", "seen-in-secondary"}
    for point in MODEL.calibration:
        assert point.confidence in allowed, (point.line, point.confidence)
    for model in MODEL.real_models:
        assert model.confidence in allowed, (model.line, model.confidence)


def test_model_values_follow_settings() -> None:
    for point in MODEL.calibration_points("pruning"):
        assert point.model_value == MODEL.q_prune(point.settings["p"], point.method)
    for point in MODEL.calibration_points("distillation"):
        assert point.model_value == MODEL.q_distil(point.settings["k"])
    for point in MODEL.calibration_points("lowrank"):
        assert point.model_value == MODEL.q_rank(point.settings["rho"])
    for point in MODEL.calibration_points("quantisation"):
        assert point.model_value == MODEL.q_bits(point.method)


def test_perplexity_points_mapped_with_gamma() -> None:
    for point in MODEL.calibration:
        if point.metric.endswith("_ppl"):
            expected = max(0.0, 1.0 - MODEL.gamma * math.log(point.value / point.baseline))
            assert point.observed == pytest.approx(expected)
    assert MODEL.quality_from_perplexity(1.0) == 1.0
    assert MODEL.quality_from_perplexity(1e6) == 0.0


def test_published_int4_spread_around_rule_of_thumb() -> None:
    int4 = [p for p in MODEL.calibration_points("quantisation", "INT4") if p.metric == "mmlu"]
    algorithms = {p.algorithm for p in int4}
    assert {"SpinQuant", "QLoRA (QAT)", "GPTQ-Int4"} <= algorithms
    retained = [p.observed for p in int4]
    assert min(retained) < MODEL.q_bits("INT4") < max(retained)


def test_kquant_sizes_reproduced() -> None:
    for point in MODEL.calibration_points("footprint", role="fit"):
        assert point.residual == pytest.approx(0.0, abs=0.005), point.method


def test_real_models_cover_sizes() -> None:
    names = {model.name for model in MODEL.real_models}
    required = {
        "Llama-3.2-1B", "Llama-3.2-3B", "Llama-3.1-8B", "Llama-3.1-70B", "Qwen2.5-0.5B", "Qwen2.5-72B",
        "Gemma-2-2B", "Gemma-2-9B", "Gemma-2-27B", "Mistral-7B", "Mistral-NeMo-12B", "Phi-3.5-mini",
        "Llama-3.1-Minitron-4B-Width", "MN-Minitron-8B",
    }
    assert required <= names
    params = np.array([model.params for model in MODEL.real_models])
    assert params.min() < 1e9
    assert params.max() > 7e10
    for model in MODEL.real_models:
        assert model.mmlu_source.startswith("https://")
        assert 0 < model.quality_index < 150
