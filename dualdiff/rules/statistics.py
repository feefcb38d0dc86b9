"""Covariance and correlation of variables observed together: cov, corrcoef.

Composites: numpy's formulas written with dualdiff's functions (centre, one matrix product,
scale), so they are differentiable in the observations to every order, with no rule of their own.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..primitives import is_complex, is_traced, shape_of, stop_gradient
from .assembly import concatenate
from .complex_parts import conj, imag, real
from .indexing import diagonal
from .linalg import matmul
from .reductions import mean
from .shape import reshape, transpose
from .table import Value
from .ufuncs import clip, sqrt


def _rows(x: Value, rowvar: bool) -> Value:
    """x as a 2-d value with one variable per row (numpy's ``ndmin=2`` and ``rowvar``)."""
    if not is_traced(x):
        x = np.asarray(x)
        if x.dtype.kind in "biu":
            x = x.astype(np.float64)
    shape = shape_of(x)
    if len(shape) > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {shape})")
    if len(shape) < 2:
        x = reshape(x, (1, -1))
    if not rowvar and shape_of(x)[0] != 1:
        x = transpose(x)
    return x


def _squeezed(c: Value) -> Value:
    return reshape(c, tuple(d for d in shape_of(c) if d != 1))


def cov(m: Value, y: Value = None, rowvar: bool = True, bias: bool = False,
        ddof: Optional[int] = None, fweights: Any = None, aweights: Any = None,
        *, dtype: Any = None) -> Value:
    """The covariance matrix of the variables in m's rows (and y's), as np.cov.

    ``m`` of shape (k, n): k variables, n observations each (transposed with
    ``rowvar=False``); the result is (k, k), squeezed as numpy squeezes it (a single variable
    gives a 0-d value). Normalised by n - 1, or by n - ddof / n with ``bias=True``.
    Observation weights (``fweights``, ``aweights``) and ``dtype`` are refused.

    >>> import dualdiff as dd, numpy as np
    >>> dd.cov(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    if fweights is not None or aweights is not None or dtype is not None:
        raise TypeError("cov of traced values supports m, y, rowvar, bias and ddof: for "
                        "weighted observations use dd.average (with weights=) and dd.matmul")
    if ddof is not None and ddof != int(ddof):
        raise ValueError("cov: ddof must be an integer")
    X = _rows(m, rowvar)
    if y is not None:
        X = concatenate([X, _rows(y, rowvar)], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    fact = shape_of(X)[1] - ddof
    if fact <= 0:  # numpy warns and divides by zero: inf and nan, here as there
        fact = 0.0
    X = X - reshape(mean(X, axis=1), (-1, 1))
    c = matmul(X, conj(transpose(X)) if is_complex(stop_gradient(X)) else transpose(X))
    with np.errstate(divide="ignore"):
        scale = np.true_divide(1, fact)
    return _squeezed(c * scale)


def corrcoef(x: Value, y: Value = None, rowvar: bool = True, *, dtype: Any = None) -> Value:
    """The Pearson correlation coefficients of the variables in x's rows (and y's), as np.corrcoef.

    ``x`` of shape (k, n) gives a (k, k) matrix (squeezed as numpy squeezes it), clipped to
    [-1, 1] as numpy clips it; differentiable wherever every variable varies.

    >>> import dualdiff as dd, numpy as np
    >>> dd.corrcoef(np.array([[0.0, 1.0, 2.0], [0.0, 2.0, 1.0]]))
    array([[1. , 0.5],
           [0.5, 1. ]])
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if len(shape_of(c)) != 2:  # one variable: numpy returns c / c
        return c / c
    stddev = sqrt(real(diagonal(c)))
    c = c / reshape(stddev, (-1, 1))
    c = c / reshape(stddev, (1, -1))
    if is_complex(stop_gradient(c)):
        return clip(real(c), -1.0, 1.0) + 1j * clip(imag(c), -1.0, 1.0)
    return clip(c, -1.0, 1.0)


__all__ = ["cov", "corrcoef"]
