"""Playground frame rate: a 4-hidden-layer x 8-neuron net trains while the page redraws its output
heatmap and every neuron map. Prints frames/s, training steps/s, and how long the event loop is kept
busy per frame (the UI's worst-case response delay). Target: >= 20 frames/s.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_playground.py [seconds]
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(seconds: float = 5.0) -> None:
    from PySide6.QtCore import QSettings

    from nnstudio.gui.app import make_app
    from nnstudio.gui.context import AppContext
    from nnstudio.gui.pages.playground_page import PlaygroundPage

    app = make_app()
    ctx = AppContext(QSettings(os.devnull, QSettings.IniFormat))
    page = PlaygroundPage(ctx)
    page.resize(1200, 800)
    page.show()
    page.playground.set_layers([8, 8, 8, 8], ["tanh"] * 4)
    page._sync_controls()
    page._network_changed()
    app.processEvents()

    # 1) redraw cost alone (no training): what a frame costs the UI thread
    n = 30
    t0 = time.perf_counter()
    for _ in range(n):
        page.redraw()
        page.diagram.repaint()
        page.heatmap.viewport().repaint()
    redraw_ms = (time.perf_counter() - t0) / n * 1000

    # 2) the real loop: timer-driven train + redraw, as a user sees it
    busy = []
    original_tick = page.tick

    def timed_tick():
        t = time.perf_counter()
        original_tick()  # trains, redraws and paints (the page forces its paints)
        busy.append(time.perf_counter() - t)

    page.timer.timeout.disconnect()
    page.timer.timeout.connect(timed_tick)
    steps0, frames0 = page.playground.step_count, page.frames
    page.set_running(True)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    page.set_running(False)
    frames = page.frames - frames0
    steps = page.playground.step_count - steps0
    fps = frames / elapsed
    busy_ms = sorted(b * 1000 for b in busy)
    print(f"network: {page.playground.config.features} -> {page.playground.config.hidden} -> 2")
    print(
        f"redraw only (output + {sum(page.playground.config.hidden) + len(page.playground.config.features) + 1} "
        f"maps + weights): {redraw_ms:.1f} ms/frame = {1000 / redraw_ms:.0f} frames/s max"
    )
    print(
        f"training + redraw: {fps:.1f} frames/s over {elapsed:.1f} s  (target >= 20: "
        f"{'OK' if fps >= 20 else 'MISSED'}; ratio to target {fps / 20:.2f})"
    )
    print(f"training speed while drawing: {steps / elapsed:,.0f} steps/s, {page.playground.epoch:.0f} epochs")
    if busy_ms:
        print(
            f"UI thread busy per frame: median {busy_ms[len(busy_ms) // 2]:.1f} ms, "
            f"max {busy_ms[-1]:.1f} ms (frame budget 33 ms)"
        )
    page.shutdown()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
