"""The pictures and pages of a trace: SVG, HTML, notebook views, and the figures under docs/.

Expected numbers are the worked example's closed forms (1/x1 + x2, x1 − cos x2, ...), written
here, never read back from dualdiff.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import dualdiff as dd

ROOT = Path(__file__).resolve().parent.parent
NS = {"s": "http://www.w3.org/2000/svg"}
X1, X2 = 2.0, 5.0


def textbook(x):
    return np.log(x[0]) + x[0] * x[1] - np.sin(x[1])


@pytest.fixture(scope="module")
def t():
    return dd.trace(textbook, (X1, X2))


def svg_root(text):
    return ET.fromstring(text)  # raises on anything that is not well-formed XML


def texts(root, cls):
    return [("".join(el.itertext())) for el in root.iter(f"{{{NS['s']}}}text")
            if cls in (el.get("class") or "").split()]


def minus(s):
    return s.replace("-", "−")


# ---- the SVG graph ---------------------------------------------------------------------------

def test_svg_has_one_node_per_entry_and_one_edge_per_dependency(t):
    root = svg_root(t.to_svg())
    nodes = root.findall(".//s:g[@data-entry]", NS)
    edges = root.findall(".//s:g[@data-source]", NS)
    assert sorted(int(n.get("data-entry")) for n in nodes) == [-1, 0, 1, 2, 3, 4, 5]
    # the dependencies of log x1 + x1·x2 − sin x2, written out by hand
    assert sorted((int(e.get("data-source")), int(e.get("data-target"))) for e in edges) == sorted(
        [(-1, 1), (-1, 2), (0, 2), (1, 3), (2, 3), (0, 4), (3, 5), (4, 5)])


def test_svg_carries_the_seed_numbers(t):
    svg = t.to_svg()
    root = svg_root(svg)
    labels = {(int(g.get("data-source")), int(g.get("data-target"))): texts(g, "dd-partial")[0]
              for g in root.findall(".//s:g[@data-source]", NS)}
    assert labels == {(-1, 1): f"{1 / X1:.3g}", (-1, 2): f"{X2:.3g}", (0, 2): f"{X1:.3g}",
                      (1, 3): "1", (2, 3): "1", (0, 4): f"{math.cos(X2):.3g}", (3, 5): "1",
                      (4, 5): "−1"}
    assert labels[(0, 4)] == "0.284"
    all_text = " ".join(root.itertext())
    value = math.log(X1) + X1 * X2 - math.sin(X2)
    assert f"{value:.4f}"[:6] == "11.652" and f"= {value:.4f}" in all_text
    g1, g2 = 1 / X1 + X2, X1 - math.cos(X2)
    assert f"∂y/∂x1 = 1·1·0.5 + 1·1·5 = 0.5 + 5 = {g1:g}" in all_text
    assert f"∂y/∂x2 = 1·1·2 + (−1)·0.284 = 2 − 0.284 = {g2:.4f}" in all_text
    assert "1.7163" in all_text and "5.5" in all_text


def test_svg_names_nodes_like_the_tutorial(t):
    root = svg_root(t.to_svg())
    titles = {int(g.get("data-entry")): texts(g, "dd-title")[0]
              for g in root.findall(".//s:g[@data-entry]", NS)}
    assert titles == {-1: "x1", 0: "x2", 1: "v₁", 2: "v₂", 3: "v₃", 4: "v₄", 5: "y"}
    subs = {int(g.get("data-entry")): texts(g, "dd-sub")[0] for g in root.findall(".//s:g[@data-entry]", NS)}
    assert subs[1] == "log v₋₁" and subs[2] == "v₋₁ · v₀" and subs[5] == "v₅ = v₃ − v₄"


def test_svg_overlays(t):
    root = svg_root(t.to_svg(direction=1))
    tangents = {int(el.get("data-entry")): el.text for el in root.iter(f"{{{NS['s']}}}text")
                if "dd-tan" in (el.get("class") or "")}
    expected = {-1: 0, 0: 1, 1: 0, 2: X1, 3: X1, 4: math.cos(X2), 5: X1 - math.cos(X2)}
    assert tangents == {k: "v̇ = " + minus(np.format_float_positional(round(v, 4), trim="-"))
                        for k, v in expected.items()}
    adjoints = {int(el.get("data-entry")): el.text for el in root.iter(f"{{{NS['s']}}}text")
                if "dd-adj" in (el.get("class") or "").split()}
    assert adjoints[-1] == "v̄ = 5.5" and adjoints[0] == f"v̄ = {X1 - math.cos(X2):.4f}"
    assert adjoints[4] == "v̄ = −1"
    bare = t.to_svg(direction=None, adjoints=False, paths=False)
    broot = svg_root(bare)
    assert not texts(broot, "dd-tan") and not texts(broot, "dd-adj")
    assert "∂y/∂x1" not in bare
    with pytest.raises(ValueError, match="direction 2 was not seeded"):
        t.to_svg(direction=2)


def test_svg_of_arrays_shows_shapes_and_ranges():
    x = np.linspace(-1.0, 1.0, 10)
    t = dd.trace(lambda x: np.sum(np.tanh(x) * x), x)
    root = svg_root(t.to_svg())
    values = " ".join(texts(root, "dd-val"))
    assert "shape (10,) in [−1, 1]" in values
    assert len(root.findall(".//s:g[@data-entry]", NS)) == len(t.entries)
    assert "∂y/∂x" not in " ".join(root.itertext())  # no path sums over arrays


def test_svg_layout_keeps_nodes_apart_on_a_wide_graph():
    # Many values from one input: no two boxes may overlap.
    def f(x):
        return sum(np.sin(x * k) for k in (1.0, 2.0, 3.0, 4.0, 5.0))
    root = svg_root(dd.trace(f, 0.3).to_svg())
    boxes = []
    for g in root.findall(".//s:g[@data-entry]", NS):
        r = g.find("s:rect", NS)
        boxes.append(tuple(float(r.get(k)) for k in ("x", "y", "width", "height")))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or
                     a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1])
            assert apart, (a, b)


def test_svg_handles_every_shape_of_graph():
    # a constant function, matrix inputs, a linear map, a dict input
    for f, x in [(lambda x: 3.0, 1.0), (lambda W: np.sum(W @ np.ones(3)), np.eye(2, 3)),
                 (lambda p: p["w"] * p["b"], {"w": 3.0, "b": 4.0})]:
        t = dd.trace(f, x)
        root = svg_root(t.to_svg())
        assert len(root.findall(".//s:g[@data-entry]", NS)) == len(t.entries)
    t = dd.trace(lambda p: p["w"] * p["b"], {"w": 3.0, "b": 4.0})
    assert [s for s in texts(svg_root(t.to_svg()), "dd-title")][:2] == ["w", "b"]


# ---- the HTML page and the notebook views ----------------------------------------------------

class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_html_page_is_self_contained(t):
    page = t.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "http:" not in page and "https:" not in page and "//" not in re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    parser = _Collect()
    parser.feed(page)
    assert all(u.startswith("#") for u in parser.urls), parser.urls  # only links within the page
    assert parser.tags.count("svg") == 1 and parser.tags.count("table") == 2
    assert "script" in parser.tags and "style" in parser.tags
    assert 'name="viewport"' in page  # phone widths


def test_html_steps(t):
    page = t.to_html()
    data = json.loads(re.search(r'<script type="application/json" id="dd-steps">(.*?)</script>',
                                page, re.S).group(1))
    n = len(t.entries)
    assert len(data["steps"]) == 1 + 2 * n  # values, one tangent per entry, one adjoint per entry
    assert [data["forward"][str(i)] for i in range(-1, 6)] == list(range(1, n + 1))
    assert [data["reverse"][str(i)] for i in range(5, -2, -1)] == list(range(n + 1, 2 * n + 1))
    last = data["steps"][-1]["lines"][0]
    assert last.startswith("v̄₋₁ = v̄₁ · 1/v₋₁ + v̄₂ · v₀ = 1 · 0.5 + 1 · 5 = 5.5") and "∂y/∂x1 = 5.5" in last
    fwd = data["steps"][4]["lines"]  # v̇₂, both directions
    assert fwd[0].startswith(f"v̇₂ = v₀ · v̇₋₁ + v₋₁ · v̇₀ = 5 · 1 + 2 · 0 = {X2:g}")
    assert fwd[1].startswith(f"v̇₂ = v₀ · v̇₋₁ + v₋₁ · v̇₀ = 5 · 0 + 2 · 1 = {X1:g}")


def test_repr_html_has_the_tables_and_the_graph(t):
    view = t._repr_html_()
    assert "<table" in view and view.count("<svg") == 1 and "<script" not in view
    assert "grad_table" in view and "5.5" in view and "1.7163" in view
    assert "body {" not in view  # the notebook's own page keeps its styles
    assert t._repr_svg_() == t.to_svg()
    assert repr(t) == "<Trace: 2 inputs, 5 operations, value 11.6521>"


# ---- the figures under docs/ -----------------------------------------------------------------

def test_committed_figures_are_current():
    spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "docs" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.figures().items():
        path = ROOT / "docs" / name
        assert path.read_text(encoding="utf-8") == text, (
            f"docs/{name} is out of date: run python docs/figures.py")


def test_both_readmes_show_the_picture():
    for readme in ("README.md", "README.zh-CN.md"):
        assert "](docs/textbook-graph.svg)" in (ROOT / readme).read_text(encoding="utf-8"), readme


def test_path_sums_say_only_what_adds_something():
    svg = dd.trace(lambda x: x * x, 3.0).to_svg()
    assert "∂y/∂x = 3 + 3 = 6" in svg  # two paths of one edge each: d(x²)/dx = 2x
    # a seed ȳ ≠ 1 scales every path: the caption says so
    svg = dd.trace(lambda x: np.sin(x[0]) * x[1], (1.0, 2.0), ybar=2.0).to_svg()
    assert f"ȳ·∂y/∂x1 = 2·2·0.54 = {2 * 2 * math.cos(1.0):.4f}" in svg
    assert f"ȳ·∂y/∂x2 = 2·0.841 = {2 * math.sin(1.0):.4f}" in svg
    # arrays and linear maps: no sum over paths is spelled out
    assert "∂y/∂" not in dd.trace(lambda x: np.sum(x * x), np.ones(3)).to_svg()


def test_values_a_checkpoint_recomputes_are_drawn_dashed():
    inner = dd.checkpoint(lambda x: np.sin(x) * x)
    t = dd.trace(lambda x: np.exp(inner(x)), 0.5)
    root = svg_root(t.to_svg())
    dashed = sorted(int(g.get("data-entry")) for g in root.findall(".//s:g[@data-entry]", NS)
                    if "dd-recomputed" in g.get("class"))
    assert dashed == [e.index for e in t.entries if e.kept == "recomputed"] == [1, 2]
    assert "recomputes" in " ".join(texts(root, "dd-legend"))
    assert "recomputes" not in " ".join(texts(svg_root(dd.trace(np.sin, 0.5).to_svg()), "dd-legend"))
