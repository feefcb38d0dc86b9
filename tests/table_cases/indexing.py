"""Table-test cases: getitem and index_add (rules/indexing.py)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

_MASK1 = np.array([True, False, True, True, False])
_MASK2 = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
for _cid, _shape, _idx in [
    ("int", (5,), 0), ("negative-int", (5,), -1), ("slice", (5,), slice(1, 3)),
    ("step", (5,), slice(None, None, 2)), ("reverse", (5,), slice(None, None, -1)),
    ("row", (3, 4), 1), ("column", (3, 4), (slice(None), 0)), ("element", (3, 4), (2, 1)),
    ("block", (3, 4), (slice(1, None), slice(None, None, 2))),
    ("fancy-repeats", (5,), np.array([0, 0, 3, 1])), ("fancy-2d", (3, 4), (np.array([0, 2, 2]), np.array([1, 3, 1]))),
    ("mask", (5,), _MASK1), ("mask-2d", (3, 4), _MASK2),
    ("newaxis", (3,), (None, slice(None))), ("ellipsis", (2, 3, 4), (Ellipsis, 1)),
    ("int-slice-fancy", (2, 3, 4), (0, slice(None), np.array([0, 1]))),
    ("fancy-slice-fancy", (2, 3, 4), (np.array([0, 1]), slice(None), np.array([1, 2]))),
]:
    _linear("getitem", _cid, lambda x, i=_idx: dd.getitem(x, i), lambda x, i=_idx: x[i], (_shape,))


def _index_add_ref(idx, shape):
    def ref(t):
        z = np.zeros(shape, dtype=np.result_type(t, float))
        np.add.at(z, idx, t)
        return z
    return ref


for _cid, _tshape, _idx, _shape in [
    ("int", (), (2,), (5,)), ("slice", (2,), (slice(1, 3),), (5,)),
    ("row", (4,), (1,), (3, 4)), ("column", (3,), (slice(None), 0), (3, 4)),
    ("fancy-repeats", (4,), (np.array([0, 0, 3, 1]),), (5,)),
    ("mask", (3,), (_MASK1,), (5,)),
    ("int-slice-fancy", (2, 3), (0, slice(None), np.array([0, 1])), (2, 3, 2)),
]:
    _linear("index_add", _cid,
            lambda t, i=_idx, s=_shape: dd.PRIMITIVES["index_add"](t, idx=i, shape=s),
            _index_add_ref(_idx, _shape), (_tshape,))


# -- gathers written with getitem (rules/indexing.py) -----------------------------------------

COMPOSITES.extend(["flip", "fliplr", "flipud", "rot90", "take", "take_along_axis", "diagonal",
                   "repeat"])
for _cid, _axis in [("all", None), ("axis1", 1), ("axes02", (0, 2))]:
    _linear("flip", _cid, lambda x, a=_axis: dd.flip(x, a), lambda x, a=_axis: np.flip(x, a), ((2, 3, 4),))
_linear("fliplr", "matrix", dd.fliplr, np.fliplr, ((2, 3),))
_linear("flipud", "vector", dd.flipud, np.flipud, ((4,),))
for _k, _axes in [(1, (0, 1)), (2, (0, 1)), (3, (1, 2)), (-1, (2, 0))]:
    _linear("rot90", f"k{_k}-axes{_axes[0]}{_axes[1]}", lambda x, k=_k, a=_axes: dd.rot90(x, k, a),
            lambda x, k=_k, a=_axes: np.rot90(x, k, a), ((2, 3, 4),))
_TAKE = np.array([[3, 0], [3, 1]])
_linear("take", "flat-repeats", lambda x: dd.take(x, _TAKE), lambda x: np.take(x, _TAKE), ((2, 3),))
_linear("take", "axis1", lambda x: dd.take(x, [2, 0, 2], axis=1), lambda x: np.take(x, [2, 0, 2], axis=1), ((2, 3),))
_PERM = np.array([[[2, 0, 1, 1]], [[0, 0, 2, 1]]])
_linear("take_along_axis", "axis1-broadcast", lambda x: dd.take_along_axis(x, _PERM, 1),
        lambda x: np.take_along_axis(x, _PERM, 1), ((2, 3, 4),))
_linear("take_along_axis", "flat", lambda x: dd.take_along_axis(x, np.array([5, 0, 0]), None),
        lambda x: np.take_along_axis(x, np.array([5, 0, 0]), None), ((2, 3),))
for _cid, _shape, _args in [("main", (3, 3), (0, 0, 1)), ("offset", (3, 4), (1, 0, 1)),
                            ("below-3d", (2, 3, 4), (-1, 2, 1))]:
    _linear("diagonal", _cid, lambda x, a=_args: dd.diagonal(x, *a),
            lambda x, a=_args: np.diagonal(x, *a), (_shape,))
for _cid, _shape, _reps, _axis in [("flat", (2, 2), 2, None), ("axis1", (2, 3), 3, 1),
                                   ("counts", (3, 2), [2, 0, 1], 0), ("scalar", (), 3, None)]:
    _linear("repeat", _cid, lambda x, r=_reps, a=_axis: dd.repeat(x, r, a),
            lambda x, r=_reps, a=_axis: np.repeat(x, r, a), (_shape,))
