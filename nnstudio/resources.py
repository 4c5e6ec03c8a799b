"""Where the files nnstudio ships (pretrained models) are found, for every surface.

They are package data (``nnstudio/models/``), read through :mod:`importlib.resources`, so a
checkout, an editable install, a wheel installed with ``--user``, ``--target`` or by the system's
pip into ``/usr/local`` all find them the same way. (The top-level ``resources/`` folder holds what
a desktop needs around the package: icons, the ``.desktop`` file and the AppStream metadata.)
"""

from __future__ import annotations

import atexit
import contextlib
from importlib import resources
from pathlib import Path

SHIPPED_DATASETS = ("mnist", "fashion-mnist")

# Files extracted from a zipped install stay on disk until the process ends.
_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def _file(relative: str) -> Path:
    """A real filesystem path to a shipped file (extracted to a temporary file only for zipped installs)."""
    item = resources.files("nnstudio").joinpath(relative)
    if isinstance(item, Path):
        return item
    return _extracted.enter_context(resources.as_file(item))


def pretrained_model_path(dataset: str = "mnist") -> Path:
    """The 784-128-10 model shipped for ``dataset`` ('mnist' or 'fashion-mnist')."""
    return _file(f"models/{dataset}-784-128-10.npz")
