"""gradcheck and numerical_gradient: right numbers, and a wrong backward is caught and located."""

import numpy as np
import pytest

from nnstudio.core.autograd import GradcheckError, Tensor, gradcheck, numerical_gradient


def test_numerical_gradient_of_a_scalar_and_jacobian_of_an_array_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-8)
    jacobian = numerical_gradient(lambda v: np.sin(v[0]) * v[1], np.array([0.3, 2.0]))
    assert jacobian.shape == (2,)
    np.testing.assert_allclose(jacobian, [np.cos(0.3) * 2.0, np.sin(0.3)], rtol=1e-8)
    jacobian = numerical_gradient(lambda v: v[::-1] * 2, np.array([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(jacobian, [[0, 0, 2], [0, 2, 0], [2, 0, 0]], atol=1e-8)
    assert numerical_gradient(lambda v: float(v) ** 2, 3.0) == pytest.approx(6.0, rel=1e-8)
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # the caller's array is untouched


def test_gradcheck_passes_on_the_engine_and_leaves_the_inputs_alone():
    a = Tensor(np.array([[0.5, 1.0, 2.0]]), requires_grad=True)
    b = Tensor(np.array([[0.3], [-1.2]]), requires_grad=True)
    labels = np.array([1, 0])
    assert gradcheck(lambda x, y: (x * y).sigmoid() + x.exp() / (y * y + 1), (a, b))
    assert gradcheck(
        lambda x, t: (x @ x.T * 3).cross_entropy(t), (Tensor(np.eye(2, 3) + 0.1, requires_grad=True), labels)
    )
    assert a.grad is None and b.grad is None  # gradcheck works on copies


def _sin_with_backward(derivative):
    """sin(x) whose backward multiplies by ``derivative(x)``: a way to plant a bug."""
    return lambda x: x._make(np.sin(x.data), (x,), "sin", lambda g: (g * derivative(x.data),))


def test_gradcheck_names_the_worst_element_of_a_wrong_backward():
    x = Tensor(np.array([[0.1, 0.2], [0.3, 1.5]]), requires_grad=True)
    assert gradcheck(_sin_with_backward(np.cos), x)
    with pytest.raises(GradcheckError) as info:
        gradcheck(_sin_with_backward(lambda v: np.cos(v) * (1 + 0.01 * (v > 1))), x)  # 1% off at one element
    message = str(info.value)
    assert message.startswith("gradcheck: d out[1, 1] / d inputs[0][1, 1] is 0.07144")
    assert "by central differences" in message and "1 of 16 Jacobian elements differ" in message
    assert gradcheck(_sin_with_backward(np.sin), x, raise_exception=False) is False


def test_gradcheck_tolerances_are_those_asked_for():
    x = Tensor(np.array([0.4, 0.9]), requires_grad=True)
    off = _sin_with_backward(lambda v: np.cos(v) * (1 + 1e-4))  # relative error 1e-4
    assert gradcheck(off, x)  # within the default rtol 1e-3
    assert not gradcheck(off, x, rtol=1e-5, atol=0, raise_exception=False)


def test_gradcheck_refuses_a_wrongly_shaped_gradient_and_a_call_with_nothing_to_check():
    x = Tensor(np.array([0.4, 0.9]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"shape \(1,\) for an input of \(2,\)"):
        gradcheck(lambda t: t._make(t.data * 2, (t,), "bad", lambda g: (g[:1],)), x)
    with pytest.raises(ValueError, match="no input is a Tensor with requires_grad=True"):
        gradcheck(lambda t: t * 2, Tensor([1.0]))
