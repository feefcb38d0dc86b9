"""The worked examples of the seed tutorials (shared/seeds/), each one a test.

Every expected number here comes from the tutorials' closed forms, written out with plain numpy
(or, where the tutorial states a number, that number); complex step (tests/oracles.py) is a
second, independent check where a closed form is long.
"""

import math

import numpy as np
import pytest

import dualdiff as dd
from oracles import complex_step_jacobian

MODES = ["reverse", "forward"]


# --------------------------------------------------------------------------------------------
# Seed 004: f(x1, x2) = log x1 + x1·x2 − sin x2 at (2, 5), the evaluation-trace example
# --------------------------------------------------------------------------------------------

def seed_f(x):
    return np.log(x[0]) + x[0] * x[1] - np.sin(x[1])


X0 = np.array([2.0, 5.0])
SEED_VALUE = 11.652071455223084
SEED_GRAD = np.array([5.5, 1.7163378145367738])


def test_seed_constants_are_the_closed_form():
    # Guards the constants below against a typo: y = log 2 + 10 − sin 5, ∇y = (1/x1 + x2, x1 − cos x2).
    assert SEED_VALUE == pytest.approx(math.log(2.0) + 10.0 - math.sin(5.0), rel=1e-15)
    np.testing.assert_allclose(SEED_GRAD, [1 / 2.0 + 5.0, 2.0 - math.cos(5.0)], rtol=1e-15)


def test_seed_example_reverse_mode_one_pass():
    calls = []

    def f(x):
        calls.append(type(x))
        return seed_f(x)

    value, pullback = dd.vjp(f, X0)
    assert float(value) == pytest.approx(SEED_VALUE, rel=1e-15)
    g = pullback(1.0)
    assert g.shape == (2,)
    np.testing.assert_allclose(g, SEED_GRAD, rtol=1e-15)
    assert calls == [dd.Var]  # recorded once, on tape variables

    J, info = dd.jacobian(seed_f, X0, mode="reverse", full_output=True)
    np.testing.assert_allclose(J, SEED_GRAD, rtol=1e-15)
    assert info.passes == 1
    assert (info.mode, info.n_inputs, info.n_outputs) == ("reverse", 2, 1)


def test_seed_example_grad_default_is_reverse_and_takes_a_list_of_ints():
    seen = []

    def f(x):
        seen.append(type(x))
        return seed_f(x)

    g = dd.grad(f, [2, 5])  # the tutorial's point, written as a plain list of ints
    assert seen == [dd.Var]
    assert isinstance(g, np.ndarray) and g.shape == (2,) and g.dtype == np.float64
    np.testing.assert_allclose(g, SEED_GRAD, rtol=1e-15)


def test_seed_example_forward_mode_needs_one_pass_per_input():
    # Forward mode: seeding v₋₁ (x1) with 1 and v₀ (x2) with 0 gives ∂y/∂x1 = 1/x1 + x2 = 5.5;
    # the other partial takes a second pass.
    y, t1 = dd.jvp(seed_f, X0, np.array([1.0, 0.0]))
    _, t2 = dd.jvp(seed_f, X0, np.array([0.0, 1.0]))
    assert float(y) == pytest.approx(SEED_VALUE, rel=1e-15)
    assert float(t1) == pytest.approx(5.5, rel=1e-15)
    assert float(t2) == pytest.approx(SEED_GRAD[1], rel=1e-15)
    J, info = dd.jacobian(seed_f, X0, mode="forward", chunk=1, full_output=True)
    np.testing.assert_allclose(J, SEED_GRAD, rtol=1e-15)
    assert info.passes == 2


@pytest.mark.parametrize("step, point, partials", [
    # The local partial on each edge of the tutorial's graph (v1 = log v₋₁, v2 = v₋₁·v₀, ...).
    (lambda v: np.log(v[0]), (2.0, 5.0), (0.5, 0.0)),
    (lambda v: v[0] * v[1], (2.0, 5.0), (5.0, 2.0)),
    (lambda v: np.sin(v[1]), (2.0, 5.0), (0.0, 0.284)),
    (lambda v: v[0] + v[1], (0.69, 10.0), (1.0, 1.0)),
    (lambda v: v[0] - v[1], (10.69, -0.96), (1.0, -1.0)),
], ids=["log", "mul", "sin", "add", "sub"])
def test_seed_example_edge_partials(step, point, partials):
    # The tutorial rounds cos 5 to 0.284; the path sums 0.5 + 5.0 and 2.0 − 0.284 follow.
    np.testing.assert_allclose(dd.grad(step, np.array(point)), partials, atol=5e-4)


# --------------------------------------------------------------------------------------------
# Seed 001: forward vs backward propagation on a small graph (c = a + b, d = b + 1, e = c·d)
# --------------------------------------------------------------------------------------------

def graph_e(v):
    a, b = v[0], v[1]
    c = a + b
    d = b + 1.0
    return c * d


def test_graph_forward_needs_a_pass_per_input_reverse_one_for_all():
    v = np.array([2.0, 1.0])
    expected = [v[1] + 1.0, (v[0] + v[1]) + (v[1] + 1.0)]  # ∂e/∂a = d, ∂e/∂b = d + c
    Jf, info_f = dd.jacobian(graph_e, v, mode="forward", chunk=1, full_output=True)
    Jr, info_r = dd.jacobian(graph_e, v, mode="reverse", full_output=True)
    np.testing.assert_array_equal(Jf, expected)
    np.testing.assert_array_equal(Jr, expected)
    assert info_f.passes == 2 and info_r.passes == 1


# --------------------------------------------------------------------------------------------
# Seed 002: the tensor derivative rules
# --------------------------------------------------------------------------------------------

RNG = np.random.default_rng(2019)
W23 = RNG.normal(size=(2, 3))   # W is n×d with d = 3, m = 2, n = 2, as in the tutorial
X32 = RNG.normal(size=(3, 2))


@pytest.mark.parametrize("mode", MODES)
def test_rule1_column_vector_jacobian_is_W(mode):
    x = RNG.normal(size=3)
    np.testing.assert_allclose(dd.jacobian(lambda x: W23 @ x, x, mode=mode), W23, rtol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_rule2_row_vector_jacobian_is_W_transposed(mode):
    x = RNG.normal(size=2)
    np.testing.assert_allclose(dd.jacobian(lambda x: x @ W23, x, mode=mode), W23.T, rtol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_rule3_dl_dW_is_dl_dy_times_x_transposed(mode):
    x = RNG.normal(size=3)
    g = dd.grad(lambda W: np.sum(np.sin(W @ x)), W23, mode=mode)
    np.testing.assert_allclose(g, np.outer(np.cos(W23 @ x), x), rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_rule4_row_vector_dl_dW_is_x_transposed_times_dl_dy(mode):
    x = RNG.normal(size=2)
    g = dd.grad(lambda W: np.sum(np.sin(x @ W)), W23, mode=mode)
    np.testing.assert_allclose(g, np.outer(x, np.cos(x @ W23)), rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_rules5_6_matrix_product(mode):
    # Y = W X, l = sum(sin(Y)): ∂l/∂W = cos(Y)·Xᵀ (rule 5) and ∂l/∂X = Wᵀ·cos(Y) (rule 6).
    def loss(params):
        W, X = params
        return np.sum(np.sin(W @ X))

    gW, gX = dd.grad(loss, (W23, X32), mode=mode)
    Y = W23 @ X32
    assert gW.shape == (2, 3) and gX.shape == (3, 2)
    np.testing.assert_allclose(gW, np.cos(Y) @ X32.T, rtol=1e-14)
    np.testing.assert_allclose(gX, W23.T @ np.cos(Y), rtol=1e-14)


def test_rules5_6_through_vjp_with_any_cotangent():
    # The rules with a general ∂l/∂Y (not only cos Y): one sweep of the pullback.
    Ybar = RNG.normal(size=(2, 2))
    Y, pullback = dd.vjp(lambda p: p[0] @ p[1], (W23, X32))
    np.testing.assert_allclose(Y, W23 @ X32, rtol=1e-15)
    gW, gX = pullback(Ybar)
    np.testing.assert_allclose(gW, Ybar @ X32.T, rtol=1e-14)
    np.testing.assert_allclose(gX, W23.T @ Ybar, rtol=1e-14)


@pytest.mark.parametrize("f, fprime", [
    (np.exp, np.exp),
    (np.sin, np.cos),
    (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    (dd.sigmoid, lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    (dd.relu, lambda x: (x > 0).astype(float)),
], ids=["exp", "sin", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("mode", MODES)
def test_rule7_elementwise(f, fprime, mode):
    # ∂l/∂x = ∂l/∂y ⊗ f'(x) for y = f(x); here l = sum(c ⊗ y), so ∂l/∂y = c.
    x = np.array([[-1.3, 0.4, 2.1], [0.7, -0.2, 1.5]])
    c = RNG.normal(size=x.shape)
    np.testing.assert_allclose(dd.grad(lambda x: np.sum(c * f(x)), x, mode=mode), c * fprime(x),
                               rtol=1e-13)


def np_softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@pytest.mark.parametrize("mode", MODES)
def test_error_functions_gradient_with_respect_to_the_pre_activation(mode):
    # Section 1.4: MSE with identity gives a − y; cross-entropy with sigmoid gives a − y; with
    # softmax gives softmax(z) − y.
    z = np.array([0.3, -1.2, 2.0])
    y_reg = np.array([1.0, 0.5, -0.5])
    g = dd.grad(lambda z: 0.5 * np.sum((z - y_reg) ** 2), z, mode=mode)
    np.testing.assert_allclose(g, z - y_reg, rtol=1e-15)

    y_bin = np.array([1.0, 0.0, 1.0])

    def bce(z):
        a = dd.sigmoid(z)
        return -np.sum(y_bin * np.log(a) + (1 - y_bin) * np.log(1 - a))

    np.testing.assert_allclose(dd.grad(bce, z, mode=mode), 1 / (1 + np.exp(-z)) - y_bin, rtol=1e-13)

    y_cls = np.array([0.0, 0.0, 1.0])
    g = dd.grad(lambda z: -np.sum(y_cls * dd.log_softmax(z)), z, mode=mode)
    np.testing.assert_allclose(g, np_softmax(z) - y_cls, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("mode", MODES)
def test_network_II_one_point_binary_classification(mode):
    # x ∈ R³, hidden tanh layer of 4, one sigmoid output; parameters as the tuple (W1, b1, W2, b2).
    rng = np.random.default_rng(7)
    x = rng.normal(size=3)
    y = 1.0
    params = (rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(1, 4)), np.array(0.3))

    def loss(p):
        W1, b1, W2, b2 = p
        a1 = np.tanh(W1 @ x + b1)
        a2 = dd.sigmoid(W2 @ a1 + b2)[0]
        return -(y * np.log(a2) + (1 - y) * np.log(1 - a2))

    W1, b1, W2, b2 = params
    z1 = W1 @ x + b1
    a1 = np.tanh(z1)
    a2 = 1 / (1 + np.exp(-(W2 @ a1 + b2)))
    dz2 = a2 - y                     # (1,)
    dW2 = np.outer(dz2, a1)          # rule 5
    db2 = dz2[0]
    dz1 = (W2.T @ dz2) * (1 - a1 ** 2)  # rules 6 and 7
    dW1 = np.outer(dz1, x)
    db1 = dz1

    g = dd.grad(loss, params, mode=mode)
    assert isinstance(g, tuple) and len(g) == 4
    for got, want in zip(g, (dW1, db1, dW2, db2)):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_network_III_batch_softmax_classification(mode):
    # m = 5 points as columns of X, relu hidden layer, softmax over the classes (rows), mean CE.
    rng = np.random.default_rng(11)
    nx, nh, K, m = 4, 6, 3, 5
    X = rng.normal(size=(nx, m))
    Y = np.eye(K)[:, rng.integers(0, K, size=m)]
    params = {"W1": rng.normal(size=(nh, nx)), "b1": rng.normal(size=(nh, 1)),
              "W2": rng.normal(size=(K, nh)), "b2": rng.normal(size=(K, 1))}

    def loss(p):
        A1 = dd.relu(p["W1"] @ X + p["b1"])
        Z2 = p["W2"] @ A1 + p["b2"]
        return -np.sum(Y * dd.log_softmax(Z2, axis=0)) / m

    Z1 = params["W1"] @ X + params["b1"]
    assert np.min(np.abs(Z1)) > 1e-3  # stay away from relu's kink
    A1 = np.maximum(Z1, 0)
    A2 = np_softmax(params["W2"] @ A1 + params["b2"], axis=0)
    dZ2 = (A2 - Y) / m
    dZ1 = (params["W2"].T @ dZ2) * (Z1 > 0)
    want = {"W1": dZ1 @ X.T, "b1": dZ1.sum(axis=1, keepdims=True),
            "W2": dZ2 @ A1.T, "b2": dZ2.sum(axis=1, keepdims=True)}

    g = dd.grad(loss, params, mode=mode)
    assert isinstance(g, dict) and list(g) == ["W1", "b1", "W2", "b2"]
    for k in want:
        assert g[k].shape == params[k].shape
        np.testing.assert_allclose(g[k], want[k], rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------------------------
# Seed 000: parameter reuse, Z2 = W (W x + b1) + b2
# --------------------------------------------------------------------------------------------

RW = np.random.default_rng(30)
W_R = RW.normal(size=(3, 3))
X_R = RW.normal(size=3)
B1_R = RW.normal(size=3)
B2_R = RW.normal(size=3)


def reuse_Z2(W, x=X_R, b1=B1_R, b2=B2_R):
    return W @ (W @ x + b1) + b2


@pytest.mark.parametrize("mode", MODES)
def test_parameter_reuse_gradient_is_the_sum_of_both_uses(mode):
    # l = sum(Z2): ∂l/∂W = 1·(Wx + b1)ᵀ + Wᵀ·1·xᵀ, one term per use of W.
    ones = np.ones(3)
    Z1 = W_R @ X_R + B1_R
    want = np.outer(ones, Z1) + np.outer(W_R.T @ ones, X_R)
    g = dd.grad(lambda W: np.sum(reuse_Z2(W)), W_R, mode=mode)
    np.testing.assert_allclose(g, want, rtol=1e-14)
    # Either term alone is wrong, so a rule that dropped a use would fail above.
    assert not np.allclose(want, np.outer(ones, Z1))
    assert not np.allclose(want, np.outer(W_R.T @ ones, X_R))


@pytest.mark.parametrize("mode", MODES)
def test_parameter_reuse_all_parameters_as_a_dict(mode):
    def loss(p):
        return np.sum(reuse_Z2(p["W"], p["x"], p["b1"], p["b2"]))

    g = dd.grad(loss, {"W": W_R, "x": X_R, "b1": B1_R, "b2": B2_R}, mode=mode)
    ones = np.ones(3)
    np.testing.assert_allclose(g["b2"], ones, rtol=1e-15)
    np.testing.assert_allclose(g["b1"], W_R.T @ ones, rtol=1e-14)
    np.testing.assert_allclose(g["x"], W_R.T @ W_R.T @ ones, rtol=1e-14)
    np.testing.assert_allclose(g["W"], np.outer(ones, W_R @ X_R + B1_R) + np.outer(W_R.T @ ones, X_R),
                               rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_parameter_reuse_full_jacobian_dZ2_dW(mode):
    # ∂Z2_i/∂W_jk = δ_ij Z1_k + W_ij x_k: the tutorial's dZ2/dW = dZ2/dA2 (dA2/dW + dA2/dZ1·dZ1/dA1·dA1/dW).
    Z1 = W_R @ X_R + B1_R
    want = np.einsum("ij,k->ijk", np.eye(3), Z1) + np.einsum("ij,k->ijk", W_R, X_R)
    J = dd.jacobian(reuse_Z2, W_R, mode=mode)
    assert J.shape == (3, 3, 3)
    np.testing.assert_allclose(J, want, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(J, complex_step_jacobian(reuse_Z2, W_R), rtol=1e-13, atol=1e-15)


def test_parameter_reuse_scalars():
    # With scalars: Z2 = w(wx + b1) + b2, dZ2/dw = (wx + b1) + w·x.
    w, x, b1 = 1.5, -0.7, 0.4
    assert dd.grad(lambda w: w * (w * x + b1) + 2.0, w) == pytest.approx((w * x + b1) + w * x, rel=1e-15)


# --------------------------------------------------------------------------------------------
# Seed 003: one-hidden-layer MLP with softmax cross-entropy and L2 regularisation
# --------------------------------------------------------------------------------------------

RM = np.random.default_rng(5)
D_IN, H, Q, LAM = 4, 5, 3, 0.1
MLP_X = RM.normal(size=D_IN)
MLP_Y = np.array([0.0, 1.0, 0.0])
MLP_W1 = RM.normal(size=(H, D_IN))
MLP_W2 = RM.normal(size=(Q, H))


def mlp_objective(W1, W2):
    # Written with numpy only, so it also runs on complex arrays for the complex-step oracle.
    h = np.tanh(W1 @ MLP_X)
    o = W2 @ h
    log_p = o - np.log(np.sum(np.exp(o)))
    L = -np.sum(MLP_Y * log_p)
    s = LAM / 2 * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return L + s


def mlp_closed_form():
    h = np.tanh(MLP_W1 @ MLP_X)
    p = np_softmax(MLP_W2 @ h)
    dW2 = np.outer(p - MLP_Y, h) + LAM * MLP_W2
    dW1 = np.outer((MLP_W2.T @ (p - MLP_Y)) * (1 - h ** 2), MLP_X) + LAM * MLP_W1
    return dW1, dW2


@pytest.mark.parametrize("mode", MODES)
def test_mlp_gradients_tuple(mode):
    dW1, dW2 = mlp_closed_form()
    g1, g2 = dd.grad(lambda p: mlp_objective(*p), (MLP_W1, MLP_W2), mode=mode)
    np.testing.assert_allclose(g1, dW1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(g2, dW2, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_mlp_gradients_dict(mode):
    dW1, dW2 = mlp_closed_form()
    g = dd.grad(lambda p: mlp_objective(p["W1"], p["W2"]), {"W1": MLP_W1, "W2": MLP_W2}, mode=mode)
    assert set(g) == {"W1", "W2"}
    np.testing.assert_allclose(g["W1"], dW1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(g["W2"], dW2, rtol=1e-13, atol=1e-15)


def test_mlp_closed_form_against_complex_step():
    # The closed form itself, checked by an oracle that shares nothing with it or with dualdiff.
    dW1, dW2 = mlp_closed_form()
    np.testing.assert_allclose(complex_step_jacobian(lambda W1: mlp_objective(W1, MLP_W2), MLP_W1),
                               dW1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(complex_step_jacobian(lambda W2: mlp_objective(MLP_W1, W2), MLP_W2),
                               dW2, rtol=1e-12, atol=1e-15)


def test_mlp_intermediate_gradient_dJ_do_is_softmax_minus_y():
    h = np.tanh(MLP_W1 @ MLP_X)
    o = MLP_W2 @ h
    g = dd.grad(lambda o: -np.sum(MLP_Y * dd.log_softmax(o)), o)
    np.testing.assert_allclose(g, np_softmax(o) - MLP_Y, rtol=1e-13)


def test_mlp_regulariser_alone_is_lambda_W():
    g = dd.grad(lambda p: LAM / 2 * (np.sum(p[0] ** 2) + np.sum(p[1] ** 2)), (MLP_W1, MLP_W2))
    np.testing.assert_allclose(g[0], LAM * MLP_W1, rtol=1e-15)
    np.testing.assert_allclose(g[1], LAM * MLP_W2, rtol=1e-15)
