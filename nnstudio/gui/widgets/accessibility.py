"""Accessible names for controls that have no words of their own.

A screen reader announces a button by its text and a field by the label Qt knows belongs to it
(a QFormLayout row, or a QLabel buddy). Controls placed beside a plain QLabel in a box layout, and
symbol-only buttons, get their names here, in one table keyed by objectName (the names scripts
and tests already use), applied once per page by the main window.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

NAMES = {
    # Build & Train
    "presetCombo": "Preset architectures",
    "initCombo": "Weight initialisation",
    # Backprop
    "backpropNetworkCombo": "Network to step through",
    "backpropSampleSource": "Sample source",
    "backpropSampleSpin": "Sample number",
    "backpropOptimizerCombo": "Optimizer",
    "backpropLrSpin": "Learning rate",
    "backpropWeightLayer": "Layer of the picked weight",
    "backpropWeightFrom": "Picked weight: from input",
    "backpropWeightTo": "Picked weight: to neuron",
    # Autograd
    "plotVariable": "Plot along variable",
    "xMin": "Plot from",
    "xMax": "Plot to",
    # Perceptron
    "weightSunny": "Sunny weight",
    "weightWeekend": "Weekend weight",
    "thresholdSlider": "Threshold",
    # Activations
    "spreadSlider": "Spread of the starting weights",
    # Playground
    "noiseSlider": "Noise",
    "splitSlider": "Share of test points",
    # Memory lab
    "memoryNetwork": "Network",
    "memoryBatch": "Batch size",
    "memorySegments": "Checkpoint segments",
    "memoryEpochs": "Epochs",
    "memoryImages": "Training images",
}


def name_controls(root: QWidget) -> None:
    """Give every control under ``root`` listed in :data:`NAMES` its accessible name (unless it has one),
    and make each chart one Tab stop (its summary is its accessible description), not two."""
    for widget in root.findChildren(QWidget):
        name = NAMES.get(widget.objectName())
        if name and not widget.accessibleName():
            widget.setAccessibleName(name)
    for view in root.findChildren(pg.GraphicsView):
        view.viewport().setFocusPolicy(Qt.NoFocus)
