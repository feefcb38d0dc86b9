"""Large arrays kept for reuse: the eager rules' results written into memory already touched.

Why. At n = 10⁶ an eager derivative allocates a dozen 8 MB arrays per call. glibc hands memory
that large back to the kernel when it is freed (its heap is trimmed), so each new array is first
paid for in page faults: about 1-1.5 ms per 8 MB, a fifth of an eager gradient's time. The same
happens from a few hundred kilobytes on, depending on the heap's state: the 784-100-10 MLP's
gradient (two 627 KB arrays per sweep) took 275 page faults per call in a plain loop, a quarter
of its time. numpy offers no pool for its data, so dualdiff keeps one for the arrays its own
rules make.

How. :func:`empty` returns an array the caller writes in full (a ufunc's ``out=``). It is one
that an earlier call made and that nobody holds any more, when there is one of that shape and
dtype, else a new one, in memory mapped for it alone (outside malloc's heap, so that what the
pool keeps leaves the caller's own numpy allocations as they would be without dualdiff).
Every array :func:`empty` returns stays *tracked*: the pool holds one
reference to it, so "nobody holds it any more" is exact: its reference count shows the pool's
reference alone. Arrays under :data:`MIN_BYTES` are not pooled (glibc reuses small blocks
without faults); the tracked arrays total at most :data:`MAX_BYTES` (beyond that an array is
simply not tracked). :func:`clear` drops them all.

Code that proves exclusivity by reference counts (the sweep's in-place sums) adds
:func:`tracked` to what it allows: the pool's reference is not a holder of the value. A pooled
array's ``base`` is its memory map, so code that tells a view from an array by ``base is None``
asks :func:`owns_memory` instead.

Reference counts prove nothing from CPython 3.14 on or in a free-threaded build (see
``primitives.REFCOUNTS_EXACT``); there :func:`empty` always allocates and nothing is tracked.
"""

from __future__ import annotations

import contextlib
import mmap
import sys
import threading
import weakref
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from .primitives import REFCOUNTS_EXACT as REFCOUNTS

__all__ = ["empty", "call", "paused", "owns_memory", "tracked", "sole", "clear", "tracked_bytes", "MIN_BYTES",
           "MAX_BYTES", "REFCOUNTS"]

#: Arrays from this size on are pooled (256 KiB: glibc serves smaller blocks from its heap's
#: free lists, which are reused without faults; larger ones may be trimmed or unmapped on free).
MIN_BYTES = 1 << 18
#: The most bytes the pool keeps tracked, in use or idle (what an n = 10⁶ jvp has live at once,
#: with room to spare).
MAX_BYTES = 64 << 20

_getrefcount = sys.getrefcount
_getweakrefcount = weakref.getweakrefcount
_arrays: Dict[int, np.ndarray] = {}  # id -> array: the tracked arrays, in use or idle
# (shape, dtype) -> the ids of those arrays: where a request looks (ids, so that the pool holds
# one reference to each array, which tracked() tells the reference counting code)
_kinds: Dict[Tuple[tuple, np.dtype], List[int]] = {}
_bytes = 0
_paused = 0  # paused() blocks running
_lock = threading.Lock()  # taking an idle array is one step: two threads never share one


def empty(shape: tuple, dtype: Any) -> Optional[np.ndarray]:
    """A C-contiguous array of ``shape`` and ``dtype`` that nobody else holds, contents
    arbitrary (the caller overwrites all of it), or None when the pool does not apply (too
    small, reference counts unusable): then the caller computes as it would without the pool.

    >>> import numpy as np
    >>> from dualdiff import buffers
    >>> buffers.clear()
    >>> a = buffers.empty((1 << 18,), np.float64)  # 2 MiB: pooled
    >>> buffers.tracked(a), buffers.empty((4,), np.float64) is None
    (1, True)
    >>> address = a.ctypes.data
    >>> del a  # nobody holds it: the next request of its shape and dtype gets its memory
    >>> buffers.empty((1 << 18,), np.float64).ctypes.data == address
    True
    """
    global _bytes
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for s in shape:
        nbytes *= s
    if nbytes < MIN_BYTES or not REFCOUNTS or _paused:
        return None
    kind = (shape, dtype)
    with _lock:
        same = _kinds.get(kind)
        if same is not None:
            for key in same:
                a = _arrays[key]
                # the dict's reference, `a` and getrefcount's argument: held by nobody. (A weak
                # reference would see the pool's next write: such an array is left idle, and
                # freed, its weak references cleared, when the pool lets it go.)
                if _getrefcount(a) == 3 and not _getweakrefcount(a):
                    if not a.flags.writeable:  # (a caller made it read-only, then let it go)
                        a.flags.writeable = True
                    return a
        if _bytes + nbytes > MAX_BYTES:
            _evict(nbytes)
        if _bytes + nbytes > MAX_BYTES:
            return np.empty(shape, dtype)  # (untracked: an ordinary array)
        # Memory mapped for the pool alone, outside malloc's heap: kept between calls, it leaves
        # the heap as it would be without dualdiff (it does not keep the heap's top from being
        # trimmed, which would change the page faults of the caller's own numpy code).
        a = np.ndarray(shape, dtype, buffer=mmap.mmap(-1, nbytes))
        _arrays[id(a)] = a
        if same is None:
            same = _kinds[kind] = []
        same.append(id(a))
        _bytes += nbytes
        return a


def _evict(nbytes: int) -> None:
    """Make room for ``nbytes``: untrack idle arrays first (freeing them), then ones in use
    (which live on with their holders, untracked). Called under the lock."""
    global _bytes
    for idle_only in (True, False):
        for key in list(_arrays):
            if _bytes + nbytes <= MAX_BYTES:
                return
            # (the dict's reference and getrefcount's argument: idle)
            if not idle_only or _getrefcount(_arrays[key]) == 2:
                a = _arrays.pop(key)
                kind = (a.shape, a.dtype)
                same = _kinds[kind]
                same.remove(key)
                if not same:
                    del _kinds[kind]
                _bytes -= a.nbytes


_ARRAY_KINDS = frozenset("fc")
_WIDEST = (np.dtype(np.float64), np.dtype(np.complex128))


def call(ufunc: Any, *args: Any) -> Any:
    """``ufunc(*args)``, written into :func:`empty`'s memory when that gives the same result: a
    ufunc that keeps a real or complex floating dtype (arithmetic, exp, sin, ...), its arrays
    plain, C-contiguous, of one shape and dtype, its other arguments Python floats or ints
    (numpy then gives the array's dtype), or np.float64 numbers with float64 or complex128
    arrays (the cotangent of a sum is one). The same loop runs on the same numbers, so the bits
    are the same; anything else is ``ufunc(*args)`` as it stands.

    >>> import numpy as np
    >>> from dualdiff import buffers
    >>> x = np.linspace(0.0, 1.0, 1 << 18)
    >>> y = buffers.call(np.sin, x)
    >>> bool(np.array_equal(y, np.sin(x))), buffers.tracked(y)
    (True, 1)
    """
    shape = dtype = None
    wide = False  # an np.float64 argument: not a weak scalar, it would widen float32 arrays
    for a in args:
        ta = type(a)
        if ta is np.ndarray:
            if shape is None:
                shape, dtype = a.shape, a.dtype
                if dtype.kind not in _ARRAY_KINDS:
                    return ufunc(*args)
            elif a.shape != shape or a.dtype != dtype:
                return ufunc(*args)
            if not a.flags.c_contiguous:
                return ufunc(*args)
        elif ta is np.float64:
            wide = True
        elif ta is not float and ta is not int:
            return ufunc(*args)
    if wide and dtype not in _WIDEST:
        return ufunc(*args)
    out = None if shape is None else empty(shape, dtype)
    return ufunc(*args) if out is None else ufunc(*args, out=out)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No pooling while the block runs (:func:`empty` returns None): for values that are kept
    for good, as ``dd.compile``'s recording keeps its constants and first results.

    >>> import numpy as np
    >>> from dualdiff import buffers
    >>> with buffers.paused():
    ...     buffers.empty((1 << 18,), np.float64) is None
    True
    """
    global _paused
    with _lock:
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1


def owns_memory(a: np.ndarray) -> bool:
    """Whether writing into ``a`` touches no other array: it is not a view of another array
    (its memory its own, or the pool's array itself) and it is writeable."""
    return (a.base is None or _arrays.get(id(a)) is a) and a.flags.writeable


def tracked(a: Any) -> int:
    """1 if the pool holds a reference to ``a`` (to be discounted when counting its holders), else 0."""
    return 1 if _arrays.get(id(a)) is a else 0


def sole(a: np.ndarray) -> bool:
    """Whether the caller may hand ``a`` out as its own result: the caller's one reference
    (passed here) is the only one, the pool's aside, and ``a`` owns its memory and is
    writeable. False where reference counts prove nothing.

    >>> import numpy as np
    >>> from dualdiff import buffers
    >>> a = np.ones(3)
    >>> buffers.sole(a), buffers.sole(a[1:])
    (True, False)
    >>> b = a
    >>> buffers.sole(a)
    False
    """
    if not REFCOUNTS:
        return False
    pooled = _arrays.get(id(a)) is a
    # (the counts: the caller's reference, `a`, getrefcount's argument, and the pool's)
    return _getrefcount(a) <= 3 + pooled and (pooled or a.base is None) and a.flags.writeable


def tracked_bytes() -> int:
    """The bytes of the arrays the pool tracks (in use or idle)."""
    return _bytes


def clear() -> None:
    """Stop tracking every array: idle ones are freed, ones in use live on with their holders.

    >>> from dualdiff import buffers
    >>> buffers.clear(); buffers.tracked_bytes()
    0
    """
    global _bytes
    with _lock:
        _arrays.clear()
        _kinds.clear()
        _bytes = 0
