"""Matrix decompositions: cholesky, qr, eigh, svd, and pinv and lstsq built on them.

A decomposition has several outputs; the table's entries have one. So each primitive returns its
outputs *packed* in one array (eigh: [V | w], svd: [U; s; Vᵀ], qr: [Q; Rᵀ]) and the public
function cuts the pieces out with getitem, whose adjoint puts the pieces' cotangents back. Both
rules of an entry then see all the outputs at once, as the formulas need.

Symmetric input. numpy's ``cholesky`` and ``eigh`` read one triangle of the matrix (``UPLO``,
lower by default) and ignore the other; their derivatives here are those of the functions numpy
computes, so a perturbation of the ignored triangle has no effect (``_from_triangle``).

Degenerate spectra. The eigenvector (singular vector) derivatives contain 1/(λⱼ − λᵢ); where two
eigenvalues (singular values) coincide — relative gap below 64·eps — that term is set to 0
instead of inf. Eigenvalue-only and singular-value-only derivatives never use it and stay exact
and finite there; so do functions of the vectors that do not depend on the choice of basis
inside a degenerate eigenspace (gauge-invariant ones, such as the projector onto it). A loss
that does depend on that choice has no derivative, and gets the one of the basis LAPACK chose,
held fixed inside the eigenspace — finite, never nan.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Union

import numpy as np

from ..primitives import Primitive, bind, bind1, is_traced, shape_of, stop_gradient
from .ufuncs import add, divide, multiply, subtract
from .complex_parts import conj, real
from .shape import reshape, sum
from .indexing import getitem
from .assembly import concatenate, where
from .einsum import einsum
from .linalg import _check_square, _mT, _solve, matmul
from .table import Value, float_dtype, register

_ALL = slice(None)
# numpy's own functions for plain input, typed loosely: their stubs overload on literal flags.
_np_svd: Any = np.linalg.svd
_np_qr: Any = np.linalg.qr


def _eps(x: Value) -> float:
    return float(np.finfo(float_dtype(x)).eps)


def _masks(n: int, upper: bool, dtype) -> tuple:
    """The triangle numpy reads (diagonal included) and its strict part, as 0/1 matrices."""
    tri = np.triu if upper else np.tril
    ones = np.ones((n, n), dtype=dtype)
    return tri(ones), tri(ones, 1 if upper else -1)


def _from_triangle(t: Value, upper: bool, like: Value) -> Value:
    """The symmetric matrix numpy's routine sees when it reads one triangle of t."""
    n = shape_of(like)[-1]
    tri, strict = _masks(n, upper, float_dtype(like))
    return multiply(t, tri) + _mT(multiply(t, strict))


def _from_triangle_adjoint(g: Value, upper: bool, like: Value) -> Value:
    n = shape_of(like)[-1]
    tri, strict = _masks(n, upper, float_dtype(like))
    return multiply(g, tri) + multiply(_mT(g), strict)


def _diag(x: Value) -> Value:
    return einsum("...ii->...i", x)


def _diag_embed(v: Value) -> Value:
    n = shape_of(v)[-1]
    return multiply(reshape(v, shape_of(v) + (1,)), np.eye(n, dtype=float_dtype(v)))


def _gap_inverse(values: Value, square: bool = False) -> Value:
    """F[..., i, j] = 1/(vⱼ − vᵢ) (of the squares if ``square``), 0 on the diagonal and at ties.

    The ties are decided on plain values (a constant mask): where two values coincide the
    vector derivative does not exist and its term is dropped (see the module docstring).
    """
    v = stop_gradient(values)
    gap = v[..., None, :] - v[..., :, None]
    scale = np.max(np.abs(v), axis=-1, keepdims=True)[..., None]
    apart = np.abs(gap) > 64 * _eps(values) * np.maximum(scale, np.finfo(float).tiny)
    vv = multiply(values, values) if square else values
    n = shape_of(values)[-1]
    diff = subtract(reshape(vv, shape_of(vv)[:-1] + (1, n)), reshape(vv, shape_of(vv) + (1,)))
    safe = where(apart, diff, 1.0)
    return where(apart, divide(1.0, safe), 0.0)


def _safe_reciprocal(s: Value) -> Value:
    """1/s, and 0 where s = 0: the out-of-span terms of the singular vectors' derivatives are
    undefined at a zero singular value, and dropped there (finite) rather than inf or 0/0."""
    nonzero = stop_gradient(s) != 0
    return where(nonzero, divide(1.0, where(nonzero, s, 1.0)), 0.0)


def _no_complex(name: str, a: Value) -> None:
    if np.iscomplexobj(stop_gradient(a)):
        raise TypeError(f"{name} of complex matrices is not supported by dualdiff")


def _rows(x: Value, start: int, stop: Optional[int]) -> Value:
    return getitem(x, (Ellipsis, slice(start, stop), _ALL))


def _cols(x: Value, start: int, stop: Optional[int]) -> Value:
    return getitem(x, (Ellipsis, _ALL, slice(start, stop)))


# -- cholesky --------------------------------------------------------------------------------

def _cholesky_impl(a):
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError("cholesky: the matrix is not positive definite") from None


def _phi_mask(n: int, dtype) -> np.ndarray:
    """1 below the diagonal, 1/2 on it, 0 above: Φ of the Cholesky derivative."""
    return np.tril(np.ones((n, n), dtype=dtype), -1) + 0.5 * np.eye(n, dtype=dtype)


def _cholesky_jvp(primals, tangents, out, params, chunked):
    # dL = L Φ(L⁻¹ dS L⁻ᵀ), dS the symmetric perturbation numpy sees (lower triangle).
    L = out
    if np.iscomplexobj(stop_gradient(L)):
        return _cholesky_jvp_complex(L, tangents[0])
    s = _from_triangle(tangents[0], False, L)
    z = _solve(L, _mT(_solve(L, s)))  # L⁻¹ (L⁻¹ S)ᵀ = L⁻¹ S L⁻ᵀ (S symmetric)
    return matmul(L, multiply(z, _phi_mask(shape_of(L)[-1], float_dtype(L))))


def _cholesky_vjp(ct, primals, out, params, shapes, wants):
    # The transpose of the tangent rule, step by step: S̄ = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹.
    L = out
    if np.iscomplexobj(stop_gradient(L)):
        return (_cholesky_vjp_complex(L, ct),)
    m = multiply(matmul(_mT(L), ct), _phi_mask(shape_of(L)[-1], float_dtype(L)))
    w = _solve(_mT(L), m)
    s_bar = _mT(_solve(_mT(L), _mT(w)))
    return (_from_triangle_adjoint(s_bar, False, L),)


# Complex A = L Lᴴ: LAPACK reads the strict lower triangle and the real part of the diagonal, so
# the Hermitian perturbation it sees is dS = tril(dA, -1) + tril(dA, -1)ᴴ + Re diag(dA), and
# dL = L Φ(L⁻¹ dS L⁻ᴴ), Φ(Z) = tril(Z, -1) + ½ Re diag(Z). The adjoint is the transpose of that
# map under JAX's pairing Re Σ a·b (docs/complex.md), written with dualdiff's functions.

def _cholesky_masks(L: Value) -> tuple:
    n = shape_of(L)[-1]
    dtype = float_dtype(L)
    return np.tril(np.ones((n, n), dtype=dtype), -1), np.eye(n, dtype=dtype)


def _cholesky_phi(z: Value, strict: np.ndarray, eye: np.ndarray) -> Value:
    """Φ(Z) = tril(Z, -1) + ½ Re diag(Z); its own transpose under Re Σ a·b."""
    return add(multiply(z, strict), multiply(real(z), 0.5 * eye))


def _cholesky_jvp_complex(L: Value, t: Value) -> Value:
    strict, eye = _cholesky_masks(L)
    lower = multiply(t, strict)
    s = add(add(lower, conj(_mT(lower))), multiply(real(t), eye))
    z = _solve(L, conj(_mT(_solve(L, s))))  # L⁻¹ (L⁻¹ S)ᴴ = L⁻¹ S L⁻ᴴ (S Hermitian)
    return matmul(L, _cholesky_phi(z, strict, eye))


def _cholesky_vjp_complex(L: Value, ct: Value) -> Value:
    strict, eye = _cholesky_masks(L)
    q = _cholesky_phi(matmul(_mT(L), ct), strict, eye)
    w = _solve(_mT(L), q)  # L⁻ᵀ Q
    r = _mT(_solve(_mT(conj(L)), _mT(w)))  # L⁻ᵀ Q conj(L)⁻¹
    return add(multiply(add(r, conj(_mT(r))), strict), multiply(real(r), eye))


CHOLESKY = register(Primitive("cholesky", _cholesky_impl, _cholesky_jvp, _cholesky_vjp,
                              needs="out", complex="rules",
                              doc="reads the lower triangle, as numpy: the other has derivative 0 "
                                  "(complex: the strict lower triangle and the diagonal's real part)"))


def cholesky(a: Value, /, *, upper: bool = False) -> Value:
    """The Cholesky factor L (lower, a = L Lᵀ) of each matrix of a stack, as np.linalg.cholesky.

    Reads the lower triangle of a (the upper one with ``upper=True``, which returns Lᵀ).

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    _check_square("cholesky", a, complex_ok=True)
    if upper:
        return _mT(bind1(CHOLESKY, _mT(a)))
    return bind1(CHOLESKY, a)


# -- eigh ------------------------------------------------------------------------------------

def _eigh_impl(a, UPLO):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return np.concatenate([v, w[..., None]], axis=-1)


def _eigh_parts(packed: Value) -> tuple:
    n = shape_of(packed)[-2]
    return getitem(packed, (Ellipsis, _ALL, n)), _cols(packed, 0, n)


def _eigh_jvp(primals, tangents, out, params, chunked):
    # dw = diag(Vᵀ dS V), dV = V (F ∘ Vᵀ dS V), F[i, j] = 1/(wⱼ − wᵢ).
    w, v = _eigh_parts(out)
    s = _from_triangle(tangents[0], params["UPLO"] == "U", v)
    m = matmul(_mT(v), matmul(s, v))
    dw = _diag(m)
    dv = matmul(v, multiply(_gap_inverse(w), m))
    return concatenate([dv, reshape(dw, shape_of(dw) + (1,))], axis=-1)


def _eigh_vjp(ct, primals, out, params, shapes, wants):
    w, v = _eigh_parts(out)
    w_bar, v_bar = _eigh_parts(ct)
    g = _diag_embed(w_bar) + multiply(_gap_inverse(w), matmul(_mT(v), v_bar))
    s_bar = matmul(v, matmul(g, _mT(v)))
    return (_from_triangle_adjoint(s_bar, params["UPLO"] == "U", v),)


EIGH = register(Primitive("eigh", _eigh_impl, _eigh_jvp, _eigh_vjp, needs="out",
                          complex="real", doc="[V | w] packed; reads the UPLO triangle; at repeated eigenvalues the vectors' 1/(wⱼ − wᵢ) term is 0 (finite)"))


class EighResult(NamedTuple):
    """Eigenvalues (ascending) and eigenvectors (columns), as np.linalg.eigh returns them."""

    eigenvalues: Value
    eigenvectors: Value


def _check_uplo(UPLO: str) -> str:
    if UPLO not in ("L", "U"):
        raise ValueError(f"UPLO must be 'L' or 'U', not {UPLO!r}")
    return UPLO


def eigh(a: Value, UPLO: str = "L") -> EighResult:
    """Eigenvalues w (..., n) and eigenvectors V (..., n, n) of symmetric matrices, as np.linalg.eigh.

    Reads one triangle (``UPLO``). At repeated eigenvalues see the module docstring: the
    eigenvalues' derivatives stay finite, the vectors' are those of LAPACK's basis.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.eigh(np.array([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
    array([1., 2.])
    """
    _check_square("eigh", a)
    packed = bind1(EIGH, a, {"UPLO": _check_uplo(UPLO)})
    w, v = _eigh_parts(packed)
    return EighResult(w, v)


def eigvalsh(a: Value, UPLO: str = "L") -> Value:
    """The eigenvalues (ascending) of symmetric matrices, as np.linalg.eigvalsh: (..., n, n) -> (..., n).

    dwᵢ = vᵢᵀ dA vᵢ. At a repeated eigenvalue the ordered eigenvalues are not differentiable;
    the derivative given is diag(Vᵀ dA V) for LAPACK's eigenvectors (finite), and symmetric
    functions of a repeated group (their sum) are exact.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([1., 3.])
    """
    return eigh(a, UPLO).eigenvalues


def eig(a: Value) -> Any:
    """np.linalg.eig on plain values; refused on traced values (complex eigenvalues).

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(lambda a: dd.linalg.eig(a)[0].sum(), np.eye(2))
    Traceback (most recent call last):
        ...
    TypeError: eig/eigvals of a general matrix: ...
    """
    if is_traced(a):
        raise TypeError("eig/eigvals of a general matrix: its eigenvalues are complex in general "
                        "and dualdiff does not differentiate them; for a symmetric matrix use "
                        "eigh/eigvalsh")
    return np.linalg.eig(a)


def eigvals(a: Value) -> Any:
    """np.linalg.eigvals on plain values; refused on traced values (see eig)."""
    if is_traced(a):
        return eig(a)
    return np.linalg.eigvals(a)


# -- svd -------------------------------------------------------------------------------------

def _svd_impl(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, s[..., None, :], np.swapaxes(vh, -1, -2)], axis=-2)


def _svd_parts(packed: Value, m: int) -> tuple:
    """U (..., m, k), s (..., k) and V (..., n, k) from the packed [U; s; V]."""
    return _rows(packed, 0, m), getitem(packed, (Ellipsis, m, _ALL)), _rows(packed, m + 1, None)


def _svd_jvp(primals, tangents, out, params, chunked):
    # dP = Uᵀ dA V; ds = diag(dP); F[i, j] = 1/(sⱼ² − sᵢ²);
    # dU = U (F ∘ (dP S + S dPᵀ)) + (I − UUᵀ) dA V S⁻¹, dV likewise with dAᵀ.
    m, n = shape_of(primals[0])[-2:]
    k = min(m, n)
    u, s, v = _svd_parts(out, m)
    da = tangents[0]
    dp = matmul(_mT(u), matmul(da, v))
    ds = _diag(dp)
    f = _gap_inverse(s, square=True)
    s_row = reshape(s, shape_of(s)[:-1] + (1, k))  # S on the right: scales columns
    s_col = reshape(s, shape_of(s) + (1,))  # S on the left: scales rows
    du = matmul(u, multiply(f, multiply(dp, s_row) + multiply(s_col, _mT(dp))))
    dv = matmul(v, multiply(f, multiply(s_col, dp) + multiply(_mT(dp), s_row)))
    if m > k or n > k:  # the part of dA outside U's (V's) span, for a non-square matrix
        inv_s = _safe_reciprocal(s_row)
        if m > k:
            du = du + multiply(matmul(da, v) - matmul(u, dp), inv_s)
        if n > k:
            dv = dv + multiply(matmul(_mT(da), u) - matmul(v, _mT(dp)), inv_s)
    return concatenate([du, reshape(ds, shape_of(ds)[:-1] + (1, k)), dv], axis=-2)


def _svd_vjp(ct, primals, out, params, shapes, wants):
    m, n = shapes[0][-2:]
    k = min(m, n)
    u, s, v = _svd_parts(out, m)
    u_bar, s_bar, v_bar = _svd_parts(ct, m)
    f = _gap_inverse(s, square=True)
    s_row = reshape(s, shape_of(s)[:-1] + (1, k))
    s_col = reshape(s, shape_of(s) + (1,))
    utu = matmul(_mT(u), u_bar)
    vtv = matmul(_mT(v), v_bar)
    core = (multiply(multiply(f, utu - _mT(utu)), s_row) + _diag_embed(s_bar)
            + multiply(s_col, multiply(f, vtv - _mT(vtv))))
    grad = matmul(u, matmul(core, _mT(v)))
    if m > k:
        grad = grad + matmul(multiply(u_bar - matmul(u, utu), _safe_reciprocal(s_row)), _mT(v))
    if n > k:
        grad = grad + matmul(u, _mT(multiply(v_bar - matmul(v, vtv), _safe_reciprocal(s_row))))
    return (grad,)


SVD = register(Primitive("svd", _svd_impl, _svd_jvp, _svd_vjp, needs="out",
                         complex="real", doc="[U; s; V] packed (thin SVD); at repeated singular values the vectors' 1/(sⱼ² − sᵢ²) term is 0"))


# The singular values alone: numpy computes them without the vectors (another LAPACK path, whose
# last bits differ), so they are their own entry; its rules recompute the vectors they need.

def _svdvals_jvp(primals, tangents, out, params, chunked):
    a = primals[0]
    u, _, v = _svd_parts(bind1(SVD, a), shape_of(a)[-2])
    return _diag(matmul(_mT(u), matmul(tangents[0], v)))  # dsᵢ = uᵢᵀ dA vᵢ


def _svdvals_vjp(ct, primals, out, params, shapes, wants):
    a = primals[0]
    u, _, v = _svd_parts(bind1(SVD, a), shapes[0][-2])
    k = shape_of(ct)[-1]
    return (matmul(multiply(u, reshape(ct, shape_of(ct)[:-1] + (1, k))), _mT(v)),)  # U diag(s̄) Vᵀ


SVDVALS = register(Primitive(
    "svdvals", lambda a: np.linalg.svd(a, compute_uv=False), _svdvals_jvp, _svdvals_vjp,
    needs="args", complex="real",
    doc="the singular values, as np.linalg.svd(a, compute_uv=False) computes them"))


class SVDResult(NamedTuple):
    """U, S and Vh of a singular value decomposition, as np.linalg.svd returns them."""

    U: Value
    S: Value
    Vh: Value


def _check_matrix(name: str, a: Value) -> tuple:
    shape = shape_of(a)
    if len(shape) < 2:
        raise ValueError(f"{name}: {len(shape)}-dimensional array given; the array must be at "
                         f"least two-dimensional")
    _no_complex(name, a)
    return shape


def svd(a: Value, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Union[SVDResult, Value]:
    """The thin SVD a = U diag(S) Vh of each matrix of a stack, as np.linalg.svd.

    Shapes (..., m, k), (..., k), (..., k, n) with k = min(m, n). On traced values only the
    reduced SVD is available: ``full_matrices=False`` (or a square matrix); ``compute_uv=False``
    gives the singular values alone, whose derivatives (uᵢᵀ dA vᵢ) stay finite at repeated and
    at zero values. The vectors' derivatives need distinct singular values (see the module
    docstring) and, for a non-square matrix, nonzero ones (at a zero singular value the term
    outside the vectors' span is dropped: finite, not inf).

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.svd(np.array([[3.0, 0.0], [0.0, -2.0]]), compute_uv=False)
    array([3., 2.])
    """
    shape = _check_matrix("svd", a)
    m, n = shape[-2:]
    if compute_uv and full_matrices and m != n:
        if not is_traced(a):  # numpy's answer: its extra columns carry no derivative anyway
            return _np_svd(a, full_matrices=True, hermitian=hermitian)
        raise ValueError("svd with full_matrices=True of a non-square matrix is not supported on "
                         "traced values (the extra columns are not determined by a); pass "
                         "full_matrices=False")
    if hermitian and is_traced(a):
        a = _hermitian_input("svd", a)
    elif not compute_uv and not hermitian:
        return bind1(SVDVALS, a)
    u, s, v = _svd_parts(bind1(SVD, a), m)
    if not compute_uv:
        return s
    return SVDResult(u, s, _mT(v))


def _hermitian_input(name: str, a: Value) -> Value:
    """The symmetric matrix numpy's hermitian=True route reads (eigh of the lower triangle).

    numpy computes svd and pinv with hermitian=True from eigh(a), which reads only the lower
    triangle, so the function differentiated is that of the lower triangle: the general SVD
    of a itself would give another value for a non-symmetric a, and another derivative along
    non-symmetric directions even where a is symmetric.
    """
    shape = shape_of(a)
    if shape[-1] != shape[-2]:
        raise ValueError(f"{name} with hermitian=True needs square matrices, not {shape[-2:]} "
                         f"(numpy reads them with eigh)")
    return _from_triangle(a, False, a)


def svdvals(x: Value, /) -> Value:
    """The singular values (descending) of each matrix of a stack, as np.linalg.svdvals.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.svdvals(np.array([[0.0, 2.0], [1.0, 0.0]]))
    array([2., 1.])
    """
    return svd(x, compute_uv=False)


# -- qr --------------------------------------------------------------------------------------

def _qr_impl(a):
    q, r = np.linalg.qr(a)
    return np.concatenate([q, np.swapaxes(r, -1, -2)], axis=-2)


def _qr_parts(packed: Value, m: int) -> tuple:
    return _rows(packed, 0, m), _mT(_rows(packed, m, None))


def _strict_lower(x: Value) -> Value:
    n = shape_of(x)[-1]
    return multiply(x, np.tril(np.ones((n, n), dtype=float_dtype(x)), -1))


def _times_inv_r(y: Value, r: Value) -> Value:
    """y R⁻¹ by a solve with Rᵀ (no inverse formed)."""
    return _mT(_solve(_mT(r), _mT(y)))


def _qr_jvp(primals, tangents, out, params, chunked):
    # X = Qᵀ dA R⁻¹, Ω = low(X) − low(X)ᵀ: dR = (X − Ω) R, dQ = Q Ω + (I − QQᵀ) dA R⁻¹.
    m = shape_of(primals[0])[-2]
    q, r = _qr_parts(out, m)
    y = _times_inv_r(tangents[0], r)
    x = matmul(_mT(q), y)
    low = _strict_lower(x)
    omega = low - _mT(low)
    dr = matmul(x - omega, r)
    dq = matmul(q, omega) + y - matmul(q, x)
    return concatenate([dq, _mT(dr)], axis=-2)


def _qr_vjp(ct, primals, out, params, shapes, wants):
    m = shapes[0][-2]
    q, r = _qr_parts(out, m)
    q_bar, r_bar = _qr_parts(ct, m)
    c = matmul(r_bar, _mT(r)) - matmul(_mT(q), q_bar)
    g = c - _strict_lower(c - _mT(c))
    h = q_bar + matmul(q, g)
    return (_mT(_solve(r, _mT(h))),)  # H R⁻ᵀ


QR = register(Primitive("qr", _qr_impl, _qr_jvp, _qr_vjp, needs="out",
                        complex="real", doc="[Q; Rᵀ] packed (reduced, m ≥ n); needs R nonsingular"))


class QRResult(NamedTuple):
    """Q (orthonormal columns) and R (upper triangular), as np.linalg.qr returns them."""

    Q: Value
    R: Value


def qr(a: Value, mode: str = "reduced") -> Any:
    """The reduced QR decomposition a = Q R of each matrix of a stack, as np.linalg.qr.

    Q (..., m, k), R (..., k, n), k = min(m, n). ``mode='r'`` returns R alone; 'complete' is
    available on traced values only where it equals 'reduced' (m <= n); 'raw' is refused. The
    derivative needs R's leading k×k block nonsingular (a of full rank).

    >>> import dualdiff as dd, numpy as np
    >>> q, r = dd.linalg.qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> bool(np.allclose(q @ r, [[3.0, 1.0], [4.0, 2.0]]))
    True
    """
    shape = _check_matrix("qr", a)
    m, n = shape[-2:]
    if not is_traced(a) and (mode == "raw" or (mode == "complete" and m > n)):
        return _np_qr(a, mode=mode)  # plain values: numpy's answer, no derivative needed
    if mode not in ("reduced", "r", "complete"):
        raise ValueError(f"qr mode={mode!r} is not supported on traced values; use 'reduced'")
    if mode == "complete" and m > n:
        raise ValueError("qr mode='complete' of a tall matrix is not supported on traced values "
                         "(the extra columns of Q are not determined by a); use mode='reduced'")
    if m >= n:
        q, r = _qr_parts(bind1(QR, a), m)
    else:  # wide: A = [X | Y] with X square, Q R₁ = X, R = [R₁ | Qᵀ Y]
        q, r1 = _qr_parts(bind1(QR, _cols(a, 0, m)), m)
        r = concatenate([r1, matmul(_mT(q), _cols(a, m, None))], axis=-1)
    return r if mode == "r" else QRResult(q, r)


# -- pinv and lstsq --------------------------------------------------------------------------

def _pinv_jvp(primals, tangents, out, params, chunked):
    # Golub & Pereyra, constant rank: dP = −P dA P + P Pᵀ dAᵀ (I − A P) + (I − P A) dAᵀ Pᵀ P.
    a, da, p = primals[0], tangents[0], out
    dat = _mT(da)
    term1 = matmul(p, matmul(da, p))
    term2 = matmul(matmul(p, _mT(p)), dat - matmul(dat, matmul(a, p)))
    term3 = matmul(dat - matmul(p, matmul(a, dat)), matmul(_mT(p), p))
    return term2 + term3 - term1


def _pinv_vjp(ct, primals, out, params, shapes, wants):
    a, p, g = primals[0], out, ct
    gt = _mT(g)
    term1 = matmul(_mT(p), matmul(g, _mT(p)))
    term2 = matmul(gt - matmul(matmul(a, p), gt), matmul(p, _mT(p)))
    term3 = matmul(matmul(_mT(p), p), gt - matmul(gt, matmul(p, a)))
    return (term2 + term3 - term1,)


PINV = register(Primitive("pinv", lambda a: np.linalg.pinv(a), _pinv_jvp, _pinv_vjp,
                          needs="both", complex="real", doc="Golub–Pereyra at full rank (rank-deficient input refused)"))


_NO_RTOL = object()  # pinv's rtol not given (numpy's own default marker is private)


def _rank_deficient(a: Value, rcond: Optional[float] = None) -> bool:
    s = np.linalg.svd(stop_gradient(a), compute_uv=False)
    if s.size == 0:
        return False
    cut = (1e-15 if rcond is None else rcond) * np.max(s, axis=-1)
    return bool(np.any(np.min(s, axis=-1) <= cut))


def _require_full_rank(name: str, a: Value, rcond: Optional[float] = None) -> None:
    if _rank_deficient(a, rcond):
        raise ValueError(
            f"{name}: the matrix is rank-deficient; the pseudo-inverse is not differentiable "
            f"there (it jumps when the rank changes), so dualdiff differentiates {name} only at "
            f"matrices of full rank")


def pinv(a: Value, rcond: Optional[float] = None, hermitian: bool = False, *,
         rtol: Any = _NO_RTOL) -> Value:
    """The Moore-Penrose pseudo-inverse (..., m, n) -> (..., n, m), as np.linalg.pinv.

    Differentiated at matrices of full rank (rank-deficient ones raise a ValueError). numpy 2's
    ``rtol`` is read as numpy reads it (the cut-off relative to the largest singular value;
    None: max(m, n)·eps). With ``hermitian=True`` only the lower triangle is read, as numpy
    reads it.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.pinv(np.array([[1.0], [1.0]]))
    array([[0.5, 0.5]])
    """
    shape = _check_matrix("pinv", a)
    if rtol is not _NO_RTOL:
        if rcond is not None:
            raise ValueError("pinv: rtol and rcond can't be both set (as numpy)")
        rcond = max(shape[-2:]) * _eps(a) if rtol is None else rtol
    if not is_traced(a) and (rcond is not None or hermitian or _rank_deficient(a, rcond)):
        return np.linalg.pinv(a, rcond=1e-15 if rcond is None else rcond, hermitian=hermitian)
    if hermitian:
        a = _hermitian_input("pinv", a)
    _require_full_rank("pinv", a, rcond)
    return bind1(PINV, a)


def lstsq(a: Value, b: Value, rcond: Optional[float] = None) -> tuple:
    """The least-squares solution of a @ x ≈ b, as np.linalg.lstsq: (x, residuals, rank, s).

    a (m, n), b (m,) or (m, k). On traced values a must have full rank, where the solution
    x = pinv(a) b is exact; residuals (the squared residual norms, when m > n) and the singular
    values s are differentiated too; rank is a plain int.

    >>> import dualdiff as dd, numpy as np
    >>> x, res, rank, s = dd.linalg.lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    >>> x, res, int(rank)
    (array([2.]), array([2.]), 1)
    """
    _no_complex("lstsq", a)
    _no_complex("lstsq", b)
    if not (is_traced(a) or is_traced(b)) and _rank_deficient(a, rcond):
        return np.linalg.lstsq(a, b, rcond=rcond)  # plain values: numpy's minimum-norm answer
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) != 2 or len(sb) not in (1, 2) or sb[0] != sa[0]:
        raise ValueError(f"lstsq: a must be (m, n) and b (m,) or (m, k), not {sa} and {sb}")
    _require_full_rank("lstsq", a, None if rcond is None else float(rcond))
    m, n = sa
    x = matmul(pinv(a), b)
    if m > n:
        r = b - matmul(a, x)
        residuals = sum(multiply(r, r), axis=0)
        if len(sb) == 1:
            residuals = reshape(residuals, (1,))
    else:
        residuals = np.empty((0,), dtype=float_dtype(a))
    return x, residuals, min(m, n), svdvals(a)
