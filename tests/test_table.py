"""One parametrised test over the whole table of primitives (and the composite functions).

For every entry of ``dd.PRIMITIVES`` and every composite public function, each case checks:

1. the value on plain input against a numpy reference, and that plain input gives plain output;
2. the tangent of one direction, for every non-empty subset of the arguments being Duals (the
   others plain constants), against complex-step differentiation of a numpy reference written
   here (central differences for the functions that are not complex-analytic, on a domain away
   from their kinks);
3. chunk mode: a Dual carrying k = 3 directions gives, direction by direction, what 3
   single-direction passes give, and what the oracle gives.

The parameter list is built from ``dd.PRIMITIVES`` itself: a primitive with no entry in
``CASES`` becomes a failing test, so a new primitive cannot go untested.

The conventions at the kinks (abs'(0), relu'(0), ties of maximum/minimum, sqrt'(0), log of a
negative number) and the numerical stability of softmax/log_softmax/logsumexp are tested at the
end of this file.
"""

from __future__ import annotations

import itertools
import math
import warnings
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pytest

import dualdiff as dd
from oracles import (
    central_difference_chunk, central_difference_jvp, check_close, complex_step_chunk,
    complex_step_jvp,
)

K = 3  # directions carried by the chunk-mode Duals


# --------------------------------------------------------------------------------------------
# Domains: each returns an argument maker rng -> value (a Python float for shape ())
# --------------------------------------------------------------------------------------------

def _out(a):
    return float(a) if np.ndim(a) == 0 else np.asarray(a, dtype=float)


def U(lo, hi):
    """Uniform on [lo, hi]."""
    return lambda rng, shape: _out(rng.uniform(lo, hi, size=shape))


def AWAY(lo, hi):
    """Uniform on [-hi, -lo] ∪ [lo, hi]: both signs, away from 0."""
    def make(rng, shape):
        mag = rng.uniform(lo, hi, size=shape)
        sign = np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)
        return _out(mag * sign)
    return make


@dataclass
class Case:
    """One test case: call ``fn`` (dualdiff) on args made from ``domains`` and ``shapes``.

    ``ref`` is the numpy reference the oracle differentiates (complex-analytic when ``oracle``
    is "complex"); ``value_ref`` (default ``ref``) is what the value is compared with. ``traced``
    lists the arguments that may be Duals; every non-empty subset of them is tried.
    ``make`` overrides argument construction (for pairs kept apart, such as maximum's).
    """

    id: str
    fn: Callable[..., Any]
    ref: Callable[..., Any]
    shapes: Sequence[tuple] = ()
    domains: Sequence[Callable] = ()
    oracle: str = "complex"
    value_ref: Optional[Callable[..., Any]] = None
    traced: Optional[Sequence[int]] = None
    make: Optional[Callable[[Any], tuple]] = None
    plain_scalar: bool = False  # all-scalar input must give a Python/numpy float

    def args(self, rng) -> tuple:
        if self.make is not None:
            return tuple(self.make(rng))
        return tuple(d(rng, s) for d, s in zip(self.domains, self.shapes))


CASES: "dict[str, list[Case]]" = {}


def add_case(name: str, case: Case) -> None:
    CASES.setdefault(name, []).append(case)


UNARY_SHAPES = [(), (4,), (2, 3)]
BINARY_SHAPES = [((), ()), ((3,), ()), ((), (3,)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((2, 3), (2, 3))]


def _sh(shape):
    return "x".join(map(str, shape)) or "scalar"


# -- elementwise, one argument ----------------------------------------------------------------

def _sigmoid_ref(z):
    return 1.0 / (1.0 + np.exp(-z))


UNARY = [
    # name, numpy reference, domain, oracle
    ("sin", np.sin, U(-3, 3), "complex"),
    ("cos", np.cos, U(-3, 3), "complex"),
    ("tan", np.tan, U(-1.3, 1.3), "complex"),
    ("exp", np.exp, U(-3, 3), "complex"),
    ("log", np.log, U(0.05, 4), "complex"),
    ("log1p", np.log1p, U(-0.9, 3), "complex"),
    ("expm1", np.expm1, U(-3, 3), "complex"),
    ("sqrt", np.sqrt, U(0.05, 4), "complex"),
    ("tanh", np.tanh, U(-3, 3), "complex"),
    ("sinh", np.sinh, U(-3, 3), "complex"),
    ("cosh", np.cosh, U(-3, 3), "complex"),
    ("arcsin", np.arcsin, U(-0.95, 0.95), "complex"),
    ("arccos", np.arccos, U(-0.95, 0.95), "complex"),
    ("arctan", np.arctan, U(-3, 3), "complex"),
    ("negative", lambda z: -z, U(-3, 3), "complex"),
    ("sigmoid", _sigmoid_ref, U(-6, 6), "complex"),
    # not complex-analytic: central differences away from the kink at 0
    ("abs", np.abs, AWAY(0.1, 3), "central"),
    ("sign", np.sign, AWAY(0.1, 3), "central"),
    ("relu", lambda x: np.maximum(x, 0.0), AWAY(0.1, 3), "central"),
]

for _name, _ref, _dom, _oracle in UNARY:
    for _shape in UNARY_SHAPES:
        add_case(_name, Case(f"{_name}-{_sh(_shape)}", getattr(dd, _name), _ref, (_shape,), (_dom,),
                             oracle=_oracle, plain_scalar=True))


# -- elementwise, two arguments ---------------------------------------------------------------

def _arctan2_ref(y, x):
    # The half-angle formula, valid off the negative x-axis, written with complex-capable numpy
    # functions (np.arctan2 itself refuses complex input).
    return 2.0 * np.arctan(y / (np.sqrt(x * x + y * y) + x))


def _pow_ref(x, y):
    return np.exp(y * np.log(x))


BINARY = [
    # name, reference, value reference, domains, oracle
    ("add", lambda a, b: a + b, np.add, (U(-3, 3), U(-3, 3)), "complex"),
    ("subtract", lambda a, b: a - b, np.subtract, (U(-3, 3), U(-3, 3)), "complex"),
    ("multiply", lambda a, b: a * b, np.multiply, (U(-3, 3), U(-3, 3)), "complex"),
    ("divide", lambda a, b: a / b, np.divide, (U(-3, 3), AWAY(0.3, 3)), "complex"),
    ("power", _pow_ref, np.power, (U(0.2, 3), U(-2, 2)), "complex"),
    ("arctan2", _arctan2_ref, np.arctan2, (AWAY(0.2, 2), U(-2, 2)), "complex"),
]

for _name, _ref, _vref, _doms, _oracle in BINARY:
    for _shapes in BINARY_SHAPES:
        add_case(_name, Case(f"{_name}-{_sh(_shapes[0])}-{_sh(_shapes[1])}", getattr(dd, _name),
                             _ref, _shapes, _doms, oracle=_oracle, value_ref=_vref,
                             plain_scalar=True))


def _separated(shape_x, shape_y):
    """x on the half-integers ± 0.2, y on the integers ± 0.2: never closer than 0.1."""
    def make(rng):
        x = rng.integers(-3, 3, size=shape_x) + 0.5 + rng.uniform(-0.2, 0.2, size=shape_x)
        y = rng.integers(-3, 3, size=shape_y) + rng.uniform(-0.2, 0.2, size=shape_y)
        return _out(x), _out(y)
    return make


for _name, _fn in (("maximum", np.maximum), ("minimum", np.minimum)):
    for _shapes in BINARY_SHAPES:
        add_case(_name, Case(f"{_name}-{_sh(_shapes[0])}-{_sh(_shapes[1])}", getattr(dd, _name),
                             _fn, oracle="central", make=_separated(*_shapes), plain_scalar=True))

# power in the forms people write: a negative base with an integer exponent (only the base can
# be differentiated there), a constant base, a constant fractional exponent.
for _shape in UNARY_SHAPES:
    add_case("power", Case(f"power-negative-base-cubed-{_sh(_shape)}",
                           lambda x: dd.power(x, 3.0), lambda x: x * x * x, (_shape,),
                           (U(-3, -0.2),), value_ref=lambda x: np.power(x, 3.0)))
    add_case("power", Case(f"power-constant-base-{_sh(_shape)}",
                           lambda y: dd.power(2.5, y), lambda y: np.exp(y * np.log(2.5)),
                           (_shape,), (U(-2, 2),), value_ref=lambda y: np.power(2.5, y)))
    add_case("power", Case(f"power-half-{_sh(_shape)}",
                           lambda x: dd.power(x, 0.5), np.sqrt, (_shape,), (U(0.1, 3),)))


# -- linear primitives ------------------------------------------------------------------------

def _linear(name, cid, fn, ref, shapes, dom=U(-2, 2)):
    add_case(name, Case(f"{name}-{cid}", fn, ref, shapes, (dom,) * len(shapes)))


for _cid, _shape, _axis, _keep in [
    ("all-scalar", (), None, False), ("all-vector", (5,), None, False),
    ("all-matrix", (3, 4), None, False), ("axis0", (3, 4), 0, False), ("axis1", (3, 4), 1, False),
    ("axis-1-keepdims", (3, 4), -1, True), ("axes02", (2, 3, 4), (0, 2), False),
    ("axes-all-keepdims", (2, 3), (0, 1), True),
]:
    _linear("sum", _cid, lambda x, a=_axis, k=_keep: dd.sum(x, axis=a, keepdims=k),
            lambda x, a=_axis, k=_keep: np.sum(x, axis=a, keepdims=k), (_shape,))

for _cid, _shape, _new in [
    ("6-to-2x3", (6,), (2, 3)), ("2x3-to-3x2", (2, 3), (3, 2)), ("2x3-to-6", (2, 3), (6,)),
    ("scalar-to-1x1", (), (1, 1)), ("2x3x2-to-minus1x4", (2, 3, 2), (-1, 4)),
    ("1-to-scalar", (1,), ()),
]:
    _linear("reshape", _cid, lambda x, s=_new: dd.reshape(x, s),
            lambda x, s=_new: np.reshape(x, s), (_shape,))

for _cid, _shape, _axes in [
    ("matrix", (2, 3), None), ("3d-reverse", (2, 3, 4), None), ("3d-102", (2, 3, 4), (1, 0, 2)),
    ("3d-201", (2, 3, 4), (2, 0, 1)), ("vector", (4,), None),
]:
    _linear("transpose", _cid, lambda x, a=_axes: dd.transpose(x, a),
            lambda x, a=_axes: np.transpose(x, a), (_shape,))

for _cid, _shape, _to in [
    ("scalar-to-3", (), (3,)), ("3-to-2x3", (3,), (2, 3)), ("3x1-to-3x4", (3, 1), (3, 4)),
    ("1x3-to-2x2x3", (1, 3), (2, 2, 3)), ("same", (2, 3), (2, 3)),
]:
    _linear("broadcast_to", _cid, lambda x, s=_to: dd.broadcast_to(x, s),
            lambda x, s=_to: np.broadcast_to(x, s), (_shape,))

_MASK1 = np.array([True, False, True, True, False])
_MASK2 = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
for _cid, _shape, _idx in [
    ("int", (5,), 0), ("negative-int", (5,), -1), ("slice", (5,), slice(1, 3)),
    ("step", (5,), slice(None, None, 2)), ("reverse", (5,), slice(None, None, -1)),
    ("row", (3, 4), 1), ("column", (3, 4), (slice(None), 0)), ("element", (3, 4), (2, 1)),
    ("block", (3, 4), (slice(1, None), slice(None, None, 2))),
    ("fancy-repeats", (5,), np.array([0, 0, 3, 1])), ("fancy-2d", (3, 4), (np.array([0, 2, 2]), np.array([1, 3, 1]))),
    ("mask", (5,), _MASK1), ("mask-2d", (3, 4), _MASK2),
    ("newaxis", (3,), (None, slice(None))), ("ellipsis", (2, 3, 4), (Ellipsis, 1)),
    ("int-slice-fancy", (2, 3, 4), (0, slice(None), np.array([0, 1]))),
    ("fancy-slice-fancy", (2, 3, 4), (np.array([0, 1]), slice(None), np.array([1, 2]))),
]:
    _linear("getitem", _cid, lambda x, i=_idx: dd.getitem(x, i), lambda x, i=_idx: x[i], (_shape,))


def _index_add_ref(idx, shape):
    def ref(t):
        z = np.zeros(shape, dtype=np.result_type(t, float))
        np.add.at(z, idx, t)
        return z
    return ref


for _cid, _tshape, _idx, _shape in [
    ("int", (), (2,), (5,)), ("slice", (2,), (slice(1, 3),), (5,)),
    ("row", (4,), (1,), (3, 4)), ("column", (3,), (slice(None), 0), (3, 4)),
    ("fancy-repeats", (4,), (np.array([0, 0, 3, 1]),), (5,)),
    ("mask", (3,), (_MASK1,), (5,)),
    ("int-slice-fancy", (2, 3), (0, slice(None), np.array([0, 1])), (2, 3, 2)),
]:
    _linear("index_add", _cid,
            lambda t, i=_idx, s=_shape: dd.PRIMITIVES["index_add"](t, idx=i, shape=s),
            _index_add_ref(_idx, _shape), (_tshape,))

for _cid, _shapes, _axis in [
    ("scalars", ((), (), ()), 0), ("vectors-axis0", ((3,), (3,), (3,)), 0),
    ("vectors-axis1", ((3,), (3,), (3,)), 1), ("matrices-axis-1", ((2, 3), (2, 3)), -1),
    ("matrices-axis1", ((2, 3), (2, 3)), 1),
]:
    _linear("stack", _cid, lambda *xs, a=_axis: dd.stack(list(xs), axis=a),
            lambda *xs, a=_axis: np.stack(xs, axis=a), _shapes)

for _cid, _shapes, _axis in [
    ("vectors", ((2,), (3,), (1,)), 0), ("rows", ((2, 3), (1, 3)), 0),
    ("columns", ((2, 3), (2, 1)), 1), ("axis-1", ((2, 2), (2, 3)), -1),
]:
    _linear("concatenate", _cid, lambda *xs, a=_axis: dd.concatenate(list(xs), axis=a),
            lambda *xs, a=_axis: np.concatenate(xs, axis=a), _shapes)

_COND1 = np.array([True, False, True])
_COND2 = np.array([[True, False, True], [False, False, True]])
for _cid, _cond, _shapes in [
    ("scalars", np.bool_(True), ((), ())), ("vectors", _COND1, ((3,), (3,))),
    ("broadcast-x-row-y-scalar", _COND2, ((3,), ())), ("broadcast-scalar-x", _COND2, ((), (2, 3))),
    ("cond-broadcasts", np.array([[True], [False]]), ((2, 3), (2, 3))),
]:
    _linear("where", _cid, lambda x, y, c=_cond: dd.where(c, x, y),
            lambda x, y, c=_cond: np.where(c, x, y), _shapes)


# -- matmul -----------------------------------------------------------------------------------

for _cid, _shapes in [
    ("matrix-matrix", ((3, 4), (4, 2))), ("vector-matrix", ((4,), (4, 2))),
    ("matrix-vector", ((3, 4), (4,))), ("vector-vector", ((4,), (4,))),
    ("batch-matrix", ((2, 3, 4), (4, 5))), ("matrix-batch", ((3, 4), (2, 4, 5))),
    ("batch-batch", ((2, 3, 4), (2, 4, 5))), ("vector-batch", ((4,), (2, 4, 5))),
    ("batch-vector", ((2, 3, 4), (4,))), ("broadcast-batches", ((2, 1, 3, 4), (3, 4, 2))),
]:
    add_case("matmul", Case(f"matmul-{_cid}", dd.matmul, np.matmul, _shapes, (U(-2, 2), U(-2, 2))))


# -- composite functions (no rule of their own) -----------------------------------------------

COMPOSITES = ["mean", "dot", "softmax", "log_softmax", "logsumexp", "sum_to"]


def _softmax_ref(z, axis):
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp_ref(z, axis, keepdims=False):
    return np.log(np.sum(np.exp(z), axis=axis, keepdims=keepdims))


for _cid, _shape, _axis, _keep in [
    ("scalar", (), None, False), ("vector", (5,), None, False), ("axis0", (3, 4), 0, False),
    ("axis1-keepdims", (3, 4), 1, True), ("axes01", (2, 3, 2), (0, 1), False),
]:
    _linear("mean", _cid, lambda x, a=_axis, k=_keep: dd.mean(x, axis=a, keepdims=k),
            lambda x, a=_axis, k=_keep: np.sum(x, axis=a, keepdims=k) / (
                np.size(x) / np.size(np.sum(x, axis=a, keepdims=k))), (_shape,))

for _cid, _shapes in [
    ("vector-vector", ((3,), (3,))), ("matrix-vector", ((2, 3), (3,))),
    ("vector-matrix", ((3,), (3, 2))), ("matrix-matrix", ((2, 3), (3, 4))),
    ("scalar-vector", ((), (3,))), ("matrix-scalar", ((2, 3), ())),
]:
    add_case("dot", Case(f"dot-{_cid}", dd.dot, np.dot, _shapes, (U(-2, 2), U(-2, 2))))

for _cid, _shape, _axis in [("vector", (5,), -1), ("rows", (3, 4), -1), ("columns", (3, 4), 0),
                            ("3d-middle", (2, 3, 2), 1)]:
    add_case("softmax", Case(f"softmax-{_cid}", lambda x, a=_axis: dd.softmax(x, axis=a),
                             lambda z, a=_axis: _softmax_ref(z, a), (_shape,), (U(-4, 4),)))
    add_case("log_softmax", Case(
        f"log_softmax-{_cid}", lambda x, a=_axis: dd.log_softmax(x, axis=a),
        lambda z, a=_axis: z - _logsumexp_ref(z, a, keepdims=True), (_shape,), (U(-4, 4),)))

for _cid, _shape, _axis, _keep in [
    ("vector", (5,), None, False), ("matrix-all", (3, 4), None, False),
    ("axis1", (3, 4), 1, False), ("axis0-keepdims", (3, 4), 0, True), ("axes12", (2, 3, 2), (1, 2), False),
]:
    add_case("logsumexp", Case(
        f"logsumexp-{_cid}", lambda x, a=_axis, k=_keep: dd.logsumexp(x, axis=a, keepdims=k),
        lambda z, a=_axis, k=_keep: _logsumexp_ref(z, a, k), (_shape,), (U(-4, 4),)))

for _cid, _shape, _to in [
    ("2x3-to-3", (2, 3), (3,)), ("2x3-to-2x1", (2, 3), (2, 1)), ("2x3x4-to-3x1", (2, 3, 4), (3, 1)),
    ("3-to-scalar", (3,), ()), ("same", (2, 3), (2, 3)),
]:
    def _sum_to_ref(x, s=_to):
        lead = x.ndim - len(s)
        y = np.sum(x, axis=tuple(range(lead))) if lead else x
        for i, n in enumerate(s):
            if n == 1:
                y = np.sum(y, axis=i, keepdims=True)
        return y
    _linear("sum_to", _cid, lambda x, s=_to: dd.sum_to(x, s), _sum_to_ref, (_shape,))


# --------------------------------------------------------------------------------------------
# The table test
# --------------------------------------------------------------------------------------------

def _params():
    params = []
    for name in list(dd.PRIMITIVES) + COMPOSITES:
        cases = CASES.get(name)
        if not cases:
            params.append(pytest.param(name, None, id=f"{name}-NO-CASE"))
            continue
        for case in cases:
            params.append(pytest.param(name, case, id=case.id))
    return params


def _subsets(indices):
    indices = list(indices)
    for r in range(1, len(indices) + 1):
        yield from itertools.combinations(indices, r)


def _tangent_like(rng, a, lead=()):
    t = rng.normal(size=tuple(lead) + np.shape(a))
    return float(t) if np.ndim(t) == 0 else t


def _oracle(case, args, tangents, chunk=False):
    if case.oracle == "complex":
        return (complex_step_chunk if chunk else complex_step_jvp)(case.ref, args, tangents)
    return (central_difference_chunk if chunk else central_difference_jvp)(case.ref, args, tangents)


def _tolerances(case):
    return dict(rtol=1e-9, atol_scale=1e-11) if case.oracle == "complex" else dict(rtol=1e-6, atol_scale=1e-8)


@pytest.mark.parametrize("name, case", _params())
def test_primitive(name, case):
    assert case is not None, (
        f"primitive {name!r} has no test case: add one to CASES in tests/test_table.py")
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    args = case.args(rng)
    value_ref = case.value_ref or case.ref
    expected = np.asarray(value_ref(*args), dtype=float)

    # 1. plain in, plain out, numpy's value
    plain = case.fn(*args)
    assert not isinstance(plain, dd.Dual), f"{case.id}: plain input gave a Dual"
    check_close(plain, expected, rtol=1e-12, atol_scale=1e-14, what=f"{case.id} value")
    if case.plain_scalar and all(np.ndim(a) == 0 for a in args):
        assert isinstance(plain, (float, np.floating)), (
            f"{case.id}: plain numbers in should give a plain number, got {type(plain).__name__}")

    traced = range(len(args)) if case.traced is None else case.traced
    tol = _tolerances(case)
    for subset in _subsets(traced):
        # 2. one direction
        tangents = [_tangent_like(rng, a) if i in subset else None for i, a in enumerate(args)]
        duals = [dd.Dual(a, t) if t is not None else a for a, t in zip(args, tangents)]
        out = case.fn(*duals)
        assert isinstance(out, dd.Dual), f"{case.id} with Duals at {subset}: got {type(out).__name__}"
        check_close(out.primal, expected, rtol=1e-12, atol_scale=1e-14,
                    what=f"{case.id} primal, Duals at {subset}")
        check_close(out.tangent, _oracle(case, args, tangents), **tol,
                    what=f"{case.id} tangent, Duals at {subset}")

        # 3. chunk mode: k directions at once == k single passes == the oracle
        chunk_tangents = [_tangent_like(rng, a, (K,)) if i in subset else None
                          for i, a in enumerate(args)]
        duals = [dd.Dual(a, t) if t is not None else a for a, t in zip(args, chunk_tangents)]
        out = case.fn(*duals)
        assert isinstance(out, dd.Dual)
        assert out.chunk == K
        assert np.shape(out.tangent) == (K,) + expected.shape, (
            f"{case.id} chunk tangent shape {np.shape(out.tangent)}, "
            f"expected {(K,) + expected.shape} (Duals at {subset})")
        check_close(out.primal, expected, rtol=1e-12, atol_scale=1e-14,
                    what=f"{case.id} chunk primal")
        for d in range(K):
            single = case.fn(*[dd.Dual(a, None if t is None else t[d]) if t is not None else a
                               for a, t in zip(args, chunk_tangents)])
            check_close(np.asarray(out.tangent)[d], single.tangent, rtol=1e-12, atol_scale=1e-13,
                        what=f"{case.id} chunk direction {d} vs single pass (Duals at {subset})")
        check_close(out.tangent, _oracle(case, args, chunk_tangents, chunk=True), **tol,
                    what=f"{case.id} chunk tangent vs oracle, Duals at {subset}")


def test_every_case_names_a_primitive_or_composite():
    """A case filed under a misspelt name would never run: every key must be a real entry."""
    unknown = set(CASES) - set(dd.PRIMITIVES) - set(COMPOSITES)
    assert not unknown, f"cases for names that are neither primitives nor composites: {unknown}"


PUBLIC_FROM_ISSUE = (
    "sin cos tan exp log log1p expm1 sqrt tanh sinh cosh arcsin arccos arctan arctan2 abs sign "
    "sigmoid relu maximum minimum power where softmax log_softmax logsumexp sum mean dot matmul "
    "transpose reshape stack concatenate").split()


@pytest.mark.parametrize("name", PUBLIC_FROM_ISSUE)
def test_public_function_exists_and_has_cases(name):
    assert callable(getattr(dd, name, None)), f"dd.{name} is missing"
    assert CASES.get(name), f"dd.{name} has no case in the table test"


@pytest.mark.parametrize("name", [n for n, *_ in UNARY] + ["arctan2", "maximum", "minimum", "power"])
def test_plain_python_numbers_give_plain_numbers(name):
    fn = getattr(dd, name)
    arg = 0.5
    out = fn(arg) if name in [n for n, *_ in UNARY] else fn(arg, 0.25)
    assert isinstance(out, (float, np.floating)) and not isinstance(out, dd.Dual)


# --------------------------------------------------------------------------------------------
# Conventions at kinks and singular points
# --------------------------------------------------------------------------------------------

def test_abs_derivative_at_zero_is_zero():
    assert dd.abs(dd.Dual(0.0, 1.0)).tangent == 0.0
    out = abs(dd.Dual(np.array([-2.0, 0.0, 3.0]), np.array([1.0, 1.0, 1.0])))
    np.testing.assert_array_equal(out.tangent, [-1.0, 0.0, 1.0])
    assert dd.derivative(dd.abs, 0.0) == 0.0


def test_relu_derivative_at_zero_is_zero():
    assert dd.relu(dd.Dual(0.0, 1.0)).tangent == 0.0
    out = dd.relu(dd.Dual(np.array([-2.0, 0.0, 3.0]), np.ones(3)))
    np.testing.assert_array_equal(out.primal, [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(out.tangent, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("fn", [dd.maximum, dd.minimum, np.maximum, np.minimum])
def test_maximum_minimum_tie_splits_evenly(fn):
    x = dd.Dual(1.5, 1.0)
    assert fn(x, 1.5).tangent == 0.5
    assert fn(1.5, x).tangent == 0.5
    assert fn(x, x).tangent == 1.0  # the two halves add up
    # with two different tangents: half of each
    assert fn(dd.Dual(2.0, 1.0), dd.Dual(2.0, 0.0)).tangent == 0.5
    v = fn(dd.Dual(np.array([1.0, 2.0, 3.0]), np.ones(3)), np.array([1.0, 5.0, 0.0]))
    if fn in (dd.maximum, np.maximum):
        np.testing.assert_array_equal(v.tangent, [0.5, 0.0, 1.0])
    else:
        np.testing.assert_array_equal(v.tangent, [0.5, 1.0, 0.0])


def test_sqrt_derivative_at_zero_is_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert dd.derivative(dd.sqrt, 0.0) == np.inf
        out = dd.sqrt(dd.Dual(np.array([0.0, 4.0]), np.array([1.0, 1.0])))
    assert out.tangent[0] == np.inf and out.tangent[1] == 0.25


def test_sign_derivative_is_zero_everywhere():
    out = dd.sign(dd.Dual(np.array([-2.0, 0.0, 3.0]), np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(out.primal, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(out.tangent, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("x", [-1.0, np.array([-1.0, 2.0])])
def test_log_of_negative_is_nan_with_numpys_warning(x):
    with pytest.warns(RuntimeWarning) as expected_warnings:
        expected = np.log(x)
    with pytest.warns(RuntimeWarning) as got_warnings:
        got = dd.log(x)
    np.testing.assert_array_equal(got, expected)  # nan where numpy gives nan
    assert np.isnan(np.ravel(got)[0])
    assert str(got_warnings[0].message) == str(expected_warnings[0].message)
    with pytest.warns(RuntimeWarning):
        d = dd.log(dd.Dual(x, np.ones_like(x)))
    assert np.isnan(np.ravel(d.primal)[0])


def test_power_conventions_at_zero_base():
    # d/dx x**2 at 0 is 0; d/dy 0**y (y > 0) is the limit 0, not nan from log(0)
    assert dd.power(dd.Dual(0.0, 1.0), 2.0).tangent == 0.0
    assert dd.power(0.0, dd.Dual(2.0, 1.0)).tangent == 0.0
    out = dd.power(np.array([0.0, 2.0]), dd.Dual(np.array([2.0, 2.0]), np.ones(2)))
    check_close(out.tangent, [0.0, 4.0 * math.log(2.0)])


# --------------------------------------------------------------------------------------------
# Numerical stability of softmax, log_softmax, logsumexp (inputs of 1000)
# --------------------------------------------------------------------------------------------

@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow is harmless
            yield


@pytest.mark.parametrize("shift", [1000.0, -1000.0])
def test_softmax_family_is_stable(no_warnings, shift):
    base = np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.7]])
    x = base + shift
    tangent = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
    e = np.exp(base)
    soft = e / e.sum(axis=1, keepdims=True)
    lse = np.log(e.sum(axis=1))

    np.testing.assert_allclose(dd.softmax(x, axis=1), soft, rtol=1e-12)
    np.testing.assert_allclose(dd.log_softmax(x, axis=1), np.log(soft), rtol=1e-11)
    np.testing.assert_allclose(dd.logsumexp(x, axis=1), lse + shift, rtol=1e-12)
    np.testing.assert_allclose(dd.logsumexp(x), np.log(e.sum()) + shift, rtol=1e-12)

    # tangents are shift-invariant: compare against the oracle at the unshifted point
    for fn, ref in [
        (lambda z: dd.softmax(z, axis=1), lambda z: _softmax_ref(z, 1)),
        (lambda z: dd.log_softmax(z, axis=1), lambda z: z - _logsumexp_ref(z, 1, True)),
        (lambda z: dd.logsumexp(z, axis=1), lambda z: _logsumexp_ref(z, 1)),
    ]:
        out = fn(dd.Dual(x, tangent))
        assert np.all(np.isfinite(out.primal)) and np.all(np.isfinite(out.tangent))
        check_close(out.tangent, complex_step_jvp(ref, [base], [tangent]), rtol=1e-9,
                    what="tangent at a shift of 1000")


def test_softmax_of_equal_large_inputs(no_warnings):
    np.testing.assert_array_equal(dd.softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])
    np.testing.assert_allclose(dd.logsumexp(np.array([1000.0, 1000.0])), 1000.0 + math.log(2.0),
                               rtol=1e-15)
    # x - logsumexp(x) loses the last digits to the 1000 that cancels (ulp(1000) ~ 1e-13)
    np.testing.assert_allclose(dd.log_softmax(np.array([1000.0, 1000.0])), [-math.log(2.0)] * 2,
                               rtol=1e-12)


def test_sigmoid_does_not_overflow(no_warnings):
    assert dd.sigmoid(-1000.0) == 0.0 and dd.sigmoid(1000.0) == 1.0
    out = dd.sigmoid(dd.Dual(np.array([-1000.0, 0.0, 1000.0]), np.ones(3)))
    np.testing.assert_allclose(out.primal, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(out.tangent, [0.0, 0.25, 0.0])
