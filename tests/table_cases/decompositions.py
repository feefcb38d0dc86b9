"""Table-test cases: cholesky, eigh, svd, qr, pinv, lstsq (rules/decompositions.py).

Eigenvectors, singular vectors and QR factors are unique only up to signs; each case fixes that
gauge the same way on the traced result and on numpy's (a sign chosen from plain values, a
constant to the derivative), then compares everything with central differences of numpy's own
decomposition at well-separated, well-conditioned random points. (The pseudo-inverse's oracle
is the complex step through its full-rank closed form.)
"""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import COMPOSITES, Case, U, add_case
from table_cases.linalg import WELL


def SPD(rng, shape):
    """Symmetric positive definite matrices with well-separated eigenvalues."""
    n = shape[-1]
    q = np.linalg.qr(rng.normal(size=shape))[0]
    w = np.arange(1.0, n + 1.0) + rng.uniform(0, 0.3, size=shape[:-1])
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def _signs(x, axis):
    """+1/-1 per column (axis=-2) or row (axis=-1), from the entry of largest magnitude."""
    x = dd.stop_gradient(x)  # (under dd.compile a staged value: elementwise ops record it)
    biggest = np.abs(x) == np.max(np.abs(x), axis=axis, keepdims=True)
    return np.sign(np.sum(np.where(biggest, x, 0.0), axis=axis, keepdims=True))


def eigh_fixed(lib, a, UPLO="L"):
    w, v = lib.linalg.eigh(a, UPLO=UPLO)
    return lib.concatenate([w[..., None, :], v * _signs(v, -2)], axis=-2)


def svd_fixed(lib, a):
    u, s, vh = lib.linalg.svd(a, full_matrices=False)
    sg = _signs(u, -2)
    return lib.concatenate([u * sg, s[..., None, :], np.swapaxes(vh, -1, -2) * sg], axis=-2)


def qr_fixed(lib, a):
    q, r = lib.linalg.qr(a)
    d = np.sign(np.diagonal(dd.stop_gradient(r), axis1=-2, axis2=-1))[..., None, :]
    return lib.concatenate([q * d, np.swapaxes(r, -1, -2) * d], axis=-2)


for _shape in [(3, 3), (2, 3, 3), (1, 1)]:
    add_case("cholesky", Case(f"cholesky-{'x'.join(map(str, _shape))}", dd.linalg.cholesky,
                              np.linalg.cholesky, (_shape,), (SPD,), oracle="central"))
add_case("cholesky", Case("cholesky-upper", lambda a: dd.linalg.cholesky(a, upper=True),
                          lambda a: np.linalg.cholesky(a, upper=True), ((3, 3),), (SPD,),
                          oracle="central"))

for _cid, _shape, _uplo in [("3x3", (3, 3), "L"), ("batch", (2, 3, 3), "L"), ("upper", (3, 3), "U"),
                            ("1x1", (1, 1), "L")]:
    add_case("eigh", Case(f"eigh-{_cid}", lambda a, u=_uplo: eigh_fixed(dd, a, u),
                          lambda a, u=_uplo: eigh_fixed(np, a, u), (_shape,), (SPD,),
                          oracle="central"))

COMPOSITES.append("eigvalsh")
add_case("eigvalsh", Case("eigvalsh-batch", dd.linalg.eigvalsh, np.linalg.eigvalsh, ((2, 3, 3),),
                          (SPD,), oracle="central"))

for _shape in [(3, 3), (4, 2), (2, 4), (2, 3, 2)]:
    add_case("svd", Case(f"svd-{'x'.join(map(str, _shape))}", lambda a: svd_fixed(dd, a),
                         lambda a: svd_fixed(np, a), (_shape,), (WELL if _shape[-1] == _shape[-2]
                                                                 else U(-2, 2),),
                         oracle="central"))

for _shape in [(4, 3), (3, 3), (2, 4), (2, 3, 2)]:
    add_case("svdvals", Case(f"svdvals-{'x'.join(map(str, _shape))}", dd.linalg.svdvals,
                             np.linalg.svdvals, (_shape,), (U(-2, 2),), oracle="central"))

for _shape in [(3, 3), (4, 2), (2, 4, 3), (2, 4)]:
    add_case("qr", Case(f"qr-{'x'.join(map(str, _shape))}", lambda a: qr_fixed(dd, a),
                        lambda a: qr_fixed(np, a), (_shape,), (U(-2, 2),), oracle="central"))


def _pinv_closed_form(a):
    """The full-rank pseudo-inverse as a solve: analytic, so the complex step applies."""
    if a.shape[-2] >= a.shape[-1]:
        return np.linalg.solve(np.swapaxes(a, -1, -2) @ a, np.swapaxes(a, -1, -2))
    return np.swapaxes(np.linalg.solve(a @ np.swapaxes(a, -1, -2), a), -1, -2)


for _shape in [(4, 3), (3, 4), (2, 4, 2), (3, 3)]:
    add_case("pinv", Case(f"pinv-{'x'.join(map(str, _shape))}", dd.linalg.pinv, _pinv_closed_form,
                          (_shape,), (U(-2, 2),), value_ref=np.linalg.pinv))

COMPOSITES.append("lstsq")
for _cid, _shapes in [("vector", ((5, 3), (5,))), ("matrix", ((5, 2), (5, 3)))]:
    add_case("lstsq", Case(
        f"lstsq-{_cid}", lambda a, b: dd.linalg.lstsq(a, b)[0],
        lambda a, b: np.linalg.solve(a.T @ a, a.T @ b), _shapes, (U(-2, 2),) * 2,
        value_ref=lambda a, b: np.linalg.lstsq(a, b)[0]))
    add_case("lstsq", Case(
        f"lstsq-residuals-{_cid}", lambda a, b: dd.linalg.lstsq(a, b)[1],
        lambda a, b: np.sum((b - a @ np.linalg.solve(a.T @ a, a.T @ b)) ** 2, axis=0).reshape(-1),
        _shapes, (U(-2, 2),) * 2, value_ref=lambda a, b: np.linalg.lstsq(a, b)[1]))
