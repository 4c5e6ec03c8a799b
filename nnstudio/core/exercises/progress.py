"""What the learner has done, kept in the per-user folder so it survives restarts.

``<user_home()>/exercises/<name>.py`` holds the learner's file for each exercise (written as they
type); ``<user_home()>/exercises/progress.json`` holds the passed exercises (with a fingerprint of
the passing code), how many hints were revealed, and the best "Train with my code" MNIST accuracy.
The course's checklist is derived from it: an item is ticked when every exercise for it has passed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from nnstudio.core.paths import user_home

from .catalog import CHECKLIST, MNIST_ITEM, MNIST_TARGET, all_exercises, get
from .report import CheckReport


def fingerprint(source: str) -> str:
    """A short hash of the code (so a pass belongs to the code that passed)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass
class ChecklistItem:
    text: str
    done: bool
    passed: int  # exercises for this item that passed
    total: int  # exercises for this item
    note: str = ""  # how to tick it when no exercise does


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Progress:
    """The learner's files and progress under ``folder`` (default: ``user_home()/exercises``)."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else user_home() / "exercises"
        self.path = self.folder / "progress.json"
        self.problem = ""  # set when progress.json could not be read (it is kept aside, not lost)
        self._state = self._load()

    # -- the learner's files -------------------------------------------------------------------
    def source_path(self, name: str) -> Path:
        return self.folder / f"{get(name).name}.py"

    def load_source(self, name: str) -> str:
        """The learner's saved file, or the starter if there is none yet."""
        path = self.source_path(name)
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return get(name).starter
        except (OSError, UnicodeDecodeError) as exc:
            self.problem = f"Could not read {path}: {exc}. Showing the starter; your file is untouched."
            return get(name).starter

    def save_source(self, name: str, source: str) -> Path:
        path = self.source_path(name)
        _write_atomic(path, source)
        return path

    def has_saved(self, name: str) -> bool:
        return self.source_path(name).exists()

    # -- progress.json -------------------------------------------------------------------------
    def _load(self) -> dict:
        empty: dict = {"passed": {}, "hints": {}, "mnist": None}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return empty
        except (OSError, ValueError) as exc:
            aside = self.path.with_name(f"progress.unreadable-{int(time.time())}.json")
            with contextlib.suppress(OSError):
                self.path.replace(aside)
            self.problem = f"Your progress file could not be read ({exc}); it was kept as {aside.name}."
            return empty
        if not isinstance(data, dict):
            return empty
        for key in ("passed", "hints"):
            if not isinstance(data.get(key), dict):
                data[key] = {}
        data.setdefault("mnist", None)
        return data

    def _save(self) -> None:
        _write_atomic(self.path, json.dumps(self._state, indent=2, sort_keys=True))

    def record(self, report: CheckReport, source: str) -> None:
        """Remember a pass (a failure keeps an earlier pass: the learner may be trying something new)."""
        if not report.passed:
            return
        self._state["passed"][report.exercise] = {
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "fingerprint": fingerprint(source),
            "checks": len(report.results),
        }
        self._save()

    def is_passed(self, name: str) -> bool:
        return get(name).name in self._state["passed"]

    def passed_with(self, name: str, source: str) -> bool:
        """True if exactly this code passed the check (what "Train with my code" requires)."""
        entry = self._state["passed"].get(get(name).name)
        return bool(entry) and entry.get("fingerprint") == fingerprint(source)

    def passed_names(self) -> list[str]:
        return [e.name for e in all_exercises() if e.name in self._state["passed"]]

    def hints_shown(self, name: str) -> int:
        return int(self._state["hints"].get(get(name).name, 0))

    def set_hints_shown(self, name: str, count: int) -> None:
        self._state["hints"][get(name).name] = int(count)
        self._save()

    def record_mnist_run(self, accuracy: float, epochs: int) -> None:
        """Keep the best test accuracy of a "Train with my code" MNIST run with the learner's Dense."""
        best = self._state.get("mnist") or {}
        if accuracy >= float(best.get("accuracy", -1.0)):
            self._state["mnist"] = {
                "accuracy": float(accuracy),
                "epochs": int(epochs),
                "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            self._save()

    @property
    def mnist(self) -> dict | None:
        return self._state.get("mnist")

    def checklist(self) -> list[ChecklistItem]:
        """The course's checklist with what is done."""
        items = []
        for text in CHECKLIST:
            names = [e.name for e in all_exercises() if e.checklist == text]
            passed = sum(1 for n in names if n in self._state["passed"])
            if text == MNIST_ITEM:
                best = self.mnist
                done = best is not None and float(best["accuracy"]) >= MNIST_TARGET
                items.append(ChecklistItem(text, done, int(done), 1, "Train with my code on the Dense exercise"))
            elif not names:
                items.append(ChecklistItem(text, False, 0, 0, "no exercise yet: see the Memory page"))
            else:
                items.append(ChecklistItem(text, passed == len(names), passed, len(names)))
        return items
