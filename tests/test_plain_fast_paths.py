"""The plain-array shortcuts the adjoint rules take give exactly what the general paths give.

broadcast_to's impl builds its read-only view directly, reshape and transpose hand a plain array
with valid arguments straight to numpy, and logsumexp's shift skips numpy's dispatch: each is
checked here against numpy itself (the oracle) and against the general path, including the
inputs they must hand back (bad shapes and axes keep dualdiff's or numpy's own error).
"""

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.rules.shape import BROADCAST

R = np.random.default_rng(0)

BROADCASTS = [
    (1.0, (3, 4)), (np.float64(2.5), (2,)), (np.float32(1.5), (2, 2)), (np.array(2.0), (100, 7)),
    (np.array(2.0), ()), (np.ones((1, 6)), (10, 6)), (np.arange(4.0).reshape(4, 1), (4, 5)),
    (np.arange(5.0), (3, 5)), (np.arange(3.0), (3,)), (np.ones((1, 1)), (4, 5)),
    (np.ones((0,)), (4, 0)), (np.ones((2, 3))[:, :1], (2, 7)),  # not contiguous: numpy's
    (np.arange(6.0).reshape(2, 3).T, (4, 3, 2)), (np.ones(3, dtype=np.float32), (2, 3)),
    (np.array([1 + 2j]), (3,)), (np.arange(3), (2, 3)), ([1.0, 2.0], (2, 2)),
    (np.ones((1, 3, 1)), (2, 4, 3, 5)),
    (np.broadcast_to(3.0, (1, 4)), (5, 4)),                        # one number, strides 0
    (np.broadcast_to(np.float32(3.0), (4,)).reshape(1, 4), (2, 3, 4)),
    (np.broadcast_to(np.arange(3.0), (2, 3)), (4, 2, 3)),          # strides (0, 8): numpy's
]


@pytest.mark.parametrize("x, shape", BROADCASTS)
def test_broadcast_impl_is_numpys_view(x, shape):
    got, want = BROADCAST.impl(x, shape), np.broadcast_to(x, shape)
    assert type(got) is np.ndarray
    assert got.shape == want.shape and got.dtype == want.dtype and got.strides == want.strides
    np.testing.assert_array_equal(got, want)
    assert not got.flags.writeable
    if isinstance(x, np.ndarray) and x.size:
        assert np.shares_memory(got, x)  # a view, never a copy


@pytest.mark.parametrize("x, shape", [(np.ones((2, 3)), (3,)), (np.ones((2, 3)), (4, 3)),
                                      (np.ones(3), (-1, 3)), (np.ones(1), (-2,)),
                                      (np.broadcast_to(1.0, (1, 4)), (5, 3))])
def test_broadcast_impl_refuses_as_numpy_does(x, shape):
    with pytest.raises(ValueError) as want:
        np.broadcast_to(x, shape)
    with pytest.raises(ValueError) as got:
        BROADCAST.impl(x, shape)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("shape", [(3, 4), (-1,), (2, -1, 2), (np.int64(12),), (12.0,), [4, 3], 12])
def test_reshape_of_a_plain_array_as_numpy(shape):
    x = R.standard_normal((4, 3))
    want = x.reshape(tuple(int(s) for s in np.atleast_1d(shape)))
    got = dd.reshape(x, shape)
    np.testing.assert_array_equal(got, want)
    assert got.shape == want.shape and np.shares_memory(got, x)


@pytest.mark.parametrize("axes", [(1, 0, 2), (-1, 0, 1), (2, 1, 0), (np.int64(1), 0, 2), (1.0, 0, 2), None])
def test_transpose_of_a_plain_array_as_numpy(axes):
    x = R.standard_normal((2, 3, 4))
    want = x.transpose(None if axes is None else tuple(int(a) for a in axes))
    got = dd.transpose(x, axes)
    np.testing.assert_array_equal(got, want)
    assert got.shape == want.shape and np.shares_memory(got, x)


@pytest.mark.parametrize("axes", [(0, 0, 1), (0, 1), (0, 1, 3), (0, 1, -4)])
def test_transpose_with_bad_axes_keeps_dualdiffs_message(axes):
    with pytest.raises(ValueError, match="not a permutation of the 3 axes"):
        dd.transpose(np.ones((2, 3, 4)), axes)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", [
    [[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]],
    [[-np.inf, -np.inf, -np.inf], [0.0, 1.0, 2.0]],      # a row of -inf: shift by 0
    [[np.inf, 1.0, 2.0], [0.0, np.nan, 2.0]],             # inf and nan rows
    [[3e38, 3e38, 1.0], [2e38, 1.0, 1.0]],                # maxima whose sum overflows float32
])
def test_logsumexp_shift_as_numpy(rows, dtype):
    x = np.array(rows, dtype=dtype)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        want = (np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)) + m)[:, 0]
        got = dd.logsumexp(x, axis=1)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_logsumexp_of_an_empty_axis():
    with np.errstate(divide="ignore"):
        got = dd.logsumexp(np.ones((2, 0)), axis=1)
    np.testing.assert_array_equal(got, [-np.inf, -np.inf])


def test_logsumexp_gradient_is_softmax_with_the_shortcuts():
    x = R.standard_normal((10, 64)) * 30.0
    g = dd.grad(lambda x: np.sum(dd.logsumexp(x, axis=0)), x)
    e = np.exp(x - x.max(axis=0))
    np.testing.assert_allclose(g, e / e.sum(axis=0), rtol=1e-13, atol=1e-300)


# -- x ** 2 under a constant cotangent: 2x · s taken as x · 2s (ufuncs._twice_times) ----------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("square", [lambda x: x ** 2, np.square, lambda x: np.power(x, 2.0)])
@pytest.mark.parametrize("c", [3.7, 0.1, -2.5, 1e-300])
def test_a_square_under_a_constant_cotangent_has_the_two_step_bits(square, c, dtype):
    x = R.standard_normal(1000).astype(dtype)
    x[:3] = [0.0, -0.0, 3e-310 if dtype == np.float64 else 1e-40]  # zeros, a subnormal
    g = dd.grad(lambda z: np.sum(c * square(z)), x)
    want = (2.0 * x) * dtype(c)  # the rule as written: the partial 2x, then times the cotangent
    assert g.dtype == dtype and np.array_equal(g.view(np.uint8), want.view(np.uint8))
    H = dd.hessian(lambda z: np.sum(c * square(z)), x[:50])
    assert np.array_equal(np.diag(H), np.full(50, 2.0 * dtype(c)))


def test_where_2x_would_overflow_the_derivative_is_finite():
    x = np.array([1e308, -1.5e308, 2.0])
    with np.errstate(over="ignore"):  # f itself overflows; 0.5·x does not
        g = dd.grad(lambda z: np.sum(0.25 * z ** 2), x)
    np.testing.assert_array_equal(g, 0.5 * x)
