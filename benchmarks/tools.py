"""Install the benchmark tools (Lighthouse and the peers) under benchmarks/.tools/, once.

Everything lands in that git-ignored folder: npm packages in .tools/node,
and each Python peer in its own virtual environment so it cannot change the
project's. A failed install is remembered in .tools/<name>.failed with the
error, reported as such, and retried only with ``--retry-installs``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent / ".tools"
NODE_DIR = TOOLS_DIR / "node"
NPM_PACKAGES = {
    "lighthouse": "lighthouse@12.2.3",
    "observable": "@observablehq/framework",
    "idyll": "idyll",
}
NPM_MODULE = {"lighthouse": "lighthouse", "observable": "@observablehq/framework", "idyll": "idyll"}
PIP_PACKAGES = {"mkdocs": "mkdocs", "quarto": "quarto-cli"}


@dataclass
class Tool:
    name: str
    ok: bool
    version: str = ""
    error: str = ""


def last_lines(text: str, count: int = 4) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.startswith("WARNING: Location")]
    return "\n".join(lines[-count:])


def failure_file(name: str) -> Path:
    return TOOLS_DIR / f"{name}.failed"


def ensure_npm(name: str, retry: bool) -> Tool:
    """Install an npm package into .tools/node unless it is there; return its status."""
    manifest = NODE_DIR / "node_modules" / NPM_MODULE[name] / "package.json"
    if not manifest.is_file():
        if failure_file(name).is_file() and not retry:
            return Tool(name, False, error=failure_file(name).read_text(encoding="utf-8"))
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        package_json = NODE_DIR / "package.json"
        if not package_json.is_file():
            package_json.write_text('{"private": true}\n', encoding="utf-8")
        completed = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", NPM_PACKAGES[name]],
            cwd=NODE_DIR, capture_output=True, text=True, timeout=900,
        )
        if completed.returncode != 0 or not manifest.is_file():
            error = f"npm install {NPM_PACKAGES[name]} failed: {last_lines(completed.stderr or completed.stdout)}"
            failure_file(name).write_text(error, encoding="utf-8")
            return Tool(name, False, error=error)
    failure_file(name).unlink(missing_ok=True)
    version = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    return Tool(name, True, version=version)


def venv_bin(name: str) -> Path:
    return TOOLS_DIR / f"{name}-venv" / "bin"


def ensure_pip(name: str, retry: bool) -> Tool:
    """Install a PyPI package into its own venv under .tools unless it is there."""
    python = venv_bin(name) / "python"
    check = [str(python), "-m", "pip", "show", PIP_PACKAGES[name]]
    installed = python.is_file() and subprocess.run(check, capture_output=True).returncode == 0
    if not installed:
        if failure_file(name).is_file() and not retry:
            return Tool(name, False, error=failure_file(name).read_text(encoding="utf-8"))
        subprocess.run([sys.executable, "-m", "venv", str(venv_bin(name).parent)], check=True)
        completed = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", PIP_PACKAGES[name]],
            capture_output=True, text=True, timeout=1800,
        )
        if completed.returncode != 0:
            error = f"pip install {PIP_PACKAGES[name]} failed: {install_error(completed.stderr)}"
            failure_file(name).write_text(error, encoding="utf-8")
            return Tool(name, False, error=error)
    failure_file(name).unlink(missing_ok=True)
    shown = subprocess.run(check, capture_output=True, text=True).stdout
    version = next((line.split(":", 1)[1].strip() for line in shown.splitlines() if line.startswith("Version:")), "")
    return Tool(name, True, version=version)


def install_error(stderr: str) -> str:
    """Pick the lines that say why a pip build failed, skipping deprecation noise."""
    keep = [
        line.strip()
        for line in stderr.splitlines()
        if ("rror" in line or "failed" in line.lower()) and "Deprecat" not in line and "WARNING: Location" not in line
    ]
    return " | ".join(dict.fromkeys(keep[-6:])) or last_lines(stderr)


def ensure_tools(retry: bool = False) -> dict[str, Tool]:
    tools = {name: ensure_npm(name, retry) for name in NPM_PACKAGES}
    tools.update({name: ensure_pip(name, retry) for name in PIP_PACKAGES})
    return tools


def command_version(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except OSError as error:
        return f"not available ({error})"
    return (completed.stdout or completed.stderr).strip().splitlines()[0] if completed.returncode == 0 else "?"
