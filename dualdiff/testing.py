"""Checking derivatives: for users adding rules, and for anyone who wants a second opinion.

:func:`check_grad` tests a function's derivatives at a point against independent evidence:

- the forward-mode directional derivative ``J v`` against a central difference of f along v
  (or a complex step, when f accepts complex input and ``complex_step=True``);
- the two modes against each other with the dot-product test ``u·(J v) == (uᵀJ)·v`` for random
  u and v, which catches a wrong adjoint rule even where finite differences are too noisy.

Both use random directions, so one call exercises every input and output at once.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .containers import as_value
from .transforms import jvp, vjp

__all__ = ["check_grad", "GradientCheckError"]


class GradientCheckError(AssertionError):
    """A derivative disagreed with its independent check; the message says which and by how much."""


def _rel_err(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=complex), np.asarray(b, dtype=complex)
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), 1e-300)
    return float(np.max(np.abs(a - b), initial=0.0) / scale)


def _direction(rng: np.random.Generator, shape: tuple, cplx: bool) -> Any:
    v = rng.standard_normal(shape)
    return v + 1j * rng.standard_normal(shape) if cplx else v


def check_grad(f: Callable[[Any], Any], x: Any, *, rtol: float = 1e-6, eps: float = 1e-6,
               complex_step: bool = False, seed: Optional[int] = 0) -> None:
    """Raise :class:`GradientCheckError` unless f's forward and reverse derivatives at x check out.

    x is a number or an array; f returns a number or an array. With ``complex_step=True`` the
    forward check uses Im f(x + i·h·v)/h with h = 1e-30 (exact to rounding, but f must accept
    complex input); otherwise a central difference with step ``eps`` (error O(eps²)). A complex
    x moves along a complex direction v, and the dot-product test uses the pairing Re(a·b)
    under which dualdiff's reverse mode is the transpose of its forward mode (docs/complex.md);
    the complex step needs real x.

    >>> import dualdiff as dd, numpy as np
    >>> from dualdiff.testing import check_grad
    >>> check_grad(lambda x: np.sin(x) * x, np.array([0.5, 1.0]))   # passes silently
    """
    x = np.asarray(as_value(x, "x"))
    cplx = np.iscomplexobj(x)
    if complex_step and cplx:
        raise ValueError("the complex step needs a real x (it perturbs x along i); use the "
                         "central difference for complex x")
    rng = np.random.default_rng(seed)
    v = _direction(rng, x.shape, cplx)
    y, jv = jvp(f, x, v)
    if complex_step:
        h = 1e-30
        reference = np.imag(np.asarray(f(x + 1j * h * v))) / h
        how = "complex step"
    else:
        reference = (np.asarray(f(x + eps * v)) - np.asarray(f(x - eps * v))) / (2 * eps)
        how = f"central difference (eps={eps})"
    err = _rel_err(jv, reference)
    if not err <= rtol:  # 'not <=' so that nan fails too
        raise GradientCheckError(f"forward mode J·v disagrees with the {how}: relative error {err:.3g} > {rtol:g}")
    u = _direction(rng, np.shape(y), np.iscomplexobj(y))
    _, pullback = vjp(f, x)
    ujv = np.real(np.sum(u * np.asarray(jv)))
    utjv = np.real(np.sum(np.asarray(pullback(u)) * v))
    err = _rel_err(ujv, utjv)
    if not err <= 1e-10 + rtol * 1e-4:
        raise GradientCheckError(
            f"dot-product test failed: u·(J v) = {ujv!r} from forward mode but (uᵀJ)·v = {utjv!r} "
            f"from reverse mode (relative error {err:.3g}); an adjoint rule disagrees with its "
            f"tangent rule")
