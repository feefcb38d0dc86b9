"""autograd's and JAX's own gradient tests, re-expressed against dualdiff with our oracles.

tests/peer_cases.py lists what their suites differentiate (function, arguments, shapes, dtypes,
keyword arguments); tests/peer_checks.py checks each case in both modes and to second order
against central differences and the dot-product test. Every case must pass, or be one of the
refusals listed below, raising a TypeError or ValueError that says why and what to use instead
(never a wrong number, never Python's or numpy's generic message). Then the regressions this
survey found, each against an oracle independent of dualdiff.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.rules import elementwise

from oracles import central_difference_jacobian
from peer_cases import CASES
from peer_checks import check, refusals

# (case-name pattern, message pattern): what dualdiff refuses, on purpose, with its reason.
REFUSED = [
    (r"of a (list|tuple) of traced|np\.array|np\.asarray|np\.[rc]_|np\.int64",
     r"would drop its derivative.*(dd\.stack|np\.concatenate)"),
    (r"^pinv of low rank xᵀx \(5, [67]\)", r"rank-deficient; the pseudo-inverse is not differentiable"),
    (r"^(eigh|eigvalsh|svd|pinv)\b.*complex",
     r"of complex (matrices|values) is not supported"),
    (r"^norm nuc.*complex", r"ord='nuc' of complex matrices \(their singular values\) is not supported"),
    (r"^eigvals complex", r"the eigenvalues of a general matrix are complex"),
    (r"^eig(vals)?\b", r"the eigenvalues of a general matrix are complex"),
    (r"^svd \.S$", r"full_matrices=True of a non-square matrix.*pass full_matrices=False"),
]


def _refusal(name):
    for pattern, message in REFUSED:
        if re.search(pattern, name):
            return message
    return None


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning")
@pytest.mark.parametrize("name, f, args, options", CASES, ids=[c[0] for c in CASES])
def test_peer_case(name, f, args, options):
    out = check(f, args, **options)
    if out.status == "numpy":
        # numpy itself refuses these arguments: dualdiff must refuse them too, in words (a
        # number where numpy has none would be made up)
        for exc in refusals(f, args, **options):
            assert isinstance(exc, (TypeError, ValueError)), f"{name}: {out.message}; dualdiff: {exc!r}"
        return
    refused = _refusal(name)
    if refused is None:
        assert out.status == "pass", out.message
    else:
        assert out.status == "error", f"{name} is listed as refused but gave {out.status}: update REFUSED"
        assert isinstance(out.error, (TypeError, ValueError)), out.message
        assert re.search(refused, str(out.error)), out.message


# --- the checker must be able to fail ---------------------------------------------------------

def test_the_checker_catches_a_wrong_partial():
    bad_sin = elementwise("peers_bad_sin", np.sin, [lambda x, out: np.sin(x)], needs="args",
                          register=False)
    out = check(lambda x: bad_sin(x), [np.array([0.3, 1.2])])
    assert out.status == "wrong" and "forward" in out.message


def test_the_checker_catches_a_wrong_second_derivative():
    # x³ whose derivative rule is right but not differentiable again in the right way: a rule
    # written with plain numpy (3x² of the primal) drops the second derivative.
    cube = elementwise("peers_flat_cube", lambda x: x ** 3,
                       [lambda x, out: 3.0 * np.square(getattr(x, "primal", x))], needs="args",
                       register=False)
    out = check(lambda x: cube(x), [np.array([0.7, -1.1])])
    assert out.status == "wrong" and "second order" in out.message


def test_the_checker_passes_a_correct_function_and_reports_numpy_refusals():
    assert check(lambda x, y: np.sin(x) * y, [np.array([0.3, 1.2]), 2.0]).status == "pass"
    assert check(np.logaddexp, [1j, 2.0]).status == "numpy"


# --- regressions found by the survey ------------------------------------------------------------

A_NONSYM = np.array([[2.0, 1.0, 0.5], [5.0, 3.0, -1.0], [0.3, -2.0, 4.0]])


def _lower_symmetric(a):
    return np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_pinv_hermitian_reads_the_lower_triangle_as_numpy(mode):
    # numpy's pinv(a, hermitian=True) is the pseudo-inverse of the matrix its eigh reads (the
    # lower triangle mirrored): the value, and the derivative along every direction, are those.
    f = lambda a: np.linalg.pinv(a, hermitian=True)
    want_value = np.linalg.pinv(_lower_symmetric(A_NONSYM))
    assert np.allclose(f(A_NONSYM), want_value)
    J = dd.jacobian(f, A_NONSYM, mode=mode)
    assert np.allclose(dd.jvp(f, A_NONSYM, np.ones((3, 3)))[0], want_value, rtol=1e-12, atol=1e-12)
    assert np.allclose(J, central_difference_jacobian(f, A_NONSYM), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_svd_hermitian_reads_the_lower_triangle_as_numpy(mode):
    f = lambda a: np.linalg.svd(a, hermitian=True, compute_uv=False)
    value = dd.jvp(f, A_NONSYM, np.ones((3, 3)))[0]
    assert np.allclose(value, np.linalg.svd(A_NONSYM, hermitian=True, compute_uv=False), rtol=1e-12)
    J = dd.jacobian(f, A_NONSYM, mode=mode)
    assert np.allclose(J, central_difference_jacobian(f, A_NONSYM), rtol=1e-6, atol=1e-8)


def test_svd_hermitian_of_a_non_square_matrix_is_refused():
    with pytest.raises(ValueError, match="hermitian=True needs square matrices"):
        dd.jvp(lambda a: np.linalg.svd(a, hermitian=True, compute_uv=False), np.ones((2, 3)), np.ones((2, 3)))


def test_pinv_takes_numpy_2s_rtol():
    a = np.array([[2.0, 1.0], [5.0, 3.0]])
    for rtol in (None, 1e-3):
        y, t = dd.jvp(lambda x: np.linalg.pinv(x, rtol=rtol), a, np.eye(2))
        assert np.allclose(y, np.linalg.pinv(a, rtol=rtol), rtol=1e-13)
        want = central_difference_jacobian(lambda x: np.linalg.pinv(x, rtol=rtol), a)
        assert np.allclose(t, np.einsum("ijkl,kl->ij", want, np.eye(2)), rtol=1e-6)
    with pytest.raises(ValueError, match="rtol and rcond can't be both set"):
        dd.jvp(lambda x: np.linalg.pinv(x, rcond=1e-3, rtol=1e-3), a, np.eye(2))


@pytest.mark.parametrize("x, axis", [(2.5, None), (np.array(0.3), None), (np.ones((3, 1)), 1),
                                     (np.arange(3.0).reshape(1, 3), 0), (0.4 + 0.1j, None),
                                     (np.float32(1.5), None)])
def test_std_over_one_value_has_derivative_zero(x, axis):
    # One value per result: std is identically 0 there, so its derivative is 0 (it was
    # 0·(1/0) = nan, from sqrt at 0), in both modes and to second order.
    f = lambda x: np.sum(np.std(x, axis=axis))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero on the way either
        g_rev = dd.grad(f, x)
        g_fwd = dd.grad(f, x, mode="forward")
        h = dd.hvp(f, x, np.ones_like(x)) if np.isrealobj(x) else 0.0
    assert np.all(g_rev == 0) and np.all(g_fwd == 0) and np.all(np.asarray(h) == 0)
    assert np.asarray(g_rev).dtype == np.result_type(np.asarray(x).dtype, np.float32)
    assert np.std(x, axis=axis).shape == np.shape(dd.jvp(lambda x: np.std(x, axis=axis), x, x)[0])


@pytest.mark.parametrize("ord", [-1, -0.5, -2, -3])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_norm_of_negative_order_with_an_entry_zero_is_numpys_zero(ord, mode):
    # numpy: 0 ** p = inf for p < 0, so the sum is inf and the norm 0. The zero entry was left out
    # of the sum, giving the norm of the others (0.75 for ord=-1 here): a wrong value.
    x = np.array([1.0, 0.0, -3.0])
    with np.errstate(divide="ignore"):
        want = np.linalg.norm(x, ord=ord)
    assert want == 0.0
    f = lambda x: np.linalg.norm(x, ord=ord)
    value, g = dd.value_and_grad(f, x, mode=mode)
    assert float(value) == 0.0 and np.all(g == 0)
    # away from a zero entry, the same code against central differences
    y = np.array([1.0, 0.5, -3.0])
    assert np.allclose(dd.grad(f, y, mode=mode), central_difference_jacobian(f, y), rtol=1e-7)


COMPLEX_VEC = np.array([1 + 2j, -0.5 + 0.25j, -3 + 0.5j])


def _grad_by_differences(f, z, h=1e-6):
    """∂f/∂x − i·∂f/∂y of a real f of complex z (JAX's convention), by central differences."""
    g = np.zeros(z.shape, dtype=complex)
    for k in range(z.size):
        e = np.zeros(z.size, dtype=complex)
        e[k] = h
        e = e.reshape(z.shape)
        g.flat[k] = (f(z + e) - f(z - e)) / (2 * h) - 1j * (f(z + 1j * e) - f(z - 1j * e)) / (2 * h)
    return g


@pytest.mark.parametrize("ord", [None, 1, 2, 3, 0.5, -1, np.inf, -np.inf, 0])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_vector_norms_of_complex_values(ord, mode):
    # They were refused ("norm of complex values is not supported"): numpy's value, and the
    # gradient of the real norm of z in JAX's convention, against central differences.
    f = lambda z: np.linalg.norm(z, ord=ord)
    value, g = dd.value_and_grad(f, COMPLEX_VEC, mode=mode)
    assert np.isclose(float(value), f(COMPLEX_VEC), rtol=1e-14)
    assert np.asarray(value).dtype == np.float64
    assert np.allclose(g, _grad_by_differences(f, COMPLEX_VEC), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("ord", ["fro", 1, -1, np.inf, -np.inf])
def test_matrix_norms_of_complex_values(ord):
    z = np.outer(COMPLEX_VEC, COMPLEX_VEC[::-1] + 0.5)
    f = lambda z: np.linalg.norm(z, ord=ord)
    value, g = dd.value_and_grad(f, z)
    assert np.isclose(float(value), f(z), rtol=1e-14)
    assert np.allclose(g, _grad_by_differences(f, z), rtol=1e-7, atol=1e-9)
    assert np.allclose(dd.grad(f, z, mode="forward"), g, rtol=1e-12)


def test_singular_value_norms_of_complex_matrices_are_refused_in_words():
    for ord in (2, -2, "nuc"):
        with pytest.raises(TypeError, match="singular values.*'fro', 1, -1, inf and -inf are"):
            dd.grad(lambda z: np.linalg.norm(z, ord=ord), np.eye(2) + 1j)


def test_matrix_transpose_and_mT_of_numpy_2():
    x = np.arange(12.0).reshape(2, 2, 3)
    for f in (lambda a: np.matrix_transpose(a), lambda a: a.mT):
        J = dd.jacobian(f, x)
        assert np.array_equal(dd.jvp(f, x, x)[0], np.swapaxes(x, -1, -2))
        assert np.allclose(J, central_difference_jacobian(f, x), rtol=1e-9, atol=1e-9)
        assert np.array_equal(dd.jacobian(f, x, mode="reverse"), J)
    with pytest.raises(ValueError, match="at least two dimensions"):
        dd.jacobian(lambda a: a[0, 0].mT, x)


def test_all_any_isin_lexsort_take_the_values_and_return_plain_results():
    seen = []

    def f(x):
        seen.append((np.all(x), np.any(x > 2.0), np.isin(x, [0.5]), np.lexsort((x,))))
        return x * np.all(x) + x[np.lexsort((x,))]

    x = np.array([0.5, -1.5, 2.5])
    J = dd.jacobian(f, x, mode="reverse")
    assert np.allclose(J, central_difference_jacobian(f, x), rtol=1e-9, atol=1e-9)
    got = seen[0]  # the traced call (the differences' calls come after)
    assert [type(g) for g in got[:2]] == [np.bool_, np.bool_]
    assert np.array_equal(got[2], [True, False, False]) and np.array_equal(got[3], [1, 0, 2])


# --- numpy's in-place writers on a traced array: np.put and its relatives ---------------------

X33 = np.arange(1.0, 10.0).reshape(3, 3) + np.array([0.1, 0.3, 0.7])
WRITERS = {
    "fill_diagonal 0": lambda y, x: np.fill_diagonal(y, 0.0),
    "fill_diagonal traced, repeated": lambda y, x: np.fill_diagonal(y, x[0, :2] ** 2),
    "fill_diagonal wrap": lambda y, x: np.fill_diagonal(y, 7.0, wrap=True),
    "put, a repeated index (last wins)": lambda y, x: np.put(y, [0, 4, 4], x[2] * x[1]),
    "put mode=wrap": lambda y, x: np.put(y, [10, -1], x[1, :2] ** 2, mode="wrap"),
    "put mode=clip": lambda y, x: np.put(y, [10, -12], 3.0, mode="clip"),
    "put_along_axis axis=1": lambda y, x: np.put_along_axis(
        y, np.argmax(x, axis=1, keepdims=True), np.sin(x[:, :1]), axis=1),
    "put_along_axis axis=None": lambda y, x: np.put_along_axis(y, np.array([0, 8]), x[0, :2] * 2, axis=None),
    "putmask (values by flat position)": lambda y, x: np.putmask(y, X33 > 4.5, x[0, :2] * 3),
    "place (values in order)": lambda y, x: np.place(y, X33 > 4.5, x[0, :2] * 3),
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_numpys_in_place_writers_on_a_traced_array(name):
    # They had no rule (a TypeError): each writes into the traced y as y[idx] = v does, with
    # numpy's positions and numpy's repetition of the values. Values are numpy's bit for bit;
    # the Jacobian in both modes against central differences (the mask is fixed).
    write = WRITERS[name]

    def f(x):
        y = x * 1.0
        assert write(y, x) is None  # in place, returning None as numpy does
        return y

    y, _ = dd.jvp(f, X33, np.ones_like(X33))
    assert np.array_equal(y, f(X33))
    want = central_difference_jacobian(f, X33)
    assert np.allclose(dd.jacobian(f, X33), want, rtol=1e-8, atol=1e-8)
    assert np.allclose(dd.jacobian(f, X33, mode="reverse"), want, rtol=1e-8, atol=1e-8)


def test_numpys_writers_with_no_values_write_nothing_as_numpy():
    def f(x):
        y = x * 1.0
        np.putmask(y, [True, False], [])
        np.put(y, [0], [])
        np.fill_diagonal(y.reshape(1, 2).copy(), [])
        return y

    assert np.array_equal(dd.jacobian(f, np.ones(2)), np.eye(2))
    with pytest.raises(ValueError, match="Cannot insert from an empty array"):  # numpy's words
        dd.jacobian(lambda x: np.place(x * 1.0, [True, False], []) or x, np.ones(2))


def test_numpys_writers_refuse_traced_values_into_a_plain_array_in_words():
    for write in (lambda x: np.put(np.zeros(3), [0], x),
                  lambda x: np.put_along_axis(np.zeros(3), np.array([1]), x, axis=0),
                  lambda x: np.place(np.zeros(3), [True, False, True], x)):
        with pytest.raises(TypeError, match="into a plain array, which cannot hold their derivative"):
            dd.grad(lambda x: write(x) or x, 1.0)
    # np.fill_diagonal's dispatch sees only the plain array, so numpy's own code meets the traced
    # value; the advice named np.r_ and np.c_ (whose module fill_diagonal shares)
    with pytest.raises(TypeError, match="np.fill_diagonal writes into a plain array") as err:
        dd.grad(lambda x: np.fill_diagonal(np.zeros((2, 2)), x) or x, 1.0)
    assert "np.r_" not in str(err.value)


@pytest.mark.parametrize("fn", ["std_where", "nanstd", "nanstd_where"])
def test_std_of_one_selected_value_has_derivative_zero(fn):
    # np.std(x, where=...) and np.nanstd over a slice holding one value: identically 0 there,
    # so derivative 0 (it was nan, and in reverse mode the nan reached the other slices too).
    x = np.array([[0.5, 1.5, 2.0], [3.0, -1.0, 0.25]])
    mask = np.array([[True, False, False], [True, True, False]])
    nanned = np.where(mask, x, np.nan)
    f = {"std_where": lambda x: np.std(x, axis=1, where=mask),
         "nanstd": lambda x: np.nanstd(x + np.where(mask, 0.0, np.nan), axis=1),
         "nanstd_where": lambda x: np.nanstd(x, axis=1, where=mask)}[fn]
    assert np.allclose(f(x), [0.0, 2.0]) and np.allclose(np.nanstd(nanned, axis=1), [0.0, 2.0])
    want = np.zeros((2, 2, 3))
    want[1, 1, :2] = [0.5, -0.5]  # the std of a pair (a, b) is |a - b| / 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mode in ("forward", "reverse"):
            J = dd.jacobian(f, x, mode=mode)
            assert np.allclose(J, want), (mode, J)
    u = np.array([1.0, 1.0])
    g = dd.grad(lambda x: np.sum(u * f(x)), x)
    assert np.all(np.isfinite(g)) and np.allclose(g, want.sum(axis=0))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_vdot_conjugates_a_complex_first_argument_as_numpy(mode):
    # It was refused ("dualdiff's vdot takes real values"); np.vdot(a, b) = Σ conj(a)·b.
    a = np.array([1 + 2j, -0.5 + 0.3j, 0.25 - 1j])
    b = np.array([0.2 - 1j, 1.5 + 0.5j, -2.0 + 0.1j])
    assert np.isclose(dd.jvp(lambda a: np.vdot(a, b), a, a)[0], np.vdot(a, b), rtol=1e-14)
    f = lambda a: np.abs(np.vdot(a, b)) ** 2  # a real function of complex a
    assert np.allclose(dd.grad(f, a, mode=mode), _grad_by_differences(f, a), rtol=1e-7)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_slogdet_of_complex_matrices(mode):
    # It was refused; JAX's suite differentiates it to second order. sign = det/|det| and
    # log|det| (real, as numpy's) against central differences of numpy's slogdet.
    rng = np.random.default_rng(5)
    a = rng.normal(size=(2, 3, 3)) + 1j * rng.normal(size=(2, 3, 3))
    sign, logabsdet = dd.linalg.slogdet(a)
    want_sign, want_log = np.linalg.slogdet(a)
    assert np.allclose(sign, want_sign, rtol=1e-14) and np.allclose(logabsdet, want_log, rtol=1e-14)
    assert np.asarray(dd.jvp(lambda a: np.linalg.slogdet(a)[1], a, a)[0]).dtype == np.float64
    u = np.array([0.3 - 0.2j, -1.1 + 0.5j])
    f = lambda a: np.sum(np.real(u * np.linalg.slogdet(a)[0])) + np.sum(np.linalg.slogdet(a)[1] ** 2)
    assert np.allclose(dd.grad(f, a, mode=mode), _grad_by_differences(f, a), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_tensorsolve_and_tensorinv_are_solve_and_inv_reshaped(mode):
    # They were refused ("reshape to a matrix and use np.linalg.inv / np.linalg.solve").
    rng = np.random.default_rng(9)
    a = rng.normal(size=(2, 1, 3, 6))  # axes 0 and 2 moved last: a 6×6 matrix
    b = rng.normal(size=(1, 6))
    f = lambda a: np.linalg.tensorsolve(a, b, axes=(0, 2))
    assert np.allclose(dd.jvp(f, a, a)[0], f(a), rtol=1e-12)
    assert np.allclose(dd.jacobian(f, a, mode=mode), central_difference_jacobian(f, a), rtol=1e-6, atol=1e-8)
    t = rng.normal(size=(4, 2, 2, 4)) + 4.0 * np.eye(8).reshape(4, 2, 2, 4)
    g = lambda t: np.linalg.tensorinv(t, ind=2)
    assert np.allclose(dd.jvp(g, t, t)[0], g(t), rtol=1e-12)
    assert np.allclose(dd.jacobian(g, t, mode=mode), central_difference_jacobian(g, t), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_cholesky_of_complex_hermitian_matrices(upper, mode):
    # It was refused; JAX's suite differentiates it to second order. numpy reads the strict lower
    # (upper) triangle and the diagonal's real part: the derivative is that function's,
    # against central differences in the real and imaginary parts (a real function of L).
    rng = np.random.default_rng(11)
    m = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    a = m @ m.conj().T + 3 * np.eye(3) + np.triu(rng.normal(size=(3, 3)), 1) * 1j  # not Hermitian
    f = lambda a: np.linalg.cholesky(a, upper=upper)
    assert np.allclose(dd.jvp(f, a, a)[0], f(a), rtol=1e-13)
    u = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    g = lambda a: np.sum(np.real(u * f(a)))
    assert np.allclose(dd.grad(g, a, mode=mode), _grad_by_differences(g, a), rtol=1e-6, atol=1e-8)
    # second order: the Hessian along d against central differences of the (checked) gradient
    d, h = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)), 1e-5
    want = (dd.grad(g, a + h * d) - dd.grad(g, a - h * d)) / (2 * h)
    assert np.allclose(dd.hvp(g, a, d), want, rtol=1e-5, atol=1e-7)


def test_spacing_and_nextafter_give_numpys_plain_values():
    # They had no rule (code computing a tolerance from x failed); like np.floor they are
    # piecewise constant: plain values, no derivative.
    seen = []

    def f(x):
        seen.append((np.spacing(x), np.nextafter(x, np.inf)))
        return x * 2.0

    x = np.array([1.0, 1e-3, 300.0])
    dd.grad(lambda x: np.sum(f(x)), x)
    assert type(seen[0][0]) is np.ndarray and np.array_equal(seen[0][0], np.spacing(x))
    assert np.array_equal(seen[0][1], np.nextafter(x, np.inf))


@pytest.mark.parametrize("spacing", [(), (0.5,), "coordinates"])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_of_float32_samples_is_float32_as_numpy(spacing, edge_order):
    # float64 coordinates made the value float64 (numpy writes into an array of f's dtype); the
    # values are now numpy's bit for bit, and the derivative agrees with central differences.
    x = (np.linspace(0.0, 1.0, 7) ** 2).astype(np.float32)
    args = (np.cumsum(np.linspace(0.5, 1.0, 7)),) if spacing == "coordinates" else spacing
    f = lambda x: np.gradient(x, *args, edge_order=edge_order)
    value, tangent = dd.jvp(f, x, np.ones_like(x))
    assert value.dtype == np.float32 and np.array_equal(value, f(x))
    J = dd.jacobian(f, x.astype(np.float64), mode="reverse")
    assert np.allclose(J, central_difference_jacobian(lambda y: np.gradient(y, *args, edge_order=edge_order), x.astype(np.float64)), rtol=1e-6, atol=1e-8)
