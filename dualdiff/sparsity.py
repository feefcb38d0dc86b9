"""Sparsity patterns, found exactly by running f once under a pattern interpretation.

The interpretation is forward mode with a different kind of tangent: each element of a tangent
holds the *set of input indices* it depends on instead of a number. Tangents are numpy object
arrays of such sets, and a set behaves like a number under the only operations a tangent rule
applies to tangents (they are linear in them): ``+`` and ``-`` are set union, a product with any
number is the set itself, and negation leaves it alone. So every primitive's own ``jvp`` rule,
unchanged, propagates dependencies: one table, no per-primitive code.

Two patterns can be asked for:

- **global** (default): valid at every x. In elementwise rules a product with a number keeps the
  dependency even when the number is 0 at this x (the partial of ``maximum``, ``abs`` or
  ``relu`` on one side of its kink), and a selection by a data-dependent mask (``where``) takes
  both branches. Rules that are neither elementwise nor linear (matmul, …) run at x and at two
  random points where only the traced arguments move, with exact zeros (so the zeros of a
  constant matrix stay zeros), and the patterns are joined; if the pattern moves between the
  random points (a rule that picks elements by value, such as a sort), detection raises rather
  than return a pattern that is too small.
- **local** (``local=True``): the pattern at x only; a product with an exact 0 drops the
  dependency and ``where`` follows the branch taken.

Numbers inside the tangent arrays (the zeros rules create for constants) stand for the empty set.
Memory and time are O(nnz) of the patterns of the intermediate values.
"""

from __future__ import annotations

import gc
import importlib
import math
import sys
from typing import Any, Callable, List, NamedTuple, Optional, Tuple

import numpy as np

from .containers import pieces, unflatten
from .dual import Dual, ForwardTag, make_dual
from .index_sets import SetArray, SetStore, Unsupported
from . import rules as F
from .primitives import TRACED, Primitive, bind, shape_of

__all__ = ["Pattern", "COO", "detect", "as_pattern", "require_scipy"]


class COO(NamedTuple):
    """Coordinate triplets of a sparse matrix: ``M[row[k], col[k]] = data[k]``, shape ``shape``."""

    data: np.ndarray
    row: np.ndarray
    col: np.ndarray
    shape: Tuple[int, int]


def require_scipy(what: str) -> Any:
    """scipy.sparse, or an ImportError that says how to install it and how to do without."""
    module = sys.modules.get("scipy.sparse")  # (imported already: a reused Hessian's call
    if module is not None:                    # need not go through the import machinery)
        return module
    try:
        return importlib.import_module("scipy.sparse")
    except ImportError:  # pragma: no cover - the test extra installs scipy
        raise ImportError(
            f"{what} returns a scipy.sparse matrix, and scipy is not installed. Install it with "
            f"`pip install scipy` (or `pip install \".[sparse]\"` from a clone of dualdiff), or "
            f"pass format=\"coo\" to get the plain numpy triplets (data, row, col, shape) "
            f"instead.") from None


class Pattern:
    """The nonzero pattern of an m×n matrix in compressed rows: row i's columns are
    ``indices[indptr[i]:indptr[i + 1]]``, sorted. Immutable; built by :func:`detect` or
    :func:`as_pattern`.

    >>> p = Pattern.from_coo([0, 1, 1], [2, 0, 2], (2, 3))
    >>> p.nnz, p.indptr.tolist(), p.indices.tolist()
    (3, [0, 1, 3], [2, 0, 2])
    >>> p.to_dense().astype(int).tolist()
    [[0, 0, 1], [1, 0, 1]]
    """

    __slots__ = ("indptr", "indices", "shape", "_csc")

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, shape: Tuple[int, int]):
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.shape = (int(shape[0]), int(shape[1]))
        self._csc: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None
        self.indptr.flags.writeable = False
        self.indices.flags.writeable = False

    @classmethod
    def from_coo(cls, row: Any, col: Any, shape: Tuple[int, int]) -> "Pattern":
        """The pattern with an entry at each (row[k], col[k]); duplicates count once."""
        m, n = int(shape[0]), int(shape[1])
        row = np.asarray(row, dtype=np.int64).ravel()
        col = np.asarray(col, dtype=np.int64).ravel()
        if row.shape != col.shape:
            raise ValueError(f"a pattern's row and column indices differ in length: "
                             f"{row.size} and {col.size}")
        if row.size and (row.min() < 0 or row.max() >= m or col.min() < 0 or col.max() >= n):
            raise ValueError(f"a pattern index lies outside its shape {(m, n)}")
        key = np.sort(row * n + col) if n else np.zeros(0, dtype=np.int64)
        if key.size:  # duplicates once (a sort and a mask: cheaper than np.unique's hashing)
            key = key[np.concatenate([[True], key[1:] != key[:-1]])]
        rows, cols = np.divmod(key, n) if n else (key, key)
        indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
        return cls(indptr, cols, (m, n))

    @property
    def nnz(self) -> int:
        """How many entries the pattern has."""
        return int(self.indices.size)

    def rows(self) -> np.ndarray:
        """The row of each entry, in the order of ``indices``."""
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))

    def csc(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(colptr, row_indices, order)``: column j's rows are
        ``row_indices[colptr[j]:colptr[j + 1]]``, and ``order`` maps each of those entries back to
        its position in the row-wise arrays."""
        if self._csc is None:
            order = np.lexsort((self.rows(), self.indices))
            colptr = np.zeros(self.shape[1] + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.indices, minlength=self.shape[1]), out=colptr[1:])
            self._csc = (colptr, self.rows()[order], order)
        return self._csc

    def transpose(self) -> "Pattern":
        """The n×m pattern of the transpose."""
        colptr, rows, _ = self.csc()
        return Pattern(colptr, rows, (self.shape[1], self.shape[0]))

    def to_dense(self) -> np.ndarray:
        """A boolean m×n array, True at the entries (for small patterns and tests)."""
        out = np.zeros(self.shape, dtype=bool)
        out[self.rows(), self.indices] = True
        return out

    def to_scipy(self) -> Any:
        """A boolean ``scipy.sparse.csr_array``; needs scipy."""
        sp = require_scipy("the pattern")
        return sp.csr_array((np.ones(self.nnz, dtype=bool), self.indices.copy(),
                             self.indptr.copy()), shape=self.shape)

    def to_coo(self) -> COO:
        """The entries as plain numpy triplets (data all True)."""
        return COO(np.ones(self.nnz, dtype=bool), self.rows(), self.indices.copy(), self.shape)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Pattern) and self.shape == other.shape
                and np.array_equal(self.indptr, other.indptr)
                and np.array_equal(self.indices, other.indices))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Pattern {self.shape[0]}x{self.shape[1]}, {self.nnz} nonzeros>"


def as_pattern(p: Any, shape: Optional[Tuple[int, int]] = None) -> Pattern:
    """A :class:`Pattern` from a Pattern, a scipy.sparse matrix/array, a dense boolean (or
    numeric: nonzero counts) 2-d array, or COO triplets ``(row, col, shape)``. ``shape``, when
    given, is the (m, n) the pattern must have."""
    if isinstance(p, Pattern):
        out = p
    elif getattr(p, "format", None) == "csr" and p.has_canonical_format and p.data.all():
        # dd.sparsity's own result: sorted, without repeats, so its arrays are the pattern's
        out = Pattern(p.indptr, p.indices, p.shape)
    elif hasattr(p, "tocoo") and hasattr(p, "nnz"):  # any scipy.sparse matrix or array
        coo = p.tocoo()
        keep = np.asarray(coo.data) != 0
        out = Pattern.from_coo(np.asarray(coo.row)[keep], np.asarray(coo.col)[keep], coo.shape)
    elif isinstance(p, tuple) and len(p) == 3 and not isinstance(p[0], (bool, np.bool_)):
        out = Pattern.from_coo(p[0], p[1], p[2])
    else:
        a = np.asarray(p)
        if a.ndim != 2 or a.dtype == object:
            raise TypeError(
                f"a sparsity pattern must be a dd.sparsity result, a scipy.sparse matrix, a 2-d "
                f"boolean array or (row, col, shape) triplets, not {type(p).__name__}"
                + (f" of shape {a.shape}" if a.dtype != object else ""))
        row, col = np.nonzero(a)
        out = Pattern.from_coo(row, col, a.shape)
    if shape is not None and out.shape != tuple(shape):
        raise ValueError(f"the sparsity pattern has shape {out.shape}, but the Jacobian here "
                         f"has shape {tuple(shape)} (f(x).size, x.size)")
    return out


# --------------------------------------------------------------------------------------------
# The index-set elements
# --------------------------------------------------------------------------------------------

_EMPTY: frozenset = frozenset()
_new = object.__new__


class GlobalSet:
    """A set of input indices standing in for a tangent element (global pattern).

    ``+`` and ``-`` are union; a product or quotient with any number is the set itself, so
    a partial that is 0 at this x (one side of a kink) still carries the dependency.
    """

    __slots__ = ("s",)
    #: So that rules asking a scalar tangent for its dtype (to make zeros beside it) get object.
    dtype = np.dtype(object)

    def __init__(self, s: frozenset):
        self.s = s

    def __add__(self, other: Any) -> Any:
        try:
            s = self.s | other.s
        except AttributeError:
            if type(other) is np.ndarray:
                return NotImplemented  # numpy applies + element by element
            return self  # a number: the empty set
        out = _new(self.__class__)
        out.s = s
        return out

    __radd__ = __add__
    __sub__ = __add__
    __rsub__ = __add__

    def __mul__(self, other: Any) -> Any:
        if type(other) is np.ndarray:
            return NotImplemented  # numpy multiplies element by element
        if isinstance(other, GlobalSet):
            raise TypeError("a tangent rule multiplied two tangents: it is not linear in them")
        return self

    __rmul__ = __mul__
    __truediv__ = __mul__

    def __neg__(self) -> Any:
        return self

    __pos__ = __neg__

    def conjugate(self) -> Any:
        return self

    def __repr__(self) -> str:
        return "{" + ", ".join(map(str, sorted(self.s))) + "}"


class LocalSet(GlobalSet):
    """A set of input indices for the pattern at x: a product with an exact 0 is the empty set."""

    __slots__ = ()

    def __mul__(self, other: Any) -> Any:
        if type(other) is np.ndarray:
            return NotImplemented
        if isinstance(other, GlobalSet):
            raise TypeError("a tangent rule multiplied two tangents: it is not linear in them")
        return self if other else 0.0

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        return NotImplemented if type(other) is np.ndarray else self


def _sets(t: Any) -> List[frozenset]:
    """The index sets of a pattern tangent, flattened (numbers are empty sets)."""
    flat = np.asarray(t, dtype=object).reshape(-1) if not isinstance(t, GlobalSet) else [t]
    return [e.s if isinstance(e, GlobalSet) else _EMPTY for e in flat]


# --------------------------------------------------------------------------------------------
# The interpretation
# --------------------------------------------------------------------------------------------

class PatternTag(ForwardTag):
    """Forward mode whose tangents are arrays of index sets.

    It applies each primitive's own tangent rule; in global mode it adds what a pattern valid
    for every x needs (both sides of a data-dependent mask) and checks the rules that are
    neither elementwise nor linear at a second point.

    Tangents are :class:`~dualdiff.index_sets.SetArray` (all sets in numpy arrays) wherever
    the rule's operations on them are modelled there: elementwise rules (unions and products
    with numbers) and the linear rules that only move elements (:data:`MOVERS`, applied to the
    arrays of set ids themselves). Every other rule, or one that does anything else with its
    tangents, runs on object arrays of Python sets (the general path), as before.
    """

    __slots__ = ("local", "rng", "store")

    def __init__(self, local: bool, n: int):
        super().__init__(None, owner="sparsity")
        self.local = local
        self.rng: Optional[np.random.Generator] = None  # made when a rule needs moving points
        self.store = SetStore(n)

    def seed(self, shape: tuple, offset: int) -> SetArray:
        """The tangent of an input leaf: element k depends on input index offset + k."""
        ids = self.store.singletons(offset, math.prod(shape)).reshape(shape)
        return SetArray(ids, self.store, self.local)

    def process(self, prim: Primitive, args: tuple, params: dict, defer: bool = False) -> Dual:
        # (defer: never asked of a PatternTag, whose tangents the tape always sees computed)
        self.count += 1
        if self.store.crowded():
            self.store.compact()  # here every set in use is held by a Dual's SetArray
        primals, tangents, nested = self.split(args)
        out = bind(prim, *primals, **params) if nested else prim.impl(*primals, **params)
        tangent = None if nested else self._fast(prim, primals, tangents, out, params)
        if tangent is None:
            tangents = [None if t is None else self.as_objects(t) for t in tangents]
            if self.local or prim.kind in ("elementwise", "linear"):
                tangent = self._rule(prim, primals, tangents, out, params)
            else:
                tangent = self._generic(prim, primals, tangents, out, params)
            if not self.local and prim.kind != "elementwise":
                masks = _masks(params)
                if masks:
                    # A selection by a mask computed from the values (where): for a pattern
                    # valid at every x, take the other side of every mask too.
                    flipped = dict(params, **{k: ~v for k, v in masks.items()})
                    tangent = tangent + self._rule(prim, primals, tangents, out, flipped)
        return make_dual(out, tangent, self)

    def _fast(self, prim: Primitive, primals: list, tangents: list, out: Any,
              params: dict) -> Optional[SetArray]:
        """The rule applied to SetArrays, or None where the general path must apply it."""
        moves = _moves(prim, params)
        if not moves and not (self.local or prim.kind in ("elementwise", "linear")):
            return None  # the global pattern of matmul & co. needs _generic's moved points
        try:
            sets = [None if t is None else self.as_sets(t) for t in tangents]
            if not moves:
                with np.errstate(all="ignore"):
                    tangent = prim.jvp(primals, sets, out, params, False)
                return self._checked(tangent, out)
            tangent = self._move(prim, primals, sets, out, params)
            if not self.local:
                masks = _masks(params)
                if masks:  # both sides of a data-dependent mask, as in process
                    flipped = dict(params, **{k: ~v for k, v in masks.items()})
                    other = self._move(prim, primals, sets, out, flipped)
                    tangent = SetArray(self.store.union(tangent.ids, other.ids), self.store,
                                       self.local)
            return tangent
        except (Unsupported, TypeError, ValueError, AttributeError, IndexError):
            return None

    def _move(self, prim: Primitive, primals: list, sets: list, out: Any,
              params: dict) -> SetArray:
        """A rule that only moves tangent elements, applied to the arrays of set ids: the ids
        move exactly as the sets would, and the zeros it writes for constants are id 0, the
        empty set."""
        ids = [None if t is None else t.ids for t in sets]
        moved = np.asarray(prim.jvp(primals, ids, out, params, False))
        if moved.dtype.kind == "f":  # beside a constant's float zeros: ids are exact in float
            as_int = moved.astype(np.int64)
            if not np.array_equal(as_int, moved):
                raise Unsupported
            moved = as_int
        if moved.size and (moved.min() < 0 or moved.max() >= self.store.count):
            raise Unsupported  # not ids any more: the rule computed with them
        return self._checked(SetArray(moved, self.store, self.local), out)

    def _checked(self, tangent: Any, out: Any) -> SetArray:
        """``tangent`` as a SetArray of ``out``'s shape, or Unsupported. A plain number or
        numeric array stands for empty sets (a rule's zeros: the tangent of a constant), as on
        the general path."""
        if type(tangent) is not SetArray:
            if type(tangent) in TRACED or np.asarray(tangent).dtype.kind not in "biufc":
                raise Unsupported
            tangent = SetArray(np.zeros(np.shape(tangent), dtype=np.int64), self.store,
                               self.local)
        if tangent.ids.dtype.kind not in "iu" or tangent.shape != shape_of(out):
            raise Unsupported
        return tangent

    def as_sets(self, t: Any) -> SetArray:
        """A tangent as a SetArray (object arrays from the general path are converted)."""
        if type(t) is SetArray:
            return t
        ids = self.store.from_sets(_sets(t))
        return SetArray(ids.reshape(np.shape(t)), self.store, self.local)

    def as_objects(self, t: Any) -> Any:
        """A tangent as the general path's Python sets (an object array, or one set for 0-d)."""
        if type(t) is not SetArray:
            return t
        cls = LocalSet if self.local else GlobalSet
        sets = [cls(frozenset(s)) for s in self.store.to_lists(t.ids)]
        if not t.shape:
            return sets[0]
        out = np.empty(len(sets), dtype=object)
        out[:] = sets
        return out.reshape(t.shape)

    def _rule(self, prim: Primitive, primals: list, tangents: list, out: Any, params: dict) -> Any:
        try:
            with np.errstate(all="ignore"):
                return prim.jvp(primals, tangents, out, params, False)
        except (TypeError, ValueError, AttributeError) as e:
            raise TypeError(
                f"sparsity detection could not apply the tangent rule of '{prim.name}' to index "
                f"sets ({type(e).__name__}: {e}). Its pattern is unknown, so dualdiff stops "
                f"rather than guess; pass a pattern you know (sparse=pattern) instead.") from e

    def _generic(self, prim: Primitive, primals: list, tangents: list, out: Any,
                 params: dict) -> Any:
        """The global pattern of a rule that is neither elementwise nor linear (matmul, …).

        Its zeros may come from constants (an entry of a constant matrix: zero everywhere) or
        from the values at x (zero here only). So the rule runs with exact-zero semantics at x
        and at two random points where only the traced arguments move, and the patterns are
        joined. A rule whose pattern differs between the random points selects by value: no
        single run can give its global pattern, so that is an error.
        """
        local = [None if t is None else _as_local(t) for t in tangents]
        patterns = [self._rule(prim, primals, local, out, params)]
        if any(type(p) in TRACED for p in primals):
            return _as_global(patterns[0])  # values of an outer derivative: no moving them
        if self.rng is None:
            self.rng = np.random.default_rng(0)
        r = [self.rng.standard_normal(np.shape(p)) * (1 + np.abs(np.real(p)))
             if t is not None and np.asarray(p).dtype.kind in "fc" else None
             for p, t in zip(primals, tangents)]
        for sign in (1.0, -1.0):
            moved = [p if d is None else _like(p, sign * d) for p, d in zip(primals, r)]
            with np.errstate(all="ignore"):
                try:
                    moved_out = prim.impl(*moved, **params)
                except Exception:
                    continue  # not defined there (a domain error): nothing to learn
            patterns.append(self._rule(prim, moved, local, moved_out, params))
        if len(patterns) == 3 and _sets(patterns[1]) != _sets(patterns[2]):
            raise TypeError(
                f"the tangent rule of '{prim.name}' gives a different sparsity pattern at "
                f"different values (it selects elements by value), so no global pattern can be "
                f"read from one run. Use dd.sparsity(..., local=True) for the pattern at x, or "
                f"pass the pattern you know (sparse=pattern).")
        joined = patterns[0]
        for extra in patterns[1:]:
            joined = joined + extra
        return _as_global(joined)


#: Linear primitives whose tangent rule only moves, copies or drops tangent elements (and fills
#: zeros for constants): applied to arrays of set ids, it moves the ids exactly as it would move
#: the sets. (sum, cumsum and the Fourier transforms add elements: not here; index_add only with
#: a basic index, see _moves.)
MOVERS = frozenset(("reshape", "transpose", "broadcast_to", "astype", "copy", "getitem", "stack",
                    "concatenate", "where", "permute"))


def _moves(prim: Primitive, params: dict) -> bool:
    """Whether the rule of ``prim`` only moves tangent elements. index_add (the adjoint of
    indexing, in a Hessian's reverse sweep) does when its index is basic: slices and integers
    never repeat an element, so nothing is added to anything."""
    if prim.name in MOVERS:
        return True
    if prim.name == "index_add":
        idx = params.get("idx")
        return type(idx) is tuple and all(i is None or i is Ellipsis or type(i) in (slice, int)
                                          for i in idx)
    return False


def _masks(params: dict) -> dict:
    """The boolean array parameters: masks a selection (where) may have computed from values."""
    return {k: v for k, v in params.items() if type(v) is np.ndarray and v.dtype == bool}


def _like(p: Any, value: np.ndarray) -> Any:
    """``value`` in the type and dtype of the primal ``p`` it stands in for."""
    a = np.asarray(value, dtype=np.asarray(p).dtype)
    return a if type(p) is np.ndarray or a.ndim else a[()]


def _convert(t: Any, cls: type) -> Any:
    if isinstance(t, GlobalSet):
        return cls(t.s)
    if type(t) is np.ndarray:
        out = np.empty(t.shape, dtype=object)
        out.reshape(-1)[:] = [cls(e.s) if isinstance(e, GlobalSet) else e for e in t.reshape(-1)]
        return out
    return t


def _as_local(t: Any) -> Any:
    return _convert(t, LocalSet)


def _as_global(t: Any) -> Any:
    return _convert(t, GlobalSet)


def detect(f: Callable, leaves: List[Any], treedef: Any, local: bool = False) -> Tuple[Pattern, Any]:
    """The pattern of f's Jacobian at the input leaves, by one run of f; and f's value.

    Rows are f(x)'s elements (C order), columns the inputs' elements, leaf after leaf.

    >>> import numpy as np
    >>> p, value = detect(lambda x: x[1:] * x[:-1], [np.ones(4)], None)
    >>> p.to_dense().astype(int).tolist()
    [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    """
    n = sum(cut.stop - cut.start for _, cut in pieces(leaves))
    tag = PatternTag(local, n)
    # The general path makes one small object per tangent element; the cyclic garbage collector
    # would walk all of them again and again (they hold no cycles), which doubles its time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        duals = [make_dual(x, tag.seed(shape, cut.start), tag) for x, (shape, cut)
                 in zip(leaves, pieces(leaves))]
        out = f(unflatten(treedef, duals))
        if isinstance(out, (list, tuple)) and out:
            out = F.stack(list(out))
    finally:
        tag.active = False
        if collecting:
            gc.enable()
    if type(out) is Dual and out.tag is tag:
        value, sets = out.primal, tag.as_sets(out.tangent)
    else:
        if type(out) in TRACED or isinstance(out, (GlobalSet, SetArray)) or (
                isinstance(out, np.ndarray) and out.dtype == object):
            raise TypeError("f's result is not an array of numbers; sparsity needs f to return "
                            "a number or an array")
        value = out
        sets = SetArray(np.zeros(math.prod(shape_of(out)), dtype=np.int64), tag.store, local)
    lengths, indices = tag.store.members(sets.ids)  # each set sorted: rows come out sorted
    indptr = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return Pattern(indptr, indices, (lengths.size, n)), value
