"""Random programs with fan-out on arrays large enough for every memory-reusing path.

The sweep sums cotangents in place when it owns them, elementwise rules write into cotangents the
sweep holds alone, and the buffer pool reuses large arrays nobody holds: all three are decided by
reference counts, and a mistake shows only where a value is used more than once and the arrays
are large. Each program here reuses its intermediate values at random, on n = 140,000 float64s
(1.1 MB, above every threshold), and its gradient must agree with forward mode (the dot-product
test), with central differences of the plain numpy program (smooth operations only), and with
itself on a second call (memory reused across calls must not leak values).
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd

N = 140_000

UNARY = [
    np.sin, np.tanh, lambda a: np.exp(0.3 * a), lambda a: a * a, lambda a: -a,
    lambda a: 1 / (1 + np.exp(-a)), lambda a: np.concatenate([a[1:], a[:1]]), lambda a: a[::-1],
    lambda a: np.cumsum(a) * 1e-4, lambda a: 0.7 * a + 0.1, lambda a: np.roll(a, 3),
    lambda a: a.reshape(-1, 2).T.reshape(-1),
    lambda a: np.concatenate([a[:-1] * 0.5, a[-1:]]) + np.concatenate([a[:1], a[1:] * 0.25]),
]
BINARY = [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
    lambda a, b: a / (1.5 + np.tanh(b)),
    lambda a, b: np.where(np.arange(a.shape[0]) % 3 == 0, a, b),
    lambda a, b: np.sqrt(a * a + b * b + 1.0),
]


def _program(rng):
    """Operations on earlier values chosen at random (so values fan out), and the summed outputs."""
    ops, count = [], 1
    for _ in range(rng.integers(4, 12)):
        if rng.uniform() < 0.55:
            ops.append((UNARY[rng.integers(len(UNARY))], (rng.integers(count),)))
        else:
            # adds first, and often one value on both sides: (z + z) + z hands the sweep one
            # cotangent array for several parents, which in-place sums must leave alone
            kind = rng.integers(len(BINARY)) if rng.uniform() < 0.5 else rng.integers(2)
            i = rng.integers(count)
            j = i if rng.uniform() < 0.3 else rng.integers(count)
            ops.append((BINARY[kind], (i, j)))
        count += 1
    outputs = sorted(set(rng.integers(count, size=3).tolist()) | {count - 1})

    def run(x, w):
        values = [x]
        for fn, args in ops:
            values.append(fn(*(values[i] for i in args)))
        # through a unary function: its adjoint hands the sweep a fresh array it owns
        return sum(np.sum(w * np.sin(values[o])) for o in outputs)
    return run


@pytest.mark.parametrize("seed", range(8))
def test_gradient_of_a_random_fanout_program_on_large_arrays(seed):
    rng = np.random.default_rng(seed)
    run = _program(rng)
    x, w, v = rng.uniform(-1, 1, N), rng.normal(size=N) / N, rng.normal(size=N)
    f = lambda x: run(x, w)
    g = dd.grad(f, x)
    np.testing.assert_array_equal(dd.grad(f, x), g)
    _, jv = dd.jvp(f, x, v)
    assert float(g @ v) == pytest.approx(float(jv), rel=1e-9, abs=1e-12)
    central = (f(x + 1e-6 * v) - f(x - 1e-6 * v)) / 2e-6
    assert float(g @ v) == pytest.approx(central, rel=1e-5, abs=1e-8)


# Every two-step program over x: v1 = x op1 x, v2 = op2 on any two of (x, v1), then a unary
# function. This is where (z + z) + z gave 4cos(3z) for 3cos(3z) (the sweep summed into an array
# it had still to hand on); random programs rarely build it, so all of them are tried.
_BINARY_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}
_UNARY_OPS = {"sin": np.sin, "neg": lambda a: -a, "id": lambda a: a}


@pytest.mark.parametrize("n", [3, N])
@pytest.mark.parametrize("first", list(_BINARY_OPS))
@pytest.mark.parametrize("second", list(_BINARY_OPS))
def test_every_two_step_fanout_program(first, second, n):
    rng = np.random.default_rng(n)
    x, w, v = rng.uniform(-1, 1, n), rng.normal(size=n), rng.normal(size=n)
    op1, op2 = _BINARY_OPS[first], _BINARY_OPS[second]
    for i, j in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        for unary in _UNARY_OPS.values():
            def f(x):
                values = [x]
                values.append(op1(x, x))
                values.append(op2(values[i], values[j]))
                return np.sum(w * unary(values[2]))
            g = dd.grad(f, x)
            _, jv = dd.jvp(f, x, v)
            assert float(g @ v) == pytest.approx(float(jv), rel=1e-12, abs=1e-12), (i, j, unary)
            central = (f(x + 1e-6 * v) - f(x - 1e-6 * v)) / 2e-6
            assert float(g @ v) == pytest.approx(central, rel=1e-6, abs=1e-8), (i, j, unary)
