"""The table itself: ``PRIMITIVES``, how an entry is registered, and the helpers every family shares.

Every derivative dualdiff knows is one entry of ``PRIMITIVES``, defined in the family module where
it belongs (see :mod:`dualdiff.rules`). This module holds only what all families need.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..primitives import Primitive, stop_gradient

#: A value dualdiff functions accept: a number, an ndarray, a Dual or a tape variable.
Value = Any

#: Every primitive by name: the one table both modes read.
PRIMITIVES: "dict[str, Primitive]" = {}

FLOATS = (float, np.float64)


def register(prim: Primitive) -> Primitive:
    if prim.name in PRIMITIVES:
        raise ValueError(f"primitive {prim.name!r} defined twice")
    PRIMITIVES[prim.name] = prim
    return prim


SCALAR_TYPES = frozenset((float, int, complex, np.float64, np.complex128))

NATIVE = frozenset((float, int, complex, np.float64, np.ndarray))


def float_dtype(x: Value) -> np.dtype:
    """The floating dtype of a value (traced or not), for constants that must not widen it."""
    return np.result_type(stop_gradient(x), 1.0)



def norm_axes(axis, ndim: int) -> Optional[tuple]:
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(f"axis must be an int or a tuple of ints, not {type(axis).__name__}")
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"axis must be an int or a tuple of ints, not {type(a).__name__}")
        if (a not in (0, -1)) if ndim == 0 else not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        if ndim:  # a 0-d value has no axis to reduce: axis 0 / -1 there means "nothing"
            out.append(int(a) % ndim)
    return tuple(out)

