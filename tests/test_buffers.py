"""The buffer pool (dualdiff.buffers): large results written into memory nobody holds any more.

A pooled path must give exactly the bits of the path without the pool (checked by switching the
pool off), match an independent oracle, never hand out memory someone still holds (the user's
gradient, a value f kept, a view, another thread's array), keep float32 as float32 and leave
what it does not cover (small, strided, mixed dtypes, numpy scalars) to numpy as it stands.
"""

import concurrent.futures
import weakref

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import buffers
from dualdiff.tape import Tape, TapeTag, backward

N = (buffers.MIN_BYTES // 8) * 2 + 3  # float64: pooled; float32: pooled too (just over MIN_BYTES)


def data(n=N, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 1.0, n).astype(dtype), rng.uniform(-1.0, 1.0, n).astype(dtype)


def big_f(x):
    return np.sum(np.sin(x) * np.exp(x) + x ** 2)


def big_grad(x):  # the closed form
    return (np.cos(x) + np.sin(x)) * np.exp(x) + 2 * x


@pytest.fixture
def no_pool(monkeypatch):
    """The pool switched off: every request allocates, as numpy alone would."""
    def off():
        monkeypatch.setattr(buffers, "REFCOUNTS", False)
    return off


@pytest.fixture(autouse=True)
def fresh_pool():
    buffers.clear()
    yield
    buffers.clear()


def test_empty_reuses_only_memory_nobody_holds():
    a = buffers.empty((N,), np.float64)
    assert buffers.tracked(a) == 1 and a.flags.c_contiguous and a.dtype == np.float64
    # its own memory (a memory map, so `base` is not None), its views not
    assert buffers.owns_memory(a) and not buffers.owns_memory(a[1:])
    assert not buffers.owns_memory(a.reshape(1, N)) and not buffers.owns_memory(a.T[::2])
    held = a
    b = buffers.empty((N,), np.float64)
    assert not np.shares_memory(b, held)  # a is still held (by `held`)
    view = b[10:]
    del b
    c = buffers.empty((N,), np.float64)  # b's memory is still viewed: not handed out
    assert not np.shares_memory(c, view) and not np.shares_memory(c, held)
    address = c.ctypes.data
    del c
    assert buffers.empty((N,), np.float64).ctypes.data == address
    # another shape or dtype never gets it
    d = buffers.empty((N - 1,), np.float64)
    assert d.ctypes.data != address
    assert buffers.empty((N,), np.float32).dtype == np.float32
    # an array someone holds a weak reference to is never handed out again (the weakref would
    # see the next write); it is freed, the weakref cleared, when the pool lets it go
    w = buffers.empty((N,), np.float64)
    ref = weakref.ref(w)
    del w
    assert ref() is not None and not np.shares_memory(buffers.empty((N,), np.float64), ref())
    buffers.clear()
    assert ref() is None


def test_empty_declines_small_arrays_and_stays_within_its_bound():
    assert buffers.empty((10,), np.float64) is None
    held = [buffers.empty((N + i,), np.float64) for i in range(2 * buffers.MAX_BYTES // (8 * N))]
    assert all(h is not None for h in held)  # beyond the bound: still arrays, just untracked
    assert buffers.tracked_bytes() <= buffers.MAX_BYTES
    assert sum(buffers.tracked(h) for h in held) < len(held)
    buffers.clear()
    assert buffers.tracked_bytes() == 0 and not any(buffers.tracked(h) for h in held)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_call_gives_numpy_bits_and_dtype(dtype):
    x, y = data(dtype=dtype)
    for ufunc, args in [(np.sin, (x,)), (np.exp, (x,)), (np.multiply, (x, y)),
                        (np.add, (x, y)), (np.subtract, (2.0, x)), (np.power, (x, 2)),
                        (np.multiply, (3, x))]:
        want = ufunc(*args)
        got = buffers.call(ufunc, *args)
        assert got.dtype == want.dtype == dtype
        assert buffers.tracked(got) == 1
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_call_with_a_float64_number_pools_only_where_numpy_keeps_the_dtype(dtype):
    # np.float64 is not a weak scalar: float64 and complex128 arrays keep their dtype (the
    # cotangent of a sum times W, an L2 penalty's gradient, is this case), float32 widens.
    x, _ = data(dtype=dtype)
    for args in [(x, np.float64(0.37)), (np.float64(-3.0), x)]:
        want = np.multiply(*args)
        got = buffers.call(np.multiply, *args)
        assert got.dtype == want.dtype and got.strides == want.strides
        assert buffers.tracked(got) == (dtype != np.float32)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_matrix_products_are_pooled_with_numpys_bits(dtype):
    # The weight gradient of a 784-100-10 layer, ȳ (100, 64) @ Xᵀ (64, 784): a transposed
    # operand, as the adjoint of W @ X makes it; and the forward product's orientation too.
    rng = np.random.default_rng(4)
    X = rng.standard_normal((784, 64)).astype(dtype)
    ct = rng.standard_normal((100, 64)).astype(dtype)
    W = rng.standard_normal((100, 784)).astype(dtype)
    if dtype == np.complex128:
        X, ct = X + 1j * X[::-1], ct - 0.5j * ct
    from dualdiff.rules.linalg import MATMUL
    pooled = 0
    for a, b in [(ct, X.T), (W, X), (X.T, W.T), (np.asfortranarray(W), X)]:
        want = np.matmul(a, b)
        got = MATMUL.impl(a, b)
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)
        pooled += buffers.tracked(got)
    assert pooled == sum(a.shape[0] * b.shape[1] * np.dtype(dtype).itemsize >= buffers.MIN_BYTES
                         for a, b in [(ct, X.T), (W, X), (X.T, W.T), (W, X)])
    # what it does not cover is numpy's own: small, mixed dtypes, stacks, vectors, a mismatch
    for a, b in [(W[:5], X), (ct.astype({np.float64: np.float32, np.float32: np.float64, np.complex128: np.complex64}[dtype]), X.T),
                 (np.stack([W, W]), X), (W, X[:, 0])]:
        got = MATMUL.impl(a, b)
        assert buffers.tracked(got) == 0
        np.testing.assert_array_equal(got, np.matmul(a, b))
    with pytest.raises(ValueError):
        MATMUL.impl(ct, X)


def test_weight_gradients_of_a_layer_are_pooled_and_never_overwrite_a_kept_gradient(no_pool):
    # W @ X and an L2 penalty: the two 627 KB weight-shaped arrays per sweep that took a quarter
    # of the MLP gradient's time in page faults before they were pooled.
    rng = np.random.default_rng(5)
    X = rng.standard_normal((784, 64))
    W = rng.standard_normal((100, 784)) * 0.05

    def loss(W):
        return np.sum(np.tanh(W @ X)) + 1e-3 * np.sum(W * W)

    def closed(W):
        return (1 - np.tanh(W @ X) ** 2) @ X.T + 2e-3 * W

    kept = [dd.grad(loss, W) for _ in range(3)]
    assert buffers.tracked_bytes() > 0
    for g in kept:  # each call's gradient is its own: a later call wrote into none of them
        np.testing.assert_allclose(g, closed(W), rtol=1e-12, atol=1e-13)
        np.testing.assert_array_equal(g, kept[0])
    assert len({g.ctypes.data for g in kept}) == 3
    no_pool()
    buffers.clear()
    np.testing.assert_array_equal(dd.grad(loss, W), kept[0])


def test_call_leaves_what_it_does_not_cover_to_numpy():
    x, y = data()
    f_order = np.asfortranarray(np.stack([x[:N // 2], y[:N // 2]], axis=1))
    cases = [(np.sin, (f_order,)),  # not C-contiguous: numpy's own layout is kept
             (np.multiply, (x, y.astype(np.float32))),  # mixed dtypes
             (np.multiply, (x.astype(np.float32), np.float64(2.0))),  # a numpy scalar (float64 wins)
             (np.add, (x, 1j)),  # a complex scalar makes a real array complex
             (np.add, (np.arange(N), 1)),  # integers
             (np.multiply, (x, y[:1]))]  # broadcasting
    for ufunc, args in cases:
        want = ufunc(*args)
        got = buffers.call(ufunc, *args)
        assert buffers.tracked(got) == 0
        assert got.dtype == want.dtype and got.strides == want.strides
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_eager_grad_and_jvp_are_the_unpooled_bits(dtype, no_pool):
    x, v = data(dtype=dtype)
    g = dd.grad(big_f, x)
    y, t = dd.jvp(big_f, x, v)
    assert g.dtype == dtype and np.asarray(t).dtype == dtype
    assert buffers.tracked_bytes() > 0  # the pool was used
    tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=1e-5)
    np.testing.assert_allclose(g, big_grad(x.astype(float)), **tol)  # the closed form
    np.testing.assert_allclose(t, big_grad(x.astype(float)) @ v.astype(float), **tol)
    no_pool()
    buffers.clear()
    np.testing.assert_array_equal(dd.grad(big_f, x), g)
    y2, t2 = dd.jvp(big_f, x, v)
    assert y2 == y and t2 == t
    assert buffers.tracked_bytes() == 0


def test_repeated_calls_reuse_memory_and_never_touch_what_the_caller_holds():
    x, v = data()
    g1 = dd.grad(big_f, x)
    kept = g1.copy()
    for k in range(3):  # the pool now holds idle arrays; g1 is not one of them
        g = dd.grad(big_f, x * (k + 2))
        np.testing.assert_allclose(g, big_grad(x * (k + 2)), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(g1, kept)
    # a forward value f lets out (has_aux), and a tangent the caller holds, stay as they are
    h = lambda x: (big_f(x), np.sin(x))  # noqa: E731
    g2, aux = dd.grad(h, x, has_aux=True)
    aux_kept = np.array(aux)
    _, t = dd.jvp(lambda x: np.sin(x) * np.exp(x), x, v)
    t_kept = t.copy()
    for _ in range(2):
        dd.grad(h, x[::-1].copy(), has_aux=True)
        dd.jvp(lambda x: np.sin(x) * np.exp(x), v, x)
    np.testing.assert_array_equal(aux, aux_kept)
    np.testing.assert_array_equal(t, t_kept)
    np.testing.assert_allclose(g2, big_grad(x), rtol=1e-12, atol=1e-12)


def test_a_result_the_caller_made_read_only_and_let_go_is_written_again():
    # a caller caching results immutably: the next call's results are right and writeable
    x, _ = data()
    W = np.linspace(-1.0, 1.0, 300 * 300).reshape(300, 300)
    mlp = lambda p: np.sum(np.tanh(p[0] @ p[1])) + 0.5 * np.sum(p[0] * p[0])  # noqa: E731
    want = (dd.grad(big_f, x), dd.grad(mlp, (W, W[:, :3].copy())))
    for _ in range(20):  # (replayed sweeps included)
        g, h = dd.grad(big_f, x), dd.grad(mlp, (W, W[:, :3].copy()))
        for a, b in zip((g,) + h, (want[0],) + want[1]):
            assert a.flags.writeable and a.tobytes() == b.tobytes()
            a.flags.writeable = False
        del g, h, a
    a = buffers.empty((N,), np.float64)
    a.flags.writeable = False
    address = a.ctypes.data
    del a
    b = buffers.empty((N,), np.float64)  # the same memory, nobody's: writeable again
    assert b.ctypes.data == address and b.flags.writeable
    b[:] = 1.0


def _sweep(f, x):
    tape = Tape()
    y = f(TapeTag(tape).new_var(x.copy()))
    return tape, backward(tape, {y.slot: 1.0})[0]


@pytest.mark.parametrize("f", [
    lambda x: np.sum(np.sin(x) * np.exp(x) + x ** 2),
    lambda x: np.sum(x * x) * 0.5,  # one fresh array for both arguments, doubled in place
    lambda x: np.sum(np.sin(x * 2.0 + x * 3.0) * np.cos(x)),  # shared cotangents
])
def test_the_sweep_sums_in_place_as_often_as_without_the_pool(f, no_pool):
    # the pool's reference is not a holder: pooled cotangents are summed into as before, and
    # shared ones are still left alone
    x, _ = data()
    tape, g = _sweep(f, x)
    assert buffers.tracked_bytes() > 0
    no_pool()
    tape2, g2 = _sweep(f, x)
    assert tape.inplace == tape2.inplace
    np.testing.assert_array_equal(g, g2)
    assert np.isfinite(g).all()


def test_forward_values_kept_on_the_tape_are_never_written_into():
    x, _ = data()
    seen = {}

    def f(x):
        e = np.exp(x)
        seen["e"] = e.primal
        return np.sum(e) + np.sum(e * x)

    g = dd.grad(f, x)
    np.testing.assert_array_equal(seen["e"], np.exp(x))
    np.testing.assert_allclose(g, np.exp(x) * (2.0 + x), rtol=1e-14)


def test_threads_get_their_own_memory():
    xs = [data(seed=s)[0] for s in range(6)]
    want = [big_grad(x) for x in xs]
    with concurrent.futures.ThreadPoolExecutor(3) as ex:
        for _ in range(2):
            got = list(ex.map(lambda x: dd.grad(big_f, x), xs))
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-12)


def test_hessian_through_pooled_arrays_matches_the_closed_form():
    # forward over reverse on large arrays: Duals of pooled values, sums into Duals in place
    x, v = data()
    hv = dd.hvp(big_f, x, v)
    d2 = (2 * np.cos(x)) * np.exp(x) + 2.0  # f'' of sin·exp + x², elementwise
    np.testing.assert_allclose(hv, d2 * v, rtol=1e-12)


def test_in_place_operator_on_a_view_of_a_pooled_value_is_taken():
    # h is a view of sin(x)'s pooled array, which nothing but h (and the pool) holds: numpy's
    # write would show nowhere else, so h += 1 is taken, as for an unpooled value
    m = buffers.MIN_BYTES // 16 + 1
    x = np.linspace(0.1, 1.0, 2 * m)

    def f(x):
        h = np.sin(x).reshape(2, m)
        h += 1.0
        return np.sum(h * h)

    np.testing.assert_allclose(dd.grad(f, x), 2 * (np.sin(x) + 1) * np.cos(x), rtol=1e-13)


def test_compile_records_with_ordinary_arrays_and_agrees_with_pooled_eager():
    # dd.compile keeps its recording's values (constants, first results): they are not taken
    # from the pool, whose memory is for reuse across calls; the code's results equal eager's
    x, v = data()
    grad = dd.compile(lambda x: dd.grad(big_f, x))
    jvp = dd.compile(lambda x, v: dd.jvp(big_f, x, v))
    first_g, first_t = grad(x), jvp(x, v)
    assert buffers.tracked_bytes() == 0 and not buffers.tracked(first_g)
    with buffers.paused():
        assert buffers.empty((N,), np.float64) is None
    eager_g, eager_t = dd.grad(big_f, x), dd.jvp(big_f, x, v)
    assert buffers.tracked_bytes() > 0
    for g in (first_g, grad(x), eager_g):
        np.testing.assert_array_equal(g, first_g)
    assert jvp(x, v) == first_t == eager_t
