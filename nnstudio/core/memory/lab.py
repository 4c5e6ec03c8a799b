"""The Memory lab's measurements: one network trained three ways, compared on this machine."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Adam

from .accounting import StepProfile, _batch, _gathered, profile_step, time_steps
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
