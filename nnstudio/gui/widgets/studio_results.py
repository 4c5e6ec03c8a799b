"""After an epoch: the confusion matrix and the most confident mistakes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget


def _blues(share: float) -> QColor:
    """White -> dark blue for a share in [0, 1]."""
    t = share**0.5  # square root: small confusions stay visible next to the big diagonal
    lo, mid, hi = (247, 251, 255), (107, 174, 214), (8, 48, 107)
    a, b, u = (lo, mid, t * 2) if t < 0.5 else (mid, hi, t * 2 - 1)
    return QColor(*(int(a[i] + (b[i] - a[i]) * u) for i in range(3)))


class ConfusionView(QWidget):
    """Rows: true class, columns: predicted class; colour = share of the row, text = count.

    Painted directly with QPainter (100 cells in well under a millisecond), so the
    update after each epoch costs the UI thread nothing noticeable.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("confusionPlot")
        self.setMinimumSize(260, 240)
        self.matrix: np.ndarray | None = None
        self.class_names: list = []

    def set_matrix(self, cm: np.ndarray, class_names) -> None:
        self.matrix = np.asarray(cm)
        self.class_names = [str(n) for n in class_names]
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        pal = self.palette()
        fg = pal.color(QPalette.Text)
        painter.fillRect(self.rect(), pal.color(QPalette.Base))
        painter.setPen(fg)
        title_font = QFont(self.font())
        title_font.setBold(True)
        if self.matrix is None:
            painter.drawText(self.rect(), Qt.AlignCenter, "The confusion matrix appears\nafter the first epoch.")
            painter.end()
            return
        cm = self.matrix
        k = len(cm)
        fm = QFontMetrics(self.font())
        label_w = max(fm.horizontalAdvance(n[:9]) for n in self.class_names) + 8
        top, left = fm.height() * 2 + 6, label_w + fm.height() + 4
        side = max(8, min((self.width() - left - 6) // k, (self.height() - top - fm.height() * 2 - 6) // k))
        painter.setFont(title_font)
        painter.drawText(QRect(0, 0, self.width(), fm.height() + 4), Qt.AlignCenter, "Confusion matrix (test set)")
        painter.setFont(self.font())
        painter.drawText(QRect(left, fm.height() + 2, side * k, fm.height() + 4), Qt.AlignCenter, "predicted →")
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, min(self.font().pointSizeF(), side / 3.2)))
        painter.setFont(small)
        for i in range(k):
            for j in range(k):
                rect = QRect(left + j * side, top + i * side, side - 1, side - 1)
                painter.fillRect(rect, _blues(float(share[i, j])))
                if cm[i, j]:
                    painter.setPen(QColor(255, 255, 255) if share[i, j] > 0.3 else QColor(30, 30, 30))
                    painter.drawText(rect, Qt.AlignCenter, str(int(cm[i, j])))
        painter.setFont(self.font())
        painter.setPen(fg)
        for i, name in enumerate(self.class_names):
            painter.drawText(
                QRect(fm.height() + 2, top + i * side, label_w - 4, side), Qt.AlignRight | Qt.AlignVCenter, name[:9]
            )
            painter.drawText(
                QRect(left + i * side, top + k * side + 2, side, fm.height() + 2), Qt.AlignCenter, name[:3]
            )
        painter.save()
        painter.translate(fm.height(), top + k * side / 2)
        painter.rotate(-90)
        painter.drawText(QRect(-60, -fm.height(), 120, fm.height() + 2), Qt.AlignCenter, "true class")
        painter.restore()
        painter.end()


def digit_pixmap(img: np.ndarray, scale: int = 2) -> QPixmap:
    img = np.ascontiguousarray(255 - img)  # dark ink on light paper reads like a page
    h, w = img.shape
    qimg = QImage(img.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimg).scaled(w * scale, h * scale, Qt.KeepAspectRatio, Qt.FastTransformation)


class MistakesGallery(QWidget):
    """The test images the network got wrong with the highest confidence."""

    def __init__(self, parent=None, count: int = 20, columns: int = 5):
        super().__init__(parent)
        self.setObjectName("mistakesGallery")
        self.title = QLabel("<b>Most confident mistakes</b> (after the first epoch)")
        self.title.setWordWrap(True)
        # The cells flow into as many columns as fit (at most ``columns``): long class names
        # (Fashion-MNIST's "T-shirt/top → Pullover") or a narrow window never cut the gallery off.
        self.grid = QGridLayout()
        self.grid.setSpacing(6)
        self.max_columns = columns
        self.columns = 0
        self.cells: list[tuple[QLabel, QLabel]] = []
        self.cell_widgets: list[QWidget] = []
        for _ in range(count):
            cell = QWidget()
            pic, cap = QLabel(), QLabel()
            pic.setAlignment(Qt.AlignCenter)
            cap.setAlignment(Qt.AlignCenter)
            cap.setProperty("role", "hint")
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(0)
            box.addWidget(pic)
            box.addWidget(cap)
            self.cells.append((pic, cap))
            self.cell_widgets.append(cell)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addLayout(self.grid)
        lay.addStretch(1)
        self.shown = 0
        self._reflow()

    def _cell_width(self) -> int:
        return max(c.sizeHint().width() for c in self.cell_widgets) + self.grid.spacing()

    def _reflow(self) -> None:
        usable = self.width() - 8
        columns = max(1, min(self.max_columns, usable // max(1, self._cell_width())))
        if columns == self.columns:
            return
        self.columns = columns
        for cell in self.cell_widgets:
            self.grid.removeWidget(cell)
        for i, cell in enumerate(self.cell_widgets):
            self.grid.addWidget(cell, i // columns, i % columns)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._reflow()

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(self._cell_width() + 8)
        return hint

    def set_mistakes(self, mistakes, images: np.ndarray, class_names, epoch: int | None = None) -> None:
        self.shown = 0
        for (pic, cap), m in zip(self.cells, list(mistakes) + [None] * len(self.cells)):
            if m is None:
                pic.clear()
                cap.setText("")
                continue
            index, true, pred, conf = m
            pic.setPixmap(digit_pixmap(images[index]))
            cap.setText(
                f"<span style='color:#2e9d4a'>{class_names[true]}</span> → "
                f"<span style='color:#d9534f'><b>{class_names[pred]}</b></span> {conf:.0%}"
            )
            pic.setToolTip(
                f"test image #{index}: true {class_names[true]}, "
                f"predicted {class_names[pred]} with {conf:.1%} confidence"
            )
            self.shown += 1
        when = f" after epoch {epoch}" if epoch else ""
        self.title.setText(f"<b>Most confident mistakes</b>{when}: true → <b>predicted</b> (confidence)")
        self.columns = 0  # captions changed width: lay the cells out again
        self._reflow()


class ResultsView(QWidget):
    """Confusion matrix beside the mistakes gallery."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("resultsView")
        self.confusion = ConfusionView()
        self.gallery = MistakesGallery()
        self.gallery.setAutoFillBackground(True)
        self.gallery.setBackgroundRole(QPalette.Base)
        scroll = QScrollArea()
        scroll.setWidget(self.gallery)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # the gallery reflows instead
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.confusion, 4)
        lay.addWidget(scroll, 5)

    def show_analysis(self, analysis, images: np.ndarray, epoch: int | None = None) -> None:
        self.confusion.set_matrix(analysis.confusion, analysis.class_names)
        self.gallery.set_mistakes(analysis.mistakes, images, analysis.class_names, epoch)
