"""Derivatives keep the inputs' precision, and empty inputs or outputs give empty Jacobians."""

import numpy as np
import pytest

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


_X32 = np.float32(2.0)
_V32 = np.array([1.0, 2.0], dtype=np.float32)


@pytest.mark.parametrize("call, want", [
    # second derivatives of a float32 point (a 0-d scalar and a vector): float32, as the first
    (lambda: dd.hessian(lambda x: np.sum(np.sin(x) * x), _X32),
     2 * np.cos(2.0) - 2.0 * np.sin(2.0)),
    (lambda: dd.hessian(lambda x: np.sum(np.sin(x) * x), np.asarray(_X32)),
     2 * np.cos(2.0) - 2.0 * np.sin(2.0)),
    (lambda: dd.hessian(lambda p: p[0] * p[1] ** 2, (_X32, np.float32(3.0)))[0][1], 6.0),
    # the gradient of a function linear in x is the float32 seed itself, under an outer pass
    (lambda: dd.jvp(lambda z: dd.grad(lambda y: np.sum(y), z), _X32, np.float32(1))[0], 1.0),
    (lambda: dd.jvp(lambda z: dd.grad(lambda y: y, z), _X32, np.float32(1))[1], 0.0),
    (lambda: dd.jvp(lambda z: dd.jacobian(lambda y: 2 * y, z, mode="reverse"), _V32, _V32)[0],
     2 * np.eye(2)),
    (lambda: dd.jvp(lambda z: dd.jacobian(lambda y: 2 * y, z), _V32, _V32)[1], np.zeros((2, 2))),
    # a float32 output that does not depend on x: a float32 zero tangent
    (lambda: dd.jvp(lambda z: np.ones(2, np.float32), _X32, np.float32(1))[1], np.zeros(2)),
    (lambda: dd.jacobian(lambda z: np.ones(2, np.float32), _V32), np.zeros((2, 2))),
], ids=["hessian-0d-scalar", "hessian-0d-array", "hessian-blocks", "jvp-of-grad-value",
        "jvp-of-grad-tangent", "jvp-of-reverse-jacobian", "jvp-of-forward-jacobian",
        "constant-output-jvp", "constant-output-jacobian"])
def test_float32_stays_float32_through_nested_transforms(call, want):
    got = call()
    assert np.asarray(got).dtype == np.float32, f"{np.asarray(got).dtype}: {got!r}"
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-6)


_ONES = np.ones(3)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("f, x, want, dtype", [
    # an integer constant on the way: the gradient is still float (it was int64 in reverse mode)
    (lambda x: np.sum(np.array([1, 2, 3]) * x), _ONES, [1.0, 2.0, 3.0], np.float64),
    # a float32 computation inside: a float64 x still gets a float64 gradient (forward mode
    # gave f's output dtype)
    (lambda x: np.sum(x.astype(np.float32) * 2), _ONES, [2.0, 2.0, 2.0], np.float64),
    (lambda x: np.float32(2.0) * x[0] * x[1], [2.0, 3.0], [6.0, 4.0], np.float64),
    (lambda p: np.sum(p[0].astype(np.float32)) + p[1], (_ONES, 2.0), [1.0, 1.0, 1.0], np.float64),
    # and a float32 x a float32 one, whatever f computes in
    (lambda x: np.sum(x.astype(np.float64) ** 2), _ONES.astype(np.float32), [2.0, 2.0, 2.0], np.float32),
    (lambda x: 3.0, _ONES.astype(np.float32), [0.0, 0.0, 0.0], np.float32),
], ids=["int-constant", "float32-inside", "float32-scalar-constant", "tuple-float32-inside",
        "float32-x-float64-inside", "float32-x-constant-f"])
def test_a_gradient_has_its_inputs_dtype_in_both_modes(f, x, want, dtype, mode):
    g = dd.grad(f, x, mode=mode)
    g = g[0] if isinstance(g, tuple) else g
    assert np.asarray(g).dtype == dtype, f"{np.asarray(g).dtype} for a {dtype.__name__} input"
    np.testing.assert_allclose(np.asarray(g, dtype=float), want, rtol=1e-7)
