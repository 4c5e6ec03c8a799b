"""How one training step computes its gradients: the strategy interface and the plain step.

:class:`StepStrategy` is what gradient checkpointing
(:mod:`~nnstudio.core.memory.checkpoint`) and mixed precision
(:mod:`~nnstudio.core.memory.mixed_precision`) implement; :class:`StrategyTrainer`
plugs any of them into the :class:`~nnstudio.core.training.Trainer` through its one
overridable method, ``train_batch``. A strategy can report every forward/backward
event of a step to a recorder (:class:`~nnstudio.core.memory.accounting.MemoryTimeline`).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from nnstudio.core.nn.layers import Dense
from nnstudio.core.nn.losses import Loss, SoftmaxCrossEntropy
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Optimizer
from nnstudio.core.training.trainer import Trainer


class Recorder(Protocol):
    """Told about each event of a step (see :class:`~nnstudio.core.memory.accounting.MemoryTimeline`)."""

    def record(self, label: str, strategy: StepStrategy, work=(), extra_workspace: int = 0) -> None: ...


class StepStrategy:
    """How one training step computes the gradients (and then updates).

    ``forward_backward(xb, yb)`` sets every parameter's ``.grad`` and returns
    ``(loss, logits)``; ``update(optimizer)`` applies them (mixed precision may
    skip). ``recorder`` (a :class:`Recorder`) is told about each
    forward/backward event when set; None costs nothing.
    """

    name = "baseline"

    def __init__(self, network: Sequential, loss: Loss | None = None):
        self.network = network
        self.loss = loss or SoftmaxCrossEntropy()
        self.recorder: Recorder | None = None

    # what a subclass provides
    def forward_backward(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def update(self, optimizer: Optimizer) -> bool:
        """Apply the gradients; return False if the step was skipped."""
        optimizer.step()
        return True

    def activation_arrays(self) -> list[np.ndarray]:
        """Arrays currently kept for the backward pass."""
        return [a for layer in self.network.layers for a in layer.cached_arrays()]

    def extra_resident(self) -> dict[str, list[np.ndarray]]:
        """Persistent arrays the strategy adds (mixed precision's fp16 weights)."""
        return {}

    def prepare_inputs(self, x: np.ndarray) -> np.ndarray:
        """The training set as this strategy wants to read batches from it."""
        return x

    def release(self) -> None:
        """Drop everything kept from the last step."""
        self.network.clear_cache()

    def _record(self, label: str, *work) -> None:
        if self.recorder is not None:
            self.recorder.record(label, self, work)


class PlainStep(StepStrategy):
    """The ordinary step, layer by layer: exactly what ``Sequential.forward/backward`` do."""

    name = "baseline"

    def forward_backward(self, xb, yb):
        rec = self.recorder is not None
        x = xb
        for i, layer in enumerate(self.network.layers):
            x_in, x = x, layer.forward(x, True)
            if rec:  # input and output are both alive while a layer runs
                self._record(f"forward {i} {layer.kind}", x_in, x)
            del x_in
        loss = self.loss.forward(x, yb)
        if rec:
            self._record("loss", x, getattr(self.loss, "probs", None))
        if not math.isfinite(loss):
            return loss, x
        g = self.loss.backward()
        for i in range(len(self.network.layers) - 1, -1, -1):
            g_in = layer_backward(self.network.layers[i], g, i)
            if rec:
                self._record(f"backward {i} {self.network.layers[i].kind}", x, g, g_in)
            g = g_in
        return loss, x


def layer_backward(layer, g, index):
    """Backward through one layer; the first Dense layer skips its input gradient, as the Trainer does."""
    if index == 0 and isinstance(layer, Dense):
        return layer.backward(g, need_input_grad=False)
    return layer.backward(g)


class StrategyTrainer(Trainer):
    """A :class:`Trainer` whose step is done by a :class:`StepStrategy`.

    Same loop, events, pause/stop and divergence safety as the plain Trainer;
    only ``train_batch`` differs.
    """

    def __init__(self, network, optimizer, train, test=None, *, strategy: StepStrategy | None = None, **kwargs):
        super().__init__(network, optimizer, train, test, **kwargs)
        self.strategy = strategy or PlainStep(network, self.loss)
        self.strategy.loss = self.loss
        self.x = self.strategy.prepare_inputs(self.x)
        self.skipped_steps = 0

    def train_batch(self, xb, yb):
        loss, out = self.strategy.forward_backward(xb, yb)
        if not math.isfinite(loss):
            return loss, out
        if not self.strategy.update(self.optimizer):
            self.skipped_steps += 1
        return loss, out
