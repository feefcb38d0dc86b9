"""numpy's names for dualdiff's functions: which dualdiff function ``np.f(x)`` on a traced x
lands in, and the wrappers that read numpy's arguments (``axis``, ``keepdims``, ``dtype``,
``out``, ``where``, ``initial``) before calling it.

``UFUNC_RULES`` (ufuncs), ``FUNCTION_RULES`` (``__array_function__``), ``UFUNC_METHOD_RULES``
(``np.add.reduce`` and the like) and ``UNSUPPORTED`` (deliberately refused, with what to use
instead) are the maps :class:`dualdiff.surface.Traced` dispatches through, one block per
family of rules; docs/numpy-support.md is generated from them. No derivative is written here:
every entry is a function of :mod:`dualdiff.rules`, or a pass-through of plain values.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np

from . import rules as F
from .rules.table import norm_axes
from .rules.ufuncs import divmod_ as _divmod
from .rules import assembly as _assembly, cumulative as _cumulative, indexing as _indexing
from .rules import masked_reductions as _masked_reductions
from .primitives import concrete, is_traced, shape_of, stop_gradient

__all__ = ["UFUNC_RULES", "FUNCTION_RULES", "UFUNC_METHOD_RULES", "UNSUPPORTED", "ravel_ordered",
           "reshape_ordered", "special_ufunc_rule",
           "UNSUPPORTED_IDIOMS", "SUPPORT_PAGE", "no_derivative"]


def _plain_args(args) -> list:
    return [stop_gradient(a) for a in args]


def _plain_value(a: Any) -> Any:
    """a with every traced value in it (also inside lists and tuples) replaced by its plain value."""
    if isinstance(a, (list, tuple)):
        return type(a)(_plain_value(b) for b in a)
    return stop_gradient(a)


def no_derivative(np_fn: Callable[..., Any], doc: str = "") -> Callable[..., Any]:
    """np_fn on the plain values of its arguments: for results that carry no derivative.

    Indices, booleans, shapes and piecewise-constant values (floor, sign) steer a computation or
    are constant almost everywhere, so numpy code expects plain arrays from them. Every traced
    argument (positional, keyword, or inside a list) is replaced by its plain value first, so the
    call cannot dispatch back to dualdiff. ``doc`` is the note on the numpy-support page.
    """
    def fn(*args, **kwargs):
        return np_fn(*[_plain_value(a) for a in args],
                     **{k: _plain_value(v) for k, v in kwargs.items()})
    fn.__name__ = getattr(np_fn, "__name__", "no_derivative")
    fn.__doc__ = doc or "Plain values (no derivative)."
    fn.no_derivative = True  # type: ignore[attr-defined]  # read by the numpy-support page
    return fn


def _compare(np_fn: Callable[..., Any]) -> Callable[..., Any]:
    # Comparisons look at values only: their result steers control flow and carries no derivative.
    return no_derivative(np_fn, "Booleans from the values (no derivative).")


#: numpy ufuncs and the dualdiff function that stands in for each (``np.sin(x)`` -> ``dd.sin``).
UFUNC_RULES: "dict[Any, Callable[..., Any]]" = {
    np.add: F.add, np.subtract: F.subtract, np.multiply: F.multiply, np.true_divide: F.divide,
    np.negative: F.negative, np.power: F.power,
    np.sin: F.sin, np.cos: F.cos, np.tan: F.tan, np.exp: F.exp, np.log: F.log,
    np.log1p: F.log1p, np.expm1: F.expm1, np.sqrt: F.sqrt, np.tanh: F.tanh, np.sinh: F.sinh,
    np.cosh: F.cosh, np.arcsin: F.arcsin, np.arccos: F.arccos, np.arctan: F.arctan,
    np.arctan2: F.arctan2, np.absolute: F.abs, np.sign: F.sign, np.maximum: F.maximum,
    np.minimum: F.minimum, np.matmul: F.matmul,
}
for _cmp in (np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
             np.isfinite, np.isnan, np.isinf, np.signbit):
    UFUNC_RULES[_cmp] = _compare(_cmp)


def _reject(name: str, kwargs: dict, allowed: tuple = ()) -> None:
    extra = [k for k, v in kwargs.items() if k not in allowed and v is not None]
    if extra:
        advice = (f": assign the result instead (y = numpy.{name}(...) without out=; y[...] = "
                  f"numpy.{name}(...) to write into y)") if "out" in extra else ""
        raise TypeError(f"numpy.{name} with {', '.join(extra)}= is not supported on Duals/tape "
                        f"variables{advice}")


def astype_as_numpy(x: Any, dtype: Any, copy: bool) -> Any:
    """x.astype(dtype, copy=copy) of a traced x: to its own dtype numpy returns a copy, or x
    itself with copy=False, and a later write into the result (y[0] = v) must see the same."""
    if np.dtype(dtype) != np.result_type(stop_gradient(x)):
        return F.astype(x, dtype)
    return F.copy(x) if copy else x


def _in_dtype(name: str, a: Any, dtype: Any) -> Any:
    """``a`` cast to a reduction's ``dtype=``, as numpy accumulates: floating dtypes carry the derivative."""
    if dtype is None or dtype is _NO_VALUE:
        return a
    dt = np.dtype(dtype)
    if dt.kind != "f" and not (dt.kind == "c" and np.iscomplexobj(stop_gradient(a))):
        raise TypeError(f"numpy.{name} with dtype={dt} on a traced value: only a floating dtype keeps "
                        f"the derivative (an integer or boolean accumulation is piecewise constant); "
                        f"use a floating dtype, or {name} of x.primal for the plain value")
    return F.astype(a, dt)


def _np_sum(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    """The sum over ``axis``, as np.sum; with where= (a plain boolean mask, broadcast to x) only
    the elements selected, derivative 0 for the others: numpy's masked sum, bit for bit."""
    if out is not None or kw:  # (checked here first: np.sum in a loss runs on every call)
        initial = kw.pop("initial", None)
        where = kw.pop("where", True)
        _check_reduction("sum", out=out, **kw)
        if _masked(where):
            return _masked_reductions.sum_where(_in_dtype("sum", a, dtype), where, axis,
                                                _keep(keepdims), _given_or_none(initial))
        if _given(initial):
            if not is_traced(initial):
                # numpy's own sum with initial= (bit for bit; sum + initial rounds otherwise)
                return _masked_reductions.sum_where(_in_dtype("sum", a, dtype), True, axis,
                                                    _keep(keepdims), initial)
            return F.add(_np_sum(a, axis, dtype, None, keepdims), initial)
    return F.sum(a if dtype is None else _in_dtype("sum", a, dtype), axis, keepdims)


def _np_mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True, **kw):
    """The mean over ``axis``, as np.mean; with where= (a plain boolean mask, broadcast to x) only
    the elements selected, derivative 0 for the others (their masked sum over their count; an empty
    slice gives numpy's nan, derivative 0)."""
    _check_reduction("mean", out=out, **kw)
    _no_none_mask("mean", where)
    if _masked(where):
        return _masked_reductions.mean_where(_in_dtype("mean", a, dtype), where, axis,
                                             _keep(keepdims))
    return F.mean(_in_dtype("mean", a, dtype), axis=axis, keepdims=bool(keepdims))


def _np_where(cond, *xy):
    if not xy:  # the one-argument form is np.nonzero: positions, no derivative
        return np.where(stop_gradient(cond))
    return F.where(cond, *xy)


def _index_order(a: Any, order: Any, what: str) -> str:
    """numpy's ``order=`` of reshape and ravel, resolved for a: 'C', 'F', or 'K' (strided).

    'A' and 'K' read a's memory layout, as numpy does: F when a is Fortran- but not
    C-contiguous (x.T of a C array), C when a is C-contiguous or (for 'A') otherwise.
    """
    if order is None or order == "C":
        return "C"
    if order == "F":
        return "F"
    if order not in ("A", "K"):
        raise ValueError(f"{what}: order must be one of 'C', 'F', 'A', 'K', not {order!r}")
    flags = getattr(concrete(a), "flags", None)
    if flags is None or flags.c_contiguous:
        return "C"
    if flags.f_contiguous:
        return "F"
    return "C" if order == "A" else "K"


def reshape_ordered(a: Any, shape: Any, order: Any = "C") -> Any:
    """np.reshape(a, shape, order): in 'F' order, a's axes reversed, reshaped, reversed back."""
    if order == "K":
        raise ValueError("reshape: order='K' is not allowed (as in numpy)")
    if _index_order(a, order, "reshape") == "C":
        return F.reshape(a, shape)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return F.transpose(F.reshape(F.transpose(a), shape[::-1]))


def ravel_ordered(a: Any, order: Any = "C") -> Any:
    """np.ravel(a, order): the elements in C, F or memory ('K') order."""
    how = _index_order(a, order, "ravel")
    if how == "C":
        return F.reshape(a, (-1,))
    if how == "F":
        return F.reshape(F.transpose(a), (-1,))
    # 'K': memory order. Which order numpy picks for a strided layout is its iterator's choice,
    # so numpy itself is asked: the positions 0..n-1 written through a view with a's strides
    # (into fresh memory of the same span), read back by ravel('K'), then gathered.
    mem = concrete(a)
    if 0 in mem.strides:
        raise ValueError("ravel(order='K') of a traced value with a broadcast (stride-0) "
                         "axis is not supported: use order='C' (or 'F')")
    item = mem.itemsize
    span = sum(abs(st) * (n - 1) for st, n in zip(mem.strides, mem.shape)) // item + 1
    start = sum(-st * (n - 1) for st, n in zip(mem.strides, mem.shape) if st < 0) // item
    labels = np.lib.stride_tricks.as_strided(
        np.empty(span, np.intp)[start:], mem.shape, [st // item * np.dtype(np.intp).itemsize
                                                     for st in mem.strides])
    labels[...] = np.arange(mem.size).reshape(mem.shape)
    return F.getitem(F.reshape(a, (-1,)), labels.ravel("K"))


def _np_reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    return reshape_ordered(a, shape if shape is not None else newshape, order)


def _np_concatenate(arrays, axis=0, out=None, **kw):
    _reject("concatenate", {"out": out, **kw})
    return F.concatenate(arrays, axis=axis)


def _np_stack(arrays, axis=0, out=None, **kw):
    _reject("stack", {"out": out, **kw})
    return F.stack(arrays, axis=axis)


def _like(np_fn):
    def like(a, *args, **kwargs):
        return _traced_like(a, np_fn(_plain_value(a), *args, **kwargs))
    like.__name__ = np_fn.__name__
    like.__doc__ = (f"A new array of the value's shape and dtype, as np.{np_fn.__name__}; of a "
                    f"traced float value, a traced one with derivative zero, so that code filling "
                    f"it (y[i] = v, y[i] += v) is recorded.")
    return like


def _traced_like(a: Any, plain: np.ndarray) -> Any:
    """``plain`` (np.zeros_like(a) and its kin) as a value of a's tag with derivative zero:
    ``dydt = np.zeros_like(y); dydt[0] = y[1]`` then records its assignments, as numpy code
    writes an ODE's right-hand side or a force accumulation. Integer and boolean results (masks,
    indices), and a ``shape=`` other than a's, stay plain."""
    if not is_traced(a) or plain.dtype.kind not in "fc" or plain.shape != shape_of(a):
        return plain
    return F.astype(F.where(False, a, plain), plain.dtype)  # a's values never reach it


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kw):
    """np.full_like: a new array of a's shape (or ``shape``) filled with fill_value. A traced
    fill_value's derivative reaches every element (broadcast); a's value is not read."""
    plain = np.full_like(_plain_value(a), _plain_value(fill_value), dtype, order, subok, shape, **kw)
    if not is_traced(fill_value) or plain.dtype.kind not in "fc":
        return _traced_like(a, plain)  # (into integers or booleans the fill is truncated)
    return F.broadcast_to(F.astype(fill_value, plain.dtype), plain.shape)


def _squeeze(a, axis=None):
    """x without its axes of length 1 (those of ``axis`` only, if given), as np.squeeze."""
    shape = shape_of(a)
    if axis is None:
        return F.reshape(a, tuple(n for n in shape if n != 1))
    axes = norm_axes(axis, len(shape)) or ()
    for i in axes:
        if shape[i] != 1:
            raise ValueError(f"cannot squeeze axis {i} of an array of shape {shape}: its size is not 1")
    return F.reshape(a, tuple(n for i, n in enumerate(shape) if i not in axes))


def _expand_dims(a, axis):
    """x with new axes of length 1 at ``axis``, as np.expand_dims."""
    shape = list(shape_of(a))
    nd = len(shape) + (1 if isinstance(axis, int) else len(axis))
    for ax in sorted(norm_axes(axis, nd)):
        shape.insert(ax, 1)
    return F.reshape(a, tuple(shape))


def _swapaxes(a, axis1, axis2):
    """x with two axes exchanged, as np.swapaxes."""
    nd = len(shape_of(a))
    (axis1, axis2) = norm_axes((axis1, axis2), nd) or (0, 0)
    axes = list(range(nd))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return F.transpose(a, axes)


def _outer(a, b, out=None):
    """The outer product a[i] * b[j] of the flattened arguments, as np.outer."""
    _reject("outer", {"out": out})
    return F.multiply(F.reshape(a, (-1, 1)), F.reshape(b, (1, -1)))


#: numpy functions (``__array_function__``) and their dualdiff counterparts.
FUNCTION_RULES: "dict[Any, Callable[..., Any]]" = {
    np.sum: _np_sum, np.mean: _np_mean, np.dot: F.dot, np.matmul: F.matmul, np.where: _np_where,
    np.stack: _np_stack, np.concatenate: _np_concatenate,
    np.transpose: lambda a, axes=None: F.transpose(a, axes), np.reshape: _np_reshape,
    np.ravel: ravel_ordered, np.squeeze: _squeeze,
    np.expand_dims: _expand_dims, np.swapaxes: _swapaxes, np.outer: _outer,
    np.broadcast_to: lambda a, shape, subok=False: F.broadcast_to(a, shape),
    np.shape: shape_of, np.ndim: lambda a: len(shape_of(a)),
    np.size: lambda a, axis=None: int(np.prod(shape_of(a))) if axis is None else shape_of(a)[axis],
    np.zeros_like: _like(np.zeros_like), np.ones_like: _like(np.ones_like),
    np.empty_like: _like(np.empty_like), np.full_like: _full_like,
    np.isclose: _like(np.isclose), np.allclose: _like(np.allclose),
}

#: numpy functions deliberately left without a rule, each with what to use instead. The error
#: for them says so; the numpy-support page lists them.
UNSUPPORTED: "dict[Any, str]" = {}

#: Where the error messages send users: the generated page of what works.
SUPPORT_PAGE = "docs/numpy-support.md"


# The numpy names of each family of rules, one block per family, so that a family's additions
# sit together (and apart from the others').

# -- elementwise ufuncs and reductions (rules/ufuncs.py, rules/reductions.py) ----------------

UFUNC_RULES.update({
    np.square: F.square, np.reciprocal: F.reciprocal, np.positive: F.positive, np.cbrt: F.cbrt,
    np.log2: F.log2, np.log10: F.log10, np.exp2: F.exp2, np.logaddexp: F.logaddexp,
    np.logaddexp2: F.logaddexp2, np.hypot: F.hypot, np.arcsinh: F.arcsinh,
    np.arccosh: F.arccosh, np.arctanh: F.arctanh, np.deg2rad: F.deg2rad, np.radians: F.deg2rad,
    np.rad2deg: F.rad2deg, np.degrees: F.rad2deg, np.fabs: F.fabs, np.fmax: F.fmax,
    np.fmin: F.fmin, np.copysign: F.copysign, np.remainder: F.mod, np.fmod: F.fmod,
    np.float_power: F.float_power, np.heaviside: F.heaviside,
})


_NO_VALUE = getattr(np, "_NoValue", None)


def _given(v: Any) -> bool:
    return v is not None and v is not _NO_VALUE


def _given_or_none(v: Any) -> Any:
    return v if _given(v) else None


def _masked(where: Any) -> bool:
    """Whether a reduction's ``where=`` selects elements: anything but numpy's default True
    (None too: numpy reads it as False, selecting nothing)."""
    return where is not True and where is not _NO_VALUE


def _no_none_mask(name: str, where: Any) -> None:
    """np.mean, np.var and np.std fail on where=None (they cannot count a None); said in words."""
    if where is None:
        raise TypeError(f"numpy.{name} with where=None: numpy refuses it too (it cannot count the "
                        f"elements); pass a boolean mask, or leave where= out for all of them")


def _check_reduction(name: str, dtype=None, out=None, where=True, **kw) -> None:
    """Refuse the arguments of numpy's reductions that dualdiff does not support, by name.

    ``dtype`` is not checked here: the caller casts with `_in_dtype`.
    """
    if _masked(where):
        raise TypeError(f"numpy.{name} with where= is not supported on Duals/tape variables: "
                        f"select the elements first (x[mask], or dd.where(mask, x, fill))")
    _reject(name, {"out": out, **{k: v for k, v in kw.items() if _given(v)}})


def _extremum(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def reduce(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        _check_reduction(name, out=out)
        if _masked(where):
            return _masked_reductions.extremum_where(name, a, where, axis, _keep(keepdims),
                                                     _given_or_none(initial))
        return fn(a, axis=axis, keepdims=bool(keepdims) if _given(keepdims) else False,
                  initial=initial if _given(initial) else None)
    reduce.__name__ = name
    largest = "largest" if "max" in name else "smallest"
    nans = ", nans ignored," if name.startswith("nan") else ""
    ties = "" if nans else "; a nan result sends it to the nans"
    reduce.__doc__ = (f"The {largest} element over ``axis``{nans} as np.{name}: ties share the "
                      f"derivative equally{ties}. With where= (a plain boolean mask) and initial= "
                      f"(numpy requires it then) only the elements selected count; the others "
                      f"get derivative 0.")
    return reduce


_np_max, _np_min = _extremum("max", F.max), _extremum("min", F.min)
_np_nanmax, _np_nanmin = _extremum("nanmax", F.nanmax), _extremum("nanmin", F.nanmin)


def _keep(keepdims: Any) -> bool:
    return bool(keepdims) if _given(keepdims) else False


def _np_prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """The product over ``axis``, as np.prod: the derivative is exact where x has zeros (one or
    several, to every order); with where= (a plain boolean mask, broadcast to x) only the elements
    selected, derivative 0 for the others."""
    _check_reduction("prod", dtype, out)
    if _masked(where) or _given(initial):
        return _masked_reductions.prod_where(_in_dtype("prod", a, dtype),
                                             where if _masked(where) else True, axis,
                                             _keep(keepdims), initial=_given_or_none(initial))
    return F.prod(_in_dtype("prod", a, dtype), axis=axis, keepdims=_keep(keepdims))


def _np_cumulative(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(a, axis=None, dtype=None, out=None):
        _check_reduction(name, dtype, out)
        return fn(_in_dtype(name, a, dtype), axis=axis)
    return run


def _np_moment(name: str, fn: Callable[..., Any], masked: Callable[..., Any],
               doc: str) -> Callable[..., Any]:
    """np.var, np.std and their nan forms: numpy's arguments read, ``where=`` sent to ``masked``."""
    def run(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
            mean=None, correction=None):
        _check_reduction(name, dtype, out, mean=mean)
        if not name.startswith("nan"):
            _no_none_mask(name, where)
        ddof = correction if _given(correction) else ddof
        x = _in_dtype(name, a, dtype)
        if _masked(where):
            return masked(x, where, axis, ddof, _keep(keepdims), ignore_nan=name.startswith("nan"))
        return fn(x, axis=axis, ddof=ddof, keepdims=_keep(keepdims))
    run.__name__ = name
    run.__doc__ = doc + "; with where= (a plain boolean mask, broadcast to x) only the elements selected, derivative 0 for the others (where N <= ddof, numpy's nan or inf, derivative 0)."
    return run


_np_var = _np_moment("var", F.var, _masked_reductions.var_where,
                     "The variance sum((x - mean)²) / (N - ddof) over ``axis``, as np.var")
_np_std = _np_moment("std", F.std, _masked_reductions.std_where,
                     "sqrt(var) over ``axis``, as np.std: derivative inf (nan) where all values "
                     "are equal")
_np_nanvar = _np_moment("nanvar", F.nanvar, _masked_reductions.var_where,
                        "The variance over ``axis`` of the elements that are not nan, as "
                        "np.nanvar: sum((x - m)²) / (N - ddof), N and m counting only those")
_np_nanstd = _np_moment("nanstd", F.nanstd, _masked_reductions.std_where,
                        "sqrt(nanvar), as np.nanstd")


def _np_ptp(a, axis=None, out=None, keepdims=False):
    _check_reduction("ptp", out=out)
    return F.ptp(a, axis=axis, keepdims=_keep(keepdims))


def _np_average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    return F.average(a, axis=axis, weights=weights, returned=returned, keepdims=_keep(keepdims))


def _np_nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """The sum over ``axis`` with nans counted as 0 (derivative 0), as np.nansum; with where= (a
    plain boolean mask, broadcast to x) only the elements selected, derivative 0 for the others."""
    _check_reduction("nansum", dtype, out)
    if _masked(where) or _given(initial):
        return _masked_reductions.nansum_where(_in_dtype("nansum", a, dtype),
                                               True if where is _NO_VALUE else where, axis,
                                               _keep(keepdims), _given_or_none(initial))
    return F.nansum(_in_dtype("nansum", a, dtype), axis=axis, keepdims=_keep(keepdims))


def _np_nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """The product over ``axis`` with nans counted as 1 (derivative 0), as np.nanprod; with where=
    (a plain boolean mask, broadcast to x) only the elements selected, derivative 0 for the
    others."""
    _check_reduction("nanprod", dtype, out)
    if _masked(where) or _given(initial):
        return _masked_reductions.prod_where(_in_dtype("nanprod", a, dtype),
                                             where if _masked(where) else True, axis,
                                             _keep(keepdims), ignore_nan=True,
                                             initial=_given_or_none(initial))
    return F.nanprod(_in_dtype("nanprod", a, dtype), axis=axis, keepdims=_keep(keepdims))


def _np_nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """The mean of the elements that are not nan, as np.nanmean; with where= (a plain boolean mask,
    broadcast to x) only the elements selected, derivative 0 for the others."""
    _check_reduction("nanmean", dtype, out)
    if _masked(where):
        return _masked_reductions.mean_where(_in_dtype("nanmean", a, dtype), where, axis,
                                             _keep(keepdims), ignore_nan=True)
    return F.nanmean(_in_dtype("nanmean", a, dtype), axis=axis, keepdims=_keep(keepdims))


def _np_quantile(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def q(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
          weights=None, interpolation=None):
        _check_reduction(name, out=out, weights=weights, interpolation=interpolation)
        return fn(a, q, axis=axis, keepdims=bool(keepdims), method=method)
    return q


def _np_nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _check_reduction("nanmedian", out=out)
    return F.nanmedian(a, axis=axis, keepdims=_keep(keepdims))


def _np_median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _check_reduction("median", out=out)
    return F.median(a, axis=axis, keepdims=bool(keepdims))


def _np_diff(a, n=1, axis=-1, prepend=None, append=None):
    return F.diff(a, n=n, axis=axis, prepend=prepend if _given(prepend) else None,
                  append=append if _given(append) else None)


def _np_trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """The sum along a diagonal, as np.trace (dualdiff.rules.trace; dd.trace is the evaluation trace)."""
    _check_reduction("trace", dtype, out)
    return F.trace(_in_dtype("trace", a, dtype), offset=offset, axis1=axis1, axis2=axis2)


def _np_clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    _check_reduction("clip", out=out, **kwargs)
    if _given(min) or _given(max):
        if _given(a_min) or _given(a_max):
            raise TypeError("clip: give the bounds either as a_min/a_max or as min/max, not both")
        a_min, a_max = min, max
    return F.clip(a, a_min if _given(a_min) else None, a_max if _given(a_max) else None)


def _ufunc_outer(rule: Callable[..., Any], a: Any, b: Any) -> Any:
    """``ufunc.outer(a, b)``: the ufunc of every pair, shape a.shape + b.shape, by broadcasting."""
    return rule(F.reshape(a, shape_of(a) + (1,) * len(shape_of(b))), b)


def _ufunc_method(name: str, equals: str, run: Callable[..., Any]) -> Callable[..., Any]:
    run.__name__ = name
    run.equals = equals  # type: ignore[attr-defined]  # read by the numpy-support page
    return run


def _ufunc_reduce(name: str, equals: str, reduce: Callable[..., Any]) -> Callable[..., Any]:
    """``ufunc.reduce`` by its reduction: numpy's arguments, and its default axis 0."""
    def run(a, axis=0, dtype=None, out=None, keepdims=False, **kw):
        return reduce(a, axis, dtype, out, keepdims, **kw)
    return _ufunc_method(name, equals, run)


def _ufunc_extremum_reduce(name: str, equals: str, reduce: Callable[..., Any]) -> Callable[..., Any]:
    def run(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
        _check_reduction(name, dtype, out)
        return reduce(a, axis, None, keepdims, initial, where)
    return _ufunc_method(name, equals, run)


def _ufunc_accumulate(name: str, equals: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``ufunc.accumulate``: the running reduction along ``axis`` (default 0), as cumsum/cumprod."""
    def run(a, axis=0, dtype=None, out=None):
        _check_reduction(name, dtype, out)
        return fn(_in_dtype(name, a, dtype), axis=axis)
    return _ufunc_method(name, equals, run)


#: ``ufunc.method(...)`` calls with a dualdiff function behind them (ufunc.outer: any binary
#: ufunc with a rule, by broadcasting).
UFUNC_METHOD_RULES: "dict[tuple, Callable[..., Any]]" = {
    (np.add, "reduce"): _ufunc_reduce("add.reduce", "np.sum(x, axis=0)", _np_sum),
    (np.multiply, "reduce"): _ufunc_reduce("multiply.reduce", "np.prod(x, axis=0)", _np_prod),
    (np.maximum, "reduce"): _ufunc_extremum_reduce("maximum.reduce", "np.max(x, axis=0)", _np_max),
    (np.minimum, "reduce"): _ufunc_extremum_reduce("minimum.reduce", "np.min(x, axis=0)", _np_min),
    (np.add, "accumulate"): _ufunc_accumulate("add.accumulate", "np.cumsum(x, axis=0)", F.cumsum),
    (np.multiply, "accumulate"): _ufunc_accumulate("multiply.accumulate", "np.cumprod(x, axis=0)", F.cumprod),
}

FUNCTION_RULES.update({
    np.max: _np_max, np.amax: _np_max, np.min: _np_min, np.amin: _np_min,
    np.nanmax: _np_nanmax, np.nanmin: _np_nanmin, np.prod: _np_prod,
    np.cumsum: _np_cumulative("cumsum", F.cumsum), np.cumprod: _np_cumulative("cumprod", F.cumprod),
    np.var: _np_var, np.std: _np_std, np.ptp: _np_ptp, np.average: _np_average,
    np.nansum: _np_nansum, np.nanmean: _np_nanmean, np.median: _np_median,
    np.nanvar: _np_nanvar, np.nanstd: _np_nanstd, np.nanprod: _np_nanprod,
    np.nancumsum: _np_cumulative("nancumsum", F.nancumsum),
    np.nancumprod: _np_cumulative("nancumprod", F.nancumprod),
    np.nanquantile: _np_quantile("nanquantile", F.nanquantile),
    np.nanpercentile: _np_quantile("nanpercentile", F.nanpercentile), np.nanmedian: _np_nanmedian,
    np.quantile: _np_quantile("quantile", F.quantile),
    np.percentile: _np_quantile("percentile", F.percentile),
    np.diff: _np_diff, np.ediff1d: F.ediff1d, np.trace: _np_trace, np.clip: _np_clip, np.nan_to_num: F.nan_to_num,
    np.sinc: F.sinc,
})


# -- shape, assembly, indexing and sorting (rules/shape.py, assembly.py, indexing.py) ---------

def _no_out(name: str, fn: Callable[..., Any], *refused: str) -> Callable[..., Any]:
    """fn, refusing numpy's keyword arguments that have no meaning for a traced result."""
    def wrapper(*args, **kwargs):
        _reject(name, {k: kwargs.pop(k) for k in refused if k in kwargs})
        return fn(*args, **kwargs)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _np_sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """The sorted values, as np.sort: the derivative follows the permutation; equal keys keep their input order (stable) and each takes the derivative of the element that was there."""
    return F.sort(a, axis=axis, kind=kind, order=order)


def _np_take(a, indices, axis=None, out=None, mode="raise"):
    """The elements at ``indices``, as np.take (mode 'raise', 'wrap' or 'clip'); repeated indices sum their derivatives."""
    _reject("take", {"out": out})
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    if mode != "raise":  # the indices brought into range first, as numpy does
        n = shape_of(a)[axis] if axis is not None else int(np.prod(shape_of(a)))
        if n == 0:
            raise IndexError("take: cannot do a non-empty take from an empty axis")
        indices = np.asarray(stop_gradient(indices))
        indices = indices % n if mode == "wrap" else np.clip(indices, 0, n - 1)
    return F.take(a, indices, axis=axis)


def _np_compress(condition, a, axis=None, out=None):
    """The elements of a (flattened, or along ``axis``) where condition is true, as np.compress."""
    _reject("compress", {"out": out})
    return F.take(a, _true_positions(condition), axis=axis)


def _np_unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None,
               *, equal_nan=True, sorted=True):
    """The sorted unique values (rows along ``axis``), as np.unique; each one's derivative is that of its first occurrence."""
    found = np.unique(stop_gradient(ar), return_index=True, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, equal_nan=equal_nan)
    values = F.take(ar, found[1], axis=axis)  # numpy's first occurrences, in sorted order
    extra = (found[1],) if return_index else ()
    extra += found[2:]
    return (values, *extra) if extra else values


# -- numpy's in-place writers (put, put_along_axis, putmask, place, fill_diagonal) ------------
# Each is ``a[positions] = values`` with numpy's own choice of positions and of how values are
# repeated; on a traced a that assignment records dd.index_update (surface's __setitem__), so
# every name for a sees the new value, as with numpy.

def _write_into(name: str, a: Any, flat_positions: Any, values: Any) -> None:
    """a.flat[flat_positions] = values (already one per position), as numpy writes it."""
    if not is_traced(a):
        raise TypeError(
            f"np.{name} writes traced values into a plain array, which cannot hold their "
            f"derivative: start from a traced array (y = x * 0.0, or y = x.copy()) and write "
            f"into it, or build the result with dd.index_update(y, idx, v)")
    flat_positions = np.asarray(flat_positions, dtype=np.intp)
    a[np.unravel_index(flat_positions, shape_of(a))] = values


def _flat_picks(values: Any, picks: np.ndarray) -> Any:
    """values.flat[picks], for traced or plain values."""
    if is_traced(values):
        return F.take(F.reshape(values, (-1,)), picks)
    return np.ravel(values)[picks]


def _cycled(values: Any, count: int) -> Any:
    """values flattened and repeated (or cut) to ``count`` elements, as numpy's flat writes do;
    None for no values (numpy then writes nothing)."""
    size = int(np.prod(shape_of(values)))
    return _flat_picks(values, np.arange(count) % size) if size else None


def _np_put(a, ind, v, mode="raise"):
    """a.flat[ind] = v in place, v repeated as needed, as np.put (mode 'raise', 'wrap' or 'clip'); on a traced a."""
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"put: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    n = int(np.prod(shape_of(a)))
    ind = np.ravel(np.asarray(stop_gradient(ind)))
    if mode == "wrap":
        ind = ind % n if n else ind
    elif mode == "clip":
        ind = np.clip(ind, 0, n - 1)
    elif ind.size and (ind.min() < -n or ind.max() >= n):
        raise IndexError(f"put: index {int(ind.max() if ind.max() >= n else ind.min())} is out "
                         f"of bounds for size {n}")
    v = _cycled(v, ind.size)
    if ind.size and v is not None:
        _write_into("put", a, ind % n, v)


def _np_put_along_axis(arr, indices, values, axis):
    """arr[the positions take_along_axis reads] = values in place, as np.put_along_axis; on a traced arr."""
    shape = shape_of(arr)
    indices = np.asarray(stop_gradient(indices))
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        flat = np.arange(int(np.prod(shape)))
    else:
        axis = norm_axes(axis, len(shape))[0]
        if indices.ndim != len(shape):
            raise ValueError("`indices` and `arr` must have the same number of dimensions")
        flat = np.arange(int(np.prod(shape))).reshape(shape)
    positions = np.take_along_axis(flat, indices, axis=axis)
    values = (F.broadcast_to if is_traced(values) else np.broadcast_to)(values, positions.shape)
    _write_into("put_along_axis", arr, np.ravel(positions), _flat_picks(values, np.arange(positions.size)))


def _np_putmask(a, mask, values):
    """a.flat[n] = values.flat[n % values.size] where mask is true, in place, as np.putmask; on a traced a."""
    mask = np.broadcast_to(np.asarray(stop_gradient(mask), dtype=bool), shape_of(a))
    positions = np.flatnonzero(mask)
    size = int(np.prod(shape_of(values)))
    if positions.size and size:
        _write_into("putmask", a, positions, _flat_picks(values, positions % size))


def _np_place(arr, mask, vals):
    """The i-th true position of mask gets vals.flat[i % vals.size], in place, as np.place; on a traced arr."""
    positions = np.flatnonzero(np.asarray(stop_gradient(mask), dtype=bool))
    vals = _cycled(vals, positions.size)
    if vals is None:
        raise ValueError("Cannot insert from an empty array!")
    if positions.size:
        _write_into("place", arr, positions, vals)


def _np_fill_diagonal(a, val, wrap=False):
    """The main diagonal of a set to val (repeated as needed) in place, as np.fill_diagonal; on a traced a."""
    shape = shape_of(a)
    if len(shape) < 2:
        raise ValueError("array must be at least 2-d")
    if len(shape) == 2:
        step = shape[1] + 1
        end = None if wrap else shape[1] * shape[1]
    else:
        if len(set(shape)) != 1:
            raise ValueError("All dimensions of input must be of equal length")
        step = 1 + int(np.cumprod(shape[:-1]).sum())
        end = None
    positions = np.arange(int(np.prod(shape)))[:end:step]
    val = _cycled(val, positions.size)
    if positions.size and val is not None:
        _write_into("fill_diagonal", a, positions, val)


def _np_extract(condition, arr):
    """The elements of arr where condition is true, in C order, as np.extract."""
    return F.take(arr, _true_positions(condition))


def _true_positions(condition: Any) -> np.ndarray:
    """The flat positions where a (plain or traced) condition is true: plain indices."""
    return np.flatnonzero(np.asarray(stop_gradient(condition), dtype=bool))


def _np_take_along_axis(arr, indices, axis=-1):
    """np.take_along_axis: a gather, whose adjoint scatters the cotangent back."""
    return F.take_along_axis(arr, indices, axis)


def _np_concat_like(name, fn):
    def wrapper(tup, *, dtype=None, casting="same_kind"):
        _reject(name, {"dtype": dtype})
        return fn(tup)
    wrapper.__name__ = fn.__name__
    return wrapper


def _np_atleast(fn):
    def wrapper(*arys):
        out = fn(*arys)
        return tuple(out) if isinstance(out, list) else out  # numpy 2 returns a tuple
    wrapper.__name__ = fn.__name__
    return wrapper


FUNCTION_RULES.update({
    np.moveaxis: F.moveaxis, np.rollaxis: F.rollaxis, np.swapaxes: F.swapaxes,
    np.atleast_1d: _np_atleast(F.atleast_1d), np.atleast_2d: _np_atleast(F.atleast_2d),
    np.atleast_3d: _np_atleast(F.atleast_3d), np.tile: F.tile,
    np.flip: F.flip, np.fliplr: F.fliplr, np.flipud: F.flipud, np.rot90: F.rot90,
    np.take: _np_take, np.take_along_axis: _np_take_along_axis, np.diagonal: F.diagonal,
    np.repeat: F.repeat, np.vstack: _np_concat_like("vstack", F.vstack),
    np.hstack: _np_concat_like("hstack", F.hstack), np.dstack: F.dstack,
    np.column_stack: F.column_stack, np.append: F.append, np.split: F.split,
    np.array_split: F.array_split, np.hsplit: F.hsplit, np.vsplit: F.vsplit, np.dsplit: F.dsplit,
    np.roll: F.roll, np.pad: F.pad, np.diag: F.diag, np.diagflat: F.diagflat, np.tril: F.tril,
    np.triu: F.triu, np.select: F.select, np.choose: _no_out("choose", F.choose, "out"),
    np.sort: _np_sort, np.partition: F.partition, np.copy: lambda a, order="K", subok=False: F.copy(a),
    np.trim_zeros: F.trim_zeros,
    np.tril_indices_from: no_derivative(np.tril_indices_from, "Index arrays (from the shape alone)."),
    np.triu_indices_from: no_derivative(np.triu_indices_from, "Index arrays (from the shape alone)."),
    np.diag_indices_from: no_derivative(np.diag_indices_from, "Index arrays (from the shape alone)."),
})
FUNCTION_RULES[np.lib.stride_tricks.sliding_window_view] = _indexing.sliding_window_view
if hasattr(np, "unstack"):  # numpy >= 2.1
    FUNCTION_RULES[np.unstack] = F.unstack
if hasattr(np, "astype"):  # numpy >= 2.1: the function form of x.astype
    def _np_astype(x, dtype, /, *, copy=True, device=None):
        if device not in (None, "cpu"):  # (numpy's own check)
            raise ValueError(f'astype: device not understood; only "cpu" is allowed, but '
                             f'received: {device}')
        return astype_as_numpy(x, dtype, copy)
    FUNCTION_RULES[np.astype] = _np_astype
if hasattr(np, "row_stack"):  # deprecated in numpy 2.0, gone in later versions
    FUNCTION_RULES[np.row_stack] = _np_concat_like("row_stack", F.row_stack)

#: Idioms no numpy protocol lets a traced value intercept, each with what to write instead (the
#: numpy-support page lists them). numpy's r_ and c_ build their array with np.array, which
#: meets the conversion error (__array__) that names dd.stack.
UNSUPPORTED_IDIOMS: "dict[str, str]" = {
    "np.array([x[0], x[1] ** 2])": "dd.stack([x[0], x[1] ** 2]) (np.stack works too, with plain "
                                   "numbers mixed in); np.array raises dualdiff's TypeError",
    "np.r_[x, y], np.c_[x, y]": "dd.concatenate([x, y]), dd.column_stack([x, y]) or dd.hstack",
    "a = np.zeros(n); a[i] = x (x traced)": "a plain array cannot hold a derivative: start from a "
        "traced value (y = np.zeros_like(x); y[i] = ...) or build with dd.stack. Inside a transform "
        "both a slice and a single element raise dualdiff's TypeError; with hand-built Duals a "
        "single element gets numpy's 'setting an array element with a sequence', with "
        "dualdiff's explanation as its cause",
    "np.int64(x), int(x), range(x) (x traced)": "an integer has no derivative: int(x.primal)",
    "z = y[1:]; y[0] = v; use z": "a traced value taken from y before the assignment keeps its "
        "old content (numpy's view would change); assigning into a traced view raises a "
        "TypeError: take .copy() first",
}


# -- linear algebra and einsum (rules/linalg.py, rules/einsum.py) -----------------------------
from . import linalg as _linalg  # noqa: E402  (the dd.linalg namespace: np.linalg.f -> dd.linalg.f)

_np_linalg_fn: Any
for _name in _linalg.__all__:
    _np_linalg_fn = getattr(np.linalg, _name, None)
    if callable(_np_linalg_fn) and _name not in ("LinAlgError", "eig", "eigvals") \
            and not isinstance(_np_linalg_fn, type):
        FUNCTION_RULES[_np_linalg_fn] = getattr(_linalg, _name)
FUNCTION_RULES[np.linalg.matrix_rank] = no_derivative(
    np.linalg.matrix_rank, "The rank of each matrix (a plain integer, no derivative).")
_GENERAL_EIG = ("the eigenvalues of a general matrix are complex and dualdiff does not "
                "differentiate them; for a symmetric matrix use np.linalg.eigh / eigvalsh")
# np.full(shape, c) and np.full_like(plain, c) with a traced c reach np.copyto, which writes
# into a new plain array in place.
UNSUPPORTED[np.copyto] = ("it writes a value into a plain array in place (so do np.full(shape, c) "
                          "and np.full_like(plain_array, c) with a traced c). Build the value "
                          "instead: dd.broadcast_to(c, shape), or np.full_like(traced, c)")
FUNCTION_RULES[np.matrix_transpose] = _linalg.matrix_transpose  # numpy 2's top-level name
UNSUPPORTED.update({np.linalg.eig: _GENERAL_EIG, np.linalg.eigvals: _GENERAL_EIG})
FUNCTION_RULES.update({
    np.einsum: F.einsum, np.tensordot: F.tensordot, np.inner: F.inner, np.vdot: F.vdot,
    np.kron: F.kron, np.cross: F.cross,
})


# -- discrete Fourier transforms (rules/fft.py) ------------------------------------------------
from . import fft as _fft  # noqa: E402  (the dd.fft namespace: np.fft.f -> dd.fft.f)

for _name in _fft.__all__:
    FUNCTION_RULES[getattr(np.fft, _name)] = getattr(_fft, _name)

# -- sampled data (rules/sampling.py) and real_if_close (rules/complex_parts.py) -----------------
def _np_linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
                 device=None):
    """``num`` evenly spaced samples from start to stop (stop left out with endpoint=False), as
    np.linspace; differentiable in start and stop (arrays too: the samples run along ``axis``).
    numpy 2's device= is read as numpy reads it ("cpu" only)."""
    if device not in (None, "cpu"):  # (numpy's own check)
        raise ValueError(f'linspace: device not understood; only "cpu" is allowed, but '
                         f'received: {device}')
    return F.linspace(start, stop, num, endpoint, retstep, dtype, axis)


FUNCTION_RULES.update({np.gradient: F.gradient, np.linspace: _np_linspace,
                       np.logspace: F.logspace, np.real_if_close: F.real_if_close})
# -- integrals, interpolants, polynomials, convolutions, covariances (rules/sampling.py,
#    rules/polynomials.py, rules/statistics.py); coordinate grids and np.delete/np.resize ------
FUNCTION_RULES.update({
    np.interp: F.interp, np.polyval: F.polyval, np.polyder: F.polyder, np.polyint: F.polyint,
    np.polyadd: F.polyadd, np.polysub: F.polysub, np.polymul: F.polymul, np.vander: F.vander,
    np.polyfit: F.polyfit, np.compress: _np_compress, np.extract: _np_extract,
    np.unique: _np_unique, np.put: _np_put, np.put_along_axis: _np_put_along_axis,
    np.putmask: _np_putmask, np.place: _np_place, np.fill_diagonal: _np_fill_diagonal,
    np.convolve: F.convolve, np.correlate: F.correlate, np.cov: F.cov, np.corrcoef: F.corrcoef,
    np.broadcast_arrays: F.broadcast_arrays, np.meshgrid: F.meshgrid, np.delete: F.delete, np.insert: F.insert,
    np.resize: F.resize,
})
# -- functions that call the user's function on pieces (rules/functional.py) ------------------
FUNCTION_RULES.update({np.apply_along_axis: F.apply_along_axis, np.piecewise: F.piecewise})
for _name in ("trapezoid", "trapz"):  # numpy >= 2.0 / before (trapz is deprecated in 2.x)
    if _name in np.__dict__:
        FUNCTION_RULES[np.__dict__[_name]] = F.trapezoid
UFUNC_RULES[np.ldexp] = F.ldexp


def _np_frexp(x):
    """(mantissa, exponent) with x = mantissa · 2**exponent, as np.frexp: the mantissa is
    dd.ldexp(x, -exponent) (exact), whose derivative is 2**-exponent; the exponent plain."""
    exponent = np.frexp(stop_gradient(x))[1]
    return F.ldexp(x, -exponent), exponent


def _np_modf(x):
    """(fractional part, integral part), as np.modf: the fraction is x − trunc(x), derivative 1
    (0 at ±inf, where it is 0); the integral part plain (piecewise constant). Numpy's signed
    zeros too: where x is negative the fraction is −(trunc(x) − x), the same number with the
    sign numpy gives a zero fraction (−0.0 at −3.0 and at −0.0)."""
    if np.iscomplexobj(concrete(x)):  # (numpy refuses it too; np.trunc's refusal named trunc)
        raise TypeError("ufunc 'modf' is not supported for complex values (numpy refuses them "
                        "too): take np.modf of the real and imaginary parts")
    plain = stop_gradient(x)
    # (ufuncs one value each rather than np.modf's pair, so that dd.compile records them too)
    integral = np.trunc(plain)
    finite = np.isfinite(plain)
    # ±inf: a zero fraction of its sign; nan: nan (np.modf's)
    fraction = np.where(np.isnan(plain), plain, np.copysign(0.0, plain))
    # (trunc taken as 0 at ±inf and nan, so x − trunc(x) there is no inf − inf: where drops it)
    t = np.where(finite, integral, 0.0)
    return F.where(finite, F.where(np.signbit(plain), -(t - x), x - t), fraction), integral


# -- numpy 2.1's running sums and products (rules/cumulative.py) ------------------------------
def _np_cumulative_new(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        _check_reduction(name, dtype, out)
        return fn(_in_dtype(name, x, dtype), axis, bool(include_initial))
    run.__name__ = name
    run.__doc__ = fn.__doc__
    return run


for _name in ("cumulative_sum", "cumulative_prod"):
    if hasattr(np, _name):
        FUNCTION_RULES[getattr(np, _name)] = _np_cumulative_new(_name, getattr(_cumulative, _name))


FUNCTION_RULES[np.block] = _assembly.block

# -- products of stacks of matrices and vectors (rules/vector_products.py; numpy >= 2.0 / 2.2) ---
for _name in ("matvec", "vecmat", "vecdot"):
    if isinstance(getattr(np, _name, None), np.ufunc):
        UFUNC_RULES[getattr(np, _name)] = getattr(F, _name)


def _gufunc_axes(name: str, rule: Callable[..., Any], core_in: tuple, core_out: int):
    """``rule`` with a generalized ufunc's ``axes=``, ``axis=`` and ``keepdims=``, as numpy
    reads them: each operand's core axes are moved to the end, the rule runs, and the output's
    core axes are moved to where ``axes`` puts them (keepdims: the contracted axis kept with
    size 1). ``core_in`` counts each input's core dimensions, ``core_out`` the output's."""
    nin = len(core_in)

    def run(*inputs, axes=None, axis=None, keepdims=False):
        if axis is not None and axes is not None:
            raise TypeError("cannot specify both 'axis' and 'axes'")
        if axis is not None:
            if set(core_in) != {1} or core_out > 1:
                raise TypeError(f"{name}: axis can only be used with a single shared core "
                                f"dimension; use axes=")
            axes = [axis] * nin + ([axis] if core_out else [])
        if keepdims and (core_out or len(set(core_in)) != 1):
            raise TypeError(f"{name}: keepdims can only be used when the output has no core "
                            f"dimensions and every input has as many")
        for x, c in zip(inputs, core_in):
            if len(shape_of(x)) < c:  # (matmul's 1-d operands: numpy's optional core axis)
                raise ValueError(f"{name} with axes= of an operand of shape {shape_of(x)}: on "
                                 f"traced values each operand needs its {c} core axes; give a "
                                 f"vector its unit axis (v[None, :] or v[:, None]) and take it "
                                 f"off the result")
        if axes is None:
            axes = [tuple(range(-c, 0)) for c in core_in] + [tuple(range(-core_out, 0))]
        axes = [tuple(a) if isinstance(a, (tuple, list)) else (a,) for a in axes]
        if len(axes) == nin:
            if core_out:
                raise ValueError(f"axes should be a list with an entry for all {nin + 1} inputs "
                                 f"and outputs; entries for outputs can only be omitted if none "
                                 f"of them has core axes.")
            axes.append(())
        if len(axes) != nin + 1 or any(len(a) != c for a, c in zip(axes, core_in + (core_out,))):
            raise ValueError(f"{name}: axes= needs one tuple per operand with as many axes as "
                             f"its core dimensions {core_in} -> {core_out}, got {axes}")
        out = rule(*[F.moveaxis(x, a, tuple(range(-c, 0)))
                     for x, a, c in zip(inputs, axes, core_in)])
        if core_out:
            out = F.moveaxis(out, tuple(range(-core_out, 0)), axes[nin])
        elif keepdims:  # the contracted axis kept, with size 1, where the first operand's was
            out = _expand_dims(out, axes[0][0])
        return out

    run.__name__ = name
    return run


#: Generalized ufuncs whose axes=/axis=/keepdims= are read (np.matmul(a, b, axes=...)): the
#: ufunc's rule, called on operands whose core axes are moved to the end.
GUFUNC_KEYWORD_RULES: "dict[Any, Callable[..., Any]]" = {
    np.matmul: _gufunc_axes("matmul", F.matmul, (2, 2), 2)}
for _name, _cores in (("vecdot", ((1, 1), 0)), ("matvec", ((2, 1), 1)), ("vecmat", ((1, 2), 1))):
    if isinstance(getattr(np, _name, None), np.ufunc):
        GUFUNC_KEYWORD_RULES[getattr(np, _name)] = _gufunc_axes(_name, getattr(F, _name), *_cores)

UFUNC_RULES[np.frexp] = _np_frexp
UFUNC_RULES[np.modf] = _np_modf
UFUNC_RULES[np.divmod] = _divmod

# -- scipy.special's ufuncs (rules/special.py), found by name on first use -------------------
from .rules.special import SPECIAL_UFUNCS as _SPECIAL_UFUNCS  # noqa: E402


def special_ufunc_rule(ufunc: Any) -> Any:
    """The rule of one of scipy.special's ufuncs (None for any other).

    scipy is not imported to build the table: a scipy ufunc met on a traced value is looked up
    by its name, and only if it is scipy.special's own object. (Kept out of UFUNC_RULES, whose
    content must not depend on what a process has met: the support page is generated from it.)
    """
    special = sys.modules.get("scipy.special")
    rule = _SPECIAL_UFUNCS.get(getattr(ufunc, "__name__", ""))
    if rule is None or special is None or getattr(special, ufunc.__name__, None) is not ufunc:
        return None
    return rule


# -- functions with no derivative, passed through on values ----------------------------------

_STEPS = ("Piecewise constant: plain values (the derivative is zero between the jumps and "
          "undefined at them, so none is carried).")
_fn: Any
_note: str
for _fn, _note in [
    (np.argmax, "Index of the largest value (plain; the first one at ties)."),
    (np.argmin, "Index of the smallest value (plain; the first one at ties)."),
    (np.argsort, "Indices that sort the values (plain)."),
    (np.argpartition, "Indices that partition the values (plain)."),
    (np.argwhere, "Indices of the nonzero values, one row each (plain)."),
    (np.nonzero, "Indices of the nonzero values, one array per axis (plain)."),
    (np.flatnonzero, "Flat indices of the nonzero values (plain)."),
    (np.count_nonzero, "Number of nonzero values (plain)."),
    (np.searchsorted, "Insertion indices into a sorted array (plain)."),
    (np.digitize, "Indices of the bins the values fall in (plain)."),
    (np.nanargmax, "Index of the largest value, nans ignored (plain)."),
    (np.nanargmin, "Index of the smallest value, nans ignored (plain)."),
    (np.round, _STEPS), (np.around, _STEPS), (np.fix, _STEPS),
    (np.isneginf, "Booleans from the values (no derivative)."),
    (np.isposinf, "Booleans from the values (no derivative)."),
    (np.isreal, "Booleans from the values (no derivative)."),
    (np.iscomplex, "Booleans from the values (no derivative)."),
    (np.iscomplexobj, "Whether the value is complex (plain)."),
    (np.allclose, "Whether the values are close, as np.allclose (plain)."),
    (np.isclose, "Booleans: where the values are close, as np.isclose (plain)."),
    (np.array_equal, "Whether the values are equal (plain)."),
    (np.array_equiv, "Whether the values are equal after broadcasting (plain)."),
    (np.all, "Whether all values are nonzero (plain)."),
    (np.any, "Whether any value is nonzero (plain)."),
    (np.isin, "Booleans: which values are in the test values (plain)."),
    (np.lexsort, "The indices that sort by several keys (plain)."),
    (np.shape, "The primal's shape."), (np.ndim, "The primal's number of axes."),
    (np.size, "The primal's number of elements (along ``axis`` if given)."),
    (np.result_type, "The dtype numpy's promotion gives the primals."),
]:
    FUNCTION_RULES[_fn] = no_derivative(_fn, _note)
_ufunc: Any
for _ufunc in (np.floor, np.ceil, np.rint, np.trunc, np.floor_divide, np.sign,
               np.spacing, np.nextafter):  # (the last two: the float grid around the value)
    UFUNC_RULES[_ufunc] = no_derivative(_ufunc, _STEPS)
for _ufunc in (np.logical_and, np.logical_or, np.logical_not, np.logical_xor):
    UFUNC_RULES[_ufunc] = no_derivative(_ufunc, "Booleans from the values (no derivative).")


# -- complex numbers -------------------------------------------------------------------------
UFUNC_RULES[np.conjugate] = F.conj
FUNCTION_RULES.update({
    np.real: F.real, np.imag: F.imag, np.angle: F.angle,
    # questions about the dtype, answered from the value
    np.iscomplexobj: lambda x: np.iscomplexobj(stop_gradient(x)),
    np.isrealobj: lambda x: np.isrealobj(stop_gradient(x)),
    np.iscomplex: lambda x: np.iscomplex(stop_gradient(x)),
    np.isreal: lambda x: np.isreal(stop_gradient(x)),
})


# -- weighted counts (rules/histograms.py): bincount and the histograms, linear in the weights --
def _np_histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The edges np.histogram would use, from the plain sample (plain; weights are only checked)."""
    if is_traced(a) or is_traced(bins) or is_traced(range):
        raise TypeError("histogram_bin_edges of a traced sample, bins or range: the edges follow "
                        "the sample's extremes, and the counts in them are piecewise constant; "
                        "compute the edges from dd.stop_gradient(a), and pass what should carry "
                        "the derivative as weights= to np.histogram")
    return np.histogram_bin_edges(a, bins, range, None if weights is None else stop_gradient(weights))


FUNCTION_RULES.update({
    np.bincount: F.bincount, np.histogram: F.histogram, np.histogram2d: F.histogram2d,
    np.histogramdd: F.histogramdd, np.histogram_bin_edges: _np_histogram_bin_edges,
})


# -- the folds of ufuncs without a reduction of their own (rules/folds.py) ---------------------
from .rules.folds import (  # noqa: E402
    fold as _fold, fold_accumulate as _fold_accumulate, log_sum_exp as _log_sum_exp,
    running_log_sum_exp as _running_log_sum_exp, with_value as _with_value,
)


def _fold_reduce(ufunc: Any, step: Callable[..., Any], scale: float) -> Callable[..., Any]:
    name = f"{ufunc.__name__}.reduce"

    def run(a, axis=0, dtype=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
        _check_reduction(name, out=out, where=where)
        a = _in_dtype(name, a, dtype)
        start = stop_gradient(initial) if _given(initial) else _NO_VALUE
        # numpy's own reduce of the plain values: its value, and its checks of axis and initial
        value = ufunc.reduce(stop_gradient(a), axis=axis, keepdims=bool(keepdims), initial=start)
        shape = np.shape(value)
        nd = len(shape_of(a))
        axes = tuple(range(nd)) if axis is None else tuple(norm_axes(axis, nd) or ())
        if axes and not _given(initial) and 0 not in shape_of(a) \
                and np.all(np.isfinite(value)):  # (+inf or nan in x: the fold, without warnings)
            # numpy's value with the derivative of the log-sum-exp, one primitive, where they
            # join without changing a bit (under dd.compile too); else (infinities) the fold
            n = int(np.prod([shape_of(a)[ax] for ax in axes]))  # (a fold's rounding grows with n)
            joined = _with_value(value, _log_sum_exp(a, axes, bool(keepdims), scale), 4.0 * (n + 1))
            if joined is not None:
                return joined
        if len(axes) == nd > 1:
            # over every axis numpy folds in memory order (that of x, not x.T's indices)
            a, axes = ravel_ordered(a, "K"), (0,)
        elif len(axes) > 1:  # over some: the outermost in memory first, as numpy's iterator
            strides = concrete(a).strides
            axes = tuple(sorted(axes, key=lambda ax: -abs(strides[ax])))
            a = F.transpose(a, axes + tuple(ax for ax in range(nd) if ax not in axes))
            axes = tuple(range(len(axes)))
        out = _fold(step, a, axes, False, ufunc.identity, initial if _given(initial) else None)
        return F.reshape(out, shape)
    return _ufunc_method(name, f"np.{ufunc.__name__}(...np.{ufunc.__name__}(x[0], x[1])..., x[-1])", run)


def _fold_running(ufunc: Any, step: Callable[..., Any], scale: float) -> Callable[..., Any]:
    name = f"{ufunc.__name__}.accumulate"

    def run(a, axis=0, dtype=None, out=None):
        _check_reduction(name, out=out)
        a = _in_dtype(name, a, dtype)
        value = ufunc.accumulate(stop_gradient(a), axis=axis)  # numpy's value and its checks
        if np.size(concrete(value)) and np.all(np.isfinite(value)):
            # numpy's value with the running log-sum-exp's derivative (exp, cumsum, log: three
            # primitives, not one per element) where they join without changing a bit
            n = shape_of(a)[norm_axes(axis, len(shape_of(a)))[0]]
            with np.errstate(all="ignore"):  # (an underflowed prefix: -inf, refused below)
                plain = _running_log_sum_exp(stop_gradient(a), axis, scale)
            # tried on the plain values first, so a refused join leaves nothing traced behind
            if _with_value(value, plain, 4.0 * (n + 1)) is not None:
                joined = _with_value(value, _running_log_sum_exp(a, axis, scale), 4.0 * (n + 1))
                if joined is not None:
                    return joined
        return _fold_accumulate(step, a, axis)
    return _ufunc_method(name, f"out[i] = np.{ufunc.__name__}(out[i-1], x[i])", run)


for _ufunc, _step, _scale in ((np.logaddexp, F.logaddexp, 1.0),
                              (np.logaddexp2, F.logaddexp2, float(np.log(2.0)))):  # (log₂: ln / ln 2)
    UFUNC_METHOD_RULES[(_ufunc, "reduce")] = _fold_reduce(_ufunc, _step, _scale)
    UFUNC_METHOD_RULES[(_ufunc, "accumulate")] = _fold_running(_ufunc, _step, _scale)

# -- phase unwrapping (rules/sampling.py) ------------------------------------------------------
FUNCTION_RULES[np.unwrap] = F.unwrap


# -- numpy's functions that always return a new array -------------------------------------------
# Their rules hand back x itself, or a reshaped view of it, where nothing changes (np.roll(x, 0),
# np.pad(x, 0), finite values in np.nan_to_num, np.fft.fftshift(x, axes=())). numpy returns a new array there, and a
# write into the result (y = np.roll(x, s); y[0] = v, or y += v) must leave x alone as numpy's
# does: a traced value is written by rebinding the object, so x itself would take the write.
def _new_array(rule: Callable[..., Any], copy_arg: int = -1) -> Callable[..., Any]:
    def new(a, *args, **kwargs):
        out = rule(a, *args, **kwargs)
        if not is_traced(a) or (out is not a and not (
                is_traced(out) and np.may_share_memory(concrete(out), concrete(a)))):
            return out
        if copy_arg > 0 and not kwargs.get("copy", args[copy_arg - 1] if len(args) >= copy_arg else True):
            return out  # nan_to_num(x, copy=False) is numpy's x itself
        return F.copy(out)
    new.__name__ = new.__qualname__ = getattr(rule, "__name__", "new")
    new.__doc__ = rule.__doc__
    return new


for _func in (np.roll, np.pad, np.fft.fftshift, np.fft.ifftshift):
    FUNCTION_RULES[_func] = _new_array(FUNCTION_RULES[_func])
FUNCTION_RULES[np.nan_to_num] = _new_array(FUNCTION_RULES[np.nan_to_num], copy_arg=1)
