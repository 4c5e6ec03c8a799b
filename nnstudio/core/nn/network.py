"""Sequential networks: a list of layers applied in order, with a summary and a copy.

Saving and loading live in :mod:`nnstudio.core.nn.serialization`.
"""

from __future__ import annotations

import numpy as np

from .functional import softmax
from .layers import Dense, Dropout, Layer, Parameter, activation_layer, layer_from_config


class Sequential:
    """A network as a list of layers applied in order."""

    def __init__(self, layers: list[Layer] | None = None, input_size: int | None = None):
        self.layers: list[Layer] = []
        self.input_size = input_size
        # Free-form metadata carried through save/load (dataset, class names, ...).
        self.meta: dict = {}
        # The optimizer state found in a loaded file ({"kind", "steps", "buffers"}), or None.
        self.optimizer_state: dict | None = None
        for layer in layers or []:
            self.add(layer)

    # -- building ---------------------------------------------------------
    def add(self, layer: Layer) -> Sequential:
        if not isinstance(layer, Layer):
            raise TypeError(f"expected a Layer, got {type(layer).__name__}")
        if self.input_size is None and isinstance(layer, Dense) and not self.layers:
            self.input_size = layer.in_features
        self.layers.append(layer)
        return self

    @classmethod
    def mlp(
        cls,
        sizes: list[int],
        activation_name: str | list[str] = "relu",
        init: str = "he",
        dropout: float | list[float] = 0.0,
        seed: int | None = 0,
        dtype=np.float32,
    ) -> Sequential:
        """Build an MLP from sizes, e.g. ``[784, 128, 10]``; the output layer gets no activation.

        ``activation_name`` and ``dropout`` may be one value or one per hidden layer.
        """
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError("an MLP needs at least an input and an output size")
        for s in sizes:
            if s <= 0:
                raise ValueError(f"layer sizes must be positive, got {s}")
        n_hidden = len(sizes) - 2
        acts = activation_name if isinstance(activation_name, list) else [activation_name] * n_hidden
        drops = dropout if isinstance(dropout, list) else [dropout] * n_hidden
        if len(acts) != n_hidden or len(drops) != n_hidden:
            raise ValueError("need one activation and one dropout rate per hidden layer")
        rng = np.random.default_rng(seed)
        net = cls(input_size=sizes[0])
        for i in range(len(sizes) - 1):
            net.add(Dense(sizes[i], sizes[i + 1], init=init, rng=rng, dtype=dtype))
            if i < n_hidden:
                net.add(activation_layer(acts[i]))
                if drops[i] > 0:
                    net.add(Dropout(drops[i], seed=None if seed is None else seed + i + 1))
        return net

    # -- running ------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    __call__ = forward

    def backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``grad`` (dL/doutput); sets every parameter's ``.grad``.

        Returns dL/dinput, or None with ``need_input_grad=False`` (training does not
        need it, and the first Dense layer then skips its largest matmul).
        """
        first = self.layers[0]
        if need_input_grad or not isinstance(first, Dense):
            for layer in reversed(self.layers):
                grad = layer.backward(grad)
            return grad
        for layer in reversed(self.layers[1:]):
            grad = layer.backward(grad)
        return first.backward(grad, need_input_grad=False)

    def predict(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """Class scores (logits) for ``x``, computed in batches without training behaviour."""
        x = np.asarray(x)
        if x.ndim == 1:
            return self.predict(x[None, :], batch_size)[0]
        outs = [self.forward(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        self.clear_cache()
        return np.concatenate(outs) if outs else np.zeros((0, self.output_size))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.predict(x).astype(np.float64))

    def clear_cache(self) -> None:
        for layer in self.layers:
            layer.clear_cache()

    # -- parameters -----------------------------------------------------------
    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self) -> list[np.ndarray]:
        return [p.grad for p in self.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad.fill(0)

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def output_size(self) -> int:
        size = self._known_input_size()
        for layer in self.layers:
            size = layer.output_size(size)
        return size

    def _known_input_size(self) -> int:
        if self.input_size is None:
            raise ValueError("the network's input size is not known (it does not start with a Dense layer)")
        return self.input_size

    def sizes(self) -> list[int]:
        """Input size followed by every Dense layer's output size, e.g. [784, 128, 10]."""
        dense = self.dense_layers()
        return [dense[0].in_features] + [d.out_features for d in dense] if dense else []

    def get_weights(self) -> list[np.ndarray]:
        return [p.data.copy() for p in self.parameters()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        params = self.parameters()
        if len(weights) != len(params):
            raise ValueError(f"expected {len(params)} arrays, got {len(weights)}")
        for p, w in zip(params, weights):
            if p.data.shape != np.shape(w):
                raise ValueError(f"shape mismatch for {p.name}: {p.data.shape} vs {np.shape(w)}")
        for p, w in zip(params, weights):
            p.data[...] = w

    def summary(self) -> str:
        """A table of layers, output sizes and parameter counts."""
        rows = [("#", "layer", "output", "params")]
        size = self._known_input_size()
        rows.append(("", "input", str(size), ""))
        for i, layer in enumerate(self.layers):
            size = layer.output_size(size)
            n = sum(p.size for p in layer.parameters())
            rows.append((str(i), repr(layer), str(size), f"{n:,}" if n else ""))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = [
            "  ".join(cell.ljust(w) if c < 3 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths)))
            for r in rows
        ]
        lines.insert(1, "-" * len(lines[0]))
        lines.append("-" * len(lines[0]))
        lines.append(
            f"total parameters: {self.num_parameters():,} ({sum(p.data.nbytes for p in self.parameters()):,} bytes)"
        )
        return "\n".join(lines)

    def config(self) -> dict:
        return {"input_size": self.input_size, "architecture": [layer.config() for layer in self.layers]}

    @classmethod
    def from_config(cls, cfg: dict, seed: int | None = 0) -> Sequential:
        net = cls(input_size=cfg.get("input_size"))
        for layer_cfg in cfg["architecture"]:
            net.add(layer_from_config(layer_cfg, seed=seed))
        return net

    def copy(self, dtype=None) -> Sequential:
        """An independent copy: same layers, same weights (in ``dtype`` if given), same metadata.

        Nothing is shared with the original, so one can be trained or read on
        another thread while the other changes. Cached activations are not copied.
        """
        twin = Sequential.from_config(self.config())
        for dst, src in zip(twin.parameters(), self.parameters()):
            dst.data = np.array(src.data, dtype=dtype or src.data.dtype, copy=True)
            dst.grad = np.zeros_like(dst.data)
        twin.meta = {
            k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v) for k, v in self.meta.items()
        }
        return twin


# The course calls it a Network; both names work.
Network = Sequential
