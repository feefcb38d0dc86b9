"""Shared machinery of the dualdiff benchmarks: timing, ratios against targets, peers.

Timing. Every callable of a comparison is timed in the same run, *interleaved*: one repeat of
each in turn, round after round, so that a burst of load from another process on the machine
lands on all of them alike instead of on whichever happened to run during it. One repeat runs
the callable ``loops`` times in a tight loop (``timeit``'s generated loop, timer
``time.perf_counter``, garbage collection left on because dualdiff allocates many objects and
collecting them is part of its cost); ``loops`` is chosen per callable so that one repeat lasts
at least ``min_time`` (50 ms by default). A callable's time is the median over the repeats of
(repeat time / loops). A ratio is the ratio of two such medians.

Next to each ratio the range of the *paired* ratios (round r of the numerator over round r of
the denominator) is printed: a wide range means the machine was busy and the number is shaky.

Isolation. Each section (numbered item) of a script runs in a fresh child process, so that no
section inherits another's allocator state, imports or warm caches (see :func:`run_script`).

Output. Every ratio is one line that starts with ``RATIO`` and an id, then the value, then
``target <= T x PASS|MISS`` for the numbers that have a target and ``ref`` for the ones printed
for reference. ``tests/test_benchmarks_smoke.py`` and ``run_all.py`` read those lines.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import math
import os
import re
import statistics
import sys
import time
import timeit
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------
# BLAS threads: decided before numpy is imported (the scripts import this module first)
# --------------------------------------------------------------------------------------------

_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _configure_blas_threads(argv: Sequence[str]) -> str:
    """Pin the BLAS thread pool (default 1 thread) unless told otherwise; returns a description.

    On a 2-core machine shared with other jobs a multithreaded matmul waits for a busy core: the
    MLP's numpy loss, 0.2-0.3 ms on one thread, was timed at 8 ms with two, so the MLP ratio
    measured the load rather than dualdiff. One thread makes both sides of every ratio run the
    same single-threaded numpy. An explicit
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` in the environment wins;
    ``--blas-threads N`` sets N, and ``--blas-threads 0`` leaves the library's default.
    """
    inherited = os.environ.get("DUALDIFF_BENCH_BLAS")
    if inherited:  # a parent benchmark process decided already; its children keep its choice
        return inherited
    note = _decide_blas_threads(argv)
    os.environ["DUALDIFF_BENCH_BLAS"] = note
    return note


def _decide_blas_threads(argv: Sequence[str]) -> str:
    want = None
    for i, a in enumerate(argv):
        if a == "--blas-threads" and i + 1 < len(argv):
            want = argv[i + 1]
        elif a.startswith("--blas-threads="):
            want = a.split("=", 1)[1]
    if want is not None and want.strip() == "0":
        return "library default (--blas-threads 0)"
    preset = {v: os.environ[v] for v in _BLAS_VARS if v in os.environ}
    if want is None and preset:
        return "from the environment: " + ", ".join(f"{k}={v}" for k, v in preset.items())
    n = want if want is not None else "1"
    if "numpy" in sys.modules:
        return f"{n} requested, but numpy was imported first: library default in effect"
    for v in _BLAS_VARS:
        os.environ[v] = n
    return f"{n} (set by the benchmark; --blas-threads 0 for the library default)"


BLAS_THREADS = _configure_blas_threads(sys.argv[1:])


def use_working_tree() -> Any:
    """Import dualdiff from this checkout (not an installed copy) and return the module.

    The repo root goes first on sys.path, so the benchmarks always measure the working tree
    they sit in, whether or not some version of dualdiff is also installed.
    """
    root = str(REPO_ROOT)
    if root not in sys.path[:1]:
        sys.path.insert(0, root)
    import dualdiff
    here = Path(dualdiff.__file__).resolve()
    if REPO_ROOT not in here.parents:  # pragma: no cover - only with an odd sys.path
        print(f"WARNING: measuring dualdiff from {here}, not from this working tree")
    return dualdiff


# --------------------------------------------------------------------------------------------
# Command line and settings
# --------------------------------------------------------------------------------------------

@dataclass
class Settings:
    quick: bool
    min_time: float          # seconds one repeat lasts at least
    repeats_small: int       # repeats for functions that take microseconds
    repeats_big: int         # repeats for functions that take milliseconds
    peers: bool
    section: Optional[str] = None   # run only this section (what the parent asks its children)
    in_process: bool = False        # run all sections in this process (for profiling)
    argv: List[str] = field(default_factory=list)  # the options as given, for the children


def parse_args(description: str, argv: Optional[Sequence[str]] = None,
               sections: Sequence[str] = ()) -> Settings:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="few short repeats and small arrays: checks the script runs, the "
                        "numbers are not representative (used by the smoke test)")
    p.add_argument("--no-peers", action="store_true",
                   help="do not try to import jax / torch / autograd")
    p.add_argument("--min-time", type=float, default=None,
                   help="seconds each repeat lasts at least (default 0.05, quick 0.005)")
    p.add_argument("--blas-threads", type=int, default=None, metavar="N",
                   help="BLAS threads for numpy's matmul (default 1, or what OPENBLAS_NUM_THREADS "
                        "etc. say; 0 = the library's default); applied before numpy is imported")
    p.add_argument("--repeats", type=int, default=None,
                   help="repeats per callable (default 7 for small functions and 9 for big "
                        "ones, quick 3)")
    p.add_argument("--section", choices=list(sections) or None, default=None,
                   help="run only this section (by default each section runs in its own fresh "
                        "process, so that none inherits another's memory-allocator state)")
    p.add_argument("--in-process", action="store_true",
                   help="run all sections in this one process (handy under a profiler)")
    a = p.parse_args(argv)
    if a.quick:
        s = Settings(True, 0.005, 3, 3, not a.no_peers)
    else:
        s = Settings(False, 0.05, 7, 9, not a.no_peers)
    s.section, s.in_process = a.section, a.in_process
    s.argv = [x for x in argv if x != "--in-process"]
    if a.min_time is not None:
        s.min_time = a.min_time
    if a.repeats is not None:
        s.repeats_small = s.repeats_big = max(1, a.repeats)
    return s


def banner(title: str, settings: Settings, dd: Any) -> None:
    import numpy as np
    print(f"# {title}")
    print(f"# dualdiff {dd.__version__} from {Path(dd.__file__).resolve().parent}")
    print(f"# python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cpu(s); "
          f"median of {settings.repeats_small}/{settings.repeats_big} repeats "
          f"(small/big functions), each >= {settings.min_time * 1e3:.0f} ms")
    print(f"# BLAS threads: {BLAS_THREADS}")
    if settings.quick:
        print("# QUICK MODE: short repeats and small arrays; the ratios below are NOT "
              "representative and PASS/MISS means nothing")
    print("# Ratios move with machine load; see benchmarks/README.md.")


def section(title: str) -> None:
    print()
    print(f"== {title} ==")


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------

@dataclass
class Bench:
    """One thing to time: ``fn(*args, **kwargs)``, called exactly so in the timed loop."""

    label: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    peer: str = ""  # the peer library's name, for peer benches
    # filled by time_group
    loops: int = 0
    times: List[float] = field(default_factory=list)  # seconds per call, one per repeat

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def timer(self) -> timeit.Timer:
        # The statement is the literal call ``_f(_a0, _a1, k=_k_k)``: no lambda and no *args
        # unpacking between the loop and the function, which matters for a 0.1 us function.
        ns: Dict[str, Any] = {"gc": gc, "_f": self.fn}
        parts = []
        for i, a in enumerate(self.args):
            ns[f"_a{i}"] = a
            parts.append(f"_a{i}")
        for k, v in self.kwargs.items():
            ns[f"_k_{k}"] = v
            parts.append(f"{k}=_k_{k}")
        return timeit.Timer(f"_f({', '.join(parts)})", setup="gc.enable()",
                            timer=time.perf_counter, globals=ns)

    def call(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


def _calibrate(timer: timeit.Timer, min_time: float) -> int:
    """The number of loops that makes one repeat last at least ``min_time``."""
    loops = 1
    while True:
        t = timer.timeit(loops)
        if t >= min_time:
            return loops
        if t <= 0:
            loops *= 10
            continue
        # aim 20 % over so that the next try usually passes; grow at most 100x per step
        loops = max(loops + 1, min(loops * 100, math.ceil(loops * min_time * 1.2 / t)))


def time_group(benches: Sequence[Bench], repeats: int, min_time: float) -> None:
    """Time ``benches`` interleaved: calibrate each, then ``repeats`` rounds of one repeat each."""
    timers = [b.timer() for b in benches]
    gc.collect()
    for b, t in zip(benches, timers):
        b.call()  # warm-up (caches, first-call imports)
        b.loops = _calibrate(t, min_time)
        b.times = []
    for _ in range(repeats):
        for b, t in zip(benches, timers):
            b.times.append(t.timeit(b.loops) / b.loops)


def fmt_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:8.1f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.3f} s "


def print_times(benches: Sequence[Bench]) -> None:
    width = max(len(b.label) for b in benches)
    for b in benches:
        spread = (max(b.times) - min(b.times)) / b.median * 100 if b.median > 0 else 0.0
        print(f"  time  {b.label:<{width}}  {fmt_time(b.median)}   "
              f"(loops {b.loops}, {len(b.times)} repeats, spread {spread:.0f}%)")


# --------------------------------------------------------------------------------------------
# Ratios and targets
# --------------------------------------------------------------------------------------------

@dataclass
class Ratio:
    key: str
    text: str
    value: float
    target: Optional[float]
    headline: bool

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "ref"
        # Judged on the value as printed (two decimals), so the line never contradicts itself.
        return "PASS" if round(self.value, 2) <= self.target else "MISS"


#: The five numbers with targets, in the order of benchmarks/README.md.
HEADLINES = ("fwd.seed", "fwd.jvp", "rev.grad", "rev.mlp", "rev.seed")

#: A ratio line as :func:`report_ratio` prints it (read back by the parent, run_all and tests).
RATIO_LINE = re.compile(
    r"^RATIO (?P<key>\S+)\s+(?P<value>[0-9.]+)x\s+\[paired [0-9.]+-[0-9.]+\]\s+"
    r"(?:target <= (?P<target>[0-9.]+)x\s+(?P<verdict>PASS|MISS)|ref)\s+(?P<text>\S.*)$")

#: Every ratio printed by this process or its children, in order (the summary reads it).
RESULTS: List[Ratio] = []


def report_ratio(key: str, text: str, num: Bench, den: Bench,
                 target: Optional[float] = None) -> Ratio:
    """Print ``num / den`` (ratio of medians) with its paired range, target and verdict."""
    value = num.median / den.median
    paired = sorted(a / b for a, b in zip(num.times, den.times))
    r = Ratio(key, text, value, target, key in HEADLINES)
    tgt = f"target <= {target:g}x  {r.verdict}" if target is not None else "ref"
    print(f"RATIO {key:<22} {value:9.2f}x  [paired {paired[0]:.2f}-{paired[-1]:.2f}]  "
          f"{tgt}   {text}")
    RESULTS.append(r)
    return r


def time_grad_and_jvp(dd: Any, key: str, name: str, f: Callable[..., Any], x: Any,
                      settings: "Settings") -> None:
    """Time f(x) in numpy, dd.grad(f, x) and dd.jvp(f, x, x) together; print ``key.grad`` and
    ``key.jvp``, each against the numpy f."""
    base = Bench(f"numpy {name}", f, (x,))
    rev = Bench(f"dd.grad {name}", dd.grad, (f, x))
    fwd = Bench(f"dd.jvp {name}", dd.jvp, (f, x, x))
    group = [base, rev, fwd]
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio(f"{key}.grad", f"dd.grad / numpy, {name}", rev, base)
    report_ratio(f"{key}.jvp", f"dd.jvp / numpy, {name}", fwd, base)


def parse_ratio(line: str) -> Optional[Ratio]:
    m = RATIO_LINE.match(line.rstrip("\n"))
    if m is None:
        return None
    target = float(m["target"]) if m["target"] is not None else None
    return Ratio(m["key"], m["text"], float(m["value"]), target, m["key"] in HEADLINES)


def print_summary(title: str) -> None:
    heads = [r for r in RESULTS if r.headline]
    if not heads:
        return
    section(f"summary: {title}")
    for r in heads:
        print(f"  {r.key:<22} {r.value:9.2f}x  target <= {r.target:g}x  {r.verdict}   {r.text}")


# --------------------------------------------------------------------------------------------
# Correctness checks (a benchmark of a wrong answer is worthless)
# --------------------------------------------------------------------------------------------

#: Failed checks; a script exits 1 when this is not empty.
FAILURES: List[str] = []


def check_close(what: str, got: Any, want: Any, rtol: float = 1e-10, atol: float = 1e-12) -> bool:
    """Record and print a failure when ``got`` and ``want`` differ beyond the tolerances."""
    import numpy as np
    got_l = got if isinstance(got, (tuple, list)) else [got]
    want_l = want if isinstance(want, (tuple, list)) else [want]
    worst = 0.0
    ok = len(got_l) == len(want_l)
    for g, w in zip(got_l, want_l):
        g, w = np.asarray(g, dtype=float), np.asarray(w, dtype=float)
        if g.shape != w.shape:
            ok = False
            continue
        err = np.max(np.abs(g - w)) if g.size else 0.0
        worst = max(worst, float(err))
        if not np.allclose(g, w, rtol=rtol, atol=atol):
            ok = False
    if ok:
        print(f"  check {what}: OK (max abs diff {worst:.2e})")
    else:
        msg = f"{what}: MISMATCH (max abs diff {worst:.3e}, rtol {rtol:g}, atol {atol:g})"
        print(f"  check {msg}")
        FAILURES.append(msg)
    return ok


def _run_here(name: str, run: Callable[[Settings], None], settings: Settings) -> None:
    import traceback
    try:
        run(settings)
    except Exception as e:  # report it, and let the other sections run
        traceback.print_exc(file=sys.stdout)
        FAILURES.append(f"section {name} raised {type(e).__name__}: {e}")


def stream_child(cmd: List[str]) -> "tuple[int, List[Ratio]]":
    """Run cmd in a fresh interpreter, echo its output as it comes; its exit status and ratios."""
    import subprocess
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    ratios = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        r = parse_ratio(line)
        if r is not None:
            ratios.append(r)
    return proc.wait(), ratios


def _run_child(script: str, name: str, settings: Settings) -> None:
    """Run one section in a fresh interpreter, echo its output, collect its ratios."""
    rc, ratios = stream_child([sys.executable, "-u", script] + settings.argv + ["--section", name])
    RESULTS.extend(ratios)
    if rc != 0:
        FAILURES.append(f"section {name} exited with status {rc} (see its output above)")


def run_script(title: str, script: str, sections: Dict[str, Callable[[Settings], None]],
               argv: Optional[Sequence[str]] = None) -> int:
    """A benchmark script's main: the banner, every section, the summary; the exit status.

    By default every section runs in a fresh child process. Sections share nothing but the
    machine, and in particular not the state of the C allocator: glibc raises its mmap threshold
    after a large array is freed, so a section that ran after the 1e6-element ones would see
    medium arrays (the MLP's 627 KB weights) allocated without page faults, and one that ran
    first would not: 428 page faults per MLP dd.grad call against none, a ratio of 4.5x against
    3.5x. ``--section`` runs one section here (what the children are asked), ``--in-process``
    all of them here.
    """
    settings = parse_args(title, argv, sections=list(sections))
    dd = use_working_tree()
    if settings.section is not None:
        _run_here(settings.section, sections[settings.section], settings)
        return _report_failures()
    banner(title, settings, dd)
    for name, run in sections.items():
        if settings.in_process:
            _run_here(name, run, settings)
        else:
            sys.stdout.flush()
            _run_child(script, name, settings)
    print_summary(title)
    return _report_failures()


def _report_failures() -> int:
    if FAILURES:
        print()
        print("FAILURES (a crash, or a derivative that disagrees with its exact value: a "
              "dualdiff bug, or a wrong peer/hand-written gradient):")
        for f in FAILURES:
            print(f"  {f}")
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# Optional peers: imported lazily, never installed by these scripts
# --------------------------------------------------------------------------------------------

PEERS = ("jax", "torch", "autograd")
_peer_cache: Dict[str, Any] = {}  # name -> (module or None, why not)


def load_peer(name: str) -> tuple:
    """``(module, None)`` or ``(None, reason)``; the import is tried once per process."""
    if name not in _peer_cache:
        mod, why = None, None
        if importlib.util.find_spec(name) is None:
            why = f"peer {name} not installed (pip install {name})"
        else:
            try:
                mod = importlib.import_module(name)
                if name == "jax":
                    mod.config.update("jax_enable_x64", True)  # float64, like dualdiff
                elif name == "autograd":
                    importlib.import_module("autograd.numpy")
                    importlib.import_module("autograd.scipy.special")
            except Exception as e:  # a broken install must not stop the benchmark
                mod, why = None, f"peer {name} failed to import: {type(e).__name__}: {e}"
        _peer_cache[name] = (mod, why)
    return _peer_cache[name]


PeerBuilder = Callable[[Any], Optional[tuple]]


def run_peers(settings: Settings, builders: Dict[str, PeerBuilder], expected: Any,
              rtol: float = 1e-8) -> List[Bench]:
    """A checked Bench per available peer.

    ``builders[name](module)`` returns ``(bench, result)`` where ``result()`` gives the peer's
    derivative as numpy arrays (compared with ``expected``), or None when the peer has no
    counterpart. A peer that raises is reported and skipped.
    """
    if not settings.peers:
        print("  peers skipped (--no-peers)")
        return []
    out = []
    for name in PEERS:
        build = builders.get(name)
        if build is None:
            continue
        mod, why = load_peer(name)
        if mod is None:
            print(f"  {why}")
            continue
        try:
            built = build(mod)
            if built is None:
                continue
            bench, result = built
            bench.peer = name
            bench.call()  # compiles (jax.jit) and checks it runs before anything is timed
            check_close(f"{bench.label} agrees with dualdiff", result(), expected, rtol=rtol,
                        atol=1e-10)
            out.append(bench)
        except Exception as e:
            print(f"  peer {name} failed: {type(e).__name__}: {e}")
    return out
