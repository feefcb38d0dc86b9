"""The plain-array shortcuts of the reverse sweep give the general paths' bits.

A full sum's cotangent made into its broadcast view directly (and handed on by a difference,
and through an axis sum, as the view it stays), logsumexp's adjoint on plain arrays,
a one-argument elementwise adjoint on a plain array and np.sum's axis read without norm_axes:
each is checked against numpy (the oracle: the same operations written out) and against the
general path, with float32, nan and inf, and where the gradient goes on through dd.compile
(which records the general path's operations), checkpoints and a tape swept twice.
"""

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.rules.reductions import LOGSUMEXP
from dualdiff.rules.shape import SUM
from dualdiff.rules.ufuncs import COS, EXP, SIN, TANH

R = np.random.default_rng(7)


def bits(a):
    a = np.asarray(a)
    return a.dtype, a.shape, a.tobytes()


# -- a full sum's cotangent: its read-only broadcast view ------------------------------------

@pytest.mark.parametrize("ct", [0.25, np.float64(-3.5), 0.0, -0.0, np.inf, np.nan])
@pytest.mark.parametrize("shape", [(3, 4), (7,), (), (0, 3), (2, 1, 5)])
def test_full_sum_cotangent_is_numpys_broadcast_view(ct, shape):
    got, = SUM.vjp(ct, (None,), None, {"axis": None, "keepdims": False}, (shape,), (True,))
    want = np.broadcast_to(np.float64(ct), shape)
    assert type(got) is np.ndarray and bits(got) == bits(want) and got.strides == want.strides
    assert not got.flags.writeable


@pytest.mark.parametrize("ct", [np.float32(0.5), np.array(2.0), np.ones((1, 1))])
def test_other_full_sum_cotangents_take_the_general_path(ct):
    got, = SUM.vjp(ct, (None,), None, {"axis": None, "keepdims": ct.ndim == 2 if
                                        isinstance(ct, np.ndarray) else False},
                   ((2, 3),), (True,))
    want = np.broadcast_to(ct, (2, 3))
    assert bits(got) == bits(want) and not got.flags.writeable


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, axis", [((3, 4), (0,)), ((3, 4), (1,)), ((2, 3, 5), (0, 2)),
                                         ((4, 1), (1,)), ((1, 4), (0,))])
def test_an_axis_sums_broadcast_cotangent_is_numpys_view(shape, axis, dtype):
    kept = tuple(1 if i in axis else n for i, n in enumerate(shape))
    reduced = tuple(n for i, n in enumerate(shape) if i not in axis)
    for ct in (np.broadcast_to(dtype(-1.5), reduced), np.broadcast_to(dtype(np.nan), reduced),
               R.standard_normal(reduced).astype(dtype)):
        got, = SUM.vjp(ct, (None,), None, {"axis": axis, "keepdims": False}, (shape,), (True,))
        want = np.broadcast_to(ct.reshape(kept), shape)
        assert bits(got) == bits(want) and not got.flags.writeable
        if not any(ct.strides):
            assert not any(got.strides) and np.shares_memory(got, ct)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_difference_under_a_sum_hands_on_the_negated_number(dtype):
    x, y = R.standard_normal((3, 5)).astype(dtype), R.standard_normal((3, 5)).astype(dtype)
    gx, gy = dd.grad(lambda p: 0.5 * np.sum(np.sum(p[0] - p[1], axis=0)), (x, y))
    assert gx.dtype == dtype and gy.dtype == dtype
    assert bits(gx) == bits(np.full((3, 5), 0.5, dtype))
    assert bits(gy) == bits(np.full((3, 5), -0.5, dtype))
    # the same bits through dd.compile (the general path's operations, recorded)
    c = dd.compile(lambda p: dd.grad(lambda q: 0.5 * np.sum(np.sum(q[0] - q[1], axis=0)), p))
    assert all(bits(a) == bits(b) for a, b in zip(c((x, y)), (gx, gy)))


def test_a_full_sum_with_a_negative_shape_keeps_numpys_error():
    with pytest.raises(ValueError) as want:
        np.broadcast_to(1.0, (-1, 2))
    with pytest.raises(ValueError) as got:
        dd.broadcast_to(1.0, (-1, 2))
    assert str(got.value) == str(want.value)


# -- np.sum / dd.sum: one int axis read directly -----------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3, np.int64(1), (0, 2), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_axis_as_numpy(axis, keepdims):
    x = R.standard_normal((2, 3, 4))
    want = np.sum(x, axis=axis, keepdims=keepdims)
    assert bits(dd.sum(x, axis=axis, keepdims=keepdims)) == bits(want)
    g = dd.grad(lambda z: np.sum(np.sum(z, axis=axis, keepdims=keepdims) ** 2), x)
    np.testing.assert_array_equal(g, np.broadcast_to(2 * want if keepdims or axis is None else
                                                      np.expand_dims(2 * want, axis), x.shape))


@pytest.mark.parametrize("axis", [3, -4, 1.0, "0"])
def test_sum_with_a_bad_axis_keeps_the_message(axis):
    x = dd.Dual(np.ones((2, 3, 4)), np.ones((2, 3, 4)))
    error = ValueError if isinstance(axis, int) else TypeError
    with pytest.raises(error, match="axis"):
        dd.sum(x, axis=axis)


@pytest.mark.parametrize("axis", [0, -1])
def test_sum_over_the_axis_of_a_0d_value(axis):
    assert float(dd.grad(lambda z: dd.sum(z * z, axis=axis), np.float64(3.0))) == 6.0


def test_np_sum_with_a_dtype_still_casts():
    x = R.standard_normal(5).astype(np.float32)
    g = dd.grad(lambda z: np.sum(z * z, dtype=np.float64), x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)


# -- logsumexp's adjoint on plain arrays ------------------------------------------------------

LSE_ROWS = [
    R.standard_normal((10, 64)) * 30.0,
    np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]]),
    np.array([[-np.inf, -np.inf, -np.inf], [0.0, 1.0, 2.0]]),
    np.array([[np.inf, 1.0, 2.0], [0.0, np.nan, 2.0]]),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x", LSE_ROWS)
@pytest.mark.parametrize("axis", [0, 1, -1, (0, 1)])
def test_logsumexp_adjoint_is_the_written_out_softmax(x, axis, dtype):
    x = x.astype(dtype)
    axes = tuple(np.atleast_1d(axis) % 2)
    with np.errstate(all="ignore"):
        out = LOGSUMEXP.impl(x, axes, False)
        if not isinstance(out, np.ndarray):
            return  # (a number: the general path, below)
        ct = R.standard_normal(out.shape).astype(dtype)
        got, = LOGSUMEXP.vjp(ct, (x,), out, {"axis": axes, "keepdims": False}, (x.shape,), (True,))
        kept = np.sum(x, axis=axes, keepdims=True).shape
        want = ct.reshape(kept) * np.exp(x - out.reshape(kept))
    assert bits(got) == bits(want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_gradient_eager_is_compiled_bitwise(dtype, keepdims):
    x = (R.standard_normal((10, 64)) * 5.0).astype(dtype)
    x[0, :3] = [-np.inf, np.inf, np.nan]
    w = R.standard_normal(64 if not keepdims else (1, 64)).astype(dtype)

    def f(z):
        return np.sum(w * dd.logsumexp(z, axis=0, keepdims=keepdims))

    with np.errstate(all="ignore"):
        eager = dd.grad(f, x)
        compiled = dd.compile(lambda z: dd.grad(f, z))(x)
    assert eager.dtype == dtype and bits(eager) == bits(compiled)


def test_logsumexp_gradient_against_the_closed_form_and_under_a_hessian():
    x = R.standard_normal((4, 6))
    e = np.exp(x - x.max(axis=1, keepdims=True))
    soft = e / e.sum(axis=1, keepdims=True)
    f = lambda z: np.sum(np.arange(1.0, 5.0) * dd.logsumexp(z, axis=1))  # noqa: E731
    np.testing.assert_allclose(dd.grad(f, x), np.arange(1.0, 5.0)[:, None] * soft, rtol=1e-13)
    # forward over reverse runs the general path on Duals: its gradient has the same bits
    g, _ = dd.jvp(lambda z: dd.grad(f, z), x, np.ones_like(x))
    assert bits(g) == bits(dd.grad(f, x))


# -- one-argument elementwise adjoints on a plain array ----------------------------------------

ONE_ARG = [
    (TANH, lambda x, out, ct: (1.0 - out * out) * ct),
    (SIN, lambda x, out, ct: np.cos(x) * ct),
    (COS, lambda x, out, ct: -np.sin(x) * ct),
    (EXP, lambda x, out, ct: out * ct),
]


@pytest.mark.parametrize("prim, written", ONE_ARG)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(5,), (100, 64), (300, 64), (0, 4)])
@pytest.mark.parametrize("layout", ["C", "T"])
def test_one_argument_adjoint_is_the_written_out_product(prim, written, dtype, shape, layout):
    x = R.standard_normal(shape).astype(dtype)
    if x.size > 3:
        x.flat[:3] = [np.nan, np.inf, -0.0]
    with np.errstate(all="ignore"):
        out = prim.impl(x)
        ct = R.standard_normal(shape[::-1]).astype(dtype).T if layout == "T" else \
            R.standard_normal(shape).astype(dtype)
        if ct.size > 4:
            ct.flat[3] = np.inf
        want = written(x, out, ct)
        got, = prim.vjp(ct, (x,), out, {}, (x.shape,), (True,))
    assert bits(got) == bits(want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_argument_adjoint_of_a_broadcast_number_takes_the_general_path(dtype):
    x = R.standard_normal((40, 50)).astype(dtype)
    out = TANH.impl(x)
    ct = np.broadcast_to(dtype(0.5), x.shape)
    got, = TANH.vjp(ct, (x,), out, {}, (x.shape,), (True,))
    assert bits(got) == bits((1.0 - out * out) * dtype(0.5))


# -- the whole sweep: a layer's loss, as the benchmark's MLP -------------------------------------

def mlp_loss(X, Y, lam=1e-3):
    def loss(params):
        W1, W2 = params
        h = np.tanh(W1 @ X)
        o = W2 @ h
        nll = np.sum(dd.logsumexp(o, axis=0) - np.sum(Y * o, axis=0)) / X.shape[1]
        return nll + 0.5 * lam * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return loss


def mlp_backprop(params, X, Y, lam=1e-3):
    """The same gradient by hand (numpy only): the oracle."""
    W1, W2 = params
    h = np.tanh(W1 @ X)
    o = W2 @ h
    e = np.exp(o - o.max(axis=0))
    d_o = (e / e.sum(axis=0) - Y) / X.shape[1]
    d_a = (W2.T @ d_o) * (1.0 - h * h)
    return d_a @ X.T + lam * W1, d_o @ h.T + lam * W2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes", [(784, 100, 10, 64), (20, 7, 3, 5)])
def test_mlp_gradient_eager_compiled_checkpointed_and_by_hand(dtype, sizes):
    d_in, d_hid, d_out, batch = sizes
    X = R.standard_normal((d_in, batch)).astype(dtype)
    Y = np.zeros((d_out, batch), dtype)
    Y[R.integers(0, d_out, batch), np.arange(batch)] = 1.0
    params = ((R.standard_normal((d_hid, d_in)) / np.sqrt(d_in)).astype(dtype),
              (R.standard_normal((d_out, d_hid)) / np.sqrt(d_hid)).astype(dtype))
    loss = mlp_loss(X, Y)
    eager = dd.grad(loss, params)
    again = dd.grad(loss, params)
    compiled = dd.compile(lambda p: dd.grad(loss, p))(params)
    checkpointed = dd.grad(lambda p: dd.checkpoint(loss)(p), params)
    for e, a, c, k in zip(eager, again, compiled, checkpointed):
        assert e.dtype == dtype and bits(e) == bits(a) == bits(c) == bits(k)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for e, h in zip(eager, mlp_backprop(params, X, Y)):
        np.testing.assert_allclose(e, h, rtol=tol, atol=tol)
    # a tape swept twice (vjp's function, two cotangents): each sweep the bits of grad's
    value, pullback = dd.vjp(loss, params)
    for ybar in (dtype(1), dtype(1)):
        for e, p in zip(eager, pullback(ybar)):
            assert bits(p) == bits(e)
