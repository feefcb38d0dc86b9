"""Table-test cases: the discrete Fourier transforms (rules/fft.py, public as dd.fft).

The table test compares real outputs, so each complex result is split into its real and imaginary
parts (stacked on a new first axis). Every transform is linear in its input: the complex-step
oracle differentiates the C-linear extension g(Re x) + i·g(Im x) of the real-valued map g, and
the complex test (tests/test_complex.py) compares with numpy's own value on complex input. The
cases cover n (padding and cropping, odd and even), axis, s/axes, the three norms, and irfft's
Hermitian halves (DC and Nyquist bins) for n even and odd.
"""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import COMPOSITES, Case, U, add_case


def _parts(y):
    return dd.stack([dd.real(y), dd.imag(y)])


def _np_parts(y):
    return np.stack([np.real(y), np.imag(y)])


def _linear_extension(g):
    """The C-linear extension of a linear map g from reals to reals: what the complex step needs."""
    return lambda x: g(np.real(x)) + 1j * g(np.imag(x))


def _add(name, cid, dd_fn, np_fn, shape, complex_out=True):
    if complex_out:
        fn, value_ref = (lambda x: _parts(dd_fn(x))), (lambda x: _np_parts(np_fn(x)))
    else:
        fn, value_ref = dd_fn, np_fn
    add_case(name, Case(f"{name}-{cid}", fn, _linear_extension(value_ref), (shape,), (U(-2, 2),),
                        value_ref=value_ref))


COMPOSITES.extend(["ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn",
                   "hfft", "ihfft", "fftshift", "ifftshift"])
F, NF = dd.fft, np.fft

for _name, _kw, _shape in [
    ("fft", {}, (5,)),
    ("fft", {"n": 8}, (5,)),                    # zero-padded
    ("fft", {"n": 3, "axis": 0}, (5, 2)),       # cropped, along the first axis
    ("fft", {"norm": "ortho"}, (2, 4)),
    ("fft", {"norm": "forward", "n": 6}, (4,)),
    ("ifft", {}, (6,)),
    ("ifft", {"n": 7, "norm": "ortho", "axis": 0}, (4, 2)),
    ("ifft", {"n": 2, "norm": "forward"}, (3,)),
    ("rfft", {}, (6,)),
    ("rfft", {}, (5,)),
    ("rfft", {"n": 8, "norm": "ortho"}, (5,)),
    ("rfft", {"n": 3, "axis": 0, "norm": "forward"}, (4, 2)),
    ("ihfft", {}, (5,)),
    ("ihfft", {"n": 6, "norm": "ortho"}, (4,)),
]:
    _cid = "-".join([f"{k}{v}" for k, v in _kw.items()] + ["x".join(map(str, _shape))])
    _add(_name, _cid, lambda x, f=getattr(F, _name), kw=_kw: f(x, **kw),
         lambda x, f=getattr(NF, _name), kw=_kw: f(x, **kw), _shape)

# irfft: real output; with real input bins the imaginary parts enter through the complex test
for _name, _kw, _shape in [
    ("irfft", {}, (4,)),                        # n = 6 (even): DC and Nyquist weighted once
    ("irfft", {"n": 7}, (4,)),                  # odd: only DC
    ("irfft", {"n": 4, "norm": "ortho"}, (5,)),  # cropped bins
    ("irfft", {"n": 9, "norm": "forward"}, (3,)),  # zero-padded bins
    ("irfft", {"axis": 0}, (3, 2)),
    ("hfft", {}, (4,)),
    ("hfft", {"n": 5, "norm": "ortho"}, (3,)),
]:
    _cid = "-".join([f"{k}{v}" for k, v in _kw.items()] + ["x".join(map(str, _shape))])
    _add(_name, _cid, lambda x, f=getattr(F, _name), kw=_kw: f(x, **kw),
         lambda x, f=getattr(NF, _name), kw=_kw: f(x, **kw), _shape, complex_out=False)

for _name, _kw, _shape, _complex_out in [
    ("fft2", {}, (2, 3), True),
    ("fft2", {"s": (3, 2), "norm": "ortho"}, (2, 3), True),
    ("ifft2", {"axes": (0, 2)}, (2, 2, 3), True),
    ("fftn", {}, (2, 3, 2), True),
    ("fftn", {"s": (4, 2), "axes": (1, 0), "norm": "forward"}, (3, 3), True),
    ("fftn", {"axes": (0, 0)}, (3, 2), True),    # a repeated axis: transformed twice, as numpy
    ("ifftn", {"s": (2, 5), "axes": (0, 1)}, (3, 4), True),
    ("rfftn", {}, (2, 4), True),
    ("rfftn", {"s": (3, 5), "axes": (1, 0), "norm": "ortho"}, (2, 4), True),
    ("rfft2", {}, (3, 3), True),
    ("irfftn", {}, (2, 3), False),
    ("irfftn", {"s": (3, 5), "axes": (0, 1), "norm": "forward"}, (2, 3), False),
    ("irfft2", {"axes": (0, 1)}, (3, 4, 2), False),
    ("fftshift", {}, (5, 4), False),
    ("fftshift", {"axes": 0}, (3, 2), False),
    ("ifftshift", {}, (5,), False),
    ("ifftshift", {"axes": (1,)}, (2, 5), False),
]:
    _cid = "-".join([f"{k}{v}".replace(" ", "") for k, v in _kw.items()] + ["x".join(map(str, _shape))])
    _add(_name, _cid, lambda x, f=getattr(F, _name), kw=_kw: f(x, **kw),
         lambda x, f=getattr(NF, _name), kw=_kw: f(x, **kw), _shape, complex_out=_complex_out)
