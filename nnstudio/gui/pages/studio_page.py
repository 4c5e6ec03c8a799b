"""Build & Train: design a network, train it on MNIST or Fashion-MNIST, watch it learn.

The page is a view: the network, optimizer and trainer are core objects; the
:class:`~nnstudio.gui.worker.TrainingWorker` runs the trainer on its own thread
and hands this page throttled updates, which it only draws.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.network import ModelFileError, Sequential, restore_optimizer
from nnstudio.core.optim import DEFAULT_LR, make_optimizer
from nnstudio.core.train import History, Trainer

from ..widgets.dataset_view import DatasetView
from ..widgets.download_dialog import obtain_dataset
from ..widgets.layer_editor import DEFAULT_SPEC, LayerEditor, spec_from_network
from ..widgets.memory_view import MemoryView, model_memory_breakdown
from ..widgets.studio_results import ResultsView
from ..widgets.training_charts import AccuracyChart, GradientChart, LossChart
from ..widgets.weight_view import WeightView
from ..worker import TrainingWorker

DATASETS = (("MNIST digits", "mnist"), ("Fashion-MNIST clothing", "fashion-mnist"),
            ("My digits (drawn on the Draw page)", "my-digits"))
# Datasets that change while the app runs (the user adds digits): never cached.
LIVE_DATASETS = {"my-digits"}
OPTIMIZERS = (("SGD", "sgd"), ("Momentum", "momentum"), ("Adam", "adam"))
LR_MIN, LR_MAX = 1e-5, 1.0
CHART_INTERVAL = 0.2           # seconds between chart redraws while training (5 per second)
HEATMAP_INTERVAL = 0.5         # seconds between weight-heatmap redraws while training
BREAKDOWN_INTERVAL = 1.0


# Decoded datasets shared by every studio in the process (a second window, tests): decoding
# MNIST and converting it to float32 takes a second; the arrays are never modified.
_LOADED: dict = {}


def fmt_rate(samples_per_sec: float) -> str:
    """Samples/s short enough for a metric card: 121,957 -> '122k'."""
    return f"{samples_per_sec / 1000:,.0f}k" if samples_per_sec >= 10000 else f"{samples_per_sec:,.0f}"


class MetricCard(QFrame):
    """A small labelled number (epoch, loss, accuracy...)."""

    def __init__(self, caption: str, tooltip: str = ""):
        super().__init__()
        self.setObjectName("metricCard")
        self.setFrameShape(QFrame.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 3, 8, 3)
        lay.setSpacing(0)
        self.caption = QLabel(caption)
        self.caption.setProperty("role", "caption")
        self.value = QLabel("–")
        self.value.setProperty("role", "metric")
        self.value.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)   # a long number never widens the window
        lay.addWidget(self.caption)
        lay.addWidget(self.value)
        self.setToolTip(tooltip)

    def set(self, text: str) -> None:
        self.value.setText(text)


class LogSlider(QWidget):
    """A learning-rate control: a log-scale slider next to an exact spin box."""

    valueChanged = Signal(float)

    def __init__(self, value: float, lo: float = LR_MIN, hi: float = LR_MAX, parent=None):
        super().__init__(parent)
        self.lo, self.hi = lo, hi
        self.slider = QSlider(Qt.Horizontal, objectName="lrSlider")
        self.slider.setRange(0, 200)
        self.spin = QDoubleSpinBox(objectName="lrSpin")
        self.spin.setDecimals(5)
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(0.0001)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("Learning rate: how big a step each update takes (slider is logarithmic)")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self._sync = False
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)
        self.setValue(value)

    def _to_pos(self, v: float) -> int:
        return int(round(200 * (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))))

    def _from_slider(self, pos: int) -> None:
        if self._sync:
            return
        v = 10 ** (math.log10(self.lo) + pos / 200 * (math.log10(self.hi) - math.log10(self.lo)))
        digits = max(0, -int(math.floor(math.log10(v))) + 1)
        self._sync = True
        self.spin.setValue(round(v, digits))
        self._sync = False
        self.valueChanged.emit(self.spin.value())

    def _from_spin(self, v: float) -> None:
        if self._sync:
            return
        self._sync = True
        self.slider.setValue(self._to_pos(max(v, self.lo)))
        self._sync = False
        self.valueChanged.emit(v)

    def value(self) -> float:
        return self.spin.value()

    def setValue(self, v: float) -> None:
        self.spin.setValue(float(v))
        self._sync = True
        self.slider.setValue(self._to_pos(max(float(v), self.lo)))
        self._sync = False


class StudioPage(QWidget):
    """Build & Train."""

    title = "Build & Train"
    dirty_changed = Signal(bool)
    path_changed = Signal(object)

    def __init__(self, context):
        super().__init__()
        self.setObjectName("studioPage")
        self.context = context
        self.data = None                  # Dataset
        self._flat_cache: dict = {}       # name -> (x_train, y_train, x_test, y_test)
        self.net: Sequential | None = None
        self.optimizer = None
        self.trainer: Trainer | None = None
        self.history = History()
        self.built_key = None             # (spec json, seed, dataset) the current network came from
        self.path: str | None = None
        self.dirty = False
        self.run_epochs = 0
        self.run_start_epoch = 0
        self._last_heatmap = 0.0
        self._last_chart = 0.0
        self._deferred: list = []
        self._rate_points: list = []
        self._last_breakdown = 0.0
        self._last_step_info = None
        self._loading_settings = True       # no settings writes until the saved ones are restored

        self.worker = TrainingWorker(self)
        self.worker.steps.connect(self._on_steps)
        self.worker.epoch_done.connect(self._on_epoch)
        self.worker.state_changed.connect(self._on_state)
        self.worker.diverged.connect(self._on_diverged)
        self.worker.finished.connect(self._on_finished)
        self.worker.error.connect(lambda m: self.show_message(f"Training failed: {m}", error=True))

        self._build_ui()
        self._build_actions()
        self._restore_settings()
        self.rss_timer = QTimer(self, interval=500, timeout=self._tick_memory)
        self.rss_timer.start()
        self._update_buttons("idle")
        # Data and the first network load once the event loop runs (a missing dataset opens a dialog).
        QTimer.singleShot(0, self._initial_load)

    # ================================================================ UI
    def _build_ui(self) -> None:
        # ---- left: build panel
        left = QWidget(objectName="buildPanel")
        lv = QVBoxLayout(left)
        lv.setContentsMargins(6, 6, 6, 6)
        lv.setSpacing(8)

        data_box = QGroupBox("Data")
        dl = QVBoxLayout(data_box)
        self.dataset_combo = QComboBox(objectName="datasetCombo")
        for text, key in DATASETS:
            self.dataset_combo.addItem(text, key)
        self.dataset_combo.setToolTip("Which images to learn from (inputs and outputs follow it)")
        self.dataset_combo.setAccessibleName("Dataset")
        self.dataset_combo.currentIndexChanged.connect(self._dataset_selected)
        self.data_label = QLabel(wordWrap=True)
        self.data_label.setProperty("role", "hint")
        dl.addWidget(self.dataset_combo)
        dl.addWidget(self.data_label)
        lv.addWidget(data_box)

        net_box = QGroupBox("Network")
        nl = QVBoxLayout(net_box)
        self.editor = LayerEditor()
        self.editor.spec_changed.connect(self._spec_changed)
        nl.addWidget(self.editor)
        lv.addWidget(net_box)

        opt_box = QGroupBox("Training")
        form = QFormLayout(opt_box)
        form.setLabelAlignment(Qt.AlignRight)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(4)
        self.optimizer_combo = QComboBox(objectName="optimizerCombo")
        for text, key in OPTIMIZERS:
            self.optimizer_combo.addItem(text, key)
        self.optimizer_combo.setToolTip("SGD: plain steps. Momentum: steps that keep their direction. "
                                        "Adam: per-weight step sizes from gradient statistics.")
        self.optimizer_combo.setAccessibleName("Optimizer")
        self.lr = LogSlider(DEFAULT_LR["adam"])
        self.lr.setObjectName("learningRate")
        self.momentum = QDoubleSpinBox(objectName="momentumSpin", decimals=3, minimum=0.0, maximum=0.999,
                                       singleStep=0.01, value=0.9)
        self.momentum.setToolTip("How much of the previous step's direction is kept (changes apply while training)")
        self.nesterov = QCheckBox("Nesterov", objectName="nesterovCheck")
        mom_row = QHBoxLayout()
        mom_row.addWidget(self.momentum, 1)
        mom_row.addWidget(self.nesterov)
        self.mom_widget = QWidget()
        self.mom_widget.setLayout(mom_row)
        mom_row.setContentsMargins(0, 0, 0, 0)
        self.beta1 = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=0.999, singleStep=0.01, value=0.9)
        self.beta2 = QDoubleSpinBox(decimals=4, minimum=0.0, maximum=0.9999, singleStep=0.001, value=0.999)
        beta_row = QHBoxLayout()
        beta_row.setContentsMargins(0, 0, 0, 0)
        beta_row.addWidget(self.beta1)
        beta_row.addWidget(self.beta2)
        self.beta_widget = QWidget()
        self.beta_widget.setLayout(beta_row)
        self.beta_widget.setToolTip("Adam's decay rates for the gradient mean (β1) and its square (β2)")
        self.weight_decay = QDoubleSpinBox(objectName="weightDecaySpin", decimals=5, minimum=0.0, maximum=0.1,
                                           singleStep=0.0001, value=0.0)
        self.weight_decay.setToolTip("Pulls every weight a little towards zero at each step (L2 / AdamW)")
        self.batch_size = QSpinBox(objectName="batchSizeSpin", minimum=1, maximum=60000, value=128)
        self.batch_size.setToolTip("Images per update. Smaller: noisier, more updates per epoch.")
        self.epochs = QSpinBox(objectName="epochsSpin", minimum=1, maximum=1000, value=5)
        self.epochs.setToolTip("How many passes over the training images one click of Train makes")
        self.seed = QSpinBox(objectName="seedSpin", minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("Random seed: the same seed gives the same starting weights and batch order")
        self.cosine = QCheckBox("Cosine decay of the learning rate", objectName="cosineCheck", checked=True)
        self.cosine.setToolTip("Lower the learning rate smoothly to zero over the run: big steps first, "
                               "fine ones at the end")
        bs_row = QHBoxLayout()
        bs_row.setContentsMargins(0, 0, 0, 0)
        bs_row.addWidget(self.batch_size)
        bs_row.addWidget(QLabel("Epochs"))
        bs_row.addWidget(self.epochs)
        form.addRow("Optimizer", self.optimizer_combo)
        form.addRow("Learning rate", self.lr)
        self.mom_label = QLabel("Momentum")
        form.addRow(self.mom_label, self.mom_widget)
        self.beta_label = QLabel("β1, β2")
        form.addRow(self.beta_label, self.beta_widget)
        form.addRow("Weight decay", self.weight_decay)
        form.addRow("Batch size", bs_row)
        form.addRow("Seed", self.seed)
        form.addRow("", self.cosine)
        lv.addWidget(opt_box)
        tips = QLabel(
            "<b>Things to try</b><ul style='margin-left:-20px'>"
            "<li>Momentum with learning rate 1.0 instead of 0.1: a jumpy loss and a worse test "
            "accuracy.</li>"
            "<li>Preset <i>Deep sigmoid</i>, Gradients tab: the first layers barely learn.</li>"
            "<li>Batch size 8 vs 512: a noisy line or a smooth one, and a different speed.</li>"
            "<li>Weights tab after one epoch: strokes and blobs, each unit's own detector.</li></ul>",
            objectName="studioTips", wordWrap=True)
        tips.setTextFormat(Qt.RichText)
        tips.setProperty("role", "hint")
        lv.addWidget(tips)
        lv.addStretch(1)
        self.optimizer_combo.currentIndexChanged.connect(self._optimizer_selected)
        self.lr.valueChanged.connect(self._lr_changed)
        self.momentum.valueChanged.connect(self._momentum_changed)
        self.batch_size.valueChanged.connect(lambda _: self._training_context_changed())
        for w in (self.nesterov, self.cosine):
            w.toggled.connect(lambda _: self._save_settings())
        for w in (self.beta1, self.beta2, self.weight_decay, self.epochs, self.seed):
            w.valueChanged.connect(lambda _: self._save_settings())

        scroll = QScrollArea(objectName="buildScroll")
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        # wide enough for the content (no horizontal scrolling), never wider than needed
        scroll.setMinimumWidth(left.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 2)
        scroll.setMaximumWidth(scroll.minimumWidth() + 60)
        for combo in (self.dataset_combo, self.optimizer_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)

        # ---- right: controls, metrics, charts
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(6, 6, 6, 6)
        rv.setSpacing(6)
        controls = QHBoxLayout()
        controls.setSpacing(6)
        self.train_button = QPushButton("▶  Train", objectName="trainButton")
        self.train_button.setProperty("accent", True)
        self.pause_button = QPushButton("❚❚  Pause", objectName="pauseButton")
        self.step_button = QPushButton("Step", objectName="stepButton")
        self.stop_button = QPushButton("■  Stop", objectName="stopButton")
        self.reset_button = QPushButton("↺  Reset", objectName="resetButton")
        tips = {self.train_button: "Train for the chosen number of epochs (F5)",
                self.pause_button: "Pause or resume training (F6)",
                self.step_button: "Train exactly one batch, then pause (F7)",
                self.stop_button: "Stop after the current batch; the weights are kept (Shift+F5)",
                self.reset_button: "New starting weights from the seed: the same seed gives the same weights "
                                   "(Ctrl+R)"}
        for b, tip in tips.items():
            b.setToolTip(tip)
            b.setMinimumHeight(30)
            controls.addWidget(b)
        self.progress = QProgressBar(objectName="trainProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("ready")
        self.progress.setTextVisible(True)
        self.progress.setMinimumHeight(24)
        self.progress.setAccessibleName("Training progress")
        controls.addWidget(self.progress, 1)
        rv.addLayout(controls)

        cards = QHBoxLayout()
        cards.setSpacing(6)
        self.cards = {
            "epoch": MetricCard("epoch"),
            "loss": MetricCard("train loss", "training loss, smoothed as in the chart"),
            "test_loss": MetricCard("test loss"),
            "test_acc": MetricCard("test accuracy", "share of the 10,000 test images classified correctly"),
            "speed": MetricCard("samples / s"),
            "eta": MetricCard("time left"),
            "lr": MetricCard("learning rate"),
        }
        for c in self.cards.values():
            cards.addWidget(c, 1)
        rv.addLayout(cards)

        self.banner = QLabel(objectName="studioMessage", wordWrap=True)
        self.banner.setTextFormat(Qt.RichText)
        self.banner.hide()
        rv.addWidget(self.banner)

        self.loss_chart = LossChart()
        self.loss_plot = self.loss_chart.plot
        self.accuracy_plot = AccuracyChart()
        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.loss_chart)
        top.addWidget(self.accuracy_plot)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setChildrenCollapsible(False)

        self.tabs = QTabWidget(objectName="studioTabs")
        self.weight_view = WeightView()
        self.gradient_chart = GradientChart()
        self.results = ResultsView()
        self.memory_view = MemoryView()
        self.dataset_view = DatasetView()
        self.tabs.addTab(self.weight_view, "Weights")
        self.tabs.addTab(self.gradient_chart, "Gradients")
        self.tabs.addTab(self.results, "Mistakes && confusion")
        self.tabs.addTab(self.memory_view, "Memory")
        self.tabs.addTab(self.dataset_view, "Dataset")
        self.tabs.currentChanged.connect(lambda _: self._refresh_visible(force=True))

        vsplit = QSplitter(Qt.Vertical)
        vsplit.addWidget(top)
        vsplit.addWidget(self.tabs)
        vsplit.setStretchFactor(0, 2)
        vsplit.setStretchFactor(1, 3)
        vsplit.setChildrenCollapsible(False)
        rv.addWidget(vsplit, 1)

        outer = QSplitter(Qt.Horizontal)
        outer.addWidget(scroll)
        outer.addWidget(right)
        outer.setStretchFactor(1, 1)
        outer.setChildrenCollapsible(False)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(outer)

        self.train_button.clicked.connect(self.train)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.step_button.clicked.connect(self.step)
        self.stop_button.clicked.connect(self.stop)
        self.reset_button.clicked.connect(self.reset)
        for w in (self.train_button, self.pause_button, self.step_button, self.stop_button, self.reset_button):
            w.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.optimizer_combo.setCurrentIndex(self.optimizer_combo.findData("adam"))   # the CLI's default
        self._optimizer_selected(self.optimizer_combo.currentIndex(), keep_lr=True)

    def _build_actions(self) -> None:
        """Actions the main window puts in its Train menu (with shortcuts)."""
        def act(text, slot, shortcut):
            a = QAction(text, self, shortcut=QKeySequence(shortcut))
            a.setShortcutContext(Qt.WindowShortcut)
            a.triggered.connect(slot)
            self.addAction(a)
            return a
        self.train_action = act("&Train", self.train, "F5")
        self.pause_action = act("&Pause / Resume", self.toggle_pause, "F6")
        self.step_action = act("&Step One Batch", self.step, "F7")
        self.stop_action = act("S&top", self.stop, "Shift+F5")
        self.reset_action = act("&Reset Weights", self.reset, "Ctrl+R")
        self.menu_actions = [self.train_action, self.pause_action, self.step_action, self.stop_action,
                             self.reset_action]

    # ================================================================ settings
    def _settings_dict(self) -> dict:
        return {"dataset": self.dataset_combo.currentData(), "spec": self.editor.spec(),
                "optimizer": self.optimizer_combo.currentData(), "lr": self.lr.value(),
                "momentum": self.momentum.value(), "nesterov": self.nesterov.isChecked(),
                "beta1": self.beta1.value(), "beta2": self.beta2.value(),
                "weight_decay": self.weight_decay.value(), "batch_size": self.batch_size.value(),
                "epochs": self.epochs.value(), "seed": self.seed.value(), "cosine": self.cosine.isChecked(),
                "smoothing": self.loss_chart.smoothing}

    def _apply_settings_dict(self, s: dict) -> None:
        self._loading_settings = True
        try:
            if "dataset" in s:
                i = self.dataset_combo.findData(s["dataset"])
                if i >= 0:
                    self.dataset_combo.blockSignals(True)
                    self.dataset_combo.setCurrentIndex(i)
                    self.dataset_combo.blockSignals(False)
            if isinstance(s.get("spec"), dict):
                self.editor.set_spec(s["spec"])
            if "optimizer" in s:
                i = self.optimizer_combo.findData(str(s["optimizer"]).lower())
                if i >= 0:
                    self.optimizer_combo.setCurrentIndex(i)
            for key, widget in (("lr", self.lr), ("momentum", self.momentum), ("beta1", self.beta1),
                                ("beta2", self.beta2), ("weight_decay", self.weight_decay),
                                ("batch_size", self.batch_size), ("epochs", self.epochs), ("seed", self.seed)):
                if key in s and s[key] is not None:
                    widget.setValue(type(widget.value())(s[key]))
            if "nesterov" in s:
                self.nesterov.setChecked(bool(s["nesterov"]))
            if "cosine" in s:
                self.cosine.setChecked(bool(s["cosine"]))
            if "smoothing" in s:
                self.loss_chart.set_smoothing(float(s["smoothing"]))
        finally:
            self._loading_settings = False

    def _restore_settings(self) -> None:
        raw = self.context.settings.value("studio/settings")
        if raw:
            try:
                self._apply_settings_dict(json.loads(raw))
            except (ValueError, TypeError):
                pass
        self._loading_settings = False
        self.loss_chart.smoothing_changed.connect(lambda _: self._save_settings())

    def _save_settings(self) -> None:
        if getattr(self, "_loading_settings", False):
            return
        self.context.settings.setValue("studio/settings", json.dumps(self._settings_dict()))

    # ================================================================ data
    def _initial_load(self) -> None:
        if self.data is None:
            self.load_data(ask=False)
        if self.net is None and self.data is not None:
            self.build_network()

    def dataset_key(self) -> str:
        return self.dataset_combo.currentData()

    def load_data(self, ask: bool = True) -> bool:
        """Load the selected dataset (downloading on request). False + a message if unavailable."""
        name = self.dataset_key()
        if name in LIVE_DATASETS:
            self._flat_cache.pop(name, None)
        elif self.data is not None and self.data.name == name:
            return True
        if name not in self._flat_cache and name not in LIVE_DATASETS:
            from nnstudio.core.data import locate
            folder = locate(name, self.context.data_dir)
            shared = _LOADED.get((name, str(folder))) if folder is not None else None
            if shared is not None:
                self._flat_cache[name] = shared
        if name not in self._flat_cache:
            self.setCursor(Qt.WaitCursor)
            try:
                data, data_dir, error = obtain_dataset(name, self.context.data_dir, self, ask=ask)
            finally:
                self.unsetCursor()
            if data is None:
                self.data_label.setText(f"<span style='color:#d9534f'>{error}</span>")
                self.show_message(error + ("" if ask else " Press Train to download it."), error=True)
                return False
            if data_dir and data_dir != self.context.data_dir:
                self.context.data_dir = data_dir
                self.context.settings.setValue("data/dir", data_dir)
            x_train, y_train = data.flat("train")
            x_test, y_test = data.flat("test")
            self._flat_cache[name] = (data, x_train, y_train, x_test, y_test)
            if name not in LIVE_DATASETS:
                _LOADED[(name, str(data.source))] = self._flat_cache[name]
        self.data = self._flat_cache[name][0]
        d = self.data
        self.data_label.setText(f"{len(d.y_train):,} training and {len(d.y_test):,} test images, "
                                f"{d.input_size} pixels, {d.num_classes} classes")
        self.editor.set_io(d.input_size, d.num_classes)
        self.dataset_view.set_dataset(d)
        self.hide_message()
        return True

    def _dataset_selected(self, _index: int) -> None:
        if self.worker.running:
            self.stop(wait=True)
        self.data = None
        if self.load_data(ask=True):
            self.build_network()
        self._save_settings()

    # ================================================================ build
    def _spec_changed(self, spec: dict) -> None:
        error = self.editor.error
        self.train_button.setEnabled(not self.worker.running and not error)
        self.step_button.setEnabled(not error)
        self._save_settings()

    def _training_context_changed(self) -> None:
        buffers = {"sgd": 0, "momentum": 1, "adam": 2}[self.optimizer_combo.currentData()]
        self.editor.set_training_context(self.batch_size.value(), buffers)
        self._save_settings()

    def _optimizer_selected(self, _index: int, keep_lr: bool = False) -> None:
        key = self.optimizer_combo.currentData()
        is_mom, is_adam = key == "momentum", key == "adam"
        for w in (self.mom_label, self.mom_widget):
            w.setVisible(is_mom)
        for w in (self.beta_label, self.beta_widget):
            w.setVisible(is_adam)
        if not keep_lr and not getattr(self, "_loading_settings", False):
            self.lr.setValue(DEFAULT_LR[key])
        self._training_context_changed()

    def _current_key(self):
        return (json.dumps(self.editor.spec(), sort_keys=True), self.seed.value(), self.dataset_key())

    def optimizer_kwargs(self) -> dict:
        key = self.optimizer_combo.currentData()
        kw = {"lr": self.lr.value(), "weight_decay": self.weight_decay.value()}
        if key == "momentum":
            kw.update(momentum=self.momentum.value(), nesterov=self.nesterov.isChecked())
        elif key == "adam":
            kw.update(betas=(self.beta1.value(), self.beta2.value()))
        return kw

    def build_network(self) -> bool:
        """A fresh network from the editor and seed (same seed -> same initial weights)."""
        if self.data is None and not self.load_data(ask=False):
            return False
        if self.editor.error:
            self.show_message(self.editor.error, error=True)
            return False
        try:
            net = self.editor.build(self.seed.value())
        except (ValueError, MemoryError) as exc:
            self.show_message(f"Cannot build this network: {exc}", error=True)
            return False
        net.meta.update(dataset=self.data.name, class_names=list(self.data.class_names))
        self._install_network(net, History())
        self.built_key = self._current_key()
        self.dirty_set(False)
        self.context.show_status(f"New network {' → '.join(map(str, net.sizes()))}, "
                                 f"{net.num_parameters():,} parameters (seed {self.seed.value()})")
        return True

    def _install_network(self, net: Sequential, history: History) -> None:
        self.net = net
        self.optimizer = make_optimizer(self.optimizer_combo.currentData(), net.parameters(),
                                        **self.optimizer_kwargs())
        restore_optimizer(net, self.optimizer)   # an opened model continues with its Adam/Momentum state
        self.trainer = None
        self.history = history
        bpe = math.ceil(len(self._flat_cache[self.data.name][2]) / self.batch_size.value()) if self.data else 1
        bpe = int(history_bpe(history, bpe))
        self.loss_chart.set_history(history.step_loss, history.epochs, bpe)
        self.accuracy_plot.set_history(history.epochs)
        self.gradient_chart.reset(len(net.dense_layers()), bpe)
        self.weight_view.update_weights(net)
        self._update_breakdown(force=True)
        self._set_cards_from_history()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("ready" if not history.epochs else f"{len(history.epochs)} epochs trained")
        self.hide_message()
        self.context.set_model(net, self.data.name if self.data else None)

    # ================================================================ training control
    def _prepare_run(self, start_paused: bool) -> bool:
        """Make sure data, network, optimizer and a trainer exist for a run from the current settings."""
        if self.editor.error:
            self.show_message(self.editor.error, error=True)
            return False
        if not self.load_data(ask=True):
            return False
        if self.net is None or self.built_key != self._current_key():
            if self.net is not None and self.history.step_loss:
                pass  # the architecture/seed/dataset changed: train the new design from scratch
            if not self.build_network():
                return False
        key = self.optimizer_combo.currentData()
        if self.optimizer is None or self.optimizer.kind.lower() != key:
            self.optimizer = make_optimizer(key, self.net.parameters(), **self.optimizer_kwargs())
        else:
            self._apply_hyperparameters(self.optimizer)
        _, x_train, y_train, x_test, y_test = self._flat_cache[self.data.name]
        try:
            trainer = Trainer(self.net, self.optimizer, (x_train, y_train), (x_test, y_test),
                              batch_size=min(self.batch_size.value(), len(x_train)), epochs=self.epochs.value(),
                              seed=self.seed.value(), cosine=self.cosine.isChecked(), start_paused=start_paused)
        except ValueError as exc:
            self.show_message(str(exc), error=True)
            return False
        # continue the run: same history, epoch and step numbering
        trainer.history = self.history
        trainer.epoch = len(self.history.epochs)
        trainer.step_count = len(self.history.step_loss)
        self.trainer = trainer
        self.run_epochs = self.epochs.value()
        self.run_start_epoch = trainer.epoch
        self.loss_chart.set_batches_per_epoch(trainer.batches_per_epoch)
        self.loss_chart.set_x_extent(trainer.epoch + self.run_epochs)
        if self.gradient_chart.point_count() == 0:
            self.gradient_chart.reset(len(self.net.dense_layers()), trainer.batches_per_epoch)
        self.gradient_chart.batches_per_epoch = trainer.batches_per_epoch
        self.hide_message()
        self.loss_chart.diverged_line.hide()
        hyper = self.hyperparameters()
        autosave_path = self.autosave_path()
        net, history, optimizer = self.net, self.history, self.optimizer

        def autosave(_trainer) -> None:        # runs on the training thread after each epoch
            net.save(autosave_path, hyperparameters=hyper, history=history.to_dict(), optimizer=optimizer)

        self.worker.start(trainer, epochs=self.run_epochs, analysis_data=(x_test, y_test, self.data.class_names),
                          autosave=autosave)
        self.progress.setRange(0, self.run_epochs * trainer.batches_per_epoch)
        self.progress.setValue(0)
        self._run_t0 = time.perf_counter()
        self._rate_points = []
        self._update_buttons("paused" if start_paused else "running")
        return True

    def _apply_hyperparameters(self, opt) -> None:
        opt.lr = self.lr.value()
        opt.weight_decay = self.weight_decay.value()
        if hasattr(opt, "momentum"):
            opt.momentum = self.momentum.value()
            opt.nesterov = self.nesterov.isChecked()
        if hasattr(opt, "betas"):
            opt.betas = (self.beta1.value(), self.beta2.value())

    def train(self) -> None:
        if self.worker.running:
            if self.trainer is not None and self.trainer.paused:
                self.worker.resume()
            return
        self._prepare_run(start_paused=False)

    def toggle_pause(self) -> None:
        if not self.worker.running or self.trainer is None:
            return
        self._rate_points = []
        if self.trainer.paused:
            self.worker.resume()
            self._update_buttons("running")
        else:
            self.worker.pause()
            self._update_buttons("paused")

    def step(self) -> None:
        """One batch, then pause (starts a paused run if nothing is running)."""
        if not self.worker.running:
            if not self._prepare_run(start_paused=True):
                return
        self.worker.step(1)
        self._update_buttons("paused")

    def stop(self, wait: bool = False) -> None:
        if self.worker.running:
            self.worker.stop(wait=5.0 if wait else None)

    def reset(self) -> None:
        """Stop, then rebuild the network from the editor with the seed: same seed, same weights."""
        if self.worker.running:
            self.worker.stop(wait=10.0)
        self.build_network()
        self._update_buttons("idle")

    def _lr_changed(self, lr: float) -> None:
        if self.worker.running:
            self.worker.set_learning_rate(lr)
            self.cards["lr"].set(f"{lr:.3g}")
        self._save_settings()

    def _momentum_changed(self, m: float) -> None:
        if self.worker.running:
            self.worker.set_momentum(m)
        self._save_settings()

    def _update_buttons(self, state: str) -> None:
        running = self.worker.running
        paused = running and self.trainer is not None and self.trainer.paused
        self.train_button.setEnabled(not running and not self.editor.error)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("▶  Resume" if paused else "❚❚  Pause")
        self.step_button.setEnabled(not self.editor.error)
        self.stop_button.setEnabled(running)
        self.reset_button.setEnabled(True)
        self.dataset_combo.setEnabled(not running)
        self.editor.setEnabled(not running)
        for w in (self.optimizer_combo, self.batch_size, self.epochs, self.seed, self.cosine, self.beta1,
                  self.beta2, self.nesterov):
            w.setEnabled(not running)
        self.state = "paused" if paused else ("running" if running else state)

    # ================================================================ worker signals (UI thread)
    def _on_steps(self, batch) -> None:
        # Store every point; draw at most CHART_INTERVAL apart (painting is what costs the UI thread).
        now = time.perf_counter()
        paused = self.trainer is not None and self.trainer.paused
        draw = paused or now - self._last_chart >= CHART_INTERVAL
        self.loss_chart.add_steps(batch.first_step, batch.losses, redraw=draw)
        if len(batch.grad_steps):
            self.gradient_chart.add(batch.grad_steps, batch.grad_norms,
                                    redraw=draw and self.tabs.currentWidget() is self.gradient_chart)
        self._last_step_info = batch.last
        # speed over the last ~2 s of wall clock (the trainer's own figure counts paused time)
        if self._rate_points and (self.trainer is None or self.trainer.paused):
            self._rate_points.clear()
        self._rate_points.append((now, batch.last.step))
        while len(self._rate_points) > 2 and now - self._rate_points[0][0] > 2.0:
            self._rate_points.pop(0)
        self.dirty_set(True)
        if draw:
            self._last_chart = now
            self._show_step_info(batch.last)
            self._refresh_visible()

    def _show_step_info(self, info) -> None:
        if info is None:
            return
        done_batches = (info.epoch - 1 - self.run_start_epoch) * info.batches_per_epoch + info.batch
        total = self.run_epochs * info.batches_per_epoch
        self.progress.setValue(min(done_batches, total))
        speed = info.samples_per_sec
        if len(self._rate_points) >= 2:
            (t0, s0), (t1, s1) = self._rate_points[0], self._rate_points[-1]
            if t1 > t0 and s1 > s0:
                speed = (s1 - s0) * self.batch_size.value() / (t1 - t0)
        left = (total - done_batches) * self.batch_size.value() / speed if speed else 0
        self.progress.setFormat(f"epoch {info.epoch}/{self.run_start_epoch + self.run_epochs} · "
                                f"batch {info.batch}/{info.batches_per_epoch} · {format_seconds(left)} left")
        self.progress.setToolTip(f"{speed:,.0f} images per second")
        self.cards["epoch"].set(f"{info.epoch - 1 + info.batch / info.batches_per_epoch:.2f}")
        ema = self.loss_chart.ema.y[self.loss_chart.ema.n - 1] if self.loss_chart.ema.n else info.loss
        self.cards["loss"].set(fmt_loss(ema))
        self.cards["speed"].set(fmt_rate(speed))
        self.cards["eta"].set(format_seconds(left))
        self.cards["lr"].set(f"{info.lr:.3g}")

    def _refresh_visible(self, force: bool = False) -> None:
        """Heatmaps and the memory breakdown: redraw a few times a second, only when shown."""
        now = time.perf_counter()
        tab = self.tabs.currentWidget()
        if tab is self.weight_view and (force or now - self._last_heatmap >= HEATMAP_INTERVAL):
            self._last_heatmap = now
            self.weight_view.update_weights(self.net)
        if force or now - self._last_breakdown >= BREAKDOWN_INTERVAL:
            self._update_breakdown(force=True)

    def _update_breakdown(self, force: bool = False) -> None:
        if self.net is None:
            return
        self._last_breakdown = time.perf_counter()
        self.memory_view.set_breakdown(model_memory_breakdown(self.net, self.optimizer, self.batch_size.value()))

    def _tick_memory(self) -> None:
        self.memory_view.sample_rss()

    def _on_epoch(self, info, analysis) -> None:
        self.loss_chart.add_test_point(info.epoch, info.test_loss)
        self.loss_chart.redraw()
        self._show_step_info(self._last_step_info)
        self.cards["test_loss"].set(fmt_loss(info.test_loss))
        self.cards["test_acc"].set(f"{info.test_accuracy:.2%}" if info.test_accuracy is not None else "–")
        self.dirty_set(True)
        # The rest in separate event-loop turns, so timers and input get in between.
        self._defer(lambda: self.accuracy_plot.add_epoch(info.epoch, info.train_accuracy, info.test_accuracy))
        if analysis is not None and self.data is not None:
            x_test = self.data.x_test
            self._defer(lambda: self.results.show_analysis(analysis, x_test, info.epoch))
        self._defer(lambda: (self.weight_view.update_weights(self.net), self._update_breakdown(force=True)))
        self._defer(lambda: self.context.set_model(self.net, self.data.name if self.data else None))
        self.context.show_status(f"Epoch {info.epoch}: test accuracy {info.test_accuracy:.2%}, "
                                 f"{info.samples_per_sec:,.0f} samples/s ({info.seconds:.1f} s); autosaved")

    def _defer(self, fn) -> None:
        self._deferred.append(fn)
        if len(self._deferred) == 1:
            QTimer.singleShot(0, self._run_deferred)

    def _run_deferred(self, everything: bool = False) -> None:
        while self._deferred:
            self._deferred.pop(0)()
            if not everything:
                break
        if self._deferred:
            QTimer.singleShot(0, self._run_deferred)

    def _on_state(self, state: str) -> None:
        self._update_buttons(state)

    def _on_diverged(self, message: str) -> None:
        steps = len(self.history.step_loss)
        self.loss_chart.mark_diverged(steps + 1)
        self.show_message("<b>The loss became NaN: training diverged.</b> " + message, error=True)
        self.context.show_status("Training diverged; the last good weights were kept")

    def _on_finished(self, state: str) -> None:
        self._run_deferred(everything=True)
        self._update_buttons(state)
        self.loss_chart.redraw()
        self.gradient_chart.redraw()
        self._show_step_info(self._last_step_info)
        self.weight_view.update_weights(self.net)
        self._update_breakdown(force=True)
        self.cards["eta"].set("–")
        if state == "finished":
            self.progress.setValue(self.progress.maximum())
            self.progress.setFormat(f"done: {len(self.history.epochs)} epochs trained")
        elif state == "stopped":
            self.progress.setFormat(f"stopped at epoch {len(self.history.epochs) + 1}, "
                                    f"step {len(self.history.step_loss)}")
        elif state == "diverged":
            self.progress.setFormat("diverged: weights restored")
        self.context.set_model(self.net, self.data.name if self.data else None)

    # ================================================================ messages
    def show_message(self, text: str, error: bool = False) -> None:
        colour = "#d9534f" if error else "#2e7dd7"
        self.banner.setStyleSheet(f"QLabel {{ border: 1px solid {colour}; border-left: 5px solid {colour}; "
                                  f"border-radius: 4px; padding: 6px; }}")
        self.banner.setText(text)
        self.banner.show()
        self.context.show_status(strip_tags(text))

    def hide_message(self) -> None:
        self.banner.hide()
        self.banner.setText("")

    def message(self) -> str:
        return self.banner.text() if self.banner.isVisible() or self.banner.text() else ""

    def _set_cards_from_history(self) -> None:
        for c in self.cards.values():
            c.set("–")
        if self.history.epochs:
            e = self.history.epochs[-1]
            self.cards["epoch"].set(str(e["epoch"]))
            self.cards["loss"].set(fmt_loss(e["train_loss"]))
            if e.get("test_loss") is not None:
                self.cards["test_loss"].set(fmt_loss(e["test_loss"]))
            if e.get("test_accuracy") is not None:
                self.cards["test_acc"].set(f"{e['test_accuracy']:.2%}")
            self.cards["speed"].set(fmt_rate(e["samples_per_sec"]))
        self.cards["lr"].set(f"{self.lr.value():.3g}")

    # ================================================================ files
    def dirty_set(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)

    def hyperparameters(self) -> dict:
        spec = self.editor.spec()
        opt_key = self.optimizer_combo.currentData()
        return {"optimizer": opt_key, **self.optimizer_kwargs(), "batch_size": self.batch_size.value(),
                "epochs": self.epochs.value(), "seed": self.seed.value(), "cosine": self.cosine.isChecked(),
                "layers": [h["units"] for h in spec["hidden"]],
                "activation": [h["activation"] for h in spec["hidden"]], "init": spec["init"],
                "dropout": [h["dropout"] for h in spec["hidden"]], "smoothing": self.loss_chart.smoothing}

    def autosave_path(self) -> Path:
        base = Path(self.context.settings.fileName()).parent
        if not base.exists():
            base.mkdir(parents=True, exist_ok=True)
        return base / "nnstudio-autosave.npz"

    def save_model(self, path: str) -> bool:
        if self.net is None:
            self.show_message("Nothing to save yet: build or train a network first.", error=True)
            return False
        resume = self.worker.running and self.trainer is not None and not self.trainer.paused
        if resume:          # a consistent snapshot: let the batch in flight finish first
            self.worker.pause()
            deadline = time.perf_counter() + 2.0
            n = -1
            while n != len(self.history.step_loss) and time.perf_counter() < deadline:
                n = len(self.history.step_loss)
                time.sleep(0.02)
        try:
            return self._write_model(path)
        finally:
            if resume:
                self.worker.resume()

    def _write_model(self, path: str) -> bool:
        self.net.meta.update(dataset=self.data.name if self.data else self.net.meta.get("dataset"),
                             class_names=list(self.data.class_names) if self.data else self.net.meta.get("class_names"))
        try:
            self.net.save(path, hyperparameters=self.hyperparameters(), history=self.history.to_dict(),
                          optimizer=self.optimizer)
        except OSError as exc:
            self.show_message(f"Could not save {path}: {exc.strerror or exc}", error=True)
            return False
        self.path = str(path)
        self.path_changed.emit(self.path)
        self.dirty_set(False)
        self.context.show_status(f"Saved {Path(path).name}")
        return True

    def open_model(self, path: str) -> bool:
        """Load a model with its settings and history; on a bad file say why and change nothing."""
        try:
            net = Sequential.load(path)
        except ModelFileError as exc:
            self.show_message(f"Could not open the model: {exc}", error=True)
            return False
        dataset = net.meta.get("dataset") or "mnist"
        if self.dataset_combo.findData(dataset) < 0:
            self.show_message(f"Could not open the model: it was trained on {dataset!r}, which this page does "
                              "not offer.", error=True)
            return False
        if self.worker.running:
            self.worker.stop(wait=10.0)
        hyper = dict(net.meta.get("hyperparameters") or {})
        self._loading_settings = True
        try:
            i = self.dataset_combo.findData(dataset)
            self.dataset_combo.blockSignals(True)
            self.dataset_combo.setCurrentIndex(i)
            self.dataset_combo.blockSignals(False)
            if self.data is None or self.data.name != dataset:
                self.data = None
        finally:
            self._loading_settings = False
        settings = {k: hyper[k] for k in ("optimizer", "lr", "momentum", "nesterov", "weight_decay", "batch_size",
                                          "epochs", "seed", "cosine", "smoothing") if k in hyper}
        if "betas" in hyper:
            settings["beta1"], settings["beta2"] = hyper["betas"]
        settings["spec"] = spec_from_network(net)
        self._apply_settings_dict(settings)
        if not self.load_data(ask=True):
            return False
        if net.input_size != self.data.input_size or net.output_size != self.data.num_classes:
            self.show_message(f"Could not open the model: {net.sizes()} does not fit {dataset}.", error=True)
            return False
        self._install_network(net, History.from_dict(net.meta.get("history")))
        self.built_key = self._current_key()
        self.path = str(path)
        self.path_changed.emit(self.path)
        self.dirty_set(False)
        self._save_settings()
        self.context.show_status(f"Opened {Path(path).name}: {' → '.join(map(str, net.sizes()))}, "
                                 f"{len(self.history.epochs)} epochs of history")
        return True

    def new_model(self) -> None:
        if self.worker.running:
            self.worker.stop(wait=10.0)
        self.editor.set_spec(DEFAULT_SPEC)
        self.path = None
        self.path_changed.emit(None)
        self.build_network()

    def choose_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", str(Path.home()), "nnstudio models (*.npz)")
        return path or None

    def choose_save_path(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, "Save model as", self.path or str(Path.home() / "model.npz"),
                                              "nnstudio models (*.npz)")
        if path and not path.endswith(".npz"):
            path += ".npz"
        return path or None

    def shutdown(self) -> None:
        self.rss_timer.stop()
        self.worker.shutdown()
        self._save_settings()


def history_bpe(history: History, default: int) -> int:
    """Batches per epoch of a saved run (steps / epochs), so its x axis is in epochs again."""
    if history.epochs and history.step_loss:
        return max(1, round(len(history.step_loss) / len(history.epochs)))
    return max(1, default)


def fmt_loss(v) -> str:
    """A loss for a metric card: 4 decimals, or 3 significant digits when it has blown up."""
    if v is None:
        return "–"
    if not np.isfinite(v):
        return str(v)
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:.3g}"


def format_seconds(s: float) -> str:
    if not s or not np.isfinite(s):
        return "–"
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s} s"


def strip_tags(text: str) -> str:
    import re
    return re.sub(r"<[^>]+>", "", text)

