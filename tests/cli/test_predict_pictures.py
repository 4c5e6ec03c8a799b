"""`nnstudio predict` reads every common picture format, photos included, through the shared loader."""

import os
import subprocess
import sys

import numpy as np
import pytest

from nnstudio.core.imaging import load_picture, preprocess_digit
from nnstudio.resources import pretrained_model_path
from tests.photo_looks import LOOKS

# (file name, look): JPEG, BMP, WebP, transparent PNG, PGM and a noisy phone photo.
CASES = [
    ("scan.jpg", "scan"),
    ("scan.bmp", "scan"),
    ("pencil.webp", "pencil"),
    ("transparent.png", "transparent"),
    ("chalk.pgm", "chalkboard"),
    ("photo.jpg", "phone photo"),
]


def write_cases(folder, mnist):
    """The test digits 0.. written in each case's look and format; returns (paths, labels)."""
    rng = np.random.default_rng(5)
    paths, labels = [], []
    for i, (name, look) in enumerate(CASES):
        image, _, options = LOOKS[look](mnist.x_test[i], rng)
        path = folder / name
        image.save(path, **(options if path.suffix == ".jpg" else {}))
        paths.append(path)
        labels.append(int(mnist.y_test[i]))
    return paths, labels


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nnstudio", *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )


def test_predict_reads_jpeg_bmp_webp_transparent_and_photos(tmp_path, mnist):
    paths, labels = write_cases(tmp_path, mnist)
    dump = tmp_path / "inputs.npy"
    proc = run_cli("predict", pretrained_model_path("mnist"), *paths, "--dump-input", dump)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(paths)
    for line, path, label in zip(lines, paths, labels):
        assert line.startswith(f"{path}: {label} ("), line
    inputs = np.load(dump)
    assert inputs.shape == (len(paths), 28, 28) and inputs.dtype == np.float32
    # exactly what the core path gives in this process: one loader, one recipe
    for x, path in zip(inputs, paths):
        np.testing.assert_array_equal(x.ravel(), preprocess_digit(load_picture(path).ink))


@pytest.mark.parametrize(
    "content, message",
    [(b"\x89PNG\r\n\x1a\nnot really", "damaged"), (b"just text", "not a picture nnstudio can read")],
)
def test_predict_reports_a_bad_picture_in_one_line(tmp_path, content, message):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    proc = run_cli("predict", pretrained_model_path("mnist"), bad)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
