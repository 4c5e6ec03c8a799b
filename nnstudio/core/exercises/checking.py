"""The toolkit every exercise's checks are written with (it runs inside the check process).

A :class:`Checker` walks through the stages (shapes, the tiny case, finite differences, the engine
on random inputs, behaviour) and records one :class:`~.report.CheckResult` per check. The first
failure stops the run (:class:`CheckFailed`), so a learner fixes one thing at a time. A failing
value is compared with the *known wrong answers* of that step (:class:`Mistake`): when the
learner's answer equals one of them, the message names that mistake instead of only saying
"different".
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .report import CheckResult

FD_EPS = 1e-6  # central differences in float64
FD_RTOL = 1e-3


class CheckFailed(Exception):
    """Raised by :meth:`Checker.fail`: the run stops at the first failing check."""


@dataclass
class Mistake:
    """A typical wrong answer: ``value`` is what that mistake produces on the same input."""

    key: str
    value: Any
    message: str


def fmt(value: Any, precision: int = 6) -> str:
    """An answer as short text: arrays with a few significant digits, shapes included when useful."""
    if value is None:
        return "None"
    if isinstance(value, tuple) and not all(isinstance(v, (int, float, np.number)) for v in value):
        return "(" + ", ".join(fmt(v, precision) for v in value) + ")"
    if isinstance(value, np.ndarray) and value.dtype.kind in "iub":
        return np.array2string(value, threshold=60)
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return repr(value)[:400]
        text = np.array2string(arr, precision=precision, suppress_small=True, max_line_width=100, threshold=60)
        return text if arr.ndim < 2 else f"{text}   shape {arr.shape}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{precision + 2}g}"
    return repr(value)[:400]


def as_array(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or None if it is not numbers."""
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = FD_EPS) -> np.ndarray:
    """dF/dx by central differences (float64): how the course checks every derivative."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = float(f(x))
        flat[i] = old - eps
        down = float(f(x))
        flat[i] = old
        g[i] = (up - down) / (2 * eps)
    return grad


class Checker:
    """Records checks for one exercise; ``learner_file`` is the name the learner's code was compiled under."""

    def __init__(self, module: Any, learner_file: str = "<your code>", source: str = ""):
        self.module = module
        self.learner_file = learner_file
        self.source_lines = source.splitlines()
        self.results: list[CheckResult] = []
        self.stage = "load"
        self._passed: set[tuple[str, str]] = set()

    # -- recording ----------------------------------------------------------------------------
    def ok(self, name: str) -> None:
        """Record a passed check (once per name: a check repeated in a loop shows once)."""
        if (self.stage, name) not in self._passed:
            self._passed.add((self.stage, name))
            self.results.append(CheckResult(self.stage, name, True))

    def fail(
        self,
        name: str,
        message: str,
        input: str = "",
        expected: Any = "",
        got: Any = "",
        hint: str = "",
        mistake: str = "",
    ) -> None:
        self.results.append(
            CheckResult(
                self.stage,
                name,
                False,
                message,
                input,
                expected if isinstance(expected, str) else fmt(expected),
                got if isinstance(got, str) else fmt(got),
                hint,
                mistake,
            )
        )
        raise CheckFailed(message)

    # -- the learner's code -----------------------------------------------------------------------
    def function(self, name: str, signature: str) -> Callable:
        """The learner's function (or class) ``name``; a failure if it is missing."""
        obj = getattr(self.module, name, None)
        if not callable(obj):
            self.fail(
                f"{name} is defined",
                f"Your file has no {name}. Define {signature} (the starter file has it).",
                hint="Start from the starter: nnstudio exercise starter NAME, or the Reset button.",
            )
        return obj  # type: ignore[return-value]

    def call(self, check: str, fn: Callable, *args, input: str = "", hint: str = "") -> Any:
        """Run the learner's ``fn(*args)``; an exception becomes a failure that points at the line."""
        try:
            return fn(*args)
        except CheckFailed:
            raise
        except NotImplementedError as exc:
            where = self._where(exc)
            name = getattr(fn, "__qualname__", getattr(fn, "__name__", "this function"))
            self.fail(
                check,
                f"{name} is not written yet: it still raises NotImplementedError{where}. "
                "Replace that line with your code.",
                input=input,
                hint=hint,
                mistake="not_written",
            )
        except MemoryError as exc:
            self.fail(
                check,
                f"Your code ran out of memory{self._where(exc)}: an array far too large, or one that grows in a loop.",
                input=input,
                hint=hint,
                mistake="memory",
            )
        except Exception as exc:  # noqa: BLE001 - the learner's error, reported with its line
            self.fail(
                check,
                f"Your code raised {type(exc).__name__}: {exc}{self._where(exc)}",
                input=input,
                hint=hint,
                mistake="exception",
            )
        return None  # unreachable: fail() raises

    def _where(self, exc: BaseException) -> str:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == self.learner_file]
        if not frames:
            return ""
        frame = frames[-1]
        line = ""
        if frame.lineno and 0 < frame.lineno <= len(self.source_lines):
            line = self.source_lines[frame.lineno - 1].strip()
        return f" (line {frame.lineno}: {line})" if line else f" (line {frame.lineno})"

    # -- comparisons -----------------------------------------------------------------------------
    def shape(
        self,
        name: str,
        got: Any,
        shape: tuple,
        input: str = "",
        hint: str = "",
        wrong_shapes: dict[tuple, tuple[str, str]] | None = None,
        what: str = "the result",
    ) -> np.ndarray:
        """``got`` must be an array of ``shape``; a known wrong shape names its mistake."""
        arr = as_array(got)
        if arr is None:
            message = (
                f"{what} is None: did the function forget to return (or to set) it?"
                if got is None
                else f"{what} is not an array of numbers (got {type(got).__name__})."
            )
            self.fail(name, message, input, f"an array of shape {shape}", fmt(got), hint)
            return np.empty(0)
        if arr.shape != tuple(shape):
            key, message = "", f"{what} has shape {arr.shape}; it should have shape {tuple(shape)}."
            for bad, (k, m) in (wrong_shapes or {}).items():
                if arr.shape == tuple(bad):
                    key, message = k, f"{message} {m}"
            self.fail(name, message, input, f"shape {tuple(shape)}", f"shape {arr.shape}", hint, key)
        self.ok(name)
        return arr

    def close(
        self,
        name: str,
        got: Any,
        expected: Any,
        input: str = "",
        hint: str = "",
        mistakes: Sequence[Mistake] = (),
        rtol: float = 1e-6,
        atol: float = 1e-9,
        what: str = "the result",
        nan_message: str = "",
    ) -> None:
        """``got`` must equal ``expected`` (to rounding); if it equals a known mistake, say which.
        ``nan_message`` explains a nan or inf where the answer is finite (overflow, say)."""
        exp = np.asarray(expected, dtype=np.float64)
        arr = as_array(got)
        if arr is None or arr.shape != exp.shape:
            self.shape(name, got, exp.shape, input, hint, what=what)
        assert arr is not None
        if np.allclose(arr, exp, rtol=rtol, atol=atol, equal_nan=False):
            self.ok(name)
            return
        for m in mistakes:
            bad = as_array(m.value)
            if bad is not None and bad.shape == arr.shape and np.allclose(arr, bad, rtol=1e-5, atol=1e-8):
                self.fail(name, m.message, input, exp, arr, hint, m.key)
        if not np.all(np.isfinite(arr)):
            text = nan_message or f"{what} contains nan or inf where the right answer is finite."
        else:
            worst = float(np.max(np.abs(arr - exp)))
            text = f"{what} differs from the right answer (largest difference {worst:.3g})."
        self.fail(name, text, input, exp, arr, hint)
