"""The matmul rule's identity-seed shortcut: a Jacobian's whole identity seed times a constant
matrix is that matrix (copied), not an n³ product.

Checked against closed forms and the complex step, against the general product where both are
exact, for memory ownership (the result never shares the caller's matrix), and for every seed
that must NOT take the shortcut (a slice, a copy, the caller's own identity)."""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.rules.table import identity_seed, is_identity_seed

H = 1e-30


def _problem(n=9, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n)


def _complex_step(f, x):
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size, complex)
        e[j] = 1j * H
        cols.append(np.imag(f(x + e)) / H)
    return np.stack(cols, axis=-1)


def test_dense_jacobian_matches_closed_form_and_complex_step():
    A, x = _problem()
    f = lambda z: np.tanh(A @ z)  # noqa: E731
    closed = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    for J in (dd.jacobian(f, x, chunk=x.size),
              dd.compile(lambda z: dd.jacobian(f, z, chunk=z.size))(x)):
        np.testing.assert_allclose(J, closed, rtol=1e-15, atol=1e-16)
        np.testing.assert_allclose(J, _complex_step(f, x), rtol=1e-13, atol=1e-15)


def test_shortcut_equals_the_product_on_finite_values():
    A, x = _problem(12, 1)
    f = lambda z: np.sin(A @ z) + z @ A.T  # noqa: E731  (both operands' rules)
    whole = dd.jacobian(f, x, chunk=12)           # the identity itself: the shortcut
    sliced = dd.jacobian(f, x, chunk=5)           # rows of it: products
    assert np.array_equal(whole, sliced)


@pytest.mark.parametrize("f", [lambda A, z: A @ z, lambda A, z: z @ A.T, lambda A, z: A @ z * 2.0,
                               lambda A, z: z @ A[0]])
def test_result_never_shares_the_callers_matrix(f):
    A, x = _problem(6, 2)
    before = np.array(A)
    want = dd.jacobian(lambda z: f(before, z), x, chunk=5)  # the general path, on a copy
    J = dd.jacobian(lambda z: f(A, z), x, chunk=6)
    assert not np.shares_memory(J, A)
    np.testing.assert_array_equal(J, want)
    A[...] = 123.0  # the caller changes its matrix: the Jacobian it holds stays
    np.testing.assert_array_equal(J, want)
    J[...] = -1.0  # and writing into the Jacobian leaves the matrix and the next call alone
    A[...] = before
    np.testing.assert_array_equal(dd.jacobian(lambda z: f(A, z), x, chunk=6), want)


def test_a_vector_times_identity_directions():
    a, x = np.array([1.0, -0.0, 3.0]), np.array([0.5, 2.0, -1.0])
    g = dd.jacobian(lambda z: a @ z, x, chunk=3)
    np.testing.assert_array_equal(g, a)
    assert np.signbit(g[1]) and not np.shares_memory(g, a)


def test_nonfinite_and_negative_zero_entries_give_the_true_derivative():
    A = np.arange(16.0).reshape(4, 4)
    A[1, 2], A[0, 0], A[3, 3] = np.inf, np.nan, -0.0
    x = np.ones(4)
    f = lambda z: A @ z  # noqa: E731
    eager = dd.jacobian(f, x, chunk=4)
    compiled = dd.compile(lambda z: dd.jacobian(f, z, chunk=4))(x)
    for J in (eager, compiled):
        np.testing.assert_array_equal(J, A)  # d(Ax)/dx = A, inf and nan where A has them
        assert np.signbit(J[3, 3])
        assert np.array_equal(np.signbit(J), np.signbit(A))
    # The product (a slice of the identity) turns inf * 0 into nan across the row.
    with np.errstate(invalid="ignore"):
        J = dd.jacobian(f, x, chunk=3)
    assert np.isnan(J[1, 0]) and not np.signbit(J[3, 3])


def test_other_seeds_take_the_product():
    n = 4
    A = np.arange(16.0).reshape(4, 4)
    A[1, 2] = np.inf
    x = np.ones(n)
    eye = next(iter(dd.seed_directions(n, n)))[0]
    assert is_identity_seed(eye) and eye is identity_seed(n, float)
    for S in (np.eye(n), np.array(eye), eye[:], eye.reshape(n, n), eye[:n - 1]):
        assert not is_identity_seed(S)
        with np.errstate(invalid="ignore"):
            t = (A @ dd.Dual(x, S)).tangent
        assert np.isnan(t[0, 1])  # inf * 0 of the product: the general path ran
    assert not is_identity_seed(np.eye(3)[None][0])
    assert not is_identity_seed([[1.0]])


@pytest.mark.parametrize("xdt,adt", [(np.float32, np.float64), (np.float64, np.float32),
                                     (np.float64, np.int64), (np.float32, np.float32)])
def test_dtypes_are_the_products(xdt, adt):
    A = (np.arange(25).reshape(5, 5) - 7).astype(adt)
    x = np.linspace(-1, 1, 5).astype(xdt)
    f = lambda z: A @ z  # noqa: E731
    J, general = dd.jacobian(f, x, chunk=5), dd.jacobian(f, x, chunk=2)
    assert J.dtype == general.dtype
    np.testing.assert_array_equal(J, general)


def test_hessian_through_a_constant_matrix():
    A, x = _problem(8, 3)
    t = np.tanh(A @ x)
    want = A.T @ ((-2 * t * (1 - t ** 2))[:, None] * A)
    H = dd.hessian(lambda z: np.sum(np.tanh(A @ z)), x)
    np.testing.assert_allclose(H, want, rtol=1e-12, atol=1e-13)
    Hc = dd.compile(lambda z: dd.hessian(lambda w: np.sum(np.tanh(A @ w)), z))(x)
    assert np.array_equal(H, Hc)


def test_a_differentiated_matrix_takes_the_product():
    A, x = _problem(5, 4)
    JA, Jx = dd.jacobian(lambda p: np.tanh(p[0] @ p[1]), (A, x), chunk=30)  # A traced
    d = 1 - np.tanh(A @ x) ** 2
    np.testing.assert_allclose(Jx, d[:, None] * A, rtol=1e-14, atol=1e-15)
    want = np.zeros((5, 5, 5))
    for i in range(5):
        want[i, i, :] = d[i] * x
    np.testing.assert_allclose(JA, want, rtol=1e-14, atol=1e-15)


@pytest.mark.filterwarnings("ignore:invalid value encountered in matmul")  # f's own value: inf - inf
def test_a_traced_matrix_goes_the_same_way():
    # A an input of dd.compile (staged), or differentiated around the Jacobian (a tape
    # variable): the shortcut's value and layout, so compiled equals eager bit for bit, with
    # -0.0 and inf where A has them.
    n = 5
    A = np.arange(25.0).reshape(n, n) / 7 - 1
    A[1, 2], A[3, 3] = np.inf, -0.0
    x = np.linspace(-1, 1, n)
    fn = lambda A, z: dd.jacobian(lambda w: A @ w, z, chunk=n)  # noqa: E731
    compiled = dd.compile(fn)
    compiled(A, x)
    assert compiled.source(A, x).count("matmul") == 0  # no product by the identity per call
    for J in (compiled(A, x), fn(A, x)):
        assert J.tobytes() == A.tobytes() and J.flags.c_contiguous == fn(A, x).flags.c_contiguous
    B, y = _problem(6, 5)
    g = lambda A, z: dd.jacobian(lambda w: np.tanh(A @ w).sum() + w @ A @ w, z, chunk=6)  # noqa: E731
    assert np.array_equal(dd.compile(g)(B, y), g(B, y))
    np.testing.assert_allclose(g(B, y), (1 - np.tanh(B @ y) ** 2) @ B + (B + B.T) @ y,
                               rtol=1e-13, atol=1e-14)


def test_derivative_through_the_shortcut_with_respect_to_the_matrix():
    # d/dA of sum(J²) with J = diag(1 - tanh(Ax)²) A, the Jacobian taken inside: against
    # central differences (the shortcut's copy of Aᵀ must carry A's derivative).
    A, x = _problem(4, 6)
    n = x.size

    def loss(M):
        return np.sum(dd.jacobian(lambda w: np.tanh(M @ w), x, chunk=n) ** 2)

    g = dd.grad(loss, A)
    h = 1e-6
    fd = np.zeros_like(A)
    for i in range(n):
        for j in range(n):
            e = np.zeros_like(A)
            e[i, j] = h
            fd[i, j] = (loss(A + e) - loss(A - e)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
