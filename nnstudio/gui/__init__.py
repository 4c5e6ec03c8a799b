"""The desktop app (PySide6 + pyqtgraph): thin views over ``nnstudio.core`` objects."""

from .theme import configure_pyqtgraph

# pyqtgraph's global options hold for every view, however it is built (the main window, a page on its
# own in a test or a benchmark): images are (row, col), like NumPy.
configure_pyqtgraph()


def create_main_window(settings_path=None):
    """Build the main window (without starting the event loop); a QApplication must exist."""
    from .main_window import MainWindow

    return MainWindow(settings_path=settings_path)
