"""One table of valid hyperparameter ranges, read by the CLI, the window and the engine.

A value outside its range is refused with a message naming the range: nothing
anywhere clamps it silently. :func:`check` returns the value (converted) or
raises :class:`LimitError`; :func:`problem` returns the message or "".
"""

from __future__ import annotations

import math
import resource
from dataclasses import dataclass

import psutil

from nnstudio.core.fmt import format_bytes


class LimitError(ValueError):
    """A hyperparameter outside its valid range; the message says the range."""


class MemoryLimitError(LimitError, MemoryError):
    """A request (a network, a batch, a file's declared arrays) that would not fit in the memory available."""


@dataclass(frozen=True)
class Limit:
    """``lo <= value <= hi`` (``lo_open``/``hi_open`` make an end strict); ``integer`` values are whole numbers."""

    name: str
    label: str
    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    why: str = ""

    def describe(self) -> str:
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        return f"{left}{_num(self.lo)}, {_num(self.hi)}{right}"

    def problem(self, value) -> str:
        """'' if ``value`` is valid, else one sentence saying what is wrong."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                return f"{self.label} must be a number, got {value!r}"
        if not math.isfinite(value):
            return f"{self.label} must be a finite number, got {value!r}"
        if self.integer and float(value) != int(value):
            return f"{self.label} must be a whole number, got {value!r}"
        below = value <= self.lo if self.lo_open else value < self.lo
        above = value >= self.hi if self.hi_open else value > self.hi
        if below or above:
            why = f" ({self.why})" if self.why else ""
            return f"{self.label} {_num(value)} is out of range: it must be in {self.describe()}{why}"
        return ""

    def check(self, value):
        message = self.problem(value)
        if message:
            raise LimitError(message)
        return int(value) if self.integer else float(value)


def _num(v) -> str:
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}" if abs(v) >= 10_000 else str(int(v))
    return f"{v:g}"


LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("lr", "learning rate", 1e-6, 10.0, why="above 10 every optimizer here diverges at once"),
        Limit("momentum", "momentum", 0.0, 1.0, hi_open=True),
        Limit("beta1", "Adam's beta1", 0.0, 1.0, hi_open=True),
        Limit("beta2", "Adam's beta2", 0.0, 1.0, hi_open=True),
        Limit("eps", "Adam's eps", 0.0, 1.0, lo_open=True),
        Limit("weight_decay", "weight decay", 0.0, 1.0),
        Limit("dropout", "dropout rate", 0.0, 0.95, why="at least 5% of the units must stay"),
        Limit("batch_size", "batch size", 1, 1_000_000, integer=True),
        Limit("epochs", "epochs", 1, 10_000, integer=True),
        Limit("units", "layer size", 1, 65_536, integer=True),
        Limit("hidden_layers", "number of hidden layers", 0, 16, integer=True),
        Limit("seed", "seed", 0, 2**31 - 1, integer=True),
        Limit("segments", "checkpoint segments", 1, 1024, integer=True),
    )
}


def check(name: str, value):
    """``value`` converted to its type if it is within the limits of ``name``, else :class:`LimitError`."""
    return LIMITS[name].check(value)


def problem(name: str, value) -> str:
    """'' if ``value`` is valid for ``name``, else the message."""
    return LIMITS[name].problem(value)


# A request may take at most this share of the memory available now: the estimates count the arrays
# a step holds, not the interpreter, the window, transient copies or whatever else the machine runs.
MEMORY_FRACTION = 0.5


def available_memory() -> int:
    """Bytes this process may still allocate: what the OS reports available (``psutil``, the same figure
    on every platform), and no more than the headroom an address-space limit (``ulimit -v``) leaves."""
    try:
        avail = int(psutil.virtual_memory().available)
    except (OSError, AttributeError):  # an unsupported platform
        avail = 4 << 30
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            avail = min(avail, max(0, soft - psutil.Process().memory_info().vms))
    except (OSError, ValueError, AttributeError):
        pass
    return avail


def memory_problem(needed: int, what: str, available: int | None = None) -> str:
    """'' if ``needed`` bytes fit (at most half of the available memory), else one sentence with the estimate."""
    avail = available_memory() if available is None else int(available)
    if needed <= avail * MEMORY_FRACTION:
        return ""
    return (
        f"{what} would need about {format_bytes(needed)}, more than half of the {format_bytes(avail)} "
        "of memory available"
    )


def check_memory(needed: int, what: str, available: int | None = None) -> None:
    """Raise :class:`MemoryLimitError` (with the estimate) if ``needed`` bytes do not fit."""
    message = memory_problem(needed, what, available)
    if message:
        raise MemoryLimitError(message)
