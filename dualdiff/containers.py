"""Containers of arrays as inputs: tuples and dicts of arrays, flattened to a list of leaves.

JAX users pass parameters as ``(W1, b1, W2, b2)`` or ``{"W1": ..., "b1": ...}`` and expect the
gradient back in the same structure. A *list* is not a container here: ``[2, 5]`` is a vector,
as numpy reads it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, List, Tuple

import numpy as np

from .primitives import is_traced, shape_of

__all__ = ["flatten", "unflatten", "flatten_like", "pieces", "as_value", "subclass_error"]

Treedef = Any


def as_value(x: Any, what: str) -> Any:
    """A float (or complex) ndarray or scalar from numeric input; a clear TypeError otherwise."""
    if type(x) is float:  # the common scalar, checked first: it is returned as it is
        return x
    if type(x) is np.ndarray and x.dtype.kind in "fc":  # the common array: as it is
        # (a 0-d array too: numpy writes into it in place, u += 1, where a scalar is rebound)
        return x
    if is_traced(x):
        return x
    if isinstance(x, (bool, int)) and not isinstance(x, np.ndarray):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(
                f"{what} is an integer of {len(str(abs(x)))} digits, beyond the largest float64 "
                f"(about 1.8e308): derivatives are computed in floating point. Rescale it, or "
                f"differentiate with respect to its logarithm") from None
    if isinstance(x, (float, complex)):
        return x
    if isinstance(x, np.ndarray) and type(x) is not np.ndarray and not isinstance(x, np.memmap):
        raise subclass_error(x, what)
    if isinstance(x, Iterator):  # (numpy reads a generator as one object: "of dtype object")
        raise TypeError(f"{what} is a {type(x).__name__}, which numpy reads as one object, not "
                        f"as its numbers: make it a list first (list(...), or np.fromiter(...))")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(_not_an_array(x, what)) from e
    if arr.dtype.kind in "biu":
        arr = arr.astype(float)
    elif arr.dtype.kind not in "fc":
        if isinstance(x, list) and arr.dtype.kind == "O":  # a list of dicts
            raise TypeError(_not_an_array(x, what))
        raise TypeError(f"{what} must be a number or an array of numbers, not "
                        f"{type(x).__name__} of dtype {arr.dtype}")
    return arr[()] if arr.ndim == 0 else arr


def _not_an_array(x: Any, what: str) -> str:
    """Why numpy could not read x as one array, and what to pass instead."""
    if isinstance(x, list):
        if any(is_traced(item) for item in x):
            return (f"{what} is a list holding traced values, which numpy cannot read as an "
                    f"array without dropping their derivatives; build it with dd.stack")
        containers = [type(item).__name__ for item in x
                      if isinstance(item, (tuple, dict)) and not _numeric(item)]
        if containers:
            return (f"{what} is a list of {', '.join(sorted(set(containers)))}s, which dualdiff "
                    f"reads as one array, as numpy does. To differentiate with respect to several "
                    f"arrays pass them as a tuple (tuple(params)) or a dict, nested as you like; "
                    f"the result comes back in the same structure")
        shapes = [np.shape(item) for item in x]
        if len(set(shapes)) > 1:
            return (f"{what} is a list whose items have different shapes ({', '.join(map(str, shapes))}), "
                    f"so it is not one array (dualdiff reads a list as one array, as numpy does). "
                    f"To differentiate with respect to several arrays pass them as a tuple "
                    f"(a, b) or a dict; the result comes back in the same structure")
    return f"{what} must be a number or an array of numbers, not {type(x).__name__}"


def _numeric(item: Any) -> bool:
    """Whether numpy reads item as an array of numbers (not a (W, b) tuple or a dict)."""
    try:
        return np.asarray(item).dtype.kind in "biufc"
    except (TypeError, ValueError):
        return False


def subclass_error(x: np.ndarray, what: str) -> TypeError:
    """Refuse an ndarray subclass: dualdiff's values are plain arrays, and its meaning would be lost."""
    if isinstance(x, np.ma.MaskedArray):
        meaning = ("a numpy masked array: dualdiff would differentiate the masked elements too "
                   "(the mask would be dropped). Pass x.filled(value) or x.compressed(), or "
                   "use np.where with the mask inside f")
    elif isinstance(x, np.matrix):
        meaning = ("a numpy matrix: inside f its * and ** would become elementwise (dualdiff's "
                   "values are plain arrays). Pass np.asarray(x) and write @ for matrix products")
    else:
        meaning = (f"a {type(x).__module__}.{type(x).__name__}, a subclass of numpy.ndarray "
                   f"whose own meaning (units, mask, operators) dualdiff would drop. Pass "
                   f"np.asarray(x) if the plain array is what you mean")
    return TypeError(f"{what} is {meaning}")


def flatten(x: Any, what: str = "x") -> Tuple[List[Any], Treedef]:
    """The leaves of a (nested) tuple/dict of arrays, and the structure to rebuild it."""
    if type(x) is float:
        return [x], None
    if type(x) is tuple:
        for item in x:  # (a loop: a generator's resumptions cost more than the test)
            if type(item) is not float:
                break
        else:  # a point given as a tuple of floats (the worked example): each item is one leaf
            return list(x), ("tuple", tuple, [_LEAF] * len(x))
    if type(x) is tuple and all([type(item) is np.ndarray for item in x]):
        # a tuple of arrays (a model's parameters): each item is one leaf
        return [as_value(item, what) for item in x], ("tuple", tuple, [_LEAF] * len(x))
    if isinstance(x, tuple):
        leaves: List[Any] = []
        children = []
        for i, item in enumerate(x):
            try:
                sub, d = flatten(item, what)
            except TypeError as e:
                raise _at(e, what, f"[{i}]")
            leaves += sub
            children.append(_LEAF if d is None else (len(sub), d))
        return leaves, ("tuple", type(x), children)
    if isinstance(x, dict):
        leaves = []
        children = []
        for key, item in x.items():
            try:
                sub, d = flatten(item, what)
            except TypeError as e:
                raise _at(e, what, f"[{key!r}]")
            leaves += sub
            children.append(_LEAF if d is None else (len(sub), d))
        return leaves, ("dict", list(x.keys()), children)
    return [as_value(x, what)], None


def _at(error: TypeError, what: str, step: str) -> TypeError:
    """``error`` about a leaf, said of its place in x (x['act'] for x = {..., 'act': 'tanh'}),
    with what to do with settings kept beside the parameters."""
    message = str(error)
    if not message.startswith(what):
        return error
    settings = (" not str", " not NoneType", " not bytes")
    hint = ("" if "another argument" in message or not any(s in message for s in settings) else
            " (settings kept beside the parameters, such as a string or None, are no numbers to "
            "differentiate: pass them as another argument, dd.grad(loss)(params, settings), "
            "which differentiates the first alone)")
    return TypeError(what + step + message[len(what):] + hint)


# The structure of one leaf inside a tuple/dict: one shared object, so that a flat tuple is
# recognised with list.count (an identity test per child) when it is rebuilt.
_LEAF = (1, None)


def unflatten(treedef: Treedef, leaves: List[Any]) -> Any:
    """Rebuild the structure ``treedef`` (from :func:`flatten`) around ``leaves``."""
    if treedef is None:
        return leaves[0]
    kind = treedef[0]
    children = treedef[-1]
    if treedef[1] is tuple and children.count(_LEAF) == len(children):
        return tuple(leaves)  # a flat tuple of leaves: nothing to rebuild
    parts = []
    start = 0
    for count, d in children:
        parts.append(unflatten(d, leaves[start:start + count]))
        start += count
    if kind == "dict":
        return dict(zip(treedef[1], parts))
    cls = treedef[1]
    return cls(*parts) if hasattr(cls, "_fields") else cls(parts)


def pieces(leaves: List[Any]) -> List[Tuple[tuple, slice]]:
    """Each leaf's shape and its slice of all the leaves flattened and joined (the layout of a
    gradient, a seed direction or a Jacobian axis over a tuple/dict x)."""
    out, start = [], 0
    for leaf in leaves:
        shape = shape_of(leaf)
        size = math.prod(shape)
        out.append((shape, slice(start, start + size)))
        start += size
    return out


def flatten_like(v: Any, treedef: Treedef, what: str = "v") -> List[Any]:
    """The leaves of ``v`` in the order of the structure ``treedef`` (from flattening x).

    Dicts are matched by key, not by insertion order, so ``{"b": ..., "a": ...}`` pairs with
    ``{"a": ..., "b": ...}``. A different layout is a ValueError that says where it differs.
    """
    if treedef is None:
        if isinstance(v, (tuple, dict)):
            raise ValueError(f"{what} must have the same structure as x: x has an array where "
                             f"{what} has a {type(v).__name__}")
        return [as_value(v, what)]
    kind, children = treedef[0], treedef[-1]
    if kind == "dict":
        keys = treedef[1]
        if not isinstance(v, dict) or set(v) != set(keys):
            got = sorted(map(str, v)) if isinstance(v, dict) else type(v).__name__
            raise ValueError(f"{what} must have the same structure as x: x is a dict with keys "
                             f"{sorted(map(str, keys))}, {what} has {got}")
        items = [v[k] for k in keys]
    else:
        if not isinstance(v, tuple) or len(v) != len(children):
            got = f"a tuple of {len(v)}" if isinstance(v, tuple) else f"a {type(v).__name__}"
            raise ValueError(f"{what} must have the same structure as x: x is a tuple of "
                             f"{len(children)}, {what} is {got}")
        items = list(v)
    leaves: List[Any] = []
    for item, (_, d) in zip(items, children):
        leaves += flatten_like(item, d, what)
    return leaves
