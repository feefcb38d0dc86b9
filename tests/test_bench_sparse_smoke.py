"""Smoke test of benchmarks/bench_sparse.py: it runs, its correctness checks pass, it prints its ratios.

Speed is not looked at (``--quick``: small arrays, short repeats, a 2 ms f on the pool).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("scipy")


def test_bench_sparse_runs_and_prints_ratios():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sparse.py"), "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"bench_sparse failed:\n{proc.stdout}\n{proc.stderr}"
    out = proc.stdout
    assert "MISMATCH" not in out and "Traceback" not in out
    for key in ("sparse.banded", "sparse.detect", "sparse.ode", "sparse.hessian",
                "sparse.executor"):
        assert re.search(rf"^RATIO {re.escape(key)}\s+[0-9.]+x", out, re.M), f"no {key}:\n{out}"
    assert "peak memory, reused colouring" in out
