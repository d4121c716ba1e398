"""The compression model behind every number in the essay.

Footprint: a model of N parameters stored at b bits per weight takes N × b / 8 bytes,
reported in decimal GB (8e9 parameters at FP16 = 16 GB, at INT4 = 4 GB). Pruning
lowers the effective (non-zero) parameter count N(1 − p), but only structured
pruning shrinks the stored file: unstructured methods leave zeros in dense tensors,
which dense runtimes such as llama.cpp store and load in full. ``stored_params``
gives the count that takes memory and ``effective_params`` the non-zero count.

Quality: each technique multiplies quality by a factor in [0, 1],

    Q = Q0 × q_bits(precision) × q_prune(p, method) × q_distil(k) × q_rank(ρ),

clamped to [0, Q0]. Q0 is a model's quality index, 100 for Llama-3.1-8B at BF16
(MMLU 66.7 in Meta's model card). The factors are independent, so the order in which
techniques are applied does not change Q. Structured pruning with recovery training
and distillation are calibrated partly on the same published models (Minitron,
Llama 3.2), so stacking both sliders counts that loss twice.

Perplexity is not quality. Published perplexities are put on the quality scale by

    q = max(0, 1 − γ × ln(ppl / ppl_dense)),

i.e. each nat of extra cross-entropy loss costs γ of quality. γ is fitted to the only
published pairs of perplexity and task accuracy for the same compressed model
(LLM-Pruner on LLaMA-7B, zero-shot accuracy). Task accuracy ratios (MMLU, zero-shot
averages) are used as they are. See docs/calibration.md for every published point
beside the model.

Coefficients come from ``data/coefficients.tsv``, published results from
``data/calibration.tsv`` and real models from ``data/models.tsv``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .tables import CalibrationRow, Coefficient, RealModel, read_calibration, read_coefficients, read_models

DEFAULT_METHOD = "one_shot"
"""Pruning method used when none is given: one-shot unstructured (SparseGPT, Wanda)."""

PRUNE_GRID = np.round(np.arange(96) * 0.01, 2)
"""Sparsity steps of the pruning slider: 0.00 to 0.95 in steps of 0.01."""

DISTIL_GRID = np.round(1.0 + np.arange(91) * 0.1, 1)
"""Teacher/student size ratios of the distillation slider: 1.0 to 10.0 in steps of 0.1."""

RANK_GRID = np.round(np.arange(1, 21) * 0.05, 2)
"""Kept-rank ratios r/d of the low-rank slider: 0.05 to 1.00 in steps of 0.05."""

GIB = 2**30
MIB = 2**20
BYTES_PER_GB = 1e9


@dataclass(frozen=True)
class Precision:
    """A number format for weights: bits per weight and the quality factor it keeps.

    ``kind`` is ``plain`` (idealised storage at the nominal width), ``group-wise``
    (integers with one scale per group) or ``k-quant`` (llama.cpp file formats,
    bits measured from real files). ``source`` is the source of the quality factor,
    ``bits_source`` that of the width.
    """

    name: str
    bits: float
    quality: float
    label: str
    source: str
    kind: str
    bits_source: str


@dataclass(frozen=True)
class PruningMethod:
    """A pruning method's quality curve: a gentle quadratic loss, then a cubic cliff.

    q(p) = (1 − gentle_cost × p²) × (1 − u³), with u = clip((p − cliff_start) / cliff_width, 0, 1).
    The cliff reaches zero at p = cliff_start + cliff_width, which is at most 1.
    """

    key: str
    label: str
    gentle_cost: float
    cliff_start: float
    cliff_width: float
    source: str
    shrinks_storage: bool = False
    """True when pruned weights leave the stored file (structured pruning), False when they stay as zeros."""

    @property
    def zero_point(self) -> float:
        """The fraction pruned at which the curve reaches zero quality: cliff_start + cliff_width."""
        return self.cliff_start + self.cliff_width

    def nearly_free_end(self, cost: float = 0.02) -> float:
        """Return the fraction pruned at which the gentle quadratic term alone costs ``cost`` of quality.

        Solves gentle_cost × p² = cost, capped at the cliff's start.
        """
        if self.gentle_cost == 0:
            return self.cliff_start
        return min(self.cliff_start, math.sqrt(cost / self.gentle_cost))

    def factor(self, p: np.ndarray) -> np.ndarray:
        gentle = 1.0 - self.gentle_cost * p**2
        u = np.clip((p - self.cliff_start) / self.cliff_width, 0.0, 1.0)
        return gentle * (1.0 - u**3)


@dataclass(frozen=True)
class CalibrationPoint(CalibrationRow):
    """A published result (all columns of calibration.tsv) beside the model's value.

    For quality techniques ``observed`` is the published result on the quality scale
    (accuracy ratio, or perplexity ratio mapped with γ) and ``unit`` is ``"quality"``.
    For ``footprint`` rows ``observed`` is the file size in ``unit`` (GB, GiB or MiB).
    ``residual`` is observed − model_value.
    """

    observed: float
    model_value: float
    residual: float
    unit: str

    @classmethod
    def beside(cls, row: CalibrationRow, observed: float, model_value: float, unit: str) -> "CalibrationPoint":
        columns = {field.name: getattr(row, field.name) for field in fields(CalibrationRow)}
        return cls(**columns, observed=observed, model_value=model_value, residual=observed - model_value, unit=unit)


def _as_array(value: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a number") from None


def _first_outside(values: np.ndarray, low: float, high: float) -> float | None:
    """Return the first value outside [low, high], or None. NaN and ±inf count as outside."""
    bad = values[~(np.isfinite(values) & (values >= low) & (values <= high))]
    return float(bad.flat[0]) if bad.size else None


def _checked(value: Any, name: str, low: float, high: float, meaning: str) -> np.ndarray:
    """Return ``value`` as a float array, raising ValueError that names the first value outside [low, high]."""
    values = _as_array(value, name)
    bad = _first_outside(values, low, high)
    if bad is not None:
        raise ValueError(f"{name}={bad!r} is outside [{low:g}, {high:g}]. Pass {meaning}.")
    return values


def _result(values: np.ndarray, *inputs: Any) -> float | np.ndarray:
    """Return a Python float when every input is a scalar, and the array otherwise."""
    return float(values) if all(np.ndim(value) == 0 for value in inputs) else values


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return _is_real(value) and math.isfinite(value) and int(value) == value


def factorised_matrix_params(d: int, r: int) -> int:
    """Return the parameter count 2·d·r of a d×d matrix factorised as (d×r)(r×d).

    The factorisation stores fewer than the dense d² parameters only when r < d/2.
    """
    if not _is_whole(d) or d < 1:
        raise ValueError(f"matrix size d={d!r} must be a positive integer")
    if not _is_whole(r) or r < 0:
        raise ValueError(f"rank r={r!r} must be a non-negative integer")
    if r > d:
        raise ValueError(f"rank r={r!r} exceeds the matrix size d={d!r}. A d×d matrix has rank at most d.")
    return 2 * int(d) * int(r)


class CompressionModel:
    """Footprint and quality of a compressed language model, with published points beside it."""

    def __init__(
        self,
        coefficients: dict[tuple[str, str, str], Coefficient],
        calibration: list[CalibrationRow],
        real_models: list[RealModel],
        paths: dict[str, Path],
    ) -> None:
        self._coefficients = coefficients
        self._paths = paths
        self.precisions = _precisions(coefficients, paths["coefficients"])
        self.pruning_methods = _pruning_methods(coefficients, paths["coefficients"])
        self.gamma = _coefficient(coefficients, paths["coefficients"], "mapping", "perplexity", "gamma", 0.0, 10.0).value
        self.beta = _coefficient(coefficients, paths["coefficients"], "distil", "default", "beta", 0.0, 10.0).value
        self.rank_floor = _coefficient(coefficients, paths["coefficients"], "rank", "default", "floor_ratio", 0.0, 0.99).value
        self.rank_exponent = _coefficient(coefficients, paths["coefficients"], "rank", "default", "exponent", 0.01, 100.0).value
        self.factorised_share = _coefficient(coefficients, paths["coefficients"], "rank", "default", "factorised_share", 0.0, 1.0).value
        self.reference_mmlu = _coefficient(coefficients, paths["coefficients"], "index", "llama31_8b", "mmlu", 1.0, 100.0).value
        self.real_models = real_models
        self.calibration = [self._evaluate(row) for row in calibration]

    def coefficient(self, group: str, key: str, parameter: str) -> Coefficient:
        """Return one row of coefficients.tsv, with its source and note."""
        return self._coefficients[(group, key, parameter)]

    # --- footprint -------------------------------------------------------------

    def bits_per_weight(self, precision: str | float) -> float:
        """Return the bits per weight of a precision name, or a number of bits unchanged."""
        if isinstance(precision, str):
            return self._precision(precision).bits
        return float(precision)

    def weight_gb(self, params: Any, bits: str | float) -> float | np.ndarray:
        """Return the weight storage in decimal GB: params × bits / 8 / 1e9.

        ``bits`` is bits per weight or a precision name such as ``"INT4"``.
        """
        counts = _checked(params, "params", 0.0, math.inf, "a parameter count of 0 or more")
        width = self.bits_per_weight(bits)
        if not (math.isfinite(width) and width > 0):
            raise ValueError(f"bits={width!r} must be a positive number of bits per weight")
        return _result(counts * width / 8.0 / BYTES_PER_GB, params)

    def rank_param_fraction(self, rank_ratio: Any) -> float | np.ndarray:
        """Return the fraction of a model's parameters kept at kept-rank ratio ρ = r/d.

        A d×d matrix factorised at rank r stores 2·d·r = 2ρ·d² parameters, which saves
        something only when ρ < 0.5. At ρ ≥ 0.5 the truncated matrix is cheaper to store
        dense, so its share is min(1, 2ρ). Only ``factorised_share`` of the weights (the
        matrices inside the transformer blocks, 0.869 of Llama-3.1-8B) is factorised; the
        embedding and output matrices stay dense.
        """
        rho = _checked(rank_ratio, "rank_ratio", 0.0, 1.0, "a kept-rank ratio r/d between 0 and 1")
        share = self.factorised_share
        return _result(1.0 - share + share * np.minimum(1.0, 2.0 * rho), rank_ratio)

    def effective_params(self, params: Any, prune: Any = 0.0, distil: Any = 1.0, rank_ratio: Any = 1.0) -> float | np.ndarray:
        """Return the non-zero parameter count after compression: N × (1 − p) / k × rank_param_fraction(ρ).

        ``prune`` is the fraction p of weights removed, ``distil`` the teacher/student
        size ratio k ≥ 1 and ``rank_ratio`` the kept-rank ratio ρ = r/d. This is the
        count that does work, not the count stored: see :meth:`stored_params`.
        """
        counts = _checked(params, "params", 0.0, math.inf, "a parameter count of 0 or more")
        p = _checked(prune, "prune", 0.0, 1.0, "a pruned fraction between 0 (dense) and 1 (all weights removed)")
        k = _checked(distil, "distil", 1.0, math.inf, "a teacher/student size ratio k of 1 or more")
        rank_fraction = self.rank_param_fraction(rank_ratio)
        return _result(counts * (1.0 - p) / k * rank_fraction, params, prune, distil, rank_ratio)

    def stored_params(
        self, params: Any, prune: Any = 0.0, method: str = DEFAULT_METHOD, distil: Any = 1.0, rank_ratio: Any = 1.0
    ) -> float | np.ndarray:
        """Return the parameter count a dense runtime stores after compression.

        Equals :meth:`effective_params` when ``method`` shrinks storage (structured
        pruning), and otherwise ignores p, because zeroed weights keep their place in
        dense tensors: N / k × rank_param_fraction(ρ).
        """
        curve = self._pruning_method(method)
        effective = self.effective_params(params, prune, distil, rank_ratio)
        if curve.shrinks_storage:
            return effective
        dense = np.broadcast_to(np.asarray(self.effective_params(params, 0.0, distil, rank_ratio)), np.shape(effective))
        return _result(dense.astype(float), params, prune, distil, rank_ratio)

    def stored_gb(
        self,
        params: Any,
        bits: str | float,
        prune: Any = 0.0,
        method: str = DEFAULT_METHOD,
        distil: Any = 1.0,
        rank_ratio: Any = 1.0,
    ) -> float | np.ndarray:
        """Return the stored weight size in decimal GB: weight_gb(stored_params(...), bits)."""
        return self.weight_gb(self.stored_params(params, prune, method, distil, rank_ratio), bits)

    # --- quality factors -------------------------------------------------------

    def q_bits(self, name: str) -> float:
        """Return the quality factor of a precision (``"INT4"`` → 0.94)."""
        return self._precision(name).quality

    def q_prune(self, p: Any, method: str = DEFAULT_METHOD) -> float | np.ndarray:
        """Return the quality factor after removing a fraction p of the weights with ``method``."""
        curve = self._pruning_method(method)
        values = _checked(p, "p", 0.0, 1.0, "a pruned fraction between 0 (dense) and 1 (all weights removed)")
        return _result(curve.factor(values), p)

    def q_distil(self, k: Any) -> float | np.ndarray:
        """Return the quality factor of a student k times smaller than its teacher: max(0, 1 − β ln k)."""
        values = _checked(k, "k", 1.0, math.inf, "a teacher/student size ratio k of 1 or more")
        return _result(np.maximum(0.0, 1.0 - self.beta * np.log(values)), k)

    def q_rank(self, rho: Any) -> float | np.ndarray:
        """Return the quality factor at kept-rank ratio ρ = r/d of truncated SVD.

        q = 1 − ((1 − ρ) / (1 − ρ0))^n for ρ > ρ0 and 0 below, with ρ0 = ``rank_floor``
        and n = ``rank_exponent`` fitted to SVD-LLM on LLaMA-7B. q(1) = 1.
        """
        values = _checked(rho, "rho", 0.0, 1.0, "a kept-rank ratio r/d between 0 and 1")
        lost = np.clip((1.0 - values) / (1.0 - self.rank_floor), 0.0, 1.0) ** self.rank_exponent
        return _result(1.0 - lost, rho)

    def quality_from_perplexity(self, ratio: Any) -> float | np.ndarray:
        """Map a perplexity ratio ppl / ppl_dense onto the quality scale: max(0, 1 − γ ln ratio)."""
        values = _checked(ratio, "perplexity ratio", 1e-12, math.inf, "ppl / ppl_dense, a positive number")
        return _result(np.maximum(0.0, 1.0 - self.gamma * np.log(values)), ratio)

    def factors(
        self,
        precision: str = "BF16",
        prune: Any = 0.0,
        method: str = DEFAULT_METHOD,
        distil: Any = 1.0,
        rank_ratio: Any = 1.0,
    ) -> dict[str, float | np.ndarray]:
        """Return each quality factor by name: q_bits, q_prune, q_distil, q_rank."""
        return {
            "q_bits": self.q_bits(precision),
            "q_prune": self.q_prune(prune, method),
            "q_distil": self.q_distil(distil),
            "q_rank": self.q_rank(rank_ratio),
        }

    def quality(
        self,
        q0: float = 100.0,
        precision: str = "BF16",
        prune: Any = 0.0,
        method: str = DEFAULT_METHOD,
        distil: Any = 1.0,
        rank_ratio: Any = 1.0,
    ) -> float | np.ndarray:
        """Return Q0 × the product of all factors, clamped to [0, Q0]."""
        if not (_is_real(q0) and math.isfinite(q0) and q0 >= 0):
            raise ValueError(f"q0={q0!r} must be a quality index of 0 or more")
        factors = self.factors(precision, prune, method, distil, rank_ratio)
        product = np.prod(np.broadcast_arrays(*factors.values()), axis=0)
        return _result(np.clip(q0 * product, 0.0, q0), prune, distil, rank_ratio)

    # --- calibration -----------------------------------------------------------

    def calibration_points(self, technique: str | None = None, method: str | None = None, role: str | None = None) -> list[CalibrationPoint]:
        """Return the calibration points matching every filter that is given."""
        return [
            point for point in self.calibration
            if (technique is None or point.technique == technique)
            and (method is None or point.method == method)
            and (role is None or point.role == role)
        ]

    def observed_quality(self, row: CalibrationRow) -> float:
        """Put a published result on the quality scale.

        Perplexity metrics (``*_ppl``) are mapped with γ, ``retention`` is used as
        published and every other metric is divided by its uncompressed baseline.
        """
        if row.metric.endswith("_ppl"):
            return self.quality_from_perplexity(row.value / row.baseline)
        if row.metric == "retention":
            return row.value
        return row.value / row.baseline

    def _evaluate(self, row: CalibrationRow) -> CalibrationPoint:
        known = self.pruning_methods if row.technique == "pruning" else self.precisions
        if row.technique in ("quantisation", "footprint", "pruning") and row.method not in known:
            raise self._row_error(row, "method", f"unknown method {row.method!r}, expected one of {', '.join(known)}")
        try:
            if row.technique == "footprint":
                return self._evaluate_footprint(row)
            observed = self.observed_quality(row)
            predicted = self._model_factor(row)
        except KeyError as missing:
            raise self._row_error(row, "setting", f"{row.setting!r} has no {missing.args[0]}=") from None
        except ValueError as error:
            raise self._row_error(row, "setting", str(error)) from None
        return CalibrationPoint.beside(row, observed, predicted, "quality")

    def _evaluate_footprint(self, row: CalibrationRow) -> CalibrationPoint:
        units = {"size_gb": ("GB", BYTES_PER_GB), "size_gib": ("GiB", GIB), "size_mib": ("MiB", MIB)}
        if row.metric not in units:
            raise ValueError(f"footprint metric {row.metric!r} is not one of {', '.join(units)}")
        unit, bytes_per_unit = units[row.metric]
        predicted = self.weight_gb(row.settings["params"], row.method) * BYTES_PER_GB / bytes_per_unit
        return CalibrationPoint.beside(row, row.value, predicted, unit)

    def _row_error(self, row: CalibrationRow, column: str, problem: str) -> DataError:
        return DataError(
            f"column '{column}': {problem}",
            path=self._paths["calibration"],
            line=row.line,
            hint="each technique needs its setting: p= (pruning), k= (distillation), rho= (lowrank), "
            "params= (footprint), ppl= and ppl_dense= (mapping). Quantisation and footprint rows name a precision as method",
        )

    def _model_factor(self, row: CalibrationRow) -> float:
        settings = row.settings
        if row.technique == "quantisation":
            return self.q_bits(row.method)
        if row.technique == "pruning":
            return self.q_prune(settings["p"], row.method)
        if row.technique == "distillation":
            return self.q_distil(settings["k"])
        if row.technique == "lowrank":
            return self.q_rank(settings["rho"])
        return self.quality_from_perplexity(settings["ppl"] / settings["ppl_dense"])

    # --- output for figures and prose ------------------------------------------

    def lookup_tables(self) -> dict[str, Any]:
        """Return every factor precomputed on its slider's grid, as plain lists for embedding.

        Factors multiply, so the browser finds each one by grid index and multiplies
        them. Keys: ``prune_grid`` with ``prune`` (one list per method key),
        ``prune_shrinks_storage`` (per method key), ``distil_grid`` with ``distil``, ``rank_grid`` with ``rank`` and
        ``rank_param_fraction``, and ``precisions`` (name, label, bits, quality, kind).
        """
        return {
            "default_method": DEFAULT_METHOD,
            "prune_grid": PRUNE_GRID.tolist(),
            "prune": {key: self.q_prune(PRUNE_GRID, key).tolist() for key in self.pruning_methods},
            "prune_labels": {key: method.label for key, method in self.pruning_methods.items()},
            "prune_shrinks_storage": {key: method.shrinks_storage for key, method in self.pruning_methods.items()},
            "distil_grid": DISTIL_GRID.tolist(),
            "distil": self.q_distil(DISTIL_GRID).tolist(),
            "rank_grid": RANK_GRID.tolist(),
            "rank": self.q_rank(RANK_GRID).tolist(),
            "rank_param_fraction": self.rank_param_fraction(RANK_GRID).tolist(),
            "precisions": [
                {"name": p.name, "label": p.label, "bits": p.bits, "quality": p.quality, "kind": p.kind}
                for p in self.precisions.values()
            ],
        }

    def prose_values(self) -> dict[str, str]:
        """Return the formatted numbers the essay's prose uses, keyed by lower_snake_case name."""
        return _prose_values(self)

    def real_model(self, name: str) -> RealModel:
        """Return the real model called ``name`` from models.tsv."""
        for model in self.real_models:
            if model.name == name:
                return model
        raise KeyError(f"no model {name!r} in models.tsv")

    def _pruning_method(self, method: str) -> PruningMethod:
        curve = self.pruning_methods.get(method) if isinstance(method, str) else None
        if curve is None:
            raise ValueError(f"unknown pruning method {method!r}; use one of {', '.join(self.pruning_methods)}")
        return curve

    def _precision(self, name: str) -> Precision:
        precision = self.precisions.get(name) if isinstance(name, str) else None
        if precision is None:
            raise ValueError(f"unknown precision {name!r}; use one of {', '.join(self.precisions)}")
        return precision


def _coefficient(
    coefficients: dict[tuple[str, str, str], Coefficient],
    path: Path,
    group: str,
    key: str,
    parameter: str,
    low: float,
    high: float,
) -> Coefficient:
    """Return one coefficient, raising DataError if it is missing or outside [low, high]."""
    found = coefficients.get((group, key, parameter))
    if found is None:
        raise DataError(
            f"column 'parameter': no row for group={group} key={key} parameter={parameter}",
            path=path,
            hint="add the row with its value and source",
        )
    if not low <= found.value <= high:
        raise DataError(
            f"column 'value': {group}/{key}/{parameter} = {found.value!r} is outside [{low:g}, {high:g}]",
            path=path,
            line=found.line,
            hint="correct the value, which is probably in the wrong unit",
        )
    return found


def _precisions(coefficients: dict[tuple[str, str, str], Coefficient], path: Path) -> dict[str, Precision]:
    names = [key for group, key, parameter in coefficients if group == "precision" and parameter == "bits"]
    precisions = {}
    for name in names:
        bits = _coefficient(coefficients, path, "precision", name, "bits", 0.5, 64.0)
        quality = _coefficient(coefficients, path, "precision", name, "quality", 0.0, 1.0)
        precisions[name] = Precision(name, bits.value, quality.value, bits.label or name, quality.source, bits.kind or "plain", bits.source)
    if not precisions:
        raise DataError("column 'group': no precision rows", path=path, hint="add bits and quality rows for FP16, INT4 and the other formats")
    return precisions


def _pruning_methods(coefficients: dict[tuple[str, str, str], Coefficient], path: Path) -> dict[str, PruningMethod]:
    keys = list(dict.fromkeys(key for group, key, _ in coefficients if group == "prune"))
    methods = {}
    for key in keys:
        gentle = _coefficient(coefficients, path, "prune", key, "gentle_cost", 0.0, 1.0)
        start = _coefficient(coefficients, path, "prune", key, "cliff_start", 0.0, 0.99)
        width = _coefficient(coefficients, path, "prune", key, "cliff_width", 0.01, 1.0)
        shrinks = _coefficient(coefficients, path, "prune", key, "shrinks_storage", 0.0, 1.0)
        if shrinks.value not in (0.0, 1.0):
            raise DataError(
                f"column 'value': shrinks_storage = {shrinks.value!r} for {key} is neither 0 nor 1",
                path=path,
                line=shrinks.line,
                hint="write 1 if pruned weights leave the stored file (structured), 0 if they stay as zeros",
            )
        if start.value + width.value > 1.0 + 1e-9:
            raise DataError(
                f"column 'value': cliff_start + cliff_width = {start.value + width.value:g} for {key} exceeds 1",
                path=path,
                line=width.line,
                hint="the cliff must reach zero quality by p = 1, so shorten cliff_width",
            )
        methods[key] = PruningMethod(
            key, gentle.label or key, gentle.value, start.value, width.value, gentle.source, shrinks.value == 1.0
        )
    if DEFAULT_METHOD not in methods:
        raise DataError(f"column 'key': no prune rows for {DEFAULT_METHOD!r}", path=path, hint="add its gentle_cost, cliff_start and cliff_width")
    return methods


def _format_gb(value: float) -> str:
    """Format decimal GB for prose: whole numbers from 10 GB, one decimal below, no trailing ".0"."""
    text = f"{value:.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")
    return f"{text} GB"


def _format_percent(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"


def _format_decimal(value: float, places: int) -> str:
    return f"{value:.{places}f}"


def _prose_values(model: CompressionModel) -> dict[str, str]:
    """Return the prose numbers: footprints of Llama-3.1-8B, level counts, factors and examples."""
    params_8b = model.real_model("Llama-3.1-8B").params
    int4_retention = [point.observed for point in model.calibration_points("quantisation", "INT4") if point.metric == "mmlu"]
    d, r = 4096, 512
    values = {
        "llama31_8b_mmlu": f"{model.reference_mmlu:g}",
        "fp32_values": f"{2**32 / 1e9:.1f} billion",
        "fp16_values": f"{2**16:,}",
        "int4_g128_bpw": f"{model.bits_per_weight('INT4-g128'):g}",
        "q4_k_m_bpw": _format_decimal(model.bits_per_weight("Q4_K_M"), 1),
        "q4_k_m_8b_gb": _format_gb(model.weight_gb(params_8b, "Q4_K_M")),
        "q_q4_k_m": _format_decimal(model.q_bits("Q4_K_M"), 2),
        "int4_published_range": f"{100 * min(int4_retention):.0f}–{_format_percent(max(int4_retention))}",
        "ppl_gamma": _format_decimal(model.gamma, 2),
        "distil_beta": _format_decimal(model.beta, 2),
        "q_distil_2": _format_percent(model.q_distil(2.0)),
        "q_distil_4": _format_percent(model.q_distil(4.0)),
        "q_rank_50": _format_percent(model.q_rank(0.5)),
        "q_rank_25": _format_percent(model.q_rank(0.25)),
        "lowrank_example_d": f"{d:,}",
        "lowrank_example_r": f"{r:,}",
        "lowrank_dense_params": f"{d * d:,}",
        "lowrank_factored_params": f"{factorised_matrix_params(d, r):,}",
    }
    for name in ("FP32", "FP16", "INT8", "INT4"):
        values[f"{name.lower()}_8b_gb"] = _format_gb(model.weight_gb(params_8b, name))
    for bits in (8, 4, 3, 2):
        values[f"levels_int{bits}"] = f"{2**bits:,}"
        values[f"q_int{bits}"] = _format_decimal(model.q_bits(f"INT{bits}"), 2)
    for percent in (30, 50, 60, 70, 90):
        values[f"q_prune_{percent}"] = _format_percent(model.q_prune(percent / 100))
    for method in ("magnitude", "structured"):
        values[f"q_prune_{method}_50"] = _format_percent(model.q_prune(0.5, method))
    default_curve = model.pruning_methods[DEFAULT_METHOD]
    values["prune_nearly_free_end"] = _format_percent(default_curve.nearly_free_end())
    values["prune_cliff_start"] = _format_percent(default_curve.cliff_start)
    values["prune_zero_point"] = _format_percent(default_curve.zero_point)
    values["prune_50_stored_gb"] = _format_gb(model.stored_gb(params_8b, "BF16", 0.5, DEFAULT_METHOD))
    values["prune_structured_50_stored_gb"] = _format_gb(model.stored_gb(params_8b, "BF16", 0.5, "structured"))
    values["q4_k_m_bpw_2dp"] = _format_decimal(model.bits_per_weight("Q4_K_M"), 2)
    return dict(sorted(values.items()))


def load_model(data_dir: Path) -> CompressionModel:
    """Read and validate the data files in ``data_dir`` and return the model.

    Raises DataError naming the file, line and column of the first problem.
    """
    data_dir = Path(data_dir)
    paths = {
        "coefficients": data_dir / "coefficients.tsv",
        "calibration": data_dir / "calibration.tsv",
        "models": data_dir / "models.tsv",
    }
    return CompressionModel(
        read_coefficients(paths["coefficients"]),
        read_calibration(paths["calibration"]),
        read_models(paths["models"]),
        paths,
    )


def quantise_signal(x: np.ndarray, bits: int) -> np.ndarray:
    """Round a 1-D signal onto 2^bits evenly spaced levels spanning its own min to max.

    This is the min–max (asymmetric) grid: lo = min(x), step = (max(x) − lo) / (2^bits − 1),
    and each value becomes lo + floor((x − lo) / step + 0.5) × step. Rounding is half-up
    so that JavaScript's ``Math.floor(v + 0.5)`` gives the same levels. A signal whose
    step is zero in float64 (a constant signal) is returned unchanged.
    """
    values = np.asarray(x, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"x must be a non-empty 1-D array, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"x contains a non-finite value {float(values[~np.isfinite(values)][0])!r}")
    if isinstance(bits, bool) or int(bits) != bits or not 1 <= bits <= 16:
        raise ValueError(f"bits={bits!r} must be an integer from 1 to 16")
    lo, hi = float(values.min()), float(values.max())
    step = (hi - lo) / (2 ** int(bits) - 1)
    if step == 0.0:
        # A constant signal, or a range so small that the step underflows to zero.
        return values.copy()
    return lo + np.floor((values - lo) / step + 0.5) * step


def rms_error(x: np.ndarray, bits: int) -> float:
    """Return the root-mean-square difference between ``x`` and ``quantise_signal(x, bits)``."""
    values = np.asarray(x, dtype=float)
    return float(np.sqrt(np.mean((values - quantise_signal(values, bits)) ** 2)))


__all__ = [
    "DEFAULT_METHOD", "DISTIL_GRID", "PRUNE_GRID", "RANK_GRID",
    "CalibrationPoint", "CompressionModel", "Precision", "PruningMethod", "RealModel",
    "factorised_matrix_params", "load_model", "quantise_signal", "rms_error",
]
