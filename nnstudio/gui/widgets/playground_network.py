"""The playground's network diagram: every neuron as a small heatmap, every weight as a line.

Line width grows with the weight's size, colour says its sign (blue positive,
orange negative); hovering a line or a neuron shows its value. The widget only
draws what :meth:`NetworkDiagram.set_network` hands it; it computes nothing.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from .playground_colors import rgba_to_qimage, to_rgba, weight_color


class NetworkDiagram(QWidget):
    """Columns of neuron maps joined by weight lines. Click a neuron to emit ``neuronClicked(layer, unit)``
    (layer 0 = inputs, last = output)."""

    neuronClicked = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("playgroundNetwork")
        self.setMouseTracking(True)
        self.setMinimumSize(360, 300)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.input_labels: list[str] = []
        self.activations: list[str] = []
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        self._images: list[list] = []  # per column, a QImage per node
        self._nodes: list[list[QRectF]] = []  # filled at paint time
        self._segments = np.zeros((0, 4))
        self._segment_info: list[tuple] = []
        self.selected: tuple[int, int] | None = None
        self.paint_count = 0

    # -- data in ------------------------------------------------------------------
    def set_network(self, input_labels, activations, weights, biases, input_maps, hidden_maps, output_map) -> None:
        """Hand over the current state. Maps are (R, R, units) arrays (output: (R, R)); row 0 at the bottom."""
        self.input_labels = list(input_labels)
        self.activations = list(activations)
        self.weights = [np.asarray(w) for w in weights]
        self.biases = [np.asarray(b) for b in biases]
        columns = [input_maps] + list(hidden_maps)
        images = []
        for col, maps in enumerate(columns):
            bounded = col == 0 or self.activations[col - 1] in ("tanh", "sigmoid")
            imgs = []
            for u in range(maps.shape[2]):
                m = maps[:, :, u]
                scale = 1.0 if bounded else max(float(np.abs(m).max()), 0.1)
                imgs.append(rgba_to_qimage(to_rgba(m, scale)))
            images.append(imgs)
        images.append([rgba_to_qimage(to_rgba(output_map))])
        self._images = images
        self.update()

    # -- geometry -------------------------------------------------------------------
    def _layout(self) -> list[list[QRectF]]:
        cols = len(self._images)
        if cols == 0:
            return []
        w, h = self.width(), self.height()
        top, bottom, left, right = 34, 10, 70, 20
        tallest = max(len(c) for c in self._images)
        node = min(52.0, (h - top - bottom) / max(tallest, 1) * 0.78, (w - left - right) / max(cols, 1) * 0.45)
        node = max(node, 12.0)
        gap = node * 0.28
        xs = np.linspace(left, w - right - node, cols) if cols > 1 else [left]
        rects = []
        for c, imgs in enumerate(self._images):
            n = len(imgs)
            y0 = top
            rects.append([QRectF(float(xs[c]), y0 + i * (node + gap), node, node) for i in range(n)])
        return rects

    # -- drawing ----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        self.paint_count += 1
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, True)
        pal = self.palette()
        text_color = pal.color(pal.ColorRole.WindowText)
        self._nodes = rects = self._layout()
        if not rects:
            p.setPen(text_color)
            p.drawText(self.rect(), Qt.AlignCenter, "No network yet")
            p.end()
            return
        # weights first, underneath the nodes
        segs, info = [], []
        # Edges are drawn opaque, pre-mixed with the background: translucent antialiased lines
        # cost ~20x more to rasterise (34 ms vs 1.8 ms a frame for a 4x8 net) and capped the frame rate.
        bg = pal.color(pal.ColorRole.Window)
        for c, W in enumerate(self.weights):
            if c + 1 >= len(rects):
                break
            src, dst = rects[c], rects[c + 1]
            for i in range(min(W.shape[0], len(src))):
                a = QPointF(src[i].right(), src[i].center().y())
                for j in range(min(W.shape[1], len(dst))):
                    w = float(W[i, j])
                    b = QPointF(dst[j].left(), dst[j].center().y())
                    mag = abs(w)
                    pen = QPen(_over(weight_color(w), bg, (70 + 185 * min(mag, 1.0)) / 255))
                    pen.setWidthF(min(7.0, 0.4 + 2.2 * mag))
                    p.setPen(pen)
                    p.drawLine(a, b)
                    segs.append((a.x(), a.y(), b.x(), b.y()))
                    info.append((c, i, j, w))  # formatted only when hovered
        self._segments = np.array(segs, dtype=np.float64).reshape(-1, 4)
        self._segment_info = info
        # nodes
        frame = QPen(text_color)
        frame.setWidthF(1.0)
        for c, (col_rects, imgs) in enumerate(zip(rects, self._images)):
            for u, (r, img) in enumerate(zip(col_rects, imgs)):
                p.drawImage(r, img)
                sel = self.selected == (c, u)
                pen = QPen(QColor(220, 30, 30) if sel else text_color)
                pen.setWidthF(2.5 if sel else 0.8)
                p.setPen(pen)
                p.drawRect(r)
        # labels
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.9))
        p.setFont(small)
        p.setPen(text_color)
        for u, r in enumerate(rects[0]):
            label = self.input_labels[u] if u < len(self.input_labels) else ""
            p.drawText(QRectF(0, r.top(), r.left() - 6, r.height()), Qt.AlignRight | Qt.AlignVCenter, label)
        for c, col_rects in enumerate(rects):
            if c == 0:
                head = f"{len(col_rects)} input{'s' if len(col_rects) != 1 else ''}"
            elif c == len(rects) - 1:
                head = "output"
            else:
                n = len(col_rects)
                head = f"{n} neuron{'s' if n != 1 else ''}\n{self.activations[c - 1]}"
            x = col_rects[0].center().x()
            p.drawText(QRectF(x - 60, 0, 120, 32), Qt.AlignHCenter | Qt.AlignBottom, head)
        p.end()

    def _node_name(self, col: int, unit: int) -> str:
        if col == 0:
            return self.input_labels[unit] if unit < len(self.input_labels) else f"input {unit + 1}"
        if col == len(self._images) - 1:
            return "the output"
        return f"neuron {unit + 1} of hidden layer {col}"

    # -- hover and click --------------------------------------------------------------------
    def _node_at(self, pos) -> tuple[int, int] | None:
        for c, col in enumerate(self._nodes):
            for u, r in enumerate(col):
                if r.contains(pos):
                    return c, u
        return None

    def describe_at(self, pos) -> str:
        """What the tooltip says at ``pos`` (a neuron, the nearest weight line within 5 px, or '')."""
        hit = self._node_at(QPointF(pos))
        if hit is not None:
            c, u = hit
            text = self._node_name(c, u)
            if 0 < c <= len(self.biases):
                b = self.biases[c - 1]
                if u < len(b):
                    text += f"\nbias {float(b[u]):+.3f}"
            return text
        if len(self._segments) == 0:
            return ""
        x1, y1, x2, y2 = self._segments.T
        px, py = pos.x(), pos.y()
        dx, dy = x2 - x1, y2 - y1
        t = np.clip(((px - x1) * dx + (py - y1) * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0, 1)
        dist = np.hypot(x1 + t * dx - px, y1 + t * dy - py)
        k = int(np.argmin(dist))
        if dist[k] > 5:
            return ""
        c, i, j, w = self._segment_info[k]
        return f"weight {w:+.3f}\nfrom {self._node_name(c, i)}\nto {self._node_name(c + 1, j)}"

    def mouseMoveEvent(self, event) -> None:
        text = self.describe_at(event.position())
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event) -> None:
        hit = self._node_at(event.position())
        if hit is not None:
            self.selected = None if self.selected == hit else hit
            self.update()
            self.neuronClicked.emit(*(hit if self.selected else (-1, -1)))
        super().mousePressEvent(event)


def _over(color: QColor, background: QColor, alpha: float) -> QColor:
    """``color`` at opacity ``alpha`` over ``background``, as one opaque colour."""
    return QColor(
        round(background.red() + (color.red() - background.red()) * alpha),
        round(background.green() + (color.green() - background.green()) * alpha),
        round(background.blue() + (color.blue() - background.blue()) * alpha),
    )
