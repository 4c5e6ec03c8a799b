"""Shared fixtures. Tests find MNIST/Fashion-MNIST through NNSTUDIO_DATA_DIR (CI: ../shared/data)."""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never touch the user's own digits, autosaves or caches: the per-user folder is a temporary
# one (and each test gets a fresh one, below).
os.environ["NNSTUDIO_HOME"] = tempfile.mkdtemp(prefix="nnstudio-test-home-")
os.environ.pop("NNSTUDIO_USER_DATA_DIR", None)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def nnstudio_home(tmp_path, monkeypatch):
    """A fresh, empty per-user folder for every test."""
    home = tmp_path / "nnstudio-home"
    monkeypatch.setenv("NNSTUDIO_HOME", str(home))
    return home


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
