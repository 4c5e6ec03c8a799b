"""The Memory lab's measurements: one network trained three ways, compared on this machine.

The lab's three jobs (:func:`lab_compare`, :func:`lab_curve`, :func:`lab_search`) take a
job context first (see :class:`LabContext`): the window runs them with
``nnstudio.gui.jobs.Job``, a script with any object that has the same four members.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from nnstudio.core.fmt import format_bytes
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Adam

from .accounting import StepProfile, _batch, _gathered, profile_step, time_steps
from .budget import BudgetTooSmall, find_max_batch_size, memory_curve
from .mixed_precision import GradScaler
from .step import PlainStep, StepStrategy, StrategyTrainer
from .strategy import make_strategy


def gradient_difference(a: StepStrategy, b: StepStrategy, xb, yb) -> float:
    """Largest |grad_a - grad_b| over all parameters for the same batch and weights.

    ``a`` and ``b`` must wrap networks with equal weights (e.g. deep copies).
    """
    a.release()
    b.release()
    a.forward_backward(a.prepare_inputs(xb), yb)
    ga = [p.grad.copy() for p in a.network.parameters()]
    b.forward_backward(b.prepare_inputs(xb), yb)
    unscale = getattr(b, "unscale_", None)
    if unscale is not None:
        unscale()
    diff = 0.0
    for g, p in zip(ga, b.network.parameters()):
        diff = max(diff, float(np.max(np.abs(g.astype(np.float64) - p.grad.astype(np.float64)))))
    a.release()
    b.release()
    return diff


def compare_strategies(
    network: Sequential,
    make_opt,
    x,
    y,
    batch_size: int,
    segments: int = 4,
    steps: int = 5,
    kinds=("baseline", "checkpoint", "mixed"),
    progress=None,
) -> list[dict]:
    """Profile, time and check gradients of each strategy on copies of ``network``.

    ``make_opt(params)`` builds a fresh optimizer. Returns one dict per strategy
    (measured/accounted peaks, activation peak, seconds per step, max gradient
    difference from baseline) in the order of ``kinds``.
    """
    rng = np.random.default_rng(1)
    xb, yb = _batch(x, y, batch_size, rng)
    base_strategy = PlainStep(network.copy())
    rows = []
    for k, kind in enumerate(kinds):
        if progress is not None:
            progress(k, kind)
        net = network.copy()
        strategy = make_strategy(kind, net, segments=segments)
        opt = make_opt(net.parameters())
        diff = gradient_difference(base_strategy, strategy, xb, yb)
        # fresh copies again: the profile and timing steps update the weights
        net = network.copy()
        strategy = make_strategy(kind, net, segments=segments)
        opt = make_opt(net.parameters())
        xs = strategy.prepare_inputs(x)
        prof = profile_step(strategy, opt, xs, y, batch_size)
        strategy.release()
        sec = time_steps(strategy, opt, xs, y, batch_size, steps)
        strategy.release()
        row = prof.as_dict()
        row.update(name=kind, seconds_per_step=sec, max_grad_diff=diff, agreement=prof.agreement)
        row.pop("seconds")
        if hasattr(strategy, "segments_used"):
            row["segments"] = strategy.segments_used
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# The Memory lab: one network trained three ways
# ---------------------------------------------------------------------------
@dataclass
class LabRun:
    """Everything the Memory lab shows for one way of training."""

    kind: str
    profile: StepProfile
    seconds_per_step: float
    epoch_seconds: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    train_images: int = 0
    scale_history: list[float] = field(default_factory=list)
    skipped_steps: int = 0
    skipped_at: list[int] = field(default_factory=list)
    segments: int | None = None
    state: str = ""


def time_interleaved(
    kinds,
    sizes: list[int],
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    segments: int = 4,
    rounds: int = 5,
    seed: int = 0,
    cancel=None,
) -> dict[str, float]:
    """Median seconds per training step of each strategy, measured in alternation.

    One step of each in turn, ``rounds`` times (after a warm-up round), so a
    neighbour's CPU load on a shared machine hits all of them alike. ``cancel``
    (e.g. a ``threading.Event``) ends it early when set; NaN for what was not timed.
    """
    rng = np.random.default_rng(seed)
    setups = []
    for kind in kinds:
        net = Sequential.mlp(sizes, seed=seed)
        strategy = make_strategy(kind, net, segments=segments)
        xb, yb = _gathered(strategy, x, y, batch_size, rng)
        setups.append((kind, strategy, Adam(net.parameters()), xb, yb))
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for r in range(rounds + 1):
        for kind, strategy, opt, xb, yb in setups:
            if cancel is not None and cancel.is_set():
                return {k: float(np.median(t)) if t else float("nan") for k, t in times.items()}
            t0 = time.perf_counter()
            strategy.forward_backward(xb, yb)
            strategy.update(opt)
            if r:
                times[kind].append(time.perf_counter() - t0)
    return {kind: float(np.median(t)) for kind, t in times.items()}


def lab_run(
    kind: str,
    sizes: list[int],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None,
    batch_size: int,
    segments: int = 4,
    epochs: int = 1,
    seed: int = 0,
    lr: float = 1e-3,
    on_trainer=None,
    on_step=None,
    init_scale: float = 2.0**16,
    timing_steps: int = 3,
) -> LabRun:
    """Profile one step, time a few, then train ``epochs`` epochs of an MLP ``sizes`` with strategy ``kind``.

    ``on_trainer(trainer)`` receives the trainer before it runs (so a GUI can stop
    it); ``on_step(info)`` is connected to its "step" event. ``init_scale`` is
    mixed precision's first loss scale. ``timing_steps=0`` skips the timing
    (``seconds_per_step`` is then NaN: see :func:`time_interleaved`).
    """
    x, y = train
    net = Sequential.mlp(sizes, seed=seed)
    # profile and timing on a copy: the real run starts from the same weights for every way
    probe_net = net.copy()
    probe = make_strategy(kind, probe_net, segments=segments)
    probe_opt = Adam(probe_net.parameters(), lr=lr)
    xs = probe.prepare_inputs(x[: max(batch_size * 3, 1)])
    ys = y[: len(xs)]
    prof = profile_step(probe, probe_opt, xs, ys, batch_size, seed=seed)
    probe.release()
    sec = (
        time_steps(probe, probe_opt, xs, ys, batch_size, steps=timing_steps, seed=seed)
        if timing_steps
        else float("nan")
    )
    del probe, probe_net, probe_opt, xs
    if kind == "mixed":
        strategy = make_strategy(kind, net, scaler=GradScaler(init_scale=init_scale))
    else:
        strategy = make_strategy(kind, net, segments=segments)
    trainer = StrategyTrainer(
        net,
        Adam(net.parameters(), lr=lr),
        train,
        test,
        strategy=strategy,
        batch_size=min(batch_size, len(x)),
        epochs=epochs,
        seed=seed,
    )
    if on_step is not None:
        trainer.events.connect("step", on_step)
    if on_trainer is not None:
        on_trainer(trainer)
    hist = trainer.run()
    strategy.release()
    scaler = getattr(strategy, "scaler", None)
    return LabRun(
        kind,
        prof,
        sec,
        [e["seconds"] for e in hist.epochs],
        [e["test_accuracy"] for e in hist.epochs if e["test_accuracy"] is not None],
        len(x),
        list(scaler.scale_history) if scaler else [],
        trainer.skipped_steps,
        list(scaler.skipped_at) if scaler else [],
        getattr(strategy, "segments_used", None),
        trainer.state,
    )


# ---------------------------------------------------------------------------
# The lab's jobs: they report through a job context and stop when it is cancelled
# ---------------------------------------------------------------------------
LAB_KINDS = ("baseline", "checkpoint", "mixed")
LAB_TITLES = {"baseline": "Baseline (fp32)", "checkpoint": "Gradient checkpointing", "mixed": "Mixed precision"}
MAX_LAB_BATCH = 4096  # the budget search stops here: bigger steps take seconds each


class LabContext(Protocol):
    """What a lab job reports through, on its own thread (``nnstudio.gui.jobs.JobContext`` is one).

    ``progress(payload)``: the newest progress, here ``(text, fraction done)``; ``post(payload)``:
    a result as it comes; ``on_cancel(callback)``: call it on cancel (e.g. a trainer's ``stop``);
    ``cancelled``: set once the job is cancelled.
    """

    cancelled: threading.Event

    def progress(self, payload: Any) -> None: ...

    def post(self, payload: Any) -> None: ...

    def on_cancel(self, callback: Callable[[], None]) -> None: ...


def lab_compare(
    ctx: LabContext,
    sizes: list[int],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None,
    batch_size: int,
    segments: int,
    epochs: int,
    init_scale: float = 2.0**16,
) -> list[LabRun] | None:
    """Time the three ways in alternation, then profile and train each; posts each :class:`LabRun` when done.

    Returns the three runs, or None if cancelled before the last one finished.
    """
    n = len(LAB_KINDS)
    ctx.progress(("timing the three ways, one step of each in turn…", 0.0))
    timing = time_interleaved(LAB_KINDS, sizes, *train, batch_size, segments=segments, cancel=ctx.cancelled)
    runs = []
    for k, kind in enumerate(LAB_KINDS):
        if ctx.cancelled.is_set():
            return None
        base = 0.05 + 0.95 * k / n
        ctx.progress((f"{LAB_TITLES[kind]}: profiling one step…", base))

        def on_step(info, kind=kind, base=base):
            frac = ((info.epoch - 1) + info.epoch_progress) / epochs
            ctx.progress((f"{LAB_TITLES[kind]}: training, epoch {info.epoch}/{epochs}", base + 0.95 * frac / n))

        run = lab_run(
            kind,
            sizes,
            train,
            test,
            batch_size,
            segments=segments,
            epochs=epochs,
            on_trainer=lambda trainer: ctx.on_cancel(trainer.stop),
            on_step=on_step,
            init_scale=init_scale,
            timing_steps=0,
        )
        run.seconds_per_step = timing[kind]
        if ctx.cancelled.is_set() and run.state != "finished":
            return None
        ctx.post(run)
        runs.append(run)
    ctx.progress(("done: all three measured", 1.0))
    return runs


def lab_curve(
    ctx: LabContext, sizes: list[int], x: np.ndarray, y: np.ndarray, segments: int, batches: list[int]
) -> dict | None:
    """The measured step peak against batch size for each way: ``{kind: [(batch, peak bytes), ...]}``.

    None if cancelled.
    """
    out = {}
    for k, kind in enumerate(LAB_KINDS):
        if ctx.cancelled.is_set():
            return None
        ctx.progress((f"measuring memory against batch size: {LAB_TITLES[kind]}", k / len(LAB_KINDS)))
        net = Sequential.mlp(sizes, seed=0)
        strategy = make_strategy(kind, net, segments=segments)
        out[kind] = memory_curve(strategy, Adam(net.parameters()), x, y, batches)
    ctx.progress(("done", 1.0))
    return out


def lab_search(
    ctx: LabContext,
    sizes: list[int],
    x: np.ndarray,
    y: np.ndarray,
    segments: int,
    budget: int,
    max_batch: int = MAX_LAB_BATCH,
) -> dict | None:
    """The largest batch that fits ``budget`` for each way: ``{"budget": budget, kind: BatchSearchResult | why not}``.

    None if cancelled.
    """
    out: dict[str, Any] = {"budget": budget}
    for k, kind in enumerate(LAB_KINDS):
        if ctx.cancelled.is_set():
            return None
        text = f"searching the largest batch for {format_bytes(budget)}: {LAB_TITLES[kind]}"
        ctx.progress((text, k / len(LAB_KINDS)))
        net = Sequential.mlp(sizes, seed=0)
        strategy = make_strategy(kind, net, segments=segments)
        try:
            out[kind] = find_max_batch_size(strategy, Adam(net.parameters()), x, y, budget, max_batch=max_batch)
        except BudgetTooSmall as exc:
            out[kind] = str(exc)
    ctx.progress(("done", 1.0))
    return out
