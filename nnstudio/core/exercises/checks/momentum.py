"""Checks for the momentum step: shapes, one step by hand, the engine's Momentum, a walk down a bowl."""

from __future__ import annotations

import numpy as np

from nnstudio.core.nn.optim import Momentum

from ..checking import Checker, Mistake, fmt
from ._optim import descends, engine_steps, unpack

HINT = "v = mu * v + g, then w - lr * v (the new v)"


def check(c: Checker) -> None:
    fn = c.function("momentum_step", "momentum_step(w, g, v, lr, mu)")

    c.stage = "shapes"
    w = np.arange(6.0).reshape(2, 3)
    inp = "w, g and v of shape (2, 3), lr = 0.1, mu = 0.9"
    got = c.call("returns (new_w, new_v)", fn, w.copy(), np.ones_like(w), np.zeros_like(w), 0.1, 0.9, input=inp)
    unpack(c, "returns (new_w, new_v)", got, ("new_w", "new_v"), w.shape, inp, HINT)

    c.stage = "tiny case"
    w, g, v, lr, mu = np.array([1.0, -1.0]), np.array([0.5, 0.5]), np.array([0.2, -0.2]), 0.1, 0.9
    inp = f"w = {fmt(w)}, g = {fmt(g)}, v = {fmt(v)}, lr = {lr}, mu = {mu}"
    got = c.call("one step by hand", fn, w.copy(), g.copy(), v.copy(), lr, mu, input=inp)
    nw, nv = unpack(c, "one step by hand", got, ("new_w", "new_v"), w.shape, inp, HINT)
    v1 = mu * v + g
    c.close(
        "one step by hand (w, then v)",
        np.concatenate([nw, nv]),
        np.concatenate([w - lr * v1, v1]),
        inp,
        HINT,
        [
            Mistake(
                "lr_in_velocity",
                np.concatenate([w - (mu * v + lr * g), mu * v + lr * g]),
                "Your velocity includes the learning rate (v = μv + lr·g, w − v). This exercise and the engine use "
                "PyTorch's form v = μv + g, w − lr·v: the same path for a fixed lr, but another velocity.",
            ),
            Mistake(
                "no_decay",
                np.concatenate([w - lr * (v + g), v + g]),
                "Your velocity never decays: multiply the old velocity by μ (v = μv + g).",
            ),
            Mistake(
                "old_velocity",
                np.concatenate([w - lr * v, v1]),
                "The weights moved with the old velocity: update v first, then move w with the new v.",
            ),
            Mistake(
                "uphill",
                np.concatenate([w + lr * v1, v1]),
                "Your step goes uphill: w − lr·v, not w + lr·v.",
            ),
            Mistake(
                "dampened",
                np.concatenate([w - lr * (mu * v + (1 - mu) * g), mu * v + (1 - mu) * g]),
                "You averaged (v = μv + (1 − μ)g): momentum here adds the whole gradient, v = μv + g.",
            ),
        ],
        what="(new_w, new_v)",
    )

    c.stage = "engine comparison"
    rng = np.random.default_rng(6)
    w0 = rng.standard_normal(8)
    grads = [rng.standard_normal(8) for _ in range(6)]
    want = engine_steps(lambda ps: Momentum(ps, lr=0.05, momentum=0.9), w0, grads)
    w, v = w0.copy(), np.zeros(8)
    for t, (g, ref) in enumerate(zip(grads, want), 1):
        got = c.call("six steps like the engine's Momentum", fn, w.copy(), g.copy(), v.copy(), 0.05, 0.9)
        w, v = unpack(c, "six steps like the engine's Momentum", got, ("new_w", "new_v"), w0.shape, "", HINT)
        c.close(
            "six steps like the engine's Momentum",
            w,
            ref,
            f"8 random weights, 6 random gradients, lr = 0.05, mu = 0.9, v starts at 0; after step {t}",
            HINT,
            what="new_w",
        )

    c.stage = "behaviour"
    state = {"v": np.zeros(3)}

    def step(w, g, t):
        got = c.call("walks downhill on a bowl", fn, w, g, state["v"], 0.05, 0.9)
        w, state["v"] = unpack(c, "walks downhill on a bowl", got, ("new_w", "new_v"), (3,), "", HINT)
        return w

    descends(c, step, HINT)
