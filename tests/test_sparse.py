"""Sparsity detection, colourings and sparse Jacobians/Hessians, against independent oracles.

- Patterns: the nonzeros of the dense complex-step (or central-difference) Jacobian at random
  points, for every case of the table test and for random compositions. Local patterns equal it;
  global patterns equal it for analytic functions and contain it where f branches.
- Colourings: a brute-force checker written here (pairs of columns, paths of four vertices).
- Sparse results: equal, exactly, to the dense Jacobian/Hessian of dualdiff's dense path, itself
  checked against complex step elsewhere; and to the complex-step oracle to rounding.
"""

from __future__ import annotations

import itertools
import sys
import zlib

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.sparsity import Pattern
from oracles import central_difference_jacobian, complex_step_jacobian
from table_cases import CASES
from table_cases.reductions import SELECT_BY_VALUE

sp = pytest.importorskip("scipy.sparse")


# --------------------------------------------------------------------------------------------
# Patterns of the table's primitives
# --------------------------------------------------------------------------------------------

def _table_cases():
    for cases in CASES.values():
        for case in cases:
            yield pytest.param(case, id=case.id)


def _split(flat, shapes):
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        piece = flat[start:start + size].reshape(shape)
        out.append(piece if shape else piece[()])
        start += size
    return out


#: Decompositions whose tangent rules go through triangular solves: their patterns are
#: structural (L⁻¹ of a triangular L is a full triangle), a superset of the Jacobian's nonzeros
#: where entries cancel numerically (the Cholesky factor's L[2, 0] = A[2, 0]/L[0, 0] ignores A[1, 0]).
STRUCTURAL = {"cholesky", "qr"}
#: The Fourier transforms' patterns are dense along the transformed axes; the split into real and
#: imaginary parts has entries that vanish for real input only (Im of the DC bin) or numerically
#: (cos(π/2) ≈ 6e-17), which index sets do not see.
#: corrcoef's diagonal is 1 for every x: its derivative cancels numerically, its pattern does not.
STRUCTURAL |= {"corrcoef"}
#: Composites that multiply by constant zeros (convolve's zero padding, polyval's start from
#: zeros, as numpy's): the global pattern ignores values, so it is a superset there.
CONSTANT_ZEROS = ("convolve", "polyval", "polymul")
STRUCTURAL |= {"fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
               "irfft2", "rfftn", "irfftn", "hfft", "ihfft"}


def _case_functions(case):
    """A table case as (f on dualdiff's traced arguments, x, its numpy twin on a flat vector,
    that flat vector, all of the case's arguments)."""
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    args = case.args(rng)
    traced = list(range(len(args)) if case.traced is None else case.traced)
    shapes = [np.shape(args[i]) for i in traced]

    def with_traced(values):
        full = list(args)
        for i, v in zip(traced, values):
            full[i] = v
        return full

    def f_dd(t):
        return case.fn(*with_traced(list(t)))

    def f_ref(flat):
        return case.ref(*with_traced(_split(flat, shapes)))

    flat = np.concatenate([np.ravel(args[i]) for i in traced]).astype(float)
    return f_dd, tuple(args[i] for i in traced), f_ref, flat, args


@pytest.mark.parametrize("case", list(_table_cases()))
def test_table_pattern_matches_the_oracle(case):
    f_dd, x, f_ref, flat, args = _case_functions(case)
    oracle_J = (complex_step_jacobian if case.oracle == "complex" else central_difference_jacobian)(
        f_ref, flat)
    m = int(np.prod(np.shape(oracle_J)[:-1]))
    oracle = np.abs(np.reshape(oracle_J, (m, flat.size))) > 1e-7
    local = dd.sparsity(f_dd, x, local=True).toarray()
    if case.id.split("-")[0] in STRUCTURAL:
        assert not (oracle & ~local).any(), f"{case.id}: the local pattern misses a nonzero"
        return
    assert np.array_equal(local, oracle), f"{case.id}: local pattern differs from the oracle's"
    if case.id.split("-")[0] in SELECT_BY_VALUE + ("ptp", "sort", "partition") and np.size(args[0]) > 1:
        with pytest.raises(TypeError, match="selects elements by value"):
            dd.sparsity(f_dd, x)
        return
    glob = dd.sparsity(f_dd, x).toarray()
    assert local.shape == oracle.shape == glob.shape
    assert not (oracle & ~glob).any(), f"{case.id}: the global pattern misses a nonzero"
    # where, and the composites written with it, take both branches in the global pattern (so
    # does sum_where, whose mask may come from the values: where=x > 0)
    if case.oracle == "complex" and not case.special_point and not case.id.startswith(
            ("where", "tril", "triu", "select", "choose", "index_update", "sum_where")
            + CONSTANT_ZEROS):
        assert np.array_equal(glob, oracle), f"{case.id}: global pattern has extra entries"


def _general_path_only(monkeypatch):
    """Detection with every rule applied to Python sets (the fast path switched off)."""
    from dualdiff.sparsity import PatternTag
    monkeypatch.setattr(PatternTag, "_fast", lambda self, *args: None)


@pytest.mark.parametrize("case", list(_table_cases()))
def test_fast_path_equals_the_general_path(case, monkeypatch):
    """Index sets held in numpy arrays give exactly the patterns (and the errors) of Python sets."""
    f_dd, x = _case_functions(case)[:2]
    results = []
    for general in (False, True):
        if general:
            _general_path_only(monkeypatch)
        found = []
        for local in (False, True):
            try:
                found.append(dd.sparsity(f_dd, x, local=local, format="coo"))
            except TypeError as e:
                found.append(str(e))
        results.append(found)
    for fast, general in zip(*results):
        if isinstance(general, str):
            assert fast == general
        else:
            assert fast.shape == general.shape
            assert np.array_equal(fast.row, general.row) and np.array_equal(fast.col, general.col)


def test_banded_maps_never_leave_the_fast_path(monkeypatch):
    """The maps the benchmarks time are detected without one Python set per element."""
    from dualdiff.sparsity import PatternTag

    def refuse(self, t):
        raise AssertionError("the general path ran")

    monkeypatch.setattr(PatternTag, "as_objects", refuse)
    x = np.linspace(0.5, 1.5, 12)
    for f in (banded, block_diagonal, lambda v: _brusselator(v)):
        assert dd.sparsity(f, x).nnz > 0
        assert dd.sparsity(f, x, local=True).nnz > 0
    for f in (rosenbrock, banded_hessian_f):       # through the reverse sweep: index_add & co.
        assert dd.hessian_sparsity(f, x).nnz > 0


def _brusselator(y):
    """The right-hand side of the 1-D Brusselator (docs/scipy-solve-ivp.md), 6 cells."""
    u, v = y[0::2], y[1::2]
    up, vp = dd.concatenate([[1.0], u, [1.0]]), dd.concatenate([[3.0], v, [3.0]])
    uuv = u * u * v
    du = 1.0 + uuv - 4.0 * u + 49 * (up[:-2] - 2.0 * u + up[2:])
    dv = 3.0 * u - uuv + 49 * (vp[:-2] - 2.0 * v + vp[2:])
    return dd.reshape(dd.stack([du, dv], axis=1), (-1,))


def test_global_patterns_take_both_branches():
    x = np.array([2.0, -1.0, 0.5])
    f = lambda x: np.maximum(x, x[::-1]) + dd.relu(x) * np.abs(x)    # noqa: E731
    both = np.eye(3, dtype=bool) | np.eye(3, dtype=bool)[::-1]
    assert np.array_equal(dd.sparsity(f, x).toarray(), both)
    local = dd.sparsity(f, x, local=True).toarray()
    oracle = np.abs(central_difference_jacobian(lambda v: np.maximum(v, v[::-1])
                                                + np.maximum(v, 0) * np.abs(v), x)) > 1e-7
    assert np.array_equal(local, oracle)
    w = lambda x: np.where(x > 0, np.sin(x[::-1]), x ** 2)            # noqa: E731
    assert np.array_equal(dd.sparsity(w, x).toarray(), both)


def _random_composition(rng, n):
    """A random function of an n-vector, built from the table's functions, and its numpy twin."""
    unary = [(np.sin, np.sin), (np.exp, np.exp), (np.tanh, np.tanh),
             (lambda v: v * v, lambda v: v * v), (lambda v: np.log(1 + v * v), lambda v: np.log(1 + v * v))]
    steps = []
    for _ in range(rng.integers(2, 6)):
        kind = rng.integers(0, 5)
        if kind == 0:
            steps.append(("unary", unary[rng.integers(len(unary))]))
        elif kind == 1:
            steps.append(("perm", rng.permutation(n)))
        elif kind == 2:
            steps.append(("shift", int(rng.integers(1, n))))
        elif kind == 3:
            steps.append(("matmul", rng.normal(size=(n, n))
                          * (rng.uniform(size=(n, n)) < 0.3) + np.eye(n)))
        else:
            steps.append(("window", int(rng.integers(1, n // 2 + 1))))

    def build(xp, on_dd):
        def f(x):
            y = x
            for kind, arg in steps:
                if kind == "unary":
                    y = (arg[0] if on_dd else arg[1])(y)
                elif kind == "perm":
                    y = y * y[arg]
                elif kind == "shift":
                    y = y + xp.concatenate([y[arg:], y[:arg]]) * x[0]
                elif kind == "matmul":
                    y = np.tanh(y) @ arg.T
                else:
                    y = xp.concatenate([y[:n - arg] * y[arg:], y[n - arg:]])
            return y
        return f

    return build(dd, True), build(np, False), steps


@pytest.mark.parametrize("seed", range(12))
def test_random_compositions(seed):
    rng = np.random.default_rng(seed)
    n = 7
    f_dd, f_np, steps = _random_composition(rng, n)
    x = rng.uniform(-1, 1, size=n)
    oracle = np.abs(complex_step_jacobian(f_np, x)) > 0
    local = dd.sparsity(f_dd, x, local=True).toarray()
    glob = dd.sparsity(f_dd, x).toarray()
    assert np.array_equal(local, oracle), steps
    assert np.array_equal(glob, oracle), steps  # analytic: no branches, so global is exact too


def test_hessian_pattern_matches_second_differences():
    rng = np.random.default_rng(5)
    A = (rng.uniform(size=(6, 6)) < 0.3) * rng.normal(size=(6, 6))
    f = lambda x: np.sum(np.sin(x[1:] * x[:-1])) + np.sum(x ** 3) + (A @ x) @ x[::-1]  # noqa: E731
    x = rng.uniform(-1, 1, size=6)
    H = dd.hessian(f, x)
    H_ref = complex_step_jacobian(lambda v: _grad_np(A, v), x)
    assert np.allclose(H, H_ref, atol=1e-10)          # the hand-written gradient is right
    oracle = np.abs(H_ref) > 1e-9
    glob = dd.hessian_sparsity(f, x).toarray()
    local = dd.hessian_sparsity(f, x, local=True).toarray()
    assert np.array_equal(local, oracle)
    assert not (oracle & ~glob).any()
    assert np.array_equal(glob, glob.T)


def _grad_np(A, v):
    """The gradient of the Hessian test's f, written out by hand (complex-analytic)."""
    g = 3 * v ** 2
    c = np.cos(v[1:] * v[:-1])
    g = g + np.concatenate([c * v[1:], [0]]) + np.concatenate([[0], c * v[:-1]])
    r = v[::-1]
    g = g + A.T @ r + (A @ v)[::-1]
    return g


def test_detection_refuses_rules_that_select_by_value():
    pick = dd.Primitive("pick_largest_test", lambda v: v[np.argmax(v)],
                        lambda p, t, out, params, chunked: t[0][np.argmax(p[0])],
                        lambda *a: None)
    with pytest.raises(TypeError, match="different sparsity pattern"):
        dd.sparsity(pick, np.array([1.0, 3.0, 2.0, 0.5]))
    assert dd.sparsity(pick, np.array([1.0, 3.0, 2.0, 0.5]), local=True).toarray().tolist() == [
        [False, True, False, False]]


def test_detection_refuses_rules_that_cannot_take_index_sets():
    solve = dd.Primitive("solve_test", lambda a: np.linalg.solve(a, np.ones(2)),
                         lambda p, t, out, params, chunked: np.linalg.solve(p[0], t[0] @ out),
                         lambda *a: None)
    with pytest.raises(TypeError, match="could not apply the tangent rule of 'solve_test'"):
        dd.sparsity(solve, np.eye(2) * 2)


def test_pattern_memory_is_per_nonzero():
    n = 20000
    p = dd.sparsity(lambda x: x[1:] - x[:-1], np.ones(n), format="coo")
    assert len(p.data) == 2 * (n - 1) and p.shape == (n - 1, n)


# --------------------------------------------------------------------------------------------
# Colourings against a brute-force checker
# --------------------------------------------------------------------------------------------

def _brute_column_ok(D, colors):
    m, n = D.shape
    for j, k in itertools.combinations(range(n), 2):
        if colors[j] == colors[k] and (D[:, j] & D[:, k]).any():
            return False
    return True


def _brute_star_ok(D, colors):
    """Distance-1 on the adjacency graph, and no path on four vertices with only two colours."""
    n = D.shape[0]
    A = (D | D.T) & ~np.eye(n, dtype=bool)
    if any(A[i, j] and colors[i] == colors[j] for i in range(n) for j in range(n)):
        return False
    for a, b, c, d in itertools.permutations(range(n), 4):
        if A[a, b] and A[b, c] and A[c, d] and colors[a] == colors[c] and colors[b] == colors[d]:
            return False
    return True


def _random_pattern(rng, m, n, density):
    return rng.uniform(size=(m, n)) < density


@pytest.mark.parametrize("seed", range(15))
def test_colorings_are_valid_by_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    m, n = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    D = _random_pattern(rng, m, n, rng.uniform(0.05, 0.6))
    for order in ("largest_first", "natural"):
        c = dd.color_columns(D, order=order)
        assert _brute_column_ok(D, c.colors)
        dd.check_coloring(c)
        r = dd.color_rows(D, order=order)
        assert _brute_column_ok(D.T, r.colors)
        dd.check_coloring(r)
    S = _random_pattern(rng, n, n, rng.uniform(0.05, 0.5))
    S = S | S.T | np.eye(n, dtype=bool)
    s = dd.color_star(S)
    assert _brute_star_ok(S, s.colors)
    dd.check_coloring(s)


def test_the_library_checker_rejects_invalid_colorings():
    D = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    with pytest.raises(ValueError, match="column coloring is invalid"):
        dd.check_coloring(dd.Coloring("column", np.array([0, 0, 1]), dd.Pattern.from_coo(
            *np.nonzero(D), D.shape)))
    path = np.eye(4, dtype=bool) | np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool)
    bicolored = dd.Coloring("star", np.array([0, 1, 0, 1]), Pattern.from_coo(
        *np.nonzero(path), path.shape))
    assert not _brute_star_ok(path, bicolored.colors)
    with pytest.raises(ValueError, match="star coloring is invalid"):
        dd.check_coloring(bicolored)


# --------------------------------------------------------------------------------------------
# Sparse == dense, exactly, forward and reverse
# --------------------------------------------------------------------------------------------

def banded(x):
    xp = dd.concatenate([np.zeros(2), x, np.zeros(2)])
    return xp[:-4] - 2 * xp[2:-2] * xp[1:-3] + xp[4:] + np.sin(x) * xp[3:-1]


def block_diagonal(x):
    b = dd.reshape(x, (-1, 3))
    c = dd.stack([b[:, 0] * b[:, 1], np.sin(b[:, 1] + b[:, 2]), b[:, 2] * b[:, 0] ** 2], axis=1)
    return dd.reshape(np.tanh(c) * b[:, ::-1], (-1,))


def arrow(x):
    return dd.concatenate([dd.reshape(np.sum(x ** 2), (1,)), x[1:] * x[0] + np.exp(x[1:])])


PICK = np.random.default_rng(3).integers(0, 12, size=(3, 10))


def random_sparse(x):
    return np.sin(x[PICK[0]]) * x[PICK[1]] + np.exp(x[PICK[2]] * x[PICK[0]])


W = np.where(np.random.default_rng(4).uniform(size=(10, 12)) < 0.2,
             np.random.default_rng(5).normal(size=(10, 12)), 0.0)


def constant_matrix(x):
    return np.sin(W @ x) * (W @ (x * x))


MAPS = [(banded, 12), (block_diagonal, 12), (arrow, 9), (random_sparse, 12)]


@pytest.mark.parametrize("f, n", MAPS, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_sparse_jacobian_equals_dense(f, n, mode):
    x = np.random.default_rng(n).uniform(0.5, 1.5, size=n)
    J, info = dd.jacobian(f, x, sparse=True, mode=mode, chunk="auto", full_output=True)
    # Forward and reverse mode sum the same products in different orders; each sparse mode
    # equals its dense counterpart exactly.
    dense = dd.jacobian(f, x, mode=info.mode)
    assert isinstance(J, sp.csr_array)
    assert np.array_equal(J.toarray(), dense)
    assert info.nonzeros == J.nnz and info.colors >= 1
    assert info.mode in ("forward", "reverse")
    # Independent oracle, to rounding.
    ref = complex_step_jacobian(lambda v: _complex_twin(f, v), x)
    assert np.allclose(J.toarray(), ref, rtol=1e-12, atol=1e-12)
    # Reusing the pattern and the colouring gives the same numbers at a new point.
    x2 = x[::-1].copy()
    pattern = dd.sparsity(f, x)
    for reuse in (pattern, J != 0, dd.color_columns(pattern), dd.color_rows(pattern)):
        J2, info2 = dd.jacobian(f, x2, sparse=reuse, chunk=2, mode="auto", full_output=True)
        assert np.array_equal(J2.toarray(), dd.jacobian(f, x2, mode=info2.mode))
    coo = dd.jacobian(f, x, sparse=pattern, mode=mode, format="coo")
    assert np.array_equal(sp.coo_array((coo.data, (coo.row, coo.col)), shape=coo.shape).toarray(),
                          dense)


def _complex_twin(f, v):
    """f on complex input, with numpy in place of dualdiff's concatenate/reshape."""
    import types
    shim = types.SimpleNamespace(concatenate=np.concatenate, reshape=np.reshape, stack=np.stack)
    g = types.FunctionType(f.__code__, dict(f.__globals__, dd=shim, np=np))
    return g(v)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_constant_sparse_matrix_keeps_its_zeros(mode):
    x = np.random.default_rng(6).uniform(0.5, 1.5, size=12)
    J = dd.jacobian(constant_matrix, x, sparse=True, mode=mode, chunk="auto")
    assert J.nnz == np.count_nonzero(W)                 # the global pattern is W's
    # BLAS sums in another order with k directions than with one: equal to rounding.
    assert np.allclose(J.toarray(), complex_step_jacobian(constant_matrix, x), rtol=1e-13,
                       atol=1e-14)


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def arrow_hessian_f(x):
    return x[0] * np.sum(np.sin(x[1:])) + np.sum(x ** 4)


def banded_hessian_f(x):
    return np.sum(np.exp(x[2:] * x[:-2]) + x[1:-1] * x[:-2] ** 2)


@pytest.mark.parametrize("f", [rosenbrock, arrow_hessian_f, banded_hessian_f])
def test_sparse_hessian_equals_dense(f):
    x = np.random.default_rng(1).uniform(-1, 1, size=9)
    dense = dd.hessian(f, x)
    H, info = dd.hessian(f, x, sparse=True, full_output=True)
    assert np.array_equal(H.toarray(), dense)
    assert info.nonzeros == H.nnz
    if f is arrow_hessian_f:
        assert info.colors == 2                 # a star colouring, not n colours
    coloring = dd.color_star(dd.hessian_sparsity(f, x))
    x2 = x * 0.5
    assert np.array_equal(dd.hessian(f, x2, sparse=coloring).toarray(), dd.hessian(f, x2))
    cols = dd.color_columns(dd.hessian_sparsity(f, x))
    assert np.array_equal(dd.hessian(f, x2, sparse=cols).toarray(), dd.hessian(f, x2))


def test_mode_auto_reports_its_choice():
    _, info = dd.jacobian(lambda x: x[:2] * 3, np.ones(10), mode="auto", full_output=True)
    assert info.mode == "reverse" and info.passes == 2
    _, info = dd.jacobian(lambda x: dd.concatenate([x, x]), np.ones(3), mode="auto",
                          full_output=True)
    assert info.mode == "forward"
    _, info = dd.jacobian(banded, np.ones(12), sparse=True, mode="auto", full_output=True)
    assert info.mode == "forward" and info.colors == 5


def test_bad_arguments_get_clear_errors():
    x = np.ones(4)
    with pytest.raises(ValueError, match="format must be"):
        dd.jacobian(banded, x, sparse=True, format="dense")
    with pytest.raises(ValueError, match="has 3 columns, but x has 4"):
        dd.jacobian(banded, x, sparse=np.ones((4, 3), dtype=bool))
    with pytest.raises(TypeError, match="sparsity pattern must be"):
        dd.jacobian(banded, x, sparse="banded")
    with pytest.raises(ValueError, match="mode must be"):
        dd.jacobian(banded, x, mode="sideways", sparse=True)
    with pytest.raises(TypeError, match="executor must be"):
        dd.jacobian(banded, x, executor=4)
    with pytest.raises(ValueError, match="star coloring is for symmetric Hessians"):
        dd.jacobian(banded, x, sparse=dd.color_star(np.eye(4, dtype=bool)))
    with pytest.raises(ValueError, match="row coloring is for reverse-mode"):
        dd.hessian(rosenbrock, x, sparse=dd.color_rows(np.eye(4, dtype=bool)))


def test_complex_valued_f():
    g = lambda v: v[::-1] * (1 + 2j)                   # noqa: E731
    x = np.array([1.0, 2.0, 3.0])
    dense = dd.jacobian(g, x)
    assert np.array_equal(dd.jacobian(g, x, sparse=True).toarray(), dense)   # forward: exact
    h = lambda v: dd.stack([np.sum(v) * 1j])            # noqa: E731  (m < n: auto would say reverse)
    with pytest.raises(TypeError, match="imaginary part"):
        dd.jacobian(h, x, sparse=True, mode="reverse")
    for kwargs in ({"mode": "auto"}, {"mode": "auto", "sparse": True}):
        J, info = dd.jacobian(h, x, full_output=True, **kwargs)
        assert info.mode == "forward"
        assert np.array_equal(J.toarray() if kwargs.get("sparse") else J, [[1j, 1j, 1j]])


def test_float32_and_empty():
    x = np.ones(5, dtype=np.float32)
    J = dd.jacobian(lambda v: v[1:] * v[:-1], x, sparse=True)
    assert J.dtype == np.float32
    J = dd.jacobian(lambda v: v * 2, np.ones(0), sparse=True)
    assert J.shape == (0, 0) and J.nnz == 0


def test_missing_scipy_says_how_to_install_it_or_do_without(monkeypatch):
    x = np.random.default_rng(4).uniform(-1, 1, 6)
    coloring = dd.color_star(dd.hessian_sparsity(rosenbrock, x))
    dd.hessian(rosenbrock, x, sparse=coloring)  # a reused colouring: nothing left to import
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)  # makes "import scipy.sparse" fail
    with pytest.raises(ImportError, match="format=\"coo\""):
        dd.hessian(rosenbrock, x, sparse=coloring)
    coo = dd.hessian(rosenbrock, x, sparse=coloring, format="coo")  # needs no scipy
    assert np.array_equal(sp.coo_array((coo.data, (coo.row, coo.col)), shape=coo.shape).toarray(),
                          dd.hessian(rosenbrock, x))
