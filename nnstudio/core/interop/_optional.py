"""The optional packages interop needs, imported only when a feature asks for them.

The core works without them; a missing one is one line that says how to install it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = 'pip install "nnstudio[interop]"'


class MissingPackageError(ImportError):
    """An optional package a feature needs is not installed; the message says how to install it."""


def onnx_available() -> bool:
    """True if the ``onnx`` package can be imported (ONNX export and import work)."""
    try:
        importlib.import_module("onnx")
    except ImportError:
        return False
    return True


def require_onnx(what: str) -> ModuleType:
    """The ``onnx`` module, or :class:`MissingPackageError` saying that ``what`` needs it."""
    try:
        return importlib.import_module("onnx")
    except ImportError:
        raise MissingPackageError(f"{what} needs the onnx package: {INSTALL_HINT}") from None
