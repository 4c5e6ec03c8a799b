"""Backward rules of three operations: each returns dL/d(input) from dL/d(output)."""

import numpy as np


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
    return unbroadcast(grad_out * b, np.shape(a)), unbroadcast(grad_out * a, np.shape(b))


def pow_backward(a, n, grad_out):
    """out = a ** n for a constant number n. Returns grad_a."""
    return grad_out * n * a ** (n - 1)


def tanh_backward(a, out, grad_out):
    """out = tanh(a). Returns grad_a."""
    return grad_out * (1 - out**2)
