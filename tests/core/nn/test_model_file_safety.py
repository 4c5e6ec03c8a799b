"""Model files are ours or refused: the destination is checked before a run, writes are atomic with a
unique temporary file, and a crafted or damaged file is refused in one line before anything big is allocated."""

from __future__ import annotations

import json
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

from nnstudio.core.nn import Sequential, load_model, save_model
from nnstudio.core.nn.serialization import DestinationError, ModelFileError, check_destination, is_model_file
from tests.cli.hostile_cases import (
    _meta,
    deflate_bomb_model,
    honest_bomb_model,
    lying_architecture_model,
    write_model,
)


def small_net(seed=0):
    return Sequential.mlp([784, 16, 10], seed=seed)


# ------------------------------------------------------------------------------------------- destinations
def test_destination_must_be_npz_in_an_existing_writable_folder(tmp_path):
    assert check_destination(tmp_path / "new.npz") == tmp_path / "new.npz"
    with pytest.raises(DestinationError, match=r"must end in \.npz"):
        check_destination(tmp_path / "notes.txt")
    with pytest.raises(DestinationError, match="does not exist"):
        check_destination(tmp_path / "missing" / "m.npz")
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(DestinationError, match="is a folder"):
        check_destination(tmp_path / "dir.npz")
    os.mkfifo(tmp_path / "fifo.npz")
    with pytest.raises(DestinationError, match="FIFO"):
        check_destination(tmp_path / "fifo.npz", force=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_destination_in_a_read_only_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(DestinationError, match="not writable"):
            check_destination(ro / "m.npz")
    finally:
        ro.chmod(0o700)


def test_a_file_that_is_not_a_model_is_replaced_only_with_force(tmp_path):
    notes = tmp_path / "notes.npz"
    notes.write_text("my notes")
    with pytest.raises(DestinationError, match="not an nnstudio model"):
        check_destination(notes)
    assert notes.read_text() == "my notes"
    assert check_destination(notes, force=True) == notes
    model = tmp_path / "m.npz"
    save_model(small_net(), model)
    assert is_model_file(model) and not is_model_file(notes)
    assert check_destination(model) == model  # our own model may be replaced


# ------------------------------------------------------------------------------------------- writing
def test_a_failed_save_leaves_the_target_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "m.npz"
    save_model(small_net(0), target)
    before = target.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space"):
        save_model(small_net(1), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_concurrent_writers_never_corrupt_the_target(tmp_path):
    target = tmp_path / "m.npz"
    nets = [small_net(seed) for seed in range(6)]
    expected = {seed: net.get_weights()[0][0, 0] for seed, net in enumerate(nets)}
    errors = []

    def write(net):
        try:
            for _ in range(5):
                save_model(net, target)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in nets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    loaded = load_model(target)  # one whole file, from one of the writers
    assert loaded.get_weights()[0][0, 0] in expected.values()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_saved_file_has_ordinary_permissions(tmp_path):
    save_model(small_net(), tmp_path / "m.npz")
    mode = os.stat(tmp_path / "m.npz").st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


# ------------------------------------------------------------------------------------------- reading
def peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_lying_architecture_is_refused_before_allocating(tmp_path):
    path = tmp_path / "m.npz"
    lying_architecture_model(path)
    assert path.stat().st_size < 200_000

    def attempt():
        with pytest.raises(ModelFileError, match=r"m\.npz: weight array 0 has shape \(784, 16\), architecture needs"):
            load_model(path)

    peak = peak_bytes(attempt)
    assert peak < 2_000_000  # 784-30000-30000-30000-10 would be 7.3 GB


def test_a_member_inflating_past_its_header_is_read_with_a_cap(tmp_path):
    path = tmp_path / "m.npz"
    deflate_bomb_model(path, expands_to=1 << 30)

    def attempt():
        with pytest.raises(ModelFileError, match=r"m\.npz is not an nnstudio model \(corrupt"):
            load_model(path)

    assert peak_bytes(attempt) < 5_000_000  # the bomb is 1 GiB


def test_deflated_zeros_claiming_a_big_network_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    honest_bomb_model(path)

    def attempt():
        with pytest.raises(ModelFileError, match="claims to expand"):
            load_model(path)

    assert peak_bytes(attempt) < 5_000_000


def test_declared_arrays_that_do_not_fit_in_memory_are_refused(tmp_path, monkeypatch):
    import nnstudio.core.nn.serialization as serialization

    path = tmp_path / "m.npz"
    save_model(small_net(), path)
    monkeypatch.setattr(serialization, "memory_problem", lambda n, what: f"{what} would need about {n} bytes")
    with pytest.raises(ModelFileError, match=r"m\.npz: this network \(12,730 weights\) would need about"):
        load_model(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dataset": [1]}, "'dataset' should be a name"),
        ({"class_names": {"a": 1}}, "'class_names' should be a list"),
        ({"class_names": [1, 2]}, "'class_names' should be a list of names"),
        ({"input_size": float("inf")}, "architecture is invalid (input_size is inf, not a whole number)"),
        ({"input_size": 10**12}, "input_size"),
        ({"input_size": True}, "input_size"),
        ({"history": "lots"}, "'history' should be a table"),
        ({"optimizer_state": {"kind": "Adam", "steps": 1, "buffers": 10**12}}, "claims 1000000000000 buffers"),
        ({"optimizer_state": {"kind": "Adam", "steps": 1, "buffers": 8}}, "optimizer state is incomplete"),
        ({"optimizer_state": [1]}, "optimizer state is not a table"),
        ({"architecture": "Dense"}, "not a list of layers"),
        ({"architecture": [{"type": "Dense", "in": "784", "out": 16}]}, "not a whole number"),
        ({"version": 99}, "newer nnstudio"),
    ],
)
def test_odd_metadata_is_one_clear_error(tmp_path, changes, message):
    path = tmp_path / "m.npz"
    write_model(path, _meta(**changes))
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    text = str(info.value)
    assert message in text and text.startswith("m.npz")
    assert "\n" not in text


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: np.save(open(p, "wb"), np.arange(10)), "is a single NumPy array (.npy), not an nnstudio model file"),
        (lambda p: p.write_text("hello"), "is not an nnstudio model file (not an .npz archive)"),
        (lambda p: p.mkdir(), "is a folder, not an nnstudio model file"),
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not an nnstudio model file"),
        (lambda p: p.symlink_to("/dev/zero"), "is a device, not an nnstudio model file"),
    ],
)
def test_what_is_not_a_model_file_is_named(tmp_path, make, message):
    path = tmp_path / "m.npz"
    make(path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)  # a FIFO would block here if it were opened
    assert str(info.value) == "m.npz " + message
    assert "allow_pickle" not in str(info.value)


def test_a_damaged_member_is_one_line(tmp_path):
    path = tmp_path / "m.npz"
    net = small_net()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__meta__.npy", _npy_meta(net))
        for i, p in enumerate(net.parameters()):
            zf.writestr(f"p{i}.npy", _npy(p.data))
    raw = bytearray(path.read_bytes())
    start = raw.index(b"p0.npy") + 200
    raw[start : start + 4] = bytes(b ^ 0xFF for b in raw[start : start + 4])
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match=r"^m\.npz") as info:
        load_model(path)
    assert "\n" not in str(info.value)


def _npy(a):
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, a)
    return buf.getvalue()


def _npy_meta(net):
    meta = {"format": "nnstudio-model", "version": 1, **net.config(), "hyperparameters": {}, "history": {}}
    return _npy(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))


def test_a_diverged_history_with_nan_still_loads(tmp_path):
    net = small_net()
    save_model(net, tmp_path / "m.npz", history={"step_loss": [2.3, float("nan"), float("inf")], "epochs": []})
    back = load_model(tmp_path / "m.npz")
    assert np.isnan(back.meta["history"]["step_loss"][1]) and back.meta["history"]["step_loss"][2] == float("inf")


def test_models_with_optimizer_state_still_round_trip(tmp_path):
    from nnstudio.core.nn import restore_optimizer
    from nnstudio.core.nn.optim import make_optimizer

    net = small_net()
    opt = make_optimizer("adam", net.parameters(), lr=0.01)
    for b in opt.state_buffers():
        b[...] = 0.5
    opt.steps = 7
    save_model(net, tmp_path / "m.npz", optimizer=opt)
    back = load_model(tmp_path / "m.npz")
    fresh = make_optimizer("adam", back.parameters(), lr=0.01)
    assert restore_optimizer(back, fresh) and fresh.steps == 7
    assert all(np.all(b == 0.5) for b in fresh.state_buffers())
    for a, b in zip(net.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)
