"""Sparse derivatives and executors: derivative time / function time, in one run.

[1] banded map f(x)_i = x[i-1] - 2 x[i] + x[i+1] + sin x[i] (zero boundaries), n = 1e4: the
    sparse Jacobian with a reused colouring against the numpy f (target <= 10x); detection plus
    colouring, once, against f (target <= 200x); the peak memory of each call (tracemalloc).
[2] the 1-D Brusselator with 2,000 states: ``solve_ivp`` (BDF) with dualdiff's exact sparse
    Jacobian against the same solve with scipy's sparse finite differences (target <= 1x).
[3] chained Rosenbrock, n = 1e4: the sparse Hessian with a reused star colouring against f
    (target <= 30x), checked against scipy's hand-written ``rosen_hess``.
[4] executor: the dense Jacobian (chunk 1) of an f that takes 20 ms per call, n = 64, on a
    2-process pool against serial: target pool / serial <= 0.59 (>= 1.7x faster). The load
    average is printed beside it: the machine is shared.

Run from the repo root: ``python benchmarks/bench_sparse.py [--quick]``. Needs scipy.
Exits 1 if a derivative disagrees with its hand-written value.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (first: it pins BLAS threads before numpy is imported)
    Bench, check_close, print_times, report_ratio, run_script, section, time_group,
    use_working_tree,
)

import numpy as np  # noqa: E402

dd = use_working_tree()

BANDED_TARGET, DETECT_TARGET, ODE_TARGET, HESSIAN_TARGET = 10.0, 200.0, 1.0, 30.0
EXECUTOR_TARGET = round(1 / 1.7, 2)


def banded(x):
    xp = np.concatenate([[0.0], x, [0.0]])
    return xp[:-2] - 2.0 * xp[1:-1] + xp[2:] + np.sin(x)


def banded_jacobian_by_hand(x):
    import scipy.sparse as sp
    n = x.size
    return sp.diags([np.ones(n - 1), np.cos(x) - 2.0, np.ones(n - 1)], [-1, 0, 1])


def detect_and_color(f, x):
    return dd.color_columns(dd.sparsity(f, x))


def _peak_bytes(fn, *args, **kwargs):
    tracemalloc.start()
    try:
        fn(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_banded(settings):
    n = 1000 if settings.quick else 10_000
    section(f"[1] sparse Jacobian of a banded map, n = {n:.0e}")
    x = np.random.default_rng(0).uniform(-1, 1, n)
    coloring = detect_and_color(banded, x)
    J = dd.jacobian(banded, x, sparse=coloring, chunk="auto")
    check_close("sparse J vs by hand", abs(J - banded_jacobian_by_hand(x)).max(), 0.0)
    print(f"  {coloring.n_colors} colours, {J.nnz} nonzeros")
    base = Bench("numpy f(x)", banded, (x,))
    reuse = Bench("dd.jacobian(f, x, sparse=coloring, chunk='auto')", dd.jacobian, (banded, x),
                  {"sparse": coloring, "chunk": "auto"})
    detect = Bench("dd.color_columns(dd.sparsity(f, x))", detect_and_color, (banded, x))
    whole = Bench("dd.jacobian(f, x, sparse=True, chunk='auto')", dd.jacobian, (banded, x),
                  {"sparse": True, "chunk": "auto"})
    group = [base, reuse, detect, whole]
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio("sparse.banded", f"sparse Jacobian, reused colouring / numpy f (n = {n:.0e})",
                 reuse, base, BANDED_TARGET)
    report_ratio("sparse.detect", "sparsity detection + colouring, once / numpy f", detect, base,
                 DETECT_TARGET)
    report_ratio("sparse.whole", "detect + colour + Jacobian in one call / numpy f", whole, base)
    for label, fn, kw in (("reused colouring", dd.jacobian, {"sparse": coloring, "chunk": "auto"}),
                          ("sparse=True (detect, colour, compute)", dd.jacobian,
                           {"sparse": True, "chunk": "auto"})):
        peak = _peak_bytes(fn, banded, x, **kw)
        print(f"  peak memory, {label}: {peak / 2**20:.2f} MiB = {peak / n:.0f} bytes per input "
              f"(a dense Jacobian alone would be {n * n * 8 / 2**20:.0f} MiB)")


N_BRUSS = 1000


def brusselator_factory(N):
    alpha = 0.02 * (N + 1) ** 2

    def brusselator(t, y):
        u, v = y[0::2], y[1::2]
        up = np.concatenate([[1.0], u, [1.0]])
        vp = np.concatenate([[3.0], v, [3.0]])
        uuv = u * u * v
        du = 1.0 + uuv - 4.0 * u + alpha * (up[:-2] - 2.0 * u + up[2:])
        dv = 3.0 * u - uuv + alpha * (vp[:-2] - 2.0 * v + vp[2:])
        return dd.reshape(dd.stack([du, dv], axis=1), (-1,))

    grid = np.arange(1, N + 1) / (N + 1)
    y0 = np.ravel(np.column_stack([1.0 + np.sin(2 * np.pi * grid), np.full(N, 3.0)]))
    return brusselator, y0


def run_brusselator(settings):
    from scipy.integrate import solve_ivp
    N = 30 if settings.quick else N_BRUSS
    t_end = 1.0 if settings.quick else 10.0
    section(f"[2] solve_ivp (BDF) on the 1-D Brusselator, {2 * N} states, t in [0, {t_end:g}]")
    f, y0 = brusselator_factory(N)
    pattern = dd.sparsity(lambda y: f(0.0, y), y0)
    coloring = dd.color_columns(pattern)
    sparsity = pattern  # dd.sparsity gives a scipy.sparse array, which solve_ivp takes as is

    def jac(t, y):
        return dd.jacobian(lambda z: f(t, z), y, sparse=coloring, chunk="auto")

    def with_dd():
        return solve_ivp(f, (0.0, t_end), y0, method="BDF", jac=jac, rtol=1e-6, atol=1e-8)

    def with_fd():
        return solve_ivp(f, (0.0, t_end), y0, method="BDF", jac_sparsity=sparsity, rtol=1e-6,
                         atol=1e-8)

    a, b = with_dd(), with_fd()
    print(f"  dualdiff jac: status {a.status}, {a.nfev} f calls, {a.njev} Jacobians, "
          f"{a.nlu} LU;  scipy FD: status {b.status}, {b.nfev} f calls, {b.njev} Jacobians, "
          f"{b.nlu} LU;  {coloring.n_colors} colours")
    check_close("final state, exact jac vs finite differences", a.y[:, -1], b.y[:, -1],
                rtol=1e-3, atol=1e-4)
    dd_bench = Bench("solve_ivp(BDF, jac=dualdiff sparse)", with_dd)
    fd_bench = Bench("solve_ivp(BDF, jac_sparsity=pattern) [scipy FD]", with_fd)
    group = [dd_bench, fd_bench]
    time_group(group, 2 if settings.quick else 5, settings.min_time)
    print_times(group)
    report_ratio("sparse.ode", "solve_ivp with dualdiff's jac / with scipy's sparse FD",
                 dd_bench, fd_bench, ODE_TARGET)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def run_rosenbrock(settings):
    from scipy.optimize import rosen_hess
    n = 1000 if settings.quick else 10_000
    section(f"[3] sparse Hessian of the chained Rosenbrock function, n = {n:.0e}")
    x = np.random.default_rng(1).uniform(-1, 1, n)
    coloring = dd.color_star(dd.hessian_sparsity(rosen, x))
    H = dd.hessian(rosen, x, sparse=coloring)
    print(f"  {coloring.n_colors} colours, {H.nnz} nonzeros")
    if n <= 2000:  # scipy's own (dense) rosen_hess, and the same formula kept sparse
        check_close("sparse H vs scipy.optimize.rosen_hess", H.toarray(), rosen_hess(x),
                    atol=1e-9)
    check_close("sparse H vs rosen_hess's formula", abs(H - _rosen_hess_sparse(x)).max(), 0.0,
                atol=1e-9)
    # The same passes compiled (COO triplets: what a compiled function can return).
    fast = dd.compile(lambda z: dd.hessian(rosen, z, sparse=coloring, format="coo"))
    check_close("compiled (format='coo') == eager, bitwise", fast(x).data, H.data, rtol=0, atol=0)
    base = Bench("numpy f(x)", rosen, (x,))
    reuse = Bench("dd.hessian(f, x, sparse=coloring)", dd.hessian, (rosen, x), {"sparse": coloring})
    compiled = Bench("dd.compile(hessian(f, x, sparse=coloring, format='coo'))", fast, (x,))
    group = [base, reuse, compiled]
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio("sparse.hessian", f"sparse Hessian, reused star colouring / numpy f (n = {n:.0e})",
                 reuse, base, HESSIAN_TARGET)
    report_ratio("sparse.hessian.compiled", "the same compiled, format='coo' / numpy f",
                 compiled, base)


def _rosen_hess_sparse(x):
    """scipy's rosen_hess formula, as a sparse matrix (its dense one would be 800 MB)."""
    import scipy.sparse as sp
    n = x.size
    off = -400 * x[:-1]
    diag = np.zeros(n)
    diag[0] = 1200 * x[0] ** 2 - 400 * x[1] + 2
    diag[-1] = 200
    diag[1:-1] = 202 + 1200 * x[1:-1] ** 2 - 400 * x[2:]
    return sp.diags([off, diag, off], [-1, 0, 1])


def slow_f(x):
    """An f that takes about 20 ms per call: a stand-in for a simulation (busy numpy work that
    does not involve x, then a cheap map of x)."""
    work = np.sin(np.arange(SLOW_SIZE, dtype=float))
    for _ in range(SLOW_LOOPS):
        work = np.sin(work)
    return np.tanh(x) * float(work[0] * 0.0 + 1.0) + x[::-1] * x


def sleepy_f(x):
    """An f that waits 20 ms (a stand-in for a call to an external program): it needs no core
    while it waits, so a pool's speed-up on it shows the plumbing, free of other jobs' load."""
    time.sleep(SLEEP_SECONDS)
    return np.tanh(x) + x[::-1] * x


SLEEP_SECONDS = 0.02
SLOW_SIZE = 50_000
SLOW_LOOPS = int(os.environ.get("DUALDIFF_BENCH_SLOW_LOOPS", "0"))  # 0: calibrated to 20 ms


def _calibrate_slow_f(x, seconds):
    """Loops of slow_f's busy work that make one call last ``seconds`` on this machine now."""
    global SLOW_LOOPS
    SLOW_LOOPS = 10
    t0 = time.perf_counter()
    for _ in range(3):
        slow_f(x)
    per_loop = (time.perf_counter() - t0) / 3 / SLOW_LOOPS
    SLOW_LOOPS = max(1, round(seconds / per_loop))
    return SLOW_LOOPS


def run_executor(settings):
    from concurrent.futures import ProcessPoolExecutor
    n = 4 if settings.quick else 64
    x = np.linspace(-1, 1, n)
    global SLEEP_SECONDS
    if settings.quick:
        SLEEP_SECONDS = 0.002
    loops = _calibrate_slow_f(x, 0.002 if settings.quick else 0.020)
    # The worker processes read the loop count from the environment (they import this module).
    os.environ["DUALDIFF_BENCH_SLOW_LOOPS"] = str(loops)
    t0 = time.perf_counter()
    for _ in range(5):
        slow_f(x)
    per_call = (time.perf_counter() - t0) / 5
    section(f"[4] dense Jacobian on an executor: f takes {per_call * 1e3:.1f} ms, n = {n}, "
            f"chunk = 1 ({n} passes); load average {os.getloadavg()[0]:.2f} on "
            f"{os.cpu_count()} cores")
    serial_J = dd.jacobian(slow_f, x, chunk=1)
    with ProcessPoolExecutor(2) as pool:
        pool_J = dd.jacobian(slow_f, x, chunk=1, executor=pool)  # also starts the workers
        check_close("pool J == serial J", pool_J, serial_J, rtol=0, atol=0)
        serial = Bench("dd.jacobian(f, x, chunk=1) serial", dd.jacobian, (slow_f, x),
                       {"chunk": 1})
        pooled = Bench("dd.jacobian(f, x, chunk=1, executor=2-process pool)", dd.jacobian,
                       (slow_f, x), {"chunk": 1, "executor": pool})
        sleep_serial = Bench("dd.jacobian(sleeping f, x, chunk=1) serial", dd.jacobian,
                             (sleepy_f, x), {"chunk": 1})
        sleep_pooled = Bench("dd.jacobian(sleeping f, x, chunk=1, executor=pool)", dd.jacobian,
                             (sleepy_f, x), {"chunk": 1, "executor": pool})
        group = [serial, pooled, sleep_serial, sleep_pooled]
        time_group(group, 3 if settings.quick else 5, settings.min_time)
    print_times(group)
    report_ratio("sparse.executor", "2-process pool / serial, dense Jacobian of a 20 ms f",
                 pooled, serial, EXECUTOR_TARGET)
    report_ratio("sparse.executor.sleep", "the same for an f that sleeps 20 ms (no CPU needed)",
                 sleep_pooled, sleep_serial)
    print(f"  speed-up {serial.median / pooled.median:.2f}x; load average now "
          f"{os.getloadavg()[0]:.2f}")


SECTIONS = {"banded": run_banded, "brusselator": run_brusselator, "rosenbrock": run_rosenbrock,
            "executor": run_executor}

if __name__ == "__main__":
    sys.exit(run_script("sparse Jacobians and Hessians, executors", __file__, SECTIONS))
