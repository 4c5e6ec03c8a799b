"""Live training charts: loss per step (raw + debiased EMA), accuracy per epoch, gradient magnitudes.

Every chart creates its plot items once and afterwards only calls ``setData``
on them (pyqtgraph's PlotSpeedTest pattern); the data live in growing NumPy
buffers so an update copies nothing but the new points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.training.series import DecimatedSeries

# Points a loss chart keeps (per curve) however long the session: the newest at full resolution.
CHART_POINTS = 8192

# Colours that read on both light and dark plot backgrounds.
RAW = (90, 140, 220)
EMA = (30, 110, 235)
TEST = (240, 150, 30)
TRAIN = (30, 110, 235)
LAYER_COLOURS = [
    (30, 110, 235),
    (240, 150, 30),
    (60, 170, 90),
    (200, 60, 80),
    (150, 90, 200),
    (40, 170, 190),
    (170, 130, 60),
    (120, 120, 120),
    (220, 100, 180),
]


def is_dark() -> bool:
    app = QApplication.instance()
    if app is None:
        return False
    return app.palette().color(QPalette.Window).lightness() < 128


def style_plot(plot: pg.PlotWidget, title: str, left: str = "", bottom: str = "", grid: bool = True) -> None:
    """Background and text colours from the application palette (light or dark).

    ``grid=False`` for charts that redraw while training: pyqtgraph draws grid lines
    with the axes, so a grid makes every curve update repaint the axis text too.
    """
    plot._nn_style = (title, left, bottom, grid)
    pal = QApplication.instance().palette()
    bg = pal.color(QPalette.Base)
    fg = pal.color(QPalette.Text)
    plot.setBackground(bg)
    item = plot.getPlotItem()
    item.setTitle(f"<span style='font-size:10pt; font-weight:600'>{title}</span>", color=fg)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(fg.darker(110) if not is_dark() else fg))
        axis.setTextPen(pg.mkPen(fg))
    if left:
        item.setLabel("left", left, color=fg.name())
    if bottom:
        item.setLabel("bottom", bottom, color=fg.name())
    item.showGrid(x=grid, y=grid, alpha=0.15)
    plot.setMenuEnabled(True)


def theme_plot(plot: pg.PlotWidget) -> None:
    """Palette colours (background, axes, labels, title, legend) for a plot whose texts are set
    elsewhere: every chart follows the light or dark theme."""
    pal = QApplication.instance().palette()
    bg, fg = pal.color(QPalette.Base), pal.color(QPalette.Text)
    plot.setBackground(bg)
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(fg.darker(110) if not is_dark() else fg))
        axis.setTextPen(pg.mkPen(fg))
        if axis.labelText:
            axis.labelStyle = {**axis.labelStyle, "color": fg.name()}
            axis._updateLabel()
    if item.titleLabel.text:
        item.titleLabel.setText(item.titleLabel.text, color=fg)
    if item.legend is not None:
        item.legend.setLabelTextColor(fg)


def restyle_plots(root: QWidget) -> None:
    """Re-apply palette colours to every plot under ``root`` (after a theme switch)."""
    pal = QApplication.instance().palette()
    for plot in root.findChildren(pg.PlotWidget):
        args = getattr(plot, "_nn_style", None)
        if args is not None:
            style_plot(plot, *args)
        else:
            theme_plot(plot)
    for gw in root.findChildren(pg.GraphicsLayoutWidget):
        gw.setBackground(pal.color(QPalette.Base))


class GrowingSeries:
    """x/y buffers that double in size; ``view()`` returns the filled part without copying."""

    def __init__(self, capacity: int = 1024):
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        m = len(y)
        if self.n + m > len(self.y):
            cap = max(2 * len(self.y), self.n + m)
            self.x = np.resize(self.x, cap)
            self.y = np.resize(self.y, cap)
        self.x[self.n : self.n + m] = x
        self.y[self.n : self.n + m] = y
        self.n += m

    def clear(self) -> None:
        self.n = 0

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


def debiased_ema(
    values: np.ndarray, smoothing: float, state: tuple[float, int] = (0.0, 0)
) -> tuple[np.ndarray, tuple[float, int]]:
    """TensorBoard's smoothing: an EMA started at 0 and divided by (1 - w^t) to remove the start-up bias.

    Returns the smoothed values and the state to continue from with the next values.
    Non-finite values are skipped (they keep the previous smoothed value).
    """
    w = float(smoothing)
    last, t = state
    out = np.empty(len(values), dtype=np.float64)
    prev = last / (1 - w**t) if t and w < 1 else (values[0] if len(values) else 0.0)
    for i, v in enumerate(values):
        if np.isfinite(v):
            t += 1
            last = last * w + (1 - w) * v
            prev = last / (1 - w**t) if w < 1 else v
        out[i] = prev
    return out, (last, t)


class HoverReadout:
    """A label in the plot's corner that shows the curve values under the mouse."""

    def __init__(self, plot: pg.PlotWidget, describe):
        self.plot, self.describe = plot, describe
        self.text = pg.TextItem(anchor=(1, 0), color=QApplication.instance().palette().color(QPalette.Text))
        self.text.setZValue(100)
        plot.addItem(self.text, ignoreBounds=True)
        self.line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128, 120), width=1))
        self.line.hide()
        plot.addItem(self.line, ignoreBounds=True)
        self._proxy = pg.SignalProxy(plot.scene().sigMouseMoved, rateLimit=30, slot=self._moved)

    def _moved(self, event) -> None:
        pos = event[0]
        vb = self.plot.getPlotItem().vb
        if not self.plot.sceneBoundingRect().contains(pos) or not vb.sceneBoundingRect().contains(pos):
            self.text.setText("")
            self.line.hide()
            return
        point = vb.mapSceneToView(pos)
        text = self.describe(point.x())
        self.text.setText(text or "")
        self.line.setVisible(bool(text))
        self.line.setPos(point.x())
        (x0, x1), (y0, y1) = vb.viewRange()
        self.text.setPos(x1, y1)


def _nearest(x: np.ndarray, value: float) -> int | None:
    if len(x) == 0:
        return None
    i = int(np.searchsorted(x, value))
    i = min(max(i, 0), len(x) - 1)
    if i > 0 and abs(x[i - 1] - value) < abs(x[i] - value):
        i -= 1
    return i


class LossChart(QWidget):
    """Training loss per step: faint raw line, bold debiased EMA, test loss per epoch as dots.

    The x axis is in epochs (step / batches per epoch), so a fraction of an epoch shows
    as soon as the first batches are done.
    """

    smoothing_changed = Signal(float)

    def __init__(self, parent=None, smoothing: float = 0.6):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("lossPlot")
        self.plot.setAccessibleName("Loss chart")
        # The key is in the title (outside the plot area): a legend inside it would be repainted,
        # text and all, at every update.
        style_plot(
            self.plot,
            "Loss: <span style='color:#5a8cdc'>every batch</span> · "
            "<span style='color:#1e6eeb'>smoothed</span> · <span style='color:#f0961e'>test</span>",
            bottom="epoch",
            grid=False,
        )
        item = self.plot.getPlotItem()
        self.raw_item = item.plot([], [], pen=pg.mkPen(RAW + (90,), width=1), name="every batch", antialias=False)
        self.raw_item.setDownsampling(auto=True, method="peak")
        self.raw_item.setClipToView(True)
        # Wide antialiased lines are Qt's slow path (12 ms vs 1 ms for this curve): 2 px, no antialiasing.
        self.ema_item = item.plot([], [], pen=pg.mkPen(EMA, width=2), name="smoothed", antialias=False)
        self.ema_item.setDownsampling(auto=True, method="mean")
        self.ema_item.setClipToView(True)
        self.test_item = item.plot(
            [],
            [],
            pen=pg.mkPen(TEST, width=2),
            symbol="o",
            symbolSize=7,
            symbolBrush=TEST,
            symbolPen=None,
            name="test (per epoch)",
            antialias=False,
        )
        self.diverged_line = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen((217, 83, 79), width=2, style=Qt.DashLine),
            label="diverged",
            labelOpts={"position": 0.9, "color": (217, 83, 79)},
        )
        self.diverged_line.hide()
        item.addItem(self.diverged_line, ignoreBounds=True)
        # y from 0 to the largest loss so far, set by hand: autoranging on every update would
        # re-layout the axes (and repaint twice) several times a second.
        self.plot.disableAutoRange(axis="y")
        self.plot.setYRange(0, 2.5, padding=0)
        self._y_top = 2.5
        self.plot.setLabel("left", "loss", color=QApplication.instance().palette().color(QPalette.Text).name())
        self.planned_epochs = 5

        # a fixed memory budget however long the session: older steps are merged (multi-resolution)
        self.raw = DecimatedSeries(CHART_POINTS)
        self.ema = DecimatedSeries(CHART_POINTS)
        self.test = GrowingSeries(64)
        self.batches_per_epoch = 1
        self.smoothing = smoothing
        self._ema_state = (0.0, 0)
        self.hover = HoverReadout(self.plot, self._describe)

        self.slider = QSlider(Qt.Horizontal, objectName="smoothingSlider")
        self.slider.setRange(0, 99)
        self.slider.setValue(int(round(smoothing * 100)))
        self.slider.setToolTip("Smoothing of the bold line (TensorBoard's debiased exponential moving average)")
        self.slider.setAccessibleName("Smoothing")
        self.slider_label = QLabel()
        self.slider.valueChanged.connect(lambda v: self.set_smoothing(v / 100))
        self._update_label()
        controls = QHBoxLayout()
        controls.setContentsMargins(6, 0, 6, 0)
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.slider_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.plot, 1)
        lay.addLayout(controls)

    def _update_label(self) -> None:
        self.slider_label.setText(f"{self.smoothing:.2f}")

    def clear(self) -> None:
        self.raw.clear()
        self.ema.clear()
        self.test.clear()
        self._ema_state = (0.0, 0)
        self.diverged_line.hide()
        self.set_planned_epochs(self.planned_epochs)
        self._redraw()

    def set_planned_epochs(self, epochs: int) -> None:
        """Before any step: the x axis spans the run about to start (0 to ``epochs``), not pyqtgraph's 0-1."""
        self.planned_epochs = max(1, int(epochs))
        if self.raw.n == 0:
            self.set_x_extent(self.planned_epochs)

    def set_batches_per_epoch(self, n: int) -> None:
        self.batches_per_epoch = max(1, int(n))

    def add_steps(self, first_step: int, losses: np.ndarray, redraw: bool = True) -> None:
        """Append losses of steps ``first_step, first_step + 1, ...`` (1-based).

        With ``redraw=False`` the points are stored and drawn at the next :meth:`redraw`
        (the page redraws a few times a second, however often steps arrive).
        """
        losses = np.asarray(losses, dtype=np.float64)
        x = (first_step + np.arange(len(losses))) / self.batches_per_epoch
        self.raw.extend(x, losses)
        smooth, self._ema_state = debiased_ema(losses, self.smoothing, self._ema_state)
        self.ema.extend(x, smooth)
        if redraw:
            self._redraw()

    def redraw(self) -> None:
        self._redraw()

    def set_x_extent(self, epochs: float | None) -> None:
        """Fix the x axis to [0, epochs] for a run (no axis re-layout at every update); None: auto."""
        if epochs is None:
            self.plot.enableAutoRange(axis="x", enable=True)
        else:
            self.plot.setXRange(0, max(epochs, 0.05), padding=0.01)

    def add_test_point(self, epoch: int, loss: float | None) -> None:
        if loss is not None and np.isfinite(loss):
            self.test.extend(np.array([float(epoch)]), np.array([loss]))
            self.test_item.setData(*self.test.view())
            self._summarise()

    def set_history(self, step_loss, epochs: list[dict], batches_per_epoch: int, step_index=None) -> None:
        """Redraw everything from a saved History (Open); ``step_index``: the step of each loss
        (a long history's older points stand for several steps), default 1, 2, 3, ..."""
        self.clear()
        self.set_batches_per_epoch(batches_per_epoch)
        if len(step_loss):
            losses = np.asarray(step_loss, dtype=np.float64)
            steps = np.arange(1, len(losses) + 1) if step_index is None else np.asarray(step_index, dtype=np.float64)
            smooth, self._ema_state = debiased_ema(losses, self.smoothing, self._ema_state)
            self.raw.extend(steps / self.batches_per_epoch, losses)
            self.ema.extend(steps / self.batches_per_epoch, smooth)
            self._redraw()
        for e in epochs:
            self.add_test_point(e["epoch"], e.get("test_loss"))

    def mark_diverged(self, step: int, label: str = "diverged") -> None:
        """A dashed line where the guard stopped the run ("diverged": NaN; "collapsed": before NaN)."""
        self.diverged_line.label.setFormat(label)
        self.diverged_line.setPos(step / self.batches_per_epoch)
        self.diverged_line.show()

    def set_smoothing(self, w: float) -> None:
        self.smoothing = min(max(float(w), 0.0), 0.99)
        if self.slider.value() != int(round(self.smoothing * 100)):
            self.slider.setValue(int(round(self.smoothing * 100)))
        x, y = self.raw.view()
        smooth, self._ema_state = debiased_ema(y, self.smoothing)
        self.ema.clear()
        self.ema.extend(x, smooth)
        self._update_label()
        self._redraw()
        self.smoothing_changed.emit(self.smoothing)

    def _redraw(self) -> None:
        x, y = self.raw.view()
        self.raw_item.setData(x, y)
        self.ema_item.setData(*self.ema.view())
        self.test_item.setData(*self.test.view())
        finite = y[np.isfinite(y)]
        _, ty = self.test.view()
        top = max(float(finite.max()) if len(finite) else 0.0, float(ty.max()) if len(ty) else 0.0) * 1.05
        top = top if top > 0 else 2.5
        if abs(top - self._y_top) > 0.02 * self._y_top:
            self._y_top = top
            self.plot.setYRange(0, top, padding=0)
        self._summarise()

    def _summarise(self) -> None:
        """The chart in words, for screen readers: the latest loss values."""
        if self.raw.n == 0:
            text = "Loss chart: no training steps yet."
        else:
            n = self.raw.n
            text = (
                f"Loss chart: {n} steps, epoch {self.raw.x[n - 1]:.2f}; last batch loss {self.raw.y[n - 1]:.4f}, "
                f"smoothed {self.ema.y[self.ema.n - 1]:.4f}"
            )
            if self.test.n:
                text += (
                    f"; test loss after epoch {int(self.test.x[self.test.n - 1])}: {self.test.y[self.test.n - 1]:.4f}"
                )
        self.plot.setAccessibleDescription(text)
        self.setAccessibleDescription(text)

    def point_count(self) -> int:
        return self.raw.n

    def _describe(self, x: float) -> str:
        xs, ys = self.raw.view()
        i = _nearest(xs, x)
        if i is None:
            return ""
        step = int(round(xs[i] * self.batches_per_epoch))
        return f"step {step}  (epoch {xs[i]:.2f})\nloss {ys[i]:.4f}  smoothed {self.ema.y[i]:.4f}"


class AccuracyChart(pg.PlotWidget):
    """Train and test accuracy per epoch, in percent."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("accuracyPlot")
        self.setAccessibleName("Accuracy chart")
        style_plot(
            self,
            "Accuracy: <span style='color:#1e6eeb'>train</span> · <span style='color:#f0961e'>test</span>",
            bottom="epoch",
        )
        item = self.getPlotItem()
        self.train_item = item.plot(
            [],
            [],
            pen=pg.mkPen(TRAIN, width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=TRAIN,
            symbolPen=None,
            antialias=False,
        )
        self.test_item = item.plot(
            [],
            [],
            pen=pg.mkPen(TEST, width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=TEST,
            symbolPen=None,
            antialias=False,
        )
        self.getAxis("left").setLabel("%")
        self.train = GrowingSeries(64)
        self.test = GrowingSeries(64)
        self.planned_epochs = 5
        self.set_planned_epochs(5)
        self.hover = HoverReadout(self, self._describe)

    def set_planned_epochs(self, epochs: int) -> None:
        """Before any epoch: 0-100 % over the epochs of the run about to start."""
        self.planned_epochs = max(1, int(epochs))
        if self.train.n == 0 and self.test.n == 0:
            self.setYRange(0, 100, padding=0.02)
            self.setXRange(0.5, self.planned_epochs + 0.5, padding=0)

    def clear_points(self) -> None:
        self.train.clear()
        self.test.clear()
        self._redraw()
        self.set_planned_epochs(self.planned_epochs)

    def add_epoch(self, epoch: int, train_acc: float | None, test_acc: float | None) -> None:
        if train_acc is not None:
            self.train.extend(np.array([float(epoch)]), np.array([100 * train_acc]))
        if test_acc is not None:
            self.test.extend(np.array([float(epoch)]), np.array([100 * test_acc]))
        self._redraw()

    def set_history(self, epochs: list[dict]) -> None:
        self.clear_points()
        for e in epochs:
            self.add_epoch(e["epoch"], e.get("train_accuracy"), e.get("test_accuracy"))

    def _redraw(self) -> None:
        self.train_item.setData(*self.train.view())
        self.test_item.setData(*self.test.view())
        _, ty = self.train.view()
        _, sy = self.test.view()
        ys = np.concatenate([ty, sy])
        if len(ys):
            lo = max(0.0, min(float(ys.min()) - 2, 90.0))
            self.setYRange(lo, 100, padding=0.02)
            self.setXRange(0.5, max(5, self.train.n, self.test.n) + 0.5, padding=0)
        text = "Accuracy chart: no epochs yet."
        if len(ty) or len(sy):
            text = "Accuracy chart: " + ", ".join(
                f"{name} {vals[-1]:.2f}% after epoch {int(xs[-1])}"
                for name, (xs, vals) in (("train", self.train.view()), ("test", self.test.view()))
                if len(vals)
            )
        self.setAccessibleDescription(text)

    def _describe(self, x: float) -> str:
        tx, ty = self.train.view()
        i = _nearest(tx, x)
        if i is None:
            return ""
        text = f"epoch {int(tx[i])}\ntrain {ty[i]:.2f}%"
        sx, sy = self.test.view()
        j = _nearest(sx, x)
        if j is not None and sx[j] == tx[i]:
            text += f"\ntest {sy[j]:.2f}%"
        return text


class GradientChart(pg.PlotWidget):
    """RMS of each Dense layer's weight gradient over training (log scale).

    Lines that fall towards 1e-6 for the first layers mean vanishing gradients; lines
    that shoot up mean exploding ones.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("gradientPlot")
        self.setAccessibleName("Gradient chart")
        style_plot(self, self.TITLE, bottom="epoch", left="RMS of dL/dW", grid=False)
        self.setLogMode(y=True)
        # The key sits in the title, outside the plot area, so it never covers a curve.
        self.legend = None
        self.planned_epochs = 5
        self.items: list[pg.PlotDataItem] = []
        self.series: list[DecimatedSeries] = []
        self.batches_per_epoch = 1

    TITLE = "Gradient size per layer"

    def set_planned_epochs(self, epochs: int) -> None:
        """Before any step: 0 to ``epochs`` on x and 1e-5 to 1 (typical RMS gradients) on the log y axis."""
        self.planned_epochs = max(1, int(epochs))
        if self.point_count() == 0:
            self.setXRange(0, self.planned_epochs, padding=0.01)
            self.setYRange(-5, 0, padding=0)  # log10 units

    def reset(self, n_layers: int, batches_per_epoch: int = 1) -> None:
        for it in self.items:
            self.removeItem(it)
        self.items, self.series = [], []
        self.batches_per_epoch = max(1, batches_per_epoch)
        for i in range(n_layers):
            colour = LAYER_COLOURS[i % len(LAYER_COLOURS)]
            name = f"layer {i + 1}" + (" (output)" if i == n_layers - 1 else "")
            it = self.plot([], [], pen=pg.mkPen(colour, width=1), name=name)
            it.setDownsampling(auto=True, method="mean")
            it.setClipToView(True)
            self.items.append(it)
            self.series.append(DecimatedSeries(CHART_POINTS // 2))
        key = " · ".join(
            f"<span style='color:rgb{LAYER_COLOURS[i % len(LAYER_COLOURS)]}'>"
            + (f"layer {i + 1}" + (" (output)" if i == n_layers - 1 else ""))
            + "</span>"
            for i in range(n_layers)
        )
        style_plot(
            self, f"{self.TITLE}: {key}" if n_layers else self.TITLE, bottom="epoch", left="RMS of dL/dW", grid=False
        )
        self.set_planned_epochs(self.planned_epochs)

    def add(self, steps: np.ndarray, norms: np.ndarray, redraw: bool = True) -> None:
        if norms.size == 0 or norms.shape[1] != len(self.series):
            return
        x = steps / self.batches_per_epoch
        for i, s in enumerate(self.series):
            s.extend(x, np.maximum(norms[:, i], 1e-12))
        if redraw:
            self.redraw()

    def redraw(self) -> None:
        for it, s in zip(self.items, self.series):
            it.setData(*s.view())
        if self.point_count() and not self.getPlotItem().vb.autoRangeEnabled()[1]:
            self.enableAutoRange()  # the empty chart's fixed range is done; follow the data
        if self.point_count():
            last = ", ".join(f"layer {i + 1} {s.y[s.n - 1]:.3g}" for i, s in enumerate(self.series) if s.n)
            self.setAccessibleDescription(f"Gradient chart, latest RMS gradient per layer: {last}")
        else:
            self.setAccessibleDescription("Gradient chart: no training steps yet.")

    def showEvent(self, event) -> None:
        self.redraw()
        super().showEvent(event)

    def point_count(self) -> int:
        return self.series[0].n if self.series else 0
