"""A square canvas for drawing a digit: white ink on black, like MNIST.

The drawing lives in a fixed-size grayscale image (``RESOLUTION`` pixels
square) whatever the widget's size on screen; strokes are kept as point lists
so the last one can be undone. Between two mouse events the pen follows a
quadratic curve through the midpoints, so a fast stroke is smooth and has no
gaps. Tablets work through the mouse events Qt synthesises from pen events.

The keyboard draws too: the arrow keys move a pen cursor (a ring, shown while the
canvas has focus; Shift for small steps), Space puts the pen down (a dot, then ink
wherever the cursor goes) and lifts it again, Delete or Backspace clears.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

RESOLUTION = 280


class DigitCanvas(QWidget):
    """Draw with the left button; ``changed`` fires after every bit of ink, ``stroke_finished`` on release."""

    changed = Signal()
    stroke_finished = Signal()

    def __init__(self, parent=None, resolution: int = RESOLUTION):
        super().__init__(parent)
        self.setObjectName("digitCanvas")
        self.setAccessibleName("Drawing canvas")
        self.setToolTip(
            "Draw a digit with the mouse or a pen. Esc clears, Ctrl+Z undoes the last stroke.\n"
            "Keyboard: arrow keys move the pen (Shift: small steps), Space puts it down or lifts it, "
            "Delete or Backspace clears."
        )
        self.setAccessibleDescription(
            "A 28 by 28 digit canvas. Arrow keys move the pen, Space puts the pen down or lifts it, "
            "Delete or Backspace clears."
        )
        self.resolution = resolution
        self.pen_width = 20.0  # in canvas pixels (a tenth of the height: MNIST-like strokes)
        self.strokes: list[tuple[float, list[QPointF]]] = []
        self._base: QImage | None = None  # an imported picture under the strokes
        self._image = QImage(resolution, resolution, QImage.Format_Grayscale8)
        self._image.fill(0)
        self._drawing = False
        self.pen_cursor = QPointF(resolution / 2, resolution / 2)  # where the keyboard pen is
        self.key_pen_down = False
        self.setMinimumSize(200, 200)
        policy = QSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        policy.setHeightForWidth(True)  # stay square: no dead band above and below
        self.setSizePolicy(policy)
        self.setCursor(Qt.CrossCursor)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    # -- public API --------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(360, 360)

    def resizeEvent(self, event) -> None:
        # Box layouts ignore heightForWidth; capping the height at the width keeps the canvas square
        # without a dead band (the width does not depend on the height, so this settles at once).
        self.setMaximumHeight(max(self.minimumHeight(), self.width()))
        super().resizeEvent(event)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, w: int) -> int:
        return w

    def is_empty(self) -> bool:
        return not self.strokes and self._base is None

    def clear(self) -> None:
        self.strokes.clear()
        self._base = None
        self._drawing = False
        self.key_pen_down = False
        self._redraw()

    def undo(self) -> None:
        """Remove the last stroke (or, when there are none, an imported picture)."""
        if self.strokes:
            self.strokes.pop()
        elif self._base is not None:
            self._base = None
        else:
            return
        self._drawing = False
        self._redraw()

    def set_picture(self, ink: np.ndarray) -> None:
        """Replace the drawing by a picture (2-D floats in [0, 1], white ink on black), fitted and centred."""
        a = np.clip(np.asarray(ink, np.float32), 0, 1)
        h, w = a.shape
        src = QImage(np.ascontiguousarray((a * 255).astype(np.uint8)).data, w, h, w, QImage.Format_Grayscale8).copy()
        base = QImage(self.resolution, self.resolution, QImage.Format_Grayscale8)
        base.fill(0)
        scale = self.resolution / max(h, w)
        target = QRectF((self.resolution - w * scale) / 2, (self.resolution - h * scale) / 2, w * scale, h * scale)
        p = QPainter(base)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        p.drawImage(target, src)
        p.end()
        self.strokes.clear()
        self._base = base
        self._redraw()

    def image(self) -> QImage:
        return self._image

    def to_array(self) -> np.ndarray:
        """The drawing as a float32 (resolution, resolution) array in [0, 1], white ink on black."""
        img = self._image
        bpl = img.bytesPerLine()
        raw = np.frombuffer(img.constBits(), np.uint8, count=bpl * img.height()).reshape(img.height(), bpl)
        return raw[:, : img.width()].astype(np.float32) * np.float32(1 / 255)

    # -- geometry ------------------------------------------------------------------------------------
    def _target_rect(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_canvas(self, pos) -> QPointF:
        r = self._target_rect()
        s = self.resolution / r.width()
        return QPointF((pos.x() - r.x()) * s, (pos.y() - r.y()) * s)

    # -- painting ----------------------------------------------------------------------------------
    def _pen(self, width: float) -> QPen:
        pen = QPen(QColor(255, 255, 255), width)
        pen.setCapStyle(Qt.RoundCap)
        pen.setJoinStyle(Qt.RoundJoin)
        return pen

    def _painter(self) -> QPainter:
        p = QPainter(self._image)
        p.setRenderHint(QPainter.Antialiasing)
        return p

    def _redraw(self) -> None:
        if self._base is not None:
            self._image = self._base.copy()
        else:
            self._image.fill(0)
        p = self._painter()
        for width, points in self.strokes:
            p.setPen(self._pen(width))
            if len(points) == 1:
                p.drawPoint(points[0])
            else:
                p.drawPath(_smooth_path(points))
        p.end()
        self.update()
        self.changed.emit()

    def _draw_tail(self, width: float, points: list[QPointF], final: bool = False) -> None:
        """Draw only the newest piece of the stroke being drawn (cheap; the full path is redrawn on undo)."""
        p = self._painter()
        p.setPen(self._pen(width))
        n = len(points)
        if n == 1:
            p.drawPoint(points[0])
        elif final:
            start = points[0] if n == 2 else _mid(points[-2], points[-1])
            p.drawLine(start, points[-1])
        elif n == 2:
            p.drawLine(points[0], _mid(points[0], points[1]))
        else:
            path = QPainterPath(_mid(points[-3], points[-2]))
            path.quadTo(points[-2], _mid(points[-2], points[-1]))
            p.drawPath(path)
        p.end()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        r = self._target_rect()
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        p.drawImage(r, self._image)
        frame = QColor(self.palette().highlight().color() if self.hasFocus() else self.palette().mid().color())
        p.setPen(QPen(frame, 1))
        p.drawRect(r.adjusted(0, 0, -1, -1))
        if self.is_empty():
            p.setPen(QColor(150, 150, 150))
            p.drawText(r, Qt.AlignCenter, "draw a digit here")
        if self.hasFocus():  # the keyboard pen: a ring the size of the pen, filled while it is down
            scale = r.width() / self.resolution
            centre = QPointF(r.x() + self.pen_cursor.x() * scale, r.y() + self.pen_cursor.y() * scale)
            radius = max(3.0, self.pen_width * scale / 2)
            p.setRenderHint(QPainter.Antialiasing)
            p.setPen(QPen(self.palette().highlight().color(), 2))
            p.setBrush(QColor(255, 255, 255, 90) if self.key_pen_down else Qt.NoBrush)
            p.drawEllipse(centre, radius, radius)
        p.end()

    # -- keyboard --------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        key = event.key()
        arrows = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1), Qt.Key_Down: (0, 1)}
        if key in arrows:
            step = self.resolution / 56 if event.modifiers() & Qt.ShiftModifier else self.resolution / 14
            dx, dy = arrows[key]
            self.move_pen(dx * step, dy * step)
        elif key == Qt.Key_Space:
            self.lift_pen() if self.key_pen_down else self.put_pen_down()
        elif key in (Qt.Key_Delete, Qt.Key_Backspace):
            self.clear()
        else:
            return super().keyPressEvent(event)
        event.accept()

    def put_pen_down(self) -> None:
        """Start a stroke at the keyboard pen (a dot until the pen moves)."""
        self.key_pen_down = True
        self.strokes.append((self.pen_width, [QPointF(self.pen_cursor)]))
        self._draw_tail(*self.strokes[-1])
        self.update()
        self.changed.emit()

    def lift_pen(self) -> None:
        """End the keyboard stroke (the page predicts, as after a mouse stroke)."""
        if not self.key_pen_down:
            return
        self.key_pen_down = False
        width, points = self.strokes[-1]
        if len(points) > 1:
            self._draw_tail(width, points, final=True)
        self.update()
        self.stroke_finished.emit()

    def move_pen(self, dx: float, dy: float) -> None:
        """Move the keyboard pen (canvas pixels), inking the way if it is down."""
        lim = float(self.resolution - 1)
        self.pen_cursor = QPointF(
            min(max(self.pen_cursor.x() + dx, 0.0), lim), min(max(self.pen_cursor.y() + dy, 0.0), lim)
        )
        if self.key_pen_down and self.strokes:
            width, points = self.strokes[-1]
            points.append(QPointF(self.pen_cursor))
            # straight segments: a keyboard stroke is drawn as the lines between the cursor's stops
            p = self._painter()
            p.setPen(self._pen(width))
            p.drawLine(points[-2], points[-1])
            p.end()
            self.changed.emit()
        self.update()

    def focusOutEvent(self, event) -> None:
        self.lift_pen()
        super().focusOutEvent(event)

    # -- input -----------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        self.setFocus(Qt.MouseFocusReason)
        self._drawing = True
        self.strokes.append((self.pen_width, [self._to_canvas(event.position())]))
        self._draw_tail(*self.strokes[-1])
        self.update()
        self.changed.emit()

    def mouseMoveEvent(self, event) -> None:
        if not self._drawing:
            return super().mouseMoveEvent(event)
        width, points = self.strokes[-1]
        pt = self._to_canvas(event.position())
        if (pt - points[-1]).manhattanLength() < 0.5:
            return
        points.append(pt)
        self._draw_tail(width, points)
        self.update()
        self.changed.emit()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() != Qt.LeftButton or not self._drawing:
            return super().mouseReleaseEvent(event)
        self._drawing = False
        width, points = self.strokes[-1]
        pt = self._to_canvas(event.position())
        if (pt - points[-1]).manhattanLength() >= 0.5:
            points.append(pt)
            if len(points) >= 3:
                self._draw_tail(width, points)
        if len(points) > 1:
            self._draw_tail(width, points, final=True)
        self.update()
        self.changed.emit()
        self.stroke_finished.emit()


def _mid(a: QPointF, b: QPointF) -> QPointF:
    return QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)


def _smooth_path(points: list[QPointF]) -> QPainterPath:
    """The same curve :meth:`DigitCanvas._draw_tail` draws piece by piece, as one path."""
    path = QPainterPath(points[0])
    if len(points) == 2:
        path.lineTo(points[1])
        return path
    path.lineTo(_mid(points[0], points[1]))
    for i in range(1, len(points) - 1):
        path.quadTo(points[i], _mid(points[i], points[i + 1]))
    path.lineTo(points[-1])
    return path
