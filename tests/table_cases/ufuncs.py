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
