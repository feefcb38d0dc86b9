"""Linear algebra beyond the table test: closed forms, degenerate inputs, float32, errors.

The table test (tests/table_cases/linalg.py, einsum.py, decompositions.py, norms.py) checks every
function against complex-step or central-difference oracles in both modes and to second order;
here each derivative is also checked against its textbook closed form, and each documented
convention at a degenerate input (repeated eigenvalues, rank deficiency, the zero vector) has a
test asserting it.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd

RNG = np.random.default_rng(9)


def well(n, *batch):
    return RNG.uniform(-1, 1, size=batch + (n, n)) + 3.0 * np.eye(n)


def spd(n):
    a = RNG.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


# -- closed forms ------------------------------------------------------------------------------

def test_det_closed_form_both_modes():
    A, dA = well(4), RNG.normal(size=(4, 4))
    want = np.linalg.det(A) * np.trace(np.linalg.solve(A, dA))
    assert np.isclose(dd.jvp(dd.linalg.det, A, dA)[1], want, rtol=1e-12)
    assert np.allclose(dd.grad(dd.linalg.det, A), np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-12)


def test_inv_closed_form():
    A, dA = well(3), RNG.normal(size=(3, 3))
    Ai = np.linalg.inv(A)
    assert np.allclose(dd.jvp(dd.linalg.inv, A, dA)[1], -Ai @ dA @ Ai, rtol=1e-12)


def test_logabsdet_closed_form_with_negative_determinant():
    A = well(3)[::-1].copy()  # rows reversed: det < 0
    assert np.linalg.det(A) < 0
    dA = RNG.normal(size=(3, 3))
    sign, logabsdet = dd.linalg.slogdet(dd.Dual(A, dA))
    assert sign.primal == -1.0 and sign.tangent == 0.0      # the sign's derivative is zero
    assert np.isclose(logabsdet.tangent, np.trace(np.linalg.solve(A, dA)), rtol=1e-12)


def test_symmetric_eigenvalue_derivative_is_v_dA_v():
    A = spd(4)
    dA = RNG.normal(size=(4, 4))
    dA = dA + dA.T  # symmetric: then the triangle read does not matter
    w, V = np.linalg.eigh(A)
    want = np.einsum("ji,jk,ki->i", V, dA, V)
    assert np.allclose(dd.jvp(dd.linalg.eigvalsh, A, dA)[1], want, rtol=1e-10)
    assert np.allclose(dd.jvp(lambda a: dd.linalg.eigvalsh(a, UPLO="U"), A, dA)[1], want, rtol=1e-10)


def test_norm_derivative_is_x_over_norm():
    x, dx = RNG.normal(size=5), RNG.normal(size=5)
    assert np.isclose(dd.jvp(dd.linalg.norm, x, dx)[1], x @ dx / np.linalg.norm(x), rtol=1e-13)
    assert np.allclose(dd.grad(np.linalg.norm, x), x / np.linalg.norm(x), rtol=1e-13)


def test_singular_values_derivative_is_u_dA_v():
    A, dA = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    U, s, Vh = np.linalg.svd(A, full_matrices=False)
    want = np.einsum("ji,jk,ik->i", U, dA, Vh)
    assert np.allclose(dd.jvp(dd.linalg.svdvals, A, dA)[1], want, rtol=1e-10)


def test_solve_reverse_is_one_transposed_solve():
    A, b, xbar = well(4), RNG.normal(size=4), RNG.normal(size=4)
    x, pullback = dd.vjp(lambda p: dd.linalg.solve(p[0], p[1]), (A, b))
    dA, db = pullback(xbar)
    bbar = np.linalg.solve(A.T, xbar)
    assert np.allclose(db, bbar, rtol=1e-12) and np.allclose(dA, -np.outer(bbar, x), rtol=1e-12)


# -- numpy's names, methods, batching, float32 -----------------------------------------------------

def test_numpy_names_reach_dualdiff_in_both_modes():
    A, b = well(3), RNG.normal(size=3)
    f = lambda a: np.linalg.norm(np.linalg.solve(a, b)) + np.linalg.det(a) + np.einsum("ii", a)  # noqa: E731
    g = dd.grad(f, A)
    J = dd.jacobian(f, A)
    assert np.allclose(g, J, rtol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda a: dd.linalg.solve(a, np.ones(a.shape[-1], dtype=a.dtype)),
    dd.linalg.inv, dd.linalg.det, lambda a: dd.linalg.slogdet(a)[1], dd.linalg.cholesky,
    dd.linalg.eigvalsh, dd.linalg.svdvals, lambda a: dd.linalg.qr(a)[1], dd.linalg.pinv,
    dd.linalg.norm, lambda a: dd.einsum("ij,jk->ik", a, a), lambda a: dd.linalg.matrix_norm(a, ord=2),
])
def test_float32_stays_float32(fn):
    A = spd(3).astype(np.float32)
    out = fn(dd.Dual(A, np.ones_like(A)))
    assert np.asarray(out.primal).dtype == np.float32
    assert np.asarray(out.tangent).dtype == np.float32
    g = dd.grad(lambda a: dd.sum(fn(a)), A)
    assert g.dtype == np.float32


def test_batched_stack_of_solves_matches_loop():
    A, B = well(3, 4), RNG.normal(size=(4, 3, 2))
    dA = RNG.normal(size=A.shape)
    _, t = dd.jvp(lambda a: dd.linalg.solve(a, B), A, dA)
    for i in range(4):
        _, ti = dd.jvp(lambda a: dd.linalg.solve(a, B[i]), A[i], dA[i])
        assert np.allclose(t[i], ti, rtol=1e-12)


def test_dot_matches_numpy_for_nd():
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(5, 4, 2))
    assert np.allclose(dd.dot(a, b), np.dot(a, b))
    assert np.allclose(dd.Dual(a, a).dot(b).primal, np.dot(a, b))  # the ndarray method too


def test_matrix_power_zero_is_the_identity_with_zero_derivative():
    A = well(3)
    out = dd.linalg.matrix_power(dd.Dual(A, np.ones((3, 3))), 0)
    assert np.array_equal(out.primal, np.eye(3)) and not np.any(out.tangent)


def test_empty_and_one_by_one():
    assert dd.linalg.det(np.ones((0, 3, 3))).shape == (0,)
    assert np.isclose(dd.grad(dd.linalg.det, np.array([[2.0]]))[0, 0], 1.0)


# -- degenerate inputs: the documented behaviour --------------------------------------------------

def test_repeated_eigenvalues_value_derivatives_are_finite_and_exact_for_symmetric_functions():
    A = np.diag([1.0, 1.0, 2.0])
    dA = RNG.normal(size=(3, 3))
    dA = dA + dA.T
    t = dd.jvp(dd.linalg.eigvalsh, A, dA)[1]
    assert np.all(np.isfinite(t))
    # the sum over the repeated pair is exact: d(λ₁ + λ₂) = dA₀₀ + dA₁₁ here
    assert np.isclose(t[0] + t[1], dA[0, 0] + dA[1, 1], rtol=1e-12)
    assert np.isclose(t[2], dA[2, 2], rtol=1e-12)
    H = dd.hessian(lambda a: dd.sum(dd.linalg.eigvalsh(a)), A)
    assert np.all(np.isfinite(H)) and np.allclose(H, 0.0, atol=1e-12)  # trace is linear


def test_repeated_eigenvalues_vector_derivatives_are_finite_and_exact_for_the_projector():
    A = np.diag([1.0, 1.0, 3.0])
    dA = RNG.normal(size=(3, 3))
    dA = dA + dA.T

    def projector(a):  # onto the repeated eigenspace: gauge-invariant
        V = dd.linalg.eigh(a).eigenvectors[:, :2]
        return V @ V.T

    t = dd.jvp(projector, A, dA)[1]
    assert np.all(np.isfinite(t))
    # closed form: dP = Σ_{i in, j out} (vⱼᵀ dA vᵢ)/(λᵢ − λⱼ) (vⱼvᵢᵀ + vᵢvⱼᵀ)
    E = np.eye(3)
    want = sum(dA[2, i] / (1.0 - 3.0) * (np.outer(E[2], E[i]) + np.outer(E[i], E[2])) for i in (0, 1))
    assert np.allclose(t, want, atol=1e-12)
    g = dd.grad(lambda a: dd.sum(projector(a) * dA), A)
    assert np.all(np.isfinite(g))


def test_repeated_singular_values_value_derivatives_are_finite():
    A = np.vstack([np.eye(2), np.zeros((1, 2))])  # singular values 1, 1
    dA = RNG.normal(size=(3, 2))
    t = dd.jvp(dd.linalg.svdvals, A, dA)[1]
    assert np.all(np.isfinite(t))
    assert np.isclose(t.sum(), dA[0, 0] + dA[1, 1], rtol=1e-12)  # d(nuclear norm) = tr(UᵀdA V)
    assert np.allclose(dd.grad(lambda a: dd.linalg.norm(a, "nuc"), A), A, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (2, 2)])
def test_zero_singular_values_give_finite_derivatives(shape):
    A = np.zeros(shape)
    A[0, 0] = 2.0  # rank 1: a zero singular value, and its vectors undetermined
    U, s, Vh = np.linalg.svd(A, full_matrices=False)
    g = dd.grad(lambda a: dd.sum(dd.linalg.svdvals(a)), A)
    assert np.allclose(g, U @ Vh)  # Σ uᵢvᵢᵀ: a subgradient of the nuclear norm, finite
    assert np.all(np.isfinite(dd.hessian(lambda a: dd.sum(dd.linalg.svdvals(a)), A)))
    assert np.all(np.isfinite(dd.jacobian(lambda a: dd.linalg.svd(a, full_matrices=False)[0], A)))
    for ord in ("nuc", 2, -2, "fro"):
        assert np.all(np.isfinite(dd.grad(lambda a: dd.linalg.norm(a, ord), np.zeros(shape)))), ord


def test_vector_norms_at_zero_follow_the_subgradient_convention():
    z = np.zeros(3)
    for ord in (None, 2, 1, np.inf, 3, 0.5):
        g = dd.grad(lambda x: dd.linalg.norm(x, ord), z)
        assert np.array_equal(g, np.zeros(3)), (ord, g)
        assert not np.any(np.isnan(dd.jvp(lambda x: dd.linalg.norm(x, ord), z, np.ones(3))[1]))
    assert np.array_equal(dd.hessian(dd.linalg.norm, z), np.zeros((3, 3)))
    assert np.array_equal(dd.grad(lambda m: dd.linalg.norm(m, "fro"), np.zeros((2, 2))), np.zeros((2, 2)))


def _cofactors(a):
    n = a.shape[0]
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])


@pytest.mark.parametrize("S", [np.array([[1.0, 2.0], [2.0, 4.0]]),
                               np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [1.0, 1.0, 3.0]]),
                               np.zeros((3, 3))])
def test_det_derivative_at_a_singular_matrix_is_the_adjugate(S):
    cof = _cofactors(S)  # the gradient of det is the cofactor matrix, adj(A)ᵀ, singular or not
    assert np.allclose(dd.grad(dd.linalg.det, S), cof, atol=1e-12)
    dA = RNG.normal(size=S.shape)
    assert np.isclose(dd.jvp(dd.linalg.det, S, dA)[1], np.sum(cof * dA), atol=1e-12)
    H = dd.hessian(dd.linalg.det, S)  # forward over reverse, through the adjugate
    n = S.shape[0]
    h = 1e-5
    E = np.eye(n * n).reshape(n * n, n, n)
    fd = np.array([(_cofactors(S + h * e) - _cofactors(S - h * e)) / (2 * h) for e in E])
    assert np.allclose(H.reshape(n * n, n, n), fd, atol=1e-6)  # H[i, j] = ∂ cof / ∂A[i, j]


def test_singular_matrix_raises_a_clear_error():
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        dd.linalg.solve(dd.Dual(S, np.eye(2)), np.ones(2))
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        dd.grad(lambda a: dd.linalg.slogdet(a)[1], S)
    big = np.zeros((9, 9))  # beyond the adjugate's size limit
    with pytest.raises(np.linalg.LinAlgError, match="adjugate"):
        dd.grad(dd.linalg.det, big)


def test_rank_deficient_pinv_and_lstsq_are_refused():
    R = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="rank-deficient"):
        dd.grad(lambda a: dd.sum(dd.linalg.pinv(a)), R)
    with pytest.raises(ValueError, match="rank-deficient"):
        dd.grad(lambda a: dd.sum(dd.linalg.lstsq(a, np.ones(3))[0]), R)
    assert np.allclose(dd.linalg.pinv(R), np.linalg.pinv(R))  # plain values: numpy's answer


def test_not_positive_definite_cholesky():
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        dd.linalg.cholesky(dd.Dual(-np.eye(2), np.eye(2)))


# -- what is refused, with the alternative ------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda a: np.linalg.eig(a), "eigh"),
    (lambda a: np.linalg.eigvals(a), "eigh"),
    (lambda a: dd.linalg.eig(a), "eigh"),
    (lambda a: np.linalg.svd(a[:, :2]), "full_matrices=False"),
    (lambda a: np.linalg.qr(a[:, :2], mode="complete"), "reduced"),
    (lambda a: np.linalg.qr(a, mode="raw"), "reduced"),
    (lambda a: dd.linalg.solve(a, np.ones(4)), "do not match"),
    (lambda a: dd.linalg.inv(a[:, :2]), "square"),
    (lambda a: dd.einsum("ij,jk", a, np.ones((2, 2))), "sizes 3 and 2"),
    (lambda a: dd.einsum("ij->k", a), "appears in no operand"),
    (lambda a: dd.einsum("ij,jk", a), "2 operands"),
    (lambda a: dd.linalg.norm(a, "bad"), "invalid norm order"),
    (lambda a: dd.linalg.eigh(a, UPLO="X"), "UPLO"),
])
def test_refusals_say_what_to_do(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call(dd.Dual(well(3), np.ones((3, 3))))


def test_complex_solve_and_det_are_holomorphic_and_decompositions_refuse_complex():
    A = well(3) + 0.3j * RNG.normal(size=(3, 3))
    dA = RNG.normal(size=(3, 3)) + 1j * RNG.normal(size=(3, 3))
    b = RNG.normal(size=3) + 1j * RNG.normal(size=3)
    x = np.linalg.solve(A, b)
    out = dd.linalg.solve(dd.Dual(A, dA), b)
    assert np.allclose(out.primal, x) and np.allclose(out.tangent, -np.linalg.solve(A, dA @ x))
    d = dd.linalg.det(dd.Dual(A, dA))
    assert np.isclose(d.tangent, np.linalg.det(A) * np.trace(np.linalg.solve(A, dA)))
    # (norm of complex values is differentiated, except the norms made of singular values;
    # slogdet and cholesky of complex matrices too: tests/test_outside_peers.py)
    for fn in (dd.linalg.eigh, dd.linalg.svdvals, lambda a: dd.linalg.norm(a, "nuc")):
        with pytest.raises(TypeError, match="complex"):
            fn(dd.Dual(A, dA))


def test_einsum_adjoint_is_one_einsum_for_any_pattern():
    from dualdiff.rules.einsum import adjoint_subscripts
    assert adjoint_subscripts(("ij", "jk"), "ik", 1) == (("ik", "ij"), "jk", ())
    # a diagonal and an index summed nowhere else: an identity and a vector of ones
    inputs, output, extras = adjoint_subscripts(("iij",), "", 0)
    assert {e[0] for e in extras} == {"eye", "ones"} and len(set(output)) == 3


def test_benchmark_script_runs():
    """benchmarks/bench_linalg.py --quick runs, passes its closed-form checks and prints its ratios."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_linalg.py"), "--quick"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for key in ("linalg.solve.rev", "linalg.solve.hand", "linalg.solve.fwd"):
        assert f"RATIO {key}" in proc.stdout, proc.stdout
