"""Recipes: short training procedures built from the Trainer, the same from the CLI and the window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnstudio.core.data.mydigits import MyDigits, fine_tuning_set
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import make_optimizer

from .trainer import History, Trainer

FINE_TUNE_EPOCHS = 3
FINE_TUNE_LR = 5e-4
FINE_TUNE_BATCH = 64
FINE_TUNE_REPEATS = 20  # each of the user's digits appears this many times per epoch
FINE_TUNE_REPLAY = 5000  # MNIST digits mixed in, so the network keeps reading everyone else's


@dataclass
class FineTuneResult:
    network: Sequential  # the fine-tuned copy (the original is untouched)
    history: History
    state: str  # the trainer's final state: "finished", "stopped" or "diverged"
    replayed: int  # how many replay digits were mixed in (0: the user's digits alone)
    accuracy_before: float  # on the user's digits
    accuracy_after: float

    @property
    def note(self) -> str:
        mixed = (
            f"mixed with {self.replayed:,} MNIST digits"
            if self.replayed
            else "on your digits alone (MNIST was not found to mix in)"
        )
        return (
            f"{len(self.history.epochs)} epochs {mixed}; your digits read "
            f"{self.accuracy_before:.0%} before, {self.accuracy_after:.0%} after"
        )


def fine_tune(
    net: Sequential,
    digits: MyDigits,
    replay: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int = FINE_TUNE_EPOCHS,
    lr: float = FINE_TUNE_LR,
    batch_size: int = FINE_TUNE_BATCH,
    repeats: int = FINE_TUNE_REPEATS,
    replay_count: int = FINE_TUNE_REPLAY,
    seed: int = 0,
    on_trainer: Callable[[Trainer], None] | None = None,
) -> FineTuneResult:
    """Train a copy of ``net`` a little on the user's own digits, mixed with ``replay`` (e.g. MNIST's
    training set) so it learns this handwriting without forgetting everyone else's.

    ``on_trainer(trainer)`` receives the trainer before it runs (to connect progress or stop it).
    """
    x_mine, y_mine = digits.inputs()
    tuned = net.copy()
    before = _accuracy(tuned, x_mine, y_mine)
    train = fine_tuning_set(digits, replay=replay, repeats=repeats, replay_count=replay_count, seed=seed)
    optimizer = make_optimizer("adam", tuned.parameters(), lr=lr)
    trainer = Trainer(tuned, optimizer, train, batch_size=min(batch_size, len(train[0])), epochs=epochs, seed=seed)
    if on_trainer is not None:
        on_trainer(trainer)
    trainer.run()
    tuned.meta.update(dataset="mnist", fine_tuned_on=len(digits))
    replayed = min(replay_count, len(replay[1])) if replay is not None and replay_count > 0 else 0
    return FineTuneResult(tuned, trainer.history, trainer.state, replayed, before, _accuracy(tuned, x_mine, y_mine))


def _accuracy(net: Sequential, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(net.predict(x).argmax(axis=1) == y)) if len(y) else 0.0
