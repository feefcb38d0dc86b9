"""Indexing: ``x[idx]`` (getitem) and its transpose, index_add (zeros with values added at idx).

numpy's full indexing is supported: ints, slices, None, Ellipsis, integer and boolean arrays. In
chunk mode the direction axis sits in front, which moves where numpy puts advanced-index axes;
the helpers below keep track of that.
"""

from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence, Union

import numpy as np

from ..primitives import Primitive, bind, bind1, is_traced, shape_of, stop_gradient
from .shape import _axis, broadcast_to, moveaxis, reshape, transpose
from .table import Value, norm_axes, register


_ALL = slice(None)


def _chunk_index(idx: tuple) -> tuple:
    return (slice(None),) + idx


def _is_integer_index(i: Any) -> bool:
    """An integer (Python, numpy, or a 0-d integer array): basic alone, advanced beside arrays."""
    if isinstance(i, (bool, np.bool_)):
        return False
    if isinstance(i, (int, np.integer)):
        return True
    return isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype.kind in "iu"


def _is_array_index(i: Any) -> bool:
    """An advanced index in its own right: any array-like (ndarray, list, tuple, range, bool)."""
    return not (i is None or i is Ellipsis or isinstance(i, slice) or _is_integer_index(i))


def _separated_advanced_ndim(idx: tuple) -> int:
    """How many leading axes numpy gives the advanced indices of ``idx`` when it moves them first.

    numpy puts the broadcast dimensions of advanced (array) indices where the first of them
    stood, unless they are separated by a slice, Ellipsis or None: then they go in front of
    everything — in front of a chunk's direction axis too. Returns 0 when they stay in place.
    """
    if not any(_is_array_index(i) for i in idx):
        return 0
    # With an array present, integers count as advanced indices too.
    positions = [n for n, i in enumerate(idx) if _is_array_index(i) or _is_integer_index(i)]
    if positions == list(range(positions[0], positions[-1] + 1)):
        return 0
    shapes = []
    for n in positions:
        i = np.asarray(idx[n])
        shapes.append(np.nonzero(i)[0].shape if i.dtype == bool else i.shape)
    return len(np.broadcast_shapes(*shapes))


def _move_axis(x: Value, source: int, dest: int) -> Value:
    axes = list(range(len(shape_of(x))))
    axes.insert(dest, axes.pop(source))
    return transpose(x, tuple(axes))


def _getitem_jvp(primals, tangents, out, params, chunked):
    idx = params["idx"]
    t0 = tangents[0]
    if type(t0) is np.ndarray and len(idx) == 1 and (type(idx[0]) is int or type(idx[0]) is slice):
        # x1, x2 = x or x[1:]: a plain tangent and one int or slice need none of getitem's
        # checks (no advanced index to move)
        return t0[:, idx[0]] if chunked else t0[idx]
    if not chunked:
        return getitem(tangents[0], idx)
    t = getitem(tangents[0], _chunk_index(idx))
    moved = _separated_advanced_ndim(idx)
    return _move_axis(t, moved, 0) if moved else t


def _getitem_vjp(ct, primals, out, params, shapes, wants):
    return (bind1(INDEX_ADD, ct, {"idx": params["idx"], "shape": shapes[0]}),)


GETITEM = register(Primitive(
    "getitem", lambda x, idx: x[idx], _getitem_jvp, _getitem_vjp, needs="none", kind="linear", complex="holomorphic"))


def _getitem_adjoint_part(shape: tuple, params: dict, chunked: bool) -> Any:
    """Where getitem's adjoint (index_add) puts its cotangent in an array of ``shape`` (the
    argument's, k directions first when chunked): the index of that part, and the indices of
    the margins it does not reach, for an index of unit-step slices; None for anything else.

    The sum adds index_add's zeros to the margins: x + 0.0 is x, except that -0.0 becomes 0.0,
    so the caller adds 0.0 to them (a few elements for x[1:]) to give the same bits.
    """
    idx = params["idx"]
    margins = _margins(idx, shape[1:] if chunked else shape)
    if margins is None:
        return None
    if chunked:
        return _chunk_index(idx), [_chunk_index(m) for m in margins]
    return idx, margins


GETITEM.accumulate_at = _getitem_adjoint_part
# Its tangent rule reads the index alone. (index_add's does too, but is left undeclared: its
# output is where the sweep sums an input's cotangents in place, which a kept tangent refuses.)
GETITEM.tangent_reads = ((),)


def _is_basic_index(idx: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in idx)


_FLOAT64 = np.dtype(float)
_FLOATS = (float, np.float64)


def _index_add_impl(ct, idx, shape):
    # 1.0 (weak) keeps float32 as float32; a float cotangent (scalar code) needs no lookup
    dtype = _FLOAT64 if type(ct) in _FLOATS else np.result_type(ct, 1.0)
    if len(idx) == 1 and type(idx[0]) is int:  # (i,): x1, x2 = x
        z = np.zeros(shape, dtype=dtype)
        z[idx] = ct
        return z
    if _is_basic_index(idx):
        # basic indexing never repeats an element, so assignment is the sum
        z = _zeros_outside(idx, shape, dtype)
        z[idx] = ct
        return z
    z = np.zeros(shape, dtype=dtype)
    np.add.at(z, idx, ct)  # x[[0, 0]] must receive both contributions
    return z


# Below this many elements np.zeros is cheaper than working out what lies outside a slice.
_ZERO_OUTSIDE_ELEMENTS = 1 << 14


def _zeros_outside(idx: tuple, shape: tuple, dtype: Any) -> np.ndarray:
    """An array of ``shape`` that is zero wherever the basic index ``idx`` does not reach.

    The slices of a reversed x[1:] or x[:, :-1] cover nearly everything: zeroing only the
    margins saves a whole pass over a large array that the assignment then overwrites. Indices
    other than unit-step slices (and leading full slices) take plain zeros.
    """
    size = 1
    for d in shape:
        size *= d
    margins = None if size < _ZERO_OUTSIDE_ELEMENTS else _margins(idx, shape)
    if margins is None:
        return np.zeros(shape, dtype=dtype)
    z = np.empty(shape, dtype=dtype)
    for m in margins:
        z[m] = 0
    return z


def _margins(idx: tuple, shape: tuple) -> Optional[List[tuple]]:
    """The basic indices of what ``idx`` does not reach in an array of ``shape``: the margins of
    each axis, inside the earlier axes' slices. None unless idx is unit-step slices."""
    if len(idx) > len(shape):
        return None
    margins = []
    inner: tuple = ()
    for i, d in zip(idx, shape):
        if type(i) is not slice:
            return None
        start, stop, step = i.indices(d)
        if step != 1:
            return None
        stop = max(start, stop)
        if start > 0:
            margins.append(inner + (slice(0, start),))
        if stop < d:
            margins.append(inner + (slice(stop, d),))
        inner = inner + (slice(start, stop),)
    return margins


def _index_add_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
    idx = params["idx"]
    if chunked and type(t) is np.ndarray and len(idx) == 1 and type(idx[0]) is slice:
        # the adjoint of x[a:b] in k directions (what a Hessian's sweep meets): no advanced
        # index to move, and what bind would do for a plain tangent, directly
        return _index_add_impl(t, (_ALL, idx[0]), (t.shape[0],) + params["shape"])
    if chunked:
        moved = _separated_advanced_ndim(params["idx"])
        if moved:  # the values must come in the axis order numpy's indexing produces
            t = _move_axis(t, 0, moved)
        return bind(INDEX_ADD, t, idx=_chunk_index(params["idx"]),
                    shape=(shape_of(tangents[0])[0],) + params["shape"])
    return bind(INDEX_ADD, t, idx=params["idx"], shape=params["shape"])


INDEX_ADD = register(Primitive(
    "index_add", _index_add_impl, _index_add_jvp,
    lambda ct, primals, out, params, shapes, wants: (getitem(ct, params["idx"]),),
    needs="none", kind="linear", complex="holomorphic",
    doc="zeros of `shape` with the argument added at `idx`: the transpose of indexing"))


def getitem(x: Value, idx: Any) -> Value:
    """x[idx] with numpy's indexing rules (ints, slices, None, ..., integer and boolean arrays).

    >>> import dualdiff as dd
    >>> dd.getitem([1.0, 2.0, 3.0], slice(1, 3))
    array([2., 3.])
    """
    if type(idx) is not tuple:
        idx = (idx,)
    if not is_traced(x):
        return (x if type(x) is np.ndarray else np.asarray(x))[idx]
    if check_plain_index(idx):
        # An index array (or list) is copied: the adjoint reads it in the sweep, after f has
        # run, and f may have written into it meanwhile (docs/architecture.md, "Arrays f
        # writes into").
        idx = tuple([_index_copy(i) for i in idx])
    return bind1(GETITEM, x, {"idx": idx})


def check_plain_index(idx: tuple) -> bool:
    """Refuse a traced index (x[y] or y[idx] = v), saying why; whether it holds an array."""
    arrays = False
    for i in idx:
        if type(i) is int:
            continue
        if is_traced(i):
            if stop_gradient(i) is i:  # a value being recorded by dd.compile: x[x > 0]
                raise TypeError(
                    "an index computed from the values (a mask such as x > 0, an argmax) "
                    "cannot be compiled by dd.compile: the recording would bake this call's "
                    "index in. Write np.where(mask, x, 0.0) for a mask, or call the function "
                    "without dd.compile")
            raise TypeError("an index cannot be a Dual or tape variable: indices are not "
                            "differentiable; use an int or an integer array")
        if type(i) is np.ndarray or type(i) is list:
            arrays = True
    return arrays


def _index_copy(i: Any) -> Any:
    """An index array or list as a new array of its own (what numpy reads a list as: an empty
    one is an integer index); anything else as it is."""
    if type(i) is np.ndarray:
        return i.copy()
    if type(i) is list:
        a = np.array(i)
        return a.astype(np.intp) if a.size == 0 else a
    return i




# -- composites: gathers written with getitem (a gather's adjoint is index_add, its scatter) ---

def _along(axis: int, index: Any) -> tuple:
    return (slice(None),) * axis + (index,)


def flip(x: Value, axis: Union[None, int, Sequence[int]] = None) -> Value:
    """x with the order of its elements reversed along ``axis`` (all axes by default), as np.flip.

    >>> import dualdiff as dd
    >>> dd.flip([1.0, 2.0, 3.0])
    array([3., 2., 1.])
    """
    nd = len(shape_of(x))
    axes = range(nd) if axis is None else norm_axes(axis, nd) or ()
    return getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(nd)))


def fliplr(x: Value) -> Value:
    """x reversed along axis 1 (left and right), as np.fliplr.

    >>> import dualdiff as dd
    >>> dd.fliplr([[1.0, 2.0]])
    array([[2., 1.]])
    """
    if len(shape_of(x)) < 2:
        raise ValueError("fliplr needs an array of at least 2 dimensions")
    return flip(x, 1)


def flipud(x: Value) -> Value:
    """x reversed along axis 0 (up and down), as np.flipud.

    >>> import dualdiff as dd
    >>> dd.flipud([[1.0], [2.0]])
    array([[2.],
           [1.]])
    """
    if len(shape_of(x)) < 1:
        raise ValueError("flipud needs an array of at least 1 dimension")
    return flip(x, 0)


def rot90(x: Value, k: int = 1, axes: Sequence[int] = (0, 1)) -> Value:
    """x rotated by 90° k times in the plane of ``axes`` (from the first towards the second), as np.rot90.

    >>> import dualdiff as dd
    >>> dd.rot90([[1.0, 2.0], [3.0, 4.0]])
    array([[2., 4.],
           [1., 3.]])
    """
    nd = len(shape_of(x))
    if len(axes) != 2 or nd < 2:
        raise ValueError("rot90 needs two axes of an array of at least 2 dimensions")
    a0, a1 = _axis(axes[0], nd), _axis(axes[1], nd)
    if a0 == a1:
        raise ValueError("rot90: the two axes must differ")
    k = int(k) % 4
    if k == 0:
        return getitem(x, ())
    if k == 2:
        return flip(x, (a0, a1))
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(x, a1), tuple(perm))
    return flip(transpose(x, tuple(perm)), a1)


def take(x: Value, indices: Any, axis: Optional[int] = None) -> Value:
    """The elements at ``indices`` along ``axis`` (of the flattened x by default), as np.take.

    Repeated indices gather the same element twice, and its derivative sums both uses.

    >>> import dualdiff as dd
    >>> dd.take([1.0, 2.0, 3.0], [2, 0, 2])
    array([3., 1., 3.])
    """
    indices = _int_index(indices, "take")
    if axis is None:
        return getitem(reshape(x, (-1,)), indices)
    return getitem(x, _along(_axis(axis, len(shape_of(x))), indices))


def sliding_window_view(x: Value, window_shape: Any, axis: Any = None, *,
                        subok: bool = False, writeable: bool = False) -> Value:
    """Every window of x of ``window_shape`` (along ``axis``), as
    ``np.lib.stride_tricks.sliding_window_view``: shape x's, each windowed axis shortened to
    ``n - w + 1``, then the window's axes.

    numpy returns a read-only view; for a traced x the windows are a gather of x's elements
    (the same values), so a convolution written with them is differentiable, and an element
    that several windows share has its derivative summed over them.

    >>> import dualdiff as dd
    >>> dd.grad(lambda x: dd.sum(sliding_window_view(x, 2)), [1.0, 2.0, 3.0])
    array([1., 2., 1.])
    """
    if not is_traced(x):
        return np.lib.stride_tricks.sliding_window_view(
            np.asarray(x), window_shape, axis, subok=subok, writeable=writeable)
    if writeable:
        raise TypeError("sliding_window_view(..., writeable=True) lets numpy write through the "
                        "windows into x, which a traced value's windows (a gather) cannot; "
                        "build the result from the windows instead")
    shape = shape_of(x)
    # numpy checks the arguments and finds which element each window position reads
    positions = np.lib.stride_tricks.sliding_window_view(
        np.arange(math.prod(shape)).reshape(shape), window_shape, axis)
    return getitem(reshape(x, (-1,)), positions)


def _int_index(indices: Any, name: str) -> Any:
    if is_traced(indices):
        if stop_gradient(indices) is indices:  # a value being recorded by dd.compile
            raise TypeError(f"{name}: indices computed from the values (a sort, an argmax) "
                            f"cannot be compiled by dd.compile: the recording would bake them "
                            f"in; call the function without dd.compile")
        raise TypeError(f"{name}: indices cannot be a Dual or tape variable (indices are not "
                        f"differentiable); use an int or an integer array")
    if isinstance(indices, (int, np.integer)):
        return int(indices)
    indices = np.asarray(indices)
    if indices.size == 0:
        indices = indices.astype(np.intp)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, not {indices.dtype}")
    return indices


def take_along_axis(x: Value, indices: Any, axis: Optional[int]) -> Value:
    """out[..., i, ...] = x[..., indices[..., i, ...], ...] along ``axis``, as np.take_along_axis.

    ``indices`` has x's number of axes and broadcasts against x in the others. This is how
    a permutation found on the values (np.argsort) is applied to a traced value: the derivative
    follows the permutation.

    >>> import dualdiff as dd, numpy as np
    >>> x = np.array([[3.0, 1.0, 2.0]])
    >>> dd.take_along_axis(x, np.argsort(x, axis=1), axis=1)
    array([[1., 2., 3.]])
    """
    indices = _int_index(indices, "take_along_axis")
    if axis is None:
        return take_along_axis(reshape(x, (-1,)), np.ravel(indices), 0)
    shape = shape_of(x)
    nd = len(shape)
    indices = np.asarray(indices)
    if indices.ndim != nd:
        raise ValueError(f"take_along_axis: indices must have the {nd} axes of x, not {indices.ndim}")
    axis = _axis(axis, nd)
    # One index array per axis, broadcasting together: a full advanced index, which numpy
    # places where the arrays stood (all axes are advanced, so none is separated).
    idx = tuple(indices if a == axis else
                np.arange(n).reshape((1,) * a + (n,) + (1,) * (nd - a - 1))
                for a, n in enumerate(shape))
    out_shape = np.broadcast_shapes(*(i.shape for i in idx))
    return getitem(x, tuple(np.broadcast_to(i, out_shape) for i in idx))


def diagonal(x: Value, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Value:
    """The diagonal x[..., i, i + offset] of the plane (axis1, axis2), last axis of the result, as np.diagonal.

    >>> import dualdiff as dd
    >>> dd.diagonal([[1.0, 2.0], [3.0, 4.0]], 1)
    array([2.])
    """
    shape = shape_of(x)
    nd = len(shape)
    if nd < 2:
        raise ValueError("diagonal needs an array of at least 2 dimensions")
    a1, a2 = _axis(axis1, nd), _axis(axis2, nd)
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    offset = int(offset)
    n1, n2 = shape[a1], shape[a2]
    rows = np.arange(max(0, -offset), max(0, min(n1, n2 - offset)))
    x = moveaxis(x, (a1, a2), (-2, -1))
    return getitem(x, (Ellipsis, rows, rows + offset))


def repeat(x: Value, repeats: Any, axis: Optional[int] = None) -> Value:
    """Each element repeated ``repeats`` times along ``axis`` (of the flattened x by default), as np.repeat.

    A single count is a broadcast (its adjoint a sum); per-element counts are a gather.

    >>> import dualdiff as dd
    >>> dd.repeat([1.0, 2.0], 2)
    array([1., 1., 2., 2.])
    """
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    shape = shape_of(x)
    axis = _axis(axis, len(shape))
    repeats = _int_index(repeats, "repeat")
    if np.ndim(repeats) == 0 or np.size(repeats) == 1:
        r = int(np.ravel(repeats)[0])
        if r < 0:
            raise ValueError("repeat: negative count")
        x = reshape(x, shape[:axis + 1] + (1,) + shape[axis + 1:])
        x = broadcast_to(x, shape[:axis + 1] + (r,) + shape[axis + 1:])
        return reshape(x, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    return getitem(x, _along(axis, np.repeat(np.arange(shape[axis]), repeats)))
