"""Training: the Trainer (pause/step/stop, divergence guard, history), its events, metrics,
the run configuration every surface shares, and recipes such as fine-tuning."""

from .config import RunConfig
from .events import Events
from .guard import Collapse, TrainingGuard
from .metrics import ClassificationReport, classification_report, confusion_matrix, gradient_rms
from .recipes import FineTuneResult, fine_tune
from .series import DecimatedSeries
from .trainer import EVENTS, EpochInfo, History, StepInfo, Trainer, evaluate

__all__ = [
    "EVENTS",
    "ClassificationReport",
    "Collapse",
    "DecimatedSeries",
    "EpochInfo",
    "Events",
    "FineTuneResult",
    "History",
    "RunConfig",
    "StepInfo",
    "Trainer",
    "TrainingGuard",
    "classification_report",
    "confusion_matrix",
    "evaluate",
    "fine_tune",
    "gradient_rms",
]
