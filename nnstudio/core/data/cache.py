"""Datasets as the trainer reads them (float32 inputs), decoded once per process.

Decoding MNIST and converting it to float32 takes about a second and 220 MB;
every page that trains or evaluates (Build & Train, Backprop, the Memory lab)
shares one copy. The arrays are never modified. Datasets that change while the
app runs (the user's own digits) are never cached.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .dataset import Dataset
from .registry import load_dataset, locate

LIVE = frozenset({"my-digits"})
_CACHE: dict[tuple[str, str], TrainingArrays] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TrainingArrays:
    """A dataset with its float32 (N, 784) inputs and int64 labels, split into train and test."""

    dataset: Dataset
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x_train, self.y_train

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x_test, self.y_test

    @property
    def nbytes(self) -> int:
        """What these arrays (and the decoded images behind them) hold in memory."""
        d = self.dataset
        return int(
            sum(
                a.nbytes
                for a in (
                    self.x_train,
                    self.y_train,
                    self.x_test,
                    self.y_test,
                    d.x_train,
                    d.y_train,
                    d.x_test,
                    d.y_test,
                )
            )
        )


def arrays_for(dataset: Dataset) -> TrainingArrays:
    """``dataset`` as training arrays, converted once (and kept, unless it is a live dataset)."""
    key = (dataset.name, str(dataset.source))
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    x_train, y_train = dataset.flat("train")
    x_test, y_test = dataset.flat("test")
    for a in (x_train, y_train, x_test, y_test):
        a.setflags(write=False)  # shared by every page: a write anywhere would change them everywhere
    arrays = TrainingArrays(dataset, x_train, y_train, x_test, y_test)
    if dataset.name not in LIVE:
        with _LOCK:
            arrays = _CACHE.setdefault(key, arrays)
    return arrays


def cached_arrays(name: str, data_dir=None) -> TrainingArrays | None:
    """The arrays of ``name`` if this process already has them (no loading, no download)."""
    if name in LIVE:
        return None
    folder = locate(name, data_dir)
    if folder is None:
        return None
    with _LOCK:
        return _CACHE.get((name, str(folder)))


def training_arrays(name: str, data_dir=None, download: bool = False, progress=None) -> TrainingArrays:
    """Load (or reuse) dataset ``name`` as training arrays; :class:`~nnstudio.core.data.DataError` if unavailable."""
    hit = cached_arrays(name, data_dir)
    if hit is not None:
        return hit
    return arrays_for(load_dataset(name, data_dir, download=download, progress=progress))
