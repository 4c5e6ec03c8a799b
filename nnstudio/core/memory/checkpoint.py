"""Gradient checkpointing, like ``torch.utils.checkpoint.checkpoint_sequential``.

The layers are cut into segments. In the forward pass every segment but the
last keeps only its *input* (the checkpoint) and drops what its layers cached;
the last segment runs normally. In the backward pass each dropped segment is
run forward again from its checkpoint, just before its backward. The same
operations run on the same numbers, so the gradients are identical to the
plain step's; the price is one extra forward pass of all but the last segment.

Where to cut: PyTorch cuts into equal numbers of layers. We cut so that the
largest moment of the step (checkpoints kept so far + one segment's
activations) is as small as possible, measured per sample on a two-row probe
batch. With ``balance="layers"`` the PyTorch rule is used instead.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from nnstudio.core.nn.losses import Loss
from nnstudio.core.nn.network import Sequential

from .accounting import unique_nbytes
from .step import StepStrategy, StrategyTrainer, layer_backward


class Checkpointed(StepStrategy):
    """Recompute-in-backward step with ``segments`` segments (1 = no checkpointing)."""

    name = "checkpoint"

    def __init__(self, network: Sequential, segments: int = 4, loss: Loss | None = None, balance: str = "memory"):
        super().__init__(network, loss)
        if not (isinstance(segments, (int, np.integer)) and segments >= 1):
            raise ValueError(f"checkpoint segments must be a whole number >= 1, got {segments!r}")
        if balance not in ("memory", "layers"):
            raise ValueError("balance must be 'memory' or 'layers'")
        self.segments = int(segments)
        self.balance = balance
        self.bounds: list[tuple[int, int]] | None = None
        self._checkpoints: list = []  # (input array, rng states) per segment, None once used
        self._last_out = None

    @property
    def segments_used(self) -> int:
        return len(self.bounds) if self.bounds else min(self.segments, len(self.network.layers))

    # -- planning ------------------------------------------------------------
    def plan(self, xb: np.ndarray) -> list[tuple[int, int]]:
        """Segment boundaries [(start, end), ...] over ``network.layers``."""
        layers = self.network.layers
        n = len(layers)
        k = max(1, min(self.segments, n))
        if self.balance == "layers" or k == 1:
            size = n // k
            cuts = [i * size for i in range(k)] + [n]
            return [(cuts[i], cuts[i + 1]) for i in range(k)]
        # per-sample bytes from a two-row probe: each layer's input, and what it caches
        states = _rng_states(layers)
        x = xb[:2]
        inputs, caches = [], []
        for layer in layers:
            inputs.append(x)
            x = layer.forward(x, True)
            caches.append(list(layer.cached_arrays()))
        _restore_rng(states)
        m = len(inputs[0])
        in_bytes = [a.nbytes / m for a in inputs]

        def seg_bytes(a, b):
            return unique_nbytes([inputs[a]] + [c for i in range(a, b) for c in caches[i]]) / m

        cost = [[seg_bytes(a, b) if b > a else 0.0 for b in range(n + 1)] for a in range(n)]
        self.network.clear_cache()

        def greedy(limit):
            """Cut as late as possible while checkpoints-so-far + segment <= limit."""
            out, a, kept = [], 0, 0.0
            while a < n:
                b = a + 1
                if kept + cost[a][b] > limit:
                    return None
                while b < n and kept + cost[a][b + 1] <= limit:
                    b += 1
                out.append((a, b))
                kept += in_bytes[a]
                a = b
            return out

        # smallest limit that k segments can meet (bisection on the limit)
        lo, hi = 0.0, sum(in_bytes) + cost[0][n]
        best = greedy(hi)
        for _ in range(60):
            mid = (lo + hi) / 2
            plan = greedy(mid)
            if plan is not None and len(plan) <= k:
                best, hi = plan, mid
            else:
                lo = mid
        return best

    # -- the step ------------------------------------------------------------
    def forward_backward(self, xb, yb):
        layers = self.network.layers
        if self.bounds is None:
            self.bounds = self.plan(xb)
        rec = self.recorder is not None
        last = len(self.bounds) - 1
        self._checkpoints = []
        x = xb
        for s, (a, b) in enumerate(self.bounds):
            states = _rng_states(layers[a:b]) if s < last else None
            self._checkpoints.append((x, states))
            for i in range(a, b):
                x_in, x = x, layers[i].forward(x, True)
                if rec:
                    self._record(f"forward {i} {layers[i].kind}", x_in, x)
                del x_in
            if s < last:
                for i in range(a, b):
                    layers[i].clear_cache()
                if rec:
                    self._record(f"checkpoint {s + 1}", x)
        self._last_out = x
        loss = self.loss.forward(x, yb)
        if rec:
            self._record("loss", x, getattr(self.loss, "probs", None))
        if not math.isfinite(loss):
            self._checkpoints = []
            return loss, x
        g = self.loss.backward()
        for s in range(last, -1, -1):
            a, b = self.bounds[s]
            x_in, states = self._checkpoints[s]
            if s < last:  # run the segment again to get back what its layers cache
                _restore_rng(states)
                y = x_in
                for i in range(a, b):
                    y_in, y = y, layers[i].forward(y, True)
                    if rec:
                        self._record(f"recompute {i} {layers[i].kind}", y_in, y, g)
                    del y_in
                del y
            for i in range(b - 1, a - 1, -1):
                g_in = layer_backward(layers[i], g, i)
                if rec:
                    self._record(f"backward {i} {layers[i].kind}", x, g, g_in)
                g = g_in
            for i in range(a, b):
                layers[i].clear_cache()
            self._checkpoints[s] = None
            del x_in
        self._checkpoints = []
        return loss, x

    def activation_arrays(self):
        kept = [c[0] for c in self._checkpoints if c is not None]
        return kept + super().activation_arrays()

    def release(self):
        self._checkpoints = []
        self._last_out = None
        super().release()


def _rng_states(layers) -> list:
    """Random-number state of layers that draw (Dropout), so a recomputation draws the same masks."""
    return [
        (layer, copy.deepcopy(layer._rng.bit_generator.state))
        for layer in layers
        if getattr(layer, "_rng", None) is not None
    ]


def _restore_rng(states) -> None:
    for layer, state in states or ():
        layer._rng.bit_generator.state = copy.deepcopy(state)


class CheckpointedTrainer(StrategyTrainer):
    """:class:`~nnstudio.core.training.Trainer` with gradient checkpointing over ``segments`` segments."""

    def __init__(self, network, optimizer, train, test=None, segments: int = 4, balance: str = "memory", **kwargs):
        super().__init__(
            network, optimizer, train, test, strategy=Checkpointed(network, segments, balance=balance), **kwargs
        )


def checkpoint_sequential(
    network: Sequential, segments: int, x: np.ndarray, y: np.ndarray, loss: Loss | None = None
) -> tuple[float, np.ndarray]:
    """One checkpointed forward + backward (sets the gradients), PyTorch's name for it."""
    return Checkpointed(network, segments, loss).forward_backward(x, y)
