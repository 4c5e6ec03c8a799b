"""A node-link diagram of a tiny fully connected network.

Edges are drawn with width by |weight| and colour by sign (blue positive,
orange negative). A second, translucent purple layer under each edge shows
its gradient when the page passes gradients (the backward steps). Neurons are
circles with their current value written inside; a purple ring shows ∂L/∂z.
Hovering a neuron or an edge shows a tooltip (text supplied by the owner);
clicking an edge emits :attr:`NetworkDiagram.weight_clicked`.

The widget only draws what it is given: it computes nothing about the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from .. import theme

POSITIVE = QColor(*theme.POSITIVE)
NEGATIVE = QColor(*theme.NEGATIVE)
GRADIENT = QColor(150, 70, 200)
SELECTED = QColor(230, 180, 0)


@dataclass
class DiagramState:
    """What to draw. ``weights[b]`` has shape (in, out) for block ``b``."""

    sizes: list[int]
    weights: list[np.ndarray]
    values: list[np.ndarray | None] = field(default_factory=list)  # per column, or None (not reached)
    value_names: list[str] = field(default_factory=list)  # per column, e.g. "a" or "z"
    edge_grads: list[np.ndarray | None] = field(default_factory=list)  # per block, or None
    node_grads: list[np.ndarray | None] = field(default_factory=list)  # per column, or None
    highlight: tuple[int, int] | None = None  # (first column, last column) of the current step
    selected: tuple[int, int, int] | None = None  # (block, i, j)
    column_titles: list[str] = field(default_factory=list)
    input_names: list[str] = field(default_factory=list)


class NetworkDiagram(QWidget):
    """Draws a :class:`DiagramState`; emits ``weight_clicked(block, i, j)``."""

    weight_clicked = Signal(int, int, int)
    neuron_clicked = Signal(int, int)  # (column, neuron)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("networkDiagram")
        self.setMouseTracking(True)
        self.setMinimumSize(360, 260)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.state: DiagramState | None = None
        # Owner-supplied tooltip text: tooltip(kind, *index) -> str, kind "node" (col, k) or "edge" (b, i, j).
        self.tooltip = None

    def set_state(self, state: DiagramState) -> None:
        self.state = state
        self.update()

    # -- geometry ---------------------------------------------------------------
    def node_radius(self) -> float:
        if self.state is None:
            return 20.0
        biggest = max(self.state.sizes)
        return float(max(10, min(26, (self.height() - 60) / (2.6 * biggest))))

    def node_pos(self, col: int, k: int) -> QPointF:
        sizes = self.state.sizes
        margin_x = 70
        w = max(1, self.width() - 2 * margin_x)
        x = margin_x + (w * col / max(1, len(sizes) - 1))
        top, bottom = 44, self.height() - 24
        n = sizes[col]
        gap = (bottom - top) / n
        y = top + gap * (k + 0.5)
        return QPointF(x, y)

    def edge_at(self, p: QPointF, tolerance: float = 5.0):
        """(block, i, j) of the edge nearest to ``p`` within ``tolerance`` pixels, else None."""
        if self.state is None:
            return None
        best, best_d = None, tolerance
        r = self.node_radius()
        for b, W in enumerate(self.state.weights):
            for i in range(W.shape[0]):
                a = self.node_pos(b, i)
                for j in range(W.shape[1]):
                    c = self.node_pos(b + 1, j)
                    d = _segment_distance(p, a, c)
                    # ignore the parts hidden under the circles
                    if d < best_d and _dist(p, a) > r and _dist(p, c) > r:
                        best, best_d = (b, i, j), d
        return best

    def weight_label_pos(self, b: int, i: int, j: int) -> QPointF:
        """Where the picked weight's "w" goes: beside its edge, at the spot farthest from every other
        edge and circle (the midpoint is often exactly where two edges cross)."""
        a, c = self.node_pos(b, i), self.node_pos(b + 1, j)
        dx, dy = c.x() - a.x(), c.y() - a.y()
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length, dx / length  # unit normal
        others = [
            (self.node_pos(bb, ii), self.node_pos(bb + 1, jj))
            for bb, W in enumerate(self.state.weights)
            for ii in range(W.shape[0])
            for jj in range(W.shape[1])
            if (bb, ii, jj) != (b, i, j)
        ]
        centres = [self.node_pos(col, k) for col, n in enumerate(self.state.sizes) for k in range(n)]
        r = self.node_radius()
        best, best_clear = None, -1.0
        for t in (0.25, 0.35, 0.5, 0.65, 0.75):
            for side in (1, -1):
                p = QPointF(a.x() + t * dx + side * 12 * nx, a.y() + t * dy + side * 12 * ny)
                clear = min([_segment_distance(p, u, v) for u, v in others] + [_dist(p, q) - r for q in centres])
                if clear > best_clear + 0.5:
                    best, best_clear = p, clear
        return best

    def node_at(self, p: QPointF):
        if self.state is None:
            return None
        r = self.node_radius()
        for col, n in enumerate(self.state.sizes):
            for k in range(n):
                if _dist(p, self.node_pos(col, k)) <= r:
                    return (col, k)
        return None

    # -- events -----------------------------------------------------------------
    def mouseMoveEvent(self, event):
        p = event.position()
        text = None
        if self.tooltip is not None:
            node = self.node_at(p)
            if node is not None:
                text = self.tooltip("node", *node)
            else:
                edge = self.edge_at(p)
                if edge is not None:
                    text = self.tooltip("edge", *edge)
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton:
            p = event.position()
            node = self.node_at(p)
            if node is not None:
                self.neuron_clicked.emit(*node)
            else:
                edge = self.edge_at(p, tolerance=7.0)
                if edge is not None:
                    self.weight_clicked.emit(*edge)
        super().mousePressEvent(event)

    # -- drawing ----------------------------------------------------------------
    def paintEvent(self, event):
        if self.state is None:
            return
        s = self.state
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing, True)
        pal = self.palette()
        text_color = pal.color(QPalette.WindowText)
        r = self.node_radius()

        if s.highlight is not None:
            first, last = s.highlight
            x0 = self.node_pos(first, 0).x() - r - 14
            x1 = self.node_pos(last, 0).x() + r + 14
            band = QColor(pal.color(QPalette.Highlight))
            band.setAlpha(40)
            painter.fillRect(QRectF(x0, 30, x1 - x0, self.height() - 44), band)

        wmax = max((float(np.max(np.abs(W))) for W in s.weights if W.size), default=1.0) or 1.0
        gmax = max((float(np.max(np.abs(g))) for g in s.edge_grads if g is not None and g.size), default=0.0)
        # Gradient layer first, underneath the weights.
        for b, g in enumerate(s.edge_grads):
            if g is None or gmax == 0:
                continue
            for i in range(g.shape[0]):
                for j in range(g.shape[1]):
                    mag = abs(float(g[i, j])) / gmax
                    if mag < 1e-3:
                        continue
                    c = QColor(GRADIENT)
                    c.setAlpha(int(60 + 110 * mag))
                    painter.setPen(QPen(c, 3 + 15 * mag, Qt.SolidLine, Qt.RoundCap))
                    painter.drawLine(self.node_pos(b, i), self.node_pos(b + 1, j))
        for b, W in enumerate(s.weights):
            for i in range(W.shape[0]):
                for j in range(W.shape[1]):
                    w = float(W[i, j])
                    c = QColor(POSITIVE if w >= 0 else NEGATIVE)
                    c.setAlpha(230)
                    painter.setPen(QPen(c, 0.8 + 6.0 * abs(w) / wmax, Qt.SolidLine, Qt.RoundCap))
                    painter.drawLine(self.node_pos(b, i), self.node_pos(b + 1, j))
        if s.selected is not None:
            b, i, j = s.selected
            if b < len(s.weights) and i < s.weights[b].shape[0] and j < s.weights[b].shape[1]:
                painter.setPen(QPen(SELECTED, 2.0, Qt.DashLine))
                a, c = self.node_pos(b, i), self.node_pos(b + 1, j)
                painter.drawLine(a, c)
                spot = self.weight_label_pos(b, i, j)
                painter.setPen(text_color)
                painter.drawText(QRectF(spot.x() - 20, spot.y() - 8, 40, 16), Qt.AlignCenter, "w")

        font = QFont(self.font())
        font.setPointSizeF(max(7.0, min(9.5, r / 2.6)))
        painter.setFont(font)
        vmax = max((float(np.max(np.abs(v))) for v in s.values if v is not None and v.size), default=1.0) or 1.0
        ngmax = max((float(np.max(np.abs(g))) for g in s.node_grads if g is not None and g.size), default=0.0)
        base = pal.color(QPalette.Base)
        for col, n in enumerate(s.sizes):
            values = s.values[col] if col < len(s.values) else None
            grads = s.node_grads[col] if col < len(s.node_grads) else None
            for k in range(n):
                p = self.node_pos(col, k)
                fill = QColor(base)
                if values is not None:
                    v = float(values[k])
                    tint = QColor(POSITIVE if v >= 0 else NEGATIVE)
                    fill = _mix(base, tint, min(1.0, abs(v) / vmax) * 0.55)
                if grads is not None and ngmax > 0:
                    mag = abs(float(grads[k])) / ngmax
                    painter.setPen(QPen(GRADIENT, 1.5 + 5 * mag))
                else:
                    painter.setPen(QPen(text_color, 1.2))
                painter.setBrush(fill)
                painter.drawEllipse(p, r, r)
                painter.setPen(text_color)
                if values is not None:
                    painter.drawText(
                        QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r), Qt.AlignCenter, _short(float(values[k]))
                    )
            # column title above, input names to the left
            title = s.column_titles[col] if col < len(s.column_titles) else ""
            top = self.node_pos(col, 0)
            painter.drawText(QRectF(top.x() - 70, 8, 140, 20), Qt.AlignCenter, title)
            if col == 0 and s.input_names:
                for k in range(n):
                    p = self.node_pos(0, k)
                    name = s.input_names[k] if k < len(s.input_names) else ""
                    painter.drawText(QRectF(p.x() - r - 54, p.y() - 10, 48, 20), Qt.AlignRight | Qt.AlignVCenter, name)
        painter.end()


def _short(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) < 0.01:
        return f"{v:.0e}"
    return f"{v:.2f}"


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        int(a.red() + (b.red() - a.red()) * t),
        int(a.green() + (b.green() - a.green()) * t),
        int(a.blue() + (b.blue() - a.blue()) * t),
    )


def _dist(p: QPointF, q: QPointF) -> float:
    return math.hypot(p.x() - q.x(), p.y() - q.y())


def _segment_distance(p: QPointF, a: QPointF, b: QPointF) -> float:
    dx, dy = b.x() - a.x(), b.y() - a.y()
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return _dist(p, a)
    t = max(0.0, min(1.0, ((p.x() - a.x()) * dx + (p.y() - a.y()) * dy) / length2))
    return math.hypot(p.x() - (a.x() + t * dx), p.y() - (a.y() + t * dy))
