"""The reverse sweep sums cotangents in place only into arrays nobody else can see."""

import numpy as np

import dualdiff as dd
from dualdiff.tape import Tape, TapeTag, backward

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

