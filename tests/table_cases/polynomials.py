"""Table-test cases: polynomials, their fits and convolutions (rules/polynomials.py), covariances
(rules/statistics.py), integrals and interpolants of samples (trapezoid, interp in
rules/sampling.py), and the coordinate grids, np.delete, np.insert, np.resize and np.ldexp added with them.

All are composites. References are numpy's own functions; cov/corrcoef conjugate complex input
(not complex-analytic) and interp is piecewise linear, so those use central differences, with
points kept away from interp's knots.
"""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import AWAY, COMPOSITES, Case, U, add_case
from table_cases.sampling import _coordinates  # increasing, gaps of at least 0.5

COMPOSITES.extend(["convolve", "correlate", "polyval", "cov", "corrcoef", "trapezoid", "interp",
                   "broadcast_arrays", "meshgrid", "delete", "insert", "resize", "ldexp",
                   "polyder", "polyint", "polyadd", "polysub", "polymul", "vander", "polyfit"])

# -- convolve / correlate: linear in each argument -------------------------------------------
for _cid, _shapes, _mode in [
    ("full", ((5,), (3,)), "full"), ("same", ((5,), (3,)), "same"),
    ("valid", ((5,), (3,)), "valid"), ("longer-v", ((2,), (4,)), "full"),
    ("same-longer-v", ((3,), (4,)), "same"), ("length-1", ((4,), (1,)), "full"),
]:
    add_case("convolve", Case(f"convolve-{_cid}", lambda a, v, m=_mode: dd.convolve(a, v, m),
                              lambda a, v, m=_mode: np.convolve(a, v, m), _shapes,
                              (U(-2, 2), U(-2, 2))))
    add_case("correlate", Case(f"correlate-{_cid}", lambda a, v, m=_mode: dd.correlate(a, v, m),
                               lambda a, v, m=_mode: np.correlate(a, v, m), _shapes,
                               (U(-2, 2), U(-2, 2)), oracle="central"))  # conj(v): not analytic

# -- polyval: polynomial in x, linear in p ---------------------------------------------------
for _cid, _shapes in [("scalar", ((4,), ())), ("vector", ((3,), (5,))), ("matrix", ((2,), (2, 3))),
                      ("constant", ((1,), (3,)))]:
    add_case("polyval", Case(f"polyval-{_cid}", dd.polyval, np.polyval, _shapes,
                             (U(-2, 2), U(-1.5, 1.5))))

# -- polyder / polyint / polyadd / polysub / polymul: linear (bilinear for polymul) ------------
for _cid, _m in [("first", 1), ("second", 2), ("zeroth", 0), ("past-the-degree", 4)]:
    add_case("polyder", Case(f"polyder-{_cid}", lambda p, m=_m: dd.polyder(p, m),
                             lambda p, m=_m: np.polyder(p, m), ((4,),), (U(-2, 2),)))
add_case("polyint", Case("polyint-first", dd.polyint, np.polyint, ((3,),), (U(-2, 2),)))
add_case("polyint", Case("polyint-twice-with-constants", lambda p, k: dd.polyint(p, 2, k),
                         lambda p, k: np.polyint(p, 2, k), ((3,), (2,)), (U(-2, 2), U(-2, 2))))
add_case("polyint", Case("polyint-scalar-constant", lambda p, k: dd.polyint(p, 3, k),
                         lambda p, k: np.polyint(p, 3, k), ((2,), ()), (U(-2, 2), U(-2, 2))))
for _name, _dd, _np in [("polyadd", dd.polyadd, np.polyadd), ("polysub", dd.polysub, np.polysub),
                        ("polymul", dd.polymul, np.polymul)]:
    for _cid, _shapes in [("shorter-first", ((2,), (4,))), ("shorter-second", ((3,), (1,))),
                          ("equal", ((3,), (3,)))]:
        add_case(_name, Case(f"{_name}-{_cid}", _dd, _np, _shapes, (AWAY(0.5, 2), AWAY(0.5, 2))))

# -- vander: powers of x; polyfit: the least-squares fit (rational in x, linear in y) ---------
for _cid, _kw in [("square", {}), ("wide", {"N": 5}), ("increasing", {"N": 3, "increasing": True}),
                  ("two-columns", {"N": 2})]:
    add_case("vander", Case(f"vander-{_cid}", lambda x, kw=_kw: dd.vander(x, **kw),
                            lambda x, kw=_kw: np.vander(x, **kw), ((4,),), (U(-2, 2),)))
_T = np.array([-1.0, -0.3, 0.2, 0.5, 1.1, 2.0])  # not symmetric: no covariance vanishes
add_case("polyfit", Case("polyfit-y", lambda y: dd.polyfit(_T, y, 2), lambda y: np.polyfit(_T, y, 2),
                         ((6,),), (U(-2, 2),), oracle="central"))
add_case("polyfit", Case("polyfit-columns", lambda y: dd.polyfit(_T, y, 1),
                         lambda y: np.polyfit(_T, y, 1), ((6, 2),), (U(-2, 2),), oracle="central"))
add_case("polyfit", Case("polyfit-x-and-y", lambda x, y: dd.polyfit(x, y, 1),
                         lambda x, y: np.polyfit(x, y, 1), ((5,), (5,)),
                         (_coordinates, U(-2, 2)), oracle="central"))
add_case("polyfit", Case("polyfit-weights", lambda y, w: dd.polyfit(_T, y, 2, w=w),
                         lambda y, w: np.polyfit(_T, y, 2, w=w), ((6,), (6,)),
                         (U(-2, 2), U(0.5, 2)), oracle="central"))
add_case("polyfit", Case("polyfit-covariance", lambda y: dd.polyfit(_T, y, 1, cov=True)[1],
                         lambda y: np.polyfit(_T, y, 1, cov=True)[1], ((6,),), (U(-2, 2),),
                         oracle="central"))

# -- cov / corrcoef ----------------------------------------------------------------------------
for _cid, _shapes, _kw in [
    ("rows", ((3, 5),), {}), ("columns", ((6, 2),), {"rowvar": False}),
    ("bias", ((2, 4),), {"bias": True}), ("ddof0", ((2, 4),), {"ddof": 0}),
    ("one-variable", ((5,),), {}),
]:
    add_case("cov", Case(f"cov-{_cid}", lambda m, kw=_kw: dd.cov(m, **kw),
                         lambda m, kw=_kw: np.cov(m, **kw), _shapes, (U(-2, 2),),
                         oracle="central"))
add_case("cov", Case("cov-with-y", lambda m, y: dd.cov(m, y), lambda m, y: np.cov(m, y),
                     ((2, 4), (4,)), (U(-2, 2), U(-2, 2)), oracle="central"))
for _cid, _shapes in [("rows", ((3, 6),)), ("pair", ((2, 5),))]:
    add_case("corrcoef", Case(f"corrcoef-{_cid}", dd.corrcoef, np.corrcoef, _shapes, (U(-2, 2),),
                              oracle="central"))

# -- trapezoid: linear in y, rational in the coordinates ---------------------------------------


add_case("trapezoid", Case("trapezoid-dx", lambda y: dd.trapezoid(y), lambda y: np.trapezoid(y),
                           ((5,),), (U(-2, 2),)))
add_case("trapezoid", Case("trapezoid-spacing", lambda y, h: dd.trapezoid(y, dx=h),
                           lambda y, h: np.trapezoid(y, dx=h), ((2, 4), ()), (U(-2, 2), U(0.5, 2))))
add_case("trapezoid", Case("trapezoid-coordinates", lambda y, x: dd.trapezoid(y, x),
                           lambda y, x: np.trapezoid(y, x), ((5,), (5,)), (U(-2, 2), _coordinates)))
add_case("trapezoid", Case("trapezoid-axis0-coordinates", lambda y, x: dd.trapezoid(y, x, axis=0),
                           lambda y, x: np.trapezoid(y, x, axis=0), ((4, 3), (4,)),
                           (U(-2, 2), _coordinates)))

# -- interp: piecewise linear in x, linear in fp, rational in xp --------------------------------
_XP = np.array([0.0, 1.0, 2.5, 4.0])


def _off_knots(rng, shape):
    """Points inside an interval or outside the range, never within 0.2 of a knot."""
    centres = rng.choice([-0.7, 0.5, 1.75, 3.25, 4.7], size=shape)
    return np.asarray(centres + rng.uniform(-0.25, 0.25, size=shape), dtype=float)


add_case("interp", Case("interp-x", lambda x: dd.interp(x, _XP, np.array([1.0, -1.0, 2.0, 0.5])),
                        lambda x: np.interp(x, _XP, np.array([1.0, -1.0, 2.0, 0.5])),
                        ((6,),), (_off_knots,), oracle="central"))
add_case("interp", Case("interp-x-fp-left-right",
                        lambda x, fp: dd.interp(x, _XP, fp, left=-3.0, right=4.0),
                        lambda x, fp: np.interp(x, _XP, fp, left=-3.0, right=4.0),
                        ((2, 3), (4,)), (_off_knots, U(-2, 2)), oracle="central"))
add_case("interp", Case("interp-xp", lambda x, xp: dd.interp(x, xp, np.array([0.0, 2.0, 1.0])),
                        lambda x, xp: np.interp(x, xp, np.array([0.0, 2.0, 1.0])),
                        ((3,), (3,)),
                        (lambda rng, s: rng.uniform(4.2, 4.8, size=s), lambda rng, s: np.array(
                            [3.0, 4.0, 5.0]) + rng.uniform(-0.1, 0.1, size=s)), oracle="central"))

# -- coordinate grids, np.delete, np.insert, np.resize, np.ldexp --------------------------------------------
add_case("broadcast_arrays", Case(
    "broadcast_arrays", lambda a, b: dd.stack(dd.broadcast_arrays(a, b)),
    lambda a, b: np.stack(np.broadcast_arrays(a, b)), ((3, 1), (4,)), (U(-2, 2), U(-2, 2))))
for _cid, _kw in [("xy", {}), ("ij", {"indexing": "ij"})]:
    add_case("meshgrid", Case(
        f"meshgrid-{_cid}", lambda a, b, kw=_kw: dd.stack(dd.meshgrid(a, b, **kw)),
        lambda a, b, kw=_kw: np.stack(np.meshgrid(a, b, **kw)), ((3,), (2,)),
        (U(-2, 2), U(-2, 2))))
add_case("meshgrid", Case(
    "meshgrid-sparse", lambda a, b: dd.meshgrid(a, b, sparse=True)[0] * dd.meshgrid(a, b, sparse=True)[1],
    lambda a, b: np.meshgrid(a, b, sparse=True)[0] * np.meshgrid(a, b, sparse=True)[1],
    ((3,), (2,)), (U(-2, 2), U(-2, 2))))
add_case("delete", Case("delete-flat", lambda x: dd.delete(x, [0, 4]),
                        lambda x: np.delete(x, [0, 4]), ((2, 3),), (U(-2, 2),)))
add_case("delete", Case("delete-axis-slice", lambda x: dd.delete(x, slice(0, 3, 2), axis=1),
                        lambda x: np.delete(x, slice(0, 3, 2), axis=1), ((2, 4),), (U(-2, 2),)))
# (np.insert casts values to x's dtype, so the complex-step reference promotes x first)
_promoted = lambda x, v: np.asarray(x, dtype=np.result_type(x, v))  # noqa: E731
add_case("insert", Case("insert-flat-positions", lambda x, v: dd.insert(x, [1, 4, 4], v),
                        lambda x, v: np.insert(_promoted(x, v), [1, 4, 4], v), ((2, 3), (3,)),
                        (U(-2, 2), U(-2, 2))))
add_case("insert", Case("insert-axis-broadcast", lambda x, v: dd.insert(x, 1, v, axis=1),
                        lambda x, v: np.insert(_promoted(x, v), 1, v, axis=1), ((3, 2), ()),
                        (U(-2, 2), U(-2, 2))))
add_case("insert", Case("insert-block-before-end", lambda x, v: dd.insert(x, -1, v, axis=0),
                        lambda x, v: np.insert(_promoted(x, v), -1, v, axis=0), ((2, 3), (2, 3)),
                        (U(-2, 2), U(-2, 2))))
add_case("resize", Case("resize-grow", lambda x: dd.resize(x, (2, 4)),
                        lambda x: np.resize(x, (2, 4)), ((3,),), (U(-2, 2),)))
add_case("resize", Case("resize-shrink", lambda x: dd.resize(x, 3),
                        lambda x: np.resize(x, 3), ((2, 3),), (U(-2, 2),)))
add_case("ldexp", Case("ldexp", lambda x: dd.ldexp(x, np.array([-3, 0, 2, 5])),
                       lambda x: x * 2.0 ** np.array([-3, 0, 2, 5]), ((4,),), (U(-2, 2),),
                       value_ref=lambda x: np.ldexp(x, np.array([-3, 0, 2, 5]))))
