"""Table-test cases: stack, concatenate, where (rules/assembly.py)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

for _cid, _shapes, _axis in [
    ("scalars", ((), (), ()), 0), ("vectors-axis0", ((3,), (3,), (3,)), 0),
    ("vectors-axis1", ((3,), (3,), (3,)), 1), ("matrices-axis-1", ((2, 3), (2, 3)), -1),
    ("matrices-axis1", ((2, 3), (2, 3)), 1),
]:
    _linear("stack", _cid, lambda *xs, a=_axis: dd.stack(list(xs), axis=a),
            lambda *xs, a=_axis: np.stack(xs, axis=a), _shapes)

for _cid, _shapes, _axis in [
    ("vectors", ((2,), (3,), (1,)), 0), ("rows", ((2, 3), (1, 3)), 0),
    ("columns", ((2, 3), (2, 1)), 1), ("axis-1", ((2, 2), (2, 3)), -1),
]:
    _linear("concatenate", _cid, lambda *xs, a=_axis: dd.concatenate(list(xs), axis=a),
            lambda *xs, a=_axis: np.concatenate(xs, axis=a), _shapes)

_COND1 = np.array([True, False, True])
_COND2 = np.array([[True, False, True], [False, False, True]])
for _cid, _cond, _shapes in [
    ("scalars", np.bool_(True), ((), ())), ("vectors", _COND1, ((3,), (3,))),
    ("broadcast-x-row-y-scalar", _COND2, ((3,), ())), ("broadcast-scalar-x", _COND2, ((), (2, 3))),
    ("cond-broadcasts", np.array([[True], [False]]), ((2, 3), (2, 3))),
]:
    _linear("where", _cid, lambda x, y, c=_cond: dd.where(c, x, y),
            lambda x, y, c=_cond: np.where(c, x, y), _shapes)


# -- stacks, splits, padding and selection written with the primitives (rules/assembly.py) ----

COMPOSITES.extend(["vstack", "hstack", "dstack", "column_stack", "row_stack", "append", "split",
                   "array_split", "hsplit", "vsplit", "dsplit", "roll", "pad", "diag",
                   "diagflat", "tril", "triu", "select", "choose", "index_update"])
for _name in ("vstack", "hstack", "dstack", "column_stack", "row_stack"):
    for _cid, _shapes in [("vectors", ((3,), (3,))), ("matrices", ((2, 3), (2, 3))),
                          ("scalars", ((), ()))]:
        _linear(_name, _cid, lambda *xs, f=getattr(dd, _name): f(list(xs)),
                lambda *xs, f=getattr(np, _name.replace("row_stack", "vstack")): f(xs), _shapes)
_linear("append", "flat", dd.append, np.append, ((2, 2), (3,)))
_linear("append", "axis0", lambda x, y: dd.append(x, y, axis=0),
        lambda x, y: np.append(x, y, axis=0), ((2, 3), (1, 3)))
for _name, _fn, _ref, _shape, _arg in [
    ("split", dd.split, np.split, (4, 3), 2), ("split", dd.split, np.split, (5,), [1, 3]),
    ("array_split", dd.array_split, np.array_split, (5, 2), 3),
    ("hsplit", dd.hsplit, np.hsplit, (2, 4), 2), ("vsplit", dd.vsplit, np.vsplit, (4, 2), [1]),
    ("dsplit", dd.dsplit, np.dsplit, (1, 2, 4), 2),
]:
    # the pieces joined back flat: every piece's value and derivative is compared at once
    _linear(_name, f"{_sh(_shape)}-{_arg}",
            lambda x, f=_fn, a=_arg: dd.concatenate([dd.reshape(p, (-1,)) for p in f(x, a)]),
            lambda x, f=_ref, a=_arg: np.concatenate([np.ravel(p) for p in f(x, a)]), (_shape,))
for _cid, _shape, _shift, _axis in [("flat", (2, 3), 2, None), ("axis1", (2, 3), -1, 1),
                                    ("two-axes", (2, 3, 4), (1, 5), (0, 2))]:
    _linear("roll", _cid, lambda x, s=_shift, a=_axis: dd.roll(x, s, a),
            lambda x, s=_shift, a=_axis: np.roll(x, s, a), (_shape,))
for _mode, _kw in [("constant", {}), ("constant", {"constant_values": (1.5, -2.0)}), ("edge", {}),
                   ("reflect", {}), ("symmetric", {}), ("wrap", {})]:
    for _shape, _width in [((4,), (2, 3)), ((3, 3), ((1, 0), (2, 1))), ((3,), (7, 4))]:
        _linear("pad", f"{_mode}{'-values' if _kw else ''}-{_sh(_shape)}",
                lambda x, w=_width, m=_mode, k=_kw: dd.pad(x, w, mode=m, **k),
                lambda x, w=_width, m=_mode, k=_kw: np.pad(x, w, mode=m, **k), (_shape,))
for _k in (0, 1, -2):
    _linear("diag", f"vector-k{_k}", lambda x, k=_k: dd.diag(x, k), lambda x, k=_k: np.diag(x, k), ((3,),))
    _linear("diag", f"matrix-k{_k}", lambda x, k=_k: dd.diag(x, k), lambda x, k=_k: np.diag(x, k), ((3, 4),))
    _linear("diagflat", f"k{_k}", lambda x, k=_k: dd.diagflat(x, k), lambda x, k=_k: np.diagflat(x, k), ((2, 2),))
    _linear("tril", f"k{_k}", lambda x, k=_k: dd.tril(x, k), lambda x, k=_k: np.tril(x, k), ((2, 3, 4),))
    _linear("triu", f"k{_k}", lambda x, k=_k: dd.triu(x, k), lambda x, k=_k: np.triu(x, k), ((3, 4),))
_SEL = [np.array([True, False, True, False]), np.array([True, True, False, False])]
_linear("select", "two-choices-default", lambda a, b, d: dd.select(_SEL, [a, b], d),
        lambda a, b, d: np.select(_SEL, [a, b], d), ((4,), (2, 4), ()))
_linear("select", "default-zero", lambda a, b: dd.select(_SEL, [a, b]),
        lambda a, b: np.select(_SEL, [a, b]), ((4,), ()))
_CHOICE = np.array([[0, 2, 1], [1, 1, 0]])
_linear("choose", "three-broadcast", lambda a, b, c: dd.choose(_CHOICE, [a, b, c]),
        lambda a, b, c: np.choose(_CHOICE, [a, b, c]), ((2, 3), (3,), ()))
_linear("choose", "wrap", lambda a, b: dd.choose(_CHOICE + 2, [a, b], mode="wrap"),
        lambda a, b: np.choose(_CHOICE + 2, [a, b], mode="wrap"), ((2, 3), (2, 3)))


def _update_ref(idx):
    def ref(x, v):
        y = np.array(x, dtype=np.result_type(x, v))
        y[idx] = v
        return y
    return ref


for _cid, _shape, _idx, _vshape in [
    ("slice", (5,), slice(1, 4), (3,)), ("int-broadcast", (3, 4), 1, ()),
    ("repeats-last-wins", (5,), np.array([0, 3, 0]), (3,)), ("mask", (2, 3), np.array([[True, False, True], [False, True, False]]), (3,)),
    ("fancy-slice-fancy", (2, 3, 4), (np.array([0, 1]), slice(None), np.array([1, 1])), (3,)),
    ("scalar-into-0d", (), (), ()),
]:
    _linear("index_update", _cid, lambda x, v, i=_idx: dd.index_update(x, i, v),
            _update_ref(_idx), (_shape, _vshape))
