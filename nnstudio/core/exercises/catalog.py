"""The exercises: what each asks, in the course's order, read from ``content/<name>/``.

Each exercise is a folder with ``exercise.toml`` (title, the checklist item it ticks, statement,
math, hints, what "Train with my code" does), ``starter.py`` and ``solution.py``, so the text and
the code are easy to edit. Its checks are :mod:`.checks.<name>`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

# The course's learning checklist, in its order. An exercise ticks one of these items.
CHECKLIST = (
    "Implement perceptron from scratch",
    "Understand activation functions",
    "Build multi-layer neural network",
    "Implement backpropagation",
    "Train MNIST classifier (95%+ accuracy)",
    "Create automatic differentiation system",
    "Apply gradient checkpointing",
    "Use mixed precision training",
)
# Ticked by a "Train with my code" run of the Dense exercise that reaches this test accuracy.
MNIST_ITEM = "Train MNIST classifier (95%+ accuracy)"
MNIST_TARGET = 0.95

# The order follows the checklist: the neuron, activations, a layer and backpropagation with its
# updates, then autograd, then the memory technique.
ORDER = (
    "perceptron",
    "activations",
    "dense",
    "softmax_ce",
    "sgd",
    "momentum",
    "adam",
    "autograd_ops",
    "autograd_backward",
    "checkpoint",
)


class ExerciseError(ValueError):
    """An unknown exercise name or a broken exercise folder; the message says which."""


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    checklist: str  # the checklist item a pass ticks
    statement: str
    math: str
    hints: tuple[str, ...]
    starter: str
    solution: str
    use: str = ""  # what "Train with my code" does with a passed exercise ("" if nothing)
    functions: tuple[str, ...] = field(default=())  # the names the learner writes

    @property
    def number(self) -> int:
        return ORDER.index(self.name) + 1

    def summary(self) -> dict:
        return {
            "number": self.number,
            "name": self.name,
            "title": self.title,
            "checklist": self.checklist,
            "functions": list(self.functions),
            "hints": len(self.hints),
            "use": self.use,
        }


def _content(name: str):
    return resources.files("nnstudio.core.exercises").joinpath("content").joinpath(name)


@cache
def get(name: str) -> Exercise:
    """The exercise called ``name`` (:class:`ExerciseError` if there is none)."""
    key = str(name).strip().lower().replace("-", "_")
    if key not in ORDER:
        raise ExerciseError(f"unknown exercise {name!r}; choose one of {', '.join(ORDER)}")
    folder = _content(key)
    try:
        meta = tomllib.loads(folder.joinpath("exercise.toml").read_text(encoding="utf-8"))
        starter = folder.joinpath("starter.py").read_text(encoding="utf-8")
        solution = folder.joinpath("solution.py").read_text(encoding="utf-8")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ExerciseError(f"exercise {key!r} is incomplete: {exc}") from None
    if meta.get("checklist") not in CHECKLIST:
        raise ExerciseError(f"exercise {key!r}: checklist item {meta.get('checklist')!r} is not in the checklist")
    return Exercise(
        name=key,
        title=str(meta["title"]),
        checklist=str(meta["checklist"]),
        statement=str(meta["statement"]).strip(),
        math=str(meta.get("math", "")).strip(),
        hints=tuple(str(h).strip() for h in meta.get("hints", [])),
        starter=starter,
        solution=solution,
        use=str(meta.get("use", "")).strip(),
        functions=tuple(meta.get("functions", [])),
    )


def all_exercises() -> list[Exercise]:
    """Every exercise, in the course's order."""
    return [get(name) for name in ORDER]
