"""A passed exercise drives the real engine: the learner's Dense trains MNIST exactly as the engine's does,
their optimizer steps train the playground, their rules differentiate the course's examples."""

import numpy as np
import pytest

from nnstudio.core.exercises import get
from nnstudio.core.exercises.use import (
    LearnerCodeError,
    autograd_examples,
    checkpoint_compare,
    load_learner,
    mnist_trainer,
    perceptron_gates,
    toy_race,
)
from nnstudio.core.training.config import RunConfig


def test_the_learners_dense_trains_mnist_like_the_engines(mnist):
    x, y = mnist.flat("train")
    xt, yt = mnist.flat("test")
    x, y, xt, yt = x[:3000], y[:3000], xt[:1000], yt[:1000]
    trainer = mnist_trainer(load_learner(get("dense").solution), (x, y), (xt, yt), epochs=1)
    assert trainer.network.meta["trained_with"] == "your Dense.forward / Dense.backward"
    trainer.run()
    config = RunConfig(epochs=1)
    net = config.build_network(784, 10)
    engine = config.make_trainer(net, config.make_optimizer(net.parameters()), (x, y), (xt, yt))
    engine.run()
    mine, theirs = trainer.history.epochs[-1], engine.history.epochs[-1]
    assert mine["test_accuracy"] > 0.75  # one epoch on 3,000 images
    assert mine["test_accuracy"] == pytest.approx(theirs["test_accuracy"], abs=0.005)
    for p, q in zip(trainer.network.parameters(), net.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-4, atol=1e-5)


def test_a_wrong_dense_in_the_engine_says_whose_code_failed(mnist):
    source = get("dense").solution.replace("self.db = grad_y.sum(axis=0)", "self.db = grad_y")
    x, y = mnist.flat("test")
    trainer = mnist_trainer(load_learner(source), (x[:256], y[:256]), None, epochs=1)
    with pytest.raises(LearnerCodeError, match="your Dense.backward"):
        trainer.run()


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_the_learners_optimizer_trains_the_playground_like_the_engines(name):
    race = toy_race(name, load_learner(get(name).solution), steps=200, every=50)
    assert race["step"] == [50, 100, 150, 200]
    np.testing.assert_allclose(race["mine"], race["engine"], rtol=1e-4)
    assert race["mine"][-1] < race["mine"][0]


def test_adam_without_bias_correction_trains_differently():
    source = get("adam").solution.replace("m_hat = m / (1 - beta1**t)", "m_hat = m")
    race = toy_race("adam", load_learner(source), steps=100, every=50)
    assert abs(race["mine"][-1] - race["engine"][-1]) > 1e-3


def test_the_learners_perceptron_learns_and_but_never_xor():
    rows = {r["gate"]: r for r in perceptron_gates(load_learner(get("perceptron").solution))}
    assert rows["AND"]["converged"] and rows["OR"]["converged"]
    assert not rows["XOR"]["converged"] and min(rows["XOR"]["mistakes"]) > 0


@pytest.mark.parametrize("name", ["autograd_ops", "autograd_backward"])
def test_the_learners_autograd_differentiates_the_course_examples(name):
    rows = autograd_examples(name, load_learner(get(name).solution))
    at2 = [r for r in rows if r["x"] == 2.0 and r["expression"].startswith("x**2")][0]
    assert at2["mine"] == at2["engine"] == 7.0
    for r in rows:
        assert r["mine"] == pytest.approx(r["engine"])


def test_the_learners_checkpointing_gives_the_plain_gradients():
    rng = np.random.default_rng(0)
    x = rng.random((32, 784), dtype=np.float32)
    result = checkpoint_compare(load_learner(get("checkpoint").solution), x, rng.integers(0, 10, 32))
    assert result["max_grad_difference"] == 0.0
    assert result["cached_after_forward"] <= result["bounds"][-1][1] - result["bounds"][-1][0]


def test_code_that_does_not_load_is_one_clear_error():
    with pytest.raises(LearnerCodeError, match="could not be loaded: NameError"):
        load_learner("x = undefined_name\n")


def test_a_model_trained_with_the_learners_dense_says_so_in_its_file(tmp_path):
    from nnstudio.core.exercises.use import plug_dense
    from nnstudio.core.nn import load_model, save_model

    net = plug_dense(RunConfig().build_network(784, 10), load_learner(get("dense").solution).Dense)
    path = tmp_path / "mine.npz"
    save_model(net, path)
    loaded = load_model(path)
    assert loaded.meta["trained_with"] == "your Dense.forward / Dense.backward"
    x = np.random.default_rng(0).random((4, 784), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x), net.predict(x), rtol=1e-6)
