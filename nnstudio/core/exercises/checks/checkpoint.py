"""Checks for the checkpointed segment: what the forward keeps, recomputation counts, gradients against
plain backpropagation, finite differences and the engine's Checkpointed step."""

from __future__ import annotations

import copy

import numpy as np

from nnstudio.core.memory.checkpoint import Checkpointed
from nnstudio.core.nn.layers import Dense, Layer, Tanh
from nnstudio.core.nn.losses import SoftmaxCrossEntropy
from nnstudio.core.nn.network import Sequential

from ..checking import Checker, fmt, numeric_gradient

HINT_FWD = "checkpoints.append(x) before each segment; clear its layers' caches unless it is the last"
HINT_BWD = "for s from last to 0: recompute unless last; backward from b-1 down to a; clear the segment"


class NoCache(RuntimeError):
    """A layer was asked for its backward pass with nothing cached: its segment was not recomputed."""


class Tracked:
    """An engine layer that counts its forward passes and knows whether it holds a cache."""

    def __init__(self, layer, index: int, log: list):
        self.layer, self.index, self.log = layer, index, log
        self.forwards = 0
        self.cached = False
        self.kind = layer.kind

    def forward(self, x, training=True):
        self.forwards += 1
        self.cached = True
        out = self.layer.forward(np.asarray(x), True)
        self.log.append(("forward", self.index))
        return out

    def backward(self, grad):
        if not self.cached:
            raise NoCache(
                f"layer {self.index} ({self.kind}) was asked for its backward pass but holds no cache: "
                "its segment was not run forward again from its checkpoint"
            )
        self.log.append(("backward", self.index))
        return self.layer.backward(np.asarray(grad))

    def clear_cache(self):
        self.cached = False
        self.layer.clear_cache()

    def __repr__(self):
        return f"layer {self.index} ({self.kind})"


def _network(sizes: list[int], seed: int) -> Sequential:
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        dense = Dense(a, b, dtype=np.float64, rng=rng, init="xavier")
        dense.b.data[:] = rng.standard_normal(b) * 0.1
        layers.append(dense)
        if i < len(sizes) - 2:
            layers.append(Tanh())
    return Sequential(layers)


class Run:
    """The learner's forward and backward over tracked copies of ``net``'s layers."""

    def __init__(self, c: Checker, fwd, bwd, net: Sequential):
        self.c, self.fwd, self.bwd = c, fwd, bwd
        self.log: list = []
        # copies: the learner's passes and the reference passes never share a layer's cache
        self.layers = [Tracked(layer, i, self.log) for i, layer in enumerate(copy.deepcopy(net).layers)]
        self.peak_backward = 0

    def forward(self, bounds, x, check: str, input: str):
        got = self.c.call(check, self.fwd, self.layers, bounds, x.copy(), input=input, hint=HINT_FWD)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            self.c.fail(
                check,
                "checkpointed_forward should return (output, checkpoints).",
                input,
                "(output, checkpoints)",
                fmt(got),
                HINT_FWD,
            )
        return got

    def backward(self, bounds, checkpoints, grad, check: str, input: str):
        cached_counts: list[int] = []
        tracked = self.layers

        def spy(original):
            def wrapped(g):
                cached_counts.append(sum(layer.cached for layer in tracked))
                return original(g)

            return wrapped

        for layer in tracked:
            layer.backward = spy(Tracked.backward.__get__(layer))  # type: ignore[method-assign]
        try:
            got = self.bwd(self.layers, bounds, checkpoints, grad.copy())
        except NoCache as exc:
            self.c.fail(
                check,
                f"{str(exc)[0].upper()}{str(exc)[1:]}. Before a segment's backward (all but the last), run its "
                "layers forward again from checkpoints[s].",
                input,
                hint=HINT_BWD,
                mistake="no_recompute",
            )
        except Exception as exc:  # noqa: BLE001 - the learner's error, with its line
            backwards = [i for kind, i in self.log if kind == "backward"]
            if any(b > a for a, b in zip(backwards, backwards[1:])):
                self.c.fail(
                    check,
                    f"The layers' backward ran in forward order (layer {backwards[-2]}, then {backwards[-1]}): "
                    "within a segment go from its last layer down to its first (range(b - 1, a - 1, -1)).",
                    input,
                    hint=HINT_BWD,
                    mistake="backward_order",
                )
            self.c.fail(
                check,
                f"Your code raised {type(exc).__name__}: {exc}{self.c._where(exc)}",
                input,
                hint=HINT_BWD,
                mistake="exception",
            )
        self.peak_backward = max(cached_counts, default=0)
        return got


def _plain(net: Sequential, x, r):
    """Plain backpropagation of L = sum(out * r): output, input gradient, the Dense gradients."""
    out = net.forward(x.copy())
    gx = net.backward(r.copy())
    grads = [p.grad.copy() for p in net.parameters()]
    net.clear_cache()
    return out, gx, grads


def check(c: Checker) -> None:
    fwd = c.function("checkpointed_forward", "checkpointed_forward(layers, bounds, x)")
    bwd = c.function("checkpointed_backward", "checkpointed_backward(layers, bounds, checkpoints, grad)")
    rng = np.random.default_rng(9)

    c.stage = "shapes"
    net = _network([3, 5, 4, 2], seed=1)  # Dense Tanh Dense Tanh Dense: 5 layers
    bounds = [(0, 2), (2, 4), (4, 5)]
    x = rng.standard_normal((4, 3))
    r = rng.standard_normal((4, 2))
    inp = f"5 layers (Dense 3→5, Tanh, Dense 5→4, Tanh, Dense 4→2), bounds {bounds}, x {x.shape}"
    run = Run(c, fwd, bwd, net)
    out, checkpoints = run.forward(bounds, x, "the forward pass", inp)
    c.shape("output has shape (N, 2)", out, (4, 2), inp, HINT_FWD, what="output")
    if not isinstance(checkpoints, (list, tuple)) or len(checkpoints) != len(bounds):
        n = len(checkpoints) if isinstance(checkpoints, (list, tuple)) else fmt(checkpoints)
        c.fail(
            "one checkpoint per segment",
            "Keep one checkpoint (the segment's input) per segment.",
            inp,
            f"{len(bounds)} checkpoints",
            f"{n}",
            HINT_FWD,
        )
    c.ok("one checkpoint per segment")

    c.stage = "tiny case"
    plain_inputs = []
    y = x.copy()
    for layer in net.layers:
        plain_inputs.append(y)
        y = layer.forward(y, True)
    net.clear_cache()
    for s, (a, b) in enumerate(bounds):
        got = np.asarray(checkpoints[s], dtype=np.float64) if checkpoints[s] is not None else None
        if got is not None and got.shape == plain_inputs[a].shape and np.allclose(got, plain_inputs[a]):
            continue
        out_of_segment = plain_inputs[b] if b < len(plain_inputs) else y
        wrong = got is not None and got.shape == out_of_segment.shape and np.allclose(got, out_of_segment)
        c.fail(
            "checkpoints are the segments' inputs",
            f"checkpoints[{s}] is the output of segment {s}, not its input: append x before running the segment."
            if wrong
            else f"checkpoints[{s}] is not the input of segment {s} (layers {a}..{b - 1}).",
            inp,
            plain_inputs[a],
            got,
            HINT_FWD,
            "checkpoint_output" if wrong else "",
        )
    c.ok("checkpoints are the segments' inputs")
    kept = [layer for layer in run.layers if layer.cached and layer.index < bounds[-1][0]]
    if kept:
        c.fail(
            "dropped segments hold no cache",
            f"After the forward pass, {', '.join(map(repr, kept))} still hold their caches: clear every segment "
            "but the last (layer.clear_cache()), or checkpointing saves no memory.",
            inp,
            "only the last segment's layers cached",
            f"{len(kept)} layers of earlier segments cached",
            HINT_FWD,
            "no_clear",
        )
    c.ok("dropped segments hold no cache")
    grad_x = run.backward(bounds, checkpoints, r, "the backward pass", inp)
    _, want_gx, want_grads = _plain(net, x, r)
    c.shape("the input gradient has the shape of x", grad_x, x.shape, inp, HINT_BWD, what="the returned gradient")
    got_grads = [p.grad for layer in run.layers for p in layer.layer.parameters()]
    for i, (got, want) in enumerate(zip(got_grads, want_grads)):
        c.close(
            f"weight gradients like plain backpropagation ({i + 1} of {len(want_grads)})",
            got,
            want,
            inp,
            HINT_BWD,
            what="a weight gradient",
        )
    c.close(
        "the input gradient like plain backpropagation", grad_x, want_gx, inp, HINT_BWD, what="the returned gradient"
    )
    counts = [layer.forwards for layer in run.layers]
    want_counts = [2 if i < bounds[-1][0] else 1 for i in range(len(run.layers))]
    if counts != want_counts:
        last_twice = all(counts[i] == 2 for i in range(bounds[-1][0], len(counts)))
        c.fail(
            "each dropped segment runs forward twice, the last once",
            "You recomputed the last segment too: its caches were never dropped, so that forward pass is wasted."
            if last_twice
            else "Each layer of a dropped segment should run forward exactly twice (forward, then recompute), "
            "and the last segment's layers once.",
            inp,
            str(want_counts),
            str(counts),
            HINT_BWD,
            "recompute_last" if last_twice else "",
        )
    c.ok("each dropped segment runs forward twice, the last once")
    longest = max(b - a for a, b in bounds)
    if run.peak_backward > longest:
        c.fail(
            "one segment's caches at a time",
            f"During the backward pass {run.peak_backward} layers held caches at once; with segments of at most "
            f"{longest} layers that should be {longest}: clear each segment's caches after its backward.",
            inp,
            f"at most {longest}",
            str(run.peak_backward),
            HINT_BWD,
            "no_clear_after_backward",
        )
    c.ok("one segment's caches at a time")

    c.stage = "gradient check"

    def loss(xx):
        out_, _ = Run(c, fwd, bwd, net).forward(bounds, xx, "finite differences", "")
        return float(np.sum(np.asarray(out_) * r))

    run = Run(c, fwd, bwd, net)
    _, checkpoints = run.forward(bounds, x, "finite differences", inp)
    grad_x = run.backward(bounds, checkpoints, r, "finite differences", inp)
    c.close(
        "the input gradient against finite differences",
        grad_x,
        numeric_gradient(loss, x),
        inp + "; L = sum(output * R), central differences, eps 1e-6",
        HINT_BWD,
        rtol=1e-3,
        atol=1e-7,
        what="the returned gradient",
    )

    c.stage = "engine comparison"
    net = _network([20, 16, 16, 16, 16, 10], seed=3)  # 9 layers
    x = rng.standard_normal((32, 20))
    labels = rng.integers(0, 10, 32)
    engine = Checkpointed(net, segments=3, balance="layers")
    engine.forward_backward(x.copy(), labels)
    want = [p.grad.copy() for p in net.parameters()]
    bounds = engine.bounds or []
    inp = f"9 layers (20-16-16-16-16-10 with Tanh), batch 32, softmax cross-entropy, bounds {bounds}"
    run = Run(c, fwd, bwd, net)
    out, checkpoints = run.forward(bounds, x, "like the engine's Checkpointed", inp)
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(np.asarray(out, dtype=np.float64), labels)
    run.backward(bounds, checkpoints, loss_fn.backward(), "like the engine's Checkpointed", inp)
    engine_grads = [p.grad for layer in run.layers for p in layer.layer.parameters()]
    for i, (g, w) in enumerate(zip(engine_grads, want)):
        c.close(
            f"gradients like the engine's checkpointed step ({i + 1} of {len(want)})",
            g,
            w,
            inp,
            HINT_BWD,
            rtol=1e-9,
            atol=1e-12,
            what="a weight gradient",
        )
