"""Sampled data: np.gradient, np.trapezoid and np.interp (differences, integrals and interpolants of samples), np.linspace.

All are composites: numpy's own formulas written with dualdiff's functions, so they are
differentiable in the samples, the spacings or coordinates, and linspace's start and stop, to
every order, with no rule of their own.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from ..primitives import is_traced, shape_of, stop_gradient
from .assembly import concatenate, stack, where
from .indexing import getitem
from .reductions import diff
from .shape import astype, broadcast_to, moveaxis, reshape, shape_dtype
from .shape import sum as _sum
from .table import Value, norm_axes


def _along(axis: int, key: Any, ndim: int) -> tuple:
    return (slice(None),) * axis + (key,)


def _column(v: Value, axis: int, ndim: int) -> Value:
    """A 1-d v shaped to broadcast along ``axis`` of an ndim-dimensional array."""
    return reshape(v, (-1,) + (1,) * (ndim - axis - 1))


def _floats(f: Value) -> Value:
    if is_traced(f):
        return f
    f = np.asarray(f)
    if f.dtype.kind in "biu":  # numpy differentiates integer samples in float64
        f = f.astype(np.float64)
    return f


def _spacing(h: Value, n: int, name: str) -> "tuple[Value, bool]":
    """(dx, uniform): a scalar spacing, or the n − 1 differences of coordinates."""
    if np.ndim(stop_gradient(h)) == 0:
        return h, True
    if np.ndim(stop_gradient(h)) != 1:
        raise ValueError(f"{name}: distances must be scalars or 1-d coordinate arrays")
    if len(stop_gradient(h)) != n:
        raise ValueError(f"{name}: when 1-d, distances must match the length of the "
                         f"corresponding dimension")
    dx = getitem(h, slice(1, None)) - getitem(h, slice(None, -1))
    plain = stop_gradient(dx)
    if not is_traced(dx) and np.all(plain == plain[0]):
        return plain[0], True  # numpy takes its uniform formula then
    return dx, False


def _gradient_along(f: Value, axis: int, ndim: int, h: Value, edge_order: int) -> Value:
    n = shape_of(f)[axis]
    if n < edge_order + 1:
        raise ValueError(f"gradient: the array is too small along axis {axis} ({n} values) to "
                         f"calculate a numerical gradient; edge_order={edge_order} needs at least "
                         f"{edge_order + 1}")
    dx, uniform = _spacing(h, n, "gradient")

    def at(key):
        return getitem(f, _along(axis, key, ndim))

    if uniform:
        interior = (at(slice(2, None)) - at(slice(None, -2))) / (2.0 * dx) if n > 2 else None
    else:
        d1 = _column(getitem(dx, slice(None, -1)), axis, ndim)
        d2 = _column(getitem(dx, slice(1, None)), axis, ndim)
        interior = (-d2 / (d1 * (d1 + d2)) * at(slice(None, -2))
                    + (d2 - d1) / (d1 * d2) * at(slice(1, -1))
                    + d1 / (d2 * (d1 + d2)) * at(slice(2, None))) if n > 2 else None

    def edge(key_a, key_b, key_c, first):
        if edge_order == 1:
            if first:
                return (at(key_b) - at(key_a)) / (dx if uniform else getitem(dx, 0))
            return (at(key_c) - at(key_b)) / (dx if uniform else getitem(dx, -1))
        if uniform:
            a, b, c = (-1.5 / dx, 2.0 / dx, -0.5 / dx) if first else (0.5 / dx, -2.0 / dx, 1.5 / dx)
        elif first:
            d1, d2 = getitem(dx, 0), getitem(dx, 1)
            a = -(2.0 * d1 + d2) / (d1 * (d1 + d2))
            b = (d1 + d2) / (d1 * d2)
            c = -d1 / (d2 * (d1 + d2))
        else:
            d1, d2 = getitem(dx, -2), getitem(dx, -1)
            a = d2 / (d1 * (d1 + d2))
            b = -(d2 + d1) / (d1 * d2)
            c = (2.0 * d2 + d1) / (d2 * (d1 + d2))
        return a * at(key_a) + b * at(key_b) + c * at(key_c)

    if edge_order == 1:
        first = edge(slice(0, 1), slice(1, 2), None, True)
        last = edge(None, slice(-2, -1), slice(-1, None), False)
    else:
        first = edge(slice(0, 1), slice(1, 2), slice(2, 3), True)
        last = edge(slice(-3, -2), slice(-2, -1), slice(-1, None), False)
    parts = [first] + ([interior] if interior is not None else []) + [last]
    out = concatenate(parts, axis)
    # numpy writes the differences into an array of f's dtype: float64 spacings or coordinates
    # do not make a float32 f's gradient float64 (complex ones are left as they were)
    wanted, got = shape_dtype(f), shape_dtype(out)
    return astype(out, wanted) if got.kind == wanted.kind == "f" and got != wanted else out


def gradient(f: Value, *varargs: Value, axis: Union[None, int, Sequence[int]] = None,
             edge_order: int = 1) -> Any:
    """The gradient of sampled f by central differences inside and one-sided ones at the edges,
    as np.gradient.

    ``varargs`` are the spacings: none (1), one scalar for every axis, or one per axis, each a
    scalar or the 1-d coordinates of the samples (traced spacings and coordinates are
    differentiated too). ``edge_order`` 1 or 2. One array of f's shape per axis: a tuple when
    several axes are taken, as numpy.

    >>> import dualdiff as dd, numpy as np
    >>> dd.gradient(np.array([1.0, 4.0, 9.0, 16.0]))
    array([3., 4., 6., 7.])
    >>> dd.jacobian(dd.gradient, np.array([1.0, 4.0, 9.0]))
    array([[-1. ,  1. ,  0. ],
           [-0.5,  0. ,  0.5],
           [ 0. , -1. ,  1. ]])
    """
    f = _floats(f)
    ndim = len(shape_of(f))
    if ndim == 0:
        raise ValueError("gradient: the input must have at least one dimension")
    axes = list(range(ndim)) if axis is None else list(norm_axes(axis, ndim) or ())
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, not {edge_order!r}")
    if len(varargs) == 0:
        spacings: list = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(stop_gradient(varargs[0])) == 0:
        spacings = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise TypeError(f"gradient: {len(varargs)} spacings given for {len(axes)} axes: give "
                        f"none, one scalar, or one per axis")
    out = tuple(_gradient_along(f, ax, ndim, h, edge_order) for ax, h in zip(axes, spacings))
    return out[0] if len(out) == 1 else out


def linspace(start: Value, stop: Value, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0) -> Any:
    """``num`` evenly spaced samples from start to stop (stop left out with endpoint=False),
    as np.linspace; differentiable in start and stop (arrays too: the samples run along ``axis``).

    >>> import dualdiff as dd
    >>> dd.linspace(0.0, 1.0, 5)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> dd.jacobian(lambda b: dd.linspace(0.0, b, 3), 2.0)
    array([0. , 0.5, 1. ])
    """
    if not isinstance(num, (int, np.integer)) or isinstance(num, bool) or num < 0:
        raise ValueError(f"linspace: num must be a non-negative integer, not {num!r}")
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise TypeError(f"linspace with dtype={np.dtype(dtype)} on traced values: integer "
                        f"samples carry no derivative; pass .primal values for that")
    num = int(num)
    # numpy's dtype for the samples: a Python number is weak (linspace(0.0, float32) is float32)
    weak = lambda v: v if type(v) in (int, float, complex) else \
        shape_dtype(v) if is_traced(v) else np.asarray(v)  # noqa: E731
    dt = np.result_type(weak(start), weak(stop), 1.0)
    # (a traced real value meeting a complex one is left to the arithmetic's promotion: exact)
    start, stop = (np.asarray(v, dtype=dt) if not is_traced(v) else
                   astype(v, dt) if shape_dtype(v).kind == dt.kind else v for v in (start, stop))
    div = (num - 1) if endpoint else num
    delta = stop - start
    nd = np.ndim(stop_gradient(delta))
    k = np.arange(num, dtype=np.result_type(stop_gradient(delta), 1.0)).reshape((-1,) + (1,) * nd)
    if div > 0:
        step = delta / div
        # numpy multiplies by step, or (a zero step) divides k first: the same values
        zero = not np.all(stop_gradient(step) != 0)
    else:
        step, zero = np.nan, False
    shape = shape_of(delta)
    # the first sample is start itself and the last (endpoint) stop itself, not 0·step + start:
    # sparsity patterns then see that they do not depend on the other end
    rows = [stack([broadcast_to(start, shape)])] if num else []
    inner = k[1:num - 1] if endpoint else k[1:]
    if len(inner):
        rows.append((inner / div) * delta + start if zero or div == 0 else inner * step + start)
    if endpoint and num > 1:
        rows.append(stack([broadcast_to(stop, shape)]))
    y = concatenate(rows, 0) if rows else k * delta + start
    if dtype is not None:
        y = astype(y, dtype)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    return (y, step) if retstep else y


def logspace(start: Value, stop: Value, num: int = 50, endpoint: bool = True,
             base: Value = 10.0, dtype: Any = None, axis: int = 0) -> Value:
    """``num`` samples base**t, t evenly spaced from start to stop, as np.logspace: numpy's own
    steps (``base ** linspace(start, stop)``), so the values are numpy's; differentiable in
    start, stop and base.

    >>> import dualdiff as dd
    >>> dd.logspace(0.0, 2.0, 3)
    array([  1.,  10., 100.])
    >>> dd.jacobian(lambda b: dd.logspace(0.0, b, 3, base=2.0), 2.0)   # d/db 2**(k b / 2)
    array([0.        , 0.69314718, 2.77258872])
    """
    from .ufuncs import power
    if not (type(base) in (float, int) or np.ndim(stop_gradient(base)) == 0):
        # an array of bases broadcasts with the ends first (it may decide which axis is which)
        nd = max(len(shape_of(v)) for v in (start, stop, base))
        start, stop, base = (reshape(v, (1,) * (nd - len(shape_of(v))) + shape_of(v))
                             for v in (start, stop, base))
        shape = shape_of(base)
        at = axis % (nd + 1)
        base = reshape(base, shape[:at] + (1,) + shape[at:])
    y = power(base, linspace(start, stop, num=num, endpoint=endpoint, axis=axis))
    return y if dtype is None else astype(y, dtype)



def trapezoid(y: Value, x: Value = None, dx: Value = 1.0, axis: int = -1) -> Value:
    """The integral of samples ``y`` along ``axis`` by the trapezoidal rule, as np.trapezoid.

    ``x`` gives the sample points (1-d, or y's shape), else they are ``dx`` apart; the result
    has y's shape without ``axis``. Linear in y, and differentiable in x and dx too.

    >>> import dualdiff as dd, numpy as np
    >>> dd.trapezoid(np.array([1.0, 2.0, 3.0]), dx=0.5)
    np.float64(2.0)
    >>> dd.grad(lambda y: dd.trapezoid(y, x=np.array([0.0, 1.0, 3.0])), np.ones(3))
    array([0.5, 1.5, 1. ])
    """
    y = _floats(y)
    nd = len(shape_of(y))
    axes = norm_axes(axis, nd)
    assert axes is not None
    axis = axes[0]
    if x is None:
        d = dx
    else:
        x = _floats(x)
        if len(shape_of(x)) == 1:
            d = diff(x)
            d = reshape(d, tuple(shape_of(d)[0] if i == axis else 1 for i in range(nd)))
        else:
            d = diff(x, axis=axis)
    upper = getitem(y, _along(axis, slice(1, None), nd))
    lower = getitem(y, _along(axis, slice(None, -1), nd))
    return _sum(d * (upper + lower) / 2.0, axis=axis)


def interp(x: Value, xp: Value, fp: Value, left: Value = None, right: Value = None,
           period: Any = None) -> Value:
    """The piecewise-linear interpolant through (xp, fp) at x, as np.interp.

    ``xp`` increasing, of shape (k,) as ``fp``; the result has x's shape. Outside [xp[0],
    xp[-1]] the values are ``left``/``right`` (fp[0]/fp[-1] by default). Differentiable in x
    (the slope of the interval x lies in; at a knot, the interval to its right, and at the
    last knot the last interval), in fp and in xp. ``period`` is refused.

    >>> import dualdiff as dd, numpy as np
    >>> xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 1.0])
    >>> dd.interp(np.array([0.5, 2.0]), xp, fp)
    array([1. , 1.5])
    >>> np.diag(dd.jacobian(lambda x: dd.interp(x, xp, fp), np.array([0.5, 2.0])))
    array([ 2. , -0.5])
    """
    if period is not None:
        raise TypeError("interp with period= is not supported on traced values: reduce x "
                        "modulo the period (x % period) and extend xp, fp by one period")
    xp, fp = _floats(xp), _floats(fp)
    if len(shape_of(xp)) != 1 or shape_of(xp) != shape_of(fp):
        raise ValueError(f"interp: xp and fp must be 1-d and of the same length, not of shapes "
                         f"{shape_of(xp)} and {shape_of(fp)}")
    k = shape_of(xp)[0]
    if k == 0:
        raise ValueError("interp: array of sample points is empty")
    x = _floats(x)
    xv, xpv = stop_gradient(x), stop_gradient(xp)
    if np.iscomplexobj(xv) or np.iscomplexobj(xpv):
        raise TypeError("interp: x and xp must be real (sample points are ordered); complex fp "
                        "is fine")
    below = getitem(fp, 0) if left is None else left
    above = getitem(fp, -1) if right is None else right
    if k == 1:
        inside: Value = broadcast_to(getitem(fp, 0), shape_of(x))
    else:
        j = np.clip(np.searchsorted(xpv, xv, side="right") - 1, 0, k - 2)
        if is_traced(j):  # only under dd.compile: the staged indices of a staged x
            raise TypeError("interp cannot run under dd.compile: it picks each x's interval by "
                            "value, a gather by traced indices that compiled code does not "
                            "record; call it outside dd.compile")
        x0, x1 = getitem(xp, j), getitem(xp, j + 1)
        f0, f1 = getitem(fp, j), getitem(fp, j + 1)
        slope = (f1 - f0) / (x1 - x0)
        from_left = slope * (x - x0) + f0
        from_right = slope * (x - x1) + f1  # numpy's second try, and exact at the last knot
        with np.errstate(invalid="ignore"):
            use_right = (xv == xpv[-1]) | np.isnan(stop_gradient(from_left))
        inside = where(use_right, from_right, from_left)
    with np.errstate(invalid="ignore"):
        return where(xv < xpv[0], below, where(xv > xpv[-1], above, inside))


def unwrap(p: Value, discont: Optional[float] = None, axis: int = -1, *,
           period: float = 2 * np.pi) -> Value:
    """p with every jump between neighbours along ``axis`` larger than max(discont, period/2)
    taken back by a multiple of ``period``, as np.unwrap: p's shape.

    The corrections are multiples of the period, constant between jumps, so they are computed
    on the plain values with numpy's own steps and added: the derivative is the identity.

    >>> import dualdiff as dd, numpy as np
    >>> p = np.array([0.0, 2.0, 5.5])
    >>> np.round(dd.unwrap(p) - p, 6)
    array([ 0.      ,  0.      , -6.283185])
    >>> dd.grad(lambda p: dd.sum(dd.unwrap(p) ** 2), p)   # 2 unwrap(p)
    array([ 0.        ,  4.        , -1.56637061])
    """
    if is_traced(discont) or is_traced(period):
        raise TypeError("unwrap: discont and period must be plain numbers (the corrections are "
                        "whole periods: piecewise constant, no derivative to carry)")
    if not is_traced(p):
        return np.unwrap(p, discont, axis, period=period)
    plain = stop_gradient(p)
    nd = np.ndim(plain)
    if nd == 0:
        raise ValueError("unwrap: p must be at least one-dimensional")
    (a,) = norm_axes(axis, nd) or (0,)
    # numpy's steps on the plain values: the jumps, brought into [-period/2, period/2), the
    # ambiguous half-period kept on the side of the jump, and no correction below discont
    jump = np.diff(plain, axis=a)
    if discont is None:
        discont = period / 2
    dtype = np.result_type(jump, period)  # (floating: a traced p is)
    high = period / 2
    folded = np.mod(jump - (-high), period) + (-high)
    # (np.where rather than numpy's np.copyto: the same values, and dd.compile records it)
    folded = np.where((folded == -high) & (jump > 0), high, folded)
    correction = np.where(abs(jump) < discont, 0, folded - jump)
    first = astype(getitem(p, _along(a, slice(0, 1), nd)), dtype)
    rest = getitem(p, _along(a, slice(1, None), nd)) + np.cumsum(correction, axis=a)
    return concatenate([first, astype(rest, dtype)], a)
