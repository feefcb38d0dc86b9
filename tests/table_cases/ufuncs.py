"""Table-test cases: elementwise functions (rules/ufuncs.py)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

# -- elementwise, one argument ----------------------------------------------------------------

def _sigmoid_ref(z):
    return 1.0 / (1.0 + np.exp(-z))


UNARY = [
    # name, numpy reference, domain, oracle
    ("sin", np.sin, U(-3, 3), "complex"),
    ("cos", np.cos, U(-3, 3), "complex"),
    ("tan", np.tan, U(-1.3, 1.3), "complex"),
    ("exp", np.exp, U(-3, 3), "complex"),
    ("log", np.log, U(0.05, 4), "complex"),
    ("log1p", np.log1p, U(-0.9, 3), "complex"),
    ("expm1", np.expm1, U(-3, 3), "complex"),
    ("sqrt", np.sqrt, U(0.05, 4), "complex"),
    ("tanh", np.tanh, U(-3, 3), "complex"),
    ("sinh", np.sinh, U(-3, 3), "complex"),
    ("cosh", np.cosh, U(-3, 3), "complex"),
    ("arcsin", np.arcsin, U(-0.95, 0.95), "complex"),
    ("arccos", np.arccos, U(-0.95, 0.95), "complex"),
    ("arctan", np.arctan, U(-3, 3), "complex"),
    ("negative", lambda z: -z, U(-3, 3), "complex"),
    ("sigmoid", _sigmoid_ref, U(-6, 6), "complex"),
    # not complex-analytic: central differences away from the kink at 0
    ("abs", np.abs, AWAY(0.1, 3), "central"),
    ("sign", np.sign, AWAY(0.1, 3), "central"),
    ("relu", lambda x: np.maximum(x, 0.0), AWAY(0.1, 3), "central"),
]

for _name, _ref, _dom, _oracle in UNARY:
    for _shape in UNARY_SHAPES:
        add_case(_name, Case(f"{_name}-{_sh(_shape)}", getattr(dd, _name), _ref, (_shape,), (_dom,),
                             oracle=_oracle, plain_scalar=True))


# -- elementwise, two arguments ---------------------------------------------------------------

def _arctan2_ref(y, x):
    # The half-angle formula, valid off the negative x-axis, written with complex-capable numpy
    # functions (np.arctan2 itself refuses complex input).
    return 2.0 * np.arctan(y / (np.sqrt(x * x + y * y) + x))


def _pow_ref(x, y):
    return np.exp(y * np.log(x))


BINARY = [
    # name, reference, value reference, domains, oracle
    ("add", lambda a, b: a + b, np.add, (U(-3, 3), U(-3, 3)), "complex"),
    ("subtract", lambda a, b: a - b, np.subtract, (U(-3, 3), U(-3, 3)), "complex"),
    ("multiply", lambda a, b: a * b, np.multiply, (U(-3, 3), U(-3, 3)), "complex"),
    ("divide", lambda a, b: a / b, np.divide, (U(-3, 3), AWAY(0.3, 3)), "complex"),
    ("power", _pow_ref, np.power, (U(0.2, 3), U(-2, 2)), "complex"),
    ("arctan2", _arctan2_ref, np.arctan2, (AWAY(0.2, 2), U(-2, 2)), "complex"),
]

for _name, _ref, _vref, _doms, _oracle in BINARY:
    for _shapes in BINARY_SHAPES:
        add_case(_name, Case(f"{_name}-{_sh(_shapes[0])}-{_sh(_shapes[1])}", getattr(dd, _name),
                             _ref, _shapes, _doms, oracle=_oracle, value_ref=_vref,
                             plain_scalar=True))


def _separated(shape_x, shape_y):
    """x on the half-integers ± 0.2, y on the integers ± 0.2: never closer than 0.1."""
    def make(rng):
        x = rng.integers(-3, 3, size=shape_x) + 0.5 + rng.uniform(-0.2, 0.2, size=shape_x)
        y = rng.integers(-3, 3, size=shape_y) + rng.uniform(-0.2, 0.2, size=shape_y)
        return _out(x), _out(y)
    return make


for _name, _fn in (("maximum", np.maximum), ("minimum", np.minimum)):
    for _shapes in BINARY_SHAPES:
        add_case(_name, Case(f"{_name}-{_sh(_shapes[0])}-{_sh(_shapes[1])}", getattr(dd, _name),
                             _fn, oracle="central", make=_separated(*_shapes), plain_scalar=True))

# power in the forms people write: a negative base with an integer exponent (only the base can
# be differentiated there), a constant base, a constant fractional exponent.
for _shape in UNARY_SHAPES:
    add_case("power", Case(f"power-negative-base-cubed-{_sh(_shape)}",
                           lambda x: dd.power(x, 3.0), lambda x: x * x * x, (_shape,),
                           (U(-3, -0.2),), value_ref=lambda x: np.power(x, 3.0)))
    add_case("power", Case(f"power-constant-base-{_sh(_shape)}",
                           lambda y: dd.power(2.5, y), lambda y: np.exp(y * np.log(2.5)),
                           (_shape,), (U(-2, 2),), value_ref=lambda y: np.power(2.5, y)))
    add_case("power", Case(f"power-half-{_sh(_shape)}",
                           lambda x: dd.power(x, 0.5), np.sqrt, (_shape,), (U(0.1, 3),)))


# -- the rest of numpy's ufuncs (issue #8) ----------------------------------------------------

_LN2 = np.log(2.0)

MORE_UNARY = [
    # name, reference (complex-capable for "complex"), value reference, domain, oracle
    ("square", lambda z: z * z, np.square, U(-3, 3), "complex"),
    ("reciprocal", lambda z: 1.0 / z, np.reciprocal, AWAY(0.3, 3), "complex"),
    ("cbrt", lambda z: z ** (1.0 / 3.0), np.cbrt, U(0.2, 3), "complex"),
    ("log2", np.log2, np.log2, U(0.1, 4), "complex"),
    ("log10", np.log10, np.log10, U(0.1, 4), "complex"),
    ("exp2", lambda z: np.exp(z * _LN2), np.exp2, U(-3, 3), "complex"),
    ("arcsinh", np.arcsinh, np.arcsinh, U(-3, 3), "complex"),
    ("arccosh", np.arccosh, np.arccosh, U(1.2, 4), "complex"),
    ("arctanh", np.arctanh, np.arctanh, U(-0.9, 0.9), "complex"),
    ("sinc", lambda z: np.sin(np.pi * z) / (np.pi * z), np.sinc, AWAY(0.15, 2.5), "complex"),
    ("deg2rad", lambda z: z * (np.pi / 180.0), np.deg2rad, U(-360, 360), "complex"),
    ("rad2deg", lambda z: z * (180.0 / np.pi), np.rad2deg, U(-6, 6), "complex"),
    # not complex-analytic: central differences away from kinks and jumps
    ("cbrt", np.cbrt, np.cbrt, U(-3, -0.2), "central"),
]

for _name, _ref, _vref, _dom, _oracle in MORE_UNARY:
    for _shape in UNARY_SHAPES:
        add_case(_name, Case(f"{_name}-{_oracle}-{_sh(_shape)}", getattr(dd, _name), _ref, (_shape,),
                             (_dom,), oracle=_oracle, value_ref=_vref, plain_scalar=True))

# sinc near 0, where a Taylor polynomial replaces the cancelling formula
for _shape in [(), (5,)]:
    add_case("sinc", Case(f"sinc-near-zero-{_sh(_shape)}", dd.sinc,
                          lambda z: np.sin(np.pi * z) / (np.pi * z), (_shape,), (U(-0.08, 0.08),),
                          value_ref=np.sinc))


MORE_BINARY = [
    ("logaddexp", lambda a, b: np.log(np.exp(a) + np.exp(b)), np.logaddexp, (U(-3, 3), U(-3, 3)),
     "complex"),
    ("logaddexp2", lambda a, b: np.log(np.exp(a * _LN2) + np.exp(b * _LN2)) / _LN2, np.logaddexp2,
     (U(-3, 3), U(-3, 3)), "complex"),
    ("hypot", lambda a, b: np.sqrt(a * a + b * b), np.hypot, (AWAY(0.3, 3), AWAY(0.3, 3)),
     "complex"),
    ("float_power", lambda x, y: np.exp(y * np.log(x)), np.float_power, (U(0.2, 3), U(-2, 2)),
     "complex"),
    ("copysign", np.copysign, np.copysign, (AWAY(0.2, 3), AWAY(0.2, 3)), "central"),
    ("heaviside", np.heaviside, np.heaviside, (AWAY(0.2, 3), U(0, 1)), "central"),
]

for _name, _ref, _vref, _doms, _oracle in MORE_BINARY:
    for _shapes in BINARY_SHAPES[:4] + BINARY_SHAPES[5:]:
        add_case(_name, Case(f"{_name}-{_sh(_shapes[0])}-{_sh(_shapes[1])}", getattr(dd, _name),
                             _ref, _shapes, _doms, oracle=_oracle, value_ref=_vref,
                             plain_scalar=True))

for _name, _fn in (("fmax", np.fmax), ("fmin", np.fmin)):
    for _shapes in BINARY_SHAPES[:4]:
        add_case(_name, Case(f"{_name}-{_sh(_shapes[0])}-{_sh(_shapes[1])}", getattr(dd, _name),
                             _fn, oracle="central", make=_separated(*_shapes), plain_scalar=True))


def _away_from_jumps(shape):
    """y of either sign, x = y·(k + f) with f in [0.2, 0.8]: x/y is never near an integer."""
    def make(rng):
        y = np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0) * rng.uniform(0.5, 2, size=shape)
        x = y * (rng.integers(-3, 3, size=shape) + rng.uniform(0.2, 0.8, size=shape))
        return _out(x), _out(y)
    return make


for _name, _fn in (("mod", np.mod), ("fmod", np.fmod)):
    for _shape in [(), (4,), (2, 3)]:
        add_case(_name, Case(f"{_name}-{_sh(_shape)}", getattr(dd, _name), _fn, oracle="central",
                             make=_away_from_jumps(_shape), plain_scalar=True))


# composites: clip (maximum and minimum), nan_to_num (a where), fabs (abs)
COMPOSITES.extend(["clip", "nan_to_num", "fabs"])


def _clip_args(shape, bounds_shape):
    def make(rng):
        x = rng.uniform(-3, 3, size=shape)
        lo = rng.uniform(-1.5, -0.5, size=bounds_shape)
        hi = rng.uniform(0.5, 1.5, size=bounds_shape)
        # keep x at least 0.1 from both bounds, so that central differences see no kink
        x = np.where(np.abs(x - lo) < 0.1, lo - 0.2, x)
        x = np.where(np.abs(x - hi) < 0.1, hi + 0.2, x)
        return _out(x), _out(lo), _out(hi)
    return make


for _shape, _bshape in [((), ()), ((6,), ()), ((2, 5), (5,))]:
    add_case("clip", Case(f"clip-{_sh(_shape)}-bounds-{_sh(_bshape)}", dd.clip, np.clip,
                          oracle="central", make=_clip_args(_shape, _bshape)))
add_case("clip", Case("clip-no-lower-bound", lambda x, hi: dd.clip(x, None, hi),
                      lambda x, hi: np.clip(x, None, hi), oracle="central",
                      make=lambda rng: _clip_args((6,), ())(rng)[::2]))
add_case("clip", Case("clip-no-upper-bound", lambda x, lo: dd.clip(x, lo, None),
                      lambda x, lo: np.clip(x, lo, None), oracle="central",
                      make=lambda rng: _clip_args((6,), ())(rng)[:2]))


def _with_nonfinite(rng):
    x = rng.uniform(-3, 3, size=(6,))
    x[[1, 3, 4]] = [np.nan, np.inf, -np.inf]
    return (x,)


add_case("nan_to_num", Case("nan_to_num-finite", dd.nan_to_num, lambda z: z, ((5,),), (U(-3, 3),),
                            value_ref=np.nan_to_num))
add_case("nan_to_num", Case("nan_to_num-nan-and-infs", lambda x: dd.nan_to_num(x, posinf=7.0, neginf=-5.0),
                            lambda x: np.nan_to_num(x, posinf=7.0, neginf=-5.0), oracle="central",
                            make=_with_nonfinite))
for _shape in UNARY_SHAPES:
    add_case("fabs", Case(f"fabs-{_sh(_shape)}", dd.fabs, np.fabs, (_shape,), (AWAY(0.1, 3),),
                          oracle="central"))
