"""How long from the last mouse event to an updated prediction on the Draw page?

Replays digits as real mouse events into the canvas (the stroke templates of
tests/gui/test_draw_page.py) with the shipped MNIST model, and measures:

* pen lifted -> prediction shown: from just before the mouse-release event is
  sent until ``prediction_updated`` fires (labels, bars, 28x28 view and hidden
  activations all updated), spinning the event loop as the app does;
* pen stops mid-stroke -> prediction shown: the same from the last mouse move
  (no release), which waits for the ~30 ms throttle at worst;
* what one prediction costs (preprocess + forward + updating the widgets), and
  what one mouse-move costs the pen (drawing the stroke piece), for comparison.

Run:  QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_draw_latency.py [--digits 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

TARGET_MS = 15.0


def percentile_row(name, values_ms):
    v = np.asarray(values_ms)
    return (
        f"{name:44s} {np.median(v):8.2f} {np.percentile(v, 95):8.2f} {v.max():8.2f}   {np.median(v) / TARGET_MS:6.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=200)
    args = parser.parse_args()

    import tempfile

    tmp = tempfile.mkdtemp(prefix="nnstudio-bench-")
    os.environ["NNSTUDIO_HOME"] = tmp
    app = QApplication.instance() or QApplication([])
    from nnstudio.core.imaging.mnist import read_digit
    from nnstudio.gui.context import AppContext
    from nnstudio.gui.pages.draw_page import DrawPage
    from tests.gui.test_draw_page import TEMPLATES, place, variants

    page = DrawPage(AppContext(QSettings(os.path.join(tmp, "s.ini"), QSettings.IniFormat)))
    page.resize(1000, 720)
    page.show()
    QTest.qWait(100)
    canvas = page.canvas
    done = []
    page.prediction_updated.connect(lambda: done.append(time.perf_counter()))

    def wait_prediction(t0):
        while not done:
            app.processEvents()
        return (done[-1] - t0) * 1000

    release_ms, pause_ms, move_ms, correct = [], [], [], 0
    vs = variants(seed=11, count=max(1, args.digits // 10))
    for i in range(args.digits):
        digit, v = i % 10, vs[i // 10 % len(vs)]
        canvas.clear()
        app.processEvents()
        canvas.pen_width = v["pen"]
        strokes = place(TEMPLATES[digit], v, canvas._target_rect())
        for s, pts in enumerate(strokes):
            QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, pts[0])
            for p in pts[1:-1]:
                t = time.perf_counter()
                QTest.mouseMove(canvas, p)
                move_ms.append((time.perf_counter() - t) * 1000)
                app.processEvents()  # like a real pen: the event loop runs between moves
            last = s == len(strokes) - 1
            if last and i % 2 == 1:
                # pen stops on the last point without lifting
                app.processEvents()
                QTest.qWait(35)  # let any pending throttled prediction pass first
                done.clear()
                t0 = time.perf_counter()
                QTest.mouseMove(canvas, pts[-1])
                pause_ms.append(wait_prediction(t0))
            done.clear()
            t0 = time.perf_counter()
            QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, pts[-1])
            if last:
                release_ms.append(wait_prediction(t0))
        correct += page.prediction_label.text().split(" (")[0] == str(digit)

    # The cost of one prediction, split into the core part and the whole update of the page.
    img = canvas.to_array()
    net = page.entry.net
    core_ms, page_ms = [], []
    for _ in range(300):
        t = time.perf_counter()
        read_digit(net, img)
        core_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        page.predict_now()
        page_ms.append((time.perf_counter() - t) * 1000)

    print(
        f"Draw page latency, {args.digits} digits drawn with mouse events, shipped MNIST model, "
        f"read correctly: {correct / args.digits:.1%}"
    )
    print(f"{'':44s} {'median':>8s} {'p95':>8s} {'max':>8s}   {'median/target':>6s}  (ms; target {TARGET_MS:.0f} ms)")
    print(percentile_row("pen lifted -> prediction shown", release_ms))
    print(percentile_row("pen stops mid-stroke -> prediction shown", pause_ms))
    print(percentile_row("one prediction (preprocess+forward+widgets)", page_ms))
    print(percentile_row("  of which core read_digit (no Qt)", core_ms))
    print(percentile_row("one mouse move (drawing the stroke piece)", move_ms))
    print(
        f"one prediction costs {np.median(page_ms) / np.median(move_ms):.1f} mouse moves; "
        f"while the pen moves it runs at most every 30 ms"
    )
    page.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
