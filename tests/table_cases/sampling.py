"""Table-test cases: np.gradient and np.linspace (rules/sampling.py), np.real_if_close.

gradient is linear in the samples and rational in the spacings/coordinates, linspace linear in
start and stop: numpy's own functions are complex-analytic references for the complex step.
Coordinates are increasing with gaps of at least 0.5, away from the pole of equal neighbours.
"""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import COMPOSITES, Case, U, add_case

COMPOSITES.extend(["gradient", "linspace", "real_if_close"])


def _coordinates(rng, shape):
    return np.cumsum(rng.uniform(0.5, 1.5, size=shape))


def _promoted(f, h):
    """f in h's dtype: np.gradient keeps f's dtype (complex spacings with real samples would be
    cast to real, a ComplexWarning), while the arithmetic, and dualdiff, promote."""
    return f + 0 * np.sum(h)


def _stacked(out):
    return np.stack(out) if isinstance(out, (tuple, list)) else out


for _cid, _shape, _kw in [
    ("1d", (5,), {}),
    ("edge2", (4,), {"edge_order": 2}),
    ("short", (2,), {}),
    ("2d", (3, 4), {}),
    ("2d-axis1-edge2", (3, 4), {"axis": 1, "edge_order": 2}),
    ("3d-axes", (3, 2, 3), {"axis": (0, 2)}),
]:
    add_case("gradient", Case(
        f"gradient-{_cid}", lambda f, kw=_kw: dd.stack(dd.gradient(f, **kw))
        if isinstance(dd.gradient(f, **kw), tuple) else dd.gradient(f, **kw),
        lambda f, kw=_kw: _stacked(np.gradient(f, **kw)), (_shape,), (U(-2, 2),)))

for _cid, _kw in [("edge1", {}), ("edge2", {"edge_order": 2})]:
    # a traced spacing (scalar) and traced coordinates (non-uniform formula)
    add_case("gradient", Case(
        f"gradient-spacing-{_cid}", lambda f, h, kw=_kw: dd.gradient(f, h, **kw),
        lambda f, h, kw=_kw: np.gradient(_promoted(f, h), h, **kw), ((5,), ()), (U(-2, 2), U(0.5, 2))))
    add_case("gradient", Case(
        f"gradient-coordinates-{_cid}", lambda f, x, kw=_kw: dd.gradient(f, x, **kw),
        lambda f, x, kw=_kw: np.gradient(_promoted(f, x), x, **kw), ((5,), (5,)),
        (U(-2, 2), _coordinates)))
add_case("gradient", Case(
    "gradient-2d-mixed", lambda f, x: dd.stack(dd.gradient(f, x, 0.5, edge_order=2)),
    lambda f, x: np.stack(np.gradient(_promoted(f, x), x, 0.5, edge_order=2)), ((4, 3), (4,)),
    (U(-2, 2), _coordinates)))

for _cid, _shapes, _kw in [
    ("scalar", ((), ()), {"num": 5}),
    ("open", ((), ()), {"num": 4, "endpoint": False}),
    ("arrays-axis1", ((2,), ()), {"num": 3, "axis": 1}),
    ("arrays", ((2, 3), (3,)), {"num": 4}),
]:
    add_case("linspace", Case(
        f"linspace-{_cid}", lambda a, b, kw=_kw: dd.linspace(a, b, **kw),
        lambda a, b, kw=_kw: np.linspace(a, b, **kw), _shapes, (U(-2, 0), U(0.5, 2))))
add_case("linspace", Case(
    "linspace-retstep", lambda a, b: dd.stack([dd.linspace(a, b, 3, retstep=True)[1]] * 2),
    lambda a, b: np.stack([np.linspace(a, b, 3, retstep=True)[1]] * 2), ((), ()),
    (U(-2, 0), U(0.5, 2))))

# the complex step's 1e-30i is "close" to real and would be dropped: central differences
add_case("real_if_close", Case("real_if_close-real", dd.real_if_close, np.real_if_close,
                               ((2, 3),), (U(-2, 2),), oracle="central"))
# the branch that drops imaginary parts is in tests/test_sampling.py (dd.compile cannot record a
# result type chosen from the values, and every table case is compiled)
