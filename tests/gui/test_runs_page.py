"""The Runs page: CLI and window runs in one table, compared in one chart, and acted on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from nnstudio.core.runs import EXPERIMENTS, Experiment, RunStore


def cli_train(*args):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnstudio",
            "train",
            "--layers",
            "16",
            "--epochs",
            "1",
            "--batch-size",
            "256",
            "--json",
            *args,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def table_rows(page):
    t = page.table
    return [{t.horizontalHeaderItem(c).text(): t.item(r, c).text() for c in range(t.columnCount())}
            for r in range(t.rowCount())]  # fmt: skip


def click(qtbot, page, name):
    button = page.findChild(QPushButton, name)
    assert button is not None and button.isEnabled(), f"{name} should be clickable"
    qtbot.mouseClick(button, Qt.LeftButton)


def test_the_table_shows_runs_the_cli_just_made_and_compares_them(main_window, mnist, qtbot, tmp_path):
    page = main_window.page("runsPage")
    main_window.show_page("runsPage")
    assert page.table.objectName() == "runsTable" and page.chart.objectName() == "runsChart"
    assert page.table.rowCount() == 0
    slow, fast = cli_train("--lr", "0.003"), cli_train("--lr", "0.02", "--out", str(tmp_path / "m.npz"))
    # the page polls the store while shown: the runs appear without any click
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    rows = {r["#"]: r for r in table_rows(page)}
    assert rows[str(slow["run"])]["lr"] == "0.003" and rows[str(fast["run"])]["lr"] == "0.02"
    assert rows[str(fast["run"])]["test accuracy"] == f"{fast['test_accuracy']:.2%}"
    assert rows[str(fast["run"])]["network"] == "784 → 16 → 10" and rows[str(fast["run"])]["status"] == "finished (cli)"

    # sortable: by lr, ascending
    page.table.sortByColumn(5, Qt.AscendingOrder)
    assert [r["lr"] for r in table_rows(page)] == ["0.003", "0.02"]
    page.table.sortByColumn(5, Qt.DescendingOrder)
    assert [r["lr"] for r in table_rows(page)] == ["0.02", "0.003"]

    page.select_runs([slow["run"], fast["run"]])
    assert page.chart.labels == ["lr 0.003", "lr 0.02"]
    assert "lr 0.003" in page.chart.legend.text() and "lr 0.02" in page.chart.legend.text()
    assert len(page.chart.loss_plot.listDataItems()) == 4  # each run: stored points and the smoothed line
    assert page.differing_settings() == ["lr"]
    compare = page.compare
    assert compare.verticalHeaderItem(0).text() == "≠ lr" and compare.verticalHeaderItem(0).font().bold()
    assert [compare.item(0, j).text() for j in range(2)] == ["0.003", "0.02"]
    assert compare.item(0, 0).background().color().alpha() > 0  # highlighted
    same = [compare.verticalHeaderItem(i).text() for i in range(compare.rowCount())].index("batch")
    assert compare.item(same, 0).background().style() == Qt.NoBrush  # not highlighted
    main_window.grab().save(str(Path(tmp_path) / "runs-compared.png"))

    # Open model: only the run that saved one
    page.select_runs([slow["run"]])
    assert not page.open_button.isEnabled()
    page.select_runs([fast["run"]])
    click(qtbot, page, "openRunModelButton")
    studio = main_window.page("studioPage")
    assert studio.path == str(tmp_path / "m.npz") and studio.net.sizes() == [784, 16, 10]


def test_deleting_asks_first(main_window, qtbot, monkeypatch):
    store = RunStore()
    ids = [store.begin_run("cli", "mnist", [784, 10], {"lr": lr, "optimizer": "sgd"}, 10) for lr in (0.1, 0.2)]
    for i in ids:
        store.end_run(i, "finished", "", 10, {"every": 1, "values": [1.0, 0.5]})
    page = main_window.page("runsPage")
    main_window.show_page("runsPage")
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    page.select_runs(ids)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.Cancel)
    click(qtbot, page, "deleteRunsButton")
    assert len(asked) == 1 and "2 runs" in asked[0] and page.table.rowCount() == 2
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    page.select_runs(ids[:1])
    click(qtbot, page, "deleteRunsButton")
    assert page.table.rowCount() == 1 and store.get(ids[0]) is None and store.get(ids[1]) is not None


def test_a_window_run_appears_live_and_can_be_trained_again(studio, main_window, qtbot, monkeypatch):
    from nnstudio.core.training import RunConfig

    # A small run ends in about a second: the trainer pauses itself after epoch 1, so the test sees the
    # run mid-way however fast the machine is, then resumes it from the window.
    make_trainer, runs_made = RunConfig.make_trainer, []

    def pausing_after_epoch_1(self, *args, **kwargs):
        trainer = make_trainer(self, *args, **kwargs)
        runs_made.append(trainer)
        if len(runs_made) == 1:  # only the first run; "Train again" below runs straight through
            trainer.events.connect("epoch", lambda info: info.epoch == 1 and trainer.pause())
        return trainer

    monkeypatch.setattr(RunConfig, "make_trainer", pausing_after_epoch_1)
    studio.editor.set_spec({"hidden": [{"units": 16, "activation": "relu", "dropout": 0.0}], "init": "he"})
    studio.epochs.setValue(2)
    studio.batch_size.setValue(64)
    studio.lr.setValue(0.002)
    page = main_window.page("runsPage")
    studio.train()
    main_window.show_page("runsPage")  # training goes on while the Runs page is shown
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10000)
    live = table_rows(page)[0]
    assert live["status"] == "training…" and live["lr"] == "0.002" and live["batch"] == "64"
    qtbot.waitUntil(lambda: table_rows(page)[0]["epochs"] == "1/2", timeout=60000)  # after epoch 1, mid-run
    studio.toggle_pause()  # go on to epoch 2
    qtbot.waitUntil(lambda: not studio.worker.running, timeout=60000)
    qtbot.waitUntil(lambda: table_rows(page)[0]["status"] == "finished", timeout=5000)
    first = int(table_rows(page)[0]["#"])
    run = RunStore().get(first)
    assert run.source == "window" and run.epochs_done == 2 and run.hyperparameters["lr"] == 0.002
    assert run.test_accuracy == pytest.approx(studio.history.epochs[-1]["test_accuracy"])

    # other settings in the studio; "Train again" brings the run's back and trains fresh weights
    studio.lr.setValue(0.01)
    studio.batch_size.setValue(128)
    page.select_runs([first])
    click(qtbot, page, "trainAgainButton")
    assert main_window.stack.currentWidget() is studio
    assert studio.worker.running and studio.lr.value() == pytest.approx(0.002) and studio.batch_size.value() == 64
    assert len(studio.history.epochs) == 0  # fresh weights, not a continuation
    qtbot.waitUntil(lambda: not studio.worker.running, timeout=60000)
    again = RunStore().runs()[0]
    assert again.id != first and again.hyperparameters == run.hyperparameters
    # same settings, same seed: the same run again
    assert again.test_accuracy == pytest.approx(run.test_accuracy)


def test_things_to_try_runs_its_pair_and_shows_them_side_by_side(studio, main_window, qtbot):
    pairs = [e for e in EXPERIMENTS if e.is_pair]
    assert {e.key for e in pairs} == {"momentum-lr", "deep-sigmoid", "batch-size"}
    for e in pairs:
        assert studio.tips.findChild(QPushButton, f"tryButton-{e.key}") is not None
    # what each pair changes, on the learner's settings
    cfg = studio.run_config()
    a, b = studio.tips.experiment("batch-size").configs(cfg)
    assert (a.batch_size, b.batch_size) == (8, 512) and a.lr == b.lr == cfg.lr
    a, b = studio.tips.experiment("momentum-lr").configs(cfg)
    assert (a.optimizer, a.lr, b.lr) == ("momentum", 0.1, 1.0)
    a, b = studio.tips.experiment("deep-sigmoid").configs(cfg)
    assert a.hidden == b.hidden == [64] * 5 and (a.activation, b.activation) == (["sigmoid"], ["relu"])

    # a small pair through the same path as the buttons
    quick = Experiment(
        "quick", "lr 0.001 vs 0.01", common={"hidden": [16], "epochs": 1, "batch_size": 256}, a={"lr": 0.001},
        b={"lr": 0.01},
    )  # fmt: skip
    page = main_window.page("runsPage")
    studio.tips.compare_requested.emit(quick)
    assert studio.worker.running
    qtbot.waitUntil(lambda: main_window.stack.currentWidget() is page, timeout=120000)
    assert len(page.selected_ids()) == 2 and page.chart.labels == ["lr 0.001", "lr 0.01"]
    assert page.differing_settings() == ["lr"]
    runs = [RunStore().get(i) for i in page.selected_ids()]
    assert [r.status for r in runs] == ["finished", "finished"] and all(r.epochs_done == 1 for r in runs)


def test_a_real_pair_button_starts_the_first_run(studio, main_window, qtbot):
    click(qtbot, studio.tips, "tryButton-momentum-lr")
    assert studio.worker.running
    assert studio.optimizer_combo.currentData() == "momentum" and studio.lr.value() == pytest.approx(0.1)
    page = main_window.page("runsPage")
    assert page.pair_runner.active and len(page.pair_runner.queue) == 1
    studio.stop(wait=True)  # Stop ends the queue too
    qtbot.waitUntil(lambda: not page.pair_runner.active, timeout=10000)
    assert not studio.worker.running
