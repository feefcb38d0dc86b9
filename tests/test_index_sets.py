"""Index sets held in numpy arrays (dualdiff/index_sets.py) against Python's own sets, and the
banded shortcut of the column colouring against a brute-force checker and its lower bound.

Sparsity detection's patterns through these sets are checked against complex-step Jacobians
and against the general path (Python set objects) in tests/test_sparse.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.coloring import _column_graph, _greedy
from dualdiff.index_sets import SetArray, SetStore, Unsupported
from dualdiff.sparsity import Pattern


def _random_sets(rng, count, n, widths):
    """``count`` random subsets of range(n), sizes drawn from ``widths`` (0: empty)."""
    return [frozenset(rng.choice(n, size=int(rng.choice(widths)), replace=False).tolist())
            for _ in range(count)]


def _as_sets(store, ids):
    return [frozenset(s) for s in store.to_lists(ids)]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("widths", [(1,), (2,), (0, 1, 3), (1, 2, 3, 4, 5), (0, 9, 20)])
def test_union_equals_python_sets(seed, widths):
    rng = np.random.default_rng(seed)
    n = 40
    store = SetStore(n)
    left, right = _random_sets(rng, 50, n, widths), _random_sets(rng, 50, n, widths)
    a, b = store.from_sets(left), store.from_sets(right)
    assert _as_sets(store, a) == left and _as_sets(store, b) == right
    b[::7] = a[::7]                    # equal ids: the union is the set itself
    right = _as_sets(store, b)
    union = store.union(a, b)
    assert _as_sets(store, union) == [x | y for x, y in zip(left, right)]
    for s in store.to_lists(union):
        assert s == sorted(set(s))    # stored sets are sorted, without repeats
    # one side contained in the other gives that side's id: no new set
    grown = store.union(union, a)
    assert np.array_equal(grown, union)
    shaped = store.union(a.reshape(5, 10), b.reshape(5, 10))
    assert shaped.shape == (5, 10) and _as_sets(store, shaped) == _as_sets(store, union)


@pytest.mark.parametrize("seed", range(6))
def test_union_along_equals_python_sets(seed):
    rng = np.random.default_rng(seed)
    n = 30
    store = SetStore(n)
    sets = _random_sets(rng, 24, n, (0, 1, 2, 5))
    ids = store.from_sets(sets).reshape(2, 3, 4)
    objects = np.empty(24, dtype=object)
    objects[:] = sets
    objects = objects.reshape(2, 3, 4)
    for axes in [(0,), (1,), (2,), (0, 2), (0, 1, 2), ()]:
        for keepdims in (False, True):
            got = store.union_along(ids, axes, keepdims)
            want = objects
            for axis in sorted(axes, reverse=True):
                want = np.apply_along_axis(lambda v: frozenset().union(*v), axis, want)
                if keepdims:
                    want = np.expand_dims(want, axis)
            assert got.shape == np.shape(want)
            assert _as_sets(store, got) == list(np.ravel(want)), (axes, keepdims)


def test_set_arrays_model_only_the_set_algebra():
    store = SetStore(4)
    x = SetArray(store.singletons(0, 4), store, False)
    both = x + SetArray(x.ids[::-1], store, False)
    assert store.to_lists(both.ids) == [[0, 3], [1, 2], [1, 2], [0, 3]]
    for same in (2.0 * x, x * np.zeros(4), x / 3.0, -x, np.conjugate(x), x - 1.0, np.real(x)):
        assert np.array_equal(same.ids, x.ids)       # a product with any number keeps the set
    total = np.add.reduce(x)                         # what the sum primitive computes
    assert total.ids.shape == () and store.to_lists(total.ids) == [[0, 1, 2, 3]]
    assert np.broadcast_to(x, (2, 4)).shape == (2, 4) and np.shape(x) == (4,)
    local = SetArray(x.ids, store, True)              # the pattern at x: an exact 0 drops it
    assert store.to_lists((local * np.array([1.0, 0.0, 2.0, 0.0])).ids) == [[0], [], [2], []]
    for unmodelled in (lambda: np.exp(x), lambda: np.asarray(x), lambda: x[0],
                       lambda: x * x, lambda: np.divide(1.0, x), lambda: np.cumsum(x),
                       lambda: np.add.accumulate(x), lambda: np.matmul(np.eye(4), x)):
        with pytest.raises(Unsupported):
            unmodelled()


# --------------------------------------------------------------------------------------------
# The banded colouring
# --------------------------------------------------------------------------------------------

def _brute_column_ok(D, colors):
    return not any(colors[j] == colors[k] and (D[:, j] & D[:, k]).any()
                   for j, k in itertools.combinations(range(D.shape[1]), 2))


@pytest.mark.parametrize("seed", range(12))
def test_banded_patterns_get_the_fewest_colors(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(3, 12)), int(rng.integers(3, 12))
    lower, upper = -int(rng.integers(0, 3)), int(rng.integers(0, 3))
    D = np.zeros((m, n), dtype=bool)
    for i in range(m):
        for j in range(i + lower, i + upper + 1):
            if 0 <= j < n:
                D[i, j] = True
    D[rng.uniform(size=D.shape) < 0.1] = False       # holes inside the band change nothing
    D[np.arange(min(m, n) - 1), np.arange(min(m, n) - 1)] |= True
    c = dd.color_columns(D)
    assert _brute_column_ok(D, c.colors)
    dd.check_coloring(c)
    widest = int(D.sum(axis=1).max())
    spans = [np.flatnonzero(r)[-1] - np.flatnonzero(r)[0] + 1 for r in D if r.any()]
    if max(spans) == widest:                         # the shortcut applies: optimal
        assert c.n_colors == widest
    greedy = _greedy(*_column_graph(Pattern.from_coo(*np.nonzero(D), D.shape)), "largest_first")
    assert c.n_colors <= int(greedy.max()) + 1       # never more colours than the greedy's


def test_patterns_that_are_not_banded_are_coloured_greedily():
    # row 0 spans 4 columns with 2 entries: not banded, so the greedy colouring (2 colours)
    D = np.array([[1, 0, 0, 1], [0, 1, 1, 0]], dtype=bool)
    c = dd.color_columns(D)
    greedy = _greedy(*_column_graph(Pattern.from_coo(*np.nonzero(D), D.shape)), "largest_first")
    assert np.array_equal(c.colors, greedy) and c.n_colors == 2
    # the natural order asks for the greedy colouring even of a banded pattern
    band = np.eye(5, dtype=bool) | np.eye(5, k=1, dtype=bool)
    natural = dd.color_columns(band, order="natural")
    assert np.array_equal(natural.colors, _greedy(*_column_graph(
        Pattern.from_coo(*np.nonzero(band), band.shape)), "natural"))
    assert dd.color_columns(np.zeros((3, 4), dtype=bool)).n_colors == 1


# --------------------------------------------------------------------------------------------
# Memory: sets no array refers to are dropped
# --------------------------------------------------------------------------------------------

def test_compact_keeps_exactly_the_live_sets():
    store = SetStore(6)
    x = SetArray(store.singletons(0, 6), store, False)
    pairs = x + SetArray(x.ids[::-1], store, False)
    wide = np.broadcast_to(pairs, (3, 6))               # a broadcast view: renumbered as one
    scalar = np.add.reduce(pairs)
    before = [store.to_lists(a.ids) for a in (x, pairs, wide, scalar)]
    for _ in range(5):
        pairs + SetArray(x.ids[[1, 2, 3, 4, 5, 0]], store, False)   # garbage, at once
    used = store._used
    store.compact()
    assert store._used < used
    assert [store.to_lists(a.ids) for a in (x, pairs, wide, scalar)] == before
    assert wide.ids.strides[0] == 0 and scalar.ids.shape == ()


def test_long_computations_keep_the_store_small(monkeypatch):
    from dualdiff.sparsity import PatternTag
    monkeypatch.setattr(SetStore, "FLOOR", 64)             # compact often
    sizes = []
    original = SetStore.compact

    def compact(self):
        original(self)
        sizes.append(self._used)

    monkeypatch.setattr(SetStore, "compact", compact)

    def f(x):
        y = x
        for k in range(60):
            y = np.sin(y[::-1]) * 0.5 + dd.concatenate([y[1:], y[:1]]) * (k % 3 == 0)
        return y[:4] + np.sum(y[4:] * y[:-4])

    x = np.linspace(0.1, 1.0, 9)
    fast = dd.sparsity(f, x).toarray()
    assert sizes and max(sizes) < 200                     # compactions ran, and kept it small
    monkeypatch.setattr(PatternTag, "_fast", lambda self, *args: None)
    assert np.array_equal(fast, dd.sparsity(f, x).toarray())   # the general path agrees
