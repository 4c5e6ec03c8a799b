"""The desktop app (PySide6 + pyqtgraph). Thin views over ``nnstudio.core`` objects."""
import pyqtgraph as pg

# One place for pyqtgraph's global options: images are (row, col) like NumPy.
pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")


def create_main_window(settings_path=None):
    """Build the main window (without starting the event loop); a QApplication must exist."""
    from .main_window import MainWindow
    return MainWindow(settings_path=settings_path)
