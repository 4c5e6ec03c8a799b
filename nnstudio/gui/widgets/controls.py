"""Small controls the pages share: spin boxes that follow the limits table, the learning-rate
control, and the metric card.

A :class:`LimitedSpinBox` / :class:`LimitedDoubleSpinBox` accepts any number typed
into it and *says* when it is outside the range in
:data:`nnstudio.core.limits.LIMITS` (a red frame, the reason as its tooltip, and
``problem_changed``); nothing is clamped behind the user's back. The page then
refuses to train until the value is fixed, with the same sentence the CLI prints.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.limits import LIMITS

_ERROR_STYLE = "border: 2px solid #d9534f; border-radius: 3px;"


class _LimitMixin:
    """What both limited spin boxes share: check the value against the table, show the result.
    (Each concrete class declares ``problem_changed = Signal(str)``: Qt signals live on QObject classes.)"""

    _qt_class = "QAbstractSpinBox"

    def _init_limit(self, name: str, tooltip: str) -> None:
        self.limit = LIMITS[name]
        # the allowed range comes from the one limits table, so the cap is never a surprise
        allowed = f"Allowed: {self.limit.describe()}."
        tooltip = f"{tooltip} {allowed}" if tooltip else allowed
        self._tooltip = tooltip
        self.setAccessibleDescription(tooltip)
        if not self.accessibleName():
            self.setAccessibleName(self.limit.label[:1].upper() + self.limit.label[1:])
        self._problem = ""
        self.setToolTip(tooltip)
        self.valueChanged.connect(self._check)

    @property
    def problem(self) -> str:
        """'' if the value is within the limits, else the sentence saying why not."""
        return self._problem

    def _narrowed(self, hint: QSize) -> QSize:
        """Size as if the range were the limit's: the wide range exists only to report, not to look wide."""
        fm = self.fontMetrics()
        lo, hi = (int(self.limit.lo), int(self.limit.hi)) if self.limit.integer else (self.limit.lo, self.limit.hi)
        widest = max(fm.horizontalAdvance(self.textFromValue(v)) for v in (lo, hi))
        extra = fm.horizontalAdvance(self.textFromValue(self.maximum())) - widest
        return QSize(hint.width() - max(0, extra), hint.height())

    def sizeHint(self) -> QSize:
        return self._narrowed(super().sizeHint())

    def minimumSizeHint(self) -> QSize:
        return self._narrowed(super().minimumSizeHint())

    def _check(self, *_args) -> None:
        problem = self.limit.problem(self.value())
        if problem == self._problem:
            return
        self._problem = problem
        self.setStyleSheet(f"{self._qt_class} {{ {_ERROR_STYLE} }}" if problem else "")
        self.setToolTip(f"<b>{problem}</b><br>{self._tooltip}" if problem else self._tooltip)
        self.problem_changed.emit(problem)


class LimitedSpinBox(_LimitMixin, QSpinBox):
    """A whole-number spin box for hyperparameter ``name`` (e.g. "batch_size")."""

    problem_changed = Signal(str)
    _qt_class = "QSpinBox"

    def __init__(self, name: str, value: int, tooltip: str = "", parent=None, **kwargs):
        super().__init__(parent, **kwargs)
        limit = LIMITS[name]
        # Wider than the limits: an out-of-range number stays as typed and is reported, not clamped.
        self.setRange(min(0, int(limit.lo)), 2**31 - 1)
        self.setValue(int(value))
        self._init_limit(name, tooltip)


class LimitedDoubleSpinBox(_LimitMixin, QDoubleSpinBox):
    """A spin box for a real-valued hyperparameter ``name`` (e.g. "lr"), shown with its significant digits."""

    problem_changed = Signal(str)
    _qt_class = "QDoubleSpinBox"

    def __init__(self, name: str, value: float, tooltip: str = "", step: float = 0.01, parent=None, **kwargs):
        super().__init__(parent, **kwargs)
        limit = LIMITS[name]
        self.setDecimals(9)  # stores 1e-6 and below exactly enough; shown compactly
        self.setRange(min(0.0, float(limit.lo)), 1e12)
        self.setSingleStep(step)
        self.setValue(float(value))
        self._init_limit(name, tooltip)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip().replace(",", ""))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        t = text.strip().replace(",", "")
        try:
            float(t)
            return QValidator.Acceptable, text, pos
        except ValueError:
            partial = t in ("", "-", ".", "-.") or t.lower().endswith(("e", "e-", "e+"))
            return (QValidator.Intermediate if partial else QValidator.Invalid), text, pos


class LogSlider(QWidget):
    """A learning-rate control: a log-scale slider (``lo``..``hi``) next to an exact, limited spin box.

    The spin box takes any rate the limits table allows (and reports the ones it does not);
    the slider covers the useful range and stays at its end for rates beyond it.
    """

    valueChanged = Signal(float)
    problem_changed = Signal(str)

    def __init__(self, value: float, lo: float = 1e-5, hi: float = 1.0, parent=None):
        super().__init__(parent)
        self.lo, self.hi = lo, hi
        self.slider = QSlider(Qt.Horizontal, objectName="lrSlider")
        self.slider.setRange(0, 200)
        self.spin = LimitedDoubleSpinBox(
            "lr",
            value,
            "Learning rate: how big a step each update takes (the slider is logarithmic)",
            step=0.0001,
            objectName="lrSpin",
        )
        self.spin.setKeyboardTracking(False)
        self.spin.setAccessibleName("Learning rate")
        self.slider.setAccessibleName("Learning rate (logarithmic slider)")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self._sync = False
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)
        self.spin.problem_changed.connect(self.problem_changed)
        self.setValue(value)

    @property
    def problem(self) -> str:
        return self.spin.problem

    def _to_pos(self, v: float) -> int:
        v = min(max(v, self.lo), self.hi)
        return int(round(200 * (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))))

    def _from_slider(self, pos: int) -> None:
        if self._sync:
            return
        v = 10 ** (math.log10(self.lo) + pos / 200 * (math.log10(self.hi) - math.log10(self.lo)))
        digits = max(0, -int(math.floor(math.log10(v))) + 1)
        self._sync = True
        self.spin.setValue(round(v, digits))
        self._sync = False
        self.valueChanged.emit(self.spin.value())

    def _from_spin(self, v: float) -> None:
        if self._sync:
            return
        self._sync = True
        if v > 0:
            self.slider.setValue(self._to_pos(v))
        self._sync = False
        self.valueChanged.emit(v)

    def value(self) -> float:
        return self.spin.value()

    def setValue(self, v: float) -> None:
        self.spin.setValue(float(v))
        self._sync = True
        if v > 0:
            self.slider.setValue(self._to_pos(float(v)))
        self._sync = False


class MetricCard(QFrame):
    """A small labelled number (epoch, loss, accuracy...)."""

    def __init__(self, caption: str, tooltip: str = ""):
        super().__init__()
        self.setObjectName("metricCard")
        self.setFrameShape(QFrame.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 3, 8, 3)
        lay.setSpacing(0)
        self.caption = QLabel(caption)
        self.caption.setProperty("role", "caption")
        self.value = QLabel("–")
        self.value.setProperty("role", "metric")
        self.value.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # a long number never widens the window
        lay.addWidget(self.caption)
        lay.addWidget(self.value)
        self.setToolTip(tooltip)
        self.setAccessibleName(caption)
        self._base_size: float | None = None
        self._fitted: float | None = None

    def set(self, text: str) -> None:
        self.value.setText(text)
        self.setAccessibleDescription(f"{self.caption.text()}: {text}")
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Shrink the number's font until it fits the card: a cut-off last digit reads as another number.
        (The theme's style sheet sets the size, so the smaller one goes in a style sheet too.)"""
        self.value.ensurePolished()
        if self._base_size is None:
            self._base_size = self.value.font().pointSizeF()
        font = QFont(self.value.font())
        width = max(1, self.value.contentsRect().width())
        size = self._base_size
        font.setPointSizeF(size)
        while size > 6 and QFontMetrics(font).horizontalAdvance(self.value.text()) > width:
            size -= 0.5
            font.setPointSizeF(size)
        if size != self._fitted:
            self._fitted = size
            self.value.setStyleSheet("" if size == self._base_size else f"font-size: {size}pt;")


def set_play_state(button, playing: bool, play_text: str = "Play", pause_text: str = "Pause") -> None:
    """A play/pause button's look: the style's own media icons (no font has to carry ⏸) and a word."""
    icon = QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay
    button.setIcon(button.style().standardIcon(icon))
    button.setText(pause_text if playing else play_text)


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when it is too narrow; ``text()`` and the tooltip keep the whole text."""

    def __init__(self, text: str = "", parent=None, **kwargs):
        super().__init__(parent, **kwargs)
        self._full = ""
        self.setTextFormat(Qt.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self.setAccessibleName(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What is actually drawn (the text, or its elided form)."""
        return super().text()

    def minimumSizeHint(self) -> QSize:
        return QSize(40, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 8, super().sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.FontChange:
            self._elide()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        super().setText(self.fontMetrics().elidedText(self._full, Qt.ElideRight, width))


def chain_tab_order(after: QWidget, widgets) -> None:
    """Put ``widgets`` in the Tab order right after ``after``, in the order given (rows added later
    would otherwise come last, after everything else on the page)."""
    previous = after
    for w in widgets:
        if w is None:
            continue
        QWidget.setTabOrder(previous, w)
        previous = w
