"""Pictures as SVG text, drawn in plain Python: the computational graph of a trace, and line charts.

:func:`graph` draws a :class:`~dualdiff.trace.Trace` the way the tutorials draw it: one box per
value (its name — x1, x2 for the inputs, v₁ … for the intermediates, y for the output —, what it
computes and its value), one arrow per argument labelled with the local partial ∂vⱼ/∂vᵢ, and two
optional overlays: the tangent v̇ of one forward direction (blue) and the adjoint v̄ of the reverse
sweep (red). Under the graph, each input's derivative is spelled out as the sum over paths of the
products of the partials on them. :func:`chart` draws log-log line charts (the scaling section of
``python -m dualdiff.compare``). No external program and no package beyond numpy is needed.

Every number is formatted by :mod:`dualdiff.presentation` from the trace's own values, the same
numbers the text tables print. Nodes, edges and overlays carry ``data-entry`` attributes so that
the step-through page (:mod:`dualdiff.page`) can reveal them one step at a time.

>>> import dualdiff as dd, numpy as np, xml.etree.ElementTree as ET
>>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
>>> root = ET.fromstring(graph(t))
>>> ns = {"s": "http://www.w3.org/2000/svg"}
>>> len(root.findall(".//s:g[@data-entry]", ns)), len(root.findall(".//s:g[@data-source]", ns))
(7, 8)
"""

from __future__ import annotations

import html
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .layout import layered
from .presentation import (
    BAR, DOT, decimals, edge_text, node_label, paren, plain, significant, summary, width,
)
from .primitives import shape_of

__all__ = ["graph", "chart", "Series"]

FONT = "DejaVu Sans, Segoe UI, Helvetica, Arial, sans-serif"
TANGENT_COLOUR = "#1f5fbf"
ADJOINT_COLOUR = "#c0392b"
#: Path sums with more paths than this are not spelled out (their number can grow exponentially).
MAX_PATHS = 6

_LINE = 17          # px per text line in a node
_PAD = 8            # px around a node's text
_CHAR = 7.4         # px per character at 12-13 px: an estimate, there is no font metric here
_WAYPOINT = 14      # px a bending edge takes in a column it crosses
_ROW_GAP = 26
_MARGIN = 16

_STYLE = f"""
.dd-graph text {{ font-family: {FONT}; font-size: 13px; fill: #222; }}
.dd-node rect {{ fill: #fff; stroke: #555; stroke-width: 1.2; }}
.dd-node.dd-input rect {{ fill: #f3f6fb; }}
.dd-node.dd-output rect {{ stroke-width: 2.4; }}
.dd-node.dd-recomputed rect {{ stroke-dasharray: 5 3; }}
.dd-node .dd-title {{ font-weight: bold; font-size: 14px; }}
.dd-node .dd-sub {{ fill: #555; font-size: 12px; }}
.dd-edge path {{ fill: none; stroke: #777; stroke-width: 1.3; }}
.dd-edge .dd-partial {{ font-size: 12px; paint-order: stroke; stroke: #fff; stroke-width: 4px;
  stroke-linejoin: round; }}
.dd-graph .dd-tan, .dd-graph .dd-key-tan {{ fill: {TANGENT_COLOUR}; }}
.dd-graph .dd-adj, .dd-graph .dd-key-adj {{ fill: {ADJOINT_COLOUR}; }}
.dd-graph .dd-caption {{ font-size: 13px; }}
.dd-graph .dd-legend {{ font-size: 12px; fill: #444; }}
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _num(text: str) -> str:
    """Numbers with a typographic minus sign, as the tutorials print them."""
    return text.replace("-", "−")


def _text_width(text: str, size: float = 13.0) -> float:
    return width(text) * _CHAR * size / 13.0


def _svg_open(w: float, h: float, title: str, standalone: bool, cls: str) -> List[str]:
    # Inside an HTML page the namespace is implied; a file of its own must declare it.
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    return [f'<svg{ns} class="{cls}" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" '
            f'height="{h:.0f}" role="img">', f"<title>{_esc(title)}</title>"]


# --------------------------------------------------------------------------------------------
# The computational graph
# --------------------------------------------------------------------------------------------

def _paths(trace: Any, goal: int) -> Optional[List[List[Any]]]:
    """Every path of edges from the output back to entry ``goal``; None when there are too many."""
    out = trace.output
    if out is None:
        return []
    by_index = {e.index: e for e in trace.entries}
    found: List[List[Any]] = []

    def walk(index: int, prefix: List[Any]) -> bool:
        if index == goal:
            found.append(prefix)
            return len(found) <= MAX_PATHS
        return all(walk(edge.source, prefix + [edge]) for edge in by_index[index].edges
                   if edge.source >= goal)
    return found if walk(out.index, []) else None


def path_sum(trace: Any, entry: Any, name: str, digits: int = 4) -> Optional[str]:
    """``∂y/∂x1 = 1·1·0.5 + 1·1·5 = 0.5 + 5 = 5.5``: the derivative as a sum over paths.

    None when a factor is not a number (an array, or a linear map) or the paths are too many.
    """
    paths = _paths(trace, entry.index)
    if not paths or shape_of(entry.adjoint) != () or shape_of(trace.ybar) != ():
        return None
    if any(edge.partial is None or shape_of(edge.partial) != () for p in paths for edge in p):
        return None
    fmt, total_fmt = significant(3), decimals(digits)
    ybar = plain(trace.ybar)
    factors, products = [], []
    for p in paths:
        seq = ([ybar] if ybar != 1 else []) + [plain(edge.partial) for edge in p]
        factors.append("·".join(paren(fmt(v)) for v in seq) or "1")
        products.append(math.prod(seq))
    terms = [fmt(products[0])] + [("− " + fmt(-v)) if v < 0 else ("+ " + fmt(v))
                                  for v in products[1:]]
    # factors, then the path products, then the sum: each stage only when it says more
    stages = [" + ".join(factors)]
    sums = (" ".join(terms),) if len(paths) > 1 else ()
    for stage in sums + (total_fmt(plain(entry.adjoint)),):
        if stage != stages[-1]:
            stages.append(stage)
    # with a seed ȳ other than 1, the sum is ȳ times the derivative
    text = ("" if ybar == 1 else "ȳ·") + f"∂y/∂{name} = " + " = ".join(stages)
    return _num(text)


def _node_lines(trace: Any, directions: Sequence[int], adjoints: bool,
                fmt: Any) -> Dict[int, List[Tuple[str, str]]]:
    """What each node says, line by line, as (class, text)."""
    out_index = trace.output.index if trace.output is not None else None
    names = dict(zip((e.index for e in trace.inputs), trace.input_names))
    lines = {}
    for e in trace.entries:
        title, subtitle = node_label(e, names.get(e.index), e.index == out_index)
        rows = [("dd-title", title), ("dd-sub", subtitle), ("dd-val", "= " + _num(summary(e.value, fmt)))]
        for d in directions:
            rows.append((f"dd-tan dd-dir{d}", f"v{DOT} = " + _num(summary(e.tangents[d], fmt))))
        if adjoints:
            rows.append(("dd-adj", f"v{BAR} = " + _num(summary(e.adjoint, fmt))))
        lines[e.index] = rows
    return lines


def _place(columns: List[List[Any]], node_w: Dict[Any, float], node_h: float, gap: float,
           top: float) -> Tuple[Dict[Any, Tuple[float, float]], Dict[Any, float], float, float]:
    """Each item's (left, right) and vertical centre, columns centred on the tallest one;
    and the width and height the columns take."""
    def height(item: Any) -> float:
        return _WAYPOINT if isinstance(item, tuple) else node_h

    col_w = [max([node_w[i] for i in col if not isinstance(i, tuple)], default=0.0) for col in columns]
    col_h = [sum(height(i) for i in col) + _ROW_GAP * (len(col) - 1) for col in columns]
    inner_h = max(col_h, default=0.0)
    x: Dict[Any, Tuple[float, float]] = {}
    y: Dict[Any, float] = {}
    left = float(_MARGIN)
    for c, col in enumerate(columns):
        cy = top + (inner_h - col_h[c]) / 2
        for item in col:
            h = height(item)
            # a waypoint spans its column, so the edge crosses it straight
            x[item] = (left, left + col_w[c]) if isinstance(item, tuple) else (
                left + (col_w[c] - node_w[item]) / 2, left + (col_w[c] + node_w[item]) / 2)
            y[item] = cy + h / 2
            cy += h + _ROW_GAP
        left += col_w[c] + gap
    return x, y, left - gap, inner_h


def _curve(points: List[Tuple[float, float]]) -> str:
    """An SVG path through ``points``: S-curves between columns, straight across a column."""
    path = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
    for k in range(1, len(points)):
        (x0, y0), (x1, y1) = points[k - 1], points[k]
        if k % 2 == 1:
            mx = (x0 + x1) / 2
            path += f" C{mx:.1f},{y0:.1f} {mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
        else:
            path += f" L{x1:.1f},{y1:.1f}"
    return path


def graph(trace: Any, direction: Optional[int] = 0, adjoints: bool = True, paths: bool = True,
          digits: int = 4, standalone: bool = True, directions: Optional[Sequence[int]] = None,
          ) -> str:
    """The computational graph of ``trace`` as SVG text (see :meth:`Trace.to_svg`).

    ``directions`` (several seeded directions, for a page that shows one at a time) overrides
    ``direction``; ``standalone`` adds the XML namespace a file of its own needs.
    """
    entries = list(trace.entries)
    by_index = {e.index: e for e in entries}
    out_index = trace.output.index if trace.output is not None else None
    fmt = decimals(digits)
    if directions is None:
        directions = [] if direction is None or not trace.direction_labels else [direction]
    for d in directions:
        if not 0 <= d < len(trace.direction_labels):
            raise ValueError(f"direction {d} was not seeded: the trace has "
                             f"{len(trace.direction_labels)} tangent directions "
                             f"(0 … {len(trace.direction_labels) - 1}); pass direction=None for none")

    lines = _node_lines(trace, directions, adjoints, fmt)
    # Overlays of several directions share one line: only one is shown at a time.
    node_h = (3 + (1 if directions else 0) + (1 if adjoints else 0)) * _LINE + 2 * _PAD
    node_w: Dict[Any, float] = {
        i: max(76.0, max(_text_width(t, 14 if c == "dd-title" else 13) for c, t in rows) + 2 * _PAD)
        for i, rows in lines.items()}
    edge_list = [edge for e in entries for edge in e.edges]
    labels = [_num(edge_text(edge, significant(3))) for edge in edge_list]
    gap = 70 + min(160.0, max([_text_width(s, 12) for s in labels], default=0.0))

    legend = []
    if directions:
        legend.append(("dd-key-tan", f"v{DOT}: tangents, forward mode ({trace.direction_labels[directions[0]]})"
                       if len(directions) == 1 else f"v{DOT}: tangents, forward mode"))
    if adjoints:
        legend.append(("dd-key-adj", f"v{BAR}: adjoints, reverse mode (ȳ = {_num(summary(trace.ybar, fmt))})"))
    legend.append(("dd-legend", "edges: local partials ∂vⱼ/∂vᵢ"))
    if any(getattr(e, "kept", "") == "recomputed" for e in entries):
        legend.append(("dd-legend", "dashed boxes: values a checkpoint recomputes in the sweep "
                                    "instead of storing"))
    top = _MARGIN + _LINE * len(legend) + 8

    columns, routes = layered([e.index for e in entries],
                              [(edge.source, edge.target) for edge in edge_list])
    x, y, right, inner_h = _place(columns, node_w, node_h, gap, top)
    names = dict(zip((e.index for e in trace.inputs), trace.input_names))
    captions = [(e.index, text) for e in trace.inputs if paths
                for text in [path_sum(trace, e, names[e.index], digits)] if text]
    total_w = max(right + _MARGIN,
                  max([_text_width(t) for _, t in captions + legend], default=0) + 2 * _MARGIN)
    total_h = top + inner_h + 12 + _LINE * len(captions) + _MARGIN

    title = "Computational graph of the trace" + (f": y = {_num(summary(trace.value, fmt))}"
                                                  if trace.output is not None else "")
    out = _svg_open(total_w, total_h, title, standalone, "dd-graph")
    out.append(f"<style>{_STYLE}</style>")
    # An opaque background: a picture shown on a dark page keeps its dark text readable.
    out.append(f'<rect width="{total_w:.0f}" height="{total_h:.0f}" fill="#fff"/>')
    out.append('<defs><marker id="dd-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
               'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
               'fill="#777"/></marker></defs>')
    for k, (cls, text) in enumerate(legend):
        out.append(f'<text class="{cls}" x="{_MARGIN}" y="{_MARGIN + _LINE * k + 10}">{_esc(text)}</text>')

    out.append('<g class="dd-edges">')
    for i, edge in enumerate(edge_list):
        points = [(x[edge.source][1], y[edge.source])]
        for w in routes[i]:
            points += [(x[w][0], y[w]), (x[w][1], y[w])]
        points.append((x[edge.target][0] - 1, y[edge.target]))
        (x0, y0), (x1, y1) = points[-2], points[-1]  # the label sits on the last curve
        src, dst = by_index[edge.source].name, by_index[edge.target].name
        tip = (f"∂{dst}/∂{src} = {edge.symbol}" if edge.partial is not None
               else f"{dst} is linear in {src}: {edge.label}")
        out.append(f'<g class="dd-edge" data-source="{edge.source}" data-target="{edge.target}">'
                   f"<title>{_esc(tip)}</title>"
                   f'<path d="{_curve(points)}" marker-end="url(#dd-arrow)"/>'
                   f'<text class="dd-partial" x="{(x0 + x1) / 2:.1f}" y="{(y0 + y1) / 2 - 4:.1f}" '
                   f'text-anchor="middle">{_esc(labels[i])}</text></g>')
    out.append("</g>")

    out.append('<g class="dd-nodes">')
    for e in entries:
        (x0, x1), cy = x[e.index], y[e.index]
        kind = " dd-input" if e.operation == "input" else (" dd-output" if e.index == out_index else "")
        kind += " dd-recomputed" if getattr(e, "kept", "") == "recomputed" else ""
        out.append(f'<g class="dd-node{kind}" data-entry="{e.index}">'
                   f"<title>{_esc(e.name + ' = ' + e.formula)}</title>"
                   f'<rect x="{x0:.1f}" y="{cy - node_h / 2:.1f}" width="{x1 - x0:.1f}" '
                   f'height="{node_h:.1f}" rx="10"/>')
        line = 0
        for cls, text in lines[e.index]:
            ty = cy - node_h / 2 + _PAD + _LINE * line + 13
            attrs = f' data-entry="{e.index}"' if cls.startswith(("dd-tan", "dd-adj")) else ""
            out.append(f'<text class="{cls}"{attrs} x="{(x0 + x1) / 2:.1f}" y="{ty:.1f}" '
                       f'text-anchor="middle">{_esc(text)}</text>')
            if not cls.startswith("dd-tan") or cls.endswith(f"dd-dir{directions[-1]}"):
                line += 1
        out.append("</g>")
    out.append("</g>")
    for k, (index, text) in enumerate(captions):
        # data-entry: the page reveals an input's path sum with its adjoint
        out.append(f'<text class="dd-caption dd-path" data-entry="{index}" x="{_MARGIN}" '
                   f'y="{top + inner_h + 12 + _LINE * k + 12:.1f}">{_esc(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Line charts
# --------------------------------------------------------------------------------------------

class Series:
    """One line of a chart: ``name`` (the legend's words), points ``xs``/``ys``, and its style:
    ``colour``, ``dash`` (an SVG dash pattern, "" for solid) and ``marker`` ("circle", "square",
    "triangle" or "diamond")."""

    def __init__(self, name: str, xs: Sequence[float], ys: Sequence[float], colour: str,
                 dash: str = "", marker: str = "circle"):
        self.name, self.xs, self.ys = name, list(xs), list(ys)
        self.colour, self.dash, self.marker = colour, dash, marker


def _marker(kind: str, cx: float, cy: float, colour: str) -> str:
    r = 4.0
    if kind == "square":
        return (f'<rect x="{cx - r:.1f}" y="{cy - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" '
                f'fill="{colour}"/>')
    if kind == "triangle":
        return (f'<path d="M{cx:.1f},{cy - r - 1:.1f} L{cx + r + 1:.1f},{cy + r:.1f} '
                f'L{cx - r - 1:.1f},{cy + r:.1f} z" fill="{colour}"/>')
    if kind == "diamond":
        return (f'<path d="M{cx:.1f},{cy - r - 1:.1f} L{cx + r + 1:.1f},{cy:.1f} L{cx:.1f},'
                f'{cy + r + 1:.1f} L{cx - r - 1:.1f},{cy:.1f} z" fill="none" stroke="{colour}" '
                f'stroke-width="1.5"/>')
    # Hollow and larger than the others, so a point drawn on top of it leaves a ring visible.
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r + 2:.1f}" fill="none" stroke="{colour}" stroke-width="1.5"/>'


def _decades(lo: float, hi: float) -> List[float]:
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if a == b:
        b += 1
    return [10.0 ** k for k in range(a, b + 1)]


def _tick(v: float) -> str:
    k = round(math.log10(v))
    return str(int(v)) if 0 <= k <= 4 else f"1e{k}"


def chart(series: Sequence[Series], title: str, xlabel: str, ylabel: str,
          width_px: int = 440, height_px: int = 300, standalone: bool = True) -> str:
    """A log-log line chart as SVG text: one line per series, each with its own colour, dash
    and marker, and a legend naming them. Points that are not positive are left out."""
    pts = [(x, y) for s in series for x, y in zip(s.xs, s.ys)
           if x is not None and y is not None and x > 0 and y > 0]
    xs = _decades(min(p[0] for p in pts), max(p[0] for p in pts)) if pts else [1.0, 10.0]
    ys = _decades(min(p[1] for p in pts), max(p[1] for p in pts)) if pts else [1.0, 10.0]
    legend_h = 16 * len(series) + 8
    left, right, top, bottom = 62, 14, 30, 46 + legend_h
    pw, ph = width_px - left - right, height_px - top - bottom + legend_h

    def px(v: float) -> float:
        return left + pw * (math.log10(v) - math.log10(xs[0])) / (math.log10(xs[-1]) - math.log10(xs[0]))

    def py(v: float) -> float:
        return top + ph - ph * (math.log10(v) - math.log10(ys[0])) / (math.log10(ys[-1]) - math.log10(ys[0]))

    total_h = top + ph + 46 + legend_h
    out = _svg_open(width_px, total_h, title, standalone, "dd-chart")
    out.append(f'<rect width="{width_px}" height="{total_h:.0f}" fill="#fff"/>')
    out.append(f'<g font-family="{FONT}" font-size="12" fill="#222">')
    out.append(f'<text x="{width_px / 2:.0f}" y="18" text-anchor="middle" font-size="14" '
               f'font-weight="bold">{_esc(title)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    for v in xs:
        out.append(f'<line x1="{px(v):.1f}" y1="{top}" x2="{px(v):.1f}" y2="{top + ph}" stroke="#e4e4e4"/>'
                   f'<text x="{px(v):.1f}" y="{top + ph + 16}" text-anchor="middle">{_tick(v)}</text>')
    for v in ys:
        out.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{left + pw}" y2="{py(v):.1f}" stroke="#e4e4e4"/>'
                   f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{_tick(v)}</text>')
    out.append(f'<text x="{left + pw / 2:.0f}" y="{top + ph + 34}" text-anchor="middle">{_esc(xlabel)}</text>')
    out.append(f'<text transform="translate(14,{top + ph / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">{_esc(ylabel)}</text>')
    for k, s in enumerate(series):
        p = [(px(a), py(b)) for a, b in zip(s.xs, s.ys)
             if a is not None and b is not None and a > 0 and b > 0]
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(f'<g class="dd-series" data-name="{_esc(s.name)}">')
        if len(p) > 1:
            out.append(f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in p)}" fill="none" '
                       f'stroke="{s.colour}" stroke-width="2"{dash}/>')
        out.extend(_marker(s.marker, a, b, s.colour) for a, b in p)
        ly = top + ph + 56 + 16 * k
        out.append(f'<line x1="{left}" y1="{ly - 4}" x2="{left + 30}" y2="{ly - 4}" stroke="{s.colour}" '
                   f'stroke-width="2"{dash}/>' + _marker(s.marker, left + 15, ly - 4, s.colour)
                   + f'<text x="{left + 38}" y="{ly}">{_esc(s.name)}</text></g>')
    out.append("</g></svg>")
    return "\n".join(out)
