"""Checks for the activations: shapes, a few known values, slopes against finite differences, the engine."""

from __future__ import annotations

import numpy as np

from nnstudio.core.nn.functional import get as engine_function

from ..checking import Checker, Mistake, fmt, numeric_gradient

NAMES = ("sigmoid", "tanh", "relu")
TINY = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
FORMULAS = {
    "sigmoid": "σ(x) = 1 / (1 + e^(−x))",
    "sigmoid_grad": "σ'(x) = σ(x)·(1 − σ(x))",
    "tanh": "np.tanh(x)",
    "tanh_grad": "tanh'(x) = 1 − tanh²(x)",
    "relu": "relu(x) = max(0, x), element by element: np.maximum(x, 0)",
    "relu_grad": "relu'(x) = 1 if x > 0 else 0",
}


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _mistakes(name: str, x: np.ndarray) -> list[Mistake]:
    s, t = _sig(x), np.tanh(x)
    if name == "sigmoid_grad":
        return [
            Mistake("sigmoid_squared", s * s, "That is σ(x)·σ(x). The slope is σ(x)·(1 − σ(x))."),
            Mistake("sigmoid_grad_of_x", x * (1 - x), "You wrote x·(1 − x): the formula needs σ(x), not x."),
            Mistake("sigmoid_value", s, "That is σ(x) itself, not its slope σ(x)·(1 − σ(x))."),
        ]
    if name == "tanh_grad":
        return [
            Mistake("tanh_not_squared", 1 - t, "That is 1 − tanh(x): the slope is 1 − tanh(x)², the square matters."),
            Mistake("tanh_grad_of_x", 1 - x * x, "You wrote 1 − x²: the formula squares tanh(x), not x."),
            Mistake("tanh_value", t, "That is tanh(x) itself, not its slope 1 − tanh²(x)."),
        ]
    if name == "relu_grad":
        return [
            Mistake(
                "relu_value", np.maximum(x, 0), "That is relu(x) itself: the slope is 1 where x > 0 and 0 elsewhere."
            ),
            Mistake(
                "relu_grad_at_zero",
                (x >= 0).astype(float),
                "At x = 0 your slope is 1; the engine (and this exercise) takes ReLU's slope at 0 as 0: use x > 0.",
            ),
        ]
    if name == "relu":
        return [Mistake("relu_is_step", (x > 0).astype(float), "That is the slope of ReLU, not ReLU: max(0, x).")]
    if name == "sigmoid":
        return [Mistake("sigmoid_sign", 1 / (1 + np.exp(x)), "That is 1 / (1 + e^x): the exponent is −x.")]
    return []


def check(c: Checker) -> None:
    fns = {}
    for name in NAMES:
        fns[name] = c.function(name, f"{name}(x)")
        fns[name + "_grad"] = c.function(name + "_grad", f"{name}_grad(x)")

    c.stage = "shapes"
    x = np.linspace(-1.5, 1.5, 6).reshape(2, 3)
    for key, fn in fns.items():
        got = c.call(f"{key} keeps the shape", fn, x.copy(), input=f"x of shape {x.shape}")
        c.shape(
            f"{key} keeps the shape",
            got,
            x.shape,
            f"x of shape {x.shape}",
            "Use NumPy functions (np.exp, np.maximum): they work element by element on the whole array.",
            what=f"{key}(x)",
        )

    c.stage = "tiny case"
    for name in NAMES:
        engine = engine_function(name)
        for key, want in ((name, engine.fn(TINY)), (name + "_grad", engine.grad(TINY))):
            got = c.call(f"{key} at a few points", fns[key], TINY.copy(), input=f"x = {fmt(TINY)}")
            c.close(
                f"{key} at a few points",
                got,
                want,
                f"x = {fmt(TINY)}",
                FORMULAS[key],
                _mistakes(key, TINY),
                rtol=1e-6,
                atol=1e-7,
                what=f"{key}(x)",
            )
    big = np.array([-1000.0, -50.0, 50.0, 1000.0])
    with np.errstate(all="ignore"):
        got = c.call("sigmoid of large inputs", fns["sigmoid"], big.copy(), input=f"x = {fmt(big)}")
    c.close(
        "sigmoid of large inputs",
        got,
        [0.0, 0.0, 1.0, 1.0],
        f"x = {fmt(big)}",
        "Write it as 1 / (1 + e^(−x)), or use e^(−|x|) on both sides, so that e^x / (1 + e^x) never meets inf/inf.",
        rtol=1e-6,
        atol=1e-12,
        what="sigmoid(x)",
        nan_message="sigmoid of a large number is nan or inf: e^x overflowed (inf / inf = nan). "
        "1 / (1 + e^(−x)) stays finite.",
    )

    c.stage = "gradient check"
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, 12)
    x = x[np.abs(x) > 0.05]  # ReLU has no slope at 0: keep finite differences away from it
    for name in NAMES:
        fn = fns[name]

        def total(v: np.ndarray, f=fn) -> float:
            return float(np.sum(f(v)))

        numeric = np.array([numeric_gradient(total, np.array([xi]))[0] for xi in x])
        got = c.call(f"{name}_grad against finite differences", fns[name + "_grad"], x.copy())
        c.close(
            f"{name}_grad against finite differences",
            got,
            numeric,
            f"x = {fmt(x, 4)}  (central differences of your {name}, eps 1e-6)",
            f"The slope of your {name} measured numerically; your {name}_grad should agree.",
            _mistakes(name + "_grad", x),
            rtol=1e-3,
            atol=1e-6,
            what=f"{name}_grad(x)",
        )

    c.stage = "engine comparison"
    x = rng.standard_normal((50, 4)) * 3
    for name in NAMES:
        engine = engine_function(name)
        for key, want in ((name, engine.fn(x)), (name + "_grad", engine.grad(x))):
            got = c.call(f"{key} on random inputs", fns[key], x.copy())
            c.close(
                f"{key} on random inputs",
                got,
                want,
                "200 random values, standard deviation 3",
                FORMULAS[key],
                _mistakes(key, x),
                rtol=1e-5,
                atol=1e-7,
                what=f"{key}(x)",
            )
