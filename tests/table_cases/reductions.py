"""Table-test cases: mean, softmax, log_softmax, logsumexp (rules/reductions.py)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

COMPOSITES.extend(["mean", "softmax", "log_softmax"])


def _softmax_ref(z, axis):
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp_ref(z, axis, keepdims=False):
    return np.log(np.sum(np.exp(z), axis=axis, keepdims=keepdims))


for _cid, _shape, _axis, _keep in [
    ("scalar", (), None, False), ("vector", (5,), None, False), ("axis0", (3, 4), 0, False),
    ("axis1-keepdims", (3, 4), 1, True), ("axes01", (2, 3, 2), (0, 1), False),
]:
    _linear("mean", _cid, lambda x, a=_axis, k=_keep: dd.mean(x, axis=a, keepdims=k),
            lambda x, a=_axis, k=_keep: np.sum(x, axis=a, keepdims=k) / (
                np.size(x) / np.size(np.sum(x, axis=a, keepdims=k))), (_shape,))

for _cid, _shape, _axis in [("vector", (5,), -1), ("rows", (3, 4), -1), ("columns", (3, 4), 0),
                            ("3d-middle", (2, 3, 2), 1)]:
    add_case("softmax", Case(f"softmax-{_cid}", lambda x, a=_axis: dd.softmax(x, axis=a),
                             lambda z, a=_axis: _softmax_ref(z, a), (_shape,), (U(-4, 4),)))
    add_case("log_softmax", Case(
        f"log_softmax-{_cid}", lambda x, a=_axis: dd.log_softmax(x, axis=a),
        lambda z, a=_axis: z - _logsumexp_ref(z, a, keepdims=True), (_shape,), (U(-4, 4),)))

for _cid, _shape, _axis, _keep in [
    ("vector", (5,), None, False), ("matrix-all", (3, 4), None, False),
    ("axis1", (3, 4), 1, False), ("axis0-keepdims", (3, 4), 0, True), ("axes12", (2, 3, 2), (1, 2), False),
]:
    add_case("logsumexp", Case(
        f"logsumexp-{_cid}", lambda x, a=_axis, k=_keep: dd.logsumexp(x, axis=a, keepdims=k),
        lambda z, a=_axis, k=_keep: _logsumexp_ref(z, a, k), (_shape,), (U(-4, 4),)))


# -- max/min, prod, cumulative ops, moments, order statistics (issue #8) ----------------------

AXES = [  # id, shape, axis, keepdims
    ("scalar", (), None, False), ("vector", (5,), None, False), ("axis0", (3, 4), 0, False),
    ("axis-1-keepdims", (3, 4), -1, True), ("axes02", (2, 3, 2), (0, 2), False),
    ("all-keepdims", (2, 3), None, True),
]

#: Primitives whose derivative picks elements by value: no single run gives a global pattern.
SELECT_BY_VALUE = ("max", "min", "nanmax", "nanmin")

for _name in SELECT_BY_VALUE:
    for _cid, _shape, _axis, _keep in AXES:
        add_case(_name, Case(
            f"{_name}-{_cid}", lambda x, n=_name, a=_axis, k=_keep: getattr(dd, n)(x, axis=a, keepdims=k),
            lambda x, n=_name, a=_axis, k=_keep: getattr(np, n)(x, axis=a, keepdims=k),
            (_shape,), (U(-3, 3),), oracle="central"))


def _with_nans(rng):
    x = rng.uniform(-3, 3, size=(3, 4))
    x[0, 1] = x[2, 3] = np.nan
    return (x,)


for _name in ("nanmax", "nanmin"):
    add_case(_name, Case(f"{_name}-with-nans", lambda x, n=_name: getattr(dd, n)(x, axis=1),
                         lambda x, n=_name: getattr(np, n)(x, axis=1), oracle="central",
                         make=_with_nans))


def _with_zeros(shape, positions):
    def make(rng):
        x = rng.uniform(-2, 2, size=shape)
        x.reshape(-1)[list(positions)] = 0.0
        return (_out(x),)
    return make


for _cid, _shape, _axis, _keep in AXES:
    add_case("prod", Case(f"prod-{_cid}", lambda x, a=_axis, k=_keep: dd.prod(x, axis=a, keepdims=k),
                          lambda z, a=_axis, k=_keep: np.prod(z, axis=a, keepdims=k),
                          (_shape,), (U(-2, 2),)))
# zeros: prod is a polynomial, so complex step stays exact there, to second order
for _cid, _shape, _axis, _zeros in [
    ("one-zero", (5,), None, (2,)), ("two-zeros", (5,), None, (1, 3)),
    ("three-zeros", (6,), None, (0, 2, 5)), ("zeros-axis1", (3, 4), 1, (1, 4, 5)),
    ("zeros-axes01", (2, 3, 2), (0, 1), (0, 7, 9)),
]:
    add_case("prod", Case(f"prod-{_cid}", lambda x, a=_axis: dd.prod(x, axis=a),
                          lambda z, a=_axis: np.prod(z, axis=a), make=_with_zeros(_shape, _zeros),
                          special_point=True))

for _name in ("cumsum", "cumprod"):
    for _cid, _shape, _axis in [("scalar", (), None), ("vector", (6,), None), ("flatten", (2, 3), None),
                                ("axis0", (3, 4), 0), ("axis-1", (2, 3, 4), -1), ("axis1", (2, 3, 2), 1)]:
        add_case(_name, Case(f"{_name}-{_cid}", lambda x, n=_name, a=_axis: getattr(dd, n)(x, axis=a),
                             lambda z, n=_name, a=_axis: getattr(np, n)(z, axis=a), (_shape,),
                             (U(-2, 2),)))
for _cid, _shape, _axis, _zeros in [
    ("one-zero", (6,), None, (2,)), ("two-zeros", (7,), None, (1, 4)),
    ("zero-first", (5,), None, (0,)), ("zeros-axis1", (3, 5), 1, (1, 6, 8, 14)),
    ("zeros-axis0", (4, 3), 0, (0, 4, 5, 10)),
]:
    add_case("cumprod", Case(f"cumprod-{_cid}", lambda x, a=_axis: dd.cumprod(x, axis=a),
                             lambda z, a=_axis: np.cumprod(z, axis=a), make=_with_zeros(_shape, _zeros),
                             special_point=True))


def _var_ref(z, axis=None, ddof=0, keepdims=False):
    # complex-analytic: squares, not |.|² as np.var takes for complex input
    m = np.mean(z, axis=axis, keepdims=True)
    n = np.size(z) / np.size(np.sum(z, axis=axis, keepdims=True))
    return np.sum((z - m) ** 2, axis=axis, keepdims=keepdims) / (n - ddof)


COMPOSITES.extend(["var", "std", "ptp", "average", "nansum", "nanmean", "median", "quantile",
                   "percentile", "diff", "ediff1d", "trace"])

for _cid, _shape, _axis, _keep, _ddof in [
    ("vector", (5,), None, False, 0), ("vector-ddof1", (5,), None, False, 1),
    ("axis0", (3, 4), 0, False, 0), ("axis-1-keepdims-ddof1", (3, 4), -1, True, 1),
    ("axes01", (2, 3, 2), (0, 1), False, 0),
]:
    add_case("var", Case(f"var-{_cid}", lambda x, a=_axis, k=_keep, d=_ddof: dd.var(x, a, d, k),
                         lambda z, a=_axis, k=_keep, d=_ddof: _var_ref(z, a, d, k), (_shape,),
                         (U(-2, 2),), value_ref=lambda z, a=_axis, k=_keep, d=_ddof: np.var(
                             z, axis=a, ddof=d, keepdims=k)))
    add_case("std", Case(f"std-{_cid}", lambda x, a=_axis, k=_keep, d=_ddof: dd.std(x, a, d, k),
                         lambda z, a=_axis, k=_keep, d=_ddof: np.sqrt(_var_ref(z, a, d, k)),
                         (_shape,), (U(-2, 2),), value_ref=lambda z, a=_axis, k=_keep, d=_ddof: np.std(
                             z, axis=a, ddof=d, keepdims=k)))

for _cid, _shape, _axis, _keep in AXES[1:]:
    add_case("ptp", Case(f"ptp-{_cid}", lambda x, a=_axis, k=_keep: dd.ptp(x, axis=a, keepdims=k),
                         lambda x, a=_axis, k=_keep: np.ptp(x, axis=a, keepdims=k), (_shape,),
                         (U(-3, 3),), oracle="central"))
    add_case("nansum", Case(f"nansum-{_cid}", lambda x, a=_axis, k=_keep: dd.nansum(x, a, k),
                            lambda z, a=_axis, k=_keep: np.sum(z, axis=a, keepdims=k), (_shape,),
                            (U(-3, 3),)))
    add_case("nanmean", Case(f"nanmean-{_cid}", lambda x, a=_axis, k=_keep: dd.nanmean(x, a, k),
                             lambda z, a=_axis, k=_keep: np.mean(z, axis=a, keepdims=k), (_shape,),
                             (U(-3, 3),)))
    add_case("median", Case(f"median-{_cid}", lambda x, a=_axis, k=_keep: dd.median(x, a, k),
                            lambda x, a=_axis, k=_keep: np.median(x, axis=a, keepdims=k), (_shape,),
                            (U(-3, 3),), oracle="central"))
# nanvar, nanstd, nanprod, nancumsum, nancumprod (rules/nan_reductions.py): numpy's own
# functions are the references, with and without nans
COMPOSITES.extend(["nanvar", "nanstd", "nanprod", "nancumsum", "nancumprod", "nanquantile",
                   "nanpercentile", "nanmedian"])
for _cid, _shape, _axis, _keep, _ddof in [("vector", (5,), None, False, 0),
                                          ("axis1-keepdims-ddof1", (3, 4), 1, True, 1)]:
    for _name in ("nanvar", "nanstd"):
        add_case(_name, Case(f"{_name}-{_cid}",
                             lambda x, n=_name, a=_axis, k=_keep, d=_ddof: getattr(dd, n)(x, a, d, k),
                             lambda z, n=_name, a=_axis, k=_keep, d=_ddof: (
                                 _var_ref(z, a, d, k) if n == "nanvar" else np.sqrt(_var_ref(z, a, d, k))),
                             (_shape,), (U(-2, 2),),
                             value_ref=lambda z, n=_name, a=_axis, k=_keep, d=_ddof: getattr(np, n)(
                                 z, axis=a, ddof=d, keepdims=k)))
add_case("nanprod", Case("nanprod-axis0", lambda x: dd.nanprod(x, 0), lambda z: np.prod(z, axis=0),
                         ((3, 4),), (U(-2, 2),)))
add_case("nancumsum", Case("nancumsum-flat", lambda x: dd.nancumsum(x),
                           lambda z: np.cumsum(z), ((2, 3),), (U(-2, 2),)))
add_case("nancumprod", Case("nancumprod-axis1", lambda x: dd.nancumprod(x, 1),
                            lambda z: np.cumprod(z, axis=1), ((2, 3),), (U(-2, 2),)))
for _name in ("nanvar", "nanstd", "nanprod", "nancumsum", "nancumprod", "nanmedian"):
    add_case(_name, Case(f"{_name}-with-nans", lambda x, n=_name: getattr(dd, n)(x, axis=1),
                         lambda x, n=_name: getattr(np, n)(x, axis=1), oracle="central",
                         make=_with_nans))
add_case("nanquantile", Case("nanquantile-with-nans-q-list",
                             lambda x: dd.nanquantile(x, [0.1, 0.5, 1.0], axis=1, keepdims=True),
                             lambda x: np.nanquantile(x, [0.1, 0.5, 1.0], axis=1, keepdims=True),
                             oracle="central", make=_with_nans))
add_case("nanpercentile", Case("nanpercentile-with-nans", lambda x: dd.nanpercentile(x, 30.0, axis=0),
                               lambda x: np.nanpercentile(x, 30.0, axis=0), oracle="central",
                               make=_with_nans))
add_case("nanmedian", Case("nanmedian-no-nans", lambda x: dd.nanmedian(x), lambda x: np.median(x),
                           ((7,),), (U(-3, 3),), oracle="central"))
for _name in ("nansum", "nanmean"):
    add_case(_name, Case(f"{_name}-with-nans", lambda x, n=_name: getattr(dd, n)(x, axis=1),
                         lambda x, n=_name: getattr(np, n)(x, axis=1), oracle="central",
                         make=_with_nans))

for _cid, _shape, _q, _axis, _keep in [
    ("scalar-q", (7,), 0.3, None, False), ("q-list-axis1", (3, 5), [0.0, 0.25, 0.9, 1.0], 1, False),
    ("axes-keepdims", (2, 3, 4), 0.6, (0, 2), True),
]:
    add_case("quantile", Case(
        f"quantile-{_cid}", lambda x, q=_q, a=_axis, k=_keep: dd.quantile(x, q, a, k),
        lambda x, q=_q, a=_axis, k=_keep: np.quantile(x, q, axis=a, keepdims=k), (_shape,),
        (U(-3, 3),), oracle="central"))
    add_case("percentile", Case(
        f"percentile-{_cid}", lambda x, q=_q, a=_axis, k=_keep: dd.percentile(x, np.multiply(q, 100), a, k),
        lambda x, q=_q, a=_axis, k=_keep: np.percentile(x, np.multiply(q, 100), axis=a, keepdims=k),
        (_shape,), (U(-3, 3),), oracle="central"))


def _average_ref(z, w, axis):
    return np.sum(z * w, axis=axis) / np.sum(w * np.ones_like(z), axis=axis)


def _flat_weights(w, ws, axis):
    """(3, 1) weights along axis 0 are given as numpy's 1-d weights; others as they are."""
    return w.reshape(-1) if len(ws) == 2 and axis == 0 else w


for _cid, _shapes, _axis in [("same-shape", ((3, 4), (3, 4)), None), ("1d-weights", ((3, 4), (4,)), 1),
                             ("1d-weights-axis0", ((3, 4), (3, 1)), 0)]:
    add_case("average", Case(
        f"average-{_cid}",
        lambda x, w, a=_axis, ws=_shapes[1]: dd.average(x, axis=a, weights=_flat_weights(w, ws, a)),
        lambda x, w, a=_axis: _average_ref(x, w, a), _shapes, (U(-2, 2), U(0.5, 2)),
        value_ref=lambda x, w, a=_axis, ws=_shapes[1]: np.average(
            x, axis=a, weights=_flat_weights(w, ws, a))))
add_case("average", Case("average-unweighted-axis0", lambda x: dd.average(x, axis=0),
                         lambda z: np.mean(z, axis=0), ((3, 4),), (U(-2, 2),)))

for _cid, _shape, _n, _axis, _pre in [("vector", (6,), 1, -1, None), ("second", (6,), 2, -1, None),
                                      ("axis0", (4, 3), 1, 0, None), ("prepend", (5,), 1, -1, 0.5)]:
    _extra = {} if _pre is None else {"prepend": _pre}
    add_case("diff", Case(f"diff-{_cid}", lambda x, n=_n, a=_axis, p=_pre: dd.diff(x, n, a, prepend=p),
                          lambda z, n=_n, a=_axis, e=_extra: np.diff(z, n, a, **e),
                          (_shape,), (U(-2, 2),)))

add_case("ediff1d", Case("ediff1d-2d", lambda x: dd.ediff1d(x), lambda z: np.ediff1d(z), ((2, 3),),
                         (U(-2, 2),)))
add_case("ediff1d", Case("ediff1d-ends", lambda x, b, e: dd.ediff1d(x, to_end=e, to_begin=b),
                         lambda x, b, e: np.concatenate([np.ravel(b), np.diff(x), np.ravel(e)]),
                         ((4,), (), (2,)), (U(-2, 2), U(-2, 2), U(-2, 2))))

for _cid, _shape, _args in [("square", (3, 3), ()), ("offset", (3, 4), (1,)), ("below", (4, 3), (-2,)),
                            ("3d-axes", (2, 3, 4), (0, 2, 1))]:
    add_case("trace", Case(f"trace-{_cid}", lambda x, a=_args: dd.rules.trace(x, *a),
                           lambda z, a=_args: np.trace(z, *a), (_shape,), (U(-2, 2),)))
