# A typical mistake: the check must name it.
# mistake: always_update
# expect: although the answer was right
"""The perceptron: a weighted sum compared with a threshold, and the rule that learns the weights."""

import numpy as np


def predict(inputs, weights, threshold):
    """1 if the weighted sum of the inputs is greater than the threshold, else 0."""
    weighted_sum = float(np.dot(inputs, weights))
    return 1 if weighted_sum > threshold else 0


def train_step(weights, threshold, inputs, target, lr):
    """One step of the perceptron learning rule on one example; returns (new_weights, new_threshold)."""
    inputs = np.asarray(inputs, dtype=float)
    weights = np.asarray(weights, dtype=float)
    error = target
    return weights + lr * error * inputs, threshold - lr * error
