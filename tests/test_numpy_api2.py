"""numpy 2's newer functions on traced values: np.cumulative_sum / np.cumulative_prod (2.1,
include_initial), np.matvec / np.vecmat (2.2) and np.vecdot / np.linalg.vecdot (which, like
vecmat, conjugate their first argument), and np.block (nested lists of traced and plain blocks).

Values are compared with numpy's own call bit for bit, derivatives with complex step (all of
these are complex-analytic once the conjugate is split off) or central differences of the real
and imaginary parts, forward against reverse by the dot-product test, second order with
dd.hessian against differences of the complex-step gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from oracles import central_difference_jacobian, complex_step_jacobian, hessian_by_differences

RNG = np.random.default_rng(20261130)

needs_2_1 = pytest.mark.skipif(not hasattr(np, "cumulative_sum"), reason="numpy < 2.1")
needs_2_2 = pytest.mark.skipif(not hasattr(np, "matvec"), reason="numpy < 2.2")


def both_modes(f, x):
    return dd.jacobian(f, x), dd.jacobian(f, x, mode="reverse")


def check_dot_product(f, x):
    """u·(J v) == (uᵀJ)·v between dd.jvp and dd.vjp, for a random v and u."""
    v = RNG.normal(size=np.shape(x))
    y, Jv = dd.jvp(f, x, v)
    u = RNG.normal(size=np.shape(y))
    uJ = dd.vjp(f, x)[1](u)
    lhs, rhs = float(np.sum(u * Jv)), float(np.sum(uJ * v))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(rhs))


# --------------------------------------------------------------------------------------------
# np.cumulative_sum, np.cumulative_prod
# --------------------------------------------------------------------------------------------

CUMULATIVE = [  # shape, keyword arguments
    ((), {}), ((), {"include_initial": True}), ((5,), {}), ((5,), {"include_initial": True}),
    ((3, 4), {"axis": 0}), ((3, 4), {"axis": -1, "include_initial": True}),
    ((2, 3, 2), {"axis": 1, "include_initial": True}), ((0, 3), {"axis": 0, "include_initial": True}),
    ((2, 0), {"axis": 1}),
]


@needs_2_1
@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
@pytest.mark.parametrize("shape,kw", CUMULATIVE, ids=[f"{s}-{sorted(k.items())}" for s, k in CUMULATIVE])
def test_cumulative_values_and_derivatives(name, shape, kw):
    fn = getattr(np, name)
    x = RNG.uniform(-2, 2, size=shape)
    got = fn(dd.Dual(x), **kw).primal
    np.testing.assert_array_equal(got, fn(x, **kw))
    assert got.shape == fn(x, **kw).shape and got.dtype == np.float64
    ref = complex_step_jacobian(lambda z: fn(z, **kw), x)
    for J in both_modes(lambda z: fn(z, **kw), x):
        np.testing.assert_allclose(J, ref, rtol=1e-13, atol=1e-15)
    if x.size:
        check_dot_product(lambda z: fn(z, **kw), x)


@needs_2_1
def test_cumulative_prod_is_exact_at_zeros_to_second_order():
    x = np.array([1.5, 0.0, -2.0, 0.0, 0.5])
    f = lambda z: np.sum(np.cumulative_prod(z, include_initial=True) ** 2)  # noqa: E731
    H_ref = hessian_by_differences(f, x)
    np.testing.assert_allclose(dd.hessian(f, x), H_ref, rtol=1e-6, atol=1e-7)
    for J in both_modes(lambda z: np.cumulative_prod(z, include_initial=True), x):
        np.testing.assert_allclose(J, complex_step_jacobian(
            lambda z: np.cumulative_prod(z, include_initial=True), x), rtol=1e-14, atol=0)


@needs_2_1
def test_cumulative_sum_second_order_and_float32():
    x = RNG.normal(size=(2, 3))
    f = lambda z: np.sum(np.sin(np.cumulative_sum(z, axis=1, include_initial=True)) ** 2)  # noqa: E731
    np.testing.assert_allclose(dd.hessian(f, x), hessian_by_differences(f, x), rtol=1e-6, atol=1e-7)
    x32 = x.astype(np.float32)
    for name in ("cumulative_sum", "cumulative_prod"):
        fn = getattr(np, name)
        got = fn(dd.Dual(x32), axis=0, include_initial=True).primal
        np.testing.assert_array_equal(got, fn(x32, axis=0, include_initial=True))
        assert got.dtype == np.float32
        assert dd.grad(lambda z: np.sum(fn(z, axis=1)), x32, mode="reverse").dtype == np.float32
    # dtype= widens, as numpy accumulates
    assert np.cumulative_sum(dd.Dual(x32), axis=0, dtype=np.float64).primal.dtype == np.float64


@needs_2_1
def test_cumulative_errors_are_numpys_or_say_what_to_do():
    d = dd.Dual(RNG.normal(size=(2, 3)))
    for fn in (np.cumulative_sum, np.cumulative_prod):
        with pytest.raises(ValueError, match="``axis`` argument is required"):
            fn(d)
        with pytest.raises(ValueError, match="``axis`` argument is required"):
            fn(d.primal)
        with pytest.raises(TypeError, match="out="):
            fn(d, axis=0, out=np.zeros((2, 3)))
        with pytest.raises(TypeError, match="only a floating dtype keeps the derivative"):
            fn(d, axis=0, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# np.matvec, np.vecmat, np.vecdot, np.linalg.vecdot
# --------------------------------------------------------------------------------------------

PRODUCTS = [  # name, shapes of the two arguments
    ("matvec", (3, 4), (4,)), ("matvec", (2, 3, 4), (4,)), ("matvec", (3, 4), (2, 4)),
    ("matvec", (1, 3, 2), (2, 1, 2)), ("vecmat", (3,), (3, 4)), ("vecmat", (2, 3), (3, 4)),
    ("vecmat", (3,), (2, 3, 4)), ("vecdot", (4,), (4,)), ("vecdot", (2, 4), (4,)),
    ("vecdot", (3, 1, 4), (2, 4)),
]
PRODUCT_IDS = [f"{n}-{a}-{b}" for n, a, b in PRODUCTS]
EINSUM = {"matvec": "...ij,...j->...i", "vecmat": "...i,...ij->...j", "vecdot": "...i,...i->..."}


def _complex(shape):
    return RNG.normal(size=shape) + 1j * RNG.normal(size=shape)


@needs_2_2
@pytest.mark.parametrize("name,sa,sb", PRODUCTS, ids=PRODUCT_IDS)
@pytest.mark.parametrize("kind", ["float64", "float32", "complex128"])
def test_products_are_numpys_bit_for_bit(name, sa, sb, kind):
    fn = getattr(np, name)
    if kind == "complex128":
        a, b = _complex(sa), _complex(sb)
    else:
        a, b = RNG.normal(size=sa).astype(kind), RNG.normal(size=sb).astype(kind)
    expected = fn(a, b)
    for got in (fn(dd.Dual(a), b).primal, fn(a, dd.Dual(b)).primal,
                fn(dd.Dual(a), dd.Dual(b)).primal, dd.vjp(lambda p: fn(p[0], p[1]), (a, b))[0]):
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype and got.shape == expected.shape


@needs_2_2
@pytest.mark.parametrize("name,sa,sb", PRODUCTS, ids=PRODUCT_IDS)
def test_product_derivatives_against_complex_step_in_both_modes(name, sa, sb):
    fn = getattr(np, name)
    a, b = RNG.normal(size=sa), RNG.normal(size=sb)
    # for real arguments the conjugate is the identity: einsum is the analytic reference
    ref_a = complex_step_jacobian(lambda z: np.einsum(EINSUM[name], z, b), a)
    ref_b = complex_step_jacobian(lambda z: np.einsum(EINSUM[name], a, z), b)
    for J in both_modes(lambda z: fn(z, b), a):
        np.testing.assert_allclose(J, ref_a, rtol=1e-13, atol=1e-15)
    for J in both_modes(lambda z: fn(a, z), b):
        np.testing.assert_allclose(J, ref_b, rtol=1e-13, atol=1e-15)
    both = lambda p: fn(p[:a.size].reshape(sa), p[a.size:].reshape(sb))  # noqa: E731
    check_dot_product(both, np.concatenate([a.ravel(), b.ravel()]))


@needs_2_2
@pytest.mark.parametrize("name", ["vecmat", "vecdot", "linalg.vecdot"])
def test_the_first_argument_is_conjugated_in_value_and_derivative(name):
    fn = np.linalg.vecdot if name == "linalg.vecdot" else getattr(np, name)
    sa, sb = ((3,), (3, 2)) if name == "vecmat" else ((2, 3), (3,))
    a, b = _complex(sa), _complex(sb)
    np.testing.assert_array_equal(fn(dd.Dual(a), b).primal, fn(a, b))
    assert not np.allclose(fn(a, b), np.einsum(EINSUM[name.split(".")[-1]], a, b))

    def parts(re_im):  # real and imaginary parts of the result, of those of the first argument
        z = re_im[0] + 1j * re_im[1]
        y = fn(z, b)
        return np.stack([np.real(y), np.imag(y)])

    x = np.stack([a.real, a.imag])
    ref = central_difference_jacobian(parts, x)
    for J in both_modes(parts, x):
        np.testing.assert_allclose(J, ref, rtol=1e-8, atol=1e-9)


@needs_2_2
def test_linalg_vecdot_along_another_axis():
    a, b = _complex((3, 2)), _complex((3, 1))
    got = np.linalg.vecdot(dd.Dual(a), b, axis=0)
    np.testing.assert_array_equal(got.primal, np.linalg.vecdot(a, b, axis=0))
    x = RNG.normal(size=(3, 2))
    for J in both_modes(lambda z: np.linalg.vecdot(z, b.real, axis=0), x):
        np.testing.assert_allclose(J, complex_step_jacobian(
            lambda z: np.einsum("ij,ij->j", z, np.broadcast_to(b.real, (3, 2))), x), rtol=1e-14)


@needs_2_2
def test_a_quadratic_form_to_second_order():
    # f(x) = xᵀ M x: gradient (M + Mᵀ) x, Hessian M + Mᵀ (closed forms)
    M = RNG.normal(size=(4, 4))
    x = RNG.normal(size=4)
    for f in (lambda z: np.vecdot(z, np.matvec(M, z)), lambda z: np.vecdot(np.vecmat(z, M), z)):
        for mode in ("forward", "reverse"):
            np.testing.assert_allclose(dd.grad(f, x, mode=mode), (M + M.T) @ x, rtol=1e-13)
        np.testing.assert_allclose(dd.hessian(f, x), M + M.T, rtol=1e-13)


@needs_2_2
def test_products_with_empty_and_float32_arguments():
    for name, sa, sb in [("matvec", (2, 0), (0,)), ("matvec", (0, 3), (3,)),
                         ("vecmat", (0,), (0, 2)), ("vecdot", (0,), (0,))]:
        fn = getattr(np, name)
        a, b = RNG.normal(size=sa), RNG.normal(size=sb)
        np.testing.assert_array_equal(fn(dd.Dual(a), b).primal, fn(a, b))
        for J in both_modes(lambda z: fn(z, b), a):
            assert J.shape == np.shape(fn(a, b)) + sa and not J.any()
    A = RNG.normal(size=(3, 2)).astype(np.float32)
    v = RNG.normal(size=2).astype(np.float32)
    for mode in ("forward", "reverse"):
        assert dd.grad(lambda z: np.sum(np.matvec(z, v)), A, mode=mode).dtype == np.float32


@needs_2_2
def test_product_errors():
    d = dd.Dual(RNG.normal(size=3))
    with pytest.raises(ValueError, match="does not have enough dimensions"):
        np.matvec(d, np.ones(3))
    with pytest.raises(ValueError):
        np.matvec(np.ones(3), np.ones(3))  # numpy too
    with pytest.raises(ValueError):  # mismatched core dimensions: numpy's error
        np.matvec(np.ones((2, 4)), d)
    # axes= works now (test_gufunc_axes_axis_and_keepdims_follow_numpy); a wrong one is refused
    with pytest.raises(ValueError, match="one tuple per operand"):
        np.vecdot(d, d, axes=[0, (0, 1), ()])


# --------------------------------------------------------------------------------------------
# np.block
# --------------------------------------------------------------------------------------------

def _blocks(x):
    """Nested lists of traced (x's pieces), plain arrays and numbers, as np.block takes them."""
    return [
        ("2x2", lambda z: [[z[:4].reshape(2, 2), np.ones((2, 1))], [z[4:7].reshape(1, 3)]]),
        ("1-d", lambda z: [z[:2], 1.5, np.array([2.0, 3.0]), z[2:5]]),
        ("leading-axes", lambda z: [[z[:3]], [np.zeros((2, 3))]]),
        ("3-d", lambda z: [[[z[:2].reshape(1, 1, 2), z[2:4].reshape(1, 1, 2)]],
                           [[np.ones((1, 1, 2)), z[4:6].reshape(1, 1, 2)]]]),
        ("empty-block", lambda z: [[z[:4].reshape(2, 2), np.zeros((2, 0))]]),
        ("one-block", lambda z: z[:6].reshape(2, 3)),
    ]


@pytest.mark.parametrize("cid,layout", _blocks(None), ids=[c for c, _ in _blocks(None)])
def test_block_values_and_derivatives(cid, layout):
    x = RNG.normal(size=7)
    f = lambda z: np.block(layout(z))  # noqa: E731
    np.testing.assert_array_equal(f(dd.Dual(x)).primal, np.block(layout(x)))
    ref = complex_step_jacobian(lambda z: np.block(layout(z)), x)
    for J in both_modes(f, x):
        np.testing.assert_array_equal(J, ref)  # a linear map that moves elements: exact
    check_dot_product(f, x)


def test_block_second_order_float32_and_scalars():
    x = RNG.normal(size=7)
    f = lambda z: np.sum(np.block([[z[:4].reshape(2, 2), z[4:6, None]], [z[6:], 1.0, 2.0]]) ** 3)  # noqa: E731
    np.testing.assert_allclose(dd.hessian(f, x), hessian_by_differences(f, x), rtol=1e-6, atol=1e-6)
    x32 = x.astype(np.float32)
    got = np.block([[x32[:2]], [x32[2:4]]])
    assert np.block([[dd.Dual(x32[:2])], [x32[2:4]]]).primal.dtype == got.dtype == np.float32
    s = np.block([[dd.Dual(np.float64(1.0)), 2.0]])
    np.testing.assert_array_equal(s.primal, [[1.0, 2.0]])


def test_block_errors_are_numpys():
    d = dd.Dual(np.ones((2, 2)))
    for bad, err, match in [
        (lambda z: np.block([[z], z]), ValueError, "List depths are mismatched"),
        (lambda z: np.block((z, z)), TypeError, "tuple"),
        (lambda z: np.block([[z, np.ones((3, 3))]]), ValueError, "dimensions"),
        (lambda z: np.block([[z], []]), ValueError, "cannot be empty"),
    ]:
        with pytest.raises(err, match=match):
            bad(d)
        with pytest.raises(err, match=match):
            bad(d.primal)


# --------------------------------------------------------------------------------------------
# a generalized ufunc's axes=, axis= and keepdims= (np.matmul, np.vecdot, np.matvec, np.vecmat)
# --------------------------------------------------------------------------------------------

_X, _Y = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 3, 4))
GUFUNC_KEYWORDS = [  # (call of a and a plain b, a, b)
    (lambda a, b: np.matmul(a, b, axes=[(1, 2), (2, 1), (0, 1)]), _X, _Y),
    (lambda a, b: np.matmul(a, b, axes=[(-2, -1), (-1, -2), (-2, -1)]), _X, _Y),
    (lambda a, b: np.vecdot(a, b, axis=1), _X, _Y),
    (lambda a, b: np.vecdot(a, b, axis=0, keepdims=True), _X, _Y),
    (lambda a, b: np.vecdot(a, b, axis=-1, keepdims=True), _X, _Y),
    (lambda a, b: np.vecdot(a, b, axes=[1, 1]), _X, _Y),
    (lambda a, b: np.vecdot(a, b, axes=[(0,), (0,), ()]), _X, _Y),
    (lambda a, b: np.vecdot(a * (1 - 0.5j), b, axis=1), _X, _Y),
    (lambda a, b: np.matvec(a, b, axes=[(1, 2), (0,), (0,)]), _X, RNG.normal(size=(4, 2))),
    (lambda a, b: np.vecmat(a, b, axes=[(0,), (1, 2), (0,)]), RNG.normal(size=(3, 2)), _X),
]


@needs_2_2
@pytest.mark.parametrize("k", range(len(GUFUNC_KEYWORDS)))
def test_gufunc_axes_axis_and_keepdims_follow_numpy(k):
    f, a, b = GUFUNC_KEYWORDS[k]
    want = f(a, b)
    got = f(dd.Dual(a, np.ones_like(a)), b).primal
    assert got.shape == want.shape and np.array_equal(got, want)  # numpy's loops, moved axes
    g = lambda z: np.real(f(z, b))  # noqa: E731
    forward, reverse = both_modes(g, a)
    np.testing.assert_allclose(forward, central_difference_jacobian(g, a), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(reverse, forward, rtol=1e-13, atol=1e-14)
    check_dot_product(g, a)
    compiled = dd.compile(lambda z: dd.jacobian(g, z, mode="reverse"))
    np.testing.assert_array_equal(compiled(a), reverse)


@needs_2_2
def test_gufunc_keyword_errors_are_numpys():
    a = dd.Dual(_X, np.ones_like(_X))
    with pytest.raises(TypeError, match="cannot specify both 'axis' and 'axes'"):
        np.vecdot(a, _Y, axis=1, axes=[1, 1])
    with pytest.raises(TypeError, match="axis can only be used with a single shared core"):
        np.matmul(a, _Y, axis=1)
    with pytest.raises(TypeError, match="keepdims can only be used"):
        np.matmul(a, _Y, keepdims=True)
    with pytest.raises(ValueError, match="one tuple per operand"):
        np.vecdot(a, _Y, axes=[(1, 2), (1,)])
    with pytest.raises(TypeError, match="with signature= is not supported"):
        np.vecdot(a, _Y, signature="(n),(n)->()")


@needs_2_2
def test_gufunc_axes_entries_numpy_requires():
    a = dd.Dual(_X[:, :, :3], np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="entries for outputs can only be omitted"):
        np.matmul(a, _X[:, :, :3], axes=[(1, 2), (1, 2)])
    with pytest.raises(ValueError):  # numpy too
        np.matmul(_X[:, :, :3], _X[:, :, :3], axes=[(1, 2), (1, 2)])
    with pytest.raises(ValueError, match="give a vector its unit axis"):
        np.matmul(dd.Dual(np.ones(3), np.ones(3)), np.ones((2, 3, 3)), axes=[(0,), (1, 2), (0,)])


@pytest.mark.parametrize("args, kw", [
    ((0.1, 2.5, 7), {}), ((1.0, 3.0, 5), {"endpoint": False, "base": 2.0}),
    ((np.array([0.0, 1.0]), np.array([2.0, 3.0]), 4), {"axis": 1}),
    ((np.array([0.0, 1.0]), 2.0, 4), {"base": np.array([2.0, 3.0])}),
    ((0.0, 1.0, 4), {"dtype": np.float32}), ((np.float32(0.5), np.float32(1.5), 4), {}),
    ((np.array([0.0, 1.0]), np.array([2.0, 3.0]), 3), {"base": np.array([2.0, 3.0]), "axis": -1}),
    ((0.0, 1.0, 0), {}), ((0.0, 1.0, 1), {}),
])
def test_logspace_is_numpys_and_differentiates_in_start_stop_and_base(args, kw):
    want = np.logspace(*args, **kw)
    start = np.asarray(args[0])
    got = np.logspace(dd.Dual(start, np.ones_like(start)), *args[1:], **kw).primal
    assert got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want)


def test_logspace_derivatives_against_closed_form_and_differences():
    # y_k = base ** (s + k (e - s) / (n - 1)): dy/ds = ln(base) y (1 - k/(n-1)), dy/de = ln(base) y k/(n-1)
    n, s, e, b = 5, 0.2, 1.3, 3.0
    k = np.arange(n) / (n - 1)
    y = b ** (s + k * (e - s))
    J = dd.jacobian(lambda z: np.logspace(z[0], z[1], n, base=z[2]), np.array([s, e, b]))
    np.testing.assert_allclose(J[:, 0], np.log(b) * y * (1 - k), rtol=1e-13)
    np.testing.assert_allclose(J[:, 1], np.log(b) * y * k, rtol=1e-13)
    np.testing.assert_allclose(J[:, 2], (s + k * (e - s)) * y / b, rtol=1e-13)
    f = lambda z: np.sum(np.logspace(z[0], z[1], n, base=z[2]) ** 2)  # noqa: E731
    z = np.array([s, e, b])
    check_dot_product(lambda z: np.logspace(z[0], z[1], n, base=z[2]), z)
    np.testing.assert_allclose(dd.hessian(f, z), hessian_by_differences(f, z), rtol=1e-5)
    np.testing.assert_array_equal(dd.compile(lambda z: dd.grad(f, z))(z), dd.grad(f, z))
