"""The bridge: a core Trainer or any job on a thread, throttled Qt signals, live hyperparameter changes, cancel."""

import threading
import time

import numpy as np
import pytest

from nnstudio.core.nn import Sequential, make_optimizer
from nnstudio.core.training import Trainer, classification_report
from nnstudio.gui.jobs import Job, TrainingWorker
from nnstudio.gui.widgets.training_charts import debiased_ema


def blobs(n=3000, seed=0):
    """Three separable Gaussian blobs in 20 dimensions: trains in milliseconds."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.normal(0, 3, (3, 20))
    x = (centres[y] + rng.normal(0, 1, (n, 20))).astype(np.float32)
    return x, y.astype(np.int64)


def make_trainer(lr=0.05, epochs=2, start_paused=False, batch_size=16, optimizer="momentum"):
    x, y = blobs()
    net = Sequential.mlp([20, 32, 3], "relu", seed=0)
    opt = make_optimizer(optimizer, net.parameters(), lr=lr)
    return Trainer(
        net,
        opt,
        (x[:2500], y[:2500]),
        (x[2500:], y[2500:]),
        batch_size=batch_size,
        epochs=epochs,
        seed=0,
        start_paused=start_paused,
    )


class Recorder:
    def __init__(self, worker):
        self.batches, self.epochs, self.states, self.diverged, self.finished = [], [], [], [], []
        worker.steps.connect(self.batches.append)
        worker.epoch_done.connect(lambda info, analysis: self.epochs.append((info, analysis)))
        worker.state_changed.connect(self.states.append)
        worker.diverged.connect(self.diverged.append)
        worker.finished.connect(self.finished.append)


def test_worker_delivers_every_step_in_few_throttled_signals(qtbot):
    trainer = make_trainer(epochs=3)
    worker = TrainingWorker()
    rec = Recorder(worker)
    x_test, y_test = trainer.test
    worker.start(trainer, analysis_data=(x_test, y_test, ["a", "b", "c"]))
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=30000)
    assert rec.finished == ["finished"]
    steps = 3 * trainer.batches_per_epoch
    losses = np.concatenate([b.losses for b in rec.batches])
    # every loss arrives, in order, exactly once ...
    assert len(losses) == steps
    np.testing.assert_array_equal(losses, trainer.history.step_loss)
    assert [b.first_step for b in rec.batches] == list(np.cumsum([0] + [len(b.losses) for b in rec.batches])[:-1] + 1)
    # ... batched into far fewer UI updates than steps
    assert len(rec.batches) < steps / 5
    # gradient magnitudes: one column per Dense layer, positive
    norms = np.vstack([b.grad_norms for b in rec.batches if b.grad_norms.size])
    assert norms.shape[1] == 2 and np.all(norms > 0)
    # an epoch analysis per epoch whose confusion matrix is the CLI's
    assert [info.epoch for info, _ in rec.epochs] == [1, 2, 3]
    cm = rec.epochs[-1][1].confusion
    report = classification_report(trainer.network, x_test, y_test, ["a", "b", "c"])
    np.testing.assert_array_equal(cm, report.confusion)
    assert cm.sum() == len(y_test)


def test_pause_step_resume_stop(qtbot):
    trainer = make_trainer(epochs=50, start_paused=True)
    worker = TrainingWorker()
    rec = Recorder(worker)
    worker.start(trainer)
    qtbot.waitUntil(lambda: trainer.state == "paused", timeout=5000)
    assert trainer.step_count == 0
    worker.step(3)
    qtbot.waitUntil(lambda: trainer.step_count == 3 and trainer.state == "paused", timeout=5000)
    qtbot.wait(100)
    assert trainer.step_count == 3  # it stays paused
    worker.resume()
    qtbot.waitUntil(lambda: trainer.step_count > 50, timeout=5000)
    worker.pause()
    qtbot.waitUntil(lambda: trainer.state == "paused", timeout=5000)
    qtbot.wait(50)  # the batch in flight when pause() was called finishes
    n = trainer.step_count
    qtbot.wait(150)
    assert trainer.step_count == n
    worker.stop()
    assert not worker.running
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=5000)
    assert rec.finished == ["stopped"]
    assert len(trainer.history.step_loss) == n


def test_learning_rate_and_momentum_change_while_training(qtbot):
    trainer = make_trainer(epochs=200, lr=0.05)
    worker = TrainingWorker()
    worker.start(trainer)
    qtbot.waitUntil(lambda: trainer.step_count > 10, timeout=5000)
    worker.set_learning_rate(0.001)
    worker.set_momentum(0.5)
    qtbot.waitUntil(lambda: trainer.step_count > 30, timeout=5000)
    assert trainer.optimizer.lr == 0.001 and trainer.optimizer.momentum == 0.5
    worker.stop()
    assert not worker.running


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_is_reported_and_weights_stay_finite(qtbot):
    trainer = make_trainer(lr=9.0, epochs=5, optimizer="sgd")
    trainer.x = trainer.x * 1e15  # absurd inputs: the first update blows the weights up
    worker = TrainingWorker()
    rec = Recorder(worker)
    worker.start(trainer)
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=10000)
    assert rec.finished == ["diverged"]
    assert rec.diverged and "learning rate" in rec.diverged[0]
    assert all(np.all(np.isfinite(p.data)) for p in trainer.network.parameters())
    assert trainer.step_count == len(trainer.history.step_loss) == 1


def test_epoch_analysis_mistakes_are_wrong_and_sorted_by_confidence():
    trainer = make_trainer(epochs=1)
    trainer.run()
    x, y = trainer.test
    y = y.copy()
    y[:40] = (y[:40] + 1) % 3  # plant mistakes
    a = classification_report(trainer.network, x, y, ["a", "b", "c"], n_mistakes=10)
    assert 0 < len(a.mistakes) <= 10
    confs = [m[3] for m in a.mistakes]
    assert confs == sorted(confs, reverse=True)
    for index, true, pred, _ in a.mistakes:
        assert true == y[index] and pred != true


def test_debiased_ema_matches_tensorboard_and_continues_incrementally():
    rng = np.random.default_rng(1)
    v = rng.random(200) + 1.0
    w = 0.6
    expected, last = [], 0.0
    for i, x in enumerate(v):
        last = last * w + (1 - w) * x
        expected.append(last / (1 - w ** (i + 1)))
    whole, _ = debiased_ema(v, w)
    np.testing.assert_allclose(whole, expected, rtol=1e-12)
    assert whole[0] == pytest.approx(v[0])  # debiased: no pull towards 0 at the start
    a, state = debiased_ema(v[:77], w)
    b, _ = debiased_ema(v[77:], w, state)
    np.testing.assert_allclose(np.concatenate([a, b]), whole, rtol=1e-12)


class JobRecorder:
    def __init__(self, job):
        self.progress, self.posted, self.finished, self.failed, self.idle = [], [], [], [], 0
        job.progress.connect(self.progress.append)
        job.posted.connect(self.posted.append)
        job.finished.connect(self.finished.append)
        job.failed.connect(self.failed.append)
        job.idle.connect(self._idle)

    def _idle(self):
        self.idle += 1


def test_job_coalesces_progress_and_posts_every_result_in_order(qtbot):
    def work(ctx, n):
        for i in range(n):
            ctx.progress(i)
            if i % 50 == 0:
                ctx.post(i)
                time.sleep(0.001)  # spread the work over several UI updates
        return "done"

    job = Job(max_hz=20)
    rec = JobRecorder(job)
    assert job.start(work, 10_000)
    assert job.busy
    qtbot.waitUntil(lambda: rec.idle == 1, timeout=20_000)
    assert rec.finished == ["done"] and rec.failed == [] and not job.busy
    # 10 000 progress calls reach the UI as a handful of signals: the newest each time, ending with the last
    assert 1 <= len(rec.progress) < 100
    assert rec.progress == sorted(rec.progress) and rec.progress[-1] == 9_999
    # every posted result arrives, once, in order
    assert rec.posted == list(range(0, 10_000, 50))


def test_job_failure_is_a_signal_with_the_message(qtbot):
    def work(ctx):
        ctx.post("before")
        raise ValueError("layer size must be positive")

    job = Job()
    rec = JobRecorder(job)
    job.start(work)
    qtbot.waitUntil(lambda: rec.idle == 1, timeout=5000)
    assert rec.failed == ["ValueError: layer size must be positive"]
    assert rec.finished == [] and rec.posted == ["before"] and not job.busy
    # and the job can run again
    job.start(lambda ctx: 42)
    qtbot.waitUntil(lambda: rec.idle == 2, timeout=5000)
    assert rec.finished == [42]


def test_job_cancel_runs_callbacks_on_the_ui_thread_and_the_work_ends(qtbot):
    ui_thread = threading.current_thread()
    stopped = []
    started = threading.Event()

    def work(ctx):
        ctx.on_cancel(lambda: stopped.append(("first", threading.current_thread())))
        started.set()
        if not ctx.cancelled.wait(10):
            return "never cancelled"
        ctx.on_cancel(lambda: stopped.append(("late", threading.current_thread())))  # runs at once
        return "cancelled"

    job = Job()
    rec = JobRecorder(job)
    job.start(work)
    assert started.wait(5)
    assert not job.start(work)  # one job at a time
    job.cancel()
    assert stopped[0] == ("first", ui_thread)
    qtbot.waitUntil(lambda: rec.idle == 1, timeout=5000)
    assert rec.finished == ["cancelled"] and [name for name, _ in stopped] == ["first", "late"]
    job.cancel()  # cancelling a finished job does nothing
    assert len(stopped) == 2
