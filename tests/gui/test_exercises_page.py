"""The Exercises page: the learner's file is kept, hints come one at a time, the solution only when asked,
Check runs off the UI thread (a loop is stopped while the window keeps working), and Train with my code
trains MNIST with the learner's Dense."""

import time

import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtWidgets import QMessageBox

from nnstudio.core.exercises import ORDER, get
from nnstudio.gui.pages.exercises_page import ExercisesPage

LOOP = get("sgd").solution.replace("    return w - lr * g", "    while True:\n        pass")


@pytest.fixture
def page(make_page):
    p = make_page(ExercisesPage)
    yield p
    p.shutdown()


def wait_check(qtbot, page, timeout=30000):
    qtbot.waitUntil(lambda: not page.check_job.busy, timeout=timeout)


def test_the_exercises_are_listed_in_the_course_order_with_the_checklist(page):
    assert page.list.count() == len(ORDER) >= 8
    assert "1. The perceptron" in page.list.item(0).text()
    assert page.checklist_view.text().count("☐") == 8
    assert page.editor.toPlainText() == get("perceptron").starter


def test_the_learners_file_survives_a_restart(make_page, qtbot, nnstudio_home):
    first = make_page(ExercisesPage)
    first.select("sgd")
    first.editor.replace_all("def sgd_step(w, g, lr):\n    return w  # my attempt\n")
    qtbot.waitUntil(lambda: (nnstudio_home / "exercises" / "sgd.py").exists(), timeout=3000)
    first.shutdown()
    second = make_page(ExercisesPage)
    second.select("sgd")
    assert "# my attempt" in second.editor.toPlainText()
    second.editor.undo()  # a freshly opened file has no undo history into another exercise
    assert "# my attempt" in second.editor.toPlainText()
    second.shutdown()


def test_hints_one_at_a_time_and_remembered(make_page):
    p = make_page(ExercisesPage)
    p.select("adam")
    assert p.hint_button.text() == "Show a hint (1 of 4)"
    assert "Hints" not in p.statement.toPlainText()
    p.hint_button.click()
    assert get("adam").hints[0][:30] in p.statement.toPlainText()
    assert get("adam").hints[1][:30] not in p.statement.toPlainText()
    assert p.hint_button.text() == "Show a hint (2 of 4)"
    p.shutdown()
    again = make_page(ExercisesPage)
    again.select("adam")
    assert again.hint_button.text() == "Show a hint (2 of 4)"
    again.shutdown()


def test_the_solution_only_on_request_and_copying_it_can_be_undone(page, monkeypatch):
    page.select("momentum")
    mine = page.editor.toPlainText()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    page.solution_button.click()
    assert page.solution_box.isHidden()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    page.solution_button.click()
    assert not page.solution_box.isHidden()
    assert page.solution_view.toPlainText() == get("momentum").solution
    page.copy_solution_button.click()
    assert page.editor.toPlainText() == get("momentum").solution
    page.editor.undo()
    assert page.editor.toPlainText() == mine


def test_check_shows_the_first_thing_to_fix_with_a_link_to_the_line(page, qtbot):
    page.select("dense")
    source = get("dense").solution.replace("self.db = grad_y.sum(axis=0)", "self.db = grad_y.mean(axis=0)")
    page.editor.replace_all(source)
    qtbot.mouseClick(page.check_button, Qt.LeftButton)
    assert not page.check_button.isEnabled() and page.stop_button.isEnabled()
    wait_check(qtbot, page)
    text = page.result.toPlainText()
    assert "Your db is the mean over the batch" in text
    assert "Expected" in text and "Your code" in text and "[-1.   1.5]" in text
    assert page.check_button.isEnabled() and not page.stop_button.isEnabled()
    assert not page.progress.is_passed("dense")
    page._link(QUrl("line:20"))
    assert page.editor.textCursor().blockNumber() == 19


def test_an_infinite_loop_is_stopped_while_the_window_keeps_working(page, qtbot):
    page.select("sgd")
    page.check_timeout = 3
    page.editor.replace_all(LOOP)
    ticks = []
    timer = QTimer(page, interval=50)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    start = time.perf_counter()
    page.check()
    wait_check(qtbot, page, timeout=15000)
    elapsed = time.perf_counter() - start
    timer.stop()
    assert "Stopped after 3 s" in page.result.toPlainText()
    assert elapsed < 6
    # the event loop ran all along: no gap of a second between two ticks of a 50 ms timer
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 20 and max(gaps) < 1.0


def test_stop_ends_a_check_at_once(page, qtbot):
    page.select("sgd")
    page.editor.replace_all(LOOP)
    page.check()
    qtbot.wait(500)
    start = time.perf_counter()
    qtbot.mouseClick(page.stop_button, Qt.LeftButton)
    wait_check(qtbot, page, timeout=5000)
    assert time.perf_counter() - start < 3
    assert "stopped" in page.result.toPlainText().lower()


def test_train_with_my_code_needs_the_code_that_passed(page, qtbot):
    page.select("adam")
    page.train_button.click()
    assert "Check first" in page.use_banner.text()


def test_pasted_dense_solution_trains_mnist_with_the_learners_code(page, qtbot, mnist):
    page.select("dense")
    page.editor.replace_all(get("dense").solution)
    qtbot.mouseClick(page.check_button, Qt.LeftButton)
    wait_check(qtbot, page)
    assert page.progress.is_passed("dense")
    assert page.list.item(2).text().startswith("✓")
    page.train_subset = 3000
    page.epochs.setValue(1)
    qtbot.mouseClick(page.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.worker.running, timeout=60000)
    assert "Training with YOUR code" in page.use_banner.text()
    assert "your Dense.forward / Dense.backward" in page.use_banner.text()
    qtbot.waitUntil(lambda: not page.worker.running, timeout=120000)
    trainer = page.worker.trainer
    assert trainer.network.meta["trained_with"] == "your Dense.forward / Dense.backward"
    accuracy = trainer.history.epochs[-1]["test_accuracy"]
    assert accuracy > 0.75  # one epoch on 3,000 images
    assert "Trained with YOUR code" in page.use_banner.text() and f"{100 * accuracy:.2f}%" in page.use_banner.text()
    assert page.loss_chart.point_count() == trainer.batches_per_epoch
    assert page.progress.mnist["accuracy"] == pytest.approx(accuracy)
    assert not page.progress.checklist()[4].done  # below 95%: the MNIST item stays open


def test_the_learners_adam_trains_the_playground_next_to_the_engines(page, qtbot):
    page.select("adam")
    page.editor.replace_all(get("adam").solution)
    page.check()
    wait_check(qtbot, page)
    assert page.train_with_my_code()
    qtbot.waitUntil(lambda: not page.use_job.busy, timeout=60000)
    assert "Trained with your code" in page.use_banner.text() and "your adam_step" in page.use_banner.text()
    x, y = page._race_mine.getData()
    ex, ey = page._race_engine.getData()
    assert len(x) == 30 and list(x) == list(ex)
    assert y[-1] == pytest.approx(ey[-1], rel=1e-4) and y[-1] < y[0]
