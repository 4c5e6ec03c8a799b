"""Where the memory of a training step goes, and how to spend less of it.

Four tools, all measured on this machine rather than quoted:

- **Accounting** from the arrays themselves: parameters, gradients, optimizer
  state, the input batch, activations kept for backward (per layer) and the
  transient workspace (gradients flowing back, logits).
- **Measured peak** of a training step with :mod:`tracemalloc`, which sees
  NumPy's allocations. :func:`profile_step` records both side by side as a
  timeline over the step, so the two can be compared event by event.
- **Step strategies** that change how a step uses memory without copying the
  training loop: :class:`PlainStep` (what :class:`~nnstudio.core.train.Trainer`
  does), :class:`~nnstudio.core.checkpoint.Checkpointed` and
  :class:`~nnstudio.core.mixed_precision.MixedPrecision`.
  :class:`StrategyTrainer` plugs any of them into the Trainer through its one
  overridable method, ``train_batch``.
- **Batch-size search** (:func:`find_max_batch_size`): the largest batch whose
  measured step peak fits a budget, without ever allocating past it.
"""
from __future__ import annotations

import copy
import math
import re
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from .layers import Dense
from .losses import Loss, SoftmaxCrossEntropy
from .network import Sequential
from .optim import Optimizer
from .train import Trainer

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


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; binary units, as the OS tools show them."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


# ---------------------------------------------------------------------------
# Step strategies
# ---------------------------------------------------------------------------
class StepStrategy:
    """How one training step computes the gradients (and then updates).

    ``forward_backward(xb, yb)`` sets every parameter's ``.grad`` and returns
    ``(loss, logits)``; ``update(optimizer)`` applies them (mixed precision may
    skip). ``recorder`` (a :class:`MemoryTimeline`) is told about each
    forward/backward event when set; None costs nothing.
    """

    name = "baseline"

    def __init__(self, network: Sequential, loss: Loss | None = None):
        self.network = network
        self.loss = loss or SoftmaxCrossEntropy()
        self.recorder: MemoryTimeline | None = None

    # what a subclass provides
    def forward_backward(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def update(self, optimizer: Optimizer) -> bool:
        """Apply the gradients; return False if the step was skipped."""
        optimizer.step()
        return True

    def activation_arrays(self) -> list[np.ndarray]:
        """Arrays currently kept for the backward pass."""
        return [a for layer in self.network.layers for a in layer.cached_arrays()]

    def extra_resident(self) -> dict[str, list[np.ndarray]]:
        """Persistent arrays the strategy adds (mixed precision's fp16 weights)."""
        return {}

    def prepare_inputs(self, x: np.ndarray) -> np.ndarray:
        """The training set as this strategy wants to read batches from it."""
        return x

    def release(self) -> None:
        """Drop everything kept from the last step."""
        self.network.clear_cache()

    def _record(self, label: str, *work) -> None:
        if self.recorder is not None:
            self.recorder.record(label, self, work)


class PlainStep(StepStrategy):
    """The ordinary step, layer by layer: exactly what ``Sequential.forward/backward`` do."""

    name = "baseline"

    def forward_backward(self, xb, yb):
        rec = self.recorder is not None
        x = xb
        for i, layer in enumerate(self.network.layers):
            x_in, x = x, layer.forward(x, True)
            if rec:   # input and output are both alive while a layer runs
                self._record(f"forward {i} {layer.kind}", x_in, x)
            del x_in
        loss = self.loss.forward(x, yb)
        if rec:
            self._record("loss", x, getattr(self.loss, "probs", None))
        if not math.isfinite(loss):
            return loss, x
        g = self.loss.backward()
        for i in range(len(self.network.layers) - 1, -1, -1):
            g_in = _layer_backward(self.network.layers[i], g, i)
            if rec:
                self._record(f"backward {i} {self.network.layers[i].kind}", x, g, g_in)
            g = g_in
        return loss, x


def _layer_backward(layer, g, index):
    """Backward through one layer; the first Dense layer skips its input gradient, as the Trainer does."""
    if index == 0 and isinstance(layer, Dense):
        return layer.backward(g, need_input_grad=False)
    return layer.backward(g)


def make_strategy(kind: str, network: Sequential, loss: Loss | None = None, segments: int = 4,
                  **kwargs) -> StepStrategy:
    """'baseline' | 'checkpoint' | 'mixed' | 'mixed+checkpoint' -> a strategy for ``network``."""
    if kind in ("baseline", "plain", "fp32"):
        return PlainStep(network, loss)
    if kind in ("checkpoint", "checkpointing", "checkpointed"):
        from .checkpoint import Checkpointed
        return Checkpointed(network, segments, loss, **kwargs)
    if kind in ("mixed", "mixed precision", "fp16"):
        from .mixed_precision import MixedPrecision
        return MixedPrecision(network, loss, **kwargs)
    if kind in ("mixed+checkpoint", "checkpoint+mixed"):
        from .mixed_precision import MixedPrecision
        return MixedPrecision(network, loss, segments=segments, **kwargs)
    raise ValueError(f"unknown memory strategy {kind!r}; choose baseline, checkpoint, mixed or mixed+checkpoint")


class StrategyTrainer(Trainer):
    """A :class:`Trainer` whose step is done by a :class:`StepStrategy`.

    Same loop, events, pause/stop and divergence safety as the plain Trainer;
    only ``train_batch`` differs.
    """

    def __init__(self, network, optimizer, train, test=None, *, strategy: StepStrategy | None = None,
                 **kwargs):
        super().__init__(network, optimizer, train, test, **kwargs)
        self.strategy = strategy or PlainStep(network, self.loss)
        self.strategy.loss = self.loss
        self.x = self.strategy.prepare_inputs(self.x)
        self.skipped_steps = 0

    def train_batch(self, xb, yb):
        loss, out = self.strategy.forward_backward(xb, yb)
        if not math.isfinite(loss):
            return loss, out
        if not self.strategy.update(self.optimizer):
            self.skipped_steps += 1
        return loss, out


# ---------------------------------------------------------------------------
# Accounting
# ---------------------------------------------------------------------------
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
        return {"parameters": self.parameters, "gradients": self.gradients,
                "optimizer_state": self.optimizer_state, "fp16_weights": self.fp16_weights,
                "activations": self.activations, "resident": self.resident, "total": self.total,
                "per_layer": [list(p) for p in self.per_layer]}


def resident_bytes(network: Sequential, optimizer: Optimizer | None = None,
                   strategy: StepStrategy | None = None) -> dict[str, int]:
    """Bytes that live for the whole training run, by category."""
    params = network.parameters()
    extra = strategy.extra_resident() if strategy is not None else {}
    return {"parameters": unique_nbytes(p.data for p in params),
            "gradients": unique_nbytes(p.grad for p in params),
            "optimizer state": unique_nbytes(optimizer.state_buffers()) if optimizer is not None else 0,
            "fp16 weights": unique_nbytes(a for arrays in extra.values() for a in arrays)}


def account(network: Sequential, optimizer: Optimizer | None = None,
            strategy: StepStrategy | None = None) -> MemoryReport:
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
    return MemoryReport(res["parameters"], res["gradients"], res["optimizer state"], res["fp16 weights"],
                        acts, per_layer)


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
    resident: int                 # parameters + gradients + optimizer state (+ fp16 weights)
    measured_peak: int            # resident + tracemalloc peak of the step
    accounted_peak: int           # max over the timeline of the bytes counted from arrays
    activation_peak: int          # most bytes kept for backward at any time (activations + batch)
    seconds: float                # of this (traced, so slower) step

    @property
    def agreement(self) -> float:
        """accounted / measured (1.0 = perfect)."""
        return self.accounted_peak / self.measured_peak if self.measured_peak else float("nan")

    def as_dict(self) -> dict:
        return {"strategy": self.strategy, "batch_size": self.batch_size, "resident": self.resident,
                "measured_peak": self.measured_peak, "accounted_peak": self.accounted_peak,
                "activation_peak": self.activation_peak, "seconds": self.seconds}


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


def profile_step(strategy: StepStrategy, optimizer: Optimizer | None, x: np.ndarray, y: np.ndarray,
                 batch_size: int, seed: int = 0) -> StepProfile:
    """Run one training step with a timeline and tracemalloc; the network is updated as in training.

    Caches from earlier steps are dropped first so the step is measured on its own.
    """
    strategy.release()
    rng = np.random.default_rng(seed)
    resident = resident_bytes(strategy.network, optimizer, strategy)
    res_total = sum(resident.values())
    xb, yb = _gathered(strategy, x, y, batch_size, rng)
    with _Tracing() as tr:
        xb = xb.copy()   # the batch gathered from the dataset is part of the step
        timeline = MemoryTimeline(resident, xb, tr.base)
        strategy.recorder = timeline
        t0 = time.perf_counter()
        try:
            _, out = strategy.forward_backward(xb, yb)
            # Our optimizers update one parameter at a time with at most one
            # parameter-sized temporary (e.g. Adam's (1 - beta1) * g).
            if optimizer is not None:   # None: gradients only
                temp = max((p.data.nbytes for p in strategy.network.parameters()), default=0)
                timeline.record("update (optimizer temporaries)", strategy, (out,), extra_workspace=temp)
                strategy.update(optimizer)
                timeline.record("update done", strategy, (out,))
        finally:
            strategy.recorder = None
        seconds = time.perf_counter() - t0
        peak = tr.peak()
    act_peak = int(max(a + b for a, b in zip(timeline.bytes["activations"], timeline.bytes["batch"])))
    return StepProfile(strategy.name, batch_size, timeline, res_total, res_total + peak,
                       timeline.peak(), act_peak, seconds)


def measure_step_peak(strategy: StepStrategy, optimizer: Optimizer, x, y, batch_size: int,
                      seed: int = 0) -> int:
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


def time_steps(strategy: StepStrategy, optimizer: Optimizer, x, y, batch_size: int, steps: int = 5,
               seed: int = 0) -> float:
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


# ---------------------------------------------------------------------------
# Budgets and batch-size search
# ---------------------------------------------------------------------------
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000 ** 2, "mb": 1000 ** 2, "g": 1000 ** 3, "gb": 1000 ** 3,
          "t": 1000 ** 4, "tb": 1000 ** 4, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4}

# A laptop does not give one training process all of its RAM: the OS, a
# browser and the editor take their share. We assume 60% is usable.
PRESETS = {"8 GB laptop": 8, "16 GB laptop": 16, "32 GB workstation": 32}
USABLE_FRACTION = 0.6


def available_bytes() -> int:
    """Memory the OS says is available right now."""
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except (ImportError, OSError, AttributeError):  # psutil missing or unsupported platform
        return 4 * 1024 ** 3


def parse_budget(text: str | float) -> tuple[int, str]:
    """'2GB', '512 MiB', '1e9', '16 GB laptop' -> (bytes, description).

    GB/MB are decimal (10**9), GiB/MiB binary. A preset is 60% of that laptop's
    RAM, capped at 80% of what is free on this machine (so it is safe to try).
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"memory budget must be positive, got {text!r}")
        return int(value), format_bytes(value)
    s = str(text).strip()
    for name, gb in PRESETS.items():
        if s.lower() == name.lower() or s.lower().replace(" ", "") == name.lower().replace(" ", ""):
            want = int(gb * 1000 ** 3 * USABLE_FRACTION)
            free = int(available_bytes() * 0.8)
            if free < want:
                return free, f"{name}: {format_bytes(want)} usable, capped at 80% of the {format_bytes(free / 0.8)} free here"
            return want, f"{name}: {format_bytes(want)} usable ({USABLE_FRACTION:.0%} of its RAM)"
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)", s)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"cannot read memory budget {s!r}: use e.g. 2GB, 512MiB or "
                         f"one of: {', '.join(PRESETS)}")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if value < 1:
        raise ValueError(f"memory budget must be positive, got {s!r}")
    return int(value), format_bytes(value)


@dataclass
class BatchSearchResult:
    """Outcome of :func:`find_max_batch_size`; ``trials`` are the measured (batch, peak) pairs."""
    batch_size: int
    budget: int
    peak: int                       # measured step peak at batch_size
    resident: int
    bytes_per_sample: float         # slope of the fitted line
    fixed: float                    # its intercept (resident + batch-independent temporaries)
    trials: list[tuple[int, int]] = field(default_factory=list)
    capped: bool = False            # hit max_batch before the budget
    seconds: float = 0.0

    def predict(self, batch_size) -> np.ndarray:
        return self.fixed + self.bytes_per_sample * np.asarray(batch_size, dtype=float)

    def as_dict(self) -> dict:
        return {"batch_size": self.batch_size, "budget": self.budget, "peak": self.peak,
                "resident": self.resident, "bytes_per_sample": self.bytes_per_sample, "fixed": self.fixed,
                "trials": [list(t) for t in self.trials], "capped": self.capped, "seconds": self.seconds}


class BudgetTooSmall(ValueError):
    """Even the smallest batch does not fit the budget."""


def find_max_batch_size(strategy: StepStrategy, optimizer: Optimizer, x: np.ndarray, y: np.ndarray,
                        budget: int, max_batch: int | None = None, probes: tuple[int, int] = (16, 64),
                        margin: float = 0.01, progress=None) -> BatchSearchResult:
    """The largest batch whose measured training-step peak fits ``budget`` bytes.

    Works on copies of the network and optimizer (the originals are untouched).

    1. Estimate: profile two small probe batches (and, if the estimate says
       they fit, two larger ones, 4x and 8x the second, where fixed-size
       temporaries no longer blur the slopes). Every array of the step is
       either fixed or proportional to the batch, so each moment of the step
       (forward i, backward i, update) is a straight line in the batch size and
       the peak is the highest of those lines. The probes' tracemalloc/accounted
       ratio pads the estimate for temporaries inside operations.
    2. Confirm with measured steps: run the largest batch the estimate fits
       within ``margin``, rescale the estimate by measured/predicted, and close
       in (bisecting if a measurement ever overshoots) until less than
       ``margin`` is left to gain. A batch is only run when the current estimate
       says it fits with room to spare, so the search does not allocate past the
       budget; batches the estimate says would not fit are never run.
    The answer is within ``margin`` (plus a sample) of the largest batch that fits.
    """
    t0 = time.perf_counter()
    budget = int(budget)
    max_batch = int(max_batch or len(x))
    if max_batch < 1:
        raise ValueError("max_batch must be at least 1")
    strategy, optimizer = _private_copy(strategy, optimizer)
    if hasattr(strategy, "scaler"):   # measure the full step (update included), not a skipped one
        strategy.scaler.scale = 1.0
    x = strategy.prepare_inputs(x)    # batches come from the dataset as the trainer keeps it
    resident = sum(resident_bytes(strategy.network, optimizer, strategy).values())
    if resident >= budget:
        raise BudgetTooSmall(f"the budget {format_bytes(budget)} is smaller than the weights, gradients and "
                             f"optimizer state alone ({format_bytes(resident)})")
    safe = budget * (1 - margin)
    trials: list[tuple[int, int]] = []

    def measure(b):
        p = measure_step_peak(strategy, optimizer, x, y, b)
        trials.append((b, p))
        if progress is not None:
            progress(len(trials), b, p)
        return p

    # 1. the event model from profiled probes: small ones first, then (if the
    # small model says they fit) larger ones, where any fixed-size temporaries
    # no longer distort the per-sample slopes
    def event_model(b1, b2):
        prof1 = profile_step(strategy, optimizer, x, y, b1)
        prof2 = profile_step(strategy, optimizer, x, y, b2)
        strategy.release()
        trials.extend([(b1, prof1.measured_peak), (b2, prof2.measured_peak)])
        t1, t2 = prof1.timeline.totals().astype(float), prof2.timeline.totals().astype(float)
        s = (t2 - t1) / (b2 - b1)
        ratio = max(prof1.measured_peak / prof1.timeline.peak(), prof2.measured_peak / prof2.timeline.peak())
        return t1 - s * b1, s, max(1.0, ratio), prof1.measured_peak

    def predict(b, model):
        fixed_, slope_, ratio_ = model
        return float(np.max(fixed_ + slope_ * b)) * ratio_

    def largest_fitting(limit, model):
        """Largest batch the (convex, piecewise linear) model puts at or below limit."""
        fixed_, slope_, ratio_ = model
        lim = limit / ratio_
        if np.any(fixed_ + slope_ > lim):
            return 0
        pos = slope_ > 0
        return int(np.floor(np.min((lim - fixed_[pos]) / slope_[pos]))) if pos.any() else max_batch

    b1, b2 = sorted((max(1, min(probes[0], max_batch)), max(2, min(probes[1], max_batch))))
    if b1 == b2:
        b1 = 1
    fx, sl, ratio, p_first = event_model(b1, b2)
    if p_first > budget:
        raise BudgetTooSmall(f"even a batch of {b1} needs {format_bytes(p_first)} "
                             f"(budget {format_bytes(budget)})")
    model = (fx, sl, ratio)
    big1, big2 = 4 * b2, 8 * b2
    if big2 <= max_batch and largest_fitting(safe, model) >= big2:
        fx, sl, ratio, _ = event_model(big1, big2)
        model = (fx, sl, ratio)
    # 2. confirm with measured steps; each measurement recalibrates the model
    lo = max(b for b, p in trials if p <= budget)   # largest batch measured to fit
    hi = max_batch + 1                               # smallest batch measured not to fit
    limit = safe
    for _ in range(12):
        cand = min(largest_fitting(limit, model), max_batch)
        if cand >= hi:                     # the model disagrees with a measurement: bisect
            cand = (lo + hi) // 2
        if cand <= lo:
            break
        if hi > max_batch and lo > b2 and cand - lo < lo * margin:
            break                          # less than `margin` left to gain: not worth another big step
        predicted = predict(cand, model)
        p = measure(cand)
        if p <= budget:
            lo = cand
        else:
            hi = cand
        # the measured/modelled ratio at the newest point corrects the model near the answer
        model = (model[0], model[1], model[2] * p / predicted)
        limit = budget - max(2 * max(0.0, p - predicted), budget * margin / 10)
    slope = float(model[1][np.argmax(model[0] + model[1] * lo)]) * model[2]
    fixed = float(dict(trials)[lo] - slope * lo)
    peak = dict(trials)[lo]
    return BatchSearchResult(lo, budget, peak, resident, slope, fixed, trials, capped=lo == max_batch,
                             seconds=time.perf_counter() - t0)


def _private_copy(strategy: StepStrategy, optimizer: Optimizer) -> tuple[StepStrategy, Optimizer]:
    """Deep copies that share nothing with the caller's network (parameters stay shared between the two)."""
    recorder, strategy.recorder = strategy.recorder, None
    try:
        strategy.release()
        strategy_copy, optimizer_copy = copy.deepcopy((strategy, optimizer))
    finally:
        strategy.recorder = recorder
    return strategy_copy, optimizer_copy


def memory_curve(strategy: StepStrategy, optimizer: Optimizer, x, y, batch_sizes) -> list[tuple[int, int]]:
    """Measured step peak for each batch size (on a copy of the network)."""
    strategy, optimizer = _private_copy(strategy, optimizer)
    if hasattr(strategy, "scaler"):
        strategy.scaler.scale = 1.0
    x = strategy.prepare_inputs(x)
    return [(int(b), measure_step_peak(strategy, optimizer, x, y, int(b))) for b in batch_sizes]


# ---------------------------------------------------------------------------
# Comparing the three ways
# ---------------------------------------------------------------------------
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


def compare_strategies(network: Sequential, make_opt, x, y, batch_size: int, segments: int = 4,
                       steps: int = 5, kinds=("baseline", "checkpoint", "mixed"), progress=None) -> list[dict]:
    """Profile, time and check gradients of each strategy on copies of ``network``.

    ``make_opt(params)`` builds a fresh optimizer. Returns one dict per strategy
    (measured/accounted peaks, activation peak, seconds per step, max gradient
    difference from baseline) in the order of ``kinds``.
    """
    rng = np.random.default_rng(1)
    xb, yb = _batch(x, y, batch_size, rng)
    base_strategy = PlainStep(copy.deepcopy(network))
    rows = []
    for k, kind in enumerate(kinds):
        if progress is not None:
            progress(k, kind)
        net = copy.deepcopy(network)
        strategy = make_strategy(kind, net, segments=segments)
        opt = make_opt(net.parameters())
        diff = gradient_difference(base_strategy, strategy, xb, yb)
        # fresh copies again: the profile and timing steps update the weights
        net = copy.deepcopy(network)
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


def time_interleaved(kinds, sizes: list[int], x: np.ndarray, y: np.ndarray, batch_size: int, segments: int = 4,
                     rounds: int = 5, seed: int = 0, cancel=None) -> dict[str, float]:
    """Median seconds per training step of each strategy, measured in alternation.

    One step of each in turn, ``rounds`` times (after a warm-up round), so a
    neighbour's CPU load on a shared machine hits all of them alike. ``cancel``
    (e.g. a ``threading.Event``) ends it early when set; NaN for what was not timed.
    """
    from .optim import Adam
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


def lab_run(kind: str, sizes: list[int], train: tuple[np.ndarray, np.ndarray],
            test: tuple[np.ndarray, np.ndarray] | None, batch_size: int, segments: int = 4, epochs: int = 1,
            seed: int = 0, lr: float = 1e-3, on_trainer=None, on_step=None, init_scale: float = 2.0 ** 16,
            timing_steps: int = 3) -> LabRun:
    """Profile one step, time a few, then train ``epochs`` epochs of an MLP ``sizes`` with strategy ``kind``.

    ``on_trainer(trainer)`` receives the trainer before it runs (so a GUI can stop
    it); ``on_step(info)`` is connected to its "step" event. ``init_scale`` is
    mixed precision's first loss scale. ``timing_steps=0`` skips the timing
    (``seconds_per_step`` is then NaN: see :func:`time_interleaved`).
    """
    from .optim import Adam
    x, y = train
    net = Sequential.mlp(sizes, seed=seed)
    # profile and timing on a copy: the real run starts from the same weights for every way
    probe_net = copy.deepcopy(net)
    probe = make_strategy(kind, probe_net, segments=segments)
    probe_opt = Adam(probe_net.parameters(), lr=lr)
    xs = probe.prepare_inputs(x[:max(batch_size * 3, 1)])
    ys = y[:len(xs)]
    prof = profile_step(probe, probe_opt, xs, ys, batch_size, seed=seed)
    probe.release()
    sec = time_steps(probe, probe_opt, xs, ys, batch_size, steps=timing_steps, seed=seed) if timing_steps \
        else float("nan")
    del probe, probe_net, probe_opt, xs
    if kind == "mixed":
        from .mixed_precision import GradScaler
        strategy = make_strategy(kind, net, scaler=GradScaler(init_scale=init_scale))
    else:
        strategy = make_strategy(kind, net, segments=segments)
    trainer = StrategyTrainer(net, Adam(net.parameters(), lr=lr), train, test, strategy=strategy,
                              batch_size=min(batch_size, len(x)), epochs=epochs, seed=seed)
    if on_step is not None:
        trainer.events.connect("step", on_step)
    if on_trainer is not None:
        on_trainer(trainer)
    hist = trainer.run()
    strategy.release()
    scaler = getattr(strategy, "scaler", None)
    return LabRun(kind, prof, sec, [e["seconds"] for e in hist.epochs],
                  [e["test_accuracy"] for e in hist.epochs if e["test_accuracy"] is not None], len(x),
                  list(scaler.scale_history) if scaler else [], trainer.skipped_steps,
                  list(scaler.skipped_at) if scaler else [], getattr(strategy, "segments_used", None),
                  trainer.state)
