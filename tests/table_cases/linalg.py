"""Table-test cases: matmul and dot (rules/linalg.py)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

# -- matmul -----------------------------------------------------------------------------------

for _cid, _shapes in [
    ("matrix-matrix", ((3, 4), (4, 2))), ("vector-matrix", ((4,), (4, 2))),
    ("matrix-vector", ((3, 4), (4,))), ("vector-vector", ((4,), (4,))),
    ("batch-matrix", ((2, 3, 4), (4, 5))), ("matrix-batch", ((3, 4), (2, 4, 5))),
    ("batch-batch", ((2, 3, 4), (2, 4, 5))), ("vector-batch", ((4,), (2, 4, 5))),
    ("batch-vector", ((2, 3, 4), (4,))), ("broadcast-batches", ((2, 1, 3, 4), (3, 4, 2))),
]:
    add_case("matmul", Case(f"matmul-{_cid}", dd.matmul, np.matmul, _shapes, (U(-2, 2), U(-2, 2))))


COMPOSITES.append("dot")

for _cid, _shapes in [
    ("vector-vector", ((3,), (3,))), ("matrix-vector", ((2, 3), (3,))),
    ("vector-matrix", ((3,), (3, 2))), ("matrix-matrix", ((2, 3), (3, 4))),
    ("scalar-vector", ((), (3,))), ("matrix-scalar", ((2, 3), ())),
]:
    add_case("dot", Case(f"dot-{_cid}", dd.dot, np.dot, _shapes, (U(-2, 2), U(-2, 2))))
