"""Large-array paths: the blocked product rule (forward mode) and cotangents the sweep owns.

Each path must give exactly the bits of the general path it stands in for (checked by turning
the path off and comparing), match an independent oracle (closed form, complex step), keep
float32 as float32, and leave every other case to the general path.
"""

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import tape
from dualdiff.rules import partials

# Above the blocked rule's threshold (4 blocks of 128 KiB), with a last block that is not full.
N = 4 * (partials._BLOCK_BYTES // 8) + 4099


def data(n=N, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 1.0, n).astype(dtype), rng.uniform(-1.0, 1.0, n).astype(dtype)


@pytest.fixture
def general_products(monkeypatch):
    """The plain product rule everywhere: the general path the blocked one must reproduce."""
    def off():
        monkeypatch.setattr(partials, "_FUSE_MIN_BYTES", float("inf"))
    return off


@pytest.fixture
def general_sweep(monkeypatch):
    """No owned cotangents: every adjoint allocates its result, as the general rule does."""
    def off():
        for prim in dd.PRIMITIVES.values():
            monkeypatch.setattr(prim, "vjp_owning", None)
    return off


# -- the blocked product rule -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [N, 5 * (partials._BLOCK_BYTES // 8)])
def test_product_rule_blocked_is_the_plain_rule_bit_for_bit(dtype, n, general_products):
    x, v = data(n, dtype)
    f = lambda x: np.sin(x) * np.exp(x)  # noqa: E731  (a product of two traced values)
    y, t = dd.jvp(f, x, v)
    assert t.dtype == dtype and y.dtype == dtype
    # what forward mode computes, one tangent per operation, written out in numpy
    s, e = np.sin(x), np.exp(x)
    np.testing.assert_array_equal(t, e * (np.cos(x) * v) + s * (e * v))
    general_products()
    y2, t2 = dd.jvp(f, x, v)
    np.testing.assert_array_equal(t, t2)
    np.testing.assert_array_equal(y, y2)


def test_product_rule_blocked_matches_the_complex_step():
    x, v = data()
    f = lambda x: np.sin(x) * np.exp(x) / (1.0 + x)  # noqa: E731  (a product and a quotient)
    _, t = dd.jvp(f, x, v)
    h = 1e-30
    np.testing.assert_allclose(t, np.imag(f(x + 1j * h * v)) / h, rtol=1e-13, atol=1e-15)


def test_quotient_rule_blocked_is_the_plain_rule_bit_for_bit(general_products):
    x, v = data()
    b = 1.0 + x * x
    y, t = dd.jvp(lambda z: z / (1.0 + z * z), x, v)
    ta, tb = v, (x * v + x * v)
    np.testing.assert_array_equal(t, (1.0 / b) * ta + (-(y / b)) * tb)
    general_products()
    np.testing.assert_array_equal(t, dd.jvp(lambda z: z / (1.0 + z * z), x, v)[1])


@pytest.mark.parametrize("case", ["chunked", "mixed dtypes", "broadcast", "small", "0-d", "empty",
                                  "strided"])
def test_product_rule_cases_it_does_not_take_are_the_plain_rule(case, general_products):
    x, v = data()
    if case == "chunked":
        V = np.stack([v, -v])
        run = lambda: dd.Dual(x, V) * dd.Dual(x, V) + 0.0  # noqa: E731
        got = run()
        general_products()
        want = run()
        np.testing.assert_array_equal(got.tangent, want.tangent)
        return
    if case == "mixed dtypes":
        args, vs = (x.astype(np.float32), x), (v.astype(np.float32), v)
    elif case == "broadcast":
        args, vs = (x, x[:1].copy()), (v, v[:1].copy())
    elif case == "small":
        args, vs = (x[:100], x[:100] + 1.0), (v[:100], v[:100])
    elif case == "0-d":
        args, vs = (np.float64(0.5), np.float64(2.0)), (np.float64(1.0), np.float64(-1.0))
    elif case == "strided":
        args, vs = (x[:-1:2], x[1::2]), (v[:-1:2], v[1::2])
    else:
        args, vs = (x[:0], x[:0]), (v[:0], v[:0])
    f = lambda p: p[0] * p[1]  # noqa: E731
    y, t = dd.jvp(f, args, vs)
    general_products()
    y2, t2 = dd.jvp(f, args, vs)
    np.testing.assert_array_equal(t, t2)
    assert np.asarray(t).dtype == np.asarray(t2).dtype
    np.testing.assert_allclose(t, vs[0] * args[1] + args[0] * vs[1], rtol=1e-6)


# -- cotangents the sweep owns ---------------------------------------------------------------

M = tape._OWNED_MIN_BYTES // 4 + 3  # float32 too: above the owned-cotangent threshold


def big_f(x):
    return np.sum(np.sin(x) * np.exp(x) + x ** 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_owned_cotangent_gives_the_general_bits(dtype, general_sweep, monkeypatch):
    x, _ = data(M, dtype)
    calls = []
    exp = dd.PRIMITIVES["exp"]
    rule = exp.vjp_owning
    monkeypatch.setattr(exp, "vjp_owning", lambda *a: calls.append(1) or rule(*a))
    g = dd.grad(big_f, x)
    assert calls, "the exp entry's cotangent (sin(x), let go by the product) was not owned"
    assert g.dtype == dtype
    want = (np.cos(x) + np.sin(x)) * np.exp(x) + 2 * x
    np.testing.assert_allclose(g, want, rtol=1e-5 if dtype == np.float32 else 1e-14)
    general_sweep()
    np.testing.assert_array_equal(g, dd.grad(big_f, x))


def test_owned_cotangent_matches_the_complex_step():
    x, v = data(M)
    g = dd.grad(lambda x: np.sum(np.exp(x) * np.sin(x) * np.tanh(x)), x)
    h = 1e-30
    f = lambda x: np.sum(np.exp(x) * np.sin(x) * np.tanh(x))  # noqa: E731
    np.testing.assert_allclose(g @ v, np.imag(f(x + 1j * h * v)) / h, rtol=1e-13)


def test_values_someone_else_holds_are_never_written_into():
    # sin(x)'s value is the cotangent of exp's entry; here f keeps it, so it is not owned.
    x, _ = data(M)
    seen = {}

    def f(x):
        s = np.sin(x)
        seen["s"] = s.primal
        return np.sum(s * np.exp(x))

    g = dd.grad(f, x)
    np.testing.assert_array_equal(seen["s"], np.sin(x))
    np.testing.assert_allclose(g, (np.cos(x) + np.sin(x)) * np.exp(x), rtol=1e-14)


def test_a_tape_swept_twice_is_never_written_into(general_sweep):
    # vjp keeps its tape for further sweeps: the values its entries hold stay intact.
    x, v = data(M)
    _, pullback = dd.vjp(lambda x: np.sin(x) * np.exp(x), x)
    first = pullback(v)
    np.testing.assert_array_equal(pullback(v), first)
    np.testing.assert_allclose(first, (np.cos(x) + np.sin(x)) * np.exp(x) * v, rtol=1e-14)
    ybar = v.copy()
    pullback(ybar)
    np.testing.assert_array_equal(ybar, v)  # the caller's ȳ is never an owned cotangent
    general_sweep()
    np.testing.assert_array_equal(dd.vjp(lambda x: np.sin(x) * np.exp(x), x)[1](v), first)


@pytest.mark.parametrize("x", [np.float64(0.7), np.array(0.7), np.zeros(0)])
def test_owned_cotangent_scalars_and_empty_are_the_general_path(x, general_sweep):
    g = dd.grad(big_f, x)
    general_sweep()
    g2 = dd.grad(big_f, x)
    np.testing.assert_array_equal(g, g2)
    assert type(g) is type(g2)


def test_second_order_through_owned_cotangents_is_the_general_path(general_sweep):
    x, _ = data(50)
    H = dd.hessian(big_f, x)
    s, c, e = np.sin(x), np.cos(x), np.exp(x)
    np.testing.assert_allclose(np.diag(H), 2 * c * e + 2.0, rtol=1e-13)
    general_sweep()
    np.testing.assert_array_equal(H, dd.hessian(big_f, x))


def test_compiled_code_gives_the_blocked_rules_bits():
    # dd.compile replays the table's rules as whole-array numpy code; the blocked product rule
    # and the owned cotangents must give exactly its bits (compiled == eager, bitwise).
    x, v = data()
    g = lambda x: np.sin(x) * np.exp(x) / (1.0 + x)  # noqa: E731
    f = lambda x: np.sum(g(x) + x ** 2)  # noqa: E731
    jvp = dd.compile(lambda x, v: dd.jvp(g, x, v))
    grad = dd.compile(lambda x: dd.grad(f, x))
    for _ in range(2):  # the recording call and a replay
        np.testing.assert_array_equal(jvp(x, v)[1], dd.jvp(g, x, v)[1])
        np.testing.assert_array_equal(grad(x), dd.grad(f, x))
