"""Sparse Jacobians and Hessians with a reused colouring, compiled (format="coo"): bitwise equal to
eager mode at new points, equal to closed forms and complex step, and CSR refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from oracles import complex_step_jacobian
from test_nesting import rosenbrock, rosenbrock_hessian  # closed form


def _dense(coo):
    M = np.zeros(coo.shape, dtype=coo.data.dtype)
    M[coo.row, coo.col] = coo.data
    return M


def test_compiled_sparse_hessian_is_eager_bitwise_and_the_closed_form():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 40)
    coloring = dd.color_star(dd.hessian_sparsity(rosenbrock, x))
    fast = dd.compile(lambda z: dd.hessian(rosenbrock, z, sparse=coloring, format="coo"))
    for _ in range(3):  # the first call records, the others replay
        x = rng.uniform(-1, 1, 40)
        H = fast(x)
        eager = dd.hessian(rosenbrock, x, sparse=coloring, format="coo")
        np.testing.assert_array_equal(H.data, eager.data)
        np.testing.assert_array_equal(H.row, eager.row)
        np.testing.assert_array_equal(H.col, eager.col)
        np.testing.assert_allclose(_dense(H), rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)


def _banded(x):
    left = dd.concatenate([np.zeros(1), x[:-1]])
    right = dd.concatenate([x[1:], np.zeros(1)])
    return left - 2 * x + right + np.sin(x)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_compiled_sparse_jacobian_is_eager_bitwise_and_complex_step(mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(30)
    pattern = dd.sparsity(_banded, x)
    coloring = dd.color_columns(pattern) if mode == "forward" else dd.color_rows(pattern)
    fast = dd.compile(lambda z: dd.jacobian(_banded, z, sparse=coloring, mode=mode, format="coo"))
    for _ in range(3):
        x = rng.standard_normal(30)
        J = fast(x)
        eager = dd.jacobian(_banded, x, sparse=coloring, mode=mode, format="coo")
        np.testing.assert_array_equal(J.data, eager.data)
        np.testing.assert_allclose(_dense(J), complex_step_jacobian(_banded, x), rtol=1e-14,
                                   atol=1e-15)


def test_compiled_csr_is_refused_with_what_to_do():
    pytest.importorskip("scipy.sparse")
    x = np.linspace(-1, 1, 8)
    coloring = dd.color_star(dd.hessian_sparsity(rosenbrock, x))
    fast = dd.compile(lambda z: dd.hessian(rosenbrock, z, sparse=coloring))
    with pytest.raises(TypeError, match="format='coo'"):
        fast(x)
