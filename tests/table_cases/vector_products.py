"""Table-test cases: matvec and vecmat_u, the products of stacks of matrices and vectors
(rules/vector_products.py). The references are einsum's (complex-analytic: no conjugate)."""

from __future__ import annotations

import numpy as np

from dualdiff.rules.vector_products import MATVEC, VECMAT_U
from dualdiff.primitives import bind
from table_cases import Case, U, add_case

for _cid, _a, _v in [
    ("matrix", (3, 4), (4,)), ("stack", (2, 3, 4), (4,)), ("stacked-vectors", (3, 4), (2, 4)),
    ("broadcast-stacks", (1, 3, 2), (2, 1, 2)), ("no-rows", (0, 3), (3,)),
]:  # (an empty sum, n = 0: tests/test_numpy_api2.py; index sets cannot sum nothing)
    add_case("matvec", Case(f"matvec-{_cid}", lambda a, v: bind(MATVEC, a, v),
                            lambda a, v: np.einsum("...ij,...j->...i", a, v), (_a, _v),
                            (U(-2, 2), U(-2, 2))))
for _cid, _u, _b in [
    ("vector", (3,), (3, 4)), ("stacked-vectors", (2, 3), (3, 4)), ("stack", (3,), (2, 3, 4)),
    ("broadcast-stacks", (2, 1, 3), (1, 3, 2)), ("no-columns", (3,), (3, 0)),
]:
    add_case("vecmat_u", Case(f"vecmat_u-{_cid}", lambda u, b: bind(VECMAT_U, u, b),
                              lambda u, b: np.einsum("...i,...ij->...j", u, b), (_u, _b),
                              (U(-2, 2), U(-2, 2))))
