"""Sequential networks: a list of layers, with summary and save/load.

File format (``.npz``, no pickle): arrays ``p0``, ``p1``, ... hold the
parameters in ``parameters()`` order; ``__meta__`` holds UTF-8 JSON bytes:

    {"format": "nnstudio-model", "version": 1,
     "architecture": [layer configs], "input_size": 784,
     "dataset": "mnist", "class_names": [...],
     "hyperparameters": {...}, "history": {...},
     "optimizer_state": {"kind": "Adam", "steps": 2345, "buffers": 4}}   (optional)

Optional arrays ``o0``, ``o1``, ... hold the optimizer's state buffers (Momentum's
velocity, Adam's m and v), so training can continue exactly where it stopped.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .layers import Dense, Dropout, Layer, Parameter, activation, layer_from_config

FORMAT_NAME = "nnstudio-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be loaded: corrupt, truncated, foreign or mismatched."""


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
    def add(self, layer: Layer) -> "Sequential":
        if not isinstance(layer, Layer):
            raise TypeError(f"expected a Layer, got {type(layer).__name__}")
        if self.input_size is None and isinstance(layer, Dense) and not self.layers:
            self.input_size = layer.in_features
        self.layers.append(layer)
        return self

    @classmethod
    def mlp(cls, sizes: list[int], activation_name: str | list[str] = "relu", init: str = "he",
            dropout: float | list[float] = 0.0, seed: int | None = 0, dtype=np.float32) -> "Sequential":
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
                net.add(activation(acts[i]))
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
        first = 0 if need_input_grad or not isinstance(self.layers[0], Dense) else 1
        for layer in reversed(self.layers[first:]):
            grad = layer.backward(grad)
        if first:
            return self.layers[0].backward(grad, need_input_grad=False)
        return grad

    def predict(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """Class scores (logits) for ``x``, computed in batches without training behaviour."""
        x = np.asarray(x)
        if x.ndim == 1:
            return self.predict(x[None, :], batch_size)[0]
        outs = [self.forward(x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        self.clear_cache()
        return np.concatenate(outs) if outs else np.zeros((0, self.output_size))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        from .layers import softmax
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
        size = self.input_size
        for layer in self.layers:
            size = layer.output_size(size)
        return size

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
        size = self.input_size
        rows.append(("", "input", str(size), ""))
        for i, layer in enumerate(self.layers):
            size = layer.output_size(size)
            n = sum(p.size for p in layer.parameters())
            rows.append((str(i), repr(layer), str(size), f"{n:,}" if n else ""))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(cell.ljust(w) if c < 3 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.append("-" * len(lines[0]))
        lines.append(f"total parameters: {self.num_parameters():,} "
                     f"({sum(p.data.nbytes for p in self.parameters()):,} bytes)")
        return "\n".join(lines)

    def config(self) -> dict:
        return {"input_size": self.input_size, "architecture": [layer.config() for layer in self.layers]}

    @classmethod
    def from_config(cls, cfg: dict, seed: int | None = 0) -> "Sequential":
        net = cls(input_size=cfg.get("input_size"))
        for layer_cfg in cfg["architecture"]:
            net.add(layer_from_config(layer_cfg, seed=seed))
        return net

    # -- save / load ------------------------------------------------------------
    def save(self, path: str | os.PathLike, hyperparameters: dict | None = None,
             history: dict | None = None, optimizer=None) -> None:
        """Write weights and metadata to ``path`` (atomically: a crash never leaves half a file).

        With ``optimizer``, its state buffers are saved too (see :func:`restore_optimizer`).
        """
        meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **self.config(),
                **{k: v for k, v in self.meta.items() if k not in ("hyperparameters", "history")},
                "hyperparameters": hyperparameters if hyperparameters is not None else self.meta.get("hyperparameters", {}),
                "history": history if history is not None else self.meta.get("history", {})}
        arrays = {f"p{i}": p.data for i, p in enumerate(self.parameters())}
        if optimizer is not None:
            buffers = optimizer.state_buffers()
            meta["optimizer_state"] = {"kind": optimizer.kind, "steps": optimizer.steps, "buffers": len(buffers)}
            arrays.update({f"o{i}": b for i, b in enumerate(buffers)})
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Sequential":
        """Load a model saved by :meth:`save`. Raises :class:`ModelFileError` with a clear reason."""
        path = Path(path)
        name = path.name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(f"cannot read model file {name}: {exc.strerror or exc}") from None
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
                files = {k: npz[k] for k in npz.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
            raise ModelFileError(f"{name} is not an nnstudio model (corrupt or truncated file: {exc})") from None
        if "__meta__" not in files:
            raise ModelFileError(f"{name} is not an nnstudio model (no metadata)")
        try:
            meta = json.loads(files.pop("__meta__").tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModelFileError(f"{name}: model metadata is damaged") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
            raise ModelFileError(f"{name} is not an nnstudio model")
        version = meta.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelFileError(f"{name} was written by a newer nnstudio (format version {version}); "
                                 f"this one reads version {FORMAT_VERSION}")
        try:
            net = cls.from_config(meta)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{name}: architecture is invalid ({exc})") from None
        params = net.parameters()
        opt_meta = meta.get("optimizer_state")
        opt_buffers = []
        if isinstance(opt_meta, dict):
            n_buf = opt_meta.get("buffers")
            opt_buffers = [files.pop(f"o{i}", None) for i in range(n_buf if isinstance(n_buf, int) else 0)]
            if any(b is None for b in opt_buffers):
                raise ModelFileError(f"{name}: optimizer state is incomplete")
        if len(files) != len(params):
            raise ModelFileError(f"{name}: expected {len(params)} weight arrays, found {len(files)}")
        for i, p in enumerate(params):
            arr = files.get(f"p{i}")
            if arr is None or arr.shape != p.data.shape:
                got = None if arr is None else arr.shape
                raise ModelFileError(f"{name}: weight array {i} has shape {got}, architecture needs {p.data.shape}")
            if not np.issubdtype(arr.dtype, np.floating):
                raise ModelFileError(f"{name}: weight array {i} is not floating point")
            if not np.all(np.isfinite(arr)):
                raise ModelFileError(f"{name}: weight array {i} contains NaN or infinity")
        for i, p in enumerate(params):
            p.data[...] = files[f"p{i}"]
        net.meta = {k: v for k, v in meta.items()
                    if k not in ("format", "version", "architecture", "input_size", "optimizer_state")}
        if opt_buffers:
            net.optimizer_state = {"kind": opt_meta.get("kind"), "steps": int(opt_meta.get("steps", 0)),
                                   "buffers": opt_buffers}
        return net


def restore_optimizer(net: Sequential, optimizer) -> bool:
    """Give ``optimizer`` the state saved with ``net`` if it is the same kind and shape. True if restored."""
    state = net.optimizer_state
    if not state or state.get("kind") != optimizer.kind:
        return False
    buffers = optimizer.state_buffers()
    if len(buffers) != len(state["buffers"]) or any(a.shape != b.shape for a, b in zip(buffers, state["buffers"])):
        return False
    for dst, src in zip(buffers, state["buffers"]):
        dst[...] = src
    optimizer.steps = state["steps"]
    return True


# The course calls it a Network; both names work.
Network = Sequential
