import json

import numpy as np
import pytest

from nnstudio.core.lessons.playground import Playground, PlaygroundConfig, PlaygroundFileError


def test_spiral_default_network_reaches_95_percent_on_test_split():
    pg = Playground()  # defaults: spiral, 4 features, 3x8 tanh, Adam
    assert pg.config.dataset == "spiral"
    acc = 0.0
    for _ in range(60):  # at most 60 x 50 epochs; stops once good enough
        pg.train_epochs(50)
        acc = pg.metrics().test_accuracy
        if acc >= 0.95:
            break
    assert acc >= 0.95
    assert pg.history["train_loss"][0] > 0.6


def test_training_lowers_loss_and_records_history():
    pg = Playground(
        PlaygroundConfig(dataset="circle", features=["x1", "x2"], hidden=[4], activations=["tanh"], lr=0.03)
    )
    before = pg.metrics().train_loss
    pg.train_epochs(20)
    after = pg.record()
    assert after.train_loss < before * 0.5
    assert len(pg.history["epoch"]) == 2 and pg.history["epoch"][1] == pytest.approx(20, abs=0.2)


def test_history_is_thinned_to_stay_small():
    pg = Playground(
        PlaygroundConfig(dataset="gaussians", features=["x1", "x2"], hidden=[2], activations=["tanh"], n_samples=40)
    )
    for _ in range(2500):
        pg.train_steps(1)
        pg.record()
    h = pg.history
    assert len(h["epoch"]) <= 1000 and len(h["epoch"]) == len(h["train_loss"]) == len(h["test_loss"])
    assert h["epoch"][0] == 0 and h["epoch"][-1] == pytest.approx(pg.epoch)
    assert all(a < b for a, b in zip(h["epoch"], h["epoch"][1:]))


def test_maps_have_one_image_per_neuron():
    pg = Playground(PlaygroundConfig(hidden=[4, 8, 8, 8], activations=["relu"] * 4))
    out, hidden = pg.maps(resolution=30)
    assert out.shape == (30, 30)
    assert [h.shape for h in hidden] == [(30, 30, 4), (30, 30, 8), (30, 30, 8), (30, 30, 8)]
    assert out.min() >= -1 and out.max() <= 1
    assert (hidden[0] >= 0).all()  # relu outputs
    assert [w.shape for w in pg.weights()] == [(4, 4), (4, 8), (8, 8), (8, 8), (8, 2)]


def test_regression_playground():
    pg = Playground(PlaygroundConfig(dataset="plane", features=["x1", "x2"], hidden=[], activations=[], lr=0.05))
    pg.train_epochs(30)
    m = pg.metrics()
    assert m.test_loss < 0.01 and m.train_accuracy is None
    out, hidden = pg.maps(20)
    assert hidden == [] and out.shape == (20, 20)


def test_l2_regularisation_shrinks_weights():
    base = dict(dataset="gaussians", features=["x1", "x2"], hidden=[8], activations=["tanh"], lr=0.03)
    plain = Playground(PlaygroundConfig(**base))
    reg = Playground(PlaygroundConfig(**base, regularization="l2", reg_rate=0.05))
    plain.train_epochs(40)
    reg.train_epochs(40)

    def norm(pg):
        return sum(float(np.abs(w).sum()) for w in pg.weights())

    assert norm(reg) < 0.7 * norm(plain)
    l1 = Playground(PlaygroundConfig(**base, regularization="l1", reg_rate=0.02))
    l1.train_epochs(40)
    small = sum(int((np.abs(w) < 1e-2).sum()) for w in l1.weights())
    assert small > sum(int((np.abs(w) < 1e-2).sum()) for w in plain.weights())


def test_diverging_learning_rate_restores_weights():
    pg = Playground(
        PlaygroundConfig(
            dataset="plane", features=["x1", "x2"], hidden=[8], activations=["relu"], optimizer="sgd", lr=10.0
        )
    )
    pg.x_train = pg.x_train * 1e3  # make sure it blows up
    before = pg.net.get_weights()
    ok = pg.train_steps(200)
    assert not ok and "smaller learning rate" in pg.message
    for _a, b in zip(before, pg.net.get_weights()):
        assert np.isfinite(b).all()


def test_invalid_settings_are_rejected_and_change_nothing():
    pg = Playground()
    with pytest.raises(ValueError, match="between 1 and 16 neurons"):
        pg.set_layers([8, 0], ["tanh", "tanh"])
    assert pg.config.hidden == [8, 8, 8]
    with pytest.raises(ValueError, match="at least one input feature"):
        pg.set_features([])
    assert pg.config.features == ["x1", "x2", "sin_x1", "sin_x2"]
    with pytest.raises(ValueError, match="learning rate"):
        pg.set_lr(float("nan"))


def test_save_and_load_round_trip(tmp_path):
    pg = Playground(
        PlaygroundConfig(
            dataset="moons",
            noise=0.2,
            hidden=[5, 3],
            activations=["relu", "tanh"],
            regularization="l2",
            reg_rate=0.001,
            batch_size=8,
        )
    )
    pg.train_epochs(5)
    pg.record()
    path = tmp_path / "lesson.json"
    pg.save(path)
    assert path.stat().st_size < 20_000
    again = Playground.load(path)
    assert again.config == pg.config
    for a, b in zip(pg.net.get_weights(), again.net.get_weights()):
        np.testing.assert_allclose(a, b)
    np.testing.assert_array_equal(again.data.x_train, pg.data.x_train)
    assert again.step_count == pg.step_count and again.history == pg.history
    np.testing.assert_allclose(again.maps(10)[0], pg.maps(10)[0], atol=1e-6)
    # training continues identically after loading
    pg.train_steps(10)
    again.train_steps(10)
    for a, b in zip(pg.net.get_weights(), again.net.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\xff\x10garbage", "not a playground file|not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b'{"format": "something-else"}', "not an nnstudio playground file"),
        (b'{"format": "nnstudio-playground", "version": 1, "config": {"hidden": [0]}, "weights": []}', "damaged"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(PlaygroundFileError, match=message):
        Playground.load(path)


def test_truncated_file_is_rejected(tmp_path):
    pg = Playground()
    path = tmp_path / "p.json"
    pg.save(path)
    d = json.loads(path.read_text())
    d["weights"] = d["weights"][:-1]
    path.write_text(json.dumps(d))
    with pytest.raises(PlaygroundFileError, match="weights do not match"):
        Playground.load(path)


@pytest.mark.parametrize("act", ["tanh", "relu", "leaky_relu", "sigmoid", "elu", "softplus", "gelu", "swish"])
def test_every_hidden_activation_learns_the_circle(act):
    pg = Playground(
        PlaygroundConfig(dataset="circle", features=["x1", "x2"], hidden=[8, 8], activations=[act] * 2, lr=0.03)
    )
    pg.train_epochs(60)
    assert pg.metrics().test_accuracy >= 0.9
