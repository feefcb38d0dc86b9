"""Staging: the interpreter at the bottom of the tag tower that records a program instead of a derivative.

``dd.compile`` runs the user's function once on :class:`Staged` values. A staged value holds the
concrete value of this one call (so shapes, dtypes and control flow are known) and the graph
:class:`Node` that computes it. Its tag, a :class:`StagingTag`, is *older than every other tag*
(level -1, below hand-built Duals at level 0), so ``bind`` hands it exactly the operations that
the derivative tags pass down: every primal operation and every operation that a ``jvp`` or
``vjp`` rule of the table performs. Running the existing ``grad``/``jvp``/``hessian`` code on
staged inputs therefore records the derivative as a graph of table operations; this module
contains no derivative rule.

What never reaches the staging tag is a constant of the recording: operations on values that do
not depend on the inputs (seeds, closure arrays) run once, here, and their results are folded
into the graph as constants.

Values that only steer the computation are read through :func:`dualdiff.stop_gradient`, which
strips derivative tags but keeps staged values, so they are recorded too:

- numpy functions without a derivative (comparisons, ``np.max`` of a shift, ``astype``) become
  plain *call* nodes;
- ``bool()`` of a staged value (an ``if`` on traced data) records a guard: the compiled code
  checks it and falls back to another recording when it differs;
- ``float()``, ``int()`` and ``operator.index()`` return the concrete number and record an
  equality guard;
- ``np.asarray`` of a staged value is refused with a TypeError: it would bake this call's value
  into the compiled code.
"""

from __future__ import annotations

import math
import operator
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .constants import strided_copy
from .primitives import TRACED, Primitive, Tag, leaked_error, register_traced
from .surface import _UFUNC_METHODS, FUNCTION_RULES, UFUNC_RULES, Traced, _follow, _ufunc_name

__all__ = ["Staged", "StagingTag", "Node", "Graph", "Pack", "call", "StagingError"]


class StagingError(TypeError):
    """A function cannot be compiled: it reads a traced value in a way that cannot be recorded."""


class Node:
    """One recorded operation ``value = fn(*args, **kwargs)``.

    ``args``/``kwargs`` hold other nodes, :class:`Pack` s (lists or tuples holding nodes), or
    constants. ``prim`` is the table entry when the node is a primitive (``fn`` is then its
    ``impl``), None for a plain call (an input has ``fn`` None). ``value`` is the concrete value
    of the recording call.
    """

    __slots__ = ("id", "fn", "prim", "args", "kwargs", "value", "label", "users")

    def __init__(self, id: int, fn: Optional[Callable[..., Any]], prim: Optional[Primitive],
                 args: tuple, kwargs: dict, value: Any, label: str):
        self.id = id
        self.fn = fn
        self.prim = prim
        self.args = args
        self.kwargs = kwargs
        self.value = value
        self.label = label
        self.users = 0

    def __repr__(self) -> str:
        return f"<node {self.id} {self.label}>"


class Pack:
    """A list or tuple argument that holds nodes: rebuilt with their values when the node runs."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: tuple):
        self.kind = kind
        self.items = items


class Graph:
    """The recorded program: nodes in the order they ran (a topological order), and guards."""

    def __init__(self) -> None:
        self.nodes: List[Node] = []
        self.inputs: List[Node] = []
        # (node, kind, expected): kind "bool", "float", "int", "index" or "complex"
        self.guards: List[Tuple[Node, str, Any]] = []
        self.cse: Dict[Any, Node] = {}
        # id -> (a plain array the recording read, the copy it keeps of it): see constant()
        self.snapshots: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
        self.recorded = 0      # operations handed to the staging tag, before CSE/simplification
        self.simplified = 0    # operations that simplification or CSE removed

    def add(self, fn: Optional[Callable[..., Any]], prim: Optional[Primitive], args: tuple,
            kwargs: dict, value: Any, label: str) -> Node:
        node = Node(len(self.nodes), fn, prim, args, kwargs, value, label)
        self.nodes.append(node)
        return node


_tls = threading.local()


def _dispatching() -> list:
    stack = getattr(_tls, "stack", None)
    if stack is None:
        stack = _tls.stack = []
    return stack


class StagingTag(Tag):
    """The staging interpreter: each operation on its values appends a node to ``graph``.

    Level -1 makes it older than every derivative tag and than hand-built Duals, so derivative
    interpreters run on top of it and pass their primal and rule operations down to it.
    """

    __slots__ = ("graph",)

    def __init__(self) -> None:
        super().__init__(None, level=-1, owner="compile")
        self.graph = Graph()

    def new_input(self, value: Any) -> "Staged":
        node = self.graph.add(None, None, (), {}, value, "input")
        self.graph.inputs.append(node)
        return _staged(value, node, self)

    def process(self, prim: Primitive, args: tuple, params: dict) -> "Staged":
        self.count += 1
        vals = []
        refs = []
        for a in args:
            if type(a) is Staged:
                if a.tag is not self:
                    raise leaked_error(a.tag, f"in '{prim.name}'")
                vals.append(a.primal)
                refs.append(a.node)
            elif type(a) in TRACED:
                # Only hand-built Duals at level 0 could get here, and they sit above staging.
                raise StagingError(f"'{prim.name}' got a {type(a).__name__} below a compiled "
                                   f"value; build derivatives with dd.jvp/dd.grad inside the "
                                   f"compiled function, not with hand-made Duals")
            else:
                vals.append(a)
                refs.append(self.constant(a))
        cparams, pparams = params, params
        if params and any(type(v) is Staged for v in params.values()):
            cparams = {k: (v.primal if type(v) is Staged else v) for k, v in params.items()}
            pparams = {k: (v.node if type(v) is Staged else v) for k, v in params.items()}
        if params:
            pparams = {k: self.constant(v) for k, v in pparams.items()}
        out = prim.impl(*vals, **cparams)
        return self._node(prim.impl, prim, tuple(refs), pparams, out, prim.name, args)

    def constant(self, c: Any) -> Any:
        """A plain array the recording reads, as it is now: a copy, so that a later write into
        it (f's state updated in place, a buffer refilled) does not reach the compiled code,
        which must compute what numpy computed here. One copy while its contents stay the
        same (arrays in tuples and Packs too; anything else as it is)."""
        t = type(c)
        if t is np.ndarray:
            seen = self.graph.snapshots.get(id(c))
            if (seen is not None and seen[0] is c and seen[1].dtype == c.dtype
                    and seen[1].shape == c.shape and seen[1].tobytes() == c.tobytes()):
                return seen[1]
            copy = strided_copy(c)
            self.graph.snapshots[id(c)] = (c, copy)
            return copy
        if t is tuple or t is list:
            return t(self.constant(x) for x in c) if any(
                type(x) in (np.ndarray, tuple, list, Pack) for x in c) else c
        if t is Pack:
            return Pack(c.kind, tuple(self.constant(x) for x in c.items))
        return c

    def _node(self, fn, prim, refs: tuple, kwargs: dict, out: Any, label: str,
              args: tuple = ()) -> "Staged":
        graph = self.graph
        graph.recorded += 1
        if prim is not None:
            same = _simplify(prim.name, args, out)
            if same is not None:
                graph.simplified += 1
                return same
        key = _cse_key(fn, refs, kwargs)
        if key is not None:
            hit = graph.cse.get(key)
            if hit is not None:
                graph.simplified += 1
                return _staged(hit.value, hit, self)
        node = graph.add(fn, prim, refs, kwargs, out, label)
        if key is not None:
            graph.cse[key] = node
        return _staged(out, node, self)

    def guard(self, staged: "Staged", kind: str, value: Any) -> None:
        self.graph.guards.append((staged.node, kind, value))


# -- simplification at construction ---------------------------------------------------------

def _exactly(x: Any, c: float) -> bool:
    """x is the plain scalar c (1.0 or 0.0 with its sign), never an array or a traced value."""
    if type(x) not in (float, int, np.float64, np.float32):
        return False
    return x == c and math.copysign(1.0, x) == math.copysign(1.0, c)


def _simplify(name: str, args: tuple, out: Any) -> Optional["Staged"]:
    """An argument that equals the result bit for bit for every input: x·1, 1·x, x/1, x−0, x+(−0), −(−x).

    Only rewrites that IEEE arithmetic makes exact are taken (x + 0 is not: −0 + 0 = +0), and
    only when the result would have the argument's type, dtype and shape, so the compiled code
    returns exactly what eager mode returns.
    """
    keep = None
    if name == "multiply":
        a, b = args
        keep = a if _exactly(b, 1.0) else (b if _exactly(a, 1.0) else None)
    elif name == "divide" or name == "subtract":
        a, b = args
        if _exactly(b, 1.0 if name == "divide" else 0.0):
            keep = a
    elif name == "add":
        a, b = args
        keep = a if _exactly(b, -0.0) else (b if _exactly(a, -0.0) else None)
    elif name == "negative":
        (a,) = args
        node = a.node if type(a) is Staged else None
        if node is not None and node.prim is not None and node.prim.name == "negative":
            inner = node.args[0]
            if isinstance(inner, Node):
                keep = _staged(inner.value, inner, a.tag, True)
    if type(keep) is not Staged:
        return None
    v = keep.primal
    if type(v) is not type(out) or np.shape(v) != np.shape(out) or np.result_type(v) != np.result_type(out):
        return None
    # A new object on the kept node: y = x * 1.0 is a new array in eager mode, so a later
    # y += v or y[i] = v (which rebinds the traced object y) must leave x alone.
    return _staged(v, keep.node, keep.tag, True)


# -- common subexpressions ------------------------------------------------------------------

def _const_key(c: Any) -> Any:
    t = type(c)
    if t is float or t is np.float64:
        return (t, float(c).hex())
    if t in (int, bool, str, type(None)) or t is np.bool_:
        return (t, c)
    if t is complex:
        return (t, c.real.hex(), c.imag.hex())
    if isinstance(c, np.generic):
        return (t, c.tobytes())
    if t is tuple:
        inner = tuple(_const_key(x) for x in c)
        return None if None in inner else ("tuple", inner)
    if t is slice:
        inner = (_const_key(c.start), _const_key(c.stop), _const_key(c.step))
        return None if None in inner else ("slice", inner)
    if c is Ellipsis:
        return ("...",)
    # Arrays and other objects by identity: the node keeps them alive, so the id stays theirs.
    return ("id", id(c))


def _ref_key(r: Any) -> Any:
    if type(r) is Node:
        return ("n", r.id)
    if type(r) is Pack:
        inner = tuple(_ref_key(x) for x in r.items)
        return None if None in inner else ("p", r.kind, inner)
    return _const_key(r)


def _cse_key(fn: Any, refs: tuple, kwargs: dict) -> Any:
    parts: List[Any] = [id(fn)]
    for r in refs:
        k = _ref_key(r)
        if k is None:
            return None
        parts.append(k)
    for name in sorted(kwargs):
        k = _ref_key(kwargs[name])
        if k is None:
            return None
        parts.append((name, k))
    return tuple(parts)


# -- plain calls (numpy functions without a derivative) -------------------------------------

def _find_tag(obj: Any) -> Optional[StagingTag]:
    t = type(obj)
    if t is Staged:
        return obj.tag
    if t is list or t is tuple:
        for x in obj:
            tag = _find_tag(x)
            if tag is not None:
                return tag
    return None


def _unwrap(obj: Any) -> Tuple[Any, Any]:
    """(concrete value, reference) of an argument: nodes for staged values, Packs for lists of them."""
    t = type(obj)
    if t is Staged:
        return obj.primal, obj.node
    if (t is list or t is tuple) and _find_tag(obj) is not None:
        pairs = [_unwrap(x) for x in obj]
        return t(p[0] for p in pairs), Pack(t, tuple(p[1] for p in pairs))
    return obj, obj


_RESULTS = (np.ndarray, np.generic, float, int, complex, bool)
# numpy functions whose result depends only on shapes and dtypes
_STATIC = {np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj}


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, recorded as a node when an argument is staged.

    For functions that carry no derivative (comparisons, ``astype``, the conversion of a final
    result): their value is recorded, never baked in. The result must be an array or a number.
    """
    tag = _find_tag(args) or _find_tag(tuple(kwargs.values()))
    if tag is None:
        return fn(*args, **kwargs)
    if not tag.active:
        raise leaked_error(tag, f"in {getattr(fn, '__name__', fn)!r}")
    vals, refs = [], []
    for a in args:
        v, r = _unwrap(a)
        vals.append(v)
        refs.append(r)
    kvals, krefs = {}, {}
    for k, a in kwargs.items():
        kvals[k], krefs[k] = _unwrap(a)
    out = fn(*vals, **kvals)
    if isinstance(out, np.dtype) or fn in _STATIC:
        return out  # shapes and dtypes are fixed by the specialisation's input checks: constants
    refs = [tag.constant(r) for r in refs]
    krefs = {k: tag.constant(r) for k, r in krefs.items()}
    if not isinstance(out, _RESULTS):
        raise StagingError(
            f"{_name(fn)} of a value being compiled returned a {type(out).__name__}; dd.compile "
            f"records only functions that return an array or a number, so this cannot be compiled")
    return tag._node(fn, None, tuple(refs), krefs, out, _name(fn))


def _name(fn: Any) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    module = getattr(fn, "__module__", None)
    if isinstance(fn, np.ufunc) or (module or "").startswith("numpy"):
        return f"numpy.{name}"
    return name


# ndarray methods a staged value records as calls (pure ones only: a method that writes into
# the array would corrupt the recording's value).
_METHODS = ("astype", "copy", "max", "min", "any", "all", "argmax", "argmin", "item", "prod",
            "cumsum", "clip", "round", "conj", "conjugate", "std", "var", "squeeze", "repeat",
            "take", "diagonal", "trace", "nonzero")
_METHOD_CALLERS: Dict[str, Callable[..., Any]] = {}
_VIEW_METHODS = {"squeeze": "view", "diagonal": "read-only"}


def _method(name: str) -> Callable[..., Any]:
    fn = _METHOD_CALLERS.get(name)
    if fn is None:
        def fn(x, *args, **kwargs):
            return getattr(np.asarray(x) if not isinstance(x, (np.ndarray, np.generic)) else x,
                           name)(*args, **kwargs)
        fn.__name__ = f"ndarray.{name}"
        _METHOD_CALLERS[name] = fn
    return fn


_ATTRS = {"real": operator.attrgetter("real"), "imag": operator.attrgetter("imag")}
for _k, _f in _ATTRS.items():
    try:
        _f.__name__ = f"ndarray.{_k}"  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - attrgetter may refuse attributes
        pass


def _float_eq(a: Any, b: Any) -> bool:
    """Equal as the compiled code needs: same number, same sign of zero, nan equals nan."""
    if a != a:
        return b != b
    return a == b and (a != 0 or math.copysign(1.0, a) == math.copysign(1.0, b))


class Staged(Traced):
    """A value being recorded by ``dd.compile``: this call's concrete value and its graph node.

    Every operator and numpy function with a rule records a primitive node; numpy functions
    without one record a plain call; ``bool``/``float``/``int``/``index`` record guards.
    """

    __slots__ = ("primal", "node", "tag", "_fresh")
    primal: Any
    node: Node
    tag: StagingTag
    _fresh: bool  # see Traced._fresh: a simplified x * 1.0, -(-x), recorded as x's node
    _recorded = 1  # see Traced._recorded: the graph holds each value it computed

    def __repr__(self) -> str:
        return f"Staged({self.node.label} #{self.node.id}, shape={np.shape(self.primal)})"

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self.primal)

    # -- values read as Python numbers: guarded ------------------------------------------------
    def _read(self, kind: str, convert: Callable[[Any], Any]) -> Any:
        if not self.tag.active:
            raise leaked_error(self.tag, f"in {kind}()")
        value = convert(self.primal)
        self.tag.guard(self, kind, value)
        return value

    def __bool__(self) -> bool:
        return self._read("bool", bool)

    def __float__(self) -> float:
        return self._read("float", float)

    def __int__(self) -> int:
        return self._read("int", int)

    def __index__(self) -> int:
        return self._read("index", operator.index)

    def __complex__(self) -> complex:
        return self._read("complex", complex)

    def __array__(self, dtype=None, copy=None):
        raise StagingError(
            "np.asarray/np.array of a value being compiled would bake this call's value into "
            "the compiled code. Use dualdiff's or numpy's functions on it (they are recorded); "
            "if this comes from inside a dualdiff rule, that rule is not compilable yet: "
            "call the function without dd.compile")

    # -- comparisons: recorded calls (the surface's Dual/Var comparisons land here too) --------
    def __lt__(self, other): return call(np.less, self, other)
    def __le__(self, other): return call(np.less_equal, self, other)
    def __gt__(self, other): return call(np.greater, self, other)
    def __ge__(self, other): return call(np.greater_equal, self, other)
    def __eq__(self, other): return call(np.equal, self, other)  # type: ignore[override]
    def __ne__(self, other): return call(np.not_equal, self, other)  # type: ignore[override]
    __hash__ = None  # type: ignore[assignment]

    def __invert__(self): return call(np.invert, self)
    def __and__(self, other): return call(np.bitwise_and, self, other)
    def __rand__(self, other): return call(np.bitwise_and, other, self)
    def __or__(self, other): return call(np.bitwise_or, self, other)
    def __ror__(self, other): return call(np.bitwise_or, other, self)

    def __getattr__(self, name: str) -> Any:
        if name in _ATTRS:
            return call(_ATTRS[name], self)
        if name in _METHODS:
            fn = _method(name)
            return lambda *args, **kwargs: call(fn, self, *args, **kwargs)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (dd.compile "
                             f"records the ndarray methods {', '.join(_METHODS)})")

    # -- numpy's protocols ---------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "at":  # (it returns None: recorded as a call, it said only that)
            raise TypeError(f"{_ufunc_name(ufunc)}.at has no dualdiff rule; {_UFUNC_METHODS['at']}")
        if kwargs.get("out") is not None:
            raise StagingError(f"numpy.{ufunc.__name__} with out= writes into an array; "
                               f"dd.compile cannot record that, assign the result instead")
        stack = _dispatching()
        rule = UFUNC_RULES.get(ufunc) if method == "__call__" and not kwargs else None
        # A rule that calls the same ufunc again on the same values (the surface's comparisons
        # strip derivative tags and call numpy) is asking for the plain value: record a call.
        if rule is not None and not (stack and stack[-1] is ufunc):
            stack.append(ufunc)
            try:
                return rule(*inputs)
            finally:
                stack.pop()
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return call(fn, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        stack = _dispatching()
        rule = FUNCTION_RULES.get(func)
        if rule is not None and not (stack and stack[-1] is func):
            stack.append(func)
            try:
                return Traced.__array_function__(self, func, types, args, kwargs)  # (the rule)
            finally:
                stack.pop()
        return call(func, *args, **kwargs)


register_traced(Staged, derivative=False)


def _recorded_method(name: str) -> Callable[..., Any]:
    def method(self, *args, **kwargs):
        out = call(_method(name), self, *args, **kwargs)
        # Where numpy returns x itself (x.astype(x.dtype, copy=False), x.conj() of a real x) so
        # does the recording: a later write into the result (y += v) then rebinds x, as in numpy.
        if type(out) is Staged and out.primal is self.primal:
            return self
        if name in _VIEW_METHODS:  # numpy's views of x, as Traced's own methods (surface._follow)
            return _follow(self, out, lambda s: getattr(s, name)(*args, **kwargs), f"x.{name}()",
                           _VIEW_METHODS[name])
        return out
    method.__name__ = name
    return method


# Traced gives Duals and Vars ndarray methods that keep their derivative (astype, copy, repeat,
# ...). A staged value carries none, so on it the same names record the plain ndarray method.
for _method_name in _METHODS:
    if _method_name in vars(Traced):
        setattr(Staged, _method_name, _recorded_method(_method_name))
_new = object.__new__


def _staged(value: Any, node: Node, tag: StagingTag, fresh: bool = False) -> Staged:
    s = _new(Staged)
    s.primal = value
    s.node = node
    s.tag = tag
    s._fresh = fresh
    return s


def is_staged(x: Any) -> bool:
    """True for a value being recorded by dd.compile."""
    return type(x) is Staged
