"""Application start-up: QApplication, theme, the main window and the event loop."""
from __future__ import annotations

import sys


def make_app(argv=None):
    """Return the running QApplication, creating it (and pyqtgraph's options) if needed."""
    from PySide6.QtWidgets import QApplication

    import nnstudio.gui  # noqa: F401  (sets pyqtgraph options)

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
        app.setApplicationName("nnstudio")
        app.setOrganizationName("nnstudio")
        app.setApplicationDisplayName("nnstudio")
    return app


def run(argv=None) -> int:
    app = make_app(argv)
    from . import create_main_window
    window = create_main_window()
    window.show()
    return app.exec()
