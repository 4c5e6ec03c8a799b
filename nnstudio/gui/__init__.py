"""The desktop app (PySide6 + pyqtgraph): thin views over ``nnstudio.core`` objects."""


def create_main_window(settings_path=None):
    """Build the main window (without starting the event loop); a QApplication must exist."""
    from .main_window import MainWindow
    from .theme import configure_pyqtgraph

    configure_pyqtgraph()
    return MainWindow(settings_path=settings_path)
