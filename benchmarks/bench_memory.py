"""Memory tools, measured: checkpointing, mixed precision, accounting vs tracemalloc, batch-size search.

Prints the issue's targets next to what this machine measured in this run
(times are medians of steps interleaved between the ways, so a neighbour's
CPU load hits all of them alike).

    python benchmarks/bench_memory.py [--data-dir DIR] [--quick]

1. 784 -> 16x1024 -> 10, batch 512, fp32, 4 checkpoint segments: activations and step time.
2. MNIST 784-128-10: fp32 vs mixed precision, test accuracy after 2 epochs, activations, speed.
3. Accounting (arrays) vs tracemalloc on MNIST models, all three ways.
4. Batch-size search: time, measured steps, and the true maximum checked around the answer.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np

from nnstudio.core.data import load_dataset
from nnstudio.core.fmt import format_bytes
from nnstudio.core.memory import (
    MiB,
    MixedPrecisionTrainer,
    PlainStep,
    find_max_batch_size,
    gradient_difference,
    make_strategy,
    memory_curve,
    profile_step,
    time_interleaved,
)
from nnstudio.core.nn import Adam, Sequential
from nnstudio.core.training import Trainer

KINDS = ("baseline", "checkpoint", "mixed")


def deep_net(rounds: int) -> None:
    sizes = [784] + [1024] * 16 + [10]
    rng = np.random.default_rng(0)
    x, y = rng.random((1024, 784), dtype=np.float32), rng.integers(0, 10, 1024)
    net = Sequential.mlp(sizes, seed=0)
    print("1. 784 -> 16x1024 -> 10, batch 512, fp32, 4 segments (Adam)")
    profs = {}
    kinds = (*KINDS, "mixed+checkpoint")
    for kind in kinds:
        n = copy.deepcopy(net)
        s = make_strategy(kind, n, segments=4)
        profs[kind] = profile_step(s, Adam(n.parameters()), s.prepare_inputs(x), y, 512)
    diff = gradient_difference(
        PlainStep(copy.deepcopy(net)), make_strategy("checkpoint", copy.deepcopy(net), segments=4), x[:512], y[:512]
    )
    times = time_interleaved(kinds, sizes, x, y, 512, segments=4, rounds=rounds)
    b = profs["baseline"]
    print(f"   {'':17s}{'activations':>13s}{'step peak':>12s}{'s/step':>9s}")
    for kind in kinds:
        p = profs[kind]
        print(
            f"   {kind:17s}{format_bytes(p.activation_peak):>13s}{format_bytes(p.measured_peak):>12s}"
            f"{times[kind]:>9.3f}   activations ×{b.activation_peak / p.activation_peak:.2f} smaller, "
            f"peak ×{p.measured_peak / b.measured_peak:.2f}, time ×{times[kind] / times['baseline']:.2f}"
        )
    c = profs["checkpoint"]
    print(
        f"   target: activations >= 2.5x smaller -> {b.activation_peak / c.activation_peak:.2f}x; "
        f"step <= 1.35x slower -> {times['checkpoint'] / times['baseline']:.2f}x; "
        f"max |grad diff| checkpoint vs plain = {diff:g}"
    )


def mnist_mixed(data, epochs: int) -> None:
    x, y = data.flat("train")
    xt, yt = data.flat("test")
    print(f"2. MNIST 784-128-10, Adam 1e-3, batch 128, {epochs} epochs: fp32 vs mixed precision")
    res = {}
    for name, cls in (("fp32", Trainer), ("mixed", MixedPrecisionTrainer)):
        net = Sequential.mlp([784, 128, 10], seed=0)
        t = cls(net, Adam(net.parameters(), lr=1e-3), (x, y), (xt, yt), batch_size=128, epochs=epochs, seed=0)
        t0 = time.perf_counter()
        hist = t.run()
        res[name] = (hist.epochs[-1]["test_accuracy"], time.perf_counter() - t0, getattr(t, "skipped_steps", 0))
    net = Sequential.mlp([784, 128, 10], seed=0)
    pb = profile_step(PlainStep(copy.deepcopy(net)), None, x, y, 128)
    mp = make_strategy("mixed", copy.deepcopy(net))
    pm = profile_step(mp, None, mp.prepare_inputs(x[:4096]), y[:4096], 128)
    times = time_interleaved(("baseline", "mixed"), [784, 128, 10], x[:4096], y[:4096], 128, rounds=50)
    for name, (acc, sec, skipped) in res.items():
        print(f"   {name:6s} test accuracy {acc:.2%}, {sec:.1f} s for {epochs} epochs, {skipped} skipped steps")
    print(
        f"   target: accuracy within 0.5 points -> {abs(res['mixed'][0] - res['fp32'][0]) * 100:.2f} points; "
        f"activations >= 1.9x smaller -> {pb.activation_peak / pm.activation_peak:.2f}x "
        f"({format_bytes(pb.activation_peak)} -> {format_bytes(pm.activation_peak)}); "
        f"speed: step ×{times['mixed'] / times['baseline']:.2f} the fp32 time"
    )


def accounting(data) -> None:
    x, y = data.flat("train")
    print("3. accounting from arrays vs tracemalloc (whole step peak incl. weights, grads, Adam state)")
    for sizes, batch in (([784, 128, 10], 128), ([784, 256, 128, 10], 512), ([784, 512, 512, 512, 10], 1024)):
        cells = []
        for kind in KINDS:
            net = Sequential.mlp(sizes, seed=0)
            s = make_strategy(kind, net, segments=2)
            p = profile_step(s, Adam(net.parameters()), s.prepare_inputs(x[:4096]), y[:4096], batch)
            cells.append(f"{kind} {format_bytes(p.measured_peak)} ({p.agreement:.3f})")
        print(f"   {'-'.join(map(str, sizes)):18s} batch {batch:5d}: " + ",  ".join(cells))
    print("   (in brackets: counted / measured; target within 10%)")


def search(data) -> None:
    x, y = data.flat("train")
    print("4. batch-size search (max batch 60000), confirmed against measured steps around the answer")
    for sizes, budget in (
        ([784, 128, 10], 64 * MiB),
        ([784, 512, 512, 10], 128 * MiB),
        ([784] + [1024] * 4 + [10], 256 * MiB),
    ):
        for kind in KINDS:
            net = Sequential.mlp(sizes, seed=0)
            s = make_strategy(kind, net, segments=2)
            opt = Adam(net.parameters())
            r = find_max_batch_size(s, opt, x, y, budget)
            over = max(p for _, p in r.trials) > budget
            check = ""
            if not r.capped:
                (_, _at), (_, above) = memory_curve(s, opt, x, y, [r.batch_size, int(r.batch_size * 1.05) + 1])
                check = f"; batch ×1.05 needs {format_bytes(above)} ({'over' if above > budget else 'FITS'})"
            print(
                f"   {'-'.join(map(str, sizes)):20s} {kind:10s} budget {format_bytes(budget)}: batch "
                f"{r.batch_size:6d}{' (cap)' if r.capped else ''}, peak {format_bytes(r.peak)}, "
                f"{len(r.trials)} steps, {r.seconds:.1f} s, any trial over budget: {over}{check}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--quick", action="store_true", help="fewer timing rounds and one MNIST epoch")
    args = ap.parse_args()
    data = load_dataset("mnist", args.data_dir, download=False)
    deep_net(rounds=3 if args.quick else 7)
    mnist_mixed(data, epochs=1 if args.quick else 2)
    accounting(data)
    search(data)


if __name__ == "__main__":
    main()
