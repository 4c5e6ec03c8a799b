"""The Memory lab's jobs, run without a window: what they report, and that cancel stops them."""

import threading

import numpy as np

from nnstudio.core.memory import LAB_KINDS, lab_compare, lab_search


class Context:
    """What a job runner gives a job (the window's is nnstudio.gui.jobs.JobContext), recording everything."""

    def __init__(self, cancel_after_posts=None):
        self.cancelled = threading.Event()
        self.progresses, self.posts, self.callbacks = [], [], []
        self._cancel_after = cancel_after_posts

    def progress(self, payload):
        self.progresses.append(payload)

    def post(self, payload):
        self.posts.append(payload)
        if self._cancel_after is not None and len(self.posts) >= self._cancel_after:
            self.cancel()

    def on_cancel(self, callback):
        self.callbacks.append(callback)
        if self.cancelled.is_set():
            callback()

    def cancel(self):
        self.cancelled.set()
        for callback in self.callbacks:
            callback()


def _data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def test_compare_posts_each_way_as_it_is_done_and_reports_progress_up_to_done():
    ctx = Context()
    train, test = _data(512), _data(128, seed=1)
    runs = lab_compare(ctx, [784, 32, 10], train, test, batch_size=64, segments=2, epochs=1)
    assert [r.kind for r in ctx.posts] == list(LAB_KINDS) and runs == ctx.posts
    for run in runs:
        assert run.state == "finished" and run.train_images == 512 and len(run.test_accuracy) == 1
        assert run.seconds_per_step > 0 and run.profile.measured_peak > 0
    texts = [t for t, _ in ctx.progresses]
    fracs = [f for _, f in ctx.progresses]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and texts[-1] == "done: all three measured"
    assert "Mixed precision: training, epoch 1/1" in texts
    assert len(ctx.callbacks) == 3  # each way's trainer could have been stopped


def test_cancel_stops_the_running_trainer_and_posts_nothing_more():
    ctx = Context(cancel_after_posts=1)  # cancelled as soon as the baseline run is posted
    train = _data(512)
    runs = lab_compare(ctx, [784, 32, 10], train, None, batch_size=64, segments=2, epochs=1)
    assert runs is None and [r.kind for r in ctx.posts] == ["baseline"]
    assert ctx.progresses[-1][1] < 1.0

    # cancelled while the checkpointed trainer runs: its stop() ends it within a step
    ctx = Context()
    stopped_at = []

    def progress(payload):
        ctx.progresses.append(payload)
        if payload[0].startswith("Gradient checkpointing: training") and not ctx.cancelled.is_set():
            ctx.cancel()
            stopped_at.append(len(ctx.progresses))

    ctx.progress = progress
    runs = lab_compare(ctx, [784, 32, 10], _data(4096), None, batch_size=16, segments=2, epochs=5)
    assert runs is None and [r.kind for r in ctx.posts] == ["baseline"]
    assert len(ctx.progresses) == stopped_at[0]  # not one more training step was reported


def test_search_finds_a_batch_per_way_within_the_budget():
    ctx = Context()
    x, y = _data(1024)
    out = lab_search(ctx, [784, 64, 10], x, y, segments=2, budget=40 * 2**20, max_batch=1024)
    assert out["budget"] == 40 * 2**20
    for kind in LAB_KINDS:
        assert not isinstance(out[kind], str), out[kind]
        assert out[kind].peak <= out["budget"]
    assert ctx.progresses[-1] == ("done", 1.0)
    cancelled = Context()
    cancelled.cancel()
    assert lab_search(cancelled, [784, 64, 10], x, y, segments=2, budget=40 * 2**20) is None
