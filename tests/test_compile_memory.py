"""dd.compile's own memory: frozen constants, the workspace and large outputs start on 64-byte
boundaries (codegen.ALIGN), and a large output's memory is reused by the next call once the
caller holds nothing of it (codegen.Recycled). What that may not change: values, bits, strides,
dtypes, and that a result the caller holds is never written again."""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
import threading

from dualdiff import codegen
from dualdiff.codegen import ALIGN, RECYCLE_BYTES, KEEP_BYTES, aligned_empty, frozen_copy


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _offset_copy(a: np.ndarray, offset: int) -> np.ndarray:
    """a C-ordered copy of ``a`` starting ``offset`` bytes past a 64-byte boundary."""
    raw = np.empty(a.nbytes + 2 * ALIGN, np.uint8)
    start = -_address(raw) % ALIGN + offset
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("shape,dtype,order", [((0,), np.float64, "C"), ((7,), np.float32, "C"),
                                               ((3, 5), np.complex128, "F"), ((2, 3, 4), float, "C")])
def test_aligned_empty_has_the_asked_layout(shape, dtype, order):
    a = aligned_empty(shape, dtype, order)
    assert a.shape == shape and a.dtype == np.dtype(dtype)
    assert a.flags.c_contiguous if order == "C" else a.flags.f_contiguous
    assert a.flags.writeable and (a.size == 0 or _address(a) % ALIGN == 0)


@pytest.mark.parametrize("make", [
    lambda: np.arange(12.0).reshape(3, 4), lambda: np.arange(12.0).reshape(3, 4).T,
    lambda: np.arange(20.0)[::-3], lambda: np.arange(24.0).reshape(4, 6)[:, 1:5:2],
    lambda: np.arange(6, dtype=np.float32), lambda: np.zeros((0, 3)), lambda: np.float64(2.5) * np.ones(()),
    lambda: np.arange(4) + 1j])
def test_frozen_copy_is_aligned_equal_and_private(make):
    c = make()
    y = frozen_copy(c)
    assert y.strides == c.strides and y.dtype == c.dtype and y.shape == c.shape
    assert np.array_equal(y, c) and not y.flags.writeable and not np.shares_memory(y, c)
    if c.size:
        lowest = _address(y) + sum((n - 1) * s for n, s in zip(c.shape, c.strides) if s < 0)
        assert lowest % ALIGN == 0


def test_alignment_changes_no_bits():
    # What numpy and BLAS compute must not depend on where the data starts, or compiled code
    # (aligned constants and outputs) could differ from eager mode (the caller's memory).
    rng = np.random.default_rng(0)
    A0, x0 = rng.standard_normal((67, 67)), rng.standard_normal(67)
    want = None
    for offset in range(0, ALIGN, 8):
        A, x = _offset_copy(A0, offset), _offset_copy(x0, (offset * 3) % ALIGN)
        got = [A @ x, x @ A, A @ A, np.tanh(A), np.exp(x), np.sin(A), np.sum(A),
               np.add.reduce(A, axis=0), np.add.reduce(A, axis=1), np.log1p(np.abs(A)) ** 1.5]
        if want is None:
            want = got
        for g, w in zip(got, want):
            assert g.tobytes() == w.tobytes()


def _jacobian_problem(n=200):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    f = lambda z: np.tanh(A @ z)  # noqa: E731
    assert n * n * 8 >= RECYCLE_BYTES
    return f, rng.standard_normal(n), dd.compile(lambda z: dd.jacobian(f, z, chunk=n)), A


def test_large_compiled_output_is_aligned_and_the_callers():
    f, x, jac, A = _jacobian_problem()
    n = x.size
    jac(x)  # the recording
    assert "out=_out" in jac.source(x)
    J1, J2 = jac(x), jac(x)
    eager = dd.jacobian(f, x, chunk=n)
    for J in (J1, J2):
        assert J.tobytes() == eager.tobytes() and J.strides == eager.strides
        assert _address(J) % ALIGN == 0 and J.flags.writeable
    assert not np.shares_memory(J1, J2) and not np.shares_memory(J1, A)
    J1[...] = 0.0
    assert np.array_equal(J2, eager) and np.array_equal(jac(x), eager)


def test_small_outputs_are_numpys_own():
    x = np.linspace(0.0, 1.0, 50)
    g = dd.compile(lambda z: dd.grad(lambda w: np.sum(np.sin(w) * w), z))
    g(x)
    assert "_out" not in g.source(x)
    assert np.array_equal(g(x), dd.grad(lambda w: np.sum(np.sin(w) * w), x))


def test_workspace_is_aligned():
    n = KEEP_BYTES // 8 + 1000
    x = np.linspace(0.0, 1.0, n)
    f = lambda w: np.sum(np.sin(w) * np.exp(w) + w ** 2)  # noqa: E731
    g = dd.compile(lambda z: dd.grad(f, z))
    g(x)
    assert "_ws" in g.source(x)
    assert np.array_equal(g(x), dd.grad(f, x))
    pool = g.compiled._specs[0].run.__globals__["_ws"]
    assert pool and all(_address(w) % ALIGN == 0 for w in pool[0])


def test_output_memory_is_reused_only_once_dropped():
    f, x, jac, _ = _jacobian_problem()
    eager = dd.jacobian(f, x, chunk=x.size)
    jac(x)
    first = _address(jac(x))  # dropped at once
    J = jac(x)
    assert _address(J) == first or not codegen.REFCOUNTS
    kept = [J, jac(x), jac(x)[3], jac(x).T, memoryview(jac(x))]  # whole, a row, a view, a buffer
    arrays = [np.asarray(k) for k in kept]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)
    wants = [eager, eager, eager[3], eager.T, eager]
    for a, want in zip(arrays, wants):
        assert a.tobytes() == want.tobytes()
    del kept, arrays, J
    assert _address(jac(x)) in _addresses_held(jac) or not codegen.REFCOUNTS


def _addresses_held(compiled):
    ns = compiled.compiled._specs[0].run.__globals__
    return {_address(arr) for name, r in ns.items() if name.startswith("_out")
            for _, arr in r.held}


def test_without_reference_counts_every_output_is_new(monkeypatch):
    monkeypatch.setattr(codegen, "REFCOUNTS", False)
    f, x, jac, _ = _jacobian_problem()
    jac(x)
    assert "out=_out" in jac.source(x)
    for _ in range(3):
        J = jac(x)
        assert J.tobytes() == dd.jacobian(f, x, chunk=x.size).tobytes()
    assert not _addresses_held(jac)


def test_outputs_from_threads_stay_the_callers():
    f, x0, jac, _ = _jacobian_problem(130)
    jac(x0)
    errors = []

    def work(k):
        x = x0 + 0.25 * k  # each thread its own point: a result written by another shows
        eager = dd.jacobian(f, x, chunk=x.size)
        mine = []
        for i in range(30):
            mine.append(jac(x))
            if i % 3:
                mine.pop(0)  # drop some, so that memory is handed back while others run
            if any(J.tobytes() != eager.tobytes() for J in mine):
                errors.append("overwritten")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_a_result_fed_back_as_the_next_input():
    # x = step(x): the caller holds the last result as the new input, so it must not be the
    # memory the call writes into; the one before (dropped) may be.
    n = RECYCLE_BYTES // 8 + 100
    step = dd.compile(lambda z: np.sin(z) * 0.5 + z)
    x = want = np.linspace(-1.0, 1.0, n)
    for _ in range(6):
        x = step(x)
        want = np.sin(want) * 0.5 + want
        assert x.tobytes() == want.tobytes()
    assert "out=_out" in step.source(x)
