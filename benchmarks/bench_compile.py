"""dd.compile benchmarks: compiled and eager derivatives / the plain function, in one run.

[c1] the seed example f = log x1 + x1*x2 - sin x2 at (2, 5): gradient in reverse and forward mode,
     compiled (through the caching wrapper, input checks included) and eager, against the same f
     with the math module; the guard overhead per call; the one-off compile cost;
[c2] sum(sin(x)*exp(x) + x**2), n = 1e6: grad and jvp, compiled and eager, against the numpy f;
[c3] the 784-100-10 MLP loss of bench_reverse.py: gradient, compiled and eager, against the
     numpy loss;
[c4] the dense Jacobian of tanh(A @ x), A 200x200 closed over: compiled and eager, against the
     numpy f;
[c5] the Hessian of the Rosenbrock function, n = 100: compiled and eager, against the numpy f.

Allocator regime: each section runs in a fresh process with glibc's default (dynamic) mmap
threshold; the warm-up and calibration calls free large blocks first, so the timed calls reuse
heap memory for arrays up to 32 MB (no page faults), in the numerator and the denominator alike.

Run from the repo root: ``python benchmarks/bench_compile.py [--quick] [--no-peers]``. Exits 1
if a compiled derivative disagrees with its closed form or with eager mode.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (first: it pins BLAS threads before numpy is imported)
    Bench, check_close, print_times, report_ratio, run_peers, run_script, section, time_group,
    use_working_tree,
)

import numpy as np  # noqa: E402

dd = use_working_tree()

from bench_reverse import (  # noqa: E402
    _big_peers, make_mlp_backprop, make_mlp_loss, make_mlp_loss_numpy, mlp_data,
)

# The targets of issue #10 for the compiled versions.
SEED_TARGET = 5.0
GRAD_TARGET, JVP_TARGET = 1.8, 2.2
MLP_TARGET = 1.9
JAC_TARGET = 6.0
HESS_TARGET = 12.0


def compile_cost(make, args, eager, eager_args, repeats=5):
    """Median seconds of a fresh dd.compile's first call, and the same in eager calls."""
    times = []
    for _ in range(repeats):
        c = make()
        t0 = time.perf_counter()
        c(*args)
        times.append(time.perf_counter() - t0)
    t_eager = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        eager(*eager_args)
        t_eager.append(time.perf_counter() - t0)
    cost, one = statistics.median(times), statistics.median(t_eager)
    return cost, cost / one


def report_cost(key, text, cost_calls):
    cost, calls = cost_calls
    print(f"COST  {key:<22} {cost * 1e3:9.2f} ms  = {calls:.1f} eager calls   {text}")


def check_replayed(what, run):
    """Run ``run`` until its sweep is replayed (dualdiff.replay), and check the replayed result
    equals the interpreted one bit for bit: the eager lines below time replayed sweeps."""
    replay = sys.modules["dualdiff.replay"]
    expected = interpreted(run)()
    before = replay.stats()["replayed"]
    for _ in range(1000):  # (until recorded: see replay.RECORD_BUDGET)
        got = run()
        if replay.stats()["replayed"] > before:
            break
    replayed = replay.stats()["replayed"] > before
    check_close(f"{what}: replayed == interpreted, bitwise", got, expected, rtol=0, atol=0)
    if not replayed:
        print(f"  NOTE {what}: its sweep was not replayed (dualdiff.replay off or refused)")


def interpreted(fn):
    """fn with dualdiff.replay off: every sweep interpreted, as before replayed sweeps existed."""
    replay = sys.modules["dualdiff.replay"]

    def call(*args):
        replay.ENABLED = False
        try:
            return fn(*args)
        finally:
            replay.ENABLED = True
    return call


def compare_three(key, what, plain, base, compiled, eager, target, repeats, settings, cost,
                  sweeps=False):
    """Time f, its compiled derivative and the eager one interleaved; print both ratios and the
    compile cost (``cost`` = compile_cost's arguments) under ``cmp.<key>``/``eager.<key>``.
    ``sweeps``: eager also with every sweep interpreted (replay off), ``eager.<key>.interp``."""
    group = [base, compiled, eager]
    if sweeps:
        group.append(Bench(eager.label + ", sweeps interpreted", interpreted(eager.fn), eager.args))
    time_group(group, repeats, settings.min_time)
    print_times(group)
    report_ratio(f"cmp.{key}", f"compiled {what} / {plain}", compiled, base, target)
    report_ratio(f"eager.{key}", f"eager {what} / {plain} (sweeps replayed, the default)"
                 if sweeps else f"eager {what} / {plain}", eager, base)
    if sweeps:
        report_ratio(f"eager.{key}.interp", f"eager {what} / {plain}, every sweep interpreted",
                     group[3], base)
    report_cost(f"cmp.{key}.compile", f"first call of dd.compile({cost[2].__name__})",
                compile_cost(*cost))


# --------------------------------------------------------------------------------------------
# [c1] the seed example
# --------------------------------------------------------------------------------------------

def seed_math(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def seed_np(x):
    x1, x2 = x
    return np.log(x1) + x1 * x2 - np.sin(x2)


def bench_seed(settings) -> None:
    section("[c1] the seed example at (2, 5): gradient, compiled and eager, vs math f")
    want = np.array([1 / 2.0 + 5.0, 2.0 - math.cos(5.0)])
    rev = dd.compile(lambda x1, x2: dd.grad(seed_np, (x1, x2)))
    # chunk=1: one direction per pass, so the compiled passes are plain float arithmetic (the
    # default, two directions in one pass, runs numpy on (2,)-arrays: timed as .auto)
    fwd = dd.compile(lambda x1, x2: dd.grad(seed_np, (x1, x2), mode="forward", chunk=1))
    fwd_auto = dd.compile(lambda x1, x2: dd.grad(seed_np, (x1, x2), mode="forward"))
    rev_list = dd.compile(lambda x: dd.grad(seed_np, x))
    for name, fn, args in [("compiled reverse", rev, (2.0, 5.0)), ("compiled forward", fwd, (2.0, 5.0)),
                           ("compiled forward, chunk auto", fwd_auto, (2.0, 5.0)),
                           ("compiled reverse, list x", rev_list, ([2.0, 5.0],))]:
        got = fn(*args)
        check_close(name, np.array(got, dtype=float), want, rtol=1e-15)
    check_close("compiled == eager, bitwise", np.array(rev(2.0, 5.0)),
                np.array(dd.grad(seed_np, (2.0, 5.0))), rtol=0, atol=0)
    ident = dd.compile(lambda x1, x2: x1)

    base = Bench("math f(x1, x2)", seed_math, (2.0, 5.0))
    c_rev = Bench("dd.compile(grad reverse)(x1, x2)", rev, (2.0, 5.0))
    c_fwd = Bench("dd.compile(grad forward, chunk=1)(x1, x2)", fwd, (2.0, 5.0))
    c_fwd_auto = Bench("dd.compile(grad forward, chunk auto)(x1, x2)", fwd_auto, (2.0, 5.0))
    c_list = Bench("dd.compile(grad reverse)([x1, x2])", rev_list, ([2.0, 5.0],))
    e_rev = Bench("dd.grad(f, (x1, x2)) eager reverse", dd.grad, (seed_np, (2.0, 5.0)))
    e_fwd = Bench("dd.grad(f, (x1, x2), mode='forward') eager", dd.grad, (seed_np, (2.0, 5.0)),
                  {"mode": "forward"})
    guard = Bench("dd.compile(lambda x1, x2: x1)(x1, x2)", ident, (2.0, 5.0))
    plain = Bench("lambda x1, x2: x1", lambda x1, x2: x1, (2.0, 5.0))
    group = [base, c_rev, c_fwd, c_fwd_auto, c_list, e_rev, e_fwd, guard, plain]
    time_group(group, settings.repeats_small, settings.min_time)
    print_times(group)
    report_ratio("cmp.seed.rev", "compiled reverse gradient / math f", c_rev, base, SEED_TARGET)
    report_ratio("cmp.seed.fwd", "compiled forward gradient (chunk=1) / math f", c_fwd, base, SEED_TARGET)
    report_ratio("cmp.seed.fwd.auto", "compiled forward gradient (chunk auto: 2) / math f",
                 c_fwd_auto, base)
    report_ratio("cmp.seed.list", "compiled reverse gradient, x a list / math f", c_list, base)
    report_ratio("eager.seed.rev", "eager reverse gradient (x a tuple) / math f", e_rev, base)
    report_ratio("eager.seed.fwd", "eager forward gradient (x a tuple) / math f", e_fwd, base)
    print(f"NOTE  guard overhead per call (wrapper + input checks, two floats): "
          f"{(guard.median - plain.median) * 1e6:.3f} us (target <= 0.5 us)")
    report_cost("cmp.seed.rev.compile", "first call of dd.compile(grad reverse)",
                compile_cost(lambda: dd.compile(lambda x1, x2: dd.grad(seed_np, (x1, x2))),
                             (2.0, 5.0), dd.grad, (seed_np, (2.0, 5.0))))


# --------------------------------------------------------------------------------------------
# [c2] n = 1e6
# --------------------------------------------------------------------------------------------

def big_f(x):
    return np.sum(np.sin(x) * np.exp(x) + x ** 2)


def bench_big(settings) -> None:
    n = 10 ** 4 if settings.quick else 10 ** 6
    section(f"[c2] sum(sin(x)*exp(x) + x**2), n = {n:.0e}: grad and jvp, compiled and eager, "
            f"vs numpy f")
    rng = np.random.default_rng(0)
    x, v = rng.random(n), rng.random(n)
    want = (np.cos(x) + np.sin(x)) * np.exp(x) + 2 * x
    grad = dd.compile(lambda x: dd.grad(big_f, x))
    jvp = dd.compile(lambda x, v: dd.jvp(big_f, x, v))
    check_close("compiled grad", grad(x), want)
    check_close("compiled grad == eager, bitwise", grad(x), dd.grad(big_f, x), rtol=0, atol=0)
    check_close("compiled jvp", jvp(x, v)[1], want @ v, rtol=1e-12)
    check_close("compiled jvp == eager, bitwise", jvp(x, v), dd.jvp(big_f, x, v), rtol=0, atol=0)

    base = Bench("numpy f(x)", big_f, (x,))
    c_grad = Bench("dd.compile(grad)(x)", grad, (x,))
    c_jvp = Bench("dd.compile(jvp)(x, v)", jvp, (x, v))
    e_grad = Bench("dd.grad(f, x) eager", dd.grad, (big_f, x))
    e_jvp = Bench("dd.jvp(f, x, v) eager", dd.jvp, (big_f, x, v))
    peers = run_peers(settings, _big_peers(x), want)
    group = [base, c_grad, c_jvp, e_grad, e_jvp] + peers
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio("cmp.grad", f"compiled grad / numpy f (n = {n:.0e})", c_grad, base, GRAD_TARGET)
    report_ratio("cmp.jvp", f"compiled jvp / numpy f (n = {n:.0e})", c_jvp, base, JVP_TARGET)
    report_ratio("eager.grad", "eager grad / numpy f", e_grad, base)
    report_ratio("eager.jvp", "eager jvp / numpy f", e_jvp, base)
    for p in peers:
        report_ratio(f"cmp.grad.vs_{p.peer}", f"compiled dualdiff / {p.label}", c_grad, p)
    report_cost("cmp.grad.compile", "first call of dd.compile(grad)",
                compile_cost(lambda: dd.compile(lambda x: dd.grad(big_f, x)), (x,), dd.grad, (big_f, x), 3))


# --------------------------------------------------------------------------------------------
# [c3] MLP
# --------------------------------------------------------------------------------------------

def bench_mlp(settings) -> None:
    section("[c3] gradient of the MLP loss 784-100-10, batch 64, compiled and eager, vs numpy loss")
    X, Y, params = mlp_data()
    loss, loss_np = make_mlp_loss(X, Y), make_mlp_loss_numpy(X, Y)
    _, hand = make_mlp_backprop(X, Y)(params)
    grad = dd.compile(lambda p: dd.grad(loss, p))
    check_close("compiled grad vs hand backprop (1e-10)", tuple(grad(params)), hand, rtol=0, atol=1e-10)
    check_close("compiled == eager, bitwise", tuple(grad(params)), tuple(dd.grad(loss, params)),
                rtol=0, atol=0)
    check_replayed("eager grad", lambda: tuple(dd.grad(loss, params)))
    base = Bench("numpy loss(W1, W2)", loss_np, (params,))
    c_grad = Bench("dd.compile(grad)((W1, W2))", grad, (params,))
    e_grad = Bench("dd.grad(loss, (W1, W2)) eager", dd.grad, (loss, params))
    compare_three("mlp", "grad", "numpy loss", base, c_grad, e_grad, MLP_TARGET,
                  settings.repeats_big, settings,
                  (lambda: dd.compile(lambda p: dd.grad(loss, p)), (params,), dd.grad, (loss, params)),
                  sweeps=True)


# --------------------------------------------------------------------------------------------
# [c4] dense Jacobian of tanh(A @ x)
# --------------------------------------------------------------------------------------------

def aligned(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` whose data starts on a 64-byte boundary (dd.compile's own alignment).

    Where numpy's own allocation puts a 320 KB array (16 bytes into a fresh page, or anywhere
    16-aligned on the heap, by the allocator's state) decides whether OpenBLAS's mat-vec reads
    A aligned: A @ x took 4.2-4.5 us with A 32-byte aligned and 5.6-6.2 us without, so the plain
    f of [c4], the ratio's denominator, moved by a third from process to process. Aligned, f runs
    its fast case in every process.
    """
    from dualdiff.codegen import aligned_empty
    out = aligned_empty(a.shape, a.dtype)
    out[...] = a
    return out


def bench_jac(settings) -> None:
    n = 50 if settings.quick else 200
    section(f"[c4] Jacobian of tanh(A @ x), A {n}x{n} closed over: compiled and eager, vs numpy f")
    rng = np.random.default_rng(3)
    A = aligned(rng.standard_normal((n, n)) / np.sqrt(n))  # f's fastest case in every process
    x = rng.standard_normal(n)
    f = lambda z: np.tanh(A @ z)  # noqa: E731
    want = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    jac = dd.compile(lambda x: dd.jacobian(f, x, chunk=n))
    check_close("compiled jacobian", jac(x), want)
    check_close("compiled == eager, bitwise", jac(x), dd.jacobian(f, x, chunk=n), rtol=0, atol=0)
    base = Bench("numpy f(x)", f, (x,))
    c_jac = Bench(f"dd.compile(jacobian(chunk={n}))(x)", jac, (x,))
    e_jac = Bench(f"dd.jacobian(f, x, chunk={n}) eager", dd.jacobian, (f, x), {"chunk": n})
    compare_three("jac", "Jacobian", "numpy f", base, c_jac, e_jac, JAC_TARGET,
                  settings.repeats_small, settings,
                  (lambda: dd.compile(lambda x: dd.jacobian(f, x, chunk=n)), (x,), dd.jacobian,
                   (f, x, "forward", n)))


# --------------------------------------------------------------------------------------------
# [c5] Rosenbrock Hessian
# --------------------------------------------------------------------------------------------

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    H[i + 1, i + 1] += 200
    H[i, i + 1] = H[i + 1, i] = -400 * x[:-1]
    return H


def bench_hess(settings) -> None:
    n = 20 if settings.quick else 100
    section(f"[c5] Hessian of Rosenbrock, n = {n}: compiled and eager, vs numpy f")
    x = np.linspace(-1.0, 1.5, n)
    hess = dd.compile(lambda x: dd.hessian(rosenbrock, x))
    check_close("compiled Hessian", hess(x), rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)
    check_close("compiled == eager, bitwise", hess(x), dd.hessian(rosenbrock, x), rtol=0, atol=0)
    base = Bench("numpy f(x)", rosenbrock, (x,))
    c_h = Bench("dd.compile(hessian)(x)", hess, (x,))
    e_h = Bench("dd.hessian(f, x) eager", dd.hessian, (rosenbrock, x))
    check_replayed("eager Hessian", lambda: dd.hessian(rosenbrock, x))
    compare_three("hess", "Hessian", "numpy f", base, c_h, e_h, HESS_TARGET,
                  settings.repeats_small, settings,
                  (lambda: dd.compile(lambda x: dd.hessian(rosenbrock, x)), (x,), dd.hessian,
                   (rosenbrock, x)), sweeps=True)


def main(argv=None) -> int:
    return run_script("dd.compile benchmarks", __file__,
                      {"seed": bench_seed, "grad": bench_big, "mlp": bench_mlp, "jac": bench_jac,
                       "hess": bench_hess}, argv)


if __name__ == "__main__":
    sys.exit(main())
