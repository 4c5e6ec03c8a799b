"""Interop: nnstudio networks as ONNX, safetensors and PyTorch code; ONNX networks made elsewhere opened here.

:func:`open_model` is the one entry every surface uses to open a model file, whatever its
format; :func:`export_model` writes one in another format. ``onnx`` is an optional package
(``pip install "nnstudio[interop]"``), imported only when an ONNX file is read or written;
safetensors files are written directly and need no package.
"""

from __future__ import annotations

import os
from pathlib import Path

from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.serialization import load_model

from ._optional import INSTALL_HINT, MissingPackageError, onnx_available
from .onnx_export import OPSET, export_onnx, to_onnx
from .onnx_import import load_onnx
from .safetensors_io import ExportError, export_pytorch, export_safetensors, pytorch_code, state_dict

#: What :func:`open_model` reads: nnstudio's own files and ONNX.
OPEN_SUFFIXES = (".npz", ".onnx")
#: Export formats and the file suffix each is recognised by.
FORMATS = {"onnx": ".onnx", "safetensors": ".safetensors", "pytorch": ".py"}
FORMAT_LABELS = {
    "onnx": "ONNX (.onnx) for onnxruntime and other runtimes",
    "safetensors": "safetensors (.safetensors): the weights under PyTorch nn.Sequential names",
    "pytorch": "PyTorch code (.py) + its weights (.safetensors)",
}


def open_model(path: str | os.PathLike) -> Sequential:
    """Open a model file of any format nnstudio reads, chosen by its extension (``.onnx``; else nnstudio's ``.npz``).

    Raises :class:`~nnstudio.core.nn.serialization.ModelFileError` with one clear line.
    """
    if Path(path).suffix.lower() == ".onnx":
        return load_onnx(path)
    return load_model(path)


def format_for_path(path: str | os.PathLike) -> str:
    """The export format a file name asks for (by its extension); :class:`ExportError` if none."""
    suffix = Path(path).suffix.lower()
    for fmt, ext in FORMATS.items():
        if suffix == ext:
            return fmt
    raise ExportError(
        f"cannot tell the format from {Path(path).name!r}: name it .onnx, .safetensors or .py, "
        "or give --format onnx|safetensors|pytorch"
    )


def export_model(net: Sequential, path: str | os.PathLike, fmt: str | None = None) -> list[Path]:
    """Write ``net`` to ``path`` as ``fmt`` (default: from the extension). Returns the files written.

    ``pytorch`` writes two files: ``NAME.safetensors`` and ``NAME.py`` (which builds the network and loads them).
    """
    fmt = fmt or format_for_path(path)
    path = Path(path)
    if fmt == "onnx":
        export_onnx(net, path)
        return [path]
    if fmt == "safetensors":
        export_safetensors(net, path)
        return [path]
    if fmt == "pytorch":
        return export_pytorch(net, path)
    raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "FORMAT_LABELS",
    "INSTALL_HINT",
    "OPEN_SUFFIXES",
    "OPSET",
    "ExportError",
    "MissingPackageError",
    "export_model",
    "export_onnx",
    "export_pytorch",
    "export_safetensors",
    "format_for_path",
    "load_onnx",
    "onnx_available",
    "open_model",
    "pytorch_code",
    "state_dict",
    "to_onnx",
]
