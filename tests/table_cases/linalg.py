"""Table-test cases: matmul, dot, solve, inv, det, slogdet, matrix_power, multi_dot, cross, trace
(rules/linalg.py).

Square matrices are drawn well conditioned (uniform entries plus 3·I); the oracle is the complex
step through numpy's own function wherever it is analytic in real input (solve, inv, det, the
log-determinant written as log(det · sign)), so every tangent is checked to rounding.
"""

from __future__ import annotations

import warnings

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)


def WELL(rng, shape):
    """A stack of well-conditioned square matrices: uniform(-1, 1) entries plus 3·I."""
    return rng.uniform(-1, 1, size=shape) + 3.0 * np.eye(shape[-1])


def SIGNED(rng, shape):
    """Well-conditioned square matrices whose determinants have both signs (rows swapped)."""
    a = WELL(rng, shape)
    return a[..., ::-1, :].copy() if rng.uniform() < 0.5 else a


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
    ("3d-vector", ((2, 3, 4), (4,))), ("3d-3d", ((2, 3, 4), (2, 4, 2))),
    ("vector-3d", ((3,), (2, 3, 4))), ("matrix-3d", ((2, 3), (2, 3, 2))),
]:
    add_case("dot", Case(f"dot-{_cid}", dd.dot, np.dot, _shapes, (U(-2, 2), U(-2, 2))))

# -- solve, inv, det, slogdet -------------------------------------------------------------------

for _cid, _shapes in [
    ("vector", ((3, 3), (3,))), ("matrix", ((3, 3), (3, 2))), ("batch-a", ((2, 3, 3), (3, 2))),
    ("batch-b", ((3, 3), (2, 3, 2))), ("batch-both", ((2, 1, 3, 3), (4, 3, 1))),
    ("1x1", ((1, 1), (1,))),
]:
    add_case("solve", Case(f"solve-{_cid}", dd.linalg.solve, np.linalg.solve, _shapes,
                           (WELL, U(-2, 2))))

COMPOSITES.append("inv")
for _shape in [(3, 3), (2, 3, 3), (1, 1)]:
    add_case("inv", Case(f"inv-{_sh(_shape)}", dd.linalg.inv, np.linalg.inv, (_shape,), (WELL,)))

for _shape in [(3, 3), (2, 3, 3), (1, 1)]:
    add_case("det", Case(f"det-{_sh(_shape)}", dd.linalg.det, np.linalg.det, (_shape,), (SIGNED,)))


def _logabsdet_ref(a):
    d = np.linalg.det(a)
    return np.log(d * np.sign(np.real(d)))  # analytic: the complex step sees log|det|


for _shape in [(3, 3), (2, 3, 3)]:
    add_case("slogdet", Case(
        f"slogdet-{_sh(_shape)}", lambda a: dd.linalg.slogdet(a).logabsdet, _logabsdet_ref,
        (_shape,), (SIGNED,), value_ref=lambda a: np.linalg.slogdet(a)[1]))

def _signed_logabsdet_ref(a):
    d = np.linalg.det(a)
    sign = np.sign(np.real(d))
    return sign * np.log(d * sign)


add_case("slogdet", Case(  # the sign is traced too, with derivative 0
    "slogdet-sign-times-log", lambda a: dd.multiply(*dd.linalg.slogdet(a)), _signed_logabsdet_ref,
    ((2, 3, 3),), (SIGNED,), value_ref=lambda a: np.prod(np.linalg.slogdet(a), axis=0)))

COMPOSITES.append("matrix_power")
for _n in (1, 3, -2):  # n = 0 (a constant) is tested in tests/test_linalg.py
    add_case("matrix_power", Case(
        f"matrix_power-{_n}", lambda a, n=_n: dd.linalg.matrix_power(a, n),
        lambda a, n=_n: np.linalg.matrix_power(a, n), ((2, 3, 3),), (WELL,)))

COMPOSITES.append("multi_dot")
for _cid, _shapes in [("matrices", ((2, 3), (3, 4), (4, 2))),
                      ("vector-ends", ((3,), (3, 5), (5, 2), (2,)))]:
    add_case("multi_dot", Case(
        f"multi_dot-{_cid}", lambda *xs: dd.linalg.multi_dot(xs),
        lambda *xs: np.linalg.multi_dot(xs), _shapes, (U(-2, 2),) * len(_shapes)))

COMPOSITES.append("cross")


def _np_cross(a, b, **kw):
    with warnings.catch_warnings():  # numpy 2 deprecates 2-vectors; dualdiff still accepts them
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.cross(a, b, **kw)


for _cid, _shapes, _kw in [("3-vectors", ((3,), (3,)), {}), ("batch", ((2, 3), (3,)), {}),
                           ("2-vectors", ((4, 2), (4, 2)), {}), ("2-and-3", ((2,), (3,)), {}),
                           ("axis0", ((3, 2), (3, 2)), {"axis": 0})]:
    add_case("cross", Case(f"cross-{_cid}", lambda a, b, kw=_kw: dd.cross(a, b, **kw),
                           lambda a, b, kw=_kw: _np_cross(a, b, **kw), _shapes, (U(-2, 2),) * 2))

COMPOSITES.append("linalg.trace")
for _cid, _shape, _off in [("square", (2, 3, 3), 0), ("offset", (3, 4), 1), ("below", (4, 3), -1)]:
    add_case("linalg.trace", Case(f"trace-{_cid}", lambda a, k=_off: dd.linalg.trace(a, offset=k),
                           lambda a, k=_off: np.linalg.trace(a, offset=k), (_shape,), (U(-2, 2),)))
