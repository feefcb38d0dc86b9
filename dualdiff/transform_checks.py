"""What the transforms check of f's output and aux, and how they refuse what they cannot
differentiate.

f's output is read as one value (:func:`_output`: lists of scalars stacked, booleans and leaked
traced values refused); ``has_aux=True`` splits off aux (:class:`_Aux`). The errors for a
non-scalar f where a gradient is asked, a complex f where a real one is needed, and a
non-holomorphic f under ``holomorphic=True`` (checked by the Cauchy–Riemann equations) are made
here, so every transform words them alike. Nothing here runs a pass: dualdiff.transforms does.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, List, Optional

import numpy as np

from . import rules as F
from .containers import as_value, flatten
from .primitives import concrete as _concrete, is_complex, is_traced, leaked_error, shape_of

__all__: List[str] = []  # private helpers of dualdiff.transforms


class _Aux:
    """f's auxiliary output (``has_aux=True``): f returns ``(output, aux)``; aux comes back as is,
    with no derivative (the values of this transform's tracing taken off)."""

    def __init__(self, f: Callable, name: str):
        self.f, self.name = f, name
        self.got: List[Any] = []

    def __call__(self, x: Any) -> Any:
        out = self.f(x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{self.name}(..., has_aux=True) needs f to return a pair "
                            f"(output, aux), but f returned {_describe(out)}")
        self.got[:] = [out[1]]
        return out[0]

    def value(self, x: Any) -> Any:
        if not self.got:  # the passes ran elsewhere (an executor's processes): evaluate here
            self(x)
        return _untraced(self.got[0])


def _untraced(v: Any) -> Any:
    """v with the layers of finished transformations taken off (outer, active ones kept)."""
    if isinstance(v, (tuple, list)):
        return type(v)(_untraced(item) for item in v) if not hasattr(v, "_fields") else \
            type(v)(*(_untraced(item) for item in v))
    if isinstance(v, dict):
        return {k: _untraced(item) for k, item in v.items()}
    while is_traced(v) and not v.tag.active:
        v = v.primal
    return v


def _describe(out: Any) -> str:
    if out is None:
        return "None"
    return "one value" if is_traced(out) else f"a {type(out).__name__}"


def _returns(aux: Optional[_Aux], x: Any, *results: Any) -> Any:
    """A transform's result, with f's aux appended when it has one."""
    if aux is not None:
        results = results + (aux.value(x),)
    return results[0] if len(results) == 1 else results


def _output(out: Any) -> Any:
    """f's output as one value: lists/tuples of scalars are stacked; non-numbers rejected."""
    if out is None:
        raise TypeError("f's output must be a number or an array of numbers, not NoneType: did f "
                        "forget to return?")
    if isinstance(out, (list, tuple)):
        if not out:
            raise TypeError("f returned an empty list/tuple; it must return a number or an array")
        # (loss, aux) without has_aux=True: the aux is what cannot join the loss in an array
        hint = (_AUX_HINT if type(out) is tuple and len(out) == 2 and shape_of(out[0]) == ()
                else "")
        for item in out:
            if not is_traced(item):
                try:
                    as_value(item, "each element of f's output")
                except TypeError as e:
                    raise TypeError(f"{e}.{hint}") from None
        shapes = [shape_of(item) for item in out]
        if len(set(shapes)) > 1:
            raise ValueError(_ragged_message(shapes) + ("." + hint if hint else ""))
        out = F.stack(list(out))
    if is_traced(out):
        if not out.tag.active:
            raise leaked_error(out.tag, "as f's result")
        return out
    if isinstance(out, (bool, np.bool_)) or getattr(out, "dtype", None) == np.bool_:
        # A comparison's result (np.allclose, x > 0) has no derivative at all; reading it as
        # 0.0/1.0 would report a zero gradient that means nothing.
        raise TypeError("f returned booleans, which have no derivative (comparisons and "
                        "np.allclose look at values only); return a number or a float array")
    return as_value(out, "f's output")


def _ragged_message(shapes: List[tuple]) -> str:
    groups: dict = {}
    for i, s in enumerate(shapes):
        groups.setdefault(s, []).append(i)
    parts = [f"element{'s' if len(ix) > 1 else ''} {', '.join(map(str, ix[:8]))}"
             f"{', ...' if len(ix) > 8 else ''} {'have' if len(ix) > 1 else 'has'} shape {s}"
             for s, ix in groups.items()]
    return (f"f returned a list/tuple of {len(shapes)} elements whose shapes disagree ("
            f"{'; '.join(parts)}), so it is not one array. Return one array: dd.stack pieces of "
            f"one shape, or dd.concatenate flattened pieces (dd.reshape(p, (-1,)))")


def _complex_output_error() -> TypeError:
    return TypeError("grad needs a real-valued f, but f(x) is complex: a complex-valued function "
                     "has no gradient. Use dd.jvp (directional derivatives) or dd.vjp (cotangents), "
                     "or differentiate a real function of it such as np.abs(f(x)) ** 2 or "
                     "np.real(f(x)); see docs/complex.md")


def _complex_jacobian_error() -> TypeError:
    return TypeError("jacobian of a complex-valued f of complex x: its derivative is one complex "
                     "matrix only when f is holomorphic, which dualdiff does not assume. Use "
                     "dd.jvp along 1 and 1j (∂f/∂x and ∂f/∂y) or dd.vjp, or pass the real and "
                     "imaginary parts as separate real inputs; see docs/complex.md")


def _check_holomorphic_input(leaves: List[Any]) -> None:
    if not all(is_complex(_concrete(leaf)) for leaf in leaves):
        raise TypeError("holomorphic=True needs complex x (as in JAX): f′(z) is a complex "
                        "derivative at a complex point. Pass x.astype(complex), or leave "
                        "holomorphic=False for a real x")


def _real_output_holomorphic_error() -> TypeError:
    return TypeError("holomorphic=True needs a complex-valued f: a real-valued f of z is "
                     "holomorphic only where it is constant. Drop holomorphic=True: grad of a "
                     "real f of z gives ∂f/∂x − i·∂f/∂y (docs/complex.md)")


def _check_cauchy_riemann(along_1: Any, along_i: Any, what: str) -> None:
    """Refuse (ValueError) unless the derivative along i is i times the one along 1, per leaf.

    That is what holomorphic means; a non-holomorphic f (abs, conj, real, ...) would otherwise
    give one of its two real derivatives and call it f′(z). Checked on the values at x (under
    dd.compile, at the recording's x; under an outer transformation, on its plain values).
    """
    pairs = (zip(along_1, along_i) if type(along_1) is list  # (a sweep's per-leaf cotangents)
             else zip(flatten(along_1)[0], flatten(along_i)[0]))
    for a, b in pairs:
        a, b = np.asarray(_concrete(a)), np.asarray(_concrete(b))
        scale = float(np.max(np.abs(a), initial=0.0)) + float(np.max(np.abs(b), initial=0.0))
        gap = np.abs(b - 1j * a)
        worst = float(np.max(gap, initial=0.0))
        if not worst <= 1e-9 * (1.0 + scale):  # (also catches nan)
            raise ValueError(
                f"holomorphic=True, but f is not holomorphic at x: {what}, the derivative "
                f"along i·ε is not i times the derivative along ε (the "
                f"Cauchy–Riemann equations fail by {worst:.3g}). f′(z) does not exist there. "
                f"Without holomorphic=True, jacobian/grad say what they compute for such f "
                f"(docs/complex.md)")


_SECOND_ORDER_ADVICE = {
    "grad": "use dd.jacobian for a vector- or matrix-valued f",
    "hessian": "for the second derivatives of a vector-valued f use "
               "dd.jacobian(lambda z: dd.jacobian(f, z), x), shape f(x).shape + x.shape + x.shape",
    "hvp": "for a vector-valued f use dd.jvp(lambda z: dd.jacobian(f, z), x, v)[1]",
    "hessian_sparsity": "for a vector-valued f use dd.sparsity(f, x) (the Jacobian's pattern)",
}


_AUX_HINT = (" If f returns a pair (value, aux), pass has_aux=True (grad, value_and_grad, "
             "jacobian and vjp take it)")


#: Said where a transform was called as for a function of several arguments.
_ONE_POINT = (" (the transforms differentiate f at one point x, and the argument after x is "
              "the mode; for f(x1, x2) at both arguments write dd.grad(f, argnums=(0, 1))(x1, "
              "x2), or pass them as one tuple to lambda x: f(*x))")


def several_arguments_error(f: Callable, error: TypeError) -> Optional[TypeError]:
    """Where calling f(x) raised ``error`` because f takes several arguments (f(x1, x2) given
    one x, as the transforms call it), the TypeError that says what to write; else None (the
    error came from inside f, or f takes one argument)."""
    if isinstance(f, _Aux):
        f = f.f
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # (builtins without a signature)
        return None
    try:
        signature.bind(None)
        return None  # f takes one argument: the error is f's own
    except TypeError:
        pass
    names = [p.name for p in signature.parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    if len(names) < 2:
        return None
    args = ", ".join(names)
    return TypeError(
        f"f takes {len(names)} arguments ({args}), but dualdiff's transforms call f with one x, "
        f"f(x) ({error}). To differentiate with respect to each of them write "
        f"dd.grad(f, argnums={tuple(range(len(names)))})({args}) (jacobian, hessian and "
        f"value_and_grad take argnums too), or pass them as one tuple to a function of one "
        f"argument: dd.grad(lambda x: f(*x), ({args}))")


def _scalar_output_error(shape: tuple, who: str = "grad", fn: Any = None) -> ValueError:
    error = ValueError(f"{who} needs f to return a scalar, but f(x) has shape {shape}; "
                       f"{_SECOND_ORDER_ADVICE[who]}")
    # (a plain ValueError, as the user expects; _gradient_for reads which f it is about)
    error._dualdiff_not_scalar = (shape, fn)  # type: ignore[attr-defined]
    return error
