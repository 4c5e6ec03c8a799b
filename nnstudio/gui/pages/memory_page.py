"""Memory lab: one network trained three ways (plain, checkpointed, mixed precision), side by side.

Everything shown is measured on this machine by :mod:`nnstudio.core.memory`:
the bytes of a training step over time (counted from the arrays and checked
with tracemalloc), seconds per step and per epoch, test accuracy, the loss
scale, and the largest batch that fits a memory budget. The work (the jobs in
:mod:`nnstudio.core.memory.lab`) runs on a :class:`~nnstudio.gui.jobs.Job`'s
thread; the page only draws.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.data import training_arrays
from nnstudio.core.fmt import format_bytes
from nnstudio.core.memory import (
    CATEGORIES,
    LAB_KINDS,
    LAB_TITLES,
    MAX_LAB_BATCH,
    MiB,
    lab_compare,
    lab_curve,
    lab_search,
)

from ..jobs import Job
from ..widgets.training_charts import style_plot

KINDS, TITLES = LAB_KINDS, LAB_TITLES
KIND_COLORS = {"baseline": (30, 110, 235), "checkpoint": (60, 170, 90), "mixed": (230, 120, 20)}
CATEGORY_COLORS = {
    "parameters": (70, 110, 200),
    "gradients": (240, 160, 50),
    "optimizer state": (80, 170, 100),
    "fp16 weights": (40, 170, 190),
    "batch": (150, 150, 150),
    "activations": (210, 60, 80),
    "workspace": (150, 100, 210),
}
RESIDENT = ("parameters", "gradients", "optimizer state", "fp16 weights")
NETWORKS = (
    ("784 → 8×512 → 10", [784] + [512] * 8 + [10]),
    ("784 → 16×1024 → 10 (slow)", [784] + [1024] * 16 + [10]),
    ("784 → 4×256 → 10", [784] + [256] * 4 + [10]),
    ("784 → 128 → 10 (small, fast)", [784, 128, 10]),
)
IMAGES = ((10000, "10 000 training images"), (60000, "all 60 000 training images"))
METRICS = (
    "Step peak, measured (all)",
    "Step peak, counted (all)",
    "Activations kept (peak)",
    "Time per step",
    "Time per epoch",
    "Test accuracy",
    "Notes",
)
SLIDER_STEPS = 1000


class PowerOfTwoAxis(pg.AxisItem):
    """An axis over log2 values whose labels read 2^k (whole k only)."""

    def tickStrings(self, values, scale, spacing):
        return [f"2^{int(round(v))}" if abs(v - round(v)) < 1e-6 else "" for v in values]

    def tickSpacing(self, minVal, maxVal, size):
        span = max(1.0, maxVal - minVal)
        major = max(1, int(2 ** np.ceil(np.log2(span / 5))))  # at most ~5 labels
        return [(float(major), 0.0)]


class TimelinePlot(pg.PlotWidget):
    """Live bytes by category over one training step, stacked, with tracemalloc's samples as a line."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        style_plot(self, title, "MiB", "moment in the step")
        self.chart_title = title
        self.peak_shown = 0.0  # bytes at the highest point drawn
        self.summary = f"{title} memory timeline: not measured yet."
        self.setAccessibleDescription(self.summary)
        self.setMinimumHeight(200)
        self.getPlotItem().setMouseEnabled(x=False, y=False)
        self.fills = {}
        for cat in reversed(CATEGORIES):  # biggest cumulative first, so smaller ones draw over it
            c = CATEGORY_COLORS[cat]
            self.fills[cat] = self.plot([], [], pen=pg.mkPen(c, width=1), fillLevel=0, brush=pg.mkBrush(*c, 170))
        self.measured = self.plot([], [], pen=pg.mkPen((120, 120, 120), width=2, style=Qt.DashLine))
        self.loss_line = pg.InfiniteLine(
            angle=90,
            pen=pg.mkPen((120, 120, 120), style=Qt.DotLine),
            label="loss",
            labelOpts={"position": 0.95, "color": (120, 120, 120)},
        )
        self.loss_line.hide()
        self.addItem(self.loss_line)
        self.timeline = None

    def show_timeline(self, timeline, include_resident: bool) -> None:
        self.timeline = timeline
        cats = [c for c in CATEGORIES if include_resident or c not in RESIDENT]
        n = len(timeline.labels)
        x = np.arange(n, dtype=float)
        total = np.zeros(n)
        offset = 0.0 if include_resident else float(sum(timeline.resident.values()))
        for cat in CATEGORIES:
            if cat in cats:
                total = total + np.asarray(timeline.bytes[cat], dtype=float)
                self.fills[cat].setData(x, total / MiB)
            else:
                self.fills[cat].setData([], [])
        if timeline.measured:
            self.measured.setData(x, (np.asarray(timeline.measured, dtype=float) - offset) / MiB)
        if "loss" in timeline.labels:
            self.loss_line.setValue(timeline.labels.index("loss"))
            self.loss_line.show()
        self._summarise(timeline, total, offset, include_resident)

    def _summarise(self, timeline, total: np.ndarray, offset: float, include_resident: bool) -> None:
        """The chart in words, for screen readers: the peak, where in the step it is, what it is made of."""
        if not len(total):
            self.peak_shown, self.summary = 0.0, f"{self.chart_title} memory timeline: no moments recorded."
            self.setAccessibleDescription(self.summary)
            return
        i = int(np.argmax(total))
        self.peak_shown = float(total[i])
        acts = max(timeline.bytes["activations"]) / MiB
        resident = sum(timeline.resident.values()) / MiB
        text = (
            f"{self.chart_title} memory timeline, {len(total)} moments of one training step: "
            f"peak {total[i] / MiB:.1f} MiB at '{timeline.labels[i]}' (moment {i + 1}); "
            f"activations up to {acts:.1f} MiB"
        )
        if timeline.measured:
            text += f"; tracemalloc's highest sample {(max(timeline.measured) - offset) / MiB:.1f} MiB"
        if include_resident:
            text += f"; includes weights, gradients and optimizer state ({resident:.1f} MiB)."
        else:
            text += f"; weights, gradients and optimizer state ({resident:.1f} MiB) left out."
        self.summary = text
        self.setAccessibleDescription(text)


def _legend_html() -> str:
    cells = [f"<span style='color:rgb{CATEGORY_COLORS[c]}'>■</span>&nbsp;{c}" for c in CATEGORIES]
    cells.append("<span style='color:gray'>- - -</span>&nbsp;measured by tracemalloc")
    return "&nbsp;&nbsp; ".join(cells)


class MemoryPage(QWidget):
    """The Memory lab page."""

    title = "Memory lab"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("memoryPage")
        self.context = context
        self.runs: dict = {}
        self.curve: dict | None = None
        self.search_result: dict | None = None
        self._pending_budget: int | None = None
        self._curve_key = None
        # the lab's jobs (core.memory.lab) run here one at a time; compare posts each run as it is done
        self.worker = Job(self, name="nnstudio-memory-lab")
        self._on_result = None  # what to do with the running job's return value
        self.worker.progress.connect(self._on_progress)
        self.worker.posted.connect(self._on_run)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.idle.connect(self._on_idle)
        self._build()

    # -- layout -----------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        intro = QLabel(
            "<b>Memory lab</b> — the same network trained three ways. Where do the bytes of a "
            "training step go, what do checkpointing and mixed precision save, and what do they cost "
            "on <i>this</i> computer?"
        )
        intro.setWordWrap(True)
        root.addWidget(intro)

        controls = QHBoxLayout()
        self.network_box = QComboBox(objectName="memoryNetwork")
        for text, _ in NETWORKS:
            self.network_box.addItem(text)
        self.batch_spin = QSpinBox(objectName="memoryBatch", minimum=16, maximum=4096, singleStep=64, value=256)
        self.segments_spin = QSpinBox(objectName="memorySegments", minimum=1, maximum=32, value=4)
        self.epochs_spin = QSpinBox(objectName="memoryEpochs", minimum=1, maximum=10, value=1)
        self.images_box = QComboBox(objectName="memoryImages")
        for n, text in IMAGES:
            self.images_box.addItem(text, n)
        # Items short enough to show whole ("10 000 training images", never "10 000 training ima").
        for combo in (self.network_box, self.images_box):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.segments_spin.setToolTip("Checkpoint segments: activations are kept only at segment boundaries")
        for label, w in (
            ("Network", self.network_box),
            ("Batch", self.batch_spin),
            ("Segments", self.segments_spin),
            ("Epochs", self.epochs_spin),
        ):
            controls.addWidget(QLabel(label))
            controls.addWidget(w)
        controls.addWidget(self.images_box)
        self.run_button = QPushButton("Run the three", objectName="memoryRun")
        self.run_button.setToolTip("Profile a step, time it, and train each way on MNIST")
        self.stop_button = QPushButton("Stop", objectName="memoryStop", enabled=False)
        controls.addWidget(self.run_button)
        controls.addWidget(self.stop_button)
        controls.addStretch(1)
        root.addLayout(controls)

        status = QHBoxLayout()
        self.progress = QProgressBar(objectName="memoryProgress", minimum=0, maximum=1000, value=0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)  # an empty bar before any run only looks like a broken field
        self.status = QLabel("Press “Run the three” to measure.", objectName="memoryStatus")
        status.addWidget(self.progress)
        status.addWidget(self.status, 1)
        root.addLayout(status)

        self.tabs = QTabWidget(objectName="memoryTabs")
        self.tabs.addTab(self._build_compare_tab(), "Three ways")
        self.tabs.addTab(self._build_budget_tab(), "Batch size for a budget")
        root.addWidget(self.tabs, 1)

        self.run_button.clicked.connect(self.run_lab)
        self.stop_button.clicked.connect(self.stop)
        self.tabs.currentChanged.connect(self._tab_changed)
        for w in (self.network_box, self.segments_spin):
            (w.currentIndexChanged if isinstance(w, QComboBox) else w.valueChanged).connect(self._config_changed)

    def _build_compare_tab(self) -> QWidget:
        tab = QWidget()
        lay = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.legend = QLabel(_legend_html())
        self.legend.setWordWrap(True)
        row.addWidget(self.legend, 1)
        self.resident_check = QCheckBox("include weights, gradients, optimizer state", objectName="memoryResident")
        self.resident_check.setToolTip(
            "They are the same size all through the step; leave them out to see what the step itself adds"
        )
        self.resident_check.toggled.connect(self._redraw_timelines)
        row.addWidget(self.resident_check)
        lay.addLayout(row)
        # The table's step peak always counts everything; the charts leave the resident part out by default.
        self.chart_note = QLabel(objectName="memoryChartNote", wordWrap=True)
        self.chart_note.setProperty("role", "hint")
        lay.addWidget(self.chart_note)
        self._update_chart_note()

        grid = QGridLayout()
        grid.setSpacing(4)
        self.timelines = {}
        for col, kind in enumerate(KINDS):
            plot = TimelinePlot(TITLES[kind])
            plot.setObjectName(f"memoryTimeline_{kind}")
            grid.addWidget(plot, 0, col)
            grid.setColumnStretch(col, 1)
            self.timelines[kind] = plot
        self.timelines["checkpoint"].setYLink(self.timelines["baseline"])
        self.timelines["mixed"].setYLink(self.timelines["baseline"])
        lay.addLayout(grid, 3)

        self.table = QTableWidget(len(METRICS), len(KINDS), objectName="memoryMetrics")
        self.table.setHorizontalHeaderLabels([TITLES[k] for k in KINDS])
        self.table.setVerticalHeaderLabels(METRICS)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        rows_h = sum(self.table.verticalHeader().sectionSize(i) for i in range(len(METRICS)))
        self.table.setFixedHeight(rows_h + self.table.horizontalHeader().height() + 4)
        lay.addWidget(self.table)

        bottom = QHBoxLayout()
        scale_box = QVBoxLayout()
        self.high_scale_check = QCheckBox(
            "start the loss scale too high (2^30) to watch it back off", objectName="memoryHighScale"
        )
        self.high_scale_check.setToolTip(
            "fp16 gradients overflow at first: those steps are skipped and the "
            "scale halves until they fit (PyTorch's GradScaler rules)"
        )
        scale_box.addWidget(self.high_scale_check)
        # log2 of the scale on a plain axis labelled 2^k: a log axis labels every minor tick (2, 3, ... 9)
        # and the labels run into each other
        self.scale_plot = pg.PlotWidget(objectName="memoryScalePlot", axisItems={"left": PowerOfTwoAxis("left")})
        style_plot(self.scale_plot, "Mixed precision: loss scale per step", "scale", "step")
        self.scale_plot.setYRange(0, 32, padding=0.02)
        self.scale_plot.setMinimumHeight(120)
        self.scale_curve = self.scale_plot.plot([], [], pen=pg.mkPen(KIND_COLORS["mixed"], width=2))
        self.skip_marks = self.scale_plot.plot(
            [], [], pen=None, symbol="x", symbolSize=8, symbolPen=pg.mkPen((210, 60, 80), width=2), symbolBrush=None
        )
        scale_box.addWidget(self.scale_plot, 1)
        bottom.addLayout(scale_box, 2)
        self.explain = QLabel(objectName="memoryExplanation")
        self.explain.setWordWrap(True)
        self.explain.setTextFormat(Qt.RichText)
        self.explain.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.explain.setText(self._explanation())
        box = QGroupBox("Common claims, and what this machine measured")
        bl = QVBoxLayout(box)
        bl.setContentsMargins(2, 2, 2, 2)
        explain_scroll = QScrollArea(objectName="memoryExplanationScroll")
        explain_scroll.setWidget(self.explain)
        explain_scroll.setWidgetResizable(True)
        explain_scroll.setFrameShape(QFrame.NoFrame)
        explain_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        bl.addWidget(explain_scroll)
        bottom.addWidget(box, 3)
        lay.addLayout(bottom, 2)
        return tab

    def _build_budget_tab(self) -> QWidget:
        tab = QWidget()
        lay = QVBoxLayout(tab)
        row = QHBoxLayout()
        row.addWidget(QLabel("Memory budget for one training step:"))
        self.budget_slider = QSlider(
            Qt.Horizontal,
            objectName="memoryBudget",
            minimum=0,
            maximum=SLIDER_STEPS,
            value=SLIDER_STEPS // 2,
            enabled=False,
        )
        self.budget_label = QLabel("—", objectName="memoryBudgetLabel")
        self.budget_label.setMinimumWidth(90)
        row.addWidget(self.budget_slider, 1)
        row.addWidget(self.budget_label)
        lay.addLayout(row)
        self.search_label = QLabel(
            "The largest batch that fits is found by measuring steps; it appears here.", objectName="memorySearchResult"
        )
        self.search_label.setWordWrap(True)
        self.search_label.setTextFormat(Qt.RichText)
        lay.addWidget(self.search_label)
        self.curve_plot = pg.PlotWidget(objectName="memoryCurvePlot")
        style_plot(self.curve_plot, "Peak memory of a training step against batch size", "MiB", "batch size")
        self.curve_plot.addLegend(offset=(-10, -30), labelTextColor=self.palette().color(QPalette.Text))
        self.curve_items, self.found_lines = {}, {}
        for kind in KINDS:
            c = KIND_COLORS[kind]
            self.curve_items[kind] = self.curve_plot.plot(
                [], [], pen=pg.mkPen(c, width=2), symbol="o", symbolSize=6, symbolBrush=pg.mkBrush(c), name=TITLES[kind]
            )
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen(c, width=1, style=Qt.DashLine))
            line.hide()
            self.curve_plot.addItem(line)
            self.found_lines[kind] = line
        self.budget_line = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen((210, 60, 80), width=2),
            label="budget",
            labelOpts={"position": 0.05, "color": (210, 60, 80)},
        )
        self.budget_line.hide()
        self.curve_plot.addItem(self.budget_line)
        lay.addWidget(self.curve_plot, 1)
        note = QLabel(
            "Each point is the measured peak (tracemalloc) of one real training step. The search "
            "estimates from small probe batches, then confirms with measured steps; it never runs "
            f"a step it expects to exceed the budget. Batches are capped at {MAX_LAB_BATCH:,} here "
            "(try <code>nnstudio memory search</code> for more)."
        )
        note.setWordWrap(True)
        lay.addWidget(note)
        self._budget_timer = QTimer(self, singleShot=True, interval=400)
        self._budget_timer.timeout.connect(self._search_now)
        self.budget_slider.valueChanged.connect(self._budget_moved)
        return tab

    # -- data and config ------------------------------------------------------------------
    def sizes(self) -> list[int]:
        return list(NETWORKS[self.network_box.currentIndex()][1])

    def _load_data(self):
        """MNIST's float32 (train, test) arrays: the one copy every page shares (core's cache)."""
        arrays = training_arrays("mnist", self.context.data_dir)
        return arrays.train, arrays.test

    def _config_changed(self) -> None:
        self.curve = None
        self.search_result = None
        if self.tabs.currentIndex() == 1:
            self._start_curve()

    # -- actions ------------------------------------------------------------------------
    def run_lab(self) -> None:
        if self.worker.busy:
            return
        try:
            (x, y), test = self._load_data()
        except Exception as exc:  # noqa: BLE001 - missing data is explained, nothing else changes
            self.status.setText(f"MNIST is needed for this lab and could not be loaded: {exc}")
            return
        n = self.images_box.currentData()
        self.runs = {}
        self.table.clearContents()
        self.scale_curve.setData([], [])
        self.skip_marks.setData([], [])
        self.explain.setText(self._explanation())
        self._start(
            lab_compare,
            None,
            self.sizes(),
            (x[:n], y[:n]),
            test,
            self.batch_spin.value(),
            self.segments_spin.value(),
            self.epochs_spin.value(),
            2.0**30 if self.high_scale_check.isChecked() else 2.0**16,
        )

    def stop(self) -> None:
        self.worker.cancel()
        self.status.setText("Stopping after the current step…")

    def _tab_changed(self, index: int) -> None:
        if index == 1 and self.curve is None:
            self._start_curve()

    def _start_curve(self) -> None:
        if self.worker.busy:
            self._curve_key = "pending"
            return
        try:
            (x, y), _ = self._load_data()
        except Exception as exc:  # noqa: BLE001
            self.status.setText(f"MNIST is needed for this lab and could not be loaded: {exc}")
            return
        self._curve_key = None
        self.budget_slider.setEnabled(False)
        self._start(
            lab_curve,
            self._on_curve,
            self.sizes(),
            x[:MAX_LAB_BATCH],
            y[:MAX_LAB_BATCH],
            self.segments_spin.value(),
            [16, 64, 256, 512, 1024],
        )

    def _budget_moved(self, _value=None) -> None:
        self.budget_label.setText(format_bytes(self.budget()))
        self.budget_line.setValue(self.budget() / MiB)
        self.budget_line.show()
        self._budget_timer.start()

    def budget(self) -> int:
        lo, hi = getattr(self, "_budget_range", (64 * MiB, 1024 * MiB))
        frac = self.budget_slider.value() / SLIDER_STEPS
        return int(lo * (hi / lo) ** frac)

    def _search_now(self) -> None:
        if self.curve is None:
            return
        if self.worker.busy:
            self._pending_budget = self.budget()
            return
        (x, y), _ = self._load_data()
        self._pending_budget = None
        self._start(
            lab_search,
            self._on_search,
            self.sizes(),
            x[:MAX_LAB_BATCH],
            y[:MAX_LAB_BATCH],
            self.segments_spin.value(),
            self.budget(),
        )

    def _start(self, job, on_result, *args) -> None:
        """Run ``job(ctx, *args)`` on the lab's thread; ``on_result`` gets what it returns (None: cancelled)."""
        self._on_result = on_result
        self._set_busy(True)
        self.worker.start(job, *args)

    # -- results (UI thread) ----------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        if busy:
            self.progress.setVisible(True)
        self.run_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.network_box.setEnabled(not busy)
        self.segments_spin.setEnabled(not busy)

    def _on_progress(self, payload: tuple[str, float]) -> None:
        text, frac = payload
        self.status.setText(text)
        self.progress.setValue(int(frac * 1000))

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"Stopped: {message}")

    def _on_finished(self, result) -> None:
        if result is not None and self._on_result is not None:
            self._on_result(result)

    def _on_idle(self) -> None:
        self._set_busy(False)
        if self._curve_key == "pending":
            self._start_curve()
        elif self._pending_budget is not None:
            self._search_now()

    def _on_run(self, run) -> None:
        self.runs[run.kind] = run
        self._redraw_timelines()
        for kind in self.runs:
            col = KINDS.index(kind)
            for row, text in enumerate(self._metrics(self.runs[kind])):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, col, item)
        if run.kind == "mixed" and run.scale_history:
            s = np.asarray(run.scale_history)
            steps = np.arange(1, len(s) + 1)
            self.scale_curve.setData(steps, np.log2(s))
            skipped = np.asarray(run.skipped_at, dtype=int)
            self.skip_marks.setData(skipped, np.log2(s[skipped - 1]) if len(skipped) else [])
            self.scale_plot.enableAutoRange()
            self.scale_plot.setAccessibleDescription(
                f"Loss scale per step: from 2^{np.log2(s[0]):g} to 2^{np.log2(s[-1]):g} over {len(s)} steps, "
                f"{len(skipped)} steps skipped"
            )
        self.explain.setText(self._explanation())

    def _redraw_timelines(self) -> None:
        include = self.resident_check.isChecked()
        for kind, run in self.runs.items():
            self.timelines[kind].show_timeline(run.profile.timeline, include)
        peaks = [
            r.profile.timeline.totals().max() - (0 if include else sum(r.profile.timeline.resident.values()))
            for r in self.runs.values()
        ]
        meas = [
            max(r.profile.timeline.measured or [0]) - (0 if include else sum(r.profile.timeline.resident.values()))
            for r in self.runs.values()
        ]
        if peaks:
            self.timelines["baseline"].setYRange(0, max(peaks + meas) / MiB * 1.08, padding=0)
        base = self.timelines["baseline"]
        for kind in self.runs:
            plot = self.timelines[kind]
            if kind != "baseline" and "baseline" in self.runs and base.peak_shown:
                plot.setAccessibleDescription(
                    f"{plot.summary} Peak ×{plot.peak_shown / base.peak_shown:.2f} the baseline's "
                    f"{base.peak_shown / MiB:.1f} MiB."
                )
        self._update_chart_note()

    def _update_chart_note(self) -> None:
        """Say what the charts count and how that relates to the table's step peak."""
        if self.resident_check.isChecked():
            text = "Charts: everything live during the step, as in the table's step peak."
        else:
            text = (
                "Charts: only what the step itself adds (batch, activations, workspace). Weights, gradients and "
                "optimizer state stay the same size all step and are left out"
            )
            base = self.runs.get("baseline")
            if base is not None:
                resident = sum(base.profile.timeline.resident.values())
                text += (
                    f" (baseline: {format_bytes(resident)}); the table's step peak includes them, so it is that "
                    "much higher than the chart's. Tick the box to draw them too."
                )
            else:
                text += "; the table's step peak includes them. Tick the box to draw them too."
        self.chart_note.setText(text)

    def _metrics(self, run) -> list[str]:
        """One table column: the numbers for ``run`` (ratios against the baseline run)."""
        base = self.runs.get("baseline")
        p = run.profile

        def vs(value, ref):
            return "" if base is None or run is base or not ref else f"   (×{value / ref:.2f})"

        col = [
            format_bytes(p.measured_peak) + vs(p.measured_peak, base and base.profile.measured_peak),
            f"{format_bytes(p.accounted_peak)}   ({p.agreement:.1%} of measured)",
            format_bytes(p.activation_peak) + vs(p.activation_peak, base and base.profile.activation_peak),
            f"{run.seconds_per_step * 1000:.1f} ms" + vs(run.seconds_per_step, base and base.seconds_per_step),
            f"{np.mean(run.epoch_seconds):.1f} s for {run.train_images:,} images" if run.epoch_seconds else "—",
            f"{run.test_accuracy[-1]:.2%} after {len(run.test_accuracy)} epoch(s)" if run.test_accuracy else "—",
        ]
        note = {
            "baseline": "plain NumPy step, as the Trainer does it",
            "checkpoint": f"{run.segments} segments; gradients identical to baseline",
            "mixed": (
                f"{run.skipped_steps} steps skipped, final loss scale {run.scale_history[-1]:g}"
                if run.scale_history
                else ""
            ),
        }[run.kind]
        if run.state not in ("finished", ""):
            note += f" (training {run.state})"
        col.append(note)
        return col

    def _explanation(self) -> str:
        b, c, m = (self.runs.get(k) for k in KINDS)
        lines = []
        ck = (
            "<b>Checkpointing</b> — the usual claim (from Chen et al. 2016, “Training Deep Nets with Sublinear "
            "Memory Cost”, repeated in many courses): “10× less memory, 30% slower”. "
        )
        if b and c:
            ck += (
                f"Here, {c.segments} segments: activations {format_bytes(b.profile.activation_peak)} → "
                f"{format_bytes(c.profile.activation_peak)} "
                f"(×{b.profile.activation_peak / c.profile.activation_peak:.1f} smaller), step "
                f"×{c.seconds_per_step / b.seconds_per_step:.2f} the time, whole-step peak "
                f"×{c.profile.measured_peak / b.profile.measured_peak:.2f}: weights, gradients and optimizer "
                "state do not shrink. The saving grows with depth; gradients are bit-for-bit the same."
            )
        else:
            ck += "Keeps only each segment's input and recomputes the rest during backward."
        lines.append(ck)
        mp = (
            "<b>Mixed precision</b> — the usual claim (from Micikevicius et al. 2018, “Mixed Precision "
            "Training”, measured on GPUs with fp16 units): “2× faster, 2× less memory”. "
        )
        if b and m:
            acc = ""
            if b.test_accuracy and m.test_accuracy:
                acc = f" Test accuracy {m.test_accuracy[-1]:.2%} vs {b.test_accuracy[-1]:.2%} in fp32."
            mp += (
                f"Here: activations ×{b.profile.activation_peak / m.profile.activation_peak:.1f} smaller, "
                f"but the step takes ×{m.seconds_per_step / b.seconds_per_step:.1f} the time: NumPy has no "
                "fp16 arithmetic, so each fp16 array is widened to fp32 for the matrix products. On a GPU "
                "with fp16 units that is where the speed comes from; on this CPU only the memory saving "
                f"is real. The fp32 master weights stay, plus an fp16 copy.{acc}"
            )
        else:
            mp += "Stores activations in 16 bits, keeps 32-bit master weights, and scales the loss so small "
            mp += "gradients do not vanish."
        lines.append(mp)
        lines.append(
            "<b>Batch size</b> — a common recipe is to double the batch until the program runs out of "
            "memory. The other tab measures steps instead and never goes past the budget."
        )
        return "<br><br>".join(lines)

    def _on_curve(self, curve: dict) -> None:
        self.curve = curve
        for kind in KINDS:
            pts = np.asarray(curve.get(kind, []), dtype=float)
            if len(pts):
                self.curve_items[kind].setData(pts[:, 0], pts[:, 1] / MiB)
        # slider: from the smallest measured step to what the baseline needs at the cap
        base = np.asarray(curve["baseline"], dtype=float)
        slope = (base[-1, 1] - base[-2, 1]) / (base[-1, 0] - base[-2, 0])
        lo = min(float(np.asarray(curve[k])[0, 1]) for k in KINDS) * 1.05
        hi = base[-1, 1] + slope * (MAX_LAB_BATCH - base[-1, 0])
        self._budget_range = (lo, max(hi, lo * 2))
        self.budget_slider.setEnabled(True)
        self.budget_slider.blockSignals(True)
        self.budget_slider.setValue(int(SLIDER_STEPS * 0.6))
        self.budget_slider.blockSignals(False)
        self._budget_moved()

    def _on_search(self, result: dict) -> None:
        self.search_result = result
        parts = []
        for kind in KINDS:
            r = result.get(kind)
            line = self.found_lines[kind]
            if isinstance(r, str) or r is None:
                parts.append(f"<b>{TITLES[kind]}</b>: {r or '—'}")
                line.hide()
                continue
            cap = f" (the lab's cap of {MAX_LAB_BATCH:,})" if r.capped else ""
            parts.append(
                f"<b style='color:rgb{KIND_COLORS[kind]}'>{TITLES[kind]}</b>: batch "
                f"<b>{r.batch_size:,}</b>{cap}, step peak {format_bytes(r.peak)}, "
                f"{len(r.trials)} measured steps in {r.seconds:.1f} s"
            )
            line.setValue(r.batch_size)
            line.show()
            pts = dict(self.curve.get(kind, [])) if self.curve else {}
            pts.update(dict(r.trials))
            arr = np.asarray(sorted(pts.items()), dtype=float)
            self.curve_items[kind].setData(arr[:, 0], arr[:, 1] / MiB)
            self.curve[kind] = [tuple(p) for p in arr]
        self.search_label.setText(f"Budget {format_bytes(result['budget'])}:<br>" + "<br>".join(parts))

    def shutdown(self) -> None:
        self._budget_timer.stop()
        self._curve_key, self._pending_budget = None, None  # start nothing new when the job ends
        self.worker.shutdown()
