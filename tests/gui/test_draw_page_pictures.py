"""Pictures on the Draw page: Open image…, drag-and-drop, the stages strip and Import folder…, all giving
exactly the inputs `nnstudio predict` gives for the same files."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from nnstudio.resources import pretrained_model_path
from tests.cli.test_predict_pictures import CASES, write_cases


@pytest.fixture
def page(make_page, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_HOME", str(tmp_path / "user"))
    from nnstudio.gui.pages.draw_page import DrawPage

    p = make_page(DrawPage, (1000, 720))
    yield p
    p.shutdown()


def cli_inputs(paths, dump):
    """The 28x28 inputs `nnstudio predict` (a separate process) read from ``paths``."""
    proc = subprocess.run(
        [sys.executable, "-m", "nnstudio", "predict", str(pretrained_model_path("mnist")), *map(str, paths)]
        + ["--dump-input", str(dump)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return np.load(dump)


def drop_file(widget, path):
    """A real drag-enter then drop of one file, as a file manager sends it; returns whether the drag was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, enter)
    accepted = enter.isAccepted()
    drop = QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, drop)
    return accepted


def test_window_and_cli_read_identical_inputs_from_the_same_files(page, tmp_path, mnist):
    paths, labels = write_cases(tmp_path, mnist)
    cli = cli_inputs(paths, tmp_path / "cli.npy")
    for i, (path, label) in enumerate(zip(paths, labels)):
        if i % 2:
            assert page.open_image(str(path))
        else:
            assert drop_file(page.canvas, path)  # drag-and-drop goes the same way
        assert page.reading is not None and not page.reading.blank, path.name
        np.testing.assert_array_equal(page.reading.inputs.reshape(28, 28), cli[i], err_msg=path.name)
        assert page.prediction_label.text().startswith(f"{label} ("), path.name


def test_the_stages_of_an_opened_picture_are_shown(page, tmp_path, mnist, qtbot):
    paths, _ = write_cases(tmp_path, mnist)
    photo = paths[[name for name, _ in CASES].index("photo.jpg")]
    assert page.open_image(str(photo))
    stages = page.stages
    assert stages.isVisible() and photo.name in stages.title()
    assert "inverted" in stages.note.text() and "noise floor" in stages.note.text()
    assert all(not view.pixmap().isNull() for view in stages.views)
    # the 28x28 stage is what the network read, enlarged with crisp pixels
    shown = stages.input_view.pixmap().toImage().convertToFormat(QImage.Format_Grayscale8)
    cell = shown.width() / 28
    for r in (10, 14, 18):  # sample three rows of the enlarged input at the centres of its pixels
        y = int((r + 0.5) * cell)
        got = np.array([shown.pixelColor(int((c + 0.5) * cell), y).value() for c in range(28)]) / 255
        np.testing.assert_allclose(got, page.reading.inputs.reshape(28, 28)[r], atol=0.02)
    # drawing on the canvas reads the drawing, and the strip goes away
    from tests.gui.test_draw_page import draw_digit

    with qtbot.waitSignal(page.prediction_updated, timeout=2000):
        draw_digit(
            page, 1, {"height": 0.6, "width": 0.3, "cx": 0.5, "cy": 0.5, "slant": 0.0, "rotation": 0.0, "pen": 20}
        )
    assert not stages.isVisible() and page.picture is None


def test_a_dropped_non_picture_is_reported_and_changes_nothing(page, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    before = page.canvas.to_array().copy()
    drop_file(page.canvas, text)
    assert page.last_error and "notes.txt" in page.last_error
    assert np.array_equal(page.canvas.to_array(), before) and not page.stages.isVisible()


def test_import_folder_adds_the_same_inputs_as_predict(page, tmp_path, mnist, qtbot):
    folder = tmp_path / "mine"
    folder.mkdir()
    paths, labels = write_cases(folder, mnist)
    named = []
    for path, label in zip(paths, labels):  # the label in the file name
        named.append(path.rename(path.with_name(f"{label}_{path.name}")))
    assert page.import_folder(str(folder))
    qtbot.waitUntil(lambda: not page.import_job.busy, timeout=60000)
    assert f"Imported {len(named)}" in page.my_digits_status.text()
    store = page.my_digits
    order = sorted(named)
    assert store.labels.tolist() == [int(p.name[0]) for p in order]
    cli = cli_inputs(order, tmp_path / "cli.npy")
    np.testing.assert_array_equal(store.images, np.round(cli * 255).astype(np.uint8))
