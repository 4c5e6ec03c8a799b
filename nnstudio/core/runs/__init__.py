"""Every run remembered: the run store (SQLite), the recorder a surface attaches to a Trainer,
comparisons between runs, and the "Things to try" experiments that are pairs of runs."""

from .compare import comparison, differing, hyperparameters, run_label
from .experiments import EXPERIMENTS, Experiment
from .recorder import CURVE_POINTS, LossCurve, RunRecorder, record_run
from .store import SCHEMA_VERSION, RunRecord, RunStore, RunStoreError, default_path

__all__ = [
    "CURVE_POINTS",
    "EXPERIMENTS",
    "SCHEMA_VERSION",
    "Experiment",
    "LossCurve",
    "RunRecord",
    "RunRecorder",
    "RunStore",
    "RunStoreError",
    "comparison",
    "default_path",
    "differing",
    "hyperparameters",
    "record_run",
    "run_label",
]
