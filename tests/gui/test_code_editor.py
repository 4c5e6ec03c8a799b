"""The code editor: Python colours in both themes, line numbers, four-space indents, undo, autosave."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from nnstudio.gui.widgets.code_editor import CodeEditor


def _colour_at(editor, line, column):
    block = editor.document().findBlockByNumber(line)
    for r in block.layout().formats():
        if r.start <= column < r.start + r.length:
            return r.format.foreground().color().name()
    return None


def test_keywords_strings_and_comments_get_colours(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText('def f(x):\n    return "text"  # note\n')
    keyword, name = _colour_at(editor, 0, 0), _colour_at(editor, 0, 4)
    string, comment = _colour_at(editor, 1, 12), _colour_at(editor, 1, 21)
    assert None not in (keyword, name, string, comment)
    assert len({keyword, name, string, comment}) == 4
    assert _colour_at(editor, 1, 14) == string  # a word inside a string is string-coloured


def test_colours_follow_the_theme(qtbot):
    from PySide6.QtWidgets import QApplication

    from nnstudio.gui.theme import apply_theme

    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText("def f():\n    pass\n")
    app = QApplication.instance()
    try:
        apply_theme(app, "light")
        qtbot.wait(10)
        light = _colour_at(editor, 0, 0)
        apply_theme(app, "dark")
        qtbot.wait(10)
        dark = _colour_at(editor, 0, 0)
    finally:
        apply_theme(app, "light")
    assert light != dark


def test_tab_enter_and_undo(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.setPlainText("")
    qtbot.keyClicks(editor, "def f(x):")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.keyClicks(editor, "return x")
    assert editor.toPlainText() == "def f(x):\n    return x"
    editor.moveCursor(QTextCursor.Start)
    qtbot.keyClick(editor, Qt.Key_Tab)
    assert editor.toPlainText().startswith("    def f(x):")
    editor.undo()
    assert editor.toPlainText() == "def f(x):\n    return x"


def test_line_numbers_make_room_for_more_digits(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText("x\n" * 5)
    narrow = editor.gutter_width()
    editor.setPlainText("x\n" * 12000)
    assert editor.gutter_width() > narrow


def test_autosave_waits_for_a_pause_and_flush_saves_at_once(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    saved = []
    editor.set_saver(saved.append)
    editor.load("a = 1\n")  # loading a file is not a change to save
    editor.insertPlainText("b = 2\n")
    editor.insertPlainText("c = 3\n")
    assert saved == []
    qtbot.waitUntil(lambda: len(saved) == 1, timeout=3000)
    assert saved[0] == editor.toPlainText()
    editor.insertPlainText("d = 4\n")
    editor.flush()
    assert len(saved) == 2 and "d = 4" in saved[-1]
    editor.flush()
    assert len(saved) == 2  # nothing new: nothing written
