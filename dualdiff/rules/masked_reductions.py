"""Reductions over the elements a plain boolean mask selects: numpy's ``where=`` argument of
np.sum, np.mean, np.prod, np.max/np.min (with ``initial=``), np.var, np.std and their nan forms.

numpy sums a masked array with its own loop (pairwise within each run of selected elements,
runs in sequence), which rounds differently from summing the array with zeros in the holes.
So the sum is one linear entry, ``sum_where``, whose value is numpy's own masked sum (bit for bit)
and whose rules are the masked sum of the tangents and the cotangent broadcast into the mask.
The others are composites built on it as numpy builds them (mean = masked sum / count, var from
the masked mean), so their values are numpy's too. A product or an extremum is exact whatever
the holes hold, so prod fills them with 1 and max/min with ∓inf. Every element outside the
mask gets derivative 0: before any arithmetic it is replaced by a constant with ``where`` (the
"double where"), so an inf or nan there cannot reach a derivative through 0 · inf.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

import numpy as np

from ..primitives import Primitive, bind1, concrete, is_traced, shape_of, stop_gradient
from .assembly import where as _select
from .reductions import Axis, _expand, _tangent_axes, max as _max, min as _min, nanmax as _nanmax
from .reductions import nanmin as _nanmin, prod as _prod, std_from_variance
from .shape import broadcast_to, sum as _sum
from .table import Value, float_dtype, norm_axes, register
from .ufuncs import divide, multiply, subtract

__all__ = ["mask_for", "sum_where", "mean_where", "var_where", "std_where", "prod_where",
           "extremum_where"]


def mask_for(x: Value, where: Any, name: str) -> np.ndarray:
    """``where`` as a boolean array of x's shape (a read-only broadcast view), checked as numpy does.

    A traced mask is refused: a selection has no derivative, and a mask computed from traced
    values (``x > 0``) is already plain (under dd.compile, a recorded boolean value, kept as
    such so that each call computes its own).
    """
    plain = stop_gradient(where) if is_traced(where) else where
    if is_traced(where) and not is_traced(plain):  # (a Dual or Var: it carries a derivative)
        raise TypeError(f"numpy.{name}: where= must be a plain boolean array, not a traced value "
                        f"(a selection has no derivative); build it from the values, e.g. "
                        f"where=(x > 0) or where=~np.isnan(x)")
    kind = np.result_type(concrete(plain)).kind if is_traced(plain) else None
    if (isinstance(where, np.ndarray) and where.dtype != bool) or kind not in (None, "b"):
        raise TypeError(f"numpy.{name}: where= must be a boolean array, not one of dtype "
                        f"{np.result_type(concrete(plain))} (numpy refuses it too); use "
                        f"where=(w != 0)")
    shape = shape_of(x)
    if kind == "b":  # under dd.compile, a mask from the values (x > 0) is a recorded value
        return np.broadcast_to(plain, shape)
    mask = np.asarray(where, dtype=bool)
    try:
        return np.broadcast_to(mask, shape)
    except ValueError:
        raise ValueError(f"numpy.{name}: where= of shape {mask.shape} does not broadcast to the "
                         f"shape {shape} of the array reduced") from None


def _count(mask: np.ndarray, axes: Optional[tuple], keepdims: bool, dtype: np.dtype) -> np.ndarray:
    """How many elements the mask selects in each reduced slice, in x's floating dtype."""
    # (np.sum of booleans counts in the default integer without a dtype=: under dd.compile the
    # mask of the nan forms is a recorded value, on which an integer dtype= is refused)
    return np.sum(mask, axis=axes, keepdims=keepdims).astype(dtype)


def _hole_free(x: Value, mask: np.ndarray, fill: float, nans: bool = False) -> Value:
    """x with the elements outside the mask (and its nans, if ``nans``) replaced by ``fill``."""
    if nans:
        mask = mask & ~np.isnan(stop_gradient(x))
    return x if mask.all() else _select(mask, x, fill)


# -- sum_where: linear; numpy's masked sum as the value -----------------------------------------

def _sum_where_impl(x, mask, axis, keepdims, initial):
    extra = {} if initial is None else {"initial": initial}
    return np.add.reduce(x, axis=axis, keepdims=keepdims, where=mask, **extra)


def _sum_where_jvp(primals, tangents, out, params, chunked):
    # (the tangents' sum need not round as numpy's masked loop does: zeros in the holes, then sum)
    t, mask = tangents[0], params["mask"]
    axes = _tangent_axes(params["axis"], len(mask.shape), chunked)
    zero = np.zeros((), dtype=float_dtype(t))
    return _sum(_select(mask, t, zero), axes, params["keepdims"])


def _sum_where_vjp(ct, primals, out, params, shapes, wants):
    mask = params["mask"]
    spread = broadcast_to(_expand(ct, shapes[0], params["axis"], params["keepdims"]), shapes[0])
    return (_select(mask, spread, np.zeros((), dtype=float_dtype(ct))),)


SUM_WHERE = register(Primitive(
    "sum_where", _sum_where_impl, _sum_where_jvp, _sum_where_vjp, needs="none", kind="linear",
    complex="holomorphic",
    doc="np.sum(x, where=mask): numpy's masked sum as the value (bit for bit); derivative 1 "
        "inside the mask, 0 outside (an initial= only shifts the value)"))


def sum_where(x: Value, where: Any, axis: Axis = None, keepdims: bool = False,
              initial: Any = None) -> Value:
    """The sum over ``axis`` of the elements where the boolean ``where`` is true, as
    np.sum(x, axis, where=where, initial=initial); shape that of np.sum. Derivative 1 for the
    elements selected, 0 for the others.

    >>> import dualdiff as dd, numpy as np
    >>> from dualdiff.rules.masked_reductions import sum_where
    >>> dd.grad(lambda x: sum_where(x, [True, False, True]), np.array([1.0, 2.0, 3.0]))
    array([1., 0., 1.])
    """
    mask = mask_for(x, where, "sum")
    if is_traced(initial):
        raise TypeError("numpy.sum: initial= must be a plain number (it is a constant); add a "
                        "traced value to the sum instead")
    axes = norm_axes(axis, len(mask.shape))
    return bind1(SUM_WHERE, x, {"mask": mask, "axis": axes, "keepdims": bool(keepdims),
                                "initial": initial})


# -- composites: mean, var, std, prod, max/min ---------------------------------------------------

def mean_where(x: Value, where: Any, axis: Axis = None, keepdims: bool = False,
               ignore_nan: bool = False) -> Value:
    """The mean over ``axis`` of the elements where ``where`` is true (and not nan, with
    ``ignore_nan``), as np.mean(x, axis, where=where) / np.nanmean; nan for an empty slice.

    >>> import numpy as np
    >>> from dualdiff.rules.masked_reductions import mean_where
    >>> float(mean_where(np.array([1.0, 9.0, 3.0]), [True, False, True]))
    2.0
    """
    name = "nanmean" if ignore_nan else "mean"
    mask = mask_for(x, where, name)
    axes = norm_axes(axis, len(mask.shape))
    if ignore_nan:  # numpy's nanmean: the nans zeroed, then counted out
        nan = np.isnan(stop_gradient(x))
        x, counted = _hole_free(x, ~nan, 0.0), mask & ~nan
    else:
        counted = mask
    count = _count(counted, axes, keepdims, float_dtype(x))
    if not np.all(count):
        warnings.warn("Mean of empty slice.", RuntimeWarning, stacklevel=3)
    # (no hole filled: sum_where gives the holes a zero derivative without multiplying by them)
    return _per_element(sum_where(x, mask, axes, keepdims), count)


def _per_element(total: Value, n: np.ndarray) -> Value:
    """total / n, and where n <= 0 (an empty slice, or no degrees of freedom left) numpy's
    total / max(n, 0) (nan, or inf) as a constant: dividing the derivative by 0 there would
    send 0 · inf = nan into the other slices' reverse-mode derivatives as well."""
    good = n > 0
    if good.all():
        return divide(total, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = stop_gradient(total) / np.maximum(n, 0)
    return _select(np.broadcast_to(good, shape_of(total)), divide(total, np.where(good, n, 1)),
                   value)


def var_where(x: Value, where: Any, axis: Axis = None, ddof: float = 0, keepdims: bool = False,
              ignore_nan: bool = False) -> Value:
    """The variance over ``axis`` of the elements where ``where`` is true (and not nan, with
    ``ignore_nan``): the masked sum of (x - m)² over (N - ddof), m and N those of the selected
    elements, as np.var(x, axis, ddof=ddof, where=where) / np.nanvar.

    >>> import numpy as np
    >>> from dualdiff.rules.masked_reductions import var_where
    >>> float(var_where(np.array([1.0, 9.0, 3.0]), [True, False, True]))
    1.0
    """
    name = "nanvar" if ignore_nan else "var"
    mask = mask_for(x, where, name)
    if np.iscomplexobj(stop_gradient(x)):
        raise TypeError(f"numpy.{name} of complex values is not supported by dualdiff yet: take "
                        f"the variances of the real and imaginary parts and add them")
    axes = norm_axes(axis, len(mask.shape))
    dtype = float_dtype(x)
    kept = mask & ~np.isnan(stop_gradient(x)) if ignore_nan else mask
    # The holes (and nans) become 0 before any arithmetic: (x - m)² at a hole gets a zero
    # cotangent, and 0 · (x - m) must not be 0 · inf there.
    x = _hole_free(x, kept, 0.0)
    centred = subtract(x, divide(sum_where(x, mask, axes, keepdims=True),
                                 _count(kept, axes, True, dtype)))
    if ignore_nan:  # numpy's nanvar zeroes the nans' deviations, which its masked sum then adds
        centred = _hole_free(centred, kept, 0.0)
    dof = _count(kept, axes, keepdims, dtype) - dtype.type(ddof)
    if np.any(dof <= 0):
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
    total = sum_where(multiply(centred, centred), mask, axes, keepdims)
    if ignore_nan:  # numpy's nanvar: nan where the degrees of freedom are <= 0
        dof = np.where(dof > 0, dof, np.nan)
    return _per_element(total, dof)


def std_where(x: Value, where: Any, axis: Axis = None, ddof: float = 0, keepdims: bool = False,
              ignore_nan: bool = False) -> Value:
    """sqrt of :func:`var_where`: the standard deviation of the selected elements, as
    np.std(x, axis, ddof=ddof, where=where) / np.nanstd.

    >>> import numpy as np
    >>> from dualdiff.rules.masked_reductions import std_where
    >>> float(std_where(np.array([1.0, 9.0, 3.0]), [True, False, True]))
    1.0
    """
    mask = mask_for(x, where, "nanstd" if ignore_nan else "std")
    kept = mask & ~np.isnan(stop_gradient(x)) if ignore_nan else mask
    counts = _count(kept, norm_axes(axis, len(mask.shape)), keepdims, float_dtype(x))
    return std_from_variance(var_where(x, where, axis, ddof, keepdims, ignore_nan),
                             (counts == 1) & (ddof < 1))


def prod_where(x: Value, where: Any, axis: Axis = None, keepdims: bool = False,
               ignore_nan: bool = False, initial: Any = None) -> Value:
    """The product over ``axis`` of the elements where ``where`` is true (nans counted as 1,
    with ``ignore_nan``), times ``initial`` if given, as np.prod(x, axis, where=where,
    initial=initial) / np.nanprod: the others replaced by 1, which changes no bit of the
    product; exact with zeros, derivative 0 outside the mask.

    >>> import dualdiff as dd, numpy as np
    >>> from dualdiff.rules.masked_reductions import prod_where
    >>> dd.grad(lambda x: prod_where(x, [True, False, True]), np.array([2.0, 5.0, 3.0]))
    array([3., 0., 2.])
    """
    mask = mask_for(x, where, "nanprod" if ignore_nan else "prod")
    x = _hole_free(x, mask, 1.0, nans=ignore_nan)
    if initial is None:
        return _prod(x, axis, keepdims)
    shape = shape_of(x)
    axes = norm_axes(axis, len(shape))
    axes = tuple(range(len(shape))) if axes is None else tuple(axes)
    if is_traced(initial) or any(shape[a] == 0 for a in axes):
        return multiply(_prod(x, axis, keepdims), initial)
    # numpy starts the product from initial, (c·x₀)·x₁···, in x's dtype: the same numbers come
    # from x₀ scaled by c first (times 1 elsewhere, exact), in x's memory layout so that the
    # product visits them in numpy's order
    scale = np.ones_like(concrete(x), dtype=float_dtype(x))
    scale[tuple(slice(0, 1) if a in axes else slice(None) for a in range(len(shape)))] = initial
    return _prod(multiply(x, scale), axis, keepdims)


_EXTREMA: "dict[str, tuple[Callable[..., Any], float, str]]" = {
    "max": (_max, -np.inf, "maximum"), "min": (_min, np.inf, "minimum"),
    "nanmax": (_nanmax, -np.inf, "fmax"), "nanmin": (_nanmin, np.inf, "fmin"),
}


def extremum_where(name: str, x: Value, where: Any, axis: Axis = None, keepdims: bool = False,
                   initial: Any = None) -> Value:
    """The largest (``name`` "max", "nanmax") or smallest ("min", "nanmin") element over ``axis``
    among those where ``where`` is true, or ``initial`` if larger (smaller), as
    np.max(x, axis, initial=initial, where=where): numpy requires ``initial``. The others are
    replaced by ∓inf; ties share the derivative as in :func:`~dualdiff.max`.

    >>> import dualdiff as dd, numpy as np
    >>> from dualdiff.rules.masked_reductions import extremum_where
    >>> dd.grad(lambda x: extremum_where("max", x, [True, False, True], initial=0.0),
    ...         np.array([2.0, 5.0, 3.0]))
    array([0., 0., 1.])
    """
    reduce, fill, ufunc = _EXTREMA[name]
    mask = mask_for(x, where, name)
    if initial is None:
        raise ValueError(f"numpy.{name}: reduction operation '{ufunc}' does not have an identity, "
                         f"so to use a where mask one has to specify 'initial' (as numpy says)")
    return reduce(_hole_free(x, mask, fill), axis, keepdims, initial)


def nansum_where(x: Value, where: Any, axis: Axis = None, keepdims: bool = False,
                 initial: Any = None) -> Value:
    """The sum over ``axis`` of the elements where ``where`` is true, nans counted as 0, as
    np.nansum(x, axis, where=where, initial=initial); a nan gets derivative 0.

    >>> import dualdiff as dd, numpy as np
    >>> from dualdiff.rules.masked_reductions import nansum_where
    >>> dd.grad(lambda x: nansum_where(x, [True, True, False]), np.array([1.0, np.nan, 3.0]))
    array([1., 0., 0.])
    """
    mask_for(x, where, "nansum")
    nan = np.isnan(stop_gradient(x))
    return sum_where(_hole_free(x, ~nan, 0.0), where, axis, keepdims, initial)
