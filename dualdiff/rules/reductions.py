"""Reductions over axes: max/min (and their nan-ignoring forms), prod, logsumexp, and the
composites mean, var, std, ptp, average, nansum, nanmean, median, quantile, percentile, diff,
trace, softmax, log_softmax.

The structural entries (``max``, ``min``, ``nanmax``, ``nanmin``, ``prod``, ``logsumexp``) hold
their tangent and adjoint rules side by side; each adjoint is one broadcast of the cotangent times a constant
or traced weight, never a loop over elements. The composites are written with primitives and
need no rule of their own. (``sum``, the reduction every adjoint uses, is in :mod:`.shape`;
``cumsum``/``cumprod`` in :mod:`.cumulative`.)
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..primitives import Primitive, bind1, concrete, is_traced, shape_of, stop_gradient
from .assembly import concatenate, where
from .complex_parts import real
from .cumulative import cumprod_along, flip_along, shift_along
from .indexing import getitem
from .ufuncs import EXP, add, divide, exp, log, multiply, sqrt, square, subtract
from .shape import astype, broadcast_to, reshape, sum, transpose
from .table import Value, norm_axes, register


def mean(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """The mean of x's elements over ``axis`` (all by default), as np.mean.

    >>> import dualdiff as dd
    >>> float(dd.mean([1.0, 2.0, 3.0]))
    2.0
    """
    shape = shape_of(x)
    axes = norm_axes(axis, len(shape))
    count = math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)
    if getattr(concrete(x), "dtype", None) == np.float16:
        # numpy sums and divides float16 in float32, and rounds the mean to float16 once
        return astype(divide(sum(astype(x, np.float32), axis=axes, keepdims=keepdims),
                             float(count)), np.float16)
    return divide(sum(x, axis=axes, keepdims=keepdims), float(count))


def _max_shift(v: Any, axis) -> Any:
    """The shift of a stable exp-sum over ``axis``: the maximum (of the real part), kept as unit
    axes, and 0 where it is not finite (an all -inf slice, or an empty one)."""
    # initial=-inf: an empty axis has no maximum; it then shifts by 0 and logsumexp is -inf.
    if type(v) is np.ndarray and v.dtype.kind == "f":
        # what np.max(np.real(v)) computes, without numpy's Python-level dispatch; a finite
        # sum says every maximum is finite (inf or nan in it would spread to the sum)
        m = np.maximum.reduce(v, axis=axis, keepdims=True, initial=-np.inf)
        if math.isfinite(np.add.reduce(m, axis=None)):
            return m
    else:
        r = np.real(v)
        if isinstance(r, (int, np.ndarray, np.generic)) and np.result_type(r).kind in "iub":
            r = np.asarray(r, dtype=np.float64)  # (plain integers: initial=-inf is no integer)
        m = np.max(r, axis=axis, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0.0)  # all -inf along an axis: shift by 0, not by -inf


def _shift(x: Value, axis) -> tuple:
    """x minus its (constant) maximum over ``axis``: exp of the result cannot overflow."""
    m = _max_shift(stop_gradient(x), axis)
    return subtract(x, m), m


def _logsumexp_impl(x, axis, keepdims):
    x = np.asarray(x)
    m = _max_shift(x, axis)
    s = np.add.reduce(np.exp(x - m), axis=axis, keepdims=keepdims)
    if not keepdims:
        m = m.reshape(s.shape)
    return np.log(s) + m


def _softmax_of(x: Value, out: Value, axes, keepdims: bool) -> Value:
    """exp(x - logsumexp(x)): logsumexp's partial derivatives, from its own output (no overflow:
    every exponent is at most 0)."""
    return exp(x - _expand(out, shape_of(x), axes, keepdims))


def _logsumexp_jvp(primals, tangents, out, params, chunked):
    x, = primals
    axes, keepdims = params["axis"], params["keepdims"]
    nd = len(shape_of(x))
    return sum(_softmax_of(x, out, axes, keepdims) * tangents[0],
               axis=_tangent_axes(axes, nd, chunked), keepdims=keepdims)


def _logsumexp_vjp(ct, primals, out, params, shapes, wants):
    axes, keepdims = params["axis"], params["keepdims"]
    x = primals[0]
    if type(x) is np.ndarray and type(out) is np.ndarray and type(ct) is np.ndarray and not keepdims:
        # Plain arrays (a loss's sweep): the operations of the line below, on the same values
        # in the same order (reshape, subtract, exp, multiply), without its calls in between.
        kept = _kept_shape(shapes[0], axes)
        return (ct.reshape(kept) * EXP.impl(x - out.reshape(kept)),)
    return (_expand(ct, shapes[0], axes, keepdims) * _softmax_of(x, out, axes, keepdims),)


# One entry rather than the five operations it is made of (shift, exp, sum, log, add back): a
# loss's cross-entropy records and sweeps one operation, and its adjoint is softmax times ȳ.
LOGSUMEXP = register(Primitive(
    "logsumexp", _logsumexp_impl, _logsumexp_jvp, _logsumexp_vjp, needs="both",
    complex="holomorphic",
    doc="log Σ exp(x) over axis, its maximum shifted out first (never overflows); the partials "
        "are softmax(x) = exp(x - logsumexp(x))"))


def logsumexp(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """log(sum(exp(x))) over ``axis`` (all elements by default), without overflow.

    The maximum is subtracted first and added back; the derivative is softmax(x), computed
    from the result as exp(x - logsumexp(x)).

    >>> import dualdiff as dd
    >>> round(float(dd.logsumexp([1000.0, 1000.0])), 6)
    1000.693147
    """
    return bind1(LOGSUMEXP, x, {"axis": norm_axes(axis, len(shape_of(x))),
                                "keepdims": bool(keepdims)})


def logsumexp_scipy(a: Value, axis: Union[None, int, Sequence[int]] = None, b: Optional[Value] = None,
                    keepdims: bool = False, return_sign: bool = False) -> Any:
    """log Σ b·exp(a) over ``axis`` (all elements by default), as scipy.special.logsumexp: the
    same arguments and defaults (``dd.special.logsumexp``). ``b`` broadcasts against a and
    weights each term, and may be traced too; terms with b = 0 are left out (an a of inf there
    gives no nan). With ``return_sign=True`` the result is ``(log |Σ b·eᵃ|, sign of the sum)``,
    the sign a plain array; without it a negative sum gives nan, as in scipy.

    >>> import numpy as np, dualdiff as dd
    >>> round(float(dd.special.logsumexp([1.0, 2.0], b=[2.0, 0.5])), 12)   # log(2e + e²/2)
    2.211685260995
    >>> dd.grad(lambda a: dd.special.logsumexp(a, b=np.array([2.0, 0.5])), np.array([1.0, 2.0]))
    array([0.59539032, 0.40460968])
    """
    if b is None:
        out = logsumexp(a, axis=axis, keepdims=keepdims)
        if not return_sign:
            return out
        # (numpy's functions on the plain values: under dd.compile they are recorded too.)
        ov = stop_gradient(out)
        if np.iscomplexobj(concrete(out)):
            # log Σ eᵃ = log|Σ| + i·arg Σ: scipy's pair is (log|Σ|, Σ/|Σ|)
            return _number(real(out)), _number(np.exp(1j * np.imag(ov)))
        # scipy's sign: Σ eᵃ is positive unless every a is -inf (then 0, the log -inf), or nan
        return out, _number(np.where(np.equal(ov, -np.inf), 0.0, np.where(np.isnan(ov), ov, 1.0)))
    if type(b) in (int, float, complex):
        # a Python number is weak, as for scipy: a float32 a stays float32
        b = np.asarray(b, dtype=np.result_type(np.asarray(concrete(a)).dtype, b, 1.0))
    if is_traced(a) or is_traced(b):
        from .shape import broadcast_arrays
        a, b = broadcast_arrays(a, b)
    else:
        a, b = np.asarray(a), np.asarray(b)
        dt = np.result_type(a, b, 1.0)  # (float32 stays float32; integers become float64)
        a, b = np.broadcast_arrays(a.astype(dt, copy=False), b.astype(dt, copy=False))
    nd = len(shape_of(a))
    axes = norm_axes(axis, nd)
    if axes is None:
        axes = tuple(range(nd))
    av, bv = stop_gradient(a), stop_gradient(b)
    kept = np.not_equal(bv, 0)
    # The largest exponent among the kept terms, shifted out (a constant: the shift cancels in
    # the value, and so in the derivative); -inf everywhere (nothing kept) shifts by 0. (Of the
    # real parts: a complex shift would add its angle to log|Σ| with return_sign.)
    m = np.max(np.where(kept, np.real(av), -np.inf), axis=axes, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)
    s = sum(multiply(b, exp(where(kept, subtract(a, m), -np.inf))), axis=axes, keepdims=True)
    sign = None
    if return_sign:
        sign = np.sign(stop_gradient(s))  # (s/|s| for complex s)
        unit = np.where(np.equal(sign, 0), 1.0, sign)
        if np.iscomplexobj(concrete(s)):  # |s| = Re(conj(sign)·s), real as scipy's log|s|
            s = real(multiply(s, np.conj(unit)))
        else:
            s = multiply(s, unit)  # |s|, derivative included
    with np.errstate(divide="ignore", invalid="ignore"):  # (log 0 = -inf, log of < 0 = nan)
        out = add(log(s), m)
    if not keepdims:
        kept_shape = tuple(n for i, n in enumerate(shape_of(out)) if i not in axes)
        out = reshape(out, kept_shape)
        if sign is not None:
            sign = reshape(sign, kept_shape)
    return _number(out) if sign is None else (_number(out), _number(sign))


def _number(x: Any) -> Any:
    """A 0-d plain array as the number it holds (scipy returns numbers for whole reductions)."""
    return x[()] if type(x) is np.ndarray and x.ndim == 0 else x


def softmax_scipy(x: Value, axis: Union[None, int, Sequence[int]] = None) -> Value:
    """exp(x) / Σ exp(x) over ``axis``, as scipy.special.softmax: all elements together by
    default (``dd.softmax`` takes the last axis by default, as JAX's does).

    >>> import dualdiff as dd
    >>> dd.special.softmax([[1.0, 1.0], [1.0, 1.0]])
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    return softmax(x, axis)  # type: ignore[arg-type]


def log_softmax_scipy(x: Value, axis: Union[None, int, Sequence[int]] = None) -> Value:
    """x − log Σ exp(x) over ``axis``, as scipy.special.log_softmax: all elements together by
    default.

    >>> import dualdiff as dd
    >>> dd.special.log_softmax([0.0, 0.0, 0.0, 0.0])
    array([-1.38629436, -1.38629436, -1.38629436, -1.38629436])
    """
    return log_softmax(x, axis)  # type: ignore[arg-type]


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


# -- helpers shared by the reductions --------------------------------------------------------

Axis = Union[None, int, Sequence[int]]


def _kept_shape(shape: tuple, axes: Optional[tuple]) -> tuple:
    """``shape`` with the reduced axes set to 1: what keepdims=True gives."""
    return tuple(1 if axes is None or i in axes else n for i, n in enumerate(shape))


def _expand(v: Value, shape: tuple, axes: Optional[tuple], keepdims: bool) -> Value:
    """A reduced value or cotangent, reshaped to broadcast against the unreduced ``shape``."""
    return v if keepdims else reshape(v, _kept_shape(shape, axes))


def _tangent_axes(axes: Optional[tuple], nd: int, chunked: bool) -> Optional[tuple]:
    """The reduced axes of a tangent: shifted past the chunk's direction axis when there is one."""
    if not chunked:
        return axes
    return tuple(range(1, nd + 1)) if axes is None else tuple(a + 1 for a in axes)


def _count(shape: tuple, axes: Optional[tuple]) -> int:
    return math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)


def _refuse_complex(x: Value, name: str) -> None:
    if np.iscomplexobj(stop_gradient(x)):
        raise TypeError(f"{name} of complex values is not supported by dualdiff (numpy orders "
                        f"complex numbers lexicographically, which has no derivative); apply it "
                        f"to the real part or the modulus")


# -- max, min, nanmax, nanmin: structural, ties share the derivative equally -----------------

def tie_weights(x: Value, out: Value, axes: Optional[tuple], keepdims: bool,
                initial: Any) -> np.ndarray:
    """1/c at each of the c places where x attains its reduced value, 0 elsewhere (plain; a
    boolean mask when there are no ties).

    Read from the values only (a piecewise-constant weight). A nan result (max propagates nan)
    sends the derivative to the nans; an ``initial`` equal to the result counts as one more tie,
    and takes its share with it (a constant).
    """
    xv, ov = stop_gradient(x), stop_gradient(out)
    shape = np.shape(xv)
    if not keepdims:
        ov = np.reshape(ov, _kept_shape(shape, axes))
    hit = np.equal(xv, ov)
    if np.any(np.isnan(ov)):
        hit |= np.isnan(xv) & np.isnan(ov)
    if initial is None and np.count_nonzero(hit) == np.size(ov):
        # One hit per slice (no ties, the usual case): the mask itself is the weight, and a
        # boolean multiplies without a float copy (nor a change of dtype).
        return hit
    count = np.sum(hit, axis=axes, keepdims=True)
    if initial is not None:
        count = count + np.equal(ov, initial)
    return (hit / np.maximum(count, 1)).astype(np.result_type(xv, 1.0), copy=False)


def _extremum(name: str, np_fn: Any, doc: str, select: bool = False) -> Primitive:
    def impl(x, axis, keepdims, initial):
        extra = {} if initial is None else {"initial": initial}
        return np_fn(x, axis=axis, keepdims=keepdims, **extra)

    def jvp(primals, tangents, out, params, chunked):
        axes, keepdims = params["axis"], params["keepdims"]
        w = tie_weights(primals[0], out, axes, keepdims, params["initial"])
        nd = len(shape_of(primals[0]))
        t = tangents[0] * w
        if select:  # the ignored nans' tangents (x * nan's are nan) must not reach 0 * nan
            t = where(w != 0, t, 0.0)
        return sum(t, axis=_tangent_axes(axes, nd, chunked), keepdims=keepdims)

    def vjp(ct, primals, out, params, shapes, wants):
        axes, keepdims = params["axis"], params["keepdims"]
        w = tie_weights(primals[0], out, axes, keepdims, params["initial"])
        return (_expand(ct, shapes[0], axes, keepdims) * w,)

    return register(Primitive(name, impl, jvp, vjp, needs="both", doc=doc, complex="real"))


_TIES = "ties share the derivative equally (c ties get 1/c each)"
MAX = _extremum("max", np.max, _TIES + "; a nan result sends it to the nans. Also amax")
MIN = _extremum("min", np.min, _TIES + "; a nan result sends it to the nans. Also amin")
NANMAX = _extremum("nanmax", np.nanmax, _TIES + "; nans are ignored", select=True)
NANMIN = _extremum("nanmin", np.nanmin, _TIES + "; nans are ignored", select=True)


def _bind_extremum(prim: Primitive, x: Value, axis: Axis, keepdims: bool, initial: Any) -> Value:
    _refuse_complex(x, prim.name)
    if is_traced(initial):
        raise TypeError(f"{prim.name}: initial= must be a plain number (it is a constant)")
    shape = shape_of(x)
    axes = norm_axes(axis, len(shape))
    if initial is None and _count(shape, axes) == 0:
        raise ValueError(f"{prim.name} of an empty array (or along an empty axis) has no value; "
                         f"pass initial= for the value an empty slice should take")
    return bind1(prim, x, {"axis": axes, "keepdims": bool(keepdims), "initial": initial})


def max(x: Value, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> Value:
    """The largest element of x over ``axis`` (all by default), as np.max / np.amax. Ties share
    the derivative equally: where c elements attain the maximum, each gets 1/c of it.

    >>> import dualdiff as dd
    >>> dd.grad(dd.max, [1.0, 3.0, 3.0])
    array([0. , 0.5, 0.5])
    """
    return _bind_extremum(MAX, x, axis, keepdims, initial)


def min(x: Value, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> Value:
    """The smallest element of x over ``axis`` (all by default), as np.min / np.amin. Ties share
    the derivative equally: where c elements attain the minimum, each gets 1/c of it.

    >>> import dualdiff as dd
    >>> dd.min([[1.0, 3.0], [0.0, 4.0]], axis=1)
    array([1., 0.])
    """
    return _bind_extremum(MIN, x, axis, keepdims, initial)


def nanmax(x: Value, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> Value:
    """The largest element of x over ``axis``, ignoring nans, as np.nanmax; ties share equally.

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(dd.nanmax, [1.0, np.nan, 3.0])
    array([0., 0., 1.])
    """
    return _bind_extremum(NANMAX, x, axis, keepdims, initial)


def nanmin(x: Value, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> Value:
    """The smallest element of x over ``axis``, ignoring nans, as np.nanmin; ties share equally.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.nanmin([1.0, np.nan, 3.0]))
    1.0
    """
    return _bind_extremum(NANMIN, x, axis, keepdims, initial)


amax, amin = max, min


def ptp(x: Value, axis: Axis = None, keepdims: bool = False) -> Value:
    """max - min over ``axis`` (peak to peak), as np.ptp; ties share the derivative equally.

    >>> import dualdiff as dd
    >>> float(dd.ptp([1.0, 4.0, 2.0]))
    3.0
    """
    return subtract(max(x, axis, keepdims), min(x, axis, keepdims))


# -- prod: structural, exact with zeros -----------------------------------------------------

def _has_zero(x: Value) -> bool:
    return bool(np.any(np.equal(stop_gradient(x), 0)))


def _others_product(x: Value, out: Value, axes: Optional[tuple], keepdims: bool) -> Value:
    """For every element, the product of the other elements of its reduced slice (traced).

    prod / x where there are no zeros. With zeros, the product of the elements before it times
    the product of those after it (two running products along the reduced axes, moved last):
    exact with one or several zeros, and, written with cumprod, to every order.
    """
    shape = shape_of(x)
    if not _has_zero(x):
        return divide(_expand(out, shape, axes, keepdims), x)
    nd = len(shape)
    reduced = tuple(range(nd)) if axes is None else axes
    kept = tuple(i for i in range(nd) if i not in reduced)
    perm = kept + reduced
    moved = tuple(shape[i] for i in perm)
    y = reshape(transpose(x, perm), moved[:len(kept)] + (_count(shape, reduced),))
    before = shift_along(cumprod_along(y, -1), 1, -1, 1.0)
    after = flip_along(shift_along(cumprod_along(flip_along(y, -1), -1), 1, -1, 1.0), -1)
    return transpose(reshape(before * after, moved), tuple(int(i) for i in np.argsort(perm)))


def _prod_jvp(primals, tangents, out, params, chunked):
    axes, keepdims = params["axis"], params["keepdims"]
    others = _others_product(primals[0], out, axes, keepdims)
    nd = len(shape_of(primals[0]))
    return sum(tangents[0] * others, axis=_tangent_axes(axes, nd, chunked), keepdims=keepdims)


def _prod_vjp(ct, primals, out, params, shapes, wants):
    axes, keepdims = params["axis"], params["keepdims"]
    others = _others_product(primals[0], out, axes, keepdims)
    return (_expand(ct, shapes[0], axes, keepdims) * others,)


PROD = register(Primitive(
    "prod", lambda x, axis, keepdims: np.multiply.reduce(np.asarray(x), axis=axis, keepdims=keepdims),
    _prod_jvp, _prod_vjp, needs="both", complex="holomorphic",
    doc="exact with one zero and with several (to every order): the products of the other "
        "elements come from running products, not from prod / x"))


def prod(x: Value, axis: Axis = None, keepdims: bool = False) -> Value:
    """The product of x's elements over ``axis`` (all by default), as np.prod. The derivative is
    exact where x has zeros (one or several, to every order): ∂/∂xᵢ is the product of the others.

    >>> import dualdiff as dd
    >>> dd.grad(dd.prod, [2.0, 0.0, 3.0])
    array([0., 6., 0.])
    """
    return bind1(PROD, x, {"axis": norm_axes(axis, len(shape_of(x))), "keepdims": bool(keepdims)})


# -- moments and weighted means -------------------------------------------------------------

def var(x: Value, axis: Axis = None, ddof: float = 0, keepdims: bool = False) -> Value:
    """The variance of x over ``axis``: sum(|x - mean|²) / (N - ddof), as np.var (real for
    complex x, whose |·|² numpy takes as re² + im², as here).

    >>> import dualdiff as dd
    >>> float(dd.var([1.0, 2.0, 3.0], ddof=1))
    1.0
    >>> float(dd.var([1j, -1j]))
    1.0
    """
    shape = shape_of(x)
    axes = norm_axes(axis, len(shape))
    centred = subtract(x, mean(x, axes, keepdims=True))
    if np.iscomplexobj(stop_gradient(x)):
        from .complex_parts import imag, real
        squares = add(square(real(centred)), square(imag(centred)))
    else:
        squares = square(centred)
    return divide(sum(squares, axes, keepdims), float(_count(shape, axes) - ddof))


def std(x: Value, axis: Axis = None, ddof: float = 0, keepdims: bool = False) -> Value:
    """The standard deviation sqrt(var) of x over ``axis``, as np.std. Its derivative is
    infinite (nan) where all the values are equal, as in JAX.

    >>> import dualdiff as dd
    >>> float(dd.std([1.0, 3.0]))
    1.0
    """
    single = ddof < 1 and _count(shape_of(x), norm_axes(axis, len(shape_of(x)))) == 1
    return std_from_variance(var(x, axis, ddof, keepdims), single)


def std_from_variance(v: Value, single: Any) -> Value:
    """sqrt(v), a standard deviation from its variance; ``single`` (plain booleans broadcast to
    v's shape) marks the results made of one value (with ddof < 1).

    There the centred value is exactly 0, so v is the constant 0 with derivative 0, which is
    also the standard deviation's: sqrt's 1/(2·sqrt 0) would make it 0·inf = nan (and in
    reverse mode send the nan into the other results' derivatives too).
    """
    if is_traced(single):  # under dd.compile a mask read from the values is recorded
        return where(single, v, sqrt(where(single, 1.0, v)))
    single = np.broadcast_to(np.asarray(single, dtype=bool), shape_of(v))
    if not single.any():
        return sqrt(v)
    if single.all():
        return v
    return where(single, v, sqrt(where(single, 1.0, v)))


def average(x: Value, axis: Axis = None, weights: Value = None, returned: bool = False,
            keepdims: bool = False) -> Any:
    """The mean of x over ``axis``, weighted by ``weights`` when given, as np.average.

    1-d weights along a single ``axis`` are allowed, as in numpy. With ``returned=True`` the
    sum of the weights comes too (broadcast to the result's shape). Weights may be traced.

    >>> import dualdiff as dd
    >>> float(dd.average([1.0, 3.0], weights=[3.0, 1.0]))
    1.5
    """
    shape = shape_of(x)
    nd = len(shape)
    axes = norm_axes(axis, nd)
    if weights is None:
        avg = mean(x, axes, keepdims)
        total = np.asarray(float(_count(shape, axes)), dtype=np.result_type(stop_gradient(x), 1.0))
    else:
        wshape = shape_of(weights)
        if wshape != shape:
            if axes is None:
                raise TypeError("average: axis must be given when the shapes of x and weights "
                                "differ")
            if len(wshape) != 1 or len(axes) != 1:
                raise TypeError("average: weights of another shape than x must be 1-d, along "
                                "one axis")
            if wshape[0] != shape[axes[0]]:
                raise ValueError(f"average: {wshape[0]} weights for an axis of length "
                                 f"{shape[axes[0]]}")
            weights = reshape(weights, tuple(wshape[0] if i == axes[0] else 1 for i in range(nd)))
        total = sum(broadcast_to(weights, shape), axes, keepdims)
        if np.any(np.equal(stop_gradient(total), 0)):
            raise ZeroDivisionError("average: the weights sum to zero, so they cannot be "
                                    "normalised")
        avg = divide(sum(multiply(x, weights), axes, keepdims), total)
    if returned:
        return avg, broadcast_to(total, shape_of(avg))
    return avg


# -- nan-ignoring sums and means ------------------------------------------------------------

def nansum(x: Value, axis: Axis = None, keepdims: bool = False) -> Value:
    """The sum over ``axis`` with nans counted as 0, as np.nansum; a nan gets derivative 0.

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(dd.nansum, [1.0, np.nan])
    array([1., 0.])
    """
    nan = np.isnan(stop_gradient(x))
    if np.any(nan):
        x = where(nan, 0.0, x)
    return sum(x, axis, keepdims)


def nanmean(x: Value, axis: Axis = None, keepdims: bool = False) -> Value:
    """The mean over ``axis`` of the elements that are not nan, as np.nanmean.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.nanmean([1.0, np.nan, 3.0]))
    2.0
    """
    v = stop_gradient(x)
    if not hasattr(v, "ndim"):  # a list; under dd.compile a recorded value, kept as it is
        v = np.asarray(v)
    axes = norm_axes(axis, v.ndim)
    count = np.sum(~np.isnan(v), axis=axes, keepdims=keepdims)
    return divide(nansum(x, axes, keepdims), count.astype(np.result_type(v, 1.0)))


# -- order statistics: exact where the values are distinct ----------------------------------

def quantile(x: Value, q: Any, axis: Axis = None, keepdims: bool = False,
             method: str = "linear") -> Value:
    """The q-th quantile(s) of x over ``axis``, with numpy's default linear interpolation. The
    derivative goes to the (at most two) order statistics interpolated between, with the
    interpolation weights; among equal values, to the first in a stable sort. Only
    ``method="linear"``; q is plain (not differentiated); nan input is refused (nanquantile
    ignores nans).

    The result has shape ``q.shape`` + the reduced shape, as np.quantile.

    >>> import dualdiff as dd
    >>> dd.grad(lambda x: dd.quantile(x, 0.25), [4.0, 1.0, 3.0])
    array([0. , 0.5, 0.5])
    """
    return order_statistic(x, q, axis, keepdims, method, ignore_nan=False)


def order_statistic(x: Value, q: Any, axis: Axis, keepdims: bool, method: str,
                    ignore_nan: bool) -> Value:
    """quantile (``ignore_nan=False``) and nanquantile (True): the statistic of each row from
    the ranks of its values, nans ranked last and (ignoring them) not counted."""
    name = "nanquantile" if ignore_nan else "quantile"
    if method != "linear":
        raise ValueError(f"{name}: only method='linear' (numpy's default) is supported by "
                         f"dualdiff, not {method!r}")
    if is_traced(q):
        raise TypeError(f"{name}: q must be a plain number or array; the derivative with "
                        "respect to q is not supported")
    qv = np.asarray(q, dtype=float)
    if np.any((qv < 0) | (qv > 1)) or np.any(np.isnan(qv)):
        raise ValueError(f"{name}: q must be in [0, 1]")
    _refuse_complex(x, "quantile/median")
    shape = shape_of(x)
    nd = len(shape)
    axes = norm_axes(axis, nd)
    reduced = tuple(range(nd)) if axes is None else axes
    kept = tuple(i for i in range(nd) if i not in reduced)
    n = _count(shape, reduced)
    if n == 0:
        raise ValueError("quantile/median of an empty array")
    rows = _count(shape, kept)
    y = reshape(transpose(x, kept + reduced), (rows, n))
    v = stop_gradient(y)
    nan = np.isnan(v)
    count = np.full(rows, n)
    if np.any(nan):
        if not ignore_nan:
            raise ValueError("quantile/median of values containing nan: numpy returns nan there; "
                             "remove the nans first, or use nanquantile/nanmedian")
        count = n - np.sum(nan, axis=-1)
        y = where(nan, 0.0, y)  # (weight 0 times a nan would still be nan)
    # Each element's rank in a stable sort (nans last), then for each q and row the weights
    # (1 - g) on rank lo and g on rank hi: a constant array that multiplies y, rather than
    # indices computed from the values, so that dd.compile records it and a sparsity pattern
    # keeps every element.
    rank = np.argsort(np.argsort(v, axis=-1, kind="stable"), axis=-1, kind="stable")
    pos = qv.reshape(-1, 1) * (count - 1)  # (len(q), rows)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, count - 1)
    dtype = np.result_type(v, 1.0)
    g = (pos - lo).astype(dtype)[:, :, None]
    weights = (np.where(rank[None] == lo[:, :, None], 1.0 - g, 0.0)
               + np.where(rank[None] == hi[:, :, None], g, 0.0)).astype(dtype, copy=False)
    out = sum(multiply(y, weights), axis=-1)  # (len(q), rows)
    if ignore_nan and np.any(count == 0):  # an all-nan row: nan, as numpy (which also warns)
        out = where(np.broadcast_to(count == 0, shape_of(out)), np.nan, out)
    tail = _kept_shape(shape, axes) if keepdims else tuple(shape[i] for i in kept)
    return reshape(out, qv.shape + tail)


def percentile(x: Value, q: Any, axis: Axis = None, keepdims: bool = False,
               method: str = "linear") -> Value:
    """The q-th percentile(s) of x over ``axis`` (q in [0, 100]), as np.percentile: see quantile.

    >>> import dualdiff as dd
    >>> float(dd.percentile([1.0, 2.0, 3.0, 4.0], 50))
    2.5
    """
    if is_traced(q):
        raise TypeError("percentile: q must be a plain number or array")
    return quantile(x, np.asarray(q, dtype=float) / 100.0, axis, keepdims, method)


def median(x: Value, axis: Axis = None, keepdims: bool = False) -> Value:
    """The median of x over ``axis``, as np.median: the middle value, or the mean of the two.
    The derivative goes to the middle element(s); among equal values, to the first in order.

    >>> import dualdiff as dd
    >>> dd.grad(dd.median, [3.0, 1.0, 4.0, 2.0])
    array([0.5, 0. , 0. , 0.5])
    """
    return quantile(x, 0.5, axis, keepdims)


# -- differences and traces ------------------------------------------------------------------

def diff(x: Value, n: int = 1, axis: int = -1, prepend: Value = None, append: Value = None) -> Value:
    """The n-th discrete difference along ``axis``, as np.diff (with ``prepend``/``append``).

    >>> import dualdiff as dd
    >>> dd.diff([1.0, 4.0, 9.0, 16.0], n=2)
    array([2., 2.])
    """
    if n < 0:
        raise ValueError(f"diff: the order n must be non-negative, not {n}")
    shape = shape_of(x)
    nd = len(shape)
    if nd == 0:
        raise ValueError("diff requires an input that is at least one-dimensional")
    (a,) = norm_axes(axis, nd) or (0,)
    pieces = []
    for extra in (prepend, append):
        if extra is not None:
            if not shape_of(extra):
                extra = broadcast_to(extra, tuple(1 if i == a else k for i, k in enumerate(shape)))
            pieces.append(extra)
        else:
            pieces.append(None)
    if prepend is not None or append is not None:
        x = concatenate([p for p in (pieces[0], x, pieces[1]) if p is not None], axis=a)
    lead = (slice(None),) * a
    for _ in range(n):
        x = subtract(getitem(x, lead + (slice(1, None),)), getitem(x, lead + (slice(None, -1),)))
    return x


def ediff1d(x: Value, to_end: Value = None, to_begin: Value = None) -> Value:
    """The differences of consecutive elements of the flattened x, with ``to_begin`` and
    ``to_end`` (flattened) joined at either end, as np.ediff1d; 1-d.

    >>> import dualdiff as dd
    >>> dd.ediff1d([1.0, 4.0, 9.0], to_begin=0.0)
    array([0., 3., 5.])
    """
    flat = reshape(x, (-1,))
    parts = [] if to_begin is None else [reshape(to_begin, (-1,))]
    parts.append(subtract(getitem(flat, slice(1, None)), getitem(flat, slice(None, -1))))
    if to_end is not None:
        parts.append(reshape(to_end, (-1,)))
    return parts[0] if len(parts) == 1 else concatenate(parts)


def trace(x: Value, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Value:
    """The sum along a diagonal (``offset`` above the main one), as np.trace.

    For more than two dimensions the diagonal is taken over ``axis1`` and ``axis2`` and the
    result has the other axes.

    ``dd.trace`` is the evaluation trace; this is ``np.trace`` (and ``x.trace()``) on traced values.

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(lambda x: np.trace(x, offset=1), np.ones((2, 3)))
    array([[0., 1., 0.],
           [0., 0., 1.]])
    """
    shape = shape_of(x)
    nd = len(shape)
    if nd < 2:
        raise ValueError("trace requires an array of at least two dimensions")
    a1, a2 = norm_axes((axis1, axis2), nd) or (0, 0)
    if a1 == a2:
        raise ValueError("trace: axis1 and axis2 cannot be the same")
    rest = tuple(i for i in range(nd) if i not in (a1, a2))
    n1, n2 = shape[a1], shape[a2]
    offset = int(offset)
    # the diagonal's positions: (i, i + offset), within both axes
    length = builtins.max(0, builtins.min(n1, n2 - offset) if offset >= 0 else builtins.min(n1 + offset, n2))
    rows = np.arange(length) - builtins.min(offset, 0)
    cols = rows + offset
    diagonal = getitem(transpose(x, rest + (a1, a2)), (Ellipsis, rows, cols))
    return sum(diagonal, -1)
