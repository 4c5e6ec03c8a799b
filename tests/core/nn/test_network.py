import json
import zipfile

import numpy as np
import pytest

from nnstudio.core.nn import Dense, ModelFileError, ReLU, Sequential, load_model, save_model


def test_mlp_structure_summary_and_parameter_count():
    net = Sequential.mlp([784, 256, 128, 10], ["relu", "tanh"], dropout=[0.2, 0.0])
    assert net.sizes() == [784, 256, 128, 10]
    assert net.num_parameters() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    text = net.summary()
    assert "235,146" in text and "Tanh" in text and "Dropout" in text
    assert net.output_size == 10
    assert net.predict(np.zeros((3, 784), np.float32)).shape == (3, 10)


def test_add_builds_the_course_network_by_hand():
    net = Sequential()
    net.add(Dense(4, 3)).add(ReLU()).add(Dense(3, 2))
    assert net.input_size == 4 and net.sizes() == [4, 3, 2]
    with pytest.raises(TypeError):
        net.add("not a layer")


def test_save_load_round_trip_is_exact(tmp_path):
    net = Sequential.mlp([20, 7, 3], "leaky_relu", init="xavier", dropout=0.1, seed=4)
    net.meta.update(dataset="mnist", class_names=list("abc"))
    path = tmp_path / "m.npz"
    save_model(net, path, hyperparameters={"lr": 0.01}, history={"step_loss": [1.0, 0.5], "epochs": []})
    loaded = load_model(path)
    assert [layer.config() for layer in loaded.layers] == [layer.config() for layer in net.layers]
    for a, b in zip(net.parameters(), loaded.parameters()):
        assert a.data.dtype == b.data.dtype and np.array_equal(a.data, b.data)
    assert loaded.meta["hyperparameters"] == {"lr": 0.01}
    assert loaded.meta["history"]["step_loss"] == [1.0, 0.5]
    assert loaded.meta["class_names"] == ["a", "b", "c"]
    x = np.random.default_rng(0).random((5, 20), dtype=np.float32)
    assert np.array_equal(net.predict(x), loaded.predict(x))


def _saved(tmp_path):
    path = tmp_path / "m.npz"
    save_model(Sequential.mlp([6, 4, 2]), path)
    return path


def test_truncated_file_is_refused_clearly(tmp_path):
    path = _saved(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        load_model(path)


def test_foreign_and_garbage_files_are_refused(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(ModelFileError, match="not an nnstudio model"):
        load_model(foreign)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"hello, this is not a zip")
    with pytest.raises(ModelFileError):
        load_model(garbage)
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "missing.npz")


def _rewrite(path, **changes):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["__meta__"].tobytes())
    for key, value in changes.items():
        if key.startswith("p"):
            arrays[key] = value
        else:
            meta[key] = value
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)


def test_shape_mismatch_newer_version_and_nan_weights_are_refused(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, p0=np.ones((5, 4), np.float32))
    with pytest.raises(ModelFileError, match="shape"):
        load_model(path)
    path = _saved(tmp_path)
    _rewrite(path, version=99)
    with pytest.raises(ModelFileError, match="newer"):
        load_model(path)
    path = _saved(tmp_path)
    _rewrite(path, p0=np.full((6, 4), np.nan, np.float32))
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(path)


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save_model(Sequential.mlp([6, 4, 2], seed=9), path)
    assert path.read_bytes() == before
    assert zipfile.is_zipfile(path)


def test_optimizer_state_round_trip_lets_training_continue_exactly(tmp_path):
    from nnstudio.core.nn import SGD, Adam, restore_optimizer

    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    from nnstudio.core.nn import SoftmaxCrossEntropy

    def steps(net, opt, n):
        loss = SoftmaxCrossEntropy()
        for _ in range(n):
            loss.forward(net.forward(x), y)
            net.backward(loss.backward())
            opt.step()

    net = Sequential.mlp([6, 5, 3], seed=1)
    opt = Adam(net.parameters(), lr=0.01)
    steps(net, opt, 3)
    save_model(net, tmp_path / "m.npz", optimizer=opt)
    steps(net, opt, 2)  # the uninterrupted run

    loaded = load_model(tmp_path / "m.npz")
    opt2 = Adam(loaded.parameters(), lr=0.01)
    assert restore_optimizer(loaded, opt2) and opt2.steps == 3
    steps(loaded, opt2, 2)  # continued after save/load
    for a, b in zip(net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert not restore_optimizer(loaded, SGD(loaded.parameters(), lr=0.1))  # other kind: left alone
    assert "optimizer_state" not in loaded.meta
