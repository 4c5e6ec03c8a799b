"""Autograd: type a formula, see f and f', its computation graph, and the chain rule step by step.

Everything computed here comes from :mod:`nnstudio.core.autograd.expr` (the safe parser,
symbolic derivative, chain-rule steps) and :mod:`nnstudio.core.autograd` (the
engine); the page only lays it out.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics, QTextDocument
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.autograd.expr import ExprError, parse

from ..widgets.controls import chain_tab_order
from ..widgets.graph_view import GraphView
from ..widgets.training_charts import theme_plot

# (button text, expression, starting values)
EXAMPLES = (
    ("x² + 3x + 5", "x**2 + 3*x + 5", {"x": 2.0}),
    ("(x + 2)²", "(x + 2)**2", {"x": 1.0}),
    ("Neuron: sigmoid(w·x + b)", "sigmoid(w*x + b)", {"x": 1.0, "w": 2.0, "b": -1.0}),
)
DEBOUNCE_MS = 250
CURVE_POINTS = 801
DERIVATIVE_CHARS = 400  # longer symbolic derivatives are cut (the full text is in the tooltip)
ERROR_COLOR = "#d9480f"  # readable on light and dark backgrounds
F_COLOR, DF_COLOR, TANGENT_COLOR = "#1f77b4", "#e8590c", "#2f9e44"


def _num(v: float) -> str:
    return "undefined" if not math.isfinite(v) else f"{v:.4g}"


class AutogradPage(QWidget):
    """The Autograd page; see the module docstring."""

    title = "Autograd"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("autogradPage")
        self.context = context
        self.expression = None  # last expression that parsed
        self.graph = None  # core Graph at the current point
        self.steps = []  # backward steps of self.graph
        self.steps_done = 0  # how many of them are revealed
        self.values: dict[str, float] = {"x": 1.0}
        self.spins: dict[str, QDoubleSpinBox] = {}
        self._syncing = False

        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_expression)
        self._build()
        self.load_example(1)

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        intro = QLabel(
            "Type a formula. Autograd records every operation as a box in a graph, then walks it "
            "backwards multiplying local derivatives (the chain rule) to get the slope. The plot "
            "shows f, its derivative f′ and the tangent at the point you pick."
        )
        intro.setWordWrap(True)

        self.input = QLineEdit(objectName="expressionInput")
        self.input.setPlaceholderText("e.g. x**2 + 3*x + 5,  (x + 2)^2,  sigmoid(w*x + b),  3x sin(x)")
        self.input.setToolTip(
            "Numbers, one-letter variables (x, w, b…), + − * / and ** or ^ for powers, "
            "implicit products like 3x and 2(x+1).\nFunctions: sin cos tan exp log sqrt abs "
            "tanh sigmoid relu. Constants: pi, e."
        )
        mono = QFontDatabase.systemFont(QFontDatabase.FixedFont)
        big = QFont(mono)
        big.setPointSizeF(max(11.0, mono.pointSizeF() * 1.15))
        self.input.setFont(big)
        self.input.setAccessibleName("Expression")
        self.input.textEdited.connect(lambda _t: self._debounce.start())
        self.input.returnPressed.connect(self.apply_expression)
        self.output_label = QLabel("y =")
        self.output_label.setFont(big)

        self.error = QLabel(objectName="expressionError")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.RichText)
        self.derivative_label = QLabel(objectName="derivativeLabel")
        self.derivative_label.setTextFormat(Qt.PlainText)
        self.derivative_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.derivative_label.setWordWrap(True)

        examples = QHBoxLayout()
        examples.addWidget(QLabel("Examples:"))
        self.example_buttons = []
        for i, (label, text, _values) in enumerate(EXAMPLES):
            b = QPushButton(label, objectName=f"exampleButton{i}")
            b.setToolTip(f"Load {text}")
            b.clicked.connect(lambda _=False, k=i: self.load_example(k))
            examples.addWidget(b)
            self.example_buttons.append(b)
        examples.addStretch(1)

        top = QGridLayout()
        top.addWidget(self.output_label, 0, 0)
        top.addWidget(self.input, 0, 1)
        # The error and the derivative share one slot of fixed height (two lines): an error shows in
        # place of the derivative and never pushes the page down.
        self.message_slot = QStackedWidget(objectName="expressionMessageSlot")
        self.message_slot.addWidget(self.derivative_label)
        self.message_slot.addWidget(self.error)
        self.message_slot.setFixedHeight(
            2 * max(self.fontMetrics().lineSpacing(), QFontMetrics(mono).lineSpacing()) + 6
        )
        for label in (self.error, self.derivative_label):
            label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        top.addWidget(self.message_slot, 1, 1)
        top.setColumnStretch(1, 1)

        # the point: one spin box per variable (built per expression), and the plotted range
        self.variables_layout = QHBoxLayout()
        self.variables_layout.setContentsMargins(0, 0, 0, 0)
        self.plot_var = QComboBox(objectName="plotVariable")
        self.plot_var.setToolTip("Which variable the plot runs along (the others stay fixed)")
        self.plot_var.currentTextChanged.connect(lambda _t: self._refresh(new_structure=False, rescale=True))
        self.x_min = self._range_spin(-5.0, "xMin")
        self.x_max = self._range_spin(5.0, "xMax")
        self.range_row = QHBoxLayout()
        self.range_row.addWidget(QLabel("Plot along"))
        self.range_row.addWidget(self.plot_var)
        self.range_row.addWidget(QLabel("from"))
        self.range_row.addWidget(self.x_min)
        self.range_row.addWidget(QLabel("to"))
        self.range_row.addWidget(self.x_max)
        self.range_row.addStretch(1)

        # plot
        self.plot = pg.PlotWidget(objectName="functionPlot")
        theme_plot(self.plot)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.addLegend(offset=(10, 10))
        self.plot.setMinimumSize(300, 220)
        self.f_curve = self.plot.plot(pen=pg.mkPen(F_COLOR, width=2.5), name="f")
        self.df_curve = self.plot.plot(pen=pg.mkPen(DF_COLOR, width=2, style=Qt.DashLine), name="f′ (slope)")
        self.tangent = self.plot.plot(pen=pg.mkPen(TANGENT_COLOR, width=2), name="tangent at x")
        self.point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(TANGENT_COLOR), pen=pg.mkPen("w", width=1.5))
        self.plot.addItem(self.point)
        self.x_line = pg.InfiniteLine(
            angle=90,
            movable=True,
            pen=pg.mkPen(TANGENT_COLOR, width=1.5, style=Qt.DotLine),
            hoverPen=pg.mkPen(TANGENT_COLOR, width=3),
        )
        self.x_line.setToolTip("Drag to move the point")
        self.plot.addItem(self.x_line)
        self.x_line.sigPositionChanged.connect(self._line_moved)
        self.readout = QLabel(objectName="readoutLabel")
        self.readout.setWordWrap(True)
        self.readout.setTextFormat(Qt.RichText)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        point_row = QHBoxLayout()
        point_row.addWidget(QLabel("<b>Point:</b>"))
        point_row.addLayout(self.variables_layout)
        point_row.addStretch(1)
        lv.addLayout(point_row)
        lv.addLayout(self.range_row)
        lv.addWidget(self.plot, 1)
        lv.addWidget(self.readout)

        # graph and backward stepper
        self.graph_view = GraphView()
        self.step_button = QPushButton("Backward ▶", objectName="backwardStepButton")
        self.step_button.setProperty("accent", True)
        self.step_button.setToolTip("Compute the next gradient, going from the output back to the inputs")
        self.step_button.clicked.connect(self.step_backward)
        self.run_button = QPushButton("Run all", objectName="runBackwardButton")
        self.run_button.setToolTip("Finish the backward pass")
        self.run_button.clicked.connect(self.run_backward)
        self.reset_button = QPushButton("Reset", objectName="resetBackwardButton")
        self.reset_button.setToolTip("Forget the gradients and start the backward pass again")
        self.reset_button.clicked.connect(self.reset_backward)
        self.step_counter = QLabel(objectName="stepCounter")
        buttons = QHBoxLayout()
        buttons.addWidget(self.step_button)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        buttons.addWidget(self.step_counter)
        self.chain_text = QTextEdit(objectName="chainRuleText")
        self.chain_text.setReadOnly(True)
        self.chain_text.setFont(mono)
        self.chain_text.setMinimumHeight(120)
        self.chain_text.setFrameShape(QFrame.StyledPanel)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        graph_title = QLabel(
            "<b>Computation graph</b> — value of every box, and its gradient once the backward pass reaches it"
        )
        graph_title.setWordWrap(True)
        rv.addWidget(graph_title)
        self.graph_scroll = QScrollArea(objectName="graphScroll")
        self.graph_scroll.setWidgetResizable(True)
        self.graph_scroll.setFrameShape(QFrame.NoFrame)
        self.graph_scroll.setWidget(self.graph_view)
        rv.addWidget(self.graph_scroll, 3)
        rv.addLayout(buttons)
        rv.addWidget(self.chain_text, 2)

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([500, 750])
        splitter.setChildrenCollapsible(False)

        root = QVBoxLayout(self)
        root.addWidget(intro)
        root.addLayout(top)
        root.addLayout(examples)
        root.addWidget(splitter, 1)

    def _range_spin(self, value: float, name: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox(objectName=name)
        s.setRange(-1000, 1000)
        s.setDecimals(2)
        s.setValue(value)
        s.setKeyboardTracking(False)
        s.setMinimumWidth(80)
        s.valueChanged.connect(lambda _v: self._refresh(new_structure=False, rescale=True))
        return s

    # -- expression ------------------------------------------------------------------------
    def load_example(self, k: int) -> None:
        _label, text, values = EXAMPLES[k]
        self.values.update(values)
        self.set_expression(text)

    def set_expression(self, text: str) -> None:
        """Put ``text`` in the field and apply it at once (no debounce)."""
        self.input.setText(text)
        self.apply_expression()

    def apply_expression(self) -> None:
        """Parse the field; on success show the new expression, otherwise say why and keep the old one."""
        self._debounce.stop()
        text = self.input.text()
        try:
            expression = parse(text)
        except ExprError as exc:
            self._show_error(exc)
            return
        self._clear_error()
        same = (
            self.expression is not None
            and self.expression.tree is not None
            and str(self.expression) == str(expression)
            and self.expression.variables == expression.variables
        )
        self.expression = expression
        self.output_label.setText(f"{expression.output} =")
        if not same:
            self._rebuild_variables()
        y = expression.output
        parts = []
        for v in expression.variables:
            try:
                parts.append(f"d{y}/d{v} = {expression.derivative(v)}")
            except ExprError as exc:
                parts.append(f"d{y}/d{v}: {exc.message}")
        full = "    ".join(parts) if parts else "0 (the expression has no variables)"
        shown = full if len(full) <= DERIVATIVE_CHARS else full[:DERIVATIVE_CHARS] + " …"
        self.derivative_label.setText("Symbolic derivative:  " + shown)
        self.derivative_label.setToolTip(full if shown != full else "")
        self._refresh(new_structure=not same, rescale=True)

    def _show_error(self, exc: ExprError) -> None:
        """The message, then the expression with the culprit marked, in the slot the derivative uses
        (a fixed height: an error never moves the page)."""
        text = str(exc)
        msg = html.escape(text[:1].upper() + text[1:]) + "."
        if self.expression is not None:
            msg += " <i>Still showing the last expression that worked.</i>"
        if exc.position is not None and exc.text:
            start = max(0, exc.position - 40)
            snippet = exc.text[start : exc.position + 40]
            k = exc.position - start
            bad = html.escape(snippet[k : k + 1]) or "&nbsp;"
            msg += (
                f"<br><tt>{html.escape(snippet[:k])}<span style='background:{ERROR_COLOR}; color:white'>{bad}"
                f"</span>{html.escape(snippet[k + 1 :])}</tt>"
            )
        self.error.setText(f"<span style='color:{ERROR_COLOR}'>{msg}</span>")
        self.message_slot.setCurrentWidget(self.error)

    def _clear_error(self) -> None:
        self.message_slot.setCurrentWidget(self.derivative_label)
        self.error.clear()

    @property
    def error_text(self) -> str:
        """The error shown under the field, as plain text ('' when the expression is fine)."""
        if not self.error.isVisibleTo(self) or not self.error.text():
            return ""
        doc = QTextDocument()
        doc.setHtml(self.error.text())
        return doc.toPlainText()

    def _rebuild_variables(self) -> None:
        while self.variables_layout.count():
            item = self.variables_layout.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.spins = {}
        variables = self.expression.variables
        for name in variables:
            spin = QDoubleSpinBox(objectName=f"value_{name}")
            spin.setRange(-1000, 1000)
            spin.setDecimals(3)
            spin.setSingleStep(0.1)
            spin.setValue(self.values.get(name, 1.0))
            spin.setKeyboardTracking(False)
            spin.setMinimumWidth(90)
            spin.setAccessibleName(f"Value of {name}")
            spin.setToolTip(f"Value of {name}" + (" (or drag the dotted line in the plot)" if name == "x" else ""))
            spin.valueChanged.connect(lambda v, n=name: self.set_value(n, v))
            self.variables_layout.addWidget(QLabel(f"{name} ="))
            self.variables_layout.addWidget(spin)
            self.spins[name] = spin
        if not variables:
            self.variables_layout.addWidget(QLabel("none (the expression is a constant)"))
        self._syncing = True
        self.plot_var.clear()
        self.plot_var.addItems(list(variables) or ["x"])
        self.plot_var.setCurrentText("x" if "x" in variables else (variables[0] if variables else "x"))
        self._syncing = False
        many = len(variables) > 1
        self.plot_var.setEnabled(many)
        # the point's spin boxes come after the examples in the Tab order, as on screen
        chain_tab_order(self.example_buttons[-1], [*self.spins.values(), self.plot_var, self.x_min, self.x_max])

    def set_value(self, name: str, value: float) -> None:
        """Move the point: set one variable (from a spin box, the plot line or a test)."""
        self.values[name] = float(value)
        if self._syncing:
            return
        spin = self.spins.get(name)
        if spin is not None and spin.value() != float(value):
            self._syncing = True
            spin.setValue(float(value))
            self._syncing = False
        self._refresh(new_structure=False, rescale=name != self.plot_variable)

    @property
    def plot_variable(self) -> str:
        return self.plot_var.currentText() or "x"

    def _line_moved(self) -> None:
        if self._syncing:
            return
        self.set_value(self.plot_variable, round(self.x_line.value(), 3))

    # -- drawing --------------------------------------------------------------------------------
    def _point(self) -> dict[str, float]:
        return {v: self.values.get(v, 1.0) for v in self.expression.variables}

    def _refresh(self, new_structure: bool, rescale: bool) -> None:
        if self.expression is None or self._syncing:
            return
        point = self._point()
        var = self.plot_variable
        lo, hi = sorted((self.x_min.value(), self.x_max.value()))
        if hi - lo < 1e-6:
            hi = lo + 1.0
        xs = np.linspace(lo, hi, CURVE_POINTS)
        others = {k: v for k, v in point.items() if k != var}
        f, df = self.expression.curve(var, xs, **others)
        self.f_curve.setData(xs, f, connect="finite")
        self.df_curve.setData(xs, df, connect="finite")
        if rescale:
            self._rescale(xs, f, df)

        self.graph = self.expression.graph(**point)
        x0 = point.get(var, 0.0)
        y0 = self.graph.value
        slope = self.graph.gradient().get(var, 0.0)
        self._syncing = True
        self.x_line.setValue(x0)
        self._syncing = False
        y = self.expression.output
        if math.isfinite(y0) and math.isfinite(slope):
            half = (hi - lo) / 6
            self.tangent.setData([x0 - half, x0 + half], [y0 - slope * half, y0 + slope * half])
            self.point.setData([x0], [y0])
            at = ", ".join(f"{k} = {v:g}" for k, v in point.items()) or "any point"
            text = (
                f"At {at}:  <b>{y} = {_num(y0)}</b>,  slope <b>d{y}/d{var} = {_num(slope)}</b> "
                f"<span style='color:{TANGENT_COLOR}'>(the green tangent line)</span>"
            )
        else:
            self.tangent.setData([], [])
            self.point.setData([], [])
            try:
                self.graph.check_finite()
                problem = f"the slope d{y}/d{var} is not finite here"
            except ExprError as exc:
                problem = exc.message
            text = f"<span style='color:{ERROR_COLOR}'>{html.escape(problem)}: move the point.</span>"
        self.readout.setText(text)

        old_steps = self.steps_done
        self.steps = self.graph.backward_steps()
        self.steps_done = 0 if new_structure else min(old_steps, len(self.steps))
        self.graph_view.set_graph(self.graph, keep_layout=not new_structure)
        self._show_backward()

    def _rescale(self, xs, f, df) -> None:
        finite = np.concatenate([f[np.isfinite(f)], df[np.isfinite(df)]])
        self.plot.setXRange(xs[0], xs[-1], padding=0.02)
        if finite.size:
            lo, hi = np.percentile(finite, [2, 98])
            lo, hi = min(lo, 0.0), max(hi, 0.0)  # keep the x-axis in view
            pad = 0.08 * (hi - lo or 1.0)
            self.plot.setYRange(lo - pad, hi + pad, padding=0)

    # -- backward stepper --------------------------------------------------------------------------
    def step_backward(self) -> None:
        """Reveal the next gradient in reverse topological order."""
        if self.steps_done < len(self.steps):
            self.steps_done += 1
            self._show_backward()

    def run_backward(self) -> None:
        self.steps_done = len(self.steps)
        self._show_backward()

    def reset_backward(self) -> None:
        self.steps_done = 0
        self._show_backward()

    @property
    def current_node(self):
        """The graph node whose gradient the last step computed (None before the first step)."""
        if self.graph is None or self.steps_done == 0:
            return None
        return self.graph.nodes[self.steps[self.steps_done - 1].node]

    def _show_backward(self) -> None:
        done = self.steps[: self.steps_done]
        current = done[-1].node if done else None
        labels = {}
        if current is not None:
            node = self.graph.nodes[current]
            for c in node.consumers:
                consumer = self.graph.nodes[c]
                if consumer.tensor.requires_grad and consumer.index in {s.node for s in done}:
                    labels[(current, c)] = f"×{_num(self.graph.local_derivative(consumer, node))}"
        self.graph_view.set_backward_state({s.node for s in done}, current, labels)
        if current is not None:  # big graphs scroll: keep the current box in view (after layout settles)
            QTimer.singleShot(0, self._scroll_to_current)
        total = len(self.steps)
        self.step_counter.setText(f"step {self.steps_done} of {total}")
        self.step_button.setEnabled(self.steps_done < total)
        self.run_button.setEnabled(self.steps_done < total)
        self.reset_button.setEnabled(self.steps_done > 0)
        if not done:
            y = self.expression.output if self.expression else "y"
            intro = (
                "The forward pass is done: every box has its value. Press <b>Backward ▶</b> to compute "
                f"d{y}/d(box) one box at a time, starting at the output "
                f"(d{y}/d{y} = 1) and moving back towards the inputs."
            )
            self.chain_text.setHtml(f"<p>{intro}</p>")
            return
        blocks = []
        for k, s in enumerate(done):
            node = self.graph.nodes[s.node]
            lines = "<br>".join(html.escape(line) for line in s.lines)
            head = f"{k + 1}. gradient of {html.escape(node.label)}"
            if k == len(done) - 1:
                blocks.append(f"<p style='margin:4px 0'><b>{head}</b><br><b>{lines}</b></p>")
            else:
                blocks.append(f"<p style='margin:4px 0; color:gray'>{head}<br>{lines}</p>")
        if self.steps_done == total:
            grads = ", ".join(f"d{self.expression.output}/d{v} = {_num(g)}" for v, g in self.graph.gradient().items())
            blocks.append(f"<p style='margin:6px 0'>Done: {html.escape(grads)}.</p>")
        self.chain_text.setHtml("".join(blocks))
        bar = self.chain_text.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _scroll_to_current(self) -> None:
        node = self.current_node
        if node is None or node.index not in self.graph_view.rects:
            return
        r = self.graph_view.node_rect(node.index)
        self.graph_scroll.ensureVisible(
            int(r.center().x()), int(r.center().y()), int(r.width() / 2 + 30), int(r.height() / 2 + 30)
        )

    def shutdown(self) -> None:
        self._debounce.stop()
