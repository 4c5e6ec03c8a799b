"""The perceptron lesson: one neuron deciding about the beach, then learning logic gates with its rule.

All the arithmetic is in :mod:`nnstudio.core.lessons.perceptron`; this page sets the
inputs, steps the learner and draws the points and the decision line.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.lessons.perceptron import (
    PerceptronLearner,
    decide,
    gate_data,
    line_points,
    train_xor_network,
    weighted_sum,
)
from nnstudio.gui.widgets.controls import set_play_state
from nnstudio.gui.widgets.playground_colors import NEGATIVE, POSITIVE, to_rgba
from nnstudio.gui.widgets.training_charts import theme_plot

LO, HI = -0.5, 1.5  # the plane shown for the gates and the user's points
PROBLEMS = ("AND", "OR", "NAND", "XOR", "Your points")
MAX_EPOCHS = 50  # Play gives up after this many epochs
XOR_EXPLANATION = (
    "XOR is 1 when exactly one input is 1. The points (0,1) and (1,0) must be on one side of the line, (0,0) "
    "and (1,1) on the other, and no straight line can do that: whichever way it turns, one point is always on "
    "the wrong side. The rule keeps fixing one mistake by making another, so it never converges. "
    "Two neurons, each drawing its own line, and a third combining them can: press <b>Solve with a 2-2-1 "
    "network</b>."
)


def _slider(value: float) -> QSlider:
    s = QSlider(Qt.Horizontal, minimum=-20, maximum=20, value=round(value * 10))
    s.setMinimumWidth(160)
    return s


def _line_text(a: float, b: float, c: float) -> str:
    """``a*x1 + b*x2 = c`` as words read it: "0.40 x1 - 0.20 x2 = 0.10"."""
    return f"{a:.2f} x1 {'-' if b < 0 else '+'} {abs(b):.2f} x2 = {c:.2f}"


class PerceptronPage(QWidget):
    title = "Perceptron"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("perceptronPage")
        self.context = context
        self.user_points: list[tuple[float, float, int]] = []
        self.learner: PerceptronLearner | None = None
        self.last_index: int | None = None
        self.xor_solution = None
        self.timer = QTimer(self, interval=120)
        self.timer.timeout.connect(self._play_tick)
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_beach())
        layout.addWidget(self._build_learning(), 1)
        self.update_beach()
        self.reset_learning()

    # -- part 1: the beach decision ------------------------------------------------------
    def _build_beach(self) -> QGroupBox:
        box = QGroupBox("One neuron decides: shall we go to the beach?")
        grid = QGridLayout(box)
        self.sunny_check = QCheckBox("Is it sunny?", objectName="sunnyCheck", checked=True)
        self.weekend_check = QCheckBox("Is it the weekend?", objectName="weekendCheck")
        self.w_sunny = _slider(0.6)
        self.w_sunny.setObjectName("weightSunny")
        self.w_weekend = _slider(0.4)
        self.w_weekend.setObjectName("weightWeekend")
        self.threshold_slider = _slider(0.5)
        self.threshold_slider.setObjectName("thresholdSlider")
        self.w_sunny_label, self.w_weekend_label, self.threshold_label = QLabel(), QLabel(), QLabel()
        grid.addWidget(QLabel("<b>Inputs</b> (1 = yes, 0 = no)"), 0, 0)
        grid.addWidget(self.sunny_check, 1, 0)
        grid.addWidget(self.weekend_check, 2, 0)
        grid.addWidget(QLabel("<b>Weights</b>: how much each input matters"), 0, 1, 1, 2)
        grid.addWidget(self.w_sunny, 1, 1)
        grid.addWidget(self.w_sunny_label, 1, 2)
        grid.addWidget(self.w_weekend, 2, 1)
        grid.addWidget(self.w_weekend_label, 2, 2)
        grid.addWidget(self.threshold_slider, 3, 1)
        grid.addWidget(self.threshold_label, 3, 2)
        self.sum_label = QLabel(objectName="sumLabel")
        self.decision_label = QLabel(objectName="decisionLabel")
        f = self.decision_label.font()
        f.setPointSizeF(f.pointSizeF() * 1.4)
        f.setBold(True)
        self.decision_label.setFont(f)
        self.table_label = QLabel(objectName="beachTable")
        self.table_label.setTextFormat(Qt.RichText)
        result = QVBoxLayout()
        result.addWidget(self.sum_label)
        result.addWidget(self.decision_label)
        result.addStretch(1)
        grid.addLayout(result, 0, 3, 4, 1)
        grid.addWidget(self.table_label, 0, 4, 4, 1)
        grid.setColumnStretch(3, 1)
        for w in (self.sunny_check, self.weekend_check):
            w.toggled.connect(self.update_beach)
        for s in (self.w_sunny, self.w_weekend, self.threshold_slider):
            s.valueChanged.connect(self.update_beach)
        return box

    def beach_values(self) -> tuple[list[int], list[float], float]:
        inputs = [int(self.sunny_check.isChecked()), int(self.weekend_check.isChecked())]
        weights = [self.w_sunny.value() / 10, self.w_weekend.value() / 10]
        return inputs, weights, self.threshold_slider.value() / 10

    def update_beach(self, *_):
        inputs, weights, threshold = self.beach_values()
        self.w_sunny_label.setText(f"sunny weight {weights[0]:+.1f}")
        self.w_weekend_label.setText(f"weekend weight {weights[1]:+.1f}")
        self.threshold_label.setText(f"threshold {threshold:+.1f}")
        s = weighted_sum(inputs, weights)
        out = decide(inputs, weights, threshold)
        compare = ">" if out else "\u2264"
        self.sum_label.setText(
            f"weighted sum = {inputs[0]} \u00d7 {weights[0]:.1f} + {inputs[1]} \u00d7 "
            f"{weights[1]:.1f} = <b>{s:.2f}</b><br>"
            f"{s:.2f} {compare} threshold {threshold:.1f} \u2192 output <b>{out}</b>"
        )
        self.decision_label.setText("Go to the beach!" if out else "Stay at home.")
        rows = []
        for sunny in (0, 1):
            for weekend in (0, 1):
                o = decide([sunny, weekend], weights, threshold)
                rows.append(
                    f"<tr><td>{'yes' if sunny else 'no'}</td><td>{'yes' if weekend else 'no'}</td>"
                    f"<td align='right'>{weighted_sum([sunny, weekend], weights):.1f}</td>"
                    f"<td><b>{'beach' if o else 'home'}</b></td></tr>"
                )
        self.table_label.setText(
            "<table cellspacing=0 cellpadding=3><tr><th>sunny</th><th>weekend</th>"
            "<th>sum</th><th>decision</th></tr>" + "".join(rows) + "</table>"
        )

    # -- part 2: learning ------------------------------------------------------------------
    def _build_learning(self) -> QGroupBox:
        box = QGroupBox("Learning the weights: the perceptron rule")
        outer = QHBoxLayout(box)
        side = QVBoxLayout()
        form = QFormLayout()
        self.problem_combo = QComboBox(objectName="problemCombo")
        self.problem_combo.addItems(PROBLEMS)
        self.problem_combo.currentIndexChanged.connect(self.reset_learning)
        form.addRow("Problem", self.problem_combo)
        self.lr_spin = QDoubleSpinBox(
            objectName="perceptronLr", minimum=0.01, maximum=2.0, singleStep=0.05, value=0.1, decimals=2
        )
        self.lr_spin.valueChanged.connect(self.reset_learning)
        form.addRow("Learning rate", self.lr_spin)
        side.addLayout(form)
        rule = QLabel(
            "For each point: output = 1 if w\u00b7x > threshold else 0.<br>If it is wrong: "
            "w \u2190 w + rate\u00b7(target \u2212 output)\u00b7x and threshold \u2190 threshold "
            "\u2212 rate\u00b7(target \u2212 output)."
        )
        rule.setWordWrap(True)
        side.addWidget(rule)
        buttons = QGridLayout()
        self.step_button = QPushButton("Step (one point)", objectName="perceptronStep")
        self.epoch_button = QPushButton("One epoch", objectName="perceptronEpoch")
        self.play_button = QPushButton("Play", objectName="perceptronPlay", checkable=True)
        set_play_state(self.play_button, False)
        self.reset_button = QPushButton("\u21ba Reset", objectName="perceptronReset")
        self.step_button.clicked.connect(self.step)
        self.epoch_button.clicked.connect(self.run_epoch)
        self.play_button.toggled.connect(self.set_playing)
        self.reset_button.clicked.connect(self.reset_learning)
        buttons.addWidget(self.step_button, 0, 0)
        buttons.addWidget(self.epoch_button, 0, 1)
        buttons.addWidget(self.play_button, 1, 0)
        buttons.addWidget(self.reset_button, 1, 1)
        side.addLayout(buttons)
        self.clear_button = QPushButton("Clear my points", objectName="clearPoints")
        self.clear_button.clicked.connect(self.clear_points)
        side.addWidget(self.clear_button)
        self.epoch_label = QLabel(objectName="perceptronEpochLabel")
        self.status_label = QLabel(objectName="perceptronStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.RichText)
        side.addWidget(self.epoch_label)
        side.addWidget(self.status_label)
        self.mistakes_plot = pg.PlotWidget(objectName="mistakesPlot", title="Mistakes per epoch")
        theme_plot(self.mistakes_plot)
        self.mistakes_plot.setMouseEnabled(False, False)
        self.mistakes_plot.hideButtons()
        self.mistakes_plot.setMenuEnabled(False)
        self.mistakes_plot.setFixedHeight(130)
        self.mistakes_plot.setLabel("bottom", "epoch")
        self.mistake_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=(198, 40, 40))
        self.mistakes_plot.addItem(self.mistake_bars)
        self.xor_button = QPushButton("Solve with a 2-2-1 network", objectName="solveXorButton")
        self.xor_button.clicked.connect(self.solve_xor)
        side.addWidget(self.xor_button)
        side.addStretch(1)
        holder = QWidget()
        holder.setLayout(side)
        holder.setMaximumWidth(380)
        outer.addWidget(holder)

        self.plot = pg.PlotWidget(objectName="perceptronPlot")
        theme_plot(self.plot)
        self.plot.setAspectLocked(True)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setRange(xRange=(LO, HI), yRange=(LO, HI), padding=0.02)
        self.plot.setLabel("bottom", "x\u2081")
        self.plot.setLabel("left", "x\u2082")
        self.region = pg.ImageItem()
        self.plot.addItem(self.region)
        self.line = self.plot.plot(pen=pg.mkPen((30, 30, 30), width=3))
        self.margin_lines = [self.plot.plot(pen=pg.mkPen((30, 30, 30), width=1, style=Qt.DotLine)) for _ in range(2)]
        self.hidden_curves = [
            self.plot.plot(pen=pg.mkPen(c, width=2, style=Qt.DashLine)) for c in ((46, 125, 50), (142, 36, 170))
        ]
        self.points = pg.ScatterPlotItem(size=16, pen=pg.mkPen("w", width=1.5))
        self.current = pg.ScatterPlotItem(size=28, pen=pg.mkPen((220, 30, 30), width=3), brush=None)
        self.plot.addItem(self.points)
        self.plot.addItem(self.current)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.hint_label = QLabel(objectName="perceptronHint")
        self.hint_label.setWordWrap(True)
        self.hint_label.setTextFormat(Qt.RichText)
        plot_box = QVBoxLayout()
        plot_box.addWidget(self.plot, 1)
        plot_box.addWidget(self.hint_label)
        plot_box.addWidget(self.mistakes_plot)
        outer.addLayout(plot_box, 1)
        return box

    # -- learner -------------------------------------------------------------------------
    def problem(self) -> str:
        return self.problem_combo.currentText()

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        if self.problem() == "Your points":
            if not self.user_points:
                return np.zeros((0, 2)), np.zeros(0, dtype=int)
            arr = np.array(self.user_points)
            return arr[:, :2], arr[:, 2].astype(int)
        return gate_data(self.problem())

    def reset_learning(self, *_):
        self.set_playing(False)
        x, y = self.data()
        self.learner = PerceptronLearner(x, y, lr=self.lr_spin.value())
        self.last_index = None
        self.xor_solution = None
        mine = self.problem() == "Your points"
        self.clear_button.setVisible(mine)
        self.xor_button.setVisible(self.problem() == "XOR")
        self.hint_text = (
            "Click to add a blue point (target 1); Shift+click or right-click adds an orange point (target 0)."
            if mine
            else "Blue points should give 1, orange points 0. The neuron says 1 on the blue-shaded side of the "
            "line and 0 on the orange-shaded side; the ringed point is the one just looked at."
        )
        self.hint_label.setText(self.hint_text)
        self.redraw()

    def step(self) -> None:
        if not self._can_learn():
            return
        r = self.learner.step()
        self.last_index = r.index
        self.redraw()

    def run_epoch(self) -> None:
        if not self._can_learn():
            return
        self.learner.run_epoch()
        self.last_index = None
        self.redraw()

    def _can_learn(self) -> bool:
        if len(self.learner.x) == 0:
            self.status_label.setText("Add some points first: click on the plane.")
            return False
        if self.xor_solution is not None:
            self.xor_solution = None
        return True

    def set_playing(self, on: bool) -> None:
        if on and not self._can_learn():
            on = False
        if self.play_button.isChecked() != on:
            self.play_button.blockSignals(True)
            self.play_button.setChecked(on)
            self.play_button.blockSignals(False)
        set_play_state(self.play_button, on)
        self.timer.start() if on else self.timer.stop()

    def _play_tick(self) -> None:
        self.step()
        lr = self.learner
        if lr.converged or lr.epoch >= MAX_EPOCHS:
            self.set_playing(False)
            self.redraw()

    def solve_xor(self) -> None:
        self.set_playing(False)
        self.xor_solution = train_xor_network(seed=0)
        self.redraw()

    def clear_points(self) -> None:
        self.user_points.clear()
        self.reset_learning()

    def add_point(self, x: float, y: float, label: int) -> None:
        self.user_points.append((float(x), float(y), int(label)))
        if self.problem() != "Your points":
            self.problem_combo.setCurrentText("Your points")  # resets the learner
        else:
            self.reset_learning()

    def _on_click(self, event) -> None:
        if self.problem() != "Your points":
            return
        pos = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        if not (LO <= pos.x() <= HI and LO <= pos.y() <= HI):
            return
        negative = event.button() == Qt.RightButton or bool(event.modifiers() & Qt.ShiftModifier)
        self.add_point(pos.x(), pos.y(), 0 if negative else 1)

    # -- drawing -------------------------------------------------------------------------------
    def redraw(self) -> None:
        lr = self.learner
        x, y = lr.x, lr.y
        if len(x):
            brushes = [pg.mkBrush(*POSITIVE) if t else pg.mkBrush(*NEGATIVE) for t in y]
            self.points.setData(pos=x, brush=brushes, symbol=["o" if t else "s" for t in y])
        else:
            self.points.setData([], [])
        if self.last_index is not None and len(x):
            self.current.setData(pos=x[self.last_index : self.last_index + 1])
        else:
            self.current.setData([], [])
        res = 80
        coords = np.linspace(LO, HI, res)
        gx, gy = np.meshgrid(coords, coords)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        sol = self.xor_solution
        if sol is not None:
            values = sol.output(grid) * 2 - 1
            for curve, (a, b, c) in zip(self.hidden_curves, sol.hidden_lines()):
                pts = line_points(a, b, c, LO - 1, HI + 1)
                curve.setData(*pts) if pts else curve.setData([], [])
            self.line.setData([], [])
            for curve in self.margin_lines:
                curve.setData([], [])
        else:
            values = np.where(lr.perceptron.net_input(grid) > 0, 1.0, -1.0)
            pts = line_points(*lr.perceptron.line(), LO - 1, HI + 1)
            self.line.setData(*pts) if pts else self.line.setData([], [])
            a, b, c = lr.perceptron.line()
            d, _ = lr.perceptron.margin(lr.x) if lr.converged else (float("inf"), -1)
            for sign, curve in zip((1, -1), self.margin_lines):
                far = line_points(a, b, c + sign * d * float(np.hypot(a, b)), LO - 1, HI + 1) if 0 < d < 10 else None
                curve.setData(*far) if far else curve.setData([], [])
            for curve in self.hidden_curves:
                curve.setData([], [])
        self.region.setImage(to_rgba(values.reshape(res, res) * 0.35), autoLevels=False, levels=(0, 255))
        step = (HI - LO) / (res - 1)
        self.region.setRect(QRectF(LO - step / 2, LO - step / 2, HI - LO + step, HI - LO + step))
        self.plot.setRange(xRange=(LO, HI), yRange=(LO, HI), padding=0.02)
        self._update_status()

    def _update_status(self) -> None:
        lr = self.learner
        m = lr.mistakes_per_epoch
        self.mistake_bars.setOpts(x=np.arange(1, len(m) + 1), height=np.asarray(m, dtype=float), width=0.8)
        self.mistakes_plot.setXRange(0.4, max(len(m), 5) + 0.6, padding=0)
        self.mistakes_plot.setYRange(0, max(max(m, default=1), 1) + 0.5, padding=0)
        w = lr.weights
        self.epoch_label.setText(
            f"Epoch {lr.epoch} (point {lr.position + 1 if len(lr.x) else 0} of {len(lr.x)}), "
            f"{lr.updates} updates<br>weights ({w[0]:+.2f}, {w[1]:+.2f}), "
            f"threshold {lr.threshold:+.2f}"
        )
        self.epoch_label.setTextFormat(Qt.RichText)
        sol = self.xor_solution
        explanation = ""
        if sol is not None:
            text = f"<b>Solved by a 2-2-1 network</b> (trained in {sol.epochs} steps)."
            explanation = (
                "Each dashed line belongs to one hidden neuron, which switches on on one side of it. Together the "
                "two lines cut the plane into three parts, and the output neuron says 1 only where the hidden "
                "neurons disagree: (0,1) and (1,0) land on one side, (0,0) and (1,1) on the other. The shading is "
                "the network's output; two lines make the bend that one line could not."
            )
        elif lr.epoch == 0:
            text = "Not trained yet: press Step, One epoch or Play."
        elif lr.converged:
            text = (
                f"<b style='color:#2e7d32'>Converged</b> after {lr.epoch} epoch{'s' if lr.epoch != 1 else ''}: "
                "a whole epoch without a mistake, every point is on its side of the line."
            )
            explanation = self._margin_text()
        else:
            text = (
                f"<b style='color:#c62828'>Not converged</b> after {lr.epoch} epochs "
                f"({lr.mistakes_per_epoch[-1]} mistake{'s' if lr.mistakes_per_epoch[-1] != 1 else ''} "
                "in the last one)."
            )
            if self.problem() == "XOR" and lr.epoch >= 3:
                explanation = XOR_EXPLANATION
            elif lr.epoch >= MAX_EPOCHS and self.problem() == "Your points":
                explanation = "If no straight line separates blue from orange, it never will."
        self.status_label.setText(text)
        self.hint_label.setText(explanation or self.hint_text)
        self._summarise()

    def _summarise(self) -> None:
        """Both charts in words, for screen readers: the line, how many points it gets right, the mistakes."""
        lr, sol = self.learner, self.xor_solution
        n = len(lr.x)
        if not n:
            plane = f"Perceptron, {self.problem()}: no points yet."
        elif sol is not None:
            lines = "; ".join(_line_text(*abc) for abc in sol.hidden_lines())
            right = int(np.sum(sol.predict(lr.x) == lr.y))
            plane = f"XOR solved by a 2-2-1 network: hidden lines {lines}; {right}/{n} points correct."
        else:
            a, b, c = lr.perceptron.line()
            right = int(np.sum(lr.predict(lr.x) == lr.y))
            line = f"line {_line_text(a, b, c)}" if a or b else "no line yet, every point gets 0"
            plane = (
                f"Perceptron, {self.problem()}: {line} (weights ({a:+.2f}, {b:+.2f}), threshold {c:+.2f}), "
                f"{right}/{n} points correct."
            )
        self.plot.setAccessibleDescription(plane)
        m = lr.mistakes_per_epoch
        if not m:
            mistakes = "Mistakes per epoch: no epoch finished yet."
        else:
            shown = ", ".join(str(k) for k in m[-10:])
            mistakes = f"Mistakes per epoch, {len(m)} epoch{'s' if len(m) != 1 else ''}"
            mistakes += f" (last 10): {shown}" if len(m) > 10 else f": {shown}"
            mistakes += "; converged." if lr.converged else "."
        self.mistakes_plot.setAccessibleDescription(mistakes)

    def _margin_text(self) -> str:
        """The margin of a converged line, and why it may be zero."""
        lr = self.learner
        d, i = lr.perceptron.margin(lr.x)
        if i < 0:
            return ""
        px, py = lr.x[i]
        text = f"Margin: the closest point, ({px:g}, {py:g}), is {d:.2f} from the line"
        text += ". " if d < 1e-9 else " (dotted lines: the margin on both sides). "
        if d < 1e-9:
            text += (
                "It sits exactly on the line: the neuron outputs 1 only when w·x is <i>greater</i> than the "
                "threshold, so a point on the line gets 0, which is right for it. The rule stops at the first line "
                "that makes no mistake; it does not look for the widest gap (a support-vector machine does)."
            )
        else:
            text += "The rule stops at the first line that makes no mistake, not at the one with the widest gap."
        return text

    def shutdown(self) -> None:
        self.set_playing(False)

    def hideEvent(self, event) -> None:
        self.set_playing(False)
        super().hideEvent(event)
