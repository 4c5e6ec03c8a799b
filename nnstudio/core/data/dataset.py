"""A labelled image dataset as arrays, and the one normalisation every network input goes through."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DataError(RuntimeError):
    """Data could not be found, read or downloaded; the message says what to do."""


@dataclass
class Dataset:
    """Images as uint8 (N, 28, 28) and integer labels, split into train and test."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str = ""

    def flat(self, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """Float32 (N, 784) inputs scaled to [0, 1] and int64 labels: what the networks eat."""
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        return to_inputs(x), y.astype(np.int64)

    @property
    def input_size(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def to_inputs(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W) -> float32 (N, H*W) in [0, 1]: the one normalisation used everywhere."""
    x = images.reshape(len(images), -1).astype(np.float32)
    x *= np.float32(1.0 / 255.0)
    return x
