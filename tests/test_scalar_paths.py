"""The shortcuts for a point given as Python floats (``dd.grad(f, (x1, x2))``, both modes).

``flatten`` reads a tuple of floats as its leaves directly, and a forward Jacobian over a few
float64 scalars seeds the identity's columns and reads the gradient off the tangent, skipping
the general bookkeeping. Each result must be bitwise what the general path gives (a list x,
``chunk=1``, a 0-d array x, ``dd.jacobian``), right by an independent oracle (closed forms, complex
step), and the shortcut must step aside for everything else (nesting, dd.compile, float32).
"""

import math

import numpy as np
import pytest

import dualdiff as dd
from oracles import complex_step_jacobian, hessian_by_differences


def seed(x):
    x1, x2 = x
    return np.log(x1) + x1 * x2 - np.sin(x2)


def mixed(x):
    a, b, c = x
    return np.exp(a / b) * np.tanh(c) + a ** 2 - b * c / a


def only_first(x):
    return np.sin(x[0]) * 3.0


def first_itself(x):
    return x[0]


def constant(x):
    return 4.0


FUNCTIONS = [(seed, (2.0, 5.0)), (mixed, (0.5, -1.5, 0.25)), (only_first, (1.0, 2.0)),
             (first_itself, (3.0, -4.0)), (mixed, (-0.0, 1.0, 2.0))]


def bits(values):
    """The exact bytes of a tuple of results (so -0.0 differs from 0.0, and nan equals nan)."""
    return b"".join(np.asarray(v, dtype=float).tobytes() for v in values)


@pytest.mark.parametrize("f, x", FUNCTIONS)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_tuple_of_floats_gives_bitwise_what_the_general_paths_give(f, x, mode):
    with np.errstate(all="ignore"):
        g = dd.grad(f, x, mode=mode)
        assert type(g) is tuple and all(type(gi) is np.float64 for gi in g)
        general = [
            dd.grad(f, np.array(x), mode=mode),                       # one array leaf, indexed
            dd.grad(f, tuple(np.float64(v) for v in x), mode=mode),   # numpy scalars
            dd.grad(f, tuple(np.array(v) for v in x), mode=mode),     # 0-d arrays
        ]
        if mode == "forward":
            general += [dd.grad(f, x, mode=mode, chunk=1),            # one pass per input
                        dd.jacobian(f, x)]                            # the general assembly
        else:
            general += [dd.jacobian(f, x, mode="reverse")]
    for other in general:
        assert bits(g) == bits(tuple(other))


@pytest.mark.parametrize("f, x", FUNCTIONS[:3])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_tuple_of_floats_against_complex_step(f, x, mode):
    want = complex_step_jacobian(lambda z: f(tuple(z)), np.array(x))
    np.testing.assert_allclose(dd.grad(f, x, mode=mode), want, rtol=1e-14, atol=1e-300)


def test_the_seed_example_closed_form_in_both_modes():
    want = (1 / 2.0 + 5.0, 2.0 - math.cos(5.0))
    for mode in ("reverse", "forward"):
        assert dd.grad(seed, (2.0, 5.0), mode=mode) == pytest.approx(want, rel=1e-15)
        assert dd.grad(seed, [2.0, 5.0], mode=mode) == pytest.approx(want, rel=1e-15)


def test_one_float_and_nan_semantics():
    for mode in ("reverse", "forward"):
        g = dd.grad(lambda t: t[0] * t[0], (3.0,), mode=mode)
        assert type(g) is tuple and bits(g) == bits((6.0,))
        with np.errstate(all="ignore"):   # log of a negative number: nan, as numpy gives it
            g = dd.grad(lambda t: np.log(t[0]) * t[1], (-1.0, 2.0), mode=mode)
            same = dd.grad(lambda t: np.log(t[0]) * t[1], np.array([-1.0, 2.0]), mode=mode)
        assert np.isnan(g[1]) and bits(g) == bits(tuple(same))
        # reverse: ∂/∂t0 = t1 / t0 exactly; forward also adds log(t0) · 0 = nan to it
        assert g[0] == -2.0 if mode == "reverse" else np.isnan(g[0])


def test_a_result_never_aliases_a_seed():
    # f returns its input: the gradient (1, 0) must not be a view of the seeds, nor change later.
    g1 = dd.grad(first_itself, (3.0, -4.0), mode="forward")
    g2 = dd.grad(first_itself, (3.0, -4.0), mode="forward")
    assert g1 == g2 == (1.0, 0.0)


def test_nested_derivatives_through_the_shortcuts():
    # Hessian by nesting (forward over reverse) against a closed form and differences.
    H = dd.hessian(seed, (2.0, 5.0))
    closed = [[-1 / 4.0, 1.0], [1.0, math.sin(5.0)]]
    np.testing.assert_allclose(np.array([[H[0][0], H[0][1]], [H[1][0], H[1][1]]]), closed,
                               rtol=1e-14)
    np.testing.assert_allclose(
        closed, hessian_by_differences(lambda z: seed(tuple(z)), np.array([2.0, 5.0])), rtol=1e-6)
    # A forward gradient over floats inside a reverse derivative: the tangent is traced.
    for mode in ("forward", "reverse"):
        outer = dd.grad(lambda a: dd.grad(lambda x: x[0] * x[1] * a, (2.0, 5.0), mode=mode)[0],
                        3.0)
        assert float(outer) == 5.0
    # Perturbation confusion stays away: d/da [a * d/dx (x + a)] = 1.
    assert float(dd.derivative(lambda a: a * dd.grad(lambda x: x[0] + a, (1.0,),
                                                     mode="forward")[0], 1.0)) == 1.0


def test_compiled_gradient_of_floats_stays_bitwise_eager():
    rev = dd.compile(lambda x1, x2: dd.grad(seed, (x1, x2)))
    fwd = dd.compile(lambda x1, x2: dd.grad(seed, (x1, x2), mode="forward"))
    for x in [(2.0, 5.0), (0.5, 0.25)]:
        assert bits(rev(*x)) == bits(dd.grad(seed, x))
        assert bits(fwd(*x)) == bits(dd.grad(seed, x, mode="forward"))


def test_float32_scalars_keep_their_dtype():
    x = (np.float32(2.0), np.float32(5.0))
    for mode in ("reverse", "forward"):
        g = dd.grad(lambda t: t[0] * t[1], x, mode=mode)
        assert [type(v) for v in g] == [np.float32, np.float32] and g == (5.0, 2.0)


VECTORS = [(lambda x: seed(tuple(x)), np.array([2.0, 5.0])),
           (lambda x: np.sum(np.sin(x) * x) + x[0, 1] / x[1, 0], np.array([[0.5, 1.5], [2.0, -1.0]])),
           (lambda x: x[1], np.array([3.0, 4.0, 5.0])),
           (lambda x: 2.0, np.array([1.0, 2.0]))]


@pytest.mark.parametrize("f, x", VECTORS)
def test_a_small_vector_forward_gradient_is_bitwise_the_general_one(f, x):
    g = dd.grad(f, x, mode="forward")        # one pass of x.size directions: the shortcut
    assert type(g) is np.ndarray and g.shape == x.shape and g.dtype == np.float64
    for other in (dd.grad(f, x, mode="forward", chunk=1), dd.jacobian(f, x),
                  dd.grad(lambda t: f(t[0]), (x,), mode="forward")[0]):
        assert g.tobytes() == np.asarray(other).tobytes()
    want = complex_step_jacobian(f, x) if f is not VECTORS[3][0] else np.zeros(x.shape)
    np.testing.assert_allclose(g, want, rtol=1e-14, atol=1e-300)


def test_a_small_vector_gradient_is_the_callers_own_array():
    # f returns an element of x: its tangent is a view of the (shared, read-only) seeds, which
    # the gradient must not be.
    g = dd.grad(lambda x: x[1], np.array([3.0, 4.0]), mode="forward")
    g[0] = 99.0
    assert dd.grad(lambda x: x[1], np.array([3.0, 4.0]), mode="forward").tolist() == [0.0, 1.0]
    # float32 keeps the general path and its dtype
    g32 = dd.grad(lambda x: x[0] * x[1], np.array([2.0, 5.0], dtype=np.float32), mode="forward")
    assert g32.dtype == np.float32 and g32.tolist() == [5.0, 2.0]


def test_a_fresh_array_gradient_is_handed_over_not_copied(monkeypatch):
    # The scalar shortcut in the sweep's read-out must not keep a reference of its own: take()
    # decides by reference count whether the table's array may be returned as it is.
    from dualdiff import transforms
    real_take = transforms.take
    handed = []

    def spy(table, slot):
        before = id(table[slot])  # an id, not a reference, so take() sees what it would
        out = real_take(table, slot)
        handed.append(id(out) == before)
        return out

    monkeypatch.setattr(transforms, "take", spy)
    g = dd.grad(lambda x: np.sum(x * x), np.arange(3.0))
    assert g.tolist() == [0.0, 2.0, 4.0] and handed == [True]
