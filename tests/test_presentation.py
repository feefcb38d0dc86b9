"""The notation table: one entry per primitive, a generic reading for everything else."""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd
from dualdiff import presentation as pr
from dualdiff.rules import PRIMITIVES


def test_every_notation_entry_names_a_primitive():
    assert set(pr.NOTATION) <= set(PRIMITIVES), set(pr.NOTATION) - set(PRIMITIVES)


def test_the_trace_module_has_no_switch_on_primitive_names():
    # Presentation lives in the table: the trace module never spells a primitive's name.
    import inspect
    import dualdiff.trace as trace_module
    source = inspect.getsource(trace_module)
    for name in ("matmul", "getitem", "broadcast_to", "transpose", "concatenate"):
        assert f'"{name}"' not in source, name


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_every_primitive_reads_without_placeholders(name):
    prim = PRIMITIVES[name]
    arity = len(prim.partials) if prim.partials is not None else 2
    ops = tuple(f"v{pr.sub(i)}" for i in range(arity))
    op = pr.Operation(name, prim.kind, ops, {}, "v₉", (None,) * arity, ((),) * arity, ())
    texts = [pr.formula(op), pr.symbol(name)]
    for k in range(arity):
        texts.append(pr.partial_symbol(op, k) if prim.kind == "elementwise" else pr.edge_label(op, k))
        texts.append(pr.adjoint_term(op, k, "v̄₉", texts[-1]))
    for text in texts:
        assert text and "{" not in text and "}" not in text, (name, texts)


def test_unknown_primitives_read_generically():
    op = pr.Operation("mystery", "other", ("v₁", "v₂"), {"k": 3}, "v₃")
    assert pr.formula(op) == "mystery(v₁, v₂, k=3)"
    assert pr.symbol("mystery") == "mystery"
    assert pr.edge_label(op, 1) == "mystery"
    assert pr.adjoint_term(op, 0, "v̄₃", "mystery") == "mysteryᵀ(v̄₃)"
    unary = pr.Operation("erf_like", "elementwise", ("v₀",), {}, "v₁", (None,), ((),), ())
    assert pr.formula(unary) == "erf_like v₀"
    assert pr.partial_symbol(unary, 0) == "∂v₁/∂v₀"
    assert pr.adjoint_term(unary, 0, "v̄₁", "∂v₁/∂v₀") == "v̄₁ · ∂v₁/∂v₀"


def test_a_template_missing_its_parameter_falls_back():
    op = pr.Operation("reshape", "linear", ("v₁",), {}, "v₂")  # no "shape" parameter
    assert pr.formula(op) == "reshape(v₁)"


def test_broadcast_arguments_sum_their_adjoint_back():
    op = pr.Operation("multiply", "elementwise", ("v₁", "v₂"), {}, "v₃", (None, None),
                      ((3,), ()), (3,))
    assert pr.adjoint_term(op, 0, "v̄₃", "v₂") == "v̄₃ · v₂"
    assert pr.adjoint_term(op, 1, "v̄₃", "v₁") == "Σ(v̄₃ · v₁)"


def test_power_with_constant_exponent_simplifies():
    t = dd.trace(lambda x: x ** 2.0 + x ** 3.0 + x ** 1.0, 1.5)
    assert [e.edges[0].symbol for e in t.entries[1:4]] == ["2·v₀", "3·v₀^2", "1"]


def test_numbers_formats():
    assert pr.decimals(4)(10.69314718) == "10.6931"
    assert pr.significant(3)(0.28366) == "0.284"
    assert pr.summary(np.linspace(-1, 1, 10), pr.decimals(2)) == "shape (10,) in [-1, 1]"
    assert pr.summary(np.ones(2), pr.decimals(2)) == "[1, 1]"
    assert pr.const_text(-2.0) == "(-2)"
