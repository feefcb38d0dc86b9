"""scipy.special's elementwise functions: the logistic, error, normal, gamma and entropy families.

``scipy.special.expit(x)`` (and the others here) on a traced value lands in these entries, as
``np.sin(x)`` lands in :mod:`.ufuncs`. Each entry's value is scipy's own ufunc, imported when an
entry is first evaluated, so dualdiff needs scipy only for code that already calls scipy. The
partials are written with dualdiff's functions, so second and higher derivatives come from
nesting; the gamma family's come from the polygamma functions ψ⁽ⁿ⁾, one entry per order, made
when an order is first needed.

Real arguments only: complex input is refused, as for the other real-only entries.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict

import numpy as np

from ..primitives import Primitive, bind1, bind2
from .assembly import where
from .partials import elementwise
from .table import Value
from .ufuncs import exp, log, log1p

_SQRT_PI_2 = math.sqrt(math.pi) / 2  # erf'(x) = e^(-x²) / (√π / 2)
_SQRT_2PI = math.sqrt(2 * math.pi)  # the standard normal density's constant


def _scipy_special() -> Any:
    try:
        import scipy.special
    except ImportError:  # only reachable through dd.special.*: scipy's own calls imply scipy
        raise ImportError("dualdiff's scipy.special functions compute their values with scipy; "
                          "install it (pip install scipy)") from None
    return scipy.special


def _scipy(name: str) -> Callable[..., Any]:
    """scipy.special.<name> itself, looked up when first called."""
    def impl(*args: Any) -> Any:
        return getattr(_scipy_special(), name)(*args)
    impl.__name__ = name
    return impl


def _unary(prim: Primitive, summary: str, example: str, result: str) -> Callable[[Value], Value]:
    """The public function of ``prim``; its doctest rounds the value ``fn(example)`` to 12 digits."""
    def fn(x: Value) -> Value:
        return bind1(prim, x)
    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = (f"{summary}, elementwise, as scipy.special.{prim.name}: the output has x's "
                  f"shape.\n\n>>> import dualdiff as dd\n"
                  f">>> round(float(dd.special.{prim.name}({example})), 12)\n{result}\n")
    return fn


def _binary(prim: Primitive, summary: str, example: str, result: str
            ) -> Callable[[Value, Value], Value]:
    def fn(x: Value, y: Value) -> Value:
        return bind2(prim, x, y)
    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = (f"{summary}, elementwise with numpy broadcasting, as scipy.special.{prim.name}."
                  f"\n\n>>> import dualdiff as dd\n"
                  f">>> round(float(dd.special.{prim.name}({example})), 12)\n{result}\n")
    return fn


# -- the logistic family ------------------------------------------------------------------------
EXPIT = elementwise("expit", _scipy("expit"), (lambda x, o: o * (1.0 - o),), needs="out",
                    complex="real")
expit = _unary(EXPIT, "The logistic function 1 / (1 + e^-x)", "0.0", "0.5")
LOGIT = elementwise("logit", _scipy("logit"), (lambda x, o: 1.0 / (x * (1.0 - x)),),
                    needs="args", complex="real")
logit = _unary(LOGIT, "log(p / (1 - p)), the inverse of expit", "0.5", "0.0")
LOG_EXPIT = elementwise("log_expit", _scipy("log_expit"), (lambda x, o: expit(-x),),
                        needs="args", complex="real")
log_expit = _unary(LOG_EXPIT, "log(expit(x)), without overflow", "0.0",
                   "-0.69314718056")

# -- the error function and the normal distribution ---------------------------------------------
ERF = elementwise("erf", _scipy("erf"), (lambda x, o: exp(-(x * x)) / _SQRT_PI_2,),
                  needs="args", complex="real")
erf = _unary(ERF, "The error function 2/√π ∫₀ˣ e^(-t²) dt", "0.0", "0.0")
ERFC = elementwise("erfc", _scipy("erfc"), (lambda x, o: -exp(-(x * x)) / _SQRT_PI_2,),
                   needs="args", complex="real")
erfc = _unary(ERFC, "The complementary error function 1 - erf(x)", "0.0", "1.0")
ERFINV = elementwise("erfinv", _scipy("erfinv"), (lambda x, o: _SQRT_PI_2 * exp(o * o),),
                     needs="out", complex="real")
erfinv = _unary(ERFINV, "The inverse of erf on (-1, 1)", "0.0", "0.0")
ERFCINV = elementwise("erfcinv", _scipy("erfcinv"), (lambda x, o: -_SQRT_PI_2 * exp(o * o),),
                      needs="out", complex="real")
erfcinv = _unary(ERFCINV, "The inverse of erfc on (0, 2)", "1.5", "-0.476936276204")
NDTR = elementwise("ndtr", _scipy("ndtr"), (lambda x, o: exp(-0.5 * (x * x)) / _SQRT_2PI,),
                   needs="args", complex="real")
ndtr = _unary(NDTR, "The standard normal distribution function Φ(x)", "0.0", "0.5")
# Φ'(x) / Φ(x) as one exponential: Φ(x) underflows long before this ratio overflows.
LOG_NDTR = elementwise("log_ndtr", _scipy("log_ndtr"),
                       (lambda x, o: exp(-0.5 * (x * x) - o) / _SQRT_2PI,), needs="both",
                       complex="real")
log_ndtr = _unary(LOG_NDTR, "log Φ(x), accurate far into the lower tail", "0.0",
                  "-0.69314718056")
NDTRI = elementwise("ndtri", _scipy("ndtri"), (lambda p, o: _SQRT_2PI * exp(0.5 * (o * o)),),
                    needs="out", complex="real")
ndtri = _unary(NDTRI, "The inverse of ndtr on (0, 1)", "0.5", "0.0")

# -- the gamma family ---------------------------------------------------------------------------
_POLYGAMMA: Dict[int, Primitive] = {}


def _polygamma_impl(n: int) -> Callable[[Any], Any]:
    def impl(x: Any) -> Any:
        out = _scipy_special().polygamma(n, x)
        return out if np.ndim(out) else out[()]  # scipy's polygamma gives 0-d arrays for numbers
    return impl


def _polygamma(n: int) -> Primitive:
    """ψ⁽ⁿ⁾, the n-th derivative of digamma: its partial is ψ⁽ⁿ⁺¹⁾, made on first use.

    Orders 0 (digamma) and 1 (trigamma) are in the table; higher ones (third derivatives of
    gammaln and beyond) are built the same way when first needed.
    """
    prim = _POLYGAMMA.get(n)
    if prim is None:
        name = {0: "digamma", 1: "trigamma"}.get(n, f"polygamma{n}")
        impl = _scipy("psi") if n == 0 else _polygamma_impl(n)
        prim = _POLYGAMMA[n] = elementwise(
            name, impl, (lambda x, o: bind1(_polygamma(n + 1), x),), needs="args",
            complex="real", register=n <= 1)
    return prim


digamma = _unary(_polygamma(0), "The digamma function ψ(x) = Γ'(x) / Γ(x)", "1.0",
                 "-0.577215664902")
psi = digamma
trigamma = _unary(_polygamma(1), "The trigamma function ψ'(x)", "2.0",
                  "0.644934066848")
GAMMALN = elementwise("gammaln", _scipy("gammaln"), (lambda x, o: digamma(x),), needs="args",
                      complex="real")
gammaln = _unary(GAMMALN, "log |Γ(x)|", "1.0", "0.0")
GAMMA = elementwise("gamma", _scipy("gamma"), (lambda x, o: o * digamma(x),), needs="both",
                    complex="real")
gamma = _unary(GAMMA, "The gamma function Γ(x)", "5.0", "24.0")

# -- x log y and the entropies: 0 where x = 0, whatever y is -----------------------------------
# At x = 0 the value is 0 for every y, so ∂/∂y is 0 there: x / y would be 0/0 at y = 0 too.
XLOGY = elementwise("xlogy", _scipy("xlogy"),
                    (lambda x, y, o: log(y), lambda x, y, o: x / where(x == 0, 1.0, y)),
                    needs="args", complex="real")
xlogy = _binary(XLOGY, "x log y, 0 where x = 0", "0.0, 0.0", "0.0")
XLOG1PY = elementwise("xlog1py", _scipy("xlog1py"),
                      (lambda x, y, o: log1p(y), lambda x, y, o: x / where(x == 0, 1.0, 1.0 + y)),
                      needs="args", complex="real")
xlog1py = _binary(XLOG1PY, "x log(1 + y), 0 where x = 0", "0.0, -1.0", "0.0")
ENTR = elementwise("entr", _scipy("entr"), (lambda x, o: -(log(x) + 1.0),), needs="args",
                   complex="real")
entr = _unary(ENTR, "-x log x, 0 at 0 and -inf for negative x", "0.5", "0.34657359028")
REL_ENTR = elementwise("rel_entr", _scipy("rel_entr"),
                       (lambda x, y, o: log(x / y) + 1.0,
                        lambda x, y, o: -x / where(x == 0, 1.0, y)),
                       needs="args", complex="real")
rel_entr = _binary(REL_ENTR, "x log(x / y), 0 where x = 0", "1.0, 1.0", "0.0")

#: scipy.special's ufunc names and the functions they land in.
SPECIAL_UFUNCS: Dict[str, Callable[..., Value]] = {
    "expit": expit, "logit": logit, "log_expit": log_expit, "erf": erf, "erfc": erfc,
    "erfinv": erfinv, "erfcinv": erfcinv, "ndtr": ndtr, "log_ndtr": log_ndtr, "ndtri": ndtri,
    "psi": digamma, "gammaln": gammaln, "gamma": gamma, "xlogy": xlogy, "xlog1py": xlog1py,
    "entr": entr, "rel_entr": rel_entr,
}
