"""Forward against reverse mode, on the textbook example and on growing maps: ``python -m dualdiff.compare``.

Prints, in order: (1) the evaluation trace of f(x1, x2) = log x1 + x1·x2 − sin x2 at (2, 5)
with one tangent column per seeded direction (forward mode), (2) the reverse sweep of adjoints
over the same trace (reverse mode), (3) the value, the gradient and what each mode cost, and (4) a
scaling table over maps R^n -> R^m showing where each mode wins. Every pass and operation count
comes from :func:`dualdiff.jacobian`'s own accounting (``full_output=True``); nothing is assumed.

Installed as the console script ``dualdiff-compare``. ``--no-timing`` makes the output
deterministic:

>>> from dualdiff.compare import main
>>> main(["--no-timing", "--sizes", "1", "10"])  # doctest: +ELLIPSIS
Forward and reverse mode on f(x1, x2) = log x1 + x1·x2 − sin x2 at (x1, x2) = (2, 5)
...
3. Result and cost
f(2, 5) = 11.6521
∇f(2, 5) = (5.5, 1.7163)
...
forward  2 (one per input)           10
reverse  1 (one per output)          10
...
0
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys
import textwrap
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

import numpy as np

from .page import Section, notebook, page, table, trace_sections
from .presentation import decimals
from .svg import Series, chart
from .trace import _render, trace
from .checkpoint import checkpoint_sequential
from .transforms import grad, jacobian

__all__ = ["main", "run", "Comparison", "textbook_f", "FAMILIES", "DEFAULT_SIZES", "MAX_SIZE"]

#: The sizes of the default scaling run, per family: n, or m for the n = 1 family
#: (``--sizes`` replaces all of them).
DEFAULT_SIZES = {"m = 1": (1, 10, 100, 1000), "n = 1": (1, 10, 100, 1000),
                 "m = n": (1, 10, 100, 300)}
#: The largest size accepted: the m = n map stores an n×n matrix (4096² floats are 128 MiB).
MAX_SIZE = 4096

#: What to run when --plot finds no matplotlib. (Not the extra by its bare name: on the public
#: package index "dualdiff" is an unrelated project.)
PLOT_HINT = 'install it with: pip install matplotlib (or, from a clone of dualdiff, pip install ".[plot]")'

_num = decimals(4)


def textbook_f(x: Tuple[Any, Any]) -> Any:
    """f(x1, x2) = log x1 + x1·x2 − sin x2, the worked example; x is the pair (x1, x2).

    >>> round(float(textbook_f((2.0, 5.0))), 4)
    11.6521
    """
    x1, x2 = x
    return np.log(x1) + x1 * x2 - np.sin(x2)


# --------------------------------------------------------------------------------------------
# The scaling families
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    """A family of maps R^n -> R^m, one per size: ``make(size)`` gives ``(f, x)``.

    ``size_of`` names the dimension the size sets, "n" or "m"; the table and the JSON report
    n and m as :func:`dualdiff.jacobian` counted them, whichever was chosen.
    """

    key: str
    formula: str
    make: Callable[[int], Tuple[Callable[[Any], Any], np.ndarray]]
    note: str = ""
    size_of: str = "n"


def _sum_sin(n: int):
    return (lambda x: np.sum(np.sin(x) * x)), np.linspace(0.5, 1.5, n)


def _sin_fan(m: int):
    k = np.arange(1.0, m + 1)
    # t stays a length-1 vector rather than a scalar so that J is m × 1, the shape of R^1 -> R^m.
    return (lambda t: np.sin(t * k) * k), np.array([0.5])


def _running_tanh(n: int):
    L = np.tril(np.ones((n, n)))
    return (lambda x: L @ np.tanh(x)), np.linspace(-1.0, 1.0, n)


#: m = 1 (a loss: reverse mode's home ground), n = 1 (a curve: forward mode's) and m = n (a
#: square Jacobian: a draw in passes).
FAMILIES = (
    Family("m = 1", "f(x) = sum(sin(x) · x)", _sum_sin),
    Family("n = 1", "f(t) = sin(t · k) · k for k = 1 … m; t is a length-1 vector, J is m × 1",
           _sin_fan, size_of="m"),
    Family("m = n", "f(x) = L @ tanh(x), L lower-triangular ones (a running sum)", _running_tanh,
           # Each of its n passes multiplies by an n×n matrix: n³ work per mode, so the default
           # run stops at n = 300 to stay within a few seconds on a small machine.
           note="(default sizes stop at n = 300: its full Jacobian costs n passes of n² work each)"),
)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

def _measure(fn: Callable[[], Any], budget: float = 0.05) -> float:
    """Seconds per call of ``fn``: the fastest of a few repeats, each long enough to time.

    The fastest, not the median: on a shared machine noise only ever adds time, so the minimum
    is the steadiest estimate of the cost itself and keeps the scaling lines from zig-zagging.
    """
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first >= 0.2:
        return first  # a long call is its own measurement; repeating it would only cost time
    repeats = 5 if first < 0.02 else 3
    loops = max(1, int(budget / repeats / max(first, 1e-7)))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - t0) / loops)
    return min(samples)


def _fmt_time(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _fmt_ratio(r: Optional[float]) -> str:
    if r is None:
        return "—"
    return f"{r:.3g}" if r < 1000 else f"{r:.0f}"


class _Progress:
    """Progress lines on ``stream`` for the scaling runs, shown once they have taken ``after`` s.

    Short runs stay silent; on a terminal each line overwrites the previous one.
    """

    def __init__(self, total: int, stream: Optional[TextIO] = None, after: float = 1.0):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.after = after
        self.start = time.perf_counter()
        self.count = 0
        self.shown = False
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def step(self, label: str) -> None:
        self.count += 1
        if time.perf_counter() - self.start < self.after:
            return
        text = f"scaling [{self.count}/{self.total}] {label}"
        if self.tty:
            self.stream.write("\r" + text.ljust(60))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            elapsed = time.perf_counter() - self.start
            text = f"scaling done in {elapsed:.1f} s"
            self.stream.write(("\r" + text.ljust(60) if self.tty else text) + "\n")
            self.stream.flush()


def _cost(f: Callable, x: Any, mode: str, chunk: int, timing: bool) -> Dict[str, Any]:
    """One Jacobian in ``mode``: its passes and operations (the library's count) and its time."""
    _, info = jacobian(f, x, mode=mode, chunk=chunk, full_output=True)
    seconds = _measure(lambda: jacobian(f, x, mode=mode, chunk=chunk)) if timing else None
    return {"passes": info.passes, "operations": info.operations, "chunk": info.chunk,
            "n_inputs": info.n_inputs, "n_outputs": info.n_outputs, "time_s": seconds}


def _winner(fwd: Dict[str, Any], rev: Dict[str, Any], timing: bool) -> str:
    if timing:
        a, b = fwd["time_s"], rev["time_s"]
        if abs(a - b) <= 0.05 * max(a, b):
            return "tie"
        return "forward" if a < b else "reverse"
    a, b = fwd["passes"], rev["passes"]
    return "tie" if a == b else ("forward" if a < b else "reverse")


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------

def _example(point: Tuple[float, float], chunk: int, timing: bool) -> Dict[str, Any]:
    t = trace(textbook_f, point)
    fwd = _cost(textbook_f, point, "forward", chunk, timing)
    rev = _cost(textbook_f, point, "reverse", chunk, timing)
    f_time = _measure(lambda: textbook_f(point)) if timing else None
    for c in (fwd, rev):
        c["ratio"] = c["time_s"] / f_time if timing else None
    return {"trace": t, "forward": fwd, "reverse": rev, "f_time_s": f_time}


#: The deep chain of the store-or-recompute section: its number of layers and their width.
CHAIN_LAYERS = 256
CHAIN_WIDTH = 64


def deep_chain(n: int = CHAIN_LAYERS, d: int = CHAIN_WIDTH, seed: int = 0):
    """n layers x -> tanh(W x + b) of width d (W, b fixed, drawn from ``seed``) and a start x₀.

    >>> layers, x0 = deep_chain(3, 4)
    >>> len(layers), layers[0](x0).shape
    (3, (4,))
    """
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(scale=d ** -0.5, size=(d, d)) for _ in range(n)]
    bs = [rng.normal(scale=0.1, size=d) for _ in range(n)]
    layers = [lambda x, W=W, b=b: np.tanh(W @ x + b) for W, b in zip(Ws, bs)]
    return layers, np.linspace(-1.0, 1.0, d)


def _store_or_recompute(timing: bool, n: int = CHAIN_LAYERS, d: int = CHAIN_WIDTH) -> Dict[str, Any]:
    """The gradient of sum(chain(x)) three ways: store all, √n checkpoints, every layer."""
    layers, x0 = deep_chain(n, d)

    def store_all(x):
        for layer in layers:
            x = layer(x)
        return np.sum(x)

    schedules: List[Tuple[str, Callable, int]] = [("store all", store_all, 0)]
    for name, segments in (("√n checkpoints", "sqrt"), ("every layer", n)):
        run = checkpoint_sequential(layers, segments)
        schedules.append((name, lambda x, run=run: np.sum(run(x)), run.segments))
    f_time = _measure(lambda: store_all(x0)) if timing else None
    rows, grads = [], []
    for name, f, k in schedules:
        g, info = grad(f, x0, full_output=True)
        grads.append(g)
        seconds = _measure(lambda: grad(f, x0)) if timing else None
        rows.append({"schedule": name, "checkpoints": k, "peak_bytes": info.peak_bytes,
                     "operations": info.operations, "time_s": seconds,
                     "ratio": seconds / f_time if seconds is not None and f_time else None})
    same = all(np.array_equal(g, grads[0]) for g in grads)
    return {"function": f"sum(x_{n}), x_(i+1) = tanh(W_i x_i + b_i), {n} layers of width {d}",
            "layers": n, "width": d, "f_time_s": f_time, "bitwise_equal": same, "rows": rows}


def _memory_table(mem: Dict[str, Any], timing: bool) -> Tuple[List[str], List[List[str]], str]:
    """The section's table (header, rows) and its closing sentence, shared by text and HTML."""
    rows = mem["rows"]
    vector = 8 * mem["width"]
    header = ["schedule", "checkpoints", "peak bytes kept", "vectors", "operations"]
    header += ["time", "× f"] if timing else []
    body = [[r["schedule"], str(r["checkpoints"]), f"{r['peak_bytes']:,}",
             str(r["peak_bytes"] // vector), str(r["operations"])]
            + ([_fmt_time(r["time_s"]), _fmt_ratio(r["ratio"])] if timing else []) for r in rows]
    store, sqrt_n = rows[0], rows[1]
    saved = store["peak_bytes"] / sqrt_n["peak_bytes"]
    cost = (f"{sqrt_n['time_s'] / store['time_s']:.2f}x the time" if timing
            else f"{sqrt_n['operations'] / store['operations']:.2f}x the operations")
    sentence = (f"The tutorial asks whether to store intermediate results or recompute them: "
                f"backpropagation stores (store all); √n checkpoints recompute instead and keep "
                f"{saved:.1f}x fewer bytes for {cost}, one extra forward pass. Checkpointing "
                f"every layer saves nothing here: each layer stores only its input.")
    return header, body, sentence


def _memory_intro(mem: Dict[str, Any]) -> str:
    n, d = mem["layers"], mem["width"]
    return (f"f(x) = sum(x_{n}) with x_(i+1) = tanh(W_i x_i + b_i): {n} layers of width {d}, "
            f"W_i and b_i fixed; the gradient with respect to x_0, storing every value the "
            f"sweep reads, or keeping only checkpoints (dd.checkpoint_sequential) and "
            f"recomputing the rest in the sweep. Peak bytes kept: the most bytes of values the "
            f"tape held at once (vectors of {d} floats). The gradients are the same to the last "
            f"bit" + (" (checked)." if mem["bitwise_equal"] else ": NOT (a bug, please report it)."))


def _memory_text(mem: Dict[str, Any], timing: bool) -> List[str]:
    header, body, sentence = _memory_table(mem, timing)
    return (["5. Store or recompute: the memory reverse mode keeps, on a deep chain"]
            + textwrap.wrap(_memory_intro(mem), 100, initial_indent="   ", subsequent_indent="   ")
            + ["", _render(header, body, [False] + [True] * (len(header) - 1)), ""]
            + textwrap.wrap(sentence, 100))


def _scaling(sizes: Optional[Sequence[int]], chunk: int, timing: bool) -> List[Dict[str, Any]]:
    plan = [(fam, size) for fam in FAMILIES for size in (sizes or DEFAULT_SIZES[fam.key])]
    rows = []
    progress = _Progress(len(plan))
    for fam, size in plan:
        progress.step(f"{fam.key}, {fam.size_of} = {size}")
        f, x = fam.make(size)
        fwd = _cost(f, x, "forward", chunk, timing)
        rev = _cost(f, x, "reverse", chunk, timing)
        f_time = _measure(lambda: f(x)) if timing else None
        for c in (fwd, rev):
            c["ratio"] = c["time_s"] / f_time if timing else None
        rows.append({"family": fam.key, "n": fwd["n_inputs"], "m": fwd["n_outputs"], "forward": fwd,
                     "reverse": rev, "f_time_s": f_time, "winner": _winner(fwd, rev, timing)})
    progress.done()
    return rows


def _passes_text(c: Dict[str, Any], mode: str) -> str:
    if mode == "reverse":
        return f"{c['passes']} (one per output)"
    if c["chunk"] == 1:
        return f"{c['passes']} (one per input)"
    return f"{c['passes']} (ceil({c['n_inputs']}/{c['chunk']}): {c['chunk']} inputs per pass)"


def _text(point, chunk, ex, rows, timing, sizes_given) -> str:
    t = ex["trace"]
    x1, x2 = (_num(v) for v in point)
    g = t.gradient
    out = [f"Forward and reverse mode on f(x1, x2) = log x1 + x1·x2 − sin x2 at (x1, x2) = ({x1}, {x2})",
           "",
           "1. Forward evaluation trace: v₋₁ = x1, v₀ = x2 (inputs), v₁ … v₅ (intermediates), y = v₅",
           "   Each tangent column is one forward-mode pass seeded with ẋ = eⱼ: v̇ᵢ = ∂vᵢ/∂xⱼ."
           + (f"\n   With --chunk {chunk}, one pass carries up to {chunk} of these columns at once."
              if chunk > 1 else ""),
           "",
           t.table(adjoints=False),
           "",
           "2. Reverse sweep over the same trace, from ȳ = 1 back to the inputs: v̄ᵢ = ∂y/∂vᵢ",
           "",
           t.sweep(),
           "",
           "3. Result and cost",
           f"f({x1}, {x2}) = {_num(t.value)}",
           f"∇f({x1}, {x2}) = ({_num(g[0])}, {_num(g[1])})",
           f"   closed form (1/x1 + x2, x1 − cos x2) = "
           f"({_num(1 / point[0] + point[1])}, {_num(point[0] - math.cos(point[1]))})",
           ""]
    header = ["mode", "passes", "operations"] + (["time", "× f"] if timing else [])
    table = []
    for mode in ("forward", "reverse"):
        c = ex[mode]
        row = [mode, _passes_text(c, mode), str(c["operations"])]
        if timing:
            row += [_fmt_time(c["time_s"]), _fmt_ratio(c["ratio"])]
        table.append(row)
    out.append(_render(header, table, [False, False, True, True, True]))
    out.append("operations: primitive operations interpreted, the recording included for reverse mode")
    out.append(f"one evaluation of f: {_fmt_time(ex['f_time_s'])}" if timing
               else "(timing off: --no-timing)")
    out.append("")
    out.append("4. Scaling over maps R^n -> R^m: passes and cost of the full Jacobian")
    out.append("   forward mode: " + ("one pass per input (n passes)" if chunk == 1
                                      else f"{chunk} inputs per pass (ceil(n/{chunk}) passes)")
               + "; reverse mode: one sweep per output (m sweeps)")
    for fam in FAMILIES:
        out.append(f"   {fam.key}:  {fam.formula}")
        if fam.note and not sizes_given:
            out.append(f"           {fam.note}")
    out.append("")
    header = ["map", "n", "m", "fwd passes", "rev passes", "fwd ops", "rev ops"]
    if timing:
        header += ["f time", "fwd time", "rev time", "fwd/f", "rev/f"]
    header.append("faster" if timing else "fewer passes")
    table = []
    for r in rows:
        fwd, rev = r["forward"], r["reverse"]
        row = [r["family"], str(r["n"]), str(r["m"]), str(fwd["passes"]), str(rev["passes"]),
               str(fwd["operations"]), str(rev["operations"])]
        if timing:
            row += [_fmt_time(r["f_time_s"]), _fmt_time(fwd["time_s"]), _fmt_time(rev["time_s"]),
                    _fmt_ratio(fwd["ratio"]), _fmt_ratio(rev["ratio"])]
        row.append(r["winner"])
        table.append(row)
    breaks = [i for i in range(1, len(rows)) if rows[i]["family"] != rows[i - 1]["family"]]
    out.append(_render(header, table, [False] + [True] * (len(header) - 2) + [False], breaks))
    out.append("")
    out.append("Forward mode needs one pass per input, reverse mode one sweep per output. With "
               "m = 1 the reverse\nsweep count stays at 1 while forward passes grow with n; "
               "with n = 1 it is the other way round, one\nforward pass against m reverse sweeps; "
               "with m = n both need n, and the cost of one pass decides.")
    if "memory" in ex:
        out += [""] + _memory_text(ex["memory"], timing)
    return "\n".join(out)


def _json(point, chunk, ex, rows, timing, sizes_given) -> str:
    t = ex["trace"]
    doc = {
        "function": "f(x1, x2) = log x1 + x1·x2 − sin x2",
        "point": list(point),
        "chunk": chunk,
        "timing": timing,
        "trace": t.to_dict(),
        "sweep": [dict(zip(("adjoint", "rule", "numbers", "value"), r)) for r in t.sweep_rows()],
        "value": float(t.value),
        "gradient": [float(v) for v in t.gradient],
        "cost": {"forward": ex["forward"], "reverse": ex["reverse"], "f_time_s": ex["f_time_s"]},
        "scaling": {"families": {fam.key: fam.formula for fam in FAMILIES}, "rows": rows},
    }
    if "memory" in ex:
        doc["store_or_recompute"] = ex["memory"]
    return json.dumps(doc, indent=2, ensure_ascii=False)


#: How each mode is drawn in both charts (matplotlib and SVG): a colour, a line and a marker of
#: its own, so that where the two lines coincide (m = n: both need n passes) both stay visible.
MODE_STYLE: Dict[str, Dict[str, Any]] = {
    "forward": {"colour": "#1f5fbf", "line": "-", "dash": "", "marker": "o", "svg_marker": "circle",
                "size": 9},
    "reverse": {"colour": "#c0392b", "line": "--", "dash": "6 4", "marker": "s",
                "svg_marker": "square", "size": 4},
}


def _panels(rows: List[Dict[str, Any]], timing: bool) -> List[Dict[str, Any]]:
    """The charts of the scaling run: for each family, its passes and its cost, per mode.

    One panel per family and measure, so no family's line hides another's; each family is
    drawn against the size it grows in (n, or m for the n = 1 family).
    """
    panels = []
    for measure in ("passes", "cost"):
        for fam in FAMILIES:
            sub = [r for r in rows if r["family"] == fam.key]
            if not sub:
                continue
            series = {}
            for mode in ("forward", "reverse"):
                if measure == "passes":
                    ys = [r[mode]["passes"] for r in sub]
                else:
                    ys = [r[mode]["ratio"] if timing else r[mode]["operations"] for r in sub]
                series[mode] = ys
            size = "n (inputs)" if fam.size_of == "n" else "m (outputs)"
            panels.append({
                "family": fam.key, "measure": measure,
                "title": f"{fam.key}: " + ("passes" if measure == "passes"
                                           else "time ÷ one run of f" if timing else "operations"),
                "xlabel": size, "xs": [r[fam.size_of] for r in sub], "series": series,
                "ylabel": ("passes for the full Jacobian" if measure == "passes"
                           else "time of the Jacobian ÷ time of f" if timing
                           else "primitive operations interpreted"),
            })
    return panels


def _figure(rows: List[Dict[str, Any]], timing: bool, figure_cls: Any) -> Any:
    """The scaling charts as a matplotlib figure: one row per measure, one column per family."""
    panels = _panels(rows, timing)
    ncols = max(1, len(panels) // 2)
    fig = figure_cls(figsize=(4.2 * ncols, 7.4))
    axes = fig.subplots(2, ncols, squeeze=False)
    for k, panel in enumerate(panels):
        ax = axes[k // ncols][k % ncols]
        for mode, ys in panel["series"].items():
            st = MODE_STYLE[mode]
            ax.plot(panel["xs"], ys, linestyle=st["line"], marker=st["marker"], color=st["colour"],
                    markersize=st["size"], markerfacecolor="none" if mode == "forward" else st["colour"],
                    linewidth=1.8, label=f"{mode} mode")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(panel["title"])
        ax.set_xlabel(panel["xlabel"])
        if k % ncols == 0:
            ax.set_ylabel(panel["ylabel"])
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
    fig.suptitle("Full Jacobian, forward against reverse mode" + ("" if timing else " (timing off)"))
    fig.tight_layout()
    return fig


def _plot(path: str, rows: List[Dict[str, Any]], timing: bool, figure_cls: Any) -> None:
    _figure(rows, timing, figure_cls).savefig(path)


def _charts(rows: List[Dict[str, Any]], timing: bool) -> str:
    """The same panels as SVG, for the HTML page (no matplotlib needed)."""
    out = []
    for panel in _panels(rows, timing):
        series = [Series(f"{mode} mode", panel["xs"], ys, MODE_STYLE[mode]["colour"],
                         MODE_STYLE[mode]["dash"], MODE_STYLE[mode]["svg_marker"])
                  for mode, ys in panel["series"].items()]
        out.append('<div class="dd-chart-cell">'
                   + chart(series, panel["title"], panel["xlabel"], panel["ylabel"], 340, 260,
                           standalone=False) + "</div>")
    return ('<style>.dd-charts { display: flex; flex-wrap: wrap; gap: 8px; } .dd-chart-cell '
            '{ flex: 1 1 300px; max-width: 360px; } .dd-chart-cell svg { width: 100%; height: auto; }'
            '</style><div class="dd-charts">' + "".join(out) + "</div>")


def _sections(point, chunk, ex, rows, timing, sizes_given) -> List[Section]:
    """The comparison's parts after the trace: the cost of each mode and the scaling charts.

    Further parts (another measure of the comparison) are further sections in this list.
    """
    t = ex["trace"]
    x1, x2 = (_num(v) for v in point)
    header = ["mode", "passes", "operations"] + (["time", "× f"] if timing else [])
    cost_rows = [[mode, _passes_text(ex[mode], mode), str(ex[mode]["operations"])]
                 + ([_fmt_time(ex[mode]["time_s"]), _fmt_ratio(ex[mode]["ratio"])] if timing else [])
                 for mode in ("forward", "reverse")]
    cost = (table(header, cost_rows, [False, False, True, True, True])
            + "<p>operations: primitive operations interpreted, the recording included for reverse "
            "mode. " + (f"One evaluation of f: {_fmt_time(ex['f_time_s'])}." if timing
                        else "Timing off (--no-timing).") + "</p>")
    scale_header = ["map", "n", "m", "fwd passes", "rev passes", "fwd ops", "rev ops"]
    scale_header += (["fwd/f", "rev/f"] if timing else []) + ["faster" if timing else "fewer passes"]
    scale_rows = [[r["family"], str(r["n"]), str(r["m"]), str(r["forward"]["passes"]),
                   str(r["reverse"]["passes"]), str(r["forward"]["operations"]),
                   str(r["reverse"]["operations"])]
                  + ([_fmt_ratio(r["forward"]["ratio"]), _fmt_ratio(r["reverse"]["ratio"])] if timing else [])
                  + [r["winner"]] for r in rows]
    families = "".join(f"<li>{fam.key}: {html.escape(fam.formula)}</li>" for fam in FAMILIES)
    scaling = ("<p>Forward mode needs one pass per input, reverse mode one sweep per output. "
               "Each family is drawn against the size it grows in.</p>"
               f"<ul>{families}</ul>" + _charts(rows, timing)
               + table(scale_header, scale_rows, [False] + [True] * (len(scale_header) - 2) + [False]))
    return [
        Section("cost", "Result and cost", f"<p>f({x1}, {x2}) = {_num(t.value)}; closed form of the "
                f"gradient (1/x1 + x2, x1 − cos x2) = ({_num(1 / point[0] + point[1])}, "
                f"{_num(point[0] - math.cos(point[1]))}).</p>" + cost),
        Section("scaling", "Scaling over maps R^n → R^m", scaling),
    ] + ([_memory_section(ex["memory"], timing)] if "memory" in ex else [])


def _memory_section(mem: Dict[str, Any], timing: bool) -> Section:
    header, body, sentence = _memory_table(mem, timing)
    return Section("memory", "Store or recompute",
                   f"<p>{html.escape(_memory_intro(mem))}</p>"
                   + table(header, body, [False] + [True] * (len(header) - 1))
                   + f"<p>{html.escape(sentence)}</p>")


def _html(point, chunk, ex, rows, timing, sizes_given) -> str:
    """The comparison as one self-contained page: the step-through, the cost, the scaling."""
    sections = trace_sections(ex["trace"]) + _sections(point, chunk, ex, rows, timing, sizes_given)
    x1, x2 = (_num(v) for v in point)
    intro = (f"<p>f(x1, x2) = log x1 + x1·x2 − sin x2 at (x1, x2) = ({x1}, {x2}): forward mode "
             "carries tangents from the inputs to the output, reverse mode carries adjoints back.</p>")
    return page("Forward and reverse mode, step by step", sections, intro)


# --------------------------------------------------------------------------------------------
# The comparison as an object (for notebooks and scripts)
# --------------------------------------------------------------------------------------------

class Comparison:
    """The result of :func:`run`: the worked example's trace and costs, and the scaling rows.

    ``str()`` is the command's text report; :meth:`to_json` and :meth:`to_html` its other two
    forms; in a notebook it shows the graph, the tables and the scaling charts.
    """

    def __init__(self, point: Tuple[float, float], chunk: int, example: Dict[str, Any],
                 rows: List[Dict[str, Any]], timing: bool, sizes_given: bool):
        self.point, self.chunk, self.example, self.rows = point, chunk, example, rows
        self.timing, self.sizes_given = timing, sizes_given

    @property
    def trace(self) -> Any:
        """The evaluation trace of the worked example (a :class:`~dualdiff.trace.Trace`)."""
        return self.example["trace"]

    def _args(self) -> tuple:
        return self.point, self.chunk, self.example, self.rows, self.timing, self.sizes_given

    def __str__(self) -> str:
        return _text(*self._args())

    def __repr__(self) -> str:
        return (f"<Comparison at {self.point}: {len(self.rows)} scaling rows, "
                f"timing {'on' if self.timing else 'off'}>")

    def to_json(self) -> str:
        """The report as JSON (what ``--json`` prints)."""
        return _json(*self._args())

    def to_html(self) -> str:
        """The report as a self-contained step-through page (what ``--html`` writes)."""
        return _html(*self._args())

    def _repr_html_(self) -> str:
        # A notebook gets the static views: no script, its own page styles untouched.
        return notebook(self.trace) + "".join(
            f"<h3>{html.escape(s.title)}</h3>{s.body}" for s in _sections(*self._args()))


def run(point: Tuple[float, float] = (2.0, 5.0), chunk: int = 1,
        sizes: Optional[Sequence[int]] = None, timing: bool = True,
        memory: bool = True) -> Comparison:
    """Run the comparison (as ``python -m dualdiff.compare`` does) and return it as an object.

    ``memory=False`` leaves out the store-or-recompute section (``--no-memory``).

    >>> from dualdiff.compare import run
    >>> c = run(sizes=[1, 10], timing=False)
    >>> c.rows[1]["family"], c.rows[1]["forward"]["passes"], c.rows[1]["reverse"]["passes"]
    ('m = 1', 10, 1)
    >>> "<svg" in c._repr_html_() and "<table" in c._repr_html_()
    True
    """
    if point[0] <= 0:
        raise ValueError(f"x1 must be > 0 (f takes log x1), got {point[0]:g}")
    ex = _example(point, chunk, timing)
    rows = _scaling(sizes, chunk, timing)
    if memory:
        ex["memory"] = _store_or_recompute(timing)
    return Comparison(point, chunk, ex, rows, timing, bool(sizes))


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _size(text: str) -> int:
    v = _positive_int(text)
    if v > MAX_SIZE:
        raise argparse.ArgumentTypeError(
            f"size {v} is too large: at most {MAX_SIZE} (the m = n map stores an n×n matrix)")
    return v


def _finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def _prog() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name if name and name not in ("compare.py", "__main__.py", "-c") else "python -m dualdiff.compare"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog(),
        description="Forward against reverse mode automatic differentiation: the evaluation "
                    "trace of f(x1, x2) = log x1 + x1·x2 − sin x2, its reverse sweep, the cost "
                    "of each mode, and how that cost scales for maps R^n -> R^m.")
    p.add_argument("--point", nargs=2, type=_finite_float, metavar=("X1", "X2"), default=(2.0, 5.0),
                   help="the point (x1, x2) of the worked example; x1 > 0 (default: 2 5)")
    p.add_argument("--chunk", type=_positive_int, default=1, metavar="K",
                   help="input directions per forward pass: ceil(n/K) passes (default: 1)")
    p.add_argument("--sizes", nargs="+", type=_size, metavar="N",
                   help=f"sizes of the scaling table, for every map: n, or m for the n = 1 "
                        f"map (default: {' '.join(map(str, DEFAULT_SIZES['m = 1']))} for m = 1, "
                        f"{' '.join(map(str, DEFAULT_SIZES['n = 1']))} for n = 1 and "
                        f"{' '.join(map(str, DEFAULT_SIZES['m = n']))} for m = n; "
                        f"at most {MAX_SIZE})")
    p.add_argument("--json", action="store_true", help="print the same content as JSON")
    p.add_argument("--plot", metavar="FILE.png",
                   help="save a plot of passes and cost against size for both modes (needs "
                        "matplotlib: pip install matplotlib)")
    p.add_argument("--html", metavar="FILE.html",
                   help="write a self-contained page: the graph of the example, a step-through "
                        "of both modes, the cost and the scaling charts (no package needed)")
    p.add_argument("--no-timing", action="store_true",
                   help="measure nothing: deterministic output (passes and operations only)")
    p.add_argument("--no-memory", action="store_true",
                   help="skip section 5, store or recompute: the memory kept on a deep chain "
                        "with and without checkpoints")
    return p


def _unwritable(path: str) -> Optional[str]:
    """Why ``path`` cannot be written as a new or replaced file, or None when it can."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "is a directory; give a file name"
    if not os.path.isdir(folder):
        return f"the directory {os.path.dirname(path) or folder} does not exist"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return "is not writable"
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the comparison with command-line arguments ``argv`` (default ``sys.argv[1:]``).

    Returns the exit status: 0 on success, 1 when ``--plot`` cannot run because matplotlib is
    missing. Bad arguments (an output path in a directory that does not exist, too) raise
    ``SystemExit(2)`` after argparse's usage message, before anything runs.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    point = (float(args.point[0]), float(args.point[1]))
    if point[0] <= 0:
        parser.error(f"--point: x1 must be > 0 (f takes log x1), got {args.point[0]:g}")
    # Checked before the long runs, so a bad path or a missing extra costs no waiting.
    for option, path in (("--plot", args.plot), ("--html", args.html)):
        if path is not None:
            problem = _unwritable(path)
            if problem:
                parser.error(f"{option} {path}: {problem}")
    figure_cls: Any = None
    if args.plot:
        try:
            from matplotlib.figure import Figure
            figure_cls = Figure
        except ImportError:
            print(f"--plot needs matplotlib, which is not installed; {PLOT_HINT}", file=sys.stderr)
            return 1
    result = run(point, args.chunk, args.sizes, not args.no_timing, memory=not args.no_memory)
    try:
        print(result.to_json() if args.json else str(result))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error of ours. Point stdout at devnull so
        # the interpreter's final flush does not raise again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    if args.plot:
        _plot(args.plot, result.rows, result.timing, figure_cls)
        print(f"plot written to {args.plot}", file=sys.stderr)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as out:
            out.write(result.to_html())
        print(f"page written to {args.html} (open it in a browser)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
