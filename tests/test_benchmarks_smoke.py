"""Smoke test of the benchmark scripts: they run, pass their correctness checks, print ratios.

Nothing here looks at speed: ``--quick`` uses tiny arrays and a few short repeats, and the
numbers depend on the machine's load. What is checked is that each script exits 0 (so every
gradient it times agreed with its analytic or hand-written value) and prints one well-formed
``RATIO`` line for every number the benchmarks report.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

RATIO_LINE = re.compile(
    r"^RATIO (?P<key>\S+)\s+(?P<value>[0-9.]+)x\s+\[paired [0-9.]+-[0-9.]+\]\s+"
    r"(?:target <= (?P<target>[0-9.]+)x\s+(?P<verdict>PASS|MISS)|ref)\s+\S")

EXPECTED = {
    "bench_forward.py": {
        # key: target (None = printed for reference)
        "fwd.seed": 40.0, "fwd.seed.np": 40.0, "fwd.seed.chunk1": 40.0, "fwd.seed.chunk2": 40.0,
        "fwd.jvp": 2.2, "fwd.jvp.hand": None,
    },
    "bench_reverse.py": {
        "rev.grad": 2.5, "rev.grad.hand": None,
        "rev.mlp": 2.2, "rev.mlp.hand": None, "rev.mlp.spelled": None,
        "rev.seed": 40.0, "rev.seed.np": 40.0,
    },
    "bench_checkpoint.py": {
        "ckpt.sqrt": 1.5, "ckpt.every": None, "ckpt.store.f": None, "ckpt.sqrt.f": None,
    },
    "bench_compile.py": {
        "cmp.seed.rev": 5.0, "cmp.seed.fwd": 5.0, "cmp.seed.fwd.auto": None, "cmp.seed.list": None, "eager.seed.rev": None,
        "cmp.grad": 1.8, "cmp.jvp": 2.2, "eager.grad": None, "cmp.mlp": 1.9, "eager.mlp": None,
        "cmp.jac": 6.0, "eager.jac": None, "cmp.hess": 12.0, "eager.hess": None,
    },
    "bench_weights.py": {f"wt.{k}": None for k in (
        "hist.grad", "hist.jvp", "hist.edges.grad", "hist.edges.jvp", "bincount.grad",
        "bincount.jvp", "fold4.grad", "fold4.lse", "fold32.grad", "fold32.lse", "fold256.grad",
        "fold256.lse", "acc4.grad", "acc32.grad", "acc256.grad")},
}
PEER_PREFIX = {"bench_forward.py": ("fwd.seed", "fwd.jvp"),
               "bench_reverse.py": ("rev.grad", "rev.mlp", "rev.seed"),
               "bench_checkpoint.py": (),
               "bench_compile.py": ("cmp.grad",), "bench_weights.py": ()}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def _ratios(stdout: str) -> dict:
    found = {}
    for line in stdout.splitlines():
        m = RATIO_LINE.match(line)
        if m:
            found[m["key"]] = m
        else:
            assert not line.startswith("RATIO"), f"malformed ratio line: {line!r}"
    return found


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_script_runs_and_prints_ratios(script):
    proc = _run(str(BENCH / script), "--quick")
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    out = proc.stdout
    assert "QUICK MODE" in out
    assert "\nFAILURES (" not in out
    assert "MISMATCH" not in out
    assert "Traceback" not in out

    found = _ratios(out)
    for key, target in EXPECTED[script].items():
        assert key in found, f"{script} printed no ratio {key}:\n{out}"
        m = found[key]
        assert float(m["value"]) > 0
        if target is None:
            assert m["target"] is None, f"{key} should be a reference number"
        else:
            assert float(m["target"]) == target, f"{key}: wrong target {m['target']}"
            assert m["verdict"] == ("PASS" if float(m["value"]) <= target else "MISS")

    # Peers are optional: each is either timed against or reported as missing, never an error.
    # (The checkpointing script times no peer.)
    for peer in ("jax", "torch", "autograd") if PEER_PREFIX[script] else ():
        if importlib.util.find_spec(peer) is None:
            assert f"peer {peer} not installed (pip install {peer})" in out
        else:
            for prefix in PEER_PREFIX[script]:
                assert (f"{prefix}.vs_{peer}" in found) or (f"peer {peer} failed" in out), \
                    f"{script}: no {prefix}.vs_{peer} ratio"


def test_run_all_summarises_both_scripts():
    proc = _run(str(BENCH / "run_all.py"), "--quick", "--no-peers")
    assert proc.returncode == 0, f"run_all failed:\n{proc.stdout}\n{proc.stderr}"
    out = proc.stdout
    assert "peers skipped (--no-peers)" in out
    summary = out.split("== overall summary", 1)[1]
    for key in ("fwd.seed", "fwd.jvp", "rev.grad", "rev.mlp", "rev.seed"):
        assert re.search(rf"^  {re.escape(key)}\s+[0-9.]+x  target <= [0-9.]+x  (PASS|MISS)",
                         summary, re.M), f"{key} missing from the summary:\n{summary}"
    assert re.search(r"^  \d of 5 targets met", summary, re.M)


def test_help_works():
    for script in ("bench_forward.py", "bench_reverse.py"):
        proc = _run(str(BENCH / script), "--help")
        assert proc.returncode == 0 and "--quick" in proc.stdout
