"""The plain arrays a recording keeps: safe from writes that f makes after reading them.

A tape keeps what its adjoint rules read, constants included: the X of ``W @ X``, the c of
``x * c``, an index array, a ``where`` condition, a ``sum(where=)`` mask. numpy code may write
into such an array after using it: a state advanced in place in a time loop (``h += v``), a
scratch buffer refilled for each term (``buf[:] = row``), an index array reused. numpy has
computed with the old contents by then, but the sweep runs after f returns and would read the
new ones: the derivative would be silently wrong. So a recording keeps

- a copy of a writeable array under :data:`COPY_MAX_BYTES`, made when the operation reads it
  (numpy's semantics, for the price of a small copy), and
- a larger one itself, made read-only until f returns (:func:`hold`): a write into it raises,
  and the transform says why and what to write instead. Copying it would cost about the time of
  the operation again on every call (a layer's batch of 400 KB in every gradient); making it
  read-only costs the same whatever its size.

Once f has returned no code of the caller's runs before the sweeps of grad, jacobian and
hessian, so :func:`release` makes the arrays writeable again then; a recording that outlives f
(a pullback of ``dd.vjp``, a trace) gets copies of them first. ``dd.compile`` copies every
array its recording reads, when it reads it (:func:`strided_copy`, see ``staging.py``).

Read-only arrays (seeds, ``stop_gradient``'s views, the caller's own read-only data) are left
as they are: nothing writes into them. Several recordings may hold one array (nested
transforms, threads): it is writeable again when the last of them lets go.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional

import numpy as np

__all__ = ["COPY_MAX_BYTES", "keep", "keep_params", "release", "strided_copy", "written_error",
           "held_count"]

#: Writeable constant arrays up to this size are copied when an operation keeps them; larger
#: ones are held read-only until f returns.
COPY_MAX_BYTES = 1 << 16

_ND = np.ndarray
_held: Dict[int, List[Any]] = {}  # id -> [array, how many recordings hold it read-only]
_lock = threading.Lock()


def strided_copy(a: np.ndarray) -> np.ndarray:
    """A writeable copy of ``a`` with ``a``'s exact strides, in memory of its own: numpy runs some
    loops (exp, power, a matrix product's) differently on contiguous and strided data, so a
    copy laid out otherwise could change the last bit of what is computed from it.

    >>> x = np.arange(6.0)[::-2]
    >>> y = strided_copy(x)
    >>> y.strides == x.strides, bool(np.array_equal(x, y)), np.shares_memory(x, y)
    (True, True, False)
    """
    flags = a.flags
    if flags.c_contiguous or flags.f_contiguous or a.size == 0 or a.dtype.hasobject:
        return a.copy(order="K")
    item = a.itemsize
    if any(st % item for st in a.strides):
        return np.array(a, order="K")
    low = sum((n - 1) * st for n, st in zip(a.shape, a.strides) if st < 0)
    high = sum((n - 1) * st for n, st in zip(a.shape, a.strides) if st > 0)
    buf = np.empty((high - low) // item + 1, a.dtype)
    out = np.lib.stride_tricks.as_strided(buf[-low // item:], a.shape, a.strides)
    out[...] = a
    return out


def _exposed(a: np.ndarray) -> bool:
    """Whether a write can reach ``a``'s contents: it, or an array it is a view of, is
    writeable (a read-only broadcast of a writeable mask is written through the mask)."""
    v: Any = a
    while isinstance(v, _ND):
        if v.flags.writeable:
            return True
        v = v.base
    return False


def _hold(tape: Any, a: np.ndarray) -> np.ndarray:
    """``a`` held read-only until :func:`release`, and the arrays it is a view of with it (a
    write through the base reaches the view too); ``tape.held`` lists them."""
    held = tape.held
    if held is None:
        held = tape.held = []
    with _lock:
        v: Any = a
        while isinstance(v, _ND):
            found = _held.get(id(v))
            if found is not None and found[0] is v:
                found[1] += 1
                held.append(v)
            elif v.flags.writeable:
                v.setflags(write=False)
                _held[id(v)] = [v, 1]
                held.append(v)
            v = v.base
    return a


def _kept(tape: Any, a: np.ndarray) -> np.ndarray:
    """``a`` as a recording keeps it: a copy when small, else ``a`` held read-only."""
    return strided_copy(a) if a.nbytes <= COPY_MAX_BYTES else _hold(tape, a)


def keep(tape: Any, values: tuple, parents: tuple) -> tuple:
    """``values`` with their constant arrays (parent None) that a write can reach copied or
    held: what an entry of ``tape`` keeps. ``tape.held`` lists the arrays made read-only, for
    :func:`release`."""
    out = None
    for i in range(len(values)):
        v = values[i]
        if type(v) is _ND and parents[i] is None and _exposed(v):
            if out is None:
                out = list(values)
            out[i] = _kept(tape, v)
    return values if out is None else tuple(out)


def keep_params(tape: Any, params: dict) -> dict:
    """``params`` with the arrays among them that a write can reach (an index, a condition, a
    mask; in a tuple too) copied or held."""
    for p in params.values():  # (a slice's index, the common case, has none: found out first)
        if type(p) is _ND or (type(p) is tuple and _ND in map(type, p)):
            break
    else:
        return params
    new = dict(params)
    for k, p in params.items():
        if type(p) is _ND:
            if _exposed(p):
                new[k] = _kept(tape, p)
        elif type(p) is tuple:
            new[k] = tuple(_kept(tape, q) if type(q) is _ND and _exposed(q) else q for q in p)
    return new


def release(held: List[Any], entries: Optional[List[Any]] = None) -> None:
    """Let go of the arrays a recording held: each is writeable again once no recording holds
    it. With ``entries`` (a tape that outlives f), the entries first get copies of them."""
    if entries is not None:
        ours = {id(a): a for a in held}
        copies: Dict[int, np.ndarray] = {}

        def copied(v: Any) -> Any:
            if type(v) is _ND and ours.get(id(v)) is v:
                c = copies.get(id(v))
                if c is None:
                    c = copies[id(v)] = strided_copy(v)  # type: ignore[arg-type]
                return c
            if type(v) is tuple:
                return tuple(copied(q) for q in v)
            return v
        for e in entries:
            if type(e) is tuple:
                continue  # (a number's entry: it keeps numbers)
            args = e.args
            if any(type(v) is _ND and id(v) in ours for v in args):
                e.args = tuple(copied(v) for v in args)
            params = e.params
            if params and any(type(p) is _ND and id(p) in ours or type(p) is tuple
                              for p in params.values()):
                e.params = {k: copied(p) for k, p in params.items()}
    with _lock:
        free = []
        for a in reversed(held):  # (a view was held before its base: bases come first here)
            found = _held[id(a)]
            found[1] -= 1
            if not found[1]:
                del _held[id(a)]
                free.append(a)
        # A view becomes writeable only once its base is: retry until nothing more changes.
        while free:
            left = []
            for a in free:
                try:
                    a.setflags(write=True)
                except ValueError:
                    left.append(a)
            if len(left) == len(free):
                break  # (a base made read-only by the caller meanwhile: theirs to decide)
            free = left
    held.clear()


# numpy's refusals, and Cython's for a typed memoryview that asks for a writeable buffer (a
# library's routine handed one of them: it may only read, but cannot tell)
_NUMPY_READ_ONLY = ("assignment destination is read-only", "output array is read-only",
                    "buffer source array is read-only")


def written_error(e: BaseException, held: Optional[List[Any]]) -> Optional[ValueError]:
    """Our explanation of numpy's refusal to write into a read-only array, raised in f while
    the recording holds arrays (maybe the one written), or None."""
    if not held or not isinstance(e, ValueError) or not any(m in str(e) for m in _NUMPY_READ_ONLY):
        return None
    return ValueError(
        f"f wrote into a numpy array that is read-only, or handed it to code that asks for a "
        f"writeable one ({e}). If f used that array earlier in "
        f"a computation whose derivative reads it (x * c, W @ X, an index, a condition), "
        f"dualdiff keeps it, and a large one (over {COPY_MAX_BYTES // 1024} KiB) is read-only "
        f"until f returns: the derivative is computed after f has run, and would read the "
        f"new contents. Make a new array instead of writing into that one (h = h + v "
        f"rather than h += v; buf = row.copy() rather than buf[:] = row), or copy it before "
        f"using it (x * c.copy()).")


def held_count() -> int:
    """How many arrays recordings hold read-only right now (0 when none is running)."""
    return len(_held)
