"""The primitive record, perturbation tags, and ``bind``: the one door every operation goes through.

A *primitive* is an operation dualdiff knows how to differentiate. Its record holds the plain
numpy implementation and two rules: ``jvp`` pushes tangents forward, ``vjp`` pulls a cotangent
back. The records themselves (the table) live in the family modules of :mod:`dualdiff.rules`,
next to the public function that binds each one; this module only defines what a record is and how an operation on
traced values finds the interpreter that should handle it.

Traced values (``Dual`` for forward mode, ``Var`` for the tape) carry a :class:`Tag`. A tag is
created fresh for every transformation call and ordered by creation (``level``). ``bind`` hands
an operation to the *newest* tag among its arguments; arguments with older tags are constants to
that interpreter and are handled recursively when it computes the primal. That ordering is what
keeps nested derivatives (Hessians, ``d/dx [x * d/dy (x + y)]``) from confusing their
perturbations.
"""

from __future__ import annotations

import itertools
import sys
import sysconfig
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = ["Primitive", "Tag", "bind", "bind1", "bind2", "register_traced", "is_traced", "shape_of",
           "stop_gradient", "concrete", "is_complex", "COMPLEX_BEHAVIOURS"]

# Classes whose instances carry a tag (Dual, Var). Filled by register_traced so this module
# needs to import neither of them.
_TRACED: set = set()
TRACED = _TRACED  # read-only by convention: the interpreters check membership on their hot path
# The traced classes that carry a derivative (Dual, Var): what stop_gradient strips. The staging
# values of dd.compile are traced but carry none, so stop_gradient keeps them (see below).
_DERIVATIVE: set = set()
_DEFERRED_TYPES: set = set()

_levels = itertools.count(1)


class Tag:
    """One perturbation: created per transformation call, ordered by ``level``.

    ``chunk`` is ``None`` when tangents have the primal's shape (one direction) and ``k`` when
    they carry k directions on a leading axis. ``active`` turns false when the transformation
    that owns the tag returns, so a traced value that leaked out of it is caught instead of
    silently joining a different derivative.
    """

    __slots__ = ("level", "chunk", "active", "owner", "count", "views", "__weakref__")

    def __init__(self, chunk: Optional[int] = None, level: Optional[int] = None, owner: str = ""):
        self.level = next(_levels) if level is None else level
        self.chunk = chunk
        self.active = True
        self.owner = owner
        self.count = 0  # operations interpreted: the honest cost of a pass
        self.views = None  # weak references to the views taken of its values (surface._take_view)

    def process(self, prim: "Primitive", args: tuple, params: dict) -> Any:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.owner or 'user'} level={self.level} chunk={self.chunk}>"


class Primitive:
    """A differentiable operation: its numpy implementation and its derivative rules.

    - ``impl(*args, **params)``: the value on plain numbers/arrays.
    - ``jvp(primals, tangents, out, params, chunked)``: the output tangent. ``tangents[i]`` is
      ``None`` for an argument that is constant to this perturbation.
    - ``vjp(ct, primals, out, params, shapes, wants)``: one cotangent per argument (``None``
      where ``wants[i]`` is false), each with that argument's shape.
    - ``needs``: what the tape must keep for ``vjp``: ``"args"``, ``"out"``, ``"both"`` or
      ``"none"`` (shapes and params are always kept).
    - ``partials``: for elementwise primitives, the local partial derivatives ∂out/∂argᵢ the
      rules were generated from (the evaluation trace labels graph edges with them).
    - ``complex``: how the rules treat complex numbers (see docs/complex.md):
      ``"holomorphic"`` (the rules as written are right for complex values: linear maps and
      complex-analytic functions, whose adjoint is ct·∂ under the pairing Re(a·b)),
      ``"rules"`` (the rules handle complex arguments explicitly, e.g. with Wirtinger partials),
      or ``"real"`` (real numbers only). ``None``, the default, means undeclared: complex input
      is refused as for ``"real"``, and the table test fails until the entry declares one.
    """

    __slots__ = ("name", "impl", "jvp", "vjp", "needs", "kind", "partials", "doc", "complex",
                 "accumulate_at", "vjp_owning", "tangent_reads")

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        jvp: Callable[..., Any],
        vjp: Callable[..., Any],
        *,
        needs: str = "both",
        kind: str = "other",
        partials: Optional[Sequence[Any]] = None,
        doc: str = "",
        complex: Optional[str] = None,
    ):
        if needs not in ("args", "out", "both", "none"):
            raise ValueError(f"needs must be 'args', 'out', 'both' or 'none', not {needs!r}")
        if complex not in COMPLEX_BEHAVIOURS:
            raise ValueError(f"complex must be one of {COMPLEX_BEHAVIOURS}, not {complex!r}")
        self.name = name
        # Safe by default: a primitive whose rules were not shown right for complex numbers
        # refuses them, in both modes (every mode computes the value with impl).
        self.impl = impl if complex in ("holomorphic", "rules") else _real_only(impl, name, complex)
        self.complex = complex
        self.jvp = jvp
        self.vjp = vjp
        self.needs = needs
        self.kind = kind
        self.partials = tuple(partials) if partials is not None else None
        self.doc = doc
        # For a primitive whose adjoint puts its cotangent into one part of a zero array
        # (getitem: index_add): ``accumulate_at(shape, params, chunked)``, the index of the
        # part of an argument-shaped array where it lands and the indices of the rest (the
        # margins), or None for an index it does not handle. The sweep then adds the cotangent
        # into that part of the argument's running sum, in place, instead of building the zero
        # array and adding it whole (see tape._sum_into_part).
        self.accumulate_at: Optional[Callable[[Any, dict, bool], Any]] = None
        # ``vjp`` for a cotangent the sweep holds alone (a plain array nothing else refers to,
        # proved by tape._owned): the same results, but it may compute one of them into ct's
        # own memory instead of a new array. Elementwise primitives give it (rules/partials.py).
        self.vjp_owning: Optional[Callable[..., Any]] = None
        # What the tangent rule reads besides the tangents, the output's shape and dtype and
        # the params: per argument i, the indices of the arguments whose values the term of
        # tangent i reads (multiply's term for a is b · ȧ: (1,)), or None for anything else
        # (the output's values, say); None for the whole rule when undeclared. A tangent whose
        # rule reads only constants then depends on the seeds alone, and a pass over seeds
        # kept between calls keeps it too (dual.ForwardTag.keep).
        self.tangent_reads: Optional[tuple] = None

    def __call__(self, *args: Any, **params: Any) -> Any:
        return bind(self, *args, **params)

    def __repr__(self) -> str:
        return f"<primitive {self.name} ({self.kind})>"


#: The declarations a primitive may make about complex numbers (``None``: undeclared).
COMPLEX_BEHAVIOURS = ("holomorphic", "rules", "real", None)


def is_complex(x: Any) -> bool:
    """Whether a plain value (number or array, not traced) has a complex dtype."""
    t = type(x)
    if t is float or t is int:
        return False
    if t is complex:
        return True
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return dtype.kind == "c"
    return bool(np.iscomplexobj(x))


def complex_refused(name: str, declared: Optional[str]) -> TypeError:
    """The error for complex input to a primitive that does not take complex numbers."""
    if declared is None:
        why = (f"'{name}' has not declared how its derivative treats complex numbers, so "
               f"complex input is refused rather than risk a wrong derivative")
    else:
        why = (f"'{name}' is defined for real numbers only (it compares values, or it has no "
               f"complex derivative)")
    return TypeError(f"{why}; got a complex argument. Apply it to np.real(z), np.imag(z) or "
                     f"np.abs(z) instead (see docs/complex.md)")


def _real_only(impl: Callable[..., Any], name: str, declared: Optional[str]) -> Callable[..., Any]:
    def real_impl(*args, **params):
        for a in args:
            if type(a) is not float and is_complex(a):
                raise complex_refused(name, declared)
        return impl(*args, **params)

    real_impl.__name__ = getattr(impl, "__name__", name)
    real_impl.__wrapped__ = impl  # type: ignore[attr-defined]
    return real_impl


def register_traced(cls: type, derivative: bool = True, deferred: bool = False) -> type:
    """Mark ``cls`` as a traced type: its instances have a ``tag`` and take part in ``bind``.

    ``derivative=False`` for values that record a computation without differentiating it
    (dd.compile's staged values): :func:`stop_gradient` does not strip those.
    ``deferred=True`` for values whose primal is computed when read (dd.grad's LazyVar): their
    own ``shape`` says the shape without computing it.
    """
    _TRACED.add(cls)
    if derivative:
        _DERIVATIVE.add(cls)
    if deferred:
        _DEFERRED_TYPES.add(cls)
    return cls


def is_traced(x: Any) -> bool:
    """True when ``x`` is a Dual or a tape variable of any tag."""
    return type(x) in _TRACED


def leaked_error(tag: Tag, use: str) -> ValueError:
    """The error for a traced value whose transformation has returned: ``use`` says where it was met."""
    return ValueError(
        f"a traced value from a finished {tag.owner or 'transformation'} call was used {use}: it "
        f"escaped the function being differentiated (stored in a list, a global or a closure) "
        f"and its derivative no longer means anything. Return values from the function instead "
        f"of storing them."
    )


def bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    """Apply ``prim`` to ``args``: plain numpy when nothing is traced, else the newest tag's rule."""
    top = None
    sequences = False
    for a in args:
        if type(a) in _TRACED:
            tag = a.tag
            if top is None or tag.level > top.level:
                top = tag
            elif tag.level == top.level and tag is not top:
                # Only user-built Duals share a level; different tags there means different
                # numbers of directions, which cannot be combined.
                raise ValueError(
                    f"'{prim.name}' got Duals with {top.chunk or 1} and {tag.chunk or 1} tangent "
                    f"directions; all Duals in one computation must carry the same number"
                )
        elif type(a) is list or type(a) is tuple:
            sequences = True
    if top is None:
        for v in params.values():
            # A parameter may be a value being compiled (where's condition under dd.compile):
            # it must be recorded, so the staging interpreter takes the operation.
            if type(v) in _TRACED and (top is None or v.tag.level > top.level):
                top = v.tag
        if top is None:
            return prim.impl(*args, **params)
    if not top.active:
        raise leaked_error(top, f"in '{prim.name}'")
    if sequences:
        args = tuple([constant_array(a) for a in args])
    return top.process(prim, args, params)


def constant_array(a: Any) -> Any:
    """A list or tuple operand as the array numpy would read it; anything else unchanged.

    numpy reads ``x ** [1, 2]`` as ``x ** np.array([1, 2])``. The rules compute with their
    arguments (``y - 1``, ``x * y``), which a Python list does not support, so a list that meets
    a traced value becomes an array first. A list holding traced values is refused here by the
    traced values' own conversion error, which says to use dd.stack.
    """
    return np.asarray(a) if type(a) is list or type(a) is tuple else a


_ndarray = np.ndarray
_SCALARS = (float, int, complex, np.float64)

#: Operand types an operator takes as they are (the common ones: one set lookup on the hot path).
_NUMERIC = frozenset([float, int, bool, complex, np.ndarray, np.float64, np.float32, np.int64,
                      np.complex128])


def constant_operand(prim: Primitive, a: Any) -> Any:
    """A constant operand of ``prim`` as numpy would read it, or a TypeError that says why not.

    A list or tuple becomes an array (see :func:`constant_array`). ``x + None``, ``x * "a"`` or
    ``x + [None, 1]`` would otherwise fail inside numpy with a message about ufunc loops or
    Python's about operand types, neither of which names the operation.
    """
    if type(a) is list or type(a) is tuple:
        a = constant_array(a)  # (a list holding traced values is refused here, see there)
    dtype = a.dtype if isinstance(a, (np.ndarray, np.generic)) else np.asarray(a).dtype
    if dtype.kind in "biufc":
        return a
    what = (f"an array of dtype {dtype}" if isinstance(a, np.ndarray)
            else f"{type(a).__name__} {a!r}"[:80])
    hint = (" (an object array: to build an array from traced values use dd.stack)"
            if dtype.kind == "O" and isinstance(a, np.ndarray) else "")
    raise TypeError(f"'{prim.name}' of a traced value and {what}: operands must be numbers or "
                    f"arrays of numbers{hint}")


def bind1(prim: Primitive, x: Any, params: Optional[dict] = None) -> Any:
    """``bind`` for a primitive with one array argument: the hot path of unary functions."""
    if params is None:
        if type(x) not in _TRACED:
            return prim.impl(x)
        params = _NO_PARAMS
    elif type(x) not in _TRACED:
        return prim.impl(x, **params)
    tag = x.tag
    if not tag.active:
        raise leaked_error(tag, f"in '{prim.name}'")
    return tag.process(prim, (x,), params)


def bind2(prim: Primitive, x: Any, y: Any) -> Any:
    """``bind`` for a two-argument primitive without parameters: the hot path of operators."""
    tx = type(x) in _TRACED
    if tx is (type(y) in _TRACED):
        if not tx:
            return prim.impl(x, y)
        if x.tag is not y.tag:
            return bind(prim, x, y)
        top = x.tag
    elif tx:
        top = x.tag
        if type(y) not in _NUMERIC:
            y = constant_operand(prim, y)
    else:
        top = y.tag
        if type(x) not in _NUMERIC:
            x = constant_operand(prim, x)
    if not top.active:
        raise leaked_error(top, f"in '{prim.name}'")
    return top.process(prim, (x, y), _NO_PARAMS)


# Reference counts tell "nothing else holds this object" on CPython up to 3.13. From 3.14 the
# interpreter may hold borrowed (uncounted) references on its stack, and a free-threaded build
# lets another thread take a reference between the count and its use, so a low count no longer
# proves exclusivity: there, whatever relies on counts takes its general path.
REFCOUNTS_EXACT = (sys.implementation.name == "cpython" and sys.version_info < (3, 14)
                   and not sysconfig.get_config_var("Py_GIL_DISABLED"))

_NO_PARAMS: dict = {}


def shape_of(x: Any) -> tuple:
    """The shape of a plain value or of a traced value's primal."""
    t = type(x)
    if t is _ndarray:
        return x.shape
    if t in _TRACED:
        if t in _DERIVATIVE and t not in _DEFERRED_TYPES and type(x.primal) is _ndarray:
            return x.primal.shape  # (what the shape property gives, without its two calls)
        return x.shape
    if t in _SCALARS:
        return ()
    return np.shape(x)


def stop_gradient(x: Any) -> Any:
    """The value under every derivative tag: a constant to every derivative.

    Used where a quantity only steers the computation (the shift in a stable logsumexp, a
    branch condition) and so must not contribute a derivative. Outside ``dd.compile`` that is
    the plain number or array. Inside a compiled function's recording it is the staged value
    (which carries no derivative): what a rule computes from it is recorded, so a compiled
    function recomputes it on every call instead of reusing the recording's value.

    >>> import dualdiff as dd
    >>> float(dd.grad(lambda x: x * dd.stop_gradient(x), 3.0))   # d/dx (x · c) at c = x = 3
    3.0
    """
    while type(x) in _DERIVATIVE:
        x = x.primal
    return x


def stop_gradient_read_only(x: Any) -> Any:
    """The value under every derivative tag, read-only: ``dd.stop_gradient``.

    What :func:`stop_gradient` gives, with an array handed back as a read-only view: it is the
    traced value's own memory (for the x grad was given, the caller's array), so a write into it
    (``s = dd.stop_gradient(y); s[0] = 0.0``) would change y's value under its derivative, and a
    gradient computed from the changed value as if it were not. numpy's ValueError says so
    instead; take ``.copy()`` to have an array to write into.

    >>> import dualdiff as dd, numpy as np
    >>> float(dd.grad(lambda x: x * dd.stop_gradient(x), 3.0))   # d/dx (x · c) at c = x = 3
    3.0
    >>> dd.grad(lambda x: np.sum(dd.stop_gradient(x).copy() * x), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    value = stop_gradient(x)
    if value is not x and type(value) is np.ndarray and value.flags.writeable:
        value = value.view()
        value.flags.writeable = False
    return value


def concrete(x: Any) -> Any:
    """The plain number or array under every tag, dd.compile's recording included.

    What a value's type, dtype and memory layout are read from. Under an outer transformation
    (a Hessian's forward pass, a jvp of a gradient) x is a Dual or Var whose innermost value has
    the user's dtype. Under dd.compile the types, dtypes and strides of every value are fixed
    by the specialisation's input checks, so reading them from the recording gives what eager
    mode would use. (:func:`stop_gradient` stops at the recording's staged value instead.)
    """
    while type(x) in _TRACED:
        x = x.primal
    return x
