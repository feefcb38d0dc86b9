"""The table of primitives, organised by family, and the public functions that bind them.

Every derivative dualdiff knows is written exactly once, in the family module where it belongs:

| module | holds |
|---|---|
| ``table.py`` | ``PRIMITIVES`` (the one table both modes read), ``register``, shared helpers |
| ``shape.py`` | reshape, transpose, broadcast_to, sum (broadcasting's transpose), sum_to |
| ``complex_parts.py`` | real, imag, conj, angle: the parts of a complex number |
| ``partials.py`` | ``elementwise()``: an elementwise entry's partials turned into both rules |
| ``indexing.py`` | getitem and its transpose index_add |
| ``assembly.py`` | stack, concatenate, where |
| ``ufuncs.py`` | arithmetic, exp/log, trigonometry, activations, maximum/minimum |
| ``reductions.py`` | mean, logsumexp, softmax, log_softmax (composites) |
| ``linalg.py`` | matmul, dot |

Each module imports only the ones above it in this list. Three kinds of entry: **elementwise**
entries give their partials ∂out/∂argᵢ; **linear** entries apply themselves to tangents and give
their transpose; the **others** give a tangent rule and an adjoint rule side by side. All rules
are written with these public functions, never with raw numpy on ``.primal``, so applied to
traced values they are differentiated in turn: that is what makes Hessians by nesting work.
"""

from __future__ import annotations

from .table import PRIMITIVES
from .shape import broadcast_to, reshape, sum, sum_to, transpose
from .complex_parts import angle, conj, imag, real
from .partials import elementwise
from .indexing import getitem
from .assembly import concatenate, stack, where
from .ufuncs import (
    abs, add, arccos, arcsin, arctan, arctan2, cos, cosh, divide, exp, expm1, log, log1p, maximum,
    minimum, multiply, negative, power, relu, sigmoid, sign, sin, sinh, sqrt, subtract, tan, tanh,
)
from .reductions import log_softmax, logsumexp, mean, softmax
from .linalg import dot, matmul

__all__ = [
    "add", "subtract", "multiply", "divide", "negative", "power",
    "sin", "cos", "tan", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sinh", "cosh",
    "arcsin", "arccos", "arctan", "arctan2", "abs", "sign", "sigmoid", "relu",
    "maximum", "minimum", "where", "softmax", "log_softmax", "logsumexp",
    "sum", "mean", "dot", "matmul", "transpose", "reshape", "stack", "concatenate",
    "broadcast_to", "sum_to", "getitem", "PRIMITIVES", "elementwise",
    "real", "imag", "conj", "angle",
]
