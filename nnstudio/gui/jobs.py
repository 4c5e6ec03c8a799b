"""The one way core work runs off the UI thread, and reports back to it.

Work runs on a plain ``threading.Thread``. Whatever it reports (a training step,
an epoch, a progress fraction, a result) goes into a small buffer under a lock;
a QTimer on the UI thread drains the buffer at most ``max_hz`` times a second
and emits Qt signals. So however fast the work goes, the UI thread sees a few
dozen updates a second and only has to draw; and a failure on the thread is a
signal with a message, never a silent dead thread.

- :class:`Job` runs any function ``fn(ctx, *args)``; ``ctx`` (a :class:`JobContext`)
  lets it report progress, post results as they come, and notice cancellation.
  The Memory lab, the Draw page's fine-tuning and dataset downloads use it.
- :class:`TrainingWorker` runs a core :class:`~nnstudio.core.training.Trainer`, with
  buffers for its step losses and epochs. The after-epoch analysis (confusion
  matrix, mistakes) and the autosave also run on the training thread, so the
  window never freezes at an epoch boundary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from nnstudio.core.training import ClassificationReport, Trainer, classification_report, gradient_rms


class _Bridge(QObject):
    """A background thread plus a UI-thread timer that drains what it buffered (subclasses say what)."""

    def __init__(self, parent=None, max_hz: float = 25.0):
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._active = False
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(1000 / max_hz)))
        self._timer.timeout.connect(self.flush)

    @property
    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start_thread(self, target: Callable, args: tuple, name: str) -> None:
        self._thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._active = True
        self._thread.start()
        self._timer.start()

    def _finish(self) -> None:
        """The thread's last news has been delivered (called by ``flush`` on the UI thread)."""
        self._timer.stop()
        self._active = False

    def flush(self) -> None:
        """Emit everything buffered since the last call (the timer calls this ``max_hz`` times a second)."""
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends (tests, shutdown), then deliver its last news; True if it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        if not self.thread_alive:
            self.flush()
        return not self._active


class JobContext:
    """What a job function gets, on its thread: report progress, post results, notice cancellation."""

    def __init__(self, job: Job):
        self._job = job
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._on_cancel: list[Callable[[], None]] = []

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled.is_set()

    def progress(self, payload: Any) -> None:
        """The newest progress (a fraction, a text, a tuple...): only the latest one reaches the UI."""
        with self._job._lock:
            self._job._progress = payload
            self._job._has_progress = True

    def post(self, payload: Any) -> None:
        """A result as it comes (every one reaches the UI, in order)."""
        with self._job._lock:
            self._job._posted.append(payload)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once when the job is cancelled, e.g. a trainer's ``stop``: on the thread that
        cancels (the UI thread), or at once on the job's thread if it was cancelled already.
        (Callbacks must be safe to call from either thread; ``Trainer.stop`` is.)"""
        with self._lock:
            run_now = self.is_cancelled
            if not run_now:
                self._on_cancel.append(callback)
        if run_now:
            callback()


class Job(_Bridge):
    """Runs one function at a time on a background thread: ``start(fn, *args)`` calls ``fn(ctx, *args)``.

    Signals (UI thread): ``progress(payload)`` at most ``max_hz`` times a second with the newest
    progress; ``posted(payload)`` for each result the job posted; then ``finished(result)`` with
    the function's return value, or ``failed(message)``; ``idle`` after either.
    """

    progress = Signal(object)
    posted = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    idle = Signal()

    def __init__(self, parent=None, max_hz: float = 20.0, name: str = "nnstudio-job"):
        super().__init__(parent, max_hz)
        self.name = name
        self.context: JobContext | None = None
        self._reset()

    def _reset(self) -> None:
        self._progress: Any = None
        self._has_progress = False
        self._posted: list = []
        self._outcome: tuple[str, Any] | None = None

    @property
    def busy(self) -> bool:
        """True from ``start`` until ``finished``/``failed`` has been emitted."""
        return self._active

    def start(self, fn: Callable, *args, **kwargs) -> bool:
        """Run ``fn(ctx, *args, **kwargs)`` on a new thread; False (and nothing started) if one is running."""
        if self._active:
            return False
        with self._lock:
            self._reset()
        ctx = self.context = JobContext(self)

        def run():
            try:
                outcome = ("finished", fn(ctx, *args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - reported in the window, never a silent dead thread
                outcome = ("failed", f"{type(exc).__name__}: {exc}")
            with self._lock:
                self._outcome = outcome

        self._start_thread(run, (), self.name)
        return True

    def cancel(self) -> None:
        """Ask the job to stop: its context's ``cancelled`` is set and its cancel callbacks run."""
        ctx = self.context
        if ctx is None or ctx.is_cancelled:
            return
        with ctx._lock:
            ctx.cancelled.set()
            callbacks, ctx._on_cancel = ctx._on_cancel, []
        for callback in callbacks:
            callback()

    def flush(self) -> None:
        with self._lock:
            progress, has_progress = self._progress, self._has_progress
            posted, outcome = self._posted, self._outcome
            self._has_progress, self._posted = False, []
            if outcome is not None:
                self._outcome = None
        if has_progress:
            self.progress.emit(progress)
        for payload in posted:
            self.posted.emit(payload)
        if outcome is not None:
            self._finish()
            kind, value = outcome
            (self.finished if kind == "finished" else self.failed).emit(value)
            self.idle.emit()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel and wait for the thread (window close)."""
        self.cancel()
        self.wait(timeout)
        self._timer.stop()


@dataclass
class StepBatch:
    """Steps that happened since the last UI update."""

    losses: np.ndarray  # one loss per optimizer step, in order
    first_step: int  # the 1-based step number of losses[0]
    last: object  # the newest StepInfo
    grad_steps: np.ndarray  # step numbers where gradient magnitudes were sampled
    grad_norms: np.ndarray  # (len(grad_steps), number of Dense layers): RMS of dL/dW


# The after-epoch analysis is core's ClassificationReport (confusion, mistakes, accuracy).
EpochAnalysis = ClassificationReport


class TrainingWorker(_Bridge):
    """Runs ``trainer.run()`` off the UI thread and reports back through throttled signals.

    The training thread's event callbacks only append to buffers under the lock;
    the UI thread drains them at most ``max_hz`` times a second (see :class:`_Bridge`).
    """

    steps = Signal(object)  # StepBatch
    epoch_done = Signal(object, object)  # EpochInfo, EpochAnalysis | None
    state_changed = Signal(str)  # "running", "paused", "stopped", "finished", "diverged"
    diverged = Signal(str)  # the trainer's explanation
    finished = Signal(str)  # the final state, once the thread has ended
    error = Signal(str)  # an unexpected exception on the training thread

    def __init__(self, parent=None, max_hz: float = 25.0, grad_every: int = 5):
        super().__init__(parent, max_hz)
        self.trainer: Trainer | None = None
        self.grad_every = max(1, int(grad_every))
        self._reset_buffers()
        self._analysis_data = None
        self._autosave = None

    def _reset_buffers(self) -> None:
        self._losses: list[float] = []
        self._first_step = 0
        self._last_step = None
        self._grad_steps: list[int] = []
        self._grad_norms: list[np.ndarray] = []
        self._epochs: list = []
        self._states: list[str] = []
        self._diverged: list[str] = []
        self._done: str | None = None
        self._errors: list[str] = []

    # -- control (UI thread) -------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from start() until ``finished`` has been emitted (running or paused)."""
        return self._active

    def start(self, trainer: Trainer, epochs: int | None = None, analysis_data=None, autosave=None) -> None:
        """Start ``trainer.run(epochs)`` on a new thread.

        ``analysis_data`` = (x_test, y_test, class_names) enables the per-epoch confusion
        matrix; ``autosave(trainer)`` is called on the training thread after each epoch.
        """
        if self._thread is not None and not self.running:
            self._thread.join(2.0)  # a finished run's thread may still be returning
        if self.running or self.thread_alive:
            raise RuntimeError("training is already running")
        if self.trainer is not None:
            self._disconnect(self.trainer)
        self.trainer = trainer
        self._analysis_data = analysis_data
        self._autosave = autosave
        with self._lock:
            self._reset_buffers()
        trainer.events.connect("step", self._on_step)
        trainer.events.connect("epoch", self._on_epoch)
        trainer.events.connect("state", self._on_state)
        trainer.events.connect("diverged", self._on_diverged)
        self._start_thread(self._run, (trainer, epochs), "nnstudio-training")

    def pause(self) -> None:
        if self.trainer is not None:
            self.trainer.pause()

    def resume(self) -> None:
        if self.trainer is not None:
            self.trainer.resume()

    def step(self, n: int = 1) -> None:
        if self.trainer is not None:
            self.trainer.step(n)

    def stop(self, wait: float | None = 5.0) -> None:
        """Ask the trainer to stop after the current batch; optionally wait for the thread."""
        if self.trainer is not None:
            self.trainer.stop()
        if wait is not None:
            self.wait(wait)

    def set_learning_rate(self, lr: float) -> None:
        """Takes effect at the next optimizer step (under the cosine schedule: the new base rate)."""
        if self.trainer is not None:
            self.trainer.set_lr(lr)

    def set_momentum(self, momentum: float) -> None:
        t = self.trainer
        if t is not None and getattr(t.optimizer, "velocity", None) is not None:
            t.optimizer.momentum = float(momentum)

    # -- the training thread --------------------------------------------------------
    def _run(self, trainer: Trainer, epochs) -> None:
        try:
            trainer.run(epochs)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a silent dead thread
            with self._lock:
                self._errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._done = trainer.state

    def _on_step(self, info) -> None:
        grads = None
        if info.step % self.grad_every == 0 or info.batch == 1:
            grads = gradient_rms(self.trainer.network)
        with self._lock:
            if not self._losses:
                self._first_step = info.step
            self._losses.append(info.loss)
            self._last_step = info
            if grads is not None:
                self._grad_steps.append(info.step)
                self._grad_norms.append(grads)

    def _on_epoch(self, info) -> None:
        analysis = None
        if self._analysis_data is not None:
            x, y, names = self._analysis_data
            analysis = classification_report(self.trainer.network, x, y, names)
        if self._autosave is not None:
            try:
                self._autosave(self.trainer)
            except OSError:
                pass  # autosave is best effort; a full disk must not kill the run
        with self._lock:
            self._epochs.append((info, analysis))

    def _on_state(self, state: str) -> None:
        with self._lock:
            self._states.append(state)

    def _on_diverged(self, message: str) -> None:
        with self._lock:
            self._diverged.append(message)

    # -- UI thread: drain and emit ---------------------------------------------------
    def flush(self) -> None:
        """Emit everything buffered since the last call (the timer calls this ~25 times a second)."""
        with self._lock:
            losses, first, last = self._losses, self._first_step, self._last_step
            grad_steps, grad_norms = self._grad_steps, self._grad_norms
            epochs, states, diverged, errors = self._epochs, self._states, self._diverged, self._errors
            done = self._done
            self._losses, self._grad_steps, self._grad_norms = [], [], []
            self._epochs, self._states, self._diverged, self._errors = [], [], [], []
            self._done = None
        if losses:
            norms = np.vstack(grad_norms) if grad_norms else np.zeros((0, 0))
            self.steps.emit(StepBatch(np.asarray(losses), first, last, np.asarray(grad_steps, dtype=np.int64), norms))
        for info, analysis in epochs:
            self.epoch_done.emit(info, analysis)
        for message in diverged:
            self.diverged.emit(message)
        for message in errors:
            self.error.emit(message)
        if states:
            self.state_changed.emit(states[-1])
        if done is not None:
            self._finish()
            self.finished.emit(done)

    def _disconnect(self, trainer: Trainer) -> None:
        for name, fn in (
            ("step", self._on_step),
            ("epoch", self._on_epoch),
            ("state", self._on_state),
            ("diverged", self._on_diverged),
        ):
            trainer.events.disconnect(name, fn)

    def shutdown(self) -> None:
        """Stop training and wait for the thread (window close)."""
        self.stop(wait=10.0)
        self._timer.stop()
