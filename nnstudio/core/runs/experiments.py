"""The studio's "Things to try" as pairs of runs: each changes one thing, and the run store shows both.

An :class:`Experiment` turns the settings the learner has into the two runs it describes
(:meth:`Experiment.configs`); everything it does not name stays as the learner set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nnstudio.core.training.config import RunConfig


@dataclass(frozen=True)
class Experiment:
    """A tip: its text, and (if it is a comparison) the settings of its two runs."""

    key: str
    html: str
    common: dict = field(default_factory=dict)
    a: dict = field(default_factory=dict)
    b: dict = field(default_factory=dict)

    @property
    def is_pair(self) -> bool:
        return bool(self.a or self.b)

    def configs(self, base: RunConfig) -> tuple[RunConfig, RunConfig]:
        """The two runs: ``base`` with the shared changes, then each side's own."""
        shared = replace(base, **self.common)
        return replace(shared, **self.a), replace(shared, **self.b)


_DEEP = {"hidden": [64] * 5, "dropout": [0.0]}
EXPERIMENTS = (
    Experiment(
        "momentum-lr",
        "Momentum with learning rate 1.0 instead of 0.1: a jumpy loss and a worse test accuracy.",
        common={"optimizer": "momentum", "momentum": 0.9, "nesterov": False, "hidden": [128], "epochs": 2},
        a={"lr": 0.1},
        b={"lr": 1.0},
    ),
    Experiment(
        "deep-sigmoid",
        "Preset <i>Deep sigmoid</i>, Gradients tab: the first layers barely learn (compared: the same "
        "network with ReLU).",
        common={**_DEEP, "epochs": 2},
        a={"activation": ["sigmoid"], "init": "normal"},
        b={"activation": ["relu"], "init": "he"},
    ),
    Experiment(
        "batch-size",
        "Batch size 8 vs 512: a noisy line or a smooth one, and a different speed.",
        common={"epochs": 1},
        a={"batch_size": 8},
        b={"batch_size": 512},
    ),
    Experiment("weights", "Weights tab after one epoch: strokes and blobs, each unit's own detector."),
)
