"""dd.compile against eager mode, bit for bit, on every entry of the table.

For every case of the table test (``tests/table_cases/``, read by ``tests/test_table.py``: every primitive in ``dd.PRIMITIVES``
and every composite function, so a rule added there is covered here with no extra code), the
compiled function must return exactly what the eager call returns (same types, dtypes, shapes
and bytes) for the value, one jvp, one vjp and a second-order derivative (forward over reverse),
in float64, in float32 and on empty arrays. The generated code runs the table's own rules
(recorded once) through lowered operators, ufuncs and impl calls; any difference between a
lowering and the impl it stands for, or a value baked in at record time, shows up here.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.codegen import same_value
from table_cases import CASES, COMPOSITES


def _identical(a, b, path="result"):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), f"{path}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            _identical(x, y, f"{path}[{i}]")
        return
    assert same_value(a, b), f"{path}: compiled {b!r} ({type(b).__name__}) != eager {a!r} ({type(a).__name__})"


#: Composites dd.compile refuses at record time, and why (tested below to say so clearly).
NOT_COMPILABLE = {"interp": "it gathers by indices computed from x's value (the interval x "
                            "lies in); dd.compile records no gather by traced indices",
                  "piecewise": "it selects x[cond] with conditions computed from x's value, "
                               "whose size compiled code does not record"}


def _cases():
    out = []
    for name in list(dd.PRIMITIVES) + COMPOSITES:
        if name in NOT_COMPILABLE:
            continue
        for case in CASES.get(name, []):
            out.append(pytest.param(case, id=case.id))
    return out


@pytest.mark.parametrize("name", sorted(NOT_COMPILABLE))
def test_composites_that_cannot_compile_are_refused_at_record_time(name):
    for case in CASES[name]:
        args = case.args(np.random.default_rng(0))
        compiled = dd.compile(case.fn)
        with pytest.raises(TypeError, match="compile"):
            compiled(*args)


def _programs(case, args):
    """value, jvp, vjp and forward-over-reverse of the case's function in its traced arguments."""
    traced = list(case.traced) if case.traced is not None else list(range(len(args)))
    fixed = list(args)

    def f(xs):
        full = list(fixed)
        for i, x in zip(traced, xs):
            full[i] = x
        return case.fn(*full)

    def value(*xs):
        return f(xs)

    def jvp(xs, vs):
        return dd.jvp(f, xs, vs)

    def vjp(xs, ybar):
        y, pullback = dd.vjp(f, xs)
        return y, pullback(ybar)

    def second(xs, vs, ybar):
        # the first argument's cotangent, differentiated along vs in every argument
        return dd.jvp(lambda z: dd.vjp(f, z)[1](ybar)[0], xs, vs)

    return traced, value, jvp, vjp, second


def _cast(x, dtype):
    if dtype is None:
        return x
    return np.asarray(x, dtype=dtype) if np.ndim(x) else dtype(x)


def _run_all(case, dtype=None):
    rng = np.random.default_rng(zlib.crc32(case.id.encode()) + 1)
    args = tuple(_cast(a, dtype) for a in case.args(rng))
    traced, value, jvp, vjp, second = _programs(case, args)
    xs = tuple(args[i] for i in traced)
    vs = tuple(_cast(rng.normal(size=np.shape(x)), dtype) if np.ndim(x) else _cast(float(rng.normal()), dtype)
               for x in xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = value(*xs)
        ybar = _cast(rng.normal(size=np.shape(y)), dtype) if np.ndim(y) else _cast(1.5, dtype)
        for name, fn, call_args in [("value", value, xs), ("jvp", jvp, (xs, vs)),
                                    ("vjp", vjp, (xs, ybar)), ("second", second, (xs, vs, ybar))]:
            eager = fn(*call_args)
            compiled = dd.compile(fn)
            _identical(eager, compiled(*call_args), f"{case.id} {name}")
            # a second call runs the cached code, not the recording
            _identical(eager, compiled(*call_args), f"{case.id} {name} (replay)")
            assert compiled.recordings == 1


@pytest.mark.parametrize("case", _cases())
def test_compiled_equals_eager(case):
    _run_all(case)


@pytest.mark.parametrize("case", _cases())
def test_compiled_equals_eager_float32(case):
    _run_all(case, np.float32)
