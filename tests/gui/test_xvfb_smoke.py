"""Smoke test in a real X window: start Xvfb, launch the app with the xcb platform, screenshot the screen.

Skipped where Xvfb is not installed (`apt-get install xvfb`); .ci/run installs it when it can.
"""

import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from nnstudio.gui.app import make_app
    from nnstudio.gui import create_main_window
    app = make_app()
    assert app.platformName() == "xcb", app.platformName()
    window = create_main_window(settings_path=sys.argv[2])
    window.show()
    def shoot():
        for row in range(window.navigation.count()):   # visit every page in the real window
            window.navigation.setCurrentRow(row)
            app.processEvents()
        window.navigation.setCurrentRow(0)
        app.processEvents()
        shot = app.primaryScreen().grabWindow(0)
        shot.save(sys.argv[1])
        print("window", window.width(), window.height(), "visible", window.isVisible())
        app.quit()
    QTimer.singleShot(2500, shoot)
    sys.exit(app.exec())
""")


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed")
def test_app_runs_in_a_real_x_window(tmp_path):
    display = f":{90 + os.getpid() % 100}"
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
        shot = tmp_path / "screen.png"
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(shot), str(tmp_path / "s.ini")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "visible True" in proc.stdout
        from PySide6.QtGui import QImage

        image = QImage(str(shot))
        assert image.width() == 1280 and image.height() == 800
        # a real window draws many colours; a blank screen has one
        colours = {image.pixel(x, y) for x in range(0, 1280, 16) for y in range(0, 800, 16)}
        if os.environ.get("NNSTUDIO_SCREENSHOT_DIR"):
            shutil.copy(shot, os.path.join(os.environ["NNSTUDIO_SCREENSHOT_DIR"], "xvfb-smoke.png"))
        assert len(colours) > 20
        if os.environ.get("NNSTUDIO_SCREENSHOT_DIR"):
            shutil.copy(shot, os.path.join(os.environ["NNSTUDIO_SCREENSHOT_DIR"], "xvfb-smoke.png"))
    finally:
        xvfb.terminate()
        xvfb.wait(10)
