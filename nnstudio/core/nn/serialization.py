"""Model files: one format written and read by every surface (the CLI, the window, scripts).

File format (``.npz``, no pickle): arrays ``p0``, ``p1``, ... hold the
parameters in ``parameters()`` order; ``__meta__`` holds UTF-8 JSON bytes:

    {"format": "nnstudio-model", "version": 1,
     "architecture": [layer configs], "input_size": 784,
     "dataset": "mnist", "class_names": [...],
     "hyperparameters": {...}, "history": {...},
     "optimizer_state": {"kind": "Adam", "steps": 2345, "buffers": 4}}   (optional)

Optional arrays ``o0``, ``o1``, ... hold the optimizer's state buffers (Momentum's
velocity, Adam's m and v), so training can continue exactly where it stopped.
``hyperparameters`` is written by :class:`nnstudio.core.training.config.RunConfig`
(the base learning rate and the schedule, never the decayed rate).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .network import Sequential
from .optim import Optimizer

FORMAT_NAME = "nnstudio-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be loaded: corrupt, truncated, foreign or mismatched."""


def save_model(
    net: Sequential,
    path: str | os.PathLike,
    hyperparameters: dict | None = None,
    history: dict | None = None,
    optimizer: Optimizer | None = None,
) -> None:
    """Write ``net``'s weights and metadata to ``path`` (atomically: a crash never leaves half a file).

    With ``optimizer``, its state buffers are saved too (see :func:`restore_optimizer`).
    """
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        **net.config(),
        **{k: v for k, v in net.meta.items() if k not in ("hyperparameters", "history")},
        "hyperparameters": hyperparameters if hyperparameters is not None else net.meta.get("hyperparameters", {}),
        "history": history if history is not None else net.meta.get("history", {}),
    }
    arrays: dict[str, Any] = {f"p{i}": p.data for i, p in enumerate(net.parameters())}
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


def load_model(path: str | os.PathLike) -> Sequential:
    """Load a model saved by :func:`save_model`. Raises :class:`ModelFileError` with a clear reason."""
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
        raise ModelFileError(
            f"{name} was written by a newer nnstudio (format version {version}); "
            f"this one reads version {FORMAT_VERSION}"
        )
    try:
        net = Sequential.from_config(meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{name}: architecture is invalid ({exc})") from None
    params = net.parameters()
    opt_meta = meta.get("optimizer_state")
    opt_buffers: list = []
    if not isinstance(opt_meta, dict):
        opt_meta = {}
    else:
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
    net.meta = {
        k: v for k, v in meta.items() if k not in ("format", "version", "architecture", "input_size", "optimizer_state")
    }
    if opt_buffers:
        net.optimizer_state = {
            "kind": opt_meta.get("kind"),
            "steps": int(opt_meta.get("steps", 0)),
            "buffers": opt_buffers,
        }
    return net


def restore_optimizer(net: Sequential, optimizer: Optimizer) -> bool:
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
