"""Step through backpropagation: one sample, one forward/backward/update, one operation at a time.

Every number shown comes from a :class:`~nnstudio.core.lessons.backprop.Trace` recorded by
the core from the real engine. Where the learner is in it lives in a core
:class:`~nnstudio.core.lessons.backprop_walkthrough.Walkthrough`, and every sentence comes from
:mod:`nnstudio.core.lessons.backprop_narration`; this page holds the widgets that show them.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.data import DataError, load_dataset, to_inputs
from nnstudio.core.interop import open_model
from nnstudio.core.lessons import backprop_narration as narration
from nnstudio.core.lessons.backprop import (
    BackpropTracer,
    Trace,
    TraceError,
    check_traceable,
    default_loss,
    find_mistakes,
    fmt,
    tiny_problem,
)
from nnstudio.core.lessons.backprop_walkthrough import Walkthrough, is_tiny
from nnstudio.core.nn import Sequential
from nnstudio.gui.theme import sign_legend_html
from nnstudio.gui.widgets.controls import ElidedLabel
from nnstudio.gui.widgets.matrix_view import MatrixView, square_side
from nnstudio.gui.widgets.network_diagram import DiagramState, NetworkDiagram
from nnstudio.resources import pretrained_model_path

NETWORKS = (
    ("xor", "XOR · 2-2-1"),
    ("toy", "Two clusters · 2-3-2"),
    ("studio", "Studio model"),
    ("mnist", "MNIST · 784-128-10"),
)
OPTIMIZERS = (("sgd", "SGD"), ("momentum", "Momentum"), ("adam", "Adam"))


class BackpropPage(QWidget):
    """Walk through one training step of a network on one sample."""

    title = "Backprop"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("backpropPage")
        self.context = context
        self.walk = Walkthrough()  # the traced step, the current stop and the picked weight
        self.tracer: BackpropTracer | None = None
        self.net: Sequential | None = None  # the network being traced (its original weights)
        self.problem = None  # TinyProblem for the built-in nets
        self._datasets: dict = {}
        self._mistakes: dict = {}
        self._sample_x = None
        self._sample_y = None
        self._sample_text = ""
        self._building = False
        self._studio_stale = False

        # -- controls -----------------------------------------------------------
        self.network_combo = QComboBox(objectName="backpropNetworkCombo")
        for key, text in NETWORKS:
            self.network_combo.addItem(text, key)
        self.network_combo.setToolTip(
            "The network to step through: a tiny built-in one where every weight is "
            "visible, the model built in the studio, or an MNIST-sized network"
        )
        self.source_combo = QComboBox(objectName="backpropSampleSource")
        for combo in (self.network_combo, self.source_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.sample_spin = QSpinBox(objectName="backpropSampleSpin")
        self.sample_spin.setToolTip("Which sample of the chosen set")
        self.random_button = QPushButton("Random", objectName="backpropRandomButton")
        self.optimizer_combo = QComboBox(objectName="backpropOptimizerCombo")
        for key, text in OPTIMIZERS:
            self.optimizer_combo.addItem(text, key)
        self.lr_spin = QDoubleSpinBox(objectName="backpropLrSpin")
        self.lr_spin.setDecimals(4)
        self.lr_spin.setRange(0.0001, 10.0)
        self.lr_spin.setSingleStep(0.01)
        self.lr_spin.setToolTip("Learning rate of the update step")

        top = QHBoxLayout()
        for label, widget in (("Network", self.network_combo), ("Sample", self.source_combo)):
            top.addWidget(QLabel(label))
            top.addWidget(widget)
        top.addWidget(self.sample_spin)
        top.addWidget(self.random_button)
        top.addSpacing(16)
        top.addWidget(QLabel("Optimizer"))
        top.addWidget(self.optimizer_combo)
        top.addWidget(QLabel("Learning rate"))
        top.addWidget(self.lr_spin)
        top.addStretch(1)

        self.reset_button = QPushButton("Reset", objectName="backpropResetButton")
        self.prev_button = QPushButton("◀ Previous", objectName="backpropPrevButton")
        self.next_button = QPushButton("Next ▶", objectName="backpropNextButton")
        self.run_button = QPushButton("Run to end", objectName="backpropRunButton")
        self.repeat_button = QPushButton("Repeat with the new weights", objectName="backpropRepeatButton")
        self.reset_button.setToolTip("Start over from the network's original weights (Home)")
        self.prev_button.setToolTip("Previous operation (Left arrow)")
        self.next_button.setToolTip("Next operation (Right arrow)")
        self.run_button.setToolTip("Jump to the end of this training step (End)")
        self.repeat_button.setToolTip(
            "Train once more on the same sample, starting from the updated weights and the optimizer's state"
        )
        # one line, elided when narrow (the full title is its tooltip and heads the details panel)
        self.step_label = ElidedLabel(objectName="backpropStepLabel")
        font = self.step_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.step_label.setFont(font)
        self.step_label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        nav = QHBoxLayout()
        for b in (self.reset_button, self.prev_button, self.next_button, self.run_button, self.repeat_button):
            nav.addWidget(b)
        nav.addSpacing(12)
        nav.addWidget(self.step_label, 1)

        self.info_label = QLabel(objectName="backpropInfoLabel")
        self.info_label.setWordWrap(True)

        # -- views ----------------------------------------------------------------
        self.diagram = NetworkDiagram()
        self.diagram.tooltip = self._tooltip
        self.diagram.weight_clicked.connect(self.select_weight)
        self.matrix_view = MatrixView(
            on_pick_input=self._pick_input, on_pick_neuron=self._pick_matrix, on_pick_pixel=self._pick_pixel
        )
        self.view_stack = QStackedWidget(objectName="backpropViewStack")
        self.view_stack.addWidget(self.diagram)
        self.view_stack.addWidget(self.matrix_view)
        self.legend = QLabel(objectName="backpropLegend")
        self.legend.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.view_stack, 1)
        left_layout.addWidget(self.legend)

        self.details = QTextBrowser(objectName="backpropDetails")
        self.details.setOpenLinks(False)

        self.weight_block = QComboBox(objectName="backpropWeightLayer")
        self.weight_block.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.weight_from = QSpinBox(objectName="backpropWeightFrom")
        self.weight_to = QSpinBox(objectName="backpropWeightTo")
        self.weight_from.setToolTip("Input (neuron of the layer below, or pixel) the weight comes from")
        self.weight_to.setToolTip("Neuron the weight feeds (the neuron picker)")
        self.chain_label = QTextBrowser(objectName="backpropChainText")
        self.chain_label.setOpenLinks(False)
        chain_box = QGroupBox("Chain rule for one weight")
        grid = QGridLayout(chain_box)
        grid.addWidget(QLabel("Layer"), 0, 0)
        grid.addWidget(self.weight_block, 0, 1)
        grid.addWidget(QLabel("from"), 0, 2)
        grid.addWidget(self.weight_from, 0, 3)
        grid.addWidget(QLabel("to neuron"), 0, 4)
        grid.addWidget(self.weight_to, 0, 5)
        grid.setColumnStretch(6, 1)
        grid.addWidget(self.chain_label, 1, 0, 1, 7)

        right = QSplitter(Qt.Vertical)
        right.addWidget(self.details)
        right.addWidget(chain_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)

        body = QSplitter(Qt.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        body.setSizes([620, 420])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(nav)
        layout.addWidget(self.info_label)
        layout.addWidget(body, 1)

        # -- wiring -----------------------------------------------------------------
        self.network_combo.currentIndexChanged.connect(self._network_changed)
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.sample_spin.valueChanged.connect(self._sample_changed)
        self.random_button.clicked.connect(self._random_sample)
        self.optimizer_combo.currentIndexChanged.connect(self._optimizer_changed)
        self.lr_spin.valueChanged.connect(lambda _v: self._rebuild_if_ready())
        self.reset_button.clicked.connect(self.reset)
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.run_button.clicked.connect(self.run_to_end)
        self.repeat_button.clicked.connect(self.repeat)
        self.weight_block.currentIndexChanged.connect(self._weight_block_changed)
        self.weight_from.valueChanged.connect(lambda _v: self._weight_spins_changed())
        self.weight_to.valueChanged.connect(lambda _v: self._weight_spins_changed())
        for key, slot in (
            (Qt.Key_Right, self.next),
            (Qt.Key_Left, self.previous),
            (Qt.Key_Home, self.reset_steps),
            (Qt.Key_End, self.run_to_end),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.setFocusPolicy(Qt.StrongFocus)
        context.model_changed.connect(self._model_changed)
        context.drawing_changed.connect(self._drawing_changed)

        self._update_studio_item()
        self._network_changed()

    def _drawing_changed(self, _drawing) -> None:
        # Drawing happens on the Draw page, so this page is hidden: reload quietly for next time.
        if self.source_combo.currentData() == "drawing" and not self.isVisible():
            self._source_changed()

    # -- choosing the network and the sample ---------------------------------------------
    def _network_key(self) -> str:
        return self.network_combo.currentData()

    def _update_studio_item(self) -> None:
        item = self.network_combo.model().item(2)
        model = self.context.model
        ok, why = True, ""
        if model is None:
            ok, why = False, "No model in the studio yet: build or load one first."
        else:
            try:
                check_traceable(model)
            except TraceError as exc:
                ok, why = False, f"The studio model cannot be traced: {exc}."
        item.setEnabled(ok)
        item.setToolTip(why or "The network currently built or loaded in the studio")
        if not ok and self._network_key() == "studio":
            self.network_combo.setCurrentIndex(0)

    def _model_changed(self, _model) -> None:
        self._update_studio_item()
        self._mistakes.pop("studio", None)
        if self._network_key() == "studio":
            # Don't yank the walk-through away mid-step: say it, trace the new weights on Reset.
            self._studio_stale = True
            self.info_label.setText("The studio model changed. Press Reset to trace its new weights.")

    def _network_changed(self, *_args) -> None:
        key = self._network_key()
        self._building = True
        try:
            self.problem = None
            if key in ("xor", "toy"):
                self.problem = tiny_problem(key)
                self.net = self.problem.net
            elif key == "studio":
                self.net = self.context.model
                self._studio_stale = False
            else:
                self.net = self._mnist_network()
            self._fill_sources()
            self._set_default_lr()
            blocks = len(self.net.dense_layers())
            self.weight_block.blockSignals(True)
            self.weight_block.clear()
            for b, d in enumerate(self.net.dense_layers()):
                self.weight_block.addItem(f"{b + 1} ({d.in_features}→{d.out_features})", b)
            self.weight_block.setCurrentIndex(blocks - 1)
            self.weight_block.blockSignals(False)
            self.view_stack.setCurrentIndex(0 if is_tiny(self.net.sizes()) else 1)
            # A new network: nothing picked yet.
            self.walk = Walkthrough(input_names=self.problem.input_names if self.problem is not None else None)
        finally:
            self._building = False
        self._load_sample()
        self.reset()

    def _mnist_network(self) -> Sequential:
        path = pretrained_model_path("mnist")
        if path.exists():
            try:
                net = open_model(path)
                self.network_combo.setItemText(3, "MNIST · 784-128-10 (trained)")
                return net
            except Exception:  # a broken shipped file: fall back to a fresh network
                pass
        self.network_combo.setItemText(3, "MNIST · 784-128-10 (untrained)")
        return Sequential.mlp([784, 128, 10], seed=0)

    def _dataset_name(self) -> str:
        if self._network_key() == "studio":
            return self.context.model_dataset or self.net.meta.get("dataset") or "mnist"
        return "mnist"

    def _dataset(self):
        name = self._dataset_name()
        if name not in self._datasets:
            try:
                self._datasets[name] = load_dataset(name, self.context.data_dir, download=False)
            except (DataError, OSError, ValueError) as exc:
                self._datasets[name] = None
                self.context.show_status(f"{name} is not available ({exc}); using random inputs")
        return self._datasets[name]

    def _fill_sources(self) -> None:
        self.source_combo.blockSignals(True)
        self.source_combo.clear()
        if self.problem is not None:
            self.source_combo.addItem("Toy points", "toy")
        else:
            if self.net.input_size == 784 and self._dataset() is not None:
                self.source_combo.addItem("Training set", "train")
                self.source_combo.addItem("Test set", "test")
                self.source_combo.addItem("Test-set mistakes", "mistakes")
            if self.net.input_size == 784:
                self.source_combo.addItem("My drawing (Draw page)", "drawing")
            self.source_combo.addItem("Random input", "random")
        self.source_combo.setCurrentIndex(0)
        if self.source_combo.findData("mistakes") >= 0 and self._is_trained():
            # A trained network is nearly sure of most samples (gradients ~0); its mistakes teach more.
            self.source_combo.setCurrentIndex(self.source_combo.findData("mistakes"))
        self.source_combo.blockSignals(False)
        self._update_sample_range()
        if self.problem is not None:
            # XOR's first point is (0, 0): no first-layer weight would get a gradient. Start on point 1.
            self.sample_spin.blockSignals(True)
            self.sample_spin.setValue(1)
            self.sample_spin.blockSignals(False)

    def _is_trained(self) -> bool:
        key = self._network_key()
        return (
            key == "studio"
            or bool(self.net.meta.get("history"))
            or (key == "mnist" and "(trained)" in self.network_combo.itemText(3))
        )

    def _update_sample_range(self) -> None:
        source = self.source_combo.currentData()
        n = 1000
        if source == "toy":
            n = len(self.problem.x)
        elif source in ("train", "test"):
            ds = self._dataset()
            n = len(ds.y_train if source == "train" else ds.y_test)
        elif source == "mistakes":
            n = max(1, len(self._mistake_indices()))
        elif source == "drawing":
            n = self.net.output_size  # the spin box is the label the drawing should have
        self.sample_spin.blockSignals(True)
        self.sample_spin.setRange(0, max(0, n - 1))
        self.sample_spin.setValue(min(self.sample_spin.value(), n - 1))
        self.sample_spin.blockSignals(False)

    def _mistake_indices(self) -> np.ndarray:
        key = self._network_key()
        if key not in self._mistakes:
            ds = self._dataset()
            self._mistakes[key] = find_mistakes(self.net, to_inputs(ds.x_test), ds.y_test)
        return self._mistakes[key]

    def _set_default_lr(self) -> None:
        opt = self.optimizer_combo.currentData()
        if self.problem is not None:
            lr = 0.05 if opt == "adam" else self.problem.lr
        else:
            lr = 0.001 if opt == "adam" else 0.05
        self.lr_spin.blockSignals(True)
        self.lr_spin.setValue(lr)
        self.lr_spin.blockSignals(False)

    def _load_sample(self) -> None:
        """Set ``_sample_x``/``_sample_y`` from the chosen source and index."""
        source = self.source_combo.currentData()
        idx = self.sample_spin.value()
        n_out = self.net.output_size
        names = self._class_names()
        if source == "toy":
            x, y = self.problem.x[idx], self.problem.y[idx]
            label = names[int(y)] if names else f"target {fmt(float(y))}"
            self._sample_text = f"Point {idx}: ({fmt(float(x[0]))}, {fmt(float(x[1]))}) → {label}"
        elif source in ("train", "test", "mistakes"):
            ds = self._dataset()
            split = "train" if source == "train" else "test"
            real = idx
            if source == "mistakes":
                wrong = self._mistake_indices()
                if len(wrong) == 0:
                    self.info_label.setText(
                        "This network makes no mistakes on the test set; showing test sample 0 instead."
                    )
                    real = 0
                else:
                    real = int(wrong[min(idx, len(wrong) - 1)])
            images = ds.x_train if split == "train" else ds.x_test
            labels = ds.y_train if split == "train" else ds.y_test
            x = to_inputs(images[real : real + 1])[0]
            y = int(labels[real])
            what = {"train": "Training", "test": "Test", "mistakes": "Misclassified test"}[source]
            self._sample_text = f"{what} image #{real}, label {names[y] if names else y}"
        elif source == "drawing":
            drawing = self.context.drawing
            x = drawing if drawing is not None else np.zeros(self.net.input_size)
            y = idx
            if drawing is None:
                self._sample_text = "No drawing yet: draw a digit on the Draw page (a blank input is used)"
            else:
                guess = self.context.drawing_guess
                self._sample_text = (
                    f"Your drawing from the Draw page, target {names[y] if names else y}"
                    + (f" (the Draw page's model read it as {guess})" if guess is not None else "")
                    + "; set the number to the digit you meant"
                )
        else:
            rng = np.random.default_rng(idx)
            size = self.net.input_size
            x = (rng.random(size) < 0.2) * rng.random(size) if size >= 64 else rng.standard_normal(size)
            y = idx % n_out if n_out > 1 else float(rng.integers(0, 2))
            self._sample_text = f"Random input #{idx} (seed {idx}), target {y}"
        self._sample_x, self._sample_y = np.asarray(x, dtype=np.float64), y

    def _class_names(self):
        if self.problem is not None:
            return self.problem.class_names
        ds = self._datasets.get(self._dataset_name())
        names = self.net.meta.get("class_names") or (list(ds.class_names) if ds is not None else None)
        return list(names) if names and len(names) == self.net.output_size else None

    def _source_changed(self, *_args) -> None:
        if self._building:
            return
        self._update_sample_range()
        self._load_sample()
        self.reset()

    def _sample_changed(self, *_args) -> None:
        if self._building:
            return
        self._load_sample()
        self.reset()

    def _random_sample(self) -> None:
        hi = self.sample_spin.maximum()
        self.sample_spin.setValue(int(np.random.default_rng().integers(0, hi + 1)) if hi > 0 else 0)

    def _optimizer_changed(self, *_args) -> None:
        self._set_default_lr()
        self._rebuild_if_ready()

    def _rebuild_if_ready(self) -> None:
        if not self._building:
            self.reset()

    # -- recording --------------------------------------------------------------------
    def reset(self) -> bool:
        """Trace a fresh step from the network's original weights; go to the first step."""
        if self._network_key() == "studio" and self._studio_stale:
            # A different studio model: new sizes, samples and weight pickers, so set up from scratch.
            self._studio_stale = False
            self._network_changed()
            return self.trace is not None
        opt = self.optimizer_combo.currentData()
        lr = float(self.lr_spin.value())
        loss = self.problem.loss if self.problem is not None else default_loss(self.net)
        try:
            tracer = BackpropTracer(self.net, opt, lr=lr, loss=loss, class_names=self._class_names())
            trace = tracer.record(self._sample_x, self._sample_y)
        except (TraceError, ValueError) as exc:
            self._clear(f"Cannot trace this step: {exc}")
            return False
        self.tracer = tracer
        self.info_label.setText(self._sample_text)
        self._set_trace(trace, 0)
        return True

    def _clear(self, message: str) -> None:
        """No trace to show (bad sample or network): say why, and disable stepping."""
        self.walk.clear()
        self.tracer = None
        self.info_label.setText(message)
        self.step_label.setText("Nothing to step through")
        for button in (self.prev_button, self.next_button, self.run_button, self.repeat_button):
            button.setEnabled(False)
        self.details.setHtml(narration.message_html(message))
        self.chain_label.setHtml("")

    def repeat(self) -> None:
        """One more training step on the same sample, from the updated weights and optimizer state."""
        if self.tracer is None:
            return
        try:
            trace = self.tracer.record(self._sample_x, self._sample_y)
        except (TraceError, ValueError) as exc:
            self.info_label.setText(f"Cannot trace this step: {exc}")
            return
        self.info_label.setText(
            f"{self._sample_text} · training step {trace.t} on this sample (loss before it: {fmt(trace.loss)})"
        )
        self._set_trace(trace, 0)

    def _set_trace(self, trace: Trace, step: int) -> None:
        self.repeat_button.setEnabled(True)
        self.walk.sample_text = self._sample_text
        self.walk.load(trace, step)
        self._sync_weight_spins()
        self._show()

    # -- navigation (the state is in self.walk) -----------------------------------------
    @property
    def trace(self) -> Trace | None:
        return self.walk.trace

    @property
    def step(self) -> int:
        return self.walk.step

    @property
    def selected(self) -> tuple[int, int, int] | None:
        return self.walk.selected

    @property
    def n_steps(self) -> int:
        return self.walk.n_steps

    def current_step(self):
        return self.walk.current

    def go_to(self, step: int) -> None:
        if self.trace is None:
            return
        self.walk.go_to(step)
        self._sync_weight_spins()  # the pick follows the layer being worked on
        self._show()

    def next(self) -> None:
        self.go_to(self.step + 1)

    def previous(self) -> None:
        self.go_to(self.step - 1)

    def run_to_end(self) -> None:
        self.go_to(self.n_steps - 1)

    def reset_steps(self) -> None:
        self.go_to(0)

    def keyPressEvent(self, event) -> None:
        # The shortcuts cover focus inside the page; this covers the page itself having focus.
        keys = {
            Qt.Key_Right: self.next,
            Qt.Key_Left: self.previous,
            Qt.Key_Home: self.reset_steps,
            Qt.Key_End: self.run_to_end,
        }
        if event.key() in keys:
            keys[event.key()]()
            event.accept()
        else:
            super().keyPressEvent(event)

    # -- the weight whose chain rule is shown ---------------------------------------------
    def select_weight(self, block: int, i: int, j: int) -> None:
        if self.trace is None:
            return
        self.walk.select_weight(block, i, j)
        self._sync_weight_spins()
        self._show()

    def _sync_weight_spins(self) -> None:
        b, i, j = self.selected
        W = self.trace.dense(b).W
        for w in (self.weight_block, self.weight_from, self.weight_to):
            w.blockSignals(True)
        self.weight_block.setCurrentIndex(b)
        self.weight_from.setRange(0, W.shape[0] - 1)
        self.weight_to.setRange(0, W.shape[1] - 1)
        self.weight_from.setValue(i)
        self.weight_to.setValue(j)
        for w in (self.weight_block, self.weight_from, self.weight_to):
            w.blockSignals(False)

    def _weight_block_changed(self, *_args) -> None:
        if self.trace is None or self.weight_block.currentIndex() < 0:
            return
        b = self.weight_block.currentIndex()
        self.select_weight(b, *self.trace.interesting_weight(b))

    def _weight_spins_changed(self) -> None:
        if self.trace is None:
            return
        self.select_weight(self.weight_block.currentIndex(), self.weight_from.value(), self.weight_to.value())

    def _pick_input(self, row: int, col: int) -> None:
        if self.trace is None:
            return
        b, _i, j = self.selected
        n_in = self.trace.dense(b).W.shape[0]
        side = square_side(n_in) if b == 0 else None
        i = row * side + col if side else col
        if 0 <= i < n_in:
            self.select_weight(b, i, j)

    def _pick_pixel(self, row: int, col: int) -> None:
        """A click on the input image picks that pixel's weight into the first layer's picked neuron."""
        if self.trace is not None and self.walk.view_block() == 0:
            self._pick_input(row, col)

    def _pick_matrix(self, row: int, col: int) -> None:
        if self.trace is None:
            return
        b = self.walk.view_block()
        self.select_weight(b, col, row)

    # -- showing ------------------------------------------------------------------------
    def _show(self) -> None:
        walk = self.walk
        self.step_label.setText(narration.step_label(walk))
        self.prev_button.setEnabled(self.step > 0)
        self.next_button.setEnabled(self.step < self.n_steps - 1)
        self.run_button.setEnabled(self.step < self.n_steps - 1)
        self.details.setHtml(narration.details_html(walk))
        self.chain_label.setHtml(narration.chain_html(walk))
        if walk.tiny:
            self._show_diagram()
        else:
            self._show_matrices()

    def _show_diagram(self) -> None:
        walk, t = self.walk, self.trace
        cols = walk.column_values()
        self.diagram.set_state(
            DiagramState(
                sizes=t.sizes,
                weights=[walk.weights_now(b) for b in range(t.n_blocks)],
                values=[c[0] for c in cols],
                value_names=[c[1] for c in cols],
                edge_grads=[t.dense(b).dW if walk.gradients_reached(b) else None for b in range(t.n_blocks)],
                node_grads=[None]
                + [t.dense(b).grad_y if walk.backward_reached(b) else None for b in range(t.n_blocks)],
                highlight=walk.highlight(),
                selected=self.selected,
                column_titles=narration.column_titles(walk),
                input_names=walk.input_names or [],
            )
        )
        legend = (
            "Edges: " + sign_legend_html() + " weight, width = size. Circles show each neuron's value. "
            "Inputs and neurons count from 0 (like W[i, j]); layers from 1."
        )
        if walk.current.phase in ("backward", "update", "after"):
            legend += (
                " <span style='color:#9646c8'>■ Purple</span> under an edge is its gradient ∂L/∂w; "
                "a purple ring is the neuron's ∂L/∂z."
            )
        legend += " Hover for numbers; click an edge to pick that weight."
        self.legend.setText(legend)

    def _show_matrices(self) -> None:
        walk, t = self.walk, self.trace
        b = walk.view_block()
        sb, i, j = self.selected
        if sb != b:  # the picked neuron belongs to another layer: show that layer's neuron 0
            i, j = 0, 0
        mat, what = walk.layer_matrix(b)
        vector, vtitle = walk.step_vector()
        self.matrix_view.show(
            x=t.layers[0].x,
            x_title="Input" + (" (28×28)" if t.sizes[0] == 784 else ""),
            neuron_weights=mat[:, j],
            neuron_title=f"{what} into neuron {j}",
            matrix=mat.T,
            matrix_title=f"Layer {b + 1} {what} ({mat.shape[1]}×{mat.shape[0]})",
            vector=vector,
            vector_title=vtitle,
            pick_i=i,
            pick_j=j,
            first_layer=b == 0,
        )
        self.legend.setText(
            sign_legend_html() + ", white ≈ 0 (W before the backward pass, ∂L/∂W during "
            "it, Δw after the update). The layer matrix has one row per neuron, one column per "
            "input. The yellow square marks the picked weight: click a pixel of the weight image "
            "to pick the input, a cell of the matrix to pick both, or use the spin boxes."
        )

    def _tooltip(self, kind: str, *index) -> str:
        """The diagram's hover text: what the walk-through has reached about that neuron or weight."""
        return narration.tooltip(self.walk, kind, *index)

    def shutdown(self) -> None:
        """Nothing runs in the background here."""
