"""Complex numbers, over the whole table: every case of tests/table_cases/ run on complex input.

dualdiff follows JAX's convention (docs/complex.md): a tangent is pushed through the R-linear
map that the derivative is, and a cotangent is pulled back by its transpose under the real
pairing ⟨a, b⟩ = Re Σ a·b; so grad of a real-valued f of z is ∂f/∂x − i·∂f/∂y, and a real
input's cotangent is real.

Every primitive declares its complex behaviour (``Primitive.complex``). For each case:

- ``"real"`` entries must refuse complex input with a TypeError that says so, in both modes;
- an undeclared entry fails here, loudly;
- every other entry (and every composite) is run with its traced arguments complex, then with
  one of them complex and the others real (traced, or constants), and checked for: the value
  against numpy; the tangent along a real and along an imaginary direction against central
  differences in the real and the imaginary parts separately; chunk mode; reverse mode by the
  dot-product test Re Σ u·(J v) == Re Σ (uᵀJ)·v, with real cotangents for real inputs; the
  gradient of the real-valued g = Re Σ u·f against central differences in each real and each
  imaginary part; and second order, the Hessian of g applied to a direction (forward over
  reverse) and forward over forward, against central differences of the first derivative.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import dualdiff as dd
from table_cases import CASES, COMPOSITES
from oracles import check_close

K = 3
H = 1e-6  # central differences of values: error O(h²) ≈ 1e-12, rounding ≈ 1e-10
H_SECOND = 1e-5  # of first derivatives
TOL = dict(rtol=1e-6, atol_scale=1e-7)
TOL_SECOND = dict(rtol=1e-5, atol_scale=1e-6)


def _params():
    params = []
    for name in list(dd.PRIMITIVES) + COMPOSITES:
        for case in CASES.get(name, ()):  # a primitive with no case fails in test_table.py
            params.append(pytest.param(name, case, id=case.id))
    return params


def _declared(name):
    prim = dd.PRIMITIVES.get(name)
    return "composite" if prim is None else prim.complex


def _complexify(rng, a):
    im = rng.uniform(-0.5, 0.5, size=np.shape(a))
    z = np.asarray(a, dtype=float) + 1j * im
    return complex(z) if np.ndim(z) == 0 else z


def _normal(rng, shape, cplx):
    t = rng.normal(size=shape)
    if cplx:
        t = t + 1j * rng.normal(size=shape)
    return t[()] if np.ndim(t) == 0 else t


def _variants(case, rng):
    """(label, args, traced indices, complex indices): the argument sets a case is run with."""
    args = list(case.args(rng))
    traced = list(range(len(args)) if case.traced is None else case.traced)
    zs = [_complexify(rng, a) if i in traced else a for i, a in enumerate(args)]
    out = [("all complex", zs, traced, set(traced))]
    if len(traced) > 1:
        for i in traced:
            mixed = [zs[j] if j == i else args[j] for j in range(len(args))]
            out.append((f"only argument {i} complex", mixed, traced, {i}))
            # a real traced argument with complex constants beside it
            out.append((f"argument {i} real, the others complex constants",
                        [args[j] if j == i else zs[j] for j in range(len(args))], [i], set()))
    return out


def _restrict(case, args, traced):
    def f(xs):
        full = list(args)
        for i, x in zip(traced, xs):
            full[i] = x
        return case.fn(*full)

    def ref(xs):
        full = list(args)
        for i, x in zip(traced, xs):
            full[i] = x
        return np.asarray((case.value_ref or case.ref)(*full))

    return f, ref, tuple(args[i] for i in traced)


def _shift(xs, vs, h):
    return tuple(x + h * v for x, v in zip(xs, vs))


def _central(fn, xs, vs, h=H):
    return (np.asarray(fn(_shift(xs, vs, h))) - np.asarray(fn(_shift(xs, vs, -h)))) / (2 * h)


def _close(actual, expected, what, **tol):
    """check_close on the real and the imaginary parts."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    for part in (np.real, np.imag):
        check_close(part(actual), part(expected), what=f"{what} ({part.__name__} part)", **tol)


def _pair(a, b):
    """The real pairing Re Σ a·b under which the adjoint is the transpose of the tangent map."""
    return float(np.real(np.sum(np.asarray(a) * np.asarray(b))))


@pytest.mark.parametrize("name, case", _params())
def test_complex(name, case):
    declared = _declared(name)
    assert declared in ("holomorphic", "rules", "real", "composite"), (
        f"primitive {name!r} does not declare how it treats complex numbers: give its entry "
        f"complex='holomorphic', 'rules' (with its own complex rules) or 'real' "
        f"(see the brief's 'Complex convention' note and docs/complex.md)")
    rng = np.random.default_rng(zlib.crc32(case.id.encode()) + 7)
    for label, args, traced, cplx in _variants(case, rng):
        what = f"{case.id}, {label}"
        any_complex = any(np.iscomplexobj(a) for a in args)
        if declared == "real" and any_complex:
            _check_refused(case, args, traced, what)
            continue
        if declared == "composite" and any_complex:
            try:
                case.fn(*args)
            except TypeError as e:  # a composite built on a real-only primitive refuses too
                assert "complex" in str(e), f"{what}: refused without saying why: {e}"
                continue
        _check_first_order(case, args, traced, cplx, rng, what)
        if label == "all complex":
            _check_gradient_and_second_order(case, args, traced, rng, what)


def _check_refused(case, args, traced, what):
    f, _, xs = _restrict(case, args, traced)
    with pytest.raises(TypeError, match="complex"):
        dd.jvp(f, xs, tuple(np.zeros_like(x) for x in xs))
    with pytest.raises(TypeError, match="complex"):
        dd.vjp(f, xs)


def _check_first_order(case, args, traced, cplx, rng, what):
    f, ref, xs = _restrict(case, args, traced)
    expected = ref(xs)
    _close(case.fn(*args), expected, f"{what}: value", rtol=1e-12, atol_scale=1e-14)
    is_c = [traced[n] in cplx for n in range(len(xs))]

    # the tangent along real and along imaginary directions, against central differences
    re_dir = tuple(_normal(rng, np.shape(x), False) for x in xs)
    im_dir = tuple(1j * _normal(rng, np.shape(x), False) if c else 0.0 * _normal(rng, np.shape(x), False)
                   for x, c in zip(xs, is_c))
    for part, vs in (("real", re_dir), ("imaginary", im_dir)):
        y, t = dd.jvp(f, xs, vs)
        _close(y, expected, f"{what}: jvp value", rtol=1e-12, atol_scale=1e-14)
        _close(t, _central(ref, xs, vs), f"{what}: tangent along the {part} parts", **TOL)
        if not np.iscomplexobj(expected):
            assert not np.iscomplexobj(t), f"{what}: a real output got a complex tangent"

    # chunk mode: k directions at once == k single passes
    vk = [_normal(rng, (K,) + np.shape(x), c) for x, c in zip(xs, is_c)]
    out = f(tuple(dd.Dual(x, v) for x, v in zip(xs, vk)))
    for d in range(K):
        single = f(tuple(dd.Dual(x, v[d]) for x, v in zip(xs, vk)))
        _close(np.asarray(out.tangent)[d], single.tangent, f"{what}: chunk direction {d}",
               rtol=1e-12, atol_scale=1e-13)

    # reverse mode: the transpose of the tangent map under Re Σ a·b
    vs = tuple(_normal(rng, np.shape(x), c) for x, c in zip(xs, is_c))
    y, Jv = dd.jvp(f, xs, vs)
    u = _normal(rng, np.shape(y), np.iscomplexobj(y))
    y_rev, pullback = dd.vjp(f, xs)
    uJ = pullback(u)
    _close(y_rev, y, f"{what}: reverse-mode value", rtol=1e-12, atol_scale=1e-14)
    for g, x, c in zip(uJ, xs, is_c):
        assert np.shape(g) == np.shape(x), f"{what}: cotangent shape {np.shape(g)} != {np.shape(x)}"
        assert np.iscomplexobj(g) == c, (
            f"{what}: the cotangent of a {'complex' if c else 'real'} input has dtype "
            f"{np.asarray(g).dtype}")
    lhs, rhs = _pair(u, Jv), sum(_pair(g, v) for g, v in zip(uJ, vs))
    scale = float(np.sum(np.abs(u) * np.abs(np.asarray(Jv)))) + 1.0
    assert abs(lhs - rhs) <= 1e-10 * scale, (
        f"{what}: Re u·(J v) = {lhs!r} but Re (uᵀJ)·v = {rhs!r}: the adjoint rule is not the "
        f"transpose of the tangent rule under the pairing Re(a·b)")


def _check_gradient_and_second_order(case, args, traced, rng, what):
    f, ref, zs = _restrict(case, args, traced)
    u = _normal(rng, np.shape(ref(zs)), True)

    def g(z):  # real-valued: its gradient is ∂g/∂x − i·∂g/∂y
        return dd.sum(dd.real(u * f(z)))

    def g_ref(z):
        return np.sum(np.real(u * ref(z)))

    grads = dd.grad(g, zs)
    for n, (gr, z) in enumerate(zip(grads, zs)):
        for j in range(np.size(z)):
            e = np.zeros(np.size(z))
            e[j] = 1.0
            e = e.reshape(np.shape(z))
            basis = [np.zeros(np.shape(x)) for x in zs]
            for part, step, expect in (("real", e, np.real(np.ravel(gr)[j])),
                                       ("imaginary", 1j * e, -np.imag(np.ravel(gr)[j]))):
                basis[n] = step
                fd = _central(g_ref, zs, basis)
                check_close(expect, fd, **TOL,
                            what=f"{what}: gradient of Re Σ u·f, element {j} of argument {n}, "
                                 f"{part} part")

    ws = tuple(_normal(rng, np.shape(z), True) for z in zs)
    vs = tuple(_normal(rng, np.shape(z), True) for z in zs)

    def flat_grad(z):
        return dd.concatenate([dd.reshape(gr, (-1,)) for gr in dd.grad(g, z)])

    def tangent(z):
        return dd.jvp(f, z, vs)[1]

    for label, first in (("Hessian of Re Σ u·f along w (forward over reverse)", flat_grad),
                         ("forward over forward", tangent)):
        nested = dd.jvp(first, zs, ws)[1]
        _close(nested, _central(first, zs, ws, H_SECOND), f"{what}: {label}", **TOL_SECOND)


def test_every_primitive_declares_its_complex_behaviour():
    undeclared = [n for n, p in dd.PRIMITIVES.items() if p.complex is None]
    assert not undeclared, (
        f"primitives without a complex declaration (complex='holomorphic', 'rules' or 'real'): "
        f"{undeclared}")


def test_an_undeclared_primitive_refuses_complex_input():
    cube = dd.elementwise("cube_undeclared", lambda x: x ** 3, [lambda x, o: 3 * x * x],
                          needs="args", register=False)
    assert float(dd.derivative(cube, 2.0)) == 12.0
    for call in (lambda: dd.jvp(cube, 1 + 1j, 1.0), lambda: dd.vjp(cube, 1 + 1j)):
        with pytest.raises(TypeError, match="has not declared how its derivative treats complex"):
            call()


# --------------------------------------------------------------------------------------------
# holomorphic=True: f′(z), checked by the Cauchy–Riemann equations
# --------------------------------------------------------------------------------------------

_Z = np.array([0.5 + 1.0j, -1.0 + 0.25j, 0.3 - 0.7j])
_A = np.array([[2.0, 1j, 0.0], [0.5, 1.0 - 1j, 0.0], [0.0, 0.3j, 1.5]])

# (f, its derivative matrix at z in closed form)
_HOLOMORPHIC = {
    "exp-times-z": (lambda z: np.exp(z) * z, lambda z: np.diag((1 + z) * np.exp(z))),
    "sin-over-cosh": (lambda z: np.sin(z) / np.cosh(z),
                      lambda z: np.diag((np.cos(z) * np.cosh(z) - np.sin(z) * np.sinh(z))
                                        / np.cosh(z) ** 2)),
    "solve-of-square": (lambda z: np.linalg.solve(_A, z * z), lambda z: np.linalg.inv(_A) * 2 * z),
    "cumsum-log": (lambda z: np.cumsum(np.log(z)), lambda z: np.tril(np.ones((3, 3))) / z),
    "outer-sum": (lambda z: np.sum(np.outer(z, z) @ z) * z[::-1],
                  None),  # (checked against central differences only)
}


def _central_along_real(f, z, h=1e-6):
    """The complex derivative by central differences along the real axis (exact for a
    holomorphic f up to O(h²)); columns per input."""
    cols = [(f(z + h * e) - f(z - h * e)) / (2 * h) for e in np.eye(z.size)]
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("name", sorted(_HOLOMORPHIC))
def test_holomorphic_jacobian_is_f_prime(name, mode):
    f, closed = _HOLOMORPHIC[name]
    J, info = dd.jacobian(f, _Z, mode=mode, holomorphic=True, full_output=True)
    assert J.dtype == np.complex128
    if closed is not None:
        np.testing.assert_allclose(J, closed(_Z), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(J, _central_along_real(f, _Z), rtol=1e-7, atol=1e-8)
    # ...and along i: (f(z + ih) − f(z − ih)) / (2ih) is the same matrix for a holomorphic f
    along_i = np.stack([(f(_Z + 1e-6j * e) - f(_Z - 1e-6j * e)) / 2e-6j for e in np.eye(3)], -1)
    np.testing.assert_allclose(J, along_i, rtol=1e-7, atol=1e-8)
    assert info.passes == (2 if mode == "forward" else 2 * 3)  # each direction twice


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_holomorphic_grad_derivative_and_nesting(mode):
    f = lambda z: np.sum(np.exp(z) * z)  # noqa: E731
    np.testing.assert_allclose(dd.grad(f, _Z, mode=mode, holomorphic=True), (1 + _Z) * np.exp(_Z),
                               rtol=1e-14)
    z0 = 0.3 + 0.4j
    assert np.isclose(dd.derivative(lambda z: z ** 3, z0, holomorphic=True), 3 * z0 ** 2, rtol=1e-15)
    second = dd.derivative(lambda w: dd.grad(lambda v: v ** 3, w, mode=mode, holomorphic=True), z0,
                           holomorphic=True)
    assert np.isclose(second, 6 * z0, rtol=1e-14)
    # a tuple of complex inputs gives per-input blocks
    J0, J1 = dd.jacobian(lambda p: p[0] ** 2 * p[1], (_Z, _Z[0]), mode=mode, holomorphic=True)
    np.testing.assert_allclose(J0, np.diag(2 * _Z * _Z[0]), rtol=1e-14)
    np.testing.assert_allclose(J1, _Z ** 2, rtol=1e-14)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("f", [lambda z: z * np.conj(z), lambda z: z * np.abs(z),
                               lambda z: np.real(z) + 0j, lambda z: z + 1e-3 * np.imag(z)],
                         ids=["z-conj-z", "z-abs-z", "real-plus-0j", "almost-holomorphic"])
def test_holomorphic_true_refuses_a_function_that_is_not(f, mode):
    with pytest.raises(ValueError, match=r"holomorphic=True, but f is not holomorphic at x.*"
                                         r"Cauchy–Riemann equations fail"):
        dd.jacobian(f, _Z, mode=mode, holomorphic=True)


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: dd.jacobian(np.exp, np.ones(2), holomorphic=True), TypeError,
     r"holomorphic=True needs complex x"),
    (lambda: dd.grad(lambda z: np.abs(z) ** 2, 1 + 1j, holomorphic=True), TypeError,
     r"holomorphic=True needs a complex-valued f"),
    (lambda: dd.jacobian(np.abs, _Z, mode="reverse", holomorphic=True), TypeError,
     r"holomorphic=True needs a complex-valued f"),
    (lambda: dd.jacobian(np.exp, _Z, sparse=True, holomorphic=True), TypeError,
     r"holomorphic=True takes the dense forward or reverse Jacobian"),
    (lambda: dd.jacobian(np.exp, _Z, holomorphic="yes"), TypeError,
     r"holomorphic must be True or False"),
    (lambda: dd.grad(np.exp, _Z, holomorphic=True), ValueError, r"grad needs f to return a scalar"),
], ids=["real-x", "real-f", "real-f-reverse", "sparse", "not-a-bool", "non-scalar-grad"])
def test_holomorphic_true_refusals(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_holomorphic_compiles_to_the_same_bits():
    f = _HOLOMORPHIC["sin-over-cosh"][0]
    compiled = dd.compile(lambda z: dd.jacobian(f, z, holomorphic=True))
    for _ in range(2):
        np.testing.assert_array_equal(compiled(_Z), dd.jacobian(f, _Z, holomorphic=True))
