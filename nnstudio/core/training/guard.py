"""The training guard: notice a run going bad before the loss is NaN, and keep the best weights seen.

A learning rate or momentum far too high rarely ends in NaN at once: a good model's loss climbs,
its accuracy falls to chance, and the run goes on "training" a wreck. The guard watches three things:

- **the smoothed training loss** (an exponential moving average of the batch losses): when it
  stays far above the best smoothed value of this run (more than ``factor`` x best + ``margin``)
  for ``patience`` steps in a row, the run has collapsed;
- **the test accuracy after each epoch** (or the test loss, without labels): a fall of more than
  ``accuracy_drop`` below the best of the run (or of the model the run started from), on a test
  set of at least ``min_test`` examples;
- a **NaN or infinite loss**.

Whatever trips it, the trainer stops and the guard puts back the **best weights seen**, with their
optimizer state. To know which weights were best it scores the network every ``every`` steps on a
fixed probe of training examples (the same ``probe`` rows each time, so scores compare exactly, and
they measure the weights at that step, not the drift after it), and copies weights and optimizer
state into its one snapshot whenever the score is within ``tolerance`` of the best so far. The memory
cost is one copy of the parameters and optimizer state (``Trainer.SNAPSHOTS``) plus the probe rows; the
time cost is one forward pass over ``probe`` examples every ``every`` steps (for the defaults and batches of
128: the forward work of two batches every 25 steps).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from nnstudio.core.nn.losses import Loss
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Optimizer


@dataclass
class Collapse:
    """What tripped the guard, and what it did about it (JSON-able with :meth:`to_dict`)."""

    kind: str  # "nan" (the loss became NaN/inf), "loss" (smoothed loss far above its best), "accuracy"
    step: int  # optimizer steps done when it tripped
    epoch: int  # the 1-based epoch it happened in
    batch: int | None  # the batch within that epoch (None: noticed after the epoch)
    observed: float  # the value that tripped it: the loss, the smoothed loss or the test accuracy
    best: float | None  # the best value it was compared with
    restored_step: int | None  # the weights are those after this step (None: nothing was restored)
    restored_loss: float | None  # their loss on the probe examples
    message: str  # the whole story in plain words, with what to try

    def to_dict(self) -> dict:
        return asdict(self)


def advice(optimizer: Optimizer) -> str:
    """What to try, for this optimizer and its settings."""
    lr = float(getattr(optimizer, "lr", 0.0))
    tips = [f"a smaller learning rate (now {lr:g}; try {lr / 10:g})"]
    momentum = getattr(optimizer, "momentum", None)
    if getattr(optimizer, "velocity", None) is not None and momentum is not None and momentum > 0.95:
        tips.append(f"less momentum (now {momentum:g}; 0.9 is the usual value)")
    if getattr(optimizer, "kind", "") != "Adam":
        tips.append("or Adam, which adapts its step size")
    elif lr > 0.01:
        tips.append("Adam usually works best near 0.001")
    return "Try " + ", ".join(tips) + "."


class TrainingGuard:
    """Watches a run for collapse and keeps the best weights; a :class:`Trainer` drives it.

    One guard serves one trainer; :meth:`begin` is called at the start of each ``run()``.
    """

    def __init__(
        self,
        factor: float = 2.0,
        margin: float = 0.25,
        patience: int = 30,
        smoothing: float = 0.9,
        warmup: int = 10,
        accuracy_drop: float = 0.15,
        every: int = 25,
        probe: int = 256,
        tolerance: float = 0.02,
        watch: bool = True,
        min_test: int = 500,
    ):
        self.watch = bool(watch)  # False: only a NaN/inf loss stops the run (the best weights are still kept)
        self.factor, self.margin, self.patience = float(factor), float(margin), int(patience)
        self.smoothing, self.warmup = float(smoothing), int(warmup)
        self.accuracy_drop = float(accuracy_drop)
        # a test set this small swings by more than accuracy_drop on its own (20 of your own digits): not judged
        self.min_test = int(min_test)
        self.every, self.probe_size, self.tolerance = max(1, int(every)), int(probe), float(tolerance)
        self.collapse: Collapse | None = None
        self._snapshot: list[np.ndarray] | None = None
        self._snapshot_step = 0
        self._snapshot_opt_steps = 0
        self._snapshot_score = math.inf
        self._best_score = math.inf
        self._probe: tuple[np.ndarray, np.ndarray] | None = None
        self._probe_step = 0
        self._reset_watch()

    def _reset_watch(self) -> None:
        self._ema, self._t = 0.0, 0
        self.smoothed: float | None = None  # the debiased moving average of this run's batch losses
        self.best_smoothed = math.inf
        self._over = 0  # steps in a row above the threshold
        self._best_test: float | None = None
        self._best_test_loss: float | None = None

    # -- set-up ------------------------------------------------------------------------------
    def begin(
        self,
        network: Sequential,
        optimizer: Optimizer,
        loss: Loss,
        x: np.ndarray,
        y: np.ndarray,
        seed,
        step: int,
        last_epoch: dict | None,
        arrays: Callable[[], list[np.ndarray]],
    ) -> None:
        """A run starts at ``step``: score and keep the weights it starts from."""
        self.network, self.optimizer, self.loss, self._arrays = network, optimizer, loss, arrays
        self.collapse = None
        self._reset_watch()
        if self._probe is None or len(self._probe[0]) != min(self.probe_size, len(x)):
            rows = np.sort(np.random.default_rng((seed, 0xB0B)).permutation(len(x))[: self.probe_size])
            self._probe = (x[rows], y[rows])
        if last_epoch:  # the model this run continues from: its accuracy is the bar
            self._best_test = last_epoch.get("test_accuracy")
            self._best_test_loss = last_epoch.get("test_loss")
        self._best_score = math.inf
        self._probe_step = step
        self._keep(step, self.score())

    def score(self) -> float:
        """The network's mean loss on the probe examples (no dropout); inf if not finite."""
        assert self._probe is not None, "begin() first"
        xp, yp = self._probe
        out = self.network.forward(xp, training=False)
        value = float(self.loss.forward(out, yp))
        self.network.clear_cache()
        return value if math.isfinite(value) else math.inf

    def _keep(self, step: int, score: float) -> None:
        arrays = self._arrays()
        if self._snapshot is None or len(self._snapshot) != len(arrays):
            self._snapshot = [a.copy() for a in arrays]
        else:
            for dst, src in zip(self._snapshot, arrays):
                np.copyto(dst, src)
        self._snapshot_step, self._snapshot_opt_steps, self._snapshot_score = step, self.optimizer.steps, score
        self._best_score = min(self._best_score, score)

    @property
    def snapshot_bytes(self) -> int:
        """What the kept weights and optimizer state cost in memory."""
        return sum(a.nbytes for a in self._snapshot) if self._snapshot is not None else 0

    @property
    def kept_step(self) -> int:
        """The step whose weights the guard would restore."""
        return self._snapshot_step

    @property
    def healthy(self) -> bool:
        """False once tripped, or while the smoothed loss is above the collapse threshold (autosave waits)."""
        return self.collapse is None and self._over == 0

    # -- during the run (the trainer calls these) ----------------------------------------
    def after_step(self, step: int, loss: float) -> str | None:
        """A finite batch loss; returns the trip reason ("loss") when the run has collapsed."""
        w = self.smoothing
        self._t += 1
        self._ema = self._ema * w + (1 - w) * loss
        self.smoothed = self._ema / (1 - w**self._t)
        if self._t > self.warmup or self.best_smoothed == math.inf:
            self.best_smoothed = min(self.best_smoothed, self.smoothed)
        if self.watch and self.smoothed > self.threshold:
            self._over += 1
            if self._over >= self.patience:
                return "loss"
        else:
            self._over = 0
        if step - self._probe_step >= self.every:
            self._probe_step = step
            score = self.score()
            if score <= self._best_score * (1 + self.tolerance) + 1e-12:
                self._keep(step, score)
        return None

    @property
    def threshold(self) -> float:
        return self.factor * self.best_smoothed + self.margin

    def after_epoch(self, test_accuracy: float | None, test_loss: float | None, n_test: int = 10_000) -> str | None:
        """The test metrics after an epoch (on ``n_test`` examples); returns "accuracy" when they collapsed."""
        if not self.watch or n_test < self.min_test:
            return None
        if test_accuracy is not None:
            if self._best_test is not None and test_accuracy < self._best_test - self.accuracy_drop:
                return "accuracy"
            self._best_test = max(test_accuracy, self._best_test or 0.0)
        elif test_loss is not None:
            best = self._best_test_loss
            if best is not None and (not math.isfinite(test_loss) or test_loss > self.factor * best + self.margin):
                return "accuracy"
            self._best_test_loss = test_loss if best is None else min(best, test_loss)
        return None

    # -- tripped ---------------------------------------------------------------------------
    def restore(self) -> int:
        """Put back the best weights and their optimizer state; returns the step they are from."""
        if self._snapshot is not None:
            for dst, src in zip(self._arrays(), self._snapshot):
                np.copyto(dst, src)
            self.optimizer.steps = self._snapshot_opt_steps
        return self._snapshot_step

    def trip(
        self, kind: str, step: int, epoch: int, batch: int | None, observed: float, restore: bool = True
    ) -> Collapse:
        """Record the collapse, restore the best weights (unless told not to) and explain."""
        lr = float(getattr(self.optimizer, "lr", 0.0))
        where = f"at epoch {epoch}, batch {batch} (step {step})" if batch else f"after epoch {epoch} (step {step})"
        if kind == "nan":
            what = f"the loss became {observed} {where}: training diverged"
            best = None
        elif kind == "loss":
            best = self.best_smoothed
            what = (
                f"the smoothed training loss rose to {observed:.3g} {where}, more than {self.factor:g} x its best "
                f"({best:.3g}) + {self.margin:g} for {self.patience} steps in a row: the run was falling apart"
            )
        else:
            best = self._best_test if self._best_test is not None else self._best_test_loss
            if self._best_test is not None:
                what = (
                    f"the test accuracy fell to {observed:.2%} {where}, from {self._best_test:.2%}: "
                    f"the run was falling apart"
                )
            else:
                what = f"the test loss rose to {observed:.3g} {where}, from {best:.3g}: the run was falling apart"
        restored = restored_loss = None
        if restore and self._snapshot is not None:
            restored = self.restore()
            restored_loss = self._snapshot_score
            kept = (
                f"The weights were rolled back to the best seen, after step {restored} "
                f"(loss {restored_loss:.3g} on a sample of the training set)."
            )
        else:
            kept = "The weights were left as they were when it stopped."
        message = f"Training stopped: {what} (learning rate {lr:g}). {kept} {advice(self.optimizer)}"
        self.collapse = Collapse(kind, step, epoch, batch, float(observed), best, restored, restored_loss, message)
        return self.collapse
