import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.core.nn import load_model


def run_cli(*args):
    """Run the real console entry point in a subprocess: what a user at a terminal gets."""
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "nnstudio", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_train_json_then_evaluate(mnist, tmp_path, capsys):
    out = tmp_path / "model.npz"
    code = main(
        [
            "train",
            "--dataset",
            "mnist",
            "--layers",
            "64",
            "--epochs",
            "2",
            "--batch-size",
            "256",
            "--seed",
            "1",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["test_accuracy"] > 0.94
    assert len(result["epoch_seconds"]) == 2 and all(s > 0 for s in result["epoch_seconds"])
    assert result["architecture"] == [784, 64, 10]
    net = load_model(out)
    assert net.meta["dataset"] == "mnist" and len(net.meta["history"]["epochs"]) == 2
    hyper = net.meta["hyperparameters"]
    assert hyper["optimizer"] == "adam" and hyper["lr"] == 0.003 and hyper["schedule"] == "cosine"
    assert net.optimizer_state["kind"] == "Adam"  # the CLI saves the optimizer state like the window

    assert main(["evaluate", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == pytest.approx(result["test_accuracy"])
    cm = np.array(report["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 10000
    assert np.trace(cm) / cm.sum() == pytest.approx(report["accuracy"])
    assert len(report["per_class_accuracy"]) == 10


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--layers", "12,abc"], "comma-separated"),
        (["train", "--layers", "0"], "out of range"),
        (["train", "--lr", "-1"], "out of range"),
        (["train", "--lr", "1e9"], "learning rate 1,000,000,000 is out of range: it must be in [1e-06, 10]"),
        (["train", "--lr", "nan"], "finite"),
        (["train", "--epochs", "0"], "out of range"),
        (["train", "--dropout", "0.99"], "dropout rate 0.99 is out of range"),
        (["train", "--optimizer", "rmsprop"], "invalid choice"),
        (["train", "--dataset", "cifar", "--no-download"], "unknown dataset"),
        (["evaluate", "no-such-model.npz"], "no such model file"),
        (["bogus-command"], "invalid choice"),
    ],
)
def test_bad_input_gives_one_line_error_and_no_traceback(args, message):
    proc = run_cli(*args)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_corrupt_model_file_is_reported(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00" * 100)
    proc = run_cli("evaluate", str(bad), "--no-download")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "not an nnstudio model" in proc.stderr


def test_data_list_and_verify(mnist):
    proc = run_cli("data", "verify", "mnist")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("OK ") == 4
    proc = run_cli("data", "list")
    assert "mnist" in proc.stdout and "fashion-mnist" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("dataset, target", [("mnist", 0.975), ("fashion-mnist", 0.87)])
def test_default_784_128_10_adam_reaches_target_in_5_epochs(dataset, target, mnist, fashion_mnist, capsys):
    assert (
        main(
            [
                "train",
                "--dataset",
                dataset,
                "--layers",
                "128",
                "--optimizer",
                "adam",
                "--epochs",
                "5",
                "--seed",
                "0",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["test_accuracy"] >= target
