"""Compressed Jacobians and Hessians: colour a pattern, seed one direction per colour, decompress.

With a column colouring, the forward pass along direction c (the sum of the unit vectors of the
columns of colour c) gives B[c] = Σ_{colour j = c} J[:, j]; since no two of those columns share
a row, J[i, j] = B[colour j, i] for every nonzero. Reverse mode is the same with rows. A star
colouring of a symmetric Hessian reads H[i, j] from B[colour j, i] when j is the only column of
its colour in row i, and otherwise from its mirror H[j, i] = B[colour i, j]. Each nonzero is
written once, with one vectorised gather.

This module runs the passes through the task functions :mod:`dualdiff.transforms` hands it (the
only code that touches Duals and the tape), optionally on an executor, and assembles the result.
Under dd.compile the joining and the gather are recorded too (dualdiff's functions on the traced
block), so ``format="coo"`` results compile: a reused colouring's passes then replay as generated
code.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from .coloring import (Coloring, check_coloring, color_columns, color_rows, color_star,
                       symmetric, unique_in_row)
from .executors import check_executor, run_tasks
from .primitives import is_traced
from . import rules as F
from .rules.table import keep_seed
from .sparsity import COO, Pattern, as_pattern, detect, require_scipy

__all__ = ["compressed_jacobian", "compressed_hessian", "resolve_mode"]

Task = Callable[..., Tuple[Any, Any, int]]


def _check_format(fmt: str) -> str:
    if fmt not in ("csr", "coo"):
        raise ValueError(f"format must be 'csr' (a scipy.sparse.csr_array) or 'coo' (numpy "
                         f"triplets), not {fmt!r}")
    return fmt


def sparse_result(data: np.ndarray, pattern: Pattern, fmt: str, what: str,
                  cache: Optional[dict] = None) -> Any:
    """The values at ``pattern``'s entries as a CSR array, or as COO triplets. ``cache`` (a
    reused colouring's) keeps the CSR index arrays between calls."""
    if fmt == "coo":
        return COO(data, pattern.rows(), pattern.indices.copy(), pattern.shape)
    if is_traced(data):
        raise TypeError(f"{what} being compiled (dd.compile) comes out as COO triplets only: pass "
                        f"format='coo' and build the scipy matrix from them outside the compiled "
                        f"function (scipy.sparse.coo_array((H.data, (H.row, H.col)), H.shape))")
    sp = require_scipy(what)
    entry = None if cache is None else cache.get("csr index")
    if entry is not None and entry[0] is pattern and type(data) is np.ndarray:
        # A copy of the array scipy's constructor built on the first call, with this call's
        # values and copies of the index arrays (the result's arrays are its own, as scipy's
        # in-place methods, eliminate_zeros for one, expect). The constructor's checks and
        # conversions gave these very index arrays then; run again inside a reused Hessian's
        # call, on code and data the passes pushed out of the caches, they cost about a tenth
        # of the call (copy.copy is the copy protocol: a new instance with the same attributes).
        H = copy.copy(entry[3])
        H.data, H.indices, H.indptr = data, entry[1].copy(), entry[2].copy()
        return H
    H = sp.csr_array((data, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape)
    if cache is not None:
        # The index arrays as scipy converted them (int32 when they fit, for its older
        # releases), kept for the next call, and the array they came in (never handed out,
        # its values dropped) for the next results to copy.
        indices, indptr = H.indices.copy(), H.indptr.copy()
        indices.flags.writeable = indptr.flags.writeable = False
        template = copy.copy(H)
        template.data, template.indices, template.indptr = H.data[:0].copy(), indices, indptr
        cache["csr index"] = (pattern, indices, indptr, template)
    return H


def resolve_mode(mode: str, n: int, m: int, columns: Optional[Coloring],
                 rows: Optional[Coloring]) -> str:
    """Forward or reverse: ``mode`` itself, or for ``"auto"`` the one with fewer passes.

    Dense: forward when n <= m. Sparse: forward when the column colouring has no more colours
    than the row colouring (a forward pass with k directions costs less than a recording plus
    k sweeps, so ties go forward).
    """
    if mode not in ("forward", "reverse", "auto"):
        raise ValueError(f"mode must be 'forward', 'reverse' or 'auto', not {mode!r}")
    if mode != "auto":
        return mode
    if columns is not None and rows is not None:
        return "forward" if columns.n_colors <= rows.n_colors else "reverse"
    return "forward" if n <= m else "reverse"


def _coloring_for(sparse: Any, pattern: Optional[Pattern], mode: str, n: int, m: int
                  ) -> Tuple[str, Coloring]:
    """The colouring to use (given, or made for the pattern) and the mode it implies."""
    if isinstance(sparse, Coloring):
        if sparse.kind == "star":
            raise ValueError("a star coloring is for symmetric Hessians (dd.hessian); for a "
                             "Jacobian use dd.color_columns or dd.color_rows")
        want = "forward" if sparse.kind == "column" else "reverse"
        if mode not in ("auto", want):
            raise ValueError(f"a {sparse.kind} coloring is for mode={want!r}, not {mode!r}")
        return want, sparse
    assert pattern is not None
    columns = color_columns(pattern) if mode in ("forward", "auto") else None
    rows = color_rows(pattern) if mode in ("reverse", "auto") else None
    chosen = resolve_mode(mode, n, m, columns, rows)
    coloring = columns if chosen == "forward" else rows
    assert coloring is not None
    return chosen, coloring


def _n_colors(coloring: Coloring) -> int:
    """``coloring.n_colors``, kept with the colouring: a reused one is not scanned every call."""
    entry = coloring.cache.get("n_colors")
    if entry is None or entry[0] is not coloring.colors:
        entry = coloring.cache["n_colors"] = (coloring.colors, coloring.n_colors)
    return entry[1]


def _blocks(seeds: List[Tuple[np.ndarray, range]]) -> List[np.ndarray]:
    return [S for S, _ in seeds]


# Compressed seeds kept with a reused colouring up to this many elements in all (16 MiB of
# float64): building them is a pass over n per colour (a third of an n = 10⁴ star-coloured
# Hessian's decompression-side time), the same every call.
_SEED_CACHE_ELEMENTS = 1 << 21


def _colored_seeds(coloring: Coloring, size: int, k: int, dtype: Any,
                   seeds: Callable) -> List[np.ndarray]:
    """The blocks of compressed seed directions for ``coloring`` (from ``seeds``), k per block;
    kept read-only on the colouring so a reused one builds them once."""
    key = ("seeds", size, k, np.dtype(dtype).str)
    blocks = coloring.cache.get(key)
    if blocks is None:
        blocks = _blocks(list(seeds(size, k, dtype, coloring.colors)))
        if sum(S.size for S in blocks) <= _SEED_CACHE_ELEMENTS:
            for S in blocks:
                S.flags.writeable = False
                keep_seed(S)
            coloring.cache[key] = blocks
    return blocks


def _stack_blocks(results: List[Tuple[Any, Any, int]], read_only: bool) -> np.ndarray:
    """The passes' (k, ·) tangent blocks as one array. ``read_only``: the caller only gathers
    from it, so one pass's block is used as it is (it may be a seed or a value f holds)."""
    blocks = [r[1] for r in results]
    if any(is_traced(b) for b in blocks):  # being compiled: the joining is recorded too
        return blocks[0] if len(blocks) == 1 else F.concatenate(blocks)
    if read_only and len(blocks) == 1:
        return np.asarray(blocks[0])
    return np.concatenate([np.asarray(b) for b in blocks])


def _gather(B: Any, where: np.ndarray) -> Any:
    """The flat block's entries at ``where`` (a recorded gather when B is being compiled)."""
    if is_traced(B):
        return F.getitem(F.reshape(B, (-1,)), where)
    return np.take(B.reshape(-1), where)  # (the same values as B.reshape(-1)[where], sooner)


def compressed_jacobian(f: Callable, leaves: List[Any], treedef: Any, n: int, *, mode: str,
                        chunk: Callable[[int], int], sparse: Any, executor: Any, fmt: str, dtype: Any,
                        seeds: Callable, forward_task: Task, reverse_task: Task,
                        evaluate: Callable[[], Any]) -> Tuple[Any, Any, dict]:
    """J as (value, J, info fields): sparse (CSR or COO) when ``sparse`` is set, else a dense
    (m, n) array. ``seeds(size, k, dtype, colors)`` is transforms' seed_directions; ``chunk`` a
    resolver from a count of directions to directions per pass; ``evaluate()`` is f(x), for
    when no pass gives it (dense ``mode="auto"``, empty x)."""

    def out_size() -> int:
        return math.prod(np.shape(evaluate()))

    executor = check_executor(executor)
    _check_format(fmt)
    value: Any = None
    pattern: Optional[Pattern] = None
    if sparse is None or sparse is False:
        coloring = None
        if mode == "auto":
            value = evaluate()
            # A complex f needs forward mode here (reverse would need two sweeps per row).
            mode = "forward" if np.iscomplexobj(value) else \
                resolve_mode(mode, n, math.prod(np.shape(value)), None, None)
        else:
            mode = resolve_mode(mode, n, -1, None, None)  # checks the name
    else:
        if sparse is True:
            pattern, value = detect(f, leaves, treedef)
            if mode == "auto" and np.iscomplexobj(value):
                mode = "forward"  # as above: no real-cotangent sweeps for a complex f
        elif isinstance(sparse, Coloring):
            pattern = sparse.pattern
        else:
            pattern = as_pattern(sparse)
        if pattern.shape[1] != n:
            raise ValueError(f"the sparsity pattern has {pattern.shape[1]} columns, but x has "
                             f"{n} elements")
        if isinstance(sparse, Coloring):
            check_coloring(sparse)
        mode, coloring = _coloring_for(sparse, pattern, mode, n, pattern.shape[0])
    directions = None if coloring is None else _n_colors(coloring)
    if mode == "forward":
        k = chunk(n if directions is None else directions)
        blocks = (_blocks(list(seeds(n, k, dtype))) if coloring is None
                  else _colored_seeds(coloring, n, k, dtype, seeds))
        results = run_tasks(forward_task, f, blocks, executor, leaves, treedef)
        if not blocks:  # x is empty: no pass, but f(x) still has a shape
            value = evaluate()
            results = [(value, np.zeros((0, math.prod(np.shape(value)))), 0)]
    else:
        m = pattern.shape[0] if pattern is not None else out_size()
        k = chunk(m if directions is None else directions)
        blocks = (_blocks(list(seeds(m, k, dtype))) if coloring is None
                  else _colored_seeds(coloring, m, k, dtype, seeds))
        if not blocks:  # f(x) is empty: still record once, for f's value
            blocks = [np.zeros((0, m), dtype=dtype)]
        results = run_tasks(reverse_task, f, blocks, executor, leaves, treedef)
        if np.iscomplexobj(results[0][0]):
            # A real cotangent sweep gives only the real part of a complex f's rows.
            raise TypeError("a reverse-mode sparse or executor Jacobian of a complex-valued f "
                            "would lose the imaginary part: use mode='forward', or the dense "
                            "dd.jacobian(f, x, mode='reverse')")
    value = results[0][0]
    B = _stack_blocks(results, read_only=coloring is not None)
    ops = sum(r[2] for r in results)
    m = math.prod(np.shape(value))
    info = dict(passes=len(blocks) if mode == "forward" else sum(S.shape[0] for S in blocks),
                mode=mode, chunk=k if mode == "forward" else None, operations=ops,
                n_inputs=n, n_outputs=m, peak_bytes=0 if mode == "forward" else None)
    if pattern is None or coloring is None:
        J = B.T if mode == "forward" else B  # rows of B are columns (forward) or rows of J
        return value, np.ascontiguousarray(J).reshape(m, n), info
    if pattern.shape[0] != m:
        raise ValueError(f"the sparsity pattern has {pattern.shape[0]} rows, but f(x) has {m} "
                         f"elements")
    data = _gather(B, _jacobian_gather(coloring, mode))
    info.update(colors=directions, nonzeros=pattern.nnz)
    reused = coloring.cache if coloring is sparse else None  # (a colouring made here dies here)
    return value, sparse_result(data, pattern, fmt, "a sparse Jacobian", reused), info


def _jacobian_gather(coloring: Coloring, mode: str) -> np.ndarray:
    """Where each nonzero sits in the flat compressed block B (colours × m forward, colours × n
    reverse): computed once per colouring and kept with it."""
    key = ("gather", mode)
    if key not in coloring.cache:
        p = coloring.pattern
        rows = p.rows()
        if mode == "forward":
            coloring.cache[key] = coloring.colors[p.indices] * p.shape[0] + rows
        else:
            coloring.cache[key] = coloring.colors[rows] * p.shape[1] + p.indices
    return coloring.cache[key]


def _hessian_plan(coloring: Coloring) -> Tuple[Pattern, np.ndarray]:
    """The symmetric pattern a Hessian colouring recovers and where each of its nonzeros sits in
    the flat (colours × n) compressed block: H[i, j] = B[colour j, i] when j is the only column of
    its colour in row i, else (star colouring) its mirror B[colour i, j]."""
    if "hessian" not in coloring.cache:
        pattern = coloring.pattern if coloring.kind == "column" else symmetric(coloring.pattern)
        rows, cols, colors = pattern.rows(), pattern.indices, coloring.colors
        n = pattern.shape[0]
        gather = colors[cols] * n + rows
        if coloring.kind == "star":
            gather = np.where(unique_in_row(pattern, colors), gather, colors[rows] * n + cols)
        coloring.cache["hessian"] = (pattern, gather)
    return coloring.cache["hessian"]


def compressed_hessian(gradient: Callable, leaves: List[Any], n: int, *, sparse: Any,
                       executor: Any, fmt: str, dtype: Any, seeds: Callable,
                       forward_task: Task, chunk: Callable[[int], int],
                       hessian_pattern: Callable[[], Pattern]) -> Tuple[Any, dict]:
    """H as a sparse matrix and the info fields, from forward passes over ``gradient``."""
    executor = check_executor(executor)
    _check_format(fmt)
    if isinstance(sparse, Coloring):
        if sparse.kind == "row":
            raise ValueError("a row coloring is for reverse-mode Jacobians; a Hessian takes a "
                             "star coloring (dd.color_star) or a column coloring")
        check_coloring(sparse)
        coloring = sparse
    else:
        pattern = hessian_pattern() if sparse is True else as_pattern(sparse, (n, n))
        coloring = color_star(symmetric(pattern))
    pattern = coloring.pattern
    if pattern.shape != (n, n):
        raise ValueError(f"the Hessian's pattern must be {n}x{n} for x with {n} elements, not "
                         f"{pattern.shape[0]}x{pattern.shape[1]}")
    n_colors = _n_colors(coloring)
    k = chunk(n_colors)
    blocks = _colored_seeds(coloring, n, k, dtype, seeds)
    results = run_tasks(forward_task, gradient, blocks, executor, leaves, None)
    B = _stack_blocks(results, read_only=True) if results else np.zeros((0, n))
    pattern, gather = _hessian_plan(coloring)
    data = _gather(B, gather)
    info = dict(passes=len(blocks), mode="forward", chunk=k,
                operations=sum(r[2] for r in results), n_inputs=n, n_outputs=n, peak_bytes=None,
                colors=n_colors, nonzeros=pattern.nnz)
    reused = coloring.cache if coloring is sparse else None  # (a colouring made here dies here)
    return sparse_result(data, pattern, fmt, "a sparse Hessian", reused), info
