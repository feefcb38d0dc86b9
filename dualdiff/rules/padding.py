"""np.pad's modes that compute the border from x: 'maximum', 'minimum', 'mean' and 'median' (a
statistic of the first or last ``stat_length`` elements along each axis) and 'linear_ramp' (from
``end_values`` to the edge element); the modes that copy x's elements are in assembly.py.

As numpy does, the axes are padded one after another, each axis's border computed from the
array as padded so far, so the corners hold statistics (ramps) of the earlier axes' borders.
The statistics and ramps are dualdiff's own functions (amax, mean, median, linspace), so the
derivative reaches the elements they read; no derivative rule is written here.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from ..primitives import is_traced, shape_of
from .assembly import concatenate, pad as _copying_pad, pad_widths
from .indexing import _along, getitem
from .reductions import amax, amin, mean, median
from .sampling import linspace
from .shape import broadcast_to, reshape
from .table import Value, float_dtype

__all__ = ["pad"]

_STATISTICS: Dict[str, Callable[..., Value]] = {
    "maximum": amax, "minimum": amin, "mean": mean, "median": median}


def _pairs(value: Any, nd: int, what: str, as_index: bool = False) -> List[Tuple[Any, Any]]:
    """A scalar, a (before, after) pair or one pair per axis, read as numpy's pad reads them
    (numpy scalars from one or two values, Python numbers from more: the ramp's dtype follows)."""
    if value is None:
        return [(None, None)] * nd
    if is_traced(value):
        raise TypeError(f"pad: {what} must be plain numbers (their derivative is not carried)")
    a = np.array(value)
    if as_index:
        a = np.round(a).astype(np.intp, copy=False)
        if a.size and a.min() < 0:
            raise ValueError(f"pad: {what} cannot be negative")
    if a.ndim < 3 and a.size == 1:
        return [(a.ravel()[0], a.ravel()[0])] * nd
    if a.ndim < 3 and a.size == 2 and a.shape != (2, 1):
        return [(a.ravel()[0], a.ravel()[1])] * nd
    try:
        return [tuple(pair) for pair in np.broadcast_to(a, (nd, 2)).tolist()]
    except ValueError:
        raise ValueError(f"pad: {what} must be a number, a (before, after) pair or one pair per "
                         f"axis ({nd}), not shape {np.shape(value)}") from None


def pad(x: Value, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Value:
    """x padded by ``pad_width`` (per axis (before, after)), as np.pad: the modes constant,
    edge, reflect, symmetric and wrap (x's elements copied), maximum, minimum, mean and median
    (a statistic of ``stat_length`` elements at each end) and linear_ramp (to ``end_values``).

    >>> import dualdiff as dd
    >>> dd.pad([1.0, 2.0, 6.0], (1, 2), mode="mean", stat_length=2)
    array([1.5, 1. , 2. , 6. , 4. , 4. ])
    >>> dd.grad(lambda x: dd.pad(x, 2, mode="linear_ramp")[1], [1.0, 2.0, 6.0])
    array([0.5, 0. , 0. ])
    """
    if mode not in _STATISTICS and mode != "linear_ramp":
        return _copying_pad(x, pad_width, mode, **kwargs)
    allowed = "stat_length" if mode in _STATISTICS else "end_values"
    extra = set(kwargs) - {allowed}
    if extra:
        raise TypeError(f"pad: mode {mode!r} takes no {', '.join(sorted(extra))}")
    shape = shape_of(x)
    nd = len(shape)
    widths = pad_widths(pad_width, nd)
    for a, n in enumerate(shape):
        if n == 0 and np.any(widths[a]):
            raise ValueError(f"pad: can't extend empty axis {a} using modes other than 'constant' "
                             f"or 'empty'")
    if 0 in shape:  # nothing to read, nothing extended: numpy's empty result of the new shape
        return _copying_pad(x, widths, "constant")
    if mode in _STATISTICS:
        lengths = _pairs(kwargs.get("stat_length"), nd, "stat_length", as_index=True)
        for a, (b, e) in enumerate(widths):
            if b or e:
                x = _pad_statistic(x, a, int(b), int(e), lengths[a], mode)
        return x
    ends = _pairs(kwargs.get("end_values", 0), nd, "end_values")
    for a, (b, e) in enumerate(widths):
        if b or e:
            x = _pad_ramp(x, a, int(b), int(e), ends[a])
    return x


def _border(value: Value, shape: tuple, a: int, width: int) -> Value:
    return broadcast_to(value, shape[:a] + (width,) + shape[a + 1:])


def _pad_statistic(x: Value, a: int, b: int, e: int, lengths: Tuple[Any, Any], mode: str) -> Value:
    """x padded along axis a with the statistic of its first (last) elements, as numpy's _get_stats."""
    shape = shape_of(x)
    n = shape[a]
    first, last = (n if k is None or n < k else int(k) for k in lengths)
    if (first == 0 or last == 0) and mode in ("maximum", "minimum"):
        raise ValueError("pad: stat_length of 0 yields no value for padding")
    def statistic(start: int, stop: int) -> Value:
        # (numpy's median of no element is nan, as the mean's: dd.median refuses it)
        fn = _STATISTICS["mean" if start == stop else mode]
        return fn(getitem(x, _along(a, slice(start, stop))), axis=a, keepdims=True)
    before = statistic(0, first)
    after = before if first == last == n else statistic(n - last, n)
    return concatenate([p for p, w in ((_border(before, shape, a, b), b), (x, 1),
                                       (_border(after, shape, a, e), e)) if w], a)


def _pad_ramp(x: Value, a: int, b: int, e: int, ends: Tuple[Any, Any]) -> Value:
    """x padded along axis a with ramps from the end values to its edge elements (edge left
    out), as numpy's _get_linear_ramps."""
    shape = shape_of(x)
    n = shape[a]
    inner = shape[:a] + shape[a + 1:]
    dtype = float_dtype(x)
    pieces = []
    if b:
        edge = reshape(getitem(x, _along(a, slice(0, 1))), inner)
        pieces.append(linspace(ends[0], edge, b, endpoint=False, dtype=dtype, axis=a))
    pieces.append(x)
    if e:
        edge = reshape(getitem(x, _along(a, slice(n - 1, n))), inner)
        ramp = linspace(ends[1], edge, e, endpoint=False, dtype=dtype, axis=a)
        pieces.append(getitem(ramp, _along(a, slice(None, None, -1))))
    return concatenate(pieces, a)
