"""The tape's float entries: scalar code recorded as tuples and swept by a scalar loop.

While one or two arguments and the result of an operation are Python floats (or np.float64)
and it has no parameters, ``TapeTag.process`` appends a tuple instead of an ``Entry``, and
``backward`` sweeps it without the general bookkeeping; ``grad`` over a tuple of floats skips
flattening and rebuilding too. Each result must be bitwise what the general path gives (the same
point as 0-d arrays, which always take it), right by an independent oracle (closed forms,
complex step), and every reader of a tape (memory counts, checkpoints, several sweeps, a
cotangent that is not a float) must see what an ``Entry`` would have given it.
"""

import math
import warnings

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.tape import Entry, Tape, TapeTag, as_entry, backward
from oracles import central_difference_jacobian, complex_step_jacobian


def bits(values):
    """The exact bytes of a tuple of results (so -0.0 differs from 0.0, and nan equals nan)."""
    return b"".join(np.asarray(v, dtype=float).tobytes() for v in values)


def seed(x):
    x1, x2 = x
    return np.log(x1) + x1 * x2 - np.sin(x2)


def many(x):
    a, b, c = x
    return (np.exp(a / b) * np.tanh(c) + a ** 2.0 - b * c / a + np.sqrt(np.abs(c))
            + np.arctan2(a, b) + np.hypot(b, c) - (-a) + np.cos(b) ** 3.0 + np.log1p(c * c))


def reuse(x):
    a, b = x
    t = a * b
    return t * t + t / a - np.sin(t) * b  # each value swept into several times


def constants(x):
    a, b = x
    return 2.5 * a - b / 4.0 + (1.0 - a) * 3.0 + np.float64(0.5) * b


FUNCTIONS = [(seed, (2.0, 5.0)), (many, (0.5, -1.5, 0.25)), (reuse, (0.3, 1.7)),
             (constants, (1.0, -2.0)), (many, (-0.0, 1.0, 2.0))]


def general(f, x):
    """The general path's gradient: the same point as 0-d arrays (never a float entry)."""
    return dd.grad(f, tuple(np.array(v) for v in x))


@pytest.mark.parametrize("f, x", FUNCTIONS)
def test_float_entries_give_bitwise_what_general_entries_give(f, x):
    with np.errstate(all="ignore"):
        g = dd.grad(f, x)
        want = general(f, x)
        also = [dd.grad(f, list(x)),                                   # an array leaf, indexed
                dd.grad(f, tuple(np.float64(v) for v in x)),           # numpy scalars
                dd.jacobian(f, x, mode="reverse")]                     # _Recording's own sweep
    assert type(g) is tuple and all(type(gi) is np.float64 for gi in g)
    assert bits(g) == bits(want)
    for other in also:
        assert bits(tuple(other)) == bits(want)


@pytest.mark.parametrize("f, x", [FUNCTIONS[i] for i in (0, 2, 3)])
def test_float_entries_against_complex_step(f, x):
    want = complex_step_jacobian(lambda z: f(tuple(z)), np.array(x))
    np.testing.assert_allclose(dd.grad(f, x), want, rtol=1e-13, atol=1e-300)


def test_float_entries_of_functions_that_are_not_analytic_against_differences():
    x = (0.5, -1.5, 0.25)  # (arctan2, hypot and abs take no complex step)
    want = central_difference_jacobian(lambda z: many(tuple(z)), np.array(x))
    np.testing.assert_allclose(dd.grad(many, x), want, rtol=1e-8)


def test_the_seed_example_closed_form():
    assert dd.grad(seed, (2.0, 5.0)) == pytest.approx((1 / 2.0 + 5.0, 2.0 - math.cos(5.0)),
                                                      rel=1e-15)


def record(f, x):
    tape = Tape()
    tag = TapeTag(tape, owner="grad")
    out = f(tuple(tag.new_vars(list(x))))
    tag.active = False
    return tape, out


def test_scalar_operations_are_recorded_as_tuples_and_others_as_entries():
    tape, out = record(lambda x: np.sin(x[0]) * x[1] + np.array([1.0, 2.0]) * x[0], (2.0, 5.0))
    kinds = [type(e) for e in tape.entries]
    # sin and * of floats: tuples; the array product and the sum with an array: Entries
    assert kinds == [tuple, tuple, Entry, Entry]
    e = as_entry(tape.entries[0])
    # what the general path keeps for sin (its argument, not its output), and the rest
    assert (e.prim.name, e.parents, e.args, e.out, e.shapes, e.wants, e.real, e.slot) == (
        "sin", (0,), (2.0,), None, ((),), (True,), None, 2)
    m = as_entry(tape.entries[1])
    assert (m.prim.name, m.parents, m.args, m.out, m.shapes, m.wants) == (
        "multiply", (2, 1), (math.sin(2.0), 5.0), None, ((), ()), (True, True))


def test_a_constant_argument_is_recorded_as_no_parent():
    tape, out = record(lambda x: 3.0 - x[0], (2.0,))
    prim, slot, parents, values, result, wants = tape.entries[0]
    assert (prim.name, parents, values, result, wants) == ("subtract", (None, 0), (3.0, 2.0), 1.0,
                                                          (False, True))
    assert backward(tape, {out.slot: 1.0})[0] == -1.0


def test_memory_counts_float_entries_as_the_general_path_keeps_them():
    # log and * keep their arguments (x1, x2: 16 bytes), + and - keep nothing, sin keeps x2
    for f, x in FUNCTIONS[:4]:
        with np.errstate(all="ignore"):
            _, floats = dd.grad(f, x, full_output=True)
            _, arrays = dd.grad(f, tuple(np.array(v) for v in x), full_output=True)
        assert floats.peak_bytes == arrays.peak_bytes > 0
        assert floats.operations == arrays.operations
    _, info = dd.grad(seed, (2.0, 5.0), full_output=True)
    assert info.peak_bytes == 16


def test_several_sweeps_and_cotangents_that_are_not_floats():
    x = (0.3, 1.7)
    y, pullback = dd.vjp(reuse, x)
    _, pullback0 = dd.vjp(reuse, tuple(np.array(v) for v in x))
    for ybar in (1.0, 2.0, np.float64(-0.5), np.array(3.0), 1.0):
        assert bits(pullback(ybar)) == bits(pullback0(ybar))
    g = dd.grad(reuse, x)
    np.testing.assert_allclose(pullback(np.array(3.0)), 3.0 * np.array(g), rtol=1e-15)
    # a Dual cotangent (forward over the pullback): the general rule, through the Entry
    t = dd.jvp(lambda s: dd.stack(pullback(s)), 1.0, 1.0)[1]
    assert bits(tuple(t)) == bits(g)


def test_checkpoints_on_a_tape_of_float_entries():
    @dd.checkpoint
    def block(a, b):
        return np.sin(a * b) + a / b

    def f(x):
        a, b = x
        return block(a * 2.0, b) * a - b

    def plain(x):
        a, b = x
        c = a * 2.0
        return (np.sin(c * b) + c / b) * a - b

    x = (0.7, 1.3)
    assert bits(dd.grad(f, x)) == bits(dd.grad(plain, x)) == bits(general(f, x))
    _, info = dd.grad(f, x, full_output=True)
    _, info0 = dd.grad(f, tuple(np.array(v) for v in x), full_output=True)
    assert info.peak_bytes == info0.peak_bytes


def test_a_warning_is_raised_once_as_numpy_raises_it():
    for x in [(-1.0, 2.0), tuple(np.array(v) for v in (-1.0, 2.0))]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            g = dd.grad(lambda t: np.log(t[0]) * t[1], x)
        assert len(caught) == 1 and issubclass(caught[0].category, RuntimeWarning)
        assert g[0] == -2.0 and np.isnan(g[1])


def count_calls(f):
    calls = []

    def counted(x):
        calls.append(1)
        return f(x)
    return counted, calls


@pytest.mark.parametrize("f, want", [
    (lambda x: 4.0, (0.0, 0.0)),                                   # no dependence on x
    (lambda x: x[0], (1.0, 0.0)),                                  # an input itself
    (lambda x: np.float32(1.0) * x[0] * x[1], (5.0, 2.0)),        # a float32 product
    (lambda x: dd.sum(dd.stack([x[0], x[1]]) ** 2), (4.0, 10.0)),  # through an array
])
def test_the_shortcut_hands_anything_else_to_the_general_path_running_f_once(f, want):
    counted, calls = count_calls(f)
    g = dd.grad(counted, (2.0, 5.0))
    assert len(calls) == 1
    assert np.allclose(g, want, rtol=0, atol=0)
    assert bits(g) == bits(general(f, (2.0, 5.0)))
    assert all(type(gi) is type(gg) for gi, gg in zip(g, general(f, (2.0, 5.0))))


def test_the_shortcut_refuses_what_the_general_path_refuses_running_f_once():
    for f, error in [(lambda x: dd.stack([x[0], x[1]]), "scalar"),
                     (lambda x: x[0] * 1j, "complex")]:
        counted, calls = count_calls(f)
        with pytest.raises((ValueError, TypeError), match=error) as ours:
            dd.grad(counted, (2.0, 5.0))
        assert len(calls) == 1
        with pytest.raises(type(ours.value)) as theirs:
            general(f, (2.0, 5.0))
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="empty"):
        dd.grad(seed, ())


def test_nesting_through_float_entries():
    # reverse over reverse: the inner tape's entries meet the outer tape's Vars as cotangents
    outer = dd.grad(lambda a: dd.grad(lambda x: x[0] * x[1] * a + np.sin(x[0] * a), (2.0, 5.0))[0],
                    3.0)
    assert float(outer) == pytest.approx(5.0 + math.cos(6.0) - 6.0 * math.sin(6.0), rel=1e-15)
    # forward over reverse (the Hessian), against a closed form
    H = dd.hessian(seed, (2.0, 5.0))
    np.testing.assert_allclose([[H[0][0], H[0][1]], [H[1][0], H[1][1]]],
                               [[-1 / 4.0, 1.0], [1.0, math.sin(5.0)]], rtol=1e-14)
    # compiled: the staged values are not floats; the result stays eager's bits
    rev = dd.compile(lambda a, b: dd.grad(reuse, (a, b)))
    assert bits(rev(0.3, 1.7)) == bits(dd.grad(reuse, (0.3, 1.7)))
