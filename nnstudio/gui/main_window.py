"""The main window: navigation on the left, one page at a time on the right."""
from __future__ import annotations

import importlib

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QSplitter,
                               QStackedWidget)

from .context import AppContext
from .pages import PAGES


class MainWindow(QMainWindow):
    def __init__(self, settings_path: str | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("nnstudio")
        settings = (QSettings(settings_path, QSettings.IniFormat) if settings_path
                    else QSettings("nnstudio", "nnstudio"))
        self.context = AppContext(settings, parent=self)

        self.navigation = QListWidget(objectName="navigation")
        self.navigation.setAccessibleName("Pages")
        self.navigation.setMaximumWidth(220)
        self.stack = QStackedWidget(objectName="pageStack")
        self.pages = []
        for module_name, class_name in PAGES:
            cls = getattr(importlib.import_module(module_name), class_name)
            self.add_page(cls(self.context))
        self.navigation.currentRowChanged.connect(self.stack.setCurrentIndex)

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.navigation)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        self.context.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self._build_menus()
        if self.pages:
            self.navigation.setCurrentRow(0)
        self.resize(1280, 800)
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    def add_page(self, page) -> None:
        self.pages.append(page)
        self.stack.addWidget(page)
        QListWidgetItem(page.title, self.navigation)

    def page(self, object_name: str):
        """The page with this objectName (for tests and automation)."""
        for p in self.pages:
            if p.objectName() == object_name:
                return p
        raise KeyError(object_name)

    def show_page(self, object_name: str) -> None:
        self.navigation.setCurrentRow(self.pages.index(self.page(object_name)))

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close)
        self.file_menu.addAction(quit_action)
        self.view_menu = bar.addMenu("&View")
        for i, page in enumerate(self.pages):
            act = QAction(page.title, self, shortcut=QKeySequence(f"Ctrl+{i + 1}") if i < 9 else QKeySequence())
            act.triggered.connect(lambda _=False, row=i: self.navigation.setCurrentRow(row))
            self.view_menu.addAction(act)
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(QAction("&About nnstudio", self, triggered=self._about))

    def _about(self) -> None:
        from nnstudio import __version__
        QMessageBox.about(self, "About nnstudio",
                          f"<b>nnstudio {__version__}</b><p>Learn neural networks by building one, "
                          "training it and looking inside it while it learns. Every number comes from "
                          "our own NumPy engine.</p>")

    def closeEvent(self, event) -> None:
        self.context.settings.setValue("window/geometry", self.saveGeometry())
        for page in self.pages:
            shutdown = getattr(page, "shutdown", None)
            if shutdown is not None:
                shutdown()
        super().closeEvent(event)
