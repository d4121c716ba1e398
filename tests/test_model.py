"""Properties, anchors and data validation of the compression model, run on the real data files."""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from essaygen.errors import DataError
from essaygen.model import (
    DISTIL_GRID,
    PRUNE_GRID,
    RANK_GRID,
    CompressionModel,
    factorised_matrix_params,
    load_model,
    quantise_signal,
    rms_error,
)

DATA = Path(__file__).resolve().parent.parent / "data"
MODEL = load_model(DATA)
METHODS = list(MODEL.pruning_methods)
PRECISIONS = list(MODEL.precisions)

fractions = st.floats(min_value=0.0, max_value=1.0)
ratios = st.floats(min_value=1.0, max_value=1e6)
params = st.floats(min_value=0.0, max_value=1e13)
bit_widths = st.floats(min_value=0.5, max_value=64.0)
methods = st.sampled_from(METHODS)
precisions = st.sampled_from(PRECISIONS)


@pytest.fixture(scope="module")
def model() -> CompressionModel:
    return MODEL


# --- properties --------------------------------------------------------------------

@given(p=fractions, method=methods, k=ratios, rho=fractions, precision=precisions)
def test_factors_within_unit_interval(p: float, method: str, k: float, rho: float, precision: str) -> None:
    for name, value in MODEL.factors(precision, p, method, k, rho).items():
        assert math.isfinite(value), name
        assert 0.0 <= value <= 1.0, (name, value)


@given(a=fractions, b=fractions, method=methods)
def test_q_prune_non_increasing(a: float, b: float, method: str) -> None:
    low, high = sorted((a, b))
    assert MODEL.q_prune(low, method) >= MODEL.q_prune(high, method)


@given(a=ratios, b=ratios)
def test_q_distil_non_increasing(a: float, b: float) -> None:
    small, large = sorted((a, b))
    assert MODEL.q_distil(small) >= MODEL.q_distil(large)


@given(a=fractions, b=fractions)
def test_q_rank_non_increasing_as_rank_shrinks(a: float, b: float) -> None:
    kept_less, kept_more = sorted((a, b))
    assert MODEL.q_rank(kept_less) <= MODEL.q_rank(kept_more)


def test_q_bits_non_increasing_with_fewer_bits() -> None:
    kinds = {precision.kind for precision in MODEL.precisions.values()}
    for kind in kinds:
        family = sorted((p for p in MODEL.precisions.values() if p.kind == kind), key=lambda p: -p.bits)
        qualities = [p.quality for p in family]
        assert qualities == sorted(qualities, reverse=True), kind


@given(q0=st.floats(min_value=0.0, max_value=1000.0), precision=precisions, p=fractions, method=methods, k=ratios, rho=fractions)
def test_quality_between_zero_and_q0(q0: float, precision: str, p: float, method: str, k: float, rho: float) -> None:
    quality = MODEL.quality(q0, precision, p, method, k, rho)
    assert 0.0 <= quality <= q0


@given(q0=st.floats(min_value=0.0, max_value=1000.0), precision=precisions, p=fractions, method=methods, k=ratios, rho=fractions)
def test_quality_is_product_of_factors(q0: float, precision: str, p: float, method: str, k: float, rho: float) -> None:
    factors = MODEL.factors(precision, p, method, k, rho)
    expected = q0 * math.prod(factors.values())
    assert MODEL.quality(q0, precision, p, method, k, rho) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(precision=precisions, p=fractions, method=methods, k=ratios, rho=fractions)
def test_quality_order_independent(precision: str, p: float, method: str, k: float, rho: float) -> None:
    steps: list[Callable[[float], float]] = [
        lambda q: MODEL.quality(q, precision=precision),
        lambda q: MODEL.quality(q, prune=p, method=method),
        lambda q: MODEL.quality(q, distil=k),
        lambda q: MODEL.quality(q, rank_ratio=rho),
    ]
    all_at_once = MODEL.quality(100.0, precision, p, method, k, rho)
    for order in itertools.permutations(steps):
        quality = 100.0
        for step in order:
            quality = step(quality)
        assert quality == pytest.approx(all_at_once, rel=1e-12, abs=1e-12)


@given(n=params, p=fractions, k=ratios, rho=fractions)
def test_effective_params_order_independent(n: float, p: float, k: float, rho: float) -> None:
    at_once = MODEL.effective_params(n, prune=p, distil=k, rank_ratio=rho)
    pruned_first = MODEL.effective_params(MODEL.effective_params(n, prune=p), distil=k, rank_ratio=rho)
    distilled_first = MODEL.effective_params(MODEL.effective_params(n, distil=k), prune=p, rank_ratio=rho)
    assert pruned_first == pytest.approx(at_once, rel=1e-12, abs=1e-9)
    assert distilled_first == pytest.approx(at_once, rel=1e-12, abs=1e-9)
    assert 0.0 <= at_once <= n


@given(n=params, p=fractions, method=methods, k=ratios, rho=fractions)
def test_stored_params_per_method(n: float, p: float, method: str, k: float, rho: float) -> None:
    stored = MODEL.stored_params(n, p, method, k, rho)
    effective = MODEL.effective_params(n, p, k, rho)
    dense = MODEL.effective_params(n, 0.0, k, rho)
    expected = effective if MODEL.pruning_methods[method].shrinks_storage else dense
    assert stored == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert effective <= stored * (1 + 1e-12) + 1e-9


def test_only_structured_pruning_shrinks_storage() -> None:
    shrinks = {key: method.shrinks_storage for key, method in MODEL.pruning_methods.items()}
    assert shrinks == {"magnitude": False, "one_shot": False, "structured": True}
    n = MODEL.real_model("Llama-3.1-8B").params
    # Half the weights zeroed by one-shot pruning: 8.03e9 stored, 4.01e9 non-zero.
    assert MODEL.stored_params(n, 0.5, "one_shot") == n
    assert MODEL.effective_params(n, 0.5) == pytest.approx(n / 2)
    assert MODEL.stored_params(n, 0.5, "structured") == pytest.approx(n / 2)
    assert MODEL.stored_gb(n, "BF16", 0.5, "magnitude") == pytest.approx(MODEL.weight_gb(n, "BF16"))
    assert MODEL.stored_gb(n, "INT4", 0.5, "structured", 2.0) == pytest.approx(MODEL.weight_gb(n / 4, "INT4"))


def test_stored_params_keeps_array_shape() -> None:
    stored = MODEL.stored_params(8e9, PRUNE_GRID, "one_shot")
    assert stored.shape == PRUNE_GRID.shape
    assert np.all(stored == 8e9)
    structured = MODEL.stored_params(8e9, PRUNE_GRID, "structured")
    np.testing.assert_allclose(structured, 8e9 * (1 - PRUNE_GRID), rtol=1e-12)


def test_stored_params_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="prune=1.5"):
        MODEL.stored_params(8e9, 1.5, "one_shot")
    with pytest.raises(ValueError, match="unknown pruning method 'sparse'"):
        MODEL.stored_params(8e9, 0.5, "sparse")


@given(n=params, a=bit_widths, b=bit_widths, scale=st.floats(min_value=0.01, max_value=4.0))
def test_footprint_linear_in_bits(n: float, a: float, b: float, scale: float) -> None:
    assert MODEL.weight_gb(n, a + b) == pytest.approx(MODEL.weight_gb(n, a) + MODEL.weight_gb(n, b), rel=1e-12, abs=1e-12)
    assert MODEL.weight_gb(n, scale * a) == pytest.approx(scale * MODEL.weight_gb(n, a), rel=1e-12, abs=1e-12)


@given(n=params, k=ratios, rho=fractions, method=methods, precision=precisions)
def test_full_pruning_gives_zero(n: float, k: float, rho: float, method: str, precision: str) -> None:
    assert MODEL.effective_params(n, prune=1.0, distil=k, rank_ratio=rho) == 0.0
    assert MODEL.q_prune(1.0, method) == 0.0
    assert MODEL.quality(100.0, precision, 1.0, method, k, rho) == 0.0


def test_full_pruning_arrays_finite() -> None:
    grid = np.linspace(0.0, 1.0, 101)
    for method in METHODS:
        curve = MODEL.q_prune(grid, method)
        assert np.all(np.isfinite(curve))
        assert curve[-1] == 0.0
    assert np.all(np.isfinite(MODEL.effective_params(8e9, prune=grid)))


outside_unit = st.one_of(
    st.floats(max_value=-1e-9, allow_infinity=True),
    st.floats(min_value=1.0 + 1e-9, allow_infinity=True),
    st.just(math.nan),
)


@given(p=outside_unit, method=methods)
def test_invalid_pruning_fraction_raises(p: float, method: str) -> None:
    with pytest.raises(ValueError, match="p=") as raised:
        MODEL.q_prune(p, method)
    assert repr(p) in str(raised.value)
    with pytest.raises(ValueError) as raised:
        MODEL.effective_params(8e9, prune=p)
    assert repr(p) in str(raised.value)


@given(k=st.one_of(st.floats(max_value=1.0 - 1e-9), st.just(math.nan), st.just(math.inf)))
def test_invalid_distillation_ratio_raises(k: float) -> None:
    with pytest.raises(ValueError) as raised:
        MODEL.q_distil(k)
    assert repr(k) in str(raised.value)


@given(rho=outside_unit)
def test_invalid_rank_ratio_raises(rho: float) -> None:
    with pytest.raises(ValueError) as raised:
        MODEL.q_rank(rho)
    assert repr(rho) in str(raised.value)
    with pytest.raises(ValueError) as raised:
        MODEL.effective_params(8e9, rank_ratio=rho)
    assert repr(rho) in str(raised.value)


@given(n=st.floats(max_value=-1e-9, allow_infinity=False))
def test_negative_params_raise(n: float) -> None:
    with pytest.raises(ValueError) as raised:
        MODEL.weight_gb(n, 16)
    assert repr(n) in str(raised.value)
    with pytest.raises(ValueError) as raised:
        MODEL.effective_params(n)
    assert repr(n) in str(raised.value)


@given(d=st.integers(min_value=1, max_value=10_000), extra=st.integers(min_value=1, max_value=1000))
def test_rank_above_matrix_size_raises(d: int, extra: int) -> None:
    with pytest.raises(ValueError) as raised:
        factorised_matrix_params(d, d + extra)
    assert f"r={d + extra}" in str(raised.value)


def test_unknown_names_raise() -> None:
    with pytest.raises(ValueError, match="'INT5'"):
        MODEL.q_bits("INT5")
    with pytest.raises(ValueError, match="'INT5'"):
        MODEL.weight_gb(8e9, "INT5")
    with pytest.raises(ValueError, match="'random'"):
        MODEL.q_prune(0.5, "random")
    with pytest.raises(ValueError, match="q0=-1"):
        MODEL.quality(-1.0)


# --- anchors -------------------------------------------------------------------------

def test_footprint_anchors() -> None:
    assert MODEL.weight_gb(8e9, 16) == 16.0
    assert MODEL.weight_gb(8e9, "FP16") == 16.0
    assert MODEL.weight_gb(8e9, "INT4") == 4.0
    assert MODEL.weight_gb(8e9, "FP32") == 32.0


def test_int4_rule_of_thumb() -> None:
    assert MODEL.q_bits("INT4") == 0.94
    assert MODEL.q_bits("FP16") == 1.0
    assert MODEL.q_bits("BF16") == 1.0
    assert MODEL.q_bits("FP32") == 1.0


@pytest.mark.parametrize("method", METHODS)
def test_first_30_percent_costs_under_2_percent(method: str) -> None:
    assert 1.0 - MODEL.q_prune(0.3, method) < 0.02
    assert np.all(1.0 - MODEL.q_prune(np.linspace(0, 0.3, 31), method) < 0.02)


@pytest.mark.parametrize("method", METHODS)
def test_cliff_slope_steeper_than_at_40_percent(method: str) -> None:
    step = 1e-4
    slope_at_40 = (MODEL.q_prune(0.4 - step, method) - MODEL.q_prune(0.4 + step, method)) / (2 * step)
    start = MODEL.pruning_methods[method].cliff_start
    past = np.linspace(start, 1.0 - step, 400)
    slopes = (MODEL.q_prune(past - step, method) - MODEL.q_prune(past + step, method)) / (2 * step)
    assert slope_at_40 > 0
    assert slopes.max() >= 10 * slope_at_40


def test_one_shot_cliff_between_60_and_70_percent() -> None:
    q60 = MODEL.q_prune(0.6)
    q70 = MODEL.q_prune(0.7)
    assert q60 > 0.8
    assert q70 < 0.7
    assert MODEL.q_prune(0.5, "magnitude") < MODEL.q_prune(0.5, "one_shot")
    assert MODEL.q_prune(0.7, "structured") > MODEL.q_prune(0.7, "one_shot")


def test_lowrank_saves_only_below_half_rank() -> None:
    d = 4096
    assert factorised_matrix_params(d, d // 2) == d * d
    assert factorised_matrix_params(d, d // 2 - 1) < d * d
    assert factorised_matrix_params(d, d // 2 + 1) > d * d
    assert MODEL.rank_param_fraction(0.5) == 1.0
    assert MODEL.rank_param_fraction(0.75) == 1.0
    assert MODEL.rank_param_fraction(0.25) < 1.0


def test_quality_index_anchor() -> None:
    llama = MODEL.real_model("Llama-3.1-8B")
    assert llama.mmlu == 66.7
    assert llama.quality_index == 100.0


def test_prose_values() -> None:
    values = MODEL.prose_values()
    expected = {
        "fp16_8b_gb": "16 GB",
        "int4_8b_gb": "4 GB",
        "fp32_values": "4.3 billion",
        "levels_int8": "256",
        "levels_int4": "16",
        "levels_int2": "4",
        "q_int4": "0.94",
    }
    for key, text in expected.items():
        assert values[key] == text, key
    for key in ("q_prune_30", "q_prune_60", "q_prune_90"):
        assert values[key].endswith("%"), key
    assert values["q_prune_30"] == f"{100 * MODEL.q_prune(0.3):.0f}%"
    curve = MODEL.pruning_methods["one_shot"]
    assert values["prune_cliff_start"] == f"{100 * curve.cliff_start:.0f}%"
    assert values["prune_zero_point"] == f"{100 * (curve.cliff_start + curve.cliff_width):.0f}%"
    assert values["prune_nearly_free_end"] == f"{100 * math.sqrt(0.02 / curve.gentle_cost):.0f}%"
    assert values["prune_50_stored_gb"] == values["fp16_8b_gb"]
    assert values["prune_structured_50_stored_gb"] == "8 GB"
    assert values["q4_k_m_bpw_2dp"] == "4.90"
    assert all(key == key.lower() and " " not in key for key in values)


# --- lookup tables and the quantisation demo -------------------------------------------

def test_grids_match_slider_steps() -> None:
    assert PRUNE_GRID.tolist() == [round(0.01 * i, 2) for i in range(96)]
    assert DISTIL_GRID.tolist() == [round(1.0 + 0.1 * i, 1) for i in range(91)]
    assert RANK_GRID.tolist() == [round(0.05 * i, 2) for i in range(1, 21)]
    assert PRUNE_GRID[-1] == 0.95
    assert DISTIL_GRID[-1] == 10.0
    assert RANK_GRID[-1] == 1.0


def test_lookup_tables_match_model() -> None:
    tables = MODEL.lookup_tables()
    assert tables["prune_grid"] == PRUNE_GRID.tolist()
    for method in METHODS:
        expected = [MODEL.q_prune(p, method) for p in PRUNE_GRID.tolist()]
        assert tables["prune"][method] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert tables["distil"] == pytest.approx([MODEL.q_distil(k) for k in DISTIL_GRID.tolist()], rel=1e-12)
    assert tables["rank"] == pytest.approx([MODEL.q_rank(rho) for rho in RANK_GRID.tolist()], rel=1e-12, abs=1e-15)
    fractions = [MODEL.rank_param_fraction(rho) for rho in RANK_GRID.tolist()]
    assert tables["rank_param_fraction"] == pytest.approx(fractions, rel=1e-12)
    assert [p["name"] for p in tables["precisions"]] == PRECISIONS
    assert tables["default_method"] in tables["prune"]
    assert tables["prune_shrinks_storage"] == {key: m.shrinks_storage for key, m in MODEL.pruning_methods.items()}


def test_lookup_tables_are_plain_json() -> None:
    import json

    assert json.loads(json.dumps(MODEL.lookup_tables())) == MODEL.lookup_tables()


signals = st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=2, max_size=200).map(np.array)


@given(x=signals, bits=st.integers(min_value=1, max_value=12))
def test_quantise_signal_levels_and_error(x: np.ndarray, bits: int) -> None:
    quantised = quantise_signal(x, bits)
    lo, hi = x.min(), x.max()
    assert quantised.shape == x.shape
    assert len(np.unique(quantised)) <= 2**bits
    step = (hi - lo) / (2**bits - 1)
    if step > 0:
        assert np.all(np.abs(quantised - x) <= step / 2 + 1e-9 * (1 + abs(hi) + abs(lo)))
        levels = (quantised - lo) / step
        assert np.allclose(levels, np.round(levels), atol=1e-6)
    else:
        assert np.array_equal(quantised, x)
    assert rms_error(x, bits) == pytest.approx(float(np.sqrt(np.mean((x - quantised) ** 2))))


def test_quantise_signal_rounds_half_up() -> None:
    x = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert quantise_signal(x, 1).tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert quantise_signal(x, 2).tolist() == pytest.approx([0.0, 1 / 3, 2 / 3, 2 / 3, 1.0])


def test_quantise_signal_tiny_range_unchanged() -> None:
    x = np.array([0.0, 5e-324])
    assert quantise_signal(x, 12).tolist() == x.tolist()
    assert rms_error(x, 12) == 0.0


def test_rms_error_shrinks_with_bits() -> None:
    x = np.sin(np.linspace(0, 2 * np.pi, 1000))
    errors = [rms_error(x, bits) for bits in (1, 2, 3, 4, 8)]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 0.01


@pytest.mark.parametrize("bits", [0, 17, 2.5, True])
def test_quantise_signal_rejects_bits(bits: object) -> None:
    with pytest.raises(ValueError, match=f"bits={bits!r}"):
        quantise_signal(np.array([0.0, 1.0]), bits)


def test_quantise_signal_rejects_nan() -> None:
    with pytest.raises(ValueError, match="nan"):
        quantise_signal(np.array([0.0, math.nan]), 4)


# --- data validation -------------------------------------------------------------------

def _broken_copy(tmp_path: Path, name: str, edit: Callable[[list[list[str]]], int]) -> tuple[Path, int]:
    """Copy the data folder, apply ``edit`` to one TSV (as rows of cells) and return the folder and edited line."""
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    path = folder / name
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    line = edit(rows)
    path.write_text("\n".join("\t".join(cells) for cells in rows) + "\n", encoding="utf-8")
    return folder, line


def _assert_error(folder: Path, name: str, line: int, column: str) -> str:
    with pytest.raises(DataError) as raised:
        load_model(folder)
    message = str(raised.value)
    assert f"{name}:{line}:" in message
    assert f"'{column}'" in message
    assert "hint:" in message
    return message


def _column(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


def test_missing_column_raises(tmp_path: Path) -> None:
    def drop_note(rows: list[list[str]]) -> int:
        index = _column(rows, "label")
        for cells in rows:
            del cells[index]
        return 1

    folder, line = _broken_copy(tmp_path, "coefficients.tsv", drop_note)
    _assert_error(folder, "coefficients.tsv", line, "label")


def test_non_numeric_value_raises(tmp_path: Path) -> None:
    def spoil(rows: list[list[str]]) -> int:
        rows[5][_column(rows, "value")] = "0.9x"
        return 6

    folder, line = _broken_copy(tmp_path, "coefficients.tsv", spoil)
    message = _assert_error(folder, "coefficients.tsv", line, "value")
    assert "'0.9x'" in message


def test_negative_params_in_models_raises(tmp_path: Path) -> None:
    def negate(rows: list[list[str]]) -> int:
        rows[3][_column(rows, "params")] = "-8030261248"
        return 4

    folder, line = _broken_copy(tmp_path, "models.tsv", negate)
    message = _assert_error(folder, "models.tsv", line, "params")
    assert "-8030261248" in message


@pytest.mark.parametrize("name", ["coefficients.tsv", "calibration.tsv", "models.tsv"])
def test_row_without_source_raises(tmp_path: Path, name: str) -> None:
    column = "mmlu_source" if name == "models.tsv" else "source"

    def blank(rows: list[list[str]]) -> int:
        rows[7][_column(rows, column)] = ""
        return 8

    folder, line = _broken_copy(tmp_path, name, blank)
    _assert_error(folder, name, line, column)


def test_source_without_url_raises(tmp_path: Path) -> None:
    def unlink(rows: list[list[str]]) -> int:
        rows[2][_column(rows, "source")] = "Meta's model card"
        return 3

    folder, line = _broken_copy(tmp_path, "calibration.tsv", unlink)
    message = _assert_error(folder, "calibration.tsv", line, "source")
    assert "Meta's model card" in message


def test_row_with_missing_tab_raises(tmp_path: Path) -> None:
    def merge(rows: list[list[str]]) -> int:
        rows[4][0:2] = [rows[4][0] + " " + rows[4][1]]
        return 5

    folder, line = _broken_copy(tmp_path, "calibration.tsv", merge)
    with pytest.raises(DataError, match="cells") as raised:
        load_model(folder)
    assert f"calibration.tsv:{line}:" in str(raised.value)


def test_unknown_calibration_method_raises(tmp_path: Path) -> None:
    def rename(rows: list[list[str]]) -> int:
        rows[1][_column(rows, "method")] = "INT5"
        return 2

    folder, line = _broken_copy(tmp_path, "calibration.tsv", rename)
    _assert_error(folder, "calibration.tsv", line, "method")


def test_coefficient_out_of_range_raises(tmp_path: Path) -> None:
    def too_good(rows: list[list[str]]) -> int:
        for number, cells in enumerate(rows):
            if cells[_column(rows, "key")] == "INT4" and cells[_column(rows, "parameter")] == "quality":
                cells[_column(rows, "value")] = "94"
                return number + 1
        raise AssertionError("no INT4 quality row")

    folder, line = _broken_copy(tmp_path, "coefficients.tsv", too_good)
    _assert_error(folder, "coefficients.tsv", line, "value")


def test_shrinks_storage_must_be_zero_or_one(tmp_path: Path) -> None:
    def halfway(rows: list[list[str]]) -> int:
        for number, cells in enumerate(rows):
            if cells[_column(rows, "key")] == "one_shot" and cells[_column(rows, "parameter")] == "shrinks_storage":
                cells[_column(rows, "value")] = "0.5"
                return number + 1
        raise AssertionError("no one_shot shrinks_storage row")

    folder, line = _broken_copy(tmp_path, "coefficients.tsv", halfway)
    message = _assert_error(folder, "coefficients.tsv", line, "value")
    assert "neither 0 nor 1" in message


def test_shrinks_storage_row_required(tmp_path: Path) -> None:
    def drop(rows: list[list[str]]) -> int:
        for number, cells in enumerate(rows):
            if cells[_column(rows, "key")] == "structured" and cells[_column(rows, "parameter")] == "shrinks_storage":
                del rows[number]
                return number + 1
        raise AssertionError("no structured shrinks_storage row")

    folder, _line = _broken_copy(tmp_path, "coefficients.tsv", drop)
    with pytest.raises(DataError, match="shrinks_storage"):
        load_model(folder)
