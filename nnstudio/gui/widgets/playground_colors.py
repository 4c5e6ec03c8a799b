"""Colours shared by the playground widgets: orange for negative / class 0, blue for positive / class 1
(the app's one diverging palette, from :mod:`nnstudio.gui.theme`).

Values in [-1, 1] become RGBA through a 256-entry lookup table, in NumPy, so a
whole map turns into an image in one indexing operation.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

from ..theme import NEGATIVE, POSITIVE  # orange, blue

MIDDLE = (232, 234, 235)  # light grey (not pure white: points stay visible)


def _make_lut() -> np.ndarray:
    t = np.linspace(-1, 1, 256)[:, None]
    neg, pos, mid = (np.array(c, dtype=np.float64) for c in (NEGATIVE, POSITIVE, MIDDLE))
    rgb = np.where(t < 0, mid + (neg - mid) * (-t), mid + (pos - mid) * t)
    lut = np.empty((256, 4), dtype=np.uint8)
    lut[:, :3] = np.round(rgb).astype(np.uint8)
    lut[:, 3] = 255
    return lut


LUT = _make_lut()


def to_rgba(values: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Map values (any shape) in [-scale, scale] to RGBA uint8 (shape + (4,))."""
    v = np.asarray(values, dtype=np.float32)
    if scale <= 0 or not np.isfinite(scale):
        scale = 1.0
    idx = np.clip((v / scale + 1.0) * 127.5, 0, 255).astype(np.uint8)
    return LUT[idx]


def rgba_to_qimage(rgba: np.ndarray, flip_rows: bool = True) -> QImage:
    """A QImage that owns a copy of ``rgba`` (h, w, 4). ``flip_rows``: row 0 is the bottom of the plane."""
    if flip_rows:
        rgba = rgba[::-1]
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()


def weight_color(w: float, alpha: int = 255) -> QColor:
    c = POSITIVE if w >= 0 else NEGATIVE
    return QColor(c[0], c[1], c[2], alpha)
