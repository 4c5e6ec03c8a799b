"""The main window: navigation on the left, one page at a time on the right.

Menus: File (New, Open, Open Recent, Save, Save As, Export, Recover Autosaved Run, Quit), View (pages,
theme, full screen), Train (the studio's run controls), Help (shortcuts, about). Geometry,
the open page, splitter sizes and tabs (window_state.py), theme and recent files persist in QSettings;
the studio keeps its own architecture and settings there too.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
)

from .about import AboutDialog
from .app_icon import app_icon
from .context import AppContext
from .pages import PAGES
from .theme import THEMES, apply_theme
from .widgets.accessibility import name_controls
from .widgets.export_dialog import ExportDialog
from .widgets.training_charts import restyle_plots
from .window_state import WindowState

MAX_RECENT = 8


class MainWindow(QMainWindow):
    #: Ask "save changes?" when closing with an unsaved trained model (tests turn this off).
    ask_before_close = True

    def __init__(self, settings_path: str | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("nnstudio")
        self.setWindowIcon(app_icon())
        settings = QSettings(settings_path, QSettings.IniFormat) if settings_path else QSettings("nnstudio", "nnstudio")
        self.context = AppContext(settings, parent=self)
        self.theme = str(settings.value("view/theme", "system"))
        if QApplication.instance() is not None:
            apply_theme(QApplication.instance(), self.theme)

        self.navigation = QListWidget(objectName="navigation")
        self.navigation.setAccessibleName("Pages")
        self.navigation.setMaximumWidth(200)
        self.navigation.setMinimumWidth(150)
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
        splitter.setCollapsible(1, False)
        splitter.setSizes([165, 1115])
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        self.context.status.connect(lambda text: self.statusBar().showMessage(text, 8000))

        self.studio = self._find_page("studioPage")
        if self.studio is not None:
            self.studio.dirty_changed.connect(lambda _: self._update_title())
            self.studio.path_changed.connect(self._path_changed)
        runs = self._find_page("runsPage")
        if runs is not None and self.studio is not None:
            runs.attach_studio(self.studio)  # train again, open a run's model, the tips' pairs of runs
        self._build_menus()
        if self.pages:
            self.navigation.setCurrentRow(0)
        self.resize(1280, 800)
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.window_state = WindowState(settings, self.pages, self.splitter, parent=self)
        page = self.window_state.restore()
        if page is not None:
            self.show_page(page)
        self._update_title()
        self._mention_autosave()
        restyle_plots(self)  # every chart in the palette the window opened with

    def add_page(self, page) -> None:
        name_controls(page)
        self.pages.append(page)
        self.stack.addWidget(page)
        QListWidgetItem(page.title, self.navigation)

    def page(self, object_name: str):
        """The page with this objectName (for tests and automation)."""
        for p in self.pages:
            if p.objectName() == object_name:
                return p
        raise KeyError(object_name)

    def _find_page(self, object_name: str):
        try:
            return self.page(object_name)
        except KeyError:
            return None

    def show_page(self, object_name: str) -> None:
        self.navigation.setCurrentRow(self.pages.index(self.page(object_name)))

    # -- menus ------------------------------------------------------------------------
    def _action(self, text, slot, shortcut=None, menu=None, fallback=None):
        """A menu action; a standard key takes the platform's own bindings, or ``fallback`` where the
        platform defines none (Quit on Windows and offscreen, Full Screen on plain X11)."""
        act = QAction(text, self)
        if isinstance(shortcut, QKeySequence.StandardKey):
            keys = QKeySequence.keyBindings(shortcut)
            act.setShortcuts(keys or ([QKeySequence(fallback)] if fallback else []))
        elif shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        if menu is not None:
            menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        studio = self.studio is not None
        self.new_action = self._action("&New Model", self.new_model, QKeySequence.New, self.file_menu)
        self.open_action = self._action("&Open…", self.open_model, QKeySequence.Open, self.file_menu)
        self.recent_menu = self.file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)  # files deleted meanwhile disappear
        self.save_action = self._action("&Save", self.save_model, QKeySequence.Save, self.file_menu)
        self.save_as_action = self._action("Save &As…", self.save_model_as, QKeySequence.SaveAs, self.file_menu)
        self.export_action = self._action("&Export…", self.export_model, QKeySequence("Ctrl+E"), self.file_menu)
        self.recover_action = self._action("Recover &Autosaved Run", self.recover_autosave, None, self.file_menu)
        for a in (self.new_action, self.open_action, self.save_action, self.save_as_action, self.recover_action):
            a.setEnabled(studio)
        self.recent_menu.setEnabled(studio)
        self.export_action.setEnabled(studio)
        self.file_menu.addSeparator()
        self.quit_action = self._action("&Quit", self.close, QKeySequence.Quit, self.file_menu, fallback="Ctrl+Q")
        self._rebuild_recent_menu()

        if self.studio is not None:
            self.edit_menu = bar.addMenu("&Edit")
            self.undo_action = self.studio.undo_stack.createUndoAction(self, "&Undo")
            self.undo_action.setShortcut(QKeySequence.Undo)
            self.redo_action = self.studio.undo_stack.createRedoAction(self, "&Redo")
            self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.Redo])
            self.edit_menu.addActions([self.undo_action, self.redo_action])
        self.view_menu = bar.addMenu("&View")
        for i, page in enumerate(self.pages):
            # "&" in a title ("Build & Train") is a mnemonic marker unless doubled
            shortcut = QKeySequence(f"Ctrl+{i + 1}") if i < 9 else QKeySequence()
            act = QAction(page.title.replace("&", "&&"), self, shortcut=shortcut)
            act.triggered.connect(lambda _=False, row=i: self.navigation.setCurrentRow(row))
            self.view_menu.addAction(act)
        self.view_menu.addSeparator()
        theme_menu = self.view_menu.addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions = {}
        for name in THEMES:
            act = QAction(
                {"system": "Follow the &System", "light": "&Light", "dark": "&Dark"}[name], self, checkable=True
            )
            act.setChecked(name == self.theme)
            act.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            group.addAction(act)
            theme_menu.addAction(act)
            self.theme_actions[name] = act
        self.full_screen_action = self._action(
            "&Full Screen", self._toggle_full_screen, QKeySequence.FullScreen, self.view_menu, fallback="F11"
        )

        if self.studio is not None:
            self.train_menu = bar.addMenu("&Train")
            for act in self.studio.menu_actions:
                self.train_menu.addAction(act)

        self.help_menu = bar.addMenu("&Help")
        self._action("&Keyboard Shortcuts", self._shortcuts, QKeySequence.HelpContents, self.help_menu, fallback="F1")
        self.about_action = self._action("&About nnstudio", self._about, None, self.help_menu)

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def set_theme(self, name: str) -> None:
        self.theme = name
        self.context.settings.setValue("view/theme", name)
        apply_theme(QApplication.instance(), name)
        restyle_plots(self)

    def _shortcuts(self) -> None:
        def keys(*actions):  # the keys the menu actions really have on this platform
            return " / ".join(a.shortcut().toString(QKeySequence.NativeText) for a in actions)

        rows = [
            (keys(self.new_action), "New model (default architecture)"),
            (keys(self.open_action), "Open a model"),
            (keys(self.save_action, self.save_as_action), "Save / Save as"),
            (keys(self.export_action), "Export (ONNX, safetensors, PyTorch code)"),
            ("F5", "Train (or resume)"),
            ("F6", "Pause / resume"),
            ("F7", "Train one batch (step)"),
            ("Shift+F5", "Stop"),
            ("Ctrl+R", "Reset the weights from the seed"),
            ("Ctrl+1 … Ctrl+9", "Go to page 1 … 9"),
            (keys(self.full_screen_action), "Full screen"),
            (keys(self.quit_action), "Quit"),
        ]
        table = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in rows)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{table}</table>")

    def _about(self) -> None:
        AboutDialog(self).exec()

    # -- files --------------------------------------------------------------------------
    def _update_title(self) -> None:
        name = "untitled"
        dirty = False
        if self.studio is not None:
            name = Path(self.studio.path).name if self.studio.path else "untitled"
            dirty = self.studio.dirty
        self.setWindowTitle(f"{name}{' •' if dirty else ''} — nnstudio")

    def _path_changed(self, path) -> None:
        if path:
            self._add_recent(str(path))
        self._update_title()

    def recent_files(self) -> list[str]:
        """The recently used model files that still exist (the others are dropped from the list)."""
        value = self.context.settings.value("recent/files", [])
        if isinstance(value, str):
            value = [value]
        files = [str(v) for v in (value or [])]
        existing = [f for f in files if Path(f).exists()]
        if existing != files:
            self.context.settings.setValue("recent/files", existing)
        return existing

    def _add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [p for p in self.recent_files() if p != path]
        files.insert(0, path)
        self.context.settings.setValue("recent/files", files[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for path in files:
            act = QAction(Path(path).name, self)
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda _=False, p=path: self.open_model(p))
            self.recent_menu.addAction(act)
        if not files:
            none = QAction("(no recent models)", self)
            none.setEnabled(False)
            self.recent_menu.addAction(none)

    def _confirm_discard(self, what: str = "Closing") -> bool:
        """True if it is fine to throw away the current trained model (the studio asks Save / Discard / Cancel)."""
        if self.studio is None or not self.studio.dirty or not self.ask_before_close:
            return True
        return self.studio.confirm_discard(what)

    def new_model(self) -> None:
        if self.studio is not None and self._confirm_discard("A new model"):
            self.show_page("studioPage")
            self.studio.new_model()

    def open_model(self, path: str | None = None) -> bool:
        if self.studio is None or not self._confirm_discard("Opening another model"):
            return False
        path = path or self.studio.choose_open_path()
        if not path:
            return False
        self.show_page("studioPage")
        if not Path(path).exists():
            self.studio.show_message(f"Could not open the model: {path} does not exist.", error=True)
            return False
        return self.studio.open_model(path)

    def save_model(self) -> bool:
        if self.studio is None:
            return False
        if not self.studio.path:
            return self.save_model_as()
        return self.studio.save_model(self.studio.path)

    def save_model_as(self) -> bool:
        if self.studio is None:
            return False
        path = self.studio.choose_save_path()
        return bool(path) and self.studio.save_model(path)

    def export_model(self) -> bool:
        """File ▸ Export…: the studio's network as ONNX, safetensors or PyTorch code."""
        if self.studio is None or self.studio.net is None:
            self.context.show_status("There is no network to export yet.")
            return False
        where = Path(self.studio.path) if self.studio.path else Path.home() / "model"
        dialog = ExportDialog(self.studio.net, where.parent, where.stem, parent=self)
        self.export_dialog = dialog  # tests and automation reach the open dialog here
        if not dialog.exec():
            return False
        self.context.show_status("Exported " + ", ".join(p.name for p in dialog.written))
        return True

    def recover_autosave(self) -> bool:
        if self.studio is None:
            return False
        path = self.studio.autosave_path()
        if not path.exists():
            self.context.show_status("There is no autosaved run.")
            return False
        if not self._confirm_discard("Recovering the autosaved run"):
            return False
        self.show_page("studioPage")
        ok = self.studio.open_model(str(path))
        if ok:
            self.studio.path = None
            self.studio.dirty_set(True)  # recovered work is not saved anywhere of the user's choosing yet
            self._update_title()
        return ok

    def _mention_autosave(self) -> None:
        if self.studio is None:
            return
        path = self.studio.autosave_path()
        self.recover_action.setEnabled(path.exists())
        if path.exists():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
            self.statusBar().showMessage(f"An autosaved run from {when} exists: File ▸ Recover Autosaved Run", 15000)

    def closeEvent(self, event) -> None:
        # offscreen (tests, benchmarks) nobody can answer a dialog at close; File actions still ask
        if QApplication.platformName() != "offscreen" and not self._confirm_discard("Closing"):
            event.ignore()
            return
        self.context.settings.setValue("window/geometry", self.saveGeometry())
        self.window_state.save(self.stack.currentWidget())
        for page in self.pages:
            shutdown = getattr(page, "shutdown", None)
            if shutdown is not None:
                shutdown()
        self.context.settings.sync()
        super().closeEvent(event)
