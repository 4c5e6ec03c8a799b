"""What the three optimizer exercises share: unpacking the returned tuple, the engine's steps, a descent test."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnstudio.core.nn.layers import Parameter
from nnstudio.core.nn.optim import Optimizer

from ..checking import Checker, fmt


def unpack(
    c: Checker, check: str, got, names: tuple[str, ...], shape: tuple, input: str, hint: str
) -> list[np.ndarray]:
    """The learner's result as arrays of ``shape``: one array, or a tuple of len(names) arrays."""
    if len(names) == 1:
        got = (got,)
    elif not isinstance(got, (tuple, list)) or len(got) != len(names):
        c.fail(
            check, f"Return {len(names)} things: ({', '.join(names)}).", input, f"({', '.join(names)})", fmt(got), hint
        )
    return [c.shape(f"{check}: {n}", v, shape, input, hint, what=n) for n, v in zip(names, got)]


def engine_steps(
    make: Callable[[list[Parameter]], Optimizer], w0: np.ndarray, grads: list[np.ndarray]
) -> list[np.ndarray]:
    """The weights after each of the engine optimizer's steps with these gradients."""
    p = Parameter(w0.copy(), "w")
    opt = make([p])
    out = []
    for g in grads:
        p.grad[...] = g
        opt.step()
        out.append(p.data.copy())
    return out


def descends(
    c: Checker, step: Callable[[np.ndarray, np.ndarray, int], np.ndarray], hint: str, steps: int = 200
) -> None:
    """From w = 0, the learner's steps on L(w) = ½‖w − target‖² must end near target with a falling loss."""
    target = np.array([3.0, -1.0, 0.5])
    w = np.zeros(3)
    start = 0.5 * float(np.sum((w - target) ** 2))
    for t in range(1, steps + 1):
        w = step(w, w - target, t)
    end = 0.5 * float(np.sum((np.asarray(w, dtype=float) - target) ** 2))
    inp = f"L(w) = ½‖w − {fmt(target)}‖², starting at w = 0, {steps} steps"
    if not np.isfinite(end) or end > 0.01 * start:
        c.fail(
            "walks downhill on a bowl",
            f"After {steps} steps the loss went from {start:.4g} to {end:.4g}: your steps do not find the bottom.",
            inp,
            fmt(target),
            fmt(w),
            hint,
        )
    c.ok("walks downhill on a bowl")
