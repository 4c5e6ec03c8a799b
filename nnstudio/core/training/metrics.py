"""What a classifier gets right and wrong: confusion matrix, per-class accuracy, confident mistakes.

One pass over the data serves the CLI's ``evaluate`` and the studio's after-epoch views alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.nn.functional import softmax
from nnstudio.core.nn.layers import Dense


@dataclass
class ClassificationReport:
    confusion: np.ndarray  # (k, k): rows = true class, columns = predicted
    class_names: list
    accuracy: float
    loss: float  # mean cross-entropy
    mistakes: list = field(default_factory=list)  # [(index, true, predicted, confidence)], most confident first

    @property
    def per_class_accuracy(self) -> list[float]:
        return (np.diag(self.confusion) / np.maximum(self.confusion.sum(axis=1), 1)).tolist()

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "per_class_accuracy": self.per_class_accuracy,
            "confusion_matrix": self.confusion.tolist(),
            "class_names": list(self.class_names),
        }


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def classification_report(
    network, x: np.ndarray, y: np.ndarray, class_names, n_mistakes: int = 24
) -> ClassificationReport:
    """Evaluate ``network`` on ``(x, y)`` once and report accuracy, loss, confusion and top mistakes."""
    k = len(class_names)
    probs = softmax(network.predict(x).astype(np.float64))
    pred = probs.argmax(axis=1)
    n = len(y)
    loss = float(-np.mean(np.log(np.maximum(probs[np.arange(n), y], 1e-300)))) if n else 0.0
    wrong = np.flatnonzero(pred != y)
    top = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")[:n_mistakes]]
    mistakes = [(int(i), int(y[i]), int(pred[i]), float(probs[i, pred[i]])) for i in top]
    return ClassificationReport(
        confusion_matrix(y, pred, k), list(class_names), float(np.mean(pred == y)) if n else 0.0, loss, mistakes
    )


def gradient_rms(network) -> np.ndarray:
    """Root-mean-square of each Dense layer's weight gradient (vanishing/exploding at a glance)."""
    out = [
        float(np.sqrt(np.vdot(layer.W.grad, layer.W.grad) / layer.W.grad.size))
        for layer in network.layers
        if isinstance(layer, Dense)
    ]
    return np.asarray(out, dtype=np.float64)
