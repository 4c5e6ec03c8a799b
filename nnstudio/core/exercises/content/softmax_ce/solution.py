"""Softmax cross-entropy over a batch of logits, and its gradient."""

import numpy as np


def softmax_cross_entropy(logits, labels):
    """logits (N, C), integer labels (N,) -> (mean loss, dL/dlogits of shape (N, C))."""
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), labels].mean()
    grad = np.exp(log_probs)
    grad[np.arange(n), labels] -= 1
    return loss, grad / n
