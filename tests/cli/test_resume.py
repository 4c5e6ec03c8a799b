"""``nnstudio train --resume``: continue a saved model; the training guard keeps the good weights."""

import json

import pytest

from nnstudio.cli import main
from nnstudio.core.nn import load_model
from nnstudio.resources import pretrained_model_path

from .test_cli import run_cli


def test_a_wrecking_resume_is_reported_and_the_saved_model_keeps_the_good_weights(mnist, tmp_path):
    """The issue's scenario, through the real console entry point."""
    shipped = str(pretrained_model_path("mnist"))
    out = tmp_path / "m.npz"
    args = ["train", "--resume", shipped, "--optimizer", "momentum", "--momentum", "0.999", "--lr", "1"]
    proc = run_cli(*args, "--no-cosine", "--epochs", "2", "--out", str(out), "--json")
    assert proc.returncode == 1  # the guard stopped the run (documented in train --help)
    assert "Traceback" not in proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("nnstudio:")]
    assert len(line) == 1 and "falling apart" in line[0] and "rolled back" in line[0] and "momentum" in line[0]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    guard = result["guard"]
    assert result["state"] == "diverged" and result["resumed_from"] == shipped
    assert guard["kind"] in ("loss", "accuracy") and guard["message"] in line[0]
    start = len(load_model(shipped).meta["history"]["step_loss"])
    assert guard["restored_step"] == start < guard["step"] <= start + 2 * 469
    assert result["hyperparameters"]["optimizer"] == "momentum" and result["hyperparameters"]["momentum"] == 0.999
    saved = load_model(out)
    assert len(saved.meta["history"]["epochs"]) == 15  # the model's epochs; the collapsed one is not recorded
    ev = run_cli("evaluate", str(out), "--json")
    assert ev.returncode == 0 and json.loads(ev.stdout)["accuracy"] >= 0.97


def test_resume_continues_a_cli_model_with_its_settings_and_history(mnist, tmp_path, capsys):
    first = tmp_path / "a.npz"
    assert main(["train", "--layers", "32", "--epochs", "1", "--batch-size", "256", "--out", str(first), "--json"]) == 0
    a = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    second = tmp_path / "b.npz"
    code = main(["train", "--resume", str(first), "--epochs", "1", "--lr", "0.001", "--out", str(second), "--json"])
    assert code == 0
    b = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the file's settings, except what was typed: still Adam, batch 256, 784-32-10; the new rate
    assert b["architecture"] == [784, 32, 10] and b["guard"] is None
    hyper = b["hyperparameters"]
    assert hyper["optimizer"] == "adam" and hyper["batch_size"] == 256 and hyper["lr"] == 0.001
    assert b["test_accuracy"] > a["test_accuracy"]
    net = load_model(second)
    history = net.meta["history"]
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]  # numbering goes on
    assert len(history["step_loss"]) == 2 * 235
    assert net.optimizer_state["kind"] == "Adam" and net.optimizer_state["steps"] == 2 * 235  # state carried on


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--layers", "64"], "keeps the model's hidden"),
        (["--dataset", "fashion-mnist"], "keeps the model's dataset"),
    ],
)
def test_resume_refuses_to_change_the_architecture_in_one_line(tmp_path, capsys, extra, message):
    code = main(["train", "--resume", str(pretrained_model_path("mnist")), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_resume_of_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "nope.npz")]) == 2
    assert "no such model file" in capsys.readouterr().err
