"""Undo/redo for the Build & Train page's network and hyperparameter edits, and the one
"save your trained work first?" question every discarding action asks.

Each edit of the layer editor or of a training setting becomes one :class:`SettingsEdit` on a
``QUndoStack``: the page's settings before and after (layer rows, optimizer, rates, sizes...).
Edits of the same setting in quick succession (typing 0.001 in a spin box, dragging a slider)
merge into one. Undo puts the earlier settings back in the controls; the network itself is
rebuilt from them at the next Train, as after any edit.
"""

from __future__ import annotations

import time

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QMessageBox, QWidget

MERGE_SECONDS = 1.0

# RunConfig hyperparameter keys -> words for the Edit menu ("Undo Change learning rate")
LABELS = {
    "optimizer": "optimizer",
    "lr": "learning rate",
    "momentum": "momentum",
    "nesterov": "Nesterov",
    "betas": "Adam betas",
    "weight_decay": "weight decay",
    "batch_size": "batch size",
    "epochs": "epochs",
    "seed": "seed",
    "schedule": "schedule",
    "cosine": "schedule",
}


def describe(before: dict, after: dict) -> str:
    """'Edit network', 'Change learning rate', 'Change batch size, epochs'."""
    if before.get("spec") != after.get("spec"):
        return "Edit network"
    b, a = before.get("config", {}), after.get("config", {})
    changed = sorted({LABELS[k] for k in LABELS if b.get(k) != a.get(k)})
    return "Change " + (", ".join(changed) if changed else "settings")


class SettingsEdit(QUndoCommand):
    """One edit of the page's settings; ``apply(state)`` shows a state in the controls."""

    def __init__(self, apply, before: dict, after: dict):
        super().__init__(describe(before, after))
        self.apply, self.before, self.after = apply, before, after
        self.when = time.monotonic()
        self._done = True  # pushed after the controls already show ``after``

    def id(self) -> int:
        return 0x5E7

    def mergeWith(self, other) -> bool:
        if not isinstance(other, SettingsEdit) or other.text() != self.text():
            return False
        if other.when - self.when > MERGE_SECONDS:
            return False
        self.after, self.when = other.after, other.when
        return True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.apply(self.after)

    def undo(self) -> None:
        self.apply(self.before)


def ask_to_save(parent: QWidget, what: str) -> QMessageBox.StandardButton:
    """Save / Discard / Cancel for trained work that ``what`` (e.g. "Reset") would throw away."""
    return QMessageBox.question(
        parent,
        "Unsaved model",
        f"The network has been trained since it was last saved. {what} will discard it.\n\nSave it first?",
        QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
        QMessageBox.Save,
    )
