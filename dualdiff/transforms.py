"""The transformations: derivative, jvp, vjp, grad, jacobian, hessian, hvp.

Only two private pieces touch Duals and the tape: :func:`_forward_pass` (one forward pass,
one or k tangent directions) and :class:`_Recording` (one recording, then any number of reverse
sweeps). Every public transform is built on them and counts its passes here, in one place.
What they check of f's output, and the errors they raise, are :mod:`dualdiff.transform_checks`'s.

Shapes follow one convention everywhere: ``J[i..., j...] = ∂f_i/∂x_j`` with shape
``f(x).shape + x.shape``; a gradient has x's shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from . import rules as F
from .buffers import owns_memory, sole
from .constants import release, written_error
from .containers import as_value, flatten, flatten_like, pieces, unflatten
from .compression import compressed_hessian, compressed_jacobian
from .executors import tasks_chunk
from .dual import Deferred, Dual, ForwardTag, keep_pass_seed, tangent_of
from .memory import MemoryInfo
from .primitives import TRACED, is_complex, is_traced, shape_of, stop_gradient
from .rules.table import _IDENTITIES, _IDENTITY_ELEMENTS, identity_seed, is_identity_seed  # noqa: F401 (tests read them)
from .sparsity import detect
from .surface import plain_assignment_error, refuse_writes
from .staging import Staged, call
from .replay import backward, interpreted_backward
from .tape import DEFER_MIN_SIZE, LAZY_SUPPORTED, LazyVar, Tape, TapeTag, Var, take
from .transform_checks import (
    _Aux, _check_cauchy_riemann, _check_holomorphic_input, _complex_jacobian_error,
    _complex_output_error, _concrete, _output, _real_output_holomorphic_error, _returns,
    _scalar_output_error, _ONE_POINT, several_arguments_error,
)

__all__ = ["derivative", "jvp", "vjp", "grad", "value_and_grad", "jacobian", "hessian", "hvp",
           "JacobianInfo",
           "seed_directions", "auto_chunk", "sparsity", "hessian_sparsity"]

#: ``chunk="auto"`` keeps k * x.size at or below this many tangent elements (32 MiB of float64).
AUTO_CHUNK_ELEMENTS = 1 << 22


class _NoX:
    """The default of x: a transform called with f alone returns the function x ↦ its result."""

    def __repr__(self) -> str:
        return "<x not given>"


_NO_X: Any = _NoX()


def _curried(transform: Callable, f: Any, argnums: Any = None, **settings: Any) -> Callable:
    """``transform(f, **settings)`` without x, as JAX's ``grad(f)``: the function of x (a
    functools.partial, so it pickles when f does, for process executors).

    With ``argnums`` (an int or a tuple of ints, as JAX's) it is a function of all of f's
    arguments instead, differentiating with respect to those positions (see :func:`_at_argnums`).
    """
    name = transform.__name__
    _check_callable(f, name)
    if argnums is None:  # JAX's default argnums=0: grad(loss)(params, X, y) is ∂/∂params
        return partial(_at_first, transform, f, settings)
    positions = argnums if isinstance(argnums, tuple) else (argnums,)
    if not positions or any(type(i) is not int for i in positions):
        raise TypeError(f"{name}: argnums must be an int or a non-empty tuple of ints, not "
                        f"{argnums!r}")
    if len(set(positions)) != len(positions):
        raise ValueError(f"{name}: argnums {argnums!r} names a position twice")
    return partial(_at_argnums, transform, f, argnums, settings)


def _at_argnums(transform: Callable, f: Any, argnums: Any, settings: dict, *args: Any,
                **kwargs: Any) -> Any:
    """``transform`` of f with respect to ``args[argnums]``, the other arguments held fixed.

    An int argnums gives the result for that argument; a tuple gives the structure a tuple x
    gives (a tuple of gradients, ...), as JAX's argnums.
    """
    many = isinstance(argnums, tuple)
    n = len(args)
    positions = argnums if many else (argnums,)
    if any(not -n <= i < n for i in positions):
        raise ValueError(f"{transform.__name__}: argnums {argnums!r} names a position f was not "
                         f"given: it was called with {n} positional argument(s)")
    positions = tuple(i % n for i in positions)
    shared, frozen = _sharing_memory(args, kwargs, positions)
    if frozen:
        given, kwargs = list(args), dict(kwargs)
        for j in frozen:
            view = (given[j] if type(j) is int else kwargs[j]).view()
            view.flags.writeable = False
            if type(j) is int:
                given[j] = view
            else:
                kwargs[j] = view
        args = tuple(given)

    def of_chosen(x: Any) -> Any:
        full = list(args)
        for i, xi in zip(positions, x if many else (x,)):
            if i in shared:
                for leaf in flatten(xi)[0]:
                    if is_traced(leaf):
                        refuse_writes(leaf, shared[i])
            full[i] = xi
        return f(*full, **kwargs)
    x = tuple(args[i] for i in positions) if many else args[positions[0]]
    return transform(of_chosen, x, **settings)


def _sharing_memory(args: tuple, kwargs: dict, positions: Tuple[int, ...]
                    ) -> Tuple[Dict[int, str], List[Any]]:
    """The differentiated positions whose arrays share memory with another argument's (f(x, x),
    or x and a view of it), each with the error a write into it raises: numpy's write would
    show in the other argument too, which is a value apart here (as dd.compile refuses it).
    And the arguments held fixed that are such arrays themselves: f gets them read-only (a
    write into one would change the differentiated argument's values under its derivative)."""
    def arrays(a: Any) -> List[np.ndarray]:
        if type(a) is np.ndarray:
            return [a]
        if type(a) in (tuple, list, dict):
            return [leaf for leaf in flatten(a)[0] if type(leaf) is np.ndarray]
        return []
    found = [(name, arrays(a)) for name, a in
             list(enumerate(args)) + list(kwargs.items())]
    roots: Dict[int, List[Any]] = {}
    for name, group in found:
        for a in group:
            roots.setdefault(id(a if a.base is None else a.base), []).append((name, a))
    shared: Dict[int, str] = {}
    for users in roots.values():
        for i, a in users:
            if i in positions and i not in shared:
                for j, b in users:
                    if j != i and np.may_share_memory(a, b):
                        shared[i] = (
                            f"f writes into its argument {i}, which shares memory with argument "
                            f"{j!r} (f(x, x), or x and a view of it): numpy's write would show in "
                            f"both, where the differentiated argument is a value of its own. "
                            f"Pass a copy (x.copy()) as one of them")
                        break
    frozen = [j for users in roots.values() for j, b in users
              if j not in positions and type(args[j] if type(j) is int else kwargs[j]) is np.ndarray
              and any(i in positions and np.may_share_memory(a, b) for i, a in users)]
    return shared, frozen


def _at_first(transform: Callable, f: Any, settings: dict, *args: Any, **kwargs: Any) -> Any:
    """``transform(f, **settings)`` at x = ``args[0]``; further arguments (f's data) held fixed."""
    if len(args) == 1 and not kwargs:
        return transform(f, args[0], **settings)
    return _at_argnums(transform, f, 0, settings, *args, **kwargs)


def _no_argnums_with_x(argnums: Any, name: str) -> None:
    if argnums is not None:
        raise TypeError(f"{name}(f, x, argnums=...): with x given, {name} differentiates f with "
                        f"respect to its one argument x. For f(a, b, ...) write "
                        f"dd.{name}(f, argnums=...)(a, b, ...), as in JAX")


@dataclass(frozen=True)
class JacobianInfo:
    """What a Jacobian computation did: the honest cost.

    ``passes``: forward passes (each seeds ``chunk`` directions) or reverse sweeps (one per output
    element). ``operations``: primitive operations interpreted in all passes together, the
    recording included for reverse mode. ``n_inputs``/``n_outputs``: x.size and f(x).size.
    ``peak_bytes``: the most bytes of forward values the tape kept at once for the sweeps
    (see :mod:`dualdiff.memory`; checkpoints' re-runs included); 0 in forward mode, which keeps
    no tape.
    ``mode`` is what ran, also when ``mode="auto"`` chose it. Sparse Jacobians also report
    ``colors`` (compressed directions: columns for forward mode, rows for reverse mode) and
    ``nonzeros`` (entries of the pattern); both are None for dense ones.
    """

    passes: int
    mode: str
    chunk: Optional[int]
    operations: int
    n_inputs: int
    n_outputs: int
    peak_bytes: Optional[int] = None
    colors: Optional[int] = None
    nonzeros: Optional[int] = None


# --------------------------------------------------------------------------------------------
# Checking what the user passed
# --------------------------------------------------------------------------------------------

def _check_callable(f: Any, name: str) -> None:
    if not callable(f):
        raise TypeError(f"{name} takes a function as its first argument, not {type(f).__name__}")


def _check_args(name: str, f: Any, *, mode: Optional[str] = None, chunk: Any = "auto",
                has_aux: bool = False, modes: Tuple[str, ...] = ("forward", "reverse"),
                holomorphic: bool = False) -> None:
    """The checks every transform makes on what it was given, so all refuse alike.

    A setting is checked even where this call does not use it (``chunk`` in reverse mode): a
    bad value is a mistake the caller should hear about, not a silent no-op.
    """
    if not callable(f):  # (the check written here too: this runs on every call)
        _check_callable(f, name)
    if mode is not None and mode not in modes:
        also = f" ({name} also takes 'auto')" if "auto" in modes else ""
        raise ValueError(f"mode must be 'forward' or 'reverse', not {mode!r}{also}"
                         + ("" if isinstance(mode, str) else _ONE_POINT))
    if type(chunk) is not str or chunk != "auto":  # (the default needs no check)
        _resolve_chunk(chunk, 1)
    if not isinstance(has_aux, bool):
        raise TypeError(f"has_aux must be True or False, not {has_aux!r}")
    if not isinstance(holomorphic, bool):
        raise TypeError(f"holomorphic must be True or False, not {holomorphic!r}")


# --------------------------------------------------------------------------------------------
# The two primitive passes
# --------------------------------------------------------------------------------------------

def _call(f: Callable, x: Any) -> Any:
    """f(x), with numpy's message for a traced value assigned into a plain array replaced by ours."""
    try:
        return f(x)
    except ValueError as e:
        ours = plain_assignment_error(e)
        if ours is None:
            raise
        raise ours from e
    except TypeError as e:  # (f(x1, x2) called with one x: Python's message names no remedy)
        several = several_arguments_error(f, e)
        if several is None:
            raise
        raise several from e


def _forward_pass(f: Callable, leaves: List[Any], treedef: Any, tangents: List[Any],
                  chunk: Optional[int], owner: str) -> Tuple[Any, Any, int]:
    """One forward pass: f's value and its tangent(s), and the operations it took.

    ``tangents[i]`` has ``leaves[i]``'s shape, or ``(k,) + shape`` when ``chunk`` is k.
    """
    tag = ForwardTag(chunk, owner=owner)
    if chunk is not None and len(tangents) == 1:
        # Over a kept seed (a reused colouring's directions, for one array x), what the seed
        # alone gives is kept between calls too.
        tag.keep = keep_pass_seed(tangents[0])
    try:
        out = _call(f, unflatten(treedef, tag.new_duals(leaves, tangents)))
        if type(out) is not Dual or out.tag is not tag:  # (one of ours needs no checks)
            out = _output(out)
    finally:
        tag.active = False
    if type(out) is not Dual or out.tag is not tag:
        # f does not depend on x (or only through an outer perturbation): zero tangent.
        shape = shape_of(out)
        plain = _concrete(out)  # (in the output's precision: float32 stays float32)
        dtype = getattr(plain, "dtype", None)
        zeros = np.zeros(shape if chunk is None else (chunk,) + shape,
                         dtype=dtype if dtype is not None and dtype.kind in "fc" else np.float64)
        return out, zeros, tag.count
    t = out.tangent
    return out.primal, t if type(t) is not Deferred else tangent_of(out), tag.count


class _Recording:
    """One reverse-mode recording of f: its output and the tape to sweep backwards."""

    def __init__(self, f: Callable, leaves: List[Any], treedef: Any, owner: str,
                 keep_all: bool = False, meter: Optional[MemoryInfo] = None):
        tape = Tape(keep_all=keep_all)
        tag = TapeTag(tape, owner=owner)
        if owner == "grad" and not keep_all and LAZY_SUPPORTED:
            # grad discards f's value: what only that value reads need not be computed (see
            # tape.LazyVar). Only for plain inputs with a large array among them: under another
            # transform the values are traced, and small arrays gain nothing.
            tag.lazy = _plain_arrays(leaves)
        try:
            out = _call(f, unflatten(treedef, tag.new_vars(leaves)))
            if type(out) is not Var or out.tag is not tag:  # (one of ours needs no checks)
                out = _output(out)
        except BaseException as e:
            written = _f_failed(tag, tape, e)
            if written is not None:
                raise written from e
            raise
        finally:
            tag.active = False
            if tape.held:  # (a pullback or a trace outlives f: it keeps copies)
                release(tape.held, tape.entries if owner in ("vjp", "trace") else None)
        self._made(tape, tag, out, leaves, treedef)
        if meter is not None:
            meter.watch(tape)

    def _made(self, tape: Tape, tag: TapeTag, out: Any, leaves: List[Any], treedef: Any) -> None:
        """Take the recording of f on ``tag``'s Vars for ``leaves``, and its checked output."""
        self.tape = tape
        self.leaves = leaves
        self.treedef = treedef
        self.tag = tag
        self.out_slot: Optional[int] = None
        self.value = out
        if type(out) is Var and out.tag is tag:
            self.value, self.out_slot = out.primal, out.slot
        elif type(out) is LazyVar and out.tag is tag:
            self.out_slot = out.slot  # (its value stays uncomputed: grad reads the dtype alone)
        self.out_shape = () if type(self.value) is float else shape_of(self.value)
        self.recorded = len(tape.entries)  # a last sweep consumes the tape; the count stays
        self.sweeps = 0

    @property
    def operations(self) -> int:
        # inner_operations: what checkpoints ran besides their one entry each (dualdiff.checkpoint)
        return self.recorded + self.tape.swept + self.tape.inner_operations

    def sweep(self, ybar: Any, last: bool = False) -> List[Any]:
        """One reverse sweep with output cotangent ``ybar``: the cotangent of every leaf.

        ``last=True`` promises no further sweep, so the tape is consumed as it is swept.
        """
        self.sweeps += 1
        if self.out_slot is None:
            return [_zero_cotangent(x) for x in self.leaves]
        table = backward(self.tape, {self.out_slot: ybar}, consume=last)
        out = []
        for x, s in zip(self.leaves, self.tape.inputs):
            if type(table[s]) is float and type(x) is float:  # nothing to copy or convert
                out.append(table[s])  # (no local name for it: take() counts references)
                continue
            out.append(_leaf_cotangent(table, s, x))
        return out


def _f_failed(tag: TapeTag, tape: Tape, e: BaseException) -> Optional[BaseException]:
    """f raised ``e`` while ``tag`` recorded it on ``tape``: what it deferred is never computed,
    and the error to raise instead of ``e`` when e is a write into an array the tape holds
    (constants.written_error), else None."""
    if tag.lazy:
        tag.lazy = None
    return written_error(e, tape.held)


def _leaf_cotangent(table: List[Any], slot: int, x: Any) -> Any:
    """Input x's cotangent, taken from the grad_table at its slot, in x's dtype."""
    c = take(table, slot)  # never the caller's ybar, a tape value, or another input's array
    return _zero_cotangent(x) if c is None else _like_input(c, x)


def _reverse_grad_of_leaves(f: Callable, x: tuple) -> Tuple[Any, Optional[_Recording]]:
    """``grad(f, x)`` for x a tuple whose items are each one leaf, Python floats (the worked
    example) or plain real floating arrays (a model's parameters): ``(gradient, None)``;
    ``(None, None)``, having run nothing, for any other x.

    The recording and sweep of the general path without its bookkeeping (flattening, the
    structure rebuilt twice, the checks a float64 output does not need): on scalar code that is
    most of the cost, and on a layer's gradient it is code run cold between the matrix products.
    Anything but a float64 number as f's output (no dependence on x, a float32, complex or
    non-scalar f) is handed back as ``(None, recording)`` for the general path to go on with,
    so f runs once either way.
    """
    lazy = False
    for v in x:
        if type(v) is not float:
            # (what flatten and as_value return as they are: an array that is its own leaf)
            if type(v) is not np.ndarray or v.dtype.kind != "f":
                return None, None
            if v.size >= DEFER_MIN_SIZE:
                lazy = LAZY_SUPPORTED  # (as _plain_arrays would find, see _Recording)
    if not x:
        return None, None
    tape = Tape()
    tag = TapeTag(tape, owner="grad")
    if lazy:
        tag.lazy = True
    try:
        out = _call(f, tuple(tag.new_vars(x)))
        if (type(out) is not Var and type(out) is not LazyVar) or out.tag is not tag:
            out = _output(out)
    except BaseException as e:
        written = _f_failed(tag, tape, e)
        if written is not None:
            raise written from e
        raise
    finally:
        tag.active = False
        if tape.held:
            release(tape.held)
    if not ((type(out) is Var and out.tag is tag and type(out.primal) in _FLOAT64) or
            (type(out) is LazyVar and out.tag is tag and out.shape == () and out.dtype == _F64)):
        rec = _Recording.__new__(_Recording)
        rec._made(tape, tag, out, *flatten(x))
        return None, rec
    # ȳ = 1.0, a Python float as in the general path; the inputs hold slots 0 … n-1
    try:
        # (scalar code, a tape opening with a float entry, is never replayed: straight to the
        # interpreted sweep, without replay's call in between)
        entries = tape.entries
        table = (interpreted_backward if entries and type(entries[0]) is tuple
                 else backward)(tape, {out.slot: 1.0}, consume=True)
        g: List[Any] = []
        for s in range(len(x)):
            c = table[s]
            if type(c) is float:
                g.append(np.float64(c))
                continue
            v = x[s]
            # An array of x's dtype that nobody else holds is what _leaf_cotangent and _finish
            # give back as it is: handed out without their calls (this runs right after the
            # sweep's last, largest product, with the interpreter's caches cold).
            if type(c) is np.ndarray and c.ndim and type(v) is np.ndarray and c.dtype is v.dtype:
                table[s] = None
                if sole(c):
                    g.append(c)
                    continue
                table[s] = c
            c = None  # (take() counts the references)
            g.append(_finish(_leaf_cotangent(table, s, v)))
        return tuple(g), None
    finally:
        if tag.lazy:  # (a value of f never computed by now never will be: see grad)
            tag.lazy = None


def _plain_arrays(leaves: List[Any]) -> bool:
    """Whether the leaves are plain values with a large real floating array among them (see
    tape.DEFER_MIN_SIZE)."""
    found = False
    for leaf in leaves:
        t = type(leaf)
        if t in TRACED:
            return False
        if t is np.ndarray and leaf.dtype.kind == "f" and leaf.size >= DEFER_MIN_SIZE:
            found = True
    return found


def _zero_cotangent(x: Any) -> Any:
    return np.zeros(shape_of(x), dtype=_input_dtype(x))


def _input_dtype(x: Any) -> Any:
    """The dtype of x's derivatives: x's own (float32 stays float32), complex or float64."""
    dtype = getattr(_concrete(x), "dtype", None)
    if dtype is not None and dtype.kind in "fc":
        return dtype
    return complex if is_complex(x) else float


def _like_input(c: Any, x: Any) -> Any:
    """An input's cotangent (or gradient) in the input's dtype, as in JAX: complex for a
    complex input even where the rules left it real, and float where an integer constant on
    the way (``np.array([1, 2]) * x``) left it integer."""
    plain = c.primal if type(c) is Staged else c  # (being compiled: the cast is recorded)
    if type(plain) is np.ndarray or isinstance(plain, np.generic):
        dtype = _input_dtype(x)
        if plain.dtype != dtype and not (plain.dtype.kind == "c" and np.dtype(dtype).kind == "f"):
            return F.astype(c, dtype) if plain is not c else c.astype(dtype)
        return c
    if is_complex(x) and not is_traced(c) and not is_complex(c):
        return np.asarray(c) + 0j
    return c


def _finish(v: Any) -> Any:
    """A result as numpy gives it: an ndarray, or a numpy scalar for 0-d; traced values as they are.

    Rules produce Python floats, numpy scalars or 0-d arrays depending on the path taken; users
    should see one type, whatever the mode.
    """
    if type(v) is np.ndarray:
        return v[()] if v.ndim == 0 else v
    if type(v) is float:
        return np.float64(v)  # what np.asarray(v)[()] gives, without the array
    if type(v) is np.float64:
        return v
    if type(v) is Staged:
        # Being compiled: the conversion is part of the program (nothing to do for arrays; for
        # a number, numpy's scalar type, which the specialisation's input checks fix).
        p = v.primal
        return v if type(p) is np.ndarray and p.ndim else call(type(np.asarray(p)[()]), v)
    if is_traced(v):
        return v
    return np.asarray(v)[()]


def _leaves(x: Any) -> Tuple[List[Any], Any]:
    leaves, treedef = flatten(x)
    if not leaves:
        raise ValueError("x is an empty container: there is nothing to differentiate with respect to")
    return leaves, treedef


# --------------------------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------------------------

def auto_chunk(n: int) -> int:
    """The number of directions per pass that ``chunk="auto"`` uses for n inputs.

    The fewest passes with at most ``AUTO_CHUNK_ELEMENTS`` tangent elements per input-sized
    value (k · n ≤ 2²², 32 MiB of float64), then balanced so that all passes carry about as
    many directions (n = 3000 gives 3 passes of 1000, not 1398 + 1398 + 204). Fewer, wider
    passes win as long as the tangents fit: per pass, the interpreter's cost is paid once
    (an n = 100 Hessian measured 60x the function in one pass, 100x in two).

    >>> import dualdiff as dd
    >>> dd.auto_chunk(2), dd.auto_chunk(70), dd.auto_chunk(3000), dd.auto_chunk(10**6)
    (2, 70, 1000, 4)
    """
    if n * n <= AUTO_CHUNK_ELEMENTS:  # one pass of n directions fits: what the lines below give
        return max(n, 1)
    cap = max(1, AUTO_CHUNK_ELEMENTS // max(n, 1))
    passes = max(1, math.ceil(n / cap))
    return max(1, math.ceil(n / passes))


def _resolve_chunk(chunk: Union[int, str], n: int) -> int:
    if isinstance(chunk, str):
        if chunk != "auto":
            raise ValueError(f"chunk must be a positive int or 'auto', not {chunk!r}")
        return auto_chunk(n)
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)):
        raise TypeError(f"chunk must be a positive int or 'auto', not {type(chunk).__name__}")
    if chunk < 1:
        raise ValueError(f"chunk must be a positive int or 'auto', not {chunk}")
    return max(1, min(int(chunk), n))


def seed_directions(n: int, chunk: int, dtype: Any = float,
                    colors: Optional[np.ndarray] = None) -> Iterator[Tuple[np.ndarray, range]]:
    """The seed directions of a Jacobian: blocks of rows of the n×n identity, or compressed.

    Yields ``(S, columns)``: ``S`` has shape (k, n) and ``dtype``, one seed direction per row, and
    ``columns[i]`` is the Jacobian column that direction i recovers (J[:, columns] = J Sᵀ); a
    ``range`` for these identity seeds.
    ``ceil(n / chunk)`` blocks in all. This is the only place seeds are made.

    With ``colors`` (one colour per column, from :func:`dd.color_columns`), the directions are
    compressed: direction c is the sum of the unit vectors of all columns of colour c, and
    ``columns`` is the range of colours in the block (``ceil(n_colors / chunk)`` blocks). Reverse
    mode uses the same seeds for its output cotangents, with a row colouring.

    >>> import dualdiff as dd
    >>> [(S.tolist(), list(cols)) for S, cols in dd.seed_directions(3, 2)]
    [([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [0, 1]), ([[0.0, 0.0, 1.0]], [2])]
    >>> [S.tolist() for S, _ in dd.seed_directions(3, 2, colors=np.array([0, 1, 0]))]
    [[[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]]
    """
    if colors is not None:
        n_colors = int(colors.max()) + 1 if len(colors) else 0
        for start in range(0, n_colors, chunk):
            groups = range(start, min(start + chunk, n_colors))
            S = np.zeros((len(groups), n), dtype=dtype)
            mine = (colors >= groups.start) & (colors < groups.stop)
            S[colors[mine] - start, np.flatnonzero(mine)] = 1.0
            yield S, groups
        return
    # Small n: slice the rows out of one identity (views, no per-pass allocation); large n:
    # build each block alone so memory stays at chunk × n, not n².
    eye = identity_seed(n, dtype) if n <= 2048 else None
    for start in range(0, n, chunk):
        columns = range(start, min(start + chunk, n))
        if eye is not None:
            # (all n rows: the identity itself, which the matmul rule recognises)
            S = eye if len(columns) == n else eye[start:columns.stop]
        else:
            S = np.zeros((len(columns), n), dtype=dtype)
            # Row i has its 1 at column start + i: flat positions start, start + n + 1, ...
            S.reshape(-1)[start::n + 1] = 1.0
        yield S, columns


def _split_seed(S: np.ndarray, leaves: List[Any], chunked: bool) -> List[Any]:
    """Cut a (k, n) block of seed directions into one tangent per leaf."""
    if len(leaves) == 1 and not chunked:  # the common case, kept lean
        shape = shape_of(leaves[0])
        return [S[0].reshape(shape) if shape else _scalar_seed(S[0, 0])]
    out = []
    k = S.shape[0]
    if chunked and len(leaves) == 1 and S.shape == (k,) + shape_of(leaves[0]):
        # The whole block for one vector: passed as it is (the matmul rule recognises the
        # identity by identity, and a kept seed is kept by identity; a view would be new).
        return [S]
    for shape, cut in pieces(leaves):
        block = S[:, cut]
        if chunked:
            out.append(block.reshape((k,) + shape))
        else:
            out.append(block[0].reshape(shape) if shape else _scalar_seed(block[0, 0]))
    return out


def _scalar_seed(s: Any) -> Any:
    """A scalar leaf's seed as a Python float when it is float64: native arithmetic in the rules
    (and x · 1.0 simplified away under dd.compile); other dtypes keep their numpy scalar."""
    return float(s) if type(s) is np.float64 else s


def _forward_task(f: Callable, S: np.ndarray, leaves: List[Any], treedef: Any) -> Tuple[Any, Any, int]:
    """One forward pass along the k seed directions in S (k, n): (f(x), the (k, m) tangents, ops).

    Module-level, so that executors' worker processes can run it.
    """
    k = S.shape[0]
    value, tangent, count = _forward_pass(f, leaves, treedef, _split_seed(S, leaves, True), k,
                                          "jacobian")
    return value, tangent if is_traced(tangent) else np.reshape(tangent, (k, -1)), count


def _reverse_task(f: Callable, Y: np.ndarray, leaves: List[Any], treedef: Any) -> Tuple[Any, Any, int]:
    """One recording of f and one sweep per output cotangent in Y (k, m): (f(x), (k, n), ops)."""
    rec = _Recording(f, leaves, treedef, "jacobian")
    if Y.shape[1] != math.prod(rec.out_shape):
        raise ValueError(f"the sparsity pattern has {Y.shape[1]} rows, but f(x) has "
                         f"{math.prod(rec.out_shape)} elements")
    rows = []
    for i, ybar in enumerate(Y):
        cts = rec.sweep(ybar.reshape(rec.out_shape), last=i == len(Y) - 1)
        rows.append(np.concatenate([np.reshape(c, -1) for c in cts]))
    block = np.stack(rows) if rows else np.zeros((0, sum(math.prod(shape_of(x)) for x in leaves)))
    return rec.value, block, rec.operations


# --------------------------------------------------------------------------------------------
# The public transforms
# --------------------------------------------------------------------------------------------

def jvp(f: Callable, x: Any, v: Any) -> Tuple[Any, Any]:
    """``(f(x), J(x) @ v)`` in one forward pass: the value and the directional derivative along v.

    ``v`` has x's shape (x may be a number, an array, or a tuple/dict of arrays, and v then has
    the same structure). The tangent has f(x)'s shape.

    >>> import dualdiff as dd, numpy as np
    >>> y, t = dd.jvp(lambda x: np.sin(x) * x, np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    >>> t
    array([0., 0.])
    """
    _check_args("jvp", f)
    leaves, treedef = _leaves(x)
    vleaves = flatten_like(v, treedef, "v")
    for xl, vl in zip(leaves, vleaves):
        if shape_of(xl) != shape_of(vl):
            raise ValueError(f"v must have x's shape: x has shape {shape_of(xl)}, v has shape {shape_of(vl)}")
        if is_complex(vl) and not is_complex(xl):
            raise TypeError("v is complex where x is real: a real input moves along real "
                            "directions only; make x complex (x + 0j) to move it off the real line")
    value, tangent, _ = _forward_pass(f, leaves, treedef, vleaves, None, "jvp")
    if any(tangent is vl for vl in vleaves) and not is_traced(tangent):
        # f returned its input: J v is v, but not the caller's v
        tangent = np.array(tangent)
    out_dtype = getattr(stop_gradient(value), "dtype", None)
    t_dtype = getattr(stop_gradient(tangent), "dtype", None)
    if (out_dtype is not None and t_dtype is not None and t_dtype != out_dtype
            and np.can_cast(t_dtype, out_dtype, "same_kind")):
        # f(x)'s dtype, where constants widened the value, or where v was wider than x (a
        # float64 v for a float32 x gave a float64 tangent beside a float32 value)
        tangent = F.astype(tangent, out_dtype)
    return _finish(value), _finish(tangent)


def derivative(f: Callable, x: Any = _NO_X, *, holomorphic: bool = False,
               argnums: Any = None) -> Any:
    """f'(x) for a scalar x, by one forward pass; the result has f(x)'s shape.

    A complex x is read as :func:`jacobian` reads it (docs/complex.md): a real-valued f gets
    ∂f/∂x − i·∂f/∂y, and a complex-valued f is refused, since f'(z) exists only where f is
    holomorphic: ``holomorphic=True`` gives f′(z) then, checked as :func:`jacobian` checks it.

    >>> import dualdiff as dd
    >>> float(dd.derivative(lambda x: x ** 3, 2.0))
    12.0
    """
    if x is _NO_X:
        return _curried(derivative, f, argnums, holomorphic=holomorphic)
    _no_argnums_with_x(argnums, "derivative")
    _check_args("derivative", f, holomorphic=holomorphic)
    xv = as_value(x, "x")
    if shape_of(xv) != ():
        raise ValueError(f"derivative takes a scalar x, got shape {shape_of(xv)}; "
                         f"use dd.jacobian (or dd.jvp) for array inputs")
    if holomorphic:
        return _jacobian_holomorphic_forward(f, xv, 1)[0]
    if is_complex(xv):
        return _jacobian_forward_any(f, xv, 1)[0]
    return _finish(_forward_pass(f, [xv], None, [1.0], None, "derivative")[1])


def vjp(f: Callable, x: Any, full_output: bool = False, *, has_aux: bool = False) -> Any:
    """``(f(x), pullback)`` where ``pullback(ybar) = ybarᵀ J`` with x's shape (and structure).

    f is called once and recorded; each pullback call is one reverse sweep over the tape and
    does not call f again (checkpointed parts of f are re-run in each sweep). ``ybar`` must have
    f(x)'s shape. With ``full_output=True`` returns ``(f(x), pullback, memory)``, memory a
    :class:`~dualdiff.memory.MemoryInfo` whose ``peak_bytes`` grows as sweeps re-run checkpoints.
    With ``has_aux=True`` f returns ``(output, aux)`` and aux is appended, undifferentiated:
    ``(f(x), pullback, aux)``.

    >>> import dualdiff as dd, numpy as np
    >>> y, pullback = dd.vjp(lambda x: x * x, np.array([1.0, 2.0]))
    >>> pullback(np.array([1.0, 1.0]))
    array([2., 4.])
    """
    _check_args("vjp", f, has_aux=has_aux)
    aux = _Aux(f, "vjp") if has_aux else None
    f = aux or f
    leaves, treedef = _leaves(x)
    meter = MemoryInfo() if full_output else None
    rec = _Recording(f, leaves, treedef, "vjp", meter=meter)

    def pullback(ybar: Any) -> Any:
        ybar = as_value(ybar, "ybar")
        if shape_of(ybar) != rec.out_shape:
            raise ValueError(f"ybar must have f(x)'s shape: f(x) has shape {rec.out_shape}, "
                             f"ybar has shape {shape_of(ybar)}")
        if is_complex(ybar) and not is_complex(rec.value):
            raise TypeError("ybar is complex where f(x) is real: a real output's cotangent is "
                            "real (see docs/complex.md)")
        return unflatten(treedef, [_finish(c) for c in rec.sweep(ybar)])

    if full_output:
        return _returns(aux, x, _finish(rec.value), pullback, meter)
    return _returns(aux, x, _finish(rec.value), pullback)


def _jacobian_holomorphic_forward(f: Callable, x: Any, chunk: Union[int, str],
                                  scalar_output: bool = False):
    """J = f′(z) by forward passes along the inputs' real directions, checked against the
    passes along their imaginary directions (which must give i·J); as ``_jacobian_forward``."""
    flat = _leaves(x)
    _check_holomorphic_input(flat[0])
    J1, p1, o1, n, m, k = _jacobian_forward(f, x, chunk, scalar_output, flat=flat)
    J2, p2, o2, *_ = _jacobian_forward(f, x, chunk, scalar_output,
                                       phase=[1j] * len(flat[0]), flat=flat)
    # (a real-valued f fails the check below unless it is constant, where J = 0 is right)
    _check_cauchy_riemann(J1, J2, "along the inputs' directions")
    return J1, p1 + p2, o1 + o2, n, m, k


def _gradient_for(who: str, f: Callable, z: Any) -> Any:
    """``grad(f, z)`` inside ``who`` (hessian, hvp, ...), whose name a non-scalar f's error
    then carries. Module level so that ``partial(_gradient_for, who, f)`` pickles for process
    executors. Only the error about this f is renamed: an inner dd.grad of the user's own
    keeps its message."""
    try:
        return grad(f, z)
    except ValueError as error:
        shape, fn = getattr(error, "_dualdiff_not_scalar", ((), None))
        if fn is not f:
            raise
        raise _scalar_output_error(shape, who, f) from None


def grad(f: Callable, x: Any = _NO_X, mode: str = "reverse", chunk: Union[int, str] = "auto",
         full_output: bool = False, *, has_aux: bool = False, holomorphic: bool = False,
         argnums: Any = None) -> Any:
    """The gradient of a scalar-valued f at x: same shape (and tuple/dict structure) as x.

    ``mode="reverse"`` (default) records f once and sweeps back once; ``mode="forward"`` takes
    ceil(x.size / chunk) forward passes. A non-scalar f(x) raises ValueError. With
    ``full_output=True`` returns ``(gradient, info)``, info a :class:`JacobianInfo` (passes,
    operations, and ``peak_bytes``, the most bytes the tape kept at once). With
    ``has_aux=True`` f returns ``(loss, aux)`` and the result is ``(gradient, aux)`` (aux
    undifferentiated, as in JAX); :func:`value_and_grad` gives the loss too.
    ``holomorphic=True``: for a complex-valued f of complex x, f′(z) (as JAX's), checked as
    :func:`jacobian` checks it.

    >>> import dualdiff as dd, numpy as np
    >>> f = lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1])
    >>> dd.grad(f, [2.0, 5.0])
    array([5.5       , 1.71633781])
    """
    if x is _NO_X:
        return _curried(grad, f, argnums, mode=mode, chunk=chunk, full_output=full_output,
                        has_aux=has_aux, holomorphic=holomorphic)
    if argnums is not None:
        _no_argnums_with_x(argnums, "grad")
    if not (has_aux is False and holomorphic is False and type(chunk) is str and chunk == "auto"
            and (mode == "reverse" or mode == "forward") and callable(f)):
        # (the defaults pass every check: on scalar code the call is a tenth of the cost)
        _check_args("grad", f, mode=mode, chunk=chunk, has_aux=has_aux, holomorphic=holomorphic)
    aux = _Aux(f, "grad") if has_aux else None
    f = aux or f
    if holomorphic:
        if mode == "reverse":
            g, info = _jacobian_reverse(f, x, full_output, holomorphic=True, scalar_output=True)
        else:
            g, passes, ops, n, m, k = _jacobian_holomorphic_forward(f, x, chunk, scalar_output=True)
            info = JacobianInfo(passes, "forward", k, ops, n, m, 0)
        return _returns(aux, x, g, info) if full_output else _returns(aux, x, g)
    if mode == "reverse":
        rec = None
        if type(x) is tuple and not full_output and aux is None:
            g, rec = _reverse_grad_of_leaves(f, x)
            if g is not None:
                return g
        leaves, treedef = _leaves(x)
        meter = MemoryInfo() if full_output else None
        if rec is None:
            rec = _Recording(f, leaves, treedef, "grad", meter=meter)
        if rec.out_shape != ():
            raise _scalar_output_error(rec.out_shape, fn=f)
        value = rec.value
        one: Any
        if type(value) is LazyVar:  # never computed: ȳ = 1 from its dtype (real floating)
            one = 1.0 if value.dtype == np.float64 else value.dtype.type(1)
        elif type(value) is float or type(value) is np.float64:  # real float64: ȳ = 1.0
            # (a Python float rather than np.float64: the same number, and the sweep's scalar
            # arithmetic then runs as Python floats, several times cheaper than numpy scalars')
            one = 1.0
        else:
            if is_complex(value):
                raise _complex_output_error()
            # ȳ = 1 in the output's precision, so a float32 loss gets float32 gradients.
            value = _concrete(value)
            one = value.dtype.type(1) if isinstance(value, (np.ndarray, np.generic)) else 1.0
        # f's value is not returned: let it go before the sweep. Under an outer forward pass its
        # tangent was never computed (see dual.Deferred), and what that would have read is freed.
        rec.value = value = None
        try:
            g = unflatten(treedef, [np.float64(c) if type(c) is float else _finish(c)
                                    for c in rec.sweep(one, last=True)])
            if not full_output:
                return g if aux is None else _returns(aux, x, g)
            n = _size(leaves)
            assert meter is not None
            return _returns(aux, x, g, JacobianInfo(1, "reverse", None, rec.operations, n, 1,
                                                    meter.peak_bytes))
        finally:
            # aux has been read: a value of f never computed by now never will be (a Var that
            # escaped f says so when read, rather than computing from arrays changed since)
            if rec.tag.lazy:
                rec.tag.lazy = None
    if type(x) is tuple and not full_output and aux is None and type(chunk) is str and chunk == "auto":
        g = _forward_grad_of_floats(f, x)
        if g is not None:
            return g
    g, passes, ops, n, m, k = _jacobian_forward_any(f, x, chunk, scalar_output=True)
    if full_output:
        return _returns(aux, x, g, JacobianInfo(passes, "forward", k, ops, n, m, 0))
    return g if aux is None else _returns(aux, x, g)


def _forward_grad_of_floats(f: Callable, x: tuple) -> Any:
    """``grad(f, x, mode="forward")`` for x a tuple of 2 to 16 Python floats (the worked
    example), or None, having run nothing, for any other x.

    The one pass of n directions that :func:`_jacobian_forward` runs (the same seeds, the
    identity's columns), its gradient read off the tangent as it would read it; anything else
    that pass gives (a float32 or complex f, a non-scalar f, traced tangents) goes on through
    _jacobian_forward with the pass already run, so f runs once either way.
    """
    n = len(x)
    if n < 2 or n > 16:
        return None
    for v in x:
        if type(v) is not float:
            return None
    leaves, treedef = flatten(x)
    value, t, count = first = _forward_pass(f, leaves, treedef, _scalar_seeds(n), n, "jacobian")
    if (type(value) in _FLOAT64 and type(t) is np.ndarray and t.dtype is _F64
            and t.shape == (n,)):
        return tuple([np.float64(v) for v in t.tolist()])  # (list(t) is slower)
    return _jacobian_forward(f, x, "auto", True, real_output=True, flat=(leaves, treedef),
                             first=first)[0]


def value_and_grad(f: Callable, x: Any = _NO_X, mode: str = "reverse",
                   chunk: Union[int, str] = "auto",
                   *, has_aux: bool = False, argnums: Any = None) -> Any:
    """``(f(x), ∇f(x))`` for a scalar f, from one recording (reverse mode) as in JAX.

    The gradient has x's shape and structure, as from :func:`grad`. With ``has_aux=True`` f
    returns ``(loss, aux)`` and the result is ``((loss, aux), gradient)``.

    >>> import dualdiff as dd, numpy as np
    >>> loss, g = dd.value_and_grad(lambda w: np.sum(w ** 2), np.array([1.0, 2.0]))
    >>> float(loss), g
    (5.0, array([2., 4.]))
    """
    if x is _NO_X:
        return _curried(value_and_grad, f, argnums, mode=mode, chunk=chunk, has_aux=has_aux)
    _no_argnums_with_x(argnums, "value_and_grad")
    _check_args("value_and_grad", f, mode=mode, chunk=chunk, has_aux=has_aux)
    inner = _Aux(f, "value_and_grad") if has_aux else f

    def loss_and_output(z: Any) -> Any:  # the loss to differentiate, and f's output kept aside
        loss = inner(z)
        return loss, ((loss, inner.got[0]) if has_aux else loss)  # type: ignore[union-attr]

    g, out = grad(loss_and_output, x, mode=mode, chunk=chunk, has_aux=True)
    return ((_finish(out[0]), out[1]) if has_aux else _finish(out)), g


def _jacobian_forward_any(f: Callable, x: Any, chunk: Union[int, str], scalar_output: bool = False):
    """:func:`_jacobian_forward`, for complex inputs too.

    A real-valued f of complex z gets J = ∂f/∂x − i·∂f/∂y (so grad agrees with reverse mode): one
    set of passes along the real parts, one along the imaginary parts (seeds times i).
    """
    flat = _leaves(x)
    leaves = flat[0]
    for leaf in leaves:  # (a loop: a generator's resumptions cost more than the test)
        if type(leaf) is not float and is_complex(leaf):
            break
    else:
        return _jacobian_forward(f, x, chunk, scalar_output, real_output=scalar_output, flat=flat)
    J1, p1, o1, n, m, k = _jacobian_forward(f, x, chunk, scalar_output, real_output=True)
    J2, p2, o2, *_ = _jacobian_forward(f, x, chunk, scalar_output, real_output=True,
                                       phase=[1j if is_complex(leaf) else 0.0 for leaf in leaves])
    parts1, treedef = flatten(J1)
    J = unflatten(treedef, [_finish(a - 1j * b) for a, b in zip(parts1, flatten(J2)[0])])
    return J, p1 + p2, o1 + o2, n, m, k


def _jacobian_forward(f: Callable, x: Any, chunk: Union[int, str], scalar_output: bool = False,
                      real_output: bool = False, phase: Optional[List[Any]] = None,
                      flat: Optional[Tuple[List[Any], Any]] = None, first: Optional[tuple] = None):
    """J by forward passes over the seed directions; returns (J, passes, operations, n, m, chunk).

    ``phase[i]`` multiplies leaf i's seeds (1j: along the imaginary parts); ``real_output``
    refuses a complex f(x). ``flat``: ``_leaves(x)`` when the caller has it already; ``first``:
    what the first pass returned, when the caller ran it already (see _forward_grad_of_floats).
    """
    leaves, treedef = _leaves(x) if flat is None else flat
    n = 0
    for leaf in leaves:
        n += 1 if type(leaf) is float else leaf.size if type(leaf) is np.ndarray else math.prod(shape_of(leaf))
    k = auto_chunk(n) if type(chunk) is str and chunk == "auto" else _resolve_chunk(chunk, n)
    if n == 0:  # nothing to seed: one plain evaluation gives the output's shape
        out_shape = shape_of(_output(f(unflatten(treedef, leaves))))
        if scalar_output and out_shape != ():
            raise _scalar_output_error(out_shape, fn=f)
        parts = [np.zeros(out_shape + shape_of(leaf)) for leaf in leaves]
        return unflatten(treedef, parts), 0, 0, 0, math.prod(out_shape), k
    chunked = k > 1
    blocks = []  # (columns, tangents as a (len(columns), m) block)
    value = None
    ops = 0
    # One pass over a few float64 inputs (a point given as floats, or one small vector): the
    # seeds are the identity's columns, exactly as seed_directions and _split_seed cut them,
    # and a gradient is read off the tangent as the general assembly below would cut it, without
    # the bookkeeping of either.
    scalars = k == n and phase is None
    for leaf in leaves if scalars else ():
        if type(leaf) not in _FLOAT64:
            scalars = False
            break
    vector = (not scalars and chunked and k == n and phase is None and len(leaves) == 1
              and type(leaves[0]) is np.ndarray and leaves[0].dtype == np.float64)
    if scalars and chunked:
        passes: Any = [(range(n), _scalar_seeds(n))]
    elif scalars:
        passes = [(range(n), [1.0])]
    elif vector:
        passes = [(range(n), [_vector_seed(leaves[0])])]
    else:
        passes = ((columns, _split_seed(S, leaves, chunked))
                  for S, columns in seed_directions(n, k, _seed_dtype(leaves)))
    for columns, seeds in passes:
        if phase is not None:
            seeds = [t * p for t, p in zip(seeds, phase)]
        if first is not None:
            (value, tangent, count), first = first, None
        else:
            value, tangent, count = _forward_pass(f, leaves, treedef, seeds,
                                                  len(columns) if chunked else None, "jacobian")
        ops += count
        if type(value) is float:  # (nothing to check: real, scalar)
            pass
        elif real_output and is_complex(value):
            raise _complex_output_error() if scalar_output else _complex_jacobian_error()
        elif scalar_output and shape_of(value) != ():
            raise _scalar_output_error(shape_of(value), fn=f)
        blocks.append((columns, tangent))
    if (scalars or vector) and scalar_output:
        t = blocks[0][1]
        if type(t) is np.ndarray and t.dtype is not _F64 and t.dtype != _F64:  # (float32 f, ...)
            t = t.astype(np.float64)  # a gradient has its input's dtype, as in reverse mode
        if chunked and type(t) is np.ndarray and t.shape == (n,):
            if scalars:  # (numpy scalars made from tolist()'s floats: list(t) is slower)
                return unflatten(treedef, [np.float64(v) for v in t.tolist()]), 1, ops, n, 1, k
            # (the tangent is the gradient unless it is a seed or another value's view)
            g = (t if _fresh_array(t) else np.array(t)).reshape(leaves[0].shape)
            return unflatten(treedef, [g]), 1, ops, n, 1, k
        if scalars and not chunked and type(t) in _FLOAT64:
            return unflatten(treedef, [np.float64(t)]), 1, ops, n, 1, k
    out_shape = shape_of(value)
    m = math.prod(out_shape)
    traced = any(is_traced(t) for _, t in blocks)
    if (not chunked and type(blocks[0][0]) is range and traced
            and all(shape_of(leaf) == () for leaf in leaves)):
        # Scalar leaves, one direction per pass (a handful of scalars, being compiled or inside
        # another derivative): pass i's tangent is leaf i's block as it stands.
        parts = [_finish(t) for _, t in blocks]
        return unflatten(treedef, parts), len(blocks), ops, n, m, k
    if traced and type(blocks[0][0]) is range:
        # A Jacobian inside another derivative (or being compiled), blocks in order: joined
        # as in the plain case below, one operation instead of one per column.
        ts = [t if is_traced(t) or not chunked else np.asarray(t) for _, t in blocks]
        joined = ts[0] if chunked and len(ts) == 1 else (F.concatenate(ts) if chunked else F.stack(ts))
        Jt = F.reshape(joined, (n, m))
    elif traced:  # seeds out of order: scattered row by row
        rows: List[Any] = [None] * n
        for columns, t in blocks:
            t = F.reshape(t, (len(columns), m))
            for i, c in enumerate(columns):
                rows[c] = t[i]
        Jt = F.stack(rows)
    else:
        # Stacking the blocks in order is much cheaper than scattering them one by one (numpy's
        # per-call overhead dominates for small n); seeds that come out of order are scattered.
        tangents = [t for _, t in blocks]
        if chunked and len(tangents) == 1 and _fresh_array(tangents[0]):
            Jt = tangents[0]  # one pass: its tangent is J already, a copy would be one more pass
        else:
            Jt = np.concatenate(tangents) if chunked else np.array(tangents)
        Jt = Jt.reshape(n, m)
        if type(blocks[0][0]) is not range:  # ranges come consecutive and in order
            order = [c for columns, _ in blocks for c in columns]
            scattered = np.empty_like(Jt)
            scattered[order] = Jt
            Jt = scattered
    J = _shape_jacobian(Jt, out_shape, leaves, treedef)
    if scalar_output:  # a gradient has its input's dtype, as in reverse mode
        J = unflatten(treedef, [_finish(_like_input(g, leaf))
                                for g, leaf in zip(flatten(J, "the gradient")[0], leaves)])
    return J, len(blocks), ops, n, m, k


_FLOAT64 = (float, np.float64)
_F64 = np.dtype(np.float64)
# The seeds of n float64 scalars in one pass, kept for small n like the identity they view.
_SCALAR_SEEDS: "dict[int, List[np.ndarray]]" = {}


def _scalar_seeds(n: int) -> List[np.ndarray]:
    """The identity's n columns (read-only views), as _split_seed cuts them for n scalar leaves."""
    seeds = _SCALAR_SEEDS.get(n)
    if seeds is None:
        eye = identity_seed(n, float)
        seeds = [eye[:, i] for i in range(n)]
        if n <= 16:
            _SCALAR_SEEDS[n] = seeds
    return seeds


def _vector_seed(x: np.ndarray) -> np.ndarray:
    """The seed of one pass over all of a float64 array x's directions: the cached identity,
    shaped (x.size,) + x.shape. One place, so that a pass the one-pass Hessian runs is the pass
    _jacobian_forward would run when it is handed over (``first=``)."""
    n = x.size
    eye = identity_seed(n, float)
    return eye if x.ndim == 1 else eye.reshape((n,) + x.shape)


def _fresh_array(t: Any) -> bool:
    """A tangent the pass computed into memory of its own, so the result may be it.

    Not a seed (a view of the identity), a read-only broadcast or anything else's view; the
    pass's temporaries own their memory and nobody else keeps them.
    """
    return type(t) is np.ndarray and owns_memory(t)


def _shape_jacobian(Jt: Any, out_shape: tuple, leaves: List[Any], treedef: Any) -> Any:
    """Cut the (n, m) transposed Jacobian into one f(x).shape + leaf.shape block per leaf."""
    traced = is_traced(Jt)
    parts = []
    whole = len(leaves) == 1  # one leaf: its block is all of Jt, no slicing needed
    for shape, cut in pieces(leaves):
        block = Jt if whole else Jt[cut]
        if traced:
            parts.append(_finish(F.reshape(F.transpose(block), out_shape + shape)))
        else:
            parts.append(_finish(block.T.reshape(out_shape + shape)))
    return unflatten(treedef, parts)


def _jacobian_reverse(f: Callable, x: Any, measure: bool = False, holomorphic: bool = False,
                      scalar_output: bool = False):
    leaves, treedef = _leaves(x)
    if holomorphic:
        _check_holomorphic_input(leaves)
    meter = MemoryInfo() if measure else None
    rec = _Recording(f, leaves, treedef, "jacobian", meter=meter)
    out_shape = rec.out_shape
    if scalar_output and out_shape != ():
        raise _scalar_output_error(out_shape, fn=f)
    m = math.prod(out_shape)
    rows = []
    value = _concrete(rec.value)
    complex_out = is_complex(value)
    if holomorphic and not complex_out:
        raise _real_output_holomorphic_error()
    if complex_out and not holomorphic and any(is_complex(leaf) for leaf in leaves):
        raise _complex_jacobian_error()
    # float32 stays float32
    dtype = value.dtype if type(value) is np.ndarray else (complex if complex_out else float)
    for i in range(m):
        ybar = np.zeros(m, dtype=dtype)
        ybar[i] = 1.0
        row = rec.sweep(ybar.reshape(out_shape))
        if holomorphic:
            # For a holomorphic f the cotangent of i·ȳ is i times that of ȳ (ȳ·f′(z), no
            # conjugate): the Cauchy–Riemann equations, checked rather than assumed.
            ybar[i] = 1j
            _check_cauchy_riemann(row, rec.sweep(ybar.reshape(out_shape)), f"for output {i}")
        elif complex_out:
            # A real x's cotangent from ȳ = e_i is Re J_i, from ȳ = i·e_i it is −Im J_i.
            ybar[i] = 1j
            row = [a - 1j * b for a, b in zip(row, rec.sweep(ybar.reshape(out_shape)))]
        rows.append(row)
    parts = []
    for j, leaf in enumerate(leaves):
        shape = shape_of(leaf)
        cols = [r[j] for r in rows]
        if not cols:  # f(x) is empty: no rows to sweep
            parts.append(np.zeros(out_shape + shape))
        elif any(is_traced(c) for c in cols):
            parts.append(_finish(F.reshape(F.stack(cols), out_shape + shape)))
        else:
            parts.append(_finish(np.stack([np.asarray(c) for c in cols]).reshape(out_shape + shape)))
    n = _size(leaves)
    info = JacobianInfo(rec.sweeps, "reverse", None, rec.operations, n, m,
                        meter.peak_bytes if meter is not None else None)
    return unflatten(treedef, parts), info


def jacobian(f: Callable, x: Any = _NO_X, mode: str = "forward", chunk: Union[int, str] = "auto",
             full_output: bool = False, *, sparse: Any = None, executor: Any = None,
             format: str = "csr", has_aux: bool = False, holomorphic: bool = False,
             argnums: Any = None) -> Any:
    """The Jacobian ``J[i..., j...] = ∂f_i/∂x_j``, shape ``f(x).shape + x.shape``.

    ``mode="forward"`` seeds ``chunk`` input directions per pass and builds J column by column:
    ``ceil(x.size / chunk)`` passes (``chunk="auto"``, the default: see :func:`auto_chunk`;
    ``chunk=1``: x.size passes of one direction). ``mode="reverse"`` records f once and sweeps back once per output
    element, row by row: f(x).size passes. With ``full_output=True`` returns ``(J, info)``, info
    a :class:`JacobianInfo` (passes, operations, peak bytes kept by the tape). x may be a tuple/dict of arrays: J is then the same structure of
    per-leaf Jacobians. With ``has_aux=True`` f returns ``(output, aux)`` and aux is appended,
    undifferentiated: ``(J, aux)`` (``(J, info, aux)`` with full_output). ``mode="auto"`` picks forward mode when x.size <= f(x).size (or, when
    sparse, when the columns need no more colours than the rows), else reverse; ``info.mode``
    says which ran.

    ``sparse=True`` detects J's pattern (:func:`sparsity`), colours it and computes J with one
    compressed direction per colour; ``sparse=`` a pattern (from :func:`sparsity`, a
    scipy.sparse matrix or a boolean array) or a :class:`Coloring` reuses it. A sparse J is a
    2-d ``scipy.sparse.csr_array`` of shape (f(x).size, x.size), or with ``format="coo"`` plain
    numpy triplets (data, row, col, shape). ``executor=`` (any concurrent.futures.Executor) runs
    the passes there, one task per block of ``chunk`` seeds. See docs/sparse.md.

    ``holomorphic=True`` (complex x, complex f, as in JAX): J is the complex derivative
    f′(z), from twice the passes: along each input's real direction and, as a check, along
    its imaginary one, which for a holomorphic f gives i·J; where it does not (f is not
    holomorphic at x: abs, conj, real, ...) a ValueError says so. See docs/complex.md.

    >>> import dualdiff as dd, numpy as np
    >>> f = lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1])
    >>> J, info = dd.jacobian(f, [2, 5], chunk=2, full_output=True)
    >>> J, info.passes
    (array([5.5       , 1.71633781]), 1)
    """
    if x is _NO_X:
        return _curried(jacobian, f, argnums, mode=mode, chunk=chunk, full_output=full_output,
                        sparse=sparse, executor=executor, format=format, has_aux=has_aux,
                        holomorphic=holomorphic)
    _no_argnums_with_x(argnums, "jacobian")
    _check_args("jacobian", f, mode=mode, chunk=chunk, has_aux=has_aux,
                modes=("forward", "reverse", "auto"), holomorphic=holomorphic)
    aux = _Aux(f, "jacobian") if has_aux else None
    f = aux or f
    if holomorphic:
        if sparse is not None or executor is not None or mode == "auto":
            raise TypeError("holomorphic=True takes the dense forward or reverse Jacobian: "
                            "sparse, executor and mode='auto' Jacobians take real x")
        if mode == "forward":
            J, passes, ops, n, m, k = _jacobian_holomorphic_forward(f, x, chunk)
            info = JacobianInfo(passes, "forward", k, ops, n, m, 0)
        else:
            J, info = _jacobian_reverse(f, x, full_output, holomorphic=True)
        return _returns(aux, x, J, info) if full_output else _returns(aux, x, J)
    if sparse is not None or executor is not None or mode == "auto":
        if any(is_complex(leaf) for leaf in _leaves(x)[0]):
            raise TypeError("sparse, executor and mode='auto' Jacobians take real x; use the "
                            "dense jacobian for complex x (see docs/complex.md)")
        out = _compressed_jacobian(f, x, mode, chunk, full_output, sparse, executor, format)
        return _returns(aux, x, *(out if full_output else (out,)))
    if mode == "forward":
        J, passes, ops, n, m, k = _jacobian_forward_any(f, x, chunk)
        info = JacobianInfo(passes, "forward", k, ops, n, m, 0)
    else:
        J, info = _jacobian_reverse(f, x, full_output)
    return _returns(aux, x, J, info) if full_output else _returns(aux, x, J)


def hessian(f: Callable, x: Any = _NO_X, *, sparse: Any = None, executor: Any = None,
            format: str = "csr", full_output: bool = False, argnums: Any = None) -> Any:
    """The Hessian ``H[i..., j...] = ∂²f/∂x_i∂x_j`` of a scalar f, shape ``x.shape + x.shape``.

    Forward over reverse: the forward-mode Jacobian of the reverse-mode gradient. Tags keep the
    two perturbations apart. ``sparse=True`` detects H's pattern (:func:`hessian_sparsity`),
    star-colours it and reads each nonzero once from the compressed products (``sparse=`` a
    pattern or a :class:`Coloring` reuses one); the result is then a
    ``scipy.sparse.csr_array`` of shape (x.size, x.size) (``format="coo"``: triplets).
    ``executor=`` runs the passes on a concurrent.futures.Executor. ``full_output=True`` returns
    ``(H, info)``.

    x may be a tuple or dict of parameters (dense Hessians only): H is then nested blocks,
    ``H[i][j] = ∂²f/∂x_i∂x_j`` of shape ``x[i].shape + x[j].shape``, a tuple of tuples or a
    dict of dicts keyed like x (``H[i][j]`` is ``H[j][i]`` transposed).

    >>> import dualdiff as dd, numpy as np
    >>> dd.hessian(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    if x is _NO_X:
        return _curried(hessian, f, argnums, sparse=sparse, executor=executor, format=format,
                        full_output=full_output)
    _no_argnums_with_x(argnums, "hessian")
    _check_args("hessian", f)
    if isinstance(x, (tuple, dict)):
        if sparse is not None or executor is not None:
            raise TypeError("sparse and executor Hessians take one array x, not a tuple/dict; "
                            "concatenate the parameters into one vector")
        return _hessian_blocks(f, x, full_output)
    xv = as_value(x, "x")
    if is_complex(xv):
        raise TypeError("hessian of a function of complex x: the derivative of the gradient is "
                        "not complex-linear in the direction, so it is no complex matrix. Use "
                        "dd.hvp(f, x, v) for its action on a direction v, or pass the real and "
                        "imaginary parts as separate real inputs; see docs/complex.md")
    if sparse is not None:
        out = _compressed_hessian(partial(_gradient_for, "hessian", f), xv, sparse, executor, format)
        return out if full_output else out[0]
    if (type(xv) is np.ndarray and xv.dtype is _F64 and xv.ndim and executor is None
            and not full_output and 0 < xv.size * xv.size <= AUTO_CHUNK_ELEMENTS):
        return _hessian_one_pass(f, xv)
    return jacobian(partial(_gradient_for, "hessian", f), xv, mode="forward", chunk="auto", executor=executor,
                    full_output=full_output)


def _hessian_one_pass(f: Callable, x: np.ndarray) -> Any:
    """The dense Hessian of f at a float64 array x whose n directions fit one forward pass
    (n·n ≤ AUTO_CHUNK_ELEMENTS): what ``jacobian(grad f, x, mode="forward", chunk="auto")``
    computes, from the same pass over the identity's columns, without the general path's
    layers (12 µs, 4%, of an n = 100 Hessian of Rosenbrock's function). Any gradient but a float64
    array of x's shape whose tangent is a plain float64 array goes on through
    :func:`_jacobian_forward`, with the pass already run: f runs once either way.
    """
    n = x.size
    grad_f = partial(_gradient_for, "hessian", f)
    first = _forward_pass(grad_f, [x], None, [_vector_seed(x)], n, "jacobian")
    g, t = first[0], first[1]
    if (type(g) is np.ndarray and type(t) is np.ndarray and t.dtype is _F64
            and g.shape == x.shape and t.shape == (n,) + x.shape):
        # t[j] = ∂g/∂x_j, so H is t's transpose; a seed (g = x) or any other view is copied
        # first, as the general assembly copies it.
        Jt = (t if _fresh_array(t) else np.array(t)).reshape(n, n)
        return Jt.T.reshape(x.shape + x.shape)
    return _jacobian_forward(grad_f, x, "auto", flat=([x], None), first=first)[0]


def _hessian_blocks(f: Callable, x: Any, full_output: bool) -> Any:
    """The Hessian of f over a tuple/dict x, as blocks H[i][j] (shape x[i].shape + x[j].shape)."""
    leaves, treedef = _leaves(x)
    if any(is_complex(leaf) for leaf in leaves):
        raise TypeError("hessian of a function of complex x is no complex matrix: use dd.hvp "
                        "(see docs/complex.md)")

    def flat_grad(z: Any) -> Any:  # one vector, so that one forward Jacobian gives every row
        return F.concatenate([F.reshape(g, (-1,)) for g in flatten(_gradient_for("hessian", f, z), "the gradient")[0]])

    J, info = jacobian(flat_grad, x, mode="forward", chunk="auto", full_output=True)
    columns = flatten(J, "the Jacobian")[0]  # per leaf j: (n,) + x[j].shape
    H = unflatten(treedef, [
        unflatten(treedef, [_finish(np.reshape(col[cut], shape + shape_of(xj)))
                            for col, xj in zip(columns, leaves)])
        for shape, cut in pieces(leaves)])
    return (H, info) if full_output else H


def hvp(f: Callable, x: Any = _NO_X, v: Any = _NO_X) -> Any:
    """The Hessian-vector product ``H(x) @ v`` in one forward-over-reverse pass; x's shape.
    ``hvp(f)`` is the function ``(x, v) -> H(x) @ v`` (scipy's ``hessp=``).

    >>> import dualdiff as dd, numpy as np
    >>> dd.hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    if x is _NO_X or v is _NO_X:
        if x is not _NO_X:
            raise TypeError("hvp(f, x, v) needs v, the direction H(x) is applied to (x's shape)")
        _check_callable(f, "hvp")
        return partial(hvp, f)
    _check_args("hvp", f)
    leaves, treedef = _leaves(x)
    if treedef is None:
        return jvp(partial(_gradient_for, "hvp", f), x, v)[1]

    # A tuple/dict x: the gradient is a container too; join it into one vector inside the
    # forward pass and cut the resulting tangent back into x's structure.
    def flat_grad(z):
        return F.concatenate([F.reshape(g, (-1,)) for g in flatten(_gradient_for("hvp", f, z), "the gradient")[0]])

    flat = jvp(flat_grad, x, v)[1]
    if is_traced(flat):
        return unflatten(treedef, [_finish(F.reshape(flat[cut], shape)) for shape, cut in pieces(leaves)])
    flat = np.asarray(flat)
    return unflatten(treedef, [_finish(flat[cut].reshape(shape)) for shape, cut in pieces(leaves)])


# --------------------------------------------------------------------------------------------
# Sparse Jacobians and Hessians, mode="auto", executors (the machinery is in compression.py)
# --------------------------------------------------------------------------------------------

def _seed_dtype(leaves: List[Any]) -> Any:
    """Seeds in the inputs' precision, so float32 inputs get float32 Jacobians, as in numpy."""
    dtypes = {_concrete(leaf).dtype for leaf in leaves
              if isinstance(_concrete(leaf), (np.ndarray, np.generic))}
    return np.result_type(*dtypes) if dtypes and dtypes != {np.dtype(float)} else float


def _size(leaves: List[Any]) -> int:
    return sum(math.prod(shape_of(leaf)) for leaf in leaves)


def _compressed_jacobian(f: Callable, x: Any, mode: str, chunk: Union[int, str],
                         full_output: bool, sparse: Any, executor: Any, fmt: str) -> Any:
    leaves, treedef = _leaves(x)
    n = _size(leaves)
    _resolve_chunk(chunk, 1)  # a bad chunk is an error whatever the mode

    def evaluate() -> Any:
        return _output(f(unflatten(treedef, leaves)))

    value, J, fields = compressed_jacobian(
        f, leaves, treedef, n, mode=mode, sparse=sparse, executor=executor, fmt=fmt,
        dtype=_seed_dtype(leaves), seeds=seed_directions, forward_task=_forward_task,
        reverse_task=_reverse_task, evaluate=evaluate,
        chunk=lambda directions: _executor_chunk(chunk, directions, executor))
    if type(J) is np.ndarray:  # dense: shaped as jacobian's other paths shape it
        J = _shape_jacobian(J.T, shape_of(value), leaves, treedef)
    info = JacobianInfo(**fields)
    return (J, info) if full_output else J


def _executor_chunk(chunk: Union[int, str], directions: int, executor: Any) -> int:
    """Directions per pass; with an executor, ``"auto"`` also leaves work for every worker."""
    k = _resolve_chunk(chunk, max(directions, 1))
    if executor is not None and chunk == "auto":
        k = min(k, tasks_chunk(directions, executor))
    return k


def _compressed_hessian(gradient: Callable, x: Any, sparse: Any, executor: Any, fmt: str) -> Any:
    leaves = [x]
    n = _size(leaves)
    H, fields = compressed_hessian(
        gradient, leaves, n, sparse=sparse, executor=executor, fmt=fmt,
        dtype=_seed_dtype(leaves), seeds=seed_directions, forward_task=_forward_task,
        chunk=lambda directions: _executor_chunk("auto", directions, executor),
        hessian_pattern=lambda: detect(gradient, leaves, None)[0])
    return H, JacobianInfo(**fields)


def _pattern_result(pattern: Any, fmt: str) -> Any:
    if fmt not in ("csr", "coo"):
        raise ValueError(f"format must be 'csr' or 'coo', not {fmt!r}")
    return pattern.to_coo() if fmt == "coo" else pattern.to_scipy()


def sparsity(f: Callable, x: Any, local: bool = False, format: str = "csr") -> Any:
    """The nonzero pattern of f's Jacobian at x: a boolean (f(x).size, x.size) sparse matrix.

    Found exactly by one run of f in which every tangent element is the set of inputs it
    depends on, pushed through each primitive's own tangent rule. The pattern is *global*
    (valid at every x: both sides of ``where``, ``maximum``, ``abs`` count) unless
    ``local=True``, which gives the pattern at this x. A ``scipy.sparse.csr_array``, or with
    ``format="coo"`` the numpy triplets (data, row, col, shape).

    >>> import dualdiff as dd, numpy as np
    >>> dd.sparsity(lambda x: x[1:] - x[:-1], np.ones(4)).toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    _check_callable(f, "sparsity")
    leaves, treedef = _leaves(x)
    return _pattern_result(detect(f, leaves, treedef, local=local)[0], format)


def hessian_sparsity(f: Callable, x: Any, local: bool = False, format: str = "csr") -> Any:
    """The nonzero pattern of the Hessian of a scalar f at x: which pairs (i, j) interact.

    The Jacobian pattern of f's reverse-mode gradient, found as in :func:`sparsity` (forward
    over reverse, one recording); a boolean (x.size, x.size) sparse matrix.

    >>> import dualdiff as dd, numpy as np
    >>> f = lambda x: np.sum(x[1:] * x[:-1]) + np.sum(x ** 3)
    >>> dd.hessian_sparsity(f, np.ones(3)).toarray().astype(int)
    array([[1, 1, 0],
           [1, 1, 1],
           [0, 1, 1]])
    """
    _check_callable(f, "hessian_sparsity")
    xv = as_value(x, "x") if not isinstance(x, (tuple, dict)) else None
    if xv is None:
        raise TypeError("hessian_sparsity takes a number or an array x, not a tuple/dict")
    return _pattern_result(detect(partial(_gradient_for, "hessian_sparsity", f), [xv], None, local=local)[0], format)
