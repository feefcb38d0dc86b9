"""numpy's polynomial helpers on traced values: what the table test cannot say.

The table test (tests/table_cases/polynomials.py) checks values and derivatives to second order
against numpy. Here: the edge cases numpy defines (leading zeros, empty and one-column
Vandermonde matrices, orders past the degree), the errors, and a fit used the way a user fits.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd


def test_edge_cases_are_numpys():
    np.testing.assert_array_equal(dd.polymul(np.array([0.0, 1.0, 2.0]), np.array([0.0, 3.0])),
                                  np.polymul([0.0, 1.0, 2.0], [0.0, 3.0]))
    np.testing.assert_array_equal(dd.polymul(np.zeros(2), np.zeros(1)), np.polymul(np.zeros(2), np.zeros(1)))
    assert dd.vander(np.array([]), 2).shape == np.vander(np.array([]), 2).shape == (0, 2)
    assert dd.vander(np.array([1.0, 2.0]), 0).shape == (2, 0)
    np.testing.assert_array_equal(dd.vander(np.array([0.0, np.inf]), 1), np.vander([0.0, np.inf], 1))
    np.testing.assert_array_equal(dd.polyder(np.array([1.0, 2.0]), 3), np.polyder([1.0, 2.0], 3))
    np.testing.assert_array_equal(dd.polyint(np.array([2.0]), 0), np.polyint([2.0], 0))
    np.testing.assert_array_equal(dd.polyadd(3.0, np.array([1.0, 1.0])), np.polyadd(3.0, [1.0, 1.0]))


def test_vander_at_zero_has_the_derivative_of_its_powers():
    # x**0 = 1 is a constant even at 0, where the power rule would give 0 * 0**-1 = nan
    # J[i, j, k] = d vander(x)[i, j] / d x[k], the columns x**2, x, 1
    J = dd.jacobian(lambda x: dd.vander(x, 3), np.array([0.0, 2.0]))
    np.testing.assert_array_equal(J[:, 0, :], [[0.0, 0.0], [0.0, 4.0]])
    np.testing.assert_array_equal(J[:, 1, :], [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(J[:, 2, :], [[0.0, 0.0], [0.0, 0.0]])


def test_errors_say_what_is_wrong():
    x = dd.Dual(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="polyder: the order m must be >= 0"):
        dd.polyder(x, -1)
    with pytest.raises(TypeError, match="polyint: the order m must be a plain integer"):
        dd.polyint(x, 1.5)
    with pytest.raises(ValueError, match="polyint: k must be a scalar or a 1-d sequence"):
        dd.polyint(x, 3, k=[1.0, 2.0])
    with pytest.raises(ValueError, match="vander: x must be a one-dimensional"):
        dd.vander(dd.Dual(np.ones((2, 2)), np.ones((2, 2))))
    with pytest.raises(TypeError, match="polyfit: y must be 1-d or 2-d with x's length 3"):
        np.polyfit(np.arange(3.0), dd.Dual(np.ones(4), np.ones(4)), 1)
    with pytest.raises(ValueError, match="number of data points must exceed order"):
        np.polyfit(np.arange(2.0), dd.Dual(np.ones(2), np.ones(2)), 1, cov=True)


def test_fitting_a_line_the_way_users_do():
    # the slope of the least-squares line through (t, y) is cov(t, y) / var(t): its gradient in
    # y is (t - mean t) / sum((t - mean t)^2), written here by hand
    t = np.array([0.0, 1.0, 2.0, 4.0, 7.0])
    y = np.array([1.0, 2.5, 2.0, 5.0, 8.0])
    slope = lambda y: np.polyfit(t, y, 1)[0]
    want = (t - t.mean()) / np.sum((t - t.mean()) ** 2)
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(dd.grad(slope, y, mode=mode), want, rtol=1e-12, atol=1e-15)
    assert dd.grad(slope, y).dtype == np.float64
