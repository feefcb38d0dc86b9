"""numpy's ``ufunc.reduce`` and ``ufunc.accumulate`` for the binary ufuncs that have no
reduction of their own (np.logaddexp, np.logaddexp2): a sequential fold of the binary rule.

numpy folds these ufuncs one element after another, out = f(...f(f(x₀, x₁), x₂)..., xₙ₋₁), so
the composite does the same with dualdiff's rule of f: the values are numpy's bit for bit and
the derivative is that of each step, to any order. The cost is one rule per element along the
reduced axis (the other axes go together). :func:`with_value` is the way around that cost for
a reduction: numpy's folded value, carrying the derivative of a smooth function equal to it up
to rounding (the log-sum-exp), whenever the two join without changing a bit (numpy_dispatch
tries it first, and folds only where it fails: infinities, and under dd.compile).
No derivative rule is written here.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np

from ..primitives import concrete, shape_of, stop_gradient
from .assembly import stack
from .cumulative import cumsum
from .indexing import getitem
from .reductions import logsumexp
from .shape import moveaxis, reshape, sum, transpose
from .table import Value, norm_axes
from .ufuncs import add, exp, log

__all__ = ["fold", "fold_accumulate", "with_value", "log_sum_exp", "running_log_sum_exp"]

Step = Callable[[Value, Value], Value]


def _leading(x: Value, axes: Tuple[int, ...]) -> Value:
    """x with the reduced axes first, flattened into one (in C order), the others after."""
    shape = shape_of(x)
    rest = [a for a in range(len(shape)) if a not in axes]
    moved = transpose(x, tuple(axes) + tuple(rest)) if list(axes) + rest != list(range(len(shape))) else x
    return reshape(moved, (-1,) + tuple(shape[a] for a in rest))


def fold(step: Step, x: Value, axis: Any = 0, keepdims: bool = False,
         identity: float = -np.inf, initial: Optional[Any] = None) -> Value:
    """step(...step(step(x₀, x₁), x₂)..., xₙ₋₁) over ``axis`` (an int, a tuple, or None for
    all), elementwise over the other axes, as numpy's ``ufunc.reduce``: x's shape without the
    reduced axes (kept as 1 with ``keepdims``). An empty fold is ``identity``; ``initial``
    starts the fold.

    >>> import dualdiff as dd, numpy as np
    >>> from dualdiff.rules.folds import fold
    >>> fold(dd.logaddexp, np.log([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    array([1.38629436, 1.79175947])
    """
    shape = shape_of(x)
    axes = norm_axes(axis, len(shape))
    axes = tuple(range(len(shape))) if axes is None else tuple(axes)
    kept = tuple(1 if a in axes else n for a, n in enumerate(shape))
    rows = _leading(x, axes)
    n = shape_of(rows)[0]
    if initial is not None or n == 0:
        # the fold starts from initial (or, empty, is the identity): zeros of the other axes'
        # shape that still depend on x, plus the start
        out = sum(getitem(rows, slice(0, 0)), axis=0) + (identity if initial is None else initial)
        start = 0
    else:
        out = getitem(rows, 0)
        start = 1
    for i in range(start, n):
        out = step(out, getitem(rows, i))
    return reshape(out, kept) if keepdims else reshape(out, tuple(shape[a] for a in range(len(shape)) if a not in axes))


def fold_accumulate(step: Step, x: Value, axis: int = 0) -> Value:
    """The running fold along ``axis``: out[0] = x[0], out[i] = step(out[i-1], x[i]), x's
    shape, as numpy's ``ufunc.accumulate``.

    >>> import dualdiff as dd, numpy as np
    >>> from dualdiff.rules.folds import fold_accumulate
    >>> np.exp(fold_accumulate(dd.logaddexp, np.log([1.0, 2.0, 3.0])))
    array([1., 3., 6.])
    """
    shape = shape_of(x)
    (a,) = norm_axes(axis, len(shape)) or (0,)
    if shape[a] == 0:
        return x
    rows = moveaxis(x, a, 0)
    out = [getitem(rows, 0)]
    for i in range(1, shape[a]):
        out.append(step(out[-1], getitem(rows, i)))
    return stack(out, axis=a)


def with_value(value: Any, smooth: Value, ulps: float = 8.0) -> Optional[Value]:
    """smooth + (value − smooth): the plain ``value`` carrying smooth's derivative, when that sum
    gives value's bits back; None when it does not (an infinity or nan, smooth further than
    ``ulps`` units in the last place from value (of 1 for |value| < 1), a difference that is not exact, another dtype
    or shape), for the caller to compute value another way.

    value and smooth must agree up to rounding (numpy's fold of logaddexp and dd.logsumexp):
    their difference is then exact, and so is adding it back, which the check confirms. A
    larger gap means smooth lost precision (an underflow), and so would its derivative.

    >>> import dualdiff as dd, numpy as np
    >>> from dualdiff.rules.folds import with_value
    >>> x = np.log([1.0, 2.0, 3.0])
    >>> y = with_value(np.logaddexp.reduce(x), dd.logsumexp(x))
    >>> bool(y == np.logaddexp.reduce(x))
    True
    """
    near = stop_gradient(smooth)
    # (numpy's functions on the values, not np.asarray: under dd.compile they are recorded, and
    # each test below a guard, so that the compiled derivative is the eager one)
    v, n = concrete(value), concrete(near)  # (dtype and shape are fixed under dd.compile)
    if np.result_type(n) != np.result_type(v) or np.shape(n) != np.shape(v) or not (
            np.all(np.isfinite(value)) and np.all(np.isfinite(near))):
        return None
    offset = value - near
    # (units of the last place of |value|, or of 1 near 0, where the rounding is absolute)
    if not (np.all(np.equal(near + offset, value))
            and np.all(np.abs(offset) <= ulps * np.spacing(np.maximum(np.abs(value), 1)))):
        return None
    return add(smooth, offset)


def log_sum_exp(x: Value, axes: Tuple[int, ...], keepdims: bool, scale: float = 1.0) -> Value:
    """log Σ exp(x) over axes in base e**scale (scale = ln 2: log₂ Σ 2**x): dd.logsumexp, the
    smooth function a fold of logaddexp (logaddexp2) equals up to rounding."""
    if scale == 1.0:
        return logsumexp(x, axes, keepdims)
    return logsumexp(x * scale, axes, keepdims) / scale


def running_log_sum_exp(x: Value, axis: int, scale: float = 1.0) -> Value:
    """log Σ_{j<=i} exp(x_j) along axis in base e**scale, shifted by the plain maximum: what the
    running fold of logaddexp equals up to rounding while no prefix underflows (an underflowed
    prefix is -inf, and :func:`with_value` refuses it)."""
    z = x * scale if scale != 1.0 else x
    shift = np.max(stop_gradient(z), axis=axis, keepdims=True)
    out = log(cumsum(exp(z - shift), axis=axis)) + shift
    return out / scale if scale != 1.0 else out
