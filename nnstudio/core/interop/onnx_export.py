"""An nnstudio network as an ONNX model (built with the ``onnx`` package, imported only when asked).

Dense -> Gemm (weights stored (out, in) with ``transB=1``, as PyTorch exports them), ReLU,
LeakyReLU, Sigmoid, Tanh, Softmax, ELU, Softplus -> the ONNX operator of the same name
(GELU -> Gelu, which needs opset 20); Dropout and Identity compute nothing at inference and
are left out. The graph has one input, ``input`` of shape (batch, features) with a named
batch dimension, and two outputs: ``logits`` (what the network computes) and
``probabilities`` (their softmax, what nnstudio shows). Class names, dataset, the nnstudio
version and our own layer list go into ``metadata_props``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio import __version__
from nnstudio.core.nn.layers import Dense, Dropout, FunctionLayer, Identity, Layer, LeakyReLU
from nnstudio.core.nn.network import Sequential

from ._optional import require_onnx
from .safetensors_io import ExportError

OPSET = 17
GELU_OPSET = 20  # the first opset with a Gelu operator
# The IR version that goes with each opset (a runtime from that time reads it).
_IR_VERSION = {17: 8, 20: 9}
INPUT_NAME = "input"
BATCH_DIM = "batch"
METADATA_ARCHITECTURE = "nnstudio_architecture"

_SIMPLE_OPS = {"ReLU": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh"}
_FUNCTION_OPS = {"elu": "Elu", "softplus": "Softplus", "gelu": "Gelu"}


def _opset_for(net: Sequential) -> int:
    uses_gelu = any(isinstance(layer, FunctionLayer) and layer.act.name == "gelu" for layer in net.layers)
    return GELU_OPSET if uses_gelu else OPSET


def _node_for(onnx: Any, i: int, layer: Layer, x: str, y: str, initializers: list) -> Any | None:
    """The ONNX node computing ``layer`` from value ``x`` into ``y`` (None for layers that do nothing)."""
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    name = f"{i}_{layer.kind}"
    if isinstance(layer, (Dropout, Identity)):
        return None
    if isinstance(layer, Dense):
        w = numpy_helper.from_array(np.ascontiguousarray(layer.W.data.T, dtype=np.float32), f"{i}.weight")
        b = numpy_helper.from_array(np.ascontiguousarray(layer.b.data, dtype=np.float32), f"{i}.bias")
        initializers += [w, b]
        return helper.make_node("Gemm", [x, w.name, b.name], [y], name=name, transB=1)
    if isinstance(layer, LeakyReLU):
        return helper.make_node("LeakyRelu", [x], [y], name=name, alpha=layer.alpha)
    if layer.kind == "Softmax":
        return helper.make_node("Softmax", [x], [y], name=name, axis=-1)
    if layer.kind in _SIMPLE_OPS:
        return helper.make_node(_SIMPLE_OPS[layer.kind], [x], [y], name=name)
    if isinstance(layer, FunctionLayer) and layer.act.name in _FUNCTION_OPS:
        attrs: dict[str, Any] = {"approximate": "tanh"} if layer.act.name == "gelu" else {}
        if layer.act.name == "elu":
            attrs["alpha"] = 1.0
        return helper.make_node(_FUNCTION_OPS[layer.act.name], [x], [y], name=name, **attrs)
    raise ExportError(f"layer {i} ({layer!r}) has no ONNX operator here; safetensors and PyTorch export take it")


def to_onnx(net: Sequential) -> Any:
    """The network as an ``onnx.ModelProto`` (needs the onnx package)."""
    onnx = require_onnx("ONNX export")
    helper, TensorProto = onnx.helper, onnx.TensorProto
    if net.input_size is None:
        raise ExportError("the network's input size is not known (it does not start with a Dense layer)")
    n_in, n_out = int(net.input_size), int(net.output_size)
    initializers: list = []
    nodes = []
    current = INPUT_NAME
    computing = [(i, layer) for i, layer in enumerate(net.layers) if not isinstance(layer, (Dropout, Identity))]
    for k, (i, layer) in enumerate(computing):
        out = "logits" if k == len(computing) - 1 else f"{i}_{layer.kind.lower()}"
        nodes.append(_node_for(onnx, i, layer, current, out, initializers))
        current = out
    if current == INPUT_NAME:  # a network that computes nothing still names its outputs
        nodes.append(helper.make_node("Identity", [INPUT_NAME], ["logits"], name="identity"))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="probabilities", axis=-1))
    graph = helper.make_graph(
        nodes,
        "nnstudio",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [BATCH_DIM, n_in])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [BATCH_DIM, n_out]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [BATCH_DIM, n_out]),
        ],
        initializer=initializers,
    )
    graph.doc_string = (
        f"{n_in} inputs"
        + (" (a 28x28 image flattened row by row, pixels scaled to [0, 1])" if n_in == 784 else "")
        + f" -> {n_out} logits and their softmax"
    )
    opset = _opset_for(net)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        ir_version=_IR_VERSION[opset],
        producer_name="nnstudio",
        producer_version=__version__,
    )
    props = {"nnstudio_version": __version__, METADATA_ARCHITECTURE: json.dumps(net.config()["architecture"])}
    if net.meta.get("dataset"):
        props["dataset"] = str(net.meta["dataset"])
    if net.meta.get("class_names"):
        props["class_names"] = json.dumps([str(c) for c in net.meta["class_names"]])
    helper.set_model_props(model, props)
    return model


def export_onnx(net: Sequential, path: str | os.PathLike) -> None:
    """Write the network as an ONNX file (atomically), checked by ``onnx.checker`` first."""
    onnx = require_onnx("ONNX export")
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(model.SerializeToString())
    os.replace(tmp, path)
