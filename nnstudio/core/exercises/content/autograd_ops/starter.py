"""Backward rules of three operations: each returns dL/d(input) from dL/d(output)."""


def unbroadcast(grad, shape):
    """Sum grad over the axes NumPy broadcast, so that it has the given shape (given: no need to change)."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def mul_backward(a, b, grad_out):
    """out = a * b. Returns (grad_a, grad_b), each with the shape of its input."""
    raise NotImplementedError("chain rule: grad_out times the local derivative")


def pow_backward(a, n, grad_out):
    """out = a ** n for a constant number n. Returns grad_a."""
    raise NotImplementedError("the exponent comes down")


def tanh_backward(a, out, grad_out):
    """out = tanh(a). Returns grad_a."""
    raise NotImplementedError("use out, which is tanh(a)")
