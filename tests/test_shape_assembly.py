"""Shape, assembly, indexing and sorting through numpy's own spelling, the ndarray methods, index
assignment into traced values, and the conventions (sort ties, last write wins).

The derivatives themselves are checked against oracles by the table test (tests/table_cases/);
here each numpy spelling is checked against numpy on the values and against the table-tested
dd function on the derivatives, in forward mode (k = 3 directions) and in reverse mode, with
float32, 0-d and empty inputs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dualdiff as dd

RNG = np.random.default_rng(8)
X = RNG.normal(size=(2, 3, 4))

# (id, numpy call, dualdiff call): each takes one array
SPELLINGS = [
    ("moveaxis", lambda x: np.moveaxis(x, 0, -1), lambda x: dd.moveaxis(x, 0, -1)),
    ("rollaxis", lambda x: np.rollaxis(x, 2), lambda x: dd.rollaxis(x, 2)),
    ("swapaxes", lambda x: np.swapaxes(x, 0, 2), lambda x: dd.swapaxes(x, 0, 2)),
    ("atleast_3d", lambda x: np.atleast_3d(x[0, 0]), lambda x: dd.atleast_3d(x[0, 0])),
    ("tile", lambda x: np.tile(x, (2, 1, 1)), lambda x: dd.tile(x, (2, 1, 1))),
    ("flip", lambda x: np.flip(x, 1), lambda x: dd.flip(x, 1)),
    ("fliplr", np.fliplr, dd.fliplr), ("flipud", np.flipud, dd.flipud),
    ("rot90", lambda x: np.rot90(x, 3), lambda x: dd.rot90(x, 3)),
    ("take", lambda x: np.take(x, [3, 3, 0], axis=2), lambda x: dd.take(x, [3, 3, 0], axis=2)),
    ("take_along_axis", lambda x: np.take_along_axis(x, np.argsort(x, 1), 1),
     lambda x: dd.take_along_axis(x, np.argsort(dd.stop_gradient(x), 1), 1)),
    ("diagonal", lambda x: np.diagonal(x, 1, 1, 2), lambda x: dd.diagonal(x, 1, 1, 2)),
    ("repeat", lambda x: np.repeat(x, 2, axis=1), lambda x: dd.repeat(x, 2, axis=1)),
    ("vstack", lambda x: np.vstack([x[0], x[1]]), lambda x: dd.vstack([x[0], x[1]])),
    ("hstack", lambda x: np.hstack([x[0], x[1]]), lambda x: dd.hstack([x[0], x[1]])),
    ("dstack", lambda x: np.dstack([x[0], x[1]]), lambda x: dd.dstack([x[0], x[1]])),
    ("column_stack", lambda x: np.column_stack([x[0, 0], x[1, 1]]),
     lambda x: dd.column_stack([x[0, 0], x[1, 1]])),
    ("append", lambda x: np.append(x, x[0], axis=None), lambda x: dd.append(x, x[0])),
    ("split", lambda x: np.split(x, 2, axis=2)[1], lambda x: dd.split(x, 2, axis=2)[1]),
    ("array_split", lambda x: np.array_split(x, 3, axis=2)[0], lambda x: dd.array_split(x, 3, axis=2)[0]),
    ("hsplit", lambda x: np.hsplit(x, [1])[1], lambda x: dd.hsplit(x, [1])[1]),
    ("vsplit", lambda x: np.vsplit(x, 2)[0], lambda x: dd.vsplit(x, 2)[0]),
    ("dsplit", lambda x: np.dsplit(x, 2)[1], lambda x: dd.dsplit(x, 2)[1]),
    ("roll", lambda x: np.roll(x, 2, axis=-1), lambda x: dd.roll(x, 2, axis=-1)),
    ("pad-reflect", lambda x: np.pad(x, 1, mode="reflect"), lambda x: dd.pad(x, 1, mode="reflect")),
    ("pad-constant", lambda x: np.pad(x, ((0, 0), (1, 2), (0, 1)), constant_values=3.0),
     lambda x: dd.pad(x, ((0, 0), (1, 2), (0, 1)), constant_values=3.0)),
    ("diag", lambda x: np.diag(x[0, 0], 1), lambda x: dd.diag(x[0, 0], 1)),
    ("diagflat", lambda x: np.diagflat(x[0]), lambda x: dd.diagflat(x[0])),
    ("tril", lambda x: np.tril(x, -1), lambda x: dd.tril(x, -1)),
    ("triu", lambda x: np.triu(x), lambda x: dd.triu(x)),
    ("select", lambda x: np.select([X > 0], [x * 2.0], x), lambda x: dd.select([X > 0], [x * 2.0], x)),
    ("choose", lambda x: np.choose((X > 0).astype(int), [x, -x]),
     lambda x: dd.choose((X > 0).astype(int), [x, -x])),
    ("sort", lambda x: np.sort(x, axis=1), lambda x: dd.sort(x, axis=1)),
    ("partition", lambda x: np.partition(x, 1, axis=2)[..., 1], lambda x: dd.partition(x, 1, axis=2)[..., 1]),
    ("copy", np.copy, dd.copy),
    ("where-3", lambda x: np.where(X > 0, x, 0.0), lambda x: dd.where(X > 0, x, 0.0)),
]


def _grad_of(fn, x):
    w = RNG.normal(size=np.shape(fn(x)))
    return dd.grad(lambda z: dd.sum(fn(z) * w), x), w


@pytest.mark.parametrize("name, np_call, dd_call", SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_numpy_spelling_matches_numpy_and_dualdiff(name, np_call, dd_call):
    np.testing.assert_array_equal(dd_call(X), np_call(X))  # plain values: numpy's own
    t = RNG.normal(size=(3,) + X.shape)
    got, want = np_call(dd.Dual(X, t)), dd_call(dd.Dual(X, t))
    assert isinstance(got, dd.Dual) and got.chunk == 3
    np.testing.assert_array_equal(got.primal, np_call(X))
    np.testing.assert_array_equal(got.tangent, want.tangent)
    g, w = _grad_of(np_call, X)
    np.testing.assert_allclose(g, dd.grad(lambda z: dd.sum(dd_call(z) * w), X), rtol=1e-14)


@pytest.mark.parametrize("name, np_call, dd_call", SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_float32_stays_float32(name, np_call, dd_call):
    x32 = X.astype(np.float32)
    d = np_call(dd.Dual(x32, np.ones_like(x32)))
    assert d.primal.dtype == np.float32 and np.asarray(d.tangent).dtype == np.float32
    g = dd.grad(lambda z: dd.sum(np_call(z)), x32)
    assert g.dtype == np.float32


EMPTY = [
    ("flip", lambda x: np.flip(x, 0)), ("roll", lambda x: np.roll(x, 1)),
    ("take", lambda x: np.take(x, np.array([], dtype=int))), ("repeat", lambda x: np.repeat(x, 2)),
    ("tile", lambda x: np.tile(x, 2)), ("sort", np.sort), ("vstack", lambda x: np.vstack([x, x])),
    ("pad-constant", lambda x: np.pad(x, 1)), ("split", lambda x: np.split(x, 2, axis=1)[0]),
    ("tril", np.tril), ("diagonal", np.diagonal), ("copy", np.copy),
]


@pytest.mark.parametrize("name, call", EMPTY, ids=[e[0] for e in EMPTY])
def test_empty_arrays(name, call):
    x = np.ones((0, 4))
    want = call(x)
    out = call(dd.Dual(x, np.ones((2, 0, 4))))
    assert out.primal.shape == want.shape and out.tangent.shape == (2,) + want.shape
    assert dd.grad(lambda z: dd.sum(call(z)), x).shape == (0, 4)


@pytest.mark.parametrize("call", [dd.atleast_1d, dd.atleast_2d, lambda x: dd.tile(x, 3),
                                  lambda x: dd.repeat(x, 2), lambda x: dd.sort(x, axis=None),
                                  lambda x: dd.append(x, x), dd.copy, lambda x: dd.pad(dd.atleast_1d(x), 1, mode="wrap")])
def test_zero_dimensional(call):
    out = call(dd.Dual(2.0, 1.0))
    np.testing.assert_array_equal(out.primal, call(np.float64(2.0)))
    np.testing.assert_array_equal(out.tangent, np.ones(np.shape(out.primal)))
    assert dd.derivative(lambda z: dd.sum(call(z)), 2.0) == np.size(call(np.float64(2.0)))


# --------------------------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------------------------

def test_sort_with_equal_keys_is_stable_and_follows_the_permutation():
    x = np.array([2.0, 1.0, 2.0, 1.0])
    t = np.array([10.0, 20.0, 30.0, 40.0])
    out = dd.sort(dd.Dual(x, t))
    np.testing.assert_array_equal(out.primal, [1.0, 1.0, 2.0, 2.0])
    # equal keys keep their input order: position 0 is x[1], position 1 is x[3], ...
    np.testing.assert_array_equal(out.tangent, [20.0, 40.0, 10.0, 30.0])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(dd.grad(lambda z: dd.sum(dd.sort(z) * w), x), [3.0, 1.0, 4.0, 2.0])


def test_sort_derivative_away_from_ties_matches_central_differences():
    x = RNG.normal(size=7)
    w = RNG.normal(size=7)
    g = dd.grad(lambda z: dd.sum(np.sort(z) ** 2 * w), x)
    h = 1e-6
    fd = [(np.sum(np.sort(x + h * e) ** 2 * w) - np.sum(np.sort(x - h * e) ** 2 * w)) / (2 * h)
          for e in np.eye(7)]
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)


def test_partition_puts_the_kth_element_in_place():
    x = np.array([5.0, -1.0, 3.0, 0.5, 2.0])
    out = np.partition(dd.Dual(x, np.arange(5.0)), 2)
    assert out.primal[2] == 2.0 and out.tangent[2] == 4.0  # 2.0 came from position 4
    assert np.all(out.primal[:2] <= 2.0) and np.all(out.primal[3:] >= 2.0)


def test_index_update_last_write_wins_for_repeated_indices():
    x = np.zeros(3)
    v = np.array([1.0, 2.0, 3.0])
    out = dd.index_update(dd.Dual(x, np.zeros(3)), np.array([0, 0, 2]), dd.Dual(v, np.array([10.0, 20.0, 30.0])))
    want = x.copy()
    want[[0, 0, 2]] = v
    np.testing.assert_array_equal(out.primal, want)
    np.testing.assert_array_equal(out.tangent, [20.0, 0.0, 30.0])  # v[0] was overwritten by v[1]
    g = dd.grad(lambda vv: dd.sum(dd.index_update(x, np.array([0, 0, 2]), vv)), v)
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])


# --------------------------------------------------------------------------------------------
# Index assignment into traced values
# --------------------------------------------------------------------------------------------

def _assigning(x):
    y = x * 1.0
    y[2:5] = x[:3] ** 2
    alias = y  # another name for the same value sees the update, as in numpy
    y[np.array([0, 0])] = np.array([10.0, 20.0]) * x[5]
    y[x.primal > 100] = 0.0  # a boolean mask from the values (selects nothing here)
    assert alias is y
    return dd.sum(alias * np.arange(1.0, 7.0)) + y[3] ** 3


def _assigning_numpy(x):
    y = x * 1.0
    y[2:5] = x[:3] ** 2
    y[np.array([0, 0])] = np.array([10.0, 20.0]) * x[5]
    y[x > 100] = 0.0
    return np.sum(y * np.arange(1.0, 7.0)) + y[3] ** 3


def test_index_assignment_into_a_traced_value_in_both_modes_and_nested():
    x = np.array([0.5, 1.5, 2.0, -1.0, 3.0, 0.25])
    fd = np.array([(_assigning_numpy(x + 1e-6 * e) - _assigning_numpy(x - 1e-6 * e)) / 2e-6 for e in np.eye(6)])
    np.testing.assert_allclose(dd.grad(_assigning, x), fd, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(dd.grad(_assigning, x, mode="forward"), fd, rtol=1e-7, atol=1e-8)
    H = dd.hessian(_assigning, x)
    h = 1e-5
    Hfd = np.array([(dd.grad(_assigning, x + h * e) - dd.grad(_assigning, x - h * e)) / (2 * h) for e in np.eye(6)])
    np.testing.assert_allclose(H, Hfd, rtol=1e-6, atol=1e-6)


def test_index_assignment_into_a_view_writes_into_its_source_as_numpy():
    def f(x):  # (x is alive: the caller holds it)
        y = x[1:4]
        y[0] = 0.0  # numpy writes into x as well
        return dd.sum(y) + dd.sum(x)
    x = np.ones(5)
    assert f(x.copy()) == 6.0  # numpy's own value: 2 + 4
    assert dd.value_and_grad(f, x)[0] == 6.0
    np.testing.assert_array_equal(dd.grad(f, x), [1.0, 0.0, 2.0, 2.0, 1.0])
    # a copy is a value of its own, and leaves x alone
    def g(x):
        y = x[1:4].copy()
        y[0] = 0.0
        return dd.sum(y) + dd.sum(x)
    np.testing.assert_array_equal(dd.grad(g, np.ones(5)), [1.0, 1.0, 2.0, 2.0, 1.0])


# ---- in-place operators: y op= v as numpy writes it -------------------------------------------
# Each program is plain numpy code; run on plain arrays it is the oracle for the value, and
# central differences of it for the gradient.
_W = np.arange(6.0).reshape(2, 3) / 4


def _alias_sees_the_write(x):
    y = x * 1.0
    a = y
    a += 1.0  # numpy changes y too
    return np.sum(y * x)


def _alias_in_a_list(x):
    y = x * 2.0
    kept = [y]
    y *= x
    return np.sum(kept[0] + x)


def _subscript_update(x):
    z = x * 1.0
    z[1:] *= x[0]
    z[0] += x[2] ** 2
    z[::2] -= np.sin(x[::2])
    z[1] /= 3.0
    z[-1] **= 2
    return np.sum(z * z)


def _softmax_in_place(x):
    e = np.exp(x)
    e /= e.sum()
    return e[0] + 2 * e[1]


def _view_of_a_temporary(x):
    h = (_W @ x[:, None]).T  # a view of a value nothing else holds
    h += 1.0
    h *= h
    h[0, 0] = 3.0 * x[0]  # and index assignment into it
    return np.sum(h)


def _input_updated(x):
    x *= 2.0  # numpy would change the caller's array; the derivative is d(2x)
    x -= np.cos(x)
    return np.sum(x ** 3)


def _matmul_and_floor(x):
    y = x.reshape(2, 2) * 1.0
    y @= np.array([[2.0, 1.0], [0.5, 3.0]])
    y //= 1.0e9  # no derivative: y becomes a plain 0
    return np.sum(y * x.reshape(2, 2)) + np.sum(x ** 2)


def _scalar_accumulator(x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] ** 2  # numpy's 0-d results are scalars: acc is rebound
    acc *= x[0]
    return acc


@pytest.mark.parametrize("f", [_alias_sees_the_write, _alias_in_a_list, _subscript_update,
                               _softmax_in_place, _view_of_a_temporary, _input_updated,
                               _matmul_and_floor, _scalar_accumulator],
                         ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_in_place_operators_follow_numpy(f, mode):
    x = np.array([0.5, 1.5, 2.0, -1.0]) if f is not _view_of_a_temporary else np.array([0.5, 1.5, 2.0])
    want = f(x.copy())
    fd = np.array([(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6 for e in np.eye(x.size)])
    value, g = dd.value_and_grad(f, x.copy(), mode=mode)
    assert float(value) == pytest.approx(want, rel=1e-13)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


def test_in_place_operators_compile_and_nest():
    x = np.array([0.5, 1.5, 2.0, -1.0])
    f = _subscript_update
    g = dd.grad(f, x)
    np.testing.assert_array_equal(dd.compile(lambda x: dd.grad(f, x))(x), g)
    h = 1e-5
    Hfd = np.array([(dd.grad(f, x + h * e) - dd.grad(f, x - h * e)) / (2 * h) for e in np.eye(4)])
    np.testing.assert_allclose(dd.hessian(f, x), Hfd, rtol=1e-6, atol=1e-6)


def test_in_place_operator_into_a_view_of_a_live_value_writes_into_it():
    def f(x):
        z = x * 1.0
        v = z[1:]
        v *= 2.0  # numpy writes into z as well
        return np.sum(z)
    assert f(np.ones(3)) == 5.0
    for mode in ("reverse", "forward"):
        np.testing.assert_array_equal(dd.grad(f, np.ones(3), mode=mode), [1.0, 2.0, 2.0])
    def g(x):
        z = x * 1.0
        v = z[1:]
        v[0] = 5.0
        return np.sum(z)
    assert g(np.ones(3)) == 7.0 and dd.compile(g)(np.ones(3)) == 7.0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_in_place_operators_keep_numpys_shape_and_dtype_rules(mode):
    def broadcasting(x):
        y = x * 1.0
        y += np.ones((2, 3))  # numpy: the output operand does not broadcast
        return np.sum(y)
    with pytest.raises(ValueError, match=r"non-broadcastable"):
        broadcasting(np.ones(3))
    with pytest.raises(ValueError, match=r"y \+= v writes the result into y.*shape \(3,\).*\(2, 3\)"):
        dd.grad(broadcasting, np.ones(3), mode=mode)

    def complex_into_real(x):
        y = x * 1.0
        y += 1j
        return np.sum(y.real)
    with pytest.raises(TypeError):
        complex_into_real(np.ones(3))
    with pytest.raises(TypeError, match=r"float64, but y \+ v is complex128.*same_kind"):
        dd.grad(complex_into_real, np.ones(3), mode=mode)

    def float32_kept(x):
        y = x * np.float32(1.0)
        y += np.full(3, 0.1)  # float64 written into float32 memory
        assert y.dtype == np.float32
        return np.sum(y * y)
    x = np.ones(3, np.float32)
    g = dd.grad(float32_kept, x, mode=mode)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * (1 + np.float32(0.1)), rtol=1e-6)


def test_in_place_operator_on_a_plain_array_says_what_to_write():
    def f(x):
        acc = np.zeros(3)
        acc += x * x
        return np.sum(acc)
    with pytest.raises(TypeError, match=r"a \+= v .* plain ndarray .* a = a \+ v"):
        dd.grad(f, np.ones(3))


def test_a_view_taken_before_an_assignment_follows_it_as_numpys():
    # y[1:] is numpy's view of y: it sees the write (tests/test_outside_views.py)
    def f(x):
        y = x.copy()
        tail = y[1:]
        y[1] = 100.0
        return tail
    np.testing.assert_array_equal(f(np.array([1.0, 2.0, 3.0])), [100.0, 3.0])
    out = f(dd.Dual(np.array([1.0, 2.0, 3.0]), np.ones(3)))
    np.testing.assert_array_equal(out.primal, [100.0, 3.0])
    np.testing.assert_array_equal(out.tangent, [0.0, 1.0])


def test_assigning_a_traced_value_into_a_plain_array_raises():
    x = dd.Dual(np.array([1.0, 2.0]), np.ones(2))
    y = np.zeros(3)
    with pytest.raises(TypeError, match="dd.stack"):
        y[0:2] = x
    # y[i] = traced scalar: numpy's C code refuses before dualdiff is asked (a traced value is a
    # sequence to it); it must still fail, never store a number without its derivative
    with pytest.raises((TypeError, ValueError)):
        y[0] = x[0]
    assert np.all(y == 0.0)


def test_building_arrays_from_traced_scalars():
    def f(x):
        with pytest.raises(TypeError, match="dd.stack"):
            np.array([x[0], x[1] ** 2])
        return dd.stack([x[0], x[1] ** 2, 3.0]) @ np.array([1.0, 1.0, 1.0]) + np.stack([x[0], 1.0])[1]
    x = np.array([2.0, 3.0])
    np.testing.assert_array_equal(dd.grad(f, x), [1.0, 6.0])
    np.testing.assert_array_equal(dd.grad(f, x, mode="forward"), [1.0, 6.0])


@pytest.mark.parametrize("cast", [np.int64, np.int32, np.float64, int, float, range])
def test_casts_to_numbers_name_primal(cast):
    x = dd.Dual(np.array([3.0, 1.0]), np.ones(2))
    with pytest.raises(TypeError, match=r"\.primal"):
        cast(x[0])
    assert int(x.primal[0]) == 3  # the documented way to get a number


# --------------------------------------------------------------------------------------------
# ndarray methods on Dual and Var
# --------------------------------------------------------------------------------------------

M = np.array([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]])

# (id, method call, numpy reference on the plain value, differentiable?)
METHODS = [
    ("astype-float32", lambda x: x.astype(np.float32), lambda m: m.astype(np.float32), True),
    ("astype-int", lambda x: x.astype(int), lambda m: m.astype(int), False),
    ("copy", lambda x: x.copy(), lambda m: m.copy(), True),
    ("squeeze", lambda x: x[:1].squeeze(), lambda m: m[:1].squeeze(), True),
    ("squeeze-axis", lambda x: x[:, :1].squeeze(axis=1), lambda m: m[:, :1].squeeze(axis=1), True),
    ("ravel", lambda x: x.ravel(), lambda m: m.ravel(), True),
    ("flatten", lambda x: x.flatten(), lambda m: m.flatten(), True),
    ("item-index", lambda x: x.item(4), lambda m: m.item(4), True),
    ("item-tuple", lambda x: x.item(1, 2), lambda m: m.item(1, 2), True),
    ("item-size-1", lambda x: x[1:, 2:].item(), lambda m: m[1:, 2:].item(), True),
    ("tolist", lambda x: dd.stack([dd.stack(r) for r in x.tolist()]), lambda m: np.array(m.tolist()), True),
    ("any", lambda x: x.any(axis=0), lambda m: m.any(axis=0), False),
    ("all", lambda x: x.all(), lambda m: m.all(), False),
    ("argmax", lambda x: x.argmax(axis=1), lambda m: m.argmax(axis=1), False),
    ("argmin", lambda x: x.argmin(), lambda m: m.argmin(), False),
    ("argsort", lambda x: x.argsort(axis=0), lambda m: m.argsort(axis=0), False),
    ("argpartition", lambda x: x.argpartition(1), lambda m: m.argpartition(1), False),
    ("nonzero", lambda x: x.nonzero(), lambda m: m.nonzero(), False),
    ("searchsorted", lambda x: x[0, :2].searchsorted(0.0), lambda m: m[0, :2].searchsorted(0.0), False),
    ("repeat", lambda x: x.repeat(2, axis=0), lambda m: m.repeat(2, axis=0), True),
    ("swapaxes", lambda x: x.swapaxes(0, 1), lambda m: m.swapaxes(0, 1), True),
    ("diagonal", lambda x: x.diagonal(1), lambda m: m.diagonal(1), True),
    ("take", lambda x: x.take([0, 5]), lambda m: m.take([0, 5]), True),
    ("sort-in-place", lambda x: _in_place(x, "sort"), lambda m: _in_place(m, "sort"), True),
    ("partition-in-place", lambda x: _in_place(x, "partition", 1)[:, 1],
     lambda m: _in_place(m, "partition", 1)[:, 1], True),
    ("ndim", lambda x: x.ndim, lambda m: m.ndim, False),
    ("size", lambda x: x.size, lambda m: m.size, False),
    ("dtype", lambda x: x.dtype, lambda m: m.dtype, False),
    ("len", len, len, False),
]


def _in_place(x, method, *args):
    y = x.copy()
    assert getattr(y, method)(*args) is None
    return y


def _check_method(call, ref, differentiable, x):
    got = call(x)
    want = ref(M.copy())
    if differentiable:
        assert isinstance(got, (dd.Dual, dd.Var)), f"{got!r} lost its derivative"
        np.testing.assert_array_equal(dd.stop_gradient(got), want)
    elif isinstance(want, tuple):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    else:
        assert not isinstance(got, (dd.Dual, dd.Var))
        np.testing.assert_array_equal(got, want)
    return got


@pytest.mark.parametrize("name, call, ref, differentiable", METHODS, ids=[m[0] for m in METHODS])
def test_method_on_dual_and_var(name, call, ref, differentiable):
    _check_method(call, ref, differentiable, dd.Dual(M, np.ones((3,) + M.shape)))

    def f(x):
        out = _check_method(call, ref, differentiable, x)
        return dd.sum(out) if differentiable else dd.sum(x)
    g = dd.grad(f, M)
    if differentiable:  # the reverse derivative of sum(method(x)) is numpy's, by differences
        h = 1e-3  # every method here is linear near M (sort: no ties within 2h), float32 too
        fd = np.array([(np.sum(ref(M + h * e.reshape(M.shape))) - np.sum(ref(M - h * e.reshape(M.shape)))) / (2 * h)
                       for e in np.eye(M.size)]).reshape(M.shape)
        np.testing.assert_allclose(g, fd, atol=1e-3)


def test_float32_astype_round_trip_keeps_dtypes():
    g = dd.grad(lambda x: dd.sum(x.astype(np.float32) ** 2), np.array([1.0, 2.0]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, [2.0, 4.0])
    with pytest.raises(TypeError, match="floating"):
        dd.Dual(np.ones(2), np.ones(2)).astype(np.complex128)


def test_argument_errors_are_dualdiffs():
    x = dd.Dual(np.ones(4), np.ones(4))
    with pytest.raises(TypeError, match="integers"):
        dd.take(x, [0.5])
    with pytest.raises(TypeError, match="mode 'empty' is not supported.*use 'constant'"):
        np.pad(x, 1, mode="empty")
    with pytest.raises(ValueError, match="equal division"):
        np.split(x, 3)
    with pytest.raises(ValueError, match="invalid entry"):
        np.choose(np.array([0, 2, 0, 0]), [x, x])
    with pytest.raises(TypeError, match="out="):
        np.take(x, [0], out=np.empty(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if hasattr(np, "row_stack"):
            assert np.row_stack([x, x]).shape == (2, 4)


# --------------------------------------------------------------------------------------------
# Random compositions of the new functions, against complex step and between the modes
# --------------------------------------------------------------------------------------------

# (name, dualdiff op, numpy op): each maps a 2-d array to a 2-d array (complex-safe in numpy)
CHAIN_OPS = [
    ("flip0", lambda x: dd.flip(x, 0), lambda x: np.flip(x, 0)),
    ("roll", lambda x: np.roll(x, 1, axis=1), lambda x: np.roll(x, 1, axis=1)),
    ("rot90", np.rot90, np.rot90), ("T", lambda x: x.T, lambda x: x.T),
    ("tril", np.tril, np.tril), ("triu1", lambda x: dd.triu(x, 1) + x, lambda x: np.triu(x, 1) + x),
    ("sort1", lambda x: np.sort(x, axis=1),
     lambda x: np.take_along_axis(x, np.argsort(x.real, axis=1, kind="stable"), 1)),
    ("pad-reflect", lambda x: np.pad(x, 1, mode="reflect"), lambda x: np.pad(x, 1, mode="reflect")),
    ("vstack", lambda x: np.vstack([x, x[::-1] * 2.0]), lambda x: np.vstack([x, x[::-1] * 2.0])),
    ("repeat", lambda x: x.repeat(2, axis=0)[1:], lambda x: x.repeat(2, axis=0)[1:]),
    ("tile", lambda x: np.tile(x, (1, 2)), lambda x: np.tile(x, (1, 2))),
    ("update", lambda x: _chain_update(x), lambda x: _chain_update(x)),
    ("moveaxis", lambda x: np.moveaxis(x, 0, 1), lambda x: np.moveaxis(x, 0, 1)),
]


def _chain_update(x):
    y = x * 1.0 if not isinstance(x, np.ndarray) else x.copy()
    y[0] = y[-1] ** 2
    return y


@pytest.mark.parametrize("seed", range(12))
def test_random_compositions_against_complex_step_and_between_modes(seed):
    rng = np.random.default_rng(seed)
    ops = [CHAIN_OPS[i] for i in rng.choice(len(CHAIN_OPS), size=3)]
    x = rng.normal(size=(3, 4))

    def f_dd(z):
        for _, op, _ in ops:
            z = op(z)
        shape = np.shape(dd.stop_gradient(z))
        return np.sum(np.sin(z) * np.cos(np.arange(np.prod(shape)).reshape(shape)))

    def f_np(z):
        for _, _, op in ops:
            z = op(z)
        return np.sum(np.sin(z) * np.cos(np.arange(z.size).reshape(z.shape)))

    names = [n for n, _, _ in ops]
    h = 1e-30
    oracle = np.array([np.imag(f_np(x + 1j * h * e.reshape(x.shape))) / h for e in np.eye(x.size)])
    np.testing.assert_allclose(dd.grad(f_dd, x).ravel(), oracle, rtol=1e-10, atol=1e-12,
                               err_msg=str(names))
    np.testing.assert_allclose(dd.grad(f_dd, x, mode="forward").ravel(), oracle, rtol=1e-10,
                               atol=1e-12, err_msg=str(names))
    v = rng.normal(size=x.shape)
    _, Jv = dd.jvp(f_dd, x, v)
    np.testing.assert_allclose(Jv, oracle @ v.ravel(), rtol=1e-10, atol=1e-12, err_msg=str(names))


# ---- reshape and ravel in numpy's orders -------------------------------------------------------
# Each layout is made from the base array b by the same code in numpy and under dualdiff, so the
# traced value has numpy's strides; 'A' and 'K' read them. The oracle of each linear map is
# numpy's own: its value, and (exactly, the map being linear) central differences.
_LAYOUTS = {
    "C": lambda b: b,
    "T": lambda b: b.T,
    "transposed": lambda b: b.transpose(1, 0, 2),
    "sliced": lambda b: b[:, ::2, 1:],
    "reversed": lambda b: b[::-1, :, ::-2],
    "T-reversed": lambda b: b.T[::-1],
    "mixed": lambda b: b.transpose(2, 0, 1)[::2, ::-1],
}


@pytest.mark.parametrize("layout", list(_LAYOUTS))
@pytest.mark.parametrize("how, order", [(how, order) for how in ("method", "np.ravel", "flatten")
                                        for order in "CFAK"]
                         + [(how, order) for how in ("reshape", "np.reshape") for order in "CFA"])
def test_reshape_and_ravel_orders_follow_numpy(layout, order, how):
    view = _LAYOUTS[layout]
    w = np.cos(np.arange(view(np.empty((2, 3, 4))).size))

    def flat(v):
        if how == "method":
            return v.ravel(order)
        if how == "np.ravel":
            return np.ravel(v, order=order)
        if how == "flatten":
            return v.flatten(order)
        if how == "reshape":
            return v.reshape(-1, 4, order=order).ravel()
        return np.reshape(v, (4, -1), order=order).ravel()

    def f(b):
        return np.sum(w * flat(view(b)) ** 2)

    b = np.arange(1.0, 25.0).reshape(2, 3, 4) / 7
    value, g = dd.value_and_grad(f, b)
    assert float(value) == pytest.approx(f(b), rel=1e-15)
    fd = np.array([(f(b + 1e-6 * e) - f(b - 1e-6 * e)) / 2e-6
                   for e in np.eye(24).reshape(24, 2, 3, 4)]).reshape(b.shape)
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    np.testing.assert_array_equal(dd.grad(f, b, mode="forward"), g)


def test_orders_numpy_refuses_or_we_cannot_follow():
    x = dd.Dual(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="order must be one of"):
        x.ravel("X")
    with pytest.raises(ValueError, match="order='K' is not allowed"):
        np.reshape(x, (3, 2), order="K")
    # a stride-0 axis, where numpy's 'K' order is its iterator's choice
    b = dd.Dual(np.broadcast_to(np.arange(3.0), (4, 3))[::2].T, np.ones((3, 2)))
    with pytest.raises(ValueError, match="stride-0"):
        b.ravel("K")


# ---- selections numpy spells several ways: take's modes, compress, extract ------------------------
_SELECTIONS = {
    "take-wrap": lambda x: np.take(x, [13, -1, 3, -9], mode="wrap"),
    "take-clip-axis": lambda x: np.take(x.reshape(2, 4), [13, -1, 2], axis=1, mode="clip"),
    "compress-axis": lambda x: np.compress([True, False, True], x.reshape(2, 4), axis=1),
    "compress-flat-short-condition": lambda x: np.compress([0, 1, 1], x),
    "extract": lambda x: np.extract(x.reshape(2, 4) > 0.2, x.reshape(2, 4)),
    "nanargmax-nanargmin": lambda x: x[[np.nanargmax(x), np.nanargmin(x)]],
    "digitize": lambda x: x[np.digitize([0.2, 0.5], np.sort(x))],
    "unique": lambda x: np.unique(x),
    "unique-rows": lambda x: np.unique(x.reshape(4, 2), axis=0),
    "unique-with-counts": lambda x: np.unique(x, return_counts=True)[0],
}


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("name", list(_SELECTIONS))
def test_selections_follow_numpy_and_send_the_derivative_back(name, mode):
    f = _SELECTIONS[name]
    x = np.array([0.3, -0.4, 0.9, 0.1, 0.6, -0.2, 0.45, 0.05])
    np.testing.assert_array_equal(f(dd.Dual(x, np.ones(8))).primal, f(x))
    # central differences are exact here: each output is one input (x is far from every tie)
    fd = np.stack([(f(x + 1e-3 * e) - f(x - 1e-3 * e)) / 2e-3 for e in np.eye(8)], axis=-1)
    np.testing.assert_allclose(dd.jacobian(f, x, mode=mode), fd, rtol=0, atol=1e-12)


def test_unique_gives_each_value_the_derivative_of_its_first_occurrence():
    x = np.array([3.0, 1.0, 2.0, 1.0, 3.0, 0.5])
    values, first, inverse, counts = np.unique(dd.Dual(x, np.arange(6.0)), return_index=True,
                                               return_inverse=True, return_counts=True)
    want = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.primal, want[0])
    for got, expected in zip((first, inverse, counts), want[1:]):
        assert type(got) is np.ndarray and np.array_equal(got, expected)
    # the tangent of each unique value is that of its first occurrence: positions 5, 1, 2, 0
    np.testing.assert_array_equal(values.tangent, [5.0, 1.0, 2.0, 0.0])
    np.testing.assert_array_equal(dd.grad(lambda x: np.sum(np.unique(x) ** 2), x),
                                  [6.0, 2.0, 4.0, 0.0, 0.0, 1.0])


def test_take_modes_refuse_what_numpy_refuses():
    x = dd.Dual(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="mode must be"):
        np.take(x, [0], mode="nearest")
    with pytest.raises(IndexError):
        np.take(x[:0], [1], mode="wrap")
    with pytest.raises(IndexError):
        np.take(x, [3])
