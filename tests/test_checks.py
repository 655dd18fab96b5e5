"""The machines that check the layers and the types pass: mypy --strict and the import contracts.

Both run as their own processes from the repository root with the configuration in
pyproject.toml ([tool.mypy], [tool.importlinter]), exactly as a person would run them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 600


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def _report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def test_mypy_strict_passes() -> None:
    """mypy with [tool.mypy] (strict, files = conductor_tui) reports no error."""
    proc = _run([sys.executable, "-m", "mypy"])
    assert proc.returncode == 0, _report(proc)


def test_import_contracts_are_kept() -> None:
    """lint-imports keeps every [tool.importlinter] contract."""
    # `python -m importlinter.cli` runs nothing and exits 0, so use the installed script. Not
    # resolved: sys.executable is the venv's link to the base interpreter. No cache: the cache
    # can miss a file restored to an older mtime, and would litter the repository.
    script = Path(os.path.dirname(sys.executable)) / "lint-imports"
    assert script.is_file(), f"no lint-imports next to {sys.executable}: pip install -e '.[test]'"
    proc = _run([str(script), "--no-cache"])
    assert proc.returncode == 0, _report(proc)
    assert "0 broken" in proc.stdout, _report(proc)
