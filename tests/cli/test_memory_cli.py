"""``nnstudio memory compare|search`` and ``nnstudio train --checkpoint-segments/--precision/--memory-budget``."""

import json
import os
import subprocess
import sys

import pytest

from nnstudio.cli import main
from nnstudio.core.nn import load_model
from nnstudio.core.nn.spec import MLPSpec
from nnstudio.core.training import Trainer


def test_memory_compare_json(capsys):
    code = main(
        [
            "memory",
            "compare",
            "--layers",
            "256,256,256,256,256,256",
            "--batch-size",
            "128",
            "--segments",
            "3",
            "--steps",
            "1",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["architecture"] == [784, 256, 256, 256, 256, 256, 256, 10]
    s = out["strategies"]
    assert list(s) == ["baseline", "checkpoint", "mixed"]
    for r in s.values():
        assert r["peak_bytes"] > r["resident_bytes"] > 0 and r["seconds_per_step"] > 0
        assert abs(r["accounted_peak_bytes"] / r["peak_bytes"] - 1) < 0.1
    assert s["baseline"]["max_grad_diff"] == 0 and s["checkpoint"]["max_grad_diff"] == 0
    assert 0 < s["mixed"]["max_grad_diff"] < 0.05
    assert s["checkpoint"]["activation_bytes"] < s["baseline"]["activation_bytes"]
    assert s["mixed"]["activations_vs_baseline"] < 0.55
    assert s["checkpoint"]["peak_bytes"] < s["baseline"]["peak_bytes"]


def test_memory_search_json_respects_the_budget(capsys):
    assert main(["memory", "search", "--layers", "256", "--budget", "8MiB", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["budget"] == 8 * 1024 * 1024
    for res in out["strategies"].values():
        assert 1 < res["batch_size"] < 60000
        assert all(peak <= out["budget"] for _, peak in res["trials"])
    assert out["strategies"]["mixed"]["batch_size"] > out["strategies"]["baseline"]["batch_size"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["memory"], "choose an action"),
        (["memory", "search", "--budget", "plenty"], "cannot read memory budget"),
        (["memory", "search", "--budget", "100KB"], "smaller than the weights"),
        (["memory", "compare", "--layers", "12,x"], "comma-separated"),
    ],
)
def test_memory_bad_input_is_one_clear_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_train_with_checkpointing_and_a_memory_budget(mnist, tmp_path, capsys):
    out = tmp_path / "m.npz"
    # the requested batch of 20,000 does not fit 12 MB: the budget lowers it
    code = main(
        [
            "train",
            "--layers",
            "64,64",
            "--epochs",
            "1",
            "--checkpoint-segments",
            "2",
            "--batch-size",
            "20000",
            "--memory-budget",
            "12MB",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert "memory budget" in captured.err and "does not fit" in captured.err
    batch = result["hyperparameters"]["batch_size"]
    assert 500 < batch < 20000  # chosen by the search
    assert result["test_accuracy"] > 0.8
    assert load_model(out).meta["hyperparameters"]["batch_size"] == batch
    # a batch that fits is kept as asked
    assert (
        main(["train", "--layers", "64", "--epochs", "1", "--batch-size", "256", "--memory-budget", "1GB", "--json"])
        == 0
    )
    captured = capsys.readouterr()
    assert json.loads(captured.out.strip().splitlines()[-1])["hyperparameters"]["batch_size"] == 256
    assert "the requested 256 fits" in captured.err


def test_train_mixed_precision_reports_the_scaler(mnist):
    env = dict(os.environ)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnstudio",
            "train",
            "--layers",
            "64",
            "--epochs",
            "1",
            "--precision",
            "mixed",
            "--batch-size",
            "256",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "mixed precision:" in r.stderr and "steps skipped" in r.stderr
    acc = float(r.stderr.split("test accuracy ")[1].split("%")[0])
    assert acc > 92


def test_train_combines_checkpointing_with_mixed_precision(mnist, capsys):
    code = main(
        [
            "train",
            "--layers",
            "64,64,64",
            "--epochs",
            "1",
            "--precision",
            "mixed",
            "--checkpoint-segments",
            "2",
            "--batch-size",
            "256",
            "--json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["test_accuracy"] > 0.9


def test_the_cli_prints_the_same_estimate(capsys):
    spec = MLPSpec(784, [300, 100], 10, ["relu", "tanh"], [0.2, 0.0])
    est = spec.estimate_bytes(256, "momentum", snapshots=Trainer.SNAPSHOTS)
    command = "memory estimate --layers 300,100 --activation relu,tanh --dropout 0.2,0 --batch-size 256"
    assert main([*command.split(), "--optimizer", "momentum", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == est.total and out["activations"] == est.activations
