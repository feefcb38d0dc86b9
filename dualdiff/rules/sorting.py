"""Sorting and partitioning: the permutation is found on the values, the derivative follows it.

``sort(x)`` takes each output element from the input element the (stable) sorting permutation
puts there, so its tangent rule gathers the tangent with that permutation and its adjoint rule
gathers the cotangent with the inverse permutation (a permutation's transpose is its inverse:
a plain scatter, no scatter-add). The permutation depends on the values, so these entries are of kind
"other", not "linear": they are linear in the tangent at a given x, but which elements they pick
changes with x (sparsity detection relies on that distinction).

Equal keys: the permutation is numpy's *stable* argsort, so equal values keep their original
order and output position i takes the derivative of the i-th of them in input order. (At a tie
sort is not differentiable; this picks one one-sided derivative, consistently in every mode.)
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..primitives import Primitive, bind, bind1, is_complex, shape_of, stop_gradient
from .shape import _axis, reshape
from .table import Value, register


def _permutation(x: Value, params: dict) -> Any:
    """The permutation of ``x``'s values along params' axis that the entry applies.

    Computed from the value through numpy's dispatch (not on a raw array), so that under
    dd.compile it is recorded and recomputed on every call rather than baked in.
    """
    plain = stop_gradient(x)
    if params["kth"] is None:
        return np.argsort(plain, axis=params["axis"], kind="stable")
    return np.argpartition(plain, params["kth"], axis=params["axis"])


def _sort_impl(x, axis, kth):
    if kth is None:  # the values are the same whichever way ties are ordered: numpy's fast sort
        return np.sort(np.asarray(x), axis=axis)
    return np.take_along_axis(np.asarray(x), _permutation(x, {"axis": axis, "kth": kth}), axis)


def _permute_jvp(primals, tangents, out, params, chunked):
    return _apply(tangents[0], _permutation(primals[0], params), params["axis"], chunked, False)


def _permute_vjp(ct, primals, out, params, shapes, wants):
    perm = _permutation(primals[0], params)
    return (bind(PERMUTE, ct, perm, axis=params["axis"], inverse=True),)


def _apply(t: Value, perm: Any, axis: int, chunked: bool, inverse: bool) -> Value:
    if chunked:  # the direction axis in front: the same permutation for every direction
        return bind(PERMUTE, t, perm[None], axis=axis + 1, inverse=inverse)
    return bind(PERMUTE, t, perm, axis=axis, inverse=inverse)


def _permute_impl(x, perm, axis, inverse):
    x = np.asarray(x)
    if not inverse:
        return np.take_along_axis(x, perm, axis)
    out = np.empty_like(x)  # every position is written: perm is a permutation along axis
    np.put_along_axis(out, perm, x, axis)
    return out


# A gather along ``axis`` by a permutation that is an *argument* (plain integers), not a
# parameter: so the permutation sort finds on the values can be recorded (dd.compile) instead
# of baked in. ``inverse=True`` applies the inverse permutation (a scatter: no second sort).
# Linear in x; its transpose is the inverse permutation.
PERMUTE: Primitive = register(Primitive(
    "permute", _permute_impl,
    lambda primals, tangents, out, params, chunked: _apply(
        tangents[0], primals[1], params["axis"], chunked, params["inverse"]),
    lambda ct, primals, out, params, shapes, wants: (
        bind(PERMUTE, ct, primals[1], axis=params["axis"], inverse=not params["inverse"]),
        None),
    needs="args", kind="linear", complex="holomorphic",
    doc="x gathered along `axis` by a permutation of its positions (an integer array argument), "
        "or scattered by it (inverse=True): how sort's and partition's rules apply the "
        "permutation; each is the other's transpose"))


SORT = register(Primitive(
    "sort", _sort_impl, _permute_jvp, _permute_vjp, needs="args", kind="other",
    complex="real",
    doc="the values sorted along `axis`; the derivative follows the stable sorting permutation "
        "(equal keys keep their input order, each with the derivative of the element that was "
        "there)"))

PARTITION = register(Primitive(
    "partition", _sort_impl, _permute_jvp, _permute_vjp, needs="args", kind="other",
    complex="real",
    doc="the values arranged around the kth (as np.argpartition orders them); the derivative "
        "follows that arrangement"))


def _flat_axis(x: Value, axis: Optional[int], name: str) -> tuple:
    if is_complex(stop_gradient(x)):
        raise TypeError(f"{name} of complex values: numpy orders complex numbers by real part, "
                        f"then imaginary part, which dualdiff gives no derivative; sort by a real "
                        f"key instead: dd.take_along_axis(x, np.argsort(key, axis), axis)")
    if axis is None:
        return reshape(x, (-1,)), 0
    nd = len(shape_of(x))
    if nd == 0:
        raise ValueError(f"cannot {name} a 0-d value along an axis; use axis=None")
    return x, _axis(axis, nd)


def sort(x: Value, axis: Optional[int] = -1, kind: Optional[str] = None, order: Any = None) -> Value:
    """x's elements sorted along ``axis`` (flattened first if None), as np.sort.

    The derivative follows the sorting permutation; equal keys keep their input order (stable),
    and each takes the derivative of the element that was there.

    >>> import dualdiff as dd, numpy as np
    >>> dd.sort([3.0, 1.0, 2.0])
    array([1., 2., 3.])
    >>> dd.grad(lambda x: dd.sort(x)[0] * 10 + dd.sort(x)[2], np.array([3.0, 1.0, 2.0]))
    array([ 1., 10.,  0.])
    """
    if order is not None:
        raise TypeError("sort: order= (structured arrays) is not supported on traced values")
    x, axis = _flat_axis(x, axis, "sort")
    return bind1(SORT, x, {"axis": axis, "kth": None})


def partition(x: Value, kth: Any, axis: Optional[int] = -1, kind: str = "introselect",
              order: Any = None) -> Value:
    """x rearranged so that the kth element is where sorting would put it, smaller ones before and
    larger ones after, as np.partition (the derivative follows the rearrangement).

    The order within each side is numpy's ``argpartition``'s, which may differ from
    ``np.partition``'s own (numpy leaves it unspecified); the kth elements agree.

    >>> import dualdiff as dd
    >>> float(dd.partition([3.0, 1.0, 2.0], 1)[1])
    2.0
    """
    if order is not None:
        raise TypeError("partition: order= (structured arrays) is not supported on traced values")
    x, axis = _flat_axis(x, axis, "partition")
    kth = int(kth) if np.ndim(kth) == 0 else tuple(int(k) for k in np.ravel(kth))
    return bind1(PARTITION, x, {"axis": axis, "kth": kth})
