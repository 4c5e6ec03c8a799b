"""The layer-stack editor: hidden layers as rows (units, activation, dropout), with presets.

The editor holds a plain architecture *spec*::

    {"hidden": [{"units": 128, "activation": "relu", "dropout": 0.0}, ...], "init": "he"}

which is :meth:`nnstudio.core.nn.spec.MLPSpec.to_editor`'s form: the core's
:class:`~nnstudio.core.nn.spec.MLPSpec` validates it, builds the network and
estimates its memory (the same estimate ``nnstudio memory estimate`` prints).
Input and output sizes come from the dataset.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from nnstudio.core.fmt import format_bytes
from nnstudio.core.limits import LIMITS, memory_problem
from nnstudio.core.limits import available_memory as core_available_memory
from nnstudio.core.nn.spec import MemoryEstimate, MLPSpec
from nnstudio.core.training.trainer import Trainer

from .controls import LimitedDoubleSpinBox, LimitedSpinBox, chain_tab_order

ACTIVATIONS = (
    ("ReLU", "relu"),
    ("LeakyReLU", "leaky_relu"),
    ("Sigmoid", "sigmoid"),
    ("Tanh", "tanh"),
    ("Linear", "linear"),
)
INITS = (("He (for ReLU)", "he"), ("Xavier (sigmoid/tanh)", "xavier"), ("Small normal (0.01)", "normal"))
MAX_HIDDEN = int(LIMITS["hidden_layers"].hi)


def _preset(*units, act="relu", dropout=0.0):
    return {
        "hidden": [{"units": u, "activation": act, "dropout": dropout} for u in units],
        "init": "xavier" if act in ("sigmoid", "tanh") else "he",
    }


PRESETS = (
    ("784 → 128 → 10  (default)", _preset(128)),
    ("784 → 256 → 128 → 10", _preset(256, 128)),
    ("784 → 32 → 10  (tiny)", _preset(32)),
    ("784 → 512 → 10  (wide, dropout 0.2)", _preset(512, dropout=0.2)),
    ("784 → 10  (no hidden layer: logistic regression)", _preset()),
    ("Deep sigmoid 5×64  (watch gradients vanish)", {**_preset(64, 64, 64, 64, 64, act="sigmoid"), "init": "normal"}),
)
DEFAULT_SPEC = PRESETS[0][1]


def available_memory() -> int:
    """Memory this process may still take (the core's figure: what the OS reports, within any ulimit)."""
    return core_available_memory()


class _LayerRow(QWidget):
    changed = Signal()
    move = Signal(object, int)  # row, -1 up / +1 down
    remove = Signal(object)

    def __init__(self, layer: dict, parent=None):
        super().__init__(parent)
        self.setObjectName("hiddenLayerRow")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.index_label = QLabel()
        self.index_label.setMinimumWidth(18)
        self.units = LimitedSpinBox(
            "units", int(layer["units"]), "Neurons in this hidden layer", objectName="unitsSpin"
        )
        self.units.setAccessibleName("Units")
        self.units.setKeyboardTracking(False)
        self.activation = QComboBox(objectName="activationCombo")
        for text, key in ACTIVATIONS:
            self.activation.addItem(text, key)
        self.activation.setCurrentIndex(max(0, self.activation.findData(layer.get("activation", "relu"))))
        self.activation.setToolTip("Non-linearity applied after this layer")
        self.dropout = LimitedDoubleSpinBox(
            "dropout",
            float(layer.get("dropout", 0.0)),
            "Dropout: fraction of this layer's outputs zeroed at random while training",
            step=0.05,
            objectName="dropoutSpin",
        )
        self.up = QToolButton(text="▲", toolTip="Move this layer up", autoRaise=True)
        self.down = QToolButton(text="▼", toolTip="Move this layer down", autoRaise=True)
        self.delete = QToolButton(text="✕", toolTip="Remove this layer", autoRaise=True, objectName="removeLayer")
        self.units.setMinimumWidth(64)
        self.activation.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.activation.setMinimumContentsLength(6)
        self.dropout.setMaximumWidth(62)
        for w in (self.index_label, self.units, self.activation, self.dropout, self.up, self.down, self.delete):
            lay.addWidget(w)
        lay.setStretch(1, 1)
        lay.setStretch(2, 1)
        self.units.valueChanged.connect(self.changed)
        self.activation.currentIndexChanged.connect(self.changed)
        self.dropout.valueChanged.connect(self.changed)
        self.up.clicked.connect(lambda: self.move.emit(self, -1))
        self.down.clicked.connect(lambda: self.move.emit(self, +1))
        self.delete.clicked.connect(lambda: self.remove.emit(self))

    def value(self) -> dict:
        return {
            "units": self.units.value(),
            "activation": self.activation.currentData(),
            "dropout": round(self.dropout.value(), 4),
        }

    def set_error(self, error: bool) -> None:
        """Mark the units box (a memory problem; out-of-range values mark themselves)."""
        if not self.units.problem:
            self.units.setStyleSheet("QSpinBox { border: 2px solid #d9534f; border-radius: 3px; }" if error else "")


class LayerEditor(QWidget):
    """Edit the hidden layers of an MLP; refuse what cannot be built, in place, with a message.

    ``spec_changed`` fires with the new spec whenever something changes; ``error`` is
    "" when the spec can be built, else the reason shown under the rows.
    """

    spec_changed = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("layerStack")
        self.setAccessibleName("Layer stack")
        self.n_in, self.n_out = 784, 10
        self.batch_size = 128
        self.optimizer = "adam"
        self.dataset_bytes = 0
        self.estimate: MemoryEstimate | None = None
        self.error = ""
        self._rows: list[_LayerRow] = []
        self._updating = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        top = QHBoxLayout()
        self.preset = QComboBox(objectName="presetCombo")
        self.preset.addItem("Presets…")
        for name, _ in PRESETS:
            self.preset.addItem(name)
        self.preset.setToolTip("Start from a ready-made architecture")
        self.preset.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.preset.setMinimumContentsLength(8)
        self.preset.activated.connect(self._apply_preset)
        self.add_button = QToolButton(text="+ Add layer", objectName="addLayerButton")
        self.add_button.setToolTip("Add a hidden layer before the output")
        self.add_button.clicked.connect(lambda: self.add_layer())
        top.addWidget(self.preset, 1)
        top.addWidget(self.add_button)
        outer.addLayout(top)

        self.input_label = QLabel(objectName="inputLabel", wordWrap=True)
        self.input_label.setProperty("role", "hint")
        outer.addWidget(self.input_label)
        header = QLabel(f"Hidden layers (up to {MAX_HIDDEN}):  units · activation · dropout", objectName="layerHeader")
        header.setProperty("role", "hint")
        outer.addWidget(header)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(2)
        outer.addLayout(self.rows_box)
        self.output_label = QLabel(objectName="outputLabel", wordWrap=True)
        self.output_label.setProperty("role", "hint")
        outer.addWidget(self.output_label)

        init_row = QHBoxLayout()
        init_row.addWidget(QLabel("Weight init"))
        self.init = QComboBox(objectName="initCombo")
        for text, key in INITS:
            self.init.addItem(text, key)
        self.init.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.init.setMinimumContentsLength(8)
        self.init.setToolTip("How the starting weights are drawn (the same seed gives the same weights)")
        self.init.currentIndexChanged.connect(self._changed)
        init_row.addWidget(self.init, 1)
        outer.addLayout(init_row)

        self.message = QLabel(objectName="layerMessage", wordWrap=True)
        self.message.setStyleSheet("color: #d9534f; font-weight: 600;")
        self.message.hide()
        outer.addWidget(self.message)
        self.summary = QLabel(objectName="layerSummary", wordWrap=True)
        self.summary.setTextFormat(Qt.RichText)
        outer.addWidget(self.summary)
        self.set_spec(DEFAULT_SPEC)

    # -- spec ----------------------------------------------------------------------
    def spec(self) -> dict:
        return {"hidden": [r.value() for r in self._rows], "init": self.init.currentData()}

    def set_spec(self, spec: dict) -> None:
        self._updating = True
        try:
            for row in list(self._rows):
                self._drop_row(row)
            for layer in spec.get("hidden", []):
                self.add_layer(layer, notify=False)
            self.init.setCurrentIndex(max(0, self.init.findData(spec.get("init", "he"))))
        finally:
            self._updating = False
        self._changed()

    def mlp_spec(self) -> MLPSpec:
        return MLPSpec.from_editor(self.spec(), self.n_in, self.n_out)

    def sizes(self) -> list[int]:
        return self.mlp_spec().sizes

    def set_io(self, n_in: int, n_out: int) -> None:
        self.n_in, self.n_out = int(n_in), int(n_out)
        self._changed()

    def set_training_context(self, batch_size: int, optimizer: str, dataset_bytes: int = 0) -> None:
        """Batch size, optimizer and the dataset's size feed the memory estimate."""
        self.batch_size, self.optimizer, self.dataset_bytes = max(1, int(batch_size)), optimizer, int(dataset_bytes)
        self._changed()

    def build(self, seed: int):
        """A fresh network from the spec (same seed -> same initial weights). Raises ValueError if invalid."""
        if self.error:
            raise ValueError(self.error)
        return self.mlp_spec().build(seed)

    def memory_estimate(self) -> MemoryEstimate:
        """What training this network takes (the trainer's snapshots included, the dataset not)."""
        return self.mlp_spec().estimate_bytes(self.batch_size, self.optimizer, snapshots=Trainer.SNAPSHOTS)

    # -- rows ------------------------------------------------------------------------
    def add_layer(self, layer: dict | None = None, notify: bool = True) -> None:
        if len(self._rows) >= MAX_HIDDEN:
            self._show_error(
                f"At most {MAX_HIDDEN} hidden layers: deeper MLPs train badly here and would not fit on screen."
            )
            return
        if layer is None:
            prev = self._rows[-1].value() if self._rows else {"units": 64, "activation": "relu", "dropout": 0.0}
            layer = {**prev, "units": max(8, prev["units"] // 2) if self._rows else 64}
        row = _LayerRow(layer)
        row.changed.connect(self._changed)
        row.move.connect(self._move_row)
        row.remove.connect(self._remove_row)
        self._rows.append(row)
        self.rows_box.addWidget(row)
        if notify:
            self._changed()

    def _drop_row(self, row) -> None:
        self._rows.remove(row)
        self.rows_box.removeWidget(row)
        row.setParent(None)
        row.deleteLater()

    def _remove_row(self, row) -> None:
        self._drop_row(row)
        self._changed()

    def _move_row(self, row, delta: int) -> None:
        i = self._rows.index(row)
        j = i + delta
        if not 0 <= j < len(self._rows):
            return
        self._rows[i], self._rows[j] = self._rows[j], self._rows[i]
        self.rows_box.removeWidget(row)
        self.rows_box.insertWidget(j, row)
        self._changed()

    def _apply_preset(self, index: int) -> None:
        if index > 0:
            self.set_spec(PRESETS[index - 1][1])
        self.preset.setCurrentIndex(0)

    def rows(self) -> list[_LayerRow]:
        return list(self._rows)

    # -- validation and summary ---------------------------------------------------
    def validate(self, est: MemoryEstimate | None = None) -> str:
        """'' if the spec can be built and trained here, else a message for the user (``est``: the memory
        estimate if it is already computed)."""
        problems = self.mlp_spec().problems()
        if problems:
            return problems[0][0].upper() + problems[0][1:] + "."
        est = est or self.memory_estimate()
        total = est.total + self.dataset_bytes
        problem = memory_problem(
            total,
            f"Training this network at batch size {self.batch_size} (weights, gradients, optimizer state, "
            "activations, the trainer's snapshots and the dataset)",
            available_memory(),
        )
        return f"{problem}. Use fewer units or a smaller batch." if problem else ""

    def _show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _changed(self) -> None:
        if self._updating:
            return
        for i, row in enumerate(self._rows):
            row.index_label.setText(f"{i + 1}")
            for w, what in (
                (row.units, "Units of hidden layer"),
                (row.activation, "Activation of hidden layer"),
                (row.dropout, "Dropout of hidden layer"),
                (row.up, "Move up hidden layer"),
                (row.down, "Move down hidden layer"),
                (row.delete, "Remove hidden layer"),
            ):
                w.setAccessibleName(f"{what} {i + 1}")
            row.up.setEnabled(i > 0)
            row.down.setEnabled(i < len(self._rows) - 1)
            row.set_error(False)
        chain_tab_order(
            self.add_button,
            [w for r in self._rows for w in (r.units, r.activation, r.dropout, r.up, r.down, r.delete)] + [self.init],
        )
        full = len(self._rows) >= MAX_HIDDEN
        self.add_button.setEnabled(not full)
        self.add_button.setToolTip(
            f"{MAX_HIDDEN} hidden layers is the most this editor builds (the limit in nnstudio's limits table, "
            "the same for the CLI): remove one to add another"
            if full
            else "Add a hidden layer before the output"
        )
        est = self.estimate = self.memory_estimate()
        self.error = self.validate(est)
        if self.error:
            big = [r for r in self._rows if r.units.value() >= 1]
            if "memory" in self.error:
                for r in big:
                    r.set_error(r.units.value() == max(x.units.value() for x in big))
        self._show_error(self.error)
        self.input_label.setText(f"Input: {self.n_in} pixels (from the dataset)")
        self.output_label.setText(f"Output: {self.n_out} classes, softmax")
        spec = self.spec()
        mlp = self.mlp_spec()
        self.summary.setText(
            f"<b>{mlp.describe()}</b><br>{est.count:,} parameters · "
            f"{format_bytes(est.parameters)} weights · ≈{format_bytes(est.total)} to train"
        )
        self.summary.setToolTip(
            "<table>"
            + "".join(
                f"<tr><td>{label}</td><td align='right'>&nbsp;{format_bytes(n)}</td></tr>"
                for key, label, n in est.rows()
                if key != "dataset"
            )
            + f"<tr><td>plus the dataset in memory</td><td align='right'>&nbsp;{format_bytes(self.dataset_bytes)}"
            f"</td></tr></table>at batch size {self.batch_size} with {self.optimizer}; "
            "the same estimate as <code>nnstudio memory estimate</code>"
        )
        self.spec_changed.emit(spec)


def spec_from_network(net) -> dict:
    """Recover the editor spec from a built network (for Open)."""
    return MLPSpec.from_network(net).to_editor()
