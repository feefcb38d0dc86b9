"""Discrete Fourier transforms, as numpy.fft: three linear entries and the functions built on them.

The entries are one-dimensional, as numpy's own loop is: ``fftn`` applies ``fft`` along each
axis in numpy's order, so values agree with numpy bit for bit and repeated axes work.

- ``fft`` (``inverse`` False/True): y = c·F·P x, with F the symmetric DFT matrix (conjugated
  for the inverse), c the ``norm`` scaling and P the crop or zero-padding to ``n``. Its transpose
  under Re(a·b) is Pᵀ·c·F: the same transform of the cotangent, cut or padded back.
- ``rfft`` (real input): y = R·c·F·P x keeps the first m = n//2 + 1 bins. For real x,
  Re Σ ȳⱼ yⱼ = Σₖ x'ₖ Re(c Σⱼ<ₘ ȳⱼ w⁻ʲᵏ): the cotangent is Re fft(ȳ zero-padded to n), then Pᵀ.
- ``irfft``: x = c·Σⱼ aⱼ Re(Xⱼ wʲᵏ) with weight aⱼ = 1 for the DC bin (and the Nyquist bin when
  n is even: their imaginary parts are ignored) and 2 for the others, whose conjugates fill the
  other half of the spectrum. So Σₖ x̄ₖ xₖ = Re Σⱼ Xⱼ·(aⱼ·c Σₖ x̄ₖ wʲᵏ): the cotangent is aⱼ times
  the first m bins of ifft(x̄) with the same norm, then Pᵀ from m bins to the input's length.

Axes are kept negative inside the rules, so a chunked tangent's leading axis needs no shifting.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from ..primitives import Primitive, bind1, is_complex, shape_of, stop_gradient
from .assembly import concatenate, roll
from .complex_parts import conj, real
from .indexing import getitem
from .table import Value, register

__all__ = [
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn",
    "irfftn", "hfft", "ihfft", "fftshift", "ifftshift",
]

_NORMS = ("backward", "ortho", "forward")


def _along(axis: int, key: Any) -> tuple:
    return (Ellipsis, key) + (slice(None),) * (-axis - 1)


def _resize(x: Value, axis: int, n: int) -> Value:
    """x cut to, or zero-padded at the end to, length n along (negative) ``axis``: numpy's P."""
    shape = shape_of(x)
    have = shape[axis]
    if have == n:
        return x
    if have > n:
        return getitem(x, _along(axis, slice(0, n)))
    pad = list(shape)
    pad[axis] = n - have
    return concatenate([x, np.zeros(tuple(pad), dtype=np.result_type(stop_gradient(x)))], axis)


def _index_sets(t: np.ndarray, axis: int, n_in: int, n_out: int) -> np.ndarray:
    """The pattern of a transform of index sets (dd.sparsity runs the tangent rules on them):
    every output along ``axis`` depends on each of the first ``n_in`` inputs (no DFT entry is 0
    for generic complex values; numerical zeros such as cos(π/2) are not structural)."""
    kept = t[_along(axis, slice(0, n_in))]
    shape = list(t.shape)
    shape[axis] = n_out
    return np.broadcast_to(np.sum(kept, axis=axis, keepdims=True), tuple(shape)).copy()


def _is_sets(x: Any) -> bool:
    return getattr(x, "dtype", None) == object


# -- fft / ifft ------------------------------------------------------------------------------

def _fft_impl(x, axis, n, inverse, norm):
    if _is_sets(x):
        return _index_sets(x, axis, n, n)
    return (np.fft.ifft if inverse else np.fft.fft)(x, n, axis, norm)


def _fft_jvp(primals, tangents, out, params, chunked):
    return bind1(FFT, tangents[0], params)


def _fft_vjp(ct, primals, out, params, shapes, wants):
    axis = params["axis"]
    return (_resize(bind1(FFT, ct, params), axis, shapes[0][axis]),)


FFT: Primitive = register(Primitive(
    "fft", _fft_impl, _fft_jvp, _fft_vjp, needs="none", kind="linear", complex="holomorphic",
    doc="one-dimensional DFT (inverse=True: numpy's ifft); its transpose is itself, cut back"))


# -- rfft ------------------------------------------------------------------------------------

def _rfft_jvp(primals, tangents, out, params, chunked):
    return bind1(RFFT, tangents[0], params)


def _rfft_vjp(ct, primals, out, params, shapes, wants):
    axis, n = params["axis"], params["n"]
    full = bind1(FFT, _resize(ct, axis, n), {**params, "inverse": False})
    return (_resize(real(full), axis, shapes[0][axis]),)


def _rfft_impl(x, axis, n, norm):
    if _is_sets(x):
        return _index_sets(x, axis, n, n // 2 + 1)
    return np.fft.rfft(x, n, axis, norm)


RFFT: Primitive = register(Primitive(
    "rfft", _rfft_impl, _rfft_jvp, _rfft_vjp,
    needs="none", kind="linear", complex="real",
    doc="DFT of real input, the n//2 + 1 non-negative frequencies"))


# -- irfft -----------------------------------------------------------------------------------

def _irfft_jvp(primals, tangents, out, params, chunked):
    return bind1(IRFFT, tangents[0], params)


def _irfft_vjp(ct, primals, out, params, shapes, wants):
    axis, n = params["axis"], params["n"]
    m = n // 2 + 1
    half = getitem(bind1(FFT, ct, {**params, "inverse": True}), _along(axis, slice(0, m)))
    weight = np.full(m, 2.0, dtype=np.finfo(np.result_type(stop_gradient(half))).dtype)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    weight = weight.reshape((m,) + (1,) * (-axis - 1))
    g = half * weight
    # the output is real, so the sweep does not know the input is: a real input's cotangent is
    # the real part (the transpose of the map restricted to real spectra)
    if not is_complex(stop_gradient(primals[0])):
        g = real(g)
    return (_resize(g, axis, shapes[0][axis]),)


def _irfft_impl(x, axis, n, norm):
    if _is_sets(x):
        return _index_sets(x, axis, n // 2 + 1, n)
    return np.fft.irfft(x, n, axis, norm)


IRFFT: Primitive = register(Primitive(
    "irfft", _irfft_impl, _irfft_jvp, _irfft_vjp,
    needs="args", kind="linear", complex="rules",
    doc="inverse of rfft: real output; the imaginary parts of the DC (and, n even, Nyquist) "
        "bins are ignored, as in numpy, and get a zero derivative"))


# -- argument handling (numpy's) ---------------------------------------------------------------

def _norm(norm: Optional[str]) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f"norm must be None, 'backward', 'ortho' or 'forward', not {norm!r}")
    return norm


def _swap(norm: Optional[str]) -> str:
    """hfft/ihfft run the other direction's transform: their norm names swap."""
    return {"backward": "forward", "ortho": "ortho", "forward": "backward"}[_norm(norm)]


def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(f"fft.{name} with out= is not supported on traced values: use the "
                        f"returned array")


def _axis(name: str, axis: Any, ndim: int) -> int:
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"fft.{name}: axis must be an int, not {type(axis).__name__}")
    if ndim == 0:
        raise ValueError(f"fft.{name}: the input must have at least one dimension")
    if not -ndim <= axis < ndim:
        raise ValueError(f"fft.{name}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return int(axis) % ndim - ndim


def _points(name: str, n: Any, default: int) -> int:
    if n is None:
        n = default
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"fft.{name}: n must be an int or None, not {type(n).__name__}")
    if n < 1:
        raise ValueError(f"fft.{name}: invalid number of FFT data points ({n}) specified")
    return int(n)


def _one(name: str, a: Value, n: Any, axis: Any, norm: Any, out: Any) -> "tuple[int, int, str]":
    _no_out(name, out)
    shape = shape_of(a)
    ax = _axis(name, axis, len(shape))
    return ax, shape[ax], _norm(norm)


def _real_input(name: str, a: Value) -> None:
    if is_complex(stop_gradient(a)):
        raise TypeError(f"fft.{name} takes real input only (numpy refuses complex input too); "
                        f"use fft.fft / fft.fftn for complex values")


def _cook(name: str, a: Value, s: Any, axes: Any, inverse_real: bool = False
          ) -> "tuple[list[int], list[int]]":
    """numpy's (s, axes) for the n-dimensional transforms, axes negative."""
    shape = shape_of(a)
    nd = len(shape)
    if axes is None:
        axes = list(range(nd)) if s is None else list(range(-len(s), 0))
    elif isinstance(axes, (int, np.integer)):
        axes = [axes]
    axes = [_axis(name, ax, nd) for ax in axes]
    if s is None:
        s = [shape[ax] for ax in axes]
        if inverse_real and axes:
            s[-1] = (shape[axes[-1]] - 1) * 2
    else:
        s = list(s)
        if len(s) != len(axes):
            raise ValueError(f"fft.{name}: s and axes have different lengths ({len(s)} and "
                             f"{len(axes)})")
        s = [shape[ax] if k is None else k for k, ax in zip(s, axes)]
    return [_points(name, k, 0) for k in s], axes


# -- the public functions ----------------------------------------------------------------------

def fft(a: Value, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None,
        out: None = None) -> Value:
    """The one-dimensional DFT of a along ``axis`` (cut or zero-padded to n), as np.fft.fft.

    The result has a's shape with n along ``axis``; it is complex (complex64 for float32 input).

    >>> import dualdiff as dd, numpy as np
    >>> dd.fft.fft([1.0, 2.0, 3.0, 4.0])
    array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    >>> bool(np.allclose(dd.jacobian(lambda x: dd.real(dd.fft.fft(x)), np.ones(2)), [[1, 1], [1, -1]]))
    True
    """
    ax, have, norm = _one("fft", a, n, axis, norm, out)
    return bind1(FFT, a, {"axis": ax, "n": _points("fft", n, have), "inverse": False, "norm": norm})


def ifft(a: Value, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None,
         out: None = None) -> Value:
    """The one-dimensional inverse DFT of a along ``axis``, as np.fft.ifft (shapes as fft).

    >>> import dualdiff as dd
    >>> dd.fft.ifft(dd.fft.fft([1.0, 2.0])).real
    array([1., 2.])
    """
    ax, have, norm = _one("ifft", a, n, axis, norm, out)
    return bind1(FFT, a, {"axis": ax, "n": _points("ifft", n, have), "inverse": True, "norm": norm})


def rfft(a: Value, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None,
         out: None = None) -> Value:
    """The DFT of real a along ``axis``, its n//2 + 1 non-negative frequencies, as np.fft.rfft.

    Complex input is refused (numpy refuses it too): use fft.

    >>> import dualdiff as dd
    >>> dd.fft.rfft([1.0, 2.0, 3.0, 4.0])
    array([10.+0.j, -2.+2.j, -2.+0.j])
    """
    ax, have, norm = _one("rfft", a, n, axis, norm, out)
    _real_input("rfft", a)
    return bind1(RFFT, a, {"axis": ax, "n": _points("rfft", n, have), "norm": norm})


def irfft(a: Value, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None,
          out: None = None) -> Value:
    """The real inverse of rfft: n real values (default 2·(m − 1) for m bins), as np.fft.irfft.

    >>> import dualdiff as dd
    >>> dd.fft.irfft(dd.fft.rfft([1.0, 2.0, 3.0]), 3)
    array([1., 2., 3.])
    """
    ax, have, norm = _one("irfft", a, n, axis, norm, out)
    return bind1(IRFFT, a, {"axis": ax, "n": _points("irfft", n, 2 * (have - 1)), "norm": norm})


def hfft(a: Value, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None,
         out: None = None) -> Value:
    """The real DFT of a Hermitian-symmetric signal given by its first half, as np.fft.hfft.

    >>> import dualdiff as dd
    >>> dd.fft.hfft([1.0, 2.0, 3.0])
    array([ 8., -2.,  0., -2.])
    """
    ax, have, _ = _one("hfft", a, n, axis, norm, out)
    return irfft(conj(a), _points("hfft", n, 2 * (have - 1)), ax, _swap(norm))


def ihfft(a: Value, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None,
          out: None = None) -> Value:
    """The inverse of hfft for real a: n//2 + 1 complex values, as np.fft.ihfft.

    >>> import dualdiff as dd
    >>> dd.fft.ihfft([8.0, -2.0, 0.0, -2.0])
    array([1.-0.j, 2.-0.j, 3.-0.j])
    """
    ax, have, _ = _one("ihfft", a, n, axis, norm, out)
    _real_input("ihfft", a)
    return conj(rfft(a, _points("ihfft", n, have), ax, _swap(norm)))


def _fftn(name: str, a: Value, s: Any, axes: Any, norm: Any, out: Any, inverse: bool) -> Value:
    _no_out(name, out)
    norm = _norm(norm)
    s, axes = _cook(name, a, s, axes)
    for k, ax in reversed(list(zip(s, axes))):  # numpy's order: the last axis first
        a = bind1(FFT, a, {"axis": ax, "n": k, "inverse": inverse, "norm": norm})
    return a


def fftn(a: Value, s: Optional[Sequence[int]] = None, axes: Optional[Sequence[int]] = None,
         norm: Optional[str] = None, out: None = None) -> Value:
    """The n-dimensional DFT of a over ``axes`` (sizes ``s``), as np.fft.fftn.

    >>> import dualdiff as dd, numpy as np
    >>> bool(np.allclose(dd.fft.fftn(np.eye(2)), np.fft.fftn(np.eye(2))))
    True
    """
    return _fftn("fftn", a, s, axes, norm, out, False)


def ifftn(a: Value, s: Optional[Sequence[int]] = None, axes: Optional[Sequence[int]] = None,
          norm: Optional[str] = None, out: None = None) -> Value:
    """The n-dimensional inverse DFT of a over ``axes`` (sizes ``s``), as np.fft.ifftn.

    >>> import dualdiff as dd, numpy as np
    >>> bool(np.allclose(dd.fft.ifftn(dd.fft.fftn(np.eye(2))), np.eye(2)))
    True
    """
    return _fftn("ifftn", a, s, axes, norm, out, True)


def fft2(a: Value, s: Optional[Sequence[int]] = None, axes: Sequence[int] = (-2, -1),
         norm: Optional[str] = None, out: None = None) -> Value:
    """The two-dimensional DFT over ``axes`` (the last two by default), as np.fft.fft2.

    >>> import dualdiff as dd, numpy as np
    >>> bool(np.allclose(dd.fft.fft2(np.eye(2)), np.fft.fft2(np.eye(2))))
    True
    """
    return _fftn("fft2", a, s, axes, norm, out, False)


def ifft2(a: Value, s: Optional[Sequence[int]] = None, axes: Sequence[int] = (-2, -1),
          norm: Optional[str] = None, out: None = None) -> Value:
    """The two-dimensional inverse DFT over ``axes``, as np.fft.ifft2.

    >>> import dualdiff as dd, numpy as np
    >>> bool(np.allclose(dd.fft.ifft2(np.eye(2)), np.fft.ifft2(np.eye(2))))
    True
    """
    return _fftn("ifft2", a, s, axes, norm, out, True)


def rfftn(a: Value, s: Optional[Sequence[int]] = None, axes: Optional[Sequence[int]] = None,
          norm: Optional[str] = None, out: None = None) -> Value:
    """The n-dimensional DFT of real a (rfft over the last of ``axes``), as np.fft.rfftn.

    >>> import dualdiff as dd, numpy as np
    >>> dd.fft.rfftn(np.ones((2, 4))).shape
    (2, 3)
    """
    _no_out("rfftn", out)
    _real_input("rfftn", a)
    norm = _norm(norm)
    s, axes = _cook("rfftn", a, s, axes)
    if not axes:
        raise ValueError("fft.rfftn: at least one axis is needed")
    a = bind1(RFFT, a, {"axis": axes[-1], "n": s[-1], "norm": norm})
    for k, ax in reversed(list(zip(s[:-1], axes[:-1]))):
        a = bind1(FFT, a, {"axis": ax, "n": k, "inverse": False, "norm": norm})
    return a


def irfftn(a: Value, s: Optional[Sequence[int]] = None, axes: Optional[Sequence[int]] = None,
           norm: Optional[str] = None, out: None = None) -> Value:
    """The real inverse of rfftn (irfft over the last of ``axes``), as np.fft.irfftn.

    >>> import dualdiff as dd, numpy as np
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(dd.fft.irfftn(dd.fft.rfftn(x), x.shape), x))
    True
    """
    _no_out("irfftn", out)
    norm = _norm(norm)
    s, axes = _cook("irfftn", a, s, axes, inverse_real=True)
    if not axes:
        raise ValueError("fft.irfftn: at least one axis is needed")
    for k, ax in zip(s[:-1], axes[:-1]):
        a = bind1(FFT, a, {"axis": ax, "n": k, "inverse": True, "norm": norm})
    return bind1(IRFFT, a, {"axis": axes[-1], "n": s[-1], "norm": norm})


def rfft2(a: Value, s: Optional[Sequence[int]] = None, axes: Sequence[int] = (-2, -1),
          norm: Optional[str] = None, out: None = None) -> Value:
    """rfftn over two axes (the last two by default), as np.fft.rfft2.

    >>> import dualdiff as dd, numpy as np
    >>> dd.fft.rfft2(np.ones((3, 4))).shape
    (3, 3)
    """
    return rfftn(a, s, axes, norm, out)


def irfft2(a: Value, s: Optional[Sequence[int]] = None, axes: Sequence[int] = (-2, -1),
           norm: Optional[str] = None, out: None = None) -> Value:
    """irfftn over two axes (the last two by default), as np.fft.irfft2.

    >>> import dualdiff as dd, numpy as np
    >>> dd.fft.irfft2(np.ones((3, 3))).shape
    (3, 4)
    """
    return irfftn(a, s, axes, norm, out)


def _shifted(x: Value, axes: Union[None, int, Sequence[int]], sign: int) -> Value:
    shape = shape_of(x)
    if axes is None:
        axes = tuple(range(len(shape)))
    elif isinstance(axes, (int, np.integer)):
        axes = (axes,)
    axes = tuple(axes)
    if not axes:
        return x
    return roll(x, [sign * (shape[ax] // 2) for ax in axes], axes)


def fftshift(x: Value, axes: Union[None, int, Sequence[int]] = None) -> Value:
    """x rolled so that frequency zero sits in the middle of each of ``axes``, as np.fft.fftshift.

    >>> import dualdiff as dd
    >>> dd.fft.fftshift([0.0, 1.0, 2.0, -2.0, -1.0])
    array([-2., -1.,  0.,  1.,  2.])
    """
    return _shifted(x, axes, 1)


def ifftshift(x: Value, axes: Union[None, int, Sequence[int]] = None) -> Value:
    """The inverse of fftshift, as np.fft.ifftshift.

    >>> import dualdiff as dd
    >>> dd.fft.ifftshift([-2.0, -1.0, 0.0, 1.0, 2.0])
    array([ 0.,  1.,  2., -2., -1.])
    """
    return _shifted(x, axes, -1)
