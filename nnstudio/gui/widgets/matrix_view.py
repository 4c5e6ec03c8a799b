"""Heatmaps and bars for a layer too big to draw node by node (the backprop page's MNIST view).

Four panels: the input (as an image when it is square), the weights into one picked neuron,
the layer's whole matrix, and the vector the current step produces as bars. Clicking an image
reports (row, col) to the owner; the yellow squares mark the picked weight.

The widget only draws what it is given: it computes nothing about the network.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from .. import theme


def square_side(n: int) -> int | None:
    """The side of a square image of ``n`` pixels (784 -> 28), or None if ``n`` is not a square > 1."""
    r = int(round(math.sqrt(n)))
    return r if r * r == n and r > 1 else None


class ClickableImage(pg.ImageItem):
    """An ImageItem that reports clicks as (row, col)."""

    def __init__(self, on_click=None):
        super().__init__()
        self.on_click = on_click

    def mouseClickEvent(self, ev):
        if self.on_click is not None and ev.button() == Qt.LeftButton and self.image is not None:
            p = ev.pos()
            row, col = int(p.y()), int(p.x())
            if 0 <= row < self.image.shape[0] and 0 <= col < self.image.shape[1]:
                self.on_click(row, col)
                ev.accept()


class MatrixView(pg.GraphicsLayoutWidget):
    """For networks too big to draw node by node: the input, one neuron's weights, the layer's
    matrix and the current vector, as heatmaps and bars."""

    def __init__(self, on_pick_input=None, on_pick_neuron=None, on_pick_pixel=None, parent=None):
        super().__init__(parent)
        self.setObjectName("backpropMatrixView")
        # the app's one diverging palette: blue positive, orange negative, like the diagram's edges
        self.diverging = theme.diverging_colormap()
        self.gray = pg.colormap.get("CET-L1")

        self.input_plot = self.addPlot(row=0, col=0, title="Input")
        self.input_image = ClickableImage(on_pick_pixel)
        self.input_image.setColorMap(self.gray)
        self.neuron_plot = self.addPlot(row=0, col=1, title="Weights into the picked neuron")
        self.neuron_image = ClickableImage(on_pick_input)
        self.neuron_image.setColorMap(self.diverging)
        self.matrix_plot = self.addPlot(row=1, col=0, title="Layer matrix")
        self.matrix_image = ClickableImage(on_pick_neuron)
        self.matrix_image.setColorMap(self.diverging)
        self.vector_plot = self.addPlot(row=1, col=1, title="Vector")
        self.vector_plot.setMinimumWidth(80)
        self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.8)
        self.vector_plot.addItem(self.bars)
        self.vector_plot.showGrid(y=True, alpha=0.3)
        for plot, item in (
            (self.input_plot, self.input_image),
            (self.neuron_plot, self.neuron_image),
            (self.matrix_plot, self.matrix_image),
        ):
            plot.setMinimumWidth(80)
            plot.addItem(item)
            plot.invertY(True)
            plot.hideAxis("bottom")
            plot.hideAxis("left")
            plot.setMenuEnabled(False)
        self.input_plot.setAspectLocked(True)
        self.neuron_plot.setAspectLocked(True)
        self.input_marker = pg.ScatterPlotItem(size=11, symbol="s", pen=pg.mkPen((230, 180, 0), width=2), brush=None)
        self.neuron_marker = pg.ScatterPlotItem(size=11, symbol="s", pen=pg.mkPen((230, 180, 0), width=2), brush=None)
        self.matrix_marker = pg.ScatterPlotItem(size=11, symbol="s", pen=pg.mkPen((230, 180, 0), width=2), brush=None)
        self.input_plot.addItem(self.input_marker)
        self.neuron_plot.addItem(self.neuron_marker)
        self.matrix_plot.addItem(self.matrix_marker)
        self.ci.layout.setColumnStretchFactor(0, 1)
        self.ci.layout.setColumnStretchFactor(1, 1)

    @staticmethod
    def _grid(vector: np.ndarray) -> np.ndarray:
        side = square_side(vector.size)
        return vector.reshape(side, side) if side else vector.reshape(1, -1)

    @staticmethod
    def _cell(index: int, size: int) -> tuple[float, float]:
        side = square_side(size)
        return ((index % side) + 0.5, (index // side) + 0.5) if side else (index + 0.5, 0.5)

    def show(
        self,
        x,
        x_title,
        neuron_weights,
        neuron_title,
        matrix,
        matrix_title,
        vector,
        vector_title,
        pick_i,
        pick_j,
        first_layer=True,
    ):
        """Update every panel in place; signed panels get symmetric colour levels.

        ``first_layer``: the picked neuron's inputs are the network's inputs (an image, and the
        input panel can mark the picked pixel); otherwise they are hidden neurons (a strip).
        """
        self.input_image.setImage(self._grid(x), levels=(min(0.0, float(np.min(x))), max(1.0, float(np.max(x)))))
        self.input_plot.setTitle(x_title)
        if first_layer:
            self.input_marker.setData([self._cell(pick_i, x.size)[0]], [self._cell(pick_i, x.size)[1]])
        else:
            self.input_marker.setData([], [])

        grid = self._grid(neuron_weights) if first_layer else neuron_weights.reshape(1, -1)
        # A strip (not a square image) would be one pixel high with a locked aspect.
        self.neuron_plot.setAspectLocked(grid.shape[0] > 1)
        m = float(np.max(np.abs(grid))) or 1.0
        self.neuron_image.setImage(grid, levels=(-m, m))
        self.neuron_plot.setTitle(neuron_title)
        cx, cy = self._cell(pick_i, neuron_weights.size) if first_layer else (pick_i + 0.5, 0.5)
        self.neuron_marker.setData([cx], [cy])

        m = float(np.max(np.abs(matrix))) or 1.0
        self.matrix_image.setImage(matrix, levels=(-m, m))
        self.matrix_plot.setTitle(matrix_title)
        self.matrix_marker.setData([pick_i + 0.5], [pick_j + 0.5])

        brushes = [
            pg.mkBrush(230, 180, 0) if k == pick_j else pg.mkBrush(*(theme.POSITIVE if v >= 0 else theme.NEGATIVE))
            for k, v in enumerate(vector)
        ]
        self.bars.setOpts(x=np.arange(vector.size), height=vector, width=0.8, brushes=brushes, pen=None)
        self.vector_plot.setTitle(vector_title)
        self.vector_plot.enableAutoRange()
