"""The layer arrows of DESIGN.md section 1, checked on the real import graph by import-linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_import_contracts_are_kept() -> None:
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    # Every contract in pyproject.toml ran; an empty config would also "pass".
    assert "4 kept, 0 broken" in result.stdout, result.stdout
    for promise in ("pos_core is pure", "the register never touches the store database"):
        assert f"{promise}" in result.stdout
