"""dualdiff checked from outside, fifth round: programs that write into a plain array after using it.

numpy computes with an array's contents at the moment it reads them. A recording keeps the
arrays its derivative reads (the c of x * c, the X of W @ X, an index, a where() condition)
and reads them again when it sweeps, after f has run; a program that writes into such an array
in between (a state updated in place in a time loop, a scratch buffer refilled for each term,
an index array reused, the data refilled before a kept pullback is called) gave a silently
wrong derivative, and dd.compile a wrong value. Each test below failed before the fix (see
dualdiff/constants.py). The oracles are the same program run by numpy alone: its value, and its
derivative by complex step (h = 1e-30) or central differences.
"""

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import constants

H = 1e-30


def _complex_step_grad(f, x):
    return np.array([np.imag(f(x + 1j * H * e)) / H for e in np.eye(x.size)])


def _central_grad(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


# --- the programs: each writes into a plain array it has used ----------------------------------

def state_loop(w):
    """A time loop whose state is a plain array updated in place (h += ...)."""
    h = np.zeros(w.shape)
    total = 0.0
    for t in range(4):
        total = total + np.sum(np.sin(w * h))
        h += 0.5 + 0.25 * t
    return total


def refilled_buffer(w):
    """One scratch buffer refilled for each term (buf[:] = row)."""
    data = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 2.0], [4.0, 1.0, 0.25]])
    buf = np.empty(3)
    total = 0.0
    for row in data:
        buf[:] = row
        total = total + np.sum(w / buf) + np.dot(buf, w) ** 2
    return total


def reused_index(w):
    """An integer index array rewritten after a gather."""
    idx = np.array([0, 0, 1])
    first = w[idx]
    idx[:] = [2, 1, 2]
    second = w[idx]
    return np.sum(first * np.array([1.0, 2.0, 3.0])) + np.sum(second ** 3)


def reused_index_list(w):
    """An index list (numpy reads it as an array) changed after a gather."""
    idx = [0, 0, 1]
    first = w[idx]
    idx[0] = 2
    second = w[:, None][idx, 0]
    return np.sum(first * np.array([1.0, 2.0, 3.0])) + np.sum(np.sin(second))


def reused_mask(w):
    """A boolean mask rewritten after np.where and a masked sum."""
    m = np.array([True, False, True])
    a = np.where(m, w ** 2, 0.0)
    b = np.sum(np.exp(w), where=m)
    m[:] = [False, True, False]
    return np.sum(a * w) + b + np.sum(np.where(m, w, 1.0) ** 3)


def power_of_a_state(w):
    """x ** c and c ** x with c an exponent array advanced in place."""
    c = np.array([2.0, 3.0, 1.5])
    total = 0.0
    for _ in range(2):
        total = total + np.sum((1.0 + w * w) ** c) + np.sum(c ** w)
        c *= 0.5
    return total


def large_constant_updated(w):
    """The same time loop at 100,000 elements: the state is held read-only, not copied."""
    h = np.zeros(w.shape)
    total = 0.0
    for t in range(2):
        total = total + np.sum(w * h)
        h += 1.0
    return total


SMALL = {
    "state loop (h += v)": state_loop,
    "refilled buffer (buf[:] = row)": refilled_buffer,
    "reused index array": reused_index,
    "reused index list": reused_index_list,
    "reused mask (where, sum where=)": reused_mask,
    "power with an exponent state": power_of_a_state,
}
W = np.array([0.3, -0.7, 1.1])


def _oracle(f, x):
    if f is reused_mask or f is reused_index or f is reused_index_list:
        return _central_grad(f, x)  # (np.sum(where=) and indexing with complex values: fine too,
    return _complex_step_grad(f, x)  # but central differences keep this oracle obviously plain)


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("how", ["grad", "grad forward", "value_and_grad", "jacobian reverse",
                                 "vjp", "compiled grad"])
def test_a_write_after_use_leaves_the_gradient_numpys(name, how):
    f = SMALL[name]
    want = _oracle(f, W)
    if how == "grad":
        for _ in range(20):  # (the sweep is replayed from the 16th on: dualdiff/replay.py)
            got = dd.grad(f, W)
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
    elif how == "grad forward":
        got = dd.grad(f, W, mode="forward")
    elif how == "value_and_grad":
        value, got = dd.value_and_grad(f, W)
        assert value == f(W)
    elif how == "jacobian reverse":
        got = dd.jacobian(f, W, mode="reverse")
    elif how == "vjp":
        value, pullback = dd.vjp(f, W)
        got = pullback(1.0)
    else:
        g = dd.compile(lambda x: dd.grad(f, x))
        g(W + 0.5)
        got = g(W)
        assert np.array_equal(got, dd.grad(f, W))
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_write_after_use_leaves_the_hessian_right(name):
    f = SMALL[name]
    want = np.array([_central_grad(lambda z: _oracle(f, z)[i], W, 1e-5) for i in range(3)])
    for _ in range(20):
        np.testing.assert_allclose(dd.hessian(f, W), want, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(dd.hvp(f, W, np.array([1.0, -2.0, 0.5])),
                               want @ np.array([1.0, -2.0, 0.5]), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_compiled_function_that_writes_after_use_is_numpys_value(name):
    f = SMALL[name]
    fast = dd.compile(f)
    for x in (W, W + 0.25, W):
        assert fast(x) == f(x)
    jvp = dd.compile(lambda x: dd.jvp(f, x, np.array([1.0, 0.5, -1.0]))[1])
    for x in (W, W + 0.25):
        np.testing.assert_allclose(jvp(x), _oracle(f, x) @ np.array([1.0, 0.5, -1.0]), rtol=1e-7)


def test_a_large_array_written_after_use_is_refused_in_words():
    # Copying a large constant would cost the time of the operation again in every recording
    # (a layer's batch), so it is held read-only until f returns: numpy refuses the write, and
    # the transform says what happened and what to write instead.
    w = np.linspace(-1.0, 1.0, 100_000)
    for call in (lambda: dd.grad(large_constant_updated, w),
                 lambda: dd.value_and_grad(large_constant_updated, w),
                 lambda: dd.vjp(large_constant_updated, w),
                 lambda: dd.hvp(large_constant_updated, w, w)):
        with pytest.raises(ValueError, match=r"f wrote into a numpy array .*h = h \+ v"):
            call()
    # what the message recommends
    def rebinding(w):
        h = np.zeros(w.shape)
        total = 0.0
        for t in range(2):
            total = total + np.sum(w * h)
            h = h + 1.0
        return total
    np.testing.assert_array_equal(dd.grad(rebinding, w), np.ones_like(w))


def test_held_arrays_are_writable_again_after_every_transform_and_failure():
    X = np.linspace(0.0, 1.0, 100_000)
    small = np.array([1.0, 2.0, 3.0])
    w = np.full(100_000, 0.5)

    def loss(w):
        return np.sum(w * X) + np.sum(w[:3] * small)
    dd.grad(loss, w)
    dd.value_and_grad(loss, w)
    dd.hvp(loss, w, w)
    dd.jacobian(lambda z: z[:2] * small[:2], w[:3], mode="reverse")
    y, pullback = dd.vjp(loss, w)

    def failing(w):
        np.sum(w * X)
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        dd.grad(failing, w)
    assert X.flags.writeable and small.flags.writeable
    assert not constants.held_count()
    X[0] = 5.0  # the caller's data refilled while a pullback lives: the pullback keeps its copy
    np.testing.assert_array_equal(pullback(1.0)[:3], np.linspace(0.0, 1.0, 100_000)[:3] + small)


def test_a_view_of_a_held_array_and_its_base_are_both_held():
    base = np.zeros(200_000)
    w = np.ones(100_000)

    def f(w):
        total = np.sum(w * base[::2])
        base[::2] += 1.0  # through the base: numpy's write reaches the view the tape keeps
        return total
    with pytest.raises(ValueError, match="f wrote into a numpy array"):
        dd.grad(f, w)
    assert base.flags.writeable and not constants.held_count()


def test_a_kept_pullback_reads_the_data_of_its_call():
    # A training loop that refills its batch in place and keeps the last pullback around
    # (numpy's batch at the time of the call, as JAX's vjp reads it).
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    w = np.array([0.5, -0.25])
    loss = lambda w: np.sum(np.tanh(X @ w) ** 2)
    want = _complex_step_grad(loss, w)
    _, pullback = dd.vjp(loss, w)
    X[:] = [[0.0, 1.0], [7.0, 7.0]]
    np.testing.assert_allclose(pullback(1.0), want, rtol=1e-12)


def test_nested_and_threaded_recordings_share_a_held_array():
    import threading
    X = np.linspace(0.1, 1.0, 100_000)
    errors = []

    def work():
        try:
            for _ in range(5):
                g = dd.grad(lambda w: np.sum(np.sin(w * X)), np.full(100_000, 0.5))
                np.testing.assert_allclose(g, np.cos(0.5 * X) * X)
                h = dd.grad(lambda w: np.sum(dd.grad(lambda v: np.sum(v * v * X), w) * X), X)
                np.testing.assert_allclose(h, 2 * X * X)
        except Exception as e:  # pragma: no cover (reported below)
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert X.flags.writeable and not constants.held_count()


def test_read_only_arrays_and_seeds_are_left_alone():
    A = np.arange(6.0).reshape(2, 3)
    A.flags.writeable = False
    g = dd.grad(lambda w: np.sum(A @ w), np.ones(3))
    np.testing.assert_array_equal(g, A.sum(axis=0))
    assert not A.flags.writeable


# --- a Python integer beyond float64 as x: said in words, not Python's OverflowError ----------

@pytest.mark.parametrize("call", [
    lambda x: dd.grad(lambda z: z * 2.0, x),
    lambda x: dd.jacobian(lambda z: z * 2.0, x),
    lambda x: dd.hessian(lambda z: z * z, x),
    lambda x: dd.jvp(lambda z: z * 2.0, x, 1.0),
    lambda x: dd.derivative(lambda z: z * 2.0, x),
    lambda x: dd.grad(lambda p: p["a"] * 2.0, {"a": x}),
])
def test_an_integer_beyond_float64_is_refused_in_words(call):
    with pytest.raises(ValueError, match="401 digits, beyond the largest float64"):
        call(10 ** 400)
    with pytest.raises(ValueError, match="beyond the largest float64"):
        call(-10 ** 400)
    # the largest integers a float holds are numbers like any other
    assert call(2 ** 1000) is not None


# --- np.select with conditions on the values under dd.compile ----------------------------------

def test_select_on_traced_conditions_compiles_to_numpys_values():
    def f(x):
        return np.select([x < 1.0, x > 1.5], [x ** 2, np.sin(x)], default=-x)

    def grad_by_cases(x):
        return np.where(x < 1.0, 2 * x, np.where(x > 1.5, np.cos(x), -1.0))
    fast = dd.compile(f)
    fast_grad = dd.compile(lambda x: dd.grad(lambda z: np.sum(f(z)), x))
    for x in (np.array([0.5, 1.2, 1.8]), np.array([1.7, 0.2, 1.25]), np.array([1.1, 1.9, 0.3])):
        np.testing.assert_array_equal(fast(x), f(x))
        np.testing.assert_allclose(fast_grad(x), grad_by_cases(x), rtol=1e-15)
    assert fast.recordings == 1


# --- a ufunc's out= and where= into a traced array: numpy's masked computation -----------------
#
# np.divide(a, b, out=np.zeros_like(a), where=b != 0) is how numpy code avoids dividing by zero;
# it was refused ("assign the result instead"). numpy computes the ufunc only where the mask
# holds and leaves out's other elements; so must the derivative (no nan from the elements
# never computed).

X_WHERE = np.array([-1.0, 0.5, 2.5, -0.3, 3.0])
OUT_WHERE = {
    "sqrt where x > 0": lambda x: np.sqrt(x, where=x > 0, out=np.zeros_like(x)),
    "log where x > 0, out full": lambda x: np.log(x, where=x > 0, out=np.full_like(x, -5.0)),
    "1 / x where x != 0": lambda x: np.divide(1.0, x, where=x != 0, out=np.zeros_like(x)),
    "x / (x - 2) where": lambda x: np.divide(x, x - 2.0, out=np.zeros_like(x), where=x != 2.0),
    "power into a copy of x": lambda x: np.power(x, 2.0, where=x > 0, out=x * 1.0),
    "arcsin where |x| < 0.9": lambda x: np.arcsin(x, where=np.abs(x) < 0.9,
                                                 out=np.ones_like(x)),
    "add into x itself": lambda x: (lambda y: np.add(y, x ** 2, out=y) * 2.0)(x * 1.0),
    "mask broadcast over rows": lambda x: np.multiply(
        np.reshape(x[:4], (2, 2)), 3.0, where=np.array([True, False]),
        out=np.reshape(x[1:], (2, 2)) * 1.0),
}


@pytest.mark.parametrize("name", sorted(OUT_WHERE))
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_out_and_where_into_a_traced_array_are_numpys(name, mode):
    f = OUT_WHERE[name]
    with np.errstate(all="ignore"):
        want = f(X_WHERE.copy())
    np.testing.assert_array_equal(dd.jvp(f, X_WHERE, np.ones(5))[0] if mode == "forward"
                                  else dd.vjp(f, X_WHERE)[0], want)
    J = dd.jacobian(f, X_WHERE, mode=mode)
    with np.errstate(all="ignore"):
        Jn = np.stack([(f(X_WHERE + 1e-7 * e) - f(X_WHERE - 1e-7 * e)) / 2e-7
                       for e in np.eye(5)], -1)
    np.testing.assert_allclose(J, Jn, atol=1e-5)
    H = dd.hessian(lambda z: np.sum(f(z) ** 2), X_WHERE)
    assert np.isfinite(H).all()


def test_out_with_where_into_plain_memory_names_the_traced_out():
    with pytest.raises(TypeError, match=r"With where=, make out a traced array "
                                        r"\(out=np\.zeros_like\(x\)"):
        dd.grad(lambda x: np.sum(np.sqrt(x, where=x > 0, out=np.zeros(3))), np.ones(3))


def test_a_library_asking_for_a_writeable_buffer_gets_the_explanation():
    # Cython's typed memoryviews refuse a read-only array ("buffer source array is read-only")
    # even to read it; a large constant the tape holds is read-only until f returns.
    X = np.linspace(0.0, 1.0, 100_000)

    def cython_like(a):
        if not a.flags.writeable:
            raise ValueError("buffer source array is read-only")
        return float(a[0])

    def f(w):
        total = np.sum(w * X)
        return total + cython_like(X)
    with pytest.raises(ValueError, match=r"handed it to code that asks for a writeable one"):
        dd.grad(f, np.ones(100_000))
    assert X.flags.writeable
    # numpy's own refusals are explained only while the recording holds an array
    def g(w):
        a = np.broadcast_to(1.0, (3,))
        a[0] = 2.0
        return np.sum(w)
    with pytest.raises(ValueError, match="^assignment destination is read-only$"):
        dd.grad(g, np.ones(3))
