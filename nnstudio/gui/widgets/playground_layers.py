"""A compact editor for a small network's hidden layers: add/remove layers, neurons and activation per layer."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSpinBox, QToolButton, QVBoxLayout, QWidget

from nnstudio.core.lessons.playground import HIDDEN_ACTIVATIONS, MAX_LAYERS, MAX_NEURONS

from .controls import chain_tab_order

ACTIVATION_LABELS = {
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "sigmoid": "Sigmoid",
    "elu": "ELU",
    "softplus": "Softplus",
    "gelu": "GELU",
    "swish": "Swish",
    "linear": "Linear",
}


class CompactLayerEditor(QWidget):
    """Rows of (neurons, activation), one per hidden layer, with + / - buttons.

    ``changed`` fires with (sizes, activations) after any edit.
    """

    changed = Signal(list, list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("playgroundLayerEditor")
        self._rows: list[tuple[QLabel, QSpinBox, QComboBox]] = []
        self._updating = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.count_label = QLabel()
        self.remove_button = QToolButton(text="\u2212", objectName="removeLayer")
        self.remove_button.setAccessibleName("Remove the last hidden layer")
        self.remove_button.setToolTip("Remove the last hidden layer")
        self.add_button = QToolButton(text="+", objectName="addLayer")
        self.add_button.setAccessibleName("Add a hidden layer")
        self.add_button.setToolTip("Add a hidden layer")
        self.remove_button.clicked.connect(self.remove_layer)
        self.add_button.clicked.connect(self.add_layer)
        head.addWidget(self.count_label, 1)
        head.addWidget(self.remove_button)
        head.addWidget(self.add_button)
        outer.addLayout(head)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(6)
        self.grid.setVerticalSpacing(3)
        outer.addLayout(self.grid)

    def set_layers(self, sizes: list[int], activations: list[str]) -> None:
        """Show these layers (no ``changed`` signal)."""
        self._updating = True
        try:
            for label, spin, combo in self._rows:
                for w in (label, spin, combo):
                    self.grid.removeWidget(w)
                    w.deleteLater()
            self._rows = []
            for size, act in zip(sizes, activations):
                self._append_row(size, act)
        finally:
            self._updating = False
        self._refresh()

    def _append_row(self, size: int, act: str) -> None:
        row = len(self._rows)
        label = QLabel(f"Layer {row + 1}")
        spin = QSpinBox(minimum=1, maximum=MAX_NEURONS, value=int(size))
        spin.setSuffix(" neurons")
        spin.setAccessibleName(f"Neurons in hidden layer {row + 1}")
        combo = QComboBox()
        for key in HIDDEN_ACTIVATIONS:
            combo.addItem(ACTIVATION_LABELS.get(key, key), key)
        combo.setCurrentIndex(max(0, combo.findData(act)))
        combo.setAccessibleName(f"Activation of hidden layer {row + 1}")
        spin.valueChanged.connect(self._emit)
        combo.currentIndexChanged.connect(self._emit)
        self.grid.addWidget(label, row, 0)
        self.grid.addWidget(spin, row, 1)
        self.grid.addWidget(combo, row, 2)
        self._rows.append((label, spin, combo))

    def sizes(self) -> list[int]:
        return [spin.value() for _, spin, _ in self._rows]

    def activations(self) -> list[str]:
        return [combo.currentData() for _, _, combo in self._rows]

    def add_layer(self) -> None:
        if len(self._rows) >= MAX_LAYERS:
            return
        last = self._rows[-1] if self._rows else None
        self._append_row(last[1].value() if last else 4, last[2].currentData() if last else "tanh")
        self._refresh()
        self._emit()

    def remove_layer(self) -> None:
        if not self._rows:
            return
        for w in self._rows.pop():
            self.grid.removeWidget(w)
            w.deleteLater()
        self._refresh()
        self._emit()

    def _refresh(self) -> None:
        n = len(self._rows)
        self.count_label.setText(f"{n} hidden layer{'s' if n != 1 else ''}")
        self.add_button.setEnabled(n < MAX_LAYERS)
        self.remove_button.setEnabled(n > 0)
        chain_tab_order(self.add_button, [w for _, spin, combo in self._rows for w in (spin, combo)])

    def _emit(self, *_):
        if not self._updating:
            self.changed.emit(self.sizes(), self.activations())
