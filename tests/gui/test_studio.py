"""Build & Train, driven like a user would: the editor, the buttons, real MNIST."""

import dataclasses
import gzip
import hashlib
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.nn import DEFAULT_LR, load_model


def click(qtbot, page, name):
    from PySide6.QtWidgets import QPushButton

    button = page.findChild(QPushButton, name)
    assert button is not None and button.isEnabled(), f"{name} should be clickable"
    qtbot.mouseClick(button, Qt.LeftButton)


def weights(net):
    return [p.data.copy() for p in net.parameters()]


def test_required_object_names_exist(main_window):
    page = main_window.page("studioPage")
    assert main_window.pages[0] is page and page.title == "Build & Train"
    for name in (
        "trainButton",
        "pauseButton",
        "stepButton",
        "stopButton",
        "resetButton",
        "trainProgress",
        "lossPlot",
        "accuracyPlot",
        "weightHeatmap",
        "memoryPlot",
        "layerStack",
        "datasetCombo",
        "optimizerCombo",
    ):
        assert page.findChild(object, name) is not None, name


def test_build_train_pause_step_stop_save_open(studio, qtbot, tmp_path, main_window):
    page = studio
    editor = page.editor
    # --- build 784-256-128-10 in the editor
    editor.rows()[0].units.setValue(256)
    qtbot.mouseClick(editor.add_button, Qt.LeftButton)
    editor.rows()[1].units.setValue(128)
    assert editor.sizes() == [784, 256, 128, 10]
    assert "235,146 parameters" in editor.summary.text()
    page.epochs.setValue(1)
    heat0 = page.weight_view.updates
    mem0 = page.memory_view.updates

    # --- train from the button; the loss chart fills within the first epoch
    click(qtbot, page, "trainButton")
    assert page.net.sizes() == [784, 256, 128, 10]
    qtbot.waitUntil(lambda: page.loss_chart.point_count() >= 20, timeout=20000)
    assert page.trainer.epoch == 0  # points arrive while the first epoch runs

    # --- pause: nothing moves; step: exactly one batch; resume
    click(qtbot, page, "pauseButton")
    qtbot.waitUntil(lambda: page.trainer.state == "paused", timeout=5000)
    qtbot.wait(100)
    n = page.trainer.step_count
    qtbot.wait(200)
    assert page.trainer.step_count == n
    assert page.pause_button.text().endswith("Resume") and not page.train_button.isEnabled()
    click(qtbot, page, "stepButton")
    qtbot.waitUntil(lambda: page.trainer.step_count == n + 1, timeout=5000)
    qtbot.wait(150)
    assert page.trainer.step_count == n + 1
    qtbot.waitUntil(lambda: page.loss_chart.point_count() == n + 1, timeout=5000)
    click(qtbot, page, "pauseButton")  # now reads "Resume"
    qtbot.waitUntil(lambda: not page.worker.running, timeout=60000)
    assert page.trainer.state == "finished"

    # one full epoch: charts, heatmaps, memory, confusion and mistakes
    assert len(page.history.epochs) == 1
    assert page.loss_chart.point_count() == len(page.history.step_loss) == 469
    assert page.accuracy_plot.test.n == 1
    assert page.history.epochs[0]["test_accuracy"] > 0.93
    assert page.weight_view.updates > heat0
    img = page.weight_view.first_layer_image()
    assert img.shape[2] == 4 and img.shape[0] >= 28 * 16
    assert page.memory_view.updates > mem0
    b = page.memory_view.breakdown
    assert b.parameters == sum(p.data.nbytes for p in page.net.parameters())
    assert b.optimizer_state == 3 * b.parameters  # Adam: m, v and its update's scratch
    assert b.snapshots == 3 * b.parameters  # the guard keeps one copy: the best weights and their Adam state
    assert b.dataset == page.arrays.nbytes
    assert page.results.confusion.matrix.sum() == 10000
    assert page.results.gallery.shown > 0
    assert page.gradient_chart.point_count() > 10
    assert page.progress.value() == page.progress.maximum()
    assert main_window.context.model is page.net  # other pages see it
    assert page.dirty

    # --- stop: a second run stopped mid-epoch keeps its weights
    click(qtbot, page, "trainButton")
    qtbot.waitUntil(lambda: page.trainer.step_count > 469 + 5, timeout=20000)
    click(qtbot, page, "stopButton")
    qtbot.waitUntil(lambda: not page.worker.running, timeout=10000)
    assert page.trainer.state == "stopped"
    assert all(np.all(np.isfinite(p.data)) for p in page.net.parameters())
    assert page.loss_chart.point_count() == len(page.history.step_loss)

    # --- save -> open round-trips exactly (weights, settings, history, charts)
    path = tmp_path / "run.npz"
    assert page.save_model(str(path))
    assert not page.dirty
    saved_w = weights(page.net)
    saved_hist = page.history.to_dict()
    saved_adam = [b.copy() for b in page.optimizer.state_buffers()]
    saved_steps = page.optimizer.steps
    page.lr.setValue(0.0123)
    page.new_model()
    assert page.net.sizes() == [784, 128, 10]
    assert page.loss_chart.point_count() == 0
    assert main_window.open_model(str(path))
    assert page.net.sizes() == [784, 256, 128, 10]
    assert editor.sizes() == [784, 256, 128, 10]
    for a, b in zip(saved_w, weights(page.net)):
        np.testing.assert_array_equal(a, b)
    assert page.history.to_dict() == saved_hist
    assert page.optimizer.steps == saved_steps > 0  # Adam continues where it stopped
    for a, b in zip(saved_adam, page.optimizer.state_buffers()):
        np.testing.assert_array_equal(a, b)
    assert page.lr.value() == pytest.approx(DEFAULT_LR["adam"])  # the saved setting, not the 0.0123 typed later
    assert page.loss_chart.point_count() == len(saved_hist["step_loss"])
    assert page.accuracy_plot.test.n == 1
    assert str(path.resolve()) in main_window.recent_files()
    again = load_model(path)
    assert again.meta["hyperparameters"]["layers"] == [256, 128]


def test_bad_values_are_refused_with_a_message(studio, qtbot, tmp_path):
    page = studio
    editor = page.editor
    before = weights(page.net)
    editor.rows()[0].units.setValue(0)
    assert "layer size 0 is out of range" in editor.message.text() and editor.message.isVisible()
    assert not page.train_button.isEnabled()
    page.train()  # e.g. the F5 shortcut
    assert "layer size 0 is out of range" in page.message()
    assert not page.worker.running
    editor.rows()[0].units.setValue(1_000_000)
    assert "layer size 1,000,000 is out of range" in editor.message.text()
    editor.rows()[0].units.setValue(60_000)
    qtbot.mouseClick(editor.add_button, Qt.LeftButton)
    editor.rows()[1].units.setValue(60_000)
    assert "memory" in editor.message.text()
    assert not page.train_button.isEnabled()
    editor.set_spec({"hidden": [{"units": 128, "activation": "relu", "dropout": 0.0}], "init": "he"})
    assert editor.message.isHidden() and page.train_button.isEnabled()

    # a corrupt model file: a clear message, the current network untouched
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"this is not a model")
    assert not page.open_model(str(bad))
    assert "not an nnstudio model" in page.message()
    for a, b in zip(before, weights(page.net)):
        np.testing.assert_array_equal(a, b)


def test_reset_gives_the_same_weights_for_the_same_seed(studio, qtbot):
    page = studio
    page.seed.setValue(7)
    click(qtbot, page, "resetButton")
    w1 = weights(page.net)
    page.net.parameters()[0].data[...] = 0
    click(qtbot, page, "resetButton")
    for a, b in zip(w1, weights(page.net)):
        np.testing.assert_array_equal(a, b)
    page.seed.setValue(8)
    click(qtbot, page, "resetButton")
    assert not np.array_equal(w1[0], page.net.parameters()[0].data)


def test_step_before_training_runs_exactly_one_batch(studio, qtbot):
    page = studio
    click(qtbot, page, "stepButton")
    qtbot.waitUntil(lambda: page.trainer is not None and page.trainer.step_count == 1, timeout=10000)
    qtbot.wait(150)
    assert page.trainer.step_count == 1
    qtbot.waitUntil(lambda: page.loss_chart.point_count() == 1, timeout=5000)
    click(qtbot, page, "stopButton")
    qtbot.waitUntil(lambda: not page.worker.running, timeout=10000)


def test_learning_rate_change_applies_while_training(studio, qtbot):
    page = studio
    page.optimizer_combo.setCurrentIndex(page.optimizer_combo.findData("momentum"))
    page.lr.setValue(0.05)
    click(qtbot, page, "trainButton")
    qtbot.waitUntil(lambda: page.trainer is not None and page.trainer.step_count > 3, timeout=10000)
    page.lr.setValue(0.002)
    page.momentum.setValue(0.5)
    assert page.cosine.isChecked()  # the default: the schedule decays from the new rate
    assert page.trainer.schedule.base_lr == pytest.approx(0.002)
    assert 0 < page.trainer.optimizer.lr <= 0.002
    assert page.trainer.optimizer.momentum == pytest.approx(0.5)
    click(qtbot, page, "stopButton")
    qtbot.waitUntil(lambda: not page.worker.running, timeout=10000)


def test_settings_and_architecture_persist(tmp_path, qtbot, mnist):
    from nnstudio.gui import create_main_window

    ini = str(tmp_path / "s.ini")
    w = create_main_window(settings_path=ini)
    qtbot.addWidget(w)
    page = w.page("studioPage")
    page.editor.set_spec({"hidden": [{"units": 64, "activation": "tanh", "dropout": 0.1}], "init": "xavier"})
    page.batch_size.setValue(64)
    w.close()
    w2 = create_main_window(settings_path=ini)
    qtbot.addWidget(w2)
    page2 = w2.page("studioPage")
    assert page2.editor.spec() == {"hidden": [{"units": 64, "activation": "tanh", "dropout": 0.1}], "init": "xavier"}
    assert page2.batch_size.value() == 64
    w2.close()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_is_shown_and_the_weights_kept(studio, qtbot):
    page = studio
    arrays = page.arrays
    # absurd inputs make the very first update overflow: the loss becomes NaN
    page.arrays = dataclasses.replace(
        arrays, x_train=arrays.x_train[:2048] * np.float32(1e15), y_train=arrays.y_train[:2048]
    )
    page.optimizer_combo.setCurrentIndex(page.optimizer_combo.findData("sgd"))
    page.lr.setValue(1.0)
    try:
        before = weights(page.net)
        click(qtbot, page, "trainButton")
        qtbot.waitUntil(lambda: not page.worker.running, timeout=20000)
    finally:
        page.arrays = arrays
    assert page.trainer.state == "diverged"
    assert "diverged" in page.message() and "learning rate" in page.message()
    assert page.loss_chart.diverged_line.isVisible()
    assert "diverged" in page.progress.format()
    for a, b in zip(before, weights(page.net)):  # restored to the last good weights
        np.testing.assert_array_equal(a, b)


def test_autosave_after_an_epoch_can_be_recovered(studio, qtbot, main_window):
    page = studio
    page.editor.rows()[0].units.setValue(16)
    page.epochs.setValue(1)
    click(qtbot, page, "trainButton")
    qtbot.waitUntil(lambda: not page.worker.running, timeout=60000)
    path = page.autosave_path()
    assert path.exists()
    saved = load_model(path)
    assert saved.sizes() == [784, 16, 10]
    assert len(saved.meta["history"]["epochs"]) == 1
    page.new_model()
    assert main_window.recover_autosave()
    assert page.net.sizes() == [784, 16, 10] and len(page.history.epochs) == 1
    assert page.dirty  # recovered, not yet saved by the user


def test_switching_to_fashion_mnist(studio, qtbot, fashion_mnist):
    page = studio
    page.dataset_combo.setCurrentIndex(page.dataset_combo.findData("fashion-mnist"))
    qtbot.waitUntil(lambda: page.data is not None and page.data.name == "fashion-mnist", timeout=20000)
    assert page.net.meta["dataset"] == "fashion-mnist"
    assert page.dataset_view.dataset_name == "fashion-mnist"
    assert "Fashion" in page.dataset_combo.currentText()


def test_missing_data_gives_a_pointer_not_a_traceback(qtbot, tmp_path, monkeypatch):
    from nnstudio.gui import create_main_window
    from nnstudio.gui.widgets.download_dialog import DownloadDialog

    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(
        "nnstudio.core.data.registry.candidate_dirs", lambda name, data_dir=None: [("test", tmp_path / "empty" / name)]
    )
    w = create_main_window(settings_path=str(tmp_path / "s.ini"))
    qtbot.addWidget(w)
    page = w.page("studioPage")
    qtbot.waitUntil(lambda: bool(page.message()), timeout=5000)
    assert "not found" in page.message() or "not on this machine" in page.message()
    assert page.net is None
    dlg = DownloadDialog("mnist", str(tmp_path / "empty"))
    qtbot.addWidget(dlg)
    assert dlg.findChild(object, "downloadButton") is not None
    dlg.cancel_button.click()
    assert dlg.dataset is None and dlg.result() == 0
    w.close()


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """MNIST only on a file:// "mirror" (a small fake with its own checksums): downloads need no internet."""
    from nnstudio.core.data import registry, write_idx

    served = tmp_path / "mirror"
    served.mkdir()
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (300, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 300, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (100, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 100, dtype=np.uint8),
    }
    sums = {}
    for stem, arr in parts.items():
        write_idx(served / (stem + ".gz"), arr)
        sums[stem] = hashlib.sha256(gzip.decompress((served / (stem + ".gz")).read_bytes())).hexdigest()
    info = registry.DatasetInfo("mnist", "MNIST", tuple("0123456789"), (served.as_uri() + "/",), sums)
    monkeypatch.setitem(registry.DATASETS, "mnist", info)
    monkeypatch.setattr(registry, "candidate_dirs", lambda name, data_dir=None: [("test", tmp_path / "empty" / name)])
    return parts


def test_download_dialog_shows_progress_and_obtain_dataset_returns_the_download(qtbot, tmp_path, fake_mirror):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from nnstudio.gui.widgets.download_dialog import obtain_dataset

    dialogs, seen = [], []

    def press_download():  # once the modal dialog is up, as a user would
        dlg = next((w for w in QApplication.topLevelWidgets() if w.objectName() == "downloadDialog"), None)
        if dlg is None or not dlg.isVisible():
            QTimer.singleShot(20, press_download)
            return
        dialogs.append(dlg)
        QTimer.singleShot(20_000, dlg.reject)  # never hang the suite
        dlg.job.progress.connect(seen.append)
        qtbot.mouseClick(dlg.download_button, Qt.LeftButton)

    QTimer.singleShot(0, press_download)
    data, data_dir, error = obtain_dataset("mnist", str(tmp_path / "empty"))
    assert error == "" and data_dir == str(tmp_path / "empty")
    np.testing.assert_array_equal(data.x_train, fake_mirror["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.y_test, fake_mirror["t10k-labels-idx1-ubyte"])
    # progress came through the job's throttled signal; the bar and the text show the last file done
    dlg = dialogs[0]
    assert seen and seen[-1][0] == "t10k-labels-idx1-ubyte.gz" and seen[-1][1] == seen[-1][2] > 0
    assert dlg.progress.value() == 100
    assert dlg.status.text().startswith("Downloading t10k-labels-idx1-ubyte.gz: ")
    dlg.deleteLater()


def test_download_dialog_cancel_stops_the_download(qtbot, tmp_path, fake_mirror, monkeypatch, nnstudio_home):
    import urllib.request

    from nnstudio.gui.widgets.download_dialog import DownloadDialog

    chunks, total = [], 100 * 65536

    class SlowResponse:  # a mirror that takes 2 s to send train-images
        headers = {"Content-Length": str(total)}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n):
            time.sleep(0.02)
            chunks.append(n)
            return b"\0" * n if sum(chunks) <= total else b""

    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout=None: SlowResponse())
    dlg = DownloadDialog("mnist", str(tmp_path / "empty"))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    qtbot.mouseClick(dlg.download_button, Qt.LeftButton)
    assert dlg.job.busy and not dlg.download_button.isEnabled() and not dlg.folder_button.isEnabled()
    qtbot.waitUntil(lambda: dlg.progress.value() > 0, timeout=10_000)
    assert dlg.status.text().startswith("Downloading train-images-idx3-ubyte.gz: ")
    assert dlg.status.text().endswith(" of 6.6 MB")
    qtbot.mouseClick(dlg.cancel_button, Qt.LeftButton)
    assert not dlg.job.busy and not dlg.isVisible() and dlg.dataset is None
    assert "download cancelled" in dlg.status.text()
    read = len(chunks)
    qtbot.wait(200)
    assert len(chunks) == read < 100  # the download stopped at the chunk it was reading
    assert not list(nnstudio_home.rglob("*.gz"))  # and kept nothing half-downloaded


def test_theme_switch_restyles_the_plots(main_window):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    page = main_window.page("studioPage")
    try:
        main_window.set_theme("dark")
        assert QApplication.instance().palette().color(QPalette.Window).lightness() < 128
        assert page.loss_plot.backgroundBrush().color().lightness() < 128
        main_window.set_theme("light")
        assert QApplication.instance().palette().color(QPalette.Window).lightness() >= 128
        assert page.loss_plot.backgroundBrush().color().lightness() >= 128
        assert main_window.context.settings.value("view/theme") == "light"
    finally:
        main_window.set_theme("system")
