"""Checks for the Adam step: shapes, two steps by hand, the engine's Adam, a walk down a bowl."""

from __future__ import annotations

import numpy as np

from nnstudio.core.nn.optim import Adam

from ..checking import Checker, Mistake, fmt
from ._optim import descends, engine_steps, unpack

HINT = "m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; w − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)"
B1, B2, EPS = 0.9, 0.999, 1e-8


def _adam(w, g, m, v, t, lr, fix_m=True, fix_v=True, t_m=None, t_v=None):
    """The new (w, m, v); the flags make the typical wrong variants of the step."""
    t_m = t if t_m is None else t_m
    t_v = t if t_v is None else t_v
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g * g
    with np.errstate(all="ignore"):
        m_hat = m / (1 - B1**t_m) if fix_m else m
        v_hat = v / (1 - B2**t_v) if fix_v else v
        return w - lr * m_hat / (np.sqrt(v_hat) + EPS), m, v


def _m_mistakes(g, m, t) -> list[Mistake]:
    new_m = B1 * m + (1 - B1) * g
    return [
        Mistake("betas_swapped", (1 - B1) * m + B1 * g, "Your m weighs the new gradient by β₁: m = β₁·m + (1 − β₁)·g."),
        Mistake(
            "returns_hat",
            new_m / (1 - B1**t),
            "You returned the bias-corrected m̂: return m itself, the next step continues from it.",
        ),
        Mistake("m_is_g", g, "Your new m is just g: m is a running average, β₁·m + (1 − β₁)·g."),
    ]


def _v_mistakes(g, v, t) -> list[Mistake]:
    new_v = B2 * v + (1 - B2) * g * g
    return [
        Mistake(
            "v_not_squared", B2 * v + (1 - B2) * g, "Your v averages the gradient itself: it averages g², (1 − β₂)·g·g."
        ),
        Mistake(
            "returns_hat",
            new_v / (1 - B2**t),
            "You returned the bias-corrected v̂: return v itself, the next step continues from it.",
        ),
        Mistake("v_abs", B2 * v + (1 - B2) * np.abs(g), "Your v averages |g|: it averages the square, g·g."),
    ]


def _w_mistakes(w, g, m, v, t, lr) -> list[Mistake]:
    def new_w(**kw):
        return _adam(w, g, m, v, t, lr, **kw)[0]

    return [
        Mistake(
            "no_bias_correction",
            new_w(fix_m=False, fix_v=False),
            "Your step has no bias correction: m and v start at 0, so divide them by (1 − β₁ᵗ) and (1 − β₂ᵗ) "
            "before the step.",
        ),
        Mistake(
            "no_bias_correction",
            new_w(fix_m=False),
            "m has no bias correction: use m̂ = m / (1 − β₁ᵗ) in the step (v̂ is corrected already).",
        ),
        Mistake(
            "no_bias_correction",
            new_w(fix_v=False),
            "v has no bias correction: use v̂ = v / (1 − β₂ᵗ) in the step (m̂ is corrected already).",
        ),
        Mistake(
            "t_off_by_one",
            new_w(t_m=t + 1, t_v=t + 1),
            "Your bias correction uses t + 1: t is already the step number (1 on the first step).",
        ),
        Mistake("t_off_by_one", new_w(t_m=t + 1), "m̂ uses t + 1: t is already the step number."),
        Mistake("t_off_by_one", new_w(t_v=t + 1), "v̂ uses t + 1: t is already the step number."),
        Mistake("uphill", 2 * w - new_w(), "Your step goes uphill: w − lr·m̂/(√v̂ + ε)."),
    ]


def check(c: Checker) -> None:
    fn = c.function("adam_step", "adam_step(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8)")
    names = ("new_w", "new_m", "new_v")

    c.stage = "shapes"
    w = np.arange(6.0).reshape(2, 3)
    inp = "w, g, m, v of shape (2, 3), t = 1, lr = 0.001"
    got = c.call(
        "returns (new_w, new_m, new_v)",
        fn,
        w.copy(),
        np.ones_like(w),
        np.zeros_like(w),
        np.zeros_like(w),
        1,
        0.001,
        input=inp,
    )
    unpack(c, "returns (new_w, new_m, new_v)", got, names, w.shape, inp, HINT)

    c.stage = "tiny case"
    cases = (
        ("first step by hand", np.array([1.0, -2.0]), np.array([0.1, -0.4]), np.zeros(2), np.zeros(2), 1),
        (
            "third step by hand",
            np.array([0.5, 1.5]),
            np.array([-0.2, 0.3]),
            np.array([0.05, 0.02]),
            np.array([0.002, 0.004]),
            3,
        ),
    )
    lr = 0.01
    for name, w, g, m, v, t in cases:
        inp = f"w = {fmt(w)}, g = {fmt(g)}, m = {fmt(m)}, v = {fmt(v)}, t = {t}, lr = {lr} (β₁ 0.9, β₂ 0.999, ε 1e-8)"
        got = c.call(name, fn, w.copy(), g.copy(), m.copy(), v.copy(), t, lr, input=inp)
        nw, nm, nv = unpack(c, name, got, names, w.shape, inp, HINT)
        want_w, want_m, want_v = _adam(w, g, m, v, t, lr)
        c.close(f"{name}: m", nm, want_m, inp, "m = β₁·m + (1 − β₁)·g", _m_mistakes(g, m, t), 1e-7, 1e-12, "new_m")
        c.close(f"{name}: v", nv, want_v, inp, "v = β₂·v + (1 − β₂)·g²", _v_mistakes(g, v, t), 1e-7, 1e-12, "new_v")
        c.close(f"{name}: w", nw, want_w, inp, HINT, _w_mistakes(w, g, m, v, t, lr), 1e-7, 1e-12, "new_w")

    c.stage = "engine comparison"
    rng = np.random.default_rng(8)
    w0 = rng.standard_normal(8)
    grads = [rng.standard_normal(8) * s for s in (1, 0.1, 3, 1, 0.01, 2)]
    want = engine_steps(lambda ps: Adam(ps, lr=0.01), w0, grads)
    w, m, v = w0.copy(), np.zeros(8), np.zeros(8)
    for t, (g, ref) in enumerate(zip(grads, want), 1):
        got = c.call("six steps like the engine's Adam", fn, w.copy(), g.copy(), m.copy(), v.copy(), t, 0.01)
        w, m, v = unpack(c, "six steps like the engine's Adam", got, names, w0.shape, "", HINT)
        c.close(
            "six steps like the engine's Adam",
            w,
            ref,
            f"8 random weights, 6 random gradients of different sizes, lr = 0.01; after step {t}",
            HINT,
            rtol=1e-6,
            atol=1e-9,
            what="new_w",
        )

    c.stage = "behaviour"
    state = {"m": np.zeros(3), "v": np.zeros(3)}

    def step(w, g, t):
        got = c.call("walks downhill on a bowl", fn, w, g, state["m"], state["v"], t, 0.1)
        w, state["m"], state["v"] = unpack(c, "walks downhill on a bowl", got, names, (3,), "", HINT)
        return w

    descends(c, step, HINT, steps=400)
