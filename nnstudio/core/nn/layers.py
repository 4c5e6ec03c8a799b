"""Layers: the building blocks of a network.

Every layer has ``forward(x) -> y`` and ``backward(grad_y) -> grad_x``. A layer
keeps what its backward pass needs from the last forward pass. Trainable
layers hold :class:`Parameter` objects; ``backward`` *sets* their ``.grad``
(it does not accumulate), which is what the training loop needs and saves a
pass over memory per step.
"""

from __future__ import annotations

import numpy as np

from .functional import get as get_function
from .functional import softmax, stable_sigmoid

DEFAULT_DTYPE = np.float32


class Parameter:
    """A trainable array and its gradient, updated in place by optimizers."""

    __slots__ = ("data", "grad", "name")

    def __init__(self, data: np.ndarray, name: str = ""):
        self.data = data
        self.grad = np.zeros_like(data)
        self.name = name

    @property
    def shape(self):
        return self.data.shape

    @property
    def size(self) -> int:
        return self.data.size

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.data.shape}, dtype={self.data.dtype})"


class Layer:
    """Base class. Subclasses override forward/backward and, if trainable, parameters."""

    kind = "Layer"

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        return []

    def config(self) -> dict:
        """A JSON-able description from which :func:`layer_from_config` rebuilds the layer."""
        return {"type": self.kind}

    def output_size(self, input_size: int) -> int:
        return input_size

    def cached_arrays(self) -> list[np.ndarray]:
        """Arrays kept from the last forward pass for backward (memory accounting)."""
        return []

    def clear_cache(self) -> None:
        """Drop what forward kept (used by gradient checkpointing)."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.config().items() if k != "type")
        return f"{self.kind}({args})"


INITS = ("he", "xavier", "normal")


class Dense(Layer):
    """Fully connected layer: y = x @ W + b, with W of shape (in, out)."""

    kind = "Dense"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str = "he",
        seed: int | None = 0,
        dtype=DEFAULT_DTYPE,
        rng: np.random.Generator | None = None,
    ):
        in_features, out_features = int(in_features), int(out_features)
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Dense layer sizes must be positive, got {in_features}->{out_features}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        self.in_features, self.out_features, self.init = in_features, out_features, init
        rng = rng if rng is not None else np.random.default_rng(seed)
        if init == "he":
            std = np.sqrt(2.0 / in_features)
        elif init == "xavier":
            std = np.sqrt(2.0 / (in_features + out_features))
        else:
            std = 0.01
        self.W = Parameter((rng.standard_normal((in_features, out_features)) * std).astype(dtype), "W")
        self.b = Parameter(np.zeros(out_features, dtype=dtype), "b")
        self._x: np.ndarray | None = None

    def forward(self, x, training=True):
        self._x = x
        y = x @ self.W.data
        y += self.b.data
        return y

    def backward(self, grad, need_input_grad: bool = True):
        if self._x is None:
            raise RuntimeError("Dense.backward() needs a forward pass first (its input is not cached)")
        np.matmul(self._x.T, grad, out=self.W.grad)
        np.sum(grad, axis=0, out=self.b.grad)
        # The first layer's input gradient is never used in training: skipping it
        # saves a matmul as large as the forward one.
        return grad @ self.W.data.T if need_input_grad else None

    def parameters(self):
        return [self.W, self.b]

    def config(self):
        return {"type": self.kind, "in": self.in_features, "out": self.out_features, "init": self.init}

    def output_size(self, input_size):
        if input_size != self.in_features:
            raise ValueError(f"Dense expects {self.in_features} inputs, got {input_size}")
        return self.out_features

    def cached_arrays(self):
        return [self._x] if self._x is not None else []

    def clear_cache(self):
        self._x = None


class ReLU(Layer):
    kind = "ReLU"

    def __init__(self):
        self._mask = None

    def forward(self, x, training=True):
        self._mask = x > 0
        return np.maximum(x, 0)

    def backward(self, grad):
        return grad * self._mask

    def cached_arrays(self):
        return [self._mask] if self._mask is not None else []

    def clear_cache(self):
        self._mask = None


class LeakyReLU(Layer):
    kind = "LeakyReLU"

    def __init__(self, alpha: float = 0.01):
        self.alpha = float(alpha)
        self._x = None

    def forward(self, x, training=True):
        self._x = x
        return np.where(x > 0, x, x * x.dtype.type(self.alpha))

    def backward(self, grad):
        return np.where(self._x > 0, grad, grad * grad.dtype.type(self.alpha))

    def config(self):
        return {"type": self.kind, "alpha": self.alpha}

    def cached_arrays(self):
        return [self._x] if self._x is not None else []

    def clear_cache(self):
        self._x = None


class Sigmoid(Layer):
    kind = "Sigmoid"

    def __init__(self):
        self._y = None

    def forward(self, x, training=True):
        self._y = stable_sigmoid(x)
        return self._y

    def backward(self, grad):
        y = self._y
        return grad * y * (1 - y)

    def cached_arrays(self):
        return [self._y] if self._y is not None else []

    def clear_cache(self):
        self._y = None


class Tanh(Layer):
    kind = "Tanh"

    def __init__(self):
        self._y = None

    def forward(self, x, training=True):
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad):
        return grad * (1 - self._y * self._y)

    def cached_arrays(self):
        return [self._y] if self._y is not None else []

    def clear_cache(self):
        self._y = None


class Softmax(Layer):
    """Softmax as a layer (for inference or MSE on probabilities).

    For classification training use :class:`~nnstudio.core.nn.losses.SoftmaxCrossEntropy`
    on the logits instead: fused, it is cheaper and numerically stable.
    """

    kind = "Softmax"

    def __init__(self):
        self._y = None

    def forward(self, x, training=True):
        self._y = softmax(x)
        return self._y

    def backward(self, grad):
        y = self._y
        return y * (grad - np.sum(grad * y, axis=-1, keepdims=True))

    def cached_arrays(self):
        return [self._y] if self._y is not None else []

    def clear_cache(self):
        self._y = None


class Identity(Layer):
    """Passes its input through unchanged (PyTorch's ``nn.Identity``): the "linear" activation.

    Model files written before the rename call it ``Linear``; :func:`layer_from_config` reads both.
    """

    kind = "Identity"

    def forward(self, x, training=True):
        return x

    def backward(self, grad):
        return grad


class Dropout(Layer):
    """Inverted dropout: zeroes a fraction ``p`` of units while training, scales the rest."""

    kind = "Dropout"

    def __init__(self, p: float = 0.5, seed: int | None = 0):
        p = float(p)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {p}")
        self.p = p
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._mask = None

    def forward(self, x, training=True):
        if not training or self.p == 0.0:
            self._mask = None
            return x
        keep = 1.0 - self.p
        self._mask = (self._rng.random(x.shape, dtype=np.float32) < keep).astype(x.dtype)
        self._mask *= x.dtype.type(1.0 / keep)
        return x * self._mask

    def backward(self, grad):
        return grad if self._mask is None else grad * self._mask

    def config(self):
        return {"type": self.kind, "p": self.p}

    def cached_arrays(self):
        return [self._mask] if self._mask is not None else []

    def clear_cache(self):
        self._mask = None


class FunctionLayer(Layer):
    """Any activation of :data:`nnstudio.core.nn.functional.ACTIVATIONS` as an engine layer
    (keeps its input for backward)."""

    kind = "Function"

    def __init__(self, name: str):
        self.act = get_function(name)
        self._x = None

    def forward(self, x, training=True):
        self._x = x
        return self.act.fn(x).astype(x.dtype, copy=False)

    def backward(self, grad):
        return grad * self.act.grad(self._x).astype(grad.dtype, copy=False)

    def config(self):
        return {"type": self.kind, "name": self.act.name}

    def cached_arrays(self):
        return [self._x] if self._x is not None else []

    def clear_cache(self):
        self._x = None

    def __repr__(self):
        return f"Function({self.act.name})"


# Activation names people type (CLI --activation, the layer editor) -> the engine's layer.
ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "linear": Identity,
}
_ACTIVATION_ALIASES = {"leakyrelu": "leaky_relu", "identity": "linear", "none": "linear"}

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Dense, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, Identity, Dropout, FunctionLayer)
}
# Names older model files use for a layer type.
LEGACY_KINDS = {"Linear": "Identity"}


def activation_key(name: str) -> str:
    """The canonical activation name ('relu', 'leaky_relu', ..., 'linear') for what a person typed."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    return _ACTIVATION_ALIASES.get(key, key)


def activation(name: str) -> Layer:
    """Build an activation layer from its name ('relu', 'tanh', 'linear', ...)."""
    key = activation_key(name)
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key]()


def activation_layer(name: str) -> Layer:
    """The engine's own layer where one exists (faster), else a :class:`FunctionLayer` over
    :mod:`~nnstudio.core.nn.functional` (ELU, GELU, swish, softplus)."""
    key = activation_key(name)
    if key in ACTIVATIONS:
        return ACTIVATIONS[key]()
    return FunctionLayer(get_function(key).name)


def layer_from_config(cfg: dict, seed: int | None = 0) -> Layer:
    """Rebuild a layer from :meth:`Layer.config` output (also the names older files use)."""
    kind = cfg.get("type") if isinstance(cfg, dict) else None
    kind = LEGACY_KINDS.get(kind, kind) if isinstance(kind, str) else None
    if kind not in LAYER_TYPES:
        raise ValueError(f"unknown layer description: {cfg!r}")
    if kind == "Dense":
        return Dense(cfg["in"], cfg["out"], init=cfg.get("init", "he"), seed=seed)
    if kind == "LeakyReLU":
        return LeakyReLU(cfg.get("alpha", 0.01))
    if kind == "Dropout":
        return Dropout(cfg.get("p", 0.5), seed=seed)
    if kind == "Function":
        return FunctionLayer(cfg.get("name", ""))
    return LAYER_TYPES[kind]()
