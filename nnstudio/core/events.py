"""A tiny publish/subscribe helper: the core says what happened, whoever listens reacts.

The core never knows who listens (the GUI bridge, the CLI's progress bar, a
test). Callbacks run synchronously on the thread that emits.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable


class Events:
    """``events.connect("step", fn)``; ``events.emit("step", info)`` calls ``fn(info)``."""

    def __init__(self):
        self._subscribers: dict[str, list[Callable[[Any], None]]] = defaultdict(list)

    def connect(self, name: str, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        self._subscribers[name].append(callback)
        return callback

    def disconnect(self, name: str, callback: Callable[[Any], None]) -> None:
        try:
            self._subscribers[name].remove(callback)
        except ValueError:
            pass

    def emit(self, name: str, payload: Any = None) -> None:
        for callback in list(self._subscribers.get(name, ())):
            callback(payload)

    def has_listeners(self, name: str) -> bool:
        return bool(self._subscribers.get(name))
