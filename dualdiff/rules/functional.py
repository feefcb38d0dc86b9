"""numpy's functions that call a user's function on pieces of an array: apply_along_axis,
piecewise.

Composites: each cuts its argument with dualdiff's indexing, calls the user's function on the
pieces, and assembles the results with dualdiff's stack and index_update, so the derivative
flows through whatever the user's function does, to every order, with no rule of its own.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..primitives import is_traced, shape_of, stop_gradient
from .assembly import index_update, stack
from .indexing import getitem
from .shape import reshape, transpose
from .table import Value, norm_axes


def apply_along_axis(func1d: Callable[..., Any], axis: int, arr: Value, *args: Any,
                     **kwargs: Any) -> Value:
    """``func1d`` applied to every 1-d slice of ``arr`` along ``axis``, as np.apply_along_axis.

    The result has arr's shape with ``axis`` replaced by the shape of func1d's result (removed
    when that is a scalar). func1d runs once per slice, in C order of the other axes.

    >>> import dualdiff as dd, numpy as np
    >>> dd.apply_along_axis(lambda r: r[0] * r[1], 1, np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([ 2., 12.])
    """
    if not is_traced(arr):
        arr = np.asarray(arr)
    shape = shape_of(arr)
    if not shape:
        raise ValueError("apply_along_axis: arr must have at least one dimension (got a scalar)")
    (axis,) = norm_axes(axis, len(shape)) or (0,)
    rest = shape[:axis] + shape[axis + 1:]
    if 0 in rest:
        raise ValueError("apply_along_axis: cannot apply along an axis when another axis has "
                         f"length 0 (arr has shape {shape}), as numpy")
    # the axis to apply along moved last, so each slice is one index into the others
    moved = transpose(arr, [a for a in range(len(shape)) if a != axis] + [axis])
    results = [func1d(getitem(moved, index), *args, **kwargs) for index in np.ndindex(*rest)]
    out_shape = shape_of(results[0])
    if any(shape_of(r) != out_shape for r in results[1:]):
        raise ValueError("apply_along_axis: func1d returned results of different shapes "
                         f"({out_shape} and {next(shape_of(r) for r in results if shape_of(r) != out_shape)})")
    joined = reshape(stack(results), rest + out_shape)
    # func1d's axes go where ``axis`` was, as numpy places them
    k, m = len(out_shape), len(rest)
    order = list(range(axis)) + list(range(m, m + k)) + list(range(axis, m))
    return joined if order == list(range(m + k)) else transpose(joined, order)


def piecewise(x: Value, condlist: Any, funclist: Sequence[Any], *args: Any, **kw: Any) -> Value:
    """x's shape, with each function of ``funclist`` applied where its condition holds, as
    np.piecewise.

    ``condlist`` holds boolean arrays of x's shape (a single one may be given alone); each item
    of ``funclist`` is a function, called on ``x[cond]`` (and ``*args``, ``**kw``), or a
    constant. One extra function is the default, where no condition holds. Where conditions
    overlap the later one wins; where none holds (and no default is given) the result is 0.
    The derivative of each piece comes from its function, so |x| written as
    ``piecewise(x, [x < 0], [np.negative, lambda t: t])`` has derivative -1 and 1.

    >>> import dualdiff as dd, numpy as np
    >>> x = np.array([-2.0, 0.5, 3.0])
    >>> dd.piecewise(x, [x < 0, x > 1], [lambda t: -t, lambda t: t ** 2, lambda t: 10 * t])
    array([2., 5., 9.])
    """
    if not is_traced(x):
        x = np.asarray(x)
    shape = shape_of(x)
    # numpy's reading of condlist: one condition may be given alone (also a 0-d one, where
    # numpy itself fails to index it)
    if (np.isscalar(condlist) or isinstance(condlist, np.ndarray) and condlist.ndim == 0
            or (not isinstance(condlist[0], (list, np.ndarray)) and shape)):
        condlist = [condlist]
    plain = [stop_gradient(c) for c in condlist]
    if any(is_traced(c) for c in plain):  # only under dd.compile: conditions on staged values
        raise TypeError("piecewise cannot run under dd.compile when its conditions come from "
                        "traced values: it selects x[cond], whose size depends on the values, "
                        "which compiled code does not record. Write the pieces with "
                        "dd.where(cond, f1(x), f2(x)) (it compiles), or call it outside dd.compile")
    conds = np.asarray(plain, dtype=bool)
    funcs = list(funclist)
    if len(conds) == len(funcs) - 1:  # the last function applies where no condition holds
        conds = np.concatenate([conds, ~np.any(conds, axis=0, keepdims=True)], axis=0)
    elif len(conds) != len(funcs):
        raise ValueError(f"piecewise: with {len(conds)} condition(s), funclist must have "
                         f"{len(conds)} or {len(conds) + 1} entries (got {len(funcs)})")
    y: Any = np.zeros(shape, dtype=stop_gradient(x).dtype if shape else np.result_type(stop_gradient(x)))
    for cond, func in zip(conds, funcs):
        if not callable(func):
            y = index_update(y, cond, func)
        elif cond.any():  # as numpy: a function is not called on an empty selection
            y = index_update(y, cond, func(getitem(x, cond), *args, **kw))
    return y
