"""``nnstudio runs`` and the runs ``nnstudio train`` records, through the real console entry point."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from nnstudio.core.runs import RunStore

from .test_cli import run_cli


def train(*extra):
    return run_cli("train", "--layers", "16", "--epochs", "1", "--batch-size", "256", "--json", *extra)


def test_two_trained_runs_are_listed_and_compared_by_lr(mnist, nnstudio_home, tmp_path):
    """The issue's 'done when': two runs differing in lr, listed with lr and accuracy, compared by lr."""
    assert not nnstudio_home.exists()
    out = tmp_path / "m.npz"
    first, second = train("--lr", "0.003"), train("--lr", "0.02", "--out", str(out))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    results = [json.loads(p.stdout.splitlines()[-1]) for p in (first, second)]
    assert (nnstudio_home / "runs.db").exists()

    listed = run_cli("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [r["id"] for r in runs] == [results[1]["run"], results[0]["run"]]  # newest first
    assert [r["lr"] for r in runs] == [0.02, 0.003]
    assert [r["test_accuracy"] for r in runs] == pytest.approx(
        [results[1]["test_accuracy"], results[0]["test_accuracy"]]
    )
    assert all(r["status"] == "finished" and r["source"] == "cli" and r["epochs_done"] == 1 for r in runs)
    assert runs[0]["model_path"] == str(out.resolve()) and runs[1]["model_path"] is None
    assert runs[0]["hyperparameters"]["schedule"] == "cosine" and runs[0]["samples_per_sec"] > 0

    ids = [str(results[0]["run"]), str(results[1]["run"])]
    cmp = run_cli("runs", "compare", *ids, "--json")
    c = json.loads(cmp.stdout)
    assert c["differ"] == ["lr"] and c["labels"] == ["lr 0.003", "lr 0.02"]
    text = run_cli("runs", "compare", *ids).stdout.splitlines()
    assert [line.split()[:2] for line in text if line.startswith("*")] == [["*", "lr"], ["*", "differs:"]]
    assert text[-1] == "* differs: lr"

    shown = json.loads(run_cli("runs", "show", ids[1], "--json").stdout)
    assert len(shown["epochs"]) == 1 and shown["epochs"][0]["test_accuracy"] == pytest.approx(
        results[1]["test_accuracy"]
    )
    assert 200 <= len(shown["loss_curve"]["values"]) <= 512 + 1  # 235 steps, kept one by one

    table = tmp_path / "runs.csv"
    exported = run_cli("runs", "export", *ids, "--csv", str(table))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert [(r["run"], r["lr"], r["epoch"]) for r in rows] == [(ids[0], "0.003", "1"), (ids[1], "0.02", "1")]
    assert float(rows[1]["test_accuracy"]) == pytest.approx(results[1]["test_accuracy"])

    deleted = run_cli("runs", "delete", ids[0])
    assert deleted.returncode == 0 and "deleted 1 run" in deleted.stdout
    assert [r["id"] for r in json.loads(run_cli("runs", "list", "--json").stdout)] == [int(ids[1])]
    assert out.exists()  # forgetting a run keeps its model file


def test_unknown_ids_and_a_damaged_store_get_one_line(nnstudio_home):
    p = run_cli("runs", "show", "42")
    assert p.returncode == 2 and p.stderr.strip() == "nnstudio: error: no run with id 42 (see 'nnstudio runs list')"
    nnstudio_home.mkdir(parents=True, exist_ok=True)
    (nnstudio_home / "runs.db").write_text("garbage " * 1000)
    p = run_cli("runs", "list", "--json")
    assert p.returncode == 0 and json.loads(p.stdout) == []
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "runs database" in lines[0] and "damaged" in lines[0] and "Traceback" not in p.stderr
    p = run_cli("runs", "export", "1", "--csv", "x.csv")
    assert p.returncode == 2 and "no run with id 1" in p.stderr


def test_a_killed_training_run_keeps_its_finished_epochs(mnist, nnstudio_home):
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnstudio", "train", "--layers", "32", "--epochs", "50", "--batch-size", "64"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        run = None
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if (nnstudio_home / "runs.db").exists():
                runs = RunStore().runs()
                run = runs[0] if runs else None
                if run is not None and run.epochs_done >= 1:
                    break
        assert run is not None and run.epochs_done >= 1, "the first epoch never reached the store"
        proc.send_signal(signal.SIGKILL)  # mid-run: 50 epochs never end before this (an epoch takes 0.3 s or more)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    run = RunStore().get(run.id)
    assert run.status == "interrupted" and run.ended is None
    done = len(run.epochs)  # the epochs finished before the kill (on a fast machine more than one)
    assert 1 <= done < 50 and [e["epoch"] for e in run.epochs] == list(range(1, done + 1))
    assert run.epochs[0]["test_accuracy"] > 0.9
    assert run.steps == 938 * done  # exactly the finished epochs' batches (60,000 / 64 each): none of the killed one
    listed = json.loads(run_cli("runs", "list", "--json").stdout)
    assert listed[0]["status"] == "interrupted" and listed[0]["test_accuracy"] == pytest.approx(run.test_accuracy)
