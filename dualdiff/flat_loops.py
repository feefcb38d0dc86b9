"""Binary ufuncs with one operand broadcast over the rows of the other, run as one flat loop.

numpy runs a broadcast ufunc one row at a time, with its iterator's overhead on every row: a
200×200 row-broadcast multiply took 17.5 µs, against 14.3 µs with the small operand copied out
to the result's shape first (a plain strided copy, without that overhead) and one flat loop
after it. Only for ufuncs that round once per element (+ − × ÷), whose bits cannot depend on
the loop. Both dd.compile's generated code and the eager product rule (``rules/partials.py``)
take it. numpy only.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

__all__ = ["tiled_first", "tiled_second", "TILE_MIN_BYTES", "TILE_MAX_BYTES", "TILE_ROWS"]

#: A broadcast operand of an exact ufunc is copied out first (:func:`tiled_first`) when the
#: result has from TILE_MIN_BYTES to TILE_MAX_BYTES (beyond, the copy's extra pass over memory
#: outside the cache costs more than the rows' overhead: 8 MB, 1000 rows, 27% slower) and at
#: least TILE_ROWS times the operand's elements (with fewer rows there is little overhead to
#: save: 10 rows of 10⁴, 45% slower).
TILE_MIN_BYTES = 1 << 15
TILE_MAX_BYTES = 1 << 20
TILE_ROWS = 32


def tiled_first(ufunc: Any, a: np.ndarray, b: np.ndarray,
                out: Optional[np.ndarray] = None) -> np.ndarray:
    """``ufunc(a, b)`` for an ``a`` that broadcasts against ``b`` (C-contiguous, the result's
    shape and dtype): ``a`` is copied out to that shape first, into ``out``, then the ufunc runs
    one flat loop. ``out`` must not share memory with ``b``.

    Only for exact ufuncs (see the module's note; ``codegen.Lowering.exact``); the operands
    keep their order (with two NaNs, the result's payload is the first one's).

    >>> a, b = np.arange(3.0), np.ones((4, 3))
    >>> bool(np.array_equal(tiled_first(np.subtract, a, b), a - b))
    True
    """
    if out is None:
        out = np.empty(b.shape, b.dtype)
    out[...] = a
    return ufunc(out, b, out=out)


def tiled_second(ufunc: Any, a: np.ndarray, b: np.ndarray,
                 out: Optional[np.ndarray] = None) -> np.ndarray:
    """``ufunc(a, b)`` for a ``b`` that broadcasts against ``a``: :func:`tiled_first` mirrored.

    >>> a, b = np.ones((4, 3)), np.arange(1.0, 4.0)
    >>> bool(np.array_equal(tiled_second(np.divide, a, b), a / b))
    True
    """
    if out is None:
        out = np.empty(a.shape, a.dtype)
    out[...] = b
    return ufunc(a, out, out=out)
