"""The mechanism that turns an elementwise primitive's partials into both of its rules.

An elementwise entry gives only its local partials ∂out/∂argᵢ. :func:`elementwise` turns them into
the tangent rule ``Σᵢ ∂ᵢ · ṫᵢ`` (forward mode) and the adjoint rule ``ȳ · ∂ᵢ`` summed back over
broadcast axes (reverse mode): rule 7 of the tensor-derivative page, written once for all of them.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .. import buffers
from ..primitives import TRACED, Primitive, is_complex, shape_of, stop_gradient
from .complex_parts import conj, real
from .shape import align_chunk, broadcast_to, number_view, sum_to
from . import table
from .table import SCALAR_TYPES, Value


def elementwise(name: str, impl: Callable[..., Any], partials: Sequence[Any], *,
                needs: str = "both", doc: str = "", register: bool = True,
                complex: Optional[str] = None,
                wirtinger: Optional[Sequence[Any]] = None,
                reads: Optional[Sequence[Any]] = None) -> Primitive:
    """A new elementwise primitive whose tangent and adjoint rules come from its partials.

    ``impl(*args)`` computes the value on plain numbers/arrays (numpy broadcasting). Each
    partial is a function ``(*args, out) -> ∂out/∂argᵢ`` (with the output's or the argument's
    shape), written with dualdiff's functions or operators so that it can be differentiated in
    turn, or one of the constants 1 and -1 (add, subtract), which skip a multiplication.
    ``needs`` says what the tape must keep for the partials: ``"args"``, ``"out"``, ``"both"``.
    ``register=False`` keeps it out of :data:`PRIMITIVES` (the table the test suite checks).

    ``complex`` declares how the entry treats complex numbers (docs/complex.md):
    ``"holomorphic"`` when each partial is the complex derivative of a complex-analytic
    function (the rules are then right for complex values as they stand), ``"real"`` for real
    numbers only (complex input is refused), or ``"rules"`` together with ``wirtinger``: one pair
    ``(∂out/∂z, ∂out/∂z̄)`` of functions ``(*args, out)`` per argument, used where that argument
    is complex (the partials serve real arguments). Left out, complex input is refused and the
    table test fails until the entry declares one.

    ``reads`` declares, per argument, the indices of the arguments its partial reads (multiply:
    ``((1,), (0,))``), or None where it may read anything else (the output); the constant
    partials 1 and -1 read nothing. See ``Primitive.tangent_reads``.

    A partial may carry ``times_scalar(*args, out, s)``: the partial times a number s (the
    cotangent of a sum, broadcast), computed in one operation where ``partial * s`` takes two,
    with the same bits (x ** 2's 2x · s as x · 2s: doubling is exact).

    >>> import dualdiff as dd
    >>> cube = dd.elementwise("cube_demo", lambda x: x ** 3, [lambda x, out: 3 * x * x],
    ...                       needs="args", register=False)
    >>> float(dd.derivative(cube, 2.0)), float(dd.grad(cube, 2.0))
    (12.0, 12.0)
    """
    # The rules combine terms with Python's operators rather than multiply()/add(): on plain
    # floats that is native arithmetic, and on traced values the operators dispatch to bind.
    kinds = tuple(0 if callable(p) else int(p) for p in partials)
    if any(k not in (0, 1, -1) for k in kinds):
        raise ValueError(f"{name}: a constant partial must be 1 or -1")
    terms = tuple(zip(partials, kinds))
    times_scalar = tuple(getattr(p, "times_scalar", None) for p in partials)
    declared = tuple(() if k else None if reads is None else reads[i] for i, k in enumerate(kinds))
    if (wirtinger is not None) != (complex == "rules"):
        raise ValueError(f"{name}: wirtinger partials go with complex='rules', and only with it")
    if wirtinger is not None:
        wjvp, wvjp = _wirtinger_rules(terms, tuple(wirtinger))
        prim = Primitive(name, impl, wjvp, wvjp, needs=needs, kind="elementwise",
                         partials=partials, doc=doc, complex=complex)
        return table.register(prim) if register else prim

    def jvp(primals, tangents, out, params, chunked):
        total = None
        out_nd = len(shape_of(out)) if chunked else 0
        for (p, kind), t in zip(terms, tangents):
            if t is None:
                continue
            if chunked:
                t = align_chunk(t, out_nd)
            if kind == 0:
                t = p(*primals, out) * t
            elif kind == -1:
                t = -t
            total = t if total is None else total + t
        return _fit(total, out, chunked)

    # The same rule without the loop for one and two arguments: these run once per operation
    # in forward mode, where interpreter overhead is most of the cost on scalars.
    if len(terms) == 1:
        (p0, k0), = terms

        def jvp(primals, tangents, out, params, chunked):  # noqa: F811
            # The output has the argument's shape, so no broadcasting or alignment is needed.
            t = tangents[0]
            if k0 != 0:
                return t if k0 == 1 else -t
            if type(t) is _ND and t.nbytes >= _ELIDE_MIN:  # (small ones skip the call)
                return _times(p0(primals[0], out), t)
            return p0(primals[0], out) * t

    elif len(terms) == 2:
        (p0, k0), (p1, k1) = terms

        def jvp(primals, tangents, out, params, chunked):  # noqa: F811
            t0, t1 = tangents
            scalar_out = type(out) in SCALAR_TYPES
            # A scalar output's chunked tangents are all (k,): nothing to align or broadcast.
            if chunked and not scalar_out:
                nd = len(shape_of(out))
                # (a plain tangent with the output's rank plus k needs no alignment: skip the call)
                if t0 is not None and (type(t0) is not np.ndarray or t0.ndim <= nd):
                    t0 = align_chunk(t0, nd)
                if t1 is not None and (type(t1) is not np.ndarray or t1.ndim <= nd):
                    t1 = align_chunk(t1, nd)
            if (k0 == 0 and k1 == 0 and type(out) is np.ndarray and type(t0) is np.ndarray
                    and _fusable(t0, t1, out)):
                # The product rule on large plain arrays: d0·t0 + d1·t1 block by block, the
                # same operations on the same numbers (so the same bits), with the two products
                # and their sum in a core's cache instead of three passes over memory.
                d0 = p0(primals[0], primals[1], out)
                d1 = p1(primals[0], primals[1], out)
                total = _sum_of_products(d0, t0, d1, t1)
                if total is None:  # partials of another shape or dtype: the plain way
                    t0 = d0 * t0
                    t1 = d1 * t1
                    total = np.add(t0, t1, out=t0) if _owns_same(t0, t1) else t0 + t1
                return _fit(total, out, chunked)
            if scalar_out:  # numbers (or k of them): nothing to write into or pool
                if t0 is not None and k0 != 1:
                    t0 = p0(primals[0], primals[1], out) * t0 if k0 == 0 else -t0
                if t1 is None:
                    return t0
                if t0 is None:
                    if k1 == 1:
                        return t1
                    return p1(primals[0], primals[1], out) * t1 if k1 == 0 else -t1
                if k1 == 0:
                    t1 = p1(primals[0], primals[1], out) * t1
                return t0 - t1 if k1 == -1 else t0 + t1  # (a - b: no pass negating b)
            if t0 is not None and k0 != 1:
                t0 = _scaled(p0, primals, out, t0) if k0 == 0 else -t0
            if t0 is None or t1 is None:
                if t1 is not None and k1 != 1:
                    t1 = _scaled(p1, primals, out, t1) if k1 == 0 else -t1
                total = t1 if t0 is None else t0
            else:
                if k1 == 0:
                    t1 = _scaled(p1, primals, out, t1)
                # t0 is a temporary made just above unless k0 == 1: the sum may reuse it.
                mine = k0 != 1 and type(t0) is np.ndarray and _owns_same(t0, t1)
                # (large arrays that are not: into the buffer pool's memory)
                big = not mine and type(t0) is _ND and t0.nbytes >= buffers.MIN_BYTES
                if k1 == -1:  # a - b is a + (-b) exactly, without a pass that negates b
                    total = (np.subtract(t0, t1, out=t0) if mine else
                             buffers.call(np.subtract, t0, t1) if big else t0 - t1)
                else:
                    total = (np.add(t0, t1, out=t0) if mine else
                             buffers.call(np.add, t0, t1) if big else t0 + t1)
            return _fit(total, out, chunked)

    def vjp(ct, primals, out, params, shapes, wants):
        cts = []
        # The cotangent of a sum is a scalar broadcast over the summed shape (all strides 0).
        # Multiplying by it would be a full pass over memory for nothing; scale by the scalar.
        scalar = _broadcast_scalar(ct)
        last_d = last_c = None
        for (p, kind), shape, want, scaled in zip(terms, shapes, wants, times_scalar):
            if not want:
                cts.append(None)
                continue
            if kind == 1:
                c = ct
            elif kind == -1:
                c = (-ct if scalar is None else number_view(-scalar, ct.shape)
                     if type(scalar) is np.float64 else broadcast_to(-scalar, ct.shape))
            elif scalar is None:
                # The product in place in the partial's temporary (cos(x) for sin) instead of
                # another array, when the partial is one (see _times).
                # (from a hidden layer's size on: new memory costs more than the call)
                if type(ct) is _ND and ct.nbytes >= _VJP_IN_PLACE_MIN:
                    c = _times(p(*primals, out), ct, _VJP_IN_PLACE_MIN)
                else:
                    c = p(*primals, out) * ct
            elif scaled is not None and scalar != 1.0:
                c = scaled(*primals, out, scalar)
                if shape_of(c) != ct.shape:
                    c = broadcast_to(c, ct.shape)
            else:
                d = p(*primals, out)
                if d is last_d:
                    # x * x under a sum (an L2 penalty): both partials are x itself, so ȳ·∂ is
                    # the same array for both; compute it once (each argument still sums it to
                    # its own shape).
                    c = last_c
                else:
                    # (a constant partial, a Python float, takes the cotangent's dtype from
                    # the product: float32 stays float32)
                    if scalar == 1.0 and type(d) is not float:
                        c = d
                    elif type(d) is _ND and d.nbytes >= buffers.MIN_BYTES:
                        c = buffers.call(np.multiply, d, scalar)  # (an L2 penalty's W·ȳ)
                    else:
                        c = d * scalar
                    if shape_of(c) != ct.shape:
                        c = broadcast_to(c, ct.shape)
                last_d, last_c = d, c
            # (an array of the argument's shape already: what sum_to would return, one call sooner)
            cts.append(c if type(c) is _ND and c.shape == shape else sum_to(c, shape))
        return tuple(cts)

    # Scalar arguments (a 0-d cotangent, nothing broadcast): the loop above reduces to one
    # expression per argument, and on scalar code the loop's bookkeeping was most of the cost.
    general_vjp = vjp
    if len(terms) == 1:
        def vjp(ct, primals, out, params, shapes, wants):  # noqa: F811
            if shapes[0] != () or (type(ct) is np.ndarray and ct.ndim) or not wants[0]:
                if type(ct) is _ND and k0 == 0 and wants[0] and ct.ndim and any(ct.strides):
                    # An array that is not one number broadcast (tanh's in a layer's sweep):
                    # the loop below for its one argument, without the loop.
                    if ct.nbytes >= _VJP_IN_PLACE_MIN:
                        c = _times(p0(primals[0], out), ct, _VJP_IN_PLACE_MIN)
                    else:
                        c = p0(primals[0], out) * ct
                    return (c if type(c) is _ND and c.shape == shapes[0] else sum_to(c, shapes[0]),)
                return general_vjp(ct, primals, out, params, shapes, wants)
            return (p0(primals[0], out) * ct if k0 == 0 else (ct if k0 == 1 else -ct),)

    elif len(terms) == 2:
        def vjp(ct, primals, out, params, shapes, wants):  # noqa: F811
            if shapes[0] != () or shapes[1] != () or (type(ct) is np.ndarray and ct.ndim):
                return general_vjp(ct, primals, out, params, shapes, wants)
            c0 = c1 = None
            if wants[0]:
                c0 = p0(primals[0], primals[1], out) * ct if k0 == 0 else (ct if k0 == 1 else -ct)
            if wants[1]:
                c1 = p1(primals[0], primals[1], out) * ct if k1 == 0 else (ct if k1 == 1 else -ct)
            return c0, c1

    # The adjoint for a cotangent the sweep holds alone (see Primitive.vjp_owning): the last
    # wanted product ȳ·∂ is computed into ct's memory, where the rule above would allocate (a
    # partial kept on the tape, exp's output or a product's other factor, is not a temporary
    # numpy could reuse). Only real floating ct of at least one dimension and of that
    # argument's shape, plain (untraced) values, no earlier argument handed ct on as it is, and
    # a partial of ct's shape (or a Python number) that leaves ct's dtype as it is; anything
    # else is what the rule above computes.
    def vjp_owning(ct, primals, out, params, shapes, wants):
        i = len(terms) - 1
        while i >= 0 and not wants[i]:
            i -= 1
        if (i < 0 or terms[i][1] != 0 or ct.dtype.kind != "f" or not ct.ndim or not ct.size
                or shapes[i] != ct.shape or type(out) in TRACED
                or any(type(p) in TRACED for p in primals)
                or any(wants[j] and terms[j][1] == 1 for j in range(i))):
            return vjp(ct, primals, out, params, shapes, wants)
        # the other arguments first, as the rule's loop takes them
        cts = list(general_vjp(ct, primals, out, params, shapes,
                               tuple([w and j != i for j, w in enumerate(wants)])))
        d = terms[i][0](*primals, out)
        if (type(d) is np.ndarray and d.shape == ct.shape and np.result_type(d, ct) == ct.dtype
                or type(d) is float or type(d) is int):
            cts[i] = np.multiply(d, ct, out=ct)
        else:
            cts[i] = d * ct
        return tuple(cts)

    # The adjoint for a sum's cotangent (one number broadcast, every stride 0) of a large real
    # array, for the sweep: each wanted ȳ·∂ of the argument's shape as ``Scaled(∂, ȳ)``, the
    # product the rule above would compute now left for the sweep to compute where it sums
    # that cotangent with the next one (see Scaled). Plain values, partials that are arrays of
    # ct's shape and dtype (a product's other factor, exp's output); anything else is what the
    # rule above computes.
    def vjp_scaled(ct, primals, out, params, shapes, wants):
        scalar = _broadcast_scalar(ct)
        if scalar is None or type(out) in TRACED:
            return vjp(ct, primals, out, params, shapes, wants)
        dtype, cshape = ct.dtype, ct.shape  # (a plain array: _broadcast_scalar says so)
        if dtype.kind != "f":
            return vjp(ct, primals, out, params, shapes, wants)
        for p in primals:  # (a loop, not any() of a generator: one sweep step of a loss's few)
            if type(p) in TRACED:
                return vjp(ct, primals, out, params, shapes, wants)
        cts = []
        last_d = last_c = None
        for (p, kind), shape, want in zip(terms, shapes, wants):
            if not want:
                cts.append(None)
                continue
            if kind != 0 or shape != cshape:
                return vjp(ct, primals, out, params, shapes, wants)
            d = p(*primals, out)
            if d is last_d:
                c = last_c  # x * x: one product for both arguments, as the rule above
            elif (type(d) is _ND and d.shape == cshape and d.dtype == dtype
                  and d.flags.c_contiguous):
                c = Scaled(d, scalar)
            else:
                return vjp(ct, primals, out, params, shapes, wants)
            last_d, last_c = d, c
            cts.append(c)
        return tuple(cts)

    prim = Primitive(name, impl, jvp, vjp, needs=needs, kind="elementwise", partials=partials,
                     doc=doc, complex=complex)
    prim.vjp_owning = vjp_owning
    SCALED_VJPS[prim] = vjp_scaled
    if any(r is not None for r in declared):
        prim.tangent_reads = declared
    return table.register(prim) if register else prim


def _wirtinger_rules(terms: tuple, wirtinger: tuple) -> tuple:
    """Both rules of an elementwise entry that is not complex-analytic.

    For a complex argument z with tangent ṫ the tangent map is ∂z·ṫ + ∂z̄·conj(ṫ) (∂z, ∂z̄ the
    Wirtinger partials); its transpose under the pairing Re(a·b) sends a cotangent ȳ to
    ∂z·ȳ + conj(∂z̄·ȳ). A real output keeps a real tangent. Real arguments use the partials.
    """
    def jvp(primals, tangents, out, params, chunked):
        total = None
        out_nd = len(shape_of(out)) if chunked else 0
        cplx_out = is_complex(stop_gradient(out))
        for i, ((p, kind), t) in enumerate(zip(terms, tangents)):
            if t is None:
                continue
            if chunked:
                t = align_chunk(t, out_nd)
            if is_complex(stop_gradient(primals[i])):
                dz, dzbar = wirtinger[i]
                t = dz(*primals, out) * t + dzbar(*primals, out) * conj(t)
            elif kind == 0:
                t = p(*primals, out) * t
            elif kind == -1:
                t = -t
            if not cplx_out and is_complex(stop_gradient(t)):
                t = real(t)
            total = t if total is None else total + t
        return _fit(total, out, chunked)

    def vjp(ct, primals, out, params, shapes, wants):
        cts = []
        for i, ((p, kind), shape, want) in enumerate(zip(terms, shapes, wants)):
            if not want:
                cts.append(None)
                continue
            if is_complex(stop_gradient(primals[i])):
                dz, dzbar = wirtinger[i]
                c = dz(*primals, out) * ct + conj(dzbar(*primals, out) * ct)
            elif kind == 0:
                c = p(*primals, out) * ct
            else:
                c = ct if kind == 1 else -ct
            cts.append(sum_to(c, shape))
        return tuple(cts)

    return jvp, vjp


#: The elementwise primitives' adjoints for a sum's cotangent that leave their products to the
#: sweep (see Scaled), by primitive.
SCALED_VJPS: "dict[Primitive, Callable[..., Any]]" = {}


class Scaled:
    """``d * s``, or ``d * s + d * s`` when ``twice``: a cotangent not computed yet.

    The cotangent of a sum is one number s broadcast; an elementwise adjoint multiplies its
    partial d by it. Where the result is an L2 penalty's ``W·ȳ``, the sweep computed it first
    and added the layer's matrix-product term to it long after: two passes over W's size early
    and two reads late, by which time the cache held other things. Left as ``Scaled`` in the
    sweep's table (tape.backward), the product is computed where the next cotangent arrives,
    block by block into that cotangent's own memory (:meth:`add_into`): one pass. Anything else
    reads :meth:`value`. The same IEEE operations on the same numbers in the same order as the
    rule's ``d * s`` (``d`` itself where s is 1), then ``c + c``, then ``old + new``, so the bits
    are the same.

    >>> import numpy as np
    >>> d, c = np.linspace(0.0, 1.0, 1 << 16), np.linspace(1.0, 2.0, 1 << 16)
    >>> s = Scaled(d, np.float64(0.3), twice=True)
    >>> want = (d * 0.3 + d * 0.3) + c
    >>> bool(np.array_equal(s.value() + c, want)), bool(np.array_equal(s.add_into(c.copy()), want))
    (True, True)
    """

    __slots__ = ("d", "s", "twice")

    def __init__(self, d: np.ndarray, s: Any, twice: bool = False):
        self.d = d
        self.s = s
        self.twice = twice

    def doubled(self) -> "Scaled":
        """This cotangent summed with itself (x * x gives both arguments one product)."""
        return Scaled(self.d, self.s, True)

    def makes_array(self) -> bool:
        """Whether :meth:`value` makes a new array (else it is ``d`` itself)."""
        return self.twice or self.s != 1.0

    def value(self) -> np.ndarray:
        """The cotangent as an array."""
        d = self.d
        c = d if self.s == 1.0 else buffers.call(np.multiply, d, self.s)
        if self.twice:
            c = c + c if c is d else np.add(c, c, out=c)
        return c

    def fits(self, c: np.ndarray) -> bool:
        """Whether :meth:`add_into` takes ``c``: C-contiguous, of d's shape and dtype."""
        return c.shape == self.d.shape and c.dtype == self.d.dtype and c.flags.c_contiguous

    def add_into(self, c: np.ndarray) -> np.ndarray:
        """``self + c`` written into ``c`` (which the caller owns and :meth:`fits`), block by
        block: each block's product (and its double) in a scratch array the cache keeps."""
        d, s, twice = self.d.reshape(-1), self.s, self.twice
        r = c.reshape(-1)
        n = r.size
        # as few blocks as fit, of one size (each block's calls cost as much as a pass over it)
        blocks = -(-c.nbytes // _SCALED_BLOCK_BYTES)
        block = -(-n // blocks)
        scratch = buffers.empty((min(block, n),), r.dtype)
        if scratch is None:
            scratch = np.empty(min(block, n), r.dtype)
        mul, add = np.multiply, np.add
        for i in range(0, n, block):
            j = i + block
            part = r[i:j]
            if s == 1.0:
                t = d[i:j]
                if twice:
                    t = add(t, t, out=scratch[:len(part)])
            else:
                t = mul(d[i:j], s, out=scratch[:len(part)])
                if twice:
                    add(t, t, out=t)
            add(t, part, out=part)
        return c


# The blocks of Scaled.add_into: at most 256 KiB, three of them (the partial, the scratch, the
# sum) in a core's L2 cache at once; an L2 penalty's 784×100 weights take three of 204 KiB.
# (Measured on the MLP's gradient, cachegrind with a 2 MiB cache: two blocks of 306 KiB ran
# 18k fewer instructions per call and missed the cache 4.7k times more.)
_SCALED_BLOCK_BYTES = 1 << 18


# Blocks of 128 KiB per operand: the five operands of a block (two partials, two tangents, the
# result) stay in one core's L2 cache between the two products and their sum. Arrays under four
# blocks go the plain way (the loop's calls would cost more than the passes they save).
_BLOCK_BYTES = 1 << 17
_FUSE_MIN_BYTES = 4 * _BLOCK_BYTES
# numpy reuses a temporary operand's memory for the result from this size on (its temporary
# elision); _times does the same for the partials it is handed, from the same size.
_ELIDE_MIN = 1 << 18
# The adjoint rule's ȳ·∂ goes into the partial's own memory from this size on (a layer's
# activations, 100×64 float64, are 51 KiB): a new array's first writes miss the cache.
_VJP_IN_PLACE_MIN = 1 << 15
getrefcount = sys.getrefcount
_ND = np.ndarray


def _fusable(t0: Value, t1: Value, out: Value) -> bool:
    """Whether two tangents may take the blocked product rule: plain C-contiguous arrays of the
    output's shape and real floating dtype, large enough (whose products by same-shape partials
    then need no broadcasting and no promotion). Traced primals make a traced ``out``."""
    return (type(t0) is np.ndarray and type(t1) is np.ndarray and type(out) is np.ndarray
            and t0.nbytes >= _FUSE_MIN_BYTES and t0.shape == out.shape and t1.shape == out.shape
            and t0.dtype == out.dtype and t1.dtype == out.dtype and out.dtype.kind == "f"
            and t0.flags.c_contiguous and t1.flags.c_contiguous)


def _sum_of_products(d0: Value, t0: np.ndarray, d1: Value, t1: np.ndarray) -> Optional[np.ndarray]:
    """``d0 * t0 + d1 * t1`` for same-shape, same-dtype real C-contiguous arrays, computed block by
    block into one new array (None, computing nothing, for anything else).

    Each element gets the same two IEEE products and one sum as the whole-array expression, so
    the bits are the same; only the order in memory differs. The second product of a block is
    written into the next block of the result, which is overwritten later (the last block takes a
    small scratch array).
    """
    dt = t0.dtype
    if not (type(d0) is np.ndarray and type(d1) is np.ndarray and d0.shape == t0.shape
            and d1.shape == t0.shape and d0.dtype == dt and d1.dtype == dt
            and d0.flags.c_contiguous and d1.flags.c_contiguous):
        return None
    total = buffers.empty(t0.shape, dt)
    if total is None:
        total = np.empty(t0.shape, dt)
    a, b, c, d, r = d0.reshape(-1), t0.reshape(-1), d1.reshape(-1), t1.reshape(-1), total.reshape(-1)
    n = r.size
    block = _BLOCK_BYTES // dt.itemsize
    mul, add = np.multiply, np.add
    for i in range(0, n, block):
        j = i + block
        part = r[i:j]
        mul(a[i:j], b[i:j], out=part)
        scratch = r[j:j + block] if j + block <= n else np.empty(len(part), dt)
        mul(c[i:j], d[i:j], out=scratch)
        add(part, scratch, out=part)
    return total


def _scaled(p: Callable[..., Value], primals: Any, out: Value, t: Value) -> Value:
    """``p(a, b, out) * t``: a two-argument partial times a tangent (see :func:`_times`)."""
    if type(t) is _ND and t.nbytes >= _ELIDE_MIN:
        return _times(p(primals[0], primals[1], out), t)
    return p(primals[0], primals[1], out) * t


def _times(d: Value, t: Value, least: int = _ELIDE_MIN) -> Value:
    """``d * t`` for a partial ``d`` just computed: into d's own memory when d is a temporary
    (an array held by nothing but this call, and the buffer pool) of the product's shape and
    dtype, as numpy's temporary elision would do, which the pool's reference defeats; into
    pooled memory when large; else ``d * t``. Same operation on the same numbers either way.

    Called as ``_times(p(...), t)``: the argument is then d's only reference besides the pool's
    (a caller holding d in a variable of its own counts once more, and d is left alone).
    Arrays under ``least`` bytes are left to ``d * t``.
    """
    if (type(d) is np.ndarray and type(t) is np.ndarray and d.nbytes >= least
            and d.shape == t.shape and d.dtype == t.dtype):
        if (buffers.REFCOUNTS and getrefcount(d) <= 2 + buffers.tracked(d)
                and buffers.owns_memory(d)):
            return np.multiply(d, t, out=d)
        if d.nbytes >= buffers.MIN_BYTES:
            return buffers.call(np.multiply, d, t)
    return d * t


def _owns_same(a: Value, b: Value) -> bool:
    """Whether plain array ``a`` may receive ``a + b`` in place: same shape and dtype as b."""
    return (type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape
            and a.dtype == b.dtype and a.flags.writeable)


def _broadcast_scalar(x: Value) -> Optional[Any]:
    """The value of a plain array that is one scalar broadcast (every stride 0), else None."""
    if type(x) is np.ndarray and x.ndim and x.size and not any(x.strides):
        return x.reshape(-1)[0]
    return None


def _fit(total: Value, out: Value, chunked: bool) -> Value:
    """Broadcast a tangent up to the output's shape when its arguments were broadcast."""
    if type(out) in SCALAR_TYPES and not chunked:
        return total  # every argument was a scalar too
    if type(total) is np.ndarray and type(out) is np.ndarray:  # the common case, checked directly
        if (total.shape[1:] if chunked else total.shape) == out.shape:
            return total
    out_shape = shape_of(out)
    want = (shape_of(total)[0],) + out_shape if chunked else out_shape
    if shape_of(total) != want:
        total = broadcast_to(total, want)
    return total
