"""numpy's other ufuncs and reductions on large arrays: what a derivative costs next to numpy.

[7] Reductions over a 1000 x 1000 array (quick: 300 x 300): ``sum(f(X))`` for f = max over an
    axis, prod, cumsum, cumprod, var, clip, median. Each is timed as plain numpy, as ``dd.grad``
    (reverse mode, one sweep) and as ``dd.jvp`` (one forward direction).
[8] Elementwise ufuncs on 10^6 elements (quick: 10^5): square, log2, hypot, mod.

Every ratio is printed for reference (no targets): a reduction's derivative writes a full-size
gradient where numpy's reduction only reads, so several times numpy's fast reduction is the
floor there; an elementwise derivative should cost about one more pass of numpy.

Run from the repo root: ``python benchmarks/bench_ufuncs.py [--quick]``. Exits 1 if a gradient
disagrees with its closed form.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (first: it pins BLAS threads before numpy is imported)
    check_close, run_script, section, time_grad_and_jvp, use_working_tree,
)

import numpy as np  # noqa: E402

dd = use_working_tree()


def _time(name, f, x, settings) -> None:
    time_grad_and_jvp(dd, f"uf.{name.split('(')[0]}", name, f, x, settings)


def bench_reductions(settings) -> None:
    n = 300 if settings.quick else 1000
    section(f"[7] reductions of a {n} x {n} array: dd.grad and dd.jvp against numpy")
    X = np.random.default_rng(0).uniform(0.5, 1.5, (n, n))
    cases = {
        "max(axis=0)": lambda x: np.sum(np.max(x, axis=0)),
        "prod(axis=1)": lambda x: np.sum(np.prod(x, axis=1)),
        "cumsum(axis=1)": lambda x: np.sum(np.cumsum(x, axis=1)),
        "cumprod(axis=1)": lambda x: np.sum(np.cumprod(x, axis=1)),
        "var(axis=0)": lambda x: np.sum(np.var(x, axis=0)),
        "clip": lambda x: np.sum(np.clip(x, 0.7, 1.3)),
        "median(axis=1)": lambda x: np.sum(np.median(x, axis=1)),
    }
    onehot = (X == X.max(axis=0, keepdims=True)).astype(float)
    check_close("max gradient against its one-hot closed form", dd.grad(cases["max(axis=0)"], X), onehot)
    check_close("var gradient against 2(x - mean)/n", dd.grad(cases["var(axis=0)"], X),
                2 * (X - X.mean(axis=0)) / n)
    for name, f in cases.items():
        _time(name, f, X, settings)


def bench_elementwise(settings) -> None:
    n = 10 ** 5 if settings.quick else 10 ** 6
    section(f"[8] elementwise ufuncs on {n} elements: dd.grad and dd.jvp against numpy")
    x = np.random.default_rng(1).uniform(0.5, 1.5, n)
    cases = {
        "square": lambda x: np.sum(np.square(x)),
        "log2": lambda x: np.sum(np.log2(x)),
        "hypot": lambda x: np.sum(np.hypot(x, 1.0)),
        "mod": lambda x: np.sum(x % 0.3),
    }
    check_close("log2 gradient against 1/(x ln 2)", dd.grad(cases["log2"], x), 1 / (x * np.log(2.0)))
    for name, f in cases.items():
        _time(name, f, x, settings)


def main(argv=None) -> int:
    return run_script("dualdiff ufuncs and reductions benchmark", __file__,
                      {"reductions": bench_reductions, "elementwise": bench_elementwise}, argv)


if __name__ == "__main__":
    sys.exit(main())
