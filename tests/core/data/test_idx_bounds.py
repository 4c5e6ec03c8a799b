"""IDX files are read within what their header declares: a gzip bomb, a damaged stream, a file of the wrong
kind or wrong image size is one clear error naming the file, found without reading (or blocking on) it all."""

from __future__ import annotations

import gzip
import os
import struct
import tracemalloc

import numpy as np
import pytest

from nnstudio.core.data import DataError, load_dataset, verify
from nnstudio.core.data.idx import IDXError, read_idx
from tests.cli.hostile_cases import FILES, flip_bytes, gzip_bomb, idx_bytes, small_mnist


def peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_gzip_bomb_is_decompressed_only_to_the_declared_size(tmp_path):
    path = tmp_path / "bomb.gz"
    gzip_bomb(path, total=1 << 30)  # 60000 images declared (47 MB), 1 GiB of zeros follow

    def attempt():
        with pytest.raises(IDXError, match=r"bomb\.gz: unexpected bytes after the data \(shape \(60000, 28, 28\)\)"):
            read_idx(path)

    assert peak_bytes(attempt) < 52_000_000  # the declared 47 MB, a byte and the MiB being inflated; not 1 GiB


def test_a_header_declaring_more_than_memory_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**32 - 1, 28, 28) + bytes(64)))
    with pytest.raises(IDXError, match=r"huge\.gz: its header declares shape \(4294967295, 28, 28\), which would need"):
        read_idx(path)
    raw = tmp_path / "huge"
    raw.write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**32 - 1, 28, 28) + bytes(64))
    with pytest.raises(IDXError, match="truncated: expected"):
        read_idx(raw)


def test_flipped_bytes_in_a_gzip_stream_are_one_idx_error(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.random.default_rng(0).integers(0, 256, (200, 28, 28))), mtime=0))
    flip_bytes(path)
    with pytest.raises(IDXError, match=r"x\.gz: corrupt or truncated gzip data"):
        read_idx(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a folder, not an IDX data file"),
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not an IDX data file"),
        (lambda p: p.symlink_to("/dev/zero"), "is a device, not an IDX data file"),
    ],
)
def test_what_is_not_a_data_file_is_named_without_reading_it(tmp_path, make, message):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    make(path)
    with pytest.raises(IDXError) as info:
        read_idx(path)  # a FIFO would block here if it were opened
    assert str(info.value) == f"{path} {message}"


def test_a_dataset_with_a_folder_in_place_of_a_file_says_so_not_missing(tmp_path):
    folder = small_mnist(tmp_path)
    target = folder / (FILES[0] + ".gz")
    target.unlink()
    target.mkdir()
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz is a folder"):
        load_dataset("mnist", tmp_path, download=False)
    rows = verify("mnist", tmp_path)
    assert rows[0] == (str(target), False, "is a folder, not an IDX data file")


def test_images_of_the_wrong_size_name_the_file(tmp_path):
    folder = small_mnist(tmp_path)
    odd = np.random.default_rng(1).integers(0, 256, (64, 27, 29))
    (folder / (FILES[0] + ".gz")).write_bytes(gzip.compress(idx_bytes(odd), mtime=0))
    with pytest.raises(DataError) as info:
        load_dataset("mnist", tmp_path, download=False)
    assert str(info.value) == (
        f"{folder / (FILES[0] + '.gz')}: images of shape (27, 29); MNIST handwritten digits images are 28x28 pixels"
    )


def test_an_intact_small_dataset_still_loads(tmp_path):
    small_mnist(tmp_path, n=64)
    data = load_dataset("mnist", tmp_path, download=False)
    assert data.x_train.shape == (64, 28, 28) and data.x_test.shape == (32, 28, 28)
    assert data.y_train.shape == (64,)
