"""Checks for the perceptron: its decision, then one step of the learning rule, then whole epochs."""

from __future__ import annotations

import numpy as np

from nnstudio.core.lessons.perceptron import PerceptronLearner, gate_data

from ..checking import Checker, Mistake, fmt

HINT_PREDICT = "1 if np.dot(inputs, weights) > threshold else 0"
HINT_RULE = "error = target - predict(...); weights + lr*error*inputs; threshold - lr*error"


def _pair(c: Checker, check: str, got, n: int, input: str) -> tuple[np.ndarray, float]:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        c.fail(
            check,
            "train_step should return two things: (new_weights, new_threshold).",
            input,
            "(array of the weights, a number)",
            fmt(got),
            HINT_RULE,
        )
    w = c.shape(check + ": new weights", got[0], (n,), input, HINT_RULE, what="new_weights")
    theta = np.asarray(got[1], dtype=np.float64)
    if theta.shape not in ((), (1,)):
        c.fail(check, "new_threshold should be one number.", input, "a number", fmt(got[1]), HINT_RULE)
    return w, float(theta.reshape(-1)[0])


def check(c: Checker) -> None:
    predict = c.function("predict", "predict(inputs, weights, threshold)")
    train_step = c.function("train_step", "train_step(weights, threshold, inputs, target, lr)")

    c.stage = "shapes"
    inp = "inputs=[1, 0], weights=[0.6, 0.4], threshold=0.5"
    out = c.call("predict answers 0 or 1", predict, np.array([1.0, 0.0]), np.array([0.6, 0.4]), 0.5, input=inp)
    if isinstance(out, (bool, np.bool_)) or out not in (0, 1):
        c.fail("predict answers 0 or 1", "predict should return the number 0 or 1.", inp, "0 or 1", fmt(out))
    c.ok("predict answers 0 or 1")
    inp = "weights=[0, 0], threshold=0, inputs=[1, 1], target=1, lr=0.1"
    got = c.call("train_step returns a pair", train_step, np.zeros(2), 0.0, np.ones(2), 1, 0.1, input=inp)
    _pair(c, "train_step returns a pair", got, 2, inp)

    c.stage = "tiny case"
    beach = np.array([0.6, 0.4])
    for x, want in (((1, 0), 1), ((0, 1), 0), ((1, 1), 1), ((0, 0), 0)):
        inp = f"sunny={x[0]}, weekend={x[1]}, weights=[0.6, 0.4], threshold=0.5"
        got = c.call(f"beach decision {x}", predict, np.array(x, dtype=float), beach, 0.5, input=inp)
        c.close(f"beach decision {x}", got, want, inp, HINT_PREDICT, what="predict")
    inp = "inputs=[1, 0], weights=[0.5, 0.5], threshold=0.5 (the sum equals the threshold)"
    got = c.call("a sum equal to the threshold", predict, np.array([1.0, 0.0]), np.array([0.5, 0.5]), 0.5, input=inp)
    c.close(
        "a sum equal to the threshold",
        got,
        0,
        inp,
        HINT_PREDICT,
        [Mistake("greater_or_equal", 1, "You answered 1 when the sum only equals the threshold: use '>', not '>='.")],
        what="predict",
    )

    # A wrong answer: the weights move towards the input, the threshold down.
    w0, x0 = np.zeros(2), np.ones(2)
    inp = "weights=[0, 0], threshold=0, inputs=[1, 1], target=1, lr=0.1 (predict says 0: wrong)"
    w, theta = _pair(c, "one update", c.call("one update", train_step, w0, 0.0, x0, 1, 0.1, input=inp), 2, inp)
    got = np.append(w, theta)
    c.close(
        "one update",
        got,
        [0.1, 0.1, -0.1],
        inp,
        HINT_RULE,
        [
            Mistake(
                "threshold_sign", [0.1, 0.1, 0.1], "The threshold moved the wrong way: θ − lr·error, not θ + lr·error."
            ),
            Mistake("no_lr", [1.0, 1.0, -1.0], "The step is 10 times too large: multiply the change by lr."),
            Mistake("weights_sign", [-0.1, -0.1, -0.1], "The weights moved away from the input: w + lr·error·x."),
            Mistake(
                "weights_sign",
                [-0.1, -0.1, 0.1],
                "Both moved the wrong way: error is target − output, not output − target.",
            ),
        ],
        what="(new_weights, new_threshold)",
    )
    if not np.array_equal(w0, np.zeros(2)):
        c.fail(
            "the given weights stay as they were",
            "train_step changed the weights array it was given; return a new array instead.",
            inp,
            "[0. 0.]",
            w0,
            "weights + lr * error * inputs makes a new array; weights += ... changes the caller's.",
            "in_place",
        )
    c.ok("the given weights stay as they were")
    # A right answer: nothing changes.
    inp = "weights=[0.5, 0.5], threshold=0.2, inputs=[1, 0], target=1, lr=0.1 (predict says 1: right)"
    got = c.call("no update when right", train_step, np.array([0.5, 0.5]), 0.2, np.array([1.0, 0.0]), 1, 0.1, input=inp)
    w, theta = _pair(c, "no update when right", got, 2, inp)
    c.close(
        "no update when right",
        np.append(w, theta),
        [0.5, 0.5, 0.2],
        inp,
        HINT_RULE,
        [
            Mistake(
                "always_update",
                [0.6, 0.5, 0.1],
                "You changed the weights although the answer was right: the change is lr·error·x, "
                "and error = target − output is 0 here.",
            )
        ],
        what="(new_weights, new_threshold)",
    )

    c.stage = "engine comparison"
    rng = np.random.default_rng(7)
    pts = rng.uniform(-1, 1, (24, 2))
    y = (pts @ np.array([1.5, -1.0]) > 0.2).astype(int)
    engine = PerceptronLearner(pts, y, lr=0.25)
    w, theta = np.zeros(2), 0.0
    for epoch in range(1, 6):
        for i in range(len(pts)):
            got = c.call("epochs on random points", train_step, w, theta, pts[i], int(y[i]), 0.25)
            w, theta = _pair(c, "epochs on random points", got, 2, f"point {i} of 24")
            engine.step()
        c.close(
            f"epoch {epoch} on 24 random points",
            np.append(w, theta),
            np.append(engine.weights, engine.threshold),
            f"24 random 2-D points, lr=0.25, after epoch {epoch} (weights, threshold)",
            HINT_RULE,
            what="(weights, threshold)",
        )

    c.stage = "behaviour"
    gx, gy = gate_data("AND")
    w, theta = np.zeros(2), 0.0
    for _epoch in range(50):
        mistakes = 0
        for xi, ti in zip(gx, gy):
            mistakes += int(c.call("learns AND", predict, xi, w, theta)) != ti
            w, theta = _pair(c, "learns AND", c.call("learns AND", train_step, w, theta, xi, int(ti), 0.1), 2, "AND")
        if mistakes == 0:
            break
    else:
        c.fail(
            "learns AND", "Your rule did not learn the AND gate in 50 epochs.", "the AND truth table", hint=HINT_RULE
        )
    c.ok("learns AND")
