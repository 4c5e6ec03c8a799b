"""The shipped models are package data: a wheel installed anywhere (here with ``--target``) finds them."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnstudio.resources import SHIPPED_DATASETS, pretrained_model_path

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_model_is_found_in_the_checkout():
    for name in SHIPPED_DATASETS:
        path = pretrained_model_path(name)
        assert path.is_file() and path.stat().st_size > 100_000, path


@pytest.mark.slow
def test_a_wheel_installed_with_target_finds_its_mnist_model(tmp_path, mnist):
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # no build isolation: the test builds offline with this environment's setuptools
    subprocess.run(
        [*pip, "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist"],
        check=True,
        timeout=120,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "dist").glob("nnstudio-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "nnstudio/models/mnist-784-128-10.npz" in names
    assert "nnstudio/models/fashion-mnist-784-128-10.npz" in names
    subprocess.run([*pip, "install", "--no-deps", "--target", tmp_path / "t", wheel], check=True, timeout=120)

    # ten test digits of MNIST, read by the shipped model through the installed package only
    images = [tmp_path / f"digit{i}.npy" for i in range(10)]
    for i, path in enumerate(images):
        np.save(path, mnist.x_test[i].reshape(28, 28))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tmp_path / "t")
    code = "import nnstudio, sys; print(nnstudio.__file__); from nnstudio.__main__ import main; sys.exit(main())"
    proc = subprocess.run(
        [sys.executable, "-c", code, "predict", "mnist", *map(str, images), "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(str(tmp_path / "t" / "nnstudio")), "ran the checkout, not the wheel"
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [row["prediction"] for row in rows] == [str(label) for label in mnist.y_test[:10]]

    # imported from the zipped wheel itself: the model is extracted to a temporary file while in use
    env["PYTHONPATH"] = str(wheel)
    zipped = subprocess.run(
        [sys.executable, "-c", code, "predict", "mnist", *map(str, images), "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert zipped.returncode == 0, zipped.stderr
    assert zipped.stdout.splitlines()[0].startswith(str(wheel)), "ran the checkout, not the zipped wheel"
    assert json.loads(zipped.stdout.strip().splitlines()[-1]) == rows
