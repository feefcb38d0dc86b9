"""The table itself: ``PRIMITIVES``, how an entry is registered, and the helpers every family shares.

Every derivative dualdiff knows is one entry of ``PRIMITIVES``, defined in the family module where
it belongs (see :mod:`dualdiff.rules`). This module holds only what all families need.
"""

from __future__ import annotations

import weakref
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



# Identities for seeds, kept between calls up to this many elements each (2 MiB of float64): a
# fresh n×n block per call costs its fill and, above the allocator's mmap threshold, page faults
# (a 200×200 Jacobian spent a sixth of its time there). Read-only, so no pass can alter them.
_IDENTITY_ELEMENTS = 1 << 18
_IDENTITIES: "dict[tuple, np.ndarray]" = {}
# Every identity identity_seed made that is still alive, by id (the cached ones and the large
# ones made per call): what is_identity_seed recognises.
_MADE: "weakref.WeakValueDictionary[int, np.ndarray]" = weakref.WeakValueDictionary()


def identity_seed(n: int, dtype: Any) -> np.ndarray:
    """np.eye(n, dtype=dtype), read-only; a small one is cached (the last few sizes asked for).

    The seeds of a Jacobian's forward passes are its rows (transforms.seed_directions); when
    one pass takes all n directions its seed is this array itself, which the matmul rule
    recognises (:func:`is_identity_seed`) to skip multiplying by it.
    """
    key = (n, np.dtype(dtype).str)
    eye = _IDENTITIES.get(key)
    if eye is None:
        eye = np.eye(n, dtype=dtype)
        eye.flags.writeable = False
        _MADE[id(eye)] = eye
        if n * n <= _IDENTITY_ELEMENTS:
            if len(_IDENTITIES) >= 8:
                _IDENTITIES.clear()  # a handful of sizes in use at a time; never unbounded
            _IDENTITIES[key] = eye
    return eye


# Seeds kept between calls (a reused colouring's directions), by id: read-only arrays nobody
# writes into, so a tangent computed from them alone is the same on every call, and a pass over
# them keeps such tangents too (dual.ForwardTag.keep). (The cached identities are not marked:
# a dense Hessian's pass measured no faster keeping them, its kept tangents being few and small
# next to the lookups every operation of the pass then makes.)
# (weak references in a plain dict: a WeakValueDictionary's lookup of a missing key, the
# common case, raises and catches a KeyError, which costs more than the rest of the check)
_KEPT_SEEDS: "dict[int, weakref.ref]" = {}


def keep_seed(seed: np.ndarray) -> None:
    """Mark a read-only seed array as kept between calls (see :func:`is_kept_seed`)."""
    if seed.flags.writeable:
        raise ValueError("a kept seed must be read-only")
    key = id(seed)

    def forget(_: Any, key: int = key) -> None:
        if _KEPT_SEEDS.get(key) is ref:
            del _KEPT_SEEDS[key]

    ref = weakref.ref(seed, forget)
    _KEPT_SEEDS[key] = ref


def is_kept_seed(t: Any) -> bool:
    """Whether ``t`` is a seed marked by :func:`keep_seed`: by object identity, never by value."""
    ref = _KEPT_SEEDS.get(id(t))
    return ref is not None and ref() is t


def is_identity_seed(t: Any) -> bool:
    """Whether ``t`` is an identity made by :func:`identity_seed`: by object identity, never
    by value (a read-only array nobody writes into, so its value is known without looking).
    A user's own identity, or a slice or copy of this one, is not recognised."""
    return type(t) is np.ndarray and _MADE.get(id(t)) is t


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

