"""The step-through page in a real browser: headless Chromium, driven over the DevTools protocol.

Run when /usr/bin/chromium exists (Debian: ``apt-get install chromium``), skipped otherwise:

    python -m pytest tests/test_browser.py -v

It loads the page, presses → through every forward step and keeps going back through every
adjoint, reading after each step what the page displays (which tangents and adjoints are
visible, and their numbers), clicks the buttons, and fails on any console error. Expected numbers
are the worked example's closed forms, written here.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import compare

from browser import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no browser at {CHROMIUM} (apt-get install chromium)")

X1, X2 = 2.0, 5.0
ORDER = [-1, 0, 1, 2, 3, 4, 5]  # entries in recording order
# closed forms: tangents for ẋ = e₁ and ẋ = e₂, and adjoints (ȳ = 1)
TANGENT_1 = {-1: 1, 0: 0, 1: 1 / X1, 2: X2, 3: 1 / X1 + X2, 4: 0, 5: 1 / X1 + X2}
TANGENT_2 = {-1: 0, 0: 1, 1: 0, 2: X1, 3: X1, 4: math.cos(X2), 5: X1 - math.cos(X2)}
ADJOINT = {-1: 1 / X1 + X2, 0: X1 - math.cos(X2), 1: 1, 2: 1, 3: 1, 4: -1, 5: 1}


def shown(v: float) -> str:
    return np.format_float_positional(round(v, 4), trim="-").replace("-", "−")


VISIBLE = """(function () {
  function seen(el) { return getComputedStyle(el).visibility !== "hidden" &&
                             getComputedStyle(el).display !== "none"; }
  var out = {tan: {}, adj: {}, cells: [], sweep: [], now: null};
  document.querySelectorAll(".dd-graph .dd-tan[data-entry]").forEach(function (el) {
    if (seen(el)) out.tan[el.getAttribute("data-entry")] = el.textContent; });
  document.querySelectorAll(".dd-graph .dd-adj[data-entry]").forEach(function (el) {
    if (seen(el)) out.adj[el.getAttribute("data-entry")] = el.textContent; });
  document.querySelectorAll("#forward tbody tr").forEach(function (tr) {
    out.cells.push(Array.prototype.map.call(tr.cells, function (td) {
      return seen(td) ? td.textContent : null; })); });
  document.querySelectorAll("#reverse tbody tr").forEach(function (tr) {
    out.sweep.push(seen(tr.cells[3]) ? tr.cells[3].textContent : null); });
  out.paths = [];
  document.querySelectorAll(".dd-graph .dd-path").forEach(function (el) {
    if (seen(el)) out.paths.push(el.getAttribute("data-entry")); });
  out.result = seen(document.querySelector("#graph p span[data-step]"));
  var now = document.querySelector(".dd-graph .dd-node.dd-now");
  out.now = now ? now.getAttribute("data-entry") : null;
  out.step = document.body.getAttribute("data-step");
  out.status = document.getElementById("dd-status").textContent;
  return out; })()"""


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def check_page(browser, url):
    browser.open(url)
    assert browser.eval("document.body.getAttribute('data-ready')") == "true"
    n = len(ORDER)
    state = browser.eval(VISIBLE)
    assert state["step"] == "0" and state["tan"] == {} and state["adj"] == {}
    assert all(row[3] is None and row[4] is None for row in state["cells"])
    assert all(v is None for v in state["sweep"])
    assert state["paths"] == [] and state["result"] is False  # the answers wait for the sweep

    # forward: one more node's tangents per step, in recording order
    for k, entry in enumerate(ORDER, start=1):
        browser.key("ArrowRight", keycode=39)
        state = browser.eval(VISIBLE)
        assert state["step"] == str(k) and state["now"] == str(entry)
        done = ORDER[:k]
        assert state["tan"] == {str(e): "v̇ = " + shown(TANGENT_1[e]) for e in done}
        for row, e in zip(state["cells"], ORDER):
            expected = [shown(TANGENT_1[e]), shown(TANGENT_2[e])] if e in done else [None, None]
            assert row[3:] == expected, (k, e, row)
        assert state["adj"] == {}
        assert state["status"].endswith(shown(TANGENT_2[entry]) + "   (ẋ = e₂)")

    # reverse: one more adjoint per step, newest value first
    for k, entry in enumerate(reversed(ORDER), start=1):
        browser.key("ArrowRight", keycode=39)
        state = browser.eval(VISIBLE)
        assert state["step"] == str(n + k) and state["now"] == str(entry)
        done = list(reversed(ORDER))[:k]
        assert state["adj"] == {str(e): "v̄ = " + shown(ADJOINT[e]) for e in done}
        assert state["sweep"] == [shown(ADJOINT[e]) for e in done] + [None] * (n - k)
        assert "= " + shown(ADJOINT[entry]) in state["status"]
        # an input's path sum appears with its adjoint; the gradient line at the very end
        assert state["paths"] == [str(e) for e in (-1, 0) if e in done]
        assert state["result"] is (k == n)
    assert "∂y/∂x1 = 5.5" in state["status"]

    # past the end nothing moves; the buttons and Home/End work
    browser.key("ArrowRight", keycode=39)
    assert browser.eval(VISIBLE)["step"] == str(2 * n)
    assert browser.eval("document.getElementById('dd-next').disabled") is True
    browser.click("#dd-prev")
    state = browser.eval(VISIBLE)
    assert state["step"] == str(2 * n - 1) and "-1" not in state["adj"]
    browser.click("#dd-first")
    assert browser.eval(VISIBLE)["step"] == "0"
    browser.click("#dd-next")
    assert browser.eval(VISIBLE)["tan"] == {"-1": "v̇ = 1"}
    browser.key("End", keycode=35)
    assert browser.eval(VISIBLE)["step"] == str(2 * n)
    browser.key("Home", keycode=36)
    assert browser.eval(VISIBLE)["step"] == "0"
    # the graph's tangents can show the other direction
    browser.key("End", keycode=35)
    browser.click('.dd-dirs button[data-dir="1"]')
    assert browser.eval(VISIBLE)["tan"] == {str(e): "v̇ = " + shown(TANGENT_2[e]) for e in ORDER}
    assert browser.errors() == []


def test_trace_page_steps_through_both_modes(browser, tmp_path):
    path = tmp_path / "trace.html"
    t = dd.trace(lambda x: np.log(x[0]) + x[0] * x[1] - np.sin(x[1]), (X1, X2))
    path.write_text(t.to_html(), encoding="utf-8")
    check_page(browser, path.as_uri())


def test_compare_page_steps_through_both_modes(browser, tmp_path, capsys):
    path = tmp_path / "report.html"
    assert compare.main(["--no-timing", "--sizes", "1", "10", "--html", str(path)]) == 0
    capsys.readouterr()
    check_page(browser, path.as_uri())
    assert browser.eval("document.querySelectorAll('#scaling svg').length") == 6


def test_page_fits_a_phone(browser, tmp_path):
    path = tmp_path / "trace.html"
    path.write_text(dd.trace(lambda x: np.sin(x[0]) * x[1], (1.0, 2.0)).to_html(), encoding="utf-8")
    browser.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2,
                 mobile=True)
    try:
        browser.open(path.as_uri())
        # the page itself never scrolls sideways: wide parts scroll inside their own boxes
        assert browser.eval("document.documentElement.scrollWidth <= window.innerWidth + 1") is True
        assert browser.eval("getComputedStyle(document.querySelector('.dd-controls')).position") == "sticky"
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
    assert browser.errors() == []
