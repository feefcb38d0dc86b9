"""``dd.compile``: record a function once through the table, then replay generated Python code.

A call of a compiled function first tries its cached *specialisations*, most recently used
first. Each is one generated Python function that checks the input structure (types, shapes,
dtypes, container layout, the values of non-float arguments), computes the recorded program,
checks the recorded guards (every ``bool()`` of traced data, every ``float()``/``int()``) where
their values are computed, and returns the outputs. The first specialisation whose checks all
pass gives the result. When none does, the function is recorded again on these inputs
(:mod:`dualdiff.staging`), turned into code (:mod:`dualdiff.codegen`) and added to the cache,
which keeps at most ``max_specialisations`` of them (the least recently used is dropped).
"""

from __future__ import annotations

import builtins
import functools
import itertools
import linecache
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import buffers
from .codegen import Miss, Program, frozen_copy, generate
from .primitives import is_traced, leaked_error
from .staging import Staged, StagingError, StagingTag

__all__ = ["compile", "Compiled", "CompileStats"]

#: Specialisations a compiled function keeps by default (different shapes, dtypes, branches).
MAX_SPECIALISATIONS = 8


@dataclass(frozen=True)
class CompileStats:
    """What one specialisation runs, against what the recording ran.

    ``recorded``: operations the staging interpreter received (what one eager call interprets
    at the bottom level). ``emitted``: operations in the generated code after simplification,
    common-subexpression elimination and dead-code removal. ``lowered``: of those, the ones
    run as an operator, a ``math`` function, a ufunc or a view rather than a call of the
    primitive's impl; ``inplace``: the ones writing into a dying temporary. ``guards``: recorded
    value checks. ``constants``/``constant_bytes``: values folded into the code.
    """

    recorded: int
    emitted: int
    lowered: int
    inplace: int
    guards: int
    constants: int
    constant_bytes: int


class _Spec:
    """One specialisation: the generated function, its source and its statistics."""

    __slots__ = ("run", "source", "stats")

    def __init__(self, run: Callable[..., Any], source: str, stats: CompileStats):
        self.run = run
        self.source = source
        self.stats = stats


_serial = itertools.count()


def _never(*args: Any, **kwargs: Any) -> Any:
    raise Miss


class Compiled:
    """The state behind a compiled function: its specialisations and recordings.

    ``dd.compile`` returns a plain function (the cheapest thing to call) whose attributes
    ``source``, ``stats``, ``clear`` are this object's methods and whose ``recordings`` and
    ``specialisations`` it keeps up to date.
    """

    def __init__(self, fn: Callable[..., Any], max_specialisations: int = MAX_SPECIALISATIONS):
        if not callable(fn):
            raise TypeError(f"dd.compile takes a function, not {type(fn).__name__}")
        if isinstance(max_specialisations, bool) or not isinstance(max_specialisations, int) \
                or max_specialisations < 1:
            raise ValueError(f"max_specialisations must be a positive int, not {max_specialisations!r}")
        self.fn = fn
        self.max_specialisations = max_specialisations
        self.recordings = 0  # how many times fn was recorded (first call and every guard miss)
        self._specs: List[_Spec] = []
        # The most recently used specialisation's code, called first and directly.
        self.first: List[Callable[..., Any]] = [_never]
        self.wrapper: Any = None
        # Misses reorder the cache and recordings extend it: one thread at a time. The fast
        # path (the first specialisation) takes no lock; any specialisation whose checks pass
        # gives the right result, so a call racing a reordering is still correct.
        self._lock = threading.RLock()

    def function(self) -> Callable[..., Any]:
        """The compiled function users call: the first specialisation, then the others."""
        first = self.first
        miss = self.miss

        def compiled(*args: Any, **kwargs: Any) -> Any:
            try:
                return first[0](*args, **kwargs)
            except Miss:
                pass
            return miss(args, kwargs)  # outside the handler: errors do not chain to the Miss

        functools.update_wrapper(compiled, self.fn)
        compiled.source = self.source  # type: ignore[attr-defined]
        compiled.stats = self.stats  # type: ignore[attr-defined]
        compiled.clear = self.clear  # type: ignore[attr-defined]
        compiled.compiled = self  # type: ignore[attr-defined]
        self.wrapper = compiled
        self._publish()
        return compiled

    def _publish(self) -> None:
        self.first[0] = self._specs[0].run if self._specs else _never
        if self.wrapper is not None:
            self.wrapper.recordings = self.recordings
            self.wrapper.specialisations = len(self._specs)

    def miss(self, args: tuple, kwargs: dict) -> Any:
        """The first specialisation's checks failed: try the others, then record."""
        with self._lock:
            return self._miss(args, kwargs)

    def _miss(self, args: tuple, kwargs: dict) -> Any:
        specs = self._specs
        # From the first again: another thread may have recorded it since this one's fast path.
        for i in range(len(specs)):
            try:
                out = specs[i].run(*args, **kwargs)
            except Miss:
                continue
            if i:
                specs.insert(0, specs.pop(i))  # most recently used first
                self._publish()
            return out
        return self._record(args, kwargs)

    # -- introspection ---------------------------------------------------------------------------
    def _spec_for(self, args: tuple, kwargs: dict) -> _Spec:
        # (on copies of the arrays: a function that writes into its arguments would write into
        # the caller's arrays, which asking for the source or the statistics should not do)
        args, kwargs = _copies(args), _copies(kwargs)
        for spec in self._specs:
            try:
                spec.run(*args, **kwargs)
            except Miss:
                continue
            return spec
        self._record(args, kwargs)
        return self._specs[0]

    def source(self, *args: Any, **kwargs: Any) -> str:
        """The generated Python source of the specialisation these arguments run."""
        return self._spec_for(args, kwargs).source

    def stats(self, *args: Any, **kwargs: Any) -> CompileStats:
        """Operation counts of the specialisation these arguments run (see :class:`CompileStats`)."""
        return self._spec_for(args, kwargs).stats

    def clear(self) -> None:
        """Drop every specialisation: the next call records again (after a closure array changed)."""
        self._specs.clear()
        self._publish()

    # -- recording -------------------------------------------------------------------------------
    def _record(self, args: tuple, kwargs: dict) -> Any:
        if _any_traced((args, kwargs)):
            # Called inside a derivative (or inside another compiled function's recording): run
            # the Python function itself, so the caller's interpreter sees every operation.
            return self.fn(*args, **kwargs)
        tag = StagingTag()
        prologue = _Prologue(tag)
        try:
            sargs = tuple(prologue.walk(a, f"a{i}") for i, a in enumerate(args))
            skw = {k: prologue.walk(v, f"k_{_ident(k)}") for k, v in kwargs.items()}
            prologue.finish(len(args), list(kwargs))
            # (the recording's values are kept, as constants and first results: ordinary
            # arrays, not the eager buffer pool's, which holds memory for reuse across calls)
            with buffers.paused():
                out = self.fn(*sargs, **skw)
        finally:
            tag.active = False
        outputs: List[Any] = []
        template = _output_template(out, tag, outputs)
        # The caller's arrays fn wrote into (x[i] = v, x += v, x.sort()): numpy changes them in
        # the caller's hands, so the code copies their final values into them before it returns.
        written = prologue.written()
        writes = []
        for name, final in written:
            outputs.append(final)
            writes.append((name, len(outputs) - 1))
            prologue.unshared(name)
        program = generate(tag.graph, outputs)
        source, run = _build(self.fn, prologue, program, template, tag, writes)
        graph = tag.graph
        stats = CompileStats(graph.recorded, program.emitted, program.lowered, program.inplace,
                             program.guards, program.constants, program.constant_bytes)
        spec = _Spec(run, source, stats)
        self.recordings += 1
        self._specs.insert(0, spec)
        del self._specs[self.max_specialisations:]
        self._publish()
        # This call's result is the recording's: running the code again would compute it twice.
        values = program.recorded_outputs()
        for (name, index), (_, final) in zip(writes, written):
            np.copyto(prologue.given[name], values[index])
        return _assemble(template, values)


def _copies(x: Any) -> Any:
    """``x`` with each float or complex array in it copied, with its strides (the specialisations
    check them); everything else as it is."""
    if type(x) is np.ndarray and x.dtype.kind in _FLOAT_KINDS:
        return frozen_copy(x, writeable=True)
    if type(x) in (tuple, list):
        return type(x)(_copies(item) for item in x)
    if type(x) is dict:
        return {key: _copies(item) for key, item in x.items()}
    return x


def compile(fn: Optional[Callable[..., Any]] = None, *,
            max_specialisations: int = MAX_SPECIALISATIONS) -> Any:
    """A function that computes what ``fn`` computes, by replaying code generated from one recording.

    ``fn`` takes numbers, arrays, and tuples/lists/dicts of them, and may call any dualdiff
    transform: ``dd.compile(lambda x: dd.grad(f, x))`` compiles the gradient, and the same goes
    for ``jvp``, ``vjp`` (return the pullback's result), ``jacobian``, ``hessian``, a whole
    optimiser step, or a plain numpy function. Results are bitwise equal to calling ``fn``.
    Works as a decorator, with or without arguments.

    Floats, complex numbers and float/complex arrays are the traced inputs; lists of numbers
    are read as arrays. Anything else (ints, strings, functions, integer arrays) is a constant
    of the recording, checked by value (or identity) on every call. What compiling assumes
    (see docs/compile.md): control flow on traced values is guarded and re-recorded when it
    changes; Python side effects that do not touch traced values happen once, at record time;
    arrays the function closes over are frozen at their value at record time.

    The result is a function with these attributes: ``source(*args)`` (the generated code that
    these arguments run), ``stats(*args)`` (a :class:`CompileStats`), ``clear()`` (drop every
    specialisation), ``recordings`` and ``specialisations`` (counts).

    >>> import dualdiff as dd, numpy as np
    >>> f = lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1])
    >>> grad_f = dd.compile(lambda x: dd.grad(f, x))
    >>> grad_f([2.0, 5.0])
    array([5.5       , 1.71633781])
    >>> bool(np.all(grad_f([2.0, 5.0]) == dd.grad(f, [2.0, 5.0])))
    True
    """
    if fn is None:
        return lambda f: Compiled(f, max_specialisations).function()
    return Compiled(fn, max_specialisations).function()


# ------------------------------------------------------------------------------------------------
# Inputs: the structure checks and the staged values
# ------------------------------------------------------------------------------------------------

def _any_traced(x: Any) -> bool:
    if is_traced(x):
        return True
    if type(x) in (tuple, list) or isinstance(x, tuple):
        return any(_any_traced(i) for i in x)
    if isinstance(x, dict):
        return any(_any_traced(v) for v in x.values())
    return False


def _ident(k: Any) -> str:
    s = "".join(c if c.isalnum() else "_" for c in str(k))
    return s or "_"


_FLOAT_KINDS = "fc"
_PLAIN_STATIC = (int, str, bytes, type(None), bool)


class _Prologue:
    """Builds the input-structure checks of a specialisation while staging its inputs."""

    def __init__(self, tag: StagingTag):
        self.tag = tag
        self.lines: List[str] = []
        self.ns: Dict[str, Any] = {}
        self.temps = itertools.count()
        self.arrays: List[Tuple[Staged, Any]] = []  # the caller's arrays, staged, and their nodes
        self.given: Dict[str, np.ndarray] = {}  # the caller's arrays by their names in the code

    def const(self, value: Any) -> str:
        name = f"s{len(self.ns)}"
        self.ns[name] = value
        return name

    def finish(self, nargs: int, kwnames: List[str]) -> None:
        head = [f"if len(args) != {nargs}: raise _Miss"]
        if nargs:
            head.append(f"{', '.join(f'a{i}' for i in range(nargs))}, = args")
        if kwnames:
            head.append(f"if tuple(kwargs) != {self.const(tuple(kwnames))}: raise _Miss")
            head += [f"k_{_ident(k)} = kwargs[{k!r}]" for k in kwnames]
        else:
            head.append("if kwargs: raise _Miss")
        self.lines = head + self.lines

    def _stage(self, value: Any, expr: str) -> Staged:
        s = self.tag.new_input(value)
        self.lines.append(f"v{s.node.id} = {expr}")
        return s

    def unshared(self, name: str) -> None:
        """The array ``name``, which fn writes into, shares memory with no other argument (f(x, x),
        or x and a view of it): the recording read the other one's old values, where numpy's
        write would show through it. Refused when recording; checked on every call after."""
        mine = self.given[name]
        for other, array in self.given.items():
            if other == name:
                continue
            if np.may_share_memory(mine, array):
                raise TypeError(
                    "dd.compile: the function writes into an array that another of its arguments "
                    "shares memory with (f(x, x), or x and a view of it); the compiled code would "
                    "read the other one's old values. Pass a copy, or call the function without "
                    "dd.compile")
            self.lines.append(f"if _may_share({name}, {other}): raise _Miss")

    def written(self) -> List[Tuple[str, Any]]:
        """The caller's arrays that fn wrote into, by their names in the generated code, each
        with the graph node of its final value."""
        return [(f"v{node.id}", s.node) for s, node in self.arrays if s.node is not node]

    def walk(self, x: Any, expr: str) -> Any:
        """Check ``x``'s place in the structure (read from ``expr``) and return what fn receives."""
        t = type(x)
        L = self.lines
        if t is float or t is complex:
            L.append(f"if type({expr}) is not {t.__name__}: raise _Miss")
            return self._stage(x, expr)
        if isinstance(x, np.generic) and x.dtype.kind in _FLOAT_KINDS:
            L.append(f"if type({expr}) is not {self.const(t)}: raise _Miss")
            return self._stage(x, expr)
        if t is np.ndarray:
            if x.dtype.kind in _FLOAT_KINDS:
                # (strides too: numpy's loops, and the layouts of the buffers the code
                # writes into, follow them, and so do the last bits of sums)
                L.append(f"if type({expr}) is not _nd or {expr}.shape != {x.shape!r} or "
                         f"{expr}.strides != {x.strides!r} or "
                         f"{expr}.dtype != {self.const(x.dtype)}: raise _Miss")
                s = self._stage(x, expr)
                # A write into it reaches the caller's array as numpy's does, through it into its
                # base when it is a view (x.T, x[::2]): the code copies the final value back.
                s._fresh = True
                self.arrays.append((s, s.node))
                self.given[f"v{s.node.id}"] = x
                return s
            # Integer and boolean arrays (indices, masks) are constants, checked by value.
            c = self.const(np.array(x))
            L.append(f"if type({expr}) is not _nd or {expr}.dtype != {c}.dtype or "
                     f"{expr}.shape != {c}.shape or not _array_equal({expr}, {c}): raise _Miss")
            return x
        if t is list and x and _numbers(x):
            arr = np.asarray(x)
            if arr.dtype.kind in _FLOAT_KINDS:
                tmp = f"t{next(self.temps)}"
                L.append(f"if type({expr}) is not list or len({expr}) != {len(x)}: raise _Miss")
                L.append(f"{tmp} = _asarray({expr})")
                L.append(f"if {tmp}.shape != {arr.shape!r} or {tmp}.dtype != {self.const(arr.dtype)}: raise _Miss")
                return self._stage(arr, tmp)
        if t is tuple or t is list or (isinstance(x, tuple) and hasattr(x, "_fields")):
            tmp = f"t{next(self.temps)}"
            kind = t.__name__ if t in (tuple, list) else self.const(t)
            L.append(f"{tmp} = {expr}")
            L.append(f"if type({tmp}) is not {kind} or len({tmp}) != {len(x)}: raise _Miss")
            items = [self.walk(item, f"{tmp}[{i}]") for i, item in enumerate(x)]
            return t(*items) if t not in (tuple, list) else t(items)
        if t is dict:
            tmp = f"t{next(self.temps)}"
            L.append(f"{tmp} = {expr}")
            L.append(f"if type({tmp}) is not dict or tuple({tmp}) != {self.const(tuple(x))}: raise _Miss")
            return {k: self.walk(v, f"{tmp}[{self.const(k)}]") for k, v in x.items()}
        if t in _PLAIN_STATIC or (isinstance(x, np.generic)):
            # Ints (sizes, axes), strings, None: part of the specialisation, compared by value.
            L.append(f"if type({expr}) is not {self.const(t)} or {expr} != {self.const(x)}: raise _Miss")
            return x
        if t is list:  # a list of ints (an index list, a shape): compared by value
            L.append(f"if type({expr}) is not list or {expr} != {self.const(list(x))}: raise _Miss")
            return x
        if isinstance(x, np.ndarray):
            raise TypeError(f"dd.compile takes plain numpy arrays, not {t.__name__}; convert "
                            f"with np.asarray (a masked array's mask would be lost silently)")
        # Functions, modules, other objects: the same object every call.
        L.append(f"if {expr} is not {self.const(x)}: raise _Miss")
        return x


def _numbers(x: list) -> bool:
    for item in x:
        t = type(item)
        if t is list:
            if not item or not _numbers(item):
                return False
        elif not (t in (float, int, complex) or isinstance(item, np.number)):
            return False
    return True


# ------------------------------------------------------------------------------------------------
# Outputs
# ------------------------------------------------------------------------------------------------

class _Out:
    """A placeholder in the output template: output number ``index``."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _output_template(out: Any, tag: StagingTag, refs: List[Any]) -> Any:
    t = type(out)
    if t is Staged:
        if out.tag is not tag:
            raise leaked_error(out.tag, "as the compiled function's result")
        refs.append(out.node)
        return _Out(len(refs) - 1)
    if is_traced(out):
        raise TypeError(f"the compiled function returned a {t.__name__}: a traced value of a "
                        f"derivative that has finished. Return the result of the transform "
                        f"(dd.grad, dd.jvp, ...), not the values it traced")
    if t is tuple or t is list or (isinstance(out, tuple) and hasattr(out, "_fields")):
        items = [_output_template(x, tag, refs) for x in out]
        return (t, items)
    if t is dict:
        return (dict, {k: _output_template(v, tag, refs) for k, v in out.items()})
    if t is np.ndarray:
        refs.append(out)  # a constant array: a fresh copy each call, as eager mode makes
        return _Out(len(refs) - 1)
    return ("const", out)


def _render(template: Any, exprs: List[str], ns: Dict[str, Any]) -> str:
    if type(template) is _Out:
        return exprs[template.index]
    kind, body = template
    if kind == "const":
        name = f"o{len(ns)}"
        ns[name] = body
        return name
    if kind is dict:
        parts = []
        for k, v in body.items():
            kname = f"o{len(ns)}"
            ns[kname] = k
            parts.append(f"{kname}: {_render(v, exprs, ns)}")
        return "{" + ", ".join(parts) + "}"
    inner = [_render(v, exprs, ns) for v in body]
    if kind is tuple:
        return "(" + "".join(i + ", " for i in inner) + ")"
    if kind is list:
        return "[" + ", ".join(inner) + "]"
    name = f"o{len(ns)}"
    ns[name] = kind
    return f"{name}({', '.join(inner)})"


def _assemble(template: Any, values: List[Any]) -> Any:
    """The result the generated return statement (:func:`_render`) builds, from ``values``."""
    if type(template) is _Out:
        return values[template.index]
    kind, body = template
    if kind == "const":
        return body
    if kind is dict:
        return {k: _assemble(v, values) for k, v in body.items()}
    inner = [_assemble(v, values) for v in body]
    if kind is tuple or kind is list:
        return kind(inner)
    return kind(*inner)


def _build(fn: Any, prologue: _Prologue, program: Program, template: Any,
           tag: StagingTag, writes: Sequence[Tuple[str, int]] = ()) -> Tuple[str, Callable[..., Any]]:
    ns: Dict[str, Any] = dict(program.namespace)
    ns.update(prologue.ns)
    ns.update(_nd=np.ndarray, _asarray=np.asarray, _array_equal=np.array_equal,
              _copyto=np.copyto, _may_share=np.may_share_memory)
    ret = "return " + _render(template, program.outputs, ns)
    name = getattr(fn, "__name__", "fn")
    name = _ident(name) if name != "<lambda>" else "lambda_"
    body = ["    " + line for line in prologue.lines]
    if program.risky:
        # Scalar lowerings raise where numpy gives inf/nan (math.log(-1.0), 1.0 / 0.0): then
        # the same program runs again with every node calling its impl, as eager mode does.
        safe = generate(tag.graph, program.refs, fast=False, names=program.names)
        ns.update(safe.namespace)
        body.append("    try:")
        body += ["        " + line for line in program.lines + program.epilogue]
        if writes:  # (written into the caller's arrays once, outside the try)
            body.append("        _result = " + ret[len("return "):])
        else:
            body.append("        " + ret)
        body.append("    except (ArithmeticError, ValueError):")
        body.append("        pass")
        if writes:
            body.append("    else:")
            body += [f"        _copyto({dest}, {program.outputs[i]})" for dest, i in writes]
            body.append("        return _result")
        body += ["    " + line for line in safe.lines]
        body += [f"    _copyto({dest}, {safe.outputs[i]})" for dest, i in writes]
        body.append("    " + "return " + _render(template, safe.outputs, ns))
    else:
        body += ["    " + line for line in program.lines + program.epilogue]
        body += [f"    _copyto({dest}, {program.outputs[i]})" for dest, i in writes]
        body.append("    " + ret)
    source = f"def {name}(*args, **kwargs):\n" + "\n".join(body) + "\n"
    filename = f"<dd.compile {name} #{next(_serial)}>"
    code = builtins.compile(source, filename, "exec")
    # Tracebacks and the debugger can then show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, ns)
    return source, ns[name]
