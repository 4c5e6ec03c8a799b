"""Is the window responsive while MNIST trains at full speed, and does the window slow training down?

Measured in one run, on the same machine, one after the other:

1. the headless CLI (``python -m nnstudio train --json``) on MNIST, 784-128-10, Adam, batch 128;
2. the same training started from the Build & Train page's Train button, while a 10 ms QTimer
   on the UI thread records how late each of its ticks is. The page draws as a user would
   see it (loss chart, weight heatmaps tab, memory) through the throttled worker bridge.

The CLI runs before and after the window and the two are averaged, so a neighbour's load
hits both sides alike. Targets (issue 3): lateness never > 100 ms, p99 <= 30 ms; window
samples/s >= 0.85 x CLI samples/s.

    QT_QPA_PLATFORM=offscreen NNSTUDIO_DATA_DIR=../shared/data python benchmarks/bench_ui.py [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def cli_samples_per_sec(epochs: int) -> tuple[float, list[float]]:
    cmd = [
        sys.executable,
        "-m",
        "nnstudio",
        "train",
        "--dataset",
        "mnist",
        "--layers",
        "128",
        "--optimizer",
        "adam",
        "--batch-size",
        "128",
        "--epochs",
        str(epochs),
        "--seed",
        "0",
        "--json",
        "--no-download",
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    sps = result["samples_per_sec"]
    return float(np.mean(sps)), sps


def make_window():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from nnstudio.gui.app import make_app

    app = make_app()
    from nnstudio.gui import create_main_window

    window = create_main_window(settings_path=os.path.join(tempfile.mkdtemp(), "bench.ini"))
    window.resize(1280, 800)
    window.show()
    page = window.page("studioPage")
    deadline = time.perf_counter() + 30
    while page.net is None and time.perf_counter() < deadline:
        app.processEvents()
    if page.net is None:
        raise SystemExit(f"the studio could not load MNIST: {page.message()}")
    page.tabs.setCurrentWidget(page.weight_view)  # the heaviest view to keep drawing
    return app, window, page


def window_run(page, epochs: int, interval_ms: int = 10) -> dict:
    """Press Reset then Train; record a 10 ms timer's lateness until training finishes."""
    from PySide6.QtCore import QEventLoop, QTimer

    page.epochs.setValue(epochs)
    page.reset_button.click()
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt_precise())
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    page.train_button.click()
    timer.start()
    t0 = time.perf_counter()
    loop = QEventLoop()  # a real event loop, as in the app (no busy polling)
    page.worker.finished.connect(loop.quit)
    if page.worker.running:
        loop.exec()
    page.worker.finished.disconnect(loop.quit)
    wall = time.perf_counter() - t0
    timer.stop()
    lateness = np.maximum(np.diff(np.asarray(ticks)) * 1000 - interval_ms, 0)
    epochs_info = page.history.epochs
    return {
        "samples_per_sec": [e["samples_per_sec"] for e in epochs_info],
        "lateness": lateness,
        "test_accuracy": epochs_info[-1]["test_accuracy"] if epochs_info else None,
        "wall": wall,
        "steps_drawn": page.loss_chart.point_count(),
        "heatmap_updates": page.weight_view.updates,
    }


def Qt_precise():
    from PySide6.QtCore import Qt

    return Qt.PreciseTimer


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=2, help="epochs per round and side")
    p.add_argument("--rounds", type=int, default=4, help="CLI/window rounds, interleaved")
    args = p.parse_args(argv)

    app, window, page = make_window()
    cli_sps, win_sps, lateness, accs, paired = [], [], [], [], []
    for r in range(args.rounds):
        cli, per = cli_samples_per_sec(args.epochs)
        win = window_run(page, args.epochs)
        cli_sps += per
        win_sps += win["samples_per_sec"]
        lateness.append(win["lateness"])
        accs.append(win["test_accuracy"])
        paired.append(np.mean(win["samples_per_sec"]) / np.mean(per))
        print(
            f"round {r + 1}: CLI {np.mean(per):9,.0f} samples/s   window {np.mean(win['samples_per_sec']):9,.0f} "
            f"samples/s   timer late p99 {np.percentile(win['lateness'], 99):5.1f} ms, "
            f"max {win['lateness'].max():5.1f} ms   ({win['steps_drawn']} loss points, "
            f"{win['heatmap_updates']} heatmap redraws so far)",
            flush=True,
        )
    page.dirty_set(False)
    window.close()
    late = np.concatenate(lateness)
    cli_med, win_med = float(np.median(cli_sps)), float(np.median(win_sps))
    ratio = win_med / cli_med
    best_ratio = max(win_sps) / max(cli_sps)
    print()
    print(f"MNIST 784-128-10, Adam, batch 128; {args.rounds} rounds x {args.epochs} epochs per side, interleaved")
    print(f"{'headless CLI samples/s (median / best)':46s} {cli_med:10,.0f} {max(cli_sps):10,.0f}")
    print(f"{'window samples/s (median / best)':46s} {win_med:10,.0f} {max(win_sps):10,.0f}")
    print(f"{'throughput ratio window / CLI (median)':46s} {ratio:10.3f}   (target >= 0.85)")
    print(f"{'throughput ratio window / CLI (best)':46s} {best_ratio:10.3f}")
    print(
        f"{'throughput ratio per round (median)':46s} {float(np.median(paired)):10.3f}   "
        f"(rounds: {', '.join(f'{r:.2f}' for r in paired)})"
    )
    print(f"{'10 ms UI timer: ticks':46s} {len(late) + len(lateness):10d}")
    print(f"{'  lateness median (ms)':46s} {np.percentile(late, 50):10.1f}")
    print(f"{'  lateness p99 (ms)':46s} {np.percentile(late, 99):10.1f}   (target <= 30)")
    print(f"{'  lateness max (ms)':46s} {late.max():10.1f}   (target <= 100)")
    print(f"{'window test accuracy (last round)':46s} {accs[-1]:10.2%}")
    ok = ratio >= 0.85 and np.percentile(late, 99) <= 30 and late.max() <= 100
    print("PASS" if ok else "MISS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
