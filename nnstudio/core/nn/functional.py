"""Activation functions as pure NumPy functions with their derivatives: one table for every surface.

Each entry of :data:`ACTIVATIONS` is an :class:`ActivationFunction`:
``fn(x)``, ``grad(x)`` (the derivative with respect to x), a formula and a short
note. The engine's layers (:mod:`nnstudio.core.nn.layers`), the Activations
lesson and the playground all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_ALPHA = 0.01
ELU_ALPHA = 1.0
_GELU_C = np.sqrt(2.0 / np.pi)


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function (no overflow warnings for large |x|); keeps x's dtype."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis`` with the max-shift (no overflow for huge inputs)."""
    z = x - x.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


def sigmoid(x):
    return stable_sigmoid(np.asarray(x, dtype=np.result_type(x, np.float32)))


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
    # The derivative at exactly 0 is taken as 0 (as the engine's ReLU does).
    return (np.asarray(x) > 0).astype(np.result_type(x, np.float32))


def leaky_relu(x, alpha: float = LEAKY_ALPHA):
    x = np.asarray(x)
    return np.where(x > 0, x, alpha * x)


def leaky_relu_grad(x, alpha: float = LEAKY_ALPHA):
    x = np.asarray(x)
    return np.where(x > 0, 1.0, alpha).astype(np.result_type(x, np.float32))


def elu(x, alpha: float = ELU_ALPHA):
    x = np.asarray(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_grad(x, alpha: float = ELU_ALPHA):
    x = np.asarray(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(np.result_type(x, np.float32))


def softplus(x):
    # log(1 + e^x) written so that large |x| neither overflows nor loses precision.
    x = np.asarray(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softplus_grad(x):
    return sigmoid(x)


def gelu(x):
    """GELU in its tanh form (as in BERT/GPT-2): 0.5 x (1 + tanh(c (x + 0.044715 x^3)))."""
    x = np.asarray(x)
    return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def gelu_grad(x):
    x = np.asarray(x)
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)


def swish(x):
    """Swish / SiLU: x * sigmoid(x)."""
    return np.asarray(x) * sigmoid(x)


def swish_grad(x):
    s = sigmoid(x)
    return s + np.asarray(x) * s * (1 - s)


@dataclass(frozen=True)
class ActivationFunction:
    name: str  # key, e.g. "leaky_relu"
    label: str  # for people, e.g. "Leaky ReLU"
    fn: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    formula: str
    note: str

    def __call__(self, x):
        return self.fn(x)


ACTIVATIONS: dict[str, ActivationFunction] = {
    a.name: a
    for a in (
        ActivationFunction(
            "sigmoid",
            "Sigmoid",
            sigmoid,
            sigmoid_grad,
            "1 / (1 + e^-x)",
            "Squashes any number into (0, 1). Its slope is at most 0.25 and below 0.05 once "
            "|x| > 3, so stacked sigmoids pass back very little gradient.",
        ),
        ActivationFunction(
            "tanh",
            "Tanh",
            tanh,
            tanh_grad,
            "(e^x - e^-x) / (e^x + e^-x)",
            "Like sigmoid but in (-1, 1) and centred on 0; slope 1 at 0, still flat for large |x|.",
        ),
        ActivationFunction(
            "relu",
            "ReLU",
            relu,
            relu_grad,
            "max(0, x)",
            "Keeps positives, zeroes negatives. Slope 1 for x > 0, so gradients pass unchanged; "
            "a neuron stuck at negative inputs gets no gradient at all (a 'dead' ReLU).",
        ),
        ActivationFunction(
            "leaky_relu",
            "Leaky ReLU",
            leaky_relu,
            leaky_relu_grad,
            f"x if x > 0 else {LEAKY_ALPHA}x",
            "ReLU with a small slope for negatives, so no neuron goes completely dead.",
        ),
        ActivationFunction(
            "elu",
            "ELU",
            elu,
            elu_grad,
            "x if x > 0 else e^x - 1",
            "Smooth for negatives and saturates at -1 there, which pulls mean outputs towards 0.",
        ),
        ActivationFunction(
            "softplus",
            "Softplus",
            softplus,
            softplus_grad,
            "log(1 + e^x)",
            "A smooth ReLU; its derivative is exactly the sigmoid.",
        ),
        ActivationFunction(
            "gelu",
            "GELU",
            gelu,
            gelu_grad,
            "x * Phi(x)  (tanh approximation)",
            "Weighs x by how likely it is to be positive; used in transformers. Dips slightly below 0 for negative x.",
        ),
        ActivationFunction(
            "swish",
            "Swish (SiLU)",
            swish,
            swish_grad,
            "x * sigmoid(x)",
            "Smooth and non-monotonic like GELU; behaves like ReLU for large |x|.",
        ),
    )
}


def get(name: str) -> ActivationFunction:
    key = name.lower().replace("-", "_").replace(" ", "_")
    key = {"leakyrelu": "leaky_relu", "silu": "swish"}.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key]
