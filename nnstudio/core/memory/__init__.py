"""Training big networks in little memory, measured on this machine.

- :mod:`.step`: the step-strategy interface, the plain step and the trainer that takes any strategy;
- :mod:`.checkpoint` (gradient checkpointing) and :mod:`.mixed_precision` (fp16 with loss scaling);
- :mod:`.strategy`: pick one by name;
- :mod:`.accounting`: bytes counted from the arrays and measured with tracemalloc, event by event;
- :mod:`.budget`: memory budgets and the largest batch that fits one;
- :mod:`.lab`: the Memory lab's side-by-side runs and its three jobs.
"""

from .accounting import (
    CATEGORIES,
    MemoryReport,
    MemoryTimeline,
    MiB,
    StepProfile,
    account,
    measure_step_peak,
    profile_step,
    resident_bytes,
    time_steps,
    training_footprint,
    unique_nbytes,
)
from .budget import (
    PRESETS,
    BatchSearchResult,
    BudgetTooSmall,
    available_bytes,
    find_max_batch_size,
    memory_curve,
    parse_budget,
)
from .checkpoint import Checkpointed, CheckpointedTrainer, checkpoint_sequential
from .lab import (
    LAB_KINDS,
    LAB_TITLES,
    MAX_LAB_BATCH,
    LabContext,
    LabRun,
    compare_strategies,
    gradient_difference,
    lab_compare,
    lab_curve,
    lab_run,
    lab_search,
    time_interleaved,
)
from .mixed_precision import GradScaler, MixedPrecision, MixedPrecisionTrainer
from .step import PlainStep, StepStrategy, StrategyTrainer
from .strategy import KINDS, batch_for_budget, make_strategy, make_trainer

__all__ = [
    "CATEGORIES",
    "KINDS",
    "LAB_KINDS",
    "MAX_LAB_BATCH",
    "PRESETS",
    "BatchSearchResult",
    "BudgetTooSmall",
    "Checkpointed",
    "CheckpointedTrainer",
    "GradScaler",
    "LabContext",
    "LabRun",
    "MemoryReport",
    "MemoryTimeline",
    "MiB",
    "MixedPrecision",
    "MixedPrecisionTrainer",
    "PlainStep",
    "StepProfile",
    "StepStrategy",
    "StrategyTrainer",
    "LAB_TITLES",
    "account",
    "available_bytes",
    "checkpoint_sequential",
    "compare_strategies",
    "find_max_batch_size",
    "gradient_difference",
    "lab_compare",
    "lab_curve",
    "lab_run",
    "lab_search",
    "batch_for_budget",
    "make_strategy",
    "make_trainer",
    "measure_step_peak",
    "memory_curve",
    "parse_budget",
    "profile_step",
    "resident_bytes",
    "time_interleaved",
    "time_steps",
    "training_footprint",
    "unique_nbytes",
]
