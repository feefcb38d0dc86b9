"""dualdiff checked from outside, fourth round: numpy's views, written into and read after.

``a = X[0]; X[0] = 5.0; np.sum(a)``: numpy's ``a`` is a view, so it sees the write. A traced
value is written by recording a new value and rebinding the object, so the view kept the old
content, and value and derivative were silently those of another program, in every mode (eager
forward and reverse, the Hessian's nesting, dd.compile's recording). The oracles: numpy running
the same program on plain arrays, central differences of that program (first and second
differences for the Hessian), and the caller's array after a compiled call.
"""

import numpy as np
import pytest

import dualdiff as dd

W = np.array([1.0, -2.0, 0.5, 3.0, -1.5, 2.5])


def _central(f, x, h=1e-6):
    """∂f/∂x by central differences of the plain program."""
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def _central_hessian(f, x, h=1e-3):
    """∂²f/∂x² by central second differences (exact but for rounding on cubics)."""
    n = x.size
    e = np.eye(n) * h
    return np.array([[(f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j])
                       + f(x - e[i] - e[j])) / (4 * h * h) for j in range(n)] for i in range(n)])


# Each program takes a view, writes (into its source, or into it), and reads what numpy's
# memory holds afterwards. x is a vector of 6.
PROGRAMS = {
    "row read after the matrix is written": """
    X = x.reshape(2, 3) * 1.0
    a = X[0]
    X[0] = 5.0 * X[1]
    return np.sum(a * X[1]) + np.sum(a ** 2)""",
    "slice read after an element is written": """
    y = x * 1.0
    tail = y[1:]
    y[2] = y[0] ** 2
    return np.sum(tail * W[1:])""",
    "slice read after y += v": """
    y = x * 1.0
    a = y[::2]
    y += x ** 2
    return np.sum(a * a)""",
    "slice read after y *= v (the only name but the view)": """
    y = x ** 2
    a = y[1:4]
    y *= x
    return np.sum(a)""",
    "write into a slice reaches its source": """
    y = x * 1.0
    a = y[1:]
    a[0] = 7.0 * x[5]
    return np.sum(y * W)""",
    "y op= v on a slice reaches its source": """
    y = x * 1.0
    a = y[:3]
    a *= x[3:]
    return np.sum(y * y * W)""",
    "a view of a view follows": """
    y = x * 1.0
    a = y[1:]
    b = a[1:]
    y[2] = 9.0 * x[0]
    a[3] = x[1] ** 2
    return np.sum(b * W[2:]) + np.sum(y)""",
    "two views of one value see each other's writes": """
    t = x * 2.0
    a = t[1:]
    b = t[1:]
    del t
    a += 1.0
    return np.sum(a * b)""",
    "rows of a matrix by iteration": """
    X = x.reshape(3, 2) * 1.0
    rows = list(X)
    X[1] = X[2] * X[0]
    return np.sum(rows[1] * rows[0])""",
    "a negative stride": """
    y = x * 1.0
    r = y[::-1]
    y[0] = x[1] * x[2]
    r[1] = 3.0
    return np.sum(r * W) + np.sum(y)""",
    "a 0-d view (x[..., 0])": """
    y = x * 1.0
    a = y[..., 0]
    y[0] = x[3] ** 2
    return a * x[1]""",
    "x[:2].sort() sorts x's own elements": """
    y = x * 1.0
    y[:2].sort()
    return np.sum(y * W)""",
    "a view reshaped in place (a.shape = s) still follows": """
    y = x * 1.0
    a = y[1:5]
    a.shape = (2, 2)
    y[2] = x[0] ** 2
    a[1] = x[4:]
    return np.sum(a * W[:2]) + np.sum(y * W)""",
    "a view with views of its own reshaped in place": """
    y = x * 1.0
    a = y[1:5]
    b = a[1:]
    a.shape = (2, 2)
    y[2] = x[0] ** 2
    b[0] = 7.0 * x[5]
    return np.sum(a * W[:2]) + np.sum(y * y) + np.sum(b)""",
    "the argument itself written": """
    a = x[2:]
    x[3] = x[0] * x[1]
    return np.sum(a * W[2:])""",
    "x.T read after x is written": """
    X = x.reshape(2, 3) * 1.0
    t = X.T
    X[0] = X[1] ** 2
    return np.sum(t * t[::-1])""",
    "a write into x.T reaches x": """
    X = x.reshape(2, 3) * 1.0
    t = X.T
    t[0] = 5.0 * x[0]
    return np.sum(X * W.reshape(2, 3))""",
    "a reshape follows": """
    y = x * 1.0
    M = y.reshape(2, 3)
    y[1:3] = 0.5 * x[4:]
    return np.sum(M[1] * M[0])""",
    "the pieces of np.split": """
    y = x * 1.0
    a, b = np.split(y, 2)
    b[0] = a[1] * a[2]
    return np.sum(y * W) + np.sum(b)""",
    "np.flip": """
    y = x * 1.0
    r = np.flip(y)
    y[0] = 3.0 * x[2]
    return np.sum(r * W)""",
    "np.moveaxis, read and written": """
    M = x.reshape(1, 2, 3) * 1.0
    s = np.moveaxis(M, 0, 2)
    M[0, 1] = M[0, 0] ** 2
    s[0, 0, 0] = x[5]
    return np.sum(s * s) + np.sum(M)""",
    "np.diagonal (numpy's read-only view) follows": """
    X = x[:4].reshape(2, 2) * 1.0
    d = np.diagonal(X)
    X[0, 0] = x[5] ** 2
    return np.sum(d * d)""",
    "np.broadcast_to follows": """
    y = x * 1.0
    b = np.broadcast_to(y, (2, 6))
    y[1] = x[0] * x[2]
    return np.sum(b * b)""",
    "a ravel that copies keeps its values": """
    X = x.reshape(2, 3) * 1.0
    r = X.T.ravel()
    X[0, 0] = 7.0
    return np.sum(r * W)""",
    "a ravel that is a view follows": """
    y = x.reshape(2, 3) * 1.0
    r = np.ravel(y)
    r[4] += r[0]
    y[0, 0] = 2.0
    return np.sum(r * W)""",
    "sorting a part of a reshape": """
    y = x * 1.0
    y.reshape(3, 2)[:2].sort(axis=0)
    y.T.sort()
    return np.sum(y * W)""",
    "squeeze, rot90, atleast_2d, expand_dims": """
    y = x.reshape(1, 6) * 1.0
    q = y.squeeze()
    q[2] = q[3] ** 2
    R = np.rot90(q.reshape(2, 3))
    R[0, 1] = q[0] * q[5]
    A = np.atleast_2d(q)
    A[0, 1] = 3.0
    E = np.expand_dims(q, 0)
    q[4] = 1.5
    return np.sum(E * W) + np.sum(y * y)""",
    "a reshape of a concatenation written": """
    c = np.concatenate([x, x])
    y = c.reshape(-1)
    y += 1.0
    return np.sum(c * c)""",
    "a row of a column written by its element": """
    X = x.reshape(3, 2) * 1.0
    c = X[:, 1]
    X[1, 1] = X[0, 0] ** 2
    return np.sum(c * c)""",
}


def _make(body):
    scope = {"np": np, "W": W}
    exec("def f(x):" + body + "\n", scope)
    return scope["f"]


X0 = np.array([0.7, -1.3, 2.1, 0.4, -0.6, 1.9])


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_a_view_follows_writes_as_numpys_in_both_modes(name):
    f = _make(PROGRAMS[name])
    want = _central(f, X0.copy())
    assert np.allclose(dd.grad(f, X0.copy()), want, atol=1e-6)
    assert np.allclose(dd.grad(f, X0.copy(), mode="forward"), want, atol=1e-6)
    value, g = dd.value_and_grad(f, X0.copy())
    assert np.isclose(value, f(X0.copy()), rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_a_view_follows_writes_under_the_hessian(name):
    f = _make(PROGRAMS[name])
    assert np.allclose(dd.hessian(f, X0.copy()), _central_hessian(f, X0.copy()), atol=1e-5)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_a_view_follows_writes_under_compile(name):
    f = _make(PROGRAMS[name])
    g = dd.compile(f)
    for x in (X0, X0[::-1] * 2.0, X0):  # recorded, then run
        mine, theirs = x.copy(), x.copy()
        assert g(mine) == f(theirs)
        assert np.array_equal(mine, theirs)  # what f wrote into its argument, as numpy
    grad = dd.compile(lambda x: dd.grad(f, x))
    assert np.array_equal(grad(X0.copy()), dd.grad(f, X0.copy()))


def test_the_briefs_case_a_row_read_after_its_matrix_is_written():
    def f(X):
        a = X[0]
        X[0] = 5.0
        return np.sum(a * X[1])
    X = np.arange(6.0).reshape(2, 3)
    assert f(X.copy()) == 60.0                   # numpy: a is [5, 5, 5]
    want = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    assert np.array_equal(dd.grad(f, X.copy()), want)
    assert np.array_equal(dd.grad(f, X.copy(), mode="forward"), want)
    assert dd.compile(f)(X.copy()) == 60.0
    assert np.array_equal(dd.hessian(f, X.copy()), np.zeros((2, 3, 2, 3)))


def test_a_view_of_an_argument_that_is_itself_a_view_of_the_callers_array():
    # x = np.arange(6.0).reshape(2, 3) is a view: its row a held the memory too, so the write
    # was refused as one numpy would pass on to another live value (a is remade instead)
    def f(X):
        a = X[0]
        b = a[1:]
        X[0] = 5.0 * X[1, 0]
        return np.sum(a * X[1]) + np.sum(b * b)
    X = np.arange(6.0).reshape(2, 3)
    assert X.base is not None and f(X.copy()) == 15.0 * 12.0 + 2 * 225.0
    want = np.array([[0.0, 0.0, 0.0], [15.0 + 5.0 * 12.0 + 2 * 2 * 15.0 * 5.0, 15.0, 15.0]])
    assert np.allclose(dd.grad(f, X), want)
    assert np.allclose(dd.grad(f, X, mode="forward"), want)
    assert dd.compile(f)(X.copy()) == f(X.copy())
    assert np.array_equal(X, np.arange(6.0).reshape(2, 3))


def test_views_in_a_loop_are_let_go():
    # x[i] read in a loop (numpy's row views) must not keep every row alive, nor make each
    # write cost the loop's length
    import gc
    import weakref

    def f(x):
        X = x.reshape(50, 2) * 1.0
        total = 0.0
        for i in range(50):
            row = X[i]
            X[i] = row * row      # the row is alive here: it is made X[i] again
            total = total + np.sum(row)
        return total
    x = np.linspace(-1.0, 1.0, 100)
    assert np.allclose(dd.grad(f, x), 2 * x)
    assert np.isclose(dd.value_and_grad(f, x)[0], np.sum(x * x))
    captured = []

    def g(x):
        X = x.reshape(50, 2) * 1.0
        for i in range(50):
            captured.append(weakref.ref(X[i]))
        return np.sum(X)
    dd.grad(g, x)
    gc.collect()
    assert all(r() is None for r in captured)


@pytest.mark.parametrize("body, error, said", [
    ("d = np.diagonal(y)\n    d[0] = 1.0", ValueError, "read-only"),
    ("b = np.broadcast_to(y[0], (2, 3))\n    b += 1.0", ValueError, "read-only"),
    ("d = y.diagonal()\n    d.sort()", ValueError, "read-only"),
])
def test_a_write_into_numpys_read_only_view_is_refused_as_numpy(body, error, said):
    scope = {"np": np}
    exec(f"def f(x):\n    y = x.reshape(2, 3) * 1.0\n    {body}\n    return np.sum(y)\n", scope)
    with pytest.raises(error, match=said):      # numpy's own program: the oracle
        scope["f"](X0.copy())
    for run in (lambda: dd.grad(scope["f"], X0), lambda: dd.compile(scope["f"])(X0.copy())):
        with pytest.raises(error, match=said):
            run()


def test_the_real_part_of_a_complex_value_follows_writes_and_refuses_its_own():
    def f(x):
        z = x * (1.0 + 2.0j)
        r = z.real
        z[0] = 3.0 * x[1] + 0.5j
        return np.sum(r * r)
    x = np.array([0.5, -1.0, 2.0])
    assert np.allclose(dd.grad(f, x), _central(f, x), atol=1e-6)   # r sees the write, as numpy

    def g(x):
        z = x * (1.0 + 2.0j)
        r = np.real(z)
        r[0] = 1.0       # numpy writes z's real part: a TypeError says what to write
        return np.sum(np.abs(z))
    with pytest.raises(TypeError, match=r"part of a complex value.*z = v \+ 1j \* z\.imag"):
        dd.grad(g, x)


# --- a 0-d array written in place: numpy writes into it (a scalar would be rebound) -----------

def _adds_into_a_0d_argument(u):
    z = u              # a second name: it sees the write, as with numpy
    u += 1.0
    u *= u
    return z * 2.0


def test_a_0d_argument_written_in_place_under_compile():
    # the compiled code rebound u, as for numpy's immutable scalars: value 6 (not 32) and the
    # caller's array never written
    g = dd.compile(_adds_into_a_0d_argument)
    for start in (3.0, 0.5, 3.0):
        mine, theirs = np.array(start), np.array(start)
        assert g(mine) == _adds_into_a_0d_argument(theirs)
        assert mine == theirs and type(mine) is np.ndarray and mine.shape == ()
    assert g(np.array(3.0)) == 32.0


def test_a_0d_argument_written_in_place_in_eager_mode():
    u = np.array(3.0)
    value, g = dd.value_and_grad(_adds_into_a_0d_argument, u)
    assert value == 32.0 and g == 4.0 * (3.0 + 1.0)   # 2 (u + 1)², closed form
    assert dd.grad(_adds_into_a_0d_argument, u, mode="forward") == 16.0
    assert dd.hessian(_adds_into_a_0d_argument, u) == 4.0
    assert u == 3.0                                  # the caller's array: grad's own copy


def test_a_numpy_scalar_is_still_rebound_as_numpy():
    def f(x):
        s = x[0]           # numpy's scalar: immutable, so s += 1 rebinds s alone
        t = s
        s += 1.0
        return t * s
    x = np.array([2.0, 5.0])
    assert f(x) == 6.0
    assert dd.grad(f, x)[0] == 5.0 and dd.compile(f)(x) == 6.0


# --- np.errstate(over="raise") under dd.grad, which defers values it never reads --------------

_BIG = np.full((300, 300), 1e200)   # large enough to be deferred (tape.DEFER_MIN_SIZE)


def _penalised(w):
    penalty = np.sum(w * w)           # overflows; never read by the gradient
    return np.sum(np.sin(w)) + 0.0 * penalty


@pytest.mark.parametrize("state", [{"over": "raise"}, {"all": "raise"},
                                   {"over": "call", "invalid": "ignore"}])
def test_an_error_state_that_raises_raises_under_grad(state):
    calls = []
    old = np.seterrcall(lambda kind, flag: calls.append(kind))
    try:
        with np.errstate(**state):
            if "call" in state.values():
                _penalised(_BIG.copy())
                numpy_calls, calls[:] = len(calls), []
                dd.grad(_penalised, _BIG)
                assert len(calls) == numpy_calls > 0
            else:
                with pytest.raises(FloatingPointError):
                    _penalised(_BIG.copy())      # numpy's own behaviour: the oracle
                with pytest.raises(FloatingPointError, match="overflow"):
                    dd.grad(_penalised, _BIG)
    finally:
        np.seterrcall(old)


def test_under_numpys_default_a_value_never_read_never_warns_as_documented():
    # docs/architecture.md: under "warn" a deferred value grad never reads is never computed, so
    # its warning never comes, a warnings filter that makes it an error included; an error
    # state that raises is what makes grad compute it (above). The gradient is numpy's cos(w).
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning):
            _penalised(_BIG.copy())                    # numpy's own program warns
        assert np.array_equal(dd.grad(_penalised, _BIG), np.cos(_BIG))
        with np.errstate(over="raise"):
            with pytest.raises(FloatingPointError):
                dd.grad(_penalised, _BIG)


# --- argnums=(0, 1) at (x, x): one array given twice, written into inside f ------------------

def _writes_into_its_first(a, b):
    a[0] = 5.0
    return np.sum(a * b)


@pytest.mark.parametrize("argnums", [(0, 1), 0])
@pytest.mark.parametrize("second", [lambda x: x, lambda x: x[::-1], lambda x: x.reshape(3, 1)[:, 0]])
def test_an_argument_another_shares_is_refused_when_written(argnums, second):
    # numpy's write shows in b too (the sum is 38 at x below); the eager transforms made a and
    # b values apart, so b kept its old content: value 18 and b's derivative [5, 2, 3], silently
    x = np.array([1.0, 2.0, 3.0])
    plain = x.copy()
    assert _writes_into_its_first(plain, plain) == 38.0
    for mode in ("reverse", "forward"):
        with pytest.raises(TypeError, match="shares memory with argument 1.*Pass a copy"):
            dd.grad(_writes_into_its_first, argnums=argnums, mode=mode)(x, second(x))
    with pytest.raises(TypeError, match="shares memory"):
        dd.hessian(_writes_into_its_first, argnums=argnums)(x, second(x))
    # a copy, as the message says: numpy's program on two arrays, and its gradient
    got = dd.grad(_writes_into_its_first, argnums=(0, 1))(x, x.copy())
    assert np.array_equal(got[0], [0.0, 2.0, 3.0]) and np.array_equal(got[1], [5.0, 2.0, 3.0])
    assert np.array_equal(x, [1.0, 2.0, 3.0])


def test_arguments_that_share_memory_but_are_not_written_are_differentiated():
    x = np.array([1.0, 2.0, 3.0])
    ga, gb = dd.grad(lambda a, b: np.sum(a * b), argnums=(0, 1))(x, x)
    assert np.array_equal(ga, x) and np.array_equal(gb, x)
    halves = np.arange(1.0, 7.0)        # two halves of one array: no element shared

    def written(a, b):
        a = a * 1.0
        a[0] = 5.0
        return np.sum(a * b)
    assert np.array_equal(dd.grad(written, argnums=0)(halves[:3], halves[3:]), [0.0, 5.0, 6.0])


def test_an_argument_held_fixed_that_shares_a_differentiated_ones_memory_is_read_only():
    # f(x, x) with argnums=0 and a write into the second: numpy's write changes the first too,
    # under its derivative; the eager transform now gives f that array read-only (numpy's own
    # ValueError), never a gradient computed from values changed under it
    def f(a, b):
        b[0] = 5.0
        return np.sum(a * b)
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="read-only"):
        dd.grad(f, argnums=0)(x, x)
    with pytest.raises(ValueError, match="read-only"):
        dd.grad(f, argnums=0)(x, b=x[::-1])
    assert np.array_equal(x, [1.0, 2.0, 3.0])
    assert np.array_equal(dd.grad(f, argnums=0)(x, x.copy()), [5.0, 2.0, 3.0])
    assert np.array_equal(dd.grad(lambda a, b: np.sum(a * b), argnums=0)(x, x), x)  # read only


# --- pickling a compiled function: by its module and name, as any function (docs/compile.md) --

@dd.compile
def _compiled_square_sum(x):
    return np.sum(x * x)


def test_a_compiled_function_pickles_by_its_name_as_any_function():
    import pickle
    again = pickle.loads(pickle.dumps(_compiled_square_sum))
    assert again is _compiled_square_sum and again(np.array([1.0, 2.0])) == 5.0
    with pytest.raises((pickle.PicklingError, AttributeError)):   # pickle's own, as for f
        pickle.dumps(dd.compile(lambda x: np.sum(x)))


def _rows_kept_while_written(x):
    X = x.reshape(-1, 2) * 1.0
    rows = [X[i] for i in range(X.shape[0])]      # numpy's views, all alive
    for i in range(X.shape[0]):
        X[i] = rows[i] * 3.0                       # rows[i] sees it: the others do not change
    return np.sum(rows[1] * rows[1]) + np.sum(X)


def test_rows_kept_while_the_matrix_is_written_row_by_row():
    x = np.arange(1.0, 9.0)
    assert np.isclose(dd.value_and_grad(_rows_kept_while_written, x)[0],
                      _rows_kept_while_written(x.copy()))
    want = np.full(8, 3.0)
    want[2:4] += 18.0 * x[2:4]                     # rows[1] = 3 x[2:4], read squared
    assert np.allclose(dd.grad(_rows_kept_while_written, x), want)
    # each write remakes its own row alone (it once remade every live row: n² operations)
    counts = [dd.grad(_rows_kept_while_written, np.ones(2 * n), full_output=True)[1].operations
              for n in (20, 40)]
    assert counts[1] < 2.2 * counts[0]
