"""The training loop: one Trainer drives any network.

The Trainer is thread-safe to *control* (pause/resume/step/stop, a new learning
rate, from another thread) while :meth:`Trainer.run` executes on a worker thread.
It publishes what happens through :class:`~nnstudio.core.training.events.Events`:

- ``"step"``: :class:`StepInfo` after every optimizer step
- ``"epoch"``: :class:`EpochInfo` after every epoch (with test metrics)
- ``"state"``: the new state name ("running", "paused", "stopped", "finished", "diverged")
- ``"diverged"``: a message string when the guard stopped the run (:mod:`.guard`): the loss became
  NaN/inf, or the run collapsed before that; :attr:`Trainer.collapse` has the details and the
  best weights seen are back in the network
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass

import numpy as np

from nnstudio.core.limits import check as check_limit
from nnstudio.core.nn.losses import Loss, SoftmaxCrossEntropy
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Optimizer
from nnstudio.core.nn.schedules import CosineAnnealingLR

from .events import Events
from .guard import Collapse, TrainingGuard
from .series import DEFAULT_CAPACITY, DecimatedSeries

EVENTS = ("step", "epoch", "state", "diverged")


@dataclass
class StepInfo:
    step: int  # optimizer steps since the trainer was made (1-based)
    epoch: int  # 1-based epoch this step belongs to
    batch: int  # 1-based batch within the epoch
    batches_per_epoch: int
    loss: float
    accuracy: float | None  # on this batch (classification only)
    samples_per_sec: float  # averaged over the current epoch so far, pauses excluded
    lr: float

    @property
    def epoch_progress(self) -> float:
        return self.batch / self.batches_per_epoch


@dataclass
class EpochInfo:
    epoch: int
    train_loss: float
    train_accuracy: float | None
    test_loss: float | None
    test_accuracy: float | None
    seconds: float
    samples_per_sec: float


class History:
    """Everything a chart needs to redraw a run; saved with the model.

    The step losses live in a :class:`~nnstudio.core.training.series.DecimatedSeries`: a fixed
    memory budget however long the session runs (the newest steps at full resolution, older ones
    merged pairwise). ``step_loss`` are the stored values, ``step_index`` their step numbers
    (1-based), ``steps`` how many optimizer steps the history covers.
    """

    def __init__(
        self,
        step_loss=None,
        epochs: list[dict] | None = None,
        step_index=None,
        capacity: int = DEFAULT_CAPACITY,
    ):
        self.loss = DecimatedSeries(capacity)
        self.epochs: list[dict] = list(epochs or [])
        self.steps = 0
        values = np.asarray(step_loss if step_loss is not None else [], dtype=np.float64).ravel()
        if len(values):
            index = None if step_index is None else np.asarray(step_index, dtype=np.float64).ravel()
            if index is None or len(index) != len(values) or not np.all(np.isfinite(index)):
                index = np.arange(1, len(values) + 1, dtype=np.float64)
            self.loss.extend(index, values)
            self.steps = int(round(index[-1]))

    @property
    def step_loss(self) -> np.ndarray:
        return self.loss.y

    @property
    def step_index(self) -> np.ndarray:
        return self.loss.x

    def add_step(self, loss: float) -> None:
        self.steps += 1
        self.loss.append(self.steps, loss)

    def to_dict(self) -> dict:
        x, y = self.loss.view()
        d: dict = {"step_loss": y.tolist(), "epochs": list(self.epochs)}
        if not np.array_equal(x, np.arange(1, len(x) + 1)):
            d["step_index"] = x.tolist()  # older steps were merged: where each point is
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> History:
        d = d or {}
        return cls(d.get("step_loss", []), list(d.get("epochs", [])), d.get("step_index"))


def evaluate(
    network: Sequential, x: np.ndarray, y: np.ndarray, loss: Loss | None = None, batch_size: int = 2048
) -> tuple[float, float | None]:
    """Mean loss and (for integer labels) accuracy of ``network`` on ``(x, y)``."""
    loss = loss or SoftmaxCrossEntropy()
    total, correct, n = 0.0, 0, len(x)
    for i in range(0, n, batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        out = network.forward(xb, training=False)
        total += loss.forward(out, yb) * len(xb)
        if yb.ndim == 1:
            correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
    network.clear_cache()
    return total / max(n, 1), (correct / n if y.ndim == 1 and n else None)


class Trainer:
    """Mini-batch training with seeded shuffling, events and run control.

    ``train`` and ``test`` are ``(x, y)`` pairs; ``x`` float32 of shape (N, features),
    ``y`` integer labels (N,) for classification or targets (N, k) for regression.

    ``history`` continues an earlier run (one opened from a model file, or the
    previous press of Train): its epochs and steps are kept, and numbering goes on
    from them. ``cosine`` decays the learning rate over this trainer's ``epochs``.
    """

    # How many copies of the weights and optimizer state the guard keeps: the best seen
    # (memory estimates count them).
    SNAPSHOTS = 1

    def __init__(
        self,
        network: Sequential,
        optimizer: Optimizer,
        train: tuple[np.ndarray, np.ndarray],
        test: tuple[np.ndarray, np.ndarray] | None = None,
        loss: Loss | None = None,
        batch_size: int = 128,
        epochs: int = 5,
        seed: int = 0,
        cosine: bool = False,
        snapshot_every: int = 25,
        start_paused: bool = False,
        history: History | None = None,
        guard: TrainingGuard | bool = True,
    ):
        x, y = train
        if len(x) != len(y) or len(x) == 0:
            raise ValueError("training data is empty or x and y differ in length")
        if not (isinstance(batch_size, (int, np.integer)) and 1 <= batch_size <= len(x)):
            raise ValueError(f"batch size must be between 1 and {len(x)}, got {batch_size}")
        if not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
            raise ValueError(f"epochs must be a positive whole number, got {epochs}")
        self.network, self.optimizer = network, optimizer
        self.loss = loss or SoftmaxCrossEntropy()
        self.x, self.y = x, y
        self.test = test
        self.batch_size, self.epochs, self.seed = int(batch_size), int(epochs), seed
        self.batches_per_epoch = math.ceil(len(x) / self.batch_size)
        self.schedule = CosineAnnealingLR(optimizer, self.epochs * self.batches_per_epoch) if cosine else None
        self.events = Events(EVENTS)
        self.history = history if history is not None else History()
        self.step_count = self.history.steps  # optimizer steps so far, this run and earlier ones
        self.epoch = len(self.history.epochs)  # completed epochs
        self.state = "idle"
        self.message = ""
        # guard=False still stops on a NaN loss and keeps the best weights; it only stops watching for collapse
        self.guard = guard if isinstance(guard, TrainingGuard) else TrainingGuard(watch=bool(guard))
        self.guard.every = max(1, int(snapshot_every))
        self.collapse: Collapse | None = None
        self._cond = threading.Condition()
        self._paused = bool(start_paused)
        self._running = False  # run() is executing
        self._parked = False  # run() is waiting in the pause gate
        self._stop = False
        self._steps_allowed = 0
        self._paused_seconds = 0.0

    # -- control (any thread) -----------------------------------------------------
    @property
    def snapshot_every(self) -> int:
        """Steps between the guard's looks at the weights (it keeps the best)."""
        return self.guard.every

    @snapshot_every.setter
    def snapshot_every(self, n: int) -> None:
        self.guard.every = max(1, int(n))

    def pause(self, wait: bool = False, timeout: float | None = 10.0) -> bool:
        """Pause before the next batch (single steps still allowed by :meth:`step` are cancelled).
        With ``wait``, return only once the batch in flight has finished (so the weights, optimizer
        state and history are a consistent snapshot, e.g. to save them). Returns False if waiting
        timed out."""
        with self._cond:
            self._paused = True
            self._steps_allowed = 0
            if wait:
                done = self._cond.wait_for(lambda: self._parked or not self._running, timeout)
            else:
                done = True
        self._set_state("paused")
        return bool(done)

    def resume(self) -> None:
        """Run freely again (single steps still allowed by :meth:`step` are dropped: a later
        :meth:`pause` pauses at once)."""
        with self._cond:
            self._paused = False
            self._steps_allowed = 0
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """While paused, let exactly ``n`` more batches run, then pause again."""
        with self._cond:
            self._paused = True
            self._steps_allowed += n
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop after the batch in flight. Called before :meth:`run` has started (the window starts it on
        a new thread), the stop waits for it: that run stops before its first batch."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def set_lr(self, lr: float) -> None:
        """A new learning rate, from the next step on. Under the cosine schedule it is the new
        *base* rate: the decay continues from where it is, on the new curve."""
        lr = check_limit("lr", lr)
        if self.schedule is not None:
            self.schedule.set_base_lr(lr)
        else:
            self.optimizer.lr = lr

    @property
    def base_lr(self) -> float:
        """The rate the user chose (the optimizer's current ``lr`` is the decayed one under a schedule)."""
        return self.schedule.base_lr if self.schedule is not None else self.optimizer.lr

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.events.emit("state", state)

    def _gate(self) -> bool:
        """Block while paused; return False when training should stop."""
        with self._cond:
            if self._paused and self._steps_allowed == 0 and not self._stop:
                self._set_state("paused")
                waited = time.perf_counter()
                self._parked = True
                self._cond.notify_all()  # pause(wait=True) returns now
                while self._paused and self._steps_allowed == 0 and not self._stop:
                    self._cond.wait()
                self._parked = False
                # time spent paused is not training time: keep samples/s honest
                self._paused_seconds += time.perf_counter() - waited
            if self._stop:
                return False
            if self._paused:
                self._steps_allowed -= 1
        self._set_state("running")
        return True

    # -- the guard ---------------------------------------------------------------------
    def _arrays(self) -> list[np.ndarray]:
        """What the guard's snapshot holds: the weights and the optimizer state."""
        return [p.data for p in self.network.parameters()] + self.optimizer.state_buffers()

    # -- the loop ------------------------------------------------------------------
    def train_batch(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, np.ndarray]:
        """One forward/backward/update. Returns the loss and the network output.

        Subclasses (checkpointing, mixed precision) override this one method.
        """
        out = self.network.forward(xb, training=True)
        loss = self.loss.forward(out, yb)
        if not math.isfinite(loss):
            return loss, out
        self.network.backward(self.loss.backward(), need_input_grad=False)
        self.optimizer.step()
        return loss, out

    def run(self, epochs: int | None = None) -> History:
        """Train for ``epochs`` (default: the constructor's) more epochs. Blocks until done/stopped."""
        epochs = self.epochs if epochs is None else int(epochs)
        with self._cond:
            self._running = True  # a stop() that came before this call is kept: the run stops at once
        try:
            return self._run(epochs)
        finally:
            with self._cond:
                self._running = False
                self._stop = False  # consumed: a later run() starts afresh
                self._cond.notify_all()

    def _run(self, epochs: int) -> History:
        self.collapse = None
        self.message = ""
        last_epoch = self.history.epochs[-1] if self.history.epochs else None
        self.guard.begin(
            self.network,
            self.optimizer,
            self.loss,
            self.x,
            self.y,
            self.seed,
            self.step_count,
            last_epoch,
            self._arrays,
        )
        x, y, bs = self.x, self.y, self.batch_size
        n = len(x)
        classification = y.ndim == 1
        for _ in range(epochs):
            epoch = self.epoch + 1
            rng = np.random.default_rng((self.seed, epoch))
            order = rng.permutation(n)
            t0 = time.perf_counter()
            self._paused_seconds = 0.0
            seen, loss_sum, correct = 0, 0.0, 0
            for b in range(self.batches_per_epoch):
                if not self._gate():
                    self._set_state("stopped")
                    return self.history
                idx = order[b * bs : (b + 1) * bs]
                xb, yb = x[idx], y[idx]
                loss, out = self.train_batch(xb, yb)
                if not math.isfinite(loss):
                    self._tripped("nan", epoch, b + 1, loss)
                    return self.history
                self.step_count += 1
                if self.schedule is not None:
                    self.schedule.step()
                self.history.add_step(loss)
                if self.guard.after_step(self.step_count, loss):
                    self._tripped("loss", epoch, b + 1, self.guard.smoothed)
                    return self.history
                m = len(idx)
                seen += m
                loss_sum += loss * m
                acc = None
                if classification:
                    hits = int(np.count_nonzero(out.argmax(axis=1) == yb))
                    correct += hits
                    acc = hits / m
                if self.events.has_listeners("step"):
                    elapsed = time.perf_counter() - t0 - self._paused_seconds
                    self.events.emit(
                        "step",
                        StepInfo(
                            self.step_count,
                            epoch,
                            b + 1,
                            self.batches_per_epoch,
                            loss,
                            acc,
                            seen / elapsed if elapsed > 0 else 0.0,
                            self.optimizer.lr,
                        ),
                    )
            seconds = time.perf_counter() - t0 - self._paused_seconds
            self.network.clear_cache()
            test_loss = test_acc = None
            if self.test is not None:
                test_loss, test_acc = evaluate(self.network, *self.test, loss=self.loss)
                if self.guard.after_epoch(test_acc, test_loss, len(self.test[0])):
                    # the collapsed epoch is not recorded: the weights go back to the best ones
                    self._tripped("accuracy", epoch, None, test_acc if test_acc is not None else test_loss)
                    return self.history
            self.epoch = epoch
            info = EpochInfo(
                epoch,
                loss_sum / seen,
                correct / seen if classification else None,
                test_loss,
                test_acc,
                seconds,
                seen / seconds if seconds > 0 else 0.0,
            )
            self.history.epochs.append(asdict(info))
            self.events.emit("epoch", info)
        self._set_state("finished")
        return self.history

    def _tripped(self, kind: str, epoch: int, batch: int | None, observed) -> None:
        """The guard tripped: restore the best weights, explain, stop."""
        self.collapse = self.guard.trip(kind, self.step_count, epoch, batch, float(observed))
        self.message = self.collapse.message
        self.events.emit("diverged", self.message)
        self._set_state("diverged")
