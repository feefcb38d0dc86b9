"""The Dual number itself: construction, operators, the ndarray-like surface, numpy dispatch,
comparisons, conversions that must refuse, and repr.

Every tangent is checked against complex-step differentiation of a reference written here with
Python operators / numpy functions on complex arrays (tests/oracles.py), never against dualdiff.
"""

from __future__ import annotations

import math
import operator
import zlib

import numpy as np
import pytest

import dualdiff as dd
from oracles import check_close, complex_step_jvp

RNG_SEED = 20240611


def rng():
    return np.random.default_rng(RNG_SEED)


# --------------------------------------------------------------------------------------------
# Construction
# --------------------------------------------------------------------------------------------

def test_primal_and_tangent_are_stored():
    d = dd.Dual(2.0, 3.0)
    assert d.primal == 2.0 and d.tangent == 3.0
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = np.array([[0.5, 0.0], [1.0, -1.0]])
    d = dd.Dual(a, t)
    np.testing.assert_array_equal(d.primal, a)
    np.testing.assert_array_equal(d.tangent, t)


@pytest.mark.parametrize("primal", [2.0, 3, np.float64(1.5), np.array(2.0), [1.0, 2.0],
                                    np.zeros((2, 3)), np.ones((2, 1, 3))])
def test_tangent_defaults_to_zeros_of_the_primals_shape(primal):
    d = dd.Dual(primal)
    assert np.shape(d.tangent) == np.shape(primal)
    assert np.all(np.asarray(d.tangent) == 0.0)
    assert d.shape == np.shape(primal)


def test_integers_are_promoted_to_float():
    d = dd.Dual(2)
    assert isinstance(d.primal, (float, np.floating)) and d.primal == 2.0
    d = dd.Dual([2, 5], [1, 0])
    assert d.primal.dtype == np.float64 and d.tangent.dtype == np.float64
    d = dd.Dual(np.array([[1, 2], [3, 4]], dtype=np.int32))
    assert d.primal.dtype == np.float64
    d = dd.Dual(np.int64(7))
    assert np.asarray(d.primal).dtype.kind == "f"
    # arithmetic on an integer Dual is float arithmetic (no integer division, no wrap-around)
    out = dd.Dual(7, 1) / 2
    assert out.primal == 3.5 and out.tangent == 0.5


def test_chunk_tangent_carries_k_directions():
    x = np.array([1.0, 2.0])
    d = dd.Dual(x, np.eye(2))
    assert d.chunk == 2 and d.shape == (2,)
    d = dd.Dual(np.ones((2, 3)), np.ones((4, 2, 3)))
    assert d.chunk == 4
    assert dd.Dual(1.0, [1.0, 2.0, 3.0]).chunk == 3  # a scalar with three directions
    assert dd.Dual(x, np.ones(2)).chunk is None      # one direction


def test_k_directions_equal_k_single_passes():
    x = np.array([0.3, -0.7, 1.1])
    T = rng().normal(size=(4, 3))

    def f(d):
        return np.sin(d) * d[0] + dd.exp(d) / (2.0 + d[::-1] ** 2)

    chunked = f(dd.Dual(x, T))
    assert np.shape(chunked.tangent) == (4, 3)
    for i in range(4):
        single = f(dd.Dual(x, T[i]))
        check_close(chunked.tangent[i], single.tangent, rtol=1e-13)
        check_close(single.tangent, complex_step_jvp(
            lambda z: np.sin(z) * z[0] + np.exp(z) / (2.0 + z[::-1] ** 2), [x], [T[i]]))


def test_one_direction_in_chunk_form():
    x = np.array([0.3, -0.7])
    out = dd.tanh(dd.Dual(x, np.array([[1.0, 2.0]])))
    assert out.chunk == 1 and np.shape(out.tangent) == (1, 2)
    check_close(out.tangent[0], (1 - np.tanh(x) ** 2) * [1.0, 2.0])


# --------------------------------------------------------------------------------------------
# Operators, with numbers, ndarrays and Duals on either side
# --------------------------------------------------------------------------------------------

OPS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow,
}

# kind -> (maker of (value, tangent or None)); tangents None for plain operands
KINDS = ["dual-scalar", "dual-array", "float", "int", "np-scalar", "ndarray"]


def _operand(kind, rng, positive):
    lo, hi = (0.5, 2.5) if positive else (-2.5, 2.5)
    if kind == "dual-scalar":
        return float(rng.uniform(lo, hi)), float(rng.normal())
    if kind == "dual-array":
        return rng.uniform(lo, hi, size=(2, 3)), rng.normal(size=(2, 3))
    if kind == "float":
        return float(rng.uniform(lo, hi)), None
    if kind == "int":
        return 2, None
    if kind == "np-scalar":
        return np.float64(rng.uniform(lo, hi)), None
    if kind == "ndarray":
        return rng.uniform(lo, hi, size=(3,)), None  # broadcasts against (2, 3)
    raise AssertionError(kind)


OPERAND_PAIRS = [(a, b) for a in KINDS for b in KINDS if a.startswith("dual") or b.startswith("dual")]


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("left, right", OPERAND_PAIRS)
def test_binary_operator(op, left, right):
    r = np.random.default_rng(zlib.crc32(f"{op}{left}{right}".encode()))
    fn = OPS[op]
    # base of ** positive (so a Dual exponent has a real derivative); divisor away from 0
    a, ta = _operand(left, r, positive=op == "**")
    b, tb = _operand(right, r, positive=op in ("/", "**"))
    da = dd.Dual(a, ta) if ta is not None else a
    db = dd.Dual(b, tb) if tb is not None else b
    out = fn(da, db)
    assert isinstance(out, dd.Dual), f"{left} {op} {right} gave {type(out).__name__}"
    check_close(out.primal, fn(np.asarray(a, float), np.asarray(b, float)), rtol=1e-13)
    if op == "**":
        ref = lambda x, y: np.exp(y * np.log(x))  # noqa: E731  (independent of x ** y)
    else:
        ref = fn
    check_close(out.tangent, complex_step_jvp(ref, [a, b], [ta, tb]), what=f"{left} {op} {right}")


def test_power_with_dual_exponent_and_negative_base_integer_exponent():
    x = dd.Dual(-1.5, 1.0)
    out = x ** 3
    assert out.primal == -3.375 and out.tangent == pytest.approx(3 * 2.25, rel=1e-15)
    out = x ** 2.0
    assert out.tangent == pytest.approx(-3.0, rel=1e-15)
    y = dd.Dual(2.0, 1.0)
    out = 3.0 ** y
    assert out.tangent == pytest.approx(9.0 * math.log(3.0), rel=1e-14)
    out = dd.Dual(2.0, 1.0) ** dd.Dual(3.0, 1.0)  # both vary: 3·2² + 2³·log 2
    assert out.tangent == pytest.approx(12.0 + 8.0 * math.log(2.0), rel=1e-14)


def test_unary_operators():
    x = np.array([-1.5, 0.5, 2.0])
    t = np.array([1.0, -2.0, 0.5])
    d = dd.Dual(x, t)
    neg = -d
    np.testing.assert_array_equal(neg.primal, -x)
    np.testing.assert_array_equal(neg.tangent, -t)
    pos = +d
    assert isinstance(pos, dd.Dual)
    np.testing.assert_array_equal(pos.primal, x)
    np.testing.assert_array_equal(pos.tangent, t)
    a = abs(d)
    np.testing.assert_array_equal(a.primal, np.abs(x))
    np.testing.assert_array_equal(a.tangent, np.sign(x) * t)


def test_abs_of_scalar_dual():
    a = abs(dd.Dual(-2.0, 3.0))
    assert a.primal == 2.0 and a.tangent == -3.0


def test_matmul_operator_with_plain_matrix_on_either_side():
    r = rng()
    A = r.normal(size=(3, 4))
    B = r.normal(size=(2, 3))
    x, t = r.normal(size=4), r.normal(size=4)
    out = A @ dd.Dual(x, t)
    assert isinstance(out, dd.Dual) and out.shape == (3,)
    check_close(out.primal, A @ x)
    check_close(out.tangent, complex_step_jvp(lambda z: A @ z, [x], [t]))
    y, ty = r.normal(size=3), r.normal(size=3)
    out = dd.Dual(y, ty) @ A
    assert out.shape == (4,)
    check_close(out.tangent, complex_step_jvp(lambda z: z @ A, [y], [ty]))
    X, TX = r.normal(size=(3, 4)), r.normal(size=(3, 4))
    out = B @ dd.Dual(X, TX) @ A.T
    check_close(out.tangent, complex_step_jvp(lambda z: B @ z @ A.T, [X], [TX]))
    # both sides Duals
    out = dd.Dual(X, TX) @ dd.Dual(x, t)
    check_close(out.tangent, complex_step_jvp(lambda p, q: p @ q, [X, x], [TX, t]))


def test_broadcasting_follows_numpy():
    r = rng()
    col, tcol = r.normal(size=(3, 1)), r.normal(size=(3, 1))
    row = r.normal(size=(4,))
    out = dd.Dual(col, tcol) + row
    assert out.shape == (3, 4) and np.shape(out.tangent) == (3, 4)
    check_close(out.tangent, complex_step_jvp(lambda c: c + row, [col], [tcol]))
    trow = r.normal(size=4)
    out = dd.Dual(col, tcol) * dd.Dual(row, trow)
    check_close(out.tangent, complex_step_jvp(lambda c, w: c * w, [col, row], [tcol, trow]))
    out = dd.Dual(2.0, 1.0) * np.ones((2, 3))
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out.tangent, np.ones((2, 3)))
    # chunk mode broadcasts the same way, direction axis in front
    out = dd.Dual(col, r.normal(size=(5, 3, 1))) - row
    assert np.shape(out.tangent) == (5, 3, 4)


# --------------------------------------------------------------------------------------------
# Indexing, shape attributes, reshaping, iteration
# --------------------------------------------------------------------------------------------

def test_indexing_and_slicing():
    X = np.arange(12.0).reshape(3, 4)
    T = np.arange(12.0).reshape(3, 4) * 10 + 1
    d = dd.Dual(X, T)
    for idx in [0, -1, (slice(1, 3)), (slice(None), 0), (1, 2), (slice(None), slice(1, None, 2))]:
        out = d[idx]
        assert isinstance(out, dd.Dual)
        np.testing.assert_array_equal(out.primal, X[idx])
        np.testing.assert_array_equal(out.tangent, T[idx])
    v = dd.Dual(np.arange(5.0), np.arange(5.0) + 1)
    np.testing.assert_array_equal(v[1:3].tangent, [2.0, 3.0])
    assert v[0].tangent == 1.0 and v[0].shape == ()
    # chunk mode: the direction axis is kept in front
    dc = dd.Dual(X, np.stack([T, -T]))
    np.testing.assert_array_equal(dc[:, 0].tangent, np.stack([T[:, 0], -T[:, 0]]))


def test_index_used_twice_accumulates():
    v = dd.Dual(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0]))
    out = v[0] * v[0] + v[[0, 0]].sum()
    assert out.tangent == pytest.approx(2.0 * 1.0 + 2.0)


def test_shape_attributes_and_len():
    d = dd.Dual(np.ones((3, 2)), np.zeros((3, 2)))
    assert d.shape == (3, 2) and d.ndim == 2 and d.size == 6 and len(d) == 3
    s = dd.Dual(1.0, 1.0)
    assert s.shape == () and s.ndim == 0 and s.size == 1
    # chunk mode: the attributes describe the primal, not the tangent
    c = dd.Dual(np.ones((3, 2)), np.zeros((5, 3, 2)))
    assert c.shape == (3, 2) and c.ndim == 2 and c.size == 6 and len(c) == 3


def test_len_of_scalar_dual_is_a_type_error():
    with pytest.raises(TypeError, match="len"):
        len(dd.Dual(1.0, 1.0))


def test_transpose_attribute():
    X, T = rng().normal(size=(2, 3)), rng().normal(size=(2, 3))
    out = dd.Dual(X, T).T
    assert out.shape == (3, 2)
    np.testing.assert_array_equal(out.primal, X.T)
    np.testing.assert_array_equal(out.tangent, T.T)
    c = dd.Dual(X, np.stack([T, 2 * T])).T
    np.testing.assert_array_equal(c.tangent, np.stack([T.T, 2 * T.T]))


def test_sum_method():
    X, T = rng().normal(size=(2, 3)), rng().normal(size=(2, 3))
    d = dd.Dual(X, T)
    total = d.sum()
    assert total.shape == ()
    assert total.primal == pytest.approx(X.sum()) and total.tangent == pytest.approx(T.sum())
    total = d.sum(axis=None)
    assert total.tangent == pytest.approx(T.sum())
    cols = d.sum(axis=0)
    check_close(cols.tangent, T.sum(axis=0))
    check_close(dd.Dual(X, np.stack([T, -T])).sum().tangent, [T.sum(), -T.sum()])


def test_reshape_method():
    X, T = np.arange(6.0), np.arange(6.0) + 100
    d = dd.Dual(X, T)
    for out in (d.reshape(2, 3), d.reshape((2, 3)), d.reshape(-1, 3)):
        assert out.shape == (2, 3)
        np.testing.assert_array_equal(out.tangent, T.reshape(2, 3))
    np.testing.assert_array_equal(d.reshape(3, 2).reshape(-1).tangent, T)


def test_iteration_over_first_axis():
    X = np.arange(6.0).reshape(3, 2)
    T = -np.arange(6.0).reshape(3, 2)
    rows = list(dd.Dual(X, T))
    assert len(rows) == 3
    for i, row in enumerate(rows):
        assert isinstance(row, dd.Dual) and row.shape == (2,)
        np.testing.assert_array_equal(row.primal, X[i])
        np.testing.assert_array_equal(row.tangent, T[i])
    # chunk mode
    rows = list(dd.Dual(X, np.stack([T, 2 * T])))
    np.testing.assert_array_equal(rows[1].tangent, np.stack([T[1], 2 * T[1]]))
    # unpacking works too
    a, b = dd.Dual(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert a.tangent == 3.0 and b.tangent == 4.0
    with pytest.raises(TypeError):
        iter(dd.Dual(1.0, 1.0)).__next__()


# --------------------------------------------------------------------------------------------
# Comparisons: on primals, plain results
# --------------------------------------------------------------------------------------------

CMP = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


@pytest.mark.parametrize("cmp", CMP, ids=lambda c: c.__name__)
def test_comparisons_on_scalars_give_plain_booleans(cmp):
    x = dd.Dual(2.0, 100.0)   # a large tangent must not matter
    y = dd.Dual(3.0, -100.0)
    for a, b, pa, pb in [(x, 2.0, 2.0, 2.0), (2.5, x, 2.5, 2.0), (x, y, 2.0, 3.0), (x, 2, 2.0, 2),
                         (np.float64(1.0), x, 1.0, 2.0)]:
        got = cmp(a, b)
        assert not isinstance(got, dd.Dual)
        assert isinstance(got, (bool, np.bool_)), type(got)
        assert bool(got) == cmp(pa, pb)


@pytest.mark.parametrize("cmp", CMP, ids=lambda c: c.__name__)
def test_comparisons_on_arrays_give_boolean_arrays(cmp):
    xa = np.array([1.0, 2.0, 3.0])
    other = np.array([3.0, 2.0, 1.0])
    d = dd.Dual(xa, np.ones(3))
    for a, b, pa, pb in [(d, other, xa, other), (other, d, other, xa), (d, 2.0, xa, 2.0),
                         (d, dd.Dual(other, np.ones(3)), xa, other)]:
        got = cmp(a, b)
        assert isinstance(got, np.ndarray) and got.dtype == bool, type(got)
        np.testing.assert_array_equal(got, cmp(pa, pb))


def test_if_on_a_comparison_works_inside_a_derivative():
    def f(x):
        if x > 0:
            return x ** 2
        return -3.0 * x
    assert dd.derivative(f, 2.0) == 4.0
    assert dd.derivative(f, -1.0) == -3.0
    d = dd.Dual(0.5, 1.0)
    assert (d > 0) and not (d < 0) and (d == 0.5)


# --------------------------------------------------------------------------------------------
# numpy dispatch
# --------------------------------------------------------------------------------------------

def _pair(r, shape, lo=-1.5, hi=1.5):
    return r.uniform(lo, hi, size=shape), r.normal(size=shape)


UNARY_NUMPY = [
    (np.sin, (-3, 3)), (np.cos, (-3, 3)), (np.tan, (-1.2, 1.2)), (np.exp, (-3, 3)),
    (np.log, (0.1, 3)), (np.log1p, (-0.5, 3)), (np.expm1, (-3, 3)), (np.sqrt, (0.1, 3)),
    (np.tanh, (-3, 3)), (np.sinh, (-3, 3)), (np.cosh, (-3, 3)), (np.arcsin, (-0.9, 0.9)),
    (np.arccos, (-0.9, 0.9)), (np.arctan, (-3, 3)), (np.negative, (-3, 3)), (np.square, (-3, 3)),
    (np.reciprocal, (0.3, 3)), (np.positive, (-3, 3)),
]


@pytest.mark.parametrize("fn, dom", UNARY_NUMPY, ids=lambda v: getattr(v, "__name__", ""))
def test_numpy_ufuncs_dispatch(fn, dom):
    r = rng()
    x, t = _pair(r, (2, 3), *dom)
    out = fn(dd.Dual(x, t))
    assert isinstance(out, dd.Dual), f"np.{fn.__name__} returned {type(out).__name__}"
    check_close(out.primal, fn(x), rtol=1e-13)
    check_close(out.tangent, complex_step_jvp(fn, [x], [t]))
    s = fn(dd.Dual(float(x[0, 0]), 1.0))
    assert isinstance(s, dd.Dual) and s.shape == ()


def test_numpy_abs_and_sign_dispatch():
    x = np.array([-2.0, 0.5, 3.0])
    t = np.array([1.0, 2.0, 3.0])
    out = np.abs(dd.Dual(x, t))
    assert isinstance(out, dd.Dual)
    np.testing.assert_array_equal(out.tangent, [-1.0, 2.0, 3.0])
    out = np.sign(dd.Dual(x, t))  # piecewise constant: plain values, as numpy code expects
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, [-1.0, 1.0, 1.0])
    out = dd.sign(dd.Dual(x, t))  # dd.sign keeps a (zero) tangent
    np.testing.assert_array_equal(out.tangent, [0.0, 0.0, 0.0])


BINARY_NUMPY = [np.add, np.subtract, np.multiply, np.divide, np.power, np.arctan2, np.maximum,
                np.minimum]


@pytest.mark.parametrize("fn", BINARY_NUMPY, ids=lambda f: f.__name__)
def test_numpy_binary_ufuncs_dispatch(fn):
    r = rng()
    x, tx = _pair(r, (2, 3), 0.5, 2.0)
    y, ty = _pair(r, (3,), 2.5, 4.0)  # y > x everywhere: maximum/minimum away from their kink
    ref = {
        np.power: lambda a, b: np.exp(b * np.log(a)),
        np.arctan2: lambda a, b: np.arctan(a / b),  # b > 0 here
        np.maximum: lambda a, b: b + 0.0 * a, np.minimum: lambda a, b: a + 0.0 * b,
    }.get(fn, fn)
    for a, b, ta, tb in [(dd.Dual(x, tx), y, tx, None), (x, dd.Dual(y, ty), None, ty),
                         (dd.Dual(x, tx), dd.Dual(y, ty), tx, ty)]:
        out = fn(a, b)
        assert isinstance(out, dd.Dual), f"np.{fn.__name__} returned {type(out).__name__}"
        check_close(out.primal, fn(x, y), rtol=1e-13)
        check_close(out.tangent, complex_step_jvp(ref, [x, y], [ta, tb]), what=fn.__name__)


def test_numpy_array_functions_dispatch():
    r = rng()
    X, TX = _pair(r, (3, 4))
    v, tv = _pair(r, (4,))
    A = r.normal(size=(2, 3))
    DX, Dv = dd.Dual(X, TX), dd.Dual(v, tv)
    cases = [
        (lambda x: np.sum(x), lambda x: np.sum(x)),
        (lambda x: np.sum(x, axis=1), lambda x: np.sum(x, axis=1)),
        (lambda x: np.mean(x, axis=0), lambda x: np.sum(x, axis=0) / 3.0),
        (lambda x: np.transpose(x), lambda x: x.T),
        (lambda x: np.reshape(x, (2, 6)), lambda x: x.reshape(2, 6)),
        (lambda x: np.ravel(x), lambda x: x.ravel()),
        (lambda x: np.matmul(A, x), lambda x: A @ x),
        (lambda x: np.dot(A, x), lambda x: A @ x),
        (lambda x: np.where(X > 0, x, 2.0 * x), lambda x: np.where(X > 0, x, 2.0 * x)),
        (lambda x: np.stack([x[0], x[1]], axis=1), lambda x: np.stack([x[0], x[1]], axis=1)),
        (lambda x: np.concatenate([x, x[:1]]), lambda x: np.concatenate([x, x[:1]])),
        (lambda x: np.expand_dims(x, 0), lambda x: x[None]),
        (lambda x: np.squeeze(x[:1]), lambda x: x[0]),
        (lambda x: np.swapaxes(x, 0, 1), lambda x: x.T),
        (lambda x: np.broadcast_to(x[0], (2, 4)), lambda x: np.broadcast_to(x[0], (2, 4))),
        (lambda x: np.maximum(x, 0.1), lambda x: np.where(X > 0.1, x, 0.1)),
    ]
    for i, (fn, ref) in enumerate(cases):
        out = fn(DX)
        assert isinstance(out, dd.Dual), f"case {i} returned {type(out).__name__}"
        check_close(out.primal, np.real(ref(X.astype(complex))), what=f"case {i} value")
        check_close(out.tangent, complex_step_jvp(ref, [X], [TX]), what=f"case {i} tangent")
    out = np.dot(Dv, Dv)
    check_close(out.tangent, complex_step_jvp(lambda z: np.dot(z, z), [v], [tv]))
    out = np.outer(Dv, v)
    check_close(out.tangent, complex_step_jvp(lambda z: np.outer(z, v), [v], [tv]))
    out = np.stack([Dv, v, 2.0 * Dv])  # Duals and plain arrays together
    check_close(out.tangent, np.stack([tv, 0 * tv, 2 * tv]))
    out = np.concatenate([v, Dv])
    check_close(out.tangent, np.concatenate([0 * tv, tv]))
    out = np.where(v > 0, 0.0, Dv)  # the Dual in the second branch
    check_close(out.tangent, np.where(v > 0, 0.0, tv))


def test_numpy_shape_queries():
    d = dd.Dual(np.ones((2, 3)))
    assert np.shape(d) == (2, 3) and np.ndim(d) == 2 and np.size(d) == 6


@pytest.mark.parametrize("call, name", [
    (lambda d: np.gcd(d, 2), "gcd"),  # (np.spacing, once here, gives plain values now)
    (lambda d: np.i0(d), "i0"),
    (lambda d: np.sort_complex(d), "sort_complex"),
    (lambda d: np.histogram(d), "histogram"),
    (lambda d: np.linalg.eigvals(d), "eigvals"),
    (lambda d: np.hypot.reduce(d), "reduce"),
    (lambda d: np.hypot.reduceat(d, [0]), "reduceat"),
])
def test_numpy_function_without_rule_raises_type_error_naming_it(call, name):
    d = dd.Dual(np.array([1.0, 2.0, 3.0]), np.ones(3))
    with pytest.raises(TypeError) as info:
        call(d)
    assert name in str(info.value), str(info.value)


def test_numpy_out_argument_is_refused():
    d = dd.Dual(np.array([1.0, 2.0]), np.ones(2))
    with pytest.raises(TypeError, match="out"):
        np.sin(d, out=np.empty(2))


# --------------------------------------------------------------------------------------------
# Conversions that would drop the tangent
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tangent", [1.0, 0.0, None], ids=["tangent", "zero-tangent", "default"])
@pytest.mark.parametrize("convert", [float, int, math.sin, math.exp, math.sqrt],
                         ids=lambda f: f.__name__)
def test_float_int_and_math_refuse(convert, tangent):
    d = dd.Dual(2.0, tangent)
    with pytest.raises(TypeError) as info:
        convert(d)
    msg = str(info.value)
    assert "dd.sin" in msg or "np.sin" in msg, msg


def test_float_of_one_element_array_dual_refuses():
    with pytest.raises(TypeError, match=r"dd\.sin|np\.sin"):
        float(dd.Dual(np.array([2.0]), np.array([0.0])))


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda d: np.asarray(d, dtype=float),
                                     lambda d: np.asarray([d, d])],
                         ids=["asarray", "array", "asarray-float", "asarray-list"])
@pytest.mark.parametrize("primal", [2.0, np.array([1.0, 2.0])], ids=["scalar", "array"])
def test_asarray_does_not_silently_drop_the_tangent(convert, primal):
    d = dd.Dual(primal, np.ones_like(primal))
    try:
        out = convert(d)
    except TypeError as e:
        assert "derivative" in str(e) or "tangent" in str(e), str(e)
        return
    # not raising is acceptable only if the Dual survived inside an object array
    assert out.dtype == object and all(isinstance(v, dd.Dual) for v in np.ravel(out)), (
        f"np.asarray gave {out!r}: the tangent was dropped")


def test_item_assignment_is_a_functional_update():
    primal = np.array([1.0, 2.0])
    d = dd.Dual(primal, np.ones(2))
    d[0] = 5.0  # d's content becomes a new value: the constant has no tangent
    np.testing.assert_array_equal(d.primal, [5.0, 2.0])
    np.testing.assert_array_equal(d.tangent, [0.0, 1.0])
    np.testing.assert_array_equal(primal, [1.0, 2.0])  # the array the Dual was made from is untouched


# --------------------------------------------------------------------------------------------
# repr
# --------------------------------------------------------------------------------------------

def test_repr_of_worked_example():
    x1 = dd.Dual(2.0, 1.0)
    x2 = dd.Dual(5.0, 0.0)
    y = np.log(x1) + x1 * x2 - np.sin(x2)
    assert repr(y) == "Dual(11.652, 5.5)"


def test_repr_of_arrays_shows_primal_and_tangent():
    d = dd.Dual(np.array([1.5, -2.25]), np.array([0.125, 3.0]))
    text = repr(d)
    assert text.startswith("Dual(") and text.endswith(")")
    for number in ("1.5", "-2.25", "0.125", "3."):
        assert number in text, text
    assert len(text) < 200


# --------------------------------------------------------------------------------------------
# Hand-built Duals combine; mismatched direction counts do not
# --------------------------------------------------------------------------------------------

def test_hand_built_duals_combine():
    out = dd.Dual(2.0, 1.0) * dd.Dual(5.0, 0.0)
    assert out.primal == 10.0 and out.tangent == 5.0


def test_different_numbers_of_directions_refused():
    a = dd.Dual(np.ones(2), np.ones((3, 2)))
    b = dd.Dual(np.ones(2), np.ones((2, 2)))
    with pytest.raises(ValueError, match="direction"):
        a + b
    with pytest.raises(ValueError, match="direction"):
        a * dd.Dual(np.ones(2), np.ones(2))


@pytest.mark.parametrize("primal, tangent", [
    (np.ones(3), np.ones(2)), (np.ones((2, 3)), np.ones((3, 2))), (1.0, np.ones((2, 2))),
])
def test_tangent_of_wrong_shape_is_a_value_error_naming_shapes(primal, tangent):
    with pytest.raises(ValueError) as info:
        dd.Dual(primal, tangent)
    msg = str(info.value)
    assert str(np.shape(primal)) in msg and str(np.shape(tangent)) in msg, msg


@pytest.mark.parametrize("bad", ["abc", None, {"a": 1.0}, object()])
def test_non_numeric_primal_is_a_type_error(bad):
    with pytest.raises(TypeError, match="number"):
        dd.Dual(bad)
