"""Step through backpropagation: one sample, one forward/backward/update, one operation at a time.

Every number shown comes from a :class:`~nnstudio.core.lessons.backprop.Trace` recorded by
the core from the real engine; this page only chooses what to show.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
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
from nnstudio.core.nn import Sequential, load_model
from nnstudio.gui.widgets.network_diagram import DiagramState, NetworkDiagram
from nnstudio.resources import pretrained_model_path

TINY_LIMIT = 12  # up to this many neurons per layer the network is drawn node by node

NETWORKS = (
    ("xor", "XOR · 2-2-1"),
    ("toy", "Two clusters · 2-3-2"),
    ("studio", "Studio model"),
    ("mnist", "MNIST · 784-128-10"),
)
OPTIMIZERS = (("sgd", "SGD"), ("momentum", "Momentum"), ("adam", "Adam"))

PHASE_WORDS = {
    "forward": "Forward pass",
    "loss": "Loss",
    "backward": "Backward pass",
    "update": "Update",
    "after": "After the update",
}


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


def _vec(values, limit: int = 12) -> str:
    values = np.asarray(values).reshape(-1)
    shown = ", ".join(fmt(float(v)) for v in values[:limit])
    more = f", … ({values.size - limit} more)" if values.size > limit else ""
    return f"[{shown}{more}]"


def _square(n: int) -> int | None:
    r = int(round(math.sqrt(n)))
    return r if r * r == n and r > 1 else None


class ClickableImage(pg.ImageItem):
    """An ImageItem that reports clicks as (row, col)."""

    def __init__(self, on_click=None):
        super().__init__()
        self.on_click = on_click

    def mouseClickEvent(self, ev):
        if self.on_click is not None and ev.button() == Qt.LeftButton and self.image is not None:
            p = ev.pos()
            row, col = int(p.y()), int(p.x())
            if 0 <= row < self.image.shape[0] and 0 <= col < self.image.shape[1]:
                self.on_click(row, col)
                ev.accept()


class MatrixView(pg.GraphicsLayoutWidget):
    """For networks too big to draw node by node: the input, one neuron's weights, the layer's
    matrix and the current vector, as heatmaps and bars."""

    def __init__(self, on_pick_input=None, on_pick_neuron=None, on_pick_pixel=None, parent=None):
        super().__init__(parent)
        self.setObjectName("backpropMatrixView")
        # CET-D1 runs blue -> white -> red; reversed, positive is blue like the diagram's edges.
        self.diverging = pg.colormap.get("CET-D1")
        self.diverging.reverse()
        self.gray = pg.colormap.get("CET-L1")

        self.input_plot = self.addPlot(row=0, col=0, title="Input")
        self.input_image = ClickableImage(on_pick_pixel)
        self.input_image.setColorMap(self.gray)
        self.neuron_plot = self.addPlot(row=0, col=1, title="Weights into the picked neuron")
        self.neuron_image = ClickableImage(on_pick_input)
        self.neuron_image.setColorMap(self.diverging)
        self.matrix_plot = self.addPlot(row=1, col=0, title="Layer matrix")
        self.matrix_image = ClickableImage(on_pick_neuron)
        self.matrix_image.setColorMap(self.diverging)
        self.vector_plot = self.addPlot(row=1, col=1, title="Vector")
        self.vector_plot.setMinimumWidth(80)
        self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.8)
        self.vector_plot.addItem(self.bars)
        self.vector_plot.showGrid(y=True, alpha=0.3)
        for plot, item in (
            (self.input_plot, self.input_image),
            (self.neuron_plot, self.neuron_image),
            (self.matrix_plot, self.matrix_image),
        ):
            plot.setMinimumWidth(80)
            plot.addItem(item)
            plot.invertY(True)
            plot.hideAxis("bottom")
            plot.hideAxis("left")
            plot.setMenuEnabled(False)
        self.input_plot.setAspectLocked(True)
        self.neuron_plot.setAspectLocked(True)
        self.input_marker = pg.ScatterPlotItem(size=11, symbol="s", pen=pg.mkPen((230, 180, 0), width=2), brush=None)
        self.neuron_marker = pg.ScatterPlotItem(size=11, symbol="s", pen=pg.mkPen((230, 180, 0), width=2), brush=None)
        self.matrix_marker = pg.ScatterPlotItem(size=11, symbol="s", pen=pg.mkPen((230, 180, 0), width=2), brush=None)
        self.input_plot.addItem(self.input_marker)
        self.neuron_plot.addItem(self.neuron_marker)
        self.matrix_plot.addItem(self.matrix_marker)
        self.ci.layout.setColumnStretchFactor(0, 1)
        self.ci.layout.setColumnStretchFactor(1, 1)

    @staticmethod
    def _grid(vector: np.ndarray) -> np.ndarray:
        side = _square(vector.size)
        return vector.reshape(side, side) if side else vector.reshape(1, -1)

    @staticmethod
    def _cell(index: int, size: int) -> tuple[float, float]:
        side = _square(size)
        return ((index % side) + 0.5, (index // side) + 0.5) if side else (index + 0.5, 0.5)

    def show(
        self,
        x,
        x_title,
        neuron_weights,
        neuron_title,
        matrix,
        matrix_title,
        vector,
        vector_title,
        pick_i,
        pick_j,
        first_layer=True,
    ):
        """Update every panel in place; signed panels get symmetric colour levels.

        ``first_layer``: the picked neuron's inputs are the network's inputs (an image, and the
        input panel can mark the picked pixel); otherwise they are hidden neurons (a strip).
        """
        self.input_image.setImage(self._grid(x), levels=(min(0.0, float(np.min(x))), max(1.0, float(np.max(x)))))
        self.input_plot.setTitle(x_title)
        if first_layer:
            self.input_marker.setData([self._cell(pick_i, x.size)[0]], [self._cell(pick_i, x.size)[1]])
        else:
            self.input_marker.setData([], [])

        grid = self._grid(neuron_weights) if first_layer else neuron_weights.reshape(1, -1)
        # A strip (not a square image) would be one pixel high with a locked aspect.
        self.neuron_plot.setAspectLocked(grid.shape[0] > 1)
        m = float(np.max(np.abs(grid))) or 1.0
        self.neuron_image.setImage(grid, levels=(-m, m))
        self.neuron_plot.setTitle(neuron_title)
        cx, cy = self._cell(pick_i, neuron_weights.size) if first_layer else (pick_i + 0.5, 0.5)
        self.neuron_marker.setData([cx], [cy])

        m = float(np.max(np.abs(matrix))) or 1.0
        self.matrix_image.setImage(matrix, levels=(-m, m))
        self.matrix_plot.setTitle(matrix_title)
        self.matrix_marker.setData([pick_i + 0.5], [pick_j + 0.5])

        brushes = [
            pg.mkBrush(230, 180, 0) if k == pick_j else pg.mkBrush(52, 120, 214) if v >= 0 else pg.mkBrush(226, 110, 40)
            for k, v in enumerate(vector)
        ]
        self.bars.setOpts(x=np.arange(vector.size), height=vector, width=0.8, brushes=brushes, pen=None)
        self.vector_plot.setTitle(vector_title)
        self.vector_plot.enableAutoRange()


class BackpropPage(QWidget):
    """Walk through one training step of a network on one sample."""

    title = "Backprop"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("backpropPage")
        self.context = context
        self.trace: Trace | None = None
        self.tracer: BackpropTracer | None = None
        self.step = 0
        self.net: Sequential | None = None  # the network being traced (its original weights)
        self.problem = None  # TinyProblem for the built-in nets
        self.selected = (0, 0, 0)  # (block, i, j)
        self._picks: dict[int, tuple[int, int]] = {}  # the weight picked in each layer
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
        self.step_label = QLabel(objectName="backpropStepLabel")
        font = self.step_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.step_label.setFont(font)
        self.step_label.setWordWrap(True)
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
            tiny = max(self.net.sizes()) <= TINY_LIMIT
            self.view_stack.setCurrentIndex(0 if tiny else 1)
            self.selected = None
            self._picks = {}
        finally:
            self._building = False
        self._load_sample()
        self.reset()

    def _mnist_network(self) -> Sequential:
        path = pretrained_model_path("mnist")
        if path.exists():
            try:
                net = load_model(path)
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
        self.trace, self.tracer = None, None
        self.info_label.setText(message)
        self.step_label.setText("Nothing to step through")
        for button in (self.prev_button, self.next_button, self.run_button, self.repeat_button):
            button.setEnabled(False)
        self.details.setHtml(f"<p>{_esc(message)}</p>")
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
        self.trace = trace
        self.repeat_button.setEnabled(True)
        if self.selected is None or self.selected[0] >= trace.n_blocks:
            b = trace.n_blocks - 1
            self.selected = (b, *trace.interesting_weight(b))
        self._index_steps()
        self._sync_weight_spins()
        self.go_to(step)

    def _index_steps(self) -> None:
        """Where each layer's forward/backward and each block's update happen in the step list."""
        self._fwd, self._bwd, self._upd = {}, {}, {}
        self._first_bwd_block = {}
        for k, s in enumerate(self.trace.steps):
            if s.kind == "forward":
                self._fwd[s.layer] = k
            elif s.kind == "backward":
                self._bwd[s.layer] = k
                self._first_bwd_block.setdefault(s.block, k)
            elif s.kind == "update":
                self._upd[s.block] = k

    # -- navigation -------------------------------------------------------------------
    @property
    def n_steps(self) -> int:
        return len(self.trace.steps) if self.trace else 0

    def go_to(self, step: int) -> None:
        if self.trace is None:
            return
        self.step = max(0, min(self.n_steps - 1, int(step)))
        block = self.current_step().block
        if block is not None and self.selected[0] != block:
            # The chain-rule panel follows the layer being worked on, remembering each layer's pick.
            self.selected = (block, *self._picks.get(block, self.trace.interesting_weight(block)))
            self._sync_weight_spins()
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
        self.selected = (int(block), int(i), int(j))
        self._picks[self.selected[0]] = self.selected[1:]
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
        side = _square(n_in) if b == 0 else None
        i = row * side + col if side else col
        if 0 <= i < n_in:
            self.select_weight(b, i, j)

    def _pick_pixel(self, row: int, col: int) -> None:
        """A click on the input image picks that pixel's weight into the first layer's picked neuron."""
        if self.trace is not None and self._view_block() == 0:
            self._pick_input(row, col)

    def _pick_matrix(self, row: int, col: int) -> None:
        if self.trace is None:
            return
        b = self._view_block()
        self.select_weight(b, col, row)

    # -- showing ------------------------------------------------------------------------
    def current_step(self):
        return self.trace.steps[self.step]

    def _view_block(self) -> int:
        s = self.current_step()
        if s.block is not None:
            return s.block
        return self.selected[0]

    def _show(self) -> None:
        s = self.current_step()
        self.step_label.setText(f"Step {self.step + 1} of {self.n_steps} · {PHASE_WORDS[s.phase]} — {s.title}")
        self.prev_button.setEnabled(self.step > 0)
        self.next_button.setEnabled(self.step < self.n_steps - 1)
        self.run_button.setEnabled(self.step < self.n_steps - 1)
        self.details.setHtml(self._details_html())
        self.chain_label.setHtml(self._chain_html())
        if self.view_stack.currentIndex() == 0:
            self._show_diagram()
        else:
            self._show_matrices()

    # What the network looks like at the current step.
    def _column_values(self):
        """Per column: (values, name) once the forward pass has reached it, else (None, "")."""
        t = self.trace
        out = [(t.layers[0].x, "x")]
        for b in range(t.n_blocks):
            vals, name = None, ""
            for idx in t.blocks[b]:
                if self._fwd[idx] <= self.step:
                    vals = t.layers[idx].y
                    name = "z" if idx == t.blocks[b][0] else "a"
            out.append((vals, name))
        return out

    def _weights_now(self, b: int) -> np.ndarray:
        u = self.trace.update(b, "W")
        return u.after if self._upd[b] <= self.step else u.before

    def _grads_shown(self, b: int) -> bool:
        k = self._bwd[self.trace.blocks[b][0]]
        return k <= self.step

    def _show_diagram(self) -> None:
        t, s = self.trace, self.current_step()
        cols = self._column_values()
        titles = ["input"]
        for b in range(t.n_blocks):
            last = b == t.n_blocks - 1
            titles.append(
                ("output" if last else f"hidden {b + 1}") + (f" ({cols[b + 1][1]})" if cols[b + 1][1] else "")
            )
        edge_grads = [t.dense(b).dW if self._grads_shown(b) else None for b in range(t.n_blocks)]
        node_grads = [None] + [
            t.dense(b).grad_y if self._first_bwd_block.get(b, 10**9) <= self.step else None for b in range(t.n_blocks)
        ]
        highlight = None
        if s.kind == "input":
            highlight = (0, 0)
        elif s.block is not None:
            highlight = (s.block, s.block + 1)
        elif s.kind in ("loss", "after"):
            highlight = (t.n_blocks, t.n_blocks)
        self.diagram.set_state(
            DiagramState(
                sizes=t.sizes,
                weights=[self._weights_now(b) for b in range(t.n_blocks)],
                values=[c[0] for c in cols],
                value_names=[c[1] for c in cols],
                edge_grads=edge_grads,
                node_grads=node_grads,
                highlight=highlight,
                selected=self.selected,
                column_titles=titles,
                input_names=self.problem.input_names if self.problem is not None else [],
            )
        )
        phase = s.phase
        legend = (
            "Edges: <span style='color:#3478d6'>■ positive</span> / <span style='color:#e26e28'>■ negative</span> "
            "weight, width = size. Circles show each neuron's value."
        )
        if phase in ("backward", "update", "after"):
            legend += (
                " <span style='color:#9646c8'>■ Purple</span> under an edge is its gradient ∂L/∂w; "
                "a purple ring is the neuron's ∂L/∂z."
            )
        legend += " Hover for numbers; click an edge to pick that weight."
        self.legend.setText(legend)

    def _show_matrices(self) -> None:
        t, s = self.trace, self.current_step()
        b = self._view_block()
        sb, i, j = self.selected
        if sb != b:  # the picked neuron belongs to another layer: show that layer's neuron 0
            i, j = 0, 0
        d = t.dense(b)
        phase = s.phase
        if phase == "backward" and self._grads_shown(b):
            mat, what = d.dW, "∂L/∂W"
        elif phase in ("update", "after") and self._upd[b] <= self.step:
            mat, what = t.update(b, "W").delta, "Δw"
        else:
            mat, what = d.W, "W"
        vector, vtitle = self._step_vector()
        self.matrix_view.show(
            x=t.layers[0].x,
            x_title="Input" + (" (28×28)" if t.sizes[0] == 784 else ""),
            neuron_weights=mat[:, j],
            neuron_title=f"{what} into neuron {j}",
            matrix=mat.T,
            matrix_title=f"Layer {b + 1} {what} ({mat.shape[1]}×{mat.shape[0]})",
            vector=vector,
            vector_title=vtitle,
            pick_i=i if sb == b else 0,
            pick_j=j,
            first_layer=b == 0,
        )
        self.legend.setText(
            "Blue = positive, red = negative, white ≈ 0 (W before the backward pass, ∂L/∂W during "
            "it, Δw after the update). The layer matrix has one row per neuron, one column per "
            "input. The yellow square marks the picked weight: click a pixel of the weight image "
            "to pick the input, a cell of the matrix to pick both, or use the spin boxes."
        )

    def _step_vector(self):
        """The vector the current step produces, for the bar chart."""
        t, s = self.trace, self.current_step()
        if s.kind == "forward":
            rec = t.layers[s.layer]
            name = "z" if rec.kind == "Dense" else "a"
            return rec.y, f"{name} of layer {s.block + 1}"
        if s.kind == "backward":
            rec = t.layers[s.layer]
            return rec.grad_y, f"∂L/∂{'z' if rec.kind == 'Dense' else 'a'} of layer {s.block + 1}"
        if s.kind == "loss":
            return (t.probs, "probabilities") if t.probs is not None else (t.output, "output")
        if s.kind == "after":
            return (
                (t.probs_after, "probabilities after the update")
                if t.probs_after is not None
                else (t.output_after, "output after the update")
            )
        if s.kind == "update":
            u = t.update(s.block, "b")
            return u.delta, f"Δb of layer {s.block + 1}"
        b = self.selected[0]
        return t.dense(b).y, f"z of layer {b + 1}"

    # The hover texts of the diagram.
    def _tooltip(self, kind: str, *index) -> str:
        t = self.trace
        if t is None or self.view_stack.currentIndex() != 0:
            return ""
        if kind == "node":
            col, k = index
            if col == 0:
                name = self.problem.input_names[k] if self.problem is not None else f"x{k}"
                return f"input {name} = {fmt(float(t.layers[0].x[k]))}"
            b = col - 1
            lines = [f"layer {b + 1}, neuron {k}"]
            for idx in t.blocks[b]:
                if self._fwd[idx] <= self.step:
                    rec = t.layers[idx]
                    lines.append(
                        f"{'z' if rec.kind == 'Dense' else 'a = ' + rec.kind + '(z)'} = {fmt(float(rec.y[k]))}"
                    )
            if self._first_bwd_block.get(b, 10**9) <= self.step:
                post = t.blocks[b][1:]
                if post:
                    lines.append(f"∂L/∂a = {fmt(float(t.layers[post[-1]].grad_y[k]))}")
                lines.append(f"∂L/∂z = {fmt(float(t.dense(b).grad_y[k]))}")
                lines.append(f"∂L/∂b = {fmt(float(t.dense(b).db[k]))}")
            return "\n".join(lines)
        b, i, j = index
        u = t.update(b, "W")
        lines = [
            f"w from {'input' if b == 0 else f'hidden {b}'} {i} to neuron {j} of layer {b + 1}",
            f"w = {fmt(float(u.before[i, j]))}",
        ]
        if self._grads_shown(b):
            lines.append(f"∂L/∂w = {fmt(float(u.grad[i, j]))}")
        if self._upd[b] <= self.step:
            lines.append(f"after the update: {fmt(float(u.after[i, j]))}")
        lines.append("(click for the chain rule)")
        return "\n".join(lines)

    # The text panels.
    def _details_html(self) -> str:
        t, s = self.trace, self.current_step()
        tiny = self.view_stack.currentIndex() == 0
        p = [f"<h3>{_esc(s.title)}</h3>"]
        if s.kind == "input":
            p.append(f"<p>{_esc(self._sample_text)}.</p>")
            p.append(f"<p>The input vector a⁰ = x has {t.sizes[0]} values: {_esc(_vec(t.layers[0].x))}.</p>")
            p.append(
                "<p>Training repeats five steps: <b>predict</b> (forward pass), <b>measure the error</b> "
                "(loss), <b>find which weights caused it</b> (backward pass), <b>adjust them</b> "
                "(update), and <b>repeat</b>. Press → to run each operation of the engine in turn.</p>"
            )
            if t.dropout_off:
                if any(r.kind == "Dropout" for r in t.layers):
                    p.append("<p><i>Dropout is switched off while tracing, so the step is repeatable.</i></p>")
        elif s.kind == "forward":
            rec = t.layers[s.layer]
            b = s.block
            if rec.kind == "Dense":
                p.append(
                    f"<p>Each neuron of layer {b + 1} adds up its inputs, each times its weight, plus its "
                    f"bias: <b>z = W·a + b</b> ({rec.x.size} inputs → {rec.y.size} neurons).</p>"
                )
                js = range(rec.y.size) if tiny else [self.selected[2] if self.selected[0] == b else 0]
                for j in js:
                    p.append(f"<p><tt>{_esc(t.forward_line(b, j, 4 if tiny else 5))}</tt></p>")
                if not tiny:
                    p.append(f"<p>z = {_esc(_vec(rec.y))}</p>")
            else:
                p.append(f"<p>The activation function bends each weighted sum: <b>a = {rec.kind}(z)</b>.</p>")
                if not tiny:
                    p.append(
                        self._picked_line(
                            b, f"z = {fmt(float(rec.x[self.selected[2]]))} → a = {fmt(float(rec.y[self.selected[2]]))}"
                        )
                    )
                    p.append(f"<p>{int(np.count_nonzero(rec.y))} of {rec.y.size} neurons are non-zero.</p>")
                p.append(self._pairs("z", rec.x, "a", rec.y, tiny))
        elif s.kind == "loss":
            p.append(self._loss_html())
        elif s.kind == "backward":
            p.append(self._backward_html(t.layers[s.layer], s.block, tiny))
        elif s.kind == "update":
            p.append(self._update_html(s.block, tiny))
        else:
            p.append(self._after_html())
        return "".join(p)

    def _pairs(self, n1, v1, n2, v2, tiny) -> str:
        limit = v1.size if tiny else 10
        rows = "".join(
            f"<tr><td>{k}</td><td align='right'>{fmt(float(v1[k]))}</td><td align='right'>{fmt(float(v2[k]))}</td></tr>"
            for k in range(min(limit, v1.size))
        )
        more = f"<p>… and {v1.size - limit} more.</p>" if v1.size > limit else ""
        return (
            f"<table cellspacing='0' cellpadding='3'><tr><th>neuron</th><th>{n1}</th><th>{n2}</th></tr>"
            f"{rows}</table>{more}"
        )

    def _loss_html(self) -> str:
        t = self.trace
        if t.loss_name == "cross_entropy":
            label = int(t.target)
            names = t.class_names
            cls = names[label] if names else str(label)
            pred = t.prediction
            pname = names[pred] if names else str(pred)
            return (
                f"<p>Softmax turns the {t.output.size} outputs into probabilities, and cross-entropy "
                f"measures how little probability went to the right answer: "
                f"<b>L = −log p<sub>{label}</sub></b>.</p>"
                f"<p>p = {_esc(_vec(t.probs))}</p>"
                f"<p>Right answer: <b>{_esc(cls)}</b> with p = {fmt(float(t.probs[label]))}, so "
                f"<b>L = −log({fmt(float(t.probs[label]))}) = {fmt(t.loss)}</b>. "
                f"The network's guess: {_esc(pname)}{' ✓' if pred == label else ' ✗'}.</p>"
                f"<p>The backward pass starts here: ∂L/∂z = p − y = {_esc(_vec(t.grad_output))}.</p>"
            )
        return (
            f"<p>Mean squared error: <b>L = mean((a − target)²)</b>.</p>"
            f"<p>output a = {_esc(_vec(t.output))}, target = {_esc(_vec(t.target))}</p>"
            f"<p><b>L = {fmt(t.loss)}</b></p>"
            f"<p>The backward pass starts here: ∂L/∂a = 2·(a − target)/n = {_esc(_vec(t.grad_output))}.</p>"
        )

    def _backward_html(self, rec, b: int, tiny: bool) -> str:
        if rec.kind == "Dense":
            d = rec
            parts = [
                f"<p>Layer {b + 1} received ∂L/∂z = {_esc(_vec(d.grad_y))}. From it the engine gets:</p><ul>"
                "<li><b>∂L/∂W = a ⊗ ∂L/∂z</b>: each weight's gradient is its input times its neuron's ∂L/∂z.</li>"
                "<li><b>∂L/∂b = ∂L/∂z</b>.</li>"
            ]
            if b > 0:
                parts.append(
                    "<li><b>∂L/∂a (layer below) = W · ∂L/∂z</b>: the error sent back through the same weights.</li>"
                )
            parts.append("</ul>")
            if tiny:
                rows = "".join(
                    "<tr><td>"
                    + f"in {i}"
                    + "</td>"
                    + "".join(f"<td align='right'>{fmt(float(d.dW[i, j]))}</td>" for j in range(d.dW.shape[1]))
                    + "</tr>"
                    for i in range(d.dW.shape[0])
                )
                head = "".join(f"<th>→{j}</th>" for j in range(d.dW.shape[1]))
                parts.append(
                    f"<p>∂L/∂W:</p><table cellspacing='0' cellpadding='3'><tr><th></th>{head}</tr>{rows}"
                    f"</table><p>∂L/∂b = {_esc(_vec(d.db))}</p>"
                )
            else:
                parts.append(
                    f"<p>|∂L/∂W| is largest at {self._largest(d.dW)}; "
                    f"{int(np.count_nonzero(d.dW))} of {d.dW.size} weight gradients are non-zero.</p>"
                    f"<p>∂L/∂b = {_esc(_vec(d.db))}</p>"
                )
            if b > 0:
                parts.append(f"<p>Sent back: ∂L/∂a = {_esc(_vec(d.grad_x))}</p>")
            return "".join(parts)
        name = rec.kind
        p = [f"<p>Through the activation: <b>∂L/∂z = ∂L/∂a · {name}′(z)</b>, neuron by neuron.</p>"]
        if rec.local is not None and not tiny:
            j = self.selected[2]
            p.append(
                self._picked_line(
                    b,
                    f"∂L/∂a = {fmt(float(rec.grad_y[j]))}, slope {fmt(float(rec.local[j]))}, "
                    f"∂L/∂z = {fmt(float(rec.grad_x[j]))}",
                )
            )
        if rec.local is not None:
            limit = rec.y.size if tiny else 10
            rows = "".join(
                f"<tr><td>{k}</td><td align='right'>{fmt(float(rec.grad_y[k]))}</td>"
                f"<td align='right'>{fmt(float(rec.local[k]))}</td>"
                f"<td align='right'>{fmt(float(rec.grad_x[k]))}</td></tr>"
                for k in range(min(limit, rec.y.size))
            )
            p.append(
                f"<table cellspacing='0' cellpadding='3'><tr><th>neuron</th><th>∂L/∂a</th><th>{name}′(z)</th>"
                f"<th>∂L/∂z</th></tr>{rows}</table>"
            )
            if rec.y.size > limit:
                p.append(f"<p>… and {rec.y.size - limit} more.</p>")
            dead = int(np.sum(rec.local == 0))
            if dead:
                p.append(
                    f"<p>{dead} neuron(s) have slope 0 here (ReLU with z ≤ 0): no error flows back "
                    f"through them, so their incoming weights get no gradient from this sample.</p>"
                )
        else:
            p.append(f"<p>∂L/∂z = {_esc(_vec(rec.grad_x))}</p>")
        return "".join(p)

    def _picked_line(self, b: int, text: str) -> str:
        if self.selected[0] != b:
            return ""
        return f"<p>Picked neuron {self.selected[2]}: <b>{_esc(text)}</b></p>"

    def _largest(self, M: np.ndarray) -> str:
        i, j = np.unravel_index(int(np.argmax(np.abs(M))), M.shape)
        return f"input {i} → neuron {j} ({fmt(float(M[i, j]))})"

    def _update_html(self, b: int, tiny: bool) -> str:
        t = self.trace
        hp = t.optimizer
        kind = hp["optimizer"]
        desc = {
            "SGD": "Plain gradient descent moves every weight a little against its gradient: w ← w − lr·g.",
            "Momentum": "Momentum keeps a running velocity v of past gradients (like a ball rolling "
            "downhill) and moves along it: v ← μ·v + g, w ← w − lr·v.",
            "Adam": "Adam keeps two running averages per weight: m of the gradient and v of its square. "
            "Early on both start near 0, so it divides by (1−βᵗ) — the bias correction — and then "
            "takes a step of about lr in the direction of m̂, scaled down where gradients are large "
            "or noisy.",
        }[kind]
        hps = ", ".join(f"{k} = {v}" for k, v in hp.items() if k != "optimizer")
        p = [f"<p>{desc}</p><p><i>{_esc(kind)}: {_esc(hps)}; this is step t = {t.t}.</i></p>"]
        if t.bias_correction is not None:
            bc1, bc2 = t.bias_correction
            p.append(f"<p>Bias correction at t = {t.t}: 1−β₁ᵗ = {fmt(bc1)}, 1−β₂ᵗ = {fmt(bc2)}.</p>")
        sb, i, j = self.selected
        if sb == b:
            p.append(f"<p>For the picked weight (input {i} → neuron {j}):</p>")
        else:
            i, j = t.interesting_weight(b)
            p.append(f"<p>For the weight with the largest gradient (input {i} → neuron {j}):</p>")
        p.append("".join(f"<p><tt>{_esc(line)}</tt></p>" for line in t.update_lines(b, "W", (i, j))))
        p.append(f"<p>and its neuron's bias:</p><p><tt>{_esc(t.update_lines(b, 'b', j)[-1])}</tt></p>")
        u = t.update(b, "W")
        if tiny:
            rows = "".join(
                "<tr><td>"
                + f"in {r}"
                + "</td>"
                + "".join(
                    f"<td align='right'>{fmt(float(u.before[r, c]))} → {fmt(float(u.after[r, c]))}</td>"
                    for c in range(u.before.shape[1])
                )
                + "</tr>"
                for r in range(u.before.shape[0])
            )
            head = "".join(f"<th>→{c}</th>" for c in range(u.before.shape[1]))
            p.append(
                f"<p>All weights of layer {b + 1}:</p><table cellspacing='0' cellpadding='3'>"
                f"<tr><th></th>{head}</tr>{rows}</table>"
            )
        else:
            p.append(f"<p>Largest change in layer {b + 1}: {self._largest(u.delta)}.</p>")
        return "".join(p)

    def _after_html(self) -> str:
        t = self.trace
        down = t.loss_after < t.loss
        colour = "#2e9d4a" if down else "#d04a2a"
        p = [
            f"<p>The same sample goes through the updated network again.</p>"
            f"<p>Loss before: <b>{fmt(t.loss)}</b> → after: <b style='color:{colour}'>{fmt(t.loss_after)}</b></p>",
            f"<p>{_esc(t.verdict)}</p>",
        ]
        if t.prediction is not None:
            names = t.class_names

            def name(k):
                return names[k] if names else str(k)

            p.append(f"<p>Prediction before: {_esc(name(t.prediction))}, after: {_esc(name(t.prediction_after))}.</p>")
            if t.probs_after is not None:
                label = int(t.target)
                p.append(
                    f"<p>Probability of the right answer: {fmt(float(t.probs[label]))} → "
                    f"{fmt(float(t.probs_after[label]))}.</p>"
                )
        else:
            p.append(
                f"<p>Output before: {_esc(_vec(t.output))}, after: {_esc(_vec(t.output_after))}, "
                f"target {_esc(_vec(t.target))}.</p>"
            )
        p.append(
            "<p>That was one training step. <b>Repeat with the new weights</b> runs the next one on this "
            "sample (the optimizer keeps its state); training repeats this thousands of times over many "
            "samples.</p>"
        )
        return "".join(p)

    def _chain_html(self) -> str:
        t = self.trace
        b, i, j = self.selected
        d = t.dense(b)
        src = (
            ("input " + (self.problem.input_names[i] if self.problem is not None else str(i)))
            if b == 0
            else f"hidden neuron {i} of layer {b}"
        )
        head = (
            f"<p>w = W[{i}, {j}] of layer {b + 1}: from {_esc(src)} to neuron {j}; "
            f"w = <b>{fmt(float(d.W[i, j]))}</b>.</p>"
        )
        first = self._first_bwd_block.get(b, 10**9)
        if self.step < first:
            return head + (
                f"<p><i>Its gradient appears when the backward pass reaches layer {b + 1} (step {first + 1}).</i></p>"
            )
        rule = t.chain_rule(b, i, j)
        p = [head, f"<p><b>{_esc(rule.text())}</b></p><ul>"]
        for term in rule.terms:
            p.append(f"<li>{_esc(term.symbol)} = {fmt(term.value)}: {_esc(term.meaning)}</li>")
        p.append("</ul>")
        if rule.note:
            p.append(f"<p>{_esc(rule.note)}</p>")
        if rule.upstream and rule.terms[0].symbol == "∂L/∂a":
            terms = " + ".join(f"({fmt(g)})·({fmt(w)})" for _, g, w in rule.upstream[:6])
            if len(rule.upstream) > 6:
                terms += f" + … ({len(rule.upstream) - 6} more)"
            p.append(f"<p><tt>∂L/∂a{j} = Σₖ ∂L/∂z′ₖ·W′{j}ₖ = {_esc(terms)} = {fmt(rule.terms[0].value)}</tt></p>")
        ok = math.isclose(rule.product, rule.engine, rel_tol=1e-9, abs_tol=1e-15)
        p.append(
            f"<p>The engine's backward set ∂L/∂w = {fmt(rule.engine)}"
            f"{' — the same number ✓' if ok else ' (differs!)'}</p>"
        )
        if self._upd.get(b, 10**9) <= self.step:
            p.append("<p>Update: <tt>" + "<br>".join(_esc(x) for x in t.update_lines(b, "W", (i, j))) + "</tt></p>")
        return "".join(p)

    def shutdown(self) -> None:
        """Nothing runs in the background here."""
