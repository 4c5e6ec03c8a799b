"""Recording a run: subscribe to a Trainer's events and write what happened into the run store.

``record_run(trainer, config, "cli")`` is all a surface needs. The recorder listens only to the
``epoch``, ``state`` and ``diverged`` events (never ``step``: the trainer builds no per-step
objects for it), reads the step losses the trainer keeps anyway at each epoch's end, and commits
each epoch as it ends. A store that cannot be written never stops training: the recorder says
so in one line and goes quiet.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence

import numpy as np

from nnstudio.core.training.config import RunConfig
from nnstudio.core.training.trainer import EpochInfo, Trainer

from .store import ENDINGS, RunStore, RunStoreError, say_on_stderr

CURVE_POINTS = 512  # the stored loss curve never has more points than this


class LossCurve:
    """A loss curve decimated as it grows: bucket means, at most ``size`` of them.

    Each stored value is the mean loss of ``every`` consecutive steps; when the list is full,
    neighbouring buckets are merged (``every`` doubles), so any run, however long, keeps
    between ``size / 2`` and ``size`` points covering all of it.
    """

    def __init__(self, size: int = CURVE_POINTS):
        if size < 2 or size % 2:
            raise ValueError("the curve size must be an even number >= 2")
        self.size = size
        self.every = 1
        self.values: list[float] = []
        self._sum = 0.0  # the bucket being filled
        self._n = 0

    def extend(self, losses: Sequence[float] | np.ndarray) -> None:
        arr = np.asarray(losses, dtype=np.float64)
        i, n = 0, len(arr)
        while i < n:
            if self._n == 0 and n - i >= self.every:
                # whole buckets at once, as many as fit before the next merge
                m = min((n - i) // self.every, self.size - len(self.values))
                chunk = arr[i : i + m * self.every].reshape(m, self.every).mean(axis=1)
                self.values.extend(float(v) for v in chunk)
                i += m * self.every
            else:
                take = min(self.every - self._n, n - i)
                self._sum += float(arr[i : i + take].sum())
                self._n += take
                i += take
                if self._n == self.every:
                    self.values.append(self._sum / self.every)
                    self._sum, self._n = 0.0, 0
            if len(self.values) >= self.size:
                v = np.asarray(self.values)
                self.values = [float(x) for x in v.reshape(-1, 2).mean(axis=1)]
                self.every *= 2

    def to_dict(self) -> dict:
        values = list(self.values)
        if self._n:  # the last, partly filled bucket (its x position is approximate)
            values.append(self._sum / self._n)
        return {"every": self.every, "values": values}


class RunRecorder:
    """Records one run of ``trainer`` (the epochs it is about to train) into ``store``."""

    def __init__(
        self,
        trainer: Trainer,
        config: RunConfig,
        source: str,
        store: RunStore | None = None,
        dataset: str | None = None,
        notice: Callable[[str], None] | None = None,
    ):
        self.trainer = trainer
        self.run_id: int | None = None
        self.status: str | None = None
        self._notice = notice
        self._step0 = self._seen = trainer.history.steps  # counted in optimizer steps, not stored points
        self.curve = LossCurve()
        self.train_seconds = 0.0
        self.samples = 0.0
        self._diverged = ""
        hyper = config.to_hyperparameters()
        hyper["batch_size"] = trainer.batch_size  # what was used (a budget or a small dataset may lower it)
        try:
            self.store = store if store is not None else RunStore(notice=notice)
            self.run_id = self.store.begin_run(
                source,
                dataset or config.dataset,
                trainer.network.sizes(),
                hyper,
                trainer.batches_per_epoch,
                first_epoch=trainer.epoch + 1,
            )
        except (sqlite3.Error, RunStoreError, OSError) as exc:
            self._fail(exc)
            return
        trainer.events.connect("epoch", self._on_epoch)
        trainer.events.connect("state", self._on_state)
        trainer.events.connect("diverged", self._on_diverged)

    @property
    def recording(self) -> bool:
        return self.run_id is not None

    def _fail(self, exc: BaseException) -> None:
        self.run_id = None
        line = f"this run is not recorded: the runs database failed ({exc})"
        (self._notice or say_on_stderr)(line)

    def _take_losses(self) -> None:
        history = self.trainer.history
        if history.steps > self._seen:
            # The history has a fixed size: in a long run its older steps are merged. Take the points after
            # the last step seen, a merged point counted once per step it stands for.
            loss = history.loss
            new = loss.x > self._seen
            self.curve.extend(np.repeat(loss.y[new], loss.weights[new].astype(np.int64)))
            self._seen = history.steps

    @property
    def steps(self) -> int:
        return self._seen - self._step0

    def _on_epoch(self, info: EpochInfo) -> None:
        if self.run_id is None:
            return
        self._take_losses()
        self.train_seconds += info.seconds
        self.samples += info.samples_per_sec * info.seconds
        rate = self.samples / self.train_seconds if self.train_seconds > 0 else 0.0
        epoch = {
            "epoch": info.epoch,
            "train_loss": info.train_loss,
            "train_accuracy": info.train_accuracy,
            "test_loss": info.test_loss,
            "test_accuracy": info.test_accuracy,
            "seconds": info.seconds,
            "samples_per_sec": info.samples_per_sec,
        }
        try:
            self.store.add_epoch(self.run_id, epoch, self.steps, self.curve.to_dict(), self.train_seconds, rate)
        except sqlite3.Error as exc:
            self._fail(exc)

    def _on_diverged(self, message: str) -> None:
        self._diverged = str(message)

    def _on_state(self, state: str) -> None:
        if state not in ENDINGS or self.status is not None:
            return
        # a guard that reports divergence and then stops the run still makes a diverged run
        self.status = "diverged" if self._diverged else state
        if self.run_id is None:
            return
        self._take_losses()
        try:
            if self.steps == 0 and self.status == "stopped":
                self.store.delete([self.run_id])  # stopped before a single step: nothing to remember
                self.run_id = None
            else:
                message = self._diverged or self.trainer.message
                self.store.end_run(self.run_id, self.status, message, self.steps, self.curve.to_dict())
        except sqlite3.Error as exc:
            self._fail(exc)

    def model_saved(self, path: str | os.PathLike) -> None:
        """The run's weights were saved to ``path``."""
        if self.run_id is None:
            return
        try:
            self.store.set_model(self.run_id, path)
        except sqlite3.Error as exc:
            self._fail(exc)

    def detach(self) -> None:
        for name, fn in (("epoch", self._on_epoch), ("state", self._on_state), ("diverged", self._on_diverged)):
            self.trainer.events.disconnect(name, fn)


def record_run(
    trainer: Trainer,
    config: RunConfig,
    source: str,
    store: RunStore | None = None,
    notice: Callable[[str], None] | None = None,
) -> RunRecorder:
    """Record ``trainer``'s coming run in the run store (the default one in the per-user folder)."""
    return RunRecorder(trainer, config, source, store=store, notice=notice)
