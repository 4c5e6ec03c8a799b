"""RunConfig: the one run description the CLI and the window share, and the model-file dialect."""

import numpy as np
import pytest

from nnstudio.core.limits import LimitError
from nnstudio.core.nn import DEFAULT_LR, load_model, save_model
from nnstudio.core.training import RunConfig
from nnstudio.resources import pretrained_model_path


def test_defaults_build_the_course_network():
    cfg = RunConfig()
    net = cfg.build_network(784, 10)
    assert net.sizes() == [784, 128, 10]
    opt = cfg.make_optimizer(net.parameters())
    assert opt.kind == "Adam" and opt.lr == DEFAULT_LR["adam"] == cfg.base_lr
    assert cfg.cosine and cfg.memory_kind == "baseline"


def test_same_config_and_seed_give_the_same_weights():
    a = RunConfig(hidden=[32, 16], activation=["tanh", "relu"], dropout=[0.1, 0.0], seed=7).build_network(784, 10)
    b = RunConfig(hidden=[32, 16], activation=["tanh", "relu"], dropout=[0.1, 0.0], seed=7).build_network(784, 10)
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))


def test_problems_come_from_the_limits_table():
    assert RunConfig().problems() == []
    assert "learning rate 1,000,000,000 is out of range" in RunConfig(lr=1e9).problems()[0]
    assert any("momentum" in p for p in RunConfig(optimizer="momentum", momentum=1.0).problems())
    assert RunConfig(optimizer="sgd", momentum=1.0).problems() == []  # momentum unused by plain SGD
    assert any("layer size 0" in p for p in RunConfig(hidden=[0]).problems())
    with pytest.raises(LimitError, match="batch size 0"):
        RunConfig(batch_size=0).validate()


def test_hyperparameters_round_trip_through_a_model_file(tmp_path):
    cfg = RunConfig(
        hidden=[64, 32],
        activation=["relu", "tanh"],
        dropout=[0.2, 0.0],
        optimizer="momentum",
        lr=0.05,
        momentum=0.8,
        nesterov=True,
        weight_decay=1e-4,
        batch_size=64,
        epochs=3,
        seed=4,
        schedule="constant",
    )
    net = cfg.build_network(784, 10)
    save_model(net, tmp_path / "m.npz", hyperparameters=cfg.to_hyperparameters())
    again = load_model(tmp_path / "m.npz")
    back = RunConfig.from_hyperparameters(again.meta["hyperparameters"], "mnist", again)
    assert back == cfg


def test_files_from_the_first_version_are_read_with_the_rate_the_user_chose():
    """The shipped models were written by the first CLI: lr 0.0 (after cosine decay), 'relu' as text,
    'Adam' capitalised. Opening one must not set the learning rate to (nearly) zero."""
    net = load_model(pretrained_model_path("mnist"))
    hp = net.meta["hyperparameters"]
    assert hp["lr"] == 0.0 and hp["optimizer"] == "Adam" and hp["activation"] == "relu"
    cfg = RunConfig.from_hyperparameters(hp, "mnist", net)
    assert cfg.optimizer == "adam" and cfg.base_lr == DEFAULT_LR["adam"]
    assert cfg.hidden == [128] and cfg.activation == ["relu"] and cfg.dropout == [0.2] and cfg.cosine
    assert cfg.epochs == 15 and cfg.problems() == []
    old_cli = {
        "optimizer": "Momentum",
        "lr": 0.0,
        "momentum": 0.9,
        "cosine": False,
        "layers": [32, 16],
        "activation": "relu,tanh",
        "dropout": 0.1,
    }
    cfg = RunConfig.from_hyperparameters(old_cli)
    assert cfg.optimizer == "momentum" and cfg.base_lr == DEFAULT_LR["momentum"] and cfg.schedule == "constant"
    assert cfg.activation == ["relu", "tanh"] and cfg.dropout == [0.1]
    assert cfg.to_hyperparameters()["dropout"] == [0.1, 0.1]  # written one per layer


def test_the_estimate_counts_the_trainers_snapshots_and_the_dataset():
    cfg = RunConfig(hidden=[100])
    est = cfg.estimate_bytes(784, 10, dataset_bytes=1000)
    params = (784 * 100 + 100 + 100 * 10 + 10) * 4
    # one snapshot (the best weights the guard keeps) of parameters + Adam's two moments
    assert est.parameters == params and est.snapshots == 3 * params and est.dataset == 1000
