"""The window never loses trained work: the guard keeps the good weights, discarding actions ask first,
edits are undoable, the Draw page does not guess with an untrained network."""

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from nnstudio.core.nn import load_model
from nnstudio.core.training import evaluate
from nnstudio.resources import pretrained_model_path

from .test_studio import click, weights


def test_a_collapsing_run_in_the_window_is_stopped_and_the_good_weights_kept(studio, qtbot, main_window, tmp_path):
    """The issue's scenario: the shipped MNIST model, Momentum 0.999 at lr 1."""
    page = studio
    assert page.open_model(str(pretrained_model_path("mnist")))
    # a good autosave from earlier must survive the wrecked run
    autosave = page.autosave_path()
    autosave.parent.mkdir(parents=True, exist_ok=True)
    autosave.write_bytes(pretrained_model_path("mnist").read_bytes())
    before = autosave.read_bytes()
    page.optimizer_combo.setCurrentIndex(page.optimizer_combo.findData("momentum"))
    page.momentum.setValue(0.999)
    page.lr.setValue(1.0)
    page.cosine.setChecked(False)
    page.epochs.setValue(2)
    click(qtbot, page, "trainButton")
    qtbot.waitUntil(lambda: not page.worker.running, timeout=120000)
    collapse = page.trainer.collapse
    assert page.trainer.state == "diverged" and collapse is not None and collapse.kind != "nan"
    # the opened model's run continued: its 15 epochs and 7035 steps, then the wrecked steps
    assert collapse.epoch == 16 and collapse.restored_step == 7035 < collapse.step < 7035 + 469
    assert page.banner.isVisible() and "Training collapsed" in page.message()
    assert "momentum" in page.message() and "rolled back" in page.message()
    assert page.loss_chart.diverged_line.isVisible() and page.loss_chart.diverged_line.label.format == "collapsed"
    assert "best weights" in page.progress.format()
    x_test, y_test = page.arrays.x_test, page.arrays.y_test
    assert evaluate(page.net, x_test, y_test)[1] >= 0.97  # the kept weights
    assert autosave.read_bytes() == before
    # Save writes the kept weights
    out = tmp_path / "kept.npz"
    assert page.save_model(str(out))
    assert evaluate(load_model(out), x_test, y_test)[1] >= 0.97
    main_window.page("studioPage").grab().save(str(tmp_path / "collapse.png"))


def train_a_few_steps(page, qtbot):
    """Trained, unsaved work: a few batches of a small network."""
    page.editor.rows()[0].units.setValue(16)
    page.build_network()
    page.step()
    page.worker.step(4)
    qtbot.waitUntil(lambda: page.trainer is not None and page.trainer.step_count >= 5, timeout=20000)
    page.worker.stop(wait=10)
    qtbot.waitUntil(lambda: page.dirty, timeout=5000)


@pytest.fixture
def answer(monkeypatch):
    """Press one button of the Save / Discard / Cancel dialog; records each question."""
    asked = []

    def press(button):
        def question(parent, title, text, buttons, default):
            asked.append(text)
            assert buttons == QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel
            return button

        monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
        return asked

    return press


def test_reset_cancel_keeps_the_trained_network(studio, qtbot, main_window, answer):
    page = studio
    train_a_few_steps(page, qtbot)
    trained = weights(page.net)
    asked = answer(QMessageBox.Cancel)
    click(qtbot, page, "resetButton")
    assert len(asked) == 1 and "Reset" in asked[0]
    for a, b in zip(trained, weights(page.net)):
        np.testing.assert_array_equal(a, b)
    assert page.dirty and "•" in main_window.windowTitle()


def test_reset_discard_rebuilds_and_the_title_is_untitled_and_clean(studio, qtbot, main_window, answer, tmp_path):
    page = studio
    path = tmp_path / "saved.npz"
    train_a_few_steps(page, qtbot)
    assert page.save_model(str(path))
    page.step()
    qtbot.waitUntil(lambda: page.dirty, timeout=20000)
    page.worker.stop(wait=10)
    assert main_window.windowTitle().startswith("saved.npz •")
    asked = answer(QMessageBox.Discard)
    click(qtbot, page, "resetButton")
    assert len(asked) == 1
    fresh = page.editor.build(page.seed.value())
    for a, b in zip(weights(fresh), weights(page.net)):
        np.testing.assert_array_equal(a, b)
    # the fresh network is not what saved.npz holds: untitled, nothing trained to lose
    assert page.path is None and not page.dirty
    assert main_window.windowTitle() == "untitled — nnstudio"


def test_reset_save_writes_the_trained_model_first(studio, qtbot, main_window, answer, tmp_path, monkeypatch):
    page = studio
    train_a_few_steps(page, qtbot)
    trained = weights(page.net)
    target = tmp_path / "before-reset.npz"
    monkeypatch.setattr(page, "choose_save_path", lambda: str(target))
    answer(QMessageBox.Save)
    click(qtbot, page, "resetButton")
    for a, b in zip(trained, weights(load_model(target))):
        np.testing.assert_array_equal(a, b)
    assert not page.dirty and page.history.steps == 0  # then reset


def test_new_open_dataset_and_architecture_changes_ask_and_cancel_changes_nothing(studio, qtbot, main_window, answer):
    page = studio
    train_a_few_steps(page, qtbot)
    trained = weights(page.net)
    asked = answer(QMessageBox.Cancel)
    main_window.new_model()
    assert not main_window.open_model(str(pretrained_model_path("mnist")))
    page.dataset_combo.setCurrentIndex(page.dataset_combo.findData("fashion-mnist"))
    assert page.dataset_combo.currentData() == "mnist" and page.data.name == "mnist"
    page.editor.rows()[0].units.setValue(32)  # a different design: Train would start it from scratch
    click(qtbot, page, "trainButton")
    assert not page.worker.running
    assert len(asked) == 4
    assert [w for w in ("A new model", "Opening", "dataset", "changed network") if any(w in q for q in asked)] == [
        "A new model",
        "Opening",
        "dataset",
        "changed network",
    ]
    assert page.net.sizes() == [784, 16, 10]
    for a, b in zip(trained, weights(page.net)):
        np.testing.assert_array_equal(a, b)
    # Discard lets the new design train
    answer(QMessageBox.Discard)
    click(qtbot, page, "trainButton")
    assert page.net.sizes() == [784, 32, 10]
    page.worker.stop(wait=10)


def test_undo_and_redo_network_and_hyperparameter_edits(studio, qtbot, main_window):
    page = studio
    stack = page.undo_stack
    assert main_window.undo_action in main_window.edit_menu.actions()
    assert main_window.undo_action.shortcut().toString() == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in [s.toString() for s in main_window.redo_action.shortcuts()]
    lr0, units0 = page.lr.value(), page.editor.rows()[0].units.value()
    page.lr.setValue(0.0123)
    page.editor.rows()[0].units.setValue(64)
    page.batch_size.setValue(32)
    assert stack.count() == 3 and stack.undoText() == "Change batch size"
    main_window.undo_action.trigger()
    assert page.batch_size.value() == 128
    main_window.undo_action.trigger()
    assert page.editor.rows()[0].units.value() == units0
    main_window.undo_action.trigger()
    assert page.lr.value() == pytest.approx(lr0)
    main_window.redo_action.trigger()
    assert page.lr.value() == pytest.approx(0.0123)
    main_window.redo_action.trigger()
    assert page.editor.rows()[0].units.value() == 64
    # a quick run of edits of one setting (typing) is one undo step
    for v in (0.2, 0.25, 0.3):
        page.lr.setValue(v)
    assert stack.undoText() == "Change learning rate"
    main_window.undo_action.trigger()
    assert page.lr.value() == pytest.approx(0.0123)


def test_draw_page_keeps_the_shipped_model_after_reset(studio, qtbot, main_window, answer):
    page = studio
    draw = main_window.page("drawPage")
    assert page.open_model(str(pretrained_model_path("mnist")))  # a trained studio model
    qtbot.waitUntil(lambda: draw.model_combo.currentData() == "studio", timeout=5000)
    answer(QMessageBox.Discard)
    page.dirty_set(True)
    click(qtbot, page, "resetButton")
    assert draw.model_combo.currentData() == "mnist"  # not the untrained studio network
