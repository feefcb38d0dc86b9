"""Table-test cases: sum_where, numpy's masked sum (rules/masked_reductions.py)."""

from __future__ import annotations

import numpy as np

from dualdiff.rules.masked_reductions import sum_where
from table_cases import Case, U, add_case

_M34 = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])

for _cid, _shape, _mask, _axis, _keep, _initial in [
    ("scalar-true", (), np.bool_(True), None, False, None),
    ("scalar-false", (), np.array(False), None, False, None),
    ("vector", (6,), np.array([True, False, True, True, False, True]), None, False, None),
    ("all", (3, 4), _M34, None, False, None),
    ("axis1-empty-row", (3, 4), _M34, 1, False, None),
    ("axis0-keepdims", (3, 4), _M34, 0, True, None),
    ("initial", (3, 4), _M34, -1, False, 0.75),
    ("broadcast-row", (3, 4), np.array([True, False, False, True]), 0, False, None),
    ("broadcast-column", (2, 3, 2), np.array([[[True]], [[False]]]), (0, 2), False, None),
    ("nothing", (2, 3), np.zeros((2, 3), bool), None, True, None),
]:
    add_case("sum_where", Case(
        f"sum_where-{_cid}",
        lambda x, m=_mask, a=_axis, k=_keep, i=_initial: sum_where(x, m, a, k, i),
        lambda z, m=_mask, a=_axis, k=_keep, i=_initial: np.sum(
            z, axis=a, keepdims=k, where=m, **({} if i is None else {"initial": i})),
        (_shape,), (U(-2, 2),)))
