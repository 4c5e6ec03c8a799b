"""Reader for the IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed).

IDX is big-endian: two zero bytes, a type byte, the number of dimensions,
one 4-byte size per dimension, then the data row-major.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.limits import memory_problem
from nnstudio.core.paths import not_a_regular_file

_TYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXError(ValueError):
    """A file that is not valid IDX: the message names the file and what is wrong."""


def read_idx_bytes(raw: bytes | bytearray, name: str = "<bytes>") -> np.ndarray:
    if len(raw) < 4:
        raise IDXError(f"{name}: file is too short to be IDX ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"{name}: not an IDX file (bad magic number)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _TYPES:
        raise IDXError(f"{name}: unknown IDX data type 0x{type_code:02x}")
    if ndim == 0 or ndim > 4:
        raise IDXError(f"{name}: unsupported number of dimensions ({ndim})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{name}: truncated header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_TYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise IDXError(f"{name}: truncated: expected {expected:,} data bytes for shape {shape}, found {got:,}")
    if got > expected:
        raise IDXError(f"{name}: {got - expected:,} unexpected bytes after the data (shape {shape})")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False) if dtype.byteorder == ">" else data


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a NumPy array, validating it fully.

    The header is read first and decides how much is read at all: a raw file must be exactly that
    long, and a ``.gz`` is decompressed with a cap of what the header declares plus one byte (a
    gzip bomb stops there). A folder, a FIFO or a device in its place is named as such, without
    being opened for reading.
    """
    path = Path(path)
    return read_idx_bytes(read_idx_payload(path), str(path))


def read_idx_payload(path: str | os.PathLike) -> bytes | bytearray:
    """The decompressed bytes of an IDX file (header and data), read with the bounds above."""
    path = Path(path)
    problem = not_a_regular_file(path)
    if problem == "does not exist":
        raise IDXError(f"{path}: missing")
    if problem:  # a FIFO would block the reader, /dev/zero never ends
        raise IDXError(f"{path} {problem}, not an IDX data file")
    size = os.path.getsize(path)
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
            fh.seek(0)
            if not gz:
                return _bounded_payload(fh, path, size)
            with gzip.GzipFile(fileobj=fh, mode="rb") as stream:
                return _bounded_payload(stream, path, None)
    except IDXError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        what = "corrupt or truncated gzip data" if gz else "cannot read"
        raise IDXError(f"{path}: {what} ({exc})") from None


def _bounded_payload(stream: Any, path: Path, raw_size: int | None) -> bytes | bytearray:
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or not 1 <= head[3] <= 4 or head[2] not in _TYPES:
        return head  # read_idx_bytes names what is wrong
    dims = stream.read(4 * head[3])
    if len(dims) < 4 * head[3]:
        return head + dims
    shape = struct.unpack(f">{head[3]}I", dims)
    expected = math.prod(shape) * np.dtype(_TYPES[head[2]]).itemsize
    header = 4 + len(dims)
    if raw_size is not None and raw_size != header + expected:
        got = raw_size - header
        if got < expected:
            raise IDXError(f"{path}: truncated: expected {expected:,} data bytes for shape {shape}, found {got:,}")
        raise IDXError(f"{path}: {got - expected:,} unexpected bytes after the data (shape {shape})")
    problem = memory_problem(expected, f"{path}: its header declares shape {shape}, which")
    if problem:
        raise IDXError(problem)
    # Read into one buffer of the declared size plus one byte (enough to know there is more), a MiB at a time.
    buf = bytearray(header + expected + 1)
    buf[:header] = head + dims
    done = header
    with memoryview(buf) as view:
        while done < len(buf):
            n = stream.readinto(view[done : done + (1 << 20)])
            if not n:
                break
            done += n
    if done > header + expected:
        raise IDXError(f"{path}: unexpected bytes after the data (shape {shape})")
    del buf[done:]
    return buf


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzip-compressed if the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    # A unique temporary file beside the target: two writers never share one, a failed write leaves none.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
