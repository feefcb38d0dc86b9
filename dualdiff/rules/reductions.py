"""Reductions and normalisations over axes: mean, logsumexp, softmax, log_softmax.

These are composites: written with primitives, they need no rule of their own. (``sum``, the
reduction every adjoint uses, is in :mod:`.shape`.)
"""

from __future__ import annotations

import math
from typing import Sequence, Union

import numpy as np

from ..primitives import shape_of, stop_gradient
from .ufuncs import add, divide, exp, log, subtract
from .shape import reshape, sum
from .table import Value, norm_axes


def mean(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """The mean of x's elements over ``axis`` (all by default), as np.mean.

    >>> import dualdiff as dd
    >>> float(dd.mean([1.0, 2.0, 3.0]))
    2.0
    """
    shape = shape_of(x)
    axes = norm_axes(axis, len(shape))
    count = math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)
    return divide(sum(x, axis=axes, keepdims=keepdims), float(count))


def _shift(x: Value, axis) -> tuple:
    """x minus its (constant) maximum over ``axis``: exp of the result cannot overflow."""
    v = stop_gradient(x)
    # initial=-inf: an empty axis has no maximum; it then shifts by 0 and logsumexp is -inf.
    m = np.max(np.real(v), axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf along an axis: shift by 0, not by -inf
    return subtract(x, m), m


def logsumexp(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """log(sum(exp(x))) over ``axis`` (all elements by default), without overflow.

    The maximum is subtracted first and added back; it is a constant to every derivative (it
    cancels), so the gradient is softmax(x).

    >>> import dualdiff as dd
    >>> round(float(dd.logsumexp([1000.0, 1000.0])), 6)
    1000.693147
    """
    axes = norm_axes(axis, len(shape_of(x)))
    shifted, m = _shift(x, axes)
    out = add(log(sum(exp(shifted), axis=axes, keepdims=True)), m)
    if keepdims:
        return out
    return reshape(out, tuple(n for i, n in enumerate(shape_of(out))
                              if not (axes is None or i in axes)))


def softmax(x: Value, axis: int = -1) -> Value:
    """exp(x) / sum(exp(x)) along ``axis`` (the last by default), without overflow.

    >>> import dualdiff as dd
    >>> dd.softmax([1000.0, 1000.0])
    array([0.5, 0.5])
    """
    axes = norm_axes(axis, len(shape_of(x)))
    e = exp(_shift(x, axes)[0])
    return divide(e, sum(e, axis=axes, keepdims=True))


def log_softmax(x: Value, axis: int = -1) -> Value:
    """x - logsumexp(x) along ``axis`` (the last by default): the log of softmax, without overflow.

    >>> import dualdiff as dd
    >>> dd.log_softmax([1000.0, 1000.0])
    array([-0.69314718, -0.69314718])
    """
    axes = norm_axes(axis, len(shape_of(x)))
    # (x - m) - log Σ exp(x - m): subtracting the whole logsumexp from x instead would cancel
    # the leading digits at large x (1000 - 1000.69...) and lose ~1e-13 relative accuracy.
    shifted = _shift(x, axes)[0]
    return subtract(shifted, log(sum(exp(shifted), axis=axes, keepdims=True)))
