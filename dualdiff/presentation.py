"""How values and primitives read on screen: number formats, names, and one table of notation.

Every view of a trace — the text table, Markdown, DOT, the SVG picture and the HTML page —
formats its numbers with the formatters here and writes each primitive with its entry in
:data:`NOTATION`: the formula of its result (``"{0} · {1}"``), its short symbol for a graph node
(``"·"``), the local partials in symbols (``("{1}", "{0}")``), the label of an edge into a
non-elementwise operation, and the term it contributes to an argument's adjoint. A primitive
with no entry (one added to the table later, or by a user) still reads sensibly: as a call
``name(v₁, v₂)``, with partials written ∂vⱼ/∂vᵢ and an adjoint ``nameᵀ(v̄)``.

>>> from dualdiff.presentation import Operation, formula, partial_symbol, adjoint_term
>>> op = Operation("multiply", "elementwise", ("v₋₁", "v₀"), {}, "v₂")
>>> formula(op), partial_symbol(op, 0), adjoint_term(op, 0, "v̄₂", partial_symbol(op, 0))
('v₋₁ · v₀', 'v₀', 'v̄₂ · v₀')
>>> formula(Operation("a_new_rule", "other", ("v₁",), {"k": 2}, "v₂"))
'a_new_rule(v₁, k=2)'
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from .primitives import shape_of

__all__ = ["Operation", "Notation", "NOTATION", "formula", "symbol", "partial_symbol",
           "edge_label", "adjoint_term", "MAX_SHOWN"]

#: Arrays with more elements than this are shown by their shape instead of their numbers.
MAX_SHOWN = 4

# --------------------------------------------------------------------------------------------
# Names: v₋₁, v̄₂, v̇₃
# --------------------------------------------------------------------------------------------

_SUBSCRIPT = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
BAR = "\u0304"  # combining macron: v̄
DOT = "\u0307"  # combining dot above: v̇
MINUS = "\u2212"


def sub(i: int) -> str:
    """``i`` in subscript digits: ``sub(-1)`` is ``"₋₁"``."""
    return str(i).translate(_SUBSCRIPT)


def vname(i: int) -> str:
    """The textbook name of value ``i``: ``vname(-1)`` is ``"v₋₁"``."""
    return "v" + sub(i)


def bar(name: str) -> str:
    """The adjoint's name: ``bar("v₂")`` is ``"v̄₂"``."""
    return name[0] + BAR + name[1:]


def dotted(name: str) -> str:
    """The tangent's name: ``dotted("v₂")`` is ``"v̇₂"``."""
    return name[0] + DOT + name[1:]


# --------------------------------------------------------------------------------------------
# Numbers and values
# --------------------------------------------------------------------------------------------

Formatter = Callable[[float], str]


def _formatter(digits: int, significant: bool) -> Formatter:
    # Shared by both styles: complex as %g, zeros (and -0.0, which would print as "-0") as
    # "0", inf/nan as numpy spells them, scientific notation only for tiny or huge numbers.
    tiny = 1e-4 if significant else 0.5 * 10.0 ** -digits

    def fmt(v: float) -> str:
        if isinstance(v, complex):
            return f"{v:.{digits}g}"
        v = float(v)
        if v == 0:
            return "0"
        if not math.isfinite(v):
            return str(v)
        if abs(v) < tiny or abs(v) >= 1e9:
            return np.format_float_scientific(v, precision=digits - 1 if significant else digits, trim="-")
        return np.format_float_positional(v, precision=digits, fractional=not significant, trim="-")
    return fmt


def decimals(digits: int) -> Formatter:
    """At most ``digits`` decimals, trailing zeros dropped; scientific for tiny or huge numbers."""
    return _formatter(digits, significant=False)


def significant(digits: int) -> Formatter:
    """``digits`` significant figures, as the textbook labels its edges (cos 5 = 0.284)."""
    return _formatter(digits, significant=True)


def shape_text(shape: tuple) -> str:
    return f"shape {shape}"


def show(value: Any, fmt: Formatter) -> str:
    """A number, a small array's numbers, or a large array's shape."""
    if value is None:
        return ""
    shape = shape_of(value)
    if shape == ():
        return fmt(value)
    arr = np.asarray(value)
    if arr.size > MAX_SHOWN or arr.ndim > 2:
        return shape_text(shape)
    if arr.ndim == 1:
        return "[" + ", ".join(fmt(v) for v in arr) + "]"
    return "[" + ", ".join("[" + ", ".join(fmt(v) for v in row) + "]" for row in arr) + "]"


def summary(value: Any, fmt: Formatter) -> str:
    """Like :func:`show`, but a large array also gets its range: ``shape (100,) in [-1, 1]``."""
    text = show(value, fmt)
    if value is None or shape_of(value) == () or not text.startswith("shape"):
        return text
    arr = np.asarray(value)
    if arr.size == 0 or np.iscomplexobj(arr):
        return text
    return f"{text} in [{fmt(float(np.min(arr)))}, {fmt(float(np.max(arr)))}]"


def plain(value: Any) -> Any:
    """Scalars as Python numbers and everything else as ndarrays, so reprs stay predictable."""
    if value is None:
        return None
    if shape_of(value) == ():
        v = np.asarray(value)[()]
        return complex(v) if np.iscomplexobj(v) else float(v)
    return np.asarray(value)


def paren(s: str) -> str:
    """A negative number in parentheses, as a factor: ``(-1)``."""
    return f"({s})" if s.startswith("-") or s.startswith(MINUS) else s


def const_text(value: Any) -> str:
    """A constant operand as it reads in a formula."""
    if shape_of(value) == ():
        return paren(decimals(4)(plain(value)))
    arr = np.asarray(value)
    if arr.size <= MAX_SHOWN and arr.ndim <= 2:
        return show(arr, decimals(4))
    return "const[" + "×".join(str(s) for s in arr.shape) + "]"


def index_text(idx: tuple) -> str:
    """An indexing key as it is written between brackets: ``0, 1:3, ...``."""
    parts = []
    for i in idx:
        if i is None:
            parts.append("None")
        elif i is Ellipsis:
            parts.append("...")
        elif isinstance(i, slice):
            s = "" if i.start is None else str(i.start)
            s += ":" + ("" if i.stop is None else str(i.stop))
            if i.step is not None:
                s += ":" + str(i.step)
            parts.append(s)
        elif np.ndim(i) == 0:
            parts.append(str(i))
        else:
            arr = np.asarray(i)
            parts.append(str(arr.tolist()) if arr.size <= MAX_SHOWN else f"array{arr.shape}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# The notation table
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    """One recorded operation as the notation sees it.

    ``ops`` are the operands as they read in a formula (``"v₋₁"``, or a constant's text),
    ``out`` the result's name, ``consts`` each argument's value when it is a constant (None for
    a traced argument), ``shapes`` the arguments' shapes and ``out_shape`` the result's.
    """

    name: str
    kind: str
    ops: Tuple[str, ...]
    params: Mapping[str, Any]
    out: str
    consts: Tuple[Any, ...] = ()
    shapes: Tuple[tuple, ...] = ()
    out_shape: tuple = ()


#: A template: a ``str.format`` string over the operands ``{0}``, ``{1}`` …, the result ``{o}``,
#: the child's adjoint ``{b}`` (adjoint terms), the argument's position ``{part}`` (1-based) and
#: the operation's parameters by name (``{shape}``; ``{idx}`` is the index already written out);
#: or a function ``(operation, k, b) -> str`` where the text depends on more than substitution.
Template = Union[str, Callable[[Operation, int, str], str]]
#: One template for every argument, or one per argument position.
PerArgument = Union[Template, Tuple[Template, ...]]


@dataclass(frozen=True)
class Notation:
    """How one primitive reads: ``formula`` of its result, ``symbol`` on a graph node,
    ``partials`` (elementwise: ∂out/∂argₖ in symbols), ``edge`` (the others: what the edge from
    argument k means) and ``adjoint`` (the term argument k's adjoint receives). Fields left
    None fall back to the generic notation."""

    formula: Optional[Template] = None
    symbol: Optional[str] = None
    partials: Optional[PerArgument] = None
    edge: Optional[PerArgument] = None
    adjoint: Optional[PerArgument] = None


def _fill(template: Optional[PerArgument], op: Operation, k: int, b: str = "") -> Optional[str]:
    if isinstance(template, tuple):
        template = template[k] if k < len(template) else None
    if template is None:
        return None
    try:
        if callable(template):
            return template(op, k, b)
        fields: Dict[str, Any] = dict(op.params)
        if "idx" in fields:
            fields["idx"] = index_text(fields["idx"])
        fields.update(o=op.out, b=b, name=op.name, part=k + 1)
        return template.format(*op.ops, **fields)
    except (IndexError, KeyError, TypeError):
        # An operand or parameter the template expects is not there (a rule whose signature
        # changed): the generic notation is better than no trace at all.
        return None


def _sum_formula(op: Operation, k: int, b: str) -> str:
    axis, keep = op.params.get("axis"), op.params.get("keepdims")
    if axis is None and not keep:
        return f"sum {op.ops[0]}"
    return f"sum({op.ops[0]}, axis={axis}{', keepdims' if keep else ''})"


def _reversed_axes(op: Operation) -> bool:
    axes = tuple(op.params["axes"])
    return axes == tuple(range(len(axes)))[::-1]


def _transpose_formula(op: Operation, k: int, b: str) -> str:
    if _reversed_axes(op):
        return f"{op.ops[0]}ᵀ"
    return f"transpose({op.ops[0]}, {tuple(op.params['axes'])})"


def _transpose_adjoint(op: Operation, k: int, b: str) -> str:
    return f"{b}ᵀ" if len(op.params["axes"]) <= 2 else f"transpose {b}"


def _join_formula(op: Operation, k: int, b: str) -> str:
    return f"{op.name}({', '.join(op.ops)}, axis={op.params.get('axis', 0)})"


def _power_partial(op: Operation, k: int, b: str) -> str:
    # d/dx x^c for a constant c, simplified the way one would write it (x^2 gives 2·x).
    c = op.consts[1] if len(op.consts) > 1 else None
    if k == 1 or c is None or shape_of(c) != ():
        return ("{1}·{0}^({1} − 1)", "{o}·log {0}")[k].format(*op.ops, o=op.out)
    c = plain(c)
    fmt = decimals(4)
    if isinstance(c, float) and c == 1:
        return "1"
    lower = c - 1
    power = "" if lower == 1 else "^" + paren(fmt(lower))
    return f"{paren(fmt(c))}·{op.ops[0]}{power}"


#: The notation of each primitive, by name. Elementwise unary functions not listed read as
#: ``name v`` (``sin v₀``), everything else not listed as a call.
NOTATION: Dict[str, Notation] = {
    # arithmetic
    "add": Notation("{0} + {1}", "+", ("1", "1")),
    "subtract": Notation("{0} − {1}", "−", ("1", "−1")),
    "multiply": Notation("{0} · {1}", "·", ("{1}", "{0}")),
    "divide": Notation("{0} / {1}", "/", ("1/{1}", "−{o}/{1}")),
    "power": Notation("{0}^{1}", "^", _power_partial),
    "negative": Notation("−{0}", "−", ("−1",)),
    "maximum": Notation("max({0}, {1})", "max", ("[{0} > {1}]", "[{1} > {0}]")),
    "minimum": Notation("min({0}, {1})", "min", ("[{0} < {1}]", "[{1} < {0}]")),
    "arctan2": Notation("arctan2({0}, {1})", "arctan2",
                        ("{1}/({0}² + {1}²)", "−{0}/({0}² + {1}²)")),
    # elementwise functions of one argument
    "sin": Notation(partials=("cos {0}",)),
    "cos": Notation(partials=("−sin {0}",)),
    "tan": Notation(partials=("1 + {o}²",)),
    "exp": Notation(partials=("{o}",)),
    "log": Notation(partials=("1/{0}",)),
    "log1p": Notation(partials=("1/(1 + {0})",)),
    "expm1": Notation(partials=("{o} + 1",)),
    "sqrt": Notation(partials=("1/(2{o})",), symbol="√"),
    "tanh": Notation(partials=("1 − {o}²",)),
    "sinh": Notation(partials=("cosh {0}",)),
    "cosh": Notation(partials=("sinh {0}",)),
    "arcsin": Notation(partials=("1/√(1 − {0}²)",)),
    "arccos": Notation(partials=("−1/√(1 − {0}²)",)),
    "arctan": Notation(partials=("1/(1 + {0}²)",)),
    "abs": Notation("|{0}|", "|·|", ("sign {0}",)),
    "sign": Notation(partials=("0",)),
    "sigmoid": Notation("σ({0})", "σ", ("{o}(1 − {o})",)),
    "relu": Notation("relu({0})", "relu", ("[{0} > 0]",)),
    # linear maps: what the edge does, and the adjoint it sends back
    "matmul": Notation("{0} @ {1}", "@", edge=("· @ {1}", "{0} @ ·"),
                       adjoint=("{b} @ {1}ᵀ", "{0}ᵀ @ {b}")),
    "sum": Notation(_sum_formula, "Σ", adjoint="broadcast {b}"),
    "reshape": Notation("reshape({0}, {shape})", "reshape", adjoint="reshape {b}"),
    "transpose": Notation(_transpose_formula, "ᵀ", adjoint=_transpose_adjoint),
    "broadcast_to": Notation("broadcast({0}, {shape})", "broadcast", edge="broadcast",
                             adjoint="Σ({b})"),
    "getitem": Notation("{0}[{idx}]", "[ ]", edge="index [{idx}]",
                        adjoint="scatter {b} to [{idx}]"),
    "index_add": Notation("scatter({0} → [{idx}] of {shape})", "scatter",
                          adjoint="{b}[{idx}]"),
    "where": Notation("where(cond, {0}, {1})", "where",
                      edge=("where (branch taken)", "where (branch not taken)"),
                      adjoint=("where(cond, {b}, 0)", "where(cond, 0, {b})")),
    "stack": Notation(_join_formula, "stack", edge="{name} part {part}", adjoint="{b} part {part}"),
    "concatenate": Notation(_join_formula, "concat", edge="{name} part {part}",
                            adjoint="{b} part {part}"),
}


def notation(name: str) -> Notation:
    """The primitive's entry, or an empty one (every field then falls back)."""
    return NOTATION.get(name, _GENERIC)


_GENERIC = Notation()


def formula(op: Operation) -> str:
    """The result written from its operands: ``"v₋₁ · v₀"``, ``"sin v₀"``, ``"f(v₁, k=2)"``."""
    text = _fill(notation(op.name).formula, op, 0)
    if text is not None:
        return text
    if op.kind == "elementwise" and len(op.ops) == 1:
        return f"{op.name} {op.ops[0]}"
    extra = "".join(f", {k}={v}" for k, v in op.params.items())
    return f"{op.name}({', '.join(op.ops)}{extra})"


def symbol(name: str) -> str:
    """The operation's short sign on a graph node: ``"·"``, ``"+"``, ``"sin"``."""
    return notation(name).symbol or name


def partial_symbol(op: Operation, k: int) -> str:
    """∂out/∂argₖ of an elementwise operation in symbols, or ``∂v₂/∂v₁`` without a template."""
    text = _fill(notation(op.name).partials, op, k)
    return text if text is not None else f"∂{op.out}/∂{op.ops[k]}"


def edge_label(op: Operation, k: int) -> str:
    """What the edge from argument k means for an operation that is not elementwise."""
    text = _fill(notation(op.name).edge, op, k)
    return text if text is not None else op.name


def adjoint_term(op: Operation, k: int, child_bar: str, partial: str) -> str:
    """The term argument k's adjoint receives from the result's adjoint ``child_bar``.

    Elementwise: v̄ · ∂ (summed back, Σ, when broadcasting copied the argument); the others
    use their template, or ``nameᵀ(v̄)`` without one.
    """
    if op.kind == "elementwise":
        needs_parens = partial.startswith("−") or " + " in partial or " − " in partial
        term = f"{child_bar} · {'(' + partial + ')' if needs_parens else partial}"
        broadcast = k < len(op.shapes) and op.shapes[k] != op.out_shape
        return f"Σ({term})" if broadcast else term
    text = _fill(notation(op.name).adjoint, op, k, child_bar)
    return text if text is not None else f"{op.name}ᵀ({child_bar})"


# --------------------------------------------------------------------------------------------
# Labels of the graph's nodes and edges (DOT and SVG)
# --------------------------------------------------------------------------------------------

#: Formulas longer than this are replaced by the operation's symbol on a node.
NODE_FORMULA_WIDTH = 16


def node_label(entry: Any, input_name: Optional[str], is_output: bool) -> Tuple[str, str]:
    """A graph node's (title, subtitle): ``("x1", "v₋₁")``, ``("v₁", "log v₋₁")``, ``("y", "v₅ = v₃ − v₄")``.

    Inputs are called by their names (x1, x2, or a dict's keys), the output y, and every value
    in between by its textbook name; the subtitle says what the node computes.
    """
    if entry.operation == "input":
        return (input_name or entry.name), entry.name
    what = entry.formula if width(entry.formula) <= NODE_FORMULA_WIDTH else symbol(entry.operation)
    if is_output:
        return "y", f"{entry.name} = {what}"
    return entry.name, what


def edge_text(edge: Any, fmt: Formatter) -> str:
    """An edge's label: its local partial's number(s), or, for a linear map, what it does."""
    if edge.partial is None:
        return edge.label
    if np.size(edge.partial) <= MAX_SHOWN:
        return show(edge.partial, fmt)
    return f"{edge.symbol} {shape_text(shape_of(edge.partial))}"


def width(text: str) -> int:
    """Columns ``text`` takes: combining marks (the bar of v̄, the dot of v̇) take none."""
    return sum(0 if unicodedata.combining(c) else 1 for c in text)
