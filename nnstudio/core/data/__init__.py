"""Datasets: the IDX reader, the registry of MNIST-style sets, and their download."""
from .idx import IDXError, read_idx, write_idx
from .registry import (DATASETS, DataError, Dataset, DownloadCancelled, get_info, load_dataset, locate,
                       to_inputs, user_cache_dir, verify)

__all__ = ["IDXError", "read_idx", "write_idx", "DATASETS", "DataError", "Dataset", "DownloadCancelled",
           "get_info", "load_dataset", "locate", "to_inputs", "user_cache_dir", "verify"]
