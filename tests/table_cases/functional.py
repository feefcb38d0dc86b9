"""Table-test cases: numpy's functions that call the user's function on pieces of an array
(rules/functional.py): apply_along_axis, piecewise.

Both are composites. References are numpy's own functions on the same user functions;
piecewise's conditions are read from the values, so its points are kept away from the
boundaries between pieces (the oracle perturbs them, and must not move a point across one).
"""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import COMPOSITES, AWAY, Case, U, add_case

COMPOSITES.extend(["apply_along_axis", "piecewise"])

# -- apply_along_axis: a scalar, a vector and a matrix per slice -----------------------------
for _cid, _fn, _axis, _shape in [
    ("scalar-per-row", lambda r: r[0] * np.sin(r[1]) + r[2] ** 2, 1, (2, 3)),
    ("vector-per-column", lambda r: r * r[0], 0, (3, 2)),
    ("matrix-per-slice", lambda r: np.outer(r, r[:2]), 1, (2, 3, 2)),
    ("with-args", lambda r, c: np.sum(r ** 3) * c, -1, (3, 2)),
]:
    _args = (1.5,) if _cid == "with-args" else ()
    add_case("apply_along_axis", Case(
        f"apply_along_axis-{_cid}",
        lambda x, f=_fn, a=_axis, e=_args: dd.apply_along_axis(f, a, x, *e),
        lambda x, f=_fn, a=_axis, e=_args: np.apply_along_axis(f, a, x, *e),
        (_shape,), (U(-2, 2),)))


# -- piecewise: functions, a constant, a default ---------------------------------------------
def _pieces(x):
    return [x < -0.5, x > 0.5]


_FUNCS = [lambda t: t ** 3, lambda t: np.exp(t) * t, lambda t: np.sin(t)]  # last: the default

add_case("piecewise", Case(
    "piecewise-with-default", lambda x: dd.piecewise(x, _pieces(x.real if np.iscomplexobj(x) else x), _FUNCS),
    lambda x: np.piecewise(x, _pieces(x.real), _FUNCS), ((7,),), (AWAY(0.6, 2.0),)))
add_case("piecewise", Case(
    "piecewise-constant-piece", lambda x: dd.piecewise(x, [x < 0], [2.5, lambda t: t * t]),
    lambda x: np.piecewise(x, [x.real < 0], [2.5, lambda t: t * t]), ((2, 3),), (AWAY(0.1, 2.0),)))
