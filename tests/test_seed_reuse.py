"""Seeds kept between calls (identity blocks, a reused colouring's compressed directions) are
never handed to the caller and never altered: results stay exact and the caller's own arrays."""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import transforms
from test_nesting import rosenbrock as _chain, rosenbrock_hessian as _chain_hessian  # closed form

sp = pytest.importorskip("scipy.sparse")


def test_identity_seeds_are_read_only_and_shared():
    a = [S for S, _ in dd.seed_directions(5, 2)]
    b = [S for S, _ in dd.seed_directions(5, 2)]
    assert all(not S.flags.writeable for S in a)
    assert np.shares_memory(a[0], b[0])  # one identity kept between calls
    np.testing.assert_array_equal(np.concatenate(a), np.eye(5))
    big = transforms._IDENTITY_ELEMENTS + 1
    n = int(np.ceil(np.sqrt(big)))
    first = next(iter(dd.seed_directions(n, n)))[0]
    assert not np.shares_memory(first, next(iter(dd.seed_directions(n, n)))[0])  # not cached


def test_identity_cache_is_bounded():
    for n in range(3, 30):
        next(iter(dd.seed_directions(n, n)))
    assert len(transforms._IDENTITIES) <= 8


@pytest.mark.parametrize("chunk", [1, 3, 5])
def test_jacobian_of_identity_is_a_fresh_writeable_array(chunk):
    x = np.arange(5.0)
    J = dd.jacobian(lambda z: z, x, chunk=chunk)
    assert J.flags.writeable
    J[:] = 7.0  # must not reach the seeds kept for the next call
    np.testing.assert_array_equal(dd.jacobian(lambda z: z, x, chunk=chunk), np.eye(5))
    np.testing.assert_array_equal(dd.jacobian(lambda z: 2 * z, x, chunk=chunk), 2 * np.eye(5))


def test_reused_star_coloring_keeps_its_seeds_and_stays_exact():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 40)
    coloring = dd.color_star(dd.hessian_sparsity(_chain, x))
    for _ in range(3):  # the seeds are built on the first call, reused after
        x = rng.uniform(-1, 1, 40)
        H = dd.hessian(_chain, x, sparse=coloring)
        np.testing.assert_allclose(H.toarray(), _chain_hessian(x), rtol=1e-13, atol=1e-12)
    kept = [v for k, v in coloring.cache.items() if isinstance(k, tuple) and k[0] == "seeds"]
    assert len(kept) == 1 and all(not S.flags.writeable for S in kept[0])


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_reused_coloring_for_an_identity_map(mode):
    # f returns its input: the pass's tangent (or cotangent) is the kept seed itself.
    x = np.arange(6.0)
    pattern = dd.sparsity(lambda z: z, x)
    coloring = dd.color_columns(pattern) if mode == "forward" else dd.color_rows(pattern)
    for _ in range(2):
        J = dd.jacobian(lambda z: z, x, sparse=coloring, mode=mode)
        J.data[:] = 5.0  # the caller's array: must not be the seed kept on the colouring
    np.testing.assert_array_equal(dd.jacobian(lambda z: z, x, sparse=coloring, mode=mode).toarray(),
                                  np.eye(6))


@pytest.mark.parametrize("kind", ["hessian", "forward", "reverse"])
def test_reused_coloring_keeps_csr_index_arrays_that_no_result_shares(kind):
    # A reused colouring keeps the CSR index arrays scipy made on the first call; every later
    # result gets copies: equal to a fresh scipy build (values, index values and dtypes), and
    # scipy's in-place methods on one result reach neither the kept arrays nor the next result.
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, 30)
    if kind == "hessian":
        coloring = dd.color_star(dd.hessian_sparsity(_chain, x))
        call = lambda z: dd.hessian(_chain, z, sparse=coloring)                # noqa: E731
        dense = lambda z: _chain_hessian(z)                                     # noqa: E731
    else:
        g = lambda z: z[1:] * z[:-1] - np.sin(z[1:])                           # noqa: E731
        pattern = dd.sparsity(g, x)
        coloring = dd.color_columns(pattern) if kind == "forward" else dd.color_rows(pattern)
        call = lambda z: dd.jacobian(g, z, sparse=coloring, mode=kind)          # noqa: E731
        # complex step, the independent oracle (an analytic g)
        dense = lambda z: np.array([np.imag(g(z + 1e-30j * e)) / 1e-30        # noqa: E731
                                    for e in np.eye(z.size)]).T
    first = call(x)
    assert "csr index" in coloring.cache
    for _ in range(2):
        x = rng.uniform(-1, 1, 30)
        M = call(x)
        fresh = sp.csr_array((M.data, first.indices, first.indptr), shape=first.shape)
        assert M.indices.dtype == first.indices.dtype and M.indptr.dtype == first.indptr.dtype
        # what scipy's constructor gives, attribute for attribute (the later results are copies
        # of the first's, with their own values and index arrays)
        assert type(M) is type(fresh) and M.format == "csr" and M.shape == fresh.shape
        assert sorted(vars(M)) == sorted(vars(fresh)) and M.dtype == fresh.dtype
        assert M.data.dtype == fresh.data.dtype and M.maxprint == fresh.maxprint
        np.testing.assert_array_equal(M.indices, fresh.indices)
        np.testing.assert_array_equal(M.indptr, fresh.indptr)
        np.testing.assert_allclose(M.toarray(), dense(x), rtol=1e-13, atol=1e-12)
        kept = coloring.cache["csr index"]
        assert not any(np.shares_memory(a, b) for a in (M.indices, M.indptr)
                       for b in (kept[1], kept[2], first.indices, first.indptr))
        M.data[::2] = 0.0
        M.eliminate_zeros()  # rewrites M.indices and M.indptr in place
    again = call(x)
    np.testing.assert_array_equal(again.indices, first.indices)
    np.testing.assert_array_equal(again.indptr, first.indptr)
    np.testing.assert_allclose(again.toarray(), dense(x), rtol=1e-13, atol=1e-12)



def test_reused_coloring_result_follows_each_call_dtype():
    # The later results copy the first one's CSR array: each must still carry its own call's
    # values in its own precision (float32 x, float32 H), against the closed form.
    x = np.random.default_rng(3).uniform(-1, 1, 12)
    coloring = dd.color_star(dd.hessian_sparsity(_chain, x))
    H64 = dd.hessian(_chain, x, sparse=coloring)
    H32 = dd.hessian(_chain, x.astype(np.float32), sparse=coloring)
    again = dd.hessian(_chain, 2 * x, sparse=coloring)
    assert H64.dtype == np.float64 and H32.dtype == np.float32 and again.dtype == np.float64
    np.testing.assert_allclose(H32.toarray(), _chain_hessian(x.astype(np.float32).astype(float)),
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(again.toarray(), _chain_hessian(2 * x), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(H64.toarray(), _chain_hessian(x), rtol=1e-13, atol=1e-12)
