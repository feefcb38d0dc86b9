"""Table-test cases: reshape, transpose, broadcast_to, sum, sum_to (rules/shape.py)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

_SWAPPED_F = np.dtype(np.float64).newbyteorder()
_SWAPPED_C = np.dtype(np.complex128).newbyteorder()

for _cid, _shape, _axis, _keep in [
    ("all-scalar", (), None, False), ("all-vector", (5,), None, False),
    ("all-matrix", (3, 4), None, False), ("axis0", (3, 4), 0, False), ("axis1", (3, 4), 1, False),
    ("axis-1-keepdims", (3, 4), -1, True), ("axes02", (2, 3, 4), (0, 2), False),
    ("axes-all-keepdims", (2, 3), (0, 1), True),
]:
    _linear("sum", _cid, lambda x, a=_axis, k=_keep: dd.sum(x, axis=a, keepdims=k),
            lambda x, a=_axis, k=_keep: np.sum(x, axis=a, keepdims=k), (_shape,))

for _cid, _shape, _new in [
    ("6-to-2x3", (6,), (2, 3)), ("2x3-to-3x2", (2, 3), (3, 2)), ("2x3-to-6", (2, 3), (6,)),
    ("scalar-to-1x1", (), (1, 1)), ("2x3x2-to-minus1x4", (2, 3, 2), (-1, 4)),
    ("1-to-scalar", (1,), ()),
]:
    _linear("reshape", _cid, lambda x, s=_new: dd.reshape(x, s),
            lambda x, s=_new: np.reshape(x, s), (_shape,))

for _cid, _shape, _axes in [
    ("matrix", (2, 3), None), ("3d-reverse", (2, 3, 4), None), ("3d-102", (2, 3, 4), (1, 0, 2)),
    ("3d-201", (2, 3, 4), (2, 0, 1)), ("vector", (4,), None),
]:
    _linear("transpose", _cid, lambda x, a=_axes: dd.transpose(x, a),
            lambda x, a=_axes: np.transpose(x, a), (_shape,))

for _cid, _shape, _to in [
    ("scalar-to-3", (), (3,)), ("3-to-2x3", (3,), (2, 3)), ("3x1-to-3x4", (3, 1), (3, 4)),
    ("1x3-to-2x2x3", (1, 3), (2, 2, 3)), ("same", (2, 3), (2, 3)),
]:
    _linear("broadcast_to", _cid, lambda x, s=_to: dd.broadcast_to(x, s),
            lambda x, s=_to: np.broadcast_to(x, s), (_shape,))


COMPOSITES.append("sum_to")

for _cid, _shape, _to in [
    ("2x3-to-3", (2, 3), (3,)), ("2x3-to-2x1", (2, 3), (2, 1)), ("2x3x4-to-3x1", (2, 3, 4), (3, 1)),
    ("3-to-scalar", (3,), ()), ("same", (2, 3), (2, 3)),
]:
    def _sum_to_ref(x, s=_to):
        lead = x.ndim - len(s)
        y = np.sum(x, axis=tuple(range(lead))) if lead else x
        for i, n in enumerate(s):
            if n == 1:
                y = np.sum(y, axis=i, keepdims=True)
        return y
    _linear("sum_to", _cid, lambda x, s=_to: dd.sum_to(x, s), _sum_to_ref, (_shape,))


# -- shape composites and casts (rules/shape.py) ---------------------------------------------

_linear("copy", "matrix", dd.copy, np.copy, ((2, 3),))
_linear("copy", "scalar", dd.copy, np.copy, ((),))
# float64 -> float64 of the other byte order: a real cast (a different dtype) that is exact both
# ways, so the oracles see no rounding; float32 casts are tested in tests/test_shape_assembly.py
_linear("astype", "byte-swapped", lambda x: dd.astype(x, _SWAPPED_C if np.iscomplexobj(dd.stop_gradient(x)) else _SWAPPED_F),
        lambda x: x.astype(_SWAPPED_C if np.iscomplexobj(x) else _SWAPPED_F), ((2, 3),))

COMPOSITES.extend(["moveaxis", "rollaxis", "swapaxes", "atleast_1d", "atleast_2d", "atleast_3d",
                   "tile"])
for _cid, _shape, _src, _dst in [("first-to-last", (2, 3, 4), 0, -1),
                                 ("two-axes", (2, 3, 4), (0, 1), (2, 0)), ("same", (3, 2), 1, 1)]:
    _linear("moveaxis", _cid, lambda x, s=_src, d=_dst: dd.moveaxis(x, s, d),
            lambda x, s=_src, d=_dst: np.moveaxis(x, s, d), (_shape,))
for _cid, _axis, _start in [("last", 2, 0), ("to-end", 0, 3), ("negative", -1, 1)]:
    _linear("rollaxis", _cid, lambda x, a=_axis, s=_start: dd.rollaxis(x, a, s),
            lambda x, a=_axis, s=_start: np.rollaxis(x, a, s), ((2, 3, 4),))
_linear("swapaxes", "3d", lambda x: dd.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), ((2, 3, 4),))
for _n in (1, 2, 3):
    for _shape in [(), (3,), (2, 3)]:
        _linear(f"atleast_{_n}d", _sh(_shape), getattr(dd, f"atleast_{_n}d"),
                getattr(np, f"atleast_{_n}d"), (_shape,))
for _cid, _shape, _reps in [("vector-2", (3,), 2), ("matrix-2x1x3", (2, 3), (2, 1, 3)),
                            ("scalar", (), (2, 2)), ("3d-row", (2, 1, 3), (1, 2))]:
    _linear("tile", _cid, lambda x, r=_reps: dd.tile(x, r), lambda x, r=_reps: np.tile(x, r), (_shape,))
