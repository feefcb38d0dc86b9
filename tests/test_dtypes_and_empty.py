"""Derivatives keep the inputs' precision, and empty inputs or outputs give empty Jacobians."""

import numpy as np

import dualdiff as dd


def test_float32_inputs_give_float32_derivatives_in_every_mode():
    x = np.array([1.0, 2.0], dtype=np.float32)
    f = lambda x: x ** 2  # noqa: E731
    for J in (dd.jacobian(f, x), dd.jacobian(f, x, mode="reverse"), dd.jacobian(f, x, chunk=2)):
        assert J.dtype == np.float32
        np.testing.assert_allclose(J, np.diag(2 * x))
    assert dd.grad(lambda x: np.sum(x ** 2), x).dtype == np.float32
    assert dd.grad(lambda x: np.sum(x ** 2), x, mode="forward").dtype == np.float32


def test_empty_inputs_and_outputs_give_empty_jacobians():
    for mode in ("forward", "reverse"):
        assert dd.jacobian(lambda x: x, np.array([]), mode=mode).shape == (0, 0)
        assert dd.jacobian(lambda x: x[:0], np.ones(3), mode=mode).shape == (0, 3)
        np.testing.assert_array_equal(dd.grad(lambda x: np.sum(x), np.array([]), mode=mode), [])
    _, info = dd.jacobian(lambda x: np.sum(x), np.array([]), full_output=True)
    assert info.passes == 0
