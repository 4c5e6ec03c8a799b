"""What every command shares: the one-line error, argument types read from the limits table,
the data options, a terminal progress bar and model loading."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from nnstudio.core.interop import open_model
from nnstudio.core.limits import LIMITS
from nnstudio.core.nn.network import Sequential
from nnstudio.resources import SHIPPED_DATASETS, pretrained_model_path


class CLIError(Exception):
    """A problem with the user's input or environment, reported as one line."""


def parse_layers(text: str) -> list[int]:
    """'256,128' -> [256, 128]; '' or 'none' -> [] (no hidden layer). Sizes follow the limits table."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise CLIError(f"--layers must be comma-separated whole numbers, got {text!r}") from None
    for s in sizes:
        message = LIMITS["units"].problem(s)
        if message:
            raise CLIError(message)
    message = LIMITS["hidden_layers"].problem(len(sizes))
    if message:
        raise CLIError(message)
    return sizes


def positive(kind):
    """An argument type: a positive ``kind`` (int or float), finite."""

    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise CLIError(f"expected a {kind.__name__}, got {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise CLIError(f"expected a positive number, got {text!r}")
        return value

    convert.__name__ = kind.__name__
    return convert


def limited(name: str):
    """An argument type that accepts exactly what the limits table allows for ``name``."""
    limit = LIMITS[name]

    def convert(text):
        try:
            value = float(text)
        except ValueError:
            raise CLIError(f"{limit.label} must be a number, got {text!r}") from None
        message = limit.problem(value)
        if message:
            raise CLIError(message)
        return int(value) if limit.integer else value

    convert.__name__ = "int" if limit.integer else "float"
    return convert


def add_data_dir(p: argparse.ArgumentParser, download: bool = True) -> None:
    p.add_argument("--data-dir", help="folder holding mnist/ and fashion-mnist/ (overrides NNSTUDIO_DATA_DIR)")
    if download:
        p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing data")


MODEL_HELP = "a model file (.npz), or mnist / fashion-mnist for the model shipped with nnstudio"


def load_model(path: str) -> Sequential:
    """A model file from the command line (.npz or .onnx), or a shipped model by its dataset's name ('mnist',
    'fashion-mnist') when no such file exists; a missing or damaged one is one clear line."""
    if not Path(path).exists():
        if path in SHIPPED_DATASETS:
            return open_model(pretrained_model_path(path))
        names = " and ".join(SHIPPED_DATASETS)
        raise CLIError(f"no such model file: {path} (the shipped models are called {names})")
    return open_model(path)


class ProgressBar:
    """A one-line terminal progress bar on stderr; silent when stderr is not a terminal."""

    def __init__(self, total: int, label: str = "", stream=None, width: int = 30):
        self.total, self.label, self.width = max(1, total), label, width
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()

    def update(self, done: int, suffix: str = "") -> None:
        if not self.enabled:
            return
        frac = min(1.0, done / self.total)
        fill = int(frac * self.width)
        self.stream.write(
            f"\r{self.label} [{'#' * fill}{'.' * (self.width - fill)}] {done}/{self.total} {suffix}\x1b[K"
        )
        self.stream.flush()

    def close(self, final: str = "") -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
        if final:
            self.stream.write(final + "\n")
        self.stream.flush()


def download_progress():
    """A progress callback for dataset downloads, drawing a bar on stderr."""
    bar = ProgressBar(1, "download")

    def progress(label, done, total):
        bar.total, bar.label = max(1, total), f"downloading {label}"
        bar.update(done, f"{done / 1e6:.1f} MB")

    return progress
