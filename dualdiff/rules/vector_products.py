"""Products of stacks of matrices and vectors, as numpy's gufuncs: np.matvec (A v), np.vecmat
(conj(u) B) and np.vecdot (Σ conj(x1) x2), with numpy's broadcasting of the stack axes.

Two bilinear entries, each the other's transpose, with numpy's own loops as their values (so
the results are numpy's bit for bit): ``matvec`` (y = A v) and ``vecmat_u`` (y = uᵀ B, *no*
conjugate, so that it is holomorphic). numpy's vecmat and vecdot conjugate their first argument:
they are ``vecmat_u(conj(u), B)`` and ``matvec(conj(x1) as a row, x2)``. (numpy's vecmat applies
its own conjugate, and conj(conj(u)) is u exactly, so the values stay numpy's.)
"""

from __future__ import annotations

import numpy as np

from ..primitives import Primitive, bind, concrete, shape_of
from .complex_parts import conj
from .indexing import getitem
from .shape import align_chunk, moveaxis, reshape, sum_to
from .table import Value, register
from .ufuncs import add, multiply

__all__ = ["matvec", "vecmat", "vecdot"]


def _matvec_impl(a, v):
    if hasattr(np, "matvec"):  # numpy >= 2.2
        return np.matvec(a, v)
    return np.matmul(a, np.asarray(v)[..., None])[..., 0]


def _vecmat_u_impl(u, b):
    if hasattr(np, "vecmat"):  # (numpy's vecmat conjugates u: conj(conj(u)) is u, bit for bit)
        # a real u as it is: np.conj would copy a strided u, and numpy's loop over a contiguous
        # u rounds differently from its loop over the strided one
        return np.vecmat(np.conj(u) if np.iscomplexobj(u) else u, b)
    return np.matmul(np.asarray(u)[..., None, :], b)[..., 0, :]


def _product_rule(prim: Primitive, cores: "tuple[int, int]", primals, tangents, out, chunked):
    """The product rule of a bilinear entry whose arguments have ``cores`` core axes, the chunk's
    direction axis put before every stack axis (numpy broadcasts the stack axes)."""
    (x, y), (tx, ty) = primals, tangents
    stack = len(shape_of(out)) - 1
    parts = []
    if tx is not None:
        parts.append(bind(prim, align_chunk(tx, stack + cores[0]) if chunked else tx, y))
    if ty is not None:
        parts.append(bind(prim, x, align_chunk(ty, stack + cores[1]) if chunked else ty))
    return parts[0] if len(parts) == 1 else add(parts[0], parts[1])


def _matvec_jvp(primals, tangents, out, params, chunked):
    return _product_rule(MATVEC, (2, 1), primals, tangents, out, chunked)


def _vecmat_u_jvp(primals, tangents, out, params, chunked):
    return _product_rule(VECMAT_U, (1, 2), primals, tangents, out, chunked)


def _outer_last(p: Value, q: Value) -> Value:
    """p[..., i] q[..., j]: the stacks of outer products (the transpose of both products)."""
    q_row = reshape(q, shape_of(q)[:-1] + (1,) + shape_of(q)[-1:])
    return multiply(reshape(p, shape_of(p) + (1,)), q_row)


def _matvec_vjp(ct, primals, out, params, shapes, wants):
    a, v = primals  # y_i = Σ_j a_ij v_j
    return (sum_to(_outer_last(ct, v), shapes[0]) if wants[0] else None,
            sum_to(bind(VECMAT_U, ct, a), shapes[1]) if wants[1] else None)


def _vecmat_u_vjp(ct, primals, out, params, shapes, wants):
    u, b = primals  # y_j = Σ_i u_i b_ij
    return (sum_to(bind(MATVEC, b, ct), shapes[0]) if wants[0] else None,
            sum_to(_outer_last(u, ct), shapes[1]) if wants[1] else None)


MATVEC = register(Primitive(
    "matvec", _matvec_impl, _matvec_jvp, _matvec_vjp, needs="args",
    complex="holomorphic",
    doc="A v over stacks, as np.matvec (numpy's value); the transpose is vecmat_u"))
VECMAT_U = register(Primitive(
    "vecmat_u", _vecmat_u_impl, _vecmat_u_jvp, _vecmat_u_vjp, needs="args",
    complex="holomorphic",
    doc="uᵀ B over stacks without conjugating u (np.vecmat of conj(u), numpy's value); "
        "the transpose is matvec"))


def _check(x1: Value, x2: Value, name: str, core1: int, core2: int) -> None:
    """numpy's error for too few axes, before any conjugate or reshape reads the arguments."""
    for x, core, which in ((x1, core1, "0"), (x2, core2, "1")):
        if len(shape_of(x)) < core:
            raise ValueError(f"{name}: Input operand {which} does not have enough dimensions "
                             f"(has {len(shape_of(x))}, needs {core})")


def matvec(x1: Value, x2: Value, /) -> Value:
    """The matrix-vector products Σⱼ x1[..., i, j] x2[..., j], as np.matvec: (..., m, n) and
    (..., n) -> (..., m), the stack axes broadcast.

    >>> import numpy as np
    >>> from dualdiff.rules.vector_products import matvec
    >>> matvec(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0]))
    array([3., 7.])
    """
    _check(x1, x2, "matvec", 2, 1)
    return bind(MATVEC, x1, x2)


def vecmat(x1: Value, x2: Value, /) -> Value:
    """The vector-matrix products Σᵢ conj(x1[..., i]) x2[..., i, j], as np.vecmat: (..., n) and
    (..., n, m) -> (..., m), the stack axes broadcast; x1 conjugated, as numpy does.

    >>> import numpy as np
    >>> from dualdiff.rules.vector_products import vecmat
    >>> vecmat(np.array([1j, 1.0]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([3.-1.j, 4.-2.j])
    """
    _check(x1, x2, "vecmat", 1, 2)
    # (conj of a real x1 is x1: skipped, so that numpy's loop reads x1's own layout)
    return bind(VECMAT_U, conj(x1) if np.iscomplexobj(concrete(x1)) else x1, x2)


def vecdot(x1: Value, x2: Value, /, *, axis: int = -1) -> Value:
    """The dot products Σ conj(x1) x2 along ``axis`` (of each argument), the other axes
    broadcast, as np.vecdot and np.linalg.vecdot: x1 conjugated, as numpy does.

    >>> import numpy as np
    >>> from dualdiff.rules.vector_products import vecdot
    >>> vecdot(np.ones((2, 3)), np.arange(3.0))
    array([3., 3.])
    >>> complex(vecdot(np.array([1j]), np.array([1j])))
    (1+0j)
    """
    _check(x1, x2, "vecdot", 1, 1)
    if axis != -1:
        x1, x2 = moveaxis(x1, axis, -1), moveaxis(x2, axis, -1)
    row = reshape(conj(x1), shape_of(x1)[:-1] + (1,) + shape_of(x1)[-1:])
    return getitem(bind(MATVEC, row, x2), (Ellipsis, 0))
