"""Reverse mode: a recorded tape (the Wengert list) and the backward sweep over it.

Running a function on :class:`Var` inputs appends one :class:`Entry` per primitive to an
append-only :class:`Tape`; each value gets a *slot* number in order of creation, so the tape is
already in topological order and needs no sorting. :func:`backward` walks the entries in reverse
and adds each entry's cotangent contributions into a table keyed by slot — the textbook
``grad_table``. A value used twice simply receives two contributions. There is no recursion, so a
chain of 100,000 operations sweeps like a chain of ten.

The adjoint rules come from the same table entries as the tangent rules
(:mod:`dualdiff.rules`) and are written with dualdiff's own functions, so a sweep over values
that are themselves Duals (forward-over-reverse Hessians) differentiates through.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .buffers import owns_memory, tracked
from .constants import keep, keep_params
from .containers import subclass_error
from .rules import add, real
from .rules.assembly import WHERE
from .rules.indexing import INDEX_ADD
from .rules.masked_reductions import SUM_WHERE
from .rules.partials import SCALED_VJPS, Scaled
from .rules.shape import SUM
from .rules.ufuncs import ADD, DIV, FLOAT_OPS, MUL, NEG, POW, SQUARE, SUB
from .primitives import (
    TRACED, Primitive, Tag, bind, is_complex, register_traced, shape_of, stop_gradient,
)
from .surface import Traced, refuse_ndarray_names
from .dual import Dual, ForwardTag

__all__ = ["Var", "LazyVar", "Tape", "TapeTag", "Entry", "backward"]

_new = object.__new__
_ND = np.ndarray
_PLAIN_FLOATS = frozenset((float, np.float64))
_SCALAR_SHAPES = ((), ())  # the shapes of two scalar arguments
_SCALAR_SHAPE = ((),)  # and of one
_NO_PARAMS: dict = {}
# What an entry keeps of the operation, by the primitive's ``needs``: (arguments, output).
_KEEPS = {"args": (True, False), "out": (False, True), "both": (True, True), "none": (False, False)}
# The primitives whose parameters may hold the caller's arrays (an index, a condition, a mask;
# getitem copies its index arrays itself: its plain indices are scalar code's x[0])
_INDEXING = frozenset((INDEX_ADD, WHERE, SUM_WHERE))


class Entry:
    """One recorded primitive application: ``slot = prim(*parents, **params)``.

    ``args`` and ``out`` hold only what the primitive's adjoint rule needs (``prim.needs``; the
    rest is None); ``shapes`` always holds the argument shapes, which broadcasting and
    concatenation need; ``wants[i]`` says whether argument i is on the tape (needs a cotangent).
    """

    __slots__ = ("prim", "parents", "args", "out", "params", "shapes", "slot", "wants", "real")

    def __init__(self, prim, parents, args, out, params, shapes, slot):
        self.prim = prim
        self.parents = parents
        self.args = args
        self.out = out
        self.params = params
        self.shapes = shapes
        self.slot = slot
        # Written out for the common arities: a generator here was most of an entry's cost.
        n = len(parents)
        self.wants = ((parents[0] is not None, parents[1] is not None) if n == 2
                      else (parents[0] is not None,) if n == 1
                      else tuple([p is not None for p in parents]))
        # Which parents are real where the output is complex (None: no such parent). A real
        # value's cotangent is real: the sweep keeps only the real part of what reaches it.
        self.real: Optional[Tuple[bool, ...]] = None

    def __repr__(self) -> str:
        return f"<v{self.slot} = {self.prim.name}({', '.join('const' if p is None else f'v{p}' for p in self.parents)})>"


class Tape:
    """The Wengert list of one reverse-mode recording.

    ``inputs`` are the slots of the input variables, ``entries`` the recorded operations in the
    order they ran: an :class:`Entry` each, or for a scalar operation (one or two float
    arguments, a float result, no parameters) the tuple ``(prim, slot, parents, args, out,
    wants)``, which :func:`as_entry` turns into the Entry it stands for. With ``keep_all=True``
    every entry is an Entry and every argument and output value is kept (the evaluation trace
    needs them); otherwise only what the adjoint rules need.

    Checkpoints (:mod:`dualdiff.checkpoint`) use four more fields: ``table``, the grad_table of
    the sweep under way (a checkpoint's re-run adds onto its inputs' running sums there, in the
    order the unwrapped function would); ``meter``, the :class:`~dualdiff.memory.MemoryInfo`
    counting the bytes kept, when one was asked for; ``inner_operations``, the operations that
    checkpoints on this tape ran beyond their one entry each (their first pass, re-run and its
    sweep); ``regions``, with ``keep_all``, the slot ranges a checkpoint would recompute (start,
    stop, the function's name, its inputs' slots).
    """

    __slots__ = ("entries", "inputs", "nslots", "keep_all", "values", "swept", "inplace",
                 "table", "meter", "inner_operations", "regions", "held", "__weakref__")

    def __init__(self, keep_all: bool = False):
        self.entries: List[Any] = []  # Entry objects, and tuples for float entries (see above)
        self.inputs: List[int] = []
        self.nslots = 0
        self.keep_all = keep_all
        self.values: Dict[int, Any] = {}
        # the large constant arrays the entries keep, read-only until f returns (constants.py;
        # a list once there is one)
        self.held: Optional[List[Any]] = None
        self.swept = 0  # entries visited by all backward sweeps so far
        self.inplace = 0  # cotangent sums done in place (see _exclusive)
        self.table: Optional[List[Optional[Any]]] = None
        self.meter: Any = None
        self.inner_operations = 0
        self.regions: List[Tuple[int, int, str, Tuple[int, ...]]] = []

    def __len__(self) -> int:
        return len(self.entries)


class TapeTag(Tag):
    """The tag of one reverse-mode recording; it appends operations on its Vars to the tape."""

    __slots__ = ("tape", "lazy")

    def __init__(self, tape: Tape, owner: str = "vjp"):
        Tag.__init__(self, None, None, owner)  # (positional: one is made per recording)
        self.tape = tape
        # True: the values of linear and product operations are computed only when read (see
        # LazyVar); None once the recording is closed and a value never read can no longer be.
        self.lazy: Optional[bool] = False

    def new_var(self, value: Any) -> "Var":
        return self.new_vars([value])[0]

    def new_vars(self, values: Sequence[Any]) -> List["Var"]:
        """One input Var per value (one call for all: scalar code's inputs are several)."""
        tape = self.tape
        first = slot = tape.nslots
        out = []
        for value in values:
            v = _new(Var)
            v.primal = value
            v.slot = slot
            v.tag = self
            out.append(v)
            if tape.keep_all:
                tape.values[slot] = value
            slot += 1
        tape.inputs += range(first, slot)
        tape.nslots = slot
        return out

    def process(self, prim: Primitive, args: tuple, params: dict) -> "Var":
        # One and two arguments are unrolled, and floats' shapes written in: this runs once per
        # recorded operation, and on scalar code its bookkeeping is most of the recording.
        # Scalar code (one or two float arguments, np.float64 too, a float result and no
        # parameters) gets a tuple entry (see Tape): the shapes, what to keep and the complex
        # check below all have one answer there.
        if self.lazy and prim in _DEFERRED:
            deferred = _defer(self, prim, args, params)
            if deferred is not None:
                return deferred
        n = len(args)
        scalar = consts = False  # consts: a plain array among the arguments (see constants.py)
        if n == 2:
            a, b = args
            if type(a) is Var and a.tag is self:
                va, sa = a.primal, a.slot
            elif type(a) is LazyVar and a.tag is self:
                va, sa = _force(a), a.slot
            else:  # a constant, or a value of an older perturbation: constant to this one
                va, sa = a, None
            if type(b) is Var and b.tag is self:
                vb, sb = b.primal, b.slot
            elif type(b) is LazyVar and b.tag is self:
                vb, sb = _force(b), b.slot
            else:
                vb, sb = b, None
            values: Tuple[Any, ...] = (va, vb)
            parents: Tuple[Optional[int], ...] = (sa, sb)
            wants: Tuple[bool, ...] = (sa is not None, sb is not None)
            ta, tb = type(va), type(vb)
            if ta in _PLAIN_FLOATS and tb in _PLAIN_FLOATS and not params:
                scalar = True
                native = FLOAT_OPS.get(prim) if ta is float and tb is float else None
                out = native(va, vb) if native is not None else prim.impl(va, vb)
                shapes: Tuple[tuple, ...] = _SCALAR_SHAPES
            else:
                nested = ta in TRACED or tb in TRACED
                consts = (ta is _ND and sa is None) or (tb is _ND and sb is None)
                # (a Dual's shape written in too: forward over reverse records Duals)
                shapes = (va.shape if ta is _ND else () if ta is float or ta is np.float64
                          else va.primal.shape if ta is Dual and type(va.primal) is _ND
                          else shape_of(va),
                          vb.shape if tb is _ND else () if tb is float or tb is np.float64
                          else vb.primal.shape if tb is Dual and type(vb.primal) is _ND
                          else shape_of(vb))
        elif n == 1:
            a = args[0]
            if type(a) is Var and a.tag is self:
                va, sa = a.primal, a.slot
            elif type(a) is LazyVar and a.tag is self:
                va, sa = _force(a), a.slot
            else:
                va, sa = a, None
            values, parents, wants = (va,), (sa,), (sa is not None,)
            ta = type(va)
            if ta in _PLAIN_FLOATS and not params and sa is not None:
                scalar = True
                out = prim.impl(va)
                shapes = _SCALAR_SHAPE
            else:
                nested = ta in TRACED
                shapes = (va.shape if ta is _ND else () if ta is float or ta is np.float64
                          else va.primal.shape if ta is Dual and type(va.primal) is _ND
                          else shape_of(va),)
        else:
            vals: List[Any] = []
            pars: List[Optional[int]] = []
            nested = False
            for a in args:
                if (type(a) is Var or type(a) is LazyVar) and a.tag is self:
                    vals.append(a.primal)
                    pars.append(a.slot)
                else:
                    vals.append(a)
                    pars.append(None)
                    consts = consts or type(a) is _ND
                nested = nested or type(vals[-1]) in TRACED
            values, parents = tuple(vals), tuple(pars)
            wants = tuple([p is not None for p in pars])
            shapes = tuple([shape_of(v) for v in values])
        tape = self.tape
        if scalar:
            if type(out) in _PLAIN_FLOATS and not tape.keep_all:
                self.count += 1
                slot = tape.nslots
                tape.nslots = slot + 1
                tape.entries.append((prim, slot, parents, values, out, wants))
                v = _new(Var)
                v.primal = out
                v.slot = slot
                v.tag = self
                return v
        # Values carrying an older perturbation must see this operation too: bind again.
        elif nested:
            if consts:  # (kept before the forward interpreter defers a tangent that reads them)
                values = keep(tape, values, parents)
                consts = False
            if params and prim in _INDEXING:  # (an index, a condition: copied, or held)
                params = keep_params(tape, params)
            out = _outer(prim, values, params)
        elif params:
            if prim in _INDEXING:
                params = keep_params(tape, params)
            out = prim.impl(*values, **params)
        else:  # (a call without ** is cheaper: most operations have no parameters)
            out = prim.impl(*values)
        kind = type(out)  # written out: this runs once per recorded operation
        if kind is float or kind is np.float64:  # indexing a float array gives np.float64
            cplx = False
        elif kind is np.ndarray:
            cplx = out.dtype.kind == "c"
        elif kind is Dual and type(out.primal) is np.ndarray:  # forward over reverse
            cplx = out.primal.dtype.kind == "c"
        elif isinstance(out, np.ndarray):
            # a masked array or np.matrix constant met a Var: its meaning would be dropped later
            raise subclass_error(out, f"a value in f ('{prim.name}' with a constant)")
        else:
            cplx = is_complex(stop_gradient(out))
        self.count += 1
        slot = tape.nslots
        tape.nslots = slot + 1
        keep_args, keep_out = _KEEPS["both" if tape.keep_all else prim.needs]
        # Entry's fields set here rather than by Entry(...): its __init__ call was a third of
        # the cost of recording a scalar operation.
        e = _new(Entry)
        e.prim = prim
        e.parents = parents
        if not keep_args:
            e.args = (None,) * n
        elif consts:  # (a constant array: copied, or held read-only until f returns)
            e.args = keep(tape, values, parents)
        else:
            e.args = values
        e.out = out if keep_out else None
        e.params = params
        e.shapes = shapes
        e.slot = slot
        e.wants = wants
        e.real = _real_parents(values, parents) if cplx else None
        tape.entries.append(e)
        if tape.keep_all:
            tape.values[slot] = out
        v = _new(Var)
        v.primal = out
        v.slot = slot
        v.tag = self
        return v


def _outer(prim: Primitive, values: tuple, params: dict) -> Any:
    """The operation on values of older perturbations: ``bind`` again, except that Duals of one
    forward-mode tag (forward over reverse) get their tangent computed only when something
    reads it (see :class:`dualdiff.dual.Deferred`): the sweep reads few of them."""
    tag = None
    for v in values:
        if type(v) in TRACED:
            if type(v) is not Dual or (tag is not None and v.tag is not tag):
                return bind(prim, *values, **params)
            tag = v.tag
    # (Duals built by hand, level 0, are left alone: their tangent is the user's to read.)
    if type(tag) is not ForwardTag or not tag.active or not tag.level:
        return bind(prim, *values, **params)
    return tag.process(prim, values, params, True)


@register_traced
@refuse_ndarray_names
class Var(Traced):
    """A reverse-mode variable: a value and the slot of the tape entry that produced it.

    Vars are made by :func:`dualdiff.vjp` and the reverse-mode transforms; user code only sees
    them as the argument of the function being differentiated. They support the same operators
    and numpy functions as :class:`dualdiff.Dual`.
    """

    __slots__ = ("primal", "slot", "tag")
    primal: Any
    slot: int
    tag: TapeTag

    def __repr__(self) -> str:
        from .dual import _fmt
        return f"Var({_fmt(self.primal)}, slot={self.slot})"

    def _become(self, new: Any, what: str) -> None:
        # (see Traced._become) A Var and a LazyVar of one tape have one layout: either may
        # become the other, deferred value and all.
        if (type(new) is Var or type(new) is LazyVar) and new.tag is self.tag:
            _set_primal(self, _get_primal(new))
            self.slot = new.slot
            self.__class__ = type(new)
            return
        Traced._become(self, new, what)


# -- values dd.grad may never need --------------------------------------------------------------
#
# grad throws f's value away. An L2 penalty's sum(W * W) is only ever read by the value: its
# adjoint needs W alone, and the sums and products after it need nothing. So on grad's tape the
# linear operations (add, subtract, negative, sum, division by a constant), products and powers
# with a constant exponent record their entry at once but compute their value only when
# something reads it: a later operation that needs it, the user (x.primal, a comparison,
# printing), has_aux or value_and_grad. What is never read is never computed. A deferred value
# is computed by the same impl on the same arguments, so its bits are those eager mode gives;
# numpy's error state at recording is restored around it. (docs/architecture.md, "What grad
# never computes".)

_PRIMAL = Var.__dict__["primal"]  # the slot itself: a LazyVar's holds its deferred operation
_get_primal = _PRIMAL.__get__
_set_primal = _PRIMAL.__set__
_ERRSTATE: Any
try:  # numpy >= 2: the error state (np.errstate, np.seterr) is this context variable
    from numpy._core.umath import _extobj_contextvar as _ERRSTATE  # type: ignore
except ImportError:  # pragma: no cover  (without it nothing is deferred)
    _ERRSTATE = None
LAZY_SUPPORTED = _ERRSTATE is not None

# The deferred primitives: their adjoints read no output, and of their arguments at most the
# one that multiplies (multiply), divides (divide by a constant) or is raised to a constant
# power (power, square).
_DEFERRED = frozenset((ADD, SUB, MUL, NEG, SUM, DIV, POW, SQUARE))
# Elements from which an operation is deferred (512 KiB of float64). Deferring costs a few µs:
# about what recording costs again, and as much again when the value is read. Measured on
# chains of exp(x * 0.5) whose products are all read at once: 10% slower at 10,000 elements,
# even at 60,000-70,000, 35% faster at 200,000. So smaller operations run at once (unless an
# argument is deferred already: a chain stays deferred), and grad defers nothing unless an
# input is this large. Except, on such a tape, a sum and a square (x * x, np.square) of any
# array: they most often start what only f's value reads (a loss's cross-entropy sums, a small
# layer's penalty), whose small operations, each a numpy call run with the caches cold, are
# then never computed: the 784-100-10 MLP's gradient records 12 operations deferred instead of 5
# and runs about 13 µs (1.4%) less (tl.py per-operation timeline). A sum read at once (x / sum(x))
# pays the deferral and its computation on reading, about 2 µs.
DEFER_MIN_SIZE = 65536
_EXACT_INT = 2 ** 53
# The longest chain of deferred values: a deferred value holds its arguments, which eager
# evaluation would free once it is computed, so a sum of a thousand large terms built in a loop
# and read only at the end would hold all of them. Past this depth the chain is computed, so at
# most this many terms are held (the MLP's penalty is a chain of five).
MAX_DEFERRED_DEPTH = 16


class LazyVar(Var):
    """A Var of grad's tape whose value has not been computed yet (see above).

    Its slot holds ``(prim, args, params, shape, dtype, errstate, depth)``, args the computed
    arguments' values themselves (a later write rebinds the Var, not what was read) and the
    deferred ones' nodes. The LazyVar f holds is an alias of its own node (see _Alias). Reading
    ``primal`` computes the value (and those it depends on), after which the object is an
    ordinary :class:`Var`.
    """

    __slots__ = ()
    kind_name = "Var"  # (what error messages call it: the user never made a LazyVar)

    @property  # type: ignore[override]
    def primal(self) -> Any:
        return _force(self)

    @primal.setter
    def primal(self, value: Any) -> None:
        _set_primal(self, value)
        self.__class__ = Var  # type: ignore[assignment]

    @property
    def shape(self) -> tuple:
        return _get_primal(self)[3]

    @shape.setter
    def shape(self, shape: Any) -> None:  # x.shape = s: x becomes its reshape, as a Var does
        Traced.shape.fset(self, shape)  # type: ignore[attr-defined]

    @property
    def dtype(self) -> np.dtype:
        return _get_primal(self)[4]

    def __repr__(self) -> str:
        return f"Var(<not computed yet>, slot={self.slot})"


register_traced(LazyVar, deferred=True)


def _force(v: "LazyVar") -> Any:
    """The value of ``v``, computed now with every deferred value it depends on (a loop, not
    recursion: a chain of a million deferred sums computes like one)."""
    if v.tag.lazy is None:
        raise ValueError(
            "this value of f was never computed: dd.grad computes only what the gradient needs, "
            "and the function has returned. Return it with has_aux=True, or use "
            "dd.value_and_grad, to have it.")
    stack = [v]
    while stack:
        x = stack[-1]
        if type(x) is not LazyVar:
            stack.pop()
            continue
        prim, args, params, shape, dtype, errstate, _ = _get_primal(x)
        waiting = False
        for a in args:
            if type(a) is LazyVar:
                stack.append(a)
                waiting = True
        if waiting:
            continue
        values = [a.primal if type(a) is Var else a for a in args]
        if _ERRSTATE.get() is errstate:
            out = prim.impl(*values, **params)
        else:
            token = _ERRSTATE.set(errstate)
            try:
                out = prim.impl(*values, **params)
            finally:
                _ERRSTATE.reset(token)
        if shape_of(out) != shape or getattr(out, "dtype", None) != dtype:  # pragma: no cover
            raise AssertionError(f"dualdiff: deferred {prim.name} gave {shape_of(out)} "
                                 f"{getattr(out, 'dtype', type(out))}, recorded as {shape} {dtype}")
        _set_primal(x, out)
        # (one layout, so the class can change: from now on an ordinary Var)
        x.__class__ = Var  # type: ignore[assignment]
        stack.pop()
    return _get_primal(v)


def force_all(values: Sequence[Any]) -> None:
    """Compute every deferred value among ``values`` (each becomes an ordinary Var in place)."""
    for v in values:
        if type(v) is LazyVar:
            _force(v)


def _defer(tag: "TapeTag", prim: Primitive, args: tuple, params: dict) -> Optional["LazyVar"]:
    """Record ``prim(*args)`` on grad's tape without computing it: its LazyVar, or None (nothing
    recorded) where the value is computed now. Deferred: real floating arrays and deferred values,
    Python numbers beside them, shapes equal or one of them () (no broadcasting to work out), a
    divisor or exponent a constant, and an argument deferred already or of DEFER_MIN_SIZE
    elements at least, or one that most often starts what only a loss's value reads (see
    DEFER_MIN_SIZE)."""
    # Most operations of a loss are small ones (a layer's output, its sums): found out first,
    # by the one test the loop below would end with, before its bookkeeping.
    for a in args:
        t = type(a)
        if t is LazyVar:
            break
        if t is Var:
            value = _get_primal(a)
            if type(value) is np.ndarray and (value.size >= DEFER_MIN_SIZE or prim is SUM
                                              or prim is SQUARE
                                              or prim is MUL and args[0] is args[1]):
                break
    else:
        return None
    # One pass over the (one or two) arguments: each one's shape, kind (its dtype, or a Python
    # number itself, weak) and slot, in locals rather than lists (a deferred operation's
    # bookkeeping is its whole cost).
    n = len(args)
    if n > 2:
        return None
    depth = 1  # the longest chain of deferred values this one would end
    sb: tuple = ()  # (the second argument's, when there is one)
    kb: Any = None
    pb: Optional[int] = None
    hb: Any = None
    for k in range(n):
        a = args[k]
        t = type(a)
        if t is Var:
            if a.tag is not tag:
                return None
            value = _get_primal(a)
            tv = type(value)
            if tv is not np.ndarray and tv is not np.float64 and tv is not np.float32:
                return None
            kind = value.dtype
            if kind.kind != "f":
                return None
            # (the value itself is held, not the Var: a later write into the Var rebinds it to
            # a new value, which this operation, deferred or not, never reads)
            shape, parent, held = value.shape, a.slot, value
        elif t is LazyVar:
            if a.tag is not tag:
                return None
            lazy = _get_primal(a)
            if lazy[6] >= MAX_DEFERRED_DEPTH:
                return None  # (computed now, and the chain with it)
            if lazy[6] >= depth:
                depth = lazy[6] + 1
            # (its node, which a later write into `a` never rebinds: see _Alias)
            shape, kind, parent, held = lazy[3], lazy[4], a.slot, lazy[1][0]
        elif t is float or t is int and -_EXACT_INT <= a <= _EXACT_INT:
            # (a larger int may not convert at all: numpy's OverflowError is raised at once)
            shape, kind, parent, held = (), a, None, a
        else:
            return None
        if k:
            sb, kb, pb, hb = shape, kind, parent, held
        else:
            sa, ka, pa, ha = shape, kind, parent, held
    errstate = _ERRSTATE.get()
    seen = _ERRORS_SEEN
    if not (seen[1] if seen[0] is errstate else _errors_may_wait(errstate)):
        return None  # (numpy's error state raises: computed now, below)
    if prim is SUM:
        axis = params["axis"]
        if axis is None:
            shape = (1,) * len(sa) if params["keepdims"] else ()
        else:
            shape = tuple([1 if i in axis else d for i, d in enumerate(sa)] if params["keepdims"]
                          else [d for i, d in enumerate(sa) if i not in axis])
        dtype = ka
    elif n == 1:
        shape, dtype = sa, ka
    else:
        if sa == sb or sb == ():
            shape = sa
        elif sa == ():
            shape = sb
        else:
            return None
        # (a Python number beside an array or numpy scalar takes its dtype, as numpy does)
        if type(kb) is float or type(kb) is int or ka is kb:
            dtype = ka
        elif type(ka) is float or type(ka) is int:
            dtype = kb
        else:
            dtype = ka if ka == kb else np.result_type(ka, kb)
        if (prim is DIV or prim is POW) and pb is not None:
            return None  # (the divisor's or exponent's adjoint reads the output)
    # The arguments the adjoint reads: a product's factor whose partner is on the tape (forced
    # now if deferred), a quotient's divisor (a constant); nothing for the linear ones.
    values: Tuple[Any, ...]
    if prim is MUL:
        a, b = args
        values = (_value(a) if pb is not None else None, _value(b) if pa is not None else None)
    elif prim is DIV:
        values = (None, args[1])
    elif prim is POW:
        values = (_value(args[0]), args[1])
    elif prim is SQUARE:
        values = (_value(args[0]),)
    else:
        values = (None,) * n
    tag.count += 1
    tape = tag.tape
    slot = tape.nslots
    tape.nslots = slot + 1
    if n == 1:
        parents: Tuple[Optional[int], ...] = (pa,)
        shapes: Tuple[tuple, ...] = (sa,)
        wants: Tuple[bool, ...] = (pa is not None,)
    else:
        parents, shapes, wants = (pa, pb), (sa, sb), (pa is not None, pb is not None)
    if shape == () and not params and sa == () and (n == 1 or sb == ()):
        # numbers (a loss's last sums and products): the float entry the sweep takes without
        # the general bookkeeping, as TapeTag.process records their computed counterparts
        tape.entries.append((prim, slot, parents, values, None, wants))
    else:
        e = _new(Entry)
        e.prim = prim
        e.parents = parents
        e.args = values
        e.out = None
        e.params = params
        e.shapes = shapes
        e.slot = slot
        e.wants = wants
        e.real = None
        tape.entries.append(e)
    node = _new(LazyVar)
    _set_primal(node, (prim, (ha,) if n == 1 else (ha, hb), params, shape, dtype, errstate, depth))
    node.slot = slot
    node.tag = tag
    v = _new(LazyVar)
    _set_primal(v, (_ALIAS, (node,), _NO_PARAMS, shape, dtype, errstate, depth))
    v.slot = slot
    v.tag = tag
    return v


class _Alias:
    """The operation of a deferred value f sees: its node's value, as it is.

    A deferred operation reads its deferred arguments' nodes, never the LazyVar objects f holds:
    a write into such an object (``a[0] = 5``, ``a += 1``) rebinds it to a new value, and an
    operation that read it before must still compute from what it read, as numpy does."""

    name = "alias"

    @staticmethod
    def impl(value: Any) -> Any:
        return value


_ALIAS = _Alias()


# np.errstate(over="raise") (or "call", "log") is a promise that the operation raises where it
# runs: a value that grad never reads would never raise. Under such a state nothing is deferred.
# The answer is kept for the last state looked at (np.errstate makes a new one), read in _defer
# beside the state it records anyway. Warnings filters are not consulted: under numpy's default
# ("warn") a value never computed never warns, a filter that makes the warning an error included
# (docs/architecture.md). A function call here, even one returning True, measured 2-5% on the
# eager MLP gradient (bench_compile --section mlp, alternated), which this inline test does not.
_ERRORS_SEEN: Tuple[Any, bool] = (None, True)
_QUIET = frozenset(("ignore", "warn", "print"))


def _errors_may_wait(state: Any) -> bool:
    """Whether numpy's error state ``state`` (the current one) lets an operation's floating-point
    errors wait: each kind ignored or warned of. Kept with the state, one tuple swapped whole."""
    quiet = all(mode in _QUIET for mode in np.geterr().values())
    globals()["_ERRORS_SEEN"] = (state, quiet)
    return quiet


def _value(a: Any) -> Any:
    t = type(a)
    if t is LazyVar:
        return _force(a)
    return _get_primal(a) if t is Var else a


def backward(tape: Tape, seeds: Dict[int, Any], keep: bool = False,
             consume: bool = False) -> List[Optional[Any]]:
    """One reverse sweep: the grad_table of cotangents, indexed by slot.

    ``seeds`` maps output slots to their cotangents (ȳ). Entries are visited newest first; each
    entry's cotangent is pushed to its parents by the primitive's adjoint rule and summed there.
    With ``keep=False`` a slot's cotangent is dropped once it has been pushed back (only the
    inputs' survive), so memory stays at the live frontier of the sweep. With ``consume=True``
    each entry is dropped from the tape once swept, releasing the forward values it kept: for a
    single sweep (grad), memory then shrinks as the sweep goes instead of peaking at the end.
    """
    table: List[Optional[Any]] = [None] * tape.nslots
    # the slots that may hold a Scaled cotangent (a product not computed yet) or a _Scatter (an
    # index_add not computed yet), computed before the table is returned
    scaled: List[int] = []
    for slot, ct in seeds.items():
        table[slot] = ct
        # (a checkpoint's re-run starts from the outer sweep's sums)
        if type(ct) is Scaled or type(ct) is _Scatter:
            scaled.append(slot)
    tape.table = table  # read by checkpoint entries (dualdiff.checkpoint) during this sweep
    entries = tape.entries
    # (consume: entries.pop() in the loop itself; a generator's resumption costs as much as a
    # scalar entry's whole adjoint)
    i = len(entries)
    swept = 0
    while entries if consume else i:
        if consume:
            e = entries.pop()
        else:
            i -= 1
            e = entries[i]
        if type(e) is tuple:  # a float entry (see TapeTag.process)
            ct = table[e[1]]
            if ct is None:
                continue
            if type(ct) is float or type(ct) is np.float64:
                prim, slot, parents, values, out, wants = e
                if not keep:
                    table[slot] = None
                swept += 1
                cts = prim.vjp(ct, values, out, _NO_PARAMS,
                               _SCALAR_SHAPES if len(values) == 2 else _SCALAR_SHAPE, wants)
                # (the in-place sums of the general loop below take arrays and Duals only)
                j = 0
                for p in parents:
                    c = cts[j]
                    j += 1
                    if p is not None and c is not None:
                        old = table[p]
                        table[p] = (c if old is None else old + c
                                    if type(old) in _PLAIN_FLOATS and type(c) in _PLAIN_FLOATS
                                    else add(old.value() if type(old) is _Scatter else old, c))
                continue
            else:  # anything else the general rule takes, from the entry it stands for
                e = as_entry(e)
        if type(e) is not tuple:
            slot = e.slot
            ct = table[slot]
            if ct is None:
                continue
            if not keep:
                table[slot] = None
            if type(ct) is Scaled or type(ct) is _Scatter:
                ct = ct.value()
                if keep:
                    table[slot] = ct
            swept += 1
            prim = e.prim
            at = prim.accumulate_at
            if (at is not None and (type(ct) is _ND or type(ct) is Dual) and e.real is None
                    and e.parents[0] is not None):
                # getitem: ct added into the part of the parent's running sum it came from, when
                # the table alone holds that sum (the count: the table, `old`, the argument;
                # the last step's results may hold it still: two slices swept one after the other).
                # (Numbers, scalar code's cotangents, take the rule: nothing to sum in place.)
                cts = c = None
                p = e.parents[0]
                old = table[p]
                if old is None:
                    if _REFCOUNTS and _Scatter.takes(ct, e.params):
                        table[p] = _Scatter(ct, e)
                        scaled.append(p)
                        continue
                elif type(old) is _Scatter:
                    if old.merge(ct, e):
                        continue
                    old = table[p] = old.value()
                if (old is not None and old is not ct and _REFCOUNTS
                        and getrefcount(old) <= 3 + tracked(old) and _sum_into_part(old, ct, at, e.params)):
                    tape.inplace += 1
                    continue
            rule = prim.vjp
            if (type(ct) is np.ndarray and ct.nbytes >= _OWNED_MIN_BYTES
                    and prim.vjp_owning is not None):
                cts = c = old = None  # (the last step's results may hold this very array)
                if (ct.nbytes >= _SCALED_MIN_BYTES and not any(ct.strides) and e.real is None
                        and _open(table, e.parents, e.wants)):
                    # a sum's cotangent, one number broadcast (an L2 penalty's): the products
                    # are left to the sums below (see rules.partials.Scaled). (Asked first: a
                    # view with every stride 0 owns no memory, so the test below would fail.)
                    rule = SCALED_VJPS.get(prim, rule)
                    if rule is not prim.vjp:
                        scaled += [p for p in e.parents if p is not None]
                # ct held by the local `ct` alone (and getrefcount's argument): no entry, no other
                # slot, no caller's seed, no view of it (the buffer pool's reference aside: see
                # dualdiff.buffers). The rule may write into it.
                elif _REFCOUNTS and getrefcount(ct) <= 2 + tracked(ct) and _owns_memory(ct):
                    rule = prim.vjp_owning
            cts = rule(ct, e.args, e.out, e.params, e.shapes, e.wants)
            if e.real is not None:
                cts = [real(c) if r and c is not None else c for c, r in zip(cts, e.real)]
            parents = e.parents
        for j, p in enumerate(parents):
            if p is None:
                continue
            c = cts[j]
            if c is None:
                continue
            old = table[p]
            if old is None:
                table[p] = c
            elif type(old) in _PLAIN_FLOATS and type(c) in _PLAIN_FLOATS:
                table[p] = old + c  # two plain floats (np.float64 too): add() would do this
            # getrefcount(old) counts the table, the local `old` and its own argument, plus the
            # references this sweep holds itself (see _held); anything more is someone else's.
            # Evaluated on its own, not as an argument of _exclusive (which would add one).
            elif (type(old) is np.ndarray and _REFCOUNTS
                  and getrefcount(old) <= 3 + tracked(old) + _held(old, c, ct, cts)
                  and _exclusive(old, c) and not _pending(old, cts, j)):
                np.add(old, c, out=old)
                tape.inplace += 1
            elif (type(old) is Dual and type(c) is Dual and _REFCOUNTS
                  and getrefcount(old) <= 3 + _held(old, c, ct, cts) and _dual_exclusive(old, c)
                  and not _pending(old, cts, j)):
                # Forward over reverse: what add(old, c) computes, value and tangent each
                # old + c, into old's own arrays (a Hessian's input collects one Dual per use).
                np.add(old.primal, c.primal, out=old.primal)
                np.add(old.tangent, c.tangent, out=old.tangent)
                old.tag.count += 1  # the add it stands for
                tape.inplace += 1
            elif type(old) is Scaled:
                if c is old:  # x * x: both arguments' product, summed
                    table[p] = old.doubled()
                elif not old.makes_array():
                    # ȳ = 1: the rule's cotangent is the partial d itself, summed into in place
                    # as above when the table alone holds it (the counts: the table, `old` and
                    # getrefcount's argument for the Scaled; then its d, `old` and the argument)
                    alone = _REFCOUNTS and getrefcount(old) <= 3
                    old = old.d
                    if (alone and type(c) is np.ndarray and getrefcount(old) <= 3 + tracked(old)
                            and _exclusive(old, c)):
                        np.add(old, c, out=old)
                        table[p] = old
                        tape.inplace += 1
                    else:
                        table[p] = old + c if type(c) is np.ndarray else add(old, c)
                # c held by the rule's result alone (the count: cts, the local `c`, getrefcount's
                # argument, and `ct` where the rule wrote into its cotangent): old + c written
                # into it
                elif (type(c) is np.ndarray and _REFCOUNTS
                      and getrefcount(c) <= 3 + tracked(c) + (c is ct) and not _pending(c, cts, j)
                      and _owns_memory(c) and old.fits(c)):
                    table[p] = old.add_into(c)
                    tape.inplace += 1
                else:
                    old = old.value()
                    if _exclusive(old, c):  # (the product just made: the table's alone)
                        np.add(old, c, out=old)
                        table[p] = old
                        tape.inplace += 1
                    else:
                        table[p] = old + c if type(c) is np.ndarray else add(old, c)
            else:
                if type(old) is _Scatter:  # (a pending index_add met by a term of another kind)
                    old = old.value()
                # two plain arrays: add() would compute old + c itself
                table[p] = old + c if type(old) is np.ndarray and type(c) is np.ndarray else add(old, c)
    for slot in scaled:
        left = table[slot]
        if type(left) is Scaled or type(left) is _Scatter:
            table[slot] = left.value()
    tape.swept += swept
    tape.table = None
    return table


class _Scatter:
    """``index_add(ct)``, the adjoint of a basic index ``x[idx]``, as the first term of x's
    cotangent sum, not computed yet.

    Why: the same slice is often read twice (Rosenbrock's ``x[:-1]``), so x's sum would get
    ``index_add(c1)`` and then ``c2`` added into the part ``idx``: a zeroed array, and a strided
    pass over it for each term. While the sum holds this one term, a second term at the same
    index is summed with the first instead (``c1 + c2``, one contiguous pass), and the
    index_add runs once, when anything else reads the sum (:meth:`value`). The bits are those of
    the sums it stands for: a basic index reaches each element once, so element for element
    both give ``c1 + c2`` where the index reaches and 0.0 elsewhere. Only a term that would
    start the sum is held (anything else then added to it would be summed in another order),
    and only plain arrays, or Duals of plain arrays, of one shape and dtype are summed.
    """

    __slots__ = ("ct", "prim", "params", "shapes", "wants")

    def __init__(self, ct: Any, e: "Entry"):
        self.ct = ct
        self.prim = e.prim
        self.params = e.params
        self.shapes = e.shapes
        self.wants = e.wants

    @staticmethod
    def takes(ct: Any, params: dict) -> bool:
        """Whether a cotangent ``ct`` of ``x[params["idx"]]`` may wait as a _Scatter."""
        t = type(ct)
        if t is Dual:
            if type(ct.primal) is not np.ndarray or type(ct.tangent) is not np.ndarray:
                return False
        elif t is not np.ndarray:
            return False
        for i in params["idx"]:  # (basic indexing: each element reached once, no repeats)
            if type(i) is not slice and type(i) is not int and i is not None:
                return False
        return True

    def value(self) -> Any:
        """The index_add, computed by getitem's adjoint rule."""
        return self.prim.vjp(self.ct, (None,), None, self.params, self.shapes, self.wants)[0]

    def merge(self, ct: Any, e: "Entry") -> bool:
        """Add ``ct``, the cotangent of ``e`` (a getitem of the same parent), to the held term
        when e reads the same index; False, changing nothing, otherwise."""
        old = self.ct
        # (an advanced index among e's would make the comparison an array's: takes() first)
        if (old is ct or not _Scatter.takes(ct, e.params) or e.params["idx"] != self.params["idx"]
                or e.shapes != self.shapes):
            return False
        if type(old) is np.ndarray:
            if type(ct) is not np.ndarray or old.shape != ct.shape or old.dtype != ct.dtype:
                return False
            # (the counts: self.ct, `old`, getrefcount's argument)
            if (getrefcount(old) <= 3 + tracked(old) and _owns_memory(old)
                    and old.flags.writeable):
                np.add(old, ct, out=old)
            else:
                self.ct = old + ct
            return True
        if not (type(ct) is Dual and ct.tag is old.tag and type(ct.primal) is np.ndarray
                and type(ct.tangent) is np.ndarray and old.primal.shape == ct.primal.shape
                and old.tangent.shape == ct.tangent.shape and old.primal.dtype == ct.primal.dtype
                and old.tangent.dtype == ct.tangent.dtype):
            return False
        if getrefcount(old) <= 3 and _dual_writable(old, ct):
            np.add(old.primal, ct.primal, out=old.primal)
            np.add(old.tangent, ct.tangent, out=old.tangent)
            old.tag.count += 1  # the add it stands for
        else:
            self.ct = add(old, ct)
        return True


def _open(table: List[Any], parents: tuple, wants: tuple) -> bool:
    """Whether no wanted parent has a cotangent in the table yet (so a Scaled one arriving
    starts its sum)."""
    for p, w in zip(parents, wants):
        if w and table[p] is not None:
            return False
    return True


def as_entry(t: Any) -> Entry:
    """The :class:`Entry` a tape's entry stands for: an Entry as it is; a float entry (a tuple,
    see ``TapeTag.process``) as the Entry the general path would have recorded, keeping only
    what its adjoint rule needs. For the tape's readers (memory counts, the docs)."""
    if type(t) is not tuple:
        return t
    prim, slot, parents, values, out, wants = t
    keep_args, keep_out = _KEEPS[prim.needs]
    e = _new(Entry)
    e.prim = prim
    e.parents = parents
    e.args = values if keep_args else (None,) * len(values)
    e.out = out if keep_out else None
    e.params = _NO_PARAMS
    e.shapes = _SCALAR_SHAPES if len(values) == 2 else _SCALAR_SHAPE
    e.slot = slot
    e.wants = wants
    e.real = None
    return e


def _real_parents(values: tuple, parents: tuple) -> Optional[Tuple[bool, ...]]:
    """For a complex output: which recorded parents are real (None if none is)."""
    mask = tuple(p is not None and not is_complex(stop_gradient(v)) for v, p in zip(values, parents))
    return mask if any(mask) else None


def take(table: List[Any], slot: int) -> Any:
    """Remove ``slot``'s cotangent from a grad_table and return it as an array the caller owns.

    Rules may hand back a forward value kept on the tape, the user's own array (x * w gives x
    the cotangent w) or a read-only broadcast; returning one of those as a gradient would let a
    later in-place update of the gradient corrupt it. Only an array provably held by nobody else
    (CPython reference count, as in :func:`_exclusive`) is returned as it is; anything else is
    copied.
    """
    c = table[slot]
    table[slot] = None
    if type(c) is np.ndarray and not (_REFCOUNTS and getrefcount(c) <= 2 + tracked(c)
                                      and _owns_memory(c)):
        c = np.array(c)
    return c


def _held(old: Any, c: Any, ct: Any, cts: Any) -> int:
    """How many references to ``old`` the sweep itself holds besides the table and ``old``.

    A rule may return one fresh array for two arguments (x * x under a sum gives both the same
    ȳ·x) or pass its cotangent through (add): then ``c``, ``ct`` and the rule's result ``cts``
    hold it too, and those references die with this step of the sweep, so summing into it in
    place is still safe. Counted by identity; nothing else may hold it.
    """
    n = (c is old) + (ct is old)
    for x in cts:
        n += x is old
    return n


def _pending(old: Any, cts: Any, j: int) -> bool:
    """Whether ``old`` is also a cotangent this step has still to hand to a later parent.

    In (z + z) + z, the outer add gives z and z + z one array; the inner add then hands that
    same array to z twice. Summing into it in place for the first would change what the second
    receives (the gradient came out 4 where it is 3).
    """
    for x in cts[j + 1:]:
        if x is old:
            return True
    return False


def _exclusive(old: np.ndarray, c: Any) -> bool:
    """Whether the table's array ``old``, referenced by the table alone, may take ``old + c`` in place.

    The caller has checked the reference count; here: it owns its memory (not a view or a
    broadcast) and ``old + c`` has its shape and dtype. Rules pass cotangents through unchanged
    (add gives both parents the same array) and keep forward values on the tape, so most
    cotangents are shared; the fresh ones a rule computed are the ones this catches, and summing
    into them saves an allocation and a pass over memory.
    """
    return (type(c) is np.ndarray and _owns_memory(old) and old.shape == c.shape
            and old.dtype == c.dtype)


def _dual_writable(old: "Dual", c: "Dual") -> bool:
    """Whether the table's Dual ``old`` (referenced by the table alone) may be written into with
    c: both of one active forward pass, each of old's arrays (value, tangent) held by old alone
    and owning its memory, c's arrays plain ones of the same dtypes (no promotion). A value kept
    on the tape, or a tangent a deferred rule still holds, fails the count."""
    tag = old.tag
    if c.tag is not tag or type(tag) is not ForwardTag or not tag.active:
        return False
    # (each count: old's attribute and getrefcount's own argument)
    if not (type(old.primal) is np.ndarray and type(old.tangent) is np.ndarray
            and getrefcount(old.primal) <= 2 + tracked(old.primal)
            and getrefcount(old.tangent) <= 2 + tracked(old.tangent)):
        return False
    p, t, cp, ctan = old.primal, old.tangent, c.primal, c.tangent
    return (type(cp) is np.ndarray and type(ctan) is np.ndarray and _owns_memory(p)
            and _owns_memory(t) and p.dtype == cp.dtype and t.dtype == ctan.dtype)


def _dual_exclusive(old: "Dual", c: "Dual") -> bool:
    """Whether the table's Dual ``old`` (referenced by the table alone) may take ``old + c`` in
    place: writable with c (see _dual_writable), and c of its shapes (no broadcasting)."""
    return (_dual_writable(old, c) and old.primal.shape == c.primal.shape
            and old.tangent.shape == c.tangent.shape)


def _sum_into_part(old: Any, ct: Any, at: Any, params: dict) -> bool:
    """``old + index_add(ct)`` written into the table's ``old`` (a plain array, or a Dual's value
    and tangent): ct added into the part ``at`` gives, 0.0 added to the margins around it (which
    turns -0.0 into 0.0 as the whole sum would, so the bits are the same). False, with nothing
    written, when that would not be the same: old shared or a view, another dtype, ct broadcast
    into the part, an index ``at`` does not take."""
    if type(old) is np.ndarray:
        if type(ct) is not np.ndarray or ct.dtype != old.dtype or not _owns_memory(old):
            return False
        where = at(old.shape, params, False)
        if where is None:
            return False
        part = old[where[0]]
        if part.shape != ct.shape:
            return False
        _add_into(old, part, where, ct)
        return True
    if type(old) is not Dual or type(ct) is not Dual or not _dual_writable(old, ct):
        return False
    value, tangent = old.primal, old.tangent
    at_value = at(value.shape, params, False)
    at_tangent = at(tangent.shape, params, old.tag.chunk is not None)
    if at_value is None or at_tangent is None:
        return False
    value_part, tangent_part = value[at_value[0]], tangent[at_tangent[0]]
    if value_part.shape != ct.primal.shape or tangent_part.shape != ct.tangent.shape:
        return False
    _add_into(value, value_part, at_value, ct.primal)
    _add_into(tangent, tangent_part, at_tangent, ct.tangent)
    old.tag.count += 1  # the operation it stands for (index_add and add, fused)
    return True


def _add_into(whole: np.ndarray, part: np.ndarray, where: Any, ct: np.ndarray) -> None:
    """``whole[part] += ct`` and 0.0 added to the margins ``where[1]`` (see _sum_into_part)."""
    if part.flags.c_contiguous or not whole.flags.c_contiguous:
        np.add(part, ct, out=part)
        for m in where[1]:
            view = whole[m]
            np.add(view, 0.0, out=view)
        return
    # A part with gaps (x[:, 1:] of a Hessian's tangents): numpy adds into it several times
    # slower than it copies into it, so ct is copied into an array of whole's shape with zeros
    # around it, which is added to all of whole at once: the same sums, 0.0 where ct is not
    # (6.2 against 10.0 us at 100 x 100 float64, 1.2 against 1.8 at 10 x 10).
    padded = np.empty(whole.shape, whole.dtype)
    padded[where[0]] = ct
    for m in where[1]:
        padded[m] = 0.0
    np.add(whole, padded, out=whole)


# Not a view of another array (nor a read-only broadcast): writing into it touches nothing else.
_owns_memory = owns_memory


# Whether a low reference count proves "only the table holds this array": primitives.REFCOUNTS_EXACT.
from .primitives import REFCOUNTS_EXACT as _REFCOUNTS  # noqa: E402
getrefcount = sys.getrefcount
# Owned cotangents (Primitive.vjp_owning) from this size on: below it an allocation costs less
# than the checks that would save it.
_OWNED_MIN_BYTES = 1 << 16
# Sums' cotangents from this size on leave their products to the sweep's sums (Scaled): where
# the rule itself takes pooled memory for them (dualdiff.buffers).
_SCALED_MIN_BYTES = 1 << 18
