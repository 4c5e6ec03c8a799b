"""Application start-up: the QApplication, the main window and the event loop."""

from __future__ import annotations

import sys

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from nnstudio import __version__

from .app_icon import app_icon
from .main_window import MainWindow
from .theme import configure_pyqtgraph

#: The application's id: the name of its .desktop file and AppStream metadata in resources/.
APP_ID = "io.github.nnstudio.nnstudio"


def make_app(argv=None) -> QApplication:
    """Return the running QApplication, creating it (and pyqtgraph's options) if needed."""
    configure_pyqtgraph()
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
        app.setApplicationName("nnstudio")
        app.setOrganizationName("nnstudio")
        app.setApplicationDisplayName("nnstudio")
        app.setApplicationVersion(__version__)
        app.setWindowIcon(app_icon())
        # Lets Wayland and the desktop match the window to resources/<APP_ID>.desktop (name, icon).
        QGuiApplication.setDesktopFileName(APP_ID)
    return app


def run(argv=None) -> int:
    app = make_app(argv)
    window = MainWindow()
    window.show()
    return app.exec()
