"""Activation functions as pure NumPy functions with their derivatives.

Each entry of :data:`ACTIVATIONS` is an :class:`ActivationFunction`:
``fn(x)``, ``grad(x)`` (the derivative with respect to x) and a short note.
:class:`FunctionLayer` turns any of them into a layer of our engine, and
:func:`gradient_norms` uses that to show how gradients shrink (or not) on
their way back through a deep stack of layers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .layers import Dense, Layer
from .layers import sigmoid as _stable_sigmoid

LEAKY_ALPHA = 0.01
ELU_ALPHA = 1.0
_GELU_C = np.sqrt(2.0 / np.pi)


def sigmoid(x):
    return _stable_sigmoid(np.asarray(x, dtype=np.result_type(x, np.float32)))


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
    return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x ** 3)))


def gelu_grad(x):
    x = np.asarray(x)
    t = np.tanh(_GELU_C * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)


def swish(x):
    """Swish / SiLU: x * sigmoid(x)."""
    return np.asarray(x) * sigmoid(x)


def swish_grad(x):
    s = sigmoid(x)
    return s + np.asarray(x) * s * (1 - s)


@dataclass(frozen=True)
class ActivationFunction:
    name: str                       # key, e.g. "leaky_relu"
    label: str                      # for people, e.g. "Leaky ReLU"
    fn: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    formula: str
    note: str

    def __call__(self, x):
        return self.fn(x)


ACTIVATIONS: dict[str, ActivationFunction] = {a.name: a for a in (
    ActivationFunction("sigmoid", "Sigmoid", sigmoid, sigmoid_grad, "1 / (1 + e^-x)",
                       "Squashes any number into (0, 1). Its slope is at most 0.25 and below 0.05 once "
                       "|x| > 3, so stacked sigmoids pass back very little gradient."),
    ActivationFunction("tanh", "Tanh", tanh, tanh_grad, "(e^x - e^-x) / (e^x + e^-x)",
                       "Like sigmoid but in (-1, 1) and centred on 0; slope 1 at 0, still flat for large |x|."),
    ActivationFunction("relu", "ReLU", relu, relu_grad, "max(0, x)",
                       "Keeps positives, zeroes negatives. Slope 1 for x > 0, so gradients pass unchanged; "
                       "a neuron stuck at negative inputs gets no gradient at all (a 'dead' ReLU)."),
    ActivationFunction("leaky_relu", "Leaky ReLU", leaky_relu, leaky_relu_grad, f"x if x > 0 else {LEAKY_ALPHA}x",
                       "ReLU with a small slope for negatives, so no neuron goes completely dead."),
    ActivationFunction("elu", "ELU", elu, elu_grad, "x if x > 0 else e^x - 1",
                       "Smooth for negatives and saturates at -1 there, which pulls mean outputs towards 0."),
    ActivationFunction("softplus", "Softplus", softplus, softplus_grad, "log(1 + e^x)",
                       "A smooth ReLU; its derivative is exactly the sigmoid."),
    ActivationFunction("gelu", "GELU", gelu, gelu_grad, "x * Phi(x)  (tanh approximation)",
                       "Weighs x by how likely it is to be positive; used in transformers. Dips slightly "
                       "below 0 for negative x."),
    ActivationFunction("swish", "Swish (SiLU)", swish, swish_grad, "x * sigmoid(x)",
                       "Smooth and non-monotonic like GELU; behaves like ReLU for large |x|."),
)}


def get(name: str) -> ActivationFunction:
    key = name.lower().replace("-", "_").replace(" ", "_")
    key = {"leakyrelu": "leaky_relu", "silu": "swish"}.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key]


def vanishing_ranges(name: str, lo: float = -6.0, hi: float = 6.0, threshold: float = 0.05,
                     points: int = 2401) -> list[tuple[float, float]]:
    """Intervals of [lo, hi] where |f'(x)| < threshold: inputs there pass back almost no gradient."""
    act = get(name)
    xs = np.linspace(lo, hi, points)
    small = np.abs(act.grad(xs)) < threshold
    ranges = []
    i = 0
    while i < points:
        if small[i]:
            j = i
            while j + 1 < points and small[j + 1]:
                j += 1
            ranges.append((float(xs[i]), float(xs[j])))
            i = j + 1
        else:
            i += 1
    return ranges


class FunctionLayer(Layer):
    """Any activation of :data:`ACTIVATIONS` as an engine layer (keeps the input for backward)."""

    kind = "Function"

    def __init__(self, name: str):
        self.act = get(name)
        self._x = None

    def forward(self, x, training=True):
        self._x = x
        return self.act.fn(x).astype(x.dtype, copy=False)

    def backward(self, grad):
        return grad * self.act.grad(self._x).astype(grad.dtype, copy=False)

    def config(self):
        return {"type": self.kind, "name": self.act.name}

    def cached_arrays(self):
        return [self._x] if self._x is not None else []

    def clear_cache(self):
        self._x = None

    def __repr__(self):
        return f"Function({self.act.name})"


def activation_layer(name: str) -> Layer:
    """The engine's own layer where one exists (faster), else a :class:`FunctionLayer`."""
    from .layers import activation as engine_activation
    key = get(name).name if name != "linear" else "linear"
    if key in ("relu", "leaky_relu", "sigmoid", "tanh", "linear"):
        return engine_activation(key)
    return FunctionLayer(key)


def deep_stack(name: str, depth: int = 10, width: int = 64, init: str = "xavier", seed: int = 0):
    """A Sequential of ``depth`` Dense layers of ``width`` units, each followed by the activation."""
    from .network import Sequential
    rng = np.random.default_rng(seed)
    net = Sequential(input_size=width)
    for _ in range(depth):
        net.add(Dense(width, width, init=init, rng=rng, dtype=np.float64))
        net.add(activation_layer(name))
    return net


def gradient_norms(name: str, depth: int = 10, width: int = 64, batch: int = 256, init: str = "xavier",
                   seed: int = 0, input_scale: float = 1.0) -> np.ndarray:
    """L2 norm of dLoss/dW for each Dense layer of a deep stack (index 0 = nearest the input).

    The loss is the mean of the last layer's outputs times fixed random weights,
    so the gradient arriving at the top is the same size for every activation;
    what changes from activation to activation is how much survives the trip down.
    """
    net = deep_stack(name, depth, width, init, seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, width)) * input_scale
    net.forward(x)
    top = rng.standard_normal((batch, width)) / batch
    net.backward(top)
    norms = np.array([float(np.linalg.norm(d.W.grad)) for d in net.dense_layers()])
    net.clear_cache()
    return norms


def histograms(name: str, x: np.ndarray, bins: int = 40) -> dict:
    """Histograms of a batch before and after the activation (each on its own range)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = get(name).fn(x)
    before, edges_before = np.histogram(x, bins=bins)
    after, edges_after = np.histogram(y, bins=bins)
    return {"before": (before, edges_before), "after": (after, edges_after), "output": y}
