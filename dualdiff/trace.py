"""The evaluation trace of one call of f: the Wengert list, with tangents, adjoints and edge partials.

:func:`trace` records f once on a tape and names every value the way the AD textbooks do: the n
inputs are v₋ₙ₊₁ … v₀, the recorded operations v₁ … vₗ, and the output y = vₗ. For each entry it
keeps the value, one tangent v̇ per seeded input direction (forward mode), the adjoint v̄ from one
reverse sweep (reverse mode), and the local partial derivative on every edge of the
computational graph. The result prints as a table (``str``), as Markdown, or as Graphviz DOT.

This module only reads the tape and the primitives' own rules; it adds no derivative of its own.

>>> import dualdiff as dd, numpy as np
>>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
>>> [e.formula for e in t.entries]
['x1', 'x2', 'log v₋₁', 'v₋₁ · v₀', 'v₁ + v₂', 'sin v₀', 'v₃ − v₄']
>>> round(t.value, 4), tuple(round(g, 4) for g in t.gradient)
(11.6521, (5.5, 1.7163))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .checkpoint import kept_marks
from .containers import as_value, flatten, pieces, unflatten
from .presentation import (
    BAR, DOT, MAX_SHOWN, Formatter, Operation, adjoint_term, bar, const_text, decimals,
    dotted, edge_label, edge_text, formula, node_label, paren, partial_symbol, plain, show, significant, sub, summary, vname,
    width,
)
from .primitives import is_traced, shape_of
from .page import notebook, page, trace_sections
from .svg import graph
from .tape import Entry, backward
from .transforms import _Recording, _leaves

__all__ = ["trace", "Trace", "TraceEntry", "Edge", "MAX_DEFAULT_DIRECTIONS", "MAX_SHOWN"]

#: Without ``directions``, the trace seeds the first this-many unit directions e₁, e₂, ….
MAX_DEFAULT_DIRECTIONS = 4

# compare.py, and perhaps code elsewhere, import the decimal format from here.
_decimals = decimals


def _jsonable(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _pad(text: str, columns: int, right: bool) -> str:
    fill = " " * (columns - width(text))
    return fill + text if right else text + fill


def _render(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool],
            breaks: Sequence[int] = ()) -> str:
    """A plain-text table; a rule under the header and before each row index in ``breaks``."""
    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))

    def line(cells):
        return "  ".join(_pad(c, w, r) for c, w, r in zip(cells, widths, right)).rstrip()

    out = [line(header), rule]
    for i, row in enumerate(rows):
        if i in breaks:
            out.append(rule)
        out.append(line(row))
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# The trace objects
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)  # fields may be arrays, whose == is elementwise
class Edge:
    """One edge of the computational graph, from an argument to the value computed from it.

    ``source``/``target`` are textbook indices (v₋₁ is -1). ``partial`` is the local partial
    derivative ∂v_target/∂v_source for elementwise operations (a number, or an array of the
    broadcast shape) and ``None`` for the others, which are linear maps described by ``label``.
    ``symbol`` is the partial in symbols (``"cos v₀"``); ``label`` is what the graph shows;
    ``adjoint_term`` is this edge's contribution to v̄_source (``"v̄₄ · cos v₀"``).
    """

    source: int
    target: int
    position: int
    partial: Any
    symbol: str
    label: str
    adjoint_term: str


@dataclass(frozen=True, eq=False)
class TraceEntry:
    """One value of the trace: vᵢ = ``formula``, with its value, tangents and adjoint.

    ``index`` is the textbook index (inputs -n+1 … 0, operations 1 … l) and ``name`` the
    matching ``vᵢ``. ``operation`` is ``"input"`` or the primitive's name. ``parents`` are the
    indices of the traced arguments (constants appear only in ``formula``). ``tangents[d]`` is
    v̇ for seeded direction d; ``adjoint`` is v̄ (zero when vᵢ does not reach the output).
    ``edges`` are the incoming edges, one per parent. ``kept`` says what a reverse-mode
    recording does with the value: ``"stored"`` (kept for the sweep: an adjoint rule reads it),
    ``"recomputed"`` (computed inside a ``dd.checkpoint``: dropped, and computed again when the
    sweep gets there) or ``""`` (not kept: no rule reads it).
    """

    index: int
    name: str
    operation: str
    formula: str
    parents: Tuple[int, ...]
    value: Any
    tangents: Tuple[Any, ...]
    adjoint: Any
    edges: Tuple[Edge, ...] = ()
    kept: str = ""

    @property
    def shape(self) -> tuple:
        """The value's shape; ``()`` for a number."""
        return shape_of(self.value)


class Trace:
    """The evaluation trace of f at x, as returned by :func:`trace`.

    ``entries`` (a list of :class:`TraceEntry`, inputs first), ``value`` (f(x)), ``gradient``
    (ȳᵀJ in x's structure: the adjoints of the inputs), ``output`` (the entry that is y, or None
    when f does not depend on x), ``directions`` (the seeded tangent directions, flat, with
    ``direction_labels``), ``output_tangents`` (J·ẋ for each), ``ybar``, and the operation
    counts ``forward_operations`` (entries × directions: forward mode) and
    ``reverse_operations`` (recording plus one reverse sweep: reverse mode).
    """

    def __init__(self, entries: List[TraceEntry], output: Optional[TraceEntry], value: Any,
                 gradient: Any, directions: List[np.ndarray], direction_labels: List[str],
                 output_tangents: List[Any], ybar: Any, forward_operations: int,
                 reverse_operations: int, input_names: List[str]):
        self.entries: List[TraceEntry] = entries
        self.output: Optional[TraceEntry] = output
        self.value: Any = value
        self.gradient: Any = gradient
        self.directions: List[np.ndarray] = directions
        self.direction_labels: List[str] = direction_labels
        self.output_tangents: List[Any] = output_tangents
        self.ybar: Any = ybar
        self.forward_operations: int = forward_operations
        self.reverse_operations: int = reverse_operations
        self.input_names: List[str] = input_names
        self._by_index = {e.index: e for e in entries}

    # ---- access ------------------------------------------------------------------------------

    @property
    def inputs(self) -> List[TraceEntry]:
        """The input entries v₋ₙ₊₁ … v₀."""
        return [e for e in self.entries if e.index <= 0]

    @property
    def edges(self) -> List[Edge]:
        """Every edge of the computational graph, in the order the operations ran."""
        return [edge for e in self.entries for edge in e.edges]

    def entry(self, key: Union[int, str]) -> TraceEntry:
        """The entry with textbook index ``key`` (``-1`` for v₋₁) or name ``key`` (``"v₋₁"``)."""
        if isinstance(key, str):
            for e in self.entries:
                if e.name == key:
                    return e
            raise KeyError(f"no entry named {key!r}; names run from {self.entries[0].name} "
                           f"to {self.entries[-1].name}")
        try:
            return self._by_index[key]
        except KeyError:
            raise KeyError(f"no entry v{key}: indices run from {self.entries[0].index} to "
                           f"{self.entries[-1].index}") from None

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[TraceEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        n = len(self.inputs)
        return (f"<Trace: {n} input{'s' if n != 1 else ''}, {len(self.entries) - n} operations, "
                f"value {show(self.value, decimals(4))}>")

    def __str__(self) -> str:
        return self.table()

    # ---- text --------------------------------------------------------------------------------

    def _rows(self, fmt: Formatter, tangents: bool, adjoints: bool, kept: bool = False):
        header = ["v", "formula", "value"]
        if tangents:
            header += [f"v{DOT} ({lab})" for lab in self.direction_labels]
        if adjoints:
            header.append(f"v{BAR}")
        if kept:
            header.append("kept")
        rows = []
        for e in self.entries:
            row = [e.name, e.formula, show(e.value, fmt)]
            if tangents:
                row += [show(t, fmt) for t in e.tangents]
            if adjoints:
                row.append(show(e.adjoint, fmt))
            if kept:
                row.append(e.kept)
            rows.append(row)
        out = self.output
        row = ["y", out.name if out is not None else "const", show(self.value, fmt)]
        if tangents:
            row += [show(t, fmt) for t in self.output_tangents]
        if adjoints:
            row.append(show(self.ybar, fmt))
        if kept:
            row.append("")
        rows.append(row)
        n = len(self.inputs)
        breaks = sorted({n, len(self.entries)} - {0})
        return header, rows, breaks

    @property
    def checkpointed(self) -> bool:
        """Whether f ran a ``dd.checkpoint``: some values would be recomputed, not stored."""
        return any(e.kept == "recomputed" for e in self.entries)

    def table(self, digits: int = 4, tangents: bool = True, adjoints: bool = True,
              kept: Optional[bool] = None) -> str:
        """The trace as a text table: one row per entry, then the output row y.

        Rules separate the three parts of the notation (inputs, intermediates, output). Columns:
        name, formula, value, one tangent column per seeded direction, and the adjoint; numbers
        have at most ``digits`` decimals, arrays larger than ``MAX_SHOWN`` show their shape. A
        last column ``kept`` (shown when f ran a checkpoint, or with ``kept=True``) says which
        values reverse mode stores for its sweep and which a checkpoint recomputes.

        >>> import dualdiff as dd, numpy as np
        >>> inner = dd.checkpoint(lambda x: np.sin(x) * x)
        >>> print(dd.trace(lambda x: np.exp(inner(x)), 0.5).table(tangents=False))
        v   formula   value       v̄  kept
        ───────────────────────────────────────
        v₀  x           0.5  1.1669  stored
        ───────────────────────────────────────
        v₁  sin v₀   0.4794  0.6354  recomputed
        v₂  v₁ · v₀  0.2397  1.2709  recomputed
        v₃  exp v₂   1.2709       1  stored
        ───────────────────────────────────────
        y   v₃       1.2709       1

        >>> import dualdiff as dd, numpy as np
        >>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
        >>> print(t.table(adjoints=False))
        v    formula     value  v̇ (ẋ = e₁)  v̇ (ẋ = e₂)
        ──────────────────────────────────────────────
        v₋₁  x1              2           1           0
        v₀   x2              5           0           1
        ──────────────────────────────────────────────
        v₁   log v₋₁    0.6931         0.5           0
        v₂   v₋₁ · v₀       10           5           2
        v₃   v₁ + v₂   10.6931         5.5           2
        v₄   sin v₀    -0.9589           0      0.2837
        v₅   v₃ − v₄   11.6521         5.5      1.7163
        ──────────────────────────────────────────────
        y    v₅        11.6521         5.5      1.7163
        """
        kept = self.checkpointed if kept is None else kept
        header, rows, breaks = self._rows(decimals(digits), tangents, adjoints, kept)
        right = [False, False] + [True] * (len(header) - 2 - kept) + [False] * kept
        return _render(header, rows, right, breaks)

    def tangent_rows(self, direction: int = 0, digits: int = 4) -> List[Tuple[str, str, str, str]]:
        """The forward sweep for seeded ``direction``, oldest entry first: (tangent name, rule,
        the rule's numbers, value).

        Each tangent is the sum over vⱼ's arguments of ∂vⱼ/∂vᵢ · v̇ᵢ (an input's is its seed); the
        numbers column is filled only where every term is a number.

        >>> import dualdiff as dd, numpy as np
        >>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
        >>> t.tangent_rows(0)[3]
        ('v̇₂', 'v₀ · v̇₋₁ + v₋₁ · v̇₀', '5 · 1 + 2 · 0', '5')
        """
        if not 0 <= direction < len(self.direction_labels):
            raise ValueError(f"direction {direction} was not seeded: the trace has "
                             f"{len(self.direction_labels)} tangent directions")
        fmt = decimals(digits)
        rows = []
        for e in self.entries:
            value = show(e.tangents[direction], fmt)
            if e.operation == "input":
                rows.append((dotted(e.name), f"seed ({self.direction_labels[direction]})", "", value))
                continue
            rules, numbers, numeric = [], [], True
            for edge in e.edges:
                src = self.entry(edge.source)
                t_src = dotted(src.name)
                if edge.partial is None:
                    # A linear map (or matmul's bilinear one) applied to the argument's tangent.
                    rules.append(edge.label.replace("·", t_src, 1) if "·" in edge.label
                                 else f"{edge.label}({t_src})")
                    numeric = False
                    continue
                rules.append(f"{_factor(edge.symbol)} · {t_src}")
                t = src.tangents[direction]
                if shape_of(edge.partial) == () and shape_of(t) == ():
                    numbers.append(f"{paren(fmt(plain(edge.partial)))} · {paren(fmt(plain(t)))}")
                else:
                    numeric = False
            rows.append((dotted(e.name), " + ".join(rules) or "0 (a constant)",
                         " + ".join(numbers) if numeric and numbers else "", value))
        return rows

    def sweep_rows(self, digits: int = 4) -> List[Tuple[str, str, str, str]]:
        """The reverse sweep, newest entry first: (adjoint name, rule, the rule's numbers, value).

        Each adjoint is the sum over the entries that use vᵢ of v̄ⱼ · ∂vⱼ/∂vᵢ; the numbers column
        is filled only where every term is a number.
        """
        fmt = decimals(digits)
        children: Dict[int, List[Tuple[TraceEntry, Edge]]] = {}
        for e in self.entries:
            for edge in e.edges:
                children.setdefault(edge.source, []).append((e, edge))
        out_index = self.output.index if self.output is not None else None
        reaches = self._reaches
        rows = []
        for e in reversed(self.entries):
            rules, numbers, numeric = [], [], True
            if e.index == out_index:
                rules.append("ȳ")
                numbers.append(show(self.ybar, fmt))
                numeric = shape_of(self.ybar) == ()
            for child, edge in children.get(e.index, []):
                if child.index not in reaches:
                    continue  # its adjoint is zero: the term adds nothing
                rules.append(edge.adjoint_term)
                a, p = child.adjoint, edge.partial
                if p is not None and shape_of(a) == () and shape_of(p) == ():
                    a_s, p_s = fmt(plain(a)), fmt(plain(p))
                    numbers.append(f"{paren(a_s)} · {paren(p_s)}")
                else:
                    numeric = False
            if not rules:
                rows.append((bar(e.name), "0 (does not reach y)", "", show(e.adjoint, fmt)))
                continue
            rows.append((bar(e.name), " + ".join(rules), " + ".join(numbers) if numeric else "",
                         show(e.adjoint, fmt)))
        return rows

    def sweep(self, digits: int = 4) -> str:
        """The reverse sweep as a text table: v̄ᵢ = Σⱼ v̄ⱼ · ∂vⱼ/∂vᵢ, from ȳ back to the inputs.

        >>> import dualdiff as dd, numpy as np
        >>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
        >>> print(t.sweep())
        adjoint  = Σ v̄ⱼ · ∂vⱼ/∂vᵢ        numbers                 value
        ──────────────────────────────────────────────────────────────
        v̄₅       ȳ                       1                           1
        v̄₄       v̄₅ · (−1)               1 · (-1)                   -1
        v̄₃       v̄₅ · 1                  1 · 1                       1
        v̄₂       v̄₃ · 1                  1 · 1                       1
        v̄₁       v̄₃ · 1                  1 · 1                       1
        v̄₀       v̄₂ · v₋₁ + v̄₄ · cos v₀  1 · 2 + (-1) · 0.2837  1.7163
        v̄₋₁      v̄₁ · 1/v₋₁ + v̄₂ · v₀    1 · 0.5 + 1 · 5           5.5
        """
        rows = self.sweep_rows(digits)
        return _render(("adjoint", f"= Σ v{BAR}ⱼ · ∂vⱼ/∂vᵢ", "numbers", "value"), rows,
                       (False, False, False, True))

    def to_markdown(self, digits: int = 4) -> str:
        """The same table as ``str(trace)`` in Markdown (GitHub pipe-table syntax).

        >>> import dualdiff as dd, numpy as np
        >>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
        >>> print(t.to_markdown().splitlines()[4])
        | v₁ | log v₋₁ | 0.6931 | 0.5 | 0 | 1 |
        """
        header, rows, _ = self._rows(decimals(digits), True, True)

        def cells(r):
            return "| " + " | ".join(c.replace("|", "\\|") for c in r) + " |"

        align = "|" + "|".join([":---", ":---"] + ["---:"] * (len(header) - 2)) + "|"
        return "\n".join([cells(header), align] + [cells(r) for r in rows])

    def to_dot(self, digits: int = 3) -> str:
        """The computational graph in Graphviz DOT, each edge labelled by its local partial.

        Nodes carry the picture's labels (:meth:`to_svg`): the name (x1, x2 for the inputs, y
        for the output), what the node computes, and its value to 4 decimals (shape and range
        for large arrays). Elementwise edges carry ∂v_target/∂v_source to ``digits``
        significant figures (the symbol is in the edge's tooltip); other edges name the linear
        map. Render with ``dot -Tpng``, or use :meth:`to_svg`, which needs no graphviz.

        >>> import dualdiff as dd, numpy as np
        >>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
        >>> print("\\n".join(l for l in t.to_dot().splitlines() if "->" in l))
          "v-1" -> "v1" [label="0.5", tooltip="∂v₁/∂v₋₁ = 1/v₋₁"];
          "v-1" -> "v2" [label="5", tooltip="∂v₂/∂v₋₁ = v₀"];
          "v0" -> "v2" [label="2", tooltip="∂v₂/∂v₀ = v₋₁"];
          "v1" -> "v3" [label="1", tooltip="∂v₃/∂v₁ = 1"];
          "v2" -> "v3" [label="1", tooltip="∂v₃/∂v₂ = 1"];
          "v0" -> "v4" [label="0.284", tooltip="∂v₄/∂v₀ = cos v₀"];
          "v3" -> "v5" [label="1", tooltip="∂v₅/∂v₃ = 1"];
          "v4" -> "v5" [label="-1", tooltip="∂v₅/∂v₄ = −1"];
        >>> print(t.to_dot().splitlines()[3])
          "v-1" [label="x1\\nv₋₁\\n= 2", tooltip="v₋₁ = x1", shape=box, style="rounded,filled", fillcolor="#f3f6fb"];
        """
        fmt = significant(digits)
        value_fmt = decimals(4)

        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

        lines = ["digraph trace {", "  rankdir=LR;", '  node [shape=box, style=rounded];']
        out_index = self.output.index if self.output is not None else None
        names = dict(zip((e.index for e in self.inputs), self.input_names))
        for e in self.entries:
            title, subtitle = node_label(e, names.get(e.index), e.index == out_index)
            attrs = [f"label={q(title + chr(10) + subtitle + chr(10) + '= ' + summary(e.value, value_fmt))}",
                     f"tooltip={q(e.name + ' = ' + e.formula)}"]
            if e.index <= 0:
                attrs += ["shape=box", 'style="rounded,filled"', 'fillcolor="#f3f6fb"']
            if e.index == out_index:
                attrs.append("penwidth=2.4")
            lines.append(f"  {q('v' + str(e.index))} [{', '.join(attrs)}];")
        for edge in self.edges:
            src, dst = self.entry(edge.source).name, self.entry(edge.target).name
            if edge.partial is None:
                tip = f"{dst} is linear in {src}: {edge.label}"
            else:
                tip = f"∂{dst}/∂{src}"
                tip += "" if edge.symbol == tip else f" = {edge.symbol}"  # no "∂a/∂b = ∂a/∂b"
            lines.append(f"  {q('v' + str(edge.source))} -> {q('v' + str(edge.target))} "
                         f"[label={q(edge_text(edge, fmt))}, tooltip={q(tip)}];")
        lines.append("}")
        return "\n".join(lines)

    def to_svg(self, direction: Optional[int] = 0, adjoints: bool = True, paths: bool = True,
               digits: int = 4) -> str:
        """The computational graph as an SVG picture, drawn without graphviz.

        Columns left to right: the inputs (named x1, x2, …), then each value one column after
        its last argument, the output y last. Each box shows the name, what it computes and the
        value; each arrow the local partial ∂vⱼ/∂vᵢ (3 significant figures, as the tutorials
        label their edges; a linear map says what it does). Overlays: the tangents v̇ of seeded
        ``direction`` (None for none) in blue, the adjoints v̄ (``adjoints``) in red, and under
        the graph each input's derivative as a sum over paths of products of partials
        (``paths``). Arrays show their shape and range.

        >>> import dualdiff as dd, numpy as np
        >>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
        >>> svg = t.to_svg()
        >>> svg.startswith("<svg") and "∂y/∂x1 = 1·1·0.5 + 1·1·5 = 0.5 + 5 = 5.5" in svg
        True
        >>> "∂y/∂x2 = 1·1·2 + (−1)·0.284 = 2 − 0.284 = 1.7163" in svg
        True
        """
        return graph(self, direction, adjoints, paths, digits)

    def to_html(self, title: str = "The derivative, step by step", digits: int = 4) -> str:
        """A self-contained HTML page to step through both modes on this trace.

        One file with inline SVG, CSS and JavaScript (nothing is fetched from the network): the
        graph (as :meth:`to_svg`), the forward table and the reverse sweep. Buttons and the
        keyboard (→/←, Home, End) step through the tangents, node by node, then through the
        adjoints filling the grad_table from ȳ back to the inputs. Write it to a file and open
        it in a browser.

        >>> import dualdiff as dd, numpy as np
        >>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
        >>> html = t.to_html()
        >>> "<svg" in html and "grad_table" in html and "http" not in html
        True
        """
        return page(title, trace_sections(self, digits))

    def _repr_html_(self) -> str:
        # What a notebook shows when a cell ends with a trace: the graph and both tables.
        return notebook(self)

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def to_dict(self) -> Dict[str, Any]:
        """Everything in the trace as plain lists, numbers and strings (ready for ``json.dumps``)."""
        return {
            "inputs": self.input_names,
            "directions": self.direction_labels,
            "entries": [{
                "index": e.index, "name": e.name, "operation": e.operation,
                "formula": e.formula, "parents": list(e.parents), "shape": list(e.shape),
                "value": _jsonable(e.value), "tangents": [_jsonable(t) for t in e.tangents],
                "adjoint": _jsonable(e.adjoint), "kept": e.kept,
                "edges": [{"source": d.source, "target": d.target, "partial": _jsonable(d.partial),
                           "symbol": d.symbol, "label": d.label} for d in e.edges],
            } for e in self.entries],
            "output": self.output.name if self.output is not None else None,
            "value": _jsonable(self.value),
            "output_tangents": [_jsonable(t) for t in self.output_tangents],
            "ybar": _jsonable(self.ybar),
            "gradient": [_jsonable(e.adjoint) for e in self.inputs],
            "forward_operations": self.forward_operations,
            "reverse_operations": self.reverse_operations,
        }

    @property
    def _reaches(self) -> set:
        """Indices of the entries whose adjoint can be nonzero (they lead to the output)."""
        if self.output is None:
            return set()
        seen = {self.output.index}
        for e in reversed(self.entries):
            if e.index in seen:
                seen.update(e.parents)
        return seen


# --------------------------------------------------------------------------------------------
# Building a trace
# --------------------------------------------------------------------------------------------

def _input_names(x: Any, n: int) -> List[str]:
    if isinstance(x, dict) and len(x) == n:
        return [str(k) for k in x]
    if n == 1 and not isinstance(x, (tuple, dict)):
        return ["x"]
    return [f"x{i + 1}" for i in range(n)]


def _directions(directions: Any, size: int) -> Tuple[List[np.ndarray], List[str]]:
    if directions is None or isinstance(directions, (int, np.integer)) and not isinstance(directions, bool):
        k = min(size, MAX_DEFAULT_DIRECTIONS) if directions is None else int(directions)
        if not 0 <= k <= size:
            raise ValueError(f"directions={k}: x has {size} elements, so between 0 and {size} "
                             f"unit directions can be seeded")
        seeds = []
        for j in range(k):
            e = np.zeros(size)  # not rows of np.eye(size): x may have millions of elements
            e[j] = 1.0
            seeds.append(e)
        return seeds, [f"ẋ = e{sub(j + 1)}" for j in range(k)]
    if not isinstance(directions, (list, tuple)):
        raise TypeError("directions must be None, an int, or a list of seed directions, not "
                        f"{type(directions).__name__}")
    seeds = []
    for d in directions:
        dl, _ = flatten(d, "each direction")
        flat = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in dl]) if dl else np.zeros(0)
        if flat.size != size:
            raise ValueError(f"each direction needs {size} numbers (x's size), got {flat.size}")
        seeds.append(flat)
    return seeds, [f"ẋ = d{sub(j + 1)}" for j in range(len(seeds))]


def _split(seed: np.ndarray, leaves: List[Any]) -> List[Any]:
    return [float(seed[cut][0]) if shape == () else seed[cut].reshape(shape)
            for shape, cut in pieces(leaves)]


def trace(f: Callable[[Any], Any], x: Any, directions: Union[None, int, Sequence[Any]] = None,
          ybar: Any = None) -> Trace:
    """The evaluation trace of f at x: every intermediate value with its tangents and adjoint.

    f is recorded once on a tape that keeps every value. Then:

    - **tangents (forward mode).** For each seeded direction ẋ, one forward sweep over the
      entries applies each primitive's tangent rule to the recorded values: v̇ⱼ = Σᵢ ∂vⱼ/∂vᵢ · v̇ᵢ.
      That is exactly what a forward-mode pass with Dual numbers computes; one sweep per
      direction, so the full gradient takes n sweeps. ``directions`` is an int k (the unit
      directions e₁ … e_k), a list of directions (each x's size, flat or in x's structure), or
      None: e₁ … eₙ for up to ``MAX_DEFAULT_DIRECTIONS`` input elements.
    - **adjoints (reverse mode).** One reverse sweep from ȳ (``ybar``; 1 for a scalar output,
      ones by default otherwise, i.e. the adjoints of sum(y)) gives every v̄ᵢ = Σⱼ v̄ⱼ · ∂vⱼ/∂vᵢ.
    - **edges.** Each argument→result edge carries the local partial ∂vⱼ/∂vᵢ from the
      primitive's own partials (elementwise operations) or names the linear map (sum, index,
      matmul …).

    x may be a number, an array, or a tuple/dict of them; each leaf is one input v₋ₙ₊₁ … v₀, so
    pass ``(2.0, 5.0)`` rather than ``[2.0, 5.0]`` to get two scalar inputs.

    >>> import dualdiff as dd, numpy as np
    >>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
    >>> print(t)
    v    formula     value  v̇ (ẋ = e₁)  v̇ (ẋ = e₂)       v̄
    ──────────────────────────────────────────────────────
    v₋₁  x1              2           1           0     5.5
    v₀   x2              5           0           1  1.7163
    ──────────────────────────────────────────────────────
    v₁   log v₋₁    0.6931         0.5           0       1
    v₂   v₋₁ · v₀       10           5           2       1
    v₃   v₁ + v₂   10.6931         5.5           2       1
    v₄   sin v₀    -0.9589           0      0.2837      -1
    v₅   v₃ − v₄   11.6521         5.5      1.7163       1
    ──────────────────────────────────────────────────────
    y    v₅        11.6521         5.5      1.7163       1
    >>> edge = t.entry(4).edges[0]  # v₄ = sin v₀: the edge from v₀
    >>> edge.symbol, round(edge.partial, 3)
    ('cos v₀', 0.284)
    >>> t.forward_operations, t.reverse_operations
    (10, 10)
    """
    if not callable(f):
        raise TypeError(f"trace takes a function as its first argument, not {type(f).__name__}")
    leaves, treedef = _leaves(x)
    if any(is_traced(leaf) for leaf in leaves):
        # The table shows numbers; a Dual or tape variable here means trace was called inside
        # another derivative, where its entries would be traced values, not numbers.
        raise TypeError("trace takes plain numbers or arrays as x, not Duals or tape variables: "
                        "call it outside grad/jacobian/jvp")
    rec = _Recording(f, leaves, treedef, "trace", keep_all=True)
    tape = rec.tape
    n = len(leaves)
    size = sum(math.prod(shape_of(leaf)) for leaf in leaves)
    seeds, labels = _directions(directions, size)

    index: Dict[int, int] = {slot: k - (n - 1) for k, slot in enumerate(tape.inputs)}
    for j, e in enumerate(tape.entries, start=1):
        index[e.slot] = j

    # Forward mode: one sweep of tangent rules per seeded direction, over the recorded values.
    tangents: List[Dict[int, Any]] = []
    for seed in seeds:
        table = dict(zip(tape.inputs, _split(seed, leaves)))
        for e in tape.entries:
            ts = [None if p is None else table[p] for p in e.parents]
            table[e.slot] = e.prim.jvp(list(e.args), ts, e.out, e.params, False)
        tangents.append(table)
    forward_operations = len(tape.entries) * len(seeds)

    # Reverse mode: one sweep from ȳ, keeping every slot's adjoint.
    if rec.out_slot is None:
        ybar_v = np.zeros(rec.out_shape) if rec.out_shape else 0.0
        adjoints: List[Any] = [None] * tape.nslots
    else:
        if ybar is None:
            ybar_v = 1.0 if rec.out_shape == () else np.ones(rec.out_shape)
        else:
            ybar_v = as_value(ybar, "ybar")
            if shape_of(ybar_v) != rec.out_shape:
                raise ValueError(f"ybar must have f(x)'s shape: f(x) has shape {rec.out_shape}, "
                                 f"ybar has shape {shape_of(ybar_v)}")
        adjoints = backward(tape, {rec.out_slot: ybar_v}, keep=True)
    reverse_operations = rec.operations

    marks = kept_marks(tape)

    def adjoint_of(slot: int) -> Any:
        a = adjoints[slot]
        return plain(a) if a is not None else plain(np.zeros(shape_of(tape.values[slot])))

    names = _input_names(x, n)
    entries: List[TraceEntry] = []
    for k, slot in enumerate(tape.inputs):
        entries.append(TraceEntry(index[slot], vname(index[slot]), "input", names[k], (),
                                  plain(tape.values[slot]),
                                  tuple(plain(t[slot]) for t in tangents), adjoint_of(slot),
                                  kept=marks.get(slot, "")))
    for e in tape.entries:
        j = index[e.slot]
        ops = [vname(index[p]) if p is not None else const_text(a)
               for p, a in zip(e.parents, e.args)]
        op = _operation(e, j, ops)
        entries.append(TraceEntry(j, vname(j), e.prim.name, formula(op),
                                  tuple(index[p] for p in e.parents if p is not None),
                                  plain(e.out), tuple(plain(t[e.slot]) for t in tangents),
                                  adjoint_of(e.slot), _edges(e, op, j, index),
                                  kept=marks.get(e.slot, "")))

    output = None
    if rec.out_slot is not None:
        output = next(t for t in entries if t.index == index[rec.out_slot])
    gradient = unflatten(treedef, [entries[k].adjoint for k in range(n)])
    out_tangents = [plain(output.tangents[d]) if output is not None
                    else plain(np.zeros(rec.out_shape)) for d in range(len(seeds))]
    return Trace(entries, output, plain(rec.value), gradient, seeds, labels, out_tangents,
                 plain(ybar_v), forward_operations, reverse_operations, names)


def _factor(symbol: str) -> str:
    """A partial in symbols as a factor: in parentheses when it is a sum or negative."""
    return f"({symbol})" if symbol.startswith("−") or " + " in symbol or " − " in symbol else symbol


def _operation(e: Entry, j: int, ops: List[str]) -> Operation:
    """The recorded entry as the notation table reads it."""
    return Operation(e.prim.name, e.prim.kind, tuple(ops), e.params, vname(j),
                     tuple(a if p is None else None for p, a in zip(e.parents, e.args)),
                     tuple(e.shapes), shape_of(e.out))


def _edges(e: Entry, op: Operation, j: int, index: Dict[int, int]) -> Tuple[Edge, ...]:
    prim = e.prim
    edges = []
    for k, p in enumerate(e.parents):
        if p is None:
            continue
        if prim.kind == "elementwise" and prim.partials is not None:
            pk = prim.partials[k]
            if callable(pk):
                # The primal run already warned about any domain problem; say it once.
                with np.errstate(all="ignore"):
                    partial = plain(pk(*e.args, e.out))
            else:
                partial = float(pk)
            symbol = label = partial_symbol(op, k)
        else:
            partial = None
            symbol = label = edge_label(op, k)
        edges.append(Edge(index[p], j, k, partial, symbol, label,
                          adjoint_term(op, k, bar(op.out), symbol)))
    return tuple(edges)
