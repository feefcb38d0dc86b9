"""Weighted counts: bincount, histogram, histogram2d and histogramdd with traced ``weights``.

A histogram is linear in its weights: each weight is added into the bin its (plain) sample
falls in, a scatter-add (index_add, whose transpose gathers the cotangent back). The bins are
found from the plain sample positions, which carry no derivative: the counts are piecewise
constant in them, so a traced sample is refused with what to write instead. Each composite
repeats numpy's own arithmetic (its blocks, its cumulative sums, its order of division), so the
values are numpy's bit for bit. No derivative rule is written here.
"""

from __future__ import annotations

import operator
from typing import Any, Optional, Tuple

import numpy as np

from ..primitives import bind, is_traced, shape_of, stop_gradient
from .assembly import concatenate
from .cumulative import cumsum
from .indexing import INDEX_ADD, getitem, take
from .reductions import diff
from .shape import astype, reshape, sum
from .table import Value
from .ufuncs import add, divide

__all__ = ["bincount", "histogram", "histogram2d", "histogramdd"]

_POSITIONS = ("the counts are piecewise constant in the sample positions (their derivative is "
              "zero almost everywhere, undefined at the bin edges), so none is carried: pass "
              "the traced values as weights=, or use dd.stop_gradient(x) for the plain counts")

# numpy's histogram works through its sample in blocks of this many elements (its BLOCK), and
# adds the blocks' sums: the same blocks give the same roundings.
_BLOCK = 65536


def _refuse_traced(name: str, **arguments: Any) -> None:
    for what, value in arguments.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        traced = [v for v in values if is_traced(v)]
        if any(_carries(v) for v in traced):
            raise TypeError(f"{name} of a traced {what}: {_POSITIONS}")
        if traced:  # a plain sample (np.argmax(x), dd.stop_gradient(x)) recorded by dd.compile
            raise TypeError(f"{name}: its {what} computed from the values cannot be compiled by "
                            f"dd.compile (the recording would bake its bins in); call the "
                            f"function without dd.compile")


def _carries(v: Any) -> bool:
    """Whether v carries a derivative (a Dual or Var), not only dd.compile's recording."""
    return stop_gradient(v) is not v


def _weights(name: str, weights: Value, n: int, shape: Tuple[int, ...]) -> Value:
    if shape_of(weights) != shape:
        raise ValueError(f"{name}: weights must have the shape of the sample, {shape} "
                         f"(got {shape_of(weights)})")
    return reshape(weights, (n,))


def _scatter(weights: Value, positions: np.ndarray, length: int) -> Value:
    """Zeros of shape (length,) with weights[i] added at positions[i], in order: np.bincount's sums."""
    return bind(INDEX_ADD, weights, idx=(positions,), shape=(length,))


def _float64_weights(name: str, weights: Value) -> Value:
    # np.bincount adds its weights as float64 (and refuses complex ones)
    dtype = np.result_type(stop_gradient(weights))
    if dtype.kind == "c":
        raise TypeError(f"{name}: weights must be real (numpy adds them as float64); "
                        f"count the real and imaginary parts separately")
    return astype(weights, np.float64)


def bincount(x: Any, weights: Optional[Value] = None, minlength: int = 0) -> Value:
    """The sum of weights[i] over the i with x[i] == j, for j = 0 .. max(x) (at least
    ``minlength`` of them), as np.bincount: shape (max(max(x) + 1, minlength),), float64.

    x is a plain 1-d array of non-negative integers; the result is linear in the weights, so
    each weight's derivative goes to its bin (repeated positions add up). Without weights the
    counts are plain integers.

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(lambda w: dd.bincount([0, 2, 2], w)[2], np.array([1.0, 2.0, 3.0]))
    array([0., 1., 1.])
    """
    _refuse_traced("bincount", x=x)
    positions = np.asarray(x)
    if positions.ndim != 1:
        raise ValueError(f"bincount: x must be a 1-d array of non-negative integers, "
                         f"not {positions.ndim}-d")
    if positions.size and positions.dtype.kind not in "iub":
        raise TypeError(f"bincount: x must hold integers, not {positions.dtype}")
    if minlength is None:  # (numpy 2 refuses it too)
        raise TypeError("bincount: use 0 instead of None for minlength")
    try:
        minlength = operator.index(minlength)
    except TypeError:
        raise TypeError(f"bincount: minlength must be an integer, not "
                        f"{type(minlength).__name__}") from None
    if minlength < 0:
        raise ValueError("bincount: minlength must not be negative")
    if positions.size and positions.min() < 0:
        raise ValueError("bincount: x must have no negative elements")
    positions = positions.astype(np.intp)
    if weights is None or not is_traced(weights):
        return np.bincount(positions, None if weights is None else np.asarray(weights), minlength)
    if len(shape_of(weights)) != 1 or shape_of(weights)[0] != positions.size:
        raise ValueError(f"bincount: weights must be 1-d with the length of x, {positions.size} "
                         f"(got shape {shape_of(weights)})")
    length = max(int(positions.max()) + 1 if positions.size else 0, minlength)
    return _scatter(_float64_weights("bincount", weights), positions, length)


def _uniform_bins(bins: Any) -> bool:
    """Whether numpy's histogram takes its equal-width path: bins a count or an estimator's name."""
    return isinstance(bins, str) or np.ndim(bins) == 0


def _bin_of(sample: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each sample among equal-width edges: edges[i] <= s < edges[i + 1], the last
    bin closed, -1 outside. As numpy finds it: by arithmetic, then moved one bin to agree with
    the edges where rounding put it next door (a search of the edges costs more)."""
    n = len(edges) - 1
    inside = (sample >= edges[0]) & (sample <= edges[-1])
    at = np.where(inside, sample, edges[0])
    with np.errstate(over="ignore", invalid="ignore"):
        index = ((at - edges[0]) / (edges[-1] - edges[0]) * n).astype(np.intp)
    np.clip(index, 0, n - 1, out=index)
    index -= at < edges[index]
    index += (at >= edges[index + 1]) & (index != n - 1)
    index[~inside] = -1
    return index


def histogram(a: Any, bins: Any = 10, range: Any = None, density: Optional[bool] = None,
              weights: Optional[Value] = None) -> Tuple[Value, np.ndarray]:
    """(hist, bin_edges) of the plain sample ``a`` with traced ``weights``, as np.histogram:
    hist[i] is the sum of the weights of the samples in bin i (shape (nbins,)), divided by
    the bin width and the total with ``density=True``; bin_edges plain, from the plain data.

    hist is linear in the weights (with density, the normalisation is differentiated too).

    >>> import dualdiff as dd, numpy as np
    >>> a = np.array([0.1, 0.4, 0.45, 0.9])
    >>> dd.jacobian(lambda w: dd.histogram(a, bins=2, range=(0, 1), weights=w)[0], np.ones(4))
    array([[1., 1., 1., 0.],
           [0., 0., 0., 1.]])
    """
    _refuse_traced("histogram", a=a, bins=bins, range=range)
    if weights is None or not is_traced(weights):
        return np.histogram(a, bins, range, density, weights)
    sample = np.asarray(a)
    if sample.dtype == np.bool_:  # numpy counts booleans as 0 and 1
        sample = sample.astype(np.uint8)
    w = _weights("histogram", weights, sample.size, sample.shape)
    sample = sample.ravel()
    # numpy's edges, and its checks of bins and range (an estimator's name refuses weights)
    edges = np.histogram_bin_edges(sample, bins, range, weights=np.zeros(sample.size))
    ntype = np.result_type(stop_gradient(w))
    # (numpy takes its equal-width path only for weights it can add as float64 or complex128:
    # longdouble ones go the way of given edges)
    if _uniform_bins(bins) and (np.can_cast(ntype, np.double) or np.can_cast(ntype, complex)):
        hist = _uniform_histogram(sample, w, edges, ntype, np.histogram(sample, bins, range)[0])
    else:
        hist = _cumulative_histogram(sample, w, edges, ntype)
    if density:
        return divide(divide(hist, np.array(np.diff(edges), float)), sum(hist)), edges
    return hist, edges


def _uniform_histogram(sample: np.ndarray, w: Value, edges: np.ndarray, ntype: np.dtype,
                       counts: np.ndarray) -> Value:
    """numpy's equal-width path: per block, np.bincount of the weights (as float64) by bin, cast
    to the weights' dtype and added up. ``counts`` are numpy's unweighted counts."""
    n = len(edges) - 1
    # numpy finds these bins by arithmetic, corrected to the edges; a sample it put elsewhere
    # (which its correction of one bin either way rules out) must not get another's weight
    every = _bin_of(sample, edges)
    if not np.array_equal(np.bincount(every[every >= 0], minlength=n), counts):
        raise ValueError("histogram: numpy's bins for this sample disagree with its edges; "
                         "pass the edges as bins= (an array) to histogram with these weights")
    hist: Optional[Value] = None
    for start in np.arange(0, max(sample.size, 1), _BLOCK):
        stop = start + _BLOCK
        index = every[start:stop]
        keep = np.flatnonzero(index >= 0)
        part = getitem(w, slice(start, stop))
        widest = np.complex128 if ntype.kind == "c" else np.float64
        block = _scatter(astype(take(part, keep), widest), index[keep], n)
        if ntype.kind == "c":  # numpy adds the real and imaginary parts as float64, then casts
            hist = astype(block if hist is None else add(astype(hist, widest), block), ntype)
        else:
            block = astype(block, ntype)
            hist = block if hist is None else add(hist, block)
    return hist


def _cumulative_histogram(sample: np.ndarray, w: Value, edges: np.ndarray, ntype: np.dtype) -> Value:
    """numpy's path for given edges: per block, the cumulative sum of the weights in sample
    order, read at the edges' insertion points, added up over the blocks and differenced."""
    # zeros of the weights' dtype that depend on them (as numpy's cum_n = zeros: 0 + x is x)
    cumulative = _scatter(getitem(w, slice(0, 0)), np.zeros(0, np.intp), len(edges))
    for start in np.arange(0, sample.size, _BLOCK):
        block = sample[start:start + _BLOCK]
        order = np.argsort(block)  # numpy's own (unstable) sort of the block: the same order
        ordered = block[order]
        part = take(getitem(w, slice(start, start + _BLOCK)), order)
        running = concatenate([np.zeros(1, ntype), cumsum(part)])
        at = np.concatenate((ordered.searchsorted(edges[:-1], "left"),
                             ordered.searchsorted(edges[-1:], "right")))
        cumulative = add(cumulative, getitem(running, at))
    return diff(cumulative)


def histogramdd(sample: Any, bins: Any = 10, range: Any = None, density: Optional[bool] = None,
                weights: Optional[Value] = None) -> Tuple[Value, Any]:
    """(hist, edges) of the plain N×D sample with traced ``weights``, as np.histogramdd: hist
    has one axis per dimension (its bins), each entry the sum of the weights of the samples in
    that cell (divided by the cell volume and the total with ``density=True``), float64;
    edges plain, one array per dimension.

    >>> import dualdiff as dd, numpy as np
    >>> sample = np.array([[0.1, 0.1], [0.9, 0.2], [0.8, 0.7]])
    >>> dd.grad(lambda w: dd.histogramdd(sample, bins=2, weights=w)[0][1, 0], np.ones(3))
    array([0., 1., 0.])
    """
    _refuse_traced("histogramdd", sample=sample, bins=bins, range=range)
    if weights is None or not is_traced(weights):
        return np.histogramdd(sample, bins, range, density, weights)
    try:
        N, D = sample.shape
    except (AttributeError, ValueError):  # a sequence of 1-d arrays, one per dimension
        sample = np.atleast_2d(sample).T
        N, D = sample.shape
    sample = np.asarray(sample)
    if shape_of(weights) != (N,):
        raise ValueError(f"histogramdd: weights must have one entry per sample, shape ({N},) "
                         f"(got {shape_of(weights)})")
    _, edges = np.histogramdd(sample, bins, range)  # numpy's edges, and its checks of bins/range
    nbin = np.array([len(e) + 1 for e in edges], np.intp)  # an outlier bin at each end
    cell = []
    for i, e in enumerate(edges):
        position = np.searchsorted(e, sample[:, i], side="right")
        position[sample[:, i] == e[-1]] -= 1  # the last edge belongs to the last bin
        cell.append(position)
    flat = np.ravel_multi_index(tuple(cell), tuple(nbin))
    hist = reshape(_scatter(_float64_weights("histogramdd", weights), flat, int(nbin.prod())), tuple(nbin))
    hist = getitem(hist, (slice(1, -1),) * D)
    if density:
        total = sum(hist)
        for i, e in enumerate(edges):
            shape = np.ones(D, int)
            shape[i] = nbin[i] - 2
            hist = divide(hist, np.diff(e).reshape(shape))
        hist = divide(hist, total)
    return hist, list(edges)


def histogram2d(x: Any, y: Any, bins: Any = 10, range: Any = None, density: Optional[bool] = None,
                weights: Optional[Value] = None) -> Tuple[Value, np.ndarray, np.ndarray]:
    """(hist, xedges, yedges) of the plain samples x, y with traced ``weights``, as
    np.histogram2d: hist[i, j] the sum of the weights of the samples in cell (i, j), float64.

    >>> import dualdiff as dd, numpy as np
    >>> x, y = np.array([0.1, 0.9, 0.8]), np.array([0.1, 0.2, 0.7])
    >>> dd.grad(lambda w: dd.histogram2d(x, y, bins=2, weights=w)[0][1, 1], np.ones(3))
    array([0., 0., 1.])
    """
    _refuse_traced("histogram2d", x=x, y=y, bins=bins, range=range)
    if weights is None or not is_traced(weights):
        return np.histogram2d(x, y, bins, range, density, weights)
    try:
        N = len(bins)
    except TypeError:
        N = 1
    if N != 1 and N != 2:  # one array of edges for both dimensions
        bins = [np.asarray(bins), np.asarray(bins)]
    if len(x) != len(y):
        raise ValueError(f"histogram2d: x and y must have the same length (got {len(x)} and "
                         f"{len(y)})")
    hist, edges = histogramdd([np.asarray(x), np.asarray(y)], bins, range, density, weights)
    return hist, edges[0], edges[1]
