"""The table of primitives, organised by family, and the public functions that bind them.

Every derivative dualdiff knows is written exactly once, in the family module where it belongs:

| module | holds |
|---|---|
| ``table.py`` | ``PRIMITIVES`` (the one table both modes read), ``register``, shared helpers |
| ``shape.py`` | reshape, transpose, broadcast_to, sum (broadcasting's transpose), sum_to; moveaxis, atleast_nd, tile |
| ``complex_parts.py`` | real, imag, conj, angle: the parts of a complex number; real_if_close |
| ``partials.py`` | ``elementwise()``: an elementwise entry's partials turned into both rules |
| ``indexing.py`` | getitem and its transpose index_add; flip, rot90, take, take_along_axis, diagonal, repeat, sliding_window_view |
| ``assembly.py`` | stack, concatenate, where; the stacks and splits, roll, pad, diag, tril/triu, select, choose, index_update |
| ``sorting.py`` | sort and partition: the permutation from the values, the derivative following it |
| ``ufuncs.py`` | arithmetic, exp/log, trigonometry, activations, maximum/minimum, the other ufuncs, clip |
| ``cumulative.py`` | cumsum, cumprod (exact with zeros: a parallel scan) |
| ``reductions.py`` | max/min, nanmax/nanmin, prod; composites: mean, var, std, quantile, ... |
| ``einsum.py`` | einsum (adjoints derived from the subscripts), tensordot, inner, outer, vdot, kron |
| ``linalg.py`` | matmul, dot, solve, inv, det, slogdet, matrix_power, multi_dot, cross, trace |
| ``decompositions.py`` | cholesky, qr, eigh, svd (outputs packed in one array), pinv, lstsq |
| ``norms.py`` | norm, vector_norm, matrix_norm, cond (composites) |
| ``fft.py`` | fft, ifft, rfft, irfft (linear; transposes derived with the Hermitian halves); fftn, hfft, fftshift, ... as composites |
| ``sampling.py`` | gradient, trapezoid, interp, linspace, unwrap (composites: numpy's formulas in dualdiff's functions) |
| ``padding.py`` | pad: the modes maximum, minimum, mean, median, linear_ramp (composites), the others by assembly's |
| ``polynomials.py`` | polyval, convolve (the polynomial product), correlate, polyder, polyint, polyadd, polysub, polymul, vander, polyfit (composites) |
| ``statistics.py`` | cov, corrcoef (composites) |
| ``nan_reductions.py`` | nanvar, nanstd, nanprod, nancumsum, nancumprod, nanquantile, nanpercentile, nanmedian (composites) |
| ``masked_reductions.py`` | sum_where (numpy's masked sum: ``where=``); mean, var, std, prod, max/min over a mask (composites) |
| ``vector_products.py`` | matvec and vecmat_u (each the other's transpose, numpy's values); vecmat, vecdot (conjugating, as numpy) |
| ``functional.py`` | apply_along_axis, piecewise: the user's function called on pieces (composites) |
| ``histograms.py`` | bincount, histogram, histogram2d, histogramdd with traced weights (composites: a scatter-add) |
| ``folds.py`` | the reduce and accumulate of logaddexp, logaddexp2: numpy's sequential fold (composites) |
| ``special.py`` | scipy.special's ufuncs: expit, logit, erf, ndtr, gammaln, xlogy, ... (values by scipy) |

Each module imports only the ones above it in this list. Three kinds of entry: **elementwise**
entries give their partials ∂out/∂argᵢ; **linear** entries apply themselves to tangents and give
their transpose; the **others** give a tangent rule and an adjoint rule side by side. All rules
are written with these public functions, never with raw numpy on ``.primal``, so applied to
traced values they are differentiated in turn: that is what makes Hessians by nesting work.
"""

from __future__ import annotations

from .table import PRIMITIVES
from .shape import (
    astype, atleast_1d, atleast_2d, atleast_3d, broadcast_arrays, broadcast_to, copy, meshgrid,
    moveaxis, reshape, rollaxis, sum, sum_to, swapaxes, tile, transpose,
)
from .complex_parts import angle, conj, imag, real, real_if_close
from .partials import elementwise
from .indexing import diagonal, flip, fliplr, flipud, getitem, repeat, rot90, take, take_along_axis
from .assembly import (
    append, array_split, choose, column_stack, concatenate, delete, diag, diagflat, dsplit, dstack,
    hsplit, hstack, index_update, insert, resize, roll, row_stack, select, split, stack, tril, triu,
    trim_zeros, unstack, vsplit, vstack, where,
)
from .sorting import partition, sort
from .ufuncs import (
    abs, add, arccos, arcsin, arctan, arctan2, cos, cosh, divide, exp, expm1, log, log1p, maximum,
    minimum, multiply, negative, power, relu, sigmoid, sign, sin, sinh, sqrt, subtract, tan, tanh,
)
from .ufuncs import (
    arccosh, arcsinh, arctanh, cbrt, clip, copysign, deg2rad, degrees, exp2, fabs, float_power,
    fmax, fmin, fmod, heaviside, hypot, log10, log2, logaddexp, logaddexp2, mod, nan_to_num,
    ldexp, positive, rad2deg, radians, reciprocal, remainder, sinc, square, true_divide,
)
from .cumulative import cumprod, cumsum
from .reductions import log_softmax, logsumexp, mean, softmax
from .reductions import (
    amax, amin, average, diff, ediff1d, max, median, min, nanmax, nanmean, nanmin, nansum, percentile,
    prod, ptp, quantile, std, trace, var,
)
from .einsum import einsum, inner, kron, outer, tensordot, vdot
from .linalg import cross, dot, matmul
# The decompositions and norms are public as dd.linalg.* (dualdiff/linalg.py), as in numpy.
from .decompositions import cholesky, eigh, pinv, qr, svd  # noqa: F401
from .norms import norm  # noqa: F401
# The discrete Fourier transforms are public as dd.fft.* (dualdiff/fft.py), as in numpy.
from .fft import FFT as _FFT  # noqa: F401
from .sampling import gradient, interp, linspace, logspace, trapezoid, unwrap
from .padding import pad  # np.pad's every mode (the copying ones from assembly)
from .polynomials import (
    convolve, correlate, polyadd, polyder, polyfit, polyint, polymul, polysub, polyval, vander,
)
from .statistics import corrcoef, cov
from .nan_reductions import (
    nancumprod, nancumsum, nanmedian, nanpercentile, nanprod, nanquantile, nanstd, nanvar,
)
from .masked_reductions import sum_where  # noqa: F401  (np.sum(x, where=mask) and the like: numpy_dispatch)
from .vector_products import matvec, vecdot, vecmat  # noqa: F401  (np.matvec, np.vecmat, np.vecdot: numpy_dispatch)
from .functional import apply_along_axis, piecewise
from .histograms import bincount, histogram, histogram2d, histogramdd
from .folds import fold, fold_accumulate  # noqa: F401  (np.logaddexp.reduce and the like)
from .special import SPECIAL_UFUNCS  # noqa: F401  (scipy.special's ufuncs; public as dd.special)

#: The elementwise functions and reductions added for numpy coverage (issue #8).
UFUNCS_AND_REDUCTIONS = [
    "square", "reciprocal", "cbrt", "log2", "log10", "exp2", "logaddexp", "logaddexp2", "hypot",
    "arcsinh", "arccosh", "arctanh", "sinc", "deg2rad", "rad2deg", "degrees", "radians", "fabs",
    "fmax", "fmin", "copysign", "mod", "remainder", "fmod", "nan_to_num", "positive",
    "true_divide", "float_power", "heaviside", "clip", "ldexp",
    "max", "min", "amax", "amin", "nanmax", "nanmin", "prod", "cumsum", "cumprod", "var", "std",
    "ptp", "average", "nansum", "nanmean", "median", "quantile", "percentile", "diff", "ediff1d",
    "trace",
    "nanvar", "nanstd", "nanprod", "nancumsum", "nancumprod", "nanquantile", "nanpercentile",
    "nanmedian",
]

#: The shape, assembly, indexing and sorting functions (composites of the primitives above).
SHAPE_AND_ASSEMBLY = [
    "astype", "copy", "moveaxis", "rollaxis", "swapaxes", "atleast_1d", "atleast_2d",
    "atleast_3d", "tile",
    "flip", "fliplr", "flipud", "rot90", "take", "take_along_axis", "diagonal", "repeat",
    "vstack", "hstack", "dstack", "column_stack", "row_stack", "append", "split", "array_split",
    "hsplit", "vsplit", "dsplit", "roll", "pad", "diag", "diagflat", "tril", "triu", "select",
    "choose", "index_update", "sort", "partition", "broadcast_arrays", "meshgrid", "delete",
    "insert", "resize", "unstack", "trim_zeros",
]

#: Sampled data and the rest of numpy's complex helpers (composites).
SAMPLING = ["gradient", "linspace", "logspace", "real_if_close", "trapezoid", "interp", "unwrap", "convolve",
            "correlate", "polyval", "polyder", "polyint", "polyadd", "polysub", "polymul",
            "vander", "polyfit", "cov", "corrcoef"]

#: numpy's functions that call the user's function on pieces of an array (composites).
FUNCTIONAL = ["apply_along_axis", "piecewise"]

#: Weighted counts: linear in the weights, the bins from plain sample positions (composites).
HISTOGRAMS = ["bincount", "histogram", "histogram2d", "histogramdd"]

__all__ = [
    "add", "subtract", "multiply", "divide", "negative", "power",
    "sin", "cos", "tan", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sinh", "cosh",
    "arcsin", "arccos", "arctan", "arctan2", "abs", "sign", "sigmoid", "relu",
    "maximum", "minimum", "where", "softmax", "log_softmax", "logsumexp",
    "sum", "mean", "dot", "matmul", "transpose", "reshape", "stack", "concatenate",
    "broadcast_to", "sum_to", "getitem", "PRIMITIVES", "elementwise",
    "real", "imag", "conj", "angle",
    *UFUNCS_AND_REDUCTIONS,
    "einsum", "tensordot", "inner", "outer", "vdot", "kron", "cross",
    *SHAPE_AND_ASSEMBLY, *SAMPLING, *FUNCTIONAL, *HISTOGRAMS,
]
