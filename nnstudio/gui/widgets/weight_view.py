"""Weight heatmaps: the first layer as 28×28 tiles, deeper layers as matrices, diverging colours.

The colours are the app's one diverging palette (:mod:`nnstudio.gui.theme`): blue is
positive, orange is negative, near-white is zero. The tiles answer "what does each
hidden unit look for": a unit whose tile shows a blue stroke fires when those pixels
are ink.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from nnstudio.core.nn import Dense

from ..theme import diverging_lut, sign_legend_html

MAX_TILES = 400


def tile_image(
    w: np.ndarray, side: int, max_tiles: int = MAX_TILES, gap: int = 1, lut: np.ndarray | None = None
) -> tuple[np.ndarray, int, int]:
    """RGBA image of the columns of ``w`` (in=side*side, units) as side×side tiles in a grid.

    Each tile is scaled to its own largest |w| so weak and strong units are both readable;
    gaps are transparent. Returns (image, rows, cols). The view draws with ``gap=0`` and
    separates the tiles with lines one screen pixel wide: a one-pixel gap inside a
    scaled image vanishes in bands (a moiré) wherever the scale is below 1.
    """
    lut = diverging_lut() if lut is None else lut
    units = min(w.shape[1], max_tiles)
    cols = max(1, math.ceil(math.sqrt(units)))
    rows = max(1, math.ceil(units / cols))
    tiles = np.asarray(w[:, :units], dtype=np.float32).T.reshape(units, side, side)
    scale = np.abs(tiles).reshape(units, -1).max(axis=1)
    scale[scale == 0] = 1.0
    idx = np.clip(((tiles / scale[:, None, None]) * 127.5 + 127.5), 0, 255).astype(np.uint8)
    grid = np.zeros((rows * cols, side, side), dtype=np.uint8)
    grid[:units] = idx
    rgba = lut[grid]  # (rows*cols, side, side, 4)
    rgba[units:, ..., 3] = 0
    # pad every tile with a transparent gap, then lay the tiles out row by row
    padded = np.zeros((rows, cols, side + gap, side + gap, 4), dtype=np.uint8)
    padded[:, :, :side, :side] = rgba.reshape(rows, cols, side, side, 4)
    img = padded.transpose(0, 2, 1, 3, 4).reshape(rows * (side + gap), cols * (side + gap), 4)
    img = np.ascontiguousarray(img[: -gap or None, : -gap or None])
    return img, rows, cols


class WeightView(QWidget):
    """All Dense layers of a network as heatmaps, refreshed in place with ``setImage``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("weightHeatmap")
        self.setAccessibleName("Weight heatmaps")
        self.lut = diverging_lut()
        self.graphics = pg.GraphicsLayoutWidget()
        pal = QApplication.instance().palette()
        self.graphics.setBackground(pal.color(QPalette.Base))
        self._fg = pal.color(QPalette.Text)
        self.hint = QLabel(
            sign_legend_html("positive weight", "negative weight") + " &nbsp;·&nbsp; "
            "first layer: each tile is one hidden unit's 784 input weights, scaled to its own "
            "largest |w|; later layers: rows = units, columns = inputs, shared scale ±max|w|."
        )
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.RichText)
        self.hint.setProperty("role", "hint")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.hint)
        # Before a network exists (or while the edited one is not built yet) the view says so here.
        self.status = QLabel(objectName="weightViewStatus", wordWrap=True)
        self.status.setAlignment(Qt.AlignCenter)
        self.status.hide()
        lay.insertWidget(0, self.status)
        self._shape_key = None
        self.images: list[pg.ImageItem] = []
        self.titles: list = []
        self.tile_grid: pg.PlotCurveItem | None = None
        self.updates = 0
        self.side = 28
        self._summary = ""

    def set_status(self, text: str) -> None:
        """A plain sentence above the heatmaps (empty: none)."""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def changeEvent(self, event) -> None:
        # A theme switch: titles and background follow the new palette (dark text on dark is unreadable).
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange, QEvent.StyleChange):
            pal = QApplication.instance().palette()
            self._fg = pal.color(QPalette.Text)
            self.graphics.setBackground(pal.color(QPalette.Base))
            for label in self.titles:
                label.setText(label.text, color=self._fg)
            if self.tile_grid is not None:
                self.tile_grid.setPen(pg.mkPen(pal.color(QPalette.Base), width=1))
        super().changeEvent(event)

    def _rebuild(self, dense: list[Dense]) -> None:
        self.graphics.clear()
        self.images, self.titles = [], []
        self.tile_grid = None
        n = len(dense)
        first_is_image = self._first_is_image(dense)
        for i, layer in enumerate(dense):
            if i == 0 and first_is_image:
                title = f"Layer 1: what each of the {layer.out_features} hidden units looks for"
                if layer.out_features > MAX_TILES:
                    title += f" (first {MAX_TILES})"
            else:
                title = f"Layer {i + 1}: {layer.in_features} → {layer.out_features}"
                if i == n - 1:
                    title += " (output)"
            rowspan = 1
            if i == 0 and first_is_image:
                col, row = 0, 0
                rowspan = max(1, 2 * (n - 1) - 1)
            else:
                col, row = (1 if first_is_image else 0), 2 * (i - (1 if first_is_image else 0))
            label = self.graphics.addLabel(title, row=row, col=col, color=self._fg, size="9pt")
            # tiles keep square pixels; a 128x10 matrix is stretched so every cell stays visible
            vb = self.graphics.addViewBox(
                row=row + 1,
                col=col,
                rowspan=rowspan,
                lockAspect=bool(i == 0 and first_is_image),
                enableMouse=True,
                invertY=True,
            )
            vb.setMenuEnabled(False)
            img = pg.ImageItem(axisOrder="row-major")
            if not (i == 0 and first_is_image):
                img.setLookupTable(self.lut)
            vb.addItem(img)
            if i == 0 and first_is_image:
                # cosmetic lines: always one screen pixel, whatever the zoom
                pen = pg.mkPen(QApplication.instance().palette().color(QPalette.Base), width=1)
                self.tile_grid = pg.PlotCurveItem(pen=pen, connect="pairs", antialias=False)
                self.tile_grid.setZValue(1)
                vb.addItem(self.tile_grid)
            self.images.append(img)
            self.titles.append(label)
        if first_is_image and n > 1:
            self.graphics.ci.layout.setColumnStretchFactor(0, 3)
            self.graphics.ci.layout.setColumnStretchFactor(1, 2)

    def _first_is_image(self, dense) -> bool:
        return bool(dense) and math.isqrt(dense[0].in_features) ** 2 == dense[0].in_features

    def update_weights(self, network) -> None:
        """Redraw from the network's current weights (safe to call while it trains)."""
        if network is None:
            return
        dense = [layer for layer in network.layers if isinstance(layer, Dense)]
        key = tuple((d.in_features, d.out_features) for d in dense)
        if key != self._shape_key:
            self._shape_key = key
            self._rebuild(dense)
        first_is_image = self._first_is_image(dense)
        for i, (layer, img) in enumerate(zip(dense, self.images)):
            w = layer.W.data
            if i == 0 and first_is_image:
                side = math.isqrt(layer.in_features)
                rgba, rows, cols = tile_image(w, side, gap=0, lut=self.lut)
                img.setImage(rgba, autoLevels=False, levels=(0, 255))
                if self.tile_grid is not None and (rows, cols) != getattr(self.tile_grid, "_rows_cols", None):
                    self.tile_grid._rows_cols = (rows, cols)
                    self.tile_grid.setData(*_grid_lines(rows, cols, side))
            else:
                m = float(np.max(np.abs(w))) or 1.0
                img.setImage(np.asarray(w.T, dtype=np.float32), autoLevels=False, levels=(-m, m))
        self.updates += 1
        self._describe(dense)

    def _describe(self, dense) -> None:
        """A text summary for screen readers: the layers and the range of their weights."""
        parts = []
        for i, layer in enumerate(dense):
            w = layer.W.data
            parts.append(
                f"layer {i + 1}, {layer.in_features} to {layer.out_features}: weights from "
                f"{float(np.min(w)):.3g} to {float(np.max(w)):.3g}"
            )
        self._summary = "; ".join(parts)
        self.setAccessibleDescription("Weight heatmaps. " + self._summary)

    def first_layer_image(self) -> np.ndarray | None:
        return self.images[0].image if self.images else None


def _grid_lines(rows: int, cols: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Segment end points (for ``connect="pairs"``) of the lines between ``rows`` × ``cols`` tiles."""
    xs, ys = [], []
    for c in range(1, cols):
        xs += [c * side, c * side]
        ys += [0, rows * side]
    for r in range(1, rows):
        xs += [0, cols * side]
        ys += [r * side, r * side]
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
