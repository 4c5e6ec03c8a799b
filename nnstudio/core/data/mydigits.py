"""The user's own handwritten digits: a small labelled dataset kept in the user's data folder.

File format
-----------
One NumPy ``.npz`` file (no pickle), by default ``my-digits.npz`` in the per-user
folder (:func:`nnstudio.core.paths.user_home`; ``$NNSTUDIO_HOME`` overrides it):

============  ==========================  =====================================================
key           dtype, shape                meaning
============  ==========================  =====================================================
``images``    uint8, (N, 28, 28)          the digits exactly as the network saw them (MNIST
                                          preprocessing: white ink on black, 0-255)
``labels``    uint8, (N,)                 the class the user gave each digit, 0-9
``added``     float64, (N,)               when each digit was added (Unix time, seconds)
``__meta__``  uint8, (bytes,)             UTF-8 JSON ``{"format": "nnstudio-my-digits", "version": 1}``
============  ==========================  =====================================================

Images are stored like MNIST's own IDX files (uint8, 28x28) so they can be
mixed with MNIST directly; :meth:`MyDigits.export_idx` writes them as a pair
of IDX files too. Every change is written at once, atomically (a temporary
file then a rename), so a crash never leaves half a file.

A file that cannot be read is never overwritten or dropped: :class:`MyDigits`
reports it in :attr:`MyDigits.error` and refuses to change it until the user
chooses :meth:`MyDigits.set_aside` (which renames it, keeping every byte).
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from nnstudio.core import paths

from .dataset import DataError, Dataset
from .idx import write_idx

# A my-digits file holds a person's drawings: 100,000 of them take 80 MB.
MAX_FILE_BYTES = 512 << 20

FILE_NAME = "my-digits.npz"
FORMAT_NAME = "nnstudio-my-digits"
FORMAT_VERSION = 1
CLASS_NAMES = tuple(str(i) for i in range(10))


class MyDigitsError(ValueError):
    """The my-digits file is damaged, or a request (label, image) is invalid; the message says which."""


def default_path() -> Path:
    return paths.user_home() / FILE_NAME


def _as_image(image) -> np.ndarray:
    """A 28x28 or 784-long image, float in [0, 1] or uint8 -> uint8 (28, 28)."""
    a = np.asarray(image)
    if a.size != 784:
        raise MyDigitsError(f"a digit must be 28x28 pixels (784 values), got shape {a.shape}")
    a = a.reshape(28, 28)
    if a.dtype == np.uint8:
        return a.copy()
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise MyDigitsError("the digit contains NaN or infinite values")
    return np.clip(np.round(a * 255), 0, 255).astype(np.uint8)


def _check_label(label) -> int:
    try:
        value = int(label)
    except (TypeError, ValueError):
        raise MyDigitsError(f"a label must be a digit 0-9, got {label!r}") from None
    if not 0 <= value <= 9 or value != label:
        raise MyDigitsError(f"a label must be a digit 0-9, got {label!r}")
    return value


class MyDigits:
    """The collection of the user's own labelled digits, backed by one ``.npz`` file.

    ``MyDigits()`` opens (or, on first use, prepares) the default file. A damaged
    file leaves the collection empty with :attr:`error` saying what is wrong;
    changes are refused until :meth:`set_aside` moves the damaged file away.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.images = np.zeros((0, 28, 28), np.uint8)
        self.labels = np.zeros(0, np.uint8)
        self.added = np.zeros(0, np.float64)
        self.error: str | None = None
        self.reload()

    # -- reading ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the file again (nothing there yet means an empty collection)."""
        self.error = None
        self.images = np.zeros((0, 28, 28), np.uint8)
        self.labels = np.zeros(0, np.uint8)
        self.added = np.zeros(0, np.float64)
        if not self.path.exists():
            return
        try:
            self.images, self.labels, self.added = read_file(self.path)
        except MyDigitsError as exc:
            self.error = str(exc)

    @property
    def damaged(self) -> bool:
        return self.error is not None

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> np.ndarray:
        """How many digits of each class 0-9."""
        return np.bincount(self.labels, minlength=10)[:10]

    def inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """Float32 (N, 784) in [0, 1] and int64 labels, like ``Dataset.flat``."""
        return (self.images.reshape(len(self), -1).astype(np.float32) / np.float32(255), self.labels.astype(np.int64))

    def as_dataset(self) -> Dataset:
        """The collection as a :class:`Dataset` named ``my-digits`` (train and test are the same digits).

        Use it to evaluate a model on your handwriting, or to fine-tune on it.
        """
        return Dataset(
            "my-digits",
            self.images,
            self.labels.astype(np.int64),
            self.images,
            self.labels.astype(np.int64),
            CLASS_NAMES,
            str(self.path),
        )

    # -- changing ----------------------------------------------------------------------------------
    def _writable(self) -> None:
        if self.error is not None:
            raise MyDigitsError(
                f"{self.error}. Nothing was changed; set the damaged file aside "
                f"(or move it away) to start a new collection."
            )

    def add(self, image, label) -> int:
        """Add one digit (28x28 / 784 values, as the network sees it) with its label; returns its index."""
        self._writable()
        img, lab = _as_image(image), _check_label(label)
        self.images = np.concatenate([self.images, img[None]])
        self.labels = np.append(self.labels, np.uint8(lab))
        self.added = np.append(self.added, time.time())
        self.save()
        return len(self) - 1

    def add_many(self, images, labels) -> int:
        """Add several digits at once (N x 28 x 28 or N x 784, with N labels), written in one save;
        returns how many were added. Every image and label is checked before anything changes."""
        self._writable()
        imgs = [_as_image(im) for im in images]
        labs = [_check_label(lab) for lab in labels]
        if len(imgs) != len(labs):
            raise MyDigitsError(f"{len(imgs)} images but {len(labs)} labels")
        if not imgs:
            return 0
        self.images = np.concatenate([self.images, np.stack(imgs)])
        self.labels = np.append(self.labels, np.asarray(labs, np.uint8))
        self.added = np.append(self.added, np.full(len(imgs), time.time()))
        self.save()
        return len(imgs)

    def relabel(self, index: int, label) -> None:
        self._writable()
        lab = _check_label(label)
        self._check_index(index)
        self.labels[index] = lab
        self.save()

    def delete(self, indices) -> None:
        """Delete one digit or several (a list of indices)."""
        self._writable()
        idx = sorted({int(i) for i in np.atleast_1d(indices)})
        for i in idx:
            self._check_index(i)
        keep = np.setdiff1d(np.arange(len(self)), idx)
        self.images, self.labels, self.added = self.images[keep], self.labels[keep], self.added[keep]
        self.save()

    def _check_index(self, index: int) -> None:
        if not 0 <= int(index) < len(self):
            raise MyDigitsError(f"there is no digit number {index} (the collection has {len(self)})")

    def save(self) -> None:
        """Write the collection atomically (temporary file, then rename)."""
        self._writable()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION}).encode()
        buf = io.BytesIO()
        np.savez(buf, images=self.images, labels=self.labels, added=self.added, __meta__=np.frombuffer(meta, np.uint8))
        tmp = self.path.with_name(self.path.name + ".part")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, self.path)

    def set_aside(self) -> Path | None:
        """Rename a damaged file to ``my-digits.damaged-<time>.npz`` (kept, not deleted) and start empty.

        Returns the new name of the damaged file (None if the file was fine).
        """
        if self.error is None or not self.path.exists():
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.stem}.damaged-{stamp}{self.path.suffix}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.stem}.damaged-{stamp}-{n}{self.path.suffix}")
            n += 1
        os.replace(self.path, target)
        self.reload()
        return target

    def export_idx(self, folder: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``my-digits-images-idx3-ubyte`` and ``my-digits-labels-idx1-ubyte`` (MNIST's format)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        images, labels = folder / "my-digits-images-idx3-ubyte", folder / "my-digits-labels-idx1-ubyte"
        write_idx(images, self.images)
        write_idx(labels, self.labels)
        return images, labels


def load_my_digits(path: str | os.PathLike | None = None) -> Dataset:
    """The user's digits as the ``my-digits`` dataset (``load_dataset("my-digits")`` lands here).

    Raises :class:`~nnstudio.core.data.DataError` when there are none yet or the file is damaged.
    """
    store = MyDigits(path)
    if store.damaged:
        raise DataError(f"{store.error}. Set it aside on the Draw page (My digits, Browse) or move it away.")
    if len(store) == 0:
        raise DataError(
            f"there are no digits of your own yet in {store.path}: draw some on the Draw page "
            "and add them with 'Add to my digits'"
        )
    return store.as_dataset()


def read_file(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, labels, added) from a my-digits file; :class:`MyDigitsError` says what is wrong with a bad one."""
    path = Path(path)
    problem = paths.not_a_regular_file(path)
    if problem and problem != "does not exist":  # a FIFO would block the reader; /dev/zero never ends
        raise MyDigitsError(f"{path} {problem}, not a my-digits file")
    if not problem and os.path.getsize(path) > MAX_FILE_BYTES:
        raise MyDigitsError(f"{path} is {os.path.getsize(path):,} bytes: too large to be a my-digits file")
    try:
        # Read the bytes first: np.load on a path leaves the file open when the archive is damaged.
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as z:
            missing = {"images", "labels", "__meta__"} - set(z.files)
            if missing:
                raise MyDigitsError(f"{path} is damaged or not a my-digits file (missing {', '.join(sorted(missing))})")
            meta = json.loads(bytes(z["__meta__"]).decode("utf-8"))
            images, labels = z["images"], z["labels"]
            added = z["added"] if "added" in z.files else np.zeros(len(labels))
    except MyDigitsError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, UnicodeDecodeError) as exc:
        if "pickle" in str(exc):  # numpy's advice to allow pickles is the wrong one here
            raise MyDigitsError(f"{path} is damaged or not a my-digits file") from None
        raise MyDigitsError(f"{path} is damaged and cannot be read ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise MyDigitsError(f"{path} is not a my-digits file")
    if int(meta.get("version", 0)) > FORMAT_VERSION:
        raise MyDigitsError(f"{path} was written by a newer nnstudio (format version {meta.get('version')})")
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise MyDigitsError(f"{path} is damaged: images have shape {images.shape} and type {images.dtype}")
    if labels.ndim != 1 or len(labels) != len(images) or len(added) != len(images):
        raise MyDigitsError(f"{path} is damaged: {len(images)} images but {len(labels)} labels")
    if labels.size and int(labels.max()) > 9:
        raise MyDigitsError(f"{path} is damaged: label {int(labels.max())} is not a digit")
    return images.copy(), labels.astype(np.uint8), np.asarray(added, np.float64)


def fine_tuning_set(
    digits: MyDigits,
    replay: tuple[np.ndarray, np.ndarray] | None = None,
    repeats: int = 20,
    replay_count: int = 5000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Training arrays for fine-tuning on the user's digits.

    Each of the user's digits appears ``repeats`` times, mixed with
    ``replay_count`` examples drawn from ``replay`` (e.g. MNIST's training set)
    so the network learns your handwriting without forgetting everyone else's.
    """
    if len(digits) == 0:
        raise MyDigitsError("there are no digits of your own yet: draw some and add them first")
    x, y = digits.inputs()
    xs, ys = [np.repeat(x, repeats, axis=0)], [np.repeat(y, repeats)]
    if replay is not None and replay_count > 0:
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(replay[1]), size=min(replay_count, len(replay[1])), replace=False)
        xs.append(np.asarray(replay[0][pick], np.float32))
        ys.append(np.asarray(replay[1][pick], np.int64))
    return np.concatenate(xs), np.concatenate(ys)
