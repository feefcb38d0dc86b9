"""dd.compile: worked examples against closed forms and eager mode, guards, and what is refused.

The table-wide bitwise comparison is tests/test_compile_table.py; random programs are fuzzed in
tests/test_compile_properties.py. Here: the seed example, an MLP, the 1e6-style workload (smaller),
a dense Jacobian, a Rosenbrock Hessian, and every guard and refusal the documentation promises.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.codegen import same_value
from dualdiff.staging import StagingError
from test_nesting import rosenbrock, rosenbrock_hessian


def identical(a, b):
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            identical(x, y)
    elif isinstance(a, dict):
        assert type(b) is dict and list(a) == list(b)
        for k in a:
            identical(a[k], b[k])
    else:
        assert same_value(a, b), f"{a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"


def seed_f(x):
    return np.log(x[0]) + x[0] * x[1] - np.sin(x[1])


SEED_GRAD = np.array([1 / 2.0 + 5.0, 2.0 - math.cos(5.0)])


# -- the seed example, every transform ---------------------------------------------------------

@pytest.mark.parametrize("x", [[2.0, 5.0], (2.0, 5.0), np.array([2.0, 5.0])], ids=["list", "tuple", "array"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_seed_gradient_matches_closed_form_and_eager(x, mode):
    g = dd.compile(lambda x: dd.grad(seed_f, x, mode=mode))
    for _ in range(2):  # the recording call and a replay
        got = g(x)
        identical(dd.grad(seed_f, x, mode=mode), got)
        np.testing.assert_allclose(np.array(got, dtype=float), SEED_GRAD, rtol=1e-15)
    assert g.recordings == 1


def test_seed_jvp_vjp_jacobian_hessian_hvp():
    x, v = np.array([2.0, 5.0]), np.array([0.3, -1.2])
    H = np.array([[-1 / 4.0, 1.0], [1.0, math.sin(5.0)]])
    programs = {
        "jvp": (lambda x, v: dd.jvp(seed_f, x, v), (x, v), SEED_GRAD @ v),
        "vjp": (lambda x: dd.vjp(seed_f, x)[1](1.5), (x,), 1.5 * SEED_GRAD),
        "jacobian": (lambda x: dd.jacobian(seed_f, x, chunk=2), (x,), SEED_GRAD),
        "jacobian-rev": (lambda x: dd.jacobian(seed_f, x, mode="reverse"), (x,), SEED_GRAD),
        "hessian": (lambda x: dd.hessian(seed_f, x), (x,), H),
        "hvp": (lambda x, v: dd.hvp(seed_f, x, v), (x, v), H @ v),
        "derivative": (lambda t: dd.derivative(lambda s: seed_f([s, 5.0]), t), (2.0,), SEED_GRAD[0]),
    }
    for name, (fn, args, want) in programs.items():
        c = dd.compile(fn)
        eager = fn(*args)
        identical(eager, c(*args))
        identical(eager, c(*args))
        got = eager[1] if name == "jvp" else eager
        np.testing.assert_allclose(got, want, rtol=1e-14, err_msg=name)


def test_generated_source_of_the_seed_gradient_is_straight_line_math():
    g = dd.compile(lambda x1, x2: dd.grad(lambda x: seed_f(x), (x1, x2)))
    src = g.source(2.0, 5.0)
    assert "math_cos(v1)" in src and "1.0 / v0" in src
    s = g.stats(2.0, 5.0)
    # 13 operations recorded (5 forward, 8 from the rules); x·1 and the tape's bookkeeping vanish
    assert s.recorded == 15 and s.emitted == 7 and s.lowered == 5


# -- array workloads ---------------------------------------------------------------------------

def test_elementwise_workload_grad_and_jvp():
    rng = np.random.default_rng(0)
    x, v = rng.uniform(size=10_000), rng.uniform(size=10_000)
    f = lambda x: np.sum(np.sin(x) * np.exp(x) + x ** 2)
    grad = dd.compile(lambda x: dd.grad(f, x))
    jvp = dd.compile(lambda x, v: dd.jvp(f, x, v))
    want = np.exp(x) * (np.sin(x) + np.cos(x)) + 2 * x
    for _ in range(2):
        g = grad(x)
        identical(dd.grad(f, x), g)
        np.testing.assert_allclose(g, want, rtol=1e-13)
        identical(dd.jvp(f, x, v), jvp(x, v))
    assert grad.stats(x).inplace > 0  # dying temporaries are reused
    assert g is not x and not np.shares_memory(g, x)


def test_dead_temporaries_lend_their_memory_to_later_results():
    # grad: cos(x) is computed after sin(x)'s buffer died, so it is written there, not fresh
    rng = np.random.default_rng(1)
    x = rng.uniform(size=1000)
    f = lambda x: np.sum(np.sin(x) * np.exp(x) + x ** 2)
    grad = dd.compile(lambda x: dd.grad(f, x))
    identical(dd.grad(f, x), grad(x))
    assert re.search(r"np_cos\(v0, out=v\d+\)", grad.source(x)), grad.source(x)


def test_buffer_reuse_keeps_memory_order():
    # exp(X.T) is Fortran-ordered; written into sin(X)'s dead C-ordered buffer, the reduction
    # along axis 0 would add in another order than eager mode. Buffers go to results of their
    # own layout only, so everything stays bit for bit.
    rng = np.random.default_rng(2)
    X, V = rng.uniform(size=(64, 64)), rng.uniform(size=(64, 64))
    f = lambda X: np.sum(np.sin(X) * 3.0, axis=0) * np.sum(np.exp(X.T) * 3.0, axis=0)
    plain = dd.compile(f)
    jvp = dd.compile(lambda X, V: dd.jvp(f, X, V))
    grad = dd.compile(lambda X: dd.grad(lambda X: np.sum(f(X)), X))
    for _ in range(2):
        identical(f(X), plain(X))
        identical(dd.jvp(f, X, V), jvp(X, V))
        identical(dd.grad(lambda X: np.sum(f(X)), X), grad(X))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_min_real_run_as_reductions_and_views(dtype):
    f = lambda x: (np.max(x, axis=0), np.min(x), np.max(x, initial=0.5),
                   dd.logsumexp(x, axis=0, keepdims=True))
    c = dd.compile(f)
    x = np.random.default_rng(5).normal(size=(6, 4)).astype(dtype)
    for z in (x, np.where(x > 1.0, np.nan, x).astype(dtype)):  # nan wins, as in numpy
        with np.errstate(invalid="ignore"):
            identical(f(z), c(z))
    src = c.source(x)
    assert "_max(" in src and "_min(" in src and "impl_max" not in src, src
    identical(dd.grad(lambda x: np.sum(f(x)[3]), x), dd.compile(lambda x: dd.grad(lambda x: np.sum(f(x)[3]), x))(x))


def _mlp_loss(params, X, Y, lam=1e-3):
    W1, W2 = params
    h = np.tanh(W1 @ X)
    o = W2 @ h
    logp = o - dd.logsumexp(o, axis=0, keepdims=True)
    return -np.sum(Y * logp) / X.shape[1] + lam / 2 * (np.sum(W1 * W1) + np.sum(W2 * W2))


def test_mlp_gradient_against_hand_backprop():
    rng = np.random.default_rng(1)
    W1, W2 = rng.normal(size=(20, 30)) * 0.1, rng.normal(size=(5, 20)) * 0.1
    X = rng.normal(size=(30, 8))
    Y = np.eye(5)[:, rng.integers(0, 5, size=8)]
    step = dd.compile(lambda p: dd.grad(lambda q: _mlp_loss(q, X, Y), p))
    h = np.tanh(W1 @ X)
    o = W2 @ h
    p = np.exp(o - o.max(axis=0)) / np.exp(o - o.max(axis=0)).sum(axis=0)
    do = (p - Y) / X.shape[1]
    dW2 = do @ h.T + 1e-3 * W2
    dW1 = ((W2.T @ do) * (1 - h ** 2)) @ X.T + 1e-3 * W1
    for _ in range(2):
        got = step((W1, W2))
        identical(dd.grad(lambda q: _mlp_loss(q, X, Y), (W1, W2)), got)
        np.testing.assert_allclose(got[0], dW1, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(got[1], dW2, rtol=1e-10, atol=1e-14)


def test_dense_jacobian_with_closed_over_matrix():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(30, 30)) / 5
    x = rng.normal(size=30)
    jac = dd.compile(lambda x: dd.jacobian(lambda z: np.tanh(A @ z), x, chunk="auto"))
    want = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    identical(dd.jacobian(lambda z: np.tanh(A @ z), x, chunk="auto"), jac(x))
    np.testing.assert_allclose(jac(x), want, rtol=1e-13, atol=1e-15)


def test_rosenbrock_hessian():
    x = np.linspace(-1, 1.5, 12)
    hess = dd.compile(lambda x: dd.hessian(rosenbrock, x))
    H = rosenbrock_hessian(x)  # the closed form (checked in test_nesting.py)
    for _ in range(2):
        got = hess(x)
        identical(dd.hessian(rosenbrock, x), got)
        np.testing.assert_allclose(got, H, rtol=1e-12, atol=1e-12)
    # index_add's zeros are private memory (written by the scatter lowering): the next sum is
    # written into them
    src = hess.source(x)
    added = re.findall(r"v(\d+) = _scatter\(", src)
    assert added and any(f"out=v{i})" in src for i in added), src


# -- guards ------------------------------------------------------------------------------------

def _branchy(x):
    if np.sum(x) > 0:
        return np.sum(np.sin(x))
    return np.sum(x * x)


def test_branch_on_traced_data_taken_both_ways():
    g = dd.compile(lambda x: dd.grad(_branchy, x))
    up, down = np.array([0.5, 1.0]), np.array([-0.5, -1.0])
    for x in (up, down, up, down):
        identical(dd.grad(_branchy, x), g(x))
    assert g.recordings == 2 and g.specialisations == 2
    assert "raise _Miss" in g.source(up)


@pytest.mark.parametrize("second", [np.ones(4), np.ones(3, dtype=np.float32), [1.0, 2.0, 3.0, 4.0]],
                         ids=["shape", "dtype", "list-length"])
def test_input_structure_changes_rerecord(second):
    first = np.ones(3) if not isinstance(second, list) else [1.0, 2.0, 3.0]
    f = lambda x: dd.grad(lambda z: np.sum(np.sin(z) * z), x)
    g = dd.compile(f)
    identical(f(first), g(first))
    identical(f(second), g(second))
    identical(f(first), g(first))
    assert g.recordings == 2


def test_a_transposed_input_of_the_same_shape_is_recorded_for_its_layout():
    # eager mode's bits follow numpy's loops over x's layout (a sum over an F-ordered product
    # adds in another order): the compiled code is checked against strides and re-recorded
    rng = np.random.default_rng(5)
    c_order = rng.uniform(-1, 1, (40, 40))
    f_order = np.asfortranarray(rng.uniform(-1, 1, (40, 40)))
    strided = rng.uniform(-1, 1, (40, 80))[:, ::2]
    fn = lambda x: dd.value_and_grad(lambda z: np.sum(np.exp(z) * z, axis=0) @ np.ones(40), x)  # noqa: E731
    g = dd.compile(fn)
    for x in (c_order, f_order, strided, c_order, f_order):
        identical(fn(x), g(x))
    assert g.recordings == 3 and g.specialisations == 3
    assert ".strides != (320, 8)" in g.source(c_order)


def test_float_of_traced_data_is_an_equality_guard():
    g = dd.compile(lambda x: x * float(x))
    assert [g(2.0), g(3.0), g(2.0)] == [4.0, 9.0, 4.0]
    assert g.recordings == 2


def test_rerecording_is_bounded():
    g = dd.compile(lambda x: x * float(x), max_specialisations=3)
    for i in range(10):
        assert g(float(i)) == float(i * i)
    assert g.recordings == 10 and g.specialisations == 3


def test_closure_arrays_are_frozen_at_record_time():
    A = np.eye(2)
    g = dd.compile(lambda x: dd.jacobian(lambda z: A @ z, x))
    identical(g(np.ones(2)), np.eye(2))
    A[0, 0] = 5.0  # documented: the compiled code keeps the recording's A
    identical(g(np.ones(2)), np.eye(2))
    g.clear()
    identical(g(np.ones(2)), A)


@pytest.mark.parametrize("view", [lambda c: c[::-1], lambda c: c[::-2]],
                         ids=["reversed", "reversed-every-other"])
def test_strided_closure_constants_keep_their_layout_so_results_stay_bitwise(view):
    # numpy computes power (exp, log, ... too) with different code on contiguous and on
    # negatively strided data, differing in the last bit: a frozen constant keeps its strides
    base = np.linspace(0.1, 2.0, 200)
    C = view(base)
    f = lambda x: np.power(C, x) + np.exp(C * x) + np.log1p(C + x * x)
    x = np.full(C.shape, 0.37)
    eager = f(x)
    if np.array_equal(np.power(C, x), np.power(np.ascontiguousarray(C), x)):
        pytest.skip("this numpy/CPU gives the same bits on both paths: the test could not fail")
    compiled = dd.compile(f)
    for _ in range(2):
        identical(compiled(x), eager)
    identical(dd.compile(lambda x: dd.jvp(f, x, x)[1])(x), dd.jvp(f, x, x)[1])


def test_side_effects_happen_at_record_time_only():
    calls = []
    g = dd.compile(lambda x: calls.append(1) or x * 2.0)
    assert [g(1.0), g(2.0)] == [2.0, 4.0] and calls == [1]


def test_np_asarray_of_a_traced_value_is_refused_at_record_time():
    g = dd.compile(lambda x: np.asarray(x) * 2)
    with pytest.raises(StagingError, match="bake"):
        g(np.ones(2))
    assert isinstance(StagingError("x"), TypeError)


def test_static_arguments_are_part_of_the_specialisation():
    g = dd.compile(lambda x, n, axis=0: dd.sum(x ** n, axis=axis))
    x = np.arange(6.0).reshape(2, 3)
    identical(g(x, 2), np.sum(x ** 2, axis=0))
    identical(g(x, 3, axis=1), np.sum(x ** 3, axis=1))
    identical(g(x, 2), np.sum(x ** 2, axis=0))
    assert g.recordings == 2


# -- results -----------------------------------------------------------------------------------

def test_outputs_never_alias_inputs_or_each_other():
    g = dd.compile(lambda x: (x, x * 2.0, x * 2.0))
    x = np.ones(3)
    a, b, c = g(x)
    assert not np.shares_memory(a, x) and not np.shares_memory(b, c)
    const = dd.compile(lambda x: dd.grad(lambda z: 1.0, x))  # a constant (zero) gradient
    z1, z2 = const(x), const(x)
    assert z1 is not z2 and not np.shares_memory(z1, z2)


def test_first_call_returns_the_recording_without_running_it_again():
    calls = []

    def cube_impl(x):
        calls.append(1)
        return x ** 3

    cube = dd.elementwise("cube_counted", cube_impl, [lambda x, out: 3 * x * x], needs="args",
                          register=False, complex="holomorphic")
    A = np.arange(3.0)
    g = dd.compile(lambda x: (cube(x), A, dd.grad(lambda z: np.sum(cube(z)), x)))
    x = np.array([1.0, 2.0, 3.0])
    y, a, gx = g(x)
    assert len(calls) == 2  # recorded once (value, and the grad's forward pass); nothing rerun
    identical((x ** 3, A, 3 * x * x), (y, a, gx))
    assert a is not A and not np.shares_memory(a, A)  # a closed-over array comes back copied
    identical((y, a, gx), g(x))
    assert len(calls) == 3  # the replay calls the impl (no lowering for it), once: cube(x) is shared


def test_scalar_math_errors_fall_back_to_numpy_semantics():
    g = dd.compile(lambda x, y: (np.log(x), 1.0 / y, np.exp(x * 1000.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = g(2.0, 4.0)
        got, want = g(-1.0, 0.0), (np.log(-1.0), np.float64(1.0) / 0.0, np.exp(-1000.0))
    identical(first, (math.log(2.0), 0.25, np.exp(2000.0)) if False else first)
    assert math.isnan(got[0]) and got[1] == math.inf and got[2] == want[2]


def test_decorator_forms_and_nesting_inside_derivatives():
    @dd.compile
    def f(x):
        return np.sin(x) * x

    @dd.compile(max_specialisations=2)
    def h(x):
        return np.cos(x)

    # (plain numbers go through dualdiff's functions: a Python float where numpy gives np.float64)
    assert f(1.5) == np.sin(1.5) * 1.5 and h(0.5) == math.cos(0.5)
    # called on traced values (inside a derivative), the Python function runs
    assert float(dd.derivative(f, 1.5)) == pytest.approx(math.sin(1.5) + 1.5 * math.cos(1.5), rel=1e-15)


def test_leaked_staged_value_is_an_error():
    kept = []
    g = dd.compile(lambda x: kept.append(x) or x + 1.0)
    g(1.0)
    with pytest.raises(ValueError, match="finished"):
        kept[0] * 2.0


def test_bad_arguments():
    with pytest.raises(TypeError, match="function"):
        dd.compile(3)
    with pytest.raises(ValueError, match="max_specialisations"):
        dd.compile(lambda x: x, max_specialisations=0)
    with pytest.raises(TypeError, match="plain numpy arrays"):
        dd.compile(lambda x: x)(np.ma.array([1.0, 2.0]))


# -- empty arrays and float32 through every transform ---------------------------------------

EMPTY_PROGRAMS = {
    "value": lambda x: np.sin(x) * np.exp(x) + x ** 2,
    "grad": lambda x: dd.grad(lambda z: np.sum(np.tanh(z) * z), x),
    "jvp": lambda x: dd.jvp(lambda z: np.cos(z) / (1.0 + z * z), x, x),
    "vjp": lambda x: dd.vjp(lambda z: dd.softmax(z) * z, x)[1](x),
    "jacobian": lambda x: dd.jacobian(lambda z: np.sin(z) * dd.sum(z), x),
    "hessian": lambda x: dd.hessian(lambda z: np.sum(z ** 3) + dd.logsumexp(z), x),
}


@pytest.mark.parametrize("name", sorted(EMPTY_PROGRAMS))
@pytest.mark.parametrize("x", [np.zeros(0), np.zeros((0, 3)), np.linspace(-1, 1, 4).astype(np.float32)],
                         ids=["empty", "empty-2d", "float32"])
def test_empty_and_float32_arrays(name, x):
    fn = EMPTY_PROGRAMS[name]
    if name == "hessian" and x.ndim == 2:
        x = x.reshape(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eager = fn(x)
        compiled = dd.compile(fn)
        identical(eager, compiled(x))
        identical(eager, compiled(x))


def test_threads_share_a_compiled_function():
    from concurrent.futures import ThreadPoolExecutor

    g = dd.compile(lambda x: dd.grad(_branchy, x))
    points = [np.linspace(-1, 1, 5) + s for s in (-2.0, 2.0, -3.0, 3.0)] * 25
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(g, points))
    for x, y in zip(points, got):
        identical(dd.grad(_branchy, x), y)
    assert g.recordings == 2  # one per branch, however the threads raced


def test_large_temporaries_are_kept_between_calls_never_returned():
    # 40 000 float64 = 320 KB per temporary: above KEEP_BYTES, so the temporaries that never
    # reach an output live in a workspace the specialisation keeps (no fresh pages per call).
    from concurrent.futures import ThreadPoolExecutor

    from dualdiff.codegen import KEEP_BYTES

    n = 40_000
    assert n * 8 >= KEEP_BYTES
    f = lambda x: np.sum(np.sin(x) * np.exp(x) + x ** 2)
    grad = dd.compile(lambda x: dd.grad(f, x))
    jvp = dd.compile(lambda x, v: dd.jvp(f, x, v))
    W = np.random.default_rng(3).uniform(size=(200, 200))
    h = lambda A: np.sum(np.tanh(A @ W.T) ** 2)
    mm = dd.compile(lambda A, V: dd.jvp(h, A, V))
    rng = np.random.default_rng(4)
    xs = [rng.uniform(size=n) for _ in range(3)]
    firsts = [grad(x) for x in xs]
    assert "_ws.pop()" in grad.source(xs[0]) and "_ws.pop()" in jvp.source(xs[0], xs[1])
    for x, g in zip(xs, firsts):  # a later call never writes into an earlier result
        identical(dd.grad(f, x), g)
        identical(dd.jvp(f, x, xs[0]), jvp(x, xs[0]))
    A, V = rng.uniform(size=(200, 200)), rng.uniform(size=(200, 200))
    for _ in range(2):
        identical(dd.jvp(h, A, V), mm(A, V))
    assert re.search(r"np_matmul\(v\d+, \w+, out=_w\d\)", mm.source(A, V))  # a matmul's too
    points = [rng.uniform(size=n) for _ in range(8)]
    with ThreadPoolExecutor(4) as pool:  # concurrent calls each take their own workspace
        got = list(pool.map(lambda x: (grad(x), jvp(x, x)), points))
    for x, (g, j) in zip(points, got):
        identical(dd.grad(f, x), g)
        identical(dd.jvp(f, x, x), j)
