"""Table-test cases: stack, concatenate, where (rules/assembly.py)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

for _cid, _shapes, _axis in [
    ("scalars", ((), (), ()), 0), ("vectors-axis0", ((3,), (3,), (3,)), 0),
    ("vectors-axis1", ((3,), (3,), (3,)), 1), ("matrices-axis-1", ((2, 3), (2, 3)), -1),
    ("matrices-axis1", ((2, 3), (2, 3)), 1),
]:
    _linear("stack", _cid, lambda *xs, a=_axis: dd.stack(list(xs), axis=a),
            lambda *xs, a=_axis: np.stack(xs, axis=a), _shapes)

for _cid, _shapes, _axis in [
    ("vectors", ((2,), (3,), (1,)), 0), ("rows", ((2, 3), (1, 3)), 0),
    ("columns", ((2, 3), (2, 1)), 1), ("axis-1", ((2, 2), (2, 3)), -1),
]:
    _linear("concatenate", _cid, lambda *xs, a=_axis: dd.concatenate(list(xs), axis=a),
            lambda *xs, a=_axis: np.concatenate(xs, axis=a), _shapes)

_COND1 = np.array([True, False, True])
_COND2 = np.array([[True, False, True], [False, False, True]])
for _cid, _cond, _shapes in [
    ("scalars", np.bool_(True), ((), ())), ("vectors", _COND1, ((3,), (3,))),
    ("broadcast-x-row-y-scalar", _COND2, ((3,), ())), ("broadcast-scalar-x", _COND2, ((), (2, 3))),
    ("cond-broadcasts", np.array([[True], [False]]), ((2, 3), (2, 3))),
]:
    _linear("where", _cid, lambda x, y, c=_cond: dd.where(c, x, y),
            lambda x, y, c=_cond: np.where(c, x, y), _shapes)
