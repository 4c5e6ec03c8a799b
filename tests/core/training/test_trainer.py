import threading
import time

import numpy as np
import pytest

from nnstudio.core.nn import SGD, Adam, Sequential
from nnstudio.core.training import Trainer, evaluate


def blobs(n=600, seed=0):
    """Three separable Gaussian blobs in 4-D: a problem any MLP learns in one epoch."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float32)
    x = centres[y] + rng.standard_normal((n, 4)).astype(np.float32) * 0.5
    return x, y


def make_trainer(**kw):
    x, y = blobs()
    net = Sequential.mlp([4, 16, 3], "relu", seed=0)
    opt = kw.pop("opt", None) or Adam(net.parameters(), lr=0.01)
    return Trainer(net, opt, (x, y), test=blobs(200, seed=1), **{"batch_size": 32, "epochs": 3, **kw})


def test_training_learns_and_reports_events():
    trainer = make_trainer()
    steps, epochs = [], []
    trainer.events.connect("step", steps.append)
    trainer.events.connect("epoch", epochs.append)
    history = trainer.run()
    assert trainer.state == "finished"
    assert len(steps) == 3 * trainer.batches_per_epoch == len(history.step_loss)
    assert steps[-1].batch == trainer.batches_per_epoch and steps[-1].samples_per_sec > 0
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert epochs[-1].test_accuracy > 0.95
    assert np.mean(history.step_loss[-10:]) < np.mean(history.step_loss[:10]) / 3


def test_same_seed_same_result_different_seed_different_order():
    a, b, c = make_trainer(seed=3), make_trainer(seed=3), make_trainer(seed=4)
    for t in (a, b, c):
        t.run(1)
    np.testing.assert_array_equal(a.history.step_loss, b.history.step_loss)
    assert not np.array_equal(a.history.step_loss, c.history.step_loss)


def test_pause_step_resume_and_stop_from_another_thread():
    trainer = make_trainer(epochs=50, start_paused=True)
    seen = []
    trainer.events.connect("step", lambda info: seen.append(info.step))
    thread = threading.Thread(target=trainer.run)
    thread.start()
    time.sleep(0.2)
    assert seen == [] and trainer.state == "paused"
    trainer.step(3)
    deadline = time.time() + 5
    while len(seen) < 3 and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert seen == [1, 2, 3], "exactly three single steps"
    trainer.resume()
    while len(seen) < 20 and time.time() < deadline:
        time.sleep(0.01)
    trainer.pause()
    time.sleep(0.1)
    count = len(seen)
    time.sleep(0.2)
    assert len(seen) == count, "no steps while paused"
    trainer.stop()
    thread.join(5)
    assert not thread.is_alive() and trainer.state == "stopped"
    assert trainer.epoch < 50


def test_nan_loss_stops_and_keeps_last_good_weights():
    trainer = make_trainer(opt=None, epochs=5)
    net = trainer.network
    trainer.optimizer = SGD(net.parameters(), lr=5.0)
    trainer.snapshot_every = 5
    messages = []
    trainer.events.connect("diverged", messages.append)
    # poison the data so the loss becomes NaN at a known step
    x = trainer.x.copy()
    trainer.x = x
    bad_batch_rows = np.random.default_rng((trainer.seed, 1)).permutation(len(x))[12 * 32 : 13 * 32]
    x[bad_batch_rows[0], 0] = np.nan
    trainer.run()
    assert trainer.state == "diverged"
    assert messages and "nan" in messages[0].lower() and "smaller learning rate" in messages[0]
    assert all(np.all(np.isfinite(p.data)) for p in net.parameters())
    loss, acc = evaluate(net, *trainer.test)
    assert np.isfinite(loss)
    assert trainer.step_count == 12


def test_bad_arguments_are_refused():
    x, y = blobs()
    net = Sequential.mlp([4, 3])
    opt = SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="batch size"):
        Trainer(net, opt, (x, y), batch_size=0)
    with pytest.raises(ValueError, match="epochs"):
        Trainer(net, opt, (x, y), epochs=0)
    with pytest.raises(ValueError, match="empty"):
        Trainer(net, opt, (x[:0], y[:0]))


@pytest.mark.slow
def test_mnist_one_epoch_reaches_95_percent(mnist):
    x, y = mnist.flat("train")
    net = Sequential.mlp([784, 128, 10], "relu", seed=0)
    trainer = Trainer(
        net, Adam(net.parameters(), lr=0.003), (x, y), test=mnist.flat("test"), batch_size=128, epochs=1, seed=0
    )
    trainer.run()
    assert trainer.history.epochs[-1]["test_accuracy"] >= 0.95


def test_time_spent_paused_does_not_count_as_training_time():
    trainer = make_trainer(epochs=1, start_paused=True)
    epochs = []
    trainer.events.connect("epoch", epochs.append)
    thread = threading.Thread(target=trainer.run)
    start = time.perf_counter()
    thread.start()
    trainer.step(2)
    time.sleep(0.6)  # the user looks at the charts for a while
    trainer.resume()
    thread.join(10)
    wall = time.perf_counter() - start
    assert wall >= 0.6 and len(epochs) == 1
    assert epochs[0].seconds < wall - 0.5, "the 0.6 s pause must not be counted"
    assert epochs[0].samples_per_sec > len(trainer.x) / (wall - 0.5)


def test_history_continues_a_run_with_its_numbering():
    first = make_trainer(epochs=2)
    first.run()
    second = Trainer(
        first.network, first.optimizer, (first.x, first.y), first.test, batch_size=32, epochs=1, history=first.history
    )
    assert second.epoch == 2 and second.step_count == 2 * first.batches_per_epoch
    steps = []
    second.events.connect("step", steps.append)
    second.run()
    assert steps[0].step == 2 * first.batches_per_epoch + 1 and steps[0].epoch == 3
    assert [e["epoch"] for e in second.history.epochs] == [1, 2, 3]
    assert second.history is first.history


def test_set_lr_under_the_cosine_schedule_sets_the_base_rate():
    trainer = make_trainer(epochs=2, cosine=True, start_paused=True)
    trainer.step(trainer.batches_per_epoch)  # one epoch, then pause
    t = threading.Thread(target=trainer.run)
    t.start()
    try:
        while trainer.step_count < trainer.batches_per_epoch:
            time.sleep(0.01)
        assert trainer.pause(wait=True)
        # half way through the cosine: the rate is half the base rate
        assert trainer.optimizer.lr == pytest.approx(0.005, rel=1e-6)
        trainer.set_lr(0.1)
        assert trainer.base_lr == 0.1 and trainer.optimizer.lr == pytest.approx(0.05, rel=1e-6)
        with pytest.raises(ValueError, match="learning rate"):
            trainer.set_lr(1e9)
        assert trainer.base_lr == 0.1  # a refused value changes nothing
    finally:
        trainer.stop()
        t.join(10)
    plain = make_trainer()
    plain.set_lr(0.2)
    assert plain.optimizer.lr == 0.2 and plain.base_lr == 0.2


def test_pause_and_wait_returns_once_the_batch_in_flight_is_done():
    trainer = make_trainer(epochs=50)
    t = threading.Thread(target=trainer.run)
    t.start()
    try:
        while trainer.step_count < 3:
            time.sleep(0.001)
        assert trainer.pause(wait=True, timeout=10)
        n = trainer.step_count
        weights = [p.data.copy() for p in trainer.network.parameters()]
        time.sleep(0.1)
        assert trainer.step_count == n == len(trainer.history.step_loss)  # a consistent snapshot
        assert all(np.array_equal(a, p.data) for a, p in zip(weights, trainer.network.parameters()))
    finally:
        trainer.stop()
        t.join(10)
    assert make_trainer().pause(wait=True, timeout=1)  # not running: nothing to wait for


def test_event_names_are_declared():
    trainer = make_trainer()
    with pytest.raises(ValueError, match="unknown event 'stpe'"):
        trainer.events.connect("stpe", print)
    with pytest.raises(ValueError, match="unknown event"):
        trainer.events.emit("epoc", None)


class SlowTrainer(Trainer):
    """Each batch takes ~10 ms, so what happens between control calls is predictable."""

    def train_batch(self, xb, yb):
        time.sleep(0.01)
        return super().train_batch(xb, yb)


def slow_trainer(**kw):
    x, y = blobs()
    net = Sequential.mlp([4, 16, 3], "relu", seed=0)
    return SlowTrainer(net, Adam(net.parameters(), lr=0.01), (x, y), batch_size=32, **{"epochs": 50, **kw})


def test_stop_before_run_starts_is_not_lost():
    """The window starts run() on a new thread: a quick Stop may come before it is running."""
    trainer = slow_trainer()
    trainer.stop()
    thread = threading.Thread(target=trainer.run)
    thread.start()
    thread.join(5)
    assert not thread.is_alive() and trainer.state == "stopped" and trainer.step_count == 0
    # the stop was consumed: a later run trains
    trainer.run(1)
    assert trainer.state == "finished" and trainer.step_count == trainer.batches_per_epoch


def test_step_then_resume_then_pause_runs_no_extra_batches():
    trainer = slow_trainer(start_paused=True)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    assert trainer.pause(wait=True)  # parked at the gate
    trainer.step(5)
    trainer.resume()
    time.sleep(0.05)
    trainer.pause()
    at_pause = trainer.step_count
    time.sleep(0.3)  # 30 batches' time
    assert trainer.step_count <= at_pause + 1, "only the batch in flight may finish after pause()"
    trainer.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_hammering_the_controls_from_threads_never_loses_a_stop_or_a_step():
    trainer = slow_trainer(start_paused=True)
    seen = []
    trainer.events.connect("step", lambda info: seen.append(info.step))
    thread = threading.Thread(target=trainer.run)
    thread.start()
    stop_at = time.perf_counter() + 1.0

    def hammer(seed):
        rng = np.random.default_rng(seed)
        while time.perf_counter() < stop_at:
            action = rng.integers(4)
            if action == 0:
                trainer.pause()
            elif action == 1:
                trainer.resume()
            elif action == 2:
                trainer.step(int(rng.integers(1, 4)))
            else:
                trainer.set_lr(float(rng.uniform(0.001, 0.01)))
            time.sleep(float(rng.uniform(0, 0.005)))

    workers = [threading.Thread(target=hammer, args=(s,)) for s in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    # whatever state the controls left, pause() parks the run and no batch runs after it
    assert trainer.pause(wait=True, timeout=5)
    parked = trainer.step_count
    time.sleep(0.1)
    assert trainer.step_count == parked
    # exactly n single steps
    trainer.step(3)
    deadline = time.time() + 5
    while trainer.step_count < parked + 3 and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(0.1)
    assert trainer.step_count == parked + 3
    trainer.stop()
    thread.join(5)
    assert not thread.is_alive() and trainer.state == "stopped"
    assert seen == list(range(1, trainer.step_count + 1)) and trainer.history.steps == trainer.step_count
