"""Weighted counts and folds: what a derivative of np.histogram, np.bincount and
np.logaddexp.reduce costs next to numpy.

[W1] ``sum(h ** 2)`` with h = np.histogram(a, 50 bins, weights=w) of 10^5 samples (quick:
     10^4), equal-width bins and given edges (numpy's two paths), and np.bincount into 50 bins:
     numpy, ``dd.grad`` (one sweep) and ``dd.jvp`` (one direction).
[W2] ``sum(np.logaddexp.reduce(X, axis=1))`` for X of 2000 rows and m = 4, 32, 256 columns
     (quick: 200 rows): numpy's value joined to the log-sum-exp's derivative, against numpy
     and against ``dd.logsumexp`` (one primitive, not numpy's bits); and the running
     ``np.logaddexp.accumulate``, joined to the running log-sum-exp's derivative.

Every ratio is printed for reference (no targets). Run from the repo root:
``python benchmarks/bench_weights.py [--quick]``. Exits 1 if a gradient disagrees with its
closed form.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (first: it pins BLAS threads before numpy is imported)
    Bench, check_close, print_times, report_ratio, run_script, section, time_grad_and_jvp,
    time_group, use_working_tree,
)

import numpy as np  # noqa: E402

dd = use_working_tree()


def bench_counts(settings) -> None:
    n = 10 ** 4 if settings.quick else 10 ** 5
    section(f"[W1] weighted counts of {n} samples into 50 bins: dd.grad and dd.jvp against numpy")
    rng = np.random.default_rng(0)
    a, w = rng.normal(size=n), rng.normal(size=n)
    edges = np.linspace(-3.0, 3.0, 51)
    positions = rng.integers(0, 50, n)
    cases = {
        ("hist", "histogram(bins=50)"): lambda w: np.sum(np.histogram(a, 50, weights=w)[0] ** 2),
        ("hist.edges", "histogram(bins=edges)"): lambda w: np.sum(np.histogram(a, edges, weights=w)[0] ** 2),
        ("bincount", "bincount(50)"): lambda w: np.sum(np.bincount(positions, w, 50) ** 2),
    }
    # d/dw_i Σ_j h_j² = 2 h_{bin(a_i)} (0 outside the edges)
    h, _ = np.histogram(a, edges, weights=w)
    inside = (a >= edges[0]) & (a <= edges[-1])
    bins = np.clip(np.searchsorted(edges, a, side="right") - 1, 0, 49)
    check_close("histogram gradient against 2 h[bin(a)]",
                dd.grad(cases[("hist.edges", "histogram(bins=edges)")], w), np.where(inside, 2 * h[bins], 0.0),
                rtol=1e-9, atol=1e-9)
    check_close("bincount gradient against 2 b[x]", dd.grad(cases[("bincount", "bincount(50)")], w),
                2 * np.bincount(positions, w, 50)[positions])
    for (key, name), f in cases.items():
        time_grad_and_jvp(dd, f"wt.{key}", name, f, w, settings)


def bench_folds(settings) -> None:
    rows = 200 if settings.quick else 2000
    section(f"[W2] np.logaddexp.reduce and accumulate over axis 1 of {rows} rows, against numpy and dd.logsumexp")
    for m in (4, 32, 256):
        X = np.random.default_rng(m).normal(size=(rows, m))
        fold = lambda x: np.sum(np.logaddexp.reduce(x, axis=1))  # noqa: E731
        lse = lambda x: np.sum(dd.logsumexp(x, axis=1))  # noqa: E731
        softmax = np.exp(X - np.logaddexp.reduce(X, axis=1, keepdims=True))
        check_close(f"logaddexp.reduce gradient (m = {m}) against softmax", dd.grad(fold, X), softmax, rtol=1e-12)
        base = Bench(f"numpy logaddexp.reduce, m={m}", fold, (X,))
        rev = Bench(f"dd.grad logaddexp.reduce, m={m}", dd.grad, (fold, X))
        ref = Bench(f"dd.grad logsumexp, m={m}", dd.grad, (lse, X))
        group = [base, rev, ref]
        time_group(group, settings.repeats_big, settings.min_time)
        print_times(group)
        report_ratio(f"wt.fold{m}.grad", f"dd.grad / numpy, logaddexp.reduce m={m}", rev, base)
        report_ratio(f"wt.fold{m}.lse", f"dd.grad logaddexp.reduce / dd.grad logsumexp, m={m}", rev, ref)
        running = lambda x: np.sum(np.logaddexp.accumulate(x, axis=1))  # noqa: E731
        plain = Bench(f"numpy logaddexp.accumulate, m={m}", running, (X,))
        grad = Bench(f"dd.grad logaddexp.accumulate, m={m}", dd.grad, (running, X))
        time_group([plain, grad], settings.repeats_big, settings.min_time)
        print_times([plain, grad])
        report_ratio(f"wt.acc{m}.grad", f"dd.grad / numpy, logaddexp.accumulate m={m}", grad, plain)


def main(argv=None) -> int:
    return run_script("dualdiff weighted counts and folds benchmark", __file__,
                      {"counts": bench_counts, "folds": bench_folds}, argv)


if __name__ == "__main__":
    sys.exit(main())
