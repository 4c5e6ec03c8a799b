"""Application start-up: the QApplication, the main window and the event loop."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from .main_window import MainWindow
from .theme import configure_pyqtgraph


def make_app(argv=None) -> QApplication:
    """Return the running QApplication, creating it (and pyqtgraph's options) if needed."""
    configure_pyqtgraph()
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
        app.setApplicationName("nnstudio")
        app.setOrganizationName("nnstudio")
        app.setApplicationDisplayName("nnstudio")
    return app


def run(argv=None) -> int:
    app = make_app(argv)
    window = MainWindow()
    window.show()
    return app.exec()
