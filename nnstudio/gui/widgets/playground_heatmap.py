"""The playground's output view: the network's output as a heatmap over the plane, with the points on top.

Items are created once and updated in place (``setImage`` / ``setData``), so a
redraw costs one small image upload and two scatter updates.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal

from nnstudio.core.data.toy import DOMAIN

from .playground_colors import LUT, NEGATIVE, POSITIVE, to_rgba
from .training_charts import theme_plot


def _brushes(values: np.ndarray, classification: bool) -> list:
    if classification:
        neg, pos = pg.mkBrush(*NEGATIVE), pg.mkBrush(*POSITIVE)
        return [pos if v else neg for v in values]
    rgba = to_rgba(np.asarray(values, dtype=np.float32))
    return [pg.mkBrush(*map(int, c)) for c in rgba]


class OutputHeatmap(pg.PlotWidget):
    """Output heatmap with train points (white edge) and test points (dark edge).

    ``clicked(x, y)`` fires with plane coordinates when the user clicks.
    """

    clicked = Signal(float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("playgroundHeatmap")
        theme_plot(self)
        self.setAspectLocked(True)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.setRange(xRange=(-DOMAIN, DOMAIN), yRange=(-DOMAIN, DOMAIN), padding=0.0)
        # the tick labels at the plane's edges (±6) would be cut in half: draw them whole, with room above
        for name in ("left", "bottom"):
            self.getAxis(name).setStyle(hideOverlappingLabels=False)
        self.getPlotItem().layout.setContentsMargins(0, 10, 10, 0)
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=9, pen=pg.mkPen("w", width=1.0))
        self.test_points = pg.ScatterPlotItem(size=9, pen=pg.mkPen((20, 20, 20), width=1.0), symbol="s")
        self.addItem(self.train_points)
        self.addItem(self.test_points)
        self.discretize = False
        self.last_output = None
        self.scene().sigMouseClicked.connect(self._on_click)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width  # keep the plane square

    def set_points(self, x_train, y_train, x_test, y_test, classification: bool) -> None:
        self.train_points.setData(pos=np.asarray(x_train), brush=_brushes(np.ravel(y_train), classification))
        self.test_points.setData(pos=np.asarray(x_test), brush=_brushes(np.ravel(y_test), classification))

    def show_test(self, on: bool) -> None:
        self.test_points.setVisible(bool(on))

    def set_output(self, output: np.ndarray) -> None:
        """``output`` (R, R) in [-1, 1], row 0 at the bottom."""
        self.last_output = output
        values = np.sign(output) if self.discretize else output
        # lighten the map a little so the points stand out on it
        rgba = to_rgba(values * 0.65)
        shape_changed = self.image.image is None or self.image.image.shape != rgba.shape
        self.image.setImage(rgba, autoLevels=False, levels=(0, 255))
        if shape_changed:
            # the rect maps pixels to plane coordinates; it depends on the image size
            self.image.setRect(QRectF(-DOMAIN, -DOMAIN, 2 * DOMAIN, 2 * DOMAIN))

    def set_discretize(self, on: bool) -> None:
        self.discretize = bool(on)
        if self.last_output is not None:
            self.set_output(self.last_output)

    def _on_click(self, event) -> None:
        pos = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        if abs(pos.x()) <= DOMAIN and abs(pos.y()) <= DOMAIN:
            self.clicked.emit(float(pos.x()), float(pos.y()))


__all__ = ["OutputHeatmap", "LUT"]
