"""Exercises: the learner writes each idea of the course, checks it, and trains with it.

The exercises, their checks, the learner's saved files and progress, and "Train with my code" all
live in :mod:`nnstudio.core.exercises`; this page lays them out. A check runs in a separate process
(through a :class:`~nnstudio.gui.jobs.Job`, so the window never waits on it); Stop kills it. Train
with my code runs only code whose exact text passed its check: for Dense, the learner's layers
train MNIST on the training thread (:class:`~nnstudio.gui.jobs.TrainingWorker`) with live curves.
"""

from __future__ import annotations

import html
import re
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.data.cache import training_arrays
from nnstudio.core.exercises import DEFAULT_TIMEOUT, all_exercises, get, run_check
from nnstudio.core.exercises.catalog import MNIST_TARGET
from nnstudio.core.exercises.progress import Progress
from nnstudio.core.exercises.report import CheckReport
from nnstudio.core.exercises.use import (
    LEARNER_LABEL,
    activation_curves,
    autograd_examples,
    checkpoint_compare,
    load_learner,
    mnist_trainer,
    perceptron_gates,
    toy_race,
)

from ..jobs import Job, TrainingWorker
from ..widgets.code_editor import CodeEditor
from ..widgets.controls import ElidedLabel
from ..widgets.training_charts import AccuracyChart, LossChart, style_plot

PASS_COLOUR, FAIL_COLOUR = "#2f9e44", "#d9480f"  # readable on light and dark backgrounds
MINE, ENGINE = (230, 90, 40), (30, 110, 235)


def _pre(text: str) -> str:
    return f"<pre style='margin:2px 0; white-space:pre-wrap'>{html.escape(text)}</pre>"


def report_html(report: CheckReport) -> str:
    """A check report for people: the headline, each check passed, the first failure in full."""
    colour = PASS_COLOUR if report.passed else FAIL_COLOUR
    head = html.escape(report.headline if report.passed else (report.error or "Not passed yet."))
    parts = [f"<p style='color:{colour}; font-weight:600; font-size:11pt'>{head}</p>"]
    for r in report.results:
        mark = (
            f"<span style='color:{PASS_COLOUR}'>✓</span>" if r.passed else f"<span style='color:{FAIL_COLOUR}'>✗</span>"
        )
        parts.append(f"<div>{mark} <i>{html.escape(r.stage)}</i> › {html.escape(r.name)}</div>")
        if r.passed:
            continue
        message = html.escape(r.message)
        # "(line 12: ...)" in a message becomes a link that puts the cursor on that line
        message = re.sub(r"line (\d+)", r"<a href='line:\1'>line \1</a>", message)
        parts.append(f"<p style='margin-left:14px'><b>{message}</b></p>")
        if r.input:
            parts.append(
                f"<div style='margin-left:14px'>Input:</div><div style='margin-left:14px'>{_pre(r.input)}</div>"
            )
        if r.expected or r.got:
            parts.append(
                "<table style='margin-left:14px' width='95%' cellspacing='0' cellpadding='4' border='1'>"
                "<tr><th align='left' width='50%'>Expected</th><th align='left' width='50%'>Your code</th></tr>"
                f"<tr><td valign='top'>{_pre(r.expected)}</td><td valign='top'>{_pre(r.got)}</td></tr></table>"
            )
        if r.hint:
            parts.append(f"<p style='margin-left:14px'>Hint: {html.escape(r.hint)}</p>")
    if report.output.strip():
        parts.append("<div>Your code printed:</div>" + _pre("\n".join(report.output.splitlines()[:20])))
    if report.results:
        parts.append(f"<p style='color:gray'>{len(report.results)} checks in {report.seconds:.1f} s</p>")
    return "".join(parts)


class ExercisesPage(QWidget):
    """The Exercises page; see the module docstring."""

    title = "Exercises"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("exercisesPage")
        self.context = context
        self.progress = Progress()
        self.exercises = all_exercises()
        self.name = self.exercises[0].name
        #: training images for "Train with my code" on Dense (None: all 60,000); tests use fewer
        self.train_subset: int | None = None
        #: seconds a check may run before its process is killed
        self.check_timeout = DEFAULT_TIMEOUT
        self._checked_source = ""
        self._check_started = 0.0
        self._run_label = ""
        self._best_accuracy: float | None = None

        self.check_job = Job(self, name="nnstudio-exercise-check")
        self.check_job.finished.connect(self._check_finished)
        self.check_job.failed.connect(self._check_failed)
        self.check_job.idle.connect(self._update_buttons)
        self.use_job = Job(self, name="nnstudio-exercise-use")
        self.use_job.posted.connect(self._use_posted)
        self.use_job.finished.connect(self._use_finished)
        self.use_job.failed.connect(self._use_failed)
        self.use_job.idle.connect(self._update_buttons)
        self.worker = TrainingWorker(self)
        self.worker.steps.connect(self._train_steps)
        self.worker.epoch_done.connect(self._train_epoch)
        self.worker.finished.connect(self._train_finished)
        self.worker.error.connect(self._train_error)
        self.worker.diverged.connect(lambda m: self.use_banner.setText(f"The loss diverged: {m}"))
        self._tick = QTimer(self, interval=250)
        self._tick.timeout.connect(self._show_elapsed)

        # -- the list and the checklist --------------------------------------------------------
        self.list = QListWidget(objectName="exerciseList")
        self.list.setAccessibleName("Exercises")
        self.list.setWordWrap(True)
        for _ in self.exercises:
            QListWidgetItem(self.list)
        self.list.currentRowChanged.connect(self._select_row)
        self.checklist_view = QLabel(objectName="checklistView")
        self.checklist_view.setTextFormat(Qt.RichText)
        self.checklist_view.setWordWrap(True)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel("<b>Exercises</b> (the course's order)"))
        lv.addWidget(self.list, 3)
        lv.addWidget(QLabel("<b>Learning checklist</b>"))
        lv.addWidget(self.checklist_view, 0)
        lv.addStretch(0)

        # -- statement, hints, solution ---------------------------------------------------------
        self.statement = QTextBrowser(objectName="statementView")
        self.statement.setOpenLinks(False)
        self.hint_button = QPushButton(objectName="hintButton")
        self.hint_button.clicked.connect(self.reveal_hint)
        self.solution_button = QPushButton("Show the solution…", objectName="solutionButton")
        self.solution_button.clicked.connect(self.show_solution)
        self.solution_view = CodeEditor()
        self.solution_view.setObjectName("solutionView")
        self.solution_view.setReadOnly(True)
        self.copy_solution_button = QPushButton("Copy into my editor", objectName="copySolutionButton")
        self.copy_solution_button.setToolTip("Replaces your code; Undo (Ctrl+Z) in the editor brings it back.")
        self.copy_solution_button.clicked.connect(self.copy_solution)
        self.solution_box = QWidget()
        sb = QVBoxLayout(self.solution_box)
        sb.setContentsMargins(0, 0, 0, 0)
        sb.addWidget(QLabel("<b>Solution</b>"))
        sb.addWidget(self.solution_view, 1)
        sb.addWidget(self.copy_solution_button)
        self.solution_box.hide()
        info = QWidget()
        iv = QVBoxLayout(info)
        iv.setContentsMargins(0, 0, 0, 0)
        iv.addWidget(self.statement, 3)
        buttons = QHBoxLayout()
        buttons.addWidget(self.hint_button)
        buttons.addWidget(self.solution_button)
        iv.addLayout(buttons)
        iv.addWidget(self.solution_box, 2)

        # -- the editor and its buttons ---------------------------------------------------------
        self.editor = CodeEditor()
        # a long per-user path ends in "…" (the whole path is in the tooltip) instead of widening the window
        self.file_label = ElidedLabel(objectName="fileLabel")
        self.file_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.check_button = QPushButton("Check", objectName="checkButton")
        self.check_button.setShortcut("Ctrl+Return")
        self.check_button.setToolTip("Run the checks on your code in a separate process (Ctrl+Enter)")
        self.check_button.clicked.connect(self.check)
        self.stop_button = QPushButton("Stop", objectName="stopButton")
        self.stop_button.clicked.connect(self.stop)
        self.reset_button = QPushButton("Start over", objectName="resetButton")
        self.reset_button.setToolTip("Put the starter file back (Undo brings your code back)")
        self.reset_button.clicked.connect(self.reset_to_starter)
        self.train_button = QPushButton("Train with my code", objectName="trainWithMyCodeButton")
        self.train_button.clicked.connect(self.train_with_my_code)
        self.epochs = QSpinBox(objectName="useEpochs", minimum=1, maximum=20, value=5)
        self.epochs.setSuffix(" epochs")
        self.epochs.setToolTip("Epochs of the MNIST run with your Dense layers")
        row = QHBoxLayout()
        for w in (self.check_button, self.stop_button, self.reset_button):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.epochs)
        row.addWidget(self.train_button)
        code = QWidget()
        cv = QVBoxLayout(code)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(self.file_label)
        cv.addWidget(self.editor, 1)
        cv.addLayout(row)

        # -- results: the check, and Train with my code ------------------------------------------
        self.result = QTextBrowser(objectName="checkResult")
        self.result.setOpenLinks(False)
        self.result.anchorClicked.connect(self._link)
        self.use_banner = QLabel(objectName="useBanner")
        self.use_banner.setWordWrap(True)
        self.use_banner.setTextFormat(Qt.RichText)
        self.loss_chart = LossChart()
        self.accuracy_chart = AccuracyChart()
        charts = QWidget()
        ch = QHBoxLayout(charts)
        ch.setContentsMargins(0, 0, 0, 0)
        ch.addWidget(self.loss_chart, 3)
        ch.addWidget(self.accuracy_chart, 2)
        self.use_plot = pg.PlotWidget(objectName="usePlot")
        style_plot(self.use_plot, "")
        self.use_plot.addLegend(offset=(-10, 10))
        self.use_plot.getAxis("left").enableAutoSIPrefix(False)
        self.use_text = QTextBrowser(objectName="useText")
        self.use_stack = QStackedWidget()
        for w in (self.use_text, charts, self.use_plot):
            self.use_stack.addWidget(w)
        use = QWidget()
        uv = QVBoxLayout(use)
        uv.setContentsMargins(4, 4, 4, 4)
        uv.addWidget(self.use_banner)
        uv.addWidget(self.use_stack, 1)
        self.tabs = QTabWidget(objectName="exerciseTabs")
        self.tabs.addTab(self.result, "Check")
        self.tabs.addTab(use, "Train with my code")

        top = QSplitter(Qt.Horizontal)
        top.addWidget(info)
        top.addWidget(code)
        top.setStretchFactor(0, 2)
        top.setStretchFactor(1, 3)
        top.setSizes([400, 470])
        right = QSplitter(Qt.Vertical)
        right.addWidget(top)
        right.addWidget(self.tabs)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([470, 300])
        outer = QSplitter(Qt.Horizontal)
        outer.addWidget(left)
        outer.addWidget(right)
        outer.setStretchFactor(1, 1)
        outer.setSizes([235, 880])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(outer)

        self._refresh_list()
        self.list.setCurrentRow(0)
        if self.progress.problem:
            self.result.setHtml(f"<p style='color:{FAIL_COLOUR}'>{html.escape(self.progress.problem)}</p>")

    # -- the list ----------------------------------------------------------------------------------
    def _refresh_list(self) -> None:
        for i, e in enumerate(self.exercises):
            done = self.progress.is_passed(e.name)
            item = self.list.item(i)
            item.setText(f"{'✓' if done else '   '} {e.number}. {e.title}")
            item.setToolTip(f"{e.checklist}{' — passed' if done else ''}")
        rows = []
        for c in self.progress.checklist():
            mark = f"<span style='color:{PASS_COLOUR}'>☑</span>" if c.done else "☐"
            count = f" ({c.passed}/{c.total})" if c.total > 1 else ""
            note = (
                f"<br><span style='color:gray'>&nbsp;&nbsp;&nbsp;&nbsp;{html.escape(c.note)}</span>"
                if c.note and not c.done
                else ""
            )
            rows.append(f"{mark} {html.escape(c.text)}{count}{note}")
        self.checklist_view.setText("<br>".join(rows))

    def select(self, name: str) -> None:
        """Show exercise ``name`` (its statement, and the learner's file in the editor)."""
        self.list.setCurrentRow([e.name for e in self.exercises].index(get(name).name))

    def _select_row(self, row: int) -> None:
        if row < 0:
            return
        self.editor.flush()
        e = self.exercises[row]
        self.name = e.name
        self.editor.set_saver(None)
        self.editor.load(self.progress.load_source(e.name))
        self.editor.set_saver(lambda text, n=e.name: self.progress.save_source(n, text))
        self.file_label.setText(f"Your file: {self.progress.source_path(e.name)}")
        self.solution_box.hide()
        self._show_statement()
        self.result.setHtml("<p>Write your code in the editor (it is saved as you type), then press <b>Check</b>.</p>")
        self.use_banner.setText(html.escape(e.use) if e.use else "This exercise has nothing to train.")
        self.use_stack.setCurrentWidget(self.use_text)
        self.use_text.clear()
        self.tabs.setCurrentIndex(0)
        self._update_buttons()

    def _show_statement(self) -> None:
        e = get(self.name)
        shown = min(self.progress.hints_shown(e.name), len(e.hints))
        paras = "".join(f"<p>{html.escape(p)}</p>" for p in e.statement.split("\n\n"))
        parts = [
            f"<h3>{e.number}. {html.escape(e.title)}</h3>",
            paras.replace("\n", " "),
            "<p><b>The math</b></p>",
            _pre(e.math),
            f"<p>A pass ticks: <i>{html.escape(e.checklist)}</i></p>",
        ]
        if shown:
            parts.append("<p><b>Hints</b></p><ol>")
            parts += [f"<li>{html.escape(h)}</li>" for h in e.hints[:shown]]
            parts.append("</ol>")
        self.statement.setHtml("".join(parts))
        left = len(e.hints) - shown
        self.hint_button.setText(f"Show a hint ({shown + 1} of {len(e.hints)})" if left else "No more hints")
        self.hint_button.setEnabled(bool(left))

    # -- hints and the solution ----------------------------------------------------------------------
    def reveal_hint(self) -> None:
        e = get(self.name)
        shown = self.progress.hints_shown(e.name)
        if shown < len(e.hints):
            self.progress.set_hints_shown(e.name, shown + 1)
        self._show_statement()
        self.statement.verticalScrollBar().setValue(self.statement.verticalScrollBar().maximum())

    def show_solution(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Show the solution?",
            "Seeing the solution ends the puzzle. The hints and the check's messages often get you there "
            "one step at a time. Show the solution anyway?",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.No,
        )
        if answer != QMessageBox.Yes:
            return False
        self.solution_view.setPlainText(get(self.name).solution)
        self.solution_box.show()
        return True

    def copy_solution(self) -> None:
        self.editor.replace_all(get(self.name).solution)
        self.editor.flush()

    def reset_to_starter(self) -> None:
        self.editor.replace_all(get(self.name).starter)
        self.editor.flush()

    # -- checking -------------------------------------------------------------------------------------
    def check(self) -> bool:
        """Check the editor's code in a separate process; False if a check or a run is already going."""
        if self.check_job.busy or self.use_job.busy or self.worker.running:
            return False
        self.editor.flush()
        self._checked_source = self.editor.toPlainText()
        self._check_started = time.perf_counter()
        self.tabs.setCurrentIndex(0)
        self.result.setHtml("<p><b>Checking…</b></p>")
        self.check_job.start(_run_check, self.name, self._checked_source, self.check_timeout)
        self._tick.start()
        self._update_buttons()
        return True

    def _show_elapsed(self) -> None:
        seconds = time.perf_counter() - self._check_started
        if self.check_job.busy:
            self.result.setHtml(
                f"<p><b>Checking… {seconds:.0f} s</b></p><p>Your code runs in a separate process; "
                f"Stop ends it, and it is stopped after {self.check_timeout:g} s anyway.</p>"
            )
        else:
            self._tick.stop()

    def _check_finished(self, report: CheckReport) -> None:
        self._tick.stop()
        self.last_report = report
        self.progress.record(report, self._checked_source)
        self._refresh_list()
        if report.exercise != self.name:  # the learner moved on while it ran: the tick is enough
            return
        self.result.setHtml(report_html(report))
        if report.passed:
            self.context.show_status(f"{get(report.exercise).title}: passed")

    def _check_failed(self, message: str) -> None:
        self._tick.stop()
        self.result.setHtml(f"<p style='color:{FAIL_COLOUR}'>The check could not run: {html.escape(message)}</p>")

    def _link(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("line:"):
            self.editor.go_to_line(int(text[5:]))

    def stop(self) -> None:
        """Stop a running check (its process is killed) or a Train with my code run."""
        self.check_job.cancel()
        self.use_job.cancel()
        if self.worker.running:
            self.worker.stop(wait=None)

    def _update_buttons(self) -> None:
        busy = self.check_job.busy or self.use_job.busy or self.worker.running
        self.check_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        e = get(self.name)
        self.train_button.setEnabled(bool(e.use) and not busy)
        self.epochs.setVisible(e.name == "dense")

    # -- Train with my code ---------------------------------------------------------------------------
    def train_with_my_code(self) -> bool:
        e = get(self.name)
        if not e.use or self.check_job.busy or self.use_job.busy or self.worker.running:
            return False
        self.editor.flush()
        source = self.editor.toPlainText()
        self.tabs.setCurrentIndex(1)
        if not self.progress.passed_with(e.name, source):
            self.use_banner.setText(
                "<b>Check first.</b> Train with my code uses your code exactly as it passed its check; "
                "press Check, and once it passes, press Train with my code again."
            )
            return False
        try:
            module = load_learner(source, f"{e.name}.py")
        except RuntimeError as exc:
            self.use_banner.setText(html.escape(str(exc)))
            return False
        self._module = module
        if e.name == "dense":
            self.use_banner.setText("Loading MNIST…")
            self.use_job.start(_load_mnist, self.context.data_dir)
        elif e.name in ("sgd", "momentum", "adam"):
            self._start_race(e.name, module)
        else:
            self.use_banner.setText("Running your code in the engine…")
            self.use_job.start(_use_other, e.name, module, self.context.data_dir)
        self._update_buttons()
        return True

    def _start_race(self, name: str, module) -> None:
        self.use_stack.setCurrentWidget(self.use_plot)
        plot = self.use_plot
        plot.clear()
        style_plot(plot, "Test loss on the playground's spiral", left="loss", bottom="step")
        self._race_mine = plot.plot([], [], pen=pg.mkPen(MINE, width=3), name=LEARNER_LABEL[name])
        self._race_engine = plot.plot(
            [], [], pen=pg.mkPen(ENGINE, width=2, style=Qt.DashLine), name=f"the engine's {name}"
        )
        self._race = {"step": [], "mine": [], "engine": []}
        self.use_banner.setText(
            f"<b>Training with your code</b> ({html.escape(LEARNER_LABEL[name])}): the playground's network "
            f"(3 × 8 tanh) on its spiral, next to the engine's {name} from the same weights."
        )
        self.use_job.start(_race, name, module)

    def _use_posted(self, point) -> None:
        for key in ("step", "mine", "engine"):
            self._race[key].append(point[key])
        self._race_mine.setData(self._race["step"], self._race["mine"])
        self._race_engine.setData(self._race["step"], self._race["engine"])

    def _use_finished(self, result) -> None:
        kind, value = result
        if kind == "mnist":
            self._start_mnist(value)
        elif kind == "race":
            mine, engine = value["mine_accuracy"], value["engine_accuracy"]
            self.use_banner.setText(
                f"<b>Trained with your code</b> ({html.escape(value['label'])}): test accuracy {100 * mine:.1f}% "
                f"after {value['step'][-1]} steps; the engine's step: {100 * engine:.1f}%."
            )
        elif kind == "activations":
            self._show_activations(value)
        else:
            self.use_stack.setCurrentWidget(self.use_text)
            self.use_text.setHtml(value)
            self.use_banner.setText("<b>Your code, run by the engine:</b>")

    def _use_failed(self, message: str) -> None:
        self.use_banner.setText(f"<span style='color:{FAIL_COLOUR}'>{html.escape(message)}</span>")

    def _show_activations(self, curves: dict) -> None:
        self.use_stack.setCurrentWidget(self.use_plot)
        plot = self.use_plot
        plot.clear()
        style_plot(plot, "Your activations (solid) and the engine's (dashed)", bottom="x")
        x = curves["x"]
        colours = {"sigmoid": (30, 110, 235), "tanh": (240, 150, 30), "relu": (60, 170, 90)}
        for name, c in colours.items():
            d = curves[name]
            plot.plot(x, d["mine"], pen=pg.mkPen(c, width=3), name=f"your {name}")
            plot.plot(x, d["mine_grad"], pen=pg.mkPen(c, width=2, style=Qt.DotLine), name=f"your {name}_grad")
            plot.plot(x, d["engine"], pen=pg.mkPen((128, 128, 128), width=1, style=Qt.DashLine))
        worst = max(
            float(np.max(np.abs(curves[n][k] - curves[n][e])))
            for n in colours
            for k, e in (("mine", "engine"), ("mine_grad", "engine_grad"))
        )
        self.use_banner.setText(
            f"<b>Your activations and slopes</b> on −6 … 6: largest difference from the engine's {worst:.2g}."
        )

    # -- the MNIST run with the learner's Dense --------------------------------------------------------
    def _start_mnist(self, arrays) -> None:
        x, y = arrays.train
        if self.train_subset:
            x, y = x[: self.train_subset], y[: self.train_subset]
        epochs = self.epochs.value()
        trainer = mnist_trainer(self._module, (x, y), (arrays.x_test, arrays.y_test), epochs=epochs)
        self._run_label = LEARNER_LABEL["dense"]
        self._run_epochs = epochs
        self._best_accuracy = None
        self.use_stack.setCurrentIndex(1)
        self.loss_chart.clear()
        self.loss_chart.set_batches_per_epoch(trainer.batches_per_epoch)
        self.loss_chart.set_x_extent(epochs)
        self.accuracy_chart.clear_points()
        self.accuracy_chart.setXRange(0, epochs)
        self.use_banner.setText(
            f"<b>Training with YOUR code</b>: {html.escape(self._run_label)} in both layers of a 784-128-10 "
            f"network (ReLU) · MNIST, {len(x):,} images · Adam 0.003, cosine, batch 128 · {epochs} epochs"
        )
        self.worker.start(trainer, epochs)
        self._update_buttons()

    def _train_steps(self, batch) -> None:
        self.loss_chart.add_steps(batch.first_step, batch.losses)
        info = batch.last
        self.use_banner.setText(
            f"<b>Training with YOUR code</b> ({html.escape(self._run_label)}): epoch {info.epoch}, "
            f"batch {info.batch}/{info.batches_per_epoch}, loss {info.loss:.3f}"
        )

    def _train_epoch(self, info, _analysis) -> None:
        self.loss_chart.add_test_point(info.epoch, info.test_loss)
        self.accuracy_chart.add_epoch(info.epoch, info.train_accuracy, info.test_accuracy)
        if info.test_accuracy is not None:
            self._best_accuracy = info.test_accuracy

    def _train_finished(self, state: str) -> None:
        acc = self._best_accuracy
        if acc is not None and state == "finished":
            self.progress.record_mnist_run(acc, self._run_epochs)
            tick = " That ticks the checklist's MNIST item." if acc >= MNIST_TARGET else ""
            self.use_banner.setText(
                f"<b>Trained with YOUR code</b> ({html.escape(self._run_label)}): "
                f"{100 * acc:.2f}% test accuracy after {self._run_epochs} epochs.{tick}"
            )
            self._refresh_list()
        elif state != "finished":
            self.use_banner.setText(f"The run with your code {state}.")
        self._update_buttons()

    def _train_error(self, message: str) -> None:
        self.use_banner.setText(f"<span style='color:{FAIL_COLOUR}'>{html.escape(message)}</span>")

    def shutdown(self) -> None:
        self.editor.flush()
        self.check_job.shutdown()
        self.use_job.shutdown()
        self.worker.shutdown()


# -- work that runs off the UI thread -------------------------------------------------------------------
def _run_check(ctx, name: str, source: str, timeout: float) -> CheckReport:
    return run_check(name, source, timeout=timeout, cancel=ctx.cancelled, filename=f"{name}.py")


def _load_mnist(ctx, data_dir):
    return "mnist", training_arrays("mnist", data_dir)


def _race(ctx, name: str, module) -> tuple:
    return "race", toy_race(name, module, steps=600, every=20, on_point=ctx.post, cancelled=lambda: ctx.is_cancelled)


def _use_other(ctx, name: str, module, data_dir) -> tuple:
    if name == "activations":
        return "activations", activation_curves(module)
    if name == "perceptron":
        rows = perceptron_gates(module)

        def result(r: dict) -> str:
            if r["converged"]:
                return f"learned in {r['epochs']} epochs"
            return f"never: still wrong after {r['epochs']} epochs"

        body = "".join(
            f"<tr><td>{r['gate']}</td><td>{result(r)}</td>"
            f"<td>{', '.join(map(str, r['mistakes'][:12]))}{' …' if len(r['mistakes']) > 12 else ''}</td></tr>"
            for r in rows
        )
        return "html", (
            "<p>Your learning rule on the logic gates (lr 0.1, weights and threshold from 0):</p>"
            "<table cellpadding='4'><tr><th align='left'>Gate</th><th align='left'>Result</th>"
            f"<th align='left'>Mistakes per epoch</th></tr>{body}</table>"
            "<p>XOR is never learned: no straight line separates its two classes.</p>"
        )
    if name in ("autograd_ops", "autograd_backward"):
        rows = autograd_examples(name, module)
        body = "".join(
            f"<tr><td>y = {html.escape(r['expression'])}</td><td align='right'>{r['x']:g}</td>"
            f"<td align='right'>{r['mine']:.6g}</td><td align='right'>{r['engine']:.6g}</td></tr>"
            for r in rows
        )
        return "html", (
            "<p>dy/dx of the course's examples with your code, next to the engine's Tensor. "
            "(The Autograd page draws the engine's own graph; your rules are shown here.)</p>"
            "<table cellpadding='4'><tr><th align='left'>Expression</th><th>x</th><th>your dy/dx</th>"
            f"<th>engine dy/dx</th></tr>{body}</table>"
        )
    # checkpoint: one step on a real MNIST batch when the data is there, else random inputs
    rng = np.random.default_rng(0)
    try:
        arrays = training_arrays("mnist", data_dir)
        x, y = arrays.x_train[:128], arrays.y_train[:128]
        source = "128 MNIST images"
    except Exception:  # noqa: BLE001 - no data: random inputs show the same thing
        x, y = rng.random((128, 784), dtype=np.float32), rng.integers(0, 10, 128)
        source = "128 random inputs"
    r = checkpoint_compare(module, x, y)
    return "html", (
        f"<p>One training step of a 784-256-256-256-10 network ({r['layers']} layers) on {source}, cut into "
        f"segments {r['bounds']}:</p><ul>"
        f"<li>layers holding a cache after your forward pass: {r['cached_after_forward']} of {r['layers']}</li>"
        f"<li>largest difference between your gradients and the plain step's: {r['max_grad_difference']:.3g}</li></ul>"
        "<p>The Memory page measures what this saves on this machine.</p>"
    )
