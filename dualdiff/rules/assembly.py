"""Assembling arrays from pieces: stack, concatenate, and where (an elementwise select).

All are linear: the tangent rule applies the operation to the tangents (zeros for constant
pieces), the adjoint hands each piece its slice of the cotangent.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Union

import numpy as np

from ..primitives import Primitive, bind, is_traced, shape_of, stop_gradient
from .indexing import (
    INDEX_ADD, _along, _int_index, _is_basic_index, check_plain_index, diagonal, getitem, take,
)
from .shape import (
    _axis, align_chunk, astype, atleast_1d, atleast_2d, atleast_3d, broadcast_to, reshape,
    shape_dtype, sum_to,
)
from .table import Value, float_dtype, norm_axes, register


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
    return [_read_nested(a) for a in arrays]


def _read_nested(a: Any) -> Any:
    """One piece as np.asarray reads it: a list or tuple holding traced numbers, at any depth
    (np.concatenate([r, [x[0] - 1.0]])), stacked; anything else as it is."""
    if isinstance(a, (list, tuple)) and _holds_traced(a):
        return stack(a)
    return a


def _holds_traced(a: Any) -> bool:
    return any(is_traced(e) or (isinstance(e, (list, tuple)) and _holds_traced(e)) for e in a)




# -- composites: stacking, splitting, padding and selecting, written with the primitives -------

def vstack(arrays: Sequence[Value]) -> Value:
    """The arrays stacked as rows (1-d ones become rows), as np.vstack.

    >>> import dualdiff as dd
    >>> dd.vstack([[1.0, 2.0], [3.0, 4.0]]).shape
    (2, 2)
    """
    return concatenate([atleast_2d(a) for a in _as_sequence(arrays, "vstack")], 0)


def row_stack(arrays: Sequence[Value]) -> Value:
    """The same as :func:`vstack` (numpy's older name).

    >>> import dualdiff as dd
    >>> dd.row_stack([[1.0], [2.0]]).shape
    (2, 1)
    """
    return vstack(arrays)


def hstack(arrays: Sequence[Value]) -> Value:
    """The arrays joined along axis 1 (along axis 0 for 1-d ones), as np.hstack.

    >>> import dualdiff as dd
    >>> dd.hstack([[1.0], [2.0, 3.0]])
    array([1., 2., 3.])
    """
    arrays = [atleast_1d(a) for a in _as_sequence(arrays, "hstack")]
    return concatenate(arrays, 0 if len(shape_of(arrays[0])) == 1 else 1)


def dstack(arrays: Sequence[Value]) -> Value:
    """The arrays joined along a third axis (after np.atleast_3d), as np.dstack.

    >>> import dualdiff as dd
    >>> dd.dstack([[1.0, 2.0], [3.0, 4.0]]).shape
    (1, 2, 2)
    """
    return concatenate([atleast_3d(a) for a in _as_sequence(arrays, "dstack")], 2)


def column_stack(arrays: Sequence[Value]) -> Value:
    """1-d arrays as columns (2-d ones as they are), joined along axis 1, as np.column_stack.

    >>> import dualdiff as dd
    >>> dd.column_stack([[1.0, 2.0], [3.0, 4.0]])
    array([[1., 3.],
           [2., 4.]])
    """
    arrays = [reshape(a, (-1, 1)) if len(shape_of(a)) < 2 else a
              for a in _as_sequence(arrays, "column_stack")]
    return concatenate(arrays, 1)


def append(x: Value, values: Value, axis: Optional[int] = None) -> Value:
    """x with ``values`` appended along ``axis`` (both flattened by default), as np.append.

    >>> import dualdiff as dd
    >>> dd.append([1.0, 2.0], 3.0)
    array([1., 2., 3.])
    """
    x, values = _read_nested(x), _read_nested(values)
    if axis is None:
        return concatenate([reshape(x, (-1,)), reshape(values, (-1,))], 0)
    return concatenate([x, values], axis)


def delete(x: Value, obj: Any, axis: Optional[int] = None) -> Value:
    """x without the entries ``obj`` selects along ``axis`` (x flattened by default), as np.delete.

    ``obj`` is an index, a slice, a list of indices or a boolean mask, as numpy takes it.

    >>> import dualdiff as dd, numpy as np
    >>> dd.delete(np.array([1.0, 2.0, 3.0, 4.0]), [0, 2])
    array([2., 4.])
    """
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    n = shape_of(x)[axis] if len(shape_of(x)) else 0
    if is_traced(obj):
        raise TypeError("delete: the entries to delete cannot be traced values")
    keep = np.delete(np.arange(n), obj)  # numpy's own reading of obj, on positions
    return take(x, keep, axis=axis)


def insert(x: Value, obj: Any, values: Value, axis: Optional[int] = None) -> Value:
    """x with ``values`` inserted before the positions ``obj`` along ``axis`` (x flattened by
    default), as np.insert; the result has x's shape with the axis lengthened.

    ``obj`` is an index, a slice or a list of indices; ``values`` broadcast as numpy
    broadcasts them. Every entry of the result is one entry of x or of values, so the
    derivative reaches each from where it landed (a broadcast value's from all its copies).

    >>> import dualdiff as dd, numpy as np
    >>> dd.insert(np.array([1.0, 2.0, 3.0]), [1, 3], [10.0, 20.0])
    array([ 1., 10.,  2.,  3., 20.])
    """
    if is_traced(obj):
        raise TypeError("insert: the insertion positions cannot be traced values")
    if not is_traced(values):
        values = np.asarray(values)  # (a list holding traced values is refused here: use dd.stack)
    sx, sv = shape_of(x), shape_of(values)
    nx = int(np.prod(sx, dtype=np.int64))
    # numpy places and broadcasts labels as it would the values: x's entries are 1..nx,
    # values' entries -1..-nv, so each label in the result says where that entry comes from.
    labels = np.insert(np.arange(1, nx + 1).reshape(sx), obj,
                       -np.arange(1, int(np.prod(sv, dtype=np.int64)) + 1).reshape(sv), axis=axis)
    source = np.where(labels > 0, labels - 1, nx - labels - 1).reshape(-1)
    flat = concatenate([reshape(x, (-1,)), reshape(values, (-1,))])
    return reshape(take(flat, source), labels.shape)


def resize(x: Value, new_shape: Union[int, Sequence[int]]) -> Value:
    """x's elements repeated in order to fill ``new_shape``, as np.resize (not ndarray.resize).

    >>> import dualdiff as dd, numpy as np
    >>> dd.resize(np.array([1.0, 2.0, 3.0]), (2, 4))
    array([[1., 2., 3., 1.],
           [2., 3., 1., 2.]])
    """
    shape = (int(new_shape),) if isinstance(new_shape, (int, np.integer)) else tuple(new_shape)
    if any(d < 0 for d in shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    flat = reshape(x, (-1,))
    n, size = shape_of(flat)[0], int(np.prod(shape, dtype=np.int64))
    if n == 0 or size == 0:
        return np.zeros_like(np.asarray(stop_gradient(flat)), shape=shape)  # as numpy: no values to carry
    return reshape(take(flat, np.arange(size) % n), shape)


def _split_points(n: int, sections: Any, name: str) -> List[int]:
    if isinstance(sections, (int, np.integer)):
        k = int(sections)
        if k <= 0:
            raise ValueError(f"{name}: the number of sections must be larger than 0")
        if name == "split" and n % k:
            raise ValueError("array split does not result in an equal division")
        size, extra = divmod(n, k)
        bounds = [0]
        for i in range(k):
            bounds.append(bounds[-1] + size + (1 if i < extra else 0))
        return bounds
    return [0] + [int(i) for i in sections] + [n]


def array_split(x: Value, indices_or_sections: Any, axis: int = 0) -> list:
    """x cut along ``axis`` into pieces (a count need not divide the length), as np.array_split.

    >>> import dualdiff as dd
    >>> [p.shape for p in dd.array_split([1.0, 2.0, 3.0], 2)]
    [(2,), (1,)]
    """
    return _split(x, indices_or_sections, axis, "array_split")


def split(x: Value, indices_or_sections: Any, axis: int = 0) -> list:
    """x cut along ``axis`` into equal pieces or at the given indices, as np.split.

    >>> import dualdiff as dd
    >>> [p.tolist() for p in dd.split([1.0, 2.0, 3.0, 4.0], [1])]
    [[1.0], [2.0, 3.0, 4.0]]
    """
    return _split(x, indices_or_sections, axis, "split")


def _split(x: Value, sections: Any, axis: int, name: str) -> list:
    shape = shape_of(x)
    axis = _axis(axis, len(shape))
    bounds = _split_points(shape[axis], sections, name)
    # numpy clips the slice bounds, so indices past the end give empty pieces
    return [getitem(x, _along(axis, slice(a, max(a, b)))) for a, b in zip(bounds[:-1], bounds[1:])]


def unstack(x: Value, axis: int = 0) -> tuple:
    """x's slices along ``axis``, each without that axis, as np.unstack (numpy >= 2.1): a tuple
    of x.shape[axis] values.

    >>> import dualdiff as dd
    >>> [p.tolist() for p in dd.unstack([[1.0, 2.0], [3.0, 4.0]], axis=1)]
    [[1.0, 3.0], [2.0, 4.0]]
    """
    shape = shape_of(x)
    if not shape:
        raise ValueError("Input array must be at least 1-d.")
    axis = _axis(axis, len(shape))
    return tuple(getitem(x, _along(axis, i)) for i in range(shape[axis]))


def trim_zeros(filt: Value, trim: str = "fb", axis: Any = None) -> Value:
    """x without its leading ('f') and/or trailing ('b') zeros along ``axis`` (every axis by
    default; numpy >= 2.2 for more than one dimension), as np.trim_zeros: the smallest box
    holding x's nonzero elements, a slice of x, so the derivative flows to the elements kept.
    Which elements are zeros is read from the value.

    >>> import dualdiff as dd
    >>> dd.trim_zeros([0.0, 1.0, 0.0, 2.0, 0.0]).tolist()
    [1.0, 0.0, 2.0]
    >>> dd.trim_zeros([[0.0, 0.0], [0.0, 3.0]], axis=0).tolist()
    [[0.0, 3.0]]
    """
    if type(trim) is not str or trim.lower() not in ("f", "b", "fb", "bf"):
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r} (it is 'f' for the front, "
                         f"'b' for the back, or both)")
    nd = len(shape_of(filt))
    if not nd and axis is not None and np.size(axis):  # (norm_axes reads 0 there as "none")
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension 0")
    axes = tuple(range(nd)) if axis is None else tuple(norm_axes(axis, nd) or ())
    if not axes:  # nothing to trim (a 0-d x, or axis=()): numpy returns x as it is
        return filt
    plain = stop_gradient(filt)
    if is_traced(plain):  # a value dd.compile records: the kept box would be baked in
        raise TypeError("trim_zeros: which elements are zeros is read from the values, and sets "
                        "the result's shape, so dd.compile cannot record it; call the function "
                        "without dd.compile, or slice by hand")
    nonzero = np.argwhere(np.asarray(plain))
    start: List[Optional[int]]
    stop: List[Optional[int]]
    if not nonzero.size:  # all zeros: numpy keeps nothing along the axes trimmed
        start, stop = [0] * nd, [0] * nd
    else:
        start = [int(i) for i in nonzero.min(axis=0)] if "f" in trim.lower() else [None] * nd
        stop = [int(i) + 1 for i in nonzero.max(axis=0)] if "b" in trim.lower() else [None] * nd
    box = tuple(slice(start[a], stop[a]) if a in axes else slice(None) for a in range(nd))
    return getitem(filt, box[0] if nd == 1 else box)


def hsplit(x: Value, indices_or_sections: Any) -> list:
    """:func:`split` along axis 1 (axis 0 for 1-d values), as np.hsplit.

    >>> import dualdiff as dd
    >>> len(dd.hsplit([[1.0, 2.0]], 2))
    2
    """
    nd = len(shape_of(x))
    if nd == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(x, indices_or_sections, 1 if nd > 1 else 0)


def vsplit(x: Value, indices_or_sections: Any) -> list:
    """:func:`split` along axis 0 of a value of at least 2 dimensions, as np.vsplit.

    >>> import dualdiff as dd
    >>> len(dd.vsplit([[1.0], [2.0]], 2))
    2
    """
    if len(shape_of(x)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(x, indices_or_sections, 0)


def dsplit(x: Value, indices_or_sections: Any) -> list:
    """:func:`split` along axis 2 of a value of at least 3 dimensions, as np.dsplit.

    >>> import dualdiff as dd, numpy as np
    >>> len(dd.dsplit(np.ones((1, 1, 4)), 2))
    2
    """
    if len(shape_of(x)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(x, indices_or_sections, 2)


def roll(x: Value, shift: Any, axis: Union[None, int, Sequence[int]] = None) -> Value:
    """x's elements shifted cyclically by ``shift`` along ``axis`` (flattened by default), as np.roll.

    >>> import dualdiff as dd
    >>> dd.roll([1.0, 2.0, 3.0], 1)
    array([3., 1., 2.])
    """
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), shape_of(x))
    shape = shape_of(x)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    shifts = np.broadcast_to(np.asarray(shift, dtype=int), (len(axes),))
    total: dict = {}
    for a, s in zip(axes, shifts):  # shifts along one axis add up, as in numpy
        a = _axis(a, len(shape))
        total[a] = total.get(a, 0) + int(s)
    for a, s in total.items():
        n = shape[a]
        s = s % n if n else 0
        if s:
            x = concatenate([getitem(x, _along(a, slice(n - s, None))),
                             getitem(x, _along(a, slice(0, n - s)))], a)
    return x


def pad_widths(pad_width: Any, nd: int) -> np.ndarray:
    """np.pad's ``pad_width`` as numpy reads it, an (nd, 2) array of (before, after) counts: a
    count, a pair, one pair per axis, or (numpy >= 2.3) a dict {axis: count or pair}; a width
    that is not an integer is refused, as numpy refuses it (1.5 is no count of elements)."""
    if isinstance(pad_width, dict):
        pairs: List[Any] = [(0, 0)] * nd
        for axis, width in pad_width.items():
            if type(width) is tuple and len(width) == 2:
                pairs[_axis(axis, nd)] = width
            elif isinstance(width, (int, np.integer)) and not isinstance(width, bool):
                pairs[_axis(axis, nd)] = (width, width)
            else:
                raise TypeError(f"pad: a pad_width dict maps an axis to a count or a (before, "
                                f"after) pair of counts, not {width!r}")
        pad_width = pairs
    widths = np.asarray(pad_width)
    if widths.dtype.kind != "i":  # (numpy refuses unsigned counts too)
        raise TypeError(f"pad: pad_width must be integers (numpy's `pad_width` must be of "
                        f"integral type), not {widths.dtype}")
    try:
        widths = np.broadcast_to(widths, (nd, 2)) if nd else np.zeros((0, 2), int)
    except ValueError:
        raise ValueError(f"pad: pad_width must be a count, a (before, after) pair or one pair "
                         f"per axis ({nd}), not of shape {widths.shape}") from None
    if np.any(widths < 0):
        raise ValueError("pad: pad_width cannot be negative")
    return widths


def pad(x: Value, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Value:
    """x padded by ``pad_width`` (per axis (before, after)), as np.pad; modes constant, edge,
    reflect, symmetric and wrap.

    ``constant`` places x in a plain array of the constants (its adjoint cuts the cotangent
    back out); the other modes gather x's own elements, so a border element receives the
    derivative of every copy of it.

    >>> import dualdiff as dd
    >>> dd.pad([1.0, 2.0], 1, mode="edge")
    array([1., 1., 2., 2.])
    """
    shape = shape_of(x)
    nd = len(shape)
    widths = pad_widths(pad_width, nd)
    if not nd:  # a 0-d x has no axis to pad: numpy returns it as it is
        return x
    if mode == "constant":
        extra = set(kwargs) - {"constant_values"}
        if extra:
            raise TypeError(f"pad: mode 'constant' takes no {', '.join(sorted(extra))}")
        values = kwargs.get("constant_values", 0)
        if is_traced(values):
            raise TypeError("pad: constant_values must be plain numbers (their derivative is "
                            "not carried); pad with 0 and add the traced values with dd.where")
        out_shape = tuple(int(n + b + a) for n, (b, a) in zip(shape, widths))
        place = tuple(slice(int(b), int(b) + n) for n, (b, a) in zip(shape, widths))
        placed = bind(INDEX_ADD, x, idx=place, shape=out_shape)
        border = np.pad(np.zeros(shape, dtype=float_dtype(x)), widths, mode="constant",
                        constant_values=values)
        return placed + border if np.any(border) else placed
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise TypeError(f"pad: mode {mode!r} is not supported on traced values (constant, edge, "
                        f"reflect, symmetric, wrap, maximum, minimum, mean, median and "
                        f"linear_ramp are; for 'empty', whose border numpy leaves undefined, "
                        f"use 'constant')")
    if kwargs.get("reflect_type", "even") != "even" or set(kwargs) - {"reflect_type"}:
        raise TypeError("pad: only reflect_type='even' is supported on traced values")
    for a, (b, e) in enumerate(widths):
        if b or e:
            x = _pad_axis(x, a, int(b), int(e), mode)
    return x


def _pad_axis(x: Value, a: int, b: int, e: int, mode: str) -> Value:
    """x padded along axis a by b before and e after, in one of the modes that copy x's elements."""
    n = shape_of(x)[a]
    limit = {"edge": n and max(b, e), "wrap": n, "symmetric": n, "reflect": n - 1}[mode]
    if n and b <= limit and e <= limit:
        # Slices of x joined: the adjoint cuts the cotangent apart (and sums the edge copies)
        # instead of scatter-adding through a gather.
        def part(start: int, stop: int, reverse: bool = False) -> Value:
            piece = getitem(x, _along(a, slice(start, stop)))
            return getitem(piece, _along(a, slice(None, None, -1))) if reverse else piece
        if mode == "edge":
            shape = shape_of(x)
            edge = lambda i, w: broadcast_to(part(i, i + 1), shape[:a] + (w,) + shape[a + 1:])  # noqa: E731
            before, after = edge(0, b), edge(n - 1, e)
        elif mode == "wrap":
            before, after = part(n - b, n), part(0, e)
        elif mode == "symmetric":
            before, after = part(0, b, True), part(n - e, n, True)
        else:  # reflect: the edge element is not repeated
            before, after = part(1, b + 1, True), part(n - 1 - e, n - 1, True)
        return concatenate([p for p, w in ((before, b), (x, 1), (after, e)) if w], a)
    # Wider than x: numpy's own padding of the positions 0..n-1 is the gather that pads it
    source = np.pad(np.arange(n), (b, e), mode=mode)  # type: ignore[call-overload]
    return getitem(x, _along(a, source))


def diag(v: Value, k: int = 0) -> Value:
    """A 1-d v on the k-th diagonal of a square matrix of zeros, or the k-th diagonal of a 2-d v, as np.diag.

    >>> import dualdiff as dd
    >>> dd.diag([1.0, 2.0])
    array([[1., 0.],
           [0., 2.]])
    """
    if not is_traced(v):
        v = np.asarray(v)
    shape = shape_of(v)
    k = int(k)
    if len(shape) == 2:
        return diagonal(v, k)
    if len(shape) != 1:
        raise ValueError("diag: input must be 1-d or 2-d")
    n = shape[0] + abs(k)
    i = np.arange(shape[0])
    rows, cols = (i, i + k) if k >= 0 else (i - k, i)
    return bind(INDEX_ADD, v, idx=(rows, cols), shape=(n, n))


def diagflat(v: Value, k: int = 0) -> Value:
    """The flattened v on the k-th diagonal of a square matrix of zeros, as np.diagflat.

    >>> import dualdiff as dd
    >>> dd.diagflat([[1.0, 2.0]]).shape
    (2, 2)
    """
    return diag(reshape(v, (-1,)), k)


def _triangle(m: Value, k: int, lower: bool, name: str) -> Value:
    shape = shape_of(m)
    if len(shape) < 2:
        raise ValueError(f"{name} needs an array of at least 2 dimensions")
    mask = np.tri(shape[-2], shape[-1], int(k) - (0 if lower else 1), dtype=bool)
    return where(mask if lower else ~mask, m, 0.0)


def tril(m: Value, k: int = 0) -> Value:
    """m with the elements above the k-th diagonal zeroed (last two axes), as np.tril.

    >>> import dualdiff as dd
    >>> dd.tril([[1.0, 2.0], [3.0, 4.0]])
    array([[1., 0.],
           [3., 4.]])
    """
    return _triangle(m, k, True, "tril")


def triu(m: Value, k: int = 0) -> Value:
    """m with the elements below the k-th diagonal zeroed (last two axes), as np.triu.

    >>> import dualdiff as dd
    >>> dd.triu([[1.0, 2.0], [3.0, 4.0]])
    array([[1., 2.],
           [0., 4.]])
    """
    return _triangle(m, k, False, "triu")


def select(condlist: Sequence[Any], choicelist: Sequence[Value], default: Value = 0) -> Value:
    """Elementwise, the choice of the first true condition (``default`` where none is), as np.select.

    The derivative flows to the choice taken, as in :func:`where`.

    >>> import dualdiff as dd, numpy as np
    >>> x = np.array([-1.0, 0.5, 2.0])
    >>> dd.select([x < 0, x > 1], [-x, x * 10], default=x)
    array([ 1. ,  0.5, 20. ])
    """
    if len(condlist) != len(choicelist):
        raise ValueError("select: condlist and choicelist must have the same length")
    # (a condition dd.compile is recording stays its staged value: where() records its test)
    conds = [c if is_traced(c) else np.asarray(c) for c in map(stop_gradient, condlist)]
    if any(c.dtype != bool for c in conds):
        raise TypeError("select: the conditions must be boolean arrays")
    shapes = [shape_of(c) for c in conds] + [shape_of(c) for c in choicelist] + [shape_of(default)]
    out = default
    for cond, choice in zip(conds[::-1], list(choicelist)[::-1]):
        out = where(cond, choice, out)
    out_shape = np.broadcast_shapes(*shapes)
    return out if shape_of(out) == out_shape else broadcast_to(out, out_shape)


def choose(a: Any, choices: Sequence[Value], mode: str = "raise") -> Value:
    """Elementwise ``choices[a[i]][i]`` (all broadcast together), as np.choose.

    ``a`` holds plain integers; the derivative flows to the choice taken.

    >>> import dualdiff as dd
    >>> dd.choose([1, 0], [[1.0, 2.0], [3.0, 4.0]])
    array([3., 2.])
    """
    a = _int_index(stop_gradient(a), "choose")
    choices = _as_sequence(choices, "choose")
    n = len(choices)
    a = np.asarray(a)
    if mode == "wrap":
        a = a % n
    elif mode == "clip":
        a = np.clip(a, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    elif a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError("invalid entry in choice array")
    out_shape = np.broadcast_shapes(a.shape, *(shape_of(c) for c in choices))
    out = choices[0]
    for i in range(1, n):
        out = where(a == i, choices[i], out)
    return out if shape_of(out) == out_shape else broadcast_to(out, out_shape)


def _update_dtype(x: np.ndarray, v: Any) -> np.dtype:
    # x's floating dtype, as numpy's assignment casts v to it (float32 stays float32), except
    # that complex v makes the result complex: numpy would drop the imaginary part silently.
    if np.iscomplexobj(v) and not np.iscomplexobj(x):
        return np.result_type(x, v)
    return np.result_type(x, 1.0)


def index_update(x: Value, idx: Any, v: Value) -> Value:
    """x with ``x[idx] = v`` applied to a copy: a new value, as ``y = x.copy(); y[idx] = v`` in numpy.

    numpy's rules: v broadcasts to ``x[idx]``'s shape, and where an advanced index repeats a
    position the last write wins (so only that element of v receives the derivative there). The
    result has x's floating dtype, or a complex one when v is complex (numpy would drop v's
    imaginary part).
    The positions written take v's derivative, the others keep x's. This is what
    ``y[idx] = v`` on a traced ``y`` records.

    >>> import dualdiff as dd
    >>> dd.index_update([1.0, 2.0, 3.0], slice(1, None), 0.0)
    array([1., 0., 0.])
    """
    if type(idx) is not tuple:
        idx = (idx,)
    check_plain_index(idx)
    if not is_traced(x):
        x = np.asarray(x)
    shape = shape_of(x)
    target = np.empty(shape, dtype=np.intp)[idx].shape
    n = int(np.prod(target))
    if not is_traced(v):
        v = np.asarray(v)
        if not is_traced(x):
            out = np.array(x, dtype=_update_dtype(x, v))
            out[idx] = v
            return out
    vshape = shape_of(v)
    try:
        np.broadcast_shapes(vshape, target)
    except ValueError:
        raise ValueError(f"could not broadcast a value of shape {vshape} into the indexed "
                         f"shape {target}") from None
    if n == 0:
        return reshape(x, shape)
    dtype = _update_dtype(stop_gradient(x), stop_gradient(v))
    vb = v if vshape == target else broadcast_to(v, target)
    if not is_traced(vb):
        vb = np.asarray(vb, dtype=dtype)
    elif shape_dtype(vb) != dtype and shape_dtype(vb).kind == dtype.kind == "f":
        vb = astype(vb, dtype)  # numpy casts what is assigned to the array's dtype
    written = np.zeros(shape, dtype=bool)
    written[idx] = True
    if _is_basic_index(idx):
        # Basic indices never repeat a position: v placed by the transpose of indexing.
        return where(written, bind(INDEX_ADD, vb, idx=idx, shape=shape), x)
    # Which element of v lands in each written position: numpy's own assignment of the
    # numbers 0..n-1 decides, so repeated indices resolve as numpy resolves them (last wins).
    source = np.full(shape, -1, dtype=np.intp)
    source[idx] = np.arange(n).reshape(target)
    positions = np.nonzero(written)
    placed = bind(INDEX_ADD, getitem(reshape(vb, (-1,)), source[positions]), idx=positions,
                  shape=shape)
    return where(written, placed, x)


def _plain_nested(a: Any) -> Any:
    """a with every traced leaf replaced by its plain value (lists and tuples kept as they are)."""
    if isinstance(a, (list, tuple)):
        return type(a)(_plain_nested(b) for b in a)
    return stop_gradient(a)


def block(arrays: Any) -> Value:
    """An array assembled from nested lists of blocks (traced or plain), as np.block: the
    innermost lists are joined along the last axis, the lists around them along the one before,
    and so on; each block first gets leading unit axes up to the result's number of axes.

    numpy checks the nesting and the shapes first, on the plain values (so the errors are
    numpy's); the value is then joined from the blocks themselves, each block's derivative
    landing in its place.

    >>> import numpy as np
    >>> from dualdiff.rules.assembly import block
    >>> block([[np.eye(2), np.zeros((2, 1))], [np.ones((1, 2)), np.array([[5.0]])]])
    array([[1., 0., 0.],
           [0., 1., 0.],
           [1., 1., 5.]])
    """
    plain = np.block(_plain_nested(arrays))  # numpy's checks, and its number of axes
    depth, level = 0, arrays
    while isinstance(level, list):
        depth, level = depth + 1, level[0]
    ndim = plain.ndim

    def assemble(a: Any, at: int) -> Value:
        if isinstance(a, list):
            return concatenate([assemble(b, at + 1) for b in a], axis=at - depth)
        shape = shape_of(a) if is_traced(a) else np.shape(a)
        return reshape(a if is_traced(a) else np.asarray(a), (1,) * (ndim - len(shape)) + tuple(shape))

    return assemble(arrays, 0)
