"""The training guard: a run going bad is stopped before NaN, the best weights come back."""

import numpy as np
import pytest

from nnstudio.core.nn import SGD, Adam, Sequential
from nnstudio.core.training import History, Trainer, TrainingGuard, evaluate

from .test_trainer import blobs


def trained(epochs=3):
    """A small network trained to > 99% on three blobs, and the data."""
    x, y = blobs(2000)
    test = blobs(500, seed=1)
    net = Sequential.mlp([4, 32, 3], "relu", seed=0)
    t = Trainer(net, Adam(net.parameters(), lr=0.01), (x, y), test=test, batch_size=32, epochs=epochs)
    t.run()
    assert t.state == "finished" and t.history.epochs[-1]["test_accuracy"] > 0.99
    return net, t.history, (x, y), test


@pytest.mark.parametrize("lr, momentum", [(1.0, 0.999), (5.0, 0.0)])
def test_a_collapsing_run_is_stopped_before_nan_and_the_best_weights_come_back(lr, momentum):
    net, history, train, test = trained()
    start = history.steps
    before = evaluate(net, *test)[1]
    t = Trainer(
        net,
        SGD(net.parameters(), lr=lr, momentum=momentum),
        train,
        test=test,
        batch_size=32,
        epochs=5,
        history=History.from_dict(history.to_dict()),
    )
    t.run()
    assert t.state == "diverged"
    c = t.collapse
    assert c.kind == "loss"  # the smoothed loss, long before any NaN
    assert np.all(np.isfinite(t.history.step_loss))
    assert c.step < start + 5 * t.batches_per_epoch  # stopped before the run's end
    assert c.observed > 2 * c.best + 0.25
    assert c.restored_step is not None and start <= c.restored_step < c.step
    after = evaluate(net, *test)[1]
    assert after >= before - 0.01 and after > 0.98
    assert "learning rate" in t.message and f"{lr:g}" in t.message
    assert ("momentum" in t.message) == (momentum > 0.95)


def test_a_healthy_run_is_never_stopped():
    x, y = blobs(2000)
    net = Sequential.mlp([4, 32, 3], "relu", seed=0)
    t = Trainer(net, Adam(net.parameters(), lr=0.01), (x, y), test=blobs(500, seed=1), batch_size=32, epochs=6)
    t.run()
    assert t.state == "finished" and t.collapse is None and t.guard.healthy


class NanAtStep(Trainer):
    """A trainer whose loss is NaN at one step (what an overflow looks like to the loop)."""

    nan_step = 176

    def train_batch(self, xb, yb):
        loss, out = super().train_batch(xb, yb)
        return (float("nan"), out) if self.step_count + 1 == self.nan_step else (loss, out)


def test_nan_late_in_a_run_keeps_weights_from_a_few_steps_before_it():
    """Snapshots of the best weights are frequent: a NaN loses at most a couple of snapshot intervals."""
    x, y = blobs(2000)
    net = Sequential.mlp([4, 32, 3], "relu", seed=0)
    t = NanAtStep(
        net,
        Adam(net.parameters(), lr=0.003),
        (x, y),
        test=blobs(500, seed=1),
        batch_size=32,
        epochs=4,
        snapshot_every=10,
    )
    t.run()
    assert t.state == "diverged" and t.collapse.kind == "nan"
    assert t.step_count == 175  # the NaN step itself is not counted
    assert t.step_count - t.collapse.restored_step <= 2 * t.snapshot_every
    assert all(np.all(np.isfinite(p.data)) for p in net.parameters())
    assert evaluate(net, *t.test)[1] > 0.95


def test_test_accuracy_collapsing_after_an_epoch_trips_the_guard():
    g = TrainingGuard(accuracy_drop=0.15)
    assert g.after_epoch(0.97, 0.1) is None
    assert g.after_epoch(0.90, 0.3) is None  # a dip, not a collapse
    assert g.after_epoch(0.81, 0.6) == "accuracy"  # 16 points below the best (0.97)
    g = TrainingGuard()
    assert g.after_epoch(None, 0.5) is None and g.after_epoch(None, 1.0) is None
    assert g.after_epoch(None, 1.3) == "accuracy"  # regression: test loss above 2 x best + 0.25
    g = TrainingGuard()
    assert g.after_epoch(0.97, 0.1, n_test=20) is None and g.after_epoch(0.6, 0.9, n_test=20) is None  # too few
    g = TrainingGuard(watch=False)
    assert g.after_epoch(0.97, 0.1) is None and g.after_epoch(0.1, 2.3) is None


def test_without_watching_only_nan_stops_a_run():
    net, history, train, test = trained()
    t = Trainer(net, SGD(net.parameters(), lr=5.0), train, test=test, batch_size=32, epochs=2, guard=False)
    t.run()
    assert t.state == "finished" and t.collapse is None


def test_the_guard_keeps_one_snapshot_of_weights_and_optimizer_state():
    net, history, train, test = trained(epochs=1)
    opt = Adam(net.parameters(), lr=0.001)
    t = Trainer(net, opt, train, test=test, batch_size=32, epochs=1)
    t.run()
    params = sum(p.data.nbytes for p in net.parameters())
    assert Trainer.SNAPSHOTS == 1
    assert t.guard.snapshot_bytes == 3 * params  # weights + Adam's m and v, once
