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


# -- a sum's cotangent left as a product for the sweep's sums (partials.Scaled) ---------------

# W of an L2 penalty: above the threshold (float32 too), the last block of add_into not full.
# (The sweep meets the penalty first when it is the loss's last term: each case below is so.)
W_SHAPE = (2 * tape._SCALED_MIN_BYTES // 4 // 521 + 1, 521)


@pytest.fixture
def general_scaled(monkeypatch):
    """Every sum's cotangent multiplied out by the rule, as the general path does."""
    def off():
        monkeypatch.setattr(tape, "_SCALED_MIN_BYTES", float("inf"))
    return off


def layer(dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    W = (rng.standard_normal(W_SHAPE) / 20).astype(dtype)
    X = rng.standard_normal((W_SHAPE[1], 3)).astype(dtype)
    return W, X


def spy_add_into(monkeypatch):
    calls = []
    add_into = partials.Scaled.add_into
    monkeypatch.setattr(partials.Scaled, "add_into", lambda s, c: calls.append(1) or add_into(s, c))
    return calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_l2_penalty_summed_into_the_layer_term_gives_the_general_bits(dtype, general_scaled,
                                                                      monkeypatch):
    W, X = layer(dtype)
    lam = 0.3
    f = lambda W: np.sum(np.tanh(W @ X)) + 0.5 * lam * np.sum(W * W)  # noqa: E731
    calls = spy_add_into(monkeypatch)
    g = dd.grad(f, W)
    assert calls, "the penalty's W·ȳ was not summed into the matrix product's cotangent"
    assert g.dtype == dtype
    want = (1 - np.tanh(W @ X) ** 2) @ X.T + lam * W  # the closed form
    np.testing.assert_allclose(g, want, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-6)
    general_scaled()
    np.testing.assert_array_equal(g, dd.grad(f, W))


def test_l2_penalty_gradient_matches_the_complex_step():
    W, X = layer()
    V = np.random.default_rng(2).standard_normal(W.shape)
    f = lambda W: np.sum(np.sin(W @ X)) + 0.25 * np.sum(W * W) + np.sum(np.exp(W) * 0.5)  # noqa: E731
    g = dd.grad(f, W)
    h = 1e-30
    np.testing.assert_allclose(np.sum(g * V), np.imag(f(W + 1j * h * V)) / h, rtol=1e-12)


@pytest.mark.parametrize("case", [
    "penalty alone", "ybar one", "constant factor", "shared cotangent", "read by its entry",
    "two penalties", "nan and inf", "both arguments", "checkpoint"])
def test_scaled_cotangents_give_the_general_bits(case, general_scaled, monkeypatch):
    made = []
    init = partials.Scaled.__init__
    monkeypatch.setattr(partials.Scaled, "__init__", lambda s, *a: made.append(1) or init(s, *a))
    W, X = layer()
    C = np.cos(W)
    if case == "nan and inf":
        W = W.copy()
        W[0, :3] = np.nan, np.inf, -np.inf
    x = W
    if case == "penalty alone":  # nothing else reaches W: the product is computed at the end
        f = lambda W: 0.1 * np.sum(W * W)  # noqa: E731
    elif case == "ybar one":  # ȳ = 1 exactly: the rule's partial is W itself, W + W
        f = lambda W: np.sum(np.tanh(W @ X)) + np.sum(W * W)  # noqa: E731
    elif case == "constant factor":
        f = lambda W: np.sum(np.tanh(W @ X)) + 0.5 * np.sum(C * W)  # noqa: E731
    elif case == "shared cotangent":  # sum(W)'s cotangent is a broadcast nobody may write into
        f = lambda W: np.sum(W) + 0.5 * np.sum(W * W)  # noqa: E731
    elif case == "read by its entry":  # z's slot holds the product when exp's entry reads it
        f = lambda W: (lambda z: 0.5 * np.sum(z * z))(np.exp(W))  # noqa: E731
    elif case == "two penalties":
        f = lambda W: np.sum(W @ X) + 0.25 * np.sum(W * W) + 0.5 * np.sum(W * W)  # noqa: E731
    elif case == "nan and inf":
        f = lambda W: np.sum(np.sin(W @ X)) + 0.5 * np.sum(W * W)  # noqa: E731
    elif case == "both arguments":  # one array as two inputs: each gets its own sum
        x = (W, W)
        f = lambda p: np.sum(p[0] @ X) + 0.5 * np.sum(p[0] * p[1])  # noqa: E731
    else:
        cp = dd.checkpoint(lambda W: np.sum(np.tanh(W @ X)))
        f = lambda W: cp(W) + 0.5 * np.sum(W * W)  # noqa: E731
    g = dd.grad(f, x)
    assert made, "no cotangent was left as a product"
    general_scaled()
    g2 = dd.grad(f, x)
    for a, b in zip(g if type(x) is tuple else (g,), g2 if type(x) is tuple else (g2,)):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_scaled_cotangents_in_a_tape_swept_twice(general_scaled):
    W, X = layer()
    f = lambda W: np.stack([np.sum(W * W), np.sum(np.tanh(W @ X))])  # noqa: E731
    y, pullback = dd.vjp(f, W)
    first, second = pullback(np.array([0.5, 1.0])), pullback(np.array([-2.0, 0.25]))
    np.testing.assert_allclose(second, -4.0 * W + 0.25 * (1 - np.tanh(W @ X) ** 2) @ X.T,
                               rtol=1e-12, atol=1e-15)
    general_scaled()
    y2, pullback2 = dd.vjp(f, W)
    np.testing.assert_array_equal(first, pullback2(np.array([0.5, 1.0])))
    np.testing.assert_array_equal(second, pullback2(np.array([-2.0, 0.25])))


def test_scaled_cotangents_never_write_into_what_the_caller_holds():
    W, X = layer()
    kept = W.copy()
    out = []
    f = lambda W: (0.5 * np.sum(W * W) + np.sum(np.tanh(W @ X)), W @ X)  # noqa: E731
    for _ in range(3):
        g, aux = dd.grad(f, W, has_aux=True)
        out.append((g, aux, aux.copy(), g.copy()))
    np.testing.assert_array_equal(W, kept)
    for g, aux, aux_kept, g_kept in out:
        np.testing.assert_array_equal(aux, aux_kept)
        np.testing.assert_array_equal(g, g_kept)


def test_compiled_code_gives_the_scaled_cotangents_bits():
    W, X = layer()
    f = lambda W: np.sum(np.tanh(W @ X)) + 0.05 * np.sum(W * W)  # noqa: E731
    grad = dd.compile(lambda W: dd.grad(f, W))
    for _ in range(2):
        np.testing.assert_array_equal(grad(W), dd.grad(f, W))


# -- mid-size adjoints: ȳ·∂ into the partial's memory; tanh's partial in one array ------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mid_size_products_into_the_partial_give_the_general_bits(dtype, monkeypatch):
    n = partials._VJP_IN_PLACE_MIN // np.dtype(dtype).itemsize + 5  # under the owned threshold
    assert n * np.dtype(dtype).itemsize < tape._OWNED_MIN_BYTES
    x, _ = data(n, dtype)
    f = lambda x: np.sum(np.sin(np.tanh(x) * x))  # noqa: E731
    g = dd.grad(f, x)
    assert g.dtype == dtype
    t = np.tanh(x)
    want = np.cos(t * x) * ((1 - t * t) * x + t)  # the closed form
    np.testing.assert_allclose(g, want, rtol=1e-5 if dtype == np.float32 else 1e-14)
    monkeypatch.setattr(partials, "_VJP_IN_PLACE_MIN", float("inf"))
    np.testing.assert_array_equal(g, dd.grad(f, x))


@pytest.mark.parametrize("o", [np.linspace(-1.0, 1.0, 7), np.linspace(-1.0, 1.0, 7, dtype=np.float32),
                               np.array(0.5), np.zeros(0), np.array([0.5 + 1j, -1.0]), 0.5,
                               np.tanh(np.linspace(-20.0, 20.0, 9))])
def test_tanh_partial_is_one_minus_the_square_bit_for_bit(o):
    from dualdiff.rules.ufuncs import _one_minus_square
    got, want = _one_minus_square(o), 1.0 - o * o
    assert type(got) is type(want) and np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scaled_cotangents_of_ybar_one_give_the_general_bits(dtype, general_scaled):
    # ȳ = 1: the rule's cotangents are the partials themselves (x ** 2's 2x, a temporary; the
    # product's sin x and exp x, values the tape keeps), summed as the general path sums them
    x, _ = data(tape._SCALED_MIN_BYTES // np.dtype(dtype).itemsize + 7, dtype)
    f = lambda x: np.sum(np.sin(x) * np.exp(x) + x ** 2)  # noqa: E731
    g = dd.grad(f, x)
    want = (np.cos(x) + np.sin(x)) * np.exp(x) + 2 * x
    np.testing.assert_allclose(g, want, rtol=1e-5 if dtype == np.float32 else 1e-14)
    kept = x.copy()
    general_scaled()
    np.testing.assert_array_equal(g, dd.grad(f, x))
    np.testing.assert_array_equal(x, kept)
