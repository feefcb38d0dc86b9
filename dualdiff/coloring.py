"""Colourings of sparsity patterns: which Jacobian columns (or rows) can share one pass.

Two columns of J that have no nonzero in a common row can be seeded together: one forward pass
along e_j + e_k gives both columns, each in its own rows. A *column colouring* gives every column
a colour such that columns of one colour never share a row; a forward pass per colour then gives
all of J. A *row colouring* does the same for rows and reverse sweeps. For a symmetric Hessian a
*star colouring* (every path on four vertices uses at least three colours) lets each nonzero be
read directly from one compressed column, either H[i, j] or its mirror H[j, i], with fewer colours
than a column colouring needs (an arrow-shaped Hessian: 2 instead of n).

The colourings here are greedy in largest-first order (vertices of highest degree first), the
usual good cheap ordering. A banded pattern, whose rows each lie within w consecutive columns
while one row has w entries, gets column j the colour j mod w directly (Curtis, Powell and Reid):
no colouring can use fewer colours than that row's w columns need, and it costs a few vectorised
operations instead of a Python loop over the columns. A :class:`Coloring` keeps its pattern, so it can be reused for every
call at new points x with the same pattern, the way ODE solvers and optimisers call the
Jacobian again and again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List

import numpy as np

from .sparsity import Pattern, as_pattern

__all__ = ["Coloring", "color_columns", "color_rows", "color_star", "check_coloring", "symmetric",
           "unique_in_row"]

_ORDERS = ("largest_first", "natural")


@dataclass(frozen=True)
class Coloring:
    """A colouring of a pattern's columns (``kind="column"``, for forward mode), rows
    (``"row"``, for reverse mode) or of a symmetric pattern (``"star"``, for Hessians).

    ``colors[j]`` is the colour (0 … n_colors - 1) of column j (row j for ``"row"``).

    >>> p = Pattern.from_coo([0, 0, 1, 1, 2], [0, 1, 1, 2, 2], (3, 3))
    >>> c = color_columns(p)
    >>> c.n_colors, c.colors.tolist()
    (2, [0, 1, 0])
    """

    kind: str
    colors: np.ndarray
    pattern: Pattern
    #: What reusing the colouring needs again and again (its check, the gather indices).
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_colors(self) -> int:
        """How many colours: the number of compressed directions (passes at chunk 1)."""
        return int(self.colors.max()) + 1 if self.colors.size else 0

    def __repr__(self) -> str:
        return f"<{self.kind} coloring of {self.pattern!r}: {self.n_colors} colors>"


def _lists(p: Pattern) -> "tuple[list, list]":
    """Row → columns and column → rows, as Python lists (the greedy loops are Python)."""
    indices = p.indices.tolist()
    ptr = p.indptr.tolist()
    row_cols = [indices[ptr[i]:ptr[i + 1]] for i in range(p.shape[0])]
    colptr, rows, _ = p.csc()
    rows_l, cptr = rows.tolist(), colptr.tolist()
    col_rows = [rows_l[cptr[j]:cptr[j + 1]] for j in range(p.shape[1])]
    return row_cols, col_rows


def _order(degrees: Any, order: str) -> List[int]:
    if order not in _ORDERS:
        raise ValueError(f"order must be one of {_ORDERS}, not {order!r}")
    if order == "natural":
        return list(range(len(degrees)))
    # Largest first; ties in natural order, so colourings are reproducible.
    return np.argsort(-np.asarray(degrees), kind="stable").tolist()


#: Above this many (column, column) pairs sharing a row, neighbour sets are built one column at a
#: time instead of all at once: slower, but memory stays at the graph's size.
_PAIRS_AT_ONCE = 1 << 24


def _column_graph(p: Pattern) -> "tuple[list, list]":
    """The column intersection graph: (neighbour list, start offsets) in compressed form.

    Columns j and k are neighbours when some row holds both. All pairs come from one vectorised
    expansion of each row's columns against themselves (sum of squared row lengths).
    """
    lengths = np.diff(p.indptr)
    rows = p.rows()
    rep = lengths[rows]
    total = int(rep.sum())
    n = p.shape[1]
    if total > _PAIRS_AT_ONCE:
        row_cols, col_rows = _lists(p)
        flat: list = []
        ptr = [0]
        for j, rs in enumerate(col_rows):
            s: set = set()
            for r in rs:
                s.update(row_cols[r])
            s.discard(j)
            flat.extend(sorted(s))
            ptr.append(len(flat))
        return flat, ptr
    src = np.repeat(p.indices, rep)
    first = np.repeat(p.indptr[rows], rep)
    offset = np.arange(total) - np.repeat(np.cumsum(rep) - rep, rep)
    dst = p.indices[first + offset]
    key = np.sort(src[src != dst] * n + dst[src != dst])
    if key.size:
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    ptr_a = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // n, minlength=n), out=ptr_a[1:])
    return (key % n).tolist(), ptr_a.tolist()


def _greedy(adj: list, ptr: list, order: str) -> np.ndarray:
    """Distance-1 greedy colouring of a graph in compressed form (neighbours of v are
    ``adj[ptr[v]:ptr[v + 1]]``): each vertex, in order, takes the smallest colour its
    neighbours do not have."""
    n = len(ptr) - 1
    colors = [-1] * n
    colour_of = colors.__getitem__
    for v in _order(np.diff(ptr), order):
        taken = set(map(colour_of, adj[ptr[v]:ptr[v + 1]]))
        c = 0
        while c in taken:
            c += 1
        colors[v] = c
    return np.array(colors, dtype=np.int64)


def _banded(p: Pattern) -> Any:
    """Colours j mod w when every row lies within w consecutive columns and some row has w
    entries: optimal (that row's columns need w colours), and valid (two columns of one row are
    less than w apart). None for any other pattern."""
    lengths = np.diff(p.indptr)
    widest = int(lengths.max()) if lengths.size else 0
    if widest == 0:
        return None
    filled = lengths > 0
    first = p.indices[p.indptr[:-1][filled]]  # each row's columns are sorted
    last = p.indices[p.indptr[1:][filled] - 1]
    if int((last - first).max()) + 1 != widest:
        return None
    return np.arange(p.shape[1], dtype=np.int64) % widest


def color_columns(pattern: Any, order: str = "largest_first") -> Coloring:
    """A column colouring: columns of one colour share no row (forward-mode compression).

    ``pattern``: a :class:`Pattern`, a scipy.sparse matrix, a 2-d boolean array or (row, col,
    shape) triplets; ``order``: ``"largest_first"`` (default) or ``"natural"``. With the default,
    a banded pattern is coloured j mod w, with the fewest colours possible (see the module).

    >>> p = Pattern.from_coo(*zip(*[(i, j) for i in range(4) for j in (i - 1, i, i + 1)
    ...                             if 0 <= j < 4]), (4, 4))
    >>> color_columns(p).n_colors                    # a tridiagonal Jacobian: 3 passes
    3
    """
    pattern = as_pattern(pattern)
    colors = _banded(pattern) if order == "largest_first" else None
    if colors is None:
        colors = _greedy(*_column_graph(pattern), order)
    return Coloring("column", colors, pattern)


def color_rows(pattern: Any, order: str = "largest_first") -> Coloring:
    """A row colouring: rows of one colour share no column (reverse-mode compression)."""
    pattern = as_pattern(pattern)
    return Coloring("row", color_columns(pattern.transpose(), order).colors, pattern)


def color_star(pattern: Any, order: str = "largest_first") -> Coloring:
    """A star colouring of a symmetric pattern (a Hessian's), for direct symmetric recovery.

    Greedy star colouring (Gebremedhin, Manne and Pothen, SIAM Review 2005, algorithm 4.1): a
    distance-1 colouring that, in addition, forbids the colour of x for v when v - w - x would
    extend a two-coloured path w - x - y. The pattern's diagonal is ignored; an asymmetric
    pattern is symmetrised.

    >>> n = 6                                        # arrow: dense first row and column
    >>> rows = [0] * n + list(range(1, n)) + list(range(n))
    >>> cols = list(range(n)) + [0] * (n - 1) + list(range(n))
    >>> c = color_star(Pattern.from_coo(rows, cols, (n, n)))
    >>> c.n_colors, color_columns(Pattern.from_coo(rows, cols, (n, n))).n_colors
    (2, 6)
    """
    pattern = as_pattern(pattern)
    m, n = pattern.shape
    if m != n:
        raise ValueError(f"a star colouring needs a square (Hessian) pattern, not {m}x{n}")
    row_cols, _ = _lists(symmetric(pattern))
    adj = [set(a) for a in row_cols]
    for v, s in enumerate(adj):
        s.discard(v)
    colors = [-1] * n
    for v in _order([len(s) for s in adj], order):
        forbidden = set()
        for w in adj[v]:
            cw = colors[w]
            if cw >= 0:
                forbidden.add(cw)
            for x in adj[w]:
                cx = colors[x]
                if x == v or cx < 0:
                    continue
                if cw < 0:
                    forbidden.add(cx)  # v - w - x with w uncoloured: v may not copy x
                else:
                    for y in adj[x]:
                        if y != w and colors[y] == cw:
                            forbidden.add(cx)  # v - w - x - y would be two-coloured
                            break
        c = 0
        while c in forbidden:
            c += 1
        colors[v] = c
    return Coloring("star", np.array(colors, dtype=np.int64), pattern)


def unique_in_row(pattern: Pattern, colors: np.ndarray) -> np.ndarray:
    """For each entry (i, j): whether j is the only column of its colour in row i."""
    k = int(colors.max()) + 1 if colors.size else 1
    key = pattern.rows() * k + colors[pattern.indices]
    counts = np.bincount(key, minlength=pattern.shape[0] * k)
    return counts[key] == 1


def symmetric(p: Pattern) -> Pattern:
    """The pattern with every entry's mirror added: P ∪ Pᵀ (square patterns)."""
    rows = p.rows()
    return Pattern.from_coo(np.concatenate([rows, p.indices]), np.concatenate([p.indices, rows]),
                            p.shape)


def check_coloring(coloring: Coloring) -> None:
    """Raise ValueError when ``coloring`` cannot recover its pattern; quiet when it can.

    Column: no row holds two columns of one colour. Row: no column holds two rows of one colour.
    Star: every nonzero H[i, j] is the only one of its colour in row i, or its mirror H[j, i] is
    the only one of its colour in row j (symmetric orthogonality, which is what star colourings
    guarantee).

    >>> p = Pattern.from_coo([0, 0], [0, 1], (1, 2))
    >>> check_coloring(Coloring("column", np.array([0, 0]), p))
    Traceback (most recent call last):
        ...
    ValueError: column coloring is invalid: row 0 has two columns of color 0
    """
    if coloring.cache.get("checked") is not coloring.colors:
        _check_coloring(coloring)
        coloring.cache["checked"] = coloring.colors  # a reused colouring is checked once


def _check_coloring(coloring: Coloring) -> None:
    p, colors = coloring.pattern, np.asarray(coloring.colors)
    size = p.shape[0] if coloring.kind == "row" else p.shape[1]
    if coloring.kind == "star" and p.shape[0] != p.shape[1]:
        raise ValueError(f"a star coloring is of a square (Hessian) pattern, not {p.shape}")
    if coloring.kind not in ("column", "row", "star"):
        raise ValueError(f"coloring kind must be 'column', 'row' or 'star', not {coloring.kind!r}")
    if colors.shape != (size,) or (colors.size and colors.min() < 0):
        raise ValueError(f"a {coloring.kind} coloring needs one color >= 0 for each of {size} "
                         f"{'rows' if coloring.kind == 'row' else 'columns'}")
    if coloring.kind == "row":
        p = p.transpose()
    ok = unique_in_row(p, colors)
    if coloring.kind == "star":
        mirror = symmetric(p)
        ok_m = unique_in_row(mirror, colors)
        rows, cols = mirror.rows(), mirror.indices
        # Position of each entry's mirror (j, i) among the symmetrised entries.
        key = rows * p.shape[1] + cols
        mirror_pos = np.searchsorted(key, cols * p.shape[1] + rows)
        bad = ~(ok_m | ok_m[mirror_pos])
        if bad.any():
            i, j = int(rows[bad][0]), int(cols[bad][0])
            raise ValueError(f"star coloring is invalid: H[{i}, {j}] cannot be recovered "
                             f"(colors {int(colors[i])} and {int(colors[j])} collide in rows "
                             f"{i} and {j})")
        return
    if not ok.all():
        first = int(np.flatnonzero(~ok)[0])
        line = "row" if coloring.kind == "column" else "column"
        what = "columns" if coloring.kind == "column" else "rows"
        raise ValueError(f"{coloring.kind} coloring is invalid: {line} {int(p.rows()[first])} "
                         f"has two {what} of color {int(colors[p.indices[first]])}")
