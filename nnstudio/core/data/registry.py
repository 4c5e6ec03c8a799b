"""The dataset registry: where MNIST-style datasets come from and how they load.

Resolution order for a dataset's files:

1. an explicit ``data_dir`` argument (CLI ``--data-dir``) or ``NNSTUDIO_DATA_DIR``,
   holding ``mnist/`` and ``fashion-mnist/`` subfolders (the ``../shared/data`` layout);
2. the user cache (``~/.cache/nnstudio/datasets`` on Linux; ``$NNSTUDIO_HOME/cache/datasets``
   when that is set);
3. Debian's ``/usr/share/datasets/<name>/`` (``apt-get install dataset-fashion-mnist``);
4. a download from the public mirrors into the user cache, verified by SHA-256
   of the decompressed payloads.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nnstudio.core import paths

from .dataset import DataError, Dataset
from .idx import IDXError, read_idx, read_idx_payload
from .mydigits import load_my_digits

ENV_VAR = "NNSTUDIO_DATA_DIR"
IMAGE_SHAPE = (28, 28)  # every registered dataset's images
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class DownloadCancelled(DataError):
    pass


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    class_names: tuple[str, ...]
    mirrors: tuple[str, ...]
    sha256: dict = field(default_factory=dict)  # decompressed file name -> hex digest


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist",
        "MNIST handwritten digits",
        tuple(str(i) for i in range(10)),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        {
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        },
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST clothing",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        {
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        },
    ),
}


def user_cache_dir() -> Path:
    """Where downloaded datasets are kept (the platform's per-user cache, or under ``NNSTUDIO_HOME``)."""
    return paths.user_cache_dir() / "datasets"


def candidate_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where ``name`` is looked for, in order, as (label, folder) pairs."""
    out = []
    explicit = data_dir or os.environ.get(ENV_VAR)
    if explicit:
        out.append(("--data-dir" if data_dir else ENV_VAR, Path(explicit) / name))
    out.append(("user cache", user_cache_dir() / name))
    out.append(("Debian datasets", Path("/usr/share/datasets") / name))
    return out


def _find_file(folder: Path, stem: str) -> Path | None:
    # Anything by that name counts (a folder, a FIFO, a device): the reader says what it is, not "missing".
    for candidate in (folder / (stem + ".gz"), folder / stem):
        if os.path.lexists(candidate):
            return candidate
    return None


def locate(name: str, data_dir=None) -> Path | None:
    """The first folder holding all four files of ``name``, or None."""
    info = get_info(name)
    for _, folder in candidate_dirs(info.name, data_dir):
        if all(_find_file(folder, stem) for stem in FILES):
            return folder
    return None


def get_info(name: str) -> DatasetInfo:
    key = name.lower().replace("_", "-")
    if key not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    return DATASETS[key]


def class_names(dataset: str | None, count: int) -> list[str]:
    """The names of ``count`` classes of ``dataset`` ('0'..'9' for MNIST or anything unknown)."""
    info = DATASETS.get((dataset or "").lower().replace("_", "-"))
    if info is not None and len(info.class_names) == count:
        return list(info.class_names)
    return [str(i) for i in range(count)]


def load_dataset(
    name: str, data_dir=None, download: bool = True, progress: Callable[[str, int, int], bool | None] | None = None
) -> Dataset:
    """Load a registered dataset, downloading it into the user cache if it is nowhere else.

    ``progress(file_name, bytes_done, bytes_total)`` is called during a download;
    returning False cancels it (:class:`DownloadCancelled`).
    """
    if name.lower().replace("_", "-") == "my-digits":  # the user's own digits, saved from the Draw page
        return load_my_digits()
    info = get_info(name)
    folder = locate(info.name, data_dir)
    if folder is None:
        where = data_dir or os.environ.get(ENV_VAR)
        if where:
            if not download:
                raise DataError(
                    f"{info.title} not found in {Path(where) / info.name} "
                    f"(expected {', '.join(f + '.gz' for f in FILES)})"
                )
        if not download:
            raise DataError(
                f"{info.title} is not on this machine. Run 'nnstudio data fetch {info.name}', "
                f"or point {ENV_VAR} (or --data-dir) at a folder holding {info.name}/ with the IDX files."
            )
        folder = fetch(info.name, progress=progress)
    arrays = []
    for stem in FILES:
        path = _find_file(folder, stem)
        if path is None:  # removed since locate() looked
            raise DataError(f"{info.title}: {stem} disappeared from {folder}")
        try:
            arrays.append(read_idx(path))
        except IDXError as exc:
            raise DataError(
                f"{exc}. Delete it and run 'nnstudio data fetch {info.name}', or point {ENV_VAR} at an intact copy."
            ) from None
    x_train, y_train, x_test, y_test = arrays
    for x, y, split, stem in ((x_train, y_train, "train", FILES[0]), (x_test, y_test, "test", FILES[2])):
        if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"{_find_file(folder, stem)}: images of shape {x.shape[1:]}; {info.title} images are "
                f"{IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]} pixels"
            )
        if y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{info.name} {split} split: images {x.shape} and labels {y.shape} do not match")
        if y.size and int(y.max()) >= len(info.class_names):
            raise DataError(f"{info.name} {split} split: label {int(y.max())} is out of range")
    return Dataset(info.name, x_train, y_train, x_test, y_test, info.class_names, str(folder))


def verify(name: str, data_dir=None) -> list[tuple[str, bool, str]]:
    """Check each file's decompressed SHA-256. Returns (file, ok, detail) rows."""
    info = get_info(name)
    folder = locate(info.name, data_dir)
    if folder is None:
        return [(stem, False, "missing") for stem in FILES]
    rows = []
    for stem in FILES:
        path = _find_file(folder, stem)
        if path is None:
            rows.append((str(folder / stem), False, "missing"))
            continue
        try:
            raw = read_idx_payload(path)  # bounded by the header; a folder, FIFO or bad gzip is one line
        except IDXError as exc:
            rows.append((str(path), False, str(exc).removeprefix(str(path)).lstrip(": ")))
            continue
        digest = hashlib.sha256(raw).hexdigest()
        ok = digest == info.sha256[stem]
        rows.append((str(path), ok, "ok" if ok else f"checksum mismatch ({digest[:12]}...)"))
    return rows


def fetch(name: str, progress=None, dest: Path | None = None, timeout: float = 30.0) -> Path:
    """Download ``name`` into the user cache, verifying each file. Returns the folder."""
    info = get_info(name)
    dest = dest or user_cache_dir() / info.name
    dest.mkdir(parents=True, exist_ok=True)
    for stem in FILES:
        target = dest / (stem + ".gz")
        if target.is_file() and _digest_ok(target, info.sha256[stem]):
            continue
        errors = []
        for mirror in info.mirrors:
            url = mirror + stem + ".gz"
            try:
                payload = _download(url, stem + ".gz", progress, timeout)
            except DownloadCancelled:
                raise
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
                continue
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(payload)
            if not _digest_ok(tmp, info.sha256[stem]):  # decompressed with the header's bound, then hashed
                tmp.unlink(missing_ok=True)
                errors.append(f"{url}: checksum mismatch")
                continue
            os.replace(tmp, target)
            break
        else:
            raise DataError(
                f"could not download {info.title} ({'; '.join(errors)}). If this machine is offline, "
                f"copy the four IDX files into {dest} or set {ENV_VAR} to a folder holding {info.name}/."
            )
    return dest


def _digest_ok(path: Path, expected: str) -> bool:
    try:
        return hashlib.sha256(read_idx_payload(path)).hexdigest() == expected
    except IDXError:
        return False


def _download(url: str, label: str, progress, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "nnstudio"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        total = int(resp.headers.get("Content-Length") or 0)
        chunks, done = [], 0
        while True:
            chunk = resp.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            done += len(chunk)
            if progress is not None and progress(label, done, total) is False:
                raise DownloadCancelled("download cancelled")
    return b"".join(chunks)
