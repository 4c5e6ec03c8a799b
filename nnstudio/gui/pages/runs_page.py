"""Runs: every training run, from Build & Train and from ``nnstudio train``, and runs compared.

A view over the core run store (:mod:`nnstudio.core.runs`): the table lists the runs (the live one
included, as its epochs end), selecting several overlays their loss and accuracy curves with a
legend naming what differs, and the side-by-side table highlights the differing settings. The page
polls the store cheaply while it is shown, so runs another process records appear too.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QItemSelectionModel, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.fmt import format_seconds
from nnstudio.core.runs import RunRecord, comparison
from nnstudio.core.training import RunConfig

from ..run_recording import shared_store
from ..widgets.training_charts import debiased_ema, is_dark, style_plot

SMOOTHING = 0.9  # the loss line's EMA weight (the stored points show under it)
POLL_MS = 1000  # while the page is shown: one cheap query a second
# Colours that read on light and dark backgrounds, one per compared run.
RUN_COLOURS = [(30, 110, 235), (240, 130, 20), (50, 165, 80), (210, 60, 80), (145, 90, 210), (30, 170, 190)]
COLUMNS = ("#", "when", "dataset", "network", "optimizer", "lr", "batch", "epochs", "test accuracy", "time", "status")


class _Item(QTableWidgetItem):
    """A cell that sorts by a value of its own (numbers as numbers, times as times)."""

    def __init__(self, text: str, key=None):
        super().__init__(text)
        self.key = key if key is not None else text
        self.setFlags(self.flags() & ~Qt.ItemIsEditable)

    def __lt__(self, other):
        a, b = self.key, getattr(other, "key", other.text())
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


def _cells(r: RunRecord) -> list[_Item]:
    hp = r.hyperparameters
    lr = hp.get("lr")
    acc = r.test_accuracy
    wall = r.wall_seconds or 0.0
    epochs = hp.get("epochs")
    status = {"running": "training…"}.get(r.status, r.status)
    return [
        _Item(str(r.id), r.id),
        _Item(time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)), r.started),
        _Item(r.dataset),
        _Item(r.network, tuple(r.architecture)),
        _Item(str(hp.get("optimizer", ""))),
        _Item(f"{lr:g}" if isinstance(lr, (int, float)) else "–", lr if isinstance(lr, (int, float)) else -1),
        _Item(str(hp.get("batch_size", "–")), hp.get("batch_size") or 0),
        _Item(f"{r.epochs_done}/{epochs}" if epochs else str(r.epochs_done), r.epochs_done),
        _Item(f"{acc:.2%}" if acc is not None else "–", acc if acc is not None else -1.0),
        _Item(format_seconds(wall), wall),
        _Item(status + (f" ({r.source})" if r.source != "window" else ""), r.status),
    ]


class RunsChart(QWidget):
    """Loss and test accuracy of the selected runs, overlaid, with one legend naming each run."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("runsChart")
        self.setAccessibleName("Runs compared: loss and accuracy")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.legend = QLabel(objectName="runsLegend", wordWrap=True)
        self.legend.setTextFormat(Qt.RichText)
        lay.addWidget(self.legend)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.loss_plot = pg.PlotWidget()
        self.acc_plot = pg.PlotWidget()
        style_plot(self.loss_plot, "Training loss", bottom="epoch")
        style_plot(self.acc_plot, "Accuracy", left="%", bottom="epoch")
        self.loss_plot.setLogMode(y=True)
        self.acc_plot.getViewBox().setDefaultPadding(0.06)  # the first and last epoch's dots whole
        row.addWidget(self.loss_plot, 3)
        row.addWidget(self.acc_plot, 2)
        lay.addLayout(row, 1)
        self.labels: list[str] = []
        self.set_runs([], [])

    def set_runs(self, runs: list[RunRecord], labels: list[str]) -> None:
        self.labels = list(labels)
        self.loss_plot.clear()
        self.acc_plot.clear()
        parts = []
        lo = 100.0
        for i, (run, label) in enumerate(zip(runs, labels)):
            colour = RUN_COLOURS[i % len(RUN_COLOURS)]
            x, y = run.loss_points()
            y_arr = np.asarray(y, dtype=float)
            keep = np.isfinite(y_arr) & (y_arr > 0)
            xs, ys = np.asarray(x)[keep], y_arr[keep]
            # the stored points faintly, and a smoothed line over them (as Build & Train draws its loss)
            self.loss_plot.plot(xs, ys, pen=pg.mkPen((*colour, 70), width=1))
            if len(ys):
                self.loss_plot.plot(xs, debiased_ema(ys, SMOOTHING)[0], pen=pg.mkPen(colour, width=2.2))
            ep = [e["epoch"] for e in run.epochs]
            test = [100 * e["test_accuracy"] if e["test_accuracy"] is not None else np.nan for e in run.epochs]
            train = [100 * e["train_accuracy"] if e["train_accuracy"] is not None else np.nan for e in run.epochs]
            if ep:
                self.acc_plot.plot(
                    ep,
                    test,
                    pen=pg.mkPen(colour, width=2),
                    symbol="o",
                    symbolSize=7,
                    symbolBrush=colour,
                    symbolPen=None,
                )
                self.acc_plot.plot(ep, train, pen=pg.mkPen(colour, width=1.2, style=Qt.DashLine))
                finite = [v for v in test + train if np.isfinite(v)]
                lo = min([lo, *finite])
            hexc = "#{:02x}{:02x}{:02x}".format(*colour)
            acc = f" · {run.test_accuracy:.2%}" if run.test_accuracy is not None else ""
            parts.append(f"<span style='color:{hexc}; font-size:14pt'>■</span>&nbsp;<b>{label}</b>{acc}")
        if not runs:
            self.legend.setText("<i>Select runs in the table to see their curves here (Ctrl+click for several).</i>")
        else:
            self.legend.setText(
                "&nbsp;&nbsp;&nbsp;".join(parts) + "&nbsp;&nbsp;&nbsp;<span style='font-size:8pt'>accuracy: test solid,"
                " train dashed · loss: smoothed, stored points faint</span>"
            )
        if not runs:  # nothing selected: plain axes (0-100 %, loss 0.01-10 on the log scale), not autorange's 98-100
            for plot in (self.loss_plot, self.acc_plot):
                plot.setXRange(0, 5, padding=0)
            self.loss_plot.setYRange(-2, 1, padding=0)  # log10 units
            self.acc_plot.setYRange(0, 100.5, padding=0)
            return
        self.acc_plot.setYRange(max(0.0, min(lo, 100.0) - 2), 100.5, padding=0)
        self.loss_plot.enableAutoRange()
        self.acc_plot.enableAutoRange(axis="x")


class PairRunner(QObject):
    """Runs a list of configs one after another in Build & Train, then reports the recorded run ids."""

    done = Signal(list)  # run ids, in order
    cancelled = Signal()

    def __init__(self, studio, parent=None):
        super().__init__(parent)
        self.studio = studio
        self.queue: list[RunConfig] = []
        self.ids: list[int] = []
        self.active = False

    def start(self, configs: list[RunConfig]) -> bool:
        if self.active or self.studio.worker.running:
            self.studio.show_message("Stop the run in progress first; then the pair of runs can start.", error=True)
            return False
        self.queue, self.ids, self.active = list(configs), [], True
        self.studio.worker.finished.connect(self._finished)
        return self._next()

    def _next(self) -> bool:
        if not self.queue:
            self._end()
            self.done.emit(self.ids)
            return True
        cfg = self.queue.pop(0)
        if not load_into_studio(self.studio, cfg) or not self.studio.worker.running:
            self._end()
            self.cancelled.emit()
            return False
        recorder = getattr(self.studio, "recorder", None)
        if recorder is not None and recorder.run_id is not None:
            self.ids.append(recorder.run_id)
        return True

    def _finished(self, state: str) -> None:
        if not self.active:
            return
        if state == "stopped":  # the learner pressed Stop: the rest of the queue is off too
            self._end()
            self.cancelled.emit()
            return
        QTimer.singleShot(0, self._next)

    def _end(self) -> None:
        if self.active:
            self.active = False
            self.studio.worker.finished.disconnect(self._finished)


def load_into_studio(studio, cfg: RunConfig, train: bool = True) -> bool:
    """Show ``cfg`` in Build & Train, build fresh weights from its seed and (``train``) start training."""
    if studio.dataset_combo.findData(cfg.dataset) < 0:
        studio.show_message(f"Build & Train does not offer the dataset {cfg.dataset!r} of this run.", error=True)
        return False
    if studio.worker.running:
        studio.worker.stop(wait=10.0)
    if studio.data is not None and studio.data.name != cfg.dataset:
        studio.data = None
    studio.apply_run_config(cfg)
    studio._save_settings()
    if not studio.build_network():
        return False
    if train:
        studio.train()
    return True


class RunsPage(QWidget):
    """Runs: the run store's table, and the selected runs compared."""

    title = "Runs"

    def __init__(self, context):
        super().__init__()
        self.setObjectName("runsPage")
        self.context = context
        self.studio = None
        self.store = None
        self.runs: dict[int, RunRecord] = {}
        self._version = None
        self._shown_key = None
        self.pair_runner: PairRunner | None = None

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        top = QHBoxLayout()
        self.summary = QLabel(objectName="runsSummary")
        self.summary.setProperty("role", "hint")
        top.addWidget(self.summary, 1)
        self.open_button = QPushButton("Open model", objectName="openRunModelButton")
        self.open_button.setToolTip("Open the model file this run saved in Build & Train")
        self.again_button = QPushButton("Train again", objectName="trainAgainButton")
        self.again_button.setToolTip("Load this run's settings into Build & Train and train from fresh weights")
        self.delete_button = QPushButton("Delete…", objectName="deleteRunsButton")
        self.delete_button.setToolTip("Forget the selected runs (their model files are kept)")
        for b in (self.open_button, self.again_button, self.delete_button):
            top.addWidget(b)
        lay.addLayout(top)
        self.message = QLabel(objectName="runsMessage", wordWrap=True)
        self.message.hide()
        lay.addWidget(self.message)

        self.table = QTableWidget(0, len(COLUMNS), objectName="runsTable")
        self.table.setAccessibleName("Recorded runs")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.sortByColumn(1, Qt.DescendingOrder)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _: self.open_model())

        self.chart = RunsChart()
        self.compare = QTableWidget(0, 0, objectName="runsCompare")
        self.compare.setAccessibleName("Settings and results of the selected runs")
        self.compare.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.compare.setSelectionMode(QAbstractItemView.NoSelection)
        self.compare.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.compare.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.compare.setMinimumWidth(260)

        self.bottom = bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.chart)
        bottom.addWidget(self.compare)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 1)
        bottom.setChildrenCollapsible(False)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(bottom)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)

        self.open_button.clicked.connect(lambda: self.open_model())
        self.again_button.clicked.connect(lambda: self.train_again())
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.timer = QTimer(self, interval=POLL_MS, timeout=self.poll)
        self._update_buttons()

    # -- wiring -----------------------------------------------------------------------------------
    def attach_studio(self, studio) -> None:
        """Build & Train: where "Train again" and "Open model" go, and whose "Things to try" start pairs."""
        self.studio = studio
        self.pair_runner = PairRunner(studio, self)
        self.pair_runner.done.connect(self._pair_done)
        tips = getattr(studio, "tips", None)
        if tips is not None and hasattr(tips, "compare_requested"):
            tips.compare_requested.connect(self.run_experiment)

    def _main_window(self):
        w = self.window()
        return w if hasattr(w, "show_page") else None

    # -- the store --------------------------------------------------------------------------------
    def _open_store(self) -> bool:
        if self.store is not None:
            return True
        try:
            self.store = shared_store(notice=self.context.show_status)
        except Exception as exc:  # noqa: BLE001 - any database failure (sqlite3, RunStoreError): say it, go on
            self._say(f"The runs database cannot be read: {exc}", error=True)
            return False
        return True

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#d9534f" if error else "#2e7dd7"
        self.message.setStyleSheet(f"QLabel {{ border-left: 4px solid {colour}; padding: 4px 8px; }}")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
        self.timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def poll(self) -> None:
        """Refresh if any process changed the store since the last look (one tiny query)."""
        if not self._open_store():
            return
        try:
            version = self.store.version()
        except Exception:  # noqa: BLE001 - a store that broke under us: try again next time
            return
        if version != self._version:
            self.refresh()

    def refresh(self) -> None:
        if not self._open_store():
            return
        try:
            self._version = self.store.version()
            runs = self.store.runs(with_epochs=True)
        except Exception as exc:  # noqa: BLE001
            self._say(f"The runs database cannot be read: {exc}", error=True)
            return
        self.runs = {r.id: r for r in runs}
        selected = self.selected_ids()
        sort_col = self.table.horizontalHeader().sortIndicatorSection()
        sort_order = self.table.horizontalHeader().sortIndicatorOrder()
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(runs))
        for row, run in enumerate(runs):
            for col, item in enumerate(_cells(run)):
                item.setData(Qt.UserRole, run.id)
                if col >= 5 and col != 10:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(sort_col, sort_order)
        self.table.blockSignals(False)
        self.select_runs([i for i in selected if i in self.runs], scroll=False)
        live = sum(r.status == "running" for r in runs)
        self.summary.setText(
            f"{len(runs)} run{'s' if len(runs) != 1 else ''} recorded"
            + (f", {live} training now" if live else "")
            + " · from Build & Train and from <tt>nnstudio train</tt> · select two or more to compare"
        )
        self._show_selection(force=True)

    # -- selection --------------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        ids = []
        for row in rows:
            item = self.table.item(row, 0)
            if item is not None:
                ids.append(int(item.data(Qt.UserRole)))
        return sorted(ids)

    def select_runs(self, ids: list[int], scroll: bool = True) -> None:
        self.table.blockSignals(True)
        self.table.clearSelection()
        model = self.table.selectionModel()
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and int(item.data(Qt.UserRole)) in ids:
                model.select(self.table.model().index(row, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)
                if scroll:
                    self.table.scrollToItem(item)
        self.table.blockSignals(False)
        self._selection_changed()

    def _selection_changed(self) -> None:
        self._show_selection()
        self._update_buttons()

    def _show_selection(self, force: bool = False) -> None:
        runs = [self.runs[i] for i in self.selected_ids() if i in self.runs]
        key = tuple((r.id, r.updated, r.status) for r in runs)
        if not force and key == self._shown_key:
            return
        self._shown_key = key
        c = comparison(runs) if runs else {"labels": [], "differ": [], "hyperparameters": {}, "metrics": {}}
        labels = c["labels"] if len(runs) > 1 else [f"run {r.id}" for r in runs]
        self.chart.set_runs(runs, labels)
        self._fill_compare(runs, c, labels)

    def _fill_compare(self, runs: list[RunRecord], c: dict, labels: list[str]) -> None:
        t = self.compare
        t.clear()
        if not runs:
            t.setRowCount(0)
            t.setColumnCount(0)
            return
        rows = list(c["hyperparameters"].items())
        m = c["metrics"]
        rows += [
            ("test accuracy", [f"{v:.2%}" if v is not None else "–" for v in m["test_accuracy"]]),
            ("test loss", [f"{v:.4f}" if v is not None else "–" for v in m["test_loss"]]),
            ("epochs done", [str(v) for v in m["epochs_done"]]),
            ("time", [format_seconds(v) for v in m["wall_seconds"]]),
            ("samples/s", [f"{v:,.0f}" if v else "–" for v in m["samples_per_sec"]]),
            ("ended", [str(v) for v in m["status"]]),
        ]
        differ = set(c["differ"]) if len(runs) > 1 else set()
        # differing settings first: they are what the comparison is about
        rows.sort(key=lambda kv: kv[0] not in differ)
        t.setRowCount(len(rows))
        t.setColumnCount(len(runs))
        t.setHorizontalHeaderLabels(labels if len(runs) > 1 else [f"run {r.id}" for r in runs])
        for j in range(len(runs)):
            head = t.horizontalHeaderItem(j)
            head.setForeground(QBrush(QColor(*RUN_COLOURS[j % len(RUN_COLOURS)])))
            head.setToolTip(f"run {runs[j].id}")
        tint = QColor(255, 190, 40, 90) if not is_dark() else QColor(255, 190, 40, 60)
        bold = QFont(t.font())
        bold.setBold(True)
        for i, (name, values) in enumerate(rows):
            hi = name in differ
            head = QTableWidgetItem(("≠ " if hi else "") + name)
            if hi:
                head.setFont(bold)
                head.setToolTip("differs between the selected runs")
            t.setVerticalHeaderItem(i, head)
            for j, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if hi:
                    item.setBackground(QBrush(tint))
                    item.setFont(bold)
                t.setItem(i, j, item)
        t.resizeColumnsToContents()
        QTimer.singleShot(0, self._fit_compare)

    def _fit_compare(self) -> None:
        """The side-by-side table as wide as its columns, as long as the chart keeps most of the room."""
        t = self.compare
        need = t.verticalHeader().sizeHint().width() + sum(t.columnWidth(j) for j in range(t.columnCount()))
        need += 2 * t.frameWidth() + t.verticalScrollBar().sizeHint().width() + 4
        total = sum(self.bottom.sizes())
        if total > 0:
            side = max(t.minimumWidth(), min(need, int(total * 0.45)))
            self.bottom.setSizes([total - side, side])

    def differing_settings(self) -> list[str]:
        """The settings that differ between the selected runs (as highlighted)."""
        runs = [self.runs[i] for i in self.selected_ids() if i in self.runs]
        return comparison(runs)["differ"] if len(runs) > 1 else []

    def _update_buttons(self) -> None:
        ids = self.selected_ids()
        one = self.runs.get(ids[0]) if len(ids) == 1 else None
        self.open_button.setEnabled(
            one is not None and bool(one.model_path) and Path(str(one.model_path)).exists() and self.studio is not None
        )
        self.again_button.setEnabled(one is not None and self.studio is not None)
        self.delete_button.setEnabled(bool(ids))

    # -- actions ----------------------------------------------------------------------------------
    def open_model(self) -> bool:
        ids = self.selected_ids()
        run = self.runs.get(ids[0]) if len(ids) == 1 else None
        if run is None or not run.model_path:
            return False
        if not Path(run.model_path).exists():
            self._say(f"The model file of run {run.id} is gone: {run.model_path}", error=True)
            return False
        main = self._main_window()
        if main is not None:
            return bool(main.open_model(run.model_path))
        return bool(self.studio is not None and self.studio.open_model(run.model_path))

    def train_again(self) -> bool:
        ids = self.selected_ids()
        run = self.runs.get(ids[0]) if len(ids) == 1 else None
        if run is None or self.studio is None:
            return False
        if self.studio.worker.running:
            self._say("Build & Train is training; stop that run first.", error=True)
            return False
        cfg = RunConfig.from_hyperparameters(run.hyperparameters, run.dataset)
        main = self._main_window()
        if main is not None:
            main.show_page("studioPage")
        ok = load_into_studio(self.studio, cfg)
        if ok:
            self.context.show_status(f"Training again with the settings of run {run.id}")
        return ok

    def delete_selected(self, ask: bool = True) -> int:
        ids = self.selected_ids()
        if not ids or not self._open_store():
            return 0
        live = [i for i in ids if self.runs.get(i) is not None and self.runs[i].status == "running"]
        if live:
            self._say(f"Run {live[0]} is still training; stop it before deleting it.", error=True)
            return 0
        if ask:
            answer = QMessageBox.question(
                self,
                "Delete runs",
                f"Forget {len(ids)} run{'s' if len(ids) != 1 else ''} ({', '.join(map(str, ids))})? "
                "Their model files are kept.",
                QMessageBox.Yes | QMessageBox.Cancel,
                QMessageBox.Cancel,
            )
            if answer != QMessageBox.Yes:
                return 0
        n = self.store.delete(ids)
        self.context.show_status(f"Deleted {n} run{'s' if n != 1 else ''}")
        self.refresh()
        return n

    def run_experiment(self, experiment) -> bool:
        """Start the pair of runs a "Things to try" item describes; show both here when they are done."""
        if self.studio is None or self.pair_runner is None or not experiment.is_pair:
            return False
        a, b = experiment.configs(self.studio.run_config())
        self.context.show_status(f"Two runs queued: {experiment.key}; the Runs page shows them side by side")
        return self.pair_runner.start([a, b])

    def _pair_done(self, ids: list) -> None:
        self.refresh()
        self.select_runs(list(ids))
        main = self._main_window()
        if main is not None:
            main.show_page("runsPage")

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "chart"):
            self._show_selection(force=True)

    def shutdown(self) -> None:
        self.timer.stop()
