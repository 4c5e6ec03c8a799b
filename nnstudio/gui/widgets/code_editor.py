"""A small Python code editor: line numbers, syntax colours, undo/redo, four-space indents, autosave.

``CodeEditor`` is a QPlainTextEdit (so undo/redo, selection and the clipboard are Qt's own) with a
line-number gutter (Qt's "Code Editor" example) and :class:`PythonHighlighter`. ``set_saver(fn)``
makes it call ``fn(text)`` half a second after the last change (and at once on :meth:`flush`),
which the Exercises page uses to keep the learner's file in the per-user folder.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QRect, QRegularExpression, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QPainter,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QTextEdit, QWidget

AUTOSAVE_MS = 500
INDENT = "    "

# (light, dark) colours for each kind of token
COLOURS = {
    "keyword": ("#7a3e9d", "#c792ea"),
    "builtin": ("#1f6fb2", "#82aaff"),
    "string": ("#2e7d32", "#c3e88d"),
    "comment": ("#7c7c7c", "#8a93a6"),
    "number": ("#b35c00", "#f78c6c"),
    "definition": ("#0b5cad", "#ffcb6b"),
    "self": ("#a0456e", "#f07178"),
}
BUILTINS = (
    "abs all any bool dict enumerate float int isinstance len list max min print range repr "
    "reversed round set sorted str sum super tuple type zip NotImplementedError ValueError"
).split()


def _is_dark() -> bool:
    app = QApplication.instance()
    return app is not None and app.palette().color(QPalette.Base).lightness() < 128


class PythonHighlighter(QSyntaxHighlighter):
    """Colours Python: keywords, builtins, numbers, names after def/class, self, strings, comments."""

    def __init__(self, document):
        super().__init__(document)
        self.restyle()

    def restyle(self) -> None:
        dark = _is_dark()
        fmt = {}
        for kind, (light, dk) in COLOURS.items():
            f = QTextCharFormat()
            f.setForeground(QColor(dk if dark else light))
            if kind in ("keyword", "definition"):
                f.setFontWeight(QFont.Bold)
            if kind == "comment":
                f.setFontItalic(True)
            fmt[kind] = f
        words = "|".join(keyword.kwlist)
        self.rules = [
            (QRegularExpression(rf"\b({words})\b"), fmt["keyword"], 0),
            (QRegularExpression(rf"\b({'|'.join(BUILTINS)})\b"), fmt["builtin"], 0),
            (QRegularExpression(r"\bself\b"), fmt["self"], 0),
            (QRegularExpression(r"\b[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\b"), fmt["number"], 0),
            (QRegularExpression(r"\b(?:def|class)\s+(\w+)"), fmt["definition"], 1),
        ]
        self.string_format = fmt["string"]
        self.comment_format = fmt["comment"]
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for pattern, f, group in self.rules:
            it = pattern.globalMatch(text)
            while it.hasNext():
                m = it.next()
                self.setFormat(m.capturedStart(group), m.capturedLength(group), f)
        # Strings and comments last (they win over the words inside them); triple quotes across lines.
        self.setCurrentBlockState(0)
        start = 0
        if self.previousBlockState() == 1:
            end = text.find('"""')
            if end < 0:
                self.setFormat(0, len(text), self.string_format)
                self.setCurrentBlockState(1)
                return
            self.setFormat(0, end + 3, self.string_format)
            start = end + 3
        i = start
        while i < len(text):
            ch = text[i]
            if ch == "#":
                self.setFormat(i, len(text) - i, self.comment_format)
                return
            if text.startswith('"""', i) or text.startswith("'''", i):
                quote = text[i : i + 3]
                end = text.find(quote, i + 3)
                if end < 0:
                    self.setFormat(i, len(text) - i, self.string_format)
                    self.setCurrentBlockState(1 if quote == '"""' else 0)
                    return
                self.setFormat(i, end + 3 - i, self.string_format)
                i = end + 3
                continue
            if ch in "\"'":
                m = re.match(rf"{ch}(\\.|[^{ch}\\])*{ch}?", text[i:])
                length = m.end() if m else 1
                self.setFormat(i, length, self.string_format)
                i += length
                continue
            i += 1


class _Gutter(QWidget):
    def __init__(self, editor: CodeEditor):
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event) -> None:
        self.editor.paint_gutter(event)


class CodeEditor(QPlainTextEdit):
    """A plain-text editor for Python with line numbers, colours and autosave."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("codeEditor")
        self.setAccessibleName("Code editor")
        font = QFontDatabase.systemFont(QFontDatabase.FixedFont)
        font.setPointSize(max(10, font.pointSize()))
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        self.gutter = _Gutter(self)
        self.highlighter = PythonHighlighter(self.document())
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._highlight_line)
        self._update_gutter_width()
        self._highlight_line()
        self._saver: Callable[[str], None] | None = None
        self._save_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_MS)
        self._save_timer.timeout.connect(self.flush)
        self._loading = False
        self._dirty = False
        self.textChanged.connect(self._changed)

    # -- content and autosave ------------------------------------------------------------------
    def set_saver(self, saver: Callable[[str], None] | None) -> None:
        """Call ``saver(text)`` shortly after each change (None: stop saving)."""
        self.flush()
        self._saver = saver

    def load(self, text: str) -> None:
        """Show ``text`` as a fresh document (no undo back into the previous file, nothing saved)."""
        self._loading = True
        try:
            self.setPlainText(text)
        finally:
            self._loading = False
        self._save_timer.stop()
        self._dirty = False

    def replace_all(self, text: str) -> None:
        """Replace the whole text as one step that Undo (Ctrl+Z) takes back."""
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        cursor.select(QTextCursor.Document)
        cursor.insertText(text)
        cursor.endEditBlock()

    def _changed(self) -> None:
        if not self._loading and self._saver is not None:
            self._dirty = True
            self._save_timer.start()

    def flush(self) -> None:
        """Save now if a change is waiting."""
        self._save_timer.stop()
        if self._dirty and self._saver is not None:
            self._dirty = False
            self._saver(self.toPlainText())

    def changeEvent(self, event) -> None:
        # a new theme: colours that read on the new background
        if event.type() in (QEvent.PaletteChange, QEvent.StyleChange):
            self.highlighter.restyle()
            self._highlight_line()
        super().changeEvent(event)

    # -- typing -----------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key_Tab and not event.modifiers():
            self.insertPlainText(INDENT)
            return
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and not event.modifiers():
            line = self.textCursor().block().text()[: self.textCursor().positionInBlock()]
            indent = line[: len(line) - len(line.lstrip(" "))]
            if line.rstrip().endswith(":"):
                indent += INDENT
            super().keyPressEvent(event)
            self.insertPlainText(indent)
            return
        super().keyPressEvent(event)

    # -- the gutter ---------------------------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount()))))
        return 10 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_gutter_width(self, *_) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect, dy) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_gutter_width()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event) -> None:
        painter = QPainter(self.gutter)
        pal = self.palette()
        painter.fillRect(event.rect(), pal.color(QPalette.AlternateBase))
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        current = self.textCursor().blockNumber()
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                colour = pal.color(QPalette.Text) if number == current else pal.color(QPalette.PlaceholderText)
                painter.setPen(colour)
                painter.drawText(0, top, self.gutter.width() - 5, height, Qt.AlignRight, str(number + 1))
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()

    def _highlight_line(self) -> None:
        selection = QTextEdit.ExtraSelection()
        colour = QColor(self.palette().color(QPalette.Highlight))
        colour.setAlpha(28)
        selection.format.setBackground(colour)
        selection.format.setProperty(QTextFormat.FullWidthSelection, True)
        selection.cursor = self.textCursor()
        selection.cursor.clearSelection()
        self.setExtraSelections([selection])

    def go_to_line(self, line: int) -> None:
        """Put the cursor at the start of ``line`` (1-based) and show it."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        if block.isValid():
            cursor = QTextCursor(block)
            self.setTextCursor(cursor)
            self.centerCursor()
            self.setFocus()
