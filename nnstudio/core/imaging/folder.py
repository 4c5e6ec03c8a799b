"""Import a folder of pictures of digits into My digits, read exactly as `nnstudio predict` reads them.

Each file goes through :func:`nnstudio.core.imaging.load_picture` (decode, photo/scan
cleanup) and the MNIST recipe, the same path as the CLI and the Draw page. The label
comes from the file's folder or name:

* a folder named ``0`` ... ``9`` labels every picture in it (``digits/7/a.jpg`` is a 7);
* otherwise a file name that starts with one digit and then anything but another digit
  (``3.png``, ``3_b.jpg``, ``7-photo.webp``, ``5 (2).png``).

Files without a label, unreadable files and blank pictures are skipped, each with its reason.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.data.mydigits import MyDigits

from .loader import load_picture
from .mnist import SIZE, preprocess_digit

PICTURE_SUFFIXES = frozenset(".png .jpg .jpeg .bmp .gif .pgm .pbm .ppm .tif .tiff .webp .npy".split())
MAX_FILES = 20_000  # a folder larger than this is surely not a folder of digits
_NAME = re.compile(r"^([0-9])(?![0-9])")


@dataclass
class FolderDigits:
    """What was read from a folder: the 28x28 inputs and labels, and every file skipped with its reason."""

    images: np.ndarray  # float32 (N, 28, 28) in [0, 1], as the network reads them
    labels: np.ndarray  # int64 (N,)
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line: how many were read, of which digits, and how many were skipped (and the first reasons)."""
        counts = np.bincount(self.labels, minlength=10)[:10]
        per = ", ".join(f"{d}: {c}" for d, c in enumerate(counts) if c)
        text = f"{len(self.labels)} pictures read" + (f" ({per})" if per else "")
        if self.skipped:
            reasons = "; ".join(f"{p.name}: {why}" for p, why in self.skipped[:3])
            more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
            text += f"; {len(self.skipped)} skipped ({reasons}{more})"
        return text


def label_of(path: Path) -> int | None:
    """The digit a picture shows, from its folder's name or the start of its file name (None if neither says)."""
    if len(path.parent.name) == 1 and path.parent.name.isdigit():
        return int(path.parent.name)
    m = _NAME.match(path.stem)
    return int(m.group(1)) if m else None


def picture_files(folder: str | os.PathLike) -> list[Path]:
    """The picture files in ``folder`` and its sub-folders, sorted (ValueError if it is not a folder)."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"no such folder: {root}")
    files = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in PICTURE_SUFFIXES and path.is_file():
            files.append(path)
            if len(files) > MAX_FILES:
                raise ValueError(f"{root} holds more than {MAX_FILES} pictures; choose a folder of your digits")
    return files


def read_folder(folder: str | os.PathLike, progress=None, cancelled=None) -> FolderDigits:
    """Read every labelled picture under ``folder`` as the network's 28x28 input (MNIST recipe).

    ``progress(done, total)`` is called after each file; reading stops early when ``cancelled()`` is true.
    """
    files = picture_files(folder)
    images, labels, read, skipped = [], [], [], []
    for i, path in enumerate(files):
        if cancelled is not None and cancelled():
            break
        label = label_of(path)
        if label is None:
            skipped.append((path, "no label in its folder or file name"))
        else:
            try:
                picture = load_picture(path)
            except ValueError as exc:
                skipped.append((path, str(exc)))
            else:
                x = preprocess_digit(picture.ink)
                if picture.blank or not x.any():
                    skipped.append((path, "no ink found"))
                else:
                    images.append(x.reshape(SIZE, SIZE))
                    labels.append(label)
                    read.append(path)
        if progress is not None:
            progress(i + 1, len(files))
    stacked = np.stack(images) if images else np.zeros((0, SIZE, SIZE), np.float32)
    return FolderDigits(stacked.astype(np.float32), np.asarray(labels, np.int64), read, skipped)


def import_folder(store: MyDigits, folder: str | os.PathLike, progress=None, cancelled=None) -> FolderDigits:
    """Read ``folder`` (see :func:`read_folder`) and add what was read to ``store`` in one save."""
    found = read_folder(folder, progress, cancelled)
    store.add_many(found.images, found.labels)
    return found
