"""The nan-ignoring reductions beyond nansum/nanmean/nanmax/nanmin: nanvar, nanstd, nanprod,
nancumsum, nancumprod, nanquantile, nanpercentile, nanmedian.

Composites, as numpy defines them: each nan is replaced by the operation's neutral value (0 for
sums, 1 for products) with ``where`` before the reduction, so a nan element gets derivative 0
and no nan reaches a derivative through a product with it (a nan times a zero cotangent would
still be nan). The order statistics rank the nans last and leave them out of the count.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..primitives import is_traced, shape_of, stop_gradient
from .assembly import where
from .cumulative import cumprod, cumsum
from .reductions import Axis, order_statistic, prod, std_from_variance
from .shape import sum
from .table import Value, norm_axes
from .ufuncs import divide, multiply, sqrt, subtract


def _nan_mask(x: Value) -> np.ndarray:
    """Where x is nan: read from the values (under dd.compile, recorded)."""
    v = stop_gradient(x)
    return np.isnan(v if hasattr(v, "ndim") else np.asarray(v))


def nanvar(x: Value, axis: Axis = None, ddof: float = 0, keepdims: bool = False) -> Value:
    """The variance over ``axis`` of the elements that are not nan, as np.nanvar:
    sum((x - m)²) / (N - ddof), N and the mean m counting only those elements.

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(lambda x: dd.nanvar(x), np.array([1.0, np.nan, 3.0]))
    array([-1.,  0.,  1.])
    """
    nan = _nan_mask(x)
    if np.iscomplexobj(stop_gradient(x)):
        raise TypeError("nanvar/nanstd of complex values are not supported by dualdiff yet: take "
                        "those of the real and imaginary parts and add the variances")
    axes = norm_axes(axis, nan.ndim)
    dtype = np.result_type(stop_gradient(x), 1.0)
    count = np.sum(~nan, axis=axes, keepdims=True).astype(dtype)
    if nan.any():
        x = where(nan, 0.0, x)
    centred = subtract(x, divide(sum(x, axes, True), count))
    if nan.any():
        centred = where(nan, 0.0, centred)
    n = count if keepdims else np.squeeze(count, axis=axes)
    return divide(sum(multiply(centred, centred), axes, keepdims), n - dtype.type(ddof))


def nanstd(x: Value, axis: Axis = None, ddof: float = 0, keepdims: bool = False) -> Value:
    """sqrt(nanvar): the standard deviation of the elements that are not nan, as np.nanstd.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.nanstd(np.array([1.0, np.nan, 3.0])))
    1.0
    """
    counts = np.sum(~_nan_mask(x), axis=norm_axes(axis, len(shape_of(x))), keepdims=keepdims)
    v = nanvar(x, axis, ddof, keepdims)
    if is_traced(counts):
        # Under dd.compile the nans are read from each call's values; selecting the one-value
        # slices would make a scalar result a 0-d array (not eager's float), so there a slice
        # holding one value keeps sqrt's nan derivative.
        return sqrt(v)
    return std_from_variance(v, (counts == 1) & (ddof < 1))


def nanprod(x: Value, axis: Axis = None, keepdims: bool = False) -> Value:
    """The product over ``axis`` with nans counted as 1, as np.nanprod; a nan gets derivative 0.

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(dd.nanprod, np.array([2.0, np.nan, 3.0]))
    array([3., 0., 2.])
    """
    nan = _nan_mask(x)
    return prod(where(nan, 1.0, x) if nan.any() else x, axis, keepdims)


def nancumsum(x: Value, axis: Optional[int] = None) -> Value:
    """The running sum with nans counted as 0 (of the flattened x by default), as np.nancumsum.

    >>> import dualdiff as dd, numpy as np
    >>> dd.nancumsum(np.array([1.0, np.nan, 3.0]))
    array([1., 1., 4.])
    """
    nan = _nan_mask(x)
    return cumsum(where(nan, 0.0, x) if nan.any() else x, axis)


def nancumprod(x: Value, axis: Optional[int] = None) -> Value:
    """The running product with nans counted as 1 (of the flattened x by default), as
    np.nancumprod.

    >>> import dualdiff as dd, numpy as np
    >>> dd.nancumprod(np.array([2.0, np.nan, 3.0]))
    array([2., 2., 6.])
    """
    nan = _nan_mask(x)
    return cumprod(where(nan, 1.0, x) if nan.any() else x, axis)



def nanquantile(x: Value, q: Any, axis: Axis = None, keepdims: bool = False,
                method: str = "linear") -> Value:
    """The q-th quantile(s) over ``axis`` of the elements that are not nan, as np.nanquantile
    (linear interpolation); derivatives as :func:`~dualdiff.quantile`, 0 for the nans. An
    all-nan slice gives nan.

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(lambda x: dd.nanquantile(x, 0.5), np.array([4.0, np.nan, 1.0, 3.0]))
    array([0., 0., 0., 1.])
    """
    return order_statistic(x, q, axis, keepdims, method, ignore_nan=True)


def nanpercentile(x: Value, q: Any, axis: Axis = None, keepdims: bool = False,
                  method: str = "linear") -> Value:
    """The q-th percentile(s) (q in [0, 100]) ignoring nans, as np.nanpercentile.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.nanpercentile(np.array([1.0, np.nan, 3.0]), 50))
    2.0
    """
    if is_traced(q):
        raise TypeError("nanpercentile: q must be a plain number or array")
    return nanquantile(x, np.asarray(q, dtype=float) / 100.0, axis, keepdims, method)


def nanmedian(x: Value, axis: Axis = None, keepdims: bool = False) -> Value:
    """The median over ``axis`` of the elements that are not nan, as np.nanmedian.

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(dd.nanmedian, np.array([3.0, np.nan, 1.0, 4.0, 2.0]))
    array([0.5, 0. , 0. , 0. , 0.5])
    """
    return nanquantile(x, 0.5, axis, keepdims)
