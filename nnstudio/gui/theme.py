"""The look of the app, in one place: Fusion style with a light or dark palette, the accent colour,
the style sheet every page shares, and pyqtgraph's global options."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette, QPen
from PySide6.QtWidgets import QProxyStyle, QStyle

THEMES = ("system", "light", "dark")
ACCENT = "#2e7dd7"

# The one diverging palette for signed numbers (weights, gradients, activations) on every page:
# blue = positive, orange = negative, near-white = zero. Blue against orange stays distinct for the
# common colour-vision deficiencies (deuteranopia, protanopia, tritanopia), unlike red against green.
POSITIVE = (25, 100, 180)
NEGATIVE = (205, 95, 10)
ZERO = (247, 247, 247)
DIVERGING_STOPS = (
    (0.0, NEGATIVE),
    (0.25, (244, 170, 95)),
    (0.5, ZERO),
    (0.75, (130, 180, 225)),
    (1.0, POSITIVE),
)


def sign_colour(value: float) -> QColor:
    """The palette's colour for the sign of ``value`` (zero counts as positive)."""
    return QColor(*(POSITIVE if value >= 0 else NEGATIVE))


def diverging_colormap() -> pg.ColorMap:
    """The diverging palette as a pyqtgraph ColorMap over [0, 1] (0.5 is zero)."""
    return pg.ColorMap([p for p, _ in DIVERGING_STOPS], [c for _, c in DIVERGING_STOPS])


def diverging_lut() -> np.ndarray:
    """A 256×4 uint8 lookup table of the diverging palette (index 127.5 is zero)."""
    return diverging_colormap().getLookupTable(0.0, 1.0, 256, alpha=True)


def sign_legend_html(positive: str = "positive", negative: str = "negative") -> str:
    """The legend snippet every page uses for the palette: "■ positive / ■ negative"."""
    return (
        f"<span style='color:rgb{POSITIVE}'>■</span>&nbsp;{positive} / "
        f"<span style='color:rgb{NEGATIVE}'>■</span>&nbsp;{negative}"
    )


def configure_pyqtgraph() -> None:
    """pyqtgraph's global options for every plot: images are (row, col) like NumPy."""
    pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")


def system_is_dark(app) -> bool:
    try:
        return app.styleHints().colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # Qt < 6.5: judge by the default palette
        return app.palette().color(QPalette.Window).lightness() < 128


def dark_palette():
    p = QPalette()
    window, base, alt, text = QColor(32, 35, 41), QColor(24, 26, 31), QColor(40, 44, 52), QColor(222, 226, 232)
    for group in (QPalette.Active, QPalette.Inactive):
        p.setColor(group, QPalette.Window, window)
        p.setColor(group, QPalette.WindowText, text)
        p.setColor(group, QPalette.Base, base)
        p.setColor(group, QPalette.AlternateBase, alt)
        p.setColor(group, QPalette.ToolTipBase, alt)
        p.setColor(group, QPalette.ToolTipText, text)
        p.setColor(group, QPalette.Text, text)
        p.setColor(group, QPalette.Button, alt)
        p.setColor(group, QPalette.ButtonText, text)
        p.setColor(group, QPalette.BrightText, QColor(255, 90, 90))
        p.setColor(group, QPalette.Link, QColor(110, 170, 240))
        p.setColor(group, QPalette.Highlight, QColor(ACCENT))
        p.setColor(group, QPalette.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.PlaceholderText, QColor(140, 146, 156))
        p.setColor(group, QPalette.Mid, QColor(70, 76, 88))
        p.setColor(group, QPalette.Light, QColor(60, 64, 74))
        p.setColor(group, QPalette.Dark, QColor(20, 22, 26))
    dim = QColor(120, 124, 132)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, dim)
    p.setColor(QPalette.Disabled, QPalette.Window, window)
    p.setColor(QPalette.Disabled, QPalette.Base, window)
    p.setColor(QPalette.Disabled, QPalette.Button, QColor(36, 39, 46))
    return p


class AppStyle(QProxyStyle):
    """Fusion, plus a visible frame around check boxes on dark palettes: Fusion draws their outline a
    shade darker than the window, which on a dark window is nearly invisible."""

    FRAMED = (QStyle.PE_IndicatorCheckBox, QStyle.PE_IndicatorItemViewItemCheck)

    def drawPrimitive(self, element, option, painter, widget=None):
        super().drawPrimitive(element, option, painter, widget)
        if element in self.FRAMED and option.palette.color(QPalette.Window).lightness() < 128:
            painter.save()
            colour = QColor(option.palette.color(QPalette.Text))
            colour.setAlpha(170)
            painter.setPen(QPen(colour, 1))
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(option.rect.adjusted(0, 0, -1, -1), 2, 2)
            painter.restore()


def apply_theme(app, mode: str = "system") -> str:
    """Fusion style with a light or dark palette; ``mode`` 'system' follows the desktop. Returns the
    palette actually used ('light' or 'dark')."""
    if not isinstance(app.style(), AppStyle):
        app.setStyle(AppStyle("Fusion"))
    dark = system_is_dark(app) if mode not in ("light", "dark") else mode == "dark"
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    pal = app.palette()
    mid = pal.color(QPalette.Mid).name()
    hint = pal.color(QPalette.PlaceholderText).name()
    base = pal.color(QPalette.Base).name()
    app.setStyleSheet(f"""
QGroupBox {{ font-weight: 600; border: 1px solid {mid}; border-radius: 6px; margin-top: 12px;
             padding: 6px 4px 4px 4px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; }}
QPushButton {{ padding: 4px 10px; }}
QPushButton[accent="true"] {{ background: {ACCENT}; color: white; border: 1px solid #2468b4; border-radius: 4px;
                             font-weight: 600; padding: 4px 14px; }}
QPushButton[accent="true"]:hover {{ background: #3a8ae6; }}
QPushButton[accent="true"]:disabled {{ background: {mid}; color: {hint}; border-color: {mid}; }}
QLabel[role="hint"] {{ color: {hint}; }}
QLabel[role="caption"] {{ color: {hint}; font-size: 8pt; }}
QLabel[role="metric"] {{ font-size: 13pt; font-weight: 600; }}
QFrame#metricCard {{ background: {base}; border: 1px solid {mid}; border-radius: 6px; }}
QListWidget#navigation {{ font-size: 10.5pt; border: none; background: {base}; }}
QListWidget#navigation::item {{ padding: 7px 10px; }}
QListWidget#navigation::item:selected {{ background: {ACCENT}; color: white; border-radius: 4px; }}
QProgressBar {{ border: 1px solid {mid}; border-radius: 4px; text-align: center; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
""")
    return "dark" if dark else "light"
