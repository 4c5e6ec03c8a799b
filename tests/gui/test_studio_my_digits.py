"""The user's own digits as a dataset in the studio: train on them, and a clear word when there are none."""

import numpy as np
from PySide6.QtCore import Qt

from nnstudio.core.data.mydigits import MyDigits


def select_dataset(page, key):
    combo = page.dataset_combo
    combo.setCurrentIndex(combo.findData(key))


def test_my_digits_missing_then_trainable(main_window, mnist, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_HOME", str(tmp_path / "user"))
    page = main_window.page("studioPage")
    main_window.show_page("studioPage")
    qtbot.waitUntil(lambda: page.net is not None, timeout=20000)

    select_dataset(page, "my-digits")
    assert "no digits of your own yet" in page.data_label.text()

    # twelve of "my" digits: MNIST test images standing in for drawings
    store = MyDigits()
    for img, label in zip(mnist.x_test[:12], mnist.y_test[:12]):
        store.add(img.astype(np.float32) / 255.0, int(label))
    store.save()
    select_dataset(page, "mnist")
    qtbot.waitUntil(lambda: page.data is not None and page.data.name == "mnist", timeout=20000)
    select_dataset(page, "my-digits")
    assert page.data is not None and page.data.name == "my-digits"
    assert "12 training" in page.data_label.text()

    page.epochs.setValue(2)
    qtbot.mouseClick(page.train_button, Qt.LeftButton)  # batch size 128 > 12 digits: clamped, not refused
    qtbot.waitUntil(lambda: not page.worker.running and len(page.history.epochs) == 2, timeout=30000)
    assert page.trainer.batch_size == 12
    assert page.history.epochs[-1]["test_accuracy"] is not None
    page.worker.stop(wait=10)
    page.dirty_set(False)
