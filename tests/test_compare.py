"""python -m dualdiff.compare: the tables, the JSON, the arguments, the plot option.

Runs use --no-timing (deterministic output) and, where the scaling table is not the point,
small --sizes so the suite stays fast. Expected numbers come from closed forms.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import dualdiff.compare as compare
from dualdiff.compare import main

ROOT = Path(__file__).resolve().parents[1]
X1, X2 = 2.0, 5.0
VALUE = math.log(X1) + X1 * X2 - math.sin(X2)
GRAD = (1 / X1 + X2, X1 - math.cos(X2))


def run(capsys, *argv: str):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def section(out: str, number: int) -> str:
    """The text of numbered section ``number`` ("1. ...") up to the next one."""
    start = out.index(f"\n{number}. ")
    end = out.find(f"\n{number + 1}. ", start)
    return out[start:end if end != -1 else None]


def rows_of(text: str) -> dict:
    """A table's rows keyed by their first cell: entries vᵢ and the output y (header skipped)."""
    return {l.split()[0]: l.split() for l in text.splitlines()
            if l.strip() and l.split()[0][0] in "vy" and l.split()[0] != "v"}


@pytest.fixture(scope="module")
def default_output():
    """The default run, --no-timing: done once, shared by the tests that read it."""
    import io
    from contextlib import redirect_stdout, redirect_stderr
    buf, err = io.StringIO(), io.StringIO()
    with redirect_stdout(buf), redirect_stderr(err):
        code = main(["--no-timing"])
    assert code == 0
    return buf.getvalue()


# ---- the four sections, in order -----------------------------------------------------------------

def test_sections_come_in_the_issue_order(default_output):
    out = default_output
    positions = [out.index(f"\n{i}. ") for i in (1, 2, 3, 4)]
    assert positions == sorted(positions)
    assert out.startswith("Forward and reverse mode on f(x1, x2) = log x1 + x1·x2 − sin x2 at (x1, x2) = (2, 5)")


def test_forward_trace_table(default_output):
    s1 = section(default_output, 1)
    assert "v̇ (ẋ = e₁)" in s1 and "v̇ (ẋ = e₂)" in s1
    table = s1[s1.index("\nv "):]
    rows = rows_of(table)
    # name, formula..., value, v̇ for ẋ = e₁, v̇ for ẋ = e₂ (4 decimals, closed forms)
    expect = {
        "v₋₁": ["x1", "2", "1", "0"],
        "v₀": ["x2", "5", "0", "1"],
        "v₁": ["log", "v₋₁", f"{math.log(X1):.4f}", f"{1 / X1:g}", "0"],
        "v₂": ["v₋₁", "·", "v₀", "10", "5", "2"],
        "v₃": ["v₁", "+", "v₂", f"{math.log(X1) + X1 * X2:.4f}", "5.5", "2"],
        "v₄": ["sin", "v₀", f"{math.sin(X2):.4f}", "0", f"{math.cos(X2):.4f}"],
        "v₅": ["v₃", "−", "v₄", f"{VALUE:.4f}", "5.5", f"{GRAD[1]:.4f}"],
        "y": ["v₅", "11.6521", "5.5", "1.7163"],
    }
    assert {k: v[1:] for k, v in rows.items()} == expect
    assert "v̄" not in table  # adjoints belong to section 2


def test_reverse_sweep_adjoints(default_output):
    s2 = section(default_output, 2)
    assert "ȳ = 1" in s2
    adjoints = {l.split()[0]: l.split()[-1] for l in s2.splitlines() if l.startswith("v̄")}
    assert adjoints == {"v̄₅": "1", "v̄₄": "-1", "v̄₃": "1", "v̄₂": "1", "v̄₁": "1",
                        "v̄₀": f"{GRAD[1]:.4f}", "v̄₋₁": "5.5"}
    assert f"{GRAD[1]:.4f}" == "1.7163"
    order = [l.split()[0] for l in s2.splitlines() if l.startswith("v̄")]
    assert order == ["v̄₅", "v̄₄", "v̄₃", "v̄₂", "v̄₁", "v̄₀", "v̄₋₁"]  # from ȳ back to the inputs
    assert "1 · 2 + (-1) · 0.2837" in s2


def test_result_and_cost(default_output):
    s3 = section(default_output, 3)
    assert f"f(2, 5) = {VALUE:.4f}" in s3 and "11.6521" in s3
    assert "∇f(2, 5) = (5.5, 1.7163)" in s3
    rows = {l.split()[0]: l.split() for l in s3.splitlines() if l.split()[:1] in (["forward"], ["reverse"])}
    assert rows["forward"][:5] == ["forward", "2", "(one", "per", "input)"]
    assert rows["reverse"][:5] == ["reverse", "1", "(one", "per", "output)"]
    assert rows["forward"][-1] == "10" and rows["reverse"][-1] == "10"
    assert "timing off" in s3 and "µs" not in s3


def scaling_rows(out: str) -> list:
    s4 = section(out, 4)
    return [l.split() for l in s4.splitlines() if l.startswith(("m = ", "n = "))]


def family_rows(rows: list, key: str) -> list:
    """(n, m, fwd passes, rev passes, fwd ops, rev ops, winner) of the rows of family ``key``."""
    return [tuple(int(v) for v in r[3:9]) + (r[-1],) for r in rows if " ".join(r[:3]) == key]


def test_scaling_table_passes(default_output):
    rows = scaling_rows(default_output)
    # "m = 1" (3 tokens), n, m, fwd passes, rev passes, fwd ops, rev ops, fewer passes
    m1, n1, mn = (family_rows(rows, key) for key in ("m = 1", "n = 1", "m = n"))
    assert len(rows) == len(m1) + len(n1) + len(mn)
    assert [r[0] for r in m1] == [1, 10, 100, 1000]
    assert [r[1] for r in n1] == [1, 10, 100, 1000]  # this family grows in m
    assert [r[0] for r in mn] == [1, 10, 100, 300]  # the n³ map stops earlier by default
    for n, m, fwd, rev, _, _, winner in m1:
        assert (m, fwd, rev) == (1, n, 1)
        assert winner == ("tie" if n == 1 else "reverse")
    for n, m, fwd, rev, fwd_ops, _, winner in n1:
        assert (n, fwd, rev) == (1, 1, m)
        assert fwd_ops == n1[0][4]  # one forward pass, however many outputs
        assert winner == ("tie" if m == 1 else "forward")
    for n, m, fwd, rev, _, _, winner in mn:
        assert (m, fwd, rev, winner) == (n, n, n, "tie")
    assert "default sizes stop at n = 300" in default_output


def test_scaling_families_come_in_the_order_of_the_argument(default_output):
    # reverse wins (m = 1), forward wins (n = 1), then the draw in passes (m = n)
    order = []
    for r in scaling_rows(default_output):
        if " ".join(r[:3]) not in order:
            order.append(" ".join(r[:3]))
    assert order == ["m = 1", "n = 1", "m = n"]
    s4 = section(default_output, 4)
    assert "n = 1:  f(t) = sin(t · k) · k for k = 1 … m" in s4
    assert "with n = 1 it is the other way round" in " ".join(s4.split())


@pytest.mark.parametrize("m", [1, 7])
def test_n1_family_jacobian_is_m_by_1(m):
    import dualdiff as dd
    fam = next(f for f in compare.FAMILIES if f.key == "n = 1")
    f, t = fam.make(m)
    k = np.arange(1.0, m + 1)
    for mode in ("forward", "reverse"):
        J = dd.jacobian(f, t, mode=mode)
        assert J.shape == (m, 1)
        np.testing.assert_allclose(J[:, 0], k * k * np.cos(t[0] * k))


def test_default_output_is_deterministic(default_output, capsys):
    code, out, _ = run(capsys, "--no-timing")
    assert code == 0 and out == default_output


# ---- the counts come from the library's own accounting ------------------------------------------

def test_counts_come_from_jacobian_full_output(monkeypatch, capsys):
    calls = []
    real = compare.jacobian

    def spy(f, x, **kw):
        result = real(f, x, **kw)
        if kw.get("full_output"):
            J, info = result
            # Inflate the counts: if compare printed its own numbers, they would not change.
            info = type(info)(info.passes + 1000, info.mode, info.chunk, info.operations + 7000,
                              info.n_inputs, info.n_outputs)
            calls.append(info)
            return J, info
        return result

    monkeypatch.setattr(compare, "jacobian", spy)
    code, out, _ = run(capsys, "--no-timing", "--sizes", "3")
    assert code == 0
    assert len(calls) == 2 + 3 * 2  # the example and each family, in both modes
    s3 = section(out, 3)
    assert "1002 (one per input)" in s3 and "1001 (one per output)" in s3
    assert "7010" in s3
    assert [r[5:7] for r in scaling_rows(out)] == [["1003", "1001"], ["1001", "1003"],
                                                   ["1003", "1003"]]


def test_chunk_reduces_forward_passes(capsys):
    code, out, _ = run(capsys, "--no-timing", "--chunk", "4", "--sizes", "1", "10", "100")
    assert code == 0
    assert "1 (ceil(2/2): 2 inputs per pass)" in section(out, 3)  # chunk 4 > n = 2: one pass of 2
    rows = scaling_rows(out)
    assert len(rows) == 3 * 3
    for r in rows:
        n, m = int(r[3]), int(r[4])
        assert int(r[5]) == math.ceil(n / 4)
        assert int(r[6]) == m
    assert "4 inputs per pass (ceil(n/4) passes)" in out


def test_point_option_follows_the_closed_forms(capsys):
    code, out, _ = run(capsys, "--no-timing", "--sizes", "1", "--point", "1", "0")
    assert code == 0
    s3 = section(out, 3)
    assert "f(1, 0) = 0" in s3  # log 1 + 1·0 − sin 0
    assert "∇f(1, 0) = (1, 0)" in s3  # (1/1 + 0, 1 − cos 0)
    code, out, _ = run(capsys, "--no-timing", "--sizes", "1", "--point", "0.5", "-1.25")
    g = (1 / 0.5 - 1.25, 0.5 - math.cos(-1.25))
    assert f"∇f(0.5, -1.25) = ({g[0]:g}, {g[1]:.4f})" in out


# ---- JSON -----------------------------------------------------------------------------------------

def test_json_matches_the_text(capsys):
    code, out, _ = run(capsys, "--no-timing", "--json", "--sizes", "1", "10")
    assert code == 0
    doc = json.loads(out)
    assert doc["point"] == [2.0, 5.0] and doc["timing"] is False
    assert doc["value"] == pytest.approx(VALUE)
    assert doc["gradient"] == pytest.approx(GRAD)
    entries = doc["trace"]["entries"]
    assert [e["name"] for e in entries] == ["v₋₁", "v₀", "v₁", "v₂", "v₃", "v₄", "v₅"]
    assert [e["formula"] for e in entries][2:] == ["log v₋₁", "v₋₁ · v₀", "v₁ + v₂", "sin v₀", "v₃ − v₄"]
    assert [e["adjoint"] for e in entries] == pytest.approx([GRAD[0], GRAD[1], 1, 1, 1, -1, 1])
    assert [e["tangents"] for e in entries][4] == pytest.approx([GRAD[0], X1])
    assert [r["value"] for r in doc["sweep"]] == ["1", "-1", "1", "1", "1", "1.7163", "5.5"]
    cost = doc["cost"]
    assert (cost["forward"]["passes"], cost["reverse"]["passes"]) == (2, 1)
    assert cost["forward"]["operations"] == cost["reverse"]["operations"] == 10
    assert cost["forward"]["time_s"] is None and cost["f_time_s"] is None
    assert list(doc["scaling"]["families"]) == ["m = 1", "n = 1", "m = n"]
    assert doc["scaling"]["families"]["n = 1"].startswith("f(t) = sin(t · k) · k")
    rows = doc["scaling"]["rows"]
    assert [(r["family"], r["n"], r["m"]) for r in rows] == [
        ("m = 1", 1, 1), ("m = 1", 10, 1), ("n = 1", 1, 1), ("n = 1", 1, 10),
        ("m = n", 1, 1), ("m = n", 10, 10)]
    assert [(r["forward"]["passes"], r["reverse"]["passes"]) for r in rows] == [
        (1, 1), (10, 1), (1, 1), (1, 10), (1, 1), (10, 10)]
    assert [r["winner"] for r in rows] == ["tie", "reverse", "tie", "forward", "tie", "tie"]
    # The same numbers as the text output of the same run.
    code, text, _ = run(capsys, "--no-timing", "--sizes", "1", "10")
    assert [[r["n"], r["m"], r["forward"]["operations"], r["reverse"]["operations"]] for r in rows] == \
        [[int(r[3]), int(r[4]), int(r[7]), int(r[8])] for r in scaling_rows(text)]


def test_json_with_timing_has_positive_times(capsys):
    code, out, _ = run(capsys, "--json", "--sizes", "2")
    doc = json.loads(out)
    assert doc["timing"] is True
    for c in (doc["cost"]["forward"], doc["cost"]["reverse"]):
        assert c["time_s"] > 0 and c["ratio"] > 0
    for r in doc["scaling"]["rows"]:
        assert r["f_time_s"] > 0 and r["winner"] in ("forward", "reverse", "tie")


def test_timing_run_shows_time_columns(capsys):
    code, out, _ = run(capsys, "--sizes", "1", "10")
    assert code == 0
    assert "one evaluation of f:" in out
    header = next(l for l in section(out, 4).splitlines() if l.startswith("map"))
    assert "fwd time" in header and "rev/f" in header and header.split()[-1] == "faster"


# ---- bad arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["--chunk", "0"], ["--chunk", "two"], ["--point", "1"], ["--point", "a", "b"],
    ["--point", "-1", "5"], ["--point", "0", "5"], ["--point", "nan", "5"], ["--sizes"],
    ["--sizes", "0"], ["--sizes", "100000"], ["--plot"], ["--frobnicate"],
])
def test_bad_arguments_exit_2_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "error:" in err


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--point", "--chunk", "--sizes", "--json", "--plot", "--no-timing"):
        assert option in out


# ---- --plot -----------------------------------------------------------------------------------------

def test_plot_without_matplotlib_via_sys_modules(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib" fail
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, err = run(capsys, "--no-timing", "--plot", str(tmp_path / "c.png"))
    assert code != 0
    assert "pip install matplotlib" in err and 'pip install ".[plot]"' in err
    assert "dualdiff[plot]" not in err  # that name on the public index is another project
    assert out == ""  # it stops before the long runs
    assert not (tmp_path / "c.png").exists()


def test_plot_without_matplotlib_via_import_hook(monkeypatch, capsys, tmp_path):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    code, _, err = run(capsys, "--plot", str(tmp_path / "c.png"))
    assert code == 1 and "pip install matplotlib" in err


def fake_matplotlib(monkeypatch):
    """A stand-in for matplotlib.figure that records what is drawn."""
    drawn = {"plots": [], "saved": None}

    class Axes:
        def plot(self, xs, ys, **style):
            drawn["plots"].append((style["label"], list(xs), list(ys), style))

        def __getattr__(self, name):  # set_xscale, set_title, legend, ...
            return lambda *a, **k: None

    class Figure:
        def __init__(self, figsize=None):
            pass

        def subplots(self, rows, cols, squeeze=True):
            return [[Axes() for _ in range(cols)] for _ in range(rows)]

        def __getattr__(self, name):  # suptitle, tight_layout
            return lambda *a, **k: None

        def savefig(self, path):
            drawn["saved"] = path

    mpl = types.ModuleType("matplotlib")
    fig_mod = types.ModuleType("matplotlib.figure")
    fig_mod.Figure = Figure
    mpl.figure = fig_mod
    monkeypatch.setitem(sys.modules, "matplotlib", mpl)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", fig_mod)
    return drawn


def test_plot_draws_both_modes_for_every_family(monkeypatch, capsys, tmp_path):
    drawn = fake_matplotlib(monkeypatch)
    path = str(tmp_path / "cost.png")
    code, out, err = run(capsys, "--no-timing", "--sizes", "1", "10", "--plot", path)
    assert code == 0 and drawn["saved"] == path and path in err
    # one panel per family and measure (passes, then operations), forward and reverse in each
    assert [p[0] for p in drawn["plots"]] == ["forward mode", "reverse mode"] * 6
    passes = [ys for _, _, ys, _ in drawn["plots"][:6]]
    assert passes == [[1, 10], [1, 1],      # m = 1: n forward passes, one reverse sweep
                      [1, 1], [1, 10],      # n = 1: one forward pass, m reverse sweeps
                      [1, 10], [1, 10]]     # m = n: n of each
    # each family against the size it grows in: n = 1 against m, not a column at n = 1
    assert all(xs == [1, 10] for _, xs, _, _ in drawn["plots"])
    # the two modes never share a style, so coinciding lines (m = n) both show
    fwd, rev = drawn["plots"][0][3], drawn["plots"][1][3]
    for key in ("color", "linestyle", "marker"):
        assert fwd[key] != rev[key], key


def test_plot_with_real_matplotlib_draws_every_series_distinctly(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    path = tmp_path / "cost.png"
    code, _, _ = run(capsys, "--no-timing", "--sizes", "1", "10", "100", "--plot", str(path))
    assert code == 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [{"family": fam.key, "n": 1 if fam.size_of == "m" else s, "m": s if fam.size_of == "m" else 1,
             "forward": {"passes": s if fam.size_of == "n" else 1, "operations": 2 * s, "ratio": None},
             "reverse": {"passes": s if fam.key != "m = 1" else 1, "operations": 3 * s, "ratio": None}}
            for fam in compare.FAMILIES for s in (1, 10, 100)]
    fig = compare._figure(rows, False, Figure)
    assert len(fig.axes) == 6
    for ax in fig.axes:
        lines = ax.get_lines()
        assert [l.get_label() for l in lines] == ["forward mode", "reverse mode"]
        styles = {(l.get_color(), l.get_linestyle(), l.get_marker()) for l in lines}
        assert len(styles) == 2  # distinct colour, line and marker
        assert all(len(l.get_xdata()) == 3 for l in lines)
        assert ax.get_xscale() == "log" and ax.get_xlabel() in ("n (inputs)", "m (outputs)")
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["forward mode", "reverse mode"]
    assert fig.axes[0].get_ylabel() == "passes for the full Jacobian"


# ---- --html and output paths ------------------------------------------------------------------------

def test_html_page_holds_the_example_and_the_scaling(tmp_path, capsys):
    path = tmp_path / "report.html"
    code, out, err = run(capsys, "--no-timing", "--sizes", "1", "10", "--html", str(path))
    assert code == 0 and str(path) in err and "2. Reverse sweep" in out
    page = path.read_text(encoding="utf-8")
    assert "http:" not in page and "https:" not in page
    assert page.count("<svg") == 1 + 6  # the graph, then a chart per family and measure
    for section in ('id="graph"', 'id="forward"', 'id="reverse"', 'id="cost"', 'id="scaling"'):
        assert section in page
    assert "5.5" in page and "1.7163" in page and "fewer passes" in page


@pytest.mark.parametrize("option", ["--plot", "--html"])
def test_unwritable_output_paths_fail_before_the_run(option, tmp_path, capsys, monkeypatch):
    ran = []
    monkeypatch.setattr(compare, "_example", lambda *a: ran.append(1))
    for bad, words in ((tmp_path / "missing" / "out.file", "does not exist"),
                       (tmp_path, "is a directory")):
        with pytest.raises(SystemExit) as exc:
            compare.main(["--no-timing", option, str(bad)])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert option in err and words in err
    assert ran == []  # nothing ran


# ---- progress ---------------------------------------------------------------------------------------

def test_progress_is_silent_for_short_runs_and_reports_long_ones():
    import io
    quiet = io.StringIO()
    p = compare._Progress(2, stream=quiet, after=60.0)
    p.step("a")
    p.step("b")
    p.done()
    assert quiet.getvalue() == ""
    loud = io.StringIO()
    p = compare._Progress(2, stream=loud, after=0.0)
    p.step("m = 1, n = 10")
    p.step("m = n, n = 10")
    p.done()
    lines = loud.getvalue().splitlines()
    assert lines[0] == "scaling [1/2] m = 1, n = 10"
    assert lines[1] == "scaling [2/2] m = n, n = 10"
    assert lines[2].startswith("scaling done in")


# ---- as a program ---------------------------------------------------------------------------------

def test_runs_as_a_module(default_output):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, "-m", "dualdiff.compare", "--no-timing"],
                          cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == default_output
    bad = subprocess.run([sys.executable, "-m", "dualdiff.compare", "--chunk", "0"],
                         cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8",
                         timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.startswith("usage: python -m dualdiff.compare")


# ---- the comparison as an object -----------------------------------------------------------------

def test_run_gives_the_same_report_as_the_command(capsys):
    c = compare.run(sizes=[1, 10], timing=False)
    code, out, _ = run(capsys, "--no-timing", "--sizes", "1", "10")
    assert code == 0 and out == str(c) + "\n"
    view = c._repr_html_()
    assert "<script" not in view and view.count("<svg") == 1 + 6 and "<table" in view
    assert "Scaling over maps" in view and "fewer passes" in view
    assert repr(c) == "<Comparison at (2.0, 5.0): 6 scaling rows, timing off>"
    with pytest.raises(ValueError, match="x1 must be > 0"):
        compare.run(point=(-1.0, 5.0))
