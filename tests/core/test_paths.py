"""Where per-user state lives: one folder (platformdirs, or $NNSTUDIO_HOME), never beside the settings."""

from pathlib import Path

import platformdirs

from nnstudio.core import paths
from nnstudio.core.data import mydigits
from nnstudio.core.runs import RunStore


def test_everything_the_user_must_not_lose_is_under_nnstudio_home(nnstudio_home):
    assert paths.user_home() == nnstudio_home
    assert paths.autosave_path() == nnstudio_home / "autosave.npz"
    assert mydigits.default_path() == nnstudio_home / "my-digits.npz"
    assert RunStore().path == nnstudio_home / "runs.db" and (nnstudio_home / "runs.db").exists()
    assert paths.user_cache_dir() == nnstudio_home / "cache"


def test_without_the_override_the_folder_comes_from_platformdirs(monkeypatch):
    monkeypatch.delenv("NNSTUDIO_HOME")
    monkeypatch.delenv("NNSTUDIO_USER_DATA_DIR", raising=False)
    expected = Path(platformdirs.user_data_dir("nnstudio", appauthor=False, roaming=True))
    assert paths.user_home() == expected
    assert paths.autosave_path().parent == expected  # a folder, never the registry path QSettings uses on Windows
    monkeypatch.setenv("NNSTUDIO_USER_DATA_DIR", "/tmp/old-name")  # the first version's variable still counts
    assert paths.user_home() == Path("/tmp/old-name")
