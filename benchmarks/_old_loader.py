"""The image loader as it was before the photo cleanup, run in its own process for comparison.

The old package is taken from git (``OLD_COMMIT``, the last commit before the cleanup
replaced ``ink_on_black``'s hard threshold) into a temporary folder, and a child Python
process with only that folder on its path reads the files: the two versions never share
an import. ``--old-tree PATH`` in the benchmarks points at a checkout instead (for a copy
of the repository without its git history).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

OLD_COMMIT = "8d3e4ebc299a3098a1fe969f5c1f75be0009965a"
ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
import numpy as np
from nnstudio.core.imaging import load_image_file, preprocess_digit
files, out, repeat = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
xs, times = [], []
for f in files:
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        try:
            x = preprocess_digit(load_image_file(f))
        except ValueError:
            x = np.zeros(784, np.float32)  # refused: counts as a wrong reading
        best = min(best or 1e9, time.perf_counter() - t)
    xs.append(x)
    times.append(best)
np.save(out, np.stack(xs))
print(json.dumps(times))
"""


def old_tree(path: str | None = None) -> Path:
    """A folder holding the old ``nnstudio`` package (extracted from git unless ``path`` is given)."""
    if path:
        return Path(path)
    folder = Path(tempfile.mkdtemp(prefix="nnstudio-old-loader-"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", OLD_COMMIT, "nnstudio"],
        capture_output=True,
        check=True,
    ).stdout
    tar = folder / "old.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(folder, filter="data")
    return folder


def old_inputs(files: list[Path], tree: Path, repeat: int = 1) -> tuple[np.ndarray, list[float]]:
    """The 28x28 inputs (N, 784) the old loader + MNIST recipe give ``files``, and the best time of each (s)."""
    out = Path(tempfile.mkdtemp(prefix="nnstudio-old-out-")) / "x.npy"
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([str(f) for f in files]), str(out), str(repeat)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,  # `python -c` puts the working directory first on the path: it must not be this checkout
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the old loader failed: {proc.stderr.strip().splitlines()[-1:]}")
    return np.load(out), json.loads(proc.stdout)
