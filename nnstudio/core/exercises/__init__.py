"""Exercises: the learner writes each idea of the course (a perceptron, an activation and its
derivative, Dense.backward, an optimizer step, an autograd rule, a checkpointed segment) and the
checks say, step by step, whether it agrees with the engine.

- :mod:`.catalog`: the exercises in the course's order, read from ``content/<name>/``.
- :mod:`.runner`: ``run_check`` runs the learner's code in a separate process with limits.
- :mod:`.checks`: one module of checks per exercise, written with :mod:`.checking`.
- :mod:`.progress`: the learner's files and passed exercises, kept in the per-user folder.
- :mod:`.use`: a passed exercise plugged into the engine ("Train with my code").
"""

from .catalog import CHECKLIST, ORDER, Exercise, ExerciseError, all_exercises, get
from .report import CheckReport, CheckResult
from .runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, run_check

__all__ = [
    "CHECKLIST",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "ORDER",
    "CheckReport",
    "CheckResult",
    "Exercise",
    "ExerciseError",
    "all_exercises",
    "get",
    "run_check",
]
