"""Where the files nnstudio ships (pretrained models) are found, for every surface.

In a checkout or an editable install they are in ``resources/`` beside the
package; a regular install puts them under ``<prefix>/share/nnstudio/resources``
(``[tool.setuptools.data-files]`` in pyproject.toml).
"""

from __future__ import annotations

import sys
from pathlib import Path

SHIPPED_DATASETS = ("mnist", "fashion-mnist")


def resources_dir() -> Path:
    """The folder holding ``models/``."""
    here = Path(__file__).resolve().parents[1] / "resources"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "nnstudio" / "resources"


def pretrained_model_path(dataset: str = "mnist") -> Path:
    """The 784-128-10 model shipped for ``dataset`` ('mnist' or 'fashion-mnist')."""
    return resources_dir() / "models" / f"{dataset}-784-128-10.npz"
