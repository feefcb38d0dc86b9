"""The package type-checks: its public signatures are what py.typed promises to users' checkers."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_package_passes_mypy(tmp_path):
    pytest.importorskip("mypy", reason="mypy comes with the test extra: pip install '.[test]'")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", str(ROOT / "dualdiff"), "--ignore-missing-imports",
         "--cache-dir", str(tmp_path / "mypy-cache")],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
