"""Table-test cases: sort and partition (rules/sorting.py), away from ties (tested separately)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import _linear

for _cid, _shape, _axis in [("vector", (5,), -1), ("rows", (3, 4), 1), ("columns", (3, 4), 0),
                            ("flat", (2, 3), None)]:
    # np.sort on complex input sorts by real part first: the complex-step oracle's permutation
    _linear("sort", _cid, lambda x, a=_axis: dd.sort(x, axis=a), lambda x, a=_axis: np.sort(x, axis=a), (_shape,))
for _cid, _shape, _kth, _axis in [("vector", (6,), 2, -1), ("rows", (3, 5), (1, 3), 1)]:
    # numpy leaves the order within each side unspecified: the reference applies argpartition
    # of the real part, as dualdiff does, so value and oracle see the same arrangement
    _linear("partition", _cid, lambda x, k=_kth, a=_axis: dd.partition(x, k, axis=a),
            lambda x, k=_kth, a=_axis: np.take_along_axis(x, np.argpartition(x.real, k, axis=a), a),
            (_shape,))


_PERM = np.array([[2, 0, 3, 1], [1, 3, 0, 2], [0, 1, 2, 3]])
for _cid, _axis, _perm in [("rows", 1, _PERM), ("columns", 0, np.argsort(_PERM, axis=0))]:
    # the permutation is an argument of the primitive, held constant here
    _linear("permute", _cid, lambda x, p=_perm, a=_axis: dd.PRIMITIVES["permute"](x, p, axis=a, inverse=False),
            lambda x, p=_perm, a=_axis: np.take_along_axis(x, p, a), ((3, 4),))
    # inverse=True scatters: the gather by the inverse permutation
    _linear("permute", f"{_cid}-inverse",
            lambda x, p=_perm, a=_axis: dd.PRIMITIVES["permute"](x, p, axis=a, inverse=True),
            lambda x, p=_perm, a=_axis: np.take_along_axis(x, np.argsort(p, axis=a), a), ((3, 4),))
