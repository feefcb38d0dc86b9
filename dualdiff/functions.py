"""The table of primitives and the public functions that bind them.

Every derivative dualdiff knows is written exactly once, here. Three kinds of entry:

- **elementwise** entries give the numpy implementation and the local partials ∂out/∂argᵢ (as
  functions of the arguments and the output). :func:`elementwise` turns the partials into both
  rules: the tangent ``Σᵢ ∂ᵢ · ṫᵢ`` and the cotangents ``ȳ · ∂ᵢ`` summed back over broadcast axes.
- **linear** entries (sum, reshape, transpose, indexing, broadcasting, stacking, where) apply
  themselves to tangents and give their transpose for cotangents.
- **other** entries (matmul) give both rules side by side.

Partials and rules are written with the public functions of this module, never with raw numpy on
``.primal``: applied to a Dual or a tape variable they are themselves differentiated, which is
what makes Hessians by nesting work.

Composite functions (mean, dot, softmax, log_softmax, logsumexp) are written in terms of
primitives and have no rule of their own.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .primitives import Primitive, bind, bind1, bind2, is_traced, shape_of, stop_gradient

__all__ = [
    "add", "subtract", "multiply", "divide", "negative", "power",
    "sin", "cos", "tan", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sinh", "cosh",
    "arcsin", "arccos", "arctan", "arctan2", "abs", "sign", "sigmoid", "relu",
    "maximum", "minimum", "where", "softmax", "log_softmax", "logsumexp",
    "sum", "mean", "dot", "matmul", "transpose", "reshape", "stack", "concatenate",
    "broadcast_to", "sum_to", "getitem", "PRIMITIVES", "elementwise",
]

#: A value dualdiff functions accept: a number, an ndarray, a Dual or a tape variable.
Value = Any

# The public functions are assembled further down from the table's entries; the partials above
# them refer to them by name, which is resolved when a rule runs.
sin: Callable[[Value], Value]
cos: Callable[[Value], Value]
sinh: Callable[[Value], Value]
cosh: Callable[[Value], Value]
sqrt: Callable[[Value], Value]
log: Callable[[Value], Value]
sigmoid: Callable[[Value], Value]
divide: Callable[[Value, Value], Value]
power: Callable[[Value, Value], Value]

#: Every primitive by name: the one table both modes read.
PRIMITIVES: "dict[str, Primitive]" = {}

_FLOATS = (float, np.float64)


def _register(prim: Primitive) -> Primitive:
    if prim.name in PRIMITIVES:
        raise ValueError(f"primitive {prim.name!r} defined twice")
    PRIMITIVES[prim.name] = prim
    return prim


# --------------------------------------------------------------------------------------------
# Generic rules for elementwise primitives, generated from their partials
# --------------------------------------------------------------------------------------------

def _align(t: Value, out_ndim: int) -> Value:
    """Give a chunked tangent (k, *S) enough unit axes after k to broadcast like its primal."""
    tshape = shape_of(t)
    missing = out_ndim - (len(tshape) - 1)
    if missing > 0:
        return reshape(t, tshape[:1] + (1,) * missing + tshape[1:])
    return t


def elementwise(name: str, impl: Callable[..., Any], partials: Sequence[Any], *,
                needs: str = "both", doc: str = "", register: bool = True) -> Primitive:
    """A new elementwise primitive whose tangent and adjoint rules come from its partials.

    ``impl(*args)`` computes the value on plain numbers/arrays (numpy broadcasting). Each
    partial is a function ``(*args, out) -> ∂out/∂argᵢ`` (with the output's or the argument's
    shape), written with dualdiff's functions or operators so that it can be differentiated in
    turn, or one of the constants 1 and -1 (add, subtract), which skip a multiplication.
    ``needs`` says what the tape must keep for the partials: ``"args"``, ``"out"``, ``"both"``.
    ``register=False`` keeps it out of :data:`PRIMITIVES` (the table the test suite checks).

    >>> import dualdiff as dd
    >>> cube = dd.elementwise("cube_demo", lambda x: x ** 3, [lambda x, out: 3 * x * x],
    ...                       needs="args", register=False)
    >>> float(dd.derivative(cube, 2.0)), float(dd.grad(cube, 2.0))
    (12.0, 12.0)
    """
    # The rules combine terms with Python's operators rather than multiply()/add(): on plain
    # floats that is native arithmetic, and on traced values the operators dispatch to bind.
    kinds = tuple(0 if callable(p) else int(p) for p in partials)
    if any(k not in (0, 1, -1) for k in kinds):
        raise ValueError(f"{name}: a constant partial must be 1 or -1")
    terms = tuple(zip(partials, kinds))

    def jvp(primals, tangents, out, params, chunked):
        total = None
        out_nd = len(shape_of(out)) if chunked else 0
        for (p, kind), t in zip(terms, tangents):
            if t is None:
                continue
            if chunked:
                t = _align(t, out_nd)
            if kind == 0:
                t = p(*primals, out) * t
            elif kind == -1:
                t = -t
            total = t if total is None else total + t
        return _fit(total, out, chunked)

    # The same rule without the loop for one and two arguments: these run once per operation
    # in forward mode, where interpreter overhead is most of the cost on scalars.
    if len(terms) == 1:
        (p0, k0), = terms

        def jvp(primals, tangents, out, params, chunked):  # noqa: F811
            # The output has the argument's shape, so no broadcasting or alignment is needed.
            t = tangents[0]
            return p0(primals[0], out) * t if k0 == 0 else (t if k0 == 1 else -t)

    elif len(terms) == 2:
        (p0, k0), (p1, k1) = terms

        def jvp(primals, tangents, out, params, chunked):  # noqa: F811
            t0, t1 = tangents
            if chunked:
                nd = len(shape_of(out))
                if t0 is not None:
                    t0 = _align(t0, nd)
                if t1 is not None:
                    t1 = _align(t1, nd)
            if t0 is not None and k0 != 1:
                t0 = p0(primals[0], primals[1], out) * t0 if k0 == 0 else -t0
            if t1 is not None and k1 != 1:
                t1 = p1(primals[0], primals[1], out) * t1 if k1 == 0 else -t1
            if t0 is None or t1 is None:
                total = t1 if t0 is None else t0
            elif k0 != 1 and type(t0) is np.ndarray and _owns_same(t0, t1):
                total = np.add(t0, t1, out=t0)  # t0 is a temporary made just above: reuse it
            else:
                total = t0 + t1
            if chunked or type(out) not in _SCALAR_TYPES:
                return _fit(total, out, chunked)
            return total  # scalar arguments: nothing was broadcast

    def vjp(ct, primals, out, params, shapes, wants):
        cts = []
        # The cotangent of a sum is a scalar broadcast over the summed shape (all strides 0).
        # Multiplying by it would be a full pass over memory for nothing; scale by the scalar.
        scalar = _broadcast_scalar(ct)
        last_d = last_c = None
        for (p, kind), shape, want in zip(terms, shapes, wants):
            if not want:
                cts.append(None)
                continue
            if kind == 1:
                c = ct
            elif kind == -1:
                c = -ct if scalar is None else broadcast_to(-scalar, ct.shape)
            elif scalar is None:
                # One expression, partial first: numpy then computes the product in place in
                # the partial's temporary (cos(x) for sin) instead of allocating another array.
                c = p(*primals, out) * ct
            else:
                d = p(*primals, out)
                if d is last_d:
                    # x * x under a sum (an L2 penalty): both partials are x itself, so ȳ·∂ is
                    # the same array for both; compute it once (each argument still sums it to
                    # its own shape).
                    c = last_c
                else:
                    c = d if scalar == 1.0 else d * scalar
                    if shape_of(c) != ct.shape:
                        c = broadcast_to(c, ct.shape)
                last_d, last_c = d, c
            cts.append(sum_to(c, shape))
        return tuple(cts)

    prim = Primitive(name, impl, jvp, vjp, needs=needs, kind="elementwise", partials=partials, doc=doc)
    return _register(prim) if register else prim


_SCALAR_TYPES = frozenset((float, int, complex, np.float64, np.complex128))


def _owns_same(a: Value, b: Value) -> bool:
    """Whether plain array ``a`` may receive ``a + b`` in place: same shape and dtype as b."""
    return (type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape
            and a.dtype == b.dtype and a.flags.writeable)


def _broadcast_scalar(x: Value) -> Optional[Any]:
    """The value of a plain array that is one scalar broadcast (every stride 0), else None."""
    if type(x) is np.ndarray and x.ndim and not any(x.strides):
        return x.reshape(-1)[0]
    return None


def _fit(total: Value, out: Value, chunked: bool) -> Value:
    """Broadcast a tangent up to the output's shape when its arguments were broadcast."""
    if type(out) in _SCALAR_TYPES and not chunked:
        return total  # every argument was a scalar too
    out_shape = shape_of(out)
    want = (shape_of(total)[0],) + out_shape if chunked else out_shape
    if shape_of(total) != want:
        total = broadcast_to(total, want)
    return total
_NATIVE = frozenset((float, int, complex, np.float64, np.ndarray))


# Python's operators for numbers and ndarrays (no ufunc dispatch), numpy's ufuncs for anything
# else (lists). Written out rather than generated: they run on every arithmetic operation.
def _add_impl(a, b):
    return a + b if type(a) in _NATIVE and type(b) in _NATIVE else np.add(a, b)


def _sub_impl(a, b):
    return a - b if type(a) in _NATIVE and type(b) in _NATIVE else np.subtract(a, b)


def _mul_impl(a, b):
    return a * b if type(a) in _NATIVE and type(b) in _NATIVE else np.multiply(a, b)


def _scalar_fast(math_fn: Callable[[float], float], np_fn: Callable[..., Any]) -> Callable[[Any], Any]:
    """numpy's function, with the math module's for a lone float (about 10x less overhead).

    math raises where numpy returns nan/inf with a warning (log(-1), exp(1000)); falling back
    to numpy there keeps numpy's semantics exactly.
    """

    def impl(x):
        if type(x) in _FLOATS:
            try:
                return math_fn(x)
            except (ValueError, OverflowError):
                pass
        return np_fn(x)

    impl.__name__ = np_fn.__name__
    return impl


def _div_impl(a, b):
    if type(a) not in _NATIVE or type(b) not in _NATIVE:
        return np.true_divide(a, b)
    try:
        return a / b
    except ZeroDivisionError:  # Python floats raise where numpy gives inf/nan with a warning
        return np.true_divide(a, b)


def _pow_impl(a, b):
    if type(a) in _FLOATS and type(b) in (float, int, np.float64):
        try:
            r = a ** b
            if type(r) is not complex:  # Python gives complex for (-8.0) ** (1/3); numpy nan
                return r
        except (ZeroDivisionError, OverflowError):
            pass
    return np.power(a, b)


def _relu_impl(x):
    if type(x) in _FLOATS:
        return 0.0 if x <= 0.0 else x  # nan stays nan, as in numpy
    return np.maximum(x, 0)


def _sigmoid_impl(x):
    # 1/(1+e^-x) overflows for large negative x; e^-|x| never does and keeps full relative
    # precision in both tails.
    if type(x) in _FLOATS:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _step(x):
    """1.0 where x > 0, else 0.0: the derivative of relu, with relu'(0) = 0."""
    x = stop_gradient(x)
    if type(x) in _FLOATS or type(x) is int:
        return 1.0 if x > 0 else 0.0
    x = np.asarray(x)
    return (x > 0).astype(np.result_type(x, 1.0))  # float32 stays float32


def _dtype(x: Value) -> np.dtype:
    """The floating dtype of a value (traced or not), for constants that must not widen it."""
    return np.result_type(stop_gradient(x), 1.0)


def _zeros_partial(x, out):
    return np.zeros(shape_of(out), dtype=_dtype(out))


def _max_partial(x, y, out):
    # Ties split the derivative evenly between the two sides, so maximum(x, x) has derivative 1
    # and neither argument is favoured (JAX's convention).
    xv, yv = stop_gradient(x), stop_gradient(y)
    d = np.where(np.greater(xv, yv), 1.0, np.where(np.equal(xv, yv), 0.5, 0.0))
    return d.astype(np.result_type(xv, yv, 1.0), copy=False)


def _min_partial(x, y, out):
    xv, yv = stop_gradient(x), stop_gradient(y)
    d = np.where(np.less(xv, yv), 1.0, np.where(np.equal(xv, yv), 0.5, 0.0))
    return d.astype(np.result_type(xv, yv, 1.0), copy=False)


def _pow_base_partial(x, y, out):
    if type(y) in _SCALAR_TYPES and y == 2:
        return 2.0 * x  # x ** 2 is common; x ** 1 would be a wasted pass over memory
    zero = np.equal(stop_gradient(y), 0)
    if np.any(zero):
        # x ** 0 is the constant 1, so its derivative is 0 everywhere; the formula would give
        # 0 * 0 ** -1 = 0 * inf = nan at x = 0 (a polynomial's constant term, x ** arange(n)).
        # The base is replaced by 1 there too, so that 0 ** -1 is not even computed (no warning).
        return where(zero, 0.0, y * power(where(zero, 1.0, x), y - 1))
    return y * power(x, y - 1)


def _pow_exponent_partial(x, y, out):
    # d/dy x**y = x**y log x. At x == 0 the limit (for y > 0) is 0; log(0) = -inf would give nan.
    if out is None:
        # The tape keeps only the arguments of power (needs="args"): x**2 is common and its
        # output need not stay alive for the exponent's rarely wanted partial.
        out = power(x, y)
    xv = stop_gradient(x)
    if np.any(np.equal(xv, 0)):
        return where(np.equal(xv, 0), 0.0, out * log(where(np.equal(xv, 0), 1.0, x)))
    return out * log(x)


_ADD = elementwise("add", _add_impl, (1, 1), needs="none")
_SUB = elementwise("subtract", _sub_impl, (1, -1), needs="none")
_MUL = elementwise("multiply", _mul_impl, (lambda a, b, o: b, lambda a, b, o: a), needs="args")
_DIV = elementwise("divide", _div_impl,
                    (lambda a, b, o: divide(1.0, b), lambda a, b, o: -divide(o, b)))
_NEG = elementwise("negative", lambda a: -a if type(a) in _NATIVE else np.negative(a), (-1,), needs="none")
_POW = elementwise("power", _pow_impl, (_pow_base_partial, _pow_exponent_partial), needs="args")

_SIN = elementwise("sin", _scalar_fast(math.sin, np.sin), (lambda x, o: cos(x),), needs="args")
_COS = elementwise("cos", _scalar_fast(math.cos, np.cos), (lambda x, o: -sin(x),), needs="args")
_TAN = elementwise("tan", _scalar_fast(math.tan, np.tan), (lambda x, o: 1.0 + o * o,),
                    needs="out")
_EXP = elementwise("exp", _scalar_fast(math.exp, np.exp), (lambda x, o: o,), needs="out")
_LOG = elementwise("log", _scalar_fast(math.log, np.log), (lambda x, o: divide(1.0, x),), needs="args")
_LOG1P = elementwise("log1p", _scalar_fast(math.log1p, np.log1p),
                      (lambda x, o: divide(1.0, 1.0 + x),), needs="args")
_EXPM1 = elementwise("expm1", _scalar_fast(math.expm1, np.expm1), (lambda x, o: o + 1.0,),
                      needs="out")
_SQRT = elementwise("sqrt", _scalar_fast(math.sqrt, np.sqrt), (lambda x, o: divide(0.5, o),),
                     needs="out")
_TANH = elementwise("tanh", _scalar_fast(math.tanh, np.tanh),
                     (lambda x, o: 1.0 - o * o,), needs="out")
_SINH = elementwise("sinh", _scalar_fast(math.sinh, np.sinh), (lambda x, o: cosh(x),), needs="args")
_COSH = elementwise("cosh", _scalar_fast(math.cosh, np.cosh), (lambda x, o: sinh(x),), needs="args")
_ARCSIN = elementwise("arcsin", _scalar_fast(math.asin, np.arcsin),
                       (lambda x, o: divide(1.0, sqrt(1.0 - x * x)),), needs="args")
_ARCCOS = elementwise("arccos", _scalar_fast(math.acos, np.arccos),
                       (lambda x, o: divide(-1.0, sqrt(1.0 - x * x)),), needs="args")
_ARCTAN = elementwise("arctan", _scalar_fast(math.atan, np.arctan),
                       (lambda x, o: divide(1.0, 1.0 + x * x),), needs="args")
_ARCTAN2 = elementwise(
    "arctan2", np.arctan2,
    (lambda y, x, o: divide(x, x * x + y * y), lambda y, x, o: divide(-y, x * x + y * y)),
    needs="args")
_ABS = elementwise("abs", lambda x: builtins.abs(x) if type(x) in _FLOATS else np.abs(x),
                    (lambda x, o: np.sign(stop_gradient(x)),), needs="args",
                    doc="abs'(0) = 0 (the sign of 0), as JAX and PyTorch")
_SIGN = elementwise("sign", np.sign, (_zeros_partial,), needs="out")
# σ' = σ(x)·σ(−x) rather than σ(1 − σ): for large x, 1 − σ(x) rounds to 0 and the derivative
# (e^−x, tiny but exactly representable) would be lost; both factors keep full relative precision.
_SIGMOID = elementwise("sigmoid", _sigmoid_impl,
                        (lambda x, o: o * sigmoid(-x),), needs="both")
_RELU = elementwise("relu", _relu_impl, (lambda x, o: _step(x),), needs="args",
                     doc="relu'(0) = 0")
_MAXIMUM = elementwise("maximum", np.maximum,
                        (_max_partial, lambda x, y, o: 1.0 - _max_partial(x, y, o)),
                        needs="args", doc="a tie splits the derivative evenly: 1/2 to each side")
_MINIMUM = elementwise("minimum", np.minimum,
                        (_min_partial, lambda x, y, o: 1.0 - _min_partial(x, y, o)),
                        needs="args", doc="a tie splits the derivative evenly: 1/2 to each side")


# --------------------------------------------------------------------------------------------
# Linear primitives: the tangent rule is the operation itself, the cotangent rule its transpose
# --------------------------------------------------------------------------------------------

def _norm_axes(axis, ndim: int) -> Optional[tuple]:
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(f"axis must be an int or a tuple of ints, not {type(axis).__name__}")
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"axis must be an int or a tuple of ints, not {type(a).__name__}")
        if (a not in (0, -1)) if ndim == 0 else not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        if ndim:  # a 0-d value has no axis to reduce: axis 0 / -1 there means "nothing"
            out.append(int(a) % ndim)
    return tuple(out)


def _sum_jvp(primals, tangents, out, params, chunked):
    axis = params["axis"]
    if chunked:
        nd = len(shape_of(primals[0]))
        axis = tuple(range(1, nd + 1)) if axis is None else tuple(a + 1 for a in axis)
    return sum(tangents[0], axis=axis, keepdims=params["keepdims"])


def _sum_vjp(ct, primals, out, params, shapes, wants):
    shape = shapes[0]
    axis, keepdims = params["axis"], params["keepdims"]
    if not keepdims:
        axes = range(len(shape)) if axis is None else axis
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        ct = reshape(ct, kept)
    return (broadcast_to(ct, shape),)


# The array methods and the ufunc's reduce, not np.sum/np.reshape/np.transpose: same results,
# a microsecond less of numpy's Python-level dispatch on every call.
_SUM = _register(Primitive(
    "sum", lambda x, axis=None, keepdims=False: np.add.reduce(np.asarray(x), axis=axis, keepdims=keepdims),
    _sum_jvp, _sum_vjp, needs="none", kind="linear"))


def _reshape_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
    shape = shape_of(out)
    return reshape(t, (shape_of(t)[0],) + shape if chunked else shape)


_RESHAPE = _register(Primitive(
    "reshape", lambda x, shape: np.asarray(x).reshape(shape), _reshape_jvp,
    lambda ct, primals, out, params, shapes, wants: (reshape(ct, shapes[0]),),
    needs="none", kind="linear"))


def _transpose_jvp(primals, tangents, out, params, chunked):
    axes = params["axes"]
    if chunked:
        axes = (0,) + tuple(a + 1 for a in axes)
    return transpose(tangents[0], axes)


def _transpose_vjp(ct, primals, out, params, shapes, wants):
    return (transpose(ct, tuple(np.argsort(params["axes"]))),)


_TRANSPOSE = _register(Primitive(
    "transpose", lambda x, axes: np.asarray(x).transpose(axes), _transpose_jvp, _transpose_vjp,
    needs="none", kind="linear"))


def _broadcast_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
    shape = params["shape"]
    if chunked:
        t = _align(t, len(shape))
        shape = (shape_of(t)[0],) + shape
    return broadcast_to(t, shape)


_BROADCAST = _register(Primitive(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape), _broadcast_jvp,
    lambda ct, primals, out, params, shapes, wants: (sum_to(ct, shapes[0]),),
    needs="none", kind="linear"))


def _chunk_index(idx: tuple) -> tuple:
    return (slice(None),) + idx


def _is_integer_index(i: Any) -> bool:
    """An integer (Python, numpy, or a 0-d integer array): basic alone, advanced beside arrays."""
    if isinstance(i, (bool, np.bool_)):
        return False
    if isinstance(i, (int, np.integer)):
        return True
    return isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype.kind in "iu"


def _is_array_index(i: Any) -> bool:
    """An advanced index in its own right: any array-like (ndarray, list, tuple, range, bool)."""
    return not (i is None or i is Ellipsis or isinstance(i, slice) or _is_integer_index(i))


def _separated_advanced_ndim(idx: tuple) -> int:
    """How many leading axes numpy gives the advanced indices of ``idx`` when it moves them first.

    numpy puts the broadcast dimensions of advanced (array) indices where the first of them
    stood, unless they are separated by a slice, Ellipsis or None: then they go in front of
    everything — in front of a chunk's direction axis too. Returns 0 when they stay in place.
    """
    if not any(_is_array_index(i) for i in idx):
        return 0
    # With an array present, integers count as advanced indices too.
    positions = [n for n, i in enumerate(idx) if _is_array_index(i) or _is_integer_index(i)]
    if positions == list(range(positions[0], positions[-1] + 1)):
        return 0
    shapes = []
    for n in positions:
        i = np.asarray(idx[n])
        shapes.append(np.nonzero(i)[0].shape if i.dtype == bool else i.shape)
    return len(np.broadcast_shapes(*shapes))


def _move_axis(x: Value, source: int, dest: int) -> Value:
    axes = list(range(len(shape_of(x))))
    axes.insert(dest, axes.pop(source))
    return transpose(x, tuple(axes))


def _getitem_jvp(primals, tangents, out, params, chunked):
    idx = params["idx"]
    if not chunked:
        return getitem(tangents[0], idx)
    t = getitem(tangents[0], _chunk_index(idx))
    moved = _separated_advanced_ndim(idx)
    return _move_axis(t, moved, 0) if moved else t


def _getitem_vjp(ct, primals, out, params, shapes, wants):
    return (bind(_INDEX_ADD, ct, idx=params["idx"], shape=shapes[0]),)


_GETITEM = _register(Primitive(
    "getitem", lambda x, idx: x[idx], _getitem_jvp, _getitem_vjp, needs="none", kind="linear"))


def _is_basic_index(idx: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in idx)


def _index_add_impl(ct, idx, shape):
    z = np.zeros(shape, dtype=np.result_type(ct, 1.0))  # 1.0 (weak) keeps float32 as float32
    if _is_basic_index(idx):
        z[idx] = ct  # basic indexing never repeats an element, so assignment is the sum
    else:
        np.add.at(z, idx, ct)  # x[[0, 0]] must receive both contributions
    return z


def _index_add_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
    if chunked:
        moved = _separated_advanced_ndim(params["idx"])
        if moved:  # the values must come in the axis order numpy's indexing produces
            t = _move_axis(t, 0, moved)
        return bind(_INDEX_ADD, t, idx=_chunk_index(params["idx"]),
                    shape=(shape_of(tangents[0])[0],) + params["shape"])
    return bind(_INDEX_ADD, t, idx=params["idx"], shape=params["shape"])


_INDEX_ADD = _register(Primitive(
    "index_add", _index_add_impl, _index_add_jvp,
    lambda ct, primals, out, params, shapes, wants: (getitem(ct, params["idx"]),),
    needs="none", kind="linear",
    doc="zeros of `shape` with the argument added at `idx`: the transpose of indexing"))


def _fill_tangents(primals, tangents, chunked) -> list:
    """Tangents for a multi-argument linear op, with zeros (of the tangents' dtype) for constants."""
    first = next(t for t in tangents if t is not None)
    lead = shape_of(first)[:1] if chunked else ()
    dtype = _dtype(first)
    return [t if t is not None else np.zeros(lead + shape_of(p), dtype=dtype)
            for p, t in zip(primals, tangents)]


def _shift_axis(axis: int, chunked: bool) -> int:
    return axis + 1 if chunked and axis >= 0 else axis


def _stack_jvp(primals, tangents, out, params, chunked):
    return bind(_STACK, *_fill_tangents(primals, tangents, chunked),
                axis=_shift_axis(params["axis"], chunked))


def _stack_vjp(ct, primals, out, params, shapes, wants):
    axis = params["axis"] % len(shape_of(ct))
    return tuple(getitem(ct, (slice(None),) * axis + (i,)) if w else None
                 for i, w in enumerate(wants))


_STACK = _register(Primitive(
    "stack", lambda *xs, axis: np.stack(xs, axis=axis), _stack_jvp, _stack_vjp,
    needs="none", kind="linear"))


def _concat_jvp(primals, tangents, out, params, chunked):
    return bind(_CONCAT, *_fill_tangents(primals, tangents, chunked),
                axis=_shift_axis(params["axis"], chunked))


def _concat_vjp(ct, primals, out, params, shapes, wants):
    axis = params["axis"] % len(shape_of(ct))
    cts, start = [], 0
    for shape, w in zip(shapes, wants):
        stop = start + shape[axis]
        cts.append(getitem(ct, (slice(None),) * axis + (slice(start, stop),)) if w else None)
        start = stop
    return tuple(cts)


_CONCAT = _register(Primitive(
    "concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis), _concat_jvp, _concat_vjp,
    needs="none", kind="linear"))


def _where_jvp(primals, tangents, out, params, chunked):
    cond = params["cond"]
    tx, ty = _fill_tangents(primals, tangents, chunked)
    if chunked:
        nd = len(shape_of(out))
        tx, ty = _align(tx, nd), _align(ty, nd)
    t = bind(_WHERE, tx, ty, cond=cond)
    want = (shape_of(t)[0],) + shape_of(out) if chunked else shape_of(out)
    return t if shape_of(t) == want else broadcast_to(t, want)


def _where_vjp(ct, primals, out, params, shapes, wants):
    cond = params["cond"]
    zero = np.zeros((), dtype=_dtype(ct))
    return (sum_to(bind(_WHERE, ct, zero, cond=cond), shapes[0]) if wants[0] else None,
            sum_to(bind(_WHERE, zero, ct, cond=cond), shapes[1]) if wants[1] else None)


# A select, not a blend: in forward mode the tangent of the branch not taken is dropped rather
# than multiplied by 0, so an inf or nan there cannot leak through. In reverse mode that branch
# receives a zero cotangent, and its own adjoint can still make 0 * inf = nan (sqrt at x <= 0 in
# where(x > 0, sqrt(x), 0)), exactly as in JAX and PyTorch: keep such values out of the branch
# altogether with the "double where", sqrt(where(x > 0, x, 1)). docs/api.md shows it.
_WHERE = _register(Primitive(
    "where", lambda x, y, cond: np.where(cond, x, y), _where_jvp, _where_vjp,
    needs="none", kind="linear"))


# --------------------------------------------------------------------------------------------
# matmul: bilinear, both rules written out
# --------------------------------------------------------------------------------------------

def _matmul_jvp(primals, tangents, out, params, chunked):
    a, b = primals
    ta, tb = tangents
    if not chunked:
        ta = None if ta is None else matmul(ta, b)
        tb = None if tb is None else matmul(a, tb)
        return tb if ta is None else (ta if tb is None else ta + tb)
    # k directions: matmul would read the leading k axis as one more batch axis and pair it
    # with the other operand's batch axes. Promote vectors to matrices and give the tangent unit
    # batch axes so that k sits in front of every batch axis, then drop the promoted axes.
    sa, sb, so = shape_of(a), shape_of(b), shape_of(out)
    a2 = sa if len(sa) > 1 else (1,) + sa
    b2 = sb if len(sb) > 1 else sb + (1,)
    nbatch = max(len(a2), len(b2)) - 2

    def lift(t, s2):
        return reshape(t, shape_of(t)[:1] + (1,) * (nbatch - (len(s2) - 2)) + s2)

    total = None
    if ta is not None:
        total = matmul(lift(ta, a2), reshape(b, b2))
    if tb is not None:
        term = matmul(reshape(a, a2), lift(tb, b2))
        total = term if total is None else total + term
    return reshape(total, shape_of(total)[:1] + so)


def _mT(x):
    nd = len(shape_of(x))
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul_vjp(ct, primals, out, params, shapes, wants):
    a, b = primals
    sa, sb = shapes
    # Promote vectors to matrices so that the textbook rules ∂l/∂A = ∂l/∂Y·Bᵀ and
    # ∂l/∂B = Aᵀ·∂l/∂Y apply unchanged; the promoted axes are dropped again by the reshape.
    a2 = reshape(a, (1,) + sa) if len(sa) == 1 else a
    b2 = reshape(b, sb + (1,)) if len(sb) == 1 else b
    ct_shape = shape_of(ct)
    if len(sa) == 1:
        ct_shape = ct_shape[:-1] + (1,) + ct_shape[-1:] if len(sb) > 1 else ct_shape + (1,)
    if len(sb) == 1:
        ct_shape = ct_shape + (1,)
    ct2 = reshape(ct, ct_shape)
    ca = cb = None
    # Batch axes that an operand was broadcast along are summed away (sum_to), then a promoted
    # vector drops its unit axis again.
    if wants[0]:
        ca = sum_to(matmul(ct2, _mT(b2)), shape_of(a2))
        if len(sa) == 1:
            ca = reshape(ca, sa)
    if wants[1]:
        cb = sum_to(matmul(_mT(a2), ct2), shape_of(b2))
        if len(sb) == 1:
            cb = reshape(cb, sb)
    return (ca, cb)


_MATMUL = _register(Primitive("matmul", np.matmul, _matmul_jvp, _matmul_vjp,
                              needs="args", kind="other"))


# --------------------------------------------------------------------------------------------
# The public functions
# --------------------------------------------------------------------------------------------

def _document(fn: Callable[..., Any], prim: Primitive, shapes: str, summary: str, example: str,
              result: str, note: str) -> Callable[..., Any]:
    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = (
        f"{summary}, elementwise{shapes}.\n\n"
        "Accepts numbers, arrays, Duals and tape variables; plain input gives plain output.\n"
        + (f"{note}\n" if note else "")
        + f"\n>>> import dualdiff as dd\n>>> dd.{prim.name}({example})\n{result}\n"
    )
    return fn


def _unary(prim: Primitive, summary: str, example: str, result: str,
           note: str = "") -> Callable[[Value], Value]:
    def fn(x: Value) -> Value:
        return bind1(prim, x)

    return _document(fn, prim, ": the output has x's shape", summary, example, result, note)


sin = _unary(_SIN, "sin x", "0.0", "0.0")
cos = _unary(_COS, "cos x", "0.0", "1.0")
tan = _unary(_TAN, "tan x", "0.0", "0.0")
exp = _unary(_EXP, "e to the x", "0.0", "1.0")
log = _unary(_LOG, "Natural logarithm of x", "1.0", "0.0",
             "Negative x gives nan with numpy's RuntimeWarning, exactly as np.log.")
log1p = _unary(_LOG1P, "log(1 + x), accurate for small x", "0.0", "0.0")
expm1 = _unary(_EXPM1, "e**x - 1, accurate for small x", "0.0", "0.0")
sqrt = _unary(_SQRT, "Square root of x", "4.0", "2.0", "Its derivative at 0 is inf.")
tanh = _unary(_TANH, "Hyperbolic tangent of x", "0.0", "0.0")
sinh = _unary(_SINH, "Hyperbolic sine of x", "0.0", "0.0")
cosh = _unary(_COSH, "Hyperbolic cosine of x", "0.0", "1.0")
arcsin = _unary(_ARCSIN, "Inverse sine of x", "0.0", "0.0")
arccos = _unary(_ARCCOS, "Inverse cosine of x", "1.0", "0.0")
arctan = _unary(_ARCTAN, "Inverse tangent of x", "0.0", "0.0")
negative = _unary(_NEG, "-x", "2.0", "-2.0")
abs = _unary(_ABS, "|x|", "-2.0", "2.0", "Convention: abs'(0) = 0.")
sign = _unary(_SIGN, "The sign of x (-1, 0 or 1)", "-2.0", "np.float64(-1.0)", "Its derivative is 0.")
sigmoid = _unary(_SIGMOID, "The logistic function 1 / (1 + e**-x), computed without overflow",
                 "0.0", "0.5")
relu = _unary(_RELU, "max(x, 0)", "-1.0", "0.0", "Convention: relu'(0) = 0.")


def _binary(prim: Primitive, summary: str, example: str, result: str,
            note: str = "") -> Callable[[Value, Value], Value]:
    def fn(x: Value, y: Value) -> Value:
        return bind2(prim, x, y)

    return _document(fn, prim, " with numpy broadcasting: the output has the broadcast shape",
                     summary, example, result, note)


add = _binary(_ADD, "x + y", "1.0, 2.0", "3.0")
subtract = _binary(_SUB, "x - y", "1.0, 2.0", "-1.0")
multiply = _binary(_MUL, "x * y", "3.0, 2.0", "6.0")
divide = _binary(_DIV, "x / y", "1.0, 4.0", "0.25")
power = _binary(_POW, "x ** y; y may be traced too", "2.0, 3.0", "8.0",
                "∂/∂y at x = 0 is taken as 0 (the limit for y > 0).")
maximum = _binary(_MAXIMUM, "The larger of x and y", "1.0, 2.0", "np.float64(2.0)",
                  "At a tie the derivative is split evenly: 1/2 goes to each argument.")
minimum = _binary(_MINIMUM, "The smaller of x and y", "1.0, 2.0", "np.float64(1.0)",
                  "At a tie the derivative is split evenly: 1/2 goes to each argument.")


def arctan2(y: Value, x: Value) -> Value:
    """The angle of the point (x, y): arctan(y / x) in the right quadrant, elementwise.

    >>> import dualdiff as dd
    >>> float(dd.arctan2(1.0, 1.0))
    0.7853981633974483
    """
    return bind2(_ARCTAN2, y, x)


def where(cond: Any, x: Value, y: Value) -> Value:
    """x where cond is true, else y, with broadcasting; the derivative flows only to the branch taken.

    ``cond`` is a boolean array or comparison result; a Dual there counts only by its value.

    >>> import dualdiff as dd
    >>> dd.where([True, False], [1.0, 2.0], [3.0, 4.0])
    array([1., 4.])
    """
    cond = np.asarray(stop_gradient(cond) if is_traced(cond) else cond, dtype=bool)
    return bind(_WHERE, x, y, cond=cond)


def sum(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """The sum of x's elements over ``axis`` (all of them by default), as np.sum.

    >>> import dualdiff as dd
    >>> dd.sum([[1.0, 2.0], [3.0, 4.0]], axis=0)
    array([4., 6.])
    """
    return bind1(_SUM, x, {"axis": _norm_axes(axis, len(shape_of(x))), "keepdims": bool(keepdims)})


def mean(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """The mean of x's elements over ``axis`` (all by default), as np.mean.

    >>> import dualdiff as dd
    >>> float(dd.mean([1.0, 2.0, 3.0]))
    2.0
    """
    shape = shape_of(x)
    axes = _norm_axes(axis, len(shape))
    count = math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)
    return divide(sum(x, axis=axes, keepdims=keepdims), float(count))


def reshape(x: Value, shape: Union[int, Sequence[int]]) -> Value:
    """x's elements in a new shape (C order), as np.reshape; one entry may be -1.

    >>> import dualdiff as dd
    >>> dd.reshape([1.0, 2.0, 3.0, 4.0], (2, 2)).shape
    (2, 2)
    """
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    return bind1(_RESHAPE, x, {"shape": shape})


def transpose(x: Value, axes: Optional[Sequence[int]] = None) -> Value:
    """x with its axes permuted (reversed by default), as np.transpose.

    >>> import dualdiff as dd
    >>> dd.transpose([[1.0, 2.0]]).shape
    (2, 1)
    """
    nd = len(shape_of(x))
    axes = tuple(range(nd))[::-1] if axes is None else tuple(
        int(a) + nd if -nd <= int(a) < 0 else int(a) for a in axes)
    if sorted(axes) != list(range(nd)):
        # Out-of-range axes stay as given (not wrapped round), so the message shows them.
        raise ValueError(f"axes {axes} are not a permutation of the {nd} axes of an array "
                         f"of shape {shape_of(x)}")
    return bind1(_TRANSPOSE, x, {"axes": axes})


def broadcast_to(x: Value, shape: Sequence[int]) -> Value:
    """x broadcast to ``shape`` (a read-only view for plain arrays), as np.broadcast_to.

    >>> import dualdiff as dd
    >>> dd.broadcast_to(1.0, (2,))
    array([1., 1.])
    """
    return bind1(_BROADCAST, x, {"shape": tuple(shape)})


def sum_to(x: Value, shape: Sequence[int]) -> Value:
    """x summed down to ``shape``: the transpose of broadcasting ``shape`` up to x's shape.

    This is how a cotangent flows back through numpy broadcasting.

    >>> import dualdiff as dd
    >>> dd.sum_to([[1.0, 2.0], [3.0, 4.0]], (2,))
    array([4., 6.])
    """
    shape = tuple(shape)
    xshape = shape_of(x)
    if xshape == shape:
        return x
    lead = len(xshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and xshape[lead + i] != 1)
    out = sum(x, axis=axes, keepdims=True) if axes else x
    return reshape(out, shape)


def getitem(x: Value, idx: Any) -> Value:
    """x[idx] with numpy's indexing rules (ints, slices, None, ..., integer and boolean arrays).

    >>> import dualdiff as dd
    >>> dd.getitem([1.0, 2.0, 3.0], slice(1, 3))
    array([2., 3.])
    """
    if type(idx) is not tuple:
        idx = (idx,)
    if not is_traced(x):
        return (x if type(x) is np.ndarray else np.asarray(x))[idx]
    for i in idx:
        if type(i) is not int and is_traced(i):
            raise TypeError("an index cannot be a Dual or tape variable: indices are not "
                            "differentiable; use an int or an integer array")
    return bind1(_GETITEM, x, {"idx": idx})


def stack(arrays: Sequence[Value], axis: int = 0) -> Value:
    """Join arrays of one shape along a new axis, as np.stack.

    >>> import dualdiff as dd
    >>> dd.stack([1.0, 2.0]).shape
    (2,)
    """
    arrays = _as_sequence(arrays, "stack")
    return bind(_STACK, *arrays, axis=int(axis))


def concatenate(arrays: Sequence[Value], axis: int = 0) -> Value:
    """Join arrays along an existing axis, as np.concatenate.

    >>> import dualdiff as dd
    >>> dd.concatenate([[1.0], [2.0, 3.0]]).shape
    (3,)
    """
    arrays = _as_sequence(arrays, "concatenate")
    if axis is None:
        return concatenate([reshape(a, (-1,)) for a in arrays], 0)
    return bind(_CONCAT, *arrays, axis=int(axis))


def _as_sequence(arrays: Any, name: str) -> list:
    if is_traced(arrays) or isinstance(arrays, np.ndarray):
        return [arrays[i] for i in range(len(arrays))]
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{name} takes a list or tuple of arrays, not {type(arrays).__name__}")
    if not arrays:
        raise ValueError(f"{name} needs at least one array")
    return list(arrays)


def matmul(a: Value, b: Value) -> Value:
    """The matrix product a @ b, as np.matmul: (m, n) @ (n, p) -> (m, p); vectors and stacks too.

    >>> import dualdiff as dd
    >>> dd.matmul([[1.0, 2.0]], [[3.0], [4.0]])
    array([[11.]])
    """
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: input operand has no dimension to multiply (shapes {sa} and {sb}); "
                         "use * for scalars")
    if sa[-1] != sb[-2 if len(sb) > 1 else 0]:
        raise ValueError(f"matmul: shapes {sa} and {sb} are not aligned "
                         f"({sa[-1]} != {sb[-2 if len(sb) > 1 else 0]})")
    return bind(_MATMUL, a, b)


def dot(a: Value, b: Value) -> Value:
    """The dot product as np.dot for arrays of up to two dimensions (a scalar multiplies).

    >>> import dualdiff as dd
    >>> float(dd.dot([1.0, 2.0], [3.0, 4.0]))
    11.0
    """
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if na > 2 or nb > 2:
        raise TypeError("dualdiff.dot handles arrays of up to 2 dimensions; for stacks of "
                        "matrices use matmul, whose broadcasting differs from np.dot's")
    return matmul(a, b)


def _shift(x: Value, axis) -> tuple:
    """x minus its (constant) maximum over ``axis``: exp of the result cannot overflow."""
    v = stop_gradient(x)
    # initial=-inf: an empty axis has no maximum; it then shifts by 0 and logsumexp is -inf.
    m = np.max(np.real(v), axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf along an axis: shift by 0, not by -inf
    return subtract(x, m), m


def logsumexp(x: Value, axis: Union[None, int, Sequence[int]] = None, keepdims: bool = False) -> Value:
    """log(sum(exp(x))) over ``axis`` (all elements by default), without overflow.

    The maximum is subtracted first and added back; it is a constant to every derivative (it
    cancels), so the gradient is softmax(x).

    >>> import dualdiff as dd
    >>> round(float(dd.logsumexp([1000.0, 1000.0])), 6)
    1000.693147
    """
    axes = _norm_axes(axis, len(shape_of(x)))
    shifted, m = _shift(x, axes)
    out = add(log(sum(exp(shifted), axis=axes, keepdims=True)), m)
    if keepdims:
        return out
    return reshape(out, tuple(n for i, n in enumerate(shape_of(out))
                              if not (axes is None or i in axes)))


def softmax(x: Value, axis: int = -1) -> Value:
    """exp(x) / sum(exp(x)) along ``axis`` (the last by default), without overflow.

    >>> import dualdiff as dd
    >>> dd.softmax([1000.0, 1000.0])
    array([0.5, 0.5])
    """
    axes = _norm_axes(axis, len(shape_of(x)))
    e = exp(_shift(x, axes)[0])
    return divide(e, sum(e, axis=axes, keepdims=True))


def log_softmax(x: Value, axis: int = -1) -> Value:
    """x - logsumexp(x) along ``axis`` (the last by default): the log of softmax, without overflow.

    >>> import dualdiff as dd
    >>> dd.log_softmax([1000.0, 1000.0])
    array([-0.69314718, -0.69314718])
    """
    axes = _norm_axes(axis, len(shape_of(x)))
    # (x - m) - log Σ exp(x - m): subtracting the whole logsumexp from x instead would cancel
    # the leading digits at large x (1000 - 1000.69...) and lose ~1e-13 relative accuracy.
    shifted = _shift(x, axes)[0]
    return subtract(shifted, log(sum(exp(shifted), axis=axes, keepdims=True)))
