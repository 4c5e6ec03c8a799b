"""Shared fixtures. Tests find MNIST/Fashion-MNIST through NNSTUDIO_DATA_DIR (CI: ../shared/data)."""
import os

import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never touch the user's own digits or caches: a fresh per-run user data folder.
os.environ["NNSTUDIO_USER_DATA_DIR"] = tempfile.mkdtemp(prefix="nnstudio-test-user-")

import pytest  # noqa: E402


def _load(name):
    from nnstudio.core.data import DataError, load_dataset
    try:
        return load_dataset(name, download=False)
    except DataError as exc:
        if os.environ.get("NNSTUDIO_DATA_DIR"):
            pytest.fail(f"NNSTUDIO_DATA_DIR is set but {name} cannot be loaded: {exc}")
        pytest.skip(f"{name} not available (set NNSTUDIO_DATA_DIR): {exc}")


@pytest.fixture(scope="session")
def mnist():
    return _load("mnist")


@pytest.fixture(scope="session")
def fashion_mnist():
    return _load("fashion-mnist")
