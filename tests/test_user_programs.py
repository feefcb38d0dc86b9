"""Regressions found by running real programs against dualdiff: other libraries' test ideas
(autograd's and JAX's numpy-level checks, re-expressed here with our own oracles), training
loops, scipy solvers and hostile inputs.

Every expected value comes from an independent source: a closed form, complex step or central
differences, never dualdiff alone.
"""

import numpy as np
import pytest

import dualdiff as dd


# --- nested transforms whose inner derivative passes a traced direction through --------------

def test_jvp_of_a_jvp_whose_tangent_is_the_direction_itself():
    # g(v) = J_f(x) v with f(x) = x + 1: J = I, so g(v) = v and dg/dv along w is w. The inner
    # jvp hands back its own (traced) direction; that must not be converted to a plain array.
    x, w = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    g = lambda v: dd.jvp(lambda z: z + 1.0, x, v)[1]
    _, t = dd.jvp(g, np.ones(3), w)
    np.testing.assert_array_equal(t, w)
    np.testing.assert_array_equal(dd.jacobian(g, np.ones(3)), np.eye(3))
    # reverse over forward: ∂/∂v Σ g(v)·c = c
    c = np.array([3.0, -2.0, 0.5])
    np.testing.assert_array_equal(dd.grad(lambda v: np.sum(g(v) * c), np.ones(3)), c)


def test_jvp_of_a_jvp_that_returns_one_input_of_a_tuple():
    # f(a, b) = a: J (v, w) = v, so the outer derivative along (dv, dw) is dv, and the plain
    # result must still be a fresh array, not the caller's v.
    a, b = np.array([1.0, 2.0]), 3.0
    g = lambda vw: dd.jvp(lambda p: p[0], (a, b), vw)[1]
    _, t = dd.jvp(g, (np.ones(2), 1.0), (np.array([1.0, -1.0]), 2.0))
    np.testing.assert_array_equal(t, [1.0, -1.0])
    v = np.ones(2)
    out = g((v, 0.0))
    assert out is not v and np.array_equal(out, v)
