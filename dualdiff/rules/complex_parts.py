"""The parts of a complex number: real, imag, conj and angle, with their complex rules.

dualdiff follows JAX's convention for complex numbers (docs/complex.md): a tangent is pushed
forward by the R-linear map the function's derivative is, and a cotangent is pulled back by that
map's transpose under the real pairing ⟨a, b⟩ = Re(a·b). For these four the maps are:

| primitive | tangent of z | cotangent of z from ȳ |
|---|---|---|
| ``real`` | Re ṫ | ȳ |
| ``imag`` | Im ṫ | −i·ȳ |
| ``conj`` | conj ṫ | conj ȳ |
| ``angle`` | Im(ṫ / z) | −i·ȳ / z |

On a real argument real and conj are the identity, and imag and angle are constants.
"""

from __future__ import annotations

import numpy as np

from ..primitives import Primitive, bind1, concrete, is_complex, is_traced, shape_of, stop_gradient
from .table import FLOATS, Value, register


def _real_impl(x):
    return x if type(x) in FLOATS else np.real(x)


def _imag_impl(x):
    if getattr(x, "dtype", None) == object:
        return x  # index sets (dd.sparsity): np.imag would make them 0, dropping the dependency
    return 0.0 if type(x) in FLOATS else np.imag(x)


def _conj_impl(x):
    return x if type(x) in FLOATS else np.conjugate(x)


REAL = register(Primitive(
    "real", _real_impl,
    lambda primals, tangents, out, params, chunked: real(tangents[0]),
    lambda ct, primals, out, params, shapes, wants: (ct,),
    needs="none", kind="linear", complex="rules",
    doc="the real part; its adjoint sends ȳ to ȳ (docs/complex.md)"))

def _imag_vjp(ct, primals, out, params, shapes, wants):
    if not is_complex(stop_gradient(primals[0])):  # imag of a real x is the constant 0
        return (np.zeros(shapes[0], dtype=np.result_type(stop_gradient(ct), 1.0)),)
    return (ct * -1j,)


def _imag_jvp(primals, tangents, out, params, chunked):
    t = tangents[0]
    if getattr(t, "dtype", None) == object and not is_complex(stop_gradient(primals[0])):
        return np.zeros(np.shape(t))  # index sets of a real x: its imaginary part is constant
    return imag(t)


IMAG = register(Primitive(
    "imag", _imag_impl, _imag_jvp,
    _imag_vjp, needs="args", kind="linear", complex="rules",
    doc="the imaginary part; its adjoint sends ȳ to −i·ȳ (docs/complex.md)"))

CONJ = register(Primitive(
    "conj", _conj_impl,
    lambda primals, tangents, out, params, chunked: conj(tangents[0]),
    lambda ct, primals, out, params, shapes, wants: (conj(ct),),
    needs="none", kind="linear", complex="rules",
    doc="the complex conjugate: R-linear but not C-linear, so it is its own adjoint"))


def _angle_jvp(primals, tangents, out, params, chunked):
    z, t = primals[0], tangents[0]
    if not is_complex(stop_gradient(z)):
        return np.zeros(shape_of(t), dtype=np.result_type(stop_gradient(t), 1.0))  # 0 or π: constant wherever it is differentiable
    return imag(t / z)


def _angle_vjp(ct, primals, out, params, shapes, wants):
    z = primals[0]
    if not is_complex(stop_gradient(z)):
        return (np.zeros(shapes[0], dtype=np.result_type(stop_gradient(ct), 1.0)),)
    return (ct * -1j / z,)


ANGLE = register(Primitive(
    "angle", lambda x: np.angle(x), _angle_jvp, _angle_vjp, needs="args", kind="other",
    complex="rules", doc="arg z in radians, in (−π, π]; a real argument has derivative 0"))


def real(x: Value) -> Value:
    """The real part of x, elementwise (x itself for real x), as np.real; real dtype.

    >>> import dualdiff as dd
    >>> float(dd.real(3 + 4j))
    3.0
    """
    if is_traced(x) and not is_complex(concrete(x)):
        return x  # as numpy's: a write into the result (y = x.real; y[0] = v) writes into x
    return bind1(REAL, x)


def imag(x: Value) -> Value:
    """The imaginary part of x, elementwise (0 for real x), as np.imag; real dtype.

    >>> import dualdiff as dd
    >>> float(dd.imag(3 + 4j))
    4.0
    """
    return bind1(IMAG, x)


def conj(x: Value) -> Value:
    """The complex conjugate of x, elementwise (x itself for real x), as np.conj.

    >>> import dualdiff as dd
    >>> complex(dd.conj(3 + 4j))
    (3-4j)
    """
    return bind1(CONJ, x)


def angle(x: Value, deg: bool = False) -> Value:
    """The angle of x in the complex plane, elementwise, in (−π, π] (degrees with deg=True), as np.angle.

    >>> import dualdiff as dd
    >>> float(dd.angle(1j))
    1.5707963267948966
    """
    out = bind1(ANGLE, x)
    return out * (180.0 / np.pi) if deg else out


def real_if_close(a: Value, tol: float = 100) -> Value:
    """The real part of a when every imaginary part is within ``tol`` machine epsilons of 0 (or
    ``tol`` itself when below 1), else a unchanged, as np.real_if_close. The choice is made on
    the values; the derivative is that of the branch taken.

    >>> import dualdiff as dd
    >>> dd.real_if_close([2.1 + 4e-15j, 5.2 + 3e-15j])
    array([2.1, 5.2])
    """
    if isinstance(a, (list, tuple)):
        a = np.asarray(a)
    plain = stop_gradient(a)
    if not np.issubdtype(np.result_type(plain), np.complexfloating):
        return a
    if plain is a and is_traced(a):  # a value being recorded by dd.compile
        raise TypeError("real_if_close chooses its result type from the values, which dd.compile "
                        "cannot record; call it without dd.compile (or use dd.real)")
    if tol > 1:
        tol = np.finfo(np.result_type(plain)).eps * tol
    return real(a) if np.all(np.abs(np.imag(plain)) < tol) else a
