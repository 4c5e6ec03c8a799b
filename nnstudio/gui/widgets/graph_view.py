"""Draws an expression's computation graph: boxes for inputs, constants and operations, arrows between.

Inputs sit on the left, the output on the right; each column holds the
operations that can run once the columns before it are done. An operation box
shows its name (``g1``), its operation, the sub-expression it computes, its
value, and its gradient once the backward pass has reached it. The owner
chooses which gradients are revealed, which node is highlighted, and which
edges carry a label (the local derivative on the current step).

The widget only draws: values and gradients come from a
:class:`nnstudio.core.autograd.expr.Graph`.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

# Box fills carry their own dark text, so they read the same on light and dark palettes.
FILL = {
    "variable": QColor("#cfe2ff"),
    "constant": QColor("#e4e4e4"),
    "operation": QColor("#d6efd0"),
    "output": QColor("#ffe0b3"),
}
BORDER = {
    "variable": QColor("#4a78c2"),
    "constant": QColor("#8c8c8c"),
    "operation": QColor("#4f9a45"),
    "output": QColor("#d0841c"),
}
BOX_TEXT = QColor("#1b1b1b")
DIM_TEXT = QColor("#5a5a5a")
HIGHLIGHT = QColor("#e8590c")
GRAD_TEXT = QColor("#8a2bb8")

OP_SYMBOLS = {"+": "+", "-": "−", "*": "×", "/": "÷", "**": "^", "neg": "−x"}

BOX_W, BOX_H = 136.0, 74.0
CONST_W, CONST_H = 56.0, 32.0
COL_GAP, ROW_GAP = 46.0, 18.0
MARGIN = 16.0
MAX_SCALE = 1.25
MIN_SCALE = 0.8  # below this text is hard to read: the widget grows instead (put it in a QScrollArea)


def _num(v) -> str:
    if v is None:
        return "?"
    if isinstance(v, float) and not math.isfinite(v):
        return "undefined"
    return f"{v:.4g}"


def layout(graph) -> dict[int, QRectF]:
    """Box rectangles in graph units: column = longest path from an input; constants next to their user."""
    nodes = graph.nodes
    depth: dict[int, int] = {}
    for n in nodes:  # nodes come in topological order
        depth[n.index] = 0 if not n.inputs else 1 + max(depth[k] for k in n.inputs)
    for n in nodes:
        if n.kind == "constant" and n.consumers:
            depth[n.index] = max(0, min(depth[c] for c in n.consumers) - 1)
    columns: dict[int, list[int]] = {}
    for n in nodes:
        columns.setdefault(depth[n.index], []).append(n.index)
    # order each column by the average row of the boxes feeding it (fewer crossings)
    row: dict[int, float] = {}
    for d in sorted(columns):
        col = columns[d]
        if d > 0:

            def key(i):
                feeds = [row[k] for k in nodes[i].inputs if k in row]
                if not feeds:  # a constant: sit beside its consumer's other inputs
                    feeds = [row[k] for c in nodes[i].consumers for k in nodes[c].inputs if k in row]
                return sum(feeds) / len(feeds) if feeds else 0.0

            col.sort(key=key)
        for r, i in enumerate(col):
            row[i] = float(r)
    heights = {d: sum(_size(nodes[i])[1] for i in col) + ROW_GAP * (len(col) - 1) for d, col in columns.items()}
    tallest = max(heights.values())
    rects: dict[int, QRectF] = {}
    x = MARGIN
    for d in sorted(columns):
        col = columns[d]
        y = MARGIN + (tallest - heights[d]) / 2
        for i in col:
            w, h = _size(nodes[i])
            rects[i] = QRectF(x + (BOX_W - w) / 2, y, w, h)
            y += h + ROW_GAP
        x += BOX_W + COL_GAP
    return rects


def _size(node) -> tuple[float, float]:
    return (CONST_W, CONST_H) if node.kind == "constant" else (BOX_W, BOX_H)


class GraphView(QWidget):
    """Draws a core ``Graph``; see the module docstring."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("graphView")
        self.setMinimumSize(320, 220)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.graph = None
        self.rects: dict[int, QRectF] = {}
        self.revealed: set[int] = set()
        self.current: int | None = None
        self.edge_labels: dict[tuple[int, int], str] = {}
        self.setToolTip(
            "The computation graph: every box is one value the engine computed.\n"
            "Arrows show what feeds into what; gradients flow backwards along them."
        )

    # -- owner API -----------------------------------------------------------------
    def set_graph(self, graph, keep_layout: bool = False) -> None:
        """Show ``graph``; ``keep_layout`` when only the numbers changed (same expression)."""
        self.graph = graph
        if not keep_layout or len(self.rects) != len(graph.nodes):
            self.rects = layout(graph)
            right, bottom = self._extent()
            self.setMinimumSize(max(320, int(right * MIN_SCALE)), max(220, int(bottom * MIN_SCALE)))
        self.update()

    def _extent(self) -> tuple[float, float]:
        return (
            max(r.right() for r in self.rects.values()) + MARGIN,
            max(r.bottom() for r in self.rects.values()) + MARGIN,
        )

    def set_backward_state(
        self, revealed: set[int], current: int | None, edge_labels: dict[tuple[int, int], str] | None = None
    ) -> None:
        self.revealed, self.current = set(revealed), current
        self.edge_labels = dict(edge_labels or {})
        self.update()

    def clear(self) -> None:
        self.graph, self.rects = None, {}
        self.setMinimumSize(320, 220)
        self.update()

    # -- geometry ----------------------------------------------------------------------
    def _transform(self) -> tuple[float, float, float]:
        """(scale, dx, dy) mapping graph units to widget pixels, centred."""
        if not self.rects:
            return 1.0, 0.0, 0.0
        right, bottom = self._extent()
        scale = min(self.width() / right, self.height() / bottom, MAX_SCALE)
        return scale, (self.width() - right * scale) / 2, (self.height() - bottom * scale) / 2

    def node_rect(self, index: int) -> QRectF:
        """Where box ``index`` is drawn, in widget pixels (tests click and inspect with this)."""
        s, dx, dy = self._transform()
        r = self.rects[index]
        return QRectF(r.x() * s + dx, r.y() * s + dy, r.width() * s, r.height() * s)

    # -- painting -----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        if self.graph is None:
            painter.setPen(self.palette().color(QPalette.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignCenter, "Type an expression to see its graph")
            painter.end()
            return
        s, dx, dy = self._transform()
        painter.translate(dx, dy)
        painter.scale(s, s)
        edge_color = QColor(self.palette().color(QPalette.WindowText))
        edge_color.setAlpha(150)
        labels = []
        for n in self.graph.nodes:
            for k in dict.fromkeys(n.inputs):
                labels.append(self._draw_edge(painter, k, n.index, edge_color))
        for n in self.graph.nodes:
            self._draw_node(painter, n)
        # edge labels last, over the boxes: a short edge must not hide its label under a box
        for draw in labels:
            if draw is not None:
                draw()
        painter.end()

    def _draw_edge(self, painter: QPainter, src: int, dst: int, color: QColor):
        """Draw the edge now; return a function that draws its label (called after the boxes), or None."""
        a, b = self.rects[src], self.rects[dst]
        p0, p1 = QPointF(a.right(), a.center().y()), QPointF(b.left(), b.center().y())
        label = self.edge_labels.get((src, dst))
        pen = QPen(HIGHLIGHT if label is not None else color, 3.0 if label is not None else 1.4)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        path = QPainterPath(p0)
        mid = (p0.x() + p1.x()) / 2
        path.cubicTo(QPointF(mid, p0.y()), QPointF(mid, p1.y()), p1)
        painter.drawPath(path)
        # arrowhead at the consumer
        painter.setBrush(pen.color())
        painter.drawPolygon(QPolygonF([p1, QPointF(p1.x() - 9, p1.y() - 5), QPointF(p1.x() - 9, p1.y() + 5)]))
        if not label:
            return None

        def draw_label() -> None:
            font = QFont(self.font())
            font.setBold(True)
            painter.setFont(font)
            fm = QFontMetrics(font)
            w = fm.horizontalAdvance(label) + 10
            centre = path.pointAtPercent(0.42)
            box = QRectF(centre.x() - w / 2, centre.y() - fm.height() / 2 - 2, w, fm.height() + 4)
            painter.setPen(QPen(HIGHLIGHT, 1.2))
            painter.setBrush(QColor("#fff4e6"))
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(BOX_TEXT)
            painter.drawText(box, Qt.AlignCenter, label)

        return draw_label

    def _draw_node(self, painter: QPainter, n) -> None:
        r = self.rects[n.index]
        kind = "output" if n is self.graph.output and n.kind == "operation" else n.kind
        current = n.index == self.current
        painter.setPen(QPen(HIGHLIGHT if current else BORDER[kind], 4.0 if current else 1.5))
        painter.setBrush(FILL[kind])
        painter.drawRoundedRect(r, 8, 8)
        base = QFont(self.font())
        bold = QFont(base)
        bold.setBold(True)
        if n.kind == "constant":
            painter.setFont(bold)
            painter.setPen(BOX_TEXT)
            painter.drawText(r, Qt.AlignCenter, n.op if n.op in ("pi", "e") else _num(n.value))
            return
        pad = 8.0
        line_h = (r.height() - 2 * pad) / 3
        header = QRectF(r.x() + pad, r.y() + pad - 2, r.width() - 2 * pad, line_h)
        painter.setFont(bold)
        painter.setPen(BOX_TEXT)
        painter.drawText(header, Qt.AlignLeft | Qt.AlignVCenter, n.label)
        badge_text = "input" if n.kind == "variable" else OP_SYMBOLS.get(n.op, n.op)
        painter.setFont(base)
        fm = QFontMetrics(base)
        bw = fm.horizontalAdvance(badge_text) + 12
        badge = QRectF(r.right() - pad - bw, header.y() + 1, bw, line_h - 2)
        painter.setPen(QPen(BORDER[kind], 1))
        painter.setBrush(QColor(255, 255, 255, 170))
        painter.drawRoundedRect(badge, 6, 6)
        painter.setPen(BOX_TEXT)
        painter.drawText(badge, Qt.AlignCenter, badge_text)
        if n.kind == "operation":
            sub = QRectF(
                header.x() + fm.horizontalAdvance(n.label) + 14,
                header.y(),
                badge.left() - header.x() - fm.horizontalAdvance(n.label) - 18,
                line_h,
            )
            painter.setPen(DIM_TEXT)
            painter.drawText(
                sub, Qt.AlignLeft | Qt.AlignVCenter, fm.elidedText(f"= {n.text}", Qt.ElideRight, int(sub.width()))
            )
        value_row = QRectF(r.x() + pad, r.y() + pad + line_h, r.width() - 2 * pad, line_h)
        grad_row = QRectF(r.x() + pad, r.y() + pad + 2 * line_h, r.width() - 2 * pad, line_h)
        painter.setPen(BOX_TEXT)
        painter.drawText(value_row, Qt.AlignLeft | Qt.AlignVCenter, f"value  {_num(n.value)}")
        shown = n.index in self.revealed
        painter.setPen(GRAD_TEXT if shown else DIM_TEXT)
        painter.setFont(bold if shown else base)
        y = self.graph.output.label
        painter.drawText(grad_row, Qt.AlignLeft | Qt.AlignVCenter, f"d{y}/d{n.label}  {_num(n.grad) if shown else '?'}")
