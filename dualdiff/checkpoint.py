"""Checkpointing: recompute a function's intermediates in the reverse sweep instead of storing them.

Reverse mode stores, until the sweep reaches them, the values its adjoint rules read: memory
grows with the length of the computation. ``checkpoint(fn)`` makes the other choice for the
values inside fn. Called on tape variables, the wrapped function

1. runs fn once *without recording* (a first pass that keeps nothing) and records **one** tape
   entry that keeps only fn's inputs;
2. when the reverse sweep reaches that entry, runs fn again on a fresh recording of its own,
   sweeps that recording with the cotangents that have reached fn's outputs, and hands the
   inputs' cotangents on.

The second run repeats the first exactly (same inputs, same branches, same numpy calls), and its
sweep adds onto the inputs' running cotangent sums in the order the unwrapped function would, so
gradients are **bitwise equal** with and without the checkpoint. The re-run is an ordinary
recording under a fresh tag, so checkpoints nest, and a sweep over Duals (``hessian``, ``hvp``:
forward over reverse) re-runs fn on Duals. In forward mode, and in any derivative that is not
reverse mode at the level fn is called, the wrapper simply calls fn: there is nothing to store.

>>> import dualdiff as dd, numpy as np
>>> plain = lambda x: np.tanh(np.sin(x) * x)
>>> layer = dd.checkpoint(plain)
>>> x = np.linspace(-1.0, 1.0, 5)
>>> g = dd.grad(lambda x: np.sum(layer(layer(x))), x)
>>> bool(np.array_equal(g, dd.grad(lambda x: np.sum(plain(plain(x))), x)))
True

fn runs twice per sweep (once more for every extra sweep, as in ``jacobian(mode="reverse")``):
a side effect in it (a print, appending to a list, drawing random numbers) happens twice, and a
random draw would differ between the runs. Pass random numbers in as arguments.
"""

from __future__ import annotations

import functools
import itertools
import math
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from .constants import keep, release
from .primitives import TRACED, Primitive, Tag, bind, leaked_error, shape_of
from .tape import Entry, Tape, TapeTag, Var, backward, force_all
from .memory import MemoryInfo

__all__ = ["checkpoint", "checkpoint_sequential", "Sequential", "kept_marks", "segment_count",
           "CHECKPOINT", "CHECKPOINT_OUTPUT", "RECOMPUTE"]

_new = object.__new__


# --------------------------------------------------------------------------------------------
# Arguments and results: any nesting of tuples, lists and dicts around values
# --------------------------------------------------------------------------------------------

def _flatten(x: Any, leaves: List[Any]) -> Any:
    """Append x's leaves to ``leaves``; return the structure that :func:`_unflatten` rebuilds."""
    t = type(x)
    if t is tuple or t is list or (isinstance(x, tuple) and hasattr(x, "_fields")):
        return (t, [_flatten(item, leaves) for item in x])
    if t is dict:
        return (dict, [(k, _flatten(v, leaves)) for k, v in x.items()])
    leaves.append(x)
    return None


#: The structure of a call with positional, non-container arguments only (the common case).
_FLAT = ("flat",)


def _flatten_call(args: tuple, kwargs: dict) -> Tuple[List[Any], Any]:
    """The leaves of a call's arguments and their structure (:data:`_FLAT` when it has none)."""
    if not kwargs:
        for a in args:
            if isinstance(a, (tuple, list, dict)):
                break
        else:
            return list(args), _FLAT
    leaves: List[Any] = []
    return leaves, _flatten((args, kwargs), leaves)


def _unflatten_call(structure: Any, leaves: List[Any]) -> Tuple[tuple, dict]:
    if structure is _FLAT:
        return tuple(leaves), {}
    return _unflatten(structure, iter(leaves))


def _unflatten(structure: Any, leaves: Any) -> Any:
    """Rebuild ``structure`` around the values of the iterator ``leaves``."""
    if structure is None:
        return next(leaves)
    t, children = structure
    if t is dict:
        return {k: _unflatten(c, leaves) for k, c in children}
    parts = [_unflatten(c, leaves) for c in children]
    return t(*parts) if hasattr(t, "_fields") else t(parts)


def _closure_error(name: str) -> ValueError:
    return ValueError(
        f"the function {name} wrapped by dd.checkpoint used a value being differentiated that it "
        f"did not receive as an argument (through a closure or a global); when it is re-run in "
        f"the reverse sweep that value's derivative would be lost. Pass it as an argument: "
        f"dd.checkpoint(fn)(x, w) with fn(x, w).")


def _name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


# --------------------------------------------------------------------------------------------
# The first pass: values only
# --------------------------------------------------------------------------------------------

class _PrimalTag(Tag):
    """fn's first pass: computes each operation exactly as a recording would, and keeps nothing.

    Running fn on Vars of this tag (rather than on the bare values) sends every operation
    through the same door as the recording that replays it later, so the two runs compute the
    same numbers, bit for bit. ``limit`` is the level of the tape the checkpoint belongs to:
    a traced value of that tape (or newer) reaching an operation here came from a closure.
    """

    __slots__ = ("limit", "label")

    def __init__(self, limit: int, label: str):
        super().__init__(None, owner="checkpoint")
        self.limit = limit
        self.label = label

    def process(self, prim: Primitive, args: tuple, params: dict) -> Var:
        values = []
        nested = False
        for a in args:
            if type(a) is Var and a.tag is self:
                a = a.primal
            elif type(a) in TRACED and a.tag.level >= self.limit:
                raise _closure_error(self.label)
            nested = nested or type(a) in TRACED
            values.append(a)
        self.count += 1
        out = bind(prim, *values, **params) if nested else prim.impl(*values, **params)
        return _var(out, self)


def _var(value: Any, tag: Tag, slot: int = -1) -> Var:
    """A Var of ``tag`` at ``slot``; slot -1 and a first-pass tag for values never on a tape."""
    v = _new(Var)
    v.primal = value
    v.slot = slot
    v.tag = tag  # type: ignore[assignment]
    return v


# --------------------------------------------------------------------------------------------
# The tape entries
# --------------------------------------------------------------------------------------------

class _Call:
    """One checkpointed call on a tape: what its entry needs to re-run fn and sweep it."""

    __slots__ = ("fn", "label", "structure", "parents", "tape", "out_structure", "out_shapes",
                 "box")

    def __init__(self, fn, label, structure, parents, tape, out_structure, out_shapes):
        self.fn = fn
        self.label = label
        self.structure = structure          # of (args, kwargs), leaves in entry order
        self.parents = parents              # the entry's parents: tape slots or None
        # The tape the entry is on (for its sweep's table and meter), weakly: the tape holds the
        # entry, which holds this call, and a strong reference back would make a cycle that
        # keeps the tape's values alive after its last user drops it, until the garbage collector.
        self.tape = weakref.ref(tape)
        # fn's result structure, and per result leaf the index of its computed value (or -1)
        self.out_structure = out_structure
        self.out_shapes = out_shapes        # shapes of the computed outputs, to check the re-run
        # Cotangents of the computed outputs, left by their CHECKPOINT_OUTPUT entries (which
        # the sweep reaches first: they are newer) when there is more than one output.
        self.box: List[Any] = [None] * len(out_shapes)

    def pullback(self, ct: Any, primals: Sequence[Any]) -> List[Any]:
        """Re-run fn on a fresh recording, sweep it from the outputs' cotangents: the inputs'."""
        tape = self.tape()
        assert tape is not None  # it is being swept
        outer_table = tape.table
        inner = Tape()
        tag = TapeTag(inner, owner="checkpoint")
        by_parent: Dict[int, Var] = {}
        leaves = []
        for p, v in zip(self.parents, primals):
            if p is None:
                leaves.append(v)
            else:
                var = by_parent.get(p)
                if var is None:
                    var = by_parent[p] = tag.new_var(_mark(v))
                leaves.append(var)
        try:
            args, kwargs = _unflatten_call(self.structure, leaves)
            out = self.fn(*args, **kwargs)
        finally:
            tag.active = False
            if inner.held:
                release(inner.held)
        out_slots = self._computed(out, tag)
        seeds: Dict[int, Any] = {}
        if len(out_slots) == 1:
            seeds[out_slots[0]] = ct
        else:
            for slot, c in zip(out_slots, self.box):
                if c is not None:
                    seeds[slot] = c
            self.box = [None] * len(out_slots)
        if outer_table is not None:
            # Start each input's sum where the outer sweep has got to, so the re-run adds its
            # terms in the unwrapped function's order (floating-point sums depend on it).
            for p, var in by_parent.items():
                if outer_table[p] is not None:
                    seeds[var.slot] = outer_table[p]
        meter: Optional[MemoryInfo] = tape.meter
        if meter is not None:
            meter.watch(inner, base=meter.held(tape))
        recorded = len(inner.entries)
        table = backward(inner, seeds, consume=True)
        if meter is not None:
            meter.forget(inner)
        tape.inner_operations += recorded + inner.swept + inner.inner_operations
        cts: List[Any] = []
        done = set()
        for p in self.parents:
            if p is None or p in done:
                cts.append(None)  # a constant, or an input fn received twice: summed once
                continue
            done.add(p)
            cts.append(table[by_parent[p].slot])
            if outer_table is not None:
                outer_table[p] = None  # the sum above already includes it: replace, not add
        return cts

    def _computed(self, out: Any, tag: TapeTag) -> List[int]:
        """The slots of the re-run's computed outputs; an error if the re-run differs."""
        leaves: List[Any] = []
        structure = _flatten(out, leaves)
        slots: List[int] = [-1] * len(self.out_shapes)
        ok = structure == self.out_structure[0]
        if ok:
            for leaf, k in zip(leaves, self.out_structure[1]):
                if k < 0:
                    continue
                if type(leaf) is not Var or leaf.tag is not tag or shape_of(leaf) != self.out_shapes[k]:
                    ok = False
                    break
                slots[k] = leaf.slot
        if not ok:
            raise RuntimeError(
                f"the function {self.label} wrapped by dd.checkpoint gave a different result when "
                f"it was re-run in the reverse sweep: a checkpointed function must compute the "
                f"same thing from the same inputs (draw random numbers outside it and pass them in)")
        return slots


def _checkpoint_vjp(ct, primals, out, params, shapes, wants):
    return params["call"].pullback(ct, primals)


def _output_vjp(ct, primals, out, params, shapes, wants):
    # Hand the output's cotangent to the checkpoint entry through its box; the 0.0 only marks
    # the (older) checkpoint entry as reached, so the sweep visits it.
    params["call"].box[params["index"]] = ct
    return (0.0,)


def _no_jvp(primals, tangents, out, params, chunked):  # pragma: no cover - never bound
    raise TypeError("checkpoint entries live on tapes only; forward mode calls the function itself")


def _impl(*leaves, call):  # pragma: no cover - never bound: the wrapper records entries itself
    args, kwargs = _unflatten_call(call.structure, list(leaves))
    return call.fn(*args, **kwargs)


#: The tape entry of a checkpointed call: keeps fn's inputs, re-runs fn when swept.
CHECKPOINT = Primitive("checkpoint", _impl, _no_jvp, _checkpoint_vjp, needs="args",
                       kind="checkpoint", doc="fn re-run and swept in the reverse sweep")
def _fresh(x: Any, token: int) -> Any:
    return x


#: The identity, applied to a re-run's traced inputs (a Dual inside a Hessian, a value staged by a
#: compiler). Each application carries a new ``token``, so that an interpreter that merges
#: identical operations (common-subexpression elimination when staging a program) cannot take the
#: re-run for the first pass and fold the recomputation back into stored values.
RECOMPUTE = Primitive("recompute", _fresh, lambda primals, tangents, out, params, chunked: tangents[0],
                      lambda ct, primals, out, params, shapes, wants: (ct,), needs="none",
                      kind="linear", complex="holomorphic",
                      doc="identity marking a checkpoint's re-run (never merged with the first run)")

_tokens = itertools.count()


def _mark(v: Any) -> Any:
    """A re-run's input: ``v`` through RECOMPUTE when it is traced (plain values need no mark)."""
    return bind(RECOMPUTE, v, token=next(_tokens)) if type(v) in TRACED else v

#: Output k of a checkpointed call with several outputs: passes its cotangent to the call.
CHECKPOINT_OUTPUT = Primitive("checkpoint_output", lambda packed, index: packed[index], _no_jvp,
                              _output_vjp, needs="none", kind="checkpoint",
                              doc="one output of a checkpointed call")


# --------------------------------------------------------------------------------------------
# The wrapper
# --------------------------------------------------------------------------------------------

def checkpoint(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn, recomputed in the reverse sweep instead of stored: same results, less memory kept.

    Returns a function with fn's signature; ``checkpoint(fn, *args, **kwargs)`` calls it at
    once, as PyTorch's ``checkpoint(function, *args)``. Under reverse mode it records one tape entry that
    keeps only fn's inputs (whatever fn computes inside is dropped after a first pass) and, when
    the sweep reaches it, runs fn again on a recording of its own and sweeps that. Arguments and
    results may be numbers, arrays, or tuples/lists/dicts of them; other arguments (flags,
    strings) are passed through. Values being differentiated must come in as arguments, not
    through a closure (that is a ValueError). Usable as a decorator. Outside reverse mode (no
    derivative, forward mode, chunked Jacobians) it just calls fn.

    fn runs once more per reverse sweep, so its side effects happen twice; it must compute the
    same result from the same inputs each time.

    >>> import dualdiff as dd, numpy as np
    >>> @dd.checkpoint
    ... def block(x, w):
    ...     return np.tanh(x * w), np.sum(x)
    >>> def loss(p):
    ...     h, s = block(p[0], p[1])
    ...     return np.sum(h ** 2) + s
    >>> p = (np.array([0.5, -1.0]), np.array([2.0, 0.3]))
    >>> g = dd.grad(loss, p)
    >>> all(np.array_equal(a, b) for a, b in zip(g, dd.grad(lambda p: np.sum(np.tanh(p[0] * p[1]) ** 2) + np.sum(p[0]), p)))
    True
    """
    if not callable(fn):
        raise TypeError(f"checkpoint takes a function, not {type(fn).__name__}")
    label = _name(fn)

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        leaves, structure = _flatten_call(args, kwargs)
        top: Optional[Tag] = None
        for leaf in leaves:
            if type(leaf) in TRACED and (top is None or leaf.tag.level > top.level):
                top = leaf.tag
        if type(top) is not TapeTag:
            return fn(*args, **kwargs)  # nothing is stored here: nothing to recompute
        assert isinstance(top, TapeTag)
        force_all(leaves)  # (dd.grad's values not computed yet: the re-run reads them)
        if not top.active:
            raise leaked_error(top, f"in the checkpointed function {label}")
        if top.tape.keep_all:
            inputs = tuple(leaf.slot for leaf in leaves if type(leaf) is Var and leaf.tag is top)
            return _inline(fn, args, kwargs, top.tape, label, inputs)
        return _record(fn, label, leaves, structure, top)

    return wrapped(*args, **kwargs) if args or kwargs else wrapped


def _inline(fn: Callable, args: tuple, kwargs: dict, tape: Tape, label: str,
            inputs: Tuple[int, ...]) -> Any:
    """On a tape that keeps every value (the evaluation trace): record fn's operations as usual
    and note which slots a checkpoint would have recomputed instead of storing."""
    start = tape.nslots
    out = fn(*args, **kwargs)
    tape.regions.append((start, tape.nslots, label, inputs))
    return out


def kept_marks(tape: Tape) -> Dict[int, str]:
    """For a tape recorded with ``keep_all`` (the trace): what a real recording does with each slot.

    ``"stored"``: kept on the tape until the sweep, because an adjoint rule reads it (or a
    checkpoint keeps it as an input); ``"recomputed"``: computed inside a checkpoint, so dropped
    after the first pass and computed again in the sweep; slots not listed are not kept at all
    (no rule reads them). A checkpoint's result that a later operation stores is ``"stored"``.
    """
    inside: Set[int] = set()
    stored: Set[int] = set()
    for start, stop, _, inputs in tape.regions:
        inside.update(range(start, stop))
    for start, stop, _, inputs in tape.regions:
        stored.update(p for p in inputs if p not in inside)
    for e in tape.entries:
        if e.slot in inside:
            continue
        needs = e.prim.needs
        if needs in ("args", "both"):
            stored.update(p for p in e.parents if p is not None)
        if needs in ("out", "both"):
            stored.add(e.slot)
    marks = {slot: "recomputed" for slot in inside}
    marks.update((slot, "stored") for slot in stored)
    return marks


def _record(fn: Callable, label: str, leaves: List[Any], structure: Any, top: TapeTag) -> Any:
    tape = top.tape
    ptag = _PrimalTag(top.level, label)
    parents: List[Optional[int]] = []
    values: List[Any] = []
    first: List[Any] = []
    outer_of: Dict[int, Var] = {}  # id of a first-pass input Var -> the tape Var it stands for
    by_slot: Dict[int, Var] = {}
    for leaf in leaves:
        if type(leaf) is Var and leaf.tag is top:
            parents.append(leaf.slot)
            values.append(leaf.primal)
            v = by_slot.get(leaf.slot)
            if v is None:
                v = by_slot[leaf.slot] = _var(leaf.primal, ptag)
                outer_of[id(v)] = leaf
            first.append(v)
        else:
            parents.append(None)
            values.append(leaf)
            first.append(leaf)
    nslots = tape.nslots
    given = [(v, v.primal) for v in by_slot.values()]
    try:
        args, kwargs = _unflatten_call(structure, first)
        out = fn(*args, **kwargs)
    finally:
        ptag.active = False
    if tape.nslots != nslots:  # fn recorded on this tape itself: it used a closed-over Var
        raise _closure_error(label)
    if any(v.primal is not value for v, value in given):
        # (y += v, y[i] = v rebind the traced object fn was handed: the sweep's re-run would
        # read the written value where the input's was, and the caller's x never sees the write)
        raise TypeError(
            f"the function {label} wrapped by dd.checkpoint writes into an argument it was "
            f"given (x[i] = v, x += v, x.sort(), ...): a checkpointed function is run again in "
            f"the reverse sweep from its inputs, and the caller's value would not see the "
            f"write. Write into a copy (x = x.copy() first) and return what the caller needs")
    tape.inner_operations += ptag.count

    index: List[int] = []          # per output leaf: its computed value's index, or -1
    computed: List[Any] = []       # the first pass's Vars of the computed outputs
    seen: Dict[int, int] = {}
    results: List[Any] = []
    out_leaves: List[Any] = []
    if type(out) is Var and out.tag is ptag and id(out) not in outer_of:
        out_structure = None       # one computed result, the common case: no loop needed
        index, computed, results = [0], [out], [None]
    else:
        out_structure = _flatten(out, out_leaves)
    for o in out_leaves:
        if type(o) is Var and o.tag is ptag:
            outer = outer_of.get(id(o))
            if outer is not None:  # fn returned an input as it is: no entry needed
                index.append(-1)
                results.append(outer)
                continue
            k = seen.get(id(o))
            if k is None:
                k = seen[id(o)] = len(computed)
                computed.append(o)
            index.append(k)
            results.append(None)
        else:
            if type(o) in TRACED and o.tag.level > top.level:
                raise _closure_error(label)
            index.append(-1)
            results.append(o)  # a constant (or a Var fn was handed and returned untouched)
    if computed:
        call = _Call(fn, label, structure, tuple(parents), tape, (out_structure, index),
                     [shape_of(o.primal) for o in computed])
        # (constant arrays copied, or held read-only until f returns: constants.py)
        vals = keep(tape, tuple(values), tuple(parents))
        slot = _append(top, CHECKPOINT, tuple(parents), vals, {"call": call},
                       tuple(shape_of(v) for v in vals))
        if len(computed) == 1:
            made = [_var(computed[0].primal, top, slot)]
        else:
            made = []
            for k, o in enumerate(computed):
                s = _append(top, CHECKPOINT_OUTPUT, (slot,), (None,), {"call": call, "index": k},
                            ((),))
                made.append(_var(o.primal, top, s))
        results = [made[k] if k >= 0 else r for k, r in zip(index, results)]
    return _unflatten(out_structure, iter(results))


def _append(tag: TapeTag, prim: Primitive, parents: tuple, args: tuple, params: dict,
            shapes: tuple) -> int:
    tape = tag.tape
    slot = tape.nslots
    tape.nslots = slot + 1
    tape.entries.append(Entry(prim, parents, args, None, params, shapes, slot))
    tag.count += 1
    return slot


# --------------------------------------------------------------------------------------------
# A chain of layers
# --------------------------------------------------------------------------------------------

class _Segment:
    """Layers a … b − 1 of a chain, applied in order (one checkpointed function)."""

    def __init__(self, layers: Sequence[Callable]):
        self.layers = list(layers)
        self.__qualname__ = f"segment of {len(self.layers)} layers"

    def __call__(self, x: Any, params: Optional[tuple] = None) -> Any:
        if params is None:
            for layer in self.layers:
                x = layer(x)
        else:
            for layer, p in zip(self.layers, params):
                x = layer(x, p)
        return x


def segment_count(segments: Union[int, str], n: int) -> int:
    """The number of checkpointed segments for n layers: ``"sqrt"`` gives ⌈√n⌉.

    >>> from dualdiff.checkpoint import segment_count
    >>> segment_count("sqrt", 256), segment_count("sqrt", 1000), segment_count(4, 10)
    (16, 32, 4)
    """
    if isinstance(segments, str):
        if segments != "sqrt":
            raise ValueError(f"segments must be a positive int or 'sqrt', not {segments!r}")
        return max(1, math.ceil(math.sqrt(n))) if n else 0
    if isinstance(segments, bool) or not isinstance(segments, int):
        raise TypeError(f"segments must be a positive int or 'sqrt', not {type(segments).__name__}")
    if segments < 1:
        raise ValueError(f"segments must be a positive int or 'sqrt', not {segments}")
    return min(segments, n)


class Sequential:
    """A chain of layers in checkpointed segments, made by :func:`checkpoint_sequential`.

    Call it as ``run(x)``, or ``run(x, params)`` with one parameter per layer; ``segments`` is
    the number of segments it was cut into.
    """

    def __init__(self, layers: List[Callable[..., Any]], segments: int):
        n = len(layers)
        self.n = n
        self.segments = segments
        bounds = [(i * n) // segments for i in range(segments + 1)] if segments else [0]
        self._parts = [(a, b, checkpoint(_Segment(layers[a:b]))) for a, b in zip(bounds, bounds[1:])]

    def __call__(self, x: Any, params: Optional[Sequence[Any]] = None) -> Any:
        if params is None:
            for _, _, part in self._parts:
                x = part(x)
            return x
        if len(params) != self.n:
            raise ValueError(f"params must have one entry per layer: {self.n} layers, "
                             f"{len(params)} params")
        for a, b, part in self._parts:
            x = part(x, tuple(params[a:b]))
        return x

    def __repr__(self) -> str:
        return f"<checkpointed chain of {self.n} layers in {self.segments} segments>"


def checkpoint_sequential(layers: Sequence[Callable[..., Any]],
                          segments: Union[int, str] = "sqrt", *x: Any) -> Any:
    """The chain ``layers[-1](… layers[0](x))`` cut into ``segments`` checkpointed segments.

    Returns ``run(x, params=None)`` (a :class:`Sequential`); given x as well,
    ``checkpoint_sequential(layers, segments, x)`` returns ``run(x)``, as PyTorch's. In the reverse sweep only each segment's input is kept; a
    segment's layers are re-run, recorded and swept when the sweep reaches it. With n layers in
    k segments the tape holds about k + n/k values at its peak instead of n, fewest at
    k = √n (``segments="sqrt"``, the default), for one extra forward pass. ``segments=n``
    checkpoints every layer. With ``params`` (one entry per layer), layer i is called as
    ``layers[i](x, params[i])`` and the parameters get gradients too.

    >>> import dualdiff as dd, numpy as np
    >>> layers = [lambda x: np.tanh(x + 0.1)] * 9
    >>> run = dd.checkpoint_sequential(layers, segments="sqrt")       # 3 segments of 3 layers
    >>> x = np.linspace(-1.0, 1.0, 4)
    >>> g, info = dd.grad(lambda x: np.sum(run(x)), x, full_output=True)
    >>> g0, info0 = dd.grad(lambda x: np.sum(dd.checkpoint_sequential(layers, 1)(x)), x,
    ...                     full_output=True)
    >>> bool(np.array_equal(g, g0)), info.peak_bytes < info0.peak_bytes
    (True, True)
    """
    layers = list(layers)
    for i, layer in enumerate(layers):
        if not callable(layer):
            raise TypeError(f"layers[{i}] is a {type(layer).__name__}, not a function")
    run = Sequential(layers, segment_count(segments, len(layers)))
    if len(x) > 1:
        raise TypeError(f"checkpoint_sequential(layers, segments, x) takes one input x, not "
                        f"{len(x)}; pass the layers' parameters as run(x, params)")
    return run(x[0]) if x else run
