"""Reshape, transpose, broadcast_to and sum: the linear primitives that move values between shapes.

Their tangent rule is the operation itself and their adjoint its transpose. ``sum`` lives here
rather than with the other reductions because it is broadcasting's transpose: every adjoint that
undoes numpy broadcasting (``sum_to``) is written with it, so every other family depends on this
module.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from ..primitives import TRACED, Primitive, bind1, concrete, is_traced, shape_of
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
    t = tangents[0]
    if chunked:
        nd = len(shape_of(primals[0]))
        axis = tuple(range(1, nd + 1)) if axis is None else tuple(a + 1 for a in axis)
        if type(t) is np.ndarray:  # the axes are normalised already: what sum() would bind
            return np.add.reduce(t, axis=axis, keepdims=params["keepdims"])
    return sum(t, axis=axis, keepdims=params["keepdims"])


def _sum_vjp(ct, primals, out, params, shapes, wants):
    shape = shapes[0]
    axis = params["axis"]
    # The summed axes come back as units first, unless keepdims kept them; a full sum's
    # cotangent is a scalar, which broadcasts as it is.
    if axis is None:
        if type(ct) is float or type(ct) is np.float64:
            # (a loss's sums: the number's read-only view, as broadcast_to makes it, directly)
            return (number_view(ct, shape),)
    elif not params["keepdims"]:
        if type(ct) is np.ndarray and ct.size > 1 and not any(ct.strides):
            # One number broadcast (a full sum's cotangent handed on by a difference): the view
            # of its first element, every stride 0, that the two calls below make.
            out = np.ndarray(shape, ct.dtype, ct.reshape(-1)[:1], 0, (0,) * len(shape))
            out.setflags(write=False)
            return (out,)
        ct = reshape(ct, tuple([1 if i in axis else n for i, n in enumerate(shape)]))
    return (broadcast_to(ct, shape),)


# The array methods and the ufunc's reduce, not np.sum/np.reshape/np.transpose: same results,
# a microsecond less of numpy's Python-level dispatch on every call. The reduce takes x itself
# (it converts lists and numbers the same way), so sparsity's index sets can see it.
SUM = register(Primitive(
    "sum", lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),
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


def number_view(x: Any, shape: tuple) -> np.ndarray:
    """A float (or np.float64) seen everywhere in ``shape`` (no negative size): the read-only
    view np.broadcast_to gives."""
    out = np.ndarray(shape, _F64, np.asarray(x), 0, (0,) * len(shape))
    out.setflags(write=False)  # (a fifth of what setting out.flags.writeable costs)
    return out


_F64 = np.dtype(np.float64)


def _broadcast_impl(x, shape):
    """np.broadcast_to(x, shape): the same read-only view, made directly for a C-contiguous
    array (np.broadcast_to goes through nditer in Python, about 5 µs; the cotangent of every
    sum is a broadcast)."""
    if type(x) is not np.ndarray:
        if type(x) is not float and type(x) is not np.float64:
            return np.broadcast_to(x, shape)
        if min(shape, default=0) >= 0:  # a number everywhere (a full sum's cotangent)
            return number_view(x, shape)
        x = np.asarray(x)
    lead = len(shape) - x.ndim
    if lead < 0 or not x.size:
        return np.broadcast_to(x, shape)
    source = x
    if not x.flags.c_contiguous:
        if any(x.strides):
            return np.broadcast_to(x, shape)
        # One number seen everywhere (the broadcast cotangent of a sum, reshaped): view that
        # element, whose buffer is contiguous.
        source = x.reshape(-1)[:1]
    if lead and min(shape[:lead]) < 0:
        return np.broadcast_to(x, shape)  # numpy's own error
    strides = [0] * lead
    for n, want, step in zip(x.shape, shape[lead:], x.strides):
        if n == want:
            strides.append(step)
        elif n == 1 and want >= 0:
            strides.append(0)
        else:
            return np.broadcast_to(x, shape)  # numpy's own error
    out = np.ndarray(shape, x.dtype, source, 0, tuple(strides))
    out.setflags(write=False)  # (a fifth of what setting out.flags.writeable costs)
    return out


BROADCAST = register(Primitive(
    "broadcast_to", _broadcast_impl, _broadcast_jvp,
    lambda ct, primals, out, params, shapes, wants: (sum_to(ct, shapes[0]),),
    needs="none", kind="linear", complex="holomorphic"))

def _cast_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
    source = shape_dtype(t)
    if source.kind not in "fc":  # not numbers (sparsity's index sets): nothing to cast
        return t
    return bind1(CAST, t, {"dtype": params["dtype"], "source": source})


def _cast_vjp(ct, primals, out, params, shapes, wants):
    return (bind1(CAST, ct, {"dtype": params["source"], "source": params["dtype"]}),)


def shape_dtype(x: Value) -> np.dtype:
    """The dtype of a plain value or of a traced value's primal."""
    return np.result_type(concrete(x))


# A change of floating precision: linear, so the tangent is cast the same way and the cotangent
# cast back. (Casts to integers or booleans are piecewise constant: ndarray.astype returns plain
# values for them, in surface.py.)
CAST = register(Primitive(
    "astype", lambda x, dtype, source: np.asarray(x).astype(dtype), _cast_jvp, _cast_vjp,
    needs="none", kind="linear", complex="holomorphic",
    doc="x in another floating dtype (float32 <-> float64, complex64 <-> complex128): the "
        "tangent is cast likewise and the cotangent cast back"))


# A copy that owns its memory: what index assignment into a traced value starts from. Tangents
# and cotangents are never written in place, so its rules pass them through unchanged.
COPY = register(Primitive(
    "copy", lambda x: np.array(x, copy=True),
    lambda primals, tangents, out, params, chunked: tangents[0],
    lambda ct, primals, out, params, shapes, wants: (ct,),
    needs="none", kind="linear", complex="holomorphic",
    doc="x's value in new memory (the identity on derivatives)"))


def copy(x: Value) -> Value:
    """x's value in new memory, as np.copy: index assignment into the copy leaves x alone.

    >>> import dualdiff as dd
    >>> dd.copy([1.0, 2.0])
    array([1., 2.])
    """
    return bind1(COPY, x)


def astype(x: Value, dtype: Any) -> Value:
    """x converted to the floating (or complex) ``dtype``, as ndarray.astype.

    Between real and complex dtypes use dualdiff's complex functions instead; a cast to an
    integer or boolean dtype has no derivative (``x.astype(int)`` on a traced x returns plain values).

    >>> import dualdiff as dd, numpy as np
    >>> dd.astype(np.ones(2), np.float32).dtype
    dtype('float32')
    """
    dtype = np.dtype(dtype)
    source = shape_dtype(x)
    if dtype.kind not in "fc" or source.kind not in "fc" or (dtype.kind == "c") != (source.kind == "c"):
        if not (type(x) in TRACED):
            return np.asarray(x).astype(dtype)
        raise TypeError(f"astype from {source} to {dtype} on a traced value: only casts between "
                        f"floating dtypes (or between complex ones) carry a derivative; for the "
                        f"plain value use x.primal.astype")
    if dtype == source:
        return x if type(x) in TRACED else np.array(x, dtype=dtype)
    return bind1(CAST, x, {"dtype": dtype, "source": source})


def sum(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """The sum of x's elements over ``axis`` (all of them by default), as np.sum.

    >>> import dualdiff as dd
    >>> dd.sum([[1.0, 2.0], [3.0, 4.0]], axis=0)
    array([4., 6.])
    """
    if axis is not None:
        nd = len(shape_of(x))
        # (one axis, in range: what norm_axes gives, without its loop; a loss sums every call)
        axis = (axis % nd,) if type(axis) is int and -nd <= axis < nd else norm_axes(axis, nd)
    return bind1(SUM, x, {"axis": axis, "keepdims": bool(keepdims)})


def reshape(x: Value, shape: Union[int, Sequence[int]]) -> Value:
    """x's elements in a new shape (C order), as np.reshape; one entry may be -1.

    >>> import dualdiff as dd
    >>> dd.reshape([1.0, 2.0, 3.0, 4.0], (2, 2)).shape
    (2, 2)
    """
    if type(x) is np.ndarray and type(shape) is tuple:
        # A plain array: the impl's own x.reshape, without converting the shape first (the
        # adjoint rules reshape plain cotangents on every sweep). Anything numpy would not
        # take as it is goes the general way.
        try:
            return x.reshape(shape)
        except TypeError:
            pass
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    return bind1(RESHAPE, x, {"shape": shape})


def transpose(x: Value, axes: Optional[Sequence[int]] = None) -> Value:
    """x with its axes permuted (reversed by default), as np.transpose.

    >>> import dualdiff as dd
    >>> dd.transpose([[1.0, 2.0]]).shape
    (2, 1)
    """
    if type(x) is np.ndarray and type(axes) is tuple:
        # A plain array and valid axes: the impl's own x.transpose (the adjoint of a matrix
        # product transposes plain arrays on every sweep); numpy refusing goes the general way,
        # which says why.
        try:
            return x.transpose(axes)
        except (TypeError, ValueError):
            pass
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
    if type(x) is np.ndarray or type(x) is float or type(x) is np.float64:
        return _broadcast_impl(x, tuple(shape))  # what bind1 would call: nothing is traced
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




# -- composites: axis moves and tiling, written with the primitives above ---------------------

def _axis(axis: int, ndim: int) -> int:
    """``axis`` wrapped into range(ndim), with numpy's error when it is out of bounds."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def moveaxis(x: Value, source: Union[int, Sequence[int]], destination: Union[int, Sequence[int]]) -> Value:
    """x with axes ``source`` moved to ``destination`` (the others keep their order), as np.moveaxis.

    >>> import dualdiff as dd, numpy as np
    >>> dd.moveaxis(np.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    nd = len(shape_of(x))
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    src, dst = [_axis(a, nd) for a in src], [_axis(a, nd) for a in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError("moveaxis: repeated axis")
    order = [a for a in range(nd) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def rollaxis(x: Value, axis: int, start: int = 0) -> Value:
    """x with ``axis`` moved to stand before ``start``, as np.rollaxis.

    >>> import dualdiff as dd, numpy as np
    >>> dd.rollaxis(np.zeros((2, 3, 4)), 2).shape
    (4, 2, 3)
    """
    nd = len(shape_of(x))
    axis = _axis(axis, nd)
    start = int(start) + nd if start < 0 else int(start)
    if not 0 <= start <= nd:
        raise ValueError(f"rollaxis: start {start} is out of bounds for dimension {nd}")
    if axis < start:
        start -= 1
    return moveaxis(x, axis, start) if nd else x


def swapaxes(x: Value, axis1: int, axis2: int) -> Value:
    """x with two axes exchanged, as np.swapaxes.

    >>> import dualdiff as dd, numpy as np
    >>> dd.swapaxes(np.zeros((2, 3)), 0, 1).shape
    (3, 2)
    """
    nd = len(shape_of(x))
    a1, a2 = _axis(axis1, nd), _axis(axis2, nd)
    axes = list(range(nd))
    axes[a1], axes[a2] = axes[a2], axes[a1]
    return transpose(x, tuple(axes))


def atleast_1d(*xs: Value) -> Value:
    """Each value with at least one axis (0-d becomes shape (1,)), as np.atleast_1d.

    >>> import dualdiff as dd
    >>> dd.atleast_1d(2.0)
    array([2.])
    """
    out = [x if len(shape_of(x)) >= 1 else reshape(x, (1,)) for x in xs]
    return out[0] if len(out) == 1 else out


def atleast_2d(*xs: Value) -> Value:
    """Each value with at least two axes ((n,) becomes (1, n)), as np.atleast_2d.

    >>> import dualdiff as dd
    >>> dd.atleast_2d([1.0, 2.0]).shape
    (1, 2)
    """
    out = [x if len(shape_of(x)) >= 2 else reshape(x, (1,) * (2 - len(shape_of(x))) + shape_of(x))
           for x in xs]
    return out[0] if len(out) == 1 else out


def atleast_3d(*xs: Value) -> Value:
    """Each value with at least three axes ((n,) -> (1, n, 1), (m, n) -> (m, n, 1)), as np.atleast_3d.

    >>> import dualdiff as dd
    >>> dd.atleast_3d([[1.0, 2.0]]).shape
    (1, 2, 1)
    """
    def three(x):
        s = shape_of(x)
        return reshape(x, {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s))
    out = [three(x) for x in xs]
    return out[0] if len(out) == 1 else out


def tile(x: Value, reps: Union[int, Sequence[int]]) -> Value:
    """x repeated ``reps`` times along each axis, as np.tile (a broadcast, so its adjoint is a sum).

    >>> import dualdiff as dd
    >>> dd.tile([1.0, 2.0], 2)
    array([1., 2., 1., 2.])
    """
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shape = shape_of(x)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + reps
    # (r0, n0, r1, n1, ...) broadcast from (1, n0, 1, n1, ...), then merged pairwise.
    x = reshape(x, tuple(v for n in shape for v in (1, n)))
    x = broadcast_to(x, tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return reshape(x, tuple(r * n for r, n in zip(reps, shape)))


def broadcast_arrays(*xs: Value) -> tuple:
    """The values broadcast against each other to one shape, as np.broadcast_arrays (a tuple).

    >>> import dualdiff as dd, numpy as np
    >>> [a.shape for a in dd.broadcast_arrays(np.ones((2, 1)), np.ones(3))]
    [(2, 3), (2, 3)]
    """
    shape = np.broadcast_shapes(*(shape_of(x) for x in xs))
    return tuple(broadcast_to(x, shape) for x in xs)


def meshgrid(*xi: Value, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> tuple:
    """Coordinate arrays from 1-d coordinate vectors, as np.meshgrid (a tuple).

    n vectors of lengths (k1, ..., kn) give n arrays of shape (k2, k1, k3, ...) with
    ``indexing="xy"`` (the default) or (k1, k2, ...) with ``"ij"``; ``sparse=True`` keeps
    the broadcastable shapes. Each output carries its own vector's derivative.

    >>> import dualdiff as dd, numpy as np
    >>> X, Y = dd.meshgrid(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0]))
    >>> X.shape, Y[:, 0]
    ((2, 3), array([4., 5.]))
    """
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    ones = (1,) * ndim
    out = [reshape(x if is_traced(x) else np.asarray(x), ones[:i] + (-1,) + ones[i + 1:])
           for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        out[0] = reshape(out[0], (1, -1) + ones[2:])
        out[1] = reshape(out[1], (-1, 1) + ones[2:])
    if not sparse:
        out = list(broadcast_arrays(*out))
    if copy:
        out = [_copy(o) for o in out]
    return tuple(out)


_copy = copy
