"""The first term of a cotangent sum that comes from a basic index waits (tape._Scatter): a
second term at the same index is summed with it, and the index_add runs once.

That is a rewrite of the same arithmetic, so every test here compares bit for bit (sign of
zero included) against the sweep without it (``_Scatter.takes`` patched to refuse everything),
and against independent oracles: closed forms and complex step.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import dualdiff as dd
from dualdiff import tape as tape_module
from oracles import complex_step_jacobian, rosenbrock, rosenbrock_hessian


def _without_scatter(monkeypatch):
    monkeypatch.setattr(tape_module._Scatter, "takes", staticmethod(lambda ct, params: False))


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _both(monkeypatch, transform, f, x):
    got = transform(f, x)
    with monkeypatch.context() as m:
        _without_scatter(m)
        want = transform(f, x)
    return got, want


def _stencil(x):
    return np.sum(x[:-1] * x[1:] + np.exp(x[:-1]) - x[1:] ** 2 * x[:-1])


def _direct_between(x):  # x read directly between the two uses of x[:-1]
    a = np.sin(x[:-1])
    b = x * 3.0
    return np.sum(a * x[:-1]) + np.sum(b ** 2) + np.sum(x[:-1] ** 3)


def _intermediate(x):  # the index is of an intermediate, whose own entry is swept later
    y = np.exp(x) * x
    return np.sum(y[1:] * y[1:] - y[:-1]) + np.sum(np.cos(y[:-1]))


def _columns(x):  # two-dimensional basic indices, an int and a None among them
    m = x.reshape(3, 4)
    return np.sum(m[:, 1:] * m[:, :-1]) + np.sum(m[:, 1:] ** 2) + m[1, 2] * m[1, 2] + np.sum(m[None, 0])


def _negative_zeros(x):  # terms of -0.0: the sum keeps the sign the one-by-one sums give
    return np.sum(x[:-1] * -0.0) + np.sum(-0.0 * x[:-1]) + np.sum(x[1:] * 0.0)


PROGRAMS = [rosenbrock, _stencil, _direct_between, _intermediate, _columns, _negative_zeros]


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("transform", [dd.grad, dd.hessian], ids=["grad", "hessian"])
def test_same_bits_as_the_sweep_without_it(monkeypatch, f, transform):
    x = np.linspace(-1.2, 1.0, 12)
    got, want = _both(monkeypatch, transform, f, x)
    assert _same_bits(got, want)


@pytest.mark.parametrize("f", PROGRAMS[:-1], ids=lambda f: f.__name__)
def test_gradients_match_complex_step(f):
    x = np.linspace(-1.2, 1.0, 12)
    want = complex_step_jacobian(lambda z: np.reshape(f(z), (1,)), x)[0]
    np.testing.assert_allclose(dd.grad(f, x), want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("n", [2, 3, 30])
def test_rosenbrock_hessian_closed_form_and_one_index_add(monkeypatch, n):
    x = np.linspace(-1.2, 1.0, n)
    calls = []
    merge = tape_module._Scatter.merge
    monkeypatch.setattr(tape_module._Scatter, "merge",
                        lambda self, ct, e: merge(self, ct, e) and not calls.append(1))
    H = dd.hessian(rosenbrock, x)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)
    assert len(calls) == 1  # x[:-1]'s two terms met once


def test_float32_and_float64_terms_are_not_merged_but_summed_as_before(monkeypatch):
    def f(x):
        lo = x[:-1].astype(np.float32)
        return np.sum(lo * lo) + np.sum(x[:-1] ** 2)

    x = np.linspace(-1.0, 1.0, 6)
    got, want = _both(monkeypatch, dd.grad, f, x)
    assert _same_bits(got, want)
    np.testing.assert_allclose(got, np.r_[4.0 * x[:-1], 0.0], rtol=1e-6)


def test_an_advanced_index_is_summed_as_before(monkeypatch):
    def f(x):
        i = np.array([0, 0, 2])
        return np.sum(x[i] ** 2) + np.sum(x[i] * x[:3][i])

    x = np.array([0.3, -1.1, 2.5, 0.7])
    got, want = _both(monkeypatch, dd.grad, f, x)
    assert _same_bits(got, want)
    np.testing.assert_allclose(got, [4 * 2 * 0.3, 0.0, 4 * 2.5, 0.0], rtol=1e-15)


def test_a_pullback_swept_twice_gives_the_same_bits_each_time(monkeypatch):
    x = np.linspace(-1.2, 1.0, 9)
    y, pullback = dd.vjp(lambda x: x[:-1] ** 2 + np.sin(x[:-1]) * x[1:], x)
    u = np.cos(np.arange(y.size))
    first, second = pullback(u), pullback(u)
    with monkeypatch.context() as m:
        _without_scatter(m)
        y2, pullback2 = dd.vjp(lambda x: x[:-1] ** 2 + np.sin(x[:-1]) * x[1:], x)
        want = pullback2(u)
    assert _same_bits(first, want) and _same_bits(second, want)


def test_a_checkpoint_between_the_uses_changes_no_bit():
    def inner(v):
        return np.sin(v[:-1]) * v[1:]

    def plain(x):
        return np.sum(inner(x) * x[:-1]) + np.sum(x[:-1] ** 2)

    def checkpointed(x):
        return np.sum(dd.checkpoint(inner)(x) * x[:-1]) + np.sum(x[:-1] ** 2)

    x = np.linspace(-1.2, 1.0, 11)
    for transform in (dd.grad, dd.hessian):
        assert _same_bits(transform(checkpointed, x), transform(plain, x))


_INDICES = [np.s_[:-1], np.s_[1:], np.s_[2:5], np.s_[::2], np.s_[3], np.s_[None, 1:]]
_OPS = [lambda a: a * a, np.sin, lambda a: a * -0.0, lambda a: 1.0 - a, lambda a: a ** 3]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_INDICES) - 1), st.integers(0, len(_OPS) - 1)),
                min_size=1, max_size=6),
       st.booleans())
def test_random_uses_of_indices_same_bits(uses, second_order):
    def f(x):
        total = 0.0
        for k, (i, o) in enumerate(uses):
            term = _OPS[o](x[_INDICES[i]])
            total = total + np.sum(term) * (1.0 + k)
        return total

    x = np.linspace(-1.2, 1.0, 8)
    transform = dd.hessian if second_order else dd.grad
    got = transform(f, x)
    with pytest.MonkeyPatch.context() as m:
        _without_scatter(m)
        want = transform(f, x)
    assert _same_bits(got, want)


def test_a_plain_term_and_a_dual_term_of_one_index(monkeypatch):
    # Under hessian sum(x[:-1])'s cotangent is a plain array (it does not move with x) and
    # x[:-1] ** 2's a Dual: they are not summed while waiting, but one after the other
    def f(x):
        return np.sum(x[:-1]) + np.sum(x[:-1] ** 2) + np.sum(x[:-1])

    x = np.linspace(-1.2, 1.0, 6)
    got, want = _both(monkeypatch, dd.hessian, f, x)
    assert _same_bits(got, want)
    np.testing.assert_array_equal(got, np.diag([2.0] * 5 + [0.0]))
    np.testing.assert_array_equal(dd.grad(f, x), np.r_[2.0 + 2.0 * x[:-1], 0.0])
