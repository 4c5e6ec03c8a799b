"""A look at the dataset: a grid of samples per class and how many images each class has."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from .training_charts import style_plot


def sample_grid(
    images: np.ndarray, labels: np.ndarray, k: int, per_class: int = 12, seed: int = 0, gap: int = 2
) -> np.ndarray:
    """uint8 image with one row of ``per_class`` random examples for each of ``k`` classes."""
    h, w = images.shape[1:3]
    rng = np.random.default_rng(seed)
    out = np.full((k * (h + gap) - gap, per_class * (w + gap) - gap), 0, dtype=np.uint8)
    for c in range(k):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False)
        for j, i in enumerate(pick):
            out[c * (h + gap) : c * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = images[i]
    return out


class DatasetView(QWidget):
    """Sample grid (rows = classes) and per-class counts of the training split."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("datasetView")
        self.samples = pg.PlotWidget()
        self.samples.setObjectName("datasetSamples")
        style_plot(self.samples, "Random training images, one row per class")
        self.samples.setMouseEnabled(x=False, y=False)
        self.samples.getPlotItem().hideButtons()
        self.samples.getPlotItem().invertY(True)
        self.samples.getPlotItem().setAspectLocked(True)
        self.samples.getPlotItem().showGrid(x=False, y=False)
        self.samples.getAxis("bottom").hide()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(np.stack([np.arange(256)] * 3 + [np.full(256, 255)], axis=1).astype(np.uint8))
        self.samples.addItem(self.image)
        self.counts = pg.PlotWidget()
        self.counts.setObjectName("datasetCounts")
        style_plot(self.counts, "Training images per class")
        self.counts.setMouseEnabled(x=False, y=False)
        self.counts.getPlotItem().hideButtons()
        self.count_bars = pg.BarGraphItem(
            x0=np.zeros(10), y=np.arange(10), height=0.7, width=np.zeros(10), brush=(30, 110, 235, 200), pen=None
        )
        self.counts.addItem(self.count_bars)
        self.counts.getPlotItem().invertY(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.samples, 3)
        lay.addWidget(self.counts, 2)
        self.dataset_name = None

    def set_dataset(self, data) -> None:
        if data is None or data.name == self.dataset_name:
            return
        self.dataset_name = data.name
        k = data.num_classes
        h = data.x_train.shape[1] + 2
        self.image.setImage(sample_grid(data.x_train, data.y_train, k), levels=(0, 255), autoLevels=False)
        names = list(data.class_names)
        self.samples.getAxis("left").setTicks([[(c * h + h / 2 - 1, names[c]) for c in range(k)]])
        counts = np.bincount(data.y_train, minlength=k)
        self.count_bars.setOpts(x0=np.zeros(k), y=np.arange(k), width=counts)
        self.counts.getAxis("left").setTicks([[(c, f"{names[c]}  ") for c in range(k)]])
        self.counts.setXRange(0, counts.max() * 1.1, padding=0)
        self.counts.setYRange(-0.5, k - 0.5, padding=0)
        self.samples.autoRange(padding=0.01)
