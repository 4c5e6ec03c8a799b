"""The run store: what a run records, how it survives crashes, concurrent writers and damage."""

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from nnstudio.core.runs import LossCurve, RunStore, RunStoreError, comparison, default_path, record_run
from nnstudio.core.runs.store import SCHEMA_VERSION
from nnstudio.core.training import RunConfig, Trainer


def blobs(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float32)
    return centres[y] + rng.standard_normal((n, 4)).astype(np.float32) * 0.5, y


def blob_trainer(config: RunConfig):
    net = config.build_network(4, 3)
    return config.make_trainer(net, config.make_optimizer(net.parameters()), blobs(), blobs(200, seed=1))


def test_the_store_lives_in_the_per_user_folder(nnstudio_home):
    store = RunStore()
    assert store.path == default_path() == nnstudio_home / "runs.db"
    assert store.path.exists()
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_run_records_settings_epochs_curve_and_ending():
    cfg = RunConfig(dataset="blobs", hidden=[16], optimizer="adam", lr=0.01, batch_size=32, epochs=3, seed=2)
    trainer = blob_trainer(cfg)
    store = RunStore()
    rec = record_run(trainer, cfg, "cli", store=store)
    trainer.run()
    run = store.get(rec.run_id)
    assert run.status == "finished" and run.source == "cli" and run.dataset == "blobs"
    assert run.architecture == [4, 16, 3]
    # the base rate, not the rate cosine decay left the optimizer with (zero at the end)
    assert trainer.optimizer.lr < 1e-6
    assert run.hyperparameters["lr"] == 0.01 and run.hyperparameters["schedule"] == "cosine"
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3]
    for got, want in zip(run.epochs, trainer.history.epochs):
        assert got["test_accuracy"] == pytest.approx(want["test_accuracy"])
        assert got["train_loss"] == pytest.approx(want["train_loss"])
    assert run.test_accuracy == pytest.approx(trainer.history.epochs[-1]["test_accuracy"]) and run.test_accuracy > 0.9
    assert run.steps == 3 * 19 == len(trainer.history.step_loss)
    assert run.train_seconds == pytest.approx(sum(e["seconds"] for e in trainer.history.epochs))
    assert run.samples_per_sec == pytest.approx(3 * 600 / run.train_seconds)
    assert run.wall_seconds >= run.train_seconds
    x, y = run.loss_points()
    assert y == pytest.approx(trainer.history.step_loss)  # short runs keep every step
    assert x[0] == pytest.approx(0.5 / 19) and x[-1] == pytest.approx(3 - 0.5 / 19)


def test_a_run_longer_than_the_history_keeps_counts_every_step_and_its_loss():
    from nnstudio.core.training import History

    # The history keeps a fixed number of points (older steps merged); the record still counts every step.
    cfg = RunConfig(dataset="blobs", hidden=[8], optimizer="sgd", lr=0.05, batch_size=4, epochs=4, seed=0)
    net = cfg.build_network(4, 3)
    trainer = cfg.make_trainer(
        net, cfg.make_optimizer(net.parameters()), blobs(), blobs(200, seed=1), history=History(capacity=64)
    )
    store = RunStore()
    rec = record_run(trainer, cfg, "cli", store=store)
    trainer.run()
    run = store.get(rec.run_id)
    assert trainer.history.steps == 4 * 150 and len(trainer.history.step_loss) <= 64
    assert run.steps == 4 * 150
    _, y = run.loss_points()
    # the stored curve's mean is the mean loss over all 600 steps (merged points weighted by what they stand for)
    y_hist = trainer.history.step_loss
    w = trainer.history.loss.weights
    assert np.mean(y) == pytest.approx(np.sum(y_hist * w) / np.sum(w), rel=0.05)


def test_a_run_that_continues_earlier_training_is_numbered_on():
    cfg = RunConfig(dataset="blobs", hidden=[8], lr=0.01, batch_size=100, epochs=2)
    trainer = blob_trainer(cfg)
    trainer.run()
    store = RunStore()
    second = Trainer(trainer.network, trainer.optimizer, blobs(), blobs(200, 1), batch_size=100, epochs=1,
                     history=trainer.history)  # fmt: skip
    rec = record_run(second, cfg, "window", store=store)
    second.run()
    run = store.get(rec.run_id)
    assert [e["epoch"] for e in run.epochs] == [3] and run.first_epoch == 3 and run.steps == 6
    assert run.loss_points()[0][0] == pytest.approx(2 + 0.5 / 6)


def test_the_loss_curve_keeps_a_fixed_size_of_exact_bucket_means():
    rng = np.random.default_rng(0)
    losses = rng.random(100_003)
    curve = LossCurve(size=512)
    i = 0
    while i < len(losses):  # fed in uneven pieces, as epochs of different lengths would
        n = int(rng.integers(1, 3000))
        curve.extend(losses[i : i + n])
        i += n
    d = curve.to_dict()
    every, values = d["every"], d["values"]
    assert 256 <= len(values) <= 513 and every == 256
    full = len(losses) // every
    assert values[:full] == pytest.approx(losses[: full * every].reshape(full, every).mean(axis=1))
    assert values[-1] == pytest.approx(losses[full * every :].mean())  # the partly filled last bucket


def test_stopped_and_diverged_runs_say_how_they_ended():
    store = RunStore()
    cfg = RunConfig(dataset="blobs", hidden=[16], optimizer="sgd", lr=0.1, batch_size=32, epochs=3)
    trainer = blob_trainer(cfg)
    rec = record_run(trainer, cfg, "window", store=store)
    trainer.events.connect("step", lambda info: trainer.stop() if info.step == 25 else None)
    trainer.run()
    run = store.get(rec.run_id)
    assert run.status == "stopped" and run.epochs_done == 1 and run.steps == 25

    trainer = blob_trainer(cfg)
    trainer.x = x = trainer.x.copy()
    row = np.random.default_rng((trainer.seed, 2)).permutation(len(x))[3 * 32]
    rec = record_run(trainer, cfg, "cli", store=store)
    trainer.events.connect("epoch", lambda info: x.__setitem__((row, 0), np.nan))  # NaN in epoch 2, batch 4
    trainer.run()
    run = store.get(rec.run_id)
    assert run.status == "diverged" and "nan" in run.message.lower()
    assert run.epochs_done == 1 and run.steps == 19 + 3

    # started paused (the window's Step), stopped before a single step: nothing worth keeping
    net = cfg.build_network(4, 3)
    trainer = cfg.make_trainer(net, cfg.make_optimizer(net.parameters()), blobs(), start_paused=True)
    rec = record_run(trainer, cfg, "window", store=store)
    t = threading.Thread(target=trainer.run)
    t.start()
    assert trainer.pause(wait=True)
    trainer.stop()
    t.join(10)
    assert rec.run_id is None and len(store.runs()) == 2


def test_a_divergence_reported_before_a_stop_is_recorded_as_diverged():
    """A guard that says 'diverged' and then stops the run: the run still counts as diverged."""
    store = RunStore()
    cfg = RunConfig(dataset="blobs", hidden=[8], lr=0.01, batch_size=100, epochs=2)
    trainer = blob_trainer(cfg)
    rec = record_run(trainer, cfg, "cli", store=store)

    def guard(info):
        if info.step == 8:
            trainer.events.emit("diverged", "the loss grew tenfold in 3 steps")
            trainer.stop()

    trainer.events.connect("step", guard)
    trainer.run()
    run = store.get(rec.run_id)
    assert run.status == "diverged" and run.message == "the loss grew tenfold in 3 steps"


def test_comparison_names_what_differs():
    store = RunStore()
    ids = []
    for lr, bs in ((0.003, 32), (0.02, 32), (0.02, 64)):
        cfg = RunConfig(dataset="blobs", hidden=[8], lr=lr, batch_size=bs, epochs=1)
        trainer = blob_trainer(cfg)
        ids.append(record_run(trainer, cfg, "cli", store=store).run_id)
        trainer.run()
    runs = [store.get(i) for i in ids]
    c = comparison(runs[:2])
    assert c["differ"] == ["lr"] and c["labels"] == ["lr 0.003", "lr 0.02"]
    assert c["hyperparameters"]["lr"] == ["0.003", "0.02"] and c["hyperparameters"]["batch"] == ["32", "32"]
    c = comparison(runs)
    assert c["differ"] == ["lr", "batch"] and c["labels"][2] == "lr 0.02, batch 64"
    assert c["metrics"]["test_accuracy"] == [r.test_accuracy for r in runs]
    # settings an optimizer does not use never count as a difference
    adam = RunConfig(dataset="blobs", hidden=[8], optimizer="adam", momentum=0.5, lr=0.01, batch_size=32, epochs=1)
    trainer = blob_trainer(adam)
    rec = record_run(trainer, adam, "cli", store=store)
    trainer.run()
    assert comparison([store.get(rec.run_id), runs[1]])["differ"] == ["lr"]


def test_delete_removes_runs_and_their_epochs():
    store = RunStore()
    cfg = RunConfig(dataset="blobs", hidden=[8], lr=0.01, batch_size=100, epochs=2)
    trainer = blob_trainer(cfg)
    rec = record_run(trainer, cfg, "cli", store=store)
    trainer.run()
    assert store.delete([rec.run_id, 999]) == 1
    assert store.get(rec.run_id) is None
    assert store._db.execute("SELECT count(*) FROM epochs").fetchone()[0] == 0


def test_a_damaged_database_is_moved_aside_and_a_fresh_one_started(nnstudio_home):
    nnstudio_home.mkdir(parents=True)
    path = nnstudio_home / "runs.db"
    path.write_bytes(b"this is not a database, it was overwritten by something else" * 100)
    said = []
    store = RunStore(notice=said.append)
    assert len(said) == 1 and "damaged" in said[0] and "moved to runs.db.damaged-" in said[0]
    aside = list(nnstudio_home.glob("runs.db.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert store.runs() == []
    cfg = RunConfig(dataset="blobs", hidden=[8], lr=0.01, batch_size=100, epochs=1)
    trainer = blob_trainer(cfg)
    rec = record_run(trainer, cfg, "cli", store=store)
    trainer.run()
    assert RunStore(notice=said.append).get(rec.run_id).status == "finished" and len(said) == 1


def test_a_database_with_broken_pages_is_moved_aside(nnstudio_home):
    store = RunStore()
    cfg = RunConfig(dataset="blobs", hidden=[8], lr=0.01, batch_size=100, epochs=1)
    trainer = blob_trainer(cfg)
    record_run(trainer, cfg, "cli", store=store)
    trainer.run()
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    raw = bytearray(store.path.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # the schema page, past the file header
    store.path.write_bytes(bytes(raw))
    said = []
    fresh = RunStore(notice=said.append)
    assert len(said) == 1 and fresh.runs() == []


def test_a_newer_schema_is_refused_with_one_clear_line(nnstudio_home):
    nnstudio_home.mkdir(parents=True)
    db = sqlite3.connect(nnstudio_home / "runs.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RunStoreError, match="newer nnstudio"):
        RunStore()
    assert (nnstudio_home / "runs.db").exists()  # a newer version's runs are not thrown away


def test_an_empty_version_0_file_is_migrated(nnstudio_home):
    nnstudio_home.mkdir(parents=True)
    sqlite3.connect(nnstudio_home / "runs.db").close()
    store = RunStore()
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION and store.runs() == []


WRITER = textwrap.dedent(
    """
    import sys
    from nnstudio.core.runs import RunStore
    store = RunStore()
    for r in range(int(sys.argv[1])):
        run = store.begin_run("cli", "blobs", [4, 8, 3], {"lr": 0.01, "writer": sys.argv[2]}, 10)
        for e in range(1, 11):
            store.add_epoch(run, {"epoch": e, "test_accuracy": e / 10}, 10 * e, {"every": 1, "values": [1.0]},
                            e * 0.1, 100.0)
        store.end_run(run, "finished", "", 100, {"every": 1, "values": [1.0]})
    """
)


def test_two_processes_write_at_once():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    RunStore()  # created (and migrated) before the race, like a window that is already open
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, "15", name], env=env, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    # and this process reads (as the window's table does) and writes at the same time
    store = RunStore()
    mine = store.begin_run("window", "blobs", [4, 3], {"lr": 1.0}, 1)
    done = threading.Event()
    reads = []

    def reader():
        while not done.is_set():
            reads.append(len(store.runs()))

    t = threading.Thread(target=reader)
    t.start()
    for e in range(1, 31):
        store.add_epoch(mine, {"epoch": e}, e, {"every": 1, "values": []}, e, 1.0)
    errors = [p.communicate(timeout=120)[1] for p in procs]
    done.set()
    t.join()
    assert [p.returncode for p in procs] == [0, 0], errors
    runs = store.runs(with_epochs=True)
    assert len(runs) == 31 and reads and max(reads) <= 31
    by_writer = {w: [r for r in runs if r.hyperparameters.get("writer") == w] for w in "ab"}
    assert all(len(v) == 15 for v in by_writer.values())
    assert all(r.epochs_done == 10 and [e["epoch"] for e in r.epochs] == list(range(1, 11)) for r in by_writer["a"])
    assert store.get(mine).epochs_done == 30


def test_a_run_whose_process_died_reads_as_interrupted():
    store = RunStore()
    p = subprocess.run(
        [
            sys.executable,
            "-c",
            "from nnstudio.core.runs import RunStore; "
            "print(RunStore().begin_run('cli', 'mnist', [784, 10], {'lr': 0.1}, 10))",
        ],  # fmt: skip
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    )
    run = store.get(int(p.stdout))
    assert run.status == "interrupted" and run.ended is None
    live = store.begin_run("window", "mnist", [784, 10], {"lr": 0.1}, 10)
    assert store.get(live).status == "running"


def test_recording_never_stops_training_when_the_store_breaks():
    store = RunStore()
    said = []
    cfg = RunConfig(dataset="blobs", hidden=[8], lr=0.01, batch_size=100, epochs=2)
    trainer = blob_trainer(cfg)
    rec = record_run(trainer, cfg, "cli", store=store, notice=said.append)
    store.close()  # e.g. the disk went away
    trainer.run()
    assert trainer.state == "finished" and len(trainer.history.epochs) == 2
    assert not rec.recording and len(said) == 1 and "not recorded" in said[0]


def test_a_store_that_cannot_be_opened_is_left_alone(nnstudio_home):
    (nnstudio_home / "runs.db").mkdir(parents=True)  # e.g. something else took the name
    with pytest.raises(RunStoreError, match="cannot use the runs database"):
        RunStore()
    assert (nnstudio_home / "runs.db").is_dir() and not list(nnstudio_home.glob("runs.db.damaged-*"))
    # training goes on, unrecorded, with one line saying so
    said = []
    cfg = RunConfig(dataset="blobs", hidden=[8], lr=0.01, batch_size=100, epochs=1)
    trainer = blob_trainer(cfg)
    rec = record_run(trainer, cfg, "cli", notice=said.append)
    trainer.run()
    assert trainer.state == "finished" and not rec.recording
    assert len(said) == 1 and "not recorded" in said[0]
