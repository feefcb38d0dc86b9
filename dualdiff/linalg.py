"""``dd.linalg``: numpy.linalg's functions, differentiable in both modes (the rules are in rules/).

The names and signatures are numpy.linalg's; ``np.linalg.f`` on a traced value lands in the same
function. Results with several parts are named tuples with numpy's field names (``eigh(a)
.eigenvalues``, ``svd(a).S``, ``slogdet(a).logabsdet``, ``qr(a).R``).

>>> import dualdiff as dd, numpy as np
>>> A = np.array([[3.0, 1.0], [1.0, 2.0]])
>>> g = dd.grad(lambda a: dd.linalg.slogdet(a).logabsdet, A)   # d log|det A| = A⁻ᵀ
>>> bool(np.allclose(g, np.linalg.inv(A).T))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .primitives import stop_gradient
from .rules.decompositions import (
    EighResult, QRResult, SVDResult, cholesky, eig, eigh, eigvals, eigvalsh, lstsq, pinv, qr, svd,
    svdvals,
)
from .rules.einsum import outer as _outer, tensordot
from .rules.linalg import (
    SlogdetResult, cross, det, diagonal, inv, matmul, matrix_power, matrix_transpose, multi_dot,
    slogdet, solve, tensorinv, tensorsolve, trace,
)
from .rules.norms import cond, matrix_norm, norm, vector_norm
from .rules.vector_products import vecdot

LinAlgError = np.linalg.LinAlgError

__all__ = [
    "LinAlgError", "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals",
    "eigvalsh", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank",
    "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve", "svd",
    "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm",
    "EighResult", "QRResult", "SVDResult", "SlogdetResult",
]


def outer(x1: Any, x2: Any, /) -> Any:
    """The outer product of two vectors, as np.linalg.outer (1-d inputs only, unlike np.outer).

    >>> import dualdiff as dd
    >>> dd.linalg.outer([1.0, 2.0], [1.0, 0.0, -1.0]).shape
    (2, 3)
    """
    if np.ndim(stop_gradient(x1)) != 1 or np.ndim(stop_gradient(x2)) != 1:
        raise ValueError("linalg.outer: both inputs must be 1-dimensional (np.outer flattens)")
    return _outer(x1, x2)


def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    """The rank of each matrix, as np.linalg.matrix_rank: an integer, with no derivative.

    >>> import dualdiff as dd, numpy as np
    >>> int(dd.linalg.matrix_rank(np.ones((2, 2))))
    1
    """
    return np.linalg.matrix_rank(stop_gradient(A), tol=tol, hermitian=hermitian, rtol=rtol)
