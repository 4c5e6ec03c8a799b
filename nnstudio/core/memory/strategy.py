"""Choose a step strategy (and its trainer) by name: the one place that knows every kind."""

from __future__ import annotations

from nnstudio.core.nn.losses import Loss
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Optimizer
from nnstudio.core.training.trainer import Trainer

from .budget import BatchSearchResult, find_max_batch_size
from .checkpoint import Checkpointed, CheckpointedTrainer
from .mixed_precision import MixedPrecision, MixedPrecisionTrainer
from .step import PlainStep, StepStrategy

KINDS = ("baseline", "checkpoint", "mixed", "mixed+checkpoint")


def make_strategy(
    kind: str, network: Sequential, loss: Loss | None = None, segments: int = 4, **kwargs
) -> StepStrategy:
    """'baseline' | 'checkpoint' | 'mixed' | 'mixed+checkpoint' -> a strategy for ``network``."""
    if kind in ("baseline", "plain", "fp32"):
        return PlainStep(network, loss)
    if kind in ("checkpoint", "checkpointing", "checkpointed"):
        return Checkpointed(network, segments, loss, **kwargs)
    if kind in ("mixed", "mixed precision", "fp16"):
        return MixedPrecision(network, loss, **kwargs)
    if kind in ("mixed+checkpoint", "checkpoint+mixed"):
        return MixedPrecision(network, loss, segments=segments, **kwargs)
    raise ValueError(f"unknown memory strategy {kind!r}; choose baseline, checkpoint, mixed or mixed+checkpoint")


def make_trainer(
    kind: str, network: Sequential, optimizer: Optimizer, train, test=None, segments: int = 1, **kwargs
) -> Trainer:
    """The Trainer for a strategy kind: the plain :class:`Trainer` for 'baseline', else a
    :class:`StrategyTrainer` with checkpointing and/or mixed precision (``kwargs`` go to the Trainer)."""
    if kind == "baseline":
        return Trainer(network, optimizer, train, test, **kwargs)
    if kind == "checkpoint":
        return CheckpointedTrainer(network, optimizer, train, test, segments=segments, **kwargs)
    if kind in ("mixed", "mixed+checkpoint"):
        return MixedPrecisionTrainer(
            network, optimizer, train, test, segments=segments if kind == "mixed+checkpoint" else 1, **kwargs
        )
    raise ValueError(f"unknown memory strategy {kind!r}; choose one of {', '.join(KINDS)}")


def batch_for_budget(
    kind: str, network: Sequential, optimizer: Optimizer, x, y, budget: int, wanted: int, segments: int = 1
) -> BatchSearchResult:
    """The batch size to train with under ``budget`` bytes: ``wanted`` if its measured step fits,
    else the largest batch that does (:class:`BudgetTooSmall` if none does).

    The budget only ever lowers the batch: a whole-dataset batch would fit a big
    budget but train badly (one step an epoch). Works on copies; ``network`` is untouched.
    """
    strategy = make_strategy(kind, network, segments=segments)
    return find_max_batch_size(strategy, optimizer, x, y, budget, max_batch=min(int(wanted), len(x)))
