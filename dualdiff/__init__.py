"""dualdiff: automatic differentiation for numpy code, forward (Dual numbers) and reverse (a tape).

>>> import dualdiff as dd, numpy as np
>>> f = lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1])
>>> dd.grad(f, [2.0, 5.0])
array([5.5       , 1.71633781])
"""

from .checkpoint import checkpoint, checkpoint_sequential
from .coloring import Coloring, check_coloring, color_columns, color_rows, color_star
from .compiler import compile
from .dual import Dual
from .rules import (
    PRIMITIVES, abs, add, angle, conj, imag, real, arccos, arcsin, arctan, arctan2, broadcast_to, concatenate, cos, cosh,
    divide, dot, elementwise, exp, expm1, getitem, log, log1p, log_softmax, logsumexp, matmul, maximum, mean,
    minimum, multiply, negative, power, relu, reshape, sigmoid, sign, sin, sinh, softmax, sqrt,
    stack, subtract, sum, sum_to, tan, tanh, transpose, where,
    cross, einsum, inner, kron, outer, tensordot, vdot,
)
from .rules import (  # numpy's other ufuncs and reductions; np.trace's is dd.rules.trace
    amax, amin, arccosh, arcsinh, arctanh, average, cbrt, clip, copysign, cumprod, cumsum,
    deg2rad, degrees, diff, ediff1d, exp2, fabs, float_power, fmax, fmin, fmod, heaviside, hypot, log10,
    log2, logaddexp, logaddexp2, max, median, min, mod, nan_to_num, nanmax, nanmean, nanmin,
    nansum, percentile, positive, prod, ptp, quantile, rad2deg, radians, reciprocal, remainder,
    sinc, square, std, true_divide, var, ldexp,
    nancumprod, nancumsum, nanprod, nanstd, nanvar, nanquantile, nanpercentile, nanmedian,
)
from .rules import UFUNCS_AND_REDUCTIONS as _UFUNCS_AND_REDUCTIONS
from .memory import MemoryInfo
from . import fft, linalg, special
from .rules import FUNCTIONAL, SAMPLING, SHAPE_AND_ASSEMBLY
from .rules import apply_along_axis, piecewise
from .rules import HISTOGRAMS, bincount, histogram, histogram2d, histogramdd
from .rules import gradient, linspace, logspace, real_if_close, unwrap
from .rules import convolve, corrcoef, correlate, cov, interp, polyval, trapezoid
from .rules import polyadd, polyder, polyfit, polyint, polymul, polysub, vander
from .rules import (  # shape, assembly, indexing and sorting
    append, array_split, astype, atleast_1d, atleast_2d, atleast_3d, choose, column_stack, copy,
    diag, diagflat, diagonal, dsplit, dstack, flip, fliplr, flipud, hsplit, hstack,
    index_update, moveaxis, pad, partition, repeat, roll, rollaxis, rot90, row_stack, select,
    sort, split, swapaxes, take, take_along_axis, tile, tril, triu, vsplit, vstack,
    broadcast_arrays, meshgrid, delete, insert, resize, trim_zeros, unstack,
)
from .primitives import Primitive
from .primitives import stop_gradient_read_only as stop_gradient
from .sparsity import COO, Pattern
from .tape import Var
from .trace import trace
from .transforms import (
    JacobianInfo, auto_chunk, derivative, grad, hessian, hessian_sparsity, hvp, jacobian, jvp,
    seed_directions, sparsity, value_and_grad, vjp,
)

__version__ = "0.1.0"

__all__ = [
    "Dual", "Var", "Primitive", "PRIMITIVES", "JacobianInfo", "stop_gradient",
    "derivative", "jvp", "vjp", "grad", "value_and_grad", "jacobian", "hessian", "hvp", "auto_chunk",
    "seed_directions", "trace", "elementwise", "checkpoint", "checkpoint_sequential", "MemoryInfo",
    "compile",
    "add", "subtract", "multiply", "divide", "negative", "power",
    "sin", "cos", "tan", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sinh", "cosh",
    "arcsin", "arccos", "arctan", "arctan2", "abs", "sign", "sigmoid", "relu",
    "maximum", "minimum", "where", "softmax", "log_softmax", "logsumexp",
    "sum", "mean", "dot", "matmul", "transpose", "reshape", "stack", "concatenate",
    "broadcast_to", "sum_to", "getitem", "real", "imag", "conj", "angle",
    "sparsity", "hessian_sparsity", "Pattern", "COO", "Coloring", "color_columns", "color_rows",
    "color_star", "check_coloring",
    *[n for n in _UFUNCS_AND_REDUCTIONS if n != "trace"],  # dd.trace is the evaluation trace
    "einsum", "tensordot", "inner", "outer", "vdot", "kron", "cross", "linalg", "fft", "special",
]
__all__ += SHAPE_AND_ASSEMBLY
__all__ += SAMPLING
__all__ += FUNCTIONAL
__all__ += HISTOGRAMS
