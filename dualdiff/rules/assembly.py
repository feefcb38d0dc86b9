"""Assembling arrays from pieces: stack, concatenate, and where (an elementwise select).

All are linear: the tangent rule applies the operation to the tangents (zeros for constant
pieces), the adjoint hands each piece its slice of the cotangent.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..primitives import Primitive, bind, is_traced, shape_of, stop_gradient
from .indexing import getitem
from .shape import align_chunk, broadcast_to, reshape, sum_to
from .table import Value, float_dtype, register


def _fill_tangents(primals, tangents, chunked) -> list:
    """Tangents for a multi-argument linear op, with zeros (of the tangents' dtype) for constants."""
    first = next(t for t in tangents if t is not None)
    lead = shape_of(first)[:1] if chunked else ()
    dtype = float_dtype(first)
    return [t if t is not None else np.zeros(lead + shape_of(p), dtype=dtype)
            for p, t in zip(primals, tangents)]


def _shift_axis(axis: int, chunked: bool) -> int:
    return axis + 1 if chunked and axis >= 0 else axis


def _stack_jvp(primals, tangents, out, params, chunked):
    return bind(STACK, *_fill_tangents(primals, tangents, chunked),
                axis=_shift_axis(params["axis"], chunked))


def _stack_vjp(ct, primals, out, params, shapes, wants):
    axis = params["axis"] % len(shape_of(ct))
    return tuple(getitem(ct, (slice(None),) * axis + (i,)) if w else None
                 for i, w in enumerate(wants))


STACK = register(Primitive(
    "stack", lambda *xs, axis: np.stack(xs, axis=axis), _stack_jvp, _stack_vjp,
    needs="none", kind="linear", complex="holomorphic"))


def _concat_jvp(primals, tangents, out, params, chunked):
    return bind(CONCAT, *_fill_tangents(primals, tangents, chunked),
                axis=_shift_axis(params["axis"], chunked))


def _concat_vjp(ct, primals, out, params, shapes, wants):
    axis = params["axis"] % len(shape_of(ct))
    cts, start = [], 0
    for shape, w in zip(shapes, wants):
        stop = start + shape[axis]
        cts.append(getitem(ct, (slice(None),) * axis + (slice(start, stop),)) if w else None)
        start = stop
    return tuple(cts)


CONCAT = register(Primitive(
    "concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis), _concat_jvp, _concat_vjp,
    needs="none", kind="linear", complex="holomorphic"))


def _where_jvp(primals, tangents, out, params, chunked):
    cond = params["cond"]
    tx, ty = _fill_tangents(primals, tangents, chunked)
    if chunked:
        nd = len(shape_of(out))
        tx, ty = align_chunk(tx, nd), align_chunk(ty, nd)
    t = bind(WHERE, tx, ty, cond=cond)
    want = (shape_of(t)[0],) + shape_of(out) if chunked else shape_of(out)
    return t if shape_of(t) == want else broadcast_to(t, want)


def _where_vjp(ct, primals, out, params, shapes, wants):
    cond = params["cond"]
    zero = np.zeros((), dtype=float_dtype(ct))
    return (sum_to(bind(WHERE, ct, zero, cond=cond), shapes[0]) if wants[0] else None,
            sum_to(bind(WHERE, zero, ct, cond=cond), shapes[1]) if wants[1] else None)


# A select, not a blend: in forward mode the tangent of the branch not taken is dropped rather
# than multiplied by 0, so an inf or nan there cannot leak through. In reverse mode that branch
# receives a zero cotangent, and its own adjoint can still make 0 * inf = nan (sqrt at x <= 0 in
# where(x > 0, sqrt(x), 0)), exactly as in JAX and PyTorch: keep such values out of the branch
# altogether with the "double where", sqrt(where(x > 0, x, 1)). docs/api.md shows it.
WHERE = register(Primitive(
    "where", lambda x, y, cond: np.where(cond, x, y), _where_jvp, _where_vjp,
    needs="none", kind="linear", complex="holomorphic"))

def where(cond: Any, x: Value, y: Value) -> Value:
    """x where cond is true, else y, with broadcasting; the derivative flows only to the branch taken.

    ``cond`` is a boolean array or comparison result; a Dual there counts only by its value.

    >>> import dualdiff as dd
    >>> dd.where([True, False], [1.0, 2.0], [3.0, 4.0])
    array([1., 4.])
    """
    if is_traced(cond):
        cond = stop_gradient(cond)
    if is_traced(cond):
        # A value being recorded by dd.compile: converted to bool by a recorded operation, so
        # the compiled code tests each call's condition, not the recording's.
        cond = np.not_equal(cond, False)
    else:
        cond = np.asarray(cond, dtype=bool)
    return bind(WHERE, x, y, cond=cond)


def stack(arrays: Sequence[Value], axis: int = 0) -> Value:
    """Join arrays of one shape along a new axis, as np.stack.

    >>> import dualdiff as dd
    >>> dd.stack([1.0, 2.0]).shape
    (2,)
    """
    arrays = _as_sequence(arrays, "stack")
    return bind(STACK, *arrays, axis=int(axis))


def concatenate(arrays: Sequence[Value], axis: int = 0) -> Value:
    """Join arrays along an existing axis, as np.concatenate.

    >>> import dualdiff as dd
    >>> dd.concatenate([[1.0], [2.0, 3.0]]).shape
    (3,)
    """
    arrays = _as_sequence(arrays, "concatenate")
    if axis is None:
        return concatenate([reshape(a, (-1,)) for a in arrays], 0)
    return bind(CONCAT, *arrays, axis=int(axis))


def _as_sequence(arrays: Any, name: str) -> list:
    if is_traced(arrays) or isinstance(arrays, np.ndarray):
        return [arrays[i] for i in range(len(arrays))]
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{name} takes a list or tuple of arrays, not {type(arrays).__name__}")
    if not arrays:
        raise ValueError(f"{name} needs at least one array")
    return list(arrays)


