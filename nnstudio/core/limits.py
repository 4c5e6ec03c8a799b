"""One table of valid hyperparameter ranges, read by the CLI, the window and the engine.

A value outside its range is refused with a message naming the range: nothing
anywhere clamps it silently. :func:`check` returns the value (converted) or
raises :class:`LimitError`; :func:`problem` returns the message or "".
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class LimitError(ValueError):
    """A hyperparameter outside its valid range; the message says the range."""


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
