"""dd.compile's ways of running a node that numpy's own call does not take, each checked bit for
bit against eager mode (which calls numpy directly) and against an independent value:

- a broadcast operand of + - * / copied out first (codegen.tiled_first/tiled_second), so the
  ufunc runs one flat loop instead of one per row;
- a strided constant of + - * / laid out contiguously (codegen._Names.contiguous);
- index_add at unit-step slices (getitem's transpose) as codegen.scatter.

What they may not change: values, NaN payloads and signs, signed zeros, dtypes, strides.
"""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import codegen
from dualdiff.codegen import TILE_MAX_BYTES, TILE_MIN_BYTES, TILE_ROWS, same_value
from oracles import rosenbrock_hessian


def identical(want, got):
    assert same_value(want, got), (want, got)
    assert want.strides == got.strides, (want.strides, got.strides)


def _nasty(shape, seed, dtype=np.float64):
    """Random values with zeros of both signs, infinities and NaNs of two payloads and signs."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan], dtype)
    other_nan = np.frombuffer(np.array([0x7FF8_0000_0000_0ABC], np.uint64).tobytes(), np.float64)
    specials = np.concatenate([specials, other_nan.astype(dtype)])
    where = rng.choice(flat.size, size=min(flat.size, 40), replace=False)
    flat[where] = specials[np.arange(where.size) % specials.size]
    return a


OPS = [operator.add, operator.sub, operator.mul, operator.truediv]


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("small_first", [True, False])
@pytest.mark.parametrize("small_shape", [(200,), (200, 1), (1, 200)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_broadcast_operand_copied_out_first(op, small_first, small_shape, dtype):
    C = _nasty((200, 200), 1, dtype)  # closed over: a constant of the recording
    x = _nasty(small_shape, 2, dtype)
    f = (lambda x: op(x, C)) if small_first else (lambda x: op(C, x))
    fc = dd.compile(f)
    with np.errstate(all="ignore"):
        first, again = fc(x), fc(x)
        want = f(x)  # the plain numpy function: what the compiled one must return, bit for bit
        assert "_tile" in fc.source(x)
    identical(want, first)
    identical(want, again)
    assert again.dtype == dtype


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_tiles_do_not_write_over_what_they_read(op):
    # The full-size operand is a temporary that dies at the tiled node: a plain ufunc would
    # be written into it; the tile must not copy the broadcast row over it first.
    C = np.linspace(0.5, 2.0, 200 * 200).reshape(200, 200)

    def f(x):
        t = C * x[0]          # a temporary of the result's shape, read once more below
        return op(x, t)
    fc = dd.compile(f)
    x = np.linspace(1.0, 3.0, 200)
    src = fc.source(x)
    assert "_tile0" in src and "_tile0(np_" in src
    for _ in range(3):
        identical(f(x), fc(x))


def test_jacobian_of_a_broadcast_row_scaling_is_eager_bitwise_and_the_closed_form():
    rng = np.random.default_rng(3)
    A = _nasty((200, 200), 4)
    A[np.isnan(A) | np.isinf(A)] = 1.5  # finite for the closed form; signed zeros stay
    x = rng.standard_normal(200)
    f = lambda z: np.tanh(A @ z)  # noqa: E731
    jac = dd.compile(lambda x: dd.jacobian(f, x, chunk=200))
    assert "_tile0" in jac.source(x)
    want = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    for _ in range(3):
        got = jac(x)
        identical(dd.jacobian(f, x, chunk=200), got)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
        # (the product of a positive factor and -0.0 stays -0.0)
        assert np.array_equal(np.signbit(got[A == 0]), np.signbit(A[A == 0]))


@pytest.mark.parametrize("shape,small", [((16, 16), (16,)), ((8, 2048), (2048,)),
                                         ((1024, 256), (256,))])
def test_no_tile_outside_its_range(shape, small):
    # Too small to gain, too few rows, or too large for the cache: numpy's own broadcast.
    C = np.ones(shape)
    x = np.ones(small)
    nbytes, rows = C.nbytes, C.size // x.size
    assert not (TILE_MIN_BYTES <= nbytes <= TILE_MAX_BYTES and rows >= TILE_ROWS)
    fc = dd.compile(lambda x: x * C)
    assert "_tile" not in fc.source(x)
    identical(x * C, fc(x))


def test_tile_of_an_f_ordered_operand_is_numpys_layout():
    C = np.asfortranarray(np.arange(40000.0).reshape(200, 200))
    x = np.linspace(-1, 1, 200)
    fc = dd.compile(lambda x: x * C)
    assert "_tile" not in fc.source(x)  # the flat loop needs a C-ordered full operand
    identical(x * C, fc(x))


# -- strided constants laid out contiguously --------------------------------------------------

STRIDED = {
    "columns": lambda B: B[:, :-1],
    "rows": lambda B: B[1::2, :],
    "step": lambda B: B[:, ::2],
    "reversed": lambda B: B[::-1, 1:],
    "transposed": lambda B: B.T[:-1, :],
    "vector": lambda B: B[0, ::3],
}


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", list(STRIDED))
def test_strided_constant_laid_out_contiguously(op, kind):
    C = STRIDED[kind](_nasty((60, 61), 5))
    assert not (C.flags.c_contiguous or C.flags.f_contiguous)
    x = _nasty(C.shape, 6)
    for f in (lambda x: op(x, C), lambda x: op(C, x), lambda x: np.sum(op(C, np.sin(x)), axis=0)):
        fc = dd.compile(f)
        with np.errstate(all="ignore"):
            got, want = fc(x), f(x)
            assert "impl_" not in fc.source(x)
        identical(want, got)
        consts = [v for v in fc.compiled._specs[0].run.__globals__.values()
                  if type(v) is np.ndarray and v.shape == C.shape]
        assert consts and all(c.flags.c_contiguous or c.flags.f_contiguous for c in consts)


def test_contiguous_copy_is_one_per_constant_and_frozen():
    C = np.arange(120.0).reshape(10, 12)[:, 1:]
    fc = dd.compile(lambda x: (x * C) + C)
    x = np.ones((10, 11))
    identical(x * C + C, fc(x))
    ns = fc.compiled._specs[0].run.__globals__
    consts = [v for k, v in ns.items() if isinstance(v, np.ndarray) and v.shape == C.shape]
    assert len(consts) == 1 and consts[0].flags.c_contiguous and not consts[0].flags.writeable
    C[...] = 0.0  # closed-over arrays are frozen at record time (docs/compile.md)
    identical(x * np.arange(120.0).reshape(10, 12)[:, 1:] + np.arange(120.0).reshape(10, 12)[:, 1:],
              fc(x))


# -- index_add at unit-step slices ------------------------------------------------------------

SLICED = {
    "head": lambda x: x[1:],
    "tail": lambda x: x[:-1],
    "middle": lambda x: x[2:-3],
    "all": lambda x: x[:],
    "rows": lambda x: x.reshape(6, 5)[1:, :-2],
}


@pytest.mark.parametrize("kind", list(SLICED))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scatter_gradient_is_eager_bitwise_and_the_closed_form(kind, dtype):
    take = SLICED[kind]
    x = np.linspace(-1.0, 2.0, 30).astype(dtype)
    x[4] = -0.0
    f = lambda x: np.sum(np.sin(take(x)) * take(x))  # noqa: E731
    g = dd.compile(lambda x: dd.grad(f, x))
    assert "_scatter(" in g.source(x)
    want = np.zeros(30, dtype)
    sel = take(np.arange(30).astype(float)).astype(int)
    xs = x[sel.ravel()]
    np.add.at(want, sel.ravel(), np.cos(xs) * xs + np.sin(xs))
    for _ in range(2):
        got = g(x)
        identical(dd.grad(f, x), got)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == np.float32 else 1e-14, atol=1e-6)


def test_scatter_margins_are_positive_zeros():
    # index_add's zeros are +0.0 wherever the slice does not reach, whatever the cotangent.
    f = lambda x: np.sum(x[2:] * -0.0)  # noqa: E731
    g = dd.compile(lambda x: dd.grad(f, x))
    x = np.ones(8)
    got = g(x)
    identical(dd.grad(f, x), got)
    assert not np.signbit(got[:2]).any() and np.signbit(got[2:]).all()


def test_scatter_into_reused_memory():
    # Large: the scatter writes into the Recycled output, call after call.
    n = 40000
    f = lambda x: np.sum(np.sin(x[1:]))  # noqa: E731
    g = dd.compile(lambda x: dd.grad(f, x))
    x = np.linspace(0.0, 1.0, n)
    src = g.source(x)
    assert "_scatter(" in src and "out=_out" in src
    want = np.concatenate([[0.0], np.cos(x[1:])])
    for _ in range(3):
        got = g(x)
        identical(dd.grad(f, x), got)
        np.testing.assert_array_equal(got, want)
    kept = g(x)
    again = g(x)  # ``kept`` is still held: written into new memory, never over it
    assert not np.shares_memory(kept, again)
    np.testing.assert_array_equal(kept, want)


def test_advanced_index_keeps_the_impl():
    f = lambda x: np.sum(x[[0, 0, 2]] ** 2)  # noqa: E731
    g = dd.compile(lambda x: dd.grad(f, x))
    x = np.array([1.0, 2.0, 3.0])
    assert "_scatter(" not in g.source(x)
    identical(dd.grad(f, x), g(x))
    np.testing.assert_array_equal(g(x), [4.0, 0.0, 6.0])


def test_rosenbrock_hessian_assembly_runs_scatters_and_tiles():
    def rosenbrock(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    x = np.linspace(-1.0, 1.5, 100)
    x[50] = -0.0
    hess = dd.compile(lambda x: dd.hessian(rosenbrock, x))
    src = hess.source(x)
    assert "_scatter(" in src and "_tile0(" in src and "impl_" not in src
    H = rosenbrock_hessian(x)
    for _ in range(2):
        got = hess(x)
        identical(dd.hessian(rosenbrock, x), got)
        np.testing.assert_allclose(got, H, rtol=1e-12, atol=1e-9)


def test_helpers_match_numpy_directly():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(50), rng.standard_normal((40, 50))
    out = np.empty((40, 50))
    for uf in (np.add, np.subtract, np.multiply, np.divide):
        assert same_value(uf(a, b), codegen.tiled_first(uf, a, b))
        assert same_value(uf(b, a), codegen.tiled_second(uf, b, a, out=out))
    got = codegen.scatter(a[:49], (slice(1, None),), [(slice(0, 1),)], (50,), np.float64)
    assert same_value(np.concatenate([[0.0], a[:49]]), got)


# -- float constants of float64 arrays as 0-d arrays; full transposes as .T ---------------------

@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("c", [2.0, -0.0, 0.0, np.inf, np.nan, 1e-310, np.float64(-3.5)])
def test_float_constant_of_a_float64_array(op, c):
    x = _nasty((7, 5), 8)
    for f in (lambda x: op(x, c), lambda x: op(c, x)):
        fc = dd.compile(f)
        with np.errstate(all="ignore"):
            got, want = fc(x), f(x)
            src = fc.source(x)
        identical(want, got)
        assert got.dtype == np.float64 and "impl_" not in src
        if c == 2.0:  # (x + 0.0 and x * nan, ... may be simplified away or folded)
            assert "(k, v0" in src or "(v0, k" in src, src


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_float_constant_of_a_float32_array_stays_weak(op):
    # numpy reads a Python float against float32 as float32; a float64 0-d array would not be
    x = _nasty((7, 5), 9, np.float32)
    fc = dd.compile(lambda x: op(x, 0.1))
    with np.errstate(all="ignore"):
        got, want = fc(x), op(x, 0.1)
    identical(want, got)
    assert got.dtype == np.float32


def test_one_0d_array_per_constant_value():
    fc = dd.compile(lambda x: (x * 2.0 + 2.0) * -0.0 + 0.0)
    x = np.linspace(-1, 1, 9)
    identical(((x * 2.0 + 2.0) * -0.0) + 0.0, fc(x))
    ns = fc.compiled._specs[0].run.__globals__
    zero_d = sorted(float(v) for v in ns.values() if type(v) is np.ndarray and v.ndim == 0)
    assert len(zero_d) == 3 and not any(v.flags.writeable for v in ns.values()
                                        if type(v) is np.ndarray and v.ndim == 0)


@pytest.mark.parametrize("shape,axes", [((3, 4), (1, 0)), ((2, 3, 4), (2, 1, 0)),
                                        ((2, 3, 4), (1, 0, 2)), ((5,), (0,))])
def test_full_transpose_is_the_attribute(shape, axes):
    x = _nasty(shape, 10)
    f = lambda x: np.transpose(x, axes) * 3.0  # noqa: E731
    fc = dd.compile(f)
    with np.errstate(all="ignore"):
        got, want = fc(x), f(x)
    identical(want, got)
    assert (".T" in fc.source(x)) == (axes == tuple(range(len(shape)))[::-1] and len(shape) > 1)


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_a_traced_float_is_never_made_a_constant(op):
    # Only constants of the recording become 0-d arrays; a float input stays an input.
    C = np.linspace(0.5, 2.0, 12)
    fc = dd.compile(lambda s, x: op(s, x) + op(x, s * 2.0) + op(C, s))
    x = np.linspace(-1.0, 1.0, 12)
    for s in (2.0, 0.5, -0.0, 3.25):
        with np.errstate(all="ignore"):
            identical(op(s, x) + op(x, s * 2.0) + op(C, s), fc(s, x))


def test_large_ufunc_lowerings_are_checked_on_a_sample(monkeypatch):
    """Above 4 · 2¹⁶ elements a ufunc's lowering is checked on the first and last 2¹⁶ of them
    (re-running it whole was half of compiling the n = 10⁶ gradient); a wrong one is still
    refused, and the code then calls the impl."""
    from dualdiff import codegen

    n = 4 * codegen._SAMPLE + 3
    x = np.linspace(-2.0, 2.0, n)
    sampled = []
    check = codegen._check_sampled
    monkeypatch.setattr(codegen, "_check_sampled", lambda *a: sampled.append(1) or check(*a))
    f = lambda x: dd.grad(lambda z: np.sum(np.sin(z) * z), x)
    good = dd.compile(f)
    assert np.array_equal(good(x), f(x)) and "np_sin(" in good.source(x)
    assert sampled
    monkeypatch.setitem(codegen.LOWERINGS, "sin", codegen.Lowering(math=math.cos, ufunc=np.cos))
    wrong = dd.compile(f)
    assert np.array_equal(wrong(x), f(x))
    # (sin's value computed by its impl; the one np.cos is the derivative's)
    assert wrong.source(x).count("np_cos(") == good.source(x).count("np_cos(") == 1
    assert "np_sin(" not in wrong.source(x)
