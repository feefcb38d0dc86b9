"""The reverse sweep sums cotangents in place only into arrays nobody else can see."""

import numpy as np

import dualdiff as dd
from dualdiff import tape as tape_module
from dualdiff.tape import Tape, TapeTag, _sum_into_part, backward

X = np.linspace(0.1, 1.0, 50)


def sweep(f):
    tape = Tape()
    tag = TapeTag(tape)
    x = tag.new_var(X.copy())
    y = f(x)
    return tape, backward(tape, {y.slot: 1.0})[0]


def test_fresh_cotangents_are_summed_in_place():
    # x receives three contributions (sin, exp and the square); the rules' fresh results are
    # summed into in place rather than allocating a new array for every sum.
    tape, g = sweep(lambda x: np.sum(np.sin(x) * np.exp(x) + x ** 2))
    assert tape.inplace >= 1
    want = np.cos(X) * np.exp(X) + np.sin(X) * np.exp(X) + 2 * X
    np.testing.assert_allclose(g, want, rtol=1e-14)


def test_shared_cotangents_are_never_written_into():
    # add hands the same cotangent array to both parents; summing into one of them in place
    # would silently change the other. Here a = x * 2 and b = x * 3 both get ct = sin-output's.
    tape, g = sweep(lambda x: np.sum(np.sin(x * 2.0 + x * 3.0) * X))
    want = 5.0 * np.cos(5.0 * X) * X
    np.testing.assert_allclose(g, want, rtol=1e-14)


def test_forward_values_kept_on_the_tape_are_never_written_into():
    # exp's partial is its own output, which the tape (and the user) still holds.
    seen = {}

    def f(x):
        e = np.exp(x)
        seen["e"] = e.primal
        return np.sum(e) + np.sum(e * x)

    before = np.exp(X)
    g = dd.grad(f, X)
    np.testing.assert_array_equal(seen["e"], before)
    np.testing.assert_allclose(g, np.exp(X) * (2.0 + X), rtol=1e-14)



def test_one_fresh_array_for_both_arguments_is_doubled_in_place():
    # x * x under a sum: the rule hands the same fresh array to both arguments of the product;
    # the sweep's own references to it are counted, so the second contribution is summed into
    # it rather than into a new array. (The factor makes that array fresh: with a unit
    # cotangent the rule hands back x itself, which is never written into.)
    tape, g = sweep(lambda x: np.sum(x * x) * 0.5)
    assert tape.inplace == 1
    np.testing.assert_array_equal(g, X)
    tape, g = sweep(lambda x: np.sum(x * x))
    assert tape.inplace == 0
    np.testing.assert_array_equal(g, 2.0 * X)


def test_a_cotangent_passed_through_to_both_arguments_stays_shared_safely():
    # add(x, x): both contributions are the incoming cotangent itself (sin's fresh output
    # times cos); doubling it in place is safe because nothing else holds it, and the result
    # is the closed form.
    tape, g = sweep(lambda x: np.sum(np.sin(x) * 1.0 + np.sin(x) * 1.0) + np.sum(np.exp(x + x)))
    np.testing.assert_allclose(g, 2.0 * np.cos(X) + 2.0 * np.exp(2.0 * X), rtol=1e-14)


def test_the_users_arrays_and_kept_values_survive_in_place_sums():
    # Cotangents that are the user's own arrays (x * w gives x the cotangent w, twice here)
    # or values the tape keeps must be copied before any sum, never written into.
    w = np.linspace(2.0, 3.0, 50)
    w_before = w.copy()
    g = dd.grad(lambda x: np.sum(x * w) + np.sum(x * w) + np.sum(x * x), X)
    np.testing.assert_array_equal(w, w_before)
    np.testing.assert_allclose(g, 2.0 * w + 2.0 * X, rtol=1e-15)
    seen = {}

    def f(x):
        s = np.sin(x)
        seen["s"] = s.primal
        return np.sum(s * s)

    before = np.sin(X)
    g = dd.grad(f, X)
    np.testing.assert_array_equal(seen["s"], before)
    np.testing.assert_allclose(g, 2.0 * np.sin(X) * np.cos(X), rtol=1e-14)



import pytest  # noqa: E402


@pytest.mark.parametrize("n", [5, 10000])  # (10000: past the owned-cotangent size too)
@pytest.mark.parametrize("nest", [
    (lambda z: (z + z) + z, 3.0),
    (lambda z: z + (z + z), 3.0),
    (lambda z: ((z + z) + z) + z, 4.0),
    (lambda z: (z * z + z) + z, None),
])
def test_a_cotangent_handed_to_one_parent_twice_is_not_summed_into(n, nest):
    # The outer add gives z and (z + z) one array; the inner add then hands that array to z
    # twice. Summing into it in place for the first gave the second the sum (4 for 3).
    g, k = nest
    z = np.linspace(0.1, 1.0, n)
    f = lambda z: np.sum(np.sin(g(z)))  # noqa: E731
    inner = g(z)
    slope = k if k is not None else 2 * z + 2.0  # closed form of g'
    want = np.cos(inner) * slope
    np.testing.assert_allclose(dd.grad(f, z), want, rtol=1e-13)
    np.testing.assert_allclose(dd.grad(f, z, mode="forward"), want, rtol=1e-13)
    if n == 5:
        # forward over reverse: the Duals of the sweep take the same path
        curv = 0.0 if k is not None else 2.0
        H = np.diag(-np.sin(inner) * slope ** 2 + np.cos(inner) * curv)
        np.testing.assert_allclose(dd.hessian(f, z), H, rtol=1e-12, atol=1e-14)
        J = dd.jacobian(lambda z: np.sin(g(z)), z, mode="reverse")
        np.testing.assert_allclose(J, np.diag(want), rtol=1e-13)


def test_two_slices_swept_one_after_the_other_are_summed_in_place(monkeypatch):
    # x[1:] and x[:-1] are recorded one after the other, so the sweep takes their adjoints one
    # after the other: the second is added into the part of x's running sum it came from,
    # though the first step's results were still held by the sweep's locals.
    def f(x):
        a, b = x[1:], x[:-1]
        return np.sum(np.sin(a) * np.exp(b))

    calls = []
    monkeypatch.setattr(tape_module, "_sum_into_part",
                        lambda *args: calls.append(1) or _sum_into_part(*args))
    tape, g = sweep(f)
    assert calls == [1] and tape.inplace >= 1
    want = np.zeros_like(X)
    want[1:] += np.cos(X[1:]) * np.exp(X[:-1])
    want[:-1] += np.sin(X[1:]) * np.exp(X[:-1])
    np.testing.assert_allclose(g, want, rtol=1e-14)
