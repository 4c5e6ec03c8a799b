import gzip
import hashlib
import http.server
import struct
import threading
from functools import partial

import numpy as np
import pytest

from nnstudio.core.data import DataError, IDXError, load_dataset, read_idx, registry, verify, write_idx
from nnstudio.core.data.registry import FILES, DatasetInfo, candidate_dirs, fetch


def test_idx_round_trip_gz_and_raw(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, arr)
        assert np.array_equal(read_idx(tmp_path / name), arr)


def test_idx_errors_name_the_file_and_the_problem(tmp_path):
    good = bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + bytes(5)
    cases = {
        "short.idx": (good[:3], "too short"),
        "magic.idx": (b"\x01" + good[1:], "magic"),
        "type.idx": (bytes([0, 0, 0x42, 1]) + good[4:], "data type"),
        "trunc.idx": (good[:-2], "truncated"),
        "extra.idx": (good + b"xx", "unexpected bytes"),
    }
    for name, (raw, why) in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(IDXError, match=why) as info:
            read_idx(tmp_path / name)
        assert name in str(info.value)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(good)[:-6])
    with pytest.raises(IDXError, match="corrupt or truncated gzip"):
        read_idx(tmp_path / "bad.gz")


def make_fake_dataset(folder, n_train=50, n_test=20):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    sums = {}
    for stem, arr in parts.items():
        write_idx(folder / (stem + ".gz"), arr)
        sums[stem] = hashlib.sha256(gzip.decompress((folder / (stem + ".gz")).read_bytes())).hexdigest()
    return parts, sums


def test_explicit_data_dir_wins_and_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parts, _ = make_fake_dataset(tmp_path / "data" / "mnist")
    ds = load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert np.array_equal(ds.x_train, parts["train-images-idx3-ubyte"])
    x, y = ds.flat("test")
    assert x.shape == (20, 784) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert candidate_dirs("mnist", tmp_path / "data")[0][1] == tmp_path / "data" / "mnist"


def test_environment_variable_is_used_and_missing_data_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setattr(registry, "candidate_dirs", lambda name, d=None: [("env", tmp_path / "nothing" / name)])
    with pytest.raises(DataError, match="not found in"):
        load_dataset("fashion-mnist", download=False)
    make_fake_dataset(tmp_path / "nothing" / "fashion-mnist")
    ds = load_dataset("fashion-mnist", download=False)
    assert ds.class_names[0] == "T-shirt/top"


def test_truncated_dataset_file_is_reported_with_a_fix(tmp_path):
    make_fake_dataset(tmp_path / "mnist")
    f = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(gzip.decompress(f.read_bytes())[:-100]))
    with pytest.raises(DataError, match="truncated.*nnstudio data fetch"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar")


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server (loopback only) serving a fake dataset, like a public mirror."""
    served = tmp_path / "served"
    _, sums = make_fake_dataset(served)

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", sums, served
    server.shutdown()


def test_download_verifies_checksums_reports_progress_and_caches(tmp_path, monkeypatch, mirror):
    url, sums, _ = mirror
    monkeypatch.setitem(
        registry.DATASETS,
        "mnist",
        DatasetInfo("mnist", "MNIST", tuple("0123456789"), ("http://127.0.0.1:9/", url), sums),
    )
    progress = []
    dest = tmp_path / "cache" / "mnist"
    folder = fetch("mnist", progress=lambda label, done, total: progress.append((label, done, total)), dest=dest)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f + ".gz" for f in FILES)
    assert progress and progress[-1][1] == progress[-1][2] > 0
    monkeypatch.setattr(registry, "user_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.delenv("NNSTUDIO_DATA_DIR", raising=False)
    assert all(ok for _, ok, _ in verify("mnist"))
    # second fetch finds everything cached and downloads nothing
    progress.clear()
    fetch("mnist", progress=lambda *a: progress.append(a), dest=dest)
    assert progress == []


def test_download_with_wrong_checksum_is_rejected_and_not_cached(tmp_path, monkeypatch, mirror):
    url, sums, _ = mirror
    bad = dict(sums, **{"train-labels-idx1-ubyte": "0" * 64})
    monkeypatch.setitem(registry.DATASETS, "mnist", DatasetInfo("mnist", "MNIST", tuple("0123456789"), (url,), bad))
    dest = tmp_path / "cache" / "mnist"
    with pytest.raises(DataError, match="checksum mismatch.*offline"):
        fetch("mnist", dest=dest)
    assert not (dest / "train-labels-idx1-ubyte.gz").exists()


def test_download_can_be_cancelled(tmp_path, monkeypatch, mirror):
    url, sums, _ = mirror
    monkeypatch.setitem(registry.DATASETS, "mnist", DatasetInfo("mnist", "MNIST", tuple("0123456789"), (url,), sums))
    with pytest.raises(registry.DownloadCancelled):
        fetch("mnist", progress=lambda *a: False, dest=tmp_path / "c")


def test_shared_data_checksums_match(mnist, fashion_mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert fashion_mnist.class_names[9] == "Ankle boot"
    for name in ("mnist", "fashion-mnist"):
        rows = verify(name)
        assert all(ok for _, ok, _ in rows), rows
