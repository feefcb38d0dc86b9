"""docs/numpy-support.md is generated from the table and the dispatch maps, and must stay current.

When this fails, regenerate the page with ``python -m dualdiff.numpy_support`` and commit it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import numpy_support, surface

ROOT = Path(__file__).resolve().parent.parent


def test_committed_page_is_current():
    page = (ROOT / numpy_support.PAGE).read_text(encoding="utf-8")
    assert page == numpy_support.render(), (
        "docs/numpy-support.md is stale: run `python -m dualdiff.numpy_support` and commit it")


def test_page_lists_every_primitive_and_mapped_numpy_name():
    page = numpy_support.render()
    for name in dd.PRIMITIVES:
        assert f"| `{name}` |" in page
    for obj in list(surface.FUNCTION_RULES) + list(surface.UFUNC_RULES):
        assert f"`{numpy_support._numpy_name(obj)}`" in page


def test_check_mode_reports_a_stale_page(tmp_path, monkeypatch, capsys):
    assert numpy_support.main(["--check"]) == 0
    monkeypatch.setattr(numpy_support, "render", lambda: "changed\n")
    assert numpy_support.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().out


def test_unsupported_function_error_points_to_the_page():
    with pytest.raises(TypeError, match="docs/numpy-support.md"):
        dd.grad(lambda x: np.sum(np.sort_complex(x)), np.ones(3))


@pytest.mark.parametrize("make", [lambda x: dd.Dual(x, np.ones_like(x)), None])
def test_ndarray_methods_without_meaning_raise_dualdiffs_type_error(make):
    def f(x):
        with pytest.raises(TypeError, match="dualdiff Var|dualdiff Dual"):
            x.tobytes()
        with pytest.raises(TypeError, match=r"\.primal\.strides"):
            x.strides
        with pytest.raises(AttributeError):  # not an ndarray name: Python's own error
            x.no_such_thing
        assert not hasattr(x, "__array_interface__")
        return x.sum()
    if make is None:
        dd.grad(f, np.ones(3))
    else:
        f(make(np.ones(3)))
