"""Open an ONNX multilayer perceptron made elsewhere (PyTorch, Keras via tf2onnx, our own export).

What it reads: one float input of shape (N, features) or (N, C, H, W) (e.g. (N, 784) or
(N, 1, 28, 28)), then a single chain of Flatten/Reshape, Gemm (either ``transB``, any
``alpha``/``beta``) or MatMul followed by Add, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Elu,
Softplus, Gelu (tanh form), Identity and Dropout. A final Softmax is left out, because
nnstudio's networks end in logits and apply the softmax themselves (the probabilities are the
same). Anything else is refused with one line naming the operator.

The file is bounded before anything large is allocated: its size, and every initializer's
declared shape and byte count, are checked first.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.limits import LIMITS
from nnstudio.core.nn.layers import (
    Dense,
    Dropout,
    FunctionLayer,
    Identity,
    Layer,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.serialization import ModelFileError

from ._optional import MissingPackageError, require_onnx
from .onnx_export import METADATA_ARCHITECTURE

MAX_FILE_BYTES = 1 << 30  # 1 GiB: about 268 million float32 weights, far beyond any MLP here
MAX_PARAMETERS = 100_000_000
SUPPORTED = (
    "Flatten, Reshape, Gemm, MatMul+Add, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Elu, Softplus, Gelu, "
    "Identity, Dropout"
)
_FLOAT_TYPES = {1: np.float32, 10: np.float16, 11: np.float64}  # TensorProto FLOAT, FLOAT16, DOUBLE
_INT_TYPES = {6: np.int32, 7: np.int64}
_ACTIVATIONS: dict[str, type[Layer]] = {"Relu": ReLU, "Sigmoid": Sigmoid, "Tanh": Tanh}


def _f32(value: float) -> float:
    """A float attribute (stored as float32) as the short decimal people wrote: 0.01, not 0.0099999998."""
    return float(str(np.float32(value)))


class _Reader:
    """Walks one graph as a chain of layers; every problem is a ModelFileError naming the file."""

    def __init__(self, onnx: Any, model: Any, name: str):
        self.onnx, self.model, self.graph, self.name = onnx, model, model.graph, name
        self.constants: dict[str, Any] = {t.name: t for t in self.graph.initializer}
        self.total = 0

    def fail(self, message: str) -> ModelFileError:
        return ModelFileError(f"{self.name}: {message}")

    # -- tensors ------------------------------------------------------------------
    def array(self, tensor: Any, what: str) -> np.ndarray:
        """An initializer as a NumPy array, after checking its declared size against its bytes."""
        TensorProto = self.onnx.TensorProto
        dims = [int(d) for d in tensor.dims]
        if any(d < 0 for d in dims):
            raise self.fail(f"{what} has a negative dimension {dims}")
        count = math.prod(dims)
        if count > MAX_PARAMETERS:
            raise self.fail(f"{what} declares {count:,} values; nnstudio opens at most {MAX_PARAMETERS:,}")
        if tensor.data_location == TensorProto.EXTERNAL:
            raise self.fail(f"{what} is kept in a separate data file; nnstudio opens self-contained .onnx files")
        dtype = _FLOAT_TYPES.get(tensor.data_type) or _INT_TYPES.get(tensor.data_type)
        if dtype is None:
            raise self.fail(f"{what} has an unsupported element type ({tensor.data_type})")
        if tensor.HasField("raw_data"):
            stored = len(tensor.raw_data) // np.dtype(dtype).itemsize
        else:
            stored = len(tensor.float_data) + len(tensor.double_data) + len(tensor.int32_data) + len(tensor.int64_data)
        if stored != count:
            raise self.fail(f"{what} declares shape {dims} but holds {stored} values (corrupt file)")
        return np.asarray(self.onnx.numpy_helper.to_array(tensor))

    def weight(self, value: str, what: str) -> np.ndarray:
        if value not in self.constants:
            raise self.fail(f"{what} ({value!r}) is computed in the graph, not stored; nnstudio needs stored weights")
        arr = self.array(self.constants[value], what)
        if not np.issubdtype(arr.dtype, np.floating):
            raise self.fail(f"{what} is not floating point")
        if not np.all(np.isfinite(arr)):
            raise self.fail(f"{what} contains NaN or infinity")
        self.total += arr.size
        if self.total > MAX_PARAMETERS:
            raise self.fail(f"more than {MAX_PARAMETERS:,} weights; nnstudio opens smaller networks")
        return arr.astype(np.float32)

    # -- the graph --------------------------------------------------------------------
    def input_shape(self) -> tuple[str, list[int]]:
        inputs = [v for v in self.graph.input if v.name not in self.constants]
        if len(inputs) != 1:
            raise self.fail(f"the graph has {len(inputs)} inputs; nnstudio opens networks with one")
        value = inputs[0]
        tensor_type = value.type.tensor_type
        if tensor_type.elem_type not in _FLOAT_TYPES:
            raise self.fail(f"input {value.name!r} is not a float tensor")
        dims = list(tensor_type.shape.dim)
        features = [int(d.dim_value) if d.HasField("dim_value") else -1 for d in dims[1:]]
        if len(dims) not in (2, 4) or any(f <= 0 for f in features):
            shape = ["N"] + [str(f) if f > 0 else "?" for f in features]
            raise self.fail(
                f"input {value.name!r} has shape ({', '.join(shape)}); nnstudio opens inputs of shape "
                "(N, features) or (N, C, H, W), e.g. (N, 784) or (N, 1, 28, 28)"
            )
        for f in features:
            if f > LIMITS["units"].hi:
                raise self.fail(f"input {value.name!r} is too large ({features})")
        return value.name, features

    def read(self) -> Sequential:
        current, shape = self.input_shape()
        input_size = math.prod(shape)
        layers: list[Layer] = []
        bias_pending = False  # the last layer is a Dense from MatMul whose bias may follow in an Add
        opset = max((o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), default=1)
        for node in self.graph.node:
            op = node.op_type
            label = f"{op} (node {node.name!r})" if node.name else op
            if node.domain not in ("", "ai.onnx"):
                raise self.fail(f"unsupported ONNX operator {node.domain}.{op}; nnstudio opens {SUPPORTED}")
            if op == "Constant":
                self.constants[node.output[0]] = self._constant(node)
                continue
            data = [v for v in node.input if v and v not in self.constants]
            if op not in _HANDLED:
                raise self.fail(f"unsupported ONNX operator {label}; nnstudio opens {SUPPORTED}")
            if data != [current]:
                raise self.fail(f"{label} does not continue a single chain of layers; nnstudio opens plain MLPs")
            attrs = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
            pending, bias_pending = bias_pending, False
            if op in ("Flatten", "Reshape"):
                shape = self._flatten(op, node, attrs, shape, label)
            elif len(shape) != 1:
                raise self.fail(f"{label} gets a {len(shape) + 1}-D tensor; flatten the input first (Flatten)")
            elif op == "Gemm":
                layers.append(self._gemm(node, attrs, shape[0], label))
                shape = [layers[-1].output_size(shape[0])]
            elif op == "MatMul":
                if node.input[0] != current:
                    raise self.fail(f"{label} multiplies weights by the input; nnstudio reads input @ weights")
                w = self.weight(node.input[1], f"{label} weights")
                if w.ndim != 2 or w.shape[0] != shape[0]:
                    raise self.fail(f"{label} weights have shape {w.shape}, the layer gets {shape[0]} inputs")
                layers.append(self._dense(w, np.zeros(w.shape[1], np.float32)))
                shape, bias_pending = [w.shape[1]], True
            elif op == "Add":
                if not pending:
                    raise self.fail(
                        f"unsupported ONNX operator {label} (only as the bias after MatMul); nnstudio opens {SUPPORTED}"
                    )
                other = next(v for v in node.input if v != current)
                b = self.weight(other, f"{label} bias")
                dense = layers[-1]
                assert isinstance(dense, Dense)
                if b.size != dense.out_features or b.ndim > 2:
                    raise self.fail(f"{label} bias has shape {b.shape}, the layer has {dense.out_features} outputs")
                dense.b.data[...] = b.reshape(-1)
            else:
                layers.append(self._activation(op, node, attrs, label, opset))
            current = node.output[0]
        outputs = [v.name for v in self.graph.output]
        if current not in outputs:
            raise self.fail("the end of the chain of layers is not an output of the graph")
        if not any(isinstance(layer, Dense) for layer in layers):
            raise self.fail("the graph has no Gemm or MatMul layer: there is nothing to learn in it")
        if layers and isinstance(layers[-1], Softmax):
            layers.pop()  # nnstudio's networks end in logits; it applies the softmax itself
        net = Sequential(layers, input_size=input_size)
        net.output_size  # noqa: B018  (checks that the sizes chain up)
        return net

    def _constant(self, node: Any) -> Any:
        for a in node.attribute:
            if a.name == "value":
                return a.t
        raise self.fail(f"Constant node {node.name!r} is not a tensor constant")

    def _flatten(self, op: str, node: Any, attrs: dict, shape: list[int], label: str) -> list[int]:
        size = math.prod(shape)
        if op == "Flatten":
            axis = int(attrs.get("axis", 1))
            if axis < 0:
                axis += len(shape) + 1
            if axis != 1:
                raise self.fail(f"{label} with axis={attrs.get('axis')} is not supported (only axis=1)")
            return [size]
        target = (
            [int(v) for v in self.array(self.constants[node.input[1]], f"{label} shape").reshape(-1)]
            if (len(node.input) > 1 and node.input[1] in self.constants)
            else None
        )
        ok = (
            target is not None
            and len(target) == 2
            and target[0] in (0, -1)
            and target[1] in (-1, size)
            and target != [-1, -1]
        )
        if not ok:
            raise self.fail(f"{label} to {target} is not supported (only to (batch, features))")
        return [size]

    def _dense(self, w: np.ndarray, b: np.ndarray) -> Dense:
        """A Dense layer from weights (in, out) and bias (out,), sizes within the limits table."""
        for n in w.shape:
            if n > LIMITS["units"].hi:
                raise self.fail(f"a layer of {n:,} units is larger than nnstudio's limit ({LIMITS['units'].hi:,.0f})")
        dense = Dense(w.shape[0], w.shape[1], seed=0)
        dense.W.data = np.ascontiguousarray(w, dtype=np.float32)
        dense.W.grad = np.zeros_like(dense.W.data)
        dense.b.data[...] = b
        return dense

    def _gemm(self, node: Any, attrs: dict, n_in: int, label: str) -> Dense:
        if attrs.get("transA", 0):
            raise self.fail(f"{label} with transA=1 is not supported")
        if node.input[0] not in self.constants and len(node.input) >= 2 and node.input[1] not in self.constants:
            raise self.fail(f"{label} multiplies two computed values; nnstudio needs stored weights")
        w = self.weight(node.input[1], f"{label} weights")
        if w.ndim != 2:
            raise self.fail(f"{label} weights have shape {w.shape}")
        if attrs.get("transB", 0):
            w = w.T
        if w.shape[0] != n_in:
            raise self.fail(f"{label} weights have shape {w.shape}, the layer gets {n_in} inputs")
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        if alpha != 1.0:
            w = w * np.float32(alpha)
        b = np.zeros(w.shape[1], np.float32)
        if len(node.input) > 2 and node.input[2]:
            c = self.weight(node.input[2], f"{label} bias")
            if c.size not in (1, w.shape[1]) or c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1):
                raise self.fail(f"{label} bias has shape {c.shape}, the layer has {w.shape[1]} outputs")
            b = np.broadcast_to(c.reshape(-1), (w.shape[1],)).astype(np.float32)
            if beta != 1.0:
                b = b * np.float32(beta)
        return self._dense(w, b)

    def _activation(self, op: str, node: Any, attrs: dict, label: str, opset: int) -> Layer:
        if op in _ACTIVATIONS:
            return _ACTIVATIONS[op]()
        if op == "LeakyRelu":
            return LeakyReLU(_f32(attrs.get("alpha", 0.01)))
        if op == "Softmax":
            axis = int(attrs.get("axis", -1 if opset >= 13 else 1))
            if axis not in (-1, 1):
                raise self.fail(f"{label} over axis {axis} is not supported (only the last axis)")
            return Softmax()
        if op == "Elu":
            if _f32(attrs.get("alpha", 1.0)) != 1.0:
                raise self.fail(f"{label} with alpha={attrs['alpha']} is not supported (only alpha=1)")
            return FunctionLayer("elu")
        if op == "Softplus":
            return FunctionLayer("softplus")
        if op == "Gelu":
            approximate = attrs.get("approximate", b"none")
            approximate = approximate.decode() if isinstance(approximate, bytes) else str(approximate)
            if approximate != "tanh":
                raise self.fail(f"{label} in its exact (erf) form is not supported; nnstudio's GELU is the tanh form")
            return FunctionLayer("gelu")
        if op == "Dropout":
            ratio = attrs.get("ratio", 0.5)
            if len(node.input) > 1 and node.input[1] in self.constants:
                ratio = float(self.array(self.constants[node.input[1]], f"{label} ratio").reshape(-1)[0])
            ratio = _f32(ratio)
            return Dropout(ratio) if 0.0 < ratio < 1.0 else Identity()
        return Identity()  # Identity


_HANDLED = {
    "Flatten",
    "Reshape",
    "Gemm",
    "MatMul",
    "Add",
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Elu",
    "Softplus",
    "Gelu",
    "Identity",
    "Dropout",
}


def _restore_architecture(net: Sequential, props: dict[str, str]) -> Sequential:
    """Our own export: put back what ONNX does not carry (Dropout and Identity layers, the init)."""
    try:
        arch = json.loads(props[METADATA_ARCHITECTURE])
        original = Sequential.from_config({"input_size": net.input_size, "architecture": arch})
    except (KeyError, TypeError, ValueError):
        return net

    def computing(model: Sequential) -> list[dict]:
        return [
            {k: v for k, v in layer.config().items() if k != "init"}
            for layer in model.layers
            if not isinstance(layer, (Dropout, Identity))
        ]

    if computing(original) != computing(net) or any(isinstance(layer, Dropout) for layer in net.layers):
        return net
    original.set_weights(net.get_weights())
    return original


def load_onnx(path: str | os.PathLike) -> Sequential:
    """Open an ONNX MLP as a :class:`Sequential`. Raises :class:`ModelFileError` with one clear line."""
    path = Path(path)
    name = path.name
    try:
        onnx = require_onnx(f"opening {name}")
    except MissingPackageError as exc:
        raise ModelFileError(str(exc)) from None
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {name}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise ModelFileError(f"{name} is {size / 2**30:.1f} GiB; nnstudio opens ONNX files up to 1 GiB")
    try:
        model = onnx.load_model_from_string(path.read_bytes())
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {name}: {exc.strerror or exc}") from None
    except Exception as exc:  # protobuf's DecodeError and friends: the file is not ONNX
        raise ModelFileError(f"{name} is not a readable ONNX model (corrupt or truncated: {exc})") from None
    if not model.HasField("graph"):
        raise ModelFileError(f"{name} is not an ONNX model (no graph)")
    net = _Reader(onnx, model, name).read()
    props = {p.key: p.value for p in model.metadata_props}
    net = _restore_architecture(net, props)
    meta: dict[str, Any] = {"source": {"format": "onnx", "producer": model.producer_name or "unknown"}}
    if props.get("dataset"):
        meta["dataset"] = props["dataset"]
    try:
        names = json.loads(props.get("class_names", "null"))
    except ValueError:
        names = None
    if isinstance(names, list) and len(names) == net.output_size and all(isinstance(n, str) for n in names):
        meta["class_names"] = names
    net.meta = meta
    return net
