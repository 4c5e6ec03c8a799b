"""Checks for the SGD step: shape, one step by hand, the engine's SGD, a walk down a bowl."""

from __future__ import annotations

import numpy as np

from nnstudio.core.nn.optim import SGD

from ..checking import Checker, Mistake, fmt
from ._optim import descends, engine_steps, unpack

HINT = "w - lr * g"


def check(c: Checker) -> None:
    fn = c.function("sgd_step", "sgd_step(w, g, lr)")

    c.stage = "shapes"
    w = np.arange(6.0).reshape(2, 3)
    inp = "w and g of shape (2, 3), lr = 0.1"
    unpack(
        c,
        "new weights",
        c.call("new weights", fn, w.copy(), np.ones_like(w), 0.1, input=inp),
        ("new_w",),
        w.shape,
        inp,
        HINT,
    )

    c.stage = "tiny case"
    w, g, lr = np.array([1.0, 2.0]), np.array([0.5, -1.0]), 0.1
    inp = f"w = {fmt(w)}, g = {fmt(g)}, lr = {lr}"
    (got,) = unpack(
        c, "one step by hand", c.call("one step by hand", fn, w.copy(), g.copy(), lr), ("new_w",), w.shape, inp, HINT
    )
    c.close(
        "one step by hand",
        got,
        w - lr * g,
        inp,
        HINT,
        [
            Mistake(
                "uphill", w + lr * g, "Your step goes uphill: the gradient points where the loss grows, so subtract it."
            ),
            Mistake("no_lr", w - g, "Your step ignores the learning rate: w − lr·g."),
            Mistake("returns_step", -lr * g, "You returned the step −lr·g; return the new weights w − lr·g."),
            Mistake("divides_lr", w - g / lr, "You divided by the learning rate: multiply, w − lr·g."),
        ],
        what="new_w",
    )

    c.stage = "engine comparison"
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal(8)
    grads = [rng.standard_normal(8) for _ in range(5)]
    want = engine_steps(lambda ps: SGD(ps, lr=0.05), w0, grads)
    w = w0.copy()
    for t, (g, ref) in enumerate(zip(grads, want), 1):
        (w,) = unpack(
            c,
            "five steps like the engine's SGD",
            c.call("engine", fn, w.copy(), g.copy(), 0.05),
            ("new_w",),
            w0.shape,
            "",
            HINT,
        )
        c.close(
            "five steps like the engine's SGD",
            w,
            ref,
            f"8 random weights, 5 random gradients, lr = 0.05; after step {t}",
            HINT,
            what="new_w",
        )

    c.stage = "behaviour"
    descends(c, lambda w, g, t: c.call("walks downhill on a bowl", fn, w, g, 0.1), HINT)
