"""dd.grad computes only the values its gradient reads (dualdiff.tape.LazyVar).

grad throws f's value away, so on its tape sums, differences, negations, divisions by a constant
and products record their entry at once and compute their value only when something reads it.
These tests hold that to eager mode's contract: the same bits wherever a value is read, numpy's
error state of the moment the operation ran, every gradient against an independent oracle, and
nothing silently wrong when a value that was never computed is asked for too late.
"""

import copy
import pickle
import threading
import warnings

import numpy as np
import pytest

from hypothesis import given, settings

import dualdiff as dd
from dualdiff import tape as tape_module
from dualdiff import transforms
from dualdiff.rules import ufuncs
from oracles import check_close
from test_properties import (
    N, NVARS, SETTINGS, _expressions, _vector_dd, array_points, array_reference, evaluate_dd,
)

@pytest.fixture(autouse=True)
def defer_small_arrays(monkeypatch, request):
    """Defer from one element on, so that small arrays exercise what large ones do."""
    if request.function.__name__ not in ("test_only_large_arrays_are_deferred",
                                         "test_random_programs_deferred_as_computed") \
            and not request.function.__name__.startswith("test_small_"):
        monkeypatch.setattr(tape_module, "DEFER_MIN_SIZE", 1)
        monkeypatch.setattr(transforms, "DEFER_MIN_SIZE", 1)


RNG = np.random.default_rng(7)
W = RNG.standard_normal((4, 5))
V = RNG.standard_normal((4, 5))


def vjp_gradient(f, x):
    """The gradient by dd.vjp, whose tape computes every value as it goes (no deferral)."""
    _, pullback = dd.vjp(f, x)
    return pullback(1.0)


PROGRAMS = {
    "l2 penalty": lambda w: np.sum(np.tanh(w)) + 0.5 * 1e-3 * np.sum(w * w),
    "sum then divide": lambda w: np.sum(np.sin(w) - np.sum(w * 2.0, axis=0)) / 64,
    "negation and int constants": lambda w: -np.sum(3 * w - 2) + np.sum(-w * w),
    "keepdims and axes": lambda w: np.sum(np.sum(w * w, axis=1, keepdims=True) * np.exp(w)),
    "axis tuple": lambda w: np.sum(np.sum(w[None] * w[None], axis=(0, 2)) ** 2),
    "0-d chain": lambda w: (np.sum(w) * np.sum(w * w) - np.sum(w) / 3.0) * 2,
    "broadcast (computed now)": lambda w: np.sum(w * w[:1] + w[:, :1]),
    "product of two deferred": lambda w: np.sum((w + 1.0) * (w - 1.0)),
    "value read inside": lambda w: np.sum(w * w) * (1.0 if dd.stop_gradient(np.sum(w * w)) > 0 else 2.0),
    "reused deferred": lambda w: (lambda s: s * s + s)(np.sum(w * w)),
    "powers and squares": lambda w: np.sum(w ** 2) + np.sum(np.square(w - 1.0)) ** 0.5
                                    + np.sum((w * 0.5) ** 3) + np.sum(w ** 2.0) ** 2,
    "traced exponent (computed now)": lambda w: np.sum((w * w + 1.0) ** (w * 0.1)),
    "rosenbrock": lambda w: np.sum(100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_gradient_bitwise_as_computed_eagerly_and_against_complex_step(name):
    f = PROGRAMS[name]
    g = dd.grad(f, W)
    assert np.array_equal(g, vjp_gradient(f, W))  # (vjp's tape defers nothing)
    # complex step along V: Im f(W + ih V) / h = ∇f·V, independent of every rule
    h = 1e-30
    cs = np.imag(f(W + 1j * h * V)) / h if name != "value read inside" else None
    if cs is not None:
        assert np.vdot(g, V) == pytest.approx(cs, rel=1e-12, abs=1e-12)
    # dot-product test against forward mode: ∇f·V == J V
    _, jv = dd.jvp(f, W, V)
    assert np.vdot(g, V) == pytest.approx(float(jv), rel=1e-12, abs=1e-12)


def test_the_discarded_penalty_is_never_computed(monkeypatch):
    calls = []
    impl = ufuncs.MUL.impl

    def counting(a, b):
        calls.append((np.shape(a), np.shape(b)))
        return impl(a, b)

    monkeypatch.setattr(ufuncs.MUL, "impl", counting)
    f = lambda w: np.sum(np.tanh(w)) + 0.5 * 1e-3 * np.sum(w * w)
    g = dd.grad(f, W)
    assert (W.shape, W.shape) not in calls  # W * W was recorded but never computed
    np.testing.assert_allclose(g, (1 - np.tanh(W) ** 2) + 1e-3 * W, rtol=1e-15)
    calls.clear()
    value, g2 = dd.value_and_grad(f, W)  # the value is wanted: everything is computed
    assert (W.shape, W.shape) in calls
    assert value == f(W) and np.array_equal(g, g2)


@pytest.mark.parametrize("penalty", [lambda w: np.sum(w ** 2), lambda w: np.sum(np.square(w)),
                                     lambda w: np.sum(w ** 2.0)])
def test_penalties_as_people_write_them_are_never_computed(monkeypatch, penalty):
    calls = []
    for prim in (ufuncs.POW, ufuncs.SQUARE):
        monkeypatch.setattr(prim, "impl", lambda *a, _impl=prim.impl: calls.append(1) or _impl(*a))
    g = dd.grad(lambda w: np.sum(np.tanh(w)) + 1e-3 * penalty(w), W)
    assert calls == []
    np.testing.assert_allclose(g, 1 - np.tanh(W) ** 2 + 2e-3 * W, rtol=1e-14)


def test_values_read_inside_f_are_numpys_bits():
    seen = []

    def f(w):
        s = np.sum(w * w) / 7.0 - 1.5
        seen.append((dd.stop_gradient(s), s.shape, s.dtype, s.ndim, s.size, repr(s)))
        t = w * 3.0 + w
        seen.append((np.asarray(dd.stop_gradient(t)).copy(), t.shape, t.dtype))
        return np.sum(t) + s

    dd.grad(f, W)
    (s, shape, dtype, ndim, size, text), (t, tshape, tdtype) = seen
    assert s == np.sum(W * W) / 7.0 - 1.5 and shape == () and dtype == np.float64
    assert ndim == 0 and size == 1 and "Var(" in text
    assert np.array_equal(t, W * 3.0 + W) and tshape == W.shape and tdtype == np.float64


def test_value_and_aux_are_numpys_bits():
    f = lambda w: np.sum(w * w) / 3.0 + np.sum(np.sin(w))
    value, g = dd.value_and_grad(f, W)
    assert value == f(W) and type(value) is np.float64
    g2, aux = dd.grad(lambda w: (f(w), (w * 2.0, np.sum(w - 1.0))), W, has_aux=True)
    assert np.array_equal(aux[0], W * 2.0) and aux[1] == np.sum(W - 1.0)
    assert np.array_equal(g, g2)


def test_float32_stays_float32():
    w = W.astype(np.float32)
    f = lambda w: np.sum(w * w) * np.float32(0.5) + np.sum(w / 4)
    g = dd.grad(f, w)
    assert g.dtype == np.float32
    _, pullback = dd.vjp(f, w)
    assert np.array_equal(g, pullback(np.float32(1.0)))  # (ȳ = 1 in the loss's precision)
    np.testing.assert_allclose(g, w + np.float32(0.25), rtol=1e-6)


def test_non_scalar_output_is_refused_as_before():
    with pytest.raises(ValueError, match="scalar"):
        dd.grad(lambda w: w * 2.0, W)
    with pytest.raises(TypeError):
        dd.grad(lambda w: np.sum(w * w) * 1j, W)  # a complex loss: refused, never deferred


def test_error_state_is_the_one_the_operation_ran_under():
    big = np.full(3, 1e300)

    def loud(w):  # the overflow raises where the value is read, as it would where it ran
        with np.errstate(over="raise"):
            y = w * 1e300
        return np.sum(np.sin(w)) + 0.0 * dd.stop_gradient(np.sum(y))

    with pytest.raises(FloatingPointError):
        dd.grad(loud, big)

    def quiet(w):  # ignored where it ran: no warning where it is read
        with np.errstate(over="ignore"):
            y = w * 1e300
        assert np.all(np.isinf(dd.stop_gradient(y)))
        return np.sum(np.sin(w))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(dd.grad(quiet, big), np.cos(big))

    def unread(w):  # never read, but numpy raises where it runs: so it is computed there
        with np.errstate(over="raise"):
            y = w * 1e300
        return np.sum(np.sin(w)) + np.sum(y) * 0.0

    with pytest.raises(FloatingPointError):
        unread(big)
    with pytest.raises(FloatingPointError):
        dd.grad(unread, big)


def test_numpys_errors_for_a_constant_are_raised_at_once():
    with pytest.raises(OverflowError):  # (10**400 converts to no float)
        dd.grad(lambda w: np.sum(np.sin(w)) + np.sum(w + 10 ** 400) * 0.0, W)


def test_a_value_read_after_grad_returned_is_refused_not_recomputed():
    leaked = []

    def f(w):
        s = np.sum(w * w)
        t = np.tanh(w)
        leaked.extend([s, t])
        return s * 0.5 + np.sum(t)

    w = W.copy()
    dd.grad(f, w)
    s, t = leaked
    w[:] = 0.0  # (a deferred value computed now would read this)
    with pytest.raises(ValueError, match="never computed"):
        dd.stop_gradient(s)
    assert np.array_equal(dd.stop_gradient(t), np.tanh(W))  # computed values stay readable


def test_a_value_deferred_by_a_failed_call_is_refused():
    leaked = []

    def f(w):
        leaked.append(np.sum(w * w))
        raise KeyError("f failed")

    with pytest.raises(KeyError):
        dd.grad(f, W)
    with pytest.raises(ValueError, match="never computed"):
        dd.stop_gradient(leaked[0])


def test_in_place_operators_and_copies():
    def f(w):
        s = np.sum(w * w)
        c = copy.copy(s) + copy.deepcopy(s) * 0.0
        with pytest.raises(TypeError, match="pickling a Var"):
            pickle.dumps(np.sum(w * 3.0))
        s += 1.0
        s *= 2.0
        u = w * 1.0
        u -= w / 2.0
        return c + s + np.sum(u)

    g = dd.grad(f, W)
    np.testing.assert_allclose(g, 2 * W + 4 * W + 0.5, rtol=1e-14)
    assert np.array_equal(g, vjp_gradient(f, W))


def test_long_chain_of_deferred_values_reads_without_recursion():
    def f(w):
        s = w * 1.0
        for _ in range(5000):
            s = s + 1.0
        return np.sum(s) + 0.0 * dd.stop_gradient(s[0, 0])

    assert np.array_equal(dd.grad(f, W), np.ones_like(W))


def test_reverse_over_reverse_and_checkpoint():
    f = lambda w: np.sum(np.tanh(w)) + 0.25 * np.sum(w * w)
    hv = dd.grad(lambda w: np.sum(dd.grad(f, w) * V), W)  # (∇²f) V by reverse over reverse
    t = np.tanh(W)
    np.testing.assert_allclose(hv, (-2 * t * (1 - t ** 2) + 0.5) * V, rtol=1e-12)

    block = dd.checkpoint(lambda a: np.sin(a) * a)
    g = dd.grad(lambda w: np.sum(block(w * 2.0 + 1.0)), W)
    a = W * 2.0 + 1.0
    np.testing.assert_allclose(g, 2 * (np.cos(a) * a + np.sin(a)), rtol=1e-13)


def test_threads_keep_their_own_error_state():
    out = {}

    def run(name, state):
        def f(w):
            with np.errstate(over=state):
                y = w * 1e300
            dd.stop_gradient(y)
            return np.sum(w)
        try:
            out[name] = dd.grad(f, np.full(2, 1e300))
        except FloatingPointError as e:
            out[name] = e

    threads = [threading.Thread(target=run, args=("raise", "raise")),
               threading.Thread(target=run, args=("ignore", "ignore"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert isinstance(out["raise"], FloatingPointError)
    assert np.array_equal(out["ignore"], np.ones(2))


def sum_of_squares_noting_its_type():
    """np.sum(w * w), and the list of the types it had (Var: computed; LazyVar: deferred)."""
    seen = []

    def f(w):
        s = np.sum(w * w)
        seen.append(type(s))
        return s

    return f, seen


def test_nothing_is_deferred_outside_grad():
    f, seen = sum_of_squares_noting_its_type()
    dd.vjp(f, W)
    dd.value_and_grad(f, W)
    dd.grad(f, W)
    # (value_and_grad defers too, and computes the value once the gradient is done)
    assert seen == [tape_module.Var, tape_module.LazyVar, tape_module.LazyVar]
    dd.grad(lambda x: f(x[0] * x[1]), (1.0, 2.0))  # scalar inputs: nothing to gain
    dd.compile(lambda w: dd.grad(f, w))(W)  # staged values: the compiler removes dead code
    dd.hessian(f, W[0])  # forward over reverse: Duals on the tape
    assert tape_module.LazyVar not in seen[3:]


def test_only_large_arrays_are_deferred():
    f, seen = sum_of_squares_noting_its_type()
    small = np.ones(tape_module.DEFER_MIN_SIZE - 1)
    large = np.ones(tape_module.DEFER_MIN_SIZE)
    assert np.array_equal(dd.grad(f, small), 2 * small)
    assert np.array_equal(dd.grad(f, large), 2 * large)
    # small inputs: nothing deferred (numpy computes it in less time than deferring takes)
    assert seen == [tape_module.Var, tape_module.LazyVar]
    seen.clear()
    # a large input, small operations: computed at once, unless they read a deferred value or
    # start what most often only f's value reads (a sum, a square: see test_small_...)
    dd.grad(lambda w: f(w[:3] + w[3:6]) + f(np.sum(w * w)), large)
    assert seen == [tape_module.LazyVar, tape_module.LazyVar]


@settings(**SETTINGS)
@given(expr=_expressions(with_mixing=True), x=array_points)
def test_random_programs_deferred_as_computed(expr, x):
    """The random programs of test_properties: grad (everything deferrable deferred) has the
    bits of vjp's sweep (nothing deferred), value_and_grad's value those of the plain program,
    and both agree with the complex-step Jacobian."""
    X = np.array(x).reshape(NVARS, N)
    expected = array_reference(expr, X)
    weights = np.linspace(0.5, 1.5, N)

    def loss(Z):
        return dd.sum(_vector_dd(evaluate_dd(expr, [Z[0], Z[1], Z[2]])) * weights)

    saved = tape_module.DEFER_MIN_SIZE, transforms.DEFER_MIN_SIZE
    tape_module.DEFER_MIN_SIZE = transforms.DEFER_MIN_SIZE = 1
    try:
        with np.errstate(all="ignore"):
            g = dd.grad(loss, X)
            value, g2 = dd.value_and_grad(loss, X)
            plain, pullback = dd.vjp(loss, X)
            g3 = pullback(1.0)
    finally:
        tape_module.DEFER_MIN_SIZE, transforms.DEFER_MIN_SIZE = saved
    assert np.array_equal(g, g3, equal_nan=True) and np.array_equal(g2, g3, equal_nan=True)
    assert np.array_equal(value, plain, equal_nan=True)
    check_close(g, (weights @ expected.reshape(N, -1)).reshape(NVARS, N), rtol=1e-8,
                atol_scale=1e-10, what=f"grad of {expr}")


def test_grad_keeps_only_what_the_adjoints_read():
    x = np.ones(1000)  # 8000 bytes
    _, info = dd.grad(lambda x: np.sum(np.sin(x) * 2.0), x, full_output=True)
    assert info.peak_bytes == 8000  # sin keeps x; the product by a constant keeps the constant
    _, _, mem = dd.vjp(lambda x: np.sum(np.sin(x) * 2.0), x, full_output=True)
    assert mem.peak_bytes == 2 * 8000  # vjp's product keeps sin(x) too


def test_messages_call_a_deferred_value_a_var():
    def f(w):
        s = np.sum(w * w)
        with pytest.raises(TypeError, match="float\\(\\) of a Var would drop"):
            float(s)
        with pytest.raises(TypeError, match="converting a Var to a numpy array"):
            np.asarray(s)
        return s

    dd.grad(f, W)


def test_a_long_sum_in_a_loop_holds_a_bounded_number_of_terms():
    import tracemalloc

    x = np.linspace(0.0, 1.0, 1000)  # 8000 bytes a term

    def f(x):
        total = x * 0.0
        for i in range(200):
            total = total + np.sin(x + i)  # each term: a fresh 8 KB array eager code frees
        return np.sum(total)

    peaks = []
    for run in (lambda: dd.vjp(f, x)[1](1.0), lambda: dd.grad(f, x)):
        tracemalloc.start()
        run()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    eager, deferred = peaks
    # at most MAX_DEFERRED_DEPTH = 16 terms held, with their arguments (unbounded, the 200
    # terms would add 1.6 MB)
    assert deferred <= eager + 2 * 16 * 8000
    np.testing.assert_allclose(dd.grad(f, x), sum(np.cos(x + i) for i in range(200)), rtol=1e-12)


# Small operations on a tape with a large input (a model's parameters): sums and squares start
# what most often only the loss's value reads, and are deferred; anything else small runs at once
# (a bias add's or a residual's value is read by the next layer). The real DEFER_MIN_SIZE here.
_LARGE = np.linspace(-1.0, 1.0, tape_module.DEFER_MIN_SIZE).reshape(256, -1)
_SMALL = np.linspace(0.5, 1.5, 12).reshape(3, 4)
_LABELS = np.eye(3)[[0, 2, 1, 1]].T  # one-hot, classes along axis 0


def _kinds(f, x):
    """f's gradient on grad's tape, and the type (Var or LazyVar) of each value f noted."""
    seen = []

    def noting(p):
        return f(p, lambda v: seen.append(type(v)) or v)

    return dd.grad(noting, x), seen


_SMALL_PROGRAMS = {
    # (f(p, note), the types noted: L deferred, V computed)
    "the mlp's loss": (lambda p, n: np.sum(n(np.sum(n(_LABELS * n(p[1] @ np.tanh(p[0][:4, :4]))), axis=0)))
                       + 0.5 * n(np.sum(n(p[1] * p[1]))), "VVLLL"),
    "square, float32": (lambda p, n: np.sum(np.tanh(p[0][0, :3])) + n(np.square(p[1].astype(np.float32))).sum(), "L"),
    "0-d and empty sums": (lambda p, n: n(np.sum(p[1][0, 0, ...])) * n(np.sum(p[1][:0]))
                           + n(np.sum(p[1][0, 1])) + np.sum(p[0]), "LLV"),  # (a number: at once)
    "strided and broadcast": (lambda p, n: n(np.sum(n((lambda q: q * q)(p[1][:, ::2])), axis=1)).sum()
                              + n(np.sum(np.broadcast_to(p[1][0], (5, 4)))) + np.sum(p[0]), "LLL"),
    # ... and what runs at once: a sum of two values, a product of two, a value read at once
    "bias and residual": (lambda p, n: np.sum(np.tanh(n(p[1] + p[1][::-1])) * n(p[1] * 2.0)
                                             + np.sum(p[0])), "VV"),
    "a sum read at once": (lambda p, n: np.sum(np.tanh(p[1] / n(np.sum(p[1])))) + np.sum(p[0]), "L"),
}


@pytest.mark.parametrize("name", sorted(_SMALL_PROGRAMS))
def test_small_sums_and_squares_deferred_bitwise_as_computed(name):
    f, kinds = _SMALL_PROGRAMS[name]
    x = (_LARGE, _SMALL)
    g, seen = _kinds(f, x)
    assert "".join("L" if t is tape_module.LazyVar else "V" for t in seen) == kinds
    plain = lambda p: f(p, lambda v: v)  # noqa: E731
    expected = vjp_gradient(plain, x)  # vjp's tape computes every value as it goes
    for a, b in zip(g, expected):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    value, g2 = dd.value_and_grad(plain, x)
    assert value == plain(x)
    for a, b in zip(g, g2):
        assert a.tobytes() == b.tobytes()
    # against central differences of the plain numpy program
    h, rng = (1e-3 if "float32" in name else 1e-6), np.random.default_rng(5)
    u = (rng.standard_normal(_LARGE.shape), rng.standard_normal(_SMALL.shape))
    fd = (plain((_LARGE + h * u[0], _SMALL + h * u[1]))
          - plain((_LARGE - h * u[0], _SMALL - h * u[1]))) / (2 * h)
    np.testing.assert_allclose(np.vdot(g[0], u[0]) + np.vdot(g[1], u[1]), fd,
                               rtol=1e-3 if "float32" in name else 1e-6)


def test_small_operations_with_small_inputs_only_are_computed():
    f, kinds = _SMALL_PROGRAMS["the mlp's loss"]
    x = (_LARGE[:4, :4].copy(), _SMALL)  # no large input: nothing deferred
    g, seen = _kinds(f, x)
    assert tape_module.LazyVar not in seen and len(seen) == 5


def test_small_values_never_read_are_never_computed(monkeypatch):
    calls = []
    for prim in (ufuncs.MUL, ufuncs.SQUARE):
        monkeypatch.setattr(prim, "impl", lambda *a, _impl=prim.impl: calls.append(1) or _impl(*a))
    g = dd.grad(lambda p: np.sum(np.tanh(p[0])) + np.sum(np.square(p[1])) + np.sum(p[1] * p[1]),
                (_LARGE, _SMALL))
    assert calls == []
    np.testing.assert_array_equal(g[1], 2 * _SMALL + 2 * _SMALL)


@pytest.mark.parametrize("n", [3, 300])  # (a small square, deferred by the rule above; a large sum)
def test_small_and_large_deferred_values_keep_what_they_read_before_a_write(n):
    # a computed value written after a deferred operation read it: the operation's value is
    # the one numpy gives, computed from what it read, not from the value written since
    def f(w):
        h = np.tanh(w[:n, :n])
        q = h * h
        s = np.sum(h)
        h[0, 0] = 7.0
        return np.sum(q) + s * 0.5 + np.sum(h)

    x = (_LARGE[:300, :256].copy() * 0.01,)
    value, g = dd.value_and_grad(lambda p: f(p[0]), x)
    assert value == f(x[0].copy())
    g2 = vjp_gradient(lambda p: f(p[0]), x)
    assert g[0].tobytes() == g2[0].tobytes()
    h = np.tanh(x[0][:n, :n])
    expected = np.zeros_like(x[0])
    expected[:n, :n] = (2 * h + 0.5 + 1.0) * (1 - h * h)
    expected[0, 0] = (2 * h[0, 0] + 0.5) * (1 - h[0, 0] ** 2)  # (the write cut h[0, 0] off)
    np.testing.assert_allclose(g[0], expected, rtol=1e-14, atol=0)


def _write_setitem(a):
    a[0, 0] = 7.0
    return a


def _write_iadd(a):
    a += 1.5
    return a


def _write_imul(a):
    a *= 3.0
    return a


@pytest.mark.parametrize("write", [_write_setitem, _write_iadd, _write_imul])
@pytest.mark.parametrize("n", [3, 300])  # (a small square: deferred by the rule above; large)
def test_small_and_large_deferred_values_written_after_another_read_them(write, n):
    # a deferred value written after a deferred operation read it: the operation computes from
    # what it read, as numpy does, however late it is computed
    def f(w):
        a = np.tanh(w[:n, :n]) * 1.0 if n > 3 else (lambda h: h * h)(np.tanh(w[:n, :n]))
        b = a + 1.0
        s = np.sum(a)
        a = write(a)
        c = a * 2.0
        return np.sum(b) + 0.5 * s + np.sum(c)

    x = (_LARGE[:300, :256].copy() * 0.01,)
    value, g = dd.value_and_grad(lambda p: f(p[0]), x)
    assert value == f(x[0].copy())
    g2 = vjp_gradient(lambda p: f(p[0]), x)
    assert g[0].tobytes() == g2[0].tobytes()
    assert dd.grad(lambda p: f(p[0]), x)[0].tobytes() == g2[0].tobytes()
