"""Checkpointing benchmark: what √n checkpoints cost in time, and save in memory, in one run.

[6] The gradient of sum(x_n), x_(i+1) = tanh(w_i * x_i + b_i), through a chain of 1000 layers
    of 10^4-element arrays (w_i, b_i fixed vectors), with respect to x_0:

    - store all: plain reverse mode, every value the sweep reads kept on the tape;
    - √n checkpoints: ``dd.checkpoint_sequential(layers, "sqrt")``, 32 segments;
    - every layer: each layer checkpointed (for reference).

    The target is the issue's: the √n schedule at most 1.5x the time of storing all (it adds one
    forward pass; with a sweep costing about two forward passes that would be 4/3). The peak
    bytes kept (``full_output=True``) are printed beside the times.

Run from the repo root: ``python benchmarks/bench_checkpoint.py [--quick]``. Exits 1 if a gradient
disagrees with the hand-written backprop, or the checkpointed gradients are not bitwise equal.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (first: it pins BLAS threads before numpy is imported)
    FAILURES, Bench, check_close, print_times, report_ratio, run_script, section, time_group,
    use_working_tree,
)

import numpy as np  # noqa: E402

dd = use_working_tree()

SQRT_TARGET = 1.5


def make_chain(n, d, seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.uniform(0.5, 1.5, d) for _ in range(n)]
    bs = [rng.normal(scale=0.1, size=d) for _ in range(n)]
    layers = [lambda x, w=w, b=b: np.tanh(x * w + b) for w, b in zip(ws, bs)]
    return layers, ws, bs, np.linspace(-1.0, 1.0, d)


def backprop_by_hand(ws, bs, x):
    """The gradient written out in numpy, storing every layer's output: the reference."""
    outs = []
    for w, b in zip(ws, bs):
        x = np.tanh(x * w + b)
        outs.append(x)
    g = np.ones_like(x)
    for w, out in zip(reversed(ws), reversed(outs)):
        g = g * (1.0 - out * out) * w
    return g


def bench_chain(settings) -> None:
    n, d = (100, 1000) if settings.quick else (1000, 10_000)
    section(f"[6] checkpointing: gradient through {n} layers tanh(w*x + b) of {d} elements")
    layers, ws, bs, x0 = make_chain(n, d)

    def f(x):
        for layer in layers:
            x = layer(x)
        return np.sum(x)

    sqrt_run = dd.checkpoint_sequential(layers, "sqrt")
    every_run = dd.checkpoint_sequential(layers, n)
    f_sqrt = lambda x: np.sum(sqrt_run(x))  # noqa: E731
    f_every = lambda x: np.sum(every_run(x))  # noqa: E731

    g_store, info_store = dd.grad(f, x0, full_output=True)
    g_sqrt, info_sqrt = dd.grad(f_sqrt, x0, full_output=True)
    g_every, info_every = dd.grad(f_every, x0, full_output=True)
    check_close("store-all gradient against hand-written backprop", g_store,
                backprop_by_hand(ws, bs, x0))
    for name, g in (("√n", g_sqrt), ("every-layer", g_every)):
        if np.array_equal(g, g_store):
            print(f"  check {name} gradient bitwise equal to store-all: OK")
        else:
            print(f"  check {name} gradient bitwise equal to store-all: MISMATCH")
            FAILURES.append(f"{name} checkpointed gradient differs from store-all")
    for name, info, segs in (("store all", info_store, 0), ("√n checkpoints", info_sqrt, sqrt_run.segments),
                             ("every layer", info_every, n)):
        print(f"  memory {name:<15} {segs:5} checkpoints  peak {info.peak_bytes / 1e6:9.2f} MB kept  "
              f"{info.operations:6} operations")
    print(f"  memory √n / store all: {info_sqrt.peak_bytes / info_store.peak_bytes:.3f} of the bytes")

    base = Bench("numpy f(x)", f, (x0,))
    store = Bench("dd.grad store all", dd.grad, (f, x0))
    sqrt_n = Bench(f"dd.grad √n checkpoints ({sqrt_run.segments})", dd.grad, (f_sqrt, x0))
    every = Bench(f"dd.grad every layer ({n})", dd.grad, (f_every, x0))
    group = [base, store, sqrt_n, every]
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio("ckpt.sqrt", "dd.grad √n checkpoints / dd.grad store all", sqrt_n, store,
                 SQRT_TARGET)
    report_ratio("ckpt.every", "dd.grad every layer checkpointed / dd.grad store all", every, store)
    report_ratio("ckpt.store.f", "dd.grad store all / numpy f", store, base)
    report_ratio("ckpt.sqrt.f", "dd.grad √n checkpoints / numpy f", sqrt_n, base)


def main(argv=None) -> int:
    return run_script("dualdiff checkpointing benchmark", __file__, {"chain": bench_chain}, argv)


if __name__ == "__main__":
    sys.exit(main())
