"""Polynomials and their coefficient sequences: polyval, convolve (the polynomial product), correlate.

All three are composites: numpy's definitions written with dualdiff's functions (a gather of
sliding windows and a matrix-vector product for the convolutions, Horner's scheme for polyval),
so they are differentiable in every argument, to every order, with no rule of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import is_traced, shape_of, stop_gradient
from .assembly import concatenate, stack
from .complex_parts import conj
from .indexing import flip, getitem
from .linalg import matmul
from .table import Value

_MODES = ("full", "same", "valid")


def _sequence(x: Value, name: str, which: str) -> Value:
    """x as a 1-d value: a list holding traced numbers is stacked, as np.asarray would read it."""
    if isinstance(x, (list, tuple)) and any(is_traced(e) for e in x):
        x = stack(list(x))
    elif not is_traced(x):
        x = np.asarray(x)
        if x.dtype.kind in "biu":  # numpy computes integer sequences in float64 when mixed
            x = x.astype(np.float64)
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
    if isinstance(p, (list, tuple)) and any(is_traced(e) for e in p):
        p = stack(list(p))
    if len(shape_of(p)) != 1:
        raise ValueError(f"polyval: p must be a 1-d sequence of coefficients, not of shape "
                         f"{shape_of(p)}")
    if not is_traced(x):
        x = np.asanyarray(x)
    y: Any = np.zeros_like(stop_gradient(x))  # numpy starts from zeros too (0 * inf is nan there)
    for i in range(shape_of(p)[0]):
        y = y * x + getitem(p, i)
    return y
