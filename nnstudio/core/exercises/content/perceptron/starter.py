"""The perceptron: a weighted sum compared with a threshold, and the rule that learns the weights."""

import numpy as np


def predict(inputs, weights, threshold):
    """1 if the weighted sum of the inputs is greater than the threshold, else 0."""
    raise NotImplementedError("compare the weighted sum with the threshold")


def train_step(weights, threshold, inputs, target, lr):
    """One step of the perceptron learning rule on one example; returns (new_weights, new_threshold)."""
    inputs = np.asarray(inputs, dtype=float)
    weights = np.asarray(weights, dtype=float)
    raise NotImplementedError("find the error, then move the weights and the threshold")
