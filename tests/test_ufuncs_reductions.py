"""numpy's other ufuncs and reductions (issue #8): conventions at kinks, ties, zeros and jumps;
float32, 0-d and empty inputs; numpy's spellings and the ndarray methods on Dual and Var; the
arguments that are refused; a newcomer's loss in both modes.

Values and derivatives are checked against closed forms or central differences written here,
never against dualdiff alone. (The table test checks every entry to second order.)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import dualdiff as dd
from oracles import central_difference_jacobian, complex_step_jacobian


def both_modes(f, x):
    """The Jacobian of f at x by forward mode and by reverse mode."""
    return dd.jacobian(f, x), dd.jacobian(f, x, mode="reverse")


# --------------------------------------------------------------------------------------------
# Conventions, each stated by its test
# --------------------------------------------------------------------------------------------

def test_max_ties_share_the_derivative_equally():
    x = np.array([[1.0, 3.0, 3.0, 3.0], [2.0, -1.0, 2.0, 0.0]])
    for J in both_modes(lambda x: np.max(x, axis=1), x):
        np.testing.assert_array_equal(J[0, 0], [0, 1 / 3, 1 / 3, 1 / 3])
        np.testing.assert_array_equal(J[1, 1], [0.5, 0, 0.5, 0])
        np.testing.assert_array_equal(J[0, 1], 0)
    for J in both_modes(lambda x: x.min(), x):  # one minimum: all of it
        assert J[1, 1] == 1 and J.sum() == 1
    # the shares add up: the derivative along the all-ones direction is exactly 1
    assert float(dd.jvp(lambda x: dd.max(x), x, np.ones_like(x))[1]) == 1.0


def test_max_with_nan_and_nanmax():
    x = np.array([1.0, np.nan, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(dd.grad(np.max, x), [0, 1, 0])  # nan wins; so does its derivative
    np.testing.assert_array_equal(dd.grad(np.nanmax, x), [0, 0, 1])    # nans are ignored
    np.testing.assert_array_equal(dd.grad(np.nanmin, x), [1, 0, 0])


def test_max_initial_is_a_constant_tie():
    x = np.array([1.0, 2.0])
    assert dd.grad(lambda x: np.max(x, initial=5.0), x).tolist() == [0, 0]
    assert dd.grad(lambda x: np.max(x, initial=2.0), x).tolist() == [0, 0.5]
    assert float(dd.max(np.array([]), initial=-1.0)) == -1.0


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_prod_with_zeros_is_the_product_of_the_others(mode):
    x = np.array([2.0, 0.0, 3.0, 5.0])      # one zero: only its own partial survives
    np.testing.assert_array_equal(dd.grad(np.prod, x, mode=mode), [0, 30, 0, 0])
    x = np.array([2.0, 0.0, 3.0, 0.0])      # two zeros: every partial is 0 ...
    np.testing.assert_array_equal(dd.grad(np.prod, x, mode=mode), [0, 0, 0, 0])
    # ... but the second derivative between the two zeros is the product of the rest
    H = dd.hessian(np.prod, x)
    expected = np.zeros((4, 4))
    expected[1, 3] = expected[3, 1] = 6.0
    np.testing.assert_array_equal(H, expected)
    x = np.array([0.0, 0.0, 0.0, 2.0])      # three zeros: the Hessian is 0 as well
    np.testing.assert_array_equal(dd.hessian(np.prod, x), np.zeros((4, 4)))


def test_prod_zeros_along_an_axis_against_complex_step():
    x = np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 4.0], [2.0, 1.0, 0.5]])
    for J in both_modes(lambda x: x.prod(axis=0), x):
        np.testing.assert_allclose(J, complex_step_jacobian(lambda z: np.prod(z, axis=0), x), rtol=1e-13)


def test_cumprod_with_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    expected = np.array([  # ∂(x0 x1 ... xk)/∂xi, the product of the others up to k
        [1, 0, 0, 0, 0], [0, 2, 0, 0, 0], [0, 6, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0.0]])
    for J in both_modes(np.cumprod, x):
        np.testing.assert_array_equal(J, expected)
    H = dd.hessian(lambda x: np.cumprod(x)[3], x)   # x0 x1 x2 x3 with x1 = x3 = 0
    assert H[1, 3] == H[3, 1] == 6.0 and np.count_nonzero(H) == 2


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_clip_at_a_bound_splits_the_derivative(mode):
    # JAX's convention: on a bound, 1/2 to x and 1/2 to the bound; inside all to x, outside all
    # to the bound.
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(
        dd.grad(lambda x: np.sum(np.clip(x, 0.0, 1.0)), x, mode=mode), [0, 0.5, 1, 0.5, 0])
    lo, hi = 0.0, 1.0
    g = dd.grad(lambda b: np.sum(np.clip(x, b[0], b[1])), np.array([lo, hi]), mode=mode)
    np.testing.assert_array_equal(g, [1.5, 1.5])   # x[0] below, x[1] on lo; x[3] on hi, x[4] above


def test_clip_bounds_none_and_arrays():
    x = np.array([[-2.0, 0.3, 2.5], [1.0, -0.2, 0.9]])
    lo = np.array([-1.0, 0.0, 0.5])
    out = dd.Dual(x, np.ones_like(x)).clip(None, 1.0)
    np.testing.assert_array_equal(out.primal, np.clip(x, None, 1.0))
    np.testing.assert_array_equal(out.tangent, [[1, 1, 0], [0.5, 1, 1]])
    out = np.clip(dd.Dual(x, np.ones_like(x)), lo, None)
    np.testing.assert_array_equal(out.primal, np.clip(x, lo, None))
    np.testing.assert_array_equal(out.tangent, [[0, 1, 1], [1, 0, 1]])
    g = dd.grad(lambda lo: np.sum(np.clip(x, lo, 2.0)), lo)   # a traced array bound
    np.testing.assert_array_equal(g, [1, 1, 0])
    np.testing.assert_array_equal(np.clip(dd.Dual(x), min=0.0).primal, np.clip(x, min=0.0))


def test_mod_derivatives_and_the_convention_at_a_jump():
    # x mod y = x - floor(x/y)·y: ∂/∂x = 1, ∂/∂y = -floor(x/y)
    g = dd.grad(lambda p: p[0] % p[1], np.array([7.5, 2.0]))
    np.testing.assert_array_equal(g, [1, -3])
    g = dd.grad(lambda p: np.fmod(p[0], p[1]), np.array([-7.5, 2.0]))   # trunc(-3.75) = -3
    np.testing.assert_array_equal(g, [1, 3])
    g = dd.grad(lambda p: np.remainder(p[0], p[1]), np.array([-7.5, 2.0]))  # floor = -4
    np.testing.assert_array_equal(g, [1, 4])
    # At a jump (x a multiple of y) the quotient is the one of the branch numpy's value is on:
    # 6 mod 2 = 0 is 6 - 3·2, so ∂/∂y = -3 (the side where the value is 0, not 2).
    assert np.mod(6.0, 2.0) == 0.0
    np.testing.assert_array_equal(dd.grad(lambda p: p[0] % p[1], np.array([6.0, 2.0])), [1, -3])
    assert float(dd.derivative(lambda x: 3.5 % x, 2.0)) == -1.0   # the % with a constant left
    assert float(dd.derivative(lambda x: x % 2.0, 3.5)) == 1.0


def test_piecewise_constant_and_kink_conventions():
    assert float(dd.derivative(lambda x: np.heaviside(x, 0.5), 0.0)) == 0.0
    assert float(dd.derivative(lambda x: np.heaviside(x, 0.5), 1.0)) == 0.0
    assert float(dd.derivative(lambda x: np.copysign(x, -1.0), 2.0)) == -1.0
    assert float(dd.derivative(lambda x: np.copysign(x, -1.0), 0.0)) == 0.0   # as abs'(0)
    assert float(dd.derivative(np.fabs, -2.0)) == -1.0
    np.testing.assert_array_equal(dd.grad(lambda p: np.hypot(p[0], p[1]), np.zeros(2)), [0, 0])
    g = dd.grad(lambda p: np.fmax(p[0], p[1]), np.array([1.0, np.nan]))   # a nan loses
    np.testing.assert_array_equal(g, [1, 0])
    g = dd.grad(lambda p: np.fmin(p[0], p[1]), np.array([2.0, 2.0]))      # a tie splits
    np.testing.assert_array_equal(g, [0.5, 0.5])


def test_sinc_at_and_near_zero_to_second_order():
    assert float(dd.derivative(np.sinc, 0.0)) == 0.0
    assert float(dd.hessian(np.sinc, 0.0)) == pytest.approx(-math.pi ** 2 / 3, rel=1e-14)
    # sinc'(x) ≈ -π²x/3 for tiny x, where the complex step of sin(πx)/(πx) cancels too
    assert float(dd.derivative(np.sinc, 1e-9)) == pytest.approx(-math.pi ** 2 * 1e-9 / 3, rel=1e-12)
    x = np.array([-0.05, 0.02, 0.099, 0.101, 0.7])   # both sides of the switch at |x| = 0.1
    ref = lambda z: np.sin(np.pi * z) / (np.pi * z)  # noqa: E731
    np.testing.assert_allclose(dd.jacobian(np.sinc, x).diagonal(),
                               complex_step_jacobian(ref, x).diagonal(), rtol=1e-12, atol=1e-15)
    second = np.array([float(dd.hessian(dd.sinc, float(v))) for v in x])
    exact = [(-(np.pi * v) ** 2 * np.sin(np.pi * v) - 2 * np.pi * v * np.cos(np.pi * v)
              + 2 * np.sin(np.pi * v)) / (np.pi * v ** 3) for v in x]
    np.testing.assert_allclose(second, exact, rtol=1e-8)


def test_nan_to_num_derivative_is_zero_where_replaced():
    x = np.array([np.nan, 1.5, np.inf, -np.inf])
    for mode in ("forward", "reverse"):
        np.testing.assert_array_equal(dd.grad(lambda x: np.sum(np.nan_to_num(x)), x, mode=mode),
                                      [0, 1, 0, 0])


def test_median_and_quantile_follow_the_order_statistics():
    x = np.array([3.0, 1.0, 4.0, 1.5, 9.0])
    np.testing.assert_array_equal(dd.grad(np.median, x), [1, 0, 0, 0, 0])
    g = dd.grad(lambda x: np.quantile(x, 0.3), x)     # position 1.2: 0.8 of x(1) + 0.2 of x(2)
    np.testing.assert_allclose(g, [0.2, 0, 0, 0.8, 0], rtol=1e-14)
    # with equal values the stable sort's first one takes the derivative
    np.testing.assert_array_equal(dd.grad(np.median, np.array([2.0, 1.0, 2.0])), [1, 0, 0])
    # the weights are a constant array, not positions: every element stays in the global
    # sparsity pattern, and dd.compile re-sorts on every call
    assert dd.sparsity(np.median, x).toarray().all()
    compiled = dd.compile(lambda x: dd.grad(np.median, x))
    for z in (x, x[::-1].copy(), x * -1.0):
        np.testing.assert_array_equal(compiled(z), dd.grad(np.median, z))
    with pytest.raises(ValueError, match="method='linear'"):
        np.quantile(dd.Dual(x), 0.5, method="nearest")
    with pytest.raises(ValueError, match="nan"):
        np.median(dd.Dual(np.array([1.0, np.nan])))
    with pytest.raises(TypeError, match="q must be a plain"):
        dd.grad(lambda q: dd.quantile(x, q), 0.5)


def test_var_and_std_closed_forms():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    n, m = x.size, x.mean()
    for ddof in (0, 1):
        np.testing.assert_allclose(dd.grad(lambda x: np.var(x, ddof=ddof), x), 2 * (x - m) / (n - ddof),
                                   rtol=1e-14)
        s = np.std(x, ddof=ddof)
        np.testing.assert_allclose(dd.grad(lambda x: x.std(ddof=ddof), x), (x - m) / ((n - ddof) * s),
                                   rtol=1e-14)
    assert float(np.var(dd.Dual(x), correction=1).primal) == np.var(x, ddof=1)


def test_average_weights_are_differentiated_too():
    x, w = np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 2.0])
    gx, gw = dd.grad(lambda p: np.average(p[0], weights=p[1]), (x, w))
    np.testing.assert_allclose(gx, w / w.sum(), rtol=1e-15)
    np.testing.assert_allclose(gw, (x - np.average(x, weights=w)) / w.sum(), rtol=1e-14)
    avg, total = np.average(dd.Dual(np.ones((2, 3))), axis=1, weights=[1.0, 2.0, 3.0], returned=True)
    np.testing.assert_array_equal(avg.primal, [1, 1])
    np.testing.assert_array_equal(np.asarray(getattr(total, "primal", total)), [6, 6])
    with pytest.raises(ZeroDivisionError, match="sum to zero"):
        np.average(dd.Dual(x), weights=[1.0, -1.0, 0.0])


def test_diff_and_trace_are_their_matrices():
    x = np.arange(5.0) ** 2
    D = np.diff(np.eye(5), axis=0)
    for J in both_modes(np.diff, x):
        np.testing.assert_array_equal(J, D)
    A = np.arange(12.0).reshape(3, 4)
    for offset in (-2, 0, 1, 3, 7):
        g = dd.grad(lambda A: np.trace(A, offset), A)
        np.testing.assert_array_equal(g, np.eye(3, 4, offset))
        assert float(dd.Dual(A).trace(offset).primal) == np.trace(A, offset)


# --------------------------------------------------------------------------------------------
# float32, 0-d and empty inputs, for every new entry
# --------------------------------------------------------------------------------------------

UNARY = ["square", "reciprocal", "cbrt", "log2", "log10", "exp2", "arcsinh", "arctanh", "sinc",
         "deg2rad", "rad2deg", "degrees", "radians", "fabs", "positive", "nan_to_num", "clip",
         "max", "min", "amax", "amin", "nanmax", "nanmin", "prod", "cumsum", "cumprod", "var",
         "std", "ptp", "average", "nansum", "nanmean", "median", "quantile", "percentile", "diff"]
BINARY = ["logaddexp", "logaddexp2", "hypot", "fmax", "fmin", "copysign", "mod", "remainder",
          "fmod", "true_divide", "heaviside", "float_power"]
EXTRA = {"clip": (0.2, 0.6), "quantile": (0.3,), "percentile": (30.0,)}
EMPTY_OK = set(UNARY) - {"max", "min", "amax", "amin", "nanmax", "nanmin", "ptp", "var", "std",
                         "average", "nanmean", "median", "quantile", "percentile"}


def call(name, *args):
    return getattr(dd, name)(*args, *EXTRA.get(name, ()))


@pytest.mark.parametrize("name", UNARY + BINARY)
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_float32_stays_float32(name, mode):
    x = np.array([0.3, 0.55, 0.8], dtype=np.float32)
    if name in BINARY:
        f = lambda x: call(name, x, x[::-1] + np.float32(0.1))  # noqa: E731
    else:
        f = lambda x: call(name, x)  # noqa: E731
    # numpy computes float_power in float64 by definition; the gradient, as every gradient,
    # has its input's dtype (as in JAX)
    want = np.float64 if name == "float_power" else np.float32
    value = f(x)
    assert np.asarray(value).dtype == want, np.asarray(value).dtype
    g = dd.grad(lambda x: dd.sum(f(x)), x, mode=mode)
    assert g.dtype == np.float32 and np.all(np.isfinite(g)), g


# diff needs an axis; std of one value is 0, where sqrt's derivative is inf (nan, as in JAX)
@pytest.mark.parametrize("name", [n for n in UNARY if n not in ("diff", "std")] + BINARY)
def test_zero_dimensional_input(name):
    x, other = np.array(0.4), ((0.7,) if name in BINARY else ())
    np_fn = getattr(np, name)
    f = lambda x: call(name, x, *other)  # noqa: E731
    assert np.shape(f(x)) == np.shape(np_fn(x, *other, *EXTRA.get(name, ())))
    ref = central_difference_jacobian(lambda z: np_fn(z, *other, *EXTRA.get(name, ())), x)
    for mode in ("forward", "reverse"):
        J = dd.jacobian(f, x, mode=mode)
        np.testing.assert_allclose(J, ref, rtol=1e-6, atol=1e-8, err_msg=f"{name} {mode}")


@pytest.mark.parametrize("name", sorted(EMPTY_OK) + BINARY)
def test_empty_input(name):
    x = np.zeros((0, 3))
    f = (lambda x: call(name, x, x)) if name in BINARY else (lambda x: call(name, x))
    out = f(x)
    for mode in ("forward", "reverse"):
        J = dd.jacobian(f, x, mode=mode)
        assert J.shape == np.shape(out) + x.shape


def test_reductions_of_empty_slices_behave_as_numpy():
    x = np.zeros((0, 3))
    np.testing.assert_array_equal(dd.grad(lambda x: np.sum(np.prod(x, axis=0)), x), x)
    assert dd.jacobian(lambda x: np.max(x, axis=0), np.zeros((2, 0)), mode="reverse").shape == (0, 2, 0)
    for fn in (np.max, np.min, np.nanmax, np.nanmin, np.ptp, dd.max):
        with pytest.raises(ValueError, match="empty .* pass initial="):
            fn(dd.Dual(x), axis=0)
    np.testing.assert_array_equal(np.max(dd.Dual(x), axis=1).primal, np.zeros(0))  # slices of 3
    np.testing.assert_array_equal(np.max(dd.Dual(x), axis=0, initial=-1.0).primal, [-1, -1, -1])
    with pytest.raises(ValueError, match="empty"):
        np.median(dd.Dual(x))


# --------------------------------------------------------------------------------------------
# numpy's spellings and the ndarray methods, on a Dual and on a Var
# --------------------------------------------------------------------------------------------

X = np.array([[0.3, -1.2, 2.0, 0.7], [1.1, 0.4, -0.5, 1.6], [-0.8, 2.2, 0.1, 0.9]])

METHODS = [  # (method call, numpy equivalent)
    (lambda a: a.max(), lambda a: a.max()),
    (lambda a: a.max(axis=0, keepdims=True), lambda a: a.max(axis=0, keepdims=True)),
    (lambda a: a.min(axis=-1), lambda a: a.min(axis=-1)),
    (lambda a: a.prod(axis=(0, 1)), lambda a: a.prod(axis=(0, 1))),
    (lambda a: a.cumsum(axis=1), lambda a: a.cumsum(axis=1)),
    (lambda a: a.cumsum(), lambda a: a.cumsum()),
    (lambda a: a.cumprod(axis=0), lambda a: a.cumprod(axis=0)),
    (lambda a: a.std(axis=1, ddof=1), lambda a: a.std(axis=1, ddof=1)),
    (lambda a: a.var(keepdims=True), lambda a: a.var(keepdims=True)),
    (lambda a: a.clip(0.0, 1.0), lambda a: a.clip(0.0, 1.0)),
    (lambda a: a.clip(max=0.5), lambda a: a.clip(max=0.5)),
    (lambda a: a.ptp(axis=0), lambda a: np.ptp(a, axis=0)),
    (lambda a: a.trace(), lambda a: a.trace()),
    (lambda a: a.trace(offset=1), lambda a: a.trace(offset=1)),
    (lambda a: a % 0.65, lambda a: a % 0.65),                  # away from the jumps
    (lambda a: 2.3 % (a * a + 1.0), lambda a: 2.3 % (a * a + 1.0)),
]


@pytest.mark.parametrize("k", range(len(METHODS)))
def test_methods_on_dual_and_var(k):
    method, ref = METHODS[k]
    expected = ref(X)
    v = np.linspace(-1.0, 1.0, X.size).reshape(X.shape)
    out = method(dd.Dual(X, v))                               # a Dual
    np.testing.assert_allclose(out.primal, expected, rtol=1e-14)
    fd = (ref(X + 1e-6 * v) - ref(X - 1e-6 * v)) / 2e-6
    np.testing.assert_allclose(out.tangent, fd, rtol=1e-6, atol=1e-8)
    value, pullback = dd.vjp(method, X)                       # a Var
    np.testing.assert_allclose(value, expected, rtol=1e-14)
    u = np.cos(np.arange(np.size(expected))).reshape(np.shape(expected))
    assert abs(float(np.sum(pullback(u) * v)) - float(np.sum(u * out.tangent))) < 1e-10


def test_round_method_returns_plain_values():
    # rounding is piecewise constant: the method gives the plain rounded value, on both types
    rounded = dd.Dual(X, np.ones_like(X)).round(1)
    seen = []
    dd.grad(lambda x: seen.append(x.round(1)) or dd.sum(x), X)   # on a Var
    for r in (rounded, seen[0]):
        assert type(r) is np.ndarray
        np.testing.assert_array_equal(r, np.round(X, 1))


NUMPY_SPELLINGS = [  # numpy's function, and dualdiff's
    (np.square, dd.square), (np.reciprocal, dd.reciprocal), (np.cbrt, dd.cbrt),
    (np.log2, dd.log2), (np.log10, dd.log10), (np.exp2, dd.exp2), (np.arcsinh, dd.arcsinh),
    (np.arctanh, dd.arctanh), (np.sinc, dd.sinc), (np.deg2rad, dd.deg2rad),
    (np.radians, dd.radians), (np.rad2deg, dd.rad2deg), (np.degrees, dd.degrees),
    (np.fabs, dd.fabs), (np.positive, dd.positive), (np.nan_to_num, dd.nan_to_num),
    (np.max, dd.max), (np.amax, dd.amax), (np.min, dd.min), (np.amin, dd.amin),
    (np.nanmax, dd.nanmax), (np.nanmin, dd.nanmin), (np.prod, dd.prod), (np.cumsum, dd.cumsum),
    (np.cumprod, dd.cumprod), (np.var, dd.var), (np.std, dd.std), (np.ptp, dd.ptp),
    (np.average, dd.average), (np.nansum, dd.nansum), (np.nanmean, dd.nanmean),
    (np.median, dd.median), (np.diff, dd.diff),
]


@pytest.mark.parametrize("np_fn, dd_fn", NUMPY_SPELLINGS, ids=[f.__name__ for f, _ in NUMPY_SPELLINGS])
def test_numpy_spelling_is_dualdiffs(np_fn, dd_fn):
    x = np.array([[0.3, 0.9, 0.5], [0.2, 0.8, 0.6]])
    t = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, -0.5]])
    a, b = np_fn(dd.Dual(x, t)), dd_fn(dd.Dual(x, t))
    np.testing.assert_array_equal(a.primal, np_fn(x))
    np.testing.assert_array_equal(a.primal, b.primal)
    np.testing.assert_array_equal(a.tangent, b.tangent)
    np.testing.assert_array_equal(dd.grad(lambda x: np.sum(np_fn(x)), x),
                                  dd.grad(lambda x: dd.sum(dd_fn(x)), x))


@pytest.mark.parametrize("np_fn", [np.logaddexp, np.logaddexp2, np.hypot, np.fmax, np.fmin,
                                   np.copysign, np.mod, np.fmod, np.true_divide, np.heaviside,
                                   np.float_power, np.arccosh])
def test_numpy_binary_spellings(np_fn):
    x, y = np.array([1.3, 2.5, 1.7]), np.array([1.1, 2.0, 3.0])
    args = (x,) if np_fn is np.arccosh else (x, y)
    J = dd.jacobian(lambda x: np_fn(x, *args[1:]), x)
    ref = central_difference_jacobian(lambda z: np_fn(z, *args[1:]), x)
    np.testing.assert_allclose(J, ref, rtol=1e-6, atol=1e-8)


def test_refused_arguments_are_named():
    d = dd.Dual(X)
    with pytest.raises(TypeError, match="where="):  # a traced mask (a plain one works:
        np.max(d, where=d, initial=0.0)             # tests/test_numpy_where_reductions.py)
    with pytest.raises(TypeError, match="where="):
        np.var(d, where=d)
    with pytest.raises(TypeError, match="dtype=int"):
        np.prod(d, dtype=np.int16)
    with pytest.raises(TypeError, match="out="):
        d.cumsum(out=np.zeros(X.size))
    with pytest.raises(TypeError, match="complex"):
        np.max(dd.Dual(np.array([1j, 2.0])))
    # (np.var of complex values works: test_var_and_std_of_complex_values_are_numpys_...)
    np.max(d, where=True)   # numpy's default is accepted


# --------------------------------------------------------------------------------------------
# Compositions and a newcomer's loss, in both modes
# --------------------------------------------------------------------------------------------

def newcomer_loss(params, X, y):
    W, b = params
    Z = X @ W + b[None, :]
    Z = Z - Z.max(axis=1, keepdims=True)                       # for stability
    logp = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
    nll = -np.mean(np.sum(logp * y, axis=1))
    return nll + 0.1 * np.var(W) + 0.01 * np.sum(np.clip(W, -0.5, 0.5) ** 2) + 0.01 * np.std(b, ddof=1)


def test_a_newcomers_loss_differentiates_unchanged_in_both_modes():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), np.eye(4)[rng.integers(0, 4, size=5)]
    W, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    W[np.abs(np.abs(W) - 0.5) < 0.05] = 0.3                  # keep clip's kinks out of the way
    g_rev = dd.grad(lambda p: newcomer_loss(p, X, y), (W, b))
    g_fwd = dd.grad(lambda p: newcomer_loss(p, X, y), (W, b), mode="forward")
    flat = np.concatenate([W.ravel(), b])
    fd = central_difference_jacobian(lambda f: newcomer_loss((f[:12].reshape(3, 4), f[12:]), X, y), flat)
    for g in (g_rev, g_fwd):
        np.testing.assert_allclose(np.concatenate([g[0].ravel(), g[1]]), fd, rtol=1e-6, atol=1e-8)


COMPOSITIONS = [
    lambda a: np.cumsum(np.square(a)) * np.prod(a[:3]),
    lambda a: np.log10(2.0 + np.cumprod(a / 2.0)) - np.log2(1.0 + a * a),
    lambda a: np.arcsinh(np.diff(a, prepend=0.0)) + np.average(a, weights=np.arange(1.0, 7.0)),
    lambda a: np.exp2(a) * np.sum(np.square(a)) + np.reciprocal(2.0 + a) * np.trace(np.outer(a, a)),
]


@pytest.mark.parametrize("k", range(len(COMPOSITIONS)))
def test_compositions_against_complex_step_in_both_modes_and_second_order(k):
    f = COMPOSITIONS[k]
    x = np.array([0.3, -0.7, 1.1, 0.0, 0.5, -1.4])    # a zero inside prod's and cumprod's reach
    ref = complex_step_jacobian(f, x)
    for J in both_modes(f, x):
        np.testing.assert_allclose(J, ref, rtol=1e-12, atol=1e-13)
    w = np.linspace(0.5, -0.5, 6)
    H = dd.hessian(lambda x: np.sum(f(x) * w), x)
    Hfd = central_difference_jacobian(lambda z: complex_step_jacobian(lambda v: np.sum(f(v) * w), z), x)
    np.testing.assert_allclose(H, Hfd, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------------------------
# dtype= of the reductions: numpy casts, then accumulates
# --------------------------------------------------------------------------------------------

_DTYPE_REDUCTIONS = [
    ("np.sum", lambda x, dt: np.sum(x * x, axis=0, dtype=dt)),
    ("x.sum", lambda x, dt: (x * x).sum(axis=1, dtype=dt)),
    ("np.mean", lambda x, dt: np.mean(np.sin(x), axis=0, dtype=dt)),
    ("x.mean", lambda x, dt: np.sin(x).mean(dtype=dt)),
    ("np.prod", lambda x, dt: np.prod(x, axis=1, dtype=dt)),
    ("np.cumsum", lambda x, dt: np.cumsum(x * x, axis=0, dtype=dt)),
    ("x.cumprod", lambda x, dt: x.cumprod(axis=1, dtype=dt)),
    ("np.var", lambda x, dt: np.var(x, axis=0, dtype=dt)),
    ("np.std", lambda x, dt: np.std(x, dtype=dt)),
    ("np.nansum", lambda x, dt: np.nansum(x ** 3, dtype=dt)),
    ("np.nanmean", lambda x, dt: np.nanmean(x ** 3, axis=1, dtype=dt)),
    ("np.trace", lambda x, dt: np.trace(x * x, dtype=dt)),
]


@pytest.mark.parametrize("name,f", _DTYPE_REDUCTIONS, ids=[n for n, _ in _DTYPE_REDUCTIONS])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_reduction_dtype_casts_as_numpy_and_keeps_the_derivative(name, f, dt):
    x = np.array([[0.5, 1.5, 2.0], [1.25, -0.75, 3.0], [0.3, 0.9, -1.1]])
    expected = f(x, dt)
    # the float64 derivative, by central differences (var/std are not analytic: no complex step);
    # a float32 accumulation has it to float32 precision
    oracle = central_difference_jacobian(lambda x: f(x, np.float64), x)
    tol = 1e-7 if dt == np.float64 else 1e-4
    for mode in ("forward", "reverse"):
        J = dd.jacobian(lambda x: f(x, dt), x, mode=mode)
        np.testing.assert_allclose(J, oracle, rtol=tol, atol=tol)
    out = dd.jvp(lambda x: f(x, dt), x, np.ones_like(x))[0]
    assert np.asarray(out).dtype == np.asarray(expected).dtype == np.dtype(dt)
    np.testing.assert_allclose(out, expected, rtol=1e-14 if dt == np.float64 else 1e-6)


@pytest.mark.parametrize("dt", [int, np.int32, bool])
def test_reduction_in_an_integer_dtype_is_refused_by_name(dt):
    for mode in ("forward", "reverse"):
        with pytest.raises(TypeError, match=r"numpy\.sum with dtype=.* only a floating dtype keeps"):
            dd.grad(lambda x: np.sum(x, dtype=dt), np.ones(3), mode=mode)


def test_divmod_gives_a_plain_quotient_and_the_remainders_derivative():
    x = np.array([7.5, -3.25, 4.0])
    for mode in ("forward", "reverse"):
        J = dd.jacobian(lambda x: np.divmod(x, 2.0)[1], x, mode=mode)
        np.testing.assert_array_equal(J, np.eye(3))  # x mod 2 has slope 1 between its jumps
    q, r = np.divmod(dd.Dual(x, np.ones(3)), 2.0)
    assert type(q) is np.ndarray and np.array_equal(q, [3.0, -2.0, 2.0])
    np.testing.assert_array_equal(r.primal, np.mod(x, 2.0))


def test_sum_takes_numpys_where_true_and_initial():
    x = np.array([1.0, 2.0, 3.0])
    for mode in ("forward", "reverse"):
        np.testing.assert_array_equal(dd.grad(lambda x: np.sum(x * x, where=True), x, mode=mode),
                                      2 * x)
        value, g = dd.value_and_grad(lambda x: np.sum(x * x, initial=10.0), x)
        assert value == np.sum(x * x, initial=10.0) == 24.0
        np.testing.assert_array_equal(g, 2 * x)


# --------------------------------------------------------------------------------------------
# ufunc methods: reduce, accumulate, outer (numpy's defaults, axis 0 for reduce/accumulate)
# --------------------------------------------------------------------------------------------

_UFUNC_METHOD_CALLS = {
    "add.reduce": lambda x: np.add.reduce(x),
    "add.reduce-axis-None": lambda x: np.add.reduce(x, axis=None),
    "add.reduce-keepdims-initial": lambda x: np.add.reduce(x, axis=1, keepdims=True, initial=2.0),
    "multiply.reduce": lambda x: np.multiply.reduce(x, axis=1),
    "maximum.reduce": lambda x: np.maximum.reduce(x),
    "minimum.reduce": lambda x: np.minimum.reduce(x, axis=-1),
    "add.accumulate": lambda x: np.add.accumulate(x),
    "multiply.accumulate": lambda x: np.multiply.accumulate(x, axis=1),
    "multiply.outer": lambda x: np.multiply.outer(x[0], x[1]),
    "subtract.outer-2d": lambda x: np.subtract.outer(x, x[0]),
    "power.outer": lambda x: np.power.outer(x[0], x[:, 0]),
}


@pytest.mark.parametrize("name", sorted(_UFUNC_METHOD_CALLS))
def test_ufunc_methods_against_complex_step_and_numpy(name):
    f = _UFUNC_METHOD_CALLS[name]
    x = np.array([[0.5, 1.5, 2.0, 0.7], [1.25, 0.75, 3.0, 1.9], [0.3, 0.9, 1.1, 2.4]])
    ref = complex_step_jacobian(f, x)
    for J in both_modes(f, x):
        np.testing.assert_allclose(J, ref, rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(dd.jvp(f, x, np.ones_like(x))[0], f(x))  # numpy's own value


@pytest.mark.parametrize("call, pattern", [
    (lambda x: np.maximum.accumulate(x), r"numpy\.maximum\.accumulate has no dualdiff rule.*"
                                         r"add\.accumulate and multiply\.accumulate"),
    (lambda x: np.add.reduceat(x, [0, 2]), r"numpy\.add\.reduceat has no dualdiff rule"),
    (lambda x: np.hypot.reduce(x), r"numpy\.hypot\.reduce has no dualdiff rule.*"
                                   r"add, multiply, maximum, minimum, logaddexp and logaddexp2"),
    (lambda x: np.add.outer(x, x, out=np.zeros((3, 3))), r"numpy\.add\.outer with out="),
])
def test_unsupported_ufunc_methods_are_refused_by_name(call, pattern):
    with pytest.raises(TypeError, match=pattern):
        dd.grad(lambda x: np.sum(call(x)), np.ones(3))


# ---- np.frexp and np.modf: a differentiable part and a plain one --------------------------------

def test_frexp_and_modf_values_are_numpys_and_derivatives_their_slopes():
    x = np.array([3.25, -0.75, 0.0, -0.0, 5.0, -2.5, np.inf, -np.inf, np.nan, 1e300, 7e-300])
    with np.errstate(over="ignore"):
        mantissa, exponent = np.frexp(dd.Dual(x, np.ones_like(x)))
    want_m, want_e = np.frexp(x)
    np.testing.assert_array_equal(mantissa.primal, want_m)
    assert np.array_equal(np.signbit(mantissa.primal), np.signbit(want_m))
    assert type(exponent) is np.ndarray and np.array_equal(exponent, want_e)
    np.testing.assert_array_equal(mantissa.tangent, np.ldexp(1.0, -want_e))  # x = m·2**e, e fixed
    x = np.append(x, [-3.0, -1e-320])  # a zero fraction of a negative number is -0.0 in numpy
    fraction, integral = np.modf(dd.Dual(x, np.ones_like(x)))
    want_f, want_i = np.modf(x)
    np.testing.assert_array_equal(fraction.primal, want_f)
    assert np.array_equal(np.signbit(fraction.primal), np.signbit(want_f), equal_nan=True)
    assert type(integral) is np.ndarray and np.array_equal(integral, want_i, equal_nan=True)
    assert np.array_equal(np.signbit(integral), np.signbit(want_i))
    np.testing.assert_array_equal(fraction.tangent, np.where(np.isfinite(x), 1.0, 0.0))
    # compiled too, the same bits
    compiled = dd.compile(lambda z: np.modf(z)[0])(x)
    assert np.array_equal(compiled, want_f, equal_nan=True)
    assert np.array_equal(np.signbit(compiled), np.signbit(want_f))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_frexp_and_modf_gradients_against_central_differences(mode):
    y = np.array([0.3, 1.7, -2.6, 40.2])  # inside a binade and between integers: smooth there
    for f in (lambda y: np.sum(np.frexp(y)[0] ** 2 * y), lambda y: np.sum(np.modf(y)[0] ** 3)):
        fd = np.array([(f(y + 1e-7 * e) - f(y - 1e-7 * e)) / 2e-7 for e in np.eye(4)])
        np.testing.assert_allclose(dd.grad(f, y, mode=mode), fd, rtol=1e-6)
    x32 = np.array([3.25, -0.75], np.float32)
    assert dd.grad(lambda y: np.sum(np.modf(y)[0] + np.frexp(y)[0]), x32, mode=mode).dtype == np.float32


# ---- var and std of complex values: |x - mean|² as numpy takes it (re² + im²) ----------------

def test_var_and_std_of_complex_values_are_numpys_and_differentiate():
    rng = np.random.default_rng(31)
    for shape in [(5,), (3, 4), (2, 1, 3)]:
        z = rng.normal(size=shape) + 1j * rng.normal(size=shape) * 10.0 ** rng.uniform(-2, 2)
        for axis in [None] + list(range(len(shape))):
            for ddof in (0, 1):
                for fn in (np.var, np.std):
                    with np.errstate(all="ignore"), warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)  # (N <= ddof: numpy's nan)
                        want = fn(z, axis=axis, ddof=ddof)
                        got = fn(dd.Dual(z, np.ones_like(z)), axis=axis, ddof=ddof).primal
                    assert np.asarray(got).dtype == np.asarray(want).dtype == np.float64
                    assert np.array_equal(got, want, equal_nan=True)
    # over the real and imaginary parts: d var / d re_k = 2 (re_k - mean re) / N, and for im
    n = 6
    p = rng.normal(size=2 * n)
    f = lambda p: np.var(p[:n] + 1j * p[n:])  # noqa: E731
    g = np.concatenate([2 * (p[:n] - p[:n].mean()), 2 * (p[n:] - p[n:].mean())]) / n
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(dd.grad(f, p, mode=mode), g, rtol=1e-13)
    np.testing.assert_allclose(dd.hessian(f, p), np.kron(np.eye(2), 2 * (np.eye(n) - 1 / n) / n),
                               atol=1e-14)
    # a complex tangent against central differences, and the modes' pairing Re Σ c·v
    z, v = p[:n] + 1j * p[n:], rng.normal(size=n) + 1j * rng.normal(size=n)
    std = lambda w: np.std(w, ddof=1)  # noqa: E731
    _, t = dd.jvp(std, z, v)
    assert t == pytest.approx((std(z + 1e-6 * v) - std(z - 1e-6 * v)) / 2e-6, rel=1e-7)
    c = dd.vjp(std, z)[1](0.7)
    assert np.real(np.sum(c * v)) == pytest.approx(0.7 * t, rel=1e-12)
