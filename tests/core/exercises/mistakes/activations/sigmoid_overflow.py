# A typical mistake: the check must name it.
# expect: e^x overflowed
"""Activation functions and their derivatives, element by element on NumPy arrays."""

import numpy as np


def sigmoid(x):
    return np.exp(x) / (1 + np.exp(x))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x):
    return np.tanh(x)


def tanh_grad(x):
    t = np.tanh(x)
    return 1 - t * t


def relu(x):
    return np.maximum(x, 0)


def relu_grad(x):
    return (np.asarray(x) > 0).astype(float)
