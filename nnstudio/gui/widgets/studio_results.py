"""After an epoch: the confusion matrix and the most confident mistakes."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from .training_charts import style_plot


def _seq_lut() -> np.ndarray:
    cmap = pg.ColorMap([0.0, 0.5, 1.0], [(247, 251, 255), (107, 174, 214), (8, 48, 107)])
    return cmap.getLookupTable(0.0, 1.0, 256, alpha=True)


class ConfusionView(pg.PlotWidget):
    """Rows: true class, columns: predicted class; colour = share of the row, text = count."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("confusionPlot")
        style_plot(self, "Confusion matrix (test set)", left="true class", bottom="predicted class")
        self.getPlotItem().invertY(True)
        self.getPlotItem().setAspectLocked(True)
        self.getPlotItem().showGrid(x=False, y=False)
        self.setMouseEnabled(x=False, y=False)
        self.getPlotItem().hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(_seq_lut())
        self.addItem(self.image)
        self.texts: list[pg.TextItem] = []
        self.matrix: np.ndarray | None = None

    def set_matrix(self, cm: np.ndarray, class_names) -> None:
        cm = np.asarray(cm)
        k = len(cm)
        self.matrix = cm
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        # log-ish scale so small confusions are visible next to the big diagonal
        self.image.setImage(np.sqrt(share), levels=(0, 1), autoLevels=False)
        self.image.setRect(-0.5, -0.5, k, k)
        if len(self.texts) != k * k:
            for t in self.texts:
                self.removeItem(t)
            self.texts = []
            for _ in range(k * k):
                t = pg.TextItem(anchor=(0.5, 0.5))
                self.addItem(t)
                self.texts.append(t)
        for i in range(k):
            for j in range(k):
                t = self.texts[i * k + j]
                t.setText(str(int(cm[i, j])) if cm[i, j] else "")
                t.setColor((255, 255, 255) if share[i, j] > 0.35 else (40, 40, 40))
                t.setPos(j, i)
        short = [str(n)[:7] for n in class_names]
        ticks = [[(i, short[i]) for i in range(k)]]
        self.getAxis("left").setTicks(ticks)
        self.getAxis("bottom").setTicks(ticks)
        self.setRange(xRange=(-0.5, k - 0.5), yRange=(-0.5, k - 0.5), padding=0.02)


def digit_pixmap(img: np.ndarray, scale: int = 2) -> QPixmap:
    img = np.ascontiguousarray(255 - img)     # dark ink on light paper reads like a page
    h, w = img.shape
    qimg = QImage(img.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimg).scaled(w * scale, h * scale, Qt.KeepAspectRatio, Qt.FastTransformation)


class MistakesGallery(QWidget):
    """The test images the network got wrong with the highest confidence."""

    def __init__(self, parent=None, count: int = 24, columns: int = 8):
        super().__init__(parent)
        self.setObjectName("mistakesGallery")
        self.title = QLabel("<b>Most confident mistakes</b> (after the first epoch)")
        grid = QGridLayout()
        grid.setSpacing(6)
        self.cells: list[tuple[QLabel, QLabel]] = []
        for i in range(count):
            pic, cap = QLabel(), QLabel()
            pic.setAlignment(Qt.AlignCenter)
            cap.setAlignment(Qt.AlignCenter)
            cap.setProperty("role", "hint")
            box = QVBoxLayout()
            box.setSpacing(0)
            box.addWidget(pic)
            box.addWidget(cap)
            grid.addLayout(box, i // columns, i % columns)
            self.cells.append((pic, cap))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addLayout(grid)
        lay.addStretch(1)
        self.shown = 0

    def set_mistakes(self, mistakes, images: np.ndarray, class_names, epoch: int | None = None) -> None:
        self.shown = 0
        for (pic, cap), m in zip(self.cells, list(mistakes) + [None] * len(self.cells)):
            if m is None:
                pic.clear()
                cap.setText("")
                continue
            index, true, pred, conf = m
            pic.setPixmap(digit_pixmap(images[index]))
            cap.setText(f"<span style='color:#2e9d4a'>{class_names[true]}</span> → "
                        f"<span style='color:#d9534f'><b>{class_names[pred]}</b></span> {conf:.0%}")
            pic.setToolTip(f"test image #{index}: true {class_names[true]}, "
                           f"predicted {class_names[pred]} with {conf:.1%} confidence")
            self.shown += 1
        when = f" after epoch {epoch}" if epoch else ""
        self.title.setText(f"<b>Most confident mistakes</b>{when}: true → <b>predicted</b> (confidence)")


class ResultsView(QWidget):
    """Confusion matrix beside the mistakes gallery."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("resultsView")
        self.confusion = ConfusionView()
        self.gallery = MistakesGallery()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.confusion, 4)
        lay.addWidget(self.gallery, 5)
        pal = QApplication.instance().palette()
        self.gallery.setAutoFillBackground(True)
        self.gallery.setBackgroundRole(QPalette.Base)
        del pal

    def show_analysis(self, analysis, images: np.ndarray, epoch: int | None = None) -> None:
        self.confusion.set_matrix(analysis.confusion, analysis.class_names)
        self.gallery.set_mistakes(analysis.mistakes, images, analysis.class_names, epoch)
