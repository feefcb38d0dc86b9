"""Indexing: ``x[idx]`` (getitem) and its transpose, index_add (zeros with values added at idx).

numpy's full indexing is supported: ints, slices, None, Ellipsis, integer and boolean arrays. In
chunk mode the direction axis sits in front, which moves where numpy puts advanced-index axes;
the helpers below keep track of that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import Primitive, bind, bind1, is_traced, shape_of
from .shape import transpose
from .table import Value, register


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
    if not chunked:
        return getitem(tangents[0], idx)
    t = getitem(tangents[0], _chunk_index(idx))
    moved = _separated_advanced_ndim(idx)
    return _move_axis(t, moved, 0) if moved else t


def _getitem_vjp(ct, primals, out, params, shapes, wants):
    return (bind(INDEX_ADD, ct, idx=params["idx"], shape=shapes[0]),)


GETITEM = register(Primitive(
    "getitem", lambda x, idx: x[idx], _getitem_jvp, _getitem_vjp, needs="none", kind="linear", complex="holomorphic"))


def _is_basic_index(idx: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in idx)


def _index_add_impl(ct, idx, shape):
    z = np.zeros(shape, dtype=np.result_type(ct, 1.0))  # 1.0 (weak) keeps float32 as float32
    if _is_basic_index(idx):
        z[idx] = ct  # basic indexing never repeats an element, so assignment is the sum
    else:
        np.add.at(z, idx, ct)  # x[[0, 0]] must receive both contributions
    return z


def _index_add_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
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
    for i in idx:
        if type(i) is not int and is_traced(i):
            raise TypeError("an index cannot be a Dual or tape variable: indices are not "
                            "differentiable; use an int or an integer array")
    return bind1(GETITEM, x, {"idx": idx})


