"""Differential fuzzing of dd.compile: random programs compiled, against eager mode and complex step.

The random expression trees of tests/test_properties.py (every unary, binary and mixing operation
there, so every door into the library) are compiled as a value, a reverse-mode gradient and a
forward-mode Jacobian. The compiled results must equal eager mode's bit for bit, and agree with
the complex-step oracle, on the recording call and on a replay at a second point (which runs the
generated code, guards included, or records a new specialisation if a branch flips).
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import given, settings, strategies as st

import dualdiff as dd
from dualdiff.codegen import same_value
from oracles import check_close
from test_properties import (
    N, NVARS, SETTINGS, _expressions, _vector_dd, array_points, array_reference, evaluate_dd,
)

FUZZ = dict(SETTINGS, max_examples=int(os.environ.get("DUALDIFF_COMPILE_EXAMPLES", "40")))


def _same(a, b, what):
    assert same_value(a, b), f"{what}: compiled {b!r} != eager {a!r}"


@settings(**FUZZ)
@given(expr=_expressions(with_mixing=True), x=array_points, y=array_points,
       chunk=st.sampled_from([1, 4, "auto"]))
def test_random_programs_compiled_equal_eager_and_complex_step(expr, x, y, chunk):
    X = np.array(x).reshape(NVARS, N)
    Y = np.array(y).reshape(NVARS, N)
    expected = array_reference(expr, X)

    def f(Z):
        return _vector_dd(evaluate_dd(expr, [Z[0], Z[1], Z[2]]))

    def loss(Z):
        return dd.sum(f(Z) * np.linspace(0.5, 1.5, N))

    programs = {
        "value": f,
        "grad": lambda Z: dd.grad(loss, Z),
        "jacobian": lambda Z: dd.jacobian(f, Z, chunk=chunk),
    }
    with np.errstate(all="ignore"):
        for name, fn in programs.items():
            compiled = dd.compile(fn)
            for P in (X, Y, X):
                _same(fn(P), compiled(P), f"{name} of {expr}")
            got = compiled(X)
            if name == "jacobian":
                check_close(got, expected, rtol=1e-8, atol_scale=1e-10, what=f"jacobian of {expr}")
            elif name == "grad":
                check_close(got, (np.linspace(0.5, 1.5, N) @ expected.reshape(N, -1)).reshape(NVARS, N),
                            rtol=1e-8, atol_scale=1e-10, what=f"grad of {expr}")
