"""Table-test cases: einsum and the contractions written with it (rules/einsum.py).

The subscripts cover what numpy accepts: explicit and implicit output, ellipsis, diagonals
(repeated indices), full reductions, three operands, size-1 broadcasting, optimize=, and the
interleaved (sublist) form. The oracle is the complex step through np.einsum.
"""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import COMPOSITES, Case, U, add_case

for _cid, _subs, _shapes, _kw in [
    ("matmul", "ij,jk->ik", ((2, 3), (3, 4)), {}),
    ("implicit", "ij,jk", ((2, 3), (3, 4)), {}),
    ("implicit-order", "Ba", ((2, 3),), {}),
    ("trace", "ii", ((3, 3),), {}),
    ("diagonal", "ii->i", ((3, 3),), {}),
    ("diagonal-3", "iij->ji", ((2, 2, 3),), {}),
    ("sum-all", "ij->", ((2, 3),), {}),
    ("sum-axis", "ij->i", ((2, 3),), {}),
    ("transpose", "ij->ji", ((2, 3),), {}),
    ("inner", "i,i", ((4,), (4,)), {}),
    ("outer", "i,j->ij", ((2,), (3,)), {}),
    ("ellipsis", "...ij,...jk->...ik", ((2, 3, 4), (4, 2)), {}),
    ("ellipsis-broadcast", "...ij,...jk", ((2, 1, 3, 4), (5, 4, 2)), {}),
    ("three", "ijk,jl,lk->i", ((2, 3, 4), (3, 2), (2, 4)), {"optimize": True}),
    ("three-greedy", "ij,jk,kl->il", ((2, 3), (3, 4), (4, 2)), {"optimize": "greedy"}),
    ("broadcast-1", "ij,ij->ij", ((1, 3), (2, 3)), {}),
    ("bilinear", "i,ij,j->", ((3,), (3, 3), (3,)), {}),
    ("scalar", ",i->i", ((), (3,)), {}),
]:
    add_case("einsum", Case(f"einsum-{_cid}", lambda *xs, s=_subs, kw=_kw: dd.einsum(s, *xs, **kw),
                            lambda *xs, s=_subs: np.einsum(s, *xs), _shapes,
                            (U(-2, 2),) * len(_shapes)))

add_case("einsum", Case(
    "einsum-sublist", lambda a, b: dd.einsum(a, [0, Ellipsis], b, [Ellipsis], [Ellipsis, 0]),
    lambda a, b: np.einsum(a, [0, Ellipsis], b, [Ellipsis], [Ellipsis, 0]),
    ((2, 3), (3,)), (U(-2, 2),) * 2))

COMPOSITES.extend(["tensordot", "inner", "outer", "vdot", "kron"])
for _cid, _shapes, _axes in [("default", ((2, 3, 4), (3, 4, 2)), 2), ("zero", ((2,), (3,)), 0),
                             ("pairs", ((2, 3, 4), (4, 2, 3)), ([1, 2], [2, 0])),
                             ("one-int", ((3, 4), (4,)), 1)]:
    add_case("tensordot", Case(f"tensordot-{_cid}", lambda a, b, ax=_axes: dd.tensordot(a, b, ax),
                               lambda a, b, ax=_axes: np.tensordot(a, b, ax), _shapes,
                               (U(-2, 2),) * 2))
for _name, _fn, _ref, _cases in [
    ("inner", dd.inner, np.inner, [((3,), (3,)), ((2, 3), (4, 3)), ((), (2, 3))]),
    ("outer", dd.outer, np.outer, [((3,), (2,)), ((2, 2), (3,)), ((), (2,))]),
    # np.vdot conjugates its first argument, which the complex step would see: the oracle is
    # the same sum written without the conjugate (np.vdot itself for complex input, below).
    ("vdot", dd.vdot, lambda a, b: np.sum(np.ravel(a) * np.ravel(b)), [((3,), (3,)), ((2, 3), (3, 2))]),
    ("kron", dd.kron, np.kron, [((2, 2), (2, 3)), ((3,), (2,)), ((2,), (2, 2)), ((2, 1, 2), (2, 3))]),
]:
    for _shapes in _cases:
        add_case(_name, Case(f"{_name}-{'-'.join('x'.join(map(str, s)) or 'scalar' for s in _shapes)}",
                             _fn, _ref, _shapes, (U(-2, 2),) * 2,
                             value_ref=np.vdot if _name == "vdot" else None))
