"""einsum, and the tensor contractions written with it: tensordot, inner, outer, vdot, kron.

One primitive, ``einsum``, holds every contraction. Its subscripts are first made explicit once
(:func:`parse_subscripts`): the ellipsis becomes letters of its own, the implicit output is spelt
out, and operands that numpy would broadcast are broadcast first (``broadcast_to``, whose adjoint
sums back). The primitive then sees only explicit, letter-only subscripts, and both its rules are
einsums derived from them:

- tangent: one term per traced operand, its subscripts unchanged, with a letter of its own for
  the k directions of chunk mode in front;
- adjoint of operand i: the output's cotangent contracted with every *other* operand, the output
  being operand i's subscripts. A letter that appears twice in operand i (a diagonal, ``ii``) is
  renamed and tied back with an identity matrix; a letter found nowhere else (summed over, as in
  ``ij->i``) is supplied by a vector of ones. So the adjoint is one more einsum, whatever the
  pattern.
"""

from __future__ import annotations

import functools
import string
from typing import Any, Optional, Sequence

import numpy as np

from ..primitives import Primitive, bind, shape_of, stop_gradient
from .shape import broadcast_to, reshape
from .complex_parts import conj
from .ufuncs import multiply
from .table import Value, float_dtype, register

LETTERS = string.ascii_uppercase + string.ascii_lowercase  # numpy's implicit order: ASCII


def _free(used: str, n: int) -> str:
    free = [c for c in LETTERS if c not in used]
    if len(free) < n:
        raise ValueError("einsum: more than 52 distinct indices are not supported")
    return "".join(free[:n])


def _sublist_to_subscripts(args: Sequence[Any]) -> tuple:
    """numpy's interleaved form einsum(op0, [0, 1], op1, [1, 2], [0, 2]) as a string and operands."""
    ops, terms = [], []
    rest = list(args)
    while len(rest) >= 2:
        ops.append(rest.pop(0))
        terms.append(rest.pop(0))
    out = rest[0] if rest else None

    def term(sub):
        text = ""
        for s in sub:
            if s is Ellipsis:
                text += "..."
            elif isinstance(s, (int, np.integer)) and 0 <= s < 52:
                text += LETTERS[s]  # any bijection will do: the letters never leave this module
            else:
                raise ValueError(f"einsum: subscript {s!r} must be an int in [0, 52) or Ellipsis")
        return text

    subscripts = ",".join(term(t) for t in terms)
    if out is not None:
        subscripts += "->" + term(out)
    return subscripts, ops


def parse_subscripts(subscripts: str, shapes: Sequence[tuple]) -> tuple:
    """Explicit subscripts for ``shapes``: (inputs, output, sizes), letters only, no ellipsis.

    ``inputs`` has one string per operand (one letter per axis), ``output`` the output's letters
    (the implicit output spelt out in numpy's order: ellipsis axes first, then the letters that
    appear once, in ASCII order), ``sizes`` each letter's extent after broadcasting.

    >>> parse_subscripts("...ij,jk", [(2, 3, 4), (4, 5)])[:2]
    (('Aij', 'jk'), 'Aik')
    """
    text = subscripts.replace(" ", "")
    if "->" in text:
        lhs, out = text.split("->", 1)
        if "->" in out:
            raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    else:
        lhs, out = text, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operands, "
                         f"but {len(shapes)} were given")
    for t in terms + ([out] if out is not None else []):
        bare = t.replace("...", "", 1)
        if any(c not in LETTERS for c in bare):
            raise ValueError(f"einsum: invalid subscripts {subscripts!r}: only letters, ',', '->' "
                             f"and one '...' per operand are allowed")
    used = "".join(t.replace("...", "") for t in terms + ([out] if out else []))
    ell_dims = []
    for t, shape in zip(terms, shapes):
        named = len(t.replace("...", ""))
        if "..." in t:
            if named > len(shape):
                raise ValueError(f"einsum: operand of shape {shape} has fewer axes than the "
                                 f"subscripts {t!r} name")
            ell_dims.append(shape[:len(shape) - named] if named else shape)
        elif named != len(shape):
            raise ValueError(f"einsum: subscripts {t!r} name {named} axes but the operand has "
                             f"shape {shape}")
        else:
            ell_dims.append(())
    n_ell = max((len(e) for e in ell_dims), default=0)
    ell = _free(used, n_ell)
    inputs = []
    for t, e in zip(terms, ell_dims):
        inputs.append(t.replace("...", ell[n_ell - len(e):]) if "..." in t else t)
    if out is None:
        once = sorted(c for c in set("".join(t.replace("...", "") for t in terms))
                      if "".join(terms).count(c) == 1)
        output = ell + "".join(once)
    else:
        if "..." not in out and n_ell and any(ell_dims):
            raise ValueError(f"einsum: subscripts {subscripts!r} give the operands '...' axes "
                             f"but the output has no '...' to put them in")
        output = out.replace("...", ell)
        for c in output:
            if output.count(c) > 1:
                raise ValueError(f"einsum: output subscript {c!r} appears more than once")
            if not any(c in t for t in inputs):
                raise ValueError(f"einsum: output subscript {c!r} appears in no operand")
    sizes: dict = {}
    for t, shape in zip(inputs, shapes):
        for c, n in zip(t, shape):
            m = sizes.get(c, 1)
            if m == 1:
                sizes[c] = n
            elif n not in (1, m):
                raise ValueError(f"einsum: index {c!r} has sizes {m} and {n}, which do not "
                                 f"broadcast (operand shapes {list(shapes)})")
    return tuple(inputs), output, sizes


def _impl(*operands, inputs, output, optimize):
    return np.einsum(",".join(inputs) + "->" + output, *operands, optimize=optimize)


def _einsum(operands, inputs, output, optimize):
    return bind(EINSUM, *operands, inputs=inputs, output=output, optimize=optimize)


def _einsum_jvp(primals, tangents, out, params, chunked):
    inputs, output = params["inputs"], params["output"]
    k = _free("".join(inputs), 1) if chunked else ""
    total = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        ins = list(inputs)
        ins[i] = k + ins[i]
        term = _einsum([t if j == i else p for j, p in enumerate(primals)], tuple(ins),
                       k + output, params["optimize"])
        total = term if total is None else total + term
    return total


@functools.lru_cache(maxsize=512)
def adjoint_subscripts(inputs: tuple, output: str, i: int) -> tuple:
    """The einsum that pulls the output's cotangent back to operand ``i``, from the subscripts alone.

    Returns (inputs, output, extras): the adjoint contracts the cotangent (subscripts ``output``)
    with the other operands and with ``extras``, constants described as ("eye", a, b) (an identity
    tying letter b back to letter a, for a diagonal) or ("ones", a) (a letter summed over that
    no other operand has). Its output is operand i's axes with every letter distinct.

    >>> adjoint_subscripts(("ij", "jk"), "ik", 0)
    (('ik', 'jk'), 'ij', ())
    >>> adjoint_subscripts(("ii",), "", 0)          # the trace: ct times the identity
    (('', 'iA'), 'iA', (('eye', 'i', 'A'),))
    >>> adjoint_subscripts(("ij",), "i", 0)         # a sum over j: ct broadcast along j
    (('i', 'j'), 'ij', (('ones', 'j'),))
    """
    term = inputs[i]
    adj_inputs = [output] + [t for j, t in enumerate(inputs) if j != i]
    present = set("".join(adj_inputs))
    used = "".join(inputs) + output
    adj_output = ""
    extras: list = []
    for c in term:
        if c in adj_output:  # a diagonal: a fresh letter, tied to c by an identity
            fresh = _free(used, 1)
            used += fresh
            adj_output += fresh
            extras.append(("eye", c, fresh))
            present.add(c)
        else:
            adj_output += c
    for c in dict.fromkeys(term):
        if c not in present:  # summed over in the forward einsum: every element gets ct
            extras.append(("ones", c))
    for e in extras:
        adj_inputs.append(e[1] + e[2] if e[0] == "eye" else e[1])
    return tuple(adj_inputs), adj_output, tuple(extras)


def _einsum_vjp(ct, primals, out, params, shapes, wants):
    inputs, output = params["inputs"], params["output"]
    sizes = {c: n for t, s in zip(inputs, shapes) for c, n in zip(t, s)}
    cts = []
    for i, want in enumerate(wants):
        if not want:
            cts.append(None)
            continue
        adj_inputs, adj_output, extras = adjoint_subscripts(inputs, output, i)
        dtype = np.result_type(*[float_dtype(p) for p in primals])
        consts = [np.eye(sizes[e[1]], dtype=dtype) if e[0] == "eye" else
                  np.ones(sizes[e[1]], dtype=dtype) for e in extras]
        ops = [ct] + [p for j, p in enumerate(primals) if j != i] + consts
        g = _einsum(ops, adj_inputs, adj_output, params["optimize"])
        cts.append(g)
    return tuple(cts)


EINSUM = register(Primitive("einsum", _impl, _einsum_jvp, _einsum_vjp, needs="args",
                            kind="other", complex="holomorphic",
                            doc="tangent and adjoint are einsums derived from the subscripts"))


def einsum(*args: Any, optimize: Any = False, **kwargs: Any) -> Value:
    """Einstein summation over the operands' axes, as np.einsum (any subscripts numpy accepts).

    ``einsum("ij,jk->ik", a, b)`` is a @ b; implicit output (``"ij,jk"``), ``...``, repeated
    indices (``"ii->i"``, a diagonal), any number of operands and numpy's interleaved form
    ``einsum(a, [0, 1], b, [1, 2])`` all work; ``optimize`` is passed to numpy.

    >>> import dualdiff as dd, numpy as np
    >>> dd.einsum("ii", np.eye(3))                 # the trace
    np.float64(3.0)
    >>> dd.einsum("...ij,...j->...i", np.ones((2, 3, 4)), np.ones(4)).shape
    (2, 3)
    """
    if kwargs.get("out") is not None:
        raise TypeError("einsum with out= would write in place and lose the derivative; assign "
                        "the result instead")
    extra = [k for k, v in kwargs.items() if k != "out" and v is not None
             and not (k == "casting" and v == "safe") and not (k == "order" and v == "K")]
    if extra:
        raise TypeError(f"einsum with {', '.join(extra)}= is not supported on traced values")
    if not args:
        raise TypeError("einsum needs subscripts and at least one operand")
    if isinstance(args[0], str):
        subscripts, operands = args[0], list(args[1:])
    else:
        subscripts, operands = _sublist_to_subscripts(args)
    shapes = [shape_of(o) for o in operands]
    inputs, output, sizes = parse_subscripts(subscripts, shapes)
    for j, (t, s) in enumerate(zip(inputs, shapes)):
        # numpy broadcasts an axis of size 1 against a longer one; do it here so that the
        # primitive's adjoint sees equal sizes (broadcast_to's adjoint sums the copies back).
        target = tuple(sizes[c] for c in t)
        if target != s:
            operands[j] = broadcast_to(operands[j], target)
    if isinstance(optimize, str) and optimize not in ("greedy", "optimal"):
        raise ValueError(f"einsum: optimize={optimize!r} is not one of numpy's values")
    return _einsum(operands, inputs, output, optimize if isinstance(optimize, (bool, str)) else False)


# -- contractions written as einsums --------------------------------------------------------

def tensordot(a: Value, b: Value, axes: Any = 2) -> Value:
    """Sum of products over ``axes`` of a and b, as np.tensordot: the free axes of a, then of b.

    ``axes`` is an int N (a's last N axes with b's first N) or a pair of axis lists.

    >>> import dualdiff as dd, numpy as np
    >>> dd.tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5))).shape
    (2, 5)
    """
    na, nb = len(shape_of(a)), len(shape_of(b))
    ax_a: Any
    ax_b: Any
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(na, nb):
            raise ValueError(f"tensordot: axes={axes} must be between 0 and {min(na, nb)}")
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        try:
            ax_a, ax_b = axes
        except (TypeError, ValueError):
            raise ValueError("tensordot: axes must be an int or a pair of axis lists") from None
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError("tensordot: the two axis lists must have the same length")
        ax_a = [int(x) % na if na else int(x) for x in ax_a]
        ax_b = [int(x) % nb if nb else int(x) for x in ax_b]
    sa, sb = shape_of(a), shape_of(b)
    for i, j in zip(ax_a, ax_b):
        if i >= na or j >= nb or sa[i] != sb[j]:
            raise ValueError(f"tensordot: shape mismatch for sum over axes {ax_a} of {sa} and "
                             f"{ax_b} of {sb}")
    la, lb = LETTERS[:na], LETTERS[na:na + nb]
    lb = "".join(la[ax_a[ax_b.index(j)]] if j in ax_b else c for j, c in enumerate(lb))
    out = "".join(c for i, c in enumerate(la) if i not in ax_a) + "".join(
        c for j, c in enumerate(lb) if j not in ax_b)
    return einsum(f"{la},{lb}->{out}", a, b)


def inner(a: Value, b: Value) -> Value:
    """Sum of products over the last axes of a and b, as np.inner (a scalar multiplies).

    >>> import dualdiff as dd
    >>> float(dd.inner([1.0, 2.0], [3.0, 4.0]))
    11.0
    """
    if not shape_of(a) or not shape_of(b):
        return multiply(a, b)
    return tensordot(a, b, ([-1], [-1]))


def outer(a: Value, b: Value) -> Value:
    """All products a.ravel()[i] * b.ravel()[j], as np.outer: shape (a.size, b.size).

    >>> import dualdiff as dd
    >>> dd.outer([1.0, 2.0], [3.0, 4.0, 5.0]).shape
    (2, 3)
    """
    return einsum("i,j->ij", reshape(a, (-1,)), reshape(b, (-1,)))


def vdot(a: Value, b: Value) -> Value:
    """Σ conj(a.ravel()) · b.ravel() for arrays of equal size, as np.vdot (a complex first
    argument is conjugated, as numpy does; conj is differentiated with JAX's convention).

    >>> import dualdiff as dd
    >>> float(dd.vdot([[1.0, 2.0]], [[3.0, 4.0]]))
    11.0
    >>> complex(dd.vdot([1j], [1j]))
    (1+0j)
    """
    if np.iscomplexobj(stop_gradient(a)):
        a = conj(a)
    return einsum("i,i->", reshape(a, (-1,)), reshape(b, (-1,)))


def kron(a: Value, b: Value) -> Value:
    """The Kronecker product, as np.kron: blocks a[i, j] * b, shape a.shape * b.shape axis by axis.

    >>> import dualdiff as dd, numpy as np
    >>> dd.kron(np.eye(2), np.ones((2, 3))).shape
    (4, 6)
    """
    sa, sb = shape_of(a), shape_of(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    la, lb = LETTERS[:nd], LETTERS[nd:2 * nd]
    pairs = einsum(f"{la},{lb}->{''.join(x + y for x, y in zip(la, lb))}",
                   reshape(a, sa), reshape(b, sb))
    return reshape(pairs, tuple(m * n for m, n in zip(sa, sb)))
