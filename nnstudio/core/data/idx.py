"""Reader for the IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed).

IDX is big-endian: two zero bytes, a type byte, the number of dimensions,
one 4-byte size per dimension, then the data row-major.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

_TYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXError(ValueError):
    """A file that is not valid IDX: the message names the file and what is wrong."""


def read_idx_bytes(raw: bytes, name: str = "<bytes>") -> np.ndarray:
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
    """Read an IDX file (``.gz`` or raw) into a NumPy array, validating it fully."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IDXError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise IDXError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    return read_idx_bytes(raw, str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzip-compressed if the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)
