"""Memory budgets and the batch-size search: the largest batch whose measured step fits.

Budgets are read with their true units: GB/MB are decimal (10**9), GiB/MiB binary (2**30).
"""

from __future__ import annotations

import copy
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.fmt import format_bytes
from nnstudio.core.limits import available_memory
from nnstudio.core.nn.optim import Optimizer

from .accounting import measure_step_peak, profile_step, resident_bytes
from .step import StepStrategy

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}

# A laptop does not give one training process all of its RAM: the OS, a
# browser and the editor take their share. We assume 60% is usable.
PRESETS = {"8 GB laptop": 8, "16 GB laptop": 16, "32 GB workstation": 32}
USABLE_FRACTION = 0.6


def available_bytes() -> int:
    """Memory available right now: the one figure every refusal uses (:func:`nnstudio.core.limits.available_memory`)."""
    return available_memory()


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
            want = int(gb * 1000**3 * USABLE_FRACTION)
            free = int(available_bytes() * 0.8)
            if free < want:
                return (
                    free,
                    f"{name}: {format_bytes(want)} usable, capped at 80% of the {format_bytes(free / 0.8)} free here",
                )
            return want, f"{name}: {format_bytes(want)} usable ({USABLE_FRACTION:.0%} of its RAM)"
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)", s)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"cannot read memory budget {s!r}: use e.g. 2GB, 512MiB or one of: {', '.join(PRESETS)}")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if value < 1:
        raise ValueError(f"memory budget must be positive, got {s!r}")
    return int(value), format_bytes(value)


@dataclass
class BatchSearchResult:
    """Outcome of :func:`find_max_batch_size`; ``trials`` are the measured (batch, peak) pairs."""

    batch_size: int
    budget: int
    peak: int  # measured step peak at batch_size
    resident: int
    bytes_per_sample: float  # slope of the fitted line
    fixed: float  # its intercept (resident + batch-independent temporaries)
    trials: list[tuple[int, int]] = field(default_factory=list)
    capped: bool = False  # hit max_batch before the budget
    seconds: float = 0.0

    def predict(self, batch_size) -> np.ndarray:
        return self.fixed + self.bytes_per_sample * np.asarray(batch_size, dtype=float)

    def as_dict(self) -> dict:
        return {
            "batch_size": self.batch_size,
            "budget": self.budget,
            "peak": self.peak,
            "resident": self.resident,
            "bytes_per_sample": self.bytes_per_sample,
            "fixed": self.fixed,
            "trials": [list(t) for t in self.trials],
            "capped": self.capped,
            "seconds": self.seconds,
        }


class BudgetTooSmall(ValueError):
    """Even the smallest batch does not fit the budget."""


def find_max_batch_size(
    strategy: StepStrategy,
    optimizer: Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    budget: int,
    max_batch: int | None = None,
    probes: tuple[int, int] = (16, 64),
    margin: float = 0.01,
    progress=None,
) -> BatchSearchResult:
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
    if hasattr(strategy, "scaler"):  # measure the full step (update included), not a skipped one
        strategy.scaler.scale = 1.0
    x = strategy.prepare_inputs(x)  # batches come from the dataset as the trainer keeps it
    resident = sum(resident_bytes(strategy.network, optimizer, strategy).values())
    if resident >= budget:
        raise BudgetTooSmall(
            f"the budget {format_bytes(budget)} is smaller than the weights, gradients and "
            f"optimizer state alone ({format_bytes(resident)})"
        )
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
        raise BudgetTooSmall(f"even a batch of {b1} needs {format_bytes(p_first)} (budget {format_bytes(budget)})")
    model = (fx, sl, ratio)
    big1, big2 = 4 * b2, 8 * b2
    if big2 <= max_batch and largest_fitting(safe, model) >= big2:
        fx, sl, ratio, _ = event_model(big1, big2)
        model = (fx, sl, ratio)
    # 2. confirm with measured steps; each measurement recalibrates the model
    lo = max(b for b, p in trials if p <= budget)  # largest batch measured to fit
    hi = max_batch + 1  # smallest batch measured not to fit
    limit = safe
    for _ in range(12):
        cand = min(largest_fitting(limit, model), max_batch)
        if cand >= hi:  # the model disagrees with a measurement: bisect
            cand = (lo + hi) // 2
        if cand <= lo:
            break
        if hi > max_batch and lo > b2 and cand - lo < lo * margin:
            break  # less than `margin` left to gain: not worth another big step
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
    return BatchSearchResult(
        lo, budget, peak, resident, slope, fixed, trials, capped=lo == max_batch, seconds=time.perf_counter() - t0
    )


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
