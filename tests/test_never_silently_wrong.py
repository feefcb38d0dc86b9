"""Regression tests for the defects a new user's trial found (issue #7): each failed before its fix.

Numbered as in the issue. Errors are checked for their type and for the words that tell the
user what to do.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd


# -- 1. complex numbers: JAX's convention, both modes (the whole table: tests/test_complex.py) --

def _grad_by_differences(f, z, h=1e-6):
    """∂f/∂x − i·∂f/∂y of a real-valued f by central differences in the real and imaginary parts."""
    df_dx = (f(z + h) - f(z - h)) / (2 * h)
    df_dy = (f(z + 1j * h) - f(z - 1j * h)) / (2 * h)
    return df_dx - 1j * df_dy


def test_abs_of_complex_has_a_real_directional_derivative():
    z = 1 + 2j
    t = dd.jvp(lambda z: np.abs(z), z, 1.0)[1]
    assert not np.iscomplexobj(t)
    assert t == pytest.approx(1 / np.sqrt(5))  # Re(z̄ · 1) / |z|
    t = dd.jvp(lambda z: np.abs(np.exp(z)), z, 1.0)[1]  # |e^z| = e^x
    assert not np.iscomplexobj(t) and t == pytest.approx(np.e)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_of_a_real_function_of_z(mode):
    z = 1 + 2j
    for f in (lambda z: np.abs(z * z), lambda z: np.abs(np.exp(z)), lambda z: np.real(z) * np.imag(z),
              lambda z: np.angle(z) + np.abs(z) ** 3, lambda z: np.abs(np.sin(z) * np.conj(z))):
        got = complex(dd.grad(f, z, mode=mode))
        assert got == pytest.approx(_grad_by_differences(f, z), rel=1e-7)
    assert complex(dd.grad(lambda z: np.abs(z * z), z, mode=mode)) == pytest.approx(2 - 4j)


def test_real_input_gets_a_real_cotangent_through_complex_constants():
    _, pullback = dd.vjp(lambda x: x + (0.4 + 1.2j), 0.4)
    g = pullback(1 + 1j)
    assert not np.iscomplexobj(g) and g == 1.0
    # through broadcasting, a constant factor and where
    x = np.array([0.5, -1.5])
    c = np.array([[1 + 2j, 3 - 1j], [0.5j, 2.0 + 0j]])
    f = lambda x: np.sum(np.abs(dd.where(np.array([True, False]), x * c, c + x)) ** 2)
    g = dd.grad(f, x)
    assert g.dtype == np.float64
    h = 1e-6
    fd = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-7)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_of_a_complex_valued_function_is_refused(mode):
    with pytest.raises(TypeError, match="grad needs a real-valued f.*dd.jvp.*dd.vjp"):
        dd.grad(lambda z: z * z, 1 + 2j, mode=mode)
    with pytest.raises(TypeError, match="grad needs a real-valued f"):
        dd.grad(lambda x: x * 1j, 2.0, mode=mode)


@pytest.mark.parametrize("fn", [np.maximum, dd.minimum])
def test_comparisons_refuse_complex_input(fn):
    with pytest.raises(TypeError, match="'(maximum|minimum)' is defined for real numbers only"):
        dd.grad(lambda z: np.abs(fn(z, 0.5)), 1 + 1j)
    with pytest.raises(TypeError, match="real numbers only"):
        dd.jvp(lambda z: fn(z, 0.5), 1 + 1j, 1.0)
    with pytest.raises(TypeError, match="real numbers only"):
        dd.jvp(lambda z: dd.relu(z), 1 + 1j, 1.0)


def test_complex_tangent_for_a_real_input_is_refused():
    with pytest.raises(TypeError, match="v is complex where x is real"):
        dd.jvp(np.sin, 1.0, 1j)
    with pytest.raises(TypeError, match="real primal needs a real tangent"):
        dd.Dual(1.0, 1j)
    with pytest.raises(TypeError, match="ybar is complex where f.x. is real"):
        dd.vjp(np.sin, 1.0)[1](1j)


def test_jacobians_with_complex_numbers():
    x = np.array([1.0, 2.0])
    want = np.diag([1 + 2j, 1 + 2j]) * np.cos(x * (1 + 2j))
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(dd.jacobian(lambda x: np.sin(x * (1 + 2j)), x, mode=mode), want)
    z = np.array([1 + 2j, 0.5 - 1j])
    for mode in ("forward", "reverse"):  # rows are gradients: 2·conj(z) on the diagonal
        np.testing.assert_allclose(dd.jacobian(lambda z: np.abs(z) ** 2, z, mode=mode),
                                   np.diag(2 * np.conj(z)))
        with pytest.raises(TypeError, match="only when f is holomorphic"):
            dd.jacobian(lambda z: z * z, z, mode=mode)
    with pytest.raises(TypeError, match="use dd.hvp|Use dd.hvp"):
        dd.hessian(lambda z: np.sum(np.abs(z) ** 2), z)
    np.testing.assert_allclose(dd.hvp(lambda z: np.sum(np.abs(z) ** 2), z, np.array([1j, 1.0])),
                               [-2j, 2.0])
