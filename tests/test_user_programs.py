"""Regressions found by running real programs against dualdiff: other libraries' test ideas
(autograd's and JAX's numpy-level checks, re-expressed here with our own oracles), training
loops, scipy solvers and hostile inputs.

Every expected value comes from an independent source: a closed form, complex step or central
differences, never dualdiff alone.
"""

import numpy as np
import pytest

import dualdiff as dd


# --- nested transforms whose inner derivative passes a traced direction through --------------

def test_jvp_of_a_jvp_whose_tangent_is_the_direction_itself():
    # g(v) = J_f(x) v with f(x) = x + 1: J = I, so g(v) = v and dg/dv along w is w. The inner
    # jvp hands back its own (traced) direction; that must not be converted to a plain array.
    x, w = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    g = lambda v: dd.jvp(lambda z: z + 1.0, x, v)[1]
    _, t = dd.jvp(g, np.ones(3), w)
    np.testing.assert_array_equal(t, w)
    np.testing.assert_array_equal(dd.jacobian(g, np.ones(3)), np.eye(3))
    # reverse over forward: ∂/∂v Σ g(v)·c = c
    c = np.array([3.0, -2.0, 0.5])
    np.testing.assert_array_equal(dd.grad(lambda v: np.sum(g(v) * c), np.ones(3)), c)


def test_jvp_of_a_jvp_that_returns_one_input_of_a_tuple():
    # f(a, b) = a: J (v, w) = v, so the outer derivative along (dv, dw) is dv, and the plain
    # result must still be a fresh array, not the caller's v.
    a, b = np.array([1.0, 2.0]), 3.0
    g = lambda vw: dd.jvp(lambda p: p[0], (a, b), vw)[1]
    _, t = dd.jvp(g, (np.ones(2), 1.0), (np.array([1.0, -1.0]), 2.0))
    np.testing.assert_array_equal(t, [1.0, -1.0])
    v = np.ones(2)
    out = g((v, 0.0))
    assert out is not v and np.array_equal(out, v)


# --- lists and tuples as constant operands, as numpy reads them --------------------------------

X3 = np.array([0.1, 0.2, 0.3])
LIST_CASES = [
    # (f, closed-form gradient at X3)
    (lambda x: np.sum(x ** [1.0, 2.0, 3.0]), np.array([1.0, 2 * 0.2, 3 * 0.3 ** 2])),
    (lambda x: np.sum(np.power(x, (1.0, 2.0, 3.0))), np.array([1.0, 2 * 0.2, 3 * 0.3 ** 2])),
    (lambda x: np.sum(dd.power(x, [1.0, 2.0, 3.0])), np.array([1.0, 2 * 0.2, 3 * 0.3 ** 2])),
    (lambda x: np.sum(np.arctan2(x, [1.0, 2.0, 3.0])),
     np.array([1.0, 2.0, 3.0]) / (X3 ** 2 + np.array([1.0, 2.0, 3.0]) ** 2)),
    (lambda x: np.sum(np.maximum(x, [0.0, 2.0, 0.0])), np.array([1.0, 0.0, 1.0])),
    (lambda x: np.sum(np.clip(x, [0.15, 0.15, 0.15], 0.25)), np.array([0.0, 1.0, 0.0])),
    (lambda x: np.average(x, weights=[1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]) / 6.0),
    (lambda x: np.sum([1.0, 2.0, 3.0] / x), -np.array([1.0, 2.0, 3.0]) / X3 ** 2),
]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("case", range(len(LIST_CASES)))
def test_a_list_operand_is_read_as_an_array(case, mode):
    f, expected = LIST_CASES[case]
    np.testing.assert_allclose(dd.grad(f, X3, mode=mode), expected, rtol=1e-12)


def test_a_list_exponent_to_second_order():
    # H of Σ x_i^{p_i} is diag(p (p - 1) x^{p-2})
    p = [1.0, 2.0, 3.0]
    H = dd.hessian(lambda x: np.sum(x ** p), X3)
    np.testing.assert_allclose(H, np.diag([0.0, 2.0, 6 * 0.3]), atol=1e-12)


def test_a_list_holding_traced_values_is_refused_with_what_to_use():
    with pytest.raises(TypeError, match="dd.stack"):
        dd.grad(lambda x: np.sum(x * [x[0], 1.0, 1.0]), X3)


# --- operators and messages a numpy program meets -------------------------------------------

@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_divmod_of_a_traced_value(mode):
    # x mod c = x - c·floor(x / c): slope 1 in x away from the jumps; c mod x has slope
    # -floor(c / x) in x.
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_array_equal(dd.grad(lambda x: np.sum(divmod(x, 0.15)[1]), x, mode=mode),
                                  np.ones(3))
    np.testing.assert_array_equal(dd.grad(lambda x: np.sum(divmod(1.0, x)[1]), x, mode=mode),
                                  -np.floor_divide(1.0, x))
    q, r = divmod(dd.Dual(0.35, 1.0), 0.15)
    assert q == np.floor_divide(0.35, 0.15) and not dd.primitives.is_traced(q)
    assert r.tangent == 1.0


def test_a_ufunc_from_another_library_is_named_as_its_own():
    special = pytest.importorskip("scipy.special")
    with pytest.raises(TypeError, match=r"scipy\.special\.spence has no dualdiff rule"):
        dd.grad(lambda x: np.sum(special.spence(x)), np.ones(2))


@pytest.mark.parametrize("call, hint", [
    (lambda x: np.hypot.reduce(x), "the function form"),
    (lambda x: np.sum(np.maximum.accumulate(x)), "np.cumsum"),
    (lambda x: np.sum(np.add.reduceat(x, [0])), "np.sum over each slice"),
])
def test_unsupported_ufunc_methods_say_what_to_write_instead(call, hint):
    with pytest.raises(TypeError, match=hint):
        dd.grad(call, np.ones(2))


# --- a list of arrays as x (autograd reads it as a container, numpy and dualdiff as an array) ---

def test_a_ragged_list_as_x_says_to_pass_a_tuple():
    with pytest.raises(TypeError, match=r"different shapes \(\(1,\), \(3,\)\).*as a tuple"):
        dd.grad(lambda x: 0.0, [np.ones(1), np.ones(3)])
    # ... and the tuple it suggests works: ∂/∂a Σa = 1, ∂/∂b Σb² = 2b
    ga, gb = dd.grad(lambda p: np.sum(p[0]) + np.sum(p[1] ** 2), (np.ones(1), np.arange(3.0)))
    np.testing.assert_array_equal(ga, [1.0])
    np.testing.assert_array_equal(gb, [0.0, 2.0, 4.0])


def test_a_list_of_traced_values_as_x_says_to_stack_them():
    with pytest.raises(TypeError, match="dd.stack"):
        dd.grad(lambda x: dd.grad(lambda y: np.sum(y), [x, 1.0]), 1.0)


@pytest.mark.parametrize("f", [lambda x: np.allclose(x, 1.0), lambda x: x > 0,
                               lambda x: bool(np.all(x > 0))])
@pytest.mark.parametrize("transform", [dd.grad, lambda f, x: dd.jacobian(f, x),
                                       lambda f, x: dd.jvp(f, x, np.ones_like(x))])
def test_a_boolean_output_is_refused_not_a_zero_derivative(f, transform):
    with pytest.raises(TypeError, match="f returned booleans, which have no derivative"):
        transform(f, np.array([1.0, 2.0]))


@pytest.mark.parametrize("transform", [dd.grad, lambda f, x: dd.grad(f, x, mode="forward"),
                                       lambda f, x: dd.jvp(f, x, np.ones_like(x))])
def test_assigning_a_traced_value_into_a_plain_array_is_dualdiffs_error(transform):
    def f(x):
        y = np.zeros(2)
        y[0] = x[0]
        return np.sum(y)

    with pytest.raises(TypeError, match=r"assigning a Dual or tape variable into a plain numpy "
                                        r"array .* dd\.stack"):
        transform(f, np.array([1.0, 2.0]))


def test_numpys_own_assignment_error_is_left_alone():
    def f(x):
        y = np.zeros(2)
        y[0] = [1.0, 2.0]  # the user's own mistake, nothing traced: numpy's message stands
        return np.sum(x)

    with pytest.raises(ValueError, match="setting an array element with a sequence"):
        dd.grad(f, np.array([1.0, 2.0]))


def test_printing_a_traced_value_inside_f():
    # f-strings show the value; '%' formatting calls float(), whose error says what prints
    def f(x):
        loss = np.sum(x ** 2)
        assert f"{loss:.3f}" == "5.000"
        with pytest.raises(TypeError, match=r'To print it, f"\{x:\.4f\}" works'):
            "%.3f" % loss
        return loss
    np.testing.assert_array_equal(dd.grad(f, np.array([1.0, 2.0])), [2.0, 4.0])
