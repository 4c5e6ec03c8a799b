"""What the main window remembers between runs besides its geometry: the page that was open, and on
every page the splitter sizes and the selected tabs.

Settings keys are per page, by the page's objectName (``pages/studioPage/splitter0``), and per
widget by its objectName when it has one, else by its kind and position on the page. A page whose
layout changed since (another number of panes or tabs) keeps its defaults for the widgets that no
longer match.

Splitter sizes only mean something once a page is laid out at its real size, so a page's splitters
are restored when it is first shown (outer splitters before the ones inside them), and a page never
shown in a session keeps the sizes saved by the session before.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QSplitter, QTabWidget, QWidget


def _keyed(widget: QWidget, kind: type, prefix: str) -> list[tuple[str, QWidget]]:
    children = widget.findChildren(kind)
    names = [c.objectName() for c in children]
    keyed = []
    for i, child in enumerate(children):
        name = child.objectName()
        key = name if name and names.count(name) == 1 else f"{kind.__name__[1:].lower()}{i}"
        keyed.append((f"{prefix}/{key}", child))
    return keyed


def _depth(widget: QWidget) -> int:
    depth = 0
    while widget.parentWidget() is not None:
        widget, depth = widget.parentWidget(), depth + 1
    return depth


def _sizes(value) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        return None


def _restore_splitter(settings: QSettings, key: str, split: QSplitter) -> None:
    sizes = _sizes(settings.value(key))
    if sizes and len(sizes) == split.count() and sum(sizes) > 0:
        split.setSizes(sizes)


class WindowState(QObject):
    """Saves and restores the open page, the window's own splitter and every page's splitters and tabs."""

    def __init__(self, settings: QSettings, pages: list[QWidget], splitter: QSplitter, parent=None):
        super().__init__(parent)
        self.settings, self.pages, self.splitter = settings, pages, splitter
        self._waiting = set()  # pages whose splitters are restored when they are first shown
        for page in pages:
            self._waiting.add(page)
            page.installEventFilter(self)

    def restore(self) -> str | None:
        """Put back the window's splitter and every page's tab indexes; return the objectName of
        the page that was open (None if none was saved or it no longer exists)."""
        _restore_splitter(self.settings, "window/splitter", self.splitter)
        for page in self.pages:
            for key, tab in _keyed(page, QTabWidget, f"pages/{page.objectName()}"):
                try:
                    index = int(self.settings.value(key, -1))
                except (TypeError, ValueError):
                    continue
                if 0 <= index < tab.count():
                    tab.setCurrentIndex(index)
        name = self.settings.value("window/page")
        return str(name) if name and any(p.objectName() == name for p in self.pages) else None

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Show and watched in self._waiting:
            self._waiting.discard(watched)
            splitters = _keyed(watched, QSplitter, f"pages/{watched.objectName()}")
            for key, split in sorted(splitters, key=lambda item: _depth(item[1])):
                _restore_splitter(self.settings, key, split)
        return False

    def save(self, current: QWidget | None) -> None:
        if current is not None:
            self.settings.setValue("window/page", current.objectName())
        self.settings.setValue("window/splitter", [int(s) for s in self.splitter.sizes()])
        for page in self.pages:
            prefix = f"pages/{page.objectName()}"
            for key, tab in _keyed(page, QTabWidget, prefix):
                self.settings.setValue(key, tab.currentIndex())
            if page not in self._waiting:  # laid out this session: its sizes are real
                for key, split in _keyed(page, QSplitter, prefix):
                    self.settings.setValue(key, [int(s) for s in split.sizes()])
