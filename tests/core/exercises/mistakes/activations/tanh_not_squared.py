# A typical mistake: the check must name it.
# mistake: tanh_not_squared
# expect: the square matters
"""Activation functions and their derivatives, element by element on NumPy arrays."""

import numpy as np


def sigmoid(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))  # never e to a large positive power: no overflow
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x):
    return np.tanh(x)


def tanh_grad(x):
    t = np.tanh(x)
    return 1 - t


def relu(x):
    return np.maximum(x, 0)


def relu_grad(x):
    return (np.asarray(x) > 0).astype(float)
