"""Reshape, transpose, broadcast_to and sum: the linear primitives that move values between shapes.

Their tangent rule is the operation itself and their adjoint its transpose. ``sum`` lives here
rather than with the other reductions because it is broadcasting's transpose: every adjoint that
undoes numpy broadcasting (``sum_to``) is written with it, so every other family depends on this
module.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from ..primitives import Primitive, bind1, shape_of
from .table import Value, norm_axes, register


def align_chunk(t: Value, out_ndim: int) -> Value:
    """Give a chunked tangent (k, *S) enough unit axes after k to broadcast like its primal."""
    tshape = shape_of(t)
    missing = out_ndim - (len(tshape) - 1)
    if missing > 0:
        return reshape(t, tshape[:1] + (1,) * missing + tshape[1:])
    return t


def _sum_jvp(primals, tangents, out, params, chunked):
    axis = params["axis"]
    if chunked:
        nd = len(shape_of(primals[0]))
        axis = tuple(range(1, nd + 1)) if axis is None else tuple(a + 1 for a in axis)
    return sum(tangents[0], axis=axis, keepdims=params["keepdims"])


def _sum_vjp(ct, primals, out, params, shapes, wants):
    shape = shapes[0]
    axis, keepdims = params["axis"], params["keepdims"]
    if not keepdims:
        axes = range(len(shape)) if axis is None else axis
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        ct = reshape(ct, kept)
    return (broadcast_to(ct, shape),)


# The array methods and the ufunc's reduce, not np.sum/np.reshape/np.transpose: same results,
# a microsecond less of numpy's Python-level dispatch on every call.
SUM = register(Primitive(
    "sum", lambda x, axis=None, keepdims=False: np.add.reduce(np.asarray(x), axis=axis, keepdims=keepdims),
    _sum_jvp, _sum_vjp, needs="none", kind="linear", complex="holomorphic"))


def _reshape_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
    shape = shape_of(out)
    return reshape(t, (shape_of(t)[0],) + shape if chunked else shape)


RESHAPE = register(Primitive(
    "reshape", lambda x, shape: np.asarray(x).reshape(shape), _reshape_jvp,
    lambda ct, primals, out, params, shapes, wants: (reshape(ct, shapes[0]),),
    needs="none", kind="linear", complex="holomorphic"))


def _transpose_jvp(primals, tangents, out, params, chunked):
    axes = params["axes"]
    if chunked:
        axes = (0,) + tuple(a + 1 for a in axes)
    return transpose(tangents[0], axes)


def _transpose_vjp(ct, primals, out, params, shapes, wants):
    return (transpose(ct, tuple(np.argsort(params["axes"]))),)


TRANSPOSE = register(Primitive(
    "transpose", lambda x, axes: np.asarray(x).transpose(axes), _transpose_jvp, _transpose_vjp,
    needs="none", kind="linear", complex="holomorphic"))


def _broadcast_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
    shape = params["shape"]
    if chunked:
        t = align_chunk(t, len(shape))
        shape = (shape_of(t)[0],) + shape
    return broadcast_to(t, shape)


BROADCAST = register(Primitive(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape), _broadcast_jvp,
    lambda ct, primals, out, params, shapes, wants: (sum_to(ct, shapes[0]),),
    needs="none", kind="linear", complex="holomorphic"))

def sum(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """The sum of x's elements over ``axis`` (all of them by default), as np.sum.

    >>> import dualdiff as dd
    >>> dd.sum([[1.0, 2.0], [3.0, 4.0]], axis=0)
    array([4., 6.])
    """
    return bind1(SUM, x, {"axis": norm_axes(axis, len(shape_of(x))), "keepdims": bool(keepdims)})


def reshape(x: Value, shape: Union[int, Sequence[int]]) -> Value:
    """x's elements in a new shape (C order), as np.reshape; one entry may be -1.

    >>> import dualdiff as dd
    >>> dd.reshape([1.0, 2.0, 3.0, 4.0], (2, 2)).shape
    (2, 2)
    """
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    return bind1(RESHAPE, x, {"shape": shape})


def transpose(x: Value, axes: Optional[Sequence[int]] = None) -> Value:
    """x with its axes permuted (reversed by default), as np.transpose.

    >>> import dualdiff as dd
    >>> dd.transpose([[1.0, 2.0]]).shape
    (2, 1)
    """
    nd = len(shape_of(x))
    axes = tuple(range(nd))[::-1] if axes is None else tuple(
        int(a) + nd if -nd <= int(a) < 0 else int(a) for a in axes)
    if sorted(axes) != list(range(nd)):
        # Out-of-range axes stay as given (not wrapped round), so the message shows them.
        raise ValueError(f"axes {axes} are not a permutation of the {nd} axes of an array "
                         f"of shape {shape_of(x)}")
    return bind1(TRANSPOSE, x, {"axes": axes})


def broadcast_to(x: Value, shape: Sequence[int]) -> Value:
    """x broadcast to ``shape`` (a read-only view for plain arrays), as np.broadcast_to.

    >>> import dualdiff as dd
    >>> dd.broadcast_to(1.0, (2,))
    array([1., 1.])
    """
    return bind1(BROADCAST, x, {"shape": tuple(shape)})


def sum_to(x: Value, shape: Sequence[int]) -> Value:
    """x summed down to ``shape``: the transpose of broadcasting ``shape`` up to x's shape.

    This is how a cotangent flows back through numpy broadcasting.

    >>> import dualdiff as dd
    >>> dd.sum_to([[1.0, 2.0], [3.0, 4.0]], (2,))
    array([4., 6.])
    """
    shape = tuple(shape)
    xshape = shape_of(x)
    if xshape == shape:
        return x
    lead = len(xshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and xshape[lead + i] != 1)
    out = sum(x, axis=axes, keepdims=True) if axes else x
    return reshape(out, shape)


