"""Elementwise functions: arithmetic, powers, exponentials, trigonometry, activations, max/min.

Each entry is its numpy implementation and one partial per argument (:mod:`.partials` turns
those into both rules). Partials are written with dualdiff's own functions, so that applied to
traced values they are themselves differentiated: Hessians come from nesting.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Callable

import numpy as np

from ..primitives import Primitive, bind1, bind2, shape_of, stop_gradient
from .assembly import where
from .complex_parts import conj
from .partials import elementwise
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


# Python's operators for numbers and ndarrays (no ufunc dispatch), numpy's ufuncs for anything
# else (lists). Written out rather than generated: they run on every arithmetic operation.
def _add_impl(a, b):
    return a + b if type(a) in NATIVE and type(b) in NATIVE else np.add(a, b)


def _sub_impl(a, b):
    return a - b if type(a) in NATIVE and type(b) in NATIVE else np.subtract(a, b)


def _mul_impl(a, b):
    return a * b if type(a) in NATIVE and type(b) in NATIVE else np.multiply(a, b)


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


ADD = elementwise("add", _add_impl, (1, 1), needs="none", complex="holomorphic")
SUB = elementwise("subtract", _sub_impl, (1, -1), needs="none", complex="holomorphic")
MUL = elementwise("multiply", _mul_impl, (lambda a, b, o: b, lambda a, b, o: a), needs="args", complex="holomorphic")
DIV = elementwise("divide", _div_impl,
                    (lambda a, b, o: divide(1.0, b), lambda a, b, o: -divide(o, b)), complex="holomorphic")
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
                     (lambda x, o: 1.0 - o * o,), needs="out", complex="holomorphic")
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
    def fn(x: Value) -> Value:
        return bind1(prim, x)

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
    def fn(x: Value, y: Value) -> Value:
        return bind2(prim, x, y)

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


