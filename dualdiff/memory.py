"""Memory counting: the bytes of forward values a tape keeps for its sweep, and their peak.

Reverse mode *stores* what its adjoint rules will read (``Primitive.needs``): the tape holds
those values from the moment they are computed until the sweep has used them. This module counts
them, so that the choice between storing and recomputing (:mod:`dualdiff.checkpoint`) is a
number. What is counted: each value on the tape (an input, or the result of a recorded
operation) that some entry keeps, once however many entries keep it, at its ``nbytes`` (8 for a
Python float, primal plus tangents for a Dual inside a Hessian). Constants the tape references
(weights closed over, literals) belong to the caller and are not counted; neither are the
cotangents of the sweep itself.

The count is taken when asked for (``full_output=True``), by walking the entries, so a
derivative that does not ask pays nothing.

>>> import dualdiff as dd, numpy as np
>>> x = np.ones(1000)                               # 8,000 bytes
>>> _, info = dd.grad(lambda x: np.sum(np.tanh(np.tanh(x))), x, full_output=True)
>>> info.peak_bytes                                 # each tanh keeps its output for the sweep
16000
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from .primitives import TRACED
from .tape import Tape, as_entry

__all__ = ["MemoryInfo", "value_bytes", "kept_bytes"]


def value_bytes(v: Any) -> int:
    """The bytes of one value: ``nbytes`` of an array, 8 for a float, all parts of a Dual.

    >>> from dualdiff.memory import value_bytes
    >>> import numpy as np
    >>> value_bytes(np.zeros((3, 4))), value_bytes(2.0), value_bytes(np.float32(1))
    (96, 8, 4)
    """
    t = type(v)
    if t is np.ndarray:
        return v.nbytes
    if t is float or t is int:
        return 8
    if t in TRACED:  # a value of an outer derivative: its primal and its tangent(s)
        return value_bytes(v.primal) + value_bytes(getattr(v, "tangent", None))
    if isinstance(v, np.generic):
        return v.nbytes
    if t is complex:
        return 16
    return 0


def held_prefix(tape: Tape) -> List[int]:
    """``prefix[j]``: the bytes kept by entries 0 … j together (each slot counted once).

    A single sweep (``grad``) consumes the tape from the end, so while entry j is being swept
    the tape still holds exactly what entries 0 … j keep: this one walk gives the bytes held at
    every step of the sweep.
    """
    seen = set()
    total = 0
    out = []
    for e in map(as_entry, tape.entries):  # (a float entry: what its Entry would keep)
        for p, v in zip(e.parents, e.args):
            if p is not None and v is not None and p not in seen:
                seen.add(p)
                total += value_bytes(v)
        if e.out is not None and e.slot not in seen:
            seen.add(e.slot)
            total += value_bytes(e.out)
        out.append(total)
    return out


def kept_bytes(tape: Tape) -> int:
    """The bytes of the values ``tape`` keeps for its sweep right now (each slot once)."""
    prefix = held_prefix(tape)
    return prefix[-1] if prefix else 0


class MemoryInfo:
    """What the tapes of one derivative kept: ``kept_bytes`` after recording, ``peak_bytes`` so far.

    Attached to a tape (``tape.meter``), it is updated by every checkpoint that re-runs its
    function during a sweep of that tape: the peak is then the bytes the outer tape still holds
    plus what the re-run's own tape keeps, nested as deep as the checkpoints go. Without
    checkpoints the peak is the tape's bytes at the end of the recording.
    """

    __slots__ = ("kept_bytes", "peak_bytes", "_tapes")

    def __init__(self) -> None:
        self.kept_bytes = 0
        self.peak_bytes = 0
        self._tapes: Dict[int, Tuple[int, List[int]]] = {}

    def watch(self, tape: Tape, base: int = 0) -> None:
        """Start counting ``tape`` (just recorded) on top of ``base`` bytes held by outer tapes."""
        prefix = held_prefix(tape)
        total = base + (prefix[-1] if prefix else 0)
        if not self._tapes:  # the derivative's own recording, not a checkpoint's re-run
            self.kept_bytes = total
        self._tapes[id(tape)] = (base, prefix)
        tape.meter = self
        self.peak_bytes = max(self.peak_bytes, total)

    def held(self, tape: Tape) -> int:
        """The bytes held now by ``tape`` and the tapes outside it (during its sweep)."""
        base, prefix = self._tapes[id(tape)]
        if not prefix:
            return base
        # A consuming sweep has popped the entry being swept but that entry still holds its
        # values; without consuming, every entry is still there.
        return base + prefix[min(len(tape.entries), len(prefix) - 1)]

    def forget(self, tape: Tape) -> None:
        """Stop counting ``tape`` (a checkpoint's re-run, swept and dropped)."""
        self._tapes.pop(id(tape), None)
        tape.meter = None

    def __repr__(self) -> str:
        return f"MemoryInfo(kept_bytes={self.kept_bytes}, peak_bytes={self.peak_bytes})"
