"""Memory: the process's resident memory over time, and the model's own bytes by kind."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .layer_editor import human_bytes
from .training_charts import GrowingSeries, style_plot

KINDS = (("parameters", "Weights and biases", (30, 110, 235), "weights"),
         ("gradients", "Gradients", (240, 150, 30), "gradients"),
         ("optimizer", "Optimizer state", (60, 170, 90), "optimizer"),
         ("activations", "Activations kept for backward", (200, 60, 80), "activations"))


def model_memory_breakdown(net, optimizer=None, batch_size: int = 128) -> dict:
    """Bytes held by ``net`` by kind, summed from the arrays themselves.

    Parameters and gradients from ``p.data``/``p.grad``, optimizer state from
    ``optimizer.state_buffers()``, activations from each layer's ``cached_arrays()``
    (scaled to ``batch_size`` rows). When no forward pass is cached (before training,
    between epochs) the activations are computed from the layer shapes instead, and
    ``activations_measured`` is False.

    The measured numbers come from ``nnstudio.core.memory.account``; only the
    shape rule for an empty cache lives here.
    """
    from nnstudio.core.memory import account
    params = net.parameters()
    report = account(net, optimizer)
    out = {"parameters": report.parameters, "gradients": report.gradients, "optimizer": report.optimizer_state}
    cached = [a for layer in net.layers for a in layer.cached_arrays() if a is not None]
    if cached and cached[0].ndim >= 1 and cached[0].shape[0] > 0:
        rows = cached[0].shape[0]
        out["activations"] = int(report.activations * batch_size / rows)
        out["activations_measured"] = True
    else:
        itemsize = params[0].data.itemsize if params else 4
        size, total = net.input_size or 0, 0
        for layer in net.layers:
            new = layer.output_size(size)
            if layer.kind == "Dense":
                total += size * itemsize              # its input
            elif layer.kind == "ReLU":
                total += new                          # a boolean mask: one byte per value
            elif layer.kind == "Dropout":
                total += new * itemsize if getattr(layer, "p", 0) > 0 else 0
            elif layer.kind != "Linear":
                total += new * itemsize               # its input or output
            size = new
        out["activations"] = total * batch_size
        out["activations_measured"] = False
    out["total"] = out["parameters"] + out["gradients"] + out["optimizer"] + out["activations"]
    return out


def process_rss() -> int:
    try:
        import psutil
        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001
        return 0


class MemoryView(QWidget):
    """Left: process RSS over time (``memoryPlot``). Right: the model's bytes by kind."""

    def __init__(self, parent=None, window_seconds: float = 300.0):
        super().__init__(parent)
        self.setObjectName("memoryView")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("memoryPlot")
        self.plot.setAccessibleName("Process memory chart")
        style_plot(self.plot, "Process memory (RSS)", left="MB", bottom="seconds", grid=False)
        self.rss_item = self.plot.plot([], [], pen=pg.mkPen((30, 110, 235), width=2), fillLevel=0,
                                       brush=(30, 110, 235, 40))
        self.series = GrowingSeries(2048)
        self.t0 = time.monotonic()
        self.window_seconds = window_seconds

        self.bars = pg.PlotWidget()

        self.bars.setObjectName("memoryBreakdown")
        style_plot(self.bars, "The model's memory", bottom="KB")
        self.bars.setMouseEnabled(x=False, y=False)
        self.bars.getPlotItem().hideButtons()
        self.bar_item = pg.BarGraphItem(x0=np.zeros(4), y=np.arange(4), height=0.6, width=np.zeros(4),
                                        brushes=[pg.mkBrush(c) for _, _, c, _ in KINDS], pens=[None] * 4)
        self.bars.addItem(self.bar_item)
        self.bars.getAxis("left").setTicks([[(i, short) for i, (_, _, _, short) in enumerate(KINDS)]])
        self.bars.getPlotItem().invertY(True)
        self.bars.getPlotItem().showGrid(x=True, y=False, alpha=0.15)
        self.table = QLabel(objectName="memoryTable")
        self.table.setTextFormat(Qt.RichText)
        self.table.setWordWrap(True)
        self.breakdown: dict = {}
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

    def set_breakdown(self, breakdown: dict) -> None:
        self.breakdown = dict(breakdown)
        kb = np.array([breakdown.get(k, 0) for k, _, _, _ in KINDS], dtype=np.float64) / 1024
        self.bar_item.setOpts(width=kb)
        self.bars.setXRange(0, max(float(kb.max()), 1.0) * 1.05, padding=0)
        act_note = "" if breakdown.get("activations_measured") else " (from layer shapes: no batch cached now)"
        rows = "".join(f"<tr><td><span style='color:rgb{c}'>■</span> {name}</td>"
                       f"<td align='right'>&nbsp;{human_bytes(breakdown.get(k, 0))}</td></tr>"
                       for k, name, c, _ in KINDS)
        self.table.setText(f"<table>{rows}<tr><td><b>Total</b></td><td align='right'><b>&nbsp;"
                           f"{human_bytes(breakdown.get('total', 0))}</b></td></tr></table>"
                           f"<small>Summed from the arrays themselves{act_note}.</small>")
        self.updates += 1
