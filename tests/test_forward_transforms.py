"""Forward-mode transformations: derivative, jvp, jacobian (chunk 1, k, "auto"), grad(mode="forward").

Jacobians are checked against the complex-step oracle on reference functions written here with
numpy; pass counts are checked both against ``info.passes`` and by counting how many times f
was actually called (each forward pass calls f exactly once).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import dualdiff as dd
from oracles import check_close, complex_step_jacobian, complex_step_jvp


# --------------------------------------------------------------------------------------------
# (1) The worked example: f(x) = log x1 + x1·x2 − sin x2 at (2, 5)
# --------------------------------------------------------------------------------------------

def worked(x):
    return np.log(x[0]) + x[0] * x[1] - np.sin(x[1])


VALUE = 11.652071455223084
GRADIENT = np.array([5.5, 1.7163378145367738])


def test_worked_example_value_and_gradient():
    g = dd.grad(worked, [2.0, 5.0], mode="forward")
    np.testing.assert_allclose(g, GRADIENT, rtol=1e-15)
    value, tangent = dd.jvp(worked, np.array([2.0, 5.0]), np.array([1.0, 0.0]))
    assert value == pytest.approx(VALUE, rel=1e-15)
    assert tangent == pytest.approx(5.5, rel=1e-15)
    _, tangent = dd.jvp(worked, np.array([2.0, 5.0]), np.array([0.0, 1.0]))
    assert tangent == pytest.approx(GRADIENT[1], rel=1e-15)
    # against the closed form, independently of the constants above
    np.testing.assert_allclose(GRADIENT, [1 / 2 + 5, 2 - math.cos(5)], rtol=1e-15)
    assert VALUE == pytest.approx(math.log(2) + 10 - math.sin(5), rel=1e-15)


@pytest.mark.parametrize("chunk, passes", [(1, 2), (2, 1)])
def test_worked_example_pass_counts(chunk, passes):
    calls = []

    def f(x):
        calls.append(1)
        return worked(x)

    J, info = dd.jacobian(f, [2, 5], chunk=chunk, full_output=True)  # integer input
    np.testing.assert_allclose(J, GRADIENT, rtol=1e-15)
    assert J.dtype == np.float64
    assert info.passes == passes and len(calls) == passes
    assert info.mode == "forward" and info.chunk == chunk


def test_worked_example_with_hand_built_duals():
    y = worked([dd.Dual(2.0, 1.0), dd.Dual(5.0, 0.0)])
    assert y.primal == pytest.approx(VALUE, rel=1e-15)
    assert y.tangent == pytest.approx(5.5, rel=1e-15)
    y = worked(dd.Dual(np.array([2.0, 5.0]), np.eye(2)))  # both directions in one pass
    np.testing.assert_allclose(y.tangent, GRADIENT, rtol=1e-15)


# --------------------------------------------------------------------------------------------
# derivative
# --------------------------------------------------------------------------------------------

def test_derivative_of_scalar_functions():
    assert dd.derivative(lambda x: x ** 3, 2.0) == pytest.approx(12.0)
    assert dd.derivative(lambda x: x ** 3, 2) == pytest.approx(12.0)  # integer x
    x = 0.7
    ref = lambda z: np.exp(np.sin(z)) / (1 + z * z)  # noqa: E731
    d = dd.derivative(lambda z: dd.exp(dd.sin(z)) / (1 + z * z), x)
    check_close(d, complex_step_jvp(ref, [x], [1.0]))


def test_derivative_of_array_valued_function_has_its_shape():
    d = dd.derivative(lambda t: dd.stack([t, t ** 2, np.sin(t)]), 1.5)
    check_close(d, [1.0, 3.0, math.cos(1.5)])
    d = dd.derivative(lambda t: t * np.ones((2, 3)), 1.5)
    assert np.shape(d) == (2, 3)
    check_close(d, np.ones((2, 3)))


def test_derivative_of_list_output_is_stacked():
    d = dd.derivative(lambda t: [t * t, 3.0 * t], 2.0)
    check_close(d, [4.0, 3.0])


def test_nested_derivatives():
    # second derivative of sin is -sin
    d2 = dd.derivative(lambda x: dd.derivative(dd.sin, x), 0.4)
    assert d2 == pytest.approx(-math.sin(0.4), rel=1e-14)
    # perturbation confusion: d/dx [x · d/dy (x + y) at y = 1] at x = 1 is 1, not 2
    out = dd.derivative(lambda x: x * dd.derivative(lambda y: x + y, 1.0), 1.0)
    assert out == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# jvp
# --------------------------------------------------------------------------------------------

def test_jvp_of_vector_function():
    A = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]])
    x = np.array([0.2, -0.4, 1.1])
    v = np.array([1.0, 0.5, -2.0])

    def f(z):
        return dd.tanh(A @ z) * z[0] + dd.sum(z ** 2)

    ref = lambda z: np.tanh(A @ z) * z[0] + np.sum(z ** 2)  # noqa: E731
    value, tangent = dd.jvp(f, x, v)
    check_close(value, ref(x))
    check_close(tangent, complex_step_jvp(ref, [x], [v]))
    assert np.shape(tangent) == (2,)


def test_jvp_of_matrix_input_and_list_inputs():
    X = np.array([[1.0, 2.0], [0.5, -1.0]])
    V = np.array([[0.0, 1.0], [1.0, 0.0]])
    value, tangent = dd.jvp(lambda M: M @ M, X, V)
    check_close(value, X @ X)
    check_close(tangent, V @ X + X @ V)
    value, tangent = dd.jvp(lambda z: z * z, [1, 2], [1, 1])  # lists of ints
    check_close(value, [1.0, 4.0])
    check_close(tangent, [2.0, 4.0])
    value, tangent = dd.jvp(lambda z: z * z, 3, 1)  # numbers
    assert value == 9.0 and tangent == 6.0


def test_jvp_of_list_and_tuple_outputs_is_stacked():
    x, v = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    for wrap in (list, tuple):
        value, tangent = dd.jvp(lambda z: wrap([z[0] * z[1], dd.sin(z[1]), 7.0]), x, v)
        check_close(value, [2.0, math.sin(2.0), 7.0])
        check_close(tangent, [2.0 - 1.0, -math.cos(2.0), 0.0])


def test_jvp_of_constant_function():
    value, tangent = dd.jvp(lambda z: np.ones((2, 3)), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(value, np.ones((2, 3)))
    np.testing.assert_array_equal(tangent, np.zeros((2, 3)))


@pytest.mark.parametrize("x, v", [
    (np.zeros(2), np.zeros(3)), (np.zeros((2, 3)), np.zeros((3, 2))), (np.zeros(3), 1.0),
    (2.0, np.zeros(2)),
])
def test_jvp_with_v_of_wrong_shape_names_both_shapes(x, v):
    with pytest.raises(ValueError) as info:
        dd.jvp(lambda z: z, x, v)
    msg = str(info.value)
    assert str(np.shape(x)) in msg and str(np.shape(v)) in msg, msg


# --------------------------------------------------------------------------------------------
# (4) jacobian: R^n -> R^m, matrix inputs/outputs, chunk 1, 3 and auto, pass counts
# --------------------------------------------------------------------------------------------

RNG = np.random.default_rng(7)
A34 = RNG.normal(size=(3, 4))
B23 = RNG.normal(size=(2, 3))

# name: (dualdiff-side function, numpy reference, x)
MAPS = {
    "R4-to-R3": (
        lambda x: dd.sin(A34 @ x) + x[:3] * x[1:],
        lambda x: np.sin(A34 @ x) + x[:3] * x[1:],
        RNG.uniform(-1, 1, size=4)),
    "R5-to-R2": (
        lambda x: dd.stack([dd.sum(dd.exp(x) * x), dd.logsumexp(x * x[::-1])]),
        lambda x: np.stack([np.sum(np.exp(x) * x), np.log(np.sum(np.exp(x * x[::-1])))]),
        RNG.uniform(-1, 1, size=5)),
    "R7-to-R7": (
        lambda x: dd.softmax(x) * dd.log1p(x * x),
        lambda x: np.exp(x) / np.sum(np.exp(x)) * np.log1p(x * x),
        RNG.uniform(-1, 1, size=7)),
    "R4-to-scalar": (
        lambda x: dd.sqrt(1.0 + dd.dot(x, x)) / (2.0 + dd.cos(x[0])),
        lambda x: np.sqrt(1.0 + np.dot(x, x)) / (2.0 + np.cos(x[0])),
        RNG.uniform(-1, 1, size=4)),
    "matrix-to-matrix": (
        lambda X: X @ X.T + dd.tanh(X) @ B23.T,
        lambda X: X @ X.T + np.tanh(X) @ B23.T,
        RNG.uniform(-1, 1, size=(2, 3))),
    "matrix-to-vector": (
        lambda X: dd.sum(X * X, axis=0) + dd.arctan(X[0]) * X[1],
        lambda X: np.sum(X * X, axis=0) + np.arctan(X[0]) * X[1],
        RNG.uniform(-1, 1, size=(2, 3))),
    "vector-to-3d": (
        lambda x: dd.reshape(dd.concatenate([x * x, dd.sigmoid(x)]), (2, 2, 2)),
        lambda x: np.reshape(np.concatenate([x * x, 1 / (1 + np.exp(-x))]), (2, 2, 2)),
        RNG.uniform(-1, 1, size=4)),
    "3d-to-matrix": (
        lambda X: dd.transpose(X, (1, 0, 2))[:, 0, :] * dd.mean(X, axis=(0, 1)),
        lambda X: np.transpose(X, (1, 0, 2))[:, 0, :] * np.mean(X, axis=(0, 1)),
        RNG.uniform(-1, 1, size=(2, 3, 2))),
    "numpy-dispatch": (
        lambda x: np.maximum(np.exp(x), 0.1) @ A34.T + np.where(x > 10, x, x ** 3)[:3].sum(),
        lambda x: np.exp(x) @ A34.T + np.sum((x ** 3)[:3]),  # exp(x) > 0.1 at these x
        RNG.uniform(-1, 1, size=4)),
    "list-of-scalars": (
        lambda x: [x[0] * x[1], dd.sin(x[2]), x[0] / x[2]],
        lambda x: np.stack([x[0] * x[1], np.sin(x[2]), x[0] / x[2]]),
        RNG.uniform(0.5, 1, size=3)),
    "tuple-with-constant": (
        lambda x: (x[0] ** 2, 4.0, dd.exp(x[1])),
        lambda x: np.stack([x[0] ** 2, 4.0 + 0 * x[0], np.exp(x[1])]),
        RNG.uniform(-1, 1, size=2)),
}


@pytest.mark.parametrize("name", list(MAPS))
@pytest.mark.parametrize("chunk", [1, 3, "auto"])
def test_jacobian_against_complex_step(name, chunk):
    f, ref, x = MAPS[name]
    calls = []

    def counted(z):
        calls.append(1)
        return f(z)

    J, info = dd.jacobian(counted, x, chunk=chunk, full_output=True)
    expected = complex_step_jacobian(ref, x)
    assert np.shape(J) == np.shape(ref(x)) + np.shape(x)
    check_close(J, expected, what=f"{name} chunk={chunk}")
    n = np.size(x)
    k = dd.auto_chunk(n) if chunk == "auto" else chunk
    assert info.passes == math.ceil(n / k) == len(calls)
    assert info.mode == "forward"
    assert info.chunk == min(k, n)
    # the default is forward mode with chunk="auto" (issue #7): as few passes as auto_chunk says
    calls.clear()
    J1 = dd.jacobian(counted, x)
    check_close(J1, expected)
    assert len(calls) == math.ceil(n / dd.auto_chunk(n))


@pytest.mark.parametrize("n, chunk, passes", [
    (1, 1, 1), (6, 1, 6), (6, 3, 2), (7, 3, 3), (6, 6, 1), (6, 10, 1), (10, 4, 3), (6, "auto", 1),
])
def test_pass_counts(n, chunk, passes):
    calls = []

    def f(x):
        calls.append(1)
        return x * x[::-1]

    x = np.linspace(-1, 1, n)
    J, info = dd.jacobian(f, x, chunk=chunk, full_output=True)
    assert info.passes == passes == len(calls)
    check_close(J, complex_step_jacobian(lambda z: z * z[::-1], x))


def test_auto_chunk_rule():
    # the documented examples, and the rule's promises: at most 2**22 tangent elements per
    # input-sized value, as few passes as that allows, and passes of (almost) equal size
    assert dd.auto_chunk(2) == 2 and dd.auto_chunk(70) == 70 and dd.auto_chunk(3000) == 1000
    cap = dd.transforms.AUTO_CHUNK_ELEMENTS
    for n in [1, 5, 63, 64, 65, 128, 129, 1000, 2048, 2049, 3000, 10 ** 5, 10 ** 6]:
        k = dd.auto_chunk(n)
        assert 1 <= k <= n and k * n <= max(cap, n)
        assert math.ceil(n / k) == math.ceil(n / max(1, cap // n))


def test_auto_chunk_used_by_jacobian_for_a_larger_input():
    n = 3000
    calls = []

    def f(x):
        calls.append(1)
        return dd.sin(x[:5]) * x[0]

    x = np.linspace(-1, 1, n)
    J, info = dd.jacobian(f, x, chunk="auto", full_output=True)
    assert info.chunk == dd.auto_chunk(n) == 1000
    assert info.passes == 3 == len(calls)
    check_close(J, complex_step_jacobian(lambda z: np.sin(z[:5]) * z[0], x))


@pytest.mark.parametrize("x", [3.0, 3, [1.0, 2.0], [1, 2], np.array([[1.0, 2.0], [3.0, 4.0]])],
                         ids=["float", "int", "list", "int-list", "matrix"])
def test_jacobian_input_kinds_give_float_results(x):
    J = dd.jacobian(lambda z: z * z, x)
    xa = np.asarray(x, dtype=float)
    assert np.shape(J) == xa.shape + xa.shape
    assert np.asarray(J).dtype == np.float64
    expected = np.diag(2 * xa.ravel()).reshape(xa.shape + xa.shape)
    check_close(J, expected)


@pytest.mark.parametrize("chunk", [1, 3, "auto"])
@pytest.mark.parametrize("const, out_shape", [
    (lambda x: 3.0, ()), (lambda x: 2, ()), (lambda x: np.ones((2, 3)), (2, 3)),
    (lambda x: [1.0, 2.0], (2,)), (lambda x: np.where(x[0, 0] > 0, 1.0, 0.0), ()),
    (lambda x: 5.0 if x[0, 0] > 0 else 6.0, ()),
], ids=["float", "int", "array", "list", "via-where-cond", "via-branch"])
def test_constant_function_gives_zeros_of_the_right_shape(const, out_shape, chunk):
    x = np.array([[0.5, 1.0], [1.5, 2.0]])
    J, info = dd.jacobian(const, x, chunk=chunk, full_output=True)
    assert np.shape(J) == out_shape + x.shape
    np.testing.assert_array_equal(J, np.zeros(out_shape + x.shape))
    if out_shape == ():
        g = dd.grad(const, x, mode="forward")
        assert np.shape(g) == x.shape
        np.testing.assert_array_equal(g, np.zeros(x.shape))


def test_constant_function_for_derivative_and_grad():
    assert dd.derivative(lambda t: 4.0, 1.0) == 0.0
    np.testing.assert_array_equal(dd.derivative(lambda t: np.ones(3), 1.0), np.zeros(3))
    assert dd.grad(lambda t: 4.0, 2.0, mode="forward") == 0.0


# --------------------------------------------------------------------------------------------
# grad(mode="forward")
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [1, 3, "auto"])
def test_grad_forward_has_x_shape(chunk):
    X = np.array([[0.3, -0.5, 1.2], [0.7, 0.1, -0.9]])
    f = lambda M: dd.sum(dd.sin(M) * M[0]) + dd.logsumexp(M)  # noqa: E731
    ref = lambda M: np.sum(np.sin(M) * M[0]) + np.log(np.sum(np.exp(M)))  # noqa: E731
    g = dd.grad(f, X, mode="forward", chunk=chunk)
    assert np.shape(g) == X.shape
    check_close(g, complex_step_jacobian(ref, X))


def test_grad_forward_of_scalar_and_list_input():
    assert dd.grad(lambda t: t ** 3, 2.0, mode="forward") == pytest.approx(12.0)
    g = dd.grad(lambda z: z[0] * z[1], [2, 5], mode="forward")
    assert np.asarray(g).dtype == np.float64
    check_close(g, [5.0, 2.0])


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("out", [lambda x: x * 2.0, lambda x: dd.reshape(dd.sum(x), (1,)),
                                 lambda x: [x[0], x[1]]], ids=["vector", "shape-1", "list"])
def test_grad_of_non_scalar_output_suggests_jacobian(out, mode):
    with pytest.raises(ValueError) as info:
        dd.grad(out, np.array([1.0, 2.0]), mode=mode)
    assert "jacobian" in str(info.value), str(info.value)


# --------------------------------------------------------------------------------------------
# (5) Error paths
# --------------------------------------------------------------------------------------------

NON_NUMERIC = [
    (lambda x: "abc", "str"), (lambda x: None, "NoneType"), (lambda x: {"a": x}, "dict"),
    (lambda x: object(), "object"), (lambda x: [x[0], "a"], "str"),
]


@pytest.mark.parametrize("f, type_name", NON_NUMERIC, ids=[t for _, t in NON_NUMERIC])
@pytest.mark.parametrize("transform", [
    lambda f: dd.jacobian(f, np.array([1.0, 2.0])),
    lambda f: dd.jacobian(f, np.array([1.0, 2.0]), chunk=2),
    lambda f: dd.jvp(f, np.array([1.0, 2.0]), np.array([1.0, 0.0])),
    lambda f: dd.grad(f, np.array([1.0, 2.0]), mode="forward"),
    lambda f: dd.derivative(lambda t: f(dd.stack([t, t])), 1.0),
], ids=["jacobian", "jacobian-chunk", "jvp", "grad", "derivative"])
def test_non_numeric_output_is_a_type_error(transform, f, type_name):
    with pytest.raises(TypeError) as info:
        transform(f)
    msg = str(info.value)
    assert "output" in msg and type_name in msg, msg


def test_not_callable_is_a_type_error():
    for transform in (lambda: dd.jacobian(3.0, 1.0), lambda: dd.jvp("f", 1.0, 1.0),
                      lambda: dd.derivative(None, 1.0), lambda: dd.grad(1, 1.0, mode="forward")):
        with pytest.raises(TypeError, match="function"):
            transform()


@pytest.mark.parametrize("chunk, error", [(0, ValueError), (-2, ValueError), ("fast", ValueError),
                                          (1.5, TypeError), (True, TypeError)])
def test_bad_chunk(chunk, error):
    with pytest.raises(error, match="chunk"):
        dd.jacobian(lambda x: x, np.ones(3), chunk=chunk)


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        dd.jacobian(lambda x: x, np.ones(3), mode="sideways")
    with pytest.raises(ValueError, match="mode"):
        dd.grad(lambda x: dd.sum(x), np.ones(3), mode="backward")


def test_derivative_of_non_scalar_x():
    with pytest.raises(ValueError) as info:
        dd.derivative(lambda x: x, np.ones(3))
    assert "(3,)" in str(info.value) and "scalar" in str(info.value)


def test_non_numeric_x_is_a_type_error():
    with pytest.raises(TypeError, match="number"):
        dd.jacobian(lambda x: x, "abc")
    with pytest.raises(TypeError, match="number"):
        dd.jvp(lambda x: x, [1.0, 2.0], ["a", "b"])


def test_math_module_inside_a_transform_raises_with_advice():
    import math as m
    with pytest.raises(TypeError, match=r"dd\.sin|np\.sin"):
        dd.derivative(lambda x: m.sin(x), 1.0)
    with pytest.raises(TypeError, match=r"dd\.sin|np\.sin"):
        dd.jacobian(lambda x: float(x[0]) * x, np.ones(2))


def test_numpy_function_without_rule_inside_a_transform():
    with pytest.raises(TypeError, match="i0"):
        dd.jacobian(lambda x: np.i0(x), np.ones(3))


def test_leaked_dual_is_refused():
    kept = []

    def f(x):
        kept.append(x)
        return x * 2.0

    dd.derivative(f, 1.0)
    with pytest.raises(ValueError, match="escaped"):
        dd.derivative(lambda y: y * kept[0], 1.0)


def test_one_pass_jacobian_is_the_callers_own_array():
    # One forward pass hands its tangent back as J without a copy (dualdiff.transforms
    # _fresh_array); a seed or a shared array must still come back as a fresh copy.
    A = np.arange(9.0).reshape(3, 3) / 10
    J = dd.jacobian(lambda z: np.tanh(A @ z), np.ones(3), chunk=3)
    np.testing.assert_allclose(J, (1 - np.tanh(A @ np.ones(3)) ** 2)[:, None] * A, rtol=1e-14)
    J[:] = 7.0  # the caller may write into it
    I1 = dd.jacobian(lambda z: z, np.ones(3), chunk=3)
    I1[0, 0] = 5.0
    I2 = dd.jacobian(lambda z: z, np.ones(3), chunk=3)
    assert I2[0, 0] == 1.0 and np.array_equal(I2, np.eye(3))
