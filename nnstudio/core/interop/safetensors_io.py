"""safetensors files, written by hand, and the same network as PyTorch code.

The format is small enough to write directly (an 8-byte little-endian header length, a
JSON header naming each tensor's dtype, shape and byte range, then the raw bytes), so
exporting needs no package at all; the tests read our files back with the reference
``safetensors`` reader and load them into PyTorch with ``strict=True``.

The keys are those of PyTorch's ``nn.Sequential`` built from the same layers in the same
order: layer ``i`` is module ``i``, so a Dense layer at position 2 becomes ``2.weight``
(out, in) and ``2.bias``. Activations, Identity and Dropout have no weights but keep their
index, exactly as in PyTorch.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

from nnstudio import __version__
from nnstudio.core.nn.layers import Dense, Dropout, FunctionLayer, Layer, LeakyReLU
from nnstudio.core.nn.network import Sequential


class ExportError(ValueError):
    """A network that cannot be written in the asked format; the message says why."""


# nnstudio's own layers -> the PyTorch module that computes the same function.
_TORCH_MODULES = {
    "ReLU": "nn.ReLU()",
    "Sigmoid": "nn.Sigmoid()",
    "Tanh": "nn.Tanh()",
    "Softmax": "nn.Softmax(dim=-1)",
    "Identity": "nn.Identity()",
}
_TORCH_FUNCTIONS = {
    "elu": "nn.ELU()",
    "softplus": "nn.Softplus()",
    "gelu": 'nn.GELU(approximate="tanh")',  # nnstudio's GELU is the tanh form
    "swish": "nn.SiLU()",
    "relu": "nn.ReLU()",
    "sigmoid": "nn.Sigmoid()",
    "tanh": "nn.Tanh()",
    "leaky_relu": "nn.LeakyReLU(0.01)",
}


def torch_module(layer: Layer) -> str:
    """The PyTorch module (as code) for one of our layers."""
    if isinstance(layer, Dense):
        return f"nn.Linear({layer.in_features}, {layer.out_features})"
    if isinstance(layer, LeakyReLU):
        return f"nn.LeakyReLU({layer.alpha!r})"
    if isinstance(layer, Dropout):
        return f"nn.Dropout(p={layer.p!r})"
    if isinstance(layer, FunctionLayer):
        if layer.act.name in _TORCH_FUNCTIONS:
            return _TORCH_FUNCTIONS[layer.act.name]
    elif layer.kind in _TORCH_MODULES:
        return _TORCH_MODULES[layer.kind]
    raise ExportError(f"{layer!r} has no PyTorch equivalent here")


def state_dict(net: Sequential) -> dict[str, np.ndarray]:
    """The network's weights under PyTorch ``nn.Sequential`` keys, weights as (out, in) float32."""
    tensors: dict[str, np.ndarray] = {}
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            tensors[f"{i}.weight"] = np.ascontiguousarray(layer.W.data.T, dtype=np.float32)
            tensors[f"{i}.bias"] = np.ascontiguousarray(layer.b.data, dtype=np.float32)
    return tensors


def write_safetensors(tensors: dict[str, np.ndarray], path: str | os.PathLike, metadata: dict[str, str]) -> None:
    """Write float32 ``tensors`` and string ``metadata`` as a safetensors file (atomically)."""
    header: dict[str, object] = {}
    blobs = []
    offset = 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the tensors start 8-byte aligned, as the reference writer does
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for blob in blobs:
            fh.write(blob)
    os.replace(tmp, path)


def export_safetensors(net: Sequential, path: str | os.PathLike) -> None:
    """The network's weights as a safetensors file that ``nn.Sequential.load_state_dict(strict=True)`` takes."""
    for layer in net.layers:
        torch_module(layer)  # refuse before writing anything
    metadata = {"format": "pt", "producer": f"nnstudio {__version__}", "modules": pytorch_modules(net)}
    for key in ("dataset", "class_names"):
        if net.meta.get(key):
            metadata[key] = json.dumps(net.meta[key])
    write_safetensors(state_dict(net), path, metadata)


def pytorch_modules(net: Sequential) -> str:
    """The body of the ``nn.Sequential(...)`` call, one module a line with its index."""
    return "\n".join(f"    {torch_module(layer)},  # {i}" for i, layer in enumerate(net.layers))


def pytorch_code(net: Sequential, weights_file: str = "model.safetensors") -> str:
    """A small Python file defining the network as ``nn.Sequential`` and loading ``weights_file`` beside it."""
    n_in = net.input_size
    names = net.meta.get("class_names")
    input_note = (
        [f"Input: {n_in} values per example, a 28x28 image flattened row by row,", "pixels scaled to [0, 1] (x / 255)."]
        if n_in == 784
        else [f"Input: {n_in} values per example."]
    )
    lines = [
        f'"""This network as PyTorch code (exported by nnstudio {__version__}).',
        "",
        f"Weights: {weights_file}, beside this file.",
        *input_note,
        f"Output: {net.output_size} scores (logits); torch.softmax(model(x), dim=-1)",
        "gives the probabilities.",
        '"""',
        "",
        "from pathlib import Path",
        "",
        "import torch",
        "from safetensors.torch import load_file",
        "from torch import nn",
        "",
    ]
    if isinstance(names, list) and names:
        lines += [f"CLASS_NAMES = {json.dumps([str(n) for n in names])}", ""]
    lines += [
        "model = nn.Sequential(",
        pytorch_modules(net),
        ")",
        f'weights = load_file(Path(__file__).with_name("{weights_file}"))',
        "model.load_state_dict(weights, strict=True)",
        "model.eval()",
        "",
        'if __name__ == "__main__":',
        f"    x = torch.rand(1, {n_in})",
        "    with torch.no_grad():",
        "        print(torch.softmax(model(x), dim=-1))",
        "",
    ]
    return "\n".join(lines)


def export_pytorch(net: Sequential, path: str | os.PathLike) -> list[Path]:
    """``NAME.safetensors`` and ``NAME.py`` (the code that builds and loads it); returns both paths."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix.lower() in (".py", ".safetensors") else path
    weights = base.with_name(base.name + ".safetensors")
    code = base.with_name(base.name + ".py")
    text = pytorch_code(net, weights.name)
    export_safetensors(net, weights)
    tmp = code.with_name(code.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, code)
    return [weights, code]


__all__ = [
    "ExportError",
    "export_pytorch",
    "export_safetensors",
    "pytorch_code",
    "state_dict",
    "torch_module",
    "write_safetensors",
]
