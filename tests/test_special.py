"""scipy.special's ufuncs on traced values (rules/special.py): what the table test cannot say.

The table test checks every entry's value and derivatives to second order against central
differences of scipy's own function. Here: the dispatch (scipy's ufunc objects, by name, and
nothing else), the conventions at the edges, third derivatives through the polygamma orders
made on demand, and the programs users write with them, against closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd

sp = pytest.importorskip("scipy.special")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_logistic_regression_gradient_is_the_closed_form(mode):
    rng = np.random.default_rng(3)
    X, t, w = rng.normal(size=(20, 3)), (rng.uniform(size=20) < 0.5) * 1.0, rng.normal(size=3)

    def nll(w):
        p = sp.expit(X @ w)
        return -np.sum(sp.xlogy(t, p) + sp.xlogy(1 - t, 1 - p))
    np.testing.assert_allclose(dd.grad(nll, w, mode=mode), X.T @ (sp.expit(X @ w) - t), rtol=1e-12)
    p = sp.expit(X @ w)
    np.testing.assert_allclose(dd.hessian(nll, w), X.T @ (X * (p * (1 - p))[:, None]), rtol=1e-10)


def test_probit_and_poisson_likelihoods_against_closed_forms():
    x = np.array([-3.0, -0.5, 0.2, 1.7])
    # d/dx log Φ(x) = φ(x) / Φ(x)
    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(dd.grad(lambda x: np.sum(sp.log_ndtr(x)), x), phi / sp.ndtr(x), rtol=1e-13)
    # Poisson log-likelihood in the rate's log: k·η − e^η − log k!
    k, eta = np.array([0.0, 3.0, 7.0, 1.0]), np.array([0.1, 1.2, 2.0, -0.3])
    loglik = lambda eta: np.sum(k * eta - np.exp(eta) - sp.gammaln(k + 1))
    np.testing.assert_allclose(dd.grad(loglik, eta), k - np.exp(eta), rtol=1e-14)
    # and in the count, through gammaln: −ψ(k + 1)
    np.testing.assert_allclose(dd.grad(lambda k: np.sum(-sp.gammaln(k + 1)), k), -sp.digamma(k + 1),
                               rtol=1e-14)


def test_log_ndtr_deep_in_the_tail_has_a_finite_derivative():
    # Φ(−40) underflows to 0, but d/dx log Φ(x) ≈ −x there
    g = dd.derivative(sp.log_ndtr, -40.0)
    assert np.isfinite(g) and g == pytest.approx(40.025, rel=1e-3)


def test_third_derivative_of_gammaln_is_the_second_polygamma():
    d3 = dd.derivative(lambda x: dd.derivative(lambda y: dd.derivative(sp.gammaln, y), x), 2.5)
    assert d3 == pytest.approx(sp.polygamma(2, 2.5), rel=1e-13)
    d4 = dd.derivative(lambda x: dd.derivative(lambda y: dd.derivative(dd.special.digamma, y), x), 1.5)
    assert d4 == pytest.approx(sp.polygamma(3, 1.5), rel=1e-13)


def test_xlogy_at_zero_keeps_zero_derivative_in_y():
    # xlogy(0, y) = 0 for every y, including y = 0
    g = dd.grad(lambda y: np.sum(sp.xlogy(np.array([0.0, 0.0, 2.0]), y)), np.array([0.0, 3.0, 4.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.5])
    g = dd.grad(lambda y: np.sum(sp.xlog1py(np.array([0.0, 2.0]), y)), np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0])


def test_compiled_equals_eager():
    x = np.array([0.3, -1.2, 2.0])
    f = lambda x: np.sum(sp.erf(x) * sp.expit(x) + sp.gammaln(x * x + 1))
    np.testing.assert_array_equal(dd.compile(lambda x: dd.grad(f, x))(x), dd.grad(f, x))


def test_other_scipy_ufuncs_and_lookalikes_are_refused_by_name():
    x = dd.Dual(np.array([0.5, 1.5]), np.ones(2))
    with pytest.raises(TypeError, match=r"scipy\.special\.spence has no dualdiff rule"):
        sp.spence(x)
    # the lookup is by name, but only for scipy's own objects
    from dualdiff.numpy_dispatch import special_ufunc_rule
    assert special_ufunc_rule(np.sin) is None
    assert special_ufunc_rule(np.frompyfunc(lambda v: v, 1, 1)) is None
    assert special_ufunc_rule(sp.erf) is dd.special.erf
