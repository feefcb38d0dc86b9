"""Table-test cases: norm with every ord numpy accepts, vector_norm, matrix_norm, cond
(rules/norms.py).

Norms are not complex-analytic: the oracle is central differences, at points away from the
kinks (entries bounded away from 0, so |x| and the max/min of |x| are smooth there).
"""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import AWAY, COMPOSITES, Case, add_case
from table_cases.linalg import WELL

COMPOSITES.extend(["norm", "vector_norm", "matrix_norm", "cond"])

_VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 3, 0.5, 0]
_MATRIX_ORDS = [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]

for _ord in _VECTOR_ORDS:
    add_case("norm", Case(f"norm-vector-{_ord}", lambda x, o=_ord: dd.linalg.norm(x, o),
                          lambda x, o=_ord: np.linalg.norm(x, o), ((5,),), (AWAY(0.2, 2),),
                          oracle="central"))
for _ord in _MATRIX_ORDS:
    add_case("norm", Case(f"norm-matrix-{_ord}", lambda x, o=_ord: dd.linalg.norm(x, o),
                          lambda x, o=_ord: np.linalg.norm(x, o), ((3, 4),), (AWAY(0.2, 2),),
                          oracle="central"))
for _cid, _shape, _kw in [
    ("flat-3d", (2, 3, 2), {}), ("axis", (3, 4), {"axis": 1}), ("axis-keepdims", (3, 4),
                                                                 {"axis": 0, "keepdims": True}),
    ("inf-axis", (3, 4), {"ord": np.inf, "axis": -1}),
    ("matrix-axes", (2, 3, 4), {"ord": "nuc", "axis": (2, 0)}),
    ("matrix-1-axes-keepdims", (2, 3, 4), {"ord": 1, "axis": (0, 1), "keepdims": True}),
    ("matrix-2-axes", (3, 2, 4), {"ord": 2, "axis": (0, 2)}),
]:
    add_case("norm", Case(f"norm-{_cid}", lambda x, kw=_kw: dd.linalg.norm(x, **kw),
                          lambda x, kw=_kw: np.linalg.norm(x, **kw), (_shape,), (AWAY(0.2, 2),),
                          oracle="central"))

for _cid, _shape, _kw in [("all", (2, 3), {}), ("axis-inf", (2, 3), {"axis": 0, "ord": np.inf}),
                          ("axes-keepdims", (2, 3, 2), {"axis": (0, 2), "keepdims": True, "ord": 3})]:
    add_case("vector_norm", Case(f"vector_norm-{_cid}", lambda x, kw=_kw: dd.linalg.vector_norm(x, **kw),
                                 lambda x, kw=_kw: np.linalg.vector_norm(x, **kw), (_shape,),
                                 (AWAY(0.2, 2),), oracle="central"))
for _ord in ["fro", "nuc", 2, np.inf]:
    add_case("matrix_norm", Case(f"matrix_norm-{_ord}", lambda x, o=_ord: dd.linalg.matrix_norm(x, ord=o),
                                 lambda x, o=_ord: np.linalg.matrix_norm(x, ord=o), ((2, 3, 3),),
                                 (AWAY(0.2, 2),), oracle="central"))
for _p in [None, -2, 1, "fro"]:
    add_case("cond", Case(f"cond-{_p}", lambda x, p=_p: dd.linalg.cond(x, p),
                          lambda x, p=_p: np.linalg.cond(x, p), ((3, 3),), (WELL,), oracle="central"))
