"""The Activations lesson: where each function passes gradient back, and how much survives a deep stack.

The functions themselves (and their derivatives) live in :mod:`nnstudio.core.nn.functional`.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.nn.functional import get
from nnstudio.core.nn.layers import Dense, activation_layer
from nnstudio.core.nn.network import Sequential


def vanishing_ranges(
    name: str, lo: float = -6.0, hi: float = 6.0, threshold: float = 0.05, points: int = 2401
) -> list[tuple[float, float]]:
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


def deep_stack(name: str, depth: int = 10, width: int = 64, init: str = "xavier", seed: int = 0):
    """A Sequential of ``depth`` Dense layers of ``width`` units, each followed by the activation."""
    rng = np.random.default_rng(seed)
    net = Sequential(input_size=width)
    for _ in range(depth):
        net.add(Dense(width, width, init=init, rng=rng, dtype=np.float64))
        net.add(activation_layer(name))
    return net


def gradient_norms(
    name: str,
    depth: int = 10,
    width: int = 64,
    batch: int = 256,
    init: str = "xavier",
    seed: int = 0,
    input_scale: float = 1.0,
) -> np.ndarray:
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
