"""Learning-rate schedules, with PyTorch's names and behaviour."""

from __future__ import annotations

import math

from .optim import Optimizer


class CosineAnnealingLR:
    """Cosine decay of the learning rate from ``base_lr`` to ``eta_min`` over ``T_max`` steps
    (``torch.optim.lr_scheduler.CosineAnnealingLR``).

    Call ``step()`` after each optimizer step. ``base_lr`` is the rate the user chose;
    the optimizer's ``lr`` is the decayed one. :meth:`set_base_lr` changes the chosen
    rate mid-run: the next step continues on the new curve.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        self.optimizer = optimizer
        self.T_max = max(1, int(T_max))
        self.base_lr = optimizer.lr
        self.eta_min = float(eta_min)
        self.last_epoch = 0  # PyTorch's name for the number of step() calls so far

    def lr_at(self, t: int) -> float:
        frac = min(t, self.T_max) / self.T_max
        return self.eta_min + 0.5 * (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * frac))

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def set_base_lr(self, lr: float) -> None:
        self.base_lr = float(lr)
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        return [self.optimizer.lr]

    def state_dict(self) -> dict:
        return {"T_max": self.T_max, "eta_min": self.eta_min, "base_lr": self.base_lr, "last_epoch": self.last_epoch}
