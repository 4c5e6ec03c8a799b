"""Where the memory of a training step goes, counted from the arrays and measured.

- **Accounting** from the arrays themselves: parameters, gradients, optimizer
  state, the input batch, activations kept for backward (per layer) and the
  transient workspace (gradients flowing back, logits).
- **Measured peak** of a training step with :mod:`tracemalloc`, which sees
  NumPy's allocations. :func:`profile_step` records both side by side as a
  timeline over the step, so the two can be compared event by event.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass

import numpy as np

from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Optimizer
from nnstudio.core.nn.spec import MemoryEstimate, MLPSpec

from .step import StepStrategy

MiB = 1024 * 1024

CATEGORIES = ("parameters", "gradients", "optimizer state", "fp16 weights", "batch", "activations", "workspace")


def unique_nbytes(arrays, exclude: set[int] | None = None) -> int:
    """Bytes of distinct arrays (an array kept by two layers counts once)."""
    seen = set(exclude or ())
    total = 0
    for a in arrays:
        if a is None or id(a) in seen:
            continue
        seen.add(id(a))
        total += a.nbytes
    return total


@dataclass
class MemoryReport:
    """Bytes by category, counted from the arrays (a snapshot, e.g. after a forward pass)."""

    parameters: int
    gradients: int
    optimizer_state: int
    fp16_weights: int
    activations: int
    per_layer: list[tuple[str, int]]

    @property
    def resident(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state + self.fp16_weights

    @property
    def total(self) -> int:
        return self.resident + self.activations

    def as_dict(self) -> dict:
        return {
            "parameters": self.parameters,
            "gradients": self.gradients,
            "optimizer_state": self.optimizer_state,
            "fp16_weights": self.fp16_weights,
            "activations": self.activations,
            "resident": self.resident,
            "total": self.total,
            "per_layer": [list(p) for p in self.per_layer],
        }


def resident_bytes(
    network: Sequential, optimizer: Optimizer | None = None, strategy: StepStrategy | None = None
) -> dict[str, int]:
    """Bytes that live for the whole training run, by category."""
    params = network.parameters()
    extra = strategy.extra_resident() if strategy is not None else {}
    return {
        "parameters": unique_nbytes(p.data for p in params),
        "gradients": unique_nbytes(p.grad for p in params),
        "optimizer state": (
            unique_nbytes([*optimizer.state_buffers(), *optimizer.scratch_buffers()]) if optimizer is not None else 0
        ),
        "fp16 weights": unique_nbytes(a for arrays in extra.values() for a in arrays),
    }


def account(
    network: Sequential, optimizer: Optimizer | None = None, strategy: StepStrategy | None = None
) -> MemoryReport:
    """What the network holds right now: call after a forward pass to see its activations."""
    res = resident_bytes(network, optimizer, strategy)
    per_layer, seen = [], set()
    for i, layer in enumerate(network.layers):
        n = 0
        for a in layer.cached_arrays():
            if id(a) not in seen:
                seen.add(id(a))
                n += a.nbytes
        per_layer.append((f"{i} {layer!r}", n))
    acts = unique_nbytes(strategy.activation_arrays()) if strategy is not None else sum(n for _, n in per_layer)
    return MemoryReport(
        res["parameters"], res["gradients"], res["optimizer state"], res["fp16 weights"], acts, per_layer
    )


class MemoryTimeline:
    """Live bytes by category at every event of a step (forward i, loss, backward i, update).

    ``accounted`` comes from the arrays; ``measured`` (when tracing) from
    tracemalloc, both including the resident state, so they can be compared.
    """

    def __init__(self, resident: dict[str, int], batch: np.ndarray | None = None, trace_base: int | None = None):
        self.resident = dict(resident)
        self.batch = batch
        self.trace_base = trace_base
        self.labels: list[str] = []
        self.bytes: dict[str, list[int]] = {c: [] for c in CATEGORIES}
        self.measured: list[int] = []

    def record(self, label: str, strategy: StepStrategy, work=(), extra_workspace: int = 0) -> None:
        acts = strategy.activation_arrays()
        batch_id = {id(self.batch)} if self.batch is not None else set()
        act_ids = {id(a) for a in acts}
        row = dict(self.resident)
        row["batch"] = self.batch.nbytes if self.batch is not None else 0
        row["activations"] = unique_nbytes(acts, exclude=batch_id)
        row["workspace"] = unique_nbytes(work, exclude=batch_id | act_ids) + int(extra_workspace)
        self.labels.append(label)
        for c in CATEGORIES:
            self.bytes[c].append(int(row.get(c, 0)))
        if self.trace_base is not None:
            self.measured.append(sum(self.resident.values()) + tracemalloc.get_traced_memory()[0] - self.trace_base)

    def totals(self) -> np.ndarray:
        return np.sum([self.bytes[c] for c in CATEGORIES], axis=0) if self.labels else np.zeros(0)

    def peak(self, category: str | None = None) -> int:
        if not self.labels:
            return 0
        return int(max(self.bytes[category])) if category else int(self.totals().max())

    def as_dict(self) -> dict:
        return {"labels": self.labels, "bytes": self.bytes, "measured": self.measured}


@dataclass
class StepProfile:
    """One profiled training step of one strategy."""

    strategy: str
    batch_size: int
    timeline: MemoryTimeline
    resident: int  # parameters + gradients + optimizer state (+ fp16 weights)
    measured_peak: int  # resident + tracemalloc peak of the step
    accounted_peak: int  # max over the timeline of the bytes counted from arrays
    activation_peak: int  # most bytes kept for backward at any time (activations + batch)
    seconds: float  # of this (traced, so slower) step

    @property
    def agreement(self) -> float:
        """accounted / measured (1.0 = perfect)."""
        return self.accounted_peak / self.measured_peak if self.measured_peak else float("nan")

    def as_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "batch_size": self.batch_size,
            "resident": self.resident,
            "measured_peak": self.measured_peak,
            "accounted_peak": self.accounted_peak,
            "activation_peak": self.activation_peak,
            "seconds": self.seconds,
        }


class _Tracing:
    """tracemalloc on for a block (left as it was if someone else already traces)."""

    def __enter__(self):
        self.was_tracing = tracemalloc.is_tracing()
        if not self.was_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self.base = tracemalloc.get_traced_memory()[0]
        return self

    def peak(self) -> int:
        return tracemalloc.get_traced_memory()[1] - self.base

    def __exit__(self, *exc):
        if not self.was_tracing:
            tracemalloc.stop()


def _batch(x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator):
    """A batch gathered the way the Trainer does (a fresh array, rows repeated if needed)."""
    idx = rng.integers(0, len(x), batch_size) if batch_size > len(x) else rng.permutation(len(x))[:batch_size]
    return x[idx], y[idx]


def _gathered(strategy, x, y, batch_size, rng):
    """A batch in the dtype the strategy trains on (converted outside the measurement:
    a trainer converts its dataset once, not every step)."""
    xb, yb = _batch(x, y, batch_size, rng)
    return strategy.prepare_inputs(xb), yb


def profile_step(
    strategy: StepStrategy, optimizer: Optimizer | None, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0
) -> StepProfile:
    """Run one training step with a timeline and tracemalloc; the network is updated as in training.

    Caches from earlier steps are dropped first so the step is measured on its own.
    """
    strategy.release()
    rng = np.random.default_rng(seed)
    resident = resident_bytes(strategy.network, optimizer, strategy)
    res_total = sum(resident.values())
    xb, yb = _gathered(strategy, x, y, batch_size, rng)
    with _Tracing() as tr:
        xb = xb.copy()  # the batch gathered from the dataset is part of the step
        timeline = MemoryTimeline(resident, xb, tr.base)
        strategy.recorder = timeline
        t0 = time.perf_counter()
        try:
            _, out = strategy.forward_backward(xb, yb)
            # Our optimizers update one parameter at a time with at most one
            # parameter-sized temporary (e.g. Adam's (1 - beta1) * g).
            if optimizer is not None:  # None: gradients only
                temp = max((p.data.nbytes for p in strategy.network.parameters()), default=0)
                timeline.record("update (optimizer temporaries)", strategy, (out,), extra_workspace=temp)
                strategy.update(optimizer)
                timeline.record("update done", strategy, (out,))
        finally:
            strategy.recorder = None
        seconds = time.perf_counter() - t0
        peak = tr.peak()
    act_peak = int(max(a + b for a, b in zip(timeline.bytes["activations"], timeline.bytes["batch"])))
    return StepProfile(
        strategy.name, batch_size, timeline, res_total, res_total + peak, timeline.peak(), act_peak, seconds
    )


def measure_step_peak(strategy: StepStrategy, optimizer: Optimizer, x, y, batch_size: int, seed: int = 0) -> int:
    """Resident bytes + tracemalloc peak of one training step at ``batch_size``."""
    strategy.release()
    rng = np.random.default_rng(seed)
    resident = sum(resident_bytes(strategy.network, optimizer, strategy).values())
    xb, yb = _gathered(strategy, x, y, batch_size, rng)
    with _Tracing() as tr:
        xb = xb.copy()
        strategy.forward_backward(xb, yb)
        strategy.update(optimizer)
        del xb, yb
        strategy.release()
        peak = tr.peak()
    return resident + peak


def time_steps(
    strategy: StepStrategy, optimizer: Optimizer, x, y, batch_size: int, steps: int = 5, seed: int = 0
) -> float:
    """Median seconds per training step (one warm-up step first)."""
    rng = np.random.default_rng(seed)
    batches = [_batch(x, y, batch_size, rng) for _ in range(min(steps, 3))]
    batches = [(strategy.prepare_inputs(a), b) for a, b in batches]
    times = []
    for k in range(steps + 1):
        xb, yb = batches[k % len(batches)]
        t0 = time.perf_counter()
        strategy.forward_backward(xb, yb)
        strategy.update(optimizer)
        if k:
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def training_footprint(
    network: Sequential, optimizer: Optimizer | None, batch_size: int, snapshots: int = 0, dataset_bytes: int = 0
) -> tuple[MemoryEstimate, bool]:
    """What training ``network`` holds, by the categories of :class:`~nnstudio.core.nn.spec.MemoryEstimate`.

    The network's own arrays (weights, gradients, optimizer state) are counted from
    the live arrays; activations too when a training batch is cached (scaled to
    ``batch_size``), else from the shapes, as the spec estimate counts them.
    Returns (estimate, activations_measured).
    """
    report = account(network, optimizer)
    spec = MLPSpec.from_network(network)
    itemsize = network.parameters()[0].data.itemsize if network.parameters() else 4
    kind = _optimizer_key(optimizer)
    est = spec.estimate_bytes(batch_size, kind, itemsize=itemsize, snapshots=snapshots, dataset_bytes=dataset_bytes)
    cached = [a for layer in network.layers for a in layer.cached_arrays() if a is not None]
    measured = bool(cached) and cached[0].ndim >= 1 and cached[0].shape[0] > 0
    est.parameters, est.gradients = report.parameters, report.gradients
    if optimizer is not None:
        est.optimizer_state = report.optimizer_state
    if measured:
        est.activations = int(report.activations * batch_size / cached[0].shape[0])
    return est, measured


def _optimizer_key(optimizer: Optimizer | None) -> str:
    if optimizer is None:
        return "sgd"
    return {"Adam": "adam", "Momentum": "momentum"}.get(optimizer.kind, "sgd")
