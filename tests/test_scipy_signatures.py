"""dd.special.logsumexp, softmax and log_softmax (scipy's signatures), and the advice a refused
conversion gives for the calls people make that turn a traced value into a plain array.

scipy.special.logsumexp is not a ufunc: it makes its input a plain array, so on a traced value
it cannot work; dd.special's takes the same arguments. Values are checked against scipy itself
(skipped without it), derivatives against closed forms and central differences, in both modes
and to second order.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd

RNG = np.random.default_rng(11)
A = RNG.standard_normal((3, 4))
B = RNG.uniform(0.2, 2.0, (3, 4))


def central_difference(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _scipy():
    return pytest.importorskip("scipy.special")


@pytest.mark.parametrize("kw", [
    {}, {"axis": 0}, {"axis": 1, "keepdims": True}, {"axis": (0, 1)}, {"axis": -1},
    {"b": B}, {"b": B, "axis": 1}, {"b": B[0], "axis": 1, "keepdims": True},
    {"b": B - 1.0, "return_sign": True}, {"b": B - 1.0, "axis": 0, "return_sign": True},
    {"return_sign": True, "axis": 1},
])
def test_logsumexp_values_are_scipys(kw):
    sp = _scipy()
    want, got = sp.logsumexp(A, **kw), dd.special.logsumexp(A, **kw)
    if kw.get("return_sign"):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
        np.testing.assert_array_equal(got[1], want[1])
        assert np.shape(got[1]) == np.shape(want[1])
    else:
        np.testing.assert_allclose(got, want, rtol=1e-13)
        assert np.shape(got) == np.shape(want)


def test_logsumexp_edges_and_dtypes():
    sp = _scipy()
    # a zero weight leaves its term out, even an infinite one; float32 stays float32
    a, b = np.array([1.0, np.inf, 2.0]), np.array([1.0, 0.0, 3.0])
    assert dd.special.logsumexp(a, b=b) == pytest.approx(np.log(np.e + 3 * np.e ** 2), rel=1e-15)
    x32 = np.float32([1.0, 2.0])
    assert dd.special.logsumexp(x32, b=x32).dtype == sp.logsumexp(x32, b=x32).dtype == np.float32
    assert dd.special.logsumexp(x32).dtype == np.float32
    # no overflow; all -inf gives -inf with sign 0; a negative sum is nan without return_sign
    assert dd.special.logsumexp([1000.0, 1000.0]) == pytest.approx(1000 + np.log(2), rel=1e-15)
    with np.errstate(divide="ignore"):
        assert dd.special.logsumexp([-np.inf, -np.inf], return_sign=True) == (-np.inf, 0.0)
    with np.errstate(invalid="ignore"):
        assert np.isnan(dd.special.logsumexp([0.0, 1.0], b=[-2.0, 0.5]))
    v, s = dd.special.logsumexp([0.0, 1.0], b=[-2.0, 0.5], return_sign=True)
    assert s == -1.0 and v == pytest.approx(np.log(2 - 0.5 * np.e), rel=1e-14)
    # a number for a whole reduction, as scipy gives
    assert type(dd.special.logsumexp([0.0, 1.0], b=[2.0, 0.5])) is np.float64
    assert type(sp.logsumexp([0.0, 1.0], b=[2.0, 0.5])) is np.float64


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_logsumexp_derivatives_in_a_and_b_are_the_closed_forms(mode):
    a, b = A[0], B[0]
    w = b * np.exp(a) / np.sum(b * np.exp(a))
    np.testing.assert_allclose(dd.grad(lambda a: dd.special.logsumexp(a, b=b), a, mode=mode), w,
                               rtol=1e-14)
    np.testing.assert_allclose(dd.grad(lambda b: dd.special.logsumexp(a, b=b), b, mode=mode),
                               np.exp(a) / np.sum(b * np.exp(a)), rtol=1e-14)
    # unweighted: the gradient is softmax, the Hessian diag(p) - p pᵀ (second order)
    p = np.exp(a) / np.sum(np.exp(a))
    np.testing.assert_allclose(dd.grad(dd.special.logsumexp, a, mode=mode), p, rtol=1e-14)
    np.testing.assert_allclose(dd.hessian(dd.special.logsumexp, a), np.diag(p) - np.outer(p, p),
                               atol=1e-15)
    # weighted, second order: diag(w) - w wᵀ in a
    np.testing.assert_allclose(dd.hessian(lambda a: dd.special.logsumexp(a, b=b), a),
                               np.diag(w) - np.outer(w, w), atol=1e-15)


def test_logsumexp_with_a_sign_and_axes_against_central_differences():
    b = B - 1.0
    f = lambda a: np.sum(dd.special.logsumexp(a, b=b, axis=1, return_sign=True)[0] * [1.0, 2.0, 3.0])
    g = dd.grad(f, A)
    np.testing.assert_allclose(g, central_difference(f, A), rtol=1e-7, atol=1e-9)
    u, v = RNG.standard_normal(A.shape), RNG.standard_normal(A.shape)
    # the dot-product test between the modes
    h = lambda a: dd.special.logsumexp(a, b=B, axis=0)
    jv = dd.jvp(h, A, v)[1]
    _, pullback = dd.vjp(h, A)
    assert np.dot(u[0], jv) == pytest.approx(np.sum(pullback(u[0]) * v), rel=1e-12)


def test_softmax_and_log_softmax_take_scipys_default_axis():
    sp = _scipy()
    for kw in [{}, {"axis": 0}, {"axis": 1}, {"axis": (0, 1)}]:
        np.testing.assert_allclose(dd.special.softmax(A, **kw), sp.softmax(A, **kw), rtol=1e-14)
        np.testing.assert_allclose(dd.special.log_softmax(A, **kw), sp.log_softmax(A, **kw),
                                   rtol=1e-14)


def test_softmax_derivatives_are_the_closed_forms():
    a = A.ravel()
    p = np.exp(a) / np.sum(np.exp(a))
    u = RNG.standard_normal(a.size)
    # d(u·softmax)/da = p ⊙ (u - u·p); d(u·log_softmax)/da = u - p Σu
    np.testing.assert_allclose(dd.grad(lambda a: u @ dd.special.softmax(a), a), p * (u - u @ p),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dd.grad(lambda a: u @ dd.special.log_softmax(a), a, mode="forward"),
                               u - p * np.sum(u), rtol=1e-12, atol=1e-14)


def _refusal(f, x=A[0]):
    with pytest.raises(TypeError) as info:
        dd.grad(f, x)
    return str(info.value)


def test_scipys_reductions_on_traced_values_name_dd_special():
    sp = _scipy()
    for name in ["logsumexp", "softmax", "log_softmax"]:
        fn = getattr(sp, name)
        message = _refusal(lambda z: np.sum(fn(z)))
        assert f"dd.special.{name}" in message, message
        assert "would drop its derivative" in message
    # any other scipy function: scipy makes its inputs plain, and dd.special's ufuncs work
    integrate = pytest.importorskip("scipy.integrate")
    assert "scipy's functions make their inputs plain arrays" in _refusal(integrate.trapezoid)


@pytest.mark.parametrize("f, advice", [
    (lambda z: np.sum(np.full(3, z[0])), "v * np.ones(shape)"),
    (lambda z: np.sum(np.r_[z, z]), "np.concatenate"),
    (lambda z: np.sum(np.c_[z, z]), "np.column_stack"),
    (lambda z: np.sum(np.vectorize(lambda t: t * t)(z)), "np.where for branches"),
    (lambda z: np.polynomial.polynomial.polyval(0.5, z), "np.polyval"),
    (lambda z: np.sum(np.array([z[0], 1.0])), "with dd.stack"),
    (lambda z: np.sum(np.asarray(z) ** 2), "drop np.asarray/np.array around it"),
])
def test_a_refused_conversion_says_what_to_write_for_the_call_that_asked(f, advice):
    message = _refusal(f)
    assert advice in message and "would drop its derivative" in message, message
    # and the advice is right: written so, the derivative works
    if advice == "v * np.ones(shape)":
        np.testing.assert_array_equal(dd.grad(lambda z: np.sum(z[0] * np.ones(3)), A[0]),
                                      [3.0, 0.0, 0.0, 0.0])


# -- numpy >= 2.1's unstack and astype, trim_zeros, the *_indices_from, itemsize and nbytes ----

@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_unstack_trim_zeros_and_astype_against_numpy_and_closed_forms(mode):
    x = np.array([[0.0, 1.5, 2.0], [3.0, 0.0, 0.5]])
    w = np.arange(1.0, 7.0).reshape(2, 3)
    if hasattr(np, "unstack"):
        for axis in (0, 1, -1):
            got = np.unstack(dd.Dual(x, np.ones_like(x)), axis=axis)
            want = np.unstack(x, axis=axis)
            assert type(got) is tuple and len(got) == len(want)
            for g, v in zip(got, want):
                np.testing.assert_array_equal(g.primal, v)
        # sum_i i·||row_i||² through unstack: gradient 2·i·row_i
        f = lambda z: sum(i * np.sum(r * r) for i, r in enumerate(np.unstack(z)))
        np.testing.assert_allclose(dd.grad(f, x, mode=mode), 2 * np.arange(2.0)[:, None] * x)
        with pytest.raises(ValueError, match="at least 1-d"):
            dd.grad(lambda z: np.unstack(z), 1.0)
    if hasattr(np, "astype"):
        g = dd.grad(lambda z: np.sum(np.astype(z, np.float32) * w), x, mode=mode)
        assert g.dtype == np.float64 and np.array_equal(g, w)
    v = np.array([0.0, 0.0, 2.0, 0.0, 3.0, 0.0])
    for trim in ("f", "b", "fb", "BF"):
        assert dd.trim_zeros(v, trim).tolist() == np.trim_zeros(v, trim).tolist()
        # the kept elements get the weights, the trimmed ones nothing
        kept = np.trim_zeros(v, trim)
        g = dd.grad(lambda z: np.sum(np.trim_zeros(z, trim) * np.arange(1.0, kept.size + 1)), v,
                    mode=mode)
        start = {"f": 2, "b": 0, "fb": 2, "BF": 2}[trim]
        want = np.zeros(6)
        want[start:start + kept.size] = np.arange(1.0, kept.size + 1)
        np.testing.assert_array_equal(g, want)
    assert dd.trim_zeros(np.zeros(3)).shape == np.trim_zeros(np.zeros(3)).shape == (0,)
    with pytest.raises(ValueError, match="unexpected character"):
        dd.trim_zeros(v, "ff")
    # (x has no zero row or column: its box is all of it; test_review_session6 has more)
    np.testing.assert_array_equal(dd.grad(lambda z: np.sum(np.trim_zeros(z)), x, mode=mode),
                                  np.ones_like(x))
    m = np.arange(9.0).reshape(3, 3)
    g = dd.grad(lambda z: np.sum(z[np.tril_indices_from(z)]) + np.sum(z[np.diag_indices_from(z)]),
                m, mode=mode)
    np.testing.assert_array_equal(g, np.tril(np.ones((3, 3))) + np.eye(3))
    t = dd.Dual(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32))
    assert (t.itemsize, t.nbytes) == (4, 24)


def test_ufunc_at_is_refused_with_the_bincount_that_replaces_it():
    idx, a, v = np.array([0, 2, 2, 1]), np.ones(4), np.array([1.0, 2.0, 3.0, 4.0])
    message = _refusal(lambda v: (np.add.at(a.copy(), idx, v), 0.0)[1], v)
    assert "np.bincount(idx, weights=v, minlength=a.size)" in message, message
    # and what it says computes np.add.at's result, with the derivative of the sums
    b = a.copy()
    np.add.at(b, idx, v)
    f = lambda v: a + np.bincount(idx, weights=v, minlength=a.size)
    np.testing.assert_array_equal(f(v), b)
    np.testing.assert_array_equal(dd.grad(lambda v: np.sum(f(v) ** 2), v), 2 * b[idx])


def test_weighted_logsumexp_compiles_bitwise_equal_to_eager():
    b = B - 0.5
    for f in (lambda a: dd.grad(lambda z: np.sum(dd.special.logsumexp(z, b=B, axis=1)), a),
              lambda a: dd.grad(lambda z: np.sum(dd.special.logsumexp(z, b=b, axis=0,
                                                                       return_sign=True)[0]), a),
              lambda a: dd.hessian(lambda z: dd.special.logsumexp(z, b=B[0]), a[0])):
        compiled = dd.compile(f)
        for a in (A, A + 1.0):
            np.testing.assert_array_equal(compiled(a), f(a))
