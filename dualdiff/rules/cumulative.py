"""Running sums and products along an axis: cumsum and cumprod, exact with zeros.

``cumsum`` is linear; its transpose is the running sum taken from the other end (the same
primitive with ``reverse=True``). ``cumprod`` has the cheap rule ``ẏ = y · cumsum(ẋ / x)`` where
x has no zeros; with zeros it solves the recurrence ``ẏₖ = xₖ ẏₖ₋₁ + yₖ₋₁ ẋₖ`` by a parallel scan
(about log₂ n vectorised steps, never a loop over elements), written with dualdiff's own
functions, so every order of derivative is exact at zeros too.

Axes are kept negative inside the rules: a chunked tangent's extra leading axis then needs no
shifting.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..primitives import Primitive, bind1, shape_of, stop_gradient
from .assembly import concatenate
from .indexing import getitem
from .shape import reshape
from .table import Value, float_dtype, norm_axes, register
from .ufuncs import divide


def _along(axis: int, key: slice) -> tuple:
    """The index that applies ``key`` along (negative) ``axis`` and takes everything else."""
    return (Ellipsis, key) + (slice(None),) * (-axis - 1)


def flip_along(x: Value, axis: int) -> Value:
    """x reversed along (negative) ``axis``."""
    return getitem(x, _along(axis, slice(None, None, -1)))


def shift_along(x: Value, s: int, axis: int, fill: float) -> Value:
    """x moved s places towards the end of (negative) ``axis``, the first s places set to ``fill``."""
    shape = shape_of(x)
    n = shape[axis]
    s = min(s, n)
    head = list(shape)
    head[axis] = s
    pad = np.full(tuple(head), fill, dtype=float_dtype(x))
    return concatenate([pad, getitem(x, _along(axis, slice(None, n - s)))], axis=axis)


def linear_scan(m: Value, b: Value, axis: int) -> Value:
    """The solution of aₖ = mₖ aₖ₋₁ + bₖ (a₋₁ = 0) along (negative) ``axis``: Σᵢ≤ₖ bᵢ Πᵢ<ⱼ≤ₖ mⱼ.

    A Hillis–Steele scan: after the step of span s each aₖ holds the terms of the last 2s
    positions, so ⌈log₂ n⌉ vectorised steps suffice. m may broadcast against b (a chunk's
    leading axis). Written with dualdiff's functions, so it is differentiable in m and b.
    """
    n = shape_of(b)[axis]
    s = 1
    while s < n:
        b = b + m * shift_along(b, s, axis, 0.0)
        if 2 * s < n:
            m = m * shift_along(m, s, axis, 1.0)
        s *= 2
    return b


# -- cumsum ----------------------------------------------------------------------------------

def _cumsum_impl(x, axis, reverse):
    x = np.asarray(x)
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)
    return np.cumsum(x, axis=axis)


def _cumsum_jvp(primals, tangents, out, params, chunked):
    return bind1(CUMSUM, tangents[0], params)


def _cumsum_vjp(ct, primals, out, params, shapes, wants):
    return (bind1(CUMSUM, ct, {"axis": params["axis"], "reverse": not params["reverse"]}),)


CUMSUM: Primitive = register(Primitive(
    "cumsum", _cumsum_impl, _cumsum_jvp, _cumsum_vjp, needs="none", kind="linear",
    complex="holomorphic",
    doc="with reverse=True the running sum from the far end: its transpose"))


def _axis_of(x: Value, axis: Optional[int], name: str) -> "tuple[Value, int]":
    """numpy's axis convention for running ops: None flattens; the axis comes back negative."""
    if axis is None:
        return reshape(x, (-1,)), -1
    nd = len(shape_of(x))
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an int or None, not {type(axis).__name__}")
    if nd == 0:
        norm_axes(axis, 0)  # numpy allows 0 and -1 on a 0-d value, and flattens it
        return reshape(x, (-1,)), -1
    (a,) = norm_axes(axis, nd) or (0,)
    return x, a - nd


def cumsum(x: Value, axis: Optional[int] = None) -> Value:
    """The running sum of x along ``axis`` (of the flattened x by default), as np.cumsum.

    >>> import dualdiff as dd
    >>> dd.cumsum([1.0, 2.0, 3.0])
    array([1., 3., 6.])
    """
    x, axis = _axis_of(x, axis, "cumsum")
    return bind1(CUMSUM, x, {"axis": axis, "reverse": False})


# -- cumprod ---------------------------------------------------------------------------------

def _has_zero(x: Value) -> bool:
    return bool(np.any(np.equal(stop_gradient(x), 0)))


def _cumprod_jvp(primals, tangents, out, params, chunked):
    x, t, axis = primals[0], tangents[0], params["axis"]
    if not _has_zero(x):
        return out * cumsum_along(divide(t, x), axis)
    # ẏₖ = xₖ ẏₖ₋₁ + yₖ₋₁ ẋₖ: exact with any number of zeros
    return linear_scan(x, shift_along(out, 1, axis, 1.0) * t, axis)


def _cumprod_vjp(ct, primals, out, params, shapes, wants):
    x, axis = primals[0], params["axis"]
    if not _has_zero(x):
        return (divide(bind1(CUMSUM, ct * out, {"axis": axis, "reverse": True}), x),)
    # x̄ᵢ = yᵢ₋₁ sᵢ with sᵢ = ȳᵢ + xᵢ₊₁ sᵢ₊₁: the same scan, run from the far end
    s = linear_scan(shift_along(flip_along(x, axis), 1, axis, 0.0), flip_along(ct, axis), axis)
    return (shift_along(out, 1, axis, 1.0) * flip_along(s, axis),)


CUMPROD = register(Primitive(
    "cumprod", lambda x, axis: np.cumprod(x, axis=axis), _cumprod_jvp, _cumprod_vjp,
    needs="both", complex="holomorphic",
    doc="exact with zeros (one or several), to every order: a parallel scan replaces the "
        "division by x there"))


def cumsum_along(x: Value, axis: int) -> Value:
    """cumsum along a (negative) axis, for rules whose values may carry a chunk axis in front."""
    return bind1(CUMSUM, x, {"axis": axis, "reverse": False})


def cumprod_along(x: Value, axis: int) -> Value:
    """cumprod along a (negative) axis, for rules (prod's products of the others)."""
    return bind1(CUMPROD, x, {"axis": axis})


def cumprod(x: Value, axis: Optional[int] = None) -> Value:
    """The running product of x along ``axis`` (of the flattened x by default), as np.cumprod.
    Its derivative is exact where x has zeros (one or several), to every order.

    >>> import dualdiff as dd
    >>> dd.cumprod([2.0, 0.0, 3.0])
    array([2., 0., 0.])
    >>> dd.jacobian(dd.cumprod, [2.0, 0.0, 3.0])
    array([[1., 0., 0.],
           [0., 2., 0.],
           [0., 6., 0.]])
    """
    x, axis = _axis_of(x, axis, "cumprod")
    return bind1(CUMPROD, x, {"axis": axis})


def _cumulative(name: str, running: Callable[..., Value], x: Value, axis: Optional[int], include_initial: bool,
                initial: float) -> Value:
    if axis is None and len(shape_of(x)) > 1:
        raise ValueError(f"{name}: for arrays which have more than one dimension ``axis`` "
                         f"argument is required (as numpy says)")
    out = running(x, 0 if axis is None else axis)  # (a 0-d x becomes a vector, as in numpy)
    if not include_initial:
        return out
    shape = list(shape_of(out))
    ax = (0 if axis is None else int(axis)) % len(shape)
    shape[ax] = 1
    return concatenate([np.full(shape, initial, dtype=float_dtype(out)), out], axis=ax)


def cumulative_sum(x: Value, axis: Optional[int] = None, include_initial: bool = False) -> Value:
    """The running sum of x along ``axis`` (required when x has more than one axis), as
    np.cumulative_sum; with ``include_initial`` a 0 comes first (one more element along axis).

    >>> from dualdiff.rules.cumulative import cumulative_sum
    >>> cumulative_sum([1.0, 2.0, 3.0], include_initial=True)
    array([0., 1., 3., 6.])
    """
    return _cumulative("cumulative_sum", cumsum, x, axis, include_initial, 0.0)


def cumulative_prod(x: Value, axis: Optional[int] = None, include_initial: bool = False) -> Value:
    """The running product of x along ``axis`` (required when x has more than one axis), as
    np.cumulative_prod, exact with zeros; with ``include_initial`` a 1 comes first.

    >>> from dualdiff.rules.cumulative import cumulative_prod
    >>> cumulative_prod([2.0, 0.0, 3.0], include_initial=True)
    array([1., 2., 0., 0.])
    """
    return _cumulative("cumulative_prod", cumprod, x, axis, include_initial, 1.0)
