"""Functions with no derivative pass through on traced values and return plain numpy values.

Every one is called on a Dual and on a Var (inside dd.grad), and its result compared with numpy's
on the plain value: the oracle is numpy itself, on data dualdiff never touched.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd

X = np.array([[0.5, -1.5, 2.0], [3.0, -0.25, 2.0]])
Y = np.array([[0.5, -1.5, 2.5], [3.0, 0.0, 2.0]])
SORTED = np.array([-1.0, 0.0, 2.5, 4.0])

PASS_THROUGH = [
    ("argmax", lambda x: np.argmax(x)), ("argmax-axis", lambda x: np.argmax(x, axis=0)),
    ("argmin", lambda x: np.argmin(x, axis=1)), ("argsort", lambda x: np.argsort(x, axis=-1)),
    ("argpartition", lambda x: np.argpartition(x, 1, axis=-1)),
    ("argwhere", lambda x: np.argwhere(x)), ("nonzero", lambda x: np.nonzero(x)),
    ("where-one-argument", lambda x: np.where(x)),
    ("flatnonzero", lambda x: np.flatnonzero(x)), ("count_nonzero", lambda x: np.count_nonzero(x)),
    ("searchsorted", lambda x: np.searchsorted(SORTED, x)),
    ("floor", np.floor), ("ceil", np.ceil), ("round", lambda x: np.round(x, 1)),
    ("around", np.around), ("rint", np.rint), ("fix", np.fix), ("trunc", np.trunc),
    ("floor_divide", lambda x: np.floor_divide(x, 0.75)), ("floordiv-operator", lambda x: x // 0.75),
    ("rfloordiv-operator", lambda x: 2.0 // x), ("sign", np.sign),
    ("isfinite", np.isfinite), ("isnan", np.isnan), ("isinf", np.isinf),
    ("isneginf", np.isneginf), ("isposinf", np.isposinf), ("isreal", np.isreal),
    ("iscomplex", np.iscomplex), ("iscomplexobj", np.iscomplexobj),
    ("logical_and", lambda x: np.logical_and(x, Y)), ("logical_or", lambda x: np.logical_or(x, Y)),
    ("logical_not", np.logical_not), ("logical_xor", lambda x: np.logical_xor(x, Y)),
    ("allclose", lambda x: np.allclose(x, Y)), ("isclose", lambda x: np.isclose(x, Y)),
    ("array_equal", lambda x: np.array_equal(x, Y)), ("array_equiv", lambda x: np.array_equiv(x, X[0])),
    ("shape", np.shape), ("ndim", np.ndim), ("size", np.size), ("size-axis", lambda x: np.size(x, 1)),
    ("result_type", np.result_type),
    ("greater", lambda x: x > Y), ("less_equal", lambda x: np.less_equal(x, Y)),
    ("equal", lambda x: x == Y), ("not_equal", lambda x: np.not_equal(Y, x)),
]


def _same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    assert not isinstance(got, (dd.Dual, dd.Var)), f"a traced value came back: {got!r}"
    np.testing.assert_array_equal(got, want)
    assert np.asarray(got).dtype == np.asarray(want).dtype


@pytest.mark.parametrize("name, fn", PASS_THROUGH, ids=[n for n, _ in PASS_THROUGH])
def test_pass_through_on_dual_and_var(name, fn):
    want = fn(X.copy())
    _same(fn(dd.Dual(X, np.ones_like(X))), want)
    _same(fn(dd.Dual(X, np.ones((3,) + X.shape))), want)  # k directions

    def f(x):
        _same(fn(x), want)
        return dd.sum(x)
    np.testing.assert_array_equal(dd.grad(f, X), np.ones_like(X))


def test_allclose_of_two_traced_values_does_not_recurse():
    a, b = dd.Dual(X, np.ones_like(X)), dd.Dual(X + 1e-12, np.zeros_like(X))
    assert np.allclose(a, b) and np.allclose(X, b) and not np.allclose(a, b + 1.0)


def test_piecewise_constant_results_are_constants_in_a_derivative():
    # floor(x) * x: the floor is a constant factor, so d/dx = floor(x)
    assert dd.derivative(lambda x: np.floor(x) * x, 2.5) == 2.0
    g = dd.grad(lambda x: np.sum(np.sign(x) * x), np.array([-2.0, 3.0]))
    np.testing.assert_array_equal(g, [-1.0, 1.0])
