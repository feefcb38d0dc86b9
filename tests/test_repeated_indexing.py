"""One value indexed the same way in several places (x[:-1] written twice, x[0] read in several
places of scalar code): each use is its own entry whose adjoint is added into x's running sum.

Checked against closed forms and complex step, by the dot-product test between the modes, and
for the writes numpy would see through one use into another (refused, never a different value).
Merging such uses into one entry was measured (7% of an n = 100 Hessian of Rosenbrock's
function) and not kept: summing the uses' adjoints before adding them into x's sum rounds
differently from adding them one by one, and a checkpoint boundary between two uses would then
change the gradient's last bit, which dd.checkpoint promises it never does (the last test).
What the sweep does instead changes no bit: only while x's sum holds one term from an index is
a second term from the same index summed with it (tests/test_pending_scatter.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from oracles import complex_step_jacobian, rosenbrock, rosenbrock_hessian


def _rosenbrock_named(x):
    b = x[:-1]
    return np.sum(100.0 * (x[1:] - b ** 2) ** 2 + (1.0 - b) ** 2)


def _seed(x):  # the worked example, written with indices
    return np.log(x[0]) + x[0] * x[1] - np.sin(x[1])


def test_the_worked_example_written_with_indices():
    g = dd.grad(_seed, np.array([2.0, 5.0]))
    np.testing.assert_allclose(g, [5.5, 2.0 - np.cos(5.0)], rtol=1e-15)
    assert float(_seed(np.array([2.0, 5.0]))) == pytest.approx(11.6521, abs=1e-4)


@pytest.mark.parametrize("n", [2, 3, 10, 100])
def test_rosenbrock_hessian_and_gradient_are_the_named_programs_bit_for_bit(n):
    x = np.linspace(-1.2, 1.0, n)
    for transform in (dd.grad, dd.hessian):
        got, want = transform(rosenbrock, x), transform(_rosenbrock_named, x)
        assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))
    np.testing.assert_allclose(dd.hessian(rosenbrock, x), rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)


def _uses(x):
    """Many uses of a few basic indices, as scalar and stencil code writes them."""
    d = x[1:, :] - x[:-1, :]
    return (np.sin(x[0, 0]) * x[0, 0] + np.exp(x[1:, :]) * d + x[1:, :] ** 2
            + x[None, 0, 1:2] * x[0, 1] - x[-1, ...].sum())


def test_many_uses_of_a_few_indices_match_complex_step():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, (4, 3))
    J = dd.jacobian(_uses, x, mode="reverse")
    want = complex_step_jacobian(lambda z: _uses(z.reshape(4, 3)).reshape(-1), x.reshape(-1))
    np.testing.assert_allclose(J.reshape(want.shape), want, rtol=1e-13, atol=1e-13)


def test_dot_product_test_between_the_modes():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 1.5, (4, 3))
    v = rng.standard_normal(x.shape)
    _, jv = dd.jvp(_uses, x, v)
    u = rng.standard_normal(jv.shape)
    _, pullback = dd.vjp(_uses, x)
    assert np.vdot(u, jv) == pytest.approx(np.vdot(pullback(u), v), rel=1e-13)


def test_trace_shows_every_index_as_written():
    t = dd.trace(lambda x: x[0] * x[0], np.array([3.0]))
    assert [e.operation for e in t.entries].count("getitem") == 2
    assert float(t.gradient[0]) == 6.0


def test_compiled_equals_eager_with_repeated_slices():
    x = np.linspace(-1.2, 1.0, 30)
    h = dd.compile(lambda x: dd.hessian(rosenbrock, x))
    g = dd.compile(lambda x: dd.grad(rosenbrock, x))
    for _ in range(2):
        assert np.array_equal(h(x), dd.hessian(rosenbrock, x))
        assert np.array_equal(g(x), dd.grad(rosenbrock, x))


def test_a_write_into_one_of_two_equal_views_shows_in_the_other_as_numpys():
    # numpy: a and b are two views of t, so a += 1 shows in b too (the sum is 74 at x below):
    # f = Σ (2 x_i + 1)² over i ≥ 1, whose gradient is 4 (2 x_i + 1) and Hessian 8 on the
    # diagonal (once refused, now written through t as numpy; tests/test_outside_views.py)
    def f(x):
        t = x * 2.0
        a = t[1:]
        b = t[1:]
        del t
        a += 1.0
        return np.sum(a * b)

    x = np.array([1.0, 2.0, 3.0])
    assert f(x) == 74.0
    assert dd.value_and_grad(f, x)[0] == 74.0
    assert np.array_equal(dd.grad(f, x), [0.0, 20.0, 28.0])
    assert np.array_equal(dd.hessian(f, x), np.diag([0.0, 8.0, 8.0]))


def test_a_use_inside_a_checkpoint_and_one_outside_give_the_same_bits():
    # x[2][k] is read inside the checkpointed half and outside it: each use's adjoint is added
    # into x's sum where it is swept, as without the checkpoint (found by the random
    # compositions of test_checkpoint, against a merged entry)
    def pairs(v):
        return dd.stack([v[0] * v[1], v[1] + v[2], v[2] - v[3], v[3] * v[0]])

    def plain(z):
        return dd.softmax(pairs(z[2])) + pairs(z[2])

    def checkpointed(z):
        return dd.checkpoint(lambda *vs: dd.softmax(pairs(vs[2])))(z[0], z[1], z[2]) + pairs(z[2])

    z = np.array([0.0] * 11 + [1.0]).reshape(3, 4)
    for f in (dd.grad, lambda g, z: dd.jacobian(g, z, mode="reverse")):
        scalar = (lambda g: (lambda z: np.sum(g(z) * np.cos(np.arange(4.0))))) if f is dd.grad else (lambda g: g)
        want, got = f(scalar(plain), z), f(scalar(checkpointed), z)
        assert np.array_equal(got, want)
