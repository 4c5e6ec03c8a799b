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


@pytest.fixture
def make_page(qtbot, tmp_path):
    """Build one page on its own (no main window), shown at ``size``, with throwaway settings."""
    from PySide6.QtCore import QSettings

    from nnstudio.gui.context import AppContext

    def make(page_class, size=(1280, 800)):
        page = page_class(AppContext(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)))
        qtbot.addWidget(page)
        page.resize(*size)
        page.show()
        qtbot.waitExposed(page)
        return page

    return make


@pytest.fixture
def studio(main_window, mnist, qtbot):
    """The Build & Train page, shown, with MNIST loaded and a network built."""
    page = main_window.page("studioPage")
    main_window.show_page("studioPage")
    qtbot.waitUntil(lambda: page.net is not None, timeout=20000)
    yield page
    page.worker.stop(wait=10)
    page.dirty_set(False)
