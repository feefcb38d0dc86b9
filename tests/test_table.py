"""One parametrised test over the whole table of primitives (and the composite functions).

For every entry of ``dd.PRIMITIVES`` and every composite public function, each case checks:

1. the value on plain input against a numpy reference, and that plain input gives plain output;
2. the tangent of one direction, for every non-empty subset of the arguments being Duals (the
   others plain constants), against complex-step differentiation of a numpy reference written
   here (central differences for the functions that are not complex-analytic, on a domain away
   from their kinks);
3. chunk mode: a Dual carrying k = 3 directions gives, direction by direction, what 3
   single-direction passes give, and what the oracle gives;
4. reverse mode against forward mode by the dot-product test u·(J v) == (uᵀJ)·v, with all the
   traceable arguments differentiated at once (``dd.jvp`` and ``dd.vjp``);
5. second order, in both nestings: forward over forward (the jvp of the jvp) and forward over
   reverse (the jvp of the vjp) against central differences of the first derivative.

The cases live in ``tests/table_cases/``, one module per family as in ``dualdiff/rules/``.

The parameter list is built from ``dd.PRIMITIVES`` itself: a primitive with no entry in
``CASES`` becomes a failing test, so a new primitive cannot go untested.

The conventions at the kinks (abs'(0), relu'(0), ties of maximum/minimum, sqrt'(0), log of a
negative number) and the numerical stability of softmax/log_softmax/logsumexp are tested at the
end of this file.
"""

from __future__ import annotations

import builtins
import itertools
import math
import warnings
import zlib

import numpy as np
import pytest

import dualdiff as dd
from table_cases import CASES, COMPOSITES
from table_cases.reductions import _logsumexp_ref, _softmax_ref
from table_cases.ufuncs import UNARY
from table_cases import special as special_cases
from table_cases.special import NEEDS_SCIPY
from oracles import (
    central_difference_chunk, central_difference_jvp, check_close, complex_step_chunk,
    complex_step_jvp,
)

K = 3  # directions carried by the chunk-mode Duals


# --------------------------------------------------------------------------------------------
# The table test
# --------------------------------------------------------------------------------------------

def _params():
    params = []
    for name in list(dd.PRIMITIVES) + COMPOSITES:
        cases = CASES.get(name)
        if not cases and name in NEEDS_SCIPY and special_cases.sp is None:
            params.append(pytest.param(name, None, id=f"{name}-needs-scipy",
                                       marks=pytest.mark.skip(reason="scipy is not installed")))
            continue
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
        f"primitive {name!r} has no test case: add one in tests/table_cases/ (the module of its family)")
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



def _restrict(case, args):
    """f of the traceable arguments only (as one tuple), the others held at their values."""
    traced = list(range(len(args)) if case.traced is None else case.traced)

    def f(xs):
        full = list(args)
        for i, x in zip(traced, xs):
            full[i] = x
        return case.fn(*full)

    return f, tuple(args[i] for i in traced)


def _shifted(xs, ws, h):
    return tuple(x + h * w for x, w in zip(xs, ws))


H_SECOND = 1e-5  # central-difference step for the second-order checks (error O(h²) ≈ 1e-10)


@pytest.mark.parametrize("name, case", _params())
def test_primitive_reverse_and_second_order(name, case):
    """Reverse mode against forward mode (dot-product test), then both nestings of second order."""
    assert case is not None, f"primitive {name!r} has no test case"
    rng = np.random.default_rng(zlib.crc32(case.id.encode()) + 1)
    f, xs = _restrict(case, case.args(rng))
    vs = tuple(_tangent_like(rng, x) for x in xs)
    ws = tuple(_tangent_like(rng, x) for x in xs)

    # 4. u·(J v) from forward mode == (uᵀJ)·v from reverse mode
    y, Jv = dd.jvp(f, xs, vs)
    u = _tangent_like(rng, y)
    y_rev, pullback = dd.vjp(f, xs)
    uJ = pullback(u)
    check_close(y_rev, y, rtol=1e-12, atol_scale=1e-14, what=f"{case.id} value, reverse mode")
    lhs = float(np.sum(u * np.asarray(Jv)))
    rhs = float(builtins.sum(np.sum(np.asarray(g) * v) for g, v in zip(uJ, vs)))
    scale = float(np.sum(np.abs(u) * np.abs(np.asarray(Jv)))) + 1.0
    assert abs(lhs - rhs) <= 1e-10 * scale, (
        f"{case.id}: u·(J v) = {lhs!r} but (uᵀJ)·v = {rhs!r}: the adjoint rule is not the "
        f"transpose of the tangent rule")

    # 5. second order: nested forward-over-forward and forward-over-reverse, each against central
    # differences of the first derivative along w.
    def tangent(z):
        return dd.jvp(f, z, vs)[1]

    def cotangent(z):
        # One flat vector: a transform's f returns one array, and the arguments' shapes differ.
        return dd.concatenate([dd.reshape(g, (-1,)) for g in dd.vjp(f, z)[1](u)])

    for what, first in (("forward over forward", tangent), ("forward over reverse", cotangent)):
        nested = dd.jvp(first, xs, ws)[1]
        plus, minus = first(_shifted(xs, ws, H_SECOND)), first(_shifted(xs, ws, -H_SECOND))
        diff = (np.asarray(plus) - np.asarray(minus)) / (2 * H_SECOND)
        check_close(nested, diff, rtol=1e-5, atol_scale=1e-6, what=f"{case.id} {what}")


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
