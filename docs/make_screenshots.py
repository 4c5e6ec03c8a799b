"""Regenerate the screenshots in docs/ from the real window (offscreen, 1280x800).

NNSTUDIO_DATA_DIR=../shared/data python docs/make_screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent


def pump(app, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.005)


def settle(app) -> None:
    """Run what a live event loop would before a repaint: widgets removed with deleteLater() are only
    deleted by a DeferredDelete event, which processEvents() alone never delivers (without this a page
    that rebuilt its rows shows the old rows and the new ones together)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        app.processEvents()


def save(app, widget, path: Path) -> None:
    settle(app)
    widget.grab().save(str(path))


def main() -> int:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from nnstudio.gui import create_main_window
    from nnstudio.gui.app import make_app

    app = make_app()
    os.environ.setdefault("NNSTUDIO_HOME", tempfile.mkdtemp())
    w = create_main_window(settings_path=tempfile.mkdtemp() + "/s.ini")
    w.ask_before_close = False
    w.resize(1280, 800)
    w.show()
    pump(app, 1.0)

    studio = w.page("studioPage")
    save(app, w, HERE / "studio-before.png")
    studio.epochs.setValue(5)
    studio.train()
    pump(app, 1.2)
    save(app, w, HERE / "studio-during.png")
    studio.worker.wait(300)
    pump(app, 1.0)
    studio.tabs.setCurrentIndex(2)  # mistakes and confusion
    pump(app, 0.5)
    save(app, w, HERE / "studio-after.png")

    # Draw: a "7" as real mouse events
    w.show_page("drawPage")
    pump(app, 0.3)
    canvas = w.page("drawPage").canvas
    cw, ch = canvas.width(), canvas.height()
    pts = [(0.30, 0.25), (0.70, 0.25), (0.62, 0.42), (0.52, 0.60), (0.45, 0.78)]
    QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, QPoint(int(pts[0][0] * cw), int(pts[0][1] * ch)))
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        for k in range(1, 11):
            x, y = x0 + (x1 - x0) * k / 10, y0 + (y1 - y0) * k / 10
            QTest.mouseMove(canvas, QPoint(int(x * cw), int(y * ch)))
    QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, QPoint(int(pts[-1][0] * cw), int(pts[-1][1] * ch)))
    pump(app, 0.5)
    save(app, w, HERE / "draw.png")

    for name in ("backpropPage", "autogradPage", "perceptronPage", "activationsPage", "playgroundPage", "memoryPage"):
        w.show_page(name)
        pump(app, 0.5)
        save(app, w, HERE / f"{name.removesuffix('Page')}.png")
    studio.dirty_set(False)
    w.close()
    print("screenshots written to", HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
