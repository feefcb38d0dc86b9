"""Regression tests for what the review of this session's numpy coverage found.

Each test compares with an independent answer (numpy's own call, bit for bit, where the code
claims numpy's bits; closed forms or central differences for derivatives) and failed before
its fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dualdiff as dd

RNG = np.random.default_rng(6_2026)
X = RNG.uniform(0.5, 1.5, size=(3, 4, 5))
MASK = RNG.random((3, 4, 5)) < 0.6


def _bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), (a, b)


def _value(f, x):
    """f's value on a traced x (a forward pass)."""
    return dd.jvp(f, x, np.ones_like(x))[0]


# --- the nan reductions with where= under dd.compile ------------------------------------------

@pytest.mark.parametrize("name", ["nanmean", "nanvar", "nanstd"])
def test_nan_reductions_with_where_compile(name):
    # they counted the mask with np.sum(..., dtype=np.intp), refused on a recorded value
    x = X.copy()
    x[0, 0, 0] = np.nan
    f = lambda x: getattr(np, name)(x, axis=1, where=MASK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _bits(dd.compile(f)(x), f(x))
        g = lambda x: dd.grad(lambda z: np.nansum(f(z)), x)
        _bits(dd.compile(g)(x), g(x))


# --- np.prod / np.nanprod with initial=: numpy's bits and dtype --------------------------------

@pytest.mark.parametrize("fn", [np.prod, np.nanprod, np.multiply.reduce], ids=["prod", "nanprod", "multiply.reduce"])
@pytest.mark.parametrize("axis", [None, 1, -1, (0, 2)])
@pytest.mark.parametrize("layout", ["C", "F", "reversed"])
def test_prod_with_initial_is_numpys(fn, axis, layout):
    # numpy multiplies initial in first, (c·x₀)·x₁···; prod(x)·c rounds differently
    x = {"C": X, "F": np.asfortranarray(X), "reversed": X[::-1, :, ::-1]}[layout]
    for kw in ({}, {"where": MASK[::-1] if layout == "reversed" else MASK}):
        f = lambda x: fn(x, axis=axis, initial=3.1, **kw)
        _bits(_value(f, x), f(x))
        _bits(dd.compile(f)(x), f(x))


def test_prod_initial_keeps_float32():
    # a float64 initial is cast to the reduction's dtype by numpy; it widened the result before
    x = X.astype(np.float32)
    for fn in (np.prod, np.nanprod):
        f = lambda x: fn(x, axis=1, initial=np.float64(3.1))
        _bits(_value(f, x), f(x))


def test_prod_initial_derivatives():
    # closed form: d/dx_i (c · Π_{j selected} x_j) = c · Π_{j selected, j ≠ i} x_j, 0 outside
    x, m = X[0], MASK[0]
    g = dd.grad(lambda x: np.sum(np.prod(x, axis=1, where=m, initial=1.7)), x)
    expected = np.zeros_like(x)
    for r in range(x.shape[0]):
        for i in np.flatnonzero(m[r]):
            expected[r, i] = 1.7 * np.prod(x[r][m[r] & (np.arange(x.shape[1]) != i)])
    np.testing.assert_allclose(g, expected, rtol=1e-14)
    H = dd.hessian(lambda x: np.sum(np.prod(x, axis=1, where=m, initial=1.7)), x)
    H_ref = dd.hessian(lambda x: 1.7 * np.sum(np.prod(np.where(m, x, 1.0), axis=1)), x)
    np.testing.assert_allclose(H, H_ref, rtol=1e-13, atol=1e-15)
    # an empty product is initial, with derivative 0
    _bits(_value(lambda x: np.prod(x[:0], axis=0, initial=2.5), X), np.full((4, 5), 2.5))


# --- logaddexp's partials where out is an infinite argument -----------------------------------

@pytest.mark.parametrize("ufunc, base", [(np.logaddexp, np.e), (np.logaddexp2, 2.0)])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_logaddexp_reduce_over_log_zero_terms(ufunc, base, mode):
    # log-probabilities with log 0 = -inf terms: the fold's first step logaddexp(-inf, -inf)
    # had nan partials, which spread (nan · 0) to the finite terms' derivatives. Closed form:
    # the softmax (in base 2 for logaddexp2) of x, 0 at the -inf terms.
    x = np.array([-np.inf, -np.inf, 0.5, -1.0, -np.inf, 2.0])
    finite = np.isfinite(x)
    p = np.zeros_like(x)
    p[finite] = base ** x[finite] / np.sum(base ** x[finite])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no nan made on the way
        g = dd.grad(lambda x: ufunc.reduce(x), x, mode=mode)
    np.testing.assert_allclose(g, p, rtol=1e-15, atol=0)
    # second order: the Hessian of the finite terms is ln(base)·(diag p − p pᵀ), 0 elsewhere
    H = dd.hessian(lambda x: ufunc.reduce(x), x)
    np.testing.assert_allclose(H, np.log(base) * (np.diag(p) - np.outer(p, p)), rtol=1e-13, atol=1e-15)


def test_logaddexp_at_equal_infinities():
    # where both arguments are the same infinity the partials are 1/2 each (equal, summing to
    # 1 as logaddexp(x + c, y + c) = logaddexp(x, y) + c requires); 1 for a lone +inf
    for x, expected in (([-np.inf, -np.inf], [0.5, 0.5]), ([np.inf, np.inf], [0.5, 0.5]),
                        ([np.inf, 3.0], [1.0, 0.0]), ([-np.inf, 3.0], [0.0, 1.0])):
        for mode in ("reverse", "forward"):
            g = dd.grad(lambda z: np.logaddexp(z[0], z[1]), np.array(x), mode=mode)
            np.testing.assert_array_equal(g, expected)
    x32 = np.array([-np.inf, -np.inf, 1.0], np.float32)
    g = dd.grad(lambda x: np.logaddexp.reduce(x), x32)
    assert g.dtype == np.float32 and np.array_equal(g, [0.0, 0.0, 1.0])


# --- np.vecmat of a strided real vector: numpy's bits -----------------------------------------

@pytest.mark.skipif(not hasattr(np, "vecmat"), reason="numpy >= 2.2")
def test_vecmat_of_a_strided_real_vector_is_numpys():
    # a real u was conjugated (copied, contiguous) first; numpy's loop over the strided u
    # rounds differently for some lengths (3 of them below 40 differ)
    rng = np.random.default_rng(3)
    for n in range(1, 40):
        B, U = rng.normal(size=(n, 6)), rng.normal(size=(n, 3))
        f = lambda u: np.vecmat(u[:, 0], B)
        _bits(_value(f, U), f(U))
        _bits(dd.compile(f)(U), f(U))
    # the derivative: vecmat(u, B) is uᵀB, so J = Bᵀ
    u = rng.normal(size=4)
    np.testing.assert_array_equal(dd.jacobian(lambda u: np.vecmat(u, B[:4]), u), B[:4].T)


# --- dd.special.logsumexp with return_sign on complex values; integer input -------------------

def test_logsumexp_return_sign_of_complex_values_is_scipys():
    # scipy gives (log|Σ b·eᵃ|, Σ/|Σ|); this returned the complex log (its angle doubled where
    # b was given) and a sign of 1.0. Closed form from numpy: s = Σ b·eᵃ.
    rng = np.random.default_rng(11)
    a = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
    for b in (None, rng.normal(size=(3, 4)), rng.normal(size=(3, 4)) + 1j):
        s = np.sum(np.exp(a) * (1.0 if b is None else b), axis=1)
        kw = {} if b is None else {"b": b}
        out, sign = dd.special.logsumexp(a, axis=1, return_sign=True, **kw)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, np.log(np.abs(s)), rtol=1e-14)
        np.testing.assert_allclose(sign, s / np.abs(s), rtol=1e-14)
        # the real part's derivative: d log|s| = Re(ds / s), against central differences
        v = rng.normal(size=a.shape) + 1j * rng.normal(size=a.shape)
        g = lambda a: np.log(np.abs(np.sum(np.exp(a) * (1.0 if b is None else b), axis=1)))
        fd = (g(a + 1e-6 * v) - g(a - 1e-6 * v)) / 2e-6
        tangent = dd.jvp(lambda a: dd.special.logsumexp(a, axis=1, return_sign=True, **kw)[0], a, v)[1]
        np.testing.assert_allclose(tangent, fd, rtol=1e-7, atol=1e-9)


def test_logsumexp_sign_of_nan_is_nan():
    assert np.isnan(dd.special.logsumexp([np.nan, 1.0], return_sign=True)[1])


@pytest.mark.parametrize("x", [np.arange(3), [1, 2, 3], np.arange(6).reshape(2, 3), 4],
                         ids=["ints", "list", "2d", "int"])
def test_softmax_family_of_integers(x):
    # scipy (and numpy's exp) take integers as float64; the shift's initial=-inf overflowed
    e = np.exp(np.asarray(x, float) - np.max(x))
    np.testing.assert_allclose(dd.special.softmax(x), e / np.sum(e), rtol=1e-15)
    np.testing.assert_allclose(dd.special.log_softmax(x), np.log(e / np.sum(e)), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(dd.special.logsumexp(x), np.log(np.sum(np.exp(np.asarray(x, float)))), rtol=1e-15)
    np.testing.assert_allclose(dd.logsumexp(x), np.log(np.sum(np.exp(np.asarray(x, float)))), rtol=1e-15)


# --- np.unwrap under dd.compile ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unwrap_compiles(dtype):
    # it wrote numpy's corrections with np.copyto, which a recording cannot hold
    rng = np.random.default_rng(12)
    p = np.cumsum(rng.normal(scale=2.5, size=(3, 20)), axis=1).astype(dtype)
    p[0, 3] = p[0, 2] + np.pi  # an exact half period: numpy's ambiguous boundary
    for kw in ({}, {"discont": 4.0}, {"period": 5.0, "axis": 0}):
        f = lambda p: np.unwrap(p, **kw)
        _bits(dd.compile(f)(p), f(p))
        g = lambda p: dd.grad(lambda z: np.sum(np.sin(np.unwrap(z, **kw))), p)
        _bits(dd.compile(g)(p), g(p))
        np.testing.assert_allclose(g(p), np.cos(np.unwrap(p, **kw)), rtol=1e-6 if dtype == np.float32 else 1e-15)


# --- np.pad's pad_width as numpy reads it -----------------------------------------------------

MODES = ["constant", "edge", "reflect", "symmetric", "wrap", "maximum", "mean", "median",
         "linear_ramp"]


@pytest.mark.parametrize("mode", MODES)
def test_pad_width_dict_and_refusals_as_numpy(mode):
    x = np.arange(1.0, 7.0).reshape(2, 3)
    # numpy >= 2.3 takes {axis: count or (before, after)}; it was int()'s TypeError on a dict
    if np.lib.NumpyVersion(np.__version__) >= "2.3.0":
        for width in ({0: 1}, {-1: (2, 1)}, {0: (0, 1), 1: 2}, {}):
            _bits(_value(lambda x: np.pad(x, width, mode=mode), x), np.pad(x, width, mode=mode))
    # numpy refuses a width that is no integer; it was truncated (1.5 padded by 1)
    for width in (1.5, ((1, 2), (0, 1.0)), np.uint8(2)):
        with pytest.raises(TypeError, match="pad_width"):
            np.pad(x, width, mode=mode)  # (numpy's own refusal, the oracle)
        with pytest.raises(TypeError, match="pad_width must be integers"):
            dd.jvp(lambda x: np.pad(x, width, mode=mode), x, x)
    with pytest.raises(ValueError, match="pad_width must be a count"):
        dd.jvp(lambda x: np.pad(x, [[1, 2, 3]], mode=mode), x, x)


@pytest.mark.parametrize("mode", MODES)
def test_pad_of_a_0d_value_is_the_value(mode):
    # numpy returns a 0-d array as it is; mode="constant" raised numpy's "zero-size array to
    # reduction operation minimum" from inside
    y, t = dd.jvp(lambda x: np.pad(x, 2, mode=mode), np.float64(3.0), 1.0)
    assert float(y) == float(np.pad(np.float64(3.0), 2, mode=mode)) and float(t) == 1.0


# --- weighted counts: numpy's refusals, said clearly --------------------------------------------

def test_histogram2d_of_unequal_lengths_is_refused_clearly():
    # numpy says "x and y must have the same length"; this raised numpy's inhomogeneous-array
    # message from building the sample
    w = np.ones(3)
    with pytest.raises(ValueError, match="x and y must have the same length"):
        np.histogram2d(np.arange(3.0), np.arange(2.0), weights=w)  # numpy's own, the oracle
    with pytest.raises(ValueError, match="x and y must have the same length"):
        dd.jvp(lambda w: np.histogram2d(np.arange(3.0), np.arange(2.0), weights=w)[0], w, w)


def test_bincount_minlength_refusals():
    w, x = np.ones(3), np.array([0, 2, 2])
    with pytest.raises(TypeError, match="use 0 instead of None"):  # numpy 2 refuses None
        dd.jvp(lambda w: np.bincount(x, weights=w, minlength=None), w, w)
    with pytest.raises(TypeError, match="minlength must be an integer, not float"):
        dd.jvp(lambda w: np.bincount(x, weights=w, minlength=2.0), w, w)
    _bits(_value(lambda w: np.bincount(x, weights=w, minlength=np.int64(5)), w),
          np.bincount(x, weights=w, minlength=5))


# --- np.trim_zeros of more than one dimension, with axis= (numpy >= 2.2) -----------------------

@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.2.0", reason="numpy >= 2.2")
def test_trim_zeros_nd_and_axis_as_numpy():
    # it refused n-d input and axis= (Python's "unexpected keyword argument")
    z = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 1.5, 0.0, 0.0], [0.0, 0.0, -2.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0]])
    for x in (z, z[1], z[0], z[None], np.zeros((0, 3)), np.float64(2.0)):
        for trim in ("fb", "f", "b"):
            for axis in (None, 0, -1, (0, -1), ()):
                if np.ndim(x) == 0 and axis not in (None, ()):
                    continue
                if np.ndim(x) == 1 and axis == (0, -1):
                    continue
                f = lambda x: np.trim_zeros(x, trim, axis=axis)
                _bits(_value(f, x), f(x))
    # the kept box's elements get their cotangent, the trimmed ones 0
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = dd.grad(lambda x: np.sum(np.trim_zeros(x) * w), z)
    want = np.zeros_like(z)
    want[1:3, 1:3] = w
    np.testing.assert_array_equal(g, want)
    with pytest.raises(ValueError, match="out of bounds"):
        dd.jvp(lambda x: np.trim_zeros(x, axis=0), np.float64(2.0), 1.0)


# --- small refusals and dtypes ----------------------------------------------------------------

def test_modf_of_complex_values_names_modf():
    # numpy refuses complex input to modf; the refusal named np.trunc, used inside
    with pytest.raises(TypeError, match="'modf'"):
        np.modf(np.ones(2) + 1j)  # numpy's own, the oracle
    with pytest.raises(TypeError, match="'modf' is not supported for complex"):
        dd.jvp(lambda x: np.modf(x)[0], np.ones(2) + 1j, np.ones(2) + 0j)


@pytest.mark.skipif(not hasattr(np, "astype"), reason="numpy >= 2.1")
def test_astype_device_checked_as_numpy():
    x = np.ones(2)
    with pytest.raises(ValueError, match="cpu"):
        np.astype(x, np.float32, device="gpu")  # numpy's own, the oracle
    with pytest.raises(ValueError, match='only "cpu" is allowed'):
        dd.jvp(lambda x: np.astype(x, np.float32, device="gpu"), x, x)
    _bits(_value(lambda x: np.astype(x, np.float32, device="cpu"), x), np.ones(2, np.float32))


def test_logsumexp_with_a_python_number_b_keeps_float32():
    # scipy reads b=0.5 as a weak scalar: float32 a gives float32; it gave float64
    a = np.array([0.5, 1.0, 2.0], np.float32)
    for b in (0.5, 2):
        want = np.log(np.sum(np.float32(b) * np.exp(a.astype(np.float64)))).astype(np.float32)
        got = dd.special.logsumexp(a, b=b)
        assert np.asarray(got).dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6)
        traced = _value(lambda a: dd.special.logsumexp(a, b=b), a)
        assert np.asarray(traced).dtype == np.float32


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="longdouble is double here")
def test_histogram_of_longdouble_weights_is_numpys():
    # numpy takes its equal-width path only for weights it can add as float64; longdouble ones
    # go through its cumulative sums (this took the equal-width path, and rounded otherwise)
    rng = np.random.default_rng(0)
    a, w = rng.normal(size=200), rng.normal(size=200).astype(np.longdouble)
    for density in (False, True):
        f = lambda w: np.histogram(a, bins=7, weights=w, density=density)[0]
        got, want = _value(f, w), f(w)  # (no tobytes: longdouble's padding bytes are arbitrary)
        assert got.dtype == want.dtype == np.longdouble and np.array_equal(got, want)


def test_linspace_takes_numpys_device():
    # numpy 2's device="cpu" was Python's "unexpected keyword argument"
    s = np.array([0.5, 2.0])
    f = lambda s: np.linspace(s[0], s[1], 5, device="cpu")
    _bits(_value(f, s), f(s))
    np.testing.assert_array_equal(dd.jacobian(f, s), np.stack([1 - np.linspace(0, 1, 5), np.linspace(0, 1, 5)], axis=1))
    with pytest.raises(ValueError, match='only "cpu" is allowed'):
        dd.jvp(lambda s: np.linspace(s[0], s[1], 5, device="gpu"), s, s)


# --- np.logaddexp.reduce / accumulate: the compiled derivative is the eager one ------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logaddexp_folds_compile_to_the_eager_derivative(dtype):
    # eager joined numpy's value to the log-sum-exp's derivative, compiled code folded step by
    # step: gradients one rounding apart. Now both join (the join's tests are guards under
    # dd.compile), and an input that cannot join (an infinity) is recorded again, as the fold.
    rng = np.random.default_rng(20)
    x = rng.uniform(0.5, 1.5, size=(4, 6)).astype(dtype)
    fs = [lambda x: np.sum(np.logaddexp.reduce(x, axis=1)),
          lambda x: np.logaddexp2.reduce(x, axis=None),
          lambda x: np.sum(np.logaddexp.accumulate(x, axis=0) ** 2),
          lambda x: np.sum(np.logaddexp2.accumulate(x, axis=1))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in fs:
            grad = dd.compile(lambda z: dd.grad(f, z))
            hess = dd.compile(lambda z: dd.hessian(f, z))
            for point in (x, np.where(x > 1.2, -np.inf, x).astype(dtype), x[::-1].copy(),
                          np.where(x > 1.4, np.inf, x).astype(dtype)):
                _bits(grad(point), dd.grad(f, point))
                _bits(hess(point), dd.hessian(f, point))
            _bits(dd.compile(f)(x), f(x))


# --- where= masks computed from the values, under dd.compile ------------------------------------

def test_where_mask_from_the_values_compiles():
    # under dd.compile, where=~np.isnan(x) (the refusal's own advice) is a recorded value, and
    # was refused as "a traced value"; the compiled code must recompute it on every call
    rng = np.random.default_rng(22)
    x = rng.uniform(0.5, 1.5, size=(4, 6))
    x[1, 2] = np.nan
    fs = [lambda x: np.sum(x, axis=1, where=x > 1),
          lambda x: np.mean(x, axis=1, where=~np.isnan(x)),
          lambda x: np.nanvar(x, axis=0, where=x < 1.3),
          lambda x: np.prod(x, axis=1, where=x > 1, initial=2.0),
          lambda x: np.max(x, axis=1, where=~np.isnan(x), initial=0.0),
          lambda x: x.std(where=~np.isnan(x))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in fs:
            compiled = dd.compile(f)
            grad = dd.compile(lambda z: dd.grad(lambda w: np.nansum(f(w)), z))
            for point in (x, x * 1.1, x[::-1].copy()):  # other masks on later calls
                _bits(compiled(point), f(point))
                _bits(grad(point), dd.grad(lambda w: np.nansum(f(w)), point))
    with pytest.raises(TypeError, match="not a traced value"):
        dd.jvp(lambda x: np.sum(x, where=x), np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="must be a boolean array"):
        dd.compile(lambda x: np.sum(x, where=x * 2))(np.ones(2))


def test_float16_mean_is_numpys():
    # numpy sums and divides float16 in float32 and rounds the mean once; dd.mean rounded the
    # sum to float16 first (np.mean, np.average, np.pad's mean mode)
    rng = np.random.default_rng(22)
    x = rng.uniform(0.5, 1.5, size=(4, 60)).astype(np.float16)
    for f in (lambda x: np.mean(x, axis=1), lambda x: np.mean(x), lambda x: x.mean(0),
              lambda x: np.average(x, axis=1), lambda x: np.pad(x, 2, mode="mean")):
        _bits(_value(f, x), f(x))
        _bits(dd.compile(f)(x), f(x))
    g = dd.grad(lambda x: np.mean(x), x)
    assert g.dtype == np.float16 and np.all(g == np.float16(1 / 240))


def test_weighted_counts_of_a_recorded_sample_say_dd_compile():
    # under dd.compile a sample computed from the values (np.argmax(x), dd.stop_gradient(x)) is
    # a recorded value: it was refused as "a traced" sample, whose advice (weights=,
    # dd.stop_gradient) is what the caller had written; eager code takes it
    x = np.random.default_rng(1).normal(size=(5, 3))
    for f in (lambda x: np.sum(np.bincount(np.argmax(x, axis=1), weights=x[:, 0], minlength=3)),
              lambda x: np.sum(np.histogram(dd.stop_gradient(x[:, 0]), bins=3, weights=x[:, 1])[0])):
        dd.grad(f, x)  # eager: fine
        with pytest.raises(TypeError, match="cannot be compiled by dd.compile"):
            dd.compile(lambda z: dd.grad(f, z))(x)
    with pytest.raises(TypeError, match="of a traced sample"):  # a traced one, as before
        dd.compile(lambda z: dd.grad(
            lambda x: np.sum(np.histogramdd([dd.stop_gradient(x[:, 0]), x[:, 1]], weights=x[:, 2])[0]), z))(x)


def test_trim_zeros_under_dd_compile_says_why_not():
    # it raised the staging's generic np.asarray refusal ("if this comes from inside a dualdiff
    # rule, that rule is not compilable yet")
    with pytest.raises(TypeError, match="trim_zeros: which elements are zeros"):
        dd.compile(lambda x: np.sum(np.trim_zeros(x)))(np.array([0.0, 1.0, 0.0]))
