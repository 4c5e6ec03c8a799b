"""Build & Train's "Things to try": each tip, and for the ones that compare two settings a button
that runs both and shows them side by side on the Runs page."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from nnstudio.core.runs import EXPERIMENTS, Experiment


class ThingsToTry(QWidget):
    compare_requested = Signal(object)  # the Experiment

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("studioTips")
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        title = QLabel("<b>Things to try</b>")
        title.setProperty("role", "hint")
        grid.addWidget(title, 0, 0, 1, 2)
        self.buttons: dict[str, QPushButton] = {}
        for row, exp in enumerate(EXPERIMENTS, start=1):
            text = QLabel("• " + exp.html, wordWrap=True)
            text.setTextFormat(Qt.RichText)
            text.setProperty("role", "hint")
            grid.addWidget(text, row, 0)
            if exp.is_pair:
                b = QPushButton("Run both", objectName=f"tryButton-{exp.key}")
                b.setToolTip("Train both runs one after the other, then compare them on the Runs page")
                b.clicked.connect(lambda _=False, e=exp: self.compare_requested.emit(e))
                grid.addWidget(b, row, 1, Qt.AlignTop)
                self.buttons[exp.key] = b
        grid.setColumnStretch(0, 1)

    def text(self) -> str:
        return " ".join(e.html for e in EXPERIMENTS)

    def experiment(self, key: str) -> Experiment:
        return next(e for e in EXPERIMENTS if e.key == key)
