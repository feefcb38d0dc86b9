"""A basic index taken twice of one value is recorded once (tape._index_again).

x[:-1] written twice (Rosenbrock's function) or x[0] read in several places is one tape entry
and one slot, whose cotangent is the sum of every use's. Checked: the entry counts, gradients,
Hessians and Jacobians against closed forms and complex step, the dot-product test between the
modes, bit-for-bit equality with the program that names the slice once, and the cases that must
not share (another index, an index array, a write into x in between, dd.trace's tape).
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.tape import _INDEXED_KEPT, Tape, TapeTag
from oracles import complex_step_jacobian, rosenbrock, rosenbrock_hessian


def _rosenbrock_named(x):
    b = x[:-1]
    return np.sum(100.0 * (x[1:] - b ** 2) ** 2 + (1.0 - b) ** 2)


def _seed(x):  # the worked example, written with indices
    return np.log(x[0]) + x[0] * x[1] - np.sin(x[1])


def _entries(f, x):
    """The recorded primitives' names when f runs on a tape over x."""
    tape = Tape()
    tag = TapeTag(tape, owner="grad")
    try:
        f(tag.new_var(x))
    finally:
        tag.close()
    return [(e[0] if type(e) is tuple else e.prim).name for e in tape.entries]


def test_a_repeated_slice_is_one_entry():
    x = np.linspace(-1.2, 1.0, 10)
    assert _entries(rosenbrock, x).count("getitem") == 2  # x[1:] and x[:-1]
    assert _entries(rosenbrock, x) == _entries(_rosenbrock_named, x)
    assert _entries(_seed, np.array([2.0, 5.0])).count("getitem") == 2
    assert _entries(lambda x: x[0] * x[0] + x[(0,)] + x[0, ...], np.ones(3)).count("getitem") == 2


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


def test_what_is_not_shared():
    x = np.linspace(1.0, 2.0, 6)
    # another index, an index array, a numpy integer: each its own entry
    assert _entries(lambda x: x[1:] * x[:-1][::-1] + x[1:], x).count("getitem") == 3
    assert _entries(lambda x: x[[0, 1]] + x[[0, 1]], x).count("getitem") == 2
    assert _entries(lambda x: x[np.int64(1)] + x[np.int64(1)], x).count("getitem") == 2
    # a write into x in between: x has a new value, and x[0] is taken of it afresh
    def written(x):
        a = x[0]
        x[0] = x[1] * 3.0
        return a * x[0]
    assert _entries(written, x).count("getitem") == 3
    np.testing.assert_allclose(dd.grad(written, x), [3.0 * x[1], 3.0 * x[0], 0, 0, 0, 0])


def test_more_indices_than_remembered_stay_right():
    n = 3 * _INDEXED_KEPT
    x = np.linspace(1.0, 2.0, n)
    f = lambda x: sum(x[i] * x[i] * x[(i + 7) % n] for i in range(n))
    g = dd.grad(f, x)
    want = np.array([2 * x[i] * x[(i + 7) % n] + x[(i - 7) % n] ** 2 for i in range(n)])
    np.testing.assert_allclose(g, want, rtol=1e-14)


def test_the_recording_lets_its_remembered_values_go():
    tape = Tape()
    tag = TapeTag(tape)
    x = tag.new_var(np.ones(5))
    y = x[1:] + x[1:]
    assert tag.indexed
    tag.close()
    assert tag.indexed is None
    assert y.slot is not None


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


def test_a_write_into_one_of_two_equal_views_is_refused_as_before():
    # numpy: a and b are two views of t, so a += 1 shows in b too (the sum is 74 at x below).
    # The second t[1:] shares the first one's slot, but gets a view of its own, so the write
    # is still seen to reach another live view and refused, never a silently different value.
    def f(x):
        t = x * 2.0
        a = t[1:]
        b = t[1:]
        del t
        a += 1.0
        return np.sum(a * b)

    x = np.array([1.0, 2.0, 3.0])
    assert f(x) == 74.0
    for transform in (dd.grad, dd.hessian):
        with pytest.raises(TypeError, match="view"):
            transform(f, x)


def test_each_use_gets_its_own_view():
    tape = Tape()
    tag = TapeTag(tape)
    x = tag.new_var(np.arange(5.0))
    a, b = x[1:], x[1:]
    assert a.slot == b.slot and a.primal is not b.primal
    assert np.shares_memory(a.primal, b.primal) and np.array_equal(a.primal, b.primal)
    tag.close()
