"""The dot-product test: u · (J v) == (uᵀ J) · v, with J v from dd.jvp and uᵀ J from dd.vjp.

Forward mode applies each primitive's tangent rule and reverse mode its adjoint rule; the two
come from one table entry and must be transposes of each other. The test runs for EVERY entry of
dd.PRIMITIVES (a primitive without a case fails) and for random compositions. Agreement of the
two modes could hide a rule that is wrong in both, so J v is also checked against an independent
oracle: complex step where the function is analytic, central differences where it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.primitives import bind
from dualdiff.rules.masked_reductions import sum_where
from dualdiff.rules.vector_products import MATVEC, VECMAT_U
from oracles import central_difference_jvp, complex_step_jvp, relative_error

_SWAPPED_F = np.dtype(np.float64).newbyteorder()
_SWAPPED_C = np.dtype(np.complex128).newbyteorder()

P = dd.PRIMITIVES
RNG = np.random.default_rng(20240229)


def normal(*shape):
    return RNG.normal(size=shape)


def uniform(lo, hi, *shape):
    return RNG.uniform(lo, hi, size=shape)


def away_from_zero(*shape):
    """Values with |x| in [0.2, 2]: no kink of abs/relu/sign within a central-difference step."""
    return RNG.uniform(0.2, 2.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


@dataclass
class Case:
    prim: str                 # the primitive this case exercises
    id: str
    fn: Callable[[Any], Any]  # written with dualdiff's functions (binds the primitive)
    ref: Callable[[Any], Any]  # the same map in plain numpy: the oracle evaluates this
    x: Any                    # an array or a tuple of arrays
    oracle: str = "cs"        # "cs": complex step; "cd": central differences (not analytic)


CASES: list[Case] = []


def case(prim, id, fn, ref, x, oracle="cs"):
    CASES.append(Case(prim, id, fn, ref, x, oracle))


# ---- elementwise, one argument --------------------------------------------------------------
for name, ref, x in [
    ("negative", np.negative, normal(2, 3)),
    ("sin", np.sin, normal(2, 3)),
    ("cos", np.cos, normal(2, 3)),
    ("tan", np.tan, uniform(-1.2, 1.2, 2, 3)),
    ("exp", np.exp, normal(2, 3)),
    ("log", np.log, uniform(0.2, 3.0, 2, 3)),
    ("log1p", np.log1p, uniform(-0.5, 2.0, 2, 3)),
    ("expm1", np.expm1, normal(2, 3)),
    ("sqrt", np.sqrt, uniform(0.2, 3.0, 2, 3)),
    ("tanh", np.tanh, normal(2, 3)),
    ("sinh", np.sinh, normal(2, 3)),
    ("cosh", np.cosh, normal(2, 3)),
    ("arcsin", np.arcsin, uniform(-0.9, 0.9, 2, 3)),
    ("arccos", np.arccos, uniform(-0.9, 0.9, 2, 3)),
    ("arctan", np.arctan, normal(2, 3)),
    ("sigmoid", lambda z: 1.0 / (1.0 + np.exp(-z)), normal(2, 3)),
]:
    case(name, "matrix", getattr(dd, name), ref, x)
case("sin", "scalar", dd.sin, np.sin, 0.7)

for name, ref in [("abs", np.abs), ("sign", np.sign), ("relu", lambda z: np.maximum(z, 0.0))]:
    case(name, "matrix", getattr(dd, name), ref, away_from_zero(2, 3), oracle="cd")

# ---- elementwise, two arguments (with broadcasting: the adjoint must sum back) ---------------
case("add", "broadcast-row", lambda p: dd.add(p[0], p[1]), lambda p: p[0] + p[1], (normal(3, 4), normal(4)))
case("add", "broadcast-both", lambda p: dd.add(p[0], p[1]), lambda p: p[0] + p[1], (normal(2, 1), normal(1, 3)))
case("add", "scalar", lambda p: dd.add(p[0], p[1]), lambda p: p[0] + p[1], (normal(2, 3), 0.5))
case("subtract", "broadcast-both", lambda p: dd.subtract(p[0], p[1]), lambda p: p[0] - p[1],
     (normal(3, 1), normal(1, 4)))
case("multiply", "same-shape", lambda p: dd.multiply(p[0], p[1]), lambda p: p[0] * p[1], (normal(2, 3), normal(2, 3)))
case("multiply", "scalar", lambda p: dd.multiply(p[0], p[1]), lambda p: p[0] * p[1], (normal(2, 3), 1.3))
case("multiply", "same-value-twice", lambda x: dd.multiply(x, x), lambda x: x * x, normal(4))
case("divide", "broadcast", lambda p: dd.divide(p[0], p[1]), lambda p: p[0] / p[1],
     (normal(3), away_from_zero(2, 3)))
case("power", "both-traced", lambda p: dd.power(p[0], p[1]), lambda p: p[0] ** p[1],
     (uniform(0.3, 2.0, 2, 3), uniform(-1.5, 2.5, 2, 3)))
case("power", "constant-exponent", lambda x: dd.power(x, 3.0), lambda x: x ** 3.0, normal(2, 3))
case("power", "constant-base", lambda y: dd.power(1.7, y), lambda y: 1.7 ** y, normal(2, 3))
# numpy's arctan2 takes no complex input; for x > 0 it is arctan(y / x), which does.
case("arctan2", "right-half-plane", lambda p: dd.arctan2(p[0], p[1]), lambda p: np.arctan(p[0] / p[1]),
     (normal(2, 3), uniform(0.2, 2.0, 2, 3)))
case("arctan2", "all-quadrants", lambda p: dd.arctan2(p[0], p[1]), lambda p: np.arctan2(p[0], p[1]),
     (away_from_zero(2, 3), away_from_zero(2, 3)), oracle="cd")
case("maximum", "broadcast", lambda p: dd.maximum(p[0], p[1]), lambda p: np.maximum(p[0], p[1]),
     (np.array([[0.3, -1.0, 2.0], [1.5, 0.1, -0.4]]), np.array([0.0, 0.5, 1.0])), oracle="cd")
case("minimum", "broadcast", lambda p: dd.minimum(p[0], p[1]), lambda p: np.minimum(p[0], p[1]),
     (np.array([[0.3, -1.0, 2.0], [1.5, 0.1, -0.4]]), np.array([0.0, 0.5, 1.0])), oracle="cd")

# ---- scipy.special's ufuncs (rules/special.py): central differences of scipy's own ----------
from table_cases.special import NEEDS_SCIPY as _SCIPY_SPECIAL, sp as _sp  # noqa: E402

if _sp is not None:
    for name, ref, x in [
        ("expit", _sp.expit, normal(2, 3)), ("logit", _sp.logit, uniform(0.1, 0.9, 2, 3)),
        ("log_expit", _sp.log_expit, normal(2, 3)), ("erf", _sp.erf, normal(2, 3)),
        ("erfc", _sp.erfc, normal(2, 3)), ("erfinv", _sp.erfinv, uniform(-0.9, 0.9, 2, 3)),
        ("erfcinv", _sp.erfcinv, uniform(0.1, 1.9, 2, 3)), ("ndtr", _sp.ndtr, normal(2, 3)),
        ("log_ndtr", _sp.log_ndtr, normal(2, 3)), ("ndtri", _sp.ndtri, uniform(0.1, 0.9, 2, 3)),
        ("digamma", _sp.digamma, uniform(0.5, 3.0, 2, 3)),
        ("trigamma", lambda z: _sp.polygamma(1, z), uniform(0.5, 3.0, 2, 3)),
        ("gammaln", _sp.gammaln, uniform(0.5, 3.0, 2, 3)), ("gamma", _sp.gamma, uniform(0.5, 3.0, 2, 3)),
        ("entr", _sp.entr, uniform(0.2, 3.0, 2, 3)), ("rgamma", _sp.rgamma, uniform(0.5, 3.0, 2, 3)),
        ("erfcx", _sp.erfcx, normal(2, 3)), ("i0", _sp.i0, normal(2, 3)), ("i1", _sp.i1, normal(2, 3)),
        ("i0e", _sp.i0e, away_from_zero(2, 3)), ("i1e", _sp.i1e, away_from_zero(2, 3)),
        ("j0", _sp.j0, normal(2, 3)), ("j1", _sp.j1, normal(2, 3)),
        ("y0", _sp.y0, uniform(0.3, 4.0, 2, 3)), ("y1", _sp.y1, uniform(0.3, 4.0, 2, 3)),
        ("loggamma", _sp.loggamma, uniform(0.5, 3.0, 2, 3)), ("erfi", _sp.erfi, normal(2, 3)),
        ("dawsn", _sp.dawsn, normal(2, 3)), ("exp1", _sp.exp1, uniform(0.3, 3.0, 2, 3)),
        ("expi", _sp.expi, uniform(0.3, 3.0, 2, 3)),
    ]:
        case(name, "matrix", getattr(dd.special, name), ref, x, oracle="cd")
    for name, ref, x in [
        ("xlogy", lambda p: _sp.xlogy(p[0], p[1]), (normal(2, 3), uniform(0.2, 3.0, 3))),
        ("xlog1py", lambda p: _sp.xlog1py(p[0], p[1]), (normal(2, 3), uniform(-0.5, 3.0, 3))),
        ("rel_entr", lambda p: _sp.rel_entr(p[0], p[1]), (uniform(0.2, 3.0, 2, 3), uniform(0.2, 3.0, 3))),
        ("betaln", lambda p: _sp.betaln(p[0], p[1]), (uniform(0.5, 3.0, 2, 3), uniform(0.5, 3.0, 3))),
        ("beta", lambda p: _sp.beta(p[0], p[1]), (uniform(0.5, 3.0, 2, 3), uniform(0.5, 3.0, 3))),
        ("kl_div", lambda p: _sp.kl_div(p[0], p[1]), (uniform(0.2, 3.0, 2, 3), uniform(0.2, 3.0, 3))),
        ("huber", lambda p: _sp.huber(p[0], p[1]), (uniform(0.5, 2.0, 3), away_from_zero(2, 3))),
        ("pseudo_huber", lambda p: _sp.pseudo_huber(p[0], p[1]),
         (uniform(0.5, 2.0, 3), away_from_zero(2, 3))),
    ]:
        case(name, "broadcast", lambda p, n=name: getattr(dd.special, n)(p[0], p[1]), ref, x, oracle="cd")

# ---- numpy's other ufuncs and reductions (rules/ufuncs.py, cumulative.py, reductions.py) ----
for name, ref, x in [
    ("square", np.square, normal(2, 3)),
    ("reciprocal", lambda z: 1.0 / z, away_from_zero(2, 3)),
    ("cbrt", lambda z: z ** (1.0 / 3.0), uniform(0.2, 3.0, 2, 3)),
    ("log2", np.log2, uniform(0.2, 3.0, 2, 3)),
    ("log10", np.log10, uniform(0.2, 3.0, 2, 3)),
    ("exp2", lambda z: np.exp(z * np.log(2.0)), normal(2, 3)),
    ("arcsinh", np.arcsinh, normal(2, 3)),
    ("arccosh", np.arccosh, uniform(1.2, 3.0, 2, 3)),
    ("arctanh", np.arctanh, uniform(-0.9, 0.9, 2, 3)),
    ("sinc", lambda z: np.sin(np.pi * z) / (np.pi * z), away_from_zero(2, 3)),
    ("deg2rad", lambda z: z * (np.pi / 180.0), normal(2, 3)),
    ("rad2deg", lambda z: z * (180.0 / np.pi), normal(2, 3)),
]:
    case(name, "matrix", getattr(dd, name), ref, x)
for name, ref, x in [
    ("logaddexp", lambda p: np.log(np.exp(p[0]) + np.exp(p[1])), (normal(2, 3), normal(3))),
    ("logaddexp2", lambda p: np.log2(2.0 ** p[0] + 2.0 ** p[1]), (normal(2, 3), normal(3))),
    ("hypot", lambda p: np.sqrt(p[0] ** 2 + p[1] ** 2), (away_from_zero(2, 3), away_from_zero(3))),
    ("float_power", lambda p: np.exp(p[1] * np.log(p[0])), (uniform(0.3, 2.0, 2, 3), normal(3))),
]:
    case(name, "broadcast", lambda p, n=name: getattr(dd, n)(p[0], p[1]), ref, x)
for name in ("fmax", "fmin", "copysign", "heaviside"):
    case(name, "broadcast", lambda p, n=name: getattr(dd, n)(p[0], p[1]),
         lambda p, n=name: getattr(np, n)(p[0], p[1]),
         (np.array([[0.3, -1.0, 2.0], [1.5, 0.1, -0.4]]), np.array([0.05, -0.5, 1.0])), oracle="cd")
for name in ("mod", "fmod"):
    case(name, "away-from-jumps", lambda p, n=name: getattr(dd, n)(p[0], p[1]),
         lambda p, n=name: getattr(np, n)(p[0], p[1]),
         (np.array([[2.3, -1.3, 5.5], [-4.1, 0.6, 3.7]]), np.array([1.0, -0.8, 2.0])), oracle="cd")
for name in ("max", "min", "nanmax", "nanmin"):
    case(name, "axis1", lambda x, n=name: getattr(dd, n)(x, axis=1),
         lambda x, n=name: getattr(np, n)(x, axis=1), normal(3, 4), oracle="cd")
case("prod", "axis0", lambda x: dd.prod(x, axis=0), lambda x: np.prod(x, axis=0), normal(3, 4))
_MASK = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])
case("sum_where", "axis1", lambda x: sum_where(x, _MASK, axis=1),
     lambda x: np.sum(x, axis=1, where=_MASK), normal(3, 4))
case("matvec", "stack-broadcast", lambda p: bind(MATVEC, p[0], p[1]),
     lambda p: np.einsum("...ij,...j->...i", p[0], p[1]), (normal(2, 3, 4), normal(4)))
case("vecmat_u", "stack-broadcast", lambda p: bind(VECMAT_U, p[0], p[1]),
     lambda p: np.einsum("...i,...ij->...j", p[0], p[1]), (normal(2, 3), normal(3, 4)))
case("sum_where", "broadcast-keepdims", lambda x: sum_where(x, _MASK[0], axis=0, keepdims=True),
     lambda x: np.sum(x, axis=0, keepdims=True, where=_MASK[0]), normal(3, 4))
case("logsumexp", "axis0", lambda x: dd.logsumexp(x, axis=0),
     lambda x: np.log(np.sum(np.exp(x), axis=0)), normal(3, 4))
case("logsumexp", "all-keepdims", lambda x: dd.logsumexp(x, keepdims=True),
     lambda x: np.log(np.sum(np.exp(x), keepdims=True)), normal(2, 3))
case("prod", "zeros", lambda x: dd.prod(x, axis=1), lambda x: np.prod(x, axis=1),
     np.array([[1.5, 0.0, -2.0, 0.5], [0.0, 3.0, 0.0, 1.0], [2.0, 1.0, 0.5, -1.0]]))
case("cumsum", "axis1", lambda x: dd.cumsum(x, axis=1), lambda x: np.cumsum(x, axis=1), normal(3, 4))
case("cumprod", "axis0", lambda x: dd.cumprod(x, axis=0), lambda x: np.cumprod(x, axis=0), normal(3, 4))
case("cumprod", "zeros", lambda x: dd.cumprod(x), lambda x: np.cumprod(x),
     np.array([1.5, 0.0, -2.0, 0.5, 0.0, 3.0, 1.0]))


# ---- discrete Fourier transforms (complex outputs split into parts; oracle: the C-linear
# extension g(Re x) + i·g(Im x) of the real-valued map) ----------------------------------------
def _fft_parts(f):
    return lambda x: dd.stack([dd.real(f(x)), dd.imag(f(x))])


def _fft_ref(g):
    return lambda x: g(np.real(x)) + 1j * g(np.imag(x))


case("fft", "padded-ortho", _fft_parts(lambda x: dd.fft.fft(x, 7, norm="ortho")),
     _fft_ref(lambda x: np.stack([np.fft.fft(x, 7, norm="ortho").real,
                                  np.fft.fft(x, 7, norm="ortho").imag])), normal(3, 5))
case("rfft", "cropped", _fft_parts(lambda x: dd.fft.rfft(x, 4, axis=0)),
     _fft_ref(lambda x: np.stack([np.fft.rfft(x, 4, axis=0).real,
                                  np.fft.rfft(x, 4, axis=0).imag])), normal(5, 2))
case("irfft", "odd", lambda x: dd.fft.irfft(x, 7), _fft_ref(lambda x: np.fft.irfft(x, 7)),
     normal(2, 4))

COND = np.array([[True, False, True], [False, False, True]])
case("where", "broadcast", lambda p: dd.where(COND, p[0], p[1]), lambda p: np.where(COND, p[0], p[1]),
     (normal(2, 3), normal(3)))
case("where", "scalar-branch", lambda x: dd.where(COND, x, 0.0), lambda x: np.where(COND, x, 0.0), normal(2, 3))

# ---- the parts of a complex number, on real input (tests/test_complex.py: complex input) -----
# (real x is its own real part, as numpy's np.real(x) is x: the rule runs on a complex value)
case("real", "matrix", lambda x: dd.real(x * (1 + 2j)), lambda x: x, normal(2, 3))
case("imag", "matrix", lambda x: dd.imag(x) + x, lambda x: x, normal(2, 3))
case("conj", "matrix", dd.conj, lambda x: x, normal(2, 3))
case("angle", "matrix", lambda x: dd.angle(x) + x, lambda x: np.angle(x) + x, away_from_zero(2, 3),
     oracle="cd")

# ---- linear, structural ---------------------------------------------------------------------
X234 = normal(2, 3, 4)
for axis, keep in [(None, False), (1, False), ((0, 2), True), (-1, False), (None, True)]:
    case("sum", f"axis={axis}-keepdims={keep}", lambda x, a=axis, k=keep: dd.sum(x, axis=a, keepdims=k),
         lambda x, a=axis, k=keep: np.sum(x, axis=a, keepdims=k), X234)
case("reshape", "(4,6)", lambda x: dd.reshape(x, (4, 6)), lambda x: np.reshape(x, (4, 6)), X234)
case("reshape", "flat", lambda x: dd.reshape(x, -1), lambda x: np.reshape(x, -1), X234)
case("transpose", "axes", lambda x: dd.transpose(x, (2, 0, 1)), lambda x: np.transpose(x, (2, 0, 1)), X234)
case("transpose", "default", lambda x: dd.transpose(x), lambda x: np.transpose(x), X234)
case("broadcast_to", "new-axes", lambda x: dd.broadcast_to(x, (2, 4, 3)),
     lambda x: np.broadcast_to(x, (2, 4, 3)), normal(3))
case("broadcast_to", "unit-axis", lambda x: dd.broadcast_to(x, (3, 5)), lambda x: np.broadcast_to(x, (3, 5)),
     normal(3, 1))

X45 = normal(4, 5)
MASK45 = X45 > 0
for id, idx in [
    ("slices", (slice(1, 3), slice(None, None, 2))),
    ("int", (2,)),
    ("repeated-ints", ([0, 0, 3],)),
    ("bool-mask", (MASK45,)),
    ("newaxis-ellipsis", (None, Ellipsis, 1)),
    ("mixed", ([0, 2, 2], slice(1, 4))),
    ("negative-step", (slice(None, None, -1), -1)),
]:
    case("getitem", id, lambda x, i=idx: dd.getitem(x, i), lambda x, i=idx: x[i], X45)


def np_index_add(ct, idx, shape):
    z = np.zeros(shape, dtype=np.result_type(ct, float))
    np.add.at(z, idx, ct)
    return z


for id, idx, ctshape in [
    ("slices", (slice(1, 3), slice(None, None, 2)), (2, 3)),
    ("repeated-ints", ([0, 0, 3],), (3, 5)),
    ("mixed", ([1, 1], slice(0, 2)), (2, 2)),
]:
    case("index_add", id, lambda c, i=idx: P["index_add"](c, idx=i, shape=(4, 5)),
         lambda c, i=idx: np_index_add(c, i, (4, 5)), normal(*ctshape))

case("stack", "axis=1", lambda p: dd.stack(list(p), axis=1), lambda p: np.stack(p, axis=1),
     (normal(2, 3), normal(2, 3), normal(2, 3)))
case("stack", "axis=-1-same-value", lambda x: dd.stack([x, x * 2.0], axis=-1),
     lambda x: np.stack([x, x * 2.0], axis=-1), normal(3))
case("concatenate", "axis=1", lambda p: dd.concatenate(list(p), axis=1), lambda p: np.concatenate(p, axis=1),
     (normal(2, 3), normal(2, 1), normal(2, 2)))
case("concatenate", "axis=0", lambda p: dd.concatenate(list(p)), lambda p: np.concatenate(p),
     (normal(1, 3), normal(2, 3)))

case("copy", "matrix", dd.copy, np.copy, normal(2, 3))
case("astype", "byte-swapped", lambda x: dd.astype(x, _SWAPPED_C if np.iscomplexobj(dd.stop_gradient(x)) else _SWAPPED_F),
     lambda x: x.astype(_SWAPPED_C if np.iscomplexobj(x) else _SWAPPED_F), normal(2, 3))

# ---- shape, assembly, indexing and sorting composites -----------------------------------------
case("permute", "rows-inverse", lambda x: P["permute"](x, np.array([[2, 0, 1], [0, 2, 1]]), axis=1, inverse=True),
     lambda x: np.take_along_axis(x, np.argsort(np.array([[2, 0, 1], [0, 2, 1]]), axis=1), 1), normal(2, 3))
case("permute", "rows", lambda x: P["permute"](x, np.array([[2, 0, 1], [0, 2, 1]]), axis=1, inverse=False),
     lambda x: np.take_along_axis(x, np.array([[2, 0, 1], [0, 2, 1]]), 1), normal(2, 3))
case("sort", "rows", lambda x: dd.sort(x, axis=1), lambda x: np.sort(x, axis=1), normal(3, 4))
case("partition", "flat", lambda x: dd.partition(x, 2, axis=None),
     lambda x: np.take_along_axis(np.ravel(x), np.argpartition(np.ravel(x).real, 2), 0), normal(2, 3))
case("getitem", "sort-then-pad", lambda x: dd.pad(dd.sort(x, axis=0), 1, mode="reflect"),
     lambda x: np.pad(np.take_along_axis(x, np.argsort(x.real, axis=0), 0), 1, mode="reflect"),
     normal(3, 4))
case("where", "index-update-roll-tril",
     lambda p: dd.tril(dd.roll(dd.index_update(p[0], (slice(None), [0, 2, 0]), p[1]), 1, 0)),
     lambda p: np.tril(np.roll(_np_update(p[0], (slice(None), [0, 2, 0]), p[1]), 1, 0)),
     (normal(3, 4), normal(3)))


def _np_update(x, idx, v):
    y = np.array(x, dtype=np.result_type(x, v))
    y[idx] = v  # numpy's assignment: repeated column 0, the last write wins
    return y


# ---- matmul ---------------------------------------------------------------------------------
for id, sa, sb in [
    ("mat-mat", (2, 3), (3, 4)),
    ("mat-vec", (2, 3), (3,)),
    ("vec-mat", (3,), (3, 4)),
    ("vec-vec", (3,), (3,)),
    ("batch-mat", (2, 2, 3), (3, 4)),
    ("mat-batch", (2, 3), (5, 3, 4)),
    ("batch-vec", (2, 2, 3), (3,)),
    ("vec-batch", (3,), (2, 3, 4)),
    ("broadcast-batches", (2, 1, 2, 3), (4, 3, 2)),
]:
    case("matmul", id, lambda p: dd.matmul(p[0], p[1]), lambda p: np.matmul(p[0], p[1]),
         (normal(*sa), normal(*sb)))
case("matmul", "constant-left", lambda x: dd.matmul(np.arange(6.0).reshape(2, 3), x),
     lambda x: np.arange(6.0).reshape(2, 3) @ x, normal(3, 2))


# ---- linear algebra and einsum (batched; the decompositions with their sign gauge fixed) ----
def _well(*shape):
    return RNG.uniform(-1, 1, size=shape) + 3.0 * np.eye(shape[-1])


def _spd(*shape):
    a = RNG.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


from table_cases.decompositions import eigh_fixed, qr_fixed, svd_fixed  # noqa: E402

case("solve", "batched-matrix-rhs", lambda p: dd.linalg.solve(p[0], p[1]),
     lambda p: np.linalg.solve(p[0], p[1]), (_well(2, 3, 3), normal(3, 2)))
case("solve", "vector", lambda p: dd.linalg.solve(p[0], p[1]),
     lambda p: np.linalg.solve(p[0], p[1]), (_well(3, 3), normal(3)))
case("det", "batched", dd.linalg.det, np.linalg.det, _well(2, 3, 3))
case("slogdet", "batched", lambda a: dd.linalg.slogdet(a)[1],
     lambda a: np.log(np.abs(np.linalg.det(a))), _well(2, 3, 3), oracle="cd")
case("einsum", "three-operands", lambda p: dd.einsum("ij,jk,kl->il", *p),
     lambda p: np.einsum("ij,jk,kl->il", *p), (normal(2, 3), normal(3, 4), normal(4, 2)))
case("einsum", "diagonal-ellipsis", lambda a: dd.einsum("...ii->...i", a),
     lambda a: np.einsum("...ii->...i", a), normal(2, 3, 3))
case("cholesky", "batched", dd.linalg.cholesky, np.linalg.cholesky, _spd(2, 3, 3), oracle="cd")
case("eigh", "batched", lambda a: eigh_fixed(dd, a), lambda a: eigh_fixed(np, a), _spd(2, 3, 3),
     oracle="cd")
case("svd", "tall", lambda a: svd_fixed(dd, a), lambda a: svd_fixed(np, a), normal(4, 3), oracle="cd")
case("svd", "batched-wide", lambda a: svd_fixed(dd, a), lambda a: svd_fixed(np, a), normal(2, 2, 3),
     oracle="cd")
case("svdvals", "batched-wide", dd.linalg.svdvals, np.linalg.svdvals, normal(2, 2, 3), oracle="cd")
case("qr", "tall", lambda a: qr_fixed(dd, a), lambda a: qr_fixed(np, a), normal(4, 3), oracle="cd")
case("pinv", "tall", dd.linalg.pinv, np.linalg.pinv, normal(4, 3), oracle="cd")
case("pinv", "batched-wide", dd.linalg.pinv, np.linalg.pinv, normal(2, 2, 3), oracle="cd")


# --------------------------------------------------------------------------------------------
# The test itself
# --------------------------------------------------------------------------------------------

def tree_map(fn, x):
    return tuple(fn(a) for a in x) if isinstance(x, tuple) else fn(x)


def tree_dot(a, b):
    if isinstance(a, tuple):
        return sum(tree_dot(p, q) for p, q in zip(a, b))
    return float(np.sum(np.asarray(a, dtype=float) * np.asarray(b, dtype=float)))


def oracle_jvp(oracle, ref, x, v):
    """J v of ``ref`` at x by the shared oracles, which take the arguments as a list."""
    if isinstance(x, tuple):
        g, primals, tangents = (lambda *a: ref(a)), list(x), list(v)
    else:
        g, primals, tangents = ref, [x], [v]
    if oracle == "cs":
        return complex_step_jvp(g, primals, tangents)
    return central_difference_jvp(g, primals, tangents)


def random_like(x, rng):
    return tree_map(lambda a: rng.normal(size=np.shape(a)) if np.shape(a) else float(rng.normal()), x)


def check_dot_product(fn, ref, x, oracle, seed):
    rng = np.random.default_rng(seed)
    value, pullback = dd.vjp(fn, x)
    want_value = ref(x)
    np.testing.assert_allclose(value, want_value, rtol=1e-14, atol=1e-15)
    for _ in range(2):
        v = random_like(x, rng)
        u = rng.normal(size=np.shape(want_value))
        value_f, Jv = dd.jvp(fn, x, v)
        uJ = pullback(u)
        assert np.shape(Jv) == np.shape(want_value)
        assert tree_map(np.shape, uJ) == tree_map(np.shape, x)
        lhs, rhs = tree_dot(u, Jv), tree_dot(uJ, v)
        assert relative_error(lhs, rhs) < 1e-10, (lhs, rhs)
        # The independent oracle for J v, hence for both modes.
        Jv_oracle = oracle_jvp(oracle, ref, x, v)
        if oracle == "cs":
            np.testing.assert_allclose(Jv, Jv_oracle, rtol=1e-12, atol=1e-13)
            assert relative_error(tree_dot(u, Jv_oracle), rhs) < 1e-10
        else:
            np.testing.assert_allclose(Jv, Jv_oracle, rtol=1e-7, atol=1e-8)
            assert abs(tree_dot(u, Jv_oracle) - rhs) <= 1e-7 * max(1.0, abs(rhs))


@pytest.mark.parametrize("c", CASES, ids=[f"{c.prim}-{c.id}" for c in CASES])
def test_dot_product_per_primitive(c):
    check_dot_product(c.fn, c.ref, c.x, c.oracle, seed=sum(map(ord, c.prim + c.id)))


@pytest.mark.parametrize("name", sorted(P))
def test_every_primitive_has_a_case_that_runs_both_of_its_rules(name, monkeypatch):
    cases = [c for c in CASES if c.prim == name]
    if not cases and name in _SCIPY_SPECIAL and _sp is None:
        pytest.skip("scipy is not installed")
    if not cases:
        pytest.fail(f"primitive {name!r} has no case in tests/test_dot_product.py: add one")
    prim = P[name]
    calls = {"jvp": 0, "vjp": 0}

    def counting(rule_name):
        rule = getattr(prim, rule_name)

        def wrapper(*args, **kwargs):
            calls[rule_name] += 1
            return rule(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(prim, "jvp", counting("jvp"))
    monkeypatch.setattr(prim, "vjp", counting("vjp"))
    for c in cases:
        # Coverage only: a case that raises is reported by test_dot_product_per_primitive.
        try:
            dd.jvp(c.fn, c.x, random_like(c.x, RNG))
            dd.vjp(c.fn, c.x)[1](RNG.normal(size=np.shape(c.ref(c.x))))
        except Exception:
            pass
    assert calls["jvp"] > 0 and calls["vjp"] > 0, calls


def test_the_check_catches_a_wrong_adjoint_rule(monkeypatch):
    # A test that cannot fail is a defect: sabotage sin's adjoint and the check must object.
    prim = P["sin"]
    rule = prim.vjp
    monkeypatch.setattr(prim, "vjp", lambda ct, *rest: tuple(
        None if c is None else c * 1.001 for c in rule(ct, *rest)))
    c = next(c for c in CASES if c.prim == "sin")
    with pytest.raises(AssertionError):
        check_dot_product(c.fn, c.ref, c.x, c.oracle, seed=0)


def test_the_check_catches_a_rule_wrong_in_both_modes(monkeypatch):
    # Scale both rules of exp by the same factor: the two modes still agree with each other, so
    # only the oracle can notice.
    prim = P["exp"]
    jvp, vjp = prim.jvp, prim.vjp
    monkeypatch.setattr(prim, "jvp", lambda *a: jvp(*a) * 1.001)
    monkeypatch.setattr(prim, "vjp", lambda ct, *rest: tuple(
        None if c is None else c * 1.001 for c in vjp(ct, *rest)))
    c = next(c for c in CASES if c.prim == "exp")
    with pytest.raises(AssertionError):
        check_dot_product(c.fn, c.ref, c.x, c.oracle, seed=0)


# --------------------------------------------------------------------------------------------
# Random compositions: each program is written with numpy only, so the same code runs on Var,
# Dual and complex arrays (the oracle).
# --------------------------------------------------------------------------------------------

N = 6
M6 = np.random.default_rng(1).normal(size=(N, N)) / np.sqrt(N)
PERM = np.array([5, 0, 0, 3, 2, 4])
MASK6 = np.array([True, False, True, True, False, False])

UNARY = [
    np.sin, np.cos, np.tanh, np.arctan,
    lambda a: 1.0 / (1.0 + np.exp(-a)),
    lambda a: np.exp(np.sin(a)),
    lambda a: np.log(1.0 + a * a),
    lambda a: np.sqrt(1.0 + a * a),
    lambda a: a ** 3 / (1.0 + a * a),
    lambda a: a[::-1],
    lambda a: a[PERM],
    lambda a: M6 @ a,
    lambda a: a @ M6,
    lambda a: a.reshape(2, 3).T.reshape(-1),
    lambda a: np.where(MASK6, a, a * a),
    lambda a: a - np.mean(a),
    lambda a: np.concatenate([a[3:], a[:3]]),
    lambda a: (np.sum(a.reshape(3, 2), axis=1, keepdims=True) * np.ones((3, 2))).reshape(-1),
    lambda a: -a,
]
BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * np.tanh(b),
    lambda a, b: a / (2.0 + np.sin(b)),
    lambda a, b: np.stack([a, b]).sum(axis=0),
    lambda a, b: np.outer(a, b) @ np.ones(N) / N,
    lambda a, b: a * np.sum(b * b) / N,
    lambda a, b: np.concatenate([(a.reshape(2, 3) @ b.reshape(3, 2)).ravel(), a[:2]]),
]


def random_program(seed, n_inputs):
    rng = np.random.default_rng(seed)
    steps = []
    pool = n_inputs
    for _ in range(rng.integers(4, 10)):
        if rng.random() < 0.45:
            steps.append(("u", int(rng.integers(len(UNARY))), int(rng.integers(pool)), None))
        else:
            steps.append(("b", int(rng.integers(len(BINARY))), int(rng.integers(pool)),
                          int(rng.integers(pool))))
        pool += 1

    def program(x):
        vals = list(x) if isinstance(x, tuple) else [x]
        for kind, op, i, j in steps:
            vals.append(UNARY[op](vals[i]) if kind == "u" else BINARY[op](vals[i], vals[j]))
        return np.stack([vals[-1], vals[-2]]) if seed % 2 else vals[-1]

    return program


@pytest.mark.parametrize("seed", range(30))
def test_dot_product_random_composition(seed):
    program = random_program(seed, 1)
    x = np.random.default_rng(seed + 100).normal(size=N)
    check_dot_product(program, program, x, "cs", seed)


@pytest.mark.parametrize("seed", range(30, 40))
def test_dot_product_random_composition_of_two_inputs(seed):
    program = random_program(seed, 2)
    r = np.random.default_rng(seed + 100)
    x = (r.normal(size=N), r.normal(size=N))
    check_dot_product(program, program, x, "cs", seed)
