from PySide6.QtGui import QImage, QPainter, QPainterPath


def test_main_window_builds_with_pages_and_navigation(main_window):
    assert main_window.objectName() == "mainWindow"
    nav = main_window.navigation
    assert nav.count() == len(main_window.pages)
    for row, page in enumerate(main_window.pages):
        nav.setCurrentRow(row)
        assert main_window.stack.currentWidget() is page
        assert page.objectName(), "every page needs an objectName for automation"


def test_many_void_qt_calls_do_not_crash():
    """PySide6 6.12.0 on CPython 3.11 crashes ('none_dealloc') after a few thousand calls of
    methods returning None; pyproject keeps that version away. This exercises exactly that."""
    image = QImage(64, 64, QImage.Format_ARGB32)
    painter = QPainter(image)
    path = QPainterPath()
    for i in range(20000):
        painter.setRenderHint(QPainter.Antialiasing, i % 2 == 0)
        path.lineTo(i % 64, (i * 7) % 64)
    painter.drawPath(path)
    painter.end()
    assert path.elementCount() == 20000
