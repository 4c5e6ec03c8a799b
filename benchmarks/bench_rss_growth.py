"""Does a long training session in the window keep a fixed memory budget?

Trains MNIST (784-128-10, Adam, batch 128 unless told otherwise) from the Build & Train page of a real
MainWindow (offscreen, the real TrainingWorker and charts), for ``--minutes`` of wall clock (default 10),
sampling the process's resident memory every few seconds. After a warm-up (the first fifth of the run,
at least one epoch) it fits a straight line to RSS against time and against optimizer steps and prints
the growth per hour and per step. Target (issue 12): < 100 MiB per hour.

    QT_QPA_PLATFORM=offscreen NNSTUDIO_DATA_DIR=../shared/data python benchmarks/bench_rss_growth.py [--minutes 10]

Measured on the shared 2-core machine (load average 2 to 17, so steps per second vary a lot):
before the bounded history (every loss kept in lists and doubling chart buffers) 73 MiB/hour,
1,024 bytes/step (6 min, 8,832 steps); after, 8.6 MiB/hour, 327 bytes/step (11 min, 5,028 steps).
Side by side on a quiet machine (9 min each, ~48 steps/s, ~26,000 steps, 55 epochs): before 11.0
MiB/hour (166 bytes/step), after 28.2 MiB/hour (334 bytes/step): both under the target, and what
still grows there is not the loss history (bounded by construction); it was not tracked down.
Under the heaviest load (under 3 steps/s, about one epoch in the run) the figure is dominated by
the first epoch's one-off allocations and is not a growth rate: run it for longer there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to train (default 10)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--sample-seconds", type=float, default=5.0, help="RSS sampling interval")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="nnstudio-bench-rss-")
    os.environ.setdefault("NNSTUDIO_HOME", home)  # the autosave goes here, not into the user's folder
    import psutil

    from nnstudio.gui.app import make_app

    app = make_app()
    from nnstudio.gui import create_main_window

    window = create_main_window(settings_path=os.path.join(home, "bench.ini"))
    window.resize(1280, 800)
    window.show()
    window.show_page("studioPage")
    page = window.page("studioPage")
    deadline = time.perf_counter() + 60
    while page.net is None and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if page.net is None:
        raise SystemExit(f"the studio could not load MNIST: {page.message()}")
    page.batch_size.setValue(args.batch_size)
    page.epochs.setValue(10_000)  # train for as long as the benchmark runs
    page.train()
    if page.trainer is None:
        raise SystemExit(f"training did not start: {page.message()}")

    proc = psutil.Process()
    t_start = time.perf_counter()
    t_end = t_start + args.minutes * 60
    samples: list[tuple[float, int, int]] = []  # (seconds, optimizer steps, rss bytes)
    next_sample = t_start
    while time.perf_counter() < t_end and page.worker.running:
        app.processEvents()
        now = time.perf_counter()
        if now >= next_sample:
            samples.append((now - t_start, page.trainer.step_count, proc.memory_info().rss))
            next_sample = now + args.sample_seconds
        time.sleep(0.005)
    state = page.trainer.state
    page.worker.stop(wait=30)
    app.processEvents()
    window.close()

    t = np.array([s[0] for s in samples])
    steps = np.array([s[1] for s in samples], dtype=np.float64)
    rss = np.array([s[2] for s in samples], dtype=np.float64)
    bpe = page.trainer.batches_per_epoch
    # warm-up: the first fifth of the run and at least the first epoch (autosave, analysis, caches)
    warm = (t >= t[-1] * 0.2) & (steps >= min(bpe, steps[-1] * 0.5))
    if warm.sum() < 3:
        raise SystemExit("too few samples after warm-up: run longer (--minutes)")
    per_second = np.polyfit(t[warm], rss[warm], 1)[0]
    per_step = np.polyfit(steps[warm], rss[warm], 1)[0] if np.ptp(steps[warm]) > 0 else float("nan")
    mib = 1024**2
    result = {
        "minutes": round(float(t[-1]) / 60, 2),
        "steps": int(steps[-1]),
        "epochs": round(float(steps[-1]) / bpe, 2),
        "steps_per_second": round(float(steps[-1] / t[-1]), 1),
        "rss_start_mib": round(float(rss[0]) / mib, 1),
        "rss_after_warmup_mib": round(float(rss[warm][0]) / mib, 1),
        "rss_end_mib": round(float(rss[-1]) / mib, 1),
        "rss_max_mib": round(float(rss.max()) / mib, 1),
        "growth_mib_per_hour": round(float(per_second) * 3600 / mib, 1),
        "growth_bytes_per_step": round(float(per_step), 1),
        "trainer_state": state,
        "target_mib_per_hour": 100,
    }
    print(
        f"trained {result['minutes']} min from the window: {result['steps']:,} steps ({result['epochs']} epochs, "
        f"{result['steps_per_second']} steps/s)\n"
        f"RSS {result['rss_start_mib']} MiB at start, {result['rss_after_warmup_mib']} MiB after warm-up, "
        f"{result['rss_end_mib']} MiB at the end (max {result['rss_max_mib']} MiB)\n"
        f"growth after warm-up: {result['growth_mib_per_hour']} MiB per hour, "
        f"{result['growth_bytes_per_step']} bytes per step (target < 100 MiB per hour)"
    )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
