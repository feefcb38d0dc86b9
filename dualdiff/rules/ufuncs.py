"""Elementwise functions: arithmetic, powers, exponentials, trigonometry, activations, max/min.

The second half of the table (from ``SQUARE`` on) holds the rest of numpy's differentiable ufuncs:
squares and roots, base-2 and base-10 logarithms, ``logaddexp``, ``hypot``, the inverse
hyperbolic functions, ``sinc``, angle conversions, ``fmax``/``fmin``, ``copysign``, ``mod``/``fmod``,
``float_power`` and ``heaviside``; and two composites, ``clip`` and ``nan_to_num``.

Each entry is its numpy implementation and one partial per argument (:mod:`.partials` turns
those into both rules). Partials are written with dualdiff's own functions, so that applied to
traced values they are themselves differentiated: Hessians come from nesting.
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any, Callable

import numpy as np

from .. import buffers
from ..primitives import Primitive, bind1, bind2, is_traced, shape_of, stop_gradient
from .assembly import where
from .complex_parts import conj, imag, real
from .partials import elementwise
from .shape import copy
from .table import FLOATS, NATIVE, SCALAR_TYPES, Value, float_dtype

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
sign: Callable[[Value], Value]
abs: Callable[[Value], Value]
exp2: Callable[[Value], Value]
sinc: Callable[[Value], Value]
float_power: Callable[[Value, Value], Value]


# Python's operators for numbers and ndarrays (no ufunc dispatch), numpy's ufuncs for anything
# else (lists). Written out rather than generated: they run on every arithmetic operation. An
# array of a megabyte or more goes to the buffer pool (see dualdiff.buffers): its result is
# written into memory an earlier call freed instead of fresh pages.
_ND, _POOL_MIN = np.ndarray, buffers.MIN_BYTES


def _add_impl(a, b):
    ta = type(a)
    if ta is _ND:
        if a.nbytes >= _POOL_MIN and type(b) in NATIVE:
            return buffers.call(np.add, a, b)
    elif type(b) is _ND and b.nbytes >= _POOL_MIN and ta in NATIVE:
        return buffers.call(np.add, a, b)
    return a + b if ta in NATIVE and type(b) in NATIVE else np.add(a, b)


def _sub_impl(a, b):
    ta = type(a)
    if ta is _ND:
        if a.nbytes >= _POOL_MIN and type(b) in NATIVE:
            return buffers.call(np.subtract, a, b)
    elif type(b) is _ND and b.nbytes >= _POOL_MIN and ta in NATIVE:
        return buffers.call(np.subtract, a, b)
    return a - b if ta in NATIVE and type(b) in NATIVE else np.subtract(a, b)


def _mul_impl(a, b):
    ta = type(a)
    if ta is _ND:
        if a.nbytes >= _POOL_MIN and type(b) in NATIVE:
            return buffers.call(np.multiply, a, b)
    elif type(b) is _ND and b.nbytes >= _POOL_MIN and ta in NATIVE:
        return buffers.call(np.multiply, a, b)
    return a * b if ta in NATIVE and type(b) in NATIVE else np.multiply(a, b)


def _one_minus_square(o: Any) -> Any:
    """``1.0 - o * o`` (tanh's partial); for a plain array the difference is written into the
    square's own memory, which numpy does by itself only from 256 KiB on: the same two
    roundings, one new array instead of two."""
    if type(o) is _ND and o.ndim and o.dtype.kind == "f":
        square = o * o
        return np.subtract(1.0, square, out=square)
    return 1.0 - o * o


def _scalar_fast(math_fn: Callable[[float], float], np_fn: Callable[..., Any]) -> Callable[[Any], Any]:
    """numpy's function, with the math module's for a lone float (about 10x less overhead).

    math raises where numpy returns nan/inf with a warning (log(-1), exp(1000)); falling back
    to numpy there keeps numpy's semantics exactly.
    """

    def impl(x):
        if type(x) in FLOATS:
            try:
                return math_fn(x)
            except (ValueError, OverflowError):
                pass
        elif type(x) is _ND and x.nbytes >= _POOL_MIN:
            return buffers.call(np_fn, x)
        return np_fn(x)

    impl.__name__ = np_fn.__name__
    return impl


def _div_impl(a, b):
    if type(a) not in NATIVE or type(b) not in NATIVE:
        return np.true_divide(a, b)
    try:
        return a / b
    except ZeroDivisionError:  # Python floats raise where numpy gives inf/nan with a warning
        return np.true_divide(a, b)


def _pow_impl(a, b):
    if type(a) in FLOATS and type(b) in (float, int, np.float64):
        try:
            r = a ** b
            if type(r) is not complex:  # Python gives complex for (-8.0) ** (1/3); numpy nan
                return r
        except (ZeroDivisionError, OverflowError):
            pass
    elif type(a) is np.float32 and type(b) in (float, int, np.float32):
        return a ** b  # numpy's float32 scalar power (not its ufunc loop: 1 ulp apart at times)
    elif type(a) is _ND and a.nbytes >= _POOL_MIN:
        return buffers.call(np.power, a, b)
    return np.power(a, b)


def _relu_impl(x):
    if type(x) in FLOATS:
        return 0.0 if x <= 0.0 else x  # nan stays nan, as in numpy
    return np.maximum(x, 0)


def _sigmoid_impl(x):
    # 1/(1+e^-x) overflows for large negative x; e^-|x| never does and keeps full relative
    # precision in both tails.
    if type(x) in FLOATS:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    x = np.asarray(x)
    if x.dtype.kind == "c":  # no overflow to avoid off the real axis: the poles are at iπ(2k+1)
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _step(x):
    """1.0 where x > 0, else 0.0: the derivative of relu, with relu'(0) = 0."""
    x = stop_gradient(x)
    if type(x) in FLOATS or type(x) is int:
        return 1.0 if x > 0 else 0.0
    if not is_traced(x):  # (under dd.compile x is a recorded value: the comparison is recorded)
        x = np.asarray(x)
    return (x > 0).astype(np.result_type(x, 1.0))  # float32 stays float32


def _zeros_partial(x, out):
    return np.zeros(shape_of(out), dtype=float_dtype(out))


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
    if type(y) in SCALAR_TYPES and y == 2:
        # x ** 2 is common; x ** 1 would be a wasted pass over memory. (A plain array: the
        # product's impl, which writes a large one into the buffer pool.)
        return _mul_impl(2.0, x) if type(x) is _ND else 2.0 * x
    zero = np.equal(stop_gradient(y), 0)
    if np.any(zero):
        # x ** 0 is the constant 1, so its derivative is 0 everywhere; the formula would give
        # 0 * 0 ** -1 = 0 * inf = nan at x = 0 (a polynomial's constant term, x ** arange(n)).
        # The base is replaced by 1 there too, so that 0 ** -1 is not even computed (no warning).
        return where(zero, 0.0, y * power(where(zero, 1.0, x), y - 1))
    return y * power(x, y - 1)


def _twice_times(x, s):
    """``(2x) · s`` computed as ``x · (2s)``: one operation instead of two, the same bits (2x and
    2s are exact; where 2x would overflow, this is the finite product)."""
    return _mul_impl(x, 2.0 * s) if type(x) is _ND else x * (2.0 * s)


def _pow_base_times(x, y, out, s):
    if type(y) in SCALAR_TYPES and y == 2:
        return _twice_times(x, s)
    return _pow_base_partial(x, y, out) * s


_pow_base_partial.times_scalar = _pow_base_times  # type: ignore[attr-defined]


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


ADD = elementwise("add", _add_impl, (1, 1), needs="none", complex="holomorphic")
SUB = elementwise("subtract", _sub_impl, (1, -1), needs="none", complex="holomorphic")
MUL = elementwise("multiply", _mul_impl, (lambda a, b, o: b, lambda a, b, o: a), needs="args", complex="holomorphic",
                  reads=((1,), (0,)))
DIV = elementwise("divide", _div_impl,
                    (lambda a, b, o: divide(1.0, b), lambda a, b, o: -divide(o, b)), complex="holomorphic")
#: What the impls of add, subtract and multiply compute for two Python floats, as one C call
#: (the interpreters call it there directly: scalar code runs one Python call fewer per operation).
FLOAT_OPS = {ADD: operator.add, SUB: operator.sub, MUL: operator.mul}
NEG = elementwise("negative", lambda a: -a if type(a) in NATIVE else np.negative(a), (-1,), needs="none", complex="holomorphic")
POW = elementwise("power", _pow_impl, (_pow_base_partial, _pow_exponent_partial), needs="args", complex="holomorphic")

SIN = elementwise("sin", _scalar_fast(math.sin, np.sin), (lambda x, o: cos(x),), needs="args", complex="holomorphic")
COS = elementwise("cos", _scalar_fast(math.cos, np.cos), (lambda x, o: -sin(x),), needs="args", complex="holomorphic")
TAN = elementwise("tan", _scalar_fast(math.tan, np.tan), (lambda x, o: 1.0 + o * o,),
                    needs="out", complex="holomorphic")
EXP = elementwise("exp", _scalar_fast(math.exp, np.exp), (lambda x, o: o,), needs="out", complex="holomorphic")
LOG = elementwise("log", _scalar_fast(math.log, np.log), (lambda x, o: divide(1.0, x),), needs="args", complex="holomorphic")
LOG1P = elementwise("log1p", _scalar_fast(math.log1p, np.log1p),
                      (lambda x, o: divide(1.0, 1.0 + x),), needs="args", complex="holomorphic")
EXPM1 = elementwise("expm1", _scalar_fast(math.expm1, np.expm1), (lambda x, o: o + 1.0,),
                      needs="out", complex="holomorphic")
SQRT = elementwise("sqrt", _scalar_fast(math.sqrt, np.sqrt), (lambda x, o: divide(0.5, o),),
                     needs="out", complex="holomorphic")
TANH = elementwise("tanh", _scalar_fast(math.tanh, np.tanh),
                     (lambda x, o: _one_minus_square(o),), needs="out", complex="holomorphic")
SINH = elementwise("sinh", _scalar_fast(math.sinh, np.sinh), (lambda x, o: cosh(x),), needs="args", complex="holomorphic")
COSH = elementwise("cosh", _scalar_fast(math.cosh, np.cosh), (lambda x, o: sinh(x),), needs="args", complex="holomorphic")
ARCSIN = elementwise("arcsin", _scalar_fast(math.asin, np.arcsin),
                       (lambda x, o: divide(1.0, sqrt(1.0 - x * x)),), needs="args", complex="holomorphic")
ARCCOS = elementwise("arccos", _scalar_fast(math.acos, np.arccos),
                       (lambda x, o: divide(-1.0, sqrt(1.0 - x * x)),), needs="args", complex="holomorphic")
ARCTAN = elementwise("arctan", _scalar_fast(math.atan, np.arctan),
                       (lambda x, o: divide(1.0, 1.0 + x * x),), needs="args", complex="holomorphic")
ARCTAN2 = elementwise(
    "arctan2", np.arctan2,
    (lambda y, x, o: divide(x, x * x + y * y), lambda y, x, o: divide(-y, x * x + y * y)),
    needs="args", complex="real")
# |z| and z/|z| are not complex-analytic: for complex z their rules use the Wirtinger partials
# (∂/∂z, ∂/∂z̄), |z| = (z z̄)^½ giving (z̄/2|z|, z/2|z|); written with sign so that |0|' = 0.
ABS = elementwise("abs", lambda x: builtins.abs(x) if type(x) in FLOATS else np.abs(x),
                  (lambda x, o: np.sign(stop_gradient(x)),), needs="args",
                  doc="abs'(0) = 0 (the sign of 0), as JAX and PyTorch", complex="rules",
                  wirtinger=[(lambda z, o: 0.5 * conj(sign(z)), lambda z, o: 0.5 * sign(z))])
SIGN = elementwise("sign", np.sign, (_zeros_partial,), needs="both", complex="rules",
                   wirtinger=[(lambda z, o: divide(0.5, abs(z)),
                               lambda z, o: -divide(0.5 * o * o, abs(z)))],
                   doc="0 for real x; z/|z| for complex z, whose derivative is not 0")
# σ' = σ(x)·σ(−x) rather than σ(1 − σ): for large x, 1 − σ(x) rounds to 0 and the derivative
# (e^−x, tiny but exactly representable) would be lost; both factors keep full relative precision.
SIGMOID = elementwise("sigmoid", _sigmoid_impl,
                        (lambda x, o: o * sigmoid(-x),), needs="both", complex="holomorphic")
RELU = elementwise("relu", _relu_impl, (lambda x, o: _step(x),), needs="args",
                     doc="relu'(0) = 0", complex="real")
MAXIMUM = elementwise("maximum", np.maximum,
                        (_max_partial, lambda x, y, o: 1.0 - _max_partial(x, y, o)),
                        needs="args", doc="a tie splits the derivative evenly: 1/2 to each side", complex="real")
MINIMUM = elementwise("minimum", np.minimum,
                        (_min_partial, lambda x, y, o: 1.0 - _min_partial(x, y, o)),
                        needs="args", doc="a tie splits the derivative evenly: 1/2 to each side", complex="real")


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
    impl = prim.impl

    def fn(x: Value) -> Value:
        # (a Python float: what bind1 does, one call sooner; the rules call these on floats)
        return impl(x) if type(x) is float else bind1(prim, x)

    fn.unary = prim  # type: ignore[attr-defined]  # numpy's dispatch binds it directly
    return _document(fn, prim, ": the output has x's shape", summary, example, result, note)


sin = _unary(SIN, "sin x", "0.0", "0.0")
cos = _unary(COS, "cos x", "0.0", "1.0")
tan = _unary(TAN, "tan x", "0.0", "0.0")
exp = _unary(EXP, "e to the x", "0.0", "1.0")
log = _unary(LOG, "Natural logarithm of x", "1.0", "0.0",
             "Negative x gives nan with numpy's RuntimeWarning, exactly as np.log.")
log1p = _unary(LOG1P, "log(1 + x), accurate for small x", "0.0", "0.0")
expm1 = _unary(EXPM1, "e**x - 1, accurate for small x", "0.0", "0.0")
sqrt = _unary(SQRT, "Square root of x", "4.0", "2.0", "Its derivative at 0 is inf.")
tanh = _unary(TANH, "Hyperbolic tangent of x", "0.0", "0.0")
sinh = _unary(SINH, "Hyperbolic sine of x", "0.0", "0.0")
cosh = _unary(COSH, "Hyperbolic cosine of x", "0.0", "1.0")
arcsin = _unary(ARCSIN, "Inverse sine of x", "0.0", "0.0")
arccos = _unary(ARCCOS, "Inverse cosine of x", "1.0", "0.0")
arctan = _unary(ARCTAN, "Inverse tangent of x", "0.0", "0.0")
negative = _unary(NEG, "-x", "2.0", "-2.0")
abs = _unary(ABS, "|x|", "-2.0", "2.0", "Convention: abs'(0) = 0.")
sign = _unary(SIGN, "The sign of x (-1, 0 or 1; z/|z| for complex z)", "-2.0", "np.float64(-1.0)",
              "Its derivative is 0 for real x.")
sigmoid = _unary(SIGMOID, "The logistic function 1 / (1 + e**-x), computed without overflow",
                 "0.0", "0.5")
relu = _unary(RELU, "max(x, 0)", "-1.0", "0.0", "Convention: relu'(0) = 0.")


def _binary(prim: Primitive, summary: str, example: str, result: str,
            note: str = "") -> Callable[[Value, Value], Value]:
    impl = prim.impl

    def fn(x: Value, y: Value) -> Value:
        # (Python floats: what bind2 does, one call sooner; the rules call these on floats)
        return impl(x, y) if type(x) is float and type(y) is float else bind2(prim, x, y)

    return _document(fn, prim, " with numpy broadcasting: the output has the broadcast shape",
                     summary, example, result, note)


add = _binary(ADD, "x + y", "1.0, 2.0", "3.0")
subtract = _binary(SUB, "x - y", "1.0, 2.0", "-1.0")
multiply = _binary(MUL, "x * y", "3.0, 2.0", "6.0")
divide = _binary(DIV, "x / y", "1.0, 4.0", "0.25")
power = _binary(POW, "x ** y; y may be traced too", "2.0, 3.0", "8.0",
                "∂/∂y at x = 0 is taken as 0 (the limit for y > 0).")
maximum = _binary(MAXIMUM, "The larger of x and y", "1.0, 2.0", "np.float64(2.0)",
                  "At a tie the derivative is split evenly: 1/2 goes to each argument.")
minimum = _binary(MINIMUM, "The smaller of x and y", "1.0, 2.0", "np.float64(1.0)",
                  "At a tie the derivative is split evenly: 1/2 goes to each argument.")


def arctan2(y: Value, x: Value) -> Value:
    """The angle of the point (x, y): arctan(y / x) in the right quadrant, elementwise.

    >>> import dualdiff as dd
    >>> float(dd.arctan2(1.0, 1.0))
    0.7853981633974483
    """
    return bind2(ARCTAN2, y, x)




# -- the rest of numpy's differentiable ufuncs ----------------------------------------------
# Conventions at kinks and jumps are stated in each entry's doc (the generated
# docs/numpy-support.md shows them) and tested in tests/test_ufuncs_reductions.py.

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _values(*xs):
    """The plain values under the tracing: masks and piecewise-constant partials read only these."""
    return tuple(stop_gradient(x) for x in xs)


def _as_float(d, *like):
    """A plain partial computed by numpy (0.5, ±1, quotients) in the arguments' floating dtype.

    ``d`` comes from numpy functions of the values (an array, or under dd.compile a recorded
    value): its own astype keeps the conversion recorded too.
    """
    return d.astype(np.result_type(*like, 1.0), copy=False)


def _fmax_partial(x, y, out):
    # As maximum, except that a nan loses: fmax(x, nan) is x, so the derivative goes to x.
    xv, yv = _values(x, y)
    d = np.where(np.greater(xv, yv) | np.isnan(yv), 1.0, np.where(np.equal(xv, yv), 0.5, 0.0))
    return _as_float(d, xv, yv)


def _fmin_partial(x, y, out):
    xv, yv = _values(x, y)
    d = np.where(np.less(xv, yv) | np.isnan(yv), 1.0, np.where(np.equal(xv, yv), 0.5, 0.0))
    return _as_float(d, xv, yv)


def _copysign_partial(x, y, out):
    # copysign(x, y) = |x| · (±1 by y's sign bit): ∂/∂x = sign(x) · (±1), 0 at x = 0 as for abs.
    xv, yv = _values(x, y)
    return _as_float(np.sign(xv) * np.where(np.signbit(yv), -1.0, 1.0), xv, yv)


def _mod_divisor_partial(x, y, out):
    # x mod y = x - q·y with q an integer constant between jumps, so ∂/∂y = -q. q is read off the
    # value numpy computed, q = (x - out) / y rounded, so it is the branch numpy's value lies on
    # (floor(x/y) for mod/remainder, trunc(x/y) for fmod) even where x/y rounds to an integer.
    xv, yv, ov = _values(x, y, out)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _as_float(-np.round((xv - ov) / yv), xv, yv)


def _hypot_partial(x, y, out):
    # x / hypot(x, y); at the origin hypot is a cone (like abs), whose derivative is taken as 0.
    if np.any(np.equal(stop_gradient(out), 0)):
        zero = np.equal(stop_gradient(out), 0)
        return where(zero, 0.0, divide(x, where(zero, 1.0, out)))
    return divide(x, out)


def _logaddexp_partial(x, y, out, base_exp):
    # ∂/∂x = exp(x - out), which is inf - inf where x is the infinite out: log(eˣ + eʸ) with
    # x = y = -inf, the start of np.logaddexp.reduce over log-probabilities that are log 0, where
    # a nan would spread to every other term's derivative. There the partials are 1/2 each when
    # y is that infinity too (they sum to 1, as log(eˣ⁺ᶜ + eʸ⁺ᶜ) = out + c says, and are equal),
    # and 1 for x where only x is (out = x = +inf).
    ov = stop_gradient(out)
    if not np.any(np.isinf(ov)):
        return base_exp(x - out)
    xv = stop_gradient(x)
    same = np.isinf(xv) & np.equal(xv, ov)
    if not np.any(same):
        return base_exp(x - out)
    yv = stop_gradient(y)
    limit = np.where(np.isinf(yv) & np.equal(yv, ov), 0.5, 1.0).astype(float_dtype(out))
    return where(same, limit, base_exp(where(same, 0.0, x) - where(same, 0.0, out)))


def _zero2(x, y, out):
    """The partial of a piecewise-constant argument: 0 everywhere (from the arguments, which the
    tape keeps, in their dtype)."""
    xv, yv = _values(x, y)
    return np.zeros(np.broadcast_shapes(np.shape(xv), np.shape(yv)), dtype=np.result_type(xv, yv, 1.0))


# d/dt (sin t / t) = Σ_{n≥1} (-1)^n 2n t^(2n-1) / (2n+1)!, as a polynomial in t² (times t)
_SINC_SERIES = [(-1) ** n * 2 * n / math.factorial(2 * n + 1) for n in range(1, 10)]


def _sinc_partial(x, out):
    # sinc'(x) = (cos(πx) - sinc(x)) / x, which cancels catastrophically near 0 and is 0/0 at 0.
    # There a Taylor polynomial (exact to rounding for |x| < 0.1) stands in: written with
    # dualdiff's operators, its own derivatives at 0 are right too (sinc''(0) = -π²/3).
    small = np.abs(stop_gradient(x)) < 0.1
    if not np.any(small):
        return divide(cos(math.pi * x) - out, x)
    safe = where(small, 1.0, x)
    far = divide(cos(math.pi * safe) - where(small, 0.0, out), safe)
    t = math.pi * x
    t2 = t * t
    acc = _SINC_SERIES[-1]
    for c in reversed(_SINC_SERIES[:-1]):
        acc = acc * t2 + c
    return where(small, math.pi * t * acc, far)


def _float_power_base_partial(x, y, out):
    return y * float_power(x, y - 1.0)


def _float_power_exponent_partial(x, y, out):
    xv = stop_gradient(x)
    if np.any(np.equal(xv, 0)):  # the limit 0 at x = 0, as for power
        return where(np.equal(xv, 0), 0.0, out * log(where(np.equal(xv, 0), 1.0, x)))
    return out * log(x)


def _square_impl(x):
    return x * x if type(x) in FLOATS else np.square(x)


def _reciprocal_impl(x):
    # 1.0 / x, not np.reciprocal: that truncates integers (reciprocal(2) == 0).
    return _div_impl(1.0, x)


def _square_partial(x, o):
    return 2.0 * x


_square_partial.times_scalar = lambda x, o, s: _twice_times(x, s)  # type: ignore[attr-defined]

# complex="holomorphic" where numpy takes complex input and each partial is the complex
# derivative; "real" where numpy refuses complex input or the function is built on an ordering.
_HOLO, _REAL = "holomorphic", "real"
SQUARE = elementwise("square", _square_impl, (_square_partial,), needs="args", complex=_HOLO)
RECIPROCAL = elementwise(
    "reciprocal", _reciprocal_impl, (lambda x, o: -(o * o),), needs="out", complex=_HOLO,
    doc="integers give their float reciprocal (1/2 = 0.5), unlike np.reciprocal")
CBRT = elementwise("cbrt", np.cbrt, (lambda x, o: divide(1.0, 3.0 * o * o),), needs="out",
                   complex=_REAL, doc="its derivative at 0 is inf")
LOG2 = elementwise("log2", _scalar_fast(math.log2, np.log2),
                   (lambda x, o: divide(1.0 / _LN2, x),), needs="args", complex=_HOLO)
LOG10 = elementwise("log10", _scalar_fast(math.log10, np.log10),
                    (lambda x, o: divide(1.0 / _LN10, x),), needs="args", complex=_HOLO)
EXP2 = elementwise("exp2", np.exp2, (lambda x, o: o * _LN2,), needs="out", complex=_HOLO)
LOGADDEXP = elementwise("logaddexp", np.logaddexp,
                        (lambda x, y, o: _logaddexp_partial(x, y, o, exp),
                         lambda x, y, o: _logaddexp_partial(y, x, o, exp)),
                        needs="both", complex=_REAL,
                        doc="where both arguments are -inf (or both +inf) each partial is 1/2")
LOGADDEXP2 = elementwise("logaddexp2", np.logaddexp2,
                         (lambda x, y, o: _logaddexp_partial(x, y, o, exp2),
                          lambda x, y, o: _logaddexp_partial(y, x, o, exp2)),
                         needs="both", complex=_REAL,
                         doc="where both arguments are -inf (or both +inf) each partial is 1/2")
HYPOT = elementwise("hypot", np.hypot, (_hypot_partial, lambda x, y, o: _hypot_partial(y, x, o)),
                    needs="both", complex=_REAL,
                    doc="the derivative at hypot(0, 0) is taken as 0 in both arguments, as abs'(0)")
ARCSINH = elementwise("arcsinh", _scalar_fast(math.asinh, np.arcsinh),
                      (lambda x, o: divide(1.0, sqrt(x * x + 1.0)),), needs="args", complex=_HOLO)
ARCCOSH = elementwise("arccosh", _scalar_fast(math.acosh, np.arccosh),
                      (lambda x, o: divide(1.0, sqrt(x * x - 1.0)),), needs="args", complex=_HOLO,
                      doc="its derivative at 1 is inf")
ARCTANH = elementwise("arctanh", _scalar_fast(math.atanh, np.arctanh),
                      (lambda x, o: divide(1.0, 1.0 - x * x),), needs="args", complex=_HOLO)
SINC = elementwise("sinc", np.sinc, (_sinc_partial,), needs="both", complex=_HOLO,
                   doc="normalised, sin(πx)/(πx); exact at and near 0 to any order (a Taylor "
                       "polynomial replaces the cancelling formula for |x| < 0.1)")
DEG2RAD = elementwise("deg2rad", np.deg2rad, (lambda x, o: math.pi / 180.0,), needs="none",
                      complex=_REAL, doc="also numpy's radians")
RAD2DEG = elementwise("rad2deg", np.rad2deg, (lambda x, o: 180.0 / math.pi,), needs="none",
                      complex=_REAL, doc="also numpy's degrees")
FMAX = elementwise("fmax", np.fmax, (_fmax_partial, lambda x, y, o: 1.0 - _fmax_partial(x, y, o)),
                   needs="args", complex=_REAL,
                   doc="a nan loses (the derivative goes to the other argument); a tie splits "
                       "the derivative evenly, 1/2 to each side")
FMIN = elementwise("fmin", np.fmin, (_fmin_partial, lambda x, y, o: 1.0 - _fmin_partial(x, y, o)),
                   needs="args", complex=_REAL,
                   doc="a nan loses (the derivative goes to the other argument); a tie splits "
                       "the derivative evenly, 1/2 to each side")
COPYSIGN = elementwise("copysign", np.copysign, (_copysign_partial, _zero2), needs="args",
                       complex=_REAL, doc="∂/∂x = ±sign(x), 0 at x = 0 (as abs'(0)); ∂/∂y = 0")
MOD = elementwise("mod", np.remainder, (1, _mod_divisor_partial), needs="both", complex=_REAL,
                  doc="also numpy's remainder and the % operator: ∂/∂x = 1, ∂/∂y = -floor(x/y); "
                      "at a jump, the quotient of the branch numpy's value lies on")
FMOD = elementwise("fmod", np.fmod, (1, _mod_divisor_partial), needs="both", complex=_REAL,
                   doc="∂/∂x = 1, ∂/∂y = -trunc(x/y); at a jump, the quotient of the branch "
                       "numpy's value lies on")
FLOAT_POWER = elementwise("float_power", np.float_power,
                          (_float_power_base_partial, _float_power_exponent_partial),
                          needs="both", complex=_HOLO,
                          doc="computed in float64 (or complex128) as numpy does, float32 "
                              "included; ∂/∂y at x = 0 is taken as 0")
HEAVISIDE = elementwise("heaviside", np.heaviside, (_zero2, _zero2), needs="args", complex=_REAL,
                        doc="piecewise constant: its derivative is 0 everywhere (at 0 too)")


square = _unary(SQUARE, "x * x", "3.0", "9.0")
reciprocal = _unary(RECIPROCAL, "1 / x (integers too give floats)", "4.0", "0.25")
cbrt = _unary(CBRT, "The real cube root of x (derivative inf at 0)", "-8.0", "np.float64(-2.0)")
log2 = _unary(LOG2, "Base-2 logarithm of x", "8.0", "3.0")
log10 = _unary(LOG10, "Base-10 logarithm of x", "100.0", "2.0")
exp2 = _unary(EXP2, "2 to the x", "3.0", "np.float64(8.0)")
arcsinh = _unary(ARCSINH, "Inverse hyperbolic sine of x", "0.0", "0.0")
arccosh = _unary(ARCCOSH, "Inverse hyperbolic cosine of x (x >= 1; derivative inf at 1)",
                 "1.0", "0.0")
arctanh = _unary(ARCTANH, "Inverse hyperbolic tangent of x (|x| < 1)", "0.0", "0.0")
sinc = _unary(SINC, "The normalised sinc function sin(πx) / (πx), 1 at 0 (its derivatives "
              "exact at and near 0, to any order)", "0.5", "np.float64(0.6366197723675814)")
deg2rad = _unary(DEG2RAD, "Degrees to radians, x·π/180", "180.0", "np.float64(3.141592653589793)")
rad2deg = _unary(RAD2DEG, "Radians to degrees, x·180/π", "np.pi", "np.float64(180.0)")
radians = deg2rad
degrees = rad2deg
logaddexp = _binary(LOGADDEXP, "log(exp(x) + exp(y)), without overflow", "0.0, 0.0",
                    "np.float64(0.6931471805599453)")
logaddexp2 = _binary(LOGADDEXP2, "log2(2**x + 2**y), without overflow", "1.0, 1.0",
                     "np.float64(2.0)")
hypot = _binary(HYPOT, "sqrt(x**2 + y**2), without overflow (derivative 0 at the origin, as "
                "for abs)", "3.0, 4.0", "np.float64(5.0)")
fmax = _binary(FMAX, "The larger of x and y, ignoring a nan (a nan loses; a tie gives 1/2 to "
               "each)", "1.0, np.nan", "np.float64(1.0)")
fmin = _binary(FMIN, "The smaller of x and y, ignoring a nan (a nan loses; a tie gives 1/2 to "
               "each)", "1.0, np.nan", "np.float64(1.0)")
copysign = _binary(COPYSIGN, "|x| with the sign of y (∂/∂x = ±sign x, 0 at x = 0; ∂/∂y = 0)",
                   "2.0, -0.0", "np.float64(-2.0)")
mod = _binary(MOD, "x mod y with the sign of y, numpy's remainder and Python's % (∂/∂x = 1, "
              "∂/∂y = -floor(x/y); at a jump, the branch numpy's value is on)", "-1.0, 3.0",
              "np.float64(2.0)")
remainder = mod
fmod = _binary(FMOD, "x mod y with the sign of x, C's fmod (∂/∂x = 1, ∂/∂y = -trunc(x/y))",
               "-1.0, 3.0", "np.float64(-1.0)")
float_power = _binary(FLOAT_POWER, "x ** y computed in float64 (float32 too), as np.float_power "
                      "(∂/∂y at x = 0 taken as 0)", "2.0, 3.0", "np.float64(8.0)")
heaviside = _binary(HEAVISIDE, "The step function: 0 for x < 0, y at x = 0, 1 for x > 0 "
                    "(derivative 0)", "0.0, 0.5", "np.float64(0.5)")
true_divide = divide


def positive(x: Value) -> Value:
    """+x, as np.positive: a copy, so that writing into it (y += v, y[i] = v) leaves x alone.

    >>> import dualdiff as dd
    >>> dd.positive(-2.0)
    np.float64(-2.0)
    """
    return copy(x) if is_traced(x) else np.positive(x)


def fabs(x: Value) -> Value:
    """|x| for real x, as np.fabs (which refuses complex numbers); abs'(0) = 0.

    >>> import dualdiff as dd
    >>> dd.fabs(-2.0)
    2.0
    """
    if np.iscomplexobj(stop_gradient(x)):
        raise TypeError("fabs is defined for real numbers only (as np.fabs); use dd.abs for "
                        "the modulus of complex numbers")
    return abs(x)


def clip(x: Value, a_min: Value = None, a_max: Value = None) -> Value:
    """x limited to [a_min, a_max] elementwise, as np.clip; either bound may be None or an array.
    Where x equals a bound the derivative is split evenly, 1/2 to x and 1/2 to the bound (JAX's
    convention); strictly inside all of it goes to x, outside all of it to the bound.

    It is ``minimum(maximum(x, a_min), a_max)``, so a bound that is traced is differentiated too.

    >>> import dualdiff as dd
    >>> dd.clip([-1.0, 0.5, 2.0], 0.0, 1.0)
    array([0. , 0.5, 1. ])
    >>> float(dd.derivative(lambda x: dd.clip(x, 0.0, 1.0), 1.0))    # at the bound
    0.5
    """
    if a_min is None and a_max is None:
        return x if is_traced(x) else np.clip(x, None, None)
    out = x
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


def nan_to_num(x: Value, copy: bool = True, nan: float = 0.0, posinf: Any = None,
               neginf: Any = None) -> Value:
    """x with nan and ±inf replaced by finite numbers, as np.nan_to_num. The derivative is 1
    where x is finite and 0 where a value was replaced (a constant).

    As for
    ``where``, a nan or inf made by an operation *before* nan_to_num still meets a zero
    cotangent in reverse mode, which its own rule may turn into nan (0 · inf).

    >>> import dualdiff as dd, numpy as np
    >>> dd.grad(lambda x: dd.sum(dd.nan_to_num(x)), np.array([np.inf, 2.0]))
    array([0., 1.])
    """
    if not is_traced(x):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    v = stop_gradient(x)
    if np.iscomplexobj(v):  # numpy replaces in the real and the imaginary part separately
        parts = (nan_to_num(p, nan=nan, posinf=posinf, neginf=neginf) for p in (real(x), imag(x)))
        return add(next(parts), multiply(1j, next(parts)))
    finite = np.isfinite(v)
    if np.all(finite):
        return x
    return where(finite, x, np.nan_to_num(v, nan=nan, posinf=posinf, neginf=neginf))


def ldexp(x: Value, e: Any) -> Value:
    """x · 2**e for integer exponents e, as np.ldexp (the derivative in x is 2**e).

    >>> import dualdiff as dd
    >>> dd.ldexp(3.0, 2)
    np.float64(12.0)
    """
    if is_traced(e):
        raise TypeError("ldexp: the exponent must be integers, not a traced value")
    e = np.asarray(e)
    if e.dtype.kind not in "biu":
        raise TypeError(f"ldexp: the exponent must be integers, not {e.dtype}")
    if np.iscomplexobj(stop_gradient(x)):
        raise TypeError("ldexp of a complex value: numpy's ldexp takes real floats only; "
                        "multiply by 2.0 ** e instead")
    one = np.ones((), dtype=float_dtype(x))
    if e.size == 0 or np.max(np.abs(e)) <= 1000:  # 2**e is finite and normal: one exact product
        return multiply(x, np.ldexp(one, e))
    half = e // 2  # 2**e itself would overflow or underflow: two powers of two
    return multiply(multiply(x, np.ldexp(one, half)), np.ldexp(one, e - half))


def divmod_(x: Value, y: Value) -> tuple:
    """(x // y, x mod y), as np.divmod: the quotient is plain (piecewise constant), the remainder is `mod`.

    >>> from dualdiff.rules.ufuncs import divmod_
    >>> divmod_(7.0, 2.0)
    (np.float64(3.0), np.float64(1.0))
    """
    return np.floor_divide(stop_gradient(x), stop_gradient(y)), mod(x, y)
