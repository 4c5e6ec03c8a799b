"""A training run's settings, in one object every surface shares.

The CLI fills a :class:`RunConfig` from its flags, the window from its controls;
both build the network, the optimizer and the trainer from it, and both write
the same hyperparameters into model files (:meth:`RunConfig.to_hyperparameters`):
the *base* learning rate and the schedule, never the rate after decay.
:meth:`RunConfig.from_hyperparameters` reads those, and the dialects older
versions wrote (the CLI's decayed ``lr: 0.0``, activations as "relu,tanh" text,
capitalised optimizer names).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from nnstudio.core.limits import LIMITS, LimitError, MemoryLimitError, memory_problem
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import DEFAULT_LR, OPTIMIZERS, Optimizer, make_optimizer
from nnstudio.core.nn.spec import MemoryEstimate, MLPSpec

from .trainer import History, Trainer

SCHEDULES = ("cosine", "constant")
PRECISIONS = ("fp32", "mixed")


@dataclass
class RunConfig:
    """Everything that decides how a network is built and trained (the dataset decides its inputs and outputs)."""

    dataset: str = "mnist"
    hidden: list[int] = field(default_factory=lambda: [128])
    activation: list[str] = field(default_factory=lambda: ["relu"])  # one, or one per hidden layer
    dropout: list[float] = field(default_factory=lambda: [0.0])  # one, or one per hidden layer
    init: str = "he"
    optimizer: str = "adam"
    lr: float | None = None  # the base rate; None = the measured default for the optimizer
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 5
    seed: int = 0
    schedule: str = "cosine"  # cosine decay to zero over each run, or a constant rate
    precision: str = "fp32"  # "mixed": fp16 activations, fp32 master weights, loss scaling
    checkpoint_segments: int | None = None

    def __post_init__(self):
        self.optimizer = str(self.optimizer).lower()
        self.hidden = [int(h) for h in self.hidden]
        self.activation = [
            str(a) for a in (self.activation if isinstance(self.activation, (list, tuple)) else [self.activation])
        ]
        self.dropout = [float(d) for d in (self.dropout if isinstance(self.dropout, (list, tuple)) else [self.dropout])]
        self.betas = (float(self.betas[0]), float(self.betas[1]))

    # -- derived ---------------------------------------------------------------------------------
    @property
    def base_lr(self) -> float:
        return float(self.lr) if self.lr is not None else DEFAULT_LR.get(self.optimizer, 0.01)

    @property
    def cosine(self) -> bool:
        return self.schedule == "cosine"

    @property
    def memory_kind(self) -> str:
        """The step strategy: 'baseline', 'checkpoint', 'mixed' or 'mixed+checkpoint'."""
        mixed = self.precision == "mixed"
        if self.checkpoint_segments:
            return "mixed+checkpoint" if mixed else "checkpoint"
        return "mixed" if mixed else "baseline"

    def spec(self, inputs: int, outputs: int) -> MLPSpec:
        return MLPSpec(inputs, self.hidden, outputs, self.activation, self.dropout, self.init)

    # -- checking ----------------------------------------------------------------------------------
    def problems(self, inputs: int = 784, outputs: int = 10) -> list[str]:
        """Every setting that is out of range or unknown, one sentence each (the limits table decides)."""
        out = []
        if self.optimizer not in OPTIMIZERS:
            out.append(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        checks = [
            ("lr", self.base_lr),
            ("weight_decay", self.weight_decay),
            ("batch_size", self.batch_size),
            ("epochs", self.epochs),
            ("seed", self.seed),
        ]
        if self.optimizer == "momentum":
            checks.append(("momentum", self.momentum))
        if self.optimizer == "adam":
            checks += [("beta1", self.betas[0]), ("beta2", self.betas[1]), ("eps", self.eps)]
        if self.checkpoint_segments is not None:
            checks.append(("segments", self.checkpoint_segments))
        out += [m for m in (LIMITS[name].problem(v) for name, v in checks) if m]
        if self.schedule not in SCHEDULES:
            out.append(f"unknown learning-rate schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.precision not in PRECISIONS:
            out.append(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        try:
            out += self.spec(inputs, outputs).problems()
        except ValueError as exc:
            out.append(str(exc))
        return out

    def validate(self, inputs: int = 784, outputs: int = 10) -> RunConfig:
        """``self`` if every setting is valid, else :class:`~nnstudio.core.limits.LimitError` with the first problem."""
        problems = self.problems(inputs, outputs)
        if problems:
            raise LimitError(problems[0])
        return self

    # -- building ----------------------------------------------------------------------------------
    def build_network(self, inputs: int, outputs: int) -> Sequential:
        """A fresh network: the same config and seed give the same initial weights."""
        return self.spec(inputs, outputs).build(self.seed)

    def optimizer_kwargs(self) -> dict:
        kw: dict = {"lr": self.base_lr, "weight_decay": self.weight_decay}
        if self.optimizer == "momentum":
            kw.update(momentum=self.momentum, nesterov=self.nesterov)
        elif self.optimizer == "adam":
            kw.update(betas=self.betas, eps=self.eps)
        return kw

    def make_optimizer(self, params) -> Optimizer:
        return make_optimizer(self.optimizer, params, **self.optimizer_kwargs())

    def make_trainer(
        self,
        network: Sequential,
        optimizer: Optimizer,
        train,
        test=None,
        history: History | None = None,
        start_paused: bool = False,
        **kwargs,
    ) -> Trainer:
        """The plain :class:`Trainer` for this config (memory strategies: :func:`nnstudio.core.memory.make_trainer`)."""
        return Trainer(
            network,
            optimizer,
            train,
            test,
            history=history,
            start_paused=start_paused,
            **self.trainer_kwargs(len(train[0])),
            **kwargs,
        )

    def trainer_kwargs(self, n_train: int) -> dict:
        """What any trainer takes from this config (a batch larger than the data uses all of it)."""
        return {
            "batch_size": min(self.batch_size, n_train),
            "epochs": self.epochs,
            "seed": self.seed,
            "cosine": self.cosine,
        }

    def estimate_bytes(self, inputs: int, outputs: int, dataset_bytes: int = 0) -> MemoryEstimate:
        """What training with this config holds in memory: the network's arrays at this batch size,
        the optimizer's state, the trainer's divergence snapshots and (if given) the dataset."""
        return self.spec(inputs, outputs).estimate_bytes(
            self.batch_size, self.optimizer, snapshots=Trainer.SNAPSHOTS, dataset_bytes=dataset_bytes
        )

    def memory_problem(self, inputs: int, outputs: int, dataset_bytes: int = 0) -> str:
        """'' if training with this config fits in the memory available now, else one sentence with the
        estimate (:meth:`estimate_bytes`, the one estimate every surface shows)."""
        if self.spec(inputs, outputs).problems():
            return ""  # an invalid spec is reported by problems(); its estimate means nothing
        est = self.estimate_bytes(inputs, outputs, dataset_bytes)
        sizes = "-".join(str(s) for s in (inputs, *self.hidden, outputs))
        return memory_problem(est.total, f"training {sizes} at batch size {self.batch_size} with {self.optimizer}")

    def check_memory(self, inputs: int, outputs: int, dataset_bytes: int = 0) -> RunConfig:
        """``self`` if it fits (see :meth:`memory_problem`), else :class:`~nnstudio.core.limits.MemoryLimitError`."""
        problem = self.memory_problem(inputs, outputs, dataset_bytes)
        if problem:
            raise MemoryLimitError(problem)
        return self

    # -- model files -------------------------------------------------------------------------------
    def to_hyperparameters(self) -> dict:
        """The ``hyperparameters`` a model file records (JSON-able; lists, not text)."""
        return {
            "optimizer": self.optimizer,
            "lr": self.base_lr,
            "schedule": self.schedule,
            "cosine": self.cosine,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "betas": list(self.betas),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "seed": self.seed,
            "layers": list(self.hidden),
            "activation": self._per_layer(self.activation),
            "init": self.init,
            "dropout": self._per_layer(self.dropout),
            "precision": self.precision,
            "checkpoint_segments": self.checkpoint_segments,
        }

    def _per_layer(self, values: list) -> list:
        return values * len(self.hidden) if len(values) == 1 and len(self.hidden) != 1 else list(values)

    @classmethod
    def from_hyperparameters(
        cls, hp: dict | None, dataset: str | None = None, net: Sequential | None = None
    ) -> RunConfig:
        """Read what a model file recorded, tolerating older dialects; with ``net``, the architecture
        comes from the network itself (the file's weights are the truth)."""
        hp = dict(hp or {})
        known = {f.name for f in fields(cls)}
        kw: dict = {}
        if dataset:
            kw["dataset"] = dataset
        opt = str(hp.get("optimizer", "adam")).lower()
        kw["optimizer"] = opt if opt in OPTIMIZERS else "adam"
        # Old CLI files recorded the rate after cosine decay (0.0 at the end of a run): not a rate anyone chose.
        lr = hp.get("lr")
        kw["lr"] = float(lr) if isinstance(lr, (int, float)) and not LIMITS["lr"].problem(lr) else None
        if "schedule" in hp:
            kw["schedule"] = str(hp["schedule"])
        elif "cosine" in hp:
            kw["schedule"] = "cosine" if hp["cosine"] else "constant"
        if isinstance(hp.get("betas"), (list, tuple)) and len(hp["betas"]) == 2:
            kw["betas"] = tuple(hp["betas"])
        if "layers" in hp:
            kw["hidden"] = list(hp["layers"])
        for key, text_ok in (("activation", str), ("dropout", float)):
            value = hp.get(key)
            if isinstance(value, str):  # "relu" or "relu,tanh" (old CLI files)
                value = [text_ok(v.strip()) for v in value.split(",")]
            elif value is not None and not isinstance(value, list):
                value = [value]
            if value is not None:
                kw[key] = value
        for key in (
            "momentum",
            "nesterov",
            "eps",
            "weight_decay",
            "batch_size",
            "epochs",
            "seed",
            "init",
            "precision",
            "checkpoint_segments",
        ):
            if key in hp and key in known and hp[key] is not None:
                kw[key] = hp[key]
        cfg = cls(**kw)
        if net is not None and net.dense_layers():
            spec = MLPSpec.from_network(net)
            cfg.hidden, cfg.activation, cfg.dropout, cfg.init = spec.hidden, spec.activations, spec.dropout, spec.init
        return cfg
