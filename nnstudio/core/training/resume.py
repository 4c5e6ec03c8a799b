"""Continue training a saved model: its weights, its optimizer state (when saved), its history.

The CLI's ``train --resume`` and the window's Open + Train both go through here (the window
through the same :class:`RunConfig` and :func:`restore_optimizer`): the model file's
hyperparameters are the starting point, and any setting the user changes applies; the
architecture and the dataset are the file's (the weights decide them).
"""

from __future__ import annotations

from dataclasses import dataclass

from nnstudio.core.limits import LimitError
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Optimizer
from nnstudio.core.nn.serialization import restore_optimizer

from .config import RunConfig
from .trainer import History

# Settings a resumed run may change; the others describe the network the weights belong to.
CHANGEABLE = (
    "optimizer",
    "lr",
    "momentum",
    "nesterov",
    "betas",
    "eps",
    "weight_decay",
    "batch_size",
    "epochs",
    "seed",
    "schedule",
    "precision",
    "checkpoint_segments",
)
FIXED = ("dataset", "hidden", "activation", "dropout", "init")


@dataclass
class Resumed:
    """A saved model ready to train on: its config with the changes applied, a matching optimizer."""

    network: Sequential
    config: RunConfig
    optimizer: Optimizer
    history: History
    optimizer_restored: bool  # the saved optimizer state was loaded (same optimizer kind and shapes)
    saved_optimizer: str | None  # the kind of optimizer the file saved state for, if any


def resume(network: Sequential, changes: dict | None = None) -> Resumed:
    """``network`` as :func:`~nnstudio.core.nn.serialization.load_model` returned it, ``changes``
    the settings the user chose now (RunConfig field names). Raises :class:`LimitError` with one
    sentence for a change to the architecture or dataset, or a setting out of range."""
    meta = network.meta
    dataset = meta.get("dataset") or "mnist"
    config = RunConfig.from_hyperparameters(meta.get("hyperparameters"), dataset, network)
    for name, value in (changes or {}).items():
        if name in FIXED:
            if value != getattr(config, name):
                raise LimitError(
                    f"a resumed run keeps the model's {name} ({getattr(config, name)!r}); it cannot change to {value!r}"
                )
        elif name in CHANGEABLE:
            setattr(config, name, value)
        else:
            raise ValueError(f"unknown setting {name!r}")
    config.__post_init__()
    config.validate(network.input_size or 784, network.output_size or 10)
    optimizer = config.make_optimizer(network.parameters())
    restored = restore_optimizer(network, optimizer)
    state = network.optimizer_state
    saved = state.get("kind") if state else None
    return Resumed(network, config, optimizer, History.from_dict(meta.get("history")), restored, saved)
