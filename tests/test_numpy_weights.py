"""numpy's weighted counts and folds on traced values: np.bincount, np.histogram, np.histogram2d
and np.histogramdd with traced weights.

Values are checked against numpy bit for bit (the composites repeat numpy's arithmetic);
derivatives against oracles that do not use dualdiff: the membership matrix read off numpy's
own histogram of each sample alone (a histogram is linear in its weights), the complex step
through numpy's histogram with complex weights, and central differences through numpy; forward
mode against reverse mode by the dot-product test; second order through dd.hessian.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dualdiff as dd
from oracles import central_difference_jacobian, complex_step_jacobian, hessian_by_differences

RNG = np.random.default_rng(2026)


def _modes_agree(f, w, rng, rtol=1e-12):
    """The dot-product test u·(J v) == (uᵀJ)·v between dd.jvp and dd.vjp, and both Jacobians."""
    v = rng.normal(size=np.shape(w)).astype(np.asarray(w).dtype)
    y, Jv = dd.jvp(f, w, v)
    u = rng.normal(size=np.shape(y))
    _, pullback = dd.vjp(f, w)
    uJ = pullback(u)
    np.testing.assert_allclose(np.sum(u * Jv), np.sum(uJ * v), rtol=rtol, atol=1e-12)
    forward, reverse = dd.jacobian(f, w), dd.jacobian(f, w, mode="reverse")
    np.testing.assert_allclose(forward, reverse, rtol=1e-13, atol=1e-14)
    return forward


def _bitwise(got, want):
    got = dd.stop_gradient(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


# -- np.bincount ----------------------------------------------------------------------------------

X = np.array([3, 0, 3, 1, 5, 3, 0])
W = RNG.normal(size=X.size)


@pytest.mark.parametrize("minlength", [0, 3, 9])
def test_bincount_values_are_numpys_and_its_jacobian_the_membership(minlength):
    f = lambda w: np.bincount(X, weights=w, minlength=minlength)  # noqa: E731
    _bitwise(f(dd.Dual(W, np.ones_like(W))), np.bincount(X, W, minlength))
    J = _modes_agree(f, W, RNG)
    # oracle: weight i lands in bin X[i] and nowhere else
    want = np.zeros((max(6, minlength), X.size))
    want[X, np.arange(X.size)] = 1.0
    np.testing.assert_array_equal(J, want)


def test_bincount_second_order_against_closed_form():
    # f(w) = Σ_j (Σ_{i: x_i = j} w_i²)²; ∂²f/∂w_i∂w_k = 8 w_i w_k [x_i = x_k] + 4 [i = k] b_{x_i}
    f = lambda w: np.sum(np.bincount(X, weights=w ** 2) ** 2)  # noqa: E731
    b = np.bincount(X, W ** 2)
    same = X[:, None] == X[None, :]
    want = 8 * np.outer(W, W) * same + 4 * np.diag(b[X])
    np.testing.assert_allclose(dd.hessian(f, W), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dd.hessian(f, W), hessian_by_differences(
        lambda w: np.sum(_complex_bincount(X, w ** 2) ** 2), W), rtol=1e-6, atol=1e-6)


def _complex_bincount(x, w):
    # np.bincount refuses complex weights: the real and imaginary parts counted apart
    return np.bincount(x, np.real(w)) + 1j * np.bincount(x, np.imag(w))


def test_bincount_float32_empty_and_plain():
    w32 = W.astype(np.float32)
    out = np.bincount(X, weights=dd.Dual(w32, np.ones_like(w32)))
    _bitwise(out, np.bincount(X, w32))  # numpy adds float32 weights as float64
    g = dd.grad(lambda w: np.sum(np.bincount(X, weights=w) * np.arange(6.0)), w32)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, X.astype(np.float32))
    empty = np.bincount(np.array([], int), weights=dd.Dual(np.zeros(0), np.zeros(0)), minlength=2)
    _bitwise(empty, np.zeros(2))
    assert dd.grad(lambda w: np.sum(np.bincount(np.array([], int), w, minlength=2)), np.zeros(0)).shape == (0,)
    # without traced weights the counts are numpy's plain integers
    np.testing.assert_array_equal(dd.bincount(X), np.bincount(X))
    assert dd.bincount(X).dtype == np.bincount(X).dtype


def test_bincount_refuses_what_it_cannot_count_or_differentiate():
    w = dd.Dual(W, np.ones_like(W))
    with pytest.raises(TypeError, match="traced x: the counts are piecewise constant.*weights="):
        np.bincount(dd.Dual(X.astype(float), np.ones(X.size)))
    with pytest.raises(ValueError, match="no negative elements"):
        np.bincount(np.array([-1, 0]), weights=dd.Dual(np.ones(2), np.ones(2)))
    with pytest.raises(ValueError, match="must be a 1-d array"):
        np.bincount(X.reshape(1, -1), weights=w)
    with pytest.raises(TypeError, match="must hold integers"):
        np.bincount(X.astype(float), weights=w)
    with pytest.raises(ValueError, match="weights must be 1-d with the length of x"):
        np.bincount(X[:3], weights=w)
    with pytest.raises(ValueError, match="minlength must not be negative"):
        np.bincount(X, weights=w, minlength=-1)
    with pytest.raises(TypeError, match="weights must be real"):
        np.bincount(X, weights=dd.Dual(W + 0j, np.ones(X.size, complex)))


# -- np.histogram ---------------------------------------------------------------------------------

A = RNG.normal(size=40)
WA = RNG.normal(size=40)
EDGES = np.array([-3.0, -1.0, -0.25, 0.0, 0.5, 2.0])
BINS = [("count", 6, None), ("range", 5, (-1.0, 1.5)), ("edges", EDGES, None),
        ("list", [-1.0, 0.0, 1.0], None)]


def _membership(a, bins, limits):
    """J[j, i] = [sample i in bin j], from numpy's histogram of sample i alone (same edges)."""
    edges = np.histogram_bin_edges(a, bins, limits)
    return np.stack([np.histogram(a[i:i + 1], edges)[0] for i in range(a.size)], axis=1).astype(float)


def _values_edges_and_membership(histogram, sample, bins, limits, w, membership):
    """histogram's values and edges are numpy's bit for bit, its Jacobian (both modes) the
    membership matrix that ``membership(edges)`` reads off numpy."""
    hist, edges = histogram(sample, bins, limits, weights=dd.Dual(w, np.ones_like(w)))[:2]
    want, want_edges = histogram(sample, bins, limits, weights=w)[:2]
    _bitwise(hist, want)
    np.testing.assert_equal(edges, want_edges)
    J = _modes_agree(lambda v: histogram(sample, bins, limits, weights=v)[0], w, RNG)
    np.testing.assert_array_equal(J, membership(want_edges))


@pytest.mark.parametrize("name, bins, rng", BINS, ids=[b[0] for b in BINS])
def test_histogram_values_are_numpys_and_its_jacobian_the_membership(name, bins, rng):
    _values_edges_and_membership(np.histogram, A, bins, rng, WA, lambda edges: _membership(A, edges, None))


@pytest.mark.parametrize("name, bins, rng", BINS, ids=[b[0] for b in BINS])
def test_histogram_density_against_complex_step_to_second_order(name, bins, rng):
    # numpy's histogram takes complex weights: the complex step goes through numpy itself
    f = lambda w: np.histogram(A, bins, rng, weights=w, density=True)[0]  # noqa: E731
    _bitwise(f(dd.Dual(WA, np.ones_like(WA))), f(WA))
    np.testing.assert_allclose(_modes_agree(f, WA, RNG), complex_step_jacobian(f, WA), rtol=1e-12)
    loss = lambda w: np.sum(f(w) ** 2 * np.arange(1.0, 1.0 + np.size(f(WA))))  # noqa: E731
    np.testing.assert_allclose(dd.hessian(loss, WA), hessian_by_differences(loss, WA),
                               rtol=1e-5, atol=1e-5 * np.abs(dd.hessian(loss, WA)).max())


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
@pytest.mark.parametrize("bins", [7, EDGES], ids=["count", "edges"])
def test_histogram_keeps_numpys_dtypes(dtype, bins):
    w = (WA * (1 + 0.5j) if dtype is np.complex128 else WA).astype(dtype)
    for density in (False, True):
        got = np.histogram(A, bins, weights=dd.Dual(w, np.ones_like(w)), density=density)[0]
        _bitwise(got, np.histogram(A, bins, weights=w, density=density)[0])
    if dtype is np.float32:
        g = dd.grad(lambda w: np.sum(np.histogram(A, bins, weights=w)[0]), w)
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, np.sum(_membership(A, bins, None), axis=0))


def test_histogram_over_numpys_blocks_is_numpys_bit_for_bit():
    # numpy sums 65536 samples at a time and adds the blocks' sums: so must the composite
    a, w = RNG.normal(size=70000), RNG.normal(size=70000)
    for bins in (11, np.linspace(-4, 4, 9)):
        t = RNG.normal(size=w.size)
        got = np.histogram(a, bins, weights=dd.Dual(w, t))
        _bitwise(got[0], np.histogram(a, bins, weights=w)[0])
        np.testing.assert_allclose(got[0].tangent, np.histogram(a, bins, weights=t)[0], rtol=1e-9, atol=1e-9)


def test_histogram_of_a_2d_sample_empty_sample_and_samples_on_the_edges():
    a, w = A.reshape(5, 8), WA.reshape(5, 8)
    _bitwise(np.histogram(a, 4, weights=dd.Dual(w, np.ones_like(w)))[0], np.histogram(a, 4, weights=w)[0])
    g = dd.grad(lambda w: np.histogram(a, 4, weights=w)[0][-1], w)
    np.testing.assert_array_equal(g, _membership(A, 4, None)[-1].reshape(5, 8))
    # samples exactly on edges: the last bin is closed, the others half-open, as numpy's
    on = np.array([0.0, 1.0, 2.0, 3.0, 3.0, -1.0, 4.0])
    f = lambda w: np.histogram(on, [0.0, 1.0, 2.0, 3.0], weights=w)[0]  # noqa: E731
    np.testing.assert_array_equal(dd.jacobian(f, np.ones(on.size)), _membership(on, [0.0, 1.0, 2.0, 3.0], None))
    for bins in (3, [0.0, 1.0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for density in (False, True):
                got = np.histogram(np.zeros(0), bins, weights=dd.Dual(np.zeros(0), np.zeros(0)), density=density)[0]
                np.testing.assert_array_equal(got.primal, np.histogram(np.zeros(0), bins, weights=np.zeros(0), density=density)[0])
        assert dd.grad(lambda w: np.sum(np.histogram(np.zeros(0), bins, weights=w)[0]), np.zeros(0)).shape == (0,)


def test_histogram_refuses_traced_positions_and_bad_weights():
    w = dd.Dual(WA, np.ones_like(WA))
    with pytest.raises(TypeError, match="histogram of a traced a: the counts are piecewise constant.*weights="):
        np.histogram(dd.Dual(A, np.ones_like(A)))
    with pytest.raises(TypeError, match="histogram of a traced range"):
        np.histogram(A, 3, range=(dd.Dual(0.0, 1.0), 1.0), weights=w)
    with pytest.raises(TypeError, match="histogram of a traced bins"):
        np.histogram(A, dd.Dual(EDGES, np.ones_like(EDGES)), weights=WA)
    with pytest.raises(ValueError, match="weights must have the shape of the sample"):
        np.histogram(A[:5], 3, weights=w)
    with pytest.raises(TypeError, match="not supported for weighted data"):  # numpy's own error
        np.histogram(A, "auto", weights=w)
    with pytest.raises(ValueError, match="monotonically"):
        np.histogram(A, [1.0, 0.0], weights=w)


# -- np.histogram2d and np.histogramdd ------------------------------------------------------------

S = RNG.normal(size=(30, 3))
WS = RNG.normal(size=30)
DD_BINS = [("counts", (3, 2, 4), None), ("range", 3, [(-1, 1), (-2, 0.5), (0, 2)]),
           ("edges", [np.array([-2.0, 0.0, 2.0]), 2, np.array([-1.0, -0.5, 0.3, 1.0])], None)]


def _cell_membership(sample, edges):
    """J[..., i] = numpy's histogramdd of sample i alone on the same edges."""
    return np.stack([np.histogramdd(sample[i:i + 1], edges)[0] for i in range(len(sample))], axis=-1)


@pytest.mark.parametrize("name, bins, rng", DD_BINS, ids=[b[0] for b in DD_BINS])
def test_histogramdd_values_and_derivatives(name, bins, rng):
    _values_edges_and_membership(np.histogramdd, S, bins, rng, WS, lambda edges: _cell_membership(S, edges))
    density = lambda w: np.histogramdd(S, bins, rng, weights=w, density=True)[0]  # noqa: E731
    _bitwise(density(dd.Dual(WS, np.ones_like(WS))), density(WS))
    np.testing.assert_allclose(_modes_agree(density, WS, RNG), central_difference_jacobian(density, WS),
                               rtol=1e-7, atol=1e-7)
    loss = lambda w: np.sum(density(w) ** 2)  # noqa: E731
    H = dd.hessian(loss, WS)
    np.testing.assert_allclose(H, central_difference_jacobian(lambda w: dd.grad(loss, w), WS),
                               rtol=1e-6, atol=1e-6 * np.abs(H).max())


def test_histogram2d_as_numpy_with_its_bins_spellings():
    x, y = S[:, 0], S[:, 1]
    for bins in (4, (2, 3), [-1.0, 0.0, 1.0, 2.0], [np.array([-1.0, 1.0]), 3]):
        hist, xe, ye = np.histogram2d(x, y, bins, weights=dd.Dual(WS, np.ones_like(WS)))
        want = np.histogram2d(x, y, bins, weights=WS)
        _bitwise(hist, want[0])
        np.testing.assert_array_equal(xe, want[1])
        np.testing.assert_array_equal(ye, want[2])
        J = _modes_agree(lambda w: np.histogram2d(x, y, bins, weights=w, density=True)[0], WS, RNG)
        np.testing.assert_allclose(J, central_difference_jacobian(
            lambda w: np.histogram2d(x, y, bins, weights=w, density=True)[0], WS), rtol=1e-7, atol=1e-7)


def test_histogramdd_float32_sequence_sample_and_errors():
    w32 = WS.astype(np.float32)
    got = np.histogramdd([S[:, 0], S[:, 1]], 3, weights=dd.Dual(w32, np.ones_like(w32)))[0]
    _bitwise(got, np.histogramdd([S[:, 0], S[:, 1]], 3, weights=w32)[0])  # float64, as numpy's
    assert dd.grad(lambda w: np.sum(np.histogramdd(S, 2, weights=w)[0]), w32).dtype == np.float32
    with pytest.raises(TypeError, match="histogramdd of a traced sample.*weights="):
        np.histogramdd(dd.Dual(S, np.ones_like(S)), 2)
    with pytest.raises(TypeError, match="histogram2d of a traced x"):
        np.histogram2d(dd.Dual(S[:, 0], np.ones(30)), S[:, 1], weights=WS)
    with pytest.raises(ValueError, match="one entry per sample"):
        np.histogramdd(S, 2, weights=dd.Dual(WS[:4], np.ones(4)))
    with pytest.raises(ValueError, match="dimension of bins"):  # numpy's own check
        np.histogramdd(S, (2, 2), weights=dd.Dual(WS, np.ones_like(WS)))


def test_histogram_refuses_weights_where_numpys_bins_disagree_with_its_edges(monkeypatch):
    # numpy finds equal-width bins by arithmetic; a disagreement must not move a weight silently
    from dualdiff.rules import histograms
    monkeypatch.setattr(histograms, "_bin_of", lambda sample, edges: np.zeros(sample.size, np.intp))
    with pytest.raises(ValueError, match="disagree with its edges"):
        np.histogram(A, 4, weights=dd.Dual(WA, np.ones_like(WA)))


# -- np.logaddexp.reduce / accumulate, np.logaddexp2.reduce: numpy's sequential fold ----------

L = RNG.normal(size=(3, 4, 5)) * 4
FOLDS = [(np.logaddexp, np.exp, 1.0), (np.logaddexp2, np.exp2, np.log(2.0))]
LAYOUTS = [("C", lambda x: x), ("T", lambda x: x.T), ("F", np.asfortranarray),
           ("reversed", lambda x: x[::-1, :, ::2])]


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay[0] for lay in LAYOUTS])
@pytest.mark.parametrize("ufunc", [np.logaddexp, np.logaddexp2])
def test_fold_values_are_numpys_bit_for_bit(ufunc, layout):
    x = layout[1](L)
    for axis in (0, 1, -1, None, (0, 2), (2, 0), ()):
        for keepdims in (False, True):
            _bitwise(ufunc.reduce(dd.Dual(x, np.ones_like(x)), axis=axis, keepdims=keepdims),
                     ufunc.reduce(x, axis=axis, keepdims=keepdims))
    for axis in (0, 1, 2, -1):
        _bitwise(ufunc.accumulate(dd.Dual(x, np.ones_like(x)), axis=axis), ufunc.accumulate(x, axis=axis))
    _bitwise(ufunc.reduce(dd.Dual(x, np.ones_like(x)), initial=1.5), ufunc.reduce(x, initial=1.5))


@pytest.mark.parametrize("ufunc, power, log_base", FOLDS, ids=["logaddexp", "logaddexp2"])
def test_fold_derivatives_against_closed_forms_to_second_order(ufunc, power, log_base):
    x = L[0, 0]
    out = ufunc.reduce(x)
    p = power(x - out)  # ∂out/∂xᵢ: the softmax in the ufunc's base
    np.testing.assert_allclose(_modes_agree(ufunc.reduce, x, RNG), p, rtol=1e-13)
    np.testing.assert_allclose(dd.hessian(ufunc.reduce, x), log_base * (np.diag(p) - np.outer(p, p)),
                               rtol=1e-10, atol=1e-14)
    # running fold: ∂out_i/∂x_j = base**(x_j - out_i) for j <= i
    running = ufunc.accumulate(x)
    want = np.tril(power(x[None, :] - running[:, None]))
    np.testing.assert_allclose(_modes_agree(ufunc.accumulate, x, RNG), want, rtol=1e-13, atol=1e-300)
    # along an axis of a matrix, with numpy's own reduce under central differences
    f = lambda z: ufunc.reduce(z, axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(_modes_agree(f, L[0], RNG), central_difference_jacobian(f, L[0]),
                               rtol=1e-7, atol=1e-8)
    loss = lambda z: np.sum(ufunc.accumulate(z, axis=0) ** 2)  # noqa: E731
    H = dd.hessian(loss, L[:, 0, :2])
    np.testing.assert_allclose(H, central_difference_jacobian(lambda z: dd.grad(loss, z), L[:, 0, :2]),
                               rtol=1e-6, atol=1e-7)


def test_fold_float32_empty_0d_infinities_and_errors():
    x32 = L[0].astype(np.float32)
    _bitwise(np.logaddexp.reduce(dd.Dual(x32, np.ones_like(x32)), axis=1), np.logaddexp.reduce(x32, axis=1))
    assert dd.grad(lambda z: np.sum(np.logaddexp2.accumulate(z, axis=1)), x32).dtype == np.float32
    empty = np.zeros((0, 3))
    _bitwise(np.logaddexp.reduce(dd.Dual(empty, empty)), np.logaddexp.reduce(empty))  # the identity, -inf
    assert dd.grad(lambda z: np.sum(np.exp(np.logaddexp.reduce(z))), empty).shape == (0, 3)
    _bitwise(np.logaddexp.accumulate(dd.Dual(empty, empty)), empty)
    _bitwise(np.logaddexp.reduce(dd.Dual(np.float64(2.0), 1.0), axis=None), np.float64(2.0))
    # a -inf term (a zero probability) gets no derivative and leaves the others' alone
    g = dd.grad(np.logaddexp.reduce, np.array([0.0, -np.inf, 0.0]))
    np.testing.assert_array_equal(g, [0.5, 0.0, 0.5])
    with pytest.raises(TypeError, match="where="):
        np.logaddexp.reduce(dd.Dual(L, L), where=L > 0)
    with pytest.raises(TypeError, match="out="):
        np.logaddexp.accumulate(dd.Dual(L, L), out=np.empty_like(L))
    with pytest.raises(TypeError, match="cannot accumulate on a scalar"):  # numpy's own check
        np.logaddexp.accumulate(dd.Dual(2.0, 1.0))
    with pytest.raises(np.exceptions.AxisError):
        np.logaddexp2.reduce(dd.Dual(L, L), axis=3)


# -- np.pad's modes maximum, minimum, mean, median and linear_ramp ---------------------------

P = RNG.normal(size=(3, 4, 5))
PAD_CASES = [  # (mode, keyword arguments, pad_width)
    ("maximum", {}, 1), ("maximum", {"stat_length": 2}, (1, 2)),
    ("minimum", {"stat_length": ((1, 2), (3, 1), (1, 9))}, ((2, 3), (1, 1), (0, 4))),
    ("mean", {}, ((0, 0), (2, 1), (3, 0))), ("mean", {"stat_length": (1, 3)}, 2),
    ("mean", {"stat_length": 1.6}, (1, 2)),
    ("median", {"stat_length": 3}, ((2, 3), (1, 1), (0, 4))), ("median", {}, 1),
    ("linear_ramp", {}, (1, 2)), ("linear_ramp", {"end_values": 2.5}, ((2, 3), (1, 1), (0, 4))),
    ("linear_ramp", {"end_values": ((1.5, 2), (3, -1), (0, 4))}, ((0, 0), (2, 1), (3, 0))),
    ("linear_ramp", {"end_values": (1, 3)}, 2),
]
PAD_IDS = [f"{mode}-{i}" for i, (mode, _, _) in enumerate(PAD_CASES)]


@pytest.mark.parametrize("mode, kw, width", PAD_CASES, ids=PAD_IDS)
def test_pad_values_are_numpys_bit_for_bit(mode, kw, width):
    for x in (P, P.astype(np.float32), P[:, ::-1].T):
        _bitwise(np.pad(dd.Dual(x, np.ones_like(x)), width, mode=mode, **kw), np.pad(x, width, mode=mode, **kw))


@pytest.mark.parametrize("mode, kw, width", PAD_CASES, ids=PAD_IDS)
def test_pad_derivatives_against_numpy_to_second_order(mode, kw, width):
    x = P[:2, :3, :4]
    f = lambda z: np.pad(z, width, mode=mode, **kw)  # noqa: E731
    J = _modes_agree(f, x, RNG)
    # mean and linear_ramp are linear and complex-analytic through numpy's own pad; max, min and
    # median are piecewise linear, so central differences through numpy are exact up to rounding
    if mode in ("mean", "linear_ramp"):
        np.testing.assert_allclose(J, complex_step_jacobian(f, x), rtol=1e-13, atol=1e-15)
    else:
        np.testing.assert_allclose(J, central_difference_jacobian(f, x), rtol=1e-8, atol=1e-9)
    # a smooth loss of the padded array: H = Jᵀ diag(−w sin(pad x)) J, with the oracle's J
    w = RNG.normal(size=np.shape(f(x)))
    loss = lambda z: np.sum(w * np.sin(f(z)))  # noqa: E731
    Jflat = central_difference_jacobian(f, x).reshape(-1, x.size)
    want = Jflat.T @ ((-w * np.sin(f(x))).reshape(-1, 1) * Jflat)
    np.testing.assert_allclose(dd.hessian(loss, x).reshape(x.size, x.size), want, rtol=1e-7, atol=1e-8)


def test_pad_modes_float32_0d_empty_and_errors():
    x32 = P[0].astype(np.float32)
    for mode in ("maximum", "mean", "median", "linear_ramp"):
        assert dd.grad(lambda z: np.sum(np.pad(z, 2, mode=mode)), x32).dtype == np.float32
        zero_d = np.pad(dd.Dual(np.float64(2.0), 1.0), 3, mode=mode)
        _bitwise(zero_d, np.pad(np.float64(2.0), 3, mode=mode))
        empty = np.zeros((0, 3))
        _bitwise(np.pad(dd.Dual(empty, empty), ((0, 0), (1, 2)), mode=mode),
                 np.pad(empty, ((0, 0), (1, 2)), mode=mode))
        with pytest.raises(ValueError, match="can't extend empty axis 0"):
            np.pad(dd.Dual(empty, empty), 1, mode=mode)
    # a stat_length of 0: numpy's mean and median are nan (with its warning); max and min refuse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for mode in ("mean", "median"):
            _bitwise(np.pad(dd.Dual(P[0], P[0]), 1, mode=mode, stat_length=0),
                     np.pad(P[0], 1, mode=mode, stat_length=0))
    # one element on the left by the mean: it alone gets the border's derivative
    g = dd.grad(lambda z: np.pad(z, (2, 0), mode="mean", stat_length=1)[0], np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])
    x = dd.Dual(P[0], np.ones_like(P[0]))
    with pytest.raises(ValueError, match="stat_length of 0 yields no value"):
        np.pad(x, 1, mode="maximum", stat_length=0)
    with pytest.raises(ValueError, match="stat_length cannot be negative"):
        np.pad(x, 1, mode="mean", stat_length=-1)
    with pytest.raises(TypeError, match="mode 'median' takes no end_values"):
        np.pad(x, 1, mode="median", end_values=1.0)
    with pytest.raises(TypeError, match="end_values must be plain numbers"):
        np.pad(x, 1, mode="linear_ramp", end_values=dd.Dual(1.0, 1.0))
    with pytest.raises(ValueError, match="one pair per axis"):
        np.pad(x, 1, mode="linear_ramp", end_values=np.ones((3, 2)))


# -- np.unwrap ---------------------------------------------------------------------------------

PHASE = np.cumsum(RNG.normal(size=(4, 30)) * 2, axis=1) % (2 * np.pi) - np.pi
UNWRAP_KW = [{}, {"axis": 0}, {"discont": 4.0}, {"period": 6}, {"period": np.float64(5.0)},
             {"discont": 1.0, "period": 3.0}]


@pytest.mark.parametrize("kw", UNWRAP_KW, ids=[str(k) for k in UNWRAP_KW])
def test_unwrap_values_are_numpys_and_its_derivative_the_identity(kw):
    for p in (PHASE, PHASE.astype(np.float32), PHASE.T):
        _bitwise(np.unwrap(dd.Dual(p, np.ones_like(p)), **kw), np.unwrap(p, **kw))
    p = PHASE[:2, :6]
    f = lambda z: np.unwrap(z, **kw)  # noqa: E731
    # the corrections are whole periods, constant near p (central differences through numpy)
    J = _modes_agree(f, p, RNG)
    np.testing.assert_allclose(J, central_difference_jacobian(f, p), rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(J.reshape(p.size, p.size), np.eye(p.size))
    # second order: Σ sin(u)² has the Hessian diag(2 cos 2u) at u = unwrap(p)
    H = dd.hessian(lambda z: np.sum(np.sin(f(z)) ** 2), p).reshape(p.size, p.size)
    np.testing.assert_allclose(H, np.diag(2 * np.cos(2 * np.unwrap(p, **kw)).ravel()), rtol=1e-12, atol=1e-12)


def test_unwrap_float32_empty_and_errors():
    assert dd.grad(lambda z: np.sum(np.unwrap(z)), PHASE.astype(np.float32)).dtype == np.float32
    for empty in (np.zeros(0), np.zeros((2, 0))):
        _bitwise(np.unwrap(dd.Dual(empty, empty)), np.unwrap(empty))
    _bitwise(np.unwrap(dd.Dual(np.array([1.0]), np.ones(1))), np.unwrap(np.array([1.0])))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        np.unwrap(dd.Dual(np.float64(1.0), 1.0))
    with pytest.raises(TypeError, match="period must be plain numbers"):
        np.unwrap(dd.Dual(PHASE, PHASE), period=dd.Dual(6.0, 1.0))
    with pytest.raises(TypeError, match="discont and period must be plain numbers"):
        dd.unwrap(PHASE, discont=dd.Dual(6.0, 1.0))
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        np.unwrap(dd.Dual(PHASE, PHASE), axis=2)


@pytest.mark.parametrize("n", [1, 3, 50, 1000])
@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (-1e-300, 1e-300), (1e8, 1e8 + 1), (-3.3, 7.1)])
def test_histogram_bins_of_samples_on_and_beside_every_edge_are_numpys(n, lo, hi):
    # the equal-width bins are found by arithmetic and corrected to the edges: on an edge, one
    # float either side of it, and the non-finite, each weight must land where numpy counts it
    edges = np.linspace(lo, hi, n + 1)
    a = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    w = RNG.normal(size=a.size)
    got = np.histogram(a, n, (lo, hi), weights=dd.Dual(w, np.ones_like(w)))[0]
    _bitwise(got, np.histogram(a, n, (lo, hi), weights=w)[0])
    J = dd.jacobian(lambda v: np.histogram(a, n, (lo, hi), weights=v)[0], w)
    np.testing.assert_array_equal(J, _membership(a, edges, None))
    with_nan = np.append(a, [np.nan, np.inf, -np.inf])
    g = dd.grad(lambda v: np.sum(np.histogram(with_nan, n, (lo, hi), weights=v)[0]), np.ones(with_nan.size))
    np.testing.assert_array_equal(g[-3:], 0.0)


# -- under dd.compile --------------------------------------------------------------------------

COMPILED = [
    ("histogram", lambda w: np.sum(np.histogram(A, 5, weights=w)[0] ** 2), WA),
    ("histogram-edges-density", lambda w: np.sum(np.histogram(A, EDGES, weights=w, density=True)[0] ** 2), WA),
    ("bincount", lambda w: np.sum(np.bincount(X, w) ** 2), W),
    ("histogramdd", lambda w: np.sum(np.histogramdd(S, 3, weights=w)[0] ** 2), WS),
    ("logaddexp.reduce", lambda z: np.sum(np.logaddexp.reduce(z, axis=(0, 2))), L),
    ("logaddexp2.accumulate", lambda z: np.sum(np.logaddexp2.accumulate(z, axis=1) ** 2), L),
    ("pad-median", lambda z: np.sum(np.pad(z, 2, mode="median", stat_length=3) ** 2), P),
    ("pad-linear_ramp", lambda z: np.sum(np.pad(z, (1, 2), mode="linear_ramp", end_values=0.5) ** 2), P),
    ("unwrap", lambda z: np.sum(np.sin(np.unwrap(3 * z)) * np.arange(z.shape[-1])), PHASE),
]


@pytest.mark.parametrize("name, f, x", COMPILED, ids=[c[0] for c in COMPILED])
def test_compiled_gradients_are_the_eager_ones(name, f, x):
    # the bins, folds and corrections are recorded, so a second point gets its own
    compiled = dd.compile(dd.grad(f))
    for point in (x, x * 1.37 + 0.1):
        if name.startswith("logaddexp"):
            # eagerly the gradient is the log-sum-exp's softmax joined to numpy's value; the
            # recording cannot check that join, so it differentiates the fold: equal to rounding
            np.testing.assert_allclose(compiled(point), dd.grad(f, point), rtol=1e-13, atol=1e-16)
        else:
            np.testing.assert_array_equal(compiled(point), dd.grad(f, point))


def test_fold_reduce_joins_numpys_value_to_the_log_sum_exp_and_falls_back_to_the_fold(monkeypatch):
    from dualdiff import numpy_dispatch
    from dualdiff.rules import folds
    x = L[0]
    softmax = np.exp(x - np.logaddexp.reduce(x, axis=1, keepdims=True))
    loss = lambda z: np.sum(np.logaddexp.reduce(z, axis=1))  # noqa: E731
    joined = dd.grad(loss, x)
    np.testing.assert_allclose(joined, softmax, rtol=1e-13)
    # an infinity cannot be joined: the fold gives numpy's value (no warning) and a derivative
    inf = np.array([[0.0, np.inf, 1.0], [-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 0.0]])
    assert folds.with_value(np.array([np.inf]), dd.Dual(np.array([np.inf]), np.ones(1))) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _bitwise(np.logaddexp.reduce(dd.Dual(inf, np.ones_like(inf)), axis=1), np.logaddexp.reduce(inf, axis=1))
        np.testing.assert_array_equal(dd.grad(lambda z: np.logaddexp.reduce(z[2]), inf), [[0.0] * 3] * 2 + [[0.5, 0.0, 0.5]])
    # where the join is refused (here: always), the fold gives numpy's value and the same derivative
    running = lambda z: np.sum(np.logaddexp.accumulate(z, axis=1) ** 2)  # noqa: E731
    joined_running = dd.grad(running, x)
    monkeypatch.setattr(numpy_dispatch, "_with_value", lambda value, smooth, ulps: None)
    _bitwise(np.logaddexp.reduce(dd.Dual(x, np.ones_like(x)), axis=1), np.logaddexp.reduce(x, axis=1))
    np.testing.assert_allclose(dd.grad(loss, x), joined, rtol=1e-13)
    _bitwise(np.logaddexp.accumulate(dd.Dual(x, np.ones_like(x)), axis=1), np.logaddexp.accumulate(x, axis=1))
    np.testing.assert_allclose(dd.grad(running, x), joined_running, rtol=1e-12)


def test_running_fold_refuses_to_join_an_underflowed_prefix():
    # exp(-800 - 1) underflows: the running log-sum-exp's first entry is -inf, not -800, so the
    # join is refused and the fold runs: numpy's value, the exact derivative, no warning
    from dualdiff.rules import folds
    x = np.array([-800.0, 0.0, 1.0])
    with np.errstate(all="ignore"):
        assert folds.with_value(np.logaddexp.accumulate(x), np.log(np.cumsum(np.exp(x - 1.0))) + 1.0) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _bitwise(np.logaddexp.accumulate(dd.Dual(x, np.ones(3))), np.logaddexp.accumulate(x))
        J = dd.jacobian(np.logaddexp.accumulate, x)
    out = np.logaddexp.accumulate(x)
    below = np.tril(np.ones((3, 3), bool))
    np.testing.assert_allclose(J, np.where(below, np.exp(np.where(below, x[None, :] - out[:, None], 0.0)), 0.0),
                               rtol=1e-14)


def test_histogram_bin_edges_are_numpys_plain_edges_and_refuse_a_traced_sample():
    w = dd.Dual(WA, np.ones_like(WA))
    for bins in (6, EDGES):
        np.testing.assert_array_equal(np.histogram_bin_edges(A, bins, weights=w), np.histogram_bin_edges(A, bins))
    with pytest.raises(TypeError, match="not supported for weighted data"):  # numpy's own check
        np.histogram_bin_edges(A, "auto", weights=w)
    with pytest.raises(TypeError, match="histogram_bin_edges of a traced sample"):
        np.histogram_bin_edges(dd.Dual(A, np.ones_like(A)), 5)


def test_linspace_reads_a_python_number_as_weak_as_numpy_does():
    # (linear_ramp's ramps are dd.linspace from a Python end value to float32 edges)
    stop = np.array([1.0, 2.0], np.float32)
    for args in [(0.0, stop), (np.float32(0.1), 0.7), (0, 1), (0.1, 0.7), (np.float32(0.1), np.float64(0.7)),
                 (1, stop), ([0.0, 1.0], [2.0, 3.0]), ([0, 1], 5)]:
        for kw in [{}, {"endpoint": False}, {"num": 1}]:
            _bitwise(dd.linspace(*args, **{"num": 5, **kw}), np.linspace(*args, **{"num": 5, **kw}))
    ramp = np.linspace(0.5, dd.Dual(stop, np.ones_like(stop)), 4)
    _bitwise(ramp, np.linspace(0.5, stop, 4))
    assert ramp.tangent.dtype == np.float32
