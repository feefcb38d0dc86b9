"""scipy.special's elementwise functions: the logistic, error, normal, gamma, beta, Bessel and entropy families.

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
from .ufuncs import abs, exp, log, log1p, sign, sqrt

# Partials that name a function defined further down (i0's is i1) resolve it when they run.
i1: Callable[[Value], Value]
i1e: Callable[[Value], Value]
j1: Callable[[Value], Value]
y1: Callable[[Value], Value]

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

RGAMMA = elementwise("rgamma", _scipy("rgamma"), (lambda x, o: -o * digamma(x),), needs="both",
                     complex="real")
rgamma = _unary(RGAMMA, "1 / Γ(x) (0 at the poles of Γ; its derivative there is nan)", "5.0",
                "0.041666666667")
BETALN = elementwise("betaln", _scipy("betaln"),
                     (lambda a, b, o: digamma(a) - digamma(a + b),
                      lambda a, b, o: digamma(b) - digamma(a + b)), needs="args", complex="real")
betaln = _binary(BETALN, "log |B(a, b)| = log |Γ(a) Γ(b) / Γ(a + b)|", "1.0, 1.0", "0.0")
BETA = elementwise("beta", _scipy("beta"),
                   (lambda a, b, o: o * (digamma(a) - digamma(a + b)),
                    lambda a, b, o: o * (digamma(b) - digamma(a + b))), needs="both",
                   complex="real")
beta = _binary(BETA, "The beta function B(a, b) = Γ(a) Γ(b) / Γ(a + b)", "2.0, 3.0",
               "0.083333333333")
ERFCX = elementwise("erfcx", _scipy("erfcx"), (lambda x, o: 2.0 * x * o - 1.0 / _SQRT_PI_2,),
                    needs="both", complex="real")
erfcx = _unary(ERFCX, "The scaled complementary error function e^(x²) erfc(x)", "0.0", "1.0")

# -- Bessel functions of order 0 and 1 --------------------------------------------------------
# Order 1's derivative has a term f₁(x)/x, whose limit at x = 0 is f₁'(0) = 1/2: written with
# where, so that 0/0 is never formed and the derivative of the constant branch is 0 (these
# order-1 functions are odd, so their second derivative at 0 is 0 too).


def _over_x(f1: Value, x: Value) -> Value:
    return f1 / where(x == 0, 1.0, x)


I0 = elementwise("i0", _scipy("i0"), (lambda x, o: i1(x),), needs="args", complex="real")
i0 = _unary(I0, "The modified Bessel function of the first kind of order 0", "0.0", "1.0")
I1 = elementwise("i1", _scipy("i1"),
                 (lambda x, o: where(x == 0, 0.5, i0(x) - _over_x(o, x)),), needs="both",
                 complex="real")
i1 = _unary(I1, "The modified Bessel function of the first kind of order 1", "0.0", "0.0")
# The exponentially scaled ones: e^(-|x|) f(x), whose derivative has -sign(x) f(x) more
# (0 at x = 0, the subgradient of |x| that numpy's sign gives).
I0E = elementwise("i0e", _scipy("i0e"), (lambda x, o: i1e(x) - sign(x) * o,), needs="both",
                  complex="real")
i0e = _unary(I0E, "The scaled modified Bessel function e^(-|x|) i0(x)", "0.0", "1.0")
I1E = elementwise("i1e", _scipy("i1e"),
                  (lambda x, o: where(x == 0, 0.5, i0e(x) - _over_x(o, x) - sign(x) * o),),
                  needs="both", complex="real")
i1e = _unary(I1E, "The scaled modified Bessel function e^(-|x|) i1(x)", "0.0", "0.0")
J0 = elementwise("j0", _scipy("j0"), (lambda x, o: -j1(x),), needs="args", complex="real")
j0 = _unary(J0, "The Bessel function of the first kind of order 0", "0.0", "1.0")
J1 = elementwise("j1", _scipy("j1"),
                 (lambda x, o: where(x == 0, 0.5, j0(x) - _over_x(o, x)),), needs="both",
                 complex="real")
j1 = _unary(J1, "The Bessel function of the first kind of order 1", "0.0", "0.0")
Y0 = elementwise("y0", _scipy("y0"), (lambda x, o: -y1(x),), needs="args", complex="real")
y0 = _unary(Y0, "The Bessel function of the second kind of order 0 (x > 0)", "1.0",
            "0.088256964216")
Y1 = elementwise("y1", _scipy("y1"), (lambda x, o: y0(x) - o / x,), needs="both",
                 complex="real")
y1 = _unary(Y1, "The Bessel function of the second kind of order 1 (x > 0)", "1.0",
            "-0.7812128213")

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

KL_DIV = elementwise("kl_div", _scipy("kl_div"),
                     (lambda x, y, o: log(x / y),
                      lambda x, y, o: 1.0 - x / where(x == 0, 1.0, y)),
                     needs="args", complex="real")
kl_div = _binary(KL_DIV, "x log(x / y) - x + y, y where x = 0", "1.0, 1.0", "0.0")

# -- more of the gamma and error families; the exponential integrals ----------------------------
LOGGAMMA = elementwise("loggamma", _scipy("loggamma"), (lambda x, o: digamma(x),),
                       needs="args", complex="real")
loggamma = _unary(LOGGAMMA, "log Γ(x) for real x > 0 (nan below 0, as scipy's real loggamma)",
                  "1.0", "0.0")
ERFI = elementwise("erfi", _scipy("erfi"), (lambda x, o: exp(x * x) / _SQRT_PI_2,),
                   needs="args", complex="real")
erfi = _unary(ERFI, "The imaginary error function -i erf(ix)", "0.0", "0.0")
DAWSN = elementwise("dawsn", _scipy("dawsn"), (lambda x, o: 1.0 - 2.0 * x * o,), needs="both",
                    complex="real")
dawsn = _unary(DAWSN, "Dawson's integral e^(-x²) ∫₀ˣ e^(t²) dt", "0.0", "0.0")
EXP1 = elementwise("exp1", _scipy("exp1"), (lambda x, o: -exp(-x) / x,), needs="args",
                   complex="real")
exp1 = _unary(EXP1, "The exponential integral E₁(x) = ∫₁^∞ e^(-xt) / t dt (x > 0)", "1.0",
              "0.219383934396")
EXPI = elementwise("expi", _scipy("expi"), (lambda x, o: exp(x) / x,), needs="args",
                   complex="real")
expi = _unary(EXPI, "The exponential integral Ei(x) = -∫₋ₓ^∞ e^(-t) / t dt", "1.0",
              "1.895117816356")

# -- robust losses: scipy's huber and pseudo_huber, delta first ---------------------------------
HUBER = elementwise("huber", _scipy("huber"),
                    (lambda d, r, o: where(abs(r) <= d, 0.0, abs(r) - d),
                     lambda d, r, o: where(abs(r) <= d, r, d * sign(r))),
                    needs="args", complex="real")
huber = _binary(HUBER, "r² / 2 where |r| ≤ δ, else δ (|r| - δ / 2), for δ ≥ 0", "1.0, 3.0",
                "2.5")


def _pseudo_huber_root(d: Value, r: Value) -> Value:
    return sqrt(1.0 + (r / d) ** 2)


PSEUDO_HUBER = elementwise("pseudo_huber", _scipy("pseudo_huber"),
                           (lambda d, r, o: (2.0 * o - r * r / _pseudo_huber_root(d, r)) / d,
                            lambda d, r, o: r / _pseudo_huber_root(d, r)),
                           needs="both", complex="real")
pseudo_huber = _binary(PSEUDO_HUBER, "δ² (√(1 + (r / δ)²) - 1), for δ > 0", "1.0, 0.0", "0.0")

#: scipy.special's ufunc names and the functions they land in.
SPECIAL_UFUNCS: Dict[str, Callable[..., Value]] = {
    "expit": expit, "logit": logit, "log_expit": log_expit, "erf": erf, "erfc": erfc,
    "erfinv": erfinv, "erfcinv": erfcinv, "ndtr": ndtr, "log_ndtr": log_ndtr, "ndtri": ndtri,
    "psi": digamma, "gammaln": gammaln, "gamma": gamma, "xlogy": xlogy, "xlog1py": xlog1py,
    "entr": entr, "rel_entr": rel_entr, "rgamma": rgamma, "betaln": betaln, "beta": beta,
    "erfcx": erfcx, "i0": i0, "i1": i1, "i0e": i0e, "i1e": i1e, "j0": j0, "j1": j1, "y0": y0,
    "y1": y1, "kl_div": kl_div, "loggamma": loggamma, "erfi": erfi, "dawsn": dawsn,
    "exp1": exp1, "expi": expi, "huber": huber, "pseudo_huber": pseudo_huber,
}
