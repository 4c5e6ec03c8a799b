"""The Draw page: draw a digit (or open a picture of one) and watch the network read it.

All the work is in :mod:`nnstudio.core.imaging.mnist` (the MNIST recipe and the
forward pass with hidden activations) and :mod:`nnstudio.core.data.mydigits`;
this page only collects pen strokes and shows the results. Prediction runs on
the UI thread because it is tiny (one 28x28 image through a small MLP, well
under a millisecond) but at most every ``THROTTLE_MS`` while the pen moves,
so drawing never waits for it; lifting the pen predicts at once.
"""

from __future__ import annotations

import html
import math
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.data import DataError, MyDigits, MyDigitsError, class_names, training_arrays
from nnstudio.core.imaging import SIZE, load_picture, read_folder, read_image, resize
from nnstudio.core.interop import open_model
from nnstudio.core.nn import ModelFileError, Sequential
from nnstudio.core.training import fine_tune
from nnstudio.gui.jobs import Job
from nnstudio.gui.widgets.digit_canvas import RESOLUTION, DigitCanvas
from nnstudio.gui.widgets.picture_stages import PictureStages, accept_file_drops
from nnstudio.resources import pretrained_model_path

THROTTLE_MS = 30
SHIPPED = (("mnist", "Shipped MNIST model"), ("fashion-mnist", "Shipped Fashion-MNIST model"))
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.pgm *.pbm *.ppm *.tif *.tiff *.webp *.npy);;All files (*)"


def _viridis_lut() -> np.ndarray:
    return pg.colormap.get("viridis").getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.uint8)


def _gray_pixmap(img: np.ndarray, scale: int) -> QPixmap:
    """A 2-D float image in [0, 1] as a pixmap with crisp, enlarged pixels."""
    a = np.ascontiguousarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    h, w = a.shape
    qimg = QImage(a.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimg).scaled(w * scale, h * scale, Qt.IgnoreAspectRatio, Qt.FastTransformation)


def _grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns for showing n neurons as a wide rectangle (128 -> 8 x 16)."""
    cols = max(1, math.ceil(math.sqrt(2 * n)))
    return math.ceil(n / cols), cols


def _fingerprint(net: Sequential) -> float:
    """A number that changes when any weight changes (to notice that the studio's model has trained)."""
    return float(sum(float(np.abs(p.data).sum()) for p in net.parameters()))


class _ModelEntry:
    def __init__(self, key: str, title: str, net: Sequential | None = None, error: str | None = None):
        self.key, self.title, self.net, self.error = key, title, net, error
        self.trained = net is not None

    @property
    def dataset(self) -> str:
        return (self.net.meta.get("dataset") if self.net is not None else None) or "mnist"

    @property
    def class_names(self) -> list[str]:
        names = self.net.meta.get("class_names") if self.net is not None else None
        if names and len(names) == self.net.output_size:
            return [str(n) for n in names]
        return class_names(self.dataset, self.net.output_size if self.net is not None else 10)

    @property
    def is_fashion(self) -> bool:
        return self.dataset == "fashion-mnist"


class DrawPage(QWidget):
    """Draw a digit, see what the network receives and how it reads it; keep your own digits."""

    title = "Draw"
    prediction_updated = Signal()  # after the labels, bars and images show a new reading

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("drawPage")
        self.context = context
        self.reading = None
        self.last_error: str | None = None
        self._last_prediction = -1.0
        self._lut = _viridis_lut()
        self._entries: dict[str, _ModelEntry] = {}
        self.picture: np.ndarray | None = None  # the opened picture, while the canvas shows it untouched
        self.fine_tune_job = Job(self, name="nnstudio-fine-tune")
        self.fine_tune_job.progress.connect(lambda text: self.my_digits_status.setText(text))
        self.fine_tune_job.finished.connect(self._on_fine_tuned)
        self.fine_tune_job.failed.connect(self._on_fine_tune_failed)
        self.my_digits = MyDigits()
        self.import_job = Job(self, name="nnstudio-import-digits")
        self.import_job.progress.connect(lambda text: self.my_digits_status.setText(text))
        self.import_job.finished.connect(self._on_folder_read)
        self.import_job.failed.connect(self._on_import_failed)

        self.canvas = DigitCanvas()
        self._timer = QTimer(self, singleShot=True, timerType=Qt.PreciseTimer)
        self._timer.timeout.connect(self.predict_now)
        self.canvas.changed.connect(self._canvas_changed)
        self.canvas.stroke_finished.connect(self._predict_soon)
        accept_file_drops(self.canvas, self.open_image)  # drop a picture file on the canvas to read it

        self._build_ui()

        for key, title in SHIPPED:
            self._entries[key] = self._load_shipped(key, title)
        context.model_changed.connect(self._on_studio_model)
        self._studio_model, self._studio_start = None, 0.0
        self._refresh_model_combo(select="mnist")
        if context.model is not None:
            self._on_studio_model(context.model)
        self._refresh_my_digits()
        self.predict_now()

    # ================================================================ layout
    def _build_ui(self) -> None:
        # -- left: the canvas and its tools
        self.pen_slider = QSlider(Qt.Horizontal, objectName="penWidthSlider")
        self.pen_slider.setRange(4, 48)
        self.pen_slider.setValue(int(self.canvas.pen_width))
        self.pen_slider.setAccessibleName("Pen width")
        self.pen_slider.setToolTip("Pen width (MNIST's strokes are about a tenth of the digit's height)")
        self.pen_slider.valueChanged.connect(self._set_pen_width)
        self.pen_value = QLabel(f"{self.canvas.pen_width:.0f} px")
        self.pen_value.setMinimumWidth(44)

        self.clear_button = QPushButton("Clear", objectName="clearButton")
        self.clear_button.setToolTip("Clear the canvas (Esc or Delete)")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.undo_button = QPushButton("Undo stroke", objectName="undoButton")
        self.undo_button.setToolTip("Remove the last stroke (Ctrl+Z)")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.open_button = QPushButton("Open image…", objectName="openImageButton")
        self.open_button.setToolTip(
            "Read a photo or scan of a digit (dark ink on light paper works too); or drop a picture file on the canvas"
        )
        self.open_button.clicked.connect(self._choose_image)
        for key in (QKeySequence(Qt.Key_Escape), QKeySequence(Qt.Key_Delete)):
            QShortcut(key, self, self.canvas.clear, context=Qt.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence.Undo, self, self.canvas.undo, context=Qt.WidgetWithChildrenShortcut)

        pen_row = QHBoxLayout()
        pen_row.addWidget(QLabel("Pen"))
        pen_row.addWidget(self.pen_slider, 1)
        pen_row.addWidget(self.pen_value)
        buttons = QHBoxLayout()
        for b in (self.clear_button, self.undo_button, self.open_button):
            buttons.addWidget(b)

        # -- my digits
        self.digit_label_spin = QSpinBox(objectName="myDigitLabel")
        self.digit_label_spin.setRange(0, 9)
        self.digit_label_spin.setAccessibleName("Label for my digit")
        self.digit_label_spin.setToolTip("The digit you meant to draw")
        self.add_digit_button = QPushButton("Add to my digits", objectName="addDigitButton")
        self.add_digit_button.setToolTip(
            "Save the 28×28 image, labelled with the number on the left, to your own digit collection"
        )
        self.add_digit_button.clicked.connect(self.add_to_my_digits)
        self.browse_digits_button = QPushButton("Browse…", objectName="browseDigitsButton")
        self.browse_digits_button.clicked.connect(self.browse_my_digits)
        self.import_digits_button = QPushButton("Import folder…", objectName="importDigitsButton")
        self.import_digits_button.setToolTip(
            "Add a folder of pictures of your digits, read like Open image…; the label comes from a "
            "sub-folder named 0-9 or a file name starting with the digit (3.png, 7_photo.jpg)"
        )
        self.import_digits_button.clicked.connect(self._choose_digits_folder)
        self.evaluate_digits_button = QPushButton("How well does it read them?", objectName="evaluateDigitsButton")
        self.evaluate_digits_button.clicked.connect(self.evaluate_my_digits)
        self.fine_tune_button = QPushButton("Fine-tune on them", objectName="fineTuneButton")
        self.fine_tune_button.setToolTip(
            "Train a copy of the selected model a little on your digits "
            "(mixed with MNIST so it keeps reading everyone else's)"
        )
        self.fine_tune_button.clicked.connect(self.fine_tune)
        self.my_digits_status = QLabel(objectName="myDigitsStatus")
        self.my_digits_status.setWordWrap(True)
        mine = QGroupBox("My digits")
        grid = QGridLayout(mine)
        grid.addWidget(QLabel("This is a"), 0, 0)
        grid.addWidget(self.digit_label_spin, 0, 1)
        grid.addWidget(self.add_digit_button, 0, 2)
        grid.addWidget(self.browse_digits_button, 0, 3)
        grid.addWidget(self.evaluate_digits_button, 1, 0, 1, 2)
        grid.addWidget(self.import_digits_button, 1, 2)
        grid.addWidget(self.fine_tune_button, 1, 3)
        grid.addWidget(self.my_digits_status, 2, 0, 1, 4)
        grid.setColumnStretch(2, 1)

        self.stages = PictureStages()
        self.stages.hide()  # shown while an opened picture is on the canvas

        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(pen_row)
        left.addLayout(buttons)
        left.addWidget(self.stages)
        left.addWidget(mine)
        left.addStretch(0)

        # -- right: model, prediction, what the network sees
        self.model_combo = QComboBox(objectName="modelCombo")
        self.model_combo.setAccessibleName("Model")
        self.model_combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.model_combo.currentIndexChanged.connect(self._model_selected)
        self.model_info = QLabel(objectName="modelInfo")
        self.model_info.setWordWrap(True)
        self.model_info.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.prediction_label = QLabel("draw a digit", objectName="predictionLabel")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 2.6)
        font.setBold(True)
        self.prediction_label.setFont(font)
        self.prediction_label.setMinimumHeight(self.prediction_label.fontMetrics().height() + 8)
        self.prediction_label.setAccessibleName("Prediction")

        bars = QGridLayout()
        bars.setVerticalSpacing(2)
        self.class_labels, self.prob_bars, self.prob_values = [], [], []
        for i in range(10):
            name = QLabel(str(i), objectName=f"className{i}")
            bar = QProgressBar(objectName=f"probabilityBar{i}")
            bar.setRange(0, 1000)
            bar.setTextVisible(False)
            bar.setFixedHeight(14)
            bar.setAccessibleName(f"Probability of class {i}")
            value = QLabel("", objectName=f"probabilityValue{i}")
            value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            value.setMinimumWidth(48)
            bars.addWidget(name, i, 0)
            bars.addWidget(bar, i, 1)
            bars.addWidget(value, i, 2)
            self.class_labels.append(name)
            self.prob_bars.append(bar)
            self.prob_values.append(value)
        bars.setColumnStretch(1, 1)
        prob_box = QGroupBox("Probabilities")
        prob_box.setLayout(bars)

        self.input_view = QLabel(objectName="inputView")
        self.input_view.setFixedSize(SIZE * 5 + 2, SIZE * 5 + 2)
        self.input_view.setAlignment(Qt.AlignCenter)
        self.input_view.setFrameShape(QFrame.Box)
        self.input_view.setToolTip(
            "The 28×28 image the network receives: cropped, scaled to 20 pixels "
            "and centred by its centre of mass, like MNIST"
        )
        input_box = QGroupBox("What the network sees")
        ib = QVBoxLayout(input_box)
        ib.addWidget(self.input_view, 0, Qt.AlignHCenter)
        self.input_caption = QLabel("28 × 28 pixels, 784 inputs", objectName="inputCaption")
        ib.addWidget(self.input_caption, 0, Qt.AlignHCenter)
        ib.addStretch(1)  # the caption stays under its image when the box is as tall as its neighbour

        self.hidden_box = QGroupBox("Hidden layer activations")
        self.hidden_layout = QVBoxLayout(self.hidden_box)
        self.hidden_views: list[tuple[QLabel, QLabel]] = []
        self.hidden_note = QLabel(
            "Brighter = a neuron responding more strongly (yellow is the strongest in its layer, dark purple is zero)."
        )
        self.hidden_note.setWordWrap(True)

        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model"))
        model_row.addWidget(self.model_combo, 1)
        sees = QHBoxLayout()
        sees.addWidget(input_box, 0)
        sees.addWidget(self.hidden_box, 1)

        right = QVBoxLayout()
        right.addLayout(model_row)
        right.addWidget(self.model_info)
        self.message_label = QLabel(objectName="drawMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.message_label.hide()
        right.addWidget(self.message_label)
        right.addWidget(self.prediction_label)
        right.addWidget(prob_box)
        right.addLayout(sees)
        right.addStretch(1)

        outer = QHBoxLayout(self)
        outer.addLayout(left, 5)
        outer.addLayout(right, 6)

    # ================================================================ models
    def _load_shipped(self, key: str, title: str) -> _ModelEntry:
        path = pretrained_model_path(key)
        try:
            net = open_model(path)
        except (ModelFileError, OSError) as exc:
            return _ModelEntry(key, title, None, f"{path.name} could not be loaded: {exc}")
        return _ModelEntry(key, title, net)

    def _on_studio_model(self, model) -> None:
        """Offer the studio's network; make it the current model once it has learned something."""
        previous = self._entries.get("studio")
        if model is None:
            self._entries.pop("studio", None)
            self._studio_model = None
            self._refresh_model_combo(select=None)
            return
        if model is not self._studio_model:  # a newly built or loaded network
            self._studio_model, self._studio_start = model, _fingerprint(model)
        # Trained here (history, or weights moved since it arrived) or elsewhere (an imported file: meta "source").
        trained = (
            bool((model.meta.get("history") or {}).get("epochs"))
            or bool(model.meta.get("source"))
            or _fingerprint(model) != self._studio_start
        )
        sizes = model.sizes()
        if not sizes or sizes[0] != SIZE * SIZE or model.output_size != 10:
            entry = _ModelEntry(
                "studio",
                "Studio model (cannot read drawings)",
                None,
                f"The studio's model takes {sizes[0] if sizes else '?'} inputs and gives "
                f"{model.output_size} outputs; drawing needs 784 inputs and 10 classes.",
            )
        else:
            net = model.copy()  # a private copy: reading it here never touches what the studio trains
            if not net.meta.get("dataset") and self.context.model_dataset:
                net.meta["dataset"] = self.context.model_dataset
            entry = _ModelEntry(
                "studio", f"Studio model ({'-'.join(map(str, sizes))}{'' if trained else ', untrained'})", net
            )
        entry.trained = trained and entry.net is not None
        self._entries["studio"] = entry
        # An untrained network guesses at random: keep the shipped model until the studio's has trained.
        newly_trained = entry.trained and not (previous is not None and previous.trained)
        select = "studio" if newly_trained else None
        if entry.net is not None and not entry.trained and self.model_combo.currentData() == "studio":
            # Reset or New replaced a trained studio model: back to the shipped one for its dataset
            dataset = self.context.model_dataset
            select = dataset if dataset in self._entries and dataset != "studio" else "mnist"
        self._refresh_model_combo(select=select)

    def _refresh_model_combo(self, select: str | None) -> None:
        current = select or self.model_combo.currentData() or "mnist"
        order = [k for k in ("studio", "mnist", "fashion-mnist", "fine-tuned") if k in self._entries]
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for key in order:
            self.model_combo.addItem(self._entries[key].title, key)
        idx = self.model_combo.findData(current if current in order else "mnist")
        self.model_combo.setCurrentIndex(max(0, idx))
        self.model_combo.blockSignals(False)
        self._model_selected()

    @property
    def entry(self) -> _ModelEntry:
        return self._entries.get(self.model_combo.currentData() or "mnist") or self._entries["mnist"]

    def select_model(self, key: str) -> None:
        """Choose 'studio', 'mnist', 'fashion-mnist' or 'fine-tuned' (when present)."""
        idx = self.model_combo.findData(key)
        if idx < 0:
            raise KeyError(key)
        self.model_combo.setCurrentIndex(idx)

    def _model_selected(self, *_args) -> None:
        entry = self.entry
        names = entry.class_names
        for i, label in enumerate(self.class_labels):
            label.setText(names[i] if i < len(names) else str(i))
        if entry.net is None:
            self.model_info.setText(f"<span style='color:#d9534f'>{html.escape(entry.error)}</span>")
        else:
            hist = entry.net.meta.get("history") or {}
            epochs = hist.get("epochs") or []
            acc = epochs[-1].get("test_accuracy") if epochs and isinstance(epochs[-1], dict) else None
            text = (
                f"{'-'.join(map(str, entry.net.sizes()))} network for "
                f"{'Fashion-MNIST clothing' if entry.is_fashion else 'MNIST digits'}"
            )
            if acc is not None:
                text += f", {acc:.1%} on its test set"
            if entry.is_fashion:
                text += ". Draw a garment's outline or a filled shape; it fills the 28×28 frame."
            self.model_info.setText(text)
        self._rebuild_hidden_views()
        self.predict_now()

    def _rebuild_hidden_views(self) -> None:
        for name, view in self.hidden_views:
            for w in (name, view):  # out of the layout now; deleteLater alone leaves them there until
                self.hidden_layout.removeWidget(w)  # the event loop runs, and the window grows meanwhile
                w.hide()
                w.deleteLater()
        self.hidden_layout.removeWidget(self.hidden_note)
        self.hidden_views = []
        net = self.entry.net
        sizes = net.sizes()[1:-1] if net is not None else []
        for i, n in enumerate(sizes[:4]):
            rows, cols = _grid_shape(n)
            cell = max(4, min(14, 300 // cols))
            name = QLabel(f"Layer {i + 1}: {n} neurons")
            view = QLabel(objectName=f"hiddenView{i}")
            view.setFixedSize(cols * cell, rows * cell)
            view.setProperty("cell", cell)
            self.hidden_layout.addWidget(name)
            self.hidden_layout.addWidget(view)
            self.hidden_views.append((name, view))
        if not sizes:
            self.hidden_box.setTitle("Hidden layer activations (this model has no hidden layer)")
        else:
            self.hidden_box.setTitle("Hidden layer activations")
        self.hidden_layout.addWidget(self.hidden_note)

    # ================================================================ prediction
    def _set_pen_width(self, value: int) -> None:
        self.canvas.pen_width = float(value)
        self.pen_value.setText(f"{value} px")

    def _canvas_changed(self) -> None:
        self.picture = None  # drawn on, cleared or undone: read the canvas from now on
        self.stages.hide()
        self._schedule_prediction()

    def _schedule_prediction(self) -> None:
        """Predict at most every THROTTLE_MS while the pen moves; never inside the mouse handler."""
        if self._timer.isActive():
            return
        since = (time.perf_counter() - self._last_prediction) * 1000
        self._timer.start(int(max(0, THROTTLE_MS - since)))

    def _predict_soon(self) -> None:
        """The pen was lifted: predict as soon as the event loop is free."""
        self._timer.start(0)

    def predict_now(self) -> None:
        """Read the canvas with the selected model and show the result."""
        self._timer.stop()
        self._last_prediction = time.perf_counter()
        entry = self.entry
        reading = None
        if entry.net is not None and self.picture is not None:
            reading = read_image(entry.net, self.picture)  # exactly what `nnstudio predict` reads
        elif entry.net is not None and not self.canvas.is_empty():
            reading = read_image(entry.net, self.canvas.to_array())
        self._show_reading(reading)
        if self.picture is not None:
            self.stages.set_input(None if reading is None or reading.blank else reading.inputs)
        self.prediction_updated.emit()

    def _show_message(self, text: str, error: bool = False) -> None:
        """A note above the prediction (an image that could not be opened); empty text hides it."""
        self.message_label.setText(
            f"<span style='color:#d9534f'>{html.escape(text)}</span>" if error else html.escape(text)
        )
        self.message_label.setVisible(bool(text))

    def _show_reading(self, reading) -> None:
        self.reading = reading
        blank = reading is None or reading.blank
        self.context.set_drawing(None if blank else reading.inputs, None if blank else reading.top_class)
        if blank:
            empty = "draw a digit" if not self.entry.is_fashion else "draw a digit (or a garment)"
            self.prediction_label.setText(empty if self.entry.net is not None else "no model")
            self.prediction_label.setToolTip("")
            for bar, value, name in zip(self.prob_bars, self.prob_values, self.class_labels):
                bar.setValue(0)
                value.setText("")
                _bold(name, False)
            self.input_view.setPixmap(_gray_pixmap(np.zeros((SIZE, SIZE)), 5))
            for _, view in self.hidden_views:
                view.clear()
            self.add_digit_button.setEnabled(False)
            return
        probs = reading.probabilities
        top = int(np.argmax(probs))
        names = self.entry.class_names
        # Rounded down, so a 99.6% guess does not claim certainty.
        self.prediction_label.setText(f"{names[top]} ({math.floor(probs[top] * 100):d}%)")
        second = int(np.argsort(probs)[-2])
        self.prediction_label.setToolTip(f"Runner-up: {names[second]} ({probs[second]:.1%})")
        for i, (bar, value, name) in enumerate(zip(self.prob_bars, self.prob_values, self.class_labels)):
            p = float(probs[i]) if i < len(probs) else 0.0
            bar.setValue(round(p * 1000))
            value.setText(f"{math.floor(p * 1000) / 10:.1f}%" if p >= 0.001 else "<0.1%")
            _bold(name, i == top)
        self.input_view.setPixmap(_gray_pixmap(reading.inputs.reshape(SIZE, SIZE), 5))
        for (_, view), h in zip(self.hidden_views, reading.hidden):
            self._show_hidden(view, h)
        self.add_digit_button.setEnabled(not self.entry.is_fashion)
        if not self.entry.is_fashion:
            self.digit_label_spin.setValue(top)

    def _show_hidden(self, view: QLabel, h: np.ndarray) -> None:
        rows, cols = _grid_shape(len(h))
        grid = np.zeros(rows * cols, np.float32)
        peak = float(h.max())
        grid[: len(h)] = np.clip(h, 0, None) / peak if peak > 0 else 0
        rgb = np.ascontiguousarray(self._lut[(grid * 255).astype(np.uint8)].reshape(rows, cols, 3))
        if len(h) < rows * cols:
            rgb.reshape(-1, 3)[len(h) :] = 128  # unused cells: neutral grey
        qimg = QImage(rgb.data, cols, rows, cols * 3, QImage.Format_RGB888).copy()
        cell = view.property("cell") or 8
        view.setPixmap(
            QPixmap.fromImage(qimg).scaled(cols * cell, rows * cell, Qt.IgnoreAspectRatio, Qt.FastTransformation)
        )
        view.setToolTip(f"{len(h)} neurons; {int((h > 0).sum())} active; strongest {peak:.2f}")

    # ================================================================ images
    def _choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a picture of a digit", "", IMAGE_FILTER)
        if path:
            self.open_image(path)

    def open_image(self, path: str) -> bool:
        """Put a picture of a digit on the canvas (cleaned: white ink on black) and read it.

        The reading comes from the picture itself, through the same loader, cleanup and recipe
        as ``nnstudio predict`` (:func:`nnstudio.core.imaging.load_picture`), until the user
        draws on it; the stages strip shows original -> cleaned -> 28x28.
        """
        try:
            picture = load_picture(path)
        except ValueError as exc:
            self._show_message(f"Cannot open this image: {exc}", error=True)
            self.context.show_status(f"Cannot open image: {exc}")
            self.last_error = str(exc)
            return False
        self.last_error = None
        ink = picture.ink
        self._show_message("" if not picture.blank else f"{Path(path).name}: no digit found in this picture.")
        shown = ink
        h, w = ink.shape
        if max(h, w) > RESOLUTION:  # area-filter big pictures down for the canvas (thin lines stay visible)
            s = RESOLUTION / max(h, w)
            shown = np.clip(resize(ink, max(1, round(h * s)), max(1, round(w * s))), 0, 1)
        self.canvas.set_picture(shown)
        self.picture = ink
        self.predict_now()
        self.stages.show_picture(picture, None if self.reading is None else self.reading.inputs, Path(path).name)
        self.context.show_status(f"Opened {Path(path).name}")
        return True

    # ================================================================ my digits
    def _refresh_my_digits(self) -> None:
        store = self.my_digits
        if store.damaged:
            self.my_digits_status.setText(
                f"<span style='color:#d9534f'>{html.escape(store.error)}</span> Open “Browse…” to set it aside."
            )
        elif len(store) == 0:
            self.my_digits_status.setText("No digits of your own yet. Draw one, check the number, and add it.")
        else:
            counts = store.counts()
            per = ", ".join(f"{d}: {c}" for d, c in enumerate(counts) if c)
            self.my_digits_status.setText(f"{len(store)} saved ({per}) in {store.path}")
        has = len(store) > 0
        self.evaluate_digits_button.setEnabled(has)
        self.fine_tune_button.setEnabled(has and not self.fine_tune_job.busy)

    def add_to_my_digits(self) -> None:
        if self.reading is None or self.reading.blank:
            return
        try:
            index = self.my_digits.add(self.reading.inputs, self.digit_label_spin.value())
        except (MyDigitsError, OSError) as exc:
            self.context.show_status(f"Not saved: {exc}")
            self._refresh_my_digits()
            self.my_digits_status.setText(
                f"<span style='color:#d9534f'>The digit was not saved: {html.escape(str(exc))}</span>"
            )
            return
        self.context.show_status(f"Saved as a {self.my_digits.labels[index]} (digit {index + 1} of your own)")
        self._refresh_my_digits()

    def _choose_digits_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of pictures of your digits")
        if folder:
            self.import_folder(folder)

    def import_folder(self, folder: str) -> bool:
        """Read every labelled picture in ``folder`` in the background (the same path as Open image…
        and `nnstudio predict`), then add them to My digits in one save."""
        if self.import_job.busy or self.my_digits.damaged:
            if self.my_digits.damaged:
                self._refresh_my_digits()
            return False
        self.import_digits_button.setEnabled(False)
        self.my_digits_status.setText(f"Reading the pictures in {folder}…")
        self.import_job.start(_import_job, folder)
        return True

    def _on_folder_read(self, found) -> None:
        self.import_digits_button.setEnabled(True)
        try:
            added = self.my_digits.add_many(found.images, found.labels)
        except (MyDigitsError, OSError) as exc:
            self._refresh_my_digits()
            self.my_digits_status.setText(
                f"<span style='color:#d9534f'>Nothing was imported: {html.escape(str(exc))}</span>"
            )
            return
        self._refresh_my_digits()
        self.my_digits_status.setText(f"Imported {added}: {html.escape(found.summary())}.")
        self.context.show_status(f"Imported {added} digits into My digits")

    def _on_import_failed(self, message: str) -> None:
        self.import_digits_button.setEnabled(True)
        self._refresh_my_digits()
        self.my_digits_status.setText(f"<span style='color:#d9534f'>Import failed: {html.escape(message)}</span>")

    def browse_my_digits(self) -> None:
        dialog = MyDigitsDialog(self.my_digits, self)
        dialog.exec()
        self._refresh_my_digits()

    def evaluate_my_digits(self) -> str:
        entry = self.entry
        if entry.net is None or len(self.my_digits) == 0 or entry.is_fashion:
            text = "Choose an MNIST model to read your digits." if entry.is_fashion else "Nothing to evaluate."
        else:
            x, y = self.my_digits.inputs()
            pred = entry.net.predict(x).argmax(axis=1)
            right = int((pred == y).sum())
            wrong = [f"{int(t)}→{int(p)}" for t, p in zip(y, pred) if t != p][:8]
            text = f"{entry.title} reads {right} of your {len(y)} digits correctly ({right / len(y):.0%})." + (
                f" Misread: {', '.join(wrong)}." if wrong else ""
            )
        self.my_digits_status.setText(text)
        return text

    def fine_tune(self) -> None:
        """Train a copy of the selected model on your digits (plus some MNIST) in the background
        (:func:`nnstudio.core.training.fine_tune`, as ``nnstudio fine-tune`` does)."""
        entry = self.entry
        if entry.net is None or entry.is_fashion or len(self.my_digits) == 0 or self.fine_tune_job.busy:
            return
        self._fine_tune_base = entry.title
        self.fine_tune_button.setEnabled(False)
        self.my_digits_status.setText("Fine-tuning a copy of the model on your digits…")
        self.fine_tune_job.start(_fine_tune_job, entry.net.copy(), self.my_digits, self.context.data_dir)

    def _on_fine_tuned(self, result) -> None:
        net = result.network
        self._entries["fine-tuned"] = _ModelEntry(
            "fine-tuned", f"Fine-tuned on my digits (from {self._fine_tune_base})", net
        )
        self._refresh_model_combo(select="fine-tuned")
        self._refresh_my_digits()
        self.my_digits_status.setText(f"Fine-tuned {result.note}. " + self.evaluate_my_digits())

    def _on_fine_tune_failed(self, message: str) -> None:
        self._refresh_my_digits()
        self.my_digits_status.setText(f"<span style='color:#d9534f'>Fine-tuning failed: {html.escape(message)}</span>")

    def shutdown(self) -> None:
        self._timer.stop()
        self.fine_tune_job.shutdown()
        self.import_job.shutdown()


def _import_job(ctx, folder):
    """Runs on the job's thread: read the folder (nothing is written here)."""
    return read_folder(
        folder,
        progress=lambda done, total: ctx.progress(f"Reading pictures… {done} of {total}"),
        cancelled=lambda: ctx.is_cancelled,
    )


def _fine_tune_job(ctx, net, digits, data_dir):
    """Runs on the job's thread: MNIST to mix in (if it is here), then the core recipe."""
    try:
        replay = training_arrays("mnist", data_dir).train
    except DataError:
        replay = None

    def on_trainer(trainer):
        ctx.on_cancel(trainer.stop)

        def epoch(info):
            ctx.progress(f"Fine-tuning a copy of the model on your digits… epoch {info.epoch} of {trainer.epochs} done")

        trainer.events.connect("epoch", epoch)

    return fine_tune(net, digits, replay=replay, on_trainer=on_trainer)


def _bold(label: QLabel, on: bool) -> None:
    f = label.font()
    if f.bold() != on:
        f.setBold(on)
        label.setFont(f)


class MyDigitsDialog(QDialog):
    """Browse your saved digits: thumbnails with their labels; relabel or delete the selected ones."""

    def __init__(self, store: MyDigits, parent=None):
        super().__init__(parent)
        self.setObjectName("myDigitsDialog")
        self.setWindowTitle("My digits")
        self.store = store
        self.list = QListWidget(objectName="myDigitsList")
        self.list.setViewMode(QListView.IconMode)
        self.list.setIconSize(QSize(56, 56))
        self.list.setResizeMode(QListView.Adjust)
        self.list.setSelectionMode(QListWidget.ExtendedSelection)
        self.list.setMovement(QListView.Static)
        self.list.setSpacing(4)
        self.message = QLabel(objectName="myDigitsMessage")
        self.message.setWordWrap(True)
        self.relabel_spin = QSpinBox(objectName="relabelSpin")
        self.relabel_spin.setRange(0, 9)
        self.relabel_button = QPushButton("Relabel selected", objectName="relabelButton")
        self.relabel_button.clicked.connect(self.relabel_selected)
        self.delete_button = QPushButton("Delete selected", objectName="deleteDigitsButton")
        self.delete_button.clicked.connect(self.delete_selected)
        self.set_aside_button = QPushButton("Set damaged file aside", objectName="setAsideButton")
        self.set_aside_button.clicked.connect(self.set_aside)
        row = QHBoxLayout()
        row.addWidget(QLabel("Label"))
        row.addWidget(self.relabel_spin)
        row.addWidget(self.relabel_button)
        row.addStretch(1)
        row.addWidget(self.delete_button)
        row.addWidget(self.set_aside_button)
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.message)
        lay.addWidget(self.list, 1)
        lay.addLayout(row)
        lay.addWidget(close)
        self.resize(620, 460)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for i, (img, lab) in enumerate(zip(self.store.images, self.store.labels)):
            item = QListWidgetItem(QIcon(_gray_pixmap(img.astype(np.float32) / 255, 2)), str(int(lab)))
            item.setData(Qt.UserRole, i)
            item.setToolTip(
                f"Digit {i + 1}, labelled {int(lab)}, added "
                f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(self.store.added[i]))}"
            )
            self.list.addItem(item)
        damaged = self.store.damaged
        self.set_aside_button.setVisible(damaged)
        self.relabel_button.setEnabled(not damaged)
        self.delete_button.setEnabled(not damaged)
        if damaged:
            self.message.setText(
                f"<span style='color:#d9534f'>{html.escape(self.store.error)}</span><br>Nothing will be "
                "written over it. “Set damaged file aside” renames it (keeping it) and starts "
                "a new collection."
            )
        else:
            self.message.setText(
                f"{len(self.store)} digits in {self.store.path}. Select some to relabel or delete them."
            )

    def selected(self) -> list[int]:
        return sorted(item.data(Qt.UserRole) for item in self.list.selectedItems())

    def relabel_selected(self) -> None:
        try:
            for i in self.selected():
                self.store.relabel(i, self.relabel_spin.value())
        except MyDigitsError as exc:
            self.message.setText(str(exc))
            return
        self.refresh()

    def delete_selected(self) -> None:
        sel = self.selected()
        if not sel:
            return
        try:
            self.store.delete(sel)
        except MyDigitsError as exc:
            self.message.setText(str(exc))
            return
        self.refresh()

    def set_aside(self) -> None:
        moved = self.store.set_aside()
        self.refresh()
        if moved is not None:
            self.message.setText(f"The damaged file was renamed to {moved.name}; a new collection starts here.")
