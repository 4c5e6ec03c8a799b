"""How well are MNIST test digits read when they come as scans and photos, old loader vs new?

Takes a fixed random sample of MNIST *test* digits, writes each in every look of
tests/photo_looks.py (scan, blurred scan, pencil, chalkboard, uneven light, noisy, JPEG,
transparent, small on a page, phone photo), and reads the files with the shipped MNIST
model through:

* new: ``load_picture`` (decode, clean up) + ``preprocess_digit`` (the MNIST recipe), the
  path shared by `nnstudio predict`, the Draw page and My digits;
* old: the loader before the cleanup (git ``_old_loader.OLD_COMMIT``, in a child process);
* baseline: the same digits straight from the MNIST test set through ``preprocess_digit``.

Done when every look reads within 3 points of the baseline. Prints one row per look.

Run:  .venv/bin/python benchmarks/bench_photo_digits.py [--digits 500] [--seed 0] [--old-tree PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

WITHIN = 0.03


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=500, help="digits per look (a random sample of the test set)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--old-tree", help="a checkout of the old nnstudio (default: taken from git)")
    parser.add_argument("--no-old", action="store_true", help="skip the old loader")
    args = parser.parse_args()

    from _old_loader import OLD_COMMIT, old_inputs, old_tree

    from nnstudio.core.data import load_dataset
    from nnstudio.core.imaging import load_picture, preprocess_digit
    from nnstudio.core.nn import load_model
    from nnstudio.resources import pretrained_model_path
    from tests.photo_looks import LOOKS, write_set

    net = load_model(pretrained_model_path("mnist"))
    mnist = load_dataset("mnist", download=False)
    pick = np.random.default_rng(args.seed).choice(len(mnist.y_test), size=args.digits, replace=False)
    digits, labels = mnist.x_test[pick], mnist.y_test[pick]

    def rate(x: np.ndarray) -> float:
        return float((net.predict(x).argmax(axis=1) == labels).mean())

    baseline = rate(np.stack([preprocess_digit(d) for d in digits]))
    tree = None if args.no_old else old_tree(args.old_tree)
    root = Path(tempfile.mkdtemp(prefix="nnstudio-bench-photos-"))
    print(f"{args.digits} MNIST test digits per look (seed {args.seed}), shipped model {net.sizes()}")
    print(f"baseline (the digits straight from MNIST through preprocess_digit): {baseline:.1%}")
    print(f"old loader: git {OLD_COMMIT[:10]}; done when new >= baseline - {WITHIN:.0%} in every look\n")
    print(f"{'look':15s} {'old':>7s} {'new':>7s} {'baseline':>9s} {'new-base':>9s}  {'new ms/file':>11s}  ok")
    worst = 1.0
    for look in LOOKS:
        files = write_set(digits, look, root / look.replace(" ", "-"), seed=args.seed)
        t = time.perf_counter()
        new = rate(np.stack([preprocess_digit(load_picture(f).ink) for f in files]))
        ms = (time.perf_counter() - t) / len(files) * 1000
        old = rate(old_inputs(files, tree)[0]) if tree is not None else float("nan")
        worst = min(worst, new - baseline)
        ok = "yes" if new >= baseline - WITHIN else "NO"
        print(f"{look:15s} {old:7.1%} {new:7.1%} {baseline:9.1%} {(new - baseline) * 100:+8.1f}p  {ms:11.1f}  {ok}")
    print(f"\nworst look: {worst * 100:+.1f} points from the baseline ({'done' if worst >= -WITHIN else 'not done'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
