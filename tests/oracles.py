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


# --- helpers added for the reverse-mode, nesting and dot-product suites ----------------------

def hessian_by_differences(f, x, h=1e-5):
    """H = ∂²f/∂x∂x of a scalar, complex-analytic f: central differences of the complex-step gradient.

    The gradient is exact to rounding, so the only error is the O(h²) of the difference
    (about 1e-9 relative for well-scaled f). Shape x.shape + x.shape.
    """
    x = np.asarray(x, dtype=float)

    def gradient(z):
        return complex_step_jacobian(f, z)

    H = np.empty(x.shape + x.shape)
    flat = H.reshape(x.size, x.size)
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        e = e.reshape(x.shape)
        flat[:, j] = ((gradient(x + e) - gradient(x - e)) / (2 * h)).ravel()
    return H


def relative_error(a, b):
    """|a - b| / max(|a|, |b|) for two numbers (0 when both are 0): the dot-product test's measure."""
    a, b = float(a), float(b)
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale


def _as_float(a):
    return float(a) if np.ndim(a) == 0 else np.asarray(a, dtype=float)


def complex_step_jvp(f, primals, tangents):
    """Σᵢ ∂f/∂xᵢ · tᵢ by one complex step: Im f(x₁ + ih·t₁, x₂ + ih·t₂, ...) / h.

    ``tangents[i] is None`` marks argument i as a constant (passed through real). The terms of
    second order are O(h²) = 1e-60, so one evaluation gives the whole directional derivative
    exactly; f must be complex-analytic near the point and written with numpy functions that
    take complex input.
    """
    args = []
    for p, t in zip(primals, tangents):
        if t is None:
            args.append(p)
        else:
            args.append(np.asarray(p, dtype=float) + 1j * H_COMPLEX * np.asarray(t, dtype=float))
    return np.imag(np.asarray(f(*args))) / H_COMPLEX


def central_difference_jvp(f, primals, tangents, h=1e-6):
    """Σᵢ ∂f/∂xᵢ · tᵢ by a central difference along the tangents (error O(h²)); None = constant."""
    plus, minus = [], []
    for p, t in zip(primals, tangents):
        if t is None:
            plus.append(p)
            minus.append(p)
        else:
            p = np.asarray(p, dtype=float)
            t = np.asarray(t, dtype=float)
            plus.append(_as_float(p + h * t))
            minus.append(_as_float(p - h * t))
    return (np.asarray(f(*plus), dtype=float) - np.asarray(f(*minus), dtype=float)) / (2 * h)


def complex_step_chunk(f, primals, tangents):
    """The complex-step JVP for k directions at once: ``tangents[i]`` has shape (k,) + xᵢ.shape
    (or is None); the result has shape (k,) + f(x).shape, row d being direction d."""
    k = next(np.shape(t)[0] for t in tangents if t is not None)
    return np.stack([complex_step_jvp(f, primals, [None if t is None else np.asarray(t)[d]
                                                   for t in tangents]) for d in range(k)])


def central_difference_chunk(f, primals, tangents, h=1e-6):
    """:func:`central_difference_jvp` for k directions; result shape (k,) + f(x).shape."""
    k = next(np.shape(t)[0] for t in tangents if t is not None)
    return np.stack([central_difference_jvp(f, primals, [None if t is None else np.asarray(t)[d]
                                                         for t in tangents], h) for d in range(k)])


def check_close(actual, expected, rtol=1e-9, atol_scale=1e-11, what=""):
    """assert_allclose with an absolute tolerance scaled by the size of ``expected``.

    Tangents are sums of terms that may cancel, so a purely relative test is too strict near a
    zero of the result; the absolute part is ``atol_scale * (1 + max|expected|)``.
    """
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    finite = expected[np.isfinite(expected)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol_scale * (1.0 + scale),
                               err_msg=what)


def rosenbrock(x):
    """The chained Rosenbrock function, the Hessian benchmark's f."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    """Its Hessian in closed form: tridiagonal, (x.size, x.size)."""
    n = x.size
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    H[i + 1, i + 1] += 200
    H[i, i + 1] = H[i + 1, i] = -400 * x[:-1]
    return H
