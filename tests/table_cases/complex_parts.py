"""Table-test cases: real, imag, conj, angle (rules/complex_parts.py), on real arguments.

Their complex behaviour is checked by tests/test_complex.py, which runs every case of the table
on complex arguments; here the real-argument cases: real and conj are the identity, imag is 0
and angle is 0 or π (derivative 0 away from 0).
"""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

for _shape in UNARY_SHAPES:
    _id = _sh(_shape)
    add_case("real", Case(f"real-{_id}", dd.real, lambda x: x, (_shape,), (U(-3, 3),),
                          value_ref=np.real))
    add_case("imag", Case(f"imag-{_id}", dd.imag, lambda x: 0.0 * x, (_shape,), (U(-3, 3),),
                          value_ref=np.imag))
    add_case("conj", Case(f"conj-{_id}", dd.conj, lambda x: x, (_shape,), (U(-3, 3),),
                          value_ref=np.conj))
    add_case("angle", Case(f"angle-{_id}", dd.angle, np.angle, (_shape,), (AWAY(0.1, 3),),
                           oracle="central"))
