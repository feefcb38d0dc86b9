"""Matrix products and the functions of a square matrix built on a solve.

- ``matmul`` (bilinear, both rules written out): its adjoints are the textbook ones,
  ∂l/∂A = ∂l/∂Y·Bᵀ and ∂l/∂B = Aᵀ·∂l/∂Y, with vectors promoted to matrices and broadcast batch
  axes summed away. ``dot`` (any number of dimensions), ``multi_dot`` and ``matrix_power`` are
  written with it (or with einsum).
- ``solve``: X = A⁻¹B with Ẋ = A⁻¹(Ḃ − ȦX), B̄ = A⁻ᵀX̄ and Ā = −B̄Xᵀ: one more solve, with the
  transpose, in either mode. ``inv`` is a solve against the identity.
- ``det`` and the log-determinant of ``slogdet``: d log|det A| = tr(A⁻¹ dA) (a solve), and
  d det A = det A · tr(A⁻¹ dA). The sign of ``slogdet`` is a constant (its derivative is zero).

All of them batch over leading axes as numpy does. A derivative at an exactly singular matrix
raises ``numpy.linalg.LinAlgError`` (its value may exist, e.g. the adjugate for det, but the
solve it is written with does not).
"""

from __future__ import annotations

import numpy as np

from typing import Any, NamedTuple, Sequence

from .. import buffers
from ..primitives import Primitive, bind, bind2, shape_of, stop_gradient
from .ufuncs import add, multiply, negative
from .shape import align_chunk, broadcast_to, reshape, shape_dtype, sum, sum_to, transpose
from .indexing import getitem
from .assembly import stack
from .complex_parts import imag, real
from .einsum import LETTERS, einsum
from .table import Value, float_dtype, is_identity_seed, register


def _matmul_jvp(primals, tangents, out, params, chunked):
    a, b = primals
    ta, tb = tangents
    if not chunked:
        ta = None if ta is None else matmul(ta, b)
        tb = None if tb is None else matmul(a, tb)
        return tb if ta is None else (ta if tb is None else ta + tb)
    # k directions: matmul would read the leading k axis as one more batch axis and pair it
    # with the other operand's batch axes. Promote vectors to matrices and give the tangent unit
    # batch axes so that k sits in front of every batch axis, then drop the promoted axes.
    sa, sb, so = shape_of(a), shape_of(b), shape_of(out)
    if len(sa) <= 2 and len(sb) <= 2 and (tb is None or len(sa) == 2 or len(sb) == 1):
        return _matmul_jvp_gemm(a, b, ta, tb, sa, sb, so)
    a2 = sa if len(sa) > 1 else (1,) + sa
    b2 = sb if len(sb) > 1 else sb + (1,)
    nbatch = max(len(a2), len(b2)) - 2

    def lift(t, s2):
        return reshape(t, shape_of(t)[:1] + (1,) * (nbatch - (len(s2) - 2)) + s2)

    total = None
    if ta is not None:
        total = matmul(lift(ta, a2), reshape(b, b2))
    if tb is not None:
        term = matmul(reshape(a, a2), lift(tb, b2))
        total = term if total is None else total + term
    return reshape(total, shape_of(total)[:1] + so)


def _matmul_jvp_gemm(a, b, ta, tb, sa, sb, so):
    """k directions through a product of vectors and matrices as single matrix products.

    Batched, the k directions would run as k small products (k mat-vecs for A @ x); stacked
    along one axis they are one GEMM on the same numbers: (k·m, n) @ (n, p) for A's tangent,
    (k, n) @ Aᵀ for a vector x's.
    """
    k = shape_of(ta if ta is not None else tb)[0]
    total = None
    if ta is not None:  # (k, [m,] n) @ b: the directions' rows stacked, one product
        rows = k * (sa[0] if len(sa) == 2 else 1)
        product = _seeded(ta, b) if len(sa) == 1 else matmul(reshape(ta, (rows, sa[-1])), b)
        total = reshape(product, (k,) + so)
    if tb is not None:
        if len(sb) == 1:  # a @ x for k vectors x: (k, n) @ aᵀ, or (k, n) @ a for a vector a
            term = _seeded(tb, transpose(a) if len(sa) == 2 else a)
        else:  # a (m, n) @ tb (k, n, p): the directions side by side, (m, n) @ (n, k·p)
            p = sb[1]
            wide = reshape(transpose(tb, (1, 0, 2)), (sb[0], k * p))
            term = transpose(reshape(matmul(a, wide), (sa[0], k, p)), (1, 0, 2))
        total = term if total is None else total + term
    return total


def _seeded(t, m):
    """t @ m for k directions t (k, n): when t is a Jacobian's whole identity seed (recognised
    by object identity, see table.is_identity_seed), m itself, C-ordered as the product is.

    That is the product's exact value where m is finite, with its dtype and layout, and no n³
    product (a 200×200 Jacobian of tanh(A @ x) spent half its time multiplying A by the
    identity). Where m holds inf or nan, or -0.0, it is the true derivative, where the product
    gives nan (inf·0) or +0.0. A traced m (A an input of dd.compile, or itself differentiated)
    goes the same way through reshape, which nests, so compiled and eager agree bit for bit.
    Any other t, or an m whose dtype the product would change, takes the product.
    """
    if is_identity_seed(t) and shape_of(m)[:1] == (t.shape[1],):
        if type(m) is np.ndarray:
            if m.dtype.kind in "biufc":
                return m.astype(np.result_type(t.dtype, m.dtype), order="C")
        elif shape_dtype(m) == np.result_type(t.dtype, shape_dtype(m)):
            # (a C-ordered flat copy of a transposed m, or a view of a C-ordered one)
            return reshape(reshape(m, (-1,)), shape_of(m))
    return matmul(t, m)


def _matmul_vjp(ct, primals, out, params, shapes, wants):
    a, b = primals
    sa, sb = shapes
    if (type(ct) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray
            and len(sa) == 2 and len(sb) == 2):
        # Two plain matrices (a layer's sweep): the two products below, without the promotions
        # and summations a stack or a vector needs (what matmul(), _mT and sum_to would do).
        return (_matmul_impl(ct, b.T) if wants[0] else None,
                _matmul_impl(a.T, ct) if wants[1] else None)
    # Promote vectors to matrices so that the textbook rules ∂l/∂A = ∂l/∂Y·Bᵀ and
    # ∂l/∂B = Aᵀ·∂l/∂Y apply unchanged; the promoted axes are dropped again by the reshape.
    a2 = reshape(a, (1,) + sa) if len(sa) == 1 else a
    b2 = reshape(b, sb + (1,)) if len(sb) == 1 else b
    ct2 = ct
    if len(sa) == 1 or len(sb) == 1:
        ct_shape = shape_of(ct)
        if len(sa) == 1:
            ct_shape = ct_shape[:-1] + (1,) + ct_shape[-1:] if len(sb) > 1 else ct_shape + (1,)
        if len(sb) == 1:
            ct_shape = ct_shape + (1,)
        ct2 = reshape(ct, ct_shape)
    ca = cb = None
    # Batch axes that an operand was broadcast along are summed away (sum_to), then a promoted
    # vector drops its unit axis again.
    if wants[0]:
        ca = sum_to(matmul(ct2, _mT(b2)), shape_of(a2))
        if len(sa) == 1:
            ca = reshape(ca, sa)
    if wants[1]:
        cb = sum_to(matmul(_mT(a2), ct2), shape_of(b2))
        if len(sb) == 1:
            cb = reshape(cb, sb)
    return (ca, cb)


def _matmul_impl(a: Any, b: Any) -> Any:
    """np.matmul; a product of two float matrices of one dtype written into the buffer pool's
    memory when large (see dualdiff.buffers: the weight gradient of a layer, W's size, would
    otherwise be new pages on every sweep). The same BLAS call on the same operands."""
    if (type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2
            and a.shape[0] * b.shape[1] * a.itemsize >= _POOL_MIN and a.dtype == b.dtype
            and a.dtype.kind in "fc" and a.shape[1] == b.shape[0]):
        out = buffers.empty((a.shape[0], b.shape[1]), a.dtype)
        if out is not None:
            return np.matmul(a, b, out=out)
    return np.matmul(a, b)


_POOL_MIN = buffers.MIN_BYTES

MATMUL = register(Primitive("matmul", _matmul_impl, _matmul_jvp, _matmul_vjp,
                              needs="args", kind="other", complex="holomorphic"))


def matmul(a: Value, b: Value) -> Value:
    """The matrix product a @ b, as np.matmul: (m, n) @ (n, p) -> (m, p); vectors and stacks too.

    >>> import dualdiff as dd
    >>> dd.matmul([[1.0, 2.0]], [[3.0], [4.0]])
    array([[11.]])
    """
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: input operand has no dimension to multiply (shapes {sa} and {sb}); "
                         "use * for scalars")
    if sa[-1] != sb[-2 if len(sb) > 1 else 0]:
        raise ValueError(f"matmul: shapes {sa} and {sb} are not aligned "
                         f"({sa[-1]} != {sb[-2 if len(sb) > 1 else 0]})")
    return bind2(MATMUL, a, b)


def _mT(x: Value) -> Value:
    """x with its last two axes swapped: the transpose of every matrix in a stack."""
    nd = len(shape_of(x))
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def trace_of(x: Value) -> Value:
    """The trace of every matrix in a stack (..., n, n) -> (...); k directions in front too."""
    return einsum("...ii->...", x)


def eye_like(x: Value) -> np.ndarray:
    """The identity matrix of x's last axis, in x's floating dtype (a constant)."""
    return np.eye(shape_of(x)[-1], dtype=float_dtype(x))


def dot(a: Value, b: Value) -> Value:
    """The dot product as np.dot: sum over a's last axis and b's second-to-last (its only one if 1-d).

    For N-d arrays the result has shape a.shape[:-1] + b.shape[:-2] + b.shape[-1:] (no batch
    broadcasting: that is matmul); a scalar multiplies.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.dot([1.0, 2.0], [3.0, 4.0]))
    11.0
    >>> dd.dot(np.ones((2, 3, 4)), np.ones((5, 4, 6))).shape
    (2, 3, 5, 6)
    """
    sa, sb = shape_of(a), shape_of(b)
    na, nb = len(sa), len(sb)
    if na == 0 or nb == 0:
        return multiply(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    kb = nb - 2 if nb > 1 else 0
    if sa[-1] != sb[kb]:
        raise ValueError(f"dot: shapes {sa} and {sb} are not aligned: {sa[-1]} (axis {na - 1}) "
                         f"!= {sb[kb]} (axis {kb})")
    la = LETTERS[:na]
    lb = "".join(la[-1] if j == kb else c for j, c in enumerate(LETTERS[na:na + nb]))
    return einsum(f"{la},{lb}->{la[:-1]}{lb.replace(la[-1], '')}", a, b)


def _check_square(name: str, a: Value, complex_ok: bool = False) -> tuple:
    shape = shape_of(a)
    if len(shape) < 2:
        raise ValueError(f"{name}: {len(shape)}-dimensional array given; the array must be at "
                         f"least two-dimensional (a matrix or a stack of matrices)")
    if shape[-1] != shape[-2]:
        raise ValueError(f"{name}: the last two dimensions must be square, not {shape[-2:]}")
    if not complex_ok and np.iscomplexobj(stop_gradient(a)):
        raise TypeError(f"{name} of complex matrices is not supported by dualdiff; use real "
                        f"matrices (split real and imaginary parts)")
    return shape


def _solve_impl(a, b):
    if getattr(b, "dtype", None) == object:
        # Index sets, not numbers (dd.sparsity runs the tangent rules on them): A⁻¹ has the
        # structure of the transitive closure of A's (reach i -> j through nonzeros), which is
        # exact for generic values: triangular stays triangular, irreducible becomes dense.
        reach = (np.asarray(a) != 0) | np.eye(np.shape(a)[-1], dtype=bool)
        while True:
            wider = np.matmul(reach.astype(float), reach.astype(float)) > 0
            if np.array_equal(wider, reach):
                return np.matmul(reach.astype(float), b)
            reach = wider
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError as e:
        raise np.linalg.LinAlgError(
            f"solve: the matrix is singular ({e}); a solve, an inverse and the derivatives of "
            f"det and slogdet need a nonsingular matrix (for least squares use lstsq or "
            f"pinv)") from None


def _solve_jvp(primals, tangents, out, params, chunked):
    a, b = primals
    ta, tb = tangents
    nd = len(shape_of(out))
    if chunked:  # k directions in front of every batch axis: solve then broadcasts them
        ta = None if ta is None else align_chunk(ta, nd)
        tb = None if tb is None else align_chunk(tb, nd)
    rhs = tb
    if ta is not None:
        rhs = negative(matmul(ta, out)) if rhs is None else rhs - matmul(ta, out)
    return _solve(a, rhs)


def _solve_vjp(ct, primals, out, params, shapes, wants):
    a = primals[0]
    cb = _solve(_mT(a), ct)  # B̄ = A⁻ᵀ X̄: the one extra solve of reverse mode
    # −B̄Xᵀ with the sign on B̄ (n·k numbers), not on the n×n product
    ca = sum_to(matmul(negative(cb), _mT(out)), shapes[0]) if wants[0] else None
    return (ca, sum_to(cb, shapes[1]) if wants[1] else None)


SOLVE = register(Primitive("solve", _solve_impl, _solve_jvp, _solve_vjp, needs="both",
                           complex="holomorphic",
                           doc="Ẋ = A⁻¹(Ḃ − ȦX); reverse B̄ = A⁻ᵀX̄, Ā = −B̄Xᵀ: one more solve, no inverse"))


def _solve(a: Value, b: Value) -> Value:
    return bind(SOLVE, a, b)


def solve(a: Value, b: Value) -> Value:
    """x with a @ x = b, as np.linalg.solve: a (..., n, n); b (n,) or (..., n, k), batches broadcast.

    The derivative costs one more solve (with aᵀ in reverse mode); no inverse is formed.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    sa = _check_square("solve", a, complex_ok=True)
    sb = shape_of(b)
    if len(sb) == 1:  # numpy reads a 1-d b (and only a 1-d b) as one vector
        if sb[0] != sa[-1]:
            raise ValueError(f"solve: a of shape {sa} and b of shape {sb} do not match")
        x = _solve(a, reshape(b, sb + (1,)))
        return reshape(x, shape_of(x)[:-1])
    if len(sb) < 2 or sb[-2] != sa[-1]:
        raise ValueError(f"solve: b must have shape ({sa[-1]},) or (..., {sa[-1]}, k), not {sb}")
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(f"solve: the batch shapes of a {sa} and b {sb} do not broadcast") from None
    return _solve(a, b)


def inv(a: Value) -> Value:
    """The inverse of every matrix in a stack (..., n, n), as np.linalg.inv: a solve against I.

    Its derivative is −A⁻¹ dA A⁻¹, computed by solve's rules.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    shape = _check_square("inv", a, complex_ok=True)
    return _solve(a, broadcast_to(eye_like(a), shape))


def tensorsolve(a: Value, b: Value, axes: Any = None) -> Value:
    """x with tensordot(a, x, x.ndim) = b, as np.linalg.tensorsolve: a reshaped to a square
    matrix (after moving ``axes`` to the end) and solved, so its derivative is solve's.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.tensorsolve(2.0 * np.eye(6).reshape(6, 2, 3), np.ones(6)).shape
    (2, 3)
    """
    shape = shape_of(a)
    nd = len(shape)
    if axes is not None:
        order = [i for i in range(nd) if i not in [k % nd for k in axes]] + [k % nd for k in axes]
        a = transpose(a, tuple(order))
        shape = shape_of(a)
    nb = len(shape_of(b))
    tail = shape[nb:]
    n = int(np.prod(tail))
    if int(np.prod(shape)) != n * n:
        raise np.linalg.LinAlgError("Input arrays must satisfy the requirement "
                                    "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])")
    return reshape(solve(reshape(a, (n, n)), reshape(b, (-1,))), tail)


def tensorinv(a: Value, ind: int = 2) -> Value:
    """The inverse of a read as a matrix (the first ``ind`` axes its rows), as np.linalg.tensorinv:
    shape a.shape[ind:] + a.shape[:ind]; its derivative is inv's.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.tensorinv(np.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    shape = shape_of(a)
    n = int(np.prod(shape[ind:]))
    return reshape(inv(reshape(a, (n, -1))), shape[ind:] + shape[:ind])


#: Up to this size, det's derivative at an exactly singular matrix (where the solve fails) is
#: the adjugate by the Faddeev–LeVerrier recurrence: exact polynomial arithmetic in A (so it
#: nests), but its rounding grows with n, so larger singular matrices raise instead.
ADJUGATE_MAX_N = 8


def _adjugate(a: Value) -> Value:
    """adj(A) of every matrix in a stack, by Faddeev–LeVerrier: M₁ = I, Mₖ = A Mₖ₋₁ + cₙ₋ₖ₊₁ I
    with cₙ₋ₖ = −tr(A Mₖ)/k; adj(A) = (−1)ⁿ⁺¹ Mₙ. Matmuls and traces only."""
    n = shape_of(a)[-1]
    if n > ADJUGATE_MAX_N:
        raise np.linalg.LinAlgError(
            f"det: the matrix is singular, and its derivative (the adjugate) is computed only up "
            f"to {ADJUGATE_MAX_N}×{ADJUGATE_MAX_N} there, not {n}×{n}")
    eye = broadcast_to(eye_like(a), shape_of(a))
    m = eye
    for k in range(1, n):
        am = matmul(a, m)
        c = multiply(trace_of(am), -1.0 / k)
        m = am + multiply(reshape(c, shape_of(c) + (1, 1)), eye)
    return m if n % 2 else negative(m)


def _det_jvp(primals, tangents, out, params, chunked):
    a, ta = primals[0], tangents[0]
    if chunked:
        ta = align_chunk(ta, len(shape_of(a)))
    try:
        return multiply(out, trace_of(_solve(a, ta)))
    except np.linalg.LinAlgError:  # singular: d det A = tr(adj(A) dA), still finite
        return einsum("...ij,...ji->...", _adjugate(a), ta)


def _det_vjp(ct, primals, out, params, shapes, wants):
    a = primals[0]
    try:
        return (_inv_T_times(a, multiply(ct, out)),)
    except np.linalg.LinAlgError:
        return (multiply(reshape(ct, shape_of(ct) + (1, 1)), _mT(_adjugate(a))),)


def _inv_T_times(a: Value, scale: Value) -> Value:
    """scale[..., None, None] · A⁻ᵀ: the gradient of det and log|det| (one solve with Aᵀ)."""
    scaled_eye = multiply(reshape(scale, shape_of(scale) + (1, 1)), eye_like(a))
    return _solve(_mT(a), broadcast_to(scaled_eye, shape_of(a)))


DET = register(Primitive(
    "det", np.linalg.det, _det_jvp, _det_vjp, needs="both", complex="holomorphic",
    doc="d det A = det A · tr(A⁻¹ dA) (a solve); at a singular A (up to 8×8) tr(adj(A) dA)"))


def det(a: Value) -> Value:
    """The determinant of every matrix in a stack (..., n, n) -> (...), as np.linalg.det.

    d det A = det A · tr(A⁻¹ dA); at an exactly singular A (where the solve fails) it is
    tr(adj(A) dA), the adjugate computed up to 8×8 (a larger singular A raises LinAlgError).

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(dd.linalg.det, np.array([[1.0, 2.0], [2.0, 4.0]]))   # singular: adj(A)ᵀ
    array([[ 4., -2.],
           [-2.,  1.]])
    >>> round(float(dd.linalg.det(np.array([[2.0, 1.0], [1.0, 3.0]]))), 12)
    5.0
    """
    _check_square("det", a, complex_ok=True)
    return bind(DET, a)


def _slogdet_impl(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return np.stack([sign, logabsdet], axis=-1)


def _slogdet_jvp(primals, tangents, out, params, chunked):
    a, ta = primals[0], tangents[0]
    if chunked:
        ta = align_chunk(ta, len(shape_of(a)))
    t = trace_of(_solve(a, ta))
    if not np.iscomplexobj(stop_gradient(a)):
        return stack([multiply(t, 0.0), t], axis=-1)  # the sign's derivative is 0
    # complex A: t = tr(A⁻¹ dA) = d log det A; log|det A| moves by Re t, the sign s = det/|det|
    # turns by i·Im t (it stays on the unit circle)
    sign = getitem(out, (Ellipsis, 0))
    if chunked:
        sign = reshape(sign, (1,) + shape_of(sign))
    return stack([multiply(multiply(imag(t), 1j), sign), real(t)], axis=-1)


def _slogdet_vjp(ct, primals, out, params, shapes, wants):
    a = primals[0]
    c_log = getitem(ct, (Ellipsis, 1))
    if not np.iscomplexobj(stop_gradient(a)):
        return (_inv_T_times(a, c_log),)
    # the transpose of dA ↦ (i·Im t·s, Re t) under Re Σ a·b: (Re c_log + i·Im(c_sign·s))·A⁻ᵀ
    c_sign = getitem(ct, (Ellipsis, 0))
    sign = getitem(out, (Ellipsis, 0))
    scale = add(real(c_log), multiply(imag(multiply(c_sign, sign)), 1j))
    return (_inv_T_times(a, scale),)


SLOGDET = register(Primitive(
    "slogdet", _slogdet_impl, _slogdet_jvp, _slogdet_vjp, needs="both", complex="rules",
    doc="[sign, log|det A|] packed: d log|det A| = Re tr(A⁻¹ dA); the sign's derivative is 0 "
        "(complex A: i·Im tr(A⁻¹ dA)·sign)"))


class SlogdetResult(NamedTuple):
    """The sign and the log of the absolute value of a determinant, as np.linalg.slogdet gives."""

    sign: Value
    logabsdet: Value


def slogdet(a: Value) -> SlogdetResult:
    """(sign, log|det a|) of every matrix in a stack, as np.linalg.slogdet.

    The sign's derivative is zero (it is piecewise constant); log|det A| has the derivative
    tr(A⁻¹ dA). A singular matrix has logabsdet = -inf, and no derivative. For complex A the
    sign is det/|det| on the unit circle: with t = tr(A⁻¹ dA), log|det A| moves by Re t and the
    sign by i·Im t·sign (JAX's convention, docs/complex.md).

    >>> import dualdiff as dd, numpy as np
    >>> sign, logabsdet = dd.linalg.slogdet(np.array([[-2.0, 0.0], [0.0, 3.0]]))
    >>> float(sign), round(float(logabsdet), 6)
    (-1.0, 1.791759)
    """
    _check_square("slogdet", a, complex_ok=True)
    packed = bind(SLOGDET, a)
    logabsdet = getitem(packed, (Ellipsis, 1))
    if np.iscomplexobj(stop_gradient(a)):
        logabsdet = real(logabsdet)  # real, as numpy's (the packed array is complex)
    return SlogdetResult(getitem(packed, (Ellipsis, 0)), logabsdet)


def matrix_power(a: Value, n: int) -> Value:
    """a multiplied by itself n times (n < 0: the inverse's power), as np.linalg.matrix_power.

    Built by repeated squaring with matmul (and inv for n < 0); n = 0 gives the identity.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3)
    array([[1., 3.],
           [0., 1.]])
    """
    shape = _check_square("matrix_power", a, complex_ok=True)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"matrix_power: exponent must be an integer, not {type(n).__name__}")
    if n == 0:  # the identity: a constant, kept traced (zero derivative) through a * 0
        return add(multiply(a, 0.0), broadcast_to(eye_like(a), shape))
    base = inv(a) if n < 0 else a
    n = abs(int(n))
    result = None
    while True:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if not n:
            return result
        base = matmul(base, base)


def multi_dot(arrays: Sequence[Value]) -> Value:
    """The product of a chain of matrices in the cheapest order, as np.linalg.multi_dot.

    The first array may be 1-d (a row vector) and the last 1-d (a column vector); the others
    are 2-d.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.multi_dot([np.ones(3), np.ones((3, 4)), np.ones((4, 2))])
    array([12., 12.])
    """
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    shapes = [shape_of(x) for x in arrays]
    first_vec, last_vec = len(shapes[0]) == 1, len(shapes[-1]) == 1
    if first_vec:
        arrays[0] = reshape(arrays[0], (1,) + shapes[0])
    if last_vec:
        arrays[-1] = reshape(arrays[-1], shapes[-1] + (1,))
    dims = [shape_of(x) for x in arrays]
    for i, s in enumerate(dims):
        if len(s) != 2:
            raise ValueError(f"multi_dot: array {i} has shape {shapes[i]}; the arrays must be "
                             f"2-d (the first and last may be 1-d)")
    for i in range(len(dims) - 1):
        if dims[i][1] != dims[i + 1][0]:
            raise ValueError(f"multi_dot: shapes {shapes[i]} and {shapes[i + 1]} are not aligned")
    p = [dims[0][0]] + [s[1] for s in dims]
    n = len(arrays)
    # The classic chain-order dynamic programme (as numpy's): cost[i][j] of multiplying i..j.
    cost = [[0.0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def chain(i, j):
        if i == j:
            return arrays[i]
        k = split[i][j]
        return matmul(chain(i, k), chain(k + 1, j))

    out = chain(0, n - 1)
    if first_vec or last_vec:
        out = reshape(out, tuple(d for d, keep in zip(shape_of(out), (not first_vec, not last_vec))
                                 if keep))
    return out


def cross(a: Value, b: Value, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: Any = None) -> Value:
    """The cross product of 3-vectors (or 2-vectors) along an axis, as np.cross; batches broadcast.

    >>> import dualdiff as dd, numpy as np
    >>> dd.cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb or sa[axisa] not in (2, 3) or sb[axisb] not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must be 2 "
                         f"or 3), shapes {sa} and {sb} along axes {axisa} and {axisb}")

    def parts(x, ax, s):
        nd = len(s)
        ax = ax % nd
        x = transpose(x, tuple(i for i in range(nd) if i != ax) + (ax,))
        comps = [getitem(x, (Ellipsis, i)) for i in range(s[ax])]
        return comps + [None] * (3 - len(comps))

    a0, a1, a2 = parts(a, axisa, sa)
    b0, b1, b2 = parts(b, axisb, sb)
    z = a0 * b1 - a1 * b0
    if a2 is None and b2 is None:  # two 2-vectors: the z component alone, as numpy
        return z
    x = (a1 * b2 if b2 is not None else 0.0) - (a2 * b1 if a2 is not None else 0.0)
    y = (a2 * b0 if a2 is not None else 0.0) - (a0 * b2 if b2 is not None else 0.0)
    shape = np.broadcast_shapes(*[shape_of(t) for t in (x, y, z)])
    out = stack([broadcast_to(t, shape) for t in (x, y, z)], axis=-1)
    nd = len(shape) + 1
    axc = axisc % nd
    return transpose(out, tuple(range(axc)) + (nd - 1,) + tuple(range(axc, nd - 1)))


def matrix_transpose(x: Value, /) -> Value:
    """Each matrix of a stack transposed (..., m, n) -> (..., n, m), as np.linalg.matrix_transpose.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.matrix_transpose(np.ones((2, 3, 4))).shape
    (2, 4, 3)
    """
    if len(shape_of(x)) < 2:
        raise ValueError("matrix_transpose: the input must have at least two dimensions")
    return _mT(x)


def diagonal(x: Value, /, *, offset: int = 0) -> Value:
    """The diagonal of each matrix of a stack (..., m, n) -> (..., k), as np.linalg.diagonal.

    >>> import dualdiff as dd, numpy as np
    >>> dd.linalg.diagonal(np.arange(9.0).reshape(3, 3), offset=1)
    array([1., 5.])
    """
    m, n = shape_of(x)[-2:]
    rows = np.arange(max(0, -offset), min(m, n - offset))
    return getitem(x, (Ellipsis, rows, rows + offset))


def trace(x: Value, /, *, offset: int = 0) -> Value:
    """The sum of each matrix's diagonal (..., m, n) -> (...), as np.linalg.trace.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.linalg.trace(np.eye(3)))
    3.0
    """
    if offset == 0 and shape_of(x)[-1] == shape_of(x)[-2]:
        return trace_of(x)
    return sum(diagonal(x, offset=offset), axis=-1)
