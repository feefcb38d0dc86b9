"""numpy's reductions with ``where=`` (a plain boolean mask) on traced values: np.sum, np.mean,
np.prod, np.max/np.min/np.amax/np.amin (with ``initial=``), np.var, np.std, the nan forms, the
ndarray methods and ``ufunc.reduce``.

Values are compared with numpy's own call bit for bit (numpy's masked sum rounds differently
from a sum with zeros in the holes, so this can fail); derivatives with complex step or central
differences of numpy itself, forward against reverse by the dot-product test, second order with
dd.hessian against differences of the complex-step gradient; the elements outside the mask get
exactly 0, also when they hold inf or nan.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dualdiff as dd
from oracles import (
    central_difference_jacobian, complex_step_jacobian, hessian_by_differences,
)

RNG = np.random.default_rng(20261130)
X = RNG.normal(size=(4, 37))
MASK = RNG.random((4, 37)) < 0.6
MASK[2] = False  # one empty row: numpy's nan (mean, var) or initial (max) there


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args)


# name, call(x, mask) on numpy's terms, oracle ("cs" complex step, "cd" central differences)
REDUCTIONS = [
    ("sum", lambda x, m: np.sum(x, where=m), "cs"),
    ("sum-axis1", lambda x, m: np.sum(x, axis=1, where=m), "cs"),
    ("sum-axis0-keepdims", lambda x, m: np.sum(x, axis=0, keepdims=True, where=m), "cs"),
    ("sum-initial", lambda x, m: np.sum(x, axis=1, where=m, initial=0.25), "cs"),
    ("sum-method", lambda x, m: x.sum(axis=1, where=m), "cs"),
    ("add.reduce", lambda x, m: np.add.reduce(x, axis=1, where=m), "cs"),
    ("mean", lambda x, m: np.mean(x, where=m), "cs"),
    ("mean-axis0", lambda x, m: np.mean(x, axis=0, where=m), "cs"),
    ("mean-method", lambda x, m: x.mean(axis=(0, 1), keepdims=True, where=m), "cs"),
    ("prod", lambda x, m: np.prod(1 + x / 8, axis=1, where=m), "cs"),
    ("prod-method", lambda x, m: (1 + x / 8).prod(where=m), "cs"),
    ("max", lambda x, m: np.max(x, axis=1, initial=-0.5, where=m), "cd"),
    ("amax", lambda x, m: np.amax(x, initial=-9.0, where=m), "cd"),
    ("min", lambda x, m: np.min(x, axis=0, initial=0.5, where=m), "cd"),
    ("amin-method", lambda x, m: x.min(axis=1, keepdims=True, initial=9.0, where=m), "cd"),
    ("maximum.reduce", lambda x, m: np.maximum.reduce(x, axis=1, initial=0.0, where=m), "cd"),
    ("nanmax", lambda x, m: np.nanmax(x, axis=1, initial=-3.0, where=m), "cd"),
    ("nanmin", lambda x, m: np.nanmin(x, initial=3.0, where=m), "cd"),
    ("var", lambda x, m: np.var(x, axis=1, where=m), "cd"),
    ("var-ddof", lambda x, m: np.var(x, ddof=1, where=m), "cd"),
    ("var-method", lambda x, m: x.var(axis=0, ddof=1, keepdims=True, where=m), "cd"),
    ("std", lambda x, m: np.std(x, axis=1, where=m), "cd"),
    ("std-correction", lambda x, m: np.std(x, correction=1, where=m), "cd"),
    ("std-method", lambda x, m: x.std(where=m), "cd"),
    ("nansum", lambda x, m: np.nansum(x, axis=1, where=m), "cd"),
    ("nansum-initial", lambda x, m: np.nansum(x, initial=1.5, where=m), "cd"),
    ("nanmean", lambda x, m: np.nanmean(x, axis=1, where=m), "cd"),
    ("nanvar", lambda x, m: np.nanvar(x, axis=1, ddof=1, where=m), "cd"),
    ("nanstd", lambda x, m: np.nanstd(x, where=m), "cd"),
    ("nanprod", lambda x, m: np.nanprod(1 + x / 8, axis=0, where=m), "cd"),
]
IDS = [r[0] for r in REDUCTIONS]
ANALYTIC = [r for r in REDUCTIONS if r[2] == "cs"]


def _with_nans(x):
    """x with nans inside the mask (for the nan forms) and outside it."""
    x = x.copy()
    x[0, 1] = x[3, 5] = np.nan
    return x


def _point(name):
    return _with_nans(X) if name.startswith("nan") else X


@pytest.mark.parametrize("name,call,oracle", REDUCTIONS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_are_numpys_bit_for_bit_in_both_modes(name, call, oracle, dtype):
    x = _point(name).astype(dtype)
    expected = _quiet(call, x, MASK)
    forward = _quiet(call, dd.Dual(x, np.ones_like(x)), MASK)
    reverse, _ = _quiet(dd.vjp, lambda z: call(z, MASK), x)
    for got in (forward.primal, reverse):
        np.testing.assert_array_equal(got, expected)
        assert np.asarray(got).dtype == np.asarray(expected).dtype == dtype
        assert np.shape(got) == np.shape(expected)


def test_the_masked_sum_is_not_the_sum_with_zeros_in_the_holes():
    # Why sum_where is a primitive with numpy's own value: the obvious composite rounds
    # differently (numpy sums each run of selected elements pairwise, then the runs in turn),
    # so the bit-for-bit test above can fail; here it differs in most of 20 draws.
    rng = np.random.default_rng(7)
    differ = 0
    for _ in range(20):
        x = rng.normal(size=1000) * 10.0 ** rng.uniform(-3, 3, size=1000)
        m = rng.random(1000) < 0.6
        differ += np.sum(x, where=m) != np.sum(np.where(m, x, 0.0))
        assert np.sum(dd.Dual(x), where=m).primal == np.sum(x, where=m)
    assert differ >= 5


@pytest.mark.parametrize("name,call,oracle", REDUCTIONS, ids=IDS)
def test_derivatives_against_numpy_in_both_modes(name, call, oracle):
    x = _point(name)[:, :9]
    m = MASK[:, :9]
    f = lambda z: call(z, m)  # noqa: E731
    if oracle == "cs":
        ref = _quiet(complex_step_jacobian, f, x)  # (an empty slice: numpy warns)
    else:
        ref = _quiet(central_difference_jacobian, f, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        forward = dd.jacobian(f, x)
        reverse = dd.jacobian(f, x, mode="reverse")
    defined = np.isfinite(ref)  # (nan where numpy's value is nan: an empty slice)
    for J in (forward, reverse):
        np.testing.assert_allclose(J[defined], ref[defined], rtol=1e-6, atol=1e-8)
        # outside the mask (and at the nans of the nan forms): exactly zero
        outside = np.broadcast_to(~m | np.isnan(x), J.shape)
        assert np.all(J[outside & np.isfinite(J)] == 0)


@pytest.mark.parametrize("name,call,oracle", REDUCTIONS, ids=IDS)
def test_forward_and_reverse_agree_by_the_dot_product_test(name, call, oracle):
    x = _point(name)
    f = lambda z: call(z, MASK)  # noqa: E731
    v = RNG.normal(size=x.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y, Jv = dd.jvp(f, x, v)
        _, pullback = dd.vjp(f, x)
        u = RNG.normal(size=np.shape(y))
        uJ = pullback(u)
    # (an empty slice's nan value has nan derivatives in both modes: left out of both sides)
    lhs = float(np.sum(np.where(np.isfinite(Jv), u * Jv, 0.0)))
    rhs = float(np.sum(np.where(np.isfinite(uJ), uJ * v, 0.0)))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(rhs))


def _analytic_var(m, axis, ddof):
    """The masked variance written with complex-safe numpy (no conjugate): the oracle's f."""
    def f(z):
        n = np.sum(m, axis=axis, keepdims=True)
        mu = np.sum(np.where(m, z, 0), axis=axis, keepdims=True) / n
        return np.sum(np.where(m, (z - mu) ** 2, 0), axis=axis) / (np.squeeze(n, axis) - ddof)
    return f


def test_var_against_its_analytic_form_by_complex_step():
    m = np.ones((4, 9), bool)
    m[::2, ::3] = m[1, 4] = False  # at least two elements in every row and column
    x = X[:, :9]
    for axis, ddof in [(1, 0), (0, 1)]:
        ref = complex_step_jacobian(_analytic_var(m, axis, ddof), x)
        for mode in ("forward", "reverse"):
            J = dd.jacobian(lambda z: np.var(z, axis=axis, ddof=ddof, where=m), x, mode=mode)
            np.testing.assert_allclose(J, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("f,ref", [
    (lambda x, m: np.sum(x ** 3, where=m), lambda z, m: np.sum(np.where(m, z ** 3, 0))),
    (lambda x, m: np.mean(np.sin(x), where=m), lambda z, m: np.sum(np.where(m, np.sin(z), 0)) / m.sum()),
    (lambda x, m: np.prod(1 + x / 4, where=m), lambda z, m: np.prod(np.where(m, 1 + z / 4, 1))),
    (lambda x, m: np.sum(np.var(x, axis=1, ddof=1, where=m)),
     lambda z, m: np.sum(_analytic_var(m, 1, 1)(z))),
    (lambda x, m: np.std(x, where=m),
     lambda z, m: np.sqrt(_analytic_var(m.ravel(), 0, 0)(z.ravel()))),
    (lambda x, m: np.max(x * x, initial=0.0, where=m) * np.sum(x, where=m),
     lambda z, m: (z[1, 0] ** 2) * np.sum(np.where(m, z, 0))),
], ids=["sum-cubes", "mean-sin", "prod", "var-ddof1", "std", "max-times-sum"])
def test_second_order_by_nesting_against_differences_of_the_complex_step_gradient(f, ref):
    x = np.array([[0.3, -1.1, 0.7], [2.5, 0.4, -0.6]])
    m = np.array([[True, False, True], [True, True, False]])
    # (the max case: x[1, 0]² = 6.25 is the largest square inside the mask, away from ties)
    H_ref = hessian_by_differences(lambda z: ref(z, m), x)
    over_reverse = dd.hessian(lambda z: f(z, m), x)
    over_forward = dd.jacobian(lambda z: dd.grad(lambda w: f(w, m), z, mode="forward"), x)
    for H in (over_reverse, over_forward):
        np.testing.assert_allclose(H, H_ref, rtol=1e-6, atol=1e-7)
        outside = ~m.ravel()
        H2 = H.reshape(6, 6)
        assert np.all(H2[outside] == 0) and np.all(H2[:, outside] == 0)


@pytest.mark.parametrize("call", [
    lambda x, m: np.sum(x, where=m), lambda x, m: np.mean(x, where=m),
    lambda x, m: np.var(x, where=m), lambda x, m: np.std(x, where=m, ddof=1),
    lambda x, m: np.prod(x, where=m), lambda x, m: np.max(x, where=m, initial=-1.0),
    lambda x, m: np.nanmean(x, where=m), lambda x, m: np.nanstd(x, where=m),
], ids=["sum", "mean", "var", "std", "prod", "max", "nanmean", "nanstd"])
def test_inf_and_nan_outside_the_mask_never_reach_a_derivative(call):
    x = np.array([1.5, np.inf, 0.5, np.nan, -np.inf, 2.0])
    m = np.array([True, False, True, False, False, True])
    clean = x[m]
    expected = call(clean, np.ones(3, bool))
    assert call(dd.Dual(x), m).primal == call(x, m) == pytest.approx(expected, rel=1e-15)
    want = dd.grad(lambda z: call(z, np.ones(3, bool)), clean)
    for mode in ("forward", "reverse"):
        g = dd.grad(lambda z: call(z, m), x, mode=mode)
        assert np.all(np.isfinite(g)), g
        np.testing.assert_array_equal(g[~m], 0.0)
        np.testing.assert_allclose(g[m], want, rtol=1e-14)


def test_masks_broadcast_as_numpy_broadcasts_them():
    x = X[:3, :5]
    for m in [np.array([True, False, True, True, False]), np.array([[True], [False], [True]]),
              np.bool_(True), np.array(False), [[True, False, True, True, True]] * 3]:
        for call in (lambda z: np.sum(z, axis=0, where=m), lambda z: np.mean(z, axis=1, where=m),
                     lambda z: np.max(z, initial=-5.0, where=m)):
            got = _quiet(call, dd.Dual(x))
            np.testing.assert_array_equal(got.primal, _quiet(call, x))
            J = _quiet(dd.jacobian, call, x)
            assert np.all(J[np.broadcast_to(~np.broadcast_to(m, x.shape), J.shape)] == 0)


def test_zero_dimensional_and_empty_arrays():
    x0 = np.float64(2.5)
    for m, value, deriv in [(True, 2.5, 1.0), (False, 0.0, 0.0)]:
        assert float(np.sum(dd.Dual(x0, 1.0), where=np.bool_(m)).tangent) == deriv
        assert float(np.sum(dd.Dual(x0), where=np.bool_(m)).primal) == value
        assert dd.grad(lambda z: np.sum(z * z, where=np.array(m)), x0) == 2 * 2.5 * deriv
    assert float(dd.grad(lambda z: np.max(z, initial=0.0, where=True), x0)) == 1.0
    e = np.zeros((0, 3))
    em = np.zeros((0, 3), bool)
    for call in (lambda z: np.sum(z, axis=0, where=em), lambda z: np.max(z, axis=0, initial=1.0, where=em),
                 lambda z: np.prod(z, axis=1, where=em)):
        np.testing.assert_array_equal(call(dd.Dual(e)).primal, call(e))
        J = dd.jacobian(call, e, mode="reverse")
        assert J.shape == np.shape(call(e)) + e.shape
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        assert np.isnan(np.mean(dd.Dual(np.ones(3)), where=np.zeros(3, bool)).primal)


def test_float32_derivatives_stay_float32():
    x = X[:2, :6].astype(np.float32)
    m = MASK[:2, :6]
    for call in (lambda z: np.sum(z * z, where=m), lambda z: np.var(z, where=m),
                 lambda z: np.max(z, initial=-1.0, where=m)):
        for mode in ("forward", "reverse"):
            g = dd.grad(call, x, mode=mode)
            assert g.dtype == np.float32


def test_refused_masks_and_missing_initial_say_what_to_do():
    d = dd.Dual(X)
    with pytest.raises(TypeError, match="where= must be a plain boolean array, not a traced"):
        np.sum(d, where=d)
    with pytest.raises(TypeError, match="where= must be a plain boolean"):
        d.mean(where=d)
    with pytest.raises(TypeError, match="boolean array, not one of dtype int64"):
        np.sum(d, where=MASK.astype(np.int64))
    with pytest.raises(TypeError):  # numpy too
        np.sum(X, where=MASK.astype(np.int64))
    with pytest.raises(ValueError, match=r"where= of shape \(3,\) does not broadcast"):
        np.var(d, where=np.ones(3, bool))
    with pytest.raises(ValueError):  # numpy too
        np.var(X, where=np.ones(3, bool))
    for fn in (np.max, np.min, np.amax, np.nanmin):
        with pytest.raises(ValueError, match="specify 'initial'"):
            fn(d, where=MASK)
        with pytest.raises(ValueError, match="specify 'initial'"):
            fn(X, where=MASK)
    with pytest.raises(TypeError, match="initial= must be a plain number"):
        np.sum(d, where=MASK, initial=d[0, 0])
    with pytest.raises(TypeError, match="out="):
        np.sum(d, where=MASK, out=np.zeros(()))
    # a comparison of traced values is plain, so it is a valid mask
    np.testing.assert_array_equal(np.sum(d, where=d > 0).primal, np.sum(X, where=X > 0))


def test_a_loss_over_the_valid_entries_trains_in_both_modes():
    # The idiom the feature is for: a mean squared error over the observed entries only.
    rng = np.random.default_rng(3)
    target = rng.normal(size=(5, 4))
    observed = rng.random((5, 4)) < 0.7
    target[~observed] = 1e6  # whatever the missing entries hold
    loss = lambda w: np.mean((w - target) ** 2, where=observed)  # noqa: E731
    w = rng.normal(size=(5, 4))
    closed = np.where(observed, 2 * (w - target) / observed.sum(), 0.0)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(dd.grad(loss, w, mode=mode), closed, rtol=1e-13)
    # A nan there is read before the mask, by (w - nan)²: in reverse mode its zero cotangent
    # times the partial 2(w - nan) is nan, as in JAX (the "double where" of docs/api.md). Keep
    # it out of the arithmetic and the gradient is the same.
    target[~observed] = np.nan
    safe = lambda w: np.mean((w - np.where(observed, target, 0.0)) ** 2, where=observed)  # noqa: E731
    assert np.isnan(dd.grad(loss, w, mode="reverse")[~observed]).all()
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(dd.grad(safe, w, mode=mode), closed, rtol=1e-13)


def test_complex_values_and_a_wider_dtype_are_numpys_too():
    z = X + 1j * RNG.normal(size=X.shape)
    for call in (lambda v: np.sum(v, axis=1, where=MASK), lambda v: np.mean(v, where=MASK),
                 lambda v: np.prod(1 + v / 8, axis=0, where=MASK),
                 lambda v: np.nansum(v, where=MASK)):
        np.testing.assert_array_equal(call(dd.Dual(z)).primal, call(z))
        np.testing.assert_array_equal(dd.vjp(call, z)[0], call(z))
    x32 = X.astype(np.float32)
    for call in (lambda v: np.sum(v, where=MASK, dtype=np.float64),
                 lambda v: np.mean(v, axis=0, where=MASK, dtype=np.float64),
                 lambda v: np.var(v, axis=1, where=MASK, dtype=np.float64)):
        got = _quiet(call, dd.Dual(x32)).primal
        np.testing.assert_array_equal(got, _quiet(call, x32))
        assert got.dtype == np.float64
    with pytest.raises(TypeError, match="complex values is not supported"):
        np.var(dd.Dual(z), where=MASK)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sum_with_initial_and_no_mask_is_numpys_bit_for_bit(dtype):
    # numpy folds initial= into its own loop; sum(x) + initial rounds differently (it did in
    # about a quarter of these cases before np.sum(x, initial=c) went through numpy's call)
    rng = np.random.default_rng(7)
    for _ in range(60):
        shape = tuple(rng.integers(1, 30, rng.integers(1, 4)))
        x = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(dtype)
        c = float(rng.standard_normal() * 100)
        for axis in [None] + list(range(len(shape))):
            want = np.sum(x, axis=axis, initial=c)
            for mode in ("forward", "reverse"):
                if mode == "forward":
                    got = np.sum(dd.Dual(x, np.ones_like(x)), axis=axis, initial=c).primal
                else:
                    got = dd.value_and_grad(lambda z: np.sum(np.sum(z, axis=axis, initial=c)), x)[0]
                    want_total = np.sum(want)
                    assert np.array_equal(got, want_total)
                    continue
                assert got.dtype == want.dtype and np.array_equal(got, want)
    # the derivative: 1 for every element; a traced initial is still added (derivative 1)
    x = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(dd.grad(lambda z: np.sum(np.sum(z, axis=1, initial=3.0) ** 2), x),
                                  2 * (x.sum(axis=1, keepdims=True) + 3.0) * np.ones((2, 3)))
    np.testing.assert_array_equal(dd.grad(lambda z: np.sum(z[:2], initial=z[2]), np.ones(3)), [1, 1, 1])


def test_where_none_selects_nothing_as_in_numpy():
    # numpy reads where=None as False: the sum of nothing is 0, the product 1, the maximum the
    # initial; np.mean/var/std refuse it (numpy with a generic message, dualdiff in words)
    x = np.arange(1.0, 7.0).reshape(2, 3)
    d = dd.Dual(x, np.ones_like(x))
    for f in (lambda a: np.sum(a, where=None), lambda a: np.sum(a, axis=0, where=None),
              lambda a: np.prod(a, where=None), lambda a: np.nansum(a, where=None),
              lambda a: np.nanprod(a, where=None), lambda a: np.max(a, where=None, initial=0.5),
              lambda a: a.sum(where=None), lambda a: a.prod(where=None),
              lambda a: np.add.reduce(a, axis=None, where=None)):
        want = f(x)
        got = f(d)
        np.testing.assert_array_equal(got.primal if isinstance(got, dd.Dual) else got, want)
        np.testing.assert_array_equal(dd.grad(lambda z: np.sum(f(z)), x), np.zeros_like(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(np.nanmean(d, where=None).primal) and np.isnan(np.nanmean(x, where=None))
    for fn in (np.mean, np.var, np.std):
        with pytest.raises(TypeError):
            fn(x, where=None)
        with pytest.raises(TypeError, match=f"numpy.{fn.__name__} with where=None"):
            fn(d, where=None)
