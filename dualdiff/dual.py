"""Dual numbers: forward mode, one or k tangent directions carried beside every value.

Layout. A Dual with primal shape ``S`` carries either one direction (tangent shape ``S``) or k
directions at once (chunk mode, tangent shape ``(k,) + S``; ``tangent[i]`` is direction i). The
direction axis comes first so that numpy broadcasting of elementwise partials and matmul's batch
rules apply to all k directions with no extra code; only shape-aware rules (sum over an axis,
transpose, indexing) shift their axis by one, and they read ``chunked`` to know when.
"""

from __future__ import annotations

import threading
from math import copysign
from typing import Any, List, Optional, Sequence

import numpy as np

from .buffers import tracked
from .containers import as_value as _as_value, subclass_error
from .primitives import TRACED, Primitive, Tag, bind, is_complex, is_traced, register_traced, shape_of
from .rules.table import is_kept_seed
from .rules.ufuncs import FLOAT_OPS
from .surface import Traced, refuse_ndarray_names

__all__ = ["Dual", "ForwardTag"]

_new = object.__new__


class Deferred:
    """A tangent not computed yet: the tangent rule of one operation and what it reads.

    Under a tape recording (forward over reverse: Hessians, hvp) a forward value's tangent is
    often read by nothing: f's own output, or a value whose adjoint rule reads only constants
    (the ``100 *`` of ``100 * y ** 2``), and everything that only feeds those. The tape's
    interpreter therefore asks for the tangent to be computed when it is first read
    (:func:`tangent_of`), which the sweep does for exactly the values it differentiates through.
    Resolved, it keeps only ``value``; nothing refers back to its Dual, so it makes no cycle.
    """

    __slots__ = ("prim", "primals", "tangents", "out", "params", "chunked", "keep", "value")
    prim: Optional[Primitive]  # None once resolved
    primals: Any
    tangents: Any
    out: Any
    params: Any
    chunked: bool
    keep: bool  # its tag's keep
    value: Any


def resolve(t: Deferred) -> Any:
    """The tangent a Deferred stands for, computed now (with the deferred ones it reads).

    An explicit stack, not recursion: a chain of 100,000 unread operations resolves like one.
    """
    stack = [t]
    while stack:
        top = stack[-1]
        if top.prim is None:
            stack.pop()
            continue
        # (loops, not comprehensions: each of those is a call, and most operations have one
        # or two tangents, at most one of them deferred)
        waiting = False
        deferred = False
        for u in top.tangents:
            if type(u) is Deferred:
                deferred = True
                if u.prim is not None:
                    stack.append(u)
                    waiting = True
        if waiting:
            continue
        tangents = top.tangents
        if deferred or type(tangents) is not tuple:
            tangents = tuple([u.value if type(u) is Deferred else u for u in tangents])
        if top.keep and top.prim.tangent_reads is not None:
            top.value = kept_jvp(top.prim, top.primals, tangents, top.out, top.params, top.chunked)
        else:
            top.value = top.prim.jvp(top.primals, tangents, top.out, top.params, top.chunked)
        top.prim = top.primals = top.tangents = top.out = top.params = None
        stack.pop()
    return t.value


# Tangents computed from kept seeds alone (rules/table.keep_seed), kept between calls: the seeds
# are read-only and kept, so such a tangent is the same on every call (x[:-1]'s, 1 - x[:-1]'s,
# 2 · (1 - x[:-1])'s in a Hessian of Rosenbrock's function), and a pass that asks for it again
# gets the array it got before, as the rule would compute it. Keys hold everything the rule
# reads (see Primitive.tangent_reads); the entries hold the tangents their keys name by id, so
# those ids stay theirs. Bounded by bytes: past the bound everything is dropped.
_KEPT: "dict[tuple, tuple]" = {}  # key -> (the tangents it was computed from, the tangent)
_KEPT_IDS: "dict[int, np.ndarray]" = {}  # the kept tangents and seeds, by id (what a key may name)
_KEPT_BYTES = [0]
_KEPT_LIMIT = 1 << 25  # 32 MiB


def _static(v: Any) -> Any:
    """A hashable key for a parameter or constant that fixes its value, type and sign bit
    (-0.0 and 0.0 give different products), or None for anything else (arrays)."""
    t = type(v)
    if t is float or t is np.float64:
        return (t, v, copysign(1.0, v))  # (nan never equals itself: never found again)
    if t is int or t is bool or v is None or v is Ellipsis:
        return (t, v)
    if t is tuple:  # an index: slices first, the common case
        parts = []
        for u in v:
            if type(u) is slice:
                a, b, c = u.start, u.stop, u.step
                if not ((type(a) is int or a is None) and (type(b) is int or b is None)
                        and (type(c) is int or c is None)):
                    return None
                parts.append((a, b, c))
            else:
                u = _static(u)
                if u is None or type(u[0]) is not type:  # (a slice's key is no (type, value))
                    return None
                parts.append(u)
        return tuple(parts)
    return None


def _kept_key(prim: Primitive, primals: Any, tangents: Any, out: Any, params: Any,
              chunked: bool) -> Optional[tuple]:
    """What a tangent of kept tangents and seeds alone depends on, or None when it depends
    on anything else."""
    reads = prim.tangent_reads
    if reads is None:
        return None
    ids = [None if t is None else id(t) for t in tangents]
    to = type(out)
    if to is np.ndarray:
        dtype = out.dtype
        if dtype.kind != "f":
            return None
        key: List[Any] = [prim, chunked, out.shape, dtype]
    elif to is float or to is np.float64:
        key = [prim, chunked, to]
    else:  # traced (an inner perturbation, being compiled), complex, ...
        return None
    key += ids
    for i, r in enumerate(reads):
        if tangents[i] is None:
            continue
        if r is None:
            return None
        for j in r:  # the arguments this tangent's term reads: constants only
            c = None if tangents[j] is not None else _static(primals[j])
            if c is None:
                return None
            key.append(c)
    if params:
        for name, v in params.items():
            v = _static(v)
            if v is None:
                return None
            key.append(name)
            key.append(v)
    return tuple(key)


def keep_pass_seed(seed: np.ndarray) -> bool:
    """Whether a pass over ``seed`` keeps what the seed alone gives: a kept seed
    (rules/table.keep_seed), then held with the kept tangents (one lookup tells both)."""
    if not is_kept_seed(seed):
        return False
    _hold(seed)
    return True


def _hold(a: np.ndarray) -> None:
    """Hold ``a`` among the kept arrays (once), within the bound: past it, drop all first."""
    if _KEPT_IDS.get(id(a)) is not a:
        if _KEPT_BYTES[0] + a.nbytes > _KEPT_LIMIT:
            _KEPT.clear()
            _KEPT_IDS.clear()
            _KEPT_BYTES[0] = 0
        _KEPT_IDS[id(a)] = a
        _KEPT_BYTES[0] += a.nbytes


def kept_jvp(prim: Primitive, primals: Any, tangents: Any, out: Any, params: Any,
             chunked: bool) -> Any:
    """``prim.jvp``, for a pass over kept seeds: a tangent of the seeds alone is kept (read-only)
    and handed out again when asked for again."""
    for t in tangents:
        if t is not None and _KEPT_IDS.get(id(t)) is not t:
            return prim.jvp(primals, tangents, out, params, chunked)
    key = _kept_key(prim, primals, tangents, out, params, chunked)
    if key is None:
        return prim.jvp(primals, tangents, out, params, chunked)
    hit = _KEPT.get(key)
    if hit is not None:
        return hit[1]
    t = prim.jvp(primals, tangents, out, params, chunked)
    if type(t) is np.ndarray:
        base = t.base
        if tracked(t):
            return t  # the pool's (dualdiff.buffers): it writes into it again once it is let go
        if base is None:
            t.flags.writeable = False  # (the rule's own new array: nobody else holds it)
        elif _KEPT_IDS.get(id(base)) is not base:
            return t  # a view of anything else (a temporary's broadcast): not known to stay
        _hold(t)  # (once: add's tangent may be the one it was given)
        _KEPT[key] = (tuple(tangents), t)
    return t


def tangent_of(d: "Dual") -> Any:
    """A Dual's tangent, computed first if it was deferred."""
    t = d.tangent
    if type(t) is Deferred:
        t = d.tangent = resolve(t)
    return t


class ForwardTag(Tag):
    """The tag of one forward-mode perturbation; it interprets operations on its Duals.

    ``keep``: the pass runs over kept seeds (rules/table.keep_seed), so the tangents computed
    from them alone are kept between calls (:func:`kept_jvp`).
    """

    __slots__ = ("keep",)

    def __init__(self, chunk: Optional[int] = None, level: Optional[int] = None, owner: str = ""):
        super().__init__(chunk, level, owner)
        self.keep = False

    def split(self, args: tuple, defer: bool = False) -> "tuple[List[Any], List[Any], bool]":
        """The primals and tangents of ``args`` (None for values this tag does not perturb), and
        whether any primal carries an older perturbation."""
        primals: List[Any] = []
        tangents: List[Any] = []
        nested = False
        for a in args:
            if type(a) is Dual and a.tag is self:
                primals.append(a.primal)
                tangents.append(a.tangent if defer else tangent_of(a))
                nested = nested or type(a.primal) in TRACED
            else:  # a constant, or a value of an older perturbation: constant to this one
                primals.append(a)
                tangents.append(None)
                nested = nested or type(a) in TRACED
        return primals, tangents, nested

    def new_duals(self, primals: List[Any], tangents: List[Any]) -> List["Dual"]:
        """One Dual of this tag per primal and its tangent, unchecked (see :func:`make_dual`)."""
        out = []
        for p, t in zip(primals, tangents):
            d = _new(Dual)
            d.primal = p
            d.tangent = t
            d.tag = self
            out.append(d)
        return out

    def process(self, prim: Primitive, args: tuple, params: dict, defer: bool = False) -> "Dual":
        """The operation on Duals: its value, and its tangent by the primitive's rule.

        ``defer=True`` (from the tape's interpreter, see :class:`Deferred`) leaves the tangent to
        be computed when it is first read, and reads the arguments' tangents as they stand.
        """
        self.count += 1
        n = len(args)
        primals: Sequence[Any]
        tangents: Sequence[Any]
        # One and two arguments are unrolled: this runs once per operation, and on scalars the
        # interpreter's overhead is most of forward mode's cost.
        if n == 2:
            a, b = args
            if type(a) is Dual and a.tag is self:
                pa, ta = a.primal, a.tangent
                if type(ta) is Deferred and not defer:
                    ta = a.tangent = resolve(ta)
            else:  # a constant, or a value of an older perturbation: constant to this one
                pa, ta = a, None
            if type(b) is Dual and b.tag is self:
                pb, tb = b.primal, b.tangent
                if type(tb) is Deferred and not defer:
                    tb = b.tangent = resolve(tb)
            else:
                pb, tb = b, None
            primals, tangents = (pa, pb), (ta, tb)
            if type(pa) is float and type(pb) is float:
                nested = False
                native = FLOAT_OPS.get(prim)
            else:
                nested = type(pa) in TRACED or type(pb) in TRACED
                native = None
        elif n == 1:
            a = args[0]  # bind only calls us when a carries this tag
            ta = a.tangent
            if type(ta) is Deferred and not defer:
                ta = a.tangent = resolve(ta)
            primals, tangents = (a.primal,), (ta,)
            nested = type(a.primal) in TRACED
            native = None
        else:
            primals, tangents, nested = self.split(args, defer)
            native = None
        # Values carrying an older perturbation must see this operation too: bind again.
        if native is not None:
            out = native(pa, pb)
        elif nested:
            out = bind(prim, *primals, **params)
        elif params:
            out = prim.impl(*primals, **params)
        else:
            out = prim.impl(*primals)
        kind = type(out)
        if kind is not float and kind is not np.ndarray and kind is not np.float64 and isinstance(out, np.ndarray):
            raise subclass_error(out, f"a value in f ('{prim.name}' with a constant)")
        d = _new(Dual)
        d.primal = out
        if defer:
            t = _new(Deferred)
            t.prim, t.primals, t.tangents, t.out = prim, primals, tangents, out
            t.params, t.chunked, t.keep = params, self.chunk is not None, self.keep
            d.tangent = t
        elif (self.keep and prim.tangent_reads is not None
              and ((tangents[0] is not None and _KEPT_IDS.get(id(tangents[0])) is tangents[0])
                   or (n == 2 and tangents[-1] is not None
                       and _KEPT_IDS.get(id(tangents[-1])) is tangents[-1]))):
            # (a kept tangent among the first two: most operations of a pass have none, and
            # are told so here without a call)
            d.tangent = kept_jvp(prim, primals, tangents, out, params, self.chunk is not None)
        else:
            d.tangent = prim.jvp(primals, tangents, out, params, self.chunk is not None)
        d.tag = self
        return d


# Duals built by hand share one perturbation per number of directions, so that
# Dual(2.0, 1.0) * Dual(5.0, 0.0) combines them the way one would expect.
_USER_TAGS: "dict[Optional[int], ForwardTag]" = {}
# Two threads building their first Duals at once must get the same tag, not one each (which
# would make their Duals refuse to combine): the tag is made under a lock.
_USER_TAGS_LOCK = threading.Lock()


def _user_tag(chunk: Optional[int]) -> ForwardTag:
    tag = _USER_TAGS.get(chunk)
    if tag is None:
        with _USER_TAGS_LOCK:
            tag = _USER_TAGS.get(chunk)
            if tag is None:
                tag = _USER_TAGS[chunk] = ForwardTag(chunk, level=0, owner="Dual")
    return tag


@register_traced
@refuse_ndarray_names
class Dual(Traced):
    """A value with its tangent: ``primal`` and the directional derivative ``tangent``.

    ``Dual(primal, tangent=None)``. ``primal`` is a number or an array of any shape (integers
    become floats). ``tangent`` defaults to zeros of the primal's shape; a tangent of shape
    ``(k,) + primal.shape`` carries k directions at once (chunk mode). Every operator and the
    numpy functions with a rule push the tangent forward; comparisons look at the primal.

    >>> import dualdiff as dd, numpy as np
    >>> x = dd.Dual(2.0, 1.0)
    >>> y = x * x + np.sin(x)
    >>> y
    Dual(4.9093, 3.5839)
    >>> y.primal == 4.0 + np.sin(2.0), y.tangent == 4.0 + np.cos(2.0)
    (np.True_, np.True_)
    """

    __slots__ = ("primal", "tangent", "tag")
    primal: Any
    tangent: Any
    tag: ForwardTag

    def __init__(self, primal: Any, tangent: Any = None):
        if is_traced(primal):
            raise TypeError(
                "a Dual's primal must be a number or an array, not a Dual or tape variable; for "
                "nested derivatives nest dd.derivative / dd.jvp / dd.grad calls, whose tags keep "
                "the perturbations apart")
        primal = _as_value(primal, "Dual's primal")
        shape = shape_of(primal)
        if tangent is None:
            tangent = np.zeros(shape) if shape else 0.0
            chunk = None
        else:
            tangent = _as_value(tangent, "Dual's tangent")
            tshape = shape_of(tangent)
            if tshape == shape:
                chunk = None
            elif tshape[1:] == shape and len(tshape) == len(shape) + 1:
                chunk = tshape[0]
            else:
                raise ValueError(
                    f"a Dual's tangent must have the primal's shape {shape} (one direction) or "
                    f"(k,) + {shape} (k directions), not {tshape}")
            if is_complex(tangent) and not is_complex(primal):
                raise TypeError("a Dual with a real primal needs a real tangent: a real value "
                                "moves along the real line only; make the primal complex (x + 0j)")
        self.primal = primal
        self.tangent = tangent
        self.tag = _user_tag(chunk)

    @property
    def chunk(self) -> Optional[int]:
        """The number of directions k in chunk mode, or None for a single direction."""
        return self.tag.chunk

    def __repr__(self) -> str:
        return f"Dual({_fmt(self.primal)}, {_fmt(tangent_of(self))})"


def _fmt(x: Any) -> str:
    if is_traced(x):
        return repr(x)
    if np.ndim(x) == 0:
        if isinstance(x, complex):
            return repr(x)
        text = f"{float(x):.5g}"
        # 2.0 prints as "2" under %g; keep it recognisably a float, as numpy does.
        return text if any(c in text for c in ".einf") else text + ".0"
    return np.array2string(np.asarray(x), precision=5, separator=", ")


def make_dual(primal: Any, tangent: Any, tag: ForwardTag) -> Dual:
    """A Dual of ``tag`` without checks: for transforms that built ``tangent`` to fit."""
    d = _new(Dual)
    d.primal = primal
    d.tangent = tangent
    d.tag = tag
    return d
