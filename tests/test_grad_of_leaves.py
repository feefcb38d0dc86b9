"""dd.grad over a tuple whose items are each one leaf (floats, plain real floating arrays) takes
a short path (transforms._reverse_grad_of_leaves); every case here is checked against the
general path (the same x as a dict, or full_output=True) bit for bit, and against closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd


def _general(f, x):
    """The general path's gradient of the same f at the same x (full_output takes it)."""
    return dd.grad(f, x, full_output=True)[0]


def _same(a, b):
    assert type(a) is type(b) and len(a) == len(b)
    for u, v in zip(a, b):
        assert type(u) is type(v)
        u, v = np.asarray(u), np.asarray(v)
        assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()


def _layer(p):
    W, b = p
    return np.sum(np.tanh(W @ np.ones(3) + b)) + 0.5 * np.sum(W * W)


def test_a_layer_against_the_general_path_and_the_closed_form():
    rng = np.random.default_rng(0)
    p = (rng.standard_normal((4, 3)), rng.standard_normal(4))
    g = dd.grad(_layer, p)
    _same(g, _general(_layer, p))
    s = 1.0 - np.tanh(p[0] @ np.ones(3) + p[1]) ** 2
    np.testing.assert_allclose(g[0], np.outer(s, np.ones(3)) + p[0], rtol=1e-14)
    np.testing.assert_allclose(g[1], s, rtol=1e-14)


def test_large_arrays_whose_values_grad_never_reads():
    # an L2 penalty of a large array: its value is deferred and never computed
    W = np.linspace(-1.0, 1.0, 300 * 300).reshape(300, 300)
    v = np.linspace(0.5, 1.5, 300)
    f = lambda p: np.sum(np.sin(p[1]) * p[1]) + 0.5 * np.sum(p[0] * p[0])  # noqa: E731
    g = dd.grad(f, (W, v))
    _same(g, _general(f, (W, v)))
    np.testing.assert_array_equal(g[0], W)
    np.testing.assert_allclose(g[1], np.cos(v) * v + np.sin(v), rtol=1e-15)
    with pytest.raises(ValueError, match="never computed"):
        leaked = []
        dd.grad(lambda p: leaked.append(0.5 * np.sum(p[0] * p[0])) or leaked[0], (W, v))
        leaked[0].primal  # noqa: B018


def test_floats_and_arrays_mixed_and_a_zero_dimensional_array():
    f = lambda p: p[0] * np.sum(p[1] ** 2) + p[2] * p[0]  # noqa: E731
    x = (2.0, np.array([1.0, -3.0]), np.array(0.5))
    g = dd.grad(f, x)
    _same(g, _general(f, x))
    assert g[0] == 10.0 + 0.5 and g[2] == 2.0 and isinstance(g[2], np.float64)
    np.testing.assert_array_equal(g[1], [4.0, -12.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_a_lower_precision_output_goes_on_through_the_general_path(dtype):
    f = lambda p: np.sum(p[0] * p[0]) * p[1][0]  # noqa: E731
    x = (np.array([1.0, 2.0], dtype=dtype), np.array([3.0], dtype=dtype))
    g = dd.grad(f, x)
    _same(g, _general(f, x))
    assert g[0].dtype == dtype
    np.testing.assert_allclose(g[0], [6.0, 12.0])


def test_a_constant_f_a_non_scalar_f_and_complex_x():
    x = (np.array([1.0, 2.0]), 3.0)
    g = dd.grad(lambda p: 5.0, x)
    np.testing.assert_array_equal(g[0], [0.0, 0.0])
    assert g[1] == 0.0 and isinstance(g[1], np.float64)
    with pytest.raises(ValueError, match="scalar"):
        dd.grad(lambda p: p[0] * 2.0, x)
    z = (np.array([1.0 + 1.0j]),)  # complex: not a leaf of this path, the general one refuses
    with pytest.raises(TypeError, match="complex"):
        dd.grad(lambda p: p[0][0], z)


def test_an_exception_inside_f_leaves_the_next_call_working():
    W = np.ones((300, 300))
    calls = []

    def f(p):
        calls.append(1)
        total = 0.5 * np.sum(p[0] * p[0])
        if len(calls) == 1:
            raise RuntimeError("boom")
        return total

    with pytest.raises(RuntimeError, match="boom"):
        dd.grad(f, (W,))
    np.testing.assert_array_equal(dd.grad(f, (W,))[0], W)


def test_compiled_equals_eager():
    rng = np.random.default_rng(3)
    p = (rng.standard_normal((4, 3)), rng.standard_normal(4))
    c = dd.compile(lambda p: dd.grad(_layer, p))
    for _ in range(2):
        _same(c(p), dd.grad(_layer, p))


def _own(g, *others):
    """Each array of g is its own: writeable, sharing memory with no other gradient and with
    none of ``others`` (the inputs, the user's constants)."""
    arrays = [a for a in g if type(a) is np.ndarray]
    for i, a in enumerate(arrays):
        assert a.flags.writeable
        for b in arrays[i + 1:] + [o for o in others if type(o) is np.ndarray]:
            assert not np.shares_memory(a, b)


_W = np.linspace(-1.0, 1.0, 300 * 300).reshape(300, 300)
_V = np.linspace(0.5, 1.5, 7)
# (f, x, what the gradient's arrays are: handed out as the sweep left them, or copied/cast)
_HAND_OUT = {
    # the sweep's own new arrays, nobody else's: handed out as they are
    "fresh": (lambda p: np.sum(np.tanh(p[0] @ p[1][:300] * 0.01)) + 0.5 * np.sum(p[0] * p[0]),
              (_W, np.linspace(-1.0, 1.0, 300))),
    "float32": (lambda p: np.sum(np.sin(p[0]).astype(np.float64)) + float(p[1].size),
                (_W.astype(np.float32), _V)),
    "empty": (lambda p: np.sum(np.sin(p[0])) + np.sum(p[1] ** 2), (np.zeros((0, 3)), _V)),
    "strided input": (lambda p: np.sum(np.sin(p[0])) + np.sum(p[1] ** 3),
                      (_W[:, ::2], _V[::2])),
    "0-d": (lambda p: np.sum(np.sin(p[0])) * p[1], (_V, np.array(2.0))),
    # ... and where it must not apply: arrays someone else holds, views, another dtype
    "the user's constant": (lambda p: np.sum(p[0] * _W), (_W + 1.0,)),
    "one number broadcast": (lambda p: np.sum(p[0]) + np.sum(p[1]), (_W, _V)),
    "one array for both": (lambda p: np.sum(np.sin(p[0] + p[1])), (_V, _V * 2.0)),
    "the other input": (lambda p: np.sum(p[0] * p[1]), (_V, _V + 1.0)),
    "cast to x's dtype": (lambda p: np.sum(np.sin(p[0] * np.linspace(1.0, 2.0, 7))),
                          (_V.astype(np.float32),)),
}


@pytest.mark.parametrize("case", sorted(_HAND_OUT))
def test_the_gradient_arrays_handed_out_against_the_general_path_and_numpy(case):
    f, x = _HAND_OUT[case]
    before = [np.array(v, copy=True) for v in x]
    g = dd.grad(f, x)
    _same(g, _general(f, x))
    _own(g, *x, _W, _V)
    for a, v in zip(g, x):  # x's dtype and shape, as numpy's x has them
        assert np.asarray(a).dtype == v.dtype and np.shape(a) == v.shape
    for a in g:  # writing into a gradient changes nothing of the caller's
        if type(a) is np.ndarray:
            a[...] = 7.0
    for v, b in zip(x, before):
        assert np.array_equal(v, b)
    np.testing.assert_array_equal(_W[0, :2], [-1.0, -1.0 + 2.0 / (300 * 300 - 1)])


def test_the_handed_out_gradients_against_numpy_closed_forms():
    x = (_W[:, ::2], _V[::2])
    g = dd.grad(_HAND_OUT["strided input"][0], x)
    np.testing.assert_array_equal(g[0], np.cos(x[0]))
    np.testing.assert_array_equal(g[1], 3.0 * x[1] ** 2)
    g = dd.grad(_HAND_OUT["the user's constant"][0], (_W + 1.0,))
    np.testing.assert_array_equal(g[0], _W)
    g = dd.grad(_HAND_OUT["one array for both"][0], (_V, _V * 2.0))
    np.testing.assert_array_equal(g[0], np.cos(_V + _V * 2.0))
    np.testing.assert_array_equal(g[1], g[0])
    x = _V.astype(np.float32)
    g = dd.grad(_HAND_OUT["cast to x's dtype"][0], (x,))
    w = np.linspace(1.0, 2.0, 7)
    assert g[0].dtype == np.float32
    np.testing.assert_array_equal(g[0], (np.cos(x * w) * w).astype(np.float32))
