"""Where nnstudio keeps the user's own things: one folder for everything it must not lose.

``user_home()`` holds the user's digits, autosaved runs (and, later, the run store).
It comes from platformdirs (``~/.local/share/nnstudio`` on Linux, ``%APPDATA%\\nnstudio``
on Windows, ``~/Library/Application Support/nnstudio`` on macOS) and the
``NNSTUDIO_HOME`` environment variable overrides it; tests always set it.
Downloaded datasets go to the platform's cache folder, or to ``$NNSTUDIO_HOME/cache``
when ``NNSTUDIO_HOME`` is set, so a test never touches the real cache.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

HOME_ENV = "NNSTUDIO_HOME"
# The name the first version used for the same folder (the user's digits); still honoured.
LEGACY_HOME_ENV = "NNSTUDIO_USER_DATA_DIR"
APP = "nnstudio"


def user_home() -> Path:
    """The per-user folder for runs, the user's digits and autosaves (not created here)."""
    for var in (HOME_ENV, LEGACY_HOME_ENV):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    return Path(platformdirs.user_data_dir(APP, appauthor=False, roaming=True))


def user_cache_dir() -> Path:
    """The per-user cache folder (downloaded datasets live in its ``datasets/``)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser() / "cache"
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def autosave_path() -> Path:
    """Where the studio autosaves the run in progress after every epoch."""
    return user_home() / "autosave.npz"


def not_a_regular_file(path: str | os.PathLike) -> str:
    """'' if ``path`` is a regular file (after symlinks), else what it is instead: 'does not exist', 'is a folder',
    'is a named pipe (FIFO)', 'is a device' or 'is not a regular file'. Readers check this before opening a
    file, so a FIFO never blocks them and /dev/zero is never read."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "is a folder"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    return "is not a regular file"
