"""Activation functions: each one with its derivative, what it does to a batch, and to gradients in a deep net.

The functions, derivatives, flat ranges and the deep-stack gradient norms all
come from :mod:`nnstudio.core.lessons.activations`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.lessons import activations as acts
from nnstudio.core.nn.functional import ACTIVATIONS
from nnstudio.gui.widgets.training_charts import theme_plot

X_RANGE = (-6.0, 6.0)
FLAT = 0.05  # |f'(x)| below this counts as "the gradient vanishes here"
BATCH = 4000
DEPTH = 10
INITS = (("Recommended for it", "auto"), ("Xavier", "xavier"), ("He", "he"))
FN_PEN = pg.mkPen((8, 119, 189), width=3)
GRAD_PEN = pg.mkPen((245, 147, 34), width=2.5, style=Qt.DashLine)


def recommended_init(name: str) -> str:
    return "xavier" if name in ("sigmoid", "tanh", "softplus") else "he"


class ActivationsPage(QWidget):
    title = "Activations"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("activationsPage")
        self.context = context
        self._norm_cache: dict[tuple[str, str], np.ndarray] = {}
        self.xs = np.linspace(*X_RANGE, 601)

        self.list = QListWidget(objectName="activationList")
        for a in ACTIVATIONS.values():
            self.list.addItem(a.label)
        self.list.setMaximumWidth(170)
        self.list.currentRowChanged.connect(self.select)
        self.info_label = QLabel(objectName="activationInfo")
        self.info_label.setWordWrap(True)
        self.info_label.setTextFormat(Qt.RichText)

        # function + derivative
        self.fn_plot = pg.PlotWidget(objectName="functionPlot")
        theme_plot(self.fn_plot)
        self.fn_plot.showGrid(x=True, y=True, alpha=0.3)
        self.fn_plot.setMouseEnabled(False, False)
        self.fn_plot.hideButtons()
        self.fn_plot.setLabel("bottom", "x (the neuron's weighted sum)")
        self.fn_plot.addLegend(offset=(10, 10))
        self.flat_regions: list[pg.LinearRegionItem] = []
        self.fn_curve = self.fn_plot.plot(pen=FN_PEN, name="f(x)")
        self.grad_curve = self.fn_plot.plot(pen=GRAD_PEN, name="f\u2032(x)  (slope)")
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 120, 120), style=Qt.DotLine))
        self.fn_plot.addItem(self.cursor, ignoreBounds=True)
        self.cursor_dots = pg.ScatterPlotItem(size=9)
        self.fn_plot.addItem(self.cursor_dots)
        self.readout = QLabel(objectName="hoverReadout")
        self.readout.setText("Move the mouse over the plot to read f(x) and its slope.")
        self.fn_plot.scene().sigMouseMoved.connect(self._on_mouse)

        # histograms
        self.spread_slider = QSlider(Qt.Horizontal, objectName="spreadSlider", minimum=1, maximum=50, value=20)
        self.spread_label = QLabel()
        self.spread_slider.valueChanged.connect(self.update_histograms)
        self.hist_before = self._small_plot("Batch before: x ~ N(0, \u03c3\u00b2)")
        self.hist_after = self._small_plot("After the activation: f(x)")
        self.bars_before = pg.BarGraphItem(x=[0], height=[0], width=1, brush=(150, 150, 150))
        self.bars_after = pg.BarGraphItem(x=[0], height=[0], width=1, brush=(8, 119, 189))
        self.hist_before.addItem(self.bars_before)
        self.hist_after.addItem(self.bars_after)
        self.hist_note = QLabel(objectName="histogramNote")
        self.hist_note.setWordWrap(True)

        # gradient flow
        self.init_combo = QComboBox(objectName="initCombo")
        for label, key in INITS:
            self.init_combo.addItem(label, key)
        self.init_combo.currentIndexChanged.connect(self.update_gradients)
        self.grad_plot = self._small_plot(f"Gradient size per layer of a {DEPTH}-layer net")
        self.grad_plot.setLogMode(y=True)
        self.grad_plot.setLabel("bottom", "layer (1 = nearest the input)")
        self.grad_plot.setLabel("left", "\u2016dLoss/dW\u2016")
        self.grad_plot.setXRange(0.5, DEPTH + 0.5, padding=0)
        self.other_curves = {}
        for a in ACTIVATIONS.values():
            self.other_curves[a.name] = self.grad_plot.plot(pen=pg.mkPen((190, 190, 190), width=1))
        self.grad_curve_main = self.grad_plot.plot(
            pen=pg.mkPen((198, 40, 40), width=3), symbol="o", symbolBrush=(198, 40, 40), symbolSize=7
        )
        self.grad_note = QLabel(objectName="gradientNote")
        self.grad_note.setWordWrap(True)

        # layout
        top = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Function</b>"))
        left.addWidget(self.list, 1)
        top.addLayout(left)
        mid = QVBoxLayout()
        mid.addWidget(self.info_label)
        mid.addWidget(self.fn_plot, 1)
        mid.addWidget(self.readout)
        top.addLayout(mid, 1)

        hist_box = QGroupBox("What it does to a batch of inputs")
        hl = QGridLayout(hist_box)
        form = QFormLayout()
        form.addRow(self.spread_label, self.spread_slider)
        hl.addLayout(form, 0, 0, 1, 2)
        hl.addWidget(self.hist_before, 1, 0)
        hl.addWidget(self.hist_after, 1, 1)
        hl.addWidget(self.hist_note, 2, 0, 1, 2)
        grad_box = QGroupBox("What it does to gradients flowing back")
        gl = QVBoxLayout(grad_box)
        gform = QFormLayout()
        gform.addRow("Weight initialisation", self.init_combo)
        gl.addLayout(gform)
        gl.addWidget(self.grad_plot, 1)
        gl.addWidget(self.grad_note)
        bottom = QHBoxLayout()
        bottom.addWidget(hist_box, 3)
        bottom.addWidget(grad_box, 2)

        outer = QVBoxLayout(self)
        outer.addLayout(top, 5)
        outer.addLayout(bottom, 4)
        self.batch = np.random.default_rng(0).standard_normal(BATCH)
        self.list.setCurrentRow(0)

    def _small_plot(self, title: str) -> pg.PlotWidget:
        p = pg.PlotWidget(title=title)
        theme_plot(p)
        p.setMouseEnabled(False, False)
        p.hideButtons()
        p.setMinimumHeight(170)
        return p

    @property
    def name(self) -> str:
        return list(ACTIVATIONS)[max(0, self.list.currentRow())]

    def select(self, row: int) -> None:
        if row < 0:
            return
        a = ACTIVATIONS[self.name]
        self.info_label.setText(f"<b>{a.label}</b>: f(x) = {a.formula}<br>{a.note}")
        fx, dfx = a.fn(self.xs), a.grad(self.xs)
        self.fn_curve.setData(self.xs, fx)
        self.grad_curve.setData(self.xs, dfx)
        for r in self.flat_regions:
            self.fn_plot.removeItem(r)
        self.flat_regions = []
        self.ranges = acts.vanishing_ranges(self.name, *X_RANGE, threshold=FLAT)
        for lo, hi in self.ranges:
            region = pg.LinearRegionItem((lo, hi), movable=False, brush=pg.mkBrush(198, 40, 40, 40), pen=pg.mkPen(None))
            region.setZValue(-10)
            self.fn_plot.addItem(region)
            self.flat_regions.append(region)
        ymin, ymax = float(min(fx.min(), dfx.min())), float(max(fx.max(), dfx.max()))
        ymax = min(ymax, 6.0)
        pad = 0.08 * (ymax - ymin)
        self.fn_plot.setRange(xRange=X_RANGE, yRange=(ymin - pad, ymax + pad), padding=0)
        self.fn_plot.setAccessibleDescription(self.function_summary(fx, dfx))
        self.update_histograms()
        self.update_gradients()

    def function_summary(self, fx: np.ndarray, dfx: np.ndarray) -> str:
        """The function plot in words, for screen readers: ranges of f and f', where f' is largest and flat."""

        def num(v: float) -> str:
            return f"{v + 0.0:.3g}"

        top = float(dfx.max())
        at = self.xs[dfx >= top - 1e-9 * max(1.0, abs(top))]
        where = f"at x={num(round(at[0], 2))}"
        if at[-1] - at[0] > 0.1:
            where = f"for x from {num(round(at[0], 2))} to {num(round(at[-1], 2))}"
        lo, hi = X_RANGE
        text = (
            f"{ACTIVATIONS[self.name].label} on {num(lo)}..{num(hi)}: value {num(fx.min())}..{num(fx.max())}, "
            f"derivative {num(dfx.min())}..{num(top)}, largest {where}"
        )
        if self.ranges:
            flat = " and ".join(f"{num(round(a, 1))} to {num(round(b, 1))}" for a, b in self.ranges)
            return text + f"; flat (slope below {FLAT}) for x from {flat}."
        return text + f"; the slope never drops below {FLAT}."

    def flat_text(self) -> str:
        if not self.ranges:
            return "Its slope never drops below 0.05 here: gradients always get through."
        parts = [f"{lo:+.1f} to {hi:+.1f}" for lo, hi in self.ranges]
        return (
            "Shaded red: the slope is below 0.05, so almost no gradient gets back through a neuron whose input "
            "is there (x from " + " and ".join(parts) + ")."
        )

    def _on_mouse(self, pos) -> None:
        vb = self.fn_plot.getPlotItem().vb
        if not self.fn_plot.sceneBoundingRect().contains(pos):
            return
        x = float(vb.mapSceneToView(pos).x())
        if not X_RANGE[0] <= x <= X_RANGE[1]:
            return
        self.show_readout(x)

    def show_readout(self, x: float) -> str:
        a = ACTIVATIONS[self.name]
        fx, dfx = float(a.fn(np.array([x]))[0]), float(a.grad(np.array([x]))[0])
        self.cursor.setPos(x)
        self.cursor_dots.setData([x, x], [fx, dfx], brush=[pg.mkBrush(8, 119, 189), pg.mkBrush(245, 147, 34)])
        flat = "  \u2014 flat: gradient vanishes" if abs(dfx) < FLAT else ""
        text = f"x = {x:+.2f}    f(x) = {fx:+.4f}    f\u2032(x) = {dfx:+.4f}{flat}"
        self.readout.setText(text)
        return text

    def update_histograms(self, *_):
        sigma = self.spread_slider.value() / 10
        self.spread_label.setText(f"Spread \u03c3 = {sigma:.1f}")
        x = self.batch * sigma
        h = acts.histograms(self.name, x, bins=40)
        for bars, (counts, edges) in ((self.bars_before, h["before"]), (self.bars_after, h["after"])):
            centers = (edges[:-1] + edges[1:]) / 2
            bars.setOpts(x=centers, height=counts, width=float(edges[1] - edges[0]) * 0.95)
        y = h["output"]
        a = ACTIVATIONS[self.name]
        flat = float(np.mean(np.abs(a.grad(x)) < FLAT))
        zero = float(np.mean(y == 0))
        note = (
            f"Output mean {y.mean():+.2f}, spread {y.std():.2f}. "
            f"{100 * flat:.0f}% of these inputs sit where the slope is below {FLAT}"
        )
        note += f"; {100 * zero:.0f}% come out exactly 0." if zero >= 0.005 else "."
        self.hist_note.setText(note + " " + self.flat_text())
        self.hist_before.setAccessibleDescription(
            f"Histogram of a batch of {len(x)} inputs, spread {sigma:.1f}: from {x.min():+.2f} to {x.max():+.2f}."
        )
        self.hist_after.setAccessibleDescription(
            f"Histogram after {ACTIVATIONS[self.name].label}: from {y.min() + 0.0:.3g} to {y.max():.3g}. {note}"
        )
        self.histogram_counts = h

    def _init_for(self, name: str) -> str:
        key = self.init_combo.currentData()
        return recommended_init(name) if key == "auto" else key

    def gradient_norms(self, name: str) -> np.ndarray:
        init = self._init_for(name)
        if (name, init) not in self._norm_cache:
            self._norm_cache[(name, init)] = acts.gradient_norms(name, depth=DEPTH, init=init)
        return self._norm_cache[(name, init)]

    def update_gradients(self, *_):
        layers = np.arange(1, DEPTH + 1)
        for name, curve in self.other_curves.items():
            curve.setData(layers, np.maximum(self.gradient_norms(name), 1e-30))
        norms = self.gradient_norms(self.name)
        self.grad_curve_main.setData(layers, np.maximum(norms, 1e-30))
        self.current_norms = norms
        ratio = norms[0] / norms[-1] if norms[-1] > 0 else float("nan")
        if ratio < 0.01:
            verdict = "the gradient vanishes on the way down: the first layers barely learn."
        elif ratio > 100:
            verdict = "the gradient explodes on the way down."
        else:
            verdict = "the gradient reaches the first layer in good shape."
        self.grad_note.setText(
            f"Red: {ACTIVATIONS[self.name].label}; grey: the other seven (log scale). "
            f"Layer 1 gets {ratio:.2g}\u00d7 the gradient of layer {DEPTH}: {verdict}"
        )
        self.grad_plot.setAccessibleDescription(
            f"Gradient size per layer of a {DEPTH}-layer {ACTIVATIONS[self.name].label} net, "
            f"{self._init_for(self.name).capitalize()} initialisation: layer 1 {norms[0]:.3g}, layer {DEPTH} "
            f"{norms[-1]:.3g}; {verdict}"
        )
