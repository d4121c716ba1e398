"""Lighthouse runs (npm lighthouse, installed under benchmarks/.tools/node).

Each run scores performance, accessibility, best practices and SEO together.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from pageload import CHROMIUM, CHROMIUM_ARGS, median
from tools import NODE_DIR

LIGHTHOUSE_CLI = NODE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
AUDITS = {
    "first-contentful-paint": "fcp_ms",
    "largest-contentful-paint": "lcp_ms",
    "total-blocking-time": "tbt_ms",
    "cumulative-layout-shift": "cls",
    "speed-index": "speed_index_ms",
    "interactive": "tti_ms",
}
CATEGORIES = {
    "accessibility": "accessibility",
    "best-practices": "best_practices",
    "seo": "seo",
}


def run_lighthouse(url: str, preset: str) -> dict:
    """Run Lighthouse once on ``url`` with the "mobile" (its default) or "desktop" preset."""
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as folder:
        report = Path(folder) / "report.json"
        command = [
            "node",
            str(LIGHTHOUSE_CLI),
            url,
            "--only-categories=performance," + ",".join(CATEGORIES),
            "--output=json",
            f"--output-path={report}",
            "--quiet",
            "--chrome-flags=" + " ".join(CHROMIUM_ARGS),
        ]
        if preset == "desktop":
            command.append("--preset=desktop")
        env = dict(os.environ, CHROME_PATH=CHROMIUM)
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        except subprocess.TimeoutExpired:
            return {"error": ["Lighthouse timed out after 300 s"]}
        if completed.returncode != 0 or not report.is_file():
            return {"error": (completed.stderr or completed.stdout).strip().splitlines()[-3:]}
        data = json.loads(report.read_text(encoding="utf-8"))
    score = data["categories"]["performance"]["score"]
    result = {"score": None if score is None else round(score * 100)}
    for category, key in CATEGORIES.items():
        value = data["categories"].get(category, {}).get("score")
        result[key] = None if value is None else round(value * 100)
    for audit, key in AUDITS.items():
        result[key] = data["audits"].get(audit, {}).get("numericValue")
    if data.get("runtimeError"):
        result["error"] = [data["runtimeError"].get("message", "")]
    return result


def lighthouse_medians(url: str, preset: str, runs: int) -> dict:
    """Median of each Lighthouse number over ``runs`` runs; errors are kept, not hidden."""
    results = [run_lighthouse(url, preset) for _ in range(runs)]
    good = [result for result in results if "score" in result and result["score"] is not None]
    summary: dict = {"runs": len(good), "failed": len(results) - len(good)}
    if good:
        summary["score"] = median([result["score"] for result in good])
        summary["scores"] = [result["score"] for result in good]
        for key in AUDITS.values():
            summary[key] = median([result[key] for result in good])
        for key in CATEGORIES.values():
            values = [result[key] for result in good if result.get(key) is not None]
            summary[key] = median(values) if values else None
    errors = [error for result in results for error in result.get("error", [])]
    if errors:
        summary["errors"] = sorted(set(errors))
    return summary
