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


# -- the per-operation shortcuts: numpy's dispatch, the operators, native float arithmetic ---

from dualdiff import surface  # noqa: E402
from dualdiff.primitives import bind1, bind2  # noqa: E402
from dualdiff.rules import ufuncs as E  # noqa: E402


def _point(ufunc):
    return 1.3 if ufunc is np.arccosh else 0.3  # inside every entry's domain


def _derivatives(fn, x):
    """Value, forward derivative and reverse gradient of fn at the float x, as bytes."""
    with np.errstate(all="ignore"):
        return bits(dd.jvp(fn, x, 1.0) + (dd.grad(fn, x),
                                            dd.derivative(lambda t: dd.derivative(fn, t), x)))


@pytest.mark.parametrize("ufunc", sorted(surface.UNARY_PRIMITIVES, key=lambda u: u.__name__),
                         ids=lambda u: u.__name__)
def test_numpy_unary_dispatch_gives_the_rules_bits(ufunc):
    # np.sin(x) on a traced x goes to the tag with the rule's own primitive, skipping the rule
    # function: the same bits as calling the rule, in both modes and nested.
    rule = surface.UFUNC_RULES[ufunc]
    assert rule.unary is surface.UNARY_PRIMITIVES[ufunc]
    x = _point(ufunc)
    assert _derivatives(lambda t: ufunc(t), x) == _derivatives(rule, x)


def test_numpy_unary_dispatch_is_taken_and_right_by_closed_forms(monkeypatch):
    assert surface.UNARY_PRIMITIVES[np.sin] is E.SIN and surface.UNARY_PRIMITIVES[np.log] is E.LOG
    # (np.sign's rule gives plain values, not one primitive: it must not be in the map)
    assert np.sign not in surface.UNARY_PRIMITIVES and np.floor not in surface.UNARY_PRIMITIVES
    for mode in ("reverse", "forward"):
        assert dd.grad(lambda t: np.sin(t[0]) * np.log(t[1]), (0.5, 2.0), mode=mode) == \
            pytest.approx((math.cos(0.5) * math.log(2.0), math.sin(0.5) / 2.0), rel=1e-15)

    def refuse(*args):
        raise AssertionError("the rule function ran: the dispatch shortcut was not taken")

    monkeypatch.setitem(surface.UFUNC_RULES, np.sin, refuse)
    assert float(dd.grad(lambda t: np.sin(t), 0.5)) == math.cos(0.5)


OPERATORS = [(lambda a, b: a + b, dd.add), (lambda a, b: a - b, dd.subtract),
             (lambda a, b: a * b, dd.multiply), (lambda a, b: a / b, dd.divide)]


@pytest.mark.parametrize("op, rule", OPERATORS, ids=["add", "subtract", "multiply", "divide"])
@pytest.mark.parametrize("other", [1.75, 3, "traced"])
def test_operators_give_the_rules_bits_either_side(op, rule, other):
    for left in (True, False):
        def via(fn):
            def f(t):
                c = t * 0.5 if other == "traced" else other
                return fn(t, c) if left else fn(c, t)
            return f
        assert _derivatives(via(op), 0.8) == _derivatives(via(rule), 0.8)
    # an independent oracle: d/dx of c - x, c / x, x / c by hand
    if rule is dd.subtract and other == 1.75:
        assert float(dd.grad(lambda t: 1.75 - t, 0.8)) == -1.0
    if rule is dd.divide and other == 3:
        assert float(dd.derivative(lambda t: 3 / t, 0.8)) == -3 / 0.64
        assert float(dd.grad(lambda t: t / 3, 0.8)) == 1 / 3


def test_an_operator_on_a_leaked_value_is_still_refused():
    kept = []
    dd.grad(lambda t: kept.append(t) or t * 1.0, 2.0)
    for use in (lambda y: kept[0] + y, lambda y: y * kept[0], lambda y: 2.0 - kept[0]):
        with pytest.raises(ValueError, match="escaped"):
            dd.grad(use, 1.0)


SPECIAL = [0.0, -0.0, 1.0, -2.5, 1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan, 0.1, 3.0]


@pytest.mark.parametrize("prim", list(E.FLOAT_OPS), ids=lambda p: p.name)
def test_native_float_arithmetic_is_the_impls(prim):
    op = E.FLOAT_OPS[prim]
    for a in SPECIAL:
        for b in SPECIAL:
            got, want = op(a, b), prim.impl(a, b)
            assert type(got) is float and bits((got,)) == bits((want,)), (prim.name, a, b)
            # and numpy's ufunc agrees (the impl of arrays): IEEE arithmetic both ways
            with np.errstate(all="ignore"):
                assert bits((got,)) == bits((getattr(np, prim.name)(a, b),))


@pytest.mark.parametrize("name", ["sin", "cos", "exp", "log", "sqrt", "tanh", "negative", "abs",
                                  "add", "subtract", "multiply", "divide", "power", "maximum"])
def test_public_functions_on_floats_give_what_binding_gives(name):
    fn = getattr(dd, name)
    with np.errstate(all="ignore"):
        for a in SPECIAL:
            if hasattr(fn, "unary"):
                got, want = fn(a), bind1(fn.unary, a)
            else:
                prim = {"add": E.ADD, "subtract": E.SUB, "multiply": E.MUL, "divide": E.DIV,
                        "power": E.POW, "maximum": E.MAXIMUM}[name]
                got, want = fn(a, 0.75), bind2(prim, a, 0.75)
            assert type(got) is type(want) and bits((got,)) == bits((want,)), (name, a)


def test_traced_types_answer_ndarray_names_without_getattr():
    # No __getattr__ on the traced types (it would send every x.primal / x.tag down CPython's
    # slow attribute path): each public ndarray name they lack is a class attribute that
    # raises dualdiff's explanation; other names stay Python's AttributeError.
    from dualdiff.tape import Var
    for cls in (dd.Dual, Var):
        assert not hasattr(cls, "__getattr__")
    x = dd.Dual(1.5, 1.0)
    for name in sorted(surface._NDARRAY_NAMES | set(surface.REFUSED_METHODS)):
        try:
            getattr(x, name)
        except TypeError as e:
            assert ".primal" in str(e) and "dualdiff Dual" in str(e), name
        except ValueError:
            assert name == "mT", name  # as numpy's: a 0-d value has no matrix to transpose
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        x.no_such_thing


def test_the_forward_shortcut_runs_f_once_and_hands_anything_else_to_the_general_path():
    calls = []

    def counted(g):
        def f(x):
            calls.append(1)
            return g(x)
        return f

    cases = [(lambda x: x[0] * x[1], (5.0, 2.0)),                          # the shortcut
             (lambda x: 4.0, (0.0, 0.0)),                                   # constant f: zeros
             (lambda x: np.float32(2.0) * x[0] * x[1], (10.0, 4.0)),        # float32 value
             (lambda x: dd.sum(dd.stack([x[0], x[1]]) ** 2), (4.0, 10.0))]  # np.float64 value
    for g, want in cases:
        calls.clear()
        got = dd.grad(counted(g), (2.0, 5.0), mode="forward")
        assert len(calls) == 1 and type(got) is tuple and got == want
        assert bits(got) == bits(dd.grad(g, (2.0, 5.0), mode="forward", chunk=2))
    for g, error in [(lambda x: dd.stack([x[0], x[1]]), ValueError),      # not a scalar
                     (lambda x: x[0] * 1j, TypeError)]:                     # complex
        calls.clear()
        with pytest.raises(error):
            dd.grad(counted(g), (2.0, 5.0), mode="forward")
        assert len(calls) == 1
    # inside another derivative the tangent is traced: the general assembly, once
    calls.clear()
    outer = dd.grad(lambda a: dd.grad(counted(lambda x: x[0] * x[1] * a), (2.0, 5.0),
                                      mode="forward")[1], 3.0)
    assert float(outer) == 2.0 and len(calls) == 1
