"""An MLP described as data: build it, describe it, and say how much memory training it takes.

:class:`MLPSpec` is what the CLI's ``--layers/--activation/--dropout/--init`` and the
window's layer editor both produce; ``build(seed)`` makes the same network from
either. :meth:`MLPSpec.estimate_bytes` counts, without allocating anything, the
arrays a training step holds: the same categories, and for the network's own
arrays the same bytes, that :func:`nnstudio.core.memory.account` counts from a
live network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.limits import LIMITS

from .layers import INITS, Dense, Dropout, activation_key, activation_layer
from .network import Sequential

# Optimizer state per parameter, in parameter-sized arrays: the buffers that persist between steps
# (momentum's velocity; Adam's m and v) and Adam's preallocated scratch for its update.
OPTIMIZER_BUFFERS = {"sgd": 0, "momentum": 1, "adam": 2}
OPTIMIZER_SCRATCH = {"sgd": 0, "momentum": 0, "adam": 1}


@dataclass
class MemoryEstimate:
    """Bytes a training run holds, by category (see :meth:`MLPSpec.estimate_bytes`)."""

    parameters: int
    gradients: int
    optimizer_state: int
    activations: int  # kept for backward at the batch size, the input batch included
    workspace: int  # transient at the busiest moment of backward (gradients flowing back, probabilities)
    snapshots: int = 0  # the divergence guard's copies of weights + optimizer state
    dataset: int = 0  # the training and test arrays as the trainer holds them
    count: int = 0  # number of parameters

    LABELS = (
        ("parameters", "Weights and biases"),
        ("gradients", "Gradients"),
        ("optimizer_state", "Optimizer state"),
        ("activations", "Activations kept for backward"),
        ("workspace", "Temporaries during backward"),
        ("snapshots", "Divergence-guard snapshots"),
        ("dataset", "Dataset in memory"),
    )

    @property
    def total(self) -> int:
        return sum(getattr(self, key) for key, _ in self.LABELS)

    def rows(self) -> list[tuple[str, str, int]]:
        """(key, label, bytes) for every category."""
        return [(key, label, getattr(self, key)) for key, label in self.LABELS]

    def as_dict(self) -> dict:
        out = {key: getattr(self, key) for key, _ in self.LABELS}
        out.update(total=self.total, count=self.count)
        return out


@dataclass
class MLPSpec:
    """``inputs`` -> hidden layers (units, activation, dropout each) -> ``outputs`` logits."""

    inputs: int
    hidden: list[int]
    outputs: int
    activations: list[str] = field(default_factory=list)  # one per hidden layer ('relu', 'tanh', ...)
    dropout: list[float] = field(default_factory=list)  # one per hidden layer
    init: str = "he"

    def __post_init__(self):
        self.hidden = [int(h) for h in self.hidden]
        n = len(self.hidden)
        acts = list(self.activations) if self.activations else ["relu"]
        if len(acts) == 1 and n != 1:
            acts = acts * n
        drops = list(self.dropout) if self.dropout else [0.0]
        if len(drops) == 1 and n != 1:
            drops = drops * n
        if len(acts) != n:
            raise ValueError(f"give one activation or one per hidden layer ({n}), got {len(acts)}")
        if len(drops) != n:
            raise ValueError(f"give one dropout rate or one per hidden layer ({n}), got {len(drops)}")
        self.activations = [activation_key(a) for a in acts]
        self.dropout = [float(d) for d in drops]

    # -- conversions ------------------------------------------------------------------------------
    @classmethod
    def from_network(cls, net: Sequential) -> MLPSpec:
        """The spec of a built (or loaded) MLP: Dense layers with an activation and dropout between them."""
        hidden: list[int] = []
        acts: list[str] = []
        drops: list[float] = []
        dense = net.dense_layers()
        current: list | None = None
        for layer in net.layers:
            if isinstance(layer, Dense):
                if current is not None:
                    hidden.append(current[0])
                    acts.append(current[1])
                    drops.append(current[2])
                current = [layer.out_features, "linear", 0.0]
            elif isinstance(layer, Dropout) and current is not None:
                current[2] = layer.p
            elif current is not None:
                current[1] = _ACTIVATION_OF_KIND.get(layer.kind, getattr(getattr(layer, "act", None), "name", "linear"))
        return cls(
            net.input_size or (dense[0].in_features if dense else 0),
            hidden,
            dense[-1].out_features if dense else 0,
            acts,
            drops,
            dense[0].init if dense else "he",
        )

    @classmethod
    def from_editor(cls, d: dict, inputs: int, outputs: int) -> MLPSpec:
        """From the layer editor's ``{"hidden": [{"units", "activation", "dropout"}...], "init"}``."""
        rows = d.get("hidden", [])
        return cls(
            inputs,
            [r["units"] for r in rows],
            outputs,
            [r.get("activation", "relu") for r in rows],
            [r.get("dropout", 0.0) for r in rows],
            d.get("init", "he"),
        )

    def to_editor(self) -> dict:
        return {
            "hidden": [
                {"units": u, "activation": a, "dropout": p}
                for u, a, p in zip(self.hidden, self.activations, self.dropout)
            ],
            "init": self.init,
        }

    @property
    def sizes(self) -> list[int]:
        return [self.inputs, *self.hidden, self.outputs]

    def describe(self) -> str:
        """'784 → 128 → 10'."""
        return " → ".join(str(s) for s in self.sizes)

    def num_parameters(self) -> int:
        s = self.sizes
        return sum(a * b + b for a, b in zip(s[:-1], s[1:]))

    # -- checking and building ---------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Why this spec cannot be built, one sentence each (empty when it can)."""
        out = []
        for name, value in (("units", self.inputs), ("units", self.outputs), ("hidden_layers", len(self.hidden))):
            message = LIMITS[name].problem(value)
            if message:
                out.append(message)
        for i, (units, act, p) in enumerate(zip(self.hidden, self.activations, self.dropout), 1):
            message = LIMITS["units"].problem(units)
            if message:
                out.append(f"hidden layer {i}: {message}")
            try:
                activation_layer(act)
            except ValueError as exc:
                out.append(f"hidden layer {i}: {exc}")
            message = LIMITS["dropout"].problem(p)
            if message:
                out.append(f"hidden layer {i}: {message}")
        if self.init not in INITS:
            out.append(f"unknown init {self.init!r}; choose one of {', '.join(INITS)}")
        return out

    def build(self, seed: int | None = 0, dtype=np.float32) -> Sequential:
        """The network (the same seed gives the same initial weights). ValueError if the spec is invalid."""
        problems = self.problems()
        if problems:
            raise ValueError(problems[0])
        return Sequential.mlp(
            self.sizes, list(self.activations), init=self.init, dropout=list(self.dropout), seed=seed, dtype=dtype
        )

    # -- memory ------------------------------------------------------------------------------------
    def estimate_bytes(
        self,
        batch_size: int = 128,
        optimizer: str = "adam",
        itemsize: int = 4,
        snapshots: int = 0,
        dataset_bytes: int = 0,
    ) -> MemoryEstimate:
        """What training this network takes, counted from shapes alone (nothing is allocated).

        ``snapshots`` copies of weights and optimizer state are the trainer's divergence
        guard (:attr:`nnstudio.core.training.Trainer.SNAPSHOTS`); ``dataset_bytes`` the data it trains on.
        """
        n = self.num_parameters()
        buffers = OPTIMIZER_BUFFERS.get(optimizer.lower(), 2)
        scratch = OPTIMIZER_SCRATCH.get(optimizer.lower(), 0)
        param_bytes = n * itemsize
        kept = self._kept_arrays(batch_size, itemsize)
        widths = self.sizes
        probs = batch_size * self.outputs * itemsize
        # busiest moment of backward: the gradient arriving at a Dense layer and the one it sends down
        flowing = max((batch_size * (a + b) * itemsize for a, b in zip(widths[:-1], widths[1:])), default=0)
        return MemoryEstimate(
            parameters=param_bytes,
            gradients=param_bytes,
            optimizer_state=param_bytes * (buffers + scratch),
            activations=kept,
            workspace=probs + flowing,
            snapshots=snapshots * param_bytes * (1 + buffers),
            dataset=int(dataset_bytes),
            count=n,
        )

    def _kept_arrays(self, batch: int, itemsize: int) -> int:
        """Bytes of the distinct arrays the layers keep for backward after a training forward pass
        (what each layer's ``cached_arrays()`` holds; an array two layers keep counts once)."""
        sizes: dict[int, int] = {}
        kept: set[int] = set()
        next_id = iter(range(1 << 30))

        def new(width: int, bytes_per: int = itemsize) -> int:
            i = next(next_id)
            sizes[i] = batch * width * bytes_per
            return i

        current, width = new(self.inputs), self.inputs  # the gathered input batch
        for i, units in enumerate([*self.hidden, self.outputs]):
            kept.add(current)  # Dense keeps its input
            current, width = new(units), units
            if i == len(self.hidden):
                break
            keeps = _KEEPS[self.activations[i]]
            if keeps == "mask":  # ReLU: a boolean mask, a new output
                kept.add(new(width, 1))
                current = new(width)
            elif keeps == "output":  # sigmoid/tanh/softmax keep what they return
                current = new(width)
                kept.add(current)
            elif keeps == "input":  # leaky ReLU and the function layers
                kept.add(current)
                current = new(width)
            # "nothing" (identity): the same array passes on
            if self.dropout[i] > 0:
                kept.add(new(width))  # the dropout mask
                current = new(width)
        return sum(sizes[i] for i in kept)


# What each activation keeps for backward (see the layers' cached_arrays()).
_KEEPS = {
    "relu": "mask",
    "leaky_relu": "input",
    "sigmoid": "output",
    "tanh": "output",
    "softmax": "output",
    "linear": "nothing",
    "elu": "input",
    "softplus": "input",
    "gelu": "input",
    "swish": "input",
}
_ACTIVATION_OF_KIND = {
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softmax": "softmax",
    "Identity": "linear",
}
