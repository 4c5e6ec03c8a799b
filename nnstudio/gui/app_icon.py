"""The application icon: a small network (three layers of neurons, one path lit) on an indigo tile.

Drawn from one description (``GLYPH``) both by QPainter, for the window icon at every size, and
as SVG text; ``resources/icons/make_icons.py`` writes the PNGs and the SVG under ``resources/``
for desktops (hicolor theme) from this same module.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QLinearGradient, QPainter, QPen, QPixmap

SIZES = (16, 24, 32, 48, 64, 128, 256)

# Everything below is in a 256 x 256 box.
TILE = (8.0, 8.0, 240.0, 240.0, 52.0)  # x, y, width, height, corner radius
TOP, BOTTOM = "#4c6ef5", "#243b9e"  # the tile's gradient
EDGE, LIT, NODE, OUTPUT = "#ffffff", "#ffb454", "#ffffff", "#ffb454"

# Neurons per layer at full size and at small sizes (where fewer, bigger shapes stay readable).
LAYERS_FULL = ((58.0, (80.0, 128.0, 176.0)), (128.0, (56.0, 104.0, 152.0, 200.0)), (198.0, (100.0, 156.0)))
LAYERS_SMALL = ((58.0, (84.0, 172.0)), (128.0, (56.0, 128.0, 200.0)), (198.0, (128.0,)))


def glyph(size: int):
    """(layers, node radius, edge width, lit path) for an icon ``size`` pixels wide, in 256-unit space."""
    if size <= 32:
        return LAYERS_SMALL, 24.0, 13.0, ((0, 0), (1, 1), (2, 0))
    return LAYERS_FULL, 15.0, 6.0, ((0, 1), (1, 2), (2, 1))


def _edges(layers):
    for i in range(len(layers) - 1):
        (x0, ys0), (x1, ys1) = layers[i], layers[i + 1]
        for a, y0 in enumerate(ys0):
            for b, y1 in enumerate(ys1):
                yield (i, a, b), (x0, y0, x1, y1)


def _lit_edges(path):
    return {(path[k][0], path[k][1], path[k + 1][1]) for k in range(len(path) - 1)}


def draw(painter: QPainter, size: int) -> None:
    """Paint the icon into a ``size`` x ``size`` square at the painter's origin."""
    layers, radius, width, path = glyph(size)
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing, True)
    painter.scale(size / 256.0, size / 256.0)
    x, y, w, h, r = TILE
    gradient = QLinearGradient(0, y, 0, y + h)
    gradient.setColorAt(0.0, QColor(TOP))
    gradient.setColorAt(1.0, QColor(BOTTOM))
    painter.setPen(Qt.NoPen)
    painter.setBrush(QBrush(gradient))
    painter.drawRoundedRect(QRectF(x, y, w, h), r, r)
    lit = _lit_edges(path)
    faint = QColor(EDGE)
    faint.setAlphaF(0.45)
    for key, (x0, y0, x1, y1) in _edges(layers):
        if key not in lit:
            painter.setPen(QPen(faint, width, Qt.SolidLine, Qt.RoundCap))
            painter.drawLine(QPointF(x0, y0), QPointF(x1, y1))
    for key, (x0, y0, x1, y1) in _edges(layers):
        if key in lit:
            painter.setPen(QPen(QColor(LIT), width * 1.5, Qt.SolidLine, Qt.RoundCap))
            painter.drawLine(QPointF(x0, y0), QPointF(x1, y1))
    painter.setPen(Qt.NoPen)
    for i, (cx, ys) in enumerate(layers):
        for j, cy in enumerate(ys):
            painter.setBrush(QColor(OUTPUT if (i, j) in set(path) and i == len(layers) - 1 else NODE))
            painter.drawEllipse(QPointF(cx, cy), radius, radius)
    painter.restore()


def image(size: int) -> QImage:
    """The icon as a transparent ``size`` x ``size`` image."""
    img = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    img.fill(Qt.transparent)
    painter = QPainter(img)
    draw(painter, size)
    painter.end()
    return img


def app_icon() -> QIcon:
    """The window icon, drawn at every size a desktop asks for."""
    icon = QIcon()
    for size in SIZES:
        icon.addPixmap(QPixmap.fromImage(image(size)))
    return icon


def svg(size: int = 256) -> str:
    """The full-size icon as SVG text (the same shapes as :func:`draw`)."""
    layers, radius, width, path = glyph(size)
    x, y, w, h, r = TILE
    lit = _lit_edges(path)
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 256 256">',
        "  <title>nnstudio</title>",
        f'  <defs><linearGradient id="tile" gradientUnits="userSpaceOnUse" x1="0" y1="{y:g}" x2="0" y2="{y + h:g}">'
        f'<stop offset="0" stop-color="{TOP}"/><stop offset="1" stop-color="{BOTTOM}"/></linearGradient></defs>',
        f'  <rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="{r:g}" fill="url(#tile)"/>',
        f'  <g stroke="{EDGE}" stroke-width="{width:g}" stroke-linecap="round">',
    ]
    lines += [
        f'    <line x1="{x0:g}" y1="{y0:g}" x2="{x1:g}" y2="{y1:g}" stroke-opacity="0.45"/>'
        for key, (x0, y0, x1, y1) in _edges(layers)
        if key not in lit
    ]
    lines.append(f'  </g>\n  <g stroke="{LIT}" stroke-width="{width * 1.5:g}" stroke-linecap="round">')
    lines += [
        f'    <line x1="{x0:g}" y1="{y0:g}" x2="{x1:g}" y2="{y1:g}"/>'
        for key, (x0, y0, x1, y1) in _edges(layers)
        if key in lit
    ]
    lines.append("  </g>")
    for i, (cx, ys) in enumerate(layers):
        for j, cy in enumerate(ys):
            fill = OUTPUT if (i, j) in set(path) and i == len(layers) - 1 else NODE
            lines.append(f'  <circle cx="{cx:g}" cy="{cy:g}" r="{radius:g}" fill="{fill}"/>')
    lines.append("</svg>")
    return "\n".join(lines) + "\n"
