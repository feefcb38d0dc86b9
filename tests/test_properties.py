"""Property tests: random compositions of dualdiff functions at random points, against complex step.

An expression is a random tree over the inputs, built by hypothesis. It is evaluated twice by two
separate interpreters: once with dualdiff (Duals flowing through dd.* functions, operators and
numpy dispatch) and once with a numpy reference written here, on complex arrays, for the
complex-step oracle. The non-smooth operations (abs, relu, maximum, minimum, where) have
piecewise references that pick the branch by the real part, so complex step stays exact for them
away from their kinks; the reference interpreter records how close each evaluation came to a
kink and the example is discarded when it came too close.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
from hypothesis import HealthCheck, assume, given, settings, strategies as st

# When a hypothesis test fails, its pytest plugin imports hypothesis.extra._patching, which
# imports libcst, which raises a DeprecationWarning (mypy_extensions.TypedDict) on import. The
# project's pytest config turns DeprecationWarning into an error, so a failing property test
# became an INTERNALERROR that aborted the whole session and hid every other result. Importing
# the module once here, with that warning silenced, keeps a failure an ordinary failure.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except Exception:  # libcst missing or broken: the plugin then skips the patch itself
        pass

import dualdiff as dd
from oracles import check_close, complex_step_jacobian, complex_step_jvp

SETTINGS = dict(deadline=None, max_examples=int(os.environ.get("DUALDIFF_PROPERTY_EXAMPLES", "150")),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

NVARS = 3
N = 4  # length of the vectors in the array compositions
KINK_GAP = 1e-4
_MIX = np.array([[0.5, -1.0, 0.25, 0.0], [0.3, 0.2, -0.6, 1.1], [-0.8, 0.0, 0.4, 0.9],
                 [0.1, 0.7, 0.0, -0.3]])


class Kinks:
    """The smallest distance to a kink met during one reference evaluation."""

    def __init__(self):
        self.gap = math.inf

    def note(self, distance):
        d = np.min(np.abs(np.real(distance)))
        self.gap = min(self.gap, float(d))


# --------------------------------------------------------------------------------------------
# The operations: (dualdiff version, reference version on complex arrays)
# --------------------------------------------------------------------------------------------
# Each dualdiff version is deliberately written a different way (dd.* function, numpy dispatch,
# operator) to exercise every door into the library. The references use only numpy and Python
# operators. Each operation is total on the reals (domains are guarded inside the op).

UNARY = {
    "sin": (dd.sin, lambda z, k: np.sin(z)),
    "cos": (np.cos, lambda z, k: np.cos(z)),
    "tan_bounded": (lambda x: dd.tan(0.5 * dd.tanh(x)), lambda z, k: np.tan(0.5 * np.tanh(z))),
    "exp": (np.exp, lambda z, k: np.exp(z)),
    "log_1p_sq": (lambda x: dd.log(1.0 + x * x), lambda z, k: np.log(1.0 + z * z)),
    "log1p_sq": (lambda x: np.log1p(x ** 2), lambda z, k: np.log1p(z * z)),
    "expm1": (dd.expm1, lambda z, k: np.expm1(z)),
    "sqrt_1p_sq": (lambda x: dd.sqrt(1.0 + x * x), lambda z, k: np.sqrt(1.0 + z * z)),
    "tanh": (np.tanh, lambda z, k: np.tanh(z)),
    "sinh": (dd.sinh, lambda z, k: np.sinh(z)),
    "cosh": (np.cosh, lambda z, k: np.cosh(z)),
    "arcsin_bounded": (lambda x: dd.arcsin(0.9 * dd.tanh(x)), lambda z, k: np.arcsin(0.9 * np.tanh(z))),
    "arccos_bounded": (lambda x: np.arccos(0.9 * np.sin(x)), lambda z, k: np.arccos(0.9 * np.sin(z))),
    "arctan": (dd.arctan, lambda z, k: np.arctan(z)),
    "sigmoid": (dd.sigmoid, lambda z, k: 1.0 / (1.0 + np.exp(-z))),
    "neg": (lambda x: -x, lambda z, k: -z),
    "affine": (lambda x: 2.5 * x - 1.0, lambda z, k: 2.5 * z - 1.0),
    "square": (lambda x: x ** 2, lambda z, k: z * z),
    "cube": (lambda x: dd.power(x, 3), lambda z, k: z * z * z),
    "recip": (lambda x: 1.0 / (1.0 + x * x), lambda z, k: 1.0 / (1.0 + z * z)),
    "pow_const_base": (lambda x: 1.5 ** dd.sin(x), lambda z, k: np.exp(np.sin(z) * np.log(1.5))),
    # not analytic: piecewise references, branch chosen by the real part
    "abs": (abs, lambda z, k: (k.note(z), np.where(np.real(z) >= 0, z, -z))[1]),
    "relu": (dd.relu, lambda z, k: (k.note(z), np.where(np.real(z) > 0, z, 0.0 * z))[1]),
    "sign_times": (lambda x: dd.sign(x) * x, lambda z, k: (k.note(z), np.where(np.real(z) >= 0, z, -z))[1]),
}

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b, k: a + b),
    "sub": (np.subtract, lambda a, b, k: a - b),
    "mul": (dd.multiply, lambda a, b, k: a * b),
    "div": (lambda a, b: a / (1.5 + dd.sin(b)), lambda a, b, k: a / (1.5 + np.sin(b))),
    "pow": (lambda a, b: (1.0 + a * a) ** dd.sin(b),
            lambda a, b, k: np.exp(np.sin(b) * np.log(1.0 + a * a))),
    "np_pow": (lambda a, b: np.power(dd.sqrt(1.0 + b * b), a),
               lambda a, b, k: np.exp(a * np.log(np.sqrt(1.0 + b * b)))),
    "arctan2": (lambda a, b: dd.arctan2(a, 1.5 + np.cos(b)),
                lambda a, b, k: np.arctan(a / (1.5 + np.cos(b)))),
    "hypot": (lambda a, b: dd.sqrt(a * a + b * b + 1.0), lambda a, b, k: np.sqrt(a * a + b * b + 1.0)),
    "maximum": (dd.maximum, lambda a, b, k: (k.note(a - b), np.where(np.real(a) > np.real(b), a, b))[1]),
    "minimum": (np.minimum, lambda a, b, k: (k.note(a - b), np.where(np.real(a) < np.real(b), a, b))[1]),
    "where": (lambda a, b: dd.where(a > b, a * b, a - b),
              lambda a, b, k: (k.note(a - b), np.where(np.real(a) > np.real(b), a * b, a - b))[1]),
}

# operations that mix the elements of a vector (only in the array compositions)
MIXING = {
    "matvec": (lambda v: _MIX @ v, lambda v, k: _MIX @ v),
    "vecmat": (lambda v: v @ _MIX, lambda v, k: v @ _MIX),
    "softmax": (dd.softmax, lambda v, k: np.exp(v) / np.sum(np.exp(v))),
    "log_softmax": (dd.log_softmax, lambda v, k: v - np.log(np.sum(np.exp(v)))),
    "minus_logsumexp": (lambda v: v - dd.logsumexp(v), lambda v, k: v - np.log(np.sum(np.exp(v)))),
    "reverse": (lambda v: v[::-1], lambda v, k: v[::-1]),
    "roll": (lambda v: np.concatenate([v[1:], v[:1]]), lambda v, k: np.concatenate([v[1:], v[:1]])),
    "plus_mean": (lambda v: v + dd.mean(v), lambda v, k: v + np.sum(v) / N),
    "times_sum": (lambda v: v * np.sum(v) / N, lambda v, k: v * np.sum(v) / N),
    "outer_rows": (lambda v: dd.sum(np.outer(v, v[::-1]), axis=0) / N,
                   lambda v, k: np.sum(v[:, None] * v[::-1][None, :], axis=0) / N),
    "stack_pairs": (lambda v: dd.stack([v[0] * v[1], v[1] + v[2], v[2] - v[3], v[3] * v[0]]),
                    lambda v, k: np.stack([v[0] * v[1], v[1] + v[2], v[2] - v[3], v[3] * v[0]])),
    "reshape_T": (lambda v: dd.reshape(dd.reshape(v, (2, 2)).T, (N,)),
                  lambda v, k: v.reshape(2, 2).T.reshape(N)),
    "dot_scale": (lambda v: v * dd.dot(v, v[::-1]) / N, lambda v, k: v * np.dot(v, v[::-1]) / N),
    "broadcast_col": (lambda v: dd.sum(dd.reshape(v, (N, 1)) * np.ones((1, 3)), axis=1) / 3.0,
                      lambda v, k: np.sum(v.reshape(N, 1) * np.ones((1, 3)), axis=1) / 3.0),
}


# --------------------------------------------------------------------------------------------
# Expression trees and their two interpreters
# --------------------------------------------------------------------------------------------

def _expressions(with_mixing: bool):
    leaf = st.one_of(
        st.integers(0, NVARS - 1).map(lambda i: ("var", i)),
        st.floats(-2.0, 2.0, allow_nan=False, width=32).map(lambda c: ("const", float(c))),
    )

    def extend(children):
        options = [
            st.tuples(st.just("un"), st.sampled_from(sorted(UNARY)), children),
            st.tuples(st.just("bin"), st.sampled_from(sorted(BINARY)), children, children),
        ]
        if with_mixing:
            options.append(st.tuples(st.just("mix"), st.sampled_from(sorted(MIXING)), children))
        return st.one_of(*options)

    return st.recursive(leaf, extend, max_leaves=8)


def evaluate_dd(expr, xs):
    kind = expr[0]
    if kind == "var":
        return xs[expr[1]]
    if kind == "const":
        return expr[1]
    if kind == "un":
        return UNARY[expr[1]][0](evaluate_dd(expr[2], xs))
    if kind == "bin":
        return BINARY[expr[1]][0](evaluate_dd(expr[2], xs), evaluate_dd(expr[3], xs))
    return MIXING[expr[1]][0](_vector_dd(evaluate_dd(expr[2], xs)))


def evaluate_ref(expr, zs, kinks):
    kind = expr[0]
    if kind == "var":
        return zs[expr[1]]
    if kind == "const":
        return expr[1]
    if kind == "un":
        return UNARY[expr[1]][1](evaluate_ref(expr[2], zs, kinks), kinks)
    if kind == "bin":
        return BINARY[expr[1]][1](evaluate_ref(expr[2], zs, kinks), evaluate_ref(expr[3], zs, kinks), kinks)
    return MIXING[expr[1]][1](_vector_ref(evaluate_ref(expr[2], zs, kinks)), kinks)


def _vector_dd(v):
    # a constant subtree evaluates to a number; mixing needs a vector
    return v if np.shape(v) == (N,) else v * np.ones(N)


def _vector_ref(v):
    return v if np.shape(v) == (N,) else v * np.ones(N)


def _reference(expr, kinks, split):
    """The reference as a function of one array (the complex-step oracle takes one input)."""
    def f(z):
        return np.asarray(evaluate_ref(expr, split(z), kinks)) + 0.0 * z.sum()  # keep z's dtype
    return f


def _usable(value, jac):
    value, jac = np.asarray(value), np.asarray(jac)
    return (np.all(np.isfinite(value)) and np.all(np.isfinite(jac))
            and np.max(np.abs(value), initial=0.0) < 1e6 and np.max(np.abs(jac), initial=0.0) < 1e7)


points = st.lists(st.floats(-2.0, 2.0, allow_nan=False, width=32), min_size=NVARS, max_size=NVARS)


# --------------------------------------------------------------------------------------------
# Scalar compositions of three scalar variables
# --------------------------------------------------------------------------------------------

def _scalar_f(expr):
    def f(x):
        return evaluate_dd(expr, [x[0], x[1], x[2]])
    return f


def _scalar_ref_and_gap(expr, x):
    kinks = Kinks()
    ref = _reference(expr, kinks, lambda z: [z[0], z[1], z[2]])
    with np.errstate(all="ignore"):
        expected = complex_step_jacobian(ref, x)
        value = np.real(ref(np.asarray(x, dtype=complex)))
    return value, expected, kinks.gap


@settings(**SETTINGS)
@given(expr=_expressions(with_mixing=False), x=points, chunk=st.sampled_from([1, 2, 3, "auto"]))
def test_scalar_composition_gradient(expr, x, chunk):
    x = np.array(x)
    value, expected, gap = _scalar_ref_and_gap(expr, x)
    assume(gap > KINK_GAP and _usable(value, expected))
    with np.errstate(all="ignore"):
        g = dd.grad(_scalar_f(expr), x, mode="forward", chunk=chunk)
        y, t = dd.jvp(_scalar_f(expr), x, np.array([0.5, -1.0, 2.0]))
    check_close(g, expected, rtol=1e-8, atol_scale=1e-10, what=f"grad of {expr}")
    check_close(y, value, rtol=1e-10, atol_scale=1e-12, what=f"value of {expr}")
    check_close(t, expected @ np.array([0.5, -1.0, 2.0]), rtol=1e-8, atol_scale=1e-10,
                what=f"jvp of {expr}")


@settings(**SETTINGS)
@given(expr=_expressions(with_mixing=False), x=points,
       directions=st.lists(st.floats(-3.0, 3.0, allow_nan=False, width=32), min_size=2 * NVARS,
                           max_size=2 * NVARS))
def test_scalar_composition_with_hand_built_duals_in_chunk_mode(expr, x, directions):
    """Three scalar Duals, each carrying two directions: both directions right in one pass."""
    x = np.array(x)
    T = np.array(directions).reshape(2, NVARS)
    value, expected, gap = _scalar_ref_and_gap(expr, x)
    assume(gap > KINK_GAP and _usable(value, expected))
    with np.errstate(all="ignore"):
        out = evaluate_dd(expr, [dd.Dual(float(x[i]), T[:, i]) for i in range(NVARS)])
    want = T @ expected
    if isinstance(out, dd.Dual):
        check_close(out.tangent, want, rtol=1e-8, atol_scale=1e-10, what=f"{expr}")
    else:  # a constant expression
        np.testing.assert_array_equal(want, 0.0)


# --------------------------------------------------------------------------------------------
# Array compositions: R^(3·N) -> R^N, with element-mixing operations
# --------------------------------------------------------------------------------------------

array_points = st.lists(st.floats(-2.0, 2.0, allow_nan=False, width=32),
                        min_size=NVARS * N, max_size=NVARS * N)


def array_reference(expr, X):
    """The complex-step Jacobian of an array composition at X; the example is discarded (assume)
    when the evaluation came close to a kink or is not finite and moderate."""
    kinks = Kinks()
    ref = _reference(expr, kinks, lambda z: [z[0], z[1], z[2]])
    with np.errstate(all="ignore"):
        expected = complex_step_jacobian(lambda z: _vector_ref(ref(z)), X)
        value = np.real(_vector_ref(ref(X.astype(complex))))
    assume(kinks.gap > KINK_GAP and _usable(value, expected))
    return expected


@settings(**SETTINGS)
@given(expr=_expressions(with_mixing=True), x=array_points, chunk=st.sampled_from([1, 3, 5, "auto"]))
def test_array_composition_jacobian(expr, x, chunk):
    X = np.array(x).reshape(NVARS, N)
    expected = array_reference(expr, X)

    calls = []

    def f(Z):
        calls.append(1)
        return _vector_dd(evaluate_dd(expr, [Z[0], Z[1], Z[2]]))

    with np.errstate(all="ignore"):
        J, info = dd.jacobian(f, X, chunk=chunk, full_output=True)
    assert np.shape(J) == (N, NVARS, N)
    check_close(J, expected, rtol=1e-8, atol_scale=1e-10, what=f"jacobian of {expr}")
    k = dd.auto_chunk(X.size) if chunk == "auto" else chunk
    assert info.passes == math.ceil(X.size / k) == len(calls)


@settings(**SETTINGS)
@given(expr=_expressions(with_mixing=True), x=array_points,
       u=st.lists(st.floats(-2.0, 2.0, allow_nan=False, width=32), min_size=NVARS * N, max_size=NVARS * N),
       a=st.floats(-3.0, 3.0, allow_nan=False, width=32))
def test_jvp_is_linear_in_the_direction(expr, x, u, a):
    """J(a·u + v) = a·J u + J v, and J u agrees with complex step along u."""
    X = np.array(x).reshape(NVARS, N)
    U = np.array(u).reshape(NVARS, N)
    V = np.cos(np.arange(NVARS * N)).reshape(NVARS, N)
    kinks = Kinks()
    ref = _reference(expr, kinks, lambda z: [z[0], z[1], z[2]])
    with np.errstate(all="ignore"):
        want_u = complex_step_jvp(lambda z: _vector_ref(ref(z)), [X], [U])
        value = np.real(_vector_ref(ref(X.astype(complex))))
    assume(kinks.gap > KINK_GAP and _usable(value, want_u))

    def f(Z):
        return _vector_dd(evaluate_dd(expr, [Z[0], Z[1], Z[2]]))

    with np.errstate(all="ignore"):
        _, ju = dd.jvp(f, X, U)
        _, jv = dd.jvp(f, X, V)
        _, jmix = dd.jvp(f, X, a * U + V)
    assume(_usable(jv, jmix))
    check_close(ju, want_u, rtol=1e-8, atol_scale=1e-10, what=f"jvp of {expr}")
    check_close(jmix, a * np.asarray(ju) + np.asarray(jv), rtol=1e-8, atol_scale=1e-9,
                what=f"linearity for {expr}")


# --------------------------------------------------------------------------------------------
# Element-wise functions at random points of their domains, with random shapes
# --------------------------------------------------------------------------------------------

DOMAINS = {
    "sin": (-5, 5, np.sin), "cos": (-5, 5, np.cos), "tan": (-1.4, 1.4, np.tan),
    "exp": (-5, 5, np.exp), "log": (1e-3, 10, np.log), "log1p": (-0.99, 10, np.log1p),
    "expm1": (-5, 5, np.expm1), "sqrt": (1e-3, 10, np.sqrt), "tanh": (-5, 5, np.tanh),
    "sinh": (-5, 5, np.sinh), "cosh": (-5, 5, np.cosh), "arcsin": (-0.99, 0.99, np.arcsin),
    "arccos": (-0.99, 0.99, np.arccos), "arctan": (-5, 5, np.arctan),
    "sigmoid": (-20, 20, lambda z: 1.0 / (1.0 + np.exp(-z))),
}


@settings(**SETTINGS)
@given(name=st.sampled_from(sorted(DOMAINS)), data=st.data(),
       shape=st.sampled_from([(), (1,), (3,), (2, 2), (2, 1, 3)]))
def test_elementwise_at_random_points(name, data, shape):
    lo, hi, ref = DOMAINS[name]
    size = int(np.prod(shape))
    values = data.draw(st.lists(st.floats(lo, hi, allow_nan=False), min_size=size, max_size=size))
    x = np.array(values).reshape(shape)
    x = float(x) if shape == () else x
    t = np.ones(shape) if shape else 1.0
    out = getattr(dd, name)(dd.Dual(x, t))
    check_close(out.primal, ref(np.asarray(x)), rtol=1e-13, atol_scale=1e-15)
    check_close(out.tangent, complex_step_jvp(ref, [x], [t]), rtol=1e-9, atol_scale=1e-12,
                what=f"{name} at {x}")
