"""Thread safety (issue #7, item 4): shared state under contention.

The shared state is the registry of the tags of hand-built Duals (filled on first use) and the
counter that orders tags; everything else is per call (a transform's tag, tape and seeds). Each
test starts many threads at once behind a barrier, with a tiny switch interval so that threads
interleave inside dualdiff's code, and checks every result. The first-use race can only happen
once per process, so it is also run in several fresh processes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import dualdiff as dd

ROOT = Path(__file__).resolve().parent.parent
THREADS = 16


def _run_together(work, n=THREADS):
    """Run work(i) in n threads released at once; return the results or raise the first error."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
    return results


def test_transforms_from_many_threads():
    def work(i):
        x = np.linspace(0.1, 1.0, 5) + i
        f = lambda x: np.sum(np.sin(x) * x ** 2)
        out = []
        for _ in range(2):
            out.append((dd.grad(f, x), dd.grad(f, x, mode="forward"),
                        dd.jacobian(lambda x: np.sin(x) * x ** 2, x, chunk=2),
                        dd.hessian(f, x), dd.jvp(f, x, np.ones(5))[1]))
        return x, out

    for x, out in _run_together(work):
        g = np.cos(x) * x ** 2 + 2 * x * np.sin(x)
        h = -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x)
        for gr, gf, J, H, t in out:
            np.testing.assert_allclose(gr, g, rtol=1e-12)
            np.testing.assert_allclose(gf, g, rtol=1e-12)
            np.testing.assert_allclose(J, np.diag(g), rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(H, np.diag(h), rtol=1e-12, atol=1e-14)
            assert t == pytest.approx(np.sum(g))


def test_hand_built_duals_from_many_threads():
    def work(i):
        y = dd.Dual(2.0 + i, 1.0) * dd.Dual(5.0, 0.0)
        z = dd.Dual(1.0, np.ones(3)) * dd.Dual(2.0 + i, np.zeros(3))
        return i, y, z

    for i, y, z in _run_together(work):
        assert (y.primal, y.tangent) == (5.0 * (2.0 + i), 5.0)
        np.testing.assert_array_equal(z.tangent, [2.0 + i] * 3)


def test_first_use_of_the_user_tags_under_contention(monkeypatch):
    """The registry of hand-built Duals' tags starts empty; every thread's first Dual races to
    fill it. Making a tag is slowed down here, so every thread is inside that window at once."""
    import time
    from dualdiff import dual

    class SlowTag(dual.ForwardTag):
        __slots__ = ()

        def __init__(self, *args, **kwargs):
            time.sleep(0.002)  # another thread runs meanwhile
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(dual, "_USER_TAGS", {})
    monkeypatch.setattr(dual, "ForwardTag", SlowTag)

    def work(i):
        return dd.Dual(2.0, 1.0), dd.Dual(5.0, 0.0)

    pairs = _run_together(work, n=8)
    for a, b in pairs:  # Duals from different threads combine: they share one tag
        assert (a * pairs[0][1]).tangent == 5.0 and (pairs[0][0] * b).tangent == 5.0


FRESH = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, {root!r})
    import dualdiff as dd
    sys.setswitchinterval(1e-6)
    n = 8
    barrier, errors = threading.Barrier(n), []
    def run(k):
        try:
            barrier.wait()
            y = dd.Dual(2.0, 1.0) * dd.Dual(5.0, 0.0)
            z = dd.Dual([1.0, 2.0], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]) * dd.Dual([3.0, 4.0], [[0.0] * 2] * 3)
            assert (y.primal, y.tangent) == (10.0, 5.0), (y.primal, y.tangent)
            assert z.tangent.tolist() == [[3.0, 0.0], [0.0, 4.0], [3.0, 4.0]], z.tangent
        except BaseException as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print("; ".join(errors) or "ok")
""")


def test_first_use_of_hand_built_duals_in_fresh_processes():
    script = FRESH.format(root=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    failed = [o for o in outputs if o != "ok"]
    assert not failed, f"{len(failed)} of {len(procs)} fresh processes failed: {failed[0]}"
