"""Replayed sweeps (dualdiff.replay) against the interpreted sweep, bit for bit.

A replayed sweep must give what the interpreted one gives for the same tape: same types, dtypes,
shapes and bytes. Checked on every case of the table test (every primitive and composite, in
float64 and float32, a gradient and a forward-over-reverse Hessian), on the random programs of
tests/test_properties.py at several points, and on what must not be replayed or must miss: a
closure array written between calls, changed constants, shapes and dtypes, a value a rule
branches on, nested derivatives, user rules, checkpoints, counts and threads.
"""

from __future__ import annotations

import threading
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings

import dualdiff as dd
from dualdiff import replay
from dualdiff.codegen import same_value
from oracles import check_close
from table_cases import CASES, COMPOSITES
from test_properties import (N, NVARS, SETTINGS, _expressions, _vector_dd, array_points,
                             array_reference, evaluate_dd)


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """Every tape eligible (short ones too) and recorded the second time it is seen."""
    monkeypatch.setattr(replay, "ENABLED", True)
    monkeypatch.setattr(replay, "MIN_ENTRIES", 1)
    monkeypatch.setattr(replay, "RECORD_AT", 2)
    monkeypatch.setattr(replay, "RECORD_BUDGET", (0.0, 0.0))
    replay.clear()
    yield
    replay.clear()


def _identical(a, b, what):
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), f"{what}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            _identical(x, y, f"{what}[{i}]")
        return
    if isinstance(a, dict):
        assert type(b) is dict and a.keys() == b.keys(), what
        for k in a:
            _identical(a[k], b[k], f"{what}[{k!r}]")
        return
    assert same_value(a, b), f"{what}: replayed {b!r} != interpreted {a!r}"


def _interpreted(fn, *args):
    replay.ENABLED = False
    try:
        return fn(*args)
    finally:
        replay.ENABLED = True


def _replays(fn, *args, calls=4):
    """fn's result with replay off, then each of ``calls`` results with it on (the second call
    records, the later ones replay), and how many calls were replayed."""
    expected = _interpreted(fn, *args)
    before = replay.stats()["replayed"]
    got = [fn(*args) for _ in range(calls)]
    return expected, got, replay.stats()["replayed"] - before


# --- every entry of the table ----------------------------------------------------------------

#: Composites whose tapes are never replayed, and why (asserted below, so the list stays true).
NOT_REPLAYED = {
    "interp": "its gather indices are computed from x's value (an array parameter)",
    "piecewise": "it selects x[cond] by conditions computed from x's value",
}


def _cases():
    out = []
    for name in list(dd.PRIMITIVES) + COMPOSITES:
        for case in CASES.get(name, []):
            out.append(pytest.param(case, id=case.id))
    return out


def _cast(x, dtype):
    if dtype is None:
        return x
    return np.asarray(x, dtype=dtype) if np.ndim(x) else dtype(x)


def _loss_of(case, args, rng, dtype):
    """A real scalar function of the case's traced arguments: Σ w·re(f) (+ Σ w'·im(f))."""
    traced = list(case.traced) if case.traced is not None else list(range(len(args)))
    fixed = list(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = case.fn(*args)
    y = y if isinstance(y, tuple) else (y,)
    weights = [_cast(rng.uniform(0.5, 1.5, size=np.shape(v)), dtype) for v in y]

    def loss(*xs):
        full = list(fixed)
        for i, x in zip(traced, xs):
            full[i] = x
        out = case.fn(*full)
        out = out if isinstance(out, tuple) else (out,)
        total = 0.0
        for v, w in zip(out, weights):
            total = total + np.sum(np.real(v) * w)
            if np.iscomplexobj(dd.stop_gradient(v)):
                total = total + np.sum(np.imag(v) * w)
        return total

    return loss, tuple(args[i] for i in traced), y


def _table_check(case, dtype):
    rng = np.random.default_rng(zlib.crc32(case.id.encode()) + 7)
    args = tuple(_cast(a, dtype) for a in case.args(rng))
    loss, xs, y = _loss_of(case, args, rng, dtype)
    if any(np.asarray(dd.stop_gradient(v)).dtype.kind not in "fc" for v in y):
        pytest.skip("an integer or boolean function: no derivative to sweep")
    grad = dd.grad(loss, argnums=tuple(range(len(xs))))
    replayed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, got, n = _replays(grad, *xs)
        replayed += n
        for i, g in enumerate(got):
            _identical(expected, g, f"{case.id} gradient, call {i}")
        x0 = xs[0]
        if np.ndim(x0) and 0 < np.size(x0) <= 24 and not np.iscomplexobj(x0):
            hess = lambda x0: dd.hessian(lambda z: loss(z, *xs[1:]), x0)
            expected, got, n = _replays(hess, x0)
            replayed += n
            for i, h in enumerate(got):
                _identical(expected, h, f"{case.id} Hessian, call {i}")
    return replayed


@pytest.mark.parametrize("case", _cases())
def test_replayed_equals_interpreted(case):
    replayed = _table_check(case, None)
    name = case.id.split("[")[0].split("-")[0]
    if name in NOT_REPLAYED:
        assert replayed == 0, f"{case.id} was replayed; NOT_REPLAYED says it is not"


@pytest.mark.parametrize("case", _cases())
def test_replayed_equals_interpreted_float32(case):
    _table_check(case, np.float32)


def test_most_of_the_table_is_replayed():
    # (so that the two tests above compare replayed sweeps, not interpreted ones twice)
    cases = [p.values[0] for p in _cases()]
    replayed = 0
    for case in cases:
        replay.clear()
        try:
            replayed += _table_check(case, None) > 0
        except pytest.skip.Exception:
            replayed += 1
    assert replayed >= 0.7 * len(cases), f"only {replayed} of {len(cases)} cases replayed"


# --- random programs -------------------------------------------------------------------------

@settings(**dict(SETTINGS, max_examples=min(SETTINGS["max_examples"], 40)))
@given(expr=_expressions(with_mixing=True), x=array_points, y=array_points)
def test_random_programs_replayed_equal_interpreted_and_complex_step(expr, x, y):
    replay.clear()
    X = np.array(x).reshape(NVARS, N)
    Y = np.array(y).reshape(NVARS, N)
    w = np.linspace(0.5, 1.5, N)

    def loss(Z):
        return dd.sum(_vector_dd(evaluate_dd(expr, [Z[0], Z[1], Z[2]])) * w)

    def first(z):  # (a Hessian in the first variable: forward over reverse)
        return dd.sum(_vector_dd(evaluate_dd(expr, [z, X[1], X[2]])) * w)

    with np.errstate(all="ignore"):
        for P in (X, Y, X, Y, X):  # recorded at one point, replayed (or missed) at the other
            _identical(_interpreted(dd.grad, loss, P), dd.grad(loss, P), f"grad of {expr}")
            _identical(_interpreted(dd.hessian, first, P[0]), dd.hessian(first, P[0]),
                       f"Hessian of {expr}")
        got = dd.grad(loss, X)
    expected = array_reference(expr, X)
    check_close(got, (w @ expected.reshape(N, -1)).reshape(NVARS, N), rtol=1e-8,
                atol_scale=1e-10, what=f"grad of {expr}")


# --- what the replay must see, and what it must leave alone -------------------------------------

def _mlp():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(8, 5))
    Y = np.eye(3)[rng.integers(0, 3, size=5)].T

    def loss(p):
        W1, W2 = p
        o = W2 @ np.tanh(W1 @ X)
        return np.sum(dd.logsumexp(o, axis=0) - np.sum(Y * o, axis=0)) / 5 + 0.1 * np.sum(W1 * W1)

    return X, loss, (rng.normal(size=(4, 8)), rng.normal(size=(3, 4)))


def test_a_closure_array_written_between_calls_is_read_again():
    X, loss, params = _mlp()
    for step in range(6):
        X[...] = np.random.default_rng(step).normal(size=X.shape)  # the next batch, in place
        _identical(_interpreted(dd.grad, loss, params), dd.grad(loss, params), f"step {step}")
    assert replay.stats()["replayed"] >= 3


def test_a_training_loop_replays_and_matches_the_interpreted_one():
    X, loss, params = _mlp()
    p_on = p_off = params
    for _ in range(8):
        g_on = dd.grad(loss, p_on)
        g_off = _interpreted(dd.grad, loss, p_off)
        _identical(g_off, g_on, "gradient")
        p_on = tuple(p - 0.1 * g for p, g in zip(p_on, g_on))
        p_off = tuple(p - 0.1 * g for p, g in zip(p_off, g_off))
    assert replay.stats()["replayed"] >= 6


def test_changed_constants_shapes_and_dtypes_miss():
    def f(x, c):
        return np.sum(np.sin(x) * c + x ** 2)

    x = np.linspace(0.1, 1.0, 7)
    for args in [(x, 2.0), (x, 2.0), (x, 2.0), (x, 3.0), (x, -0.0), (x, 0.0), (x[:5], 2.0),
                 (x.astype(np.float32), 2.0), (x[::2], 2.0), (x, 2), (x, 2.0)]:
        g = lambda x: dd.grad(lambda z: f(z, args[1]), x)
        _identical(_interpreted(g, args[0]), g(args[0]), f"args {args[1]!r}, {args[0].dtype}")
    assert replay.stats()["missed"] >= 1


def test_a_branch_of_a_rule_on_values_is_a_guard():
    # x ** y's derivative in y tests x == 0 (where it takes the limit): a recorded guard
    def f(y):
        return np.sum(np.array([0.0, 2.0, 3.0]) ** y * y)

    for y in [np.ones(3), np.ones(3), np.ones(3), np.array([1.0, 2.0, 0.5])]:
        _identical(_interpreted(dd.grad, f, y), dd.grad(f, y), "grad")
    x = np.array([1.0, 0.0, 2.0])
    g = lambda z: np.sum(z ** np.array([2.0, 3.0, 0.5]) * z)
    for point in [x + 1, x + 1, x + 1, x]:
        _identical(_interpreted(dd.grad, g, point), dd.grad(g, point), "grad at a zero")


def test_the_hessian_of_rosenbrock_is_replayed_and_exact():
    def rosenbrock(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    x = np.linspace(-1.0, 1.5, 30)
    expected, got, replayed = _replays(dd.hessian, rosenbrock, x)
    assert replayed == 2
    for h in got:
        _identical(expected, h, "Hessian")
    i = np.arange(29)
    closed = np.zeros((30, 30))
    closed[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    closed[i + 1, i + 1] += 200
    closed[i, i + 1] = closed[i + 1, i] = -400 * x[:-1]
    check_close(got[-1], closed, rtol=1e-12, atol_scale=1e-12, what="Rosenbrock's Hessian")


def test_counts_are_the_interpreted_ones():
    def f(x):
        return np.sum(np.sin(x) * np.exp(x) + x ** 2)

    x = np.linspace(0.0, 1.0, 6)
    infos = []
    for _ in range(4):
        _, info = dd.jacobian(lambda z: dd.grad(f, z), x, full_output=True)
        infos.append((info.passes, info.operations))
    _, info = _interpreted(lambda: dd.jacobian(lambda z: dd.grad(f, z), x, full_output=True))
    assert replay.stats()["replayed"] >= 1
    assert all(i == (info.passes, info.operations) for i in infos), (infos, info)


def test_nested_reverse_user_rules_checkpoints_and_traces_are_interpreted():
    x = np.linspace(0.1, 1.0, 5)
    twice = lambda z: np.sum(np.sin(z) * z)
    cube = dd.elementwise("cube_for_replay", lambda v: v ** 3, (lambda v, o: 3 * v ** 2,))
    programs = [
        lambda x: dd.grad(lambda z: np.sum(dd.grad(twice, z) ** 2), x),  # reverse over reverse
        lambda x: dd.grad(lambda z: np.sum(cube(z) * z), x),  # a user's rule
        lambda x: dd.grad(lambda z: np.sum(dd.checkpoint(np.sin, z) * z), x),
    ]
    for i, prog in enumerate(programs):
        replay.clear()
        expected = _interpreted(prog, x)
        for _ in range(4):
            _identical(expected, prog(x), f"program {i}")
    replay.clear()
    for _ in range(3):
        dd.trace(twice, x)
    assert replay.stats()["replayed"] == 0


def test_an_exception_in_f_and_errors_of_the_sweep_are_eager_modes():
    def f(x, fail):
        y = np.sum(np.exp(x) * x)
        if fail:
            raise RuntimeError("f failed")
        return y

    x = np.linspace(0.0, 1.0, 4)
    for fail in (False, False, True, False, False):
        if fail:
            with pytest.raises(RuntimeError, match="f failed"):
                dd.grad(lambda z: f(z, True), x)
        else:
            _identical(_interpreted(dd.grad, lambda z: f(z, False), x),
                       dd.grad(lambda z: f(z, False), x), "grad")
    # an overflow in the sweep under np.errstate(over='raise'): raised, replayed or not
    g = lambda z: np.sum(np.exp(z) * z)
    big = np.full(3, 700.0)
    for _ in range(3):
        dd.grad(g, big / 10)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        dd.grad(g, big + 10)


def test_threads_share_recordings():
    X, loss, params = _mlp()
    expected = _interpreted(dd.grad, loss, params)
    errors = []

    def work():
        try:
            for _ in range(20):
                _identical(expected, dd.grad(loss, params), "gradient in a thread")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert replay.stats()["replayed"] >= 10


def test_off_switch_clear_and_large_tapes():
    x = np.linspace(0.0, 1.0, 6)
    f = lambda z: np.sum(np.sin(z) * z)
    replay.ENABLED = False
    for _ in range(4):
        dd.grad(f, x)
    assert replay.stats()["structures"] == 0
    replay.ENABLED = True
    for _ in range(3):
        dd.grad(f, x)
    assert replay.stats()["structures"] == 1
    replay.clear()
    assert replay.stats()["structures"] == 0
    big = np.linspace(0.0, 1.0, (replay.MAX_BYTES // 8) + 1)
    for _ in range(4):
        dd.grad(f, big)
    assert replay.stats()["structures"] == 0


def test_the_recordings_memory_is_bounded(monkeypatch):
    # the arrays all recordings read stay under MAX_TOTAL_BYTES: the oldest structure goes
    monkeypatch.setattr(replay, "MAX_TOTAL_BYTES", 3 * 8 * 1000)
    f = lambda z: np.sum(np.sin(z) * z)
    g = lambda z: np.sum(np.cos(z) * z * z)
    x = np.linspace(0.0, 1.0, 1000)
    for _ in range(3):
        dd.grad(f, x)
    assert replay.stats()["structures"] == 1
    for _ in range(3):
        dd.grad(g, x)
    assert replay.stats()["structures"] == 1 and replay.stats()["recorded"] == 2
    (specs,) = replay._specs.values()
    assert specs[0].nbytes <= replay.MAX_TOTAL_BYTES
    _identical(_interpreted(dd.grad, g, x), dd.grad(g, x), "gradient")


def test_gradients_handed_back_are_the_callers():
    # a replayed gradient is fresh memory: writing into it changes no later result
    X, loss, params = _mlp()
    first = [dd.grad(loss, params) for _ in range(4)]
    for g in first:
        for a in g:
            a[...] = np.nan
    _identical(_interpreted(dd.grad, loss, params), dd.grad(loss, params), "gradient")


@pytest.mark.parametrize("program", ["hessian-chunk-3", "hvp", "grad-of-jvp", "writes-and-views",
                                     "dict-params", "float32-mlp", "where-mask", "jacobian-of-grad"])
def test_more_programs_replayed_equal_interpreted(program):
    rng = np.random.default_rng(11)
    x = rng.uniform(0.5, 1.5, 7)
    v = rng.normal(size=7)
    f = lambda z: np.sum(np.sin(z) * np.exp(z[::-1]) + z[1:] @ z[:-1] + np.cumsum(z) ** 2)

    def writes(z):
        y = z * 1.0
        y[1:] += z[:-1] ** 2
        row = y[2:5]
        y[3] = 2.0 * z[0]
        return np.sum(row * y[:3]) + np.sum(y ** 3)

    X, loss, params = _mlp()
    programs = {
        "hessian-chunk-3": lambda: dd.jacobian(lambda z: dd.grad(f, z), x, chunk=3),
        "hvp": lambda: dd.hvp(f, x, v),
        "grad-of-jvp": lambda: dd.grad(lambda z: dd.jvp(f, z, v)[1], x),
        "writes-and-views": lambda: (dd.grad(writes, x), dd.hessian(writes, x)),
        "dict-params": lambda: dd.grad(lambda p: np.sum(np.tanh(p["w"] @ p["b"]) ** 2)
                                       + np.sum(p["b"] ** 4),
                                       {"w": rng_w, "b": x[:4]}),
        "float32-mlp": lambda: dd.grad(loss, tuple(p.astype(np.float32) for p in params)),
        "where-mask": lambda: dd.grad(lambda z: np.sum(np.where(z > 1.0, z ** 2, np.sin(z))), x),
        "jacobian-of-grad": lambda: dd.jacobian(lambda z: dd.grad(f, z), x),
    }
    rng_w = rng.normal(size=(3, 4))
    run = programs[program]
    expected = _interpreted(run)
    for i in range(5):
        _identical(expected, run(), f"{program}, call {i}")
    # (x[...] = v and where's condition: parameters that hold arrays, never replayed)
    assert (replay.stats()["replayed"] > 0) == (program not in ("writes-and-views", "where-mask"))


def test_a_failed_recording_leaves_the_counts_and_results_alone(monkeypatch):
    def f(z):
        return np.sum(np.sin(z) * z + z ** 3)

    x = np.linspace(0.1, 1.0, 5)
    _, info = _interpreted(lambda: dd.jacobian(lambda z: dd.grad(f, z), x, full_output=True))

    def broken(*args, **kwargs):
        raise RuntimeError("codegen failed")

    monkeypatch.setattr(replay, "generate", broken)
    for _ in range(4):
        h, got = dd.jacobian(lambda z: dd.grad(f, z), x, full_output=True)
        assert (got.passes, got.operations) == (info.passes, info.operations)
    assert replay.stats()["refused"] == 1 and replay.stats()["replayed"] == 0
    _identical(_interpreted(dd.hessian, f, x), h, "Hessian")


@pytest.mark.parametrize("size", ["small", "pooled"])
def test_gradients_kept_across_calls_are_never_overwritten(size):
    # a training loop that keeps every step's gradient (a history, a running average); the
    # pooled size's weight gradient (100×784, 627 KB) is written into the buffer pool's memory
    X, loss, params = _mlp()
    if size == "pooled":
        rng = np.random.default_rng(5)
        X = rng.normal(size=(784, 16))

        def loss(p):  # noqa: F811
            W1, W2 = p
            return np.sum(np.tanh(W2 @ np.tanh(W1 @ X)) ** 2) + 0.01 * np.sum(W1 * W1)

        params = (rng.normal(size=(100, 784)) * 0.05, rng.normal(size=(10, 100)) * 0.1)
    kept, copies = [], []
    p = params
    for step in range(12):
        g = dd.grad(loss, p)
        kept.append(g)
        copies.append(tuple(a.copy() for a in g))
        p = tuple(w - 0.05 * a for w, a in zip(p, g))
    assert replay.stats()["replayed"] >= 8
    for g, c in zip(kept, copies):
        _identical(c, g, "a gradient kept from an earlier step")


def test_an_error_in_the_replayed_code_hands_over_to_the_interpreted_sweep(monkeypatch):
    f = lambda z: np.sum(np.sin(z) * z + np.exp(z) ** 2)
    x = np.linspace(0.1, 1.0, 5)
    for _ in range(3):
        dd.grad(f, x)
    (spec,), = replay._specs.values()

    def broken(*args):
        raise NameError("a flaw of the generated code")

    monkeypatch.setattr(spec, "run", broken)
    _identical(_interpreted(dd.grad, f, x), dd.grad(f, x), "gradient")
    assert replay.stats()["structures"] == 0
