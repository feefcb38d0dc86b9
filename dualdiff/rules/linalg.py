"""Matrix products: matmul (bilinear, both rules written out) and dot.

matmul's adjoints are the textbook ones, ∂l/∂A = ∂l/∂Y·Bᵀ and ∂l/∂B = Aᵀ·∂l/∂Y, with vectors
promoted to matrices and broadcast batch axes summed away.
"""

from __future__ import annotations

import numpy as np

from ..primitives import Primitive, bind, shape_of
from .ufuncs import multiply
from .shape import reshape, sum_to, transpose
from .table import Value, register


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
        total = reshape(matmul(reshape(ta, (rows, sa[-1])), b), (k,) + so)
    if tb is not None:
        if len(sb) == 1:  # a @ x for k vectors x: (k, n) @ aᵀ, or (k, n) @ a for a vector a
            term = matmul(tb, transpose(a) if len(sa) == 2 else a)
        else:  # a (m, n) @ tb (k, n, p): the directions side by side, (m, n) @ (n, k·p)
            p = sb[1]
            wide = reshape(transpose(tb, (1, 0, 2)), (sb[0], k * p))
            term = transpose(reshape(matmul(a, wide), (sa[0], k, p)), (1, 0, 2))
        total = term if total is None else total + term
    return total


def _mT(x):
    nd = len(shape_of(x))
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul_vjp(ct, primals, out, params, shapes, wants):
    a, b = primals
    sa, sb = shapes
    # Promote vectors to matrices so that the textbook rules ∂l/∂A = ∂l/∂Y·Bᵀ and
    # ∂l/∂B = Aᵀ·∂l/∂Y apply unchanged; the promoted axes are dropped again by the reshape.
    a2 = reshape(a, (1,) + sa) if len(sa) == 1 else a
    b2 = reshape(b, sb + (1,)) if len(sb) == 1 else b
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


MATMUL = register(Primitive("matmul", np.matmul, _matmul_jvp, _matmul_vjp,
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
    return bind(MATMUL, a, b)


def dot(a: Value, b: Value) -> Value:
    """The dot product as np.dot for arrays of up to two dimensions (a scalar multiplies).

    >>> import dualdiff as dd
    >>> float(dd.dot([1.0, 2.0], [3.0, 4.0]))
    11.0
    """
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if na > 2 or nb > 2:
        raise TypeError("dualdiff.dot handles arrays of up to 2 dimensions; for stacks of "
                        "matrices use matmul, whose broadcasting differs from np.dot's")
    return matmul(a, b)


