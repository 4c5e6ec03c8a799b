"""Loss functions. ``forward(pred, target) -> float``; ``backward() -> dL/dpred``."""

from __future__ import annotations

import numpy as np


class Loss:
    kind = "Loss"

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def clear_cache(self) -> None:
        """Drop what forward kept for backward (after an evaluation, say)."""

    __call__ = forward


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused: mean over the batch.

    ``target`` is integer class labels of shape (N,) or one-hot/probabilities
    of shape (N, C). Uses the log-sum-exp shift, so huge logits do not overflow,
    and the fused gradient ``(softmax(z) - y) / N``.
    """

    kind = "SoftmaxCrossEntropy"

    def __init__(self):
        self._probs = None
        self._target = None

    def forward(self, logits, target):
        z = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(z)
        sums = exp.sum(axis=1, keepdims=True)
        log_sums = np.log(sums)
        n = logits.shape[0]
        if target.ndim == 1:
            idx = target.astype(np.intp, copy=False)
            loss = float(np.mean(log_sums[:, 0] - z[np.arange(n), idx]))
        else:
            loss = float(-np.sum(target * (z - log_sums)) / n)
        exp /= sums
        self._probs, self._target = exp, target
        return loss

    def backward(self):
        grad = self._probs  # reused in place: forward made it for us
        n = grad.shape[0]
        if self._target.ndim == 1:
            grad[np.arange(n), self._target.astype(np.intp, copy=False)] -= 1
        else:
            grad -= self._target
        grad /= n
        self._probs = None
        return grad

    def clear_cache(self) -> None:
        self._probs = self._target = None

    @property
    def probs(self) -> np.ndarray | None:
        """Softmax probabilities from the last forward (before backward consumes them)."""
        return self._probs


class MSE(Loss):
    """Mean squared error over all elements."""

    kind = "MSE"

    def __init__(self):
        self._diff = None

    def forward(self, pred, target):
        target = target.reshape(pred.shape) if target.size == pred.size else target
        self._diff = pred - target
        return float(np.mean(self._diff**2))

    def backward(self):
        return self._diff * (2.0 / self._diff.size)

    def clear_cache(self) -> None:
        self._diff = None


LOSSES = {"cross_entropy": SoftmaxCrossEntropy, "mse": MSE}


def make_loss(name: str) -> Loss:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]()
