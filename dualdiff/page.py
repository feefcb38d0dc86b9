"""Self-contained HTML: the step-through page of a trace, and the notebook view.

:func:`page` assembles one HTML document from a list of :class:`Section` s — inline CSS, inline
SVG and a little inline JavaScript, nothing fetched from the network, readable on a phone.
:func:`trace_sections` gives a trace's sections: the graph, the forward table and the reverse
sweep, with a step-through control. Step 0 shows the values; each of the next steps carries the
tangents one node further (forward mode, one column per seeded direction); then each step fills
one more line of the grad_table (reverse mode, newest value first), until the inputs' adjoints —
the gradient — appear. Buttons and the keyboard (→/← or j/k, Home, End) move between steps;
without JavaScript every number is shown at once. Other parts (the comparison command's cost and
scaling sections) are further sections in the same list.

:func:`notebook` is the static view a Jupyter cell shows for a trace: both tables and the graph.

>>> import dualdiff as dd, numpy as np
>>> t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (2.0, 5.0))
>>> doc = page("f", trace_sections(t))
>>> doc.startswith("<!DOCTYPE html>") and "http" not in doc and doc.count("<svg") == 1
True
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from .presentation import BAR, DOT, decimals, show
from .svg import graph

__all__ = ["Section", "page", "trace_sections", "notebook", "table"]


@dataclass(frozen=True)
class Section:
    """One part of a page: an ``id`` for links, a heading ``title``, and its ``body`` (HTML)."""

    id: str
    title: str
    body: str


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _num(text: str) -> str:
    return text.replace("-", "−")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool] = (),
          cls: str = "dd-table", row_attrs: Sequence[str] = (),
          cell_attrs: Optional[Sequence[Sequence[str]]] = None, caption: str = "") -> str:
    """An HTML table of already-formatted text; ``numeric`` columns are right-aligned.

    ``row_attrs`` and ``cell_attrs`` add attributes (trusted HTML) to rows and cells.
    """
    out = [f'<div class="dd-scroll"><table class="{cls}">']
    if caption:
        out.append(f"<caption>{_esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
    for r, row in enumerate(rows):
        attrs = row_attrs[r] if r < len(row_attrs) else ""
        cells = []
        for c, text in enumerate(row):
            extra = cell_attrs[r][c] if cell_attrs is not None and cell_attrs[r][c] else ""
            num = ' class="dd-num"' if c < len(numeric) and numeric[c] else ""
            cells.append(f"<td{num}{extra}>{_esc(text)}</td>")
        out.append(f"<tr{attrs}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


# Styles of the tables and the figure: safe inside a notebook, which has its own page styles.
_VIEW_CSS = """
.dd-scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table.dd-table { border-collapse: collapse; margin: 6px 0; font-size: .92rem; }
.dd-table caption { text-align: left; font-weight: bold; padding: 4px 0; }
.dd-table th, .dd-table td { padding: 3px 9px; border-bottom: 1px solid #e3e3e3; white-space: nowrap;
  text-align: left; }
.dd-table th { background: #f4f4f4; }
.dd-table td.dd-num { text-align: right; font-variant-numeric: tabular-nums; }
.dd-figure svg { max-width: 100%; height: auto; display: block; }
"""

# The page's own styles: layout, headings, the step controls.
_PAGE_CSS = """
:root { --tan: #1f5fbf; --adj: #c0392b; --now: #fff3b0; }
* { box-sizing: border-box; }
body { font-family: DejaVu Sans, Segoe UI, Helvetica, Arial, sans-serif; margin: 0 auto;
  max-width: 1100px; padding: 0 12px 48px; line-height: 1.45; color: #222; background: #fff; }
h1 { font-size: 1.35rem; margin: 18px 0 4px; }
h2 { font-size: 1.12rem; margin: 26px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
p { margin: 6px 0; }
nav.dd-toc { font-size: .92rem; }
nav.dd-toc a { margin-right: 12px; color: #1f5fbf; }
.dd-hidden { visibility: hidden; }
tr.dd-now td, .dd-table td.dd-now { background: var(--now); }
.dd-graph .dd-node.dd-now rect { fill: var(--now); stroke: #b8860b; stroke-width: 2.4; }
.dd-controls { position: sticky; top: 0; z-index: 2; background: #fafafa; border: 1px solid #ddd;
  border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
.dd-controls button { font: inherit; font-size: 1rem; min-width: 44px; min-height: 40px; margin: 2px;
  border: 1px solid #888; border-radius: 6px; background: #fff; cursor: pointer; }
.dd-controls button:disabled { opacity: .4; cursor: default; }
.dd-controls .dd-dirs button[aria-pressed="true"] { background: #e6eefb; border-color: var(--tan); }
.dd-status { margin-top: 6px; min-height: 2.8em; font-size: .95rem; }
.dd-count { color: #555; font-size: .9rem; margin-left: 6px; }
.dd-hint { color: #666; font-size: .85rem; }
@media (max-width: 600px) { body { padding: 0 6px 40px; } .dd-table { font-size: .85rem; }
  .dd-figure { overflow-x: auto; } .dd-figure svg { max-width: none; }
  .dd-controls button { min-width: 40px; } }
"""

# The step-through logic. Visibility is data-driven: an element with data-step="s" is shown from
# step s on; graph overlays are found by their entry (data-entry) and kind (tangent/adjoint).
_JS = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dd-steps").textContent);
  var steps = data.steps, last = steps.length - 1, current = 0;
  var status = document.getElementById("dd-status"), count = document.getElementById("dd-count");
  var fwd = data.forward, rev = data.reverse;
  function stepOf(el) {
    if (el.hasAttribute("data-step")) return Number(el.getAttribute("data-step"));
    var e = el.getAttribute("data-entry");
    if (el.classList.contains("dd-tan")) return fwd[e];
    if (el.classList.contains("dd-adj") || el.classList.contains("dd-path")) return rev[e];
    return 0;
  }
  var revealed = Array.prototype.slice.call(
    document.querySelectorAll("[data-step], .dd-graph .dd-tan[data-entry], .dd-graph .dd-adj[data-entry], " +
                              ".dd-graph .dd-path[data-entry]"));
  var marks = revealed.map(stepOf);
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-now]"));
  function show(s) {
    current = Math.max(0, Math.min(last, s));
    for (var i = 0; i < revealed.length; i++) {
      revealed[i].classList.toggle("dd-hidden", marks[i] > current);
    }
    for (var r = 0; r < rows.length; r++) {
      rows[r].classList.toggle("dd-now", Number(rows[r].getAttribute("data-now")) === current);
    }
    var step = steps[current];
    var nodes = document.querySelectorAll(".dd-graph .dd-node");
    for (var k = 0; k < nodes.length; k++) {
      nodes[k].classList.toggle("dd-now", step.entry !== null &&
                                nodes[k].getAttribute("data-entry") === String(step.entry));
    }
    status.innerHTML = "";
    var head = document.createElement("strong");
    head.textContent = step.phase + ": ";
    status.appendChild(head);
    for (var j = 0; j < step.lines.length; j++) {
      if (j > 0) status.appendChild(document.createElement("br"));
      var span = document.createElement("span");
      span.className = "dd-rule";
      span.textContent = step.lines[j];
      status.appendChild(span);
    }
    count.textContent = "step " + current + " of " + last;
    document.getElementById("dd-first").disabled = current === 0;
    document.getElementById("dd-prev").disabled = current === 0;
    document.getElementById("dd-next").disabled = current === last;
    document.getElementById("dd-last").disabled = current === last;
    document.body.setAttribute("data-step", String(current));
  }
  function pickDirection(d) {
    var fig = document.querySelector(".dd-figure");
    for (var k = 0; k < data.directions; k++) fig.classList.toggle("dd-show-dir" + k, k === d);
    var buttons = document.querySelectorAll(".dd-dirs button");
    for (var b = 0; b < buttons.length; b++) {
      buttons[b].setAttribute("aria-pressed", String(Number(buttons[b].getAttribute("data-dir")) === d));
    }
  }
  document.getElementById("dd-first").addEventListener("click", function () { show(0); });
  document.getElementById("dd-prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("dd-next").addEventListener("click", function () { show(current + 1); });
  document.getElementById("dd-last").addEventListener("click", function () { show(last); });
  var dirButtons = document.querySelectorAll(".dd-dirs button");
  for (var b = 0; b < dirButtons.length; b++) {
    dirButtons[b].addEventListener("click", function (ev) {
      pickDirection(Number(ev.currentTarget.getAttribute("data-dir")));
    });
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var k = ev.key, to = null;
    // Up/down arrows and the space bar keep scrolling the page.
    if (k === "ArrowRight" || k === "j") to = current + 1;
    else if (k === "ArrowLeft" || k === "k") to = current - 1;
    else if (k === "Home") to = 0;
    else if (k === "End") to = last;
    if (to !== null) { ev.preventDefault(); show(to); }
  });
  if (data.directions > 0) pickDirection(0);
  show(0);
  document.body.setAttribute("data-ready", "true");
})();
"""


def page(title: str, sections: Sequence[Section], intro: str = "") -> str:
    """One self-contained HTML document: ``title``, an ``intro`` (HTML), then each section.

    The step-through script is included when a section carries its controls
    (:func:`trace_sections`); otherwise the page has no script at all.
    """
    body = [f"<h1>{_esc(title)}</h1>"]
    if intro:
        body.append(intro)
    if len(sections) > 1:
        body.append('<nav class="dd-toc">' + "".join(
            f'<a href="#{_esc(s.id)}">{_esc(s.title)}</a>' for s in sections) + "</nav>")
    for s in sections:
        body.append(f'<section id="{_esc(s.id)}"><h2>{_esc(s.title)}</h2>{s.body}</section>')
    script = any('id="dd-steps"' in s.body for s in sections)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f"<style>{_VIEW_CSS}{_PAGE_CSS}</style></head><body>",
        *body,
        f"<script>{_JS}</script>" if script else "",
        "</body></html>",
    ])


def _steps(trace: Any, digits: int) -> Dict[str, Any]:
    """The steps of the page: values, then one per tangent, then one per adjoint."""
    entries = list(trace.entries)
    n_dir = len(trace.direction_labels)
    steps: List[Dict[str, Any]] = [{
        "phase": "Start", "entry": None,
        "lines": ["Every value vᵢ is computed (the forward evaluation). Next: the tangents v̇, "
                  "node by node." if n_dir else "Every value vᵢ is computed. Next: the adjoints v̄."]}]
    forward: Dict[str, int] = {}
    if n_dir:
        rows = [trace.tangent_rows(d, digits) for d in range(n_dir)]
        for k, e in enumerate(entries):
            forward[str(e.index)] = len(steps)
            lines = []
            for d in range(n_dir):
                name, rule, numbers, value = rows[d][k]
                text = f"{name} = {rule}" + (f" = {numbers}" if numbers else "") + f" = {value}"
                lines.append(_num(text) + (f"   ({trace.direction_labels[d]})" if n_dir > 1 else ""))
            steps.append({"phase": f"Forward mode, {e.name}", "entry": e.index, "lines": lines})
    reverse: Dict[str, int] = {}
    for e, (name, rule, numbers, value) in zip(reversed(entries), trace.sweep_rows(digits)):
        reverse[str(e.index)] = len(steps)
        text = f"{name} = {rule}" + (f" = {numbers}" if numbers else "") + f" = {value}"
        if e.operation == "input":
            text += f"   → ∂y/∂{trace.input_names[entries.index(e)]} = {value}"
        steps.append({"phase": f"Reverse mode, grad_table[{e.name}]", "entry": e.index,
                      "lines": [_num(text)]})
    return {"steps": steps, "forward": forward, "reverse": reverse, "directions": n_dir}


def _forward_table(trace: Any, digits: int, steps: Optional[Dict[str, Any]]) -> str:
    fmt = decimals(digits)
    header = ["v", "formula", "value"] + [f"v{DOT} ({lab})" for lab in trace.direction_labels]
    rows, row_attrs, cells = [], [], []
    for e in trace.entries:
        rows.append([e.name, e.formula, _num(show(e.value, fmt))]
                    + [_num(show(t, fmt)) for t in e.tangents])
        s = steps["forward"].get(str(e.index)) if steps else None
        # The row is highlighted at its step; only its tangents wait for it.
        row_attrs.append(f' data-now="{s}"' if s is not None else "")
        mark = f' data-step="{s}"' if s is not None else ""
        cells.append(["", "", ""] + [mark for _ in e.tangents])
    numeric = [False, False] + [True] * (1 + len(trace.direction_labels))
    return table(header, rows, numeric, row_attrs=row_attrs, cell_attrs=cells,
                 caption="Forward mode: values and tangents, top to bottom")


def _sweep_table(trace: Any, digits: int, steps: Optional[Dict[str, Any]]) -> str:
    rows, row_attrs, cells = [], [], []
    for e, row in zip(reversed(list(trace.entries)), trace.sweep_rows(digits)):
        rows.append([row[0], row[1], _num(row[2]), _num(row[3])])
        s = steps["reverse"][str(e.index)] if steps else None
        # Each line of the grad_table is there from the start, empty until its step fills it.
        row_attrs.append(f' data-now="{s}"' if s is not None else "")
        mark = f' data-step="{s}"' if s is not None else ""
        cells.append(["", mark, mark, mark])
    return table(["adjoint", f"= Σ v{BAR}ⱼ · ∂vⱼ/∂vᵢ", "numbers", "value"], rows,
                 [False, False, False, True], row_attrs=row_attrs, cell_attrs=cells,
                 caption="Reverse mode: the grad_table, filled from ȳ back to the inputs")


def _result(trace: Any, digits: int, reveal: Optional[int] = None) -> str:
    """The value, the gradient and the operation counts; on the page the gradient waits for
    the step ``reveal`` (the end of the sweep) instead of giving the answer away at step 0."""
    fmt = decimals(digits)
    grads = ", ".join(f"∂y/∂{name} = {_num(show(e.adjoint, fmt))}"
                      for name, e in zip(trace.input_names, trace.inputs))
    mark = f' data-step="{reveal}"' if reveal is not None else ""
    return (f"<p>y = {_esc(_num(show(trace.value, fmt)))}<span{mark}>; {_esc(grads)}</span>. "
            f"Forward mode: {trace.forward_operations} operations "
            f"({len(trace.direction_labels)} direction{'s' if len(trace.direction_labels) != 1 else ''}"
            f"); reverse mode: {trace.reverse_operations} (recording and one sweep).</p>")


def trace_sections(trace: Any, digits: int = 4) -> List[Section]:
    """The step-through sections of a trace: the graph with its controls, then both tables."""
    steps = _steps(trace, digits)
    n_dir = steps["directions"]
    payload = json.dumps(steps, ensure_ascii=False).replace("</", "<\\/")
    dirs = ""
    if n_dir > 1:
        dirs = ('<div class="dd-dirs">tangents in the graph: ' + "".join(
            f'<button type="button" data-dir="{d}" aria-pressed="{str(d == 0).lower()}">'
            f"{_esc(lab)}</button>" for d, lab in enumerate(trace.direction_labels)) + "</div>")
    controls = (
        '<div class="dd-controls" role="group" aria-label="step through the derivative">'
        '<button type="button" id="dd-first" title="first step (Home)">« start</button>'
        '<button type="button" id="dd-prev" title="previous step (←)">◀ back</button>'
        '<button type="button" id="dd-next" title="next step (→)">next ▶</button>'
        '<button type="button" id="dd-last" title="last step (End)">end »</button>'
        '<span class="dd-count" id="dd-count"></span>' + dirs +
        '<div class="dd-status" id="dd-status" aria-live="polite"></div></div>')
    dir_css = "".join(f".dd-figure.dd-show-dir{d} .dd-dir{d} {{ display: inline; }}"
                      for d in range(n_dir))
    figure = (f"<style>.dd-figure .dd-tan {{ display: none; }}{dir_css}</style>"
              f'<div class="dd-figure dd-show-dir0">{graph(trace, directions=range(n_dir), digits=digits, standalone=False)}</div>')
    graph_body = (
        '<p class="dd-hint">Step with the buttons or the keyboard (→ / ←, Home, End). Blue: the '
        'tangents v̇ of forward mode; red: the adjoints v̄ of reverse mode; each arrow carries the '
        'local partial ∂vⱼ/∂vᵢ.</p>'
        f'<script type="application/json" id="dd-steps">{payload}</script>'
        + controls + figure + _result(trace, digits, len(steps["steps"]) - 1))
    return [Section("graph", "The computational graph", graph_body),
            Section("forward", "Forward mode: the evaluation trace with tangents",
                    _forward_table(trace, digits, steps)),
            Section("reverse", "Reverse mode: the sweep of adjoints", _sweep_table(trace, digits, steps))]


def notebook(trace: Any, digits: int = 4) -> str:
    """The static HTML a notebook shows for a trace: the graph, then both tables (no script)."""
    return ('<div class="dd-notebook">'
            + f"<style>{_VIEW_CSS}</style>"
            + f'<div class="dd-figure">{graph(trace, digits=digits, standalone=False)}</div>'
            + _result(trace, digits)
            + _forward_table(trace, digits, None)
            + _sweep_table(trace, digits, None) + "</div>")
