"""Tangents of a reused colouring's seeds alone, kept between calls (dual.kept_jvp).

A sparse Hessian's passes over a reused colouring start from the same read-only seeds every
call, so what an operation computes from those seeds and constants alone (x[:-1]'s tangent,
1 - x[:-1]'s, 2 · (1 - x[:-1])'s) is the same array every call and is kept. Each result must be
exactly what the general path computes (keeping switched off), and right against closed forms;
nothing kept may reach the caller or be confused with a neighbour that differs in a constant,
an index or a dtype.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import dual, transforms
from test_nesting import rosenbrock, rosenbrock_hessian

pytest.importorskip("scipy.sparse")


def _general(monkeypatch, f, x, coloring):
    """The same Hessian with no seed kept: the general path, every tangent computed."""
    with monkeypatch.context() as m:
        m.setattr(transforms, "keep_pass_seed", lambda t: False)
        return dd.hessian(f, x, sparse=coloring)


def _same_bits(A, B):
    assert A.dtype == B.dtype
    np.testing.assert_array_equal(A.indices, B.indices)
    assert A.data.tobytes() == B.data.tobytes()


def test_kept_tangents_give_the_general_paths_bits_and_the_closed_form(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 50)
    coloring = dd.color_star(dd.hessian_sparsity(rosenbrock, x))
    dual._KEPT.clear()
    for _ in range(3):  # the first call keeps, the next ones find
        x = rng.uniform(-1, 1, 50)
        H = dd.hessian(rosenbrock, x, sparse=coloring)
        _same_bits(H, _general(monkeypatch, rosenbrock, x, coloring))
        np.testing.assert_allclose(H.toarray(), rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)
    names = {key[0].name for key in dual._KEPT}
    assert {"getitem", "subtract", "multiply", "negative"} <= names  # what Rosenbrock keeps
    assert all(not t.flags.writeable for _, t in dual._KEPT.values())


def _scaled(c):
    """sum((c · x[1:]) · x[:-1]): H[i, i+1] = H[i+1, i] = c; (c x[1:])'s tangent is c · ṡ."""
    return lambda x: np.sum((c * x[1:]) * x[:-1])


@pytest.mark.parametrize("constants", [(2.0, 3.0), (0.0, -0.0), (2.0, np.float64(-2.0)), (2, 3.5)])
def test_a_constant_the_kept_tangent_reads_is_part_of_what_it_is_kept_for(monkeypatch, constants):
    # One colouring shared by functions that differ only in c: alternating calls must each give
    # their own c (a kept c · ṡ of the other function would give the other's number).
    x = np.random.default_rng(1).uniform(-1, 1, 12)
    coloring = dd.color_star(dd.hessian_sparsity(_scaled(1.0), x))
    for c in constants + constants:
        H = dd.hessian(_scaled(c), x, sparse=coloring)
        _same_bits(H, _general(monkeypatch, _scaled(c), x, coloring))
        dense = H.toarray()
        np.testing.assert_array_equal(np.diag(dense, 1), np.full(11, float(c)))
        np.testing.assert_array_equal(np.diag(dense), np.zeros(12))


def test_an_index_is_part_of_what_a_kept_tangent_is_kept_for(monkeypatch):
    # x[1:] and x[:-1] have tangents of one shape from one seed: kept apart by their index.
    x = np.random.default_rng(2).uniform(-1, 1, 10)
    tail = lambda z: np.sum((2.0 * z[1:]) ** 2)   # noqa: E731  H = diag(0, 8, ..., 8)
    head = lambda z: np.sum((2.0 * z[:-1]) ** 2)  # noqa: E731  H = diag(8, ..., 8, 0)
    coloring = dd.color_star(dd.hessian_sparsity(lambda z: np.sum(z * z), x))
    for f, d in [(tail, [0.0] + [8.0] * 9), (head, [8.0] * 9 + [0.0])] * 2:
        H = dd.hessian(f, x, sparse=coloring)
        _same_bits(H, _general(monkeypatch, f, x, coloring))
        np.testing.assert_array_equal(H.toarray(), np.diag(d))


def test_float32_keeps_its_own_tangents(monkeypatch):
    x = np.random.default_rng(3).uniform(-1, 1, 20)
    coloring = dd.color_star(dd.hessian_sparsity(rosenbrock, x))
    for z in (x, x.astype(np.float32), x, x.astype(np.float32)):
        H = dd.hessian(rosenbrock, z, sparse=coloring)
        assert H.dtype == z.dtype
        _same_bits(H, _general(monkeypatch, rosenbrock, z, coloring))
        np.testing.assert_allclose(H.toarray(), rosenbrock_hessian(z.astype(float)),
                                   rtol=1e-5 if z.dtype == np.float32 else 1e-13, atol=1e-3)


def test_nothing_kept_reaches_the_caller():
    # f's gradient is 2 · x: its tangent is the seed's alone (kept); the result is the caller's.
    x = np.arange(6.0)
    f = lambda z: np.sum(z * z)  # noqa: E731
    coloring = dd.color_star(dd.hessian_sparsity(f, x))
    first = dd.hessian(f, x, sparse=coloring)
    first.data[:] = 99.0
    again = dd.hessian(f, x, sparse=coloring, format="coo")
    again.data[:] = -1.0
    np.testing.assert_array_equal(dd.hessian(f, x, sparse=coloring).toarray(), 2 * np.eye(6))
    kept = [t for _, t in dual._KEPT.values()]
    assert kept and not any(np.shares_memory(t, a) for t in kept for a in (first.data, again.data))


def test_the_kept_tangents_are_bounded(monkeypatch):
    x = np.random.default_rng(4).uniform(-1, 1, 30)
    coloring = dd.color_star(dd.hessian_sparsity(rosenbrock, x))
    monkeypatch.setattr(dual, "_KEPT_LIMIT", 2 * 3 * 29 * 8)  # two of Rosenbrock's tangents
    for _ in range(3):
        H = dd.hessian(rosenbrock, x, sparse=coloring)
        assert dual._KEPT_BYTES[0] <= dual._KEPT_LIMIT
        assert dual._KEPT_BYTES[0] == sum(t.nbytes for t in dual._KEPT_IDS.values())
        np.testing.assert_allclose(H.toarray(), rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)


def test_a_dense_hessian_and_a_jvp_keep_nothing():
    dual._KEPT.clear()
    x = np.linspace(-1, 1, 8)
    dd.hessian(rosenbrock, x)
    dd.jvp(lambda z: -z[1:] * 2.0, x, np.ones(8))
    dd.jacobian(lambda z: -z[1:] * 2.0, x)
    assert not dual._KEPT


def test_the_pools_arrays_are_not_kept(monkeypatch):
    # x + x's tangent, the seed plus itself, is a large contiguous sum that comes from the
    # buffer pool, which writes into it again once nobody holds it: kept (read-only) and then
    # dropped with the rest, the pool's next use of it would fail.
    from dualdiff import buffers
    monkeypatch.setattr(buffers, "MIN_BYTES", 1 << 10)  # (1, 200) tangents: 1.6 KiB, pooled
    g = lambda z: np.sum((z + z) ** 2)  # noqa: E731  H = 8 I
    x = np.random.default_rng(5).uniform(-1, 1, 200)
    coloring = dd.color_star(dd.hessian_sparsity(g, x))
    for _ in range(2):
        np.testing.assert_array_equal(dd.hessian(g, x, sparse=coloring).toarray(), 8 * np.eye(200))
        assert not any(buffers.tracked(t) for _, t in dual._KEPT.values())
    dual._KEPT.clear()  # what the bound does
    dual._KEPT_IDS.clear()
    np.testing.assert_array_equal(buffers.call(np.sin, np.zeros((1, 200))), np.zeros((1, 200)))
    np.testing.assert_array_equal(dd.hessian(g, x, sparse=coloring).toarray(), 8 * np.eye(200))
