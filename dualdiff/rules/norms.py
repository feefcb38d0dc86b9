"""Vector and matrix norms, as np.linalg.norm, vector_norm and matrix_norm (composites).

Every ``ord`` numpy accepts is written with primitives: sums of |x| or |x|ᵖ, the largest or
smallest row or column sum, and the singular values (2, -2, 'nuc').

Conventions at the kinks (documented and tested):

- at the zero vector, ‖x‖₂ (and 'fro', and every p-norm) has derivative 0: the zero element of
  the subdifferential (the unit ball), never the nan of 0/0. Second derivatives there are 0 too;
- |x| has derivative sign(x), 0 at 0 (as dd.abs), and an entry exactly 0 contributes 0 to the
  derivative of a p-norm at every order (for p < 1 the partial there is infinite);
- a max or min over ties (ord=inf, -inf, 1, -1) takes the derivative of the first maximiser.

Complex x: the 2-norm and 'fro' sum re² + im² (as numpy), so they are smooth wherever the norm
is not 0; every other ord is that of the moduli |xᵢ| = sqrt(re² + im²), whose derivative at an
entry exactly 0 is 0 (as |x| at 0 above). The singular-value ords (2, -2, 'nuc' of matrices)
need the SVD of a complex matrix, which dualdiff does not differentiate.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from ..primitives import shape_of, stop_gradient
from .ufuncs import abs, add, divide, multiply, power, sqrt, square
from .complex_parts import imag, real
from .shape import reshape, sum, transpose
from .assembly import where
from .indexing import getitem
from .linalg import inv
from .decompositions import svdvals
from .table import Value, float_dtype, norm_axes


def _pick(x: Value, axis: int, largest: bool) -> Value:
    """max (or min) of x along ``axis`` (kept as a unit axis): the first extreme element's value."""
    v = stop_gradient(x)
    idx = (np.argmax if largest else np.argmin)(v, axis=axis, keepdims=True)
    first = np.arange(shape_of(x)[axis]).reshape((-1,) + (1,) * (len(shape_of(x)) - axis - 1)) == idx
    return sum(where(first, x, 0.0), axis=axis, keepdims=True)


def _safe_root(s: Value, p: float) -> Value:
    """s ** (1/p) for s ≥ 0, with derivative 0 (not inf·0) where s = 0."""
    s_plain = stop_gradient(s)
    positive = s_plain > 0
    safe = where(positive, s, 1.0)
    root = sqrt(safe) if p == 2 else power(safe, 1.0 / p)
    return where(positive, root, 0.0)


def _squares(x: Value) -> Value:
    """|x|² elementwise: x·x, or re² + im² for complex x (a real array either way)."""
    if np.iscomplexobj(stop_gradient(x)):
        return add(square(real(x)), square(imag(x)))
    return multiply(x, x)


def _moduli(x: Value) -> Value:
    """|x| of complex x as a real array, with derivative 0 at an entry exactly 0; real x as it is."""
    if np.iscomplexobj(stop_gradient(x)):
        return _safe_root(_squares(x), 2)
    return x


def _vector(x: Value, ord: Any, axis: tuple) -> Value:
    """The vector norm over ``axis`` (a tuple of one axis, or all axes), keepdims=True."""
    if ord is None or ord == 2:
        return _safe_root(sum(_squares(x), axis=axis, keepdims=True), 2)
    x = _moduli(x)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=True)
    if ord in (np.inf, -np.inf):
        if len(axis) != 1:
            x = reshape(x, (-1,))
            axis = (0,)
        return _pick(abs(x), axis[0], ord > 0)
    if ord == 0:  # the number of nonzero entries: piecewise constant, derivative 0
        count = np.sum(stop_gradient(x) != 0, axis=axis, keepdims=True)
        return multiply(sum(x, axis=axis, keepdims=True), 0.0) + count.astype(float_dtype(x))
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    p = float(ord)
    return _safe_root(sum(_abs_power(x, p), axis=axis, keepdims=True), p)


def _abs_power(x: Value, p: float) -> Value:
    """|x| ** p with derivative 0 where x = 0 (p < 1 would give inf · 0 there).

    For p < 0 an entry 0 gives inf, as numpy's 0 ** p: the sum is then inf and the norm 0 (an
    entry 0 left out of the sum gave the norm of the others, a wrong value).
    """
    nonzero = stop_gradient(x) != 0
    return where(nonzero, power(abs(where(nonzero, x, 1.0)), p), np.inf if p < 0 else 0.0)


def _matrix(x: Value, ord: Any, row: int, col: int) -> Value:
    """The matrix norm over axes (row, col), keepdims=True."""
    nd = len(shape_of(x))
    if ord in (None, "fro"):
        return _safe_root(sum(_squares(x), axis=(row, col), keepdims=True), 2)
    if ord in (1, -1, np.inf, -np.inf):
        x = _moduli(x)
    if ord in (1, -1):  # the largest (smallest) column sum of |x|
        return _pick(sum(abs(x), axis=row, keepdims=True), col, ord > 0)
    if ord in (np.inf, -np.inf):  # the largest (smallest) row sum of |x|
        return _pick(sum(abs(x), axis=col, keepdims=True), row, ord > 0)
    if ord in (2, -2, "nuc"):
        if np.iscomplexobj(stop_gradient(x)):
            raise TypeError(f"norm with ord={ord!r} of complex matrices (their singular values) "
                            f"is not supported by dualdiff: the SVD of a complex matrix is not "
                            f"differentiated; 'fro', 1, -1, inf and -inf are")
        rest = [i for i in range(nd) if i not in (row, col)]
        s = svdvals(transpose(x, tuple(rest) + (row, col)))
        ns = len(shape_of(s))
        if ord == "nuc":
            out = sum(s, axis=ns - 1)
        else:  # svdvals come sorted (descending): the first is the largest
            out = reshape(_pick(s, ns - 1, ord > 0), shape_of(s)[:-1])
        kept = list(shape_of(x))
        kept[row] = kept[col] = 1
        # out's axes are x's remaining axes in order; put the two unit axes back in place
        return reshape(out, tuple(kept))
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices")


def norm(x: Value, ord: Any = None, axis: Union[None, int, Sequence[int]] = None,
         keepdims: bool = False) -> Value:
    """The vector or matrix norm of x, as np.linalg.norm (every ``ord`` numpy accepts).

    ``axis=None``: the 2-norm of x flattened (ord=None), or the ord-norm of a 1-d or 2-d x;
    an int axis: vector norms along it; a pair of axes: matrix norms over them. The derivative
    at the zero vector is 0 (see the module docstring).

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.linalg.norm(np.array([3.0, 4.0])))
    5.0
    >>> dd.grad(dd.linalg.norm, np.zeros(2))        # the subgradient convention at 0
    array([0., 0.])
    """
    shape = shape_of(x)
    nd = len(shape)
    if axis is None:
        if ord is None:
            out = _vector(reshape(x, (-1,)), None, (0,))
            return reshape(out, (1,) * nd) if keepdims else reshape(out, ())
        if nd == 1:
            axes: tuple = (0,)
        elif nd == 2:
            axes = (0, 1)
        else:
            raise ValueError("norm: improper number of dimensions to norm (give axis for ord "
                             "with arrays of more than 2 dimensions)")
    else:
        axes = norm_axes(axis, nd) or ()
        if len(set(axes)) != len(axes):
            raise ValueError(f"norm: duplicate axes given: {axis}")
    if len(axes) == 1:
        out = _vector(x, ord, axes)
    elif len(axes) == 2:
        out = _matrix(x, ord, axes[0], axes[1])
    else:
        raise ValueError("norm: improper number of dimensions to norm")
    if keepdims:
        return out
    return reshape(out, tuple(n for i, n in enumerate(shape) if i not in axes))


def vector_norm(x: Value, /, *, axis: Union[None, int, Sequence[int]] = None,
                keepdims: bool = False, ord: Any = 2) -> Value:
    """The vector norm over ``axis`` (all axes, as one vector, by default), as np.linalg.vector_norm.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.linalg.vector_norm(np.ones((2, 2)), ord=1))
    4.0
    """
    shape = shape_of(x)
    axes = tuple(range(len(shape))) if axis is None else (norm_axes(axis, len(shape)) or ())
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    flat = reshape(transpose(x, rest + axes), tuple(shape[i] for i in rest) + (-1,))
    out = _vector(flat, ord, (len(rest),))
    out = reshape(out, tuple(shape[i] for i in rest))
    if keepdims:
        return reshape(out, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return out


def matrix_norm(x: Value, /, *, keepdims: bool = False, ord: Any = "fro") -> Value:
    """The matrix norm of each matrix of a stack (..., m, n), as np.linalg.matrix_norm.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.linalg.matrix_norm(np.eye(2), ord="nuc"))
    2.0
    """
    nd = len(shape_of(x))
    return norm(x, ord=ord, axis=(nd - 2, nd - 1), keepdims=keepdims)


def cond(x: Value, p: Any = None) -> Value:
    """The condition number of each matrix of a stack, as np.linalg.cond.

    p = None or 2: σ_max/σ_min (-2: the inverse); other p: norm(x, p) · norm(inv(x), p).

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.linalg.cond(np.diag([4.0, 2.0])))
    2.0
    """
    if p in (None, 2, -2):
        s = svdvals(x)
        first, last = getitem(s, (Ellipsis, 0)), getitem(s, (Ellipsis, -1))
        return divide(first, last) if p != -2 else divide(last, first)
    nd = len(shape_of(x))
    return multiply(norm(x, p, axis=(nd - 2, nd - 1)), norm(inv(x), p, axis=(nd - 2, nd - 1)))
