"""The window as a desktop application: icon, About box, menus with standard keys, and what it
remembers between runs (page, splitters, tabs, recent files that still exist)."""

import configparser
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QLabel, QSplitter, QTabWidget

from nnstudio import __version__

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format_ARGB32)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4).astype(int)


# -- icon, desktop file, AppStream ---------------------------------------------------------------


def test_window_icon_comes_in_every_size_and_the_shipped_pngs_are_that_drawing(main_window):
    from nnstudio.gui.app_icon import SIZES, image

    sizes = {s.width() for s in main_window.windowIcon().availableSizes()}
    assert sizes == {16, 24, 32, 48, 64, 128, 256}
    for size in SIZES:
        shipped = QImage(str(RESOURCES / "icons" / f"nnstudio-{size}.png"))
        assert (shipped.width(), shipped.height()) == (size, size)
        drawn = pixels(image(size))
        assert np.abs(pixels(shipped) - drawn).mean() < 1.0, f"resources/icons/nnstudio-{size}.png is stale"
        alpha = drawn[..., 3]
        assert alpha[0, 0] == 0 and alpha[size // 2, size // 2] == 255  # rounded tile on transparency


def test_svg_icon_draws_the_same_picture():
    svg = pytest.importorskip("PySide6.QtSvg")
    from PySide6.QtGui import QPainter

    renderer = svg.QSvgRenderer(str(RESOURCES / "icons" / "nnstudio.svg"))
    assert renderer.isValid()
    out = QImage(256, 256, QImage.Format_ARGB32)
    out.fill(0)
    painter = QPainter(out)
    renderer.render(painter)
    painter.end()
    assert np.abs(pixels(out) - pixels(QImage(str(RESOURCES / "icons" / "nnstudio-256.png")))).mean() < 1.0


def test_desktop_file_and_appstream_metadata_agree_with_the_package():
    from nnstudio.gui.app import APP_ID

    desktop = configparser.ConfigParser(interpolation=None, strict=True)
    desktop.optionxform = str
    desktop.read(RESOURCES / f"{APP_ID}.desktop", encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "nnstudio"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert entry["Exec"].split()[0] in project["gui-scripts"]
    assert entry["Icon"] == APP_ID
    assert entry["Categories"].endswith(";") and "Education" in entry["Categories"].split(";")

    meta = ET.parse(RESOURCES / f"{APP_ID}.metainfo.xml").getroot()
    assert meta.get("type") == "desktop-application"
    assert meta.findtext("id") == APP_ID
    assert meta.findtext("launchable") == f"{APP_ID}.desktop"
    assert meta.findtext("icon") == APP_ID
    assert meta.findtext("project_license") == project["license"] == "MIT"
    assert meta.find("releases/release").get("version") == __version__
    if shutil.which("appstreamcli"):
        check = subprocess.run(
            ["appstreamcli", "validate", "--no-net", str(RESOURCES / f"{APP_ID}.metainfo.xml")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_app_names_its_desktop_file_and_version():
    from nnstudio.gui.app import APP_ID, make_app

    app = make_app()  # the test session's QApplication: make_app sets these only on one it creates
    QGuiApplication.setDesktopFileName(APP_ID)
    assert app.desktopFileName() == APP_ID


# -- About --------------------------------------------------------------------------------------------


def test_about_dialog_shows_version_license_libraries_and_dataset_credits(main_window, qtbot, monkeypatch, tmp_path):
    import numpy
    import pyqtgraph
    import PySide6
    from PySide6.QtCore import qVersion

    from nnstudio.gui import about

    shown = []
    monkeypatch.setattr(about.AboutDialog, "exec", lambda self: shown.append(self) or 0)
    main_window.about_action.trigger()
    (dialog,) = shown
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    text = " ".join(label.text() for label in dialog.findChildren(QLabel))
    for needed in (
        f"nnstudio {__version__}",
        "MIT License",
        qVersion(),
        PySide6.__version__,
        numpy.__version__,
        pyqtgraph.__version__,
        "Yann LeCun",
        "Corinna Cortes",
        "Burges",
        "Han Xiao",
        "Kashif Rasul",
        "Roland Vollgraf",
        "Zalando Research",
    ):
        assert needed in text, needed
    # nothing clipped: every wrapped label has the height its text needs at its width
    for label in dialog.findChildren(QLabel):
        if label.wordWrap():
            assert label.height() >= label.heightForWidth(label.width()), label.objectName()
    dialog.copy_versions()
    copied = QGuiApplication.clipboard().text()
    assert f"NumPy {numpy.__version__}" in copied and f"Qt {qVersion()}" in copied
    dialog.grab().save(str(tmp_path / "about.png"))


# -- menus ----------------------------------------------------------------------------------------------


def test_view_menu_shows_page_titles_with_their_ampersands(main_window):
    actions = [a for a in main_window.view_menu.actions() if not a.isSeparator() and a.menu() is None]
    titles = [p.title for p in main_window.pages]
    shown = [a.text().replace("&&", "&") for a in actions[: len(titles)]]
    assert shown == titles
    assert "Build & Train" in shown
    for a in actions[: len(titles)]:
        assert re.search(r"(?<!&)&(?!&)", a.text()) is None, f"{a.text()!r} would show as a mnemonic"


def test_file_view_and_help_menus_use_the_platforms_standard_keys(main_window):
    standard = {
        main_window.new_action: (QKeySequence.New, None),
        main_window.open_action: (QKeySequence.Open, None),
        main_window.save_action: (QKeySequence.Save, None),
        main_window.save_as_action: (QKeySequence.SaveAs, None),
        main_window.quit_action: (QKeySequence.Quit, "Ctrl+Q"),
        main_window.full_screen_action: (QKeySequence.FullScreen, "F11"),
    }
    for action, (key, fallback) in standard.items():
        platform_keys = QKeySequence.keyBindings(key)
        # the platform's bindings; a fallback only where the platform has none (offscreen has no Quit)
        assert action.shortcuts() == (platform_keys or [QKeySequence(fallback)]), action.text()
        assert not action.shortcut().isEmpty(), action.text()
    help_keys = {a.text(): a.shortcuts() for a in main_window.help_menu.actions()}
    assert help_keys["&Keyboard Shortcuts"] == QKeySequence.keyBindings(QKeySequence.HelpContents)


# -- what the window remembers -----------------------------------------------------------------------


def _reopen(qtbot, path):
    from nnstudio.gui import create_main_window

    window = create_main_window(settings_path=str(path))
    window.ask_before_close = False
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_page_splitters_and_tabs_are_remembered_across_a_restart(qtbot, tmp_path, mnist):
    settings = tmp_path / "settings.ini"
    window = _reopen(qtbot, settings)
    window.splitter.setSizes([190, 1090])  # the navigation list, wider
    nav_sizes = window.splitter.sizes()
    for page in window.pages:  # lay every page out once, as a user visiting them would
        window.show_page(page.objectName())
        qtbot.wait(20)
    expected_tabs, expected_splits = {}, {}
    for page in window.pages:
        window.show_page(page.objectName())
        for i, tabs in enumerate(page.findChildren(QTabWidget)):
            tabs.setCurrentIndex(tabs.count() - 1)
            expected_tabs[(page.objectName(), i)] = tabs.count() - 1
        for split in page.findChildren(QSplitter):
            sizes = split.sizes()
            if len(sizes) >= 2 and sizes[-1] > 120:
                split.setSizes([sizes[0] + 60, *sizes[1:-1], sizes[-1] - 60])
        qtbot.wait(20)
        for i, split in enumerate(page.findChildren(QSplitter)):
            expected_splits[(page.objectName(), i)] = split.sizes()
    window.show_page("backpropPage")
    last_page = window.stack.currentWidget().objectName()
    assert expected_tabs and len(expected_splits) >= 4
    window.close()

    again = _reopen(qtbot, settings)
    assert again.stack.currentWidget().objectName() == last_page
    assert again.navigation.currentRow() == again.pages.index(again.stack.currentWidget())
    assert again.splitter.sizes() == nav_sizes
    for page in again.pages:
        again.show_page(page.objectName())
        qtbot.wait(20)
        for i, tabs in enumerate(page.findChildren(QTabWidget)):
            assert tabs.currentIndex() == expected_tabs[(page.objectName(), i)], (page.objectName(), i)
        for i, split in enumerate(page.findChildren(QSplitter)):
            got, want = split.sizes(), expected_splits[(page.objectName(), i)]
            assert len(got) == len(want) and max(abs(a - b) for a, b in zip(got, want)) <= 2, (
                page.objectName(),
                i,
                got,
                want,
            )
    again.close()


def test_recent_files_that_no_longer_exist_are_dropped(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    kept, gone = tmp_path / "kept.npz", tmp_path / "gone.npz"
    kept.write_bytes(b"x")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    settings.setValue("recent/files", [str(gone), str(kept)])
    settings.sync()
    window = _reopen(qtbot, tmp_path / "settings.ini")
    assert window.recent_files() == [str(kept)]
    assert [a.toolTip() for a in window.recent_menu.actions()] == [str(kept)]
    kept.unlink()  # deleted while the app runs: gone from the menu the next time it opens
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions()] == ["(no recent models)"]
    window.close()
    assert QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat).value("recent/files", []) in ([], None)
