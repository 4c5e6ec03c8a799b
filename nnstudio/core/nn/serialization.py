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

import ast
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.limits import LIMITS, memory_problem
from nnstudio.core.paths import not_a_regular_file

from .network import Sequential
from .optim import Optimizer

FORMAT_NAME = "nnstudio-model"
FORMAT_VERSION = 1
SUFFIX = ".npz"
# The metadata is JSON (settings and the loss history): a few MB after days of training.
MAX_META_BYTES = 64 << 20
# np.savez stores arrays uncompressed; weights compress little. A member claiming to expand more than
# this from a large compressed size is a decompression bomb, not a network.
MAX_EXPANSION = 50
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class ModelFileError(ValueError):
    """A model file that cannot be loaded: corrupt, truncated, foreign or mismatched."""


class DestinationError(ModelFileError):
    """A place a model cannot (or must not) be written to: the message says why."""


# ---------------------------------------------------------------------------------------------- writing
def check_destination(path: str | os.PathLike, force: bool = False) -> Path:
    """``path`` if a model may be saved there, else :class:`DestinationError` (one line naming the file).

    The name must end in ``.npz``; its folder must exist and be writable; an existing file there is
    replaced only if it is an nnstudio model, or with ``force``. Callers check before training, so a
    bad destination never costs a run.
    """
    path = Path(path)
    if path.suffix.lower() != SUFFIX:
        raise DestinationError(f"{path}: a model file's name must end in {SUFFIX}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DestinationError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DestinationError(f"{path}: the folder {folder} is not writable")
    problem = not_a_regular_file(path)
    if problem == "does not exist" and not os.path.islink(path):
        return path
    if problem:
        raise DestinationError(f"{path} {problem}, not a model file")
    if not force and not is_model_file(path):
        raise DestinationError(
            f"{path} exists and is not an nnstudio model: not replacing it (choose another name, or --force)"
        )
    if not os.access(path, os.W_OK) and not force:
        raise DestinationError(f"{path} is read-only")
    return path


def is_model_file(path: str | os.PathLike) -> bool:
    """True if ``path`` is a regular file whose metadata says it is an nnstudio model (nothing else is read)."""
    try:
        if not_a_regular_file(path):
            return False
        with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
            info = zf.getinfo("__meta__.npy")
            meta = _read_meta(zf, info, str(path))
        return meta.get("format") == FORMAT_NAME
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return False


def save_model(
    net: Sequential,
    path: str | os.PathLike,
    hyperparameters: dict | None = None,
    history: dict | None = None,
    optimizer: Optimizer | None = None,
) -> None:
    """Write ``net``'s weights and metadata to ``path`` (atomically: a crash never leaves half a file).

    The file is written under a unique temporary name beside ``path`` and renamed over it, so two
    writers never mix their bytes and a failed write leaves ``path`` as it was (the temporary file is
    removed). With ``optimizer``, its state buffers are saved too (see :func:`restore_optimizer`).
    Whether ``path`` may be replaced is :func:`check_destination`'s call, made before training.
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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a model file is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------- reading
def load_model(path: str | os.PathLike) -> Sequential:
    """Load a model saved by :func:`save_model`. Raises :class:`ModelFileError` with a clear reason.

    Nothing is allocated from what the file declares until it has been checked: the metadata's
    architecture against the arrays' shapes (read from their headers), every size against the
    file and against the memory available; members are decompressed with a cap.
    """
    path = Path(path)
    name = path.name
    problem = not_a_regular_file(path)
    if problem == "does not exist":
        raise ModelFileError(f"cannot read model file {path}: no such file")
    if problem:  # a FIFO would block, /dev/zero never ends
        raise ModelFileError(f"{name} {problem}, not an nnstudio model file")
    size = os.path.getsize(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if head.startswith(_NPY_MAGIC):
                raise ModelFileError(f"{name} is a single NumPy array (.npy), not an nnstudio model file")
            if not head.startswith(_ZIP_MAGIC):
                raise ModelFileError(f"{name} is not an nnstudio model file (not an .npz archive)")
            fh.seek(0)
            with zipfile.ZipFile(fh) as zf:
                return _load(zf, name, size)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise ModelFileError(f"{name} is not an nnstudio model (corrupt or truncated file: {exc})") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {name}: {exc.strerror or exc}") from None
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:  # zlib.error is not one
        raise ModelFileError(f"{name} is damaged ({exc})") from None
    except Exception as exc:  # zlib.error and whatever else a damaged archive raises: still one line
        raise ModelFileError(f"{name} is damaged ({type(exc).__name__}: {exc})") from None


def _load(zf: zipfile.ZipFile, name: str, file_size: int) -> Sequential:
    infos = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
    if "__meta__" not in infos:
        raise ModelFileError(f"{name} is not an nnstudio model (no metadata)")
    meta = _read_meta(zf, infos.pop("__meta__"), name)
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{name} is not an nnstudio model")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name} was written by a newer nnstudio (format version {version}); "
            f"this one reads version {FORMAT_VERSION}"
        )
    _check_meta_types(meta, name)
    shapes = _parameter_shapes(meta, name)
    n_params = len(shapes)
    # The optimizer's buffers: as many as the optimizer keeps per parameter (0, 1 or 2), each shaped like one.
    opt_meta = meta.get("optimizer_state")
    n_buf = 0
    if opt_meta is not None:
        if not isinstance(opt_meta, dict):
            raise ModelFileError(f"{name}: optimizer state is not a table")
        n_buf = opt_meta.get("buffers", 0)
        if not isinstance(n_buf, int) or isinstance(n_buf, bool) or n_buf not in (0, n_params, 2 * n_params):
            raise ModelFileError(
                f"{name}: optimizer state claims {n_buf!r} buffers; a network of {n_params} arrays has 0, "
                f"{n_params} or {2 * n_params}"
            )
        if not isinstance(opt_meta.get("steps", 0), int) or not isinstance(opt_meta.get("kind", ""), str):
            raise ModelFileError(f"{name}: optimizer state is damaged")
        if any(f"o{i}" not in infos for i in range(n_buf)):
            raise ModelFileError(f"{name}: optimizer state is incomplete")
    weights = [k for k in infos if not k.startswith("o")]
    if len(weights) != n_params:
        raise ModelFileError(f"{name}: expected {n_params} weight arrays, found {len(weights)}")
    wanted = [(f"p{i}", shape) for i, shape in enumerate(shapes)]
    wanted += [(f"o{i}", shapes[i % n_params]) for i in range(n_buf)]
    headers = {}
    for key, shape in wanted:
        info = infos.get(key)
        if info is None:
            raise ModelFileError(f"{name}: weight array {key[1:]} is missing")
        got, dtype, offset = _member_header(zf, info, name)
        what = "weight array" if key[0] == "p" else "optimizer buffer"
        if got != shape:
            raise ModelFileError(f"{name}: {what} {key[1:]} has shape {got}, architecture needs {shape}")
        if dtype.kind != "f":
            raise ModelFileError(f"{name}: {what} {key[1:]} is not floating point")
        headers[key] = (dtype, offset)
    # Building the network allocates its weights (float64 while initialising), then the file's arrays are read.
    n_values = sum(int(np.prod(s, dtype=np.int64)) for s in shapes)
    needed = n_values * 12 + sum(int(np.prod(s, dtype=np.int64)) * 8 for _, s in wanted)
    problem = memory_problem(needed, f"{name}: this network ({n_values:,} weights)")
    if problem:
        raise ModelFileError(problem)
    net = Sequential.from_config(meta)
    params = net.parameters()
    arrays = {key: _read_member(zf, infos[key], name, shape, *headers[key]) for key, shape in wanted}
    for i, p in enumerate(params):
        arr = arrays[f"p{i}"]
        if not np.all(np.isfinite(arr)):
            raise ModelFileError(f"{name}: weight array {i} contains NaN or infinity")
        p.data[...] = arr
    net.meta = {
        k: v for k, v in meta.items() if k not in ("format", "version", "architecture", "input_size", "optimizer_state")
    }
    if n_buf and isinstance(opt_meta, dict):
        net.optimizer_state = {
            "kind": opt_meta.get("kind"),
            "steps": int(opt_meta.get("steps", 0)),
            "buffers": [arrays[f"o{i}"] for i in range(n_buf)],
        }
    return net


def _bounded_read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, name: str) -> bytes:
    """At most ``limit`` + 1 decompressed bytes of a member, whatever its header claims (zipfile also stops
    at the size the zip header declares, and checks the CRC there)."""
    _check_expansion(info, name)
    with zf.open(info) as member:
        return member.read(limit + 1)


def _check_expansion(info: zipfile.ZipInfo, name: str) -> None:
    if info.compress_size and info.file_size > MAX_EXPANSION * info.compress_size and info.file_size > 1 << 20:
        raise ModelFileError(
            f"{name}: member {info.filename} claims to expand {info.file_size / info.compress_size:,.0f} times "
            "(not a saved network)"
        )


def _read_meta(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> dict:
    if info.file_size > MAX_META_BYTES:
        raise ModelFileError(f"{name}: model metadata is implausibly large ({info.file_size:,} bytes)")
    raw = _bounded_read(zf, info, MAX_META_BYTES, name)
    if len(raw) > MAX_META_BYTES:
        raise ModelFileError(f"{name}: model metadata is implausibly large")
    try:
        shape, dtype, offset = _npy_header(raw, name)
    except ModelFileError:
        raise ModelFileError(f"{name}: model metadata is damaged") from None
    body = raw[offset:]
    if dtype != np.uint8 or len(shape) != 1 or shape[0] != len(body):
        raise ModelFileError(f"{name}: model metadata is damaged")

    # NaN and Infinity are read (a diverged run's loss history holds them); sizes are checked where they are used.
    try:
        meta = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError(f"{name}: model metadata is damaged") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{name} is not an nnstudio model")
    return meta


def _npy_header(raw: bytes, name: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of an .npy payload's header, without reading the data."""
    if not raw.startswith(_NPY_MAGIC) or len(raw) < 10:
        raise ModelFileError(f"{name}: an array in it is not a NumPy array")
    major = raw[6]
    if major == 1:
        hlen, start = int.from_bytes(raw[8:10], "little"), 10
    elif major in (2, 3):
        hlen, start = int.from_bytes(raw[8:12], "little"), 12
    else:
        raise ModelFileError(f"{name}: an array in it has an unknown format version {major}")
    if hlen > 65536 or len(raw) < start + hlen:
        raise ModelFileError(f"{name}: an array header in it is damaged")
    try:
        header = ast.literal_eval(raw[start : start + hlen].decode("latin1"))
        dtype = np.dtype(header["descr"])
        shape = tuple(header["shape"])
        fortran = bool(header["fortran_order"])
    except (ValueError, SyntaxError, TypeError, KeyError, MemoryError, RecursionError):
        raise ModelFileError(f"{name}: an array header in it is damaged") from None
    if dtype.hasobject or fortran or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ModelFileError(f"{name}: an array in it is not a plain numeric array")
    return shape, dtype, start + hlen


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str):
    _check_expansion(info, name)
    with zf.open(info) as member:
        raw = member.read(12)
        if raw.startswith(_NPY_MAGIC) and len(raw) == 12:
            hlen = int.from_bytes(raw[8:10], "little") if raw[6] == 1 else int.from_bytes(raw[8:12], "little")
            raw += member.read(min(hlen, 65536))
    shape, dtype, offset = _npy_header(raw, name)
    count = math.prod(shape)
    if offset + count * dtype.itemsize != info.file_size:
        raise ModelFileError(
            f"{name}: array {info.filename} declares shape {shape} but holds {info.file_size - offset:,} bytes"
        )
    return shape, dtype, offset


def _read_member(zf, info, name: str, shape: tuple, dtype: np.dtype, offset: int) -> np.ndarray:
    nbytes = math.prod(shape) * dtype.itemsize
    raw = _bounded_read(zf, info, offset + nbytes, name)
    if len(raw) != offset + nbytes:
        raise ModelFileError(f"{name}: array {info.filename} is truncated or longer than its header says")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)


def _check_meta_types(meta: dict, name: str) -> None:
    """Every field a loaded model's users read has the type they expect."""
    for key, kinds, label in (
        ("dataset", (str,), "a name"),
        ("class_names", (list,), "a list of names"),
        ("hyperparameters", (dict,), "a table"),
        ("history", (dict,), "a table"),
    ):
        if meta.get(key) is not None and not isinstance(meta[key], kinds):
            raise ModelFileError(f"{name}: metadata field {key!r} should be {label}, got {meta[key]!r:.60}")
    names = meta.get("class_names")
    if names is not None and not all(isinstance(n, str) for n in names):
        raise ModelFileError(f"{name}: metadata field 'class_names' should be a list of names")


def _size(value, what: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelFileError(f"{name}: architecture is invalid ({what} is {value!r:.40}, not a whole number)")
    message = LIMITS["units"].problem(value)
    if message:
        raise ModelFileError(f"{name}: architecture is invalid ({what}: {message})")
    return value


def _parameter_shapes(meta: dict, name: str) -> list[tuple[int, ...]]:
    """The parameter shapes the metadata's architecture declares, checked without building anything."""
    arch = meta.get("architecture")
    if not isinstance(arch, list) or not all(isinstance(c, dict) for c in arch):
        raise ModelFileError(f"{name}: architecture is invalid (not a list of layers)")
    if len(arch) > 4 * (LIMITS["hidden_layers"].hi + 1):
        raise ModelFileError(f"{name}: architecture is invalid ({len(arch)} layers)")
    size = meta.get("input_size")
    width = None if size is None else _size(size, "input_size", name)
    shapes: list[tuple[int, ...]] = []
    for i, cfg in enumerate(arch):
        if cfg.get("type") != "Dense":
            continue
        n_in, n_out = _size(cfg.get("in"), f"layer {i} inputs", name), _size(cfg.get("out"), f"layer {i} outputs", name)
        if width is not None and n_in != width:
            raise ModelFileError(f"{name}: architecture is invalid (layer {i} takes {n_in} inputs, gets {width})")
        width = n_out
        shapes += [(n_in, n_out), (n_out,)]
    try:
        net = Sequential.from_config({"input_size": meta.get("input_size"), "architecture": _shapeless(arch)})
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{name}: architecture is invalid ({exc})") from None
    del net
    return shapes


def _shapeless(arch: list[dict]) -> list[dict]:
    """The architecture with every Dense layer 1x1: builds (validating kinds and options) without allocating."""
    return [{**c, "in": 1, "out": 1} if c.get("type") == "Dense" else c for c in arch]


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
