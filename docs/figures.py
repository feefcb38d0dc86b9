"""Regenerate the pictures committed under docs/: ``python docs/figures.py``.

tests/test_views.py checks that every file listed here is what this script would write, so a
change to the drawing code that changes a picture fails until the picture is regenerated.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Dict

HERE = pathlib.Path(__file__).resolve().parent


def figures() -> Dict[str, str]:
    """File name (under docs/) → its content."""
    sys.path.insert(0, str(HERE.parent))  # the clone's dualdiff, installed or not
    import numpy as np
    import dualdiff as dd

    def f(x):
        return np.log(x[0]) + x[0] * x[1] - np.sin(x[1])

    def e(p):
        return (p["a"] + p["b"]) * (p["b"] + 1.0)

    return {"textbook-graph.svg": dd.trace(f, (2.0, 5.0)).to_svg() + "\n",
            "small-graph.svg": dd.trace(e, {"a": 2.0, "b": 1.0}).to_svg(direction=1) + "\n"}


def main() -> None:
    for name, text in figures().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
