"""Replayed sweeps: eager mode's reverse sweep as generated code, reused while the tape keeps its shape.

Why: on small and medium arrays most of an eager derivative's time is the interpreter, not
numpy. A training loop or a Newton iteration records the same tape, entry for entry, on every
call, and the sweep then makes the same decisions again: which rule, which shortcut, which sum
in place. Here the sweep of a tape seen before runs as straight-line numpy code made once by
dd.compile's own machinery (``staging`` and ``codegen``: the sweep's rules run on staged values,
so nothing here knows a derivative), and only f itself is interpreted each call. The Hessian of
Rosenbrock's function at n = 100 and an MLP's gradient take 10-20% less time.

What stays eager, and why the results are the ones the interpreted sweep gives, bit for bit:

* f runs every call, on this call's values: closure arrays, globals, side effects and branches
  on traced values are this call's. Only the sweep is replayed, and it reads every array the
  tape holds as an *input* of the generated code (never a constant of the recording), so a
  batch written into a closed-over array is seen.
* The generated code opens with checks of everything the recording depended on: each entry's
  primitive, parents, parameters and shapes; each kept value's type, shape, dtype and strides;
  Python numbers and integers by value; which values were one object; the deferred tangents
  of forward over reverse, operation by operation. Any difference, and any guard a rule's
  ``bool()`` of a value recorded, hands the call to the interpreted sweep (:class:`Miss`).
* Only tapes of the built-in table's primitives whose parameters are plain data, with one
  float seed (grad's ȳ = 1), real or forward-over-reverse values, and at most
  :data:`MAX_BYTES` of arrays are replayed. Checkpoints, user rules (their functions may read
  state of their own), ``keep=True`` sweeps (dd.trace), memory meters, kept seeds and anything
  else go on being interpreted.
* The operation counts (``JacobianInfo``, ``python -m dualdiff.compare``) are the interpreted
  sweep's: a replay adds what the recording counted.

A tape's structure is recorded once its interpreted sweeps have taken about as long as a
recording costs (:data:`RECORD_BUDGET`, at least :data:`RECORD_AT` sightings: a gradient taken
a few times pays nothing, and a loop pays at most about twice what it would have without
replay), its code is used from then on; a structure whose code keeps missing stops being tried.
``ENABLED = False`` (or the environment variable ``DUALDIFF_REPLAY=0``) turns replay off;
:func:`clear` forgets every recording; :func:`stats` counts what happened.

>>> import numpy as np, dualdiff as dd
>>> from dualdiff import replay
>>> replay.clear()
>>> x = np.linspace(0.0, 1.0, 50)
>>> f = lambda x: np.sum(np.sin(x) * x + np.exp(-x) ** 2)
>>> g = [dd.grad(f, x) for _ in range(500)]
>>> replay.stats()["replayed"] >= 1 or not replay.ENABLED
True
>>> all(np.array_equal(g[0], gi) for gi in g[1:])
True
"""

from __future__ import annotations

import builtins
import itertools
import os
import re
import threading
from time import perf_counter
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import buffers
from .codegen import Miss, Recycled, generate
from .dual import Deferred, Dual, ForwardTag
from .rules.table import PRIMITIVES
from .rules.table import is_identity_seed
from .staging import StagingTag, is_staged
from .tape import _KEEPS, Entry, LazyVar, Tape, Var, as_entry, backward as interpreted_backward

__all__ = ["backward", "clear", "stats", "ENABLED", "MAX_BYTES"]

#: Whether eager sweeps are replayed (``DUALDIFF_REPLAY=0`` in the environment: off).
ENABLED = os.environ.get("DUALDIFF_REPLAY", "1") != "0"
#: Tapes holding more array bytes than this are always interpreted: there numpy's passes are
#: the cost, not the interpreter, and a recording would keep workspace memory of that size.
MAX_BYTES = 4 << 20
#: Tapes of fewer entries are always interpreted (nothing worth a lookup to save), and of more
#: (an unrolled loop: its recording and checks would cost more than a few sweeps save).
MIN_ENTRIES = 4
MAX_ENTRIES = 2000
#: A structure is recorded once seen this many times (again after a miss) and once its
#: interpreted sweeps took RECORD_BUDGET = (base, per entry) seconds in all: about what its
#: recording costs (measured: 1.1 ms for a 7-entry gradient, 3.4 ms for the 11-entry sweep of
#: a Hessian at n = 100, 4.4 ms for a 16-entry MLP gradient), so a loop never pays more than
#: about twice the sweeps it would have interpreted (a rent-or-buy rule), and one of hundreds
#: of calls (training, a Newton iteration) gains.
RECORD_AT = 4
RECORD_BUDGET = (5e-4, 2e-4)
#: Recordings kept per structure (shapes or constants that alternate) and structures kept.
MAX_SPECS = 4
MAX_KEYS = 64
#: The arrays all recordings read in all, at most (the memory their code keeps between calls,
#: its workspace, is about that of the arrays it reads): the oldest structures are forgotten.
MAX_TOTAL_BYTES = 64 << 20
#: A structure whose recordings missed this many times more than they ran is given up (a
#: constant that changes every call: recording after recording would be made for nothing).
MAX_MISSES = 8

_SEEDS = (float, np.float64, np.float32)  # grad's ȳ = 1, as a number of f's dtype
_lock = threading.Lock()
_specs: Dict[Any, List["_Spec"]] = {}
_seen: Dict[Any, List[float]] = {}  # [sightings, seconds of interpreted sweeps] by structure
_misses: Dict[Any, int] = {}
_given_up: set = set()
_counts = {"replayed": 0, "recorded": 0, "missed": 0, "interpreted": 0, "refused": 0}
_serial = itertools.count()


def clear() -> None:
    """Forget every recorded sweep (and the structures given up on), and zero :func:`stats`."""
    with _lock:
        for k in _counts:
            _counts[k] = 0
        _specs.clear()
        _seen.clear()
        _misses.clear()
        _given_up.clear()


def stats() -> Dict[str, int]:
    """How many sweeps were replayed, recorded, missed (run interpreted after a check failed),
    interpreted (never eligible or not seen enough) and refused (could not be recorded)."""
    return dict(_counts, structures=len(_specs))


class _Refused(Exception):
    """This tape cannot be replayed (a value or rule the recording does not model)."""


#: The built-in table, as imported: a primitive added later (dd.elementwise, a scipy.special
#: order made on first use) is a user's rule, whose functions may read state of their own.
_BUILTIN = frozenset(id(p) for p in PRIMITIVES.values())


def backward(tape: Tape, seeds: Dict[int, Any], keep: bool = False,
             consume: bool = False) -> List[Optional[Any]]:
    """:func:`dualdiff.tape.backward`'s grad_table, from the replayed code when this tape's
    structure has been recorded (see the module's docstring), else from the interpreted sweep."""
    entries = tape.entries
    # (a tape that opens with a float entry is scalar code: its sweep is math on floats, which
    # the generated code would run no faster)
    if (not ENABLED or keep or not MIN_ENTRIES <= len(entries) <= MAX_ENTRIES
            or type(entries[0]) is not Entry
            or tape.meter is not None or tape.keep_all or len(seeds) != 1
            or type(next(iter(seeds.values()))) not in _SEEDS):
        # (an array ȳ, a vjp's or a reverse Jacobian's row: its values would need checks of
        # their own; such a tape's grad, with ȳ = 1, is still replayed)
        return interpreted_backward(tape, seeds, keep, consume)
    key = tuple([e.prim if type(e) is Entry else e[0] for e in entries])
    specs = _specs.get(key)
    if specs is not None:
        for spec in specs:
            try:
                out = spec.run(entries, seeds, tape)
            except Miss:
                continue
            except Exception:
                # (an error the code met: numpy's under np.errstate(all='raise'), or a flaw of
                # the recording; either way the interpreted sweep decides, as it always has, and
                # the structure is not replayed again)
                _give_up(key)
                return interpreted_backward(tape, seeds, keep, consume)
            _counts["replayed"] += 1
            if key in _misses:  # (a miss is forgiven by a replay: only a run of them gives up)
                left = _misses[key] - 1
                if left > 0:
                    _misses[key] = left
                else:
                    _misses.pop(key, None)
            return spec.table(tape, out, consume)
        _counts["missed"] += 1
        missed = _misses[key] = _misses.get(key, 0) + 1
        if missed > MAX_MISSES:
            _give_up(key)
            return interpreted_backward(tape, seeds, keep, consume)
    elif key in _given_up:
        _counts["interpreted"] += 1
        return interpreted_backward(tape, seeds, keep, consume)
    # (a structure recorded already that missed: another recording once it is seen as often)
    seen = _seen.get(key)
    if seen is None:
        if len(_seen) > 4 * MAX_KEYS:
            _seen.clear()  # (structures seen once each: a program that keeps changing)
        seen = _seen[key] = [0, 0.0]
    seen[0] += 1
    if seen[0] < RECORD_AT or seen[1] < RECORD_BUDGET[0] + RECORD_BUDGET[1] * len(entries):
        _counts["interpreted"] += 1
        start = perf_counter()
        table = interpreted_backward(tape, seeds, keep, consume)
        seen[1] += perf_counter() - start
        return table
    seen[0], seen[1] = 0, 0.0
    try:
        spec, table = _record(tape, seeds)
    except Exception:
        # Whatever the recording met (a value or rule it does not model, a guard it cannot
        # place, an error under np.errstate(all='raise')), the interpreted sweep meets it as
        # eager mode always has; the structure is not tried again.
        _counts["refused"] += 1
        _give_up(key)
        return interpreted_backward(tape, seeds, keep, consume)
    with _lock:
        if key not in _specs and len(_specs) >= MAX_KEYS:
            _specs.pop(next(iter(_specs)))  # (the oldest structure)
        kept = _specs.setdefault(key, [])
        kept.insert(0, spec)
        del kept[MAX_SPECS:]
        while (len(_specs) > 1 and sum(sp.nbytes for specs in _specs.values() for sp in specs)
               > MAX_TOTAL_BYTES):
            _specs.pop(next(k for k in _specs if k != key))  # (the oldest other structure)
    _counts["recorded"] += 1
    if consume:
        entries.clear()
    return table


def _give_up(key: Any) -> None:
    """Never replay this structure again (its recordings forgotten)."""
    with _lock:
        _specs.pop(key, None)
        if len(_given_up) > 4 * MAX_KEYS:
            _given_up.clear()  # (bounded: a program whose structures keep changing)
        _given_up.add(key)


class _PoolOut:
    """Where a large result of the replayed code is written: the buffer pool's memory, which
    the grad path hands the caller without a copy (a Recycled array, being a view of aligned
    memory, would be copied by tape.take)."""

    __slots__ = ("shape", "dtype", "order")
    shape: Tuple[int, ...]
    dtype: Any
    order: Any  # "C" or "F"

    def __init__(self, r: Recycled):
        self.shape, self.dtype, self.order = r.shape, r.dtype, r.order

    def __call__(self) -> np.ndarray:
        a = buffers.empty(self.shape, self.dtype) if self.order == "C" else None
        return np.empty(self.shape, dtype=self.dtype, order=self.order) if a is None else a


class _Spec:
    """One recorded sweep: the generated function and how its results fill a grad_table."""

    __slots__ = ("run", "source", "slots", "kinds", "swept", "counted", "nbytes")

    def __init__(self, run: Any, source: str, slots: List[int], kinds: List[Any],
                 swept: int, counted: int, nbytes: int = 0):
        self.run, self.source, self.slots, self.kinds = run, source, slots, kinds
        self.swept, self.counted, self.nbytes = swept, counted, nbytes

    def table(self, tape: Tape, out: tuple, consume: bool,
              counted: bool = False) -> List[Optional[Any]]:
        """The grad_table of a run's results ``out`` (its forward tag first), with the counts
        the interpreted sweep would have made; ``counted``: the tag's are made already."""
        tag, values = out[0], out[1:]
        table: List[Optional[Any]] = [None] * tape.nslots
        j = 0
        for s, kind in zip(self.slots, self.kinds):
            if kind == "dual":
                d = Dual.__new__(Dual)
                d.primal, d.tangent, d.tag = values[j], values[j + 1], tag
                table[s] = d
                j += 2
            elif kind == "value":
                table[s] = values[j]
                j += 1
            else:
                table[s] = kind[1]
        tape.swept += self.swept
        if tag is not None and not counted:
            tag.count += self.counted
        if consume:
            tape.entries.clear()
        return table


_SCALARS = (float, int, bool)


def _params_ok(v: Any) -> bool:
    """Plain data, compared with == by the generated checks (no arrays, no functions)."""
    t = type(v)
    if t is tuple or t is list:
        return all(_params_ok(u) for u in v)
    if t is dict:
        return all(_params_ok(u) for u in v.values())
    return (v is None or t in _SCALARS or t is str or t is slice or t is np.dtype
            or isinstance(v, np.dtype) or t is type(Ellipsis) or isinstance(v, np.generic))


class _Walk:
    """Reads a tape at recording time: stages every value its sweep will read, and writes the
    lines that find the same values in a later tape and check they are alike."""

    def __init__(self, tag: StagingTag, tape: Tape):
        self.tag = tag
        self.tape = tape
        # (owner, line): owner is the input a line serves (its check, its extraction, forcing
        # the deferred value it is), dropped with the input when the code never reads it
        self.lines: List[Tuple[Optional[str], str]] = []
        self.ns: Dict[str, Any] = {"_nd": np.ndarray, "_Entry": Entry, "_Dual": Dual,
                                   "_Deferred": Deferred, "_ForwardTag": ForwardTag,
                                   "_LazyVar": LazyVar, "_Var": Var, "_f64": np.float64}
        self.seen: Dict[int, Tuple[str, Any]] = {}  # id(object): (its name in the code, its shadow)
        self.keep: List[Any] = []  # (the objects seen, alive while their ids are keys)
        self.inputs: List[Tuple[str, Any]] = []  # (name, Staged) of the values read
        self.temps = itertools.count()
        self.dual_tag: Optional[ForwardTag] = None
        self.nbytes = 0

    def const(self, value: Any) -> str:
        name = f"_k{len(self.ns)}"
        self.ns[name] = value
        return name

    def temp(self) -> str:
        return f"t{next(self.temps)}"

    def emit(self, line: str, owner: Optional[str] = None) -> None:
        self.lines.append((owner, line))

    def own(self, start: int, shadow: Any) -> None:
        """Give the lines from ``start`` on that serve no input yet to ``shadow``'s input."""
        if is_staged(shadow):
            name = f"v{shadow.node.id}"
            self.lines[start:] = [(name if o is None else o, line) for o, line in self.lines[start:]]

    def _again(self, x: Any, expr: str) -> Optional[Any]:
        hit = self.seen.get(id(x))
        if hit is None:
            return None
        # (an input's identity matters only where the code reads that input)
        self.emit(f"if {expr} is not {hit[0]}: raise _Miss",
                  hit[0] if is_staged(hit[1]) else None)
        return hit[1]

    def _note(self, x: Any, expr: str, shadow: Any) -> None:
        self.seen[id(x)] = (expr, shadow)
        self.keep.append(x)

    def value(self, x: Any, expr: str, constant: bool = False) -> Any:
        """The shadow of a kept value ``x`` (what the recording's sweep reads), with the lines
        that check the value at ``expr`` in a later tape is of the same kind. ``constant``: x is
        no traced value (an argument without a parent), such as the 100.0 of ``100.0 * y``."""
        t = type(x)
        if t is LazyVar or t is Var:
            if x.tag.tape is not self.tape:
                raise _Refused  # a value of another recording: nested reverse mode
            name = self.temp()
            start = len(self.lines)
            self.emit(f"{name} = {expr}")
            self.emit(f"if type({name}) is _LazyVar or type({name}) is _Var:")
            self.emit(f"    if {name}.tag.tape is not TAPE: raise _Miss")
            self.emit(f"    {name} = {name}.primal")
            shadow = self.value(x.primal, name)
            self.own(start, shadow)
            return shadow
        if x is None:
            self.emit(f"if {expr} is not None: raise _Miss")
            return None
        if t is int or t is bool or t is float and constant:
            # A number written in f is a constant of the recording, as dd.compile takes it (the
            # rules take Python numbers their own way: numpy's weak scalars). Compared by value,
            # bit for bit where == cannot tell (nan, the sign of zero).
            if t is float and (x != x or x == 0.0):
                self.emit(f"if type({expr}) is not float or not _same({expr}, {self.const(x)}): "
                          f"raise _Miss")
            else:
                self.emit(f"if type({expr}) is not {t.__name__} or {expr} != {x!r}: raise _Miss")
            return x
        if t is np.ndarray or t is np.float64 or t is np.float32 or t is float:
            # (a computed Python float, scalar code's, is an input as its array would be)
            again = self._again(x, expr) if t is not float else None
            if again is not None:
                return again
            if t is np.ndarray and is_identity_seed(x):
                # The matmul rule recognises dualdiff's identity seeds by identity (it skips the
                # product): kept as the object itself, so the recording takes the same branch.
                name = self.const(x)
                self.emit(f"if {expr} is not {name}: raise _Miss")
                self._note(x, name, x)
                return x
            staged = self.tag.new_input(x)
            name = f"v{staged.node.id}"
            if t is np.ndarray:
                if x.dtype.kind not in "fciub":
                    raise _Refused
                self.nbytes += x.nbytes
                self.emit(f"if type({expr}) is not _nd or {expr}.shape != {x.shape!r} or "
                          f"{expr}.dtype != {self.const(x.dtype)} or "
                          f"{expr}.strides != {x.strides!r}: raise _Miss", name)
            else:
                self.emit(f"if type({expr}) is not {self.const(t)}: raise _Miss", name)
            self.emit(f"{name} = {expr}", name)
            self.inputs.append((name, staged))
            if t is not float:  # (equal floats are often one object: that says nothing)
                self._note(x, name, staged)
            return staged
        if t is Dual:
            again = self._again(x, expr)
            if again is not None:
                return again
            tag = x.tag
            if type(tag) is not ForwardTag or tag.keep or not tag.active:
                raise _Refused
            name = self.temp()
            self.emit(f"{name} = {expr}")
            if self.dual_tag is None:
                self.dual_tag = tag
                self.emit(f"if type({name}) is not _Dual: raise _Miss")
                self.emit(f"DT = {name}.tag")
                self.emit(f"if type(DT) is not _ForwardTag or DT.keep or DT.chunk != "
                          f"{tag.chunk!r}: raise _Miss")
            elif tag is not self.dual_tag:
                raise _Refused  # two forward tags: a third-order derivative
            else:
                self.emit(f"if type({name}) is not _Dual or {name}.tag is not DT: raise _Miss")
            if type(x.primal) not in (np.ndarray, float, np.float64):
                raise _Refused
            d = Dual.__new__(Dual)
            self._note(x, name, d)
            d.primal = self.value(x.primal, f"{name}.primal")
            d.tangent = self.tangent(x.tangent, f"{name}.tangent")
            d.tag = tag
            return d
        raise _Refused

    def tangent(self, t: Any, expr: str) -> Any:
        if type(t) is not Deferred:
            if t is not None and type(t) is not np.ndarray:
                raise _Refused
            return self.value(t, expr)
        again = self._again(t, expr)
        if again is not None:
            return again
        name = self.temp()
        self.emit(f"{name} = {expr}")
        d = Deferred.__new__(Deferred)
        self._note(t, name, d)
        if t.prim is None:  # resolved: its value
            self.emit(f"if type({name}) is not _Deferred or {name}.prim is not None: raise _Miss")
            d.prim = d.primals = d.tangents = d.out = d.params = None
            d.chunked, d.keep = t.chunked, t.keep
            d.value = self.tangent(t.value, f"{name}.value")
            return d
        if id(t.prim) not in _BUILTIN or t.keep or not _params_ok(t.params):
            raise _Refused
        self.emit(f"if type({name}) is not _Deferred or {name}.prim is not {self.const(t.prim)} "
                  f"or {name}.chunked is not {t.chunked!r} or {name}.keep "
                  f"or len({name}.primals) != {len(t.primals)} "
                  f"or len({name}.tangents) != {len(t.tangents)} "
                  f"or {name}.params != {self.const(t.params)}: raise _Miss")
        d.prim, d.params, d.chunked, d.keep, d.value = t.prim, t.params, t.chunked, t.keep, None
        # (an argument the tangent rule has no tangent for is a constant, or a value no
        # perturbation reaches)
        d.primals = tuple(self.value(p, f"{name}.primals[{i}]", t.tangents[i] is None)
                          for i, p in enumerate(t.primals))
        d.tangents = tuple(self.tangent(u, f"{name}.tangents[{i}]") for i, u in enumerate(t.tangents))
        d.out = self.value(t.out, f"{name}.out")
        return d

    def float_entry(self, e: tuple, i: int) -> Entry:
        """A float entry (scalar code: see TapeTag.process) and the Entry it stands for."""
        prim, slot, parents, values, out, wants = e
        if id(prim) not in _BUILTIN:
            raise _Refused
        name = self.temp()
        self.emit(f"{name} = E[{i}]")
        self.emit(f"if type({name}) is not tuple or {name}[0] is not {self.const(prim)} "
                  f"or {name}[1] != {slot} or {name}[2] != {parents!r}: raise _Miss")
        keep_args, keep_out = _KEEPS[prim.needs]
        if keep_args:
            vals = self.temp()
            self.emit(f"{vals} = {name}[3]")
            self.emit(f"if len({vals}) != {len(values)}: raise _Miss")
            values = tuple(self.value(a, f"{vals}[{k}]", parents[k] is None)
                           for k, a in enumerate(values))
        if keep_out:
            out = self.value(out, f"{name}[4]")
        return as_entry((prim, slot, parents, values, out, wants))

    def entry(self, e: Entry, i: int) -> Entry:
        if type(e) is tuple:
            return self.float_entry(e, i)
        if id(e.prim) not in _BUILTIN or not _params_ok(e.params):
            raise _Refused
        name = self.temp()
        self.emit(f"{name} = E[{i}]")
        self.emit(f"if type({name}) is not _Entry or {name}.prim is not {self.const(e.prim)} "
                  f"or {name}.slot != {e.slot} or {name}.parents != {e.parents!r} "
                  f"or {name}.shapes != {e.shapes!r} or {name}.real != {e.real!r} "
                  f"or {name}.params != {self.const(e.params)}: raise _Miss")
        s = Entry.__new__(Entry)
        s.prim, s.parents, s.params, s.shapes = e.prim, e.parents, e.params, e.shapes
        s.slot, s.wants, s.real = e.slot, e.wants, e.real
        args = self.temp()
        self.emit(f"{args} = {name}.args")
        if len(e.args) != 1:
            self.emit(f"if len({args}) != {len(e.args)}: raise _Miss")
        # (what an entry keeps, and so which of these are None, is its primitive's prim.needs)
        s.args = tuple(None if a is None else self.value(a, f"{args}[{k}]", e.parents[k] is None)
                       for k, a in enumerate(e.args))
        s.out = None if e.out is None else self.value(e.out, f"{name}.out")
        return s


def _record(tape: Tape, seeds: Dict[int, Any]) -> Tuple[_Spec, List[Optional[Any]]]:
    """Record the sweep of ``tape`` from ``seeds`` as generated code; also this call's table.
    A recording that fails leaves the forward tag's operation count as it found it (the
    interpreted sweep then counts)."""
    counts: List[Tuple[Any, int]] = []
    try:
        return _recording(tape, seeds, counts)
    except BaseException:
        for dual_tag, start in counts:
            dual_tag.count = start
        raise


def _recording(tape: Tape, seeds: Dict[int, Any],
               counts: List[Tuple[Any, int]]) -> Tuple[_Spec, List[Optional[Any]]]:
    (slot, ct), = seeds.items()
    if type(ct) not in _SEEDS or ct != ct:
        raise _Refused  # (a vjp's array ȳ: its shape and values would need checks of their own)
    tag = StagingTag()
    walk = _Walk(tag, tape)
    entries = tape.entries
    walk.emit(f"if len(E) != {len(entries)} or TAPE.nslots != {tape.nslots} or "
              f"TAPE.inputs != {tape.inputs!r}: raise _Miss")
    walk.emit(f"if len(S) != 1 or type(S.get({slot})) is not {walk.const(type(ct))} or "
              f"S[{slot}] != {float(ct)!r}: raise _Miss")
    walk.emit("DT = None")
    shadow = Tape()
    shadow.nslots = tape.nslots
    shadow.inputs = list(tape.inputs)
    try:
        shadow.entries = [walk.entry(e, i) for i, e in enumerate(entries)]
        if walk.nbytes > MAX_BYTES:
            raise _Refused
        counted = walk.dual_tag.count if walk.dual_tag is not None else 0
        if walk.dual_tag is not None:
            counts.append((walk.dual_tag, counted))
        # (the recording's values are kept as first results, not the pool's reusable memory)
        with buffers.paused():
            table = interpreted_backward(shadow, {slot: ct})
    finally:
        tag.active = False
    if walk.dual_tag is not None:
        counted = walk.dual_tag.count - counted
    slots: List[int] = []
    kinds: List[Any] = []
    refs: List[Any] = []
    for s in tape.inputs:
        c: Any = table[s]
        slots.append(s)
        if type(c) is Dual:
            p, t = c.primal, c.tangent
            if not (is_staged(p) and is_staged(t)):
                raise _Refused
            refs += [p.node, t.node]
            kinds.append("dual")
        elif is_staged(c):
            refs.append(c.node)
            kinds.append("value")
        elif c is None or type(c) in _SCALARS:
            kinds.append(("const", c))
        else:
            raise _Refused
    program = generate(tag.graph, refs)
    ns = dict(program.namespace)
    for k, v in list(ns.items()):
        if type(v) is Recycled:
            ns[k] = _PoolOut(v)
    ns.update(walk.ns)
    used = set(re.findall(r"\bv\d+\b", "\n".join(program.lines + program.epilogue
                                                    + program.outputs)))
    if program.risky:  # (the fallback reads what the fast part read, and what that folded)
        used |= {name for name, _ in walk.inputs}
    # Only the values the code reads: an unread one is neither checked nor computed (a
    # deferred value of f that nothing differentiates stays deferred).
    body = ["    try:"] + ["        " + line for owner, line in walk.lines
                            if owner is None or owner in used]
    body += ["    except _Miss:", "        raise", "    except Exception:",
             "        raise _Miss from None"]
    ret = "return (DT, " + "".join(o + ", " for o in program.outputs) + ")"
    if program.risky:
        # Scalar lowerings raise where numpy gives inf/nan (1.0 / 0.0): then the same program
        # runs again with every node calling its impl, as the interpreted sweep does.
        safe = generate(tag.graph, refs, fast=False, names=program.names)
        ns.update(safe.namespace)
        body.append("    try:")
        body += ["        " + line for line in program.lines + program.epilogue]
        body += ["        " + ret, "    except (ArithmeticError, ValueError):", "        pass"]
        body += ["    " + line for line in safe.lines]
        body.append("    return (DT, " + "".join(o + ", " for o in safe.outputs) + ")")
    else:
        body += ["    " + line for line in program.lines + program.epilogue]
        body.append("    " + ret)
    source = "def replay(E, S, TAPE):\n" + "\n".join(body) + "\n"
    code = builtins.compile(source, f"<dd.replay #{next(_serial)}>", "exec")
    exec(code, ns)
    spec = _Spec(ns["replay"], source, slots, kinds, shadow.swept, counted, walk.nbytes)
    # This call's results are the recording's (running the code again would compute them twice).
    values = program.recorded_outputs()
    # (the recording's forward tag counted the sweep's operations as they were recorded)
    return spec, spec.table(tape, (walk.dual_tag,) + tuple(values), False, counted=True)
