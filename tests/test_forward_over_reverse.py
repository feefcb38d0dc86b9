"""Forward over reverse (Hessians, hvp): deferred tangents and in-place Dual cotangent sums.

Under a tape recording the Duals' tangents are deferred (dualdiff.dual.Deferred); the sweep
resolves those it differentiates through. These tests check that an unread tangent is never
computed, that what is read is exact (closed forms), that long chains resolve without
recursion, and that Duals built by hand keep their tangents. The sweep sums a value's Dual
cotangents in place only into Duals nobody else holds: checked against closed forms where a
forward value itself is handed back as a cotangent.
"""

import numpy as np

import dualdiff as dd
from dualdiff.dual import ForwardTag, make_dual
from dualdiff.primitives import Primitive
from dualdiff.tape import Tape, TapeTag, backward
from oracles import rosenbrock_hessian


def _probe():
    """An identity primitive that counts how often its tangent rule runs."""
    calls = []

    def jvp(primals, tangents, out, params, chunked):
        calls.append(1)
        return tangents[0]

    prim = Primitive("probe_identity", lambda x: x, jvp, lambda ct, *rest: (ct,),
                     needs="none", kind="linear", complex="holomorphic")
    return prim, calls


def test_the_tangent_of_f_itself_is_never_computed_in_a_hessian():
    probe, calls = _probe()
    x = np.array([0.5, -1.0, 2.0])
    H = dd.hessian(lambda z: probe(np.sum(z ** 3)), x)
    assert np.array_equal(H, np.diag(6 * x))  # closed form: d²/dx² Σx³ = diag(6x)
    assert calls == []  # f's value is not returned: its tangent is read by nothing
    # ... while a tangent that is read is computed: the probe inside, on the sweep's path
    H = dd.hessian(lambda z: np.sum(probe(z) ** 3), x)
    assert np.array_equal(H, np.diag(6 * x)) and calls


def test_a_returned_value_gets_its_tangent():
    # jvp of value_and_grad's value: d/dt f(x + t v) = ∇f·v, in closed form
    x, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, -0.5])
    val, dval = dd.jvp(lambda z: dd.value_and_grad(lambda w: np.sum(w ** 3), z)[0], x, v)
    assert val == np.sum(x ** 3) and dval == np.sum(3 * x ** 2 * v)
    # and the gradient's tangent, d/dt ∇f(x + t v) = H v = 6 x v
    assert np.array_equal(dd.jvp(lambda z: dd.value_and_grad(lambda w: np.sum(w ** 3), z)[1],
                                 x, v)[1], 6 * x * v)


def test_a_long_unread_chain_resolves_without_recursion():
    # 5,000 operations whose tangents nothing reads until the value is returned at the end:
    # resolving them one inside the other would exceed Python's recursion limit.
    def f(w):
        y = w
        for _ in range(5000):
            y = y + 1.0
        return np.sum(y * y)

    x, v = np.array([0.25, -0.5]), np.array([1.0, 3.0])
    val, dval = dd.jvp(lambda z: dd.value_and_grad(f, z)[0], x, v)
    y = x + 5000.0
    assert np.allclose(val, np.sum(y * y)) and np.allclose(dval, np.sum(2 * y * v))


def test_duals_built_by_hand_keep_their_tangent():
    d = dd.Dual(2.0, 1.0)
    value, g = dd.value_and_grad(lambda x: x * d, 3.0)
    assert type(value) is dd.Dual and value.tangent == 3.0  # d/dε (3 · (2 + ε)) = 3
    assert g.primal == 2.0 and g.tangent == 1.0


def test_sparse_hessian_equals_dense_and_closed_form():
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    x = np.random.default_rng(3).uniform(-1, 1, 40)
    H = dd.hessian(rosen, x)
    S = dd.hessian(rosen, x, sparse=dd.color_star(dd.hessian_sparsity(rosen, x)))
    assert np.array_equal(S.toarray(), H)
    assert np.allclose(H, rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)


def test_dual_cotangents_of_a_value_used_thrice_are_summed_in_place():
    # f = Σ x[1:] x[:-1] + Σ x³: H = tridiag(1, 6x, 1), read off one sweep along e_0, e_1, e_2
    x = np.array([0.5, -1.0, 2.0])
    tag = ForwardTag(3, owner="test")
    tape = Tape()
    v = TapeTag(tape).new_var(make_dual(x, np.eye(3), tag))
    y = np.sum(v[1:] * v[:-1]) + np.sum(v ** 3)
    g = backward(tape, {y.slot: 1.0})[v.slot]
    assert np.array_equal(g.primal, np.array([-1.0, 2.5, -1.0]) + 3 * x ** 2)
    assert np.array_equal(g.tangent, np.diag(6 * x) + np.eye(3, k=1) + np.eye(3, k=-1))
    assert tape.inplace >= 1


def test_a_forward_value_handed_back_as_a_cotangent_is_never_written_into():
    # ȳ = 1 makes sin(z) itself z's cotangent from z · sin(z) (and z from the other factor):
    # Dual values of the recording that the sweep must not sum into. Closed forms:
    # d/dz [z sin z + z² + sin z · z] = 2 sin z + 2 z cos z + 2 z;
    # d²/dz² = 4 cos z - 2 z sin z + 2.
    z = np.array([0.3, -1.2, 2.5, 0.0])
    f = lambda w: np.sum(w * np.sin(w)) + np.sum(w ** 2) + np.sum(np.sin(w) * w)
    H = dd.hessian(f, z)
    assert np.allclose(H, np.diag(4 * np.cos(z) - 2 * z * np.sin(z) + 2), rtol=1e-14, atol=1e-14)
    v = np.array([1.0, -2.0, 0.5, 3.0])
    assert np.allclose(dd.hvp(f, z, v), (4 * np.cos(z) - 2 * z * np.sin(z) + 2) * v,
                       rtol=1e-14, atol=1e-14)
    assert np.allclose(dd.grad(f, z), 2 * np.sin(z) + 2 * z * np.cos(z) + 2 * z, rtol=1e-14)


def _grad_on_tape(f, x):
    tape = Tape()
    v = TapeTag(tape).new_var(x)
    y = f(v)
    return backward(tape, {y.slot: 1.0})[v.slot], tape


def test_slices_adjoints_are_added_into_the_running_sum_in_place():
    # d/dx [Σ x[1:]² + Σ x[:-1]³ + Σ x[::2]] in closed form
    x = np.array([0.5, -1.0, 2.0, 1.5, -0.25])
    index_add = dd.PRIMITIVES["index_add"]
    impl, calls = index_add.impl, []
    index_add.impl = lambda *a, **k: calls.append(1) or impl(*a, **k)
    try:
        g, tape = _grad_on_tape(
            lambda v: np.sum(v[1:] ** 2) + np.sum(v[:-1] ** 3) + np.sum(v[::2]), x)
    finally:
        index_add.impl = impl
    expected = np.zeros(5)
    expected[1:] += 2 * x[1:]
    expected[:-1] += 3 * x[:-1] ** 2
    expected[::2] += 1.0
    assert np.allclose(g, expected, rtol=1e-15, atol=0)
    assert len(calls) == 1  # only the first slice's adjoint builds x's array; two add into it


def test_a_repeated_index_and_a_shared_sum_are_never_written_into():
    x = np.array([0.5, -1.0, 2.0])
    # x[[0, 0, 1]] reaches x[0] twice: its adjoint must add both (no in-place view for it)
    g, _ = _grad_on_tape(lambda v: np.sum(v ** 2) + np.sum(v[[0, 0, 1]] * 3.0), x)
    assert np.array_equal(g, 2 * x + np.array([6.0, 3.0, 0.0]))
    # x * w under a sum hands x the user's own w as its cotangent: the slice's adjoint that
    # comes next must not be summed into w
    w = np.array([1.0, 2.0, 3.0])
    g, _ = _grad_on_tape(lambda v: np.sum(v[1:]) + np.sum(v * w), x)
    assert np.array_equal(w, [1.0, 2.0, 3.0]) and np.array_equal(g, [1.0, 3.0, 4.0])


def test_hvp_of_rosenbrock_against_its_closed_form_hessian():
    # one direction (tangents of x's shape): the slices' adjoints land in a Dual's tangent too
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    x = np.random.default_rng(5).uniform(-1, 1, 30)
    v = np.random.default_rng(6).uniform(-1, 1, 30)
    assert np.allclose(dd.hvp(rosen, x, v), rosenbrock_hessian(x) @ v, rtol=1e-12, atol=1e-10)


def test_a_slices_adjoint_summed_in_place_keeps_the_bits_of_the_whole_sum():
    # x's running sum is -0.0 outside x[1:] (the cotangent -0.0 · 1 from x · w): adding
    # index_add's zeros there makes it 0.0, and the in-place sum must give the same bits, as the
    # compiled code (which builds the zeros) does.
    from dualdiff.codegen import same_value

    def f(v):
        return np.sum(v[1:]) + np.sum(v * np.array([-0.0, 1.0, 2.0]))

    x = np.array([0.5, -1.0, 2.0])
    g = dd.grad(f, x)
    assert np.array_equal(g, [0.0, 2.0, 3.0]) and not np.signbit(g[0])
    assert same_value(dd.compile(lambda v: dd.grad(f, v))(x), g)
