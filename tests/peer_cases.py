"""What autograd's and JAX's test suites differentiate, re-expressed as dualdiff checks.

Each case is (name, f, args, options): the function as their tests call it (numpy's name, their
keyword arguments), arguments of the shapes, dtypes and domains their tests draw, and options for
``peer_checks.check`` (argnums, order). Written from reading autograd's tests/test_numpy.py,
test_systematic.py, test_linalg.py, test_scalar_ops.py, test_complex.py, test_wrappers.py and
JAX's tests/lax_numpy_test.py (NumpyGradTests) and tests/linalg_test.py (the check_grads calls);
the code is ours. Arguments come from a fixed generator, so a case is the same on every run.
"""

from __future__ import annotations

import operator
from functools import partial

import numpy as np

_rng = np.random.default_rng(20261130)


def R(*shape):
    return _rng.standard_normal(shape)


def C(*shape):
    return _rng.standard_normal(shape) + 1j * _rng.standard_normal(shape)


def U(lo, hi, *shape):
    return _rng.uniform(lo, hi, shape)


def PSD(n, *batch):
    a = R(*batch, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def HPD(n):
    a = C(n, n)
    return a @ a.conj().T + n * np.eye(n)


def _sym(a):
    lower = np.tril(a)
    return (lower + np.swapaxes(lower, -1, -2)) / 2.0


def _smooth(make, kind):
    """Draw (a, b) = make() until no pair sits within 0.05 of a kink (maximum) or a jump (mod)."""
    for _ in range(10000):
        a, b = make()
        if kind == "kink":
            gap = np.abs(np.subtract(a, b))
        elif kind == "sign":
            gap = np.abs(b)
        else:
            q = np.divide(a, b)
            gap = np.abs(q - np.round(q)) * np.abs(b)
        if np.min(gap, initial=1.0) > 0.05:
            return [a, b]
    raise AssertionError("no smooth point found")


def _on_symmetric(fun):
    """The function of the symmetrised lower triangle (autograd's check_symmetric_matrix_grads)."""
    return lambda a, *rest: fun(_sym(a), *rest)


CASES: list = []


def case(name, f, args, **options):
    CASES.append((name, f, list(args), options))


# --- autograd tests/test_numpy.py -------------------------------------------------------------
case("dot mat·vec", np.dot, [R(10, 11), R(11)])
case("dot mat·mat", np.dot, [R(10, 11), R(11, 10)])
case("dot vec·mat", np.dot, [R(10), R(10, 11)])
case("dot vec·vec", np.dot, [R(11), R(11)])
case("dot mat·float", np.dot, [R(10, 11), 0.7])
case("dot float·mat", np.dot, [0.7, R(10, 11)])
case("dot vec·float", np.dot, [R(10), 0.7])
case("outer", np.outer, [R(11), R(11)])
for red in ("max", "min", "sum", "mean"):
    fn = getattr(np, red)
    case(f"{red}", fn, [R(10, 11)])
    case(f"{red} axis=1", partial(fn, axis=1), [R(3, 4, 5)])
    case(f"{red} axis=1 keepdims", partial(fn, axis=1, keepdims=True), [R(3, 4, 5)])
case("sum axis=(1, 2)", partial(np.sum, axis=(1, 2)), [R(10, 11, 7)])
case("max axis=(0, 2) keepdims", partial(np.max, axis=(0, 2), keepdims=True), [R(3, 4, 5)])
case("mean axis=(0, 2)", partial(np.mean, axis=(0, 2)), [R(3, 4, 5)])
case("prod axis=(0, 1)", partial(np.prod, axis=(0, 1)), [U(0.5, 1.5, 2, 3, 2)])
base = np.abs(R(5)) + 0.5
for red in ("sum", "prod", "max", "min"):
    case(f"plain np.{red} of exp(a)·c", lambda a, r=getattr(np, red): r(np.exp(a) * base), [0.7])
case("flipud", np.flipud, [R(10, 11)])
case("fliplr", np.fliplr, [R(10, 11)])
case("rot90", np.rot90, [R(10, 11)])
case("rot90 k=3 axes=(1, 2)", partial(np.rot90, k=3, axes=(1, 2)), [R(2, 3, 4)])
case("cumsum axis=0", partial(np.cumsum, axis=0), [R(10, 11)])
case("cumsum axis=1", partial(np.cumsum, axis=1), [R(10, 11)])
case("cumsum 1-d", np.cumsum, [R(10)])
case("cumsum no axis", np.cumsum, [R(10, 11)])
case("builtin sum of two arrays", lambda x, y: sum([x, y]), [R(10, 11), R(10, 11)])
case("mean of a list of traced", lambda x: np.mean([x, x + 2]), [0.0])
case("mean of a tuple of traced", lambda x: np.mean((x, x + 2)), [0.0])
case("std of a list of traced", lambda x: np.std([x, x + 2]), [0.0])
case("var of a tuple of traced", lambda x: np.var((x, x + 2)), [0.0])
A3 = R(5, 6, 4)
case("index ints", lambda x: x[3, 0, 1], [A3])
case("index slice, negative step", lambda x: x[::-1, 2:4, :], [A3])
case("index list", lambda x: x[[0, 1, 2], :, :], [A3])
case("index mixed", lambda x: x[3, 2:, [1, 3]], [A3])
case("vector slice", lambda x: x[2:4], [R(5)])
case("slice fan-out", lambda x: x[::-1, 2:4, :] + x[::-1, 3:5, :], [A3])
case("slice of a slice", lambda x: x[2:6][1:3], [R(7)])
case("reshape method tuple", lambda x: x.reshape((20, 6)), [A3])
case("np.reshape", lambda x: np.reshape(x, (20, 6)), [A3])
case("reshape method varargs", lambda x: x.reshape(20, 6), [A3])
case("ravel method", lambda x: x.ravel(), [A3])
case("np.ravel", np.ravel, [A3])
case("flatten method", lambda x: x.flatten(), [A3])
case("append list and float", np.append, [[1.0, 2.0, 3.0], 4.0])
case("append array and float", np.append, [np.array([1.0, 2.0, 3.0]), 4.0])
case("append 2-d axis=0", partial(np.append, axis=0), [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0]]])
B3 = R(5, 6, 4)
A5 = R(5, 6, 4)
case("concatenate (A, x)", lambda x: np.concatenate((A5, x)), [R(4, 6, 4)])
case("concatenate (B, x, B)", lambda x: np.concatenate((B3, x, B3)), [R(5, 6, 4)])
case("concatenate axis=1", lambda x: np.concatenate((B3, x, B3), axis=1), [R(5, 6, 4)])
case("concatenate axis positional", lambda x: np.concatenate((B3, x, B3), 1), [R(5, 6, 4)])
for off in (-9, -3, 0, 4, 10):
    case(f"trace offset={off} (10, 11)", partial(np.trace, offset=off), [R(10, 11)])
case("trace offset=2 (11, 10)", partial(np.trace, offset=2), [R(11, 10)])
case("trace offset=-2 (5, 6, 4, 3)", partial(np.trace, offset=-2), [R(5, 6, 4, 3)])
case("trace axis1=3 axis2=2", partial(np.trace, offset=1, axis1=3, axis2=2), [R(5, 6, 4, 3)])
case("diag of matrix", np.diag, [R(10, 10)])
case(".T", lambda x: x.T, [R(8, 8)])
case("roll 2 axis=1", lambda x: np.roll(x, 2, axis=1), [R(4, 5)])
case("roll 2 no axis", lambda x: np.roll(x, 2), [R(4, 5)])
case("roll tuple shifts", lambda x: np.roll(x, (1, -2), axis=(0, 1)), [R(4, 5)])
case("triu k=2", partial(np.triu, k=2), [R(5, 5)])
case("tril k=2", partial(np.tril, k=2), [R(5, 5)])
case("clip a_min= a_max=", lambda x: np.clip(x, a_min=0.1, a_max=1.1), [R(5, 5)])
case("clip min= max= (numpy 2.1)", lambda x: np.clip(x, min=0.1, max=1.1), [R(5, 5)])
case("prod", np.prod, [R(2, 3) ** 2 / 10.0 + 0.1])
case("prod axis=0", partial(np.prod, axis=0), [R(2, 3) ** 2 + 0.1])
case("prod axis=0 keepdims", partial(np.prod, axis=0, keepdims=True), [R(2, 3) ** 2 + 0.1])
case("prod 1-d", np.prod, [R(7) ** 2 + 0.1])
case("np.array of a scalar", lambda x: np.array(x), [3.0])
case("np.asarray then sin", lambda x: np.sin(np.asarray(x)), [R(3)])
case("len", lambda x: x * len(x), [R(3, 2)])
case("np.r_[x]", lambda x: np.r_[x], [R(3, 2)])
case("np.r_[x, x]", lambda x: np.r_[x, x], [R(3, 2)])
case("np.c_[x, c, x]", lambda x: np.c_[x, R(3, 2), x], [R(3, 2)])
for ddof in (0, 1):
    for keep in (True, False):
        case(f"var ddof={ddof} keepdims={keep}", partial(np.var, ddof=ddof, keepdims=keep), [R(3, 4)])
        case(f"std ddof={ddof} keepdims={keep}", partial(np.std, ddof=ddof, keepdims=keep), [R(3, 4)])
case("var ddof=2 axis=1", partial(np.var, ddof=2, axis=1), [R(3, 4)])
case("std ddof=2 axis=1 keepdims", partial(np.std, ddof=2, axis=1, keepdims=True), [R(3, 4)])
case("std correction=1 (array API)", partial(np.std, correction=1), [R(3, 4)])
COND = R(4, 5) > 0
case("where(c, x, y)", lambda x, y: np.where(COND, x, y), [R(4, 5), R(4, 5)])
case("squeeze", np.squeeze, [R(5, 1, 4)])
case("squeeze method", lambda x: x.squeeze(), [R(5, 1, 4)])
case("squeeze axis=1", partial(np.squeeze, axis=1), [R(5, 1, 4)])
case("repeat 2 axis=1", lambda x: np.repeat(x, 2, axis=1), [R(5, 3, 4)])
case("repeat 1 axis=0", lambda x: np.repeat(x, 1, axis=0), [R(5, 1)])
case("repeat 2 1-d", lambda x: np.repeat(x, 2, axis=0), [R(5)])
case("repeat array counts", lambda x: np.repeat(x, [1, 0, 2], axis=0), [R(3, 2)])
case("expand_dims 2", lambda x: np.expand_dims(x, 2), [R(5, 1, 4)])
case("expand_dims tuple", lambda x: np.expand_dims(x, (0, 3)), [R(5, 4)])
case("tensordot axes by position", lambda x: np.tensordot(x * np.ones((2, 2)), x * np.ones((2, 2)), 2), [1.0])
case("x[[0, 0]] summed", lambda x: np.sum(x[[0, 0]]), [R(3)])
case("x[[0, 1, 0]] summed", lambda x: np.sum(x[[0, 1, 0]]), [R(3)])
case("dot of two slices", lambda x: np.dot(x[:2], x[2:]), [R(4)])


def _cast_to_int(W):
    new_w = W[:, :-1]
    inds = np.int64(W[:, -1])
    return new_w[inds].sum()


W_int = R(5, 10)
W_int[:, -1] = [0, 1, 2, 3, 1]
case("np.int64 of a traced column as an index", _cast_to_int, [W_int], order=1)
case("diagonal axis1=-1 axis2=-2", partial(np.diagonal, axis1=-1, axis2=-2), [R(3, 4, 4)])
case("diagonal offset=1 axis1=0 axis2=2", partial(np.diagonal, offset=1, axis1=0, axis2=2), [R(3, 4, 5)])
YNAN = np.array([0.0, np.nan, np.inf, -np.inf])
case("nan_to_num", lambda x: np.sum(np.sin(np.nan_to_num(x + YNAN))), [R(4)])
case("max of equal values", lambda x: np.max(dd_stack([x, x])), [1.0])
case("max equal values 2-d axis=1", lambda x: np.max(dd_stack([dd_stack([x, x]), dd_stack([x, 0.5 + 0 * x])]), axis=1), [1.0])
case("maximum(x, x)", lambda x: np.maximum(x, x), [1.0])
case("min 3-way equality axis=0",
     lambda x: np.min(np.where(np.array([[1, 1, 1], [1, 0, 0], [0, 0, 0], [1, 1, 0]], bool), x, 0.5), axis=0), [1.0])
case("min 3-way equality axis=0 (x<0.5)",
     lambda x: np.min(np.where(np.array([[1, 1, 1], [1, 0, 0], [0, 0, 0], [1, 1, 0]], bool), x, 0.5), axis=0), [-1.0])
for num in (0, 1, 5):
    case(f"linspace num={num}", lambda x, y, num=num: np.linspace(x, y, num), [1.2, 3.4])
case("linspace start == stop", lambda x, y: np.linspace(x, y, 5), [1.2, 1.2])
case("linspace endpoint=False retstep", lambda x, y: np.linspace(x, y, 4, endpoint=False, retstep=True)[0], [1.2, 3.4])
case("astype float64 of float32", lambda x: np.sum(np.sin(x.astype("float64"))), [np.arange(3, dtype="float32") + 0.5])
case("gradient 1-d", np.gradient, [R(10)])
case("gradient 2-d", np.gradient, [R(6, 6)])
case("gradient 3-d", np.gradient, [R(4, 5, 6)])
for ax in (None, 0, 1, -1, (0, 1), (0, -1)):
    case(f"gradient axis={ax}", partial(np.gradient, axis=ax), [R(4, 5, 6)])
case("gradient edge_order=2 spacing 0.5", lambda x: np.gradient(x, 0.5, edge_order=2), [R(7)])
COORDS = np.cumsum(U(0.5, 1.0, 7))
case("gradient coordinates", lambda x: np.gradient(x, COORDS), [R(7)])


def dd_stack(parts):
    import dualdiff as dd
    return dd.stack(parts)


# --- autograd tests/test_systematic.py: reductions (stat_check) --------------------------------
for red in ("max", "min", "sum", "mean", "prod", "var", "std"):
    fn = getattr(np, red)
    case(f"{red} of a float", fn, [3.5])
    case(f"{red} of a 0-d", fn, [np.array(0.3)])
    for shape in ((3,), (2, 3), (1, 3)):
        for ax in (None, 0) + ((1,) if len(shape) == 2 else ()):
            for keep in (True, False):
                # max and min at values at least 0.3 apart: the differences never straddle a tie
                x = _rng.permutation(np.linspace(-2.0, 2.0, int(np.prod(shape)))).reshape(shape) \
                    if red in ("max", "min") else R(*shape)
                case(f"{red} {shape} axis={ax} keepdims={keep}", partial(fn, axis=ax, keepdims=keep), [x])
    if red not in ("max", "min"):
        case(f"{red} of a complex scalar", fn, [0.4 + 0.1j])
        for ax in (None, 0):
            for keep in (True, False):
                case(f"{red} complex (2, 3) axis={ax} keepdims={keep}", partial(fn, axis=ax, keepdims=keep),
                     [R(2, 3) + 0.1j * R(2, 3)])

# --- unary ufuncs, real and complex (unary_ufunc_check) -----------------------------------------
UNARY = [
    ("sin", None, True), ("abs", (0.1, 4.0), True), ("absolute", (0.1, 4.0), True),
    ("arccosh", (1.1, 4.0), True), ("arcsinh", (-0.9, 0.9), True), ("arctanh", (-0.9, 0.9), True),
    ("ceil", (-1.5, 1.5), False), ("cos", None, True), ("cosh", None, True), ("deg2rad", None, False),
    ("degrees", None, False), ("exp", None, True), ("exp2", None, True), ("expm1", None, True),
    ("fabs", None, False), ("floor", (-1.5, 1.5), False), ("log", (0.2, 2.0), True),
    ("log10", (0.2, 2.0), True), ("log1p", (0.2, 2.0), True), ("log2", (0.2, 2.0), True),
    ("rad2deg", None, False), ("radians", None, False), ("sign", None, False), ("sinh", None, True),
    ("sqrt", (1.0, 3.0), True), ("square", None, True), ("tan", (-1.1, 1.1), True), ("tanh", None, True),
    ("real", None, True), ("real_if_close", None, True), ("imag", None, True), ("conj", None, True),
    ("conjugate", None, True), ("angle", None, True), ("arcsin", (-0.9, 0.9), True),
    ("arccos", (-0.9, 0.9), True), ("arctan", None, True), ("reciprocal", (0.5, 2.0), True),
    ("negative", None, True), ("positive", None, True), ("cbrt", (0.5, 2.0), False),
    ("sinc", None, False), ("fix", (-1.5, 1.5), False), ("rint", (-1.4, 1.4), False),
    ("trunc", (-1.5, 1.5), False), ("spacing", (0.5, 2.0), False),
]
for name, lims, cplx in UNARY:
    fn = getattr(np, name)
    lo, hi = lims or (-2.0, 2.0)
    for shape in ((), (2,), (3, 2), (1, 2)):
        x = U(lo, hi, *shape)
        if name in ("ceil", "floor", "fix", "rint", "trunc"):
            x = np.round(x) + 0.3
        case(f"{name} {shape}", fn, [x])
    if cplx:
        case(f"{name} complex scalar", fn, [U(lo, hi) + 0.1j * U(lo, hi)])
        case(f"{name} complex (3, 2)", fn, [U(lo, hi, 3, 2) + 0.1j * U(0, 1, 3, 2)])

# --- binary ufuncs (binary_ufunc_check) ---------------------------------------------------------
BINARY = [
    ("add", np.add, None, None, True, True), ("logaddexp", np.logaddexp, None, None, False, True),
    ("logaddexp2", np.logaddexp2, None, None, False, True),
    ("remainder", np.remainder, (-0.9, 0.9), (0.7, 1.9), False, False),
    ("true_divide", np.true_divide, None, (0.8, 1.2), True, True),
    ("true_divide neg", np.true_divide, None, (-2.0, -0.3), True, True),
    ("mod", np.mod, None, (0.8, 2.1), False, False), ("mod neg", np.mod, None, (-2.0, -0.3), False, False),
    ("op.mul", operator.mul, None, None, True, True), ("op.add", operator.add, None, None, True, True),
    ("op.sub", operator.sub, None, None, True, True), ("op.mod", operator.mod, None, (0.3, 2.0), False, False),
    ("op.truediv", operator.truediv, None, (0.5, 2.0), True, True),
    ("op.pow", operator.pow, (0.5, 2.0), None, True, True),
    ("power", np.power, (0.5, 2.0), None, True, True), ("float_power", np.float_power, (0.5, 2.0), None, False, True),
    ("subtract", np.subtract, None, None, True, True), ("multiply", np.multiply, None, None, True, True),
    ("arctan2", np.arctan2, None, (0.5, 2.0), False, True), ("hypot", np.hypot, None, None, False, True),
    ("fmod", np.fmod, (0.1, 0.9), (1.1, 1.9), False, False), ("copysign", np.copysign, (0.5, 2.0), None, False, False),
    ("maximum", np.maximum, None, None, False, False), ("minimum", np.minimum, None, None, False, False),
    ("fmax", np.fmax, None, None, False, False), ("fmin", np.fmin, None, None, False, False),
    ("ldexp by int", None, None, None, False, False), ("heaviside", np.heaviside, None, None, False, False),
]
for name, fn, la, lb, cplx, same in BINARY:
    if fn is None:
        continue
    (a0, a1), (b0, b1) = la or (-2.0, 2.0), lb or (-2.0, 2.0)
    shapes = [(), (2,), (3, 2), (1, 2)]
    for sa in shapes:
        for sb in shapes:
            kind = ("jump" if name.split()[0] in ("remainder", "mod", "op.mod", "fmod") else
                    "kink" if name in ("maximum", "minimum", "fmax", "fmin") else
                    "sign" if name in ("copysign", "heaviside") else None)
            make = (lambda sa=sa, sb=sb, a0=a0, a1=a1, b0=b0, b1=b1: (U(a0, a1, *sa), U(b0, b1, *sb)))
            case(f"{name} {sa}×{sb}", fn, _smooth(make, kind) if kind else list(make()))
    if same:
        x = U(a0, a1, 3, 2)
        if lb is None or (b0 <= a0 and a1 <= b1):
            case(f"{name} same argument twice", lambda x, fn=fn: fn(x, x), [x])
    if cplx:
        case(f"{name} complex scalars", fn, [U(a0, a1) + 0.3j, U(b0, b1) + 0.2j])
        case(f"{name} complex (3, 2) × (1, 2)", fn, [U(a0, a1, 3, 2) + 0.1j * U(0, 1, 3, 2), U(b0, b1, 1, 2)])
for n in range(-4, 5):
    case(f"ldexp(x, {n})", lambda x, n=n: np.ldexp(x, n), [R(10)])
    case(f"frexp(x·2^{n})[0]", lambda x: np.frexp(x)[0], [R(10) * 2.0 ** n], order=1)
    case(f"ldexp(x, {n}) float32", lambda x, n=n: np.ldexp(x, n), [R(10).astype(np.float32)], order=1, rtol=1e-2, atol=1e-3)

# --- test_systematic.py: shapes, products, einsum -----------------------------------------------
for axes in (None, [0, 1, 2], [0, 2, 1], [2, 0, 1], [2, 1, 0], [1, 0, 2], [1, 2, 0]):
    case(f"transpose axes={axes}", partial(np.transpose, axes=axes), [R(2, 3, 4)])
case("transpose method varargs", lambda x: x.transpose(2, 0, 1), [R(2, 3, 4)])
case("permute_dims", lambda x: np.permute_dims(x, (2, 0, 1)), [R(2, 3, 4)])
case("matrix_transpose", np.matrix_transpose, [R(2, 3, 4)])
case(".mT", lambda x: x.mT, [R(2, 3, 4)])
for s in (0, 1, 2):
    for d in (0, 1, 2):
        case(f"moveaxis {s}→{d}", partial(np.moveaxis, source=s, destination=d), [R(2, 3, 4)])
for reps in (0, 1, 2):
    for ax in (None, 0, 1):
        case(f"repeat {reps} axis={ax}", partial(np.repeat, repeats=reps, axis=ax), [R(2, 3, 4)])
for shape in ((5, 5), (5, 5, 5)):
    for n in (1, 2):
        for ax in (0, 1):
            case(f"diff {shape} n={n} axis={ax}", partial(np.diff, n=n, axis=ax), [R(*shape)])
case("diff prepend/append", lambda x: np.diff(x, prepend=0.0, append=x[-1:]), [R(5)])
case("diff of a (1,)", partial(np.diff, axis=0), [R(1)])
case("tile (2,1,3,1) reps (1,4,1,2)", partial(np.tile, reps=(1, 4, 1, 2)), [R(2, 1, 3, 1)])
for reps in ((1, 2), (2, 3), (3, 2, 1)):
    case(f"tile (1, 2) reps {reps}", partial(np.tile, reps=reps), [R(1, 2)])
case("tile (1,) reps 2", partial(np.tile, reps=2), [R(1)])
for sa, sb in (((5, 5), (3, 3)), ((4, 4), (2, 2)), ((5,), (3,)), ((5, 1), (1, 3)), ((1, 5), (3, 1)), ((), ())):
    case(f"kron {sa}×{sb}", np.kron, [R(*sa), R(*sb)])
case("kron complex", np.kron, [C(5, 5), C(3, 3)])
for a, b in ((1.5, 0.3), (R(3), R(3)), (R(2, 3), R(4, 3))):
    case(f"inner {np.shape(a)}×{np.shape(b)}", np.inner, [a, b])
DOT_A = [1.5, R(3), R(2, 3), R(2, 2, 3), C(3), C(2, 3)]
DOT_B = [0.3, R(3), R(3, 4), R(2, 3, 4), C(3)]
for a in DOT_A:
    for b in DOT_B:
        try:
            np.dot(a, b)
        except ValueError:
            continue
        case(f"dot {np.shape(a)}{'c' if np.iscomplexobj(a) else ''}×{np.shape(b)}{'c' if np.iscomplexobj(b) else ''}",
             np.dot, [a, b])
for a in (R(3), C(3)):
    for b in (R(3), C(3)):
        case(f"outer {a.dtype}×{b.dtype}", np.outer, [a, b])
MM_A = [R(3), R(2, 3), R(2, 2, 3), C(3), C(2, 3)]
MM_B = [R(3), R(3, 4), R(2, 3, 4), C(3), C(3, 4)]
for a in MM_A:
    for b in MM_B:
        case(f"matmul {a.shape}{a.dtype.kind}×{b.shape}{b.dtype.kind}", np.matmul, [a, b])
case("matmul broadcast (1,2,2)×(3,2,1)", np.matmul, [R(1, 2, 2), R(3, 2, 1)])
case("@ operator", operator.matmul, [R(2, 3), R(3, 4)])
TD = [
    ([R(1, 3), R(2, 3, 2), C(1, 3)], [R(3), R(3, 1), R(3, 4, 2), C(3)], [[(1,), (0,)]]),
    ([R(3), R(3, 1), R(3, 4, 2)], [R(1, 3), R(2, 3, 2)], [[(0,), (1,)]]),
    ([R(2, 3), R(2, 3, 4)], [R(1, 2, 3), R(2, 2, 3, 4)], [[(0, 1), (1, 2)], [(1, 0), (2, 1)]]),
    ([R(2, 2), R(4, 2, 2)], [R(2, 2), R(2, 2, 4)], [1, 2]),
    ([R(4)], [R()], [0]),
    ([R(2, 6)], [R(6, 3)], [[[-1], [0]]]),
    ([R(2, 6)], [R(6, 3)], [[-1, 0]]),
    ([R(2)], [R(2, 2)], [[0, 1]]),
]
for As, Bs, axes_list in TD:
    for a in As:
        for b in Bs:
            for axes in axes_list:
                try:
                    np.tensordot(a, b, axes=axes)
                except (ValueError, IndexError):
                    continue
                case(f"tensordot {np.shape(a)}×{np.shape(b)} axes={axes}", partial(np.tensordot, axes=axes), [a, b])
for fn in (np.maximum, np.fmax, np.minimum, np.fmin):
    for sa in ((1,), (1, 4), (3, 4)):
        for sb in ((1,), (1, 4), (3, 4)):
            case(f"{fn.__name__} {sa}×{sb}", fn, _smooth(lambda sa=sa, sb=sb: (R(*sa), R(*sb)), "kink"))
case("sort (1,)", np.sort, [R(1)])
case("sort (7,)", np.sort, [R(7)])
case("sort axis=0 (3, 4)", partial(np.sort, axis=0), [R(3, 4)])
case("sort axis=None", partial(np.sort, axis=None), [R(3, 4)])
case("sort stable=True (numpy 2)", partial(np.sort, stable=True), [R(7)])
case("ndarray.sort-free: np.sort(-x)", lambda x: -np.sort(-x), [R(7)])
for shape in ((7,), (14,)):
    for kth in (0, 3, 6):
        case(f"partition {shape} kth={kth}", partial(np.partition, kth=kth), [R(*shape)])
case("partition kth tuple", partial(np.partition, kth=(1, 4)), [R(7)])
for fn in (np.atleast_1d, np.atleast_2d, np.atleast_3d):
    for shape in ((), (1,), (7,), (1, 4), (2, 4), (2, 4, 5), (2, 4, 3, 5)):
        case(f"{fn.__name__} {shape}", fn, [R(*shape) if shape else 1.2])
EINSUM = [
    ("ij->ji", [R(1, 1)]), ("ij->ji", [R(4, 4)]), ("ij->ji", [R(3, 4)]),
    ("ij,jk->ik", [R(2, 3), R(3, 4)]), ("ij,jk->ik", [C(2, 3), C(3, 4)]), ("ij,jk->ik", [R(2, 3), C(3, 4)]),
    ("...ij,...jk->...ik", [R(2, 3), R(3, 4)]), ("...ij,...jk->...ik", [R(2, 2, 3), R(2, 3, 4)]),
    ("...ij,...jk->...ik", [R(0, 2, 3), R(0, 3, 4)]), ("ijk,lji->lki", [R(3, 4, 4), R(4, 4, 3)]),
    ("...jk,...lj->...lk", [R(4, 4), R(3, 4, 4)]), ("...,...->...", [R(4, 4), R(3, 4, 4)]),
    ("jk...,lj...->lk...", [R(3, 2), R(2, 3)]), ("jk...,lj...->lk...", [R(3, 2, 4), R(2, 3, 4)]),
    ("j...k,lj...->lk...", [R(2, 2, 2), R(2, 2, 2)]), ("ijk,lji,lli->lki", [R(3, 4, 4), R(4, 4, 3), R(4, 4, 3)]),
    ("k,nk->", [R(5), R(10, 5)]), ("abcd->bd", [R(3, 2, 3, 2)]), ("...k,...nk->...", [R(3, 5), R(3, 10, 5)]),
    ("ij,k", [R(3, 4), R(3)]), ("ii->i", [R(4, 4)]), ("ii", [R(4, 4)]), ("i,i", [R(4), R(4)]),
    ("bij,bjk->bik", [R(2, 3, 4), R(2, 4, 5)]),
]
for spec, operands in EINSUM:
    case(f"einsum {spec!r} {[o.shape for o in operands]}", lambda *ops, spec=spec: np.einsum(spec, *ops), operands)
case("einsum optimize=True", lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c, optimize=True), [R(2, 3), R(3, 4), R(4, 2)])
case("einsum optimize='greedy'", lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c, optimize="greedy"), [R(2, 3), R(3, 4), R(4, 2)])
case("einsum sublists transpose", lambda a: np.einsum(a, (0, 1), (1, 0)), [R(3, 4)])
case("einsum sublists matmul", lambda a, b: np.einsum(a, (0, 1), b, (1, 2), (0, 2)), [R(2, 3), R(3, 4)])
case("einsum sublists ellipsis", lambda a, b: np.einsum(a, (Ellipsis, 0, 1), b, (Ellipsis, 1, 2), (Ellipsis, 0, 2)),
     [R(2, 2, 3), R(2, 3, 4)])
case("einsum sublists three", lambda a, b, c: np.einsum(a, (0, 1, 2), b, (3, 1, 0), c, (3, 3, 0), (3, 2, 0)),
     [R(3, 4, 4), R(4, 4, 3), R(4, 4, 3)])
for shape in ((5, 5), (4, 5), (5, 4), (3, 4, 5)):
    for off in (-1, 0, 1):
        case(f"trace {shape} offset={off}", partial(np.trace, offset=off), [R(*shape)])
for k in (-1, 0, 1):
    case(f"diag (5, 5) k={k}", partial(np.diag, k=k), [R(5, 5)])
    case(f"diag (5,) k={k}", partial(np.diag, k=k), [R(5)])
    case(f"diagflat (2, 2) k={k}", partial(np.diagflat, k=k), [R(2, 2)])
    for fn in (np.tril, np.triu):
        case(f"{fn.__name__} (5, 5) k={k}", partial(fn, k=k), [R(5, 5)])
        case(f"{fn.__name__} (5, 5, 4) k={k}", partial(fn, k=k), [R(5, 5, 4)])
for a1 in (0, 1, 2):
    for a2 in (0, 1, 2):
        case(f"swapaxes {a1} {a2}", partial(np.swapaxes, axis1=a1, axis2=a2), [R(3, 4, 5)])
for ax in (0, 1, 2):
    for st in (0, 1, 2):
        case(f"rollaxis axis={ax} start={st}", partial(np.rollaxis, axis=ax, start=st), [R(2, 3, 4)])
for kw in ({"axisa": 0}, {"axisb": 0}, {"axisc": 0}, {"axis": 0}, {"axisa": 1, "axisb": 0, "axisc": 1}, {}):
    case(f"cross {kw}", partial(np.cross, **kw), [R(3, 3), R(3, 3)])
case("cross 2-vectors", np.cross, [R(4, 2), R(4, 2)], order=1)
case("np.linalg.cross", np.linalg.cross, [R(4, 3), R(4, 3)])
SPLITS = [(np.vsplit, R(4, 8), (4, [1, 2]), None), (np.vsplit, R(4, 4, 4), (2, [1, 2]), None),
          (np.hsplit, R(4, 8), (4, [1, 2]), None), (np.hsplit, R(4, 4, 4), (2, [1, 2]), None),
          (np.dsplit, R(4, 4, 4), (2, [1, 2]), None),
          (np.split, R(7), (1, [2, 5]), (0,)), (np.split, R(4, 8), (4, [1, 2]), (0, 1)),
          (np.split, R(4, 4, 4), (2, [1, 2]), (0, 1, 2)),
          (np.array_split, R(7), (1, 3), (0,)), (np.array_split, R(7, 7), (4, [3, 5]), (0, 1)),
          (np.array_split, R(7, 7, 7), (4, [3, 5]), (0, 1, 2))]
for fn, x, sections, axes in SPLITS:
    for sec in sections:
        for ax in axes or (None,):
            try:
                kw = {} if ax is None else {"axis": ax}
                fn(x, sec, **kw)
            except ValueError:
                continue
            case(f"{fn.__name__} {x.shape} {sec} axis={ax}",
                 lambda x, fn=fn, sec=sec, kw=kw: np.concatenate([np.ravel(p) for p in fn(x, sec, **kw)]), [x])
case("concatenate list (1,)+(3,)", lambda a, b: np.concatenate([a, b], axis=0), [R(1), R(3)])
case("concatenate tuple", lambda a, b: np.concatenate((a, b)), [R(1), R(3)])
case("concatenate axis=None", lambda a, b: np.concatenate((a, b), axis=None), [R(2, 2), R(3)])
case("concat (array API)", lambda a, b: np.concat((a, b), axis=1), [R(2, 2), R(2, 3)])
for ax in (0, 1):
    case(f"concatenate 2-d axis={ax}", lambda a, b, ax=ax: np.concatenate((a, b), axis=ax), [R(2, 2), R(2, 2)])
for ax in (0, 1, 2):
    case(f"concatenate 3-d axis={ax}", lambda a, b, ax=ax: np.concatenate((a, b), axis=ax), [R(2, 2, 2), R(2, 2, 2)])
for fn in (np.vstack, np.hstack, np.column_stack, np.dstack):
    case(f"{fn.__name__} of one", fn, [R(2, 3)])
    case(f"{fn.__name__} 1-d pair", lambda a, b, fn=fn: fn((a, b)), [R(2), R(2)])
case("vstack 2-d", lambda a, b: np.vstack((a, b)), [R(2, 4), R(1, 4)])
case("vstack 3-d", lambda a, b: np.vstack((a, b)), [R(2, 3, 4), R(5, 3, 4)])
case("hstack 2-d", lambda a, b: np.hstack((a, b)), [R(3, 4), R(3, 5)])
case("hstack 3-d", lambda a, b: np.hstack((a, b)), [R(2, 1, 4), R(2, 5, 4)])
case("column_stack 2-d", lambda a, b: np.column_stack((a, b)), [R(2, 2), R(2, 2)])
for ax in (0, 1, -1):
    case(f"stack axis={ax}", lambda a, b, ax=ax: np.stack((a, b), axis=ax), [R(2), R(2)])
case("stack of one", lambda a: np.stack((a,)), [R(2)])
case("block", lambda a, b: np.block([[a, b], [b, a]]), [R(2, 2), R(2, 2)])
SEL = [R(3, 4, 5) > 0, R(3, 4, 5) > 0, R(3, 4, 5) > 0]
for default in (0.0, 1.1):
    case(f"select default={default}", lambda a, b, c, d=default: np.select(SEL, [a, b, c], default=d),
         [R(3, 4, 5), R(3, 4, 5), R(3, 4, 5)])
case("select traced default", lambda a, d: np.select(SEL[:1], [a], default=d), [R(3, 4, 5), R(3, 4, 5)])
for width in (0, 3, (3,), (3, 2), ((3, 2),), ((1, 2), (3, 4)), ((0, 0), (0, 0))):
    case(f"pad {width} constant", lambda x, w=width: np.pad(x, w, "constant"), [R(2, 2)])
for mode in ("edge", "reflect", "symmetric", "wrap", "maximum", "mean", "linear_ramp"):
    case(f"pad mode={mode}", lambda x, m=mode: np.pad(x, ((1, 2), (2, 1)), mode=m), [R(3, 3)])
case("pad constant_values=", lambda x: np.pad(x, 2, constant_values=(1.0, 2.0)), [R(3)])

# --- autograd test_linalg.py -------------------------------------------------------------------
M8 = R(8, 8)
case("inv", np.linalg.inv, [M8 @ M8 + np.eye(8)])
for m in range(2, 8):
    case(f"pinv (5, {m})", np.linalg.pinv, [R(5, m)])
    case(f"pinv stacked (2, 5, {m})", np.linalg.pinv, [R(2, 5, m)])
    case(f"pinv of low rank xᵀx (5, {m})", lambda x: np.linalg.pinv(np.swapaxes(x, -1, -2) @ x), [R(5, m)], order=1)
case("pinv rcond=", lambda x: np.linalg.pinv(x, rcond=1e-10), [R(4, 3)])
case("pinv rtol= (numpy 2)", lambda x: np.linalg.pinv(x, rtol=1e-10), [R(4, 3)])
case("pinv hermitian=True", lambda x: np.linalg.pinv(x, hermitian=True), [PSD(4)])
case("inv 3-d", np.linalg.inv, [R(4, 4, 4) + 5 * np.eye(4)])
case("inv 4-d", np.linalg.inv, [R(4, 4, 4, 4) + 5 * np.eye(4)])
case("inv complex", np.linalg.inv, [C(3, 3) + 3 * np.eye(3)])
S8, SB = R(8, 8) + 10 * np.eye(8), R(8, 7)
case("solve arg 0", lambda a: np.linalg.solve(a, SB), [S8])
case("solve arg 0, 1-d b", lambda a: np.linalg.solve(a, SB[:, 0]), [S8])
case("solve arg 1", lambda b: np.linalg.solve(S8, b), [SB])
case("solve both", np.linalg.solve, [S8, SB])
case("solve 3-d, b[..., None]", lambda a, b: np.linalg.solve(a, b[..., None])[..., 0], [R(5, 4, 4) + 5 * np.eye(4), R(5, 4)])
case("solve 3-d × 3-d", np.linalg.solve, [R(5, 4, 4) + 5 * np.eye(4), R(5, 4, 6)])
case("solve broadcast (2,1,3,3)×(4,3,2)", np.linalg.solve, [R(2, 1, 3, 3) + 4 * np.eye(3), R(4, 3, 2)])
case("solve complex", np.linalg.solve, [C(3, 3) + 3 * np.eye(3), C(3)])
case("det", np.linalg.det, [R(6, 6)])
case("det 3-d", np.linalg.det, [R(3, 3, 3)])
case("det complex", np.linalg.det, [C(3, 3)])
case("slogdet logdet", lambda x: np.linalg.slogdet(x)[1], [M8[:6, :6]])
case("slogdet logdet of -x", lambda x: np.linalg.slogdet(-x)[1], [M8[:6, :6]])
case("slogdet .logabsdet", lambda x: np.linalg.slogdet(x).logabsdet, [M8[:6, :6]])
case("slogdet 3-d sum", lambda x: np.sum(np.linalg.slogdet(x)[1]), [PSD(5, 3)])
case("slogdet complex", lambda x: np.linalg.slogdet(x), [C(3, 3)])
case("norm vector", np.linalg.norm, [R(6)])
case("norm of a list of traced", lambda x: np.linalg.norm([x, x + 2]), [0.0])
case("norm vector complex", np.linalg.norm, [C(6)])
case("norm fro", np.linalg.norm, [R(6, 5)])
case("norm fro complex", np.linalg.norm, [C(6, 5)])
case("norm axis=(0, 1)", partial(np.linalg.norm, axis=(0, 1)), [R(6, 5, 4)])
case("norm axis=(0, 1) complex", partial(np.linalg.norm, axis=(0, 1)), [C(6, 5, 4)])
for o in (2, 3, 4, 1, np.inf, -np.inf, 0.5, -1):
    case(f"norm vector ord={o}", partial(np.linalg.norm, ord=o), [R(6)])
for o in (2, 3, 4):
    case(f"norm vector ord={o} complex", partial(np.linalg.norm, ord=o), [C(6)])
for ax in (0, 1, 2):
    case(f"norm axis={ax}", partial(np.linalg.norm, axis=ax), [R(6, 5, 4)])
    case(f"norm axis={ax} complex", partial(np.linalg.norm, axis=ax), [C(6, 5, 4)])
    case(f"norm axis={ax} keepdims", partial(np.linalg.norm, axis=ax, keepdims=True), [R(6, 5, 4)])
for o in ("nuc", "fro", 1, -1, 2, -2, np.inf, -np.inf):
    case(f"norm matrix ord={o}", partial(np.linalg.norm, ord=o), [R(6, 5)])
case("norm nuc complex", partial(np.linalg.norm, ord="nuc"), [C(6, 5)])
case("norm nuc axis=(0, 1)", partial(np.linalg.norm, ord="nuc", axis=(0, 1)), [R(6, 5, 4)])
case("norm nuc axis=(0, 1) complex", partial(np.linalg.norm, ord="nuc", axis=(0, 1)), [C(6, 5, 4)])
case("vector_norm", np.linalg.vector_norm, [R(3, 4)])
case("vector_norm axis=1 ord=3 keepdims", partial(np.linalg.vector_norm, axis=1, ord=3, keepdims=True), [R(3, 4)])
case("matrix_norm", np.linalg.matrix_norm, [R(2, 3, 4)])
case("matrix_norm ord=nuc", partial(np.linalg.matrix_norm, ord="nuc"), [R(2, 3, 4)])
case("eigh lower", np.linalg.eigh, [_sym(R(6, 6))], order=1, h=1e-5)
case("eigh upper", lambda x: np.linalg.eigh(x, "U"), [_sym(R(6, 6))], order=1)
case("eigh UPLO='U' keyword", lambda x: np.linalg.eigh(x, UPLO="U"), [_sym(R(6, 6))], order=1)
case("eigh of a non-symmetric input (reads the lower triangle)", lambda x: np.linalg.eigh(x)[0], [R(4, 4)], order=1)
case("eigh of a non-symmetric input, UPLO='U'", lambda x: np.linalg.eigh(x, UPLO="U")[0], [R(4, 4)], order=1)
HB = R(2, 3, 6, 6) + 10 * np.eye(6)
case("eigh broadcasting", np.linalg.eigh, [np.einsum("...ij,...kj->...ik", HB, HB)], order=1)
case("eigh complex (w, |v|)", lambda x: (np.linalg.eigh(x)[0], np.abs(np.linalg.eigh(x)[1])), [HPD(4)], order=1)
case("eigh .eigenvalues", lambda x: np.linalg.eigh(x).eigenvalues, [_sym(R(5, 5))])
case("eigvalsh", np.linalg.eigvalsh, [_sym(R(5, 5))])
case("eigvalsh UPLO='U'", lambda x: np.linalg.eigvalsh(x, UPLO="U"), [_sym(R(5, 5))])
case("eigvalsh complex", np.linalg.eigvalsh, [HPD(4)])
case("eig real (|w|, |v|)", lambda x: (np.abs(np.linalg.eig(x)[0]), np.abs(np.linalg.eig(x)[1])), [R(8, 8)], order=1)
case("eig complex (w, |v|)", lambda x: (np.linalg.eig(x)[0], np.abs(np.linalg.eig(x)[1])), [C(6, 6)], order=1)
case("eigvals", np.linalg.eigvals, [R(4, 4)], order=1)
case("cholesky", _on_symmetric(np.linalg.cholesky), [PSD(6)])
case("cholesky upper=True (numpy 2)", _on_symmetric(lambda a: np.linalg.cholesky(a, upper=True)), [PSD(4)])
case("cholesky broadcast", _on_symmetric(np.linalg.cholesky), [PSD(4, 3)])
case("cholesky complex", lambda a: np.linalg.cholesky((a + a.conj().T) / 2), [HPD(3)])
Z6 = R(6)
case("cholesky reparameterisation", _on_symmetric(lambda a: np.linalg.norm(np.linalg.cholesky(a) @ Z6)), [PSD(6)])
for shape in ((3, 5), (4, 4), (5, 3)):
    case(f"svd {shape} full_matrices=False", lambda x: np.linalg.svd(x, full_matrices=False), [R(*shape)], order=1)
    case(f"svd 3-d {shape}", lambda x: np.linalg.svd(x, full_matrices=False), [R(3, *shape)], order=1)
    case(f"svd {shape} complex (|u|, s, |vh|)",
         lambda x: (np.abs(np.linalg.svd(x, full_matrices=False)[0]), np.linalg.svd(x, full_matrices=False)[1],
                    np.abs(np.linalg.svd(x, full_matrices=False)[2])), [C(*shape)], order=1)
    case(f"svd {shape} compute_uv=False", lambda x: np.linalg.svd(x, full_matrices=False, compute_uv=False), [R(*shape)])
    case(f"svd {shape} compute_uv=False complex", lambda x: np.linalg.svd(x, compute_uv=False), [C(*shape)])
    case(f"svdvals {shape}", np.linalg.svdvals, [R(*shape)])
case("svd .S", lambda x: np.linalg.svd(x).S, [R(4, 3)])
case("qr", lambda x: np.linalg.qr(x), [R(5, 3)], order=1)
case("qr mode='r'", lambda x: np.linalg.qr(x, mode="r"), [R(5, 3)], order=1)
case("qr mode='complete' square", lambda x: np.linalg.qr(x, mode="complete"), [R(3, 3)], order=1)
case("qr .Q", lambda x: np.linalg.qr(x).Q, [R(5, 3)], order=1)
for n in (-5, -2, -1, 0, 1, 2, 3, 4, 5, 10):
    case(f"matrix_power n={n}", lambda x, n=n: np.linalg.matrix_power(x, n), [R(3, 3) / 2 + 2 * np.eye(3)])
case("matrix_power batched", lambda x: np.linalg.matrix_power(x, 3), [R(2, 3, 3)])
case("multi_dot", lambda a, b, c: np.linalg.multi_dot([a, b, c]), [R(2, 3), R(3, 4), R(4, 2)])
case("multi_dot 1-d ends", lambda a, b, c: np.linalg.multi_dot([a, b, c]), [R(3), R(3, 4), R(4)])
case("lstsq x", lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0], [R(6, 3), R(6)])
case("lstsq x, 2-d b", lambda a, b: np.linalg.lstsq(a, b)[0], [R(6, 3), R(6, 2)])
case("lstsq residuals", lambda a, b: np.linalg.lstsq(a, b, rcond=None)[1], [R(6, 3), R(6)])
case("tensorsolve", np.linalg.tensorsolve, [R(6, 2, 3) + np.eye(6).reshape(6, 2, 3) * 4, R(6)])
case("tensorinv ind=2", lambda a: np.linalg.tensorinv(a, ind=2), [R(4, 6, 8, 3) + 5 * np.eye(24).reshape(4, 6, 8, 3)])
case("cond", np.linalg.cond, [R(4, 4)])
case("cond p='fro'", lambda x: np.linalg.cond(x, "fro"), [R(4, 4) + 3 * np.eye(4)])
case("cond p=1", lambda x: np.linalg.cond(x, 1), [R(4, 4) + 3 * np.eye(4)])
case("vecdot", np.linalg.vecdot, [R(3, 4), R(3, 4)])
case("vecdot axis=0", lambda a, b: np.linalg.vecdot(a, b, axis=0), [R(3, 4), R(3, 4)])
case("np.vecdot complex", np.vecdot, [C(3, 4), C(3, 4)])
case("np.linalg.matmul", np.linalg.matmul, [R(2, 3), R(3, 2)])
case("np.linalg.tensordot axes=1", lambda a, b: np.linalg.tensordot(a, b, axes=1), [R(2, 3), R(3, 2)])
case("np.linalg.outer", np.linalg.outer, [R(3), R(2)])
case("np.linalg.diagonal offset=1", lambda x: np.linalg.diagonal(x, offset=1), [R(2, 4, 4)])
case("np.linalg.trace offset=-1", lambda x: np.linalg.trace(x, offset=-1), [R(2, 4, 4)])
case("np.linalg.matrix_transpose", np.linalg.matrix_transpose, [R(2, 3, 4)])
case("det of (16, 1, 1) ones summed", lambda x: np.linalg.det(x).sum(), [np.ones((16, 1, 1))])
for shape in ((1, 1), (2, 2), (3, 3), (2, 2, 2), (2, 3, 3), (5, 7, 7)):
    case(f"det {shape} (JAX)", np.linalg.det, [R(*shape)])
case("det of the zero matrix", np.linalg.det, [np.zeros((3, 3))], order=1)
case("det corank 1", np.linalg.det, [np.array([[50.0, -30, 45], [-30, 90, -81], [45, -81, 81]])], order=1, rtol=1e-4)
case("det corank 2", np.linalg.det, [np.array([[36.0, -42, 18], [-42, 49, -21], [18, -21, 9]])], order=1, rtol=1e-4)
for shape in ((1, 1), (4, 4), (5, 5), (2, 7, 7)):
    case(f"slogdet {shape} (JAX)", np.linalg.slogdet, [R(*shape)])
    case(f"slogdet {shape} complex (JAX)", np.linalg.slogdet, [C(*shape)])
for shape in ((1, 1), (4, 4), (2, 5, 5)):
    case(f"cholesky {shape} (JAX)", lambda a: np.linalg.cholesky(a), [PSD(shape[-1], *shape[:-2])])
case("cholesky complex (JAX)", np.linalg.cholesky, [HPD(4)])
for shape in ((1, 1), (4, 4), (3, 5), (2, 5, 5)):
    case(f"pinv {shape} (JAX)", np.linalg.pinv, [R(*shape)], order=1)
case("pinv complex (JAX)", np.linalg.pinv, [C(4, 3)], order=1)
case("pinv hermitian complex (JAX)", lambda x: np.linalg.pinv(x, hermitian=True), [HPD(3)], order=1)
case("eigvals complex (JAX)", np.linalg.eigvals, [C(4, 4)], order=1)

# --- autograd test_scalar_ops.py ---------------------------------------------------------------
for name, x in (("abs", 1.1), ("abs", -1.1), ("sign", 1.1), ("sign", -1.1), ("sin", 0.4), ("exp", 0.4),
                ("log", 0.7), ("log2", 0.7), ("log10", 0.7), ("log1p", 0.7), ("expm1", 0.7), ("exp2", 0.7),
                ("cos", 0.4), ("tan", 0.4), ("cosh", 0.4), ("sinh", 0.4), ("tanh", 0.4), ("arccos", 0.1),
                ("arcsin", 0.1), ("arctan", 0.2), ("arccosh", 2.3), ("arcsinh", 0.4), ("arctanh", 0.2),
                ("sqrt", 4.1), ("rad2deg", 4.1), ("deg2rad", 4.1), ("radians", 4.1), ("degrees", 4.1),
                ("sinc", 4.1), ("reciprocal", 0.6), ("negative", 0.6)):
    case(f"3·{name}({x})", lambda x, fn=getattr(np, name): 3.0 * fn(x), [x])
case("abs at 0 (first order)", lambda x: 3.0 * np.abs(x), [0.0], order=1, h=1e-8)
case("power(x, y) in x", lambda x: np.power(x, 1.7), [1.4])
case("power(x, y) in y", lambda y: np.power(0.8, y), [0.6])
case("power(0, y) in y", lambda y: np.power(0.0, y), [0.6])
case("mod in both", np.mod, [0.7, 0.4])
case("divide in both", np.divide, [0.7, 0.4])
case("true_divide in both", np.true_divide, [0.7, 0.4])
case("multiply in both", np.multiply, [0.7, 0.4])

# --- autograd test_complex.py, test_wrappers.py ------------------------------------------------
case("angle real", np.angle, [0.6])
case("angle complex", np.angle, [0.6 + 0.3j])
case("|x| real", np.abs, [1.1])
case("|z| complex", np.abs, [1.1 + 1.2j])
case("grad of sum(sin(x)²) under check", lambda x: np.sum(np.sin(x) ** 2), [R(5)])
case("3x^3.2", lambda x: 3.0 * x ** 3.2, [1.7])
case("sum of multi-argument function",
     lambda a, b, c, d, e: a + np.sin(b) + np.cosh(c) + np.cos(d) + np.tan(e) + 0.6 - 0.1, [0.5, -0.3, 0.2, -1.1, 0.7])
case("roll(sin(a), 1) (5, 4, 3)", lambda a: np.roll(np.sin(a), 1), [R(5, 4, 3)])

# --- JAX lax_numpy_test.py NumpyGradTests ----------------------------------------------------------
JAX_SHAPES = [(), (4,), (3, 4), (1, 4), (2, 1, 4)]
for fn, lims, order in ((np.arcsinh, (0.1, 2.0), 2), (np.arccosh, (1.1, 3.0), 1), (np.arctanh, (-0.9, 0.9), 2)):
    for shape in JAX_SHAPES:
        case(f"{fn.__name__} {shape} (JAX)", fn, [U(*lims, *shape)], order=order)
        case(f"{fn.__name__} {shape} complex (JAX)", fn, [U(*lims, *shape) + 1j * U(0.1, 0.5, *shape)], order=order)
for fn, order in ((np.logaddexp, 1), (np.logaddexp2, 2)):
    for sa in JAX_SHAPES[:4]:
        for sb in JAX_SHAPES[:4]:
            try:
                np.broadcast_shapes(sa, sb)
            except ValueError:
                continue
            case(f"{fn.__name__} {sa}×{sb} (JAX)", fn, [U(-0.9, 0.9, *sa), U(-0.9, 0.9, *sb)], order=order)
            case(f"{fn.__name__} {sa}×{sb} complex (JAX)", fn, [C(*sa), C(*sb)], order=1)
case("arcsinh at 0 (JAX special)", np.arcsinh, [0.0])
case("arcsinh at 1000 (JAX special)", np.arcsinh, [1000.0], h=1.0)
case("arccosh at 1000 (JAX special)", np.arccosh, [1000.0], h=1.0)
case("arctanh at 0 (JAX special)", np.arctanh, [0.0])
case("sinc array (JAX)", lambda x: np.sinc(x).sum(), [np.arange(10.0) + 0.25])
IDX = np.repeat(np.arange(3), 10).reshape((30, 1))
case("take_along_axis issue 1521", lambda x: np.take_along_axis(x * np.arange(3.0).reshape((1, 3)), IDX, -1).sum(), [1.0])
case("take_along_axis axis=1", lambda x: np.take_along_axis(x, np.argsort(x, axis=1), axis=1), [R(3, 4)])
case("take_along_axis axis=None", lambda x: np.take_along_axis(x, np.array([0, 5, 3]), axis=None), [R(3, 4)])
case("sum(maximum(z, 0))", lambda z: np.sum(np.maximum(z, 0.0)), [R(5)])
case("sum(tanh(x))", lambda x: np.sum(np.tanh(x)), [R(5)])

# --- indexing, take/put-like, and other functions real code meets -------------------------------
case("take", lambda x: np.take(x, [0, 2, 2]), [R(4)])
case("take axis=1", lambda x: np.take(x, [0, 2, 2], axis=1), [R(3, 4)])
case("take mode='wrap'", lambda x: np.take(x, [0, 5, -6], mode="wrap"), [R(4)])
case("take mode='clip'", lambda x: np.take(x, [0, 5, -6], mode="clip"), [R(4)])
case("x.take method", lambda x: x.take([1, 0]), [R(4)])
case("boolean mask", lambda x: x[x > 0], [R(6)])
case("boolean mask 2-d row", lambda x: x[np.array([True, False, True])], [R(3, 2)])
case("None/newaxis", lambda x: x[:, None, 1:], [R(3, 4)])
case("Ellipsis", lambda x: x[..., 1], [R(2, 3, 4)])
case("integer arrays broadcast", lambda x: x[np.array([[0], [2]]), np.array([1, 3])], [R(3, 4)])
case("negative indices", lambda x: x[-1, -2:], [R(3, 4)])
case("np.ix_", lambda x: x[np.ix_([0, 2], [1, 3])], [R(3, 4)])
case("x.at-style: np.add.at on a copy", None, [])
case("compress", lambda x: np.compress([True, False, True], x, axis=0), [R(3, 2)])
case("extract", lambda x: np.extract(np.array([1, 0, 1, 1], bool), x), [R(4)])
case("choose", lambda a, b: np.choose([0, 1, 0], [a, b]), [R(3), R(3)])
case("flip axis=0", partial(np.flip, axis=0), [R(3, 4)])
case("flip no axis", np.flip, [R(3, 4)])
case("np.put on a copy", None, [])
case("cumprod", np.cumprod, [U(0.5, 1.5, 5)])
case("cumprod axis=1", partial(np.cumprod, axis=1), [U(0.5, 1.5, 3, 4)])
case("cumulative_sum include_initial", lambda x: np.cumulative_sum(x, include_initial=True), [R(5)])
case("cumulative_prod", np.cumulative_prod, [U(0.5, 1.5, 5)])
case("average weights", lambda x, w: np.average(x, weights=w), [R(5), U(0.5, 1.5, 5)])
case("average axis=1 returned", lambda x: np.average(x, axis=1, returned=True)[0], [R(3, 4)])
case("median", np.median, [R(5)])
case("median axis=1", partial(np.median, axis=1), [R(3, 4)])
case("percentile 30", lambda x: np.percentile(x, 30.0), [R(7)])
case("quantile q=[.2,.8] axis=0", lambda x: np.quantile(x, [0.2, 0.8], axis=0), [R(7, 2)])
case("ptp", np.ptp, [R(5)])
case("amax", np.amax, [R(5)])
case("nanmax", np.nanmax, [R(5)])
case("nansum", np.nansum, [R(5)])
case("nanmean axis=0", partial(np.nanmean, axis=0), [R(3, 4)])
case("logsumexp by hand", lambda x: np.log(np.sum(np.exp(x - np.max(x)))) + np.max(x), [R(5)])
case("trapezoid", np.trapezoid, [R(6)])
case("interp in y", lambda y: np.interp(np.array([0.5, 1.5]), np.arange(3.0), y), [R(3)])
case("interp in x", lambda x: np.interp(x, np.arange(3.0), np.array([1.0, 3.0, 2.0])), [np.array([0.3, 1.6])])
case("convolve", np.convolve, [R(5), R(3)])
case("convolve mode='same'", lambda a, b: np.convolve(a, b, mode="same"), [R(5), R(3)])
case("correlate mode='full'", lambda a, b: np.correlate(a, b, mode="full"), [R(5), R(3)])
case("polyval", np.polyval, [R(4), R(3)])
case("cov", np.cov, [R(3, 6)])
case("corrcoef", np.corrcoef, [R(3, 6)])
case("fft.fft", np.fft.fft, [R(8)])
case("fft.rfft norm='ortho'", lambda x: np.fft.rfft(x, norm="ortho"), [R(8)])
case("fft.ifft2", np.fft.ifft2, [C(4, 4)])
case("fft.fftn axes=", lambda x: np.fft.fftn(x, axes=(0, 1)), [R(4, 4, 2)])
case("fft.irfft n=", lambda x: np.fft.irfft(x, n=8), [C(5)])
case("fft.fftshift", np.fft.fftshift, [R(6)])
case("real_if_close of complex", np.real_if_close, [R(3) + 0j])
case("around decimals=1 (zero derivative)", lambda x: np.round(x, 1), [np.array([0.33, 1.77])], order=1)
case("isfinite-gated where", lambda x: np.where(np.isfinite(x), x, 0.0), [R(4)])
case("np.where 1-arg is nonzero (no derivative)", lambda x: x[np.where(x > 0)], [R(6)])
case("x.sum(axis=0, keepdims=True)", lambda x: x.sum(axis=0, keepdims=True), [R(3, 4)])
case("x.mean(axis=(0, 1))", lambda x: x.mean(axis=(0, 1)), [R(3, 4, 2)])
case("x.max(axis=-1)", lambda x: x.max(axis=-1), [R(3, 4)])
case("x.std(ddof=1)", lambda x: x.std(ddof=1), [R(3, 4)])
case("x.prod(axis=1)", lambda x: x.prod(axis=1), [U(0.5, 1.5, 3, 4)])
case("x.cumsum(axis=1)", lambda x: x.cumsum(axis=1), [R(3, 4)])
case("x.dot(y)", lambda x, y: x.dot(y), [R(3, 4), R(4)])
case("x.clip(0, 1)", lambda x: x.clip(0.0, 1.0), [R(5)])
case("x.trace()", lambda x: x.trace(), [R(3, 3)])
case("x.diagonal()", lambda x: x.diagonal(), [R(3, 3)])
case("x.swapaxes(0, 1)", lambda x: x.swapaxes(0, 1), [R(3, 4)])
case("x.repeat(2)", lambda x: x.repeat(2), [R(3)])
case("x.conj()", lambda x: x.conj(), [C(3)])
case("x.real / x.imag", lambda x: x.real * x.imag, [C(3)])
case("x.var(axis=0)", lambda x: x.var(axis=0), [R(3, 4)])
case("x.min(initial=)", lambda x: x.min(initial=0.5), [R(5)])
case("x.sum(where=)", lambda x: x.sum(where=np.array([True, False, True])), [R(3)])
case("x.astype(float32)", lambda x: x.astype(np.float32), [R(3)], order=1, rtol=1e-3, atol=1e-3)
case("x.squeeze(axis=0)", lambda x: x.squeeze(axis=0), [R(1, 3)])
case("np.all and np.any gate a value", lambda x: x * np.all(x) + x * np.any(x > 1.0), [R(4)])
case("np.isin mask", lambda x: np.where(np.isin(x, x[:2]), x, 2.0 * x), [R(4)])
case("np.lexsort order", lambda x, y: x[np.lexsort((y, x))], [R(4), R(4)])
for o in (None, 1, 2, 3, -1, np.inf, -np.inf):  # (p < 1 has an infinite partial at 0)
    case(f"norm vector ord={o} complex with an entry 0", partial(np.linalg.norm, ord=o),
         [np.array([1 + 2j, 0j, -3 + 0.5j])], order=1)
    case(f"norm vector ord={o} with an entry 0", partial(np.linalg.norm, ord=o), [np.array([1.5, 0.0, -3.0])], order=1)
for o in ("fro", 1, -1, np.inf, -np.inf):
    case(f"norm matrix ord={o} complex", partial(np.linalg.norm, ord=o), [C(4, 3)])
case("vector_norm complex axis=0", partial(np.linalg.vector_norm, axis=0, ord=3), [C(3, 4)])
case("matrix_norm complex", np.linalg.matrix_norm, [C(2, 3, 4)])

case("np.array([x, x*1, x+2.5]) (autograd's idiom)", lambda x: np.array([x, x * 1.0, x + 2.5]), [3.0])

# --- autograd tests/test_fft.py -----------------------------------------------------------------
case("fft (5, 5)", np.fft.fft, [R(5, 5)])
case("fft norm='ortho'", lambda x: np.fft.fft(x, norm="ortho"), [R(5, 5)])
case("fft norm='forward'", lambda x: np.fft.fft(x, norm="forward"), [R(5, 5)])
case("fft axis=0", lambda x: np.fft.fft(x, axis=0), [R(5, 5)])
for fn, D in ((np.fft.fft, 5), (np.fft.ifft, 5), (np.fft.rfft, 4), (np.fft.irfft, 4)):
    for dn in (-2, 2):
        x = R(D, D)
        if fn.__name__.startswith("ir"):
            x = np.fft.rfft(x)  # a Hermitian input, as autograd's test makes it
        case(f"{fn.__name__} n={D + dn}", lambda x, fn=fn, n=D + dn: fn(x, n), [x])
for fn, D in ((np.fft.fft2, 5), (np.fft.ifft2, 5), (np.fft.fftn, 5), (np.fft.ifftn, 5),
              (np.fft.rfft2, 4), (np.fft.irfft2, 4), (np.fft.rfftn, 4), (np.fft.irfftn, 4)):
    x = R(D, D, D) / 10.0
    if fn.__name__.startswith("ir"):
        x = getattr(np.fft, fn.__name__[1:])(x)
    case(f"{fn.__name__} s=[D+2, D-2] axes=[0, 2]", lambda x, fn=fn, D=D: fn(x, s=[D + 2, D - 2], axes=[0, 2]), [x])
    case(f"{fn.__name__} default", fn, [x])
case("ifft (5, 5)", np.fft.ifft, [R(5, 5)])
case("fft of complex", np.fft.fft, [C(6)])
case("hfft", np.fft.hfft, [C(5)])
case("ihfft", np.fft.ihfft, [R(6)])
case("fftfreq-scaled spectrum", lambda x: np.abs(np.fft.rfft(x)) ** 2 * np.fft.rfftfreq(8), [R(8)])
case("fft.ifftshift axes=0", lambda x: np.fft.ifftshift(x, axes=0), [R(4, 3)])


# --- autograd tests/test_binary_ops.py, test_truediv.py, test_logic.py, test_direct.py -----------
PAIRS = [2.0, R(4), R(3, 4), R(1, 4)]
for i, a in enumerate(PAIRS):
    for j, b in enumerate(PAIRS):
        shapes = f"{np.shape(a)}×{np.shape(b)}"
        case(f"x * y {shapes}", operator.mul, [a, b])
        case(f"x + y {shapes}", operator.add, [a, b])
        case(f"x - y {shapes}", operator.sub, [a, b])
        ga, gb = np.sqrt(np.square(a) + 0.5), np.sqrt(np.square(b) + 0.5)
        case(f"x / y {shapes}", operator.truediv, [ga, gb])
        q = np.divide(ga, gb)
        if i != j and np.min(np.abs(q - np.round(q)) * np.abs(gb), initial=1.0) > 0.05:
            case(f"x % y {shapes}", operator.mod, [ga, gb])  # (away from its jumps)
        case(f"x ** y {shapes}", operator.pow, [np.abs(a) + 1.1, b])
        case(f"arctan2 {shapes}", np.arctan2, [a, b])
        case(f"hypot {shapes}", np.hypot, [a, b])
        for op in ("<", "<=", ">", ">=", "==", "!=") if i != j else ():  # (x == y: a tie)
            case(f"sum(x {op} y) + 0.0 {shapes}",
                 lambda x, y, op=op: np.sum(eval(f"x {op} y")) + 0.0 * np.sum(x + y), [a, b], order=1)


def _asserting(x):
    assert np.allclose(x, (x * 3.0) / 3.0)
    return np.sum(x)


case("assert np.allclose inside f", _asserting, [np.array([1.0, 2.0, 3.0])])
case("branch on np.iscomplex (real)", lambda x: np.real(x ** 2 if np.iscomplex(x) else np.sum(x)), [2.0])
case("branch on np.iscomplex (complex)", lambda x: np.real(x ** 2 if np.iscomplex(x) else np.sum(x)), [2.0 + 1j])
case("(x + sin(x²))·x", lambda x: (x + np.sin(x ** 2)) * x, [1.3])
case("builtin sum of a generator", lambda x: sum(x[i] ** 2 for i in range(3)), [R(3)])
case("builtin max of two", lambda x: max(x[0], x[1]) * x[2], [np.array([0.3, 1.2, 2.0])])
case("builtin abs", lambda x: abs(x), [np.array([-0.3, 1.2])])
case("builtin pow", lambda x: pow(x, 3), [np.array([-0.3, 1.2])])
case("math-free float power 2 ** x", lambda x: 2.0 ** x, [np.array([-0.3, 1.2])])
case("divmod's remainder", lambda x: divmod(x, 0.7)[1], [np.array([0.3, 1.2])])
case("x // y has derivative 0", lambda x: (x // 0.7) * 1.0 + 0.0 * x, [np.array([0.3, 1.2])], order=1)
# --- JAX tests/lax_numpy_indexing_test.py: getitem and x.at[idx].set/add/mul, as numpy writes them
INDEXERS = [
    ((10,), slice(3, 1, -1)), ((10, 8), slice(12, 4, -4)), ((10,), slice(None, 1, -2)),
    ((10, 8), (slice(1, None), slice(None, 2))), ((10,), slice(-11, -2)), ((3, 4), (0, None, Ellipsis)),
    ((3, 4, 5), (1, None, slice(None), None)), ((3,), ()), ((3, 2, 3), (0, slice(None), np.arange(3))),
    ((3, 3), np.array([1, 2, 1])), ((3, 4, 5), np.array([[0, 2, 0, 1], [-1, -2, 1, 0]])),
    ((3, 4, 5), (np.array([[0, 2, 0, 1]]), np.array([-1, 0, -1, 2]))), ((3, 4), ([],)), ((3, 4), ([], [])),
    ((3, 4, 5), ([[0], [-1]], [[2, 3, 0, 3]])), ((3, 4, 5), (0, 1, np.array([[2, 3, 0, 3]]))),
    ((3, 4, 5), (Ellipsis, np.array([[0, 2], [1, 3]]), slice(None))),
    ((3, 4, 5), (np.array([0, 2, -2]), slice(None, None, 2), np.array([-1, 2, 1]))),
    ((3, 4, 5), (Ellipsis, np.array([0, 2]), None, None, np.array([-1, 2]))),
    ((3, 4, 5), (slice(None), np.array([0, 1]), Ellipsis, np.array([0, 1]))),
    ((3, 4), (Ellipsis, np.array(1, dtype=np.int32))), ((0,), np.array([], dtype=np.int32)),
]
for shape, idx in INDEXERS:
    case(f"x[{idx!r}] of {shape}", lambda x, idx=idx: x[idx], [R(*shape)])
    target = np.empty(shape)[idx].shape
    for op in ("=", "+=", "-=", "*="):
        for vshape in {target, target[1:], ()}:
            def write(x, v, idx=idx, op=op):
                y = x * np.ones_like(x)
                if op == "=":
                    y[idx] = v
                elif op == "+=":
                    y[idx] += v
                elif op == "-=":
                    y[idx] -= v
                else:
                    y[idx] *= v
                return y
            if shape:
                case(f"y[{idx!r}] {op} v{vshape} of {shape}", write, [R(*shape), R(*vshape)])

case("vdot complex (JAX)", np.vdot, [C(3, 2), C(2, 3)])
case("vdot complex × real", np.vdot, [C(4), R(4)])
# --- JAX tests/lax_numpy_reducers_test.py: reductions with numpy's keyword arguments ----------
X234 = _rng.permutation(np.linspace(0.5, 2.5, 24)).reshape(2, 3, 4)  # distinct: no ties
MASK234 = np.ones((2, 3, 4), bool)
MASK234[0, 1, 2] = MASK234[1, 0, :2] = MASK234[1, 2, 3] = False
for red in ("sum", "prod", "max", "min", "mean", "var", "std", "nansum", "nanprod", "nanmax", "nanmin",
            "nanmean", "nanvar", "nanstd", "ptp", "median", "nanmedian", "average", "cumsum", "cumprod",
            "nancumsum", "nancumprod"):
    fn = getattr(np, red)
    cumulative = "cum" in red
    for axis in ((None, 0, -1) if cumulative else (None, 0, -1, (0, 2), (-1, -2), (0, 1, 2))):
        options = [{}]
        if not cumulative and red != "average":
            options.append({"keepdims": True})
        if red in ("sum", "prod", "max", "min", "mean", "var", "std", "nansum", "nanprod", "nanmax",
                   "nanmin", "nanmean", "nanvar", "nanstd"):
            options.append({"where": MASK234, **({"initial": 0.25} if "max" in red or "min" in red else {})})
        if red in ("sum", "prod", "mean", "var", "std", "cumsum", "cumprod", "nansum", "nanmean"):
            options.append({"dtype": np.float64})
        if red in ("max", "min", "sum", "prod"):
            options.append({"initial": 3.0})
        if red in ("var", "std", "nanvar", "nanstd"):
            options += [{"ddof": 1}, {"correction": 1}]
        for kw in options:
            label = ", ".join(f"{k}=mask" if k == "where" else f"{k}={v!r}" for k, v in kw.items())
            case(f"{red} axis={axis} {label}", lambda x, fn=fn, axis=axis, kw=kw: fn(x, axis=axis, **kw), [X234])

case("tensorsolve axes=(0, 2) (JAX)", lambda a, b: np.linalg.tensorsolve(a, b, axes=(0, 2)), [R(2, 1, 3, 6), R(1, 6)], order=1)
case("tensorinv ind=1", lambda a: np.linalg.tensorinv(a, ind=1), [R(6, 2, 3) + 4 * np.eye(6).reshape(6, 2, 3)])
CASES = [c for c in CASES if c[1] is not None]
