"""dd.checkpoint and dd.checkpoint_sequential: same numbers, bit for bit, and less memory kept.

The oracle for a checkpointed derivative is the same derivative without the checkpoint, which
the rest of the suite checks against complex step; here the two must agree *exactly*
(np.array_equal), since the re-run repeats the same operations and its sweep adds in the same
order. One property test also checks the checkpointed gradient against complex step directly.
Memory: the reported bytes are checked against closed forms (n arrays of known size) and against
tracemalloc.
"""

from __future__ import annotations

import gc
import math
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import dualdiff as dd
from dualdiff import buffers
from dualdiff.memory import kept_bytes, value_bytes
from oracles import check_close, complex_step_jacobian
from test_properties import (BINARY, MIXING, N, NVARS, SETTINGS, UNARY, _expressions,
                             _vector_dd, evaluate_dd)

SMALL = dict(SETTINGS, max_examples=min(SETTINGS["max_examples"], 60))


def same(a, b):
    """Bitwise equality of two results (arrays, numbers, or tuples/dicts of them)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


# --------------------------------------------------------------------------------------------
# Random compositions with random subtrees checkpointed
# --------------------------------------------------------------------------------------------

def evaluate_ckpt(expr, xs, marks, path=()):
    """evaluate_dd, with the subtrees at the paths in ``marks`` run through dd.checkpoint.

    A checkpointed subtree receives all the variables as arguments (a checkpoint must not close
    over values being differentiated), so the variables are used inside and outside checkpoints
    alike. A "bin" node whose path is marked with "pair" checkpoints both children as one call
    with two outputs.
    """
    if path in marks:
        kind = marks[path]
        if kind == "pair" and expr[0] == "bin":
            both = dd.checkpoint(lambda *vs: (evaluate_ckpt(expr[2], vs, marks, path + (2,)),
                                              {"b": evaluate_ckpt(expr[3], vs, marks, path + (3,))}))
            a, b = both(*xs)
            return BINARY[expr[1]][0](a, b["b"])
        sub = {k: v for k, v in marks.items() if k != path}
        return dd.checkpoint(lambda *vs: evaluate_ckpt(expr, vs, sub, path))(*xs)
    kind = expr[0]
    if kind in ("var", "const"):
        return evaluate_dd(expr, xs)
    if kind == "un":
        return UNARY[expr[1]][0](evaluate_ckpt(expr[2], xs, marks, path + (2,)))
    if kind == "bin":
        return BINARY[expr[1]][0](evaluate_ckpt(expr[2], xs, marks, path + (2,)),
                                  evaluate_ckpt(expr[3], xs, marks, path + (3,)))
    return MIXING[expr[1]][0](_vector_dd(evaluate_ckpt(expr[2], xs, marks, path + (2,))))


def _paths(expr, path=()):
    yield path
    for i in (2, 3):
        if len(expr) > i and isinstance(expr[i], tuple):
            yield from _paths(expr[i], path + (i,))


@st.composite
def marked_expressions(draw, with_mixing):
    expr = draw(_expressions(with_mixing))
    paths = list(_paths(expr))
    chosen = draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True))
    return expr, {p: draw(st.sampled_from(["one", "pair"])) for p in chosen}


array_points = st.lists(st.floats(-2.0, 2.0, allow_nan=False, width=32),
                        min_size=NVARS * N, max_size=NVARS * N)
points = st.lists(st.floats(-2.0, 2.0, allow_nan=False, width=32), min_size=NVARS, max_size=NVARS)


@settings(**SMALL)
@given(case=marked_expressions(with_mixing=True), x=array_points)
def test_checkpointed_gradient_is_bitwise_equal(case, x):
    expr, marks = case
    X = np.array(x).reshape(NVARS, N)
    W = np.cos(np.arange(N) + 1.0)

    def plain(Z):
        return np.sum(_vector_dd(evaluate_dd(expr, [Z[0], Z[1], Z[2]])) * W)

    def ckpt(Z):
        return np.sum(_vector_dd(evaluate_ckpt(expr, [Z[0], Z[1], Z[2]], marks)) * W)

    with np.errstate(all="ignore"):
        want = dd.grad(plain, X)
        got = dd.grad(ckpt, X)
        assert same(got, want), (expr, marks)
        # a vjp pulled back twice re-runs the checkpoints twice; both agree too
        _, pull0 = dd.vjp(plain, X)
        _, pull1 = dd.vjp(ckpt, X)
        assert same(pull1(2.0), pull0(2.0)) and same(pull1(-1.0), pull0(-1.0))


@settings(**SMALL)
@given(case=marked_expressions(with_mixing=True), x=array_points)
def test_checkpointed_reverse_jacobian_is_bitwise_equal(case, x):
    """Reverse-mode Jacobian (one sweep per output, each re-running the checkpoints)."""
    expr, marks = case
    X = np.array(x).reshape(NVARS, N)
    with np.errstate(all="ignore"):
        J0 = dd.jacobian(lambda Z: _vector_dd(evaluate_dd(expr, [Z[0], Z[1], Z[2]])), X, mode="reverse")
        J1 = dd.jacobian(lambda Z: _vector_dd(evaluate_ckpt(expr, [Z[0], Z[1], Z[2]], marks)), X,
                         mode="reverse")
    assert same(J1, J0), (expr, marks)


@settings(**SMALL)
@given(case=marked_expressions(with_mixing=False), x=points)
def test_checkpointed_hessian_is_bitwise_equal_and_right(case, x):
    """Forward over reverse: the sweep runs on Duals and re-runs fn on Duals."""
    expr, marks = case
    x = np.array(x)
    f0 = lambda z: evaluate_dd(expr, [z[0], z[1], z[2]])
    f1 = lambda z: evaluate_ckpt(expr, [z[0], z[1], z[2]], marks)
    with np.errstate(all="ignore"):
        H0, H1 = dd.hessian(f0, x), dd.hessian(f1, x)
        g1 = dd.grad(f1, x)
        v = np.array([0.5, -1.0, 2.0])
        hv0, hv1 = dd.hvp(f0, x, v), dd.hvp(f1, x, v)
    assert same(H1, H0) and same(hv1, hv0), (expr, marks)
    # and against an oracle that is not dualdiff: complex step on the plain numpy expression
    assume(np.all(np.isfinite(g1)) and np.max(np.abs(g1), initial=0) < 1e6)
    assume(all(k[0] not in ("abs", "relu", "sign_times", "maximum", "minimum", "where")
               for k in _ops(expr)))
    from test_properties import Kinks, _reference
    ref = _reference(expr, Kinks(), lambda z: [z[0], z[1], z[2]])
    with np.errstate(all="ignore"):
        check_close(g1, complex_step_jacobian(ref, x), rtol=1e-8, atol_scale=1e-10, what=str(expr))


def _ops(expr):
    if expr[0] in ("var", "const"):
        return []
    return [(expr[1],)] + [o for c in expr[2:] if isinstance(c, tuple) for o in _ops(c)]


# --------------------------------------------------------------------------------------------
# Nesting, containers, control flow, forward mode
# --------------------------------------------------------------------------------------------

def test_nested_checkpoints_are_bitwise_equal():
    inner = lambda x: np.sin(x) * x
    mid = lambda x: np.tanh(dd.checkpoint(inner)(x) + dd.checkpoint(inner)(x * 2.0))
    outer = lambda x: np.exp(-dd.checkpoint(mid)(x)) * x
    plain_mid = lambda x: np.tanh(inner(x) + inner(x * 2.0))
    x = np.linspace(-1.0, 2.0, 7)
    g1 = dd.grad(lambda x: np.sum(dd.checkpoint(outer)(x) ** 2), x)
    g0 = dd.grad(lambda x: np.sum((np.exp(-plain_mid(x)) * x) ** 2), x)
    assert same(g1, g0)
    H1 = dd.hessian(lambda x: np.sum(dd.checkpoint(outer)(x) ** 2), x[:3])
    H0 = dd.hessian(lambda x: np.sum((np.exp(-plain_mid(x)) * x) ** 2), x[:3])
    assert same(H1, H0)


def test_containers_in_and_out():
    @dd.checkpoint
    def block(params, x, scale=1.0, activation="tanh"):
        act = np.tanh if activation == "tanh" else np.sin
        h = act(params["W"] @ x + params["b"]) * scale
        return {"h": h, "norms": (np.sum(h ** 2), np.sum(params["W"] ** 2))}, "label"

    def plain(params, x, scale=1.0, activation="tanh"):
        act = np.tanh if activation == "tanh" else np.sin
        h = act(params["W"] @ x + params["b"]) * scale
        return {"h": h, "norms": (np.sum(h ** 2), np.sum(params["W"] ** 2))}, "label"

    rng = np.random.default_rng(0)
    p = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=3)}
    x = rng.normal(size=4)

    def loss(block):
        def f(q):
            out, label = block(q[0], q[1], scale=0.5, activation="sin")
            assert label == "label"
            return np.sum(out["h"] * out["h"][::-1]) + out["norms"][0] * out["norms"][1]
        return f

    g0 = dd.grad(loss(plain), (p, x))
    g1 = dd.grad(loss(block), (p, x))
    assert same(g1, g0)
    # forward mode (chunked) calls the function itself: the same Jacobian
    J0 = dd.jacobian(loss(plain), (p, x), chunk="auto")
    J1 = dd.jacobian(loss(block), (p, x), chunk="auto")
    assert same(J1, J0)


def test_returned_inputs_and_constants_pass_through():
    f = dd.checkpoint(lambda x, y: (x, np.sin(y), 3, np.ones(2)))

    def loss(v):
        a, b, c, d = f(v[0], v[1])
        assert c == 3
        return np.sum(a * b * d) + np.sum(a)

    v = (np.array([1.0, 2.0]), np.array([0.5, -0.5]))
    assert same(dd.grad(loss, v), dd.grad(lambda v: np.sum(v[0] * np.sin(v[1]) * np.ones(2)) + np.sum(v[0]), v))


def test_the_same_input_twice_and_duplicate_outputs():
    def pair(a, b):
        y = a * b
        return y, y, a + b  # the same value twice, and a second output

    f = dd.checkpoint(pair)
    x = np.array([0.3, -1.2, 2.0])

    def loss(pair):
        def l(x):
            p, q, r = pair(x, x)
            return np.sum(np.sin(p) + np.cos(q) * x * r)
        return l

    assert same(dd.grad(loss(f), x), dd.grad(loss(pair), x))


def test_python_control_flow_takes_the_same_branches():
    calls = []

    def piecewise(x, k):
        calls.append(1)
        y = x
        while np.sum(y * y) < 10.0:  # a loop whose trip count depends on the traced value
            y = y * 1.5 + np.sin(y)
        if np.sum(y) > 0:
            return y ** 2 * k
        return -y * k

    x = np.array([0.2, -0.1, 0.4])
    k = np.array([1.0, 2.0, 3.0])
    g0 = dd.grad(lambda v: np.sum(piecewise(v[0], v[1])), (x, k))
    calls.clear()
    g1 = dd.grad(lambda v: np.sum(dd.checkpoint(piecewise)(v[0], v[1])), (x, k))
    assert same(g1, g0)
    assert len(calls) == 2  # first pass + re-run in the sweep: side effects happen twice


def test_forward_mode_and_plain_calls_just_call_fn():
    calls = []

    def f(x):
        calls.append(1)
        return np.sin(x) * x

    c = dd.checkpoint(f)
    x = np.array([0.1, 0.7])
    assert same(c(x), f(x))
    y, t = dd.jvp(c, x, np.ones(2))
    assert same(t, dd.jvp(f, x, np.ones(2))[1])
    calls.clear()
    dd.jacobian(c, x, chunk=2)
    assert len(calls) == 1  # one chunked forward pass, no re-run
    assert c.__wrapped__ is f and c.__name__ == "f"


def test_a_closure_over_a_differentiated_value_is_an_error():
    def loss(v):
        x, w = v
        return np.sum(dd.checkpoint(lambda x: np.sin(x) * w)(x))  # w is closed over

    with pytest.raises(ValueError, match="Pass it as an argument"):
        dd.grad(loss, (np.ones(2), np.ones(2)))

    def loss2(v):
        x, w = v
        return np.sum(dd.checkpoint(lambda x: x + w * 2.0)(x))  # recorded on the outer tape

    with pytest.raises(ValueError, match="Pass it as an argument"):
        dd.grad(loss2, (np.ones(2), np.ones(2)))


def test_a_function_that_changes_between_runs_is_an_error():
    flip = []

    def f(x):
        flip.append(1)
        return (np.sin(x),) if len(flip) == 1 else (np.sin(x), np.cos(x))

    with pytest.raises(RuntimeError, match="different result when it was re-run"):
        dd.grad(lambda x: np.sum(dd.checkpoint(f)(x)[0]), np.ones(2))


def test_bad_arguments():
    with pytest.raises(TypeError, match="takes a function"):
        dd.checkpoint(3)
    with pytest.raises(ValueError, match="'sqrt'"):
        dd.checkpoint_sequential([np.sin], segments="log")
    with pytest.raises(ValueError, match="positive int"):
        dd.checkpoint_sequential([np.sin], segments=0)
    with pytest.raises(TypeError, match="layers\\[1\\]"):
        dd.checkpoint_sequential([np.sin, 2])
    with pytest.raises(ValueError, match="one entry per layer"):
        dd.checkpoint_sequential([lambda x, p: x * p] * 3)(np.ones(2), [1.0])


def test_leaked_value_in_a_checkpoint_is_an_error():
    kept = []
    dd.grad(lambda x: (kept.append(x), np.sum(x))[1], np.ones(2))
    with pytest.raises(ValueError, match="finished"):
        dd.checkpoint(np.sin)(kept[0])


# --------------------------------------------------------------------------------------------
# checkpoint_sequential: segments, parameters, operations
# --------------------------------------------------------------------------------------------

def chain(n, d, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(scale=1 / math.sqrt(d), size=(d, d)) for _ in range(n)]
    bs = [rng.normal(scale=0.1, size=d) for _ in range(n)]
    return Ws, bs


@pytest.mark.parametrize("segments", [1, 2, 5, "sqrt", 25])
def test_sequential_with_parameters_is_bitwise_equal(segments):
    n, d = 25, 6
    Ws, bs = chain(n, d)
    layer = lambda x, p: np.tanh(p[0] @ x + p[1])
    params = tuple(zip(Ws, bs))
    x = np.linspace(-1, 1, d)

    def plain(v):
        h = v[0]
        for p in v[1]:
            h = layer(h, p)
        return np.sum(h ** 2)

    run = dd.checkpoint_sequential([layer] * n, segments)
    g0 = dd.grad(plain, (x, params))
    g1, info = dd.grad(lambda v: np.sum(run(v[0], v[1]) ** 2), (x, params), full_output=True)
    assert same(g1, g0)
    k = 5 if segments == "sqrt" else segments
    assert run.segments == k
    # operations: store-all records 3 per layer + 2 (power, sum) and sweeps them; with
    # checkpoints each layer is also run once unrecorded, and each segment is one more entry.
    _, info0 = dd.grad(plain, (x, params), full_output=True)
    assert info0.operations == 2 * (3 * n + 2)
    assert info.operations == info0.operations + 3 * n + 2 * k


# --------------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------------

def test_bytes_kept_closed_forms():
    x = np.ones(1000)  # 8000 bytes
    f = lambda x: np.sum(np.tanh(np.sin(x) + 2.0))  # sin keeps x, tanh its output, + nothing
    _, info = dd.grad(f, x, full_output=True)
    assert info.peak_bytes == 2 * 8000
    _, info = dd.grad(lambda x: np.sum(np.sin(x) * 2.0), x, full_output=True)
    assert info.peak_bytes == 2 * 8000  # * keeps sin(x) (the constant 2.0 is not counted)
    _, info = dd.jacobian(lambda x: np.tanh(x[:3]), x, mode="reverse", full_output=True)
    assert info.peak_bytes == 3 * 8
    _, info = dd.jacobian(np.tanh, x[:3], full_output=True)
    assert info.peak_bytes == 0  # forward mode keeps no tape
    _, pullback, mem = dd.vjp(lambda x: np.tanh(np.tanh(x)), x, full_output=True)
    assert mem.kept_bytes == mem.peak_bytes == 16000
    # a checkpoint keeps its input; its re-run keeps its own two values on top, in the sweep
    _, pullback, mem = dd.vjp(lambda x: dd.checkpoint(lambda y: np.tanh(np.tanh(y)))(x) + 3.0, x,
                              full_output=True)
    assert mem.kept_bytes == 8000
    assert mem.peak_bytes == 8000
    pullback(np.ones(1000))
    assert mem.peak_bytes == 8000 + 16000
    # a reverse Jacobian sweeps once per output, re-running the checkpoint each time
    J, info = dd.jacobian(lambda x: dd.checkpoint(lambda y: np.tanh(np.tanh(y)))(x)[:2], x,
                          mode="reverse", full_output=True)
    assert info.peak_bytes == 8000 + 16000 and info.passes == 2
    # recorded: the checkpoint and [:2]; the first pass: 2 tanh; each of the 2 sweeps: those 2
    # entries, and the re-run's 2 tanh recorded and swept
    assert info.operations == 2 + 2 + 2 * (2 + 2 + 2)
    assert value_bytes(np.float32(1.0)) == 4 and value_bytes("x") == 0


def test_nested_peak_counts_every_live_tape():
    x = np.ones(100)  # 800 bytes
    inner = dd.checkpoint(lambda y: np.tanh(np.tanh(y)))         # its re-run keeps 2 arrays
    outer = dd.checkpoint(lambda y: np.exp(inner(np.sin(y))))     # keeps sin's y, the inner's input, exp's out
    _, info = dd.grad(lambda x: np.sum(outer(x) * x), x, full_output=True)
    # The outer tape keeps x (the checkpoint's input and multiply's) and outer's output: 2 arrays.
    # When the sweep reaches the outer checkpoint the outer tape holds x only (multiply was
    # swept); the re-run's tape holds sin's argument (x again, but on a new tape), the inner
    # checkpoint's input and exp's output: 3. Sweeping it, exp is done before the inner
    # checkpoint re-runs, and that re-run holds its 2 tanh outputs: 1 + 2 + 2 = 5 arrays.
    assert info.peak_bytes == 5 * 800


def sequential_peaks(n, d, dtype=np.float64):
    x = np.full(d, 0.5, dtype=dtype)
    layers = [lambda h: np.tanh(h + 0.01)] * n
    out = {}
    for name, segs in (("store", None), ("sqrt", "sqrt")):
        run = (lambda h: _apply(layers, h)) if segs is None else dd.checkpoint_sequential(layers, segs)
        f = lambda x: np.sum(run(x))
        gc.collect()
        tracemalloc.start()
        g, info = dd.grad(f, x, full_output=True)
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[name] = (g, info.peak_bytes, traced)
    return out


def _apply(layers, h):
    for layer in layers:
        h = layer(h)
    return h


def test_sqrt_schedule_keeps_a_tenth_on_a_1000_layer_chain():
    """The issue's check: 1,000 layers of 10⁴-element arrays, √n peak ≤ 1/10 of store-all."""
    n, d = 1000, 10_000
    a = d * 8
    out = sequential_peaks(n, d)
    g0, store, store_traced = out["store"]
    g1, sqrt_peak, sqrt_traced = out["sqrt"]
    assert same(g1, g0)
    assert store == n * a  # every tanh keeps its output (x itself is kept by nothing)
    # 32 segments of 31 or 32 layers. The last segment is re-run first, while the tape still
    # holds all 32 segment inputs; its re-run keeps its 32 tanh outputs.
    assert sqrt_peak == (32 + 32) * a
    assert sqrt_peak <= store / 10
    # tracemalloc sees what was really allocated: the kept values, plus a few live cotangents
    # and temporaries of the sweep, plus the tape's own records (Entry, Var, tuples: well under
    # 600 bytes per recorded operation; 2 per layer with everything stored, at most 4 per layer
    # of two segments with √n).
    bounds = ((store, store_traced, 2 * n + 1), (sqrt_peak, sqrt_traced, 4 * 32 + 2 * 32))
    for reported, traced, entries in bounds:
        assert reported <= traced <= reported + 4 * a + 600 * entries, (reported, traced)
    assert sqrt_traced <= store_traced / 10


def test_float32_bytes_are_counted_as_float32():
    out = sequential_peaks(16, 1000, np.float32)
    assert out["store"][1] == 16 * 4000
    assert out["store"][0].dtype == np.float32 and same(out["store"][0], out["sqrt"][0])


# --------------------------------------------------------------------------------------------
# The evaluation trace marks what is stored and what is recomputed
# --------------------------------------------------------------------------------------------

def test_trace_marks_stored_and_recomputed_values():
    inner = dd.checkpoint(lambda a: np.tanh(a) + 1.0)
    outer = dd.checkpoint(lambda a, b: (inner(a * b), np.sin(b)))

    def f(x):
        p, q = outer(x[0], x[1])
        return p * q + x[0]

    t = dd.trace(f, (0.5, 2.0))
    plain = dd.trace(lambda x: (np.tanh(x[0] * x[1]) + 1.0) * np.sin(x[1]) + x[0], (0.5, 2.0))
    assert [e.formula for e in t.entries] == [e.formula for e in plain.entries]
    assert same(t.gradient, plain.gradient)
    kept = {e.formula: e.kept for e in t.entries}
    assert kept == {
        "x1": "stored", "x2": "stored",       # the outer checkpoint's inputs
        "v₋₁ · v₀": "recomputed",             # inside the outer checkpoint
        "tanh v₁": "recomputed",              # inside both
        "v₂ + 1": "stored",                   # an output of outer: the product after it keeps it
        "sin v₀": "stored",                   # likewise
        "v₃ · v₄": "",                        # + keeps nothing
        "v₅ + v₋₁": "",
    }
    assert t.checkpointed and not plain.checkpointed
    assert "recomputed" in t.table() and "kept" not in plain.table()
    assert "stored" in plain.table(kept=True)
    assert t.to_dict()["entries"][3]["kept"] == "recomputed"


# --------------------------------------------------------------------------------------------
# The comparison command's section 5
# --------------------------------------------------------------------------------------------

def test_compare_store_or_recompute_section(capsys, tmp_path):
    import json
    from dualdiff.compare import CHAIN_LAYERS as n, CHAIN_WIDTH as d, main
    assert main(["--no-timing", "--sizes", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)["store_or_recompute"]
    assert doc["bitwise_equal"] and (doc["layers"], doc["width"]) == (n, d)
    rows = {r["schedule"]: r for r in doc["rows"]}
    k = math.ceil(math.sqrt(n))
    vector = 8 * d
    # Closed forms. Store all: x_0 … x_n (W·x keeps x, tanh its output = the next x); 3
    # operations per layer recorded and swept, plus the sum. √n: k segment inputs, plus the n/k + 1
    # values of the last segment's re-run; every layer once more, and each segment an entry
    # recorded and swept. Every layer: the n layer inputs, plus 2 during a re-run.
    assert rows["store all"]["peak_bytes"] == (n + 1) * vector
    assert rows["store all"]["operations"] == 2 * (3 * n + 1)
    assert rows["√n checkpoints"]["checkpoints"] == k
    assert rows["√n checkpoints"]["peak_bytes"] == (k + n // k + 1) * vector
    assert rows["√n checkpoints"]["operations"] == 2 * (3 * n + 1) + 3 * n + 2 * k
    assert rows["every layer"]["peak_bytes"] == (n + 2) * vector
    assert rows["every layer"]["operations"] == 2 * (3 * n + 1) + 3 * n + 2 * n
    assert all(r["time_s"] is None for r in rows.values())

    assert main(["--no-timing", "--sizes", "1"]) == 0
    text = capsys.readouterr().out
    section = text[text.index("\n5. Store or recompute"):]
    assert "store all" in section and "7.8x fewer bytes" in section
    assert "backpropagation stores" in section and "recompute" in section
    assert main(["--no-timing", "--sizes", "1", "--no-memory"]) == 0
    assert "5. Store or recompute" not in capsys.readouterr().out
    page = tmp_path / "compare.html"
    assert main(["--no-timing", "--sizes", "1", "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert 'id="memory"' in html and "131,584" in html and "backpropagation stores" in html


# --------------------------------------------------------------------------------------------
# Under an interpreter that merges identical operations (a compiler's staging), the re-run stays
# a re-run
# --------------------------------------------------------------------------------------------

from dualdiff.primitives import Tag, register_traced  # noqa: E402
from dualdiff.surface import Traced  # noqa: E402


@register_traced
class Staged(Traced):
    """A value recorded by :class:`Staging`, the bottom interpreter (as a compiler's would be)."""

    __slots__ = ("primal", "tag", "node")

    def __init__(self, primal, tag, node):
        self.primal, self.tag, self.node = primal, tag, node


class Staging(Tag):
    """Level -1, below every derivative tag; records one key per operation, as CSE would."""

    __slots__ = ("keys", "nodes")

    def __init__(self):
        super().__init__(None, level=-1, owner="staging test")
        self.keys, self.nodes = [], 0

    def new(self, value):
        self.nodes += 1
        return Staged(value, self, self.nodes)

    def process(self, prim, args, params):
        values = [a.primal if type(a) is Staged else a for a in args]
        key = (prim.name, tuple(a.node if type(a) is Staged else repr(a) for a in args),
               tuple(sorted((k, repr(v)) for k, v in params.items())))
        self.keys.append(key)
        return self.new(prim.impl(*values, **params))


def test_a_recompute_is_not_an_identical_operation_to_merge(monkeypatch):
    layer = dd.checkpoint(lambda h: np.sin(np.cos(h) * h))

    def f(x):
        return np.sum(layer(layer(x)))

    def staged_grad():
        staging = Staging()
        x = staging.new(np.array([0.3, -0.7]))
        g = dd.grad(f, x)
        return staging.keys, g.primal

    keys, g = staged_grad()
    assert same(g, dd.grad(f, np.array([0.3, -0.7])))
    ops = [k for k in keys if k[0] in ("sin", "cos")]
    assert len(ops) == 2 * 2 * 2 + 2 * 2  # first pass and re-run of both layers, cos/sin adjoints
    assert len(set(keys)) == len(keys), "a re-run repeats a first-pass operation exactly"
    # the check can fail: without the RECOMPUTE marks the re-run is the first pass over again
    monkeypatch.setattr(sys.modules["dualdiff.checkpoint"], "_mark", lambda v: v)
    keys, _ = staged_grad()
    assert len(set(keys)) < len(keys)


def test_under_dd_compile_the_recompute_stays_in_the_program():
    layers = [lambda h: np.tanh(np.sin(h) * h)] * 4

    def store_all(x):
        for layer in layers:
            x = layer(x)
        return np.sum(x)

    run = dd.checkpoint_sequential(layers, 2)
    ckpt = dd.compile(lambda x: dd.grad(lambda x: np.sum(run(x)), x))
    plain = dd.compile(lambda x: dd.grad(store_all, x))
    x = np.linspace(-1.0, 1.0, 5)
    want = dd.grad(store_all, x)
    assert same(ckpt(x), want) and same(ckpt(x), want)  # the recording call and a replay
    assert same(plain(x), want)
    src, src0 = ckpt.source(x), plain.source(x)
    # Storing all computes each layer's sin once; with checkpoints each segment is computed again
    # in the sweep (the last segment's first pass is dead code: only the gradient is returned).
    assert src0.count("sin(") == 4
    assert src.count("sin(") == 6 and "recompute" in src


def test_complex_values_inside_a_checkpoint():
    inner = lambda z: np.sin(z) * z
    c = dd.checkpoint(inner)
    x = np.array([0.3, -1.0])
    g1 = dd.grad(lambda x: np.sum(np.real(c(x * (1 + 1j)))), x)
    g0 = dd.grad(lambda x: np.sum(np.real(inner(x * (1 + 1j)))), x)
    assert same(g1, g0)
    w = x * (1 + 1j)  # d/dx Re(w sin w) = Re((sin w + w cos w) · (1 + i))
    np.testing.assert_allclose(g1, np.real((np.sin(w) + w * np.cos(w)) * (1 + 1j)), rtol=1e-13)


def test_a_dropped_recording_frees_its_values_without_the_garbage_collector():
    gc.collect()
    gc.disable()
    try:
        x = np.ones(100_000)
        tracemalloc.start()
        # (the buffer pool paused: its arrays are mapped memory, which tracemalloc does not see)
        with buffers.paused():
            _, pullback = dd.vjp(lambda x: dd.checkpoint(lambda y: np.sin(np.tanh(y)))(x) * x, x)
        held = tracemalloc.get_traced_memory()[0]
        del pullback, _
        freed = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    finally:
        gc.enable()
    assert held >= 8 * 100_000 and freed < 100_000  # the output, kept by *, is gone at once
