"""How an opened picture became the network's input: original -> cleaned -> 28x28, side by side.

The Draw page shows this strip whenever it reads a picture from a file (Open image… or a
file dropped on the canvas), so a learner sees what the cleanup did (inverted the paper,
levelled the light, removed the noise floor, cropped to the digit) and what the network
finally received. All the work is in :func:`nnstudio.core.imaging.load_picture`; this
widget only draws its stages. :func:`accept_file_drops` adds drag-and-drop of files to any
widget without subclassing it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QSizePolicy, QWidget

from nnstudio.core.imaging import CleanedPicture
from nnstudio.gui.theme import ACCENT

THUMB = 116  # each stage is drawn in a square of this many pixels
_VIEW_NAMES = ("stageOriginal", "stageCleaned", "stageInput")


def _gray_image(img: np.ndarray) -> QImage:
    a = np.ascontiguousarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    h, w = a.shape
    return QImage(a.data, w, h, w, QImage.Format_Grayscale8).copy()


def _thumbnail(img: np.ndarray, box: tuple[int, int, int, int] | None = None, crisp: bool = False) -> QPixmap:
    """``img`` fitted into a THUMB x THUMB square on black (aspect kept), with ``box`` outlined if given."""
    h, w = img.shape
    scale = THUMB / max(h, w)
    target = QRectF((THUMB - w * scale) / 2, (THUMB - h * scale) / 2, w * scale, h * scale)
    pix = QPixmap(THUMB, THUMB)
    pix.fill(QColor("#000000"))
    p = QPainter(pix)
    p.setRenderHint(QPainter.SmoothPixmapTransform, not crisp)
    p.drawImage(target, _gray_image(img))
    if box is not None:
        top, bottom, left, right = box
        pen = QPen(QColor(ACCENT), 2)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.setBrush(Qt.NoBrush)
        p.drawRect(
            QRectF(target.x() + left * scale, target.y() + top * scale, (right - left) * scale, (bottom - top) * scale)
        )
    p.end()
    return pix


class PictureStages(QGroupBox):
    """Three images with captions: the picture as read, the cleaned ink, the 28x28 input."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("How the picture was read", parent)
        self.setObjectName("pictureStages")
        self.original_view, self.cleaned_view, self.input_view = (QLabel(objectName=n) for n in _VIEW_NAMES)
        captions = ("Original", "Cleaned", "28 × 28 input")
        tips = (
            "The picture as read from the file (reduced); the blue frame is where the digit was found",
            "White ink on black: paper inverted if needed, lighting levelled, the paper's noise floor "
            "subtracted (grey strokes stay grey), cropped to the digit",
            "What the network receives: the MNIST recipe (ink scaled to 20 pixels, centred by its mass)",
        )
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        for col, (view, caption, tip) in enumerate(zip(self.views, captions, tips)):
            view.setFixedSize(THUMB + 2, THUMB + 2)
            view.setAlignment(Qt.AlignCenter)
            view.setStyleSheet("background: black; border: 1px solid palette(mid);")
            view.setToolTip(tip)
            label = QLabel(caption)
            label.setAlignment(Qt.AlignHCenter)
            label.setToolTip(tip)
            grid.addWidget(view, 0, 2 * col, Qt.AlignHCenter)
            grid.addWidget(label, 1, 2 * col, Qt.AlignHCenter)
            if col < 2:
                arrow = QLabel("→")
                font = arrow.font()
                font.setPointSizeF(font.pointSizeF() * 1.6)
                arrow.setFont(font)
                arrow.setAlignment(Qt.AlignCenter)
                grid.addWidget(arrow, 0, 2 * col + 1)
        self.note = QLabel(objectName="pictureStagesNote")
        self.note.setWordWrap(True)
        self.note.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        grid.addWidget(self.note, 2, 0, 1, 5)
        for col in (0, 2, 4):
            grid.setColumnStretch(col, 1)
        self.picture: CleanedPicture | None = None

    @property
    def views(self) -> tuple[QLabel, QLabel, QLabel]:
        return self.original_view, self.cleaned_view, self.input_view

    def show_picture(self, picture: CleanedPicture, inputs: np.ndarray | None, name: str = "") -> None:
        """Show every stage of ``picture``; ``inputs`` is the 784 (or 28x28) input the network read."""
        self.picture = picture
        self.setTitle(f"How {name} was read" if name else "How the picture was read")
        self.original_view.setPixmap(_thumbnail(picture.original, picture.box))
        self.cleaned_view.setPixmap(_thumbnail(picture.ink))
        self.set_input(inputs)
        h, w = picture.original.shape
        self.note.setText(f"{w}×{h} pixels read. {picture.describe()}.")
        self.show()

    def set_input(self, inputs: np.ndarray | None) -> None:
        """The 28x28 stage alone (it changes with the model's recipe: MNIST or Fashion-MNIST framing)."""
        img = np.zeros((28, 28), np.float32) if inputs is None else np.asarray(inputs, np.float32).reshape(28, 28)
        self.input_view.setPixmap(_thumbnail(img, crisp=True))


class _FileDrops(QObject):
    def __init__(self, widget: QWidget, on_file: Callable[[str], object]):
        super().__init__(widget)
        self.on_file = on_file

    @staticmethod
    def _local_file(event) -> str | None:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                return url.toLocalFile()
        return None

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind in (QEvent.DragEnter, QEvent.DragMove):
            if self._local_file(event):
                event.acceptProposedAction()
                return True
            return False
        if kind == QEvent.Drop:
            path = self._local_file(event)
            if path:
                event.acceptProposedAction()
                self.on_file(path)
                return True
        return False


def accept_file_drops(widget: QWidget, on_file: Callable[[str], object]) -> QObject:
    """Let files be dropped on ``widget``: ``on_file(path)`` gets the first local file of each drop."""
    widget.setAcceptDrops(True)
    drops = _FileDrops(widget, on_file)
    widget.installEventFilter(drops)
    return drops
