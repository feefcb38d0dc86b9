"""Arrays of index sets held in numpy arrays: the fast tangents of sparsity detection.

Sparsity detection (:mod:`dualdiff.sparsity`) pushes *sets of input indices* through each
primitive's own tangent rule. Held as one Python object per element, every ``+`` of a rule is a
Python call per element. Here a whole tangent is one :class:`SetArray`: an integer array of set
ids (same shape as the value) into a :class:`SetStore` that keeps every set as a sorted slice of
one flat index array. Moving elements (reshape, indexing, concatenation) then moves the ids, a
union of two arrays of sets is a handful of vectorised numpy calls for all elements at once, and
id 0 is the empty set, so the zeros a rule writes for a constant are empty sets by themselves.

A :class:`SetArray` implements the set algebra a tangent rule applies to tangents, as numpy's
protocols: ``+`` and ``-`` are union, a product or quotient with a number is the set itself
(for the pattern at x only: a product with an exact 0 is the empty set), negation and
conjugation leave it alone, and broadcasting broadcasts it. Anything else a rule might do with
it raises :class:`Unsupported`, and detection then applies that rule to Python set objects
instead (the general path): never a guess.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, List, Sequence, Tuple

import numpy as np

__all__ = ["SetStore", "SetArray", "Unsupported"]

_INT = np.int64


class Unsupported(Exception):
    """A tangent rule did something with index sets that :class:`SetArray` does not model."""


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    if need <= a.size:
        return a
    out = np.empty(max(need, 2 * a.size), dtype=a.dtype)
    out[:a.size] = a
    return out


class SetStore:
    """Index sets of one detection run: set k holds ``flat[start[k]:start[k] + size[k]]``,
    sorted and without repeats; set 0 is the empty set. Sets are only ever added.

    >>> s = SetStore(4)
    >>> a = s.singletons(0, 4)                         # {0}, {1}, {2}, {3}
    >>> u = s.union(a[:3], a[1:])                      # {0, 1}, {1, 2}, {2, 3}
    >>> s.to_lists(s.union(u, a[[2, 3, 0]])), s.to_lists(np.array([0]))
    ([[0, 1, 2], [1, 2, 3], [0, 2, 3]], [[]])
    """

    #: Entries the store may hold before :meth:`compact` is worth its cost (and at least
    #: twice what the live arrays held at the last compaction).
    FLOOR = 1 << 20

    def __init__(self, n: int):
        self.n = max(int(n), 1)  # how many inputs: set members are 0 … n - 1
        self._live: "weakref.WeakSet[SetArray]" = weakref.WeakSet()  # the arrays using it
        self._limit = 8 * self.n + self.FLOOR
        # Room for a few operations' worth of sets from the start: growing by doubling copies.
        room = 4 * self.n + 1024
        self._start = np.zeros(room, dtype=_INT)
        self._size = np.zeros(room, dtype=_INT)
        self._flat = np.zeros(2 * room, dtype=_INT)
        self._count = 1  # sets so far (set 0, the empty set, is there from the start)
        self._used = 0   # entries of _flat used

    def _add(self, sizes: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """Store new sets (concatenated in ``flat``, ``sizes`` each): their ids."""
        k = sizes.size
        first, used = self._count, self._used
        self._start = _grow(self._start, first + k)
        self._size = _grow(self._size, first + k)
        self._flat = _grow(self._flat, used + flat.size)
        starts = self._start[first:first + k]
        np.cumsum(sizes, out=starts)
        starts += used - sizes
        self._size[first:first + k] = sizes
        self._flat[used:used + flat.size] = flat
        self._count += k
        self._used += flat.size
        return np.arange(first, first + k, dtype=_INT)

    @property
    def count(self) -> int:
        """How many sets the store holds (ids 0 … count - 1)."""
        return self._count

    def crowded(self) -> bool:
        """Whether sets no live array refers to may be taking most of the store."""
        return self._used > self._limit

    def compact(self) -> None:
        """Keep only the sets live arrays refer to, renumbering them in those arrays.

        Sets are only ever added, and a long computation makes many that are used once; without
        this, memory would grow with the number of operations rather than with the patterns
        alive at one time. Call it only where every set in use is held by a SetArray.
        """
        live = list(self._live)
        bases = [_unbroadcast(a.ids) for a in live]
        used = np.unique(np.concatenate([b.reshape(-1) for b in bases]
                                        + [np.zeros(1, dtype=_INT)]))
        sizes, flat = self.members(used[1:])
        renumber = np.zeros(self._count, dtype=_INT)
        renumber[used] = np.arange(used.size, dtype=_INT)
        self._count, self._used = 1, 0
        self._add(sizes, flat)  # set k of `used` becomes set k
        for array, base in zip(live, bases):
            ids = np.asarray(renumber[base])
            array.ids = ids if base is array.ids else np.broadcast_to(ids, array.ids.shape)
        self._limit = max(2 * self._used, 8 * self.n + self.FLOOR)

    def singletons(self, offset: int, size: int) -> np.ndarray:
        """Ids of the sets {offset}, {offset + 1}, …, {offset + size - 1}."""
        return self._add(np.ones(size, dtype=_INT), np.arange(offset, offset + size, dtype=_INT))

    def members(self, ids: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """``(sizes, flat)``: each set's size, and all their members one set after the other."""
        ids = np.asarray(ids, dtype=_INT).reshape(-1)
        sizes = self._size[ids]
        starts = self._start[ids]
        total = int(sizes.sum())
        if total == 0:
            return sizes, np.zeros(0, dtype=_INT)
        # The members of set i sit at starts[i] + 0 … sizes[i] - 1: one arange, shifted per set.
        shift = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
        return sizes, self._flat[np.arange(total, dtype=_INT) + shift]

    def _merged(self, counts: np.ndarray, keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The union within each group: ``keys`` are ``group * n + member`` with ``counts[g]``
        of them in group g (in any order); returns each union's size and all unions' sorted
        members, group after group."""
        keys.sort(kind="stable")  # the pieces arrive as sorted runs: timsort merges them
        # Sorting keeps each group's keys together, so the group of each sorted key is known.
        groups = np.repeat(np.arange(counts.size, dtype=_INT), counts)
        keep = np.empty(keys.size, dtype=bool)
        if keys.size:
            keep[0] = True
            np.not_equal(keys[1:], keys[:-1], out=keep[1:])
        kept = np.zeros(keys.size + 1, dtype=_INT)
        np.cumsum(keep, out=kept[1:])
        ends = np.cumsum(counts)
        sizes = kept[ends] - kept[ends - counts]
        keys -= groups * self.n
        return sizes, keys[keep]

    def _columns(self, ids: np.ndarray, width: int) -> np.ndarray:
        """The members of sets that all have ``width`` members: column i holds set i's, sorted."""
        return self._flat[self._start[ids] + np.arange(width, dtype=_INT)[:, None]]

    @staticmethod
    def _merged_columns(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Column by column, the union of two matrices of sorted members: (sizes, members, set
        after set). The common case of a stencil (every element's set as large as its
        neighbours'): each of b's rows is inserted into a's sorted rows with a min and a max per
        row (an insertion network), whole rows at a time."""
        rows = list(a)
        for carry in b:
            merged = []
            for r in rows:
                merged.append(np.minimum(r, carry))
                carry = np.maximum(r, carry)
            merged.append(carry)
            rows = merged
        stacked = np.stack(rows)
        repeated = stacked[1:] == stacked[:-1]
        if not repeated.any():
            return np.full(stacked.shape[1], stacked.shape[0], dtype=_INT), stacked.T.reshape(-1)
        keep = np.ones(stacked.shape, dtype=bool)
        np.logical_not(repeated, out=keep[1:])
        return keep.sum(axis=0), stacked.T[keep.T]

    def union(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Element by element, the ids of a[i] ∪ b[i] (a and b of one shape)."""
        shape = np.shape(a)
        a = np.asarray(a, dtype=_INT).reshape(-1)
        b = np.asarray(b, dtype=_INT).reshape(-1)
        out = np.where(a == 0, b, a)
        mixed = np.flatnonzero((a != b) & (a != 0) & (b != 0))
        if mixed.size:
            ia, ib = a[mixed], b[mixed]
            sa, sb = self._size[ia], self._size[ib]
            # A stencil's sets mostly have one size on each side (its boundary excepted): those
            # are merged as whole columns, the rest as one sorted array.
            wa, wb = int(sa[sa.size // 2]), int(sb[sb.size // 2])
            if wa * wb <= 16:
                even = (sa == wa) & (sb == wb)
                out[mixed[even]] = self._union_of(
                    ia[even], ib[even], sa[even], sb[even],
                    self._merged_columns(self._columns(ia[even], wa), self._columns(ib[even], wb)))
                if not even.all():
                    rest = ~even
                    out[mixed[rest]] = self._union_of(ia[rest], ib[rest], sa[rest], sb[rest])
            else:
                out[mixed] = self._union_of(ia, ib, sa, sb)
        return out.reshape(shape)

    def _union_of(self, ia: np.ndarray, ib: np.ndarray, sa: np.ndarray, sb: np.ndarray,
                  merged: Any = None) -> np.ndarray:
        """Ids of ia[i] ∪ ib[i] (sets of sizes sa, sb, none of them empty or equal), given
        the merged members or merging them here."""
        if merged is None:
            fa, fb = self.members(ia)[1], self.members(ib)[1]
            base = np.arange(0, ia.size * self.n, self.n, dtype=_INT)
            merged = self._merged(sa + sb, np.concatenate((np.repeat(base, sa) + fa,
                                                            np.repeat(base, sb) + fb)))
        sizes, flat = merged
        # A union as large as one side is that side: no new set (x + sin x, a + a[::1]).
        ids = np.where(sizes == sa, ia, ib)
        new = (sizes != sa) & (sizes != sb)
        if new.any():
            ids[new] = self._add(sizes[new], flat[np.repeat(new, sizes)])
        return ids

    def union_along(self, ids: np.ndarray, axes: Tuple[int, ...], keepdims: bool) -> np.ndarray:
        """The union over ``axes`` (as a sum reduces them): one set per remaining element."""
        ids = np.asarray(ids, dtype=_INT)
        nd = ids.ndim
        keep = [a for a in range(nd) if a not in axes]
        moved = np.transpose(ids, keep + list(axes))
        out_shape = moved.shape[:len(keep)]
        groups = int(np.prod(out_shape, dtype=_INT))
        width = int(np.prod(moved.shape[len(keep):], dtype=_INT))
        rows = np.ascontiguousarray(moved).reshape(groups, width)
        if width == 1:
            result = rows[:, 0]
        elif groups == 0 or width == 0:
            result = np.zeros(groups, dtype=_INT)
        else:
            sizes, flat = self.members(rows)
            per_row = sizes.reshape(groups, width).sum(axis=1)
            base = np.arange(0, groups * self.n, self.n, dtype=_INT)
            usizes, uflat = self._merged(per_row, np.repeat(base, per_row) + flat)
            result = np.zeros(groups, dtype=_INT)
            nonempty = usizes > 0
            if nonempty.any():
                result[nonempty] = self._add(usizes[nonempty], uflat)
        if keepdims:
            full = [1 if a in axes else ids.shape[a] for a in range(nd)]
            return result.reshape(full)
        return result.reshape(out_shape)

    def from_sets(self, sets: Sequence[frozenset]) -> np.ndarray:
        """Ids for Python sets of indices (empty sets get id 0)."""
        sizes = np.fromiter(map(len, sets), dtype=_INT, count=len(sets))
        total = int(sizes.sum())
        flat = np.fromiter(itertools.chain.from_iterable(sets), dtype=_INT, count=total)
        base = np.arange(0, len(sets) * self.n, self.n, dtype=_INT)
        sizes, flat = self._merged(sizes, np.repeat(base, sizes) + flat)  # sorted, as stored
        ids = np.zeros(len(sets), dtype=_INT)
        nonempty = sizes > 0
        if nonempty.any():
            ids[nonempty] = self._add(sizes[nonempty], flat)
        return ids

    def to_lists(self, ids: np.ndarray) -> List[List[int]]:
        """The sets of ``ids`` (flattened) as sorted Python lists."""
        sizes, flat = self.members(ids)
        ends = np.cumsum(sizes).tolist()
        flat_l = flat.tolist()
        return [flat_l[e - s:e] for s, e in zip(sizes.tolist(), ends)]


_METADATA = (np.shape, np.ndim, np.size)


def _unbroadcast(ids: np.ndarray) -> np.ndarray:
    """``ids`` without its broadcast axes (stride 0): what it really holds."""
    if not ids.ndim or all(ids.strides):
        return ids
    return ids[tuple(slice(0, 1) if stride == 0 else slice(None) for stride in ids.strides)]


def _shape(x: Any) -> tuple:
    return x.ids.shape if type(x) is SetArray else np.shape(x)


def _ids_of(x: Any) -> Any:
    """The ids of a set operand, or None for a number (a constant: the empty set)."""
    if type(x) is SetArray:
        return x.ids
    if type(x) is np.ndarray and x.dtype == object:
        raise Unsupported  # sets as Python objects: the general path's
    return None


class SetArray:
    """An array of index sets: ``ids`` (an integer array with the value's shape) into ``store``.

    ``local``: the pattern at x, where a product with an exact 0 is the empty set.
    """

    __slots__ = ("ids", "store", "local", "__weakref__")
    #: As for an object array of sets: rules asking a tangent's dtype get object.
    dtype = np.dtype(object)

    def __init__(self, ids: np.ndarray, store: SetStore, local: bool):
        self.ids = ids
        self.store = store
        self.local = local
        store._live.add(self)  # so that compacting the store can renumber it

    @property
    def shape(self) -> tuple:
        return self.ids.shape

    @property
    def ndim(self) -> int:
        return self.ids.ndim

    @property
    def size(self) -> int:
        return self.ids.size

    def _new(self, ids: np.ndarray) -> "SetArray":
        return SetArray(ids, self.store, self.local)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported  # numpy would read the ids as numbers

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = ufunc.__name__
        if method == "reduce" and name == "add" and len(inputs) == 1:
            return self._union_along(**kwargs)
        if method != "__call__" or kwargs:
            raise Unsupported
        if name in ("add", "subtract"):
            return self._union(inputs)
        if name in ("multiply", "divide", "true_divide"):
            return self._scale(name, inputs)
        if name in ("negative", "positive", "conjugate"):
            return self
        raise Unsupported

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        if func in _METADATA and len(args) == 1 and not kwargs:
            return func(self.ids)  # shape, ndim, size: no element is read
        if func is np.real and len(args) == 1 and not kwargs:
            return self  # the real part of a tangent element depends on what the element does
        if func is np.broadcast_to and len(args) + len(kwargs) == 2:
            shape = args[1] if len(args) > 1 else kwargs["shape"]
            return self._new(np.broadcast_to(self.ids, shape))
        raise Unsupported

    def _union(self, inputs: tuple) -> "SetArray":
        shape = np.broadcast_shapes(*map(_shape, inputs))
        sets = [ids for ids in map(_ids_of, inputs) if ids is not None]
        if len(sets) == 1:
            ids = sets[0]
        else:
            a, b = np.broadcast_arrays(*sets)
            ids = self.store.union(a, b)
        return self._new(ids if ids.shape == shape else np.broadcast_to(ids, shape))

    def _union_along(self, axis: Any = None, keepdims: bool = False) -> "SetArray":
        """A sum's tangent: the union over ``axis`` (None: all axes)."""
        nd = self.ids.ndim
        if axis is None:
            axes = tuple(range(nd))
        else:
            axes = tuple(int(a) % nd if nd else int(a) for a in np.atleast_1d(axis))
            if any(not 0 <= a < max(nd, 1) for a in axes) or len(set(axes)) != len(axes):
                raise Unsupported
            axes = tuple(a for a in axes if a < nd)
        return self._new(self.store.union_along(self.ids, axes, bool(keepdims)))

    def _scale(self, name: str, inputs: tuple) -> "SetArray":
        if len(inputs) != 2 or (type(inputs[0]) is SetArray) == (type(inputs[1]) is SetArray):
            raise Unsupported  # two tangents multiplied: not linear (the general path says so)
        if name != "multiply" and type(inputs[0]) is not SetArray:
            raise Unsupported  # a number divided by a tangent
        number = inputs[1] if type(inputs[0]) is SetArray else inputs[0]
        if _ids_of(number) is not None:
            raise Unsupported
        shape = np.broadcast_shapes(np.shape(number), self.shape)
        if self.local and name == "multiply":
            # The pattern at x: a partial that is exactly 0 here drops the dependency.
            return self._new(np.where(np.asarray(number) != 0, self.ids, 0).reshape(shape))
        return self._new(self.ids if self.shape == shape else np.broadcast_to(self.ids, shape))

    def __add__(self, other: Any) -> "SetArray":
        return self._union((self, other))

    __radd__ = __sub__ = __rsub__ = __add__

    def __mul__(self, other: Any) -> "SetArray":
        return self._scale("multiply", (self, other))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> "SetArray":
        return self._scale("divide", (self, other))

    def __neg__(self) -> "SetArray":
        return self

    __pos__ = __neg__

    def conjugate(self) -> "SetArray":
        return self

    def __getitem__(self, idx: Any) -> Any:
        raise Unsupported  # indexing is a primitive of its own; elementwise rules never index

    def __repr__(self) -> str:
        return f"SetArray({self.store.to_lists(self.ids)}, shape={self.shape})"
