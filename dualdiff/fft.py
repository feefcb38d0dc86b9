"""``dd.fft``: numpy.fft's transforms, differentiable in both modes (the rules are in rules/fft.py).

The names and signatures are numpy.fft's (``n``, ``axis``, ``s``, ``axes``, ``norm``);
``np.fft.f`` on a traced value lands in the same function. Results are complex, with numpy's
dtypes (float32 in, complex64 out); the cotangent of a real input is real.

>>> import dualdiff as dd, numpy as np
>>> x = np.array([1.0, 2.0, 0.5, -1.0])
>>> g = dd.grad(lambda x: dd.sum(dd.abs(dd.fft.rfft(x)) ** 2), x)   # Σ|X|² over half the bins
>>> bool(np.allclose(g, dd.jacobian(lambda x: dd.abs(dd.fft.rfft(x)) ** 2, x).sum(0)))
True
"""

from __future__ import annotations

from .rules.fft import (
    fft, fft2, fftn, fftshift, hfft, ifft, ifft2, ifftn, ifftshift, ihfft, irfft, irfft2, irfftn,
    rfft, rfft2, rfftn,
)

__all__ = [
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn",
    "irfftn", "hfft", "ihfft", "fftshift", "ifftshift",
]
