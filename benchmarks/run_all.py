"""Run every dualdiff benchmark script, each in its own process, then print one summary.

Run from the repo root: ``python benchmarks/run_all.py [--quick] [--no-peers] [...]``; any
option is passed on to each script. Exits non-zero if a script did (a failed correctness check
or a crash), never because a target was missed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import HEADLINES, stream_child  # noqa: E402

SCRIPTS = ("bench_forward.py", "bench_reverse.py", "bench_checkpoint.py")


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    found = {}
    status = 0
    start = time.perf_counter()
    for name in SCRIPTS:
        print(f"$ python benchmarks/{name} {' '.join(args)}".rstrip(), flush=True)
        rc, ratios = stream_child([sys.executable, "-u", str(HERE / name)] + args)
        for r in ratios:
            found.setdefault(r.key, r)
        if rc != 0:
            print(f"!! benchmarks/{name} exited with status {rc}")
            status = status or rc
        print(flush=True)

    print(f"== overall summary ({time.perf_counter() - start:.0f} s) ==")
    for key in HEADLINES:
        r = found.get(key)
        if r is None:
            print(f"  {key:<10} (not measured)")
            status = status or 1
        else:
            print(f"  {key:<10} {r.value:9.2f}x  target <= {r.target:g}x  {r.verdict}   {r.text}")
    missed = sum(1 for k in HEADLINES if k in found and found[k].verdict == "MISS")
    print(f"  {len(HEADLINES) - missed} of {len(HEADLINES)} targets met"
          + (" (quick mode: not representative)" if "--quick" in args else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
