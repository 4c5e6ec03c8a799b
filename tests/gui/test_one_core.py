"""The window and the CLI share one core: the same limits, the same model file, the same estimate."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.cli import main
from nnstudio.core.nn import DEFAULT_LR, load_model
from nnstudio.core.training import RunConfig


def test_an_out_of_range_learning_rate_is_refused_with_the_clis_sentence(studio, qtbot, capsys):
    page = studio
    spin = page.lr.spin
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "1e9")
    qtbot.keyClick(spin.lineEdit(), Qt.Key_Return)
    assert page.lr.value() == 1e9  # kept as typed, not clamped to 1.0
    assert not page.train_button.isEnabled() and not page.step_button.isEnabled()
    page.train()  # F5 does nothing but say why
    assert not page.worker.running
    assert main(["train", "--lr", "1e9", "--no-download"]) == 2
    cli_line = capsys.readouterr().err.strip().removeprefix("nnstudio: error: ")
    assert cli_line in page.message()  # the same sentence, word for word
    assert cli_line in spin.toolTip()
    page.lr.setValue(0.01)
    assert page.train_button.isEnabled() and "Cannot train" not in page.message()


def test_the_window_and_the_cli_write_the_same_model_file(studio, qtbot, tmp_path, capsys):
    """Same settings -> the same hyperparameters dialect; each opens what the other wrote."""
    cli_path = tmp_path / "cli.npz"
    assert (
        main(
            [
                "train",
                "--layers",
                "32",
                "--epochs",
                "1",
                "--optimizer",
                "momentum",
                "--lr",
                "0.05",
                "--batch-size",
                "256",
                "--seed",
                "3",
                "--out",
                str(cli_path),
                "--json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    page = studio
    page.editor.set_spec({"hidden": [{"units": 32, "activation": "relu", "dropout": 0.0}], "init": "he"})
    page.optimizer_combo.setCurrentIndex(page.optimizer_combo.findData("momentum"))
    page.lr.setValue(0.05)
    page.batch_size.setValue(256)
    page.epochs.setValue(1)
    page.seed.setValue(3)
    page.build_network()
    win_path = tmp_path / "window.npz"
    assert page.save_model(str(win_path))
    cli_hp = load_model(cli_path).meta["hyperparameters"]
    win_hp = load_model(win_path).meta["hyperparameters"]
    win_hp.pop("smoothing")  # the chart's setting, window only
    assert win_hp == cli_hp
    assert cli_hp["lr"] == 0.05 and cli_hp["schedule"] == "cosine"  # the base rate, not the decayed one
    # the window opens the CLI's model with the CLI's settings and optimizer state
    assert page.open_model(str(cli_path))
    assert page.lr.value() == 0.05 and page.optimizer_combo.currentData() == "momentum"
    assert page.optimizer.steps == load_model(cli_path).optimizer_state["steps"] > 0
    assert RunConfig.from_hyperparameters(cli_hp) == page.run_config()


def test_a_first_version_cli_model_opens_with_the_default_rate(studio, tmp_path):
    """The shipped models say lr 0.0 (the rate after decay): the window used to set 1e-5."""
    from nnstudio.resources import pretrained_model_path

    assert studio.open_model(str(pretrained_model_path("mnist")))
    assert studio.lr.value() == pytest.approx(DEFAULT_LR["adam"])
    assert not studio.lr.problem and studio.train_button.isEnabled()


def test_the_layer_editor_shows_the_clis_estimate(studio, capsys):
    page = studio
    page.editor.set_spec(
        {
            "hidden": [
                {"units": 300, "activation": "relu", "dropout": 0.2},
                {"units": 100, "activation": "tanh", "dropout": 0.0},
            ],
            "init": "he",
        }
    )
    page.optimizer_combo.setCurrentIndex(page.optimizer_combo.findData("momentum"))
    page.batch_size.setValue(256)
    est = page.editor.estimate
    command = "memory estimate --layers 300,100 --activation relu,tanh --dropout 0.2,0 --batch-size 256"
    assert main([*command.split(), "--optimizer", "momentum", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["total"] == est.total
    assert cli["total"] / 2**20 == pytest.approx(float(page.editor.summary.text().split("≈")[1].split()[0]), rel=0.01)
    assert "MiB" in page.editor.summary.text() and "MB" not in page.editor.summary.text().replace("MiB", "")
    np.testing.assert_equal(cli["activations"], est.activations)
