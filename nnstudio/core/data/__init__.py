"""Datasets: MNIST-style sets (registry, download, IDX files), the toy 2-D sets and the user's own digits."""

from .cache import TrainingArrays, arrays_for, cached_arrays, training_arrays
from .dataset import DataError, Dataset, to_inputs
from .idx import IDXError, read_idx, write_idx
from .mydigits import MyDigits, MyDigitsError, load_my_digits
from .registry import (
    DATASETS,
    DownloadCancelled,
    candidate_dirs,
    class_names,
    fetch,
    get_info,
    load_dataset,
    locate,
    user_cache_dir,
    verify,
)

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "DownloadCancelled",
    "IDXError",
    "MyDigits",
    "MyDigitsError",
    "TrainingArrays",
    "arrays_for",
    "cached_arrays",
    "training_arrays",
    "candidate_dirs",
    "class_names",
    "fetch",
    "get_info",
    "load_dataset",
    "load_my_digits",
    "locate",
    "read_idx",
    "to_inputs",
    "user_cache_dir",
    "verify",
    "write_idx",
]
