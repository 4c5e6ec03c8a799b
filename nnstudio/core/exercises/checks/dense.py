"""Checks for Dense: the shapes of y, dW, db and dx, a 2×2 case by hand, finite differences, the engine."""

from __future__ import annotations

import numpy as np

from nnstudio.core.nn.layers import Dense as EngineDense

from ..checking import Checker, Mistake, fmt, numeric_gradient

HINT_DW = "dW = x.T @ grad_y: the same shape as W"
HINT_DB = "db = grad_y.sum(axis=0): one number per output, summed over the batch"
HINT_DX = "dx = grad_y @ W.T: the same shape as x"


def _run(c: Checker, cls, W, b, x, g, check: str, input: str):
    layer = c.call(check, cls, W.copy(), b.copy(), input=input)
    y = c.call(check, layer.forward, x.copy(), input=input, hint="y = x @ W + b")
    dx = c.call(
        check,
        layer.backward,
        g.copy(),
        input=input,
        hint="shapes: dW = x.T @ grad_y, (in, N) @ (N, out); dx = grad_y @ W.T, (N, out) @ (out, in)",
    )
    return layer, y, dx


def _maybe(fn):
    """A wrong answer that only exists for some shapes (x @ W.T needs a square W), else None."""
    try:
        return fn()
    except ValueError:
        return None


def _mistakes(x, W, b, g) -> dict[str, list[Mistake]]:
    n = len(x)
    return {
        "y": [
            Mistake(
                "forward_transposed",
                _maybe(lambda: x @ W.T + b),
                "forward used W.T: y = x @ W + b, with W of shape (in, out).",
            ),
            Mistake("forward_no_bias", x @ W, "forward forgot the bias: y = x @ W + b."),
        ],
        "dW": [
            Mistake(
                "dW_transposed",
                g.T @ x,
                "Your dW is transposed: grad_y.T @ x has shape (out, in); W is (in, out), so dW = x.T @ grad_y.",
            ),
            Mistake(
                "dW_averaged",
                x.T @ g / n,
                "Your dW is divided by the batch size: the loss already averaged over the batch, so dW = x.T @ grad_y.",
            ),
        ],
        "db": [
            Mistake(
                "db_averaged",
                g.mean(axis=0),
                "Your db is the mean over the batch: sum it instead (grad_y.sum(axis=0)); "
                "the loss already divided by N.",
            ),
            Mistake("db_first_row", g[0], "Your db is only the first example's gradient: sum grad_y over the batch."),
        ],
        "dx": [
            Mistake(
                "dx_no_transpose",
                _maybe(lambda: g @ W),
                "Your input gradient multiplies by W: it needs W.T (dx = grad_y @ W.T).",
            ),
        ],
    }


def check(c: Checker) -> None:
    cls = c.function("Dense", "class Dense with __init__(self, W, b), forward(self, x) and backward(self, grad_y)")

    c.stage = "shapes"
    rng = np.random.default_rng(0)
    n, i, o = 4, 3, 2
    x, W, b, g = (
        rng.standard_normal((n, i)),
        rng.standard_normal((i, o)),
        rng.standard_normal(o),
        rng.standard_normal((n, o)),
    )
    inp = f"x {x.shape}, W {W.shape}, b {b.shape}, grad_y {g.shape}"
    layer, y, dx = _run(c, cls, W, b, x, g, "forward and backward run", inp)
    c.shape("y has shape (N, outputs)", y, (n, o), inp, "y = x @ W + b", what="y")
    c.shape(
        "dW has the shape of W",
        getattr(layer, "dW", None),
        (i, o),
        inp,
        HINT_DW,
        {(o, i): ("dW_transposed", "It is transposed: dW = x.T @ grad_y, not grad_y.T @ x.")},
        what="self.dW",
    )
    c.shape(
        "db has the shape of b",
        getattr(layer, "db", None),
        (o,),
        inp,
        HINT_DB,
        {
            (n, o): ("db_not_summed", "You did not sum the bias gradient over the batch: db = grad_y.sum(axis=0)."),
            (1, o): ("db_keepdims", "Drop the extra axis: grad_y.sum(axis=0), without keepdims."),
            (n,): ("db_wrong_axis", "You summed over the outputs: sum over the batch, axis=0."),
        },
        what="self.db",
    )
    c.shape(
        "dx has the shape of x",
        dx,
        (n, i),
        inp,
        HINT_DX,
        {(n, o): ("dx_is_grad_y", "backward returned grad_y itself: return grad_y @ W.T.")},
        what="the returned dx",
    )

    c.stage = "tiny case"
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    W = np.array([[0.5, -1.0], [2.0, 0.25]])
    b = np.array([0.1, -0.2])
    g = np.array([[1.0, 0.5], [-2.0, 1.0]])
    inp = f"x = {fmt(x)}\nW = {fmt(W)}\nb = {fmt(b)}\ngrad_y = {fmt(g)}"
    layer, y, dx = _run(c, cls, W, b, x, g, "by hand on a 2×2 layer", inp)
    wrong = _mistakes(x, W, b, g)
    c.close("y = x @ W + b", y, x @ W + b, inp, "y = x @ W + b", wrong["y"], what="y")
    c.close("dW by hand", getattr(layer, "dW", None), x.T @ g, inp, HINT_DW, wrong["dW"], what="self.dW")
    c.close("db by hand", getattr(layer, "db", None), g.sum(axis=0), inp, HINT_DB, wrong["db"], what="self.db")
    c.close("dx by hand", dx, g @ W.T, inp, HINT_DX, wrong["dx"], what="the returned dx")

    c.stage = "gradient check"
    n, i, o = 3, 4, 2
    x, W, b = rng.standard_normal((n, i)), rng.standard_normal((i, o)), rng.standard_normal(o)
    r = rng.standard_normal((n, o))  # L = sum(y * r), so dL/dy = r
    inp = f"random x {x.shape}, W {W.shape}, b {b.shape}; L = sum(y * R) for a random R, so grad_y = R"
    layer, y, dx = _run(c, cls, W, b, x, r, "finite differences", inp)
    wrong = _mistakes(x, W, b, r)

    def loss(x_, W_, b_) -> float:
        return float(np.sum(c.call("finite differences", cls(W_, b_).forward, x_) * r))

    c.close(
        "dW against finite differences",
        getattr(layer, "dW", None),
        numeric_gradient(lambda w: loss(x, w, b), W),
        inp,
        HINT_DW,
        wrong["dW"],
        rtol=1e-3,
        atol=1e-6,
        what="self.dW",
    )
    c.close(
        "db against finite differences",
        getattr(layer, "db", None),
        numeric_gradient(lambda bb: loss(x, W, bb), b),
        inp,
        HINT_DB,
        wrong["db"],
        rtol=1e-3,
        atol=1e-6,
        what="self.db",
    )
    c.close(
        "dx against finite differences",
        dx,
        numeric_gradient(lambda xx: loss(xx, W, b), x),
        inp,
        HINT_DX,
        wrong["dx"],
        rtol=1e-3,
        atol=1e-6,
        what="the returned dx",
    )

    c.stage = "engine comparison"
    for trial, (n, i, o) in enumerate(((32, 20, 10), (7, 5, 13))):
        engine = EngineDense(i, o, dtype=np.float64, seed=trial)
        engine.b.data[:] = rng.standard_normal(o)
        x, g = rng.standard_normal((n, i)), rng.standard_normal((n, o))
        want_y = engine.forward(x.copy())
        want_dx = engine.backward(g.copy())
        inp = f"random batch: N={n}, {i} inputs, {o} outputs (the engine's Dense with He weights)"
        layer, y, dx = _run(c, cls, engine.W.data, engine.b.data, x, g, f"the engine's Dense, {i}→{o}", inp)
        wrong = _mistakes(x, engine.W.data, engine.b.data, g)
        c.close(f"y like the engine's, {i}→{o}", y, want_y, inp, "y = x @ W + b", wrong["y"], what="y")
        c.close(f"dW like the engine's, {i}→{o}", getattr(layer, "dW", None), engine.W.grad, inp, HINT_DW, wrong["dW"])
        c.close(f"db like the engine's, {i}→{o}", getattr(layer, "db", None), engine.b.grad, inp, HINT_DB, wrong["db"])
        c.close(f"dx like the engine's, {i}→{o}", dx, want_dx, inp, HINT_DX, wrong["dx"], what="the returned dx")
