"""Polynomials and their coefficient sequences: polyval, convolve (the polynomial product), correlate,
polyder, polyint, polyadd, polysub, polymul, vander and polyfit.

All are composites: numpy's definitions written with dualdiff's functions (a gather of sliding
windows and a matrix-vector product for the convolutions, Horner's scheme for polyval, repeated
products for vander, the scaled least-squares system for polyfit), so they are differentiable
in every argument, to every order, with no rule of their own.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..primitives import is_traced, shape_of, stop_gradient
from .shape import astype, reshape, sum, transpose
from .assembly import concatenate, stack
from .complex_parts import conj
from .indexing import flip, getitem
from .ufuncs import add, divide, multiply, sqrt, subtract
from .linalg import inv, matmul
from .decompositions import lstsq
from .table import Value, float_dtype

_MODES = ("full", "same", "valid")


def _read(x: Any) -> Value:
    """x as np.asarray reads it: a list or tuple holding traced numbers stacked, plain values as arrays."""
    if isinstance(x, (list, tuple)) and any(is_traced(e) for e in x):
        return stack(list(x))
    return x if is_traced(x) else np.asarray(x)


def _sequence(x: Value, name: str, which: str) -> Value:
    """x as a 1-d value: a list holding traced numbers is stacked, as np.asarray would read it."""
    x = _read(x)
    if not is_traced(x) and x.dtype.kind in "biu":
        x = x.astype(np.float64)  # numpy computes integer sequences in float64 when mixed
    if len(shape_of(x)) != 1:
        raise ValueError(f"{name}: {which} must be 1-d, not of shape {shape_of(x)}")
    if shape_of(x)[0] == 0:
        raise ValueError(f"{name}: {which} cannot be empty")
    return x


def convolve(a: Value, v: Value, mode: str = "full") -> Value:
    """The discrete convolution of two 1-d sequences, as np.convolve (the product of polynomials).

    ``a`` of length n and ``v`` of length m give n + m - 1 values (``mode="full"``), max(n, m)
    centred ones (``"same"``) or max(n, m) - min(n, m) + 1 (``"valid"``):
    ``out[k] = sum_j a[j] v[k - j]``. Linear in each argument.

    >>> import dualdiff as dd, numpy as np
    >>> dd.convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> dd.jacobian(lambda a: dd.convolve(a, np.array([1.0, -1.0])), np.array([1.0, 2.0]))
    array([[ 1.,  0.],
           [-1.,  1.],
           [ 0., -1.]])
    """
    if mode not in _MODES:
        raise ValueError(f"convolve: mode must be one of {_MODES}, not {mode!r}")
    a, v = _sequence(a, "convolve", "a"), _sequence(v, "convolve", "v")
    n, m = shape_of(a)[0], shape_of(v)[0]
    if m > n:  # convolution commutes; numpy slides the shorter one too
        a, v, n, m = v, a, m, n
    if mode == "full":
        start, stop = 0, n + m - 1
    elif mode == "same":
        start, stop = (m - 1) // 2, (m - 1) // 2 + n
    else:
        start, stop = m - 1, n
    if m > 1:
        zeros = np.zeros(m - 1, dtype=np.result_type(stop_gradient(a).dtype, stop_gradient(v).dtype))
        a = concatenate([zeros, a, zeros])
    # row k of the windows holds the m values of a that meet v's reversed coefficients at k
    windows = getitem(a, np.arange(start, stop)[:, None] + np.arange(m)[None, :])
    return matmul(windows, flip(v, 0))


def correlate(a: Value, v: Value, mode: str = "valid") -> Value:
    """The cross-correlation of two 1-d sequences, as np.correlate: ``out[k] = sum_n a[n + k] conj(v[n])``.

    Lengths as in `convolve` (``mode="valid"`` by default, as numpy); it is the convolution of
    ``a`` with ``v`` reversed (and conjugated).

    >>> import dualdiff as dd, numpy as np
    >>> dd.correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([3.5])
    """
    if mode not in _MODES:
        raise ValueError(f"correlate: mode must be one of {_MODES}, not {mode!r}")
    v = _sequence(v, "correlate", "v")
    return convolve(_sequence(a, "correlate", "a"), flip(conj(v), 0), mode)


def polyval(p: Value, x: Value) -> Value:
    """The polynomial with coefficients ``p`` (highest power first) at ``x``, as np.polyval.

    ``p`` of shape (d + 1,), ``x`` of any shape; the result has x's shape. Horner's scheme as
    numpy runs it, so the values are numpy's; differentiable in p and in x.

    >>> import dualdiff as dd, numpy as np
    >>> dd.polyval(np.array([1.0, 0.0, -2.0]), 3.0)   # x**2 - 2
    np.float64(7.0)
    >>> dd.derivative(lambda x: dd.polyval(np.array([1.0, 0.0, -2.0]), x), 3.0)
    np.float64(6.0)
    """
    p = _read(p)  # (as np.polyval reads it)
    if len(shape_of(p)) != 1:
        raise ValueError(f"polyval: p must be a 1-d sequence of coefficients, not of shape "
                         f"{shape_of(p)}")
    if not is_traced(x):
        x = np.asanyarray(x)
    y: Any = np.zeros_like(stop_gradient(x))  # numpy starts from zeros too (0 * inf is nan there)
    for i in range(shape_of(p)[0]):
        y = y * x + getitem(p, i)
    return y


def _coefficients(p: Value, name: str) -> Value:
    """p as a 1-d coefficient value (at least one coefficient), as np.atleast_1d would read it."""
    p = _read(p)
    if len(shape_of(p)) == 0:
        p = reshape(p, (1,))
    if len(shape_of(p)) != 1:
        raise ValueError(f"{name}: the coefficients must be 1-d, not of shape {shape_of(p)}")
    return p


def _int_order(m: Any, name: str, what: str) -> int:
    if is_traced(m) or int(m) != m:
        raise TypeError(f"{name}: {what} must be a plain integer, not {m!r}")
    if m < 0:
        raise ValueError(f"{name}: {what} must be >= 0, not {m}")
    return int(m)


def polyder(p: Value, m: int = 1) -> Value:
    """The m-th derivative of the polynomial ``p`` (highest power first), as np.polyder.

    ``p`` of length n + 1 gives n - m + 1 coefficients (none when m > n): each step multiplies
    p[:-1] by the powers n, n-1, ..., 1. Linear in p.

    >>> import dualdiff as dd, numpy as np
    >>> dd.polyder(np.array([1.0, 2.0, 3.0, 4.0]))   # x^3 + 2x^2 + 3x + 4 -> 3x^2 + 4x + 3
    array([3., 4., 3.])
    """
    m = _int_order(m, "polyder", "the order m")
    p = _coefficients(p, "polyder")
    for _ in range(m):
        n = shape_of(p)[0] - 1
        p = multiply(getitem(p, slice(None, -1)), np.arange(n, 0, -1).astype(float_dtype(p)))
    return p


def polyint(p: Value, m: int = 1, k: Any = None) -> Value:
    """The m-th antiderivative of the polynomial ``p``, as np.polyint, with constants ``k``.

    Each step divides p by the powers n+1, ..., 1 and appends the next constant of ``k`` (zeros
    by default; a scalar k serves every step). Linear in p and k.

    >>> import dualdiff as dd, numpy as np
    >>> dd.polyint(np.array([3.0, 2.0, 1.0]), k=5.0)   # 3x^2 + 2x + 1 -> x^3 + x^2 + x + 5
    array([1., 1., 1., 5.])
    """
    m = _int_order(m, "polyint", "the order m")
    p = _coefficients(p, "polyint")
    if k is None:
        k = np.zeros(m)
    k = _coefficients(k, "polyint")
    if shape_of(k)[0] == 1 and m > 1:
        k = multiply(getitem(k, 0), np.ones(m))
    if shape_of(k)[0] < m:
        raise ValueError("polyint: k must be a scalar or a 1-d sequence of length 1 or >= m")
    for i in range(m):
        n = shape_of(p)[0]
        p = concatenate([divide(p, np.arange(n, 0, -1).astype(float_dtype(p))),
                         reshape(getitem(k, i), (1,))])
    return p


def _padded_pair(a1: Value, a2: Value, name: str) -> "tuple[Value, Value]":
    """a1 and a2 with zeros in front of the shorter, so their powers line up."""
    a1, a2 = _coefficients(a1, name), _coefficients(a2, name)
    diff = shape_of(a2)[0] - shape_of(a1)[0]
    if diff > 0:
        a1 = concatenate([np.zeros(diff, float_dtype(a1)), a1])
    elif diff < 0:
        a2 = concatenate([np.zeros(-diff, float_dtype(a2)), a2])
    return a1, a2


def polyadd(a1: Value, a2: Value) -> Value:
    """The sum of two polynomials (highest power first), as np.polyadd.

    >>> import dualdiff as dd, numpy as np
    >>> dd.polyadd(np.array([1.0, 2.0]), np.array([1.0, 0.0, 1.0]))   # (x + 2) + (x^2 + 1)
    array([1., 1., 3.])
    """
    a1, a2 = _padded_pair(a1, a2, "polyadd")
    return add(a1, a2)


def polysub(a1: Value, a2: Value) -> Value:
    """The difference of two polynomials (highest power first), as np.polysub.

    >>> import dualdiff as dd, numpy as np
    >>> dd.polysub(np.array([1.0, 2.0]), np.array([1.0, 0.0, 1.0]))
    array([-1.,  1.,  1.])
    """
    a1, a2 = _padded_pair(a1, a2, "polysub")
    return subtract(a1, a2)


def _trim_leading_zeros(p: Value) -> Value:
    """p without its leading zero coefficients (keeping one), as np.poly1d stores it."""
    nonzero = np.flatnonzero(stop_gradient(p) != 0)
    start = int(nonzero[0]) if nonzero.size else shape_of(p)[0] - 1
    return getitem(p, slice(start, None)) if start else p


def polymul(a1: Value, a2: Value) -> Value:
    """The product of two polynomials, as np.polymul: leading zeros dropped, then convolved.

    >>> import dualdiff as dd, numpy as np
    >>> dd.polymul(np.array([1.0, 1.0]), np.array([1.0, -1.0]))   # (x + 1)(x - 1)
    array([ 1.,  0., -1.])
    """
    return convolve(_trim_leading_zeros(_coefficients(a1, "polymul")),
                    _trim_leading_zeros(_coefficients(a2, "polymul")))


def vander(x: Value, N: Optional[int] = None, increasing: bool = False) -> Value:
    """The Vandermonde matrix of the 1-d ``x``, as np.vander: (len(x), N), powers of x by column.

    Column j is x**(N-1-j) (x**j when ``increasing``), built by repeated multiplication as numpy
    builds it, so the values are numpy's and x**0 = 1 has derivative 0 even at x = 0. The dtype
    is numpy's too: x's promoted with int (float32 gives float64).

    >>> import dualdiff as dd, numpy as np
    >>> dd.vander(np.array([2.0, 3.0]), 3)
    array([[4., 2., 1.],
           [9., 3., 1.]])
    """
    x = _read(x)
    if len(shape_of(x)) != 1:
        raise ValueError("vander: x must be a one-dimensional array or sequence")
    n = shape_of(x)[0]
    N = n if N is None else _int_order(N, "vander", "N")
    dtype = np.promote_types(np.result_type(stop_gradient(x)), int)  # numpy's: float32 -> float64
    if np.result_type(stop_gradient(x)) != dtype:
        x = astype(x, dtype) if is_traced(x) else x.astype(dtype)
    if N == 0:
        return np.empty((n, 0), dtype)
    columns = [np.ones(n, dtype)]
    if N > 1:
        columns.append(x)
    for _ in range(N - 2):
        columns.append(multiply(columns[-1], x))
    return stack(columns if increasing else columns[::-1], axis=1)


def polyfit(x: Value, y: Value, deg: int, rcond: Optional[float] = None, full: bool = False,
            w: Any = None, cov: Any = False) -> Any:
    """The least-squares polynomial of degree ``deg`` through (x, y), as np.polyfit.

    ``x`` (n,), ``y`` (n,) or (n, k); the coefficients (deg + 1,) or (deg + 1, k), highest power
    first, differentiable in x, y and the weights ``w``. numpy's scaled Vandermonde system is
    solved with :func:`dualdiff.linalg.lstsq`, so (x, y) must determine the fit (full rank) when
    traced. ``full=True`` adds (residuals, rank, singular values, rcond) and ``cov=True`` (or
    ``"unscaled"``) the covariance of the coefficients, as numpy does.

    >>> import dualdiff as dd, numpy as np
    >>> np.round(dd.polyfit(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0]), 1), 12)
    array([2., 1.])
    """
    order = _int_order(deg, "polyfit", "deg") + 1
    x = x if is_traced(x) else np.asarray(x) + 0.0  # as numpy reads them (integers as floats)
    y = y if is_traced(y) else np.asarray(y) + 0.0
    sx, sy = shape_of(x), shape_of(y)
    if len(sx) != 1 or sx[0] == 0:
        raise TypeError(f"polyfit: x must be a non-empty 1-d vector, not of shape {sx}")
    if len(sy) not in (1, 2) or sy[0] != sx[0]:
        raise TypeError(f"polyfit: y must be 1-d or 2-d with x's length {sx[0]}, not of shape {sy}")
    if rcond is None:
        rcond = sx[0] * np.finfo(float_dtype(x)).eps
    lhs, rhs = vander(x, order), y
    if w is not None:
        if not is_traced(w):
            w = np.asarray(w) + 0.0
        if shape_of(w) != (sx[0],):
            raise TypeError(f"polyfit: w must be 1-d with x's length {sx[0]}, not of shape "
                            f"{shape_of(w)}")
        lhs = multiply(lhs, reshape(w, (-1, 1)))
        rhs = multiply(rhs, reshape(w, (-1, 1)) if len(sy) == 2 else w)
    scale = sqrt(sum(multiply(lhs, lhs), axis=0))
    c, resids, rank, s = lstsq(divide(lhs, scale), rhs, rcond)
    c = divide(c, reshape(scale, (-1, 1)) if len(sy) == 2 else scale)
    if full:
        return c, resids, rank, s, rcond
    if not cov:
        return c
    if sx[0] <= order:
        raise ValueError("polyfit: the number of data points must exceed order to scale the "
                         "covariance matrix")
    unscaled = inv(matmul(transpose(divide(lhs, scale)), divide(lhs, scale)))
    vbase = divide(unscaled, multiply(reshape(scale, (-1, 1)), scale))
    fac = 1.0 if cov == "unscaled" else divide(resids, sx[0] - order)
    if len(sy) == 1:
        return c, multiply(vbase, fac)
    return c, multiply(reshape(vbase, (order, order, 1)), fac)
