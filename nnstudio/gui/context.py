"""State shared between pages: the current model, the data setting, app settings.

Pages receive one :class:`AppContext`; they read from it and announce changes
through its signals, so pages never import each other.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QSettings, Signal

from nnstudio.core.nn import Sequential


class AppContext(QObject):
    """Shared app state.

    ``model`` is the network the studio is training (or None); ``model_changed``
    fires when a new one is built, loaded or finishes an epoch. ``data_dir`` is
    the dataset folder setting (``--data-dir`` / ``NNSTUDIO_DATA_DIR``).
    """

    model_changed = Signal(object)  # Sequential | None
    status = Signal(str)  # a message for the status bar
    drawing_changed = Signal(object)  # the Draw page's current 784-value input, or None

    def __init__(self, settings: QSettings, data_dir: str | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.data_dir = data_dir or os.environ.get("NNSTUDIO_DATA_DIR") or settings.value("data/dir", None)
        self.model: Sequential | None = None
        self.model_dataset: str | None = None
        self.drawing = None
        self.drawing_guess: int | None = None

    def set_drawing(self, inputs, guess: int | None = None) -> None:
        """The Draw page's current drawing as the network sees it (784 values), so other pages can use it."""
        self.drawing = None if inputs is None else inputs.copy()
        self.drawing_guess = guess
        self.drawing_changed.emit(self.drawing)

    def set_model(self, model: Sequential | None, dataset: str | None = None) -> None:
        self.model = model
        self.model_dataset = dataset
        self.model_changed.emit(model)

    def show_status(self, text: str) -> None:
        self.status.emit(text)
