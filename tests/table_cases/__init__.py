"""The cases of the one parametrised table test (tests/test_table.py), one module per family.

The modules mirror ``dualdiff/rules/``: a new primitive gets its cases in the module of its family
(a primitive with no case fails the table test). This module holds the vocabulary they share:
``Case``, the argument domains ``U`` and ``AWAY``, ``add_case`` and the common shapes.
Composite functions (written with primitives, no rule of their own) are listed in ``COMPOSITES``
by the family that defines them, and are tested the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np


# --------------------------------------------------------------------------------------------
# Domains: each returns an argument maker rng -> value (a Python float for shape ())
# --------------------------------------------------------------------------------------------

def _out(a):
    return float(a) if np.ndim(a) == 0 else np.asarray(a, dtype=float)


def U(lo, hi):
    """Uniform on [lo, hi]."""
    return lambda rng, shape: _out(rng.uniform(lo, hi, size=shape))


def AWAY(lo, hi):
    """Uniform on [-hi, -lo] ∪ [lo, hi]: both signs, away from 0."""
    def make(rng, shape):
        mag = rng.uniform(lo, hi, size=shape)
        sign = np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)
        return _out(mag * sign)
    return make


@dataclass
class Case:
    """One test case: call ``fn`` (dualdiff) on args made from ``domains`` and ``shapes``.

    ``ref`` is the numpy reference the oracle differentiates (complex-analytic when ``oracle``
    is "complex"); ``value_ref`` (default ``ref``) is what the value is compared with. ``traced``
    lists the arguments that may be Duals; every non-empty subset of them is tried.
    ``make`` overrides argument construction (for pairs kept apart, such as maximum's).
    """

    id: str
    fn: Callable[..., Any]
    ref: Callable[..., Any]
    shapes: Sequence[tuple] = ()
    domains: Sequence[Callable] = ()
    oracle: str = "complex"
    value_ref: Optional[Callable[..., Any]] = None
    traced: Optional[Sequence[int]] = None
    make: Optional[Callable[[Any], tuple]] = None
    plain_scalar: bool = False  # all-scalar input must give a Python/numpy float
    # the arguments sit where some partials vanish that vanish nowhere else (zeros of prod):
    # the Jacobian's pattern there is sparser than at almost every x
    special_point: bool = False

    def args(self, rng) -> tuple:
        if self.make is not None:
            return tuple(self.make(rng))
        return tuple(d(rng, s) for d, s in zip(self.domains, self.shapes))


CASES: "dict[str, list[Case]]" = {}


def add_case(name: str, case: Case) -> None:
    CASES.setdefault(name, []).append(case)



#: Public functions without a rule of their own that the table test covers too.
COMPOSITES: "list[str]" = []

UNARY_SHAPES = [(), (4,), (2, 3)]
BINARY_SHAPES = [((), ()), ((3,), ()), ((), (3,)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((2, 3), (2, 3))]


def _sh(shape):
    return "x".join(map(str, shape)) or "scalar"


def _linear(name, cid, fn, ref, shapes, dom=U(-2, 2)):
    add_case(name, Case(f"{name}-{cid}", fn, ref, shapes, (dom,) * len(shapes)))




from . import ufuncs, shape, indexing, assembly, sorting, reductions, einsum, linalg, decompositions, norms, complex_parts, fft, sampling, polynomials, functional, special  # noqa: E402,F401  (registers the cases)
from . import masked_reductions, vector_products  # noqa: E402,F401
