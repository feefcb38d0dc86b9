"""Fast paths of forward mode with k directions give exactly what the general path gives.

Each is checked against the plain numpy construction it replaces (bit for bit) and, through
the public transforms, against closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.rules.indexing import _ZERO_OUTSIDE_ELEMENTS, _index_add_impl
from dualdiff.rules.shape import _broadcast_impl
from oracles import rosenbrock, rosenbrock_hessian

BIG = _ZERO_OUTSIDE_ELEMENTS  # at and above this size only the margins are zeroed

INDICES = [
    ((BIG,), (slice(1, None),)),
    ((BIG,), (slice(None, -1),)),
    ((BIG,), (slice(5, 5),)),          # empty
    ((BIG,), (slice(9, 3),)),          # empty, reversed bounds
    ((BIG,), (slice(None, None, 2),)),  # a step: plain zeros
    ((BIG,), (slice(None, None, -1),)),
    ((3, BIG), (slice(None), slice(1, None))),
    ((3, BIG), (slice(1, 2), slice(2, -3))),
    ((3, BIG), (slice(1, 2),)),
    ((3, BIG), (1, slice(2, None))),    # an int: plain zeros
    ((3, BIG), (Ellipsis, slice(2, None))),
    ((300, 300), (slice(-50, None), slice(10, 20))),
    ((4,), (slice(1, None),)),          # small: plain zeros
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("shape,idx", INDICES)
def test_index_add_equals_zeros_then_assign(shape, idx, dtype):
    rng = np.random.default_rng(0)
    target = np.empty(shape)[idx].shape
    ct = rng.standard_normal(target).astype(dtype)
    if dtype == np.complex128:
        ct = ct + 1j * rng.standard_normal(target)
    want = np.zeros(shape, dtype=np.result_type(ct, 1.0))
    want[idx] = ct
    got = _index_add_impl(ct, idx, shape)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert not np.signbit(got.real[want.real == 0]).any()  # +0.0 outside, as np.zeros


def test_slice_adjoints_in_k_directions_match_the_closed_form():
    # H of the chained Rosenbrock function (its slices' adjoints are index_adds) at a size
    # where only their margins are zeroed, against the closed form.
    n = BIG + 3
    x = np.random.default_rng(1).uniform(-1, 1, n)
    f = lambda z: np.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2)  # noqa: E731
    coloring = dd.color_star(dd.hessian_sparsity(f, x))
    H = dd.hessian(f, x, sparse=coloring)
    i = np.arange(n - 1)
    diag = np.zeros(n)
    diag[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    diag[1:] += 200
    np.testing.assert_allclose(H.diagonal(), diag, rtol=1e-13, atol=1e-11)
    np.testing.assert_allclose(H[i, i + 1], -400 * x[:-1], rtol=1e-13)
    np.testing.assert_allclose(H[i + 1, i], -400 * x[:-1], rtol=1e-13)


BROADCASTS = [
    (1.0, (3, 4)), (np.float64(2.0), (5,)), (np.asarray(3.0), (2, 2)), (np.asarray(3.0), ()),
    (np.arange(3.0), (4, 3)), (np.arange(3.0), (3,)), (np.arange(3.0).reshape(3, 1), (3, 5)),
    (np.arange(6.0).reshape(2, 3)[:, :2], (4, 2, 2)),  # not contiguous: numpy's own
    (np.zeros((0, 3)), (2, 0, 3)), (np.ones(1), (0,)), (np.ones(3, np.float32), (2, 3)),
    (np.ones(3) + 1j, (2, 3)), (2, (3,)), ([1.0, 2.0], (2, 2)),
    (np.arange(3.0).astype(">f8"), (2, 3)), (np.array([{1}, set()], dtype=object), (3, 2)),
    (np.arange(3.0)[::-1], (2, 3)),  # negative strides: numpy's own
]


def _read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


BROADCASTS.append((_read_only([1.0, 2.0]), (3, 2)))


@pytest.mark.parametrize("x,shape", BROADCASTS)
def test_broadcast_is_numpys_view(x, shape):
    want = np.broadcast_to(x, shape)
    got = _broadcast_impl(x, shape)
    assert got.shape == want.shape and got.dtype == want.dtype and got.strides == want.strides
    np.testing.assert_array_equal(got, want)
    assert not got.flags.writeable


@pytest.mark.parametrize("x,shape", [(np.arange(3.0), (4, 2)), (np.arange(3.0), (-1, 3)),
                                      (np.arange(3.0), (2,))])
def test_broadcast_errors_are_numpys(x, shape):
    with pytest.raises(ValueError) as want:
        np.broadcast_to(x, shape)
    with pytest.raises(ValueError) as got:
        _broadcast_impl(x, shape)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("chunk", [1, 3])
def test_subtract_tangents_in_one_pass(chunk):
    # d(a·b - c) and d(a - b·c) in k directions against the closed form, and against the same
    # tangents summed with a negation (the general path), bit for bit.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5))
    f = lambda z: z[0] * z[1] - np.sin(z[2])  # noqa: E731
    g = lambda z: np.cos(z[0]) - z[1] * z[2]  # noqa: E731
    J = dd.jacobian(f, x, chunk=chunk)
    K = dd.jacobian(g, x, chunk=chunk)
    eye = np.eye(5)
    np.testing.assert_allclose(J[:, 0], x[1][:, None] * eye, rtol=1e-15)
    np.testing.assert_allclose(J[:, 2], -np.cos(x[2])[:, None] * eye, rtol=1e-15)
    np.testing.assert_allclose(K[:, 1], -x[2][:, None] * eye, rtol=1e-15)
    S = np.random.default_rng(3).standard_normal((4, 3, 5))
    _, t = dd.jvp(f, x, S[0])
    np.testing.assert_array_equal(t, x[1] * S[0, 0] + x[0] * S[0, 1] + -(np.cos(x[2]) * S[0, 2]))


@pytest.mark.parametrize("shape,sl", [((7,), slice(1, None)), ((7,), slice(None, -2)),
                                      ((5, 4), slice(1, 3)), ((6,), slice(None, None, -2)),
                                      ((BIG,), slice(2, None))])
def test_one_slice_in_k_directions_equals_the_general_path(shape, sl):
    from dualdiff.primitives import bind
    from dualdiff.rules.indexing import GETITEM, INDEX_ADD, _chunk_index
    rng = np.random.default_rng(4)
    k = 3
    t = rng.standard_normal((k,) + shape)
    x = rng.standard_normal(shape)
    idx = (sl,)
    got = GETITEM.jvp((x,), (t,), x[idx], {"idx": idx}, True)
    np.testing.assert_array_equal(got, bind(GETITEM, t, idx=_chunk_index(idx)))
    np.testing.assert_array_equal(got, np.stack([ti[sl] for ti in t]))  # direction by direction
    ct = rng.standard_normal((k,) + x[idx].shape)
    got = INDEX_ADD.jvp((ct[0],), (ct,), None, {"idx": idx, "shape": shape}, True)
    want = bind(INDEX_ADD, ct, idx=_chunk_index(idx), shape=(k,) + shape)
    np.testing.assert_array_equal(got, want)
    for i in range(k):  # direction by direction, numpy's own zeros-then-assign
        z = np.zeros(shape)
        z[sl] = ct[i]
        np.testing.assert_array_equal(got[i], z)


def test_sum_in_k_directions_matches_the_closed_form():
    x = np.random.default_rng(5).standard_normal((3, 4))
    J = dd.jacobian(lambda z: np.sum(z ** 2, axis=1), x, chunk=5)
    want = np.zeros((3, 3, 4))
    for i in range(3):
        want[i, i] = 2 * x[i]
    np.testing.assert_array_equal(J, want)


# -- a dense Hessian in one pass (transforms._hessian_one_pass) -------------------------------

def _general_hessian(f, x):
    """The Hessian as jacobian(grad f) computes it: what hessian's one-pass path replaces."""
    return dd.jacobian(lambda z: dd.grad(f, z), x, mode="forward", chunk="auto")


@pytest.mark.parametrize("f,x", [
    (rosenbrock, np.linspace(-1.2, 1.0, 100)),
    (lambda x: np.sum(np.sin(x) * x[::-1]), np.linspace(0.3, 2.0, 7)),
    (lambda x: np.sum(x @ x.T) + np.prod(x), np.arange(1.0, 7.0).reshape(2, 3)),  # 2-d x
    (lambda x: 3.0, np.ones(4)),                                  # no dependence on x
    (lambda x: np.sum(x) * 2.0, np.ones(4)),                      # a constant gradient
    (lambda x: np.sum(x.astype(np.float32) ** 3), np.arange(1.0, 5.0)),  # float32 inside
])
def test_one_pass_hessian_is_the_general_paths_bit_for_bit(f, x):
    H = dd.hessian(f, x)
    want = _general_hessian(f, x)
    assert H.shape == x.shape + x.shape and H.dtype == want.dtype
    assert np.array_equal(H, want) and np.array_equal(np.signbit(H), np.signbit(want))
    assert H.flags.writeable and not np.shares_memory(H, x)
    H[...] = 7.0  # the caller's to write: nothing kept (a cached identity seed) changes
    assert np.array_equal(dd.hessian(f, x), want)


def test_one_pass_hessian_matches_the_closed_form():
    x = np.linspace(-1.2, 1.0, 100)
    np.testing.assert_allclose(dd.hessian(rosenbrock, x), rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)


def test_hessians_beyond_one_pass_take_the_general_path(monkeypatch):
    from dualdiff import transforms
    x = np.linspace(0.5, 1.5, 6)
    want = dd.hessian(rosenbrock, x)
    monkeypatch.setattr(transforms, "AUTO_CHUNK_ELEMENTS", 12)  # 6·6 > 12: several passes
    monkeypatch.setattr(transforms, "_hessian_one_pass", None)  # (would fail if called)
    H, info = dd.hessian(rosenbrock, x, full_output=True)
    assert info.passes > 1 and np.array_equal(H, want)
    assert np.array_equal(dd.hessian(rosenbrock, x), want)


def test_one_pass_hessian_of_a_non_scalar_f_names_hessian():
    with pytest.raises(ValueError, match="hessian"):
        dd.hessian(lambda x: x ** 2, np.ones(3))
