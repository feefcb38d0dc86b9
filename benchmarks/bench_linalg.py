"""Linear-algebra benchmarks of dualdiff: derivative time / function time, in one run.

[1] the reverse derivative of ``solve`` on a 500×500 system: ``dd.vjp`` of x = solve(A, b)
    pulled back through one cotangent (value + B̄ = A⁻ᵀx̄ + Ā = −B̄xᵀ), against numpy's
    forward ``np.linalg.solve``. Target (issue #9): at most about 3x. The hand-written floor
    (solve, solve with Aᵀ, outer product) is printed for reference, with the forward-mode
    ``dd.jvp`` (one more solve).

Run from the repo root: ``python benchmarks/bench_linalg.py [--quick]``. Exits 1 if a
derivative disagrees with its closed form.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (first: it pins BLAS threads before numpy is imported)
    Bench, check_close, print_times, report_ratio, run_script, section, time_group,
    use_working_tree,
)

import numpy as np  # noqa: E402

dd = use_working_tree()

SOLVE_TARGET = 3.0


def solve_vjp(A, b, xbar):
    """What a user runs for the reverse derivative: record, then pull one cotangent back."""
    x, pullback = dd.vjp(lambda p: dd.linalg.solve(p[0], p[1]), (A, b))
    return pullback(xbar)


def solve_vjp_by_hand(A, b, xbar):
    x = np.linalg.solve(A, b)
    bbar = np.linalg.solve(A.T, xbar)
    return -np.outer(bbar, x), bbar


def bench_solve(settings) -> None:
    n = 50 if settings.quick else 500
    section(f"[1] reverse: dd.vjp of x = solve(A, b), A {n}x{n}, vs numpy's solve")
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)) + n ** 0.5 * np.eye(n)
    b = rng.standard_normal(n)
    xbar = rng.standard_normal(n)
    dA, db = solve_vjp(A, b, xbar)
    want_A, want_b = solve_vjp_by_hand(A, b, xbar)
    check_close("Ā = −A⁻ᵀx̄ xᵀ", dA, want_A, rtol=1e-8, atol=1e-10)
    check_close("b̄ = A⁻ᵀx̄", db, want_b, rtol=1e-8, atol=1e-10)
    dA_dir = rng.standard_normal((n, n))

    base = Bench("numpy solve(A, b)", np.linalg.solve, (A, b))
    head = Bench("dd.vjp + pullback (reverse)", solve_vjp, (A, b, xbar))
    hand = Bench("numpy by hand: solve, solve(Aᵀ), outer", solve_vjp_by_hand, (A, b, xbar))
    fwd = Bench("dd.jvp along (dA, 0) (forward)", dd.jvp,
                (lambda a: dd.linalg.solve(a, b), A, dA_dir))
    group = [base, head, hand, fwd]
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio("linalg.solve.rev", f"reverse derivative of solve / numpy solve (n = {n})",
                 head, base, SOLVE_TARGET)
    report_ratio("linalg.solve.hand", "hand-written numpy reverse / numpy solve (a floor)",
                 hand, base)
    report_ratio("linalg.solve.fwd", "dd.jvp forward / numpy solve", fwd, base)


def main(argv=None) -> int:
    return run_script("dualdiff linear-algebra benchmarks", __file__, {"solve": bench_solve}, argv)


if __name__ == "__main__":
    sys.exit(main())
