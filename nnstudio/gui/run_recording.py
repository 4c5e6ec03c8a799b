"""The window's side of the run store: one shared store per per-user folder, and recording the studio's runs.

The recorder's callbacks run on the training thread; anything it has to say (the store failed)
reaches the status bar through a queued Qt signal.
"""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import QObject, Signal

from nnstudio.core.runs import RunRecorder, RunStore, RunStoreError, default_path, record_run

_stores: dict = {}


def shared_store(notice=None) -> RunStore:
    """The run store of the current per-user folder, opened once per process (thread-safe)."""
    path = default_path()
    store = _stores.get(path)
    if store is None:
        store = _stores[path] = RunStore(path, notice=notice)
    return store


class _Notices(QObject):
    said = Signal(str)


def record_window_run(page, trainer, config) -> RunRecorder:
    """Record the run ``page`` (Build & Train) is about to start with ``trainer``."""
    notices = page.findChild(_Notices, "runStoreNotices")
    if notices is None:
        notices = _Notices(page)
        notices.setObjectName("runStoreNotices")
        notices.said.connect(page.context.show_status)
    try:
        store: RunStore | None = shared_store(notice=notices.said.emit)
    except (RunStoreError, sqlite3.Error, OSError):
        store = None  # the recorder tries once more and says why it cannot record; training goes on
    return record_run(trainer, config, "window", store=store, notice=notices.said.emit)
