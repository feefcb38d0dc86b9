"""Independent derivative oracles for the tests: none of them uses dualdiff.

- complex step: Im f(x + ih e_j) / h with h = 1e-30 is exact to machine precision for real-analytic
  f written with numpy functions that accept complex input (no subtraction, so no cancellation);
- central differences, for functions that are not analytic (abs, relu, maximum) away from kinks.
"""

from __future__ import annotations

import numpy as np

H_COMPLEX = 1e-30


def complex_step_jacobian(f, x):
    """J[i..., j...] = ∂f_i/∂x_j by complex step; f must accept complex arrays. Shape f(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    out_shape = np.shape(f(x.astype(complex)))
    J = np.empty(out_shape + x.shape)
    flat = J.reshape(int(np.prod(out_shape)), x.size)
    for j in range(x.size):
        xc = x.astype(complex).ravel()
        xc[j] += 1j * H_COMPLEX
        flat[:, j] = np.imag(np.asarray(f(xc.reshape(x.shape)))).ravel() / H_COMPLEX
    return J


def central_difference_jacobian(f, x, h=1e-6):
    """J by central differences (error O(h²)); for functions that are not complex-analytic."""
    x = np.asarray(x, dtype=float)
    out_shape = np.shape(f(x))
    J = np.empty(out_shape + x.shape)
    flat = J.reshape(int(np.prod(out_shape)), x.size)
    for j in range(x.size):
        xp = x.copy().ravel()
        xm = x.copy().ravel()
        xp[j] += h
        xm[j] -= h
        flat[:, j] = (np.asarray(f(xp.reshape(x.shape))) - np.asarray(f(xm.reshape(x.shape)))).ravel() / (2 * h)
    return J
