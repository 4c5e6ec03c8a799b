"""Memory: the process's resident memory over time, and what training the model holds, by kind.

The numbers come from :func:`nnstudio.core.memory.training_footprint`: the
network's own arrays counted live, the rest as the core's estimate counts them
(the same categories ``nnstudio memory estimate`` prints).
"""

from __future__ import annotations

import time

import numpy as np
import psutil
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from nnstudio.core.fmt import format_bytes
from nnstudio.core.nn.spec import MemoryEstimate
from nnstudio.core.training.series import DecimatedSeries

from .training_charts import style_plot

# (MemoryEstimate field, colour, short axis label), in the estimate's order
KINDS = (
    ("parameters", (30, 110, 235), "weights"),
    ("gradients", (240, 150, 30), "gradients"),
    ("optimizer_state", (60, 170, 90), "optimizer"),
    ("activations", (200, 60, 80), "activations"),
    ("workspace", (150, 100, 210), "temporaries"),
    ("snapshots", (40, 170, 190), "snapshots"),
    ("dataset", (150, 150, 150), "dataset"),
)
LABELS = dict(MemoryEstimate.LABELS)


def process_rss() -> int:
    try:
        return int(psutil.Process().memory_info().rss)
    except (OSError, psutil.Error):
        return 0


class MemoryView(QWidget):
    """Left: process RSS over time (``memoryPlot``). Right: the model's bytes by kind."""

    def __init__(self, parent=None, window_seconds: float = 300.0):
        super().__init__(parent)
        self.setObjectName("memoryView")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("memoryPlot")
        self.plot.setAccessibleName("Process memory chart")
        style_plot(self.plot, "Process memory (RSS)", left="MiB", bottom="seconds", grid=False)
        self.rss_item = self.plot.plot(
            [], [], pen=pg.mkPen((30, 110, 235), width=2), fillLevel=0, brush=(30, 110, 235, 40)
        )
        self.series = DecimatedSeries(4096)  # hours of samples in a fixed budget; the newest at full resolution
        self.t0 = time.monotonic()
        self.window_seconds = window_seconds

        self.bars = pg.PlotWidget()

        self.bars.setObjectName("memoryBreakdown")
        style_plot(self.bars, "What training this model holds", bottom="MiB")
        self.bars.setMouseEnabled(x=False, y=False)
        self.bars.getPlotItem().hideButtons()
        n = len(KINDS)
        self.bar_item = pg.BarGraphItem(
            x0=np.zeros(n),
            y=np.arange(n),
            height=0.6,
            width=np.zeros(n),
            brushes=[pg.mkBrush(c) for _, c, _ in KINDS],
            pens=[None] * n,
        )
        self.bars.addItem(self.bar_item)
        self.bars.getAxis("left").setTicks([[(i, short) for i, (_, _, short) in enumerate(KINDS)]])
        self.bars.getPlotItem().invertY(True)
        self.bars.getPlotItem().showGrid(x=True, y=False, alpha=0.15)
        self.table = QLabel(objectName="memoryTable")
        self.table.setTextFormat(Qt.RichText)
        self.table.setWordWrap(True)
        self.breakdown: MemoryEstimate | None = None
        self.activations_measured = False
        self.updates = 0

        right = QVBoxLayout()
        right.addWidget(self.bars, 1)
        right.addWidget(self.table)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot, 1)
        lay.addLayout(right, 1)

    def sample_rss(self) -> None:
        rss = process_rss()
        if rss:
            t = time.monotonic() - self.t0
            self.series.extend(np.array([t]), np.array([rss / 2**20]))
            if self.plot.isVisible():
                self._draw_rss()

    def _draw_rss(self) -> None:
        x, y = self.series.view()
        if len(x):
            keep = x >= x[-1] - self.window_seconds
            self.rss_item.setData(x[keep], y[keep])

    def showEvent(self, event) -> None:
        self._draw_rss()
        super().showEvent(event)

    def set_breakdown(self, estimate: MemoryEstimate, activations_measured: bool = False) -> None:
        self.breakdown = estimate
        self.activations_measured = activations_measured
        mib = np.array([getattr(estimate, k) for k, _, _ in KINDS], dtype=np.float64) / 2**20
        self.bar_item.setOpts(width=mib)
        self.bars.setXRange(0, max(float(mib.max()), 0.01) * 1.05, padding=0)
        act_note = (
            "activations measured on the batch in flight"
            if activations_measured
            else "activations counted from the layer shapes (no batch cached now)"
        )
        rows = "".join(
            f"<tr><td><span style='color:rgb{c}'>■</span> {LABELS[k]}</td>"
            f"<td align='right'>&nbsp;{format_bytes(getattr(estimate, k))}</td></tr>"
            for k, c, _ in KINDS
        )
        self.table.setText(
            f"<table>{rows}<tr><td><b>Total</b></td><td align='right'><b>&nbsp;"
            f"{format_bytes(estimate.total)}</b></td></tr></table>"
            f"<small>Weights, gradients and optimizer state summed from the arrays themselves; "
            f"{act_note}.</small>"
        )
        self.updates += 1
