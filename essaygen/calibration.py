"""Calibration report: every published point beside the model, and the fits behind the coefficients.

``python -m essaygen.calibration`` writes ``docs/calibration.md``. With ``--check`` it
writes nothing and exits with status 1 if the committed report differs from a fresh one.

The fits here recompute the coefficients in ``data/coefficients.tsv`` from the rows
of ``data/calibration.tsv`` marked ``fit``, so the report can show both side by side:

- γ (perplexity to quality) and β (distillation) by least squares through the origin;
- INT8, INT3, INT2, INT4-g128 and the llama.cpp formats by the arithmetic in their notes;
- the low-rank and pruning curves by grid search, compared by RMS residual.

The pruning grid keeps the methods in their essay order. Magnitude pruning has fit
points only at 50-70% sparsity, so its gentle_cost is held at the one-shot value. The
structured method's cliff may start no earlier than the one-shot cliff, which costs
about 0.004 of RMS residual against an unconstrained fit.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from .model import BYTES_PER_GB, GIB, CalibrationPoint, CompressionModel, PruningMethod, load_model
from .tables import source_url

REPO = Path(__file__).resolve().parent.parent
REPORT_PATH = REPO / "docs" / "calibration.md"
GENTLE_COST_CAP = 0.222
"""Largest gentle_cost the pruning fit may use: 0.222 × 0.3² keeps the cost at p = 0.3 under 2%."""


@dataclass(frozen=True)
class Derived:
    """A coefficient as stored in coefficients.tsv beside the value recomputed from calibration.tsv."""

    name: str
    stored: float
    derived: float
    derivation: str


@dataclass(frozen=True)
class CurveFit:
    """RMS residual over the fit rows for the stored coefficients and for the best grid point."""

    name: str
    points: int
    stored_rms: float
    best_rms: float
    best: tuple[float, ...]
    parameters: str


def _fit_points(model: CompressionModel, technique: str, method: str | None = None) -> list[CalibrationPoint]:
    return model.calibration_points(technique, method, role="fit")


def _through_origin(x: np.ndarray, y: np.ndarray) -> float:
    """Return the least-squares slope of y = slope × x."""
    return float(np.sum(x * y) / np.sum(x * x))


def fit_gamma(model: CompressionModel) -> float:
    """Fit γ in 1 − accuracy ratio = γ × ln(perplexity ratio) over the mapping rows."""
    points = _fit_points(model, "mapping")
    x = np.array([math.log(p.settings["ppl"] / p.settings["ppl_dense"]) for p in points])
    y = np.array([1.0 - p.observed for p in points])
    return _through_origin(x, y)


def fit_beta(model: CompressionModel) -> float:
    """Fit β in 1 − q = β × ln k over the distillation rows."""
    points = _fit_points(model, "distillation")
    x = np.array([math.log(p.settings["k"]) for p in points])
    y = np.array([1.0 - p.observed for p in points])
    return _through_origin(x, y)


def derive_precision_qualities(model: CompressionModel) -> dict[str, float]:
    """Recompute the quality factors that coefficients.tsv derives from calibration rows.

    INT8 is the mean observed retention of its rows, and INT4-g128 and each llama.cpp
    format the mean of their mapped perplexities. INT3 and INT2 scale the INT4 rule
    of thumb by the measured step from 4 bits in the same table:
    q_bits(INT4) × mean(q(b bits) / q(4 bits, same model and algorithm)).
    """
    points = _fit_points(model, "quantisation")
    by_method: dict[str, list[CalibrationPoint]] = {}
    for point in points:
        by_method.setdefault(point.method, []).append(point)

    derived = {}
    for method, rows in by_method.items():
        if method in ("INT3", "INT2"):
            continue
        derived[method] = float(np.mean([p.observed for p in rows]))
    four_bit = {(p.model, p.algorithm): p.observed for p in by_method.get("INT4-g128", [])}
    for method in ("INT3", "INT2"):
        steps = [p.observed / four_bit[(p.model, p.algorithm)] for p in by_method.get(method, [])]
        if steps:
            derived[method] = model.q_bits("INT4") * float(np.mean(steps))
    return derived


def derive_format_bits(model: CompressionModel) -> dict[str, float]:
    """Recompute bits per weight from the file sizes in the footprint fit rows: bytes × 8 / params."""
    bytes_per_unit = {"GB": BYTES_PER_GB, "GiB": GIB}
    return {
        p.method: p.value * bytes_per_unit[p.unit] * 8.0 / p.settings["params"]
        for p in _fit_points(model, "footprint")
    }


def _rms(residuals: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sqrt(np.mean(residuals**2, axis=axis))


def fit_rank(model: CompressionModel) -> CurveFit:
    """Grid-search the rank floor ρ0 and exponent n over the lowrank fit rows."""
    points = _fit_points(model, "lowrank")
    rho = np.array([p.settings["rho"] for p in points])
    observed = np.array([p.observed for p in points])
    floors = np.arange(0.0, 0.3001, 0.005)
    exponents = np.arange(1.0, 15.001, 0.05)
    floor, exponent = np.meshgrid(floors, exponents, indexing="ij")
    lost = np.clip((1.0 - rho) / (1.0 - floor[..., None]), 0.0, 1.0) ** exponent[..., None]
    rms = _rms(observed - (1.0 - lost))
    best = np.unravel_index(np.argmin(rms), rms.shape)
    stored = _rms(np.array([p.residual for p in points]))
    return CurveFit(
        "low rank", len(points), float(stored), float(rms[best]),
        (float(floors[best[0]]), float(exponents[best[1]])), "floor_ratio, exponent",
    )


def _prune_rms(cost: float, starts_widths: np.ndarray, p: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Return the RMS residual for one gentle cost and each (cliff_start, cliff_width) row."""
    t, w = starts_widths[:, 0:1], starts_widths[:, 1:2]
    u = np.clip((p - t) / w, 0.0, 1.0)
    return _rms(observed - (1.0 - cost * p**2) * (1.0 - u**3))


def fit_prune(
    model: CompressionModel,
    method: str,
    gentle_cost: float | None = None,
    min_cliff_start: float = 0.30,
) -> CurveFit:
    """Grid-search gentle_cost, cliff_start and cliff_width for one pruning method.

    The grid keeps gentle_cost ≤ 0.222 and cliff_start ≥ 0.3, so that the first 30%
    of pruning costs under 2%, and cliff_start + cliff_width ≤ 1. A given
    ``gentle_cost`` is held fixed; ``min_cliff_start`` raises the lowest cliff start.
    """
    points = _fit_points(model, "pruning", method)
    p = np.array([point.settings["p"] for point in points])
    observed = np.array([point.observed for point in points])
    costs = [gentle_cost] if gentle_cost is not None else np.arange(0.0, GENTLE_COST_CAP + 1e-9, 0.002)
    # Every (c, t, w) in itertools.product order, one gentle cost at a time:
    # a Python loop over the ~490,000 combinations dominated the build's time,
    # and the whole grid against every point at once took ~90 MB.
    starts, widths = np.meshgrid(np.arange(min_cliff_start, 0.951, 0.01), np.arange(0.05, 0.701, 0.01), indexing="ij")
    keep = starts + widths <= 1.0 + 1e-9
    starts_widths = np.stack([starts[keep], widths[keep]], axis=1)
    rms = np.concatenate([_prune_rms(float(c), starts_widths, p, observed) for c in costs])
    best = int(np.argmin(rms))
    stored = _rms(np.array([point.residual for point in points]))
    cost, row = divmod(best, len(starts_widths))
    return CurveFit(
        f"pruning, {method}", len(points), float(stored), float(rms[best]),
        (float(costs[cost]), *(float(v) for v in starts_widths[row])), "gentle_cost, cliff_start, cliff_width",
    )


def derived_coefficients(model: CompressionModel) -> list[Derived]:
    """Return each closed-form coefficient as stored and as recomputed from calibration.tsv."""
    rows = [
        Derived("gamma", model.gamma, fit_gamma(model), "least squares, technique mapping"),
        Derived("beta", model.beta, fit_beta(model), "least squares, technique distillation"),
    ]
    for name, value in derive_precision_qualities(model).items():
        rows.append(Derived(f"{name} quality", model.q_bits(name), value, "mean of its fit rows" if name not in ("INT3", "INT2") else "0.94 × step from 4 bits"))
    for name, value in derive_format_bits(model).items():
        rows.append(Derived(f"{name} bits", model.bits_per_weight(name), value, "file size × 8 / params"))
    return rows


def curve_fits(model: CompressionModel) -> list[CurveFit]:
    """Return the grid fits of the low-rank curve and of every pruning method."""
    one_shot = model.pruning_methods["one_shot"]
    return [
        fit_rank(model),
        fit_prune(model, "magnitude", gentle_cost=one_shot.gentle_cost),
        fit_prune(model, "one_shot"),
        fit_prune(model, "structured", min_cliff_start=one_shot.cliff_start),
    ]


# --- report ----------------------------------------------------------------------

def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def _source_link(source: str) -> str:
    """Return a short Markdown link: arXiv number, GitHub or Hugging Face repository, or host."""
    first = source_url(source)
    parsed = urlparse(first)
    parts = [part for part in parsed.path.split("/") if part]
    if parsed.netloc == "arxiv.org" and len(parts) >= 2:
        label = f"arXiv {parts[1]}"
    elif parsed.netloc in ("github.com", "huggingface.co") and len(parts) >= 2:
        label = f"{parts[0]}/{parts[1]}"
    else:
        label = parsed.netloc
    return f"[{label}]({first})"


def _number(value: float) -> str:
    """Format a published number with all the digits it was published with (up to 10)."""
    return f"{value:.10g}"


def _published(point: CalibrationPoint) -> str:
    if point.metric == "retention":
        return f"{_number(point.value)} kept"
    if point.technique == "footprint":
        return f"{_number(point.value)} {point.unit}"
    return f"{_number(point.value)} vs {_number(point.baseline)} ({point.metric})"


def _point_table(points: list[CalibrationPoint]) -> list[str]:
    lines = [
        "| model | method | algorithm | setting | published | observed | model | residual | role | source |",
        "|---|---|---|---|---|---:|---:|---:|---|---|",
    ]
    for p in points:
        lines.append(
            f"| {_cell(p.model)} | {_cell(p.method)} | {_cell(p.algorithm)} | {_cell(p.setting)} | {_cell(_published(p))} "
            f"| {p.observed:.3f} | {p.model_value:.3f} | {p.residual:+.3f} | {p.role} | {_source_link(p.source)} |"
        )
    return lines


SECTIONS = [
    ("quantisation", "Quantisation", "The model's factor is `q_bits(method)`. INT4 rows sit beside the rule of thumb 0.94; the spread is the point."),
    ("footprint", "Footprint", "Observed is the published file size; the model is params × bits / 8 in the same unit. Residuals are in that unit."),
    ("pruning", "Pruning", "The model's factor is `q_prune(p, method)`. Every curve keeps the loss over the first 30% "
     "of pruning under 2%, so LLM-Pruner's 20% point sits below the structured curve. Check rows on larger models "
     "show the cliff arriving later."),
    ("distillation", "Distillation", "The model's factor is `q_distil(k)` = max(0, 1 − β ln k), k = teacher params / student params."),
    ("lowrank", "Low rank", "The model's factor is `q_rank(rho)`, rho = r/d; a parameter compression ratio c is rho = (1 − c)/2."),
    ("mapping", "Perplexity against accuracy", "Observed is the accuracy ratio; the model value is the perplexity ratio mapped with γ."),
]


def _introduction(model: CompressionModel) -> list[str]:
    return [
        "# Calibration of the compression model",
        "",
        "Generated by `python -m essaygen.calibration` from `data/*.tsv`; do not edit by hand.",
        "",
        "## How published results reach the quality scale",
        "",
        "- A quality factor is the fraction of the uncompressed model's quality that survives, from 0 to 1.",
        "- Task accuracy (MMLU, zero-shot averages, GLUE) is used as the ratio compressed / uncompressed.",
        f"- Perplexity is mapped as q = max(0, 1 − γ ln(ppl / ppl_dense)) with γ = {model.gamma:.3f}: "
        "each nat of extra loss costs γ of quality. γ comes from the only published pairs of perplexity and "
        "task accuracy for one compressed model (LLM-Pruner, LLaMA-7B), so it is uncertain. Those zero-shot "
        "tasks include two-way choices with 50% chance accuracy, which compresses the accuracy ratio, and "
        "knowledge-heavy tasks lose more (LLM-KICK, [arXiv 2310.01382](https://arxiv.org/abs/2310.01382)).",
        "- The INT4 factor 0.94 is a deliberate rule of thumb, below most perplexity-derived values; the "
        "quantisation table shows the authors' own INT4 releases beside it.",
        "- Residual = observed − model. A positive residual means the published model kept more than the model predicts.",
        "- Role `fit` rows set a coefficient; `check` rows are shown only (larger models, other algorithms, claims).",
        "- Minitron and Llama 3.2 calibrate both structured pruning with recovery training and distillation, "
        "because they are both. Combining the two factors for one model counts that loss twice.",
        "",
    ]


def _coefficient_section(model: CompressionModel) -> list[str]:
    lines = [
        "## Coefficients recomputed from the data",
        "",
        "| coefficient | coefficients.tsv | from calibration.tsv | derivation |",
        "|---|---:|---:|---|",
    ]
    for row in derived_coefficients(model):
        lines.append(f"| {row.name} | {row.stored:.4f} | {row.derived:.4f} | {row.derivation} |")
    lines += [
        "",
        "| curve | fit points | RMS residual (stored) | RMS residual (best grid point) | best grid point |",
        "|---|---:|---:|---:|---|",
    ]
    for fit in curve_fits(model):
        best = ", ".join(f"{v:.3f}" for v in fit.best)
        lines.append(f"| {fit.name} | {fit.points} | {fit.stored_rms:.4f} | {fit.best_rms:.4f} | {fit.parameters} = {best} |")
    lines += ["", "Stored pruning and low-rank coefficients:", ""]
    for method in model.pruning_methods.values():
        lines.append(_method_line(method))
    lines.append(f"- low rank: floor_ratio {model.rank_floor:g}, exponent {model.rank_exponent:g}, factorised_share {model.factorised_share:g}")
    return lines + [""]


def _method_line(method: PruningMethod) -> str:
    return (
        f"- {method.label} (`{method.key}`): gentle_cost {method.gentle_cost:g}, cliff_start {method.cliff_start:g}, "
        f"cliff_width {method.cliff_width:g}"
    )


def _models_section(model: CompressionModel) -> list[str]:
    lines = [
        "## Real models",
        "",
        f"Quality index = 100 × MMLU / Llama-3.1-8B's MMLU in the same source ({model.reference_mmlu:g} in Meta's card "
        "where the source has none).",
        "",
        "| model | params | MMLU | reference | quality index | released | MMLU source |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for real in model.real_models:
        lines.append(
            f"| {real.name} | {real.params / 1e9:.2f}B | {real.mmlu:g} | {real.mmlu_reference:g} "
            f"| {real.quality_index:.1f} | {real.released or '—'} | {_source_link(real.mmlu_source)} |"
        )
    return lines + [""]


def render_report(model: CompressionModel) -> str:
    """Return the calibration report as Markdown."""
    lines = _introduction(model) + _coefficient_section(model)
    for technique, title, explanation in SECTIONS:
        points = model.calibration_points(technique)
        lines += [f"## {title}", "", explanation, ""] + _point_table(points) + [""]
    lines += _models_section(model)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m essaygen.calibration", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data", help="folder with the TSV data files")
    parser.add_argument("--out", type=Path, default=REPORT_PATH, help="Markdown file to write")
    parser.add_argument("--check", action="store_true", help="exit 1 if --out differs from a fresh report, writing nothing")
    args = parser.parse_args(argv)

    report = render_report(load_model(args.data))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != report:
            print(f"{args.out} is out of date: run python -m essaygen.calibration to regenerate it", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
