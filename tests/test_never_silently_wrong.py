"""Regression tests for the defects a new user's trial found (issue #7): each failed before its fix.

Numbered as in the issue. Errors are checked for their type and for the words that tell the
user what to do.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualdiff as dd


# -- 1. complex numbers: JAX's convention, both modes (the whole table: tests/test_complex.py) --

def _grad_by_differences(f, z, h=1e-6):
    """∂f/∂x − i·∂f/∂y of a real-valued f by central differences in the real and imaginary parts."""
    df_dx = (f(z + h) - f(z - h)) / (2 * h)
    df_dy = (f(z + 1j * h) - f(z - 1j * h)) / (2 * h)
    return df_dx - 1j * df_dy


def test_abs_of_complex_has_a_real_directional_derivative():
    z = 1 + 2j
    t = dd.jvp(lambda z: np.abs(z), z, 1.0)[1]
    assert not np.iscomplexobj(t)
    assert t == pytest.approx(1 / np.sqrt(5))  # Re(z̄ · 1) / |z|
    t = dd.jvp(lambda z: np.abs(np.exp(z)), z, 1.0)[1]  # |e^z| = e^x
    assert not np.iscomplexobj(t) and t == pytest.approx(np.e)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_of_a_real_function_of_z(mode):
    z = 1 + 2j
    for f in (lambda z: np.abs(z * z), lambda z: np.abs(np.exp(z)), lambda z: np.real(z) * np.imag(z),
              lambda z: np.angle(z) + np.abs(z) ** 3, lambda z: np.abs(np.sin(z) * np.conj(z))):
        got = complex(dd.grad(f, z, mode=mode))
        assert got == pytest.approx(_grad_by_differences(f, z), rel=1e-7)
    assert complex(dd.grad(lambda z: np.abs(z * z), z, mode=mode)) == pytest.approx(2 - 4j)


def test_real_input_gets_a_real_cotangent_through_complex_constants():
    _, pullback = dd.vjp(lambda x: x + (0.4 + 1.2j), 0.4)
    g = pullback(1 + 1j)
    assert not np.iscomplexobj(g) and g == 1.0
    # through broadcasting, a constant factor and where
    x = np.array([0.5, -1.5])
    c = np.array([[1 + 2j, 3 - 1j], [0.5j, 2.0 + 0j]])
    f = lambda x: np.sum(np.abs(dd.where(np.array([True, False]), x * c, c + x)) ** 2)
    g = dd.grad(f, x)
    assert g.dtype == np.float64
    h = 1e-6
    fd = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-7)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_of_a_complex_valued_function_is_refused(mode):
    with pytest.raises(TypeError, match="grad needs a real-valued f.*dd.jvp.*dd.vjp"):
        dd.grad(lambda z: z * z, 1 + 2j, mode=mode)
    with pytest.raises(TypeError, match="grad needs a real-valued f"):
        dd.grad(lambda x: x * 1j, 2.0, mode=mode)


@pytest.mark.parametrize("fn", [np.maximum, dd.minimum])
def test_comparisons_refuse_complex_input(fn):
    with pytest.raises(TypeError, match="'(maximum|minimum)' is defined for real numbers only"):
        dd.grad(lambda z: np.abs(fn(z, 0.5)), 1 + 1j)
    with pytest.raises(TypeError, match="real numbers only"):
        dd.jvp(lambda z: fn(z, 0.5), 1 + 1j, 1.0)
    with pytest.raises(TypeError, match="real numbers only"):
        dd.jvp(lambda z: dd.relu(z), 1 + 1j, 1.0)


def test_complex_tangent_for_a_real_input_is_refused():
    with pytest.raises(TypeError, match="v is complex where x is real"):
        dd.jvp(np.sin, 1.0, 1j)
    with pytest.raises(TypeError, match="real primal needs a real tangent"):
        dd.Dual(1.0, 1j)
    with pytest.raises(TypeError, match="ybar is complex where f.x. is real"):
        dd.vjp(np.sin, 1.0)[1](1j)


def test_jacobians_with_complex_numbers():
    x = np.array([1.0, 2.0])
    want = np.diag([1 + 2j, 1 + 2j]) * np.cos(x * (1 + 2j))
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(dd.jacobian(lambda x: np.sin(x * (1 + 2j)), x, mode=mode), want)
    z = np.array([1 + 2j, 0.5 - 1j])
    for mode in ("forward", "reverse"):  # rows are gradients: 2·conj(z) on the diagonal
        np.testing.assert_allclose(dd.jacobian(lambda z: np.abs(z) ** 2, z, mode=mode),
                                   np.diag(2 * np.conj(z)))
        with pytest.raises(TypeError, match="only when f is holomorphic"):
            dd.jacobian(lambda z: z * z, z, mode=mode)
    with pytest.raises(TypeError, match="use dd.hvp|Use dd.hvp"):
        dd.hessian(lambda z: np.sum(np.abs(z) ** 2), z)
    np.testing.assert_allclose(dd.hvp(lambda z: np.sum(np.abs(z) ** 2), z, np.array([1j, 1.0])),
                               [-2j, 2.0])


# -- 2. ndarray subclasses whose meaning would be dropped are refused ------------------------

def test_masked_arrays_are_refused():
    xm = np.ma.masked_array([1.0, 2.0], mask=[0, 1])
    f = lambda x: np.sum(x ** 2)
    for call in (lambda: dd.vjp(f, xm), lambda: dd.grad(f, xm), lambda: dd.grad(f, xm, mode="forward"),
                 lambda: dd.jvp(f, np.ones(2), xm), lambda: dd.jacobian(f, xm)):
        with pytest.raises(TypeError, match="masked array.*mask would be dropped.*filled"):
            call()


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_masked_constant_inside_f_is_refused(mode):
    xm = np.ma.masked_array([1.0, 2.0], mask=[0, 1])
    with pytest.raises(TypeError, match=r"a value in f \('multiply' with a constant\) is a numpy masked"):
        dd.grad(lambda x: np.sum(x * xm), np.ones(2), mode=mode)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("f, pattern", [
    (lambda x: x + None, r"'add' of a traced value and NoneType None: operands must be numbers"),
    (lambda x: None * x, r"'multiply' of a traced value and NoneType None"),
    (lambda x: x - "a", r"'subtract' of a traced value and str 'a'"),
    (lambda x: x ** object(), r"'power' of a traced value and object <object"),
    (lambda x: x / [None, 1.0], r"'divide' of a traced value and an array of dtype object.*dd\.stack"),
], ids=["plus-None", "None-times", "minus-str", "pow-object", "list-with-None"])
def test_a_non_numeric_operand_is_named_in_the_error(f, pattern, mode):
    with pytest.raises(TypeError, match=pattern) as info:
        dd.grad(lambda x: np.sum(f(x)), np.ones(2), mode=mode)
    assert type(info.value) is TypeError


@pytest.mark.parametrize("other", [[1.0, 2.0], (1, 2), np.int8(3), np.True_, np.float16(0.5), 3])
def test_numeric_operands_of_every_kind_still_combine(other):
    want = np.ones(2) * np.asarray(other, dtype=float)  # d/dx sum(x * c) = c
    np.testing.assert_array_equal(dd.grad(lambda x: np.sum(x * other), np.ones(2)), want)
    np.testing.assert_array_equal(dd.grad(lambda x: np.sum(other * x), np.ones(2), mode="forward"), want)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself warns
def test_matrix_is_refused_rather_than_turned_elementwise():
    M = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    f = lambda x: np.sum(x * x)  # a matrix product for np.matrix, elementwise for arrays
    with pytest.raises(TypeError, match=r"numpy matrix.*np\.asarray\(x\) and write @"):
        dd.grad(f, M)
    A = np.asarray(M)  # the way out it names gives the right answer for what it says
    np.testing.assert_allclose(dd.grad(lambda x: np.sum(x @ x), A), np.ones((2, 2)) @ A.T + A.T @ np.ones((2, 2)))


def test_other_subclasses_are_refused_and_memmap_is_a_plain_array(tmp_path):
    class Units(np.ndarray):
        pass

    with pytest.raises(TypeError, match="Units, a subclass of numpy.ndarray.*np.asarray"):
        dd.grad(np.sum, np.ones(2).view(Units))
    mm = np.memmap(tmp_path / "x.dat", dtype=float, mode="w+", shape=(2,))
    mm[:] = [1.0, 2.0]
    np.testing.assert_array_equal(dd.grad(lambda x: np.sum(x ** 2), mm), [2.0, 4.0])


# -- 3. empty arrays in reverse mode -------------------------------------------------------------

@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0)])
def test_empty_arrays_in_reverse_mode(shape):
    f = lambda x: np.sum(x * 2.0)
    x = np.zeros(shape)
    for mode in ("reverse", "forward"):
        g = dd.grad(f, x, mode=mode)
        assert g.shape == shape
    H = dd.hessian(f, x)
    assert H.shape == shape + shape
    assert dd.hvp(f, x, x).shape == shape
    assert dd.vjp(lambda x: x * 3.0, x)[1](np.zeros(shape)).shape == shape


# -- 5. jvp nested in another transform, f passing its input's tangent through ---------------

@pytest.mark.parametrize("inner", [lambda x: x, lambda x: x + 1.0, np.positive, lambda x: sum([x])],
                         ids=["identity", "plus-constant", "positive", "python-sum"])
def test_nested_jvp_of_a_pass_through(inner):
    y, t = dd.jvp(lambda xv: dd.jvp(inner, xv[0], xv[1])[1], (2.0, 0.5), (1.0, 1.0))
    assert (float(y), float(t)) == (0.5, 1.0)  # J v = v; its derivative along (1, 1) is 1
    assert float(dd.grad(lambda v: dd.jvp(inner, 2.0, v)[1] * 3.0, 0.5)) == 3.0


# -- 6. np.allclose / np.isclose / np.array_equal compare values, give plain booleans ------------

@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_value_comparisons_with_traced_arguments(mode):
    seen = []

    def f(x):
        seen.extend([np.allclose(x, 1.0), np.allclose(1.0, x), np.allclose(x, x),
                     np.isclose(x, np.ones(2)), np.array_equal(x, np.ones(2)),
                     np.array_equal(np.ones(2), x)])
        return np.sum(x * x)

    np.testing.assert_array_equal(dd.grad(f, np.ones(2), mode=mode), [2.0, 2.0])
    for answer in seen:
        assert not isinstance(answer, (dd.Dual, dd.Var))
        assert np.all(answer) and isinstance(answer, (bool, np.bool_, np.ndarray))


# -- 7. formatting shows the value; silent number casts are refused --------------------------

def test_format_shows_the_value(capsys):
    def f(x):
        print(f"loss {x * x:.4f} | {x:>8.2e} | {x}")
        return x * x

    assert float(dd.grad(f, 1.5)) == 3.0
    out = capsys.readouterr().out
    assert out.startswith("loss 2.2500 | 1.50e+00 | Var(1.5")
    assert f"{dd.Dual(2.0, 1.0):.1f}" == "2.0"


@pytest.mark.parametrize("cast, name", [(round, "round"), (lambda x: round(x, 2), "round"),
                                        (__import__("math").floor, "math.floor"),
                                        (__import__("math").ceil, "math.ceil"),
                                        (__import__("math").trunc, "math.trunc")])
def test_number_casts_are_refused_like_float(cast, name):
    for x in (dd.Dual(2.5, 1.0),):
        with pytest.raises(TypeError, match=rf"^{name}\(\) of a Dual would drop its derivative"):
            cast(x)
    with pytest.raises(TypeError, match=rf"^{name}\(\) of a Var would drop its derivative"):
        dd.grad(cast, 2.5)


def test_a_traced_value_as_a_dict_key_says_why_not():
    # == is elementwise (as for ndarrays): hashing would make {x: ...} compare by identity
    for use in (lambda x: {x: 1}, lambda x: {x}, hash):
        with pytest.raises(TypeError, match=r"^a Dual cannot be a dict key or a set member"):
            use(dd.Dual(2.0, 1.0))
        with pytest.raises(TypeError, match=r"^a Var cannot be a dict key or a set member"):
            dd.grad(lambda x: use(x) and x, 2.0)


# -- 9. one validation for every transform -------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: dd.grad(np.sum, np.ones(2), mode="reverse", chunk=0),
    lambda: dd.grad(np.sum, np.ones(2), mode="forward", chunk=0),
    lambda: dd.jacobian(np.sin, np.ones(2), mode="reverse", chunk=0),
    lambda: dd.jacobian(np.sin, np.ones(2), chunk=0),
    lambda: dd.value_and_grad(np.sum, np.ones(2), chunk=0),
], ids=["grad-reverse", "grad-forward", "jacobian-reverse", "jacobian-forward", "value_and_grad"])
def test_a_bad_chunk_is_refused_in_every_transform_and_mode(call):
    with pytest.raises(ValueError, match=r"chunk must be a positive int or 'auto', not 0"):
        call()


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: dd.grad(np.sum, np.ones(2), mode="backward"), ValueError,
     r"mode must be 'forward' or 'reverse', not 'backward'"),
    (lambda: dd.value_and_grad(np.sum, np.ones(2), mode="auto"), ValueError,
     r"mode must be 'forward' or 'reverse', not 'auto'"),
    (lambda: dd.grad(np.sum, np.ones(2), chunk="many"), ValueError, r"chunk must be a positive int or 'auto'"),
    (lambda: dd.grad(np.sum, np.ones(2), chunk=2.5), TypeError, r"chunk must be a positive int or 'auto', not float"),
    (lambda: dd.vjp(np.sum, np.ones(2), has_aux="yes"), TypeError, r"has_aux must be True or False"),
    (lambda: dd.value_and_grad("f", 1.0), TypeError, r"value_and_grad takes a function"),
])
def test_arguments_are_checked_alike(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# -- 10. what f returned, said plainly --------------------------------------------------------

def test_ragged_output_says_which_elements_disagree():
    with pytest.raises(ValueError, match=r"2 elements whose shapes disagree \(element 0 has shape \(\); "
                                         r"element 1 has shape \(2,\)\)"):
        dd.jacobian(lambda x: [x[0], x[:2]], np.ones(3))
    with pytest.raises(ValueError, match=r"elements 0, 2 have shape \(\); element 1 has shape \(3,\)"):
        dd.jacobian(lambda x: [x[0], x * 2, x[1]], np.ones(3), mode="reverse")


@pytest.mark.parametrize("transform", [dd.grad, dd.jacobian, dd.derivative,
                                       lambda f, x: dd.vjp(f, x), lambda f, x: dd.jvp(f, x, 1.0)])
def test_none_output_asks_whether_f_forgot_to_return(transform):
    def f(x):
        x * 2.0  # noqa: B018  (the forgotten return)

    with pytest.raises(TypeError, match=r"not NoneType: did f forget to return\?"):
        transform(f, 1.0)


# -- 11. jacobian's default chunk is "auto" --------------------------------------------------

def test_jacobian_defaults_to_auto_chunk():
    J, info = dd.jacobian(lambda x: np.sin(x) * x, np.linspace(0, 1, 100), full_output=True)
    assert (info.chunk, info.passes) == (dd.auto_chunk(100), 1)
    np.testing.assert_allclose(np.diag(J), np.cos(np.linspace(0, 1, 100)) * np.linspace(0, 1, 100)
                               + np.sin(np.linspace(0, 1, 100)))
    _, info = dd.jacobian(np.sin, np.ones(5), chunk=1, full_output=True)
    assert info.passes == 5


# -- 12. has_aux and value_and_grad -------------------------------------------------------------

def _loss_with_aux(w):
    pred = np.tanh(w)
    return np.sum((pred - 0.5) ** 2), {"pred": pred, "step": 3}


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_and_value_and_grad_with_aux(mode):
    w = np.array([0.1, -0.4, 0.7])
    want_g = 2 * (np.tanh(w) - 0.5) * (1 - np.tanh(w) ** 2)
    g, aux = dd.grad(_loss_with_aux, w, mode=mode, has_aux=True)
    np.testing.assert_allclose(g, want_g)
    assert type(aux["pred"]) is np.ndarray and aux["step"] == 3
    np.testing.assert_allclose(aux["pred"], np.tanh(w))
    (loss, aux), g = dd.value_and_grad(_loss_with_aux, w, mode=mode, has_aux=True)
    assert loss == pytest.approx(np.sum((np.tanh(w) - 0.5) ** 2)) and type(aux["pred"]) is np.ndarray
    np.testing.assert_allclose(g, want_g)
    loss, g = dd.value_and_grad(lambda w: _loss_with_aux(w)[0], w, mode=mode)
    assert loss == pytest.approx(np.sum((np.tanh(w) - 0.5) ** 2))
    np.testing.assert_allclose(g, want_g)


def test_value_and_grad_records_once():
    calls = []

    def f(w):
        calls.append(type(w).__name__)
        return np.sum(w ** 2)

    dd.value_and_grad(f, np.ones(3))
    assert calls == ["Var"]


def test_vjp_and_jacobian_with_aux():
    y, pullback, aux = dd.vjp(lambda x: (x * 2.0, x + 1.0), np.array([1.0, 2.0]), has_aux=True)
    np.testing.assert_array_equal(aux, [2.0, 3.0])
    assert type(aux) is np.ndarray
    np.testing.assert_array_equal(pullback(np.ones(2)), [2.0, 2.0])
    for mode in ("forward", "reverse"):
        J, aux = dd.jacobian(lambda x: (x * 2.0, "note"), np.ones(2), mode=mode, has_aux=True)
        np.testing.assert_array_equal(J, 2 * np.eye(2))
        assert aux == "note"
    J, info, aux = dd.jacobian(lambda x: (x * 2.0, 1), np.ones(2), full_output=True, has_aux=True)
    assert info.passes == 1 and aux == 1
    with pytest.raises(TypeError, match=r"grad\(\.\.\., has_aux=True\) needs f to return a pair"):
        dd.grad(lambda x: x * x, 1.0, has_aux=True)


def test_aux_keeps_an_outer_derivative():
    # inside a Hessian the aux of the inner grad still carries the outer perturbation
    def f(x):
        g, aux = dd.grad(lambda y: (np.sum(y ** 3), x), x, has_aux=True)
        return np.sum(g) * np.sum(aux)

    H = dd.hessian(f, np.ones(2))  # Σ3x² · Σx: H = 6·diag(Σx) + 6x_i + 6x_j
    np.testing.assert_allclose(H, [[24.0, 12.0], [12.0, 24.0]])


# -- 13. hessian and hvp of tuples and dicts -----------------------------------------------

def test_hessian_blocks_of_a_tuple_and_a_dict():
    f = lambda p: np.sum(p[0] ** 2 * p[1]) + np.sum(p[1] ** 3) * p[2]
    x = (np.array([1.0, 2.0]), np.array([3.0, 4.0]), 0.5)
    H = dd.hessian(f, x)
    flat = dd.hessian(lambda z: f((z[:2], z[2:4], z[4])), np.array([1.0, 2.0, 3.0, 4.0, 0.5]))
    cuts = [slice(0, 2), slice(2, 4), slice(4, 5)]
    for i in range(3):
        for j in range(3):
            assert np.shape(H[i][j]) == np.shape(x[i]) + np.shape(x[j])
            np.testing.assert_allclose(np.reshape(H[i][j], flat[cuts[i], cuts[j]].shape),
                                       flat[cuts[i], cuts[j]])
    Hd = dd.hessian(lambda d: np.sum(d["a"] ** 2) * d["b"], {"a": np.array([1.0, 2.0]), "b": 3.0})
    np.testing.assert_allclose(Hd["a"]["a"], 6.0 * np.eye(2))
    np.testing.assert_allclose(Hd["a"]["b"], [2.0, 4.0])
    np.testing.assert_allclose(Hd["b"]["a"], [2.0, 4.0])
    assert Hd["b"]["b"] == 0.0
    v = {"a": np.array([1.0, 0.0]), "b": 1.0}
    hv = dd.hvp(lambda d: np.sum(d["a"] ** 2) * d["b"], {"a": np.array([1.0, 2.0]), "b": 3.0}, v)
    np.testing.assert_allclose(hv["a"], 6.0 * v["a"] + np.array([2.0, 4.0]))
    assert float(hv["b"]) == 2.0


# -- 8. the distribution name is not the unrelated project's ---------------------------------

def test_distribution_name_and_install_instructions():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    name = re.search(r'^name = "([^"]+)"', (root / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert name and name.group(1) == "dualdiff-ad"  # "dualdiff" on the index is another project
    for readme in ("README.md", "README.zh-CN.md"):
        text = (root / readme).read_text(encoding="utf-8")
        assert "`python -m pip install .`" in text and "`dualdiff-ad`" in text, readme


def test_derivative_and_check_grad_with_complex_x():
    from dualdiff.testing import GradientCheckError, check_grad

    assert complex(dd.derivative(lambda z: np.abs(z) ** 2, 1 + 2j)) == pytest.approx(2 - 4j)
    with pytest.raises(TypeError, match="only when f is holomorphic"):
        dd.derivative(np.exp, 1 + 2j)
    check_grad(lambda z: np.abs(np.exp(z)) * z, np.array([1 + 2j, 0.3 - 0.1j]))
    wrong_abs = dd.elementwise("wrong_abs", np.abs, [lambda x, o: np.sign(dd.stop_gradient(x))],
                               needs="args", register=False, complex="holomorphic")
    with pytest.raises(GradientCheckError, match="disagrees with the central difference"):
        check_grad(wrong_abs, np.array([1 + 2j]))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_full_like_with_a_traced_fill_carries_its_derivative(mode):
    # np.full_like(x, c) is a constant array; with a traced c every element is c (it was
    # a constant of c's value: derivative 0, silently)
    x = np.array([1.0, 2.0, 3.0])
    g = dd.grad(lambda x: np.sum(np.full_like(x, x[0] ** 2) * np.array([1.0, 2.0, 3.0])), x, mode=mode)
    np.testing.assert_allclose(g, [2 * x[0] * 6.0, 0.0, 0.0])          # d/dx0 (6 x0²)
    g = dd.grad(lambda x: np.sum(np.full_like(x, x[1], shape=(2, 2))), x, mode=mode)
    np.testing.assert_allclose(g, [0.0, 4.0, 0.0])
    g = dd.grad(lambda x: np.sum(np.full_like(x, 3.0) * x), x, mode=mode)  # a plain fill: constant
    np.testing.assert_allclose(g, [3.0, 3.0, 3.0])
    # into an integer array the fill is truncated, as numpy: no derivative, and a plain result
    assert np.full_like(dd.Dual(np.ones(2), np.ones(2)), 2.5, dtype=int).dtype == int
    # a plain array's full_like writes a traced fill in place: refused, saying how instead
    with pytest.raises(TypeError, match=r"numpy\.copyto is not supported.*np\.full\(shape, c\).*"
                                        r"dd\.broadcast_to\(c, shape\)"):
        dd.grad(lambda x: np.sum(np.full_like(np.ones(3), x[0])), x, mode=mode)
    with pytest.raises(TypeError, match=r"would drop its derivative"):  # np.full reads np.array(c)
        dd.grad(lambda x: np.sum(np.full(3, x[0])), x, mode=mode)
