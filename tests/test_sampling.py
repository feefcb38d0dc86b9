"""What the table cases cannot cover for np.gradient, np.linspace, np.real_if_close and np.fft:
branches chosen from the values, degenerate sizes, and the errors for bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd


def test_real_if_close_drops_tiny_imaginary_parts_and_differentiates_the_real_part():
    x = np.array([1.0, -2.0, 0.5])
    g = dd.grad(lambda x: dd.sum(np.real_if_close(x * (1 + 1e-20j)) ** 2), x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-15)
    y = dd.jvp(lambda x: np.real_if_close(x * (1 + 0j)), x, np.ones(3))[1]
    assert not np.iscomplexobj(y)


def test_real_if_close_keeps_complex_values_that_are_not_close():
    z = np.array([1.0 + 1e-3j])
    out = dd.Dual(z, np.ones(1, dtype=complex))
    assert np.iscomplexobj(dd.real_if_close(out).primal)


def test_real_if_close_of_a_complex_value_refuses_dd_compile():
    f = dd.compile(lambda z: np.real_if_close(z))
    with pytest.raises(TypeError, match="real_if_close"):
        f(np.array([1.0 + 0j]))


def test_linspace_of_one_sample_is_start_with_a_zero_derivative_in_stop():
    y, t = dd.jvp(lambda b: np.linspace(0.5, b, 1), 2.0, 1.0)
    np.testing.assert_array_equal(y, np.linspace(0.5, 2.0, 1))
    np.testing.assert_array_equal(t, [0.0])
    y, t = dd.jvp(lambda a: np.linspace(a, 2.0, 1), 0.5, 1.0)
    np.testing.assert_array_equal(t, [1.0])


def test_linspace_retstep_and_errors():
    y, step = dd.linspace(dd.Dual(0.0, 1.0), 2.0, 5, retstep=True)
    assert step.primal == 0.5 and step.tangent == -0.25
    with pytest.raises(TypeError, match="integer"):
        np.linspace(dd.Dual(0.0, 1.0), 2.0, 3, dtype=int)
    with pytest.raises(ValueError, match="num"):
        dd.linspace(0.0, 1.0, -1)


def test_gradient_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="too small"):
        dd.gradient(np.ones(2), edge_order=2)
    with pytest.raises(ValueError, match="edge_order"):
        dd.gradient(np.ones(4), edge_order=3)
    with pytest.raises(ValueError, match="match the length"):
        dd.gradient(np.ones(4), np.arange(3.0))
    with pytest.raises(TypeError, match="spacings"):
        dd.gradient(np.ones((3, 3)), 1.0, 2.0, 3.0)


def test_gradient_of_integer_samples_is_float_as_numpy():
    out = dd.gradient(np.arange(4))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.gradient(np.arange(4)))


def test_gradient_float32_stays_float32():
    out = dd.gradient(dd.Dual(np.arange(4, dtype=np.float32), np.ones(4, dtype=np.float32)))
    assert out.primal.dtype == np.float32


@pytest.mark.parametrize("call, error, match", [
    (lambda: dd.fft.fft(np.ones(3), norm="unitary"), ValueError, "norm"),
    (lambda: dd.fft.fft(np.ones(3), 0), ValueError, "data points"),
    (lambda: dd.fft.fft(np.ones(3), axis=1), ValueError, "out of bounds"),
    (lambda: dd.fft.fft(2.0), ValueError, "dimension"),
    (lambda: dd.fft.fftn(np.ones((2, 2)), s=(2, 2, 2), axes=(0, 1)), ValueError, "lengths"),
    (lambda: dd.fft.rfft(np.ones(3) + 1j), TypeError, "real input"),
    (lambda: np.fft.fft(dd.Dual(np.ones(3)), out=np.empty(3, complex)), TypeError, "out="),
])
def test_fft_errors_say_what_is_wrong(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_fft_float32_gives_complex64_as_numpy():
    x = np.arange(4, dtype=np.float32)
    d = np.fft.rfft(dd.Dual(x, np.ones(4, dtype=np.float32)))
    assert d.primal.dtype == np.fft.rfft(x).dtype == np.complex64
