"""The 2-D playground: pick a toy dataset and features, shape a small network and watch it learn.

Training runs on the UI thread in small time-boxed chunks driven by a timer
(a few milliseconds of training, then one redraw). The networks are tiny, so
this keeps the window responsive without threads and the picture is always of
a consistent state; ``benchmarks/bench_playground.py`` measures frame rate and
the longest time the event loop is kept busy.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.data import toy
from nnstudio.core.lessons.playground import Playground, PlaygroundFileError
from nnstudio.gui.widgets.controls import set_play_state
from nnstudio.gui.widgets.playground_heatmap import OutputHeatmap
from nnstudio.gui.widgets.playground_layers import ACTIVATION_LABELS, CompactLayerEditor
from nnstudio.gui.widgets.playground_network import NetworkDiagram
from nnstudio.gui.widgets.training_charts import theme_plot

LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
REG_RATES = (0.0, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
FRAME_MS = 33  # aim for ~30 redraws a second
TRAIN_BUDGET_S = 0.012  # training time per frame
MAP_RESOLUTION = 32  # neuron thumbnails
OUTPUT_RESOLUTION = 80  # the big output heatmap


class PlaygroundPage(QWidget):
    title = "Playground"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("playgroundPage")
        self.context = context
        self.playground = Playground()
        self.running = False
        self.frames = 0
        self.focus_neuron: tuple[int, int] | None = None
        self._frame_times: list[float] = []
        self._redraw_seconds = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)
        self._build()
        self._sync_controls()
        self.heatmap.show_test(self.test_check.isChecked())
        self._data_changed()

    # -- building the page -------------------------------------------------------
    def _build(self) -> None:
        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(4, 4, 8, 4)

        data_box = QGroupBox("Data")
        form = QFormLayout(data_box)
        self.dataset_combo = QComboBox(objectName="datasetCombo")
        for key in toy.ALL_SETS:
            self.dataset_combo.addItem(toy.LABELS[key], key)
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset)
        form.addRow("Dataset", self.dataset_combo)
        self.noise_slider = QSlider(Qt.Horizontal, objectName="noiseSlider", minimum=0, maximum=100)
        self.noise_label = QLabel()
        self.noise_slider.valueChanged.connect(lambda v: self.noise_label.setText(f"Noise {v}%"))
        self.noise_slider.sliderReleased.connect(self._on_noise)
        self.noise_slider.valueChanged.connect(lambda _: None if self.noise_slider.isSliderDown() else self._on_noise())
        form.addRow(self.noise_label, self.noise_slider)
        self.split_slider = QSlider(
            Qt.Horizontal, objectName="splitSlider", minimum=10, maximum=90, singleStep=10, pageStep=10
        )
        self.split_label = QLabel()
        self.split_slider.valueChanged.connect(lambda v: self.split_label.setText(f"Test {v}%"))
        self.split_slider.valueChanged.connect(lambda _: None if self.split_slider.isSliderDown() else self._on_split())
        self.split_slider.sliderReleased.connect(self._on_split)
        form.addRow(self.split_label, self.split_slider)
        self.regen_button = QPushButton("Regenerate points", objectName="regenerateButton")
        self.regen_button.clicked.connect(self.regenerate)
        form.addRow(self.regen_button)
        cl.addWidget(data_box)

        feat_box = QGroupBox("Input features")
        fl = QGridLayout(feat_box)
        self.feature_boxes: dict[str, QCheckBox] = {}
        for i, (key, (label, _, _)) in enumerate(toy.FEATURES.items()):
            box = QCheckBox(label)
            box.setObjectName(f"feature_{key}")
            box.toggled.connect(self._on_features)
            fl.addWidget(box, i // 2, i % 2)
            self.feature_boxes[key] = box
        cl.addWidget(feat_box)

        net_box = QGroupBox("Hidden layers")
        nl = QVBoxLayout(net_box)
        self.layer_editor = CompactLayerEditor()
        self.layer_editor.changed.connect(self._on_layers)
        nl.addWidget(self.layer_editor)
        cl.addWidget(net_box)

        train_box = QGroupBox("Training")
        tf = QFormLayout(train_box)
        self.lr_combo = QComboBox(objectName="lrCombo")
        for lr in LEARNING_RATES:
            self.lr_combo.addItem(f"{lr:g}", lr)
        self.lr_combo.currentIndexChanged.connect(self._on_lr)
        tf.addRow("Learning rate", self.lr_combo)
        self.opt_combo = QComboBox(objectName="optimizerCombo")
        for key, label in (("sgd", "SGD"), ("momentum", "Momentum"), ("adam", "Adam")):
            self.opt_combo.addItem(label, key)
        self.opt_combo.currentIndexChanged.connect(self._on_optimizer)
        tf.addRow("Optimizer", self.opt_combo)
        self.batch_spin = QSpinBox(objectName="batchSpin", minimum=1, maximum=500)
        self.batch_spin.valueChanged.connect(self._on_batch)
        tf.addRow("Batch size", self.batch_spin)
        self.reg_combo = QComboBox(objectName="regCombo")
        for key, label in (("none", "None"), ("l1", "L1"), ("l2", "L2")):
            self.reg_combo.addItem(label, key)
        self.reg_rate_combo = QComboBox(objectName="regRateCombo")
        for r in REG_RATES:
            self.reg_rate_combo.addItem(f"{r:g}", r)
        self.reg_combo.currentIndexChanged.connect(self._on_reg)
        self.reg_rate_combo.currentIndexChanged.connect(self._on_reg)
        tf.addRow("Regularization", self.reg_combo)
        tf.addRow("Reg. rate", self.reg_rate_combo)
        cl.addWidget(train_box)

        files = QHBoxLayout()
        self.save_button = QPushButton("Save\u2026", objectName="saveButton")
        self.open_button = QPushButton("Open\u2026", objectName="openButton")
        self.save_button.setToolTip("Save the whole playground (data, features, network, weights) to a small file")
        self.save_button.clicked.connect(self._save_dialog)
        self.open_button.clicked.connect(self._open_dialog)
        files.addWidget(self.save_button)
        files.addWidget(self.open_button)
        cl.addLayout(files)
        cl.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(360)
        scroll.setFrameShape(QScrollArea.NoFrame)

        # run bar
        run = QHBoxLayout()
        self.reset_button = QPushButton("\u21ba Reset", objectName="resetButton")
        self.reset_button.setToolTip("New random weights; keep data and settings")
        self.play_button = QPushButton("Play", objectName="playButton")
        set_play_state(self.play_button, False)
        self.play_button.setCheckable(True)
        self.step_button = QPushButton("Step", objectName="stepButton")
        self.step_button.setToolTip("Train one epoch, then stop")
        self.reset_button.clicked.connect(self.reset)
        self.play_button.toggled.connect(self.set_running)
        self.step_button.clicked.connect(self.step)
        for b in (self.reset_button, self.play_button, self.step_button):
            run.addWidget(b)
        self.epoch_label = QLabel(objectName="epochLabel")
        big = self.epoch_label.font()
        big.setPointSizeF(big.pointSizeF() * 1.25)
        big.setBold(True)
        self.epoch_label.setFont(big)
        run.addSpacing(12)
        run.addWidget(self.epoch_label)
        run.addStretch(1)
        self.speed_label = QLabel(objectName="speedLabel")
        self.speed_label.setEnabled(False)
        run.addWidget(self.speed_label)

        self.diagram = NetworkDiagram()
        self.diagram.neuronClicked.connect(self._on_neuron_clicked)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.output_title = QLabel("<b>Output</b>")
        rl.addWidget(self.output_title)
        self.metrics_label = QLabel(objectName="metricsLabel")
        rl.addWidget(self.metrics_label)
        self.heatmap = OutputHeatmap()
        self.heatmap.setMinimumSize(300, 300)
        policy = QSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        policy.setHeightForWidth(True)
        self.heatmap.setSizePolicy(policy)
        rl.addWidget(self.heatmap)
        toggles = QHBoxLayout()
        self.test_check = QCheckBox("Show test data", objectName="showTestCheck")
        self.discrete_check = QCheckBox("Discretize output", objectName="discretizeCheck")
        self.test_check.toggled.connect(self.heatmap.show_test)
        self.discrete_check.toggled.connect(self._on_discretize)
        toggles.addWidget(self.test_check)
        toggles.addWidget(self.discrete_check)
        toggles.addStretch(1)
        rl.addLayout(toggles)
        legend = QLabel(
            "Blue: positive / class 1, orange: negative / class 0. Circles: training points, "
            "squares: test points. Click a neuron to show it here."
        )
        legend.setWordWrap(True)
        legend.setEnabled(False)
        rl.addWidget(legend)
        self.loss_plot = pg.PlotWidget(objectName="playgroundLoss")
        self.loss_plot.setAccessibleName("Loss chart")
        theme_plot(self.loss_plot)
        self.loss_plot.setMinimumHeight(140)
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.getAxis("left").enableAutoSIPrefix(False)
        self.loss_plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.loss_plot.getPlotItem().getViewBox().setLimits(xMin=0)  # no negative epochs before training
        self.loss_plot.addLegend(offset=(-10, 10))
        # mid grey: readable on the light and the dark plot background
        self.train_curve = self.loss_plot.plot(pen=pg.mkPen((128, 128, 128), width=2), name="train")
        self.test_curve = self.loss_plot.plot(pen=pg.mkPen((8, 119, 189), width=2, style=Qt.DashLine), name="test")
        rl.addWidget(self.loss_plot, 1)

        self.error_label = QLabel(objectName="errorLabel")
        self.error_label.setStyleSheet("color: #c62828;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        center = QWidget()
        ccl = QVBoxLayout(center)
        ccl.setContentsMargins(0, 0, 0, 0)
        ccl.addLayout(run)
        ccl.addWidget(self.error_label)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.diagram)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        ccl.addWidget(split, 1)

        outer = QHBoxLayout(self)
        outer.addWidget(scroll)
        outer.addWidget(center, 1)

    # -- state <-> controls ---------------------------------------------------------
    def _sync_controls(self) -> None:
        """Show the playground's config in the controls (without triggering edits)."""
        c = self.playground.config
        widgets = [
            self.dataset_combo,
            self.noise_slider,
            self.split_slider,
            self.lr_combo,
            self.opt_combo,
            self.batch_spin,
            self.reg_combo,
            self.reg_rate_combo,
            *self.feature_boxes.values(),
        ]
        for w in widgets:
            w.blockSignals(True)
        try:
            self.dataset_combo.setCurrentIndex(self.dataset_combo.findData(c.dataset))
            self.noise_slider.setValue(round(c.noise * 100))
            self.noise_label.setText(f"Noise {round(c.noise * 100)}%")
            self.split_slider.setValue(round(c.test_fraction * 100))
            self.split_label.setText(f"Test {round(c.test_fraction * 100)}%")
            self._select_nearest(self.lr_combo, c.lr)
            self.opt_combo.setCurrentIndex(self.opt_combo.findData(c.optimizer))
            self.batch_spin.setValue(c.batch_size)
            self.reg_combo.setCurrentIndex(self.reg_combo.findData(c.regularization))
            self._select_nearest(self.reg_rate_combo, c.reg_rate)
            for key, box in self.feature_boxes.items():
                box.setChecked(key in c.features)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self.layer_editor.set_layers(c.hidden, c.activations)
        self.reg_rate_combo.setEnabled(c.regularization != "none")

    @staticmethod
    def _select_nearest(combo: QComboBox, value: float) -> None:
        values = [combo.itemData(i) for i in range(combo.count())]
        if value not in values:
            combo.addItem(f"{value:g}", value)
            values.append(value)
        combo.setCurrentIndex(values.index(value))

    def _apply(self, fn, *args) -> bool:
        """Run a playground edit; on a bad value show why and change nothing."""
        try:
            fn(*args)
        except ValueError as exc:
            self.show_error(str(exc))
            self._sync_controls()
            return False
        self.show_error("")
        return True

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        if text:
            self.context.show_status(text)

    # -- edits -------------------------------------------------------------------------
    def _on_dataset(self, _=None) -> None:
        self.playground.config.dataset = self.dataset_combo.currentData()
        self.playground.rebuild_data()
        self._data_changed()

    def _on_noise(self) -> None:
        noise = self.noise_slider.value() / 100
        if noise != self.playground.config.noise:
            self.playground.config.noise = noise
            self.playground.rebuild_data()
            self._data_changed()

    def _on_split(self) -> None:
        frac = self.split_slider.value() / 100
        if frac != self.playground.config.test_fraction:
            self.playground.config.test_fraction = frac
            self.playground.rebuild_data()
            self._data_changed()

    def regenerate(self) -> None:
        self.playground.config.data_seed += 1
        self.playground.rebuild_data()
        self._data_changed()

    def _on_features(self, _=None) -> None:
        feats = [k for k, b in self.feature_boxes.items() if b.isChecked()]
        if self._apply(self.playground.set_features, feats):
            self._network_changed()

    def _on_layers(self, sizes, acts) -> None:
        if self._apply(self.playground.set_layers, sizes, acts):
            self.focus_neuron = None
            self._network_changed()

    def _on_lr(self, _=None) -> None:
        self._apply(self.playground.set_lr, float(self.lr_combo.currentData()))

    def _on_optimizer(self, _=None) -> None:
        self._apply(self.playground.set_optimizer, self.opt_combo.currentData())

    def _on_batch(self, value: int) -> None:
        self._apply(self.playground.set_batch_size, int(value))

    def _on_reg(self, _=None) -> None:
        kind = self.reg_combo.currentData()
        self.reg_rate_combo.setEnabled(kind != "none")
        self._apply(self.playground.set_regularization, kind, float(self.reg_rate_combo.currentData()))

    def _on_discretize(self, on: bool) -> None:
        self.heatmap.set_discretize(on)

    def _on_neuron_clicked(self, layer: int, unit: int) -> None:
        self.focus_neuron = None if layer < 0 or layer == len(self.playground.config.hidden) + 1 else (layer, unit)
        self.redraw()

    # -- running -----------------------------------------------------------------------
    def set_running(self, on: bool) -> None:
        self.running = bool(on)
        if self.play_button.isChecked() != self.running:
            self.play_button.blockSignals(True)
            self.play_button.setChecked(self.running)
            self.play_button.blockSignals(False)
        set_play_state(self.play_button, self.running)
        if self.running:
            self._frame_times.clear()
            self.timer.start()
        else:
            self.timer.stop()
            self.speed_label.setText("")

    def tick(self) -> None:
        """One frame: train for a few milliseconds, then redraw."""
        if not self.running:
            return
        # Train for what is left of the frame once the last redraw's cost is paid (at least 3 ms),
        # so the frame rate holds up on a slow or busy machine.
        budget = min(TRAIN_BUDGET_S, max(0.003, FRAME_MS / 1000 * 0.85 - self._redraw_seconds))
        ok = self.playground.train_for(budget) > 0
        self.playground.record()
        t0 = time.perf_counter()
        self.redraw()
        self.diagram.repaint()  # paint now so its cost is measured with the redraw
        self.heatmap.viewport().repaint()
        self._redraw_seconds = time.perf_counter() - t0
        now = time.perf_counter()
        self._frame_times.append(now)
        if len(self._frame_times) > 30:
            self._frame_times.pop(0)
        if not ok:
            self.set_running(False)
            self.show_error(self.playground.message)

    def step(self) -> None:
        """Train one epoch and redraw (pauses first)."""
        self.set_running(False)
        if not self.playground.train_epochs(1):
            self.show_error(self.playground.message)
        self.playground.record()
        self.redraw()

    def reset(self) -> None:
        self.playground.reset()
        self.show_error("")
        self._network_changed()

    def _data_changed(self) -> None:
        d = self.playground.data
        cls = self.playground.classification
        self.heatmap.set_points(d.x_train, d.y_train, d.x_test, d.y_test, cls)
        self.focus_neuron = None
        self._network_changed()

    def _network_changed(self) -> None:
        self.redraw()

    def fps(self) -> float:
        t = self._frame_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 2 and t[-1] > t[0] else 0.0

    def redraw(self) -> None:
        """Draw the current state: output heatmap, neuron maps, weights, loss curves, numbers."""
        pg_ = self.playground
        out, hidden = pg_.maps(MAP_RESOLUTION)
        inputs = pg_.input_maps(MAP_RESOLUTION)
        big_out, big_hidden = pg_.maps(OUTPUT_RESOLUTION)
        shown, title = big_out, "Output"
        if self.focus_neuron is not None:
            layer, unit = self.focus_neuron
            maps = pg_.input_maps(OUTPUT_RESOLUTION) if layer == 0 else big_hidden[layer - 1]
            if unit < maps.shape[2]:
                m = maps[:, :, unit]
                scale = max(float(np.abs(m).max()), 1e-6)
                shown = m / scale
                title = (
                    f"Input {toy.FEATURES[pg_.config.features[unit]][0]}"
                    if layer == 0
                    else f"Neuron {unit + 1} of hidden layer {layer}"
                )
        self.heatmap.set_output(shown)
        self.output_title.setText(f"<b>{title}</b>")
        labels = [toy.FEATURES[f][0] for f in pg_.config.features]
        acts = [ACTIVATION_LABELS.get(a, a) for a in pg_.config.activations]
        self.diagram.set_network(labels, acts, pg_.weights(), pg_.biases(), inputs, hidden, out)
        h = pg_.history
        self.train_curve.setData(h["epoch"], h["train_loss"])
        test = np.asarray(h["test_loss"], dtype=float)
        if np.isfinite(test).any():
            self.test_curve.setData(h["epoch"], test, connect="finite")
        else:
            self.test_curve.setData([], [])
        self.epoch_label.setText(f"Epoch {pg_.epoch:,.0f}")
        tr, te = h["train_loss"][-1], h["test_loss"][-1]
        text = f"Train loss {tr:.3f}"
        if not math.isnan(te):
            text += f"   Test loss {te:.3f}"
        self.loss_plot.setAccessibleDescription(f"Loss chart at epoch {pg_.epoch:,.0f}: {text.replace('   ', ', ')}")
        if pg_.classification and len(pg_.x_test):
            m = pg_.metrics()
            text += f"   Test accuracy {100 * m.test_accuracy:.1f}%"
        self.metrics_label.setText(text)
        fps = self.fps()
        self.speed_label.setText(f"{fps:.0f} frames/s" if self.running and fps else "")
        self.frames += 1

    # -- files -------------------------------------------------------------------------------
    def save_to(self, path: str) -> bool:
        try:
            self.playground.save(path)
        except OSError as exc:
            self.show_error(f"Could not save {path}: {exc.strerror or exc}")
            return False
        self.show_error("")
        self.context.show_status(f"Playground saved to {path}")
        return True

    def open_from(self, path: str) -> bool:
        try:
            pg_ = Playground.load(path)
        except PlaygroundFileError as exc:
            self.show_error(f"Could not open the playground: {exc}")
            return False
        self.set_running(False)
        self.playground = pg_
        self._sync_controls()
        self.test_check.setChecked(self.test_check.isChecked())
        self._data_changed()
        self.show_error("")
        self.context.show_status(f"Opened playground {path}")
        return True

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save playground", "playground.json", "Playground files (*.json)")
        if path:
            self.save_to(path)

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open playground", "", "Playground files (*.json);;All files (*)")
        if path:
            self.open_from(path)

    # -- lifecycle ----------------------------------------------------------------------------
    def hideEvent(self, event) -> None:
        # Don't burn the shared CPU while another page is shown.
        self.set_running(False)
        super().hideEvent(event)

    def shutdown(self) -> None:
        self.set_running(False)
