"""Training: the Trainer (pause/step/stop, divergence guard, history), its events, metrics,
the run configuration every surface shares, and recipes such as fine-tuning."""

from .config import RunConfig
from .events import Events
from .metrics import ClassificationReport, classification_report, confusion_matrix, gradient_rms
from .recipes import FineTuneResult, fine_tune
from .trainer import EVENTS, EpochInfo, History, StepInfo, Trainer, evaluate

__all__ = [
    "EVENTS",
    "ClassificationReport",
    "EpochInfo",
    "Events",
    "FineTuneResult",
    "History",
    "RunConfig",
    "StepInfo",
    "Trainer",
    "classification_report",
    "confusion_matrix",
    "evaluate",
    "fine_tune",
    "gradient_rms",
]
