"""GUI fixtures: a main window with throwaway settings, closed after the test."""
import pytest


@pytest.fixture
def main_window(qtbot, tmp_path):
    from nnstudio.gui import create_main_window
    window = create_main_window(settings_path=str(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
