"""The derivative checker must pass correct rules and catch wrong ones (a checker that cannot
fail is no checker)."""

import numpy as np
import pytest

import dualdiff as dd
from dualdiff.rules import elementwise
from dualdiff.primitives import Primitive
from dualdiff.testing import GradientCheckError, check_grad

X = np.array([0.3, 1.2, -0.7])


@pytest.mark.parametrize("complex_step", [False, True])
def test_correct_functions_pass(complex_step):
    check_grad(lambda x: np.sin(x) * np.exp(x) + x ** 2, X, complex_step=complex_step)
    check_grad(lambda x: np.array([[1.0, 2.0, 3.0]]) @ np.tanh(x), X, complex_step=complex_step)


def test_a_wrong_partial_is_caught_by_the_forward_check():
    # sin with the derivative sin instead of cos: both modes agree with each other (they share
    # the partial) so only the comparison with f itself can catch it.
    bad_sin = elementwise("bad_sin", np.sin, [lambda x, out: np.sin(x)], needs="args", register=False)
    with pytest.raises(GradientCheckError, match="forward mode J·v disagrees"):
        check_grad(lambda x: bad_sin(x), X)


def test_a_wrong_adjoint_is_caught_by_the_dot_product_test():
    good = dd.PRIMITIVES["sin"]

    def wrong_vjp(ct, primals, out, params, shapes, wants):
        (c,) = good.vjp(ct, primals, out, params, shapes, wants)
        return (c * 1.001,)  # an adjoint that has drifted from its tangent rule

    drifted = Primitive("drifted_sin", good.impl, good.jvp, wrong_vjp, needs="args")
    with pytest.raises(GradientCheckError, match="dot-product test failed"):
        check_grad(lambda x: drifted(x), X)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_nan_derivatives_fail():
    with pytest.raises(GradientCheckError):
        check_grad(lambda x: np.sqrt(x - 10.0), X)
