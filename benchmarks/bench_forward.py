"""Forward-mode benchmarks of dualdiff: derivative time / function time, in one run.

[1] the gradient of the seed example f(x) = log x1 + x1*x2 - sin x2 at (2, 5) by
    ``dd.grad(f, x, mode="forward")`` against the same f on plain floats with the math module;
[2] one ``dd.jvp`` of f(x) = sum(sin(x)*exp(x) + x**2), x of size 1e6, against the numpy f.

Run from the repo root: ``python benchmarks/bench_forward.py [--quick] [--no-peers]``.
Exits 1 if a derivative disagrees with its analytic value (or a peer's with dualdiff's).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (first: it pins BLAS threads before numpy is imported)
    Bench, check_close, print_times, report_ratio, run_peers, run_script, section, time_group,
    use_working_tree,
)

import numpy as np  # noqa: E402

dd = use_working_tree()

from seed import SEED_TARGET, SEED_X, seed_dd, seed_math, seed_np  # noqa: E402  (after the path is set)

JVP_TARGET = 2.2


# --------------------------------------------------------------------------------------------
# The functions, in each spelling
# --------------------------------------------------------------------------------------------

def seed_grad_exact(x):
    x1, x2 = x
    return np.array([1.0 / x1 + x2, x1 - math.cos(x2)])


def big_f(x):
    return np.sum(np.sin(x) * np.exp(x) + x ** 2)


def big_jvp_by_hand(x, v):
    """The value and the jvp written out in numpy: what a hand-derived tangent costs."""
    s = np.sin(x)
    e = np.exp(x)
    value = np.sum(s * e + x * x)
    tangent = np.dot((np.cos(x) + s) * e + 2.0 * x, v)
    return value, tangent


def big_jvp_naive(x, v):
    """The value and jvp as forward mode computes them, written out in numpy: one tangent per
    operation, no algebra across operations (what any AD tool must do, without interpretation)."""
    s, ts = np.sin(x), np.cos(x) * v
    e = np.exp(x)
    te = e * v
    p, tp = s * e, e * ts + s * te
    q, tq = x * x, 2.0 * x * v
    return np.sum(p + q), np.sum(tp + tq)


def big_jvp_exact(x, v):
    e = np.exp(x)
    value = np.sum(np.sin(x) * e + x * x)
    tangent = np.sum(((np.cos(x) + np.sin(x)) * e + 2 * x) * v)
    return float(value), float(tangent)


# --------------------------------------------------------------------------------------------
# Peers (only if installed; never installed by this script)
# --------------------------------------------------------------------------------------------

def _seed_peers(x):
    def jax_(jax):
        jnp = jax.numpy
        g = jax.jit(jax.jacfwd(lambda z: jnp.log(z[0]) + z[0] * z[1] - jnp.sin(z[1])))
        xj = jnp.asarray(x, dtype=jnp.float64)
        return Bench("jax.jit(jax.jacfwd(f))", lambda z: g(z).block_until_ready(), (xj,)), \
            lambda: np.asarray(g(xj))

    def torch_(torch):
        from torch.func import jacfwd
        g = jacfwd(lambda z: torch.log(z[0]) + z[0] * z[1] - torch.sin(z[1]))
        xt = torch.tensor(x, dtype=torch.float64)
        return Bench("torch.func.jacfwd(f)", g, (xt,)), lambda: g(xt).numpy()

    def autograd_(autograd):
        anp = autograd.numpy
        jvp_at = autograd.make_jvp(lambda z: anp.log(z[0]) + z[0] * z[1] - anp.sin(z[1]))
        basis = np.eye(2)

        def g(z):  # forward mode, one jvp per input direction (autograd has no chunking)
            jvp = jvp_at(z)
            return np.array([jvp(basis[0])[1], jvp(basis[1])[1]])

        xa = np.asarray(x)
        return Bench("autograd: 2 x make_jvp(f)", g, (xa,)), lambda: g(xa)

    return {"jax": jax_, "torch": torch_, "autograd": autograd_}


def _jvp_peers(x, v):
    def jax_(jax):
        jnp = jax.numpy
        f = lambda z: jnp.sum(jnp.sin(z) * jnp.exp(z) + z ** 2)  # noqa: E731
        j = jax.jit(lambda z, w: jax.jvp(f, (z,), (w,)))
        xj, vj = jnp.asarray(x), jnp.asarray(v)

        def run(z, w):
            return jax.block_until_ready(j(z, w))

        return Bench("jax.jit(jax.jvp)", run, (xj, vj)), \
            lambda: tuple(float(t) for t in j(xj, vj))

    def torch_(torch):
        from torch.func import jvp
        f = lambda z: torch.sum(torch.sin(z) * torch.exp(z) + z ** 2)  # noqa: E731
        xt, vt = torch.from_numpy(x), torch.from_numpy(v)
        return Bench("torch.func.jvp", jvp, (f, (xt,), (vt,))), \
            lambda: tuple(float(t) for t in jvp(f, (xt,), (vt,)))

    def autograd_(autograd):
        anp = autograd.numpy
        jvp_at = autograd.make_jvp(lambda z: anp.sum(anp.sin(z) * anp.exp(z) + z ** 2))

        def run(z, w):
            return jvp_at(z)(w)

        return Bench("autograd.make_jvp", run, (x, v)), \
            lambda: tuple(float(t) for t in run(x, v))

    return {"jax": jax_, "torch": torch_, "autograd": autograd_}


# --------------------------------------------------------------------------------------------
# The benchmarks
# --------------------------------------------------------------------------------------------

def bench_seed(settings) -> None:
    section("[1] forward: gradient of f(x) = log x1 + x1*x2 - sin x2 at (2, 5) vs plain-float f")
    x = SEED_X
    want = seed_grad_exact(x)
    check_close("dd.grad(f_dd, mode='forward')", dd.grad(seed_dd, x, mode="forward"), want)
    check_close("dd.grad(f_np, mode='forward')", dd.grad(seed_np, x, mode="forward"), want)
    for k in (1, 2):
        check_close(f"dd.grad(f_dd, mode='forward', chunk={k})",
                    dd.grad(seed_dd, x, mode="forward", chunk=k), want)

    base = Bench("math f(x), x = [2.0, 5.0]", seed_math, (x,))
    head = Bench("dd.grad(f dd.*, forward, chunk=auto)", dd.grad, (seed_dd, x), {"mode": "forward"})
    nps = Bench("dd.grad(f np.*, forward, chunk=auto)", dd.grad, (seed_np, x), {"mode": "forward"})
    c1 = Bench("dd.grad(f dd.*, forward, chunk=1)", dd.grad, (seed_dd, x),
               {"mode": "forward", "chunk": 1})
    c2 = Bench("dd.grad(f dd.*, forward, chunk=2)", dd.grad, (seed_dd, x),
               {"mode": "forward", "chunk": 2})
    peers = run_peers(settings, _seed_peers(x), want)
    group = [base, head, nps, c1, c2] + peers
    time_group(group, settings.repeats_small, settings.min_time)
    print_times(group)
    report_ratio("fwd.seed", "dd.grad forward (dd.* spelling, chunk=auto) / math f", head, base,
                 SEED_TARGET)
    report_ratio("fwd.seed.np", "dd.grad forward (np.* spelling, chunk=auto) / math f", nps, base,
                 SEED_TARGET)
    report_ratio("fwd.seed.chunk1", "dd.grad forward (dd.* spelling, chunk=1) / math f", c1, base,
                 SEED_TARGET)
    report_ratio("fwd.seed.chunk2", "dd.grad forward (dd.* spelling, chunk=2) / math f", c2, base,
                 SEED_TARGET)
    for p in peers:
        report_ratio(f"fwd.seed.vs_{p.peer}", f"dualdiff (dd.*, chunk=auto) / {p.label}", head, p)


def bench_jvp(settings) -> None:
    n = 10 ** 4 if settings.quick else 10 ** 6
    section(f"[2] forward: dd.jvp of f(x) = sum(sin(x)*exp(x) + x**2), x of size {n:.0e}, "
            f"vs numpy f")
    rng = np.random.default_rng(0)
    x = rng.random(n)
    v = rng.random(n)
    value, tangent = dd.jvp(big_f, x, v)
    want = big_jvp_exact(x, v)
    check_close("dd.jvp (value, tangent)", (value, tangent), want)
    check_close("jvp as AD does it, by hand", big_jvp_naive(x, v), want)

    base = Bench("numpy f(x)", big_f, (x,))
    head = Bench("dd.jvp(f, x, v)", dd.jvp, (big_f, x, v))
    hand = Bench("numpy value + jvp by hand", big_jvp_by_hand, (x, v))
    peers = run_peers(settings, _jvp_peers(x, v), want)
    naive = Bench("numpy value + jvp as AD does it", big_jvp_naive, (x, v))
    group = [base, head, hand, naive] + peers
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio("fwd.jvp", f"dd.jvp / numpy f (n = {n:.0e})", head, base, JVP_TARGET)
    report_ratio("fwd.jvp.hand", "hand-written numpy value+jvp / numpy f (a floor)", hand, base)
    report_ratio("fwd.jvp.naive", "operation-by-operation numpy value+jvp / numpy f (AD's floor)",
                 naive, base)
    for p in peers:
        report_ratio(f"fwd.jvp.vs_{p.peer}", f"dualdiff / {p.label}", head, p)


def main(argv=None) -> int:
    return run_script("dualdiff forward-mode benchmarks", __file__,
                      {"seed": bench_seed, "jvp": bench_jvp}, argv)


if __name__ == "__main__":
    sys.exit(main())
