"""Code generation for dd.compile: a recorded graph turned into the body of a Python function.

The generator holds no derivative rule: the graph it reads (:mod:`dualdiff.staging`) already
contains every operation the table's rules performed. What it adds is how to *run* an operation
cheaply, from one table of value lowerings (:data:`LOWERINGS`) keyed by primitive name:

- a Python operator or a ``math`` function when the recorded arguments are plain floats (no
  numpy dispatch: tens of nanoseconds instead of a microsecond);
- the numpy ufunc (or method, or indexing) when they are arrays, writing into an argument that
  dies here when it is a private temporary of the right shape and dtype (``out=``);
- a call to the primitive's own ``impl`` for everything else, so a primitive with no entry (a
  user's ``dd.elementwise``, a rule added later) compiles with no extra code.

Every lowering is checked once, at generation time, on the recorded values: if it does not give
the ``impl``'s result bit for bit (type, dtype, shape and bytes), the node calls the ``impl``
instead. Scalar lowerings can raise where numpy returns inf/nan (``math.log(-1.0)``, ``1.0 / 0.0``);
the generated function then reruns with every node calling its ``impl``, so results keep numpy's
semantics exactly.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import numpy as np

from .buffers import owns_memory
from .staging import Graph, Node, Pack
from .tape import _REFCOUNTS as REFCOUNTS, getrefcount

__all__ = ["Lowering", "LOWERINGS", "Program", "generate"]


@dataclass(frozen=True)
class Lowering:
    """How to run one primitive without its ``impl``; any field may be missing.

    ``op``: a Python operator for plain scalars (``"+"``, ``"-"``, ``"*"``, ``"/"``, ``"neg"``).
    ``math``: a ``math`` function for plain floats. ``ufunc``: the numpy function for arrays;
    ``elementwise`` says whether it may write into an argument (``out=``). ``template``: an
    expression for array methods and indexing, with ``{0}`` the argument and ``{name}`` a
    parameter (views: no ``out=``). ``fresh``: the template (or, with no other field, the
    impl) always returns a new array that nothing else sees (a reduction, an adjoint's
    zeros), so later results may be written into it. ``exact``: the ufunc is one correctly
    rounded IEEE operation per element on real floats, so its bits do not depend on how numpy
    loops over memory (a broadcast operand may be copied out first, a strided constant kept
    contiguous); numpy's exp, log, power, ... do depend on it (SIMD and libm differ).
    ``scatter``: getitem's transpose, zeros of ``shape`` with the argument written at ``idx``
    (run by :func:`scatter` for unit-step slices).
    """

    op: Optional[str] = None
    math: Optional[Callable[..., Any]] = None
    ufunc: Optional[Any] = None
    elementwise: bool = True
    template: Optional[str] = None
    fresh: bool = False
    exact: bool = False
    scatter: bool = False


def _unary(m: Optional[Callable[..., Any]], u: Any) -> Lowering:
    return Lowering(math=m, ufunc=u)


#: Value lowering metadata, by primitive name: the one place the code generator learns how to
#: run a primitive without calling its impl. Entries are checked against the impl on the
#: recorded values before they are used, so a stale entry costs speed, never correctness.
LOWERINGS: Dict[str, Lowering] = {
    "add": Lowering(op="+", ufunc=np.add, exact=True),
    "subtract": Lowering(op="-", ufunc=np.subtract, exact=True),
    "multiply": Lowering(op="*", ufunc=np.multiply, exact=True),
    "divide": Lowering(op="/", ufunc=np.true_divide, exact=True),
    "negative": Lowering(op="neg", ufunc=np.negative),
    "power": Lowering(ufunc=np.power),
    "sin": _unary(math.sin, np.sin), "cos": _unary(math.cos, np.cos),
    "tan": _unary(math.tan, np.tan), "exp": _unary(math.exp, np.exp),
    "log": _unary(math.log, np.log), "log1p": _unary(math.log1p, np.log1p),
    "expm1": _unary(math.expm1, np.expm1), "sqrt": _unary(math.sqrt, np.sqrt),
    "tanh": _unary(math.tanh, np.tanh), "sinh": _unary(math.sinh, np.sinh),
    "cosh": _unary(math.cosh, np.cosh), "arcsin": _unary(math.asin, np.arcsin),
    "arccos": _unary(math.acos, np.arccos), "arctan": _unary(math.atan, np.arctan),
    "arctan2": Lowering(ufunc=np.arctan2), "maximum": Lowering(ufunc=np.maximum),
    "minimum": Lowering(ufunc=np.minimum), "sign": Lowering(ufunc=np.sign),
    "abs": Lowering(ufunc=np.absolute),
    "matmul": Lowering(ufunc=np.matmul, elementwise=False),
    "sum": Lowering(template="_reduce({0}, axis={axis}, keepdims={keepdims})", fresh=True),
    "reshape": Lowering(template="{0}.reshape({shape})"),
    "transpose": Lowering(template="{0}.transpose({axes})"),
    "getitem": Lowering(template="{0}[{idx}]"),
    "index_add": Lowering(fresh=True, scatter=True, elementwise=False),
    # np.max/np.min are these reductions behind a Python wrapper (about 2 us of it)
    "max": Lowering(template="_max({0}, axis={axis}, keepdims={keepdims}, initial={initial})",
                    fresh=True),
    "min": Lowering(template="_min({0}, axis={axis}, keepdims={keepdims}, initial={initial})",
                    fresh=True),
    "real": Lowering(template="{0}.real"),
}

_POWER = LOWERINGS["power"]
_OPS = {"+": "{0} + {1}", "-": "{0} - {1}", "*": "{0} * {1}", "/": "{0} / {1}", "neg": "-{0}"}
_FLOAT_SCALARS = (float, np.float64)
_F8 = np.dtype(np.float64)
_OP_SCALARS = (float, int, complex, np.float64)
_UFUNC_ARGS = (np.ndarray, float, int, complex, np.float64, np.float32, np.complex128, np.bool_)

# Names every generated function can use.
BASE_NAMESPACE: Dict[str, Any] = {"_reduce": np.add.reduce, "_copy": np.array,
                                   "_max": np.maximum.reduce, "_min": np.minimum.reduce}


class Miss(Exception):
    """Raised by generated code when a guard fails: the call needs another specialisation."""


def same_value(a: Any, b: Any) -> bool:
    """Bit-for-bit equality of two results: type, dtype, shape and bytes (nan equals nan)."""
    if type(a) is not type(b):
        return False
    if type(a) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape and a.size > 4096 \
            and a.dtype.itemsize in (4, 8) and a.flags.c_contiguous and b.flags.c_contiguous:
        # Large arrays: the bits compared as unsigned integers, without copying them to bytes.
        bits = f"u{a.dtype.itemsize}"
        return bool(np.array_equal(a.view(bits), b.view(bits)))
    if type(a) is np.ndarray or isinstance(a, np.generic):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if type(a) in (float, int, complex, bool):
        return np.array(a).tobytes() == np.array(b).tobytes()
    return bool(a is b)


BASE_NAMESPACE.update(_Miss=Miss, _same=same_value, _index=operator.index)


@dataclass
class Program:
    """Generated code for one recording, with its constants and what it cost to run."""

    lines: List[str]          # the body (fast path, then the all-impl fallback if needed)
    namespace: Dict[str, Any]
    outputs: List[str]        # one expression per output reference
    emitted: int              # operations in the fast path
    lowered: int              # of which run without calling an impl
    inplace: int              # of which write into a dying temporary
    guards: int
    constants: int
    constant_bytes: int
    risky: bool               # a scalar lowering may raise where numpy gives inf/nan
    refs: List[Any]           # the output references the program computes
    names: Any                # the namespace builder, shared with the all-impl fallback
    copied: List[bool]        # which outputs are copied (the others are private memory)
    epilogue: List[str]       # lines to run before returning (handing buffers back)

    def recorded_outputs(self) -> List[Any]:
        """The outputs the code returns, from the recording's values: what running it on the
        recording's inputs gives, bit for bit (every lowering was checked against these values),
        without computing it a second time."""
        return [np.array(_value(r)) if c else _value(r) for r, c in zip(self.refs, self.copied)]


#: Arrays the generated code allocates itself start on a multiple of this many bytes. numpy's
#: own large arrays start 16 bytes into a page (glibc's chunk header), so a 64-byte vector load
#: or store splits over two cache lines: measured alone, a 200×200 multiply took 22 µs into such
#: memory against 15 µs into aligned memory, and a 200×200 mat-vec reading an aligned matrix
#: 4.3 µs against 5.8 µs. Alignment changes no bits (tests/test_compile_memory.py).
ALIGN = 64


def aligned_empty(shape: Tuple[int, ...], dtype: Any, order: str = "C") -> np.ndarray:
    """np.empty(shape, dtype, order) whose data starts on an :data:`ALIGN`-byte boundary.

    >>> a = aligned_empty((3, 5), np.float32, "F")
    >>> a.shape, a.dtype, a.flags.f_contiguous, a.__array_interface__["data"][0] % ALIGN
    ((3, 5), dtype('float32'), True, 0)
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = -raw.__array_interface__["data"][0] % ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape, order=order)


class Recycled:
    """Where a large output of a compiled function is written: the last call's array again
    once the caller holds nothing of it, else a new aligned one (:func:`aligned_empty`).

    A result is the caller's, so it cannot live in the kept workspace; but a caller usually
    drops it before calling again, and writing into memory still in cache is much cheaper than
    into fresh memory (a 200×200 Jacobian's last product: 16 µs against 24-30 µs; above
    glibc's mmap threshold fresh memory also page-faults). Every view of the array holds its
    memory's owner, so CPython's reference counts prove when nothing does any more; where they
    prove nothing (see tape._REFCOUNTS) every call makes a new array.

    >>> out = Recycled((2, 3), np.float64, "C")
    >>> a = out(); a_id = id(a); del a
    >>> id(out()) == a_id or not REFCOUNTS  # dropped: the same memory again
    True
    >>> b = out(); view = b.T; del b
    >>> c = out(); np.shares_memory(c, view)  # a view still held: new memory
    False
    """

    __slots__ = ("shape", "dtype", "order", "held")

    def __init__(self, shape: Tuple[int, ...], dtype: Any, order: str):
        self.shape, self.dtype, self.order = shape, dtype, order
        self.held: List[Tuple[Any, np.ndarray]] = []  # (the memory's owner, the array)

    def __call__(self) -> np.ndarray:
        held = self.held
        if held:
            try:
                owner, arr = held.pop()  # atomic: two threads never get the same entry
            except IndexError:
                pass
            else:
                # owner: this local, getrefcount's argument, arr's base; arr: the local and the
                # argument. Anything more is a view the caller (or a running call) still holds.
                if getrefcount(owner) == 3 and getrefcount(arr) == 2:
                    held.append((owner, arr))
                    return arr
        arr = aligned_empty(self.shape, self.dtype, self.order)
        if REFCOUNTS:
            held.append((arr.base, arr))
        return arr


def frozen_copy(c: np.ndarray, writeable: bool = False) -> np.ndarray:
    """A read-only copy of ``c`` (``writeable=True``: a writeable one) with ``c``'s exact strides
    (shape (), (n,), ... as ``c``), in memory of its own that starts on an :data:`ALIGN`-byte
    boundary.

    The strides matter for bitwise equality with eager mode: numpy runs exp, log, power, expm1
    and others through SIMD code on contiguous data and through libm on strided data, and the
    two differ in the last bit. A reversed or sliced constant therefore stays reversed or
    sliced, over a buffer of its own.

    >>> x = np.arange(6.0)[::-2]
    >>> y = frozen_copy(x)
    >>> y.strides == x.strides, np.array_equal(x, y), y.flags.writeable, np.shares_memory(x, y)
    (True, True, False, False)
    """
    item = c.itemsize
    if c.size == 0 or c.dtype.kind not in "biufc" or any(st % item for st in c.strides):
        out = np.array(c, order="K")
    elif c.flags.c_contiguous or c.flags.f_contiguous:
        out = aligned_empty(c.shape, c.dtype, "C" if c.flags.c_contiguous else "F")
        out[...] = c
    else:
        low = sum((n - 1) * st for n, st in zip(c.shape, c.strides) if st < 0)
        high = sum((n - 1) * st for n, st in zip(c.shape, c.strides) if st > 0)
        buf = aligned_empty(((high - low) // item + 1,), c.dtype)
        out = np.lib.stride_tricks.as_strided(buf[-low // item:], c.shape, c.strides)
        out[...] = c
    if not writeable:
        out.flags.writeable = False
    return out


def tiled_first(ufunc: Any, a: np.ndarray, b: np.ndarray,
                out: Optional[np.ndarray] = None) -> np.ndarray:
    """``ufunc(a, b)`` for an ``a`` that broadcasts against ``b`` (C-contiguous, the result's
    shape and dtype): ``a`` is copied out to that shape first, into ``out``, then the ufunc runs
    one flat loop. ``out`` must not share memory with ``b``.

    numpy runs a broadcast ufunc one row at a time, with the iterator's overhead on every row:
    a 200×200 row-broadcast multiply took 17.5 µs, against 14.3 µs copied out first (the copy
    is a plain strided copy, without that overhead). Only for exact ufuncs
    (:attr:`Lowering.exact`), whose bits do not depend on the loop; the operands keep their
    order (with two NaNs, the result's payload is the first one's).

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


def scatter(ct: np.ndarray, idx: tuple, margins: List[tuple], shape: Tuple[int, ...],
            dtype: Any, out: Optional[np.ndarray] = None) -> np.ndarray:
    """index_add's value for a basic index of unit-step slices: ``ct`` written at ``idx`` of an
    array of ``shape``, zeros written only at the ``margins`` that ``idx`` does not reach.

    The impl's bits (basic indexing never repeats an element, so assignment is the sum), without
    its checks on every call and without zeroing memory that the assignment then overwrites;
    ``out`` may be a buffer the code reuses.

    >>> scatter(np.ones((2, 2)), (slice(None), slice(1, None)), [(slice(None), slice(0, 1))],
    ...         (2, 3), np.float64)
    array([[0., 1., 1.],
           [0., 1., 1.]])
    """
    if out is None:
        out = np.empty(shape, dtype)
    out[idx] = ct
    for m in margins:
        out[m] = 0
    return out


BASE_NAMESPACE.update(_tile0=tiled_first, _tile1=tiled_second, _scatter=scatter)


class _Names:
    """Names of constants and functions in the generated module's namespace."""

    def __init__(self) -> None:
        self.ns: Dict[str, Any] = dict(BASE_NAMESPACE)
        self.by_id: Dict[int, str] = {}
        self.keep: List[Any] = []
        self.constant_bytes = 0
        self.contiguous_copies: Dict[int, np.ndarray] = {}
        self.arrays_0d: Dict[bytes, str] = {}

    def const(self, c: Any, hint: str = "c") -> str:
        t = type(c)
        if (t is float and math.isfinite(c)) or t is int or t is bool or c is None or t is str:
            return repr(c)
        name = self.by_id.get(id(c))
        if name is None:
            name = hint if hint != "c" and hint not in self.ns else f"{hint}{len(self.by_id)}"
            self.by_id[id(c)] = name
            self.keep.append(c)  # the id stays this object's while the program lives
            if t is np.ndarray:
                self.constant_bytes += c.nbytes
                if c.flags.writeable:
                    # Frozen: the compiled code sees the recording's value even if the caller
                    # later writes into the array it closed over (documented in docs/compile.md).
                    c = frozen_copy(c)
            self.ns[name] = c
        return name

    def float64_array(self, c: Any) -> str:
        """The name of a read-only 0-d float64 array holding the float ``c`` (one per value)."""
        key = np.float64(c).tobytes()  # (-0.0 is not 0.0, and nans keep their bits)
        name = self.arrays_0d.get(key)
        if name is None:
            a = np.array(c, np.float64)
            a.flags.writeable = False
            name = self.arrays_0d[key] = self.const(a, "k")
        return name

    def contiguous(self, c: np.ndarray) -> Tuple[str, np.ndarray]:
        """The name and value of ``c`` laid out contiguously in ``c``'s own axis order (a
        strided constant of an exact ufunc: numpy then runs one flat loop, and the result's
        layout, which follows the axis order, stays the same); ``c`` itself when it is
        contiguous already or has no such layout."""
        if c.flags.c_contiguous or c.flags.f_contiguous or c.dtype.kind != "f":
            return self.const(c), c
        copy = self.contiguous_copies.get(id(c))
        if copy is None:
            strides = [abs(st) for st in c.strides]
            if strides == sorted(strides, reverse=True):
                order = "C"
            elif strides == sorted(strides):
                order = "F"
            else:
                return self.const(c), c
            copy = aligned_empty(c.shape, c.dtype, order)
            copy[...] = c
            copy.flags.writeable = False
            self.contiguous_copies[id(c)] = copy
            self.keep.append(c)  # the id stays this object's while the program lives
        return self.const(copy), copy



def _ident(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def _ref(names: _Names, r: Any) -> str:
    if type(r) is Node:
        return f"v{r.id}"
    if type(r) is Pack:
        inner = ", ".join(_ref(names, x) for x in r.items)
        if r.kind is tuple:
            return f"({inner},)" if r.items else "()"
        return f"[{inner}]"
    return names.const(r)


def _value(r: Any) -> Any:
    if type(r) is Node:
        return r.value
    if type(r) is Pack:
        return r.kind(_value(x) for x in r.items)
    return r


_compiled_exprs: Dict[str, Any] = {}


def _check(expr: str, names: _Names, node: Node, strides: bool = False, kind: str = "") -> bool:
    """Whether ``expr`` (over ``v<id>`` names) reproduces the node's recorded value exactly
    (with ``strides``, its memory layout too: what later nodes read follows it)."""
    env = dict(names.ns)
    for r in node.args:
        _bind_values(env, r)
    for r in node.kwargs.values():
        _bind_values(env, r)
    code = _compiled_exprs.get(expr)
    if code is None:
        code = _compiled_exprs[expr] = compile(expr, "<dd.compile check>", "eval")
    if kind == "ufunc" and not strides and _sampled(node):
        return _check_sampled(code, env, node)
    try:
        got = eval(code, env)
    except Exception:  # the lowering does not apply to these values: call the impl
        return False
    if strides and type(got) is np.ndarray and got.strides != node.value.strides:
        return False
    return same_value(got, node.value)


# Elements from which a ufunc's lowering is checked on its first and last _SAMPLE elements rather
# than on all of them: re-running every large operation to compare it was half of the cost of
# compiling the n = 10⁶ gradient (33 of 75 ms).
_SAMPLE = 1 << 16


def _sampled(node: Node) -> bool:
    """Whether the node is one ufunc applied element by element to large arrays of its own
    shape, dtype and (C-contiguous) layout, and numbers: then every element is the same loop's
    result on the same numbers, and a sample of them checks the lowering."""
    v = node.value
    if (type(v) is not np.ndarray or v.size < 4 * _SAMPLE or not v.flags.c_contiguous
            or node.kwargs):
        return False
    for r in node.args:
        if type(r) is Node:
            a = r.value
            if not (type(a) is np.ndarray and a.shape == v.shape and a.dtype == v.dtype
                    and a.flags.c_contiguous):
                return False
        elif type(r) not in _FLOAT_SCALARS:
            return False
    return True


def _check_sampled(code: Any, env: Dict[str, Any], node: Node) -> bool:
    """:func:`_check` on the head and the tail of the arrays (see _sampled)."""
    flat = node.value.reshape(-1)
    for part in (slice(0, _SAMPLE), slice(flat.size - _SAMPLE, None)):
        sample = dict(env)
        for r in node.args:
            if type(r) is Node:
                sample[f"v{r.id}"] = r.value.reshape(-1)[part]
        try:
            got = eval(code, sample)
        except Exception:
            return False
        if not same_value(got, flat[part]):
            return False
    return True


def _bind_values(env: Dict[str, Any], r: Any) -> None:
    if type(r) is Node:
        env[f"v{r.id}"] = r.value
    elif type(r) is Pack:
        for x in r.items:
            _bind_values(env, x)


def _impl_call(names: _Names, node: Node) -> str:
    args = [_ref(names, r) for r in node.args]
    f = names.const(node.fn, ("impl_" if node.prim is not None else "call_") + _ident(node.label))
    kw = node.kwargs
    if kw:
        if any(type(v) in (Node, Pack) for v in kw.values()):
            args += [f"{k}={_ref(names, v)}" for k, v in kw.items()]
        else:
            args.append(f"**{names.const(kw, 'p')}")
    return f"{f}({', '.join(args)})"


#: A broadcast operand of an exact ufunc is copied out first (:func:`tiled_first`) when the
#: result has from TILE_MIN_BYTES to TILE_MAX_BYTES (beyond, the copy's extra pass over memory
#: outside the cache costs more than the rows' overhead: 8 MB, 1000 rows, 27% slower) and at
#: least TILE_ROWS times the operand's elements (with fewer rows there is little overhead to
#: save: 10 rows of 10⁴, 45% slower).
TILE_MIN_BYTES = 1 << 15
TILE_MAX_BYTES = 1 << 20
TILE_ROWS = 32


def _tiled(node: Node, vals: List[Any], refs: List[str], uf: str) -> Optional[str]:
    """An exact binary ufunc's node (``uf`` the ufunc's name) with one operand broadcast over
    many rows of the other, as a call of :func:`tiled_first`/:func:`tiled_second`; None when
    it is not one."""
    v = node.value
    if len(vals) != 2 or type(v) is not np.ndarray or v.dtype.kind != "f" \
            or not v.flags.c_contiguous or not TILE_MIN_BYTES <= v.nbytes <= TILE_MAX_BYTES \
            or any(type(a) is not np.ndarray or a.dtype != v.dtype for a in vals):
        return None
    for small, big, helper in ((vals[0], vals[1], "_tile0"), (vals[1], vals[0], "_tile1")):
        if big.shape == v.shape and big.flags.c_contiguous and small.shape != v.shape \
                and small.size * TILE_ROWS <= v.size:
            return f"{helper}({uf}, {refs[0]}, {refs[1]})"
    return None


def _scattered(names: _Names, node: Node, vals: List[Any], refs: List[str]) -> Optional[str]:
    """index_add of an array at unit-step slices as a call of :func:`scatter`; None otherwise."""
    v = node.value
    if len(vals) != 1 or type(vals[0]) is not np.ndarray or type(v) is not np.ndarray \
            or set(node.kwargs) != {"idx", "shape"} or type(node.kwargs["idx"]) is not tuple:
        return None
    from .rules.indexing import _margins  # (rules are imported long before any recording)
    margins = _margins(node.kwargs["idx"], tuple(node.kwargs["shape"]))
    if margins is None:
        return None
    return (f"_scatter({refs[0]}, {names.const(node.kwargs['idx'], 'idx')}, "
            f"{names.const(margins, 'margins')}, {names.const(v.shape, 'shape')}, "
            f"{names.const(v.dtype, 'dtype')})")


def _lowered(names: _Names, node: Node) -> List[Tuple[str, str, bool]]:
    """Expressions that may reproduce the node, cheapest first, each with its kind ("op",
    "ufunc", "tile", "scatter", "view", "new") and whether its check compares the layout too
    (for the ways of computing that numpy's own call does not take)."""
    prim = node.prim
    low = LOWERINGS.get(prim.name) if prim is not None else None
    if low is None or any(type(r) is Pack for r in node.args):
        return []
    vals = [_value(r) for r in node.args]
    refs = [_ref(names, r) if type(r) is not np.ndarray or not low.exact else "" for r in node.args]
    moved = False
    for i, r in enumerate(node.args):
        if not refs[i]:
            # A strided constant of an exact ufunc laid out contiguously: the same bits, in one
            # flat loop (its check compares the result's layout too).
            refs[i], vals[i] = names.contiguous(r)
            moved = moved or vals[i] is not r
    if low.scatter:
        expr = _scattered(names, node, vals, refs)
        return [(expr, "scatter", True)] if expr is not None else []
    if low.template is not None:
        if len(refs) != 1 or type(vals[0]) is not np.ndarray:
            return []
        v, a = node.value, vals[0]
        if (not low.fresh and type(v) is np.ndarray and v.shape == a.shape
                and v.strides == a.strides and v.dtype == a.dtype
                and v.__array_interface__["data"][0] == a.__array_interface__["data"][0]):
            # A view that changes nothing (a reshape to the same shape, between the layouts of
            # a Jacobian's assembly): the argument itself, not one more array object per call.
            return [(refs[0], "view", False)]
        params = {k: _ref(names, v) for k, v in node.kwargs.items()}
        template = low.template
        if low is LOWERINGS["transpose"] and node.kwargs.get("axes") == tuple(range(a.ndim))[::-1]:
            template = "{0}.T"  # (an attribute: half the cost of the method call)
        try:
            return [(template.format(*refs, **params), "new" if low.fresh else "view", False)]
        except (KeyError, IndexError):
            return []
    if node.kwargs:
        return []
    if all(type(v) in _FLOAT_SCALARS for v in vals) and low.math is not None:
        return [(f"{names.const(low.math, 'math_' + low.math.__name__)}({', '.join(refs)})", "op",
                 False)]
    if low.op is not None and all(type(v) in _OP_SCALARS for v in vals):
        return [(_OPS[low.op].format(*refs), "op", False)]
    if low is _POWER and type(vals[0]) is not np.ndarray:
        # a scalar base: the impl's a ** b (numpy's scalar power), whose bits the ufunc loop
        # does not always give, although it agreed at the recorded values
        return []
    if low.ufunc is not None and all(type(v) in _UFUNC_ARGS for v in vals):
        if low.exact and len(vals) == 2:
            for i in (0, 1):
                if type(node.args[i]) in _FLOAT_SCALARS and type(vals[1 - i]) is np.ndarray \
                        and vals[1 - i].dtype == _F8:
                    # A float64 constant as a 0-d array: numpy converts a scalar on every call
                    # (0.4 µs against 0.28 µs for a 200-element subtraction); same loop, same bits.
                    refs[i] = names.float64_array(vals[i])
                    moved = True
        uf = names.const(low.ufunc, "np_" + low.ufunc.__name__)
        plain = (f"{uf}({', '.join(refs)})", "ufunc", moved)
        tiled = _tiled(node, vals, refs, uf) if low.exact else None
        return [plain] if tiled is None else [(tiled, "tile", True), plain]
    return []


def _roots(node: Node, roots: Dict[int, frozenset]) -> frozenset:
    out: frozenset = frozenset()
    for r in list(node.args) + list(node.kwargs.values()):
        out |= _ref_roots(r, roots)
    return out


def _ref_roots(r: Any, roots: Dict[int, frozenset]) -> frozenset:
    if type(r) is Node:
        return roots.get(r.id, frozenset())
    if type(r) is Pack:
        acc: frozenset = frozenset()
        for x in r.items:
            acc |= _ref_roots(x, roots)
        return acc
    return frozenset()


_EXTERNAL = -1  # the memory of inputs, constants and anything an impl may have returned
#: Kinds of lowering that return a new array or write into the one given as ``out=``.
_WRITES = ("ufunc", "tile", "scatter")


def generate(graph: Graph, outputs: List[Any], fast: bool = True,
             names: Optional["_Names"] = None) -> Program:
    """The body of a function computing ``outputs`` from the graph's inputs (named ``v<id>``).

    Dead nodes are dropped; guards are checked right after the value they read. With ``fast``,
    lowerings and in-place reuse are used, and when any scalar lowering could raise, the body
    is followed by an all-impl fallback that the fast part hands over to on an arithmetic error.
    """
    names = _Names() if names is None else names
    guards_by_node: Dict[int, List[Tuple[str, Any]]] = {}
    for node, kind, expected in graph.guards:
        guards_by_node.setdefault(node.id, []).append((kind, expected))

    # Live nodes: what the outputs and the guards read.
    live: Set[int] = set()
    stack = [r for r in outputs] + [n for n, _, _ in graph.guards]
    while stack:
        r = stack.pop()
        if type(r) is Pack:
            stack.extend(r.items)
            continue
        if type(r) is not Node or r.id in live:
            continue
        live.add(r.id)
        stack.extend(r.args)
        stack.extend(r.kwargs.values())
    order = [n for n in graph.nodes if n.id in live and n.fn is not None]

    # Lowering, and which values are fresh private arrays (written by a ufunc this call).
    plan: Dict[int, Tuple[str, str]] = {}
    roots: Dict[int, frozenset] = {n.id: frozenset([_EXTERNAL]) for n in graph.inputs}
    fresh: Set[int] = set()
    for node in order:
        for expr, kind, strict in _lowered(names, node) if fast else ():
            if _check(expr, names, node, strides=strict, kind=kind):
                break
        else:
            expr, kind = _impl_call(names, node), "impl"
        plan[node.id] = (expr, kind)
        v = node.value
        if kind in _WRITES and type(v) is np.ndarray and owns_memory(v):
            roots[node.id] = frozenset([node.id])
            fresh.add(node.id)
        elif kind == "view":
            roots[node.id] = _roots(node, roots)
        elif kind == "new" and type(v) is not np.ndarray:
            roots[node.id] = frozenset()  # a scalar: no memory to share
        elif kind in ("new", "impl") and type(v) is np.ndarray and owns_memory(v) \
                and node.prim is not None and getattr(LOWERINGS.get(node.prim.name), "fresh", False):
            roots[node.id] = frozenset([node.id])
            fresh.add(node.id)
        else:
            roots[node.id] = _roots(node, roots) | {_EXTERNAL}

    # Where each fresh buffer is read for the last time (outputs keep theirs alive to the end).
    position = {node.id: i for i, node in enumerate(order)}
    last: Dict[int, int] = {}
    for i, node in enumerate(order):
        for root in _roots(node, roots):
            last[root] = i
    end = len(order)
    out_roots = [_ref_roots(r, roots) for r in outputs]
    for rs in out_roots:
        for root in rs:
            last[root] = end

    # Buffers merge when a node writes into a dying one: ``merged`` maps a root to its buffer.
    merged: Dict[int, int] = {}

    def find(root: int) -> int:
        while root in merged:
            root = merged[root]
        return root

    # Buffers nothing reads any more, by layout: a later result of that layout is written into
    # one (``out=``) instead of a fresh array. Every temporary stays referenced until the
    # function returns, so without this each would hold its own memory (for 8 MB arrays, fresh
    # pages that fault) where eager mode frees and reuses them.
    dead: Dict[Tuple[Any, ...], List[int]] = {}
    pending: List[int] = []  # buffers still being read, in creation order

    def layout(v: np.ndarray) -> Tuple[Any, ...]:
        # Strides too: a reduction's summation order follows the memory order.
        return (v.shape, v.dtype, v.strides)

    lines: List[str] = []
    starts: Dict[int, int] = {}  # buffer -> the line that allocates it
    lowered = inplace = 0
    risky = False
    for node in order:
        expr, kind = plan[node.id]
        i = position[node.id]
        if pending:
            still = []
            for b in pending:
                if last.get(b, -1) < i:
                    dead.setdefault(layout(graph.nodes[b].value), []).append(b)
                else:
                    still.append(b)
            pending = still
        low = LOWERINGS.get(node.prim.name) if node.prim is not None else None
        if kind in _WRITES and node.id in fresh and low is not None:
            v = node.value
            key = layout(v)
            target = None
            for r in node.args:
                # Only elementwise operations may write over what they read (matmul may not; a
                # tile writes its copy first).
                if type(r) is not Node or r.id not in fresh or not low.elementwise \
                        or kind != "ufunc":
                    continue
                root = find(r.id)
                if last.get(root) == i and layout(r.value) == key:
                    target, name = root, f"v{r.id}"
                    break
            if target is None and dead.get(key):
                target = dead[key].pop()
                name = f"v{target}"
                pending.append(target)  # read again from here on
            if target is not None:
                expr = expr[:-1] + f", out={name})"
                merged[node.id] = target
                last[target] = max(i, last.get(node.id, i))
                inplace += 1
            else:
                pending.append(node.id)
                starts[node.id] = len(lines)
        elif node.id in fresh:
            pending.append(node.id)
        if kind == "op" and low is not None:
            risky = risky or low.op == "/" or (low.math is not None and low.op is None)
        if kind != "impl":
            lowered += 1
        lines.append(f"v{node.id} = {expr}")
        for gk, expected in guards_by_node.get(node.id, ()):
            lines.append(_guard_line(names, f"v{node.id}", gk, expected))
    epilogue = _keep_buffers(names, graph, lines, starts, out_roots, find) if fast else []
    # Guards on the inputs themselves come first.
    head = []
    for n in graph.inputs:
        for gk, expected in guards_by_node.get(n.id, ()):
            head.append(_guard_line(names, f"v{n.id}", gk, expected))
    lines = head + lines

    # Outputs: returned as they are only when nothing else can see their memory.
    exprs = []
    copied: List[bool] = []
    seen_roots: Set[int] = set()
    for r, rs in zip(outputs, out_roots):
        e = _ref(names, r)
        v = _value(r)
        copy = False
        if type(v) is np.ndarray:
            rs = frozenset(find(x) for x in rs)
            private = type(r) is Node and rs and _EXTERNAL not in rs and not (rs & seen_roots)
            if not private:
                e, copy = f"_copy({e})", True
            seen_roots |= rs
        exprs.append(e)
        copied.append(copy)
    return Program(lines, names.ns, exprs, len(order), lowered, inplace, len(graph.guards),
                   len(names.by_id), names.constant_bytes, risky, list(outputs), names, copied,
                   epilogue)


#: Temporaries of at least this many bytes are kept between calls (see :func:`_keep_buffers`).
KEEP_BYTES = 1 << 18
#: Outputs of at least this many bytes are written into a :class:`Recycled` array: below it,
#: what a fresh array costs is less than the check (about 0.5 µs).
RECYCLE_BYTES = 1 << 17


def _keep_buffers(names: _Names, graph: Graph, lines: List[str], starts: Dict[int, int],
                  out_roots: List[frozenset], find: Callable[[int], int]) -> List[str]:
    """Large private temporaries written into a set of arrays kept from call to call, and
    large outputs into a :class:`Recycled`.

    Allocating a fresh large array costs its page faults on every call (glibc returns the
    memory of large freed blocks to the system), about a millisecond per 8 MB. The buffers that
    never reach an output are taken instead from a workspace the specialisation keeps: one set
    per concurrent call (``list.pop``/``append`` are atomic), made on first use. An output's
    buffer is the caller's: the last call's again only once the caller has dropped it.
    Either keeps the recorded layout (C or F order; anything else is left to numpy). Returns
    the lines that hand the workspace back before the function returns; patches ``lines``.
    """
    shown: Set[int] = set()
    for rs in out_roots:
        shown |= {find(x) for x in rs}
    kept: List[Tuple[Tuple[int, ...], np.dtype, Any]] = []
    for b, at in starts.items():
        v = graph.nodes[b].value
        if v.nbytes < (RECYCLE_BYTES if b in shown else KEEP_BYTES):
            continue
        order: Any = "C" if v.flags.c_contiguous else ("F" if v.flags.f_contiguous else None)
        if order is None:
            continue
        if b in shown:
            make = names.const(Recycled(v.shape, v.dtype, order), "_out")
            lines[at] = lines[at][:-1] + f", out={make}())"
            continue
        lines[at] = lines[at][:-1] + f", out=_w{len(kept)})"
        kept.append((v.shape, v.dtype, order))
    if not kept:
        return []

    def alloc() -> tuple:
        return tuple(aligned_empty(shape, dtype, order) for shape, dtype, order in kept)

    pool: List[tuple] = []
    ws, mk = names.const(pool, "_ws"), names.const(alloc, "_alloc")
    unpack = "".join(f"_w{k}, " for k in range(len(kept)))
    lines[:0] = ["try:", f"    _w = {ws}.pop()", "except IndexError:", f"    _w = {mk}()",
                 f"{unpack}= _w"]
    return [f"{ws}.append(_w)"]


def _guard_line(names: _Names, v: str, kind: str, expected: Any) -> str:
    if kind == "bool":
        return f"if {'not ' if expected else ''}{v}: raise _Miss"
    c = names.const(expected)
    if kind in ("int", "index"):
        conv = "int" if kind == "int" else "_index"
        return f"if {conv}({v}) != {c}: raise _Miss"
    conv = "float" if kind == "float" else "complex"
    return f"if not _same({conv}({v}), {c}): raise _Miss"
