"""A tiny publish/subscribe helper: the core says what happened, whoever listens reacts.

The core never knows who listens (the GUI bridge, the CLI's progress bar, a
test). Callbacks run synchronously on the thread that emits. Every event name
is declared when the :class:`Events` is made, so a typo in ``connect("stpe")``
fails at once instead of subscribing to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class Events:
    """``events.connect("step", fn)``; ``events.emit("step", info)`` calls ``fn(info)``."""

    def __init__(self, names: Iterable[str]):
        self.names: tuple[str, ...] = tuple(names)
        self._subscribers: dict[str, list[Callable[[Any], None]]] = {name: [] for name in self.names}

    def _check(self, name: str) -> None:
        if name not in self._subscribers:
            raise ValueError(f"unknown event {name!r}; this object emits: {', '.join(self.names)}")

    def connect(self, name: str, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        self._check(name)
        self._subscribers[name].append(callback)
        return callback

    def disconnect(self, name: str, callback: Callable[[Any], None]) -> None:
        self._check(name)
        try:
            self._subscribers[name].remove(callback)
        except ValueError:
            pass

    def emit(self, name: str, payload: Any = None) -> None:
        self._check(name)
        for callback in list(self._subscribers[name]):
            callback(payload)

    def has_listeners(self, name: str) -> bool:
        self._check(name)
        return bool(self._subscribers[name])
