"""Reverse mode: dd.Var, the tape and its sweep, vjp, grad, reverse-mode jacobian.

Expected values come from closed forms and from the complex-step / central-difference oracles
in tests/oracles.py, never from dualdiff alone; where forward and reverse mode are compared
with each other, that is in addition to an oracle.
"""

import gc
import math
import re
import sys
import weakref
from collections import namedtuple

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import buffers
from oracles import central_difference_jacobian, complex_step_jacobian

RNG = np.random.default_rng(1234)
A23 = RNG.normal(size=(2, 3))
A33 = RNG.normal(size=(3, 3))


# --------------------------------------------------------------------------------------------
# One operator surface: the same user function runs unchanged in both modes
# --------------------------------------------------------------------------------------------

def f_matvec_left(x):        # plain ndarray on the left of @
    return A23 @ x


def f_matvec_right(x):       # plain ndarray on the right
    return x[:2] @ A23


def f_numpy_ufuncs(x):
    return np.sin(x) * np.exp(x[0]) + np.tanh(x) / (2.0 + np.cos(x)) - np.arctan(x) ** 2


def f_indexing(x):
    return x[1:] * x[::-1][:2] + x[[0, 0]] + x[None, 2] - x[..., 1]


def f_stack(x):
    return np.stack([x[0] * x[1], np.sin(x[2]), x[1]])


def f_list_of_scalars(x):    # returning a list is read as a vector
    return [x[0] * x[1], np.sin(x[2]), x[0] ** 3]


def f_matrix_ops(x):
    M = x.reshape(1, 3) * A33            # (3, 3)
    return np.sum(M.T @ M, axis=0) + np.mean(M, axis=1) + np.dot(x, A33)


def f_concatenate_transpose(x):
    P = np.concatenate([x[:2], x[1:] ** 2])
    return np.transpose(np.outer(P, x)).ravel()[::3]


def f_control_flow(x):       # comparisons on traced values steer Python control flow
    y = x * 1.0
    if x[0] > 0:
        y = y * x[0]
    return np.where(x > 0.5, np.sin(y), y ** 2)


def f_scalar_output(x):
    return np.sum(x * x) * np.sin(x[0])


SURFACE_FUNCTIONS = [f_matvec_left, f_matvec_right, f_numpy_ufuncs, f_indexing, f_stack,
                     f_list_of_scalars, f_matrix_ops, f_concatenate_transpose, f_control_flow,
                     f_scalar_output]
SURFACE_X = np.array([0.7, -0.4, 1.3])


def oracle_out(f):
    """f wrapped for the complex-step oracle: list outputs become arrays."""
    def g(x):
        out = f(x)
        return np.array(out) if isinstance(out, list) else out
    return g


@pytest.mark.parametrize("f", SURFACE_FUNCTIONS, ids=lambda f: f.__name__)
def test_same_function_both_modes_match_complex_step(f):
    want = complex_step_jacobian(oracle_out(f), SURFACE_X)
    Jr, info = dd.jacobian(f, SURFACE_X, mode="reverse", full_output=True)
    Jf = dd.jacobian(f, SURFACE_X, mode="forward")
    assert Jr.shape == Jf.shape == want.shape
    np.testing.assert_allclose(Jr, want, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(Jf, want, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(Jr, Jf, rtol=1e-13, atol=1e-15)
    assert info.passes == max(1, want.size // SURFACE_X.size) == info.n_outputs


def test_non_smooth_functions_both_modes_match_central_differences():
    # abs, maximum, minimum, relu and where are not complex-analytic: central differences,
    # evaluated away from every kink.
    def f(x):
        return np.maximum(x, 0.3) * np.abs(x) + dd.relu(x - 0.1) * np.minimum(x[0], x) \
            + np.where(x > 0, np.sqrt(np.abs(x)), x ** 2)

    x = np.array([0.8, -0.6, 1.7, -1.2])
    want = central_difference_jacobian(f, x)
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(dd.jacobian(f, x, mode=mode), want, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("mode, cls", [("reverse", "Var"), ("forward", "Dual")])
def test_grad_hands_f_the_mode_s_traced_type(mode, cls):
    seen = []

    def f(x):
        seen.append(type(x).__name__)
        return np.sum(x)

    dd.grad(f, np.ones(2), mode=mode)
    assert seen and set(seen) == {cls}


def test_grad_default_mode_is_reverse():
    seen = []
    dd.grad(lambda x: seen.append(type(x)) or np.sum(x * x), np.ones(3))
    assert seen == [dd.Var]


def test_var_looks_like_an_array():
    seen = {}

    def f(x):
        seen.update(shape=x.shape, ndim=x.ndim, size=x.size, len=len(x), dtype=x.dtype,
                    np_shape=np.shape(x), T=x.T.shape, item=type(x[0]).__name__)
        return np.sum(x)

    dd.grad(f, np.ones((2, 3)))
    assert seen == dict(shape=(2, 3), ndim=2, size=6, len=2, dtype=np.float64, np_shape=(2, 3),
                        T=(3, 2), item="Var")


# --------------------------------------------------------------------------------------------
# vjp
# --------------------------------------------------------------------------------------------

def test_vjp_value_and_pullback_against_complex_step():
    def f(X):
        return np.sin(X @ A33) * X[:, :1]

    X = RNG.normal(size=(4, 3))
    J = complex_step_jacobian(f, X)                 # (4, 3, 4, 3)
    value, pullback = dd.vjp(f, X)
    np.testing.assert_allclose(value, f(X), rtol=1e-15)
    for _ in range(3):
        ybar = RNG.normal(size=(4, 3))
        g = pullback(ybar)
        assert g.shape == X.shape
        np.testing.assert_allclose(g, np.tensordot(ybar, J, axes=2), rtol=1e-13, atol=1e-14)


def test_vjp_calls_f_once_and_pullback_never_calls_it():
    calls = []

    def plain(x):
        return np.sin(x) * x[0]

    def f(x):
        calls.append(1)
        return plain(x)

    x = np.array([0.5, 1.5, -2.0])
    value, pullback = dd.vjp(f, x)
    assert len(calls) == 1
    J = complex_step_jacobian(plain, x)
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1.0
        np.testing.assert_allclose(pullback(e), J[i], rtol=1e-14, atol=1e-15)
    assert len(calls) == 1


def test_vjp_pullback_is_linear_and_repeatable():
    f = lambda x: np.exp(x) * np.sum(x ** 2)
    x = np.array([0.3, -0.2, 0.9])
    _, pullback = dd.vjp(f, x)
    u, w = RNG.normal(size=3), RNG.normal(size=3)
    first = pullback(u)
    np.testing.assert_array_equal(pullback(u), first)   # sweeping twice changes nothing
    np.testing.assert_allclose(pullback(2.0 * u - 3.0 * w), 2.0 * first - 3.0 * pullback(w),
                               rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("xshape, yshape, bad", [
    ((3,), (3,), (4,)),
    ((3,), (3,), ()),
    ((2, 3), (2, 3), (3, 2)),
    ((2, 3), (), (1,)),
    ((), (), (1, 1)),
])
def test_vjp_wrong_ybar_shape_names_both_shapes(xshape, yshape, bad):
    x = np.ones(xshape) if xshape else 1.0
    f = (lambda x: x * 2.0) if yshape == xshape else (lambda x: np.sum(x))
    _, pullback = dd.vjp(f, x)
    with pytest.raises(ValueError) as exc:
        pullback(np.ones(bad) if bad else 1.0)
    msg = str(exc.value)
    assert "ybar" in msg and str(yshape) in msg and str(bad) in msg


def test_vjp_ybar_must_be_numeric():
    _, pullback = dd.vjp(lambda x: x * 2.0, np.ones(2))
    with pytest.raises(TypeError, match=r"ybar must be a number or an array of numbers"):
        pullback(np.array(["a", "b"]))


def test_vjp_scalar_in_scalar_out():
    value, pullback = dd.vjp(lambda x: x ** 3, 2.0)
    assert float(value) == 8.0
    g = pullback(1.0)
    assert np.shape(g) == () and float(g) == 12.0
    assert float(pullback(0.5)) == 6.0


def test_vjp_list_output_is_a_vector():
    value, pullback = dd.vjp(lambda x: [x[0] * x[1], x[1] ** 2], np.array([2.0, 3.0]))
    np.testing.assert_array_equal(value, [6.0, 9.0])
    np.testing.assert_array_equal(pullback(np.array([1.0, 10.0])), [3.0, 2.0 + 60.0])


def test_vjp_identity_and_constant_functions():
    x = np.array([1.0, 2.0])
    _, pullback = dd.vjp(lambda x: x, x)
    np.testing.assert_array_equal(pullback(np.array([3.0, 4.0])), [3.0, 4.0])
    value, pullback = dd.vjp(lambda x: np.ones(3), x)
    np.testing.assert_array_equal(value, np.ones(3))
    g = pullback(np.ones(3))
    assert g.shape == (2,) and not np.any(g)


def test_vjp_containers_keep_their_structure():
    W, b = RNG.normal(size=(2, 3)), RNG.normal(size=2)
    x = RNG.normal(size=3)
    f = lambda p: np.tanh(p[0] @ x + p[1])
    value, pullback = dd.vjp(f, (W, b))
    ybar = np.array([1.0, -2.0])
    gW, gb = pullback(ybar)
    d = ybar * (1 - np.tanh(W @ x + b) ** 2)
    np.testing.assert_allclose(gW, np.outer(d, x), rtol=1e-14)
    np.testing.assert_allclose(gb, d, rtol=1e-14)

    value, pullback = dd.vjp(lambda p: np.tanh(p["W"] @ x + p["b"]), {"W": W, "b": b})
    g = pullback(ybar)
    assert isinstance(g, dict) and list(g) == ["W", "b"]
    np.testing.assert_allclose(g["W"], np.outer(d, x), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# grad
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("shape", [(3,), (2, 2), (1, 3)])
def test_grad_of_non_scalar_output_suggests_jacobian(mode, shape):
    with pytest.raises(ValueError) as exc:
        dd.grad(lambda x: x * 2.0, np.ones(shape), mode=mode)
    msg = str(exc.value)
    assert "scalar" in msg and str(shape) in msg and "jacobian" in msg


def test_grad_against_complex_step_matrix_input():
    f = lambda X: np.sum(np.sin(X @ X.T)) + np.sum(np.exp(X[0]) * X[1])
    X = RNG.normal(size=(2, 3))
    g = dd.grad(f, X)
    assert g.shape == X.shape
    np.testing.assert_allclose(g, complex_step_jacobian(f, X), rtol=1e-13, atol=1e-14)


def test_grad_scalar_input_returns_a_scalar():
    g = dd.grad(lambda x: np.sin(x) * x, 0.8)
    assert np.shape(g) == ()
    assert float(g) == pytest.approx(math.cos(0.8) * 0.8 + math.sin(0.8), rel=1e-15)


def test_grad_of_function_that_ignores_x_is_zero_with_x_shape():
    g = dd.grad(lambda x: 3.0, np.ones((2, 3)))
    assert g.shape == (2, 3) and not np.any(g)
    g = dd.grad(lambda p: np.sum(p[0] ** 2), (np.ones(2), np.ones(3)))
    np.testing.assert_array_equal(g[0], [2.0, 2.0])
    assert g[1].shape == (3,) and not np.any(g[1])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_containers_tuple_dict_nested_namedtuple(mode):
    W1, b1 = RNG.normal(size=(4, 3)), RNG.normal(size=4)
    W2, b2 = RNG.normal(size=(2, 4)), RNG.normal(size=2)
    x = RNG.normal(size=3)

    def net(W1, b1, W2, b2):
        return np.sum(np.sin(W2 @ np.tanh(W1 @ x + b1) + b2))

    leaves = (W1, b1, W2, b2)
    flat = np.concatenate([a.ravel() for a in leaves])
    sizes = np.cumsum([a.size for a in leaves])[:-1]

    def net_flat(v):
        parts = np.split(v, sizes)
        return net(*(p.reshape(a.shape) for p, a in zip(parts, leaves)))

    want = np.split(complex_step_jacobian(net_flat, flat), sizes)
    want = [w.reshape(a.shape) for w, a in zip(want, leaves)]

    g = dd.grad(lambda p: net(*p), leaves, mode=mode)
    assert type(g) is tuple and len(g) == 4
    for got, w in zip(g, want):
        np.testing.assert_allclose(got, w, rtol=1e-13, atol=1e-14)

    g = dd.grad(lambda p: net(p["W1"], p["b1"], p["W2"], p["b2"]),
                dict(W1=W1, b1=b1, W2=W2, b2=b2), mode=mode)
    assert list(g) == ["W1", "b1", "W2", "b2"]
    for k, w in zip(g, want):
        np.testing.assert_allclose(g[k], w, rtol=1e-13, atol=1e-14)

    g = dd.grad(lambda p: net(p[0][0], p[0][1], p[1]["W2"], p[1]["b2"]),
                ((W1, b1), {"W2": W2, "b2": b2}), mode=mode)
    assert type(g[0]) is tuple and type(g[1]) is dict
    np.testing.assert_allclose(g[0][1], want[1], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(g[1]["b2"], want[3], rtol=1e-13, atol=1e-14)

    Layer = namedtuple("Layer", "W b")
    g = dd.grad(lambda p: net(p.W, p.b, W2, b2), Layer(W1, b1), mode=mode)
    assert isinstance(g, Layer)
    np.testing.assert_allclose(g.W, want[0], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_list_is_a_vector_not_a_container(mode):
    g = dd.grad(lambda x: x[0] * x[1] ** 2, [2, 5], mode=mode)
    assert isinstance(g, np.ndarray) and g.shape == (2,)
    np.testing.assert_array_equal(g, [25.0, 20.0])
    J = dd.jacobian(lambda x: x * x, [[1, 2], [3, 4]], mode=mode)
    assert J.shape == (2, 2, 2, 2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_of_containers(mode):
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    J = dd.jacobian(lambda p: np.outer(p[0], p[1]).ravel(), (x, y), mode=mode)
    assert type(J) is tuple and J[0].shape == (6, 2) and J[1].shape == (6, 3)
    want0 = np.kron(np.eye(2), y.reshape(3, 1))     # ∂(x_i y_j)/∂x_k = δ_ik y_j
    want1 = np.kron(x.reshape(2, 1), np.eye(3))     # ∂(x_i y_j)/∂y_k = x_i δ_jk
    np.testing.assert_array_equal(J[0], want0)
    np.testing.assert_array_equal(J[1], want1)


C3 = np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("f", [
    lambda x: np.sum(x * C3) + np.sum(x * C3),
    lambda x: x + x,
    lambda x: x * C3 + x,
    lambda x: (x + C3) + (x + C3),
    lambda x: x[0] + x[1:] * x[0] + x[0],
    lambda x: x * x + x,
], ids=["const-twice", "x+x", "x*c+x", "(x+c)+(x+c)", "index-reuse", "x*x+x"])
def test_sweeps_never_write_into_arrays_they_do_not_own(f):
    # Cotangents are summed into the grad_table, possibly in place; user arrays (x, ybar,
    # constants f closes over) and gradients already returned must never change.
    x = np.array([0.5, -1.0, 2.0])
    c0, x0 = C3.copy(), x.copy()
    y, pullback = dd.vjp(f, x)
    J = complex_step_jacobian(f, x)
    ybar = np.full(np.shape(y), 2.0)
    ybar0 = ybar.copy()
    g1 = pullback(ybar)
    g1_copy = np.array(g1, copy=True)
    g2 = pullback(3.0 * ybar)
    g3 = pullback(ybar)
    np.testing.assert_allclose(g1_copy, np.tensordot(ybar, J, axes=ybar.ndim), rtol=1e-15)
    np.testing.assert_array_equal(g1, g1_copy)
    np.testing.assert_array_equal(g3, g1_copy)
    np.testing.assert_allclose(g2, 3.0 * g1_copy, rtol=1e-15)
    np.testing.assert_array_equal(ybar, ybar0)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(C3, c0)


# --------------------------------------------------------------------------------------------
# Values used more than once receive the sum of their contributions
# --------------------------------------------------------------------------------------------

def test_value_used_twice_gets_both_contributions():
    assert dd.grad(lambda x: x * x, 3.0) == 6.0
    assert dd.grad(lambda x: x * np.sin(x) * x, 0.5) == pytest.approx(
        2 * 0.5 * math.sin(0.5) + 0.25 * math.cos(0.5), rel=1e-15)


def test_matrix_used_three_times():
    x = RNG.normal(size=3)
    f = lambda W: np.sum(np.sin(W @ (W @ (W @ x))))
    W = A33 * 0.5
    np.testing.assert_allclose(dd.grad(f, W), complex_step_jacobian(f, W), rtol=1e-13, atol=1e-14)


def test_repeated_index_gets_every_contribution():
    g = dd.grad(lambda x: np.sum(x[[0, 0, 2, 0]] * np.array([1.0, 2.0, 3.0, 4.0])), np.zeros(3))
    np.testing.assert_array_equal(g, [7.0, 0.0, 3.0])


def test_broadcast_parameters_sum_their_cotangents():
    X = RNG.normal(size=(4, 3))
    b, s = RNG.normal(size=3), 0.7
    f = lambda p: np.sum(np.sin(X * p[1] + p[0]))
    gb, gs = dd.grad(f, (b, s))
    C = np.cos(X * s + b)
    np.testing.assert_allclose(gb, C.sum(axis=0), rtol=1e-14)
    assert np.shape(gs) == () and float(gs) == pytest.approx(np.sum(C * X), rel=1e-13)


# --------------------------------------------------------------------------------------------
# matmul's adjoint rules: ∂l/∂W = ∂l/∂Y·Xᵀ, ∂l/∂X = Wᵀ·∂l/∂Y
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("wshape, xshape", [
    ((2, 3), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((3,), (3,)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 4)),
], ids=lambda s: "x".join(map(str, s)))
def test_matmul_adjoints_are_the_textbook_rules(wshape, xshape):
    W, X = RNG.normal(size=wshape), RNG.normal(size=xshape)
    Y, pullback = dd.vjp(lambda p: p[0] @ p[1], (W, X))
    np.testing.assert_allclose(Y, W @ X, rtol=1e-15)
    Ybar = RNG.normal(size=np.shape(W @ X))
    gW, gX = pullback(Ybar)
    assert gW.shape == W.shape and gX.shape == X.shape
    # Promote vectors to matrices, apply the rules, sum over broadcast batch axes, drop again.
    W2 = W[None, :] if W.ndim == 1 else W
    X2 = X[:, None] if X.ndim == 1 else X
    Yb2 = Ybar.reshape(np.shape(W2 @ X2))
    wantW = Yb2 @ np.swapaxes(X2, -1, -2)
    wantX = np.swapaxes(W2, -1, -2) @ Yb2
    wantW = wantW.reshape((-1,) + W2.shape[-2:]).sum(axis=0) if wantW.ndim > W2.ndim else wantW
    wantX = wantX.reshape((-1,) + X2.shape[-2:]).sum(axis=0) if wantX.ndim > X2.ndim else wantX
    np.testing.assert_allclose(gW, wantW.reshape(W.shape), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gX, wantX.reshape(X.shape), rtol=1e-13, atol=1e-14)


# --------------------------------------------------------------------------------------------
# Reverse-mode Jacobians: one recording, one sweep per output element
# --------------------------------------------------------------------------------------------

def make_map(n, m, seed):
    """A smooth R^n -> R^m map that mixes every input into every output (numpy only)."""
    r = np.random.default_rng(seed)
    A, B, c = r.normal(size=(m, n)), r.normal(size=(m, n)) / n, r.normal(size=m)

    def f(x):
        return np.tanh(A @ np.sin(x) + c) * np.exp(B @ x) + (A @ (x * x)) / (1.0 + np.sum(x * x))

    return f


@pytest.mark.parametrize("n", [1, 3, 7])
@pytest.mark.parametrize("m", [1, 3, 7])
def test_forward_and_reverse_jacobians_agree_with_complex_step(n, m):
    f = make_map(n, m, seed=10 * n + m)
    x = np.random.default_rng(n * m).normal(size=n)
    want = complex_step_jacobian(f, x)
    Jr, ir = dd.jacobian(f, x, mode="reverse", full_output=True)
    Jf, i_f = dd.jacobian(f, x, mode="forward", chunk=1, full_output=True)
    Ja = dd.jacobian(f, x, mode="forward", chunk="auto")
    assert Jr.shape == Jf.shape == Ja.shape == (m, n)
    for J in (Jr, Jf, Ja):
        np.testing.assert_allclose(J, want, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(Jr, Jf, rtol=1e-13, atol=1e-15)
    assert (ir.passes, ir.mode, ir.n_inputs, ir.n_outputs) == (m, "reverse", n, m)
    assert (i_f.passes, i_f.mode) == (n, "forward")


@pytest.mark.parametrize("xshape, f", [
    ((2, 3), lambda X: np.sin(X.T @ A23) * (X.T @ X)),            # (3, 3) from (2, 3)
    ((3, 3), lambda X: np.tanh(X @ X) - X.T),                     # (3, 3) from (3, 3)
    ((2, 2, 2), lambda X: np.exp(X.sum(axis=0) * 0.5)),           # (2, 2) from (2, 2, 2)
    ((4,), lambda x: np.outer(np.sin(x), x[:2]) @ A23),           # (4, 3) from (4,)
    ((2, 3), lambda X: np.sum(X ** 3, axis=1)),                   # (2,) from (2, 3)
], ids=["mat-mat", "square", "3d", "vec-mat", "mat-vec"])
def test_jacobians_of_matrix_shaped_maps(xshape, f):
    X = np.random.default_rng(3).normal(size=xshape)
    want = complex_step_jacobian(f, X)
    Jr, info = dd.jacobian(f, X, mode="reverse", full_output=True)
    Jf = dd.jacobian(f, X, mode="forward")
    assert Jr.shape == Jf.shape == np.shape(f(X)) + X.shape
    np.testing.assert_allclose(Jr, want, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(Jf, want, rtol=1e-12, atol=1e-13)
    assert info.passes == np.size(f(X)) == info.n_outputs


def test_jacobian_scalar_to_scalar_and_scalar_to_vector():
    J, info = dd.jacobian(lambda x: x ** 3, 2.0, mode="reverse", full_output=True)
    assert np.shape(J) == () and float(J) == 12.0 and info.passes == 1
    J, info = dd.jacobian(lambda x: [x, x ** 2, np.sin(x)], 2.0, mode="reverse", full_output=True)
    np.testing.assert_allclose(J, [1.0, 4.0, math.cos(2.0)], rtol=1e-15)
    assert J.shape == (3,) and info.passes == 3


def test_reverse_jacobian_records_f_once():
    calls = []

    def f(x):
        calls.append(1)
        return np.sin(x) * x[0]

    J, info = dd.jacobian(f, np.array([0.1, 0.2, 0.3, 0.4]), mode="reverse", full_output=True)
    assert len(calls) == 1 and info.passes == 4


# --------------------------------------------------------------------------------------------
# Deep tapes, leaked variables, memory
# --------------------------------------------------------------------------------------------

def test_chain_of_100000_operations():
    def chain(x):
        for _ in range(100_000):
            x = x * 1.0000001 + 0.0
        return x

    g = dd.grad(chain, 1.0)  # 200,000 tape entries; a recursive sweep would overflow the stack
    assert float(g) == pytest.approx(1.0000001 ** 100_000, rel=1e-12)
    # 1.0000001 - 1.0 is exact (Sterbenz), so this is the same number computed another way.
    assert float(g) == pytest.approx(math.exp(100_000 * math.log1p(1.0000001 - 1.0)), rel=1e-12)


def test_chain_of_100000_operations_vector_vjp():
    def chain(x):
        for _ in range(50_000):
            x = np.sin(x) * 0.5 + x * 0.5
        return x

    x = np.array([0.3, -1.0])
    value, pullback = dd.vjp(chain, x)
    # Closed form of the derivative by the chain rule, run with plain floats.
    v, d = x.copy(), np.ones(2)
    for _ in range(50_000):
        d = d * (0.5 * np.cos(v) + 0.5)
        v = np.sin(v) * 0.5 + v * 0.5
    np.testing.assert_allclose(value, v, rtol=1e-15)
    np.testing.assert_allclose(pullback(np.ones(2)), d, rtol=1e-10)


@pytest.mark.parametrize("use", [
    lambda v: v * 2.0,
    lambda v: 2.0 + v,
    lambda v: np.sin(v),
    lambda v: v.sum(),
    lambda v: v[0],
    lambda v: A23 @ v,
    lambda v: np.stack([v, v]),
    lambda v: v @ np.ones(3),
    lambda v: v ** 2,
    lambda v: -v,
], ids=["mul", "radd", "np.sin", "sum", "index", "rmatmul", "stack", "matmul", "pow", "neg"])
def test_leaked_var_raises_when_used(use):
    box = []

    def f(x):
        box.append(x)
        return np.sum(x * x)

    dd.grad(f, np.ones(3))
    with pytest.raises(ValueError, match=r"finished grad call .* escaped the function"):
        use(box[0])


def test_leaked_var_from_vjp_raises_even_while_pullback_lives():
    box = []
    _, pullback = dd.vjp(lambda x: box.append(np.sin(x)) or x * 2.0, np.ones(2))
    with pytest.raises(ValueError, match=r"finished vjp call"):
        box[0] + 1.0
    np.testing.assert_array_equal(pullback(np.ones(2)), [2.0, 2.0])  # the pullback itself works


def test_leaked_var_used_inside_a_new_transform_raises():
    box = []
    dd.grad(lambda x: box.append(x) or x * x, 2.0)
    with pytest.raises(ValueError, match=r"finished grad call"):
        dd.grad(lambda y: y * box[0], 3.0)


def test_leaked_var_still_reads_its_value():
    box = []
    dd.grad(lambda x: box.append(x * 3.0) or x * x, 2.0)
    assert box[0].primal == 6.0 and bool(box[0] > 5.0)


def test_tape_released_when_grad_returns():
    refs = []

    def f(x):
        big = x * np.ones(200_000)          # an intermediate sin's adjoint rule must keep
        refs.append(weakref.ref(big.primal))
        assert refs[0]() is not None        # the weakref works while recording
        return np.sum(np.sin(big))

    g = dd.grad(f, 0.5)
    assert float(g) == pytest.approx(200_000 * math.cos(0.5), rel=1e-12)
    gc.collect()
    assert _released(refs[0])


def _released(ref):
    """Whether the array behind a weakref is freed, or idle in the buffer pool (which keeps
    large arrays nobody holds for reuse: dualdiff.buffers), so held by nothing else."""
    a = ref()
    # (the pool's reference, the local `a` and getrefcount's argument)
    return a is None or (buffers.tracked(a) == 1 and sys.getrefcount(a) == 3)


def test_tape_released_when_reverse_jacobian_returns():
    refs = []

    def f(x):
        big = np.outer(x, np.ones(50_000))
        refs.append(weakref.ref(big.primal))
        return np.sum(np.exp(big), axis=1)

    dd.jacobian(f, np.array([0.1, 0.2]), mode="reverse")
    gc.collect()
    assert refs[0]() is None


def test_vjp_tape_lives_with_the_pullback_and_no_longer():
    refs = []

    def f(x):
        big = x * np.ones(100_000)
        refs.append(weakref.ref(big.primal))
        return np.sum(np.sin(big))

    with buffers.paused():  # (a pooled array outlives its holders: the pool keeps it for reuse)
        _, pullback = dd.vjp(f, 0.5)
    gc.collect()
    assert refs[0]() is not None            # sin's adjoint needs it: kept for the pullback
    assert float(pullback(1.0)) == pytest.approx(100_000 * math.cos(0.5), rel=1e-12)
    del pullback
    gc.collect()
    assert refs[0]() is None


def test_tape_keeps_only_what_adjoint_rules_need():
    # t = 2x feeds only add, whose adjoint needs no values; u = t + 1 feeds only exp, whose
    # adjoint needs its output (∂ exp = exp), not its argument; e = exp(u) is that output. So
    # while the pullback lives, t and u may be freed and e may not.
    refs = {}

    def f(x):
        t = x * 2.0
        u = t + 1.0
        e = np.exp(u)
        refs.update(t=weakref.ref(t.primal), u=weakref.ref(u.primal), e=weakref.ref(e.primal))
        return np.sum(e)

    x = np.linspace(0, 1, 100_000)
    with buffers.paused():  # (a pooled array outlives its holders: the pool keeps it for reuse)
        _, pullback = dd.vjp(f, x)
    gc.collect()
    assert refs["t"]() is None
    assert refs["u"]() is None
    assert refs["e"]() is not None
    np.testing.assert_allclose(pullback(1.0), 2.0 * np.exp(2 * x + 1), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# Error paths of the reverse-mode API and the shared surface, type and message
# --------------------------------------------------------------------------------------------

def _setitem(x):
    np.broadcast_to(x, (2, 2))[0, 0] = 1.0  # into numpy's read-only view
    return np.sum(x)


ERRORS = [
    ("grad-not-callable", lambda: dd.grad(3, np.ones(2)), TypeError,
     r"grad takes a function as its first argument, not int"),
    ("vjp-not-callable", lambda: dd.vjp("f", np.ones(2)), TypeError,
     r"vjp takes a function as its first argument, not str"),
    ("jacobian-not-callable", lambda: dd.jacobian(None, np.ones(2), mode="reverse"), TypeError,
     r"jacobian takes a function as its first argument, not NoneType"),
    ("bad-mode", lambda: dd.grad(np.sum, np.ones(2), mode="backward"), ValueError,
     r"mode must be 'forward' or 'reverse', not 'backward'"),
    ("bad-mode-jacobian", lambda: dd.jacobian(np.sin, np.ones(2), mode="rev"), ValueError,
     r"mode must be 'forward' or 'reverse', not 'rev'"),
    ("empty-tuple", lambda: dd.grad(lambda x: 1.0, ()), ValueError, r"x is an empty container"),
    ("empty-dict", lambda: dd.vjp(lambda x: 1.0, {}), ValueError, r"x is an empty container"),
    ("string-x", lambda: dd.grad(lambda x: x, "abc"), TypeError,
     r"x must be a number or an array of numbers, not str"),
    ("object-x", lambda: dd.grad(lambda x: x, {"a": object()}), TypeError,
     r"x\['a'\] must be a number or an array of numbers"),
    ("empty-output", lambda: dd.grad(lambda x: [], 1.0), TypeError,
     r"f returned an empty list/tuple; it must return a number or an array"),
    ("string-output", lambda: dd.vjp(lambda x: "s", 1.0), TypeError,
     r"f's output must be a number or an array of numbers, not str"),
    ("none-output", lambda: dd.grad(lambda x: None, 1.0), TypeError,
     r"f's output must be a number or an array of numbers, not NoneType"),
    ("string-in-output-list", lambda: dd.jacobian(lambda x: [x[0], "a"], np.ones(2), mode="reverse"),
     TypeError, r"each element of f's output must be a number or an array of numbers"),
    ("float-of-var", lambda: dd.grad(lambda x: float(x), 1.0), TypeError,
     r"float\(\) of a Var would drop its derivative"),
    ("math-sin-of-var", lambda: dd.grad(lambda x: math.sin(x), 1.0), TypeError,
     r"float\(\) of a Var would drop its derivative"),
    ("int-of-var", lambda: dd.grad(lambda x: int(x) * x, 1.0), TypeError,
     r"int\(\) of a Var would drop its derivative"),
    ("asarray-of-var", lambda: dd.grad(lambda x: np.asarray(x).sum(), np.ones(2)), TypeError,
     r"converting a Var to a numpy array .* would drop its derivative"),
    ("numpy-function-without-rule", lambda: dd.grad(lambda x: np.i0(x)[0], np.ones(2)),
     TypeError, r"numpy\.i0 has no dualdiff rule"),
    ("numpy-ufunc-without-rule", lambda: dd.grad(lambda x: np.gcd(x, 2), 1.0), TypeError,
     r"numpy\.gcd has no dualdiff rule"),
    ("ufunc-method", lambda: dd.grad(lambda x: np.hypot.reduce(x), np.ones(2)), TypeError,
     r"numpy\.hypot\.reduce has no dualdiff rule"),
    ("ufunc-out", lambda: dd.grad(lambda x: np.sin(x, out=np.zeros(2)).sum(), np.ones(2)),
     TypeError, r"numpy\.sin with out= would write a traced value into plain memory"),
    ("np-sum-int-dtype", lambda: dd.grad(lambda x: np.sum(x, dtype=int), np.ones(2)), TypeError,
     r"numpy\.sum with dtype=int64 on a traced value: only a floating dtype keeps the derivative"),
    ("setitem", lambda: dd.grad(_setitem, np.ones(2)), ValueError,
     r"assignment destination is read-only"),
    ("traced-index", lambda: dd.grad(lambda x: x[x[0]], np.ones(2)), TypeError,
     r"an index cannot be a Dual or tape variable"),
    ("len-of-scalar", lambda: dd.grad(lambda x: len(x), 1.0), TypeError,
     r"len\(\) of a 0-d \(scalar\) value"),
    ("iter-of-scalar", lambda: dd.grad(lambda x: list(x)[0], 1.0), TypeError,
     r"iteration over a 0-d \(scalar\) value"),
    ("matmul-scalar", lambda: dd.grad(lambda x: x @ 2.0, np.ones(2)), ValueError,
     r"matmul: input operand has no dimension to multiply \(shapes \(2,\) and \(\)\)"),
    ("matmul-misaligned", lambda: dd.grad(lambda x: np.sum(x @ np.ones(3)), np.ones(2)), ValueError,
     r"matmul: shapes \(2,\) and \(3,\) are not aligned"),
    ("sum-axis-out-of-bounds", lambda: dd.grad(lambda x: np.sum(x, axis=3), np.ones(2)), ValueError,
     r"axis 3 is out of bounds for an array of dimension 1"),
    ("sum-float-axis", lambda: dd.grad(lambda x: x.sum(axis=1.5), np.ones(2)), TypeError,
     r"axis must be an int or a tuple of ints, not float"),
    ("bad-transpose", lambda: dd.grad(lambda x: np.transpose(x, (0, 0)).sum(), np.ones((2, 2))),
     ValueError, r"axes \(0, 0\) are not a permutation of the 2 axes"),
    ("stack-non-sequence", lambda: dd.grad(lambda x: dd.stack(5.0).sum(), np.ones(2)), TypeError,
     r"stack takes a list or tuple of arrays, not float"),
    ("dot-3d-misaligned", lambda: dd.grad(lambda x: np.dot(x, np.ones((2, 3, 2))).sum(), np.ones(2)),
     ValueError, r"dot: shapes \(2,\) and \(2, 3, 2\) are not aligned"),
]


@pytest.mark.parametrize("call, exc, pattern", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_paths(call, exc, pattern):
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc
    assert re.search(pattern, str(info.value)), str(info.value)
