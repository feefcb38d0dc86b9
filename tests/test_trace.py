"""dd.trace: the evaluation trace, checked against the textbook's numbers and against closed forms.

Every expected number is computed here from its own formula (1/x1 + x2, cos x2, ...) or from the
independent oracles in tests/oracles.py, never taken from dualdiff.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.rules import PRIMITIVES
from dualdiff.trace import MAX_DEFAULT_DIRECTIONS, MAX_SHOWN, Edge, Trace, TraceEntry

from oracles import central_difference_jacobian

X1, X2 = 2.0, 5.0


def textbook(x):
    x1, x2 = x
    return np.log(x1) + x1 * x2 - np.sin(x2)


@pytest.fixture(scope="module")
def t() -> Trace:
    return dd.trace(textbook, (X1, X2))


# The textbook's trace in closed form: (index, formula, value, v̇ for ẋ = e₁, v̇ for ẋ = e₂, v̄).
EXPECTED = [
    (-1, "x1", X1, 1.0, 0.0, 1 / X1 + X2),
    (0, "x2", X2, 0.0, 1.0, X1 - math.cos(X2)),
    (1, "log v₋₁", math.log(X1), 1 / X1, 0.0, 1.0),
    (2, "v₋₁ · v₀", X1 * X2, X2, X1, 1.0),
    (3, "v₁ + v₂", math.log(X1) + X1 * X2, 1 / X1 + X2, X1, 1.0),
    (4, "sin v₀", math.sin(X2), 0.0, math.cos(X2), -1.0),
    (5, "v₃ − v₄", math.log(X1) + X1 * X2 - math.sin(X2), 1 / X1 + X2, X1 - math.cos(X2), 1.0),
]


# ---- the textbook example, entry by entry ------------------------------------------------------

def test_textbook_entries_match_closed_forms(t):
    assert [e.index for e in t.entries] == [-1, 0, 1, 2, 3, 4, 5]
    assert [e.name for e in t.entries] == ["v₋₁", "v₀", "v₁", "v₂", "v₃", "v₄", "v₅"]
    for e, (index, formula, value, dot1, dot2, bar) in zip(t.entries, EXPECTED):
        assert isinstance(e, TraceEntry)
        assert e.index == index and e.formula == formula
        assert e.value == pytest.approx(value, rel=1e-14)
        assert e.tangents == pytest.approx((dot1, dot2), abs=1e-14)
        assert e.adjoint == pytest.approx(bar, rel=1e-14)
        assert e.shape == ()


def test_textbook_operations_and_parents(t):
    ops = {e.name: (e.operation, e.parents) for e in t.entries}
    assert ops == {
        "v₋₁": ("input", ()), "v₀": ("input", ()), "v₁": ("log", (-1,)),
        "v₂": ("multiply", (-1, 0)), "v₃": ("add", (1, 2)), "v₄": ("sin", (0,)),
        "v₅": ("subtract", (3, 4)),
    }


def test_textbook_result(t):
    assert t.value == pytest.approx(math.log(X1) + X1 * X2 - math.sin(X2))
    assert round(t.value, 4) == 11.6521
    g1, g2 = t.gradient  # x was a tuple, so the gradient is one too
    assert (g1, g2) == pytest.approx((1 / X1 + X2, X1 - math.cos(X2)))
    assert (round(g1, 4), round(g2, 4)) == (5.5, 1.7163)
    assert t.output is t.entry(5) and t.ybar == 1.0
    assert t.output_tangents == pytest.approx([1 / X1 + X2, X1 - math.cos(X2)])
    assert t.direction_labels == ["ẋ = e₁", "ẋ = e₂"]


def test_operation_counts_agree_with_the_jacobians_own_accounting(t):
    _, fwd = dd.jacobian(textbook, (X1, X2), mode="forward", chunk=1, full_output=True)
    _, rev = dd.jacobian(textbook, (X1, X2), mode="reverse", full_output=True)
    assert t.forward_operations == fwd.operations == 10  # 2 passes × 5 operations
    assert t.reverse_operations == rev.operations == 10  # recording 5 + sweep 5


def test_entry_lookup(t):
    assert t.entry(-1) is t.entries[0] and t.entry("v₄") is t.entries[5]
    assert len(t) == 7 and list(t) == t.entries
    assert [e.name for e in t.inputs] == ["v₋₁", "v₀"]
    with pytest.raises(KeyError, match="run from -1 to 5"):
        t.entry(6)
    with pytest.raises(KeyError, match="no entry named"):
        t.entry("v₉")
    assert repr(t) == "<Trace: 2 inputs, 5 operations, value 11.6521>"


# ---- edges: the local partials of the textbook figure ----------------------------------------

def test_edges_carry_the_textbook_partials(t):
    edges = {(e.source, e.target): e for e in t.edges}
    assert all(isinstance(e, Edge) for e in edges.values())
    expected = {(-1, 1): 1 / X1, (-1, 2): X2, (0, 2): X1, (1, 3): 1.0, (2, 3): 1.0,
                (0, 4): math.cos(X2), (3, 5): 1.0, (4, 5): -1.0}
    assert set(edges) == set(expected)
    for key, value in expected.items():
        assert edges[key].partial == pytest.approx(value, rel=1e-14)
    assert edges[(0, 4)].symbol == "cos v₀"
    assert edges[(-1, 1)].symbol == "1/v₋₁"
    assert edges[(-1, 2)].symbol == "v₀" and edges[(0, 2)].symbol == "v₋₁"
    assert edges[(4, 5)].adjoint_term == "v̄₅ · (−1)"


def dot_edges(dot: str) -> dict:
    return {(a, b): label for a, b, label in
            re.findall(r'"(v-?\d+)" -> "(v-?\d+)" \[label="([^"]*)"', dot)}


def test_dot_graph_labels_edges_like_the_textbook_figure(t):
    dot = t.to_dot()
    assert dot.startswith("digraph trace {") and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    assert dot_edges(dot) == {
        ("v-1", "v1"): "0.5", ("v-1", "v2"): "5", ("v0", "v2"): "2", ("v1", "v3"): "1",
        ("v2", "v3"): "1", ("v0", "v4"): "0.284", ("v3", "v5"): "1", ("v4", "v5"): "-1",
    }
    assert f"{math.cos(X2):.3g}" == "0.284"  # the textbook's rounding of cos 5
    assert 'tooltip="∂v₄/∂v₀ = cos v₀"' in dot
    # the picture's labels: inputs by name, the output as y, values to 4 decimals
    assert re.search(r'"v5" \[label="y\\nv₅ = v₃ − v₄\\n= 11.6521"[^\]]*penwidth', dot)
    assert '"v-1" [label="x1\\nv₋₁\\n= 2"' in dot and '"v1" [label="v₁\\nlog v₋₁\\n= 0.6931"' in dot
    assert len(re.findall(r"^\s+\"v-?\d+\" \[", dot, re.M)) == 7  # one node per entry


def test_dot_escapes_quotes_and_backslashes():
    # A dict input's keys become input names, so they reach the DOT labels verbatim.
    t = dd.trace(lambda p: p['a"b'] * 2.0, {'a"b': 1.0})
    assert 'tooltip="v₀ = a\\"b"' in t.to_dot()


# ---- text renderings ---------------------------------------------------------------------------

def rows_of(text: str) -> dict:
    """The table's rows keyed by their first cell (the rules and header dropped)."""
    lines = [l for l in text.splitlines()[2:] if not l.startswith("─")]
    return {l.split()[0]: l for l in lines}


def test_str_is_the_full_table(t):
    rows = rows_of(str(t))
    assert list(rows) == ["v₋₁", "v₀", "v₁", "v₂", "v₃", "v₄", "v₅", "y"]
    header = str(t).splitlines()[0].split()
    assert header[:3] == ["v", "formula", "value"] and header[-1] == "v̄"
    assert "v̇ (ẋ = e₁)" in str(t) and "v̇ (ẋ = e₂)" in str(t)
    # name, formula, value, v̇ (e₁), v̇ (e₂), v̄ -- in the textbook's numbers, 4 decimals.
    assert rows["v₄"].split() == ["v₄", "sin", "v₀", "-0.9589", "0", "0.2837", "-1"]
    assert rows["v₅"].split() == ["v₅", "v₃", "−", "v₄", "11.6521", "5.5", "1.7163", "1"]
    assert rows["v₋₁"].split() == ["v₋₁", "x1", "2", "1", "0", "5.5"]
    assert rows["v₀"].split() == ["v₀", "x2", "5", "0", "1", "1.7163"]
    assert rows["y"].split() == ["y", "v₅", "11.6521", "5.5", "1.7163", "1"]
    # Three parts: inputs | intermediates | output.
    assert sum(l.startswith("─") for l in str(t).splitlines()) == 3


def test_table_options(t):
    assert "v̄" not in t.table(adjoints=False) and "v̇" in t.table(adjoints=False)
    assert "v̇" not in t.table(tangents=False)
    assert rows_of(t.table(digits=2))["v₅"].split()[-4:] == ["11.65", "5.5", "1.72", "1"]


def test_sweep_lists_adjoints_from_ybar_back_to_the_inputs(t):
    rows = t.sweep_rows()
    assert [r[0] for r in rows] == ["v̄₅", "v̄₄", "v̄₃", "v̄₂", "v̄₁", "v̄₀", "v̄₋₁"]
    values = {r[0]: r[3] for r in rows}
    assert values == {"v̄₅": "1", "v̄₄": "-1", "v̄₃": "1", "v̄₂": "1", "v̄₁": "1",
                      "v̄₀": "1.7163", "v̄₋₁": "5.5"}
    rules = {r[0]: (r[1], r[2]) for r in rows}
    assert rules["v̄₅"] == ("ȳ", "1")
    assert rules["v̄₀"] == ("v̄₂ · v₋₁ + v̄₄ · cos v₀", "1 · 2 + (-1) · 0.2837")
    assert rules["v̄₋₁"] == ("v̄₁ · 1/v₋₁ + v̄₂ · v₀", "1 · 0.5 + 1 · 5")
    text = t.sweep()
    assert text.splitlines()[0].startswith("adjoint")
    assert all(r[0] in text for r in rows)


def test_markdown_table(t):
    lines = t.to_markdown().splitlines()
    assert lines[0] == "| v | formula | value | v̇ (ẋ = e₁) | v̇ (ẋ = e₂) | v̄ |"
    assert lines[1] == "|:---|:---|---:|---:|---:|---:|"
    assert lines[2:] == [
        "| v₋₁ | x1 | 2 | 1 | 0 | 5.5 |",
        "| v₀ | x2 | 5 | 0 | 1 | 1.7163 |",
        "| v₁ | log v₋₁ | 0.6931 | 0.5 | 0 | 1 |",
        "| v₂ | v₋₁ · v₀ | 10 | 5 | 2 | 1 |",
        "| v₃ | v₁ + v₂ | 10.6931 | 5.5 | 2 | 1 |",
        "| v₄ | sin v₀ | -0.9589 | 0 | 0.2837 | -1 |",
        "| v₅ | v₃ − v₄ | 11.6521 | 5.5 | 1.7163 | 1 |",
        "| y | v₅ | 11.6521 | 5.5 | 1.7163 | 1 |",
    ]


def test_markdown_escapes_pipes():
    md = dd.trace(lambda x: np.abs(x), -2.0).to_markdown()
    assert "\\|v₀\\|" in md


def test_to_dict_is_plain_data(t):
    import json
    d = json.loads(json.dumps(t.to_dict()))
    assert [e["adjoint"] for e in d["entries"]] == pytest.approx([5.5, X1 - math.cos(X2), 1, 1, 1, -1, 1])
    assert d["gradient"] == pytest.approx([1 / X1 + X2, X1 - math.cos(X2)])
    assert d["entries"][5]["edges"][0]["label"] == "cos v₀"
    assert d["forward_operations"] == d["reverse_operations"] == 10


def test_other_points_follow_the_closed_forms():
    for x1, x2 in [(1.0, 0.0), (0.3, -2.0), (7.5, 3.1)]:
        t = dd.trace(textbook, (x1, x2))
        assert t.value == pytest.approx(math.log(x1) + x1 * x2 - math.sin(x2))
        assert t.gradient == pytest.approx((1 / x1 + x2, x1 - math.cos(x2)))
        assert t.entry(0).tangents == pytest.approx((0.0, 1.0))
        assert t.entry(4).tangents == pytest.approx((0.0, math.cos(x2)))


# ---- vectors and matrices ---------------------------------------------------------------------

def test_vector_input_shows_shapes_and_gradient_is_exact():
    x = np.linspace(0.1, 1.0, 6)
    t = dd.trace(lambda x: np.sum(np.sin(x) * x), x)
    assert [e.formula for e in t.entries] == ["x", "sin v₀", "v₁ · v₀", "sum v₂"]
    assert t.entry(1).shape == (6,)
    np.testing.assert_allclose(t.gradient, np.sin(x) + x * np.cos(x), rtol=1e-14)
    # Only the first MAX_DEFAULT_DIRECTIONS unit directions are seeded by default.
    assert MAX_DEFAULT_DIRECTIONS == 4
    assert len(t.directions) == 4 and t.direction_labels[-1] == "ẋ = e₄"
    for j in range(4):
        assert t.output_tangents[j] == pytest.approx(np.sin(x[j]) + x[j] * np.cos(x[j]))
    rows = rows_of(str(t))
    assert "shape (6,)" in rows["v₁"] and "sum v₂" in rows["v₃"]
    assert rows["v₁"].count("shape (6,)") == 6  # value, four tangents, adjoint
    edges = dot_edges(t.to_dot())
    assert edges[("v2", "v3")] == "sum"
    assert edges[("v0", "v1")] == "cos v₀ shape (6,)"
    sweep = {r[0]: r for r in t.sweep_rows()}
    assert sweep["v̄₂"][1] == "broadcast v̄₃" and sweep["v̄₂"][3] == "shape (6,)"
    assert sweep["v̄₀"][1] == "v̄₁ · cos v₀ + v̄₂ · v₁" and sweep["v̄₀"][2] == ""


def test_matrix_inputs():
    W = np.arange(12.0).reshape(3, 4) / 10
    v = np.array([1.0, -1.0, 0.5, 2.0])
    t = dd.trace(lambda p: np.sum(np.tanh(p[0] @ p[1]) * 2.0 + 1.0), (W, v))
    assert [e.formula for e in t.entries] == [
        "x1", "x2", "v₋₁ @ v₀", "tanh v₁", "v₂ · 2", "v₃ + 1", "sum v₄"]
    assert t.entry(-1).shape == (3, 4) and t.entry(1).shape == (3,)
    s = 2.0 * (1.0 - np.tanh(W @ v) ** 2)  # ∂y/∂(Wv), in closed form
    gW, gv = t.gradient
    np.testing.assert_allclose(gW, np.outer(s, v), rtol=1e-13)
    np.testing.assert_allclose(gv, W.T @ s, rtol=1e-13)
    assert t.value == pytest.approx(np.sum(2.0 * np.tanh(W @ v) + 1.0))
    rows = rows_of(str(t))
    assert "shape (3, 4)" in rows["v₋₁"]
    assert "[1, -1, 0.5, 2]" in rows["v₀"]  # small arrays show their numbers
    # Seeding e₁ perturbs W[0, 0] only: v̇₁ = (v[0], 0, 0).
    np.testing.assert_allclose(t.entry(1).tangents[0], [v[0], 0.0, 0.0])
    edges = dot_edges(t.to_dot())
    assert edges[("v-1", "v1")] == "· @ v₀" and edges[("v0", "v1")] == "v₋₁ @ ·"
    assert edges[("v2", "v3")] == "2"
    sweep = {r[0]: r for r in t.sweep_rows()}
    assert sweep["v̄₋₁"][1] == "v̄₁ @ v₀ᵀ" and sweep["v̄₋₁"][3] == "shape (3, 4)"
    assert sweep["v̄₀"][1] == "v₋₁ᵀ @ v̄₁"


def test_vector_output_with_ybar():
    x = np.array([1.0, 2.0])
    f = lambda x: np.stack([x[0] ** 2, np.exp(x[1]) / x[0]])
    J = central_difference_jacobian(f, x)
    t = dd.trace(f, x, ybar=[0.0, 1.0])
    np.testing.assert_allclose(t.gradient, J[1], rtol=1e-7)
    assert t.output.formula == "stack(v₂, v₆, axis=0)"
    t1 = dd.trace(f, x)  # ȳ defaults to ones: the adjoints of sum(y)
    np.testing.assert_allclose(t1.gradient, J.sum(axis=0), rtol=1e-7)
    np.testing.assert_allclose(t1.ybar, [1.0, 1.0])
    for d in range(2):
        np.testing.assert_allclose(t1.output_tangents[d], J[:, d], rtol=1e-7)
    with pytest.raises(ValueError, match="ybar must have f\\(x\\)'s shape"):
        dd.trace(f, x, ybar=[1.0, 2.0, 3.0])


def test_indexing_and_broadcasting_read_as_formulas():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    t = dd.trace(lambda x: x[0] * x[1] + x[2:4], x)
    assert [e.formula for e in t.entries] == [
        "x", "v₀[0]", "v₀[1]", "v₁ · v₂", "v₀[2:4]", "v₃ + v₄"]
    np.testing.assert_allclose(t.gradient, [x[1] * 2, x[0] * 2, 1.0, 1.0])
    sweep = {r[0]: r for r in t.sweep_rows()}
    assert sweep["v̄₃"][1] == "Σ(v̄₅ · 1)"  # the scalar v₃ was broadcast against a vector
    assert sweep["v̄₀"][1] == "scatter v̄₁ to [0] + scatter v̄₂ to [1] + scatter v̄₄ to [2:4]"
    assert dot_edges(t.to_dot())[("v0", "v1")] == "index [0]"


def test_large_arrays_show_shapes_not_numbers():
    x = np.ones(MAX_SHOWN + 1)
    text = str(dd.trace(lambda x: x * 2.0, x))
    assert "shape (5,)" in text and "[2, 2" not in text
    small = str(dd.trace(lambda x: x * 2.0, np.ones(MAX_SHOWN)))
    assert "[2, 2, 2, 2]" in small


# ---- constants, directions, odd cases -----------------------------------------------------------

def test_constants_appear_in_formulas_and_partials():
    t = dd.trace(lambda x: -3.0 * x + x ** 2, 1.5)
    assert [e.formula for e in t.entries] == ["x", "(-3) · v₀", "v₀^2", "v₁ + v₂"]
    assert t.entry(1).parents == (0,)
    assert t.entry(1).edges[0].partial == -3.0
    assert t.entry(2).edges[0].symbol == "2·v₀"
    assert t.entry(2).edges[0].partial == pytest.approx(3.0)
    assert t.gradient == pytest.approx(-3.0 + 2 * 1.5)


def test_explicit_and_counted_directions():
    t = dd.trace(textbook, (X1, X2), directions=[(1.0, 1.0), [2.0, -1.0]])
    assert t.direction_labels == ["ẋ = d₁", "ẋ = d₂"]
    g = np.array([1 / X1 + X2, X1 - math.cos(X2)])
    assert t.output_tangents == pytest.approx([g @ [1, 1], g @ [2, -1]])
    assert t.forward_operations == 10
    t1 = dd.trace(textbook, (X1, X2), directions=1)
    assert t1.direction_labels == ["ẋ = e₁"] and t1.forward_operations == 5
    t0 = dd.trace(textbook, (X1, X2), directions=0)
    assert t0.entries[0].tangents == () and t0.forward_operations == 0
    with pytest.raises(ValueError, match="between 0 and 2"):
        dd.trace(textbook, (X1, X2), directions=3)
    with pytest.raises(ValueError, match="needs 2 numbers"):
        dd.trace(textbook, (X1, X2), directions=[[1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match="directions must be"):
        dd.trace(textbook, (X1, X2), directions="e1")


def test_unused_values_get_zero_adjoint():
    def f(x):
        np.exp(x)  # recorded, but does not reach y
        return x * x

    t = dd.trace(f, 3.0)
    assert t.entry(1).formula == "exp v₀" and t.entry(1).adjoint == 0.0
    assert t.gradient == pytest.approx(6.0)
    sweep = {r[0]: r for r in t.sweep_rows()}
    assert sweep["v̄₁"][1] == "0 (does not reach y)"
    assert sweep["v̄₀"][1] == "v̄₂ · v₀ + v̄₂ · v₀"  # x · x: two edges from v₀


def test_constant_and_identity_functions():
    t = dd.trace(lambda x: 3.0, 1.0)
    assert t.output is None and t.value == 3.0 and t.gradient == 0.0
    assert rows_of(str(t))["y"].split()[:2] == ["y", "const"]
    t = dd.trace(lambda x: x, 4.0)
    assert t.output is t.entry(0) and t.gradient == 1.0
    assert t.sweep_rows() == [("v̄₀", "ȳ", "1", "1")]


def test_rejects_non_callables_and_traced_inputs():
    with pytest.raises(TypeError, match="takes a function"):
        dd.trace(3.0, 1.0)
    with pytest.raises(TypeError, match="outside grad"):
        dd.grad(lambda x: dd.trace(np.sin, x).value, 1.0)


def test_dict_inputs_keep_their_names_and_structure():
    t = dd.trace(lambda p: p["w"] * p["b"], {"w": 3.0, "b": 4.0})
    assert [e.formula for e in t.entries] == ["w", "b", "v₋₁ · v₀"]
    assert t.gradient == {"w": 4.0, "b": 3.0}


def test_primitives_without_a_notation_fall_back_to_calls_and_partial_names():
    # A primitive this module has never heard of (as a user would add one).
    from dualdiff.primitives import Primitive

    def jvp(primals, tangents, out, params, chunked):
        (x, y), (tx, ty) = primals, tangents
        return (0.0 if tx is None else x / out * tx) + (0.0 if ty is None else y / out * ty)

    def vjp(ct, primals, out, params, shapes, wants):
        x, y = primals
        return (ct * x / out if wants[0] else None, ct * y / out if wants[1] else None)

    hyp = Primitive("hyp_test", np.hypot, jvp, vjp, kind="elementwise",
                    partials=(lambda x, y, o: x / o, lambda x, y, o: y / o))
    t = dd.trace(lambda p: hyp(p[0], p[1]), (3.0, 4.0))
    assert t.entry(1).formula == "hyp_test(v₋₁, v₀)"
    assert [e.symbol for e in t.entry(1).edges] == ["∂v₁/∂v₋₁", "∂v₁/∂v₀"]
    assert [e.partial for e in t.entry(1).edges] == pytest.approx([3 / 5, 4 / 5])
    assert t.gradient == pytest.approx((3 / 5, 4 / 5))
    assert 'tooltip="∂v₁/∂v₋₁"' in t.to_dot()


def test_trace_is_exported():
    assert "trace" in dd.__all__ and dd.trace.__module__ == "dualdiff.trace"


# ---- every elementwise primitive: its edge partial against central differences ------------------

ELEMENTWISE = sorted(name for name, p in PRIMITIVES.items() if p.kind == "elementwise")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_edge_partials_of_every_elementwise_primitive(name):
    prim = PRIMITIVES[name]
    # inside every domain (arccosh's starts at 1), away from every kink
    point = (1.3,) if name == "arccosh" else (0.3, 0.7)[:len(prim.partials)]
    t = dd.trace(lambda x: prim(*x), point)
    out = t.entries[-1]
    assert out.operation == name and len(out.edges) == len(point)
    for k, edge in enumerate(out.edges):
        def g(z, k=k):
            args = list(point)
            args[k] = z
            return np.asarray(prim.impl(*args), dtype=float)
        expected = central_difference_jacobian(g, point[k])
        assert edge.partial == pytest.approx(float(expected), rel=1e-6, abs=1e-8), edge.symbol
        assert edge.symbol and "{" not in edge.symbol
        assert out.adjoint == 1.0 and t.entries[k].adjoint == pytest.approx(edge.partial)
