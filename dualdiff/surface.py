"""The operator surface shared by ``Dual`` and the tape's ``Var``.

:class:`Traced` gives a traced type every Python operator, the ndarray-like attributes, and
numpy's two dispatch protocols, each forwarding to a function of :mod:`dualdiff.rules`. A
subclass supplies only ``primal`` and ``tag``. Because both modes share this one class, a user
function runs unchanged under either: ``A @ x`` with a plain ndarray ``A``, ``np.sin(x)``,
``x[1:3]``, ``np.stack([...])``.

Anything that would silently drop the derivative raises a ``TypeError`` that says what to use:
``float(x)`` (and so ``math.sin(x)``), ``np.asarray(x)``, a numpy function with no rule. Which
dualdiff function each numpy name lands in is :mod:`dualdiff.numpy_dispatch`'s.
"""

from __future__ import annotations

import dis
import inspect
import math
import operator
import re
import sys
import weakref
from typing import Any, Callable, Iterator, List, Optional

import numpy as np

from . import rules as F
from .rules import ufuncs as E
from .rules.indexing import GETITEM
from .buffers import owns_memory, tracked
from .primitives import (
    REFCOUNTS_EXACT, TRACED, _NO_PARAMS, bind1, bind2, concrete, is_complex, shape_of,
    stop_gradient,
)
from .numpy_dispatch import (  # noqa: F401 (the maps are read through this module too)
    FUNCTION_RULES, GUFUNC_KEYWORD_RULES, SUPPORT_PAGE, UFUNC_METHOD_RULES, UFUNC_RULES,
    UNSUPPORTED, UNSUPPORTED_IDIOMS, _check_reduction, _in_dtype, _np_clip, _np_max, _np_mean,
    _np_min, _np_prod, _np_ptp, _np_std, _np_sum, _np_take, _np_trace, _np_var, _reject, _squeeze,
    astype_as_numpy,
    _ufunc_outer, no_derivative, ravel_ordered, reshape_ordered, special_ufunc_rule,
)

__all__ = ["Traced", "UFUNC_RULES", "FUNCTION_RULES", "UFUNC_METHOD_RULES", "refuse_ndarray_names"]


def _into_out(ufunc: Any, rule: Callable, inputs: tuple, y: Any, where: Any) -> Any:
    """``ufunc(*inputs, out=y, where=where)`` into a traced y, as numpy: y's elements where
    ``where`` holds become the ufunc's values there (the ufunc runs on those elements alone, so
    neither its value nor its derivative is taken where it was not asked: a division where the
    divisor is 0, a log of 0), the others keep y's; y itself is returned, written."""
    if where is True:
        y[...] = rule(*inputs)
        return y
    mask = np.broadcast_to(np.asarray(stop_gradient(where), dtype=bool), shape_of(y))
    picked = [F.getitem(F.broadcast_to(a, shape_of(y)), (mask,)) if shape_of(a) != ()
              else a for a in inputs]
    y[mask] = rule(*picked)
    return y


def _qualname(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    if module.startswith("numpy._core") or module == "numpy.core":
        module = "numpy"  # np.sum lives in numpy._core.fromnumeric; users know it as numpy.sum
    return f"{module}.{func.__name__}"


def _ufunc_name(ufunc: Any) -> str:
    """numpy.sin for numpy's ufuncs; other libraries' (scipy.special.expit) named as theirs."""
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc:
        return f"numpy.{name}"
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, name, None) is ufunc:
        return f"scipy.special.{name}"
    return f"the ufunc {name} (not one of numpy's)"


#: What to write instead of a ufunc method (np.add.reduce, np.multiply.outer, ...).
_UFUNC_METHODS = {
    "reduce": "the reduce of add, multiply, maximum, minimum, logaddexp and logaddexp2 is "
              "supported; for others use "
              "the function form (np.sum, np.prod, np.max, dd.logsumexp, ...)",
    "accumulate": "add.accumulate and multiply.accumulate are supported (as np.cumsum and "
                  "np.cumprod), and logaddexp's and logaddexp2's",
    "outer": "broadcast instead: f(a[..., None], b) (every binary ufunc with a rule has .outer)",
    "at": "ufunc.at writes into its first argument in place; build the result instead: for "
          "np.add.at(a, idx, v) (repeated indices add up) write a + np.bincount(idx, weights=v, "
          "minlength=a.size) for a 1-d a, and where no index repeats, y[idx] = v on a traced y",
    "reduceat": "sum slices with np.sum over each slice",
}


def keyword_error(func: Any, name: str, error: TypeError) -> Optional[TypeError]:
    """Where calling numpy's ``func``'s rule raised ``error`` because it takes no keyword that
    numpy's takes (np.dot(a, b, out=c), np.repeat(a=x, repeats=2)), the TypeError that says
    so in numpy's terms; else None (the error is the rule's own)."""
    if error.__traceback__ is None or error.__traceback__.tb_next is not None:
        return None  # raised inside the rule, not in binding its arguments
    found = re.search(r"unexpected keyword argument '(\w+)'", str(error))
    if found is None:
        return None
    keyword = found.group(1)
    try:
        parameter = inspect.signature(func).parameters.get(keyword)
        if parameter is None:
            return None  # numpy takes no such keyword either: Python's message is numpy's
    except (TypeError, ValueError):  # (a C function without a signature: np.dot)
        parameter = None
    if keyword == "out":
        advice = "assign the result instead"
    elif parameter is not None and parameter.default is parameter.empty:
        advice = "pass that argument by position"
    else:
        advice = "leave it out, or call numpy on the plain values (x.primal)"
    return TypeError(f"{name}(..., {keyword}=...) on a traced value: dualdiff's rule for {name} "
                     f"takes no {keyword}=; {advice}. What is supported: {SUPPORT_PAGE}")


def _no_rule(func: Any, name: str) -> TypeError:
    instead = UNSUPPORTED.get(func)
    if instead is not None:
        return TypeError(f"{name} is not supported on dualdiff's traced values: {instead}. "
                         f"What is supported: {SUPPORT_PAGE}")
    return TypeError(
        f"{name} has no dualdiff rule, so its result would carry no derivative. Use dualdiff's "
        f"functions (dd.sum, dd.matmul, dd.stack, ...); the supported numpy functions and "
        f"methods are listed in {SUPPORT_PAGE}")


#: ndarray methods and attributes a traced value refuses, each with the reason and what to do.
#: Any other public ndarray name a Dual or Var lacks is refused the same way (``__getattr__``),
#: so code written for ndarrays meets dualdiff's explanation, never a bare AttributeError.
REFUSED_METHODS: "dict[str, str]" = {
    "resize": "resizes in place; use np.resize or x.reshape",
    "itemset": "writes in place; use index assignment y[idx] = v on a traced y",
    "view": "reinterprets memory, which has no derivative; use .astype for a dtype change",
    "tofile": "writes the plain value; use x.primal.tofile",
    "tobytes": "gives the plain value's bytes; use x.primal.tobytes",
    "dump": "pickles the plain value; use x.primal.dump",
    "dumps": "pickles the plain value; use x.primal.dumps",
    "setflags": "traced values have no memory flags; use x.primal for the plain array",
    "byteswap": "changes bytes, not values; use x.primal.byteswap",
    "newbyteorder": "changes bytes, not values; use x.primal",
    "getfield": "reinterprets memory; use x.primal.getfield",
    "setfield": "writes memory in place; use x.primal",
}


def _refused(name: str, owner: str) -> TypeError:
    why = REFUSED_METHODS.get(
        name, "it has no meaning for a traced value in dualdiff (a value with a derivative, "
              "not an array in memory)")
    return TypeError(
        f"ndarray.{name} is not available on a dualdiff {owner}: {why}. For the plain value "
        f"(no derivative) use .primal.{name}; what works on traced values is listed in "
        f"{SUPPORT_PAGE}")


#: The public names of numpy's ndarray, which a traced value lacking one answers with
#: dualdiff's explanation (see refuse_ndarray_names).
_NDARRAY_NAMES = frozenset(n for n in dir(np.ndarray) if not n.startswith("_"))


class _Refused:
    """A public ndarray name a traced type lacks: reading it raises dualdiff's explanation."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        raise _refused(self.name, type(obj).__name__)


def refuse_ndarray_names(cls: type) -> type:
    """Give the traced type ``cls`` a :class:`_Refused` for every public ndarray name it lacks.

    Attributes rather than ``__getattr__``: a class with ``__getattr__`` makes CPython read every
    attribute (``x.primal``, ``x.tag``) on its slow path, about 30 ns each, on every operation.
    Private names stay AttributeErrors (numpy and copy probe for them).
    """
    for name in sorted(_NDARRAY_NAMES | set(REFUSED_METHODS)):
        if not hasattr(cls, name):
            setattr(cls, name, _Refused(name))
    return cls


def plain_assignment_error(exc: BaseException) -> Optional[TypeError]:
    """dualdiff's error for ``y[i] = traced`` into a plain ndarray, given numpy's, else None.

    numpy stores one element by converting the value with float(); ours refuses, and numpy then
    replaces that refusal with its own "setting an array element with a sequence" (keeping ours
    only as the cause). The transforms call this to put the explanation back in front.
    """
    cause = exc.__cause__
    if (isinstance(exc, ValueError) and str(exc).startswith("setting an array element")
            and isinstance(cause, TypeError) and "would drop its derivative" in str(cause)):
        return TypeError(
            "assigning a Dual or tape variable into a plain numpy array (y = np.zeros(n); "
            "y[i] = x) would drop its derivative: build the array with dd.stack, or assign into "
            "a traced array instead (y = np.zeros_like(x); y[i] = ...), which dualdiff records; "
            f"see {SUPPORT_PAGE}")
    return None


def _operator(prim: Any, name: str, reflected: bool = False) -> Callable[[Any, Any], Any]:
    """The operator ``name`` (``x + y``, or ``y + x`` when reflected): ``bind2(prim, ...)``.

    A value of the operand's own tag, or a Python number, goes to the tag straight away, as
    bind2 would send it: on scalar code each operator is one call fewer.
    """
    if reflected:
        def op(self, other):
            tag = self.tag
            t = type(other)
            if (t is float or t is int or (t is type(self) and other.tag is tag)) and tag.active:
                return tag.process(prim, (other, self), _NO_PARAMS)
            return bind2(prim, other, self)
    else:
        def op(self, other):
            tag = self.tag
            t = type(other)
            if (t is float or t is int or (t is type(self) and other.tag is tag)) and tag.active:
                return tag.process(prim, (self, other), _NO_PARAMS)
            return bind2(prim, self, other)
    op.__name__ = op.__qualname__ = name
    return op


def _bitwise(ufunc: Any, sym: str, reflected: bool = False) -> Callable[..., Any]:
    """The operator ``x sym y`` (``~x`` for np.invert): numpy's ufunc on integer or boolean
    values, and for floating ones, which every differentiated value is (integer inputs become
    floats), a TypeError that says so."""
    def op(self, *other):
        if np.result_type(concrete(self)).kind in "biu":
            return ufunc(*other, self) if reflected else ufunc(self, *other)
        raise TypeError(
            f"the bitwise operator {sym} acts on the bits of integers and booleans, and a "
            f"{self._kind} holds floating values (integer inputs become floats to be "
            f"differentiated); for a mask combine comparisons, (x > 0) & (x < 1), and for the "
            f"plain value's bits use x.primal")
    op.__name__ = op.__qualname__ = f"__{'r' if reflected else ''}{ufunc.__name__}__"
    return op


def _writes_through_value(y: Any) -> bool:
    """Whether writing into the traced value y would, for numpy, change another live value too
    (:func:`_writes_through` of its array), unless some level of it is :attr:`Traced._fresh`."""
    x = y
    recorded = 0
    while type(x) in TRACED:
        if x._fresh:
            return False
        recorded |= x._recorded
        x = x.primal
    return _writes_through(x, recorded, y)


def _held_by_views(y: Any, base: Any) -> int:
    """How many arrays of y's views (see _take_view; theirs too) hold ``base``: each is a view of
    y's memory that the write remakes, so it is no other live value numpy would write into."""
    arrays = set()
    todo = [y]
    while todo:
        for view in _live_views(todo.pop()):
            todo.append(view)
            plain = concrete(view)
            if type(plain) is np.ndarray and plain.base is base:
                arrays.add(id(plain))
    return len(arrays)


def _writes_through(plain: Any, recorded: int = 0, owner: Any = None) -> bool:
    """Whether writing into ``plain`` would, for numpy, change another live value too.

    ``plain`` is a traced value's array (:func:`concrete`). A view (``x[1:]``, ``x.T``) shares its base's memory;
    when the base is held by nothing but the view (the value it came from is gone), nobody can
    see the write. Without exact reference counts every view counts as writing through.
    ``recorded`` is 1 for a value dd.compile records, whose graph holds one more reference to
    every value it computed (``h = (W @ x).T; h[0] = v`` then takes the write as in eager mode).
    ``owner``: the traced value written into, whose own views hold the base too (the write
    remakes them: _refresh), as for x = np.arange(6.0).reshape(2, 3); a = x[0]; x[0] = v.
    """
    if type(plain) is not np.ndarray or owns_memory(plain):
        return False
    # The base's holders when nothing else has it: the view, the local `base`, the argument
    # (and the buffer pool, which holds large arrays for reuse: dualdiff.buffers; and while
    # dd.compile records, the graph node whose value it is: ``recorded``).
    base = plain.base
    held = 0 if owner is None else _held_by_views(owner, base)
    return not REFCOUNTS_EXACT or sys.getrefcount(base) > 3 + tracked(base) + recorded + held


def _inplace(refs: int, y: Any, new: Any, sym: str) -> Any:
    """What ``y op= v`` leaves in y: ``new = y op v``, written into y as numpy writes in place.

    For an array y, numpy keeps y's shape and dtype (v must broadcast to y; the result is cast
    with 'same_kind' casting) and every name bound to y sees the new value. A traced value
    cannot be written in memory, so y takes the new value and derivative (``_become``). Where
    numpy would also write through y into another live value (y a view of it), this is refused
    rather than leaving that value unchanged, except in ``z[idx] op= v``, whose own assignment
    writes the result back into z. ``refs`` is y's reference count in the operator: 3 when y is the temporary of
    ``z[idx] op= v`` (the interpreter's stack, the parameter, getrefcount's argument), 4 when y
    is one name and nothing else holds it (then rebinding the name is all numpy's write shows).
    """
    y_shape = shape_of(y)
    if not y_shape:
        if type(concrete(y)) is not np.ndarray:
            # numpy's 0-d results (x[0], x.sum()) are scalars, which are immutable: there
            # y op= v rebinds y (and may broadcast), so it does here.
            return new
        if shape_of(new) == () and type(concrete(new)) is not np.ndarray:
            # a 0-d array (an argument, x[..., 0]) is written in place and stays an array
            new = F.reshape(new, ())
    new_shape = shape_of(new)
    if new_shape != y_shape:
        raise ValueError(
            f"y {sym}= v writes the result into y, so it must keep y's shape {y_shape}, but y "
            f"{sym} v has shape {new_shape} (as numpy: the output operand does not broadcast). "
            f"Write y = y {sym} v for the broadcast result")
    y_plain, new_plain = stop_gradient(y), stop_gradient(new)
    if type(y_plain) is not float or type(new_plain) is not float:  # (Python floats: same dtype)
        y_dtype, new_dtype = np.result_type(y_plain), np.result_type(new_plain)
        if new_dtype != y_dtype:
            if not np.can_cast(new_dtype, y_dtype, "same_kind"):
                raise TypeError(
                    f"y {sym}= v writes the result into y, whose dtype is {y_dtype}, but y {sym} "
                    f"v is {new_dtype}, which numpy does not cast into it ('same_kind' casting). "
                    f"Write y = y {sym} v for the {new_dtype} result")
            new = new.astype(y_dtype) if isinstance(new, Traced) else np.asarray(new, y_dtype)
    if type(new) is not type(y) or new.tag is not y.tag:
        # A plain result (y //= v has no derivative) or one carrying an inner transformation's
        # derivative: y cannot hold it, so the name is rebound, as Python does without __iop__.
        return new
    source = _source_of(y)
    if refs > 3 and _writable(source):
        # a view taken by basic indexing (v = z[1:]; v *= 2): written into z, as numpy writes
        # (not z[1:] *= 2, whose own assignment writes into z next)
        _put(source[0], source[1], new)
        return y
    # Without exact counts (CPython 3.14+) a temporary cannot be told from a name: y takes the
    # value, and a write numpy would pass through a view into its base goes undetected.
    through = REFCOUNTS_EXACT and _writes_through_value(y)
    if REFCOUNTS_EXACT and refs <= 4 and not through and _stored_back(sys._getframe(2)):
        return new  # nothing else holds y: rebinding the name is all that numpy's write shows
    if refs > 3 and through:
        raise TypeError(
            f"y {sym}= v on a {type(y).__name__} that is a view of another value (made by "
            f"slicing, reshape, .T, ...): numpy would write through to that value too, which a "
            f"traced value cannot. Write y = y {sym} v (y alone changes), z[idx] {sym}= v on the "
            f"value itself, or y = y.copy() first")
    y._become(new, f"y {sym}= v")
    _refresh(y)
    return y


def _stored_back(frame: Any) -> bool:
    """Whether the caller runs ``y op= v`` (whose result Python stores in y), not a call such as
    operator.iadd(y, v) or functools.reduce(operator.iadd, ...), after which only y holds it."""
    return dis.opname[frame.f_code.co_code[frame.f_lasti]].startswith(("BINARY_OP", "INPLACE_"))


def _inplace_operator(binary: Callable[[Any, Any], Any], sym: str, name: str
                      ) -> Callable[[Any, Any], Any]:
    """The operator ``y op= v``: ``binary(y, v)``, kept in y as numpy would (:func:`_inplace`)."""
    def op(self, other):
        # Counted before binary(), which may record self; 3 = the caller's stack, self, the argument.
        refs = getrefcount(self)
        new = binary(self, other)
        if type(self.primal) in _SCALAR_PRIMALS:
            return new  # a scalar: immutable in numpy too (the scalar loop's acc += t stays cheap)
        return _inplace(refs, self, new, sym)
    op.__name__ = op.__qualname__ = name
    return op


_SCALAR_PRIMALS = frozenset({float, int, complex})
#: The values of x[i] that are numbers (numpy's scalars: copies, never views).
_NUMBERS = frozenset({float, complex, np.float64, np.float32, np.float16, np.complex128,
                      np.complex64, np.longdouble, np.clongdouble})
_np_put_any: Any = np.put  # (its stubs take ndarrays only: a traced value dispatches to dualdiff)
getrefcount = sys.getrefcount


# -- views: what numpy's basic indexing shares ---------------------------------------------------
#
# numpy's x[1:] (a basic index whose result is an array) is a view: it shares x's memory, so a
# later write into x shows in it and a write into it shows in x. A traced value cannot share
# memory (a write records a new value and rebinds the object: Traced._become), so the view is
# kept as a recipe instead: the view holds (x, idx), as numpy's holds its base, and the tag of
# the computation (Tag.views) holds a weak reference to it. A write into x makes each view of x
# still alive that the write reaches x[idx] again (recorded, derivative and all); a write into
# the view is written into x[idx]. Taking a view costs a weak reference, a tuple and an append;
# a write looks through the computation's live views.

_weakref = weakref.ref


class _Refs(list):
    """A computation's weak references to its views (Tag.views); the dead are dropped when
    there are ``limit``."""

    __slots__ = ("limit",)
    limit: int


class _Recipe:
    """How a view that is not a basic index (a reshape of one, after ``x.shape = s``) is made
    again from its source, ``fn(source)``, and how a value is written into it,
    ``put(source, value)`` (None: a write into the view is refused)."""

    __slots__ = ("fn", "put")

    def __init__(self, fn: Callable[[Any], Any], put: Optional[Callable[[Any, Any], None]]):
        self.fn = fn
        self.put = put


def _remake(source: Any, how: Any) -> Any:
    """The view ``how`` (an index, or a :class:`_Recipe`) of ``source``, recorded anew."""
    return how.fn(source) if type(how) is _Recipe else F.getitem(source, how)


def _writable(source: Any) -> bool:
    """Whether a write into the view ``source`` (see _source_of) can be written into its source."""
    return source is not None and (type(source[1]) is not _Recipe or source[1].put is not None)


def _put(source: Any, how: Any, value: Any) -> None:
    """Write ``value`` into the view ``how`` of ``source``: numpy's write into a view."""
    if type(how) is _Recipe:
        put = how.put
        if put is not None:  # (see _writable)
            put(source, value)
    else:
        source[how] = value


def _take_view(source: Any, view: Any, how: Any) -> None:
    """Record that ``view`` is numpy's view ``source[how]`` (see above)."""
    t = type(how)
    view._source = (source, how, _row(source, how) if t is int or t is tuple else None)
    tag = source.tag
    refs = tag.views
    if refs is None:
        refs = tag.views = _Refs()
        refs.limit = 64
    refs.append(_weakref(view))
    if len(refs) >= refs.limit:  # (x[i] in a loop: the dead are dropped, amortised)
        refs[:] = [r for r in refs if r() is not None]
        refs.limit = 2 * len(refs) + 64


def _row(source: Any, how: Any) -> Optional[int]:
    """The position of the first axis an index starts with (x[i], x[i, 1:]), else None."""
    i = how if type(how) is int else how[0] if type(how) is tuple and how else None
    if type(i) is not int:
        return None
    return i + shape_of(source)[0] if i < 0 else i


def _is_view_index(idx: Any, out: Any) -> bool:
    """Whether numpy's x[idx] is a view: a basic index (ints, slices, None, Ellipsis) unless
    integers index every axis (a scalar: a copy). ``out`` is the result."""
    if type(idx) is not tuple:
        idx = (idx,)
    ints = True
    for i in idx:
        t = type(i)
        if t is slice or i is None or i is Ellipsis:
            ints = False
        elif t is bool or not (t is int or isinstance(i, np.integer)):
            return False  # an advanced index (an array, a list, a bool): numpy copies
    return not ints or bool(shape_of(out))


def _source_of(y: Any) -> Any:
    """``(source, how, views)`` for a view (see _take_view), else None."""
    try:
        return y._source
    except AttributeError:
        return None


def _live_views(source: Any, where: Any = None) -> List[Any]:
    """The views of ``source`` still alive (see _take_view); with ``where``, an index written,
    not those of another row (first-axis position) than where's."""
    refs = getattr(source.tag, "views", None)
    if not refs:
        return []
    row = None if where is None else _row(source, where)
    found = []
    for ref in refs:
        view = ref()
        if view is not None:
            made = view._source
            if made[0] is source and (row is None or made[2] is None or made[2] == row):
                found.append(view)
    return found


def _refresh(source: Any, where: Any = None) -> None:
    """After a write into ``source`` (into ``source[where]``; None: all of it): each of its views
    still alive that the write reaches becomes its view again. One it does not reach keeps its
    value and derivative, which are the new source's there (index_update passes them on): rows
    kept in a list while the matrix is written row by row cost one remake each, not one per
    write."""
    for view in _live_views(source, where):
        how = view._source[1]
        if where is not None and not _overlap(shape_of(source), where, how):
            continue
        view._become(_remake(source, how), "a view of a value written into")
        _refresh(view)


_PLACES: "dict[tuple, np.ndarray]" = {}


def _overlap(shape: tuple, where: Any, how: Any) -> bool:
    """Whether the write ``x[where] = v`` may reach the view ``how`` of x (shape ``shape``): asked
    of numpy, on a stand-in array of x's shape whose memory is never read. True where numpy's
    index copies (an advanced one) or the answer is unsure."""
    places = _PLACES.get(shape)
    if places is None:
        if len(_PLACES) >= 8:
            _PLACES.clear()
        places = _PLACES[shape] = np.empty(shape, np.uint8)
    written, seen = _place(places, where), _place(places, how)
    return written is None or seen is None or np.may_share_memory(written, seen)


def _place(places: np.ndarray, how: Any) -> Optional[np.ndarray]:
    """``places[how]`` (an index, or a view's recipe) as a view of ``places``, else None."""
    try:
        if type(how) is _Recipe:
            part = how.fn(places)
        else:
            part = places[how]
            if type(part) is not np.ndarray:  # one element: numpy's scalar, a view with ...
                part = places[(how if type(how) is tuple else (how,)) + (Ellipsis,)]
    except Exception:  # (a recipe numpy takes otherwise on uint8: unsure)
        return None
    if type(part) is not np.ndarray or not np.may_share_memory(part, places):
        return None
    return part


def _shares_memory(out: Any, source: Any) -> bool:
    """Whether the traced ``out`` holds a view of the traced ``source``'s memory (numpy keeps
    a view's base as the array that owns the memory)."""
    o, x = concrete(out), concrete(source)
    if type(o) is not np.ndarray or type(x) is not np.ndarray or o is x:
        return False
    base = o.base
    return base is not None and (base is x or base is x.base)


def _read_only(what: str) -> Callable[[Any, Any], None]:
    def put(source: Any, value: Any) -> None:
        raise ValueError(f"assignment destination is read-only: {what} is a read-only view, "
                         f"as numpy's; take .copy() to write into it")
    return put


def _follow(source: Any, out: Any, make: Callable[[Any], Any], what: str,
            kind: str = "view") -> Any:
    """``out = make(source)`` made otherwise than by indexing (x.T, x.reshape(...), np.flip(x),
    the pieces of np.split, ...) is numpy's view of source: it follows writes into source, and a
    write into it is written into source's elements, as numpy's view. ``make`` works on traced
    and plain arrays alike: applied to source's positions (an arange) it says which element of
    source each of out's is. ``kind``: "view" (numpy always gives a view), "maybe" (a reshape:
    a view where out shares source's memory, as numpy decides), "read-only" (numpy's view
    refuses writes: np.broadcast_to, np.diagonal), "part" (the real or imaginary part of a
    complex source: written as z = ...). Returns out."""
    if type(out) in (list, tuple):
        for i, piece in enumerate(out):
            _follow(source, piece, _piece(make, i), what, kind)
        return out
    if not isinstance(source, Traced) or not isinstance(out, Traced) or out is source             or (kind == "maybe" and not _shares_memory(out, source)):
        return out

    def write(s: Any, value: Any) -> None:
        shape = shape_of(s)
        where = make(np.arange(math.prod(shape)).reshape(shape))
        s[...] = F.reshape(F.index_update(F.reshape(s, (-1,)), where, value), shape)
    put: Callable[[Any, Any], None] = write
    if kind == "read-only":
        put = _read_only(what)
    elif kind == "part":
        put = _part_write(what)
    _take_view(source, out, _Recipe(make, put))
    return out


def _piece(make: Callable[[Any], Any], i: int) -> Callable[[Any], Any]:
    """The i-th of the pieces ``make`` gives (np.split)."""
    return lambda s: make(s)[i]


def _part_write(what: str) -> Callable[[Any, Any], None]:
    def put(source: Any, value: Any) -> None:
        raise TypeError(f"a write into {what} writes part of a complex value in place, which a "
                        f"traced value does not do: write z = v + 1j * z.imag (or "
                        f"z.real + 1j * v), which dualdiff differentiates")
    return put


def refuse_writes(x: Any, why: str) -> None:
    """Make a write into the traced value ``x`` (x[idx] = v, x op= v, x.sort(), and through its
    views) a TypeError that says ``why``: for an argument whose memory another argument shares,
    where numpy's write would show in both."""
    def put(source: Any, value: Any) -> None:
        raise TypeError(why)
    x._source = (None, _Recipe(lambda s: s, put), None)


def _transposed(s: Any) -> Any:
    return s.T


def _matrix_transposed(s: Any) -> Any:
    return s.mT


def _real(s: Any) -> Any:
    return s.real


def _imag(s: Any) -> Any:
    return s.imag


def _reshaped_in_place(x: Any, old: tuple, new: tuple) -> None:
    """``x.shape = new`` keeps x's views, and x's tie to its own source, as numpy's memory does:
    the recipes now go through the old shape (and no longer start with a row of x)."""
    source = _source_of(x)
    if source is not None:
        src, how, _ = source
        x._source = (src, _Recipe(lambda s: F.reshape(_remake(s, how), new),
                                  lambda s, v: _put(s, how, F.reshape(v, old))), None)
    for view in _live_views(x):  # (names apart from the lambdas' above, which they close over)
        made = view._source[1]
        view._source = (x, _through_old_shape(made, old, new), None)


def _through_old_shape(how: Any, old: tuple, new: tuple) -> _Recipe:
    """The recipe of a view ``how`` of x once x.shape = new (it was ``old``)."""
    def remake(s: Any) -> Any:
        return _remake(F.reshape(s, old), how)

    def put(s: Any, value: Any) -> None:
        s[...] = F.reshape(F.index_update(F.reshape(s, old), how, value), new)
    return _Recipe(remake, None if type(how) is _Recipe else put)



# Who asked for the plain array, and what to write instead: (module prefix, the function names
# that match, None for any; the advice, {fn} the function's name). Read only when a conversion is
# refused, so it costs nothing otherwise.
_CONVERSION_ADVICE = (
    ("scipy.special._logsumexp", ("logsumexp", "softmax", "log_softmax"),
     "scipy.special.{fn} makes its input a plain array: call dd.special.{fn} instead (scipy's "
     "arguments and defaults; from dualdiff import special in place of from scipy import "
     "special)"),
    ("scipy.", None,
     "scipy's functions make their inputs plain arrays. scipy.special's ufuncs work on traced "
     "values (see dd.special), and so do np.linalg's functions (np.linalg.solve(L, b) in place "
     "of scipy.linalg's solve_triangular or cho_solve, np.linalg.cholesky of cho_factor); otherwise compute with numpy functions, which dualdiff "
     "differentiates, or call scipy outside the differentiated function"),
    ("numpy._core.numeric", ("full",),
     "np.full(shape, v) with a traced v: write v * np.ones(shape)"),
    ("numpy.lib._index_tricks_impl", ("fill_diagonal",),
     "np.fill_diagonal writes into a plain array, which cannot hold a derivative: fill a traced "
     "array instead (y = x * 0.0, or y = x.copy(); np.fill_diagonal(y, v))"),
    ("numpy.lib._index_tricks_impl", ("__getitem__",),
     "np.r_ and np.c_ build plain arrays: use np.concatenate, np.stack or np.column_stack"),
    ("numpy.lib._function_base_impl", ("_vectorize_call",),
     "np.vectorize calls its function on plain numbers: write the function with numpy's array "
     "operations (np.where for branches), which dualdiff differentiates"),
    ("numpy.polynomial", None,
     "numpy.polynomial makes its coefficients plain arrays: use np.polyval, np.polyder, "
     "np.polyint or np.polyfit (coefficients highest degree first), which dualdiff "
     "differentiates"),
)
_GENERIC_ADVICE = ("A traced value already acts as an array: drop np.asarray/np.array around it; "
                   "build an array from several values with dd.stack (np.stack works too), and "
                   "take .primal for the plain value alone")


_LIBRARIES = ("numpy.", "scipy.", "dualdiff.")
_STORE_SUBSCR = dis.opmap["STORE_SUBSCR"]
_ASSIGNMENT_ADVICE = ("Assigning it into a plain numpy array (y = np.zeros(n); y[i:j] = x) "
                      "cannot hold its derivative: build the array with dd.stack or "
                      "np.concatenate, or assign into a traced array instead "
                      "(y = np.zeros_like(x); y[i:j] = ...), which dualdiff records")


def _conversion_hint(frame: Any) -> str:
    """What to write instead of the call that asked for a plain array, from the callers' frames
    (the most specific advice any of them matches: scipy's logsumexp asks through a helper)."""
    callers = []
    for _ in range(12):
        if frame is None:
            break
        module = frame.f_globals.get("__name__", "")
        callers.append((module, frame.f_code.co_name))
        if not module.startswith(_LIBRARIES):  # the user's own call: the ones above it did not ask
            if frame.f_code.co_code[frame.f_lasti] == _STORE_SUBSCR:  # y[1:] = x, y a plain array
                return _ASSIGNMENT_ADVICE
            break
        frame = frame.f_back
    for prefix, names, advice in _CONVERSION_ADVICE:
        for module, name in callers:
            if module.startswith(prefix) and (names is None or name in names):
                return advice.format(fn=name)
    return _GENERIC_ADVICE


#: The keywords of a generalized ufunc that GUFUNC_KEYWORD_RULES read (np.matmul(..., axes=)).
_GUFUNC_KEYWORDS = frozenset(("axes", "axis", "keepdims"))


class Traced:
    """Operators, ndarray attributes and numpy dispatch for a type with ``primal`` and ``tag``."""

    #: ``(source, idx, row)`` on a view taken by basic indexing (x[0] of a matrix, x[1:]; row:
    #: the first-axis position idx starts with, or None), unset on other values: the view
    #: follows later writes into the source, and a write into it reaches the source, as
    #: numpy's (see _take_view). __weakref__: the computation's tag refers to its views weakly.
    __slots__ = ("_source", "__weakref__")
    primal: Any  # supplied by the subclass's slots
    tag: Any
    #: A value in new memory in eager mode that shares its argument's (dd.compile keeps x * 1.0
    #: as x's node): a write into it (y += v, y[i] = v) writes through to nothing.
    _fresh = False
    #: 1 for dd.compile's staged values, whose arrays the recorded graph also holds.
    _recorded = 0

    @property
    def _kind(self) -> str:
        """What the messages call this value: its class's name (a LazyVar is a Var to the user)."""
        return getattr(type(self), "kind_name", type(self).__name__)

    # -- what the value looks like ----------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The primal's shape."""
        return shape_of(self.primal)

    @shape.setter
    def shape(self, shape: Any) -> None:
        # numpy's x.shape = s reshapes x in place (every name bound to x sees it): x becomes
        # its reshape, as x.sort() becomes its sort
        old = self.shape
        self._become(F.reshape(self, shape), "x.shape = s")
        _reshaped_in_place(self, old, self.shape)

    @property
    def ndim(self) -> int:
        """The primal's number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The primal's number of elements."""
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype:
        """The primal's dtype."""
        return np.result_type(stop_gradient(self))

    @property
    def itemsize(self) -> int:
        """The bytes of one element of the primal (its dtype's itemsize)."""
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """The bytes of the primal's elements (size · itemsize), as for an ndarray: what the
        value takes, not what its derivative adds."""
        return self.size * self.itemsize

    def __len__(self) -> int:
        """The length of the first axis (a TypeError for 0-d values, as for ndarrays)."""
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d (scalar) value")
        return shape[0]

    def __iter__(self) -> Iterator[Any]:
        """The rows along the first axis, each a traced value."""
        shape = self.shape
        if not shape:
            raise TypeError("iteration over a 0-d (scalar) value")
        getitem = GETITEM  # the index is a plain int: skip getitem()'s checks
        views = len(shape) > 1  # (numpy's rows of a matrix are views of it)
        for i in range(shape[0]):
            row = bind1(getitem, self, {"idx": (i,)})
            if views:
                _take_view(self, row, i)
            yield row

    # -- arithmetic -------------------------------------------------------------------------
    __add__, __radd__ = _operator(E.ADD, "__add__"), _operator(E.ADD, "__radd__", True)
    __sub__, __rsub__ = _operator(E.SUB, "__sub__"), _operator(E.SUB, "__rsub__", True)
    __mul__, __rmul__ = _operator(E.MUL, "__mul__"), _operator(E.MUL, "__rmul__", True)
    __truediv__ = _operator(E.DIV, "__truediv__")
    __rtruediv__ = _operator(E.DIV, "__rtruediv__", True)
    def __pow__(self, other): return bind2(E.POW, self, other)
    def __rpow__(self, other): return bind2(E.POW, other, self)
    def __matmul__(self, other): return F.matmul(self, other)
    def __rmatmul__(self, other): return F.matmul(other, self)
    def __floordiv__(self, other):
        """x // y: piecewise constant, so plain values (no derivative), as np.floor_divide."""
        return np.floor_divide(stop_gradient(self), stop_gradient(other))

    def __rfloordiv__(self, other):
        return np.floor_divide(stop_gradient(other), stop_gradient(self))

    def __divmod__(self, other):
        """divmod(x, y) = (x // y, x % y), as for ndarrays: the quotient plain, the remainder traced."""
        return self // other, np.remainder(self, other)

    def __rdivmod__(self, other):
        return other // self, np.remainder(other, self)

    def __neg__(self): return bind1(E.NEG, self)
    def __pos__(self): return F.positive(self)
    def __abs__(self): return F.abs(self)

    # -- bitwise operators: numpy's on integer and boolean values (dd.compile records masks),
    # -- refused in words on floating ones (Python's "unsupported operand type(s)" said no more)
    __and__, __rand__ = _bitwise(np.bitwise_and, "&"), _bitwise(np.bitwise_and, "&", True)
    __or__, __ror__ = _bitwise(np.bitwise_or, "|"), _bitwise(np.bitwise_or, "|", True)
    __xor__, __rxor__ = _bitwise(np.bitwise_xor, "^"), _bitwise(np.bitwise_xor, "^", True)
    __lshift__, __rlshift__ = _bitwise(np.left_shift, "<<"), _bitwise(np.left_shift, "<<", True)
    __rshift__, __rrshift__ = _bitwise(np.right_shift, ">>"), _bitwise(np.right_shift, ">>", True)
    __invert__ = _bitwise(np.invert, "~")

    # -- comparisons: on values, returning plain booleans ------------------------------------
    def __lt__(self, other): return np.less(stop_gradient(self), stop_gradient(other))
    def __le__(self, other): return np.less_equal(stop_gradient(self), stop_gradient(other))
    def __gt__(self, other): return np.greater(stop_gradient(self), stop_gradient(other))
    def __ge__(self, other): return np.greater_equal(stop_gradient(self), stop_gradient(other))
    def __eq__(self, other): return np.equal(stop_gradient(self), stop_gradient(other))
    def __ne__(self, other): return np.not_equal(stop_gradient(self), stop_gradient(other))
    def __hash__(self):
        # == is elementwise, as for ndarrays, so a traced value is no dict key or set member;
        # said here rather than by Python's "unhashable type" (which is what numpy says too).
        raise TypeError(
            f"a {self._kind} cannot be a dict key or a set member (its == compares "
            f"values elementwise, as an ndarray's does, and it carries a derivative); key by "
            f"something plain, such as an index or a name")

    def __bool__(self) -> bool:
        return bool(stop_gradient(self))

    # -- array-like methods -----------------------------------------------------------------
    def __getitem__(self, idx):
        """x[idx] with numpy's indexing (ints, slices, None, ..., integer and boolean arrays);
        a basic index's result follows later writes into x, and writes into it reach x, as
        numpy's view does."""
        out = F.getitem(self, idx)
        # (x[i] of a vector, scalar code's x1 and x2, is a number: told by its value's type)
        if type(idx) is slice or (type(out.primal) not in _NUMBERS and _is_view_index(idx, out)):
            _take_view(self, out, idx)
        return out

    def __setitem__(self, idx, value):
        """y[idx] = v: y's content becomes dd.index_update(y, idx, v), numpy's rules; every view
        of y follows, and into a view (x[1:][0] = v) x is written (into a view made otherwise,
        of a live value: refused)."""
        source = _source_of(self)
        if _writable(source):  # numpy writes into the base: so does this, which remakes self
            _put(source[0], source[1], F.index_update(self, idx, value))
            return
        if _writes_through_value(self):
            raise TypeError(
                f"y[...] = v on a {self._kind} that is a view of another value (made "
                f"by reshape, .T, ...): numpy would write through to that value too, "
                f"which a traced value cannot. Assign into a copy (y = x[...].copy()), or build "
                f"the result with dd.index_update(y, idx, v)")
        self._become(F.index_update(self, idx, value), "y[idx] = v")
        _refresh(self, idx)

    # -- in-place operators: y op= v, numpy's semantics (see _inplace) ----------------------
    __iadd__ = _inplace_operator(operator.add, "+", "__iadd__")
    __isub__ = _inplace_operator(operator.sub, "-", "__isub__")
    __imul__ = _inplace_operator(operator.mul, "*", "__imul__")
    __itruediv__ = _inplace_operator(operator.truediv, "/", "__itruediv__")
    __ifloordiv__ = _inplace_operator(operator.floordiv, "//", "__ifloordiv__")
    __imod__ = _inplace_operator(np.remainder, "%", "__imod__")
    __ipow__ = _inplace_operator(operator.pow, "**", "__ipow__")
    __imatmul__ = _inplace_operator(operator.matmul, "@", "__imatmul__")

    def _become(self, new: Any, what: str) -> None:
        """Make this object hold ``new``'s value and derivative: an in-place update of a traced value.

        Traced values are values, so an "in-place" operation records a new value and rebinds
        this object to it. Every name bound to this object sees the change, as with numpy; a
        value derived from it earlier (a slice, a reshape) keeps what it was, unlike a numpy view.
        """
        if type(new) is not type(self) or new.tag is not self.tag:
            raise TypeError(
                f"{what}: the result carries a derivative of another (inner) transformation, "
                f"which this {self._kind} cannot hold; use the functional form "
                f"(dd.index_update(y, idx, v), dd.sort(x)) and its returned value")
        slot: str
        for slot in type(self).__slots__:
            setattr(self, slot, getattr(new, slot))

    @property
    def T(self):
        """The axes reversed, as ndarray.T (a view: see __getitem__)."""
        return _follow(self, F.transpose(self), _transposed, "x.T")

    @property
    def mT(self):
        """Each matrix of a stack transposed (the last two axes swapped), as ndarray.mT."""
        return _follow(self, F.linalg.matrix_transpose(self), _matrix_transposed, "x.mT")

    def transpose(self, *axes):
        """The axes permuted (reversed by default), as ndarray.transpose."""
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            axes = axes[0]
        axes = axes or None
        return _follow(self, F.transpose(self, axes), lambda s: s.transpose(axes), "x.transpose()")

    def reshape(self, *shape, order="C"):
        """The elements in a new shape (C order, or ``order=`` 'F'/'A'), as ndarray.reshape."""
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        out = F.reshape(self, shape) if order == "C" else reshape_ordered(self, shape, order)
        return _follow(self, out, lambda s: s.reshape(shape, order=order), "x.reshape()", "maybe")

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        """The sum over ``axis``, as ndarray.sum."""
        if dtype is None and out is None and not kw:  # the common call, kept short
            return F.sum(self, axis=axis, keepdims=keepdims)
        return _np_sum(self, axis, dtype, out, keepdims, **kw)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        """The mean over ``axis``, as ndarray.mean."""
        if dtype is None and out is None and not kw:
            return F.mean(self, axis=axis, keepdims=keepdims)
        return _np_mean(self, axis, dtype, out, keepdims, **kw)

    def dot(self, other):
        """The dot product, as ndarray.dot."""
        return F.dot(self, other)

    def ravel(self, order="C"):
        """The elements as a 1-d value (C order, or ``order=`` 'F'/'A'/'K'), as ndarray.ravel."""
        return _follow(self, ravel_ordered(self, order), lambda s: s.ravel(order), "x.ravel()",
                       "maybe")

    def flatten(self, order="C"):
        """The elements as a 1-d value (C order, or ``order=`` 'F'/'A'/'K'), as ndarray.flatten."""
        return ravel_ordered(self, order)

    # -- ndarray methods of the reductions and elementwise family ----------------------------
    def max(self, axis=None, out=None, keepdims=False, initial=None, where=True):
        """As np.max: ties share the derivative equally."""
        return _np_max(self, axis, out, keepdims, initial, where)

    def min(self, axis=None, out=None, keepdims=False, initial=None, where=True):
        """As np.min: ties share the derivative equally."""
        return _np_min(self, axis, out, keepdims, initial, where)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
        """As np.prod: exact with zeros."""
        return _np_prod(self, axis, dtype, out, keepdims, initial, where)

    def cumsum(self, axis=None, dtype=None, out=None):
        """As np.cumsum."""
        _check_reduction("cumsum", dtype, out)
        return F.cumsum(_in_dtype("cumsum", self, dtype), axis)

    def cumprod(self, axis=None, dtype=None, out=None):
        """As np.cumprod: exact with zeros."""
        _check_reduction("cumprod", dtype, out)
        return F.cumprod(_in_dtype("cumprod", self, dtype), axis)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
        """As np.var (ddof)."""
        return _np_var(self, axis, dtype, out, ddof, keepdims, **kw)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
        """As np.std (ddof): derivative inf (nan) where all values are equal."""
        return _np_std(self, axis, dtype, out, ddof, keepdims, **kw)

    def ptp(self, axis=None, out=None, keepdims=False):
        """max - min, as np.ptp: ties share the derivative equally."""
        return _np_ptp(self, axis, out, keepdims)

    def clip(self, min=None, max=None, out=None, **kwargs):
        """As np.clip: on a bound, 1/2 to x and 1/2 to the bound."""
        return _np_clip(self, min, max, out, **kwargs)

    def trace(self, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        """The sum along a diagonal, as ndarray.trace."""
        return _np_trace(self, offset, axis1, axis2, dtype, out)

    def round(self, decimals=0, out=None):
        """The rounded value, plain: rounding is piecewise constant, so it has no derivative."""
        _check_reduction("round", out=out)
        return np.round(stop_gradient(self), decimals)

    def __mod__(self, other): return bind2(E.MOD, self, other)
    def __rmod__(self, other): return bind2(E.MOD, other, self)


    # -- ndarray methods of the shape, assembly, indexing and sorting family ------------------
    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        """x in another floating dtype (the derivative cast too); to integers or booleans, plain values (piecewise constant, no derivative)."""
        if np.dtype(dtype).kind in "biu":
            return stop_gradient(self).astype(dtype)
        return astype_as_numpy(self, dtype, copy)

    def copy(self, order="C"):
        """A new traced value with the same value and derivative (index assignment into it leaves x alone)."""
        return F.copy(self)

    def squeeze(self, axis=None):
        """x without its axes of length 1, as ndarray.squeeze."""
        return _follow(self, _squeeze(self, axis), lambda s: s.squeeze(axis), "x.squeeze()")

    def item(self, *args):
        """One element as a 0-d traced value (not a Python number, so the derivative is kept), as ndarray.item."""
        if not args:
            if self.size != 1:
                raise ValueError("can only convert an array of size 1 to a Python scalar")
            return F.reshape(self, ())
        if len(args) == 1 and isinstance(args[0], (int, np.integer)):
            return F.getitem(F.reshape(self, (-1,)), int(args[0]))
        return F.getitem(self, tuple(args[0]) if len(args) == 1 else args)

    def tolist(self):
        """Nested lists of 0-d traced values (each keeps its derivative), as ndarray.tolist."""
        if not self.shape:
            return self
        return [row.tolist() for row in self]

    def any(self, axis=None, keepdims=False):
        """Whether any value is nonzero (plain booleans), as ndarray.any."""
        return np.any(stop_gradient(self), axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        """Whether all values are nonzero (plain booleans), as ndarray.all."""
        return np.all(stop_gradient(self), axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        """Index of the largest value (plain; the first at ties), as ndarray.argmax."""
        return np.argmax(stop_gradient(self), axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        """Index of the smallest value (plain; the first at ties), as ndarray.argmin."""
        return np.argmin(stop_gradient(self), axis=axis, keepdims=keepdims)

    def argsort(self, axis=-1, kind=None, order=None):
        """Indices that sort the values (plain), as ndarray.argsort."""
        return np.argsort(stop_gradient(self), axis=axis, kind=kind, order=order)

    def argpartition(self, kth, axis=-1, kind="introselect", order=None):
        """Indices that partition the values (plain), as ndarray.argpartition."""
        return np.argpartition(stop_gradient(self), kth, axis=axis, kind=kind, order=order)

    def nonzero(self):
        """Indices of the nonzero values, one array per axis (plain), as ndarray.nonzero."""
        return np.nonzero(stop_gradient(self))

    def searchsorted(self, v, side="left", sorter=None):
        """Insertion indices of v into the sorted values (plain), as ndarray.searchsorted."""
        return np.searchsorted(stop_gradient(self), stop_gradient(v), side=side, sorter=sorter)

    def repeat(self, repeats, axis=None):
        """Each element repeated, as ndarray.repeat (the derivative of each copy flows back to it)."""
        return F.repeat(self, repeats, axis)

    def swapaxes(self, axis1, axis2):
        """Two axes exchanged, as ndarray.swapaxes."""
        return _follow(self, F.swapaxes(self, axis1, axis2),
                       lambda s: s.swapaxes(axis1, axis2), "x.swapaxes()")

    def diagonal(self, offset=0, axis1=0, axis2=1):
        """The diagonal of the plane (axis1, axis2), as ndarray.diagonal (numpy's read-only view)."""
        return _follow(self, F.diagonal(self, offset, axis1, axis2),
                       lambda s: s.diagonal(offset, axis1, axis2), "x.diagonal()", "read-only")

    def take(self, indices, axis=None, out=None, mode="raise"):
        """The elements at ``indices``, as ndarray.take."""
        return _np_take(self, indices, axis, out, mode)

    def sort(self, axis=-1, kind=None, order=None):
        """Sorts in place, as ndarray.sort: x becomes dd.sort(x) (the derivative follows the permutation; equal keys stable)."""
        self._in_place(F.sort(self, axis=axis, kind=kind, order=order), "x.sort()", "np.sort")

    def partition(self, kth, axis=-1, kind="introselect", order=None):
        """Partitions in place, as ndarray.partition: x becomes dd.partition(x, kth)."""
        self._in_place(F.partition(self, kth, axis=axis, kind=kind, order=order),
                       "x.partition()", "np.partition")

    def fill(self, value: Any) -> None:
        """Every element set to ``value`` in place, as ndarray.fill: ``y[...] = value``."""
        self[...] = value

    def put(self, indices: Any, values: Any, mode: str = "raise") -> None:
        """``y.flat[indices] = values`` in place, values repeated as needed, as ndarray.put."""
        _np_put_any(self, indices, values, mode=mode)

    def _in_place(self, new: Any, what: str, function: str) -> None:
        # x[:2].sort() sorts x's own elements in numpy: written into x[:2]
        source = _source_of(self)
        if _writable(source):
            _put(source[0], source[1], new)
            return
        if _writes_through_value(self):
            raise TypeError(
                f"{what} on a {self._kind} that is a view of another value (made by "
                f"reshape, .T, ...): numpy would reorder that value's elements too, which a "
                f"traced value cannot. Assign the result instead: x[idx] = {function}(x[idx], ...)")
        self._become(new, what)
        _refresh(self)


    # -- ndarray methods for complex values ----------------------------------------------------
    @property
    def real(self):
        """The real part, as ndarray.real: x itself for a real x, numpy's view of a complex one."""
        return _follow(self, F.real(self), _real, "z.real", "part")

    @real.setter
    def real(self, value: Any) -> None:
        raise self._no_part_assignment("real", "v + 1j * z.imag")

    @property
    def imag(self):
        """The imaginary part, as ndarray.imag: numpy's view of a complex x, zeros for a real one."""
        return _follow(self, F.imag(self), _imag, "z.imag", "part")

    @imag.setter
    def imag(self, value: Any) -> None:
        raise self._no_part_assignment("imag", "z.real + 1j * v")

    def _no_part_assignment(self, part: str, rewrite: str) -> TypeError:
        # (Python's "property 'real' of 'Var' object has no setter" said nothing of a remedy)
        return TypeError(
            f"z.{part} = v (and z.{part} += v) writes part of z in place, which a {self._kind} "
            f"does not do: write z = {rewrite}, which dualdiff differentiates")

    def conj(self):
        # numpy's x.conj() of a real array is x itself (np.conj, a ufunc, copies): a write into
        # the result writes into x
        return F.conj(self) if is_complex(concrete(self)) else self
    conjugate = conj


    # -- conversions that would drop the derivative -------------------------------------------
    def _no_conversion(self, what: str) -> TypeError:
        return TypeError(
            f"{what}() of a {self._kind} would drop its derivative. Use dualdiff's "
            f"functions (dd.sin, dd.exp, ...) or numpy's (np.sin, np.exp, ...) instead of the "
            f"math module, and .primal if you only want the value. To print it, f\"{{x:.4f}}\" "
            f"works ('%.4f' % x calls float())")

    def __format__(self, spec: str) -> str:
        # f"{loss:.4f}" in debug printing: show the value (the derivative is not dropped, the
        # value is only printed). An empty spec is str(), which shows the whole traced value.
        return format(stop_gradient(self), spec) if spec else str(self)

    def __round__(self, ndigits=None): raise self._no_conversion("round")
    def __trunc__(self): raise self._no_conversion("math.trunc")
    def __floor__(self): raise self._no_conversion("math.floor")
    def __ceil__(self): raise self._no_conversion("math.ceil")
    def __float__(self): raise self._no_conversion("float")
    def __int__(self): raise self._no_conversion("int")
    def __complex__(self): raise self._no_conversion("complex")
    def __index__(self): raise self._no_conversion("operator.index")

    def __copy__(self):
        return F.copy(self)  # copy.copy(a) of an ndarray is a.copy()

    def __deepcopy__(self, memo):
        # The default would copy the tag too, and with it the tape: the copy's operations would
        # go to a recording nobody sweeps (a zero derivative). A copy keeps the derivative.
        memo[id(self)] = new = F.copy(self)
        return new

    def __reduce_ex__(self, protocol):
        raise TypeError(
            f"pickling a {self._kind} would drop its derivative (its recording cannot "
            f"be pickled): pickle x.primal for the plain value, or pass plain values to the "
            f"other process and differentiate there")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"converting a {self._kind} to a numpy array (np.asarray, np.array, a "
            f"numpy function without a dualdiff rule) would drop its derivative. "
            f"{_conversion_hint(sys._getframe(1))}")

    # -- numpy's dispatch protocols -----------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if not kwargs and method == "__call__":  # np.sin(x): straight to the rule
            prim = UNARY_PRIMITIVES.get(ufunc)
            # (one input and no out=: it is self) what bind1 would do, one call sooner
            if prim is not None and len(inputs) == 1 and self.tag.active:
                return self.tag.process(prim, inputs, _NO_PARAMS)
            rule = UFUNC_RULES.get(ufunc)
            if rule is not None:
                return rule(*inputs)
        if method != "__call__":
            method_rule = UFUNC_METHOD_RULES.get((ufunc, method))
            if method_rule is not None:
                return method_rule(*inputs, **kwargs)
            if method == "outer" and ufunc in UFUNC_RULES and ufunc.nin == 2 and len(inputs) == 2:
                _check_reduction(f"{ufunc.__name__}.outer", **kwargs)
                return _ufunc_outer(UFUNC_RULES[ufunc], *inputs)
            raise TypeError(
                f"{_ufunc_name(ufunc)}.{method} has no dualdiff rule; "
                f"{_UFUNC_METHODS.get(method, 'call the ufunc itself')}. What is supported: "
                f"{SUPPORT_PAGE}")
        if kwargs.get("out") is not None:
            out = kwargs["out"]
            rule = UFUNC_RULES.get(ufunc)
            if (len(out) == 1 and isinstance(out[0], Traced) and rule is not None
                    and set(kwargs) <= {"out", "where"}):
                return _into_out(ufunc, rule, inputs, out[0], kwargs.get("where", True))
            if any(isinstance(o, Traced) for o in out):
                raise TypeError(
                    f"{_ufunc_name(ufunc)}(..., out=y) into a traced y: assign the result "
                    f"instead (y = np.{ufunc.__name__}(...), or y += v, y[idx] = v, which "
                    f"dualdiff records)")
            raise TypeError(
                f"{_ufunc_name(ufunc)} with out= would write a traced value into plain memory "
                f"and lose its derivative; assign the result instead. (This is also what "
                f"a += v does when a is a plain ndarray and v is traced: write a = a + v.)"
                + ("" if "where" not in kwargs else
                   f" With where=, make out a traced array (out=np.zeros_like(x) of a traced "
                   f"x is one): dualdiff then writes the chosen elements into it, as numpy"))
        rule = UFUNC_RULES.get(ufunc) or special_ufunc_rule(ufunc)
        if rule is None:
            raise _no_rule(ufunc, _ufunc_name(ufunc))
        kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        if kwargs and ufunc in GUFUNC_KEYWORD_RULES and set(kwargs) <= _GUFUNC_KEYWORDS:
            return GUFUNC_KEYWORD_RULES[ufunc](*inputs, **kwargs)
        _reject(ufunc.__name__, kwargs)
        return rule(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        rule = FUNCTION_RULES.get(func)
        if rule is None:
            raise _no_rule(func, _qualname(func))
        try:
            out = rule(*args, **kwargs)
        except TypeError as e:
            ours = keyword_error(func, _qualname(func), e)
            if ours is None:
                raise
            raise ours from e
        kind = _VIEW_FUNCTIONS.get(func)
        if kind is not None and args:  # (np.reshape(x, ...), np.split(x, ...): views of x)
            rest = args[1:]
            if not (kind == "one" and rest):
                _follow(args[0], out, lambda s: func(s, *rest, **kwargs),
                        f"numpy.{func.__name__}'s result", "view" if kind == "one" else kind)
        return out


#: numpy's functions whose result is a view of their first argument, and of which kind (see
#: _follow; "one": a view when given one array, as np.atleast_1d(x)).
_VIEW_FUNCTIONS = {getattr(np, name): kind for name, kind in (
    ("reshape", "maybe"), ("ravel", "maybe"), ("transpose", "view"), ("swapaxes", "view"),
    ("moveaxis", "view"), ("rollaxis", "view"), ("squeeze", "view"), ("expand_dims", "view"),
    ("atleast_1d", "one"), ("atleast_2d", "one"), ("atleast_3d", "one"), ("flip", "view"),
    ("fliplr", "view"), ("flipud", "view"), ("rot90", "view"), ("split", "view"),
    ("array_split", "view"), ("hsplit", "view"), ("vsplit", "view"), ("dsplit", "view"),
    ("matrix_transpose", "view"), ("permute_dims", "view"), ("unstack", "view"),
    ("diagonal", "read-only"), ("broadcast_to", "read-only"), ("real", "part"),
    ("imag", "part")) if hasattr(np, name)}
_VIEW_FUNCTIONS[np.lib.stride_tricks.sliding_window_view] = "read-only"


#: The ufuncs whose rule binds one primitive to its one argument (``np.sin(x)``: SIN), which
#: ``__array_ufunc__`` hands to the tag itself, as the rule would: read off the rules' own mark
#: (``unary``, set where each is made), after every addition to UFUNC_RULES above.
UNARY_PRIMITIVES: "dict[Any, Any]" = {
    u: p for u, p in ((u, getattr(rule, "unary", None)) for u, rule in UFUNC_RULES.items())
    if p is not None}
