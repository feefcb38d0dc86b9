"""Nested derivatives: perturbation tags, higher orders in every mode, Hessians and hvp.

Expected values are closed forms or the oracles of tests/oracles.py (a Hessian by central
differences of the complex-step gradient); none is dualdiff checked against itself alone.
"""

import math

import numpy as np
import pytest

import dualdiff as dd
from oracles import complex_step_jacobian, hessian_by_differences

# Every way to take d/dx of a scalar function at a scalar point. Each is a separate
# transformation call, so each makes its own tag.
SCALAR_D = {
    "derivative": lambda f, x: dd.derivative(f, x),
    "grad-reverse": lambda f, x: dd.grad(f, x),
    "grad-forward": lambda f, x: dd.grad(f, x, mode="forward"),
    "vjp": lambda f, x: dd.vjp(f, x)[1](1.0),
    "jvp": lambda f, x: dd.jvp(f, x, 1.0)[1],
    "jacobian-reverse": lambda f, x: dd.jacobian(f, x, mode="reverse"),
    "jacobian-forward": lambda f, x: dd.jacobian(f, x, mode="forward"),
}
PAIRS = [(o, i) for o in SCALAR_D for i in SCALAR_D]
PAIR_IDS = [f"{o}-over-{i}" for o, i in PAIRS]


# --------------------------------------------------------------------------------------------
# Perturbation confusion
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("outer, inner", PAIRS, ids=PAIR_IDS)
def test_perturbation_confusion(outer, inner):
    Do, Di = SCALAR_D[outer], SCALAR_D[inner]
    # d/dx [x · d/dy (x + y)] at x = 1 is 1; confusing the two perturbations gives 2.
    assert float(Do(lambda x: x * Di(lambda y: x + y, 1.0), 1.0)) == 1.0
    # d/dx [x · d/dy (x · y)] = d/dx x² = 2x; confusion gives something else.
    assert float(Do(lambda x: x * Di(lambda y: x * y, 1.0), 2.0)) == 4.0


@pytest.mark.parametrize("outer, inner", PAIRS, ids=PAIR_IDS)
def test_perturbation_confusion_with_an_outer_list(outer, inner):
    Do, Di = SCALAR_D[outer], SCALAR_D[inner]

    def f(x):
        # The inner function closes over a list of the outer function and mutates it.
        acc = [x]

        def g(y):
            acc.append(y)
            acc[0] = acc[0] + y
            return acc[0]

        return x * Di(g, 1.0)

    assert float(Do(f, 1.0)) == 1.0

    log = []

    def h(x):
        # Here the inner function reads x only through the shared list.
        log.append(x)

        def g(y):
            log.append(y)
            return log[0] + log[-1]

        return log[0] * Di(g, 1.0)

    assert float(Do(h, 1.0)) == 1.0
    assert len(log) >= 2  # both functions ran and appended to it


@pytest.mark.parametrize("outer, inner", PAIRS, ids=PAIR_IDS)
def test_mixed_nesting_against_closed_form(outer, inner):
    # F(x) = d/dy sin(x·y) at y = 1 = x cos x, so F'(x) = cos x − x sin x.
    Do, Di = SCALAR_D[outer], SCALAR_D[inner]
    x = 0.7
    got = Do(lambda x: Di(lambda y: np.sin(x * y), 1.0), x)
    assert float(got) == pytest.approx(math.cos(x) - x * math.sin(x), rel=1e-14)


@pytest.mark.parametrize("outer", ["derivative", "grad-reverse"])
@pytest.mark.parametrize("inner", ["derivative", "grad-reverse", "vjp"])
def test_inner_value_leaked_into_the_outer_function_raises(outer, inner):
    Do, Di = SCALAR_D[outer], SCALAR_D[inner]

    def f(x):
        box = []
        Di(lambda y: box.append(y) or x + y, 1.0)
        return x * box[0]       # box[0] belongs to the finished inner call

    with pytest.raises(ValueError, match=r"traced value from a finished .* call was used in 'multiply'"):
        Do(f, 1.0)


def test_pullback_swept_inside_an_outer_derivative():
    # The cotangent itself carries the outer perturbation: d/dx pullback(x²) = 2x · f'(y0).
    _, pullback = dd.vjp(lambda y: y ** 3, 2.0)
    assert float(dd.derivative(lambda x: pullback(x * x), 3.0)) == 2 * 3.0 * 12.0
    assert float(dd.grad(lambda x: pullback(x * x), 3.0)) == 2 * 3.0 * 12.0


# --------------------------------------------------------------------------------------------
# Higher derivatives in every mode
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["forward-over-forward", "reverse-over-reverse",
                                  "forward-over-reverse", "reverse-over-forward"])
def test_second_derivatives(mode):
    first, second = {
        "forward-over-forward": (dd.derivative, dd.derivative),
        "reverse-over-reverse": (dd.grad, dd.grad),
        "forward-over-reverse": (dd.grad, dd.derivative),
        "reverse-over-forward": (dd.derivative, dd.grad),
    }[mode]

    def d2(f, x):
        return float(second(lambda z: first(f, z), x))

    x = 0.9
    assert d2(np.sin, x) == pytest.approx(-math.sin(x), rel=1e-15)
    assert d2(lambda z: z ** 3, x) == pytest.approx(6 * x, rel=1e-15)
    assert d2(np.exp, x) == pytest.approx(math.exp(x), rel=1e-15)
    assert d2(np.tanh, x) == pytest.approx(-2 * math.tanh(x) * (1 - math.tanh(x) ** 2), rel=1e-14)
    assert d2(lambda z: np.log(z) * z, x) == pytest.approx(1 / x, rel=1e-14)
    assert d2(lambda z: z / (1 + z * z), x) == pytest.approx(2 * x * (x * x - 3) / (1 + x * x) ** 3,
                                                             rel=1e-14)


@pytest.mark.parametrize("ops", [
    ("derivative", "derivative", "derivative"),
    ("grad-reverse", "grad-reverse", "grad-reverse"),
    ("derivative", "grad-reverse", "derivative"),
    ("grad-reverse", "derivative", "vjp"),
    ("jacobian-reverse", "jvp", "grad-forward"),
], ids="-".join)
def test_third_and_fourth_derivatives(ops):
    def nest(f, names):
        for name in names:
            f = (lambda g, D: (lambda z: D(g, z)))(f, SCALAR_D[name])
        return f

    x = 1.3
    assert float(nest(lambda z: z ** 4, ops)(x)) == pytest.approx(24 * x, rel=1e-14)
    assert float(nest(np.sin, ops)(x)) == pytest.approx(-math.cos(x), rel=1e-14)
    assert float(nest(np.exp, ops + ("derivative",))(x)) == pytest.approx(math.exp(x), rel=1e-14)


# --------------------------------------------------------------------------------------------
# Hessians against closed forms
# --------------------------------------------------------------------------------------------

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] = H[i + 1, i] = -400.0 * x[i]
    return H


def test_rosenbrock_closed_form_is_right():
    # The closed forms themselves, against complex step (gradient) and differences (Hessian).
    x = np.array([0.3, -0.7, 1.2, 0.5, -1.1])
    np.testing.assert_allclose(complex_step_jacobian(rosenbrock, x), rosenbrock_grad(x), rtol=1e-13)
    np.testing.assert_allclose(hessian_by_differences(rosenbrock, x), rosenbrock_hessian(x),
                               rtol=1e-7, atol=1e-6)


def test_hessian_rosenbrock_2d_textbook():
    x, y = -1.2, 1.0
    H = dd.hessian(lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2, np.array([x, y]))
    want = [[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]]
    np.testing.assert_allclose(H, want, rtol=1e-14)


@pytest.mark.parametrize("x", [
    np.array([0.3, -0.7, 1.2, 0.5, -1.1]),
    np.ones(4),                               # the minimum
    np.array([-1.2, 1.0]),
])
def test_hessian_rosenbrock(x):
    H = dd.hessian(rosenbrock, x)
    assert H.shape == (x.size, x.size)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)


def test_hessian_sum_of_cubes_is_diag_6x():
    x = np.array([0.3, -0.7, 1.2, 0.5])
    np.testing.assert_allclose(dd.hessian(lambda x: np.sum(x ** 3), x), np.diag(6 * x), rtol=1e-15, atol=0)


def test_hessian_of_matrix_input_has_shape_x_shape_twice():
    X = np.array([[0.3, -0.7, 1.2], [0.5, 2.0, -1.5]])
    H = dd.hessian(lambda X: np.sum(X ** 3), X)
    assert H.shape == (2, 3, 2, 3)
    want = np.einsum("ij,ik,jl->ijkl", 6 * X, np.eye(2), np.eye(3))
    np.testing.assert_allclose(H, want, rtol=1e-15, atol=0)


@pytest.mark.parametrize("lse", [dd.logsumexp, lambda x: np.log(np.sum(np.exp(x)))],
                         ids=["dd.logsumexp", "numpy-written"])
def test_hessian_logsumexp_is_diag_p_minus_ppT(lse):
    x = np.array([0.5, -1.0, 2.0, 0.1])
    p = np.exp(x) / np.sum(np.exp(x))
    np.testing.assert_allclose(dd.hessian(lse, x), np.diag(p) - np.outer(p, p), rtol=1e-13, atol=1e-15)


def test_hessian_logsumexp_large_inputs_stay_finite():
    x = np.array([1000.0, 1001.0, 999.5])
    z = x - x.max()
    p = np.exp(z) / np.sum(np.exp(z))
    H = dd.hessian(dd.logsumexp, x)
    assert np.all(np.isfinite(H))
    np.testing.assert_allclose(H, np.diag(p) - np.outer(p, p), rtol=1e-13, atol=1e-15)


def test_hessian_quadratic_form():
    A = np.random.default_rng(4).normal(size=(4, 4))
    b = np.arange(4.0)
    H = dd.hessian(lambda x: 0.5 * x @ A @ x + b @ x, np.ones(4))
    np.testing.assert_allclose(H, (A + A.T) / 2, rtol=1e-14, atol=1e-15)


def test_hessian_of_scalar_input():
    H = dd.hessian(lambda x: x ** 4, 2.0)
    assert np.shape(H) == () and float(H) == 48.0


def test_hessian_is_forward_over_reverse():
    seen = []
    dd.hessian(lambda x: seen.append((type(x), type(x.primal))) or np.sum(x ** 3), np.ones(3))
    assert seen and all(s == (dd.Var, dd.Dual) for s in seen)


def test_hessian_of_a_small_network_against_differences():
    r = np.random.default_rng(8)
    X, y = r.normal(size=(5, 3)), r.normal(size=5)

    def loss(w):
        W1, w2 = w[:6].reshape(3, 2), w[6:]
        return np.sum((np.tanh(X @ W1) @ w2 - y) ** 2) / 5

    w = r.normal(size=8) * 0.5
    H = dd.hessian(loss, w)
    np.testing.assert_allclose(H, H.T, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(H, hessian_by_differences(loss, w), rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------------------------
# Hessian-vector products and Hessians by other nestings
# --------------------------------------------------------------------------------------------

X5 = np.array([0.3, -0.7, 1.2, 0.5, -1.1])
V5 = np.array([1.0, -2.0, 0.5, 0.0, 3.0])


def test_hvp_equals_hessian_times_v():
    Hv = dd.hvp(rosenbrock, X5, V5)
    assert Hv.shape == X5.shape
    np.testing.assert_allclose(Hv, rosenbrock_hessian(X5) @ V5, rtol=1e-13, atol=1e-11)
    np.testing.assert_allclose(Hv, dd.hessian(rosenbrock, X5) @ V5, rtol=1e-13, atol=1e-11)


def test_hvp_is_one_pass():
    calls = []

    def f(x):
        calls.append(1)
        return rosenbrock(x)

    dd.hvp(f, X5, V5)
    assert len(calls) == 1


def test_hvp_matrix_input():
    X = np.array([[0.3, -0.7, 1.2], [0.5, 2.0, -1.5]])
    V = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, 0.25]])
    f = lambda X: np.sum(np.sin(X) * X[0]) + np.sum(X ** 3)
    Hv = dd.hvp(f, X, V)
    assert Hv.shape == X.shape
    want = np.tensordot(hessian_by_differences(f, X), V, axes=2)
    np.testing.assert_allclose(Hv, want, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(Hv, np.tensordot(dd.hessian(f, X), V, axes=2), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("container", ["tuple", "dict"])
def test_hvp_with_containers_keeps_their_structure(container):
    # f(a, b) = |a|²·|b|²; Hv: a-part 2|b|² va + 4 a (b·vb), b-part 4 b (a·va) + 2|a|² vb.
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    va, vb = np.array([1.0, -1.0]), np.array([0.0, 1.0, 2.0])
    want_a = 2 * (b @ b) * va + 4 * a * (b @ vb)
    want_b = 4 * b * (a @ va) + 2 * (a @ a) * vb
    if container == "tuple":
        Hv = dd.hvp(lambda p: np.sum(p[0] ** 2) * np.sum(p[1] ** 2), (a, b), (va, vb))
        assert isinstance(Hv, tuple)
        got_a, got_b = Hv
    else:
        Hv = dd.hvp(lambda p: np.sum(p["a"] ** 2) * np.sum(p["b"] ** 2), {"a": a, "b": b},
                    {"a": va, "b": vb})
        assert isinstance(Hv, dict)
        got_a, got_b = Hv["a"], Hv["b"]
    np.testing.assert_allclose(got_a, want_a, rtol=1e-14)
    np.testing.assert_allclose(got_b, want_b, rtol=1e-14)


def test_reverse_over_reverse_hessian_vector_product():
    Hv = dd.grad(lambda z: dd.grad(rosenbrock, z) @ V5, X5)
    np.testing.assert_allclose(Hv, rosenbrock_hessian(X5) @ V5, rtol=1e-13, atol=1e-11)


def test_reverse_over_forward_hessian_vector_product():
    Hv = dd.grad(lambda z: dd.jvp(rosenbrock, z, V5)[1], X5)
    np.testing.assert_allclose(Hv, rosenbrock_hessian(X5) @ V5, rtol=1e-13, atol=1e-11)


def test_gradient_of_the_squared_gradient_norm():
    # ∇ |∇f|² = 2 H ∇f: reverse over reverse with a vector-valued inner result.
    got = dd.grad(lambda z: np.sum(dd.grad(rosenbrock, z) ** 2), X5)
    want = 2 * rosenbrock_hessian(X5) @ rosenbrock_grad(X5)
    np.testing.assert_allclose(got, want, rtol=1e-13)


@pytest.mark.parametrize("outer_mode, inner_mode", [
    ("reverse", "reverse"), ("reverse", "forward"), ("forward", "reverse"), ("forward", "forward"),
])
def test_jacobian_of_gradient_in_every_mode_pair(outer_mode, inner_mode):
    J, info = dd.jacobian(lambda z: dd.grad(rosenbrock, z, mode=inner_mode), X5, mode=outer_mode,
                          chunk=1, full_output=True)
    np.testing.assert_allclose(J, rosenbrock_hessian(X5), rtol=1e-13, atol=1e-11)
    assert info.passes == X5.size       # n outputs (reverse) or n inputs with chunk 1 (forward)


def test_nested_gradients_with_containers():
    # f(q) = Σ q0² q1; ∂f/∂q0 = 2 q0 q1; then Σ ∂f/∂q0 differentiated again w.r.t. (q0, q1).
    q0, q1 = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    inner = lambda p: dd.grad(lambda q: np.sum(q[0] ** 2 * q[1]), p)[0]
    g0, g1 = dd.grad(lambda p: np.sum(inner(p)), (q0, q1))
    np.testing.assert_allclose(g0, 2 * q1, rtol=1e-15)
    np.testing.assert_allclose(g1, 2 * q0, rtol=1e-15)


# --------------------------------------------------------------------------------------------
# Error paths of the nesting transforms
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: dd.hessian(lambda p: p[0] * p[1], (1.0, 2.0), sparse=True), TypeError,
     r"sparse and executor Hessians take one array x, not a tuple/dict"),
    (lambda: dd.hessian(lambda p: p["a"] * p["b"], {"a": 1.0, "b": np.ones(2)}), ValueError,
     r"hessian needs f to return a scalar, but f\(x\) has shape \(2,\)"),
    (lambda: dd.hessian(lambda x: x ** 3, np.ones(2)), ValueError,
     r"hessian needs f to return a scalar, but f\(x\) has shape \(2,\); for the second "
     r"derivatives of a vector-valued f use dd\.jacobian\(lambda z: dd\.jacobian\(f, z\), x\)"),
    (lambda: dd.hessian(lambda x: x ** 3, np.ones(2), sparse=True), ValueError,
     r"hessian needs f to return a scalar"),
    (lambda: dd.hessian_sparsity(lambda x: x ** 3, np.ones(2)), ValueError,
     r"hessian_sparsity needs f to return a scalar.*use dd\.sparsity\(f, x\)"),
    # the user's own inner dd.grad of a vector keeps its own message
    (lambda: dd.hessian(lambda x: dd.grad(lambda y: y ** 2, x)[0], np.ones(2)), ValueError,
     r"^grad needs f to return a scalar, but f\(x\) has shape \(2,\)"),
    (lambda: dd.hessian("f", np.ones(2)), TypeError, r"hessian takes a function as its first argument, not str"),
    (lambda: dd.hvp(None, np.ones(2), np.ones(2)), TypeError, r"hvp takes a function as its first argument"),
    (lambda: dd.hvp(lambda x: np.sum(x ** 3), np.ones(2), np.ones(3)), ValueError,
     r"v must have x's shape: x has shape \(2,\), v has shape \(3,\)"),
    (lambda: dd.hvp(lambda x: np.sum(x ** 3), np.ones(2), (np.ones(2),)), ValueError,
     r"v must have the same structure as x"),
    (lambda: dd.hvp(lambda x: x ** 3, np.ones(2), np.ones(2)), ValueError,
     r"hvp needs f to return a scalar.*dd\.jvp\(lambda z: dd\.jacobian\(f, z\), x, v\)\[1\]"),
    (lambda: dd.hvp(lambda p: p[0] * p[1], (np.ones(2), np.ones(2)), (np.ones(2), np.ones(2))),
     ValueError, r"hvp needs f to return a scalar"),
    (lambda: dd.derivative(lambda x: dd.derivative(lambda y: x * y, np.ones(2)), 1.0), ValueError,
     r"derivative takes a scalar x, got shape \(2,\)"),
], ids=["hessian-tuple", "hessian-dict", "hessian-non-scalar", "sparse-hessian-non-scalar",
        "hessian-sparsity-non-scalar", "inner-grad-non-scalar", "hessian-not-callable",
        "hvp-not-callable", "hvp-v-shape", "hvp-v-structure", "hvp-non-scalar",
        "hvp-tuple-non-scalar", "inner-derivative-of-array"])
def test_nesting_error_paths(call, exc, pattern):
    with pytest.raises(exc, match=pattern) as info:
        call()
    assert type(info.value) is exc


# --------------------------------------------------------------------------------------------
# Transforms called with f alone return the function of x (as JAX's grad(f))
# --------------------------------------------------------------------------------------------

def test_transforms_called_with_f_alone_return_the_function_of_x():
    f = lambda x: np.sum(np.sin(x) * x)  # noqa: E731
    x = np.array([0.3, -1.2, 2.0])
    gradient = np.sin(x) + x * np.cos(x)                    # closed forms
    hess = np.diag(2 * np.cos(x) - x * np.sin(x))
    np.testing.assert_allclose(dd.grad(f)(x), gradient, rtol=1e-14)
    np.testing.assert_allclose(dd.grad(f, mode="forward")(x), gradient, rtol=1e-14)
    value, g = dd.value_and_grad(f)(x)
    assert value == f(x) and np.allclose(g, gradient, rtol=1e-14)
    np.testing.assert_allclose(dd.jacobian(np.sin, mode="reverse")(x), np.diag(np.cos(x)), rtol=1e-14)
    np.testing.assert_allclose(dd.hessian(f)(x), hess, rtol=1e-13, atol=1e-15)
    assert dd.derivative(np.sin)(0.5) == np.cos(0.5)
    # nesting: the derivative of the derivative, curried all the way
    assert float(dd.grad(dd.grad(lambda t: t ** 3))(2.0)) == 12.0
    assert float(dd.derivative(dd.derivative(np.sin))(0.5)) == pytest.approx(-np.sin(0.5), rel=1e-14)
    # settings are bound, and checked when the function is made
    J, info = dd.jacobian(np.sin, chunk=1, full_output=True)(x)
    assert info.passes == 3
    with pytest.raises(TypeError, match="grad takes a function as its first argument, not str"):
        dd.grad("f")
    import pickle
    assert pickle.loads(pickle.dumps(dd.grad(np.sin)))(0.0) == 1.0


def test_argnums_differentiates_with_respect_to_chosen_arguments_as_jax():
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, -0.7])
    f = lambda a, b, scale=1.0: scale * np.sum(np.sin(a) * b ** 2)  # noqa: E731
    # closed forms: ∂/∂a = cos a · b², ∂/∂b = 2 b sin a
    np.testing.assert_allclose(dd.grad(f, argnums=0)(a, b), np.cos(a) * b ** 2, rtol=1e-14)
    np.testing.assert_allclose(dd.grad(f, argnums=-1)(a, b, scale=2.0), 4 * b * np.sin(a), rtol=1e-14)
    da, db = dd.grad(f, argnums=(0, 1), mode="forward")(a, b)
    np.testing.assert_allclose(da, np.cos(a) * b ** 2, rtol=1e-14)
    np.testing.assert_allclose(db, 2 * b * np.sin(a), rtol=1e-14)
    value, g = dd.value_and_grad(f, argnums=1)(a, b)
    assert value == f(a, b) and np.allclose(g, 2 * b * np.sin(a), rtol=1e-14)
    np.testing.assert_allclose(dd.jacobian(lambda a, b: a * b, argnums=1)(a, b), np.diag(a), rtol=0)
    np.testing.assert_allclose(dd.hessian(f, argnums=1)(a, b), np.diag(2 * np.sin(a)), rtol=1e-14)
    assert dd.derivative(lambda s, t: s ** 2 * t, argnums=1)(3.0, 2.0) == 9.0
    # nested: ∂²/∂s∂t of s² t³ = 6 s t²
    assert dd.grad(dd.grad(lambda s, t: s ** 2 * t ** 3, argnums=1), argnums=0)(2.0, 1.5) == \
        pytest.approx(6 * 2.0 * 1.5 ** 2, rel=1e-14)
    import pickle
    assert pickle.loads(pickle.dumps(dd.grad(np.hypot, argnums=0)))(3.0, 4.0) == pytest.approx(0.6)


@pytest.mark.parametrize("call, exc, message", [
    (lambda f: dd.grad(f, np.ones(2), argnums=0), TypeError,
     r"with x given, grad differentiates f with respect to its one argument x"),
    (lambda f: dd.jacobian(f, argnums=2)(np.ones(2), np.ones(2)), ValueError,
     r"argnums 2 names a position f was not given: it was called with 2"),
    (lambda f: dd.hessian(f, argnums=(0, 0)), ValueError, r"names a position twice"),
    (lambda f: dd.value_and_grad(f, argnums="0"), TypeError, r"argnums must be an int or a non-empty tuple"),
    (lambda f: dd.derivative(f, argnums=True), TypeError, r"argnums must be an int or a non-empty tuple"),
    (lambda f: dd.grad(f, argnums=()), TypeError, r"argnums must be an int or a non-empty tuple"),
])
def test_argnums_mistakes_are_named(call, exc, message):
    with pytest.raises(exc, match=message):
        call(lambda a, b: np.sum(a * b))
