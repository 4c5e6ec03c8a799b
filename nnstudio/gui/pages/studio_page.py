"""Build & Train: design a network, train it on MNIST or Fashion-MNIST, watch it learn.

The page is a view: the run's settings are a core
:class:`~nnstudio.core.training.config.RunConfig` (the same object the CLI builds
from its flags), and the network, optimizer and trainer are core objects. The
:class:`~nnstudio.gui.jobs.TrainingWorker` runs the trainer on its own thread and
hands this page throttled updates, which it only draws.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core import paths
from nnstudio.core.data import arrays_for, cached_arrays
from nnstudio.core.fmt import format_loss, format_rate, format_seconds
from nnstudio.core.interop import open_model as open_model_file
from nnstudio.core.memory import training_footprint
from nnstudio.core.nn import DEFAULT_LR, ModelFileError, Sequential, restore_optimizer, save_model
from nnstudio.core.nn.serialization import check_destination
from nnstudio.core.training import History, RunConfig, Trainer

from ..jobs import TrainingWorker
from ..run_recording import record_window_run
from ..undo import SettingsEdit, ask_to_save
from ..widgets.controls import LimitedDoubleSpinBox, LimitedSpinBox, LogSlider, MetricCard
from ..widgets.dataset_view import DatasetView
from ..widgets.download_dialog import obtain_dataset
from ..widgets.layer_editor import DEFAULT_SPEC, LayerEditor, spec_from_network
from ..widgets.memory_view import MemoryView
from ..widgets.studio_results import ResultsView
from ..widgets.things_to_try import ThingsToTry
from ..widgets.training_charts import AccuracyChart, GradientChart, LossChart
from ..widgets.weight_view import WeightView

DATASETS = (
    ("MNIST digits", "mnist"),
    ("Fashion-MNIST clothing", "fashion-mnist"),
    ("My digits (drawn on the Draw page)", "my-digits"),
)
OPTIMIZERS = (("SGD", "sgd"), ("Momentum", "momentum"), ("Adam", "adam"))
CHART_INTERVAL = 0.2  # seconds between chart redraws while training (5 per second)
HEATMAP_INTERVAL = 0.5  # seconds between weight-heatmap redraws while training
BREAKDOWN_INTERVAL = 1.0
# Parameters: a larger network is not built on the UI thread unasked (not at launch from a saved design, not
# as the Weights tab's preview of an edited one); Train, Step or Reset build it.
EAGER_BUILD_MAX_PARAMS = 5_000_000
LEGACY_AUTOSAVE = "nnstudio-autosave.npz"  # beside the settings file, where the first version kept it


class StudioPage(QWidget):
    """Build & Train."""

    title = "Build & Train"
    dirty_changed = Signal(bool)
    path_changed = Signal(object)

    def __init__(self, context):
        super().__init__()
        self.setObjectName("studioPage")
        self.context = context
        self.data = None  # Dataset
        self.arrays = None  # its TrainingArrays (float32 inputs), shared through the core's cache
        self.net: Sequential | None = None
        self.optimizer = None
        self.trainer: Trainer | None = None
        self.history = History()
        self.built_key = None  # (spec json, seed, dataset) the current network came from
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
        self._loading_settings = True  # no settings writes until the saved ones are restored
        self.state = "idle"
        # network and hyperparameter edits, undoable (the Edit menu; Ctrl+Z / Ctrl+Shift+Z)
        self.undo_stack = QUndoStack(self)
        self._undo_state: dict | None = None
        self._applying_undo = False

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
        self._reset_undo()
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
        self.optimizer_combo.setToolTip(
            "SGD: plain steps. Momentum: steps that keep their direction. "
            "Adam: per-weight step sizes from gradient statistics."
        )
        self.optimizer_combo.setAccessibleName("Optimizer")
        self.lr = LogSlider(DEFAULT_LR["adam"])
        self.lr.setObjectName("learningRate")
        self.momentum = LimitedDoubleSpinBox(
            "momentum",
            0.9,
            "How much of the previous step's direction is kept (changes apply while training)",
            objectName="momentumSpin",
        )
        self.nesterov = QCheckBox("Nesterov", objectName="nesterovCheck")
        mom_row = QHBoxLayout()
        mom_row.addWidget(self.momentum, 1)
        mom_row.addWidget(self.nesterov)
        self.mom_widget = QWidget()
        self.mom_widget.setLayout(mom_row)
        mom_row.setContentsMargins(0, 0, 0, 0)
        self.beta1 = LimitedDoubleSpinBox("beta1", 0.9, "Adam's decay rate for the gradient mean", step=0.01)
        self.beta2 = LimitedDoubleSpinBox("beta2", 0.999, "Adam's decay rate for the squared gradient", step=0.001)
        beta_row = QHBoxLayout()
        beta_row.setContentsMargins(0, 0, 0, 0)
        beta_row.addWidget(self.beta1)
        beta_row.addWidget(self.beta2)
        self.beta_widget = QWidget()
        self.beta_widget.setLayout(beta_row)
        self.beta_widget.setToolTip("Adam's decay rates for the gradient mean (β1) and its square (β2)")
        self.weight_decay = LimitedDoubleSpinBox(
            "weight_decay",
            0.0,
            "Pulls every weight a little towards zero at each step (L2 / AdamW)",
            step=0.0001,
            objectName="weightDecaySpin",
        )
        self.batch_size = LimitedSpinBox(
            "batch_size",
            128,
            "Images per update. Smaller: noisier, more updates "
            "per epoch. (A batch larger than the dataset uses the whole dataset.)",
            objectName="batchSizeSpin",
        )
        self.epochs = LimitedSpinBox(
            "epochs", 5, "How many passes over the training images one click of Train makes", objectName="epochsSpin"
        )
        self.seed = LimitedSpinBox(
            "seed",
            0,
            "Random seed: the same seed gives the same starting weights and batch order",
            objectName="seedSpin",
        )
        self.cosine = QCheckBox("Cosine decay of the learning rate", objectName="cosineCheck", checked=True)
        self.cosine.setToolTip(
            "Lower the learning rate smoothly to zero over the run: big steps first, fine ones at the end"
        )
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
        self.tips = ThingsToTry()  # each comparison tip can run its pair of runs (the Runs page shows them)
        lv.addWidget(self.tips)
        lv.addStretch(1)
        self.optimizer_combo.currentIndexChanged.connect(self._optimizer_selected)
        self.lr.valueChanged.connect(self._lr_changed)
        self.momentum.valueChanged.connect(self._momentum_changed)
        self.batch_size.valueChanged.connect(lambda _: self._training_context_changed())
        for w in (self.nesterov, self.cosine):
            w.toggled.connect(lambda _: self._save_settings())
        for w in (self.beta1, self.beta2, self.weight_decay, self.epochs, self.seed):
            w.valueChanged.connect(lambda _: self._save_settings())
        self.seed.valueChanged.connect(lambda _: self._sync_weight_view())
        for w in self._limited_controls():
            w.problem_changed.connect(lambda _: self._limits_changed())

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
        tips = {
            self.train_button: "Train for the chosen number of epochs (F5)",
            self.pause_button: "Pause or resume training (F6)",
            self.step_button: "Train exactly one batch, then pause (F7)",
            self.stop_button: "Stop after the current batch; the weights are kept (Shift+F5)",
            self.reset_button: "New starting weights from the seed: the same seed gives the same weights (Ctrl+R)",
        }
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
        for chart in (self.loss_chart, self.accuracy_plot, self.gradient_chart):
            self.epochs.valueChanged.connect(chart.set_planned_epochs)
            chart.set_planned_epochs(self.epochs.value())

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
        self.optimizer_combo.setCurrentIndex(self.optimizer_combo.findData("adam"))  # the CLI's default
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
        self.menu_actions = [
            self.train_action,
            self.pause_action,
            self.step_action,
            self.stop_action,
            self.reset_action,
        ]

    # ================================================================ settings
    def _limited_controls(self) -> list:
        return [
            self.lr,
            self.momentum,
            self.beta1,
            self.beta2,
            self.weight_decay,
            self.batch_size,
            self.epochs,
            self.seed,
        ]

    def limit_problems(self) -> list[str]:
        """Settings outside the limits table (the ones that apply to the chosen optimizer), one sentence each."""
        key = self.optimizer_combo.currentData()
        skip = set() if key == "momentum" else {id(self.momentum)}
        if key != "adam":
            skip |= {id(self.beta1), id(self.beta2)}
        return [w.problem for w in self._limited_controls() if w.problem and id(w) not in skip]

    def _limits_changed(self) -> None:
        problems = self.limit_problems()
        if problems:
            self.show_message("<b>Cannot train with these settings:</b> " + "; ".join(problems) + ".", error=True)
        elif self.banner.isVisible() and "Cannot train with these settings" in self.banner.text():
            self.hide_message()
        self._update_buttons(self.state)

    def run_config(self) -> RunConfig:
        """The run the controls describe: the same object ``nnstudio train`` builds from its flags."""
        spec = self.editor.spec()
        hidden = spec["hidden"]
        return RunConfig(
            dataset=self.dataset_combo.currentData(),
            hidden=[h["units"] for h in hidden],
            activation=[h["activation"] for h in hidden] or ["relu"],
            dropout=[h["dropout"] for h in hidden] or [0.0],
            init=spec["init"],
            optimizer=self.optimizer_combo.currentData(),
            lr=self.lr.value(),
            momentum=self.momentum.value(),
            nesterov=self.nesterov.isChecked(),
            betas=(self.beta1.value(), self.beta2.value()),
            weight_decay=self.weight_decay.value(),
            batch_size=self.batch_size.value(),
            epochs=self.epochs.value(),
            seed=self.seed.value(),
            schedule="cosine" if self.cosine.isChecked() else "constant",
        )

    def apply_run_config(self, cfg: RunConfig, spec: dict | None = None) -> None:
        """Show ``cfg`` in the controls (``spec``: the editor's layer rows, if known more exactly)."""
        self._loading_settings = True
        try:
            i = self.dataset_combo.findData(cfg.dataset)
            if i >= 0:
                self.dataset_combo.blockSignals(True)
                self.dataset_combo.setCurrentIndex(i)
                self.dataset_combo.blockSignals(False)
            self.editor.set_spec(spec if spec is not None else cfg.spec(784, 10).to_editor())
            i = self.optimizer_combo.findData(cfg.optimizer)
            if i >= 0:
                self.optimizer_combo.setCurrentIndex(i)
            self.lr.setValue(cfg.base_lr)
            self.momentum.setValue(cfg.momentum)
            self.nesterov.setChecked(cfg.nesterov)
            self.beta1.setValue(cfg.betas[0])
            self.beta2.setValue(cfg.betas[1])
            self.weight_decay.setValue(cfg.weight_decay)
            self.batch_size.setValue(cfg.batch_size)
            self.epochs.setValue(cfg.epochs)
            self.seed.setValue(cfg.seed)
            self.cosine.setChecked(cfg.cosine)
        finally:
            self._loading_settings = False

    def _settings_dict(self) -> dict:
        return {
            "dataset": self.dataset_combo.currentData(),
            "spec": self.editor.spec(),
            "config": self.run_config().to_hyperparameters(),
            "smoothing": self.loss_chart.smoothing,
        }

    def _apply_settings_dict(self, s: dict) -> None:
        if isinstance(s.get("config"), dict):
            cfg = RunConfig.from_hyperparameters(s["config"], s.get("dataset"))
        else:  # the first version's flat settings
            legacy = dict(s)
            if "beta1" in legacy and "beta2" in legacy:
                legacy["betas"] = [legacy["beta1"], legacy["beta2"]]
            cfg = RunConfig.from_hyperparameters(legacy, s.get("dataset"))
        self.apply_run_config(cfg, s["spec"] if isinstance(s.get("spec"), dict) else None)
        if "smoothing" in s:
            self.loss_chart.set_smoothing(float(s["smoothing"]))

    def _restore_settings(self) -> None:
        raw = self.context.settings.value("studio/settings")
        if raw:
            try:
                self._apply_settings_dict(json.loads(raw))
            except (ValueError, TypeError, KeyError):
                pass  # settings from an unknown version: start from the defaults
        self._loading_settings = False
        self.loss_chart.smoothing_changed.connect(lambda _: self._save_settings())

    def _save_settings(self) -> None:
        if getattr(self, "_loading_settings", False):
            return
        settings = self._settings_dict()
        self.context.settings.setValue("studio/settings", json.dumps(settings))
        self._record_edit(settings)

    # ================================================================ undo / redo
    @staticmethod
    def _undoable(settings: dict) -> dict:
        """What undo covers: the layer rows and the training settings (not the dataset or the chart)."""
        config = {k: v for k, v in settings["config"].items() if k not in ("layers", "activation", "dropout", "init")}
        return {"spec": settings["spec"], "config": config}

    def _record_edit(self, settings: dict) -> None:
        if self._applying_undo or not hasattr(self, "undo_stack"):
            return
        state = self._undoable(settings)
        if self._undo_state is not None and state != self._undo_state:
            self.undo_stack.push(SettingsEdit(self._apply_undo_state, self._undo_state, state))
        self._undo_state = state

    def _apply_undo_state(self, state: dict) -> None:
        self._applying_undo = True
        try:
            config = dict(state["config"])
            cfg = RunConfig.from_hyperparameters(config, self.dataset_key())
            self.apply_run_config(cfg, state["spec"])
            self._update_buttons(self.state)
            self._save_settings()
        finally:
            self._applying_undo = False
        self._undo_state = state

    def _reset_undo(self) -> None:
        """A new document (a model opened, a new one built): earlier edits are not undoable into it."""
        self.undo_stack.clear()
        self._undo_state = self._undoable(self._settings_dict())

    # ================================================================ data
    def _initial_load(self) -> None:
        if self.data is None:
            self.load_data(ask=False)
        if self.net is None and self.data is not None:
            spec = self.editor.mlp_spec()
            if spec.num_parameters() > EAGER_BUILD_MAX_PARAMS:
                # A large saved design is built when asked for (Train, Step, Reset), not while the window opens.
                self.show_message(
                    f"The saved network {spec.describe()} has {spec.num_parameters():,} parameters: it is built "
                    "when you press Train, Step or Reset.",
                )
                return
            self.build_network()

    def dataset_key(self) -> str:
        return self.dataset_combo.currentData()

    def load_data(self, ask: bool = True) -> bool:
        """Load the selected dataset (downloading on request). False + a message if unavailable."""
        name = self.dataset_key()
        live = name == "my-digits"  # the user adds digits while the app runs: reload every time
        if not live and self.data is not None and self.data.name == name:
            return True
        arrays = None if live else cached_arrays(name, self.context.data_dir)
        if arrays is None:
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
            arrays = arrays_for(data)
        self.arrays = arrays
        self.data = d = arrays.dataset
        self.data_label.setText(
            f"{len(d.y_train):,} training and {len(d.y_test):,} test images, "
            f"{d.input_size} pixels, {d.num_classes} classes"
        )
        self.editor.set_io(d.input_size, d.num_classes)
        self._training_context_changed()
        self.dataset_view.set_dataset(d)
        self.hide_message()
        return True

    def _dataset_selected(self, _index: int) -> None:
        if not self.confirm_discard("Switching to another dataset"):
            previous = self.dataset_combo.findData(self.data.name if self.data is not None else None)
            if previous >= 0:
                self.dataset_combo.blockSignals(True)
                self.dataset_combo.setCurrentIndex(previous)
                self.dataset_combo.blockSignals(False)
            return
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
        self._sync_weight_view()

    def _sync_weight_view(self) -> None:
        """The Weights tab shows the network the editor describes: the built one, or, while the edited
        one is not built yet, its fresh starting weights (what Train will start from), and says so."""
        view = self.weight_view
        if self.net is None or self.built_key == self._current_key():
            view.set_status("")
            view.update_weights(self.net)
            return
        not_built = "<b>The edited network is not built yet.</b> "
        est = self.editor.estimate
        if self.editor.error or (est is not None and est.count > EAGER_BUILD_MAX_PARAMS):
            view.set_status(not_built + "Train builds it; these heatmaps are the previous network's.")
            return
        key = self._current_key()
        if getattr(self, "_preview_key", None) != key:
            self._preview_key, self._preview = key, self.editor.build(self.seed.value())
        view.update_weights(self._preview)
        view.set_status(
            not_built + f"These are its fresh starting weights (seed {self.seed.value()}); Train builds it from "
            "exactly these. The charts still show the previous network's run."
        )

    def _training_context_changed(self) -> None:
        self.editor.set_training_context(
            self.batch_size.value(),
            self.optimizer_combo.currentData(),
            self.arrays.nbytes if self.arrays is not None else 0,
        )
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
        self.context.show_status(
            f"New network {' → '.join(map(str, net.sizes()))}, "
            f"{net.num_parameters():,} parameters (seed {self.seed.value()})"
        )
        return True

    def _install_network(self, net: Sequential, history: History) -> None:
        self.net = net
        self.optimizer = self.run_config().make_optimizer(net.parameters())
        restore_optimizer(net, self.optimizer)  # an opened model continues with its Adam/Momentum state
        self.trainer = None
        self.history = history
        n_train = len(self.arrays.y_train) if self.arrays is not None else 1
        bpe = int(history_bpe(history, -(-n_train // max(1, self.batch_size.value()))))
        self.loss_chart.set_history(history.step_loss, history.epochs, bpe, history.step_index)
        self.accuracy_plot.set_history(history.epochs)
        self.gradient_chart.reset(len(net.dense_layers()), bpe)
        self.weight_view.update_weights(net)
        self.weight_view.set_status("")
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
        problems = self.limit_problems()
        if problems:
            self.show_message("<b>Cannot train with these settings:</b> " + "; ".join(problems) + ".", error=True)
            return False
        if self.editor.error:
            self.show_message(self.editor.error, error=True)
            return False
        if not self.load_data(ask=True):
            return False
        if self.net is None or self.built_key != self._current_key():
            # the architecture, seed or dataset changed: train the new design from scratch
            if not self.confirm_discard("Training the changed network from scratch"):
                return False
            if not self.build_network():
                return False
        cfg = self.run_config()
        if self.optimizer is None or self.optimizer.kind.lower() != cfg.optimizer:
            self.optimizer = cfg.make_optimizer(self.net.parameters())
        else:
            self._apply_hyperparameters(self.optimizer, cfg)
        arrays = self.arrays
        try:
            # the history continues the run: epoch and step numbering go on from it
            trainer = cfg.make_trainer(
                self.net, self.optimizer, arrays.train, arrays.test, history=self.history, start_paused=start_paused
            )
        except ValueError as exc:
            self.show_message(str(exc), error=True)
            return False
        self.trainer = trainer
        self.run_epochs = cfg.epochs
        self.run_start_epoch = trainer.epoch
        self.loss_chart.set_batches_per_epoch(trainer.batches_per_epoch)
        self.loss_chart.set_x_extent(trainer.epoch + self.run_epochs)
        if self.gradient_chart.point_count() == 0:
            self.gradient_chart.reset(len(self.net.dense_layers()), trainer.batches_per_epoch)
        self.gradient_chart.batches_per_epoch = trainer.batches_per_epoch
        self.hide_message()
        self.loss_chart.diverged_line.hide()
        hyper = self.hyperparameters()
        autosave_path = paths.autosave_path()
        net, history, optimizer = self.net, self.history, self.optimizer

        def autosave(trainer) -> None:  # runs on the training thread after each epoch
            if not trainer.guard.healthy:
                return  # the loss is climbing: keep the last good autosave rather than replace it with this
            autosave_path.parent.mkdir(parents=True, exist_ok=True)
            save_model(net, autosave_path, hyperparameters=hyper, history=history.to_dict(), optimizer=optimizer)

        self.recorder = record_window_run(self, trainer, cfg)  # the Runs page and `nnstudio runs` show it
        self.worker.start(
            trainer,
            epochs=self.run_epochs,
            analysis_data=(arrays.x_test, arrays.y_test, self.data.class_names),
            autosave=autosave,
        )
        self.progress.setRange(0, self.run_epochs * trainer.batches_per_epoch)
        self.progress.setValue(0)
        self._run_t0 = time.perf_counter()
        self._rate_points = []
        self._update_buttons("paused" if start_paused else "running")
        return True

    @staticmethod
    def _apply_hyperparameters(opt, cfg: RunConfig) -> None:
        """Carry changed settings over to the optimizer that keeps its state (momentum, Adam's moments):
        the same keyword arguments the config builds an optimizer of its kind with."""
        for name, value in cfg.optimizer_kwargs().items():
            setattr(opt, name, value)

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
        """Stop, then rebuild the network from the editor with the seed: same seed, same weights.
        Trained, unsaved work is only thrown away if the user says so. The fresh network is no longer
        what the model file holds: the page becomes untitled."""
        if not self.confirm_discard("Reset"):
            return
        if self.worker.running:
            self.worker.stop(wait=10.0)
        if self.build_network() and self.path is not None:
            self.path = None
            self.path_changed.emit(None)
        self._update_buttons("idle")

    def confirm_discard(self, what: str) -> bool:
        """True if it is fine to throw away the current network: nothing trained is unsaved, or the user
        chose Save (and it was saved) or Discard in the dialog; False for Cancel."""
        if not self.dirty or self.net is None:
            return True
        answer = ask_to_save(self, what)
        if answer == QMessageBox.Save:
            path = self.path or self.choose_save_path()
            return bool(path) and self.save_model(path)
        return answer == QMessageBox.Discard

    def _lr_changed(self, lr: float) -> None:
        if self.worker.running and not self.lr.problem:
            self.worker.set_learning_rate(lr)
            self.cards["lr"].set(f"{lr:.3g}")
        self._save_settings()

    def _momentum_changed(self, m: float) -> None:
        if self.worker.running and not self.momentum.problem:
            self.worker.set_momentum(m)
        self._save_settings()

    def _update_buttons(self, state: str) -> None:
        running = self.worker.running
        paused = running and self.trainer is not None and self.trainer.paused
        blocked = bool(self.editor.error) or bool(self.limit_problems())
        self.train_button.setEnabled(not running and not blocked)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("▶  Resume" if paused else "❚❚  Pause")
        self.step_button.setEnabled(not blocked)
        self.stop_button.setEnabled(running)
        self.reset_button.setEnabled(True)
        self.dataset_combo.setEnabled(not running)
        self.editor.setEnabled(not running)
        for w in (
            self.optimizer_combo,
            self.batch_size,
            self.epochs,
            self.seed,
            self.cosine,
            self.beta1,
            self.beta2,
            self.nesterov,
        ):
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
            self.gradient_chart.add(
                batch.grad_steps, batch.grad_norms, redraw=draw and self.tabs.currentWidget() is self.gradient_chart
            )
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
        self.progress.setFormat(
            f"epoch {info.epoch}/{self.run_start_epoch + self.run_epochs} · "
            f"batch {info.batch}/{info.batches_per_epoch} · {format_seconds(left)} left"
        )
        self.progress.setToolTip(f"{speed:,.0f} images per second")
        self.cards["epoch"].set(f"{info.epoch - 1 + info.batch / info.batches_per_epoch:.2f}")
        ema = self.loss_chart.ema.y[self.loss_chart.ema.n - 1] if self.loss_chart.ema.n else info.loss
        self.cards["loss"].set(format_loss(ema))
        self.cards["speed"].set(format_rate(speed))
        self.cards["eta"].set(format_seconds(left))
        self.cards["lr"].set(f"{info.lr:.3g}")

    def _refresh_visible(self, force: bool = False) -> None:
        """Heatmaps and the memory breakdown: redraw a few times a second, only when shown."""
        now = time.perf_counter()
        tab = self.tabs.currentWidget()
        if tab is self.weight_view and (force or now - self._last_heatmap >= HEATMAP_INTERVAL):
            self._last_heatmap = now
            self._sync_weight_view()
        if force or now - self._last_breakdown >= BREAKDOWN_INTERVAL:
            self._update_breakdown(force=True)

    def _update_breakdown(self, force: bool = False) -> None:
        if self.net is None:
            return
        self._last_breakdown = time.perf_counter()
        estimate, measured = training_footprint(
            self.net,
            self.optimizer,
            max(1, self.batch_size.value()),
            snapshots=Trainer.SNAPSHOTS,
            dataset_bytes=self.arrays.nbytes if self.arrays is not None else 0,
        )
        self.memory_view.set_breakdown(estimate, measured)

    def _tick_memory(self) -> None:
        self.memory_view.sample_rss()

    def _on_epoch(self, info, analysis) -> None:
        self.loss_chart.add_test_point(info.epoch, info.test_loss)
        self.loss_chart.redraw()
        self._show_step_info(self._last_step_info)
        self.cards["test_loss"].set(format_loss(info.test_loss))
        self.cards["test_acc"].set(f"{info.test_accuracy:.2%}" if info.test_accuracy is not None else "–")
        self.dirty_set(True)
        # The rest in separate event-loop turns, so timers and input get in between.
        self._defer(lambda: self.accuracy_plot.add_epoch(info.epoch, info.train_accuracy, info.test_accuracy))
        if analysis is not None and self.data is not None:
            x_test = self.data.x_test
            self._defer(lambda: self.results.show_analysis(analysis, x_test, info.epoch))
        self._defer(lambda: (self.weight_view.update_weights(self.net), self._update_breakdown(force=True)))
        self._defer(lambda: self.context.set_model(self.net, self.data.name if self.data else None))
        self.context.show_status(
            f"Epoch {info.epoch}: test accuracy {info.test_accuracy:.2%}, "
            f"{info.samples_per_sec:,.0f} samples/s ({info.seconds:.1f} s); autosaved"
        )

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
        collapse = self.trainer.collapse if self.trainer is not None else None
        step = collapse.step if collapse is not None else self.history.steps
        if collapse is not None and collapse.kind != "nan":
            title = "Training collapsed: the guard stopped it before the loss became NaN."
            self.loss_chart.mark_diverged(step + 1, "collapsed")
        else:
            title = "The loss became NaN: training diverged."
            self.loss_chart.mark_diverged(step + 1)
        self.show_message(f"<b>{title}</b> " + message, error=True)
        self.context.show_status("Training stopped by the guard; the best weights seen were kept")

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
            self.progress.setFormat(f"stopped at epoch {len(self.history.epochs) + 1}, step {self.history.steps}")
        elif state == "diverged":
            self._set_cards_from_history()  # the kept weights' figures, not those of the wrecked steps
            collapse = self.trainer.collapse if self.trainer is not None else None
            kept = collapse.restored_step if collapse is not None else None
            what = "collapsed" if collapse is not None and collapse.kind != "nan" else "diverged"
            self.progress.setFormat(
                f"{what}: " + (f"best weights (step {kept}) kept" if kept is not None else "weights kept")
            )
        self.context.set_model(self.net, self.data.name if self.data else None)

    # ================================================================ messages
    def show_message(self, text: str, error: bool = False) -> None:
        colour = "#d9534f" if error else "#2e7dd7"
        self.banner.setStyleSheet(
            f"QLabel {{ border: 1px solid {colour}; border-left: 5px solid {colour}; "
            f"border-radius: 4px; padding: 6px; }}"
        )
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
            self.cards["loss"].set(format_loss(e["train_loss"]))
            if e.get("test_loss") is not None:
                self.cards["test_loss"].set(format_loss(e["test_loss"]))
            if e.get("test_accuracy") is not None:
                self.cards["test_acc"].set(f"{e['test_accuracy']:.2%}")
            self.cards["speed"].set(format_rate(e["samples_per_sec"]))
        self.cards["lr"].set(f"{self.lr.value():.3g}")

    # ================================================================ files
    def dirty_set(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)

    def hyperparameters(self) -> dict:
        """What a model file records: the run config's hyperparameters (the base learning rate and the
        schedule, as the CLI writes them) and the chart's smoothing."""
        return {**self.run_config().to_hyperparameters(), "smoothing": self.loss_chart.smoothing}

    def autosave_path(self) -> Path:
        """The autosaved run in the per-user folder (or where the first version kept it, if only that exists)."""
        path = paths.autosave_path()
        legacy = Path(self.context.settings.fileName()).parent / LEGACY_AUTOSAVE
        return legacy if not path.exists() and legacy.exists() else path

    def save_model(self, path: str) -> bool:
        if self.net is None:
            self.show_message("Nothing to save yet: build or train a network first.", error=True)
            return False
        trainer = self.trainer
        resume = self.worker.running and trainer is not None and not trainer.paused
        if resume:  # a consistent snapshot: the batch in flight finishes first
            trainer.pause(wait=True)
        try:
            return self._write_model(path)
        finally:
            if resume:
                self.worker.resume()

    def _write_model(self, path: str) -> bool:
        try:
            check_destination(path)
        except ModelFileError as exc:
            self.show_message(f"Could not save: {exc}.", error=True)
            return False
        self.net.meta.update(
            dataset=self.data.name if self.data else self.net.meta.get("dataset"),
            class_names=list(self.data.class_names) if self.data else self.net.meta.get("class_names"),
        )
        try:
            save_model(
                self.net,
                path,
                hyperparameters=self.hyperparameters(),
                history=self.history.to_dict(),
                optimizer=self.optimizer,
            )
        except (OSError, MemoryError) as exc:
            self.show_message(f"Could not save {path}: {getattr(exc, 'strerror', None) or exc}", error=True)
            return False
        self.path = str(path)
        if getattr(self, "recorder", None) is not None:
            self.recorder.model_saved(path)  # the weights of the latest run
        self.path_changed.emit(self.path)
        self.dirty_set(False)
        self.context.show_status(f"Saved {Path(path).name}")
        return True

    def open_model(self, path: str) -> bool:
        """Load a model (ours, or an ONNX one made elsewhere) with its settings and history;
        on a bad file say why and change nothing."""
        try:
            net = open_model_file(path)
        except Exception as exc:  # a bad file of any kind is one line; the current model stays
            self.show_message(f"Could not open the model: {open_error_text(exc, path)}", error=True)
            return False
        dataset = net.meta.get("dataset") or "mnist"
        if self.dataset_combo.findData(dataset) < 0:
            self.show_message(
                f"Could not open the model: it was trained on {dataset!r}, which this page does not offer.", error=True
            )
            return False
        if self.worker.running:
            self.worker.stop(wait=10.0)
        hyper = dict(net.meta.get("hyperparameters") or {})
        cfg = RunConfig.from_hyperparameters(hyper, dataset, net)
        if self.data is None or self.data.name != dataset:
            self.data = None
        self.apply_run_config(cfg, spec_from_network(net))
        if isinstance(hyper.get("smoothing"), (int, float)):
            self.loss_chart.set_smoothing(float(hyper["smoothing"]))
        if not self.load_data(ask=True):
            return False
        if net.input_size != self.data.input_size or net.output_size != self.data.num_classes:
            self.show_message(f"Could not open the model: {net.sizes()} does not fit {dataset}.", error=True)
            return False
        self._install_network(net, History.from_dict(net.meta.get("history")))
        self.built_key = self._current_key()
        # An imported file (.onnx) is not where Save writes nnstudio's own format: Save asks for a name.
        imported = Path(path).suffix.lower() != ".npz"
        self.path = None if imported else str(path)
        self.path_changed.emit(str(path))
        self.dirty_set(False)
        self._save_settings()
        self._reset_undo()
        self.context.show_status(
            f"Opened {Path(path).name}: {' → '.join(map(str, net.sizes()))}, "
            f"{len(self.history.epochs)} epochs of history"
        )
        return True

    def new_model(self) -> None:
        if self.worker.running:
            self.worker.stop(wait=10.0)
        self.editor.set_spec(DEFAULT_SPEC)
        self.path = None
        self.path_changed.emit(None)
        self.build_network()
        self._reset_undo()

    def choose_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open model",
            str(Path.home()),
            "Models (*.npz *.onnx);;nnstudio models (*.npz);;ONNX models (*.onnx)",
        )
        return path or None

    def choose_save_path(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model as", self.path or str(Path.home() / "model.npz"), "nnstudio models (*.npz)"
        )
        if path and not path.endswith(".npz"):
            path += ".npz"
        return path or None

    def shutdown(self) -> None:
        self.rss_timer.stop()
        self.worker.shutdown()
        self._save_settings()


def history_bpe(history: History, default: int) -> int:
    """Batches per epoch of a saved run (steps / epochs), so its x axis is in epochs again."""
    if history.epochs and history.steps:
        return max(1, round(history.steps / len(history.epochs)))
    return max(1, default)


def open_error_text(exc: BaseException, path) -> str:
    """One line for any failure to open a model file (the core's message when it has one)."""
    if isinstance(exc, ModelFileError):
        return str(exc)
    return f"{Path(path).name} could not be read ({type(exc).__name__}: {exc})"


def strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)
