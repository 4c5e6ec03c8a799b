"""Checks for softmax cross-entropy: shapes, a tiny batch, huge logits, finite differences, the engine."""

from __future__ import annotations

import numpy as np

from nnstudio.core.nn.losses import SoftmaxCrossEntropy

from ..checking import Checker, Mistake, fmt, numeric_gradient

HINT_GRAD = "grad = (softmax(logits) − one_hot(labels)) / N"
HINT_LOSS = "loss = mean over the batch of −log p[label]"


def _reference(z, labels):
    engine = SoftmaxCrossEntropy()
    loss = engine.forward(z.copy(), labels)
    return loss, engine.backward().copy()


def _probs(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _grad_mistakes(z, labels) -> list[Mistake]:
    n = len(z)
    p = _probs(z)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), labels] = 1
    return [
        Mistake(
            "grad_not_divided", p - onehot, "Your gradient is N times too large: the loss is a mean, so divide by N."
        ),
        Mistake(
            "grad_no_onehot",
            p / n,
            "Your gradient is softmax / N: subtract 1 at each row's label (p − one_hot) before dividing by N.",
        ),
        Mistake(
            "grad_sign",
            (onehot - p) / n,
            "Your gradient has the wrong sign: it is (p − one_hot) / N, not (one_hot − p) / N.",
        ),
        Mistake("grad_is_probs", p, "You returned the probabilities: the gradient is (p − one_hot) / N."),
    ]


def _loss_mistakes(z, labels) -> list[Mistake]:
    n = len(z)
    logp = np.log(_probs(z))
    picked = logp[np.arange(n), labels]
    return [
        Mistake("loss_summed", -picked.sum(), "Your loss is summed over the batch: take the mean (divide by N)."),
        Mistake("loss_sign", picked.mean(), "Your loss is negative: it is −log p, and log of a probability is ≤ 0."),
    ]


def _pair(c: Checker, check: str, got, shape, input: str):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        c.fail(check, "Return two things: (loss, grad).", input, "(a number, an array)", fmt(got), HINT_GRAD)
    loss = np.asarray(got[0] if got[0] is not None else np.nan, dtype=np.float64)
    if got[0] is None or loss.size != 1:
        c.fail(
            check, "The loss should be one number (the mean over the batch).", input, "a number", fmt(got[0]), HINT_LOSS
        )
    grad = c.shape(check + ": grad has the shape of logits", got[1], shape, input, HINT_GRAD, what="grad")
    return float(loss.reshape(-1)[0]), grad


def check(c: Checker) -> None:
    fn = c.function("softmax_cross_entropy", "softmax_cross_entropy(logits, labels)")

    c.stage = "shapes"
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    inp = f"logits of shape {z.shape}, labels {fmt(labels)}"
    _pair(
        c, "returns (loss, grad)", c.call("returns (loss, grad)", fn, z.copy(), labels.copy(), input=inp), z.shape, inp
    )

    c.stage = "tiny case"
    z = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    labels = np.array([0, 2])
    inp = f"logits = {fmt(z)}\nlabels = {fmt(labels)}"
    loss, grad = _pair(
        c, "two examples by hand", c.call("two examples by hand", fn, z.copy(), labels.copy()), z.shape, inp
    )
    want_loss, want_grad = _reference(z, labels)
    c.close("the loss of two examples", loss, want_loss, inp, HINT_LOSS, _loss_mistakes(z, labels), what="loss")
    c.close("the gradient of two examples", grad, want_grad, inp, HINT_GRAD, _grad_mistakes(z, labels), what="grad")

    z = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 1000.0]])
    labels = np.array([0, 1])
    inp = f"logits = {fmt(z)}\nlabels = {fmt(labels)}"
    with np.errstate(all="ignore"):
        got = c.call("huge logits stay finite", fn, z.copy(), labels.copy(), input=inp)
    loss, grad = _pair(c, "huge logits stay finite", got, z.shape, inp)
    want_loss, want_grad = _reference(z, labels)
    overflow = (
        "e^1000 overflows to inf (and inf / inf = nan): subtract each row's max from the logits before "
        "np.exp; the probabilities do not change."
    )
    hint = "z = logits - logits.max(axis=1, keepdims=True)"
    c.close("huge logits: the loss", loss, want_loss, inp, hint, atol=1e-9, what="loss", nan_message=overflow)
    c.close("huge logits: the gradient", grad, want_grad, inp, hint, atol=1e-9, what="grad", nan_message=overflow)

    c.stage = "gradient check"
    z = rng.standard_normal((3, 4)) * 2
    labels = np.array([3, 0, 1])
    inp = f"random logits {z.shape}, labels {fmt(labels)}; central differences of your loss, eps 1e-6"
    loss, grad = _pair(
        c, "grad against finite differences", c.call("finite differences", fn, z.copy(), labels), z.shape, inp
    )

    def f(zz):
        value = c.call("finite differences", fn, zz.copy(), labels)
        return float(np.asarray(value[0]).reshape(-1)[0])

    c.close(
        "grad against finite differences",
        grad,
        numeric_gradient(f, z),
        inp,
        HINT_GRAD,
        _grad_mistakes(z, labels),
        rtol=1e-3,
        atol=1e-7,
        what="grad",
    )

    c.stage = "engine comparison"
    for n, k in ((64, 10), (5, 2)):
        z = rng.standard_normal((n, k)) * 4
        labels = rng.integers(0, k, n)
        inp = f"random logits ({n}, {k}), standard deviation 4, random labels"
        loss, grad = _pair(
            c, f"like the engine, {n}×{k}", c.call(f"like the engine, {n}×{k}", fn, z.copy(), labels), z.shape, inp
        )
        want_loss, want_grad = _reference(z, labels)
        c.close(
            f"loss like the engine's, {n}×{k}", loss, want_loss, inp, HINT_LOSS, _loss_mistakes(z, labels), what="loss"
        )
        c.close(
            f"grad like the engine's, {n}×{k}", grad, want_grad, inp, HINT_GRAD, _grad_mistakes(z, labels), what="grad"
        )
